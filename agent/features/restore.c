/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bringing exposures back.  After a VM reboot Docker Desktop starts its
 * engine before this distro, and the engine starts --restart containers
 * whose bind sources (exposures below the shared tmpfs, exposures.c) are not
 * mounted yet: dockerd makes an empty directory there, a stand-in, and a
 * database initialises afresh on it.
 *
 * So at start, before READY=1 (for up to bind.restore_timeout seconds),
 * and whenever the engine comes back, a pass asks the engine for every
 * container (GET /containers/json?all=1), running or not, and mounts
 * again each exposure of this distro they use, read-only when none of
 * them writes (exposures_mount_back).  The record of each exposure
 * (read-only flag, its containers, when it was mounted) is its manifest
 * entry's meta, written by exposures.c, so it survives kill -9 and
 * reboots.
 *
 * Then the repair: a container that is running but started before its
 * exposure was mounted (its State.StartedAt, asked by inspect, is older
 * than the mount) runs on a stand-in.  With bind.repair = restart (the
 * default) it is restarted (POST /containers/{id}/restart), so it sees
 * the distro's files, and what it wrote on the stand-in (still reachable
 * through the descriptor opened before the mount hid it) is handed to
 * standins.c, which has it moved off the loop, within
 * bind.standin_max, into state_dir/stand-ins/<container>-<UTC time>/: the
 * shared tmpfs is lost at every reboot, the distro's disk is not.  Nothing
 * is hidden for good, nothing deleted.  With report, the container is left
 * running and the stand-in is bind-mounted at that place instead, for the
 * user to see.  Each repair is in status, the log and a "repair" message
 * to the host (queued here, sent by main/); what the move did is added to
 * its record when it is done.  READY=1 waits for the first pass
 * (restore_holds_ready), and every change is told through the notify
 * handle, never by a call back up.
 *
 * One bad exposure never stops the others: a vanished source, a refused
 * mount, a restart that fails are each a problem with its fix.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/config.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "base/report.h"
#include "sys/standin.h"
#include "wire/http.h"
#include "io/engine-get.h"
#include "io/notify.h"
#include "features/exposures.h"
#include "features/restore.h"
#include "features/standins.h"

#define RESTORE_LOG		"restore"
#define RESTORE_LIST_PATH	"/containers/json?all=1"
#define RESTORE_REPLY_MAX	(16 * 1024 * 1024)
#define RESTORE_TIMEOUT_S	10
#define RESTORE_RESTART_S	120	/* stop (the container's timeout), start */
#define RESTORE_CONTAINERS_MAX	1024
#define RESTORE_EXPOSURES_MAX	1024
#define RESTORE_RETRY_FIRST_MS	250
#define RESTORE_RETRY_MAX_MS	5000
#define RESTORE_MESSAGES_MAX	32	/* queued for the host, not taken */

enum restore_phase { RESTORE_IDLE, RESTORE_LISTING, RESTORE_INSPECTING,
		     RESTORE_RESTARTING };

/* An exposure the pass looks at. */
struct restore_exposure {
	char		*engine;	/* Mounts[].Source */
	bool		 writer;	/* some container mounts it read-write */
	bool		 ok;		/* mounted (now or before) */
	bool		 standin_busy;	/* a container still runs on its stand-in */
	uint64_t	 mounted_at;	/* wall ms; 0: unknown */
	struct exposures_back back;
};

/* A container of this distro the pass looks at. */
struct restore_container {
	char		 id[65];
	char		*name;
	bool		 running;	/* as listed */
	bool		 check;		/* inspect: is it on a stand-in? */
	bool		 on_standin;
	size_t		 standin_x;	/* the first exposure it is on a stand-in of */
	bool		 restarted;
	struct restore	*owner;
	struct engine_get *restart;	/* POST .../restart under way */
	size_t		*uses;		/* indexes into exposures */
	size_t		 nuses;
};

