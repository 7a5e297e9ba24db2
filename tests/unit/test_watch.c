/* SPDX-License-Identifier: Apache-2.0 */
/*
 * watch.c: inotify on a temporary tree standing for Docker Desktop's
 * (ROOT/wsl/docker-desktop, ROOT/wsl playing the shared /mnt/wsl).  The
 * owner's callback must come when cli-tools or the engine socket appear
 * and disappear, at any depth and for directories made after the watch
 * started, and the watches held must stay bounded by the paths followed.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>

#include "base/util.h"
#include "io/watch.h"
#include "testlib.h"

/* What the agent has its watch follow below the tree (main/agent.c). */
static const char *const followed[] = { "cli-tools/usr/bin",
	"cli-tools/usr/lib/docker/cli-plugins",
	"cli-tools/usr/libexec/docker/cli-plugins",
	"cli-tools/usr/local/lib/docker/cli-plugins",
	"shared-sockets/guest-services", NULL };

#define WAIT_MS		5000
#define WATCH_MAX_TEST	256
#define SOCKET_DIR	"shared-sockets/guest-services"
#define DOCKER		"cli-tools/usr/bin/docker"
#define ENGINE		SOCKET_DIR "/docker.proxy.sock"

static char own_point[PATH_MAX];	/* what the mount tests mount */
static bool own_mounted;

static struct {
	char			 desktop[PATH_MAX];
	struct event_base	*base;
	struct watch		*w;
	int			 calls;
	bool			 docker_seen;	/* at the last callback */
	bool			 engine_seen;
	int			 engine_fd;
} wx;

static char *
at(const char *sub)
{
	static char p[4][PATH_MAX * 2];
	static int next;
	char *s = p[next++ % 4];
	snprintf(s, sizeof p[0], "%s/%s", wx.desktop, sub);
	return s;
}

static void
changed(void *arg)
{
	(void)arg;
	struct stat st;
	wx.calls++;
	wx.docker_seen = stat(at(DOCKER), &st) == 0;
	wx.engine_seen = stat(at(ENGINE), &st) == 0 && S_ISSOCK(st.st_mode);
}

static void
setup(void)
{
	/* The watch follows mountinfo: only this test's mounts may move it. */
	private_mounts();
	tmp_root_setup();
	snprintf(wx.desktop, sizeof wx.desktop, "%s/wsl/docker-desktop",
	    tmp_root);
	cr_assert(eq(int, util_mkdir_parent(wx.desktop, 0755), 0));
	/* The shared root is a tmpfs, as the trust walk requires. */
	char wsl[PATH_MAX + 8];
	snprintf(wsl, sizeof wsl, "%s/wsl", tmp_root);
	cr_assert(eq(int, mount("wsl", wsl, "tmpfs", 0, "mode=1777"), 0),
	    "tmpfs on %s: %s", wsl, strerror(errno));
	wx.base = event_base_new();
	wx.engine_fd = -1;
	wx.w = watch_new(wx.base, wx.desktop, followed, changed, NULL);
	cr_assert(not(eq(ptr, wx.w, NULL)));
}

static void
teardown(void)
{
	if (own_mounted)
		(void)umount(own_point);
	own_mounted = false;
	watch_free(wx.w);
	event_base_free(wx.base);
	if (wx.engine_fd >= 0)
		close(wx.engine_fd);
	char wsl[PATH_MAX + 8];
	snprintf(wsl, sizeof wsl, "%s/wsl", tmp_root);
	(void)umount2(wsl, MNT_DETACH);
	tmp_root_teardown();
}

TestSuite(watch, .init = setup, .fini = teardown, .timeout = 30);

static int watched_inodes(unsigned long *ino, int max);

/* inotify watches this process holds, as the kernel counts them. */
static int
kernel_watches(void)
{
	unsigned long ino[WATCH_MAX_TEST];
	return watched_inodes(ino, WATCH_MAX_TEST);
}

static bool
docker_there(void *arg)
{
	(void)arg;
	return wx.docker_seen;
}

