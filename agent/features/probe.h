/* SPDX-License-Identifier: Apache-2.0 */
/*
 * features/probe.c: how the engine is (GET /_ping, then /version), asked
 * through the engine socket features/desktop.c's view trusts, and asked
 * again while it should answer but does not.
 */
#ifndef WDA_FEATURES_PROBE_H
#define WDA_FEATURES_PROBE_H

#include <stdbool.h>

struct config;
struct desktop_view;
struct event_base;
struct json_object;
struct notify;
struct probe;

/*
 * cfg is main/'s (host.interval caps the retry's backoff); n is posted
 * when a probe's result changes.
 */
struct probe *probe_new(struct event_base *, const struct config *cfg,
	    struct notify *n);
void	probe_free(struct probe *);
/*
 * The facts of this reconcile (the engine socket: there? trusted? its
 * descriptor), then a probe unless one is under way; while the engine
 * should answer but does not, the probe asks again by itself, backing
 * off up to host.interval.
 */
void	probe_reconcile(struct probe *, const struct desktop_view *,
	    bool disabled);
/* Ask again now with the last facts (the heartbeat), unless under way. */
void	probe_start(struct probe *);
bool	probe_reachable(const struct probe *);
/* Why the last probe failed; NULL when it answered or none ended yet. */
const char *probe_failure(const struct probe *);
const char *probe_version(const struct probe *);
/* The "engine" object; an engine that should answer but does not is a problem. */
struct json_object *probe_report(const struct probe *,
	    struct json_object *problems);

#endif
