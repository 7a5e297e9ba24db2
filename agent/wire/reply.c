/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Answers in the user's terms: the engine -> client direction of a
 * followed connection.  The engine knows a re-exposed bind source only by
 * its exposure path (.../docker-desktop-bind-mounts/<distro>/<sha256>), so
 * `docker inspect' would show that path where the user wrote
 * /home/me/app.  The follower pairs each response with the request it
 * answers (in order: HTTP/1.1 answers pipelined requests in order), finds
 * where each response ends, and holds only the answers whose route says
 * so (routes.c, which also rewrites them).  A held answer is a 200 (a
 * volume create's: a 201) with a JSON content type and at most
 * HTTP_REPLY_BODY_MAX bytes; a rewritten one is framed anew with
 * Content-Length (chunked framing and trailers go), and one that did not
 * change is sent as it came, byte for byte.  Every other response passes
 * as it is: heads are read, bodies are spliced by their framing, and a
 * 101, a hijacked stream (attach, exec), a body that ends at EOF or
 * anything this file cannot follow makes the rest of the connection
 * opaque.  Pure: the proxy (proxy-http.c) does the I/O each step asks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/http.h"
#include "wire/reply.h"
#include "wire/routes.h"
#include "wire/stream.h"

/* A chunked answer whose framing adds more than this is not held. */
#define REPLY_RAW_MAX	(HTTP_REPLY_BODY_MAX + HTTP_REPLY_BODY_MAX / 8)

enum { R_HEAD, R_BODY, R_HOLD, R_OPAQUE };

/* Or'ed into a route's answer in the queue: a HEAD request's, no body. */
#define REPLY_NO_BODY	0x80

/* ------------------------------------------------------------------ */
/* The follower. */

void
http_reply_init(struct http_reply *r)
{
	memset(r, 0, sizeof *r);
	r->state = R_HEAD;
	http_head_parser_init(&r->parser);
}

void
http_reply_free(struct http_reply *r)
{
	http_stream_free(&r->stream);
}

bool
http_reply_expect(struct http_reply *r, const struct http_head *h,
    const char *buf)
{
	if (r->no_more)
		return false;
	if (r->q_len == HTTP_REPLY_QUEUE) {
		/* Answers to the rest are not followed: opaque after these. */
		r->no_more = true;
		return false;
	}
	unsigned answer = route_of(h, buf)->answer;
	if (answer != ROUTE_ANSWER_OPAQUE && strcmp(h->method, "HEAD") == 0)
		answer = ROUTE_ANSWER_PASS | REPLY_NO_BODY;
	r->queue[(r->q_first + r->q_len) % HTTP_REPLY_QUEUE] =
	    (unsigned char)answer;
	r->q_len++;
	return true;
}

void
http_reply_no_more(struct http_reply *r)
{
	r->no_more = true;
}

void
http_reply_ended(struct http_reply *r)
{
	r->state = R_OPAQUE;
}

bool
http_reply_has_output(const struct http_reply *r)
{
	return http_stream_has_output(&r->stream);
}

static bool
reply_opaque(struct http_reply *r, struct http_reply_action *a,
    const char *note)
{
	r->state = R_OPAQUE;
	if (note != NULL)
		a->note = note;
	return true;
}

/*
 * Ask for more bytes, the buffer never holding more than `limit'; past
 * it (or out of memory) the rest passes opaque.  False: *a is the READ.
 * A framing read (most is small) starts small: a stream between its
 * chunks (1,000 `docker events') holds nothing, and each framing read
 * takes a few hundred bytes at most.
 */
static bool
reply_read(struct http_reply *r, struct http_reply_action *a, size_t limit,
    size_t most)
{
	size_t first = most < HTTP_STREAM_BUF_FIRST ? most :
	    HTTP_STREAM_BUF_FIRST;
	if (!http_stream_room(&r->stream, limit, first, most, &a->data,
	    &a->len))
		return reply_opaque(r, a, r->stream.over_budget ? "an answer "
		    "could not be held (the agent holds as much as its limit "
		    "for all clients); passed on untouched" : "an answer could "
		    "not be held (out of memory); passed on untouched");
	a->what = HTTP_REPLY_READ;
	return false;
}

/* Does the route hold its answer, to rewrite it? */
static bool
reply_held_answer(unsigned answer)
{
	return answer == ROUTE_ANSWER_CONTAINERS ||
	    answer == ROUTE_ANSWER_CONTAINER || answer == ROUTE_ANSWER_VOLUMES ||
	    answer == ROUTE_ANSWER_VOLUME;
}

/* A head is whole: what its body needs. */
static bool
reply_head_done(struct http_reply *r, bool hooked, struct http_reply_action *a)
{
	const struct http_response *h = &r->resp;
	if (r->q_len == 0)
		return reply_opaque(r, a, NULL);	/* answers no request seen */
	unsigned answer = r->queue[r->q_first];
	if (h->status == 101 || answer == ROUTE_ANSWER_OPAQUE)
		return reply_opaque(r, a, NULL);
	http_head_parser_init(&r->parser);
	r->stream.fwd = h->len;
	if (h->status < 200)
		return true;		/* 100 Continue: the answer follows */
	r->q_first = (r->q_first + 1) % HTTP_REPLY_QUEUE;
	r->q_len--;
	r->answer = answer;
	if ((answer & REPLY_NO_BODY) || h->status == 204 ||
	    h->status == 304)
		return true;
	if (h->until_close)
		return reply_opaque(r, a, NULL);
	if (hooked && reply_held_answer(answer) && (h->status == 200 ||
	    (h->status == 201 && answer == ROUTE_ANSWER_VOLUME)) && h->json) {
		if (h->framing == HTTP_BODY_CHUNKED ||
		    (h->framing == HTTP_BODY_LENGTH &&
		    h->length <= HTTP_REPLY_BODY_MAX)) {
			r->stream.fwd = 0;
			r->state = R_HOLD;
			if (h->framing == HTTP_BODY_CHUNKED)
				http_stream_hold_chunked(&r->stream, h->len);
			return true;
		}
		if (h->framing == HTTP_BODY_LENGTH)
			a->note = "an inspect or list answer over 16 MiB; "
			    "passed on untouched (exposure paths stay)";
	}
	if (h->framing != HTTP_BODY_NONE) {
		r->state = R_BODY;
		http_stream_pass_body(&r->stream, h->framing, h->length);
	}
	return true;
}

static bool
reply_head_step(struct http_reply *r, bool hooked, struct http_reply_action *a)
{
	struct http_stream *s = &r->stream;
	size_t avail = s->len - s->off;
	if (avail == 0) {
		http_stream_release(s);
		if (r->q_len == 0 && r->no_more)
			return reply_opaque(r, a, NULL);
		return reply_read(r, a, HTTP_HEAD_MAX, SIZE_MAX);
	}
	switch (http_response_parse(&r->parser, s->buf + s->off, avail,
	    &r->resp)) {
	case HTTP_DONE:
		return reply_head_done(r, hooked, a);
	case HTTP_MORE:
		return reply_read(r, a, HTTP_HEAD_MAX, SIZE_MAX);
	case HTTP_TOO_LARGE:
		return reply_opaque(r, a, "an answer's head over 64 KiB; that "
		    "connection is passed on untouched");
	default:
		return reply_opaque(r, a, NULL);
	}
}

/* Body bytes: what is buffered goes, then straight through (SPLICE). */
static bool
reply_body_step(struct http_reply *r, struct http_reply_action *a)
{
	char why[128];
	uint64_t left = 0;
	switch (http_stream_body_step(&r->stream, &left, why, sizeof why)) {
	case HTTP_STREAM_SEND:
		return true;
	case HTTP_STREAM_END:
		r->state = R_HEAD;
		return true;
	case HTTP_STREAM_BAD:
		return reply_opaque(r, a, NULL);
	case HTTP_STREAM_FRAMING:
		/* Nothing buffered: a long stream holds no memory between
		 * reads; framing next: read little, so chunk data is spliced. */
		http_stream_release(&r->stream);
		return reply_read(r, a, HTTP_HEAD_MAX, HTTP_REPLY_FRAMING_READ);
	case HTTP_STREAM_SPLICE:
		break;
	}
	http_stream_release(&r->stream);
	a->what = HTTP_REPLY_SPLICE;
	a->data = NULL;
	a->len = left < SIZE_MAX ? (size_t)left : SIZE_MAX;
	return false;
}

/* A held answer is whole in buf + off: rewritten, or sent as it came. */
static void
reply_complete(struct http_reply *r, size_t raw_len, http_reply_fn fn,
    void *arg)
{
	struct http_stream *s = &r->stream;
	char why[128], *decoded, *body = NULL;
	size_t dlen, nlen = 0;
	r->state = R_HEAD;
	const char *json = http_stream_held_body(s, r->resp.len, raw_len,
	    r->resp.framing == HTTP_BODY_CHUNKED, HTTP_REPLY_BODY_MAX,
	    &decoded, &dlen, why, sizeof why);
	if (json != NULL)
		body = route_answer_rewrite((enum route_answer)r->answer, json,
		    dlen, fn, arg, &nlen);
	free(decoded);
	struct http_head framing = { .len = r->resp.len };
	if (body == NULL || !http_stream_replace(s, s->buf + s->off, &framing,
	    raw_len, body, nlen)) {
		s->fwd = raw_len;	/* unchanged, unreadable or no memory */
		return;
	}
	r->rewritten++;
}

static bool
reply_hold_step(struct http_reply *r, http_reply_fn fn, void *arg,
    struct http_reply_action *a)
{
	struct http_stream *s = &r->stream;
	size_t have = s->len - s->off;
	char why[128];
	if (fn == NULL) {
		/* Unhooked meanwhile: follow the body, hold nothing. */
		s->fwd = r->resp.len;
		r->state = R_BODY;
		http_stream_pass_body(s, r->resp.framing, r->resp.length);
		return true;
	}
	if (r->resp.framing == HTTP_BODY_LENGTH) {
		size_t total = r->resp.len + (size_t)r->resp.length;
		if (have >= total) {
			reply_complete(r, total, fn, arg);
			return true;
		}
		return reply_read(r, a, total, SIZE_MAX);
	}
	switch (http_stream_scan(s, why, sizeof why)) {
	case HTTP_CHUNK_DONE:
		reply_complete(r, s->scan, fn, arg);
		return true;
	case HTTP_CHUNK_BAD:
		return reply_opaque(r, a, NULL);
	default:
		break;
	}
	if (s->scan - r->resp.len > REPLY_RAW_MAX) {
		/* Too big to hold: what came goes, the rest is followed. */
		s->fwd = s->scan;
		r->state = R_BODY;
		a->note = "an inspect or list answer over 16 MiB; passed on "
		    "untouched (exposure paths stay)";
		return true;
	}
	return reply_read(r, a, r->resp.len + REPLY_RAW_MAX + HTTP_HEAD_MAX,
	    SIZE_MAX);
}

void
http_reply_next(struct http_reply *r, http_reply_fn fn, void *arg,
    struct http_reply_action *a)
{
	struct http_stream *s = &r->stream;
	a->note = NULL;
	for (;;) {
		if (http_stream_output(s, &a->data, &a->len)) {
			a->what = HTTP_REPLY_SEND;
			return;
		}
		bool again = true;
		switch (r->state) {
		case R_OPAQUE:
			if (s->off == s->len) {
				a->what = HTTP_REPLY_OPAQUE;
				a->data = NULL;
				a->len = 0;
				return;
			}
			http_stream_forward_all(s);
			break;
		case R_HEAD:
			again = reply_head_step(r, fn != NULL, a);
			break;
		case R_BODY:
			again = reply_body_step(r, a);
			break;
		case R_HOLD:
			again = reply_hold_step(r, fn, arg, a);
			break;
		}
		if (!again)
			return;
	}
}

void
http_reply_done(struct http_reply *r, const struct http_reply_action *a,
    size_t n)
{
	switch (a->what) {
	case HTTP_REPLY_READ:
		r->stream.len += n;
		break;
	case HTTP_REPLY_SEND:
		http_stream_sent(&r->stream, a->data, n);
		break;
	case HTTP_REPLY_SPLICE:
		http_stream_spliced(&r->stream, n);
		break;
	case HTTP_REPLY_OPAQUE:
		break;
	}
}
