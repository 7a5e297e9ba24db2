/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The running agent: one event loop that follows Docker Desktop's tree and
 * keeps links and the socket right, answers the control socket, reports to
 * the host, and tells systemd how it is.  Idle, it wakes only for its
 * heartbeat and the watchdog.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "base/config.h"
#include "base/defs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "base/report.h"
#include "sys/daemon.h"
#include "sys/manifest.h"
#include "sys/supervise.h"
#include "sys/wsl.h"
#include "io/control.h"
#include "io/engine-get.h"
#include "io/notify.h"
#include "io/watch.h"
#include "io/work.h"
#include "features/binds.h"
#include "features/desktop.h"
#include "features/exposures.h"
#include "features/health.h"
#include "features/links.h"
#include "features/probe.h"
#include "features/restore.h"
#include "features/socket.h"
#include "features/usage.h"
#include "features/volume.h"
#include "main/agent.h"
#include "main/request.h"

/*
 * The engine as the features that ask it are told of it, and the proxy
 * whose creates binds.c follows: the one place that knows who says so
 * (Docker Desktop's view, the socket's proxy).
 */
struct agent_engine {
	bool		 usable;	/* its socket there and trusted */
	int		 fd;		/* that socket, as walked to */
	const char	*name;		/* its path, for messages */
	struct proxy	*proxy;		/* the socket's, or NULL */
};

static struct agent_engine
agent_engine(const struct agent *a)
{
	const struct desktop_view *v = desktop_view(a->desktop);
	return (struct agent_engine){
		.usable = v->engine_fd >= 0,
		.fd = v->engine_fd,
		.name = v->engine_path,
		.proxy = socket_proxy(a->socket),
	};
}

/*
 * The exposures' mounts (every distro's, in the directory above this
 * distro's area, one for each new source and removed as its last container
 * goes) are nothing the tree's watch need tell.
 */
static void
agent_watch_areas(struct agent *a)
{
	const char *area = exposures_dir(a->exposures);
	const char *slash = area != NULL ? strrchr(area, '/') : NULL;
	char *areas = slash != NULL ? strndup(area, (size_t)(slash - area)) :
	    NULL;
	watch_ignore_mounts_in(a->watch, areas);
	free(areas);
}

void
agent_reconcile(struct agent *a, const char *why)
{
	if (a->stopping)
		return;
	log_debug("agent", "reconciling: %s", why);
	/*
	 * The order: Docker Desktop's tree looked at once, then every
	 * feature given that view.  The socket may refuse the view's engine
	 * socket (it is the agent's own), which the view then drops before
	 * the bind sources, restore and the probe are told.  Bind sources:
	 * the table first, then who follows and uses it.
	 */
	desktop_look(a->desktop);
	const struct desktop_view *v = desktop_view(a->desktop);
	links_reconcile(a->links, v, a->disabled);
	socket_reconcile(a->socket, v, a->disabled, a->stopping);
	if (socket_engine_refused(a->socket) != NULL)
		desktop_refuse_engine(a->desktop, socket_engine_refused(a->socket));
	struct agent_engine e = agent_engine(a);
	exposures_reconcile(a->exposures);
	agent_watch_areas(a);
	binds_reconcile(a->binds, e.proxy);
	usage_reconcile(a->usage, e.usable, e.fd, e.name);
	restore_reconcile(a->restore, e.usable, e.fd, e.name);
	probe_reconcile(a->probe, v, a->disabled);
	agent_state_changed(a);
}

