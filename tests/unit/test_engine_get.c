/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io/engine-get.c: the GET client every feature asks the engine with,
 * against a fake engine on a real unix socket (testlib's fake-engine.c),
 * through the descriptor of the test agent's desktop look.
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

#include "base/util.h"
#include "io/engine-get.h"
#include "features/desktop.h"
#include "main/agent.h"
#include "testlib.h"

#define WAIT_MS		8000

static struct test_agent t;

static void
setup(void)
{
	test_agent_setup(&t, "engine-get");
}

static void
teardown(void)
{
	fake_gets_stop();
	test_agent_teardown(&t);
}

TestSuite(engine_get, .init = setup, .fini = teardown, .timeout = 30);

static const char ping_ok[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nOK";

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
	if (!fake_gets.replies->keep_open)
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
	const struct desktop_view *v = desktop_view(t.a.desktop);
	struct engine_get *eg = engine_get_new(t.a.base, v->engine_fd,
	    v->engine_path, target, opts, got_reply, g);
	cr_assert(not(eq(ptr, eg, NULL)), "engine_get_new: %s", strerror(errno));
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
	fake_gets_start(&t, r);
	struct got g = { 0 };
	struct engine_get *eg = get("/containers/x/json", &reply_opts, &g);
	cr_assert(run_until(t.a.base, got_ended, &g, WAIT_MS));
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
	fake_gets_start(&t, r);
	struct got g = { 0 };
	struct engine_get_opts opts = { .max = 4096, .timeout_s = 1,
	    .stream = true };
	struct engine_get *eg = get("/events", &opts, &g);

	char want[] = "{\"n\":1}\n";
	cr_assert(run_until(t.a.base, seen_first, &g, WAIT_MS));
	cr_assert(eq(int, g.code, 200));
	cr_assert(eq(str, g.body, want));

	/* Silent for longer than timeout_s: a stream has no read timeout. */
	const char more[] = "{\"n\":2}\n";
	int calls = g.calls;
	cr_assert(not(run_until(t.a.base, never, NULL, 1500)));
	cr_assert(eq(int, g.calls, calls), "nothing arrived, nothing said");
	cr_assert(not(g.ended));
	write_all(fake_gets.fds[0], more, sizeof more - 1);
	cr_assert(run_until(t.a.base, seen_second, &g, WAIT_MS));
	cr_assert(eq(str, g.body, "{\"n\":1}\n{\"n\":2}\n"));

	fake_gets_close(0);
	cr_assert(run_until(t.a.base, got_ended, &g, WAIT_MS));
	cr_assert(eq(str, g.error, "the engine ended the stream"));
	engine_get_free(eg);
}

Test(engine_get, silence_times_out)
{
	static const struct fake_reply r[] = {
		SILENT("/info"), LAST,
	};
	fake_gets_start(&t, r);
	struct got g = { 0 };
	struct engine_get *eg = get("/info", &reply_opts, &g);
	cr_assert(run_until(t.a.base, got_ended, &g, WAIT_MS));
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
	fake_gets_start(&t, r);
	struct got g = { 0 };
	struct engine_get *eg = get("/info", &reply_opts, &g);
	cr_assert(run_until(t.a.base, got_ended, &g, WAIT_MS));
	cr_assert(eq(int, g.calls, 1), "the error is the only call");
	cr_assert(eq(str, g.error, "the engine's reply is too large"));
	engine_get_free(eg);
}

Test(engine_get, nothing_walked_to_nothing_tried)
{
	struct got g = { 0 };
	errno = 0;
	const char *path = desktop_view(t.a.desktop)->engine_path;
	cr_assert(eq(ptr, engine_get_new(t.a.base, -1, path, "/_ping",
	    &reply_opts, got_reply, &g), NULL), "no descriptor");
	cr_assert(eq(int, errno, ENOENT));
	/* A socket at the path, but never walked to: not asked. */
	cr_assert(eq(int, util_mkdir_parent(path, 0755), 0));
	int lfd = unix_listen(path, 8);
	errno = 0;
	cr_assert(eq(ptr, engine_get_new(t.a.base, desktop_view(
	    t.a.desktop)->engine_fd, path, "/_ping", &reply_opts, got_reply,
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
	fake_gets_start(&t, r);
	char moved[PATH_MAX], other[PATH_MAX];
	const char *path = desktop_view(t.a.desktop)->engine_path;
	snprintf(moved, sizeof moved, "%s.moved", path);
	snprintf(other, sizeof other, "%s/other.sock", t.dir);
	int impostor = unix_listen(other, 8);
	cr_assert(eq(int, rename(path, moved), 0));
	cr_assert(eq(int, symlink(other, path), 0));
	struct got g = { 0 };
	struct engine_get *eg = get("/_ping", &reply_opts, &g);
	cr_assert(run_until(t.a.base, got_ended, &g, WAIT_MS));
	cr_assert(eq(int, g.code, 200), "%s", g.error);
	cr_assert(eq(int, fake_gets.nconns, 1), "the socket walked to answered");
	cr_assert(not(wait_for(impostor, POLLIN, 0)), "the path was followed");
	engine_get_free(eg);
	close(impostor);
}
