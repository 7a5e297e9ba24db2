/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The socket proxy: every client of socket.path gets its own connection to
 * the engine's unix socket, and bytes move between the two with splice(2)
 * through one pipe per direction, so they never enter user space and no
 * connection owns a buffer of its own.  Bufferevents would copy every byte
 * through an evbuffer, so each direction drives raw events by hand.  This
 * file accepts, connects and pumps; connections live in slabs (slab.c).
 *
 * With a create hook (binds.c, in proxy mode) the client -> engine
 * direction follows HTTP (proxy-http.c) until the connection is upgraded
 * or hijacked; otherwise, and after that, the connection is spliced
 * blindly both ways.  With a reply hook too, the engine -> client
 * direction follows the answers to those requests (proxy-http.c), holding
 * only inspects and lists to put the user's paths back; every other body
 * is spliced.  End of input is forwarded as shutdown(SHUT_WR), which is
 * what lets `echo hi | docker exec -i c cat` finish
 * (systemd-socket-proxyd drops it).  There is no idle timeout:
 * `docker events` may stay silent for days.
 *
 * The engine is never connected to by path (issue 19): features/socket.c
 * hands over the O_PATH descriptor features/desktop.c walked to, and each
 * connection goes through /proc/self/fd/N to that very socket.  While
 * there is none, every client is refused with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/sockios.h>
#include <event2/event.h>

#include "base/defs.h"
#include "base/log.h"
#include "base/slab.h"
#include "base/util.h"
#include "sys/trust.h"
#include "wire/http.h"
#include "wire/reply.h"
#include "io/proxy-int.h"
#include "io/proxy.h"

/* One splice this large marks a bulk stream: only then grow its pipe. */
#define PROXY_BULK_SPLICE	(16 * 1024)
/* This many connections at once, all gone: give their memory back. */
#define PROXY_CROWD		64
/* Send buffer towards the engine (the kernel caps it at wmem_max, x2). */
#define PROXY_ENGINE_SNDBUF	(1024 * 1024)
/* The engine's listen backlog is full: retry this soon, backing off... */
#define PROXY_RETRY_FIRST_MS	5
#define PROXY_RETRY_MAX_MS	250
/* No engine descriptor and no reason given: never a path to try. */
#define PROXY_NO_ENGINE		AGENT_NAME ": there is no trusted Docker " \
	"Desktop engine socket to connect to (is Docker Desktop running?); " \
	"start Docker Desktop, then try again"

enum proxy_engine_connect_result {
	PROXY_ENGINE_FAILED = -1,	/* errno says why */
	PROXY_ENGINE_CONNECTED,
	PROXY_ENGINE_IN_PROGRESS,	/* wait for writable, then SO_ERROR */
	PROXY_ENGINE_BUSY,		/* backlog full (EAGAIN on unix) */
};

static void	conn_close(struct proxy_conn *, bool failed);
static void	flow_ready(evutil_socket_t, short, void *);

/*
 * Just connected: is the engine's peer root?  SO_PEERCRED, one
 * getsockopt per connection.  False (and logged once per episode) if not.
 */
static bool
proxy_engine_peer_ok(struct proxy *p, int engine, char *why, size_t whylen)
{
	uid_t uid;
	pid_t pid;
	if (trust_peer_is_root(engine, &uid, &pid)) {
		(void)proxy_state_cleared(&p->peer_refused, "proxy.peer");
		return true;
	}
	char line[sizeof p->peer_why];
	trust_peer_format(p->engine_path, uid, pid, line, sizeof line);
	p->peer_refused = true;
	memcpy(p->peer_why, line, sizeof p->peer_why);
	log_state(LOG_LVL_ERR, PROXY_LOG, "proxy.peer", "%s; answering "
	    "clients with the reason", line);
	snprintf(why, whylen, AGENT_NAME ": the Docker Desktop engine socket "
	    "is not trusted: %s", line);
	return false;
}

