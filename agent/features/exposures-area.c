/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bind-mount area and the points in it.  The area is
 * <shared root>/docker-desktop-bind-mounts/<distro>: the shared part
 * root's (0755, every distro's agent makes its own directory in it), this
 * distro's root's and private (0700: only root, the engine and this
 * agent, needs to look inside).  It is walked by descriptor from the
 * shared root (trust.h), made where missing, and anything found there
 * that an ordinary user could have made (theirs, a link, writable by
 * others) is refused, never followed.  Every point is then reached by its
 * name in the area's descriptor, mounted onto by descriptor
 * (open_tree/move_mount) and unmounted only after checking that the mount
 * there is the one the agent made.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "sys/trust.h"
#include "features/exposures-int.h"
#include "features/exposures.h"

/* ------------------------------------------------------------------ */
/* The area */

/*
 * dirpath/name, walked by descriptor from the trusted dirfd, made (mode)
 * when missing.  Made by root in a directory only root may write to, it
 * is root's; one found there is checked like any other component (a
 * user's, a link, a writable one: refused).
 */
static int
exposures_walk_or_make(int dirfd, const char *dirpath, const char *name,
    mode_t mode, struct trust_failure *f)
{
	int fd = trust_walk_dir(dirfd, dirpath, name, 0, f);
	if (fd >= 0 || f->reason != TRUST_MISSING)
		return fd;
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST) {
		f->reason = TRUST_IO;
		f->err = errno;
		return -1;
	}
	return trust_walk_dir(dirfd, dirpath, name, 0, f);
}

int
exposures_open_area(const char *root, const char *distro,
    struct trust_failure *f)
{
	if (distro[0] == '\0' || strchr(distro, '/') != NULL) {
		memset(f, 0, sizeof *f);
		f->reason = TRUST_IO;
		f->err = EINVAL;
		snprintf(f->path, sizeof f->path, "%s/%s/%s", root,
		    EXPOSURES_DIR_NAME, distro);
		return -1;
	}
	int rfd = trust_open_root(root, f);
	if (rfd < 0)
		return -1;
	int bfd = exposures_walk_or_make(rfd, root, EXPOSURES_DIR_NAME, 0755,
	    f);
	close(rfd);
	if (bfd < 0)
		return -1;
	char base[PATH_MAX];
	snprintf(base, sizeof base, "%s", f->path);
	int dfd = exposures_walk_or_make(bfd, base, distro, 0700, f);
	close(bfd);
	if (dfd < 0)
		return -1;
	/* Only root (the engine, this agent) needs to look inside. */
	struct stat st;
	char self[32];
	snprintf(self, sizeof self, "/proc/self/fd/%d", dfd);
	if (fstat(dfd, &st) < 0 ||
	    ((st.st_mode & 07777) != 0700 && chmod(self, 0700) < 0)) {
		f->reason = TRUST_IO;
		f->err = errno;
		close(dfd);
		return -1;
	}
	return dfd;
}

bool
exposures_source_contains(const char *source, const char *shared_root,
    const char *area)
{
	return util_path_within(shared_root, source) ||
	    util_path_within(area, source);
}

/* ------------------------------------------------------------------ */
/* Points */

int
exposures_point_make(int dir_fd, const char *name, bool dir)
{
	if (dir)
		return mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST ?
		    -1 : 0;
	int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

void
exposures_point_remove(int dir_fd, const char *name)
{
	if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno == ENOTDIR)
		(void)unlinkat(dir_fd, name, 0);
}

/*
 * What the source is mounted onto: the point we made (root's, a directory
 * or a file, nothing mounted on it yet), opened O_PATH, or -1 and errno.
 */
static int
exposures_point_open(int dir_fd, const char *name)
{
	int fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		goto fail;
	errno = S_ISLNK(st.st_mode) ? ELOOP : st.st_uid != 0 ? EPERM :
	    !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) ? EINVAL : 0;
	int root = errno == 0 ? trust_is_mount_root(fd) : -1;
	if (root == 0)
		return fd;
	if (root == 1)
		errno = EBUSY;
fail:
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

int
exposures_point_mount(int dir_fd, const char *name, const char *source,
    bool read_only, struct trust_mount_id *id)
{
	int src = open(source, O_PATH | O_CLOEXEC);
	struct stat st;
	int point = src >= 0 && fstat(src, &st) == 0 &&
	    exposures_point_make(dir_fd, name, S_ISDIR(st.st_mode)) == 0 ?
	    exposures_point_open(dir_fd, name) : -1;
	int r = point >= 0 ? trust_mount_fd(src, point, TRUST_MOUNT_RECURSIVE |
	    (read_only ? TRUST_MOUNT_RDONLY : 0), id) : -1;
	int saved = errno;
	if (src >= 0)
		close(src);
	if (point >= 0)
		close(point);
	errno = saved;
	return r;
}

int
exposures_point_look(int dir_fd, const char *name, int *mounted,
    struct trust_mount_id *id)
{
	*mounted = 0;
	int fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	*mounted = trust_is_mount_root(fd);
	if (*mounted < 0 || (*mounted == 1 && trust_mount_identity(fd, id) < 0)) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

bool
exposures_point_mounted(int dir_fd, const char *name)
{
	int mounted;
	struct trust_mount_id id;
	int fd = exposures_point_look(dir_fd, name, &mounted, &id);
	if (fd < 0)
		return false;
	close(fd);
	return mounted == 1;
}

/*
 * An exposure from the manifest has no identity yet (made NULL): what is
 * mounted on its point is ours, since only root can mount in the area.
 */
int
exposures_point_unmount(int dir_fd, const char *name,
    const struct trust_mount_id *made)
{
	struct trust_mount_id now;
	int mounted;
	int fd = exposures_point_look(dir_fd, name, &mounted, &now);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	close(fd);
	if (mounted == 1 && trust_umount_checked(dir_fd, name, made != NULL ?
	    made : &now) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int
exposures_point_make_writable(int dir_fd, const char *name,
    const struct trust_mount_id *made)
{
	struct trust_mount_id now;
	int mounted;
	int fd = exposures_point_look(dir_fd, name, &mounted, &now);
	if (fd < 0)
		return -1;
	int r = -1;
	errno = ESTALE;
	if (mounted == 1 && (made == NULL || (now.dev == made->dev &&
	    now.ino == made->ino && now.mnt_id == made->mnt_id)))
		r = trust_mount_set_rdonly(fd, TRUST_MOUNT_RECURSIVE);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}
