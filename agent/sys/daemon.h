/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_SYS_DAEMON_H
#define WDA_SYS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct config;

/*
 * daemon.c: one instance per distro, and start/stop without systemd.
 *
 * The lock is a file of root's alone next to the pidfile (.pid becomes
 * .lock), naming its holder: the agent (`run') or `start''s supervisor
 * (named DAEMON_SUPERVISOR_NAME), for the holder's whole life.  The
 * pidfile (0644, information only) names the agent that runs now.
 * daemon_lock: its descriptor, or -1 and errno (*holder: the agent that
 * runs, when known).
 */
#define DAEMON_SUPERVISOR_NAME	"wda-supervisor"
int	daemon_lock(const char *pidfile, pid_t *holder);
void	daemon_lock_path(const char *pidfile, char *buf, size_t len);
/* The pidfile names this process, the agent. */
int	daemon_write_pidfile(const char *pidfile);
/* The pid the pidfile names if that process is an agent, else 0. */
pid_t	daemon_running_pid(const char *pidfile);
/* The lock's holder, to stop or restart (root): *supervisor says which. */
pid_t	daemon_lock_holder(const char *pidfile, bool *supervisor);
/* sd_notify(3), never blocking: 0 sent or no supervisor, -1 and errno. */
int	daemon_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * FDSTORE=1: fd kept by the supervisor (systemd, or `start''s) under name
 * and passed back at the next start (LISTEN_FDNAMES).  0 sent, -1 and
 * errno (ENOTCONN: no NOTIFY_SOCKET).
 */
int	daemon_store_fd(int fd, const char *name);
/* FDSTOREREMOVE=1: the supervisor lets go of what it keeps under name. */
int	daemon_unstore_fd(const char *name);
/*
 * `start': the supervisor, detached, holding the lock, with stdout and
 * stderr to the log, running exe with argv ("run" among them) and bringing
 * it back (sys/supervise.h); returns once the agent said READY=1 (or
 * failed, saying why), with the exit status to give.
 */
int	daemon_start(const struct config *, const char *exe, char *const *argv);
int	daemon_stop(const struct config *);

#endif
