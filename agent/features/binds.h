/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_BINDS_H
#define WDA_FEATURES_BINDS_H

#include <stdbool.h>
#include <stddef.h>

struct binds;
struct config;
struct exposures;
struct http_caller;
struct json_object;
struct pathmap;
struct proxy;
struct usage;
struct volumes;

/*
 * features/binds.c: the bind sources of the creates that go through the
 * proxy (its create hook) and the paths in its answers (its reply hook).
 * It calls exposures (an exposure for a source the engine cannot see),
 * volumes (a local volume's device, a named volume's use) and usage
 * (follow the engine once there is something to collect).
 */
struct binds *binds_new(const struct config *cfg, struct exposures *,
	    struct volumes *, struct usage *);
/* The hooks of the proxy last hooked go: free binds before that proxy. */
void	binds_free(struct binds *);
/*
 * proxy: the socket's (NULL: none).  Its creates and answers are followed
 * in proxy mode once the exposures know the engine's view of paths.
 */
void	binds_reconcile(struct binds *, struct proxy *proxy);
/*
 * exposures_set_worker's `mounted': a new exposure's mount ended, so the
 * creates the hook answered "not yet" are asked again.
 */
void	binds_mounted(void *binds);
/* "active" in the "binds" object; an untrusted area is a problem then. */
void	binds_report(const struct binds *, struct json_object *binds,
	    struct json_object *problems);

/* What to do with one source (pure apart from realpath). */
enum binds_decision { BINDS_KEEP, BINDS_REPLACE, BINDS_EXPOSE, BINDS_MISSING };
/*
 * The source, cleaned and resolved (symlinks followed, as the engine
 * would), then looked up in the table.  KEEP: the engine sees it as
 * written.  REPLACE: it sees it at *out.  EXPOSE: it cannot see it; *out
 * is the resolved source to expose.  MISSING: the source does not exist
 * here (*out says why).
 */
enum binds_decision binds_decide(const struct pathmap *, const char *source,
	    char **out);
/*
 * mkdir -p of a missing bind source as the engine does for -v; what it
 * makes is owned by the caller (if known).  The part that exists is
 * resolved as the engine would (the user's symlinks followed), then
 * walked from / with O_NOFOLLOW; each directory is made with mkdirat in
 * its parent's descriptor and given away through its own, so nothing it
 * makes or chowns is followed.  -1 with errno.
 */
int	binds_make_source(const char *path, const struct http_caller *);

#endif
