/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restore.c: a pass against a fake engine (fake-engine.h), as after a VM
 * reboot, with no agent: the exposures of testlib-binds.h (real mounts on
 * a shared tmpfs in the test's own mount namespace), the worker thread,
 * and restore.  The engine lists a running container of user 1000 whose
 * exposure is not mounted, started before it is mounted back (so on the
 * stand-in the engine made, which holds what it wrote).  Then readiness,
 * and the repair message restore queues for the host.
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

#include <event2/event.h>
#include <json-c/json.h>

#include "base/json.h"
#include "base/util.h"
#include "sys/manifest.h"
#include "wire/protocol.h"
#include "io/notify.h"
#include "io/work.h"
#include "features/exposures.h"
#include "main/request.h"
#include "features/restore.h"
#include "fake-engine.h"
#include "testlib-binds.h"
#include "testlib.h"

#define OWNER		1000	/* the source's owner */
#define STRANGER	1001	/* another ordinary user */
#define CONTAINER_ID	"0123456789abcdef0123456789abcdef" \
			"0123456789abcdef0123456789abcdef"
#define INSPECT		"GET /containers/" CONTAINER_ID "/json "
#define RESTART		"POST /containers/" CONTAINER_ID "/restart "

static struct bind_world w;
static struct {
	char	 source[PATH_MAX];	/* user 1000's bind source */
	char	 gone[PATH_MAX];	/* a source deleted meanwhile */
	char	 point[PATH_MAX];	/* its exposure (the stand-in) */
	char	 gone_point[PATH_MAX];
	char	 list[4096];		/* GET /containers/json?all=1 */
	struct fake_engine *engine;
	struct work	*work;
	struct restore	*restore;
	int	 restarts;
	bool	 listing_held;		/* the list is not answered yet */
} fx;

/* The answer to one request head; the list held while listing_held. */
static void
answer(void *arg, const char *h, struct fake_answer *a)
{
	(void)arg;
	a->body = "";
	if (strncmp(h, "GET /containers/json?all=1 ", 27) == 0) {
		if (!fx.listing_held) {
			a->status = "200 OK";
			a->body = fx.list;
		}
	} else if (strncmp(h, INSPECT, strlen(INSPECT)) == 0) {
		a->status = "200 OK";
		a->body = "{\"State\":{\"Running\":true,\"StartedAt\":"
		    "\"2020-01-01T00:00:00.5Z\"}}";
	} else if (strncmp(h, RESTART, strlen(RESTART)) == 0) {
		fx.restarts++;
		a->status = "204 No Content";
	} else {
		a->status = "404 Not Found";
		a->body = "{\"message\":\"no\"}";
	}
}

/* An exposure recorded in the manifest, its point holding a stand-in. */
static void
recorded_exposure(const char *source, char *point, size_t len)
{
	snprintf(point, len, "%s", bind_world_point(source));
	cr_assert(eq(int, util_mkdir_p(point, 0755), 0), "%s", point);
	cr_assert(eq(int, manifest_add(&w.manifest, EXPOSURES_MANIFEST_KIND,
	    point, source), 0));
}

static void
pass_setup(void)
{
	memset(&fx, 0, sizeof fx);
	bind_world_up(&w, "restore");
	cr_assert(eq(int, mkdir("/mnt/wsl/" EXPOSURES_DIR_NAME, 0755), 0));
	cr_assert(eq(int, mkdir(BIND_WORLD_AREA, 0700), 0));

	/* User 1000's source, and what the container wrote on its stand-in. */
	snprintf(fx.source, sizeof fx.source, "%s", bind_world_path(&w,
	    "home/db"));
	put_file_in(w.dir, "home/db/f.txt", 0644, "distro-db");
	cr_assert(eq(int, chown(fx.source, OWNER, OWNER), 0));
	recorded_exposure(fx.source, fx.point, sizeof fx.point);
	put_file_in(fx.point, "PG_VERSION", 0600, "16");
	/* A second source, deleted while the distro was down. */
	snprintf(fx.gone, sizeof fx.gone, "%s", bind_world_path(&w, "home/gone"));
	recorded_exposure(fx.gone, fx.gone_point, sizeof fx.gone_point);
	cr_assert(eq(int, manifest_save(&w.manifest), 0));
	snprintf(fx.list, sizeof fx.list, "[{\"Id\":\"" CONTAINER_ID "\","
	    "\"Names\":[\"/db\"],\"State\":\"running\",\"Mounts\":["
	    "{\"Type\":\"bind\",\"Source\":\"%s\",\"RW\":true},"
	    "{\"Type\":\"bind\",\"Source\":\"%s\",\"RW\":true}]}]",
	    fx.point, fx.gone_point);

	fx.engine = fake_engine_new(w.base, bind_world_path(&w, "engine.sock"),
	    answer, NULL);
	exposures_reconcile(w.exposures);	/* the area, the manifest */
	cr_assert(eq(int, exposures_count(w.exposures), 2));
	fx.work = work_new(w.base);
	cr_assert(not(eq(ptr, fx.work, NULL)));
}

static void
pass_teardown(void)
{
	work_free(fx.work);
	restore_free(fx.restore);
	fake_engine_free(fx.engine);
	bind_world_down(&w);
}

TestSuite(restore_pass, .init = pass_setup, .fini = pass_teardown,
    .timeout = 30);

static struct json_object *
restore_member(void)
{
	struct json_object *o = json_object_new_object();
	restore_report(fx.restore, o, NULL);
	struct json_object *r = json_object_get(json_object_object_get(o,
	    "restore"));
	json_object_put(o);
	return r;
}

/*
 * The status members restore and the exposures report, as main/ puts
 * them together (request.c filters this for an ordinary user).
 */
static struct json_object *
status(void)
{
	struct json_object *o = json_object_new_object();
	struct json_object *problems = json_object_new_array();
	struct json_object *binds = json_object_new_object();
	exposures_report(w.exposures, binds, problems);
	json_object_object_add(o, "binds", binds);
	restore_report(fx.restore, o, problems);
	json_object_object_add(o, "problems", problems);
	return o;
}

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
	struct json_object *o = restore_member();
	const char *state = json_string(o, "state");
	bool done = state != NULL && strcmp(state, "done") == 0 &&
	    json_object_get_int(json_object_object_get(o, "runs")) >=
	    *(int *)arg &&
	    json_object_get_int(json_object_object_get(o, "moving")) == 0;
	json_object_put(o);
	return done;
}

