/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust in the shared /mnt/wsl tree (wsl-docker-agent(8),
 * SECURITY): paths walked by descriptor, the engine socket's peer, mounts
 * and unmounts by descriptor, and text from outside escaped for logs.
 *
 * Why descriptors: a path string is looked up again at each use, and any
 * user of any distro may create, rename or replace entries wherever the
 * tree is writable.  A descriptor obtained component by component with
 * O_NOFOLLOW, and checked with fstat, stays the checked object whatever
 * happens to the names afterwards.  Below a root-owned directory that no
 * group or other may write, only root can change the names at all.
 *
 * The intermediate components are opened O_PATH: nothing is read through
 * them, and opening a directory O_PATH needs no permission on it and
 * triggers nothing.  A real O_RDONLY descriptor is needed only to read a
 * directory (getdents), so only the final one gets it, on request.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/text.h"
#include "sys/trust.h"
#include "sys/wsl.h"

/*
 * The mount API by syscall(): glibc gained wrappers only in 2.36, and the
 * distros the agent is built for may be older.  The numbers come from
 * <sys/syscall.h>; the flags are defined here when the headers lack them.
 */
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE		1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC	O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH	0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH	0x00000040
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY	0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE		0x8000
#endif
#ifndef UMOUNT_NOFOLLOW
#define UMOUNT_NOFOLLOW		0x00000008
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID		0x00001000U
#endif
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT	0x00002000
#endif

/* struct mount_attr, version 0 (32 bytes); not in glibc before 2.36. */
struct trust_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

/* Close fd on a failure path without losing the failure's errno. */
static void
close_keeping_errno(int fd)
{
	int saved = errno;
	close(fd);
	errno = saved;
}

/* ------------------------------------------------------------------ */
/* Failures */

const char *
trust_reason_name(enum trust_reason r)
{
	switch (r) {
	case TRUST_OK:		return "trusted";
	case TRUST_MISSING:	return "missing";
	case TRUST_SYMLINK:	return "symlink";
	case TRUST_NOT_DIR:	return "not a directory";
	case TRUST_WRONG_TYPE:	return "wrong file type";
	case TRUST_OWNER:	return "owner not root";
	case TRUST_WRITABLE:	return "group/other writable";
	case TRUST_NOT_MOUNT:	return "not a mount point";
	case TRUST_FOREIGN_MOUNT: return "untrusted mount";
	case TRUST_IO:		return "io error";
	}
	return "unknown";
}

static const char *
trust_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:	return "a directory";
	case S_IFREG:	return "a regular file";
	case S_IFSOCK:	return "a socket";
	case S_IFLNK:	return "a symbolic link";
	case S_IFIFO:	return "a FIFO";
	case S_IFCHR:	return "a character device";
	case S_IFBLK:	return "a block device";
	}
	return "of an unknown type";
}

static int
trust_fail(struct trust_failure *f, enum trust_reason r, const char *path,
    const struct stat *st, mode_t want, int err)
{
	f->reason = r;
	if (path != f->path)
		snprintf(f->path, sizeof f->path, "%s", path);
	f->have_stat = st != NULL;
	f->uid = st != NULL ? st->st_uid : (uid_t)-1;
	f->mode = st != NULL ? st->st_mode : 0;
	f->want = want;
	f->err = err;
	f->fstype[0] = '\0';
	f->mount_user = -1;
	errno = r == TRUST_IO ? err : EPERM;
	return -1;
}

/*
 * A mount nothing in it may be believed of (p: the escaped path).  Its
 * owner and modes are whatever its server says, so they are not named.
 */
