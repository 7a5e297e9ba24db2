/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_MAIN_REQUEST_H
#define WDA_MAIN_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "wire/protocol.h"

struct agent;
struct json_object;

/*
 * request.c: what a request does, for both channels.  `trusted' says
 * whether the caller may change the distro (each channel decides);
 * NULL with *e and `why' set when the request fails.
 */
struct request_origin {
	const char	*name;		/* "on the control socket", for the log */
	const char	*refusal;	/* told to an untrusted caller: the fix */
};
/* The host channel's (health.c's request hook). */
extern const struct request_origin request_host_origin;
struct json_object *agent_request(struct agent *,
	    const struct proto_request_msg *, bool trusted,
	    const struct request_origin *, enum proto_error *e, char *why,
	    size_t whylen);
/* Leave out of a status what uid (not root) may not see: other users' binds. */
void	request_status_for_user(struct json_object *status, uid_t uid);

/*
 * io/control.c's handler: a request on the control socket by uid, its
 * reply (root may change things; others only ask, and see only their own
 * bind sources).  arg is the agent.
 */
struct json_object *request_on_control(void *arg, struct json_object *request,
	    uid_t uid);

#endif
