/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_BIND_H
#define WDA_FEATURES_BIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct agent;
struct bind;
struct http_caller;
struct json_object;
struct pathmap;
struct trust_failure;

/* bind.c: bind-mount sources re-exposed below the shared /mnt/wsl */
#define BIND_DIR_NAME		"docker-desktop-bind-mounts"
#define BIND_MANIFEST_KIND	"bindmount"
#define BIND_PENDING_MS		30000	/* a create not seen by then failed */

struct bind;
/* Follow the engine, hook the proxy, collect unused exposures. */
void	bind_reconcile(struct agent *);
/* Stop following the engine; exposures stay (containers may need them). */
void	bind_free(struct bind *);
/* The "binds" object; an untrusted bind-mount area adds a problem. */
struct json_object *bind_status_json(struct bind *, struct json_object *problems);

/* What to do with one source (pure apart from realpath). */
enum bind_decision { BIND_KEEP, BIND_REPLACE, BIND_EXPOSE, BIND_MISSING };
struct pathmap;
/*
 * The source, cleaned and resolved (symlinks followed, as the engine
 * would), then looked up in the table.  KEEP: the engine sees it as
 * written.  REPLACE: it sees it at *out.  EXPOSE: it cannot see it; *out
 * is the resolved source to expose.  MISSING: the source does not exist
 * here (*out says why).
 */
enum bind_decision bind_decide(const struct pathmap *, const char *source,
	    char **out);
/* restore.c's view of one exposure brought back (strings copied). */
struct bind_back {
	char	*source;	/* in this distro */
	char	*local;		/* the mount point here */
	bool	 mounted_now;	/* it was not mounted: now it is */
	bool	 read_only;
	int	 standin_fd;	/* what was at local before, a directory; -1 */
};
/*
 * The exposure a container's mount source (as the engine sees it) names,
 * mounted again if it is not (read-only if asked): 0; 1 when the path is
 * no exposure of this distro; -1 with why (the fix included) when it
 * cannot be: not recorded, its source gone, the mount refused.  Free
 * *out with bind_back_clear().
 */
int	bind_mount_back(struct bind *, const char *engine_source, bool read_only,
	    struct bind_back *out, char *why, size_t whylen);
void	bind_back_clear(struct bind_back *);


/*
 * mkdir -p of a missing bind source as the engine does for -v; what it
 * makes is owned by the caller (if known).  The part that exists is
 * resolved as the engine would (the user's symlinks followed), then
 * walked from / with O_NOFOLLOW; each directory is made with mkdirat in
 * its parent's descriptor and given away through its own, so nothing it
 * makes or chowns is followed.  -1 with errno.
 */
int	bind_make_source(const char *path, const struct http_caller *);
/*
 * The bind area below the shared root (absolute): BIND_DIR_NAME (root's,
 * 0755, shared by the distros) and distro in it (root's, 0700), walked by
 * descriptor (trust.h) and made where missing; a distro directory found
 * root's and not group or other writable is given mode 0700.  Its O_PATH
 * descriptor, or -1 and *f: nothing is made below what failed.
 */
int	bind_open_area(const char *root, const char *distro,
	    struct trust_failure *f);
/* Would exposing source expose the shared root or the area into itself? */
bool	bind_source_contains(const char *source, const char *shared_root,
	    const char *area);
/*
 * For volume.c: the table, and exposing a resolved source as a bind
 * source is (*engine_path, malloc'd: where the engine sees it).
 */
const struct pathmap *bind_pathmap(const struct bind *);
int	bind_expose_as(struct bind *, const char *source, bool read_only,
	    char **engine_path, char *why, size_t whylen);
/*
 * The exposure the engine sees at `engine': mounted again if it is not
 * (after a reboot).  1 done, 0 not an exposure of ours, -1 (why) failed.
 */
int	bind_ensure_mounted(struct bind *, const char *engine, char *why,
	    size_t whylen);

#endif
