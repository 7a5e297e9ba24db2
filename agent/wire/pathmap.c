/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine's view of a path: one small table.  Docker Desktop's engine
 * runs in a distro of its own and sees only two things of this one: the
 * shared tmpfs (/mnt/wsl here, /run/desktop/mnt/host/wsl there) and the
 * Windows drives (/mnt/c here with its drvfs mount, /run/desktop/mnt/host/c
 * there).  The table maps such local prefixes to the engine's; a path
 * below none of them is one the engine cannot see, and exposures.c re-exposes
 * it below the shared tmpfs.
 *
 * The table is built from mountinfo (read once per pathmap_new, so a
 * caller rebuilds it when mounts change; one that cannot be read builds
 * nothing, and the caller keeps the table it had) and from the
 * configuration:
 *   - the shared tmpfs, found as wsl_find_shared_root() finds it, maps to
 *     bind.engine_wsl_root;
 *   - each drive mount maps to bind.engine_drive_root/<letter> ("" turns
 *     that off).  A drive mount is 9p with "aname=drvfs;path=X:\" (WSL 2),
 *     drvfs with source "X:" (WSL 1), or virtiofs (WSL 2 with virtiofs=true)
 *     whose source is "drvfsX<n>" or a tag WSL records as a symlink to
 *     "X:\" below /run/wsl/virtiofs.  Only whole drives count: a mount of
 *     a Windows folder is re-exposed like any other directory, since a
 *     wrong guess would have the engine create an empty directory;
 *   - a mount made over or below a drive hides what it covers, so the
 *     table keeps it as a "local" entry: the engine cannot see it;
 *   - bind.shared_paths adds "LOCAL" (the engine sees it at the same path)
 *     or "LOCAL=ENGINE" entries, which replace an automatic entry for the
 *     same prefix.
 * The longest prefix a path is at or below decides.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/util.h"
#include "sys/wsl.h"
#include "base/pathlist.h"
#include "wire/pathmap.h"

#define PATHMAP_LINE_MAX	8192	/* longer mountinfo lines are skipped */
#define PATHMAP_LOCAL_FALLBACK	"/mnt/wsl"	/* no shared tmpfs found */

struct pathmap_entry {
	char		*local;		/* no trailing '/' (but "/" itself) */
	char		*engine;	/* NULL: PATHMAP_LOCAL */
	enum pathmap_kind kind;
};

struct pathmap {
	struct pathmap_entry e[PATHMAP_ENTRIES_MAX];
	size_t		 n;
	bool		 oom;
	char		*shared_root;	/* the shared tmpfs here */
};

const char *
pathmap_kind_name(enum pathmap_kind k)
{
	switch (k) {
	case PATHMAP_SHARED_TREE:
		return "shared-tree";
	case PATHMAP_DRIVE:
		return "drive";
	case PATHMAP_CONFIGURED:
		return "configured";
	case PATHMAP_LOCAL:
		break;
	}
	return "local";
}

/* ------------------------------------------------------------------ */
/* The table. */

static void
pathmap_remove_at(struct pathmap *m, size_t i)
{
	free(m->e[i].local);
	free(m->e[i].engine);
	m->e[i] = m->e[--m->n];
}

static struct pathmap_entry *
pathmap_find(struct pathmap *m, const char *local)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->e[i].local, local) == 0)
			return &m->e[i];
	return NULL;
}

/* "/a/b/" -> "/a/b"; "/" stays; malloc'd. */
static char *
pathmap_strip(const char *path, size_t len)
{
	while (len > 1 && path[len - 1] == '/')
		len--;
	return strndup(path, len);
}

