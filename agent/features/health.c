/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host channel, wsl-docker-agent-protocol(7): the agent connects out
 * to the Windows host, says hello, sends its status every host.interval
 * seconds and at once when something meaningful changes, and answers the
 * host's requests.
 *
 * Nothing here waits for the host.  The socket is non-blocking on the
 * agent's one event loop; a report or event is written only once the host
 * has taken everything before it, otherwise it is merely noted as due and
 * built from the state of the moment the host catches up, so however long
 * the host is slow or away at most one report is pending.  Lost or refused
 * connections are retried with capped, jittered backoff, and each change
 * of the channel's state is logged once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "base/address.h"
#include "base/config.h"
#include "base/defs.h"
#include "base/log.h"
#include "base/util.h"
#include "sys/vsock.h"
#include "sys/wsl.h"
#include "wire/protocol.h"
#include "features/health.h"

#define HEALTH_ENVIRON_MAX	(64 * 1024)	/* of /proc/1/environ read */

enum health_state { HEALTH_OFF, HEALTH_CONNECTING, HEALTH_CONNECTED,
		    HEALTH_BACKOFF };

struct health {
	struct event_base	*base;
	const struct config	*cfg;		/* the agent's, for its life */
	char			 instance_id[40];
	struct health_hooks	 hooks;		/* status and requests: main/ */
	struct address		 addr;
	char			 addr_text[sizeof ((struct address *)NULL)->path + 16];
	char			 service_id[40];	/* vsock only */
	char			 vm_id[37];		/* "" when unknown */
	enum health_state	 state;
	uint64_t		 since_ms;		/* wall clock */
	char			 last_error[256];

	int			 connecting_fd;
	struct event		*connect_ev;	/* writable, or the timeout */
	struct event		*retry_ev;	/* backoff, or the first try */
	struct event		*report_ev;	/* every host.interval */
	struct event		*stable_ev;	/* PROTO_STABLE_MS after connecting */
	struct bufferevent	*bev;
	struct proto_reader	 reader;
	struct proto_flood	 flood;
	bool			 trusted;	/* may change the distro */
	bool			 reading_paused;
	bool			 closing;	/* after bad input: flush, then close */
	bool			 report_due;
	bool			 event_due;
	bool			 down_logged;	/* a failure logged since stable */
	bool			 stable;	/* up for PROTO_STABLE_MS */
	struct backoff		 backoff;	/* PROTO_BACKOFF_* */
	struct json_object	*sent;		/* canonical status last sent */
	uint64_t		 seq;
	uint64_t		 reports_sent;
	uint64_t		 events_sent;
	uint64_t		 coalesced;
	uint64_t		 connects;
};

static void health_connect(struct health *);
static void health_flush(struct health *);
static void health_read(struct bufferevent *, void *);

static const char *
health_state_name(enum health_state s)
{
	switch (s) {
	case HEALTH_OFF:	return "off";
	case HEALTH_CONNECTING:	return "connecting";
	case HEALTH_CONNECTED:	return "connected";
	case HEALTH_BACKOFF:	return "backoff";
	}
	return "off";
}

static void
health_set_state(struct health *h, enum health_state s)
{
	if (h->state != s) {
		h->state = s;
		h->since_ms = util_wall_ms();
	}
}

/* ------------------------------------------------------------------ */
/* Writing */

/* Queue one encoded line (taken, may be NULL for a failed encoding). */
static void
health_queue(struct health *h, char *line, size_t len)
{
	if (line == NULL || bufferevent_write(h->bev, line, len) < 0)
		log_state(LOG_LVL_ERR, "health", "health.write", "cannot queue "
		    "a message for the host: out of memory");
	free(line);
}

/* Queue one message (taken). */
static void
health_write(struct health *h, struct json_object *msg)
{
	size_t len = 0;
	char *line = msg != NULL ? proto_encode(msg, &len) : NULL;

	json_object_put(msg);
	health_queue(h, line, len);
}

static struct json_object *
health_status_message(struct health *h, struct json_object *status,
    struct json_object *changed)
{
	struct json_object *m = json_object_new_object();

