/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_WIRE_REQUEST_H
#define WDA_WIRE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "wire/create.h"
#include "wire/http.h"
#include "wire/reply.h"
#include "wire/stream.h"

/*
 * request.c: the client -> engine direction of a followed connection.
 * Heads are read and forwarded as read, bodies pass by Content-Length or
 * chunk framing (spliced where they are large), and the requests whose
 * route holds them (routes.h: container and volume creates) are held
 * whole so their bind sources can be rewritten (create.h).  After a
 * hijack, a request that closes the connection, or anything this file
 * cannot follow, the rest passes blindly.  Pure: the proxy does the I/O
 * each step asks for, and http_request_run() does it in memory.
 */
#define HTTP_REQUEST_FRAMING_READ 256	/* a chunk-size line and a little */
#define HTTP_REQUEST_NOTE_MAX	1280	/* a note, the hook's reason in it */

/* What the follower wants done next. */
enum http_request_do {
	HTTP_REQUEST_READ,	/* recv from the client into data, at most
				   len bytes */
	HTTP_REQUEST_SEND,	/* send data[0..len) to the engine */
	HTTP_REQUEST_SPLICE,	/* move up to len bytes client -> engine */
	HTTP_REQUEST_REWRITE,	/* a create is whole: call
				   http_request_rewrite() with its caller */
	HTTP_REQUEST_REFUSE,	/* this direction is over: the engine gets
				   EOF, the client http_request_refusal()
				   once the engine has sent what it owes */
	HTTP_REQUEST_BLIND,	/* all sent: the rest goes blindly */
};
struct http_request_action {
	enum http_request_do what;
	char		*data;
	size_t		 len;
	/* Something to log (note[0] != '\0') at level, once per kind if set. */
	enum log_level	 level;
	const char	*once;
	char		 note[HTTP_REQUEST_NOTE_MAX];
};

struct http_request {
	int		 state;
	struct http_stream stream;	/* from the client, to the engine */
	struct http_head_parser parser;
	struct http_head head;		/* of the request being passed on */
	bool		 blind_after;	/* hijacked or last: then blind */
	char		*refusal;	/* what the client is answered */
	size_t		 refusal_len;
	struct http_reply *answers;	/* told of each request, or NULL */
	size_t		 create_asked;	/* the held create's sources answered
					   in passes told "not yet" */
};
/* A follower begins at a request head. */
void	http_request_init(struct http_request *);
void	http_request_free(struct http_request *);
/* Tell answers (NULL: none) of each request seen, in order. */
void	http_request_pair(struct http_request *, struct http_reply *answers);
/* The next step; hooked false: creates pass as they come. */
void	http_request_next(struct http_request *, bool hooked,
	    struct http_request_action *);
/* After READ, SEND or SPLICE: n bytes were read, sent, spliced. */
void	http_request_done(struct http_request *,
	    const struct http_request_action *, size_t n);
/* A READ found nothing for now: a quiet connection holds no buffer. */
void	http_request_quiet(struct http_request *);
/* The client ended: what is buffered goes as it is, then blind. */
void	http_request_ended(struct http_request *);
/*
 * After REWRITE: the whole create put to fn (NULL: passed as it is) for
 * caller, and what it becomes (sent, or refused); *a gets only a note.
 * false: fn said "not yet" (create.h); the create stays held as it came,
 * the next step is REWRITE again, and the caller does it once told that
 * fn's work is done, reading nothing more from the client meanwhile.
 */
bool	http_request_rewrite(struct http_request *,
	    const struct http_caller *, http_bind_fn, void *arg,
	    struct http_request_action *a);
bool	http_request_has_output(const struct http_request *);
/* Bytes read and not yet looked at (pipelined requests). */
bool	http_request_buffered(const struct http_request *);
/* After REFUSE: the client's answer (malloc'd, now the caller's). */
char	*http_request_refusal(struct http_request *, size_t *len);
/*
 * The whole client -> engine stream in memory (drive.c; tests, fuzzers):
 * reads take at most `first' bytes the first time, `piece' after;
 * creates are put to fn for caller (again at once after "not yet": fn
 * must say yes or no in the end).  Returns the malloc'd engine's view;
 * after a refusal, what the engine got before it (http_request_refusal()
 * says what the client is answered).
 */
char	*http_request_run(struct http_request *, const char *in, size_t len,
	    size_t first, size_t piece, const struct http_caller *,
	    http_bind_fn, void *arg, size_t *outlen);

#endif
