/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loop's side of moving stand-in data (standin.c does the moving, in
 * the worker thread of work.c).  restore.c hands over each stand-in of a
 * pass (standins_add) and asks for one job at the pass's end
 * (standins_flush); the job first resumes every stand-in an earlier job
 * or an earlier run left shown below state_dir/stand-ins (held over
 * bind.standin_max, short of space, stopped part way), so a reconcile
 * after raising the key or freeing space moves them.  What each job did
 * comes back to the loop, is logged, told to the owner (the repair
 * record) and kept here for status: every stand-in whose data is not all
 * moved is a problem naming the container, the source, where the data is,
 * how much, and the fix.  The disk is the record (NAME.stand-in,
 * NAME.partial), so this table only says what the last jobs found.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/config.h"
#include "base/defs.h"
#include "base/log.h"
#include "base/util.h"
#include "base/report.h"
#include "sys/standin.h"
#include "io/notify.h"
#include "io/work.h"
#include "features/standins.h"

#define STANDINS_ENTRIES_MAX	64	/* stand-ins the status remembers */
#define STANDINS_JOB_MAX	32	/* new stand-ins one job moves */
#define STANDINS_RESUME_MAX	64	/* stand-ins one job resumes */
#define STANDINS_JOBS_MAX	2	/* a job under way, and one queued */
#define STANDINS_LOG		"restore"

struct standins_entry {
	char		 name[STANDIN_NAME_MAX + 1];
	char		*source;	/* NULL: not known (found at start) */
	char		*container;
	struct standins_job *job;	/* the job under way with it, or NULL */
	bool		 have;		/* res holds what the last job did */
	struct standin_result res;
};

struct standins_move {
	int	 fd;			/* the stand-in; -1 once taken */
	char	 name[STANDIN_NAME_MAX + 1];
};

/* One job: its argument, the worker's until it is done. */
struct standins_job {
	struct standins		*owner;		/* NULL: freed meanwhile */
	struct standins_job	*next;		/* the owner's jobs under way */
	char			*dir;		/* state_dir/stand-ins */
	struct standin_limits	 lim;
	struct standins_move	 moves[STANDINS_JOB_MAX];
	size_t			 n;
	struct standin_result	 res[STANDINS_RESUME_MAX + STANDINS_JOB_MAX];
	size_t			 nres;
	int			 dir_err;	/* dir could not be made */
};

struct standins {
	const struct config	*cfg;
	struct work		*work;		/* NULL: none could be made */
	struct notify		*changed;
	standins_result_fn	*cb;
	void			*cb_arg;
	struct standins_entry	 e[STANDINS_ENTRIES_MAX];
	size_t			 n;
	struct standins_job	*pending;	/* added, not flushed yet */
	struct standins_job	*jobs;		/* submitted, not done */
	size_t			 njobs;
};

/* ------------------------------------------------------------------ */
/* In the worker */

static bool
standins_stopping(void *w)
{
	return work_stopping(w);
}

/* The directory made, what earlier jobs left resumed, then the new. */
static void
standins_run(struct work *w, void *arg)
{
	struct standins_job *j = arg;
	j->lim.stop = standins_stopping;
	j->lim.stop_arg = w;
	int dirfd = -1;
	if (util_mkdir_p(j->dir, 0700) < 0 || (dirfd = open(j->dir, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		j->dir_err = errno;
		return;
	}
	j->nres = standin_resume(dirfd, &j->lim, j->res,
	    STANDINS_RESUME_MAX);
	for (size_t i = 0; i < j->n; i++) {
		struct standin_result *r = &j->res[j->nres++];
		if (standin_move(dirfd, j->moves[i].fd, j->moves[i].name, false,
		    &j->lim, r) != STANDIN_FAILED || r->shown)
			j->moves[i].fd = -1;	/* now the mount's, or closed */
	}
	close(dirfd);
}

/* ------------------------------------------------------------------ */
/* The table */

static struct standins_entry *
standins_find(struct standins *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].name, name) == 0)
			return &s->e[i];
	return NULL;
}

