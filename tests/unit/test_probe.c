/* SPDX-License-Identifier: Apache-2.0 */
/*
 * features/probe.c: /_ping, then /version, against a fake engine on a real
 * unix socket (testlib's fake-engine.c) that the test agent's desktop
 * looked at and trusts; the retry the probe owns; the notice it posts.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/defs.h"
#include "io/notify.h"
#include "features/desktop.h"
#include "features/probe.h"
#include "testlib.h"

#define WAIT_MS		8000
#define assert_has(s, sub) \
	cr_assert(strstr((s), (sub)) != NULL, "expected \"%s\" in: %s", (sub), (s))

static struct test_agent t;

static void
setup(void)
{
	test_agent_setup(&t, "probe");
}

static void
teardown(void)
{
	fake_gets_stop();
	test_agent_teardown(&t);
}

TestSuite(probe, .init = setup, .fini = teardown, .timeout = 30);

static const char ping_ok[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nOK";
static const char version_ok[] = "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json\r\n\r\n"
    "{\"Version\":\"24.0.7\",\"ApiVersion\":\"1.43\",\"Os\":\"linux\"}\n";

static bool
probe_ended(void *arg)
{
	(void)arg;
	return probe_reachable(t.a.probe) || probe_failure(t.a.probe) != NULL;
}

static bool
probe_reached(void *arg)
{
	(void)arg;
	return probe_reachable(t.a.probe);
}

/* The facts of a reconcile as the desktop's look has them now. */
static void
reconcile(void)
{
	probe_reconcile(t.a.probe, desktop_view(t.a.desktop), false);
}

/* The "engine" status member (its problems dropped). */
static struct json_object *
report(void)
{
	struct json_object *problems = json_object_new_array();
	struct json_object *o = probe_report(t.a.probe, problems);
	json_object_put(problems);
	return o;
}

/* Probe once, to its end; the "engine" status member it leaves. */
static struct json_object *
probe(void)
{
	reconcile();
	cr_assert(run_until(t.a.base, probe_ended, NULL, WAIT_MS),
	    "the probe did not end");
	return report();
}

static const char *
member_str(struct json_object *o, const char *key)
{
	return json_object_get_string(json_object_object_get(o, key));
}

/* Not reachable, and the error (in the status too) says so. */
static void
assert_unreachable(struct json_object *st, const char *why)
{
	cr_assert(not(probe_reachable(t.a.probe)));
	cr_assert(not(json_object_get_boolean(json_object_object_get(st,
	    "reachable"))));
	cr_assert(eq(ptr, json_object_object_get(st, "ping_ms"), NULL));
	cr_assert(not(eq(ptr, (void *)probe_failure(t.a.probe), NULL)));
	assert_has(probe_failure(t.a.probe), why);
	assert_has(member_str(st, "error"), why);
}

/* A probe of an engine answering r fails, and says why. */
static void
probe_fails_with(const struct fake_reply *r, const char *why)
{
	fake_gets_start(&t, r);
	struct json_object *st = probe();
	assert_unreachable(st, why);
	json_object_put(st);
}

Test(probe, ping_then_version)
{
	static const struct fake_reply r[] = {
		REPLY("/_ping", ping_ok), REPLY("/version", version_ok), LAST,
	};
	fake_gets_start(&t, r);
	struct json_object *st = probe();

	cr_assert(probe_reachable(t.a.probe));
	cr_assert(eq(ptr, (void *)probe_failure(t.a.probe), NULL));
	cr_assert(eq(str, (char *)probe_version(t.a.probe), "24.0.7"));
	cr_assert(eq(int, fake_gets.nconns, 2), "one connection for each GET");
	cr_assert(eq(int, strncmp(fake_gets.heads[0], "GET /_ping HTTP/1.0\r\n", 21),
	    0), "%s", fake_gets.heads[0]);
	cr_assert(eq(int, strncmp(fake_gets.heads[1], "GET /version HTTP/1.0\r\n",
	    23), 0), "%s", fake_gets.heads[1]);
	assert_has(fake_gets.heads[0], "\r\nHost: docker\r\n");
	assert_has(fake_gets.heads[0], "\r\nUser-Agent: " AGENT_NAME "\r\n");

	cr_assert(json_object_get_boolean(json_object_object_get(st,
	    "reachable")));
	cr_assert(eq(str, (char *)member_str(st, "version"), "24.0.7"));
	cr_assert(eq(str, (char *)member_str(st, "api_version"), "1.43"));
	cr_assert(eq(ptr, json_object_object_get(st, "error"), NULL));
	struct json_object *ping = json_object_object_get(st, "ping_ms");
	cr_assert(json_object_is_type(ping, json_type_double));
	cr_assert(ge(dbl, json_object_get_double(ping), 0.0));
	cr_assert(lt(dbl, json_object_get_double(ping), (double)WAIT_MS));
	json_object_put(st);
}

