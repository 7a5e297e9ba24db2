/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Following HTTP on the client -> engine direction of a proxied
 * connection, while a create hook is set (bind.c, in proxy mode): heads
 * are read into a buffer and forwarded as read, bodies are passed on by
 * Content-Length or chunk framing (spliced where they are large), and
 * only container and volume creates are held whole, so their bind
 * sources (a bind volume's device) can be re-exposed and the body
 * rewritten.  After an upgrade, an attach or exec
 * start, or a head too large to follow, the connection goes back to
 * proxy.c to be spliced blindly.  A request refused here is answered
 * locally once the engine has sent everything it owes.  http.c does the
 * parsing; this file does the I/O.
 *
 * With a reply hook, the engine -> client direction is followed too
 * (below): http-reply.c pairs each answer with its request and says what
 * to read, send or splice; only inspect and list answers are held.
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
#include "wire/routes.h"
#include "io/proxy-int.h"

#define UP_BUF_FIRST	(16 * 1024)
/* A chunk-size line and what follows it, read to find the chunk's end. */
#define UP_FRAMING_READ	256
/* A chunked create whose framing adds more than this is passed on raw. */
#define UP_CREATE_RAW_MAX (HTTP_CREATE_BODY_MAX + HTTP_CREATE_BODY_MAX / 8)

/*
 * A connection's follower.  Output to the engine comes from one place at
 * a time, in order: the pipe (spliced body bytes), `out' (a rewritten
 * create), or `fwd' bytes at buf + off (as read).  The next request is
 * looked at only once all of it has gone.
 */
enum up_mode {
	UP_HEAD,		/* reading a request head */
	UP_BODY_LENGTH,		/* passing body_left more bytes */
	UP_BODY_CHUNKED,	/* passing a chunked body, following framing */
	UP_CREATE,		/* holding a create until its body is whole */
	UP_REPLYING,		/* answering locally once the engine is done */
	UP_BLIND,		/* once the buffer is sent: splice */
};

struct proxy_http {
	enum up_mode	 mode;
	char		*buf;		/* read from the client, unhandled */
	size_t		 off;		/* first unhandled byte */
	size_t		 len;
	size_t		 cap;
	size_t		 fwd;		/* bytes at buf + off to send as they are */
	char		*out;		/* rewritten bytes to send */
	size_t		 out_off;
	size_t		 out_len;
	struct http_head_parser parser;
	struct http_head head;		/* of the request being passed on */
	uint64_t	 body_left;
	struct http_chunked chunked;
	size_t		 scan;		/* UP_CREATE chunked: framing seen */
	bool		 blind_after;	/* hijacked or last: then splice */
	char		*reply;		/* UP_REPLYING: what the client gets */
	size_t		 reply_len;
};

size_t
proxy_http_size(void)
{
	return sizeof(struct proxy_http);
}

void
proxy_http_init(struct proxy_http *h)
{
	http_head_parser_init(&h->parser);
}

void
proxy_http_free(struct proxy_http *h)
{
	if (h == NULL)
		return;
	free(h->buf);
	free(h->out);
	free(h->reply);
	memset(h, 0, sizeof *h);	/* it lives in the connection's block */
}

bool
proxy_http_queue_reply(struct proxy_conn *c)
{
	struct proxy_http *h = c->http;
	struct proxy_flow *f = &c->down;
	if (h->reply == NULL)
		return false;
	ssize_t n = write(f->pipe_w, h->reply, h->reply_len);
	free(h->reply);
	h->reply = NULL;
	if (n > 0)
		f->queued += (size_t)n;
	return true;
}

bool
proxy_http_has_output(const struct proxy_conn *c)
{
	const struct proxy_http *h = c->http;
	return h != NULL && (h->fwd > 0 || h->out_off < h->out_len);
}

/* Nothing buffered: give the memory back (idle keep-alive connections). */
static void
proxy_http_release_buffer(struct proxy_http *h)
{
	if (h->off < h->len || h->fwd > 0)
		return;
	free(h->buf);
	h->buf = NULL;
	h->off = h->len = h->cap = 0;
}

/* Room for `want' more bytes, never holding more than `limit' in all. */
static bool
proxy_http_make_room(struct proxy_http *h, size_t limit)
{
	if (h->off > 0) {
		memmove(h->buf, h->buf + h->off, h->len - h->off);
		h->len -= h->off;
		h->off = 0;
	}
	if (h->len < h->cap)
		return true;
	if (h->cap >= limit)
		return false;
	size_t cap = h->cap == 0 ? UP_BUF_FIRST : h->cap * 2;
	if (cap > limit)
		cap = limit;
	char *grown = realloc(h->buf, cap);
	if (grown == NULL)
		return false;
	h->buf = grown;
	h->cap = cap;
	return true;
}

/* Send what is waiting, in order; true when all of it went. */
static bool
proxy_http_flush(struct proxy_conn *c, bool *failed)
{
	struct proxy_flow *f = &c->up;
	struct proxy_http *h = c->http;
	if (!proxy_flow_drain_pipe(f, failed))
		return false;
	while (h->out_off < h->out_len || h->fwd > 0) {
		bool from_out = h->out_off < h->out_len;
		const char *p = from_out ? h->out + h->out_off : h->buf + h->off;
		size_t len = from_out ? h->out_len - h->out_off : h->fwd;
		ssize_t n;
		do
			n = send(f->dst, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n < 0) {
			proxy_flow_fail(f, "send to", f->dst, errno);
			*failed = true;
			return false;
		}
		*f->bytes += (uint64_t)n;
		if (from_out) {
			h->out_off += (size_t)n;
			if (h->out_off == h->out_len) {
				free(h->out);
				h->out = NULL;
				h->out_off = h->out_len = 0;
			}
		} else {
			h->off += (size_t)n;
			h->fwd -= (size_t)n;
		}
	}
	return true;
}

/*
 * Stop following HTTP: what is buffered goes as it is, then both
 * directions are spliced for the rest of the connection.
 */
static void
proxy_http_go_blind(struct proxy_conn *c)
{
	struct proxy_http *h = c->http;
	h->fwd = h->len - h->off;
	h->mode = UP_BLIND;
	if (c->reply != NULL)
		http_reply_no_more(c->reply);
}

/* A request is through: the next one, or blind for the rest. */
static void
proxy_http_request_done(struct proxy_conn *c)
{
	struct proxy_http *h = c->http;
	if (h->blind_after) {
		proxy_http_go_blind(c);
		return;
	}
	h->mode = UP_HEAD;
	http_head_parser_init(&h->parser);
	proxy_http_release_buffer(h);
}

/*
 * Answer the client ourselves and end the connection: the engine is told
 * EOF, and once it has sent everything it owes (earlier pipelined
 * requests), the reply follows on the engine -> client direction.
 */
static bool
proxy_http_reply_locally(struct proxy_conn *c, int status, const char *message)
{
	struct proxy_http *h = c->http;
	h->reply = http_error_reply(status, message, &h->reply_len);
	h->mode = UP_REPLYING;
	if (c->reply != NULL)
		http_reply_no_more(c->reply);
	free(h->buf);
	h->buf = NULL;
	h->off = h->len = h->cap = h->fwd = 0;
	return proxy_half_close(&c->up);
}

/*
 * Read from the client into the buffer, at most `most' bytes at a time:
 * >0 read, 0 EOF, -1 EAGAIN/fail.
 */
static ssize_t
proxy_http_read(struct proxy_conn *c, size_t limit, size_t most, bool *failed)
{
	struct proxy_http *h = c->http;
	*failed = false;
	if (c->up.dry) {	/* see proxy_conn_pump() */
		proxy_http_release_buffer(h);
		errno = EAGAIN;
		return -1;
	}
	if (!proxy_http_make_room(c->http, limit)) {
		log_warn(PROXY_LOG, "cannot hold more of a request (%zu bytes, "
		    "out of memory); passing the connection on untouched",
		    h->len);
		proxy_http_go_blind(c);
		return 1;
	}
	size_t room = h->cap - h->len < most ? h->cap - h->len : most;
	ssize_t n;
	do
		n = recv(c->client, h->buf + h->len, room, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		proxy_flow_fail(&c->up, "recv from", c->client, errno);
		*failed = true;
		return -1;
	}
	if (n > 0) {
		c->up.dry = (size_t)n < room;
		h->len += (size_t)n;
	} else if (n < 0)
		proxy_http_release_buffer(h);	/* a quiet stream holds no buffer */
	return n;
}

/* The client ended: what is buffered goes, then EOF is passed on. */
static void
proxy_http_client_ended(struct proxy_conn *c)
{
	c->up.eof = true;
	proxy_http_go_blind(c);
}

/* Read more of a request: 1 go on, 0 wait for the client, -1 gone. */
static int
proxy_http_read_step(struct proxy_conn *c, size_t limit, size_t most)
{
	bool failed;
	ssize_t n = proxy_http_read(c, limit, most, &failed);
	if (failed)
		return -1;
	if (n == 0)
		proxy_http_client_ended(c);
	return n >= 0 ? 1 : 0;
}

/*
 * A create body is whole in buf + off: rewrite it and send it on.  False
 * when refusing it closed the connection.
 */
static bool
proxy_http_create_complete(struct proxy_conn *c, size_t raw_len)
{
	struct proxy *p = c->proxy;
	struct proxy_http *h = c->http;
	const char *head = h->buf + h->off;
	const char *raw = head + h->head.len;
	size_t body_len = raw_len - h->head.len;
	char why[1024] = "";
	char *decoded = NULL, *body = NULL;
	size_t dlen = body_len, blen = 0;
	const char *json = raw;

	if (p->create_fn == NULL) {
		h->fwd = raw_len;	/* unhooked meanwhile: as it is */
		proxy_http_request_done(c);
		return true;
	}
	if (h->head.framing == HTTP_BODY_CHUNKED) {
		if (http_chunked_decode(raw, body_len, HTTP_CREATE_BODY_MAX,
		    &decoded, &dlen, why, sizeof why) < 0) {
			log_warn(PROXY_LOG, "a container create: %s; passing it "
			    "to the engine as it is", why);
			h->fwd = raw_len;
			proxy_http_request_done(c);
			return true;
		}
		json = decoded;
	}
	/* Who asked: what a missing -v source is made for. */
	struct ucred cred;
	socklen_t cl = sizeof cred;
	struct http_caller caller = { false, 0, 0 };
	if (getsockopt(c->client, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		caller = (struct http_caller){ true, cred.uid, cred.gid };
	bool volume = route_of(&h->head, head)->request ==
	    ROUTE_REQUEST_VOLUME_CREATE;
	enum create_result r = (volume ? create_rewrite_volume :
	    create_rewrite_container)(json, dlen, &caller, p->create_fn,
	    p->create_arg, &body, &blen, why, sizeof why);
	free(decoded);
	switch (r) {
	case CREATE_UNREADABLE:
		log_debug(PROXY_LOG, "a container create: %s; passing it to "
		    "the engine as it is", why);
		/* FALLTHROUGH */
	case CREATE_UNCHANGED:
		h->fwd = raw_len;
		proxy_http_request_done(c);
		return true;
	case CREATE_REFUSED:
		log_notice(PROXY_LOG, "refused a %s create: %s", volume ?
		    "volume" : "container", why);
		return proxy_http_reply_locally(c, 400, why);
	case CREATE_CHANGED:
		break;
	}
	size_t hlen;
	char *nh = http_head_with_length(head, &h->head, blen, &hlen);
	char *out = nh != NULL ? realloc(nh, hlen + blen) : NULL;
	if (out == NULL) {
		free(nh);
		free(body);
		log_warn(PROXY_LOG, "out of memory rewriting a container "
		    "create; passing it on as it is");
		h->fwd = raw_len;
		proxy_http_request_done(c);
		return true;
	}
	memcpy(out + hlen, body, blen);
	free(body);
	h->out = out;
	h->out_off = 0;
	h->out_len = hlen + blen;
	h->off += raw_len;		/* the original is replaced */
	proxy_http_request_done(c);
	return true;
}

/*
 * UP_CREATE: wait for the whole body.  Returns 1 when it can go on
 * (complete, or given up and passed on), 0 when more must be read, -1
 * when the connection is gone.
 */
static int
proxy_http_create_step(struct proxy_conn *c)
{
	struct proxy_http *h = c->http;
	size_t have = h->len - h->off;
	if (h->head.framing == HTTP_BODY_LENGTH) {
		if (have < h->head.len + h->head.length)
			return 0;
		return proxy_http_create_complete(c, h->head.len +
		    (size_t)h->head.length) ? 1 : -1;
	}
	/* Chunked: follow the framing over what has come so far. */
	char why[256];
	for (;;) {
		const char *p = h->buf + h->off + h->scan;
		size_t avail = have - h->scan, used;
		enum http_chunk_step s = http_chunked_feed(&h->chunked, p, avail,
		    &used, why, sizeof why);
		h->scan += used;
		if (s == HTTP_CHUNK_DONE)
			return proxy_http_create_complete(c, h->scan) ? 1 : -1;
		if (s == HTTP_CHUNK_BAD) {
			log_warn(PROXY_LOG, "a container create: %s; passing the "
			    "connection on untouched", why);
			proxy_http_go_blind(c);
			return 1;
		}
		if (s == HTTP_CHUNK_MORE || avail == used)
			break;
		size_t take = avail - used < h->chunked.left ?
		    avail - used : (size_t)h->chunked.left;
		h->scan += take;
		http_chunked_take(&h->chunked, take);
	}
	if (h->scan - h->head.len > UP_CREATE_RAW_MAX) {
		log_state(LOG_LVL_WARN, PROXY_LOG, "proxy.create.large",
		    "a container create with a chunked body over %d bytes; "
		    "passed on untouched (its bind sources are not re-exposed)",
		    HTTP_CREATE_BODY_MAX);
		h->fwd = h->scan;	/* framing state matches scan */
		h->mode = UP_BODY_CHUNKED;
		return 1;
	}
	return 0;
}

/* A head is whole: decide what this request needs. */
static void
proxy_http_head_done(struct proxy_conn *c)
{
	struct proxy_http *h = c->http;
	const char *buf = h->buf + h->off;
	enum route_request route = route_of(&h->head, buf)->request;
	h->blind_after = route == ROUTE_REQUEST_HIJACK || h->head.close;
	if (c->reply != NULL)
		(void)http_reply_expect(c->reply, &h->head, buf);
	/*
	 * A create asking for 100-continue is held too: the client sends its
	 * body after its own wait (1 s for curl and Go), and the rewritten
	 * head no longer asks.  The engine -> client direction is the
	 * engine's alone, so the proxy never answers 100 itself.
	 */
	if ((route == ROUTE_REQUEST_CREATE ||
	    route == ROUTE_REQUEST_VOLUME_CREATE) &&
	    h->head.framing != HTTP_BODY_NONE) {
		if (h->head.framing == HTTP_BODY_LENGTH &&
		    h->head.length > HTTP_CREATE_BODY_MAX) {
			log_state(LOG_LVL_WARN, PROXY_LOG, "proxy.create.large",
			    "a container create with a body over %d bytes; "
			    "passed on untouched (its bind sources are not "
			    "re-exposed)", HTTP_CREATE_BODY_MAX);
		} else {
			h->mode = UP_CREATE;
			h->scan = h->head.len;
			http_chunked_init(&h->chunked);
			return;
		}
	}
	h->fwd = h->head.len;
	switch (h->head.framing) {
	case HTTP_BODY_NONE:
		proxy_http_request_done(c);
		break;
	case HTTP_BODY_LENGTH:
		h->mode = UP_BODY_LENGTH;
		h->body_left = h->head.length;
		break;
	case HTTP_BODY_CHUNKED:
		h->mode = UP_BODY_CHUNKED;
		http_chunked_init(&h->chunked);
		break;
	}
}

/*
 * Pass body bytes on: first what is buffered, then straight from the
 * client through the pipe, never past the end of this body.  Returns 1
 * to go on, 0 to wait for the client, -1 when the connection is gone.
 */
static int
proxy_http_body_step(struct proxy_conn *c)
{
	struct proxy_http *h = c->http;
	struct proxy_flow *f = &c->up;
	size_t avail = h->len - h->off;
	uint64_t left;
	if (h->mode == UP_BODY_LENGTH) {
		if (h->body_left == 0) {
			proxy_http_request_done(c);
			return 1;
		}
		if (avail > 0) {
			h->fwd = avail < h->body_left ? avail :
			    (size_t)h->body_left;
			h->body_left -= h->fwd;
			return 1;
		}
		left = h->body_left;
	} else if (avail > 0) {
		char why[256];
		size_t used;
		enum http_chunk_step s = http_chunked_feed(&h->chunked,
		    h->buf + h->off, avail, &used, why, sizeof why);
		if (s == HTTP_CHUNK_BAD) {
			log_info(PROXY_LOG, "%s; passing the connection on "
			    "untouched", why);
			proxy_http_go_blind(c);
			return 1;
		}
		h->fwd = used;
		if (s == HTTP_CHUNK_DONE) {
			/* The rest of this request goes, then the next. */
			h->mode = UP_BODY_LENGTH;
			h->body_left = 0;
		} else if (s == HTTP_CHUNK_DATA && avail > used) {
			size_t take = avail - used < h->chunked.left ?
			    avail - used : (size_t)h->chunked.left;
			h->fwd += take;
			http_chunked_take(&h->chunked, take);
		}
		return 1;
	} else if ((left = http_chunked_data_left(&h->chunked)) == 0) {
		/*
		 * Framing next: read little, so that the chunk's data after
		 * it is spliced, not copied (docker load sends 32 KiB chunks).
		 */
		return proxy_http_read_step(c, HTTP_HEAD_MAX, UP_FRAMING_READ);
	}
	size_t want = left < PROXY_PIPE_SIZE ? (size_t)left : PROXY_PIPE_SIZE;
	ssize_t n = proxy_splice(f->src, f->pipe_w, want);
	proxy_flow_note_bulk(f, n);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n < 0) {
		proxy_flow_fail(f, "splice from", f->src, errno);
		return -1;
	}
	if (n == 0) {
		proxy_http_client_ended(c);
		return 1;
	}
	f->queued += (size_t)n;
	if (h->mode == UP_BODY_LENGTH)
		h->body_left -= (uint64_t)n;
	else
		http_chunked_take(&h->chunked, (uint64_t)n);
	return 1;
}

/* UP_HEAD: 1 go on, 0 wait for the client, -1 gone. */
static int
proxy_http_head_step(struct proxy_conn *c)
{
	struct proxy_http *h = c->http;
	size_t avail = h->len - h->off;
	if (avail > 0) {
		char why[256];
		switch (http_head_parse(&h->parser, h->buf + h->off, avail,
		    &h->head, why, sizeof why)) {
		case HTTP_DONE:
			proxy_http_head_done(c);
			return 1;
		case HTTP_BAD: {
			char msg[320];
			log_info(PROXY_LOG, "refused a request: %s", why);
			snprintf(msg, sizeof msg, "bad request: %s", why);
			return proxy_http_reply_locally(c, 400, msg) ? 0 : -1;
		}
		case HTTP_OPAQUE:
			log_debug(PROXY_LOG, "not a request to follow (%s); "
			    "passing the connection on untouched", why);
			proxy_http_go_blind(c);
			return 1;
		case HTTP_TOO_LARGE:
			log_state(LOG_LVL_WARN, PROXY_LOG, "proxy.head.large",
			    "a request head over %d bytes; that connection is "
			    "passed on untouched", HTTP_HEAD_MAX);
			proxy_http_go_blind(c);
			return 1;
		case HTTP_MORE:
			break;
		}
	} else
		proxy_http_release_buffer(h);	/* a big create's, say */
	return proxy_http_read_step(c, HTTP_HEAD_MAX, SIZE_MAX);
}

/* UP_CREATE: 1 go on, 0 wait for the client, -1 gone. */
static int
proxy_http_create_read(struct proxy_conn *c)
{
	struct proxy_http *h = c->http;
	int r = proxy_http_create_step(c);
	if (r != 0)
		return r;
	return proxy_http_read_step(c, h->head.len +
	    (h->head.framing == HTTP_BODY_LENGTH ? (size_t)h->head.length :
	    UP_CREATE_RAW_MAX + HTTP_HEAD_MAX), SIZE_MAX);
}

void
proxy_http_pump(struct proxy_conn *c)
{
	struct proxy_http *h = c->http;
	struct proxy_flow *f = &c->up;
	bool out_of_rounds = true;
	f->dry = false;
	for (int round = 0; round < PROXY_PUMP_ROUNDS * 4; round++) {
		bool failed;
		if (!proxy_http_flush(c, &failed)) {
			if (failed)
				return;
			out_of_rounds = false;
			break;		/* the engine is not taking more now */
		}
		int r = 1;
		switch (h->mode) {
		case UP_REPLYING:
			return;		/* this direction is over */
		case UP_BLIND:
			/* All buffered bytes went: splice from now on. */
			proxy_http_free(h);
			c->http = NULL;
			proxy_conn_pump(f);
			return;
		case UP_HEAD:
			r = proxy_http_head_step(c);
			break;
		case UP_CREATE:
			r = proxy_http_create_read(c);
			break;
		case UP_BODY_LENGTH:
		case UP_BODY_CHUNKED:
			r = proxy_http_body_step(c);
			break;
		}
		if (r < 0 || h->mode == UP_REPLYING)
			return;
		if (r == 0) {
			out_of_rounds = false;
			break;		/* the client must send more first */
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
	    h->off < h->len)
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
	c->reply = &c->reply_state;
}

void
proxy_reply_stop(struct proxy_conn *c)
{
	if (c->reply == NULL)
		return;
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