static void
agent_summary(struct agent *a, char *buf, size_t len)
{
	const struct desktop_view *v = desktop_view(a->desktop);
	if (a->disabled)
		snprintf(buf, len, "integration off for this distro");
	else if (v->untrusted != NULL)
		snprintf(buf, len, "untrusted: %s", v->untrusted);
	else if (!v->present || !v->engine_present)
		snprintf(buf, len, "waiting for Docker Desktop (%s)",
		    !v->present ? "its tree is absent" :
		    "its engine socket is absent");
	else if (socket_state(a->socket) != SOCK_OK)
		snprintf(buf, len, "socket %s: %s: %s", a->cfg.socket_path,
		    socket_state_name(socket_state(a->socket)),
		    socket_detail(a->socket));
	else if (!probe_reachable(a->probe) &&
	    probe_failure(a->probe) == NULL)
		snprintf(buf, len, "socket %s ready (%s); asking the engine",
		    a->cfg.socket_path, config_socket_mode_name(a->cfg.socket_mode));
	else if (!probe_reachable(a->probe))
		snprintf(buf, len, "engine not answering: %s",
		    probe_failure(a->probe));
	else
		snprintf(buf, len, "docker ready: engine %s at %s (%s), %zu links",
		    probe_version(a->probe), a->cfg.socket_path,
		    config_socket_mode_name(a->cfg.socket_mode),
		    links_count(a->links, LINK_OK));
}

/*
 * STATUS= for systemctl status.  A supervisor whose queue is full misses
 * the changes in between and gets the latest on the next tick: the agent
 * never waits on it.
 */
static void
agent_notify_status(struct agent *a)
{
	if (a->status_unsent && daemon_notify("STATUS=%s", a->last_summary) == 0)
		a->status_unsent = false;
}

/* What a change means, done now: the "changed" notice's one handler. */
static void
agent_changed_now(struct agent *a)
{
	char summary[sizeof a->last_summary];
	agent_summary(a, summary, sizeof summary);
	if (strcmp(summary, a->last_summary) != 0) {
		snprintf(a->last_summary, sizeof a->last_summary, "%s", summary);
		a->status_unsent = true;
	}
	agent_notify_status(a);
	if (a->health != NULL)
		health_state_changed(a->health);
}

/*
 * The "changed" notice (io/notify.h), run by the loop once however many
 * posted meanwhile: what changed is told the supervisor and the host
 * here, never from inside the feature (or the request) that changed it.
 */
static void
agent_changed(void *arg)
{
	struct agent *a = arg;
	struct json_object *m = restore_take_messages(a->restore);
	size_t n = m != NULL ? json_object_array_length(m) : 0;
	for (size_t i = 0; i < n; i++)
		health_send(a->health, json_object_get(
		    json_object_array_get_idx(m, i)));
	json_object_put(m);
	if (!restore_holds_ready(a->restore))
		agent_ready(a);		/* once; restore.c let go */
	agent_changed_now(a);
}

int
agent_changes_init(struct agent *a)
{
	a->changed = notify_new(a->base, agent_changed, a);
	return a->changed != NULL ? 0 : -1;
}

void
agent_state_changed(struct agent *a)
{
	if (a->changed != NULL)
		notify_post(a->changed);
	else
		agent_changed_now(a);
}

/* usage.c: a container uses an exposure that is not mounted. */
static void
agent_wants_restore(void *arg, const char *why)
{
	struct agent *a = arg;
	restore_request(a->restore, why);
}

static char *
agent_state_file(const struct agent *a, const char *name)
{
	return util_path_join(a->cfg.state_dir, name);
}

