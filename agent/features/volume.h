/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_VOLUME_H
#define WDA_FEATURES_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct config;
struct event_base;
struct exposures;
struct http_bind_source;
struct json_object;
struct volumes;

#define VOLUME_LIST_PATH	"/volumes"
#define VOLUME_NAMES_MAX	4096	/* volumes remembered at most */

struct volumes;
/* It calls exposures (a device exposed, or mounted again for a use). */
struct volumes *volumes_new(struct event_base *, const struct config *,
	    struct exposures *);
void	volumes_free(struct volumes *);
/* binds.c's create hook, for the kinds other than HTTP_SOURCE_BIND. */
int	volumes_on_source(struct volumes *, const struct http_bind_source *,
	    char **replacement, char *why, size_t whylen);
/*
 * The collection's first step (usage.c): GET /volumes of the engine
 * through engine_fd (engine_name names it), then done(arg, ok) (ok: the
 * list came).  -1 when it cannot start (done is not called).
 */
int	volumes_list(struct volumes *, int engine_fd, const char *engine_name,
	    void (*done)(void *, bool ok), void *arg);
bool	volumes_busy(const struct volumes *);
/*
 * Each volume of the list just fetched that is bound to a directory is a
 * user of its device: appended to containers as {"Id": "volume:N",
 * "Names": ["volume N"], "Mounts": [{"Source": device}]}.  False when no
 * list just came (or out of memory): who uses what cannot be told.
 */
bool	volumes_add_users(const struct volumes *, struct json_object *containers);

#endif
