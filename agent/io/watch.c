/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Follow Docker Desktop's tree without polling.  inotify watches every
 * existing directory on the way to the places we care about (the tree, the
 * CLI directories, the socket directory), each reached by the trust walk's
 * descriptors (trust.h) and watched through /proc/self/fd, so no symlink
 * is followed and no untrusted mount entered; any of them appearing or
 * vanishing is an event; cli-tools is an image that is mounted and ejected,
 * which inotify does not report, so mount table changes are watched too
 * (/proc/self/mountinfo signals them through poll).  After any event the
 * watch set is rebuilt and the owner told once, after a short coalescing
 * delay that merges a burst into one reconcile.
 *
 * The shared root is everyone's: another distro may create and remove
 * files there in a loop.  Its events count only when they name Docker
 * Desktop's own entries (the tree and docker-desktop-bind-mounts), and
 * the owner's tells are rate-limited: after a quiet spell WATCH_BURST of
 * them are made at once (Docker Desktop stopping and starting is a few
 * changes in quick succession: the socket going, cli-tools ejected and
 * mounted, the socket back, and the last must not wait), then one per
 * WATCH_MIN_INTERVAL_MS however many events come.  An event over budget is
 * not lost but moves the next tell to when the budget allows it, so the
 * last state is always looked at.  The owner's own mounts (mount mode's
 * socket, bind exposures) change the mount table too: the change that
 * comes right after a tell is told once more without spending the budget,
 * so a Docker Desktop restart costs the budget only its own changes.
 * Bind exposures come and go with containers, each a mount, and none of
 * them is anything the owner looks at: with watch_ignore_mounts_in(), a
 * mount table change is read, and one that moved only mounts inside the
 * areas (every distro's exposures) is not told at all.
 * Reading others' events costs too, so the shared root is watched only
 * while the tree is absent or not trusted (its own
 * watch reports it going: IN_DELETE_SELF, IN_MOVE_SELF), and a batch of
 * others' events there pauses that watch for WATCH_MIN_INTERVAL_MS, after
 * which the tree is looked for once and the watch comes back.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/log.h"
#include "base/util.h"
#include "sys/trust.h"
#include "sys/wsl.h"
#include "io/watch.h"

#define WATCH_MAX	64
#define WATCH_COALESCE_MS 5
#define WATCH_MIN_INTERVAL_MS 100
#define WATCH_BURST	4	/* tells at once after a quiet spell */
#define WATCH_BIND_AREA	"docker-desktop-bind-mounts"
#define WATCH_MASK	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
			 IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR)


struct watch {
	struct event_base *base;
	char		*desktop_dir;
	char		 root[PATH_MAX];	/* the shared root: its parent */
	const char	*name;		/* the tree's name in it */
	const char *const *follow;	/* below the tree: the directories to follow */
	int		 ifd;
	int		 mfd;
	struct event	*iev;
	struct event	*mev;
	struct event	*coalesce;
	int		 wds[WATCH_MAX];
	int		 nwds;
	int		 root_wd;	/* the shared root's, or -1 */
	bool		 root_paused;	/* others' events: root unwatched a while */
	struct event	*pause;
	uint64_t	 budget_full_ms; /* when WATCH_BURST tells are free again */
	uint64_t	 own_until_ms;	/* a mount change now is the owner's */
	bool		 free_tell;	/* the next tell spends no budget */
	bool		 mounts_primed;	/* the registration's wakeup is past */
	char		*areas;		/* mounts inside its directories: none
					   of the owner's concern (or NULL) */
	uint64_t	 mounts_digest;	/* of the other mounts, last read */
	uint64_t	 fires;		/* times the owner was told */
	uint64_t	 ignored;	/* events about others' entries */
	void		(*cb)(void *);
	void		*arg;
};

static void
watch_add_unique(int *wds, int *n, int wd)
{
	for (int i = 0; i < *n; i++)
		if (wds[i] == wd)
			return;
	if (*n < WATCH_MAX)
		wds[(*n)++] = wd;
}

/* Watch the directory fd refers to (through /proc/self/fd): its wd, or -1. */
static int
watch_add_fd(struct watch *w, int fd, int *wds, int *n)
{
	char via[64];
	snprintf(via, sizeof via, "/proc/self/fd/%d", fd);
	int wd = inotify_add_watch(w->ifd, via, WATCH_MASK);
	if (wd < 0) {
		if (errno == ENOSPC)
			log_state(LOG_LVL_ERR, "watch", "watch.limit", "out of "
			    "inotify watches; raise fs.inotify.max_user_watches");
		return -1;
	}
	watch_add_unique(wds, n, wd);
	return wd;
}

