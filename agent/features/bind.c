/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bind-mount re-exposure.  The engine runs in another distro and cannot
 * see this one's files, so `docker run -v /home/me/app:/app` would mount
 * an empty directory the engine makes on its side.  The proxy hands every
 * container create to bind_on_source().  Each source is resolved (as the
 * engine would, symlinks followed) and looked up in pathmap.c's table of
 * what the engine sees: a source it sees is rewritten to the engine's
 * path for it (the shared tmpfs at /run/desktop/mnt/host/wsl, drive C: at
 * /run/desktop/mnt/host/c on Docker Desktop); one it cannot see is
 * bind-mounted (MS_BIND|MS_REC) below the shared tmpfs, at
 * /mnt/wsl/docker-desktop-bind-mounts/<distro>/<sha256 of the path>, which
 * propagates to every distro, and the create is rewritten to that path as
 * the engine sees it.  A file source gets a file as its mount point.  The
 * table is built again at each reconcile (start, reload, Docker Desktop
 * coming and going).
 *
 * Exposures live as long as a container uses one.  Which containers do is
 * asked of the engine (GET /containers/json?all=1, each container's
 * Mounts[].Source) after every create and destroy it reports on its event
 * stream; a create still on its way holds its exposure for up to
 * BIND_PENDING_MS, until a container using it shows up.  Unused ones are
 * unmounted (MNT_DETACH) and removed.  Every exposure is in the manifest
 * before it is mounted, so a restart, even after kill -9, finds them all;
 * the first collection then keeps (and re-mounts, after a reboot) those
 * containers use, and removes the rest.
 *
 * A source that does not exist in this distro is handled as dockerd
 * handles it, but here, where the source is: for -v (HostConfig.Binds)
 * and for a mount with BindOptions.CreateMountpoint (compose's
 * bind.create_host_path) the directory is made, owned by the caller (the
 * peer credentials of the client's connection), by descriptor: mkdirat in
 * its parent, fchown through what was made, so a component swapped for a
 * symlink meanwhile hands nothing of root's away; for --mount it is refused,
 * the proxy answering the create itself with the engine's own error
 * (400, {"message": "invalid mount config for type \"bind\": bind source
 * path does not exist: ..."}).  Forwarding it would have the engine create
 * an empty directory on its side, the very confusion this module exists
 * to prevent.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "base/report.h"
#include "sys/manifest.h"
#include "sys/trust.h"
#include "wire/http.h"
#include "wire/pathmap.h"
#include "io/engine-get.h"
#include "io/proxy.h"
#include "features/bind.h"
#include "features/desktop.h"
#include "features/restore.h"
#include "features/socket.h"
#include "features/volume.h"
#include "main/agent.h"

#define BIND_LOG		"bind"
#define BIND_REPLY_MAX		(16 * 1024 * 1024)	/* containers/json */
#define BIND_EVENT_MAX		(1024 * 1024)	/* unread event bytes held */
#define BIND_TIMEOUT_S		10
#define BIND_GC_DELAY_MS	50	/* events come in bursts */
#define BIND_RETRY_FIRST_MS	500
#define BIND_RETRY_MAX_MS	30000
#define BIND_TICKETS_MAX	64
#define BIND_EXPOSURES_MAX	1024
#define BIND_NAMES_SHOWN	8

/* The engine's events that change who uses what. */
#define BIND_EVENTS_PATH	"/events?filters=%7B%22type%22%3A%5B%22" \
	"container%22%2C%22volume%22%5D%2C%22event%22%3A%5B%22create%22%2C" \
	"%22destroy%22%5D%7D"
#define BIND_CONTAINERS_PATH	"/containers/json?all=1"

struct bind_exposure {
	char		*source;	/* resolved, in this distro */
	char		*local;		/* the mount point here */
	char		*engine;	/* the same, as the engine sees it */
	bool		 read_only;
	bool		 mounted;
	bool		 have_mount_id;	/* mount_id is known */
	struct trust_mount_id mount_id;	/* what was mounted, to unmount */
	uint64_t	 pending[BIND_TICKETS_MAX];	/* deadlines, oldest first */
	size_t		 npending;
	struct json_object *users;	/* [{"id","name"}] as last seen */
};

struct bind {
	struct agent		*agent;
	struct bind_exposure	*x;
	size_t			 n;
	struct pathmap		*map;		/* what the engine sees */
	char			 map_error[256]; /* why it is an old one, or "" */
	struct volumes		*vol;		/* volume.c: bind volumes */
	char			*local_dir;	/* .../docker-desktop-bind-mounts/D */
	char			*engine_dir;	/* the same, for the engine */
	int			 dir_fd;	/* local_dir, trusted; -1: not */
	char			 untrusted[1024]; /* why not, or "" */
	bool			 hooked;
	struct engine_get	*events;	/* the event stream */
	bool			 events_up;	/* its head said 200 */
	struct engine_get	*gc;		/* GET /containers/json */
	bool			 gc_again;
	bool			 gc_done_once;
	struct event		*gc_timer;
	struct event		*events_timer;
	struct backoff		 retry;		/* following the events */
	uint64_t		 gc_runs;
	char			 error[256];
};

/* ------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4), for naming exposures as Docker Desktop does. */

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t
sha256_rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void
sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], v[8];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = sha256_rotr(w[i - 15], 7) ^
		    sha256_rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = sha256_rotr(w[i - 2], 17) ^
		    sha256_rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, h, sizeof v);
	for (int i = 0; i < 64; i++) {
		uint32_t s1 = sha256_rotr(v[4], 6) ^ sha256_rotr(v[4], 11) ^
		    sha256_rotr(v[4], 25);
		uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
		uint32_t t1 = v[7] + s1 + ch + sha256_k[i] + w[i];
		uint32_t s0 = sha256_rotr(v[0], 2) ^ sha256_rotr(v[0], 13) ^
		    sha256_rotr(v[0], 22);
		uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
		uint32_t t2 = s0 + maj;
		memmove(v + 1, v, 7 * sizeof v[0]);
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		h[i] += v[i];
}

void
bind_path_hash(const char *path, char hex[65])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	size_t len = strlen(path), i = 0;
	unsigned char block[64];
	for (; len - i >= 64; i += 64)
		sha256_block(h, (const unsigned char *)path + i);
	size_t rest = len - i;
	memset(block, 0, sizeof block);
	memcpy(block, path + i, rest);
	block[rest] = 0x80;
	if (rest >= 56) {
		sha256_block(h, block);
		memset(block, 0, sizeof block);
	}
	uint64_t bits = (uint64_t)len * 8;
	for (int b = 0; b < 8; b++)
		block[63 - b] = (unsigned char)(bits >> (8 * b));
	sha256_block(h, block);
	for (int j = 0; j < 8; j++)
		snprintf(hex + 8 * j, 9, "%08x", h[j]);
}

