/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_WIRE_HTTP_H
#define WDA_WIRE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct json_object;

/*
 * http.c: just enough HTTP/1.1 to find request boundaries on a docker
 * API connection and to rewrite the body of a container create.  Pure:
 * no I/O, no globals, so a fuzzer can drive every function.
 */
#define HTTP_HEAD_MAX		(64 * 1024)	/* request line + headers */
#define HTTP_CREATE_BODY_MAX	(16 * 1024 * 1024)	/* rewritten at most */
#define HTTP_CHUNK_LINE_MAX	4096	/* a chunk-size line, extensions too */
#define HTTP_CREATE_DEPTH_MAX	64	/* JSON nesting of a create body */

enum http_framing { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED };
enum http_result { HTTP_MORE, HTTP_DONE, HTTP_BAD, HTTP_OPAQUE,
		   HTTP_TOO_LARGE };
/* What the proxy must do with a request, from its method and path. */
enum http_route {
	HTTP_ROUTE_OTHER,	/* forward, then look for the next request */
	HTTP_ROUTE_CREATE,	/* POST [/vX.Y]/containers/create */
	HTTP_ROUTE_VOLUME_CREATE, /* POST [/vX.Y]/volumes/create: held too */
	HTTP_ROUTE_HIJACK,	/* upgrade or attach/exec start: then opaque */
};

struct http_head {
	size_t		 len;		/* bytes, the blank line included */
	char		 method[16];
	size_t		 target_off;	/* request-target, in the buffer */
	size_t		 target_len;
	int		 minor;		/* HTTP/1.minor */
	enum http_framing framing;
	uint64_t	 length;	/* HTTP_BODY_LENGTH */
	bool		 upgrade;	/* Connection: upgrade, or Upgrade: */
	bool		 close;		/* no request may follow this one */
	bool		 expect_continue;
};

/* Remembers how far the search for the end of a head got. */
struct http_head_parser {
	size_t		 scanned;
};
void	http_head_parser_init(struct http_head_parser *);
/*
 * Look at buf[0..len), all the client sent so far on this request: MORE
 * until the blank line ends the head, then DONE with *h filled in; BAD
 * (why says what) for framing the proxy and the engine could read
 * differently: Content-Length with Transfer-Encoding (RFC 9112 6.3, a
 * request smuggling vector), differing or malformed Content-Lengths, a
 * coding other than chunked.  OPAQUE for anything else that is not a
 * request this parser follows (not HTTP/1.x, bad syntax: the engine will
 * answer it), as soon as the first line shows it; TOO_LARGE past
 * HTTP_HEAD_MAX.
 */
enum http_result http_head_parse(struct http_head_parser *, const char *buf,
	    size_t len, struct http_head *h, char *why, size_t whylen);
enum http_route http_route(const struct http_head *, const char *buf);

/* Chunked transfer coding, followed without decoding. */
struct http_chunked {
	int		 state;
	uint64_t	 left;		/* data bytes left in this chunk */
	size_t		 line;		/* bytes of the framing line so far */
	size_t		 trailer;	/* bytes of trailers so far */
	bool		 digits;	/* chunk-size has a digit */
	bool		 bws;		/* white space after the size */
	bool		 in_ext;	/* past the size, in extensions */
	bool		 cr;		/* a CR was just seen */
};
enum http_chunk_step { HTTP_CHUNK_MORE, HTTP_CHUNK_DATA, HTTP_CHUNK_DONE,
		       HTTP_CHUNK_BAD };
void	http_chunked_init(struct http_chunked *);
/*
 * Consume framing from buf[0..len) (*used says how much): DATA when chunk
 * data comes next (left bytes of it; pass them on and call
 * http_chunked_take()), DONE after the last chunk and trailers, MORE when
 * buf ran out inside framing, BAD on malformed framing.
 */
enum http_chunk_step http_chunked_feed(struct http_chunked *, const char *buf,
	    size_t len, size_t *used, char *why, size_t whylen);
void	http_chunked_take(struct http_chunked *, uint64_t n);
/* Chunk data bytes that come next without framing (0: framing next). */
uint64_t http_chunked_data_left(const struct http_chunked *);
/* Decode a whole chunked body (malloc'd; max bounds the result). */
int	http_chunked_decode(const char *buf, size_t len, size_t max, char **out,
	    size_t *outlen, char *why, size_t whylen);

/*
 * Split a HostConfig.Binds entry "src:dst[:opts]": *src_len is the length
 * of the source; false for entries without a host path (named volumes,
 * anonymous ones, malformed ones), which are left alone.
 */
bool	http_bind_spec(const char *spec, size_t *src_len, bool *read_only);

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
};
/*
 * Called for each absolute bind source of a create: set *replacement
 * (malloc'd) to rewrite it, or leave it NULL to keep it; -1 refuses the
 * request with why as the message.
 */
typedef int (*http_bind_fn)(void *arg, const struct http_bind_source *,
	    char **replacement, char *why, size_t whylen);
enum http_rewrite { HTTP_REWRITE_UNCHANGED, HTTP_REWRITE_CHANGED,
		    HTTP_REWRITE_REFUSED, HTTP_REWRITE_UNREADABLE };
/*
 * Rewrite the bind sources of a create body (JSON) in HostConfig.Binds
 * and HostConfig.Mounts (Type "bind"), for caller (NULL: unknown).
 * CHANGED: *out (malloc'd) is the new body; UNCHANGED or UNREADABLE:
 * forward the original bytes.
 */
enum http_rewrite http_rewrite_create(const char *body, size_t len,
	    const struct http_caller *, http_bind_fn, void *arg, char **out,
	    size_t *outlen, char *why, size_t whylen);
/*
 * The same for a volume create: a "local" volume bound to a directory
 * (DriverOpts type "none", o with "bind") has its absolute device asked
 * about (HTTP_SOURCE_DEVICE) and rewritten; every other byte stays.
 */
enum http_rewrite http_rewrite_volume_create(const char *body, size_t len,
	    const struct http_caller *, http_bind_fn, void *arg, char **out,
	    size_t *outlen, char *why, size_t whylen);
/*
 * The head again, framed for a body of body_len bytes that follows at
 * once: Content-Length replaces Transfer-Encoding, Expect goes (malloc'd).
 */
char	*http_head_with_length(const char *head, const struct http_head *,
	    uint64_t body_len, size_t *outlen);
/* A complete error reply in the engine's format, Connection: close. */
char	*http_error_reply(int status, const char *message, size_t *outlen);


/* http.c, shared with http-reply.c */
bool	http_ieq(const char *a, size_t alen, const char *lit);
bool	http_list_has(const char *v, size_t n, const char *token);
/* Strict decimal, as Content-Length must be. */
bool	http_parse_length(const char *v, size_t n, uint64_t *out);
size_t	http_head_end(struct http_head_parser *, const char *buf, size_t len);
/* A HostConfig.Binds entry with a host source (http_bind_spec()). */
bool	http_bind_entry(struct json_object *, const char **spec,
	    size_t *src_len, bool *read_only);
/* The request's path, decoded, without query or /vX.Y prefix. */
const char *http_api_path(const struct http_head *, const char *buf,
	    char *path, size_t len);
/* One JSON value, nesting at most depth; NULL if not exactly that. */
struct json_object *http_json_parse(const char *body, size_t len, int depth);
/* Serialised as the engine's encoder would, plus suffix (malloc'd). */
char	*http_json_dump(struct json_object *, const char *suffix,
	    size_t *outlen);

#endif