/*
 * Watch each directory from the tree down to sub (below it), walked by
 * descriptor from the trusted shared root rootfd, one component at a time
 * (trust.h: O_NOFOLLOW, never into a mount the walk may not enter; any
 * owner, so that what a user planted is seen changing and status says so
 * at once).  Each is watched through its descriptor, so no symlink is ever
 * followed (issue 19: a planted docker-desktop -> /tmp made the distro's
 * own /tmp traffic wake the agent; IN_DONT_FOLLOW on a path would still
 * follow every component but the last), and a FUSE server in the tree is
 * never called.  The walk ends where a component is missing or refused;
 * the tree's own watch (or the root's) tells when that changes.  Returns
 * whether the tree itself is watched.
 */
static bool
watch_add_chain(struct watch *w, int rootfd, const char *sub, int *wds, int *n)
{
	char rel[PATH_MAX], path[PATH_MAX], name[NAME_MAX + 1];
	if (snprintf(rel, sizeof rel, "%s/%s", w->name, sub) >= (int)sizeof rel)
		return false;
	snprintf(path, sizeof path, "%s", w->root);
	bool tree = false;
	int fd = rootfd;
	for (const char *p = rel; *p != '\0';) {
		size_t len = strcspn(p, "/");
		struct trust_failure f;
		snprintf(name, sizeof name, "%.*s", (int)len, p);
		int next = len <= NAME_MAX ? trust_walk_dir(fd, path, name,
		    TRUST_ANY_OWNER, &f) : -1;
		if (fd != rootfd)
			close(fd);
		if (next < 0)
			return tree;
		snprintf(path, sizeof path, "%s", f.path);
		if (watch_add_fd(w, next, wds, n) < 0) {
			close(next);
			return tree;
		}
		tree = true;
		fd = next;
		p += len;
		while (*p == '/')
			p++;
	}
	if (fd != rootfd)
		close(fd);
	return tree;
}

/* The shared root, by its path (the configuration's), not followed. */
static void
watch_add_root(struct watch *w, int *wds, int *n)
{
	int wd = inotify_add_watch(w->ifd, w->root, WATCH_MASK | IN_DONT_FOLLOW);
	if (wd < 0) {
		if (errno == ENOSPC)
			log_state(LOG_LVL_ERR, "watch", "watch.limit", "out of "
			    "inotify watches; raise fs.inotify.max_user_watches");
		return;
	}
	watch_add_unique(wds, n, wd);
	w->root_wd = wd;
}

