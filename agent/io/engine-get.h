/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io/engine-get.c: one HTTP/1.0 GET (or bodiless POST) to the engine
 * socket, on the event loop.  With error NULL, code is the reply's status
 * and body (head removed) holds: for a reply, all of it, once the engine
 * closed; for a stream, what arrived, at its head and at every arrival
 * after (the callback drains it).  An error (no connection, no answer in
 * time, over max, not HTTP, a peer that is not root, the stream ended) is
 * the last call.  The callback may free the get (it must, in the end);
 * nothing touches the get after calling it.
 */
#ifndef WDA_IO_ENGINE_GET_H
#define WDA_IO_ENGINE_GET_H

#include <stdbool.h>
#include <stddef.h>

struct engine_get;
struct evbuffer;
struct event_base;
struct json_object;

struct engine_get_opts {
	size_t	max;		/* bytes held unread (for a reply: all) */
	int	timeout_s;	/* to connect and send; to read a reply */
	bool	stream;		/* no read timeout, body as it comes */
	const char *method;	/* NULL: GET; else sent with no body */
};
typedef void engine_get_cb(int code, struct evbuffer *body,
	    const char *error, void *arg);
/*
 * To the socket the O_PATH descriptor engine_fd refers to, through
 * /proc/self/fd (never a path: engine_fd is what was walked to and
 * checked, features/desktop.h's view); name names it in messages.
 * engine_fd -1: NULL, ENOENT.  NULL and errno.
 */
struct engine_get *engine_get_new(struct event_base *base, int engine_fd,
	    const char *name, const char *target,
	    const struct engine_get_opts *opts, engine_get_cb *cb,
	    void *arg);
void	engine_get_free(struct engine_get *);
/* A body's JSON nested at most depth deep; NULL if it is not JSON. */
struct json_object *engine_get_json(struct evbuffer *body, int depth);

#endif