struct restore {
	struct event_base	*base;
	const struct config	*cfg;
	struct exposures	*exposures;
	struct notify		*changed;
	int			 engine_fd;	/* its socket, as walked to */
	char			*engine_name;	/* a copy */
	enum restore_phase	 phase;
	bool			 again;
	bool			 engine_up;	/* socket present and trusted */
	bool			 holding;	/* READY=1 waits for this pass */
	struct engine_get	*get;
	struct event		*ready_timer;
	struct event		*retry_timer;
	struct backoff		 retry;
	struct restore_exposure	*x;
	size_t			 nx;
	struct restore_container *c;
	size_t			 nc;
	size_t			 next;		/* container being asked about */
	size_t			 restarting;	/* restarts under way, all at once */
	uint64_t		 started_ms;
	int64_t			 took_ms;	/* last pass; -1: none yet */
	uint64_t		 runs;
	struct json_object	*failures;	/* [{what, fix}] of the last pass */
	struct json_object	*repairs;	/* [{container, ...}], the latest */
	struct json_object	*messages;	/* to the host, not yet taken */
	struct standins		*standins;	/* stand-in data being moved */
	char			 error[256];	/* the engine could not be asked */
};

static void restore_step(struct restore *);

/* ------------------------------------------------------------------ */
/* The pass's findings. */

/* source: the bind source it is about (NULL: not known). */
static void
restore_fail(struct restore *r, const char *source, const char *what,
    const char *fix)
{
	log_err(RESTORE_LOG, "%s; %s", what, fix);
	if (r->failures != NULL)
		report_add_source_problem(r->failures, source, what, fix);
}

/* "a, b" of the containers using exposure i. */
static void
restore_users_text(const struct restore *r, size_t xi, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->nc && o < len; i++)
		for (size_t u = 0; u < r->c[i].nuses; u++)
			if (r->c[i].uses[u] == xi) {
				int w = snprintf(buf + o, len - o, "%s%s",
				    o > 0 ? ", " : "", r->c[i].name);
				if (w > 0)
					o += (size_t)w;
				break;
			}
}

/* One repair, as status lists it; type non-NULL: as the host gets it. */
static struct json_object *
restore_repair_json(const struct restore_container *c,
    const struct restore_exposure *x, const char *stand_in, const char *at,
    const char *type)
{
	struct json_object *o = json_object_new_object();
	if (o == NULL)
		return NULL;
	if (type != NULL)
		report_add_str(o, "type", type);
	report_add_str(o, "container", c != NULL ? c->name : NULL);
	report_add_str(o, "id", c != NULL ? c->id : NULL);
	report_add_str(o, "source", x->back.source);
	report_add_str(o, "stand_in", stand_in);
	json_object_object_add(o, "restarted",
	    json_object_new_boolean(c != NULL && c->restarted));
	report_add_str(o, "at", at);
	/* What the move did, once it is done (restore_moved). */
	json_object_object_add(o, "moved", NULL);
	json_object_object_add(o, "left", NULL);
	json_object_object_add(o, "left_at", NULL);
	return o;
}

/* A stand-in's move done: its repairs say what was moved and what stayed. */
static void
restore_moved(void *arg, const char *path, const struct standin_result *res)
{
	struct restore *r = arg;
	char *left_at = NULL;
	if (res->shown && asprintf(&left_at, "%s%s", path,
	    STANDIN_SHOWN_SUFFIX) < 0)
		left_at = NULL;
	for (size_t i = 0; i < json_object_array_length(r->repairs); i++) {
		struct json_object *e = json_object_array_get_idx(r->repairs, i);
		const char *at = json_string(e, "stand_in");
		if (at == NULL || strcmp(at, path) != 0)
			continue;
		json_object_object_add(e, "moved", json_object_new_int64(
		    (int64_t)res->moved));
		json_object_object_add(e, "left", json_object_new_int64(
		    (int64_t)res->left));
		report_add_str(e, "left_at", left_at);
	}
	free(left_at);
}

