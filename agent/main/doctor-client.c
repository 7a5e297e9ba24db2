/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor's look at the docker client's side, as the calling user: the
 * docker command in PATH, the user's docker configuration (unreadable,
 * invalid), where docker talks to (DOCKER_HOST, with the start-up file
 * and line that sets it; DOCKER_CONTEXT; the current context), the
 * credential helpers it runs (missing, or Windows programs without WSL
 * interop) and the CLI plugins in the user's directory (shadowing Docker
 * Desktop's, or dangling).  The facts about the agent come as arguments
 * (struct doctor_client); every file read is bounded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/defs.h"
#include "base/log.h"
#include "base/util.h"
#include "main/doctor.h"

#define DEFAULT_DOCKER_SOCKET	"/var/run/docker.sock"	/* the CLI's default */
#define INTEROP_ENTRY		"/proc/sys/fs/binfmt_misc/WSLInterop"
/* Recent WSL registers it again under this name once systemd has run. */
#define INTEROP_ENTRY_LATE	"/proc/sys/fs/binfmt_misc/WSLInterop-late"
#define INTEROP_ENTRY_MAX	4096
#define PATH_DIRS_MAX		64	/* PATH entries looked in */
#define PROFILE_D		"/etc/profile.d"
#define PROFILE_D_MAX		64

struct client {
	struct doctor_report		*r;
	const struct doctor_client	*c;
	struct docker_config		 dc;	/* the user's, once read */
};

/* Two socket paths naming the same socket: the same directory and name. */
static bool
look_same_socket(const char *a, const char *b)
{
	if (strcmp(a, b) == 0)
		return true;
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	if (sa == NULL || sb == NULL || strcmp(sa, sb) != 0)
		return false;
	char da[PATH_MAX], db[PATH_MAX], ra[PATH_MAX], rb[PATH_MAX];
	snprintf(da, sizeof da, "%.*s", sa == a ? 1 : (int)(sa - a), a);
	snprintf(db, sizeof db, "%.*s", sb == b ? 1 : (int)(sb - b), b);
	return realpath(da, ra) != NULL && realpath(db, rb) != NULL &&
	    strcmp(ra, rb) == 0;
}

/*
 * The first executable `name' in PATH, as docker's exec finds it
 * (absolute entries only): malloc'd, or NULL.  *skipped: the first
 * candidate passed over (not executable, or a dangling link), malloc'd.
 */
static char *
look_path_find(const char *name, char **skipped)
{
	const char *path = getenv("PATH");
	char cand[PATH_MAX];
	int dirs = 0;

	*skipped = NULL;
	for (const char *p = path != NULL ? path : ""; *p != '\0' &&
	    dirs < PATH_DIRS_MAX; dirs++) {
		size_t n = strcspn(p, ":");
		if (n > 0 && p[0] == '/' && (size_t)snprintf(cand, sizeof cand,
		    "%.*s/%s", (int)n, p, name) < sizeof cand) {
			struct stat st;
			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
			    access(cand, X_OK) == 0)
				return strdup(cand);
			if (*skipped == NULL && lstat(cand, &st) == 0)
				*skipped = strdup(cand);
		}
		p += n + (p[n] == ':');
	}
	return NULL;
}

/* Why a candidate look_path_find passed over is no use, in a few words. */
static void
look_unusable(const char *path, char *why, size_t len)
{
	struct stat st;
	char target[PATH_MAX];
	ssize_t n;

	if (stat(path, &st) < 0 && (n = readlink(path, target,
	    sizeof target - 1)) > 0) {
		target[n] = '\0';
		snprintf(why, len, "%s is a link to %s, which does not exist",
		    path, target);
	} else
		snprintf(why, len, "%s is there but is not an executable file",
		    path);
}

/* ------------------------------------------------------------------ */
/* The docker command, and where it points */

