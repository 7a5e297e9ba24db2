/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_ENGINE_H
#define WDA_FEATURES_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct agent;
struct engine;
struct engine_get;
struct evbuffer;
struct event_base;
struct json_object;

/* engine.c: /_ping and /version against the engine socket */
struct engine;
struct engine *engine_new(struct agent *);
void	engine_probe_start(struct engine *);	/* unless one is under way */
void	engine_free(struct engine *);
bool	engine_reachable(const struct engine *);
/* Why the last probe failed; NULL when it answered or none ended yet. */
const char *engine_failure(const struct engine *);
const char *engine_version(const struct engine *);
struct json_object *engine_status_json(const struct engine *);	/* "engine" */
/*
 * One HTTP/1.0 GET to the engine socket, on the event loop.  With error
 * NULL, code is the reply's status and body (head removed) holds: for a
 * reply, all of it, once the engine closed; for a stream, what arrived,
 * at its head and at every arrival after (the callback drains it).  An
 * error (no connection, no answer in time, over max, not HTTP, the stream
 * ended) is the last call.  The callback may free the get (it must, in
 * the end); nothing touches the get after calling it.
 */
struct evbuffer;
struct engine_get;
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
 * checked); name names it in messages.  engine_fd -1: NULL, ENOENT.
 */
struct engine_get *engine_get_new(struct event_base *base, int engine_fd,
	    const char *name, const char *target,
	    const struct engine_get_opts *opts, engine_get_cb *cb,
	    void *arg);				/* NULL and errno */
/* The same to the agent's engine socket, while it is trusted (expose.c). */
struct engine_get *engine_ask(struct agent *, const char *target,
	    const struct engine_get_opts *opts, engine_get_cb *cb, void *arg);
void	engine_get_free(struct engine_get *);
/* A body's JSON nested at most depth deep; NULL if it is not JSON. */
struct json_object *engine_get_json(struct evbuffer *body, int depth);

#endif
