/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent.c without a daemon: turning the integration off and on (the state
 * file, then a reconcile the links and the summary show), and the status
 * of a minimal agent (testlib's test_agent) as Docker Desktop's tree comes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <json-c/json.h>

#include "io/watch.h"
#include "features/desktop.h"
#include "features/socket.h"
#include "main/agent.h"
#include "testlib.h"

/* What the agent has its watch follow below the tree (the desktop's view). */
static const char *const followed[] = { "cli-tools/usr/bin",
	"cli-tools/usr/lib/docker/cli-plugins",
	"cli-tools/usr/libexec/docker/cli-plugins",
	"cli-tools/usr/local/lib/docker/cli-plugins",
	"shared-sockets/guest-services", NULL };

#define assert_has(s, sub) \
	cr_assert(strstr((s), (sub)) != NULL, "expected \"%s\" in: %s", (sub), (s))

static struct test_agent t;

static void
setup(void)
{
	test_agent_setup(&t, "agent");
	/* The shim links.on_stop points at, so links never dangle. */
	put_file_in(t.dir, "shim", 0755, "#!/bin/sh\n");
	test_agent_set(&t, "links.shim", test_agent_path(&t, "shim"));
}

static void
teardown(void)
{
	test_agent_teardown(&t);
}

TestSuite(agent, .init = setup, .fini = teardown, .timeout = 30);

static void
desktop_with_cli(void)
{
	put_file_in(t.a.cfg.desktop_dir, "cli-tools/usr/bin/docker", 0755,
	    "#!/bin/sh\n");
}

/* Where bin_dir/docker points, or "" when there is no link. */
static const char *
docker_link(void)
{
	static char target[512];
	ssize_t n = readlink(test_agent_path(&t, "bin/docker"), target,
	    sizeof target - 1);
	target[n > 0 ? n : 0] = '\0';
	return target;
}

static struct json_object *
member(struct json_object *o, const char *path)
{
	char key[64];
	while (o != NULL && *path != '\0') {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof key, "%.*s", (int)n, path);
		o = json_object_object_get(o, key);
		path += n + (path[n] == '.');
	}
	return o;
}

static bool
problem_has(struct json_object *st, const char *what)
{
	struct json_object *p = member(st, "problems");
	for (size_t i = 0; i < json_object_array_length(p); i++)
		if (strstr(json_object_get_string(member(
		    json_object_array_get_idx(p, i), "what")), what) != NULL)
			return true;
	return false;
}

Test(agent, disable_writes_the_state_file_and_reconciles)
{
	char err[256] = "", note[256] = "";
	desktop_with_cli();
	agent_reconcile(&t.a, "test");
	char want[512];
	snprintf(want, sizeof want, "%s/usr/bin/docker", t.a.cfg.cli_mount);
	cr_assert(eq(str, (char *)docker_link(), want), "linked while on");

	cr_assert(eq(int, agent_set_disabled(&t.a, true, err, sizeof err), 0),
	    "%s", err);
	cr_assert(t.a.disabled);
	int fd = open(test_agent_path(&t, "state/disabled"), O_RDONLY | O_CLOEXEC);
	cr_assert(ge(int, fd, 0), "the state file is there");
	cr_assert(gt(sz, (size_t)read(fd, note, sizeof note - 1), 0));
	close(fd);
	assert_has(note, "wsl-docker-agent enable");
	cr_assert(eq(str, (char *)docker_link(), ""), "the links went");
	test_agent_settle(&t);
	cr_assert(eq(str, t.a.last_summary, "integration off for this distro"));
	cr_assert(eq(int, socket_state(t.a.socket), SOCK_DISABLED));

	cr_assert(eq(int, agent_set_disabled(&t.a, false, err, sizeof err), 0),
	    "%s", err);
	cr_assert(not(t.a.disabled));
	cr_assert(eq(int, access(test_agent_path(&t, "state/disabled"), F_OK),
	    -1));
	cr_assert(eq(int, errno, ENOENT));
	cr_assert(eq(str, (char *)docker_link(), want), "linked again");
	cr_assert(not(eq(int, socket_state(t.a.socket), SOCK_DISABLED)));
}

Test(agent, enabling_twice_is_fine)
{
	char err[256] = "";
	cr_assert(eq(int, agent_set_disabled(&t.a, false, err, sizeof err), 0),
	    "no state file to remove is no error: %s", err);
	cr_assert(eq(int, agent_set_disabled(&t.a, true, err, sizeof err), 0));
	cr_assert(eq(int, agent_set_disabled(&t.a, true, err, sizeof err), 0));
	cr_assert(eq(int, access(test_agent_path(&t, "state/disabled"), F_OK),
	    0));
}