	if (m == NULL) {
		json_object_put(status);
		json_object_put(changed);
		return NULL;
	}
	json_object_object_add(m, "type",
	    json_object_new_string(changed != NULL ? "event" : "report"));
	json_object_object_add(m, "seq", json_object_new_int64((int64_t)++h->seq));
	if (changed != NULL)
		json_object_object_add(m, "changed", changed);
	json_object_object_add(m, "status", status);
	return m;
}

/*
 * A status too large for a line loses its links first; one still too
 * large is not sent (it would take a status of thousands of problems).
 */
static void
health_write_fitted(struct health *h, struct json_object *m)
{
	size_t len = 0;
	char *line = proto_encode(m, &len);
	struct json_object *status;

	if (line != NULL && len - 1 > PROTO_OUT_LINE_MAX &&
	    json_object_object_get_ex(m, "status", &status)) {
		free(line);
		json_object_object_add(status, "links", json_object_new_array());
		json_object_object_add(m, "truncated",
		    json_object_new_boolean(1));
		line = proto_encode(m, &len);
		if (line != NULL && len - 1 > PROTO_OUT_LINE_MAX) {
			log_state(LOG_LVL_ERR, "health", "health.write", "a "
			    "status of %zu bytes does not fit the protocol's "
			    "line; not sent", len);
			free(line);
			json_object_put(m);
			return;
		}
	}
	json_object_put(m);
	health_queue(h, line, len);
}

/*
 * Send the status as an event when its meaningful part changed since the
 * last one sent, else as a report when one is due, else not at all.
 */
static void
health_send_status(struct health *h, bool report_due)
{
	struct json_object *status = h->hooks.status(h->hooks.arg);
	struct json_object *canon = proto_status_canonical(status);
	struct json_object *changed = NULL;

	if (status == NULL || canon == NULL)
		goto fail;
	if (h->sent != NULL) {
		changed = proto_status_changes(h->sent, canon);
		if (changed == NULL)
			goto fail;
		if (json_object_array_length(changed) == 0) {
			json_object_put(changed);
			changed = NULL;
			if (!report_due) {
				json_object_put(status);
				json_object_put(canon);
				return;
			}
		}
	}
	bool event = changed != NULL;
	struct json_object *m = health_status_message(h, status, changed);
	if (m == NULL) {
		json_object_put(canon);
		return;
	}
	health_write_fitted(h, m);
	json_object_put(h->sent);
	h->sent = canon;
	if (event)
		h->events_sent++;
	else
		h->reports_sent++;
	return;
fail:
	json_object_put(status);
	json_object_put(canon);
	log_state(LOG_LVL_ERR, "health", "health.write", "cannot make the "
	    "status for the host: out of memory");
}

void
health_send(struct health *h, struct json_object *msg)
{
	if (h == NULL || h->state != HEALTH_CONNECTED || h->closing) {
		json_object_put(msg);
		return;
	}
	health_write(h, msg);
}

/* Write what is due if the host has taken everything so far. */
static void
health_flush(struct health *h)
{
	if (h->state != HEALTH_CONNECTED || h->closing ||
	    (!h->report_due && !h->event_due) ||
	    evbuffer_get_length(bufferevent_get_output(h->bev)) > 0)
		return;
	bool report_due = h->report_due;
	h->report_due = h->event_due = false;
	health_send_status(h, report_due);
}

static void
health_say_bye(struct health *h, const char *reason)
{
	struct json_object *m = json_object_new_object();

	if (m == NULL)
		return;
	json_object_object_add(m, "type", json_object_new_string("bye"));
	json_object_object_add(m, "reason", json_object_new_string(reason));
	health_write(h, m);
}

/* ------------------------------------------------------------------ */
/* The hello */

/* INVOCATION_ID: 32 hex digits, set by systemd for the units it runs. */
static struct json_object *
health_systemd_json(void)
{
	struct json_object *o = json_object_new_object();
	const char *inv = getenv("INVOCATION_ID");
	bool valid = inv != NULL && strlen(inv) == 32 &&
	    strspn(inv, "0123456789abcdefABCDEF") == 32;

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "booted", json_object_new_boolean(sd_booted() > 0));
	json_object_object_add(o, "service", json_object_new_boolean(valid));
	json_object_object_add(o, "invocation_id",
	    valid ? json_object_new_string(inv) : NULL);
	return o;
}