/* ------------------------------------------------------------------ */
/* Deciding what a source needs. */

/* "/a//b/./c/../d/" -> "/a/b/d", as the engine cleans paths; malloc'd. */
static char *
bind_clean_path(const char *path)
{
	size_t len = strlen(path);
	char *out = malloc(len + 2);
	if (out == NULL)
		return NULL;
	size_t o = 0;
	const char *p = path;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

enum bind_decision
bind_decide(const struct pathmap *m, const char *source, char **out)
{
	*out = NULL;
	char *clean = bind_clean_path(source);
	if (clean == NULL)
		goto oom;
	char *real = realpath(clean, NULL);
	free(clean);
	if (real == NULL) {
		*out = strdup(strerror(errno));
		return BIND_MISSING;	/* *out NULL: out of memory */
	}
	char *engine;
	switch (pathmap_translate(m, real, &engine)) {
	case PATHMAP_NOMEM:
		free(real);
		goto oom;
	case PATHMAP_EXPOSE:
		*out = real;
		return BIND_EXPOSE;
	case PATHMAP_KEEP_AS:
		break;
	}
	free(real);
	/* Same text as the request: nothing to rewrite. */
	if (strcmp(engine, source) == 0) {
		free(engine);
		return BIND_KEEP;
	}
	*out = engine;
	return BIND_REPLACE;
oom:
	*out = strdup("out of memory");
	return BIND_MISSING;
}

/*
 * The directory path names (absolute, its symlinks resolved), walked from
 * / one component at a time with O_NOFOLLOW: an O_PATH descriptor, or -1
 * (ENOTDIR for a file, ELOOP if a component became a symlink since).
 */
static int
bind_open_resolved(const char *path)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *copy = strdup(path), *save = NULL;
	if (copy == NULL) {
		if (fd >= 0)
			close(fd);
		errno = ENOMEM;
		return -1;
	}
	for (char *c = strtok_r(copy, "/", &save); c != NULL && fd >= 0;
	    c = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		int err = errno;
		close(fd);
		fd = next;
		errno = err;
	}
	int err = errno;
	free(copy);
	errno = err;
	return fd;
}

/*
 * Make name in the directory dirfd and hand it to the caller, through a
 * descriptor of exactly what was made: nothing followed.  The new
 * directory's descriptor, or -1.
 */
static int
bind_make_dir_at(int dirfd, const char *name, const struct http_caller *caller)
{
	bool made = mkdirat(dirfd, name, 0755) == 0;
	if (!made && errno != EEXIST)
		return -1;
	/* O_RDONLY, not O_PATH: fchown needs it. */
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0 || !made || !caller->known)
		return fd;
	struct stat st;
	int err = 0;
	if (fstat(fd, &st) < 0)
		err = errno;
	else if (st.st_uid != geteuid())
		err = EPERM;	/* swapped for another's since: not ours to give */
	if (err == 0 && fchown(fd, caller->uid, caller->gid) == 0)
		return fd;
	if (err == 0)
		err = errno;
	close(fd);
	errno = err;
	return -1;
}

int
bind_make_source(const char *path, const struct http_caller *caller)
{
	char *p = bind_clean_path(path);
	if (p == NULL)
		return -1;
	/* The part that exists: as far as lstat finds each component. */
	size_t have = 0;
	struct stat st;
	int r = 0;
	for (char *s = p + 1; ; s++) {
		bool last = *s == '\0';
		if (!last && *s != '/')
			continue;
		*s = '\0';
		int found = lstat(p, &st);
		int err = errno;
		if (!last)
			*s = '/';
		if (found < 0) {
			r = err == ENOENT ? 0 : -1;
			errno = err;
			break;
		}
		have = (size_t)(s - p);
		if (last) {
			free(p);	/* all there: nothing to make */
			return 0;
		}
	}
	char *real = NULL;
	int dfd = -1;
	if (r == 0) {
		/* Resolved as the engine resolves it: the user's links count. */
		char *prefix = have > 0 ? strndup(p, have) : strdup("/");
		real = prefix != NULL ? realpath(prefix, NULL) : NULL;
		free(prefix);
		dfd = real != NULL ? bind_open_resolved(real) : -1;
	}
	/* What is missing, made one directory at a time, by descriptor. */
	char *save = NULL;
	for (char *c = dfd >= 0 ? strtok_r(p + have, "/", &save) : NULL;
	    c != NULL && dfd >= 0; c = strtok_r(NULL, "/", &save)) {
		int next = bind_make_dir_at(dfd, c, caller);
		int err = errno;
		close(dfd);
		dfd = next;
		errno = err;
	}
	int err = errno;
	r = dfd >= 0 ? 0 : -1;
	if (dfd >= 0)
		close(dfd);
	free(real);
	free(p);
	errno = err;
	return r;
}

/* ------------------------------------------------------------------ */
/* Exposures: mount, record, remove. */

/* Where the engine sees a path of ours below the shared tmpfs; malloc'd. */
static char *
bind_engine_path(const struct bind *b, const char *local)
{
	char *engine = NULL;
	if (pathmap_translate(b->map, local, &engine) == PATHMAP_EXPOSE)
		engine = strdup(local);	/* not below it: as it is */
	return engine;
}

static struct bind_exposure *
bind_find(struct bind *b, const char *local)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->x[i].local, local) == 0)
			return &b->x[i];
	return NULL;
}

static struct bind_exposure *
bind_add(struct bind *b, const char *source, const char *local)
{
	if (b->n >= BIND_EXPOSURES_MAX) {
		errno = ENOSPC;
		return NULL;
	}
	struct bind_exposure *grown = realloc(b->x, (b->n + 1) * sizeof *grown);
	if (grown == NULL)
		return NULL;
	b->x = grown;
	struct bind_exposure *x = &b->x[b->n];
	memset(x, 0, sizeof *x);
	x->source = strdup(source);
	x->local = strdup(local);
	x->engine = bind_engine_path(b, local);
	x->users = json_object_new_array();
	if (x->source == NULL || x->local == NULL || x->engine == NULL ||
	    x->users == NULL) {
		free(x->source);
		free(x->local);
		free(x->engine);
		json_object_put(x->users);
		errno = ENOMEM;
		return NULL;
	}
	b->n++;
	return x;
}

static void
bind_drop(struct bind *b, struct bind_exposure *x)
{
	free(x->source);
	free(x->local);
	free(x->engine);
	json_object_put(x->users);
	size_t i = (size_t)(x - b->x);
	memmove(x, x + 1, (b->n - i - 1) * sizeof *x);
	b->n--;
}

/*
 * The exposure's mount point, as a name in the trusted bind area
 * (b->dir_fd): NULL and errno when the area is not trusted (EPERM) or
 * the point is not directly in it (EXDEV: an entry of an earlier run
 * under another distro name).
 */
