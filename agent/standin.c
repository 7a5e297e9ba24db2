/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stand-in's contents, moved into the distro (restore.c).  The engine
 * made the stand-in on the shared tmpfs, which every reboot loses, and the
 * exposure now mounted over it hides it: through the descriptor opened
 * before the mount, each entry is copied below state_dir (owner, mode and
 * times kept) and removed only once copied.  Anything that cannot be
 * copied (a socket, a fifo, a device, a failed write) stays where it was
 * and is counted, never lost.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define STANDIN_TREE_DEPTH	64

static void
standin_keep_attrs(int fd, const struct stat *st)
{
	const struct timespec times[2] = { st->st_atim, st->st_mtim };
	(void)!fchown(fd, st->st_uid, st->st_gid);
	(void)fchmod(fd, st->st_mode & 07777);
	(void)futimens(fd, times);
}

static int
standin_copy_file(int from, int to, const char *name, const struct stat *st)
{
	int s = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int t = s < 0 ? -1 : openat(to, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	int r = s >= 0 && t >= 0 ? 0 : -1;
	char buf[65536];
	ssize_t n;
	while (r == 0 && (n = read(s, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno != EINTR)
				r = -1;
			continue;
		}
		for (ssize_t o = 0; r == 0 && o < n;) {
			ssize_t w = write(t, buf + o, (size_t)(n - o));
			if (w < 0 && errno != EINTR)
				r = -1;
			else if (w > 0)
				o += w;
		}
	}
	if (r == 0) {
		standin_keep_attrs(t, st);
		r = fsync(t);
	}
	if (s >= 0)
		close(s);
	if (t >= 0 && close(t) < 0)
		r = -1;
	return r;
}

/* One entry, copied then removed; false when it stays (copy failed). */
static long standin_move_entries(int from, int to, int depth);

static bool
standin_move_entry(int from, int to, const char *name, int depth)
{
	struct stat st;
	if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	if (S_ISDIR(st.st_mode)) {
		if (depth >= STANDIN_TREE_DEPTH || mkdirat(to, name, 0700) < 0)
			return false;
		int s = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		int t = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		long left = s >= 0 && t >= 0 ?
		    standin_move_entries(s, t, depth + 1) : 1;
		if (t >= 0) {
			standin_keep_attrs(t, &st);
			close(t);
		}
		if (s >= 0)
			close(s);
		return left == 0 && unlinkat(from, name, AT_REMOVEDIR) == 0;
	}
	if (S_ISREG(st.st_mode))
		return standin_copy_file(from, to, name, &st) == 0 &&
		    unlinkat(from, name, 0) == 0;
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(from, name, target, sizeof target - 1);
		if (n < 0)
			return false;
		target[n] = '\0';
		if (symlinkat(target, to, name) < 0)
			return false;
		(void)fchownat(to, name, st.st_uid, st.st_gid,
		    AT_SYMLINK_NOFOLLOW);
		return unlinkat(from, name, 0) == 0;
	}
	return false;	/* sockets, fifos, devices: left where they are */
}

static long
standin_move_entries(int from, int to, int depth)
{
	int dfd = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d == NULL) {
		if (dfd >= 0)
			close(dfd);
		return 1;
	}
	long left = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		left += !standin_move_entry(from, to, de->d_name, depth);
	}
	closedir(d);
	return left;
}

long
standin_move_tree(int dirfd, const char *dst)
{
	struct stat st;
	int t = -1;
	if (fstat(dirfd, &st) < 0 || util_mkdir_parent(dst, 0700) < 0 ||
	    mkdir(dst, 0700) < 0 ||
	    (t = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		int saved = errno;
		close(dirfd);
		errno = saved;
		return -1;
	}
	long left = standin_move_entries(dirfd, t, 0);
	standin_keep_attrs(t, &st);
	close(t);
	close(dirfd);
	return left;
}

bool
standin_is_empty(int fd)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d == NULL) {
		if (dfd >= 0)
			close(dfd);
		return false;
	}
	bool empty = true;
	struct dirent *de;
	while (empty && (de = readdir(d)) != NULL)
		empty = strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}