/* NAME=value in a NUL-separated environment block. */
static const char *
health_environ_get(const char *env, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < len; i += strnlen(env + i, len - i) + 1)
		if (len - i > n && strncmp(env + i, name, n) == 0 &&
		    env[i + n] == '=' && memchr(env + i, '\0', len - i) != NULL)
			return env + i + n + 1;
	return NULL;
}

/*
 * WSL sets WSL2_VM_ID for some of its own processes: look in ours, then
 * in init's.  A well-formed GUID only; none is the usual answer.
 */
static bool
health_wsl_vm_id(char out[37])
{
	const char *env = getenv("WSL2_VM_ID");

	if (env != NULL && proto_guid_normalize(env, out))
		return true;
	int fd = open("/proc/1/environ", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char *buf = malloc(HEALTH_ENVIRON_MAX + 1);
	ssize_t n = buf != NULL ? read(fd, buf, HEALTH_ENVIRON_MAX) : -1;
	close(fd);
	bool found = false;
	if (n > 0) {
		buf[n] = '\0';
		const char *v = health_environ_get(buf, (size_t)n + 1,
		    "WSL2_VM_ID");
		found = v != NULL && proto_guid_normalize(v, out);
	}
	free(buf);
	return found;
}

static struct json_object *
health_hello(struct health *h)
{
	struct json_object *o = json_object_new_object();
	struct utsname u;

	if (o == NULL)
		return NULL;
	if (uname(&u) < 0)
		snprintf(u.release, sizeof u.release, "unknown");
	json_object_object_add(o, "type", json_object_new_string("hello"));
	json_object_object_add(o, "protocol", json_object_new_int(PROTO_VERSION));
	json_object_object_add(o, "agent", json_object_new_string(AGENT_NAME));
	json_object_object_add(o, "agent_version",
	    json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "distro", json_object_new_string(
	    h->cfg->distro != NULL ? h->cfg->distro : ""));
	json_object_object_add(o, "instance_id",
	    json_object_new_string(h->instance_id));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "kernel", json_object_new_string(u.release));
	json_object_object_add(o, "wsl2",
	    json_object_new_boolean(wsl_kernel_is_wsl2()));
	json_object_object_add(o, "systemd", health_systemd_json());
	json_object_object_add(o, "wsl_vm_id", h->vm_id[0] != '\0' ?
	    json_object_new_string(h->vm_id) : NULL);
	json_object_object_add(o, "interval_s",
	    json_object_new_int(h->cfg->host_interval));
	json_object_object_add(o, "wall_clock_ms",
	    json_object_new_int64((int64_t)util_wall_ms()));
	json_object_object_add(o, "requests", proto_requests_json());
	json_object_object_add(o, "limits", proto_limits_json());
	return o;
}

/* ------------------------------------------------------------------ */
/* Requests */

static void
health_handle(struct health *h, struct json_object *msg)
{
	struct proto_request_msg rq;
	char why[CONFIG_ERR_LEN] = "";
	struct json_object *result = NULL;
	enum proto_error e = proto_parse_request(msg, &rq, why, sizeof why);

	/*
	 * What the request changes is told later, through main/'s deferred
	 * "changed" notice: the events it causes follow its reply.
	 */
	if (e == PROTO_OK)
		result = h->hooks.request(h->hooks.arg, &rq, h->trusted, &e, why,
		    sizeof why);
	if (e != PROTO_OK)
		log_debug("health", "request refused (%s): %s",
		    proto_error_name(e), why);
	health_write(h, proto_reply(rq.id, e, why, result));
	json_object_put(msg);
}

