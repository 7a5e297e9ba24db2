/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_WIRE_REPLY_H
#define WDA_WIRE_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "wire/http.h"
#include "wire/routes.h"
#include "wire/stream.h"

/*
 * reply.c: the engine -> client direction of a followed connection:
 * responses are paired, in order, with the requests the proxy saw; the
 * answers their route holds (routes.h), in JSON, are held (up to
 * HTTP_REPLY_BODY_MAX) and their exposure paths turned back into the
 * user's own.  Everything else passes byte for byte.  Pure: the proxy
 * does the I/O the follower asks for.
 */
#define HTTP_REPLY_BODY_MAX	(16 * 1024 * 1024)	/* held at most */
#define HTTP_REPLY_QUEUE	64	/* requests awaiting their answers */
#define HTTP_REPLY_FRAMING_READ	256	/* a chunk-size line and a little */

/* What the follower wants done next. */
enum http_reply_do {
	HTTP_REPLY_READ,	/* recv into data, at most len bytes */
	HTTP_REPLY_SEND,	/* send data[0..len) to the client */
	HTTP_REPLY_SPLICE,	/* move up to len bytes engine -> client */
	HTTP_REPLY_OPAQUE,	/* all sent: the rest goes blindly */
};
struct http_reply_action {
	enum http_reply_do what;
	char		*data;
	size_t		 len;
	const char	*note;	/* something to log (once per kind), or NULL */
};

struct http_reply {
	int		 state;
	struct http_stream stream;	/* from the engine, to the client */
	struct http_head_parser parser;
	struct http_response resp;
	unsigned	 answer;	/* of the response being followed */
	unsigned char	 queue[HTTP_REPLY_QUEUE];
	size_t		 q_first, q_len;
	bool		 no_more;	/* requests are no longer followed */
	uint64_t	 rewritten;	/* answers changed */
};
void	http_reply_init(struct http_reply *);
void	http_reply_free(struct http_reply *);
/* The proxy saw a request head (in order); false if no longer following. */
bool	http_reply_expect(struct http_reply *, const struct http_head *,
	    const char *buf);
/* No more requests will be seen: after those expected, opaque. */
void	http_reply_no_more(struct http_reply *);
/* The next step; fn NULL: follow, rewrite nothing. */
void	http_reply_next(struct http_reply *, http_reply_fn, void *arg,
	    struct http_reply_action *);
/* After READ, SEND or SPLICE: n bytes were read, sent, spliced. */
void	http_reply_done(struct http_reply *, const struct http_reply_action *,
	    size_t n);
/* The engine ended: what is held goes as it is, then opaque. */
void	http_reply_ended(struct http_reply *);
bool	http_reply_has_output(const struct http_reply *);
/*
 * The whole engine -> client stream in memory (drive.c; tests, the
 * fuzzer): reads take at most `first' bytes the first time, `piece'
 * after.  Returns the malloc'd client's view.
 */
char	*http_reply_run(struct http_reply *, const char *in, size_t len,
	    size_t first, size_t piece, http_reply_fn, void *arg,
	    size_t *outlen);

#endif
