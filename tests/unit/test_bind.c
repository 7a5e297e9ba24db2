/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bind.c's pure parts: what to do
 * with a source (bind_decide, against a pathmap built from a mountinfo
 * written here over a real temporary tree), the making of a missing
 * -v source (with a component swapped under it), and the bind area's checks (bind_open_area on a tmpfs that
 * plays the shared /mnt/wsl, in a private mount namespace of the test's
 * own process; "an ordinary user" is uid 1000, by chown).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "sys/trust.h"
#include "wire/http.h"
#include "wire/pathmap.h"
#include "features/bind.h"
#include "testlib.h"

static char tmpdir[64];
static struct pathmap *map;

/* tmpdir + rel, in a static buffer (one at a time). */
static const char *
at(const char *rel)
{
	static char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s%s", tmpdir, rel);
	return buf;
}

static void
mk(const char *rel)
{
	cr_assert(eq(int, mkdir(at(rel), 0755), 0), "mkdir %s", at(rel));
}

/* A symlink at rel to tmpdir + target ("!/x": to /x itself). */
static void
ln(const char *target, const char *rel)
{
	char t[PATH_MAX];
	snprintf(t, sizeof t, "%s", target[0] == '!' ? target + 1 : at(target));
	cr_assert(eq(int, symlink(t, at(rel)), 0));
}

/*
 * The tree: wsl/ is the shared tmpfs, c/ drive C: (9p, as WSL 2 mounts
 * it), srv/ a configured share, "real dir" and a file an ordinary part
 * of the distro, and symlinks to each.
 */
static void
mk_tree(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_bind.XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(tmpdir), NULL)));
	mk("/real dir");
	mk("/wsl");
	mk("/wsl/inside");
	mk("/c");
	mk("/c/Users");
	mk("/srv");
	FILE *f = fopen(at("/real dir/.gitconfig"), "w");
	cr_assert(not(eq(ptr, f, NULL)));
	fclose(f);
	ln("/real dir", "/link");
	ln("/wsl/inside", "/to-wsl");
	ln("/c/Users", "/to-c");
	ln("/real dir/.gitconfig", "/gitconfig-link");
	ln("!/nonexistent/x", "/dangling");
	char mi[PATH_MAX], text[4 * PATH_MAX], shared[PATH_MAX];
	snprintf(mi, sizeof mi, "%s/mountinfo", tmpdir);
	snprintf(text, sizeof text,
	    "82 86 0:35 / %s/wsl rw,relatime shared:1 - tmpfs none rw\n"
	    "95 86 0:52 / %s/c rw,noatime shared:40 - 9p C:\\134 rw,dirsync,"
	    "aname=drvfs;path=C:\\;uid=1000;gid=1000;symlinkroot=/mnt/,mmap,"
	    "access=client,msize=65536,trans=fd,rfd=8,wfd=8\n",
	    tmpdir, tmpdir);
	f = fopen(mi, "w");
	cr_assert(not(eq(ptr, f, NULL)));
	fputs(text, f);
	fclose(f);
	snprintf(shared, sizeof shared, "%s/srv=/host/srv", tmpdir);
	const struct pathmap_options o = { mi, "/nonexistent",
	    PATHMAP_ENGINE_WSL_ROOT, PATHMAP_ENGINE_DRIVE_ROOT, shared };
	map = pathmap_new(&o);
	cr_assert(not(eq(ptr, map, NULL)));
}

