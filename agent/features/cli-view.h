/* SPDX-License-Identifier: Apache-2.0 */
/*
 * features/cli-view.c: the agent's private view of Docker Desktop's
 * cli-tools, the checked mount cloned read-only at links.cli_mount, which
 * the links point into (features/links.c).
 */
#ifndef WDA_FEATURES_CLI_VIEW_H
#define WDA_FEATURES_CLI_VIEW_H

#include <stddef.h>

struct cli_view;
struct config;
struct manifest;

/* cfg and the shared manifest (its "mount" entry for the view) are main/'s. */
struct cli_view *cli_view_new(const struct config *, struct manifest *);
/* Forgets the view; it stays mounted, and a restart takes it back. */
void	cli_view_free(struct cli_view *);
/*
 * Make links.cli_mount the checked cli-tools mount: 0 when it is (kept,
 * taken back after a restart of the agent, or mounted now), -1 with why
 * when it cannot be.
 */
int	cli_view_mount(struct cli_view *, char *why, size_t whylen);
/* Unmount the view (if the manifest says it is ours), by its identity. */
void	cli_view_release(struct cli_view *);

#endif