static bool
docker_gone(void *arg)
{
	(void)arg;
	return wx.calls > 0 && !wx.docker_seen;
}

static bool
engine_there(void *arg)
{
	(void)arg;
	return wx.engine_seen;
}

static bool
engine_gone(void *arg)
{
	(void)arg;
	return wx.calls > 0 && !wx.engine_seen;
}

static bool
called(void *arg)
{
	(void)arg;
	return wx.calls > 0;
}

/* Each change below must bring a callback of its own. */
static void
change_and_wait(const char *what, bool (*done)(void *))
{
	wx.calls = 0;
	cr_assert(run_until(wx.base, done, NULL, WAIT_MS),
	    "no callback after %s", what);
}

static void
make_dir(const char *sub)
{
	cr_assert(eq(int, mkdir(at(sub), 0755), 0), "mkdir %s: %s", sub,
	    strerror(errno));
}

static void
make_docker(void)
{
	put_file_in(wx.desktop, DOCKER, 0755, "#!/bin/sh\n");
}

static void
remove_cli_tools(void)
{
	remove_tree(at("cli-tools"));
}

static bool
never(void *arg)
{
	(void)arg;
	return false;
}

Test(watch, only_the_shared_root_while_the_tree_is_absent)
{
	cr_assert(eq(int, watch_count(wx.w), 1));
	cr_assert(eq(int, kernel_watches(), 1));
}

Test(watch, tree_appears_one_directory_at_a_time)
{
	static const char *const steps[] = { "", "cli-tools", "cli-tools/usr",
	    "cli-tools/usr/bin" };
	int before = watch_count(wx.w);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		/* Each directory is made after the one above it was watched. */
		make_dir(steps[i]);
		change_and_wait(at(steps[i]), called);
		cr_assert(gt(int, watch_count(wx.w), before),
		    "%s is watched now", at(steps[i]));
		before = watch_count(wx.w);
	}
	make_docker();
	change_and_wait("docker appeared", docker_there);
	cr_assert(eq(int, kernel_watches(), watch_count(wx.w)));
}

Test(watch, cli_tools_appear_and_disappear)
{
	make_dir("");
	change_and_wait("the tree appeared", called);
	make_docker();		/* all of cli-tools at once, as a mount does */
	change_and_wait("cli-tools appeared", docker_there);
	remove_cli_tools();
	change_and_wait("cli-tools went", docker_gone);
	make_docker();
	change_and_wait("cli-tools came back", docker_there);
}

Test(watch, engine_socket_appears_and_disappears)
{
	put_file_in(wx.desktop, SOCKET_DIR "/placeholder", 0644, "");
	change_and_wait("the socket directory appeared", called);
	wx.engine_fd = unix_listen(at(ENGINE), 1);
	change_and_wait("the engine socket appeared", engine_there);
	cr_assert(eq(int, unlink(at(ENGINE)), 0));
	change_and_wait("the engine socket went", engine_gone);
}

Test(watch, a_burst_is_one_callback)
{
	make_dir("");
	change_and_wait("the tree appeared", called);
	make_docker();
	put_file_in(wx.desktop, "cli-tools/usr/lib/docker/cli-plugins/"
	    "docker-compose", 0755, "x");
	put_file_in(wx.desktop, SOCKET_DIR "/placeholder", 0644, "");
	change_and_wait("the burst", docker_there);
	cr_assert(not(run_until(wx.base, never, NULL, 50)));
	cr_assert(eq(int, wx.calls, 1), "one reconcile for the whole burst");
}