/* Is the tree there as a directory the trust walk accepts? */
static bool
watch_tree_trusted(const struct watch *w, int rootfd)
{
	struct trust_failure f;
	int fd = rootfd < 0 ? -1 : trust_walk_dir(rootfd, w->root, w->name, 0, &f);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void
watch_add_chains(struct watch *w, int rootfd, int *wds, int *n, bool *tree)
{
	for (size_t i = 0; w->follow[i] != NULL; i++)
		*tree |= watch_add_chain(w, rootfd, w->follow[i], wds, n);
}

/*
 * The root is watched only while the tree is absent or not trusted (and
 * not paused): then its events about the tree's name (and the bind area)
 * count; the tree's own watch reports it going.
 */
static void
watch_rearm(struct watch *w)
{
	int wds[WATCH_MAX];
	int n = 0;
	struct trust_failure f;
	int rootfd = trust_open_root(w->root, &f);
	bool tree = false, with_root = !w->root_paused &&
	    !watch_tree_trusted(w, rootfd);
	w->root_wd = -1;
	if (with_root)
		watch_add_root(w, wds, &n);
	if (rootfd >= 0)
		watch_add_chains(w, rootfd, wds, &n, &tree);
	if (!tree && !with_root && !w->root_paused) {
		/* The tree went meanwhile: watch for its return. */
		watch_add_root(w, wds, &n);
		if (rootfd >= 0)
			watch_add_chains(w, rootfd, wds, &n, &tree);
	}
	if (rootfd >= 0)
		close(rootfd);
	/* Drop watches on directories no longer on any chain. */
	for (int i = 0; i < w->nwds; i++) {
		bool kept = false;
		for (int j = 0; j < n && !kept; j++)
			kept = wds[j] == w->wds[i];
		if (!kept)
			(void)inotify_rm_watch(w->ifd, w->wds[i]);
	}
	memcpy(w->wds, wds, sizeof(int) * (size_t)n);
	w->nwds = n;
}

static void
watch_fire(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	/* Each tell spends WATCH_MIN_INTERVAL_MS of the budget (a GCRA). */
	uint64_t now = util_now_ms();
	bool paid = !w->free_tell;
	if (paid)
		w->budget_full_ms = (w->budget_full_ms > now ?
		    w->budget_full_ms : now) + WATCH_MIN_INTERVAL_MS;
	w->free_tell = false;
	w->fires++;
	watch_rearm(w);
	w->cb(w->arg);
	/*
	 * What the owner just did to the mount table (mount mode mounting
	 * the engine socket, a bind exposure) comes back as a change in the
	 * next turn of the loop: one such change right after a paid tell is
	 * told without spending the budget.  It is still told (another
	 * change may have come with it), and at most one per paid tell.
	 */
	w->own_until_ms = paid ? util_now_ms() + WATCH_MIN_INTERVAL_MS : 0;
}

/*
 * Tell the owner soon: after the coalescing delay while the budget has a
 * tell left (or the tell is free), else when it has one again.
 */
static void
watch_schedule(struct watch *w)
{
	if (evtimer_pending(w->coalesce, NULL))
		return;
	const uint64_t slack = (WATCH_BURST - 1) * WATCH_MIN_INTERVAL_MS;
	uint64_t now = util_now_ms(), ms = WATCH_COALESCE_MS;
	if (!w->free_tell && w->budget_full_ms > now + slack + ms)
		ms = w->budget_full_ms - slack - now;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(w->coalesce, &tv);
}

/* Is this event about Docker Desktop's entries (or a lost event)? */
static bool
watch_event_counts(const struct watch *w, const struct inotify_event *ev)
{
	/* A watch removed: by us, or with IN_DELETE_SELF, which counts. */
	if ((ev->mask & IN_IGNORED) != 0)
		return false;
	if (ev->wd != w->root_wd || (ev->mask & (IN_Q_OVERFLOW |
	    IN_DELETE_SELF | IN_MOVE_SELF)) != 0)
		return true;
	return ev->len > 0 && (strcmp(ev->name, w->name) == 0 ||
	    strcmp(ev->name, WATCH_BIND_AREA) == 0);
}

static void
watch_inotify_ready(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool relevant = false, others = false;
	for (;;) {
		ssize_t n = read(w->ifd, buf, sizeof buf);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_state(LOG_LVL_ERR, "watch", "watch.read",
				    "reading inotify: %s", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event)
		    <= n;) {
			const struct inotify_event *ev =
			    (const struct inotify_event *)(void *)(buf + off);
			if (watch_event_counts(w, ev))
				relevant = true;
			else if ((ev->mask & IN_IGNORED) == 0) {
				w->ignored++;
				others = true;
			}
			off += (ssize_t)(sizeof *ev + ev->len);
		}
	}
	/* An event on Docker Desktop's entries (or an overflow): look again. */
	if (relevant)
		watch_schedule(w);
	/* Others' events in the shared root: stop reading them a while. */
	if (others && w->root_wd >= 0 && !w->root_paused) {
		(void)inotify_rm_watch(w->ifd, w->root_wd);
		for (int i = 0; i < w->nwds; i++)
			if (w->wds[i] == w->root_wd)
				w->wds[i] = w->wds[--w->nwds];
		w->root_wd = -1;
		w->root_paused = true;
		struct timeval tv = { 0, WATCH_MIN_INTERVAL_MS * 1000 };
		evtimer_add(w->pause, &tv);
	}
}

/* The pause is over: look for the tree once, and watch the root again. */
static void
watch_unpause(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	struct trust_failure f;
	w->root_paused = false;
	watch_rearm(w);
	/* By descriptor, never stat(2): a FUSE mount there could hang it. */
	if (trust_exists(w->root, w->name, &f) != 0)
		watch_schedule(w);
}

/* Is the mount point inside a directory of areas (areas/X/...)? */
static bool
watch_in_areas(const char *areas, const char *point)
{
	size_t n = strlen(areas);
	if (!util_path_within(point, areas) || point[n] != '/')
		return false;
	const char *slash = strchr(point + n + 1, '/');
	return slash != NULL && slash[1] != '\0';
}

/*
 * A digest (FNV-1a) of the mount table's lines but those of mounts inside
 * the areas: 0, or -1 when it cannot be read (then every change counts).
 */