static void
standins_drop(struct standins *s, struct standins_entry *e)
{
	size_t i = (size_t)(e - s->e);
	free(e->source);
	free(e->container);
	memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof s->e[0]);
	s->n--;
}

static struct standins_entry *
standins_make(struct standins *s, const char *name)
{
	struct standins_entry *e = standins_find(s, name);
	if (e != NULL)
		return e;
	if (s->n == STANDINS_ENTRIES_MAX) {
		size_t i = 0;	/* full: the oldest not under way goes */
		while (i < s->n && s->e[i].job != NULL)
			i++;
		if (i == s->n)
			return NULL;
		standins_drop(s, &s->e[i]);
	}
	e = &s->e[s->n++];
	memset(e, 0, sizeof *e);
	snprintf(e->name, sizeof e->name, "%s", name);
	return e;
}

/* Still below stand-ins/ as it was (shown, or a partial copy)? */
static bool
standins_on_disk(const struct standins_entry *e)
{
	return e->have && (e->res.shown || e->res.state == STANDIN_LOST ||
	    e->res.state == STANDIN_PARTIAL);
}

static char *
standins_dir(const struct standins *s)
{
	return util_path_join(s->cfg->state_dir, STANDINS_DIR_NAME);
}

static void
standins_size_text(uint64_t bytes, char *buf, size_t len)
{
	if (bytes < (1ULL << 20))
		snprintf(buf, len, "%llu KiB", (unsigned long long)
		    ((bytes + 1023) >> 10));
	else
		snprintf(buf, len, "%.1f MiB", (double)bytes / (1 << 20));
}

