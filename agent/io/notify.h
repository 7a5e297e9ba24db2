/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io/notify.c: changes are told, not called (tmux's notify.c is the
 * model).  A module whose state changed posts its notice; the loop runs
 * the one handler later, once however many posts came meanwhile.  The
 * poster never calls its consumer, so nothing re-enters: a handler that
 * causes another change posts again and runs again on a later turn.
 */
#ifndef WDA_IO_NOTIFY_H
#define WDA_IO_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct notify;

typedef void notify_fn(void *arg);

/* NULL when out of memory. */
struct notify *notify_new(struct event_base *, notify_fn *, void *arg);
/* Something changed: the handler runs on a later turn of the loop, once. */
void	notify_post(struct notify *);
/* Posts not yet handled are dropped. */
void	notify_free(struct notify *);
/* A post waits for its handler. */
bool	notify_pending(const struct notify *);
/* Posts and handler runs so far (tests, status). */
uint64_t notify_posts(const struct notify *);
uint64_t notify_runs(const struct notify *);

#endif
