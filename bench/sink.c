/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sink: the benchmarks' helper program, one mode per figure of run.sh.
 *
 *   sink serve PATH
 *	An engine stand-in on unix socket PATH, a thread per connection as
 *	an engine has a goroutine per request.  A connection that opens
 *	with "SINK n\n" has n bytes read and discarded, then "OK\n" sent
 *	back; "SOURCE n\n" gets n zero bytes.  The byte counts travel
 *	in-band, so no proxy has to pass a half-close (systemd-socket-proxyd
 *	drops it).  GET /_ping and GET /version get a minimal answer (kept
 *	alive for HTTP/1.1), so an agent in front of it sees a healthy
 *	"engine"; GET /events gets a stream that stays silent until closed.
 *   sink put PATH BYTES / sink get PATH BYTES
 *	Upload BYTES to, or download them from, a sink server through PATH;
 *	print MiB/s, from connect to the last byte acknowledged or taken,
 *	and this client's own CPU time per GiB in ms (an endpoint's cost).
 *   sink ping PATH N [keepalive]
 *	GET /_ping N times, each on a new connection as the docker CLI
 *	does (or all on one); print p50, p99 and mean in microseconds.
 *   sink streams PATH N
 *	Open N `docker events' streams (GET /events) through PATH, print
 *	"READY N MS" once every one has its headers, then read them all
 *	until SIGTERM; print "streams open N events MIN MAX" (events
 *	counted per connection).
 *   sink react TIMEOUT_MS ENGINE_SOCK PATH... [-- CLI_DIR LINK [INTO]]
 *	With Docker Desktop stopped: print "WATCHING", wait for
 *	ENGINE_SOCK to be created (inotify), then time until GET /_ping
 *	answers through each PATH (the engine socket itself included, as
 *	the reference).  After "--": time from CLI_DIR appearing in the
 *	mount table until LINK points into it (or into INTO: the agent's view
 *	of CLI_DIR).  Prints "NAME ms" lines.
 *   sink supervise [-n] [-o LOG] TIMEOUT_MS PATH -- CMD [ARG...]
 *	Start CMD (with NOTIFY_SOCKET set to a socket of ours when -n) and
 *	print "ready READY_MS PING_MS PID": READY=1 received (0 without
 *	-n) and the first GET /_ping answered through PATH, from just
 *	before the fork.  Then stay CMD's parent (pid 1 here may not reap)
 *	and drain the notify socket, as systemd does, until SIGTERM; stop
 *	CMD with SIGTERM and print "exit STATUS".
 *
 * Everything is bounded by timeouts: a benchmark reports, it never hangs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IO_BUF		(256 * 1024)
#define IO_TIMEOUT_S	30	/* one read or write, in every client */
#define HEAD_MAX	8192
#define PING_REQ	"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"
#define EVENTS_REQ	"GET /events HTTP/1.1\r\nHost: docker\r\n\r\n"

static const char *prog = "sink";

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		die("clock_gettime: %s", strerror(errno));
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1e3),
	    (long)((ms - (double)(time_t)(ms / 1e3) * 1e3) * 1e6) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static unsigned long long
parse_count(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		die("%s: '%s' is not a whole number", what, s);
	return v;
}

static struct sockaddr_un
unix_addr(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof a.sun_path)
		die("%s: path too long for a unix socket", path);
	strcpy(a.sun_path, path);
	return a;
}

static void
set_timeouts(int fd, int seconds)
{
	struct timeval tv = { seconds, 0 };
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* A connected socket, or -1 with errno set. */
static int
unix_connect(const char *path)
{
	struct sockaddr_un a = unix_addr(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	set_timeouts(fd, IO_TIMEOUT_S);
	return fd;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static char iobuf[IO_BUF];

/* ------------------------------------------------------------------ */
/* HTTP, just enough for /_ping and /events. */

struct http_reply {
	int	status;
	long	content_length;		/* -1: none given */
	size_t	head_len;		/* through the blank line */
	size_t	have;			/* bytes in buf */
	char	buf[HEAD_MAX];
};

/*
 * Read a reply's status line and headers (and whatever body came with
 * them).  Returns 0, or -1 on EOF, error or oversize headers.
 */
static int
http_read_head(int fd, struct http_reply *r)
{
	r->have = 0;
	for (;;) {
		if (r->have == sizeof r->buf - 1)
			return -1;
		ssize_t n = read(fd, r->buf + r->have, sizeof r->buf - 1 - r->have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		r->have += (size_t)n;
		r->buf[r->have] = '\0';
		char *end = strstr(r->buf, "\r\n\r\n");
		if (end == NULL)
			continue;
		r->head_len = (size_t)(end - r->buf) + 4;
		if (sscanf(r->buf, "HTTP/1.%*d %d", &r->status) != 1)
			return -1;
		r->content_length = -1;
		for (char *l = strstr(r->buf, "\r\n"); l != NULL && l < end;
		    l = strstr(l + 2, "\r\n"))
			if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
				r->content_length = strtol(l + 17, NULL, 10);
		return 0;
	}
}

/* One GET /_ping on fd; true if it answered 200 with its whole body. */
static bool
ping_on(int fd)
{
	struct http_reply r;
	if (write_all(fd, PING_REQ, sizeof PING_REQ - 1) < 0 ||
	    http_read_head(fd, &r) < 0 || r.status != 200)
		return false;
	if (r.content_length < 0)
		return true;	/* HTTP/1.0 style: the body ends at EOF */
	size_t body = r.have - r.head_len;
	char rest[4096];	/* react pings from several threads */
	while ((long)body < r.content_length) {
		ssize_t n = read(fd, rest, sizeof rest);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		body += (size_t)n;
	}
	return true;
}

static bool
ping_once(const char *path, int timeout_s)
{
	int fd = unix_connect(path);
	if (fd < 0)
		return false;
	set_timeouts(fd, timeout_s);
	bool ok = ping_on(fd);
	close(fd);
	return ok;
}

/* Ping PATH until it answers or the deadline; the time it did, or -1. */
static double
ping_until(const char *path, double deadline)
{
	while (now_ms() < deadline) {
		if (ping_once(path, 2))
			return now_ms();
		sleep_ms(0.25);
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* serve */

/*
 * Answer requests until the client closes: HTTP/1.1 ones keep the
 * connection open (the docker CLI's keep-alive), HTTP/1.0 ones end it
 * (the agent's engine probe).  buf holds `have' bytes already read.
 */
