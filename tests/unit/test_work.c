/* SPDX-License-Identifier: Apache-2.0 */
/*
 * work.c: jobs run in the worker thread, their completions on the loop,
 * and the loop keeps running while a job is blocked; a full queue says
 * so; work_free stops the job under way and calls every done.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>

#include "io/work.h"
#include "testlib.h"

#define WAIT_MS	5000

static struct event_base *base;
static struct work *w;
static pthread_t loop_thread;

static void
setup(void)
{
	base = event_base_new();
	cr_assert(not(eq(ptr, base, NULL)));
	w = work_new(base);
	cr_assert(not(eq(ptr, w, NULL)));
	loop_thread = pthread_self();
}

static void
teardown(void)
{
	work_free(w);
	event_base_free(base);
}

TestSuite(work, .init = setup, .fini = teardown, .timeout = 20);

/* A job that waits, in the worker, until the test lets it go. */
struct gate_job {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	bool		 open;		/* the test let it go */
	atomic_int	 started, finished;
	pthread_t	 ran_in, done_in;
	int		 done_calls;
	bool		 ran;
	int		 order;		/* when its done came, 1-based */
};

static int done_count;

static void
gate_init(struct gate_job *g)
{
	memset(g, 0, sizeof *g);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
}

static void
gate_open(struct gate_job *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static void
gate_run(struct work *wk, void *arg)
{
	(void)wk;
	struct gate_job *g = arg;
	g->ran_in = pthread_self();
	atomic_store(&g->started, 1);
	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	atomic_store(&g->finished, 1);
}

static void
gate_done(void *arg, bool ran)
{
	struct gate_job *g = arg;
	g->done_in = pthread_self();
	g->done_calls++;
	g->ran = ran;
	g->order = ++done_count;
}

static bool
gate_done_called(void *arg)
{
	return ((struct gate_job *)arg)->done_calls > 0;
}

Test(work, a_job_runs_in_the_worker_and_is_done_on_the_loop)
{
	struct gate_job g;
	gate_init(&g);
	g.open = true;
	cr_assert(eq(int, work_submit(w, gate_run, gate_done, &g), 0));
	cr_assert(eq(sz, work_outstanding(w), (size_t)1));
	cr_assert(run_until(base, gate_done_called, &g, WAIT_MS));
	cr_assert(not(pthread_equal(g.ran_in, loop_thread)), "run off the loop");
	cr_assert(pthread_equal(g.done_in, loop_thread), "done on the loop");
	cr_assert(g.ran);
	cr_assert(eq(int, g.done_calls, 1));
	cr_assert(eq(sz, work_outstanding(w), (size_t)0));
}

/* The loop's own event, while the job is blocked in the worker. */
struct tick {
	struct gate_job	*g;
	struct event	*ev;
	int		 fired;
	bool		 while_blocked;	/* fired with the job started, not ended */
};

static void
tick_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct tick *t = arg;
	t->fired++;
	if (!atomic_load(&t->g->started)) {
		struct timeval tv = { 0, 1000 };
		evtimer_add(t->ev, &tv);	/* not started yet: look again */
		return;
	}
	t->while_blocked = !atomic_load(&t->g->finished);
	gate_open(t->g);
}

Test(work, the_loop_keeps_running_while_a_job_is_blocked)
{
	struct gate_job g;
	gate_init(&g);
	struct tick t = { .g = &g };
	t.ev = evtimer_new(base, tick_fired, &t);
	cr_assert(eq(int, work_submit(w, gate_run, gate_done, &g), 0));
	struct timeval tv = { 0, 1000 };
	evtimer_add(t.ev, &tv);
	/* Only the loop's event lets the job go: it must fire meanwhile. */
	cr_assert(run_until(base, gate_done_called, &g, WAIT_MS),
	    "the job never ended: the loop did not run while it was blocked");
	cr_assert(t.while_blocked, "the event fired while the job was blocked");
	cr_assert(gt(int, t.fired, 0));
	cr_assert(g.ran);
	event_free(t.ev);
}

