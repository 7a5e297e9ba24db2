/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_LINKS_H
#define WDA_FEATURES_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct config;
struct desktop_view;
struct json_object;
struct links;
struct manifest;

#define LINK_MAX_ENTRIES	256	/* tools + plugins considered */

enum link_state { LINK_OK, LINK_SHIM, LINK_CONFLICT, LINK_REFUSED };

struct link_entry {
	char		*path;		/* in bin_dir or plugin_dir */
	char		*target;	/* what it points (or should point) to */
	enum link_state	 state;
	char		*detail;	/* why, for conflicts and refusals */
};


/* links.c */
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
/* /usr/bin, /bin, /usr/sbin, /sbin: names there are never shadowed. */
extern const char *const *links_system_dirs;
/*
 * cfg is main/'s; the shared manifest gets the "link" entries and the
 * view's "mount" (cli-view.c).
 */
struct links *links_new(const struct config *, struct manifest *);
/* Make the links match the tree (v->cli_present) or remove them (disabled). */
void	links_reconcile(struct links *, const struct desktop_view *v,
	    bool disabled);
/* Agent stopping: hand links to the shim, or remove them all. */
void	links_release(struct links *, bool remove_all);
void	links_free(struct links *);
size_t	links_count(const struct links *, enum link_state);
/* The "links" array; conflicting and refused links add to problems. */
struct json_object *links_report(const struct links *,
	    struct json_object *problems);
/* The "conflicts" array: what in the distro fights the integration. */
struct json_object *links_conflicts_report(const struct links *);

#endif
