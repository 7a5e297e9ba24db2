/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stand-in's contents, moved into the distro (restore.c).  The engine
 * made the stand-in on the shared tmpfs, which every reboot loses, and the
 * exposure now mounted over it hides it: through the descriptor opened
 * before the mount, its entries go below state_dir/stand-ins, never lost.
 *
 * A container can write anything there, so the move is bounded and off
 * the loop: it runs in the worker thread (work.c), one job per restore
 * pass, and the loop only queues it and reads what it did.
 *   - First the stand-in is shown at NAME.stand-in (a bind mount by
 *     descriptor), so that whatever is not moved stays reachable, by the
 *     user and by the agent after a restart.
 *   - It is measured as allocated (st_blocks: a sparse file counts what
 *     it holds), and moved only if all of it fits: below bind.standin_max
 *     together with the copies already there, and with STANDIN_FREE_MARGIN
 *     left free (fstatvfs).  A database is not split in two: what does not
 *     fit stays whole on the stand-in, shown, and status says so.
 *   - Files are copied extent by extent (SEEK_DATA/SEEK_HOLE; holes stay
 *     holes: copy_file_range gives EXDEV from tmpfs to ext4) in steps of
 *     STANDIN_CHUNK, the job asking between steps whether the agent
 *     stops.  An entry is opened without following or blocking, and its
 *     descriptor must be the regular file fstatat saw: a fifo or device
 *     swapped in is left where it is, as sockets, fifos and devices are.
 *   - Copies go into NAME.partial; an entry leaves the stand-in only once
 *     its copy and the directory naming it are fsync'd.  When nothing but
 *     fifos, sockets and devices is left, NAME.partial becomes NAME and the
 *     mount goes.  Stopped part way, both stay, and the next pass (or the
 *     next start) resumes from the mount.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "sys/standin.h"
#include "sys/trust.h"

#define STANDIN_TREE_DEPTH	64
#define STANDIN_CHUNK		(1024 * 1024)	/* bytes between stop checks */
#define STANDIN_BATCH		64	/* copies fsync'd before sources go */

void (*standin_open_hook)(int dirfd, const char *name);

/* One move under way: where it stands, what it did. */
struct standin_ctx {
	const struct standin_limits *lim;
	char			*buf;		/* STANDIN_CHUNK bytes */
	struct standin_result	*out;
	bool			 stopped;
};

static bool
standin_stop(struct standin_ctx *c)
{
	if (!c->stopped && c->lim->stop != NULL &&
	    c->lim->stop(c->lim->stop_arg))
		c->stopped = true;
	return c->stopped;
}

/* The first failure is the one told. */
static void
standin_fail(struct standin_ctx *c, const char *where, int err)
{
	if (c->out->err != 0)
		return;
	c->out->err = err != 0 ? err : EIO;
	snprintf(c->out->where, sizeof c->out->where, "%s", where);
}

static int
standin_open_dir(int at, const char *name)
{
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
}

static DIR *
standin_opendir(int fd)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d == NULL && dfd >= 0)
		close(dfd);
	return d;
}

static bool
standin_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* name is BASE + suffix: BASE in base. */
static bool
standin_has_suffix(const char *name, const char *suffix, char *base,
    size_t len)
{
	size_t n = strlen(name), s = strlen(suffix);
	if (n <= s || n - s > STANDIN_NAME_MAX || n - s >= len ||
	    strcmp(name + n - s, suffix) != 0)
		return false;
	memcpy(base, name, n - s);
	base[n - s] = '\0';
	return true;
}

/* ------------------------------------------------------------------ */
/* Measuring */

struct standin_size {
	uint64_t bytes;		/* allocated */
	long	 data;		/* files and links */
	long	 special;	/* fifos, sockets, devices */
};

/*
 * What fd holds, not crossing into another file system (a mount), nor
 * into a stand-in shown at the top (shown_too false: the copies' count).
 */
