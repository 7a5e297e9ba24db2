/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who uses which exposure.  Exposures live as long as a container uses
 * one, so while there are any the engine's event stream is followed
 * (GET /events, container and volume creates and destroys only), and
 * after each burst of events (USAGE_GC_DELAY_MS) a collection asks the
 * engine first for its volumes (volume.c: a volume bound to an exposure
 * is one of its users) and then for every container, running or not
 * (GET /containers/json?all=1, each one's Mounts[].Source).  What it
 * found goes to exposures_collect(), which keeps the used ones (and those
 * a create is still on its way to) and removes the rest.  A stream that
 * ends (the engine restarted) is followed again, backing off, and a
 * collection runs for what happened meanwhile; one that cannot be asked
 * keeps every exposure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "wire/http.h"
#include "io/engine-get.h"
#include "io/notify.h"
#include "features/exposures.h"
#include "features/usage.h"
#include "features/volume.h"

#define USAGE_LOG		"bind"
#define USAGE_REPLY_MAX		(16 * 1024 * 1024)	/* containers/json */
#define USAGE_EVENT_MAX		(1024 * 1024)	/* unread event bytes held */
#define USAGE_TIMEOUT_S		10
#define USAGE_GC_DELAY_MS	50	/* events come in bursts */
#define USAGE_RETRY_FIRST_MS	500
#define USAGE_RETRY_MAX_MS	30000

struct usage {
	struct event_base	*base;
	struct exposures	*exposures;
	struct volumes		*volumes;
	struct notify		*changed;
	usage_restore_fn	*restore;
	void			*restore_arg;
	bool			 usable;	/* the engine may be asked */
	int			 engine_fd;	/* its socket, as walked to */
	char			*engine_name;	/* a copy */
	struct engine_get	*events;	/* the event stream */
	bool			 events_up;	/* its head said 200 */
	struct engine_get	*gc;		/* GET /containers/json */
	bool			 gc_again;
	bool			 gc_done_once;
	struct event		*gc_timer;
	struct event		*events_timer;
	struct backoff		 retry;		/* following the events */
	uint64_t		 gc_runs;
	char			 error[256];
};

static void usage_gc_reply(struct usage *, int code, struct evbuffer *);
static void usage_events_ended(struct usage *, const char *error);
static void usage_gc_later(struct usage *, unsigned ms);
static void usage_gc_start(struct usage *);

/* ------------------------------------------------------------------ */
/* Asking the engine */

/* The reply to GET /containers/json. */
static void
usage_gc_got(int code, struct evbuffer *body, const char *error, void *arg)
{
	struct usage *u = arg;
	struct engine_get *g = u->gc;
	u->gc = NULL;
	if (error == NULL)
		usage_gc_reply(u, code, body);
	else {
		snprintf(u->error, sizeof u->error, "GET %s: %s",
		    USAGE_CONTAINERS_PATH, error);
		log_state(LOG_LVL_WARN, USAGE_LOG, "bind.gc", "cannot ask the "
		    "engine which containers use the %zu exposed bind sources: "
		    "%s; keeping them", exposures_count(u->exposures), error);
	}
	engine_get_free(g);
	if (u->gc_again) {
		u->gc_again = false;
		usage_gc_later(u, USAGE_GC_DELAY_MS);
	}
}

/* The event stream: its head, then whatever the engine reports. */
static void
usage_events_got(int code, struct evbuffer *body, const char *error,
    void *arg)
{
	struct usage *u = arg;
	if (error != NULL) {
		usage_events_ended(u, error);
		return;
	}
	if (code != 200) {
		char err[64];
		snprintf(err, sizeof err, "GET /events answered %d", code);
		usage_events_ended(u, err);
		return;
	}
	if (!u->events_up) {
		u->events_up = true;
		backoff_reset(&u->retry);
		log_state(LOG_LVL_INFO, USAGE_LOG, "bind.events", NULL);
	}
	/*
	 * A create or destroy, or, at the head, whatever happened while we
	 * were away: collect soon, once.
	 */
	evbuffer_drain(body, evbuffer_get_length(body));
	usage_gc_later(u, USAGE_GC_DELAY_MS);
}

static struct engine_get *
usage_get_start(struct usage *u, const char *target, bool stream)
{
	const struct engine_get_opts opts = {
		.max = stream ? USAGE_EVENT_MAX : USAGE_REPLY_MAX,
		.timeout_s = USAGE_TIMEOUT_S, .stream = stream,
	};
	if (!u->usable)
		return NULL;
	return engine_get_new(u->base, u->engine_fd, u->engine_name, target,
	    &opts, stream ? usage_events_got : usage_gc_got, u);
}

static void
usage_gc_later(struct usage *u, unsigned ms)
{
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(u->gc_timer, &tv);
}

static void
usage_gc_fired(evutil_socket_t fd, short what, void *arg)
{
	usage_gc_start(arg);
}

static void
usage_events_fired(evutil_socket_t fd, short what, void *arg)
{
	usage_follow(arg);
}

static void
usage_events_stop(struct usage *u)
{
	engine_get_free(u->events);
	u->events = NULL;
	u->events_up = false;
	evtimer_del(u->events_timer);
}

/* Follow the engine's events while there is anything to collect. */
void
usage_follow(struct usage *u)
{
	if (u == NULL || u->events != NULL ||
	    exposures_count(u->exposures) == 0 || !u->usable)
		return;
	if (evtimer_pending(u->events_timer, NULL))
		return;
	u->events = usage_get_start(u, USAGE_EVENTS_PATH, true);
	if (u->events == NULL)
		usage_events_ended(u, "cannot connect to the engine");
}

/*
 * The event stream ended (the engine restarted, or refused): try again,
 * backing off, while there is something to collect.  Reconnecting
 * collects once, for what happened meanwhile.
 */
static void
usage_events_ended(struct usage *u, const char *error)
{
	engine_get_free(u->events);
	u->events = NULL;
	u->events_up = false;
	if (exposures_count(u->exposures) == 0 || !u->usable)
		return;
	log_state(LOG_LVL_WARN, USAGE_LOG, "bind.events", "not following the "
	    "engine's events (%s); retrying, and keeping every exposed bind "
	    "source meanwhile", error);
	uint32_t ms = backoff_next(&u->retry, util_random());
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(u->events_timer, &tv);
}

/* ------------------------------------------------------------------ */
/* Collecting: who uses which exposure */

/* Does a container mount this exposure (its path or below)? */
static bool
usage_container_uses(struct json_object *c, const char *engine)
{
	struct json_object *mounts;
	if (!json_object_object_get_ex(c, "Mounts", &mounts) ||
	    !json_object_is_type(mounts, json_type_array))
		return false;
	size_t n = json_object_array_length(mounts);
	for (size_t i = 0; i < n; i++) {
		const char *source = json_string(
		    json_object_array_get_idx(mounts, i), "Source");
		if (source != NULL && util_path_within(source, engine))
			return true;
	}
	return false;
}

static const char *
usage_container_name(struct json_object *c)
{
	struct json_object *names, *first;
	if (json_object_object_get_ex(c, "Names", &names) &&
	    json_object_is_type(names, json_type_array) &&
	    (first = json_object_array_get_idx(names, 0)) != NULL &&
	    json_object_is_type(first, json_type_string)) {
		const char *s = json_object_get_string(first);
		return s[0] == '/' ? s + 1 : s;
	}
	return "?";
}

/* exposures_collect's question: who uses the exposure at engine. */
static struct json_object *
usage_users(void *arg, const char *engine)
{
	struct json_object *containers = arg;
	struct json_object *users = json_object_new_array();
	if (users == NULL)
		return NULL;
	size_t n = json_object_array_length(containers);
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(containers, i);
		const char *id = json_string(c, "Id");
		if (id == NULL || !usage_container_uses(c, engine))
			continue;
		struct json_object *one = json_object_new_object();
		if (one == NULL)
			continue;
		json_object_object_add(one, "id", json_object_new_string(id));
		json_object_object_add(one, "name", json_object_new_string(
		    usage_container_name(c)));
		json_object_array_add(users, one);
	}
	return users;
}

