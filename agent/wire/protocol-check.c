/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every message the agent sends, checked against
 * wsl-docker-agent-protocol(7): one table of members per message type, as
 * the man page lists them, and the rules that tie members together.  The
 * host peer (tests/peer) checks what an agent sends with it, and the unit
 * tests check what the agent builds, so the agent and its host follow the
 * very same rules.  Pure.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "base/json.h"
#include "base/status.h"
#include "base/text.h"
#include "wire/protocol.h"

/*
 * type: 's' string, 'i' integer, 'n' number, 'b' boolean, 'o' object
 * (members below), 'a' array (of objects with members below, or of
 * `elem'), '*' anything, 'I' a request id (string, integer or null), 'S'
 * the status object (checked against status_fields, status.c).
 * A trailing '?' allows null; a leading '-' allows the member to be absent.
 */
struct proto_field {
	const char			*name;
	const char			*type;
	const char			*values;	/* "a|b" for strings */
	const struct proto_field	*members;
	const char			*elem;		/* arrays of scalars */
};

static const struct proto_field proto_systemd_fields[] = {
	{ "booted", "b", NULL, NULL, NULL },
	{ "service", "b", NULL, NULL, NULL },
	{ "invocation_id", "s?", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};
static const struct proto_field proto_limits_fields[] = {
	{ "line_max", "i", NULL, NULL, NULL },
	{ "depth_max", "i", NULL, NULL, NULL },
	{ "bad_lines_max", "i", NULL, NULL, NULL },
	{ "bad_lines_window_s", "i", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};
static const struct proto_field proto_hello_fields[] = {
	{ "type", "s", NULL, NULL, NULL },
	{ "protocol", "i", NULL, NULL, NULL },
	{ "agent", "s", NULL, NULL, NULL },
	{ "agent_version", "s", NULL, NULL, NULL },
	{ "distro", "s", NULL, NULL, NULL },
	{ "instance_id", "s", NULL, NULL, NULL },
	{ "pid", "i", NULL, NULL, NULL },
	{ "kernel", "s", NULL, NULL, NULL },
	{ "wsl2", "b", NULL, NULL, NULL },
	{ "systemd", "o", NULL, proto_systemd_fields, NULL },
	{ "wsl_vm_id", "s?", NULL, NULL, NULL },
	{ "interval_s", "i", NULL, NULL, NULL },
	{ "wall_clock_ms", "i", NULL, NULL, NULL },
	{ "requests", "a", NULL, NULL, "s" },
	{ "limits", "o", NULL, proto_limits_fields, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};
static const struct proto_field proto_report_fields[] = {
	{ "type", "s", NULL, NULL, NULL },
	{ "seq", "i", NULL, NULL, NULL },
	{ "changed", "-a", NULL, NULL, "s" },
	{ "status", "S", NULL, NULL, NULL },
	{ "truncated", "-b", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};
static const struct proto_field proto_reply_fields[] = {
	{ "type", "s", NULL, NULL, NULL },
	{ "id", "I", NULL, NULL, NULL },
	{ "ok", "b", NULL, NULL, NULL },
	{ "result", "-*", NULL, NULL, NULL },
	{ "error", "-s", "bad-json|too-large|unknown-request|bad-arguments|"
	  "forbidden|unsupported-version|failed", NULL, NULL },
	{ "message", "-s", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};
static const struct proto_field proto_repair_fields[] = {
	{ "type", "s", NULL, NULL, NULL },
	{ "container", "s?", NULL, NULL, NULL },
	{ "id", "s?", NULL, NULL, NULL },
	{ "source", "s", NULL, NULL, NULL },
	{ "stand_in", "s?", NULL, NULL, NULL },
	{ "restarted", "b", NULL, NULL, NULL },
	{ "at", "s", NULL, NULL, NULL },
	{ "moved", "-i?", NULL, NULL, NULL },
	{ "left", "-i?", NULL, NULL, NULL },
	{ "left_at", "-s?", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};
static const struct proto_field proto_bye_fields[] = {
	{ "type", "s", NULL, NULL, NULL },
	{ "reason", "s", "stopping|reconfigured|bad-input", NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

static bool
proto_has_type(struct json_object *v, char t)
{
	switch (t) {
	case 's':	return json_object_is_type(v, json_type_string);
	case 'i':	return json_object_is_type(v, json_type_int);
	case 'n':	return json_object_is_type(v, json_type_int) ||
			    json_object_is_type(v, json_type_double);
	case 'b':	return json_object_is_type(v, json_type_boolean);
	case 'o':
	case 'S':	return json_object_is_type(v, json_type_object);
	case 'a':	return json_object_is_type(v, json_type_array);
	case 'I':	return v == NULL || json_object_is_type(v, json_type_int) ||
			    json_object_is_type(v, json_type_string);
	default:	return true;
	}
}

static int proto_check_fields(struct json_object *, const struct proto_field *,
    const char *path, char *why, size_t len);

static int
proto_check_value(struct json_object *v, const struct proto_field *f,
    const char *path, char *why, size_t len)
{
	const char *t = f->type + (f->type[0] == '-');
	bool nullable = t[1] == '?';

	if (v == NULL && (nullable || t[0] == 'I' || t[0] == '*'))
		return 0;
	if (!proto_has_type(v, t[0])) {
		snprintf(why, len, "%s is %s, not of type '%c' as the protocol "
		    "says", path, v == NULL ? "null" : proto_json_kind(v),
		    t[0]);
		return -1;
	}
	if (t[0] == 's' && f->values != NULL &&
	    !text_in_list(f->values, json_object_get_string(v))) {
		snprintf(why, len, "%s is \"%.60s\", not one of %s", path,
		    json_object_get_string(v), f->values);
		return -1;
	}
	if (t[0] == 'S')
		return status_check(v, path, false, why, len);
	if (t[0] == 'o' && f->members != NULL)
		return proto_check_fields(v, f->members, path, why, len);
	if (t[0] != 'a')
		return 0;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		char sub[256];
		struct proto_field elem = { f->name, f->elem != NULL ? f->elem :
		    "o", NULL, f->members, NULL };
		snprintf(sub, sizeof sub, "%s[%zu]", path, i);
		if (proto_check_value(json_object_array_get_idx(v, i), &elem, sub,
		    why, len) < 0)
			return -1;
	}
	return 0;
}

static int
proto_check_fields(struct json_object *o, const struct proto_field *fields,
    const char *path, char *why, size_t len)
{
	for (const struct proto_field *f = fields; f->name != NULL; f++) {
		struct json_object *v;
		char sub[256];
		snprintf(sub, sizeof sub, "%s.%s", path, f->name);
		if (!json_object_object_get_ex(o, f->name, &v)) {
			if (f->type[0] == '-')
				continue;
			snprintf(why, len, "%s is missing", sub);
			return -1;
		}
		if (proto_check_value(v, f, sub, why, len) < 0)
			return -1;
	}
	return 0;
}

/* What the fields cannot say: values that depend on each other. */
static const char *
proto_member_string(struct json_object *msg, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(msg, key, &v) && v != NULL ?
	    json_object_get_string(v) : NULL;
}

static void
proto_check_hello(struct json_object *msg, char *why, size_t len)
{
	struct json_object *v;
	const char *id = proto_member_string(msg, "instance_id");
	const char *vm = proto_member_string(msg, "wsl_vm_id");
	char guid[37];

	json_object_object_get_ex(msg, "protocol", &v);
	if (json_object_get_int64(v) != PROTO_VERSION)
		snprintf(why, len, "hello.protocol is %" PRId64 "; this is "
		    "protocol %d", json_object_get_int64(v), PROTO_VERSION);
	else if (strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32)
		snprintf(why, len, "hello.instance_id is not 32 lowercase "
		    "hexadecimal digits");
	else if (vm != NULL && (!proto_guid_normalize(vm, guid) ||
	    strcmp(guid, vm) != 0))
		snprintf(why, len, "hello.wsl_vm_id is not a lowercase GUID "
		    "without braces");
}

static void
proto_check_report(struct json_object *msg, const char *type, char *why,
    size_t len)
{
	struct json_object *seq, *changed;
	bool event = strcmp(type, "event") == 0;
	bool has_changed = json_object_object_get_ex(msg, "changed", &changed);

	json_object_object_get_ex(msg, "seq", &seq);
	if (json_object_get_int64(seq) < 1)
		snprintf(why, len, "%s.seq is below 1", type);
	else if (has_changed != event)
		snprintf(why, len, "%s: \"changed\" belongs in events and only "
		    "there", type);
	else if (event && json_object_array_length(changed) == 0)
		snprintf(why, len, "event.changed is empty");
}

static void
proto_check_reply(struct json_object *msg, char *why, size_t len)
{
	struct json_object *ok;
	bool has_result = json_object_object_get_ex(msg, "result", NULL);
	bool has_error = json_object_object_get_ex(msg, "error", NULL);
	bool has_message = json_object_object_get_ex(msg, "message", NULL);

	json_object_object_get_ex(msg, "ok", &ok);
	if (json_object_get_boolean(ok) && (!has_result || has_error))
		snprintf(why, len, "reply: ok is true, so it needs \"result\" "
		    "and no \"error\"");
	else if (!json_object_get_boolean(ok) &&
	    (has_result || !has_error || !has_message))
		snprintf(why, len, "reply: ok is false, so it needs \"error\" "
		    "and \"message\" and no \"result\"");
}

int
proto_check_agent_message(struct json_object *msg, char *why, size_t len)
{
	static const struct {
		const char			*type;
		const struct proto_field	*fields;
	} kinds[] = {
		{ "hello", proto_hello_fields },
		{ "report", proto_report_fields },
		{ "event", proto_report_fields },
		{ "reply", proto_reply_fields },
		{ "bye", proto_bye_fields },
		{ "repair", proto_repair_fields },
	};
	why[0] = '\0';
	const char *type = json_object_is_type(msg, json_type_object) ?
	    json_string(msg, "type") : NULL;
	if (type == NULL) {
		snprintf(why, len, "a message is an object with a string "
		    "\"type\"");
		return -1;
	}
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (strcmp(type, kinds[i].type) != 0)
			continue;
		if (proto_check_fields(msg, kinds[i].fields, type, why, len) < 0)
			return -1;
		if (strcmp(type, "hello") == 0)
			proto_check_hello(msg, why, len);
		else if (strcmp(type, "reply") == 0)
			proto_check_reply(msg, why, len);
		else if (strcmp(type, "report") == 0 ||
		    strcmp(type, "event") == 0)
			proto_check_report(msg, type, why, len);
		return why[0] != '\0' ? -1 : 0;
	}
	snprintf(why, len, "unknown message type \"%.60s\" (ignored)", type);
	return 1;
}
