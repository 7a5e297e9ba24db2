/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exposures.c: the area's checks (exposures_open_area on a tmpfs that
 * plays the shared /mnt/wsl, in a private mount namespace of the test's
 * own process; "an ordinary user" is uid 1000, by chown); an exposure's
 * record kept in the manifest across a restart; and the table itself,
 * with no agent: exposures made, mounted, collected, loaded again and
 * mounted back on a real shared tmpfs (testlib-binds.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <json-c/json.h>

#include "base/json.h"
#include "base/util.h"
#include "sys/manifest.h"
#include "sys/trust.h"
#include "io/notify.h"
#include "features/exposures.h"
#include "testlib-binds.h"
#include "testlib.h"

/* ------------------------------------------------------------------ */
/* The area */

#define USER_UID	1000
#define AREA		EXPOSURES_DIR_NAME "/d1"

static char root[64];
static struct trust_failure f;

/* root + "/" + rel, in one of a few static buffers. */
static const char *
in_root(const char *rel)
{
	static char paths[4][PATH_MAX];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, sizeof paths[0], "%s/%s", root, rel);
	return p;
}

static void
area_setup(void)
{
	make_temp_dir(root, sizeof root, "exposures");
	trusted_tree_up(root, in_root("docker-desktop"));
	put_dir_as(root, "etc", 0755, 0);	/* plays the victim's /etc */
	memset(&f, 0, sizeof f);
}

static void
area_teardown(void)
{
	trusted_tree_down(root);
}

static void
has_mode(const char *rel, unsigned mode, uid_t uid)
{
	struct stat st;
	cr_assert(eq(int, lstat(in_root(rel), &st), 0), "%s", in_root(rel));
	cr_assert(eq(u32, (unsigned)(st.st_mode & 07777), mode), "%s mode %o",
	    rel, (unsigned)(st.st_mode & 07777));
	cr_assert(eq(u32, st.st_uid, uid), "%s", rel);
}

static bool
exists(const char *rel)
{
	struct stat st;
	return lstat(in_root(rel), &st) == 0;
}

/* Refused for reason r at rel, and nothing is made in the fake /etc. */
static void
area_refused(enum trust_reason r, const char *rel)
{
	int fd = exposures_open_area(root, "d1", &f);
	cr_assert(eq(int, fd, -1), "trusted, expected %s", trust_reason_name(r));
	cr_assert(eq(int, (int)f.reason, (int)r), "reason %s, expected %s",
	    trust_reason_name(f.reason), trust_reason_name(r));
	cr_assert(eq(str, f.path, (char *)in_root(rel)));
	cr_assert(not(exists("etc/d1")));
	char line[2048];
	trust_failure_format(&f, line, sizeof line);
	cr_assert(not(eq(ptr, strstr(line, in_root(rel)), NULL)), "%s", line);
	cr_assert(eq(ptr, strchr(line, '\n'), NULL), "one line: %s", line);
}

TestSuite(exposures_area, .init = area_setup, .fini = area_teardown);

Test(exposures_area, made_by_the_agent_root_owned_and_private)
{
	int fd = exposures_open_area(root, "d1", &f);
	cr_assert(ge(int, fd, 0), "%s", trust_reason_name(f.reason));
	cr_assert(eq(str, f.path, (char *)in_root(AREA)));
	has_mode(EXPOSURES_DIR_NAME, 0755, 0);
	has_mode(AREA, 0700, 0);
	/* The descriptor is the area: what is made through it lands there. */
	cr_assert(eq(int, mkdirat(fd, "x", 0755), 0));
	cr_assert(exists(AREA "/x"));
	close(fd);
	/* Again: found, trusted, the same. */
	fd = exposures_open_area(root, "d1", &f);
	cr_assert(ge(int, fd, 0));
	close(fd);
}

Test(exposures_area, a_root_directory_found_is_made_private)
{
	put_dir_as(root, EXPOSURES_DIR_NAME, 0755, 0);
	put_dir_as(root, AREA, 0755, 0);
	int fd = exposures_open_area(root, "d1", &f);
	cr_assert(ge(int, fd, 0), "%s", trust_reason_name(f.reason));
	close(fd);
	has_mode(AREA, 0700, 0);
}