/* ------------------------------------------------------------------ */
/* Connecting to the engine. */

/*
 * Through /proc/self/fd/N: the very socket desktop.c walked to, whatever
 * the names above it became.  The lookup costs what a path's does (a few
 * components in the dcache), so it is done for every connection.
 */
static enum proxy_engine_connect_result
proxy_engine_connect(int fd, const struct proxy *p)
{
	if (p->engine_addrlen == 0) {
		errno = ENOENT;
		return PROXY_ENGINE_FAILED;
	}
	for (;;) {
		if (connect(fd, (const struct sockaddr *)&p->engine_addr,
		    p->engine_addrlen) == 0)
			return PROXY_ENGINE_CONNECTED;
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS)
			return PROXY_ENGINE_IN_PROGRESS;
		if (errno == EAGAIN)
			return PROXY_ENGINE_BUSY;
		return PROXY_ENGINE_FAILED;
	}
}

/*
 * A pipe per direction, at the kernel's default size: a 1 MiB pipe's ring
 * is a 16 KiB kernel allocation whether or not bytes ever flow, ~30 MiB
 * for 1,000 quiet `docker events' streams.  proxy_flow_note_bulk() grows it.
 */
static int
flow_open_pipe(struct proxy_flow *f)
{
	int fds[2];
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	f->pipe_r = fds[0];
	f->pipe_w = fds[1];
	return 0;
}

/*
 * A splice this large means a bulk stream (save, load, a build context):
 * a big pipe then means fewer wakeups.  Unprivileged or over
 * fs.pipe-user-pages-soft the kernel refuses; the default size still
 * works, only with more wakeups.
 */
void
proxy_flow_note_bulk(struct proxy_flow *f, ssize_t n)
{
	if (f->bulk || n < PROXY_BULK_SPLICE)
		return;
	f->bulk = true;
	(void)fcntl(f->pipe_w, F_SETPIPE_SZ, PROXY_PIPE_SIZE);
}

static void
flow_close_pipe(struct proxy_flow *f)
{
	if (f->pipe_r >= 0)
		close(f->pipe_r);
	if (f->pipe_w >= 0)
		close(f->pipe_w);
	f->pipe_r = f->pipe_w = -1;
}

/* ------------------------------------------------------------------ */
/*
 * Connection blocks.  Each connection is one block from the proxy's slab
 * pool (slab.c says why not the heap): the connection, its HTTP follower
 * and its events (set up with event_assign).
 */

#define CONN_EVENTS	5		/* up src/dst, down src/dst, retry */
#define CONN_EV_RETRY	4
#define ROUND16(n)	(((n) + 15) & ~(size_t)15)

/* A block: [struct proxy_conn][struct proxy_http][events]. */
static struct {
	size_t	 http_off, ev_off, ev_size, size;
} layout;

static void
conn_layout_init(void)
{
	layout.http_off = ROUND16(sizeof(struct proxy_conn));
	layout.ev_off = layout.http_off + ROUND16(proxy_http_size());
	layout.ev_size = ROUND16(event_get_struct_event_size());
	layout.size = layout.ev_off + CONN_EVENTS * layout.ev_size;
}

static struct event *
conn_event(struct proxy_conn *c, int i)
{
	return (struct event *)(void *)((char *)c + layout.ev_off +
	    (size_t)i * layout.ev_size);
}

static int
flow_init(struct proxy_flow *f, struct proxy_conn *c, int src, int dst,
    uint64_t *bytes, int ev)
{
	struct event_base *base = c->proxy->base;
	f->conn = c;
	f->src = src;
	f->dst = dst;
	f->pipe_r = f->pipe_w = -1;
	f->bytes = bytes;
	f->ev_src = conn_event(c, ev);
	f->ev_dst = conn_event(c, ev + 1);
	if (event_assign(f->ev_src, base, src, EV_READ | EV_PERSIST,
	    flow_ready, f) < 0 || event_assign(f->ev_dst, base, dst,
	    EV_WRITE | EV_PERSIST, flow_ready, f) < 0) {
		f->ev_src = f->ev_dst = NULL;
		return -1;
	}
	return 0;
}

