/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The splice proxy against real sockets.  A child process runs the proxy
 * on its own event base between a listening socket and an engine path in
 * a temporary directory; the test plays the client and, where it matters
 * what the engine sees, the engine too.  Otherwise a forked echo engine
 * answers.  The child takes commands (stats, set engine, close all) over a
 * pipe and its stderr comes back over another, so the tests can check what
 * it logged.
 *
 * Children are forked before any client socket exists, so none of them
 * holds a copy that would keep a connection open behind a test's back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>

#include "base/log.h"
#include "base/util.h"
#include "wire/http.h"
#include "io/proxy.h"
#include "testlib.h"

/* Generous bound for anything that should happen "promptly". */
#define WAIT_MS		2000
#define LOG_CAPTURE_MAX	(256 * 1024)

/* How a re-executed test binary knows it is to be the proxy child. */
#define PROXY_CHILD_ENV	"TEST_PROXY_CHILD"

struct proxy_cmd {
	char	cmd;			/* 'S'tats, set 'E'ngine, 'C'lose all */
	char	path[108];
};

struct proxy_opts {
	const char *engine;
	int	 max_conns;
	int	 fd_room;		/* > 0: fds left free under the limit */
	int	 refuse_binds;		/* 1: a create hook that refuses all */
};

static struct {
	char	 dir[64];
	char	 listen_path[128];
	char	 engine_path[128];
	char	 engine2_path[128];
	pid_t	 proxy_pid;
	int	 cmd_fd;		/* commands to the proxy child */
	int	 reply_fd;		/* its struct proxy_stats replies */
	int	 log_fd;		/* its stderr */
	pid_t	 engine_pid;
	char	*log;			/* what the child logged */
	size_t	 log_len;
} fx;

/* ------------------------------------------------------------------ */
/* Sockets and timed I/O, as a client or engine would do them. */

/* The peer ended the stream: EOF, or a reset because it closed at once. */
static void
expect_eof(int fd)
{
	cr_assert(wait_for(fd, POLLIN, WAIT_MS), "no EOF in %d ms", WAIT_MS);
	char c;
	ssize_t n = read(fd, &c, 1);
	cr_assert(n == 0 || (n < 0 && errno == ECONNRESET),
	    "expected EOF, read returned %zd (%s)", n,
	    n < 0 ? strerror(errno) : "data");
}

/* A client the proxy accepts and closes at once. */
static void
expect_refused(void)
{
	int fd = unix_connect(fx.listen_path);
	expect_eof(fd);
	close(fd);
}

/* Read len bytes and check they are `want'. */
static void
expect_bytes(int fd, const void *want, size_t len)
{
	unsigned char buf[256];
	cr_assert(le(sz, len, sizeof buf));
	read_exactly(fd, buf, len, WAIT_MS);
	cr_assert(eq(int, memcmp(buf, want, len), 0), "other bytes arrived");
}

static void
expect_echo(int fd, const char *text)
{
	write_all(fd, text, strlen(text));
	expect_bytes(fd, text, strlen(text));
}

/* ------------------------------------------------------------------ */
/* Child processes. */

/* Children die with the test process, whatever way it ends. */
static void
child_die_with_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(3);
}

/*
 * Keep only stdio and fds[] (closing what the child inherited from the
 * test runner), moved to the lowest numbers and open across exec, so
 * "n fds left" under a lowered RLIMIT_NOFILE means exactly n.
 */
static void
child_keep_only(int *fds, int n)
{
	int sorted[8];
	if (n > 8)
		_exit(4);
	memcpy(sorted, fds, sizeof *fds * (size_t)n);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			int t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	unsigned lo = 3;
	for (int i = 0; i < n; i++) {
		if ((unsigned)sorted[i] > lo)
			(void)close_range(lo, (unsigned)sorted[i] - 1, 0);
		lo = (unsigned)sorted[i] + 1;
	}
	(void)close_range(lo, ~0U, 0);
	for (int i = 0; i < n; i++) {
		int low = fcntl(fds[i], F_DUPFD, 3);
		if (low < 0)
			_exit(4);
		if (low < fds[i]) {
			close(fds[i]);
			fds[i] = low;
		} else {
			close(low);
		}
		if (fcntl(fds[i], F_SETFD, 0) < 0)
			_exit(4);
	}
}