static void
rm_tree(void)
{
	pathmap_free(map);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

/* bind_decide on tmpdir + rel is d, *out want (NULL: none). */
static void
expect(const char *rel, enum bind_decision d, const char *want)
{
	char *out = NULL, src[PATH_MAX];
	snprintf(src, sizeof src, "%s", at(rel));
	cr_assert(eq(int, bind_decide(map, src, &out), d), "%s", src);
	if (want == NULL)
		cr_assert(eq(ptr, out, NULL), "%s: %s", src, out);
	else
		cr_assert(eq(str, out, (char *)want), "%s", src);
	free(out);
}

Test(bind, decisions_on_the_engines_view, .init = mk_tree, .fini = rm_tree)
{
	char want[PATH_MAX];
	/* An ordinary directory of this distro: exposed, resolved. */
	snprintf(want, sizeof want, "%s", at("/real dir"));
	expect("/real dir", BIND_EXPOSE, want);
	/* A symlink: its target is exposed, as the engine would follow it. */
	expect("/link", BIND_EXPOSE, want);
	expect("//./link/", BIND_EXPOSE, want);
	/* A file, directly or through a symlink. */
	snprintf(want, sizeof want, "%s", at("/real dir/.gitconfig"));
	expect("/gitconfig-link", BIND_EXPOSE, want);
	/* The shared tmpfs: the engine's own path for it. */
	expect("/wsl/inside", BIND_REPLACE, PATHMAP_ENGINE_WSL_ROOT "/inside");
	expect("/to-wsl", BIND_REPLACE, PATHMAP_ENGINE_WSL_ROOT "/inside");
	expect("/wsl/../wsl/inside/.", BIND_REPLACE,
	    PATHMAP_ENGINE_WSL_ROOT "/inside");
	/* Drive C: and a symlink into it. */
	expect("/c/Users", BIND_REPLACE, PATHMAP_ENGINE_DRIVE_ROOT "/c/Users");
	expect("/to-c", BIND_REPLACE, PATHMAP_ENGINE_DRIVE_ROOT "/c/Users");
	/* A configured share. */
	expect("/srv", BIND_REPLACE, "/host/srv");
	/* Missing, or a dangling symlink: the reason, nothing made. */
	expect("/nope", BIND_MISSING, "No such file or directory");
	expect("/dangling", BIND_MISSING, "No such file or directory");
	expect("/wsl/nope", BIND_MISSING, "No such file or directory");
	struct stat st;
	cr_assert(eq(int, lstat(at("/nope"), &st), -1));
}

Test(bind, a_path_the_engine_sees_as_written_is_kept)
{
	/* No shared tmpfs found: /mnt/wsl is assumed; "/" maps to itself. */
	const struct pathmap_options o = { "/dev/null",
	    "/nonexistent", "/mnt/wsl", "", "/=/" };
	struct pathmap *m = pathmap_new(&o);
	cr_assert(not(eq(ptr, m, NULL)));
	char *out = (char *)"unset";
	cr_assert(eq(int, bind_decide(m, "/tmp", &out), BIND_KEEP));
	cr_assert(eq(ptr, out, NULL));
	cr_assert(eq(int, bind_decide(m, "/tmp/", &out), BIND_REPLACE),
	    "cleaned: not the text of the request");
	cr_assert(eq(str, out, "/tmp"));
	free(out);
	cr_assert(eq(int, bind_decide(m, "/tmp/../../etc", &out),
	    BIND_REPLACE));
	cr_assert(eq(str, out, "/etc"));
	free(out);
	pathmap_free(m);
}

Test(bind, a_missing_source_is_made_for_the_caller, .init = mk_tree,
    .fini = rm_tree)
{
	/* As root (the agent), another user's; else one's own. */
	uid_t uid = geteuid() == 0 ? 4321 : geteuid();
	gid_t gid = geteuid() == 0 ? 4322 : getegid();
	const struct http_caller me = { true, uid, gid };
	char p[PATH_MAX], want[PATH_MAX];
	snprintf(p, sizeof p, "%s", at("/real dir/a/b/../c"));
	cr_assert(eq(int, bind_make_source(p, &me), 0));
	struct stat st;
	cr_assert(eq(int, stat(at("/real dir/a/c"), &st), 0));
	cr_assert(eq(int, S_ISDIR(st.st_mode), 1));
	cr_assert(eq(u32, st.st_uid, uid));
	cr_assert(eq(u32, st.st_gid, gid));
	cr_assert(eq(int, stat(at("/real dir/a"), &st), 0));
	cr_assert(eq(u32, st.st_uid, uid), "each directory made is the caller's");
	cr_assert(eq(int, stat(at("/real dir"), &st), 0));
	cr_assert(eq(u32, st.st_uid, geteuid()), "what was there stays");
	cr_assert(eq(int, stat(at("/real dir/a/b"), &st), -1),
	    "cleaned first, as dockerd does");
	/* Then it is an ordinary source. */
	snprintf(want, sizeof want, "%s", at("/real dir/a/c"));
	expect("/real dir/a/c", BIND_EXPOSE, want);
	/* Already there: nothing to do. */
	cr_assert(eq(int, bind_make_source(p, &me), 0));
	/* A dangling symlink stays one: mkdir cannot go through it. */
	snprintf(p, sizeof p, "%s", at("/dangling"));
	cr_assert(eq(int, bind_make_source(p, &me), 0));
	expect("/dangling", BIND_MISSING, "No such file or directory");
	/* Below a file: the reason, as mkdir gives it. */
	snprintf(p, sizeof p, "%s", at("/real dir/.gitconfig/x"));
	cr_assert(eq(int, bind_make_source(p, &me), -1));
	cr_assert(eq(int, errno, ENOTDIR));
}

/*
 * Another user swaps a directory the agent just made for a symlink to a
 * root-owned one, between the mkdir and the chown (issue 19).  These two
 * stand in for libc's for the whole test program, the agent's code
 * included: each makes the directory with the system call and, when it
 * made swap_at, moves it aside and puts a symlink to swap_to there, once.
 */
static char swap_at[PATH_MAX], swap_to[PATH_MAX];

static void
swap_if_armed(int dirfd, const char *name)
{
	char full[PATH_MAX], dir[PATH_MAX], self[32], moved[PATH_MAX + 8];
	if (swap_at[0] == '\0')
		return;
	if (name[0] == '/' || dirfd == AT_FDCWD)
		snprintf(full, sizeof full, "%s", name);
	else {
		snprintf(self, sizeof self, "/proc/self/fd/%d", dirfd);
		ssize_t n = readlink(self, dir, sizeof dir - 1);
		if (n < 0)
			return;
		dir[n] = '\0';
		snprintf(full, sizeof full, "%s/%s", dir, name);
	}
	if (strcmp(full, swap_at) != 0)
		return;
	swap_at[0] = '\0';
	snprintf(moved, sizeof moved, "%s.moved", full);
	if (rename(full, moved) < 0 || symlink(swap_to, full) < 0)
		abort();
}

int
mkdirat(int dirfd, const char *name, mode_t mode)
{
	int r = (int)syscall(SYS_mkdirat, dirfd, name, mode);
	if (r == 0)
		swap_if_armed(dirfd, name);
	return r;
}

int
mkdir(const char *name, mode_t mode)
{
	return mkdirat(AT_FDCWD, name, mode);
}

Test(bind, a_directory_swapped_for_a_link_is_not_given_away,
    .init = mk_tree, .fini = rm_tree)
{
	const struct http_caller user = { true, 4321, 4322 };
	mk("/root-owned");
	snprintf(swap_to, sizeof swap_to, "%s", at("/root-owned"));
	snprintf(swap_at, sizeof swap_at, "%s", at("/real dir/n1"));
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s", at("/real dir/n1/n2"));
	errno = 0;
	int r = bind_make_source(p, &user);
	int err = errno;
	cr_assert(eq(str, swap_at, ""), "the swap was not made");
	struct stat st;
	cr_assert(eq(int, stat(at("/root-owned"), &st), 0));
	cr_assert(eq(u32, st.st_uid, 0), "the link's target was given to uid "
	    "%u", (unsigned)st.st_uid);
	cr_assert(eq(int, lstat(at("/root-owned/n2"), &st), -1),
	    "something was made through the link");
	cr_assert(eq(int, r, -1), "the swap went unnoticed");
	/* O_DIRECTORY|O_NOFOLLOW on a symlink: ENOTDIR (ELOOP without it). */
	cr_assert(err == ENOTDIR || err == ELOOP, "%s", strerror(err));
	cr_assert(eq(int, lstat(at("/real dir/n1.moved"), &st), 0));
	cr_assert(eq(u32, st.st_uid, 0), "what was made and lost stays root's");
}

/* ------------------------------------------------------------------ */
/* The bind area */

#define USER_UID	1000
#define AREA		BIND_DIR_NAME "/d1"

static char root[64];
static struct trust_failure f;

/* root + "/" + rel, in one of a few static buffers. */
static const char *
in_root(const char *rel)
{
	static char paths[4][PATH_MAX];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, sizeof paths[0], "%s/%s", root, rel);
	return p;
}