static void
flow_free(struct proxy_flow *f)
{
	if (f->ev_src != NULL)
		(void)event_del(f->ev_src);
	if (f->ev_dst != NULL)
		(void)event_del(f->ev_dst);
	f->ev_src = f->ev_dst = NULL;
	flow_close_pipe(f);
}

static struct proxy_conn *
conn_new(struct proxy *p, int client, int engine)
{
	struct proxy_conn *c = slab_alloc(&p->pool);
	if (c == NULL)
		return NULL;
	c->proxy = p;
	c->client = client;
	c->engine = engine;
	if (flow_init(&c->up, c, client, engine, &p->stats.bytes_up, 0) < 0 ||
	    flow_init(&c->down, c, engine, client, &p->stats.bytes_down, 2) < 0) {
		flow_free(&c->up);
		flow_free(&c->down);
		slab_free(&p->pool, c);
		return NULL;
	}
	if (p->create_fn != NULL) {
		c->http = (struct proxy_http *)(void *)((char *)c +
		    layout.http_off);
		proxy_http_init(c->http, &p->budget);
		proxy_reply_start(c);
	}
	LIST_INSERT_HEAD(&p->conns, c, entry);
	p->stats.active++;
	if (p->stats.active > p->crowd)
		p->crowd = p->stats.active;
	return c;
}

/*
 * After a crowd of connections has gone (1,000 `docker events' clients),
 * glibc keeps the heap their requests' buffers used (the connections
 * themselves live in slabs, above).  Hand it back when the last of a big
 * crowd closes.
 */
static void
proxy_give_back_memory(struct proxy *p)
{
	if (p->stats.active > 0 || p->crowd < PROXY_CROWD)
		return;
	p->crowd = 0;
	(void)malloc_trim(0);
}

static void
conn_close(struct proxy_conn *c, bool failed)
{
	struct proxy *p = c->proxy;
	LIST_REMOVE(c, entry);
	flow_free(&c->up);
	flow_free(&c->down);
	if (c->ev_retry != NULL)
		(void)event_del(c->ev_retry);
	proxy_http_free(c->http);
	proxy_reply_stop(c);
	if (c->client >= 0)
		close(c->client);
	close(c->engine);
	slab_free(&p->pool, c);
	p->stats.active--;
	proxy_give_back_memory(p);
	if (failed)
		p->stats.errors++;
	proxy_note_below_cap(p);
	proxy_resume_accept(p);
}

static struct proxy_flow *
flow_reverse(struct proxy_flow *f)
{
	struct proxy_conn *c = f->conn;
	return f == &c->up ? &c->down : &c->up;
}

/*
 * A splice on fd failed: end the whole connection now, so a client whose
 * engine died sees EOF promptly rather than a stream that hangs.  A peer
 * that already sent EOF and then refuses more data has simply closed;
 * only other failures count as errors.
 */
void
proxy_flow_fail(struct proxy_flow *f, const char *op, int fd, int err)
{
	struct proxy_conn *c = f->conn;
	struct proxy_flow *from_fd = c->up.src == fd ? &c->up : &c->down;
	bool peer_left = (err == EPIPE || err == ECONNRESET) && from_fd->eof;
	log_debug(PROXY_LOG, "connection %d/%d: %s the %s: %s; closing it",
	    c->client, c->engine, op, fd == c->client ? "client" : "engine",
	    strerror(err));
	conn_close(c, !peer_left);
}

/*
 * A spliced direction watches src while the pipe may take more and dst
 * while the pipe holds bytes, both at once: the client goes on writing
 * while the engine drains, as systemd-socket-proxyd does.  One that
 * follows HTTP waits for each output to go before reading on.  Re-adding
 * a pending event costs libevent nothing.
 */
