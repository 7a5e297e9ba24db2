/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The status object: its one table of fields, which checks a status
 * (the protocol's checker, the tests), says what changes by itself (the
 * host channel's events) and lists the fields for the man page's check
 * (--dump-status-fields); and `wsl-docker-agent status', the status
 * rendered for a person.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "base/defs.h"
#include "base/log.h"
#include "base/status.h"
#include "base/text.h"

/* ------------------------------------------------------------------ */
/* The table */

#define S	STATUS_STRING
#define I	STATUS_INT
#define N	STATUS_NUMBER
#define B	STATUS_BOOL
#define O	STATUS_OBJECT
#define A	STATUS_ARRAY
#define NUL	STATUS_NULLABLE
#define OPT	STATUS_OPTIONAL
#define VOL	STATUS_VOLATILE

/*
 * In the order the agent writes them.  "x[]" is each element of the
 * array x; a volatile field changes by itself and so is left out of
 * comparisons (with all below it).  wsl-docker-agent-protocol(7), THE
 * STATUS OBJECT, says the same; tests/e2e/docs.sh compares the two.
 */
const struct status_field status_fields[] = {
	{ "agent", O, 0, NULL, "the agent itself" },
	{ "agent.version", S, 0, NULL, "its version" },
	{ "agent.pid", I, 0, NULL, "its process id" },
	{ "agent.instance_id", S, 0, NULL, "32 hex digits drawn at start" },
	{ "agent.uptime_s", I, VOL, NULL, "seconds since it started" },
	{ "agent.rss_kib", I, VOL, NULL, "resident memory in KiB, -1 unknown" },
	{ "agent.distro", S, 0, NULL, "the distro's name" },
	{ "agent.config_file", S, NUL, NULL, "the configuration file read" },
	{ "agent.disabled", B, 0, NULL, "integration turned off" },
	{ "agent.wall_clock_ms", I, VOL, NULL, "wall clock when made" },
	{ "agent.watches", I, VOL, NULL, "inotify watches held" },
	{ "agent.tree_reconciles", I, VOL, NULL, "reconciles the tree's events caused" },
	{ "agent.tree_events_ignored", I, VOL, NULL, "shared-root events about others' entries" },
	{ "desktop", O, 0, NULL, "Docker Desktop's tree as last seen" },
	{ "desktop.dir", S, 0, NULL, "where it is looked for" },
	{ "desktop.present", B, 0, NULL, "that directory exists" },
	{ "desktop.cli_tools", B, 0, NULL, "its CLI tools are mounted" },
	{ "desktop.untrusted", S, NUL, NULL, "why its CLI tools are not trusted" },
	{ "desktop.engine_socket", B, 0, NULL, "its engine socket exists" },
	{ "desktop.engine_socket_path", S, NUL, NULL, "that socket's path" },
	{ "links", A, 0, NULL, "the links the agent manages" },
	{ "links[]", O, 0, NULL, "one link" },
	{ "links[].path", S, 0, NULL, "the link" },
	{ "links[].target", S, NUL, NULL, "what it points to, or should" },
	{ "links[].state", S, 0, "ok|shim|conflict|refused", "its state" },
	{ "links[].detail", S, NUL, NULL, "why, for conflicts and refusals" },
	{ "socket", O, 0, NULL, "the engine socket exposed in the distro" },
	{ "socket.path", S, 0, NULL, "where" },
	{ "socket.mode", S, 0, "proxy|mount", "socket.mode" },
	{ "socket.state", S, 0,
	  "absent|ok|waiting|conflict|error|disabled|untrusted", "its state" },
	{ "socket.detail", S, 0, NULL, "why, or empty" },
	{ "socket.group", S, 0, NULL, "the group that should own it" },
	{ "socket.untrusted", S, NUL, NULL,
	  "the engine socket's path, owner and fix when untrusted" },
	{ "socket.owner_uid", I, OPT, NULL, "owner, while it exists" },
	{ "socket.group_gid", I, OPT, NULL, "group, while it exists" },
	{ "socket.permissions", S, OPT, NULL, "four octal digits" },
	{ "engine", O, 0, NULL, "the engine, as last probed" },
	{ "engine.reachable", B, 0, NULL, "/_ping and /version answered" },
	{ "engine.ping_ms", N, NUL | VOL, NULL, "latency of /_ping" },
	{ "engine.version", S, NUL, NULL, "the engine's version" },
	{ "engine.api_version", S, NUL, NULL, "its API version" },
	{ "engine.error", S, NUL, NULL, "why it is not reachable" },
	{ "proxy", O, 0, NULL, "connections relayed (mode proxy)" },
	{ "proxy.active", I, VOL, NULL, "open now" },
	{ "proxy.total", I, VOL, NULL, "accepted since start" },
	{ "proxy.refused", I, VOL, NULL, "closed at once" },
	{ "proxy.errors", I, VOL, NULL, "ended by an error" },
	{ "binds", O, OPT | STATUS_EMPTY, NULL, "bind sources re-exposed" },
	{ "binds.active", B, 0, NULL, "creates are rewritten" },
	{ "binds.dir", S, 0, NULL, "where exposures are, here" },
	{ "binds.engine_dir", S, 0, NULL, "the same, as the engine sees it" },
	{ "binds.untrusted", S, NUL, NULL,
	  "the area's path, owner and fix when untrusted" },
	{ "binds.shared_paths", S, 0, NULL, "bind.shared_paths" },
	{ "binds.paths", A, 0, NULL, "the engine's view of paths" },
	{ "binds.paths[]", O, 0, NULL, "one prefix" },
	{ "binds.paths[].local", S, 0, NULL, "a path here" },
	{ "binds.paths[].engine", S, NUL, NULL, "the engine's; null: not seen" },
	{ "binds.paths[].kind", S, 0, "shared-tree|drive|configured|local",
	  "where the entry comes from" },
	{ "binds.following_engine", B, 0, NULL, "reading the engine's events" },
	{ "binds.collections", I, VOL, NULL, "clean-ups run" },
	{ "binds.error", S, NUL, NULL, "the last failure" },
	{ "binds.hidden", I, OPT, NULL,
	  "other users' sources left out (asked by a non-root user)" },
	{ "binds.exposures", A, 0, NULL, "the sources exposed" },
	{ "binds.exposures[]", O, 0, NULL, "one source" },
	{ "binds.exposures[].source", S, 0, NULL, "the path in the create" },
	{ "binds.exposures[].path", S, 0, NULL, "the path the engine gets" },
	{ "binds.exposures[].local", S, 0, NULL, "that path here" },
	{ "binds.exposures[].read_only", B, 0, NULL, "exposed read-only" },
	{ "binds.exposures[].mounted", B, 0, NULL, "its bind mount is up" },
	{ "binds.exposures[].containers", A, 0, NULL, "containers (and volumes) using it" },
	{ "binds.exposures[].containers[]", S, 0, NULL, "a container's name, or \"volume NAME\"" },
	{ "binds.exposures[].pending_creates", I, 0, NULL, "creates not seen yet" },
	{ "restore", O, OPT | STATUS_EMPTY, NULL,
	  "bind sources brought back at start and when the engine returns" },
	{ "restore.state", S, 0, "waiting|pending|running|done",
	  "waiting: no engine; running: a pass is under way" },
	{ "restore.repair", S, 0, "restart|report", "bind.repair" },
	{ "restore.runs", I, VOL, NULL, "passes done" },
	{ "restore.took_ms", I, NUL | VOL, NULL, "how long the last pass took" },
	{ "restore.error", S, NUL, NULL, "why the engine could not be asked" },
	{ "restore.failures", I, 0, NULL, "sources not back (in problems)" },
	{ "restore.moving", I, OPT, NULL, "stand-ins whose data is being moved" },
	{ "restore.repairs", A, 0, NULL, "containers found on a stand-in" },
	{ "restore.repairs[]", O, 0, NULL, "one container, one source" },
	{ "restore.repairs[].container", S, NUL, NULL,
	  "its name; null: a stand-in no running container used" },
	{ "restore.repairs[].id", S, NUL, NULL, "its id" },
	{ "restore.repairs[].source", S, 0, NULL, "the bind source, here" },
	{ "restore.repairs[].stand_in", S, NUL, NULL,
	  "where the stand-in's contents are; null: it was empty" },
	{ "restore.repairs[].restarted", B, 0, NULL, "restarted on its source" },
	{ "restore.repairs[].at", S, 0, NULL, "when (UTC, RFC 3339)" },
	{ "restore.repairs[].moved", I, NUL | OPT, NULL,
	  "bytes moved to stand_in; null: not yet" },
	{ "restore.repairs[].left", I, NUL | OPT, NULL,
	  "bytes that stayed on the stand-in" },
	{ "restore.repairs[].left_at", S, NUL | OPT, NULL,
	  "where what stayed is shown" },
	{ "conflicts", A, 0, NULL, "what gets in the integration's way" },
	{ "conflicts[]", O, 0, NULL, "one conflict" },
	{ "conflicts[].what", S, 0, NULL, "what is in the way" },
	{ "conflicts[].fix", S, 0, NULL, "what to do" },
	{ "host", O, OPT | VOL, NULL, "the host channel" },
	{ "host.address", S, 0, NULL, "where it reports" },
	{ "host.state", S, 0, "connected|connecting|backoff|off", "its state" },
	{ "host.since", I, 0, NULL, "wall clock ms it entered that state" },
	{ "host.last_error", S, NUL, NULL, "why the last attempt failed" },
	{ "host.reports_sent", I, 0, NULL, "reports written" },
	{ "host.events_sent", I, 0, NULL, "events written" },
	{ "host.coalesced", I, 0, NULL, "reports or events merged" },
	{ "host.connects", I, 0, NULL, "connections made" },
	{ "host.service_id", S, NUL, NULL, "vsock: the Hyper-V service GUID" },
	{ "healthy", B, 0, NULL, "problems is empty" },
	{ "problems", A, 0, NULL, "what needs attention" },
	{ "problems[]", O, 0, NULL, "one problem" },
	{ "problems[].what", S, 0, NULL, "what is wrong" },
	{ "problems[].fix", S, 0, NULL, "what to do" },
	{ "problems[].source", S, OPT, NULL,
	  "the bind source it is about (\"\": not known)" },
	{ NULL, 0, 0, NULL, NULL }
};

#undef S
#undef I
#undef N
#undef B
#undef O
#undef A
#undef NUL
#undef OPT
#undef VOL

static const char *const status_type_names[] = {
	[STATUS_STRING] = "string", [STATUS_INT] = "integer",
	[STATUS_NUMBER] = "number", [STATUS_BOOL] = "boolean",
	[STATUS_OBJECT] = "object", [STATUS_ARRAY] = "array",
};

const struct status_field *
status_field_find(const char *path)
{
	for (const struct status_field *f = status_fields; f->path != NULL; f++)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

/* The field's name within its parent ("" for elements). */
static const char *
status_field_name(const struct status_field *f, const char *parent)
{
	size_t n = strlen(parent), len = strlen(f->path);

	if (len >= 2 && strcmp(f->path + len - 2, "[]") == 0)
		return "";
	if (n == 0)
		return strchr(f->path, '.') == NULL ? f->path : "";
	if (strncmp(f->path, parent, n) != 0 || f->path[n] != '.' ||
	    strchr(f->path + n + 1, '.') != NULL)
		return "";
	return f->path + n + 1;
}

static const struct status_field *
status_member(const char *parent, const char *name)
{
	for (const struct status_field *f = status_fields; f->path != NULL; f++)
		if (strcmp(status_field_name(f, parent), name) == 0)
			return f;
	return NULL;
}

static bool
status_has_type(struct json_object *v, enum status_type t)
{
	switch (t) {
	case STATUS_STRING:	return json_object_is_type(v, json_type_string);
	case STATUS_INT:	return json_object_is_type(v, json_type_int);
	case STATUS_NUMBER:	return json_object_is_type(v, json_type_int) ||
				    json_object_is_type(v, json_type_double);
	case STATUS_BOOL:	return json_object_is_type(v, json_type_boolean);
	case STATUS_OBJECT:	return json_object_is_type(v, json_type_object);
	case STATUS_ARRAY:	return json_object_is_type(v, json_type_array);
	}
	return false;
}

struct status_checker {
	bool	 exact;
	char	*why;
	size_t	 len;
};

static int status_check_object(struct status_checker *, struct json_object *,
    const char *parent, const char *where);

static int
status_check_value(struct status_checker *c, struct json_object *v,
    const struct status_field *f, const char *where)
{
	if (v == NULL && (f->flags & STATUS_NULLABLE))
		return 0;
	if (v == NULL || !status_has_type(v, f->type)) {
		snprintf(c->why, c->len, "%s is %s, not %s%s as the protocol "
		    "says", where, v == NULL ? "null" :
		    json_type_to_name(json_object_get_type(v)),
		    status_type_names[f->type],
		    (f->flags & STATUS_NULLABLE) ? " or null" : "");
		return -1;
	}
	if (f->type == STATUS_STRING && f->values != NULL &&
	    !text_in_list(f->values, json_object_get_string(v))) {
		snprintf(c->why, c->len, "%s is \"%.60s\", not one of %s", where,
		    json_object_get_string(v), f->values);
		return -1;
	}
	if (f->type == STATUS_OBJECT) {
		if ((f->flags & STATUS_EMPTY) && json_object_object_length(v) == 0)
			return 0;
		return status_check_object(c, v, f->path, where);
	}
	if (f->type != STATUS_ARRAY)
		return 0;
	char elem_path[128];
	snprintf(elem_path, sizeof elem_path, "%s[]", f->path);
	const struct status_field *elem = status_field_find(elem_path);
	for (size_t i = 0; elem != NULL && i < json_object_array_length(v);
	    i++) {
		char sub[256];
		snprintf(sub, sizeof sub, "%s[%zu]", where, i);
		if (status_check_value(c, json_object_array_get_idx(v, i), elem,
		    sub) < 0)
			return -1;
	}
	return 0;
}

static int
status_check_object(struct status_checker *c, struct json_object *o,
    const char *parent, const char *where)
{
	char sub[256];

	for (const struct status_field *f = status_fields; f->path != NULL; f++) {
		const char *name = status_field_name(f, parent);
		struct json_object *v;
		if (name[0] == '\0')
			continue;
		snprintf(sub, sizeof sub, "%s.%s", where, name);
		if (!json_object_object_get_ex(o, name, &v)) {
			if (f->flags & STATUS_OPTIONAL)
				continue;
			snprintf(c->why, c->len, "%s is missing", sub);
			return -1;
		}
		if (status_check_value(c, v, f, sub) < 0)
			return -1;
	}
	if (!c->exact)
		return 0;	/* receivers ignore members they do not know */
	json_object_object_foreach(o, name, v) {
		(void)v;
		if (status_member(parent, name) == NULL) {
			snprintf(c->why, c->len, "%s.%s is not in the status "
			    "table (status.c)", where, name);
			return -1;
		}
	}
	return 0;
}

int
status_check(struct json_object *status, const char *where, bool exact,
    char *why, size_t len)
{
	struct status_checker c = { exact, why, len };

	if (!json_object_is_type(status, json_type_object)) {
		snprintf(why, len, "%s is not an object", where);
		return -1;
	}
	return status_check_object(&c, status, "", where);
}

int
status_put(struct json_object *o, const char *path, struct json_object *v)
{
	const struct status_field *f = status_field_find(path);
	const char *name = strrchr(path, '.');
	int r = 0;

	if (f == NULL || (v == NULL ? !(f->flags & STATUS_NULLABLE) :
	    !status_has_type(v, f->type))) {
		log_state(LOG_LVL_ERR, "status", "status.put", "status field %s "
		    "is not in the table with this type (a bug; see status.c)",
		    path);
		r = -1;
	}
	json_object_object_add(o, name != NULL ? name + 1 : path, v);
	return r;
}

void
status_dump_fields(FILE *out)
{
	static const struct { unsigned flag; const char *name; } flags[] = {
		{ STATUS_NULLABLE, "null" }, { STATUS_OPTIONAL, "optional" },
		{ STATUS_EMPTY, "empty" }, { STATUS_VOLATILE, "volatile" },
	};

	for (const struct status_field *f = status_fields; f->path != NULL; f++) {
		fprintf(out, "%s\t%s\t", f->path, status_type_names[f->type]);
		const char *sep = "";
		for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
			if (f->flags & flags[i].flag) {
				fprintf(out, "%s%s", sep, flags[i].name);
				sep = ",";
			}
		fprintf(out, "%s\t%s\t%s\n", sep[0] == '\0' ? "-" : "",
		    f->values != NULL ? f->values : "-", f->help);
	}
}

/* ------------------------------------------------------------------ */
/* For a person */

static struct json_object *
status_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/*
 * Strings carry names from outside (paths in the shared tree, container
 * names, the engine's errors): printed for a person, each is escaped
 * (text_escape) into one of a few rotating buffers, enough for one line.
 */
#define STATUS_ESC_BUFS	8
#define STATUS_ESC_MAX	2048	/* bytes of one string shown */

static const char *
status_escaped(const char *s)
{
	static char bufs[STATUS_ESC_BUFS][TEXT_ESCAPE_SIZE(STATUS_ESC_MAX)];
	static unsigned next;
	char *b = bufs[next++ % STATUS_ESC_BUFS];
	text_escape(s != NULL ? s : "", b, sizeof bufs[0]);
	return b;
}

static const char *
status_str(struct json_object *o, const char *key, const char *def)
{
	struct json_object *v = status_get(o, key);
	return v != NULL && json_object_is_type(v, json_type_string) ?
	    status_escaped(json_object_get_string(v)) : def;
}

static bool
status_bool(struct json_object *o, const char *key)
{
	struct json_object *v = status_get(o, key);
	return v != NULL && json_object_get_boolean(v);
}

static long long
status_int(struct json_object *o, const char *key)
{
	struct json_object *v = status_get(o, key);
	return v != NULL ? (long long)json_object_get_int64(v) : 0;
}

static void
status_print_duration(FILE *out, long long s)
{
	if (s >= 86400)
		fprintf(out, "%lldd%lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		fprintf(out, "%lldh%lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		fprintf(out, "%lldm%llds", s / 60, s % 60);
	else
		fprintf(out, "%llds", s);
}

static void
status_print_permissions(FILE *out, const char *octal)
{
	unsigned mode = 0;
	if (octal == NULL || sscanf(octal, "%o", &mode) != 1)
		return;
	char s[10];
	const char *rwx = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		s[i] = (mode & (0400u >> i)) ? rwx[i] : '-';
	s[9] = '\0';
	fprintf(out, " %s", s);
}

/* A titled list of {what, fix} objects, as conflicts and problems are. */
static void
status_print_what_fix(FILE *out, const char *title, struct json_object *arr)
{
	size_t n = arr != NULL ? json_object_array_length(arr) : 0;
	if (n > 0)
		fprintf(out, "%s:\n", title);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		fprintf(out, "  - %s\n    fix: %s\n", status_str(e, "what", "?"),
		    status_str(e, "fix", "?"));
	}
}

void
status_print_human(struct json_object *st, FILE *out)
{
	struct json_object *ag = status_get(st, "agent");
	bool healthy = status_bool(st, "healthy");
	fprintf(out, "%s %s (pid %lld, up ", AGENT_NAME,
	    status_str(ag, "version", "?"), status_int(ag, "pid"));
	status_print_duration(out, status_int(ag, "uptime_s"));
	fprintf(out, ", %lld KiB) in distro %s: %s\n", status_int(ag, "rss_kib"),
	    status_str(ag, "distro", "?"),
	    status_bool(ag, "disabled") ? "integration OFF" :
	    healthy ? "healthy" : "needs attention");

	struct json_object *dd = status_get(st, "desktop");
	fprintf(out, "  Docker Desktop  %s: %s; CLI tools %s; engine socket %s\n",
	    status_str(dd, "dir", "?"),
	    status_bool(dd, "present") ? "present" : "absent",
	    status_bool(dd, "cli_tools") ? "present" : "absent",
	    status_bool(dd, "engine_socket") ? "present" : "absent");

	struct json_object *en = status_get(st, "engine");
	if (status_bool(en, "reachable"))
		fprintf(out, "  Engine          reachable, version %s (API %s), "
		    "/_ping %.2f ms\n", status_str(en, "version", "?"),
		    status_str(en, "api_version", "?"),
		    json_object_get_double(status_get(en, "ping_ms")));
	else
		fprintf(out, "  Engine          not reachable%s%s\n",
		    status_get(en, "error") ? ": " : "",
		    status_str(en, "error", ""));

	struct json_object *so = status_get(st, "socket");
	fprintf(out, "  Socket          %s: %s (%s)", status_str(so, "path", "?"),
	    status_str(so, "state", "?"), status_str(so, "mode", "?"));
	if (status_get(so, "permissions") != NULL) {
		fprintf(out, ", uid %lld gid %lld", status_int(so, "owner_uid"),
		    status_int(so, "group_gid"));
		status_print_permissions(out, status_str(so, "permissions", NULL));
	}
	fputc('\n', out);
	if (status_str(so, "detail", "")[0] != '\0')
		fprintf(out, "                  %s\n", status_str(so, "detail", ""));
	struct json_object *px = status_get(st, "proxy");
	if (strcmp(status_str(so, "mode", ""), "proxy") == 0)
		fprintf(out, "                  connections: %lld active, %lld total, "
		    "%lld refused, %lld errors\n", status_int(px, "active"),
		    status_int(px, "total"), status_int(px, "refused"),
		    status_int(px, "errors"));

	struct json_object *links = status_get(st, "links");
	size_t n = links != NULL ? json_object_array_length(links) : 0;
	fprintf(out, "  Links           %s\n", n == 0 ? "none" : "");
	for (size_t i = 0; i < n; i++) {
		struct json_object *l = json_object_array_get_idx(links, i);
		fprintf(out, "    %-9s %s -> %s\n", status_str(l, "state", "?"),
		    status_str(l, "path", "?"), status_str(l, "target", "(none)"));
	}

	struct json_object *binds = status_get(st, "binds");
	struct json_object *ex = status_get(binds, "exposures");
	n = ex != NULL ? json_object_array_length(ex) : 0;
	if (status_bool(binds, "active") && status_get(binds, "untrusted"))
		fprintf(out, "  Bind mounts     untrusted: %s\n",
		    status_str(binds, "untrusted", "?"));
	else if (status_bool(binds, "active"))
		fprintf(out, "  Bind mounts     %zu source%s re-exposed below %s\n", n,
		    n == 1 ? "" : "s", status_str(binds, "engine_dir", "?"));
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(ex, i);
		struct json_object *users = status_get(e, "containers");
		fprintf(out, "    %s -> %s%s (containers:", status_str(e, "source", "?"),
		    status_str(e, "path", "?"), status_bool(e, "read_only") ?
		    ", read-only" : "");
		size_t nu = users != NULL ? json_object_array_length(users) : 0;
		for (size_t j = 0; j < nu; j++)
			fprintf(out, " %s", status_escaped(json_object_get_string(
			    json_object_array_get_idx(users, j))));
		fprintf(out, "%s)\n", nu == 0 ? " none yet" : "");
	}

	struct json_object *rs = status_get(st, "restore");
	struct json_object *rep = status_get(rs, "repairs");
	n = rep != NULL ? json_object_array_length(rep) : 0;
	if (rs != NULL)
		fprintf(out, "  Restore         %s, %zu repair%s (bind.repair %s)\n",
		    status_str(rs, "state", "?"), n, n == 1 ? "" : "s",
		    status_str(rs, "repair", "?"));
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(rep, i);
		struct json_object *left = status_get(e, "left");
		fprintf(out, "    %s: %s %s; stand-in data: %s%s%s\n",
		    status_str(e, "container", "(stopped container)"),
		    status_bool(e, "restarted") ? "restarted on" : "left on a "
		    "stand-in of", status_str(e, "source", "?"),
		    status_str(e, "stand_in", "none (it was empty)"),
		    left != NULL && json_object_get_int64(left) > 0 ?
		    "; not all moved, the rest shown at " : "",
		    left != NULL && json_object_get_int64(left) > 0 ?
		    status_str(e, "left_at", "the stand-in") : "");
	}

	struct json_object *host = status_get(st, "host");
	if (host != NULL) {
		fprintf(out, "  Host            %s: %s", status_str(host, "address", "?"),
		    status_str(host, "state", "?"));
		if (status_get(host, "last_error") != NULL)
			fprintf(out, " (last error: %s)",
			    status_str(host, "last_error", ""));
		fputc('\n', out);
	}

	status_print_what_fix(out, "Conflicts", status_get(st, "conflicts"));
	status_print_what_fix(out, "Problems", status_get(st, "problems"));
}
