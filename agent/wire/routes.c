/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Docker API routes the proxy acts on, in one table: each is
 * registered by method and path (as rancher-desktop's wsl-helper registers
 * its request and response "mungers"), with what the request follower
 * does with the request and what the answer follower does with its
 * answer.  The followers (request.c, reply.c) know HTTP and nothing of
 * Docker; this file knows which requests matter and why:
 *
 *   - a container create (bind sources) and a volume create (a bind
 *     volume's device) are held whole and rewritten (create.c), so the
 *     engine, in another distro, finds the user's sources re-exposed;
 *   - answers that can name an exposure are held and rewritten (below),
 *     so `docker inspect' shows the user's path, not the exposure's:
 *
 *       GET /containers/{id}/json  Mounts[].Source, HostConfig.Binds[]
 *                                  (the source before the first ':'),
 *                                  HostConfig.Mounts[].Source
 *       GET /containers/json       [].Mounts[].Source
 *       GET /volumes/{name}        Options.device (a local volume bound
 *                                  to a directory, re-exposed when mounted)
 *       GET /volumes               Volumes[].Options.device
 *       POST /volumes/create       Options.device (its 201 answer)
 *
 *     Only those fields, only absolute strings, and only what the hook
 *     (binds.c) recognises are replaced.  Mountpoint, and the Source of a
 *     volume's mount, are the engine's own /var/lib/docker paths, never
 *     an exposure, and stay;
 *   - attach, exec start, a BuildKit session and a gRPC stream are
 *     answered by the engine taking the connection over: after them the
 *     connection goes opaque both ways, as it does after any upgrade.
 *
 * A path is matched as the engine's router sees it: percent-decoded,
 * without its query and its optional /vX.Y prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/json.h"
#include "wire/create.h"
#include "wire/http.h"
#include "wire/routes.h"

#define ROUTE_PATH_MAX	1024	/* longer paths are matched cut short */

static const struct route routes[] = {
	/* The creates: held whole, their bind sources re-exposed. */
	{ "POST", "/containers/create", ROUTE_REQUEST_CREATE,
	  ROUTE_ANSWER_PASS },
	{ "POST", "/volumes/create", ROUTE_REQUEST_VOLUME_CREATE,
	  ROUTE_ANSWER_VOLUME },
	/* Inspects and lists: their answers in the user's paths. */
	{ "GET", "/containers/json", ROUTE_REQUEST_PASS,
	  ROUTE_ANSWER_CONTAINERS },
	{ "GET", "/containers/{id}/json", ROUTE_REQUEST_PASS,
	  ROUTE_ANSWER_CONTAINER },
	{ "GET", "/volumes", ROUTE_REQUEST_PASS, ROUTE_ANSWER_VOLUMES },
	{ "GET", "/volumes/{name}", ROUTE_REQUEST_PASS, ROUTE_ANSWER_VOLUME },
	/* The engine takes the connection over. */
	{ "POST", "/containers/{id}/attach", ROUTE_REQUEST_HIJACK,
	  ROUTE_ANSWER_OPAQUE },
	{ NULL, "/containers/{id}/attach/ws", ROUTE_REQUEST_HIJACK,
	  ROUTE_ANSWER_OPAQUE },
	{ "POST", "/exec/{id}/start", ROUTE_REQUEST_HIJACK,
	  ROUTE_ANSWER_OPAQUE },
	{ "POST", "/session", ROUTE_REQUEST_HIJACK, ROUTE_ANSWER_OPAQUE },
	{ "POST", "/grpc", ROUTE_REQUEST_HIJACK, ROUTE_ANSWER_OPAQUE },
};
#define ROUTES	(sizeof routes / sizeof routes[0])

/* Any request asking for an upgrade, and CONNECT. */
static const struct route route_upgrade = { NULL, NULL, ROUTE_REQUEST_HIJACK,
    ROUTE_ANSWER_OPAQUE };
/* Everything the table does not list. */
static const struct route route_other = { NULL, NULL, ROUTE_REQUEST_PASS,
    ROUTE_ANSWER_PASS };

/* ------------------------------------------------------------------ */
/* Finding a request's route. */

/* The docker API's optional version prefix: /v1.41, /v1, /v1.2.3. */
static const char *
route_skip_version(const char *path)
{
	if (path[0] != '/' || path[1] != 'v')
		return path;
	const char *p = path + 2;
	size_t digits = 0;
	while ((*p >= '0' && *p <= '9') || *p == '.') {
		digits += *p != '.';
		p++;
	}
	return digits > 0 && *p == '/' ? p : path;
}

/* Does path match pattern, each "{x}" standing for one non-empty segment? */
static bool
route_path_matches(const char *pattern, const char *path)
{
	while (*pattern != '\0') {
		if (*pattern == '{') {
			const char *end = strchr(pattern, '}');
			size_t n = strcspn(path, "/");
			if (end == NULL || n == 0)
				return false;
			pattern = end + 1;
			path += n;
		} else if (*pattern++ != *path++)
			return false;
	}
	return *path == '\0';
}

const struct route *
route_of(const struct http_head *h, const char *buf)
{
	char path[ROUTE_PATH_MAX];
	if (h->upgrade)
		return &route_upgrade;
	http_target_path(h, buf, path, sizeof path);
	const char *p = route_skip_version(path);
	for (size_t i = 0; i < ROUTES; i++)
		if ((routes[i].method == NULL ||
		    strcmp(routes[i].method, h->method) == 0) &&
		    route_path_matches(routes[i].path, p))
			return &routes[i];
	return &route_other;
}

const struct route *
route_at(size_t i)
{
	return i < ROUTES ? &routes[i] : NULL;
}

/* ------------------------------------------------------------------ */
/* JSON bodies, read and written with bounds, as the engine does. */

struct json_object *
route_json_parse(const char *body, size_t len, int depth)
{
	if (len > INT32_MAX)
		return NULL;
	struct json_tokener *tok = json_tokener_new_ex(depth);
	if (tok == NULL)
		return NULL;
	struct json_object *root = json_parse(tok, body, len);
	bool complete = root != NULL &&
	    json_tokener_get_parse_end(tok) == len;
	/* Whitespace after the value is fine; anything else is not ours. */
	for (size_t i = root != NULL ? json_tokener_get_parse_end(tok) : len;
	    root != NULL && !complete && i < len; i++)
		if (strchr(" \t\r\n", body[i]) == NULL)
			break;
		else if (i + 1 == len)
			complete = true;
	json_tokener_free(tok);
	if (!complete) {
		json_object_put(root);
		return NULL;
	}
	return root;
}

char *
route_json_dump(struct json_object *o, const char *suffix, size_t *outlen)
{
	size_t n, sl = strlen(suffix);
	const char *text = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	char *copy = text != NULL ? malloc(n + sl + 1) : NULL;
	if (copy == NULL)
		return NULL;
	memcpy(copy, text, n);
	memcpy(copy + n, suffix, sl + 1);
	*outlen = n + sl;
	return copy;
}

/* ------------------------------------------------------------------ */
/* The answers: exposure paths back into the user's. */

struct answer_walk {
	http_reply_fn	 fn;
	void		*arg;
	bool		 changed;
};

/* The user's path for an absolute one, or NULL (malloc'd). */
static char *
answer_user_path(struct answer_walk *walk, const char *path, size_t len)
{
	if (len == 0 || path[0] != '/' || strlen(path) != len)
		return NULL;
	char *user = walk->fn(walk->arg, path);
	if (user != NULL && strcmp(user, path) == 0) {
		free(user);
		user = NULL;
	}
	return user;
}

/* Replace a string member of o named key with the user's path. */
static void
answer_map_member(struct answer_walk *walk, struct json_object *o,
    const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return;
	char *user = answer_user_path(walk, json_object_get_string(v),
	    (size_t)json_object_get_string_len(v));
	if (user == NULL)
		return;
	if (json_object_set_string(v, user))
		walk->changed = true;
	free(user);
}

/* Each object of the array o[key]: f(it). */
static void
answer_each(struct answer_walk *walk, struct json_object *o, const char *key,
    void (*f)(struct answer_walk *, struct json_object *))
{
	struct json_object *arr;
	if (!json_object_object_get_ex(o, key, &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	size_t n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		if (json_object_is_type(e, json_type_object))
			f(walk, e);
	}
}

static void
answer_mount(struct answer_walk *walk, struct json_object *m)
{
	answer_map_member(walk, m, "Source");
}

/* "src:dst[:opts]": the source part. */
static void
answer_binds(struct answer_walk *walk, struct json_object *binds)
{
	size_t n = json_object_array_length(binds);
	for (size_t i = 0; i < n; i++) {
		struct json_object *b = json_object_array_get_idx(binds, i);
		const char *spec;
		size_t slen;
		bool ro;
		if (!create_bind_entry(b, &spec, &slen, &ro))
			continue;
		char *src = strndup(spec, slen);
		char *user = src != NULL ? answer_user_path(walk, src, slen) :
		    NULL;
		free(src);
		char *ns = NULL;
		if (user != NULL && asprintf(&ns, "%s%s", user, spec + slen) >= 0 &&
		    json_object_set_string(b, ns))
			walk->changed = true;
		free(ns);
		free(user);
	}
}

static void
answer_container(struct answer_walk *walk, struct json_object *c)
{
	struct json_object *hc, *binds;
	answer_each(walk, c, "Mounts", answer_mount);
	if (!json_object_object_get_ex(c, "HostConfig", &hc) ||
	    !json_object_is_type(hc, json_type_object))
		return;
	if (json_object_object_get_ex(hc, "Binds", &binds) &&
	    json_object_is_type(binds, json_type_array))
		answer_binds(walk, binds);
	answer_each(walk, hc, "Mounts", answer_mount);
}

static void
answer_volume(struct answer_walk *walk, struct json_object *v)
{
	struct json_object *opts;
	if (json_object_object_get_ex(v, "Options", &opts) &&
	    json_object_is_type(opts, json_type_object))
		answer_map_member(walk, opts, "device");
}

char *
route_answer_rewrite(enum route_answer answer, const char *body, size_t len,
    http_reply_fn fn, void *arg, size_t *outlen)
{
	struct json_object *root = route_json_parse(body, len,
	    HTTP_REPLY_DEPTH_MAX);
	if (root == NULL)
		return NULL;
	struct answer_walk walk = { fn, arg, false };
	bool object = json_object_is_type(root, json_type_object);
	switch (answer) {
	case ROUTE_ANSWER_CONTAINER:
		if (object)
			answer_container(&walk, root);
		break;
	case ROUTE_ANSWER_CONTAINERS:
		if (json_object_is_type(root, json_type_array)) {
			size_t n = json_object_array_length(root);
			for (size_t i = 0; i < n; i++) {
				struct json_object *c =
				    json_object_array_get_idx(root, i);
				if (json_object_is_type(c, json_type_object))
					answer_container(&walk, c);
			}
		}
		break;
	case ROUTE_ANSWER_VOLUME:
		if (object)
			answer_volume(&walk, root);
		break;
	case ROUTE_ANSWER_VOLUMES:
		if (object)
			answer_each(&walk, root, "Volumes", answer_volume);
		break;
	default:
		break;
	}
	char *out = NULL;
	/* The engine's encoder ends each value with a newline. */
	if (walk.changed)
		out = route_json_dump(root, len > 0 && body[len - 1] == '\n' ?
		    "\n" : "", outlen);
	json_object_put(root);
	return out;
}
