/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_EXPOSURES_H
#define WDA_FEATURES_EXPOSURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct exposures;
struct json_object;
struct manifest;
struct notify;
struct pathmap;
struct trust_failure;
struct work;

/*
 * features/exposures.c: bind sources the engine cannot see, bind-mounted
 * below the shared tmpfs where it can; the table of them, their mounts,
 * the area they are in (exposures-area.c), and their records: the only
 * writer of the manifest's "bindmount" entries and their meta.
 */
#define EXPOSURES_DIR_NAME	"docker-desktop-bind-mounts"
#define EXPOSURES_MANIFEST_KIND	"bindmount"
#define EXPOSURES_PENDING_MS	30000	/* a create not seen by then failed */

/*
 * cfg: the distro's name and the bind.* keys, read at each reconcile;
 * manifest: where the records are (shared: the "bindmount" entries are
 * this module's); changed: posted when an exposure came, went or changed.
 */
struct exposures *exposures_new(const struct config *cfg,
	    struct manifest *manifest, struct notify *changed);
/* The table goes; the exposures stay, mounted and recorded. */
void	exposures_free(struct exposures *);
/*
 * The engine's view of paths read again (mountinfo and bind.*), the area
 * walked again (made where missing).  The first time the view could be
 * read, the table is loaded from the manifest: what an earlier run left,
 * its points looked at in the area (a restart keeps those containers use,
 * a collection removes the rest).
 */
void	exposures_reconcile(struct exposures *);
/*
 * The area, here: NULL until the engine's view of paths could be read
 * once; there is no table before, and nothing is exposed.
 */
const char *exposures_dir(const struct exposures *);
const struct pathmap *exposures_pathmap(const struct exposures *);
/* Why the area is not trusted (nothing is mounted there), or NULL. */
const char *exposures_untrusted(const struct exposures *);
size_t	exposures_count(const struct exposures *);

/*
 * Make the (resolved) source visible to the engine, read-only if asked,
 * for a create about to use it: a new exposure (recorded before it is
 * mounted, so a crash cannot leave it unknown) or one there already (made
 * writable for a writer), held for EXPOSURES_PENDING_MS or until a
 * collection sees the container.  0 and *engine_path (malloc'd): where
 * the engine sees it; -1 and why.  1: "not yet": with a worker set, a new
 * mount (and the manifest's fsync) runs there, never on the loop; ask
 * again, for the same create, once `mounted' was called (a failed mount
 * is then answered -1 with its reason, for a moment).  held: this create
 * was answered for source in an earlier pass (create.h's `again') and
 * holds its ticket already.
 */
int	exposures_make(struct exposures *, const char *source, bool read_only,
	    bool held, char **engine_path, char *why, size_t whylen);
/* The same, every step on the loop, never 1 (no worker; tests). */
int	exposures_make_now(struct exposures *, const char *source,
	    bool read_only, char **engine_path, char *why, size_t whylen);
/*
 * New mounts go to work's thread (NULL: they run on the loop);
 * mounted(arg) runs on the loop each time one was made or failed.
 */
typedef void exposures_mounted_fn(void *arg);
void	exposures_set_worker(struct exposures *, struct work *,
	    exposures_mounted_fn *mounted, void *arg);
/*
 * The exposure the engine sees at engine_path (or above it): mounted
 * again if it is not (a volume bound to it, after a reboot).  1 done, 0
 * not an exposure of ours, 2 a worker mounts it now (as exposures_make's
 * 1), -1 (why) it cannot be.
 */
int	exposures_ensure_mounted(struct exposures *, const char *engine_path,
	    char *why, size_t whylen);
/*
 * path (an exposure as the engine or this distro sees it, or below one)
 * in the user's terms, below the exposure's source; malloc'd, NULL when
 * it is none.
 */
char	*exposures_user_path(const struct exposures *, const char *path);

/*
 * A collection (usage.c).  users(arg, engine_path) says who uses each
 * exposure now: a new [{"id", "name"}] array, or NULL (not known: as it
 * was).  Each user not seen before retires one pending create, and those
 * past their deadline go.  An exposure used or with a create pending is
 * kept and its record updated; any other is unmounted and removed.  The
 * records are saved.
 */
typedef struct json_object *exposures_users_fn(void *arg,
	    const char *engine_path);
struct exposures_collected {
	uint64_t next_ms;	/* the next pending create's deadline; 0: none */
	bool	 used_unmounted;	/* one in use is not mounted (a reboot) */
	char	 error[256];	/* the last removal that failed, or "" */
};
void	exposures_collect(struct exposures *, uint64_t now_ms,
	    exposures_users_fn *users, void *arg, struct exposures_collected *);

/* restore.c's view of one exposure brought back (strings copied). */
struct exposures_back {
	char	*source;	/* in this distro */
	char	*local;		/* the mount point here */
	bool	 mounted_now;	/* it was not mounted: now it is */
	bool	 read_only;
	int	 standin_fd;	/* what was at local before, a directory; -1 */
};
/*
 * The exposure a container's mount source (as the engine sees it) names,
 * mounted again if it is not (read-only if asked): 0; 1 when the path is
 * no exposure of this distro; -1 with why (the fix included) when it
 * cannot be: not recorded, its source gone, the mount refused.  Free
 * *out with exposures_back_clear().
 */
int	exposures_mount_back(struct exposures *, const char *engine_source,
	    bool read_only, struct exposures_back *out, char *why,
	    size_t whylen);
void	exposures_back_clear(struct exposures_back *);
/*
 * The record of the exposure at local (its manifest entry's meta):
 * read-only or not, its containers (users NULL: those recorded stay),
 * when it was mounted (mounted_now: now; mounted: as recorded; neither:
 * not).  Unsaved; nothing when local is not recorded.
 */
void	exposures_record(struct exposures *, const char *local, bool read_only,
	    struct json_object *users, bool mounted, bool mounted_now);
/* When the exposure at local was mounted, as recorded (wall ms); 0. */
uint64_t exposures_mounted_at(const struct exposures *, const char *local);
/* The records (the manifest) written: 0, or -1 and errno. */
int	exposures_save(struct exposures *);

/*
 * The area below the shared root (absolute): EXPOSURES_DIR_NAME (root's,
 * 0755, shared by the distros) and distro in it (root's, 0700), walked by
 * descriptor (trust.h) and made where missing; a distro directory found
 * root's and not group or other writable is given mode 0700.  Its O_PATH
 * descriptor, or -1 and *f: nothing is made below what failed.
 */
int	exposures_open_area(const char *root, const char *distro,
	    struct trust_failure *f);
/* Would exposing source expose the shared root or the area into itself? */
bool	exposures_source_contains(const char *source, const char *shared_root,
	    const char *area);

/*
 * Its members of the "binds" status object: the area (dir, engine_dir,
 * untrusted), the engine's view of paths, the exposures; a view of paths
 * that could not be read again adds a problem.
 */
void	exposures_report(const struct exposures *, struct json_object *binds,
	    struct json_object *problems);

#endif
