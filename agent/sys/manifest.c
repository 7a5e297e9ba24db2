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
#include <pthread.h>
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

/*
 * Writes, from the loop or a worker (manifest_copy_write), one at a time;
 * the generation written last is under it too, so an older copy never
 * lands over a newer one.
 */
static pthread_mutex_t manifest_write_lock = PTHREAD_MUTEX_INITIALIZER;

/* Something changed: unsaved, and a new generation. */
static void
manifest_touch(struct manifest *m)
{
	m->dirty = true;
	m->gen++;
}

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
	pthread_mutex_lock(&manifest_write_lock);
	m->written = m->gen;	/* the file says what memory does */
	pthread_mutex_unlock(&manifest_write_lock);
	return 0;
}

/* The manifest as it is written: malloc'd text, or NULL. */
static char *
manifest_text(const struct manifest *m, size_t *len)
{
	struct json_object *root = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	char *text = NULL;
	if (root == NULL || arr == NULL) {
		json_object_put(root);
		json_object_put(arr);
		return NULL;
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
	const char *t = json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (t != NULL && (text = strdup(t)) != NULL)
		*len = strlen(text);
	json_object_put(root);
	return text;
}

int
manifest_copy_take(struct manifest *m, struct manifest_copy *c)
{
	memset(c, 0, sizeof *c);
	c->m = m;
	c->gen = m->gen;
	if (m->path == NULL)
		return 0;	/* nowhere to write: nothing to */
	c->path = strdup(m->path);
	c->text = manifest_text(m, &c->len);
	if (c->path == NULL || c->text == NULL) {
		manifest_copy_free(c);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
manifest_copy_write(struct manifest_copy *c)
{
	int r = 0;
	if (c->path == NULL)
		return 0;
	pthread_mutex_lock(&manifest_write_lock);
	if (c->gen > c->m->written) {
		r = util_write_atomic(c->path, c->text, c->len, 0600);
		if (r == 0)
			c->m->written = c->gen;
	}
	pthread_mutex_unlock(&manifest_write_lock);
	return r;
}

/* After a write (r: its result, errno set): logged, and clean if so. */
static void
manifest_written(struct manifest *m, const struct manifest_copy *c, int r)
{
	if (r < 0)
		log_state(LOG_LVL_ERR, "manifest", "manifest.save",
		    "cannot write %s: %s; fix state_dir", m->path, strerror(errno));
	else {
		log_state(LOG_LVL_INFO, "manifest", "manifest.save", NULL);
		if (m->gen == c->gen)
			m->dirty = false;	/* nothing changed since */
	}
}

void
manifest_copy_done(struct manifest *m, struct manifest_copy *c, int r,
    int err)
{
	if (c->path != NULL) {
		errno = err;
		manifest_written(m, c, r);
	}
	manifest_copy_free(c);
}

void
manifest_copy_free(struct manifest_copy *c)
{
	free(c->path);
	free(c->text);
	c->path = c->text = NULL;
}

int
manifest_save(struct manifest *m)
{
	struct manifest_copy c;
	if (!m->dirty || m->path == NULL)
		return 0;
	if (manifest_copy_take(m, &c) < 0)
		return -1;
	int r = manifest_copy_write(&c);
	int err = errno;
	manifest_written(m, &c, r);
	manifest_copy_free(&c);
	errno = err;
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
			manifest_touch(m);
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
	manifest_touch(m);
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
	manifest_touch(m);
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
	manifest_touch(m);
	return 0;
}
