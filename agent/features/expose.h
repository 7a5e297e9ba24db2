/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_EXPOSE_H
#define WDA_FEATURES_EXPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct agent;
struct expose;
struct json_object;
struct proxy;

enum socket_state { SOCK_ABSENT, SOCK_OK, SOCK_WAITING, SOCK_CONFLICT,
		    SOCK_ERROR, SOCK_DISABLED, SOCK_UNTRUSTED };


/* expose.c: /run/docker.sock */
struct expose;
/* activated_fd: the listening socket systemd passed, or -1. */
struct expose *expose_new(struct agent *, int activated_fd);
void	expose_reconcile(struct expose *);
/* Stop serving socket.path; keep_activated keeps systemd's socket open. */
void	expose_stop(struct expose *, bool keep_activated);
void	expose_free(struct expose *);
enum socket_state expose_state(const struct expose *);
const char *expose_detail(const struct expose *);
struct proxy *expose_proxy(const struct expose *);	/* NULL: none */
/* The engine socket passed the walk (issue 13): false while not known. */
bool	expose_engine_trusted(const struct expose *);
/*
 * That socket's O_PATH descriptor, held until the next walk, while it is
 * trusted; -1 otherwise.  Connect through it (/proc/self/fd), never by
 * its path: engine_ask() does.
 */
int	expose_engine_fd(const struct expose *);
/* The "socket" object; a conflict or a locked-out group adds a problem. */
struct json_object *expose_status_json(const struct expose *,
	    struct json_object *problems);
struct json_object *expose_proxy_json(const struct expose *);	/* "proxy" */
const char *expose_state_name(enum socket_state);

#endif
