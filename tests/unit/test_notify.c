/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io/notify.c: posts are told later, once per burst, and a post from the
 * handler runs on a later turn, never inside the poster.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>

#include "io/notify.h"

static struct event_base *base;
static struct notify *n;
static int runs, depth, max_depth, repost;

static void
handler(void *arg)
{
	(void)arg;
	runs++;
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	if (repost > 0) {
		repost--;
		notify_post(n);	/* a change made by the handler itself */
	}
	depth--;
}

static void
setup(void)
{
	base = event_base_new();
	n = notify_new(base, handler, NULL);
	cr_assert(not(eq(ptr, n, NULL)));
	runs = depth = max_depth = repost = 0;
}

static void
teardown(void)
{
	notify_free(n);
	event_base_free(base);
}

TestSuite(notify, .init = setup, .fini = teardown, .timeout = 10);

Test(notify, a_post_is_told_later_not_at_once)
{
	notify_post(n);
	cr_assert(eq(int, runs, 0), "the poster never runs the handler");
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	cr_assert(eq(int, runs, 1));
}

Test(notify, a_burst_of_posts_is_told_once)
{
	for (int i = 0; i < 100; i++)
		notify_post(n);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	cr_assert(eq(int, runs, 1));
	cr_assert(eq(u64, notify_posts(n), 100));
	cr_assert(eq(u64, notify_runs(n), 1));
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	cr_assert(eq(int, runs, 1), "nothing more to tell");
}

Test(notify, a_post_from_the_handler_runs_on_a_later_turn)
{
	repost = 2;
	notify_post(n);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	cr_assert(eq(int, runs, 1), "one run per turn");
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	cr_assert(eq(int, runs, 3));
	cr_assert(eq(int, max_depth, 1), "never re-entered");
}

Test(notify, freeing_drops_what_was_not_told)
{
	notify_post(n);
	notify_free(n);
	n = notify_new(base, handler, NULL);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	cr_assert(eq(int, runs, 0));
}
