/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.c: the probe (/_ping, then /version) and the GET client every
 * module asks the engine with, against a fake engine on a real unix
 * socket.  The fake engine runs on the agent's own event loop: it accepts,
 * reads the request head, and answers as the test tells it (a reply, a
 * close without a word, silence, too much).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/defs.h"
#include "base/util.h"
#include "features/engine.h"
#include "features/expose.h"
#include "testlib.h"

#define WAIT_MS		8000
#define FAKE_CONNS	4
#define assert_has(s, sub) \
	cr_assert(strstr((s), (sub)) != NULL, "expected \"%s\" in: %s", (sub), (s))

/* What the fake engine says to a request for one target. */
struct fake_reply {
	const char	*target;	/* "/_ping"; NULL: the end of the list */
	const char	*text;		/* NULL: close without a word */
	size_t		 filler;	/* bytes of 'x' after text */
	bool		 silent;	/* say nothing, keep the connection */
	bool		 keep_open;	/* answer, then keep the connection */
};

#define REPLY(t, x)	{ .target = (t), .text = (x) }
#define CLOSE(t)	{ .target = (t), .text = NULL }
#define SILENT(t)	{ .target = (t), .silent = true }
#define LAST		{ .target = NULL }

static struct {
	struct test_agent	 t;
	int			 lfd;
	struct event		*accept_ev;
	const struct fake_reply	*replies;
	int			 nconns;
	int			 fds[FAKE_CONNS];
	struct event		*evs[FAKE_CONNS];
	char			 heads[FAKE_CONNS][512];
	size_t			 lens[FAKE_CONNS];
} fx;

static const struct fake_reply *
fake_reply_for(const char *head)
{
	for (const struct fake_reply *r = fx.replies; r->target != NULL; r++) {
		size_t n = strlen(r->target);
		if (strncmp(head, "GET ", 4) == 0 &&
		    strncmp(head + 4, r->target, n) == 0 && head[4 + n] == ' ')
			return r;
	}
	return NULL;
}

static void
fake_close(int i)
{
	event_del(fx.evs[i]);
	close(fx.fds[i]);
	fx.fds[i] = -1;
}

static void
fake_answer(int i, const struct fake_reply *r)
{
	if (r == NULL || r->text == NULL) {
		fake_close(i);
		return;
	}
	write_all(fx.fds[i], r->text, strlen(r->text));
	if (r->filler > 0) {
		char *x = malloc(r->filler);
		cr_assert(not(eq(ptr, x, NULL)));
		memset(x, 'x', r->filler);
		write_all(fx.fds[i], x, r->filler);
		free(x);
	}
	if (!r->keep_open)
		fake_close(i);
}

/* A request arrives: once its head is whole, answer it. */
static void
fake_readable(evutil_socket_t fd, short what, void *arg)
{
	int i = (int)(intptr_t)arg;
	size_t room = sizeof fx.heads[i] - 1 - fx.lens[i];
	ssize_t n = read(fd, fx.heads[i] + fx.lens[i], room);
	if (n <= 0) {
		fake_close(i);
		return;
	}
	fx.lens[i] += (size_t)n;
	fx.heads[i][fx.lens[i]] = '\0';
	if (strstr(fx.heads[i], "\r\n\r\n") == NULL)
		return;
	const struct fake_reply *r = fake_reply_for(fx.heads[i]);
	if (r != NULL && r->silent) {
		event_del(fx.evs[i]);
		return;
	}
	fake_answer(i, r);
}

static void
fake_accept(evutil_socket_t fd, short what, void *arg)
{
	cr_assert(lt(int, fx.nconns, FAKE_CONNS), "too many connections");
	int i = fx.nconns++;
	fx.fds[i] = accept_within(fx.lfd, 0);
	fx.evs[i] = event_new(fx.t.a.base, fx.fds[i], EV_READ | EV_PERSIST,
	    fake_readable, (void *)(intptr_t)i);
	cr_assert(not(eq(ptr, fx.evs[i], NULL)));
	cr_assert(eq(int, event_add(fx.evs[i], NULL), 0));
}

/* The fake engine listens at the agent's engine_path from now on. */
static void
fake_engine(const struct fake_reply *replies)
{
	fx.replies = replies;
	cr_assert(eq(int, util_mkdir_parent(fx.t.a.engine_path, 0755), 0));
	fx.lfd = unix_listen(fx.t.a.engine_path, 8);
	fx.accept_ev = event_new(fx.t.a.base, fx.lfd, EV_READ | EV_PERSIST,
	    fake_accept, NULL);
	cr_assert(eq(int, event_add(fx.accept_ev, NULL), 0));
	fx.t.a.engine_socket_present = true;
	expose_reconcile(fx.t.a.expose);	/* walks and trusts the socket */
}

