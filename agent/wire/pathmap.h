/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_WIRE_PATHMAP_H
#define WDA_WIRE_PATHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/config.h"

struct json_object;
struct pathmap;

#define PATHMAP_VIRTIOFS_TAGS	"/run/wsl/virtiofs"	/* WSL's tag links */
#define PATHMAP_ENTRIES_MAX	256

enum pathmap_kind { PATHMAP_SHARED_TREE, PATHMAP_DRIVE, PATHMAP_CONFIGURED,
		    PATHMAP_LOCAL /* mounted over a drive: the engine cannot see */ };
struct pathmap_options {
	const char	*mountinfo;		/* NULL: /proc/self/mountinfo */
	const char	*virtiofs_tags;		/* NULL: PATHMAP_VIRTIOFS_TAGS */
	const char	*engine_wsl_root;	/* bind.engine_wsl_root */
	const char	*engine_drive_root;	/* bind.engine_drive_root; "": off */
	const char	*shared_paths;		/* bind.shared_paths */
};
struct pathmap;
/*
 * Read mountinfo once and build the table.  NULL and errno: ENOMEM, or
 * why mountinfo could not be read (EMFILE, say): a table without it would
 * be a guess, so the caller keeps the one it has.
 */
struct pathmap *pathmap_new(const struct pathmap_options *);
void	pathmap_free(struct pathmap *);
/* The shared tmpfs here: mountinfo's, else (none there) /mnt/wsl. */
const char *pathmap_shared_root(const struct pathmap *);
enum pathmap_result { PATHMAP_KEEP_AS, PATHMAP_EXPOSE, PATHMAP_NOMEM };
/*
 * For an absolute, clean (resolved) path: KEEP_AS when the engine sees it,
 * *engine (malloc'd) saying where; EXPOSE when it does not (re-expose it).
 */
enum pathmap_result pathmap_translate(const struct pathmap *, const char *path,
	    char **engine);
/*
 * The other way: where this distro sees a path the engine reports (the
 * table's longest engine prefix, and only if translating it back gives
 * the same path); malloc'd, or NULL when none is (or it is the same).
 */
char	*pathmap_user_path(const struct pathmap *, const char *engine);
/* [{"local", "engine", "kind"}], sorted by local. */
struct json_object *pathmap_status_json(const struct pathmap *);
const char *pathmap_kind_name(enum pathmap_kind);

#endif
