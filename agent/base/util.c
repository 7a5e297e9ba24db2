/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by every module. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/defs.h"
#include "base/util.h"

int
util_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0)
		return -1;
	const char *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail: {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
}

/* mkdir -p of path's first len bytes. */
static int
util_mkdir_upto(const char *path, size_t len, mode_t mode)
{
	char buf[PATH_MAX];
	if (len >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len);
	buf[len] = '\0';
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
util_mkdir_p(const char *path, mode_t mode)
{
	return util_mkdir_upto(path, strlen(path), mode);
}

int
util_mkdir_parent(const char *path, mode_t mode)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL || slash == path)
		return 0;	/* the current directory, or / */
	return util_mkdir_upto(path, (size_t)(slash - path), mode);
}

int
util_private_dir(const char *path)
{
	if (util_mkdir_parent(path, 0755) < 0 ||
	    (mkdir(path, 0700) < 0 && errno != EEXIST))
		return -1;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		goto fail;
	int narrowed = 0;
	if ((st.st_mode & 077) != 0) {
		if (fchmod(fd, st.st_mode & 0700) < 0)
			goto fail;
		narrowed++;
	}
	/* Its files, as an older version may have left them (0644). */
	int dfd = dup(fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d == NULL) {
		if (dfd >= 0)
			close(dfd);
		goto fail;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || (st.st_mode & 077) == 0)
			continue;
		if (fchmodat(fd, e->d_name, st.st_mode & 0700, 0) < 0) {
			closedir(d);
			goto fail;
		}
		narrowed++;
	}
	closedir(d);
	close(fd);
	return narrowed;
fail: {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		errno = saved;
		return -1;
	}
}

int
util_set_str(char **slot, const char *s)
{
	if (*slot != NULL && s != NULL && strcmp(*slot, s) == 0)
		return 0;
	char *copy = NULL;
	if (s != NULL && (copy = strdup(s)) == NULL)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

char *
util_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	char *out = malloc(la + 1 + strlen(b) + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, a, la);
	out[la] = '/';
	strcpy(out + la + 1, b);
	return out;
}

bool
util_path_within(const char *path, const char *dir)
{
	size_t ld = strlen(dir);
	while (ld > 1 && dir[ld - 1] == '/')
		ld--;
	if (strncmp(path, dir, ld) != 0)
		return false;
	return path[ld] == '\0' || path[ld] == '/' || ld == 1;
}

socklen_t
util_sockaddr_un(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	size_t len = strlen(path);
	bool abstract = path[0] == '@';
	if (len == 0 || (abstract && len == 1)) {
		errno = EINVAL;
		return 0;
	}
	/* A file's name keeps its NUL; an abstract name has none. */
	if (len + !abstract > sizeof sun->sun_path) {
		errno = ENAMETOOLONG;
		return 0;
	}
	memcpy(sun->sun_path, path, len);
	if (abstract)
		sun->sun_path[0] = '\0';
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    !abstract);
}

int
util_unix_connect(const char *path)
{
	struct sockaddr_un sun;
	socklen_t len = util_sockaddr_un(&sun, path);
	if (len == 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, len) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

uint32_t
backoff_next(struct backoff *b, uint32_t random)
{
	uint64_t last = b->last_ms < b->base_ms ? b->base_ms : b->last_ms;
	uint64_t hi = last * 3;
	if (hi > b->cap_ms)
		hi = b->cap_ms;
	if (hi < b->base_ms)
		hi = b->base_ms;
	b->last_ms = (uint32_t)(b->base_ms + random % (hi - b->base_ms + 1));
	return b->last_ms;
}

void
backoff_reset(struct backoff *b)
{
	b->last_ms = 0;
}

uint32_t
util_random(void)
{
	uint32_t r;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
		return r;
	/* No entropy yet (early boot): enough to keep agents out of step. */
	return (uint32_t)(util_now_ms() * 2654435761u) ^ (uint32_t)getpid();
}

static uint64_t
util_clock_ms(clockid_t clk)
{
	struct timespec ts;
	if (clock_gettime(clk, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
util_now_ms(void)
{
	return util_clock_ms(CLOCK_MONOTONIC);
}

uint64_t
util_wall_ms(void)
{
	return util_clock_ms(CLOCK_REALTIME);
}

uint64_t
util_rfc3339_ms(const char *s)
{
	int y, mo, d, h, mi, se, n = 0;
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h,
	    &mi, &se, &n) != 6 || y < 2000)
		return 0;
	const char *p = s + n;
	unsigned ms = 0, digits = 0;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (unsigned)(*p - '0');
	for (; digits < 3; digits++)
		ms *= 10;
	if (strcmp(p, "Z") != 0)
		return 0;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi, .tm_sec = se };
	time_t t = timegm(&tm);
	return t < 0 ? 0 : (uint64_t)t * 1000 + ms;
}

long
util_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (f == NULL)
		return -1;
	char line[256];
	long kib = -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

int
util_group_gid(const char *name, gid_t *gid)
{
	struct group grp, *res = NULL;
	char buf[16384];
	int r = getgrnam_r(name, &grp, buf, sizeof buf, &res);
	if (r != 0 || res == NULL) {
		errno = r != 0 ? r : ENOENT;
		return -1;
	}
	*gid = grp.gr_gid;
	return 0;
}