/* Already noted as still on that stand-in (a later pass, report mode)? */
static bool
restore_noted(const struct restore *r, const struct restore_container *c,
    const struct restore_exposure *x)
{
	size_t n = json_object_array_length(r->repairs);
	for (size_t i = 0; c != NULL && !c->restarted && i < n; i++) {
		struct json_object *e = json_object_array_get_idx(r->repairs, i), *v;
		const char *id = json_string(e, "id");
		const char *src = json_string(e, "source");
		if (id != NULL && src != NULL && strcmp(id, c->id) == 0 &&
		    strcmp(src, x->back.source) == 0 &&
		    json_object_object_get_ex(e, "restarted", &v) &&
		    !json_object_get_boolean(v))
			return true;
	}
	return false;
}

static void
restore_note_repair(struct restore *r, const struct restore_container *c,
    const struct restore_exposure *x, const char *stand_in)
{
	char at[32];
	if (restore_noted(r, c, x))
		return;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_notice(RESTORE_LOG, "%s%s%s: %s%s%s", c != NULL ? "container " : "",
	    c != NULL ? c->name : "", c != NULL ? "" : "a stand-in",
	    c == NULL ? "left by a stopped container of " :
	    c->restarted ? "restarted on its bind source " :
	    "runs on an empty stand-in of ", x->back.source,
	    stand_in != NULL ? "; what was written on the stand-in is kept" :
	    "; its stand-in was empty");
	if (stand_in != NULL)
		log_notice(RESTORE_LOG, "stand-in data of %s: %s",
		    x->back.source, stand_in);
	struct json_object *o = restore_repair_json(c, x, stand_in, at, NULL);
	if (o == NULL)
		return;
	if (json_object_array_length(r->repairs) >= RESTORE_REPAIRS_MAX)
		json_object_array_del_idx(r->repairs, 0, 1);
	json_object_array_add(r->repairs, o);
	/* For the host: main/ takes it on the changed notice. */
	o = restore_repair_json(c, x, stand_in, at, "repair");
	if (o == NULL)
		return;
	if (json_object_array_length(r->messages) >= RESTORE_MESSAGES_MAX)
		json_object_array_del_idx(r->messages, 0, 1);
	json_object_array_add(r->messages, o);
	notify_post(r->changed);
}

/* ------------------------------------------------------------------ */
/* The pass. */

static void
restore_clear(struct restore *r)
{
	for (size_t i = 0; i < r->nx; i++) {
		free(r->x[i].engine);
		exposures_back_clear(&r->x[i].back);
	}
	free(r->x);
	r->x = NULL;
	r->nx = 0;
	for (size_t i = 0; i < r->nc; i++) {
		engine_get_free(r->c[i].restart);
		free(r->c[i].name);
		free(r->c[i].uses);
	}
	free(r->c);
	r->c = NULL;
	r->nc = 0;
}

static bool
restore_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n < 12 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)id[i]))
			return false;
	return true;
}

static struct restore_exposure *
restore_exposure_of(struct restore *r, const char *engine, size_t *idx)
{
	for (size_t i = 0; i < r->nx; i++)
		if (strcmp(r->x[i].engine, engine) == 0) {
			*idx = i;
			return &r->x[i];
		}
	if (r->nx >= RESTORE_EXPOSURES_MAX)
		return NULL;
	struct restore_exposure *grown = realloc(r->x, (r->nx + 1) * sizeof *grown);
	if (grown == NULL)
		return NULL;
	r->x = grown;
	struct restore_exposure *x = &r->x[r->nx];
	memset(x, 0, sizeof *x);
	x->back.standin_fd = -1;
	if ((x->engine = strdup(engine)) == NULL)
		return NULL;
	*idx = r->nx++;
	return x;
}

