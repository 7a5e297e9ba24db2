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

/* A chunked answer whose framing adds more than this is not held. */
#define REPLY_RAW_MAX	(HTTP_REPLY_BODY_MAX + HTTP_REPLY_BODY_MAX / 8)
#define REPLY_BUF_FIRST	(16 * 1024)

enum { R_HEAD, R_BODY_LENGTH, R_BODY_CHUNKED, R_HOLD, R_OPAQUE };

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
	free(r->buf);
	free(r->out);
	r->buf = r->out = NULL;
	r->off = r->len = r->cap = r->fwd = r->out_off = r->out_len = 0;
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
	return r->fwd > 0 || r->out_off < r->out_len;
}

/* Nothing buffered: give the memory back (idle keep-alive connections). */
static void
reply_release(struct http_reply *r)
{
	if (r->off < r->len || r->fwd > 0)
		return;
	free(r->buf);
	r->buf = NULL;
	r->off = r->len = r->cap = 0;
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
 */
static bool
reply_read(struct http_reply *r, struct http_reply_action *a, size_t limit,
    size_t most)
{
	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len == r->cap) {
		/*
		 * A framing read (most is small) starts small: a stream
		 * between its chunks (1,000 `docker events') holds nothing,
		 * and each framing read takes a few hundred bytes at most.
		 */
		size_t first = most < REPLY_BUF_FIRST ? most : REPLY_BUF_FIRST;
		size_t cap = r->cap == 0 ? first : r->cap * 2;
		if (cap > limit)
			cap = limit;
		char *grown = cap > r->cap ? realloc(r->buf, cap) : NULL;
		if (grown == NULL)
			return reply_opaque(r, a, "an answer could not be held "
			    "(out of memory); passed on untouched");
		r->buf = grown;
		r->cap = cap;
	}
	a->what = HTTP_REPLY_READ;
	a->data = r->buf + r->len;
	a->len = r->cap - r->len < most ? r->cap - r->len : most;
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
	r->fwd = h->len;
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
			r->fwd = 0;
			r->state = R_HOLD;
			r->scan = h->len;
			http_chunked_init(&r->chunked);
			return true;
		}
		if (h->framing == HTTP_BODY_LENGTH)
			a->note = "an inspect or list answer over 16 MiB; "
			    "passed on untouched (exposure paths stay)";
	}
	if (h->framing == HTTP_BODY_LENGTH) {
		r->state = R_BODY_LENGTH;
		r->body_left = h->length;
	} else if (h->framing == HTTP_BODY_CHUNKED) {
		r->state = R_BODY_CHUNKED;
		http_chunked_init(&r->chunked);
	}
	return true;
}