static void
health_bad_input(struct health *h, const struct proto_item *item)
{
	health_write(h, proto_reply(NULL, item->error, item->message, NULL));
	if (item->error != PROTO_ERR_BAD_JSON &&
	    item->error != PROTO_ERR_TOO_LARGE)
		return;
	log_state(LOG_LVL_WARN, "health", "health.badline", "the host at %s "
	    "sent a line the agent cannot use (%s); answered with an error",
	    h->addr_text, proto_error_name(item->error));
	if (!proto_flood_note(&h->flood, util_now_ms()))
		return;
	log_state(LOG_LVL_WARN, "health", "health.flood", "the host at %s "
	    "sent %d bad lines within %d s; closing the connection and "
	    "reconnecting", h->addr_text, PROTO_BAD_MAX,
	    PROTO_BAD_WINDOW_MS / 1000);
	health_say_bye(h, "bad-input");
	/* Closed from the write callback, once the reply and bye are out. */
	h->closing = true;
	bufferevent_disable(h->bev, EV_READ);
}

/* ------------------------------------------------------------------ */
/* The connection */

static void
health_retry_later(struct health *h)
{
	uint32_t ms = backoff_next(&h->backoff, util_random());
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000 };
	health_set_state(h, HEALTH_BACKOFF);
	if (evtimer_add(h->retry_ev, &tv) < 0)
		log_state(LOG_LVL_ERR, "health", "health.timer", "cannot arm "
		    "the reconnection timer; the host channel stops");
}

/* An attempt failed (before a connection was made). */
static void
health_failed(struct health *h, const char *reason)
{
	snprintf(h->last_error, sizeof h->last_error, "%s", reason);
	log_state(LOG_LVL_WARN, "health", "health.down", "cannot reach the "
	    "host at %s: %s; retrying with backoff (at most %d s apart)",
	    h->addr_text, reason, PROTO_BACKOFF_CAP_MS / 1000);
	h->down_logged = true;
	health_retry_later(h);
}

static void
health_drop_connection(struct health *h)
{
	if (h->bev != NULL)
		bufferevent_free(h->bev);
	h->bev = NULL;
	event_del(h->report_ev);
	event_del(h->stable_ev);
	proto_reader_reset(&h->reader);
	json_object_put(h->sent);
	h->sent = NULL;
	h->report_due = h->event_due = h->closing = h->reading_paused = false;
}

/*
 * A connection that was up ended.  After a stable one the schedule starts
 * over and the next connection is logged again; after one closed for bad
 * input, or a short one (a flapping host), neither.
 */
static void
health_lost(struct health *h, const char *reason, bool bad_input)
{
	health_drop_connection(h);
	if (h->stable && !bad_input) {
		backoff_reset(&h->backoff);
		log_state(LOG_LVL_NOTICE, "health", "health.up", NULL);
	}
	h->stable = false;
	snprintf(h->last_error, sizeof h->last_error, "%s", reason);
	log_state(LOG_LVL_WARN, "health", "health.down", "lost the host at "
	    "%s: %s; reconnecting with backoff", h->addr_text, reason);
	h->down_logged = true;
	health_retry_later(h);
}

static void
health_on_write(struct bufferevent *bev, void *arg)
{
	struct health *h = arg;

	/* The output buffer is empty. */
	if (h->closing) {
		health_lost(h, "closed after repeated bad input", true);
		return;
	}
	if (h->reading_paused) {
		h->reading_paused = false;
		bufferevent_enable(bev, EV_READ);
		health_read(bev, h);
	}
	health_flush(h);
}

static void
health_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct health *h = arg;
	char reason[160];

	if (what & BEV_EVENT_EOF)
		snprintf(reason, sizeof reason, "the host closed the connection");
	else if (what & BEV_EVENT_TIMEOUT)
		snprintf(reason, sizeof reason, "the host stopped reading (nothing "
		    "taken for %d s)", PROTO_STALL_S);
	else
		snprintf(reason, sizeof reason, "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	health_lost(h, reason, false);
}