Test(probe, one_at_a_time)
{
	static const struct fake_reply r[] = {
		REPLY("/_ping", ping_ok), REPLY("/version", version_ok), LAST,
	};
	fake_gets_start(&t, r);
	reconcile();
	reconcile();	/* under way: nothing more */
	json_object_put(probe());
	cr_assert(probe_reachable(t.a.probe));
	cr_assert(eq(int, fake_gets.nconns, 2), "one probe: /_ping and /version");
}

Test(probe, no_engine_socket)
{
	struct json_object *st = report();
	cr_assert(eq(ptr, (void *)probe_failure(t.a.probe), NULL),
	    "no probe ended yet");
	cr_assert(eq(ptr, json_object_object_get(st, "version"), NULL));
	json_object_put(st);

	reconcile();	/* no look yet: the view has no engine socket */
	st = report();
	cr_assert(not(probe_reachable(t.a.probe)));
	assert_has(member_str(st, "error"), "no engine socket at ");
	assert_has(member_str(st, "error"),
	    desktop_view(t.a.desktop)->engine_path);
	json_object_put(st);
}

Test(probe, nothing_listens)
{
	/* A look saw the socket, but its walk found nothing. */
	struct desktop_view v = *desktop_view(t.a.desktop);
	v.engine_present = true;
	probe_reconcile(t.a.probe, &v, false);
	cr_assert(run_until(t.a.base, probe_ended, NULL, WAIT_MS));
	struct json_object *st = report();
	/* Nothing checked, nothing connected to: the error names the path. */
	assert_unreachable(st, v.engine_path);
	json_object_put(st);
}

Test(probe, engine_closes_without_a_word)
{
	static const struct fake_reply r[] = { CLOSE("/_ping"), LAST };
	probe_fails_with(r, "no HTTP head from the engine");
}

Test(probe, engine_closes_inside_the_head)
{
	static const struct fake_reply r[] = {
		REPLY("/_ping", "HTTP/1.1 200 OK\r\nContent-Ty"), LAST,
	};
	probe_fails_with(r, "no HTTP head from the engine");
}

Test(probe, ping_refused)
{
	static const struct fake_reply r[] = {
		REPLY("/_ping", "HTTP/1.1 500 Internal Server Error\r\n\r\n"),
		LAST,
	};
	probe_fails_with(r, "GET /_ping answered 500");
	cr_assert(eq(int, fake_gets.nconns, 1), "no /version after a failed /_ping");
}

Test(probe, not_http)
{
	static const struct fake_reply r[] = {
		REPLY("/_ping", "SSH-2.0-OpenSSH_9.2\r\n\r\n"), LAST,
	};
	probe_fails_with(r, "GET /_ping got no HTTP answer; is something "
	    "other than the engine listening?");
}

Test(probe, version_is_not_json)
{
	static const struct fake_reply r[] = {
		REPLY("/_ping", ping_ok),
		REPLY("/version", "HTTP/1.1 200 OK\r\n\r\n<html>proxy</html>"),
		LAST,
	};
	probe_fails_with(r, "GET /version returned no JSON");
}

Test(probe, too_large_a_reply)
{
	static const struct fake_reply r[] = {
		REPLY("/_ping", ping_ok), { .target = "/version", .text = version_ok, .filler = 80 * 1024 },
		LAST,
	};
	probe_fails_with(r, "the engine's reply is too large");
}

