/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A deferred "changed" notice: a zero timeout armed once, however many
 * posts come before the loop gets to it.  Posting from inside the handler
 * arms it again for a later turn; it never runs the handler itself.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "io/notify.h"

struct notify {
	struct event	*ev;
	notify_fn	*fn;
	void		*arg;
	uint64_t	 posts;
	uint64_t	 runs;
};

static void
notify_fire(evutil_socket_t fd, short what, void *arg)
{
	struct notify *n = arg;
	(void)fd;
	(void)what;
	n->runs++;
	n->fn(n->arg);
}

struct notify *
notify_new(struct event_base *base, notify_fn *fn, void *arg)
{
	struct notify *n = calloc(1, sizeof *n);
	if (n == NULL)
		return NULL;
	n->fn = fn;
	n->arg = arg;
	n->ev = evtimer_new(base, notify_fire, n);
	if (n->ev == NULL) {
		free(n);
		return NULL;
	}
	return n;
}

void
notify_post(struct notify *n)
{
	static const struct timeval now = { 0, 0 };
	if (n == NULL)
		return;
	n->posts++;
	if (!evtimer_pending(n->ev, NULL))
		evtimer_add(n->ev, &now);
}

void
notify_free(struct notify *n)
{
	if (n == NULL)
		return;
	event_free(n->ev);
	free(n);
}

bool
notify_pending(const struct notify *n)
{
	return n != NULL && evtimer_pending(n->ev, NULL);
}

uint64_t
notify_posts(const struct notify *n)
{
	return n != NULL ? n->posts : 0;
}

uint64_t
notify_runs(const struct notify *n)
{
	return n != NULL ? n->runs : 0;
}
