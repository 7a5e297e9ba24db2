/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker Desktop's tree, as this distro sees it below /mnt/wsl: whether it
 * is there, whether its CLI may be linked and run, and whether its engine
 * socket may be connected to.  The shared tree is hostile (issue 13): any
 * user of any distro may create entries in it while Docker Desktop is
 * away, and a FUSE server there can claim root for everything (issue 19).
 * So every question is asked by descriptor from the shared root (trust.c),
 * never by a path lookup, and one look per reconcile answers all of them:
 * the other features get the answer (struct desktop_view) as an argument
 * and never walk the tree on their own.
 *
 * The engine socket is trusted when the walk to it passes: its O_PATH
 * descriptor is kept until a look finds another socket there, and every
 * connection (the proxy's, every engine GET) goes through it
 * (/proc/self/fd/N), never by the path: a tree swapped in between two
 * looks, with a symlink to some other socket, is never followed.  Whether
 * its listener is root is asked at each connection, by whoever connects.
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
#include "base/defs.h"
#include "base/log.h"
#include "base/report.h"
#include "base/text.h"
#include "base/util.h"
#include "sys/trust.h"
#include "features/desktop.h"

#define ENGINE_SOCKET_SUBPATH	"shared-sockets/guest-services/docker.proxy.sock"
#define ENGINE_SOCKET_SUBDIR	"shared-sockets/guest-services"
#define CLI_BIN_SUBDIR		"cli-tools/usr/bin"
#define FOLLOWED_MAX		16

struct desktop {
	const struct config	*cfg;
	struct desktop_view	 view;
	char			*engine_path;
	char			 untrusted[TEXT_ESCAPE_SIZE(PATH_MAX) + 256];
	char			 engine_untrusted[1024];
	int			 engine_fd;	/* held, or -1 */
	dev_t			 engine_dev;
	ino_t			 engine_ino;
	const char		*followed[FOLLOWED_MAX];
};

/* Where Docker Desktop keeps tools and plugins. */
const char *const desktop_bin_subdirs[] = { CLI_BIN_SUBDIR, NULL };
const char *const desktop_plugin_subdirs[] = {
	"cli-tools/usr/lib/docker/cli-plugins",
	"cli-tools/usr/libexec/docker/cli-plugins",
	"cli-tools/usr/local/lib/docker/cli-plugins",
	NULL
};

bool
desktop_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > NAME_MAX_LEN || name[0] == '.')
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/*
 * Docker Desktop's subdir ("cli-tools/usr/bin") opened by descriptor: every
 * component from the shared root (desktop_dir's parent) down checked by
 * trust_walk_dir, cli-tools a mount point.  f->path names it on success.
 */
int
desktop_open_cli_dir(const char *desktop_dir, const char *subdir, int flags,
    struct trust_failure *f)
{
	static const char cli[] = "cli-tools";
	char root[PATH_MAX], clipath[PATH_MAX], first[PATH_MAX];
	const char *name;
	size_t n = strlen(cli);

	memset(f, 0, sizeof *f);
	f->reason = TRUST_IO;
	f->err = EINVAL;
	snprintf(f->path, sizeof f->path, "%s", desktop_dir);
	if (strncmp(subdir, cli, n) != 0 || (subdir[n] != '/' &&
	    subdir[n] != '\0') ||
	    trust_split(desktop_dir, root, sizeof root, &name) < 0 ||
	    snprintf(first, sizeof first, "%s/%s", name, cli) >=
	    (int)sizeof first)
		return -1;
	int rfd = trust_open_root(root, f);
	if (rfd < 0)
		return -1;
	int cfd = trust_walk_dir(rfd, root, first, TRUST_MOUNT_POINT |
	    (subdir[n] == '\0' ? (flags & TRUST_READ) : 0), f);
	close(rfd);
	if (cfd < 0 || subdir[n] == '\0')
		return cfd;
	snprintf(clipath, sizeof clipath, "%s", f->path);
	int dfd = trust_walk_dir(cfd, clipath, subdir + n + 1, flags, f);
	close(cfd);
	return dfd;
}

