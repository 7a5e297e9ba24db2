/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restore.c: an exposure's record kept in the manifest across a restart;
 * the repair message; a pass against a fake engine (below).
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <json-c/json.h>

#include "base/util.h"
#include "sys/manifest.h"
#include "wire/protocol.h"
#include "io/work.h"
#include "features/bind.h"
#include "features/request.h"
#include "features/restore.h"
#include "main/agent.h"
#include "testlib.h"

TestSuite(restore, .init = tmp_root_setup, .fini = tmp_root_teardown);

Test(restore, the_record_is_kept_in_the_manifest_across_a_restart)
{
	char path[PATH_MAX], err[256] = "";
	snprintf(path, sizeof path, "%s/manifest.json", tmp_root);
	static struct agent a;
	cr_assert_eq(manifest_load(&a.manifest, path, err, sizeof err), 0);
	const char *local = "/mnt/wsl/docker-desktop-bind-mounts/d/ab12";
	cr_assert_eq(manifest_add(&a.manifest, BIND_MANIFEST_KIND, local,
	    "/home/dev/db"), 0);
	struct json_object *users = json_tokener_parse(
	    "[{\"id\":\"0123456789ab\",\"name\":\"db\"}]");
	restore_record(&a, local, true, users, true, true);
	json_object_put(users);
	restore_record(&a, "/not/recorded", false, NULL, false, false);
	cr_assert_eq(manifest_save(&a.manifest), 0);
	manifest_free(&a.manifest);

	cr_assert_eq(manifest_load(&a.manifest, path, err, sizeof err), 0);
	struct manifest_entry *e = manifest_find(&a.manifest,
	    BIND_MANIFEST_KIND, local);
	cr_assert_not_null(e);
	cr_assert_not_null(e->meta, "the record came back");
	struct json_object *v;
	cr_assert(json_object_object_get_ex(e->meta, "read_only", &v));
	cr_assert(json_object_get_boolean(v), "read-only kept");
	cr_assert(json_object_object_get_ex(e->meta, "containers", &v));
	cr_assert_str_eq(util_json_string(json_object_array_get_idx(v, 0),
	    "name"), "db");
	cr_assert(json_object_object_get_ex(e->meta, "mounted_at", &v));
	int64_t at = json_object_get_int64(v);
	cr_assert_gt(at, 0);
	/* Not mounted again: the time stays; users unknown: they stay. */
	a.manifest.dirty = false;
	restore_record(&a, local, true, NULL, true, false);
	cr_assert_not(a.manifest.dirty, "an unchanged record writes nothing");
	restore_record(&a, local, false, NULL, false, false);
	cr_assert(a.manifest.dirty);
	cr_assert(json_object_object_get_ex(e->meta, "mounted_at", &v));
	cr_assert_null(v, "not mounted: no mount time");
	manifest_free(&a.manifest);
}

Test(restore, the_repair_message_conforms_to_the_protocol)
{
	char why[256];
	struct json_object *m = json_tokener_parse("{\"type\":\"repair\","
	    "\"container\":\"db\",\"id\":\"0123456789ab\",\"source\":"
	    "\"/home/dev/db\",\"stand_in\":\"/var/lib/wsl-docker-agent/"
	    "stand-ins/db-20261202T021600Z\",\"restarted\":true,\"at\":"
	    "\"2026-12-02T02:16:00Z\"}");
	cr_assert_eq(proto_check_agent_message(m, why, sizeof why), 0, "%s", why);
	json_object_object_add(m, "container", NULL);
	json_object_object_add(m, "stand_in", NULL);
	cr_assert_eq(proto_check_agent_message(m, why, sizeof why), 0,
	    "a stand-in no container used, empty: %s", why);
	json_object_object_del(m, "source");
	cr_assert_eq(proto_check_agent_message(m, why, sizeof why), -1,
	    "the source is required");
	json_object_put(m);
}

/* ------------------------------------------------------------------ */
/*
 * A pass against a fake engine, as after a VM reboot: the engine lists a
 * running container of user 1000 whose exposure is not mounted, started
 * before it is mounted back (so on the stand-in the engine made, which
 * holds what it wrote).  The shared tmpfs is a tmpfs at /mnt/wsl in the
 * test's own mount namespace, so the bind area and the mounts are real.
 */

