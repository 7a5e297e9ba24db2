/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_LINKS_H
#define WDA_FEATURES_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct agent;
struct config;
struct json_object;
struct links;
struct manifest;
struct trust_failure;

#define LINK_MAX_ENTRIES	256	/* tools + plugins considered */

enum link_state { LINK_OK, LINK_SHIM, LINK_CONFLICT, LINK_REFUSED };

struct link_entry {
	char		*path;		/* in bin_dir or plugin_dir */
	char		*target;	/* what it points (or should point) to */
	enum link_state	 state;
	char		*detail;	/* why, for conflicts and refusals */
};


/* links.c */
extern const char *const links_bin_subdirs[];	/* below desktop_dir */
extern const char *const links_plugin_subdirs[];
struct link_plan {
	char	*path;
	char	*target;
	bool	 shim;		/* target is the shim */
};
/*
 * Work out which links should exist: every tool in cli-tools' usr/bin and
 * every plugin in its cli-plugins directories (validated), or the shim
 * while the CLI is away.  cli_base is where the links point for cli-tools:
 * the agent's private view of it (links.cli_mount); NULL makes the shim
 * stand in for every tool.  Refused entries are reported in *refused.
 */
int	links_plan(const struct config *, bool cli_present, bool disabled,
	    const struct manifest *, const char *cli_base,
	    struct link_plan **plan, size_t *nplan,
	    struct link_entry *refused, size_t *nrefused, size_t maxrefused);
void	links_plan_free(struct link_plan *, size_t);
void	links_refused_free(struct link_entry *, size_t);
/*
 * Validate one tool: target is desktop_dir/<a tool directory>/<name>, every
 * component from the shared root walked by descriptor (links_open_cli_dir),
 * the tool a root-owned executable regular file (links_open_tool).
 */
bool	links_target_valid(const char *desktop_dir, const char *target,
	    char *why, size_t whylen);
struct trust_failure;
/*
 * Open Docker Desktop's subdir ("cli-tools/usr/bin") by descriptor (flags
 * of trust_walk_dir): every component from the shared root, desktop_dir's
 * parent, root-owned, not group or other writable, no symlink; cli-tools a
 * mount point.  -1 and *f (f->path names what failed, or the directory).
 */
int	links_open_cli_dir(const char *desktop_dir, const char *subdir,
	    int flags, struct trust_failure *f);
/*
 * Is something at sub below Docker Desktop's tree (sub "" the tree
 * itself)?  Asked by descriptor from the shared root (trust_exists), never
 * by a stat of the path, which a FUSE server in the tree could hang.  A
 * walk that cannot tell (an untrusted mount in the way) says yes: the
 * trust walks that follow name what is there.
 */
bool	links_desktop_has(const char *desktop_dir, const char *sub);
/*
 * Did it fail only because the CLI is away: missing, or a root-owned
 * cli-tools that is not mounted (Docker Desktop stopped)?  Not untrusted.
 */
bool	links_cli_absent(const struct trust_failure *f);
/*
 * The tool name in a directory from links_open_cli_dir (dirpath its
 * path): an O_PATH descriptor of a root-owned, executable regular file not
 * writable by group or others (a symlink to a name in the same directory
 * is followed once), for fexecve.  -1 and why (one line).
 */
int	links_open_tool(int dirfd, const char *dirpath, const char *name,
	    char *why, size_t whylen);
/* /usr/bin, /bin, /usr/sbin, /sbin: names there are never shadowed. */
extern const char *const *links_system_dirs;
struct links;
struct links *links_new(struct agent *);
/* Make the links match the tree (cli_present) or remove them (disabled). */
void	links_reconcile(struct links *, bool cli_present, bool disabled);
/* Agent stopping: hand links to the shim, or remove them all. */
void	links_release(struct links *, bool remove_all);
void	links_free(struct links *);
size_t	links_count(const struct links *, enum link_state);
/* The "links" array; conflicting and refused links add to problems. */
struct json_object *links_status_json(const struct links *,
	    struct json_object *problems);
/* The "conflicts" array: what in the distro fights the integration. */
struct json_object *links_conflicts_json(const struct links *);

#endif
