/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CLI links: every tool Docker Desktop publishes in cli-tools is linked into
 * bin_dir (plugins into plugin_dir).  Links are made atomically, recorded in
 * the manifest, and only links the manifest records are ever replaced or
 * removed.  While the CLI is away, bin_dir links point at the shim, which
 * explains, so `docker' never dangles.
 *
 * The links never point into the shared tree (issue 19, finding 11), but
 * into the agent's private view of the checked cli-tools mount at
 * links.cli_mount (cli-view.c).  It costs a `docker' command nothing
 * (bench/shim-startup.sh), where going through the shim costs about 1 ms.
 * Where the view cannot be mounted, the shim stands in for every tool: it
 * runs exactly the file it checked.  Which tools there are, and whether
 * each may be linked, is asked of Docker Desktop's tree as desktop.c walks
 * it; whether the CLI is there at all, the reconcile tells.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/config.h"
#include "base/defs.h"
#include "base/log.h"
#include "base/text.h"
#include "base/util.h"
#include "base/report.h"
#include "sys/manifest.h"
#include "sys/trust.h"
#include "features/cli-view.h"
#include "features/desktop.h"
#include "features/links.h"

#define CONFLICT_MAX		32

struct conflict {
	char	*what;		/* "a hand-installed /usr/local/bin/docker" */
	char	*fix;
};

/* The links as last reconciled, and what in the distro fights them. */
struct links {
	const struct config	*cfg;
	struct manifest		*m;		/* the shared one: "link" entries */
	struct link_entry	 e[LINK_MAX_ENTRIES];
	size_t			 n;
	struct conflict		 conflicts[CONFLICT_MAX];
	size_t			 nconflicts;
	struct cli_view		*view;		/* cli-tools at links.cli_mount */
};

/*
 * The distro's own command directories.  A tool Docker Desktop ships under
 * a name the distro already has there is never linked into bin_dir, which
 * comes first in PATH and in sudo's secure_path.
 */
static const char *const links_default_system_dirs[] = {
	"/usr/bin", "/bin", "/usr/sbin", "/sbin", NULL
};
const char *const *links_system_dirs = links_default_system_dirs;

/* Would linking name into bin_dir shadow the distro's own?  what says so. */
static bool
links_shadows(const struct config *cfg, const char *name, char *what,
    size_t whylen)
{
	for (size_t i = 0; links_system_dirs[i] != NULL; i++) {
		char path[PATH_MAX];
		struct stat st;
		if (strcmp(links_system_dirs[i], cfg->bin_dir) == 0 ||
		    snprintf(path, sizeof path, "%s/%s", links_system_dirs[i],
		    name) >= (int)sizeof path || lstat(path, &st) < 0)
			continue;
		snprintf(what, whylen, "Docker Desktop's cli-tools ships '%s', "
		    "which this distro already has in %s: not linked", name, path);
		return true;
	}
	return false;
}

static int
links_plan_add(struct link_plan **plan, size_t *n, const char *path,
    const char *target, bool shim)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*plan)[i].path, path) == 0)
			return 0;	/* first source wins */
	if (*n >= LINK_MAX_ENTRIES)
		return 0;
	struct link_plan *grown = realloc(*plan, (*n + 1) * sizeof *grown);
	if (grown == NULL)
		return -1;
	*plan = grown;
	grown[*n].path = strdup(path);
	grown[*n].target = strdup(target);
	grown[*n].shim = shim;
	if (grown[*n].path == NULL || grown[*n].target == NULL) {
		free(grown[*n].path);
		free(grown[*n].target);
		return -1;
	}
	(*n)++;
	return 0;
}

void
links_plan_free(struct link_plan *plan, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(plan[i].path);
		free(plan[i].target);
	}
	free(plan);
}

