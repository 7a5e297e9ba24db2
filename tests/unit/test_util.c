/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plumbing every module shares (util.c): unix socket addresses, file
 * and abstract; making a path's parent directories and the private
 * state_dir; capped, jittered backoff.  The JSON reader is test_json.c's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "base/json.h"
#include "base/util.h"
#include "testlib.h"

static char dir[64];

static void
make_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/wda-util-XXXXXX");
	cr_assert(ne(ptr, mkdtemp(dir), NULL), "mkdtemp: %s", strerror(errno));
}

static void
remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	(void)!system(cmd);
}

/* ------------------------------------------------------------------ */
/* util_sockaddr_un */

Test(sockaddr, file_name_keeps_its_nul)
{
	struct sockaddr_un sun;
	socklen_t len = util_sockaddr_un(&sun, "/run/x.sock");
	cr_assert(eq(u32, (uint32_t)len, (uint32_t)(offsetof(struct sockaddr_un,
	    sun_path) + strlen("/run/x.sock") + 1)));
	cr_assert(eq(int, sun.sun_family, AF_UNIX));
	cr_assert(eq(str, sun.sun_path, "/run/x.sock"));
}

Test(sockaddr, abstract_name_has_a_leading_nul_and_no_terminator)
{
	struct sockaddr_un sun;
	socklen_t len = util_sockaddr_un(&sun, "@wda/notify");
	cr_assert(eq(u32, (uint32_t)len, (uint32_t)(offsetof(struct sockaddr_un,
	    sun_path) + strlen("@wda/notify"))));
	cr_assert(eq(chr, sun.sun_path[0], '\0'));
	cr_assert(eq(int, memcmp(sun.sun_path + 1, "wda/notify", 10), 0));
}

Test(sockaddr, longest_names_fit_and_one_more_byte_does_not)
{
	struct sockaddr_un sun;
	char name[sizeof sun.sun_path + 2];
	/* A file: sun_path less its NUL. */
	memset(name, 'a', sizeof name);
	name[0] = '/';
	name[sizeof sun.sun_path - 1] = '\0';
	cr_assert(ne(u32, (uint32_t)util_sockaddr_un(&sun, name), 0));
	name[sizeof sun.sun_path - 1] = 'a';
	name[sizeof sun.sun_path] = '\0';
	errno = 0;
	cr_assert(eq(u32, (uint32_t)util_sockaddr_un(&sun, name), 0));
	cr_assert(eq(int, errno, ENAMETOOLONG));
	/* Abstract: all of sun_path, there is no NUL to keep. */
	name[0] = '@';
	cr_assert(eq(u32, (uint32_t)util_sockaddr_un(&sun, name),
	    (uint32_t)sizeof sun));
	name[sizeof sun.sun_path] = 'a';
	name[sizeof sun.sun_path + 1] = '\0';
	errno = 0;
	cr_assert(eq(u32, (uint32_t)util_sockaddr_un(&sun, name), 0));
	cr_assert(eq(int, errno, ENAMETOOLONG));
}

Test(sockaddr, empty_names_are_refused)
{
	struct sockaddr_un sun;
	errno = 0;
	cr_assert(eq(u32, (uint32_t)util_sockaddr_un(&sun, ""), 0));
	cr_assert(eq(int, errno, EINVAL));
	errno = 0;
	cr_assert(eq(u32, (uint32_t)util_sockaddr_un(&sun, "@"), 0));
	cr_assert(eq(int, errno, EINVAL));
}

Test(sockaddr, an_abstract_socket_is_reached_by_its_name)
{
	char name[64];
	snprintf(name, sizeof name, "@wda-test-%ld", (long)getpid());
	struct sockaddr_un sun;
	socklen_t len = util_sockaddr_un(&sun, name);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(ge(int, l, 0));
	cr_assert(eq(int, bind(l, (struct sockaddr *)&sun, len), 0), "bind: %s",
	    strerror(errno));
	cr_assert(eq(int, listen(l, 1), 0));
	int c = util_unix_connect(name);
	cr_assert(ge(int, c, 0), "connect %s: %s", name, strerror(errno));
	int s = accept_within(l, 2000);
	write_all(c, "x", 1);
	char b;
	read_exactly(s, &b, 1, 2000);
	cr_assert(eq(chr, b, 'x'));
	close(s);
	close(c);
	close(l);
}

Test(sockaddr, a_file_socket_is_reached_by_its_path, .init = make_dir,
    .fini = remove_dir)
{
	char path[128];
	snprintf(path, sizeof path, "%s/s.sock", dir);
	int l = unix_listen(path, 1);
	struct stat st;
	cr_assert(eq(int, lstat(path, &st), 0));
	cr_assert(eq(int, S_ISSOCK(st.st_mode) ? 1 : 0, 1), "no socket at %s", path);
	int c = util_unix_connect(path);
	cr_assert(ge(int, c, 0), "connect %s: %s", path, strerror(errno));
	close(accept_within(l, 2000));
	close(c);
	close(l);
}

