/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One instance per distro, and life without systemd.  The single-instance
 * lock is a file of root's alone (mode 0600, next to the pidfile), so no
 * ordinary user can open it, hold it and keep the agent from starting or
 * coming back (issue 21: a shared flock on the world-readable pidfile
 * did); the pidfile is information only.  `start' runs the supervisor
 * (supervise.c), which runs the agent and brings it back after any death
 * `stop' did not ask for; it returns only when the agent is ready (or has
 * failed, with the reason), through a pipe, not a guess.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/config.h"
#include "base/defs.h"
#include "base/log.h"
#include "base/util.h"
#include "sys/daemon.h"
#include "sys/supervise.h"

#define DAEMON_STOP_TIMEOUT_MS	15000

/*
 * sd_notify(3), but never blocking: libsystemd sends on a blocking socket,
 * so a supervisor that stops draining NOTIFY_SOCKET (systemd always
 * drains; a hand-made one may not) would freeze the agent on its tenth
 * STATUS=.  Only unix sockets ("/path" or "@abstract"); anything else is
 * not ours to connect to.  0 sent or no supervisor, -1 with errno
 * (EAGAIN: its queue is full, try later).
 */
int
daemon_notify(const char *fmt, ...)
{
	static int fd = -1;
	const char *path = getenv("NOTIFY_SOCKET");
	if (path == NULL || path[0] == '\0')
		return 0;
	struct sockaddr_un sun;
	socklen_t sunlen;
	if ((path[0] != '/' && path[0] != '@') ||
	    (sunlen = util_sockaddr_un(&sun, path)) == 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof msg)
		n = (int)sizeof msg - 1;
	if (fd < 0)
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	ssize_t sent;
	do
		sent = sendto(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
		    (struct sockaddr *)&sun, sunlen);
	while (sent < 0 && errno == EINTR);
	if (sent < 0 && errno == EWOULDBLOCK)
		errno = EAGAIN;
	return sent < 0 ? -1 : 0;
}