static const char *
bind_point_name(const struct bind *b, const struct bind_exposure *x)
{
	size_t n = strlen(b->local_dir);
	if (b->dir_fd < 0) {
		errno = EPERM;
		return NULL;
	}
	if (strncmp(x->local, b->local_dir, n) != 0 || x->local[n] != '/' ||
	    x->local[n + 1] == '\0' || strchr(x->local + n + 1, '/') != NULL) {
		errno = EXDEV;
		return NULL;
	}
	return x->local + n + 1;
}

/*
 * What the source is mounted onto: the point we made (root's, a directory
 * or a file, nothing mounted on it yet), opened O_PATH below the trusted
 * area, or -1 and errno (ELOOP for a link, EBUSY for a mount already
 * there, EPERM for another owner).
 */
static int
bind_open_point(const struct bind *b, const char *name)
{
	int fd = openat(b->dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		goto fail;
	errno = S_ISLNK(st.st_mode) ? ELOOP : st.st_uid != 0 ? EPERM :
	    !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) ? EINVAL : 0;
	int root = errno == 0 ? trust_is_mount_root(fd) : -1;
	if (root == 0)
		return fd;
	if (root == 1)
		errno = EBUSY;
fail:
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

static int bind_make_point(struct bind *, const char *name, bool dir);

/*
 * The source, opened O_PATH, cloned onto the point by descriptor; the
 * point made again if it is gone (a new shared tmpfs, after a reboot).
 */
static int
bind_mount(struct bind *b, struct bind_exposure *x, bool read_only)
{
	const char *name = bind_point_name(b, x);
	if (name == NULL)
		return -1;
	int src = open(x->source, O_PATH | O_CLOEXEC);
	struct stat st;
	int point = src >= 0 && fstat(src, &st) == 0 &&
	    bind_make_point(b, name, S_ISDIR(st.st_mode)) == 0 ?
	    bind_open_point(b, name) : -1;
	int r = point >= 0 ? trust_mount_fd(src, point, TRUST_MOUNT_RECURSIVE |
	    (read_only ? TRUST_MOUNT_RDONLY : 0), &x->mount_id) : -1;
	int saved = errno;
	if (src >= 0)
		close(src);
	if (point >= 0)
		close(point);
	errno = saved;
	if (r < 0)
		return -1;
	x->mounted = true;
	x->have_mount_id = true;
	x->read_only = read_only;
	return 0;
}

/*
 * x's point, opened O_PATH in the area (*name, NULL when it is not in
 * it), and what is mounted on it: *id and *mounted 1, or *mounted 0 when
 * nothing is.  -1 and errno (ENOENT: the point is gone).
 */
static int
bind_open_mounted(const struct bind *b, const struct bind_exposure *x,
    const char **name, int *mounted, struct trust_mount_id *id)
{
	*mounted = 0;
	*name = bind_point_name(b, x);
	int fd = *name != NULL ? openat(b->dir_fd, *name, O_PATH | O_NOFOLLOW |
	    O_CLOEXEC) : -1;
	if (fd < 0)
		return -1;
	*mounted = trust_is_mount_root(fd);
	if (*mounted < 0 || (*mounted == 1 && trust_mount_identity(fd, id) < 0)) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Is something mounted on x's point, looked at through the area's fd? */
static bool
bind_point_mounted(const struct bind *b, const struct bind_exposure *x)
{
	const char *name;
	int mounted;
	struct trust_mount_id id;
	int fd = bind_open_mounted(b, x, &name, &mounted, &id);
	if (fd < 0)
		return false;
	close(fd);
	return mounted == 1;
}

/*
 * Unmount x if it is mounted, by descriptor, after checking that the
 * mount there is the one we made (ESTALE: another one is, left alone).
 * An exposure from the manifest has no identity yet: what is mounted on
 * its point is ours, since only root can mount in the area.
 */
static int
bind_unmount(struct bind *b, struct bind_exposure *x)
{
	const char *name;
	struct trust_mount_id now;
	int mounted;
	int fd = bind_open_mounted(b, x, &name, &mounted, &now);
	if (fd < 0)
		return name != NULL && errno == ENOENT ? 0 : -1;
	close(fd);
	if (mounted == 1 && trust_umount_checked(b->dir_fd, name,
	    x->have_mount_id ? &x->mount_id : &now) < 0 && errno != ENOENT)
		return -1;
	x->mounted = false;
	x->have_mount_id = false;
	return 0;
}

/* A writer came: the exposure (checked to be ours) made writable. */
static int
bind_make_writable(struct bind *b, struct bind_exposure *x)
{
	const char *name;
	struct trust_mount_id now;
	int mounted;
	int fd = bind_open_mounted(b, x, &name, &mounted, &now);
	if (fd < 0)
		return -1;
	int r = -1;
	errno = ESTALE;
	if (mounted == 1 && (!x->have_mount_id || (now.dev == x->mount_id.dev &&
	    now.ino == x->mount_id.ino && now.mnt_id == x->mount_id.mnt_id)))
		r = trust_mount_set_rdonly(fd, TRUST_MOUNT_RECURSIVE);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* Make the mount point in the area: a directory, or a file for a file. */
static int
bind_make_point(struct bind *b, const char *name, bool dir)
{
	if (b->dir_fd < 0) {
		errno = EPERM;
		return -1;
	}
	if (dir)
		return mkdirat(b->dir_fd, name, 0755) < 0 && errno != EEXIST ?
		    -1 : 0;
	int fd = openat(b->dir_fd, name, O_WRONLY | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static void
bind_remove_point(struct bind *b, struct bind_exposure *x)
{
	const char *name = bind_point_name(b, x);
	if (name != NULL && unlinkat(b->dir_fd, name, AT_REMOVEDIR) < 0 &&
	    errno == ENOTDIR)
		(void)unlinkat(b->dir_fd, name, 0);
}

static void bind_events_start(struct bind *);

/* Make `source' visible to the engine; *engine is where (borrowed). */
static int
bind_expose(struct bind *b, const char *source, bool read_only,
    const char **engine, char *why, size_t whylen)
{
	struct agent *a = b->agent;
	char hash[65];
	if (b->dir_fd < 0) {
		snprintf(why, whylen, "cannot re-expose %s to the engine: the "
		    "bind-mount area is untrusted: %s", source, b->untrusted);
		return -1;
	}
	bind_path_hash(source, hash);
	char *local = util_path_join(b->local_dir, hash);
	if (local == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	struct bind_exposure *x = bind_find(b, local);
	bool fresh = x == NULL;
	if (fresh) {
		struct stat st;
		if (stat(source, &st) < 0 ||
		    (x = bind_add(b, source, local)) == NULL) {
			snprintf(why, whylen, "cannot re-expose %s to the engine "
			    "below %s: %s", source, b->local_dir, strerror(errno));
			free(local);
			return -1;
		}
		/* Recorded before it exists: a crash cannot leave it unknown. */
		if (manifest_add(&a->manifest, BIND_MANIFEST_KIND, local,
		    source) < 0 || manifest_save(&a->manifest) < 0 ||
		    bind_make_point(b, hash, S_ISDIR(st.st_mode)) < 0) {
			snprintf(why, whylen, "cannot re-expose %s to the engine "
			    "at %s: %s", source, local, strerror(errno));
			manifest_remove(&a->manifest, BIND_MANIFEST_KIND, local);
			manifest_save(&a->manifest);
			bind_drop(b, x);
			free(local);
			return -1;
		}
	}
	free(local);
	bool mounting = !x->mounted;
	if (!x->mounted && bind_mount(b, x, read_only) < 0) {
		snprintf(why, whylen, "cannot re-expose %s to the engine: mount "
		    "on %s: %s", source, x->local, strerror(errno));
		if (fresh) {
			bind_remove_point(b, x);
			manifest_remove(&a->manifest, BIND_MANIFEST_KIND, x->local);
			manifest_save(&a->manifest);
			bind_drop(b, x);
		}
		return -1;
	}
	if (x->read_only && !read_only) {
		/* A writer came: the readers' containers stay read-only. */
		if (bind_make_writable(b, x) < 0)
			log_warn(BIND_LOG, "cannot make %s writable: %s",
			    x->local, strerror(errno));
		else
			x->read_only = false;
	}
	restore_record(a, x->local, x->read_only, x->users, true, mounting);
	if (x->npending == BIND_TICKETS_MAX)
		memmove(x->pending, x->pending + 1,
		    (BIND_TICKETS_MAX - 1) * sizeof x->pending[0]);
	else
		x->npending++;
	x->pending[x->npending - 1] = util_now_ms() + BIND_PENDING_MS;
	if (fresh)
		log_notice(BIND_LOG, "re-exposed %s to the engine at %s%s",
		    source, x->engine, x->read_only ? " (read-only)" : "");
	else
		log_info(BIND_LOG, "%s: already exposed at %s; used by one more "
		    "create", source, x->engine);
	*engine = x->engine;
	bind_events_start(b);
	agent_state_changed(a);
	return 0;
}

static void
bind_unexpose(struct bind *b, struct bind_exposure *x)
{
	struct agent *a = b->agent;
	if (bind_unmount(b, x) < 0) {
		snprintf(b->error, sizeof b->error, "cannot unmount %s (the "
		    "exposure of %s): %s", x->local, x->source, errno == ESTALE ?
		    "another mount is there, not the one the agent made; left "
		    "alone" : strerror(errno));
		log_state(LOG_LVL_ERR, BIND_LOG, x->local, "%s; will try again",
		    b->error);
		return;
	}
	log_state(LOG_LVL_INFO, BIND_LOG, x->local, NULL);
	bind_remove_point(b, x);
	manifest_remove(&a->manifest, BIND_MANIFEST_KIND, x->local);
	log_notice(BIND_LOG, "removed the exposure of %s at %s: no container "
	    "uses it", x->source, x->engine);
	bind_drop(b, x);
}

/* The proxy's hook, for each absolute bind source of a create. */
static int
bind_on_source(void *arg, const struct http_bind_source *s,
    char **replacement, char *why, size_t whylen)
{
	struct bind *b = arg;
	const char *source = s->path;
	char *out;
	if (s->kind != HTTP_SOURCE_BIND)
		return volumes_on_source(b->vol, s, replacement, why, whylen);
	enum bind_decision d = bind_decide(b->map, source, &out);
	if (d == BIND_MISSING && s->create && out != NULL) {
		/* -v: made here, as dockerd would make it on its side. */
		if (bind_make_source(source, s->caller) < 0) {
			snprintf(why, whylen, "error while creating mount source "
			    "path '%s' (in WSL distro %s): %s", source,
			    b->agent->cfg.distro, strerror(errno));
			free(out);
			return -1;
		}
		log_notice(BIND_LOG, "made the missing bind source %s (owned by "
		    "%s%ld)", source, s->caller->known ? "uid " : "root, the "
		    "caller unknown: uid ", s->caller->known ?
		    (long)s->caller->uid : 0L);
		free(out);
		d = bind_decide(b->map, source, &out);
	}
	switch (d) {
	case BIND_KEEP:
		return 0;
	case BIND_REPLACE:
		log_info(BIND_LOG, "bind source %s is %s for the engine", source,
		    out);
		*replacement = out;
		return 0;
	case BIND_MISSING:
		/* The engine's own wording, as for --mount. */
		snprintf(why, whylen, "invalid mount config for type \"bind\": "
		    "bind source path does not exist: %s (in WSL distro %s: %s)",
		    source, b->agent->cfg.distro, out != NULL ? out :
		    "out of memory");
		free(out);
		return -1;
	case BIND_EXPOSE:
		break;
	}
	int r = bind_expose_as(b, out, s->read_only, replacement, why, whylen);
	free(out);
	return r;
}

int
bind_expose_as(struct bind *b, const char *source, bool read_only,
    char **engine_path, char *why, size_t whylen)
{
	const char *engine;
	if (bind_source_contains(source, pathmap_shared_root(b->map),
	    b->local_dir)) {
		snprintf(why, whylen, "invalid mount config for type \"bind\": "
		    "bind source path %s (in WSL distro %s) contains %s, where "
		    "bind sources are re-exposed to the engine: that would "
		    "expose the shared tree into itself; bind-mount a directory "
		    "that does not contain %s",
		    source, b->agent->cfg.distro, b->local_dir,
		    pathmap_shared_root(b->map));
		return -1;
	}
	if (bind_expose(b, source, read_only, &engine, why, whylen) < 0)
		return -1;
	*engine_path = strdup(engine);
	if (*engine_path == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

const struct pathmap *
bind_pathmap(const struct bind *b)
{
	return b->map;
}

int
bind_ensure_mounted(struct bind *b, const char *engine, char *why,
    size_t whylen)
{
	struct bind_exposure *x = NULL;
	for (size_t i = 0; i < b->n && x == NULL; i++)
		if (util_path_within(engine, b->x[i].engine))
			x = &b->x[i];
	if (x == NULL)
		return 0;
	if (x->mounted && bind_point_mounted(b, x))
		return 1;
	x->mounted = false;
	if (bind_mount(b, x, x->read_only) < 0) {
		snprintf(why, whylen, "cannot re-expose %s to the engine at %s: "
		    "%s", x->source, x->local, strerror(errno));
		return -1;
	}
	log_notice(BIND_LOG, "re-mounted %s at %s for a volume bound to it",
	    x->source, x->engine);
	agent_state_changed(b->agent);
	return 1;
}

/*
 * The proxy's reply hook: an exposure path (as the engine or this distro
 * sees it), or a path below one, or one the engine sees of this distro's
 * (pathmap.c), back in the user's terms.
 */
static char *
bind_user_path(void *arg, const char *path)
{
	struct bind *b = arg;
	for (size_t i = 0; i < b->n; i++) {
		const struct bind_exposure *x = &b->x[i];
		const char *at = util_path_within(path, x->engine) ? x->engine :
		    util_path_within(path, x->local) ? x->local : NULL;
		char *user;
		if (at != NULL && asprintf(&user, "%s%s", x->source,
		    path + strlen(at)) >= 0)
			return user;
	}
	/* A path the engine sees of ours: /run/desktop/mnt/host/c -> /mnt/c. */
	return pathmap_user_path(b->map, path);
}

/* ------------------------------------------------------------------ */
/* Asking the engine. */

static void bind_gc_reply(struct bind *, int code, struct evbuffer *);
static void bind_events_data(struct bind *, struct evbuffer *);
static void bind_events_ended(struct bind *, const char *error);
static void bind_gc_later(struct bind *, unsigned ms);

/* The reply to GET /containers/json. */
static void
bind_gc_got(int code, struct evbuffer *body, const char *error, void *arg)
{
	struct bind *b = arg;
	struct engine_get *g = b->gc;
	b->gc = NULL;
	if (error == NULL)
		bind_gc_reply(b, code, body);
	else {
		snprintf(b->error, sizeof b->error, "GET %s: %s",
		    BIND_CONTAINERS_PATH, error);
		log_state(LOG_LVL_WARN, BIND_LOG, "bind.gc", "cannot ask "
		    "the engine which containers use the %zu exposed "
		    "bind sources: %s; keeping them", b->n, error);
	}
	engine_get_free(g);
	if (b->gc_again) {
		b->gc_again = false;
		bind_gc_later(b, BIND_GC_DELAY_MS);
	}
}

/* The event stream: its head, then whatever the engine reports. */
static void
bind_events_got(int code, struct evbuffer *body, const char *error,
    void *arg)
{
	struct bind *b = arg;
	if (error != NULL) {
		bind_events_ended(b, error);
		return;
	}
	if (code != 200) {
		char err[64];
		snprintf(err, sizeof err, "GET /events answered %d", code);
		bind_events_ended(b, err);
		return;
	}
	if (!b->events_up) {
		b->events_up = true;
		backoff_reset(&b->retry);
		log_state(LOG_LVL_INFO, BIND_LOG, "bind.events", NULL);
	}
	/* An event; or, at the head, whatever happened while we were away. */
	bind_events_data(b, body);
}

/* The engine is asked only while its socket is there and trusted. */
static bool
bind_engine_usable(const struct bind *b)
{
	return desktop_view(b->agent->desktop)->engine_fd >= 0;
}

static struct engine_get *
bind_get_start(struct bind *b, const char *target, bool stream)
{
	const struct engine_get_opts opts = {
		.max = stream ? BIND_EVENT_MAX : BIND_REPLY_MAX,
		.timeout_s = BIND_TIMEOUT_S, .stream = stream,
	};
	if (!bind_engine_usable(b))
		return NULL;
	return engine_ask(b->agent, target, &opts, stream ? bind_events_got :
	    bind_gc_got, b);
}

static void bind_gc_start(struct bind *);

static void
bind_gc_later(struct bind *b, unsigned ms)
{
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };
	if (b->gc_timer != NULL)
		evtimer_add(b->gc_timer, &tv);
}

static void
bind_gc_fired(evutil_socket_t fd, short what, void *arg)
{
	bind_gc_start(arg);
}

static void
bind_events_fired(evutil_socket_t fd, short what, void *arg)
{
	bind_events_start(arg);
}

/* A create or destroy (or a fresh start): collect soon, once. */
static void
bind_events_data(struct bind *b, struct evbuffer *in)
{
	evbuffer_drain(in, evbuffer_get_length(in));
	bind_gc_later(b, BIND_GC_DELAY_MS);
}

static void
bind_events_stop(struct bind *b)
{
	engine_get_free(b->events);
	b->events = NULL;
	b->events_up = false;
	if (b->events_timer != NULL)
		evtimer_del(b->events_timer);
}

/* Follow the engine's events while there is anything to collect. */
static void
bind_events_start(struct bind *b)
{
	if (b->events != NULL || b->n == 0 || !bind_engine_usable(b))
		return;
	if (b->events_timer != NULL && evtimer_pending(b->events_timer, NULL))
		return;
	b->events = bind_get_start(b, BIND_EVENTS_PATH, true);
	if (b->events == NULL)
		bind_events_ended(b, "cannot connect to the engine");
}

/*
 * The event stream ended (the engine restarted, or refused): try again,
 * backing off, while there is something to collect.  Reconnecting
 * collects once, for what happened meanwhile.
 */
static void
bind_events_ended(struct bind *b, const char *error)
{
	engine_get_free(b->events);
	b->events = NULL;
	b->events_up = false;
	if (b->n == 0 || !bind_engine_usable(b))
		return;
	log_state(LOG_LVL_WARN, BIND_LOG, "bind.events", "not following the "
	    "engine's events (%s); retrying, and keeping every exposed bind "
	    "source meanwhile", error);
	uint32_t ms = backoff_next(&b->retry, util_random());
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(b->events_timer, &tv);
}

/* ------------------------------------------------------------------ */
/* Collecting: who uses which exposure. */

/* Does a container mount this exposure (its path or below)? */
static bool
bind_container_uses(struct json_object *c, const char *engine)
{
	struct json_object *mounts;
	if (!json_object_object_get_ex(c, "Mounts", &mounts) ||
	    !json_object_is_type(mounts, json_type_array))
		return false;
	size_t n = json_object_array_length(mounts);
	for (size_t i = 0; i < n; i++) {
		const char *source = util_json_string(
		    json_object_array_get_idx(mounts, i), "Source");
		if (source != NULL && util_path_within(source, engine))
			return true;
	}
	return false;
}

static const char *
bind_container_name(struct json_object *c)
{
	struct json_object *names, *first;
	if (json_object_object_get_ex(c, "Names", &names) &&
	    json_object_is_type(names, json_type_array) &&
	    (first = json_object_array_get_idx(names, 0)) != NULL &&
	    json_object_is_type(first, json_type_string)) {
		const char *s = json_object_get_string(first);
		return s[0] == '/' ? s + 1 : s;
	}
	return "?";
}

static bool
bind_users_have(struct json_object *users, const char *id)
{
	size_t n = json_object_array_length(users);
	for (size_t i = 0; i < n; i++) {
		const char *uid = util_json_string(
		    json_object_array_get_idx(users, i), "id");
		if (uid != NULL && strcmp(uid, id) == 0)
			return true;
	}
	return false;
}

/* "a, b and 3 more" */
static void
bind_users_text(struct json_object *users, char *buf, size_t len)
{
	size_t n = json_object_array_length(users), o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && i < BIND_NAMES_SHOWN && o < len; i++) {
		const char *name = util_json_string(
		    json_object_array_get_idx(users, i), "name");
		int w = snprintf(buf + o, len - o, "%s%s", i > 0 ? ", " : "",
		    name != NULL ? name : "?");
		if (w > 0)
			o += (size_t)w;
	}
	if (n > BIND_NAMES_SHOWN && o < len)
		snprintf(buf + o, len - o, " and %zu more", n - BIND_NAMES_SHOWN);
}

/* Who uses x now; retires one pending create per new container. */
static void
bind_update_users(struct bind_exposure *x, struct json_object *containers,
    uint64_t now)
{
	struct json_object *users = json_object_new_array();
	if (users == NULL)
		return;
	size_t n = json_object_array_length(containers), fresh = 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(containers, i);
		const char *id = util_json_string(c, "Id");
		if (id == NULL || !bind_container_uses(c, x->engine))
			continue;
		struct json_object *u = json_object_new_object();
		if (u == NULL)
			continue;
		json_object_object_add(u, "id", json_object_new_string(id));
		json_object_object_add(u, "name", json_object_new_string(
		    bind_container_name(c)));
		json_object_array_add(users, u);
		fresh += !bind_users_have(x->users, id);
	}
	/* Creates seen through: their containers exist now. */
	size_t retire = fresh < x->npending ? fresh : x->npending;
	size_t keep = 0;
	for (size_t i = retire; i < x->npending; i++)
		if (x->pending[i] > now)
			x->pending[keep++] = x->pending[i];
	x->npending = keep;
	char before[512], after[512];
	bind_users_text(x->users, before, sizeof before);
	bind_users_text(users, after, sizeof after);
	if (strcmp(before, after) != 0 && after[0] != '\0')
		log_notice(BIND_LOG, "%s (at %s) is used by %s", x->source,
		    x->engine, after);
	json_object_put(x->users);
	x->users = users;
}

static void
bind_gc_apply(struct bind *b, struct json_object *containers)
{
	uint64_t now = util_now_ms(), next = 0;
	for (size_t i = 0; i < b->n;) {
		struct bind_exposure *x = &b->x[i];
		bind_update_users(x, containers, now);
		bool used = json_object_array_length(x->users) > 0;
		if (!used && x->npending == 0) {
			size_t before = b->n;
			bind_unexpose(b, x);
			i += b->n == before;	/* kept (unmount failed) */
			continue;
		}
		/* After a reboot: containers still need it (restore.c). */
		if (used && !x->mounted)
			restore_request(b->agent->restore, "a container uses "
			    "an exposure that is not mounted");
		restore_record(b->agent, x->local, x->read_only, x->users,
		    x->mounted, false);
		for (size_t t = 0; t < x->npending; t++)
			if (next == 0 || x->pending[t] < next)
				next = x->pending[t];
		i++;
	}
	manifest_save(&b->agent->manifest);
	if (next != 0)
		bind_gc_later(b, (unsigned)(next - now + 10));
	if (b->n == 0)
		bind_events_stop(b);
	agent_state_changed(b->agent);
}

static void
bind_gc_reply(struct bind *b, int code, struct evbuffer *body)
{
	struct json_object *all = code == 200 ?
	    engine_get_json(body, HTTP_CREATE_DEPTH_MAX) : NULL;
	if (all != NULL && json_object_is_type(all, json_type_array) &&
	    !volumes_add_users(b->vol, all)) {
		json_object_put(all);	/* volume.c said why */
		return;
	}
	if (all == NULL || !json_object_is_type(all, json_type_array)) {
		snprintf(b->error, sizeof b->error, "GET %s answered %d%s",
		    BIND_CONTAINERS_PATH, code, code == 200 ?
		    " without a JSON array" : "");
		log_state(LOG_LVL_WARN, BIND_LOG, "bind.gc", "cannot tell which "
		    "containers use the exposed bind sources: %s; keeping "
		    "them", b->error);
		json_object_put(all);
		return;
	}
	b->error[0] = '\0';
	b->gc_runs++;
	b->gc_done_once = true;
	log_state(LOG_LVL_INFO, BIND_LOG, "bind.gc", NULL);
	bind_gc_apply(b, all);
	json_object_put(all);
}

static void
bind_gc_no_engine(struct bind *b)
{
	log_state(LOG_LVL_WARN, BIND_LOG, "bind.gc", "cannot connect to the "
	    "engine at %s to collect exposed bind sources",
	    desktop_view(b->agent->desktop)->engine_path);
}

/* The volumes are listed (or not): the containers next. */
static void
bind_gc_volumes_done(void *arg, bool ok)
{
	struct bind *b = arg;
	if (!ok) {
		if (b->gc_again) {
			b->gc_again = false;
			bind_gc_later(b, BIND_GC_DELAY_MS);
		}
		return;
	}
	b->gc = bind_get_start(b, BIND_CONTAINERS_PATH, false);
	if (b->gc == NULL)
		bind_gc_no_engine(b);
}

static void
bind_gc_start(struct bind *b)
{
	if (b->gc != NULL || volumes_busy(b->vol)) {
		b->gc_again = true;
		return;
	}
	if (b->n == 0 || !bind_engine_usable(b))
		return;
	/* Volumes first: a volume bound to an exposure is one of its users. */
	if (volumes_list(b->vol, bind_gc_volumes_done, b) < 0)
		bind_gc_no_engine(b);
}

/* ------------------------------------------------------------------ */
/* Life cycle. */

/*
 * mountinfo could not be read (EMFILE, say): the table read before stays,
 * said once.  With none yet, bind_new fails and the next reconcile tries
 * again.
 */
static void
bind_map_unread(struct bind *b, int err)
{
	if (err == ENOMEM)
		return;
	snprintf(b->map_error, sizeof b->map_error, "cannot read "
	    "/proc/self/mountinfo: %s; %s", strerror(err), b->map != NULL ?
	    "the engine's view of paths stays the one read before" :
	    "no bind source is re-exposed until it can be read");
	log_state(LOG_LVL_ERR, BIND_LOG, "bind.mountinfo", "%s", b->map_error);
}

/*
 * The engine's view of paths, from mountinfo and the configuration, and
 * where exposures go here and for the engine, for this distro.
 */
static int
bind_set_dirs(struct bind *b)
{
	const struct config *c = &b->agent->cfg;
	const struct pathmap_options o = {
		.engine_wsl_root = c->bind_engine_wsl_root,
		.engine_drive_root = c->bind_engine_drive_root,
		.shared_paths = c->bind_shared_paths,
	};
	struct pathmap *m = pathmap_new(&o);
	if (m == NULL) {
		int err = errno;
		bind_map_unread(b, err);
		errno = err;
		return -1;
	}
	b->map_error[0] = '\0';
	log_state(LOG_LVL_INFO, BIND_LOG, "bind.mountinfo", NULL);
	char *base = util_path_join(pathmap_shared_root(m), BIND_DIR_NAME);
	char *dir = base != NULL ? util_path_join(base, c->distro) : NULL;
	free(base);
	struct pathmap *old = b->map;
	b->map = m;
	char *engine = dir != NULL ? bind_engine_path(b, dir) : NULL;
	if (engine == NULL) {
		b->map = old;
		pathmap_free(m);
		free(dir);
		errno = ENOMEM;
		return -1;
	}
	pathmap_free(old);
	free(b->local_dir);
	free(b->engine_dir);
	b->local_dir = dir;
	b->engine_dir = engine;
	/* The engine may see the shared tmpfs elsewhere now (a reload). */
	for (size_t i = 0; i < b->n; i++) {
		char *e = bind_engine_path(b, b->x[i].local);
		if (e != NULL) {
			free(b->x[i].engine);
			b->x[i].engine = e;
		}
	}
	return 0;
}

/*
 * The bind area: dirpath/name, walked by descriptor from the trusted
 * dirfd, made (mode) when missing.  Made by root in a directory only root
 * may write to, it is root's; one found there is checked like any other
 * component (a user's, a link, a writable one: refused).
 */
static int
bind_walk_or_make(int dirfd, const char *dirpath, const char *name,
    mode_t mode, struct trust_failure *f)
{
	int fd = trust_walk_dir(dirfd, dirpath, name, 0, f);
	if (fd >= 0 || f->reason != TRUST_MISSING)
		return fd;
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST) {
		f->reason = TRUST_IO;
		f->err = errno;
		return -1;
	}
	return trust_walk_dir(dirfd, dirpath, name, 0, f);
}

int
bind_open_area(const char *root, const char *distro, struct trust_failure *f)
{
	if (distro[0] == '\0' || strchr(distro, '/') != NULL) {
		memset(f, 0, sizeof *f);
		f->reason = TRUST_IO;
		f->err = EINVAL;
		snprintf(f->path, sizeof f->path, "%s/%s/%s", root,
		    BIND_DIR_NAME, distro);
		return -1;
	}
	int rfd = trust_open_root(root, f);
	if (rfd < 0)
		return -1;
	int bfd = bind_walk_or_make(rfd, root, BIND_DIR_NAME, 0755, f);
	close(rfd);
	if (bfd < 0)
		return -1;
	char base[PATH_MAX];
	snprintf(base, sizeof base, "%s", f->path);
	int dfd = bind_walk_or_make(bfd, base, distro, 0700, f);
	close(bfd);
	if (dfd < 0)
		return -1;
	/* Only root (the engine, this agent) needs to look inside. */
	struct stat st;
	char self[32];
	snprintf(self, sizeof self, "/proc/self/fd/%d", dfd);
	if (fstat(dfd, &st) < 0 ||
	    ((st.st_mode & 07777) != 0700 && chmod(self, 0700) < 0)) {
		f->reason = TRUST_IO;
		f->err = errno;
		close(dfd);
		return -1;
	}
	return dfd;
}

bool
bind_source_contains(const char *source, const char *shared_root,
    const char *area)
{
	return util_path_within(shared_root, source) ||
	    util_path_within(area, source);
}

/* The area, walked again (made if missing) at each reconcile. */
static void
bind_check_area(struct bind *b)
{
	struct trust_failure f;
	memset(&f, 0, sizeof f);
	int fd = bind_open_area(pathmap_shared_root(b->map),
	    b->agent->cfg.distro, &f);
	if (b->dir_fd >= 0)
		close(b->dir_fd);
	b->dir_fd = fd;
	if (fd >= 0) {
		b->untrusted[0] = '\0';
		log_state(LOG_LVL_INFO, BIND_LOG, "bind.area", NULL);
		return;
	}
	trust_failure_format(&f, b->untrusted, sizeof b->untrusted);
	log_state(LOG_LVL_WARN, BIND_LOG, "bind.area", "untrusted: %s; no bind "
	    "source is re-exposed, mounted or unmounted there", b->untrusted);
}

/* What an earlier run left: ours to keep or remove. */
static void
bind_load_manifest(struct bind *b)
{
	struct manifest *m = &b->agent->manifest;
	for (size_t i = 0; i < m->n; i++) {
		struct manifest_entry *e = &m->entries[i];
		if (strcmp(e->kind, BIND_MANIFEST_KIND) != 0 || e->target == NULL ||
		    bind_find(b, e->path) != NULL)
			continue;
		struct bind_exposure *x = bind_add(b, e->target, e->path);
		if (x == NULL) {
			log_err(BIND_LOG, "cannot track %s from the manifest: %s",
			    e->path, strerror(errno));
			continue;
		}
		/* Asked through the area's descriptor: never by the path. */
		x->mounted = b->dir_fd >= 0 && bind_point_mounted(b, x);
	}
	if (b->n > 0)
		log_info(BIND_LOG, "%zu bind source(s) exposed by an earlier run; "
		    "keeping those containers use", b->n);
}

static struct bind *
bind_new(struct agent *a)
{
	struct bind *b = calloc(1, sizeof *b);
	if (b == NULL)
		return NULL;
	b->agent = a;
	b->dir_fd = -1;
	b->retry = (struct backoff){ BIND_RETRY_FIRST_MS, BIND_RETRY_MAX_MS, 0 };
	b->gc_timer = evtimer_new(a->base, bind_gc_fired, b);
	b->events_timer = evtimer_new(a->base, bind_events_fired, b);
	b->vol = volumes_new(a, b);
	bool made = b->gc_timer != NULL && b->events_timer != NULL &&
	    b->vol != NULL;
	int err = ENOMEM;
	if (!made || bind_set_dirs(b) < 0) {
		if (made)
			err = errno;
		bind_free(b);
		errno = err;
		return NULL;
	}
	return b;
}

void
bind_reconcile(struct agent *a)
{
	bool first = a->bind == NULL;
	if (first && (a->bind = bind_new(a)) == NULL) {
		/* An unread mountinfo was logged where it was found. */
		if (errno == ENOMEM)
			log_state(LOG_LVL_ERR, BIND_LOG, "bind.new", "out of "
			    "memory: bind-mount sources are not re-exposed");
		return;
	}
	struct bind *b = a->bind;
	/* The distro's name or the shared root may have changed (reload). */
	(void)bind_set_dirs(b);
	bind_check_area(b);
	if (first)
		bind_load_manifest(b);	/* its points are looked at in the area */
	b->hooked = socket_proxy(a->socket) != NULL &&
	    a->cfg.socket_mode == SOCKET_MODE_PROXY;
	if (b->hooked)
		proxy_set_create_hook(socket_proxy(a->socket), bind_on_source, b);
	if (b->hooked)
		proxy_set_reply_hook(socket_proxy(a->socket), bind_user_path, b);
	if (!bind_engine_usable(b)) {
		bind_events_stop(b);
		return;
	}
	bind_events_start(b);
	/* The first look, or the engine came back: who still uses what. */
	if (b->n > 0 && (!b->gc_done_once || b->events == NULL))
		bind_gc_later(b, 0);
}

void
bind_free(struct bind *b)
{
	if (b == NULL)
		return;
	if (socket_proxy(b->agent->socket) != NULL && b->hooked)
		proxy_set_create_hook(socket_proxy(b->agent->socket), NULL, NULL);
	bind_events_stop(b);
	engine_get_free(b->gc);
	volumes_free(b->vol);
	if (b->gc_timer != NULL)
		event_free(b->gc_timer);
	if (b->events_timer != NULL)
		event_free(b->events_timer);
	while (b->n > 0)
		bind_drop(b, &b->x[b->n - 1]);
	free(b->x);
	pathmap_free(b->map);
	if (b->dir_fd >= 0)
		close(b->dir_fd);
	free(b->local_dir);
	free(b->engine_dir);
	if (b->agent->bind == b)
		b->agent->bind = NULL;
	free(b);
}

struct json_object *
bind_status_json(struct bind *b, struct json_object *problems)
{
	struct json_object *o = json_object_new_object();
	if (o == NULL || b == NULL)
		return o;
	json_object_object_add(o, "active", json_object_new_boolean(b->hooked));
	json_object_object_add(o, "dir", json_object_new_string(b->local_dir));
	json_object_object_add(o, "engine_dir",
	    json_object_new_string(b->engine_dir));
	report_add_str(o, "untrusted", b->untrusted[0] != '\0' ?
	    b->untrusted : NULL);
	if (b->untrusted[0] != '\0' && b->hooked) {
		char what[sizeof b->untrusted + 64];
		snprintf(what, sizeof what, "the bind-mount area is untrusted: %s",
		    b->untrusted);
		report_add_problem(problems, what, "remove what is named above "
		    "(as root), then run 'sudo wsl-docker-agent reconcile'; until "
		    "then only bind sources the engine sees directly can be "
		    "used, and creates that need another are refused");
	}
	if (b->map_error[0] != '\0')
		report_add_problem(problems, b->map_error, "find what holds the "
		    "agent's descriptors or memory (the log says more); the "
		    "table is read again at each reconcile: 'sudo "
		    "wsl-docker-agent reconcile'");
	json_object_object_add(o, "shared_paths", json_object_new_string(
	    b->agent->cfg.bind_shared_paths != NULL ?
	    b->agent->cfg.bind_shared_paths : ""));
	json_object_object_add(o, "paths", pathmap_status_json(b->map));
	json_object_object_add(o, "following_engine",
	    json_object_new_boolean(b->events != NULL && b->events_up));
	json_object_object_add(o, "collections",
	    json_object_new_int64((int64_t)b->gc_runs));
	json_object_object_add(o, "error", b->error[0] != '\0' ?
	    json_object_new_string(b->error) : NULL);
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < b->n && arr != NULL; i++) {
		struct bind_exposure *x = &b->x[i];
		struct json_object *e = json_object_new_object();
		if (e == NULL)
			break;
		json_object_object_add(e, "source", json_object_new_string(x->source));
		json_object_object_add(e, "path", json_object_new_string(x->engine));
		json_object_object_add(e, "local", json_object_new_string(x->local));
		json_object_object_add(e, "read_only",
		    json_object_new_boolean(x->read_only));
		json_object_object_add(e, "mounted",
		    json_object_new_boolean(x->mounted));
		struct json_object *names = json_object_new_array();
		size_t nu = json_object_array_length(x->users);
		for (size_t u = 0; u < nu && names != NULL; u++) {
			struct json_object *v;
			json_object_object_get_ex(json_object_array_get_idx(
			    x->users, u), "name", &v);
			json_object_array_add(names, json_object_get(v));
		}
		json_object_object_add(e, "containers", names);
		json_object_object_add(e, "pending_creates",
		    json_object_new_int64((int64_t)x->npending));
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "exposures", arr);
	return o;
}

/* ------------------------------------------------------------------ */
/* Bringing exposures back (restore.c). */

void
bind_back_clear(struct bind_back *out)
{
	free(out->source);
	free(out->local);
	if (out->standin_fd >= 0)
		close(out->standin_fd);
	memset(out, 0, sizeof *out);
	out->standin_fd = -1;
}

int
bind_mount_back(struct bind *b, const char *engine_source, bool read_only,
    struct bind_back *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	out->standin_fd = -1;
	if (b == NULL || b->engine_dir == NULL ||
	    !util_path_within(engine_source, b->engine_dir) ||
	    strlen(engine_source) <= strlen(b->engine_dir))
		return 1;
	struct bind_exposure *x = NULL;
	for (size_t i = 0; i < b->n && x == NULL; i++)
		if (util_path_within(engine_source, b->x[i].engine))
			x = &b->x[i];
	if (x == NULL) {
		snprintf(why, whylen, "%s is an exposure of this distro that its "
		    "manifest does not record (the agent's state_dir was lost?): "
		    "its source is unknown; recreate the container from its "
		    "source path", engine_source);
		return -1;
	}
	out->source = strdup(x->source);
	out->local = strdup(x->local);
	if (out->source == NULL || out->local == NULL) {
		bind_back_clear(out);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	out->read_only = x->read_only;
	if (b->dir_fd < 0) {
		snprintf(why, whylen, "the bind-mount area is untrusted: %s",
		    b->untrusted);
		bind_back_clear(out);
		return -1;
	}
	x->mounted = bind_point_mounted(b, x);
	if (x->mounted)
		return 0;
	struct stat st;
	if (stat(x->source, &st) < 0) {
		snprintf(why, whylen, "its source %s is gone from this distro "
		    "(%s); recreate it, then run 'wsl-docker-agent reconcile', "
		    "or remove the container", x->source, strerror(errno));
		return -1;
	}
	/*
	 * What the engine made there meanwhile (a directory of root's in the
	 * trusted area, never followed): moved aside later.
	 */
	const char *name = bind_point_name(b, x);
	out->standin_fd = name != NULL ? openat(b->dir_fd, name, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
	if (bind_mount(b, x, read_only) < 0) {
		snprintf(why, whylen, "cannot mount %s on %s: %s; check both "
		    "paths, then run 'wsl-docker-agent reconcile'", x->source,
		    x->local, strerror(errno));
		bind_back_clear(out);
		return -1;
	}
	out->mounted_now = true;
	out->read_only = x->read_only;
	log_state(LOG_LVL_INFO, BIND_LOG, x->local, NULL);
	log_notice(BIND_LOG, "re-mounted %s at %s%s for the containers using it",
	    x->source, x->engine, x->read_only ? " (read-only)" : "");
	bind_events_start(b);
	return 0;
}