/* One container of the listing, kept if it binds a path of ours. */
static void
restore_add_container(struct restore *r, struct json_object *c)
{
	const char *id = json_string(c, "Id");
	struct json_object *mounts, *names, *first;
	if (id == NULL || !restore_id_valid(id) || r->nc >= RESTORE_CONTAINERS_MAX ||
	    !json_object_object_get_ex(c, "Mounts", &mounts) ||
	    !json_object_is_type(mounts, json_type_array))
		return;
	size_t n = json_object_array_length(mounts);
	size_t *uses = calloc(n + 1, sizeof *uses), nuses = 0;
	if (uses == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(mounts, i), *rw;
		const char *type = json_string(m, "Type");
		const char *src = json_string(m, "Source");
		size_t xi;
		struct restore_exposure *x;
		if (src == NULL || (type != NULL && strcmp(type, "bind") != 0) ||
		    exposures_dir(r->exposures) == NULL ||
		    (x = restore_exposure_of(r, src, &xi)) == NULL)
			continue;
		x->writer |= !json_object_object_get_ex(m, "RW", &rw) ||
		    json_object_get_boolean(rw);
		uses[nuses++] = xi;
	}
	const char *name = json_object_object_get_ex(c, "Names", &names) &&
	    json_object_is_type(names, json_type_array) &&
	    (first = json_object_array_get_idx(names, 0)) != NULL &&
	    json_object_is_type(first, json_type_string) ?
	    json_object_get_string(first) : id;
	struct restore_container *grown = nuses == 0 ? NULL :
	    realloc(r->c, (r->nc + 1) * sizeof *grown);
	if (grown == NULL) {
		free(uses);
		return;
	}
	r->c = grown;
	struct restore_container *rc = &r->c[r->nc];
	memset(rc, 0, sizeof *rc);
	snprintf(rc->id, sizeof rc->id, "%s", id);
	rc->owner = r;
	rc->name = strdup(name[0] == '/' ? name + 1 : name);
	const char *state = json_string(c, "State");
	rc->running = state != NULL && strcmp(state, "running") == 0;
	rc->uses = uses;
	rc->nuses = nuses;
	if (rc->name == NULL) {
		free(uses);
		return;
	}
	r->nc++;
}

/* [{"id", "name"}] of exposure i's containers. */
static struct json_object *
restore_users_json(const struct restore *r, size_t xi)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < r->nc && arr != NULL; i++)
		for (size_t u = 0; u < r->c[i].nuses; u++)
			if (r->c[i].uses[u] == xi) {
				struct json_object *o = json_object_new_object();
				report_add_str(o, "id", r->c[i].id);
				report_add_str(o, "name", r->c[i].name);
				json_object_array_add(arr, o);
				break;
			}
	return arr;
}

/* Mount back every exposure the containers use; one failing stops none. */
static void
restore_mount_all(struct restore *r)
{
	for (size_t i = 0; i < r->nx; i++) {
		struct restore_exposure *x = &r->x[i];
		char why[PATH_MAX * 2 + 256], users[512];
		int rc = exposures_mount_back(r->exposures, x->engine, !x->writer,
		    &x->back, why, sizeof why);
		if (rc == 1)
			continue;
		restore_users_text(r, i, users, sizeof users);
		if (rc < 0) {
			char what[sizeof why + sizeof users + 64];
			snprintf(what, sizeof what, "the bind source of %s (%s) is "
			    "not back: %s", users, x->engine, why);
			restore_fail(r, x->back.source, what, "the other "
			    "containers' sources are back; fix this one as said, "
			    "or remove the container");
			continue;
		}
		x->ok = true;
		struct json_object *uj = restore_users_json(r, i);
		exposures_record(r->exposures, x->back.local, x->back.read_only,
		    uj, true, x->back.mounted_now);
		json_object_put(uj);
		x->mounted_at = exposures_mounted_at(r->exposures, x->back.local);
	}
	exposures_save(r->exposures);
	/* Who may be on a stand-in: users of an exposure mounted by now. */
	for (size_t i = 0; i < r->nc; i++)
		for (size_t u = 0; u < r->c[i].nuses; u++) {
			struct restore_exposure *x = &r->x[r->c[i].uses[u]];
			if (x->ok && x->mounted_at != 0 &&
			    (r->c[i].running || x->back.mounted_now))
				r->c[i].check = true;
		}
}