static void
look_docker_command(struct client *l)
{
	char *skipped, why[PATH_MAX * 2 + 64] = "", fix[PATH_MAX + 256];
	char *found = look_path_find("docker", &skipped);

	if (found != NULL) {
		free(found);
		free(skipped);
		return;
	}
	if (skipped != NULL)
		look_unusable(skipped, why, sizeof why);
	char link[PATH_MAX];
	struct stat st;
	snprintf(link, sizeof link, "%s/docker", l->c->bin_dir);
	if (stat(link, &st) == 0 && skipped == NULL)
		snprintf(fix, sizeof fix, "add %s to your PATH (export PATH=\"%s:"
		    "$PATH\" in ~/.profile)", l->c->bin_dir, l->c->bin_dir);
	else
		snprintf(fix, sizeof fix, "start Docker Desktop with WSL "
		    "integration on for this distro: the agent links its docker "
		    "into %s while it runs (see the other findings)",
		    l->c->bin_dir);
	const char *path = getenv("PATH");
	doctor_add(l->r, "docker-not-found", "PATH", path, fix, "no docker "
	    "command in your PATH (%s)%s%s", path != NULL ? path : "unset",
	    why[0] != '\0' ? ": " : "", why);
	free(skipped);
}

/* Shell start-up files that may set a variable, the user's first. */
static const char *const home_files[] = { ".bashrc", ".bash_profile",
	".bash_login", ".profile", ".zshenv", ".zprofile", ".zshrc",
	".config/fish/config.fish", NULL };
static const char *const system_files[] = { "/etc/environment",
	"/etc/profile", "/etc/bash.bashrc", "/etc/zsh/zshenv",
	"/etc/zsh/zprofile", "/etc/zsh/zshrc", NULL };

/* Does file set var?  Then where, as "FILE, line N". */
static bool
look_file_sets(const char *file, const char *var, char *where, size_t len)
{
	char *text;
	size_t n;
	if (doctor_read_file(file, DOCTOR_SHELL_FILE_MAX, &text, &n) < 0)
		return false;
	unsigned line = doctor_line_setting(text, n, var);
	free(text);
	if (line > 0)
		snprintf(where, len, "%s, line %u", file, line);
	return line > 0;
}

static int
look_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
look_profile_d_sets(const char *var, char *where, size_t len)
{
	DIR *d = opendir(PROFILE_D);
	char *names[PROFILE_D_MAX];
	size_t n = 0;
	struct dirent *e;
	bool found = false;

	if (d == NULL)
		return false;
	while (n < PROFILE_D_MAX && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l > 3 && strcmp(e->d_name + l - 3, ".sh") == 0 &&
		    (names[n] = strdup(e->d_name)) != NULL)
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof names[0], look_cmp_names);
	for (size_t i = 0; i < n; i++) {
		char file[PATH_MAX];
		snprintf(file, sizeof file, "%s/%s", PROFILE_D, names[i]);
		if (!found)
			found = look_file_sets(file, var, where, len);
		free(names[i]);
	}
	return found;
}

/* Where var is set: "FILE, line N" in the start-up files, or "". */
static void
look_where_set(const struct client *l, const char *var, char *where,
    size_t len)
{
	char file[PATH_MAX];
	where[0] = '\0';
	for (const char *const *f = home_files; *f != NULL && l->c->home != NULL;
	    f++) {
		snprintf(file, sizeof file, "%s/%s", l->c->home, *f);
		if (look_file_sets(file, var, where, len))
			return;
	}
	for (const char *const *f = system_files; *f != NULL; f++)
		if (look_file_sets(*f, var, where, len))
			return;
	(void)look_profile_d_sets(var, where, len);
}

/* The fix for a variable that should not be set. */
static void
look_unset_fix(const struct client *l, const char *var, char *fix, size_t len)
{
	char where[PATH_MAX + 32];
	look_where_set(l, var, where, sizeof where);
	if (where[0] != '\0')
		snprintf(fix, len, "remove the line that sets it (%s), and run "
		    "'unset %s' in open shells; Docker Desktop's engine needs no "
		    "variable", where, var);
	else
		snprintf(fix, len, "run 'unset %s', and remove it from wherever "
		    "your shell or terminal sets it; Docker Desktop's engine needs "
		    "no variable", var);
}

static bool
look_host_is_ours(const struct client *l, const char *host)
{
	const char *path = docker_host_unix_path(host);
	return path != NULL && look_same_socket(path, l->c->socket_path);
}

/* The CLI's default endpoint, for no selection or the "default" context. */
static void
look_default_endpoint(struct client *l, const char *subject)
{
	char fix[PATH_MAX * 2 + 256];
	if (look_same_socket(DEFAULT_DOCKER_SOCKET, l->c->socket_path))
		return;
	snprintf(fix, sizeof fix, "export DOCKER_HOST=unix://%s in ~/.profile, "
	    "or make it a context: docker context create wsl --docker "
	    "host=unix://%s && docker context use wsl", l->c->socket_path,
	    l->c->socket_path);
	doctor_add(l->r, "default-host", subject, "unix://" DEFAULT_DOCKER_SOCKET,
	    fix, "%s: docker talks to unix://%s, but the agent serves %s "
	    "(socket.path)", subject, DEFAULT_DOCKER_SOCKET, l->c->socket_path);
}

