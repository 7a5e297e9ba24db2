/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor of `start' (supervise.h says why it exists).  One poll
 * loop over a signalfd and the notify socket; no libevent, no state but
 * the child, the descriptors it keeps and the restart schedule.  It never
 * reads anything but its own socket (0600, root's directory), and takes
 * messages only from its child's pid (SO_PASSCRED), so no other process
 * can hand it descriptors, make it say "ready" or keep it from starting.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/defs.h"
#include "base/util.h"
#include "sys/supervise.h"

#define SV_MSG_MAX	4096

struct sv_fd {
	int	 fd;
	char	 name[64];
};

struct sv {
	const struct supervise_opts *o;
	int		 sigfd;
	int		 nfd;		/* the notify socket */
	pid_t		 child;		/* 0: none now */
	uint64_t	 started_ms;	/* of the child */
	bool		 ready_told;	/* `start' answered */
	bool		 stopping;	/* SIGTERM: end for good */
	bool		 on_purpose;	/* SIGUSR2: restart now, no death */
	uint64_t	 kill_at_ms;	/* SIGKILL the stopping child then; 0 */
	uint64_t	 restart_at_ms;	/* start the next child then; 0 */
	uint32_t	 delay_ms;	/* the last restart delay */
	unsigned	 restarts;	/* deaths restarted from */
	char		 last_death[160];
	struct sv_fd	 fds[SUPERVISE_FDS_MAX];
	size_t		 nfds;
};

