/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Just enough HTTP/1.1 (RFC 9112) for the proxy to find where each
 * request and each answer on a docker API connection ends: request and
 * response heads, Content-Length and chunked framing, and the few heads
 * it writes itself (a rewritten body's new framing, an error reply).
 * Everything here is pure: bytes in, decisions out, no I/O and no state
 * outside the structs the caller owns, so a fuzzer can drive it.  What
 * the requests mean to Docker is routes.c's.
 *
 * The parser is strict where framing is at stake (a proxy and the engine
 * must agree on where a request ends) and lenient elsewhere, like Go's
 * net/http that serves the engine: bare LF line ends are accepted, header
 * names are matched without regard to case.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "wire/http.h"

#define HTTP_REASON_MAX	64

/* ------------------------------------------------------------------ */
/* Small text helpers over (pointer, length) spans. */

static bool
http_ieq(const char *a, size_t alen, const char *lit)
{
	size_t n = strlen(lit);
	if (alen != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = a[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return false;
	}
	return true;
}

static bool
http_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim optional white space on both ends of [*p, *p + *n). */
static void
http_trim(const char **p, size_t *n)
{
	while (*n > 0 && http_is_ows(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && http_is_ows((*p)[*n - 1]))
		(*n)--;
}

static bool
http_is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/*
 * Does a comma-separated header value hold `token' (any case)?  Used for
 * Connection: keep-alive, close, upgrade.
 */
bool
http_list_has(const char *v, size_t n, const char *token)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && v[j] != ',')
			j++;
		const char *e = v + i;
		size_t en = j - i;
		http_trim(&e, &en);
		if (http_ieq(e, en, token))
			return true;
		i = j + 1;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* The request head. */

void
http_head_parser_init(struct http_head_parser *p)
{
	p->scanned = 0;
}

/*
 * Where does the head end?  The first empty line, after CRLF or a bare
 * LF.  Returns the length of the head including that line, or 0.
 */
static size_t
http_head_end(struct http_head_parser *p, const char *buf, size_t len)
{
	/* Resume a little before where the last call stopped. */
	size_t i = p->scanned > 3 ? p->scanned - 3 : 0;
	for (; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		/* An LF ending an empty line: the one before ended a line. */
		if (i >= 1 && buf[i - 1] == '\n')
			return i + 1;
		if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')
			return i + 1;
	}
	p->scanned = len;
	return 0;
}

/* A head the parser cannot follow: the engine will say what is wrong. */
static enum http_result
http_opaque(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return HTTP_OPAQUE;
}

/* Framing the proxy and the engine could read differently: refused. */
static enum http_result
http_bad(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return HTTP_BAD;
}

/* Strict decimal, as Content-Length must be; no sign, no overflow. */
static bool
http_parse_length(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return true;
}

/* "GET /path HTTP/1.1" */
static enum http_result
http_parse_request_line(const char *line, size_t n, struct http_head *h,
    char *why, size_t whylen)
{
	const char *sp1 = memchr(line, ' ', n);
	if (sp1 == NULL || sp1 == line)
		return http_opaque(why, whylen, "malformed request line");
	size_t mlen = (size_t)(sp1 - line);
	if (mlen >= sizeof h->method)
		return http_opaque(why, whylen, "method too long");
	for (size_t i = 0; i < mlen; i++)
		if (!http_is_tchar(line[i]))
			return http_opaque(why, whylen, "malformed method");
	memcpy(h->method, line, mlen);
	h->method[mlen] = '\0';
	const char *t = sp1 + 1;
	const char *end = line + n;
	const char *sp2 = memchr(t, ' ', (size_t)(end - t));
	if (sp2 == NULL || sp2 == t)
		return http_opaque(why, whylen, "malformed request line");
	for (const char *q = t; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return http_opaque(why, whylen, "control character in "
			    "the request target");
	h->target_off = (size_t)(t - line);
	h->target_len = (size_t)(sp2 - t);
	const char *v = sp2 + 1;
	if (end - v != 8 || memcmp(v, "HTTP/1.", 7) != 0 || v[7] < '0' ||
	    v[7] > '9')
		return http_opaque(why, whylen, "not an HTTP/1.x request");
	h->minor = v[7] - '0';
	return HTTP_DONE;
}

struct http_fields {
	bool	 have_length;
	bool	 have_te;
	bool	 te_chunked;
	bool	 conn_close;
	bool	 conn_keep_alive;
	bool	 conn_upgrade;
	bool	 have_upgrade;
};

static enum http_result
http_parse_field(const char *line, size_t n, struct http_head *h,
    struct http_fields *f, char *why, size_t whylen)
{
	const char *colon = memchr(line, ':', n);
	if (colon == NULL || colon == line)
		return http_opaque(why, whylen, "malformed header line");
	size_t nlen = (size_t)(colon - line);
	for (size_t i = 0; i < nlen; i++)
		if (!http_is_tchar(line[i]))
			return http_opaque(why, whylen, "malformed header name "
			    "(white space before the colon?)");
	const char *v = colon + 1;
	size_t vn = n - nlen - 1;
	http_trim(&v, &vn);
	for (size_t i = 0; i < vn; i++)
		if (v[i] == '\0' || v[i] == '\r' || v[i] == '\n')
			return http_opaque(why, whylen, "control character in a "
			    "header value");
	if (http_ieq(line, nlen, "content-length")) {
		uint64_t len;
		if (!http_parse_length(v, vn, &len))
			return http_bad(why, whylen, "Content-Length is not a "
			    "number");
		if (f->have_length && len != h->length)
			return http_bad(why, whylen, "two different "
			    "Content-Length headers");
		f->have_length = true;
		h->length = len;
	} else if (http_ieq(line, nlen, "transfer-encoding")) {
		if (f->have_te || !http_ieq(v, vn, "chunked"))
			return http_bad(why, whylen, "Transfer-Encoding other "
			    "than one \"chunked\" is not supported");
		f->have_te = true;
		f->te_chunked = true;
	} else if (http_ieq(line, nlen, "connection")) {
		f->conn_close |= http_list_has(v, vn, "close");
		f->conn_keep_alive |= http_list_has(v, vn, "keep-alive");
		f->conn_upgrade |= http_list_has(v, vn, "upgrade");
	} else if (http_ieq(line, nlen, "upgrade")) {
		f->have_upgrade = vn > 0;
	} else if (http_ieq(line, nlen, "expect")) {
		h->expect_continue = http_ieq(v, vn, "100-continue");
	}
	return HTTP_DONE;
}

enum http_result
http_head_parse(struct http_head_parser *p, const char *buf, size_t len,
    struct http_head *h, char *why, size_t whylen)
{
	size_t end = http_head_end(p, buf, len > HTTP_HEAD_MAX ?
	    HTTP_HEAD_MAX : len);
	if (end == 0) {
		/* Not HTTP at all?  Say so as soon as its first line is whole. */
		size_t pos = 0, scan = len > HTTP_HEAD_MAX ? HTTP_HEAD_MAX : len;
		while (pos < scan && (buf[pos] == '\r' || buf[pos] == '\n'))
			pos++;
		const char *nl = pos < scan ? memchr(buf + pos, '\n', scan - pos) :
		    NULL;
		if (nl != NULL) {
			size_t n = (size_t)(nl - (buf + pos));
			if (n > 0 && buf[pos + n - 1] == '\r')
				n--;
			struct http_head tmp;
			if (http_parse_request_line(buf + pos, n, &tmp, why,
			    whylen) != HTTP_DONE)
				return HTTP_OPAQUE;
		}
		if (len >= HTTP_HEAD_MAX) {
			snprintf(why, whylen, "request head longer than %d "
			    "bytes", HTTP_HEAD_MAX);
			return HTTP_TOO_LARGE;
		}
		return HTTP_MORE;
	}
	memset(h, 0, sizeof *h);
	h->len = end;
	struct http_fields f = { 0 };
	size_t pos = 0;
	bool first = true;
	/* RFC 9112 2.2: ignore empty lines before the request line. */
	while (pos < end && (buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	if (pos == end)
		return http_opaque(why, whylen, "empty request");
	while (pos < end) {
		const char *nl = memchr(buf + pos, '\n', end - pos);
		size_t n = (size_t)(nl - (buf + pos));
		const char *line = buf + pos;
		pos += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break;		/* the blank line */
		if (memchr(line, '\r', n) != NULL)
			return http_opaque(why, whylen, "bare CR in the head");
		enum http_result r;
		if (first) {
			r = http_parse_request_line(line, n, h, why, whylen);
			h->target_off += (size_t)(line - buf);
			first = false;
		} else if (http_is_ows(line[0]))
			return http_opaque(why, whylen, "obsolete line folding");
		else
			r = http_parse_field(line, n, h, &f, why, whylen);
		if (r != HTTP_DONE)
			return r;
	}
	if (f.have_length && f.have_te)
		return http_bad(why, whylen, "both Content-Length and "
		    "Transfer-Encoding");
	if (f.te_chunked)
		h->framing = HTTP_BODY_CHUNKED;
	else if (f.have_length && h->length > 0)
		h->framing = HTTP_BODY_LENGTH;
	else
		h->framing = HTTP_BODY_NONE;
	h->upgrade = (f.conn_upgrade && f.have_upgrade) ||
	    strcmp(h->method, "CONNECT") == 0;
	h->close = f.conn_close || (h->minor == 0 && !f.conn_keep_alive);
	return HTTP_DONE;
}

/* ------------------------------------------------------------------ */
/* Response heads. */

/* "HTTP/1.1 200 OK" */
static bool
http_status_line(const char *line, size_t n, int *status)
{
	if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || line[7] < '0' ||
	    line[7] > '9' || line[8] != ' ' || (n > 12 && line[12] != ' '))
		return false;
	int s = 0;
	for (int i = 9; i < 12; i++) {
		if (line[i] < '0' || line[i] > '9')
			return false;
		s = s * 10 + (line[i] - '0');
	}
	*status = s;
	return s >= 100;
}

/* application/json, with parameters or none. */
static bool
http_is_json(const char *v, size_t n)
{
	static const char type[] = "application/json";
	size_t tl = sizeof type - 1;
	return n >= tl && strncasecmp(v, type, tl) == 0 &&
	    (n == tl || v[tl] == ';' || v[tl] == ' ' || v[tl] == '\t');
}

/* One header line of an answer; false for one not to follow. */
static bool
http_response_field(const char *line, size_t n, struct http_response *r,
    bool *have_length, bool *have_te)
{
	const char *colon = memchr(line, ':', n);
	if (colon == NULL || colon == line || http_is_ows(line[0]))
		return false;
	size_t nl = (size_t)(colon - line), vn = n - nl - 1;
	const char *v = colon + 1;
	http_trim(&v, &vn);
	if (http_ieq(line, nl, "content-length")) {
		uint64_t len;
		if (!http_parse_length(v, vn, &len) || (*have_length &&
		    len != r->length))
			return false;
		*have_length = true;
		r->length = len;
	} else if (http_ieq(line, nl, "transfer-encoding")) {
		if (*have_te || !http_ieq(v, vn, "chunked"))
			return false;
		*have_te = true;
	} else if (http_ieq(line, nl, "content-type"))
		r->json = http_is_json(v, vn);
	return true;
}

enum http_result
http_response_parse(struct http_head_parser *p, const char *buf, size_t len,
    struct http_response *r)
{
	size_t scan = len > HTTP_HEAD_MAX ? HTTP_HEAD_MAX : len;
	size_t end = http_head_end(p, buf, scan);
	if (end == 0) {
		if (memcmp(buf, "HTTP/", scan < 5 ? scan : 5) != 0)
			return HTTP_OPAQUE;
		return len >= HTTP_HEAD_MAX ? HTTP_TOO_LARGE : HTTP_MORE;
	}
	memset(r, 0, sizeof *r);
	r->len = end;
	bool first = true, have_length = false, have_te = false;
	for (size_t pos = 0; pos < end;) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', end - pos);
		size_t n = (size_t)(nl - line);
		pos += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0 && !first)
			break;
		if (memchr(line, '\r', n) != NULL)
			return HTTP_OPAQUE;
		if (first ? !http_status_line(line, n, &r->status) :
		    !http_response_field(line, n, r, &have_length, &have_te))
			return HTTP_OPAQUE;
		first = false;
	}
	if (have_length && have_te)
		return HTTP_OPAQUE;
	if (have_te)
		r->framing = HTTP_BODY_CHUNKED;
	else if (have_length)
		r->framing = r->length > 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
	else
		r->until_close = true;
	return HTTP_DONE;
}

/* ------------------------------------------------------------------ */
/* The request-target. */


static int
http_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
http_target_path(const struct http_head *h, const char *buf, char *out,
    size_t outlen)
{
	const char *t = buf + h->target_off;
	size_t n = h->target_len, i = 0, o = 0;
	if (n > 7 && (memcmp(t, "http://", 7) == 0 ||
	    (n > 8 && memcmp(t, "https://", 8) == 0))) {
		i = t[4] == 's' ? 8 : 7;
		while (i < n && t[i] != '/' && t[i] != '?')
			i++;
	}
	for (; i < n && t[i] != '?' && t[i] != '#' && o + 1 < outlen; i++) {
		int hi, lo;
		if (t[i] == '%' && i + 2 < n && (hi = http_hex(t[i + 1])) >= 0 &&
		    (lo = http_hex(t[i + 2])) >= 0) {
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else
			out[o++] = t[i];
	}
	out[o] = '\0';
	return o;
}

/* ------------------------------------------------------------------ */
/* Chunked transfer coding (RFC 9112 7.1), followed without decoding. */

enum {
	CH_SIZE,	/* in a chunk-size line */
	CH_DATA,	/* in chunk data (left bytes) */
	CH_DATA_CR,	/* after data: CR */
	CH_DATA_LF,	/* after data: LF */
	CH_TRAILER,	/* in the trailer section, at a line start */
	CH_TRAILER_LINE,
	CH_DONE,
	CH_BAD,
};

/* A chunk bigger than this is nonsense and would overflow counters. */
#define HTTP_CHUNK_SIZE_MAX	(UINT64_C(1) << 60)

void
http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof *c);
	c->state = CH_SIZE;
}

/* The size line ended: data follows, or the trailers after the last. */
static void
http_chunk_size_done(struct http_chunked *c)
{
	c->line = 0;
	c->digits = false;
	c->in_ext = false;
	c->bws = false;
	c->cr = false;
	c->state = c->left > 0 ? CH_DATA : CH_TRAILER;
}

/* One byte of a chunk-size line; an error message, or NULL. */
static const char *
http_chunk_size_char(struct http_chunked *c, char ch)
{
	if (++c->line > HTTP_CHUNK_LINE_MAX)
		return "chunk-size line too long";
	if (c->cr && ch != '\n')
		return "bare CR in a chunk-size line";
	if (ch == '\n') {
		if (!c->digits)
			return "chunk size missing";
		http_chunk_size_done(c);
	} else if (ch == '\r')
		c->cr = true;
	else if (c->in_ext) {
		if (ch == '\0')
			return "NUL in a chunk extension";
	} else if (http_hex(ch) >= 0) {
		if (c->bws)
			return "white space inside a chunk size";
		if (c->left > (HTTP_CHUNK_SIZE_MAX >> 4))
			return "chunk size too large";
		c->left = c->left * 16 + (uint64_t)http_hex(ch);
		c->digits = true;
	} else if (ch == ';' && c->digits)
		c->in_ext = true;
	else if (http_is_ows(ch) && c->digits)
		c->bws = true;		/* BWS before ';' or the end */
	else
		return "bad character in a chunk size";
	return NULL;
}

/* One byte of the trailer section. */
static void
http_chunk_trailer_char(struct http_chunked *c, char ch)
{
	if (ch == '\n')
		c->state = c->state == CH_TRAILER ? CH_DONE : CH_TRAILER;
	else if (ch != '\r' || c->state == CH_TRAILER_LINE)
		c->state = CH_TRAILER_LINE;
}

enum http_chunk_step
http_chunked_feed(struct http_chunked *c, const char *buf, size_t len,
    size_t *used, char *why, size_t whylen)
{
	size_t i = 0;
	const char *err = NULL;
	*used = 0;
	switch (c->state) {
	case CH_DATA:
		return HTTP_CHUNK_DATA;		/* the caller takes it first */
	case CH_DONE:
		return HTTP_CHUNK_DONE;
	case CH_BAD:
		snprintf(why, whylen, "malformed chunked body");
		return HTTP_CHUNK_BAD;
	}
	for (; i < len && err == NULL; i++) {
		char ch = buf[i];
		switch (c->state) {
		case CH_SIZE:
			err = http_chunk_size_char(c, ch);
			break;
		case CH_DATA_CR:
			if (ch != '\r')
				err = "no CRLF after chunk data";
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				err = "no CRLF after chunk data";
			c->state = CH_SIZE;
			break;
		case CH_TRAILER:
		case CH_TRAILER_LINE:
			if (++c->trailer > HTTP_HEAD_MAX)
				err = "trailers too long";
			else
				http_chunk_trailer_char(c, ch);
			break;
		}
		/* Data next (the caller takes it), or the end: stop here. */
		if (err == NULL && (c->state == CH_DATA || c->state == CH_DONE)) {
			i++;
			break;
		}
	}
	if (err != NULL) {
		*used = i - 1;
		c->state = CH_BAD;
		snprintf(why, whylen, "malformed chunked body: %s", err);
		return HTTP_CHUNK_BAD;
	}
	*used = i;
	if (c->state == CH_DATA)
		return HTTP_CHUNK_DATA;
	if (c->state == CH_DONE)
		return HTTP_CHUNK_DONE;
	return HTTP_CHUNK_MORE;
}

void
http_chunked_take(struct http_chunked *c, uint64_t n)
{
	if (c->state != CH_DATA || n > c->left)
		return;
	c->left -= n;
	if (c->left == 0)
		c->state = CH_DATA_CR;
}

uint64_t
http_chunked_data_left(const struct http_chunked *c)
{
	return c->state == CH_DATA ? c->left : 0;
}

int
http_chunked_decode(const char *buf, size_t len, size_t max, char **out,
    size_t *outlen, char *why, size_t whylen)
{
	struct http_chunked c;
	size_t cap = len < max ? len : max, n = 0, pos = 0;
	char *data = malloc(cap + 1);
	if (data == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	http_chunked_init(&c);
	for (;;) {
		size_t used;
		enum http_chunk_step s = http_chunked_feed(&c, buf + pos,
		    len - pos, &used, why, whylen);
		pos += used;
		if (s == HTTP_CHUNK_DONE)
			break;
		if (s == HTTP_CHUNK_BAD)
			goto fail;
		if (s == HTTP_CHUNK_MORE || pos == len) {
			snprintf(why, whylen, "malformed chunked body: it ends "
			    "early");
			goto fail;
		}
		size_t take = len - pos < c.left ? len - pos : (size_t)c.left;
		if (n + take > max) {
			snprintf(why, whylen, "body larger than %zu bytes", max);
			goto fail;
		}
		memcpy(data + n, buf + pos, take);
		n += take;
		pos += take;
		http_chunked_take(&c, take);
	}
	data[n] = '\0';
	*out = data;
	*outlen = n;
	return 0;
fail:
	free(data);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Writing heads and replies. */

char *
http_head_with_length(const char *head, const struct http_head *h,
    uint64_t body_len, size_t *outlen)
{
	/*
	 * Same lines, less the framing ones, plus a new Content-Length.  A
	 * line that ended in a bare LF grows by its CR: at most doubled.
	 */
	size_t cap = 2 * h->len + 64;
	char *out = malloc(cap);
	if (out == NULL)
		return NULL;
	size_t o = 0, pos = 0;
	bool first = true;
	while (pos < h->len) {
		const char *line = head + pos;
		const char *nl = memchr(line, '\n', h->len - pos);
		size_t full = (size_t)(nl - line) + 1;
		size_t n = full - 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		pos += full;
		if (n == 0 && !first)
			break;
		if (n == 0)
			continue;	/* empty lines before the request line */
		const char *colon = first ? NULL : memchr(line, ':', n);
		first = false;
		/* The body comes along: no 100-continue to wait for. */
		if (colon != NULL &&
		    (http_ieq(line, (size_t)(colon - line), "content-length") ||
		    http_ieq(line, (size_t)(colon - line), "transfer-encoding") ||
		    http_ieq(line, (size_t)(colon - line), "expect")))
			continue;
		memcpy(out + o, line, n);
		o += n;
		out[o++] = '\r';
		out[o++] = '\n';
	}
	int w = snprintf(out + o, cap - o, "Content-Length: %llu\r\n\r\n",
	    (unsigned long long)body_len);
	*outlen = o + (size_t)w;
	return out;
}

static const char *
http_reason(int status)
{
	switch (status) {
	case 400:	return "Bad Request";
	case 500:	return "Internal Server Error";
	default:	return "Error";
	}
}

char *
http_error_reply(int status, const char *message, size_t *outlen)
{
	struct json_object *o = json_object_new_object();
	if (o == NULL)
		return NULL;
	json_object_object_add(o, "message", json_object_new_string(message));
	const char *body = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t blen = strlen(body) + 1;		/* the engine ends it in LF */
	size_t cap = blen + 256;
	char *out = malloc(cap);
	if (out != NULL) {
		int w = snprintf(out, cap, "HTTP/1.1 %d %s\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
		    status, http_reason(status), blen, body);
		*outlen = (size_t)w;
	}
	json_object_put(o);
	return out;
}