Test(watch, bounded_by_the_paths_followed)
{
	static const char *const full[] = {
		"cli-tools/usr/bin/docker",
		"cli-tools/usr/lib/docker/cli-plugins/docker-compose",
		"cli-tools/usr/libexec/docker/cli-plugins/docker-buildx",
		"cli-tools/usr/local/lib/docker/cli-plugins/docker-scan",
		SOCKET_DIR "/placeholder",
	};
	/*
	 * The tree and every directory on the 5 chains; the shared root is
	 * watched only while the tree is absent (others' events there are
	 * not ours to follow).
	 */
	const int all = 1 + 13 + 2, without_cli = 1 + 2;
	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < sizeof full / sizeof full[0]; i++)
			put_file_in(wx.desktop, full[i], 0755, "x");
		change_and_wait("the whole tree appeared", docker_there);
		/* Later callbacks may follow; let them come and go. */
		cr_assert(not(run_until(wx.base, never, NULL, 20)));
		cr_assert(eq(int, watch_count(wx.w), all), "round %d", round);
		cr_assert(eq(int, kernel_watches(), all), "round %d", round);
		remove_cli_tools();
		change_and_wait("cli-tools went", docker_gone);
		cr_assert(not(run_until(wx.base, never, NULL, 20)));
		cr_assert(eq(int, watch_count(wx.w), without_cli), "round %d",
		    round);
		cr_assert(eq(int, kernel_watches(), without_cli), "round %d",
		    round);
	}
	/* Nothing unrelated is followed: a sibling of the tree is not. */
	make_dir("elsewhere");
	put_file_in(wx.desktop, "elsewhere/deeper/x", 0644, "");
	cr_assert(not(run_until(wx.base, never, NULL, 20)));
	cr_assert(eq(int, watch_count(wx.w), without_cli));
}

/* Milliseconds from now until the owner is told and done(arg) holds. */
static uint64_t
ms_until(const char *what, bool (*done)(void *))
{
	uint64_t t0 = util_now_ms();
	change_and_wait(what, done);
	return util_now_ms() - t0;
}

/*
 * Docker Desktop stopping and starting is a few changes in quick
 * succession; the one that brings the engine socket back must be told at
 * once (the coalescing delay), not at the end of a rate limit's interval
 * (100 ms after the socket going was told: the reaction target itself).
 */
Test(watch, the_socket_back_soon_after_it_went_is_told_at_once)
{
	/* The tree is there before the watch starts, as after a boot. */
	put_file_in(wx.desktop, SOCKET_DIR "/placeholder", 0644, "");
	watch_free(wx.w);
	wx.w = watch_new(wx.base, wx.desktop, followed, changed, NULL);
	cr_assert(not(eq(ptr, wx.w, NULL)));
	wx.engine_fd = unix_listen(at(ENGINE), 1);
	change_and_wait("the engine socket appeared", engine_there);
	cr_assert(eq(int, unlink(at(ENGINE)), 0));
	close(wx.engine_fd);
	uint64_t gone = ms_until("the engine socket went", engine_gone);
	wx.engine_fd = unix_listen(at(ENGINE), 1);
	uint64_t back = ms_until("the engine socket came back", engine_there);
	cr_assert(lt(u64, gone, 50), "the socket going told after %" PRIu64
	    " ms", gone);
	cr_assert(lt(u64, back, 50), "the socket back told after %" PRIu64
	    " ms", back);
}

/*
 * cli-tools is mounted and ejected, which inotify does not see: a mount
 * table change is told.  Starting the watch is not one (the owner looks at
 * the start itself).
 */
Test(watch, mount_table_changes_are_told_and_the_start_is_not)
{
	cr_assert(not(run_until(wx.base, called, NULL, 50)),
	    "a callback with nothing changed");
	snprintf(own_point, sizeof own_point, "%s/cli-image", tmp_root);
	cr_assert(eq(int, mkdir(own_point, 0755), 0));
	cr_assert(eq(int, mount("img", own_point, "tmpfs", 0, NULL), 0));
	own_mounted = true;
	change_and_wait("a mount", called);
	cr_assert(eq(int, umount(own_point), 0));
	own_mounted = false;
	change_and_wait("an unmount", called);
}

/* The watch told its owner again since *arg tells. */
static bool
fired_since(void *arg)
{
	return watch_fires(wx.w) > *(const uint64_t *)arg;
}

