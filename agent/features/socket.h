/* SPDX-License-Identifier: Apache-2.0 */
/*
 * features/socket.c: the docker socket at socket.path (/run/docker.sock),
 * served by the proxy (io/proxy.h) or a bind mount of the engine socket
 * that features/desktop.c's view hands over.
 */
#ifndef WDA_FEATURES_SOCKET_H
#define WDA_FEATURES_SOCKET_H

#include <stdbool.h>

struct config;
struct desktop_view;
struct event_base;
struct json_object;
struct manifest;
struct proxy;
struct socket;

enum socket_state { SOCK_ABSENT, SOCK_OK, SOCK_WAITING, SOCK_CONFLICT,
		    SOCK_ERROR, SOCK_DISABLED, SOCK_UNTRUSTED };

/*
 * cfg is main/'s; the shared manifest gets the "socket", "file" and
 * "mount" entries of socket.path.  activated_fd: the listening socket
 * systemd (or start's supervisor) passed, or -1; kept: it is the agent's
 * own, kept across restarts under SOCKET_FDNAME (then disable or a new
 * socket.path removes it, where a socket unit's stays systemd's).
 */
#define SOCKET_FDNAME	"docker-sock"
struct socket *socket_new(struct event_base *, const struct config *cfg,
	    struct manifest *, int activated_fd, bool kept);
/*
 * Serve socket.path (or stop serving it: disabled, stopping) with the
 * engine socket the view says is there and trusted.
 */
void	socket_reconcile(struct socket *, const struct desktop_view *,
	    bool disabled, bool stopping);
/*
 * Why the last reconcile refused the view's engine socket itself (it is
 * this agent's own socket; in mount mode, its listener is not root), or
 * NULL: main/ tells the view (desktop_refuse_engine), so nobody uses it.
 */
const char *socket_engine_refused(const struct socket *);
/* Stop serving socket.path; keep_activated keeps systemd's socket open. */
void	socket_stop(struct socket *, bool keep_activated);
void	socket_free(struct socket *);
enum socket_state socket_state(const struct socket *);
const char *socket_detail(const struct socket *);
/* The proxy while there is one (bind.c hooks creates into it), or NULL. */
struct proxy *socket_proxy(const struct socket *);
/* The "socket" object; a conflict or a locked-out group adds a problem. */
struct json_object *socket_report(const struct socket *,
	    struct json_object *problems);
struct json_object *socket_proxy_report(const struct socket *); /* "proxy" */
const char *socket_state_name(enum socket_state);

#endif
