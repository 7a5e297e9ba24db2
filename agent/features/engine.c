/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ask the engine how it is: GET /_ping (latency) then GET /version, each on
 * its own HTTP/1.0 connection to the engine socket (io/engine-get.c),
 * asynchronously on the event loop.  A probe never blocks the proxy.
 * engine_ask() is io/engine-get.c's GET through the descriptor expose.c
 * walked to (never by path: issue 19), for every module that asks the
 * engine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/defs.h"
#include "base/log.h"
#include "base/util.h"
#include "base/report.h"
#include "io/engine-get.h"
#include "features/engine.h"
#include "features/expose.h"
#include "main/agent.h"

#define ENGINE_TIMEOUT_S	3
#define ENGINE_REPLY_MAX	(64 * 1024)

struct engine_get *
engine_ask(struct agent *a, const char *target,
    const struct engine_get_opts *opts, engine_get_cb *cb, void *arg)
{
	if (a->engine_path == NULL) {
		errno = ENOENT;
		return NULL;
	}
	return engine_get_new(a->base, expose_engine_fd(a->expose),
	    a->engine_path, target, opts, cb, arg);
}

/* ------------------------------------------------------------------ */
/* The probe: /_ping, then /version. */

enum probe_step { PROBE_PING, PROBE_VERSION };

/* What the last probe learned. */
struct engine_info {
	bool	 reachable;
	double	 ping_ms;
	char	 version[64];
	char	 api_version[16];
	char	 error[256];
	uint64_t checked_ms;	/* wall clock of the last probe */
};

struct engine {
	struct agent		*agent;		/* engine_path, the event loop */
	struct engine_probe	*probe;		/* the one under way, or NULL */
	struct engine_info	 info;
};

struct engine_probe {
	struct agent		*agent;
	struct engine_get	*get;
	enum probe_step		 step;
	uint64_t		 started_us;
	double			 ping_ms;
};

static uint64_t
engine_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void engine_probe_step(struct engine_probe *);

static void
engine_probe_finish(struct engine_probe *p, bool ok, const char *error)
{
	struct agent *a = p->agent;
	struct engine_info *i = &a->engine->info;
	struct engine_info old = *i;
	i->reachable = ok;
	i->checked_ms = util_wall_ms();
	if (ok) {
		i->ping_ms = p->ping_ms;
		i->error[0] = '\0';
		log_state(LOG_LVL_NOTICE, "engine", "engine", "engine reachable "
		    "(version %s, API %s)", i->version, i->api_version);
	} else {
		snprintf(i->error, sizeof i->error, "%s", error);
		log_state(LOG_LVL_WARN, "engine", "engine", "engine not "
		    "reachable at %s: %s", a->engine_path, error);
	}
	engine_get_free(p->get);
	a->engine->probe = NULL;
	free(p);
	if (old.reachable != i->reachable ||
	    strcmp(old.version, i->version) != 0 ||
	    strcmp(old.error, i->error) != 0)
		agent_state_changed(a);
}

static void
engine_copy_field(struct json_object *o, const char *key, char *dst, size_t len)
{
	const char *s = util_json_string(o, key);
	if (s != NULL)
		snprintf(dst, len, "%s", s);
}

static void
engine_probe_reply(int code, struct evbuffer *body, const char *error,
    void *arg)
{
	struct engine_probe *p = arg;
	if (error != NULL) {
		engine_probe_finish(p, false, error);
		return;
	}
	if (code != 200) {
		char err[128];
		const char *what = p->step == PROBE_PING ? "/_ping" : "/version";
		if (code <= 0)	/* libevent could not read an HTTP answer */
			snprintf(err, sizeof err, "GET %s got no HTTP answer; "
			    "is something other than the engine listening?",
			    what);
		else
			snprintf(err, sizeof err, "GET %s answered %d", what,
			    code);
		engine_probe_finish(p, false, err);
		return;
	}
	if (p->step == PROBE_PING) {
		p->ping_ms = (double)(engine_now_us() - p->started_us) / 1000.0;
		engine_get_free(p->get);
		p->get = NULL;
		p->step = PROBE_VERSION;
		engine_probe_step(p);
		return;
	}
	struct json_object *v = engine_get_json(body, JSON_MAX_DEPTH);
	if (v == NULL) {
		engine_probe_finish(p, false, "GET /version returned no JSON");
		return;
	}
	engine_copy_field(v, "Version", p->agent->engine->info.version,
	    sizeof p->agent->engine->info.version);
	engine_copy_field(v, "ApiVersion", p->agent->engine->info.api_version,
	    sizeof p->agent->engine->info.api_version);
	json_object_put(v);
	engine_probe_finish(p, true, NULL);
}

static void
engine_probe_step(struct engine_probe *p)
{
	static const struct engine_get_opts opts = {
		.max = ENGINE_REPLY_MAX, .timeout_s = ENGINE_TIMEOUT_S,
	};
	struct agent *a = p->agent;
	p->started_us = engine_now_us();
	p->get = engine_ask(a, p->step == PROBE_PING ? "/_ping" : "/version",
	    &opts, engine_probe_reply, p);
	if (p->get == NULL)
		engine_probe_finish(p, false, strerror(errno));
}

void
engine_probe_start(struct engine *e)
{
	if (e->probe != NULL)
		return;		/* one at a time; its result is fresh enough */
	if (!e->agent->engine_socket_present) {
		bool was = e->info.reachable;
		e->info.reachable = false;
		snprintf(e->info.error, sizeof e->info.error,
		    "no engine socket at %s", e->agent->engine_path);
		if (was)
			log_state(LOG_LVL_WARN, "engine", "engine",
			    "engine gone: %s", e->info.error);
		return;
	}
	if (!expose_engine_trusted(e->agent->expose)) {
		/* expose.c's walk failed: connect to nothing (status says why). */
		e->info.reachable = false;
		e->info.checked_ms = util_wall_ms();
		snprintf(e->info.error, sizeof e->info.error, "not asked: the "
		    "engine socket %s is untrusted", e->agent->engine_path);
		return;
	}
	struct engine_probe *p = calloc(1, sizeof *p);
	if (p == NULL)
		return;
	p->agent = e->agent;
	p->step = PROBE_PING;
	e->probe = p;
	engine_probe_step(p);
}

struct engine *
engine_new(struct agent *a)
{
	struct engine *e = calloc(1, sizeof *e);
	if (e != NULL)
		e->agent = a;
	return e;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	if (e->probe != NULL) {
		engine_get_free(e->probe->get);
		free(e->probe);
	}
	free(e);
}

bool
engine_reachable(const struct engine *e)
{
	return e != NULL && e->info.reachable;
}

const char *
engine_failure(const struct engine *e)
{
	if (e == NULL || e->info.reachable || e->info.checked_ms == 0)
		return NULL;
	return e->info.error;
}

const char *
engine_version(const struct engine *e)
{
	return e != NULL ? e->info.version : "";
}

struct json_object *
engine_status_json(const struct engine *e)
{
	static const struct engine_info never;
	const struct engine_info *i = e != NULL ? &e->info : &never;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "reachable", json_object_new_boolean(i->reachable));
	json_object_object_add(o, "ping_ms", i->reachable ?
	    json_object_new_double(i->ping_ms) : NULL);
	report_add_str(o, "version", i->version[0] ? i->version : NULL);
	report_add_str(o, "api_version",
	    i->api_version[0] ? i->api_version : NULL);
	report_add_str(o, "error", i->error[0] ? i->error : NULL);
	return o;
}