static void
echo_until_eof(int fd)
{
	char buf[64 * 1024];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n; ) {
			ssize_t w = send(fd, buf + off, (size_t)(n - off),
			    MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return;
			off += w;
		}
	}
	/* Pass the half-close on, as an engine does when a request ends. */
	(void)shutdown(fd, SHUT_WR);
}

/* An engine that echoes every connection back, each in its own process. */
static void
engine_echo_start(const char *path)
{
	cr_assert(eq(int, fx.proxy_pid, 0), "start engines before the proxy");
	int lfd = unix_listen(path, 64);
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert(ge(int, pid, 0), "fork: %s", strerror(errno));
	if (pid == 0) {
		child_die_with_parent(parent);
		child_keep_only(&lfd, 1);
		signal(SIGCHLD, SIG_IGN);	/* workers reap themselves */
		pid_t engine = getpid();
		for (;;) {
			int fd = accept(lfd, NULL, NULL);
			if (fd < 0 && errno == EINTR)
				continue;
			if (fd < 0)
				_exit(1);
			if (fork() == 0) {
				child_die_with_parent(engine);
				close(lfd);
				echo_until_eof(fd);
				_exit(0);
			}
			close(fd);
		}
	}
	close(lfd);
	fx.engine_pid = pid;
}

struct proxy_child {
	struct event_base *base;
	struct proxy	*proxy;
	int		 cmd_fd;
	int		 reply_fd;
	int		 engine_fd;	/* O_PATH, as desktop.c holds it; or -1 */
};

/*
 * As desktop.c does after a walk: the engine socket at path (if any) as an
 * O_PATH descriptor, handed over before the old one is closed.
 */
static void
proxy_child_set_engine(struct proxy_child *ch, const char *path)
{
	int old = ch->engine_fd;
	ch->engine_fd = open(path, O_PATH | O_CLOEXEC);
	proxy_set_engine(ch->proxy, ch->engine_fd, path);
	if (old >= 0)
		close(old);
}

static void
proxy_child_command(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_child *ch = arg;
	struct proxy_cmd cmd;
	/* Commands are smaller than PIPE_BUF, so they arrive whole. */
	if (read(ch->cmd_fd, &cmd, sizeof cmd) != (ssize_t)sizeof cmd) {
		event_base_loopbreak(ch->base);
		return;
	}
	if (cmd.cmd == 'E')
		proxy_child_set_engine(ch, cmd.path);
	else if (cmd.cmd == 'C')
		proxy_close_all(ch->proxy);
	struct proxy_stats st;
	proxy_stats(ch->proxy, &st);
	if (write(ch->reply_fd, &st, sizeof st) != (ssize_t)sizeof st)
		event_base_loopbreak(ch->base);
}

/* Leave exactly `room' free fds below RLIMIT_NOFILE. */
static void
child_limit_fds(int room)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		_exit(4);
	int open_fds = 0, max_fd = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		open_fds++;
		if (fd > max_fd)
			max_fd = fd;
	}
	closedir(d);
	rlim_t limit = (rlim_t)(open_fds + room);
	struct rlimit rl = { limit, limit };
	if ((rlim_t)max_fd >= limit || setrlimit(RLIMIT_NOFILE, &rl) < 0)
		_exit(4);
}

/* The child's create hook, when asked for: every bind source refused. */
static int
refuse_every_bind(void *arg, const struct http_bind_source *s,
    char **replacement, char *why, size_t whylen)
{
	snprintf(why, whylen, "%s: refused by the test", s->path);
	return -1;
}

static void __attribute__((noreturn))
proxy_child_run(const struct proxy_opts *o, int lfd, int cmd_fd, int reply_fd)
{
	log_open(false, LOG_LVL_DEBUG);
	struct event_base *base = event_base_new();
	if (base == NULL)
		_exit(2);
	struct proxy *p = proxy_new(base, lfd, -1, o->engine, o->max_conns);
	if (p == NULL)
		_exit(2);
	if (o->refuse_binds)
		proxy_set_create_hook(p, refuse_every_bind, NULL);
	struct proxy_child ch = { base, p, cmd_fd, reply_fd, -1 };
	proxy_child_set_engine(&ch, o->engine);
	struct event *ev = event_new(base, cmd_fd, EV_READ | EV_PERSIST,
	    proxy_child_command, &ch);
	if (ev == NULL || event_add(ev, NULL) < 0)
		_exit(2);
	if (o->fd_room > 0)
		child_limit_fds(o->fd_room);
	if (event_base_dispatch(base) < 0)
		_exit(2);
	/* Stopping with connections open is part of what is tested. */
	event_free(ev);
	proxy_free(p);
	if (ch.engine_fd >= 0)
		close(ch.engine_fd);
	event_base_free(base);
	libevent_global_shutdown();
	log_forget_all();
	close(lfd);
	/* exit(), not _exit(): in sanitizer builds LeakSanitizer runs now. */
	exit(0);
}

