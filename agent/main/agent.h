/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_MAIN_AGENT_H
#define WDA_MAIN_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/config.h"
#include "sys/manifest.h"
#include "io/engine-get.h"

struct binds;
struct control;
struct desktop;
struct event;
struct event_base;
struct desktop;
struct exposures;
struct health;
struct json_object;
struct notify;
struct links;
struct probe;
struct restore;
struct socket;
struct usage;
struct volumes;
struct watch;
struct work;

struct agent {
	struct config		 cfg;
	const char		*config_explicit; /* -c FILE, or NULL */
	char			**flag_argv;	/* flags to re-apply on reload */
	int			 flag_argc;
	struct event_base	*base;
	uint64_t		 start_mono_ms;
	char			 instance_id[40];
	bool			 disabled;	/* integration turned off */
	bool			 stopping;

	/* What the agent made, shared by links, the socket and bind. */
	struct manifest		 manifest;

	/* The modules, each owning its state. */
	struct notify		*changed;	/* they post it; agent_changed */
	struct desktop		*desktop;	/* desktop.c: the tree, its trust */
	struct links		*links;		/* links.c: bin_dir, plugin_dir */
	struct socket		*socket;	/* socket.c: socket.path */
	struct exposures	*exposures;	/* re-exposed bind sources */
	struct volumes		*volumes;	/* local volumes bound to them */
	struct usage		*usage;		/* who uses which */
	struct binds		*binds;		/* the proxy's creates */
	struct restore		*restore;	/* restore.c: exposures brought back */
	struct work		*work;		/* work.c: what the loop hands off */
	struct work		*mounts;	/* another worker: new exposures' mounts */
	struct probe		*probe;		/* probe.c: what the engine says */
	struct watch		*watch;
	struct control		*control;
	struct health		*health;
	struct event		*heartbeat_ev;
	struct event		*watchdog_ev;
	char			 last_summary[256];
	bool			 status_unsent;	/* NOTIFY_SOCKET was full */
	int			 ready_fd;	/* `start' waits on it; -1 */
	bool			 ready_sent;	/* READY=1 went out */
};

/* agent.c */
int	agent_run(struct agent *, int ready_fd);
void	agent_reconcile(struct agent *, const char *why);
/*
 * Something in the state changed: posts the deferred "changed" notice
 * (io/notify.h), whose one handler sends restore's messages to the host,
 * READY=1 once restore lets go, STATUS= and the host's events, on a later
 * turn of the loop, never from inside the caller (before agent_run makes
 * the notice: at once).
 */
void	agent_state_changed(struct agent *);
/* Make that notice (agent_run does; the tests too); -1 out of memory. */
int	agent_changes_init(struct agent *);
int	agent_set_disabled(struct agent *, bool disabled, char *err, size_t errlen);
/* READY=1 (and `start''s answer), once; restore.c holds it back a while. */
void	agent_ready(struct agent *);
struct json_object *agent_status_json(struct agent *);
/* The host channel, with the agent's status and requests as its hooks. */
struct health *agent_health_new(struct agent *);
#endif
