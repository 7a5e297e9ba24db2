/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_WIRE_STREAM_H
#define WDA_WIRE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/http.h"

/*
 * stream.c: one direction of a followed connection as both followers
 * (request.c, reply.c) keep it: the bytes read and not yet handled, what
 * goes on next (bytes as they were read, or a message rewritten), and the
 * body being passed on by its framing.  Pure.
 */
#define HTTP_STREAM_BUF_FIRST	(16 * 1024)	/* a head's first buffer */

/*
 * What all the streams given one budget hold, together: a buffer grows
 * only while the sum stays within max (0: no budget).  One proxy's
 * followers share one, so no client can make the agent hold more.
 */
struct http_budget {
	size_t		 held, max;
};

struct http_stream {
	char		*buf;		/* read, not yet handled */
	size_t		 off, len, cap;
	size_t		 fwd;		/* bytes at buf + off to send as read */
	char		*out;		/* a rewritten message, to send */
	size_t		 out_off, out_len;
	enum http_framing body;		/* of the body being passed on */
	uint64_t	 body_left;	/* LENGTH: its bytes still to come */
	struct http_chunked chunked;	/* CHUNKED: its framing so far */
	size_t		 scan;		/* a held message: bytes seen so far */
	struct http_budget *budget;	/* shared, or NULL */
	bool		 over_budget;	/* the last room refused: budget */
};
void	http_stream_free(struct http_stream *);
/* Nothing unhandled: give the buffer back (idle keep-alive connections). */
void	http_stream_release(struct http_stream *);
/*
 * Room to read at most `most' more bytes into: *data, *len.  The buffer
 * never holds more than `limit', and starts at `first' bytes; false past
 * the limit, past the budget (over_budget is then set) or out of memory.
 */
bool	http_stream_room(struct http_stream *, size_t limit, size_t first,
	    size_t most, char **data, size_t *len);

/* What goes on next: a rewritten message, else bytes as read. */
bool	http_stream_output(const struct http_stream *, char **data,
	    size_t *len);
bool	http_stream_has_output(const struct http_stream *);
/* n bytes of the output at data went. */
void	http_stream_sent(struct http_stream *, const char *data, size_t n);
/* The rest goes as it is: all that is buffered. */
void	http_stream_forward_all(struct http_stream *);

/* Pass on a body: `length' bytes (LENGTH), or by its chunked framing. */
void	http_stream_pass_body(struct http_stream *, enum http_framing,
	    uint64_t length);
enum http_stream_step {
	HTTP_STREAM_SEND,	/* fwd bytes of it, buffered, go on */
	HTTP_STREAM_END,	/* the body is through */
	HTTP_STREAM_BAD,	/* malformed chunked framing: why says */
	HTTP_STREAM_FRAMING,	/* chunk framing next: read a little */
	HTTP_STREAM_SPLICE,	/* *left bytes of it come next, unbuffered */
};
enum http_stream_step http_stream_body_step(struct http_stream *,
	    uint64_t *left, char *why, size_t whylen);
/* After a SPLICE: n bytes of the body went straight through. */
void	http_stream_spliced(struct http_stream *, size_t n);

/*
 * Hold a chunked message whose head is head_len bytes at buf + off, and
 * follow its framing over what has come: DONE when it is whole (scan
 * bytes from off), MORE, BAD (why says).
 */
void	http_stream_hold_chunked(struct http_stream *, size_t head_len);
enum http_chunk_step http_stream_scan(struct http_stream *, char *why,
	    size_t whylen);
/*
 * The body of the held message at buf + off (raw_len bytes, head_len of
 * them its head), decoded if chunked (*decoded, malloc'd, then holds it):
 * NULL when its chunked framing cannot be decoded within max (why says).
 */
const char *http_stream_held_body(const struct http_stream *,
	    size_t head_len, size_t raw_len, bool chunked, size_t max,
	    char **decoded, size_t *len, char *why, size_t whylen);
/*
 * Replace the held message at buf + off (raw_len bytes, head h): the same
 * head framed for body (blen bytes, taken and freed) goes out instead.
 * False out of memory: nothing changed.
 */
bool	http_stream_replace(struct http_stream *, const char *head,
	    const struct http_head *h, size_t raw_len, char *body,
	    size_t blen);

#endif
