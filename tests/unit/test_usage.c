/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usage.c: who uses which exposure, against a fake engine on a real unix
 * socket (fake-engine.h) that lists containers and volumes as the test
 * says and keeps its event stream open; the exposures are real mounts on
 * the shared tmpfs of testlib-binds.h.  No agent: exposures, volumes and
 * usage only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/util.h"
#include "sys/trust.h"
#include "io/notify.h"
#include "features/exposures.h"
#include "features/usage.h"
#include "features/volume.h"
#include "fake-engine.h"
#include "testlib-binds.h"
#include "testlib.h"

#define WAIT_MS		8000

static struct bind_world w;
static struct {
	struct fake_engine	*engine;
	struct volumes		*volumes;
	struct usage		*usage;
	char			 list[4096];	/* GET /containers/json?all=1 */
	char			 vols[4096];	/* GET /volumes */
	const char		*list_status;
	int			 lists;
	int			 restores;
	char			 restore_why[256];
} fx;

static void
answer(void *arg, const char *head, struct fake_answer *a)
{
	(void)arg;
	if (strncmp(head, "GET /events?", 12) == 0) {
		a->status = "200 OK";
		a->stream = true;
	} else if (strncmp(head, "GET " USAGE_CONTAINERS_PATH " ", 27) == 0) {
		fx.lists++;
		a->status = fx.list_status;
		a->body = fx.list;
	} else if (strncmp(head, "GET /volumes ", 13) == 0) {
		a->status = "200 OK";
		a->body = fx.vols;
	} else {
		a->status = "404 Not Found";
		a->body = "{\"message\":\"no\"}";
	}
}

static void
wants_restore(void *arg, const char *why)
{
	(void)arg;
	fx.restores++;
	snprintf(fx.restore_why, sizeof fx.restore_why, "%s", why);
}

static void
setup(void)
{
	memset(&fx, 0, sizeof fx);
	bind_world_up(&w, "usage");
	put_file_in(w.dir, "home/app/f.txt", 0644, "app");
	snprintf(fx.list, sizeof fx.list, "[]");
	snprintf(fx.vols, sizeof fx.vols, "{\"Volumes\":[],\"Warnings\":null}");
	fx.list_status = "200 OK";
	fx.engine = fake_engine_new(w.base, bind_world_path(&w, "engine.sock"),
	    answer, NULL);
	fx.volumes = volumes_new(w.base, &w.cfg, w.exposures);
	fx.usage = usage_new(w.base, w.exposures, fx.volumes, w.changed,
	    wants_restore, NULL);
	cr_assert(not(eq(ptr, fx.usage, NULL)));
	exposures_reconcile(w.exposures);
}

static void
teardown(void)
{
	usage_free(fx.usage);
	volumes_free(fx.volumes);
	fake_engine_free(fx.engine);
	bind_world_down(&w);
}

TestSuite(usage, .init = setup, .fini = teardown, .timeout = 30);

/* The engine as the socket's walk gives it. */
static void
engine_there(void)
{
	usage_reconcile(fx.usage, true, fake_engine_fd(fx.engine),
	    fake_engine_path(fx.engine));
}

static char *
made(const char *rel)
{
	char *engine = NULL, why[1024] = "";
	cr_assert(eq(int, exposures_make_now(w.exposures, bind_world_path(&w,
	    rel), false, &engine, why, sizeof why), 0), "%s", why);
	return engine;
}

static bool
is_mounted(const char *path)
{
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int r = fd >= 0 ? trust_is_mount_root(fd) : -1;
	if (fd >= 0)
		close(fd);
	return r == 1;
}

static struct json_object *
binds_member(const char *key)
{
	static struct json_object *binds;
	json_object_put(binds);
	binds = json_object_new_object();
	usage_report(fx.usage, binds);
	exposures_report(w.exposures, binds, NULL);
	return json_object_object_get(binds, key);
}

static int64_t
collections(void)
{
	return json_object_get_int64(binds_member("collections"));
}

static bool
following(void *arg)
{
	(void)arg;
	return fake_engine_streams(fx.engine) == 1 &&
	    json_object_get_boolean(binds_member("following_engine"));
}

static bool
collected(void *arg)
{
	return collections() >= *(int *)arg;
}

static bool
none_left(void *arg)
{
	(void)arg;
	return exposures_count(w.exposures) == 0 &&
	    fake_engine_streams(fx.engine) == 0;
}

