/* SPDX-License-Identifier: Apache-2.0 */
/*
 * standin.c against real directories: a stand-in on a tmpfs (as the
 * engine's are, on the shared /mnt/wsl) moved into a stand-ins directory
 * on the disk /tmp is on (ext4 here, as a distro's is), in a mount
 * namespace of the test's own.  Holes stay holes; what goes over the cap
 * or the free space stays whole on the stand-in, shown and counted; a
 * move stopped part way is named and resumed; a fifo swapped in before
 * the open is left where it is instead of blocking the copy.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>

#include "base/config.h"
#include "base/util.h"
#include "sys/standin.h"
#include "sys/trust.h"
#include "io/work.h"
#include "features/standins.h"
#include "testlib.h"

#define MiB	(1ULL << 20)
#define GiB	(1ULL << 30)

static char shared[PATH_MAX];	/* a tmpfs: where the engine's stand-ins are */
static char dir[PATH_MAX];	/* state_dir/stand-ins, on /tmp's disk */
static int dirfd_;
static const struct standin_limits roomy = {
	.max = 1024 * MiB, .margin = STANDIN_FREE_MARGIN };

static void
setup(void)
{
	tmp_root_setup();
	private_mounts();
	snprintf(shared, sizeof shared, "%s/shared", tmp_root);
	snprintf(dir, sizeof dir, "%s/state/stand-ins", tmp_root);
	cr_assert(eq(int, mkdir(shared, 0755), 0));
	cr_assert(eq(int, mount("wda-test", shared, "tmpfs", 0, "mode=755"), 0),
	    "%s", strerror(errno));
	cr_assert(eq(int, util_mkdir_p(dir, 0700), 0));
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert(ge(int, dirfd_, 0));
	standin_open_hook = NULL;
}

/* Every mount below tmp_root gone, deepest first, then the tree. */
static void
teardown(void)
{
	char line[4096];
	for (int pass = 0; pass < 8; pass++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		bool any = false;
		while (f != NULL && fgets(line, sizeof line, f) != NULL) {
			char mp[PATH_MAX];
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
			    strncmp(mp, tmp_root, strlen(tmp_root)) == 0)
				any |= umount2(mp, MNT_DETACH) == 0;
		}
		if (f != NULL)
			fclose(f);
		if (!any)
			break;
	}
	close(dirfd_);
	tmp_root_teardown();
}

TestSuite(standin, .init = setup, .fini = teardown, .timeout = 30);

/* base/rel, in one of eight buffers used in turn. */
static char *
below(const char *base, const char *rel)
{
	static char p[8][PATH_MAX];
	static int next;
	char *s = p[next++ % 8];
	snprintf(s, PATH_MAX, "%s/%s", base, rel);
	return s;
}

/* shared/name: a stand-in as the engine makes it (root's, 0755). */
static char *
standin_path(const char *name)
{
	return below(shared, name);
}

