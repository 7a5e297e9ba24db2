/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One HTTP/1.0 request to the engine socket, on the event loop: the one
 * every feature asks the engine with (a GET, or a bodiless POST such as a
 * container restart).  Bounded in size and time, non-blocking,
 * close-on-exec, connected through the O_PATH descriptor it is given (the
 * one features/desktop.c walked to: never a path, issue 19), and it sends
 * its request only once the socket's peer proved to be root
 * (SO_PEERCRED): a listener an ordinary user planted in the shared tree
 * hears nothing.  No policy: which socket, and when to ask, is the
 * caller's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/defs.h"
#include "base/util.h"
#include "sys/trust.h"
#include "io/engine-get.h"

#define ENGINE_HEAD_MAX		(64 * 1024)

/* ------------------------------------------------------------------ */
/* One HTTP/1.0 GET to the engine socket. */

struct engine_get {
	struct bufferevent	*bev;
	struct engine_get_opts	 opts;
	engine_get_cb		*cb;
	void			*arg;
	int			 code;		/* a stream's, once its head is in */
	char			*path;		/* the socket, for messages */
	char			*target;	/* sent once connected */
};

/* The status of a reply whose head is whole (-1: not HTTP); 0 while not. */
static int
engine_get_status(struct evbuffer *in, size_t *head_len)
{
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0)
		return 0;
	char line[32] = "";
	evbuffer_copyout(in, line, sizeof line - 1);
	int code = -1;
	if (sscanf(line, "HTTP/1.%*d %d", &code) != 1)
		code = -1;
	*head_len = (size_t)end.pos + 4;
	return code;
}

/* The last word: nothing is called after, the caller frees the get. */
static void
engine_get_fail(struct engine_get *g, const char *error)
{
	bufferevent_disable(g->bev, EV_READ | EV_WRITE);
	g->cb(-1, NULL, error, g->arg);
}

static void
engine_get_read(struct bufferevent *bev, void *arg)
{
	struct engine_get *g = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	if (len > g->opts.max) {
		engine_get_fail(g, "the engine's reply is too large");
		return;
	}
	if (!g->opts.stream)
		return;		/* a reply is whole when the engine closes */
	if (g->code == 0) {
		size_t hl;
		int code = engine_get_status(in, &hl);
		if (code == 0) {
			if (len > ENGINE_HEAD_MAX)
				engine_get_fail(g, "no HTTP head from the engine");
			return;
		}
		evbuffer_drain(in, hl);
		g->code = code;
	}
	g->cb(g->code, in, NULL, g->arg);
}

static void
engine_get_event(struct bufferevent *bev, short what, void *arg)
{
	struct engine_get *g = arg;
	if (what & BEV_EVENT_CONNECTED) {
		uid_t uid;
		pid_t pid;
		char line[1024];
		if (!trust_peer_is_root(bufferevent_getfd(bev), &uid, &pid)) {
			trust_peer_format(g->path, uid, pid, line, sizeof line);
			engine_get_fail(g, line);
			return;
		}
		const char *method = g->opts.method != NULL ? g->opts.method :
		    "GET";
		if (evbuffer_add_printf(bufferevent_get_output(bev), "%s %s "
		    "HTTP/1.0\r\nHost: docker\r\nUser-Agent: " AGENT_NAME
		    "\r\n%s\r\n", method, g->target, strcmp(method, "GET") != 0 ?
		    "Content-Length: 0\r\n" : "") < 0)
			engine_get_fail(g, "out of memory");
		return;
	}
	char err[160];
	if ((what & BEV_EVENT_EOF) && !g->opts.stream) {
		struct evbuffer *in = bufferevent_get_input(bev);
		size_t hl;
		int code = engine_get_status(in, &hl);
		if (code == 0) {
			engine_get_fail(g, "no HTTP head from the engine");
			return;
		}
		evbuffer_drain(in, hl);
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		g->cb(code, in, NULL, g->arg);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(err, sizeof err, "no answer within %d s",
		    g->opts.timeout_s);
	else if (what & BEV_EVENT_EOF)
		snprintf(err, sizeof err, "the engine ended the stream");
	else
		snprintf(err, sizeof err, "%s", strerror(EVUTIL_SOCKET_ERROR() ?
		    EVUTIL_SOCKET_ERROR() : ECONNRESET));
	engine_get_fail(g, err);
}

struct engine_get *
engine_get_new(struct event_base *base, int engine_fd, const char *name,
    const char *target, const struct engine_get_opts *opts,
    engine_get_cb *cb, void *arg)
{
	struct sockaddr_un sun;
	char via[32];
	socklen_t sunlen = 0;
	if (engine_fd >= 0 && snprintf(via, sizeof via, "/proc/self/fd/%d",
	    engine_fd) < (int)sizeof via)
		sunlen = util_sockaddr_un(&sun, via);
	if (sunlen == 0) {
		errno = ENOENT;		/* no socket walked to: nothing to try */
		return NULL;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	struct engine_get *g = calloc(1, sizeof *g);
	if (g == NULL ||
	    (g->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(g);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	g->opts = *opts;
	g->cb = cb;
	g->arg = arg;
	g->path = strdup(name);
	g->target = strdup(target);
	bufferevent_setcb(g->bev, engine_get_read, NULL, engine_get_event, g);
	struct timeval tv = { opts->timeout_s, 0 };
	/* A stream may stay silent for days: no read timeout. */
	bufferevent_set_timeouts(g->bev, opts->stream ? NULL : &tv, &tv);
	errno = 0;
	if (g->path == NULL || g->target == NULL ||
	    bufferevent_socket_connect(g->bev, (struct sockaddr *)&sun,
	    (int)sunlen) < 0 ||
	    bufferevent_enable(g->bev, EV_READ | EV_WRITE) < 0) {
		int saved = errno != 0 ? errno : ECONNREFUSED;
		engine_get_free(g);
		errno = saved;
		return NULL;
	}
	return g;
}

void
engine_get_free(struct engine_get *g)
{
	if (g == NULL)
		return;
	bufferevent_free(g->bev);
	free(g->path);
	free(g->target);
	free(g);
}

struct json_object *
engine_get_json(struct evbuffer *body, int depth)
{
	size_t len = evbuffer_get_length(body);
	const char *text = (const char *)evbuffer_pullup(body, -1);
	if (text == NULL || len > INT32_MAX)
		return NULL;
	struct json_tokener *tok = json_tokener_new_ex(depth);
	if (tok == NULL)
		return NULL;
	struct json_object *v = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	return v;
}