static void
health_read(struct bufferevent *bev, void *arg)
{
	struct health *h = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);

	while (!h->closing && evbuffer_get_length(in) > 0) {
		if (evbuffer_get_length(out) >= PROTO_OUT_MAX) {
			/* The host is not reading our replies: stop reading. */
			h->reading_paused = true;
			bufferevent_disable(bev, EV_READ);
			break;
		}
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		struct proto_item item;
		size_t used = 0;
		enum proto_step st = proto_reader_feed(&h->reader, v.iov_base,
		    v.iov_len, &used, &item);
		evbuffer_drain(in, used);
		if (st == PROTO_STEP_MESSAGE)
			health_handle(h, item.msg);
		else if (st == PROTO_STEP_ERROR)
			health_bad_input(h, &item);
	}
	health_flush(h);
}

/* Over unix, changing the distro is for root or our own user only. */
static bool
health_peer_trusted(struct health *h, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;

	if (h->addr.kind == ADDRESS_VSOCK)
		return true;	/* only the Windows host can be at CID 2 */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_state(LOG_LVL_WARN, "health", "health.cred", "cannot tell "
		    "who listens at %s (%s); it may not change the distro",
		    h->addr_text, strerror(errno));
		return false;
	}
	bool trusted = cred.uid == 0 || cred.uid == geteuid();
	if (!trusted)
		log_state(LOG_LVL_NOTICE, "health", "health.cred", "the host at "
		    "%s runs as uid %u: it may read the status but not change "
		    "the distro", h->addr_text, (unsigned)cred.uid);
	return trusted;
}

static void
health_connected(struct health *h, int fd)
{
	struct timeval stall = { PROTO_STALL_S, 0 };
	struct timeval stable = { PROTO_STABLE_MS / 1000, 0 };
	struct timeval interval = { h->cfg->host_interval, 0 };

	h->trusted = health_peer_trusted(h, fd);
	h->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (h->bev == NULL) {
		close(fd);
		health_failed(h, "out of memory");
		return;
	}
	bufferevent_setcb(h->bev, health_read, health_on_write, health_on_event, h);
	bufferevent_set_timeouts(h->bev, NULL, &stall);
	/* Take no more input than one line while replies wait (see read). */
	bufferevent_setwatermark(h->bev, EV_READ, 0, PROTO_LINE_MAX);
	if (bufferevent_enable(h->bev, EV_READ | EV_WRITE) < 0) {
		health_drop_connection(h);
		health_failed(h, "cannot watch the connection");
		return;
	}
	h->connects++;
	h->last_error[0] = '\0';
	h->seq = 0;
	memset(&h->flood, 0, sizeof h->flood);
	health_set_state(h, HEALTH_CONNECTED);
	log_state(LOG_LVL_NOTICE, "health", "health.up", "connected to the host "
	    "at %s", h->addr_text);
	health_write(h, health_hello(h));
	health_send_status(h, true);
	if (event_add(h->report_ev, &interval) < 0 ||
	    evtimer_add(h->stable_ev, &stable) < 0)
		log_state(LOG_LVL_ERR, "health", "health.timer", "cannot arm the "
		    "report timer; reports follow changes only");
}

static void
health_connect_done(evutil_socket_t fd, short what, void *arg)
{
	struct health *h = arg;
	int soerr = 0;
	socklen_t len = sizeof soerr;

	event_free(h->connect_ev);
	h->connect_ev = NULL;
	h->connecting_fd = -1;
	if (what & EV_TIMEOUT)
		soerr = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr != 0) {
		char reason[160];
		snprintf(reason, sizeof reason, "%s%s", strerror(soerr),
		    (what & EV_TIMEOUT) ? " (no answer within 5 s)" : "");
		close(fd);
		health_failed(h, reason);
		return;
	}
	health_connected(h, fd);
}

