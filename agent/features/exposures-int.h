/* SPDX-License-Identifier: Apache-2.0 */
/*
 * features/exposures-area.c, for exposures.c only: an exposure's point in
 * the trusted area, reached by name through the area's descriptor
 * (dir_fd), never by a path another distro can change.
 */
#ifndef WDA_FEATURES_EXPOSURES_INT_H
#define WDA_FEATURES_EXPOSURES_INT_H

#include <stdbool.h>

struct trust_mount_id;

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
