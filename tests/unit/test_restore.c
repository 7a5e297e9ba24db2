/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restore.c: a stand-in's contents moved into the distro, never lost;
 * an exposure's record kept in the manifest across a restart.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent.h"
#include "testlib.h"

TestSuite(restore, .init = tmp_root_setup, .fini = tmp_root_teardown);

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
}

static char *
read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

Test(restore, standin_move_tree_moves_files_dirs_and_links_keeping_modes)
{
	char src[PATH_MAX], dst[PATH_MAX], p[PATH_MAX + 64], buf[64];
	snprintf(src, sizeof src, "%s/standin", tmp_root);
	snprintf(dst, sizeof dst, "%s/state/stand-ins/db-1", tmp_root);
	cr_assert_eq(mkdir(src, 0755), 0);
	snprintf(p, sizeof p, "%s/PG_VERSION", src);
	write_file(p, "16\n", 0600);
	snprintf(p, sizeof p, "%s/base", src);
	cr_assert_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof p, "%s/base/1", src);
	write_file(p, "rows", 0644);
	snprintf(p, sizeof p, "%s/link", src);
	cr_assert_eq(symlink("base/1", p), 0);
	int fd = open(src, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(fd, 0);

	cr_assert_eq(standin_move_tree(fd, dst), 0, "nothing left behind");
	snprintf(p, sizeof p, "%s/PG_VERSION", dst);
	cr_assert_str_eq(read_file(p, buf, sizeof buf), "16\n");
	struct stat st;
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode kept");
	snprintf(p, sizeof p, "%s/base/1", dst);
	cr_assert_str_eq(read_file(p, buf, sizeof buf), "rows");
	snprintf(p, sizeof p, "%s/base", dst);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0700, "a directory's mode kept");
	snprintf(p, sizeof p, "%s/link", dst);
	ssize_t n = readlink(p, buf, sizeof buf - 1);
	cr_assert_eq(n, 6);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "base/1");
	snprintf(p, sizeof p, "%s/PG_VERSION", src);
	cr_assert_eq(access(p, F_OK), -1, "moved, not copied");
	snprintf(p, sizeof p, "%s/base", src);
	cr_assert_eq(access(p, F_OK), -1);
	cr_assert_eq(rmdir(src), 0, "the stand-in is left empty");
}

Test(restore, standin_move_tree_into_an_existing_place_moves_nothing)
{
	char src[PATH_MAX], dst[PATH_MAX], p[PATH_MAX + 64], buf[64];
	snprintf(src, sizeof src, "%s/standin", tmp_root);
	snprintf(dst, sizeof dst, "%s/taken", tmp_root);
	cr_assert_eq(mkdir(src, 0755), 0);
	cr_assert_eq(mkdir(dst, 0755), 0);
	snprintf(p, sizeof p, "%s/data", src);
	write_file(p, "keep", 0644);
	int fd = open(src, O_RDONLY | O_DIRECTORY);
	cr_assert_eq(standin_move_tree(fd, dst), -1);
	cr_assert_str_eq(read_file(p, buf, sizeof buf), "keep", "left in place");
}

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