bool
desktop_has(const char *desktop_dir, const char *sub)
{
	char root[PATH_MAX], rel[PATH_MAX];
	const char *name;
	struct trust_failure f;
	if (trust_split(desktop_dir, root, sizeof root, &name) < 0 ||
	    snprintf(rel, sizeof rel, "%s%s%s", name, *sub != '\0' ? "/" : "",
	    sub) >= (int)sizeof rel)
		return false;
	return trust_exists(root, rel, &f) != 0;
}

bool
desktop_cli_absent(const struct trust_failure *f)
{
	/* An empty cli-tools that root left when Docker Desktop stopped. */
	return f->reason == TRUST_MISSING || (f->reason == TRUST_NOT_MOUNT &&
	    f->have_stat && f->uid == 0);
}

int
desktop_open_tool(int dirfd, const char *dirpath, const char *name, char *why,
    size_t whylen)
{
	struct trust_failure f;
	int fd = trust_walk_entry(dirfd, dirpath, name, S_IFREG, &f);
	if (fd < 0 && f.reason == TRUST_SYMLINK) {
		/*
		 * An alias in the same directory: only root could have made
		 * it there (the directory is trusted), and its target is
		 * walked like any tool.  One hop; no '/' in the target.
		 */
		char t[NAME_MAX_LEN + 2];
		ssize_t len = readlinkat(dirfd, name, t, sizeof t - 1);
		if (len > 0) {
			t[len] = '\0';
			if (strchr(t, '/') == NULL && desktop_name_ok(t) &&
			    strcmp(t, name) != 0)
				fd = trust_walk_entry(dirfd, dirpath, t, S_IFREG,
				    &f);
		}
	}
	if (fd < 0) {
		trust_failure_format(&f, why, whylen);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || (st.st_mode & 0111) == 0) {
		snprintf(why, whylen, "%s/%s is not executable; refused", dirpath,
		    name);
		close(fd);
		return -1;
	}
	return fd;
}

bool
desktop_tool_valid(const char *desktop_dir, const char *target, char *why,
    size_t whylen)
{
	const char *const *lists[] = { desktop_bin_subdirs,
	    desktop_plugin_subdirs };
	size_t dl = strlen(desktop_dir);
	const char *name = strrchr(target, '/');
	for (size_t l = 0; name != NULL && l < 2; l++)
		for (size_t i = 0; lists[l][i] != NULL; i++) {
			size_t sl = strlen(lists[l][i]);
			if (strncmp(target, desktop_dir, dl) != 0 ||
			    target[dl] != '/' ||
			    strncmp(target + dl + 1, lists[l][i], sl) != 0 ||
			    target + dl + 1 + sl != name)
				continue;
			struct trust_failure f;
			int dfd = desktop_open_cli_dir(desktop_dir, lists[l][i],
			    0, &f);
			if (dfd < 0) {
				trust_failure_format(&f, why, whylen);
				return false;
			}
			char dirpath[PATH_MAX];
			snprintf(dirpath, sizeof dirpath, "%s", f.path);
			int fd = desktop_open_tool(dfd, dirpath, name + 1, why,
			    whylen);
			close(dfd);
			if (fd < 0)
				return false;
			close(fd);
			return true;
		}
	snprintf(why, whylen, "%s is not in one of Docker Desktop's tool "
	    "directories below %s; refused", target, desktop_dir);
	return false;
}

/* ---------------------------------------------------------------- */
/* The look */

/*
 * The CLI is there when cli-tools/usr/bin/docker passes the walk from the
 * shared root (desktop_open_cli_dir, desktop_open_tool); anything but
 * absence that fails it makes the tree untrusted, with the one line that
 * says why (in d->untrusted, "" otherwise).
 */
