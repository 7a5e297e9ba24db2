/* SPDX-License-Identifier: Apache-2.0 */
/*
 * binds.c's hooks on a real proxy, with no agent: a client's creates go
 * through io/proxy.c to a fake engine (fake-engine.h), binds.c deciding
 * each bind source, exposures.c mounting in the area of testlib-binds.h
 * (a shared tmpfs in the test's own mount namespace).  What the engine
 * is sent and what the client is answered are the outcomes.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>
#include <event2/util.h>

#include "base/config.h"
#include "base/util.h"
#include "io/proxy.h"
#include "features/binds.h"
#include "features/exposures.h"
#include "features/usage.h"
#include "features/volume.h"
#include "fake-engine.h"
#include "testlib-binds.h"
#include "testlib.h"

#define WAIT_MS		10000
#define CREATE		"POST /v1.43/containers/create "
#define INSPECT		"GET /v1.43/containers/c1/json "

static struct bind_world w;
static struct {
	struct fake_engine *engine;
	struct volumes	*volumes;
	struct usage	*usage;
	struct binds	*binds;
	struct proxy	*proxy;
	int		 listen_fd;
	char		 socket[PATH_MAX];	/* the proxy's */
	char		 created[8192];		/* the last create's request */
	char		 inspect[4096];		/* the inspect's answer body */
	char		 answer[8192];		/* what the client was told */
	size_t		 answer_len;
} fx;

static void
answer(void *arg, const char *h, struct fake_answer *a)
{
	(void)arg;
	if (strncmp(h, CREATE, strlen(CREATE)) == 0) {
		snprintf(fx.created, sizeof fx.created, "%s", h);
		a->status = "201 Created";
		a->body = "{\"Id\":\"c1\",\"Warnings\":[]}";
	} else if (strncmp(h, INSPECT, strlen(INSPECT)) == 0) {
		a->status = "200 OK";
		a->body = fx.inspect;
	} else {
		a->status = "404 Not Found";
		a->body = "{\"message\":\"no\"}";
	}
}

static void
setup(void)
{
	memset(&fx, 0, sizeof fx);
	bind_world_up(&w, "binds-proxy");
	put_file_in(w.dir, "home/app/f.txt", 0644, "distro-app");
	fx.engine = fake_engine_new(w.base, bind_world_path(&w, "engine.sock"),
	    answer, NULL);
	exposures_reconcile(w.exposures);
	cr_assert(eq(str, (char *)exposures_dir(w.exposures), BIND_WORLD_AREA));
	fx.volumes = volumes_new(w.base, &w.cfg, w.exposures);
	fx.usage = usage_new(w.base, w.exposures, fx.volumes, w.changed, NULL,
	    NULL);
	fx.binds = binds_new(&w.cfg, w.exposures, fx.volumes, fx.usage);
	cr_assert(not(eq(ptr, fx.binds, NULL)));
	snprintf(fx.socket, sizeof fx.socket, "%s", bind_world_path(&w,
	    "docker.sock"));
	fx.listen_fd = unix_listen(fx.socket, 16);
	cr_assert(eq(int, evutil_make_socket_nonblocking(fx.listen_fd), 0));
	fx.proxy = proxy_new(w.base, fx.listen_fd, fake_engine_fd(fx.engine),
	    fake_engine_path(fx.engine), 16);
	cr_assert(not(eq(ptr, fx.proxy, NULL)));
	binds_reconcile(fx.binds, fx.proxy);
	/* As the agent does: new exposures are mounted on a worker. */
	bind_world_worker(&w, binds_mounted, fx.binds);
}

static void
teardown(void)
{
	bind_world_gate_open(&w);
	exposures_set_worker(w.exposures, w.work, NULL, NULL);
	binds_free(fx.binds);		/* before its proxy */
	proxy_free(fx.proxy);
	close(fx.listen_fd);
	usage_free(fx.usage);
	volumes_free(fx.volumes);
	fake_engine_free(fx.engine);
	bind_world_down(&w);
}

TestSuite(binds_proxy, .init = setup, .fini = teardown, .timeout = 30);

/* The client's connection closed by the proxy, its answer read. */
static bool
answered(void *arg)
{
	int fd = *(int *)arg;
	for (;;) {
		ssize_t n = recv(fd, fx.answer + fx.answer_len,
		    sizeof fx.answer - 1 - fx.answer_len, MSG_DONTWAIT);
		if (n > 0) {
			fx.answer_len += (size_t)n;
			fx.answer[fx.answer_len] = '\0';
			continue;
		}
		return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
	}
}

