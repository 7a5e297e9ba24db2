/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's front door (proxy.c does the connections): its state logged
 * once per change, the connection cap, pausing accept(2) while descriptors
 * run out and resuming when one closes, and refusing a client, closed at
 * once or answered with the reason (HTTP 503 after its request head)
 * while no trusted engine socket is there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/log.h"
#include "base/util.h"
#include "wire/http.h"
#include "io/proxy-int.h"
#include "io/proxy.h"

/* Out of file descriptors: accept again after this, or when one closes. */
#define PROXY_ACCEPT_PAUSE_MS	250
/* ...and call it over once none ran out for this long. */
#define PROXY_FD_CALM_MS	10000
/* A refused client has this long to send its request head. */
#define PROXY_REFUSAL_TIMEOUT_S	5

/* ------------------------------------------------------------------ */
/* Logging the proxy's state: once per change, never per client. */

/* A logged state ended: forget its line so the next episode logs again. */
bool
proxy_state_cleared(bool *logged, const char *key)
{
	if (!*logged)
		return false;
	*logged = false;
	log_state(LOG_LVL_INFO, PROXY_LOG, key, NULL);
	return true;
}

void
proxy_engine_unreachable(struct proxy *p, int err)
{
	p->engine_down = true;
	if (err == EAGAIN)
		log_state(LOG_LVL_WARN, PROXY_LOG, "proxy.engine",
		    "the engine at %s is not accepting connections (its "
		    "listen backlog stayed full for %d ms); closing clients "
		    "until it catches up", p->engine_path,
		    PROXY_RETRY_PATIENCE_MS);
	else
		log_state(LOG_LVL_WARN, PROXY_LOG, "proxy.engine",
		    "cannot connect to the engine at %s: %s; closing clients "
		    "until it is back (is Docker Desktop running?)",
		    p->engine_path, strerror(err));
}

void
proxy_engine_reachable(struct proxy *p)
{
	if (proxy_state_cleared(&p->engine_down, "proxy.engine"))
		log_notice(PROXY_LOG, "the engine at %s is reachable again",
		    p->engine_path);
}

void
proxy_note_cap_reached(struct proxy *p)
{
	p->cap_logged = true;
	log_state(LOG_LVL_WARN, PROXY_LOG, "proxy.cap",
	    "connection cap %llu reached; closing new clients at once; "
	    "raise socket.max_connections", (unsigned long long)p->max_conns);
}

/*
 * Forget the cap message only well below the cap, so a load that hovers
 * at the limit logs once rather than at every close.
 */
void
proxy_note_below_cap(struct proxy *p)
{
	if (p->stats.active <= p->max_conns * 3 / 4)
		(void)proxy_state_cleared(&p->cap_logged, "proxy.cap");
}

/* ------------------------------------------------------------------ */
/* Accepting, and pausing when file descriptors run out. */

/*
 * Level-triggered accept on a full fd table would spin at 100% CPU, so
 * stop listening until a connection closes or a short timer runs out.
 */
void
proxy_pause_accept(struct proxy *p)
{
	if (p->accept_paused)
		return;
	struct timeval tv = { 0, PROXY_ACCEPT_PAUSE_MS * 1000 };
	if (event_del(p->ev_accept) < 0 || evtimer_add(p->ev_resume, &tv) < 0) {
		/* Without the timer nothing would resume; keep accepting. */
		log_err(PROXY_LOG, "cannot pause accepting on %d; "
		    "continuing without a pause", p->listen_fd);
		(void)event_add(p->ev_accept, NULL);
		return;
	}
	p->accept_paused = true;
}

void
proxy_resume_accept(struct proxy *p)
{
	if (!p->accept_paused)
		return;
	if (event_add(p->ev_accept, NULL) < 0) {
		log_err(PROXY_LOG, "cannot resume accepting connections; "
		    "retrying in %d ms", PROXY_ACCEPT_PAUSE_MS);
		struct timeval tv = { 0, PROXY_ACCEPT_PAUSE_MS * 1000 };
		(void)evtimer_add(p->ev_resume, &tv);
		return;
	}
	(void)event_del(p->ev_resume);
	p->accept_paused = false;
}

void
proxy_resume_timer_fired(evutil_socket_t fd, short what, void *arg)
{
	proxy_resume_accept(arg);
}

/*
 * accept4(), socket() or pipe2() failed for want of resources.  The line
 * does not say which call, so one shortage logs once whichever hits it.
 */