static void
links_refuse(struct link_entry *refused, size_t *nrefused, size_t max,
    const char *path, enum link_state state, const char *why)
{
	if (*nrefused >= max)
		return;
	struct link_entry *e = &refused[*nrefused];
	e->path = strdup(path);
	e->target = NULL;
	e->state = state;
	e->detail = strdup(why);
	if (e->path == NULL || e->detail == NULL) {
		free(e->path);
		free(e->detail);
		return;		/* out of memory: unreported, still not linked */
	}
	(*nrefused)++;
}

void
links_refused_free(struct link_entry *refused, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(refused[i].path);
		free(refused[i].detail);
	}
}

/*
 * Scan one cli-tools directory, opened by descriptor after the walk from
 * the shared root, and plan a link for each tool that passes the same walk.
 */
static int
links_plan_dir(const struct config *cfg, const char *subdir,
    const char *cli_base, const char *dest_dir, bool plugins_only,
    struct link_plan **plan, size_t *nplan, struct link_entry *refused,
    size_t *nrefused, size_t maxrefused)
{
	struct trust_failure f;
	char why[TEXT_ESCAPE_SIZE(PATH_MAX) + 256];
	int dfd = desktop_open_cli_dir(cfg->desktop_dir, subdir, TRUST_READ, &f);
	if (dfd < 0) {
		/* A directory this Docker Desktop does not have is no problem. */
		if (!desktop_cli_absent(&f)) {
			trust_failure_format(&f, why, sizeof why);
			links_refuse(refused, nrefused, maxrefused, f.path,
			    LINK_REFUSED, why);
		}
		return 0;
	}
	char dirpath[PATH_MAX];
	snprintf(dirpath, sizeof dirpath, "%s", f.path);
	char *dir = util_path_join(cfg->desktop_dir, subdir);
	/* Where the links point: the view's same directory, or the shim. */
	char *linked = cli_base == NULL ? NULL : util_path_join(cli_base,
	    subdir + strcspn(subdir, "/"));
	DIR *d = dir != NULL && (cli_base == NULL || linked != NULL) ?
	    fdopendir(dfd) : NULL;
	if (d == NULL) {
		close(dfd);
		free(linked);
		free(dir);
		return dir != NULL ? 0 : -1;
	}
	int rc = 0;
	struct dirent *de;
	size_t seen = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (++seen > LINK_MAX_ENTRIES) {
			log_state(LOG_LVL_WARN, "links", dir, "%s holds more than %d "
			    "entries; only the first are linked", dir,
			    LINK_MAX_ENTRIES);
			break;
		}
		if (plugins_only && strncmp(de->d_name, "docker-", 7) != 0)
			continue;
		char *target = util_path_join(dir, de->d_name);
		if (target == NULL) {
			rc = -1;
			break;
		}
		int tfd = -1;
		if (!desktop_name_ok(de->d_name))
			links_refuse(refused, nrefused, maxrefused, target,
			    LINK_REFUSED, "the name has control characters or is "
			    "too long; refused");
		else if (!plugins_only && strcmp(de->d_name, "docker") != 0 &&
		    links_shadows(cfg, de->d_name, why, sizeof why))
			links_refuse(refused, nrefused, maxrefused, target,
			    LINK_CONFLICT, why);
		else if ((tfd = desktop_open_tool(dfd, dirpath, de->d_name, why,
		    sizeof why)) < 0)
			links_refuse(refused, nrefused, maxrefused, target,
			    LINK_REFUSED, why);
		if (tfd < 0) {
			free(target);
			continue;
		}
		close(tfd);
		free(target);
		target = linked != NULL ? util_path_join(linked, de->d_name) :
		    strdup(cfg->shim_path);
		char *path = util_path_join(dest_dir, de->d_name);
		if (path == NULL || target == NULL || links_plan_add(plan, nplan,
		    path, target, linked == NULL) < 0)
			rc = -1;
		free(path);
		free(target);
	}
	closedir(d);
	free(linked);
	free(dir);
	return rc;
}