static void
look_unreadable(struct client *l, const char *path, int err)
{
	struct stat st;
	char owner[64] = "", fix[PATH_MAX * 2 + 64];
	if (stat(path, &st) == 0 || stat(l->c->config_dir, &st) == 0)
		if (st.st_uid != getuid())
			snprintf(owner, sizeof owner, " (it belongs to uid %u: "
			    "a 'sudo docker' may have made it)", (unsigned)st.st_uid);
	snprintf(fix, sizeof fix, "give it back to yourself: sudo chown -R "
	    "%s: %s", l->r->user, l->c->config_dir);
	doctor_add(l->r, "docker-config-unreadable", path, NULL, fix, "%s "
	    "cannot be read: %s%s; docker ignores it", path, strerror(err),
	    owner);
}

static void
look_context(struct client *l, const char *subject, const char *name,
    const char *fix)
{
	if (strcmp(name, "default") == 0) {
		look_default_endpoint(l, subject);
		return;
	}
	char *meta = docker_context_meta_path(l->c->config_dir, name), *text;
	char err[512];
	size_t len;
	struct docker_context ctx;
	if (meta == NULL)
		fatal(EXIT_OSERR, "out of memory");
	if (doctor_read_file(meta, DOCKER_META_MAX_BYTES, &text, &len) < 0) {
		int e = errno;
		if (e == EACCES)
			look_unreadable(l, meta, e);
		else
			doctor_add(l->r, "docker-context", subject, name, fix,
			    "%s selects the docker context \"%s\", which %s "
			    "(%s): docker fails with \"context not found\"", subject,
			    name, e == ENOENT ? "does not exist" : "cannot be read",
			    e == ENOENT ? meta : strerror(e));
		free(meta);
		return;
	}
	if (docker_context_parse(text, len, meta, &ctx, err, sizeof err) < 0)
		doctor_add(l->r, "docker-config-invalid", meta, NULL, "remove the "
		    "context (docker context rm NAME) and make it again, or select "
		    "another", "the docker context \"%s\" is damaged: %s", name,
		    err);
	else if (ctx.host == NULL)
		doctor_add(l->r, "docker-context", subject, name, fix, "%s selects "
		    "the docker context \"%s\", which has no docker endpoint",
		    subject, name);
	else if (ctx.host[0] == '\0')
		look_default_endpoint(l, subject);
	else if (!look_host_is_ours(l, ctx.host))
		doctor_add(l->r, "docker-context", subject, ctx.host, fix, "%s "
		    "selects the docker context \"%s\", which points at %s: docker "
		    "talks to that, not to the agent's %s", subject, name,
		    ctx.host, l->c->socket_path);
	docker_context_free(&ctx);
	free(text);
	free(meta);
}

/*
 * What docker talks to, as the CLI decides: DOCKER_HOST, else the context
 * DOCKER_CONTEXT names, else the config's currentContext, else the default.
 * Only the one in effect counts: the others change nothing now.
 */
static void
look_endpoint(struct client *l)
{
	const char *host = getenv("DOCKER_HOST");
	const char *ctx = getenv("DOCKER_CONTEXT");
	const char *cur = l->dc.current_context;
	char fix[PATH_MAX + 512], subject[PATH_MAX + 32];

	if (host != NULL && host[0] != '\0') {
		if (look_host_is_ours(l, host))
			return;
		look_unset_fix(l, "DOCKER_HOST", fix, sizeof fix);
		doctor_add(l->r, "docker-host", "DOCKER_HOST", host, fix,
		    "DOCKER_HOST is \"%s\": docker talks to that, not to the "
		    "agent's %s", host, l->c->socket_path);
	} else if (ctx != NULL && ctx[0] != '\0') {
		look_unset_fix(l, "DOCKER_CONTEXT", fix, sizeof fix);
		look_context(l, "DOCKER_CONTEXT", ctx, fix);
	} else if (cur != NULL && cur[0] != '\0') {
		snprintf(subject, sizeof subject, "currentContext in %s",
		    l->c->config_path);
		look_context(l, subject, cur, "run 'docker context use default'");
	} else
		look_default_endpoint(l, "docker's default endpoint");
}

