/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_WIRE_ROUTES_H
#define WDA_WIRE_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "wire/http.h"

struct json_object;

/*
 * routes.c: what the proxy knows of the Docker API, in one table.  Each
 * route, registered by method and path, names what the request follower
 * (request.c) does with the request and what the answer follower
 * (reply.c) does with its answer; every other request passes both ways
 * as it is.  Pure: no I/O, no state.
 */
#define HTTP_REPLY_DEPTH_MAX	64	/* JSON nesting of an answer */

/* What the request follower does with a request. */
enum route_request {
	ROUTE_REQUEST_PASS,		/* forwarded as it comes */
	ROUTE_REQUEST_CREATE,		/* a container create: held whole,
					   its bind sources rewritten */
	ROUTE_REQUEST_VOLUME_CREATE,	/* a volume create: held whole, a
					   bind volume's device rewritten */
	ROUTE_REQUEST_HIJACK,		/* the engine takes the connection
					   over: then it goes opaque */
};
/* What the answer follower does with the answer to it. */
enum route_answer {
	ROUTE_ANSWER_PASS,		/* followed, passed as it is */
	ROUTE_ANSWER_OPAQUE,		/* the connection goes opaque */
	ROUTE_ANSWER_CONTAINERS,	/* held: [].Mounts[].Source */
	ROUTE_ANSWER_CONTAINER,		/* held: Mounts[].Source,
					   HostConfig.Binds and .Mounts */
	ROUTE_ANSWER_VOLUMES,		/* held: Volumes[].Options.device */
	ROUTE_ANSWER_VOLUME,		/* held: Options.device */
};

struct route {
	const char	*method;	/* NULL: any */
	const char	*path;		/* "{x}": one segment, not empty */
	enum route_request request;
	enum route_answer answer;
};

/*
 * The route of a request head whose bytes start at buf: a request that
 * asks for an upgrade (or CONNECT) hijacks, whatever its path; one the
 * table does not list passes both ways.  Never NULL.
 */
const struct route *route_of(const struct http_head *, const char *buf);
/* The table's rows in order, then NULL (tests check them). */
const struct route *route_at(size_t i);

/*
 * Turn a path the engine reports back into the user's: a malloc'd path,
 * or NULL to leave it.
 */
typedef char *(*http_reply_fn)(void *arg, const char *path);
/*
 * Rewrite the exposure paths in a held answer's JSON body (the fields are
 * listed in routes.c).  A malloc'd new body, or NULL when nothing changed
 * or the body is not the JSON that answer has.
 */
char	*route_answer_rewrite(enum route_answer, const char *body, size_t len,
	    http_reply_fn, void *arg, size_t *outlen);

/* A body of one JSON value, nesting at most depth; NULL if not exactly. */
struct json_object *route_json_parse(const char *body, size_t len, int depth);
/* Serialised as the engine's encoder would, plus suffix (malloc'd). */
char	*route_json_dump(struct json_object *, const char *suffix,
	    size_t *outlen);

#endif
