/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What doctor looks at, as the user who typed it and with that user's
 * rights alone: the kernel (WSL 1), the agent through its control socket
 * (as `status' sees it: another user's paths are left out there),
 * whatever else holds socket.path, and the docker group; then the docker
 * client's side (doctor-client.c), given what it needs to know.  Every
 * finding names what it found and the fix.  Each file read is bounded
 * (doctor.h) and opened so that a FIFO cannot hang it.
 */
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

#include "base/config.h"
#include "base/defs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "sys/daemon.h"
#include "sys/trust.h"
#include "main/client.h"
#include "main/doctor.h"

#define PROC_VERSION		"/proc/version"
#define SMALL_FILE_MAX		4096
#define OUR_SOCKET_UNIT	"/etc/systemd/system/sockets.target.wants/wsl-docker-agent.socket"

struct look {
	struct doctor_report	*r;
	const struct config	*cfg;
	struct json_object	*status;	/* the agent's, or NULL */
	const char		*home;
	char			 config_dir[PATH_MAX];
	char			 config_path[PATH_MAX];
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
		const char *what = json_string(p, "what");
		const char *fix = json_string(p, "fix");
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
	struct json_object *st = tok != NULL ? json_parse(tok, reply,
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
	if ((r->distro = strdup(look_distro(&l))) == NULL)
		fatal(EXIT_OSERR, "out of memory");
	look_group(&l);
	struct doctor_client c = {
		.home = l.home, .config_dir = l.config_dir,
		.config_path = l.config_path, .socket_path = l.socket_path,
		.bin_dir = cfg->bin_dir, .plugin_dir = cfg->plugin_dir,
		.distro = r->distro,
	};
	doctor_look_client(r, &c);
	json_object_put(l.status);
}