static bool
links_shim_usable(const struct config *cfg)
{
	return cfg->links_on_stop == LINKS_ON_STOP_SHIM &&
	    access(cfg->shim_path, X_OK) == 0;
}

int
links_plan(const struct config *cfg, bool cli_present, bool disabled,
    const struct manifest *m, const char *cli_base, struct link_plan **plan,
    size_t *nplan, struct link_entry *refused, size_t *nrefused,
    size_t maxrefused)
{
	*plan = NULL;
	*nplan = 0;
	*nrefused = 0;
	if (disabled)
		return 0;
	if (cli_present && (cli_base != NULL ||
	    access(cfg->shim_path, X_OK) == 0)) {
		for (size_t i = 0; desktop_bin_subdirs[i] != NULL; i++)
			if (links_plan_dir(cfg, desktop_bin_subdirs[i], cli_base,
			    cfg->bin_dir, false, plan, nplan, refused, nrefused,
			    maxrefused) < 0)
				return -1;
		for (size_t i = 0; desktop_plugin_subdirs[i] != NULL; i++)
			if (links_plan_dir(cfg, desktop_plugin_subdirs[i], cli_base,
			    cfg->plugin_dir, true, plan, nplan, refused, nrefused,
			    maxrefused) < 0)
				return -1;
		return 0;
	}
	/*
	 * The CLI is away: tools we linked into bin_dir (and always `docker')
	 * go to the shim, which explains; plugins just go, as the docker CLI
	 * that would run them is away too.
	 */
	if (!links_shim_usable(cfg))
		return 0;
	char *docker = util_path_join(cfg->bin_dir, "docker");
	if (docker == NULL || links_plan_add(plan, nplan, docker, cfg->shim_path,
	    true) < 0) {
		free(docker);
		return -1;
	}
	free(docker);
	for (size_t i = 0; i < m->n; i++) {
		const struct manifest_entry *e = &m->entries[i];
		char *dir;
		if (strcmp(e->kind, "link") != 0 || (dir = strdup(e->path)) == NULL)
			continue;
		char *slash = strrchr(dir, '/');
		if (slash != NULL)
			*slash = '\0';
		if (strcmp(dir, cfg->bin_dir) == 0 &&
		    links_plan_add(plan, nplan, e->path, cfg->shim_path, true) < 0) {
			free(dir);
			return -1;
		}
		free(dir);
	}
	return 0;
}

/* ---------------------------------------------------------------- */

static void
links_record(struct links *l, const char *path, const char *target,
    enum link_state state, const char *detail)
{
	if (l->n >= LINK_MAX_ENTRIES)
		return;
	struct link_entry *e = &l->e[l->n++];
	e->path = strdup(path);
	e->target = target != NULL ? strdup(target) : NULL;
	e->state = state;
	e->detail = detail != NULL ? strdup(detail) : NULL;
}

static void
links_clear_state(struct links *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].path);
		free(l->e[i].target);
		free(l->e[i].detail);
	}
	l->n = 0;
}

static void
links_conflicts_clear(struct links *l)
{
	for (size_t i = 0; i < l->nconflicts; i++) {
		free(l->conflicts[i].what);
		free(l->conflicts[i].fix);
	}
	l->nconflicts = 0;
}

static void
links_conflict_add(struct links *l, const char *what, const char *fix)
{
	if (l->nconflicts >= CONFLICT_MAX)
		return;
	l->conflicts[l->nconflicts].what = strdup(what);
	l->conflicts[l->nconflicts].fix = strdup(fix);
	l->nconflicts++;
	log_state(LOG_LVL_WARN, "links", what, "%s; %s", what, fix);
}

