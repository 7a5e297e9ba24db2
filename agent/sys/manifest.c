/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The manifest: every link, socket and mount the agent created, kept in
 * state_dir so that a restart, even after kill -9, removes exactly what the
 * agent made and nothing else.  Written atomically on every change.  An
 * entry may carry "meta", an object its module keeps there (exposures.c's
 * exposures: read-only flag, the containers using it, when it was
 * mounted; see restore.c).  It names bind sources and containers, so it
 * is root's alone (0600, in state_dir, 0700).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "sys/manifest.h"

#define MANIFEST_VERSION	1
#define MANIFEST_MAX_ENTRIES	4096
#define MANIFEST_MAX_BYTES	(1024 * 1024)

static void
manifest_entry_free(struct manifest_entry *e)
{
	free(e->kind);
	free(e->path);
	free(e->target);
	json_object_put(e->meta);
}

void
manifest_free(struct manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		manifest_entry_free(&m->entries[i]);
	free(m->entries);
	free(m->path);
	memset(m, 0, sizeof *m);
}

/*
 * A manifest that cannot be read is kept aside as manifest.json.bad (never
 * deleted: it is the only record of what we made) and we start afresh.
 */
static void
manifest_set_aside(const char *path)
{
	char bad[4096];
	snprintf(bad, sizeof bad, "%s.bad", path);
	if (rename(path, bad) == 0)
		log_warn("manifest", "kept the unreadable manifest as %s; links "
		    "it recorded are no longer managed: check them by hand", bad);
}

int
manifest_load(struct manifest *m, const char *path, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	m->path = strdup(path);
	if (m->path == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_size > MANIFEST_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes; set aside",
		    path, MANIFEST_MAX_BYTES);
		manifest_set_aside(path);
		return 0;
	}
	struct json_object *root = json_object_from_file(path);
	struct json_object *entries = NULL, *ver = NULL;
	if (root == NULL ||
	    !json_object_object_get_ex(root, "version", &ver) ||
	    json_object_get_int(ver) != MANIFEST_VERSION ||
	    !json_object_object_get_ex(root, "entries", &entries) ||
	    !json_object_is_type(entries, json_type_array)) {
		snprintf(err, errlen, "%s: not a version %d manifest; set aside",
		    path, MANIFEST_VERSION);
		json_object_put(root);
		manifest_set_aside(path);
		return 0;
	}
	size_t n = json_object_array_length(entries);
	for (size_t i = 0; i < n && i < MANIFEST_MAX_ENTRIES; i++) {
		struct json_object *e = json_object_array_get_idx(entries, i);
		const char *kind = json_string(e, "kind");
		const char *p = json_string(e, "path");
		if (kind == NULL || p == NULL || p[0] != '/')
			continue;
		struct json_object *meta;
		if (manifest_add(m, kind, p, json_string(e, "target")) < 0) {
			json_object_put(root);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (json_object_object_get_ex(e, "meta", &meta) &&
		    json_object_is_type(meta, json_type_object))
			m->entries[m->n - 1].meta = json_object_get(meta);
	}
	json_object_put(root);
	m->dirty = false;
	return 0;
}

int
manifest_save(struct manifest *m)
{
	if (!m->dirty || m->path == NULL)
		return 0;
	struct json_object *root = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	if (root == NULL || arr == NULL) {
		json_object_put(root);
		json_object_put(arr);
		return -1;
	}
	json_object_object_add(root, "version", json_object_new_int(MANIFEST_VERSION));
	json_object_object_add(root, "entries", arr);
	for (size_t i = 0; i < m->n; i++) {
		struct json_object *e = json_object_new_object();
		if (e == NULL)
			continue;
		json_object_object_add(e, "kind", json_object_new_string(m->entries[i].kind));
		json_object_object_add(e, "path", json_object_new_string(m->entries[i].path));
		if (m->entries[i].target != NULL)
			json_object_object_add(e, "target",
			    json_object_new_string(m->entries[i].target));
		if (m->entries[i].meta != NULL)
			json_object_object_add(e, "meta",
			    json_object_get(m->entries[i].meta));
		json_object_array_add(arr, e);
	}
	const char *text = json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	int r = util_write_atomic(m->path, text, strlen(text), 0600);
	if (r < 0)
		log_state(LOG_LVL_ERR, "manifest", "manifest.save",
		    "cannot write %s: %s; fix state_dir", m->path, strerror(errno));
	else {
		log_state(LOG_LVL_INFO, "manifest", "manifest.save", NULL);
		m->dirty = false;
	}
	json_object_put(root);
	return r;
}

struct manifest_entry *
manifest_find(struct manifest *m, const char *kind, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->entries[i].kind, kind) == 0 &&
		    strcmp(m->entries[i].path, path) == 0)
			return &m->entries[i];
	return NULL;
}

int
manifest_add(struct manifest *m, const char *kind, const char *path,
    const char *target)
{
	struct manifest_entry *e = manifest_find(m, kind, path);
	char *t = target != NULL ? strdup(target) : NULL;
	if (target != NULL && t == NULL)
		return -1;
	if (e != NULL) {
		if ((e->target == NULL) != (t == NULL) ||
		    (t != NULL && strcmp(e->target, t) != 0))
			m->dirty = true;
		free(e->target);
		e->target = t;
		return 0;
	}
	if (m->n >= MANIFEST_MAX_ENTRIES) {
		free(t);
		errno = ENOSPC;
		return -1;
	}
	struct manifest_entry *grown = realloc(m->entries,
	    (m->n + 1) * sizeof *grown);
	if (grown == NULL) {
		free(t);
		return -1;
	}
	m->entries = grown;
	e = &m->entries[m->n];
	e->kind = strdup(kind);
	e->path = strdup(path);
	e->target = t;
	e->meta = NULL;
	if (e->kind == NULL || e->path == NULL) {
		manifest_entry_free(e);
		return -1;
	}
	m->n++;
	m->dirty = true;
	return 0;
}

void
manifest_remove(struct manifest *m, const char *kind, const char *path)
{
	struct manifest_entry *e = manifest_find(m, kind, path);
	if (e == NULL)
		return;
	manifest_entry_free(e);
	size_t idx = (size_t)(e - m->entries);
	memmove(e, e + 1, (m->n - idx - 1) * sizeof *e);
	m->n--;
	m->dirty = true;
}

int
manifest_set_meta(struct manifest *m, const char *kind, const char *path,
    struct json_object *meta)
{
	struct manifest_entry *e = manifest_find(m, kind, path);
	if (e == NULL) {
		json_object_put(meta);
		errno = ENOENT;
		return -1;
	}
	if (e->meta != NULL && meta != NULL && json_object_equal(e->meta, meta)) {
		json_object_put(meta);
		return 0;
	}
	json_object_put(e->meta);
	e->meta = meta;
	m->dirty = true;
	return 0;
}