static void
setup(void)
{
	memset(&fx, 0, sizeof fx);
	fx.lfd = -1;
	for (int i = 0; i < FAKE_CONNS; i++)
		fx.fds[i] = -1;
	test_agent_setup(&fx.t, "engine");
}

static void
teardown(void)
{
	for (int i = 0; i < fx.nconns; i++) {
		if (fx.fds[i] >= 0)
			close(fx.fds[i]);
		event_free(fx.evs[i]);
	}
	if (fx.accept_ev != NULL)
		event_free(fx.accept_ev);
	if (fx.lfd >= 0)
		close(fx.lfd);
	test_agent_teardown(&fx.t);
}

TestSuite(probe, .init = setup, .fini = teardown, .timeout = 30);
TestSuite(engine_get, .init = setup, .fini = teardown, .timeout = 30);

/* ------------------------------------------------------------------ */
/* The probe */

static const char ping_ok[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nOK";
static const char version_ok[] = "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json\r\n\r\n"
    "{\"Version\":\"24.0.7\",\"ApiVersion\":\"1.43\",\"Os\":\"linux\"}\n";

static bool
probe_ended(void *arg)
{
	(void)arg;
	return engine_reachable(fx.t.a.engine) ||
	    engine_failure(fx.t.a.engine) != NULL;
}

static bool
probe_reached(void *arg)
{
	(void)arg;
	return engine_reachable(fx.t.a.engine);
}

/* Probe once, to its end; the "engine" status member it leaves. */
static struct json_object *
probe(void)
{
	engine_probe_start(fx.t.a.engine);
	cr_assert(run_until(fx.t.a.base, probe_ended, NULL, WAIT_MS),
	    "the probe did not end");
	return engine_status_json(fx.t.a.engine);
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
	cr_assert(not(engine_reachable(fx.t.a.engine)));
	cr_assert(not(json_object_get_boolean(json_object_object_get(st,
	    "reachable"))));
	cr_assert(eq(ptr, json_object_object_get(st, "ping_ms"), NULL));
	cr_assert(not(eq(ptr, (void *)engine_failure(fx.t.a.engine), NULL)));
	assert_has(engine_failure(fx.t.a.engine), why);
	assert_has(member_str(st, "error"), why);
}

/* A probe of an engine answering r fails, and says why. */
static void
probe_fails_with(const struct fake_reply *r, const char *why)
{
	fake_engine(r);
	struct json_object *st = probe();
	assert_unreachable(st, why);
	json_object_put(st);
}

Test(probe, ping_then_version)
{
	static const struct fake_reply r[] = {
		REPLY("/_ping", ping_ok), REPLY("/version", version_ok), LAST,
	};
	fake_engine(r);
	struct json_object *st = probe();

	cr_assert(engine_reachable(fx.t.a.engine));
	cr_assert(eq(ptr, (void *)engine_failure(fx.t.a.engine), NULL));
	cr_assert(eq(str, (char *)engine_version(fx.t.a.engine), "24.0.7"));
	cr_assert(eq(int, fx.nconns, 2), "one connection for each GET");
	cr_assert(eq(int, strncmp(fx.heads[0], "GET /_ping HTTP/1.0\r\n", 21), 0),
	    "%s", fx.heads[0]);
	cr_assert(eq(int, strncmp(fx.heads[1], "GET /version HTTP/1.0\r\n", 23),
	    0), "%s", fx.heads[1]);
	assert_has(fx.heads[0], "\r\nHost: docker\r\n");
	assert_has(fx.heads[0], "\r\nUser-Agent: " AGENT_NAME "\r\n");

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
	fake_engine(r);
	engine_probe_start(fx.t.a.engine);
	engine_probe_start(fx.t.a.engine);	/* under way: nothing more */
	json_object_put(probe());
	cr_assert(engine_reachable(fx.t.a.engine));
	cr_assert(eq(int, fx.nconns, 2), "one probe: /_ping and /version");
}

Test(probe, no_engine_socket)
{
	struct json_object *st = engine_status_json(fx.t.a.engine);
	cr_assert(eq(ptr, (void *)engine_failure(fx.t.a.engine), NULL),
	    "no probe ended yet");
	cr_assert(eq(ptr, json_object_object_get(st, "version"), NULL));
	json_object_put(st);

	engine_probe_start(fx.t.a.engine);	/* engine_socket_present false */
	st = engine_status_json(fx.t.a.engine);
	cr_assert(not(engine_reachable(fx.t.a.engine)));
	assert_has(member_str(st, "error"), "no engine socket at ");
	assert_has(member_str(st, "error"), fx.t.a.engine_path);
	json_object_put(st);
}

Test(probe, nothing_listens)
{
	fx.t.a.engine_socket_present = true;	/* but no socket is there */
	expose_reconcile(fx.t.a.expose);	/* its walk finds nothing */
	struct json_object *st = probe();
	/* Nothing checked, nothing connected to: the error names the path. */
	assert_unreachable(st, fx.t.a.engine_path);
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
	cr_assert(eq(int, fx.nconns, 1), "no /version after a failed /_ping");
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

Test(probe, recovers_when_the_engine_does)
{
	static const struct fake_reply bad[] = { CLOSE("/_ping"), LAST };
	static const struct fake_reply good[] = {
		REPLY("/_ping", ping_ok), REPLY("/version", version_ok), LAST,
	};
	fake_engine(bad);
	json_object_put(probe());
	cr_assert(not(engine_reachable(fx.t.a.engine)));
	fx.replies = good;
	engine_probe_start(fx.t.a.engine);
	cr_assert(run_until(fx.t.a.base, probe_reached, NULL, WAIT_MS),
	    "the next probe finds the engine");
	struct json_object *st = engine_status_json(fx.t.a.engine);
	cr_assert(eq(ptr, (void *)engine_failure(fx.t.a.engine), NULL));
	cr_assert(eq(ptr, json_object_object_get(st, "error"), NULL),
	    "the old error goes");
	json_object_put(st);
}

/* ------------------------------------------------------------------ */
/* engine_get_new: the client itself */

struct got {
	int	 calls;
	int	 code;
	char	 body[256];
	char	 error[160];
	bool	 ended;		/* an error, the last call */
};

static void
got_reply(int code, struct evbuffer *body, const char *error, void *arg)
{
	struct got *g = arg;
	g->calls++;
	g->code = code;
	if (error != NULL) {
		snprintf(g->error, sizeof g->error, "%s", error);
		g->ended = true;
		return;
	}
	size_t have = strlen(g->body), n = evbuffer_get_length(body);
	cr_assert(lt(sz, have + n, sizeof g->body));
	evbuffer_remove(body, g->body + have, n);
	g->body[have + n] = '\0';
	if (!fx.replies->keep_open)
		g->ended = true;
}

static bool
got_ended(void *arg)
{
	return ((struct got *)arg)->ended;
}

static struct engine_get *
get(const char *target, const struct engine_get_opts *opts, struct got *g)
{
	struct engine_get *eg = engine_ask(&fx.t.a, target, opts, got_reply, g);
	cr_assert(not(eq(ptr, eg, NULL)), "engine_ask: %s", strerror(errno));
	return eg;
}

static const struct engine_get_opts reply_opts = { .max = 4096, .timeout_s = 1 };

Test(engine_get, reply_with_its_code_and_body)
{
	static const struct fake_reply r[] = {
		REPLY("/containers/x/json", "HTTP/1.1 404 Not Found\r\n"
		    "Content-Type: application/json\r\n\r\n"
		    "{\"message\":\"No such container: x\"}"),
		LAST,
	};
	fake_engine(r);
	struct got g = { 0 };
	struct engine_get *eg = get("/containers/x/json", &reply_opts, &g);
	cr_assert(run_until(fx.t.a.base, got_ended, &g, WAIT_MS));
	cr_assert(eq(int, g.calls, 1), "a reply is one call");
	cr_assert(eq(int, g.code, 404));
	cr_assert(eq(str, g.error, ""));
	cr_assert(eq(str, g.body, "{\"message\":\"No such container: x\"}"),
	    "the body without the head");
	engine_get_free(eg);
}

Test(engine_get, json_of_a_body_within_its_depth)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "{\"a\":{\"b\":[1,2]}}");
	struct json_object *v = engine_get_json(b, 8);
	cr_assert(not(eq(ptr, v, NULL)));
	cr_assert(json_object_is_type(json_object_object_get(v, "a"),
	    json_type_object));
	json_object_put(v);
	cr_assert(eq(ptr, engine_get_json(b, 2), NULL), "three deep is too deep");
	evbuffer_drain(b, evbuffer_get_length(b));
	evbuffer_add_printf(b, "not json");
	cr_assert(eq(ptr, engine_get_json(b, 8), NULL));
	evbuffer_free(b);
}