static char *
links_readlink(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof buf - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

/* Create or replace a symlink atomically: make it under a temp name, rename. */
static int
links_make(const char *path, const char *target, bool replace)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (slash == NULL || snprintf(tmp, sizeof tmp, "%.*s/.%s.wda-new",
	    (int)(slash - path), path, slash + 1) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	(void)unlink(tmp);
	if (symlink(target, tmp) < 0)
		return -1;
	/* A new link must not clobber a file that appeared meanwhile. */
	int r = renameat2(AT_FDCWD, tmp, AT_FDCWD, path,
	    replace ? 0 : RENAME_NOREPLACE);
	if (r < 0 && errno == EINVAL && !replace) {
		/* renameat2 flags unsupported on this file system. */
		r = link(tmp, path);
		if (r == 0)
			(void)unlink(tmp);
		return r;
	}
	if (r < 0) {
		int saved = errno;
		(void)unlink(tmp);
		errno = saved;
	}
	return r;
}

static void
links_apply_one(struct links *l, const struct link_plan *p)
{
	struct manifest *m = l->m;
	enum link_state ok_state = p->shim ? LINK_SHIM : LINK_OK;
	struct manifest_entry *mine = manifest_find(m, "link", p->path);
	struct stat st;
	char detail[PATH_MAX + 160];

	if (lstat(p->path, &st) == 0) {
		char *cur = S_ISLNK(st.st_mode) ? links_readlink(p->path) : NULL;
		if (cur != NULL && strcmp(cur, p->target) == 0) {
			/* Already right; adopting an identical link clobbers nothing. */
			manifest_add(m, "link", p->path, p->target);
			links_record(l, p->path, p->target, ok_state, NULL);
		} else if (cur != NULL && mine != NULL) {
			if (links_make(p->path, p->target, true) < 0) {
				snprintf(detail, sizeof detail, "cannot replace: %s",
				    strerror(errno));
				links_record(l, p->path, p->target, LINK_CONFLICT, detail);
			} else {
				manifest_add(m, "link", p->path, p->target);
				links_record(l, p->path, p->target, ok_state, NULL);
				log_info("links", "%s -> %s", p->path, p->target);
			}
		} else {
			if (mine != NULL) {
				/* Someone replaced our link with their own file. */
				manifest_remove(m, "link", p->path);
			}
			snprintf(detail, sizeof detail, "%s is %s the agent did not "
			    "create", p->path, cur != NULL ? "a link" : "a file");
			links_record(l, p->path, p->target, LINK_CONFLICT, detail);
			char fix[PATH_MAX + 128];
			snprintf(fix, sizeof fix, "left untouched; remove or move it "
			    "aside to use Docker Desktop's %s", strrchr(p->path, '/') + 1);
			links_conflict_add(l, detail, fix);
		}
		free(cur);
		return;
	}
	if (errno != ENOENT) {
		snprintf(detail, sizeof detail, "%s: %s", p->path, strerror(errno));
		links_record(l, p->path, p->target, LINK_CONFLICT, detail);
		return;
	}
	if (util_mkdir_parent(p->path, 0755) < 0)
		log_state(LOG_LVL_ERR, "links", p->path, "cannot create the "
		    "directory of %s: %s", p->path, strerror(errno));
	if (links_make(p->path, p->target, false) < 0) {
		snprintf(detail, sizeof detail, "cannot create: %s", strerror(errno));
		links_record(l, p->path, p->target, LINK_CONFLICT, detail);
		log_state(LOG_LVL_ERR, "links", p->path, "%s: %s", p->path, detail);
		return;
	}
	log_state(LOG_LVL_INFO, "links", p->path, NULL);
	manifest_add(m, "link", p->path, p->target);
	links_record(l, p->path, p->target, ok_state, NULL);
	log_info("links", "%s -> %s", p->path, p->target);
}

/* Remove a link from the manifest, and from disk if it is still ours. */
static void
links_remove_ours(struct manifest *m, const char *path, const char *target)
{
	char *cur = links_readlink(path);
	if (cur != NULL && target != NULL && strcmp(cur, target) == 0) {
		if (unlink(path) < 0 && errno != ENOENT)
			log_err("links", "cannot remove %s: %s", path,
			    strerror(errno));
		else
			log_info("links", "removed %s", path);
	} else if (cur != NULL || errno != ENOENT)
		log_notice("links", "%s changed since the agent made it; left "
		    "untouched and forgotten", path);
	free(cur);
	manifest_remove(m, "link", path);
}

static bool
links_unit_installed(const char *unit)
{
	static const char *const dirs[] = { "/etc/systemd/system",
	    "/usr/lib/systemd/system", "/lib/systemd/system", NULL };
	for (size_t i = 0; dirs[i] != NULL; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", dirs[i], unit);
		struct stat st;
		/* A unit masked to /dev/null is no conflict. */
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return true;
	}
	return false;
}

/* Things in the distro that fight the integration, each with its fix. */
static void
links_check_distro_conflicts(struct links *l)
{
	const struct config *cfg = l->cfg;
	char *ours = util_path_join(cfg->bin_dir, "docker");
	bool linked = ours != NULL &&
	    manifest_find(l->m, "link", ours);
	free(ours);
	static const char *const local_clis[] = { "/usr/bin/docker",
	    "/bin/docker", NULL };
	char seen[PATH_MAX] = "";
	for (size_t i = 0; linked && local_clis[i] != NULL; i++) {
		char real[PATH_MAX];
		/* With a merged /usr, /bin/docker is /usr/bin/docker: say it once. */
		if (access(local_clis[i], X_OK) != 0 ||
		    util_path_within(local_clis[i], cfg->bin_dir) ||
		    realpath(local_clis[i], real) == NULL ||
		    strcmp(real, seen) == 0)
			continue;
		snprintf(seen, sizeof seen, "%s", real);
		char what[PATH_MAX + 96];
		snprintf(what, sizeof what, "%s (a docker CLI installed in this "
		    "distro, such as docker-ce) is shadowed by %s/docker",
		    local_clis[i], cfg->bin_dir);
		links_conflict_add(l, what, "remove the distro's docker packages "
		    "(apt-get remove docker-ce-cli docker.io) so one docker is used");
	}
	if (links_unit_installed("docker.service"))
		links_conflict_add(l, "a local docker.service is installed in this "
		    "distro", "run 'systemctl disable --now docker.service "
		    "docker.socket' so it does not take the docker socket");
}

struct links *
links_new(const struct config *cfg, struct manifest *m)
{
	struct links *l = calloc(1, sizeof *l);
	if (l == NULL)
		return NULL;
	l->cfg = cfg;
	l->m = m;
	if ((l->view = cli_view_new(cfg, m)) == NULL) {
		free(l);
		return NULL;
	}
	return l;
}

/* Make the links match the CLI (present or not) or remove them (disabled). */
static void
links_apply(struct links *l, bool cli_present, bool disabled)
{
	struct manifest *m = l->m;
	struct link_plan *plan = NULL;
	size_t nplan = 0, nrefused = 0;
	struct link_entry refused[32];

	links_clear_state(l);
	links_conflicts_clear(l);
	const char *base = NULL;
	if (cli_present && !disabled) {
		char why[TEXT_ESCAPE_SIZE(PATH_MAX) + 256];
		if (cli_view_mount(l->view, why, sizeof why) == 0) {
			base = l->cfg->cli_mount;
			log_state(LOG_LVL_INFO, "links", "links.view", NULL);
		} else
			log_state(LOG_LVL_WARN, "links", "links.view", "no view of "
			    "cli-tools: %s; the shim runs each tool instead (about "
			    "1 ms more per command)", why);
	}
	if (links_plan(l->cfg, cli_present, disabled, m, base, &plan,
	    &nplan, refused, &nrefused, 32) < 0) {
		log_err("links", "out of memory planning links; will retry");
		links_plan_free(plan, nplan);
		links_refused_free(refused, nrefused);
		return;
	}
	for (size_t i = 0; i < nrefused; i++) {
		if (refused[i].state == LINK_CONFLICT) {
			/* A tool that would shadow the distro's own. */
			char fix[PATH_MAX + 128];
			snprintf(fix, sizeof fix, "nothing to do: the distro's own "
			    "runs; run Docker Desktop's as %s if you need it",
			    refused[i].path);
			links_conflict_add(l, refused[i].detail, fix);
			continue;
		}
		log_state(LOG_LVL_WARN, "links", refused[i].path, "%s: %s",
		    refused[i].path, refused[i].detail);
		links_record(l, refused[i].path, NULL, LINK_REFUSED, refused[i].detail);
	}
	links_refused_free(refused, nrefused);
	for (size_t i = 0; i < nplan; i++)
		links_apply_one(l, &plan[i]);

	/* Whatever we made that is no longer planned goes. */
	for (size_t i = m->n; i-- > 0;) {
		struct manifest_entry *e = &m->entries[i];
		if (strcmp(e->kind, "link") != 0)
			continue;
		bool planned = false;
		for (size_t j = 0; j < nplan && !planned; j++)
			planned = strcmp(plan[j].path, e->path) == 0;
		if (!planned) {
			char *path = strdup(e->path);
			char *target = e->target != NULL ? strdup(e->target) : NULL;
			if (path != NULL)
				links_remove_ours(m, path, target);
			free(path);
			free(target);
		}
	}
	links_plan_free(plan, nplan);
	/* Nothing points into the view any more: it goes. */
	if (base == NULL)
		cli_view_release(l->view);
	if (!disabled)
		links_check_distro_conflicts(l);
	manifest_save(m);
}

/*
 * With the CLI away links_plan() points bin_dir at the shim; planning as
 * if disabled removes everything we made.
 */
void
links_reconcile(struct links *l, const struct desktop_view *v, bool disabled)
{
	links_apply(l, v->cli_present, disabled);
}

void
links_release(struct links *l, bool remove_all)
{
	links_apply(l, false, remove_all || !links_shim_usable(l->cfg));
}

void
links_free(struct links *l)
{
	if (l == NULL)
		return;
	links_clear_state(l);
	links_conflicts_clear(l);
	cli_view_free(l->view);
	free(l);
}

size_t
links_count(const struct links *l, enum link_state state)
{
	size_t n = 0;
	for (size_t i = 0; l != NULL && i < l->n; i++)
		n += l->e[i].state == state;
	return n;
}

static const char *
links_state_name(enum link_state s)
{
	switch (s) {
	case LINK_OK:		return "ok";
	case LINK_SHIM:		return "shim";
	case LINK_CONFLICT:	return "conflict";
	case LINK_REFUSED:	return "refused";
	}
	return "?";
}

struct json_object *
links_report(const struct links *l, struct json_object *problems)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; l != NULL && i < l->n; i++) {
		const struct link_entry *e = &l->e[i];
		struct json_object *o = json_object_new_object();
		report_add_str(o, "path", e->path);
		report_add_str(o, "target", e->target);
		report_add_str(o, "state", links_state_name(e->state));
		report_add_str(o, "detail", e->detail);
		json_object_array_add(arr, o);
	}
	for (size_t i = 0; l != NULL && i < l->n; i++)
		if (l->e[i].state == LINK_CONFLICT ||
		    l->e[i].state == LINK_REFUSED)
			report_add_problem(problems, l->e[i].detail != NULL ?
			    l->e[i].detail : l->e[i].path,
			    l->e[i].state == LINK_REFUSED ?
			    "Docker Desktop's tree holds something unexpected; "
			    "reinstall or restart Docker Desktop" :
			    "remove or move aside the file, or ignore this if you "
			    "want to keep it");
	return arr;
}

struct json_object *
links_conflicts_report(const struct links *l)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; l != NULL && i < l->nconflicts; i++)
		report_add_problem(arr, l->conflicts[i].what, l->conflicts[i].fix);
	return arr;
}