int
proxy_flow_wait(struct proxy_flow *f)
{
	bool want_src, want_dst;
	if (f == &f->conn->up && f->conn->http != NULL) {
		want_dst = f->queued > 0 || proxy_http_has_output(f->conn);
		/* A create waiting for its hook's work reads nothing more. */
		want_src = !want_dst && !proxy_http_waiting(f->conn);
	} else if (f == &f->conn->down && f->conn->reply != NULL) {
		want_dst = f->queued > 0 || proxy_reply_has_output(f->conn);
		want_src = !want_dst && !f->eof;
	} else {
		want_dst = f->queued > 0;
		want_src = !f->eof && !f->full;
	}
	if ((want_src ? event_add(f->ev_src, NULL) : event_del(f->ev_src)) < 0 ||
	    (want_dst ? event_add(f->ev_dst, NULL) : event_del(f->ev_dst)) < 0)
		return -1;
	return 0;
}

/*
 * src ended and everything it sent has reached dst: pass the EOF on with
 * shutdown(SHUT_WR) and keep the other direction flowing until it ends
 * too.  Returns false if that closed the connection.
 */
bool
proxy_half_close(struct proxy_flow *f)
{
	struct proxy_conn *c = f->conn;
	/* ENOTCONN: dst is already gone; the other direction will notice. */
	if (shutdown(f->dst, SHUT_WR) < 0 && errno != ENOTCONN) {
		proxy_flow_fail(f, "shutdown(SHUT_WR) to", f->dst, errno);
		return false;
	}
	f->done = true;
	if (event_del(f->ev_src) < 0 || event_del(f->ev_dst) < 0) {
		proxy_flow_fail(f, "event_del on", f->src, EINVAL);
		return false;
	}
	/* A half-closed stream can live long (exec -i): give back the fds. */
	flow_close_pipe(f);
	if (flow_reverse(f)->done) {
		conn_close(c, false);
		return false;
	}
	return true;
}

/*
 * After EAGAIN from src -> pipe: does src still hold bytes (so the pipe
 * is what is full)?  If it cannot say, assume so: waiting for dst is
 * always safe, only slower.
 */
static bool
socket_has_bytes(int fd)
{
	int n = 0;
	return ioctl(fd, SIOCINQ, &n) < 0 || n > 0;
}

/*
 * Move what is ready: pipe -> dst, then src -> pipe, round after round
 * while either moves.  EAGAIN from src with the pipe empty means src has
 * nothing; with bytes in the pipe it may also mean the pipe is full (its
 * slots run out before its bytes do).  Only then (src still holds bytes)
 * is src left alone until dst takes some, never a busy loop; otherwise
 * src is watched on, so a slow client does not stall the engine while the
 * pipe has room.  A small read that came short (a request, an
 * answer) means src is empty: it is not asked again, only to hear EAGAIN,
 * before the next wakeup (epoll is level-triggered: more bytes wake it).
 */
void
proxy_conn_pump(struct proxy_flow *f)
{
	f->dry = false;
	for (int round = 0; round < PROXY_PUMP_ROUNDS; round++) {
		ssize_t n;
		bool moved = false;
		if (f->queued > 0) {
			n = proxy_splice(f->pipe_r, f->dst, f->queued);
			if (n < 0 && errno != EAGAIN) {
				proxy_flow_fail(f, "splice to", f->dst, errno);
				return;
			}
			if (n > 0) {
				f->queued -= (size_t)n;
				*f->bytes += (uint64_t)n;
				f->full = false;
				moved = true;
			}
		}
		/* The engine has answered all it will: now our reply. */
		if (f->eof && f->queued == 0 && f == &f->conn->down &&
		    f->conn->http != NULL && proxy_http_queue_reply(f->conn))
			continue;
		if (f->eof) {
			if (f->queued == 0) {
				(void)proxy_half_close(f);
				return;
			}
		} else if (!f->full && !f->dry) {
			n = proxy_splice(f->src, f->pipe_w, PROXY_PIPE_SIZE);
			if (n < 0 && errno != EAGAIN) {
				proxy_flow_fail(f, "splice from", f->src, errno);
				return;
			}
			if (n < 0) {
				f->full = f->queued > 0 &&
				    socket_has_bytes(f->src);
			} else if (n == 0) {
				f->eof = true;
				moved = true;	/* the next round ends it */
			} else {
				proxy_flow_note_bulk(f, n);
				f->queued += (size_t)n;
				f->dry = n < PROXY_BULK_SPLICE;
				moved = true;
			}
		}
		if (!moved)
			break;
	}
	if (proxy_flow_wait(f) < 0)
		proxy_flow_fail(f, "event_add on", f->src, EINVAL);
}