static void
make_restore(const char *repair)
{
	bind_world_set(&w, "bind.repair", repair);
	fx.restore = restore_new(w.base, &w.cfg, w.exposures, fx.work,
	    w.changed);
	cr_assert(not(eq(ptr, fx.restore, NULL)));
}

static void
engine_there(void)
{
	restore_reconcile(fx.restore, true, fake_engine_fd(fx.engine),
	    fake_engine_path(fx.engine));
}

static void
run_pass(const char *repair)
{
	make_restore(repair);
	engine_there();
	int first = 1;
	cr_assert(run_until(w.base, pass_settled, &first, 10000),
	    "the pass did not end: %s", member_string(status(), "restore"));
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
		const char *what = json_string(p, "what");
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
	struct json_object *root = status();
	char *before = seen(root), *record = (char *)strdup(member_string(
	    restore_member(), "repairs"));
	cr_assert(not(eq(ptr, strstr(before, "\"container\":\"db\""), NULL)),
	    "root sees the repair: %s", before);
	cr_assert(not(eq(ptr, problem_about(root, fx.gone), NULL)),
	    "and the source not back: %s", before);

	struct json_object *user = status();
	request_status_for_user(user, STRANGER);
	cr_assert(eq(ptr, strstr(seen(user), "\"container\":\"db\""), NULL),
	    "another user does not: %s", seen(user));
	cr_assert(eq(ptr, strstr(seen(user), fx.source), NULL), "%s", seen(user));
	json_object_put(user);

	struct json_object *again = status();
	cr_assert(eq(str, seen(again), before),
	    "root's status after an ordinary user's is what it was");
	cr_assert(eq(str, (char *)member_string(restore_member(), "repairs"),
	    record), "the record kept");
	json_object_put(again);
	json_object_put(root);
	free(before);
	free(record);
}

