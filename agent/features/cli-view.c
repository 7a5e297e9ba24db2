/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's private view of Docker Desktop's cli-tools.  The links
 * (links.c) never point into the shared tree (issue 19, finding 11): any
 * user of any distro may re-create it while Docker Desktop is away, and
 * between that change and the next reconcile a link into it would run
 * whatever they put there.  Instead the checked cli-tools mount itself is
 * cloned by descriptor (open_tree) and mounted read-only at
 * links.cli_mount, a private place of this distro's root; the links point
 * into that view.  Whatever happens to the names in /mnt/wsl afterwards,
 * the view stays the mount that passed the walk, until a reconcile finds
 * another one (Docker Desktop restarted) and replaces it, or the CLI is
 * away and the links go to the shim first.  The manifest's "mount" entry
 * says the view is the agent's, so a restart takes it back, and nothing
 * the agent did not mount there is ever unmounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "sys/manifest.h"
#include "sys/trust.h"
#include "features/cli-view.h"
#include "features/desktop.h"

struct cli_view {
	const struct config	*cfg;		/* links.cli_mount, desktop_dir */
	struct manifest		*m;
	bool			 mounted;	/* while it is, by us */
	struct trust_mount_id	 id;		/* the view's own mount */
};

/* links.cli_mount's directory, made if missing and opened O_PATH; its name. */
static int
cli_view_parent(const struct config *cfg, char *name, size_t namelen)
{
	char dir[PATH_MAX];
	const char *base;
	if (trust_split(cfg->cli_mount, dir, sizeof dir, &base) < 0 ||
	    (size_t)snprintf(name, namelen, "%s", base) >= namelen) {
		errno = EINVAL;
		return -1;
	}
	if (util_mkdir_p(dir, 0755) < 0)
		return -1;
	return open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/*
 * What is mounted at name now: 1 and *id and *st when a mount's root is
 * there, 0 when a plain entry (or nothing) is, -1 and errno.
 */
static int
cli_view_now(int pfd, const char *name, struct trust_mount_id *id,
    struct stat *st)
{
	int fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	int r = fstat(fd, st) < 0 ? -1 : trust_is_mount_root(fd);
	if (r == 1 && trust_mount_identity(fd, id) < 0)
		r = -1;
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* Unmount the view (ours: the manifest says so), by its identity. */
void
cli_view_release(struct cli_view *v)
{
	const struct config *cfg = v->cfg;
	struct manifest *m = v->m;
	if (manifest_find(m, "mount", cfg->cli_mount) == NULL)
		return;
	char name[NAME_MAX + 1];
	struct trust_mount_id id;
	struct stat st;
	int pfd = cli_view_parent(cfg, name, sizeof name);
	int now = pfd < 0 ? -1 : cli_view_now(pfd, name, &id, &st);
	if (now == 1 && v->mounted && (id.dev != v->id.dev ||
	    id.ino != v->id.ino))
		now = 0;	/* not the view we made: left alone */
	if (now == 1 && trust_umount_checked(pfd, name, &id) < 0)
		now = -1;
	if (now < 0)
		log_state(LOG_LVL_ERR, "links", "links.view.release", "cannot "
		    "unmount the view of cli-tools at %s: %s", cfg->cli_mount,
		    strerror(errno));
	else {
		log_state(LOG_LVL_INFO, "links", "links.view.release", NULL);
		log_info("links", "unmounted the view of cli-tools at %s",
		    cfg->cli_mount);
	}
	if (pfd >= 0)
		close(pfd);
	manifest_remove(m, "mount", cfg->cli_mount);
	v->mounted = false;
}

/*
 * Make links.cli_mount the checked cli-tools mount: 0 when it is (kept,
 * taken back after a restart of the agent, or mounted now), -1 with why
 * when it cannot be.
 */
int
cli_view_mount(struct cli_view *v, char *why, size_t whylen)
{
	const struct config *cfg = v->cfg;
	struct manifest *m = v->m;
	struct trust_failure f;
	struct trust_mount_id id;
	struct stat src, st;
	char name[NAME_MAX + 1];
	int cfd = desktop_open_cli_dir(cfg->desktop_dir, "cli-tools", 0, &f);
	if (cfd < 0) {
		trust_failure_format(&f, why, whylen);
		return -1;
	}
	int pfd = cli_view_parent(cfg, name, sizeof name);
	int now = pfd < 0 || fstat(cfd, &src) < 0 ? -1 :
	    cli_view_now(pfd, name, &id, &st);
	bool ours = manifest_find(m, "mount", cfg->cli_mount) != NULL;
	int rc = -1;
	if (now < 0)
		snprintf(why, whylen, "%s: %s", cfg->cli_mount, strerror(errno));
	else if (now == 1 && ours && st.st_dev == src.st_dev &&
	    st.st_ino == src.st_ino) {
		/* This very cli-tools is mounted there already (ours). */
		v->id = id;
		v->mounted = true;
		rc = 0;
	} else if (now == 1 && !ours)
		snprintf(why, whylen, "something the agent did not mount is "
		    "mounted at %s; unmount it or set links.cli_mount",
		    cfg->cli_mount);
	else {
		if (now == 1)
			cli_view_release(v);	/* an older cli-tools */
		if (mkdirat(pfd, name, 0755) < 0 && errno != EEXIST)
			snprintf(why, whylen, "cannot create %s: %s",
			    cfg->cli_mount, strerror(errno));
		else {
			int tfd = openat(pfd, name, O_PATH | O_NOFOLLOW |
			    O_DIRECTORY | O_CLOEXEC);
			int r = tfd < 0 ? -1 : trust_mount_fd(cfd, tfd,
			    TRUST_MOUNT_RDONLY, &v->id);
			if (r < 0 && errno == ENOSYS)	/* no mount_setattr */
				r = trust_mount_fd(cfd, tfd, 0, &v->id);
			if (r < 0)
				snprintf(why, whylen, "cannot mount it at %s: %s",
				    cfg->cli_mount, strerror(errno));
			else {
				char *src_path = util_path_join(cfg->desktop_dir,
				    "cli-tools");
				manifest_add(m, "mount", cfg->cli_mount, src_path);
				free(src_path);
				v->mounted = true;
				log_info("links", "mounted the checked cli-tools "
				    "at %s", cfg->cli_mount);
				rc = 0;
			}
			if (tfd >= 0)
				close(tfd);
		}
	}
	if (pfd >= 0)
		close(pfd);
	close(cfd);
	return rc;
}

struct cli_view *
cli_view_new(const struct config *cfg, struct manifest *m)
{
	struct cli_view *v = calloc(1, sizeof *v);
	if (v != NULL) {
		v->cfg = cfg;
		v->m = m;
	}
	return v;
}

void
cli_view_free(struct cli_view *v)
{
	free(v);
}
