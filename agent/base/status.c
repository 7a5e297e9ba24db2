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
	{ "agent.tree_events_ignored", I, VOL, NULL, "shared-root events about others' entries, exposures' mounts" },
	{ "agent.supervisor", S, 0, "start|systemd|none",
	  "what brings the agent back if it dies: `start''s supervisor, systemd, or nothing" },
	{ "agent.restarts", I, NUL, NULL,
	  "deaths `start''s supervisor restarted it from (null: not known here)" },
	{ "agent.last_death", S, NUL, NULL,
	  "how the agent before this one ended, and when (UTC)" },
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
	{ "socket.holders", A, OPT, NULL,
	  "containers that mount it (root's status only)" },
	{ "socket.holders[]", S, 0, NULL, "a container's name" },
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
