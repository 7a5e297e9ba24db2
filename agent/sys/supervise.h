/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sys/supervise.c: keeping the agent alive without systemd (`start').
 *
 * A small process, the supervisor, runs the agent (`run') as its child and
 * plays the part systemd plays for the service: the agent tells it
 * READY=1, STATUS=, STOPPING=1 and hands it descriptors to keep
 * (FDSTORE=1, FDNAME=) over NOTIFY_SOCKET, exactly the sd_notify(3)
 * protocol; when the agent dies without having been asked to stop, the
 * supervisor starts it again (capped backoff: a crash loop costs little
 * and is told in the log and, through the environment, in the new agent's
 * status), passing back what it keeps as systemd would (LISTEN_FDS,
 * LISTEN_PID, LISTEN_FDNAMES).  So /run/docker.sock, whose listening
 * descriptor the agent stores, is the same socket across every restart:
 * clients that connect meanwhile wait in its backlog, and containers that
 * bind-mounted it keep it.  Only `stop' (SIGTERM) ends it for good;
 * SIGHUP is the agent's (reload); SIGUSR2 restarts the agent on purpose
 * (a package upgrade: the new binary runs, the socket stays).
 */
#ifndef WDA_SYS_SUPERVISE_H
#define WDA_SYS_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What the agent is told in its environment about its supervision. */
#define SUPERVISE_ENV		"WDA_SUPERVISED"	/* "1" */
#define SUPERVISE_ENV_RESTARTS	"WDA_RESTARTS"		/* a count */
#define SUPERVISE_ENV_LAST	"WDA_LAST_DEATH"	/* "killed by signal 9 at ..." */
#define SUPERVISE_ENV_DELAY	"WDA_RESTART_DELAY_MS"	/* before this start */

/* Restart delays: the first at once, then doubling while deaths come fast. */
#define SUPERVISE_DELAY_FIRST_MS 100
#define SUPERVISE_DELAY_MAX_MS	 30000
#define SUPERVISE_STABLE_MS	 30000	/* lived this long: delays start over */
#define SUPERVISE_STOP_TIMEOUT_MS 20000	/* SIGTERM, then SIGKILL */
#define SUPERVISE_FDS_MAX	 8	/* descriptors kept */

/* Exit statuses a restart cannot fix (usage, config, permission, conflict). */
bool	supervise_status_is_final(int status);

struct supervise_opts {
	const char	*exe;		/* the agent's binary (by path: an upgrade's) */
	char *const	*argv;		/* its arguments: argv[0], "run", flags... */
	const char	*notify_path;	/* the socket the agent's messages come to */
	int		 ready_fd;	/* "ok\n" or why, once; -1: none */
};

/*
 * The supervisor's loop, in the process `start' made (detached, the lock
 * held, the log on stderr): returns the exit status to give when it ends
 * (stopped, or the first agent failed before it was ready).
 */
int	supervise_run(const struct supervise_opts *);

/*
 * "killed by signal 9" / "exited with status 70", for a wait(2) status.
 */
void	supervise_describe(int wstatus, char *buf, size_t len);

#endif