static void
health_connect(struct health *h)
{
	char err[256];
	bool in_progress;
	struct timeval tv = { PROTO_CONNECT_TIMEOUT_MS / 1000,
	    (PROTO_CONNECT_TIMEOUT_MS % 1000) * 1000 };

	health_set_state(h, HEALTH_CONNECTING);
	int fd = vsock_connect(&h->addr, &in_progress, err, sizeof err);
	if (fd < 0) {
		health_failed(h, err);
		return;
	}
	if (!in_progress) {
		health_connected(h, fd);
		return;
	}
	h->connect_ev = event_new(h->base, fd, EV_WRITE,
	    health_connect_done, h);
	if (h->connect_ev == NULL || event_add(h->connect_ev, &tv) < 0) {
		if (h->connect_ev != NULL)
			event_free(h->connect_ev);
		h->connect_ev = NULL;
		close(fd);
		health_failed(h, "cannot wait for the connection");
		return;
	}
	h->connecting_fd = fd;
}

static void
health_on_retry(evutil_socket_t fd, short what, void *arg)
{
	health_connect(arg);
}

static void
health_on_report(evutil_socket_t fd, short what, void *arg)
{
	struct health *h = arg;

	if (h->report_due || h->event_due)
		h->coalesced++;
	h->report_due = true;
	health_flush(h);
}

static void
health_on_stable(evutil_socket_t fd, short what, void *arg)
{
	struct health *h = arg;

	h->stable = true;
	if (h->down_logged) {
		/* After a run of failures, say once that it holds now. */
		h->down_logged = false;
		log_state(LOG_LVL_NOTICE, "health", "health.down", NULL);
		log_state(LOG_LVL_NOTICE, "health", "health.up", NULL);
		log_state(LOG_LVL_NOTICE, "health", "health.up", "connected to "
		    "the host at %s, for %d s now", h->addr_text,
		    PROTO_STABLE_MS / 1000);
	}
}

/* ------------------------------------------------------------------ */
/* Life cycle */

static void
health_forget_logs(void)
{
	static const char *const keys[] = { "health.up", "health.down",
	    "health.badline", "health.flood", "health.cred", "health.write",
	    "health.timer" };

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		log_state(LOG_LVL_INFO, "health", keys[i], NULL);
}

/* Where to report, or why not (then the address is none). */
static void
health_choose_address(struct health *h)
{
	const char *configured = h->cfg->host_address;
	char err[CONFIG_ERR_LEN];

	if (configured == NULL && !wsl_kernel_is_wsl2()) {
		snprintf(h->last_error, sizeof h->last_error, "host.address is "
		    "auto and this kernel is not WSL 2");
		log_state(LOG_LVL_NOTICE, "health", "health.off", "host reporting "
		    "is off: this is not WSL 2 and host.address is not set; set "
		    "it to unix:/PATH or vsock:2:%d to report", PROTO_DEFAULT_PORT);
		return;
	}
	if (configured == NULL) {
		h->addr.kind = ADDRESS_VSOCK;
		h->addr.cid = VSOCK_CID_HOST;
		h->addr.port = PROTO_DEFAULT_PORT;
	} else if (address_parse(configured, &h->addr, err, sizeof err) < 0) {
		/* config.c validated it; only a bug gets here. */
		snprintf(h->last_error, sizeof h->last_error, "%s", err);
		h->addr.kind = ADDRESS_NONE;
	} else if (h->addr.kind == ADDRESS_VSOCK &&
	    !vsock_cid_allowed(h->addr.cid)) {
		snprintf(h->last_error, sizeof h->last_error, "refusing vsock "
		    "CID %u: set host.address to vsock:2:PORT, the Windows host",
		    (unsigned)h->addr.cid);
		h->addr.kind = ADDRESS_NONE;
	} else if (h->addr.kind == ADDRESS_NONE)
		snprintf(h->last_error, sizeof h->last_error, "host.address is "
		    "none");
	if (h->addr.kind == ADDRESS_NONE)
		log_state(LOG_LVL_NOTICE, "health", "health.off", "host reporting "
		    "is off: %s", h->last_error);
}

