/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What both followers keep of the direction they follow.  Output goes
 * from one place at a time, in order: `out' (a message rewritten whole),
 * then `fwd' bytes at buf + off (as they were read); what the proxy
 * spliced is the proxy's.  A body passes by Content-Length or chunk
 * framing: what is buffered goes first, then the rest straight through,
 * and framing is read a little at a time so that chunk data is spliced,
 * not copied.  A message to rewrite is held whole in buf until its body
 * is complete.
 */
#include <stdlib.h>
#include <string.h>

#include "wire/http.h"
#include "wire/stream.h"

/* The buffer goes: its bytes go back to the budget. */
static void
stream_unhold(struct http_stream *s)
{
	if (s->budget != NULL)
		s->budget->held -= s->cap;
	free(s->buf);
}

void
http_stream_free(struct http_stream *s)
{
	stream_unhold(s);
	free(s->out);
	s->buf = s->out = NULL;
	s->off = s->len = s->cap = s->fwd = s->out_off = s->out_len = 0;
}

void
http_stream_release(struct http_stream *s)
{
	if (s->off < s->len || s->fwd > 0)
		return;
	stream_unhold(s);
	s->buf = NULL;
	s->off = s->len = s->cap = 0;
}

bool
http_stream_room(struct http_stream *s, size_t limit, size_t first,
    size_t most, char **data, size_t *len)
{
	if (s->off > 0) {
		memmove(s->buf, s->buf + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
	}
	if (s->len == s->cap) {
		if (s->cap >= limit)
			return false;
		size_t cap = s->cap == 0 ? first : s->cap * 2;
		if (cap > limit)
			cap = limit;
		struct http_budget *b = s->budget;
		s->over_budget = b != NULL && b->max > 0 &&
		    (b->held > b->max || cap - s->cap > b->max - b->held);
		if (s->over_budget)
			return false;
		char *grown = realloc(s->buf, cap);
		if (grown == NULL)
			return false;
		if (b != NULL)
			b->held += cap - s->cap;
		s->buf = grown;
		s->cap = cap;
	}
	*data = s->buf + s->len;
	*len = s->cap - s->len < most ? s->cap - s->len : most;
	return true;
}

bool
http_stream_output(const struct http_stream *s, char **data, size_t *len)
{
	if (s->out_off < s->out_len) {
		*data = s->out + s->out_off;
		*len = s->out_len - s->out_off;
		return true;
	}
	if (s->fwd == 0)
		return false;
	*data = s->buf + s->off;
	*len = s->fwd;
	return true;
}

bool
http_stream_has_output(const struct http_stream *s)
{
	return s->fwd > 0 || s->out_off < s->out_len;
}

void
http_stream_sent(struct http_stream *s, const char *data, size_t n)
{
	if (s->out != NULL && data == s->out + s->out_off) {
		s->out_off += n;
		if (s->out_off == s->out_len) {
			free(s->out);
			s->out = NULL;
			s->out_off = s->out_len = 0;
		}
	} else {
		s->off += n;
		s->fwd -= n;
	}
}

void
http_stream_forward_all(struct http_stream *s)
{
	s->fwd = s->len - s->off;
}

void
http_stream_pass_body(struct http_stream *s, enum http_framing framing,
    uint64_t length)
{
	s->body = framing;
	s->body_left = length;
	http_chunked_init(&s->chunked);
}

enum http_stream_step
http_stream_body_step(struct http_stream *s, uint64_t *left, char *why,
    size_t whylen)
{
	size_t avail = s->len - s->off;
	if (s->body != HTTP_BODY_CHUNKED) {
		if (s->body_left == 0)
			return HTTP_STREAM_END;
		if (avail > 0) {
			s->fwd = avail < s->body_left ? avail :
			    (size_t)s->body_left;
			s->body_left -= s->fwd;
			return HTTP_STREAM_SEND;
		}
		*left = s->body_left;
		return HTTP_STREAM_SPLICE;
	}
	if (avail > 0) {
		size_t used;
		enum http_chunk_step c = http_chunked_feed(&s->chunked,
		    s->buf + s->off, avail, &used, why, whylen);
		if (c == HTTP_CHUNK_BAD)
			return HTTP_STREAM_BAD;
		s->fwd = used;
		if (c == HTTP_CHUNK_DONE) {
			/* The rest of this message goes, then the next. */
			s->body = HTTP_BODY_LENGTH;
			s->body_left = 0;
		} else if (c == HTTP_CHUNK_DATA && avail > used) {
			size_t take = avail - used < s->chunked.left ?
			    avail - used : (size_t)s->chunked.left;
			s->fwd += take;
			http_chunked_take(&s->chunked, take);
		}
		return HTTP_STREAM_SEND;
	}
	*left = http_chunked_data_left(&s->chunked);
	return *left == 0 ? HTTP_STREAM_FRAMING : HTTP_STREAM_SPLICE;
}

void
http_stream_spliced(struct http_stream *s, size_t n)
{
	if (s->body == HTTP_BODY_CHUNKED)
		http_chunked_take(&s->chunked, n);
	else
		s->body_left -= n;
}

void
http_stream_hold_chunked(struct http_stream *s, size_t head_len)
{
	s->body = HTTP_BODY_CHUNKED;	/* if it is passed on after all */
	s->scan = head_len;
	http_chunked_init(&s->chunked);
}

enum http_chunk_step
http_stream_scan(struct http_stream *s, char *why, size_t whylen)
{
	size_t have = s->len - s->off;
	for (;;) {
		size_t avail = have - s->scan, used;
		enum http_chunk_step c = http_chunked_feed(&s->chunked,
		    s->buf + s->off + s->scan, avail, &used, why, whylen);
		s->scan += used;
		if (c == HTTP_CHUNK_DONE || c == HTTP_CHUNK_BAD)
			return c;
		if (c == HTTP_CHUNK_MORE || avail == used)
			return HTTP_CHUNK_MORE;
		size_t take = avail - used < s->chunked.left ?
		    avail - used : (size_t)s->chunked.left;
		s->scan += take;
		http_chunked_take(&s->chunked, take);
	}
}

const char *
http_stream_held_body(const struct http_stream *s, size_t head_len,
    size_t raw_len, bool chunked, size_t max, char **decoded, size_t *len,
    char *why, size_t whylen)
{
	const char *raw = s->buf + s->off + head_len;
	*decoded = NULL;
	*len = raw_len - head_len;
	if (!chunked)
		return raw;
	if (http_chunked_decode(raw, raw_len - head_len, max, decoded, len,
	    why, whylen) < 0) {
		*decoded = NULL;
		return NULL;
	}
	return *decoded;
}

bool
http_stream_replace(struct http_stream *s, const char *head,
    const struct http_head *h, size_t raw_len, char *body, size_t blen)
{
	size_t hlen;
	char *nh = http_head_with_length(head, h, blen, &hlen);
	char *out = nh != NULL ? realloc(nh, hlen + blen) : NULL;
	if (out == NULL) {
		free(nh);
		free(body);
		return false;
	}
	memcpy(out + hlen, body, blen);
	free(body);
	s->out = out;
	s->out_off = 0;
	s->out_len = hlen + blen;
	s->off += raw_len;		/* the original is replaced */
	return true;
}