int
agent_set_disabled(struct agent *a, bool disabled, char *err, size_t errlen)
{
	char *flag = agent_state_file(a, "disabled");
	if (flag == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int r = 0;
	if (disabled) {
		static const char note[] = "integration turned off; remove this "
		    "file or run 'wsl-docker-agent enable' to turn it on\n";
		r = util_write_atomic(flag, note, sizeof note - 1, 0600);
	} else if (unlink(flag) < 0 && errno != ENOENT)
		r = -1;
	if (r < 0) {
		snprintf(err, errlen, "cannot record the change in %s: %s", flag,
		    strerror(errno));
		free(flag);
		return -1;
	}
	free(flag);
	if (a->disabled != disabled)
		log_notice("agent", "integration turned %s for this distro",
		    disabled ? "off" : "on");
	a->disabled = disabled;
	agent_reconcile(a, disabled ? "integration off" : "integration on");
	return 0;
}

/* ---------------------------------------------------------------- */
/* Status, as one JSON object (control socket, status --json, health). */

/* The "agent" member: the process itself. */
static struct json_object *
agent_self_json(const struct agent *a)
{
	struct json_object *o = json_object_new_object();
	report_add_str(o, "version", PACKAGE_VERSION);
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	report_add_str(o, "instance_id", a->instance_id);
	json_object_object_add(o, "uptime_s", json_object_new_int64(
	    (int64_t)((util_now_ms() - a->start_mono_ms) / 1000)));
	json_object_object_add(o, "rss_kib", json_object_new_int64(util_rss_kib()));
	report_add_str(o, "distro", a->cfg.distro);
	report_add_str(o, "config_file", a->cfg.config_file);
	json_object_object_add(o, "disabled", json_object_new_boolean(a->disabled));
	json_object_object_add(o, "wall_clock_ms",
	    json_object_new_int64((int64_t)util_wall_ms()));
	json_object_object_add(o, "watches",
	    json_object_new_int(watch_count(a->watch)));
	json_object_object_add(o, "tree_reconciles",
	    json_object_new_int64((int64_t)watch_fires(a->watch)));
	json_object_object_add(o, "tree_events_ignored",
	    json_object_new_int64((int64_t)watch_ignored(a->watch)));
	const char *restarts = getenv(SUPERVISE_ENV_RESTARTS);
	report_add_str(o, "supervisor", getenv(SUPERVISE_ENV) != NULL ? "start" :
	    getenv("INVOCATION_ID") != NULL ? "systemd" : "none");
	json_object_object_add(o, "restarts", restarts != NULL ?
	    json_object_new_int64(strtoll(restarts, NULL, 10)) : NULL);
	report_add_str(o, "last_death", getenv(SUPERVISE_ENV_LAST));
	return o;
}

/*
 * `start''s supervisor restarts a dead agent at once, then later and
 * later while it keeps dying quickly (sys/supervise.h): past five quick
 * deaths in a row, the agent is in a crash loop, and says so.
 */
static void
agent_crash_loop_problem(struct json_object *problems)
{
	const char *delay = getenv(SUPERVISE_ENV_DELAY);
	const char *last = getenv(SUPERVISE_ENV_LAST);
	if (delay == NULL || strtol(delay, NULL, 10) <
	    SUPERVISE_DELAY_FIRST_MS << 4)
		return;
	char what[256];
	snprintf(what, sizeof what, "the agent keeps dying soon after it starts "
	    "(%s restarts; the last one %s); it is restarted later and later",
	    getenv(SUPERVISE_ENV_RESTARTS), last != NULL ? last : "?");
	report_add_problem(problems, what, "read the log (log_file) for why; "
	    "fix it, then 'sudo wsl-docker-agent restart'");
}

/* The "binds" member: nothing until the exposures' view of paths is read. */
static struct json_object *
agent_binds_json(const struct agent *a, struct json_object *problems)
{
	struct json_object *o = json_object_new_object();
	if (o == NULL || exposures_dir(a->exposures) == NULL)
		return o;
	binds_report(a->binds, o, problems);
	exposures_report(a->exposures, o, problems);
	usage_report(a->usage, o);
	return o;
}

/*
 * socket.holders: the containers that mount the agent's socket, as the
 * bind exposures of its path (either spelling, /run or /var/run) name
 * them.  Read from the status the binds gave, so nothing is asked twice.
 */
static void
agent_socket_holders(const struct agent *a, struct json_object *socket,
    struct json_object *binds)
{
	const char *path = a->cfg.socket_path;
	char var[PATH_MAX];
	bool run = path != NULL && strncmp(path, "/run/", 5) == 0;
	if (socket == NULL || path == NULL ||
	    (run && snprintf(var, sizeof var, "/var%s", path) >= (int)sizeof var))
		return;
	struct json_object *holders = json_object_new_array(), *ex;
	if (holders == NULL)
		return;
	json_object_object_get_ex(binds, "exposures", &ex);
	for (size_t i = 0; ex != NULL && i < json_object_array_length(ex); i++) {
		struct json_object *e = json_object_array_get_idx(ex, i), *c;
		const char *src = json_string(e, "source");
		if (src == NULL || (strcmp(src, path) != 0 &&
		    !(run && strcmp(src, var) == 0)) ||
		    !json_object_object_get_ex(e, "containers", &c))
			continue;
		for (size_t k = 0; k < json_object_array_length(c); k++)
			json_object_array_add(holders, json_object_get(
			    json_object_array_get_idx(c, k)));
	}
	json_object_object_add(socket, "holders", holders);
}

/*
 * Each module describes itself.  Problems are listed desktop first (the
 * engine's with them), then the socket, then links, whatever the order of
 * the members.
 */
struct json_object *
agent_status_json(struct agent *a)
{
	struct json_object *o = json_object_new_object();
	struct json_object *problems = json_object_new_array();
	if (o == NULL || problems == NULL) {
		json_object_put(o);
		json_object_put(problems);
		return NULL;
	}
	json_object_object_add(o, "agent", agent_self_json(a));
	agent_crash_loop_problem(problems);
	json_object_object_add(o, "desktop", desktop_report(a->desktop,
	    a->disabled, problems));
	struct json_object *engine = probe_report(a->probe, problems);
	struct json_object *socket = socket_report(a->socket, problems);
	json_object_object_add(o, "links", links_report(a->links, problems));
	json_object_object_add(o, "socket", socket);
	json_object_object_add(o, "engine", engine);
	json_object_object_add(o, "proxy", socket_proxy_report(a->socket));
	struct json_object *binds = agent_binds_json(a, problems);
	agent_socket_holders(a, socket, binds);
	json_object_object_add(o, "binds", binds);
	restore_report(a->restore, o, problems);
	json_object_object_add(o, "conflicts", links_conflicts_report(a->links));
	if (a->health != NULL)
		json_object_object_add(o, "host", health_status_json(a->health));
	json_object_object_add(o, "healthy",
	    json_object_new_boolean(json_object_array_length(problems) == 0));
	json_object_object_add(o, "problems", problems);
	return o;
}

/* What the host channel reports and what its requests do. */
static struct json_object *
agent_health_status(void *arg)
{
	return agent_status_json(arg);
}

static struct json_object *
agent_health_request(void *arg, const struct proto_request_msg *rq,
    bool trusted, enum proto_error *e, char *why, size_t whylen)
{
	return agent_request(arg, rq, trusted, &request_host_origin, e, why,
	    whylen);
}

struct health *
agent_health_new(struct agent *a)
{
	const struct health_hooks hooks = { agent_health_status,
	    agent_health_request, a };
	return health_new(a->base, &a->cfg, a->instance_id, &hooks);
}

/* ---------------------------------------------------------------- */
/* Signals, reload, heartbeat, watchdog. */

static void agent_tree_changed(void *arg);

static int
agent_load_config(struct agent *a, struct config *out, char *err, size_t errlen)
{
	config_init(out);
	/* Only a file named with -c must exist; the default may come and go. */
	const char *file = a->config_explicit != NULL ? a->config_explicit :
	    CONFIG_DEFAULT_PATH;
	if (config_load_file(out, file, a->config_explicit != NULL, err, errlen) < 0)
		goto fail;
	for (int i = 0; i + 1 < a->flag_argc; i += 2)
		if (config_set(out, a->flag_argv[i], a->flag_argv[i + 1], err,
		    errlen) < 0)
			goto fail;
	wsl_resolve_config(out);
	return 0;
fail:
	config_free(out);
	return -1;
}

static bool
agent_str_changed(const char *x, const char *y)
{
	return (x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0);
}

static void
agent_reload(struct agent *a)
{
	struct config n;
	char err[CONFIG_ERR_LEN];
	if (agent_load_config(a, &n, err, sizeof err) < 0) {
		log_err("config", "reload failed: %s; keeping the running "
		    "configuration", err);
		return;
	}
	bool socket_changed = agent_str_changed(n.socket_path, a->cfg.socket_path) ||
	    n.socket_mode != a->cfg.socket_mode ||
	    agent_str_changed(n.socket_group, a->cfg.socket_group) ||
	    n.socket_max_connections != a->cfg.socket_max_connections;
	bool desktop_changed = agent_str_changed(n.desktop_dir, a->cfg.desktop_dir);
	bool host_changed = agent_str_changed(n.host_address, a->cfg.host_address) ||
	    n.host_interval != a->cfg.host_interval;
	if (socket_changed || desktop_changed)
		socket_stop(a->socket, false);
	config_free(&a->cfg);
	a->cfg = n;
	log_set_level(log_level_from_name(a->cfg.log_level));
	if (desktop_changed) {
		watch_free(a->watch);
		a->watch = watch_new(a->base, a->cfg.desktop_dir,
		    desktop_view(a->desktop)->followed, agent_tree_changed, a);
	}
	if (host_changed && a->health != NULL) {
		health_free(a->health, false);
		a->health = agent_health_new(a);
	}
	log_notice("config", "configuration reloaded");
	agent_reconcile(a, "configuration reloaded");
}

static void
agent_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;
	if (sig == SIGHUP) {
		agent_reload(a);
		return;
	}
	log_notice("agent", "stopping on %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	(void)daemon_notify("STOPPING=1");
	a->stopping = true;
	event_base_loopexit(a->base, NULL);
}

static void
agent_tree_changed(void *arg)
{
	agent_reconcile(arg, "Docker Desktop's tree changed");
}

static void
agent_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	agent_notify_status(a);
	/* A refused socket path is worth another look now and then. */
	enum socket_state s = socket_state(a->socket);
	if (s == SOCK_CONFLICT || s == SOCK_ERROR)
		agent_reconcile(a, "heartbeat retry");
	else
		probe_start(a->probe);
}

