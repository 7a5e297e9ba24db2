/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The trust primitives on real trees: each test runs in its own process
 * (Criterion forks), enters a private mount namespace and mounts a tmpfs at
 * 1777 that plays the shared /mnt/wsl, so nothing it mounts leaks to the
 * machine.  The tests run as root, as the agent does; "an ordinary user"
 * is uid 1000, by chown or by a child that setuid()s.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/text.h"
#include "sys/trust.h"
#include "testlib.h"

#define USER_UID 1000
#define BIN	 "docker-desktop/cli-tools/usr/bin"
#define SOCK	 "docker-desktop/shared-sockets/guest-services/docker.proxy.sock"

static char root[PATH_MAX];
static struct trust_failure f;

static const char *
at(const char *rel)
{
	static char paths[4][PATH_MAX * 2];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, sizeof paths[0], "%s/%s", root, rel);
	return p;
}

static void
put_dir(const char *rel, mode_t mode, uid_t uid)
{
	put_dir_as(root, rel, mode, uid);
}

static void
put_file(const char *rel, mode_t mode, uid_t uid, const char *text)
{
	const char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert(ge(int, fd, 0), "create %s: %s", p, strerror(errno));
	cr_assert(eq(sz, (size_t)write(fd, text, strlen(text)), strlen(text)));
	close(fd);
	cr_assert(eq(int, chmod(p, mode), 0));
	cr_assert(eq(int, chown(p, uid, 0), 0));
}

static void
mount_tmpfs(const char *path, const char *opts)
{
	cr_assert(eq(int, mount("wda-test", path, "tmpfs", 0, opts), 0),
	    "mount tmpfs on %s: %s", path, strerror(errno));
}

