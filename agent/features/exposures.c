/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The exposure table.  The engine runs in another distro and cannot see
 * this one's files, so a bind source it cannot see (binds.c decides) is
 * bind-mounted (MS_BIND|MS_REC) below the shared tmpfs, at
 * /mnt/wsl/docker-desktop-bind-mounts/<distro>/<sha256 of the path>,
 * which propagates to every distro, and the engine is told that path as
 * it sees it (pathmap.c: /run/desktop/mnt/host/wsl/... on Docker
 * Desktop).  A file source gets a file as its mount point.  The area and
 * every point in it are reached by descriptor (exposures-area.c).
 *
 * Exposures live as long as a container uses one: usage.c asks the
 * engine who does and hands the answer to exposures_collect(); a create
 * still on its way holds its exposure for up to EXPOSURES_PENDING_MS,
 * until a container using it shows up.  Unused ones are unmounted (after
 * an identity check, MNT_DETACH) and removed.  Every exposure is in the
 * manifest before it is mounted, so a restart, even after kill -9, finds
 * them all; its record (the entry's meta: read-only, its containers, when
 * it was mounted) is written here only, for restore.c's passes after a
 * reboot too.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/json.h"
#include "base/config.h"
#include "base/log.h"
#include "base/report.h"
#include "base/sha256.h"
#include "base/util.h"
#include "sys/manifest.h"
#include "sys/trust.h"
#include "wire/pathmap.h"
#include "io/notify.h"
#include "features/exposures-int.h"
#include "features/exposures.h"

#define EXPOSURES_NAMES_SHOWN	8

/* ------------------------------------------------------------------ */
/* The table */

/* Where the engine sees a path of ours below the shared tmpfs; malloc'd. */
static char *
exposures_engine_path(const struct exposures *e, const char *local)
{
	char *engine = NULL;
	if (pathmap_translate(e->map, local, &engine) == PATHMAP_EXPOSE)
		engine = strdup(local);	/* not below it: as it is */
	return engine;
}

struct exposure *
exposures_find(struct exposures *e, const char *local)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->x[i].local, local) == 0)
			return &e->x[i];
	return NULL;
}

/* The exposure the engine sees at engine (or above it), or NULL. */
static struct exposure *
exposures_find_engine(struct exposures *e, const char *engine)
{
	for (size_t i = 0; i < e->n; i++)
		if (util_path_within(engine, e->x[i].engine))
			return &e->x[i];
	return NULL;
}

struct exposure *
exposures_add(struct exposures *e, const char *source, const char *local)
{
	if (e->n >= EXPOSURES_MAX) {
		errno = ENOSPC;
		return NULL;
	}
	struct exposure *grown = realloc(e->x, (e->n + 1) * sizeof *grown);
	if (grown == NULL)
		return NULL;
	e->x = grown;
	struct exposure *x = &e->x[e->n];
	memset(x, 0, sizeof *x);
	x->source = strdup(source);
	x->local = strdup(local);
	x->engine = exposures_engine_path(e, local);
	x->users = json_object_new_array();
	if (x->source == NULL || x->local == NULL || x->engine == NULL ||
	    x->users == NULL) {
		free(x->source);
		free(x->local);
		free(x->engine);
		json_object_put(x->users);
		errno = ENOMEM;
		return NULL;
	}
	e->n++;
	return x;
}

void
exposures_drop(struct exposures *e, struct exposure *x)
{
	free(x->source);
	free(x->local);
	free(x->engine);
	json_object_put(x->users);
	size_t i = (size_t)(x - e->x);
	memmove(x, x + 1, (e->n - i - 1) * sizeof *x);
	e->n--;
}

/* ------------------------------------------------------------------ */
/* Mounts, by descriptor in the area */

/*
 * The exposure's mount point, as a name in the trusted area (e->dir_fd):
 * NULL and errno when the area is not trusted (EPERM) or the point is not
 * directly in it (EXDEV: an entry of an earlier run under another distro
 * name).
 */
