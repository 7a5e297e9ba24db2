/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket: one JSON request line in, one JSON reply line out.
 * Any local user may ask for status (the shim does, to explain itself);
 * only root may change anything (checked with the peer's credentials).
 * What each request does and returns is the handler's
 * (features/request.c, shared with the host channel; a user other than
 * root sees only the bind sources it owns); this file frames it.
 *
 *   {"request":"status"}     -> the status object (as `status --json`)
 *   {"request":"ping"}       -> {"ok":true,"pong":true,"echo":null,
 *                                "wall_clock_ms":N}
 *   {"request":"reconcile"}  -> {"ok":true, the status object's members}
 *                                                            (root)
 *   {"request":"disable"}    -> {"ok":true,"disabled":true}  (root)
 *   {"request":"enable"}     -> {"ok":true,"disabled":false} (root)
 * That is: the status request's reply is the status object; any other
 * request's is {"ok":true} with the members of its result in
 * wsl-docker-agent-protocol(7).
 * Errors: {"ok":false,"error":CLASS,"message":TEXT} with CLASS one of
 * bad-json, too-large, unknown-request, forbidden, failed.
 *
 * Connections are bounded without ever locking root out (issue 19): each
 * ordinary user may hold CONTROL_MAX_PER_UID at once and all of them
 * together CONTROL_MAX_CLIENTS, while root has CONTROL_MAX_ROOT of its
 * own that nobody else can take.  One over a limit gets a "failed" line
 * naming it and is closed; the uid comes from SO_PEERCRED at accept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <json-c/json.h>

#include "base/config.h"
#include "base/defs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "io/control.h"

#define CONTROL_MAX_CLIENTS	64	/* ordinary users', all together */
#define CONTROL_MAX_PER_UID	8	/* ...and each one's */
#define CONTROL_MAX_ROOT	64	/* root's own, apart from those */

struct control_client {
	struct control		*control;
	LIST_ENTRY(control_client) entry;
	struct bufferevent	*bev;
	uid_t			 uid;
	bool			 replied;
};

struct control {
	struct event_base	*base;
	control_handler_fn	*handle;
	void			*arg;
	struct evconnlistener	*listener;
	LIST_HEAD(, control_client) clients;
	int			 nusers;	/* clients not root's */
	int			 nroot;
	char			*path;
};

static void
control_client_free(struct control_client *c)
{
	if (c->uid == 0)
		c->control->nroot--;
	else
		c->control->nusers--;
	LIST_REMOVE(c, entry);
	bufferevent_free(c->bev);
	free(c);
}

static void
control_reply(struct control_client *c, struct json_object *reply)
{
	const char *text = json_object_to_json_string_ext(reply,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add(out, text, strlen(text));
	evbuffer_add(out, "\n", 1);
	json_object_put(reply);
	c->replied = true;
	bufferevent_disable(c->bev, EV_READ);
}

struct json_object *
control_error_reply(const char *class, const char *message)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(class));
	json_object_object_add(o, "message", json_object_new_string(message));
	return o;
}

/* {"ok":true} and the members of the result (taken). */
struct json_object *
control_ok_reply(struct json_object *result)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL || result == NULL) {
		json_object_put(o);
		json_object_put(result);
		return NULL;
	}
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_foreach(result, name, v) {
		json_object_object_add(o, name, json_object_get(v));
	}
	json_object_put(result);
	return o;
}

/* The request, one JSON object with a "request" name; NULL (*reply why). */
static struct json_object *
control_parse(const char *line, struct json_object **reply)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (tok == NULL) {
		*reply = control_error_reply("failed", "out of memory");
		return NULL;
	}
	struct json_object *req = json_parse(tok, line, strlen(line));
	bool complete = json_tokener_get_error(tok) == json_tokener_success &&
	    tok->char_offset == (int)strlen(line);
	json_tokener_free(tok);
	if (req == NULL || !complete ||
	    json_string(req, "request") == NULL) {
		json_object_put(req);
		*reply = control_error_reply("bad-json", "send one JSON object "
		    "per line, such as {\"request\":\"status\"}");
		return NULL;
	}
	return req;
}

static struct json_object *
control_handle(struct control_client *c, const char *line)
{
	struct json_object *reply = NULL;
	struct json_object *req = control_parse(line, &reply);
	if (req == NULL)
		return reply;
	reply = c->control->handle(c->control->arg, req, c->uid);
	json_object_put(req);
	return reply != NULL ? reply : control_error_reply("failed",
	    "out of memory");
}

static void
control_read(struct bufferevent *bev, void *arg)
{
	struct control_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	if (c->replied)
		return;
	size_t len;
	char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > CONTROL_MAX_LINE)
			control_reply(c, control_error_reply("too-large", "a request "
			    "line is limited to 4096 bytes"));
		return;
	}
	struct json_object *reply = len > CONTROL_MAX_LINE ?
	    control_error_reply("too-large", "a request line is limited to 4096 bytes") :
	    control_handle(c, line);
	free(line);
	if (reply == NULL)
		reply = control_error_reply("failed", "out of memory");
	control_reply(c, reply);
}

