/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_IO_WATCH_H
#define WDA_IO_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct event_base;
struct watch;

/* watch.c: follow Docker Desktop's tree with inotify and mountinfo */
struct watch;
/*
 * Follow Docker Desktop's tree at desktop_dir and the directories below
 * it that `follow' names (NULL-terminated; borrowed for the watch's life:
 * "cli-tools/usr/bin", ...); cb(arg) is told of a change, rate-limited.
 */
struct watch *watch_new(struct event_base *, const char *desktop_dir,
	    const char *const *follow, void (*cb)(void *), void *arg);
void	watch_free(struct watch *);
/*
 * Mounts on points inside a directory of areas (areas/X/...: bind
 * exposures, every distro's) change nothing the owner looks at: a mount
 * table change that moved only those is not told.  A mount on areas or
 * areas/X itself still is.  NULL: every change is told.
 */
void	watch_ignore_mounts_in(struct watch *, const char *areas);
int	watch_count(const struct watch *);	/* inotify watches held */
/* Times the tree's events made the owner look; events about others' entries. */
uint64_t watch_fires(const struct watch *);
uint64_t watch_ignored(const struct watch *);

#endif