static void
standins_log(const char *dir, const struct standins_entry *e)
{
	const struct standin_result *r = &e->res;
	char size[32];
	standins_size_text(r->state == STANDIN_MOVED ? r->moved : r->left,
	    size, sizeof size);
	const char *src = e->source != NULL ? e->source : "(a source not "
	    "known since the agent restarted)";
	switch (r->state) {
	case STANDIN_MOVED:
		log_state(LOG_LVL_INFO, STANDINS_LOG, e->name, NULL);
		log_notice(STANDINS_LOG, "stand-in data of %s moved to %s/%s "
		    "(%s%s)", src, dir, e->name, size, r->special > 0 ?
		    "; fifos, sockets or devices left on the stand-in" : "");
		break;
	case STANDIN_HELD_CAP:
	case STANDIN_HELD_SPACE:
		log_state(LOG_LVL_WARN, STANDINS_LOG, e->name, "stand-in data "
		    "of %s (%s) stays on the stand-in, shown at %s/%s%s: %s",
		    src, size, dir, e->name, STANDIN_SHOWN_SUFFIX,
		    r->state == STANDIN_HELD_CAP ? "over bind.standin_max" :
		    "too little free space");
		break;
	case STANDIN_PARTIAL:
	case STANDIN_FAILED:
		log_state(LOG_LVL_ERR, STANDINS_LOG, e->name, "moving the "
		    "stand-in data of %s to %s/%s stopped at %s: %s", src, dir,
		    e->name, r->where, strerror(r->err));
		break;
	case STANDIN_LOST:
		log_state(LOG_LVL_WARN, STANDINS_LOG, e->name, "%s/%s%s is an "
		    "incomplete copy with no stand-in left behind it", dir,
		    e->name, STANDIN_PARTIAL_SUFFIX);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Jobs */

static void
standins_job_free(struct standins_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->moves[i].fd >= 0)
			close(j->moves[i].fd);
	free(j->dir);
	free(j);
}

/* A stand-in for the next job (one not taken is tried again). */
static bool
standins_keep(struct standins *s, struct standins_move *m)
{
	if (s->pending == NULL && (s->pending = calloc(1,
	    sizeof *s->pending)) == NULL)
		return false;
	if (s->pending->n == STANDINS_JOB_MAX)
		return false;
	s->pending->moves[s->pending->n++] = *m;
	m->fd = -1;
	return true;
}

static void
standins_result(struct standins *s, const char *dir,
    const struct standin_result *r)
{
	struct standins_entry *e = standins_make(s, r->name);
	if (e == NULL)
		return;
	e->job = NULL;
	e->have = true;
	e->res = *r;
	standins_log(dir, e);
	char *path = util_path_join(dir, r->name);
	if (path != NULL && s->cb != NULL)
		s->cb(s->cb_arg, path, r);
	free(path);
	if (r->state == STANDIN_MOVED)
		standins_drop(s, e);
}

/* The job's stand-ins it could not take: failed, kept for the next. */
static void
standins_not_taken(struct standins *s, struct standins_job *j, bool ran)
{
	for (size_t i = 0; i < j->n; i++) {
		if (j->moves[i].fd < 0)
			continue;
		struct standins_entry *e = standins_find(s, j->moves[i].name);
		if (e != NULL && ran) {
			memset(&e->res, 0, sizeof e->res);
			snprintf(e->res.name, sizeof e->res.name, "%s", e->name);
			e->res.state = STANDIN_FAILED;
			e->res.err = j->dir_err != 0 ? j->dir_err : EIO;
			snprintf(e->res.where, sizeof e->res.where, "%s",
			    j->dir_err != 0 ? j->dir : "showing the stand-in");
			e->have = true;
			standins_log(j->dir, e);
		}
		if (e != NULL)
			e->job = NULL;
		if (!standins_keep(s, &j->moves[i]))
			log_err(STANDINS_LOG, "the stand-in for %s/%s cannot be "
			    "kept: too many; it stays under its exposure",
			    j->dir, j->moves[i].name);
	}
}

/* What a job did, back on the loop. */
static void
standins_done(void *arg, bool ran)
{
	struct standins_job *j = arg, **p;
	struct standins *s = j->owner;
	if (s == NULL) {
		standins_job_free(j);
		return;
	}
	for (p = &s->jobs; *p != NULL && *p != j; p = &(*p)->next)
		;
	if (*p == j) {
		*p = j->next;
		s->njobs--;
	}
	/* It looked at every one on disk: one it did not find is gone. */
	for (size_t i = s->n; ran && j->dir_err == 0 && i-- > 0;) {
		bool found = s->e[i].job != NULL && s->e[i].job != j;
		for (size_t k = 0; k < j->nres && !found; k++)
			found = strcmp(j->res[k].name, s->e[i].name) == 0;
		if (!found && standins_on_disk(&s->e[i]))
			standins_drop(s, &s->e[i]);
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].job == j)
			s->e[i].job = NULL;
	for (size_t k = 0; ran && k < j->nres; k++)
		standins_result(s, j->dir, &j->res[k]);
	standins_not_taken(s, j, ran);
	standins_job_free(j);
	notify_post(s->changed);
}

struct standins *
standins_new(const struct config *cfg, struct work *work,
    struct notify *changed, standins_result_fn *cb, void *arg)
{
	struct standins *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->cfg = cfg;
	s->work = work;
	s->changed = changed;
	s->cb = cb;
	s->cb_arg = arg;
	return s;
}

void
standins_free(struct standins *s)
{
	if (s == NULL)
		return;
	for (struct standins_job *j = s->jobs; j != NULL; j = j->next)
		j->owner = NULL;	/* its done frees it */
	if (s->pending != NULL)
		standins_job_free(s->pending);
	while (s->n > 0)
		standins_drop(s, &s->e[s->n - 1]);
	free(s);
}

static bool
standins_pending_has(const struct standins *s, const char *name)
{
	for (size_t k = 0; s->pending != NULL && k < s->pending->n; k++)
		if (strcmp(s->pending->moves[k].name, name) == 0)
			return true;
	return false;
}

