/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_HEALTH_H
#define WDA_FEATURES_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct agent;
struct health;
struct json_object;

/* health.c: reports to the Windows host */
struct health;
struct health *health_new(struct agent *);
void	health_state_changed(struct health *);
/* A message of its own (restore.c's "repair"; taken), if connected. */
void	health_send(struct health *, struct json_object *msg);
struct json_object *health_status_json(struct health *);
void	health_free(struct health *);

#endif
