/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.c: the record of what the agent made, so it removes exactly
 * that; read back as written, and never lost to a bad file.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/manifest.h"
#include "testlib.h"

TestSuite(manifest, .init = tmp_root_setup, .fini = tmp_root_teardown);

Test(manifest, round_trip)
{
	char path[PATH_MAX * 2], err[256] = "";
	snprintf(path, sizeof path, "%s/manifest.json", tmp_root);
	struct manifest m;
	cr_assert_eq(manifest_load(&m, path, err, sizeof err), 0, "%s", err);
	cr_assert_eq(m.n, 0, "a missing manifest is empty");
	cr_assert_eq(manifest_add(&m, "link", "/usr/local/bin/docker", "/t/docker"), 0);
	cr_assert_eq(manifest_add(&m, "socket", "/run/docker.sock", NULL), 0);
	cr_assert_eq(manifest_add(&m, "link", "/usr/local/bin/docker", "/t/docker2"), 0);
	cr_assert_eq(m.n, 2, "adding the same path updates it");
	cr_assert(m.dirty);
	cr_assert_eq(manifest_save(&m), 0);
	cr_assert_not(m.dirty);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "it names sources and containers: "
	    "root's alone, not %04o", (unsigned)(st.st_mode & 07777));
	manifest_free(&m);

	cr_assert_eq(manifest_load(&m, path, err, sizeof err), 0, "%s", err);
	cr_assert_eq(m.n, 2);
	struct manifest_entry *e = manifest_find(&m, "link", "/usr/local/bin/docker");
	cr_assert_not_null(e);
	cr_assert_str_eq(e->target, "/t/docker2");
	cr_assert_null(manifest_find(&m, "link", "/run/docker.sock"), "kind matters");
	manifest_remove(&m, "socket", "/run/docker.sock");
	cr_assert_eq(m.n, 1);
	manifest_free(&m);
}

Test(manifest, a_corrupt_manifest_is_kept_aside_not_lost)
{
	char path[PATH_MAX * 2], bad[PATH_MAX * 2 + 8], err[512] = "";
	snprintf(path, sizeof path, "%s/manifest.json", tmp_root);
	snprintf(bad, sizeof bad, "%s.bad", path);
	put_file_in(tmp_root, "manifest.json", 0644, "{\"version\":1,\"entries\":[{\"kind\":");
	struct manifest m;
	cr_assert_eq(manifest_load(&m, path, err, sizeof err), 0);
	cr_assert_eq(m.n, 0);
	cr_assert(strstr(err, "set aside") != NULL, "%s", err);
	cr_assert_eq(access(bad, F_OK), 0, "the unreadable manifest is kept as .bad");
	manifest_free(&m);

	put_file_in(tmp_root, "manifest.json", 0644, "{\"version\":99,\"entries\":[]}");
	err[0] = '\0';
	cr_assert_eq(manifest_load(&m, path, err, sizeof err), 0);
	cr_assert(strstr(err, "not a version 1 manifest") != NULL, "%s", err);
	manifest_free(&m);
}

Test(manifest, entries_must_be_absolute_paths)
{
	char path[PATH_MAX * 2], err[256] = "";
	snprintf(path, sizeof path, "%s/manifest.json", tmp_root);
	put_file_in(tmp_root, "manifest.json", 0644, "{\"version\":1,\"entries\":["
	    "{\"kind\":\"link\",\"path\":\"relative/x\",\"target\":\"t\"},"
	    "{\"kind\":\"link\",\"path\":7},"
	    "{\"kind\":\"link\",\"path\":\"/ok\",\"target\":\"t\"}]}");
	struct manifest m;
	cr_assert_eq(manifest_load(&m, path, err, sizeof err), 0);
	cr_assert_eq(m.n, 1);
	cr_assert_str_eq(m.entries[0].path, "/ok");
	manifest_free(&m);
}

Test(manifest, a_copy_written_late_never_lands_over_a_newer_save)
{
	char path[PATH_MAX * 2], err[256] = "";
	snprintf(path, sizeof path, "%s/manifest.json", tmp_root);
	struct manifest m;
	struct manifest_copy old, newer;
	cr_assert_eq(manifest_load(&m, path, err, sizeof err), 0, "%s", err);
	cr_assert_eq(manifest_add(&m, "bindmount", "/a", "/src/a"), 0);
	cr_assert_eq(manifest_copy_take(&m, &old), 0, "for a worker");
	cr_assert(m.dirty, "taking a copy writes nothing");
	cr_assert_eq(manifest_add(&m, "bindmount", "/b", "/src/b"), 0);
	cr_assert_eq(manifest_save(&m), 0, "the loop saves meanwhile");
	cr_assert_eq(manifest_copy_write(&old), 0, "the worker's comes late");
	manifest_copy_done(&m, &old, 0, 0);
	manifest_free(&m);
	cr_assert_eq(manifest_load(&m, path, err, sizeof err), 0, "%s", err);
	cr_assert_eq(m.n, 2, "the newer save stays: /b is not lost");

	/* A copy of the latest is written, and leaves the manifest clean. */
	cr_assert_eq(manifest_add(&m, "bindmount", "/c", "/src/c"), 0);
	cr_assert_eq(manifest_copy_take(&m, &newer), 0);
	cr_assert_eq(manifest_copy_write(&newer), 0);
	manifest_copy_done(&m, &newer, 0, 0);
	cr_assert_not(m.dirty);
	manifest_free(&m);
	cr_assert_eq(manifest_load(&m, path, err, sizeof err), 0, "%s", err);
	cr_assert_eq(m.n, 3);
	manifest_free(&m);
}