struct health *
health_new(struct event_base *base, const struct config *cfg,
    const char *instance_id, const struct health_hooks *hooks)
{
	struct health *h = calloc(1, sizeof *h);

	if (h == NULL) {
		log_err("health", "out of memory; host reporting is off");
		return NULL;
	}
	h->base = base;
	h->cfg = cfg;
	snprintf(h->instance_id, sizeof h->instance_id, "%s", instance_id);
	h->hooks = *hooks;
	h->connecting_fd = -1;
	h->since_ms = util_wall_ms();
	proto_reader_init(&h->reader, PROTO_LINE_MAX);
	h->backoff = (struct backoff){ PROTO_BACKOFF_BASE_MS,
	    PROTO_BACKOFF_CAP_MS, 0 };
	health_forget_logs();
	health_choose_address(h);
	address_format(&h->addr, h->addr_text, sizeof h->addr_text);
	if (h->addr.kind == ADDRESS_NONE)
		return h;	/* state off: status still shows why */
	log_state(LOG_LVL_INFO, "health", "health.off", NULL);
	if (h->addr.kind == ADDRESS_VSOCK)
		vsock_service_id(h->addr.port, h->service_id,
		    sizeof h->service_id);
	if (!health_wsl_vm_id(h->vm_id))
		h->vm_id[0] = '\0';
	h->retry_ev = evtimer_new(base, health_on_retry, h);
	h->report_ev = event_new(base, -1, EV_PERSIST, health_on_report, h);
	h->stable_ev = evtimer_new(base, health_on_stable, h);
	struct timeval now = { 0, 0 };
	if (h->retry_ev == NULL || h->report_ev == NULL || h->stable_ev == NULL ||
	    evtimer_add(h->retry_ev, &now) < 0) {
		log_err("health", "cannot set up the host channel's timers; host "
		    "reporting is off");
		health_free(h, false);
		return NULL;
	}
	/* The first attempt runs from the loop, after the first reconcile. */
	health_set_state(h, HEALTH_CONNECTING);
	return h;
}

void
health_state_changed(struct health *h)
{
	if (h == NULL || h->state != HEALTH_CONNECTED)
		return;		/* a new connection starts with a report */
	if (h->event_due || h->report_due)
		h->coalesced++;
	h->event_due = true;
	health_flush(h);
}

struct json_object *
health_status_json(struct health *h)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "address", json_object_new_string(h->addr_text));
	json_object_object_add(o, "state",
	    json_object_new_string(health_state_name(h->state)));
	json_object_object_add(o, "since",
	    json_object_new_int64((int64_t)h->since_ms));
	json_object_object_add(o, "last_error", h->last_error[0] != '\0' ?
	    json_object_new_string(h->last_error) : NULL);
	json_object_object_add(o, "reports_sent",
	    json_object_new_int64((int64_t)h->reports_sent));
	json_object_object_add(o, "events_sent",
	    json_object_new_int64((int64_t)h->events_sent));
	json_object_object_add(o, "coalesced",
	    json_object_new_int64((int64_t)h->coalesced));
	json_object_object_add(o, "connects",
	    json_object_new_int64((int64_t)h->connects));
	json_object_object_add(o, "service_id", h->service_id[0] != '\0' ?
	    json_object_new_string(h->service_id) : NULL);
	return o;
}

void
health_free(struct health *h, bool stopping)
{
	if (h == NULL)
		return;
	if (h->bev != NULL) {
		/*
		 * One try, without waiting: the loop is ending or restarting.
		 * (The bufferevent's buffer drains only from inside libevent.)
		 */
		health_say_bye(h, stopping ? "stopping" : "reconfigured");
		struct evbuffer *out = bufferevent_get_output(h->bev);
		size_t n = evbuffer_get_length(out);
		unsigned char *pending = evbuffer_pullup(out, -1);
		if (pending != NULL && send(bufferevent_getfd(h->bev), pending, n,
		    MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			log_debug("health", "no bye to the host: %s",
			    strerror(errno));
		bufferevent_free(h->bev);
	}
	if (h->connect_ev != NULL)
		event_free(h->connect_ev);
	if (h->connecting_fd >= 0)
		close(h->connecting_fd);
	if (h->retry_ev != NULL)
		event_free(h->retry_ev);
	if (h->report_ev != NULL)
		event_free(h->report_ev);
	if (h->stable_ev != NULL)
		event_free(h->stable_ev);
	proto_reader_free(&h->reader);
	json_object_put(h->sent);
	free(h);
}