static void
sv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The log is stderr (`start' pointed it at log_file): one dated line. */
static void
sv_log(const char *fmt, ...)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s " AGENT_NAME ": supervisor: ", stamp);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

bool
supervise_status_is_final(int status)
{
	return status == EXIT_USAGE || status == EXIT_CONFLICT ||
	    status == EXIT_NOPERM || status == EXIT_CONFIG;
}

void
supervise_describe(int ws, char *buf, size_t len)
{
	if (WIFSIGNALED(ws))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(ws),
		    strsignal(WTERMSIG(ws)), WCOREDUMP(ws) ? ", core dumped" : "");
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(ws));
}

static void
sv_tell_start(struct sv *s, const char *line)
{
	if (s->ready_told || s->o->ready_fd < 0)
		return;
	(void)!write(s->o->ready_fd, line, strlen(line));
	close(s->o->ready_fd);
	s->ready_told = true;
}

/* ------------------------------------------------------------------ */
/* The child */

/* In the child: the kept descriptors at 3, 4, ..., nothing else open. */
static void
sv_child_fds(const struct sv *s)
{
	int high[SUPERVISE_FDS_MAX];
	for (size_t i = 0; i < s->nfds; i++)
		if ((high[i] = fcntl(s->fds[i].fd, F_DUPFD, 64)) < 0)
			_exit(EXIT_OSERR);
	for (size_t i = 0; i < s->nfds; i++)
		if (dup2(high[i], 3 + (int)i) < 0)	/* dup2: no CLOEXEC */
			_exit(EXIT_OSERR);
	(void)syscall(SYS_close_range, 3u + (unsigned)s->nfds, ~0u, 0u);
}

static void
sv_child_env(const struct sv *s)
{
	char num[32], names[SUPERVISE_FDS_MAX * 65] = "";
	setenv("NOTIFY_SOCKET", s->o->notify_path, 1);
	setenv(SUPERVISE_ENV, "1", 1);
	snprintf(num, sizeof num, "%u", s->restarts);
	setenv(SUPERVISE_ENV_RESTARTS, num, 1);
	if (s->last_death[0] != '\0')
		setenv(SUPERVISE_ENV_LAST, s->last_death, 1);
	snprintf(num, sizeof num, "%u", s->delay_ms);
	setenv(SUPERVISE_ENV_DELAY, num, 1);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (s->nfds == 0)
		return;
	for (size_t i = 0; i < s->nfds; i++) {
		if (i > 0)
			strcat(names, ":");
		strcat(names, s->fds[i].name);
	}
	snprintf(num, sizeof num, "%ld", (long)getpid());
	setenv("LISTEN_PID", num, 1);
	snprintf(num, sizeof num, "%zu", s->nfds);
	setenv("LISTEN_FDS", num, 1);
	setenv("LISTEN_FDNAMES", names, 1);
}

static int
sv_spawn(struct sv *s)
{
	pid_t pid = fork();
	if (pid < 0) {
		sv_log("cannot start the agent: fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		sv_child_env(s);
		sv_child_fds(s);
		execv(s->o->exe, s->o->argv);
		fprintf(stderr, AGENT_NAME ": supervisor: cannot run %s: %s\n",
		    s->o->exe, strerror(errno));
		_exit(127);
	}
	s->child = pid;
	s->started_ms = util_now_ms();
	s->restart_at_ms = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Messages from the agent */

static void
sv_keep_fd(struct sv *s, int fd, const char *name)
{
	for (size_t i = 0; i < s->nfds; i++)
		if (strcmp(s->fds[i].name, name) == 0) {
			close(s->fds[i].fd);	/* the newer one replaces it */
			s->fds[i].fd = fd;
			return;
		}
	if (s->nfds == SUPERVISE_FDS_MAX) {
		sv_log("the agent sent more than %d descriptors to keep; "
		    "%s dropped", SUPERVISE_FDS_MAX, name);
		close(fd);
		return;
	}
	s->fds[s->nfds].fd = fd;
	snprintf(s->fds[s->nfds].name, sizeof s->fds[0].name, "%s", name);
	s->nfds++;
}

static void
sv_drop_fd(struct sv *s, const char *name)
{
	for (size_t i = 0; i < s->nfds; i++)
		if (strcmp(s->fds[i].name, name) == 0) {
			close(s->fds[i].fd);
			s->fds[i] = s->fds[--s->nfds];
			return;
		}
}

/* The value of VAR= in the message's lines, into val; false if none. */
static bool
sv_field(const char *msg, const char *var, char *val, size_t len)
{
	size_t n = strlen(var);
	for (const char *p = msg; p != NULL && *p != '\0';) {
		const char *end = strchr(p, '\n');
		size_t l = end != NULL ? (size_t)(end - p) : strlen(p);
		if (l > n && strncmp(p, var, n) == 0 && p[n] == '=') {
			snprintf(val, len, "%.*s", (int)(l - n - 1), p + n + 1);
			return true;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return false;
}

/* A name as systemd allows it in FDNAME=: printable, no ':', short. */
static bool
sv_name_ok(const char *name)
{
	if (name[0] == '\0' || strlen(name) > 63)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || *p == ':')
			return false;
	return true;
}

static void
sv_message(struct sv *s)
{
	char msg[SV_MSG_MAX + 1], cbuf[CMSG_SPACE(sizeof(int) * SUPERVISE_FDS_MAX) +
	    CMSG_SPACE(sizeof(struct ucred))], val[128];
	struct iovec iov = { msg, SV_MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	ssize_t n = recvmsg(s->nfd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return;
	msg[n] = '\0';
	int fds[SUPERVISE_FDS_MAX];
	size_t nfds = 0;
	pid_t from = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL;
	    c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
				    sizeof fd);
				if (nfds < SUPERVISE_FDS_MAX)
					fds[nfds++] = fd;
				else
					close(fd);
			}
		} else if (c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred cr;
			memcpy(&cr, CMSG_DATA(c), sizeof cr);
			from = cr.pid;
		}
	}
	/* Only the agent we run speaks to us (NotifyAccess=main). */
	bool ours = from != 0 && from == s->child;
	if (ours && sv_field(msg, "READY", val, sizeof val) &&
	    strcmp(val, "1") == 0) {
		if (!s->ready_told)
			sv_log("the agent (pid %ld) is ready", (long)s->child);
		sv_tell_start(s, "ok\n");
	}
	bool store = ours && sv_field(msg, "FDSTORE", val, sizeof val) &&
	    strcmp(val, "1") == 0;
	char name[64] = "stored";
	if (sv_field(msg, "FDNAME", val, sizeof val) && sv_name_ok(val))
		snprintf(name, sizeof name, "%s", val);
	if (ours && sv_field(msg, "FDSTOREREMOVE", val, sizeof val) &&
	    strcmp(val, "1") == 0)
		sv_drop_fd(s, name);
	for (size_t i = 0; i < nfds; i++) {
		if (store && i == 0)
			sv_keep_fd(s, fds[i], name);
		else
			close(fds[i]);	/* one per name; none from others */
	}
}

/* ------------------------------------------------------------------ */
/* Deaths and signals */

/* The child ended: 1 to go on, 0 to end with *rc. */
static int
sv_child_ended(struct sv *s, int ws, int *rc)
{
	char how[96];
	uint64_t lived = util_now_ms() - s->started_ms;
	supervise_describe(ws, how, sizeof how);
	s->child = 0;
	if (s->stopping) {
		sv_log("the agent stopped (%s)", how);
		*rc = 0;
		return 0;
	}
	if (!s->ready_told) {
		char line[160];
		snprintf(line, sizeof line, "the agent %s before it was ready\n",
		    how);
		sv_tell_start(s, line);
		sv_log("the agent %s before it was ready; not restarting", how);
		*rc = WIFEXITED(ws) && WEXITSTATUS(ws) != 0 ? WEXITSTATUS(ws) :
		    EXIT_SOFTWARE;
		return 0;
	}
	if (s->on_purpose) {
		s->on_purpose = false;
		sv_log("the agent stopped to be restarted (%s); starting it "
		    "again", how);
		return sv_spawn(s) == 0 ? 1 : (*rc = EXIT_OSERR, 0);
	}
	if (WIFEXITED(ws) && supervise_status_is_final(WEXITSTATUS(ws))) {
		sv_log("the agent %s, which a restart cannot fix (its log above "
		    "says why); not restarting: fix it, then run '"
		    AGENT_NAME " start'", how);
		*rc = WEXITSTATUS(ws);
		return 0;
	}
	s->restarts++;
	time_t now = time(NULL);
	struct tm tm;
	char at[32];
	gmtime_r(&now, &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(s->last_death, sizeof s->last_death, "%s at %s", how, at);
	s->delay_ms = lived >= SUPERVISE_STABLE_MS || s->delay_ms == 0 ?
	    SUPERVISE_DELAY_FIRST_MS : s->delay_ms * 2 > SUPERVISE_DELAY_MAX_MS ?
	    SUPERVISE_DELAY_MAX_MS : s->delay_ms * 2;
	s->restart_at_ms = util_now_ms() + s->delay_ms;
	sv_log("the agent %s after %llu ms; restarting it in %u ms (restart "
	    "%u; the socket and what the agent kept stay)%s", how,
	    (unsigned long long)lived, s->delay_ms, s->restarts,
	    s->delay_ms == SUPERVISE_DELAY_MAX_MS ? ": it keeps dying, see "
	    "its log above" : "");
	return 1;
}

/* A signal to the supervisor: 1 to go on, 0 to end with *rc. */
static int
sv_signal(struct sv *s, int sig, int *rc)
{
	switch (sig) {
	case SIGCHLD:
		for (;;) {
			int ws;
			pid_t pid = waitpid(-1, &ws, WNOHANG);
			if (pid <= 0)
				return 1;
			if (pid == s->child && sv_child_ended(s, ws, rc) == 0)
				return 0;
		}
	case SIGTERM:
	case SIGINT:
		if (s->child == 0) {
			sv_log("stopped");
			*rc = 0;
			return 0;
		}
		if (!s->stopping) {
			s->stopping = true;
			s->kill_at_ms = util_now_ms() + SUPERVISE_STOP_TIMEOUT_MS;
			(void)kill(s->child, SIGTERM);
		}
		return 1;
	case SIGHUP:
		if (s->child != 0)
			(void)kill(s->child, SIGHUP);
		return 1;
	case SIGUSR2:
		if (s->child == 0)
			return sv_spawn(s) == 0 ? 1 : (*rc = EXIT_OSERR, 0);
		if (!s->on_purpose && !s->stopping) {
			s->on_purpose = true;
			s->kill_at_ms = util_now_ms() + SUPERVISE_STOP_TIMEOUT_MS;
			(void)kill(s->child, SIGTERM);
		}
		return 1;
	}
	return 1;
}

static int
sv_timeout(const struct sv *s)
{
	uint64_t now = util_now_ms(), next = 0;
	if (s->restart_at_ms != 0)
		next = s->restart_at_ms;
	if (s->kill_at_ms != 0 && s->child != 0 &&
	    (next == 0 || s->kill_at_ms < next))
		next = s->kill_at_ms;
	if (next == 0)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

static void
sv_due(struct sv *s)
{
	uint64_t now = util_now_ms();
	if (s->kill_at_ms != 0 && s->child != 0 && now >= s->kill_at_ms) {
		sv_log("the agent (pid %ld) did not stop within %d s; killing it",
		    (long)s->child, SUPERVISE_STOP_TIMEOUT_MS / 1000);
		(void)kill(s->child, SIGKILL);
		s->kill_at_ms = 0;
	}
	if (s->child == 0)
		s->kill_at_ms = 0;
	if (s->restart_at_ms != 0 && now >= s->restart_at_ms && s->child == 0 &&
	    !s->stopping)
		(void)sv_spawn(s);
}

static int
sv_open_notify(const char *path)
{
	struct sockaddr_un sun;
	socklen_t len = util_sockaddr_un(&sun, path);
	int on = 1;
	if (len == 0 || util_mkdir_parent(path, 0755) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	(void)unlink(path);
	mode_t old = umask(0077);	/* root alone may send: 0600 */
	int r = bind(fd, (struct sockaddr *)&sun, len);
	umask(old);
	if (r < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
supervise_run(const struct supervise_opts *o)
{
	struct sv s = { .o = o, .sigfd = -1, .nfd = -1 };
	sigset_t set;
	int rc = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (s.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    (s.nfd = sv_open_notify(o->notify_path)) < 0) {
		char line[256];
		snprintf(line, sizeof line, "cannot set up its supervisor (%s): "
		    "%s\n", o->notify_path, strerror(errno));
		sv_tell_start(&s, line);
		return EXIT_OSERR;
	}
	if (sv_spawn(&s) < 0) {
		sv_tell_start(&s, "cannot start the agent: fork failed\n");
		return EXIT_OSERR;
	}
	for (;;) {
		struct pollfd p[2] = { { s.sigfd, POLLIN, 0 }, { s.nfd, POLLIN, 0 } };
		int r = poll(p, 2, sv_timeout(&s));
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (p[1].revents & POLLIN))
			sv_message(&s);
		if (r > 0 && (p[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			bool done = false;
			while (read(s.sigfd, &si, sizeof si) == sizeof si)
				if (sv_signal(&s, (int)si.ssi_signo, &rc) == 0) {
					done = true;
					break;
				}
			if (done)
				break;
		}
		sv_due(&s);
	}
	for (size_t i = 0; i < s.nfds; i++)
		close(s.fds[i].fd);
	close(s.nfd);
	(void)unlink(o->notify_path);
	close(s.sigfd);
	return rc;
}
