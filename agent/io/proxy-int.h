/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the two halves of the proxy share: proxy.c accepts, connects and
 * splices; proxy-http.c does the I/O of a connection followed as HTTP
 * while a create hook is set: the client -> engine direction as
 * wire/request.c decides, and with a reply hook too the engine -> client
 * direction as wire/reply.c decides.  Private to them: the rest of the
 * agent sees io/proxy.h.
 */
#ifndef WDA_PROXY_INT_H
#define WDA_PROXY_INT_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <sys/un.h>

#include <event2/event.h>

#include "base/slab.h"
#include "base/util.h"
#include "wire/http.h"
#include "wire/reply.h"
#include "io/proxy-int.h"
#include "io/proxy.h"

#define PROXY_LOG		"proxy"
#define PROXY_PIPE_SIZE		(1024 * 1024)	/* per direction, if allowed */
/* Splices per wakeup before one busy stream lets the others run. */
/* The engine's backlog full: give up on a client after this long. */
#define PROXY_RETRY_PATIENCE_MS	5000
#define PROXY_PUMP_ROUNDS	8

struct proxy_conn;
struct proxy_http;		/* proxy-http.c */
struct proxy_refusal;		/* a client told why it is not served */

/* One direction of a connection: src -> pipe -> dst. */
struct proxy_flow {
	struct proxy_conn *conn;
	int		 src;
	int		 dst;
	int		 pipe_r;
	int		 pipe_w;
	size_t		 queued;	/* in the pipe, not yet taken by dst */
	bool		 eof;		/* src has ended */
	bool		 done;		/* ...and dst was told (SHUT_WR) */
	bool		 bulk;		/* the pipe was grown for a bulk stream */
	bool		 full;		/* the pipe took no more: wait for dst */
	bool		 dry;		/* src came short this wakeup: likely empty */
	struct event	*ev_src;	/* src readable */
	struct event	*ev_dst;	/* dst writable */
	uint64_t	*bytes;		/* the proxy's bytes_up or bytes_down */
};

struct proxy_conn {
	struct proxy	*proxy;
	LIST_ENTRY(proxy_conn) entry;
	int		 client;
	int		 engine;
	bool		 connecting;
	struct proxy_flow up;		/* client -> engine */
	struct proxy_flow down;		/* engine -> client */
	struct proxy_http *http;	/* NULL: spliced blindly */
	struct http_reply *reply;	/* NULL: down spliced blindly */
	struct http_reply reply_state;
	struct event	*ev_retry;	/* while the engine's backlog is full */
	uint64_t	 retry_deadline;
	struct backoff	 retry;		/* the engine's backlog was full */
};

struct proxy {
	struct event_base *base;
	int		 listen_fd;
	/*
	 * The engine socket as desktop.c walked to it: an O_PATH descriptor
	 * (the caller's, -1 while there is none), connected to through
	 * /proc/self/fd, never by its path (issue 19).
	 */
	int		 engine_fd;
	struct sockaddr_un engine_addr;	/* /proc/self/fd/<engine_fd> */
	socklen_t	 engine_addrlen;	/* 0: none, refuse every client */
	char		*engine_path;	/* its name, for messages */
	uint64_t	 max_conns;
	struct event	*ev_accept;
	struct event	*ev_resume;	/* ends a pause after fd exhaustion */
	bool		 accept_paused;
	bool		 accept_failing;
	uint64_t	 accept_failed_ms;	/* when it last ran out */
	bool		 engine_down;
	bool		 cap_logged;
	bool		 peer_refused;	/* the engine's peer was not root */
	char		 peer_why[1024];	/* who it was, while refused */
	bool		 refusing;	/* answer every client refusal */
	char		 refusal[1536];
	LIST_HEAD(, proxy_conn) conns;
	LIST_HEAD(, proxy_refusal) refusals;
	uint64_t	 nrefusals;
	struct proxy_stats stats;
	uint64_t	 crowd;		/* most at once since memory went back */
	struct slab_pool pool;		/* the connections */
	http_bind_fn	 create_fn;	/* NULL: no connection follows HTTP */
	void		*create_arg;
	http_reply_fn	 reply_fn;	/* NULL: answers pass as they are */
	void		*reply_arg;
	struct http_budget budget;	/* what all followers hold */
};

/* proxy-accept.c: the front door */
/* A logged state ended: forget its line; true if it had been logged. */
bool	proxy_state_cleared(bool *logged, const char *key);
void	proxy_engine_unreachable(struct proxy *, int err);
void	proxy_engine_reachable(struct proxy *);
void	proxy_note_cap_reached(struct proxy *);
void	proxy_note_below_cap(struct proxy *);
void	proxy_pause_accept(struct proxy *);
void	proxy_resume_accept(struct proxy *);
void	proxy_resume_timer_fired(evutil_socket_t, short, void *);
/* Out of descriptors or memory for `what': pause accepting a while. */
void	proxy_short_of_resources(struct proxy *, const char *what, int err);
void	proxy_accept_recovered(struct proxy *);
/* Close a client (and its engine side, if any) at once. */
void	proxy_refuse(struct proxy *, int client, int engine);
/* Answer a client with message (HTTP 503, after its head), then close. */
void	proxy_refuse_with(struct proxy *, int client, const char *message);
void	proxy_refusal_free(struct proxy_refusal *);

/* proxy.c */
static inline ssize_t
proxy_splice(int from, int to, size_t len)
{
	ssize_t n;
	do
		n = splice(from, NULL, to, NULL, len,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	while (n < 0 && errno == EINTR);
	return n;
}

/* A splice of n bytes: a bulk stream grows its pipe. */
void	proxy_flow_note_bulk(struct proxy_flow *, ssize_t n);
/* `op' on fd failed with err: close the connection (it is gone after). */
void	proxy_flow_fail(struct proxy_flow *, const char *op, int fd, int err);
/* Watch src and dst as the flow's state asks; -1 if libevent refused. */
int	proxy_flow_wait(struct proxy_flow *);
/* Pass the EOF on; false if that closed the connection. */
bool	proxy_half_close(struct proxy_flow *);
/* Splice what is ready, then wait for more. */
void	proxy_conn_pump(struct proxy_flow *);

/* proxy-http.c */
/* The follower lives in its connection's block: this many bytes. */
size_t	proxy_http_size(void);
/* A zeroed follower begins at a request head. */
void	proxy_http_init(struct proxy_http *, struct http_budget *);
/* Free what it holds; the block itself belongs to the connection. */
void	proxy_http_free(struct proxy_http *);
bool	proxy_http_has_output(const struct proxy_conn *);
/* A create waits for its hook's work: nothing more is read meanwhile. */
bool	proxy_http_waiting(const struct proxy_conn *);
/* Move the client -> engine direction on, following HTTP. */
void	proxy_http_pump(struct proxy_conn *);
/*
 * The engine has sent all it will: put a local reply, if one waits, into
 * the engine -> client pipe.  True if there was one.
 */
bool	proxy_http_queue_reply(struct proxy_conn *);
/* A new connection: follow its answers too, if a reply hook is set. */
void	proxy_reply_start(struct proxy_conn *);
void	proxy_reply_stop(struct proxy_conn *);
bool	proxy_reply_has_output(const struct proxy_conn *);
/* Splice all the pipe holds to dst: false to wait (or *failed: gone). */
bool	proxy_flow_drain_pipe(struct proxy_flow *, bool *failed);
/* Move the engine -> client direction on, answer by answer. */
void	proxy_reply_pump(struct proxy_conn *);

#endif