Test(agent, disable_fails_and_changes_nothing)
{
	char err[512] = "";
	put_file_in(t.dir, "file", 0644, "");
	test_agent_set(&t, "state_dir", test_agent_path(&t, "file/state"));
	cr_assert(eq(int, agent_set_disabled(&t.a, true, err, sizeof err), -1));
	assert_has(err, "cannot record the change in ");
	assert_has(err, "file/state/disabled");
	cr_assert(not(t.a.disabled));
}

Test(agent, status_of_a_minimal_agent)
{
	struct json_object *st = agent_status_json(&t.a);
	static const char *const members[] = { "agent", "desktop", "links",
	    "socket", "engine", "proxy", "binds", "conflicts", "host",
	    "healthy", "problems" };
	for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
		cr_assert(json_object_object_get_ex(st, members[i], NULL), "%s",
		    members[i]);
	cr_assert(eq(str, (char *)json_object_get_string(member(st,
	    "agent.version")), PACKAGE_VERSION));
	cr_assert(eq(i64, json_object_get_int64(member(st, "agent.pid")),
	    (int64_t)getpid()));
	cr_assert(eq(str, (char *)json_object_get_string(member(st,
	    "agent.instance_id")), t.a.instance_id));
	cr_assert(eq(str, (char *)json_object_get_string(member(st,
	    "agent.distro")), "unit"));
	cr_assert(eq(int, json_object_get_int(member(st, "agent.watches")), 0),
	    "no watch yet");
	cr_assert(not(json_object_get_boolean(member(st, "agent.disabled"))));
	cr_assert(eq(str, (char *)json_object_get_string(member(st,
	    "desktop.dir")), t.a.cfg.desktop_dir));
	cr_assert(not(json_object_get_boolean(member(st, "desktop.present"))));
	cr_assert(not(json_object_get_boolean(member(st, "engine.reachable"))));
	cr_assert(not(json_object_get_boolean(member(st, "healthy"))));
	cr_assert(problem_has(st, "Docker Desktop's tree is not at "));
	json_object_put(st);
}

Test(agent, status_follows_the_tree)
{
	desktop_with_cli();
	agent_reconcile(&t.a, "test");
	test_agent_settle(&t);
	struct json_object *st = agent_status_json(&t.a);
	cr_assert(json_object_get_boolean(member(st, "desktop.present")));
	cr_assert(json_object_get_boolean(member(st, "desktop.cli_tools")));
	cr_assert(not(json_object_get_boolean(member(st,
	    "desktop.engine_socket"))));
	cr_assert(not(problem_has(st, "Docker Desktop's tree is not at ")));
	cr_assert(problem_has(st, "the engine socket "));
	cr_assert(problem_has(st, " is missing"));
	cr_assert(gt(sz, json_object_array_length(member(st, "links")), 0));
	assert_has(t.a.last_summary, "its engine socket is absent");
	json_object_put(st);

	cr_assert(eq(int, agent_set_disabled(&t.a, true, (char[64]){ 0 }, 64),
	    0));
	st = agent_status_json(&t.a);
	cr_assert(json_object_get_boolean(member(st, "agent.disabled")));
	cr_assert(problem_has(st, "the integration is off for this distro"));
	cr_assert(eq(sz, json_object_array_length(member(st, "problems")), 1),
	    "off: nothing else is a problem");
	json_object_put(st);
}

static void
tree_changed(void *arg)
{
	(void)arg;
}

Test(agent, watches_counted_in_the_status)
{
	const char *const *dirs = desktop_view(t.a.desktop)->followed;
	size_t n = 0;
	for (; followed[n] != NULL; n++)
		cr_assert(eq(str, (char *)dirs[n], (char *)followed[n]));
	cr_assert(eq(ptr, (void *)dirs[n], NULL));
	t.a.watch = watch_new(t.a.base, t.a.cfg.desktop_dir, dirs, tree_changed,
	    NULL);
	cr_assert(not(eq(ptr, t.a.watch, NULL)));
	struct json_object *st = agent_status_json(&t.a);
	cr_assert(eq(int, json_object_get_int(member(st, "agent.watches")),
	    watch_count(t.a.watch)));
	cr_assert(gt(int, watch_count(t.a.watch), 0));
	json_object_put(st);
}
