/* SPDX-License-Identifier: Apache-2.0 */
/*
 * features/desktop.c: the view of Docker Desktop's tree on real trees, in
 * a private mount namespace as test_trust.c builds them (a tmpfs playing
 * the shared /mnt/wsl, cli-tools a mount of its own): absent, present,
 * untrusted with the reason, the engine socket trusted with a descriptor
 * that is the very socket walked to, and refused after the look.
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

#include "base/config.h"
#include "base/util.h"
#include "features/desktop.h"
#include "testlib.h"

#define USER_UID	1000
#define ENGINE_DIR	"shared-sockets/guest-services"
#define assert_has(s, sub) \
	cr_assert(strstr((s), (sub)) != NULL, "expected \"%s\" in: %s", (sub), (s))

static struct {
	char		 root[PATH_MAX];	/* the shared root, a tmpfs */
	char		 desktop[PATH_MAX + 32];
	char		 engine[PATH_MAX + 96];
	struct config	 cfg;
	struct desktop	*d;
	int		 lfd;
} fx;

static void
setup(void)
{
	char err[CONFIG_ERR_LEN];
	fx.lfd = -1;
	make_temp_dir(fx.root, sizeof fx.root, "desktop");
	snprintf(fx.desktop, sizeof fx.desktop, "%s/docker-desktop", fx.root);
	snprintf(fx.engine, sizeof fx.engine, "%s/" ENGINE_DIR
	    "/docker.proxy.sock", fx.desktop);
	config_init(&fx.cfg);
	cr_assert(eq(int, config_set(&fx.cfg, "desktop_dir", fx.desktop, err,
	    sizeof err), 0), "%s", err);
	fx.d = desktop_new(&fx.cfg);
	cr_assert(not(eq(ptr, fx.d, NULL)));
}

static void
teardown(void)
{
	desktop_free(fx.d);
	if (fx.lfd >= 0)
		close(fx.lfd);
	config_free(&fx.cfg);
	trusted_tree_down(fx.root);
	if (access(fx.root, F_OK) == 0)
		remove_tree(fx.root);
}

TestSuite(desktop, .init = setup, .fini = teardown, .timeout = 30);

/* The shared root only: a tmpfs, as the lab's /mnt/wsl, with no tree. */
static void
root_only(void)
{
	private_mounts();
	cr_assert(eq(int, mount("wda-test", fx.root, "tmpfs", 0, "mode=1777"),
	    0), "tmpfs on %s: %s", fx.root, strerror(errno));
}

/* Docker Desktop's tree as root makes it, with the CLI. */
static void
tree_with_cli(void)
{
	trusted_tree_up(fx.root, fx.desktop);
	put_file_in(fx.desktop, "cli-tools/usr/bin/docker", 0755, "#!/bin/sh\n");
}

static void
engine_up(void)
{
	cr_assert(eq(int, util_mkdir_parent(fx.engine, 0755), 0));
	fx.lfd = unix_listen(fx.engine, 8);
}

static const struct desktop_view *
look(void)
{
	desktop_look(fx.d);
	return desktop_view(fx.d);
}

static const char *
problem(struct json_object *problems, size_t i)
{
	cr_assert(lt(sz, i, json_object_array_length(problems)));
	return json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(problems, i), "what"));
}

static bool
member_bool(struct json_object *o, const char *key)
{
	return json_object_get_boolean(json_object_object_get(o, key));
}

Test(desktop, absent)
{
	root_only();
	const struct desktop_view *v = look();
	cr_assert(not(v->present));
	cr_assert(not(v->cli_present));
	cr_assert(eq(ptr, (void *)v->untrusted, NULL));
	cr_assert(not(v->engine_present));
	cr_assert(eq(int, v->engine_fd, -1));
	cr_assert(eq(ptr, (void *)v->engine_untrusted, NULL));
	cr_assert(eq(str, (char *)v->engine_path, fx.engine));

	struct json_object *problems = json_object_new_array();
	struct json_object *o = desktop_report(fx.d, false, problems);
	cr_assert(not(member_bool(o, "present")));
	cr_assert(eq(str, (char *)json_object_get_string(
	    json_object_object_get(o, "dir")), fx.desktop));
	cr_assert(eq(sz, json_object_array_length(problems), 1));
	assert_has(problem(problems, 0), "Docker Desktop's tree is not at ");
	json_object_put(o);
	json_object_put(problems);
}

