/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_HEALTH_H
#define WDA_FEATURES_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "wire/protocol.h"

struct config;
struct event_base;
struct health;
struct json_object;

/*
 * health.c: reports to the Windows host.  What it reports and what a
 * request does are main/'s, given as hooks: health never sees the agent.
 */
struct health_hooks {
	/* The agent's status now, a new object (NULL: out of memory). */
	struct json_object *(*status)(void *arg);
	/*
	 * Do a request of the host's; trusted: it may change the distro.
	 * NULL with *e and why set when it fails.  What it changes is told
	 * later (health_state_changed from main/'s deferred notice).
	 */
	struct json_object *(*request)(void *arg,
	    const struct proto_request_msg *, bool trusted,
	    enum proto_error *e, char *why, size_t whylen);
	void	*arg;
};
/* cfg (host.*, distro) is the agent's, valid for the channel's life. */
struct health *health_new(struct event_base *, const struct config *cfg,
	    const char *instance_id, const struct health_hooks *);
void	health_state_changed(struct health *);
/* A message of its own (restore.c's "repair"; taken), if connected. */
void	health_send(struct health *, struct json_object *msg);
struct json_object *health_status_json(struct health *);
/* Say bye ("stopping", else "reconfigured") and free. */
void	health_free(struct health *, bool stopping);

#endif
