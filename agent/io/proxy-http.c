/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The I/O of a followed connection, while a create hook is set (binds.c,
 * in proxy mode).  The followers in wire/ decide, this file does what
 * they ask: request.c says, for the client -> engine direction, what to
 * read, send or splice, when a create is whole (it is rewritten here,
 * where the caller's credentials are known), when to refuse a request
 * and when the rest goes blind; reply.c says the same for the engine ->
 * client direction, with a reply hook too.  A request refused is
 * answered locally once the engine has sent everything it owes.  After
 * either direction goes blind, proxy.c splices it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "wire/create.h"
#include "wire/http.h"
#include "wire/reply.h"
#include "wire/request.h"
#include "io/proxy-int.h"

/* A connection's request follower, in its connection's block. */
struct proxy_http {
	struct http_request req;
	bool		 waiting;	/* the create hook said "not yet" */
};

size_t
proxy_http_size(void)
{
	return sizeof(struct proxy_http);
}

void
proxy_http_init(struct proxy_http *h, struct http_budget *budget)
{
	http_request_init(&h->req);
	h->req.stream.budget = budget;
	h->waiting = false;
}

void
proxy_set_hold_max(struct proxy *p, size_t bytes)
{
	p->budget.max = bytes;
}

size_t
proxy_held(const struct proxy *p)
{
	return p->budget.held;
}

void
proxy_http_free(struct proxy_http *h)
{
	if (h == NULL)
		return;
	http_request_free(&h->req);	/* it lives in the connection's block */
}

bool
proxy_http_queue_reply(struct proxy_conn *c)
{
	struct proxy_flow *f = &c->down;
	size_t len;
	char *reply = http_request_refusal(&c->http->req, &len);
	if (reply == NULL)
		return false;
	ssize_t n = write(f->pipe_w, reply, len);
	free(reply);
	if (n > 0)
		f->queued += (size_t)n;
	return true;
}

bool
proxy_http_waiting(const struct proxy_conn *c)
{
	return c->http != NULL && c->http->waiting;
}

void
proxy_wake_creates(struct proxy *p)
{
	struct proxy_conn *c;
	LIST_FOREACH(c, &p->conns, entry) {
		if (!proxy_http_waiting(c))
			continue;
		c->http->waiting = false;
		event_active(c->up.ev_src, EV_READ, 1);
	}
}

bool
proxy_http_has_output(const struct proxy_conn *c)
{
	return c->http != NULL && http_request_has_output(&c->http->req);
}

/* What a follower noted, logged once per kind where it says so. */
static void
proxy_http_log(const struct http_request_action *a)
{
	if (a->note[0] == '\0')
		return;
	if (a->once != NULL)
		log_state(a->level, PROXY_LOG, a->once, "%s", a->note);
	else
		log_msg(a->level, PROXY_LOG, "%s", a->note);
}

/* Who asked: what a missing -v source is made for. */
static struct http_caller
proxy_http_caller(const struct proxy_conn *c)
{
	struct ucred cred;
	socklen_t cl = sizeof cred;
	if (getsockopt(c->client, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		return (struct http_caller){ true, cred.uid, cred.gid };
	return (struct http_caller){ false, 0, 0 };
}

/* READ from the client: 1 go on, 0 wait for the client, -1 gone. */
static int
proxy_http_read(struct proxy_conn *c, const struct http_request_action *a)
{
	struct http_request *r = &c->http->req;
	ssize_t n;
	if (c->up.dry) {	/* see proxy_conn_pump() */
		http_request_quiet(r);
		return 0;
	}
	do
		n = recv(c->client, a->data, a->len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		proxy_flow_fail(&c->up, "recv from", c->client, errno);
		return -1;
	}
	if (n < 0) {
		http_request_quiet(r);	/* a quiet stream holds no buffer */
		return 0;
	}
	if (n == 0) {
		/* The client ended: what is buffered goes, then the EOF. */
		c->up.eof = true;
		http_request_ended(r);
		return 1;
	}
	c->up.dry = (size_t)n < a->len;
	http_request_done(r, a, (size_t)n);
	return 1;
}

/*
 * One step the request follower asked for: 1 go on, 0 wait (EAGAIN), -1
 * stop here (the connection is gone, refused, or now spliced blindly).
 */
static int
proxy_http_act(struct proxy_conn *c, const struct http_request_action *a)
{
	struct proxy *p = c->proxy;
	struct http_request *r = &c->http->req;
	struct proxy_flow *f = &c->up;
	ssize_t n;
	switch (a->what) {
	case HTTP_REQUEST_READ:
		return proxy_http_read(c, a);
	case HTTP_REQUEST_SEND:
		do
			n = send(f->dst, a->data, a->len, MSG_NOSIGNAL |
			    MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			proxy_flow_fail(f, "send to", f->dst, errno);
			return -1;
		}
		*f->bytes += (uint64_t)n;
		http_request_done(r, a, (size_t)n);
		return 1;
	case HTTP_REQUEST_SPLICE:
		n = proxy_splice(f->src, f->pipe_w, a->len < PROXY_PIPE_SIZE ?
		    a->len : PROXY_PIPE_SIZE);
		proxy_flow_note_bulk(f, n);
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0) {
			proxy_flow_fail(f, "splice from", f->src, errno);
			return -1;
		}
		if (n == 0) {
			f->eof = true;
			http_request_ended(r);
			return 1;
		}
		f->queued += (size_t)n;
		http_request_done(r, a, (size_t)n);
		return 1;
	case HTTP_REQUEST_REWRITE: {
		struct http_caller caller = proxy_http_caller(c);
		struct http_request_action b;
		if (!http_request_rewrite(r, &caller, p->create_fn,
		    p->create_arg, &b)) {
			/*
			 * Its hook's work (a mount) goes on elsewhere: this
			 * connection waits, unwatched, every other one flows,
			 * and proxy_wake_creates() brings it back.
			 */
			c->http->waiting = true;
			return 0;
		}
		proxy_http_log(&b);
		return 1;
	}
	case HTTP_REQUEST_REFUSE:
		/* The engine is told EOF; our reply waits for its answers. */
		if (!f->done)
			(void)proxy_half_close(f);
		return -1;
	case HTTP_REQUEST_BLIND:
		/* All buffered bytes went: splice from now on. */
		proxy_http_free(c->http);
		c->http = NULL;
		proxy_conn_pump(f);
		return -1;
	}
	return -1;
}

void
proxy_http_pump(struct proxy_conn *c)
{
	struct proxy *p = c->proxy;
	struct http_request *r = &c->http->req;
	struct proxy_flow *f = &c->up;
	bool out_of_rounds = true;
	if (c->http->waiting)
		return;		/* a wakeup of before it began to wait */
	f->dry = false;
	for (int round = 0; round < PROXY_PUMP_ROUNDS * 4; round++) {
		bool failed;
		if (!proxy_flow_drain_pipe(f, &failed)) {
			if (failed)
				return;
			out_of_rounds = false;
			break;		/* the engine is not taking more now */
		}
		struct http_request_action a;
		http_request_next(r, p->create_fn != NULL, &a);
		proxy_http_log(&a);
		int n = proxy_http_act(c, &a);
		if (n < 0)
			return;
		if (n == 0) {
			out_of_rounds = false;
			break;		/* the client or the engine must move */
		}
	}
	if (proxy_flow_wait(f) < 0) {
		proxy_flow_fail(f, "event_add on", f->src, EINVAL);
		return;
	}
	/*
	 * Out of rounds with requests still buffered: they would wait for
	 * nothing, so come back.  Never when waiting for the client (a
	 * partial request buffered) or the engine: that would spin.
	 */
	if (out_of_rounds && !proxy_http_has_output(c) && f->queued == 0 &&
	    http_request_buffered(r))
		event_active(f->ev_src, EV_READ, 1);
}


/* ------------------------------------------------------------------ */
/* The engine -> client direction, answer by answer. */

void
proxy_reply_start(struct proxy_conn *c)
{
	if (c->proxy->reply_fn == NULL)
		return;
	http_reply_init(&c->reply_state);
	c->reply_state.stream.budget = &c->proxy->budget;
	c->reply = &c->reply_state;
	if (c->http != NULL)
		http_request_pair(&c->http->req, c->reply);
}

void
proxy_reply_stop(struct proxy_conn *c)
{
	if (c->reply == NULL)
		return;
	if (c->http != NULL)
		http_request_pair(&c->http->req, NULL);
	http_reply_free(c->reply);
	c->reply = NULL;
}

bool
proxy_reply_has_output(const struct proxy_conn *c)
{
	return c->reply != NULL && http_reply_has_output(c->reply);
}

bool
proxy_flow_drain_pipe(struct proxy_flow *f, bool *failed)
{
	*failed = false;
	while (f->queued > 0) {
		ssize_t n = proxy_splice(f->pipe_r, f->dst, f->queued);
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n < 0) {
			proxy_flow_fail(f, "splice to", f->dst, errno);
			*failed = true;
			return false;
		}
		f->queued -= (size_t)n;
		*f->bytes += (uint64_t)n;
	}
	return true;
}

/*
 * One step the follower asked for: >0 done, 0 wait (EAGAIN), -1 the
 * connection is gone.
 */
static int
proxy_reply_act(struct proxy_conn *c, struct http_reply_action *a)
{
	struct proxy_flow *f = &c->down;
	ssize_t n;
	const char *op;
	int fd;
	switch (a->what) {
	case HTTP_REPLY_READ:
		op = "recv from";
		fd = f->src;
		do
			n = recv(f->src, a->data, a->len, MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		break;
	case HTTP_REPLY_SEND:
		op = "send to";
		fd = f->dst;
		do
			n = send(f->dst, a->data, a->len, MSG_NOSIGNAL |
			    MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		break;
	case HTTP_REPLY_SPLICE:
		op = "splice from";
		fd = f->src;
		n = proxy_splice(f->src, f->pipe_w, a->len < PROXY_PIPE_SIZE ?
		    a->len : PROXY_PIPE_SIZE);
		proxy_flow_note_bulk(f, n);
		break;
	default:
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0) {
		proxy_flow_fail(f, op, fd, errno);
		return -1;
	}
	if (n == 0 && a->what != HTTP_REPLY_SEND) {
		f->eof = true;		/* what is held goes, then blind */
		http_reply_ended(c->reply);
		return 1;
	}
	if (a->what == HTTP_REPLY_SPLICE)
		f->queued += (size_t)n;
	else if (a->what == HTTP_REPLY_SEND)
		*f->bytes += (uint64_t)n;
	http_reply_done(c->reply, a, (size_t)n);
	return 1;
}

void
proxy_reply_pump(struct proxy_conn *c)
{
	struct proxy *p = c->proxy;
	struct proxy_flow *f = &c->down;
	/* The hook is in effect only with the create hook (see agent.h). */
	http_reply_fn fn = p->create_fn != NULL ? p->reply_fn : NULL;
	bool out_of_rounds = true;
	for (int round = 0; round < PROXY_PUMP_ROUNDS * 4; round++) {
		bool failed;
		if (!proxy_flow_drain_pipe(f, &failed)) {
			if (failed)
				return;
			out_of_rounds = false;
			break;
		}
		struct http_reply_action a;
		http_reply_next(c->reply, fn, p->reply_arg, &a);
		if (a.note != NULL)
			log_state(LOG_LVL_WARN, PROXY_LOG, a.note, "%s", a.note);
		if (a.what == HTTP_REPLY_OPAQUE) {
			/* All held bytes went: splice from now on. */
			proxy_reply_stop(c);
			proxy_conn_pump(f);
			return;
		}
		int r = proxy_reply_act(c, &a);
		if (r < 0)
			return;
		if (r == 0) {
			out_of_rounds = false;
			break;
		}
	}
	if (proxy_flow_wait(f) < 0) {
		proxy_flow_fail(f, "event_add on", f->src, EINVAL);
		return;
	}
	/* A busy stream lets the others run, then comes back. */
	if (out_of_rounds)
		event_active(f->ev_src, EV_READ, 1);
}