/* The move it led to, recorded with its repair. */
Test(restore_pass, the_stand_in_is_moved_off_the_loop_and_recorded)
{
	run_pass("restart");
	struct json_object *o = restore_member();
	struct json_object *rep = json_object_array_get_idx(
	    json_object_object_get(o, "repairs"), 0);
	const char *at = json_string(rep, "stand_in");
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
	/* The exposure is back, and its record says when. */
	char f[PATH_MAX + 16];
	snprintf(f, sizeof f, "%s/f.txt", fx.point);
	cr_assert(eq(int, access(f, F_OK), 0), "the distro's files at %s",
	    fx.point);
	cr_assert(gt(u64, exposures_mounted_at(w.exposures, fx.point), 0));
}

/* Finding 6 of issue 19: restore's problems name others' containers. */
Test(restore_pass, restores_problems_are_hidden_from_users_not_owning_the_source)
{
	run_pass("report");
	struct json_object *root = status();
	const char *runs = "container db runs on an empty stand-in";
	cr_assert(not(eq(ptr, problem_about(root, runs), NULL)), "%s",
	    member_string(root, "problems"));

	struct json_object *stranger = status();
	request_status_for_user(stranger, STRANGER);
	const char *text = member_string(stranger, "problems");
	cr_assert(eq(ptr, problem_about(stranger, runs), NULL), "%s", text);
	cr_assert(eq(ptr, strstr(text, "db"), NULL), "no container named: %s",
	    text);
	cr_assert(eq(ptr, strstr(text, fx.gone), NULL), "%s", text);
	cr_assert(not(eq(ptr, strstr(text, "hidden from ordinary users"),
	    NULL)), "%s", text);

	struct json_object *owner = status();
	request_status_for_user(owner, OWNER);
	cr_assert(not(eq(ptr, problem_about(owner, runs), NULL)),
	    "the source's owner sees it: %s", member_string(owner, "problems"));
	cr_assert(eq(ptr, problem_about(owner, fx.gone), NULL),
	    "a source gone has no owner: %s", member_string(owner, "problems"));

	cr_assert(not(eq(ptr, problem_about(status(), runs), NULL)),
	    "root's is as it was");
	json_object_put(owner);
	json_object_put(stranger);
	json_object_put(root);
}

/* Finding 3 of issue 19: what goes over bind.standin_max stays, named. */
Test(restore_pass, over_the_cap_the_data_stays_named_until_a_reconcile_moves_it)
{
	bind_world_set(&w, "bind.standin_max", "0");
	run_pass("restart");
	struct json_object *st = status();
	struct json_object *p = problem_about(st, "stay there, shown at");
	cr_assert(not(eq(ptr, p, NULL)), "%s", member_string(st, "problems"));
	const char *what = json_string(p, "what");
	cr_assert(not(eq(ptr, strstr(what, "container db on "), NULL)), "%s", what);
	cr_assert(not(eq(ptr, strstr(what, fx.source), NULL)), "%s", what);
	cr_assert(not(eq(ptr, strstr(what, "4 KiB"), NULL)), "how much: %s",
	    what);
	cr_assert(not(eq(ptr, strstr(what, ".stand-in"), NULL)), "where: %s",
	    what);
	cr_assert(not(eq(ptr, strstr(json_string(p, "fix"),
	    "raise bind.standin_max"), NULL)));
	cr_assert(not(eq(ptr, strstr(json_string(p, "fix"),
	    "reconcile"), NULL)));
	struct json_object *rep = json_object_array_get_idx(
	    json_object_object_get(json_object_object_get(st, "restore"),
	    "repairs"), 0);
	cr_assert(eq(i64, json_object_get_int64(json_object_object_get(rep,
	    "moved")), 0), "%s", member_string(st, "restore"));
	cr_assert(gt(i64, json_object_get_int64(json_object_object_get(rep,
	    "left")), 0));
	const char *left_at = json_string(rep, "left_at");
	cr_assert(not(eq(ptr, (void *)left_at, NULL)));
	char f[PATH_MAX + 16];
	snprintf(f, sizeof f, "%s/PG_VERSION", left_at);
	cr_assert(eq(int, access(f, F_OK), 0), "shown at %s", left_at);
	struct json_object *user = status();
	request_status_for_user(user, STRANGER);
	cr_assert(eq(ptr, problem_about(user, "stay there"), NULL),
	    "another user is not told: %s", member_string(user, "problems"));
	json_object_put(user);
	json_object_put(st);

	/* The key raised, then a reconcile: the next pass moves it. */
	bind_world_set(&w, "bind.standin_max", "1024");
	restore_request(fx.restore, "the test");
	int second = 2;
	cr_assert(run_until(w.base, pass_settled, &second, 10000));
	st = status();
	cr_assert(eq(ptr, problem_about(st, "stay there"), NULL), "%s",
	    member_string(st, "problems"));
	rep = json_object_array_get_idx(json_object_object_get(
	    json_object_object_get(st, "restore"), "repairs"), 0);
	cr_assert(gt(i64, json_object_get_int64(json_object_object_get(rep,
	    "moved")), 0), "%s", member_string(st, "restore"));
	cr_assert(eq(ptr, json_object_object_get(rep, "left_at"), NULL));
	snprintf(f, sizeof f, "%s/PG_VERSION", json_string(rep,
	    "stand_in"));
	cr_assert(eq(int, access(f, F_OK), 0), "%s", f);
	json_object_put(st);
}