#define OWNER		1000	/* the source's owner */
#define STRANGER	1001	/* another ordinary user */
#define CONTAINER_ID	"0123456789abcdef0123456789abcdef" \
			"0123456789abcdef0123456789abcdef"
#define INSPECT		"GET /containers/" CONTAINER_ID "/json "
#define RESTART		"POST /containers/" CONTAINER_ID "/restart "

static struct test_agent t;
static struct {
	char	 source[PATH_MAX];	/* user 1000's bind source */
	char	 gone[PATH_MAX];	/* a source deleted meanwhile */
	char	 point[PATH_MAX];	/* its exposure (the stand-in) */
	char	 gone_point[PATH_MAX];
	char	 list[4096];		/* GET /containers/json?all=1 */
	struct evconnlistener *engine;	/* the fake engine */
	int	 restarts;
} fx;

/* The answer to one request head: status and body; NULL: keep quiet. */
static const char *
fake_answer(const char *h, const char **body)
{
	*body = "";
	if (strncmp(h, "GET /events", 11) == 0)
		return NULL;			/* a stream that stays quiet */
	if (strncmp(h, "GET /containers/json?all=1 ", 27) == 0) {
		*body = fx.list;
		return "200 OK";
	}
	if (strncmp(h, INSPECT, strlen(INSPECT)) == 0) {
		*body = "{\"State\":{\"Running\":true,\"StartedAt\":"
		    "\"2020-01-01T00:00:00.5Z\"}}";
		return "200 OK";
	}
	if (strncmp(h, RESTART, strlen(RESTART)) == 0) {
		fx.restarts++;
		return "204 No Content";
	}
	*body = "{\"message\":\"no\"}";
	return "404 Not Found";
}

static void
fake_sent(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_free(bev);		/* Connection: close */
}

/* A whole request head: answered, or the connection kept quiet. */
static void
fake_request(struct bufferevent *bev, void *arg)
{
	(void)arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0)
		return;
	char head[2048] = "";
	evbuffer_copyout(in, head, sizeof head - 1);
	evbuffer_drain(in, evbuffer_get_length(in));
	const char *body, *status = fake_answer(head, &body);
	if (status == NULL)
		return;
	evbuffer_add_printf(bufferevent_get_output(bev), "HTTP/1.1 %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", status, strlen(body), body);
	bufferevent_setcb(bev, NULL, fake_sent, NULL, NULL);
}

static void
fake_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	(void)l, (void)sa, (void)len, (void)arg;
	struct bufferevent *bev = bufferevent_socket_new(t.a.base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	cr_assert(not(eq(ptr, bev, NULL)));
	bufferevent_setcb(bev, fake_request, NULL, NULL, NULL);
	cr_assert(eq(int, bufferevent_enable(bev, EV_READ), 0));
}

/* An exposure recorded in the manifest, its point holding a stand-in. */
static void
recorded_exposure(const char *source, char *point, size_t len)
{
	char hex[65];
	bind_path_hash(source, hex);
	snprintf(point, len, "/mnt/wsl/" BIND_DIR_NAME "/unit/%s", hex);
	cr_assert(eq(int, mkdir(point, 0755), 0), "%s", point);
	cr_assert(eq(int, manifest_add(&t.a.manifest, BIND_MANIFEST_KIND,
	    point, source), 0));
}