static void
restore_inspected(struct restore *r, struct restore_container *c,
    struct json_object *o)
{
	struct json_object *state, *running;
	if (o == NULL || !json_object_object_get_ex(o, "State", &state) ||
	    !json_object_object_get_ex(state, "Running", &running) ||
	    !json_object_get_boolean(running))
		return;
	uint64_t started = util_rfc3339_ms(json_string(state, "StartedAt"));
	for (size_t u = 0; u < c->nuses && started != 0; u++) {
		const struct restore_exposure *x = &r->x[c->uses[u]];
		if (x->ok && x->mounted_at != 0 && started < x->mounted_at &&
		    !c->on_standin) {
			c->on_standin = true;
			c->standin_x = c->uses[u];
		}
	}
	if (c->on_standin)
		log_warn(RESTORE_LOG, "container %s runs on an empty stand-in "
		    "where its bind source should be: it started before the "
		    "source was mounted back", c->name);
}

/* Move each stand-in's contents aside, or show it (still in use). */
static void
restore_settle_standins(struct restore *r)
{
	for (size_t i = 0; i < r->nx; i++) {
		struct restore_exposure *x = &r->x[i];
		struct restore_container *first = NULL, *user = NULL;
		if (!x->ok)
			continue;	/* not back: a failure, no stand-in hidden */
		for (size_t k = 0; k < r->nc; k++)
			for (size_t u = 0; u < r->c[k].nuses; u++)
				if (r->c[k].uses[u] == i) {
					if (user == NULL)
						user = &r->c[k];
					if (first == NULL && r->c[k].on_standin)
						first = &r->c[k];
					if (r->c[k].on_standin && !r->c[k].restarted)
						x->standin_busy = true;
				}
		int fd = x->back.standin_fd;
		bool empty = fd < 0 || standin_is_empty(fd);
		char *dest = NULL;
		if (!empty && (dest = standins_dest(r->standins,
		    first != NULL ? first->name : user != NULL ? user->name :
		    "stand-in")) == NULL)
			empty = true;
		if (!empty && !x->standin_busy) {
			/* Moved off the loop: standins.c, restore_moved. */
			x->back.standin_fd = -1;
			standins_add(r->standins, fd, strrchr(dest, '/') + 1,
			    x->back.source, first != NULL ? first->name :
			    user != NULL ? user->name : NULL);
		} else if (!empty && standins_show(fd, dest) < 0) {
			/* In use: shown where it would go, not moved under it. */
			char what[PATH_MAX + 128];
			snprintf(what, sizeof what, "cannot show the stand-in of %s "
			    "at %s: %s", x->back.source, dest, strerror(errno));
			restore_fail(r, x->back.source, what, "restart the "
			    "containers on it (docker restart) and run "
			    "'wsl-docker-agent reconcile'");
		}
		bool noted = false;
		for (size_t k = 0; k < r->nc; k++)
			for (size_t u = 0; u < r->c[k].nuses; u++)
				if (r->c[k].uses[u] == i && r->c[k].on_standin) {
					restore_note_repair(r, &r->c[k], x, empty ?
					    NULL : dest);
					noted = true;
				}
		if (!noted && !empty)
			restore_note_repair(r, NULL, x, dest);
		free(dest);
	}
	/* Those of this pass, and any an earlier one left shown. */
	standins_flush(r->standins);
}