static int
make_standin(const char *name)
{
	cr_assert(eq(int, mkdir(standin_path(name), 0755), 0));
	int fd = open(standin_path(name), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert(ge(int, fd, 0));
	return fd;
}

static char *
in_dir(const char *rel)
{
	return below(dir, rel);
}

static bool
exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static char *
read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(ge(int, fd, 0), "%s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, len - 1);
	cr_assert(ge(int, (int)n, 0));
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* A file of `size' bytes holding data only where written. */
static void
sparse_file(const char *path, off_t size, const off_t *at, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	cr_assert(ge(int, fd, 0), "%s", path);
	cr_assert(eq(int, ftruncate(fd, size), 0));
	for (size_t i = 0; i < n; i++) {
		char text[32];
		int len = snprintf(text, sizeof text, "data at %lld",
		    (long long)at[i]);
		cr_assert(eq(int, (int)pwrite(fd, text, (size_t)len, at[i]), len));
	}
	close(fd);
}

/* A file of n bytes of data (no holes). */
static void
full_file(const char *path, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	cr_assert(ge(int, fd, 0), "%s", path);
	char *buf = malloc(n);
	cr_assert(not(eq(ptr, buf, NULL)));
	memset(buf, 'x', n);
	cr_assert(eq(sz, (size_t)write(fd, buf, n), n));
	free(buf);
	close(fd);
}

static bool
is_mount_root(const char *path)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return false;
	int r = trust_is_mount_root(fd);
	close(fd);
	return r == 1;
}

static void
assert_moved(const struct standin_result *r, const char *name)
{
	cr_assert(eq(int, (int)r->state, STANDIN_MOVED), "state %d at %s: %s",
	    (int)r->state, r->where, strerror(r->err));
	cr_assert(exists(in_dir(name)), "%s is whole", name);
	char p[NAME_MAX + 1];
	snprintf(p, sizeof p, "%s%s", name, STANDIN_PARTIAL_SUFFIX);
	cr_assert(not(exists(in_dir(p))), "no partial copy left");
	snprintf(p, sizeof p, "%s%s", name, STANDIN_SHOWN_SUFFIX);
	cr_assert(not(exists(in_dir(p))), "the stand-in is no longer shown");
	cr_assert(not(r->shown));
}

Test(standin, files_dirs_and_links_are_moved_keeping_owner_mode_and_times)
{
	int fd = make_standin("db");
	put_file_in(standin_path("db"), "PG_VERSION", 0600, "16\n");
	put_file_in(standin_path("db"), "base/1", 0644, "rows");
	cr_assert(eq(int, chmod(standin_path("db/base"), 0700), 0));
	cr_assert(eq(int, chown(standin_path("db/base/1"), 999, 999), 0));
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	cr_assert(eq(int, utimensat(AT_FDCWD, standin_path("db/PG_VERSION"),
	    old, 0), 0));
	cr_assert(eq(int, symlink("base/1", standin_path("db/link")), 0));

	struct standin_result r;
	standin_move(dirfd_, fd, "db-1", false, &roomy, &r);
	assert_moved(&r, "db-1");
	char buf[64];
	struct stat st;
	cr_assert(eq(str, read_text(in_dir("db-1/PG_VERSION"), buf, sizeof buf),
	    "16\n"));
	cr_assert(eq(int, stat(in_dir("db-1/PG_VERSION"), &st), 0));
	cr_assert(eq(u32, st.st_mode & 07777, 0600u), "mode kept");
	cr_assert(eq(i64, (int64_t)st.st_mtim.tv_sec, 1000000000), "time kept");
	cr_assert(eq(str, read_text(in_dir("db-1/base/1"), buf, sizeof buf),
	    "rows"));
	cr_assert(eq(int, stat(in_dir("db-1/base/1"), &st), 0));
	cr_assert(eq(u32, st.st_uid, 999u), "owner kept");
	cr_assert(eq(int, stat(in_dir("db-1/base"), &st), 0));
	cr_assert(eq(u32, st.st_mode & 07777, 0700u), "a directory's mode kept");
	ssize_t n = readlink(in_dir("db-1/link"), buf, sizeof buf - 1);
	cr_assert(eq(int, (int)n, 6));
	buf[n] = '\0';
	cr_assert(eq(str, buf, "base/1"));
	cr_assert(standin_is_empty(open(standin_path("db"), O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)), "moved, not copied: the stand-in is empty");
	cr_assert(gt(u64, r.moved, 0ULL));
	cr_assert(eq(u64, r.left, 0ULL));
}

Test(standin, a_sparse_file_keeps_its_holes)
{
	const off_t at[] = { 0, 512 * (off_t)MiB, (off_t)GiB - 4096 };
	int fd = make_standin("big");
	sparse_file(standin_path("big/sparse"), (off_t)GiB, at, 3);
	struct stat src;
	cr_assert(eq(int, stat(standin_path("big/sparse"), &src), 0));
	cr_assert(lt(i64, (int64_t)src.st_blocks * 512, (int64_t)MiB),
	    "the tmpfs holds only the data");

	struct standin_result r;
	standin_move(dirfd_, fd, "big-1", false, &roomy, &r);
	assert_moved(&r, "big-1");
	struct stat st;
	cr_assert(eq(int, stat(in_dir("big-1/sparse"), &st), 0));
	cr_assert(eq(i64, (int64_t)st.st_size, (int64_t)GiB), "its size kept");
	cr_assert(le(i64, (int64_t)st.st_blocks * 512, 256 * 1024),
	    "1 GiB with 3 small writes takes %lld bytes in state_dir",
	    (long long)st.st_blocks * 512);
	cr_assert(lt(u64, r.moved, (uint64_t)MiB), "counted as allocated");
	int f = open(in_dir("big-1/sparse"), O_RDONLY | O_CLOEXEC);
	for (size_t i = 0; i < 3; i++) {
		char want[32], got[32] = "";
		int len = snprintf(want, sizeof want, "data at %lld",
		    (long long)at[i]);
		cr_assert(eq(int, (int)pread(f, got, (size_t)len, at[i]), len));
		got[len] = '\0';
		cr_assert(eq(str, got, want));
	}
	char zeros[4096], z[4096] = { 0 };
	cr_assert(eq(int, (int)pread(f, zeros, sizeof zeros, 256 * (off_t)MiB),
	    4096));
	cr_assert(eq(int, memcmp(zeros, z, sizeof z), 0), "a hole reads zeros");
	close(f);
}

Test(standin, what_goes_over_the_cap_stays_whole_shown_and_counted)
{
	const struct standin_limits cap = { .max = 3 * MiB, .margin = 0 };
	int a = make_standin("a"), b = make_standin("b");
	full_file(standin_path("a/data"), 2 * MiB);
	full_file(standin_path("b/one"), MiB);
	full_file(standin_path("b/two"), MiB);
	struct stat st;
	cr_assert(eq(int, stat(standin_path("b/one"), &st), 0));
	uint64_t b_bytes = 2 * (uint64_t)st.st_blocks * 512;

	struct standin_result ra, rb;
	standin_move(dirfd_, a, "a-1", false, &cap, &ra);
	assert_moved(&ra, "a-1");
	standin_move(dirfd_, b, "b-1", false, &cap, &rb);
	cr_assert(eq(int, (int)rb.state, STANDIN_HELD_CAP));
	cr_assert(rb.shown);
	cr_assert(eq(u64, rb.left, b_bytes), "how much stayed");
	cr_assert(eq(u64, rb.moved, 0ULL), "nothing of it moved: not split");
	cr_assert(ge(u64, rb.used, 2 * MiB), "the copies already there count");
	cr_assert(is_mount_root(in_dir("b-1.stand-in")), "shown by a mount");
	cr_assert(exists(in_dir("b-1.stand-in/one")));
	cr_assert(exists(in_dir("b-1.stand-in/two")));
	cr_assert(exists(standin_path("b/one")), "still on the stand-in");
	cr_assert(not(exists(in_dir("b-1"))));
	cr_assert(not(exists(in_dir("b-1.partial"))));

	/* The key raised: the next pass (or start) moves it from the mount. */
	struct standin_result again[4];
	cr_assert(eq(sz, standin_resume(dirfd_, &roomy, again, 4),
	    (size_t)1));
	cr_assert(eq(str, again[0].name, "b-1"));
	assert_moved(&again[0], "b-1");
	cr_assert(exists(in_dir("b-1/one")));
	cr_assert(exists(in_dir("b-1/two")));
	cr_assert(not(exists(standin_path("b/one"))));
}

Test(standin, a_cap_of_zero_moves_nothing)
{
	const struct standin_limits none = { .max = 0, .margin = 0 };
	int fd = make_standin("c");
	put_file_in(standin_path("c"), "f", 0644, "kept");
	struct standin_result r;
	standin_move(dirfd_, fd, "c-1", false, &none, &r);
	cr_assert(eq(int, (int)r.state, STANDIN_HELD_CAP));
	cr_assert(exists(in_dir("c-1.stand-in/f")));
	cr_assert(exists(standin_path("c/f")));
}

Test(standin, too_little_free_space_holds_it)
{
	char small[PATH_MAX];
	snprintf(small, sizeof small, "%s/small", tmp_root);
	cr_assert(eq(int, mkdir(small, 0700), 0));
	cr_assert(eq(int, mount("wda-test", small, "tmpfs", 0, "size=8m"), 0));
	int sfd = open(small, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = make_standin("d");
	full_file(standin_path("d/f"), MiB);
	const struct standin_limits lim = {
	    .max = 1024 * MiB, .margin = 8 * MiB };
	struct standin_result r;
	standin_move(sfd, fd, "d-1", false, &lim, &r);
	cr_assert(eq(int, (int)r.state, STANDIN_HELD_SPACE));
	cr_assert(le(u64, r.avail, 8 * MiB), "fstatvfs of the place");
	cr_assert(exists(standin_path("d/f")));
	char p[PATH_MAX + 32];
	snprintf(p, sizeof p, "%s/d-1.stand-in/f", small);
	cr_assert(exists(p), "shown where it would have gone");
	close(sfd);
}

/*
 * Stand-in `standin' holding a and b moved to name, something in the way
 * of b's copy (a directory: its open fails, EISDIR): stopped part way.
 */
static void
move_stopped_at_b(const char *standin, const char *name,
    struct standin_result *r)
{
	char p[NAME_MAX + 1];
	int fd = make_standin(standin);
	put_file_in(standin_path(standin), "a", 0644, "first");
	put_file_in(standin_path(standin), "b", 0644, "second");
	snprintf(p, sizeof p, "%s%s", name, STANDIN_PARTIAL_SUFFIX);
	cr_assert(eq(int, mkdir(in_dir(p), 0700), 0));
	snprintf(p, sizeof p, "%s%s/b", name, STANDIN_PARTIAL_SUFFIX);
	cr_assert(eq(int, mkdir(in_dir(p), 0700), 0));
	standin_move(dirfd_, fd, name, false, &roomy, r);
	cr_assert(eq(int, (int)r->state, STANDIN_PARTIAL));
}

Test(standin, an_error_part_way_leaves_a_named_partial_copy_that_resumes)
{
	struct standin_result r;
	move_stopped_at_b("e", "e-1", &r);
	cr_assert(eq(str, r.where, "b"));
	cr_assert(eq(int, r.err, EISDIR));
	cr_assert(r.shown);
	char buf[16];
	cr_assert(eq(str, read_text(in_dir("e-1.partial/a"), buf, sizeof buf),
	    "first"));
	cr_assert(not(exists(standin_path("e/a"))), "a went once copied");
	cr_assert(exists(in_dir("e-1.stand-in/b")), "b stays, shown");
	cr_assert(not(exists(in_dir("e-1"))), "never named whole");

	/* Found again (a later pass, or the next start): still in the way. */
	struct standin_result again[4];
	cr_assert(eq(sz, standin_resume(dirfd_, &roomy, again, 4),
	    (size_t)1));
	cr_assert(eq(int, (int)again[0].state, STANDIN_PARTIAL));
	cr_assert(eq(int, rmdir(in_dir("e-1.partial/b")), 0));
	cr_assert(eq(sz, standin_resume(dirfd_, &roomy, again, 4),
	    (size_t)1));
	assert_moved(&again[0], "e-1");
	cr_assert(eq(str, read_text(in_dir("e-1/a"), buf, sizeof buf), "first"));
	cr_assert(eq(str, read_text(in_dir("e-1/b"), buf, sizeof buf), "second"));
}

/* ------------------------------------------------------------------ */
/* Stopped part way: the agent stopping, then starting again */

static struct work *hook_work;
static atomic_int hook_calls;
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hook_cond = PTHREAD_COND_INITIALIZER;

/* In the worker, before the first open: wait for the agent to stop. */
static void
hook_wait_for_stop(int dirfd, const char *name)
{
	(void)dirfd, (void)name;
	pthread_mutex_lock(&hook_lock);
	int first = atomic_fetch_add(&hook_calls, 1) == 0;
	pthread_cond_broadcast(&hook_cond);
	pthread_mutex_unlock(&hook_lock);
	if (!first)
		return;
	/* The job's own check between steps, as a copy makes it. */
	while (!work_stopping(hook_work)) {
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
}

struct move_job {
	int			 dirfd, fd;
	struct standin_result	 r;
	bool			 done, ran;
};

static bool
move_stopping(void *w)
{
	return work_stopping(w);
}

static void
move_run(struct work *w, void *arg)
{
	struct move_job *j = arg;
	struct standin_limits lim = roomy;
	lim.stop = move_stopping;
	lim.stop_arg = w;
	standin_move(j->dirfd, j->fd, "f-1", false, &lim, &j->r);
}

static void
move_done(void *arg, bool ran)
{
	struct move_job *j = arg;
	j->done = true;
	j->ran = ran;
}

/* The move is under way, in the worker (within 5 s). */
static bool
hook_reached(void)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&hook_lock);
	while (atomic_load(&hook_calls) == 0 &&
	    pthread_cond_timedwait(&hook_cond, &hook_lock, &until) == 0)
		;
	pthread_mutex_unlock(&hook_lock);
	return atomic_load(&hook_calls) > 0;
}

Test(standin, stopped_part_way_it_is_named_and_resumed_at_the_next_start)
{
	int fd = make_standin("f");
	full_file(standin_path("f/one"), 3 * MiB);
	full_file(standin_path("f/two"), 3 * MiB);
	struct event_base *base = event_base_new();
	hook_work = work_new(base);
	atomic_store(&hook_calls, 0);
	standin_open_hook = hook_wait_for_stop;
	struct move_job j = { .dirfd = dirfd_, .fd = fd };
	cr_assert(eq(int, work_submit(hook_work, move_run, move_done, &j), 0));
	cr_assert(hook_reached(), "the move never started");
	work_free(hook_work);		/* the agent stops */
	standin_open_hook = NULL;
	cr_assert(j.done && j.ran);
	cr_assert(eq(int, (int)j.r.state, STANDIN_PARTIAL));
	cr_assert(eq(int, j.r.err, ECANCELED));
	cr_assert(exists(in_dir("f-1.partial")), "named as partial");
	cr_assert(not(exists(in_dir("f-1"))));
	cr_assert(exists(in_dir("f-1.stand-in/one")), "all still on the stand-in");
	cr_assert(exists(in_dir("f-1.stand-in/two")));

	/* The next start. */
	struct standin_result again[4];
	cr_assert(eq(sz, standin_resume(dirfd_, &roomy, again, 4),
	    (size_t)1));
	assert_moved(&again[0], "f-1");
	struct stat st;
	cr_assert(eq(int, stat(in_dir("f-1/one"), &st), 0));
	cr_assert(eq(i64, (int64_t)st.st_size, (int64_t)(3 * MiB)));
	cr_assert(eq(int, stat(in_dir("f-1/two"), &st), 0));
	cr_assert(eq(i64, (int64_t)st.st_size, (int64_t)(3 * MiB)));
	event_base_free(base);
}

Test(standin, a_partial_copy_whose_stand_in_is_gone_is_reported_lost)
{
	struct standin_result r;
	move_stopped_at_b("g", "g-1", &r);
	/* A reboot: the tmpfs, and the mount showing it, are gone. */
	cr_assert(eq(int, umount2(in_dir("g-1.stand-in"), MNT_DETACH), 0));
	struct standin_result again[4];
	cr_assert(eq(sz, standin_resume(dirfd_, &roomy, again, 4),
	    (size_t)1));
	cr_assert(eq(int, (int)again[0].state, STANDIN_LOST));
	cr_assert(eq(str, again[0].name, "g-1"));
	cr_assert(not(exists(in_dir("g-1.stand-in"))), "the empty point removed");
	cr_assert(exists(in_dir("g-1.partial/a")), "what was moved is kept");
}

/* ------------------------------------------------------------------ */
/* Entries that are not files */

/* Between fstatat and open, a fifo takes the file's place. */
static void
hook_swap_in_a_fifo(int dirfd, const char *name)
{
	if (strcmp(name, "victim") != 0)
		return;
	cr_assert(eq(int, unlinkat(dirfd, name, 0), 0));
	cr_assert(eq(int, mkfifoat(dirfd, name, 0644), 0));
}

Test(standin, a_fifo_swapped_in_before_the_open_is_left_in_place,
    .timeout = 10)
{
	int fd = make_standin("h");
	put_file_in(standin_path("h"), "victim", 0644, "x");
	put_file_in(standin_path("h"), "other", 0644, "kept");
	standin_open_hook = hook_swap_in_a_fifo;
	struct standin_result r;
	standin_move(dirfd_, fd, "h-1", false, &roomy, &r);
	standin_open_hook = NULL;
	assert_moved(&r, "h-1");
	cr_assert(eq(i64, (int64_t)r.special, 1), "the fifo is counted");
	struct stat st;
	cr_assert(eq(int, lstat(standin_path("h/victim"), &st), 0));
	bool fifo = S_ISFIFO(st.st_mode);
	cr_assert(fifo, "left where it was");
	cr_assert(not(exists(in_dir("h-1/victim"))));
	cr_assert(exists(in_dir("h-1/other")));
}

Test(standin, fifos_sockets_and_devices_are_left_and_counted)
{
	int fd = make_standin("i");
	put_file_in(standin_path("i"), "data", 0644, "kept");
	cr_assert(eq(int, mkfifo(standin_path("i/fifo"), 0644), 0));
	cr_assert(eq(int, mknod(standin_path("i/null"), S_IFCHR | 0666,
	    makedev(1, 3)), 0));
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", standin_path("i/sock"));
	cr_assert(eq(int, bind(s, (struct sockaddr *)&sa, sizeof sa), 0));
	struct standin_result r;
	standin_move(dirfd_, fd, "i-1", false, &roomy, &r);
	close(s);
	assert_moved(&r, "i-1");
	cr_assert(eq(i64, (int64_t)r.special, 3));
	cr_assert(exists(in_dir("i-1/data")));
	cr_assert(exists(standin_path("i/fifo")));
	cr_assert(exists(standin_path("i/null")));
	cr_assert(exists(standin_path("i/sock")));
}

/* ------------------------------------------------------------------ */
/* The loop's side: a name already taken below stand-ins/ is not used */

Test(standin, a_name_taken_in_any_form_is_not_used_again)
{
	static struct config cfg;
	char err[CONFIG_ERR_LEN], state[PATH_MAX];
	config_init(&cfg);
	snprintf(state, sizeof state, "%s/state", tmp_root);
	cr_assert(eq(int, config_set(&cfg, "state_dir", state, err,
	    sizeof err), 0), "%s", err);
	struct standins *s = standins_new(&cfg, NULL, NULL, NULL, NULL);
	char *first = standins_dest(s, "/db x");
	cr_assert(not(eq(ptr, first, NULL)));
	const char *base = strrchr(first, '/') + 1;
	cr_assert(eq(int, strncmp(first, dir, strlen(dir)), 0), "%s", first);
	cr_assert(eq(int, strncmp(base, "_db_x-", 6), 0), "%s", base);
	static const char *const forms[] = { "", STANDIN_PARTIAL_SUFFIX,
	    STANDIN_SHOWN_SUFFIX };
	for (size_t i = 0; i < 3; i++) {
		char taken[NAME_MAX + 1];
		snprintf(taken, sizeof taken, "%s%s", base, forms[i]);
		cr_assert(eq(int, mkdir(in_dir(taken), 0700), 0));
		char *next = standins_dest(s, "/db x");
		cr_assert(not(eq(str, next, first)), "%s is taken", taken);
		free(next);
		cr_assert(eq(int, rmdir(in_dir(taken)), 0));
	}
	free(first);
	standins_free(s);
	config_free(&cfg);
}