static void
pass_setup(void)
{
	memset(&fx, 0, sizeof fx);
	test_agent_setup(&t, "restore");	/* a mount namespace of its own */
	/* The shared tmpfs, where pathmap finds it: mounted, shared. */
	cr_assert(eq(int, mount("wda-test", "/mnt", "tmpfs", 0, "mode=755"), 0));
	cr_assert(eq(int, mkdir("/mnt/wsl", 0755), 0));
	cr_assert(eq(int, mount("wda-test", "/mnt/wsl", "tmpfs", 0,
	    "mode=1777"), 0));
	cr_assert(eq(int, mount(NULL, "/mnt/wsl", NULL, MS_SHARED, NULL), 0));
	cr_assert(eq(int, mkdir("/mnt/wsl/" BIND_DIR_NAME, 0755), 0));
	cr_assert(eq(int, mkdir("/mnt/wsl/" BIND_DIR_NAME "/unit", 0700), 0));
	test_agent_set(&t, "bind.engine_wsl_root", "/mnt/wsl");

	/* User 1000's source, and what the container wrote on its stand-in. */
	snprintf(fx.source, sizeof fx.source, "%s/home/db", t.dir);
	put_file_in(t.dir, "home/db/f.txt", 0644, "distro-db");
	cr_assert(eq(int, chown(fx.source, OWNER, OWNER), 0));
	recorded_exposure(fx.source, fx.point, sizeof fx.point);
	put_file_in(fx.point, "PG_VERSION", 0600, "16");
	/* A second source, deleted while the distro was down. */
	snprintf(fx.gone, sizeof fx.gone, "%s/home/gone", t.dir);
	recorded_exposure(fx.gone, fx.gone_point, sizeof fx.gone_point);
	cr_assert(eq(int, manifest_save(&t.a.manifest), 0));
	snprintf(fx.list, sizeof fx.list, "[{\"Id\":\"" CONTAINER_ID "\","
	    "\"Names\":[\"/db\"],\"State\":\"running\",\"Mounts\":["
	    "{\"Type\":\"bind\",\"Source\":\"%s\",\"RW\":true},"
	    "{\"Type\":\"bind\",\"Source\":\"%s\",\"RW\":true}]}]",
	    fx.point, fx.gone_point);

	int lfd = test_agent_engine_up(&t);	/* the look trusts it */
	cr_assert(eq(int, evutil_make_socket_nonblocking(lfd), 0));
	fx.engine = evconnlistener_new(t.a.base, fake_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE, -1, lfd);
	cr_assert(not(eq(ptr, fx.engine, NULL)));
	bind_reconcile(&t.a);			/* the area, the manifest */
	t.a.work = work_new(t.a.base);
	cr_assert(not(eq(ptr, t.a.work, NULL)));
}

static void
pass_teardown(void)
{
	work_free(t.a.work);
	restore_free(t.a.restore);
	if (fx.engine != NULL)
		evconnlistener_free(fx.engine);	/* quiet streams end with the base */
	test_agent_teardown(&t);
}

TestSuite(restore_pass, .init = pass_setup, .fini = pass_teardown,
    .timeout = 30);

static const char *
member_string(struct json_object *o, const char *path)
{
	struct json_object *v = o;
	char buf[128];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *k = strtok(buf, "."); k != NULL && v != NULL;
	    k = strtok(NULL, "."))
		v = json_object_object_get(v, k);
	return v != NULL ? json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN) : "(none)";
}

/* Pass *arg (1, 2...) done, and the moves it handed over too. */
static bool
pass_settled(void *arg)
{
	struct json_object *o = restore_status_json(t.a.restore, NULL);
	const char *state = util_json_string(o, "state");
	bool done = state != NULL && strcmp(state, "done") == 0 &&
	    json_object_get_int(json_object_object_get(o, "runs")) >=
	    *(int *)arg &&
	    json_object_get_int(json_object_object_get(o, "moving")) == 0;
	json_object_put(o);
	return done;
}

static void
run_pass(const char *repair)
{
	test_agent_set(&t, "bind.repair", repair);
	t.a.restore = restore_new(&t.a);
	cr_assert(not(eq(ptr, t.a.restore, NULL)));
	restore_reconcile(t.a.restore);
	int first = 1;
	cr_assert(run_until(t.a.base, pass_settled, &first, 10000),
	    "the pass did not end: %s", member_string(agent_status_json(&t.a),
	    "restore"));
}

/* The members an ordinary user's filter works on, as one string. */
static char *
seen(struct json_object *st)
{
	char *text;
	cr_assert(ge(int, asprintf(&text, "%s|%s|%s", member_string(st,
	    "restore"), member_string(st, "problems"), member_string(st,
	    "binds.exposures")), 0));
	return text;
}

