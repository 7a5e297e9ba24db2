/*
 * expose.c through its API, in a temporary directory: a real unix socket
 * listening in the test stands for Docker Desktop's engine, the agent's
 * event loop runs in the test, and the test plays the docker client.
 * Needs root, as the agent does: the socket is chowned to socket.group.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "agent.h"
#include "testlib.h"

#define WAIT_MS		2000
#define GROUP		"daemon"	/* exists on every Debian-like system */

static struct {
	struct agent	 a;
	char		 dir[64];
	char		 run[96];	/* socket.path's directory */
	char		 sock[128];	/* socket.path */
	char		 engine[128];	/* Docker Desktop's engine socket */
	char		 manifest[128];
	int		 engine_lfd;
} fx;

static void
set(const char *key, const char *value)
{
	char err[CONFIG_ERR_LEN];
	cr_assert(eq(int, config_set(&fx.a.cfg, key, value, err, sizeof err),
	    0), "%s", err);
}

static void
setup(void)
{
	memset(&fx, 0, sizeof fx);
	fx.engine_lfd = -1;
	snprintf(fx.dir, sizeof fx.dir, "/tmp/wda-expose-XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(fx.dir), NULL)));
	snprintf(fx.run, sizeof fx.run, "%s/run", fx.dir);
	snprintf(fx.sock, sizeof fx.sock, "%s/docker.sock", fx.run);
	snprintf(fx.engine, sizeof fx.engine, "%s/engine.sock", fx.dir);
	snprintf(fx.manifest, sizeof fx.manifest, "%s/manifest.json", fx.dir);
	config_init(&fx.a.cfg);
	set("socket.path", fx.sock);
	set("socket.group", GROUP);
	char err[256];
	cr_assert(eq(int, manifest_load(&fx.a.manifest, fx.manifest, err,
	    sizeof err), 0), "%s", err);
	fx.a.base = event_base_new();
	cr_assert(not(eq(ptr, fx.a.base, NULL)));
	fx.a.engine_path = strdup(fx.engine);
	fx.a.expose = expose_new(&fx.a, -1);
	cr_assert(not(eq(ptr, fx.a.expose, NULL)));
	signal(SIGPIPE, SIG_IGN);
}

static void
teardown(void)
{
	expose_free(fx.a.expose);
	if (fx.engine_lfd >= 0)
		close(fx.engine_lfd);
	unlink(fx.engine);
	unlink(fx.sock);
	unlink(fx.manifest);
	rmdir(fx.run);
	rmdir(fx.dir);
	manifest_free(&fx.a.manifest);
	free(fx.a.engine_path);
	event_base_free(fx.a.base);
	config_free(&fx.a.cfg);
}

TestSuite(expose, .init = setup, .fini = teardown, .timeout = 30);

static void
engine_up(void)
{
	fx.engine_lfd = unix_listen(fx.engine, 8);
	fx.a.engine_socket_present = true;
}

/* Run the agent's loop until fd is ready for events (bounded). */
static bool
pump_until(int fd, short events)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (wait_for(fd, events, 0))
			return true;
		struct timeval tv = { 0, 10000 };
		event_base_loopexit(fx.a.base, &tv);
		event_base_loop(fx.a.base, EVLOOP_ONCE);
	}
	return wait_for(fd, events, 0);
}

static const char *
member(struct json_object *o, const char *key)
{
	struct json_object *v;
	cr_assert(json_object_object_get_ex(o, key, &v), "no %s", key);
	return json_object_get_string(v);
}

Test(expose, proxy_listens_with_the_group_and_reaches_the_engine)
{
	struct group *g = getgrnam(GROUP);
	cr_assert(not(eq(ptr, g, NULL)), "group %s is missing", GROUP);
	engine_up();
	expose_reconcile(fx.a.expose);
	cr_assert(eq(int, expose_state(fx.a.expose), SOCK_OK), "%s",
	    expose_detail(fx.a.expose));

	struct stat st;
	cr_assert(eq(int, stat(fx.sock, &st), 0), "%s", strerror(errno));
	bool is_socket = S_ISSOCK(st.st_mode);
	cr_assert(is_socket);
	cr_assert(eq(u32, (uint32_t)(st.st_mode & 07777), 0660u));
	cr_assert(eq(u32, (uint32_t)st.st_uid, 0u));
	cr_assert(eq(u32, (uint32_t)st.st_gid, (uint32_t)g->gr_gid));
	cr_assert(not(eq(ptr, manifest_find(&fx.a.manifest, "socket", fx.sock),
	    NULL)), "the socket is in the manifest");

	/* A client's bytes reach the engine, and the engine's come back. */
	int c = unix_connect(fx.sock);
	cr_assert(pump_until(fx.engine_lfd, POLLIN), "no connection reached "
	    "the engine");
	int e = accept_within(fx.engine_lfd, WAIT_MS);
	write_all(c, "GET /_ping HTTP/1.1\r\n\r\n", 23);
	char buf[32];
	cr_assert(pump_until(e, POLLIN));
	read_exactly(e, buf, 23, WAIT_MS);
	cr_assert(eq(int, memcmp(buf, "GET /_ping HTTP/1.1\r\n\r\n", 23), 0));
	write_all(e, "HTTP/1.1 200 OK\r\n", 17);
	cr_assert(pump_until(c, POLLIN));
	read_exactly(c, buf, 17, WAIT_MS);
	cr_assert(eq(int, memcmp(buf, "HTTP/1.1 200 OK\r\n", 17), 0));
	close(c);
	close(e);

	struct json_object *problems = json_object_new_array();
	struct json_object *s = expose_status_json(fx.a.expose, problems);
	cr_assert(eq(str, (char *)member(s, "path"), fx.sock));
	cr_assert(eq(str, (char *)member(s, "mode"), "proxy"));
	cr_assert(eq(str, (char *)member(s, "state"), "ok"));
	cr_assert(eq(str, (char *)member(s, "group"), GROUP));
	cr_assert(eq(str, (char *)member(s, "permissions"), "0660"));
	cr_assert(eq(sz, json_object_array_length(problems), (size_t)0));
	json_object_put(s);
	json_object_put(problems);

	struct json_object *px = expose_proxy_json(fx.a.expose);
	cr_assert(eq(int, json_object_get_int(json_object_object_get(px,
	    "total")), 1));
	json_object_put(px);
}

