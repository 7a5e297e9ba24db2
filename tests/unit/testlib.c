/* What the unit tests share; see testlib.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
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
make_temp_dir(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "/tmp/wda-%s-XXXXXX", name);
	cr_assert(lt(sz, (size_t)(n < 0 ? len : (size_t)n), len));
	cr_assert(not(eq(ptr, mkdtemp(buf), NULL)), "mkdtemp %s: %s", buf,
	    strerror(errno));
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(path);
}

void
remove_tree(const char *dir)
{
	cr_assert(eq(int, nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS), 0),
	    "removing %s: %s", dir, strerror(errno));
}

char tmp_root[PATH_MAX];

void
tmp_root_setup(void)
{
	make_temp_dir(tmp_root, PATH_MAX, "unit");
}

void
tmp_root_teardown(void)
{
	remove_tree(tmp_root);
}

void
put_file_in(const char *dir, const char *rel, mode_t mode, const char *text)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	cr_assert(eq(int, util_mkdir_parent(path, 0755), 0), "mkdir for %s: %s",
	    path, strerror(errno));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert(ge(int, fd, 0), "create %s: %s", path, strerror(errno));
	size_t len = strlen(text);
	cr_assert(eq(sz, (size_t)write(fd, text, len), len), "write %s: %s",
	    path, strerror(errno));
	close(fd);
	cr_assert(eq(int, chmod(path, mode), 0), "chmod %s: %s", path,
	    strerror(errno));
}