static struct json_object *
problem_about(struct json_object *st, const char *text)
{
	struct json_object *pr = json_object_object_get(st, "problems");
	for (size_t i = 0; i < json_object_array_length(pr); i++) {
		struct json_object *p = json_object_array_get_idx(pr, i);
		const char *what = util_json_string(p, "what");
		if (what != NULL && strstr(what, text) != NULL)
			return p;
	}
	return NULL;
}

/* Finding 2 of issue 19: an ordinary user's status changed root's. */
Test(restore_pass, an_ordinary_users_status_leaves_roots_as_it_was)
{
	run_pass("restart");
	cr_assert(eq(int, fx.restarts, 1), "the container on a stand-in");
	struct json_object *root = agent_status_json(&t.a);
	char *before = seen(root), *record = (char *)strdup(member_string(
	    restore_status_json(t.a.restore, NULL), "repairs"));
	cr_assert(not(eq(ptr, strstr(before, "\"container\":\"db\""), NULL)),
	    "root sees the repair: %s", before);
	cr_assert(not(eq(ptr, problem_about(root, fx.gone), NULL)),
	    "and the source not back: %s", before);

	struct json_object *user = agent_status_json(&t.a);
	request_status_for_user(user, STRANGER);
	cr_assert(eq(ptr, strstr(seen(user), "\"container\":\"db\""), NULL),
	    "another user does not: %s", seen(user));
	cr_assert(eq(ptr, strstr(seen(user), fx.source), NULL), "%s", seen(user));
	json_object_put(user);

	struct json_object *again = agent_status_json(&t.a);
	cr_assert(eq(str, seen(again), before),
	    "root's status after an ordinary user's is what it was");
	cr_assert(eq(str, (char *)member_string(restore_status_json(
	    t.a.restore, NULL), "repairs"), record), "the record kept");
	json_object_put(again);
	json_object_put(root);
	free(before);
	free(record);
}

/* The move it led to, recorded with its repair. */
Test(restore_pass, the_stand_in_is_moved_off_the_loop_and_recorded)
{
	run_pass("restart");
	struct json_object *o = restore_status_json(t.a.restore, NULL);
	struct json_object *rep = json_object_array_get_idx(
	    json_object_object_get(o, "repairs"), 0);
	const char *at = util_json_string(rep, "stand_in");
	cr_assert(not(eq(ptr, (void *)at, NULL)), "%s", member_string(o,
	    "repairs"));
	char p[PATH_MAX + 16], buf[16] = "";
	snprintf(p, sizeof p, "%s/PG_VERSION", at);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert(ge(int, fd, 0), "%s: %s", p, strerror(errno));
	cr_assert(eq(int, (int)read(fd, buf, sizeof buf - 1), 2));
	close(fd);
	cr_assert(eq(str, buf, "16"));
	cr_assert(gt(i64, json_object_get_int64(json_object_object_get(rep,
	    "moved")), 0), "moved is counted");
	cr_assert(eq(i64, json_object_get_int64(json_object_object_get(rep,
	    "left")), 0));
	cr_assert(eq(ptr, json_object_object_get(rep, "left_at"), NULL));
	json_object_put(o);
}

/* Finding 6 of issue 19: restore's problems name others' containers. */
Test(restore_pass, restores_problems_are_hidden_from_users_not_owning_the_source)
{
	run_pass("report");
	struct json_object *root = agent_status_json(&t.a);
	const char *runs = "container db runs on an empty stand-in";
	cr_assert(not(eq(ptr, problem_about(root, runs), NULL)), "%s",
	    member_string(root, "problems"));

	struct json_object *stranger = agent_status_json(&t.a);
	request_status_for_user(stranger, STRANGER);
	const char *text = member_string(stranger, "problems");
	cr_assert(eq(ptr, problem_about(stranger, runs), NULL), "%s", text);
	cr_assert(eq(ptr, strstr(text, "db"), NULL), "no container named: %s",
	    text);
	cr_assert(eq(ptr, strstr(text, fx.gone), NULL), "%s", text);
	cr_assert(not(eq(ptr, strstr(text, "hidden from ordinary users"),
	    NULL)), "%s", text);

	struct json_object *owner = agent_status_json(&t.a);
	request_status_for_user(owner, OWNER);
	cr_assert(not(eq(ptr, problem_about(owner, runs), NULL)),
	    "the source's owner sees it: %s", member_string(owner, "problems"));
	cr_assert(eq(ptr, problem_about(owner, fx.gone), NULL),
	    "a source gone has no owner: %s", member_string(owner, "problems"));

	cr_assert(not(eq(ptr, problem_about(agent_status_json(&t.a), runs),
	    NULL)), "root's is as it was");
	json_object_put(owner);
	json_object_put(stranger);
	json_object_put(root);
}

