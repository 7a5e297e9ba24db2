/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_USAGE_H
#define WDA_FEATURES_USAGE_H

#include <stdbool.h>

struct event_base;
struct exposures;
struct json_object;
struct notify;
struct usage;
struct volumes;

/*
 * features/usage.c: who uses which exposure.  It follows the engine's
 * event stream while there are exposures, and at each container or volume
 * create and destroy asks the engine which containers mount what (GET
 * /containers/json, volumes as users through volumes_list), then hands
 * the answer to exposures_collect(), which keeps the used ones and
 * removes the rest.  It calls exposures and volumes.
 */
#define USAGE_EVENTS_PATH	"/events?filters=%7B%22type%22%3A%5B%22" \
	"container%22%2C%22volume%22%5D%2C%22event%22%3A%5B%22create%22%2C" \
	"%22destroy%22%5D%7D"
#define USAGE_CONTAINERS_PATH	"/containers/json?all=1"

/*
 * A container uses an exposure that is not mounted (after a reboot): a
 * restore pass is wanted, why says so.  main/ passes it on.
 */
typedef void usage_restore_fn(void *arg, const char *why);
/* changed: posted after each collection. */
struct usage *usage_new(struct event_base *, struct exposures *,
	    struct volumes *, struct notify *changed,
	    usage_restore_fn *restore, void *arg);
/* Stops following the engine; the exposures stay. */
void	usage_free(struct usage *);
/*
 * The engine as it is now: asked only while usable (its socket there and
 * trusted), through engine_fd, the descriptor the socket's walk ended
 * with, held until the next usage_reconcile; engine_name names it in
 * messages.  With exposures, the engine's events are
 * followed; the first time, and when the engine came back, who uses what
 * is collected at once.
 */
void	usage_reconcile(struct usage *, bool engine_usable, int engine_fd,
	    const char *engine_name);
/* An exposure was made: follow the engine's events, if not yet. */
void	usage_follow(struct usage *);
/* following_engine, collections and error in the "binds" object. */
void	usage_report(const struct usage *, struct json_object *binds);

#endif