/*
 * The proxy child is this binary run again, not just a fork: a fork of
 * Criterion's multi-threaded runner would hide leaks from LeakSanitizer.
 * The constructor takes over before Criterion's main() ever runs.
 */
__attribute__((constructor)) static void
proxy_child_entry(void)
{
	const char *spec = getenv(PROXY_CHILD_ENV);
	if (spec == NULL)
		return;
	struct proxy_opts o;
	int lfd, cmd_fd, reply_fd, used = 0;
	if (sscanf(spec, "%d %d %d %d %d %d %n", &lfd, &cmd_fd, &reply_fd,
	    &o.max_conns, &o.fd_room, &o.refuse_binds, &used) != 6 ||
	    used == 0)
		_exit(2);
	o.engine = spec + used;
	proxy_child_run(&o, lfd, cmd_fd, reply_fd);
}

static void
proxy_start_with(const struct proxy_opts *o)
{
	int lfd = unix_listen(fx.listen_path, 128);
	cr_assert(eq(int, fcntl(lfd, F_SETFL, O_NONBLOCK), 0));
	int cmd[2], reply[2], logp[2];
	cr_assert(eq(int, pipe2(cmd, O_CLOEXEC), 0));
	cr_assert(eq(int, pipe2(reply, O_CLOEXEC), 0));
	cr_assert(eq(int, pipe2(logp, O_CLOEXEC), 0));
	/* Room for every line, so the child never blocks on its log. */
	(void)fcntl(logp[1], F_SETPIPE_SZ, 1024 * 1024);
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert(ge(int, pid, 0), "fork: %s", strerror(errno));
	if (pid == 0) {
		child_die_with_parent(parent);
		if (dup2(logp[1], STDERR_FILENO) < 0)
			_exit(2);
		int fds[3] = { lfd, cmd[0], reply[1] };
		child_keep_only(fds, 3);
		char spec[256];
		snprintf(spec, sizeof spec, "%d %d %d %d %d %d %s", fds[0],
		    fds[1], fds[2], o->max_conns, o->fd_room, o->refuse_binds,
		    o->engine);
		if (setenv(PROXY_CHILD_ENV, spec, 1) < 0)
			_exit(2);
		char *argv[] = { "test_proxy (proxy child)", NULL };
		execv("/proc/self/exe", argv);
		_exit(5);
	}
	close(lfd);
	close(cmd[0]);
	close(reply[1]);
	close(logp[1]);
	fx.proxy_pid = pid;
	fx.cmd_fd = cmd[1];
	fx.reply_fd = reply[0];
	fx.log_fd = logp[0];
}

static void
proxy_start(const char *engine, int max_conns)
{
	struct proxy_opts o = { .engine = engine, .max_conns = max_conns };
	proxy_start_with(&o);
}

static struct proxy_stats
proxy_command(char what, const char *path)
{
	struct proxy_cmd cmd = { .cmd = what };
	if (path != NULL)
		snprintf(cmd.path, sizeof cmd.path, "%s", path);
	cr_assert(eq(sz, (size_t)write(fx.cmd_fd, &cmd, sizeof cmd),
	    sizeof cmd), "the proxy child is gone");
	struct proxy_stats st;
	cr_assert(wait_for(fx.reply_fd, POLLIN, WAIT_MS), "the proxy is stuck");
	cr_assert(eq(sz, (size_t)read(fx.reply_fd, &st, sizeof st), sizeof st),
	    "the proxy child is gone");
	return st;
}

static struct proxy_stats
proxy_get_stats(void)
{
	return proxy_command('S', NULL);
}