/* An owner that mounts on every tell, as mount mode mounts the socket. */
static void
changed_and_mounted(void *arg)
{
	changed(arg);
	if (own_mounted)
		cr_assert(eq(int, umount(own_point), 0), "%s", strerror(errno));
	else
		cr_assert(eq(int, mount("own", own_point, "tmpfs", 0, NULL), 0),
		    "%s", strerror(errno));
	own_mounted = !own_mounted;
}

/*
 * The owner's own mount comes back as a mount table change; that costs the
 * budget nothing, so a restart's changes are told at once however often
 * the owner mounts (before, each cycle spent twice the budget).
 */
Test(watch, the_owners_own_mounts_spend_no_budget)
{
	snprintf(own_point, sizeof own_point, "%s/own", tmp_root);
	cr_assert(eq(int, mkdir(own_point, 0755), 0));
	own_mounted = false;
	put_file_in(wx.desktop, SOCKET_DIR "/placeholder", 0644, "");
	watch_free(wx.w);
	wx.w = watch_new(wx.base, wx.desktop, followed, changed_and_mounted, NULL);
	cr_assert(not(eq(ptr, wx.w, NULL)));
	for (int i = 0; i < 4; i++) {
		uint64_t ms;
		if (i % 2 == 0) {
			wx.engine_fd = unix_listen(at(ENGINE), 1);
			ms = ms_until("the engine socket appeared", engine_there);
		} else {
			cr_assert(eq(int, unlink(at(ENGINE)), 0));
			close(wx.engine_fd);
			wx.engine_fd = -1;
			ms = ms_until("the engine socket went", engine_gone);
		}
		cr_assert(lt(u64, ms, 50), "change %d told after %" PRIu64
		    " ms", i + 1, ms);
		/* The owner's mount change is told too (another may be in it). */
		uint64_t told = watch_fires(wx.w);
		cr_assert(run_until(wx.base, fired_since, &told, WAIT_MS),
		    "the owner's mount after change %d was not told", i + 1);
	}
	cr_assert(ge(u64, watch_fires(wx.w), 8), "%" PRIu64 " tells",
	    watch_fires(wx.w));
}

/*
 * However fast the tree's own entries change, the owner is told a few
 * times at once and then at most once per 100 ms, and the last state is
 * always looked at.
 */
Test(watch, a_stream_of_changes_is_rate_limited)
{
	put_file_in(wx.desktop, SOCKET_DIR "/placeholder", 0644, "");
	change_and_wait("the socket directory appeared", called);
	wx.calls = 0;
	uint64_t t0 = util_now_ms(), spent;
	int changes = 0;
	while ((spent = util_now_ms() - t0) < 500) {
		if (changes % 2 == 0)
			wx.engine_fd = unix_listen(at(ENGINE), 1);
		else {
			cr_assert(eq(int, unlink(at(ENGINE)), 0));
			close(wx.engine_fd);
			wx.engine_fd = -1;
		}
		changes++;
		(void)run_until(wx.base, never, NULL, 2);
	}
	/* End with the socket there: that last state must be told. */
	if (wx.engine_fd < 0)
		wx.engine_fd = unix_listen(at(ENGINE), 1);
	cr_assert(run_until(wx.base, engine_there, NULL, WAIT_MS),
	    "the last state was told");
	spent = util_now_ms() - t0;
	/* A burst of 4, then one per 100 ms; the last told once more. */
	cr_assert(le(int, wx.calls, 4 + (int)(spent / 100) + 1),
	    "%d changes in %" PRIu64 " ms told %d times", changes, spent,
	    wx.calls);
	cr_assert(gt(int, changes, 4 * wx.calls), "%d changes, %d tells",
	    changes, wx.calls);
}