static void
standin_measure(int fd, dev_t dev, int depth, bool shown_too,
    struct standin_size *sz)
{
	DIR *d = standin_opendir(fd);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char base[NAME_MAX + 1];
		if (standin_dot(de->d_name) || (!shown_too && depth == 0 &&
		    standin_has_suffix(de->d_name, STANDIN_SHOWN_SUFFIX, base,
		    sizeof base)) ||
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    st.st_dev != dev)
			continue;
		sz->bytes += (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode) && depth < STANDIN_TREE_DEPTH) {
			int sub = standin_open_dir(fd, de->d_name);
			if (sub >= 0) {
				standin_measure(sub, dev, depth + 1, true, sz);
				close(sub);
			}
		} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
			sz->data++;
		else if (!S_ISDIR(st.st_mode))
			sz->special++;
	}
	closedir(d);
}

static struct standin_size
standin_size(int fd, bool shown_too)
{
	struct standin_size sz = { 0, 0, 0 };
	struct stat st;
	if (fstat(fd, &st) == 0)
		standin_measure(fd, st.st_dev, 0, shown_too, &sz);
	return sz;
}

/* ------------------------------------------------------------------ */
/* Copying */

static void
standin_keep_attrs(int fd, const struct stat *st)
{
	const struct timespec times[2] = { st->st_atim, st->st_mtim };
	(void)!fchown(fd, st->st_uid, st->st_gid);
	(void)fchmod(fd, st->st_mode & 07777);
	(void)futimens(fd, times);
}

static int
standin_pwrite_all(int fd, const char *buf, size_t n, off_t at)
{
	for (size_t o = 0; o < n;) {
		ssize_t w = pwrite(fd, buf + o, n - o, at + (off_t)o);
		if (w < 0 && errno != EINTR)
			return -1;
		if (w > 0)
			o += (size_t)w;
	}
	return 0;
}

/* [from, to) of s into t at the same offsets, a chunk at a time. */
static int
standin_copy_range(struct standin_ctx *c, int s, int t, off_t from, off_t to)
{
	while (from < to) {
		if (standin_stop(c)) {
			errno = ECANCELED;
			return -1;
		}
		size_t want = (size_t)(to - from) < STANDIN_CHUNK ?
		    (size_t)(to - from) : STANDIN_CHUNK;
		ssize_t n = pread(s, c->buf, want, from);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -1 : 0;	/* shorter than it said: done */
		if (standin_pwrite_all(t, c->buf, (size_t)n, from) < 0)
			return -1;
		from += n;
	}
	return 0;
}