/*
 * The repair message for the host, as restore queues it (main/ takes it
 * on the changed notice and sends it): it conforms to protocol(7).
 */
Test(restore_pass, the_repair_message_conforms_to_the_protocol)
{
	char why[256];
	run_pass("restart");
	cr_assert(gt(u64, notify_posts(w.changed), 0), "the queue was told");
	struct json_object *q = restore_take_messages(fx.restore);
	cr_assert(eq(sz, json_object_array_length(q), 1), "%s",
	    json_object_to_json_string(q));
	cr_assert(eq(ptr, restore_take_messages(fx.restore), NULL), "taken");
	struct json_object *m = json_object_array_get_idx(q, 0);
	cr_assert(eq(str, (char *)json_string(m, "type"), "repair"));
	cr_assert(eq(str, (char *)json_string(m, "container"), "db"));
	cr_assert(eq(str, (char *)json_string(m, "id"), CONTAINER_ID));
	cr_assert(eq(str, (char *)json_string(m, "source"), fx.source));
	cr_assert(json_object_get_boolean(json_object_object_get(m,
	    "restarted")));
	cr_assert(eq(int, proto_check_agent_message(m, why, sizeof why), 0),
	    "%s: %s", why, json_object_to_json_string(m));
	json_object_object_add(m, "container", NULL);
	json_object_object_add(m, "stand_in", NULL);
	cr_assert(eq(int, proto_check_agent_message(m, why, sizeof why), 0),
	    "a stand-in no container used, empty: %s", why);
	json_object_object_del(m, "source");
	cr_assert(eq(int, proto_check_agent_message(m, why, sizeof why), -1),
	    "the source is required");
	json_object_put(q);
}

static bool
listed(void *arg)
{
	(void)arg;
	return fake_engine_requests(fx.engine) > 0;
}

/* READY=1 waits for the exposures back, not for the repairs. */
Test(restore_pass, readiness_is_held_while_the_pass_lists_and_no_longer)
{
	make_restore("restart");
	cr_assert(restore_holds_ready(fx.restore), "from the start");
	fx.listing_held = true;
	engine_there();
	cr_assert(run_until(w.base, listed, NULL, 10000));
	cr_assert(restore_holds_ready(fx.restore), "while it lists");
	uint64_t posts = notify_posts(w.changed);
	fx.listing_held = false;
	restore_free(fx.restore);	/* the held answer is never sent */
	make_restore("restart");
	engine_there();
	int first = 1;
	cr_assert(run_until(w.base, pass_settled, &first, 10000));
	cr_assert(not(restore_holds_ready(fx.restore)), "let go");
	cr_assert(gt(u64, notify_posts(w.changed), posts), "and told");
}

Test(restore_pass, readiness_is_let_go_at_once_without_an_engine)
{
	make_restore("restart");
	cr_assert(restore_holds_ready(fx.restore));
	restore_reconcile(fx.restore, false, -1, NULL);
	cr_assert(not(restore_holds_ready(fx.restore)));
	bind_world_set(&w, "bind.restore_timeout", "0");
	restore_free(fx.restore);
	make_restore("restart");
	cr_assert(not(restore_holds_ready(fx.restore)),
	    "bind.restore_timeout 0: never held");
}
