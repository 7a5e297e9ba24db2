/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Work the loop must not wait on (disk copies; later, mounts): one worker
 * thread runs queued jobs in order, and each job's completion runs back
 * on the loop.  The loop carries every docker connection, so it never
 * blocks on a job: submitting takes a mutex for a few instructions, and
 * the worker tells the loop a job ended by writing a byte to a pipe the
 * loop watches, since libevent is not used from the worker at all (the
 * base is not built thread-safe, and need not be).
 *
 * A job's run gets no other shared state: it is handed all it needs in
 * its argument, and owns that argument until its done runs on the loop.
 * The thread starts with the first job (an agent with nothing to move
 * never has one) and has every signal blocked, so signals reach the
 * loop's thread.  work_free() asks the running job to stop
 * (work_stopping(), which a long job checks between bounded steps),
 * waits for it to return, and then calls every outstanding done: with
 * ran set for jobs that ran, clear for those it never started.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "io/work.h"

struct work_job {
	work_run_fn		*run;
	work_done_fn		*done;
	void			*arg;
	struct work_job		*next;
};

struct work {
	struct event_base	*base;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;		/* a job queued, or stopping */
	pthread_t		 thread;
	bool			 started;
	atomic_bool		 stopping;
	struct work_job		*queue, *queue_tail;	/* not started */
	struct work_job		*ended, *ended_tail;	/* run, done not called */
	size_t			 outstanding;	/* submitted, done not called */
	int			 pipe[2];	/* worker -> loop: a job ended */
	struct event		*ended_ev;
};

static void
work_append(struct work_job **head, struct work_job **tail, struct work_job *j)
{
	j->next = NULL;
	if (*tail != NULL)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static void *
work_thread(void *arg)
{
	struct work *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->queue == NULL && !atomic_load(&w->stopping))
			pthread_cond_wait(&w->wake, &w->lock);
		if (atomic_load(&w->stopping))
			break;
		struct work_job *j = w->queue;
		w->queue = j->next;
		if (w->queue == NULL)
			w->queue_tail = NULL;
		pthread_mutex_unlock(&w->lock);
		j->run(w, j->arg);
		pthread_mutex_lock(&w->lock);
		work_append(&w->ended, &w->ended_tail, j);
		/* The pipe holds at most a byte per job: the queue's bound. */
		(void)!write(w->pipe[1], "", 1);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Take the ended jobs and call their done, outside the lock. */
static void
work_deliver(struct work *w)
{
	pthread_mutex_lock(&w->lock);
	struct work_job *j = w->ended;
	w->ended = w->ended_tail = NULL;
	pthread_mutex_unlock(&w->lock);
	while (j != NULL) {
		struct work_job *next = j->next;
		w->outstanding--;
		j->done(j->arg, true);
		free(j);
		j = next;
	}
}

static void
work_ended(evutil_socket_t fd, short what, void *arg)
{
	char buf[64];
	while (read(fd, buf, sizeof buf) > 0)
		;
	work_deliver(arg);
}

struct work *
work_new(struct event_base *base)
{
	struct work *w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	w->base = base;
	w->pipe[0] = w->pipe[1] = -1;
	atomic_init(&w->stopping, false);
	if (pthread_mutex_init(&w->lock, NULL) != 0) {
		free(w);
		return NULL;
	}
	if (pthread_cond_init(&w->wake, NULL) != 0) {
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NULL;
	}
	if (pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (w->ended_ev = event_new(base, w->pipe[0], EV_READ | EV_PERSIST,
	    work_ended, w)) == NULL || event_add(w->ended_ev, NULL) < 0) {
		work_free(w);
		return NULL;
	}
	return w;
}

/* The thread, with every signal blocked in it (they are the loop's). */
static int
work_start(struct work *w)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&w->thread, NULL, work_thread, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	w->started = true;
	return 0;
}

int
work_submit(struct work *w, work_run_fn *run, work_done_fn *done, void *arg)
{
	if (w == NULL || atomic_load(&w->stopping)) {
		errno = ESHUTDOWN;
		return -1;
	}
	if (w->outstanding >= WORK_QUEUE_MAX) {
		errno = EAGAIN;
		return -1;
	}
	if (!w->started && work_start(w) < 0)
		return -1;
	struct work_job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return -1;
	j->run = run;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&w->lock);
	work_append(&w->queue, &w->queue_tail, j);
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	w->outstanding++;
	return 0;
}

bool
work_stopping(struct work *w)
{
	return atomic_load(&w->stopping);
}

size_t
work_outstanding(const struct work *w)
{
	return w != NULL ? w->outstanding : 0;
}

void
work_free(struct work *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->stopping, true);
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);	/* the job under way returns */
	work_deliver(w);
	for (struct work_job *j = w->queue, *next; j != NULL; j = next) {
		next = j->next;
		w->outstanding--;
		j->done(j->arg, false);
		free(j);
	}
	if (w->ended_ev != NULL)
		event_free(w->ended_ev);
	for (int i = 0; i < 2; i++)
		if (w->pipe[i] >= 0)
			close(w->pipe[i]);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
