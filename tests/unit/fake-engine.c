/* SPDX-License-Identifier: Apache-2.0 */
/* The fake engine the probe and the GET client are tested on; testlib.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>

#include "testlib.h"

struct fake_engine fake_engine = { .lfd = -1 };

static const struct fake_reply *
fake_reply_for(const char *head)
{
	for (const struct fake_reply *r = fake_engine.replies; r->target != NULL; r++) {
		size_t n = strlen(r->target);
		if (strncmp(head, "GET ", 4) == 0 &&
		    strncmp(head + 4, r->target, n) == 0 && head[4 + n] == ' ')
			return r;
	}
	return NULL;
}

void
fake_engine_close(int i)
{
	event_del(fake_engine.evs[i]);
	close(fake_engine.fds[i]);
	fake_engine.fds[i] = -1;
}

static void
fake_answer(int i, const struct fake_reply *r)
{
	if (r == NULL || r->text == NULL) {
		fake_engine_close(i);
		return;
	}
	write_all(fake_engine.fds[i], r->text, strlen(r->text));
	if (r->filler > 0) {
		char *x = malloc(r->filler);
		cr_assert(not(eq(ptr, x, NULL)));
		memset(x, 'x', r->filler);
		write_all(fake_engine.fds[i], x, r->filler);
		free(x);
	}
	if (!r->keep_open)
		fake_engine_close(i);
}

/* A request arrives: once its head is whole, answer it. */
static void
fake_readable(evutil_socket_t fd, short what, void *arg)
{
	int i = (int)(intptr_t)arg;
	(void)what;
	size_t room = sizeof fake_engine.heads[i] - 1 - fake_engine.lens[i];
	ssize_t n = read(fd, fake_engine.heads[i] + fake_engine.lens[i], room);
	if (n <= 0) {
		fake_engine_close(i);
		return;
	}
	fake_engine.lens[i] += (size_t)n;
	fake_engine.heads[i][fake_engine.lens[i]] = '\0';
	if (strstr(fake_engine.heads[i], "\r\n\r\n") == NULL)
		return;
	const struct fake_reply *r = fake_reply_for(fake_engine.heads[i]);
	if (r != NULL && r->silent) {
		event_del(fake_engine.evs[i]);
		return;
	}
	fake_answer(i, r);
}

static void
fake_accept(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	cr_assert(lt(int, fake_engine.nconns, FAKE_CONNS), "too many connections");
	int i = fake_engine.nconns++;
	fake_engine.fds[i] = accept_within(fake_engine.lfd, 0);
	fake_engine.evs[i] = event_new(fake_engine.base, fake_engine.fds[i], EV_READ | EV_PERSIST,
	    fake_readable, (void *)(intptr_t)i);
	cr_assert(not(eq(ptr, fake_engine.evs[i], NULL)));
	cr_assert(eq(int, event_add(fake_engine.evs[i], NULL), 0));
}

void
fake_engine_start(struct test_agent *t, const struct fake_reply *replies)
{
	memset(&fake_engine, 0, sizeof fake_engine);
	for (int i = 0; i < FAKE_CONNS; i++)
		fake_engine.fds[i] = -1;
	fake_engine.base = t->a.base;
	fake_engine.replies = replies;
	fake_engine.lfd = test_agent_engine_up(t);
	fake_engine.accept_ev = event_new(fake_engine.base, fake_engine.lfd, EV_READ | EV_PERSIST,
	    fake_accept, NULL);
	cr_assert(not(eq(ptr, fake_engine.accept_ev, NULL)));
	cr_assert(eq(int, event_add(fake_engine.accept_ev, NULL), 0));
}

void
fake_engine_stop(void)
{
	for (int i = 0; i < fake_engine.nconns; i++) {
		if (fake_engine.fds[i] >= 0)
			close(fake_engine.fds[i]);
		event_free(fake_engine.evs[i]);
	}
	if (fake_engine.accept_ev != NULL)
		event_free(fake_engine.accept_ev);
	if (fake_engine.lfd >= 0)
		close(fake_engine.lfd);
	memset(&fake_engine, 0, sizeof fake_engine);
	fake_engine.lfd = -1;
}
