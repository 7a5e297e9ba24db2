/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trust.c: what the agent may believe about the shared /mnt/wsl tree.
 *
 * The tree is one tmpfs shared by every distro on the VM; an ordinary user
 * of any of them may create entries in it.  Only what root could have made
 * is trusted: every component below the shared root owned by uid 0, not
 * writable by group or others, not a symlink, walked by descriptor so that
 * what was checked is what gets used.  The shared root itself must be a
 * tmpfs mount point owned by root; it may be world-writable only with the
 * sticky bit (the lab's tmpfs is 1777), which keeps other users from
 * renaming or removing root's entries in it.
 *
 * Owner and mode are whatever a file system reports, and a FUSE file
 * system reports what its server (any user, with allow_other) likes.  So
 * each component must lie on the mount of the directory above it, or be
 * the root of a mount of a kind only root makes: never FUSE, never one
 * whose options carry user_id= (issue 19).  That is decided from the
 * component's mount ID (/proc/self/fdinfo) and the mount table alone,
 * before anything asks the file system: nothing is looked up, stat'ed or
 * opened inside a mount that is not trusted, so a server that never
 * answers cannot hang the agent.
 */
#ifndef WDA_TRUST_H
#define WDA_TRUST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Why a path is not trusted; TRUST_OK when it is. */
enum trust_reason {
	TRUST_OK = 0,
	TRUST_MISSING,		/* a component does not exist */
	TRUST_SYMLINK,		/* a component is a symbolic link */
	TRUST_NOT_DIR,		/* a directory was expected */
	TRUST_WRONG_TYPE,	/* the final entry is not of the expected type */
	TRUST_OWNER,		/* not owned by uid 0 */
	TRUST_WRITABLE,		/* group or others may write to it */
	TRUST_NOT_MOUNT,	/* must be a mount point and is not */
	TRUST_FOREIGN_MOUNT,	/* a mount of a kind any user can make (FUSE) */
	TRUST_IO,		/* could not be checked: err says why */
};

/* The first component that failed, and what it looked like. */
struct trust_failure {
	enum trust_reason reason;
	char	path[PATH_MAX];	/* in full, root included */
	bool	have_stat;	/* uid and mode are known */
	uid_t	uid;
	mode_t	mode;		/* st_mode: type and permission bits */
	mode_t	want;		/* the expected type: S_IFDIR, S_IFREG... */
	int	err;		/* errno, for TRUST_IO */
	char	fstype[32];	/* TRUST_FOREIGN_MOUNT: the mount's type */
	long	mount_user;	/* ... and its user_id=, or -1 */
};

/*
 * May a mount of this kind hold what the agent trusts?  Not FUSE (fuse,
 * fuseblk, fuse.*) and not any mount whose options carry user_id= (what
 * fusermount gives the mounts ordinary users make): their owners and modes
 * are their server's word.  *user_id gets the user_id= value, or -1.
 */
bool	trust_mount_kind_ok(const char *fstype, const char *super_opts,
	    long *user_id);
/* One mount as the mount table (mountinfo) tells it. */
struct trust_mount_kind {
	char	fstype[32];
	long	user_id;	/* its user_id= option, or -1 */
	bool	trusted;	/* trust_mount_kind_ok() */
};
/*
 * Look mount mnt_id up in mountinfo (NULL: /proc/self/mountinfo): 0, or
 * -1 and errno (ENOENT: no such mount).  Reads only the table: nothing
 * asks the mount's file system.
 */
int	trust_mount_kind(const char *mountinfo, uint64_t mnt_id,
	    struct trust_mount_kind *k);

/* Flags of trust_open_dir and trust_walk_dir. */
#define TRUST_MOUNT_POINT 0x1	/* the final directory must be a mount root */
#define TRUST_READ	  0x2	/* return it O_RDONLY (for readdir), not O_PATH */
/*
 * Any owner and mode (watch.c follows what a user made too, to see it
 * change): only the mounts and the symlinks are checked, and every
 * component must still be a directory.
 */
#define TRUST_ANY_OWNER	  0x4

/*
 * Open the shared root (absolute) as an O_PATH descriptor after checking it
 * is a root-owned tmpfs mount point, writable by others only with the
 * sticky bit.  -1 and *f on failure.
 */
int	trust_open_root(const char *root, struct trust_failure *f);
/*
 * Walk rel ("docker-desktop/cli-tools/usr/bin") below a trusted directory
 * dirfd, whose path dirpath names it in messages.  Each component is opened
 * with O_NOFOLLOW, fstat'd and checked; the final directory's descriptor
 * (close-on-exec, O_PATH unless TRUST_READ) is returned, the caller's to
 * close, and f->path names it.  On failure -1, *f, and errno EPERM for a
 * refusal (the system's errno for TRUST_IO).  "." and ".." are refused (TRUST_IO, EINVAL).
 */
int	trust_walk_dir(int dirfd, const char *dirpath, const char *rel,
	    int flags, struct trust_failure *f);
/*
 * The same for a final entry that is not a directory (type S_IFREG for a
 * file to execute, S_IFSOCK for the engine socket): an O_PATH|O_NOFOLLOW
 * descriptor, checked like the directories above it (but a socket may be
 * group or other writable: that lets others connect, not replace it; its
 * directory decides who may).  It serves fexecve,
 * fstat, and mounting by descriptor; it is never opened for reading, so a
 * planted FIFO or device has no effect.
 */
int	trust_walk_entry(int dirfd, const char *dirpath, const char *rel,
	    mode_t type, struct trust_failure *f);
/*
 * An absolute path split into its directory (written to dir) and its last
 * component (*name, pointing into path): desktop_dir into the shared root
 * and "docker-desktop".  -1 EINVAL for "/", a relative path, or one whose
 * directory does not fit.
 */
int	trust_split(const char *path, char *dir, size_t len, const char **name);
/* trust_open_root then trust_walk_dir / trust_walk_entry. */
int	trust_open_dir(const char *root, const char *rel, int flags,
	    struct trust_failure *f);
int	trust_open_entry(const char *root, const char *rel, mode_t type,
	    struct trust_failure *f);

/*
 * Is something at rel below the trusted root?  1 yes (whatever it is, or
 * something other than a directory in the way), 0 a component is missing,
 * -1 and *f when the root is not trusted or the walk stopped at a mount
 * it may not enter (so it cannot tell).  Owners and modes are not
 * checked: trust_open_dir/entry decide trust.  Never a lookup by path, so
 * unlike stat(2) it cannot hang in a FUSE mount.
 */
int	trust_exists(const char *root, const char *rel, struct trust_failure *f);

/* One line naming the path, its owner, the reason and the fix. */
void	trust_failure_format(const struct trust_failure *f, char *buf,
	    size_t len);
const char *trust_reason_name(enum trust_reason);	/* "owner not root" */

/*
 * Is fd the root of a mount?  1 yes, 0 no, -1 and errno.  statx's
 * STATX_ATTR_MOUNT_ROOT (kernel 5.8) answers; before it, a mount id other
 * than the parent's (from /proc/self/fdinfo) does.  st_dev is not used: a
 * bind mount from the same file system keeps it.
 */
int	trust_is_mount_root(int fd);
/* The mount id of fd: statx STATX_MNT_ID, else /proc/self/fdinfo. */
int	trust_mnt_id(int fd, uint64_t *id);
/* The /proc/self/fdinfo way alone (kernel 3.15); for the test of both. */
int	trust_fdinfo_mnt_id(int fd, uint64_t *id);

/*
 * The engine socket: after connect(), its peer (the process that listened)
 * must be uid 0.  *uid and *pid say who it was ((uid_t)-1 when
 * SO_PEERCRED failed; pid 0 when the peer is in a pid namespace not
 * visible here).
 */
bool	trust_peer_is_root(int fd, uid_t *uid, pid_t *pid);
void	trust_peer_format(const char *path, uid_t uid, pid_t pid, char *buf,
	    size_t len);
/*
 * Connect to exactly the socket an O_PATH descriptor (trust_walk_entry)
 * refers to, through /proc/self/fd, whatever the names above it became:
 * a blocking, close-on-exec stream socket, or -1 and errno.
 */
int	trust_connect_fd(int sockfd);

/*
 * Mounting by descriptor (open_tree + move_mount, kernel 5.2): a clone of
 * what srcfd refers to (an O_PATH directory, file or socket) is attached
 * onto what targetfd refers to, never looked up by a path another distro
 * could change.  TRUST_MOUNT_RDONLY makes the clone read-only before it is
 * attached (mount_setattr, kernel 5.12; ENOSYS before).  *id, when not
 * NULL, receives the new mount's identity for trust_umount_checked.
 */
#define TRUST_MOUNT_RDONLY	0x1
#define TRUST_MOUNT_RECURSIVE	0x2	/* the sub-mounts too (an rbind) */

struct trust_mount_id {
	uint64_t mnt_id;	/* 0: not compared (not known) */
	dev_t	dev;		/* of the mounted root */
	ino_t	ino;
};

int	trust_mount_fd(int srcfd, int targetfd, int flags,
	    struct trust_mount_id *id);
/* The identity of the mount whose root fd refers to. */
int	trust_mount_identity(int fd, struct trust_mount_id *id);
/*
 * The mount whose root fd refers to made read-only (TRUST_MOUNT_RDONLY in
 * flags) or writable (not), with its sub-mounts for TRUST_MOUNT_RECURSIVE.
 */
int	trust_mount_set_rdonly(int fd, int flags);
/*
 * Unmount parentfd/name (one component) after checking that it is the root
 * of the expected mount: UMOUNT_NOFOLLOW|MNT_DETACH through
 * /proc/self/fd/<parentfd>/<name>.  parentfd must be a trusted directory
 * (from trust_walk_dir): then only root can change what name resolves to
 * between the check and the unmount.  -1 and errno: ESTALE when another
 * mount (or none) is there.
 */
int	trust_umount_checked(int parentfd, const char *name,
	    const struct trust_mount_id *expect);

#endif