static void
restore_finish(struct restore *r)
{
	const struct config *cfg = r->cfg;
	for (size_t i = 0; i < r->nc; i++) {
		struct restore_container *c = &r->c[i];
		if (!c->on_standin || c->restarted)
			continue;
		char what[512], fix[512];
		snprintf(what, sizeof what, "container %s runs on an empty "
		    "stand-in, not on its bind source in this distro%s", c->name,
		    cfg->bind_repair == BIND_REPAIR_REPORT ?
		    " (bind.repair is report)" : ": it could not be restarted");
		snprintf(fix, sizeof fix, "run 'docker restart %s': it then sees "
		    "the distro's files; what it wrote on the stand-in is shown "
		    "below %s/%s (copy it before a reboot)", c->name,
		    cfg->state_dir, STANDINS_DIR_NAME);
		restore_fail(r, r->x[c->standin_x].back.source, what, fix);
	}
	restore_settle_standins(r);
	r->took_ms = (int64_t)(util_now_ms() - r->started_ms);
	r->runs++;
	log_info(RESTORE_LOG, "pass %llu done in %lld ms: %zu container(s) "
	    "binding %zu exposure(s)", (unsigned long long)r->runs,
	    (long long)r->took_ms, r->nc, r->nx);
	restore_clear(r);
	r->phase = RESTORE_IDLE;
	notify_post(r->changed);
	if (r->again) {
		r->again = false;
		restore_request(r, "asked again meanwhile");
	}
}

static void
restore_release_ready(struct restore *r)
{
	if (!r->holding)
		return;
	r->holding = false;
	evtimer_del(r->ready_timer);
	notify_post(r->changed);
}

/* The engine could not be asked: idle, and asked again later. */
static void
restore_retry_later(struct restore *r)
{
	uint32_t ms = backoff_next(&r->retry, util_random());
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };
	r->phase = RESTORE_IDLE;
	evtimer_add(r->retry_timer, &tv);
}

static void
restore_got(int code, struct evbuffer *body, const char *error, void *arg)
{
	struct restore *r = arg;
	struct engine_get *g = r->get;
	r->get = NULL;
	struct json_object *o = error == NULL && code / 100 == 2 ?
	    engine_get_json(body, HTTP_CREATE_DEPTH_MAX) : NULL;
	switch (r->phase) {
	case RESTORE_LISTING:
		if (!json_object_is_type(o, json_type_array)) {
			snprintf(r->error, sizeof r->error, "GET %s: %s",
			    RESTORE_LIST_PATH, error != NULL ? error :
			    code / 100 == 2 ? "not a JSON array" : "refused");
			if (error == NULL && code / 100 != 2)
				snprintf(r->error, sizeof r->error, "GET %s "
				    "answered %d", RESTORE_LIST_PATH, code);
			log_state(LOG_LVL_WARN, RESTORE_LOG, "restore.list",
			    "cannot ask the engine which containers bind this "
			    "distro's paths: %s; trying again", r->error);
			restore_retry_later(r);
			break;
		}
		r->error[0] = '\0';
		log_state(LOG_LVL_INFO, RESTORE_LOG, "restore.list", NULL);
		backoff_reset(&r->retry);
		json_object_put(r->failures);
		r->failures = json_object_new_array();
		size_t n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++)
			restore_add_container(r,
			    json_object_array_get_idx(o, i));
		restore_mount_all(r);
		restore_release_ready(r);
		r->phase = RESTORE_INSPECTING;
		r->next = 0;
		break;
	case RESTORE_INSPECTING:
		restore_inspected(r, &r->c[r->next], o);
		r->next++;
		break;
	case RESTORE_RESTARTING:
	case RESTORE_IDLE:
		break;
	}
	json_object_put(o);
	engine_get_free(g);
	notify_post(r->changed);
	restore_step(r);
}

static struct engine_get *
restore_ask(struct restore *r, const char *method, const char *target,
    int timeout_s, engine_get_cb *cb, void *arg)
{
	const struct engine_get_opts opts = { .max = RESTORE_REPLY_MAX,
	    .timeout_s = timeout_s, .method = method };
	return engine_get_new(r->base, r->engine_fd, r->engine_name, target,
	    &opts, cb, arg);
}

/* One restart answered; the last one ends the pass. */
static void
restore_restarted(int code, struct evbuffer *body, const char *error,
    void *arg)
{
	struct restore_container *c = arg;
	struct restore *r = c->owner;
	engine_get_free(c->restart);
	c->restart = NULL;
	c->restarted = error == NULL && code / 100 == 2;
	if (!c->restarted)
		log_err(RESTORE_LOG, "cannot restart container %s: %s", c->name,
		    error != NULL ? error : "the engine refused");
	if (--r->restarting == 0)
		restore_finish(r);
}

