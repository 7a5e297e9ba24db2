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

struct bind;
struct control;
struct desktop;
struct event;
struct event_base;
struct health;
struct json_object;
struct links;
struct notify;
struct probe;
struct restore;
struct socket;
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
	struct desktop		*desktop;	/* desktop.c: the tree, its trust */
	struct links		*links;		/* links.c: bin_dir, plugin_dir */
	struct socket		*socket;	/* socket.c: socket.path */
	struct bind		*bind;		/* bind.c: re-exposed bind sources */
	struct restore		*restore;	/* restore.c: exposures brought back */
	struct work		*work;		/* work.c: what the loop hands off */
	struct probe		*probe;		/* probe.c: what the engine says */
	struct notify		*notify;	/* a module's state changed */
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
/* Something in the state changed: refresh summaries, notify the host. */
void	agent_state_changed(struct agent *);
int	agent_set_disabled(struct agent *, bool disabled, char *err, size_t errlen);
/* READY=1 (and `start''s answer), once; restore.c holds it back a while. */
void	agent_ready(struct agent *);
struct json_object *agent_status_json(struct agent *);
/*
 * io/engine-get.h's engine_get_new() to the engine socket the view trusts
 * (features/desktop.h), for bind.c, restore.c and volume.c until they take
 * the view themselves: NULL and ENOENT while there is none.
 */
struct engine_get *engine_ask(struct agent *, const char *target,
	    const struct engine_get_opts *opts, engine_get_cb *cb, void *arg);
#endif