int
daemon_unstore_fd(const char *name)
{
	if (getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	return daemon_notify("FDSTOREREMOVE=1\nFDNAME=%s", name);
}

int
daemon_store_fd(int fd, const char *name)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t sunlen;
	char msg[128], cbuf[CMSG_SPACE(sizeof(int))];
	if (path == NULL || path[0] == '\0') {
		errno = ENOTCONN;
		return -1;
	}
	if ((path[0] != '/' && path[0] != '@') ||
	    (sunlen = util_sockaddr_un(&sun, path)) == 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	int n = snprintf(msg, sizeof msg, "FDSTORE=1\nFDNAME=%s", name);
	struct iovec iov = { msg, (size_t)n };
	struct msghdr mh = { .msg_name = &sun, .msg_namelen = sunlen,
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
	    .msg_controllen = sizeof cbuf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -1;
	ssize_t sent;
	do
		sent = sendmsg(s, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	int saved = errno;
	close(s);
	errno = saved;
	return sent < 0 ? -1 : 0;
}

/* The pid at the start of a file (a pidfile, the lock); 0 if none. */
static pid_t
daemon_read_pid(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *end;
	long pid = strtol(buf, &end, 10);
	return pid > 0 && end != buf ? (pid_t)pid : 0;
}

/* pid's name (comm, at most 15 bytes), or "" when it is gone. */
static void
daemon_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, comm, len - 1) : -1;
	if (fd >= 0)
		close(fd);
	comm[n > 0 ? n : 0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* Is pid an agent (its name is ours)?  A stale pidfile's pid is reused. */
static bool
daemon_is_agent(pid_t pid)
{
	char comm[32];
	daemon_comm(pid, comm, sizeof comm);
	return strncmp(comm, AGENT_NAME, 15) == 0;	/* comm keeps 15 bytes */
}

void
daemon_lock_path(const char *pidfile, char *buf, size_t len)
{
	size_t n = strlen(pidfile);
	if (n > 4 && strcmp(pidfile + n - 4, ".pid") == 0)
		snprintf(buf, len, "%.*s.lock", (int)(n - 4), pidfile);
	else
		snprintf(buf, len, "%s.lock", pidfile);
}

int
daemon_lock(const char *pidfile, pid_t *holder)
{
	char lock[PATH_MAX];
	struct stat st;
	*holder = 0;
	daemon_lock_path(pidfile, lock, sizeof lock);
	(void)util_mkdir_parent(pidfile, 0755);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	/* Root's own and private, or it decides nothing. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() ||
	    ((st.st_mode & 077) != 0 && fchmod(fd, 0600) < 0)) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;
		*holder = daemon_running_pid(pidfile);
		close(fd);
		errno = saved;
		return -1;
	}
	/* Who holds it, for stop and restart (root's to read). */
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;	/* held open, and locked, for the process's life */
}

int
daemon_write_pidfile(const char *pidfile)
{
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	(void)util_mkdir_parent(pidfile, 0755);
	return util_write_atomic(pidfile, buf, (size_t)len, 0644);
}

pid_t
daemon_running_pid(const char *pidfile)
{
	pid_t pid = daemon_read_pid(pidfile);
	return pid > 0 && daemon_is_agent(pid) ? pid : 0;
}

pid_t
daemon_lock_holder(const char *pidfile, bool *supervisor)
{
	char lock[PATH_MAX], comm[32];
	daemon_lock_path(pidfile, lock, sizeof lock);
	pid_t pid = daemon_read_pid(lock);
	if (pid <= 0)
		pid = daemon_read_pid(pidfile);	/* an older agent's */
	daemon_comm(pid > 0 ? pid : 0, comm, sizeof comm);
	*supervisor = strcmp(comm, DAEMON_SUPERVISOR_NAME) == 0;
	return *supervisor || strncmp(comm, AGENT_NAME, 15) == 0 ? pid : 0;
}

static void
daemon_print_log_tail(const char *log_file)
{
	FILE *f = fopen(log_file, "re");
	if (f == NULL)
		return;
	char lines[5][512] = { "" };
	int n = 0;
	while (fgets(lines[n % 5], sizeof lines[0], f) != NULL)
		n++;
	fclose(f);
	fprintf(stderr, "%s: the end of %s says:\n", AGENT_NAME, log_file);
	for (int i = n > 5 ? n - 5 : 0; i < n; i++)
		fprintf(stderr, "  %s", lines[i % 5]);
}

/*
 * Whatever else the starting shell or script had open (a lock, a pipe a
 * caller waits on) is not the daemon's to keep: every descriptor above
 * stderr but keep is closed.
 */
static void
daemon_close_inherited(int keep)
{
	if (keep > 3)
		(void)syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u);
	(void)syscall(SYS_close_range, (unsigned)(keep >= 3 ? keep + 1 : 3),
	    ~0u, 0u);
}

/* The supervisor's side: detach, redirect, lock, supervise. */
static void
daemon_child(const struct config *cfg, const char *exe, char *const *argv,
    int ready_fd)
{
	if (setsid() < 0)
		_exit(EXIT_OSERR);
	pid_t pid = fork();
	if (pid < 0)
		_exit(EXIT_OSERR);
	if (pid > 0)
		_exit(0);
	(void)umask(022);
	if (chdir("/") < 0)
		_exit(EXIT_OSERR);
	(void)util_mkdir_parent(cfg->log_file, 0755);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int log = open(cfg->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0640);
	if (null < 0 || log < 0) {
		dprintf(ready_fd, "cannot open the log %s: %s\n", cfg->log_file,
		    strerror(errno));
		_exit(EXIT_OSERR);
	}
	if (dup2(null, STDIN_FILENO) < 0 || dup2(log, STDOUT_FILENO) < 0 ||
	    dup2(log, STDERR_FILENO) < 0)
		_exit(EXIT_OSERR);
	close(null);
	close(log);
	daemon_close_inherited(ready_fd);
	pid_t holder;
	(void)prctl(PR_SET_NAME, DAEMON_SUPERVISOR_NAME);
	int lock = daemon_lock(cfg->pidfile, &holder);
	if (lock < 0) {
		if (holder > 0)
			dprintf(ready_fd, "already running (pid %ld)\n", (long)holder);
		else
			dprintf(ready_fd, "cannot take the lock next to %s: %s\n",
			    cfg->pidfile, strerror(errno));
		_exit(0);
	}
	char notify[PATH_MAX];
	snprintf(notify, sizeof notify, "%s", cfg->control_socket);
	char *slash = strrchr(notify, '/');
	snprintf(slash != NULL ? slash + 1 : notify, sizeof notify -
	    (size_t)(slash != NULL ? slash + 1 - notify : 0), "notify.sock");
	const struct supervise_opts o = { .exe = exe, .argv = argv,
	    .notify_path = notify, .ready_fd = ready_fd };
	int rc = supervise_run(&o);
	(void)unlink(cfg->pidfile);
	close(lock);
	_exit(rc);
}

int
daemon_start(const struct config *cfg, const char *exe, char *const *argv)
{
	pid_t running = daemon_running_pid(cfg->pidfile);
	if (running > 0) {
		printf("%s: already running (pid %ld)\n", AGENT_NAME, (long)running);
		return 0;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		fatal(EXIT_OSERR, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		fatal(EXIT_OSERR, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		daemon_child(cfg, exe, argv, p[1]);
	}
	close(p[1]);
	(void)waitpid(pid, NULL, 0);
	char buf[512];
	size_t used = 0;
	ssize_t n;
	while (used < sizeof buf - 1 &&
	    (n = read(p[0], buf + used, sizeof buf - 1 - used)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		used += (size_t)n;
	}
	close(p[0]);
	buf[used] = '\0';
	if (strncmp(buf, "ok\n", 3) == 0) {
		printf("%s: started (pid %ld); log: %s\n", AGENT_NAME,
		    (long)daemon_running_pid(cfg->pidfile), cfg->log_file);
		return 0;
	}
	if (strncmp(buf, "already running", 15) == 0) {
		printf("%s: %s", AGENT_NAME, buf);
		return 0;
	}
	fprintf(stderr, "%s: failed to start%s%s", AGENT_NAME,
	    used ? ": " : "\n", buf);
	daemon_print_log_tail(cfg->log_file);
	return EXIT_SOFTWARE;
}

int
daemon_stop(const struct config *cfg)
{
	bool supervisor;
	pid_t pid = daemon_lock_holder(cfg->pidfile, &supervisor);
	if (pid <= 0) {
		printf("%s: not running\n", AGENT_NAME);
		return 0;
	}
	/* The agent as `start' named it (the pidfile), before it goes. */
	pid_t agent = supervisor ? daemon_read_pid(cfg->pidfile) : pid;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (kill(pid, SIGTERM) < 0) {
		fprintf(stderr, "%s: cannot signal pid %ld: %s\n", AGENT_NAME,
		    (long)pid, strerror(errno));
		if (pfd >= 0)
			close(pfd);
		return errno == EPERM ? EXIT_NOPERM : EXIT_OSERR;
	}
	if (pfd >= 0) {
		struct pollfd pl = { .fd = pfd, .events = POLLIN };
		int r;
		while ((r = poll(&pl, 1, DAEMON_STOP_TIMEOUT_MS)) < 0 && errno == EINTR)
			;
		close(pfd);
		if (r == 0) {
			fprintf(stderr, "%s: pid %ld did not stop within %d s; "
			    "kill it with 'kill -9 %ld' (a restart cleans up)\n",
			    AGENT_NAME, (long)pid, DAEMON_STOP_TIMEOUT_MS / 1000,
			    (long)pid);
			return EXIT_SOFTWARE;
		}
	}
	/*
	 * `stop' is final: the socket the supervisor kept is closed now, so
	 * its file says nothing but "refused".  Gone, docker says the agent
	 * is not running; a live one (a local dockerd) is never touched.
	 */
	struct stat st;
	int probe = lstat(cfg->socket_path, &st) == 0 && S_ISSOCK(st.st_mode) ?
	    util_unix_connect(cfg->socket_path) : 0;
	if (probe < 0 && errno == ECONNREFUSED)
		(void)unlink(cfg->socket_path);
	else if (probe > 0)
		close(probe);
	if (supervisor && agent > 0 && agent != pid)
		printf("%s: stopped (pid %ld) and its supervisor (pid %ld)\n",
		    AGENT_NAME, (long)agent, (long)pid);
	else
		printf("%s: stopped (pid %ld)\n", AGENT_NAME, (long)pid);
	return 0;
}