/* Every container on a stand-in at once: one slow stop delays no other. */
static void
restore_restart_all(struct restore *r)
{
	char target[128];
	r->phase = RESTORE_RESTARTING;
	r->restarting = 1;	/* held until all are asked */
	for (size_t i = 0; i < r->nc; i++) {
		struct restore_container *c = &r->c[i];
		if (!c->on_standin || r->cfg->bind_repair != BIND_REPAIR_RESTART)
			continue;
		log_notice(RESTORE_LOG, "restarting container %s so that it sees "
		    "its bind source", c->name);
		snprintf(target, sizeof target, "/containers/%s/restart", c->id);
		c->restart = restore_ask(r, "POST", target, RESTORE_RESTART_S,
		    restore_restarted, c);
		if (c->restart != NULL)
			r->restarting++;
		else
			log_err(RESTORE_LOG, "cannot restart container %s: "
			    "cannot connect to the engine: %s", c->name,
			    strerror(errno));
	}
	if (--r->restarting == 0)
		restore_finish(r);
}

/* The next question for the engine, or the end of the pass. */
static void
restore_step(struct restore *r)
{
	char target[128];
	if (r->phase == RESTORE_INSPECTING) {
		while (r->next < r->nc && !r->c[r->next].check)
			r->next++;
		if (r->next < r->nc) {
			snprintf(target, sizeof target, "/containers/%s/json",
			    r->c[r->next].id);
			r->get = restore_ask(r, NULL, target, RESTORE_TIMEOUT_S,
			    restore_got, r);
			if (r->get != NULL)
				return;
			r->next++;
			restore_step(r);
			return;
		}
		restore_restart_all(r);
	}
}

static void
restore_start(struct restore *r)
{
	if (r->phase != RESTORE_IDLE) {
		r->again = true;
		return;
	}
	if (!r->engine_up)
		return;
	evtimer_del(r->retry_timer);
	r->started_ms = util_now_ms();
	r->phase = RESTORE_LISTING;
	r->get = restore_ask(r, NULL, RESTORE_LIST_PATH, RESTORE_TIMEOUT_S,
	    restore_got, r);
	if (r->get == NULL) {
		snprintf(r->error, sizeof r->error, "cannot connect to the engine "
		    "at %s: %s", r->engine_name != NULL ? r->engine_name : "(none)",
		    strerror(errno));
		restore_release_ready(r);
		restore_retry_later(r);
	}
}

void
restore_request(struct restore *r, const char *why)
{
	if (r == NULL)
		return;
	log_debug(RESTORE_LOG, "a pass: %s", why);
	restore_start(r);
}

static void
restore_retry_fired(evutil_socket_t fd, short what, void *arg)
{
	restore_start(arg);
}

static void
restore_ready_fired(evutil_socket_t fd, short what, void *arg)
{
	struct restore *r = arg;
	if (!r->holding)
		return;
	log_warn(RESTORE_LOG, "bind sources not all back after %d s "
	    "(bind.restore_timeout): ready anyway, the restore goes on",
	    r->cfg->bind_restore_timeout);
	r->holding = false;
	notify_post(r->changed);
}

void
restore_reconcile(struct restore *r, bool engine_usable, int engine_fd,
    const char *engine_name)
{
	if (r == NULL)
		return;
	/* A copy: the name main/ passes is replaced at a reload. */
	bool up = engine_usable && util_set_str(&r->engine_name,
	    engine_name) == 0 && r->engine_name != NULL;
	bool came = up && !r->engine_up;
	r->engine_fd = up ? engine_fd : -1;
	r->engine_up = up;
	if (!up) {
		evtimer_del(r->retry_timer);
		restore_release_ready(r);
	}
	if (came)
		restore_request(r, "the engine is there");
}

bool
restore_holds_ready(const struct restore *r)
{
	return r != NULL && r->holding;
}