static void
serve_http(int fd, char *buf, size_t have)
{
	static const char ping[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 2\r\n\r\nOK";
	static const char version[] = "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: 38\r\n\r\n"
	    "{\"Version\":\"sink\",\"ApiVersion\":\"1.41\"}";
	static const char missing[] = "HTTP/1.1 404 Not Found\r\n"
	    "Content-Length: 0\r\n\r\n";
	static const char events[] = "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
	for (;;) {
		char *end;
		while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
			if (have >= HEAD_MAX - 1)
				return;
			ssize_t n = read(fd, buf + have, HEAD_MAX - 1 - have);
			if (n <= 0)
				return;
			have += (size_t)n;
			buf[have] = '\0';
		}
		const char *reply = missing;
		size_t len = sizeof missing - 1;
		if (strncmp(buf, "GET /events ", 12) == 0) {
			/* A stream that stays silent until the client leaves. */
			(void)write_all(fd, events, sizeof events - 1);
			while (read(fd, buf, HEAD_MAX - 1) > 0)
				;
			return;
		}
		if (strncmp(buf, "GET /_ping ", 11) == 0 ||
		    strncmp(buf, "HEAD /_ping ", 12) == 0)
			reply = ping, len = sizeof ping - 1;
		else if (strncmp(buf, "GET ", 4) == 0 &&
		    strstr(buf, "/version ") != NULL && strstr(buf, "/version ") < end)
			reply = version, len = sizeof version - 1;
		const char *eol = strstr(buf, "\r\n");
		bool keep = eol >= buf + 8 && strncmp(eol - 8, "HTTP/1.1", 8) == 0;
		if (write_all(fd, reply, len) < 0 || !keep)
			return;
		size_t used = (size_t)(end + 4 - buf);
		memmove(buf, buf + used, have - used + 1);
		have -= used;
	}
}