static void
area_setup(void)
{
	make_temp_dir(root, sizeof root, "bind");
	trusted_tree_up(root, in_root("docker-desktop"));
	put_dir_as(root, "etc", 0755, 0);	/* plays the victim's /etc */
	memset(&f, 0, sizeof f);
}

static void
area_teardown(void)
{
	trusted_tree_down(root);
}

static void
has_mode(const char *rel, unsigned mode, uid_t uid)
{
	struct stat st;
	cr_assert(eq(int, lstat(in_root(rel), &st), 0), "%s", in_root(rel));
	cr_assert(eq(u32, (unsigned)(st.st_mode & 07777), mode), "%s mode %o",
	    rel, (unsigned)(st.st_mode & 07777));
	cr_assert(eq(u32, st.st_uid, uid), "%s", rel);
}

static bool
exists(const char *rel)
{
	struct stat st;
	return lstat(in_root(rel), &st) == 0;
}

/* Refused for reason r at rel, and nothing is made in the fake /etc. */
static void
area_refused(enum trust_reason r, const char *rel)
{
	int fd = bind_open_area(root, "d1", &f);
	cr_assert(eq(int, fd, -1), "trusted, expected %s", trust_reason_name(r));
	cr_assert(eq(int, (int)f.reason, (int)r), "reason %s, expected %s",
	    trust_reason_name(f.reason), trust_reason_name(r));
	cr_assert(eq(str, f.path, (char *)in_root(rel)));
	cr_assert(not(exists("etc/d1")));
	char line[2048];
	trust_failure_format(&f, line, sizeof line);
	cr_assert(not(eq(ptr, strstr(line, in_root(rel)), NULL)), "%s", line);
	cr_assert(eq(ptr, strchr(line, '\n'), NULL), "one line: %s", line);
}