Test(desktop, present_with_the_cli_and_no_engine_socket)
{
	tree_with_cli();
	const struct desktop_view *v = look();
	cr_assert(v->present);
	cr_assert(v->cli_present);
	cr_assert(eq(ptr, (void *)v->untrusted, NULL));
	cr_assert(not(v->engine_present));
	cr_assert(eq(int, v->engine_fd, -1));

	struct json_object *problems = json_object_new_array();
	struct json_object *o = desktop_report(fx.d, false, problems);
	cr_assert(member_bool(o, "present"));
	cr_assert(member_bool(o, "cli_tools"));
	cr_assert(not(member_bool(o, "engine_socket")));
	cr_assert(eq(ptr, json_object_object_get(o, "untrusted"), NULL));
	cr_assert(eq(sz, json_object_array_length(problems), 1));
	assert_has(problem(problems, 0), fx.engine);
	assert_has(problem(problems, 0), " is missing");
	json_object_put(o);
	json_object_put(problems);

	/* Off: that is the one problem, whatever the tree. */
	problems = json_object_new_array();
	json_object_put(desktop_report(fx.d, true, problems));
	cr_assert(eq(sz, json_object_array_length(problems), 1));
	assert_has(problem(problems, 0), "the integration is off");
	json_object_put(problems);
}

Test(desktop, a_cli_tools_root_left_unmounted_is_away_not_untrusted)
{
	trusted_tree_up(fx.root, fx.desktop);
	char cli[PATH_MAX * 2];
	snprintf(cli, sizeof cli, "%s/cli-tools", fx.desktop);
	cr_assert(eq(int, umount2(cli, MNT_DETACH), 0));
	const struct desktop_view *v = look();
	cr_assert(v->present);
	cr_assert(not(v->cli_present));
	cr_assert(eq(ptr, (void *)v->untrusted, NULL), "%s", v->untrusted);
	struct json_object *problems = json_object_new_array();
	json_object_put(desktop_report(fx.d, false, problems));
	assert_has(problem(problems, 0), "CLI tools are not mounted");
	json_object_put(problems);
}

Test(desktop, a_cli_a_user_owns_is_untrusted_with_the_reason)
{
	tree_with_cli();
	char docker[PATH_MAX * 2];
	snprintf(docker, sizeof docker, "%s/cli-tools/usr/bin/docker",
	    fx.desktop);
	cr_assert(eq(int, chown(docker, USER_UID, 0), 0));
	const struct desktop_view *v = look();
	cr_assert(v->present);
	cr_assert(not(v->cli_present));
	cr_assert(not(eq(ptr, (void *)v->untrusted, NULL)));
	assert_has(v->untrusted, "owned by uid 1000");

	struct json_object *problems = json_object_new_array();
	struct json_object *o = desktop_report(fx.d, false, problems);
	assert_has(json_object_get_string(json_object_object_get(o,
	    "untrusted")), "owned by uid 1000");
	assert_has(problem(problems, 0), "untrusted: ");
	assert_has(problem(problems, 0), "owned by uid 1000");
	json_object_put(o);
	json_object_put(problems);

	/* Root takes it back: trusted at the next look, the reason gone. */
	cr_assert(eq(int, chown(docker, 0, 0), 0));
	v = look();
	cr_assert(v->cli_present);
	cr_assert(eq(ptr, (void *)v->untrusted, NULL));
}

Test(desktop, a_tree_a_user_made_is_untrusted_cli_and_engine_alike)
{
	tree_with_cli();
	engine_up();
	cr_assert(eq(int, chown(fx.desktop, USER_UID, USER_UID), 0));
	const struct desktop_view *v = look();
	cr_assert(v->present);
	cr_assert(not(v->cli_present));
	assert_has(v->untrusted, "owned by uid 1000, not root");
	cr_assert(v->engine_present);
	cr_assert(eq(int, v->engine_fd, -1), "nothing to connect to");
	cr_assert(not(eq(ptr, (void *)v->engine_untrusted, NULL)));
	assert_has(v->engine_untrusted, "owned by uid 1000, not root");
}