/* Only the extents holding data are copied: holes stay holes. */
static int
standin_copy_data(struct standin_ctx *c, int s, int t, off_t size)
{
	off_t at = 0;
	while (at < size) {
		off_t data = lseek(s, at, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;			/* a hole to the end */
		if (data < 0)			/* no SEEK_DATA: all of it */
			return standin_copy_range(c, s, t, at, size);
		off_t hole = lseek(s, data, SEEK_HOLE);
		if (hole < 0)
			hole = size;
		if (standin_copy_range(c, s, t, data, hole) < 0)
			return -1;
		at = hole;
	}
	return ftruncate(t, size);
}

/*
 * A regular file copied: 1 copied, 0 left where it is (not the regular
 * file fstatat saw: something was swapped in), -1 failed (errno).
 */
static int
standin_copy_file(struct standin_ctx *c, int from, int to, const char *name,
    const struct stat *seen)
{
	if (standin_open_hook != NULL)
		standin_open_hook(from, name);
	int s = openat(from, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (s < 0)
		return errno == ELOOP || errno == ENXIO || errno == EWOULDBLOCK ?
		    0 : -1;
	if (fstat(s, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_dev != seen->st_dev || st.st_ino != seen->st_ino) {
		close(s);
		return 0;
	}
	int t = openat(to, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	int r = t >= 0 ? standin_copy_data(c, s, t, st.st_size) : -1;
	if (r == 0) {
		standin_keep_attrs(t, &st);
		r = fsync(t);
	}
	int saved = errno;
	close(s);
	if (t >= 0 && close(t) < 0 && r == 0)
		r = -1;
	else
		errno = saved;
	if (r == 0)
		c->out->moved += (uint64_t)st.st_blocks * 512;
	return r == 0 ? 1 : -1;
}

static int
standin_copy_link(int from, int to, const char *name, const struct stat *st)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(from, name, target, sizeof target - 1);
	if (n < 0)
		return errno == EINVAL ? 0 : -1;	/* swapped: not a link */
	target[n] = '\0';
	if (symlinkat(target, to, name) < 0 && (errno != EEXIST ||
	    unlinkat(to, name, 0) < 0 || symlinkat(target, to, name) < 0))
		return -1;
	(void)fchownat(to, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
	return 1;
}

/* Names whose copies wait for their directory's fsync before they go. */
struct standin_batch {
	size_t	n;
	char	name[STANDIN_BATCH][NAME_MAX + 1];
};

/* The directory fsync'd, then the sources of its copies removed. */
static void
standin_commit(struct standin_ctx *c, int from, int to, struct standin_batch *b)
{
	if (b->n == 0)
		return;
	if (fsync(to) < 0)
		standin_fail(c, "fsync of a directory of the copy", errno);
	else
		for (size_t i = 0; i < b->n; i++)
			(void)unlinkat(from, b->name[i], 0);
	b->n = 0;
}

static void standin_move_dir(struct standin_ctx *, int from, int to, int depth);

/* A directory: made in the copy (kept if there: a resume), filled, removed. */
static void
standin_move_subdir(struct standin_ctx *c, int from, int to, const char *name,
    const struct stat *seen, int depth)
{
	if (depth >= STANDIN_TREE_DEPTH) {
		standin_fail(c, name, ELOOP);
		return;
	}
	bool made = mkdirat(to, name, 0700) == 0;
	if (!made && errno != EEXIST) {
		standin_fail(c, name, errno);
		return;
	}
	int s = standin_open_dir(from, name);
	int t = standin_open_dir(to, name);
	struct stat st;
	if (s >= 0 && t >= 0 && fstat(s, &st) == 0 &&
	    st.st_dev == seen->st_dev && st.st_ino == seen->st_ino &&
	    (!made || fsync(to) == 0)) {
		standin_move_dir(c, s, t, depth + 1);
		standin_keep_attrs(t, &st);
		if (fsync(t) < 0)
			standin_fail(c, name, errno);
		else if (!c->stopped)
			(void)unlinkat(from, name, AT_REMOVEDIR); /* if empty */
	} else if (s < 0 || t < 0)
		standin_fail(c, name, errno);
	if (s >= 0)
		close(s);
	if (t >= 0)
		close(t);
}

static void
standin_move_dir(struct standin_ctx *c, int from, int to, int depth)
{
	DIR *d = standin_opendir(from);
	if (d == NULL) {
		standin_fail(c, "reading a directory of the stand-in", errno);
		return;
	}
	struct standin_batch *b = malloc(sizeof *b);
	if (b == NULL) {
		closedir(d);
		standin_fail(c, "memory", ENOMEM);
		return;
	}
	b->n = 0;
	struct dirent *de;
	while (!standin_stop(c) && (de = readdir(d)) != NULL) {
		struct stat st;
		const char *name = de->d_name;
		int r = 0;
		if (standin_dot(name) ||
		    fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			standin_commit(c, from, to, b);
			standin_move_subdir(c, from, to, name, &st, depth);
			continue;
		}
		if (S_ISREG(st.st_mode))
			r = standin_copy_file(c, from, to, name, &st);
		else if (S_ISLNK(st.st_mode))
			r = standin_copy_link(from, to, name, &st);
		if (r < 0 && !c->stopped)
			standin_fail(c, name, errno);
		if (r == 1) {
			snprintf(b->name[b->n++], sizeof b->name[0], "%s", name);
			if (b->n == STANDIN_BATCH)
				standin_commit(c, from, to, b);
		}
	}
	standin_commit(c, from, to, b);
	free(b);
	closedir(d);
}

/* ------------------------------------------------------------------ */
/* One stand-in */

static void
standin_suffixed(char *buf, size_t len, const char *name, const char *suffix)
{
	snprintf(buf, len, "%s%s", name, suffix);
}

static bool
standin_exists(int dirfd, const char *name, const char *suffix)
{
	char p[NAME_MAX + 1];
	struct stat st;
	standin_suffixed(p, sizeof p, name, suffix);
	return fstatat(dirfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Shown at name.stand-in, by descriptor; *id: that mount. */
static int
standin_show(int dirfd, int fd, const char *shown, struct trust_mount_id *id)
{
	if (mkdirat(dirfd, shown, 0700) < 0 && errno != EEXIST)
		return -1;
	int t = openat(dirfd, shown, O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (t < 0)
		return -1;
	int r = trust_mount_fd(fd, t, 0, id);
	int saved = errno;
	close(t);
	errno = saved;
	return r;
}

/* name.partial, whole: renamed name, and the stand-in's mount gone. */
static void
standin_finish(struct standin_ctx *c, int dirfd, int pfd, int fd,
    const char *name, const char *partial, const char *shown,
    const struct trust_mount_id *id)
{
	struct stat st;
	if (fstat(fd, &st) == 0)
		standin_keep_attrs(pfd, &st);
	if (fsync(pfd) < 0 || renameat2(dirfd, partial, dirfd, name,
	    RENAME_NOREPLACE) < 0 || fsync(dirfd) < 0) {
		standin_fail(c, "naming the copy whole", errno);
		c->out->state = STANDIN_PARTIAL;
		return;
	}
	c->out->state = STANDIN_MOVED;
	if (trust_umount_checked(dirfd, shown, id) == 0 &&
	    unlinkat(dirfd, shown, AT_REMOVEDIR) == 0)
		c->out->shown = false;
}

enum standin_state
standin_move(int dirfd, int fd, const char *name, bool shown,
    const struct standin_limits *lim, struct standin_result *out)
{
	char sname[NAME_MAX + 1], pname[NAME_MAX + 1];
	struct standin_ctx c = { .lim = lim, .out = out };
	struct trust_mount_id id;
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s", name);
	out->state = STANDIN_FAILED;
	standin_suffixed(sname, sizeof sname, name, STANDIN_SHOWN_SUFFIX);
	standin_suffixed(pname, sizeof pname, name, STANDIN_PARTIAL_SUFFIX);
	if ((shown ? trust_mount_identity(fd, &id) :
	    standin_show(dirfd, fd, sname, &id)) < 0) {
		standin_fail(&c, "showing the stand-in", errno);
		close(fd);
		return out->state;
	}
	out->shown = true;
	struct standin_size need = standin_size(fd, true);
	struct standin_size used = standin_size(dirfd, false);
	struct statvfs vfs;
	out->used = used.bytes;
	out->left = need.bytes;
	out->special = need.special;
	out->avail = fstatvfs(dirfd, &vfs) == 0 ?
	    (uint64_t)vfs.f_bavail * vfs.f_frsize : 0;
	int pfd = -1;
	if (shown && need.data == 0 && need.special == 0 &&
	    !standin_exists(dirfd, name, STANDIN_PARTIAL_SUFFIX)) {
		/* Emptied since it was shown (its tmpfs gone): nothing to keep. */
		out->state = STANDIN_MOVED;
		if (trust_umount_checked(dirfd, sname, &id) == 0 &&
		    unlinkat(dirfd, sname, AT_REMOVEDIR) == 0)
			out->shown = false;
	} else if (need.data > 0 && (lim->max == 0 || used.bytes + need.bytes >
	    lim->max))
		out->state = STANDIN_HELD_CAP;
	else if (need.data > 0 && need.bytes + lim->margin > out->avail)
		out->state = STANDIN_HELD_SPACE;
	else if ((c.buf = malloc(STANDIN_CHUNK)) == NULL)
		standin_fail(&c, "memory", ENOMEM);
	else if ((mkdirat(dirfd, pname, 0700) < 0 && errno != EEXIST) ||
	    (pfd = standin_open_dir(dirfd, pname)) < 0 || fsync(dirfd) < 0)
		standin_fail(&c, pname, errno);
	else {
		out->state = STANDIN_PARTIAL;
		standin_move_dir(&c, fd, pfd, 0);
		if (c.stopped)
			standin_fail(&c, "the agent stopping", ECANCELED);
		struct standin_size left = standin_size(fd, true);
		out->left = left.bytes;
		out->special = left.special;
		if (left.data == 0 && !c.stopped)
			standin_finish(&c, dirfd, pfd, fd, name, pname, sname, &id);
		else if (out->err == 0)
			standin_fail(&c, "an entry that could not be read", EIO);
	}
	if (pfd >= 0)
		close(pfd);
	free(c.buf);
	close(fd);
	return out->state;
}

/* ------------------------------------------------------------------ */
/* What an earlier run left */

bool
standin_taken(int dirfd, const char *name)
{
	return standin_exists(dirfd, name, "") ||
	    standin_exists(dirfd, name, STANDIN_SHOWN_SUFFIX) ||
	    standin_exists(dirfd, name, STANDIN_PARTIAL_SUFFIX);
}

/* Names ending in suffix, their bases; at most max.  malloc'd. */
static char (*standin_list(int dirfd, const char *suffix, size_t max,
    size_t *n))[STANDIN_NAME_MAX + 1]
{
	char (*names)[STANDIN_NAME_MAX + 1] = calloc(max + 1, sizeof *names);
	DIR *d = names != NULL ? standin_opendir(dirfd) : NULL;
	*n = 0;
	if (d == NULL)
		return names;
	struct dirent *de;
	while (*n < max && (de = readdir(d)) != NULL)
		if (standin_has_suffix(de->d_name, suffix, names[*n],
		    sizeof names[0]))
			(*n)++;
	closedir(d);
	return names;
}

size_t
standin_resume(int dirfd, const struct standin_limits *lim,
    struct standin_result *out, size_t max)
{
	/* Listed first: the moves rename and remove entries. */
	size_t ns, np, n = 0;
	char (*shown)[STANDIN_NAME_MAX + 1] = standin_list(dirfd,
	    STANDIN_SHOWN_SUFFIX, max, &ns);
	char (*partial)[STANDIN_NAME_MAX + 1] = standin_list(dirfd,
	    STANDIN_PARTIAL_SUFFIX, max, &np);
	for (size_t i = 0; i < ns && n < max; i++) {
		char sname[NAME_MAX + 1];
		if (lim->stop != NULL && lim->stop(lim->stop_arg))
			break;
		standin_suffixed(sname, sizeof sname, shown[i],
		    STANDIN_SHOWN_SUFFIX);
		int fd = standin_open_dir(dirfd, sname);
		int root = fd >= 0 ? trust_is_mount_root(fd) : -1;
		if (root == 1) {
			standin_move(dirfd, fd, shown[i], true, lim, &out[n++]);
			continue;
		}
		if (fd >= 0)
			close(fd);
		/* Its tmpfs went with a reboot: an empty mount point. */
		if (root == 0)
			(void)unlinkat(dirfd, sname, AT_REMOVEDIR);
	}
	for (size_t i = 0; i < np && n < max; i++) {
		if (!standin_exists(dirfd, partial[i], STANDIN_PARTIAL_SUFFIX) ||
		    standin_exists(dirfd, partial[i], STANDIN_SHOWN_SUFFIX))
			continue;
		memset(&out[n], 0, sizeof out[n]);
		out[n].state = STANDIN_LOST;
		snprintf(out[n++].name, sizeof out[0].name, "%s", partial[i]);
	}
	free(shown);
	free(partial);
	return n;
}

bool
standin_is_empty(int fd)
{
	DIR *d = standin_opendir(fd);
	if (d == NULL)
		return false;
	bool empty = true;
	struct dirent *de;
	while (empty && (de = readdir(d)) != NULL)
		empty = standin_dot(de->d_name);
	closedir(d);
	return empty;
}