static void
agent_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	(void)daemon_notify("WATCHDOG=1");
	agent_notify_status(a);
}

static void
agent_make_instance_id(struct agent *a)
{
	unsigned char r[16] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, r, sizeof r) != (ssize_t)sizeof r)
			memset(r, 0, sizeof r);
		close(fd);
	}
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(a->instance_id + 2 * i, 3, "%02x", r[i]);
}

/*
 * Each proxied stream holds six descriptors (two sockets, two pipes), so
 * the usual soft limit of 1024 would cap us near 170 streams: take the
 * hard limit, which is what LimitNOFILE= sets under systemd anyway.
 */
static void
agent_raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("agent", "cannot raise the open-file limit: %s",
			    strerror(errno));
	}
}

void
agent_ready(struct agent *a)
{
	if (a->ready_sent)
		return;
	a->ready_sent = true;
	agent_changed_now(a);	/* READY=1 goes with the summary of now */
	if (daemon_notify("READY=1\nSTATUS=%s\nMAINPID=%ld", a->last_summary,
	    (long)getpid()) == 0)
		a->status_unsent = false;
	else if (errno != EAFNOSUPPORT)
		log_warn("agent", "cannot tell the supervisor (NOTIFY_SOCKET) "
		    "the agent is ready: %s; is it reading its socket?",
		    strerror(errno));
	log_notice("agent", "ready: %s", a->last_summary);
	if (a->ready_fd >= 0) {
		(void)!write(a->ready_fd, "ok\n", 3);
		close(a->ready_fd);
		a->ready_fd = -1;
	}
}

