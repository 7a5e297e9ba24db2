/* SPDX-License-Identifier: Apache-2.0 */
/* A fake engine on a real unix socket; see fake-engine.h. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "base/util.h"
#include "fake-engine.h"
#include "testlib.h"

#define FAKE_CONNS_MAX	64
#define FAKE_REQUEST_MAX	8192	/* a head and its body */

struct fake_conn {
	struct fake_engine	*owner;
	struct bufferevent	*bev;
	bool			 stream;	/* kept open for fake_engine_send */
};

struct fake_engine {
	struct event_base	*base;
	struct evconnlistener	*listener;
	char			*path;
	int			 fd;		/* O_PATH, the socket */
	fake_engine_fn		*fn;
	void			*arg;
	struct fake_conn	*conns[FAKE_CONNS_MAX];
	size_t			 requests;
	size_t			 connections;
};

static void
fake_conn_free(struct fake_conn *c)
{
	struct fake_engine *e = c->owner;
	for (size_t i = 0; i < FAKE_CONNS_MAX; i++)
		if (e->conns[i] == c)
			e->conns[i] = NULL;
	bufferevent_free(c->bev);
	free(c);
}

static void
fake_sent(struct bufferevent *bev, void *arg)
{
	(void)bev;
	fake_conn_free(arg);		/* Connection: close */
}

static void
fake_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev, (void)what;
	fake_conn_free(arg);		/* the client went */
}

/* The Content-Length of a head (0: none), case as HTTP allows. */
static size_t
fake_content_length(const char *head)
{
	for (const char *p = head; (p = strchr(p, '\n')) != NULL; ) {
		p++;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			return (size_t)strtoul(p + 15, NULL, 10);
	}
	return 0;
}

/*
 * A whole request (its head, and its body by Content-Length): answered,
 * kept as a stream, or left unanswered.
 */
static void
fake_request(struct bufferevent *bev, void *arg)
{
	struct fake_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0 || c->stream)
		return;
	char head[FAKE_REQUEST_MAX] = "";
	evbuffer_copyout(in, head, sizeof head - 1);
	size_t whole = (size_t)end.pos + 4 + fake_content_length(head);
	cr_assert(lt(sz, whole, sizeof head), "a request too large: %s", head);
	if (evbuffer_get_length(in) < whole)
		return;			/* the body is still coming */
	evbuffer_drain(in, evbuffer_get_length(in));
	struct fake_answer a = { 0 };
	c->owner->requests++;
	c->owner->fn(c->owner->arg, head, &a);
	if (a.status == NULL)
		return;
	struct evbuffer *out = bufferevent_get_output(bev);
	if (a.stream) {
		c->stream = true;
		evbuffer_add_printf(out, "HTTP/1.1 %s\r\nContent-Type: "
		    "application/json\r\n\r\n", a.status);
		return;
	}
	const char *body = a.body != NULL ? a.body : "";
	evbuffer_add_printf(out, "HTTP/1.1 %s\r\nContent-Type: application/json"
	    "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", a.status,
	    strlen(body), body);
	bufferevent_setcb(bev, NULL, fake_sent, fake_event, c);
}

static void
fake_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	(void)l, (void)sa, (void)len;
	struct fake_engine *e = arg;
	struct fake_conn *c = calloc(1, sizeof *c);
	e->connections++;
	cr_assert(not(eq(ptr, c, NULL)));
	c->owner = e;
	c->bev = bufferevent_socket_new(e->base, fd, BEV_OPT_CLOSE_ON_FREE);
	cr_assert(not(eq(ptr, c->bev, NULL)));
	size_t i = 0;
	while (i < FAKE_CONNS_MAX && e->conns[i] != NULL)
		i++;
	cr_assert(lt(sz, i, (size_t)FAKE_CONNS_MAX), "too many connections");
	e->conns[i] = c;
	bufferevent_setcb(c->bev, fake_request, NULL, fake_event, c);
	cr_assert(eq(int, bufferevent_enable(c->bev, EV_READ), 0));
}

struct fake_engine *
fake_engine_new(struct event_base *base, const char *path, fake_engine_fn *fn,
    void *arg)
{
	struct fake_engine *e = calloc(1, sizeof *e);
	cr_assert(not(eq(ptr, e, NULL)));
	e->base = base;
	e->fn = fn;
	e->arg = arg;
	e->path = strdup(path);
	cr_assert(eq(int, util_mkdir_parent(path, 0755), 0));
	int lfd = unix_listen(path, 16);
	cr_assert(eq(int, evutil_make_socket_nonblocking(lfd), 0));
	e->listener = evconnlistener_new(base, fake_accept, e,
	    LEV_OPT_CLOSE_ON_FREE, -1, lfd);
	cr_assert(not(eq(ptr, e->listener, NULL)));
	e->fd = open(path, O_PATH | O_CLOEXEC);
	cr_assert(ge(int, e->fd, 0), "%s", path);
	return e;
}

void
fake_engine_free(struct fake_engine *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < FAKE_CONNS_MAX; i++)
		if (e->conns[i] != NULL)
			fake_conn_free(e->conns[i]);
	evconnlistener_free(e->listener);
	close(e->fd);
	free(e->path);
	free(e);
}

int
fake_engine_fd(const struct fake_engine *e)
{
	return e->fd;
}

const char *
fake_engine_path(const struct fake_engine *e)
{
	return e->path;
}

void
fake_engine_send(struct fake_engine *e, const char *text)
{
	for (size_t i = 0; i < FAKE_CONNS_MAX; i++)
		if (e->conns[i] != NULL && e->conns[i]->stream)
			evbuffer_add(bufferevent_get_output(e->conns[i]->bev),
			    text, strlen(text));
}

void
fake_engine_end_streams(struct fake_engine *e)
{
	for (size_t i = 0; i < FAKE_CONNS_MAX; i++)
		if (e->conns[i] != NULL && e->conns[i]->stream)
			fake_conn_free(e->conns[i]);
}

size_t
fake_engine_streams(const struct fake_engine *e)
{
	size_t n = 0;
	for (size_t i = 0; i < FAKE_CONNS_MAX; i++)
		n += e->conns[i] != NULL && e->conns[i]->stream;
	return n;
}

size_t
fake_engine_requests(const struct fake_engine *e)
{
	return e->requests;
}

size_t
fake_engine_connections(const struct fake_engine *e)
{
	return e->connections;
}