/* The engine accepted: set up the pipes and let bytes flow. */
static void
conn_start(struct proxy_conn *c)
{
	c->connecting = false;
	char why[1536];
	if (!proxy_engine_peer_ok(c->proxy, c->engine, why, sizeof why)) {
		struct proxy *p = c->proxy;
		int client = c->client;
		c->client = -1;
		conn_close(c, false);
		proxy_refuse_with(p, client, why);
		return;
	}
	/*
	 * The engine side's default send buffer (wmem_default, 208 KiB) is
	 * what the pump can hand the engine per wakeup on uploads (docker
	 * load, build contexts); a bigger one halves the wakeups when the
	 * engine drains from another CPU.  Only a limit: nothing is
	 * allocated until bytes flow.
	 */
	int sndbuf = PROXY_ENGINE_SNDBUF;
	(void)setsockopt(c->engine, SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof sndbuf);
	if (flow_open_pipe(&c->up) < 0 || flow_open_pipe(&c->down) < 0) {
		int err = errno;
		struct proxy *p = c->proxy;
		/* Close first: a close resumes accepting; the pause wins. */
		p->stats.refused++;
		conn_close(c, false);
		if (err == EMFILE || err == ENFILE)
			proxy_short_of_resources(p, "pipe2", err);
		else
			log_warn(PROXY_LOG, "pipe2: %s; closed a client",
			    strerror(err));
		return;
	}
	if (proxy_flow_wait(&c->up) < 0 || proxy_flow_wait(&c->down) < 0) {
		log_warn(PROXY_LOG, "cannot watch a new connection: %s; "
		    "closing it", strerror(errno));
		conn_close(c, true);
	}
}

/* Same treatment for every way the engine can say no. */
static void
conn_engine_refused(struct proxy_conn *c, int err)
{
	proxy_engine_unreachable(c->proxy, err);
	c->proxy->stats.refused++;
	conn_close(c, false);
}

static void
conn_connect_done(struct proxy_conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(c->engine, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		conn_engine_refused(c, err);
		return;
	}
	proxy_engine_reachable(c->proxy);
	conn_start(c);
}

static void
conn_retry_fired(evutil_socket_t fd, short what, void *arg);

/*
 * A unix socket whose listen backlog is full answers EAGAIN and cannot be
 * waited on, so try again shortly: a busy engine is no reason to refuse.
 */
static void
conn_retry_later(struct proxy_conn *c)
{
	uint64_t now = util_now_ms();
	if (c->ev_retry == NULL) {
		c->ev_retry = conn_event(c, CONN_EV_RETRY);
		if (evtimer_assign(c->ev_retry, c->proxy->base,
		    conn_retry_fired, c) < 0)
			c->ev_retry = NULL;
		c->retry_deadline = now + PROXY_RETRY_PATIENCE_MS;
		c->retry = (struct backoff){ PROXY_RETRY_FIRST_MS,
		    PROXY_RETRY_MAX_MS, 0 };
	}
	uint32_t wait_ms = backoff_next(&c->retry, util_random());
	if (now >= c->retry_deadline) {
		conn_engine_refused(c, EAGAIN);
		return;
	}
	struct timeval tv = { 0, (suseconds_t)wait_ms * 1000 };
	if (c->ev_retry == NULL || evtimer_add(c->ev_retry, &tv) < 0) {
		log_warn(PROXY_LOG, "cannot wait for the engine's backlog: "
		    "out of memory; closing a client");
		conn_close(c, true);
	}
}