Test(exposures_area, distro_directory_symlinked_to_etc_is_refused)
{
	put_dir_as(root, EXPOSURES_DIR_NAME, 0755, 0);
	cr_assert(eq(int, symlink(in_root("etc"), in_root(AREA)), 0));
	area_refused(TRUST_SYMLINK, AREA);
}

Test(exposures_area, the_shared_directory_symlinked_is_refused)
{
	put_dir_as(root, "elsewhere", 0755, 0);
	cr_assert(eq(int, symlink(in_root("elsewhere"), in_root(EXPOSURES_DIR_NAME)),
	    0));
	area_refused(TRUST_SYMLINK, EXPOSURES_DIR_NAME);
	cr_assert(not(exists("elsewhere/d1")), "nothing made through the link");
}

Test(exposures_area, the_shared_directory_owned_by_a_user_is_refused)
{
	put_dir_as(root, EXPOSURES_DIR_NAME, 0755, USER_UID);
	area_refused(TRUST_OWNER, EXPOSURES_DIR_NAME);
	cr_assert(not(exists(AREA)), "nothing made below it");
}

Test(exposures_area, a_squatted_distro_directory_is_refused_and_left_alone)
{
	put_dir_as(root, EXPOSURES_DIR_NAME, 0755, 0);
	put_dir_as(root, AREA, 0755, USER_UID);
	area_refused(TRUST_OWNER, AREA);
	has_mode(AREA, 0755, USER_UID);
}

Test(exposures_area, a_writable_distro_directory_is_refused_and_left_alone)
{
	put_dir_as(root, EXPOSURES_DIR_NAME, 0755, 0);
	put_dir_as(root, AREA, 0777, 0);
	area_refused(TRUST_WRITABLE, AREA);
	has_mode(AREA, 0777, 0);
}

Test(exposures_area, a_shared_root_that_is_not_a_mount_is_refused)
{
	put_dir_as(root, "notmount", 0755, 0);
	int fd = exposures_open_area(in_root("notmount"), "d1", &f);
	cr_assert(eq(int, fd, -1));
	cr_assert(eq(int, (int)f.reason, (int)TRUST_NOT_MOUNT));
	cr_assert(not(exists("notmount/" EXPOSURES_DIR_NAME)));
}

Test(exposures_area, a_distro_name_with_a_slash_is_refused)
{
	cr_assert(eq(int, exposures_open_area(root, "../etc", &f), -1));
	cr_assert(eq(int, (int)f.reason, (int)TRUST_IO));
	cr_assert(eq(int, exposures_open_area(root, "", &f), -1));
}

/* Swapped between check and use: the descriptor is still what was checked. */
Test(exposures_area, swapped_after_the_check_is_not_used)
{
	int fd = exposures_open_area(root, "d1", &f);
	cr_assert(ge(int, fd, 0));
	cr_assert(eq(int, rename(in_root(AREA), in_root(EXPOSURES_DIR_NAME "/old")),
	    0));
	cr_assert(eq(int, symlink(in_root("etc"), in_root(AREA)), 0));
	cr_assert(eq(int, mkdirat(fd, "point", 0755), 0));
	cr_assert(exists(EXPOSURES_DIR_NAME "/old/point"));
	cr_assert(not(exists("etc/point")));
	close(fd);
	area_refused(TRUST_SYMLINK, AREA);
}

Test(exposures_area, sources_that_contain_the_shared_tree)
{
	const char *sr = "/mnt/wsl", *area =
	    "/mnt/wsl/" EXPOSURES_DIR_NAME "/d1";
	const char *refused[] = { "/", "/mnt", "/mnt/wsl",
	    "/mnt/wsl/" EXPOSURES_DIR_NAME, area };
	const char *fine[] = { "/home/me", "/mnt/wslx", "/mnt/c",
	    "/mnt/wsl/other", "/mnt/wsl/" EXPOSURES_DIR_NAME "/d2" };
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		cr_assert(exposures_source_contains(refused[i], sr, area), "%s",
		    refused[i]);
	for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
		cr_assert(not(exposures_source_contains(fine[i], sr, area)), "%s",
		    fine[i]);
}

