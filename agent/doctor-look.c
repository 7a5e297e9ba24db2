/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What doctor looks at, as the user who typed it and with that user's
 * rights alone: the kernel (WSL 1), the agent through its control socket
 * (as `status' sees it: another user's paths are left out there), the
 * docker command in PATH, where docker clients point (DOCKER_HOST,
 * DOCKER_CONTEXT, the current context), the docker group, the user's
 * docker configuration, its credential helpers and CLI plugins, and
 * whatever else holds socket.path.  Every finding names what it found and
 * the fix.  Each file read is bounded (doctor.h) and opened so that a FIFO
 * cannot hang it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "agent.h"
#include "doctor.h"
#include "trust.h"

#define DEFAULT_DOCKER_SOCKET	"/var/run/docker.sock"	/* the CLI's default */
#define PROC_VERSION		"/proc/version"
#define INTEROP_ENTRY		"/proc/sys/fs/binfmt_misc/WSLInterop"
/* Recent WSL registers it again under this name once systemd has run. */
#define INTEROP_ENTRY_LATE	"/proc/sys/fs/binfmt_misc/WSLInterop-late"
#define SMALL_FILE_MAX		4096
#define PATH_DIRS_MAX		64	/* PATH entries looked in */
#define PROFILE_D		"/etc/profile.d"
#define PROFILE_D_MAX		64
#define OUR_SOCKET_UNIT	"/etc/systemd/system/sockets.target.wants/wsl-docker-agent.socket"

struct look {
	struct doctor_report	*r;
	const struct config	*cfg;
	struct json_object	*status;	/* the agent's, or NULL */
	const char		*home;
	char			 config_dir[PATH_MAX];
	char			 config_path[PATH_MAX];
	struct docker_config	 dc;
	const char		*socket_path;	/* the agent's, as it reports it */
	const char		*socket_group;
	bool			 proxy_mode;
	bool			 systemd;
};

int
doctor_read_file(const char *path, size_t max, char **buf, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	*buf = NULL;
	*len = 0;
	if (fd < 0)
		return -1;
	int e = fstat(fd, &st) < 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL :
	    st.st_size > 0 && (size_t)st.st_size > max ? EFBIG : 0;
	if (e != 0) {
		close(fd);
		errno = e;
		return -1;
	}
	char *b = malloc(max + 2);
	size_t got = 0;
	while (b != NULL && got <= max) {
		ssize_t n = read(fd, b + got, max + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0) {
				e = errno;
				free(b);
				close(fd);
				errno = e;
				return -1;
			}
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (b == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (got > max) {	/* (/proc files say size 0 and may be long) */
		free(b);
		errno = EFBIG;
		return -1;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	return 0;
}

/* A member of the status by dotted path ("socket.state"), or NULL. */
static struct json_object *
look_status(const struct look *l, const char *path)
{
	struct json_object *o = l->status;
	char part[64];

	while (o != NULL && *path != '\0') {
		size_t n = strcspn(path, ".");
		if (n >= sizeof part)
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, part, &o))
			return NULL;
		path += n + (path[n] == '.');
	}
	return o;
}

static const char *
look_status_str(const struct look *l, const char *path)
{
	struct json_object *v = look_status(l, path);
	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static const char *
look_distro(const struct look *l)
{
	const char *d = look_status_str(l, "agent.distro");
	return d != NULL ? d : l->cfg->distro != NULL ? l->cfg->distro :
	    "<distro>";
}

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
/* The kernel */

static void
look_kernel(struct look *l)
{
	char *text;
	size_t len;

	if (doctor_read_file(PROC_VERSION, SMALL_FILE_MAX, &text, &len) < 0)
		return;
	text[strcspn(text, "\n")] = '\0';
	if (doctor_wsl_version(text) == 1) {
		char fix[512];
		snprintf(fix, sizeof fix, "from Windows, run 'wsl.exe "
		    "--set-version %s 2', then open the distro again",
		    look_distro(l));
		doctor_add(l->r, "wsl1", PROC_VERSION, text, fix, "this distro "
		    "runs under WSL 1 (%s), which has no Linux kernel: Docker "
		    "Desktop integrates WSL 2 distros only", text);
	}
	free(text);
}

/* ------------------------------------------------------------------ */
/* The agent */

static void
look_agent_down(struct look *l, const char *err)
{
	pid_t pid = daemon_running_pid(l->cfg->pidfile);
	if (pid > 0) {
		doctor_add(l->r, "agent-not-answering", l->cfg->control_socket,
		    NULL, l->systemd ? "restart it: sudo systemctl restart "
		    "wsl-docker-agent" : "restart it: sudo wsl-docker-agent stop "
		    "&& sudo wsl-docker-agent start", "the agent (pid %ld) runs "
		    "but does not answer: %s", (long)pid, err);
		return;
	}
	doctor_add(l->r, "agent-not-running", l->cfg->control_socket, NULL,
	    l->systemd ? "start it: sudo systemctl enable --now "
	    "wsl-docker-agent" : "start it: sudo wsl-docker-agent start; to "
	    "start it with the distro: sudo wsl-docker-agent-wslconf enable",
	    "the agent is not running (%s): nothing links Docker Desktop's "
	    "docker into this distro or serves %s", err, l->socket_path);
}

static const char *const local_engine_fix =
	"choose one engine. For Docker Desktop's: stop the local one (sudo "
	"systemctl disable --now docker.service docker.socket, or remove the "
	"docker.io or docker-ce package), then run 'sudo wsl-docker-agent "
	"reconcile'. To keep the local one: turn this distro off in Docker "
	"Desktop (Settings > Resources > WSL integration), or give the agent "
	"another socket.path in /etc/wsl-docker-agent/config.json";

static void
look_local_engine(struct look *l, const char *who)
{
	doctor_add(l->r, "local-engine", l->socket_path, who, local_engine_fix,
	    "%s is served by %s, not by the agent, which never takes over a "
	    "socket something else serves: docker here talks to that, not to "
	    "Docker Desktop's engine", l->socket_path, who);
}

/* The agent's problems, but the one local-engine says better. */
static void
look_agent_problems(struct look *l)
{
	const char *state = look_status_str(l, "socket.state");
	const char *detail = look_status_str(l, "socket.detail");
	char conflict[PATH_MAX + 1024] = "", who[256];
	bool engine = state != NULL && strcmp(state, "conflict") == 0 &&
	    detail != NULL && strncmp(detail, "served by ", 10) == 0;

	if (engine) {
		snprintf(who, sizeof who, "%.*s", (int)strcspn(detail + 10, ";"),
		    detail + 10);
		look_local_engine(l, who);
		snprintf(conflict, sizeof conflict, "%s: %s", l->socket_path,
		    detail);
	}
	struct json_object *problems = look_status(l, "problems");
	size_t n = json_object_is_type(problems, json_type_array) ?
	    json_object_array_length(problems) : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(problems, i);
		const char *what = util_json_string(p, "what");
		const char *fix = util_json_string(p, "fix");
		if (what == NULL || fix == NULL ||
		    (engine && strcmp(what, conflict) == 0))
			continue;
		doctor_add(l->r, "agent-problem", NULL, NULL, fix, "%s", what);
	}
}

/* Nothing answers for the agent: does something else hold socket.path? */
static void
look_socket_holder(struct look *l)
{
	int fd = util_unix_connect(l->socket_path);
	if (fd < 0)
		return;
	uid_t uid;
	pid_t pid;
	(void)trust_peer_is_root(fd, &uid, &pid);
	close(fd);
	char path[64], comm[64] = "";
	snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
	FILE *f = pid > 0 ? fopen(path, "re") : NULL;
	if (f != NULL) {
		if (fgets(comm, sizeof comm, f) == NULL)
			comm[0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	/* The agent itself, or systemd holding the agent's own socket unit. */
	if (pid == daemon_running_pid(l->cfg->pidfile) ||
	    strncmp(comm, AGENT_NAME, 15) == 0 ||
	    (pid == 1 && access(OUR_SOCKET_UNIT, F_OK) == 0))
		return;
	char who[128];
	if (pid == 1)
		snprintf(who, sizeof who, "systemd (pid 1), for a socket unit "
		    "such as docker.socket");
	else if (pid > 0)
		snprintf(who, sizeof who, "%s (pid %ld)", comm[0] != '\0' ? comm :
		    "a process", (long)pid);
	else
		snprintf(who, sizeof who, "a process of another pid namespace");
	look_local_engine(l, who);
}

static void
look_agent(struct look *l, const char *cfg_error)
{
	char *reply = NULL, err[512];

	if (cfg_error != NULL)
		doctor_add(l->r, "agent-config-invalid", NULL, NULL, "fix that "
		    "file (as root), then restart the agent", "the agent cannot "
		    "start with its configuration: %s", cfg_error);
	if (control_request(l->cfg->control_socket, "{\"request\":\"status\"}",
	    &reply, err, sizeof err) < 0) {
		look_agent_down(l, err);
		look_socket_holder(l);
		return;
	}
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	struct json_object *st = tok != NULL ? util_json_parse(tok, reply,
	    strlen(reply)) : NULL;
	json_tokener_free(tok);
	free(reply);
	if (!json_object_is_type(st, json_type_object) ||
	    !json_object_object_get_ex(st, "agent", NULL)) {
		json_object_put(st);
		look_agent_down(l, "it answered, but not with its status");
		return;
	}
	l->status = st;
	const char *path = look_status_str(l, "socket.path");
	const char *group = look_status_str(l, "socket.group");
	const char *mode = look_status_str(l, "socket.mode");
	if (path != NULL)
		l->socket_path = path;
	if (group != NULL)
		l->socket_group = group;
	if (mode != NULL)
		l->proxy_mode = strcmp(mode, "proxy") == 0;
	look_agent_problems(l);
	struct json_object *reach = look_status(l, "engine.reachable");
	const char *version = look_status_str(l, "engine.version");
	if (json_object_get_boolean(reach) && version != NULL &&
	    asprintf(&l->r->engine, "%s at %s", version, l->socket_path) < 0)
		l->r->engine = NULL;
}

/* ------------------------------------------------------------------ */
/* The docker command, and where it points */

static void
look_docker_command(struct look *l)
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
	snprintf(link, sizeof link, "%s/docker", l->cfg->bin_dir);
	if (stat(link, &st) == 0 && skipped == NULL)
		snprintf(fix, sizeof fix, "add %s to your PATH (export PATH=\"%s:"
		    "$PATH\" in ~/.profile)", l->cfg->bin_dir, l->cfg->bin_dir);
	else
		snprintf(fix, sizeof fix, "start Docker Desktop with WSL "
		    "integration on for this distro: the agent links its docker "
		    "into %s while it runs (see the other findings)",
		    l->cfg->bin_dir);
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
look_where_set(const struct look *l, const char *var, char *where,
    size_t len)
{
	char file[PATH_MAX];
	where[0] = '\0';
	for (const char *const *f = home_files; *f != NULL && l->home != NULL;
	    f++) {
		snprintf(file, sizeof file, "%s/%s", l->home, *f);
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
look_unset_fix(const struct look *l, const char *var, char *fix, size_t len)
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
look_host_is_ours(const struct look *l, const char *host)
{
	const char *path = docker_host_unix_path(host);
	return path != NULL && look_same_socket(path, l->socket_path);
}

/* The CLI's default endpoint, for no selection or the "default" context. */
static void
look_default_endpoint(struct look *l, const char *subject)
{
	char fix[PATH_MAX * 2 + 256];
	if (look_same_socket(DEFAULT_DOCKER_SOCKET, l->socket_path))
		return;
	snprintf(fix, sizeof fix, "export DOCKER_HOST=unix://%s in ~/.profile, "
	    "or make it a context: docker context create wsl --docker "
	    "host=unix://%s && docker context use wsl", l->socket_path,
	    l->socket_path);
	doctor_add(l->r, "default-host", subject, "unix://" DEFAULT_DOCKER_SOCKET,
	    fix, "%s: docker talks to unix://%s, but the agent serves %s "
	    "(socket.path)", subject, DEFAULT_DOCKER_SOCKET, l->socket_path);
}

static void
look_unreadable(struct look *l, const char *path, int err)
{
	struct stat st;
	char owner[64] = "", fix[PATH_MAX * 2 + 64];
	if (stat(path, &st) == 0 || stat(l->config_dir, &st) == 0)
		if (st.st_uid != getuid())
			snprintf(owner, sizeof owner, " (it belongs to uid %u: "
			    "a 'sudo docker' may have made it)", (unsigned)st.st_uid);
	snprintf(fix, sizeof fix, "give it back to yourself: sudo chown -R "
	    "%s: %s", l->r->user, l->config_dir);
	doctor_add(l->r, "docker-config-unreadable", path, NULL, fix, "%s "
	    "cannot be read: %s%s; docker ignores it", path, strerror(err),
	    owner);
}

static void
look_context(struct look *l, const char *subject, const char *name,
    const char *fix)
{
	if (strcmp(name, "default") == 0) {
		look_default_endpoint(l, subject);
		return;
	}
	char *meta = docker_context_meta_path(l->config_dir, name), *text;
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
		    ctx.host, l->socket_path);
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
look_endpoint(struct look *l)
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
		    "agent's %s", host, l->socket_path);
	} else if (ctx != NULL && ctx[0] != '\0') {
		look_unset_fix(l, "DOCKER_CONTEXT", fix, sizeof fix);
		look_context(l, "DOCKER_CONTEXT", ctx, fix);
	} else if (cur != NULL && cur[0] != '\0') {
		snprintf(subject, sizeof subject, "currentContext in %s",
		    l->config_path);
		look_context(l, subject, cur, "run 'docker context use default'");
	} else
		look_default_endpoint(l, "docker's default endpoint");
}

/* ------------------------------------------------------------------ */
/* The docker group */

static bool
look_in_session(gid_t gid)
{
	if (getegid() == gid)
		return true;
	int n = getgroups(0, NULL);
	gid_t *groups = n > 0 ? calloc((size_t)n, sizeof *groups) : NULL;
	bool in = false;
	if (groups != NULL && (n = getgroups(n, groups)) > 0)
		for (int i = 0; i < n && !in; i++)
			in = groups[i] == gid;
	free(groups);
	return in;
}

static bool
look_group_member(gid_t gid, const char *user)
{
	struct passwd *pw = getpwuid(getuid());
	if (pw != NULL && pw->pw_gid == gid)
		return true;
	struct group *gr = getgrgid(gid);
	for (char **m = gr != NULL ? gr->gr_mem : NULL; m != NULL && *m != NULL;
	    m++)
		if (strcmp(*m, user) == 0)
			return true;
	return false;
}

static void
look_group(struct look *l)
{
	const char *g = l->socket_group, *user = l->r->user;
	gid_t gid = 0;
	char fix[512];

	if (!l->proxy_mode)
		return;		/* mount mode: the engine's group; status says */
	struct doctor_group_facts facts = {
		.root = getuid() == 0,
		.socket_usable = access(l->socket_path, R_OK | W_OK) == 0,
		.exists = util_group_gid(g, &gid) == 0,
	};
	facts.in_session = facts.exists && look_in_session(gid);
	facts.member = facts.exists && look_group_member(gid, user);
	switch (doctor_group_state(&facts)) {
	case DOCTOR_GROUP_OK:
		break;
	case DOCTOR_GROUP_NONE:
		snprintf(fix, sizeof fix, "start the agent, which makes it; then "
		    "sudo usermod -aG %s %s, and log in again", g, user);
		doctor_add(l->r, "docker-group", "socket.group", g, fix, "the "
		    "group %s, whose members may use %s, does not exist", g,
		    l->socket_path);
		break;
	case DOCTOR_GROUP_OUT:
		snprintf(fix, sizeof fix, "sudo usermod -aG %s %s, then log in "
		    "again (from Windows: wsl.exe --terminate %s, then open the "
		    "distro)", g, user, look_distro(l));
		doctor_add(l->r, "docker-group", "socket.group", g, fix, "you "
		    "(%s) are not in the group %s, whose members may use %s: "
		    "docker says \"permission denied\"", user, g, l->socket_path);
		break;
	case DOCTOR_GROUP_LATER:
		snprintf(fix, sizeof fix, "run 'newgrp %s' in this shell, or log "
		    "in again: close the distro's every window (from Windows: "
		    "wsl.exe --terminate %s) and open it again", g,
		    look_distro(l));
		doctor_add(l->r, "docker-group-session", "socket.group", g, fix,
		    "you (%s) are in the group %s, but this session began before "
		    "you were added and does not have it: docker says "
		    "\"permission denied\"", user, g);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* The user's docker configuration */

static void
look_docker_config(struct look *l)
{
	char *text, err[512];
	size_t len;

	if (doctor_read_file(l->config_path, DOCKER_CONFIG_MAX_BYTES, &text,
	    &len) < 0) {
		int e = errno;
		if (e == EACCES)
			look_unreadable(l, l->config_path, e);
		else if (e == EFBIG || e == EINVAL)
			doctor_add(l->r, "docker-config-invalid", l->config_path,
			    NULL, "move it away (docker then starts from an empty "
			    "configuration)", "%s is %s", l->config_path,
			    e == EFBIG ? "larger than 1 MiB" :
			    "not a regular file");
		return;		/* ENOENT and the like: no configuration */
	}
	if (docker_config_parse(text, len, l->config_path, &l->dc, err,
	    sizeof err) < 0)
		doctor_add(l->r, "docker-config-invalid", l->config_path, NULL,
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
	(void)doctor_read_file(INTEROP_ENTRY, SMALL_FILE_MAX, &entry, &len);
	(void)doctor_read_file(INTEROP_ENTRY_LATE, SMALL_FILE_MAX, &late, &len);
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
look_helper_interop(struct look *l, const char *entry, const char *name,
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
		    "Windows: wsl.exe --terminate %s), or %s", look_distro(l),
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
	    "credentials\")", entry, l->config_path, name, prog, why);
}

static void
look_helper(struct look *l, const char *entry, const char *name,
    const char *remove)
{
	char prog[NAME_MAX + 1], fix[PATH_MAX * 2 + 512], why[PATH_MAX * 2 + 64];

	if (name == NULL || name[0] == '\0')
		return;		/* none: credentials live in config.json */
	if (!docker_helper_name_ok(name)) {
		doctor_add(l->r, "credential-helper", entry, name, remove, "%s in "
		    "%s is \"%s\", which cannot name a credential helper",
		    entry, l->config_path, name);
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
			    l->cfg->bin_dir, remove);
		else
			snprintf(fix, sizeof fix, "install %s, or %s", prog, remove);
		doctor_add(l->r, "credential-helper", entry, name, fix, "%s in %s "
		    "is \"%s\": docker runs %s for credentials, and %s", entry,
		    l->config_path, name, prog, why);
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
look_helpers(struct look *l)
{
	char remove[PATH_MAX + 256], entry[300];

	snprintf(remove, sizeof remove, "remove \"credsStore\" from %s (public "
	    "images pull without credentials)", l->config_path);
	look_helper(l, "credsStore", l->dc.creds_store, remove);
	for (size_t i = 0; i < l->dc.nhelpers; i++) {
		const struct docker_cred_helper *h = &l->dc.helpers[i];
		snprintf(entry, sizeof entry, "credHelpers \"%.200s\"",
		    h->registry);
		snprintf(remove, sizeof remove, "remove \"%.200s\" from "
		    "credHelpers in %s", h->registry, l->config_path);
		look_helper(l, entry, h->helper, remove);
	}
}

/* ------------------------------------------------------------------ */
/* CLI plugins */

static void
look_plugin(struct look *l, const char *dir, const char *name)
{
	char path[PATH_MAX], sys[PATH_MAX], target[PATH_MAX], fix[PATH_MAX * 3];
	char rp[PATH_MAX], rs[PATH_MAX];
	struct stat st;
	ssize_t n;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >=
	    sizeof path || (size_t)snprintf(sys, sizeof sys, "%s/%s",
	    l->cfg->plugin_dir, name) >= sizeof sys || lstat(path, &st) < 0)
		return;
	if (S_ISLNK(st.st_mode) && stat(path, &st) < 0 && errno == ENOENT &&
	    (n = readlink(path, target, sizeof target - 1)) > 0) {
		target[n] = '\0';
		snprintf(fix, sizeof fix, "remove it: rm %s (the agent links "
		    "Docker Desktop's plugins into %s)", path, l->cfg->plugin_dir);
		doctor_add(l->r, "cli-plugin-dangling", path, target, fix, "%s is "
		    "a link to %s, which does not exist: docker reports the plugin "
		    "as not valid", path, target);
		return;
	}
	if (stat(sys, &st) < 0 || realpath(path, rp) == NULL ||
	    realpath(sys, rs) == NULL || strcmp(rp, rs) == 0)
		return;
	snprintf(fix, sizeof fix, "remove or rename it (rm %s) to use Docker "
	    "Desktop's", path);
	doctor_add(l->r, "cli-plugin-shadow", path, sys, fix, "%s shadows Docker "
	    "Desktop's %s (%s): docker looks in %s first and runs yours", path,
	    name, sys, dir);
}

static void
look_plugins(struct look *l)
{
	char dir[PATH_MAX];
	struct dirent *e;
	int seen = 0;

	if ((size_t)snprintf(dir, sizeof dir, "%s/cli-plugins", l->config_dir) >=
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

/* ------------------------------------------------------------------ */

/* Who runs doctor, and where their docker configuration is. */
static void
look_user(struct look *l)
{
	struct passwd *pw = getpwuid(getuid());
	char uid[32];

	snprintf(uid, sizeof uid, "uid %u", (unsigned)getuid());
	l->r->uid = getuid();
	l->r->user = strdup(pw != NULL ? pw->pw_name : uid);
	l->home = getenv("HOME");
	if ((l->home == NULL || l->home[0] == '\0') && pw != NULL)
		l->home = pw->pw_dir;
	const char *dc = getenv("DOCKER_CONFIG");
	if (dc != NULL && dc[0] != '\0')
		snprintf(l->config_dir, sizeof l->config_dir, "%s", dc);
	else
		snprintf(l->config_dir, sizeof l->config_dir, "%s/.docker",
		    l->home != NULL ? l->home : "");
	snprintf(l->config_path, sizeof l->config_path, "%s/config.json",
	    l->config_dir);
	if (l->r->user == NULL)
		fatal(EXIT_OSERR, "out of memory");
}

void
doctor_look(struct doctor_report *r, const struct config *cfg,
    const char *cfg_error)
{
	struct look l = {
		.r = r, .cfg = cfg, .socket_path = cfg->socket_path,
		.socket_group = cfg->socket_group,
		.proxy_mode = cfg->socket_mode == SOCKET_MODE_PROXY,
		.systemd = sd_booted() > 0,
	};

	look_user(&l);
	look_kernel(&l);
	look_agent(&l, cfg_error);
	r->distro = strdup(look_distro(&l));
	look_docker_command(&l);
	look_docker_config(&l);
	look_endpoint(&l);
	look_group(&l);
	look_helpers(&l);
	look_plugins(&l);
	docker_config_free(&l.dc);
	json_object_put(l.status);
	if (r->distro == NULL)
		fatal(EXIT_OSERR, "out of memory");
}
