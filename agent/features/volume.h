/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_VOLUME_H
#define WDA_FEATURES_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct agent;
struct bind;
struct http_bind_source;
struct json_object;
struct volumes;

#define VOLUME_LIST_PATH	"/volumes"
#define VOLUME_NAMES_MAX	4096	/* volumes remembered at most */

struct volumes;
struct volumes *volumes_new(struct agent *, struct bind *);
void	volumes_free(struct volumes *);
/* bind.c's create hook, for the kinds other than HTTP_SOURCE_BIND. */
int	volumes_on_source(struct volumes *, const struct http_bind_source *,
	    char **replacement, char *why, size_t whylen);
/*
 * The collection's first step: GET /volumes, then done(arg, ok) (ok:
 * the list came).  -1 when it cannot start (done is not called).
 */
int	volumes_list(struct volumes *, void (*done)(void *, bool ok),
	    void *arg);
bool	volumes_busy(const struct volumes *);
/*
 * Each volume of the list just fetched that is bound to a directory is a
 * user of its device: appended to containers as {"Id": "volume:N",
 * "Names": ["volume N"], "Mounts": [{"Source": device}]}.  False when no
 * list just came (or out of memory): who uses what cannot be told.
 */
bool	volumes_add_users(const struct volumes *, struct json_object *containers);

#endif