static int
watch_mounts_digest(const struct watch *w, uint64_t *digest)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	uint64_t h = 14695981039346656037ULL;
	if (f == NULL)
		return -1;
	while ((len = getline(&line, &cap, f)) > 0 && line != NULL) {
		/* The line as read: the parser splits it in place. */
		uint64_t lh = h;
		for (ssize_t i = 0; i < len; i++) {
			lh ^= (unsigned char)line[i];
			lh *= 1099511628211ULL;
		}
		struct mountinfo_entry e;
		if (!wsl_parse_mountinfo_line(line, &e) ||
		    !watch_in_areas(w->areas, e.mount_point))
			h = lh;
	}
	int err = ferror(f) ? -1 : 0;
	free(line);
	fclose(f);
	*digest = h;
	return err;
}

/* Did the change move anything but mounts inside the areas? */
static bool
watch_mounts_moved(struct watch *w)
{
	uint64_t d;
	if (w->areas == NULL || watch_mounts_digest(w, &d) < 0)
		return true;
	bool moved = d != w->mounts_digest;
	w->mounts_digest = d;
	return moved;
}

void
watch_ignore_mounts_in(struct watch *w, const char *areas)
{
	if (w == NULL || (areas == NULL && w->areas == NULL) ||
	    (areas != NULL && w->areas != NULL && strcmp(areas, w->areas) == 0))
		return;
	free(w->areas);
	w->areas = areas != NULL ? strdup(areas) : NULL;
	if (w->areas != NULL)
		(void)watch_mounts_moved(w);	/* the table as it is now */
}

static void
watch_mounts_changed(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	/* poll() on mountinfo resets the change flag; reading is not needed. */
	if (!w->mounts_primed) {
		/* Registering wakes once: the owner looks at the start itself. */
		w->mounts_primed = true;
		return;
	}
	if (!watch_mounts_moved(w)) {
		w->ignored++;	/* exposures came or went: nothing followed */
		return;
	}
	if (w->own_until_ms != 0 && util_now_ms() <= w->own_until_ms &&
	    !evtimer_pending(w->coalesce, NULL)) {
		w->own_until_ms = 0;
		w->free_tell = true;
	}
	watch_schedule(w);
}

struct watch *
watch_new(struct event_base *base, const char *desktop_dir,
    const char *const *follow, void (*cb)(void *), void *arg)
{
	struct watch *w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	w->base = base;
	w->follow = follow;
	w->cb = cb;
	w->arg = arg;
	w->ifd = w->mfd = -1;
	w->root_wd = -1;
	w->desktop_dir = strdup(desktop_dir);
	if (w->desktop_dir == NULL || trust_split(w->desktop_dir, w->root,
	    sizeof w->root, &w->name) < 0)
		goto fail;
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0) {
		log_err("watch", "inotify_init1: %s; raise "
		    "fs.inotify.max_user_instances", strerror(errno));
		goto fail;
	}
	w->iev = event_new(base, w->ifd, EV_READ | EV_PERSIST,
	    watch_inotify_ready, w);
	w->coalesce = evtimer_new(base, watch_fire, w);
	w->pause = evtimer_new(base, watch_unpause, w);
	if (w->iev == NULL || w->coalesce == NULL || w->pause == NULL ||
	    event_add(w->iev, NULL) < 0)
		goto fail;
	/*
	 * mountinfo is always "readable"; edge-triggered it wakes us only when
	 * the mount table changes.
	 */
	w->mfd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (w->mfd >= 0) {
		w->mev = event_new(base, w->mfd, EV_READ | EV_ET | EV_PERSIST,
		    watch_mounts_changed, w);
		if (w->mev == NULL || event_add(w->mev, NULL) < 0)
			log_warn("watch", "cannot watch the mount table; an "
			    "ejected cli-tools image is noticed on the next event");
	}
	watch_rearm(w);
	return w;
fail:
	watch_free(w);
	return NULL;
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	if (w->iev != NULL)
		event_free(w->iev);
	if (w->mev != NULL)
		event_free(w->mev);
	if (w->coalesce != NULL)
		event_free(w->coalesce);
	if (w->pause != NULL)
		event_free(w->pause);
	if (w->ifd >= 0)
		close(w->ifd);
	if (w->mfd >= 0)
		close(w->mfd);
	free(w->desktop_dir);
	free(w->areas);
	free(w);
}

int
watch_count(const struct watch *w)
{
	return w != NULL ? w->nwds : 0;
}

uint64_t
watch_fires(const struct watch *w)
{
	return w != NULL ? w->fires : 0;
}

uint64_t
watch_ignored(const struct watch *w)
{
	return w != NULL ? w->ignored : 0;
}