static void
usage_apply(struct usage *u, struct json_object *containers)
{
	uint64_t now = util_now_ms();
	struct exposures_collected c;
	exposures_collect(u->exposures, now, usage_users, containers, &c);
	if (c.error[0] != '\0')
		snprintf(u->error, sizeof u->error, "%s", c.error);
	/* After a reboot: containers still need one (restore.c). */
	if (c.used_unmounted && u->restore != NULL)
		u->restore(u->restore_arg, "a container uses an exposure that "
		    "is not mounted");
	if (c.next_ms != 0)
		usage_gc_later(u, (unsigned)(c.next_ms - now + 10));
	if (exposures_count(u->exposures) == 0)
		usage_events_stop(u);
	notify_post(u->changed);
}

static void
usage_gc_reply(struct usage *u, int code, struct evbuffer *body)
{
	struct json_object *all = code == 200 ?
	    engine_get_json(body, HTTP_CREATE_DEPTH_MAX) : NULL;
	if (all != NULL && json_object_is_type(all, json_type_array) &&
	    !volumes_add_users(u->volumes, all)) {
		json_object_put(all);	/* volume.c said why */
		return;
	}
	if (all == NULL || !json_object_is_type(all, json_type_array)) {
		snprintf(u->error, sizeof u->error, "GET %s answered %d%s",
		    USAGE_CONTAINERS_PATH, code, code == 200 ?
		    " without a JSON array" : "");
		log_state(LOG_LVL_WARN, USAGE_LOG, "bind.gc", "cannot tell which "
		    "containers use the exposed bind sources: %s; keeping "
		    "them", u->error);
		json_object_put(all);
		return;
	}
	u->error[0] = '\0';
	u->gc_runs++;
	u->gc_done_once = true;
	log_state(LOG_LVL_INFO, USAGE_LOG, "bind.gc", NULL);
	usage_apply(u, all);
	json_object_put(all);
}

