/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sys/supervise.c: `start''s supervisor, against a stand-in agent (a small
 * Python program speaking sd_notify(3) as the agent does: READY=1, and
 * FDSTORE=1 with a descriptor).  Each test runs the supervisor in a child
 * process, as `start' does, and reads what each agent it ran reported.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/defs.h"
#include "sys/supervise.h"
#include "testlib.h"

/*
 * The stand-in agent.  Each run appends one line to REPORT: its pid, the
 * environment the supervisor gave it, and for a descriptor it was passed
 * (LISTEN_FDS) the inode of the socket; then it does what MODE says.
 *   keep: READY=1, stores one end of a new socketpair (the first run
 *         only), then dies by SIGKILL on the first run, waits for
 *         SIGTERM on the second.
 *   final: exits 78 (bad configuration) before it is ready.
 *   late: READY=1, then exits 78: a restart cannot fix it.
 *   loop: READY=1 on the first run, then dies at once on every run.
 */
static const char agent_py[] =
"import os, signal, socket, sys, time\n"
"mode, report = sys.argv[1], sys.argv[2]\n"
"runs = sum(1 for _ in open(report)) if os.path.exists(report) else 0\n"
"ino = '-'\n"
"if os.environ.get('LISTEN_PID') == str(os.getpid()):\n"
"    ino = str(os.fstat(3).st_ino)\n"
"with open(report, 'a') as f:\n"
"    f.write('%d %s %s %s %s %s|%s\\n' % (os.getpid(),\n"
"        os.environ.get('WDA_SUPERVISED', '-'),\n"
"        os.environ.get('WDA_RESTARTS', '-'),\n"
"        os.environ.get('WDA_RESTART_DELAY_MS', '-'),\n"
"        os.environ.get('LISTEN_FDNAMES', '-'), ino,\n"
"        os.environ.get('WDA_LAST_DEATH', '-')))\n"
"def notify(msg, fds=()):\n"
"    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
"    s.connect(os.environ['NOTIFY_SOCKET'])\n"
"    if fds:\n"
"        socket.send_fds(s, [msg.encode()], list(fds))\n"
"    else:\n"
"        s.send(msg.encode())\n"
"if mode == 'final':\n"
"    sys.exit(78)\n"
"if mode == 'loop' and runs > 0:\n"
"    os.kill(os.getpid(), signal.SIGKILL)\n"
"notify('READY=1')\n"
"if mode == 'late':\n"
"    sys.exit(78)\n"
"if mode == 'keep' and runs == 0:\n"
"    a, b = socket.socketpair()\n"
"    with open(report + '.ino', 'w') as f:\n"
"        f.write(str(os.fstat(a.fileno()).st_ino))\n"
"    notify('FDSTORE=1\\nFDNAME=docker-sock', [a.fileno()])\n"
"    time.sleep(0.2)\n"
"    os.kill(os.getpid(), signal.SIGKILL)\n"
"if mode == 'loop':\n"
"    os.kill(os.getpid(), signal.SIGKILL)\n"
"signal.sigwait([signal.SIGTERM])\n";

static char dir[PATH_MAX], script[PATH_MAX + 16], report[PATH_MAX + 16];
static char notify_path[PATH_MAX + 16];
static pid_t sup;
static int ready_r = -1;

static void
setup(void)
{
	make_temp_dir(dir, sizeof dir, "supervise");
	snprintf(script, sizeof script, "%s/agent.py", dir);
	snprintf(report, sizeof report, "%s/report", dir);
	snprintf(notify_path, sizeof notify_path, "%s/notify.sock", dir);
	FILE *f = fopen(script, "we");
	cr_assert(not(eq(ptr, f, NULL)));
	fputs(agent_py, f);
	fclose(f);
}

static void
teardown(void)
{
	if (sup > 0) {
		kill(sup, SIGKILL);
		waitpid(sup, NULL, 0);
		sup = 0;
	}
	if (ready_r >= 0)
		close(ready_r);
	ready_r = -1;
	remove_tree(dir);
}

