/* SPDX-License-Identifier: Apache-2.0 */
/*
 * binds.c's decisions: what to do with a source (binds_decide, against a
 * pathmap built from a mountinfo written here over a real temporary
 * tree), and the making of a missing -v source (with a component swapped
 * under it).
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

#include "wire/http.h"
#include "wire/pathmap.h"
#include "features/binds.h"
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
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_binds.XXXXXX");
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

/* binds_decide on tmpdir + rel is d, *out want (NULL: none). */
static void
expect(const char *rel, enum binds_decision d, const char *want)
{
	char *out = NULL, src[PATH_MAX];
	snprintf(src, sizeof src, "%s", at(rel));
	cr_assert(eq(int, binds_decide(map, src, &out), d), "%s", src);
	if (want == NULL)
		cr_assert(eq(ptr, out, NULL), "%s: %s", src, out);
	else
		cr_assert(eq(str, out, (char *)want), "%s", src);
	free(out);
}

Test(binds, decisions_on_the_engines_view, .init = mk_tree, .fini = rm_tree)
{
	char want[PATH_MAX];
	/* An ordinary directory of this distro: exposed, resolved. */
	snprintf(want, sizeof want, "%s", at("/real dir"));
	expect("/real dir", BINDS_EXPOSE, want);
	/* A symlink: its target is exposed, as the engine would follow it. */
	expect("/link", BINDS_EXPOSE, want);
	expect("//./link/", BINDS_EXPOSE, want);
	/* A file, directly or through a symlink. */
	snprintf(want, sizeof want, "%s", at("/real dir/.gitconfig"));
	expect("/gitconfig-link", BINDS_EXPOSE, want);
	/* The shared tmpfs: the engine's own path for it. */
	expect("/wsl/inside", BINDS_REPLACE, PATHMAP_ENGINE_WSL_ROOT "/inside");
	expect("/to-wsl", BINDS_REPLACE, PATHMAP_ENGINE_WSL_ROOT "/inside");
	expect("/wsl/../wsl/inside/.", BINDS_REPLACE,
	    PATHMAP_ENGINE_WSL_ROOT "/inside");
	/* Drive C: and a symlink into it. */
	expect("/c/Users", BINDS_REPLACE, PATHMAP_ENGINE_DRIVE_ROOT "/c/Users");
	expect("/to-c", BINDS_REPLACE, PATHMAP_ENGINE_DRIVE_ROOT "/c/Users");
	/* A configured share. */
	expect("/srv", BINDS_REPLACE, "/host/srv");
	/* Missing, or a dangling symlink: the reason, nothing made. */
	expect("/nope", BINDS_MISSING, "No such file or directory");
	expect("/dangling", BINDS_MISSING, "No such file or directory");
	expect("/wsl/nope", BINDS_MISSING, "No such file or directory");
	struct stat st;
	cr_assert(eq(int, lstat(at("/nope"), &st), -1));
}

Test(binds, a_path_the_engine_sees_as_written_is_kept)
{
	/* No shared tmpfs found: /mnt/wsl is assumed; "/" maps to itself. */
	const struct pathmap_options o = { "/dev/null",
	    "/nonexistent", "/mnt/wsl", "", "/=/" };
	struct pathmap *m = pathmap_new(&o);
	cr_assert(not(eq(ptr, m, NULL)));
	char *out = (char *)"unset";
	cr_assert(eq(int, binds_decide(m, "/tmp", &out), BINDS_KEEP));
	cr_assert(eq(ptr, out, NULL));
	cr_assert(eq(int, binds_decide(m, "/tmp/", &out), BINDS_REPLACE),
	    "cleaned: not the text of the request");
	cr_assert(eq(str, out, "/tmp"));
	free(out);
	cr_assert(eq(int, binds_decide(m, "/tmp/../../etc", &out),
	    BINDS_REPLACE));
	cr_assert(eq(str, out, "/etc"));
	free(out);
	pathmap_free(m);
}

Test(binds, a_missing_source_is_made_for_the_caller, .init = mk_tree,
    .fini = rm_tree)
{
	/* As root (the agent), another user's; else one's own. */
	uid_t uid = geteuid() == 0 ? 4321 : geteuid();
	gid_t gid = geteuid() == 0 ? 4322 : getegid();
	const struct http_caller me = { true, uid, gid };
	char p[PATH_MAX], want[PATH_MAX];
	snprintf(p, sizeof p, "%s", at("/real dir/a/b/../c"));
	cr_assert(eq(int, binds_make_source(p, &me), 0));
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
	expect("/real dir/a/c", BINDS_EXPOSE, want);
	/* Already there: nothing to do. */
	cr_assert(eq(int, binds_make_source(p, &me), 0));
	/* A dangling symlink stays one: mkdir cannot go through it. */
	snprintf(p, sizeof p, "%s", at("/dangling"));
	cr_assert(eq(int, binds_make_source(p, &me), 0));
	expect("/dangling", BINDS_MISSING, "No such file or directory");
	/* Below a file: the reason, as mkdir gives it. */
	snprintf(p, sizeof p, "%s", at("/real dir/.gitconfig/x"));
	cr_assert(eq(int, binds_make_source(p, &me), -1));
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

Test(binds, a_directory_swapped_for_a_link_is_not_given_away,
    .init = mk_tree, .fini = rm_tree)
{
	const struct http_caller user = { true, 4321, 4322 };
	mk("/root-owned");
	snprintf(swap_to, sizeof swap_to, "%s", at("/root-owned"));
	snprintf(swap_at, sizeof swap_at, "%s", at("/real dir/n1"));
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s", at("/real dir/n1/n2"));
	errno = 0;
	int r = binds_make_source(p, &user);
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
