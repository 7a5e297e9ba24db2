/*
 * Ask the engine how it is: GET /_ping (latency) then GET /version, each on
 * its own HTTP/1.0 connection to the engine socket, asynchronously on the
 * event loop.  A probe never blocks the proxy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "agent.h"

#define ENGINE_TIMEOUT_S	3
#define ENGINE_REPLY_MAX	(64 * 1024)

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
	struct bufferevent	*bev;
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
	if (p->bev != NULL)
		bufferevent_free(p->bev);
	a->engine->probe = NULL;
	free(p);
	if (old.reachable != i->reachable ||
	    strcmp(old.version, i->version) != 0 ||
	    strcmp(old.error, i->error) != 0)
		agent_state_changed(a);
}

/* Parse "HTTP/1.x 200 ..." headers and body; returns the status code. */
static int
engine_parse_reply(struct evbuffer *in, char **body)
{
	size_t len = evbuffer_get_length(in);
	char *text = malloc(len + 1);
	if (text == NULL)
		return -1;
	evbuffer_remove(in, text, len);
	text[len] = '\0';
	int code = -1;
	if (sscanf(text, "HTTP/1.%*d %d", &code) != 1)
		code = -1;
	char *sep = strstr(text, "\r\n\r\n");
	*body = sep != NULL ? strdup(sep + 4) : NULL;
	free(text);
	return code;
}

static void
engine_copy_field(struct json_object *o, const char *key, char *dst, size_t len)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(dst, len, "%s", json_object_get_string(v));
}

static void
engine_reply_complete(struct engine_probe *p)
{
	char *body = NULL;
	int code = engine_parse_reply(bufferevent_get_input(p->bev), &body);
	if (code != 200) {
		char err[128];
		snprintf(err, sizeof err, "GET %s answered %d",
		    p->step == PROBE_PING ? "/_ping" : "/version", code);
		free(body);
		engine_probe_finish(p, false, err);
		return;
	}
	if (p->step == PROBE_PING) {
		p->ping_ms = (double)(engine_now_us() - p->started_us) / 1000.0;
		free(body);
		bufferevent_free(p->bev);
		p->bev = NULL;
		p->step = PROBE_VERSION;
		engine_probe_step(p);
		return;
	}
	struct json_object *v = body != NULL ? json_tokener_parse(body) : NULL;
	free(body);
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
engine_read(struct bufferevent *bev, void *arg)
{
	struct engine_probe *p = arg;
	if (evbuffer_get_length(bufferevent_get_input(bev)) > ENGINE_REPLY_MAX)
		engine_probe_finish(p, false, "reply too large");
}

static void
engine_event(struct bufferevent *bev, short what, void *arg)
{
	struct engine_probe *p = arg;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_EOF) {
		engine_reply_complete(p);
		return;
	}
	char err[160];
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(err, sizeof err, "no answer within %d s", ENGINE_TIMEOUT_S);
	else
		snprintf(err, sizeof err, "%s",
		    strerror(EVUTIL_SOCKET_ERROR() ? EVUTIL_SOCKET_ERROR() : ECONNRESET));
	engine_probe_finish(p, false, err);
}

static void
engine_probe_step(struct engine_probe *p)
{
	struct agent *a = p->agent;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(a->engine_path) >= sizeof sun.sun_path) {
		engine_probe_finish(p, false, "engine socket path too long");
		return;
	}
	strcpy(sun.sun_path, a->engine_path);
	p->bev = bufferevent_socket_new(a->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (p->bev == NULL) {
		engine_probe_finish(p, false, "out of memory");
		return;
	}
	bufferevent_setcb(p->bev, engine_read, NULL, engine_event, p);
	struct timeval tv = { ENGINE_TIMEOUT_S, 0 };
	bufferevent_set_timeouts(p->bev, &tv, &tv);
	p->started_us = engine_now_us();
	if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&sun,
	    sizeof sun) < 0) {
		engine_probe_finish(p, false, strerror(errno ? errno : ECONNREFUSED));
		return;
	}
	const char *req = p->step == PROBE_PING ?
	    "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n" :
	    "GET /version HTTP/1.0\r\nHost: docker\r\n\r\n";
	bufferevent_write(p->bev, req, strlen(req));
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
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
		if (e->probe->bev != NULL)
			bufferevent_free(e->probe->bev);
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
	agent_json_add_str(o, "version", i->version[0] ? i->version : NULL);
	agent_json_add_str(o, "api_version",
	    i->api_version[0] ? i->api_version : NULL);
	agent_json_add_str(o, "error", i->error[0] ? i->error : NULL);
	return o;
}