static bool
desktop_cli_trusted(struct desktop *d, const char *dir)
{
	struct trust_failure f;
	char *why = d->untrusted;
	size_t whylen = sizeof d->untrusted;
	why[0] = '\0';
	int dfd = desktop_open_cli_dir(dir, CLI_BIN_SUBDIR, 0, &f);
	if (dfd < 0) {
		if (desktop_cli_absent(&f))
			return false;
		trust_failure_format(&f, why, whylen);
		return false;
	}
	char dirpath[PATH_MAX];
	snprintf(dirpath, sizeof dirpath, "%s", f.path);
	int fd = desktop_open_tool(dfd, dirpath, "docker", why, whylen);
	struct stat st;
	/* Asked in the checked directory, not by path again. */
	bool absent = fd < 0 && fstatat(dfd, "docker", &st,
	    AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
	close(dfd);
	if (fd >= 0)
		close(fd);
	if (fd >= 0 || absent)
		why[0] = '\0';
	return fd >= 0;
}

/*
 * Walk to the engine socket from the shared root (desktop_dir's parent):
 * its O_PATH descriptor, or -1.  d->engine_untrusted says why it is not
 * trusted, or is empty when it is merely missing.
 */
static int
desktop_engine_open(struct desktop *d)
{
	struct trust_failure f = { 0 };
	char root[PATH_MAX];
	const char *dir = d->cfg->desktop_dir != NULL ? d->cfg->desktop_dir : "";
	const char *path = d->engine_path;
	const char *slash = strrchr(dir, '/');
	size_t n = slash != NULL ? (size_t)(slash - dir) : 0;
	if (slash == NULL || n == 0 || n >= sizeof root ||
	    strncmp(path, dir, n) != 0 || path[n] != '/') {
		snprintf(d->engine_untrusted, sizeof d->engine_untrusted, "%s: "
		    "the engine socket must be below a shared root "
		    "(desktop_dir's parent); set desktop_dir", path);
		return -1;
	}
	snprintf(root, sizeof root, "%.*s", (int)n, dir);
	int fd = trust_open_entry(root, path + n + 1, S_IFSOCK, &f);
	if (fd < 0 && f.reason != TRUST_MISSING)
		trust_failure_format(&f, d->engine_untrusted,
		    sizeof d->engine_untrusted);
	return fd;
}

/*
 * Keep efd (the engine socket just walked to, taken; -1: none) until the
 * next look.  The one held stays when efd is the same socket, so its
 * number, in the proxy's /proc/self/fd path, stays.
 */
static void
desktop_hold_engine(struct desktop *d, int efd)
{
	struct stat st = { 0 };
	if (efd >= 0 && fstat(efd, &st) < 0) {
		close(efd);
		efd = -1;
	}
	if (efd >= 0 && d->engine_fd >= 0 && st.st_dev == d->engine_dev &&
	    st.st_ino == d->engine_ino) {
		close(efd);
		return;
	}
	if (d->engine_fd >= 0)
		close(d->engine_fd);
	d->engine_fd = efd;
	d->engine_dev = st.st_dev;
	d->engine_ino = st.st_ino;
}

/* The view's pointers and descriptor, from what d holds now. */
static void
desktop_sync_view(struct desktop *d)
{
	struct desktop_view *v = &d->view;
	v->untrusted = d->untrusted[0] != '\0' ? d->untrusted : NULL;
	v->engine_fd = d->engine_fd;
	v->engine_untrusted = d->engine_untrusted[0] != '\0' ?
	    d->engine_untrusted : NULL;
	v->engine_path = d->engine_path;
}

/* desktop_dir may change with a reload: the engine socket's path follows. */
static void
desktop_set_engine_path(struct desktop *d)
{
	char *p = util_path_join(d->cfg->desktop_dir, ENGINE_SOCKET_SUBPATH);
	if (p != NULL && (d->engine_path == NULL ||
	    strcmp(p, d->engine_path) != 0)) {
		free(d->engine_path);
		d->engine_path = p;
	} else
		free(p);
}

void
desktop_look(struct desktop *d)
{
	struct desktop_view *v = &d->view;
	const char *dir = d->cfg->desktop_dir;
	desktop_set_engine_path(d);
	v->present = desktop_has(dir, "");
	v->cli_present = desktop_cli_trusted(d, dir);
	v->engine_present = v->present && d->engine_path != NULL &&
	    desktop_has(dir, ENGINE_SOCKET_SUBPATH);
	d->engine_untrusted[0] = '\0';
	desktop_hold_engine(d, v->engine_present ? desktop_engine_open(d) : -1);
	desktop_sync_view(d);
	log_state(LOG_LVL_NOTICE, "desktop", "desktop", "Docker Desktop at %s: "
	    "%s, CLI tools %s, engine socket %s", dir,
	    v->present ? "present" : "absent",
	    v->untrusted != NULL ? "untrusted" :
	    v->cli_present ? "present" : "absent",
	    v->engine_present ? "present" : "absent");
	if (v->untrusted != NULL)
		log_state(LOG_LVL_WARN, "desktop", "desktop.untrusted",
		    "untrusted: %s; nothing from it is linked or run",
		    v->untrusted);
	else
		log_state(LOG_LVL_INFO, "desktop", "desktop.untrusted", NULL);
}

void
desktop_refuse_engine(struct desktop *d, const char *why)
{
	snprintf(d->engine_untrusted, sizeof d->engine_untrusted, "%s", why);
	desktop_hold_engine(d, -1);
	desktop_sync_view(d);
}

const struct desktop_view *
desktop_view(const struct desktop *d)
{
	return &d->view;
}

struct desktop *
desktop_new(const struct config *cfg)
{
	struct desktop *d = calloc(1, sizeof *d);
	if (d == NULL)
		return NULL;
	d->cfg = cfg;
	d->engine_fd = -1;
	desktop_set_engine_path(d);
	if (d->engine_path == NULL) {
		free(d);
		return NULL;
	}
	/* What the watch follows: every tool directory, the socket's. */
	size_t n = 0;
	const char *const *lists[] = { desktop_bin_subdirs,
	    desktop_plugin_subdirs };
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; lists[l][i] != NULL && n < FOLLOWED_MAX - 2; i++)
			d->followed[n++] = lists[l][i];
	d->followed[n] = ENGINE_SOCKET_SUBDIR;
	d->view.followed = d->followed;
	desktop_sync_view(d);
	return d;
}