static bool
seen_first(void *arg)
{
	return strstr(((struct got *)arg)->body, "{\"n\":1}") != NULL;
}

static bool
seen_second(void *arg)
{
	return strstr(((struct got *)arg)->body, "{\"n\":2}") != NULL;
}

static bool
never(void *arg)
{
	(void)arg;
	return false;
}

Test(engine_get, stream_as_it_comes)
{
	static const struct fake_reply r[] = {
		{ .target = "/events", .text = "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/json\r\n\r\n{\"n\":1}\n",
		    .keep_open = true },
		LAST,
	};
	fake_engine(r);
	struct got g = { 0 };
	struct engine_get_opts opts = { .max = 4096, .timeout_s = 1,
	    .stream = true };
	struct engine_get *eg = get("/events", &opts, &g);

	char want[] = "{\"n\":1}\n";
	cr_assert(run_until(fx.t.a.base, seen_first, &g, WAIT_MS));
	cr_assert(eq(int, g.code, 200));
	cr_assert(eq(str, g.body, want));

	/* Silent for longer than timeout_s: a stream has no read timeout. */
	const char more[] = "{\"n\":2}\n";
	int calls = g.calls;
	cr_assert(not(run_until(fx.t.a.base, never, NULL, 1500)));
	cr_assert(eq(int, g.calls, calls), "nothing arrived, nothing said");
	cr_assert(not(g.ended));
	write_all(fx.fds[0], more, sizeof more - 1);
	cr_assert(run_until(fx.t.a.base, seen_second, &g, WAIT_MS));
	cr_assert(eq(str, g.body, "{\"n\":1}\n{\"n\":2}\n"));

	fake_close(0);
	cr_assert(run_until(fx.t.a.base, got_ended, &g, WAIT_MS));
	cr_assert(eq(str, g.error, "the engine ended the stream"));
	engine_get_free(eg);
}