static void
control_write(struct bufferevent *bev, void *arg)
{
	struct control_client *c = arg;
	if (c->replied)
		control_client_free(c);	/* reply flushed */
}

static void
control_event(struct bufferevent *bev, short what, void *arg)
{
	control_client_free(arg);	/* EOF, error or timeout */
}

/*
 * Why uid may not have one more connection now, in *why; false if it may.
 * Root's limit is its own: ordinary users cannot use it up.
 */
static bool
control_over_limit(const struct control *ctl, uid_t uid, char *why,
    size_t whylen)
{
	if (uid == 0) {
		snprintf(why, whylen, "root already holds %d control connections, "
		    "the most it may at once; close some and try again",
		    CONTROL_MAX_ROOT);
		return ctl->nroot >= CONTROL_MAX_ROOT;
	}
	int mine = 0;
	const struct control_client *c;
	LIST_FOREACH(c, &ctl->clients, entry)
		mine += c->uid == uid;
	if (mine >= CONTROL_MAX_PER_UID) {
		snprintf(why, whylen, "uid %u already holds %d control "
		    "connections, the most one user may at once; close some "
		    "(each request needs one) and try again", (unsigned)uid,
		    CONTROL_MAX_PER_UID);
		return true;
	}
	snprintf(why, whylen, "ordinary users hold %d control connections, "
	    "the most they may at once; try again shortly (root always gets "
	    "in)", CONTROL_MAX_CLIENTS);
	return ctl->nusers >= CONTROL_MAX_CLIENTS;
}

/* One line saying why, then closed: never waits for the client. */
static void
control_refuse(int fd, uid_t uid, const char *why)
{
	log_state(LOG_LVL_WARN, "control", "control.cap", "refusing control "
	    "clients of uid %u: %s", (unsigned)uid, why);
	struct json_object *o = control_error_reply("failed", why);
	const char *text = o != NULL ? json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
	if (text != NULL) {
		/* A few hundred bytes into an empty socket buffer. */
		ssize_t w;
		do
			w = send(fd, text, strlen(text), MSG_DONTWAIT |
			    MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		if (w == (ssize_t)strlen(text))
			(void)send(fd, "\n", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	json_object_put(o);
	close(fd);
}

static void
control_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control *ctl = arg;
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(fd);
		return;
	}
	char why[256];
	if (control_over_limit(ctl, cred.uid, why, sizeof why)) {
		control_refuse(fd, cred.uid, why);
		return;
	}
	struct control_client *c = calloc(1, sizeof *c);
	struct bufferevent *bev = bufferevent_socket_new(ctl->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c == NULL || bev == NULL) {
		free(c);
		if (bev != NULL)
			bufferevent_free(bev);
		else
			close(fd);
		return;
	}
	c->control = ctl;
	c->bev = bev;
	c->uid = cred.uid;
	LIST_INSERT_HEAD(&ctl->clients, c, entry);
	if (c->uid == 0)
		ctl->nroot++;
	else
		ctl->nusers++;
	struct timeval tv = { CONTROL_TIMEOUT_S, 0 };
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_setcb(bev, control_read, control_write, control_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

struct control *
control_new(struct event_base *base, const char *path,
    control_handler_fn *handle, void *arg)
{
	struct sockaddr_un sun;
	socklen_t sunlen = util_sockaddr_un(&sun, path);
	if (sunlen == 0) {
		log_err("control", "control_socket %s is too long for a unix "
		    "socket; set a shorter one", path);
		return NULL;
	}
	if (util_mkdir_parent(path, 0755) < 0)
		log_warn("control", "cannot create the directory of %s: %s",
		    path, strerror(errno));
	/* We hold the single-instance lock, so whatever is there is stale. */
	(void)unlink(path);
	struct control *ctl = calloc(1, sizeof *ctl);
	if (ctl == NULL)
		return NULL;
	ctl->base = base;
	ctl->handle = handle;
	ctl->arg = arg;
	LIST_INIT(&ctl->clients);
	ctl->path = strdup(path);
	mode_t old = umask(0);
	ctl->listener = evconnlistener_new_bind(base, control_accept, ctl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&sun, sunlen);
	umask(old);
	if (ctl->listener == NULL || ctl->path == NULL) {
		log_err("control", "cannot listen on %s: %s; status will not "
		    "answer", path, strerror(errno));
		control_free(ctl);
		return NULL;
	}
	(void)chmod(path, 0666);
	return ctl;
}

void
control_free(struct control *ctl)
{
	if (ctl == NULL)
		return;
	while (!LIST_EMPTY(&ctl->clients))
		control_client_free(LIST_FIRST(&ctl->clients)); /* NOLINT(clang-analyzer-unix.Malloc) */
	if (ctl->listener != NULL) {
		evconnlistener_free(ctl->listener);
		if (ctl->path != NULL)
			(void)unlink(ctl->path);
	}
	free(ctl->path);
	free(ctl);
}