static void
trust_foreign_mount_format(const struct trust_failure *f, const char *p,
    char *buf, size_t len)
{
	char fs[TEXT_ESCAPE_SIZE(sizeof f->fstype)], who[64] = "";

	text_escape(f->fstype, fs, sizeof fs);
	if (f->mount_user >= 0)
		snprintf(who, sizeof who, " made by uid %ld (user_id=%ld)",
		    f->mount_user, f->mount_user);
	if (f->want == S_IFDIR && strncmp(fs, "fuse", 4) != 0 &&
	    f->mount_user < 0)
		snprintf(buf, len, "%s is a %s mount, not the shared tmpfs: "
		    "only a tmpfs shared by every distro (WSL's /mnt/wsl) holds "
		    "Docker Desktop's tree; set desktop_dir below it", p, fs);
	else
		snprintf(buf, len, "%s is a %s mount%s: any user may serve such "
		    "a file system and make it report root as the owner, so "
		    "nothing in it is believed, looked at, linked or run; unmount "
		    "it (sudo umount -l %s) and restart Docker Desktop", p, fs,
		    who, p);
}

void
trust_failure_format(const struct trust_failure *f, char *buf, size_t len)
{
	char p[TEXT_ESCAPE_SIZE(PATH_MAX)];
	unsigned uid = (unsigned)f->uid;
	unsigned perm = (unsigned)(f->mode & 07777);
	const char *restart = "and restart Docker Desktop";

	text_escape(f->path, p, sizeof p);
	switch (f->reason) {
	case TRUST_OK:
		snprintf(buf, len, "%s is trusted", p);
		break;
	case TRUST_MISSING:
		snprintf(buf, len, "%s does not exist: Docker Desktop is not "
		    "running or has not published it yet; start Docker Desktop",
		    p);
		break;
	case TRUST_SYMLINK:
		snprintf(buf, len, "%s is a symbolic link owned by uid %u: links "
		    "in the shared tree are never followed; remove it (sudo rm "
		    "%s) %s", p, uid, p, restart);
		break;
	case TRUST_NOT_DIR:
	case TRUST_WRONG_TYPE:
		snprintf(buf, len, "%s is %s owned by uid %u, not %s: remove it "
		    "(sudo rm -f %s) %s", p, trust_type_name(f->mode), uid,
		    trust_type_name(f->want), p, restart);
		break;
	case TRUST_OWNER:
		snprintf(buf, len, "%s is owned by uid %u, not root: an ordinary "
		    "user made it; remove it (sudo rm -rf %s) %s", p, uid, p,
		    restart);
		break;
	case TRUST_WRITABLE:
		snprintf(buf, len, "%s is writable by group or others (mode "
		    "%04o, owner uid %u): anyone could change what is below it; "
		    "remove it (sudo rm -rf %s) %s, or make it private (sudo "
		    "chmod go-w %s)", p, perm, uid, p, restart, p);
		break;
	case TRUST_NOT_MOUNT:
		snprintf(buf, len, "%s is not a mount point (owner uid %u, mode "
		    "%04o): Docker Desktop mounts it, so something else made it; "
		    "remove it (sudo rm -rf %s) %s", p, uid, perm, p, restart);
		break;
	case TRUST_FOREIGN_MOUNT:
		trust_foreign_mount_format(f, p, buf, len);
		break;
	case TRUST_IO:
		snprintf(buf, len, "%s cannot be checked: %s", p,
		    strerror(f->err));
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Mount points */

int
trust_fdinfo_mnt_id(int fd, uint64_t *id)
{
	char path[64], line[256];
	int found = 0;

	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	FILE *fp = fopen(path, "re");
	if (fp == NULL)
		return -1;
	while (!found && fgets(line, sizeof line, fp) != NULL)
		found = sscanf(line, "mnt_id: %" SCNu64, id) == 1;
	fclose(fp);
	if (!found) {
		errno = ENOTSUP;
		return -1;
	}
	return 0;
}

/* statx of fd itself; -1 and errno (ENOSYS on kernels before 4.11). */
static int
trust_statx(int fd, unsigned mask, struct statx *sx)
{
	return statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, mask, sx);
}

int
trust_mnt_id(int fd, uint64_t *id)
{
	struct statx sx;

	if (trust_statx(fd, STATX_MNT_ID, &sx) == 0 &&
	    (sx.stx_mask & STATX_MNT_ID) != 0) {
		*id = sx.stx_mnt_id;
		return 0;
	}
	return trust_fdinfo_mnt_id(fd, id);
}

int
trust_is_mount_root(int fd)
{
	struct statx sx;

	if (trust_statx(fd, STATX_TYPE, &sx) == 0) {
		if ((sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0)
			return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	} else if (errno != ENOSYS && errno != EINVAL)
		return -1;

	/* Before 5.8: ".." of a mount root is in the mount below it. */
	uint64_t self, up;
	int parent = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0)
		return -1;
	int rc = trust_mnt_id(fd, &self) < 0 || trust_mnt_id(parent, &up) < 0 ?
	    -1 : self != up;
	close_keeping_errno(parent);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Mounts the walk may cross */

bool
trust_mount_kind_ok(const char *fstype, const char *super_opts, long *user_id)
{
	bool carries = false;

	*user_id = -1;
	for (const char *p = super_opts; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n >= 8 && strncmp(p, "user_id=", 8) == 0) {
			char *end;
			long v;
			carries = true;
			errno = 0;
			v = strtol(p + 8, &end, 10);
			if (errno == 0 && end == p + n && end > p + 8 && v >= 0)
				*user_id = v;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	bool fuse = strcmp(fstype, "fuse") == 0 ||
	    strcmp(fstype, "fuseblk") == 0 || strncmp(fstype, "fuse.", 5) == 0;
	return !fuse && !carries;
}

int
trust_mount_kind(const char *mountinfo, uint64_t mnt_id,
    struct trust_mount_kind *k)
{
	FILE *fp = fopen(mountinfo != NULL ? mountinfo : "/proc/self/mountinfo",
	    "re");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (fp == NULL)
		return -1;
	/* getline: a line of mountinfo has no fixed bound (overlay options). */
	while (!found && getline(&line, &cap, fp) > 0) {
		struct mountinfo_entry e;
		if (!wsl_parse_mountinfo_line(line, &e) || e.mnt_id != mnt_id)
			continue;
		snprintf(k->fstype, sizeof k->fstype, "%s", e.fstype);
		k->trusted = trust_mount_kind_ok(e.fstype, e.super_opts,
		    &k->user_id);
		found = 1;
	}
	free(line);
	fclose(fp);
	if (!found) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/*
 * May the walk look at fd, just opened O_PATH in a directory on mount
 * *mnt?  On that same mount, yes.  The root of another mount only when
 * the mount table says its kind is trusted; the shared root (is_root)
 * only when it is a tmpfs.  Asks the mount ID (/proc/self/fdinfo) and the
 * table, never the file system, so a FUSE server is not called.  *mnt
 * becomes fd's mount.
 */
static int
trust_mount_check(int fd, const char *path, mode_t want, bool is_root,
    uint64_t *mnt, struct trust_failure *f)
{
	struct trust_mount_kind k;
	uint64_t id;

	if (trust_fdinfo_mnt_id(fd, &id) < 0)
		return trust_fail(f, TRUST_IO, path, NULL, want, errno);
	if (!is_root && id == *mnt)
		return 0;
	if (trust_mount_kind(NULL, id, &k) < 0)
		return trust_fail(f, TRUST_IO, path, NULL, want, errno);
	if (!k.trusted || (is_root && strcmp(k.fstype, "tmpfs") != 0)) {
		trust_fail(f, TRUST_FOREIGN_MOUNT, path, NULL, want, 0);
		snprintf(f->fstype, sizeof f->fstype, "%s", k.fstype);
		f->mount_user = k.user_id;
		return -1;
	}
	*mnt = id;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The walk */

/*
 * The ownership and mode rules for one component.  The sticky bit excuses
 * a world-writable shared root only: there it stops others from renaming
 * root's entries, below it nothing an ordinary user can write is trusted.
 * A socket's write bits only let others connect (the lab's engine socket
 * is 0660 root:docker); who may replace it is its directory's business.
 */
static int
trust_check(const struct stat *st, const char *path, mode_t want,
    bool is_root, struct trust_failure *f)
{
	if (S_ISLNK(st->st_mode))
		return trust_fail(f, TRUST_SYMLINK, path, st, want, 0);
	if (st->st_uid != 0)
		return trust_fail(f, TRUST_OWNER, path, st, want, 0);
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0 && !S_ISSOCK(st->st_mode) &&
	    !(is_root && (st->st_mode & S_ISVTX) != 0))
		return trust_fail(f, TRUST_WRITABLE, path, st, want, 0);
	if ((st->st_mode & S_IFMT) != want)
		return trust_fail(f, want == S_IFDIR ? TRUST_NOT_DIR :
		    TRUST_WRONG_TYPE, path, st, want, 0);
	return 0;
}

/*
 * Open and check one component: an O_PATH descriptor or -1 and *f.  It is
 * opened with O_NOFOLLOW and without O_DIRECTORY, so a symlink or a file
 * is opened as itself and fstat says what it is; that comes only after the
 * mount check (*mnt: in, dirfd's mount; out, the component's).
 */
static int
trust_step(int dirfd, const char *name, const char *path, mode_t want,
    bool is_root, uint64_t *mnt, struct stat *st, struct trust_failure *f)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return trust_fail(f, errno == ENOENT ? TRUST_MISSING : TRUST_IO,
		    path, NULL, want, errno);
	if (trust_mount_check(fd, path, want, is_root, mnt, f) < 0) {
		close_keeping_errno(fd);
		return -1;
	}
	if (fstat(fd, st) < 0) {
		int err = errno;
		close(fd);
		return trust_fail(f, TRUST_IO, path, NULL, want, err);
	}
	if (want != 0 && trust_check(st, path, want, is_root, f) < 0) {
		close_keeping_errno(fd);
		return -1;
	}
	return fd;
}

static int
trust_mount_point_check(int fd, const char *path, struct trust_failure *f)
{
	struct stat st;
	int m = trust_is_mount_root(fd);

	if (m < 0 || fstat(fd, &st) < 0)
		return trust_fail(f, TRUST_IO, path, NULL, S_IFDIR, errno);
	if (m == 0)
		return trust_fail(f, TRUST_NOT_MOUNT, path, &st, S_IFDIR, 0);
	return 0;
}

/*
 * Walk rel below dirfd: every component a directory but the last, which
 * has type want; an O_PATH descriptor of it, or for read a directory
 * opened O_RDONLY (through the checked descriptor, never by name again).
 * want 0 only asks whether something is there: owners and modes are not
 * checked, and a component that is no directory ends the walk as if it
 * were the last (something is in the way; a checked walk names it).
 */
static int
trust_walk(int dirfd, const char *dirpath, const char *rel, mode_t want,
    bool read, struct trust_failure *f)
{
	char path[PATH_MAX], name[NAME_MAX + 1];
	size_t plen = strlen(dirpath);
	const char *p = rel;
	int fd = dirfd;
	uint64_t mnt;

	while (plen > 1 && dirpath[plen - 1] == '/')
		plen--;
	if (plen >= sizeof path)
		return trust_fail(f, TRUST_IO, dirpath, NULL, want, ENAMETOOLONG);
	memcpy(path, dirpath, plen);
	path[plen] = '\0';
	if (trust_fdinfo_mnt_id(dirfd, &mnt) < 0)
		return trust_fail(f, TRUST_IO, path, NULL, want, errno);
	for (;;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		const char *next = p + n;
		while (*next == '/')
			next++;
		bool last = *next == '\0';
		if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			if (fd != dirfd)
				close(fd);
			return trust_fail(f, TRUST_IO, path, NULL, want,
			    n > NAME_MAX ? ENAMETOOLONG : EINVAL);
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if ((size_t)snprintf(path + plen, sizeof path - plen, "%s%s",
		    plen == 1 && path[0] == '/' ? "" : "/", name) >=
		    sizeof path - plen) {
			if (fd != dirfd)
				close(fd);
			return trust_fail(f, TRUST_IO, path, NULL, want,
			    ENAMETOOLONG);
		}
		plen += strlen(path + plen);
		struct stat st = { 0 };
		int next_fd = trust_step(fd, name, path, last || want == 0 ?
		    want : S_IFDIR, false, &mnt, &st, f);
		if (fd != dirfd)
			close(fd);
		if (next_fd < 0)
			return -1;
		if (want == 0 && !S_ISDIR(st.st_mode))
			last = true;
		if (!last) {
			fd = next_fd;
			p = next;
			continue;
		}
		f->reason = TRUST_OK;
		memcpy(f->path, path, plen + 1);
		if (!read)
			return next_fd;
		fd = openat(next_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			trust_fail(f, TRUST_IO, path, NULL, want, errno);
		close_keeping_errno(next_fd);
		return fd;
	}
}

int
trust_walk_dir(int dirfd, const char *dirpath, const char *rel, int flags,
    struct trust_failure *f)
{
	int fd;
	struct stat st = { 0 };

	if ((flags & TRUST_ANY_OWNER) != 0) {
		/* Ends early at what is no directory: that is refused here. */
		fd = trust_walk(dirfd, dirpath, rel, 0, false, f);
		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))) {
			trust_fail(f, S_ISLNK(st.st_mode) ? TRUST_SYMLINK :
			    TRUST_NOT_DIR, f->path, &st, S_IFDIR, 0);
			close_keeping_errno(fd);
			return -1;
		}
	} else
		fd = trust_walk(dirfd, dirpath, rel, S_IFDIR,
		    (flags & TRUST_READ) != 0, f);

	if (fd >= 0 && (flags & TRUST_MOUNT_POINT) != 0 &&
	    trust_mount_point_check(fd, f->path, f) < 0) {
		close_keeping_errno(fd);
		return -1;
	}
	return fd;
}

int
trust_walk_entry(int dirfd, const char *dirpath, const char *rel, mode_t type,
    struct trust_failure *f)
{
	return trust_walk(dirfd, dirpath, rel, type, false, f);
}

int
trust_open_root(const char *root, struct trust_failure *f)
{
	uint64_t mnt = 0;
	struct stat st;

	if (root[0] != '/')
		return trust_fail(f, TRUST_IO, root, NULL, S_IFDIR, EINVAL);
	int fd = trust_step(AT_FDCWD, root, root, S_IFDIR, true, &mnt, &st, f);
	if (fd >= 0 && trust_mount_point_check(fd, root, f) < 0) {
		close_keeping_errno(fd);
		return -1;
	}
	return fd;
}

int
trust_split(const char *path, char *dir, size_t len, const char **name)
{
	const char *slash = strrchr(path, '/');

	if (path[0] != '/' || slash == NULL || slash[1] == '\0' ||
	    (size_t)(slash - path) + 1 >= len) {
		errno = EINVAL;
		return -1;
	}
	if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
	*name = slash + 1;
	return 0;
}

/* The root, then rel below it: a directory (want S_IFDIR) or an entry. */
static int
trust_open_below(const char *root, const char *rel, mode_t want, int flags,
    struct trust_failure *f)
{
	int rootfd = trust_open_root(root, f);
	if (rootfd < 0)
		return -1;
	int fd = want == S_IFDIR ? trust_walk_dir(rootfd, root, rel, flags, f) :
	    trust_walk_entry(rootfd, root, rel, want, f);
	close_keeping_errno(rootfd);
	return fd;
}

int
trust_open_dir(const char *root, const char *rel, int flags,
    struct trust_failure *f)
{
	return trust_open_below(root, rel, S_IFDIR, flags, f);
}

int
trust_open_entry(const char *root, const char *rel, mode_t type,
    struct trust_failure *f)
{
	return trust_open_below(root, rel, type, 0, f);
}

int
trust_exists(const char *root, const char *rel, struct trust_failure *f)
{
	int rootfd = trust_open_root(root, f);
	if (rootfd < 0)
		return -1;
	int fd = trust_walk(rootfd, root, rel, 0, false, f);
	close_keeping_errno(rootfd);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return f->reason == TRUST_MISSING ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* The engine socket's peer */

bool
trust_peer_is_root(int fd, uid_t *uid, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof cred;

	*uid = (uid_t)-1;
	*pid = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	if (len != sizeof cred) {
		errno = EPROTO;
		return false;
	}
	*uid = cred.uid;
	*pid = cred.pid;
	return cred.uid == 0;
}

void
trust_peer_format(const char *path, uid_t uid, pid_t pid, char *buf,
    size_t len)
{
	char p[TEXT_ESCAPE_SIZE(PATH_MAX)], who[48];

	text_escape(path, p, sizeof p);
	if (uid == (uid_t)-1) {
		snprintf(buf, len, "%s: cannot tell who serves it (SO_PEERCRED "
		    "failed); not using it", p);
		return;
	}
	if (pid > 0)
		snprintf(who, sizeof who, "pid %ld", (long)pid);
	else
		snprintf(who, sizeof who, "a pid not visible here");
	if (uid == 0)
		snprintf(buf, len, "%s is served by root (%s)", p, who);
	else
		snprintf(buf, len, "%s is served by uid %u (%s), not root: an "
		    "ordinary user is listening there; not using it. Remove it "
		    "(sudo rm -f %s) and restart Docker Desktop", p,
		    (unsigned)uid, who, p);
}

int
trust_connect_fd(int sockfd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d", sockfd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		close_keeping_errno(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------------ */
/* Mounting and unmounting by descriptor */

int
trust_mount_identity(int fd, struct trust_mount_id *id)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || trust_mnt_id(fd, &id->mnt_id) < 0)
		return -1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

int
trust_mount_fd(int srcfd, int targetfd, int flags, struct trust_mount_id *id)
{
	unsigned rec = (flags & TRUST_MOUNT_RECURSIVE) != 0 ? AT_RECURSIVE : 0;
	int tree = (int)syscall(SYS_open_tree, srcfd, "", OPEN_TREE_CLONE |
	    OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);

	if (tree < 0)
		return -1;
	if ((flags & TRUST_MOUNT_RDONLY) != 0 &&
	    trust_mount_set_rdonly(tree, flags) < 0)
		goto fail;
	if (syscall(SYS_move_mount, tree, "", targetfd, "",
	    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		goto fail;
	/* Attached, tree now names the new mount's root. */
	if (id != NULL && trust_mount_identity(tree, id) < 0)
		goto fail;
	close(tree);
	return 0;
fail:
	close_keeping_errno(tree);
	return -1;
}

/*
 * Make the mount whose root fd refers to read-only or writable again
 * (TRUST_MOUNT_RDONLY set or not), its sub-mounts too with
 * TRUST_MOUNT_RECURSIVE: mount_setattr, by descriptor.
 */
int
trust_mount_set_rdonly(int fd, int flags)
{
	unsigned rec = (flags & TRUST_MOUNT_RECURSIVE) != 0 ? AT_RECURSIVE : 0;
	struct trust_mount_attr attr = { 0 };

	if ((flags & TRUST_MOUNT_RDONLY) != 0)
		attr.attr_set = MOUNT_ATTR_RDONLY;
	else
		attr.attr_clr = MOUNT_ATTR_RDONLY;
	return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | rec,
	    &attr, sizeof attr);
}

/*
 * The race left: between the identity check and umount2 the name is
 * looked up twice.  Because parentfd is root-owned and not writable by
 * group or others (trust_walk_dir), and mounting needs CAP_SYS_ADMIN in
 * the namespaces of the shared tree, only root (trusted) can rename the
 * entry or mount over it in between; the window is two system calls.
 * The lookup itself goes through the descriptor (/proc/self/fd), not
 * through the names above it.
 */
int
trust_umount_checked(int parentfd, const char *name,
    const struct trust_mount_id *expect)
{
	char path[64 + NAME_MAX];
	struct trust_mount_id now;

	if (name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strlen(name) > NAME_MAX) {
		errno = EINVAL;
		return -1;
	}
	int fd = openat(parentfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int root = trust_is_mount_root(fd);
	int rc = root < 0 ? -1 : trust_mount_identity(fd, &now);
	int saved = errno;
	close(fd);
	if (rc < 0) {
		errno = saved;
		return -1;
	}
	if (root == 0 || now.dev != expect->dev || now.ino != expect->ino ||
	    (expect->mnt_id != 0 && now.mnt_id != expect->mnt_id)) {
		errno = ESTALE;
		return -1;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d/%s", parentfd, name);
	return umount2(path, UMOUNT_NOFOLLOW | MNT_DETACH);
}

/* ------------------------------------------------------------------ */
