/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_RESTORE_H
#define WDA_FEATURES_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct agent;
struct json_object;
struct restore;

#define RESTORE_REPAIRS_MAX	32	/* repairs status remembers */

struct restore;
struct restore *restore_new(struct agent *);
void	restore_free(struct restore *);
/* The engine appeared (or came back): run a pass. */
void	restore_reconcile(struct restore *);
/* Something needs a pass (bind.c: a used exposure is not mounted). */
void	restore_request(struct restore *, const char *why);
/*
 * At start: true when a pass is under way and will call agent_ready()
 * when it ends, or after bind.restore_timeout seconds, whichever first.
 */
bool	restore_holds_ready(struct restore *);
/* bind.c: keep an exposure's record (meta) in the manifest, unsaved. */
void	restore_record(struct agent *, const char *local, bool read_only,
	    struct json_object *users, bool mounted, bool mounted_now);
/* The "restore" member; each failure adds a problem with its fix. */
struct json_object *restore_status_json(const struct restore *,
	    struct json_object *problems);

#endif