/* Finding 3 of issue 19: what goes over bind.standin_max stays, named. */
Test(restore_pass, over_the_cap_the_data_stays_named_until_a_reconcile_moves_it)
{
	test_agent_set(&t, "bind.standin_max", "0");
	run_pass("restart");
	struct json_object *st = agent_status_json(&t.a);
	struct json_object *p = problem_about(st, "stay there, shown at");
	cr_assert(not(eq(ptr, p, NULL)), "%s", member_string(st, "problems"));
	const char *what = util_json_string(p, "what");
	cr_assert(not(eq(ptr, strstr(what, "container db on "), NULL)), "%s", what);
	cr_assert(not(eq(ptr, strstr(what, fx.source), NULL)), "%s", what);
	cr_assert(not(eq(ptr, strstr(what, "4 KiB"), NULL)), "how much: %s",
	    what);
	cr_assert(not(eq(ptr, strstr(what, ".stand-in"), NULL)), "where: %s",
	    what);
	cr_assert(not(eq(ptr, strstr(util_json_string(p, "fix"),
	    "raise bind.standin_max"), NULL)));
	cr_assert(not(eq(ptr, strstr(util_json_string(p, "fix"),
	    "reconcile"), NULL)));
	struct json_object *rep = json_object_array_get_idx(
	    json_object_object_get(json_object_object_get(st, "restore"),
	    "repairs"), 0);
	cr_assert(eq(i64, json_object_get_int64(json_object_object_get(rep,
	    "moved")), 0), "%s", member_string(st, "restore"));
	cr_assert(gt(i64, json_object_get_int64(json_object_object_get(rep,
	    "left")), 0));
	const char *left_at = util_json_string(rep, "left_at");
	cr_assert(not(eq(ptr, (void *)left_at, NULL)));
	char f[PATH_MAX + 16];
	snprintf(f, sizeof f, "%s/PG_VERSION", left_at);
	cr_assert(eq(int, access(f, F_OK), 0), "shown at %s", left_at);
	struct json_object *user = agent_status_json(&t.a);
	request_status_for_user(user, STRANGER);
	cr_assert(eq(ptr, problem_about(user, "stay there"), NULL),
	    "another user is not told: %s", member_string(user, "problems"));
	json_object_put(user);
	json_object_put(st);

	/* The key raised, then a reconcile: the next pass moves it. */
	test_agent_set(&t, "bind.standin_max", "1024");
	restore_request(t.a.restore, "the test");
	int second = 2;
	cr_assert(run_until(t.a.base, pass_settled, &second, 10000));
	st = agent_status_json(&t.a);
	cr_assert(eq(ptr, problem_about(st, "stay there"), NULL), "%s",
	    member_string(st, "problems"));
	rep = json_object_array_get_idx(json_object_object_get(
	    json_object_object_get(st, "restore"), "repairs"), 0);
	cr_assert(gt(i64, json_object_get_int64(json_object_object_get(rep,
	    "moved")), 0), "%s", member_string(st, "restore"));
	cr_assert(eq(ptr, json_object_object_get(rep, "left_at"), NULL));
	snprintf(f, sizeof f, "%s/PG_VERSION", util_json_string(rep,
	    "stand_in"));
	cr_assert(eq(int, access(f, F_OK), 0), "%s", f);
	json_object_put(st);
}