int
agent_run(struct agent *a, int ready_fd)
{
	char err[512];
	int activated_fd = -1;
	a->start_mono_ms = util_now_ms();
	agent_make_instance_id(a);
	signal(SIGPIPE, SIG_IGN);

	a->base = event_base_new();
	if (a->base == NULL || agent_changes_init(a) < 0)
		fatal(EXIT_OSERR, "cannot create the event loop");
	char **fdnames = NULL;
	bool kept = false;
	if (sd_listen_fds_with_names(1, &fdnames) >= 1) {
		/*
		 * The socket unit's, or our own kept in the supervisor's store
		 * (named SOCKET_FDNAME).  systemd hands it over blocking; the
		 * proxy accepts until EAGAIN.
		 */
		kept = fdnames != NULL && fdnames[0] != NULL &&
		    strcmp(fdnames[0], SOCKET_FDNAME) == 0;
		activated_fd = SD_LISTEN_FDS_START;
		int fl = fcntl(activated_fd, F_GETFL);
		if (fl < 0 || fcntl(activated_fd, F_SETFL, fl | O_NONBLOCK) < 0)
			fatal(EXIT_OSERR, "socket activation: cannot make fd %d "
			    "non-blocking: %s", activated_fd, strerror(errno));
	}
	if (fdnames != NULL) {
		for (char **n = fdnames; *n != NULL; n++)
			free(*n);
		free(fdnames);
	}
	agent_raise_fd_limit();
	/* The manifest names bind sources and containers: root's eyes only. */
	int narrowed = util_private_dir(a->cfg.state_dir);
	if (narrowed < 0)
		fatal(EXIT_OSERR, "cannot create state_dir %s: %s; fix the path "
		    "or its parent's permissions", a->cfg.state_dir, strerror(errno));
	if (narrowed > 0)
		log_notice("agent", "state_dir %s made private (0700, its files "
		    "0600): %d entries were readable by other users", a->cfg.state_dir,
		    narrowed);
	err[0] = '\0';
	char *mpath = agent_state_file(a, "manifest.json");
	if (mpath == NULL || manifest_load(&a->manifest, mpath, err, sizeof err) < 0)
		fatal(EXIT_OSERR, "manifest: %s", mpath != NULL ? err : "no memory");
	if (err[0] != '\0')
		log_warn("manifest", "%s", err);
	free(mpath);
	char *flag = agent_state_file(a, "disabled");
	a->disabled = flag != NULL && access(flag, F_OK) == 0;
	free(flag);

	int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct event *sigev[3];
	for (size_t i = 0; i < 3; i++) {
		sigev[i] = evsignal_new(a->base, sigs[i], agent_signal, a);
		if (sigev[i] == NULL || event_add(sigev[i], NULL) < 0)
			fatal(EXIT_OSERR, "cannot handle signal %d", sigs[i]);
	}
	a->desktop = desktop_new(&a->cfg);
	a->links = links_new(&a->cfg, &a->manifest);
	a->socket = socket_new(a->base, &a->cfg, &a->manifest, activated_fd,
	    kept);
	a->probe = probe_new(a->base, &a->cfg, a->changed);
	a->exposures = exposures_new(&a->cfg, &a->manifest, a->changed);
	a->volumes = volumes_new(a->base, &a->cfg, a->exposures);
	a->usage = usage_new(a->base, a->exposures, a->volumes, a->changed,
	    agent_wants_restore, a);
	a->binds = binds_new(&a->cfg, a->exposures, a->volumes, a->usage);
	if (a->desktop == NULL || a->links == NULL || a->socket == NULL ||
	    a->probe == NULL || a->exposures == NULL || a->volumes == NULL ||
	    a->usage == NULL || a->binds == NULL)
		fatal(EXIT_OSERR, "out of memory");
	a->control = control_new(a->base, a->cfg.control_socket,
	    request_on_control, a);
	a->watch = watch_new(a->base, a->cfg.desktop_dir,
	    desktop_view(a->desktop)->followed, agent_tree_changed, a);
	if (a->watch == NULL)
		log_err("watch", "cannot follow Docker Desktop's tree; changes are "
		    "noticed only on the heartbeat");
	a->health = agent_health_new(a);
	if ((a->work = work_new(a->base)) == NULL)
		log_err("agent", "cannot make the worker thread's pipe: %s; "
		    "stand-in data is not moved", strerror(errno));
	/* Its own thread: a create never waits behind a stand-in's copy. */
	if ((a->mounts = work_new(a->base)) == NULL)
		log_err("agent", "cannot make the mount worker's pipe: %s; new "
		    "exposures are mounted on the loop", strerror(errno));
	exposures_set_worker(a->exposures, a->mounts, binds_mounted, a->binds);
	a->restore = restore_new(a->base, &a->cfg, a->exposures, a->work,
	    a->changed);
	if (a->restore == NULL)
		log_err("restore", "out of memory: bind sources are not brought "
		    "back at start");
	a->ready_fd = ready_fd;
	agent_reconcile(a, "start");
	/* Exposures back first, so no docker start finds a stand-in. */
	if (!restore_holds_ready(a->restore))
		agent_ready(a);

	struct timeval hb = { a->cfg.host_interval, 0 };
	a->heartbeat_ev = event_new(a->base, -1, EV_PERSIST, agent_heartbeat, a);
	if (a->heartbeat_ev != NULL)
		event_add(a->heartbeat_ev, &hb);
	uint64_t wd_usec = 0;
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		struct timeval wd = { (time_t)(wd_usec / 2 / 1000000),
		    (suseconds_t)((wd_usec / 2) % 1000000) };
		a->watchdog_ev = event_new(a->base, -1, EV_PERSIST, agent_watchdog, a);
		if (a->watchdog_ev != NULL)
			event_add(a->watchdog_ev, &wd);
	}

	event_base_dispatch(a->base);

	/* Leave nothing dangling: the shim explains while we are away. */
	a->stopping = true;
	watch_free(a->watch);
	a->watch = NULL;
	work_free(a->work);		/* a move under way stops at its next step */
	a->work = NULL;
	work_free(a->mounts);		/* a mount under way ends first */
	a->mounts = NULL;
	exposures_set_worker(a->exposures, NULL, NULL, NULL);
	restore_free(a->restore);
	a->restore = NULL;
	binds_free(a->binds);		/* before the socket's proxy goes */
	a->binds = NULL;
	usage_free(a->usage);
	a->usage = NULL;
	volumes_free(a->volumes);
	a->volumes = NULL;
	exposures_free(a->exposures);	/* they stay, in the manifest */
	a->exposures = NULL;
	socket_stop(a->socket, true);
	links_release(a->links, a->cfg.links_on_stop == LINKS_ON_STOP_REMOVE);
	manifest_save(&a->manifest);
	health_free(a->health, true);
	a->health = NULL;
	control_free(a->control);
	probe_free(a->probe);
	a->probe = NULL;
	for (size_t i = 0; i < 3; i++)
		event_free(sigev[i]);
	if (a->heartbeat_ev != NULL)
		event_free(a->heartbeat_ev);
	if (a->watchdog_ev != NULL)
		event_free(a->watchdog_ev);
	links_free(a->links);
	a->links = NULL;
	socket_free(a->socket);
	a->socket = NULL;
	desktop_free(a->desktop);
	a->desktop = NULL;
	manifest_free(&a->manifest);
	notify_free(a->changed);	/* posts since the loop ended: dropped */
	a->changed = NULL;
	event_base_free(a->base);
	log_notice("agent", "stopped");
	return 0;
}