/* For what the proxy does after a client can see anything. */
static struct proxy_stats
proxy_wait_for_active(uint64_t active)
{
	struct proxy_stats st;
	uint64_t deadline = util_now_ms() + WAIT_MS;
	while ((st = proxy_get_stats()).active != active &&
	    util_now_ms() < deadline)
		(void)poll(NULL, 0, 5);
	cr_assert(eq(u64, st.active, active), "connections still open");
	return st;
}

/*
 * Collect what the child logged until it closes stderr, which it does by
 * exiting.  Returns whether that happened in time.
 */
static bool
proxy_collect_log(void)
{
	if (fx.log_fd < 0)
		return true;
	if (fx.log == NULL)
		fx.log = calloc(1, LOG_CAPTURE_MAX + 1);
	bool ended = false;
	uint64_t deadline = util_now_ms() + 2 * WAIT_MS;
	while (fx.log != NULL && util_now_ms() < deadline &&
	    wait_for(fx.log_fd, POLLIN, WAIT_MS)) {
		char buf[4096];
		ssize_t n = read(fx.log_fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ended = true;
			break;
		}
		size_t take = (size_t)n;
		if (take > LOG_CAPTURE_MAX - fx.log_len)
			take = LOG_CAPTURE_MAX - fx.log_len;
		memcpy(fx.log + fx.log_len, buf, take);
		fx.log_len += take;
	}
	close(fx.log_fd);
	fx.log_fd = -1;
	/* Shown in the test log, for whoever debugs a failure. */
	if (fx.log != NULL)
		fputs(fx.log, stderr);
	return ended;
}

/* End the child cleanly: proxy_free() with whatever is open, no leaks. */
static void
proxy_stop(void)
{
	close(fx.cmd_fd);
	fx.cmd_fd = -1;
	cr_assert(proxy_collect_log(), "the proxy child did not exit");
	int status;
	cr_assert(eq(int, waitpid(fx.proxy_pid, &status, 0), fx.proxy_pid));
	fx.proxy_pid = 0;
	/* Raw status 0: exited with code 0 (LeakSanitizer exits with 23). */
	cr_assert(eq(int, status, 0), "the proxy child ended badly (status "
	    "%#x)", status);
}

static int
log_count(const char *needle)
{
	int count = 0;
	const char *p = fx.log;
	while (p != NULL && (p = strstr(p, needle)) != NULL) {
		count++;
		p += strlen(needle);
	}
	return count;
}

/* ------------------------------------------------------------------ */
/* Fixture. */

static void
fx_setup(void)
{
	memset(&fx, 0, sizeof fx);
	fx.cmd_fd = fx.reply_fd = fx.log_fd = -1;
	snprintf(fx.dir, sizeof fx.dir, "/tmp/test_proxy.XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(fx.dir), NULL)), "mkdtemp: %s",
	    strerror(errno));
	snprintf(fx.listen_path, sizeof fx.listen_path, "%s/docker.sock",
	    fx.dir);
	snprintf(fx.engine_path, sizeof fx.engine_path, "%s/engine.sock",
	    fx.dir);
	snprintf(fx.engine2_path, sizeof fx.engine2_path, "%s/engine2.sock",
	    fx.dir);
	/* A closed peer must fail a send, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
}

static void
child_kill(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
}

/* Runs after failures too: nothing may outlive the test. */
static void
fx_teardown(void)
{
	child_kill(&fx.proxy_pid);
	child_kill(&fx.engine_pid);
	(void)proxy_collect_log();
	if (fx.cmd_fd >= 0)
		close(fx.cmd_fd);
	if (fx.reply_fd >= 0)
		close(fx.reply_fd);
	free(fx.log);
	fx.log = NULL;
	unlink(fx.listen_path);
	unlink(fx.engine_path);
	unlink(fx.engine2_path);
	rmdir(fx.dir);
}

TestSuite(proxy, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

/* ------------------------------------------------------------------ */

static void
fill_random(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)(x >> 24);
	}
}

static size_t
first_difference(const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t i = 0;
	while (i < len && a[i] == b[i])
		i++;
	return i;
}

/* The test as the engine: one client through the proxy, both ends. */
struct link {
	int	listener;		/* the engine's socket */
	int	client;
	int	engine;			/* the engine's end of that client */
};

