/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ask the engine how it is: GET /_ping (latency) then GET /version, each on
 * its own HTTP/1.0 connection (io/engine-get.c), asynchronously on the
 * event loop: a probe never blocks the proxy.  It connects through the
 * engine socket's descriptor features/desktop.c's view trusts, never by
 * path, and asks nothing while there is none.
 *
 * A probe runs at each reconcile and on the heartbeat.  An engine whose
 * socket is there but which does not answer (Docker Desktop starting) is
 * asked again soon: the retry timer is the probe's own, its waits backing
 * off from one second up to host.interval and starting over once the
 * engine answered.  A result that changed is told with notify_post().
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "base/json.h"
#include "base/config.h"
#include "base/defs.h"
#include "base/log.h"
#include "base/report.h"
#include "base/text.h"
#include "base/util.h"
#include "io/engine-get.h"
#include "io/notify.h"
#include "features/desktop.h"
#include "features/probe.h"

#define PROBE_TIMEOUT_S		3
#define PROBE_REPLY_MAX		(64 * 1024)
#define PROBE_RETRY_FIRST_MS	1000

enum probe_step { PROBE_PING, PROBE_VERSION };

/* What the last probe learned. */
struct probe_info {
	bool	 reachable;
	double	 ping_ms;
	char	 version[64];
	char	 api_version[16];
	char	 error[256];
	uint64_t checked_ms;	/* wall clock of the last probe */
};

/* One probe under way. */
struct probe_ask {
	struct probe		*probe;
	struct engine_get	*get;
	enum probe_step		 step;
	uint64_t		 started_us;
	double			 ping_ms;
};

struct probe {
	struct event_base	*base;
	const struct config	*cfg;
	struct notify		*notify;
	/* The facts of the last reconcile. */
	bool			 engine_present;
	int			 engine_fd;	/* trusted, or -1 */
	char			*engine_path;
	bool			 disabled;
	struct probe_ask	*ask;		/* the one under way, or NULL */
	struct probe_info	 info;
	struct event		*retry_ev;
	struct backoff		 backoff;
};

static uint64_t
probe_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * An engine that should answer but does not is asked again soon; one
 * that answered starts the backoff over.
 */
static void
probe_retry_later(struct probe *p)
{
	if (p->engine_present && !p->info.reachable && !p->disabled &&
	    p->retry_ev != NULL && !evtimer_pending(p->retry_ev, NULL)) {
		p->backoff.cap_ms = (uint32_t)p->cfg->host_interval * 1000;
		uint32_t ms = backoff_next(&p->backoff, util_random());
		struct timeval tv = { (time_t)(ms / 1000),
		    (suseconds_t)(ms % 1000) * 1000 };
		evtimer_add(p->retry_ev, &tv);
	} else if (p->info.reachable)
		backoff_reset(&p->backoff);
}

static void probe_step(struct probe_ask *);

static void
probe_finish(struct probe_ask *a, bool ok, const char *error)
{
	struct probe *p = a->probe;
	struct probe_info *i = &p->info;
	struct probe_info old = *i;
	i->reachable = ok;
	i->checked_ms = util_wall_ms();
	if (ok) {
		i->ping_ms = a->ping_ms;
		i->error[0] = '\0';
		log_state(LOG_LVL_NOTICE, "engine", "engine", "engine reachable "
		    "(version %s, API %s)", i->version, i->api_version);
	} else {
		snprintf(i->error, sizeof i->error, "%s", error);
		log_state(LOG_LVL_WARN, "engine", "engine", "engine not "
		    "reachable at %s: %s", p->engine_path, error);
	}
	engine_get_free(a->get);
	p->ask = NULL;
	free(a);
	if (old.reachable != i->reachable ||
	    strcmp(old.version, i->version) != 0 ||
	    strcmp(old.error, i->error) != 0) {
		probe_retry_later(p);
		notify_post(p->notify);
	}
}

static void
probe_copy_field(struct json_object *o, const char *key, char *dst, size_t len)
{
	const char *s = json_string(o, key);
	if (s != NULL)
		snprintf(dst, len, "%s", s);
}

static void
probe_reply(int code, struct evbuffer *body, const char *error, void *arg)
{
	struct probe_ask *a = arg;
	if (error != NULL) {
		probe_finish(a, false, error);
		return;
	}
	if (code != 200) {
		char err[128];
		const char *what = a->step == PROBE_PING ? "/_ping" : "/version";
		if (code <= 0)	/* libevent could not read an HTTP answer */
			snprintf(err, sizeof err, "GET %s got no HTTP answer; "
			    "is something other than the engine listening?",
			    what);
		else
			snprintf(err, sizeof err, "GET %s answered %d", what,
			    code);
		probe_finish(a, false, err);
		return;
	}
	if (a->step == PROBE_PING) {
		a->ping_ms = (double)(probe_now_us() - a->started_us) / 1000.0;
		engine_get_free(a->get);
		a->get = NULL;
		a->step = PROBE_VERSION;
		probe_step(a);
		return;
	}
	struct json_object *v = engine_get_json(body, JSON_MAX_DEPTH);
	if (v == NULL) {
		probe_finish(a, false, "GET /version returned no JSON");
		return;
	}
	struct probe_info *i = &a->probe->info;
	probe_copy_field(v, "Version", i->version, sizeof i->version);
	probe_copy_field(v, "ApiVersion", i->api_version, sizeof i->api_version);
	json_object_put(v);
	probe_finish(a, true, NULL);
}

