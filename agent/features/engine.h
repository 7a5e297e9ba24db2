/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_ENGINE_H
#define WDA_FEATURES_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "io/engine-get.h"

struct agent;
struct engine;
struct json_object;

/* engine.c: /_ping and /version against the engine socket */
struct engine;
struct engine *engine_new(struct agent *);
void	engine_probe_start(struct engine *);	/* unless one is under way */
void	engine_free(struct engine *);
bool	engine_reachable(const struct engine *);
/* Why the last probe failed; NULL when it answered or none ended yet. */
const char *engine_failure(const struct engine *);
const char *engine_version(const struct engine *);
struct json_object *engine_status_json(const struct engine *);	/* "engine" */
/*
 * io/engine-get.h's GET to the agent's engine socket, while it is
 * trusted (expose.c).
 */
struct engine_get *engine_ask(struct agent *, const char *target,
	    const struct engine_get_opts *opts, engine_get_cb *cb, void *arg);

#endif