/* ------------------------------------------------------------------ */
/* The user's docker configuration */

static void
look_docker_config(struct client *l)
{
	char *text, err[512];
	size_t len;

	if (doctor_read_file(l->c->config_path, DOCKER_CONFIG_MAX_BYTES, &text,
	    &len) < 0) {
		int e = errno;
		if (e == EACCES)
			look_unreadable(l, l->c->config_path, e);
		else if (e == EFBIG || e == EINVAL)
			doctor_add(l->r, "docker-config-invalid", l->c->config_path,
			    NULL, "move it away (docker then starts from an empty "
			    "configuration)", "%s is %s", l->c->config_path,
			    e == EFBIG ? "larger than 1 MiB" :
			    "not a regular file");
		return;		/* ENOENT and the like: no configuration */
	}
	if (docker_config_parse(text, len, l->c->config_path, &l->dc, err,
	    sizeof err) < 0)
		doctor_add(l->r, "docker-config-invalid", l->c->config_path, NULL,
		    "correct it there, or move the file away (docker then starts "
		    "from an empty configuration; log in to private registries "
		    "again)", "docker cannot read its configuration: %s", err);
	free(text);
}

/* WSL interop for this session, from both binfmt_misc entries. */
static enum doctor_interop
look_interop(void)
{
	char *entry = NULL, *late = NULL;
	size_t len;
	(void)doctor_read_file(INTEROP_ENTRY, INTEROP_ENTRY_MAX, &entry, &len);
	(void)doctor_read_file(INTEROP_ENTRY_LATE, INTEROP_ENTRY_MAX, &late, &len);
	const char *wi = getenv("WSL_INTEROP");
	bool alive = false;
	if (wi != NULL && wi[0] != '\0') {
		int fd = util_unix_connect(wi);
		alive = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	bool set = wi != NULL && wi[0] != '\0';
	enum doctor_interop s = doctor_interop_state(entry, set, alive);
	if (s != DOCTOR_INTEROP_OK && late != NULL)
		s = doctor_interop_state(late, set, alive);
	free(entry);
	free(late);
	return s;
}

static void
look_helper_interop(struct client *l, const char *entry, const char *name,
    const char *prog, const char *remove)
{
	char fix[PATH_MAX + 1024], why[512];
	const char *wi = getenv("WSL_INTEROP");

	switch (look_interop()) {
	case DOCTOR_INTEROP_OK:
		return;
	case DOCTOR_INTEROP_ABSENT:
	case DOCTOR_INTEROP_DISABLED:
		snprintf(why, sizeof why, "WSL interop is off here (%s is absent "
		    "or disabled)", INTEROP_ENTRY);
		snprintf(fix, sizeof fix, "turn interop on ([interop] enabled=true "
		    "in /etc/wsl.conf, if your administrator allows it; then from "
		    "Windows: wsl.exe --terminate %s), or %s", l->c->distro,
		    remove);
		break;
	case DOCTOR_INTEROP_STALE:
		snprintf(why, sizeof why, "WSL_INTEROP (%.200s) is stale: this "
		    "shell outlived the WSL session it came from (tmux, screen)",
		    wi != NULL ? wi : "");
		snprintf(fix, sizeof fix, "run docker from a new WSL shell, or "
		    "export WSL_INTEROP=$(ls -t /run/WSL/*_interop | head -n 1) "
		    "here, or %s", remove);
		break;
	}
	doctor_add(l->r, "credential-helper-interop", entry, name, fix, "%s in "
	    "%s is \"%s\": docker runs %s, a Windows program, and %s, so pulls "
	    "and logins that need credentials fail (\"error getting "
	    "credentials\")", entry, l->c->config_path, name, prog, why);
}

static void
look_helper(struct client *l, const char *entry, const char *name,
    const char *remove)
{
	char prog[NAME_MAX + 1], fix[PATH_MAX * 2 + 512], why[PATH_MAX * 2 + 64];

	if (name == NULL || name[0] == '\0')
		return;		/* none: credentials live in config.json */
	if (!docker_helper_name_ok(name)) {
		doctor_add(l->r, "credential-helper", entry, name, remove, "%s in "
		    "%s is \"%s\", which cannot name a credential helper",
		    entry, l->c->config_path, name);
		return;
	}
	snprintf(prog, sizeof prog, "docker-credential-%s", name);
	char *skipped, *found = look_path_find(prog, &skipped);
	if (found == NULL) {
		if (skipped != NULL)
			look_unusable(skipped, why, sizeof why);
		else
			snprintf(why, sizeof why, "it is not in your PATH");
		if (strcmp(name, "desktop.exe") == 0)
			snprintf(fix, sizeof fix, "start Docker Desktop, whose %s "
			    "the agent links into %s while it runs; or %s", prog,
			    l->c->bin_dir, remove);
		else
			snprintf(fix, sizeof fix, "install %s, or %s", prog, remove);
		doctor_add(l->r, "credential-helper", entry, name, fix, "%s in %s "
		    "is \"%s\": docker runs %s for credentials, and %s", entry,
		    l->c->config_path, name, prog, why);
		free(skipped);
		return;
	}
	unsigned char head[2];
	int fd = open(found, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t n = fd >= 0 ? read(fd, head, sizeof head) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0 && doctor_is_windows_program(head, (size_t)n))
		look_helper_interop(l, entry, name, prog, remove);
	free(found);
	free(skipped);
}

static void
look_helpers(struct client *l)
{
	char remove[PATH_MAX + 256], entry[300];

	snprintf(remove, sizeof remove, "remove \"credsStore\" from %s (public "
	    "images pull without credentials)", l->c->config_path);
	look_helper(l, "credsStore", l->dc.creds_store, remove);
	for (size_t i = 0; i < l->dc.nhelpers; i++) {
		const struct docker_cred_helper *h = &l->dc.helpers[i];
		snprintf(entry, sizeof entry, "credHelpers \"%.200s\"",
		    h->registry);
		snprintf(remove, sizeof remove, "remove \"%.200s\" from "
		    "credHelpers in %s", h->registry, l->c->config_path);
		look_helper(l, entry, h->helper, remove);
	}
}

/* ------------------------------------------------------------------ */
/* CLI plugins */

static void
look_plugin(struct client *l, const char *dir, const char *name)
{
	char path[PATH_MAX], sys[PATH_MAX], target[PATH_MAX], fix[PATH_MAX * 3];
	struct stat st;
	ssize_t n;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >=
	    sizeof path || (size_t)snprintf(sys, sizeof sys, "%s/%s",
	    l->c->plugin_dir, name) >= sizeof sys || lstat(path, &st) < 0)
		return;
	if (S_ISLNK(st.st_mode) && stat(path, &st) < 0 && errno == ENOENT &&
	    (n = readlink(path, target, sizeof target - 1)) > 0) {
		target[n] = '\0';
		snprintf(fix, sizeof fix, "remove it: rm %s (the agent links "
		    "Docker Desktop's plugins into %s)", path, l->c->plugin_dir);
		doctor_add(l->r, "cli-plugin-dangling", path, target, fix, "%s is "
		    "a link to %s, which does not exist: docker reports the plugin "
		    "as not valid", path, target);
		return;
	}
	/*
	 * The same file is no shadow, by whatever path: the agent's links
	 * lead into its own view of cli-tools (links.cli_mount), a clone of
	 * the very mount, so device and inode say it, not the path.
	 */
	struct stat ps;
	if (stat(sys, &st) < 0 || stat(path, &ps) < 0 ||
	    (ps.st_dev == st.st_dev && ps.st_ino == st.st_ino))
		return;
	snprintf(fix, sizeof fix, "remove or rename it (rm %s) to use Docker "
	    "Desktop's", path);
	doctor_add(l->r, "cli-plugin-shadow", path, sys, fix, "%s shadows Docker "
	    "Desktop's %s (%s): docker looks in %s first and runs yours", path,
	    name, sys, dir);
}

static void
look_plugins(struct client *l)
{
	char dir[PATH_MAX];
	struct dirent *e;
	int seen = 0;

	if ((size_t)snprintf(dir, sizeof dir, "%s/cli-plugins", l->c->config_dir) >=
	    sizeof dir)
		return;
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	while (seen++ < DOCTOR_PLUGINS_MAX && (e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "docker-", 7) == 0)
			look_plugin(l, dir, e->d_name);
	closedir(d);
}

void
doctor_look_client(struct doctor_report *r, const struct doctor_client *c)
{
	struct client l = { .r = r, .c = c };

	look_docker_command(&l);
	look_docker_config(&l);
	look_endpoint(&l);
	look_helpers(&l);
	look_plugins(&l);
	docker_config_free(&l.dc);
}
