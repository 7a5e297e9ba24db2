/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_SYS_DAEMON_H
#define WDA_SYS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct agent;
struct config;

/* daemon.c: single instance, start/stop without systemd */
int	daemon_lock_pidfile(const char *pidfile, pid_t *holder);
int	daemon_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	daemon_start(struct agent *);
int	daemon_stop(const struct config *);
pid_t	daemon_running_pid(const char *pidfile);

#endif