static void
serve_one(int fd, char *buf, size_t cap)
{
	char head[HEAD_MAX];
	size_t have = 0;
	char *nl = NULL;
	set_timeouts(fd, 300);
	while (nl == NULL && have < 1024) {
		ssize_t n = read(fd, head + have, sizeof head - 1 - have);
		if (n <= 0)
			return;
		have += (size_t)n;
		head[have] = '\0';
		nl = memchr(head, '\n', have);
	}
	if (nl == NULL)
		return;
	unsigned long long want;
	if (sscanf(head, "SINK %llu\n", &want) == 1) {
		unsigned long long got = have - (size_t)(nl + 1 - head);
		while (got < want) {
			ssize_t n = read(fd, buf, cap);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return;
			got += (unsigned long long)n;
		}
		(void)write_all(fd, "OK\n", 3);
	} else if (sscanf(head, "SOURCE %llu\n", &want) == 1) {
		memset(buf, 0, cap);
		while (want > 0) {
			size_t len = want < cap ? want : cap;
			if (write_all(fd, buf, len) < 0)
				return;
			want -= len;
		}
	} else {
		serve_http(fd, head, have);
	}
}

static void *
serve_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(IO_BUF);
	if (buf != NULL)
		serve_one(fd, buf, IO_BUF);
	free(buf);
	close(fd);
	return NULL;
}

static int
cmd_serve(int argc, char **argv)
{
	if (argc != 1)
		die("usage: serve PATH");
	struct sockaddr_un a = unix_addr(argv[0]);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket: %s", strerror(errno));
	(void)unlink(argv[0]);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(lfd, 4096) < 0)
		die("%s: %s", argv[0], strerror(errno));
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0 ||
	    pthread_attr_setstacksize(&attr, 256 * 1024) != 0)
		die("pthread_attr failed");
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept: %s", strerror(errno));
		}
		pthread_t t;
		if (pthread_create(&t, &attr, serve_thread,
		    (void *)(intptr_t)fd) != 0) {
			fprintf(stderr, "%s: pthread_create failed\n", prog);
			close(fd);
		}
	}
}

/* ------------------------------------------------------------------ */
/* put, get */

static int
cmd_transfer(int argc, char **argv, bool upload)
{
	if (argc != 2)
		die("usage: %s PATH BYTES", upload ? "put" : "get");
	unsigned long long bytes = parse_count(argv[1], "BYTES");
	char head[64];
	int hlen = snprintf(head, sizeof head, "%s %llu\n",
	    upload ? "SINK" : "SOURCE", bytes);
	double t0 = now_ms();
	int fd = unix_connect(argv[0]);
	if (fd < 0)
		die("connect %s: %s", argv[0], strerror(errno));
	if (write_all(fd, head, (size_t)hlen) < 0)
		die("%s: sending the request: %s", argv[0], strerror(errno));
	unsigned long long left = bytes;
	if (upload) {
		while (left > 0) {
			size_t len = left < sizeof iobuf ? left : sizeof iobuf;
			if (write_all(fd, iobuf, len) < 0)
				die("%s: write: %s", argv[0], strerror(errno));
			left -= len;
		}
		char ok[4] = { 0 };
		if (read(fd, ok, 3) != 3 || strcmp(ok, "OK\n") != 0)
			die("%s: the sink did not acknowledge %llu bytes",
			    argv[0], bytes);
	} else {
		while (left > 0) {
			ssize_t n = read(fd, iobuf, sizeof iobuf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				die("%s: stream ended with %llu of %llu bytes "
				    "left", argv[0], left, bytes);
			left -= (unsigned long long)n;
		}
	}
	double ms = now_ms() - t0;
	close(fd);
	struct rusage ru;
	double cpu_ms = 0;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	double gib = (double)bytes / (1024.0 * 1024.0 * 1024.0);
	printf("%.1f %.1f\n", (double)bytes / (1024.0 * 1024.0) / (ms / 1e3),
	    gib > 0 ? cpu_ms / gib : 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* ping */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int
cmd_ping(int argc, char **argv)
{
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "keepalive")))
		die("usage: ping PATH N [keepalive]");
	size_t n = (size_t)parse_count(argv[1], "N");
	bool keep = argc == 3;
	if (n == 0)
		die("N must be at least 1");
	double *us = calloc(n, sizeof *us);
	if (us == NULL)
		die("out of memory");
	int fd = -1;
	if (keep && (fd = unix_connect(argv[0])) < 0)
		die("connect %s: %s", argv[0], strerror(errno));
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		double t0 = now_ms();
		bool ok;
		if (keep) {
			ok = ping_on(fd);
		} else {
			int c = unix_connect(argv[0]);
			ok = c >= 0 && ping_on(c);
			if (c >= 0)
				close(c);
		}
		if (!ok)
			die("%s: GET /_ping number %zu failed", argv[0], i + 1);
		us[i] = (now_ms() - t0) * 1e3;
		sum += us[i];
	}
	if (fd >= 0)
		close(fd);
	qsort(us, n, sizeof *us, cmp_double);
	printf("%.1f %.1f %.1f\n", us[n / 2], us[n * 99 / 100], sum / (double)n);
	free(us);
	return 0;
}