char *
standins_dest(struct standins *s, const char *container)
{
	char safe[65], stamp[32], name[STANDIN_NAME_MAX + 1];
	size_t i = 0, len = strnlen(container, 64);
	for (; i < len; i++)
		safe[i] = isalnum((unsigned char)container[i]) ||
		    container[i] == '-' || container[i] == '_' ||
		    (container[i] == '.' && i > 0) ? container[i] : '_';
	safe[i] = '\0';
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	char *dir = standins_dir(s), *path = NULL;
	int dirfd = dir != NULL ? open(dir, O_PATH | O_DIRECTORY |
	    O_CLOEXEC) : -1;
	for (int n = 1; n < 100 && dir != NULL && path == NULL; n++) {
		snprintf(name, sizeof name, "%s-%s%s%.0d", safe, stamp,
		    n > 1 ? "-" : "", n > 1 ? n : 0);
		if (standins_find(s, name) == NULL &&
		    !standins_pending_has(s, name) &&
		    (dirfd < 0 || !standin_taken(dirfd, name)))
			path = util_path_join(dir, name);
	}
	if (dirfd >= 0)
		close(dirfd);
	free(dir);
	return path;
}

void
standins_add(struct standins *s, int fd, const char *name, const char *source,
    const char *container)
{
	if (s->pending != NULL && s->pending->n == STANDINS_JOB_MAX)
		standins_flush(s);
	struct standins_move m = { fd, "" };
	snprintf(m.name, sizeof m.name, "%s", name);
	if (!standins_keep(s, &m)) {
		log_err(STANDINS_LOG, "cannot take the stand-in of %s: too many "
		    "waiting to be moved; it stays under its exposure", source);
		close(fd);
		return;
	}
	struct standins_entry *e = standins_make(s, name);
	if (e == NULL)
		return;
	free(e->source);
	free(e->container);
	e->source = strdup(source);
	e->container = container != NULL ? strdup(container) : NULL;
}

void
standins_flush(struct standins *s)
{
	struct standins_job *j = s->pending;
	/* Nothing new, and a job queued behind the one under way resumes. */
	if (j == NULL && s->njobs >= STANDINS_JOBS_MAX)
		return;
	if (j == NULL && (j = calloc(1, sizeof *j)) == NULL)
		return;
	free(j->dir);
	j->dir = standins_dir(s);
	j->owner = s;
	j->lim.max = (uint64_t)s->cfg->bind_standin_max << 20;
	j->lim.margin = STANDIN_FREE_MARGIN;
	if (j->dir == NULL || work_submit(s->work, standins_run, standins_done,
	    j) < 0) {
		log_state(LOG_LVL_ERR, STANDINS_LOG, "standins.queue", "cannot "
		    "queue the move of stand-in data: %s; it is tried again at "
		    "the next pass", s->work == NULL ? "no worker thread" :
		    strerror(errno));
		s->pending = j->n > 0 ? j : NULL;
		if (j->n == 0)
			standins_job_free(j);
		return;
	}
	log_state(LOG_LVL_INFO, STANDINS_LOG, "standins.queue", NULL);
	s->pending = NULL;
	j->next = s->jobs;
	s->jobs = j;
	s->njobs++;
	/* Under way: its new ones, and those on disk it resumes. */
	for (size_t i = 0; i < s->n; i++) {
		struct standins_entry *e = &s->e[i];
		bool mine = e->job == NULL && standins_on_disk(e);
		for (size_t k = 0; k < j->n && !mine; k++)
			mine = strcmp(j->moves[k].name, e->name) == 0;
		if (mine)
			e->job = j;
	}
}

int
standins_show(int fd, const char *dest)
{
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return util_mkdir_p(dest, 0700) < 0 ||
	    mount(proc, dest, NULL, MS_BIND, NULL) < 0 ? -1 : 0;
}

size_t
standins_moving(const struct standins *s)
{
	size_t n = 0;
	for (size_t i = 0; s != NULL && i < s->n; i++)
		n += s->e[i].job != NULL;
	return n;
}

/* ------------------------------------------------------------------ */
/* Problems */