const char *
exposures_point_name(const struct exposures *e, const struct exposure *x)
{
	size_t n = strlen(e->local_dir);
	if (e->dir_fd < 0) {
		errno = EPERM;
		return NULL;
	}
	if (strncmp(x->local, e->local_dir, n) != 0 || x->local[n] != '/' ||
	    x->local[n + 1] == '\0' || strchr(x->local + n + 1, '/') != NULL) {
		errno = EXDEV;
		return NULL;
	}
	return x->local + n + 1;
}

int
exposures_mount(struct exposures *e, struct exposure *x, bool read_only)
{
	struct trust_mount_id id;
	const char *name = exposures_point_name(e, x);
	if (name == NULL || exposures_point_mount(e->dir_fd, name, x->source,
	    read_only, &id) < 0)
		return -1;
	exposures_mounted_as(x, &id, read_only);
	return 0;
}

void
exposures_mounted_as(struct exposure *x, const struct trust_mount_id *id,
    bool read_only)
{
	x->mounted = true;
	x->have_mount_id = true;
	x->mount_id = *id;
	x->read_only = read_only;
}

/* Is something mounted on x's point, looked at through the area's fd? */
static bool
exposures_is_mounted(const struct exposures *e, const struct exposure *x)
{
	const char *name = exposures_point_name(e, x);
	return name != NULL && exposures_point_mounted(e->dir_fd, name);
}

/* Unmount x if it is mounted: only the mount made (ESTALE otherwise). */
static int
exposures_unmount(struct exposures *e, struct exposure *x)
{
	const char *name = exposures_point_name(e, x);
	if (name == NULL || exposures_point_unmount(e->dir_fd, name,
	    x->have_mount_id ? &x->mount_id : NULL) < 0)
		return -1;
	x->mounted = false;
	x->have_mount_id = false;
	return 0;
}

void
exposures_remove_point(struct exposures *e, const struct exposure *x)
{
	const char *name = exposures_point_name(e, x);
	if (name != NULL)
		exposures_point_remove(e->dir_fd, name);
}

/* ------------------------------------------------------------------ */
/* Records, in the manifest */

