/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request.c: what each request does and returns, for both channels, on
 * an agent initialised as far as requests need (its own directories, no
 * Docker Desktop, no host); and the control socket's framing of the same
 * answers, asked by a child as `wsl-docker-agent' would.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/config.h"
#include "base/json.h"
#include "base/status.h"
#include "wire/protocol.h"
#include "io/control.h"
#include "io/notify.h"
#include "features/exposures.h"
#include "main/request.h"
#include "main/agent.h"
#include "testlib.h"

#define assert_has(s, sub) \
	cr_assert(strstr((s), (sub)) != NULL, "expected \"%s\" in: %s", (sub), (s))

static struct test_agent t;

static const struct request_origin test_origin = { "by the test",
	"ask as someone trusted" };

static void
set(const char *key, const char *value)
{
	test_agent_set(&t, key, value);
}

static char *
in_dir(const char *name)
{
	return test_agent_path(&t, name);
}

static void
agent_setup(void)
{
	test_agent_setup(&t, "request");
}

static void
agent_teardown(void)
{
	test_agent_teardown(&t);
}

TestSuite(request, .init = agent_setup, .fini = agent_teardown, .timeout = 30);

/* Ask; the result, or NULL with *e and why set. */
static struct json_object *
ask(enum proto_request r, bool trusted, enum proto_error *e, char *why,
    size_t len)
{
	struct proto_request_msg rq = { .request = r };
	why[0] = '\0';
	return agent_request(&t.a, &rq, trusted, &test_origin, e, why, len);
}

static struct json_object *
ask_ok(enum proto_request r)
{
	enum proto_error e;
	char why[CONFIG_ERR_LEN];
	struct json_object *res = ask(r, true, &e, why, sizeof why);
	cr_assert(eq(int, e, PROTO_OK), "%s: %s: %s", proto_request_name(r),
	    proto_error_name(e), why);
	cr_assert(not(eq(ptr, res, NULL)));
	return res;
}

/*
 * A request's changes are told later, not from inside it (issue 20): the
 * "changed" notice is posted, and its handler (STATUS=, the host's
 * events) runs on a later turn of the loop, so a host's reply always goes
 * before the events its request causes.
 */
static bool
changes_handled(void *arg)
{
	return notify_runs(t.a.changed) > *(uint64_t *)arg;
}

Test(request, changes_are_told_after_the_request_not_inside_it)
{
	uint64_t posts = notify_posts(t.a.changed);
	uint64_t runs = notify_runs(t.a.changed);
	json_object_put(ask_ok(PROTO_REQ_DISABLE));
	cr_assert(t.a.disabled);
	cr_assert(gt(u64, notify_posts(t.a.changed), posts),
	    "disable told no change");
	cr_assert(eq(u64, notify_runs(t.a.changed), runs),
	    "the change was handled inside the request");
	cr_assert(run_until(t.a.base, changes_handled, &runs, 5000),
	    "the change was never handled");
	cr_assert(eq(str, t.a.last_summary, "integration off for this distro"),
	    "the summary after the change: %s", t.a.last_summary);
}

/* As the host channel would send it, the result conforms. */
static void
assert_reply_conforms(struct json_object *result)
{
	struct json_object *id = json_object_new_int(7);
	struct json_object *r = proto_reply(id, PROTO_OK, NULL,
	    json_object_get(result));
	char w[512];
	cr_assert(eq(int, proto_check_agent_message(r, w, sizeof w), 0), "%s", w);
	json_object_put(r);
	json_object_put(id);
}

static bool
member_bool(struct json_object *o, const char *key)
{
	struct json_object *v;
	cr_assert(json_object_object_get_ex(o, key, &v), "no %s in %s", key,
	    json_object_to_json_string(o));
	return json_object_get_boolean(v);
}

Test(request, ping)
{
	struct proto_request_msg rq = { .request = PROTO_REQ_PING, .echo = "e" };
	enum proto_error e;
	char why[256];
	struct json_object *res = agent_request(&t.a, &rq, false, &test_origin,
	    &e, why, sizeof why);

	cr_assert(eq(int, e, PROTO_OK), "ping needs no trust");
	cr_assert(member_bool(res, "pong"));
	cr_assert(eq(str, (char *)json_object_get_string(
	    json_object_object_get(res, "echo")), "e"));
	cr_assert(json_object_is_type(json_object_object_get(res,
	    "wall_clock_ms"), json_type_int));
	assert_reply_conforms(res);
	json_object_put(res);

	res = ask_ok(PROTO_REQ_PING);
	cr_assert(json_object_object_get_ex(res, "echo", NULL));
	cr_assert(eq(ptr, json_object_object_get(res, "echo"), NULL),
	    "no echo asked: null");
	json_object_put(res);
}

Test(request, status_for_anyone)
{
	enum proto_error e;
	char why[256];
	struct json_object *res = ask(PROTO_REQ_STATUS, false, &e, why, sizeof why);

	cr_assert(eq(int, e, PROTO_OK), "%s", why);
	cr_assert(json_object_object_get_ex(res, "healthy", NULL));
	cr_assert(json_object_object_get_ex(res, "host", NULL));
	assert_reply_conforms(res);
	json_object_put(res);
}

Test(request, reconcile_answers_with_the_status)
{
	cr_assert(eq(ptr, (void *)exposures_dir(t.a.exposures), NULL));
	struct json_object *res = ask_ok(PROTO_REQ_RECONCILE);

	cr_assert(not(eq(ptr, (void *)exposures_dir(t.a.exposures), NULL)),
	    "it reconciled");
	cr_assert(json_object_object_get_ex(res, "agent", NULL));
	cr_assert(not(member_bool(res, "healthy")), "no Docker Desktop here");
	/* The status of after the reconcile: the socket waits for the engine. */
	struct json_object *sock = json_object_object_get(res, "socket");
	cr_assert(eq(str, (char *)json_object_get_string(
	    json_object_object_get(sock, "state")), "waiting"));
	assert_reply_conforms(res);
	json_object_put(res);
}

Test(request, changes_refused_when_untrusted)
{
	static const enum proto_request changing[] = { PROTO_REQ_RECONCILE,
	    PROTO_REQ_DISABLE, PROTO_REQ_ENABLE };

	for (size_t i = 0; i < 3; i++) {
		enum proto_error e = PROTO_OK;
		char why[256];
		struct json_object *res = ask(changing[i], false, &e, why,
		    sizeof why);
		cr_assert(eq(ptr, res, NULL));
		cr_assert(eq(int, e, PROTO_ERR_FORBIDDEN));
		assert_has(why, proto_request_name(changing[i]));
		assert_has(why, "changes the distro; ask as someone trusted");
	}
	cr_assert(eq(ptr, (void *)exposures_dir(t.a.exposures), NULL),
	    "no reconcile ran");
	cr_assert(not(t.a.disabled));
	cr_assert(eq(int, access(in_dir("state/disabled"), F_OK), -1));
}

Test(request, disable_and_enable)
{
	struct json_object *res = ask_ok(PROTO_REQ_DISABLE);

	cr_assert(member_bool(res, "disabled"));
	assert_reply_conforms(res);
	json_object_put(res);
	cr_assert(t.a.disabled);
	cr_assert(eq(int, access(in_dir("state/disabled"), F_OK), 0),
	    "kept across restarts");

	res = ask_ok(PROTO_REQ_ENABLE);
	cr_assert(not(member_bool(res, "disabled")));
	json_object_put(res);
	cr_assert(not(t.a.disabled));
	cr_assert(eq(int, access(in_dir("state/disabled"), F_OK), -1));
}

Test(request, disable_fails_with_the_reason)
{
	int fd = open(in_dir("file"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	cr_assert(ge(int, fd, 0));
	close(fd);
	set("state_dir", in_dir("file/state"));

	enum proto_error e;
	char why[CONFIG_ERR_LEN];
	struct json_object *res = ask(PROTO_REQ_DISABLE, true, &e, why,
	    sizeof why);
	cr_assert(eq(ptr, res, NULL));
	cr_assert(eq(int, e, PROTO_ERR_FAILED));
	assert_has(why, "cannot record the change in");
	cr_assert(not(t.a.disabled));
}

/* ------------------------------------------------------------------ */
/* The control socket frames the same answers */

static struct json_object *
control_ask(const char *line)
{
	return test_agent_ask(&t, line);
}

/* A reply to line that says ok (or names the error) and has member. */
static void
control_expect(const char *line, const char *error, const char *member)
{
	struct json_object *o = control_ask(line);
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, "ok", &v), "%s: no ok in %s",
	    line, json_object_to_json_string(o));
	cr_assert(eq(int, json_object_get_boolean(v), error == NULL), "%s", line);
	if (error != NULL)
		cr_assert(eq(str, (char *)json_object_get_string(
		    json_object_object_get(o, "error")), (char *)error));
	cr_assert(json_object_object_get_ex(o, member, NULL), "%s: no %s in %s",
	    line, member, json_object_to_json_string(o));
	json_object_put(o);
}

Test(request, control_socket_frames_the_results)
{
	t.a.control = control_new(t.a.base, t.a.cfg.control_socket,
	    request_on_control, &t.a);
	cr_assert(not(eq(ptr, t.a.control, NULL)));

	struct json_object *o = control_ask("{\"request\":\"status\"}");
	cr_assert(json_object_object_get_ex(o, "healthy", NULL));
	cr_assert(not(json_object_object_get_ex(o, "ok", NULL)),
	    "status: the status object itself");
	json_object_put(o);

	control_expect("{\"request\":\"ping\"}", NULL, "pong");
	/* The test runs as root: the child may change the agent. */
	control_expect("{\"request\":\"reconcile\"}", NULL, "socket");
	control_expect("{\"request\":\"disable\"}", NULL, "disabled");
	cr_assert(t.a.disabled);
	control_expect("{\"request\":\"enable\"}", NULL, "disabled");
	cr_assert(not(t.a.disabled));
	control_expect("{\"request\":\"reboot\"}", "unknown-request", "message");
	control_expect("[1]", "bad-json", "message");
}

/* ------------------------------------------------------------------ */
/* The status table (status.c) against the status the agent makes */

TestSuite(status_table, .init = agent_setup, .fini = agent_teardown,
    .timeout = 30);

static void
assert_conforms_exactly(struct json_object *st)
{
	char why[512];
	cr_assert(eq(int, status_check(st, "status", true, why, sizeof why), 0),
	    "%s", why);
}

Test(status_table, is_well_formed)
{
	for (const struct status_field *f = status_fields; f->path != NULL; f++) {
		char parent[128];
		snprintf(parent, sizeof parent, "%s", f->path);
		size_t n = strlen(parent);
		bool elem = n > 2 && strcmp(parent + n - 2, "[]") == 0;
		char *cut = elem ? parent + n - 2 : strrchr(parent, '.');
		cr_assert(f->values == NULL || f->type == STATUS_STRING,
		    "%s: values for a string only", f->path);
		cr_assert(not(eq(ptr, (char *)f->help, NULL)), "%s", f->path);
		if (f->type == STATUS_ARRAY) {
			char e[140];
			snprintf(e, sizeof e, "%s[]", f->path);
			cr_assert(not(eq(ptr, (void *)status_field_find(e), NULL)),
			    "%s has no element entry", f->path);
		}
		if (cut == NULL)
			continue;
		*cut = '\0';
		const struct status_field *p = status_field_find(parent);
		cr_assert(not(eq(ptr, (void *)p, NULL)), "%s: no %s", f->path,
		    parent);
		cr_assert(eq(int, p->type, elem ? STATUS_ARRAY : STATUS_OBJECT),
		    "%s: %s is not its container", f->path, parent);
		cr_assert(lt(ptr, (void *)p, (void *)f), "%s after %s", f->path,
		    parent);
	}
}

Test(status_table, lists_what_the_agent_sends)
{
	/* Before the first reconcile: the bind state is still an empty object. */
	struct json_object *st = agent_status_json(&t.a);
	assert_conforms_exactly(st);
	json_object_put(st);

	json_object_put(ask_ok(PROTO_REQ_RECONCILE));
	st = agent_status_json(&t.a);
	assert_conforms_exactly(st);
	/* Every member of the table the agent has here, it sends. */
	struct json_object *sock = json_object_object_get(st, "socket");
	cr_assert(json_object_object_get_ex(sock, "permissions", NULL),
	    "the socket exists, so its mode is shown");
	cr_assert(json_object_object_get_ex(st, "host", NULL));
	cr_assert(gt(int, json_object_object_length(json_object_object_get(st,
	    "binds")), 0));
	cr_assert(gt(sz, json_object_array_length(json_object_object_get(st,
	    "problems")), (size_t)0));
	json_object_put(st);
}

Test(status_table, volatile_fields_are_left_out_of_comparisons)
{
	json_object_put(ask_ok(PROTO_REQ_RECONCILE));
	struct json_object *st = agent_status_json(&t.a);
	struct json_object *canon = proto_status_canonical(st);

	for (const struct status_field *f = status_fields; f->path != NULL; f++) {
		char path[128];
		snprintf(path, sizeof path, "%s", f->path);
		char *dot = strchr(path, '.');
		if (dot != NULL)
			*dot = '\0';
		struct json_object *v = json_object_object_get(canon, path);
		bool volatile_field = (f->flags & STATUS_VOLATILE) != 0;
		bool sent = json_object_object_get_ex(st, path, NULL);
		if (dot == NULL)
			cr_assert(eq(int, json_object_object_get_ex(canon, path,
			    NULL), sent && !volatile_field), "%s", f->path);
		else if (volatile_field)
			cr_assert(not(json_object_object_get_ex(v, dot + 1, NULL)),
			    "%s is still in the canonical status", f->path);
	}
	cr_assert(not(json_object_object_get_ex(canon, "host", NULL)));
	cr_assert(json_object_object_get_ex(canon, "agent", NULL));
	json_object_put(canon);
	json_object_put(st);
}

Test(status_table, catches_what_breaks_it)
{
	static const struct { const char *path, *json, *says; } bad[] = {
		{ "agent", "{\"pid\":\"1\"}", "status.agent.pid is string, not integer" },
		{ "socket", "{\"state\":\"fine\"}", "not one of absent|ok" },
		{ "links", "[{\"path\":null}]", "status.links[0].path is null" },
		{ "healthy", "1", "status.healthy is int, not boolean" },
		{ "surprise", "true", "status.surprise is not in the status table" },
	};
	struct json_object *good = agent_status_json(&t.a);
	char why[512];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct json_object *st = NULL, *part = NULL;
		cr_assert(eq(int, json_object_deep_copy(good, &st, NULL), 0));
		struct json_object *v = json_tokener_parse(bad[i].json);
		if (json_object_object_get_ex(st, bad[i].path, &part) &&
		    json_object_is_type(part, json_type_object) &&
		    json_object_is_type(v, json_type_object)) {
			json_object_object_foreach(v, k, m)
				json_object_object_add(part, k, json_object_get(m));
			json_object_put(v);
		} else
			json_object_object_add(st, bad[i].path, v);
		cr_assert(eq(int, status_check(st, "status", true, why,
		    sizeof why), -1), "%s: accepted", bad[i].json);
		assert_has(why, bad[i].says);
		json_object_put(st);
	}
	/* Missing, and unknown members when not exact (receivers ignore them). */
	struct json_object *st = NULL;
	cr_assert(eq(int, json_object_deep_copy(good, &st, NULL), 0));
	json_object_object_add(st, "later", json_object_new_int(1));
	cr_assert(eq(int, status_check(st, "status", false, why, sizeof why), 0),
	    "%s", why);
	json_object_object_del(json_object_object_get(st, "engine"), "reachable");
	cr_assert(eq(int, status_check(st, "status", false, why, sizeof why), -1));
	assert_has(why, "status.engine.reachable is missing");
	json_object_put(st);
	json_object_put(good);
}

/* A non-root asker sees only the bind sources it owns (issue 13). */
Test(status_privacy, other_users_bind_sources_are_left_out)
{
	char dir[] = "/tmp/wda-privacy-XXXXXX", mine[64], theirs[64];
	cr_assert(not(eq(ptr, mkdtemp(dir), NULL)));
	snprintf(mine, sizeof mine, "%s/mine", dir);
	snprintf(theirs, sizeof theirs, "%s/theirs", dir);
	cr_assert(eq(int, mkdir(mine, 0755), 0));
	cr_assert(eq(int, mkdir(theirs, 0755), 0));
	cr_assert(eq(int, chown(mine, 1000, 1000), 0));
	char text[1024];
	snprintf(text, sizeof text, "{\"binds\":{\"error\":\"%s: gone\","
	    "\"exposures\":[{\"source\":\"%s\",\"containers\":[\"a\"]},"
	    "{\"source\":\"%s\",\"containers\":[\"b\"]},{\"source\":"
	    "\"/nonexistent\",\"containers\":[]}]},\"problems\":[{\"what\":"
	    "\"cannot mount %s on /x\",\"fix\":\"check\"},{\"what\":\"%s is "
	    "fine\",\"fix\":\"none\"}]}", theirs, mine, theirs, theirs, mine);
	struct json_object *st = json_tokener_parse(text);
	cr_assert_not_null(st);
	request_status_for_user(st, 0);
	struct json_object *b = json_object_object_get(st, "binds");
	cr_assert(eq(sz, json_object_array_length(json_object_object_get(b,
	    "exposures")), (size_t)3), "root sees everything");
	cr_assert(not(json_object_object_get_ex(b, "hidden", NULL)));

	request_status_for_user(st, 1000);
	struct json_object *ex = json_object_object_get(b, "exposures");
	cr_assert(eq(sz, json_object_array_length(ex), (size_t)1));
	cr_assert(eq(str, (char *)json_string(json_object_array_get_idx(ex,
	    0), "source"), mine));
	cr_assert(eq(int, json_object_get_int(json_object_object_get(b,
	    "hidden")), 2));
	const char *err = json_string(b, "error");
	cr_assert(eq(ptr, strstr(err, theirs), NULL), "%s", err);
	/* A problem naming their source is told without it; one naming
	 * the asker's own is left as it was. */
	struct json_object *pr = json_object_object_get(st, "problems");
	const char *w0 = json_string(json_object_array_get_idx(pr, 0),
	    "what");
	cr_assert(eq(ptr, strstr(w0, theirs), NULL), "%s", w0);
	assert_has(w0, "hidden from ordinary users");
	assert_has(json_string(json_object_array_get_idx(pr, 0), "fix"),
	    "sudo wsl-docker-agent status");
	assert_has(json_string(json_object_array_get_idx(pr, 1), "what"),
	    mine);
	json_object_put(st);
	rmdir(mine);
	rmdir(theirs);
	rmdir(dir);
}