static void
conn_follow_connect(struct proxy_conn *c, enum proxy_engine_connect_result r)
{
	switch (r) {
	case PROXY_ENGINE_CONNECTED:
		proxy_engine_reachable(c->proxy);
		conn_start(c);
		return;
	case PROXY_ENGINE_IN_PROGRESS:
		/* Connecting: up's dst event doubles as "connect finished". */
		if (event_add(c->up.ev_dst, NULL) < 0) {
			log_warn(PROXY_LOG, "cannot watch a connection to the "
			    "engine; closing a client");
			conn_close(c, true);
		}
		return;
	case PROXY_ENGINE_BUSY:
		conn_retry_later(c);
		return;
	case PROXY_ENGINE_FAILED:
		conn_engine_refused(c, errno);
		return;
	}
}

static void
conn_retry_fired(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *c = arg;
	enum proxy_engine_connect_result r = proxy_engine_connect(c->engine,
	    c->proxy);
	conn_follow_connect(c, r);
}

static void
flow_ready(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_flow *f = arg;
	if (f->conn->connecting)
		conn_connect_done(f->conn);
	else if (f == &f->conn->up && f->conn->http != NULL)
		proxy_http_pump(f->conn);
	else if (f == &f->conn->down && f->conn->reply != NULL)
		proxy_reply_pump(f->conn);
	else
		proxy_conn_pump(f);
}

/* One accepted client: reach the engine for it, or close it at once. */
static void
proxy_serve(struct proxy *p, int client)
{
	if (p->stats.active >= p->max_conns) {
		proxy_note_cap_reached(p);
		proxy_refuse(p, client, -1);
		return;
	}
	if (p->refusing || p->engine_addrlen == 0) {
		proxy_refuse_with(p, client, p->refusing ? p->refusal :
		    PROXY_NO_ENGINE);
		return;
	}
	int engine = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (engine < 0) {
		proxy_short_of_resources(p, "socket", errno);
		proxy_refuse(p, client, -1);
		return;
	}
	/* Connect before allocating: an engine-down storm costs no memory. */
	enum proxy_engine_connect_result r = proxy_engine_connect(engine, p);
	if (r == PROXY_ENGINE_FAILED) {
		proxy_engine_unreachable(p, errno);
		proxy_refuse(p, client, engine);
		return;
	}
	struct proxy_conn *c = conn_new(p, client, engine);
	if (c == NULL) {
		log_warn(PROXY_LOG, "out of memory for a new connection; "
		    "closing the client");
		proxy_refuse(p, client, engine);
		return;
	}
	c->connecting = true;
	conn_follow_connect(c, r);
}

static void
proxy_accept_ready(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *p = arg;
	for (;;) {
		int client = accept4(p->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (client < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				proxy_accept_recovered(p);
				return;
			}
			proxy_short_of_resources(p, "accept", errno);
			return;
		}
		p->stats.total++;
		proxy_serve(p, client);
		if (p->accept_paused)
			return;
	}
}

/* ------------------------------------------------------------------ */
/* The interface. */