static int64_t
exposures_meta_int(struct json_object *meta, const char *key)
{
	struct json_object *v;
	if (meta == NULL || !json_object_object_get_ex(meta, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

void
exposures_record(struct exposures *e, const char *local, bool read_only,
    struct json_object *users, bool mounted, bool mounted_now)
{
	struct manifest_entry *m = manifest_find(e->manifest,
	    EXPOSURES_MANIFEST_KIND, local);
	if (m == NULL)
		return;
	int64_t at = mounted_now ? (int64_t)util_wall_ms() :
	    mounted ? exposures_meta_int(m->meta, "mounted_at") : 0;
	struct json_object *meta = json_object_new_object();
	if (meta == NULL)
		return;
	struct json_object *old;
	if (users == NULL && m->meta != NULL &&
	    json_object_object_get_ex(m->meta, "containers", &old))
		users = old;
	json_object_object_add(meta, "read_only",
	    json_object_new_boolean(read_only));
	json_object_object_add(meta, "containers", users != NULL ?
	    json_object_get(users) : json_object_new_array());
	json_object_object_add(meta, "mounted_at", at != 0 ?
	    json_object_new_int64(at) : NULL);
	(void)manifest_set_meta(e->manifest, EXPOSURES_MANIFEST_KIND, local,
	    meta);
}

uint64_t
exposures_mounted_at(const struct exposures *e, const char *local)
{
	struct manifest_entry *m = manifest_find(e->manifest,
	    EXPOSURES_MANIFEST_KIND, local);
	return m != NULL ? (uint64_t)exposures_meta_int(m->meta,
	    "mounted_at") : 0;
}

int
exposures_save(struct exposures *e)
{
	return manifest_save(e->manifest);
}

/* ------------------------------------------------------------------ */
/* Making, keeping and removing exposures */

/* Unmounted and gone; false (error says why) when it cannot be. */
static bool
exposures_remove(struct exposures *e, struct exposure *x, char *error,
    size_t errlen)
{
	if (exposures_unmount(e, x) < 0) {
		snprintf(error, errlen, "cannot unmount %s (the exposure of %s): "
		    "%s", x->local, x->source, errno == ESTALE ? "another mount "
		    "is there, not the one the agent made; left alone" :
		    strerror(errno));
		log_state(LOG_LVL_ERR, EXPOSURES_LOG, x->local, "%s; will try "
		    "again", error);
		return false;
	}
	log_state(LOG_LVL_INFO, EXPOSURES_LOG, x->local, NULL);
	exposures_remove_point(e, x);
	manifest_remove(e->manifest, EXPOSURES_MANIFEST_KIND, x->local);
	log_notice(EXPOSURES_LOG, "removed the exposure of %s at %s: no "
	    "container uses it", x->source, x->engine);
	exposures_drop(e, x);
	return true;
}

int
exposures_ensure_mounted(struct exposures *e, const char *engine, char *why,
    size_t whylen)
{
	struct exposure *x = exposures_find_engine(e, engine);
	if (x == NULL)
		return 0;
	if (x->mounting)
		return 2;	/* a worker mounts it for a create */
	if (x->mounted && exposures_is_mounted(e, x))
		return 1;
	x->mounted = false;
	if (exposures_mount(e, x, x->read_only) < 0) {
		snprintf(why, whylen, "cannot re-expose %s to the engine at %s: "
		    "%s", x->source, x->local, strerror(errno));
		return -1;
	}
	log_notice(EXPOSURES_LOG, "re-mounted %s at %s for a volume bound to "
	    "it", x->source, x->engine);
	notify_post(e->changed);
	return 1;
}

char *
exposures_user_path(const struct exposures *e, const char *path)
{
	for (size_t i = 0; e != NULL && i < e->n; i++) {
		const struct exposure *x = &e->x[i];
		const char *at = util_path_within(path, x->engine) ? x->engine :
		    util_path_within(path, x->local) ? x->local : NULL;
		char *user;
		if (at != NULL && asprintf(&user, "%s%s", x->source,
		    path + strlen(at)) >= 0)
			return user;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Collecting: who uses each, as usage.c found */

static bool
exposures_users_have(struct json_object *users, const char *id)
{
	size_t n = json_object_array_length(users);
	for (size_t i = 0; i < n; i++) {
		const char *uid = json_string(
		    json_object_array_get_idx(users, i), "id");
		if (uid != NULL && strcmp(uid, id) == 0)
			return true;
	}
	return false;
}

/* "a, b and 3 more" */
static void
exposures_users_text(struct json_object *users, char *buf, size_t len)
{
	size_t n = json_object_array_length(users), o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && i < EXPOSURES_NAMES_SHOWN && o < len; i++) {
		const char *name = json_string(
		    json_object_array_get_idx(users, i), "name");
		int w = snprintf(buf + o, len - o, "%s%s", i > 0 ? ", " : "",
		    name != NULL ? name : "?");
		if (w > 0)
			o += (size_t)w;
	}
	if (n > EXPOSURES_NAMES_SHOWN && o < len)
		snprintf(buf + o, len - o, " and %zu more",
		    n - EXPOSURES_NAMES_SHOWN);
}

/* Who uses x now (taken); retires one pending create per new user. */
static void
exposures_take_users(struct exposure *x, struct json_object *users,
    uint64_t now)
{
	if (users == NULL)
		return;
	size_t n = json_object_array_length(users), fresh = 0;
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string(
		    json_object_array_get_idx(users, i), "id");
		fresh += id != NULL && !exposures_users_have(x->users, id);
	}
	/* Creates seen through: their containers exist now. */
	size_t retire = fresh < x->npending ? fresh : x->npending;
	size_t keep = 0;
	for (size_t i = retire; i < x->npending; i++)
		if (x->pending[i] > now)
			x->pending[keep++] = x->pending[i];
	x->npending = keep;
	char before[512], after[512];
	exposures_users_text(x->users, before, sizeof before);
	exposures_users_text(users, after, sizeof after);
	if (strcmp(before, after) != 0 && after[0] != '\0')
		log_notice(EXPOSURES_LOG, "%s (at %s) is used by %s", x->source,
		    x->engine, after);
	json_object_put(x->users);
	x->users = users;
}

void
exposures_collect(struct exposures *e, uint64_t now,
    exposures_users_fn *users, void *arg, struct exposures_collected *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < e->n;) {
		struct exposure *x = &e->x[i];
		exposures_take_users(x, users(arg, x->engine), now);
		bool used = json_object_array_length(x->users) > 0;
		if (!used && x->npending == 0 && !x->mounting) {
			/* Kept when the unmount failed: the next one is next. */
			i += !exposures_remove(e, x, out->error,
			    sizeof out->error);
			continue;
		}
		/* After a reboot: containers still need it (restore.c). */
		out->used_unmounted |= used && !x->mounted;
		exposures_record(e, x->local, x->read_only, x->users,
		    x->mounted, false);
		for (size_t t = 0; t < x->npending; t++)
			if (out->next_ms == 0 || x->pending[t] < out->next_ms)
				out->next_ms = x->pending[t];
		i++;
	}
	manifest_save(e->manifest);
	notify_post(e->changed);
}

/* ------------------------------------------------------------------ */
/* Bringing exposures back (restore.c) */

void
exposures_back_clear(struct exposures_back *out)
{
	free(out->source);
	free(out->local);
	if (out->standin_fd >= 0)
		close(out->standin_fd);
	memset(out, 0, sizeof *out);
	out->standin_fd = -1;
}

int
exposures_mount_back(struct exposures *e, const char *engine_source,
    bool read_only, struct exposures_back *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	out->standin_fd = -1;
	if (e == NULL || e->engine_dir == NULL ||
	    !util_path_within(engine_source, e->engine_dir) ||
	    strlen(engine_source) <= strlen(e->engine_dir))
		return 1;
	struct exposure *x = exposures_find_engine(e, engine_source);
	if (x == NULL) {
		snprintf(why, whylen, "%s is an exposure of this distro that its "
		    "manifest does not record (the agent's state_dir was lost?): "
		    "its source is unknown; recreate the container from its "
		    "source path", engine_source);
		return -1;
	}
	out->source = strdup(x->source);
	out->local = strdup(x->local);
	if (out->source == NULL || out->local == NULL) {
		exposures_back_clear(out);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	out->read_only = x->read_only;
	if (x->mounting) {
		snprintf(why, whylen, "%s is being mounted for a create right "
		    "now; run 'wsl-docker-agent reconcile' in a moment",
		    x->local);
		exposures_back_clear(out);
		return -1;
	}
	if (e->dir_fd < 0) {
		snprintf(why, whylen, "the bind-mount area is untrusted: %s",
		    e->untrusted);
		exposures_back_clear(out);
		return -1;
	}
	x->mounted = exposures_is_mounted(e, x);
	if (x->mounted)
		return 0;
	struct stat st;
	if (stat(x->source, &st) < 0) {
		snprintf(why, whylen, "its source %s is gone from this distro "
		    "(%s); recreate it, then run 'wsl-docker-agent reconcile', "
		    "or remove the container", x->source, strerror(errno));
		return -1;
	}
	/*
	 * What the engine made there meanwhile (a directory of root's in the
	 * trusted area, never followed): moved aside later.
	 */
	const char *name = exposures_point_name(e, x);
	out->standin_fd = name != NULL ? openat(e->dir_fd, name, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
	if (exposures_mount(e, x, read_only) < 0) {
		snprintf(why, whylen, "cannot mount %s on %s: %s; check both "
		    "paths, then run 'wsl-docker-agent reconcile'", x->source,
		    x->local, strerror(errno));
		exposures_back_clear(out);
		return -1;
	}
	out->mounted_now = true;
	out->read_only = x->read_only;
	log_state(LOG_LVL_INFO, EXPOSURES_LOG, x->local, NULL);
	log_notice(EXPOSURES_LOG, "re-mounted %s at %s%s for the containers "
	    "using it", x->source, x->engine, x->read_only ? " (read-only)" :
	    "");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Life cycle */

/*
 * mountinfo could not be read (EMFILE, say): the table read before stays,
 * said once.  With none yet, nothing is exposed and the next reconcile
 * tries again.
 */
static void
exposures_map_unread(struct exposures *e, int err)
{
	if (err == ENOMEM)
		return;
	snprintf(e->map_error, sizeof e->map_error, "cannot read "
	    "/proc/self/mountinfo: %s; %s", strerror(err), e->map != NULL ?
	    "the engine's view of paths stays the one read before" :
	    "no bind source is re-exposed until it can be read");
	log_state(LOG_LVL_ERR, EXPOSURES_LOG, "bind.mountinfo", "%s",
	    e->map_error);
}

/*
 * The engine's view of paths, from mountinfo and the configuration, and
 * where exposures go here and for the engine, for this distro.
 */
static int
exposures_set_dirs(struct exposures *e)
{
	const struct config *c = e->cfg;
	const struct pathmap_options o = {
		.engine_wsl_root = c->bind_engine_wsl_root,
		.engine_drive_root = c->bind_engine_drive_root,
		.shared_paths = c->bind_shared_paths,
	};
	struct pathmap *m = pathmap_new(&o);
	if (m == NULL) {
		int err = errno;
		exposures_map_unread(e, err);
		errno = err;
		return -1;
	}
	e->map_error[0] = '\0';
	log_state(LOG_LVL_INFO, EXPOSURES_LOG, "bind.mountinfo", NULL);
	char *base = util_path_join(pathmap_shared_root(m), EXPOSURES_DIR_NAME);
	char *dir = base != NULL ? util_path_join(base, c->distro) : NULL;
	free(base);
	struct pathmap *old = e->map;
	e->map = m;
	char *engine = dir != NULL ? exposures_engine_path(e, dir) : NULL;
	if (engine == NULL) {
		e->map = old;
		pathmap_free(m);
		free(dir);
		errno = ENOMEM;
		return -1;
	}
	pathmap_free(old);
	free(e->local_dir);
	free(e->engine_dir);
	e->local_dir = dir;
	e->engine_dir = engine;
	/* The engine may see the shared tmpfs elsewhere now (a reload). */
	for (size_t i = 0; i < e->n; i++) {
		char *path = exposures_engine_path(e, e->x[i].local);
		if (path != NULL) {
			free(e->x[i].engine);
			e->x[i].engine = path;
		}
	}
	return 0;
}

/* The area, walked again (made if missing) at each reconcile. */
static void
exposures_check_area(struct exposures *e)
{
	struct trust_failure f;
	memset(&f, 0, sizeof f);
	int fd = exposures_open_area(pathmap_shared_root(e->map),
	    e->cfg->distro, &f);
	if (e->dir_fd >= 0)
		close(e->dir_fd);
	e->dir_fd = fd;
	if (fd >= 0) {
		e->untrusted[0] = '\0';
		log_state(LOG_LVL_INFO, EXPOSURES_LOG, "bind.area", NULL);
		return;
	}
	trust_failure_format(&f, e->untrusted, sizeof e->untrusted);
	log_state(LOG_LVL_WARN, EXPOSURES_LOG, "bind.area", "untrusted: %s; no "
	    "bind source is re-exposed, mounted or unmounted there",
	    e->untrusted);
}

/* What an earlier run left: ours to keep or remove. */
static void
exposures_load_manifest(struct exposures *e)
{
	struct manifest *m = e->manifest;
	for (size_t i = 0; i < m->n; i++) {
		struct manifest_entry *me = &m->entries[i];
		if (strcmp(me->kind, EXPOSURES_MANIFEST_KIND) != 0 ||
		    me->target == NULL || exposures_find(e, me->path) != NULL)
			continue;
		struct exposure *x = exposures_add(e, me->target, me->path);
		if (x == NULL) {
			log_err(EXPOSURES_LOG, "cannot track %s from the manifest: "
			    "%s", me->path, strerror(errno));
			continue;
		}
		/* Asked through the area's descriptor: never by the path. */
		x->mounted = exposures_is_mounted(e, x);
	}
	if (e->n > 0)
		log_info(EXPOSURES_LOG, "%zu bind source(s) exposed by an earlier "
		    "run; keeping those containers use", e->n);
}

struct exposures *
exposures_new(const struct config *cfg, struct manifest *manifest,
    struct notify *changed)
{
	struct exposures *e = calloc(1, sizeof *e);
	if (e == NULL)
		return NULL;
	e->cfg = cfg;
	e->manifest = manifest;
	e->changed = changed;
	e->dir_fd = -1;
	return e;
}

void
exposures_reconcile(struct exposures *e)
{
	if (e == NULL)
		return;
	/* The distro's name or the shared root may have changed (reload). */
	if (exposures_set_dirs(e) < 0 && e->map == NULL) {
		/* An unread mountinfo was logged where it was found. */
		if (errno == ENOMEM)
			log_state(LOG_LVL_ERR, EXPOSURES_LOG, "bind.new", "out of "
			    "memory: bind-mount sources are not re-exposed");
		return;
	}
	exposures_check_area(e);
	if (!e->loaded)
		exposures_load_manifest(e);	/* its points looked at in the area */
	e->loaded = true;
}

void
exposures_free(struct exposures *e)
{
	if (e == NULL)
		return;
	exposures_jobs_orphan(e);
	while (e->n > 0)
		exposures_drop(e, &e->x[e->n - 1]);
	free(e->x);
	pathmap_free(e->map);
	if (e->dir_fd >= 0)
		close(e->dir_fd);
	free(e->local_dir);
	free(e->engine_dir);
	free(e);
}

const char *
exposures_dir(const struct exposures *e)
{
	return e != NULL ? e->local_dir : NULL;
}

const struct pathmap *
exposures_pathmap(const struct exposures *e)
{
	return e != NULL ? e->map : NULL;
}

const char *
exposures_untrusted(const struct exposures *e)
{
	return e != NULL && e->untrusted[0] != '\0' ? e->untrusted : NULL;
}

size_t
exposures_count(const struct exposures *e)
{
	return e != NULL ? e->n : 0;
}

static struct json_object *
exposures_one_json(const struct exposure *x)
{
	struct json_object *o = json_object_new_object();
	if (o == NULL)
		return NULL;
	json_object_object_add(o, "source", json_object_new_string(x->source));
	json_object_object_add(o, "path", json_object_new_string(x->engine));
	json_object_object_add(o, "local", json_object_new_string(x->local));
	json_object_object_add(o, "read_only",
	    json_object_new_boolean(x->read_only));
	json_object_object_add(o, "mounted", json_object_new_boolean(x->mounted));
	struct json_object *names = json_object_new_array();
	size_t nu = json_object_array_length(x->users);
	for (size_t u = 0; u < nu && names != NULL; u++) {
		struct json_object *v;
		json_object_object_get_ex(json_object_array_get_idx(x->users, u),
		    "name", &v);
		json_object_array_add(names, json_object_get(v));
	}
	json_object_object_add(o, "containers", names);
	json_object_object_add(o, "pending_creates",
	    json_object_new_int64((int64_t)x->npending));
	return o;
}

void
exposures_report(const struct exposures *e, struct json_object *binds,
    struct json_object *problems)
{
	if (e == NULL || e->local_dir == NULL)
		return;
	json_object_object_add(binds, "dir", json_object_new_string(e->local_dir));
	json_object_object_add(binds, "engine_dir",
	    json_object_new_string(e->engine_dir));
	report_add_str(binds, "untrusted", exposures_untrusted(e));
	if (e->map_error[0] != '\0')
		report_add_problem(problems, e->map_error, "find what holds the "
		    "agent's descriptors or memory (the log says more); the "
		    "table is read again at each reconcile: 'sudo "
		    "wsl-docker-agent reconcile'");
	json_object_object_add(binds, "shared_paths", json_object_new_string(
	    e->cfg->bind_shared_paths != NULL ? e->cfg->bind_shared_paths : ""));
	json_object_object_add(binds, "paths", pathmap_status_json(e->map));
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < e->n && arr != NULL; i++) {
		struct json_object *one = exposures_one_json(&e->x[i]);
		if (one == NULL)
			break;
		json_object_array_add(arr, one);
	}
	json_object_object_add(binds, "exposures", arr);
}