/* One request sent through the proxy: the client's connection. */
static int
send_request(const char *method_path, const char *body)
{
	char req[4096];
	int n = snprintf(req, sizeof req, "%s HTTP/1.1\r\nHost: docker\r\n"
	    "Connection: close\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", method_path, strlen(body), body);
	cr_assert(lt(int, n, (int)sizeof req));
	fx.answer_len = 0;
	fx.answer[0] = '\0';
	int fd = unix_connect(fx.socket);
	write_all(fd, req, (size_t)n);
	return fd;
}

/* One request through the proxy, and its whole answer in fx.answer. */
static void
ask(const char *method_path, const char *body)
{
	int fd = send_request(method_path, body);
	cr_assert(run_until(w.base, answered, &fd, WAIT_MS),
	    "no answer to %s: %s", method_path, fx.answer);
	close(fd);
}

/* A create with these binds or mounts, sent: the client's connection. */
static int
send_create(const char *binds_or_mounts)
{
	char body[2048];
	snprintf(body, sizeof body, "{\"Image\":\"alpine\",\"HostConfig\":{%s}}",
	    binds_or_mounts);
	return send_request("POST /v1.43/containers/create", body);
}

/* The same, and its whole answer in fx.answer. */
static void
create_binding(const char *binds_or_mounts)
{
	int fd = send_create(binds_or_mounts);
	cr_assert(run_until(w.base, answered, &fd, WAIT_MS),
	    "no answer to a create: %s", fx.answer);
	close(fd);
}

/* A create with -v source:/app, sent: the client's connection. */
static int
send_bind(const char *source)
{
	char binds[PATH_MAX + 64];
	snprintf(binds, sizeof binds, "\"Binds\":[\"%s:/app\"]", source);
	return send_create(binds);
}

static bool
has(const char *text, const char *what)
{
	return strstr(text, what) != NULL;
}

/* A create with -v source:target, answered by the engine. */
static void
create_bind(const char *source, const char *target)
{
	char binds[PATH_MAX + 64];
	snprintf(binds, sizeof binds, "\"Binds\":[\"%s:%s\"]", source, target);
	create_binding(binds);
	cr_assert(has(fx.answer, "201 Created"), "%s", fx.answer);
}

/* The engine was sent the create with -v path:target. */
static void
assert_engine_sent(const char *path, const char *target)
{
	char want[PATH_MAX + 64];
	snprintf(want, sizeof want, "\"%s:%s\"", path, target);
	cr_assert(has(fx.created, want), "%s in %s", want, fx.created);
}

Test(binds_proxy, a_source_the_engine_cannot_see_is_exposed_and_the_create_rewritten)
{
	char want[PATH_MAX + 16];
	const char *source = bind_world_path(&w, "home/app");
	create_bind(source, "/app:ro");
	const char *point = bind_world_point(source);
	assert_engine_sent(point, "/app:ro");
	cr_assert(not(has(fx.created, source)), "%s", fx.created);
	char f[PATH_MAX + 16];
	snprintf(f, sizeof f, "%s/f.txt", point);
	cr_assert(eq(int, access(f, F_OK), 0), "the distro's files at %s",
	    point);
	cr_assert(eq(int, exposures_count(w.exposures), 1));
	cr_assert(gt(u64, exposures_mounted_at(w.exposures, point), 0));

	/* Its inspect answer names the user's source, not the exposure. */
	snprintf(fx.inspect, sizeof fx.inspect, "{\"Id\":\"c1\",\"Mounts\":["
	    "{\"Type\":\"bind\",\"Source\":\"%s/sub\",\"Destination\":"
	    "\"/app\"}]}", point);
	ask("GET /v1.43/containers/c1/json", "");
	snprintf(want, sizeof want, "\"Source\":\"%s/sub\"", source);
	cr_assert(has(fx.answer, "200 OK"), "%s", fx.answer);
	cr_assert(has(fx.answer, want), "the user's path: %s", fx.answer);
	cr_assert(not(has(fx.answer, point)), "%s", fx.answer);
}

Test(binds_proxy, a_source_in_the_shared_tree_is_the_engines_path_for_it)
{
	cr_assert(eq(int, util_mkdir_p("/mnt/wsl/shared-app", 0755), 0));
	create_bind("/mnt/wsl/shared-app", "/app");
	/* bind.engine_wsl_root /mnt/wsl: the engine sees it where it is. */
	assert_engine_sent("/mnt/wsl/shared-app", "/app");
	cr_assert(eq(int, exposures_count(w.exposures), 0), "nothing exposed");
}

