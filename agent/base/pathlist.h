/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_BASE_PATHLIST_H
#define WDA_BASE_PATHLIST_H

#include <stdbool.h>
#include <stddef.h>

/* One item of a "LOCAL[=ENGINE]:..." list, pointing into the list. */
struct pathlist_item {
	const char	*local;
	size_t		 local_len;
	const char	*engine;	/* == local when no '=' */
	size_t		 engine_len;
};
/* The item at *p; advances *p past it.  false at the end of the list. */
bool	pathlist_next(const char **p, struct pathlist_item *it);
/* Checks of bind.shared_paths and bind.engine_drive_root (config-check.c). */
int	pathlist_check(const char *list, char *why, size_t len);
int	pathlist_check_drive_root(const char *root, char *why, size_t len);

#endif
