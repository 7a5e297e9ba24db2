/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Making an exposure for a create (exposures.h: exposures_make).  One the
 * engine sees already is used at once: a ticket that holds it until the
 * container shows up, made writable for a writer.  A new one is recorded
 * in the manifest before it is mounted, so a crash cannot leave it
 * unknown; both the manifest's write (with its fsync) and the mount are
 * work the proxy's loop must not wait on, since that loop carries every
 * other docker connection's bytes.  With a worker (exposures_set_worker)
 * they run there, in that order: the create that asked is told "not yet"
 * (the proxy holds only that connection), the table marks the exposure
 * as being mounted (not used, never collected), and the worker's
 * completion, back on the loop, fills the table in and calls `mounted',
 * whose caller asks again.  A mount that failed is remembered for a
 * moment (EXPOSURES_FAILED_MS) so the creates that waited on it get its
 * reason instead of mounting again.  Without a worker (tests, a full
 * queue) the same steps run on the loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "sys/manifest.h"
#include "sys/trust.h"
#include "wire/pathmap.h"
#include "io/notify.h"
#include "io/work.h"
#include "features/exposures-int.h"
#include "features/exposures.h"

/* A new exposure's manifest write and mount, on the worker. */
struct exposures_job {
	struct exposures *e;		/* NULL: the table went first */
	struct exposures_job *next;	/* e->jobs */
	char		*source;
	char		*local;
	char		 name[SHA256_HEX_SIZE];	/* its point in the area */
	int		 dir_fd;	/* the area: the job's own descriptor */
	bool		 fresh;		/* new: record it first */
	bool		 read_only;
	struct manifest_copy copy;	/* fresh: the manifest to write */
	int		 copy_r, copy_err;
	int		 err;		/* 0: mounted */
	const char	*step;		/* what failed */
	struct trust_mount_id id;
};

/* ------------------------------------------------------------------ */
/* Using an exposure the engine sees */

/*
 * One more create uses x (mounted): made writable for a writer, its
 * record updated, a ticket that holds it until the container shows up.
 */
static void
exposures_use(struct exposures *e, struct exposure *x, bool read_only,
    bool mounted_now, bool fresh, bool held)
{
	if (x->read_only && !read_only) {
		/* A writer came: the readers' containers stay read-only. */
		const char *name = exposures_point_name(e, x);
		if (name == NULL || exposures_point_make_writable(e->dir_fd, name,
		    x->have_mount_id ? &x->mount_id : NULL) < 0)
			log_warn(EXPOSURES_LOG, "cannot make %s writable: %s",
			    x->local, strerror(errno));
		else
			x->read_only = false;
	}
	exposures_record(e, x->local, x->read_only, x->users, true,
	    mounted_now);
	if (held)
		return;		/* its ticket was given in an earlier pass */
	if (x->npending == EXPOSURES_TICKETS_MAX)
		memmove(x->pending, x->pending + 1,
		    (EXPOSURES_TICKETS_MAX - 1) * sizeof x->pending[0]);
	else
		x->npending++;
	x->pending[x->npending - 1] = util_now_ms() + EXPOSURES_PENDING_MS;
	if (fresh)
		log_notice(EXPOSURES_LOG, "re-exposed %s to the engine at %s%s",
		    x->source, x->engine, x->read_only ? " (read-only)" : "");
	else
		log_info(EXPOSURES_LOG, "%s: already exposed at %s; used by one "
		    "more create", x->source, x->engine);
	notify_post(e->changed);
}

/*
 * Why source cannot be exposed at all (no view of the engine's paths, it
 * contains the shared tree, the area is untrusted): true and why.
 */
static bool
exposures_refused(const struct exposures *e, const char *source, char *why,
    size_t whylen)
{
	if (e->map == NULL)
		snprintf(why, whylen, "cannot re-expose %s to the engine: %s",
		    source, e->map_error[0] != '\0' ? e->map_error :
		    "out of memory");
	else if (exposures_source_contains(source,
	    pathmap_shared_root(e->map), e->local_dir))
		snprintf(why, whylen, "invalid mount config for type "
		    "\"bind\": bind source path %s (in WSL distro %s) contains "
		    "%s, where bind sources are re-exposed to the engine: that "
		    "would expose the shared tree into itself; bind-mount a "
		    "directory that does not contain %s", source,
		    e->cfg->distro, e->local_dir, pathmap_shared_root(e->map));
	else if (e->dir_fd < 0)
		snprintf(why, whylen, "cannot re-expose %s to the engine: the "
		    "bind-mount area is untrusted: %s", source, e->untrusted);
	else
		return false;
	return true;
}

/*
 * source's point in the area (malloc'd) and its name there (hash: the
 * sha256 of the path); NULL and why.
 */
static char *
exposures_point_of(const struct exposures *e, const char *source,
    char hash[SHA256_HEX_SIZE], char *why, size_t whylen)
{
	sha256_hex(source, hash);
	char *local = util_path_join(e->local_dir, hash);
	if (local == NULL)
		snprintf(why, whylen, "out of memory");
	return local;
}

/* Where e's answer for one create goes: 0, or -1 and why. */
static int
exposures_answer(const struct exposure *x, char **engine_path, char *why,
    size_t whylen)
{
	*engine_path = strdup(x->engine);
	if (*engine_path != NULL)
		return 0;
	snprintf(why, whylen, "out of memory");
	return -1;
}

/* ------------------------------------------------------------------ */
/* On the loop, as it has always been */

struct exposure *
exposures_enter(struct exposures *e, const char *source, const char *local,
    struct stat *st, char *why, size_t whylen)
{
	struct exposure *x = NULL;
	if (stat(source, st) < 0 || (x = exposures_add(e, source,
	    local)) == NULL) {
		snprintf(why, whylen, "cannot re-expose %s to the engine below "
		    "%s: %s", source, e->local_dir, strerror(errno));
		return NULL;
	}
	if (manifest_add(e->manifest, EXPOSURES_MANIFEST_KIND, local,
	    source) < 0) {
		snprintf(why, whylen, "cannot re-expose %s to the engine at %s: "
		    "%s", source, local, strerror(errno));
		exposures_drop(e, x);
		return NULL;
	}
	return x;
}

/* A new one: recorded, its point made, mounted; NULL and why. */
static struct exposure *
exposures_new_one(struct exposures *e, const char *source,
    const char *hash, const char *local, bool read_only, char *why,
    size_t whylen)
{
	struct stat st;
	struct exposure *x = exposures_enter(e, source, local, &st, why,
	    whylen);
	if (x == NULL)
		return NULL;
	/* Recorded before it exists: a crash cannot leave it unknown. */
	if (manifest_save(e->manifest) < 0 ||
	    exposures_point_make(e->dir_fd, hash, S_ISDIR(st.st_mode)) < 0) {
		snprintf(why, whylen, "cannot re-expose %s to the engine at %s: "
		    "%s", source, local, strerror(errno));
		goto undo;
	}
	if (exposures_mount(e, x, read_only) < 0) {
		snprintf(why, whylen, "cannot re-expose %s to the engine: mount "
		    "on %s: %s", source, x->local, strerror(errno));
		exposures_remove_point(e, x);
		goto undo;
	}
	return x;
undo:
	manifest_remove(e->manifest, EXPOSURES_MANIFEST_KIND, local);
	manifest_save(e->manifest);
	exposures_drop(e, x);
	return NULL;
}

int
exposures_make_now(struct exposures *e, const char *source, bool read_only,
    char **engine_path, char *why, size_t whylen)
{
	char hash[SHA256_HEX_SIZE];
	*engine_path = NULL;
	if (exposures_refused(e, source, why, whylen))
		return -1;
	char *local = exposures_point_of(e, source, hash, why, whylen);
	if (local == NULL)
		return -1;
	struct exposure *x = exposures_find(e, local);
	bool fresh = x == NULL, mounting = fresh || !x->mounted;
	if (x != NULL && x->mounting) {
		/* A worker mounts it: the loop does not wait for it. */
		snprintf(why, whylen, "cannot re-expose %s to the engine: it is "
		    "being mounted for another create; try again", source);
		x = NULL;
	} else if (fresh)
		x = exposures_new_one(e, source, hash, local, read_only, why,
		    whylen);
	else if (!x->mounted && exposures_mount(e, x, read_only) < 0) {
		snprintf(why, whylen, "cannot re-expose %s to the engine: mount "
		    "on %s: %s", source, x->local, strerror(errno));
		x = NULL;
	}
	free(local);
	if (x == NULL)
		return -1;
	exposures_use(e, x, read_only, mounting, fresh, false);
	return exposures_answer(x, engine_path, why, whylen);
}

/* ------------------------------------------------------------------ */
/* On the worker */

static void
exposures_job_free(struct exposures_job *j)
{
	if (j->dir_fd >= 0)
		close(j->dir_fd);
	manifest_copy_free(&j->copy);
	free(j->source);
	free(j->local);
	free(j);
}

/* The worker: the record written (fsync'd), then the mount. */
static void
exposures_job_run(struct work *w, void *arg)
{
	struct exposures_job *j = arg;
	(void)w;
	if (j->fresh) {
		j->copy_r = manifest_copy_write(&j->copy);
		j->copy_err = errno;
		if (j->copy_r < 0) {
			j->err = j->copy_err;
			j->step = "record it in the manifest";
			return;
		}
	}
	if (exposures_point_mount(j->dir_fd, j->name, j->source, j->read_only,
	    &j->id) < 0) {
		j->err = errno;
		j->step = "mount it";
	}
}

static void
exposures_fail_remember(struct exposures *e, const char *local,
    const char *why)
{
	uint64_t now = util_now_ms();
	struct exposures_failed *slot = &e->failed[0];
	for (size_t i = 0; i < EXPOSURES_FAILED_KEPT; i++) {
		struct exposures_failed *f = &e->failed[i];
		if (f->local == NULL || f->until_ms <= now ||
		    strcmp(f->local, local) == 0) {
			slot = f;
			break;
		}
		if (f->until_ms < slot->until_ms)
			slot = f;	/* the oldest goes */
	}
	free(slot->local);
	slot->local = strdup(local);
	slot->until_ms = now + EXPOSURES_FAILED_MS;
	snprintf(slot->why, sizeof slot->why, "%s", why);
}

/* A mount of local that failed a moment ago: true and its why. */
static bool
exposures_failed_recently(const struct exposures *e, const char *local,
    char *why, size_t whylen)
{
	uint64_t now = util_now_ms();
	for (size_t i = 0; i < EXPOSURES_FAILED_KEPT; i++) {
		const struct exposures_failed *f = &e->failed[i];
		if (f->local != NULL && f->until_ms > now &&
		    strcmp(f->local, local) == 0) {
			snprintf(why, whylen, "%s", f->why);
			return true;
		}
	}
	return false;
}

static void
exposures_job_unlink(struct exposures *e, struct exposures_job *j)
{
	for (struct exposures_job **p = &e->jobs; *p != NULL; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			return;
		}
}

/* The worker's end of a job, on the loop. */
static void
exposures_job_done(void *arg, bool ran)
{
	struct exposures_job *j = arg;
	struct exposures *e = j->e;
	bool mounted = ran && j->err == 0;
	if (e != NULL) {
		exposures_job_unlink(e, j);
		if (j->fresh)
			manifest_copy_done(e->manifest, &j->copy, j->copy_r,
			    j->copy_err);
	}
	struct exposure *x = e != NULL ? exposures_find(e, j->local) : NULL;
	if (x == NULL) {
		/* The table went first, or it is not ours (a new area): go. */
		if (mounted)
			(void)exposures_point_unmount(j->dir_fd, j->name,
			    &j->id);
	} else if (mounted) {
		x->mounting = false;
		exposures_mounted_as(x, &j->id, j->read_only);
		/*
		 * Its creates ask again on a later turn.  Should a collection
		 * come first and take it (no ticket yet), they are told "not
		 * yet" once more and it is mounted again: a mount lost, no
		 * create.
		 */
		exposures_record(e, x->local, x->read_only, x->users, true,
		    true);
		log_notice(EXPOSURES_LOG, "re-exposed %s to the engine at %s%s",
		    x->source, x->engine, x->read_only ? " (read-only)" : "");
		notify_post(e->changed);
	} else {
		char why[1024];
		snprintf(why, sizeof why, "cannot re-expose %s to the engine: "
		    "%s at %s: %s", j->source, j->step != NULL ? j->step :
		    "mount it", j->local, ran ? strerror(j->err) : "the agent "
		    "is stopping");
		log_warn(EXPOSURES_LOG, "%s", why);
		exposures_fail_remember(e, j->local, why);
		x->mounting = false;
		if (j->fresh) {
			if (ran && j->copy_r == 0)
				exposures_remove_point(e, x);
			manifest_remove(e->manifest, EXPOSURES_MANIFEST_KIND,
			    x->local);
			manifest_save(e->manifest);
			exposures_drop(e, x);
		}
	}
	exposures_job_free(j);
	if (e != NULL && e->mounted != NULL)
		e->mounted(e->mounted_arg);
}

/*
 * Hand x's mount (and, fresh, its record's write) to the worker: 1 under
 * way, 0 it cannot be queued (out of memory, the queue full): do it on
 * the loop.
 */
static int
exposures_job_start(struct exposures *e, struct exposure *x, bool fresh,
    const char *hash, bool read_only)
{
	struct exposures_job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return 0;
	j->e = e;
	j->fresh = fresh;
	j->read_only = read_only;
	snprintf(j->name, sizeof j->name, "%s", hash);
	j->source = strdup(x->source);
	j->local = strdup(x->local);
	j->dir_fd = dup(e->dir_fd);
	if (j->source == NULL || j->local == NULL || j->dir_fd < 0 ||
	    (fresh && manifest_copy_take(e->manifest, &j->copy) < 0) ||
	    work_submit(e->work, exposures_job_run, exposures_job_done,
	    j) < 0) {
		exposures_job_free(j);
		return 0;
	}
	j->next = e->jobs;
	e->jobs = j;
	x->mounting = true;
	return 1;
}

int
exposures_make(struct exposures *e, const char *source, bool read_only,
    bool held, char **engine_path, char *why, size_t whylen)
{
	char hash[SHA256_HEX_SIZE];
	if (e->work == NULL)
		return exposures_make_now(e, source, read_only, engine_path,
		    why, whylen);
	*engine_path = NULL;
	if (exposures_refused(e, source, why, whylen))
		return -1;
	char *local = exposures_point_of(e, source, hash, why, whylen);
	if (local == NULL)
		return -1;
	struct exposure *x = exposures_find(e, local);
	int r = 1;
	if (exposures_failed_recently(e, local, why, whylen))
		r = -1;
	else if (x != NULL && x->mounting)
		r = 1;		/* another create's: wait for the same */
	else if (x != NULL && x->mounted) {
		exposures_use(e, x, read_only, false, false, held);
		r = exposures_answer(x, engine_path, why, whylen);
	} else {
		struct stat st;
		bool fresh = x == NULL;
		if (fresh && (x = exposures_enter(e, source, local, &st, why,
		    whylen)) == NULL)
			r = -1;
		else if ((r = exposures_job_start(e, x, fresh, hash,
		    read_only)) == 0) {
			/* No worker for it now: on the loop, as before. */
			if (fresh) {
				manifest_remove(e->manifest,
				    EXPOSURES_MANIFEST_KIND, local);
				exposures_drop(e, x);
			}
			r = exposures_make_now(e, source, read_only,
			    engine_path, why, whylen);
		}
	}
	free(local);
	return r;
}

void
exposures_set_worker(struct exposures *e, struct work *work,
    exposures_mounted_fn *mounted, void *arg)
{
	e->work = work;
	e->mounted = mounted;
	e->mounted_arg = arg;
}

void
exposures_jobs_orphan(struct exposures *e)
{
	while (e->jobs != NULL) {
		struct exposures_job *j = e->jobs;
		e->jobs = j->next;
		j->e = NULL;	/* its done frees it, and undoes its mount */
	}
	for (size_t i = 0; i < EXPOSURES_FAILED_KEPT; i++)
		free(e->failed[i].local);
}
