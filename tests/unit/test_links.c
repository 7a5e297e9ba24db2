/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Link planning and target validation: the decisions that keep `docker'
 * from dangling and the agent from clobbering what it did not make.  The
 * manifest is tested in test_manifest.c, mountinfo in test_wsl.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/config.h"
#include "base/util.h"
#include "sys/manifest.h"
#include "sys/trust.h"
#include "features/desktop.h"
#include "features/links.h"
#include "testlib.h"

static char root[PATH_MAX];
static char desktop[PATH_MAX];
/* Where planned links point for cli-tools: here the tree's own. */
static char cli_base[PATH_MAX + 16];
static struct config cfg;

static void
put_file(const char *rel, mode_t mode, const char *text)
{
	put_file_in(root, rel, mode, text);
}

static void
put_link(const char *rel, const char *target)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	cr_assert_eq(symlink(target, path), 0, "symlink %s: %s", path, strerror(errno));
}

static void
setup(void)
{
	make_temp_dir(root, sizeof root, "links");
	snprintf(desktop, sizeof desktop, "%s/dd", root);
	snprintf(cli_base, sizeof cli_base, "%s/cli-tools", desktop);
	trusted_tree_up(root, desktop);
	/* The distro's own commands, as far as the tests go: none. */
	static const char *const no_system_dirs[] = { NULL };
	links_system_dirs = no_system_dirs;
	put_file("dd/cli-tools/usr/bin/docker", 0755, "#!/bin/sh\n");
	put_file("dd/cli-tools/usr/bin/docker-credential-desktop.exe", 0755, "x");
	put_file("dd/cli-tools/usr/bin/readme.txt", 0644, "not a tool");
	put_link("dd/cli-tools/usr/bin/docker-alias", "docker");
	put_link("dd/cli-tools/usr/bin/escape", "/bin/sh");
	put_link("dd/cli-tools/usr/bin/dangling", "nowhere");
	cr_assert_eq(util_mkdir_p("/tmp", 0755), 0);
	char sub[PATH_MAX + 64];
	snprintf(sub, sizeof sub, "%s/cli-tools/usr/bin/subdir", desktop);
	cr_assert_eq(mkdir(sub, 0755), 0);
	put_file("dd/cli-tools/usr/lib/docker/cli-plugins/docker-compose", 0755, "x");
	put_file("dd/cli-tools/usr/lib/docker/cli-plugins/not-a-plugin", 0755, "x");
	put_file("shim", 0755, "#!/bin/sh\n");

	config_init(&cfg);
	char err[CONFIG_ERR_LEN], v[PATH_MAX * 2];
	cr_assert_eq(config_set(&cfg, "desktop_dir", desktop, err, sizeof err), 0, "%s", err);
	snprintf(v, sizeof v, "%s/bin", root);
	cr_assert_eq(config_set(&cfg, "links.bin_dir", v, err, sizeof err), 0, "%s", err);
	snprintf(v, sizeof v, "%s/plugins", root);
	cr_assert_eq(config_set(&cfg, "links.plugin_dir", v, err, sizeof err), 0, "%s", err);
	snprintf(v, sizeof v, "%s/shim", root);
	cr_assert_eq(config_set(&cfg, "links.shim", v, err, sizeof err), 0, "%s", err);
	snprintf(v, sizeof v, "%s/run/cli-tools", root);
	cr_assert_eq(config_set(&cfg, "links.cli_mount", v, err, sizeof err), 0, "%s", err);
}

static void
teardown(void)
{
	config_free(&cfg);
	trusted_tree_down(root);
	if (access(root, F_OK) == 0)
		remove_tree(root);
}

static const struct link_plan *
plan_find(const struct link_plan *plan, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		const char *base = strrchr(plan[i].path, '/');
		if (base != NULL && strcmp(base + 1, name) == 0)
			return &plan[i];
	}
	return NULL;
}

static bool
refused_has(struct link_entry *r, size_t n, const char *name, const char *why)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(r[i].path, name) != NULL && strstr(r[i].detail, why) != NULL)
			return true;
	return false;
}

TestSuite(links, .init = setup, .fini = teardown);

/* What a look says of the CLI (features/desktop.c), as links are told it. */
static const struct desktop_view cli_here = { .cli_present = true,
    .engine_fd = -1 };
static const struct desktop_view cli_away = { .engine_fd = -1 };

Test(links, plans_every_valid_tool_and_plugin)
{
	struct manifest m = { 0 };
	struct link_plan *plan;
	size_t n, nref;
	struct link_entry refused[16];
	cr_assert_eq(links_plan(&cfg, true, false, &m, cli_base, &plan, &n, refused, &nref, 16), 0);

	const struct link_plan *d = plan_find(plan, n, "docker");
	cr_assert_not_null(d);
	char want[PATH_MAX * 2];
	snprintf(want, sizeof want, "%s/bin/docker", root);
	cr_assert_str_eq(d->path, want);
	snprintf(want, sizeof want, "%s/cli-tools/usr/bin/docker", desktop);
	cr_assert_str_eq(d->target, want);
	cr_assert_not(d->shim);
	cr_assert_not_null(plan_find(plan, n, "docker-credential-desktop.exe"));
	cr_assert_not_null(plan_find(plan, n, "docker-alias"), "a link inside the tree is fine");

	const struct link_plan *c = plan_find(plan, n, "docker-compose");
	cr_assert_not_null(c);
	snprintf(want, sizeof want, "%s/plugins/docker-compose", root);
	cr_assert_str_eq(c->path, want);
	cr_assert_null(plan_find(plan, n, "not-a-plugin"), "plugins are named docker-*");

	cr_assert_null(plan_find(plan, n, "readme.txt"));
	cr_assert_null(plan_find(plan, n, "escape"));
	cr_assert_null(plan_find(plan, n, "dangling"));
	cr_assert_null(plan_find(plan, n, "subdir"));
	cr_assert(refused_has(refused, nref, "readme.txt", "not executable"));
	cr_assert(refused_has(refused, nref, "escape", "symbolic link"));
	cr_assert(refused_has(refused, nref, "dangling", "does not exist"));
	cr_assert(refused_has(refused, nref, "subdir", "not a regular file"));
	cr_assert_eq(n, 4);
	links_plan_free(plan, n);
	links_refused_free(refused, nref);
}

Test(links, cli_away_points_docker_and_our_bin_links_at_the_shim)
{
	struct manifest m = { 0 };
	char p1[PATH_MAX * 2], p2[PATH_MAX * 2], p3[PATH_MAX * 2];
	snprintf(p1, sizeof p1, "%s/bin/docker-credential-desktop.exe", root);
	snprintf(p2, sizeof p2, "%s/plugins/docker-compose", root);
	snprintf(p3, sizeof p3, "%s/elsewhere/tool", root);
	cr_assert_eq(manifest_add(&m, "link", p1, "x"), 0);
	cr_assert_eq(manifest_add(&m, "link", p2, "y"), 0);
	cr_assert_eq(manifest_add(&m, "link", p3, "z"), 0);

	struct link_plan *plan;
	size_t n, nref;
	struct link_entry refused[4];
	cr_assert_eq(links_plan(&cfg, false, false, &m, cli_base, &plan, &n, refused, &nref, 4), 0);
	cr_assert_eq(n, 2, "docker (always) and the credential helper we linked");
	const struct link_plan *d = plan_find(plan, n, "docker");
	cr_assert_not_null(d);
	cr_assert(d->shim);
	cr_assert_str_eq(d->target, cfg.shim_path);
	cr_assert_not_null(plan_find(plan, n, "docker-credential-desktop.exe"));
	cr_assert_null(plan_find(plan, n, "docker-compose"), "plugins go with the CLI");
	links_plan_free(plan, n);
	manifest_free(&m);
}

Test(links, cli_away_without_a_usable_shim_plans_nothing)
{
	char err[CONFIG_ERR_LEN];
	cr_assert_eq(config_set(&cfg, "links.on_stop", "remove", err, sizeof err), 0);
	struct manifest m = { 0 };
	struct link_plan *plan;
	size_t n, nref;
	struct link_entry refused[4];
	cr_assert_eq(links_plan(&cfg, false, false, &m, cli_base, &plan, &n, refused, &nref, 4), 0);
	cr_assert_eq(n, 0);

	cr_assert_eq(config_set(&cfg, "links.on_stop", "shim", err, sizeof err), 0);
	cr_assert_eq(config_set(&cfg, "links.shim", "/nonexistent/shim", err, sizeof err), 0);
	cr_assert_eq(links_plan(&cfg, false, false, &m, cli_base, &plan, &n, refused, &nref, 4), 0);
	cr_assert_eq(n, 0, "a missing shim must not be linked to: it would dangle");
	links_plan_free(plan, n);
}

Test(links, disabled_plans_nothing_even_with_the_cli_present)
{
	struct manifest m = { 0 };
	struct link_plan *plan;
	size_t n, nref;
	struct link_entry refused[4];
	cr_assert_eq(links_plan(&cfg, true, true, &m, cli_base, &plan, &n, refused, &nref, 4), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(nref, 0);
	links_plan_free(plan, n);
}

Test(links, target_validation)
{
	char why[PATH_MAX + 128], t[PATH_MAX * 2];
	snprintf(t, sizeof t, "%s/cli-tools/usr/bin/docker", desktop);
	cr_assert(desktop_tool_valid(desktop, t, why, sizeof why), "%s", why);
	snprintf(t, sizeof t, "%s/cli-tools/usr/bin/escape", desktop);
	cr_assert_not(desktop_tool_valid(desktop, t, why, sizeof why));
	cr_assert(strstr(why, "symbolic link") != NULL, "%s", why);
	snprintf(t, sizeof t, "%s/cli-tools/usr/bin/../../../../shim", desktop);
	cr_assert_not(desktop_tool_valid(desktop, t, why, sizeof why), "dot-dot out of the tree");
	snprintf(t, sizeof t, "%s/nonexistent-desktop", root);
	cr_assert_not(desktop_tool_valid(t, "/bin/sh", why, sizeof why));
}

Test(links, a_directory_replaced_by_a_symlink_is_refused)
{
	/* The tree is not trusted: usr/bin swapped for a link to /usr/bin. */
	char bin[PATH_MAX * 2], moved[PATH_MAX * 2];
	snprintf(bin, sizeof bin, "%s/cli-tools/usr/bin", desktop);
	snprintf(moved, sizeof moved, "%s/cli-tools/usr/bin.real", desktop);
	cr_assert_eq(rename(bin, moved), 0);
	cr_assert_eq(symlink("/usr/bin", bin), 0);
	struct manifest m = { 0 };
	struct link_plan *plan;
	size_t n, nref;
	struct link_entry refused[64];
	cr_assert_eq(links_plan(&cfg, true, false, &m, cli_base, &plan, &n, refused, &nref, 64), 0);
	for (size_t i = 0; i < n; i++)
		cr_assert(strstr(plan[i].path, "/plugins/") != NULL,
		    "%s planned from a tree that leads outside", plan[i].path);
	cr_assert_gt(nref, 0);
	links_plan_free(plan, n);
	links_refused_free(refused, nref);
}

Test(links, odd_names_are_refused)
{
	put_file("dd/cli-tools/usr/bin/bad\nname", 0755, "x");
	char longname[300];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	struct manifest m = { 0 };
	struct link_plan *plan;
	size_t n, nref;
	struct link_entry refused[16];
	cr_assert_eq(links_plan(&cfg, true, false, &m, cli_base, &plan, &n, refused, &nref, 16), 0);
	cr_assert_null(plan_find(plan, n, "bad\nname"));
	cr_assert(refused_has(refused, nref, "bad\nname", "control characters"));
	links_plan_free(plan, n);
	links_refused_free(refused, nref);
}

/* ---- struct links: reconcile, status, release ---- */

/* The {..} in arr whose key ends with tail, or NULL. */
static struct json_object *
json_find(struct json_object *arr, const char *key, const char *tail)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *v;
		const char *s;
		if (json_object_object_get_ex(o, key, &v) &&
		    (s = json_object_get_string(v)) != NULL &&
		    strlen(s) >= strlen(tail) &&
		    strcmp(s + strlen(s) - strlen(tail), tail) == 0)
			return o;
	}
	return NULL;
}

static const char *
json_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) ?
	    json_object_get_string(v) : NULL;
}

Test(links, status_json_reports_each_link_and_its_problems)
{
	static struct manifest m;
	char mpath[PATH_MAX * 2], err[256] = "", bin_docker[PATH_MAX * 2];
	snprintf(mpath, sizeof mpath, "%s/manifest.json", root);
	cr_assert_eq(manifest_load(&m, mpath, err, sizeof err), 0, "%s", err);
	put_file("bin/docker-credential-desktop.exe", 0755, "hand-made");
	struct links *l = links_new(&cfg, &m);
	cr_assert_not_null(l);
	links_reconcile(l, &cli_here, false);

	struct json_object *problems = json_object_new_array();
	struct json_object *arr = links_report(l, problems);
	struct json_object *e = json_find(arr, "path", "/bin/docker");
	cr_assert_not_null(e);
	cr_assert_str_eq(json_str(e, "state"), "ok");
	char want[PATH_MAX * 2];
	snprintf(want, sizeof want, "%s/run/cli-tools/usr/bin/docker", root);
	cr_assert_str_eq(json_str(e, "target"), want);
	e = json_find(arr, "path", "/bin/docker-credential-desktop.exe");
	cr_assert_not_null(e);
	cr_assert_str_eq(json_str(e, "state"), "conflict");
	e = json_find(arr, "path", "/readme.txt");
	cr_assert_not_null(e);
	cr_assert_str_eq(json_str(e, "state"), "refused");
	cr_assert_null(json_object_object_get(e, "target"));
	struct json_object *p = json_find(problems, "what",
	    "docker-credential-desktop.exe is a file the agent did not create");
	cr_assert_not_null(p);
	cr_assert_str_eq(json_str(p, "fix"), "remove or move aside the file, or "
	    "ignore this if you want to keep it");
	p = json_find(problems, "what", "readme.txt is not executable; refused");
	cr_assert_not_null(p);
	cr_assert_str_eq(json_str(p, "fix"), "Docker Desktop's tree holds "
	    "something unexpected; reinstall or restart Docker Desktop");
	struct json_object *conflicts = links_conflicts_report(l);
	cr_assert_not_null(json_find(conflicts, "what",
	    "docker-credential-desktop.exe is a file the agent did not create"));
	json_object_put(conflicts);
	cr_assert_geq(links_count(l, LINK_OK), 2);
	json_object_put(arr);
	json_object_put(problems);

	/* Stopping hands docker to the shim; removing takes it away. */
	snprintf(bin_docker, sizeof bin_docker, "%s/bin/docker", root);
	links_release(l, false);
	cr_assert_eq(links_count(l, LINK_OK), 0);
	cr_assert_geq(links_count(l, LINK_SHIM), 1);
	char target[PATH_MAX];
	ssize_t n = readlink(bin_docker, target, sizeof target - 1);
	cr_assert_gt(n, 0);
	target[n] = '\0';
	cr_assert_str_eq(target, cfg.shim_path);
	links_release(l, true);
	cr_assert_eq(links_count(l, LINK_SHIM), 0);
	cr_assert_eq(access(bin_docker, F_OK), -1);
	links_free(l);
	manifest_free(&m);
}

/* ---- paths ---- */

Test(links, path_within)
{
	cr_assert(util_path_within("/mnt/wsl/docker-desktop/x", "/mnt/wsl/docker-desktop"));
	cr_assert(util_path_within("/mnt/wsl/docker-desktop", "/mnt/wsl/docker-desktop/"));
	cr_assert_not(util_path_within("/mnt/wsl/docker-desktop-evil/x", "/mnt/wsl/docker-desktop"));
	cr_assert_not(util_path_within("/usr/bin/docker", "/mnt/wsl"));
	cr_assert(util_path_within("/anything", "/"));
}

/* ---- the shared tree is hostile (issue 13) ---- */

Test(links, a_tool_the_distro_has_is_a_conflict_not_a_link)
{
	/* The distro's own commands: a directory holding "docker-alias". */
	static char sysbin[PATH_MAX * 2];
	snprintf(sysbin, sizeof sysbin, "%s/sysbin", root);
	put_file("sysbin/docker-alias", 0755, "distro's");
	put_file("sysbin/docker", 0755, "distro's");
	static const char *dirs[2];
	dirs[0] = sysbin;
	links_system_dirs = dirs;
	struct manifest m = { 0 };
	struct link_plan *plan;
	size_t n, nref;
	struct link_entry refused[16];
	cr_assert_eq(links_plan(&cfg, true, false, &m, cli_base, &plan, &n, refused, &nref, 16), 0);
	cr_assert_null(plan_find(plan, n, "docker-alias"), "never shadowed");
	cr_assert_not_null(plan_find(plan, n, "docker"), "docker itself is linked");
	bool found = false;
	for (size_t i = 0; i < nref; i++)
		if (refused[i].state == LINK_CONFLICT &&
		    strstr(refused[i].detail, "ships 'docker-alias', which this "
		    "distro already has in ") != NULL &&
		    strstr(refused[i].detail, "sysbin/docker-alias: not linked") != NULL)
			found = true;
	cr_assert(found, "reported as a conflict");
	links_plan_free(plan, n);
	links_refused_free(refused, nref);
}

Test(links, a_tree_an_ordinary_user_made_plans_nothing)
{
	cr_assert_eq(chown(desktop, 1000, 1000), 0);
	struct manifest m = { 0 };
	struct link_plan *plan;
	size_t n, nref;
	struct link_entry refused[16];
	cr_assert_eq(links_plan(&cfg, true, false, &m, cli_base, &plan, &n, refused, &nref, 16), 0);
	cr_assert_eq(n, 0, "nothing from a user's tree");
	cr_assert(refused_has(refused, nref, "dd", "owned by uid 1000, not root"));
	links_plan_free(plan, n);
	links_refused_free(refused, nref);
}

Test(links, cli_tools_not_a_mount_point_plans_nothing)
{
	char cli[PATH_MAX * 2];
	snprintf(cli, sizeof cli, "%s/cli-tools", desktop);
	cr_assert_eq(umount2(cli, MNT_DETACH), 0);
	put_file("dd/cli-tools/usr/bin/docker", 0755, "planted");
	char why[PATH_MAX + 256], t[PATH_MAX * 2];
	snprintf(t, sizeof t, "%s/usr/bin/docker", cli);
	cr_assert_not(desktop_tool_valid(desktop, t, why, sizeof why));
	cr_assert(strstr(why, "is not a mount point") != NULL, "%s", why);
}

Test(links, a_writable_tool_or_one_owned_by_a_user_is_refused)
{
	char t[PATH_MAX * 2], why[PATH_MAX + 256];
	snprintf(t, sizeof t, "%s/cli-tools/usr/bin/docker", desktop);
	cr_assert_eq(chmod(t, 0777), 0);
	cr_assert_not(desktop_tool_valid(desktop, t, why, sizeof why));
	cr_assert(strstr(why, "writable by group or others") != NULL, "%s", why);
	cr_assert_eq(chmod(t, 0755), 0);
	cr_assert_eq(chown(t, 1000, 0), 0);
	cr_assert_not(desktop_tool_valid(desktop, t, why, sizeof why));
	cr_assert(strstr(why, "owned by uid 1000") != NULL, "%s", why);
}

Test(links, an_unmounted_cli_tools_of_roots_is_away_not_untrusted)
{
	/* Docker Desktop stopped: its empty cli-tools stays behind. */
	char cli[PATH_MAX * 2];
	snprintf(cli, sizeof cli, "%s/cli-tools", desktop);
	cr_assert_eq(umount2(cli, MNT_DETACH), 0);
	struct trust_failure f;
	cr_assert_eq(desktop_open_cli_dir(desktop, "cli-tools/usr/bin", 0, &f), -1);
	cr_assert(desktop_cli_absent(&f));
	struct manifest m = { 0 };
	struct link_plan *plan;
	size_t n, nref;
	struct link_entry refused[16];
	cr_assert_eq(links_plan(&cfg, true, false, &m, cli_base, &plan, &n, refused, &nref, 16), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(nref, 0, "away, not refused");
	links_plan_free(plan, n);
	/* The same directory made by a user is not. */
	cr_assert_eq(chown(cli, 1000, 0), 0);
	cr_assert_eq(desktop_open_cli_dir(desktop, "cli-tools/usr/bin", 0, &f), -1);
	cr_assert_not(desktop_cli_absent(&f));
}

/* ---- the links run what was checked (issue 19, finding 11) ---- */

static void
read_through(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, len - 1);
	cr_assert_geq(n, 0);
	buf[n] = '\0';
	close(fd);
}

static uint64_t
mount_id_of(const char *path)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	uint64_t id = 0;
	cr_assert_geq(fd, 0);
	cr_assert_eq(trust_mnt_id(fd, &id), 0);
	close(fd);
	return id;
}

Test(links, links_point_into_a_private_view_of_the_checked_cli_tools)
{
	static struct manifest m;
	char mpath[PATH_MAX * 2], err[256] = "", docker[PATH_MAX * 2];
	char view[PATH_MAX * 2], cli[PATH_MAX * 2], got[256];
	snprintf(mpath, sizeof mpath, "%s/manifest.json", root);
	cr_assert_eq(manifest_load(&m, mpath, err, sizeof err), 0, "%s", err);
	snprintf(docker, sizeof docker, "%s/bin/docker", root);
	snprintf(view, sizeof view, "%s/run/cli-tools", root);
	snprintf(cli, sizeof cli, "%s/cli-tools", desktop);
	struct links *l = links_new(&cfg, &m);
	links_reconcile(l, &cli_here, false);

	char want[PATH_MAX * 3];
	snprintf(want, sizeof want, "%s/usr/bin/docker", view);
	char target[PATH_MAX];
	ssize_t n = readlink(docker, target, sizeof target - 1);
	cr_assert_gt(n, 0);
	target[n] = '\0';
	cr_assert_str_eq(target, want, "docker points into the view, not into "
	    "the shared tree");
	struct stat vs, cs;
	cr_assert_eq(stat(view, &vs), 0);
	cr_assert_eq(stat(cli, &cs), 0);
	cr_assert(vs.st_dev == cs.st_dev && vs.st_ino == cs.st_ino,
	    "the view is the checked cli-tools mount");
	cr_assert_neq(mount_id_of(view), mount_id_of(cli), "a mount of its own");
	cr_assert_eq(access(want, W_OK), -1, "read-only");
	cr_assert_eq(errno, EROFS);
	cr_assert_not_null(manifest_find(&m, "mount", view));

	/*
	 * Docker Desktop stops and someone re-creates its tree before the
	 * next reconcile: the links still run what was checked.
	 */
	cr_assert_eq(umount2(cli, MNT_DETACH), 0);
	put_file("dd/cli-tools/usr/bin/docker", 0755, "planted");
	read_through(docker, got, sizeof got);
	cr_assert_str_eq(got, "#!/bin/sh\n", "docker runs the checked file");

	/*
	 * A restart of the agent takes the view back as it is, or replaces
	 * it when cli-tools is another mount now.  A descriptor held in the
	 * old view keeps its mount (and mount ID) alive, so IDs compare.
	 */
	int held = open(view, O_PATH | O_CLOEXEC);
	uint64_t old_id;
	cr_assert_eq(trust_mnt_id(held, &old_id), 0);
	links_free(l);
	cr_assert_eq(mount(cli, cli, NULL, MS_BIND, NULL), 0);	/* cli-tools back */
	put_file("dd/cli-tools/usr/bin/docker", 0755, "#!/bin/sh\n");
	l = links_new(&cfg, &m);
	links_reconcile(l, &cli_here, false);
	cr_assert_neq(mount_id_of(view), old_id, "another cli-tools: a new view");
	cr_assert_eq(stat(view, &vs), 0);
	cr_assert_eq(stat(cli, &cs), 0);
	cr_assert(vs.st_dev == cs.st_dev && vs.st_ino == cs.st_ino);
	close(held);
	held = open(view, O_PATH | O_CLOEXEC);
	cr_assert_eq(trust_mnt_id(held, &old_id), 0);
	links_free(l);
	l = links_new(&cfg, &m);
	links_reconcile(l, &cli_here, false);
	cr_assert_eq(mount_id_of(view), old_id, "the same cli-tools: the view is kept");
	close(held);

	/* The CLI away: docker to the shim first, then the view goes. */
	links_reconcile(l, &cli_away, false);
	n = readlink(docker, target, sizeof target - 1);
	cr_assert_gt(n, 0);
	target[n] = '\0';
	cr_assert_str_eq(target, cfg.shim_path);
	cr_assert_eq(mount_id_of(view), mount_id_of(root), "unmounted");
	cr_assert_null(manifest_find(&m, "mount", view));
	links_free(l);
	manifest_free(&m);
}
