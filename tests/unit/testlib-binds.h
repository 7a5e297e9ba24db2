/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bind features' world, without an agent: what exposures, usage and
 * restore are created with, around a shared tmpfs they can really mount
 * in.  The test's process enters a mount namespace of its own, with a
 * tmpfs at dir (sources and state_dir, all gone at the end), a tmpfs at
 * /mnt and one at /mnt/wsl (mode 1777, shared, as WSL's),
 * which pathmap finds as the shared root; the engine is configured to see
 * it where it is (bind.engine_wsl_root /mnt/wsl, the simple lab's way).
 */
#ifndef WDA_TESTLIB_BINDS_H
#define WDA_TESTLIB_BINDS_H

#include <stdint.h>

#include "base/config.h"
#include "sys/manifest.h"

struct event_base;
struct exposures;
struct notify;

#define BIND_WORLD_AREA	"/mnt/wsl/docker-desktop-bind-mounts/unit"

struct bind_world {
	char		 dir[64];	/* sources, state_dir (below it) */
	struct config	 cfg;		/* distro "unit" */
	struct manifest	 manifest;	/* dir/state/manifest.json */
	struct event_base *base;
	struct notify	*changed;	/* counts its runs: notify_runs() */
	struct exposures *exposures;	/* made, not yet reconciled */
	struct work	*work;		/* a worker of its own: see below */
	int		 gate[2];	/* the worker's gate, while shut */
};
void	bind_world_up(struct bind_world *, const char *name);
/*
 * New exposures mounted on w->work (exposures_set_worker), mounted(arg)
 * told each time one ends.  Shut, the gate holds the worker: whatever
 * is queued after it waits until it opens (the loop does not).
 */
void	bind_world_worker(struct bind_world *, void (*mounted)(void *),
	    void *arg);
void	bind_world_gate_shut(struct bind_world *);
void	bind_world_gate_open(struct bind_world *);
void	bind_world_down(struct bind_world *);
/* config_set() or the test fails. */
void	bind_world_set(struct bind_world *, const char *key, const char *value);
/* dir/rel, in one of four buffers used in turn. */
const char *bind_world_path(struct bind_world *, const char *rel);
/* The area's point for source (not made): BIND_WORLD_AREA/<sha256>. */
const char *bind_world_point(const char *source);

#endif