struct json_object *
restore_take_messages(struct restore *r)
{
	struct json_object *next;
	if (r == NULL || json_object_array_length(r->messages) == 0 ||
	    (next = json_object_new_array()) == NULL)
		return NULL;
	struct json_object *taken = r->messages;
	r->messages = next;
	return taken;
}

struct restore *
restore_new(struct event_base *base, const struct config *cfg,
    struct exposures *exposures, struct work *work, struct notify *changed)
{
	struct restore *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->base = base;
	r->cfg = cfg;
	r->exposures = exposures;
	r->changed = changed;
	r->engine_fd = -1;
	r->took_ms = -1;
	r->retry = (struct backoff){ RESTORE_RETRY_FIRST_MS,
	    RESTORE_RETRY_MAX_MS, 0 };
	r->ready_timer = evtimer_new(base, restore_ready_fired, r);
	r->retry_timer = evtimer_new(base, restore_retry_fired, r);
	r->repairs = json_object_new_array();
	r->failures = json_object_new_array();
	r->messages = json_object_new_array();
	r->standins = standins_new(cfg, work, changed, restore_moved, r);
	if (r->ready_timer == NULL || r->retry_timer == NULL ||
	    r->repairs == NULL || r->failures == NULL || r->messages == NULL ||
	    r->standins == NULL) {
		restore_free(r);
		return NULL;
	}
	/*
	 * READY=1 waits for the first pass, up to bind.restore_timeout: the
	 * first reconcile lets go at once unless a pass started listing.
	 */
	struct timeval tv = { cfg->bind_restore_timeout, 0 };
	r->holding = cfg->bind_restore_timeout != 0 &&
	    evtimer_add(r->ready_timer, &tv) == 0;
	/* What an earlier run left shown or part moved: resumed now. */
	standins_flush(r->standins);
	return r;
}

void
restore_free(struct restore *r)
{
	if (r == NULL)
		return;
	engine_get_free(r->get);
	if (r->ready_timer != NULL)
		event_free(r->ready_timer);
	if (r->retry_timer != NULL)
		event_free(r->retry_timer);
	restore_clear(r);
	standins_free(r->standins);
	json_object_put(r->failures);
	json_object_put(r->repairs);
	json_object_put(r->messages);
	free(r->engine_name);
	free(r);
}

static struct json_object *
restore_copy(struct json_object *o)
{
	struct json_object *copy = NULL;
	return json_object_deep_copy(o, &copy, NULL) == 0 ? copy : NULL;
}

void
restore_report(const struct restore *r, struct json_object *parent,
    struct json_object *problems)
{
	struct json_object *o = r != NULL ? json_object_new_object() : NULL;
	if (o == NULL)
		return;
	json_object_object_add(parent, "restore", o);
	const char *state = r->phase != RESTORE_IDLE ? "running" :
	    !r->engine_up ? "waiting" : r->runs == 0 ? "pending" : "done";
	report_add_str(o, "state", state);
	report_add_str(o, "repair", r->cfg->bind_repair == BIND_REPAIR_REPORT ?
	    "report" : "restart");
	json_object_object_add(o, "runs", json_object_new_int64((int64_t)r->runs));
	json_object_object_add(o, "took_ms", r->took_ms >= 0 ?
	    json_object_new_int64(r->took_ms) : NULL);
	report_add_str(o, "error", r->error[0] != '\0' ? r->error : NULL);
	json_object_object_add(o, "moving", json_object_new_int64(
	    (int64_t)standins_moving(r->standins)));
	/*
	 * Copies: the status is the caller's to change (request.c filters it
	 * for an ordinary user); the record stays this module's.
	 */
	json_object_object_add(o, "repairs", restore_copy(r->repairs));
	size_t n = json_object_array_length(r->failures);
	json_object_object_add(o, "failures", json_object_new_int64((int64_t)n));
	for (size_t i = 0; i < n && problems != NULL; i++)
		json_object_array_add(problems, restore_copy(
		    json_object_array_get_idx(r->failures, i)));
	standins_problems(r->standins, problems);
}
