/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_IO_PROXY_H
#define WDA_IO_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "wire/http.h"
#include "wire/reply.h"

struct event_base;
struct proxy;

/* proxy.c: the splice proxy from socket.path to the engine socket */

struct proxy;
struct proxy_stats {
	uint64_t active;	/* connections open now */
	uint64_t total;		/* accepted since start */
	uint64_t refused;	/* closed at once: engine down or over the cap */
	uint64_t errors;	/* ended by an error other than EOF */
	uint64_t bytes_up;	/* client -> engine */
	uint64_t bytes_down;	/* engine -> client */
};

/*
 * Serve connections accepted on listen_fd (already bound and listening,
 * non-blocking) by connecting each to the engine socket engine_fd refers
 * to and splicing both ways.  engine_fd is an O_PATH descriptor the
 * caller walked to and checked, and keeps open while the proxy uses it;
 * it is connected to through /proc/self/fd, never by a path.  -1: none,
 * every client is refused with the reason.  engine_path names it in
 * messages.  max_conns bounds simultaneous connections.
 */
struct proxy *proxy_new(struct event_base *, int listen_fd, int engine_fd,
	    const char *engine_path, int max_conns);
/*
 * The engine socket was walked to again (re-created, or gone: -1): new
 * connections go there.  The old descriptor may be closed once this
 * returns; connections made before stay.
 */
void	proxy_set_engine(struct proxy *, int engine_fd, const char *engine_path);
/*
 * message non-NULL: connect nobody; answer each request with HTTP 503 and
 * {"message": message}, which docker prints.  NULL: serve again.
 */
void	proxy_set_refusal(struct proxy *, const char *message);
/* Close every open connection (engine gone for good, or shutting down). */
void	proxy_close_all(struct proxy *);
void	proxy_stats(const struct proxy *, struct proxy_stats *);
/*
 * While the last engine connection's peer was not root (SO_PEERCRED), who
 * it was (trust_peer_format's line); NULL once a connection passed.
 */
const char *proxy_peer_refusal(const struct proxy *);
/* Stop accepting and free everything; does not close listen_fd. */
void	proxy_free(struct proxy *);


/*
 * proxy.c, with binds.c: a hook that sees each container create before
 * the engine does.  Without one the proxy splices blindly (fast path).
 */
void	proxy_set_create_hook(struct proxy *, http_bind_fn, void *arg);
/*
 * The work a create hook said "not yet" for (create.h) is done: every
 * create held for it is put to the hook again, on a later turn.
 */
void	proxy_wake_creates(struct proxy *);


/*
 * proxy.c, with binds.c: a hook that turns the engine's paths in answers
 * back into the user's.  In effect only while a create hook is set.
 */
void	proxy_set_reply_hook(struct proxy *, http_reply_fn, void *arg);

/*
 * What the followers of all connections may hold together (requests held
 * whole to rewrite, answers held to translate, heads being read); past
 * it a request is answered 503 with the limit named, an answer passes
 * untouched, and every other connection carries on.  0: no limit.
 */
#define PROXY_HOLD_MAX	((size_t)128 << 20)
void	proxy_set_hold_max(struct proxy *, size_t bytes);
/* What they hold now, in bytes. */
size_t	proxy_held(const struct proxy *);

#endif
