/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `status' for a person: the status object (base/status.c's table says
 * what it holds) printed as lines, each problem with its fix.  Every
 * string from outside is escaped (base/text.c) before it is printed.
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/defs.h"
#include "base/text.h"
#include "main/status-print.h"

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
	struct json_object *holders = status_get(so, "holders");
	size_t nh = holders != NULL ? json_object_array_length(holders) : 0;
	for (size_t i = 0; i < nh; i++)
		fprintf(out, "%s%s%s", i == 0 ? "                  mounted by "
		    "containers: " : ", ", json_object_get_string(
		    json_object_array_get_idx(holders, i)), i + 1 == nh ? "\n" :
		    "");
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