static bool
reply_head_step(struct http_reply *r, bool hooked, struct http_reply_action *a)
{
	size_t avail = r->len - r->off;
	if (avail == 0) {
		reply_release(r);
		if (r->q_len == 0 && r->no_more)
			return reply_opaque(r, a, NULL);
		return reply_read(r, a, HTTP_HEAD_MAX, SIZE_MAX);
	}
	switch (http_response_parse(&r->parser, r->buf + r->off, avail,
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
	size_t avail = r->len - r->off;
	uint64_t left;
	if (r->state == R_BODY_LENGTH) {
		if (r->body_left == 0) {
			r->state = R_HEAD;
			return true;
		}
		if (avail > 0) {
			r->fwd = avail < r->body_left ? avail :
			    (size_t)r->body_left;
			r->body_left -= r->fwd;
			return true;
		}
		left = r->body_left;
	} else if (avail > 0) {
		char why[128];
		size_t used;
		enum http_chunk_step s = http_chunked_feed(&r->chunked,
		    r->buf + r->off, avail, &used, why, sizeof why);
		if (s == HTTP_CHUNK_BAD)
			return reply_opaque(r, a, NULL);
		r->fwd = used;
		if (s == HTTP_CHUNK_DONE) {
			r->state = R_BODY_LENGTH;
			r->body_left = 0;
		} else if (s == HTTP_CHUNK_DATA && avail > used) {
			size_t take = avail - used < r->chunked.left ?
			    avail - used : (size_t)r->chunked.left;
			r->fwd += take;
			http_chunked_take(&r->chunked, take);
		}
		return true;
	} else
		left = http_chunked_data_left(&r->chunked);
	/* Nothing buffered: a long stream holds no memory between reads. */
	reply_release(r);
	if (left == 0) {
		/* Framing next: read little, so chunk data is spliced. */
		return reply_read(r, a, HTTP_HEAD_MAX, HTTP_REPLY_FRAMING_READ);
	}
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
	const char *head = r->buf + r->off, *raw = head + r->resp.len;
	size_t body_len = raw_len - r->resp.len, dlen = body_len, nlen = 0;
	char why[128], *decoded = NULL, *body = NULL;
	const char *json = raw;
	r->state = R_HEAD;
	if (r->resp.framing == HTTP_BODY_CHUNKED) {
		if (http_chunked_decode(raw, body_len, HTTP_REPLY_BODY_MAX,
		    &decoded, &dlen, why, sizeof why) < 0)
			decoded = NULL;
		json = decoded;
	}
	if (json != NULL)
		body = route_answer_rewrite((enum route_answer)r->answer, json,
		    dlen, fn, arg, &nlen);
	free(decoded);
	size_t hlen;
	struct http_head framing = { .len = r->resp.len };
	char *nh = body != NULL ? http_head_with_length(head, &framing, nlen,
	    &hlen) : NULL;
	char *out = nh != NULL ? realloc(nh, hlen + nlen) : NULL;
	if (out == NULL) {
		free(nh);
		free(body);
		r->fwd = raw_len;	/* unchanged, unreadable or no memory */
		return;
	}
	memcpy(out + hlen, body, nlen);
	free(body);
	r->out = out;
	r->out_off = 0;
	r->out_len = hlen + nlen;
	r->off += raw_len;
	r->rewritten++;
}

static bool
reply_hold_step(struct http_reply *r, http_reply_fn fn, void *arg,
    struct http_reply_action *a)
{
	size_t have = r->len - r->off;
	if (fn == NULL) {
		/* Unhooked meanwhile: follow the body, hold nothing. */
		r->fwd = r->resp.len;
		r->state = r->resp.framing == HTTP_BODY_LENGTH ?
		    R_BODY_LENGTH : R_BODY_CHUNKED;
		r->body_left = r->resp.length;
		http_chunked_init(&r->chunked);
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
	for (;;) {
		char why[128];
		size_t avail = have - r->scan, used;
		enum http_chunk_step s = http_chunked_feed(&r->chunked,
		    r->buf + r->off + r->scan, avail, &used, why, sizeof why);
		r->scan += used;
		if (s == HTTP_CHUNK_DONE) {
			reply_complete(r, r->scan, fn, arg);
			return true;
		}
		if (s == HTTP_CHUNK_BAD)
			return reply_opaque(r, a, NULL);
		if (s == HTTP_CHUNK_MORE || avail == used)
			break;
		size_t take = avail - used < r->chunked.left ?
		    avail - used : (size_t)r->chunked.left;
		r->scan += take;
		http_chunked_take(&r->chunked, take);
	}
	if (r->scan - r->resp.len > REPLY_RAW_MAX) {
		/* Too big to hold: what came goes, the rest is followed. */
		r->fwd = r->scan;
		r->state = R_BODY_CHUNKED;
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
	a->note = NULL;
	for (;;) {
		if (r->out_off < r->out_len) {
			a->what = HTTP_REPLY_SEND;
			a->data = r->out + r->out_off;
			a->len = r->out_len - r->out_off;
			return;
		}
		if (r->fwd > 0) {
			a->what = HTTP_REPLY_SEND;
			a->data = r->buf + r->off;
			a->len = r->fwd;
			return;
		}
		bool again = true;
		switch (r->state) {
		case R_OPAQUE:
			if (r->off == r->len) {
				a->what = HTTP_REPLY_OPAQUE;
				a->data = NULL;
				a->len = 0;
				return;
			}
			r->fwd = r->len - r->off;
			break;
		case R_HEAD:
			again = reply_head_step(r, fn != NULL, a);
			break;
		case R_BODY_LENGTH:
		case R_BODY_CHUNKED:
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
		r->len += n;
		break;
	case HTTP_REPLY_SEND:
		if (r->out != NULL && a->data == r->out + r->out_off) {
			r->out_off += n;
			if (r->out_off == r->out_len) {
				free(r->out);
				r->out = NULL;
				r->out_off = r->out_len = 0;
			}
		} else {
			r->off += n;
			r->fwd -= n;
		}
		break;
	case HTTP_REPLY_SPLICE:
		if (r->state == R_BODY_LENGTH)
			r->body_left -= n;
		else
			http_chunked_take(&r->chunked, n);
		break;
	case HTTP_REPLY_OPAQUE:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* The whole stream in memory. */

static bool
reply_append(char **out, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap == 0 ? 4096 : *cap;
		while (c < *len + n)
			c *= 2;
		char *grown = realloc(*out, c);
		if (grown == NULL)
			return false;
		*out = grown;
		*cap = c;
	}
	if (n > 0)
		memcpy(*out + *len, p, n);
	*len += n;
	return true;
}

char *
http_reply_run(struct http_reply *r, const char *in, size_t len,
    size_t first, size_t piece, http_reply_fn fn, void *arg, size_t *outlen)
{
	char *out = NULL;
	size_t olen = 0, cap = 0, pos = 0, most = first;
	bool ok = (out = malloc(1)) != NULL;
	cap = 1;
	while (ok) {
		struct http_reply_action a;
		http_reply_next(r, fn, arg, &a);
		size_t n = len - pos < most ? len - pos : most;
		if (a.what != HTTP_REPLY_SEND && n > a.len)
			n = a.len;
		switch (a.what) {
		case HTTP_REPLY_READ:
		case HTTP_REPLY_SPLICE:
			if (n == 0) {
				http_reply_ended(r);
				continue;
			}
			if (a.what == HTTP_REPLY_READ)
				memcpy(a.data, in + pos, n);
			else
				ok = reply_append(&out, &olen, &cap, in + pos, n);
			pos += n;
			most = piece;
			http_reply_done(r, &a, n);
			break;
		case HTTP_REPLY_SEND:
			ok = reply_append(&out, &olen, &cap, a.data, a.len);
			http_reply_done(r, &a, a.len);
			break;
		case HTTP_REPLY_OPAQUE:
			ok = reply_append(&out, &olen, &cap, in + pos, len - pos);
			*outlen = olen;
			return ok ? out : (free(out), NULL);
		}
	}
	free(out);
	return NULL;
}
