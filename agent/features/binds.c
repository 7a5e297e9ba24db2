/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bind sources of creates.  The engine runs in another distro and cannot
 * see this one's files, so `docker run -v /home/me/app:/app` would mount
 * an empty directory the engine makes on its side.  The proxy hands every
 * container create to binds_on_source().  Each source is resolved (as the
 * engine would, symlinks followed) and looked up in pathmap.c's table of
 * what the engine sees: a source it sees is rewritten to the engine's
 * path for it (the shared tmpfs at /run/desktop/mnt/host/wsl, drive C: at
 * /run/desktop/mnt/host/c on Docker Desktop); one it cannot see is
 * exposed (exposures.c) and the create rewritten to the exposure as the
 * engine sees it.  Answers that name an exposure (inspect, container
 * lists) get the user's path back (binds_user_path).
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
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/config.h"
#include "base/log.h"
#include "base/report.h"
#include "wire/http.h"
#include "wire/pathmap.h"
#include "io/proxy.h"
#include "features/binds.h"
#include "features/exposures.h"
#include "features/usage.h"
#include "features/volume.h"

#define BINDS_LOG		"bind"

struct binds {
	const struct config	*cfg;
	struct exposures	*exposures;
	struct volumes		*volumes;
	struct usage		*usage;
	struct proxy		*proxy;		/* hooked; NULL: none */
};

/* ------------------------------------------------------------------ */
/* Deciding what a source needs. */

/* "/a//b/./c/../d/" -> "/a/b/d", as the engine cleans paths; malloc'd. */
static char *
binds_clean_path(const char *path)
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

enum binds_decision
binds_decide(const struct pathmap *m, const char *source, char **out)
{
	*out = NULL;
	char *clean = binds_clean_path(source);
	if (clean == NULL)
		goto oom;
	char *real = realpath(clean, NULL);
	free(clean);
	if (real == NULL) {
		*out = strdup(strerror(errno));
		return BINDS_MISSING;	/* *out NULL: out of memory */
	}
	char *engine;
	switch (pathmap_translate(m, real, &engine)) {
	case PATHMAP_NOMEM:
		free(real);
		goto oom;
	case PATHMAP_EXPOSE:
		*out = real;
		return BINDS_EXPOSE;
	case PATHMAP_KEEP_AS:
		break;
	}
	free(real);
	/* Same text as the request: nothing to rewrite. */
	if (strcmp(engine, source) == 0) {
		free(engine);
		return BINDS_KEEP;
	}
	*out = engine;
	return BINDS_REPLACE;
oom:
	*out = strdup("out of memory");
	return BINDS_MISSING;
}

/*
 * The directory path names (absolute, its symlinks resolved), walked from
 * / one component at a time with O_NOFOLLOW: an O_PATH descriptor, or -1
 * (ENOTDIR for a file, ELOOP if a component became a symlink since).
 */