static void
usage_gc_no_engine(struct usage *u)
{
	log_state(LOG_LVL_WARN, USAGE_LOG, "bind.gc", "cannot connect to the "
	    "engine at %s to collect exposed bind sources",
	    u->engine_name != NULL ? u->engine_name : "(none)");
}

/* The volumes are listed (or not): the containers next. */
static void
usage_gc_volumes_done(void *arg, bool ok)
{
	struct usage *u = arg;
	if (!ok) {
		if (u->gc_again) {
			u->gc_again = false;
			usage_gc_later(u, USAGE_GC_DELAY_MS);
		}
		return;
	}
	u->gc = usage_get_start(u, USAGE_CONTAINERS_PATH, false);
	if (u->gc == NULL)
		usage_gc_no_engine(u);
}

static void
usage_gc_start(struct usage *u)
{
	if (u->gc != NULL || volumes_busy(u->volumes)) {
		u->gc_again = true;
		return;
	}
	if (exposures_count(u->exposures) == 0 || !u->usable)
		return;
	/* Volumes first: a volume bound to an exposure is one of its users. */
	if (volumes_list(u->volumes, u->engine_fd, u->engine_name,
	    usage_gc_volumes_done, u) < 0)
		usage_gc_no_engine(u);
}

/* ------------------------------------------------------------------ */
/* Life cycle */

struct usage *
usage_new(struct event_base *base, struct exposures *exposures,
    struct volumes *volumes, struct notify *changed,
    usage_restore_fn *restore, void *arg)
{
	struct usage *u = calloc(1, sizeof *u);
	if (u == NULL)
		return NULL;
	u->base = base;
	u->exposures = exposures;
	u->volumes = volumes;
	u->changed = changed;
	u->restore = restore;
	u->restore_arg = arg;
	u->engine_fd = -1;
	u->retry = (struct backoff){ USAGE_RETRY_FIRST_MS, USAGE_RETRY_MAX_MS,
	    0 };
	u->gc_timer = evtimer_new(base, usage_gc_fired, u);
	u->events_timer = evtimer_new(base, usage_events_fired, u);
	if (u->gc_timer == NULL || u->events_timer == NULL) {
		usage_free(u);
		return NULL;
	}
	return u;
}

void
usage_reconcile(struct usage *u, bool engine_usable, int engine_fd,
    const char *engine_name)
{
	if (u == NULL)
		return;
	/* A copy: the name main/ passes is replaced at a reload. */
	u->usable = engine_usable && util_set_str(&u->engine_name,
	    engine_name) == 0 && u->engine_name != NULL;
	u->engine_fd = u->usable ? engine_fd : -1;
	if (!u->usable) {
		usage_events_stop(u);
		return;
	}
	usage_follow(u);
	/* The first look, or the engine came back: who still uses what. */
	if (exposures_count(u->exposures) > 0 &&
	    (!u->gc_done_once || u->events == NULL))
		usage_gc_later(u, 0);
}

void
usage_free(struct usage *u)
{
	if (u == NULL)
		return;
	engine_get_free(u->events);
	engine_get_free(u->gc);
	if (u->gc_timer != NULL)
		event_free(u->gc_timer);
	if (u->events_timer != NULL)
		event_free(u->events_timer);
	free(u->engine_name);
	free(u);
}

void
usage_report(const struct usage *u, struct json_object *binds)
{
	if (u == NULL)
		return;
	json_object_object_add(binds, "following_engine",
	    json_object_new_boolean(u->events != NULL && u->events_up));
	json_object_object_add(binds, "collections",
	    json_object_new_int64((int64_t)u->gc_runs));
	json_object_object_add(binds, "error", u->error[0] != '\0' ?
	    json_object_new_string(u->error) : NULL);
}