static void
standins_entry_problem(const struct standins *s, const char *dir,
    const struct standins_entry *e, struct json_object *problems)
{
	const struct standin_result *r = &e->res;
	const struct config *cfg = s->cfg;
	char what[2048], fix[1024], size[32], used[32], avail[32], of[512];
	standins_size_text(r->left, size, sizeof size);
	standins_size_text(r->used, used, sizeof used);
	standins_size_text(r->avail > STANDIN_FREE_MARGIN ? r->avail -
	    STANDIN_FREE_MARGIN : 0, avail, sizeof avail);
	snprintf(of, sizeof of, "%s%s%s%s", e->container != NULL ?
	    "container " : "", e->container != NULL ? e->container : "",
	    e->container != NULL ? " on " : "", e->source != NULL ? e->source :
	    "a bind source");
	const char *later = "until then it is on the shared tmpfs, which a "
	    "reboot loses: copy what you need from there";
	switch (r->state) {
	case STANDIN_MOVED:
		return;
	case STANDIN_HELD_CAP:
		snprintf(what, sizeof what, "%s of data that %s wrote on its "
		    "stand-in stay there, shown at %s/%s%s: %s", size, of, dir,
		    e->name, STANDIN_SHOWN_SUFFIX, cfg->bind_standin_max == 0 ?
		    "bind.standin_max is 0, so nothing is moved" : "");
		if (cfg->bind_standin_max != 0) {
			size_t n = strlen(what);
			snprintf(what + n, sizeof what - n, "with the %s of "
			    "copies already below %s it would go over "
			    "bind.standin_max (%d MiB)", used, dir,
			    cfg->bind_standin_max);
		}
		snprintf(fix, sizeof fix, "raise bind.standin_max or remove "
		    "copies below %s you no longer need, then run 'sudo "
		    AGENT_NAME " reconcile'; %s", dir, later);
		break;
	case STANDIN_HELD_SPACE:
		snprintf(what, sizeof what, "%s of data that %s wrote on its "
		    "stand-in stay there, shown at %s/%s%s: only %s is free "
		    "in %s beyond the 64 MiB kept free", size, of, dir,
		    e->name, STANDIN_SHOWN_SUFFIX, avail, dir);
		snprintf(fix, sizeof fix, "free space on the file system of "
		    "%s, then run 'sudo " AGENT_NAME " reconcile'; %s", dir,
		    later);
		break;
	case STANDIN_PARTIAL:
	case STANDIN_FAILED:
		snprintf(what, sizeof what, "moving the data that %s wrote on "
		    "its stand-in to %s/%s stopped at %s: %s; %s", of, dir,
		    e->name, r->where, strerror(r->err), r->state ==
		    STANDIN_PARTIAL ? "what was moved is in the partial copy "
		    "next to it, the rest (" : r->shown ? "it stays whole on "
		    "the stand-in, shown at " : "it stays on the stand-in, "
		    "reachable only while the agent runs");
		size_t n = strlen(what);
		if (r->state == STANDIN_PARTIAL)
			snprintf(what + n, sizeof what - n, "%s) stays shown at "
			    "%s/%s%s", size, dir, e->name, STANDIN_SHOWN_SUFFIX);
		else if (r->shown)
			snprintf(what + n, sizeof what - n, "%s/%s%s", dir,
			    e->name, STANDIN_SHOWN_SUFFIX);
		snprintf(fix, sizeof fix, "fix that (space, permissions of "
		    "%s), then run 'sudo " AGENT_NAME " reconcile': the move "
		    "goes on where it stopped", dir);
		break;
	case STANDIN_LOST:
		snprintf(what, sizeof what, "%s/%s%s is an incomplete copy of "
		    "stand-in data: the agent stopped while moving it, and the "
		    "rest of the stand-in is gone since (a reboot)", dir,
		    e->name, STANDIN_PARTIAL_SUFFIX);
		snprintf(fix, sizeof fix, "take what you need from it (the "
		    "last file it got may be incomplete), then remove it");
		break;
	}
	report_add_source_problem(problems, e->source, what, fix);
}

void
standins_problems(const struct standins *s, struct json_object *problems)
{
	char *dir = s != NULL && problems != NULL ? standins_dir(s) : NULL;
	for (size_t i = 0; dir != NULL && i < s->n; i++)
		if (s->e[i].have && s->e[i].job == NULL)
			standins_entry_problem(s, dir, &s->e[i], problems);
	free(dir);
}