TestSuite(supervise, .init = setup, .fini = teardown, .timeout = 60);

/* The supervisor, in a child, running the stand-in in `mode'. */
static void
start_supervisor(const char *mode)
{
	int p[2];
	cr_assert(eq(int, pipe2(p, O_CLOEXEC), 0));
	sup = fork();
	cr_assert(ge(int, sup, 0));
	if (sup == 0) {
		char *const argv[] = { (char *)"python3", script, (char *)mode,
		    report, NULL };
		const struct supervise_opts o = { .exe = "/usr/bin/python3",
		    .argv = argv, .notify_path = notify_path, .ready_fd = p[1] };
		close(p[0]);
		_exit(supervise_run(&o));
	}
	close(p[1]);
	ready_r = p[0];
}

/* What the supervisor told `start' (its pipe, until it closed). */
static void
told(char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;
	while (n < len - 1 && (r = read(ready_r, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

static int
report_lines(void)
{
	FILE *f = fopen(report, "re");
	int n = 0, c;
	if (f == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Line n (0-based) of the report, in fields. */
static void
report_line(int n, char *line, size_t len)
{
	FILE *f = fopen(report, "re");
	cr_assert(not(eq(ptr, f, NULL)));
	for (int i = 0; i <= n; i++)
		cr_assert(not(eq(ptr, fgets(line, (int)len, f), NULL)),
		    "no line %d in the report", n);
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
}

static void
wait_lines(int n)
{
	for (int i = 0; i < 1000 && report_lines() < n; i++)
		usleep(10000);	/* the test's clock, bounded: 10 s */
	cr_assert(ge(int, report_lines(), n), "only %d agent runs reported",
	    report_lines());
}

static int
stop_supervisor(void)
{
	int ws;
	cr_assert(eq(int, kill(sup, SIGTERM), 0));
	cr_assert(eq(int, waitpid(sup, &ws, 0), sup));
	sup = 0;
	bool exited = WIFEXITED(ws);
	cr_assert(exited, "it exited");
	return WEXITSTATUS(ws);
}

Test(supervise, a_killed_agent_comes_back_with_what_it_handed_over)
{
	char buf[256], line[512], ino[64] = "";
	start_supervisor("keep");
	told(buf, sizeof buf);
	cr_assert(eq(str, buf, "ok\n"), "start is told the agent is ready");
	wait_lines(2);
	report_line(0, line, sizeof line);
	cr_assert(not(eq(ptr, strstr(line, " 1 0 0 - -|-"), NULL)),
	    "the first run: supervised, no restart, nothing passed: %s", line);
	report_line(1, line, sizeof line);
	FILE *f = fopen(strcat(strcpy(buf, report), ".ino"), "re");
	cr_assert(not(eq(ptr, f, NULL)));
	cr_assert(not(eq(ptr, fgets(ino, sizeof ino, f), NULL)));
	fclose(f);
	char want[128];
	snprintf(want, sizeof want, " 1 1 100 docker-sock %s|killed by signal 9",
	    ino);
	cr_assert(not(eq(ptr, strstr(line, want), NULL)),
	    "the second run got the same socket back, named, and was told of "
	    "the death: %s (want %s)", line, want);
	int rc = stop_supervisor();
	cr_assert(eq(int, rc, 0), "stop ends it: 0");
	cr_assert(eq(int, report_lines(), 2), "nothing restarted after stop");
	struct stat st;
	cr_assert(eq(int, stat(notify_path, &st), -1), "its socket is gone");
}

Test(supervise, an_agent_that_fails_before_ready_is_not_restarted)
{
	char buf[256];
	start_supervisor("final");
	told(buf, sizeof buf);
	cr_assert(not(eq(ptr, strstr(buf, "exited with status 78 before it was "
	    "ready"), NULL)), "start is told why: %s", buf);
	int ws;
	cr_assert(eq(int, waitpid(sup, &ws, 0), sup));
	sup = 0;
	bool exited = WIFEXITED(ws);
	cr_assert(exited, "it exited");
	cr_assert(eq(int, WEXITSTATUS(ws), 78), "its status is start's");
	cr_assert(eq(int, report_lines(), 1));
}

Test(supervise, a_status_no_restart_can_fix_ends_the_supervisor)
{
	char buf[256];
	start_supervisor("late");
	told(buf, sizeof buf);
	cr_assert(eq(str, buf, "ok\n"));
	int ws;
	cr_assert(eq(int, waitpid(sup, &ws, 0), sup));
	sup = 0;
	bool exited = WIFEXITED(ws);
	cr_assert(exited, "it exited");
	cr_assert(eq(int, WEXITSTATUS(ws), 78));
	cr_assert(eq(int, report_lines(), 1), "not restarted");
}

Test(supervise, a_crash_loop_is_restarted_later_and_later)
{
	char buf[256], line[512];
	start_supervisor("loop");
	told(buf, sizeof buf);
	cr_assert(eq(str, buf, "ok\n"));
	wait_lines(5);
	/* The delays each restart waited, as the agent is told them. */
	static const char *const want[] = { " 0 0 ", " 1 100 ", " 2 200 ",
	    " 3 400 ", " 4 800 " };
	for (int i = 0; i < 5; i++) {
		report_line(i, line, sizeof line);
		cr_assert(not(eq(ptr, strstr(line, want[i]), NULL)),
		    "run %d: %s (want restarts and delay%s)", i, line, want[i]);
	}
	int rc = stop_supervisor();
	cr_assert(eq(int, rc, 0));
}

Test(supervise, only_its_own_agent_is_heard)
{
	char buf[256];
	start_supervisor("keep");
	told(buf, sizeof buf);
	cr_assert(eq(str, buf, "ok\n"));
	wait_lines(2);
	/* Someone else hands it a descriptor to keep: never passed on. */
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", notify_path);
	int pair[2];
	cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0));
	char msg[] = "FDSTORE=1\nFDNAME=evil";
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { msg, sizeof msg - 1 };
	struct msghdr mh = { .msg_name = &sun, .msg_namelen = sizeof sun,
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
	    .msg_controllen = sizeof cbuf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pair[0], sizeof(int));
	cr_assert(eq(int, (int)sendmsg(s, &mh, 0), (int)(sizeof msg - 1)));
	close(s);
	/* The supervisor's agent dies: the next run gets only its own. */
	char line[512];
	report_line(1, line, sizeof line);
	long pid = strtol(line, NULL, 10);
	cr_assert(eq(int, kill((pid_t)pid, SIGKILL), 0));
	wait_lines(3);
	report_line(2, line, sizeof line);
	cr_assert(eq(ptr, strstr(line, "evil"), NULL), "a stranger's descriptor "
	    "was passed on: %s", line);
	cr_assert(not(eq(ptr, strstr(line, " docker-sock "), NULL)), "%s", line);
	int rc = stop_supervisor();
	cr_assert(eq(int, rc, 0));
}

Test(supervise, deaths_are_described)
{
	char buf[96];
	supervise_describe(9, buf, sizeof buf);	/* as wait(2) says SIGKILL */
	cr_assert(not(eq(ptr, strstr(buf, "killed by signal 9"), NULL)), "%s",
	    buf);
	supervise_describe(70 << 8, buf, sizeof buf);
	cr_assert(eq(str, buf, "exited with status 70"));
	cr_assert(supervise_status_is_final(EXIT_CONFIG));
	cr_assert(supervise_status_is_final(EXIT_CONFLICT));
	cr_assert(not(supervise_status_is_final(EXIT_SOFTWARE)));
	cr_assert(not(supervise_status_is_final(0)));
}