/* ------------------------------------------------------------------ */
/* util_mkdir_parent */

static bool
is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

Test(mkdir_parent, makes_every_directory_above_the_file, .init = make_dir,
    .fini = remove_dir)
{
	char file[128], top[128], mid[128];
	snprintf(file, sizeof file, "%s/a/b/agent.pid", dir);
	snprintf(top, sizeof top, "%s/a", dir);
	snprintf(mid, sizeof mid, "%s/a/b", dir);
	(void)umask(022);
	cr_assert(eq(int, util_mkdir_parent(file, 0750), 0), "%s",
	    strerror(errno));
	cr_assert(is_dir(top) && is_dir(mid), "no %s", mid);
	struct stat st;
	cr_assert(eq(int, stat(file, &st), -1), "the file itself is not made");
	cr_assert(eq(int, stat(mid, &st), 0));
	cr_assert(eq(int, (int)(st.st_mode & 0777), 0750));
	/* Again: the directories are there, which is no error. */
	cr_assert(eq(int, util_mkdir_parent(file, 0750), 0));
}

Test(mkdir_parent, nothing_to_make_for_a_bare_name_or_the_root)
{
	cr_assert(eq(int, util_mkdir_parent("agent.pid", 0755), 0));
	cr_assert(eq(int, util_mkdir_parent("/agent.pid", 0755), 0));
}

Test(mkdir_parent, fails_with_the_reason, .init = make_dir, .fini = remove_dir)
{
	char file[128], blocker[128];
	snprintf(blocker, sizeof blocker, "%s/plain", dir);
	FILE *f = fopen(blocker, "w");
	cr_assert(ne(ptr, f, NULL));
	fclose(f);
	snprintf(file, sizeof file, "%s/plain/sub/x.log", dir);
	errno = 0;
	cr_assert(eq(int, util_mkdir_parent(file, 0755), -1));
	cr_assert(eq(int, errno, ENOTDIR));
	char huge[PATH_MAX + 8];
	memset(huge, 'a', sizeof huge - 1);
	huge[0] = '/';
	huge[sizeof huge - 3] = '/';	/* its parent is too long, too */
	huge[sizeof huge - 1] = '\0';
	errno = 0;
	cr_assert(eq(int, util_mkdir_parent(huge, 0755), -1));
	cr_assert(eq(int, errno, ENAMETOOLONG));
}

/* ------------------------------------------------------------------ */
/* util_private_dir: the agent's state_dir */

static unsigned
mode_of(const char *path)
{
	struct stat st;
	cr_assert(eq(int, lstat(path, &st), 0), "%s: %s", path, strerror(errno));
	return (unsigned)(st.st_mode & 07777);
}

Test(private_dir, made_0700_below_parents_0755, .init = make_dir,
    .fini = remove_dir)
{
	char state[128], parent[128];
	snprintf(parent, sizeof parent, "%s/var/lib", dir);
	snprintf(state, sizeof state, "%s/wsl-docker-agent", parent);
	(void)umask(022);
	cr_assert(eq(int, util_private_dir(state), 0), "%s", strerror(errno));
	cr_assert(eq(u32, mode_of(state), 0700));
	cr_assert(eq(u32, mode_of(parent), 0755));
	cr_assert(eq(int, util_private_dir(state), 0), "nothing to narrow");
}

/* An upgrade: an older version made state_dir 0755 and its manifest 0644. */
Test(private_dir, an_older_versions_wider_state_is_narrowed, .init = make_dir,
    .fini = remove_dir)
{
	char state[128], manifest[160], flag[160], sub[160], link[160];
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(manifest, sizeof manifest, "%s/manifest.json", state);
	snprintf(flag, sizeof flag, "%s/disabled", state);
	snprintf(sub, sizeof sub, "%s/stand-ins", state);
	snprintf(link, sizeof link, "%s/a-link", state);
	(void)umask(0);
	cr_assert(eq(int, mkdir(state, 0755), 0));
	cr_assert(eq(int, mkdir(sub, 0755), 0));
	cr_assert(eq(int, util_write_atomic(manifest, "{}", 2, 0644), 0));
	cr_assert(eq(int, util_write_atomic(flag, "x", 1, 0640), 0));
	cr_assert(eq(int, symlink("/etc/passwd", link), 0));
	(void)umask(022);
	cr_assert(eq(int, util_private_dir(state), 3), "the directory and two "
	    "files narrowed");
	cr_assert(eq(u32, mode_of(state), 0700));
	cr_assert(eq(u32, mode_of(manifest), 0600));
	cr_assert(eq(u32, mode_of(flag), 0600));
	cr_assert(eq(u32, mode_of(sub), 0755), "below a 0700 directory: left");
	cr_assert(eq(u32, mode_of("/etc/passwd"), 0644), "a link is not "
	    "followed");
}