static struct link
link_through_proxy(void)
{
	struct link l;
	l.listener = unix_listen(fx.engine_path, 8);
	proxy_start(fx.engine_path, 16);
	l.client = unix_connect(fx.listen_path);
	l.engine = accept_within(l.listener, WAIT_MS);
	return l;
}

static void
link_close(struct link *l)
{
	if (l->engine >= 0)
		close(l->engine);
	close(l->client);
	close(l->listener);
}

Test(proxy, forwards_8_mib_byte_exact)
{
	const size_t total = 8 * 1024 * 1024;
	engine_echo_start(fx.engine_path);
	proxy_start(fx.engine_path, 16);

	unsigned char *out = malloc(total), *in = malloc(total);
	cr_assert(out != NULL && in != NULL);
	fill_random(out, total, 0x9e3779b97f4a7c15ULL);
	int fd = unix_connect(fx.listen_path);
	cr_assert(eq(int, fcntl(fd, F_SETFL, O_NONBLOCK), 0));

	/* Write and read at once: no buffer in the path holds 8 MiB. */
	size_t sent = 0, got = 0;
	bool eof = false;
	while (!eof) {
		short events = POLLIN | (sent < total ? POLLOUT : 0);
		cr_assert(wait_for(fd, events, WAIT_MS),
		    "stalled: sent %zu, received %zu", sent, got);
		if (sent < total) {
			size_t chunk = total - sent;
			if (chunk > 65536)
				chunk = 65536;
			ssize_t n = send(fd, out + sent, chunk, MSG_NOSIGNAL);
			cr_assert(n > 0 || errno == EAGAIN, "send: %s",
			    strerror(errno));
			if (n > 0)
				sent += (size_t)n;
			if (sent == total)
				cr_assert(eq(int, shutdown(fd, SHUT_WR), 0));
		}
		char extra;
		ssize_t n = got < total ? read(fd, in + got, total - got) :
		    read(fd, &extra, 1);
		cr_assert(n >= 0 || errno == EAGAIN, "read: %s",
		    strerror(errno));
		cr_assert(got < total || n <= 0, "more came back than sent");
		if (n == 0)
			eof = true;
		else if (n > 0)
			got += (size_t)n;
	}
	cr_assert(eq(sz, got, total));
	cr_assert(eq(int, memcmp(in, out, total), 0), "first difference at %zu",
	    first_difference(in, out, total));
	free(in);
	free(out);
	close(fd);

	struct proxy_stats st = proxy_get_stats();
	cr_assert(eq(u64, st.bytes_up, total));
	cr_assert(eq(u64, st.bytes_down, total));
	cr_assert(eq(u64, st.total, 1));
	cr_assert(eq(u64, st.active, 0));
	cr_assert(eq(u64, st.errors, 0));
	proxy_stop();
}

/* Has the reader taken all the engine wrote (SIOCOUTQ back to 0)? */
static bool
taken_within(int fd, int ms)
{
	for (int waited = 0; waited <= ms; waited++) {
		int outq = -1;
		cr_assert(eq(int, ioctl(fd, SIOCOUTQ, &outq), 0));
		if (outq == 0)
			return true;
		struct timespec tick = { 0, 1000000 };
		nanosleep(&tick, NULL);
	}
	return false;
}

/*
 * A download to a client that does not read yet (docker save into a slow
 * pipe): while the proxy's pipe has room it goes on taking what the engine
 * writes, even when the engine pauses between writes.  It once took a
 * pause for a full pipe and stopped at the client's socket buffer.
 */