/* Set local's entry (replacing one for the same prefix); takes nothing. */
static void
pathmap_set(struct pathmap *m, const char *local, size_t local_len,
    const char *engine, size_t engine_len, enum pathmap_kind kind)
{
	char *l = pathmap_strip(local, local_len);
	char *e = engine != NULL ? pathmap_strip(engine, engine_len) : NULL;
	if (l == NULL || (engine != NULL && e == NULL)) {
		m->oom = true;
		goto drop;
	}
	struct pathmap_entry *x = pathmap_find(m, l);
	/* Only the configuration overrides the shared tree's entry. */
	if (x != NULL && x->kind == PATHMAP_SHARED_TREE &&
	    kind != PATHMAP_CONFIGURED)
		goto drop;
	if (x == NULL) {
		if (m->n >= PATHMAP_ENTRIES_MAX)
			goto drop;	/* the bound: such paths are re-exposed */
		x = &m->e[m->n++];
	} else {
		free(x->local);
		free(x->engine);
	}
	x->local = l;
	x->engine = e;
	x->kind = kind;
	return;
drop:
	free(l);
	free(e);
}

/* The longest entry path is at or below, or NULL. */
static const struct pathmap_entry *
pathmap_longest(const struct pathmap *m, const char *path)
{
	const struct pathmap_entry *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < m->n; i++) {
		size_t len = strlen(m->e[i].local);
		if ((best == NULL || len > best_len) &&
		    util_path_within(path, m->e[i].local)) {
			best = &m->e[i];
			best_len = len;
		}
	}
	return best;
}

/* ------------------------------------------------------------------ */
/* Drive mounts in mountinfo. */

/*
 * "C:", "C:\" or "C:\134" (the backslash as mountinfo escapes it), then
 * the end or a separator in `ends': the root of drive C.  Returns the
 * lowercase letter, or 0 for anything else (a folder, a UNC path).
 */
static char
pathmap_drive_root_letter(const char *s, const char *ends)
{
	char c = s[0];
	if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) || s[1] != ':')
		return 0;
	const char *p = s + 2;
	if (strncmp(p, "\\134", 4) == 0)
		p += 4;
	else if (*p == '\\' || *p == '/')
		p++;
	if (*p != '\0' && strchr(ends, *p) == NULL)
		return 0;
	return (char)(c | 0x20);
}

/* 9p super options: "...,aname=drvfs;path=C:\;uid=1000;...,trans=fd". */
static char
pathmap_9p_letter(const char *opts)
{
	for (const char *p = opts; (p = strstr(p, "aname=drvfs;")) != NULL;
	    p++) {
		if (p != opts && p[-1] != ',')
			continue;
		/* drvfs's own options are ';'-separated, up to the next ','. */
		const char *end = strchrnul(p, ',');
		for (const char *q = p + strlen("aname=drvfs;"); q < end;) {
			if (strncmp(q, "path=", 5) == 0)
				return pathmap_drive_root_letter(q + 5, ";,");
			const char *semi = memchr(q, ';', (size_t)(end - q));
			q = semi != NULL ? semi + 1 : end;
		}
	}
	return 0;
}

/*
 * A virtiofs source: "drvfsC0" (WSL 2.7), or a tag whose symlink below
 * tag_dir names the Windows path (later WSL records "C:\" there).
 */
