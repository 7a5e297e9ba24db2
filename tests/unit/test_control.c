/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control.c: the control socket's limits (issue 19).  Children that
 * setuid() to ordinary users hold idle connections, as many as they may
 * and more; the agent's loop runs in the test; root, asking as
 * `wsl-docker-agent' would, still gets its answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/util.h"
#include "io/control.h"
#include "main/request.h"
#include "testlib.h"

#define USERS		9	/* 9 x 8 is more than the 64 users share */
#define PER_USER	8
#define FIRST_UID	1000

static struct test_agent t;

static void
setup(void)
{
	test_agent_setup(&t, "control");
	t.a.control = control_new(t.a.base, t.a.cfg.control_socket,
	    request_on_control, &t.a);
	cr_assert(not(eq(ptr, t.a.control, NULL)));
}

static void
teardown(void)
{
	test_agent_teardown(&t);
}

TestSuite(control, .init = setup, .fini = teardown, .timeout = 30);

/* Run the agent's loop until fd is readable (bounded): whether it is. */
static bool
pump_until_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	for (int i = 0; i < 500; i++) {
		if (poll(&pfd, 1, 0) == 1)
			return true;
		struct timeval tv = { 0, 10000 };
		event_base_loopexit(t.a.base, &tv);
		event_base_loop(t.a.base, EVLOOP_ONCE);
	}
	return poll(&pfd, 1, 0) == 1;
}

/* A line from fd, up to len - 1 bytes, or "" if none is there now. */
static void
line_now(int fd, char *buf, size_t len)
{
	size_t got = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	while (got < len - 1 && poll(&pfd, 1, 0) == 1) {
		ssize_t n = read(fd, buf + got, 1);
		if (n <= 0 || buf[got] == '\n')
			break;
		got++;
	}
	buf[got] = '\0';
}

struct holder {
	pid_t	 pid;
	int	 to;	/* 'r': report, then hold; close: go */
	int	 from;	/* "connected", then the report */
};

/*
 * A child as uid that opens n idle connections; told to, it reports how
 * many were refused and the first refusal's message, then holds the
 * others open until its pipe closes.
 */
static struct holder
hold(uid_t uid, int n)
{
	int to[2], from[2];
	cr_assert(eq(int, pipe2(to, O_CLOEXEC), 0));
	cr_assert(eq(int, pipe2(from, O_CLOEXEC), 0));
	pid_t pid = fork();
	cr_assert(ge(int, pid, 0));
	if (pid == 0) {
		close(to[1]);
		close(from[0]);
		int fds[64];
		if (n > 64 || setgid(uid) < 0 || setuid(uid) < 0)
			_exit(2);
		for (int i = 0; i < n; i++)
			if ((fds[i] = util_unix_connect(t.a.cfg.control_socket)) < 0)
				_exit(3);
		char c;
		if (write(from[1], "c", 1) != 1 || read(to[0], &c, 1) != 1)
			_exit(4);
		int refused = 0;
		char first[512] = "", line[512];
		for (int i = 0; i < n; i++) {
			line_now(fds[i], line, sizeof line);
			if (line[0] != '\0' && refused++ == 0)
				snprintf(first, sizeof first, "%s", line);
		}
		dprintf(from[1], "%d %s", refused, first);
		close(from[1]);
		(void)read(to[0], &c, 1);	/* until the test is done */
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	struct holder h = { pid, to[1], from[0] };
	cr_assert(pump_until_readable(h.from), "uid %u could not connect",
	    (unsigned)uid);
	char c;
	cr_assert(eq(int, (int)read(h.from, &c, 1), 1));
	/* Whatever the listener has not taken yet, it takes now. */
	event_base_loop(t.a.base, EVLOOP_NONBLOCK);
	return h;
}

/* How many the holder saw refused; the first message in msg. */
static int
report(struct holder *h, char *msg, size_t len)
{
	cr_assert(eq(int, (int)write(h->to, "r", 1), 1));
	char buf[640];
	ssize_t n = 0, r;
	while ((r = read(h->from, buf + n, sizeof buf - 1 - (size_t)n)) > 0)
		n += r;
	buf[n] = '\0';
	int refused = -1, used = 0;
	cr_assert(eq(int, sscanf(buf, "%d %n", &refused, &used), 1), "%s", buf);
	snprintf(msg, len, "%s", buf + used);
	return refused;
}

static void
release(struct holder *h)
{
	close(h->to);
	close(h->from);
	int st;
	cr_assert(eq(int, waitpid(h->pid, &st, 0), h->pid));
	bool clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	cr_assert(clean, "holder status %d", st);
}

Test(control, ordinary_users_cannot_lock_root_out)
{
	struct holder h[USERS];
	char msg[512];
	/* The first user asks for one more than it may hold. */
	h[0] = hold(FIRST_UID, PER_USER + 2);
	cr_assert(eq(int, report(&h[0], msg, sizeof msg), 2), "%s", msg);
	cr_assert(not(eq(ptr, strstr(msg, "\"ok\":false"), NULL)), "%s", msg);
	cr_assert(not(eq(ptr, strstr(msg, "uid 1000 already holds 8 control "
	    "connections, the most one user may at once"), NULL)), "%s", msg);
	/* Then eight users hold eight each: 72, over the 64 users share. */
	for (int u = 1; u < USERS; u++)
		h[u] = hold(FIRST_UID + (uid_t)u, PER_USER);
	int refused = 0;
	char last[512] = "";
	for (int u = 1; u < USERS; u++) {
		int r = report(&h[u], msg, sizeof msg);
		if (r > 0)
			snprintf(last, sizeof last, "%s", msg);
		refused += r;
	}
	cr_assert(eq(int, refused, USERS * PER_USER - 64), "%s", last);
	cr_assert(not(eq(ptr, strstr(last, "ordinary users hold 64 control "
	    "connections, the most they may at once"), NULL)), "%s", last);

	/* Root still gets in, for a change and for the status. */
	struct json_object *o = test_agent_ask(&t, "{\"request\":\"reconcile\"}");
	struct json_object *ok;
	cr_assert(json_object_object_get_ex(o, "ok", &ok) &&
	    json_object_get_boolean(ok), "%s", json_object_to_json_string(o));
	json_object_put(o);
	o = test_agent_ask(&t, "{\"request\":\"status\"}");
	cr_assert(json_object_object_get_ex(o, "healthy", NULL), "%s",
	    json_object_to_json_string(o));
	json_object_put(o);
	/* The last first: each later child holds the earlier ones' pipes. */
	for (int u = USERS; u-- > 0;)
		release(&h[u]);
}