void
desktop_free(struct desktop *d)
{
	if (d == NULL)
		return;
	if (d->engine_fd >= 0)
		close(d->engine_fd);
	free(d->engine_path);
	free(d);
}

/* ---------------------------------------------------------------- */
/* The report */

static void
desktop_problems(const struct desktop *d, bool disabled,
    struct json_object *problems)
{
	if (disabled) {
		report_add_problem(problems, "the integration is off for this distro",
		    "turn it on in Docker Desktop (Settings > Resources > WSL "
		    "integration) or run 'sudo wsl-docker-agent enable'");
		return;
	}
	if (d == NULL)
		return;
	const struct desktop_view *v = &d->view;
	char what[TEXT_ESCAPE_SIZE(PATH_MAX) + 300];
	if (!v->present) {
		snprintf(what, sizeof what, "Docker Desktop's tree is not at %s: "
		    "Docker Desktop is not running, or WSL integration is off for "
		    "this distro", d->cfg->desktop_dir);
		report_add_problem(problems, what, "start Docker Desktop and turn on "
		    "Settings > Resources > WSL integration for this distro");
		return;
	}
	if (v->untrusted != NULL) {
		snprintf(what, sizeof what, "untrusted: %s", v->untrusted);
		report_add_problem(problems, what, "nothing from Docker Desktop's "
		    "tree is linked or run until what an ordinary user made there "
		    "is removed (as root) and Docker Desktop restarted");
	} else if (!v->cli_present)
		report_add_problem(problems, "Docker Desktop's CLI tools are not "
		    "mounted (it is stopping or starting)", "wait for Docker "
		    "Desktop to finish starting, or restart it");
	if (!v->engine_present) {
		snprintf(what, sizeof what, "the engine socket %s is missing",
		    v->engine_path);
		report_add_problem(problems, what, "start Docker Desktop, or restart it");
	}
}

struct json_object *
desktop_report(const struct desktop *d, bool disabled,
    struct json_object *problems)
{
	struct json_object *o = json_object_new_object();
	if (d != NULL) {
		const struct desktop_view *v = &d->view;
		report_add_str(o, "dir", d->cfg->desktop_dir);
		json_object_object_add(o, "present",
		    json_object_new_boolean(v->present));
		json_object_object_add(o, "cli_tools",
		    json_object_new_boolean(v->cli_present));
		report_add_str(o, "untrusted", v->untrusted);
		json_object_object_add(o, "engine_socket",
		    json_object_new_boolean(v->engine_present));
		report_add_str(o, "engine_socket_path", v->engine_path);
	}
	desktop_problems(d, disabled, problems);
	return o;
}