/* The open descriptors of this process, to show nothing leaks. */
static int
open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* Docker Desktop's tree as root makes it, cli-tools a mount of its own. */
static void
setup(void)
{
	cr_assert(eq(int, unshare(CLONE_NEWNS), 0), "unshare: %s",
	    strerror(errno));
	cr_assert(eq(int, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0));
	snprintf(root, sizeof root, "/tmp/wda-trust-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	mount_tmpfs(root, "mode=1777");
	put_dir("docker-desktop", 0755, 0);
	put_dir("docker-desktop/cli-tools", 0755, 0);
	mount_tmpfs(at("docker-desktop/cli-tools"), "mode=755");
	put_dir("docker-desktop/cli-tools/usr", 0755, 0);
	put_dir(BIN, 0755, 0);
	put_file(BIN "/docker", 0755, 0, "the real docker");
	put_dir("docker-desktop/shared-sockets", 0755, 0);
	put_dir("docker-desktop/shared-sockets/guest-services", 0755, 0);
	memset(&f, 0, sizeof f);
}

static void
teardown(void)
{
	umount2(root, MNT_DETACH);
	rmdir(root);
}

/* The walk fails with reason r at rel's component at_rel. */
static void
assert_refused(int fd, enum trust_reason r, const char *at_rel)
{
	cr_assert(eq(int, fd, -1), "trusted, expected %s", trust_reason_name(r));
	cr_assert(eq(int, (int)f.reason, (int)r), "reason %s, expected %s",
	    trust_reason_name(f.reason), trust_reason_name(r));
	cr_assert(eq(str, f.path, (char *)at(at_rel)));
}

static void
same_inode(int fd, const char *path)
{
	struct stat a, b;
	cr_assert(eq(int, fstat(fd, &a), 0));
	cr_assert(eq(int, stat(path, &b), 0));
	cr_assert(a.st_dev == b.st_dev && a.st_ino == b.st_ino,
	    "descriptor is not %s", path);
}

TestSuite(trust, .init = setup, .fini = teardown);

Test(trust, root_owned_path_is_trusted)
{
	int before = open_fds();
	int fd = trust_open_dir(root, BIN, 0, &f);
	cr_assert(ge(int, fd, 0), "refused: %s", trust_reason_name(f.reason));
	same_inode(fd, at(BIN));
	cr_assert(ne(int, fcntl(fd, F_GETFD) & FD_CLOEXEC, 0));
	cr_assert(ne(int, fcntl(fd, F_GETFL) & O_PATH, 0));
	close(fd);
	cr_assert(eq(int, open_fds(), before), "the walk leaked descriptors");

	/* TRUST_READ: a descriptor readdir can use. */
	fd = trust_open_dir(root, "/" BIN "/", TRUST_READ, &f);
	cr_assert(ge(int, fd, 0));
	DIR *d = fdopendir(fd);
	cr_assert_not_null(d);
	bool seen = false;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		seen = seen || strcmp(e->d_name, "docker") == 0;
	closedir(d);
	cr_assert(seen, "readdir through the descriptor missed docker");
}

Test(trust, cli_tools_must_be_a_mount_point)
{
	int fd = trust_open_dir(root, "docker-desktop/cli-tools",
	    TRUST_MOUNT_POINT, &f);
	cr_assert(ge(int, fd, 0), "refused: %s", trust_reason_name(f.reason));
	close(fd);
	assert_refused(trust_open_dir(root, "docker-desktop/cli-tools/usr",
	    TRUST_MOUNT_POINT, &f), TRUST_NOT_MOUNT, "docker-desktop/cli-tools/usr");
	cr_assert(f.have_stat && f.uid == 0);
}

Test(trust, component_owned_by_a_user_is_refused)
{
	cr_assert(eq(int, chown(at("docker-desktop/cli-tools/usr"), USER_UID,
	    USER_UID), 0));
	int before = open_fds();
	assert_refused(trust_open_dir(root, BIN, 0, &f), TRUST_OWNER,
	    "docker-desktop/cli-tools/usr");
	cr_assert(eq(int, open_fds(), before), "a failed walk leaked descriptors");
	cr_assert(f.have_stat && f.uid == USER_UID);
	cr_assert(eq(int, errno, EPERM));

	char line[2 * PATH_MAX], want[2 * PATH_MAX];
	trust_failure_format(&f, line, sizeof line);
	snprintf(want, sizeof want, "%s is owned by uid 1000, not root: an "
	    "ordinary user made it; remove it (sudo rm -rf %s) and restart "
	    "Docker Desktop", f.path, f.path);
	cr_assert(eq(str, line, want));
}

Test(trust, group_or_other_writable_component_is_refused)
{
	cr_assert(eq(int, chmod(at("docker-desktop"), 0775), 0));
	assert_refused(trust_open_dir(root, BIN, 0, &f), TRUST_WRITABLE,
	    "docker-desktop");
	cr_assert(eq(int, (int)(f.mode & 07777), 0775));
	cr_assert(eq(int, chmod(at("docker-desktop"), 01757), 0));
	assert_refused(trust_open_dir(root, BIN, 0, &f), TRUST_WRITABLE,
	    "docker-desktop");	/* the sticky bit excuses only the root */
	char line[2 * PATH_MAX];
	trust_failure_format(&f, line, sizeof line);
	cr_assert(not(eq(ptr, strstr(line, "writable by group or others (mode "
	    "1757, owner uid 0)"), NULL)), "%s", line);
}

Test(trust, symlink_component_is_refused)
{
	/* Another good tree, reached through a link a user planted. */
	put_dir("elsewhere", 0755, 0);
	cr_assert(eq(int, rename(at("docker-desktop"), at("elsewhere/dd")), 0));
	cr_assert(eq(int, symlink("elsewhere/dd", at("docker-desktop")), 0));
	cr_assert(eq(int, lchown(at("docker-desktop"), USER_UID, USER_UID), 0));
	assert_refused(trust_open_dir(root, BIN, 0, &f), TRUST_SYMLINK,
	    "docker-desktop");
	cr_assert(f.have_stat && f.uid == USER_UID);
	char line[2 * PATH_MAX];
	trust_failure_format(&f, line, sizeof line);
	cr_assert(not(eq(ptr, strstr(line, "is a symbolic link owned by uid "
	    "1000"), NULL)), "%s", line);
}

Test(trust, file_where_a_directory_is_expected_is_refused)
{
	cr_assert(eq(int, unlink(at(BIN "/docker")), 0));
	cr_assert(eq(int, rmdir(at(BIN)), 0));
	put_file(BIN, 0755, 0, "not a directory");
	assert_refused(trust_open_dir(root, BIN, 0, &f), TRUST_NOT_DIR, BIN);
	cr_assert(eq(int, (int)(f.mode & S_IFMT), S_IFREG));
	assert_refused(trust_open_entry(root, BIN "/docker", S_IFREG, &f),
	    TRUST_NOT_DIR, BIN);
}

Test(trust, missing_component_is_reported)
{
	assert_refused(trust_open_dir(root, "docker-desktop/cli-tools/usr/sbin/x",
	    0, &f), TRUST_MISSING, "docker-desktop/cli-tools/usr/sbin");
	cr_assert(eq(int, f.have_stat, false));
	cr_assert(eq(int, f.err, ENOENT));
	char line[2 * PATH_MAX];
	trust_failure_format(&f, line, sizeof line);
	cr_assert(not(eq(ptr, strstr(line, "does not exist"), NULL)), "%s", line);
}

Test(trust, dot_and_dotdot_are_refused)
{
	assert_refused(trust_open_dir(root, "docker-desktop/../docker-desktop",
	    0, &f), TRUST_IO, "docker-desktop");
	cr_assert(eq(int, f.err, EINVAL));
	cr_assert(eq(int, trust_open_dir(root, "", 0, &f), -1));
	cr_assert(eq(int, trust_open_dir("relative/root", BIN, 0, &f), -1));
	cr_assert(eq(int, f.err, EINVAL));
}

/* The directory swapped between check and use: the descriptor keeps the
 * checked one, a path would now reach the planted one. */
Test(trust, directory_swapped_after_the_walk_is_not_used)
{
	int fd = trust_open_dir(root, BIN, 0, &f);
	cr_assert(ge(int, fd, 0));
	cr_assert(eq(int, rename(at(BIN), at("docker-desktop/cli-tools/old")), 0));
	put_dir(BIN, 0777, USER_UID);
	put_file(BIN "/docker", 0755, USER_UID, "planted");

	char text[32] = "";
	int tool = openat(fd, "docker", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	cr_assert(ge(int, tool, 0));
	cr_assert(gt(int, (int)read(tool, text, sizeof text - 1), 0));
	close(tool);
	cr_assert(eq(str, text, "the real docker"));
	same_inode(fd, at("docker-desktop/cli-tools/old"));
	close(fd);
	/* And walking again now refuses the planted directory. */
	assert_refused(trust_open_dir(root, BIN, 0, &f), TRUST_OWNER, BIN);
}

Test(trust, final_entries_are_checked_like_directories)
{
	int fd = trust_open_entry(root, BIN "/docker", S_IFREG, &f);
	cr_assert(ge(int, fd, 0), "refused: %s", trust_reason_name(f.reason));
	cr_assert(ne(int, fcntl(fd, F_GETFL) & O_PATH, 0));
	same_inode(fd, at(BIN "/docker"));
	close(fd);

	assert_refused(trust_open_entry(root, BIN "/docker", S_IFSOCK, &f),
	    TRUST_WRONG_TYPE, BIN "/docker");
	char line[2 * PATH_MAX];
	trust_failure_format(&f, line, sizeof line);
	cr_assert(not(eq(ptr, strstr(line, "is a regular file owned by uid 0, "
	    "not a socket"), NULL)), "%s", line);

	cr_assert(eq(int, chmod(at(BIN "/docker"), 0775), 0));
	assert_refused(trust_open_entry(root, BIN "/docker", S_IFREG, &f),
	    TRUST_WRITABLE, BIN "/docker");
	cr_assert(eq(int, chmod(at(BIN "/docker"), 0755), 0));
	cr_assert(eq(int, chown(at(BIN "/docker"), USER_UID, 0), 0));
	assert_refused(trust_open_entry(root, BIN "/docker", S_IFREG, &f),
	    TRUST_OWNER, BIN "/docker");

	cr_assert(eq(int, symlink("/bin/sh", at(BIN "/sh")), 0));
	assert_refused(trust_open_entry(root, BIN "/sh", S_IFREG, &f),
	    TRUST_SYMLINK, BIN "/sh");
}

/* The shim's use: execute exactly the file that was checked. */
Test(trust, checked_entry_is_executed_by_descriptor)
{
	int in = open("/bin/true", O_RDONLY | O_CLOEXEC);
	cr_assert(ge(int, in, 0));
	put_file(BIN "/true", 0755, 0, "");
	int out = open(at(BIN "/true"), O_WRONLY | O_CLOEXEC);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		cr_assert(eq(sz, (size_t)write(out, buf, (size_t)n), (size_t)n));
	close(in);
	close(out);
	int fd = trust_open_entry(root, BIN "/true", S_IFREG, &f);
	cr_assert(ge(int, fd, 0));
	/* Replaced after the check: the descriptor still runs the original. */
	cr_assert(eq(int, unlink(at(BIN "/true")), 0));
	put_file(BIN "/true", 0755, 0, "#!/bin/sh\nexit 7\n");
	pid_t pid = fork();
	cr_assert(ge(int, pid, 0));
	if (pid == 0) {
		char *argv[] = { "true", NULL }, *envp[] = { NULL };
		fexecve(fd, argv, envp);
		_exit(127);
	}
	int st;
	cr_assert(eq(int, waitpid(pid, &st, 0), pid));
	cr_assert(eq(int, st, 0), "exit status %d", st);
	close(fd);
}

Test(trust, engine_socket_entry)
{
	int lfd = unix_listen(at(SOCK), 4);
	cr_assert(eq(int, chmod(at(SOCK), 0660), 0));	/* root:docker 0660 */
	int fd = trust_open_entry(root, SOCK, S_IFSOCK, &f);
	cr_assert(ge(int, fd, 0), "refused: %s", trust_reason_name(f.reason));
	same_inode(fd, at(SOCK));

	/* Renamed away and replaced after the check: the descriptor still
	 * reaches the checked socket, and its peer is root. */
	cr_assert(eq(int, rename(at(SOCK), at("moved.sock")), 0));
	int fake = unix_listen(at(SOCK), 4);
	int c = trust_connect_fd(fd);
	cr_assert(ge(int, c, 0), "connect: %s", strerror(errno));
	uid_t uid;
	pid_t pid;
	cr_assert(trust_peer_is_root(c, &uid, &pid));
	int s = accept_within(lfd, 5000);
	close(s);
	close(c);
	close(fake);
	close(fd);
	cr_assert(eq(int, unlink(at(SOCK)), 0));
	cr_assert(eq(int, rename(at("moved.sock"), at(SOCK)), 0));
	cr_assert(eq(int, chown(at(SOCK), USER_UID, 0), 0));
	assert_refused(trust_open_entry(root, SOCK, S_IFSOCK, &f), TRUST_OWNER,
	    SOCK);
	close(lfd);
}

Test(trust, shared_root_rules)
{
	int fd = trust_open_root(root, &f);	/* tmpfs, root, 1777 */
	cr_assert(ge(int, fd, 0), "refused: %s", trust_reason_name(f.reason));
	close(fd);

	cr_assert(eq(int, chmod(root, 0777), 0));
	cr_assert(eq(int, trust_open_root(root, &f), -1));
	cr_assert(eq(int, (int)f.reason, (int)TRUST_WRITABLE));
	cr_assert(eq(int, chmod(root, 0755), 0));
	cr_assert(eq(int, chown(root, USER_UID, 0), 0));
	cr_assert(eq(int, trust_open_root(root, &f), -1));
	cr_assert(eq(int, (int)f.reason, (int)TRUST_OWNER));
	cr_assert(eq(int, chown(root, 0, 0), 0));

	/* A directory of the same file system is not a mount point. */
	cr_assert(eq(int, trust_open_root(at("docker-desktop"), &f), -1));
	cr_assert(eq(int, (int)f.reason, (int)TRUST_NOT_MOUNT));
	cr_assert(eq(str, f.path, (char *)at("docker-desktop")));
	cr_assert(eq(int, symlink("docker-desktop/cli-tools", at("link")), 0));
	cr_assert(eq(int, trust_open_root(at("link"), &f), -1));
	cr_assert(eq(int, (int)f.reason, (int)TRUST_SYMLINK));
}

Test(trust, mount_root_and_mount_ids)
{
	int cli = open(at("docker-desktop/cli-tools"), O_PATH | O_CLOEXEC);
	int usr = open(at("docker-desktop/cli-tools/usr"), O_PATH | O_CLOEXEC);
	int dd = open(at("docker-desktop"), O_PATH | O_CLOEXEC);
	cr_assert(cli >= 0 && usr >= 0 && dd >= 0);
	cr_assert(eq(int, trust_is_mount_root(cli), 1));
	cr_assert(eq(int, trust_is_mount_root(usr), 0));
	cr_assert(eq(int, trust_is_mount_root(dd), 0));

	uint64_t a, b, c;
	cr_assert(eq(int, trust_mnt_id(cli, &a), 0));
	cr_assert(eq(int, trust_fdinfo_mnt_id(cli, &b), 0));
	cr_assert(eq(u64, a, b), "statx and fdinfo disagree");
	cr_assert(eq(int, trust_mnt_id(usr, &c), 0));
	cr_assert(eq(u64, a, c));
	cr_assert(eq(int, trust_mnt_id(dd, &c), 0));
	cr_assert(ne(u64, a, c));
	close(cli);
	close(usr);
	close(dd);
}

/* ------------------------------------------------------------------ */
/* The peer check */

Test(trust, root_peer_is_trusted)
{
	int sv[2];
	uid_t uid;
	pid_t pid;
	cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0));
	cr_assert(trust_peer_is_root(sv[0], &uid, &pid));
	cr_assert(eq(u32, uid, 0));
	cr_assert(eq(int, pid, getpid()));
	close(sv[0]);
	close(sv[1]);

	int lfd = unix_listen(at("engine.sock"), 4);
	int c = unix_connect(at("engine.sock"));
	cr_assert(trust_peer_is_root(c, &uid, &pid));
	int s = accept_within(lfd, 5000);
	cr_assert(trust_peer_is_root(s, &uid, &pid));
	close(s);
	close(c);
	close(lfd);
}

