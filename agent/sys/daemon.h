/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_SYS_DAEMON_H
#define WDA_SYS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct config;

/* daemon.c: single instance, start/stop without systemd */
int	daemon_lock_pidfile(const char *pidfile, pid_t *holder);
int	daemon_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * `start': run(arg, ready_fd) in a detached process holding the pidfile's
 * lock, with stdout and stderr to the log; returns once it wrote "ok" to
 * ready_fd (or failed, saying why), with the exit status to give.
 */
typedef int daemon_run_fn(void *arg, int ready_fd);
int	daemon_start(const struct config *, daemon_run_fn *run, void *arg);
int	daemon_stop(const struct config *);
pid_t	daemon_running_pid(const char *pidfile);

#endif