/* Block SIGTERM and SIGINT (and SIGCHLD) and take them from a signalfd. */
static sigset_t stop_signals;

static int
stop_signalfd(void)
{
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &stop_signals, NULL) < 0)
		die("sigprocmask: %s", strerror(errno));
	int fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
	if (fd < 0)
		die("signalfd: %s", strerror(errno));
	return fd;
}

/* ------------------------------------------------------------------ */
/* streams */

/* Counts occurrences of "\"Action\":" across reads. */
struct stream {
	int		fd;
	unsigned	match;
	unsigned long	events;
	bool		open;
};

static const char action_key[] = "\"Action\":";

static void
stream_count(struct stream *s, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == action_key[s->match]) {
			if (++s->match == sizeof action_key - 1) {
				s->events++;
				s->match = 0;
			}
		} else {
			s->match = buf[i] == action_key[0];
		}
	}
}

static int
cmd_streams(int argc, char **argv)
{
	if (argc != 2)
		die("usage: streams PATH N");
	size_t n = (size_t)parse_count(argv[1], "N");
	struct stream *s = calloc(n + 1, sizeof *s);
	if (s == NULL)
		die("out of memory");
	double t0 = now_ms();
	/* Send every request first, so the engine works on them together. */
	for (size_t i = 0; i < n; i++) {
		if ((s[i].fd = unix_connect(argv[0])) < 0)
			die("%s: connection %zu: %s", argv[0], i + 1,
			    strerror(errno));
		if (write_all(s[i].fd, EVENTS_REQ, sizeof EVENTS_REQ - 1) < 0)
			die("%s: connection %zu: write: %s", argv[0], i + 1,
			    strerror(errno));
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	struct http_reply r;
	for (size_t i = 0; i < n; i++) {
		if (http_read_head(s[i].fd, &r) < 0 || r.status != 200)
			die("%s: stream %zu: no 200 answer to GET /events",
			    argv[0], i + 1);
		stream_count(&s[i], r.buf + r.head_len, r.have - r.head_len);
		s[i].open = true;
		(void)fcntl(s[i].fd, F_SETFL, O_NONBLOCK);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s[i] };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, s[i].fd, &ev) < 0)
			die("epoll_ctl: %s", strerror(errno));
	}
	/* SIGTERM is the end of the window: blocked before anyone is told. */
	int sfd = stop_signalfd();
	printf("READY %zu %.1f\n", n, now_ms() - t0);
	fflush(stdout);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s[n] };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		die("epoll_ctl on a signalfd: %s", strerror(errno));
	size_t open = n;
	for (bool done = false; !done;) {
		struct epoll_event evs[64];
		int k = epoll_wait(ep, evs, 64, -1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("epoll_wait: %s", strerror(errno));
		for (int j = 0; j < k; j++) {
			struct stream *st = evs[j].data.ptr;
			if (st == &s[n]) {
				done = true;
				continue;
			}
			ssize_t got;
			while ((got = read(st->fd, iobuf, sizeof iobuf)) > 0)
				stream_count(st, iobuf, (size_t)got);
			if (got == 0 || (got < 0 && errno != EAGAIN &&
			    errno != EINTR)) {
				(void)epoll_ctl(ep, EPOLL_CTL_DEL, st->fd, NULL);
				st->open = false;
				open--;
			}
		}
	}
	unsigned long lo = ULONG_MAX, hi = 0;
	for (size_t i = 0; i < n; i++) {
		lo = s[i].events < lo ? s[i].events : lo;
		hi = s[i].events > hi ? s[i].events : hi;
		close(s[i].fd);
	}
	printf("streams open %zu events %lu %lu\n", open, lo, hi);
	return 0;
}