/* The inodes this process's inotify watches are on (fdinfo's "ino:"). */
static int
watched_inodes(unsigned long *ino, int max)
{
	DIR *d = opendir("/proc/self/fdinfo");
	cr_assert(not(eq(ptr, d, NULL)));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char path[64], line[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/fdinfo/%s", e->d_name);
		FILE *f = fopen(path, "re");
		if (f == NULL)
			continue;
		while (fgets(line, sizeof line, f) != NULL) {
			const char *p = strstr(line, " ino:");
			if (strncmp(line, "inotify wd:", 11) != 0)
				continue;
			if (n < max)
				ino[n] = p != NULL ? strtoul(p + 5, NULL, 16) : 0;
			n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

static bool
called_since(void *arg)
{
	return wx.calls > *(int *)arg;
}

/*
 * A docker-desktop planted as a symlink to a directory of the distro's
 * (issue 19, finding 10): nothing is watched through it, so traffic there
 * wakes nobody; the root stays watched for the tree to come.
 */
Test(watch, a_symlinked_tree_is_never_followed)
{
	char outside[PATH_MAX + 16], wsl[PATH_MAX + 8];
	snprintf(outside, sizeof outside, "%s/tmp", tmp_root);
	snprintf(wsl, sizeof wsl, "%s/wsl", tmp_root);
	cr_assert(eq(int, mkdir(outside, 0755), 0));
	int before = wx.calls;
	cr_assert(eq(int, symlink(outside, wx.desktop), 0));
	cr_assert(run_until(wx.base, called_since, &before, WAIT_MS),
	    "the tree's name appearing in the root is told");
	struct stat root_st, out_st;
	cr_assert(eq(int, stat(wsl, &root_st), 0));
	cr_assert(eq(int, stat(outside, &out_st), 0));
	unsigned long ino[WATCH_MAX_TEST];
	int n = watched_inodes(ino, WATCH_MAX_TEST);
	cr_assert(eq(int, n, 1), "only the shared root is watched, not %d", n);
	cr_assert(eq(ulong, ino[0], (unsigned long)root_st.st_ino),
	    "the watch is on the shared root (ino %lu), not on what the "
	    "symlink names (ino %lu): %lu", (unsigned long)root_st.st_ino,
	    (unsigned long)out_st.st_ino, ino[0]);
}

/* The watch has passed over mount changes since *arg of them. */
static bool
ignored_since(void *arg)
{
	return watch_ignored(wx.w) > *(const uint64_t *)arg;
}

/*
 * Exposures are mounts inside the areas (areas/<distro>/<hash>), made and
 * removed with containers: none of them is told, while a mount on a
 * distro's area itself still is.
 */
Test(watch, mounts_inside_the_areas_are_not_told)
{
	char areas[PATH_MAX], area[PATH_MAX + 8];
	snprintf(areas, sizeof areas, "%s/wsl/docker-desktop-bind-mounts",
	    tmp_root);
	snprintf(area, sizeof area, "%s/d1", areas);
	snprintf(own_point, sizeof own_point, "%s/d1/0123abcd", areas);
	cr_assert(eq(int, util_mkdir_p(own_point, 0755), 0));
	change_and_wait("the areas made", called);
	watch_ignore_mounts_in(wx.w, areas);
	uint64_t ignored = watch_ignored(wx.w);
	wx.calls = 0;
	cr_assert(eq(int, mount("exposure", own_point, "tmpfs", 0, NULL), 0));
	own_mounted = true;
	cr_assert(run_until(wx.base, ignored_since, &ignored, WAIT_MS),
	    "the mount table change was read");
	cr_assert(not(run_until(wx.base, called, NULL, 100)),
	    "an exposure's mount is not told");
	ignored = watch_ignored(wx.w);
	cr_assert(eq(int, umount(own_point), 0));
	own_mounted = false;
	cr_assert(run_until(wx.base, ignored_since, &ignored, WAIT_MS));
	cr_assert(not(run_until(wx.base, called, NULL, 100)),
	    "nor its removal");
	/* A mount on an area itself is another matter. */
	cr_assert(eq(int, mount("over", area, "tmpfs", 0, NULL), 0));
	change_and_wait("a mount over an area", called);
	cr_assert(eq(int, umount(area), 0));
	change_and_wait("its unmount", called);
	/* And without areas, every change is told again. */
	watch_ignore_mounts_in(wx.w, NULL);
	cr_assert(eq(int, mount("exposure", own_point, "tmpfs", 0, NULL), 0));
	own_mounted = true;
	change_and_wait("a mount, no areas set", called);
}
