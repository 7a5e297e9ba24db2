/* SPDX-License-Identifier: Apache-2.0 */
/* The bind features' world; see testlib-binds.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>

#include "base/sha256.h"
#include "io/notify.h"
#include "io/work.h"
#include "features/exposures.h"
#include "testlib-binds.h"
#include "testlib.h"

static void
bind_world_changed(void *arg)
{
	(void)arg;		/* notify counts the runs */
}

void
bind_world_set(struct bind_world *w, const char *key, const char *value)
{
	char err[CONFIG_ERR_LEN];
	cr_assert(eq(int, config_set(&w->cfg, key, value, err, sizeof err), 0),
	    "%s: %s", key, err);
}

const char *
bind_world_path(struct bind_world *w, const char *rel)
{
	static char p[4][PATH_MAX];
	static int next;
	char *s = p[next++ % 4];
	snprintf(s, sizeof p[0], "%s/%s", w->dir, rel);
	return s;
}

const char *
bind_world_point(const char *source)
{
	static char p[PATH_MAX];
	char hex[SHA256_HEX_SIZE];
	sha256_hex(source, hex);
	snprintf(p, sizeof p, "%s/%s", BIND_WORLD_AREA, hex);
	return p;
}

void
bind_world_worker(struct bind_world *w, void (*mounted)(void *), void *arg)
{
	w->work = work_new(w->base);
	cr_assert(not(eq(ptr, w->work, NULL)));
	exposures_set_worker(w->exposures, w->work, mounted, arg);
}

/* The gate, on the worker: waits until a byte comes (or the pipe ends). */
static void
bind_world_gate_run(struct work *work, void *arg)
{
	int fd = *(int *)arg;
	char c;
	(void)work;
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static void
bind_world_gate_done(void *arg, bool ran)
{
	(void)arg;
	(void)ran;
}

void
bind_world_gate_shut(struct bind_world *w)
{
	cr_assert(eq(int, w->gate[0], -1), "the gate is shut already");
	cr_assert(eq(int, pipe2(w->gate, O_CLOEXEC), 0));
	cr_assert(eq(int, work_submit(w->work, bind_world_gate_run,
	    bind_world_gate_done, &w->gate[0]), 0));
}

void
bind_world_gate_open(struct bind_world *w)
{
	if (w->gate[1] < 0)
		return;
	cr_assert(eq(int, (int)write(w->gate[1], "x", 1), 1));
	close(w->gate[1]);
	w->gate[1] = -1;
}

void
bind_world_up(struct bind_world *w, const char *name)
{
	char err[256] = "";
	memset(w, 0, sizeof *w);
	w->gate[0] = w->gate[1] = -1;
	make_temp_dir(w->dir, sizeof w->dir, name);
	private_mounts();
	/* A tmpfs of its own: what is shown in it goes with it at the end. */
	cr_assert(eq(int, mount("wda-test", w->dir, "tmpfs", 0, "mode=755"), 0));
	cr_assert(eq(int, mount("wda-test", "/mnt", "tmpfs", 0, "mode=755"), 0),
	    "tmpfs on /mnt: %s", strerror(errno));
	cr_assert(eq(int, mkdir("/mnt/wsl", 0755), 0));
	cr_assert(eq(int, mount("wda-test", "/mnt/wsl", "tmpfs", 0,
	    "mode=1777"), 0));
	cr_assert(eq(int, mount(NULL, "/mnt/wsl", NULL, MS_SHARED, NULL), 0));
	config_init(&w->cfg);
	bind_world_set(w, "distro", "unit");
	bind_world_set(w, "bind.engine_wsl_root", "/mnt/wsl");
	bind_world_set(w, "state_dir", bind_world_path(w, "state"));
	cr_assert(eq(int, mkdir(bind_world_path(w, "state"), 0700), 0));
	cr_assert(eq(int, manifest_load(&w->manifest, bind_world_path(w,
	    "state/manifest.json"), err, sizeof err), 0), "%s", err);
	w->base = event_base_new();
	cr_assert(not(eq(ptr, w->base, NULL)));
	w->changed = notify_new(w->base, bind_world_changed, w);
	w->exposures = exposures_new(&w->cfg, &w->manifest, w->changed);
	cr_assert(not(eq(ptr, w->exposures, NULL)));
}

void
bind_world_down(struct bind_world *w)
{
	bind_world_gate_open(w);
	work_free(w->work);		/* a mount under way ends first */
	if (w->gate[0] >= 0)
		close(w->gate[0]);
	exposures_free(w->exposures);
	notify_free(w->changed);
	manifest_free(&w->manifest);
	config_free(&w->cfg);
	event_base_free(w->base);
	(void)umount2("/mnt", MNT_DETACH);
	(void)umount2(w->dir, MNT_DETACH);
	remove_tree(w->dir);
}