static int
binds_open_resolved(const char *path)
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
binds_make_dir_at(int dirfd, const char *name, const struct http_caller *caller)
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
binds_make_source(const char *path, const struct http_caller *caller)
{
	char *p = binds_clean_path(path);
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
		dfd = real != NULL ? binds_open_resolved(real) : -1;
	}
	/* What is missing, made one directory at a time, by descriptor. */
	char *save = NULL;
	for (char *c = dfd >= 0 ? strtok_r(p + have, "/", &save) : NULL;
	    c != NULL && dfd >= 0; c = strtok_r(NULL, "/", &save)) {
		int next = binds_make_dir_at(dfd, c, caller);
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
/* The proxy's hooks */

/* The create hook, for each absolute bind source of a create. */
static int
binds_on_source(void *arg, const struct http_bind_source *s,
    char **replacement, char *why, size_t whylen)
{
	struct binds *b = arg;
	const struct pathmap *map = exposures_pathmap(b->exposures);
	const char *source = s->path;
	char *out;
	if (s->kind != HTTP_SOURCE_BIND) {
		int r = volumes_on_source(b->volumes, s, replacement, why, whylen);
		if (r == 0)
			usage_follow(b->usage);	/* a device may be exposed */
		return r;
	}
	enum binds_decision d = binds_decide(map, source, &out);
	if (d == BINDS_MISSING && s->create && out != NULL) {
		/* -v: made here, as dockerd would make it on its side. */
		if (binds_make_source(source, s->caller) < 0) {
			snprintf(why, whylen, "error while creating mount source "
			    "path '%s' (in WSL distro %s): %s", source,
			    b->cfg->distro, strerror(errno));
			free(out);
			return -1;
		}
		log_notice(BINDS_LOG, "made the missing bind source %s (owned by "
		    "%s%ld)", source, s->caller->known ? "uid " : "root, the "
		    "caller unknown: uid ", s->caller->known ?
		    (long)s->caller->uid : 0L);
		free(out);
		d = binds_decide(map, source, &out);
	}
	switch (d) {
	case BINDS_KEEP:
		return 0;
	case BINDS_REPLACE:
		log_info(BINDS_LOG, "bind source %s is %s for the engine", source,
		    out);
		*replacement = out;
		return 0;
	case BINDS_MISSING:
		/* The engine's own wording, as for --mount. */
		snprintf(why, whylen, "invalid mount config for type \"bind\": "
		    "bind source path does not exist: %s (in WSL distro %s: %s)",
		    source, b->cfg->distro, out != NULL ? out : "out of memory");
		free(out);
		return -1;
	case BINDS_EXPOSE:
		break;
	}
	/* 1: mounted on the worker; binds_mounted() has it asked again. */
	int r = exposures_make(b->exposures, out, s->read_only, s->again,
	    replacement, why, whylen);
	free(out);
	if (r == 0)
		usage_follow(b->usage);
	return r;
}

/*
 * The reply hook: an exposure path (as the engine or this distro sees
 * it), or a path below one, or one the engine sees of this distro's
 * (pathmap.c), back in the user's terms.
 */
static char *
binds_user_path(void *arg, const char *path)
{
	struct binds *b = arg;
	char *user = exposures_user_path(b->exposures, path);
	/* A path the engine sees of ours: /run/desktop/mnt/host/c -> /mnt/c. */
	return user != NULL ? user : pathmap_user_path(
	    exposures_pathmap(b->exposures), path);
}

/* ------------------------------------------------------------------ */
/* Life cycle */

struct binds *
binds_new(const struct config *cfg, struct exposures *exposures,
    struct volumes *volumes, struct usage *usage)
{
	struct binds *b = calloc(1, sizeof *b);
	if (b == NULL)
		return NULL;
	b->cfg = cfg;
	b->exposures = exposures;
	b->volumes = volumes;
	b->usage = usage;
	return b;
}

void
binds_mounted(void *arg)
{
	struct binds *b = arg;
	if (b->proxy != NULL)
		proxy_wake_creates(b->proxy);
}

void
binds_reconcile(struct binds *b, struct proxy *proxy)
{
	if (b == NULL)
		return;
	bool hooked = proxy != NULL && b->cfg->socket_mode ==
	    SOCKET_MODE_PROXY && exposures_dir(b->exposures) != NULL;
	b->proxy = hooked ? proxy : NULL;
	if (!hooked)
		return;
	proxy_set_create_hook(proxy, binds_on_source, b);
	proxy_set_reply_hook(proxy, binds_user_path, b);
}

void
binds_free(struct binds *b)
{
	if (b == NULL)
		return;
	if (b->proxy != NULL) {
		proxy_set_create_hook(b->proxy, NULL, NULL);
		proxy_set_reply_hook(b->proxy, NULL, NULL);
	}
	free(b);
}

void
binds_report(const struct binds *b, struct json_object *binds,
    struct json_object *problems)
{
	if (b == NULL)
		return;
	json_object_object_add(binds, "active",
	    json_object_new_boolean(b->proxy != NULL));
	const char *untrusted = exposures_untrusted(b->exposures);
	if (untrusted != NULL && b->proxy != NULL) {
		char what[1024 + 64];	/* untrusted: 1024 at most */
		snprintf(what, sizeof what, "the bind-mount area is untrusted: %s",
		    untrusted);
		report_add_problem(problems, what, "remove what is named above "
		    "(as root), then run 'sudo wsl-docker-agent reconcile'; until "
		    "then only bind sources the engine sees directly can be "
		    "used, and creates that need another are refused");
	}
}
