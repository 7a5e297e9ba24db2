/* What the unit tests share; see testlib.h. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "agent.h"
#include "testlib.h"

bool
wait_for(int fd, short events, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;
	do
		r = poll(&pfd, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

/* A unix stream socket and the address of path, for bind or connect. */
static int
unix_socket_for(const char *path, struct sockaddr_un *addr, socklen_t *len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(ge(int, fd, 0), "socket: %s", strerror(errno));
	*len = util_sockaddr_un(addr, path);
	cr_assert(ne(u32, (uint32_t)*len, 0), "%s: %s", path, strerror(errno));
	return fd;
}

int
unix_listen(const char *path, int backlog)
{
	struct sockaddr_un addr;
	socklen_t len;
	int fd = unix_socket_for(path, &addr, &len);
	cr_assert(eq(int, bind(fd, (struct sockaddr *)&addr, len), 0),
	    "bind %s: %s", path, strerror(errno));
	cr_assert(eq(int, listen(fd, backlog), 0), "listen: %s",
	    strerror(errno));
	return fd;
}

int
unix_connect(const char *path)
{
	struct sockaddr_un addr;
	socklen_t len;
	int fd = unix_socket_for(path, &addr, &len);
	int r = connect(fd, (struct sockaddr *)&addr, len);
	cr_assert(eq(int, r, 0), "connect %s: %s", path, strerror(errno));
	return fd;
}

int
accept_within(int lfd, int ms)
{
	cr_assert(wait_for(lfd, POLLIN, ms), "nobody reached the engine");
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert(ge(int, fd, 0), "accept: %s", strerror(errno));
	return fd;
}

void
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		cr_assert(gt(sz, (size_t)(n < 0 ? 0 : n), 0), "send: %s",
		    strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

void
read_exactly(int fd, void *buf, size_t len, int ms)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		cr_assert(wait_for(fd, POLLIN, ms),
		    "only %zu of %zu bytes arrived", got, len);
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		cr_assert(gt(sz, (size_t)(n < 0 ? 0 : n), 0),
		    "read after %zu of %zu bytes: %s", got, len,
		    n == 0 ? "EOF" : strerror(errno));
		got += (size_t)n;
	}
}

long
cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	cr_assert(not(eq(ptr, f, NULL)), "%s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields 14 and 15 (utime, stime), counted after the ")" of comm. */
	const char *p = strrchr(buf, ')');
	cr_assert(not(eq(ptr, (void *)p, NULL)));
	unsigned long utime = 0, stime = 0;
	cr_assert(eq(int, sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %lu %lu", &utime, &stime), 2));
	return (long)(utime + stime);
}

void
trusted_tree_up(const char *root, const char *desktop)
{
	char cli[PATH_MAX * 2];
	cr_assert(eq(int, unshare(CLONE_NEWNS), 0), "unshare: %s",
	    strerror(errno));
	cr_assert(eq(int, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0));
	cr_assert(eq(int, mount("wda-test", root, "tmpfs", 0, "mode=1777"), 0),
	    "tmpfs on %s: %s", root, strerror(errno));
	snprintf(cli, sizeof cli, "%s/cli-tools", desktop);
	cr_assert(eq(int, util_mkdir_p(cli, 0755), 0), "%s: %s", cli,
	    strerror(errno));
	cr_assert(eq(int, mount("wda-test", cli, "tmpfs", 0, "mode=755"), 0),
	    "tmpfs on %s: %s", cli, strerror(errno));
}

void
trusted_tree_down(const char *root)
{
	(void)umount2(root, MNT_DETACH);
	(void)rmdir(root);
}
