/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Requests as the engine must see them: the client -> engine direction of
 * a followed connection, while a create hook is set (binds.c, in proxy
 * mode).  Heads are read into a buffer and forwarded as read; bodies are
 * passed on by Content-Length or chunk framing, spliced where they are
 * large; and only the requests whose route holds them (routes.c:
 * container and volume creates) wait whole, so their bind sources (a
 * bind volume's device) can be re-exposed and the body rewritten
 * (create.c).  After an upgrade, an attach or exec start, a request that
 * closes the connection, or a head too large to follow, the connection
 * goes blind, both ways.  A request refused here is answered locally
 * once the engine has sent everything it owes.  Each request's head is
 * told to the answer follower (reply.c), which pairs the answers.
 *
 * Output to the engine comes from one place at a time, in order: the
 * pipe (spliced body bytes, the proxy's), then a rewritten create or the
 * bytes as read (stream.c).  The next request is looked at only once all
 * of it has gone.  Pure: the proxy (proxy-http.c) does the I/O each step
 * asks for, and http_request_run() (drive.c) does it in memory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "wire/create.h"
#include "wire/http.h"
#include "wire/reply.h"
#include "wire/request.h"
#include "wire/routes.h"
#include "wire/stream.h"

/* A chunked create whose framing adds more than this is passed on raw. */
#define REQUEST_CREATE_RAW_MAX	(HTTP_CREATE_BODY_MAX + \
	HTTP_CREATE_BODY_MAX / 8)

enum {
	R_HEAD,			/* reading a request head */
	R_BODY,			/* passing a body on, by its framing */
	R_CREATE,		/* holding a create until its body is whole */
	R_WHOLE,		/* a create is whole (scan bytes): rewrite it */
	R_REFUSED,		/* answered locally: this direction is over */
	R_BLIND,		/* once the buffer is sent: blind */
};

void
http_request_init(struct http_request *r)
{
	memset(r, 0, sizeof *r);
	r->state = R_HEAD;
	http_head_parser_init(&r->parser);
}

void
http_request_free(struct http_request *r)
{
	if (r == NULL)
		return;
	http_stream_free(&r->stream);
	free(r->refusal);
	memset(r, 0, sizeof *r);
}

void
http_request_pair(struct http_request *r, struct http_reply *answers)
{
	r->answers = answers;
}

bool
http_request_has_output(const struct http_request *r)
{
	return http_stream_has_output(&r->stream);
}

bool
http_request_buffered(const struct http_request *r)
{
	return r->stream.off < r->stream.len;
}

char *
http_request_refusal(struct http_request *r, size_t *len)
{
	char *refusal = r->refusal;
	*len = r->refusal_len;
	r->refusal = NULL;
	r->refusal_len = 0;
	return refusal;
}

static void request_note(struct http_request_action *, enum log_level,
    const char *once, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Something for the proxy to log. */
static void
request_note(struct http_request_action *a, enum log_level level,
    const char *once, const char *fmt, ...)
{
	va_list ap;
	a->level = level;
	a->once = once;
	va_start(ap, fmt);
	vsnprintf(a->note, sizeof a->note, fmt, ap);
	va_end(ap);
}

static void
request_action_clear(struct http_request_action *a)
{
	a->data = NULL;
	a->len = 0;
	a->level = LOG_LVL_DEBUG;
	a->once = NULL;
	a->note[0] = '\0';
}

/*
 * Stop following HTTP: what is buffered goes as it is, then both
 * directions are blind for the rest of the connection.
 */
static void
request_go_blind(struct http_request *r)
{
	http_stream_forward_all(&r->stream);
	r->state = R_BLIND;
	if (r->answers != NULL)
		http_reply_no_more(r->answers);
}

/* A request is through: the next one, or blind for the rest. */
static void
request_done(struct http_request *r)
{
	if (r->blind_after) {
		request_go_blind(r);
		return;
	}
	r->state = R_HEAD;
	http_head_parser_init(&r->parser);
	http_stream_release(&r->stream);
}

/*
 * Answer the client ourselves and end this direction: the engine is told
 * EOF, and once it has sent everything it owes (earlier pipelined
 * requests), the reply follows on the engine -> client direction.
 */
static void
request_refuse(struct http_request *r, int status, const char *message)
{
	r->refusal = http_error_reply(status, message, &r->refusal_len);
	r->state = R_REFUSED;
	if (r->answers != NULL)
		http_reply_no_more(r->answers);
	http_stream_free(&r->stream);
}

/*
 * Ask for more of the request, at most `most' bytes at a time, the
 * buffer never holding more than `limit'; past it (or out of memory) the
 * connection goes blind, and past the budget all followers share the
 * request is refused (503).  False: *a is the READ.
 */
static bool
request_read(struct http_request *r, struct http_request_action *a,
    size_t limit, size_t most)
{
	if (http_stream_room(&r->stream, limit, HTTP_STREAM_BUF_FIRST, most,
	    &a->data, &a->len)) {
		a->what = HTTP_REQUEST_READ;
		return false;
	}
	if (r->stream.over_budget) {
		char msg[320];
		snprintf(msg, sizeof msg, "the agent already holds %zu MiB of "
		    "requests being read for all clients, its limit; try "
		    "again when fewer large requests are in flight",
		    r->stream.budget->max >> 20);
		request_note(a, LOG_LVL_WARN, "request-budget", "refused a "
		    "request: %zu bytes held for all clients, the limit is "
		    "%zu", r->stream.budget->held, r->stream.budget->max);
		request_refuse(r, 503, msg);
		return true;
	}
	request_note(a, LOG_LVL_WARN, NULL, "cannot hold more of a request "
	    "(%zu bytes, out of memory); passing the connection on untouched",
	    r->stream.len);
	request_go_blind(r);
	return true;
}

/* A head is whole: what this request needs. */
static void
request_head_done(struct http_request *r, struct http_request_action *a)
{
	struct http_stream *s = &r->stream;
	const char *buf = s->buf + s->off;
	enum route_request route = route_of(&r->head, buf)->request;
	r->blind_after = route == ROUTE_REQUEST_HIJACK || r->head.close;
	if (r->answers != NULL)
		(void)http_reply_expect(r->answers, &r->head, buf);
	/*
	 * A create asking for 100-continue is held too: the client sends its
	 * body after its own wait (1 s for curl and Go), and the rewritten
	 * head no longer asks.  The engine -> client direction is the
	 * engine's alone, so the proxy never answers 100 itself.
	 */
	if ((route == ROUTE_REQUEST_CREATE ||
	    route == ROUTE_REQUEST_VOLUME_CREATE) &&
	    r->head.framing != HTTP_BODY_NONE) {
		if (r->head.framing == HTTP_BODY_LENGTH &&
		    r->head.length > HTTP_CREATE_BODY_MAX) {
			request_note(a, LOG_LVL_WARN, "proxy.create.large",
			    "a container create with a body over %d bytes; "
			    "passed on untouched (its bind sources are not "
			    "re-exposed)", HTTP_CREATE_BODY_MAX);
		} else {
			r->state = R_CREATE;
			r->create_asked = 0;	/* no pass yet */
			http_stream_hold_chunked(s, r->head.len);
			return;
		}
	}
	s->fwd = r->head.len;
	if (r->head.framing == HTTP_BODY_NONE) {
		request_done(r);
		return;
	}
	r->state = R_BODY;
	http_stream_pass_body(s, r->head.framing, r->head.length);
}

static bool
request_head_step(struct http_request *r, struct http_request_action *a)
{
	struct http_stream *s = &r->stream;
	size_t avail = s->len - s->off;
	if (avail > 0) {
		char why[256], msg[320];
		switch (http_head_parse(&r->parser, s->buf + s->off, avail,
		    &r->head, why, sizeof why)) {
		case HTTP_DONE:
			request_head_done(r, a);
			return true;
		case HTTP_BAD:
			request_note(a, LOG_LVL_INFO, NULL, "refused a "
			    "request: %s", why);
			snprintf(msg, sizeof msg, "bad request: %s", why);
			request_refuse(r, 400, msg);
			return true;
		case HTTP_OPAQUE:
			request_note(a, LOG_LVL_DEBUG, NULL, "not a request to "
			    "follow (%s); passing the connection on untouched",
			    why);
			request_go_blind(r);
			return true;
		case HTTP_TOO_LARGE:
			request_note(a, LOG_LVL_WARN, "proxy.head.large", "a "
			    "request head over %d bytes; that connection is "
			    "passed on untouched", HTTP_HEAD_MAX);
			request_go_blind(r);
			return true;
		case HTTP_MORE:
			break;
		}
	} else
		http_stream_release(s);	/* a big create's, say */
	return request_read(r, a, HTTP_HEAD_MAX, SIZE_MAX);
}

/*
 * Body bytes: first what is buffered, then straight from the client (a
 * SPLICE), never past the end of this body.
 */
static bool
request_body_step(struct http_request *r, struct http_request_action *a)
{
	char why[256];
	uint64_t left = 0;
	switch (http_stream_body_step(&r->stream, &left, why, sizeof why)) {
	case HTTP_STREAM_SEND:
		return true;
	case HTTP_STREAM_END:
		request_done(r);
		return true;
	case HTTP_STREAM_BAD:
		request_note(a, LOG_LVL_INFO, NULL, "%s; passing the "
		    "connection on untouched", why);
		request_go_blind(r);
		return true;
	case HTTP_STREAM_FRAMING:
		/*
		 * Framing next: read little, so that the chunk's data after
		 * it is spliced, not copied (docker load sends 32 KiB chunks).
		 */
		return request_read(r, a, HTTP_HEAD_MAX,
		    HTTP_REQUEST_FRAMING_READ);
	case HTTP_STREAM_SPLICE:
		break;
	}
	a->what = HTTP_REQUEST_SPLICE;
	a->data = NULL;
	a->len = left < SIZE_MAX ? (size_t)left : SIZE_MAX;
	return false;
}

/* A create's body: wait until it is whole (R_WHOLE, scan bytes). */
static bool
request_create_step(struct http_request *r, struct http_request_action *a)
{
	struct http_stream *s = &r->stream;
	char why[256];
	if (r->head.framing == HTTP_BODY_LENGTH) {
		size_t total = r->head.len + (size_t)r->head.length;
		if (s->len - s->off < total)
			return request_read(r, a, total, SIZE_MAX);
		s->scan = total;
		r->state = R_WHOLE;
		return true;
	}
	/* Chunked: follow the framing over what has come so far. */
	switch (http_stream_scan(s, why, sizeof why)) {
	case HTTP_CHUNK_DONE:
		r->state = R_WHOLE;
		return true;
	case HTTP_CHUNK_BAD:
		request_note(a, LOG_LVL_WARN, NULL, "a container create: %s; "
		    "passing the connection on untouched", why);
		request_go_blind(r);
		return true;
	default:
		break;
	}
	if (s->scan - r->head.len > REQUEST_CREATE_RAW_MAX) {
		request_note(a, LOG_LVL_WARN, "proxy.create.large", "a "
		    "container create with a chunked body over %d bytes; "
		    "passed on untouched (its bind sources are not "
		    "re-exposed)", HTTP_CREATE_BODY_MAX);
		s->fwd = s->scan;	/* framing state matches scan */
		r->state = R_BODY;
		return true;
	}
	return request_read(r, a, r->head.len + REQUEST_CREATE_RAW_MAX +
	    HTTP_HEAD_MAX, SIZE_MAX);
}

void
http_request_next(struct http_request *r, bool hooked,
    struct http_request_action *a)
{
	request_action_clear(a);
	for (;;) {
		if (http_stream_output(&r->stream, &a->data, &a->len)) {
			a->what = HTTP_REQUEST_SEND;
			return;
		}
		bool again = true;
		switch (r->state) {
		case R_HEAD:
			again = request_head_step(r, a);
			break;
		case R_BODY:
			again = request_body_step(r, a);
			break;
		case R_CREATE:
			again = request_create_step(r, a);
			break;
		case R_WHOLE:
			if (hooked) {
				a->what = HTTP_REQUEST_REWRITE;
				return;
			}
			/* Unhooked meanwhile: as it came. */
			r->stream.fwd = r->stream.scan;
			request_done(r);
			break;
		case R_REFUSED:
			a->what = HTTP_REQUEST_REFUSE;
			return;
		case R_BLIND:
			a->what = HTTP_REQUEST_BLIND;
			return;
		}
		if (!again)
			return;
	}
}

void
http_request_done(struct http_request *r, const struct http_request_action *a,
    size_t n)
{
	switch (a->what) {
	case HTTP_REQUEST_READ:
		r->stream.len += n;
		break;
	case HTTP_REQUEST_SEND:
		http_stream_sent(&r->stream, a->data, n);
		break;
	case HTTP_REQUEST_SPLICE:
		http_stream_spliced(&r->stream, n);
		break;
	default:
		break;
	}
}

void
http_request_quiet(struct http_request *r)
{
	http_stream_release(&r->stream);
}

void
http_request_ended(struct http_request *r)
{
	if (r->state != R_REFUSED)
		request_go_blind(r);
}

/* The create as it came: the next request, or blind. */
static void
request_pass_create(struct http_request *r)
{
	r->stream.fwd = r->stream.scan;
	request_done(r);
}

bool
http_request_rewrite(struct http_request *r, const struct http_caller *caller,
    http_bind_fn fn, void *arg, struct http_request_action *a)
{
	struct http_stream *s = &r->stream;
	char why[1024] = "", *decoded, *body = NULL;
	size_t dlen, blen = 0;
	request_action_clear(a);
	if (r->state != R_WHOLE)
		return true;
	if (fn == NULL) {
		request_pass_create(r);
		return true;
	}
	const char *head = s->buf + s->off;
	const char *json = http_stream_held_body(s, r->head.len, s->scan,
	    r->head.framing == HTTP_BODY_CHUNKED, HTTP_CREATE_BODY_MAX,
	    &decoded, &dlen, why, sizeof why);
	if (json == NULL) {
		request_note(a, LOG_LVL_WARN, NULL, "a container create: %s; "
		    "passing it to the engine as it is", why);
		request_pass_create(r);
		return true;
	}
	bool volume = route_of(&r->head, head)->request ==
	    ROUTE_REQUEST_VOLUME_CREATE;
	enum create_result res = create_rewrite(volume, json, dlen, caller, fn,
	    arg, &r->create_asked, &body, &blen, why, sizeof why);
	free(decoded);
	if (res == CREATE_PENDING)
		return false;	/* held whole, as it is, until asked again */
	switch (res) {
	case CREATE_PENDING:
		break;
	case CREATE_UNREADABLE:
		request_note(a, LOG_LVL_DEBUG, NULL, "a container create: %s; "
		    "passing it to the engine as it is", why);
		/* FALLTHROUGH */
	case CREATE_UNCHANGED:
		request_pass_create(r);
		return true;
	case CREATE_REFUSED:
		request_note(a, LOG_LVL_NOTICE, NULL, "refused a %s create: %s",
		    volume ? "volume" : "container", why);
		request_refuse(r, 400, why);
		return true;
	case CREATE_CHANGED:
		break;
	}
	if (!http_stream_replace(s, head, &r->head, s->scan, body, blen)) {
		request_note(a, LOG_LVL_WARN, NULL, "out of memory rewriting a "
		    "container create; passing it on as it is");
		request_pass_create(r);
		return true;
	}
	request_done(r);
	return true;
}