TestSuite(bind_area, .init = area_setup, .fini = area_teardown);

Test(bind_area, made_by_the_agent_root_owned_and_private)
{
	int fd = bind_open_area(root, "d1", &f);
	cr_assert(ge(int, fd, 0), "%s", trust_reason_name(f.reason));
	cr_assert(eq(str, f.path, (char *)in_root(AREA)));
	has_mode(BIND_DIR_NAME, 0755, 0);
	has_mode(AREA, 0700, 0);
	/* The descriptor is the area: what is made through it lands there. */
	cr_assert(eq(int, mkdirat(fd, "x", 0755), 0));
	cr_assert(exists(AREA "/x"));
	close(fd);
	/* Again: found, trusted, the same. */
	fd = bind_open_area(root, "d1", &f);
	cr_assert(ge(int, fd, 0));
	close(fd);
}

Test(bind_area, a_root_directory_found_is_made_private)
{
	put_dir_as(root, BIND_DIR_NAME, 0755, 0);
	put_dir_as(root, AREA, 0755, 0);
	int fd = bind_open_area(root, "d1", &f);
	cr_assert(ge(int, fd, 0), "%s", trust_reason_name(f.reason));
	close(fd);
	has_mode(AREA, 0700, 0);
}

Test(bind_area, distro_directory_symlinked_to_etc_is_refused)
{
	put_dir_as(root, BIND_DIR_NAME, 0755, 0);
	cr_assert(eq(int, symlink(in_root("etc"), in_root(AREA)), 0));
	area_refused(TRUST_SYMLINK, AREA);
}