struct proxy *
proxy_new(struct event_base *base, int listen_fd, int engine_fd,
    const char *engine_path, int max_conns)
{
	/*
	 * splice() into a socket cannot say MSG_NOSIGNAL, so a client that
	 * vanished would kill the agent with SIGPIPE; EPIPE is handled.
	 */
	struct sigaction sa;
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		log_warn(PROXY_LOG, "cannot ignore SIGPIPE: %s",
		    strerror(errno));

	struct proxy *p = calloc(1, sizeof *p);
	if (p == NULL) {
		log_err(PROXY_LOG, "out of memory starting the proxy");
		return NULL;
	}
	p->base = base;
	p->listen_fd = listen_fd;
	/* The config bounds it; 0 would refuse everyone, so mean at least 1. */
	p->max_conns = max_conns > 0 ? (uint64_t)max_conns : 1;
	p->budget.max = PROXY_HOLD_MAX;
	LIST_INIT(&p->conns);
	LIST_INIT(&p->refusals);
	if (layout.size == 0)
		conn_layout_init();
	if (slab_pool_init(&p->pool, layout.size) < 0) {
		log_err(PROXY_LOG, "a connection block of %zu bytes does not "
		    "fit a %d-byte slab", layout.size, SLAB_SIZE);
		free(p);
		return NULL;
	}
	proxy_set_engine(p, engine_fd, engine_path);
	p->ev_accept = event_new(base, listen_fd, EV_READ | EV_PERSIST,
	    proxy_accept_ready, p);
	p->ev_resume = evtimer_new(base, proxy_resume_timer_fired, p);
	if (p->engine_path == NULL || p->ev_accept == NULL ||
	    p->ev_resume == NULL) {
		log_err(PROXY_LOG, "out of memory starting the proxy");
		proxy_free(p);
		return NULL;
	}
	if (event_add(p->ev_accept, NULL) < 0) {
		log_err(PROXY_LOG, "cannot watch the listening socket (fd %d)",
		    listen_fd);
		proxy_free(p);
		return NULL;
	}
	return p;
}

void
proxy_set_engine(struct proxy *p, int engine_fd, const char *engine_path)
{
	char via[32];
	p->engine_fd = engine_fd;
	p->engine_addrlen = 0;
	if (engine_fd >= 0 && snprintf(via, sizeof via, "/proc/self/fd/%d",
	    engine_fd) < (int)sizeof via)
		p->engine_addrlen = util_sockaddr_un(&p->engine_addr, via);
	char *copy = strdup(engine_path);
	if (copy == NULL)
		return;		/* messages keep the old name: only a name */
	free(p->engine_path);
	p->engine_path = copy;
}

void
proxy_set_refusal(struct proxy *p, const char *message)
{
	p->refusing = message != NULL;
	snprintf(p->refusal, sizeof p->refusal, "%s", message != NULL ?
	    message : "");
	/* Connections made before stay: they passed the checks then. */
}

void
proxy_close_all(struct proxy *p)
{
	/* conn_close() unlinks the head: the analyzer cannot see that. */
	while (!LIST_EMPTY(&p->conns))
		conn_close(LIST_FIRST(&p->conns), false); /* NOLINT(clang-analyzer-unix.Malloc) */
}

void
proxy_set_create_hook(struct proxy *p, http_bind_fn fn, void *arg)
{
	p->create_fn = fn;
	p->create_arg = arg;
	proxy_wake_creates(p);	/* those held ask the new hook, or none */
}

void
proxy_set_reply_hook(struct proxy *p, http_reply_fn fn, void *arg)
{
	p->reply_fn = fn;
	p->reply_arg = arg;
}

void
proxy_stats(const struct proxy *p, struct proxy_stats *out)
{
	*out = p->stats;
}

const char *
proxy_peer_refusal(const struct proxy *p)
{
	return p != NULL && p->peer_refused ? p->peer_why : NULL;
}

void
proxy_free(struct proxy *p)
{
	if (p == NULL)
		return;
	if (p->ev_accept != NULL)
		event_free(p->ev_accept);
	p->ev_accept = NULL;
	p->accept_paused = false;	/* so closing does not re-arm it */
	proxy_close_all(p);
	while (!LIST_EMPTY(&p->refusals))
		proxy_refusal_free(LIST_FIRST(&p->refusals)); /* NOLINT(clang-analyzer-unix.Malloc) */
	slab_trim(&p->pool);
	if (p->ev_resume != NULL)
		event_free(p->ev_resume);
	free(p->engine_path);
	free(p);
}