Test(binds_proxy, a_missing_v_source_is_made_here_and_exposed)
{
	const char *source = bind_world_path(&w, "home/new/data");
	create_bind(source, "/data");
	struct stat st;
	cr_assert(eq(int, stat(source, &st), 0), "made: %s", source);
	cr_assert(eq(int, S_ISDIR(st.st_mode) ? 1 : 0, 1), "a directory");
	assert_engine_sent(bind_world_point(source), "/data");
}

Test(binds_proxy, a_missing_mount_source_is_refused_in_the_engines_words)
{
	char mounts[1024];
	const char *source = bind_world_path(&w, "home/absent");
	snprintf(mounts, sizeof mounts, "\"Mounts\":[{\"Type\":\"bind\","
	    "\"Source\":\"%s\",\"Target\":\"/app\"}]", source);
	create_binding(mounts);
	cr_assert(has(fx.answer, "400 Bad Request"), "%s", fx.answer);
	cr_assert(has(fx.answer, "invalid mount config for type \\\"bind\\\": "
	    "bind source path does not exist: "), "%s", fx.answer);
	cr_assert(has(fx.answer, source), "%s", fx.answer);
	cr_assert(eq(str, fx.created, ""), "the engine never saw it: %s",
	    fx.created);
	cr_assert(eq(int, access(source, F_OK), -1), "nothing made");
	cr_assert(eq(int, exposures_count(w.exposures), 0));
}

/* Has the client on fd been answered in full (the proxy closed it)? */
static bool
answered_on(int fd)
{
	return answered(&fd);
}

/* Is the exposure of the source in the table (being mounted, or made)? */
static bool
in_table(void *arg)
{
	(void)arg;
	return exposures_count(w.exposures) == 1;
}

Test(binds_proxy, a_create_waiting_for_its_mount_holds_its_connection_only)
{
	const char *source = bind_world_path(&w, "home/app");
	char point[PATH_MAX];
	snprintf(point, sizeof point, "%s", bind_world_point(source));
	/* The worker is busy (a stand-in's copy, say): the mount queues. */
	bind_world_gate_shut(&w);
	int creator = send_bind(source);
	cr_assert(run_until(w.base, in_table, NULL, WAIT_MS),
	    "the create reached its hook");

	/* Every other connection flows meanwhile. */
	ask("GET /v1.43/version", "");
	cr_assert(has(fx.answer, "404 Not Found"), "answered at once: %s",
	    fx.answer);
	cr_assert(eq(str, fx.created, ""), "the create waits: %s", fx.created);
	fx.answer_len = 0;
	fx.answer[0] = '\0';
	cr_assert(not(answered_on(creator)), "%s", fx.answer);

	/* The mount done, the create goes on, rewritten. */
	bind_world_gate_open(&w);
	cr_assert(run_until(w.base, answered, &creator, WAIT_MS), "%s",
	    fx.answer);
	close(creator);
	cr_assert(has(fx.answer, "201 Created"), "%s", fx.answer);
	assert_engine_sent(point, "/app");
	char f[PATH_MAX + 16];
	snprintf(f, sizeof f, "%s/f.txt", point);
	cr_assert(eq(int, access(f, F_OK), 0), "mounted: %s", f);
}

Test(binds_proxy, a_mount_that_fails_refuses_the_create_that_waited)
{
	const char *source = bind_world_path(&w, "home/app");
	bind_world_gate_shut(&w);
	int creator = send_bind(source);
	cr_assert(run_until(w.base, in_table, NULL, WAIT_MS));
	/* Its source goes before the worker gets to it. */
	cr_assert(eq(int, unlink(bind_world_path(&w, "home/app/f.txt")), 0));
	cr_assert(eq(int, rmdir(source), 0));
	bind_world_gate_open(&w);
	cr_assert(run_until(w.base, answered, &creator, WAIT_MS), "%s",
	    fx.answer);
	close(creator);
	cr_assert(has(fx.answer, "400 Bad Request"), "%s", fx.answer);
	cr_assert(has(fx.answer, "cannot re-expose"), "%s", fx.answer);
	cr_assert(eq(str, fx.created, ""), "the engine never saw it: %s",
	    fx.created);
	cr_assert(eq(int, exposures_count(w.exposures), 0));
}

Test(binds_proxy, no_hooks_once_binds_is_gone)
{
	exposures_set_worker(w.exposures, w.work, NULL, NULL);
	binds_free(fx.binds);
	fx.binds = NULL;
	const char *source = bind_world_path(&w, "home/app");
	create_bind(source, "/app");
	assert_engine_sent(source, "/app");	/* as it came */
	cr_assert(eq(int, exposures_count(w.exposures), 0));
}