Test(bind_area, the_shared_directory_symlinked_is_refused)
{
	put_dir_as(root, "elsewhere", 0755, 0);
	cr_assert(eq(int, symlink(in_root("elsewhere"), in_root(BIND_DIR_NAME)),
	    0));
	area_refused(TRUST_SYMLINK, BIND_DIR_NAME);
	cr_assert(not(exists("elsewhere/d1")), "nothing made through the link");
}

Test(bind_area, the_shared_directory_owned_by_a_user_is_refused)
{
	put_dir_as(root, BIND_DIR_NAME, 0755, USER_UID);
	area_refused(TRUST_OWNER, BIND_DIR_NAME);
	cr_assert(not(exists(AREA)), "nothing made below it");
}

Test(bind_area, a_squatted_distro_directory_is_refused_and_left_alone)
{
	put_dir_as(root, BIND_DIR_NAME, 0755, 0);
	put_dir_as(root, AREA, 0755, USER_UID);
	area_refused(TRUST_OWNER, AREA);
	has_mode(AREA, 0755, USER_UID);
}

Test(bind_area, a_writable_distro_directory_is_refused_and_left_alone)
{
	put_dir_as(root, BIND_DIR_NAME, 0755, 0);
	put_dir_as(root, AREA, 0777, 0);
	area_refused(TRUST_WRITABLE, AREA);
	has_mode(AREA, 0777, 0);
}

Test(bind_area, a_shared_root_that_is_not_a_mount_is_refused)
{
	put_dir_as(root, "notmount", 0755, 0);
	int fd = bind_open_area(in_root("notmount"), "d1", &f);
	cr_assert(eq(int, fd, -1));
	cr_assert(eq(int, (int)f.reason, (int)TRUST_NOT_MOUNT));
	cr_assert(not(exists("notmount/" BIND_DIR_NAME)));
}

Test(bind_area, a_distro_name_with_a_slash_is_refused)
{
	cr_assert(eq(int, bind_open_area(root, "../etc", &f), -1));
	cr_assert(eq(int, (int)f.reason, (int)TRUST_IO));
	cr_assert(eq(int, bind_open_area(root, "", &f), -1));
}

/* Swapped between check and use: the descriptor is still what was checked. */
Test(bind_area, swapped_after_the_check_is_not_used)
{
	int fd = bind_open_area(root, "d1", &f);
	cr_assert(ge(int, fd, 0));
	cr_assert(eq(int, rename(in_root(AREA), in_root(BIND_DIR_NAME "/old")),
	    0));
	cr_assert(eq(int, symlink(in_root("etc"), in_root(AREA)), 0));
	cr_assert(eq(int, mkdirat(fd, "point", 0755), 0));
	cr_assert(exists(BIND_DIR_NAME "/old/point"));
	cr_assert(not(exists("etc/point")));
	close(fd);
	area_refused(TRUST_SYMLINK, AREA);
}

Test(bind_area, sources_that_contain_the_shared_tree)
{
	const char *sr = "/mnt/wsl", *area =
	    "/mnt/wsl/" BIND_DIR_NAME "/d1";
	const char *refused[] = { "/", "/mnt", "/mnt/wsl",
	    "/mnt/wsl/" BIND_DIR_NAME, area };
	const char *fine[] = { "/home/me", "/mnt/wslx", "/mnt/c",
	    "/mnt/wsl/other", "/mnt/wsl/" BIND_DIR_NAME "/d2" };
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		cr_assert(bind_source_contains(refused[i], sr, area), "%s",
		    refused[i]);
	for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
		cr_assert(not(bind_source_contains(fine[i], sr, area)), "%s",
		    fine[i]);
}