static char
pathmap_virtiofs_letter(const char *source, const char *tag_dir)
{
	if (strncmp(source, "drvfs", 5) == 0) {
		char c = source[5];
		const char *n = source + 6;
		if (((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) &&
		    *n != '\0' && strspn(n, "0123456789") == strlen(n))
			return (char)(c | 0x20);
	}
	if (tag_dir == NULL || *source == '\0' || strchr(source, '/') != NULL ||
	    strcmp(source, ".") == 0 || strcmp(source, "..") == 0)
		return 0;
	char link[PATH_MAX], target[64];
	int n = snprintf(link, sizeof link, "%s/%s", tag_dir, source);
	if (n < 0 || (size_t)n >= sizeof link)
		return 0;
	ssize_t len = readlink(link, target, sizeof target - 1);
	if (len <= 0)
		return 0;
	target[len] = '\0';
	return pathmap_drive_root_letter(target, "");
}

static char
pathmap_drive_letter(const struct mountinfo_entry *e, const char *tag_dir)
{
	if (strcmp(e->fstype, "9p") == 0)
		return pathmap_9p_letter(e->super_opts);
	if (strcmp(e->fstype, "drvfs") == 0)
		return pathmap_drive_root_letter(e->source, "");
	if (strcmp(e->fstype, "virtiofs") == 0)
		return pathmap_virtiofs_letter(e->source, tag_dir);
	return 0;
}

/*
 * One mount, in mountinfo's order: it hides the drive entries (and the
 * holes in them) at or below its mount point; a drive adds its own entry,
 * anything else mounted within a drive a hole.
 */
static void
pathmap_add_mount(struct pathmap *m, const struct mountinfo_entry *e,
    const char *drive_root, const char *tag_dir)
{
	const char *mp = e->mount_point;
	if (mp[0] != '/')
		return;
	for (size_t i = m->n; i-- > 0;)
		if ((m->e[i].kind == PATHMAP_DRIVE ||
		    m->e[i].kind == PATHMAP_LOCAL) &&
		    util_path_within(m->e[i].local, mp))
			pathmap_remove_at(m, i);
	char letter = drive_root != NULL ? pathmap_drive_letter(e, tag_dir) : 0;
	if (letter != 0) {
		/* A bind of a folder of the drive has that folder as root. */
		const char *root = strcmp(e->root, "/") == 0 ? "" : e->root;
		if (root[0] != '\0' && root[0] != '/')
			return;
		char engine[PATH_MAX];
		int n = snprintf(engine, sizeof engine, "%s%s%c%s", drive_root,
		    drive_root[strlen(drive_root) - 1] == '/' ? "" : "/",
		    letter, root);
		if (n > 0 && (size_t)n < sizeof engine)
			pathmap_set(m, mp, strlen(mp), engine, (size_t)n,
			    PATHMAP_DRIVE);
		return;
	}
	const struct pathmap_entry *within = pathmap_longest(m, mp);
	if (within != NULL && within->kind == PATHMAP_DRIVE)
		pathmap_set(m, mp, strlen(mp), NULL, 0, PATHMAP_LOCAL);
}

/* -1 and errno when mountinfo cannot be read to its end. */
static int
pathmap_read_mounts(struct pathmap *m, const char *mountinfo,
    const char *drive_root, const char *tag_dir)
{
	FILE *f = fopen(mountinfo, "re");
	if (f == NULL)
		return -1;
	char line[PATHMAP_LINE_MAX];
	bool skipping = false;	/* the rest of a line too long to read */
	errno = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		size_t len = strlen(line);
		bool whole = len > 0 && line[len - 1] == '\n';
		if (skipping || (!whole && !feof(f))) {
			skipping = !whole;
			continue;
		}
		struct mountinfo_entry e;
		if (wsl_parse_mountinfo_line(line, &e))
			pathmap_add_mount(m, &e, drive_root, tag_dir);
	}
	int err = ferror(f) ? (errno != 0 ? errno : EIO) : 0;
	fclose(f);
	errno = err;
	return err != 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* ------------------------------------------------------------------ */
/* Life cycle, lookups, status. */

static int
pathmap_by_local(const void *a, const void *b)
{
	return strcmp(((const struct pathmap_entry *)a)->local,
	    ((const struct pathmap_entry *)b)->local);
}

struct pathmap *
pathmap_new(const struct pathmap_options *o)
{
	struct pathmap *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	const char *mountinfo = o->mountinfo != NULL ? o->mountinfo :
	    "/proc/self/mountinfo";
	const char *tag_dir = o->virtiofs_tags != NULL ? o->virtiofs_tags :
	    PATHMAP_VIRTIOFS_TAGS;
	const char *drive_root = o->engine_drive_root != NULL &&
	    *o->engine_drive_root != '\0' ? o->engine_drive_root : NULL;

	/*
	 * Unread, mountinfo says nothing: guessing /mnt/wsl (or no drives)
	 * would put exposures where the engine does not look (issue 19).
	 */
	char *shared = wsl_find_shared_root(mountinfo);
	if (shared == NULL && errno != 0) {
		int err = errno;
		free(m);
		errno = err;
		return NULL;
	}
	const char *local = shared != NULL && shared[0] == '/' ? shared :
	    PATHMAP_LOCAL_FALLBACK;
	const char *engine = o->engine_wsl_root != NULL ? o->engine_wsl_root :
	    PATHMAP_ENGINE_WSL_ROOT;
	pathmap_set(m, local, strlen(local), engine, strlen(engine),
	    PATHMAP_SHARED_TREE);
	m->shared_root = pathmap_strip(local, strlen(local));
	free(shared);
	if (pathmap_read_mounts(m, mountinfo, drive_root, tag_dir) < 0) {
		int err = errno;
		pathmap_free(m);
		errno = err;
		return NULL;
	}

	const char *p = o->shared_paths;
	struct pathlist_item it;
	while (pathlist_next(&p, &it))
		if (it.local_len > 0 && it.local[0] == '/' && it.engine_len > 0 &&
		    it.engine[0] == '/')
			pathmap_set(m, it.local, it.local_len, it.engine,
			    it.engine_len, PATHMAP_CONFIGURED);

	qsort(m->e, m->n, sizeof m->e[0], pathmap_by_local);
	if (m->oom || m->shared_root == NULL) {
		pathmap_free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

void
pathmap_free(struct pathmap *m)
{
	if (m == NULL)
		return;
	while (m->n > 0)
		pathmap_remove_at(m, m->n - 1);
	free(m->shared_root);
	free(m);
}

const char *
pathmap_shared_root(const struct pathmap *m)
{
	return m->shared_root;
}

enum pathmap_result
pathmap_translate(const struct pathmap *m, const char *path, char **engine)
{
	*engine = NULL;
	const struct pathmap_entry *x = path[0] == '/' ?
	    pathmap_longest(m, path) : NULL;
	if (x == NULL || x->engine == NULL)
		return PATHMAP_EXPOSE;
	/* What follows the prefix: "" or "/...". */
	const char *rest = strcmp(x->local, "/") != 0 ?
	    path + strlen(x->local) : path[1] != '\0' ? path : "";
	size_t el = strlen(x->engine), rl = strlen(rest);
	if (el == 1 && rl > 0)
		el = 0;		/* the engine's "/" */
	char *out = malloc(el + rl + 1);
	if (out == NULL)
		return PATHMAP_NOMEM;
	memcpy(out, x->engine, el);
	memcpy(out + el, rest, rl + 1);
	*engine = out;
	return PATHMAP_KEEP_AS;
}

char *
pathmap_user_path(const struct pathmap *m, const char *engine)
{
	const struct pathmap_entry *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; m != NULL && engine[0] == '/' && i < m->n; i++) {
		const struct pathmap_entry *x = &m->e[i];
		size_t len = x->engine != NULL ? strlen(x->engine) : 0;
		if (len > 1 && (best == NULL || len > best_len) &&
		    strcmp(x->engine, x->local) != 0 &&
		    util_path_within(engine, x->engine)) {
			best = x;
			best_len = len;
		}
	}
	if (best == NULL)
		return NULL;
	const char *rest = engine + best_len;
	char *local, *back = NULL;
	if (asprintf(&local, "%s%s", strcmp(best->local, "/") == 0 &&
	    rest[0] != '\0' ? "" : best->local, rest) < 0)
		return NULL;
	/* Only what the table turns back into this very path. */
	if (pathmap_translate(m, local, &back) != PATHMAP_KEEP_AS ||
	    strcmp(back, engine) != 0) {
		free(local);
		local = NULL;
	}
	free(back);
	return local;
}

struct json_object *
pathmap_status_json(const struct pathmap *m)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; arr != NULL && m != NULL && i < m->n; i++) {
		const struct pathmap_entry *x = &m->e[i];
		struct json_object *o = json_object_new_object();
		if (o == NULL)
			break;
		json_object_object_add(o, "local",
		    json_object_new_string(x->local));
		json_object_object_add(o, "engine", x->engine != NULL ?
		    json_object_new_string(x->engine) : NULL);
		json_object_object_add(o, "kind",
		    json_object_new_string(pathmap_kind_name(x->kind)));
		json_object_array_add(arr, o);
	}
	return arr;
}
