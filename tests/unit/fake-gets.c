/* SPDX-License-Identifier: Apache-2.0 */
/* The fake engine the probe and the GET client are tested on (canned GET
 * answers, testlib.h); fake-engine.c is the bind features' (any request). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>

#include "testlib.h"

struct fake_gets fake_gets = { .lfd = -1 };

static const struct fake_reply *
fake_reply_for(const char *head)
{
	for (const struct fake_reply *r = fake_gets.replies; r->target != NULL; r++) {
		size_t n = strlen(r->target);
		if (strncmp(head, "GET ", 4) == 0 &&
		    strncmp(head + 4, r->target, n) == 0 && head[4 + n] == ' ')
			return r;
	}
	return NULL;
}

void
fake_gets_close(int i)
{
	event_del(fake_gets.evs[i]);
	close(fake_gets.fds[i]);
	fake_gets.fds[i] = -1;
}

static void
fake_answer(int i, const struct fake_reply *r)
{
	if (r == NULL || r->text == NULL) {
		fake_gets_close(i);
		return;
	}
	write_all(fake_gets.fds[i], r->text, strlen(r->text));
	if (r->filler > 0) {
		char *x = malloc(r->filler);
		cr_assert(not(eq(ptr, x, NULL)));
		memset(x, 'x', r->filler);
		write_all(fake_gets.fds[i], x, r->filler);
		free(x);
	}
	if (!r->keep_open)
		fake_gets_close(i);
}

/* A request arrives: once its head is whole, answer it. */
static void
fake_readable(evutil_socket_t fd, short what, void *arg)
{
	int i = (int)(intptr_t)arg;
	(void)what;
	size_t room = sizeof fake_gets.heads[i] - 1 - fake_gets.lens[i];
	ssize_t n = read(fd, fake_gets.heads[i] + fake_gets.lens[i], room);
	if (n <= 0) {
		fake_gets_close(i);
		return;
	}
	fake_gets.lens[i] += (size_t)n;
	fake_gets.heads[i][fake_gets.lens[i]] = '\0';
	if (strstr(fake_gets.heads[i], "\r\n\r\n") == NULL)
		return;
	const struct fake_reply *r = fake_reply_for(fake_gets.heads[i]);
	if (r != NULL && r->silent) {
		event_del(fake_gets.evs[i]);
		return;
	}
	fake_answer(i, r);
}

static void
fake_accept(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	cr_assert(lt(int, fake_gets.nconns, FAKE_CONNS), "too many connections");
	int i = fake_gets.nconns++;
	fake_gets.fds[i] = accept_within(fake_gets.lfd, 0);
	fake_gets.evs[i] = event_new(fake_gets.base, fake_gets.fds[i], EV_READ | EV_PERSIST,
	    fake_readable, (void *)(intptr_t)i);
	cr_assert(not(eq(ptr, fake_gets.evs[i], NULL)));
	cr_assert(eq(int, event_add(fake_gets.evs[i], NULL), 0));
}

void
fake_gets_start(struct test_agent *t, const struct fake_reply *replies)
{
	memset(&fake_gets, 0, sizeof fake_gets);
	for (int i = 0; i < FAKE_CONNS; i++)
		fake_gets.fds[i] = -1;
	fake_gets.base = t->a.base;
	fake_gets.replies = replies;
	fake_gets.lfd = test_agent_engine_up(t);
	fake_gets.accept_ev = event_new(fake_gets.base, fake_gets.lfd, EV_READ | EV_PERSIST,
	    fake_accept, NULL);
	cr_assert(not(eq(ptr, fake_gets.accept_ev, NULL)));
	cr_assert(eq(int, event_add(fake_gets.accept_ev, NULL), 0));
}

void
fake_gets_stop(void)
{
	for (int i = 0; i < fake_gets.nconns; i++) {
		if (fake_gets.fds[i] >= 0)
			close(fake_gets.fds[i]);
		event_free(fake_gets.evs[i]);
	}
	if (fake_gets.accept_ev != NULL)
		event_free(fake_gets.accept_ev);
	if (fake_gets.lfd >= 0)
		close(fake_gets.lfd);
	memset(&fake_gets, 0, sizeof fake_gets);
	fake_gets.lfd = -1;
}