Test(proxy, a_slow_client_does_not_stall_the_engine_while_the_pipe_has_room)
{
	struct link l = link_through_proxy();
	cr_assert(eq(int, fcntl(l.engine, F_SETFL, O_NONBLOCK), 0));
	static char piece[32 * 1024];
	memset(piece, 'x', sizeof piece);
	size_t taken = 0;
	while (taken < 4 * 1024 * 1024) {
		ssize_t n = send(l.engine, piece, sizeof piece, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			break;
		cr_assert(gt(int, (int)n, 0), "send: %s", strerror(errno));
		if (!taken_within(l.engine, 1000))
			break;		/* the proxy stopped reading the engine */
		taken += (size_t)n;
	}
	/* The client's socket holds ~200 KiB; the pipe grows to 1 MiB. */
	cr_assert(ge(sz, taken, (size_t)768 * 1024), "the proxy stopped "
	    "reading the engine after %zu bytes although its pipe had room",
	    taken);
	link_close(&l);
	proxy_stop();
}

Test(proxy, half_close_reaches_the_engine_and_the_reply_comes_back)
{
	struct link l = link_through_proxy();

	/* `echo hi | docker exec -i`: stdin ends, the output must not. */
	const char request[] = "hi\n";
	write_all(l.client, request, sizeof request - 1);
	cr_assert(eq(int, shutdown(l.client, SHUT_WR), 0));
	expect_bytes(l.engine, request, sizeof request - 1);
	expect_eof(l.engine);

	size_t len = 100 * 1024;
	unsigned char *reply = malloc(len), *seen = malloc(len);
	cr_assert(reply != NULL && seen != NULL);
	fill_random(reply, len, 42);
	write_all(l.engine, reply, len);
	close(l.engine);
	l.engine = -1;
	read_exactly(l.client, seen, len, WAIT_MS);
	cr_assert(eq(int, memcmp(seen, reply, len), 0));
	expect_eof(l.client);
	free(reply);
	free(seen);
	link_close(&l);

	struct proxy_stats st = proxy_wait_for_active(0);
	cr_assert(eq(u64, st.errors, 0));
	cr_assert(eq(u64, st.bytes_up, sizeof request - 1));
	cr_assert(eq(u64, st.bytes_down, len));
	proxy_stop();
}

/*
 * The engine has ended its side, and the client then sends a create the
 * hook refuses: the proxy ends the connection and carries on (it once
 * went on reading that connection's freed block).
 */
Test(proxy, a_create_refused_after_the_engine_ended_closes_cleanly)
{
	engine_echo_start(fx.engine2_path);	/* for the client after */
	int listener = unix_listen(fx.engine_path, 8);
	struct proxy_opts o = { .engine = fx.engine_path, .max_conns = 16,
	    .refuse_binds = 1 };
	proxy_start_with(&o);
	int client = unix_connect(fx.listen_path);
	int engine = accept_within(listener, WAIT_MS);
	cr_assert(eq(int, shutdown(engine, SHUT_WR), 0));
	expect_eof(client);

	const char body[] = "{\"HostConfig\":{\"Binds\":[\"/src:/dst\"]}}";
	char request[512];
	int len = snprintf(request, sizeof request, "POST /containers/create "
	    "HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", sizeof body - 1, body);
	write_all(client, request, (size_t)len);
	expect_eof(engine);
	proxy_wait_for_active(0);
	close(engine);
	close(client);
	close(listener);

	/* Still serving, and ends cleanly (no sanitizer report). */
	(void)proxy_command('E', fx.engine2_path);
	client = unix_connect(fx.listen_path);
	/* This connection follows HTTP too: a request, echoed. */
	expect_echo(client, "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n");
	close(client);
	proxy_wait_for_active(0);
	proxy_stop();
	cr_assert(eq(int, log_count("refused a container create"), 1));
}

/*
 * The engine died and its socket stayed (Docker Desktop stopping): each
 * client is closed at once, one connect each, never retried in a loop.
 */
Test(proxy, engine_down_closes_clients_at_once_and_logs_once)
{
	close(unix_listen(fx.engine_path, 8));	/* a socket nobody serves */
	proxy_start(fx.engine_path, 16);
	for (int i = 0; i < 3; i++)
		expect_refused();
	struct proxy_stats st = proxy_get_stats();
	cr_assert(eq(u64, st.refused, 3));
	cr_assert(eq(u64, st.total, 3));
	cr_assert(eq(u64, st.active, 0));
	cr_assert(eq(u64, st.errors, 0));

	/*
	 * The engine comes back on a new socket at the same path; the walk
	 * that follows (desktop.c) hands it over: clients get through again.
	 */
	cr_assert(eq(int, unlink(fx.engine_path), 0));
	int elfd = unix_listen(fx.engine_path, 8);
	int old = unix_connect(fx.listen_path);
	expect_eof(old);	/* still the old socket: refused, no loop */
	close(old);
	(void)proxy_command('E', fx.engine_path);
	int cfd = unix_connect(fx.listen_path);
	int efd = accept_within(elfd, WAIT_MS);
	write_all(cfd, "ping", 4);
	expect_bytes(efd, "ping", 4);
	st = proxy_get_stats();
	cr_assert(eq(u64, st.refused, 4));
	cr_assert(eq(u64, st.active, 1));
	close(efd);
	close(cfd);
	close(elfd);
	proxy_stop();
	cr_assert(eq(int, log_count("cannot connect to the engine"), 1),
	    "the failure should be logged once, not per client");
	cr_assert(eq(int, log_count("reachable again"), 1));
}

static bool
readable_soon(int fd)
{
	return wait_for(fd, POLLIN, WAIT_MS);
}

/*
 * No engine socket walked to (issue 19): every client is told why at
 * once, and nothing is connected to, not even what the path names.
 */
Test(proxy, without_an_engine_descriptor_clients_are_told_and_nothing_is_tried)
{
	proxy_start(fx.engine_path, 16);	/* nothing there when it looked */
	(void)proxy_get_stats();		/* ...which it has, once it answers */
	int planted = unix_listen(fx.engine_path, 8);	/* there now */
	char reply[2048];
	ask_socket(fx.listen_path, "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n",
	    reply, sizeof reply, readable_soon);
	cr_assert(eq(int, strncmp(reply, "HTTP/1.1 503 ", 13), 0), "%s", reply);
	cr_assert(not(eq(ptr, strstr(reply, "there is no trusted Docker Desktop "
	    "engine socket to connect to"), NULL)), "%s", reply);
	cr_assert(not(wait_for(planted, POLLIN, 0)), "connected by path");
	struct proxy_stats st = proxy_get_stats();
	cr_assert(eq(u64, st.refused, 1));
	cr_assert(eq(u64, st.active, 0));
	close(planted);
	proxy_stop();
}

Test(proxy, engine_closing_mid_stream_ends_the_client_stream)
{
	struct link l = link_through_proxy();
	write_all(l.engine, "event 1\n", 8);	/* `docker events` under way */
	expect_bytes(l.client, "event 1\n", 8);
	close(l.engine);		/* the engine restarts */
	l.engine = -1;
	expect_eof(l.client);
	link_close(&l);
	struct proxy_stats st = proxy_wait_for_active(0);
	cr_assert(eq(u64, st.errors, 0));
	proxy_stop();
}

Test(proxy, engine_dying_with_unread_data_closes_the_client_at_once)
{
	struct link l = link_through_proxy();
	write_all(l.client, "request", 7);
	/* Wait until it reached the engine, then die without reading it. */
	cr_assert(wait_for(l.engine, POLLIN, WAIT_MS));
	close(l.engine);
	l.engine = -1;
	expect_eof(l.client);
	/* The whole connection is gone, not just one direction. */
	struct proxy_stats st = proxy_wait_for_active(0);
	cr_assert(eq(u64, st.errors, 1));
	link_close(&l);
	proxy_stop();
}

Test(proxy, over_the_cap_a_client_is_closed_and_the_others_work)
{
	engine_echo_start(fx.engine_path);
	proxy_start(fx.engine_path, 2);
	int a = unix_connect(fx.listen_path);
	expect_echo(a, "a");
	int b = unix_connect(fx.listen_path);
	expect_echo(b, "b");
	expect_refused();
	expect_echo(a, "a again");
	expect_echo(b, "b again");
	struct proxy_stats st = proxy_get_stats();
	cr_assert(eq(u64, st.refused, 1));
	cr_assert(eq(u64, st.active, 2));
	cr_assert(eq(u64, st.total, 3));

	/* A slot freed is a slot available. */
	close(a);
	proxy_wait_for_active(1);
	int d = unix_connect(fx.listen_path);
	expect_echo(d, "d");
	close(b);
	close(d);
	proxy_stop();
	cr_assert(eq(int, log_count("connection cap 2 reached"), 1));
	cr_assert(eq(int, log_count("socket.max_connections"), 1));
}

Test(proxy, set_engine_moves_new_connections_only)
{
	int e1 = unix_listen(fx.engine_path, 8);
	int e2 = unix_listen(fx.engine2_path, 8);
	proxy_start(fx.engine_path, 16);
	int c1 = unix_connect(fx.listen_path);
	int s1 = accept_within(e1, WAIT_MS);

	proxy_command('E', fx.engine2_path);	/* replies once applied */
	int c2 = unix_connect(fx.listen_path);
	int s2 = accept_within(e2, WAIT_MS);
	/* The proxy connects while accepting, so e1 would have it by now. */
	cr_assert(not(wait_for(e1, POLLIN, 0)), "engine 1 got a new client");

	write_all(c1, "one", 3);
	expect_bytes(s1, "one", 3);
	write_all(s2, "two", 3);
	expect_bytes(c2, "two", 3);
	close(c1);
	close(c2);
	close(s1);
	close(s2);
	close(e1);
	close(e2);
	proxy_stop();
}

Test(proxy, close_all_ends_every_open_stream)
{
	engine_echo_start(fx.engine_path);
	proxy_start(fx.engine_path, 16);
	int a = unix_connect(fx.listen_path);
	int b = unix_connect(fx.listen_path);
	expect_echo(a, "a");
	expect_echo(b, "b");
	struct proxy_stats st = proxy_command('C', NULL);
	cr_assert(eq(u64, st.active, 0));
	expect_eof(a);
	expect_eof(b);
	close(a);
	close(b);
	/* And it keeps serving afterwards. */
	int c = unix_connect(fx.listen_path);
	expect_echo(c, "c");
	close(c);
	proxy_stop();
}

Test(proxy, full_engine_backlog_is_waited_out_not_refused)
{
	/* Backlog 0: one unaccepted connection fills it; then EAGAIN. */
	int elfd = unix_listen(fx.engine_path, 0);
	proxy_start(fx.engine_path, 16);
	int a = unix_connect(fx.listen_path);
	cr_assert(wait_for(elfd, POLLIN, WAIT_MS), "a did not get through");
	int b = unix_connect(fx.listen_path);
	int sa = accept_within(elfd, WAIT_MS);
	int sb = accept_within(elfd, WAIT_MS);	/* the proxy's retry */
	write_all(a, "A", 1);
	expect_bytes(sa, "A", 1);
	write_all(b, "B", 1);
	expect_bytes(sb, "B", 1);
	struct proxy_stats st = proxy_get_stats();
	cr_assert(eq(u64, st.refused, 0));
	cr_assert(eq(u64, st.active, 2));
	close(a);
	close(b);
	close(sa);
	close(sb);
	close(elfd);
	proxy_stop();
}

/* An echo engine, and a proxy with only `room' fds to spare. */
static void
proxy_start_short_of_fds(int room)
{
	engine_echo_start(fx.engine_path);
	struct proxy_opts o = { .engine = fx.engine_path, .max_conns = 16,
	    .fd_room = room };
	proxy_start_with(&o);
}

Test(proxy, out_of_fds_pauses_accepting_without_spinning)
{
	/* Room for exactly one connection: client, engine and two pipes. */
	proxy_start_short_of_fds(6);
	int a = unix_connect(fx.listen_path);
	expect_echo(a, "a");

	/* b waits in the backlog: the proxy cannot accept it yet... */
	int b = unix_connect(fx.listen_path);
	long before = cpu_ticks(fx.proxy_pid);
	cr_assert(not(wait_for(b, POLLIN, 500)), "b was closed or answered");
	long spent = cpu_ticks(fx.proxy_pid) - before;
	/* A spinning accept loop would use all of the 500 ms. */
	cr_assert(lt(long, spent, sysconf(_SC_CLK_TCK) / 5),
	    "the proxy used %ld ticks while paused", spent);
	expect_echo(a, "a still works");

	/* ...and serves it once a connection gives its fds back. */
	close(a);
	expect_echo(b, "b");
	struct proxy_stats st = proxy_get_stats();
	cr_assert(eq(u64, st.refused, 0));
	cr_assert(eq(u64, st.active, 1));
	close(b);
	proxy_stop();
	cr_assert(eq(int, log_count("raise LimitNOFILE"), 1));
}

Test(proxy, out_of_fds_for_pipes_closes_the_client_at_once)
{
	/* Room for the client and engine sockets, not for their pipes. */
	proxy_start_short_of_fds(3);
	expect_refused();
	struct proxy_stats st = proxy_get_stats();
	cr_assert(eq(u64, st.refused, 1));
	cr_assert(eq(u64, st.active, 0));
	proxy_stop();
	cr_assert(eq(int, log_count("raise LimitNOFILE"), 1));
}
