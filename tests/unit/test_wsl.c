/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wsl.c: finding the shared /mnt/wsl tmpfs in mountinfo, wherever
 * [automount] puts it.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "sys/wsl.h"
#include "testlib.h"

TestSuite(wsl, .init = tmp_root_setup, .fini = tmp_root_teardown);

Test(wsl, finds_the_shared_wsl_tmpfs_in_mountinfo)
{
	put_file_in(tmp_root, "mi1",  0644,
	    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	    "90 27 0:50 / /home/me/wsl rw - tmpfs x rw\n"
	    "91 27 0:51 / /mnt/wsl rw,relatime shared:1 - tmpfs none rw\n");
	char p[PATH_MAX * 2];
	snprintf(p, sizeof p, "%s/mi1", tmp_root);
	char *found = wsl_find_shared_root(p);
	cr_assert_not_null(found);
	cr_assert_str_eq(found, "/mnt/wsl", "a private tmpfs named wsl is not it");
	free(found);

	put_file_in(tmp_root, "mi2", 0644,
	    "91 27 0:51 / /wsl rw,relatime shared:1 master:2 - tmpfs none rw\n");
	snprintf(p, sizeof p, "%s/mi2", tmp_root);
	found = wsl_find_shared_root(p);
	cr_assert_str_eq(found, "/wsl", "[automount] root=/ puts it at /wsl");
	free(found);

	put_file_in(tmp_root, "mi3", 0644, "garbage\n\n91 27 0:51 / /odd\\040dir/wsl rw shared:3 - tmpfs x rw\n");
	snprintf(p, sizeof p, "%s/mi3", tmp_root);
	found = wsl_find_shared_root(p);
	cr_assert_str_eq(found, "/odd dir/wsl", "mountinfo escapes are decoded");
	free(found);
	cr_assert(wsl_is_mount_point(p, "/odd dir/wsl"));
	cr_assert_not(wsl_is_mount_point(p, "/odd dir"));
}