static void
probe_step(struct probe_ask *a)
{
	static const struct engine_get_opts opts = {
		.max = PROBE_REPLY_MAX, .timeout_s = PROBE_TIMEOUT_S,
	};
	struct probe *p = a->probe;
	a->started_us = probe_now_us();
	a->get = engine_get_new(p->base, p->engine_fd, p->engine_path,
	    a->step == PROBE_PING ? "/_ping" : "/version", &opts, probe_reply,
	    a);
	if (a->get == NULL)
		probe_finish(a, false, strerror(errno));
}

void
probe_start(struct probe *p)
{
	if (p->ask != NULL)
		return;		/* one at a time; its result is fresh enough */
	if (!p->engine_present) {
		bool was = p->info.reachable;
		p->info.reachable = false;
		snprintf(p->info.error, sizeof p->info.error,
		    "no engine socket at %s", p->engine_path);
		if (was)
			log_state(LOG_LVL_WARN, "engine", "engine",
			    "engine gone: %s", p->info.error);
		return;
	}
	if (p->engine_fd < 0) {
		/* The view does not trust it: connect to nothing (status says why). */
		p->info.reachable = false;
		p->info.checked_ms = util_wall_ms();
		snprintf(p->info.error, sizeof p->info.error, "not asked: the "
		    "engine socket %s is untrusted", p->engine_path);
		return;
	}
	struct probe_ask *a = calloc(1, sizeof *a);
	if (a == NULL)
		return;
	a->probe = p;
	a->step = PROBE_PING;
	p->ask = a;
	probe_step(a);
}

static void
probe_retry_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	probe_start(arg);
}

void
probe_reconcile(struct probe *p, const struct desktop_view *v, bool disabled)
{
	p->engine_present = v->engine_present;
	p->engine_fd = v->engine_fd;
	p->disabled = disabled;
	if (strcmp(p->engine_path, v->engine_path) != 0) {
		char *path = strdup(v->engine_path);
		if (path != NULL) {
			free(p->engine_path);
			p->engine_path = path;
		}
	}
	probe_start(p);
	probe_retry_later(p);
}

struct probe *
probe_new(struct event_base *base, const struct config *cfg, struct notify *n)
{
	struct probe *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->base = base;
	p->cfg = cfg;
	p->notify = n;
	p->engine_fd = -1;
	p->backoff = (struct backoff){ PROBE_RETRY_FIRST_MS, 0, 0 };
	p->engine_path = strdup("");
	p->retry_ev = evtimer_new(base, probe_retry_fired, p);
	if (p->engine_path == NULL || p->retry_ev == NULL) {
		probe_free(p);
		return NULL;
	}
	return p;
}

void
probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	if (p->ask != NULL) {
		engine_get_free(p->ask->get);
		free(p->ask);
	}
	if (p->retry_ev != NULL)
		event_free(p->retry_ev);
	free(p->engine_path);
	free(p);
}

bool
probe_reachable(const struct probe *p)
{
	return p != NULL && p->info.reachable;
}

const char *
probe_failure(const struct probe *p)
{
	if (p == NULL || p->info.reachable || p->info.checked_ms == 0)
		return NULL;
	return p->info.error;
}

const char *
probe_version(const struct probe *p)
{
	return p != NULL ? p->info.version : "";
}

struct json_object *
probe_report(const struct probe *p, struct json_object *problems)
{
	static const struct probe_info never;
	const struct probe_info *i = p != NULL ? &p->info : &never;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "reachable", json_object_new_boolean(i->reachable));
	json_object_object_add(o, "ping_ms", i->reachable ?
	    json_object_new_double(i->ping_ms) : NULL);
	report_add_str(o, "version", i->version[0] ? i->version : NULL);
	report_add_str(o, "api_version",
	    i->api_version[0] ? i->api_version : NULL);
	report_add_str(o, "error", i->error[0] ? i->error : NULL);
	/* Its socket is there and the integration on: it should answer. */
	if (p != NULL && p->engine_present && !p->disabled &&
	    probe_failure(p) != NULL) {
		char what[TEXT_ESCAPE_SIZE(PATH_MAX) + 300];
		snprintf(what, sizeof what, "the engine does not answer: %s",
		    probe_failure(p));
		report_add_problem(problems, what, "restart Docker Desktop");
	}
	return o;
}
