/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_IO_WORK_H
#define WDA_IO_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct event_base;
struct work;

/*
 * work.c: one worker thread for work the loop must not wait on (disk
 * copies).  run runs in the thread: no libevent, no log, nothing shared
 * but arg, which it owns until done runs on the loop (ran false: it never
 * ran, work_free came first).  A long run checks work_stopping() between
 * bounded steps.  work_free asks the job under way to stop, waits for it,
 * and calls every outstanding done.
 */
#define WORK_QUEUE_MAX	64	/* jobs submitted and not yet done */
typedef void work_run_fn(struct work *, void *arg);
typedef void work_done_fn(void *arg, bool ran);
struct work *work_new(struct event_base *);
void	work_free(struct work *);
/* Queue a job: 0, or -1 and errno (EAGAIN: the queue is full). */
int	work_submit(struct work *, work_run_fn *run, work_done_fn *done,
	    void *arg);
bool	work_stopping(struct work *);
size_t	work_outstanding(const struct work *);

#endif
