/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The path lists of the configuration: bind.shared_paths is
 * "LOCAL[=ENGINE]:..." (wire/pathmap.c builds its table from it), and
 * bind.engine_drive_root one absolute path or "".  Checked here, where
 * config-check.c refuses a bad value with its fix; read here, by whoever
 * uses it.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/pathlist.h"

/* bind.shared_paths: "LOCAL[=ENGINE]" entries separated by ':'. */


/* The item at *p; advances *p past it.  false at the end of the list. */
bool
pathlist_next(const char **p, struct pathlist_item *it)
{
	if (*p == NULL || **p == '\0')
		return false;
	const char *colon = strchr(*p, ':');
	size_t n = colon != NULL ? (size_t)(colon - *p) : strlen(*p);
	const char *eq = memchr(*p, '=', n);
	it->local = *p;
	it->local_len = eq != NULL ? (size_t)(eq - *p) : n;
	it->engine = eq != NULL ? eq + 1 : *p;
	it->engine_len = eq != NULL ? n - it->local_len - 1 : n;
	*p = colon != NULL ? colon + 1 : NULL;
	return true;
}

int
pathlist_check(const char *list, char *why, size_t len)
{
	const char *p = list;
	struct pathlist_item it;
	while (pathlist_next(&p, &it)) {
		if (it.local_len == 0 || it.local[0] != '/' ||
		    it.engine_len == 0 || it.engine[0] != '/') {
			snprintf(why, len, "is not a list of absolute paths; write "
			    "LOCAL or LOCAL=ENGINE paths starting with /, "
			    "separated by ':', as in \"/srv:/mnt/e=/host/e\" (or "
			    "\"\" for none)");
			return -1;
		}
		if (it.local_len > PATH_MAX - 1 || it.engine_len > PATH_MAX - 1) {
			snprintf(why, len, "holds a path longer than %d bytes; "
			    "choose a shorter one", PATH_MAX - 1);
			return -1;
		}
		if (p != NULL && *p == '\0') {
			snprintf(why, len, "ends with ':'; remove it");
			return -1;
		}
	}
	return 0;
}

int
pathlist_check_drive_root(const char *root, char *why, size_t len)
{
	if (*root == '\0')
		return 0;
	if (root[0] != '/') {
		snprintf(why, len, "is not an absolute path; start it with /, as "
		    "in \"/run/desktop/mnt/host\", or use \"\" to leave drives "
		    "unmapped");
		return -1;
	}
	if (strlen(root) > PATH_MAX - 3) {	/* "/c" is appended */
		snprintf(why, len, "is longer than %d bytes; choose a shorter "
		    "path", PATH_MAX - 3);
		return -1;
	}
	return 0;
}