/* ------------------------------------------------------------------ */
/* react */

struct reactor {
	const char	*path;
	double		 deadline;
	double		 at;		/* when it answered, or -1 */
	pthread_t	 thread;
};

static void *
react_ping(void *arg)
{
	struct reactor *r = arg;
	r->at = ping_until(r->path, r->deadline);
	return NULL;
}

/* Is DIR a mount point now?  (Mount points in mountinfo are escaped.) */
static bool
mounted(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return false;
	char line[4096], mp[4096];
	bool found = false;
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
		    strcmp(mp, dir) == 0;
	fclose(f);
	return found;
}

struct link_watch {
	const char	*cli_dir;
	const char	*link;
	const char	*into;		/* where the link leads (the agent's view) */
	int		 mfd;		/* /proc/self/mountinfo */
	int		 ifd;		/* inotify on the link's directory */
	double		 deadline;
	double		 mounted_at;
	double		 linked_at;
	pthread_t	 thread;
};

static bool
link_points_into(const char *link, const char *dir)
{
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	size_t len = strlen(dir);
	return strncmp(target, dir, len) == 0 && target[len] == '/';
}

static void *
react_link(void *arg)
{
	struct link_watch *w = arg;
	w->mounted_at = w->linked_at = -1;
	/* mountinfo reports a change as POLLPRI; no polling on a clock. */
	while (!mounted(w->cli_dir)) {
		struct pollfd p = { .fd = w->mfd, .events = POLLPRI };
		int left = (int)(w->deadline - now_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return NULL;
	}
	w->mounted_at = now_ms();
	char ebuf[4096] __attribute__((aligned(8)));
	while (!link_points_into(w->link, w->into)) {
		struct pollfd p = { .fd = w->ifd, .events = POLLIN };
		int left = (int)(w->deadline - now_ms());
		/* 0: the deadline passed; a read now would block for good. */
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return NULL;
		(void)!read(w->ifd, ebuf, sizeof ebuf);
	}
	w->linked_at = now_ms();
	return NULL;
}

static int
cmd_react(int argc, char **argv)
{
	if (argc < 3)
		die("usage: react TIMEOUT_MS ENGINE_SOCK PATH... [-- CLI_DIR LINK [INTO]]");
	double timeout = (double)parse_count(argv[0], "TIMEOUT_MS");
	const char *engine = argv[1];
	int npaths = 0;
	while (2 + npaths < argc && strcmp(argv[2 + npaths], "--") != 0)
		npaths++;
	struct link_watch lw = { 0 };
	bool links = 2 + npaths < argc;
	if (links) {
		if (argc != 2 + npaths + 3 && argc != 2 + npaths + 4)
			die("react: after -- give CLI_DIR, LINK and maybe INTO");
		lw.cli_dir = argv[3 + npaths];
		lw.link = argv[4 + npaths];
		lw.into = argc == 2 + npaths + 4 ? argv[5 + npaths] : lw.cli_dir;
	}

	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", engine);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		die("%s: give the engine socket as an absolute path", engine);
	*slash = '\0';
	const char *name = slash + 1;
	int ifd = inotify_init1(IN_CLOEXEC);
	if (ifd < 0 || inotify_add_watch(ifd, dir, IN_CREATE | IN_MOVED_TO) < 0)
		die("inotify on %s: %s", dir, strerror(errno));
	if (access(engine, F_OK) == 0)
		die("%s exists already: stop Docker Desktop first", engine);
	if (links) {
		char ldir[PATH_MAX];
		snprintf(ldir, sizeof ldir, "%s", lw.link);
		char *s = strrchr(ldir, '/');
		if (s == NULL || s == ldir)
			die("%s: give the link as an absolute path", lw.link);
		*s = '\0';
		lw.mfd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
		lw.ifd = inotify_init1(IN_CLOEXEC);
		if (lw.mfd < 0 || lw.ifd < 0 || inotify_add_watch(lw.ifd, ldir,
		    IN_CREATE | IN_MOVED_TO | IN_ATTRIB) < 0)
			die("watching %s: %s", ldir, strerror(errno));
		if (mounted(lw.cli_dir))
			die("%s is mounted already: stop Docker Desktop first",
			    lw.cli_dir);
		/* Reading mountinfo once arms POLLPRI for the next change. */
		(void)!read(lw.mfd, iobuf, sizeof iobuf);
		lw.deadline = now_ms() + timeout;
		if (pthread_create(&lw.thread, NULL, react_link, &lw) != 0)
			die("pthread_create failed");
	}
	printf("WATCHING\n");
	fflush(stdout);

	double deadline = now_ms() + timeout;
	char ebuf[4096] __attribute__((aligned(8)));
	double created = -1;
	while (created < 0) {
		struct pollfd p = { .fd = ifd, .events = POLLIN };
		int left = (int)(deadline - now_ms());
		if (left <= 0)
			die("%s was not created within %.0f ms", engine, timeout);
		if (poll(&p, 1, left) <= 0)
			continue;
		ssize_t n = read(ifd, ebuf, sizeof ebuf);
		for (ssize_t off = 0; off < n;) {
			struct inotify_event *e = (void *)(ebuf + off);
			if (e->len > 0 && strcmp(e->name, name) == 0)
				created = now_ms();
			off += (ssize_t)(sizeof *e + e->len);
		}
	}
	struct reactor *r = calloc((size_t)npaths + 1, sizeof *r);
	if (r == NULL)
		die("out of memory");
	r[0].path = engine;
	for (int i = 0; i < npaths; i++)
		r[i + 1].path = argv[2 + i];
	for (int i = 0; i <= npaths; i++) {
		r[i].deadline = created + timeout;
		if (pthread_create(&r[i].thread, NULL, react_ping, &r[i]) != 0)
			die("pthread_create failed");
	}
	for (int i = 0; i <= npaths; i++) {
		pthread_join(r[i].thread, NULL);
		if (r[i].at < 0)
			printf("%s timeout\n", r[i].path);
		else
			printf("%s %.1f\n", r[i].path, r[i].at - created);
	}
	if (links) {
		pthread_join(lw.thread, NULL);
		if (lw.mounted_at < 0 || lw.linked_at < 0)
			printf("link timeout\n");
		else
			printf("link %.1f\n", lw.linked_at - lw.mounted_at);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* supervise */

/* Wait for READY=1 on the notify socket; its time, or -1. */
static double
await_ready(int nfd, pid_t child, double deadline)
{
	char msg[4096];
	for (;;) {
		int left = (int)(deadline - now_ms());
		if (left <= 0 || waitpid(child, NULL, WNOHANG) == child)
			return -1;
		struct pollfd p = { .fd = nfd, .events = POLLIN };
		if (poll(&p, 1, left < 50 ? left : 50) <= 0)
			continue;
		ssize_t n = recv(nfd, msg, sizeof msg - 1, 0);
		if (n <= 0)
			continue;
		double at = now_ms();
		msg[n] = '\0';
		for (char *l = msg; l != NULL; l = strchr(l, '\n')) {
			if (*l == '\n')
				l++;
			if (strncmp(l, "READY=1", 7) == 0 &&
			    (l[7] == '\n' || l[7] == '\0'))
				return at;
		}
	}
}

static int
cmd_supervise(int argc, char **argv)
{
	bool notify = false;
	const char *logpath = "/dev/null";
	while (argc > 0 && argv[0][0] == '-' && strcmp(argv[0], "--") != 0) {
		if (strcmp(argv[0], "-n") == 0) {
			notify = true;
			argc--, argv++;
		} else if (strcmp(argv[0], "-o") == 0 && argc > 1) {
			logpath = argv[1];
			argc -= 2, argv += 2;
		} else {
			die("supervise: unknown option %s", argv[0]);
		}
	}
	if (argc < 4 || strcmp(argv[2], "--") != 0)
		die("usage: supervise [-n] [-o LOG] TIMEOUT_MS PATH -- CMD [ARG...]");
	double timeout = (double)parse_count(argv[0], "TIMEOUT_MS");
	const char *path = argv[1];
	char **cmd = argv + 3;

	char ndir[] = "/tmp/sink-notify.XXXXXX", npath[64] = "";
	int nfd = -1;
	if (notify) {
		if (mkdtemp(ndir) == NULL)
			die("mkdtemp: %s", strerror(errno));
		snprintf(npath, sizeof npath, "%s/notify", ndir);
		struct sockaddr_un a = unix_addr(npath);
		nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (nfd < 0 || bind(nfd, (struct sockaddr *)&a, sizeof a) < 0)
			die("notify socket %s: %s", npath, strerror(errno));
	}
	int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644);
	if (logfd < 0)
		die("%s: %s", logpath, strerror(errno));
	/* Blocked from here on, so a SIGTERM while starting is not lost. */
	int sfd = stop_signalfd();

	double t0 = now_ms();
	pid_t child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		sigprocmask(SIG_UNBLOCK, &stop_signals, NULL);
		signal(SIGPIPE, SIG_DFL);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 ||
		    dup2(logfd, 2) < 0)
			_exit(127);
		if (notify)
			setenv("NOTIFY_SOCKET", npath, 1);
		else
			unsetenv("NOTIFY_SOCKET");
		execvp(cmd[0], cmd);
		dprintf(2, "%s: exec %s: %s\n", prog, cmd[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	double ready = 0;
	if (notify) {
		double at = await_ready(nfd, child, t0 + timeout);
		if (at < 0) {
			kill(child, SIGKILL);
			die("%s sent no READY=1 within %.0f ms (or exited); see %s",
			    cmd[0], timeout, logpath);
		}
		ready = at - t0;
	}
	double pinged = -1;
	while (pinged < 0 && now_ms() < t0 + timeout) {
		if (waitpid(child, NULL, WNOHANG) == child)
			die("%s exited before %s answered; see %s", cmd[0], path,
			    logpath);
		if (ping_once(path, 5))
			pinged = now_ms() - t0;
		else
			sleep_ms(0.2);
	}
	if (pinged < 0) {
		kill(child, SIGKILL);
		die("%s did not answer GET /_ping within %.0f ms; see %s", path,
		    timeout, logpath);
	}
	printf("ready %.2f %.2f %d\n", ready, pinged, (int)child);
	fflush(stdout);

	/*
	 * Keep draining the notify socket as systemd does: the agent's later
	 * STATUS= messages would fill it, and sd_notify() then blocks.
	 */
	int status = 0;
	for (;;) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
		    { .fd = nfd, .events = POLLIN } };
		if (poll(p, nfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (nfd >= 0 && (p[1].revents & POLLIN))
			(void)recv(nfd, iobuf, sizeof iobuf, MSG_DONTWAIT);
		if (!(p[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si) {
			if (errno == EINTR)
				continue;
			die("signalfd: %s", strerror(errno));
		}
		if (si.ssi_signo != SIGCHLD)
			break;
		if (waitpid(child, &status, WNOHANG) == child) {
			printf("exit early %d\n", WIFEXITED(status) ?
			    WEXITSTATUS(status) : 128 + WTERMSIG(status));
			return 1;
		}
	}
	kill(child, SIGTERM);
	double deadline = now_ms() + 10000;
	while (waitpid(child, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill(child, SIGKILL);
			(void)waitpid(child, &status, 0);
			break;
		}
		if (nfd >= 0)
			while (recv(nfd, iobuf, sizeof iobuf, MSG_DONTWAIT) > 0)
				;
		sleep_ms(2);
	}
	if (notify) {
		(void)unlink(npath);
		(void)rmdir(ndir);
	}
	printf("exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status));
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: sink serve|put|get|ping|streams|react|supervise ...");
	signal(SIGPIPE, SIG_IGN);
	const char *mode = argv[1];
	argc -= 2;
	argv += 2;
	if (strcmp(mode, "serve") == 0)
		return cmd_serve(argc, argv);
	if (strcmp(mode, "put") == 0)
		return cmd_transfer(argc, argv, true);
	if (strcmp(mode, "get") == 0)
		return cmd_transfer(argc, argv, false);
	if (strcmp(mode, "ping") == 0)
		return cmd_ping(argc, argv);
	if (strcmp(mode, "streams") == 0)
		return cmd_streams(argc, argv);
	if (strcmp(mode, "react") == 0)
		return cmd_react(argc, argv);
	if (strcmp(mode, "supervise") == 0)
		return cmd_supervise(argc, argv);
	die("unknown mode '%s'", mode);
}