Test(usage, the_engine_is_followed_while_there_are_exposures)
{
	engine_there();
	cr_assert(eq(sz, fake_engine_requests(fx.engine), 0),
	    "nothing to collect: the engine is not asked");
	char *app = made("home/app");
	usage_follow(fx.usage);			/* as binds.c does after a make */
	cr_assert(run_until(w.base, following, NULL, WAIT_MS));
	/* The stream's head: a collection for what happened meanwhile. */
	int one = 1;
	cr_assert(run_until(w.base, collected, &one, WAIT_MS));
	cr_assert(eq(int, exposures_count(w.exposures), 1),
	    "held by its create until its container shows up");

	/* Its container came: it is the exposure's user. */
	snprintf(fx.list, sizeof fx.list, "[{\"Id\":\"c1\",\"Names\":[\"/web\"],"
	    "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"%s/sub\"}]}]", app);
	fake_engine_send(fx.engine, "{\"Type\":\"container\",\"Action\":"
	    "\"create\"}\n");
	int two = 2;
	cr_assert(run_until(w.base, collected, &two, WAIT_MS));
	struct json_object *x = json_object_array_get_idx(binds_member(
	    "exposures"), 0);
	cr_assert(eq(str, (char *)json_object_get_string(json_object_array_get_idx(
	    json_object_object_get(x, "containers"), 0)), "web"));
	cr_assert(eq(int, json_object_get_int(json_object_object_get(x,
	    "pending_creates")), 0));

	/* Removed: nothing uses it, it goes, and so does the stream. */
	snprintf(fx.list, sizeof fx.list, "[]");
	fake_engine_send(fx.engine, "{\"Type\":\"container\",\"Action\":"
	    "\"destroy\"}\n");
	cr_assert(run_until(w.base, none_left, NULL, WAIT_MS));
	cr_assert(eq(ptr, binds_member("error"), NULL));
	cr_assert(not(json_object_get_boolean(binds_member("following_engine"))));
	cr_assert(gt(u64, notify_runs(w.changed), 0), "each collection is told");
	cr_assert(eq(int, fx.restores, 0));
	free(app);
}

Test(usage, a_volume_bound_to_an_exposure_is_its_user)
{
	engine_there();
	char *app = made("home/app");
	snprintf(fx.vols, sizeof fx.vols, "{\"Volumes\":[{\"Name\":\"data\","
	    "\"Driver\":\"local\",\"Options\":{\"type\":\"none\",\"o\":\"bind\","
	    "\"device\":\"%s\"}}],\"Warnings\":null}", app);
	usage_follow(fx.usage);
	int one = 1;
	cr_assert(run_until(w.base, collected, &one, WAIT_MS));
	struct json_object *x = json_object_array_get_idx(binds_member(
	    "exposures"), 0);
	cr_assert(eq(str, (char *)json_object_get_string(json_object_array_get_idx(
	    json_object_object_get(x, "containers"), 0)), "volume data"));
	free(app);
}

static bool
errored(void *arg)
{
	(void)arg;
	return binds_member("error") != NULL;
}

Test(usage, an_engine_that_cannot_say_keeps_every_exposure)
{
	fx.list_status = "500 Internal Server Error";
	engine_there();
	char *app = made("home/app");
	usage_follow(fx.usage);
	cr_assert(run_until(w.base, errored, NULL, WAIT_MS));
	cr_assert(eq(str, (char *)json_object_get_string(binds_member("error")),
	    "GET " USAGE_CONTAINERS_PATH " answered 500"));
	cr_assert(eq(i64, collections(), 0));
	cr_assert(eq(int, exposures_count(w.exposures), 1), "kept");
	cr_assert(is_mounted(app));
	free(app);
}

Test(usage, a_used_exposure_not_mounted_asks_for_a_restore)
{
	char *app = made("home/app");
	exposures_free(w.exposures);		/* a restart, */
	cr_assert(eq(int, umount2(app, MNT_DETACH), 0));	/* a reboot */
	w.exposures = exposures_new(&w.cfg, &w.manifest, w.changed);
	usage_free(fx.usage);
	volumes_free(fx.volumes);
	fx.volumes = volumes_new(w.base, &w.cfg, w.exposures);
	fx.usage = usage_new(w.base, w.exposures, fx.volumes, w.changed,
	    wants_restore, NULL);
	exposures_reconcile(w.exposures);
	snprintf(fx.list, sizeof fx.list, "[{\"Id\":\"c1\",\"Names\":[\"/db\"],"
	    "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"%s\"}]}]", app);
	engine_there();				/* the first look: at once */
	int one = 1;
	cr_assert(run_until(w.base, collected, &one, WAIT_MS));
	cr_assert(eq(int, fx.restores, 1));
	cr_assert(eq(str, fx.restore_why, "a container uses an exposure that "
	    "is not mounted"));
	cr_assert(eq(int, exposures_count(w.exposures), 1), "kept for it");
	free(app);
}

Test(usage, a_stream_that_ends_is_followed_again_and_collects)
{
	engine_there();
	char *app = made("home/app");
	usage_follow(fx.usage);
	int one = 1;
	cr_assert(run_until(w.base, collected, &one, WAIT_MS));
	cr_assert(run_until(w.base, following, NULL, WAIT_MS));
	fake_engine_end_streams(fx.engine);	/* the engine restarted */
	int two = 2;
	cr_assert(run_until(w.base, collected, &two, WAIT_MS),
	    "followed again, backing off, and collected for meanwhile");
	cr_assert(run_until(w.base, following, NULL, WAIT_MS));
	free(app);
}

/* Issue 19: an engine socket not trusted (or absent) is never asked. */
Test(usage, an_engine_not_usable_is_never_asked)
{
	char *app = made("home/app");
	usage_reconcile(fx.usage, false, fake_engine_fd(fx.engine),
	    fake_engine_path(fx.engine));
	usage_follow(fx.usage);
	/* A connection would be in the backlog now: accepted at once. */
	for (int i = 0; i < 4; i++)
		cr_assert(ge(int, event_base_loop(w.base, EVLOOP_NONBLOCK), 0));
	cr_assert(eq(sz, fake_engine_connections(fx.engine), 0));
	cr_assert(not(json_object_get_boolean(binds_member("following_engine"))));
	free(app);
}