/* ------------------------------------------------------------------ */
/* The record */

TestSuite(exposures_record, .init = tmp_root_setup, .fini = tmp_root_teardown);

Test(exposures_record, the_record_is_kept_in_the_manifest_across_a_restart)
{
	char path[PATH_MAX], err[256] = "";
	snprintf(path, sizeof path, "%s/manifest.json", tmp_root);
	static struct config cfg;
	static struct manifest m;
	config_init(&cfg);
	cr_assert_eq(manifest_load(&m, path, err, sizeof err), 0);
	struct exposures *e = exposures_new(&cfg, &m, NULL);
	cr_assert_not_null(e);
	const char *local = "/mnt/wsl/docker-desktop-bind-mounts/d/ab12";
	cr_assert_eq(manifest_add(&m, EXPOSURES_MANIFEST_KIND, local,
	    "/home/dev/db"), 0);
	struct json_object *users = json_tokener_parse(
	    "[{\"id\":\"0123456789ab\",\"name\":\"db\"}]");
	exposures_record(e, local, true, users, true, true);
	json_object_put(users);
	exposures_record(e, "/not/recorded", false, NULL, false, false);
	cr_assert_eq(exposures_save(e), 0);
	exposures_free(e);
	manifest_free(&m);

	cr_assert_eq(manifest_load(&m, path, err, sizeof err), 0);
	e = exposures_new(&cfg, &m, NULL);
	struct manifest_entry *me = manifest_find(&m, EXPOSURES_MANIFEST_KIND,
	    local);
	cr_assert_not_null(me);
	cr_assert_not_null(me->meta, "the record came back");
	struct json_object *v;
	cr_assert(json_object_object_get_ex(me->meta, "read_only", &v));
	cr_assert(json_object_get_boolean(v), "read-only kept");
	cr_assert(json_object_object_get_ex(me->meta, "containers", &v));
	cr_assert_str_eq(json_string(json_object_array_get_idx(v, 0),
	    "name"), "db");
	cr_assert(json_object_object_get_ex(me->meta, "mounted_at", &v));
	int64_t at = json_object_get_int64(v);
	cr_assert_gt(at, 0);
	cr_assert_eq(exposures_mounted_at(e, local), (uint64_t)at);
	/* Not mounted again: the time stays; users unknown: they stay. */
	m.dirty = false;
	exposures_record(e, local, true, NULL, true, false);
	cr_assert_not(m.dirty, "an unchanged record writes nothing");
	exposures_record(e, local, false, NULL, false, false);
	cr_assert(m.dirty);
	cr_assert(json_object_object_get_ex(me->meta, "mounted_at", &v));
	cr_assert_null(v, "not mounted: no mount time");
	cr_assert_eq(exposures_mounted_at(e, local), 0);
	exposures_free(e);
	manifest_free(&m);
	config_free(&cfg);
}

/* ------------------------------------------------------------------ */
/* The table, on a real shared tmpfs */

static struct bind_world w;

static void
table_setup(void)
{
	bind_world_up(&w, "exposures");
	put_file_in(w.dir, "home/app/f.txt", 0644, "distro-app");
	put_file_in(w.dir, "home/lib/g.txt", 0644, "distro-lib");
}

static void
table_teardown(void)
{
	bind_world_down(&w);
}

TestSuite(exposures_table, .init = table_setup, .fini = table_teardown,
    .timeout = 30);

/* Exposed (as the engine sees it: here, the same path) or the test fails. */
static char *
made(const char *rel, bool read_only)
{
	char *engine = NULL, why[1024] = "";
	cr_assert(eq(int, exposures_make_now(w.exposures, bind_world_path(&w,
	    rel), read_only, &engine, why, sizeof why), 0), "%s", why);
	cr_assert(not(eq(ptr, engine, NULL)));
	return engine;
}