Test(expose, a_live_socket_not_ours_is_refused_and_reported)
{
	engine_up();
	cr_assert(eq(int, mkdir(fx.run, 0755), 0));
	int foreign = unix_listen(fx.sock, 8);
	struct stat before, after;
	cr_assert(eq(int, stat(fx.sock, &before), 0));

	expose_reconcile(fx.a.expose);
	cr_assert(eq(int, expose_state(fx.a.expose), SOCK_CONFLICT));
	cr_assert(not(eq(ptr, strstr(expose_detail(fx.a.expose),
	    "not taking it over"), NULL)), "%s", expose_detail(fx.a.expose));
	cr_assert(eq(ptr, expose_proxy(fx.a.expose), NULL));
	cr_assert(eq(ptr, manifest_find(&fx.a.manifest, "socket", fx.sock),
	    NULL));

	/* Its socket is untouched: the same file, still answered by it. */
	cr_assert(eq(int, stat(fx.sock, &after), 0));
	cr_assert(eq(u64, (uint64_t)after.st_ino, (uint64_t)before.st_ino));
	int probe = accept_within(foreign, WAIT_MS);	/* the agent's look */
	close(probe);
	int c = unix_connect(fx.sock);
	int got = accept_within(foreign, WAIT_MS);
	close(got);
	close(c);

	struct json_object *problems = json_object_new_array();
	struct json_object *s = expose_status_json(fx.a.expose, problems);
	cr_assert(eq(str, (char *)member(s, "state"), "conflict"));
	cr_assert(eq(sz, json_object_array_length(problems), (size_t)1));
	char what[700];
	snprintf(what, sizeof what, "%s: %s", fx.sock,
	    expose_detail(fx.a.expose));
	cr_assert(eq(str, (char *)member(json_object_array_get_idx(problems, 0),
	    "what"), what));
	json_object_put(s);
	json_object_put(problems);
	close(foreign);
}

Test(expose, a_stale_socket_is_replaced)
{
	engine_up();
	cr_assert(eq(int, mkdir(fx.run, 0755), 0));
	close(unix_listen(fx.sock, 1));		/* left behind, nobody listens */
	expose_reconcile(fx.a.expose);
	cr_assert(eq(int, expose_state(fx.a.expose), SOCK_OK), "%s",
	    expose_detail(fx.a.expose));
	int c = unix_connect(fx.sock);
	cr_assert(pump_until(fx.engine_lfd, POLLIN));
	close(c);
}

Test(expose, stop_removes_what_it_made)
{
	engine_up();
	expose_reconcile(fx.a.expose);
	cr_assert(eq(int, expose_state(fx.a.expose), SOCK_OK));
	cr_assert(not(eq(ptr, expose_proxy(fx.a.expose), NULL)));

	expose_stop(fx.a.expose, false);
	struct stat st;
	cr_assert(eq(int, stat(fx.sock, &st), -1));
	cr_assert(eq(int, errno, ENOENT), "socket.path is gone");
	cr_assert(eq(ptr, expose_proxy(fx.a.expose), NULL));
	cr_assert(eq(ptr, manifest_find(&fx.a.manifest, "socket", fx.sock),
	    NULL));
	cr_assert(eq(int, stat(fx.engine, &st), 0), "the engine's socket stays");
	/* The manifest on disk says so too. */
	struct manifest m;
	char err[256];
	cr_assert(eq(int, manifest_load(&m, fx.manifest, err, sizeof err), 0));
	cr_assert(eq(ptr, manifest_find(&m, "socket", fx.sock), NULL));
	manifest_free(&m);
}

Test(expose, disabled_serves_nothing)
{
	engine_up();
	fx.a.disabled = true;
	expose_reconcile(fx.a.expose);
	cr_assert(eq(int, expose_state(fx.a.expose), SOCK_DISABLED));
	struct stat st;
	cr_assert(eq(int, stat(fx.sock, &st), -1));
	cr_assert(eq(str, (char *)expose_detail(fx.a.expose),
	    "integration is off for this distro"));
}

Test(expose, engine_away_waits_while_listening)
{
	expose_reconcile(fx.a.expose);
	cr_assert(eq(int, expose_state(fx.a.expose), SOCK_WAITING));
	struct stat st;
	cr_assert(eq(int, stat(fx.sock, &st), 0));
	bool is_socket = S_ISSOCK(st.st_mode);
	cr_assert(is_socket);
}