void
proxy_short_of_resources(struct proxy *p, const char *what, int err)
{
	p->accept_failing = true;
	p->accept_failed_ms = util_now_ms();
	if (err == EMFILE)
		log_state(LOG_LVL_ERR, PROXY_LOG, "proxy.accept",
		    "out of file descriptors; pausing new clients; raise "
		    "LimitNOFILE= in the unit (or ulimit -n)");
	else if (err == ENFILE)
		log_state(LOG_LVL_ERR, PROXY_LOG, "proxy.accept",
		    "the system's file table is full; pausing new clients; "
		    "raise fs.file-max");
	else
		log_state(LOG_LVL_ERR, PROXY_LOG, "proxy.accept",
		    "%s: %s; pausing new clients", what, strerror(err));
	proxy_pause_accept(p);
}

/*
 * Called when accept4() finds nobody waiting.  With the fd table full it
 * says EMFILE instead, and a connection needs six fds, so one free fd
 * proves little: call the shortage over only after a calm spell, or a
 * load that sits at the limit would log at every close.
 */
void
proxy_accept_recovered(struct proxy *p)
{
	if (p->accept_failing &&
	    util_now_ms() - p->accept_failed_ms >= PROXY_FD_CALM_MS &&
	    proxy_state_cleared(&p->accept_failing, "proxy.accept"))
		log_info(PROXY_LOG, "accepting clients again");
}

void
proxy_refuse(struct proxy *p, int client, int engine)
{
	p->stats.refused++;
	if (engine >= 0)
		close(engine);
	close(client);
}

/* ------------------------------------------------------------------ */
/*
 * Refusing with a reason.  While the engine socket is untrusted (or its
 * peer is not root) nothing is connected to; each client gets the
 * engine's own error format, HTTP 503 and {"message": ...}, after its
 * request head, so `docker version' prints the reason and the fix.  The
 * reply ends the connection; the next request comes on a new one.
 */

struct proxy_refusal {
	struct proxy	*proxy;
	LIST_ENTRY(proxy_refusal) entry;
	int		 fd;
	struct event	*ev;
	char		*reply;
	size_t		 len;
	size_t		 seen;		/* bytes of the head read so far */
	char		 last[2];	/* its last two bytes: finds the end */
};

void
proxy_refusal_free(struct proxy_refusal *r)
{
	struct proxy *p = r->proxy;
	LIST_REMOVE(r, entry);
	p->nrefusals--;
	if (r->ev != NULL)
		event_free(r->ev);
	close(r->fd);
	free(r->reply);
	free(r);
	proxy_resume_accept(p);
}

/* Does buf end a head ("\n\n" or "\n\r\n", across reads too)? */
static bool
refusal_head_ended(struct proxy_refusal *r, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];
		if (c == '\n' && (r->last[1] == '\n' ||
		    (r->last[1] == '\r' && r->last[0] == '\n')))
			return true;
		r->last[0] = r->last[1];
		r->last[1] = c;
	}
	return false;
}

static void
refusal_ready(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_refusal *r = arg;
	bool answer = false;
	if (what & EV_TIMEOUT) {
		proxy_refusal_free(r);
		return;
	}
	for (;;) {
		char buf[4096];
		ssize_t n = read(r->fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			proxy_refusal_free(r);	/* gone before asking */
			return;
		}
		r->seen += (size_t)n;
		if (refusal_head_ended(r, buf, (size_t)n) ||
		    r->seen >= HTTP_HEAD_MAX) {
			answer = true;
			break;
		}
	}
	if (!answer)
		return;
	/* A few hundred bytes into an empty socket buffer: one write. */
	ssize_t w;
	do
		w = send(r->fd, r->reply, r->len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	(void)shutdown(r->fd, SHUT_WR);
	proxy_refusal_free(r);
}

/* Answer client with message (after its request head), then close it. */
void
proxy_refuse_with(struct proxy *p, int client, const char *message)
{
	p->stats.refused++;
	struct proxy_refusal *r = NULL;
	if (p->nrefusals >= p->max_conns || (r = calloc(1, sizeof *r)) == NULL ||
	    (r->reply = http_error_reply(503, message, &r->len)) == NULL ||
	    (r->ev = event_new(p->base, client, EV_READ | EV_PERSIST,
	    refusal_ready, r)) == NULL) {
		if (r != NULL) {
			free(r->reply);
			free(r);
		}
		close(client);
		return;
	}
	r->proxy = p;
	r->fd = client;
	LIST_INSERT_HEAD(&p->refusals, r, entry);
	p->nrefusals++;
	struct timeval tv = { PROXY_REFUSAL_TIMEOUT_S, 0 };
	if (event_add(r->ev, &tv) < 0)
		proxy_refusal_free(r);
}

