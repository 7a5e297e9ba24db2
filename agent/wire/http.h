/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_WIRE_HTTP_H
#define WDA_WIRE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * http.c: just enough HTTP/1.1 to find request and answer boundaries on a
 * docker API connection: heads, Content-Length and chunked framing, and
 * the heads the proxy writes itself.  Pure: no I/O, no globals, so a
 * fuzzer can drive every function.  What a request means to Docker is
 * routes.h's.
 */
#define HTTP_HEAD_MAX		(64 * 1024)	/* request line + headers */
#define HTTP_CHUNK_LINE_MAX	4096	/* a chunk-size line, extensions too */

enum http_framing { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED };
enum http_result { HTTP_MORE, HTTP_DONE, HTTP_BAD, HTTP_OPAQUE,
		   HTTP_TOO_LARGE };

struct http_head {
	size_t		 len;		/* bytes, the blank line included */
	char		 method[16];
	size_t		 target_off;	/* request-target, in the buffer */
	size_t		 target_len;
	int		 minor;		/* HTTP/1.minor */
	enum http_framing framing;
	uint64_t	 length;	/* HTTP_BODY_LENGTH */
	bool		 upgrade;	/* Connection: upgrade, or Upgrade: */
	bool		 close;		/* no request may follow this one */
	bool		 expect_continue;
};

/* Remembers how far the search for the end of a head got. */
struct http_head_parser {
	size_t		 scanned;
};
void	http_head_parser_init(struct http_head_parser *);
/*
 * Look at buf[0..len), all the client sent so far on this request: MORE
 * until the blank line ends the head, then DONE with *h filled in; BAD
 * (why says what) for framing the proxy and the engine could read
 * differently: Content-Length with Transfer-Encoding (RFC 9112 6.3, a
 * request smuggling vector), differing or malformed Content-Lengths, a
 * coding other than chunked.  OPAQUE for anything else that is not a
 * request this parser follows (not HTTP/1.x, bad syntax: the engine will
 * answer it), as soon as the first line shows it; TOO_LARGE past
 * HTTP_HEAD_MAX.
 */
enum http_result http_head_parse(struct http_head_parser *, const char *buf,
	    size_t len, struct http_head *h, char *why, size_t whylen);
/*
 * The path of a request's target (its head's bytes start at buf),
 * percent-decoded as Go does before the engine's router sees it, without
 * the query; absolute-form targets ("http://host/path") lose scheme and
 * host.  Cut to fit out; returns its length.
 */
size_t	http_target_path(const struct http_head *, const char *buf,
	    char *out, size_t outlen);

/* A response head. */
struct http_response {
	size_t		 len;		/* bytes, the blank line included */
	int		 status;
	enum http_framing framing;	/* NONE: see until_close */
	uint64_t	 length;	/* HTTP_BODY_LENGTH */
	bool		 until_close;	/* no framing: the body ends at EOF */
	bool		 json;		/* Content-Type: application/json */
};
/*
 * Parse a response head in buf[0..len): MORE, DONE, TOO_LARGE past
 * HTTP_HEAD_MAX, OPAQUE for what the follower will not follow (not
 * HTTP/1.x, two framings, a coding other than chunked).
 */
enum http_result http_response_parse(struct http_head_parser *,
	    const char *buf, size_t len, struct http_response *);

/* Chunked transfer coding, followed without decoding. */
struct http_chunked {
	int		 state;
	uint64_t	 left;		/* data bytes left in this chunk */
	size_t		 line;		/* bytes of the framing line so far */
	size_t		 trailer;	/* bytes of trailers so far */
	bool		 digits;	/* chunk-size has a digit */
	bool		 bws;		/* white space after the size */
	bool		 in_ext;	/* past the size, in extensions */
	bool		 cr;		/* a CR was just seen */
};
enum http_chunk_step { HTTP_CHUNK_MORE, HTTP_CHUNK_DATA, HTTP_CHUNK_DONE,
		       HTTP_CHUNK_BAD };
void	http_chunked_init(struct http_chunked *);
/*
 * Consume framing from buf[0..len) (*used says how much): DATA when chunk
 * data comes next (left bytes of it; pass them on and call
 * http_chunked_take()), DONE after the last chunk and trailers, MORE when
 * buf ran out inside framing, BAD on malformed framing.
 */
enum http_chunk_step http_chunked_feed(struct http_chunked *, const char *buf,
	    size_t len, size_t *used, char *why, size_t whylen);
void	http_chunked_take(struct http_chunked *, uint64_t n);
/* Chunk data bytes that come next without framing (0: framing next). */
uint64_t http_chunked_data_left(const struct http_chunked *);
/* Decode a whole chunked body (malloc'd; max bounds the result). */
int	http_chunked_decode(const char *buf, size_t len, size_t max, char **out,
	    size_t *outlen, char *why, size_t whylen);

/*
 * The head again, framed for a body of body_len bytes that follows at
 * once: Content-Length replaces Transfer-Encoding, Expect goes (malloc'd).
 */
char	*http_head_with_length(const char *head, const struct http_head *,
	    uint64_t body_len, size_t *outlen);
/* A complete error reply in the engine's format, Connection: close. */
char	*http_error_reply(int status, const char *message, size_t *outlen);

/* Does a comma-separated list (a header value, mount options) hold token? */
bool	http_list_has(const char *v, size_t n, const char *token);

/*
 * features/ find the create hook's types (struct http_bind_source, struct
 * http_caller, HTTP_CREATE_DEPTH_MAX) here until they include
 * wire/create.h, where they now live.
 */
#include "wire/create.h"

#endif