Test(probe, silent_engine_times_out)
{
	static const struct fake_reply r[] = {
		SILENT("/_ping"), LAST,
	};
	probe_fails_with(r, "no answer within 3 s");
}

static const struct fake_reply bad[] = { CLOSE("/_ping"), LAST };
static const struct fake_reply good[] = {
	REPLY("/_ping", ping_ok), REPLY("/version", version_ok), LAST,
};

Test(probe, recovers_when_the_engine_does)
{
	fake_gets_start(&t, bad);
	json_object_put(probe());
	cr_assert(not(probe_reachable(t.a.probe)));
	fake_gets.replies = good;
	probe_start(t.a.probe);
	cr_assert(run_until(t.a.base, probe_reached, NULL, WAIT_MS),
	    "the next probe finds the engine");
	struct json_object *st = report();
	cr_assert(eq(ptr, (void *)probe_failure(t.a.probe), NULL));
	cr_assert(eq(ptr, json_object_object_get(st, "error"), NULL),
	    "the old error goes");
	json_object_put(st);
}

/* The retry is the probe's own: nobody asks again, the engine is found. */
Test(probe, asks_again_by_itself_while_the_engine_does_not_answer)
{
	fake_gets_start(&t, bad);
	json_object_put(probe());
	cr_assert(not(probe_reachable(t.a.probe)));
	cr_assert(eq(int, fake_gets.nconns, 1));
	fake_gets.replies = good;
	cr_assert(run_until(t.a.base, probe_reached, NULL, WAIT_MS),
	    "not asked again");
	cr_assert(eq(int, fake_gets.nconns, 3), "one retry: /_ping and /version");
}

Test(probe, no_retry_while_the_integration_is_off)
{
	fake_gets_start(&t, bad);
	probe_reconcile(t.a.probe, desktop_view(t.a.desktop), true);
	cr_assert(run_until(t.a.base, probe_ended, NULL, WAIT_MS));
	fake_gets.replies = good;
	cr_assert(not(run_until(t.a.base, probe_reached, NULL, 2500)),
	    "asked again while off");
	cr_assert(eq(int, fake_gets.nconns, 1));
}

static bool
probe_failed(void *arg)
{
	(void)arg;
	return !probe_reachable(t.a.probe) && probe_failure(t.a.probe) != NULL;
}

/* A result that changed is told (notify_post), to main/'s handler. */
Test(probe, a_changed_result_is_told)
{
	fake_gets_start(&t, good);
	uint64_t before = notify_posts(t.a.changed);
	json_object_put(probe());
	cr_assert(probe_reachable(t.a.probe));
	cr_assert(eq(u64, notify_posts(t.a.changed), before + 1));
	fake_gets.replies = bad;
	probe_start(t.a.probe);
	cr_assert(run_until(t.a.base, probe_failed, NULL, WAIT_MS));
	cr_assert(eq(u64, notify_posts(t.a.changed), before + 2));
	fake_gets.replies = good;
	probe_start(t.a.probe);
	cr_assert(run_until(t.a.base, probe_reached, NULL, WAIT_MS));
	cr_assert(eq(u64, notify_posts(t.a.changed), before + 3));
}

/* The "engine" member's problem: only while it should answer. */
Test(probe, an_engine_that_does_not_answer_is_a_problem)
{
	fake_gets_start(&t, bad);
	json_object_put(probe());
	struct json_object *problems = json_object_new_array();
	json_object_put(probe_report(t.a.probe, problems));
	cr_assert(eq(sz, json_object_array_length(problems), 1));
	assert_has(json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(problems, 0), "what")),
	    "the engine does not answer: no HTTP head from the engine");
	json_object_put(problems);

	probe_reconcile(t.a.probe, desktop_view(t.a.desktop), true);
	problems = json_object_new_array();
	json_object_put(probe_report(t.a.probe, problems));
	cr_assert(eq(sz, json_object_array_length(problems), 0), "off: no "
	    "problem of the engine's");
	json_object_put(problems);
}