Test(desktop, the_engine_socket_trusted_with_its_descriptor)
{
	tree_with_cli();
	engine_up();
	const struct desktop_view *v = look();
	cr_assert(v->engine_present);
	cr_assert(ge(int, v->engine_fd, 0));
	cr_assert(eq(ptr, (void *)v->engine_untrusted, NULL));
	/* The descriptor is the socket walked to, opened O_PATH. */
	struct stat held, there;
	cr_assert(eq(int, fstat(v->engine_fd, &held), 0));
	cr_assert(eq(int, stat(fx.engine, &there), 0));
	cr_assert(held.st_dev == there.st_dev && held.st_ino == there.st_ino);
	bool sock = S_ISSOCK(held.st_mode);
	cr_assert(sock);
	int fl = fcntl(v->engine_fd, F_GETFL);
	cr_assert(eq(int, fl & O_PATH, O_PATH));
	cr_assert(eq(int, fcntl(v->engine_fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC));

	/* The same socket again keeps its number (the proxy's path). */
	int fd = v->engine_fd;
	v = look();
	cr_assert(eq(int, v->engine_fd, fd));

	/* Docker Desktop re-creates it: the next look holds the new one. */
	close(fx.lfd);
	cr_assert(eq(int, unlink(fx.engine), 0));
	fx.lfd = unix_listen(fx.engine, 8);
	v = look();
	cr_assert(ge(int, v->engine_fd, 0));
	cr_assert(eq(int, fstat(v->engine_fd, &held), 0));
	cr_assert(eq(int, stat(fx.engine, &there), 0));
	cr_assert(held.st_ino == there.st_ino, "the new socket");

	/* Gone: nothing held, and it is missing, not untrusted. */
	close(fx.lfd);
	fx.lfd = -1;
	cr_assert(eq(int, unlink(fx.engine), 0));
	v = look();
	cr_assert(not(v->engine_present));
	cr_assert(eq(int, v->engine_fd, -1));
	cr_assert(eq(ptr, (void *)v->engine_untrusted, NULL));
}

Test(desktop, a_symlinked_engine_socket_is_untrusted_with_the_reason)
{
	tree_with_cli();
	char real[PATH_MAX * 2];
	snprintf(real, sizeof real, "%s/elsewhere.sock", fx.root);
	fx.lfd = unix_listen(real, 8);
	cr_assert(eq(int, util_mkdir_parent(fx.engine, 0755), 0));
	cr_assert(eq(int, symlink(real, fx.engine), 0));
	const struct desktop_view *v = look();
	cr_assert(v->engine_present);
	cr_assert(eq(int, v->engine_fd, -1));
	cr_assert(not(eq(ptr, (void *)v->engine_untrusted, NULL)));
	assert_has(v->engine_untrusted, "symbolic link");
	cr_assert(v->cli_present, "the CLI is trusted all the same");
}

Test(desktop, an_engine_socket_refused_after_the_look)
{
	tree_with_cli();
	engine_up();
	const struct desktop_view *v = look();
	cr_assert(ge(int, v->engine_fd, 0));
	int fd = v->engine_fd;
	desktop_refuse_engine(fx.d, "it is the agent's own socket");
	cr_assert(eq(int, v->engine_fd, -1), "the view drops it at once");
	cr_assert(eq(str, (char *)v->engine_untrusted,
	    "it is the agent's own socket"));
	cr_assert(eq(int, fcntl(fd, F_GETFD), -1), "and lets it go");
	cr_assert(eq(int, errno, EBADF));
	v = look();
	cr_assert(ge(int, v->engine_fd, 0), "the next look walks again");
	cr_assert(eq(ptr, (void *)v->engine_untrusted, NULL));
}

Test(desktop, what_the_watch_follows)
{
	const char *const *dirs = desktop_view(fx.d)->followed;
	size_t n = 0;
	bool bin = false, plugins = false, sockets = false;
	for (; dirs[n] != NULL; n++) {
		bin |= strcmp(dirs[n], "cli-tools/usr/bin") == 0;
		plugins |= strcmp(dirs[n], "cli-tools/usr/lib/docker/"
		    "cli-plugins") == 0;
		sockets |= strcmp(dirs[n], ENGINE_DIR) == 0;
	}
	cr_assert(bin && plugins && sockets);
	cr_assert(eq(sz, n, 5), "usr/bin, three plugin directories, the socket's");
}
