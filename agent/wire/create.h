/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_WIRE_CREATE_H
#define WDA_WIRE_CREATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct json_object;

/*
 * create.c: the two request bodies the proxy rewrites, a container create
 * (HostConfig.Binds and HostConfig.Mounts) and a volume create (a local
 * volume bound to a directory), each bind source put to a hook (binds.c)
 * that may re-expose it.  Pure: JSON in, JSON out.
 */
#define HTTP_CREATE_BODY_MAX	(16 * 1024 * 1024)	/* rewritten at most */
#define HTTP_CREATE_DEPTH_MAX	64	/* JSON nesting of a create body */

/* Who sent a request: the peer credentials of its connection. */
struct http_caller {
	bool		 known;		/* false: SO_PEERCRED failed */
	uid_t		 uid;
	gid_t		 gid;
};
/* What the hook is asked about. */
enum http_source_kind {
	HTTP_SOURCE_BIND,	/* an absolute bind source of a container */
	HTTP_SOURCE_DEVICE,	/* the absolute device of a local bind volume */
	HTTP_SOURCE_VOLUME,	/* a named volume a container mounts (path:
				   its name; a replacement is ignored) */
};
/* One absolute bind source of a create, as the hook sees it. */
struct http_bind_source {
	const char	*path;
	bool		 read_only;
	/* Make it when missing: -v (Binds), Mounts' CreateMountpoint. */
	bool		 create;
	const struct http_caller *caller;	/* never NULL */
	enum http_source_kind kind;
	const char	*volume;	/* DEVICE: the volume's name, or "" */
	/*
	 * Answered already, in an earlier pass of this create that a later
	 * source told "not yet": what the hook keeps per create (a ticket)
	 * it has, and is not to take twice.
	 */
	bool		 again;
};
/*
 * Called for each absolute bind source of a create: set *replacement
 * (malloc'd) to rewrite it, or leave it NULL to keep it; -1 refuses the
 * request with why as the message; 1 says "not yet" (work for it is under
 * way elsewhere): the create waits, and is put to the hook again, whole,
 * once its caller is told the work is done.
 */
typedef int (*http_bind_fn)(void *arg, const struct http_bind_source *,
	    char **replacement, char *why, size_t whylen);

enum create_result { CREATE_UNCHANGED, CREATE_CHANGED, CREATE_REFUSED,
		     CREATE_UNREADABLE, CREATE_PENDING };
/*
 * Rewrite the bind sources of a container create's body (JSON) in
 * HostConfig.Binds and HostConfig.Mounts (Type "bind"), for caller (NULL:
 * unknown).  CHANGED: *out (malloc'd) is the new body; UNCHANGED or
 * UNREADABLE: forward the original bytes; REFUSED: why says why; PENDING:
 * a hook said "not yet", ask again later.
 */
enum create_result create_rewrite_container(const char *body, size_t len,
	    const struct http_caller *, http_bind_fn, void *arg, char **out,
	    size_t *outlen, char *why, size_t whylen);
/*
 * Either, for a create asked about in passes (a hook said "not yet"):
 * *asked, the sources answered in earlier passes (0 the first time), is
 * raised to those answered in this one before a "not yet"; the first
 * *asked sources are asked with `again' set.
 */
enum create_result create_rewrite(bool volume, const char *body, size_t len,
	    const struct http_caller *, http_bind_fn, void *arg, size_t *asked,
	    char **out, size_t *outlen, char *why, size_t whylen);
/*
 * The same for a volume create: a "local" volume bound to a directory
 * (DriverOpts type "none", o with "bind") has its absolute device asked
 * about (HTTP_SOURCE_DEVICE) and rewritten; every other byte stays.
 */
enum create_result create_rewrite_volume(const char *body, size_t len,
	    const struct http_caller *, http_bind_fn, void *arg, char **out,
	    size_t *outlen, char *why, size_t whylen);

/*
 * Split a HostConfig.Binds entry "src:dst[:opts]": *src_len is the length
 * of the source; false for entries without a host path (named volumes,
 * anonymous ones, malformed ones), which are left alone.
 */
bool	create_bind_spec(const char *spec, size_t *src_len, bool *read_only);
/* A Binds entry (a JSON string) with a host source, as create_bind_spec(). */
bool	create_bind_entry(struct json_object *, const char **spec,
	    size_t *src_len, bool *read_only);

#endif