Test(work, jobs_run_one_after_another_and_are_done_in_order)
{
	struct gate_job g[5];
	for (int i = 0; i < 5; i++) {
		gate_init(&g[i]);
		g[i].open = true;
		cr_assert(eq(int, work_submit(w, gate_run, gate_done, &g[i]), 0));
	}
	cr_assert(run_until(base, gate_done_called, &g[4], WAIT_MS));
	for (int i = 0; i < 5; i++) {
		cr_assert(eq(int, g[i].done_calls, 1));
		cr_assert(eq(int, g[i].order, i + 1), "job %d done %d-th", i,
		    g[i].order);
		cr_assert(pthread_equal(g[i].ran_in, g[0].ran_in), "one worker");
	}
}

Test(work, a_full_queue_is_refused_with_eagain)
{
	static struct gate_job g[WORK_QUEUE_MAX + 1];
	done_count = 0;
	for (int i = 0; i < WORK_QUEUE_MAX; i++) {
		gate_init(&g[i]);
		cr_assert(eq(int, work_submit(w, gate_run, gate_done, &g[i]), 0),
		    "job %d", i);
	}
	gate_init(&g[WORK_QUEUE_MAX]);
	errno = 0;
	cr_assert(eq(int, work_submit(w, gate_run, gate_done,
	    &g[WORK_QUEUE_MAX]), -1));
	cr_assert(eq(int, errno, EAGAIN));
	for (int i = 0; i < WORK_QUEUE_MAX; i++)
		gate_open(&g[i]);
	cr_assert(run_until(base, gate_done_called, &g[WORK_QUEUE_MAX - 1],
	    WAIT_MS));
	cr_assert(eq(int, g[WORK_QUEUE_MAX].done_calls, 0), "never taken");
	cr_assert(eq(int, work_submit(w, gate_run, gate_done,
	    &g[WORK_QUEUE_MAX]), 0), "room again once done");
	gate_open(&g[WORK_QUEUE_MAX]);
	cr_assert(run_until(base, gate_done_called, &g[WORK_QUEUE_MAX],
	    WAIT_MS));
}

/* A job in bounded steps, each asking whether to stop, as a copy does. */
struct steps_job {
	atomic_int	 started;
	int		 steps;
	bool		 stopped;
	int		 done_calls;
	bool		 ran;
};

static void
steps_run(struct work *wk, void *arg)
{
	struct steps_job *s = arg;
	atomic_store(&s->started, 1);
	for (s->steps = 0; s->steps < 600000; s->steps++) {
		if (work_stopping(wk)) {
			s->stopped = true;
			return;
		}
		struct timespec step = { 0, 100000 };	/* a step's work */
		nanosleep(&step, NULL);
	}
}

static void
steps_done(void *arg, bool ran)
{
	struct steps_job *s = arg;
	s->done_calls++;
	s->ran = ran;
}

static bool
steps_started(void *arg)
{
	return atomic_load(&((struct steps_job *)arg)->started) != 0;
}

Test(work, free_stops_the_job_under_way_and_calls_every_done)
{
	struct steps_job s = { 0 };
	struct gate_job queued[2];
	cr_assert(eq(int, work_submit(w, steps_run, steps_done, &s), 0));
	for (int i = 0; i < 2; i++) {
		gate_init(&queued[i]);
		cr_assert(eq(int, work_submit(w, gate_run, gate_done,
		    &queued[i]), 0));
	}
	cr_assert(run_until(base, steps_started, &s, WAIT_MS));
	work_free(w);
	w = NULL;
	cr_assert(s.stopped, "the job under way was asked to stop");
	cr_assert(lt(int, s.steps, 600000));
	cr_assert(eq(int, s.done_calls, 1));
	cr_assert(s.ran, "it ran");
	for (int i = 0; i < 2; i++) {
		cr_assert(eq(int, queued[i].done_calls, 1));
		cr_assert(not(queued[i].ran), "never started: ran is false");
		cr_assert(eq(int, atomic_load(&queued[i].started), 0));
	}
}

static int
threads(void)
{
	DIR *d = opendir("/proc/self/task");
	cr_assert(not(eq(ptr, d, NULL)));
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

Test(work, the_thread_starts_with_the_first_job)
{
	int before = threads();
	struct work *idle = work_new(base);
	cr_assert(not(eq(ptr, idle, NULL)));
	cr_assert(eq(int, threads(), before), "an idle agent has no thread");
	work_free(idle);
	struct gate_job g;
	gate_init(&g);
	g.open = true;
	cr_assert(eq(int, work_submit(w, gate_run, gate_done, &g), 0));
	cr_assert(eq(int, threads(), before + 1));
	cr_assert(run_until(base, gate_done_called, &g, WAIT_MS));
}