/* The text of file rel below dir, or "" when it cannot be read. */
static const char *
text_at(const char *dir, const char *rel)
{
	static char buf[64];
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	buf[0] = '\0';
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

/* The one exposure's member key, from the report. */
static struct json_object *
reported(size_t i, const char *key)
{
	static struct json_object *binds;
	json_object_put(binds);
	binds = json_object_new_object();
	exposures_report(w.exposures, binds, NULL);
	return json_object_object_get(json_object_array_get_idx(
	    json_object_object_get(binds, "exposures"), i), key);
}

static bool
is_mount_point(const char *path)
{
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	int r = trust_is_mount_root(fd);
	close(fd);
	return r == 1;
}

Test(exposures_table, nothing_before_the_view_of_paths_is_read)
{
	char *engine = NULL, why[1024] = "";
	cr_assert(eq(ptr, (void *)exposures_dir(w.exposures), NULL));
	cr_assert(eq(int, exposures_make_now(w.exposures, bind_world_path(&w,
	    "home/app"), false, &engine, why, sizeof why), -1));
	cr_assert(not(eq(ptr, strstr(why, "cannot re-expose"), NULL)), "%s", why);
	struct json_object *binds = json_object_new_object();
	exposures_report(w.exposures, binds, NULL);
	cr_assert(eq(int, json_object_object_length(binds), 0));
	json_object_put(binds);
}

Test(exposures_table, a_new_exposure_is_recorded_mounted_and_named_for_the_engine)
{
	exposures_reconcile(w.exposures);
	cr_assert(eq(str, (char *)exposures_dir(w.exposures), BIND_WORLD_AREA));
	cr_assert(eq(ptr, (void *)exposures_untrusted(w.exposures), NULL));
	uint64_t posts = notify_posts(w.changed);
	const char *source = bind_world_path(&w, "home/app");
	char *engine = made("home/app", false);
	cr_assert(eq(str, engine, (char *)bind_world_point(source)),
	    "named by the sha256 of its path");
	cr_assert(is_mount_point(engine));
	cr_assert(eq(str, (char *)text_at(engine, "f.txt"), "distro-app"));
	cr_assert(gt(u64, notify_posts(w.changed), posts), "a change is told");
	struct manifest_entry *me = manifest_find(&w.manifest,
	    EXPOSURES_MANIFEST_KIND, engine);
	cr_assert(not(eq(ptr, me, NULL)), "recorded");
	cr_assert(eq(str, me->target, (char *)source));
	cr_assert(gt(u64, exposures_mounted_at(w.exposures, engine), 0));
	cr_assert(eq(int, exposures_count(w.exposures), 1));
	cr_assert(eq(str, (char *)json_object_get_string(reported(0, "source")),
	    (char *)source));
	cr_assert(json_object_get_boolean(reported(0, "mounted")));
	cr_assert(not(json_object_get_boolean(reported(0, "read_only"))));
	cr_assert(eq(int, json_object_get_int(reported(0, "pending_creates")),
	    1), "held for the create");
	/* Made again: the same, held by one more create. */
	char *again = made("home/app", false);
	cr_assert(eq(str, again, engine));
	cr_assert(eq(int, exposures_count(w.exposures), 1));
	cr_assert(eq(int, json_object_get_int(reported(0, "pending_creates")),
	    2));
	/* The answers' paths, back in the user's terms. */
	char below[PATH_MAX], want[PATH_MAX];
	snprintf(below, sizeof below, "%s/sub/x", engine);
	snprintf(want, sizeof want, "%s/sub/x", source);
	char *user = exposures_user_path(w.exposures, below);
	cr_assert(eq(str, user, want));
	free(user);
	cr_assert(eq(ptr, exposures_user_path(w.exposures, "/srv/x"), NULL));
	free(again);
	free(engine);
}

Test(exposures_table, read_only_until_a_writer_comes)
{
	exposures_reconcile(w.exposures);
	char *engine = made("home/app", true);
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/new", engine);
	cr_assert(eq(int, mkdir(p, 0755), -1), "read-only");
	cr_assert(eq(int, errno, EROFS));
	cr_assert(json_object_get_boolean(reported(0, "read_only")));
	free(made("home/app", false));
	cr_assert(eq(int, mkdir(p, 0755), 0), "writable: %s", strerror(errno));
	cr_assert(not(json_object_get_boolean(reported(0, "read_only"))));
	free(engine);
}

Test(exposures_table, a_source_holding_the_shared_tree_is_refused)
{
	exposures_reconcile(w.exposures);
	char *engine = NULL, why[1024] = "";
	cr_assert(eq(int, exposures_make_now(w.exposures, "/mnt", false,
	    &engine, why, sizeof why), -1));
	cr_assert(not(eq(ptr, strstr(why, "expose the shared tree into itself"),
	    NULL)), "%s", why);
	cr_assert(not(eq(ptr, strstr(why, "in WSL distro unit"), NULL)), "%s",
	    why);
	cr_assert(eq(int, exposures_count(w.exposures), 0));
}

Test(exposures_table, an_untrusted_area_is_named_and_nothing_is_mounted_there)
{
	put_dir_as("/mnt/wsl", EXPOSURES_DIR_NAME, 0755, 0);
	put_dir_as("/mnt/wsl", EXPOSURES_DIR_NAME "/unit", 0700, 1000);
	exposures_reconcile(w.exposures);
	const char *why = exposures_untrusted(w.exposures);
	cr_assert(not(eq(ptr, (void *)why, NULL)));
	cr_assert(not(eq(ptr, strstr(why, BIND_WORLD_AREA), NULL)), "%s", why);
	char *engine = NULL, err[1024] = "";
	cr_assert(eq(int, exposures_make_now(w.exposures, bind_world_path(&w,
	    "home/app"), false, &engine, err, sizeof err), -1));
	cr_assert(not(eq(ptr, strstr(err, "the bind-mount area is untrusted"),
	    NULL)), "%s", err);
	cr_assert(eq(int, exposures_count(w.exposures), 0));
	cr_assert(eq(ptr, manifest_find(&w.manifest, EXPOSURES_MANIFEST_KIND,
	    bind_world_point(bind_world_path(&w, "home/app"))), NULL));
}

/* A collection's answer: app used by container c1, nothing else used. */
static struct json_object *
app_used(void *arg, const char *engine)
{
	const char *app = arg;
	return json_tokener_parse(strcmp(engine, app) == 0 ?
	    "[{\"id\":\"c1\",\"name\":\"web\"}]" : "[]");
}

Test(exposures_table, a_collection_keeps_what_is_used_and_removes_the_rest)
{
	exposures_reconcile(w.exposures);
	char *app = made("home/app", false), *lib = made("home/lib", true);
	struct exposures_collected c;
	/* Both held by their creates; app's container came, lib's did not yet. */
	exposures_collect(w.exposures, util_now_ms(), app_used, app, &c);
	cr_assert(eq(int, exposures_count(w.exposures), 2));
	cr_assert(gt(u64, c.next_ms, util_now_ms()), "lib's create is pending");
	cr_assert(not(c.used_unmounted));
	cr_assert(eq(str, c.error, ""));
	cr_assert(eq(int, json_object_get_int(reported(0, "pending_creates")),
	    0), "retired by its container");
	cr_assert(eq(str, (char *)json_object_get_string(json_object_array_get_idx(
	    reported(0, "containers"), 0)), "web"));
	struct manifest_entry *me = manifest_find(&w.manifest,
	    EXPOSURES_MANIFEST_KIND, app);
	cr_assert(not(eq(ptr, strstr(json_object_to_json_string(me->meta),
	    "\"web\""), NULL)), "the record names its container");
	/* lib's create failed: past its deadline, it goes. */
	exposures_collect(w.exposures, c.next_ms + 1, app_used, app, &c);
	cr_assert(eq(int, exposures_count(w.exposures), 1));
	cr_assert(eq(u64, c.next_ms, 0));
	cr_assert(not(is_mount_point(lib)), "unmounted");
	cr_assert(eq(int, access(lib, F_OK), -1), "its point removed");
	cr_assert(eq(ptr, manifest_find(&w.manifest, EXPOSURES_MANIFEST_KIND,
	    lib), NULL), "and its record");
	cr_assert(is_mount_point(app));
	free(app);
	free(lib);
}

Test(exposures_table, another_mount_on_the_point_is_left_alone)
{
	exposures_reconcile(w.exposures);
	char *lib = made("home/lib", false);
	/* Someone (root) mounted something else over it meanwhile. */
	cr_assert(eq(int, mount("other", lib, "tmpfs", 0, "mode=755"), 0));
	struct exposures_collected c;
	exposures_collect(w.exposures, util_now_ms() + EXPOSURES_PENDING_MS + 1,
	    app_used, "", &c);
	cr_assert(eq(int, exposures_count(w.exposures), 1), "kept");
	cr_assert(not(eq(ptr, strstr(c.error, "another mount is there"), NULL)),
	    "%s", c.error);
	cr_assert(is_mount_point(lib));
	free(lib);
}

Test(exposures_table, a_table_left_by_an_earlier_run_is_loaded_and_mounted_back)
{
	exposures_reconcile(w.exposures);
	char *app = made("home/app", true);
	exposures_free(w.exposures);		/* a restart: the mount stays */
	cr_assert(eq(int, umount2(app, MNT_DETACH), 0), "then a reboot");
	w.exposures = exposures_new(&w.cfg, &w.manifest, w.changed);
	exposures_reconcile(w.exposures);
	cr_assert(eq(int, exposures_count(w.exposures), 1), "from the manifest");
	cr_assert(not(json_object_get_boolean(reported(0, "mounted"))));
	/* Who uses it asks for a restore; nothing of it is removed. */
	struct exposures_collected c;
	exposures_collect(w.exposures, util_now_ms(), app_used, app, &c);
	cr_assert(c.used_unmounted);
	cr_assert(eq(int, exposures_count(w.exposures), 1));

	struct exposures_back back;
	char why[1024] = "";
	cr_assert(eq(int, exposures_mount_back(w.exposures, "/elsewhere/x",
	    false, &back, why, sizeof why), 1), "not an exposure");
	exposures_back_clear(&back);
	char other[PATH_MAX];
	snprintf(other, sizeof other, "%s/0000", BIND_WORLD_AREA);
	cr_assert(eq(int, exposures_mount_back(w.exposures, other, false, &back,
	    why, sizeof why), -1));
	cr_assert(not(eq(ptr, strstr(why, "does not record"), NULL)), "%s", why);
	cr_assert(eq(int, exposures_mount_back(w.exposures, app, true, &back,
	    why, sizeof why), 0), "%s", why);
	cr_assert(back.mounted_now);
	cr_assert(back.read_only);
	cr_assert(eq(str, back.source, (char *)bind_world_path(&w, "home/app")));
	cr_assert(eq(str, back.local, app));
	cr_assert(ge(int, back.standin_fd, 0), "what was there, kept open");
	exposures_back_clear(&back);
	cr_assert(eq(str, (char *)text_at(app, "f.txt"), "distro-app"));
	/* Mounted already: nothing more to do. */
	cr_assert(eq(int, exposures_mount_back(w.exposures, app, true, &back,
	    why, sizeof why), 0));
	cr_assert(not(back.mounted_now));
	exposures_back_clear(&back);
	free(app);
}

/* ------------------------------------------------------------------ */
/* New mounts on a worker: the loop never waits for them */

static void
count_mounted(void *arg)
{
	(*(int *)arg)++;
}

static bool
mounted_told(void *arg)
{
	return *(int *)arg > 0;
}

/* Does the manifest's file (as written so far) name path? */
static bool
on_disk(const char *path)
{
	char text[65536] = "";
	int fd = open(bind_world_path(&w, "state/manifest.json"),
	    O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, text, sizeof text - 1);
		text[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	return strstr(text, path) != NULL;
}

/* Nobody uses anything: without a create pending, all would go. */
static struct json_object *
none_used(void *arg, const char *engine)
{
	(void)arg;
	(void)engine;
	return json_object_new_array();
}

/*
 * home/app asked for with the worker held: "not yet".  told counts the
 * mounts told; point is where it will be.
 */
static const char *
make_held(int *told, char *point, size_t len)
{
	char *engine = NULL, why[1024] = "";
	exposures_reconcile(w.exposures);
	bind_world_worker(&w, count_mounted, told);
	bind_world_gate_shut(&w);
	const char *source = bind_world_path(&w, "home/app");
	snprintf(point, len, "%s", bind_world_point(source));
	cr_assert(eq(int, exposures_make(w.exposures, source, false, false, &engine,
	    why, sizeof why), 1), "not yet: %s", why);
	cr_assert(eq(ptr, engine, NULL));
	return source;
}

Test(exposures_table, a_new_exposure_is_recorded_and_mounted_on_the_worker)
{
	int told = 0;
	char *engine = NULL, why[1024] = "", point[PATH_MAX];
	const char *source = make_held(&told, point, sizeof point);
	cr_assert(eq(int, exposures_make(w.exposures, source, false, false, &engine,
	    why, sizeof why), 1), "another create waits for the same mount");
	cr_assert(not(is_mount_point(point)), "the worker has not run");
	cr_assert(not(on_disk(point)), "nor written the record");
	cr_assert(not(json_object_get_boolean(reported(0, "mounted"))));
	struct exposures_collected c;
	exposures_collect(w.exposures, util_now_ms(), none_used, NULL, &c);
	cr_assert(eq(int, exposures_count(w.exposures), 1),
	    "a collection leaves one being mounted alone");

	bind_world_gate_open(&w);
	cr_assert(run_until(w.base, mounted_told, &told, 10000));
	cr_assert(eq(int, told, 1), "one mount, told once");
	cr_assert(is_mount_point(point));
	cr_assert(on_disk(point), "recorded on disk");
	cr_assert(gt(u64, exposures_mounted_at(w.exposures, point), 0));
	cr_assert(eq(int, exposures_make(w.exposures, source, false, false, &engine,
	    why, sizeof why), 0), "%s", why);
	cr_assert(eq(str, engine, point));
	cr_assert(eq(str, (char *)text_at(engine, "f.txt"), "distro-app"));
	cr_assert(eq(int, json_object_get_int(reported(0, "pending_creates")),
	    1), "held by the create answered");
	free(engine);
	/* A create asked again that holds its ticket takes no second one. */
	cr_assert(eq(int, exposures_make(w.exposures, source, false, true,
	    &engine, why, sizeof why), 0), "%s", why);
	cr_assert(eq(int, json_object_get_int(reported(0, "pending_creates")),
	    1));
	free(engine);
}

Test(exposures_table, a_mount_that_failed_on_the_worker_is_told_to_its_creates)
{
	int told = 0;
	char *engine = NULL, why[1024] = "", point[PATH_MAX];
	const char *source = make_held(&told, point, sizeof point);
	/* The source goes before the worker gets to it. */
	cr_assert(eq(int, unlink(bind_world_path(&w, "home/app/f.txt")), 0));
	cr_assert(eq(int, rmdir(source), 0));
	bind_world_gate_open(&w);
	cr_assert(run_until(w.base, mounted_told, &told, 10000));
	cr_assert(eq(int, exposures_make(w.exposures, source, false, false, &engine,
	    why, sizeof why), -1), "the reason, not a second try");
	cr_assert(not(eq(ptr, strstr(why, "cannot re-expose"), NULL)), "%s",
	    why);
	cr_assert(not(eq(ptr, strstr(why, strerror(ENOENT)), NULL)), "%s", why);
	cr_assert(eq(int, exposures_count(w.exposures), 0), "nothing kept");
	cr_assert(eq(ptr, manifest_find(&w.manifest, EXPOSURES_MANIFEST_KIND,
	    point), NULL), "its record undone");
	cr_assert(not(on_disk(point)));
	cr_assert(eq(int, access(point, F_OK), -1), "no point left");
}

Test(exposures_table, a_volumes_exposure_is_mounted_again_when_used)
{
	exposures_reconcile(w.exposures);
	char *lib = made("home/lib", false), why[1024] = "", below[PATH_MAX];
	cr_assert(eq(int, umount2(lib, MNT_DETACH), 0));
	snprintf(below, sizeof below, "%s/data", lib);
	cr_assert(eq(int, exposures_ensure_mounted(w.exposures, below, why,
	    sizeof why), 1), "%s", why);
	cr_assert(is_mount_point(lib));
	cr_assert(eq(str, (char *)text_at(lib, "g.txt"), "distro-lib"));
	cr_assert(eq(int, exposures_ensure_mounted(w.exposures, lib, why,
	    sizeof why), 1), "mounted already");
	cr_assert(eq(int, exposures_ensure_mounted(w.exposures, "/srv/v", why,
	    sizeof why), 0), "not ours");
	free(lib);
}
