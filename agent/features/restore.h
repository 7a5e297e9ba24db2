/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_RESTORE_H
#define WDA_FEATURES_RESTORE_H

#include <stdbool.h>

struct config;
struct event_base;
struct exposures;
struct json_object;
struct notify;
struct restore;
struct work;

/*
 * features/restore.c: exposures brought back when the engine comes (at
 * start, after a reboot), and the containers that started on a stand-in
 * meanwhile repaired.  It calls exposures (mount back, record).
 */
#define RESTORE_REPAIRS_MAX	32	/* repairs status remembers */

/*
 * cfg: bind.repair, bind.restore_timeout, bind.standin_max and state_dir,
 * read at each use; work: where stand-in data is moved (NULL: nowhere);
 * changed: posted when a pass ended or found something, when it lets go
 * of readiness, and when a message for the host is queued.
 */
struct restore *restore_new(struct event_base *, const struct config *cfg,
	    struct exposures *, struct work *, struct notify *changed);
void	restore_free(struct restore *);
/*
 * The engine as it is now: usable (its socket there and trusted), asked
 * through engine_fd (the socket's walked descriptor, held until the
 * next restore_reconcile), named engine_name.  Coming (or coming back):
 * a pass.
 */
void	restore_reconcile(struct restore *, bool engine_usable, int engine_fd,
	    const char *engine_name);
/* Something needs a pass (usage.c: a used exposure is not mounted). */
void	restore_request(struct restore *, const char *why);
/*
 * Does READY=1 still wait for the first pass?  From restore_new, for up to
 * bind.restore_timeout seconds, until the pass has mounted back what the
 * engine's containers use; the first reconcile lets go at once when no
 * pass could start.  Letting go posts changed.
 */
bool	restore_holds_ready(const struct restore *);
/*
 * The messages for the host queued since the last call (protocol(7)
 * "repair"), oldest first: an array, the caller's; NULL when none.
 */
struct json_object *restore_take_messages(struct restore *);
/* The "restore" member of parent; each failure adds a problem with its fix. */
void	restore_report(const struct restore *, struct json_object *parent,
	    struct json_object *problems);

#endif