Test(engine_get, silence_times_out)
{
	static const struct fake_reply r[] = {
		SILENT("/info"), LAST,
	};
	fake_engine(r);
	struct got g = { 0 };
	struct engine_get *eg = get("/info", &reply_opts, &g);
	cr_assert(run_until(fx.t.a.base, got_ended, &g, WAIT_MS));
	cr_assert(eq(int, g.calls, 1));
	cr_assert(eq(int, g.code, -1));
	cr_assert(eq(str, g.error, "no answer within 1 s"));
	engine_get_free(eg);
}

Test(engine_get, over_max_is_refused)
{
	static const struct fake_reply r[] = {
		{ .target = "/info", .text = "HTTP/1.1 200 OK\r\n\r\n", .filler = 8192 }, LAST,
	};
	fake_engine(r);
	struct got g = { 0 };
	struct engine_get *eg = get("/info", &reply_opts, &g);
	cr_assert(run_until(fx.t.a.base, got_ended, &g, WAIT_MS));
	cr_assert(eq(int, g.calls, 1), "the error is the only call");
	cr_assert(eq(str, g.error, "the engine's reply is too large"));
	engine_get_free(eg);
}

Test(engine_get, nothing_walked_to_nothing_tried)
{
	struct got g = { 0 };
	errno = 0;
	cr_assert(eq(ptr, engine_get_new(fx.t.a.base, -1, fx.t.a.engine_path,
	    "/_ping", &reply_opts, got_reply, &g), NULL), "no descriptor");
	cr_assert(eq(int, errno, ENOENT));
	/* A socket at the path, but never walked to: not asked. */
	int lfd = unix_listen(fx.t.a.engine_path, 8);
	errno = 0;
	cr_assert(eq(ptr, engine_ask(&fx.t.a, "/_ping", &reply_opts, got_reply,
	    &g), NULL), "asked by path");
	cr_assert(eq(int, errno, ENOENT));
	cr_assert(not(wait_for(lfd, POLLIN, 0)), "connected by path");
	close(lfd);
	cr_assert(eq(int, g.calls, 0), "a failed start calls nobody");
}

/*
 * Asked through the socket walked to (issue 19): once the walk passed,
 * whatever the path names later (a planted link to another socket, say)
 * is not what is connected to.
 */
Test(engine_get, the_socket_walked_to_not_what_the_path_names_now)
{
	static const struct fake_reply r[] = {
		REPLY("/_ping", ping_ok), LAST,
	};
	fake_engine(r);
	char moved[PATH_MAX], other[PATH_MAX];
	snprintf(moved, sizeof moved, "%s.moved", fx.t.a.engine_path);
	snprintf(other, sizeof other, "%s/other.sock", fx.t.dir);
	int impostor = unix_listen(other, 8);
	cr_assert(eq(int, rename(fx.t.a.engine_path, moved), 0));
	cr_assert(eq(int, symlink(other, fx.t.a.engine_path), 0));
	struct got g = { 0 };
	struct engine_get *eg = get("/_ping", &reply_opts, &g);
	cr_assert(run_until(fx.t.a.base, got_ended, &g, WAIT_MS));
	cr_assert(eq(int, g.code, 200), "%s", g.error);
	cr_assert(eq(int, fx.nconns, 1), "the socket walked to answered");
	cr_assert(not(wait_for(impostor, POLLIN, 0)), "the path was followed");
	engine_get_free(eg);
	close(impostor);
}
