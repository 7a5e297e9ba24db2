/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Both followers driven over a whole stream in memory, as the proxy
 * drives them over sockets: reads take the bytes that came in pieces of
 * a chosen size, splices and sends go to the other side's view.  The
 * unit tests split streams at every byte boundary with these, and the
 * fuzzers feed them anything.
 */
#include <stdlib.h>
#include <string.h>

#include "wire/create.h"
#include "wire/reply.h"
#include "wire/request.h"

static bool
drive_append(char **out, size_t *len, size_t *cap, const char *p, size_t n)
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
				ok = drive_append(&out, &olen, &cap, in + pos,
				    n);
			pos += n;
			most = piece;
			http_reply_done(r, &a, n);
			break;
		case HTTP_REPLY_SEND:
			ok = drive_append(&out, &olen, &cap, a.data, a.len);
			http_reply_done(r, &a, a.len);
			break;
		case HTTP_REPLY_OPAQUE:
			ok = drive_append(&out, &olen, &cap, in + pos,
			    len - pos);
			*outlen = olen;
			return ok ? out : (free(out), NULL);
		}
	}
	free(out);
	return NULL;
}

char *
http_request_run(struct http_request *r, const char *in, size_t len,
    size_t first, size_t piece, const struct http_caller *caller,
    http_bind_fn fn, void *arg, size_t *outlen)
{
	char *out = NULL;
	size_t olen = 0, cap = 0, pos = 0, most = first;
	bool ok = (out = malloc(1)) != NULL;
	cap = 1;
	while (ok) {
		struct http_request_action a;
		http_request_next(r, fn != NULL, &a);
		size_t n = len - pos < most ? len - pos : most;
		if (a.what != HTTP_REQUEST_SEND && n > a.len)
			n = a.len;
		switch (a.what) {
		case HTTP_REQUEST_READ:
		case HTTP_REQUEST_SPLICE:
			if (n == 0) {
				http_request_ended(r);
				continue;
			}
			if (a.what == HTTP_REQUEST_READ)
				memcpy(a.data, in + pos, n);
			else
				ok = drive_append(&out, &olen, &cap, in + pos,
				    n);
			pos += n;
			most = piece;
			http_request_done(r, &a, n);
			break;
		case HTTP_REQUEST_SEND:
			ok = drive_append(&out, &olen, &cap, a.data, a.len);
			http_request_done(r, &a, a.len);
			break;
		case HTTP_REQUEST_REWRITE:
			http_request_rewrite(r, caller, fn, arg, &a);
			break;
		case HTTP_REQUEST_REFUSE:
			*outlen = olen;
			return out;
		case HTTP_REQUEST_BLIND:
			ok = drive_append(&out, &olen, &cap, in + pos,
			    len - pos);
			*outlen = olen;
			return ok ? out : (free(out), NULL);
		}
	}
	free(out);
	return NULL;
}
