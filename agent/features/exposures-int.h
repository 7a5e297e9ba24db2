/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the three files of the exposure table share, and no one else:
 * exposures.c (the table, collection, mounting back), exposures-make.c
 * (making an exposure for a create, its mount on a worker) and
 * exposures-area.c (an exposure's point in the trusted area, reached by
 * name through the area's descriptor, dir_fd, never by a path another
 * distro can change).
 */
#ifndef WDA_FEATURES_EXPOSURES_INT_H
#define WDA_FEATURES_EXPOSURES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sys/trust.h"
#include "features/exposures.h"

#define EXPOSURES_LOG		"bind"
#define EXPOSURES_MAX		1024
#define EXPOSURES_TICKETS_MAX	64
#define EXPOSURES_FAILED_KEPT	8	/* failed mounts told to their creates */
#define EXPOSURES_FAILED_MS	2000	/* ...for this long */

struct json_object;
struct manifest;
struct notify;
struct pathmap;
struct stat;
struct work;
struct exposures_job;

struct exposure {
	char		*source;	/* resolved, in this distro */
	char		*local;		/* the mount point here */
	char		*engine;	/* the same, as the engine sees it */
	bool		 read_only;
	bool		 mounted;
	bool		 mounting;	/* a worker mounts it now: not yet used,
					   never removed */
	bool		 have_mount_id;	/* mount_id is known */
	struct trust_mount_id mount_id;	/* what was mounted, to unmount */
	uint64_t	 pending[EXPOSURES_TICKETS_MAX]; /* deadlines, oldest first */
	size_t		 npending;
	struct json_object *users;	/* [{"id","name"}] as last seen */
};

/* A mount that failed on the worker, for the creates that waited on it. */
struct exposures_failed {
	char		*local;		/* NULL: a free slot */
	uint64_t	 until_ms;
	char		 why[1024];
};

struct exposures {
	const struct config	*cfg;
	struct manifest		*manifest;
	struct notify		*changed;
	struct exposure		*x;
	size_t			 n;
	bool			 loaded;	/* the manifest was read */
	struct pathmap		*map;		/* what the engine sees */
	char			 map_error[256]; /* why it is an old one, or "" */
	char			*local_dir;	/* .../docker-desktop-bind-mounts/D */
	char			*engine_dir;	/* the same, for the engine */
	int			 dir_fd;	/* local_dir, trusted; -1: not */
	char			 untrusted[1024]; /* why not, or "" */
	/* exposures-make.c: new mounts on a worker (NULL: on the loop). */
	struct work		*work;
	exposures_mounted_fn	*mounted;
	void			*mounted_arg;
	struct exposures_job	*jobs;		/* under way */
	struct exposures_failed	 failed[EXPOSURES_FAILED_KEPT];
};

/* exposures.c: the table */
struct exposure *exposures_find(struct exposures *, const char *local);
/* A new entry (unmounted); NULL and errno. */
struct exposure *exposures_add(struct exposures *, const char *source,
	    const char *local);
void	exposures_drop(struct exposures *, struct exposure *);
/*
 * x's mount point as a name in the area: NULL and errno (EPERM: the area
 * is not trusted, EXDEV: the point is not directly in it).
 */
const char *exposures_point_name(const struct exposures *,
	    const struct exposure *);
/* Mount x's source on its point (read-only if asked): 0, -1 and errno. */
int	exposures_mount(struct exposures *, struct exposure *, bool read_only);
/* x is mounted now: id is what was mounted (to unmount it by). */
void	exposures_mounted_as(struct exposure *, const struct trust_mount_id *,
	    bool read_only);
/*
 * A new entry for source at local: in the table (unmounted) and in the
 * manifest (unsaved), *st its source's; NULL and why.
 */
struct exposure *exposures_enter(struct exposures *, const char *source,
	    const char *local, struct stat *st, char *why, size_t whylen);
void	exposures_remove_point(struct exposures *, const struct exposure *);

/* exposures-make.c: jobs under way let go of the table (it goes). */
void	exposures_jobs_orphan(struct exposures *);

/* exposures-area.c */

/* Make the point: a directory, or a file for a file.  -1 and errno. */
int	exposures_point_make(int dir_fd, const char *name, bool dir);
/* Remove the point (it must be unmounted): a directory or a file. */
void	exposures_point_remove(int dir_fd, const char *name);
/*
 * The source, opened O_PATH, cloned (with its sub-mounts, read-only if
 * asked) onto the point by descriptor; the point made first if it is gone
 * (a new shared tmpfs, after a reboot).  *id: what was mounted.  -1 and
 * errno (ELOOP: the point is a link, EBUSY: something is mounted there,
 * EPERM: it is not root's).
 */
int	exposures_point_mount(int dir_fd, const char *name, const char *source,
	    bool read_only, struct trust_mount_id *id);
/*
 * The point opened O_PATH, and what is mounted on it: *mounted 1 and *id,
 * or *mounted 0 when nothing is.  -1 and errno (ENOENT: it is gone).
 */
int	exposures_point_look(int dir_fd, const char *name, int *mounted,
	    struct trust_mount_id *id);
/* Is something mounted on the point? */
bool	exposures_point_mounted(int dir_fd, const char *name);
/*
 * Unmount the point if something is mounted there, after checking that it
 * is made (NULL: whatever is there, known to be ours): 0 when nothing is
 * mounted (or no point is) now; -1 and errno (ESTALE: another mount is
 * there, left alone).
 */
int	exposures_point_unmount(int dir_fd, const char *name,
	    const struct trust_mount_id *made);
/* The mount on the point, checked to be made (NULL: any), made writable. */
int	exposures_point_make_writable(int dir_fd, const char *name,
	    const struct trust_mount_id *made);

#endif
