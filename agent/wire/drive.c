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

/* A stream in memory: the input read in pieces, the other side's view. */
struct drive {
	const char	*in;
	size_t		 len, pos;
	size_t		 most, piece;	/* this read's most, the next ones' */
	char		*out;
	size_t		 olen, cap;
	bool		 ok;		/* false: out of memory */
};

static void
drive_init(struct drive *d, const char *in, size_t len, size_t first,
    size_t piece)
{
	*d = (struct drive){ in, len, 0, first, piece, malloc(1), 0, 1,
	    true };
	d->ok = d->out != NULL;
}

static void
drive_append(struct drive *d, const char *p, size_t n)
{
	if (!d->ok)
		return;
	if (d->olen + n > d->cap) {
		size_t c = d->cap;
		while (c < d->olen + n)
			c *= 2;
		char *grown = realloc(d->out, c);
		if (grown == NULL) {
			d->ok = false;
			return;
		}
		d->out = grown;
		d->cap = c;
	}
	if (n > 0)
		memcpy(d->out + d->olen, p, n);
	d->olen += n;
}

/*
 * A READ into data (or a SPLICE, data NULL, to the view) of at most len
 * bytes: how many came; 0 when the input is over.
 */
static size_t
drive_take(struct drive *d, char *data, size_t len)
{
	size_t n = d->len - d->pos < d->most ? d->len - d->pos : d->most;
	if (n > len)
		n = len;
	if (data != NULL)
		memcpy(data, d->in + d->pos, n);
	else
		drive_append(d, d->in + d->pos, n);
	d->pos += n;
	if (n > 0)
		d->most = d->piece;
	return n;
}

/* The rest of the input as it is: the view, malloc'd (NULL: no memory). */
static char *
drive_end(struct drive *d, bool rest, size_t *outlen)
{
	if (rest)
		drive_append(d, d->in + d->pos, d->len - d->pos);
	if (!d->ok) {
		free(d->out);
		return NULL;
	}
	*outlen = d->olen;
	return d->out;
}

char *
http_reply_run(struct http_reply *r, const char *in, size_t len,
    size_t first, size_t piece, http_reply_fn fn, void *arg, size_t *outlen)
{
	struct drive d;
	drive_init(&d, in, len, first, piece);
	while (d.ok) {
		struct http_reply_action a;
		size_t n;
		http_reply_next(r, fn, arg, &a);
		switch (a.what) {
		case HTTP_REPLY_READ:
		case HTTP_REPLY_SPLICE:
			n = drive_take(&d, a.what == HTTP_REPLY_READ ? a.data :
			    NULL, a.len);
			if (n == 0)
				http_reply_ended(r);
			else
				http_reply_done(r, &a, n);
			break;
		case HTTP_REPLY_SEND:
			drive_append(&d, a.data, a.len);
			http_reply_done(r, &a, a.len);
			break;
		case HTTP_REPLY_OPAQUE:
			return drive_end(&d, true, outlen);
		}
	}
	return drive_end(&d, false, outlen);
}

char *
http_request_run(struct http_request *r, const char *in, size_t len,
    size_t first, size_t piece, const struct http_caller *caller,
    http_bind_fn fn, void *arg, size_t *outlen)
{
	struct drive d;
	drive_init(&d, in, len, first, piece);
	while (d.ok) {
		struct http_request_action a;
		size_t n;
		http_request_next(r, fn != NULL, &a);
		switch (a.what) {
		case HTTP_REQUEST_READ:
		case HTTP_REQUEST_SPLICE:
			n = drive_take(&d, a.what == HTTP_REQUEST_READ ?
			    a.data : NULL, a.len);
			if (n == 0)
				http_request_ended(r);
			else
				http_request_done(r, &a, n);
			break;
		case HTTP_REQUEST_SEND:
			drive_append(&d, a.data, a.len);
			http_request_done(r, &a, a.len);
			break;
		case HTTP_REQUEST_REWRITE:
			/* "Not yet": asked again at the next step, whole. */
			(void)http_request_rewrite(r, caller, fn, arg, &a);
			break;
		case HTTP_REQUEST_REFUSE:
			return drive_end(&d, false, outlen);
		case HTTP_REQUEST_BLIND:
			return drive_end(&d, true, outlen);
		}
	}
	return drive_end(&d, false, outlen);
}