/*
 * A child that becomes uid 1000 and then listens (a fake engine) or
 * connects (a client): the root side sees uid 1000 and the child's pid.
 * ready is written once the child's socket is set up; the child waits for
 * done to close before it exits.
 */
static pid_t
user_child(bool listens, int *ready, int *done)
{
	int r[2], d[2];
	cr_assert(eq(int, pipe2(r, O_CLOEXEC), 0));
	cr_assert(eq(int, pipe2(d, O_CLOEXEC), 0));
	pid_t pid = fork();
	cr_assert(ge(int, pid, 0));
	if (pid == 0) {
		char c = 0;
		close(r[0]);
		close(d[1]);
		if (setgid(USER_UID) < 0 || setuid(USER_UID) < 0)
			_exit(2);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		snprintf(a.sun_path, sizeof a.sun_path, "%s",
		    at(listens ? "fake.sock" : "engine.sock"));
		if (fd < 0 || (listens ? bind(fd, (struct sockaddr *)&a, sizeof a)
		    < 0 || listen(fd, 4) < 0 : connect(fd, (struct sockaddr *)&a,
		    sizeof a) < 0))
			_exit(3);
		if (write(r[1], &c, 1) != 1)
			_exit(4);
		while (read(d[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(r[1]);
	close(d[0]);
	*ready = r[0];
	*done = d[1];
	return pid;
}

static void
child_done(pid_t pid, int ready, int done)
{
	int st;
	close(done);
	close(ready);
	cr_assert(eq(int, waitpid(pid, &st, 0), pid));
	cr_assert(eq(int, st, 0), "child status %d", st);
}

Test(trust, user_listener_is_refused)
{
	int ready, done;
	char c;
	pid_t child = user_child(true, &ready, &done);
	cr_assert(eq(int, (int)read(ready, &c, 1), 1), "the child failed");
	int fd = unix_connect(at("fake.sock"));
	uid_t uid;
	pid_t pid;
	cr_assert(eq(int, trust_peer_is_root(fd, &uid, &pid), false));
	cr_assert(eq(u32, uid, USER_UID));
	cr_assert(eq(int, pid, child));
	char line[2 * PATH_MAX], want[64];
	trust_peer_format(at("fake.sock"), uid, pid, line, sizeof line);
	snprintf(want, sizeof want, "served by uid 1000 (pid %d), not root",
	    (int)child);
	cr_assert(not(eq(ptr, strstr(line, want), NULL)), "%s", line);
	close(fd);
	child_done(child, ready, done);
}

Test(trust, user_client_is_seen_as_a_user)
{
	int lfd = unix_listen(at("engine.sock"), 4);
	cr_assert(eq(int, chmod(at("engine.sock"), 0666), 0));
	int ready, done;
	char c;
	pid_t child = user_child(false, &ready, &done);
	cr_assert(eq(int, (int)read(ready, &c, 1), 1), "the child failed");
	int s = accept_within(lfd, 5000);
	uid_t uid;
	pid_t pid;
	cr_assert(eq(int, trust_peer_is_root(s, &uid, &pid), false));
	cr_assert(eq(u32, uid, USER_UID));
	cr_assert(eq(int, pid, child));
	close(s);
	close(lfd);
	child_done(child, ready, done);
}

Test(trust, peer_check_on_a_non_socket_fails_closed)
{
	uid_t uid;
	pid_t pid;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert(eq(int, trust_peer_is_root(fd, &uid, &pid), false));
	cr_assert(eq(u32, uid, (uid_t)-1));
	close(fd);
	char line[256];
	trust_peer_format("/x.sock", uid, pid, line, sizeof line);
	cr_assert(eq(str, line, "/x.sock: cannot tell who serves it "
	    "(SO_PEERCRED failed); not using it"));
}

/* ------------------------------------------------------------------ */
/* Mounts by descriptor */

static int
opath(const char *rel)
{
	int fd = open(at(rel), O_PATH | O_NOFOLLOW | O_CLOEXEC);
	cr_assert(ge(int, fd, 0), "open %s: %s", rel, strerror(errno));
	return fd;
}

/* A source directory and a target to mount it on, as O_PATH descriptors. */
static void
src_and_target(int *src, int *tgt)
{
	put_dir("src", 0755, 0);
	put_file("src/hello", 0644, 0, "hi");
	put_dir("target", 0755, 0);
	*src = opath("src");
	*tgt = opath("target");
}

Test(trust, bind_mount_by_descriptor)
{
	int src, tgt;
	src_and_target(&src, &tgt);
	struct trust_mount_id id;
	cr_assert(eq(int, trust_mount_fd(src, tgt, 0, &id), 0), "mount: %s",
	    strerror(errno));
	struct stat st;
	cr_assert(eq(int, stat(at("target/hello"), &st), 0));
	cr_assert(eq(int, mkdir(at("target/made"), 0755), 0));
	cr_assert(eq(int, stat(at("src/made"), &st), 0), "not a bind of src");

	int now = opath("target");
	struct trust_mount_id seen;
	cr_assert(eq(int, trust_is_mount_root(now), 1));
	cr_assert(eq(int, trust_mount_identity(now, &seen), 0));
	cr_assert(seen.mnt_id == id.mnt_id && seen.dev == id.dev &&
	    seen.ino == id.ino);
	close(now);
	close(src);
	close(tgt);
}

Test(trust, read_only_bind_mount)
{
	int src, tgt;
	src_and_target(&src, &tgt);
	cr_assert(eq(int, trust_mount_fd(src, tgt, TRUST_MOUNT_RDONLY, NULL), 0),
	    "mount: %s", strerror(errno));
	cr_assert(eq(int, mkdir(at("target/x"), 0755), -1));
	cr_assert(eq(int, errno, EROFS));
	cr_assert(eq(int, mkdir(at("src/x"), 0755), 0), "the source went RO");
	close(src);
	close(tgt);
}

/* Mount mode: the engine socket mounted over socket.path, by descriptor. */
Test(trust, socket_mounted_by_descriptor)
{
	int lfd = unix_listen(at(SOCK), 4);
	int sock = trust_open_entry(root, SOCK, S_IFSOCK, &f);
	cr_assert(ge(int, sock, 0));
	put_file("docker.sock", 0600, 0, "");
	int tgt = opath("docker.sock");
	cr_assert(eq(int, trust_mount_fd(sock, tgt, 0, NULL), 0), "mount: %s",
	    strerror(errno));
	int c = unix_connect(at("docker.sock"));
	int s = accept_within(lfd, 5000);
	write_all(c, "ping", 4);
	char buf[4];
	read_exactly(s, buf, 4, 5000);
	cr_assert(eq(int, memcmp(buf, "ping", 4), 0));
	close(s);
	close(c);
	close(tgt);
	close(sock);
	close(lfd);
}

Test(trust, unmount_only_the_expected_mount)
{
	int src, tgt, parent = opath(".");
	src_and_target(&src, &tgt);
	struct trust_mount_id id, wrong;
	cr_assert(eq(int, trust_mount_fd(src, tgt, 0, &id), 0));

	wrong = id;
	wrong.ino++;
	cr_assert(eq(int, trust_umount_checked(parent, "target", &wrong), -1));
	cr_assert(eq(int, errno, ESTALE));
	wrong = id;
	wrong.mnt_id++;
	cr_assert(eq(int, trust_umount_checked(parent, "target", &wrong), -1));
	cr_assert(eq(int, errno, ESTALE));
	/* A link to the mount is not the mount. */
	cr_assert(eq(int, symlink("target", at("link")), 0));
	cr_assert(eq(int, trust_umount_checked(parent, "link", &id), -1));
	cr_assert(eq(int, errno, ESTALE));
	cr_assert(eq(int, trust_umount_checked(parent, "a/target", &id), -1));
	cr_assert(eq(int, errno, EINVAL));
	int now = opath("target");
	cr_assert(eq(int, trust_is_mount_root(now), 1), "unmounted anyway");
	close(now);

	cr_assert(eq(int, trust_umount_checked(parent, "target", &id), 0),
	    "umount: %s", strerror(errno));
	now = opath("target");
	cr_assert(eq(int, trust_is_mount_root(now), 0), "still mounted");
	close(now);
	cr_assert(eq(int, trust_umount_checked(parent, "target", &id), -1));
	cr_assert(eq(int, errno, ESTALE));
	close(parent);
	close(src);
	close(tgt);
}

/* ------------------------------------------------------------------ */
/* Escaping */

static void
escapes_to(const char *in, const char *want)
{
	char out[256];
	size_t n = text_escape(in, out, sizeof out);
	cr_assert(eq(str, out, (char *)want));
	cr_assert(eq(sz, n, strlen(want)));
}

Test(escape, control_characters_and_invalid_utf8)
{
	escapes_to("plain /mnt/wsl path", "plain /mnt/wsl path");
	escapes_to("\x1b[31mred", "\\x1b[31mred");
	escapes_to("a\nb\tc\r\x7f", "a\\x0ab\\x09c\\x0d\\x7f");
	escapes_to("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", "caf\xc3\xa9 "
	    "\xe2\x82\xac \xf0\x9f\x90\xb3");		/* valid UTF-8 kept */
	escapes_to("\xff\xfe", "\\xff\\xfe");
	escapes_to("\xc3", "\\xc3");			/* cut sequence */
	escapes_to("\xc0\xaf", "\\xc0\\xaf");		/* overlong "/" */
	escapes_to("\xed\xa0\x80", "\\xed\\xa0\\x80");	/* a surrogate */
	escapes_to("\xc2\x9b" "2J", "\\xc2\\x9b2J");	/* C1 CSI */
	escapes_to("\xc2\xa0", "\xc2\xa0");		/* U+00A0 is text */
	escapes_to("", "");
}

Test(escape, bounded_output)
{
	char out[8];
	cr_assert(eq(sz, text_escape("abcdefg", out, sizeof out), 7));
	cr_assert(eq(str, out, "abcdefg"));		/* fits exactly */
	cr_assert(eq(sz, text_escape("abcdefgh", out, sizeof out), 7));
	cr_assert(eq(str, out, "abcd..."));
	/* An escape is never cut in half. */
	cr_assert(eq(sz, text_escape("ab\x1b\x1b\x1b", out, sizeof out), 5));
	cr_assert(eq(str, out, "ab..."));
	cr_assert(eq(sz, text_escape("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac",
	    out, sizeof out), 6));
	cr_assert(eq(str, out, "\xe2\x82\xac..."));
	char tiny[3];
	cr_assert(eq(sz, text_escape("abcdef", tiny, sizeof tiny), 2));
	cr_assert(eq(str, tiny, "ab"));
	cr_assert(eq(sz, text_escape("abc", tiny, 0), 0));
}

/* ------------------------------------------------------------------ */
/* Mounts an ordinary user can make (issue 19, finding 1) */

Test(trust, mount_kinds_any_user_can_make_are_refused)
{
	long uid;
	cr_assert(trust_mount_kind_ok("tmpfs", "rw,mode=1777", &uid));
	cr_assert(eq(long, uid, -1));
	cr_assert(trust_mount_kind_ok("iso9660", "ro,nojoliet,check=s,map=n,"
	    "blocksize=2048,iocharset=iso8859-1", &uid));	/* Docker Desktop's cli-tools */
	cr_assert(trust_mount_kind_ok("ext4", "rw,relatime", &uid));
	cr_assert(not(trust_mount_kind_ok("fuse", "rw,user_id=65534,"
	    "group_id=65534,allow_other", &uid)));
	cr_assert(eq(long, uid, 65534));
	cr_assert(not(trust_mount_kind_ok("fuse.sshfs", "rw", &uid)));
	cr_assert(not(trust_mount_kind_ok("fuseblk", "rw,default_permissions",
	    &uid)));
	/* Whatever the type, a mount fusermount made carries user_id=. */
	cr_assert(not(trust_mount_kind_ok("ntfs3", "rw,user_id=1000", &uid)));
	cr_assert(eq(long, uid, 1000));
	cr_assert(not(trust_mount_kind_ok("tmpfs", "rw,user_id=x", &uid)));
	cr_assert(eq(long, uid, -1));
	cr_assert(trust_mount_kind_ok("tmpfs", "rw,xuser_id=1", &uid));
}

Test(trust, the_mount_table_names_a_mount_by_its_id)
{
	const char *mi = at("mountinfo");
	FILE *fp = fopen(mi, "we");
	cr_assert_not_null(fp);
	fputs("431 74 7:0 / /mnt/wsl/docker-desktop/cli-tools ro,relatime "
	    "shared:167 - iso9660 /dev/loop0 ro,nojoliet,check=s,map=n\n"
	    "74 1 0:40 / /mnt/wsl rw,relatime shared:1 - tmpfs none rw\n"
	    "4321 74 0:99 / /mnt/wsl/docker-desktop rw,nosuid,nodev,relatime "
	    "shared:2 - fuse /dev/fuse rw,user_id=65534,group_id=65534,"
	    "allow_other\n", fp);
	fclose(fp);
	struct trust_mount_kind k;
	cr_assert(eq(int, trust_mount_kind(mi, 431, &k), 0));
	cr_assert(eq(str, k.fstype, "iso9660"));
	cr_assert(k.trusted);
	cr_assert(eq(int, trust_mount_kind(mi, 4321, &k), 0));
	cr_assert(eq(str, k.fstype, "fuse"));
	cr_assert(not(k.trusted));
	cr_assert(eq(long, k.user_id, 65534));
	cr_assert(eq(int, trust_mount_kind(mi, 43, &k), -1));
	cr_assert(eq(int, errno, ENOENT));
}

/*
 * A FUSE mount whose server never answers, made as fusermount makes an
 * ordinary user's (user_id=, allow_other, nosuid, nodev).  Nothing ever
 * reads the /dev/fuse descriptor, so the kernel never even gets its INIT
 * answered: any call that reaches the file system (stat, lookup below it,
 * statfs) blocks for good.  Returns the descriptor; closing it aborts the
 * connection.
 */
static int
mount_silent_fuse(const char *path)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	cr_assert(ge(int, fd, 0), "/dev/fuse: %s", strerror(errno));
	char opts[128];
	snprintf(opts, sizeof opts, "fd=%d,rootmode=40755,user_id=%d,"
	    "group_id=%d,allow_other", fd, USER_UID, USER_UID);
	cr_assert(eq(int, mount("/dev/fuse", path, "fuse",
	    MS_NOSUID | MS_NODEV, opts), 0), "mount fuse on %s: %s", path,
	    strerror(errno));
	return fd;
}

/* The attack of issue 19: docker-desktop made by a user, FUSE on it. */
Test(trust, a_fuse_mount_is_never_believed_nor_entered, .timeout = 20)
{
	char *dd = strdup(at("docker-desktop"));
	cr_assert(eq(int, umount2(at("docker-desktop/cli-tools"), MNT_DETACH), 0));
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dd);
	cr_assert(eq(int, system(cmd), 0));
	put_dir("docker-desktop", 0755, USER_UID);
	int fuse = mount_silent_fuse(dd);

	/* Each walk stops at the mount, from its ID and the table alone. */
	int fd = trust_open_dir(root, BIN, 0, &f);
	assert_refused(fd, TRUST_FOREIGN_MOUNT, "docker-desktop");
	cr_assert(eq(str, f.fstype, "fuse"));
	cr_assert(eq(long, f.mount_user, USER_UID));
	fd = trust_open_entry(root, SOCK, S_IFSOCK, &f);
	assert_refused(fd, TRUST_FOREIGN_MOUNT, "docker-desktop");
	fd = trust_open_dir(root, "docker-desktop", TRUST_READ, &f);
	assert_refused(fd, TRUST_FOREIGN_MOUNT, "docker-desktop");

	char line[TEXT_ESCAPE_SIZE(PATH_MAX) + 512];
	trust_failure_format(&f, line, sizeof line);
	cr_assert(not(eq(ptr, strstr(line, "is a fuse mount made by uid 1000"),
	    NULL)), "%s", line);
	cr_assert(not(eq(ptr, strstr(line, "sudo umount -l"), NULL)), "%s", line);

	/* cli-tools a FUSE mount below a tree root made: refused the same. */
	umount2(dd, MNT_DETACH);
	close(fuse);
	cr_assert(eq(int, chown(dd, 0, 0), 0));
	put_dir("docker-desktop/cli-tools", 0755, 0);
	fuse = mount_silent_fuse(at("docker-desktop/cli-tools"));
	fd = trust_open_dir(root, BIN, 0, &f);
	assert_refused(fd, TRUST_FOREIGN_MOUNT, "docker-desktop/cli-tools");
	fd = trust_open_dir(root, "docker-desktop/cli-tools", TRUST_MOUNT_POINT,
	    &f);
	assert_refused(fd, TRUST_FOREIGN_MOUNT, "docker-desktop/cli-tools");
	umount2(at("docker-desktop/cli-tools"), MNT_DETACH);
	close(fuse);
	free(dd);
}

/* The shared root itself must be the shared tmpfs, not a FUSE mount. */
Test(trust, the_shared_root_must_be_a_tmpfs, .timeout = 20)
{
	char *sub = strdup(at("fake-root"));
	put_dir("fake-root", 0755, 0);
	int fuse = mount_silent_fuse(sub);
	int fd = trust_open_root(sub, &f);
	cr_assert(eq(int, fd, -1));
	cr_assert(eq(int, (int)f.reason, (int)TRUST_FOREIGN_MOUNT));
	umount2(sub, MNT_DETACH);
	close(fuse);

	/* A root's own mount of another kind: named, with the fix. */
	put_dir("fake-root/x", 0755, 0);
	cr_assert(eq(int, mount(at("fake-root/x"), sub, NULL, MS_BIND, NULL), 0));
	cr_assert(eq(int, mount("proc", sub, "proc", 0, NULL), 0));
	fd = trust_open_root(sub, &f);
	cr_assert(eq(int, fd, -1));
	cr_assert(eq(int, (int)f.reason, (int)TRUST_FOREIGN_MOUNT));
	char line[TEXT_ESCAPE_SIZE(PATH_MAX) + 512];
	trust_failure_format(&f, line, sizeof line);
	cr_assert(not(eq(ptr, strstr(line, "is a proc mount, not the shared "
	    "tmpfs"), NULL)), "%s", line);
	free(sub);
}