Test(private_dir, fails_with_the_reason, .init = make_dir, .fini = remove_dir)
{
	char file[128], state[160];
	snprintf(file, sizeof file, "%s/plain", dir);
	cr_assert(eq(int, util_write_atomic(file, "x", 1, 0600), 0));
	snprintf(state, sizeof state, "%s/sub", file);
	errno = 0;
	cr_assert(eq(int, util_private_dir(file), -1), "a file is no directory");
	cr_assert(eq(int, errno, ENOTDIR));
	errno = 0;
	cr_assert(eq(int, util_private_dir(state), -1));
	cr_assert(eq(int, errno, ENOTDIR));
}

/* ------------------------------------------------------------------ */
/* backoff */

/* Knuth's MMIX LCG, high half: the same numbers every run. */
static uint32_t
rnd(void)
{
	static uint64_t x = 0x243f6a8885a308d3ULL;
	x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(x >> 32);
}

Test(backoff, every_wait_within_base_cap_and_three_times_the_last)
{
	for (int run = 0; run < 200; run++) {
		struct backoff b = { 500, 30000, 0 };
		uint32_t last = 0;
		for (int i = 0; i < 40; i++) {
			uint32_t w = backoff_next(&b, rnd());
			cr_assert(ge(u32, w, 500));
			cr_assert(le(u32, w, 30000));
			cr_assert(le(u64, (uint64_t)w,
			    3 * (uint64_t)(last < 500 ? 500 : last)));
			cr_assert(eq(u32, b.last_ms, w));
			last = w;
		}
	}
	struct backoff b = { 500, 30000, 0 };
	cr_assert(eq(u32, backoff_next(&b, 0), 500), "the least is base");
	b.last_ms = UINT32_MAX;
	cr_assert(eq(u32, backoff_next(&b, UINT32_MAX),
	    500 + UINT32_MAX % 29501), "no overflow near the top");
}

Test(backoff, grows_with_jitter_and_starts_over_on_reset)
{
	double early = 0, late = 0;
	int distinct = 0;
	uint32_t first0 = 0;
	for (int run = 0; run < 64; run++) {
		struct backoff b = { 1000, 60000, 0 };
		uint32_t w = backoff_next(&b, rnd());
		cr_assert(le(u32, w, 3000), "the first wait is base to 3 base");
		if (run == 0)
			first0 = w;
		distinct += w != first0;
		early += w;
		for (int i = 0; i < 20; i++)
			w = backoff_next(&b, rnd());
		late += w;
		backoff_reset(&b);
		cr_assert(le(u32, backoff_next(&b, rnd()), 3000),
		    "after a reset the waits start over");
	}
	cr_assert(gt(int, distinct, 50), "agents do not retry in step");
	cr_assert(gt(dbl, late / 64, 4 * (early / 64)));
}

Test(backoff, a_cap_below_base_waits_base)
{
	struct backoff b = { 2000, 1000, 0 };
	cr_assert(eq(u32, backoff_next(&b, rnd()), 2000));
	cr_assert(eq(u32, backoff_next(&b, rnd()), 2000));
}

Test(backoff, random_values_differ)
{
	uint32_t a = util_random(), differ = 0;
	for (int i = 0; i < 16; i++)
		differ += util_random() != a;
	cr_assert(gt(u32, differ, 0));
}

/* ------------------------------------------------------------------ */
/* util_rfc3339_ms */

/* The engine's times (State.StartedAt): RFC 3339 in UTC, to wall ms. */
Test(rfc3339, the_engines_times_and_nothing_else)
{
	cr_assert(eq(u64, util_rfc3339_ms("2020-01-01T00:00:00Z"),
	    1577836800000ULL));
	cr_assert(eq(u64, util_rfc3339_ms("2020-01-01T00:00:00.5Z"),
	    1577836800500ULL), "a fraction: ms");
	cr_assert(eq(u64, util_rfc3339_ms("2020-01-01T00:00:01.123456789Z"),
	    1577836801123ULL), "nanoseconds cut to ms");
	cr_assert(eq(u64, util_rfc3339_ms("2020-01-01T00:00:00+01:00"), 0),
	    "UTC only");
	cr_assert(eq(u64, util_rfc3339_ms("0001-01-01T00:00:00Z"), 0),
	    "the engine's zero time: never started");
	cr_assert(eq(u64, util_rfc3339_ms("yesterday"), 0));
	cr_assert(eq(u64, util_rfc3339_ms(NULL), 0));
}
