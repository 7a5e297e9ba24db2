/* SPDX-License-Identifier: Apache-2.0 */
/*
 * features/desktop.c: the one owner of "what is in Docker Desktop's tree
 * and may it be trusted".  desktop_look() walks the tree once per
 * reconcile; every other feature gets the result, a read-only
 * struct desktop_view, as an argument.  Nobody else walks to the engine
 * socket.  The layout (where tools, plugins and the engine socket are) and
 * the walks to them are here too, for links, the view of cli-tools and the
 * shim.
 */
#ifndef WDA_FEATURES_DESKTOP_H
#define WDA_FEATURES_DESKTOP_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct desktop;
struct json_object;
struct trust_failure;

/* Docker Desktop's tree (at cfg->desktop_dir) as the last look found it. */
struct desktop_view {
	bool		 present;	/* the tree is there */
	bool		 cli_present;	/* cli-tools/usr/bin/docker passed the walk */
	const char	*untrusted;	/* why the CLI tree is not trusted, or NULL */
	bool		 engine_present; /* something is at the engine socket's path */
	/*
	 * The engine socket's O_PATH descriptor while it is trusted, held
	 * until a look finds another socket (the same one keeps its number);
	 * -1 otherwise.  Connect through it (/proc/self/fd/N), never by path.
	 */
	int		 engine_fd;
	const char	*engine_untrusted; /* why it is not trusted, or NULL */
	const char	*engine_path;	/* where it is, for messages */
	/* Below dir, what io/watch.c follows: tool directories, the socket's. */
	const char *const *followed;
};

/* cfg is main/'s, for the agent's life (a reload changes it in place). */
struct desktop *desktop_new(const struct config *cfg);
void	desktop_free(struct desktop *);
/* Walk the tree: presence, the CLI's trust, the engine socket's. */
void	desktop_look(struct desktop *);
const struct desktop_view *desktop_view(const struct desktop *);
/*
 * The engine socket the look trusted is refused after all (features/
 * socket.c found it is the agent's own socket, or served by another user):
 * it is let go, and why is the view's engine_untrusted until the next look.
 */
void	desktop_refuse_engine(struct desktop *, const char *why);
/* The "desktop" object; what is missing or untrusted adds to problems. */
struct json_object *desktop_report(const struct desktop *, bool disabled,
	    struct json_object *problems);

/* Docker Desktop's tool directories, below desktop_dir. */
extern const char *const desktop_bin_subdirs[];
extern const char *const desktop_plugin_subdirs[];
/* A name a tool may have: not hidden, no control characters, not too long. */
bool	desktop_name_ok(const char *name);
/*
 * Open Docker Desktop's subdir ("cli-tools/usr/bin") by descriptor (flags
 * of trust_walk_dir): every component from the shared root, desktop_dir's
 * parent, root-owned, not group or other writable, no symlink; cli-tools a
 * mount point.  -1 and *f (f->path names what failed, or the directory).
 */
int	desktop_open_cli_dir(const char *desktop_dir, const char *subdir,
	    int flags, struct trust_failure *f);
/*
 * Did it fail only because the CLI is away: missing, or a root-owned
 * cli-tools that is not mounted (Docker Desktop stopped)?  Not untrusted.
 */
bool	desktop_cli_absent(const struct trust_failure *f);
/*
 * Is something at sub below Docker Desktop's tree (sub "" the tree
 * itself)?  Asked by descriptor from the shared root (trust_exists), never
 * by a stat of the path, which a FUSE server in the tree could hang.  A
 * walk that cannot tell (an untrusted mount in the way) says yes: the
 * trust walks that follow name what is there.
 */
bool	desktop_has(const char *desktop_dir, const char *sub);
/*
 * The tool name in a directory from desktop_open_cli_dir (dirpath its
 * path): an O_PATH descriptor of a root-owned, executable regular file not
 * writable by group or others (a symlink to a name in the same directory
 * is followed once), for fexecve.  -1 and why (one line).
 */
int	desktop_open_tool(int dirfd, const char *dirpath, const char *name,
	    char *why, size_t whylen);
/*
 * Validate one tool: target is desktop_dir/<a tool directory>/<name>, every
 * component from the shared root walked by descriptor (desktop_open_cli_dir),
 * the tool a root-owned executable regular file (desktop_open_tool).
 */
bool	desktop_tool_valid(const char *desktop_dir, const char *target,
	    char *why, size_t whylen);

#endif
