/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The creates' bodies: a container create names its bind sources in
 * HostConfig.Binds ("src:dst[:opts]", -v) and HostConfig.Mounts (Type
 * "bind", --mount), a volume create in DriverOpts (a local volume bound
 * to a directory).  Each absolute source is put to the hook, which may
 * give a replacement (its exposure) or refuse the request; named volumes
 * a container mounts are told, never rewritten.  Members are found as
 * the engine's Go decoder finds them, and the body is written back with
 * every other member as it came.  Pure: the proxy holds the body whole
 * (request.c) and forwards what this file gives back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "wire/create.h"
#include "wire/http.h"
#include "wire/routes.h"

bool
create_bind_spec(const char *spec, size_t *src_len, bool *read_only)
{
	/* As the engine's Linux parser: split on ':', 2 or 3 parts. */
	const char *c1 = strchr(spec, ':');
	if (c1 == NULL || spec[0] != '/')
		return false;
	const char *c2 = strchr(c1 + 1, ':');
	if (c1 == spec || c1[1] == '\0' || (c2 != NULL &&
	    (c2 == c1 + 1 || strchr(c2 + 1, ':') != NULL)))
		return false;
	*src_len = (size_t)(c1 - spec);
	*read_only = c2 != NULL && http_list_has(c2 + 1, strlen(c2 + 1), "ro");
	return true;
}

bool
create_bind_entry(struct json_object *b, const char **spec, size_t *src_len,
    bool *read_only)
{
	if (!json_object_is_type(b, json_type_string))
		return false;
	*spec = json_object_get_string(b);
	return (size_t)json_object_get_string_len(b) == strlen(*spec) &&
	    create_bind_spec(*spec, src_len, read_only);
}

/*
 * A member as the engine's Go decoder finds it: names match without
 * regard to case, and of several that match, the last one counts.
 */
static struct json_object *
create_get(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object *found = NULL;
	if (o == NULL || !json_object_is_type(o, json_type_object))
		return NULL;
	json_object_object_foreach(o, name, v) {
		if (strcasecmp(name, key) == 0)
			found = v;
	}
	return found != NULL && json_object_is_type(found, type) ? found : NULL;
}

/* The name of that member, to replace its value in place. */
static const char *
create_key(struct json_object *o, const char *key)
{
	const char *found = key;
	json_object_object_foreach(o, name, v) {
		(void)v;
		if (strcasecmp(name, key) == 0)
			found = name;
	}
	return found;
}

struct create_walk {
	http_bind_fn	 fn;
	void		*arg;
	const struct http_caller *caller;
	bool		 changed;
	char		*why;
	size_t		 whylen;
	enum http_source_kind kind;	/* what is being asked about */
	const char	*volume;
	bool		 pending;	/* the hook said: not yet */
	size_t		 asked;		/* sources answered in this pass */
	size_t		 asked_before;	/* ...in the passes before it */
};

/* Ask about one source; *repl is the replacement, or NULL to keep it. */
static int
create_ask(struct create_walk *walk, const char *source, bool ro, bool create,
    char **repl)
{
	const struct http_bind_source s = { source, ro, create, walk->caller,
	    walk->kind, walk->volume, walk->asked < walk->asked_before };
	*repl = NULL;
	int r = walk->fn(walk->arg, &s, repl, walk->why, walk->whylen);
	if (r > 0) {
		/* Not yet: the walk stops here and is done again, whole. */
		free(*repl);
		*repl = NULL;
		walk->pending = true;
		return -1;
	}
	if (r < 0)
		return -1;
	walk->asked++;
	if (*repl != NULL && strcmp(*repl, source) == 0) {
		free(*repl);
		*repl = NULL;
	}
	return 0;
}

/* A named volume a container mounts: told, never rewritten. */
static int
create_tell_volume(struct create_walk *walk, const char *name, size_t len)
{
	char *n = strndup(name, len), *repl;
	if (n == NULL) {
		snprintf(walk->why, walk->whylen, "out of memory");
		return -1;
	}
	walk->kind = HTTP_SOURCE_VOLUME;
	int r = create_ask(walk, n, false, false, &repl);
	walk->kind = HTTP_SOURCE_BIND;
	free(repl);
	free(n);
	return r;
}

/* "name:/dst[:opts]", the form -v gives a named volume. */
static bool
create_volume_spec(struct json_object *b, size_t *name_len)
{
	if (!json_object_is_type(b, json_type_string))
		return false;
	const char *spec = json_object_get_string(b);
	const char *c = strchr(spec, ':');
	if (c == NULL || c == spec || spec[0] == '/' ||
	    (size_t)json_object_get_string_len(b) != strlen(spec))
		return false;
	*name_len = (size_t)(c - spec);
	return true;
}

static int
create_walk_binds(struct create_walk *walk, struct json_object *binds)
{
	size_t n = json_object_array_length(binds);
	for (size_t i = 0; i < n; i++) {
		const char *spec;
		size_t slen;
		bool ro;
		struct json_object *e = json_object_array_get_idx(binds, i);
		if (!create_bind_entry(e, &spec, &slen, &ro)) {
			if (create_volume_spec(e, &slen) &&
			    create_tell_volume(walk, json_object_get_string(e),
			    slen) < 0)
				return -1;
			continue;
		}
		char *src = strndup(spec, slen), *repl;
		if (src == NULL) {
			snprintf(walk->why, walk->whylen, "out of memory");
			return -1;
		}
		/* dockerd makes a missing -v source (a directory). */
		int r = create_ask(walk, src, ro, true, &repl);
		free(src);
		if (r < 0)
			return -1;
		if (repl == NULL)
			continue;
		size_t rl = strlen(repl), tl = strlen(spec + slen);
		char *ns = malloc(rl + tl + 1);
		if (ns == NULL) {
			free(repl);
			snprintf(walk->why, walk->whylen, "out of memory");
			return -1;
		}
		memcpy(ns, repl, rl);
		memcpy(ns + rl, spec + slen, tl + 1);
		free(repl);
		struct json_object *v = json_object_new_string(ns);
		free(ns);
		if (v == NULL || json_object_array_put_idx(binds, i, v) < 0) {
			json_object_put(v);
			snprintf(walk->why, walk->whylen, "out of memory");
			return -1;
		}
		walk->changed = true;
	}
	return 0;
}

static int
create_walk_mounts(struct create_walk *walk, struct json_object *mounts)
{
	size_t n = json_object_array_length(mounts);
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(mounts, i);
		struct json_object *type = create_get(m, "Type",
		    json_type_string);
		struct json_object *src = create_get(m, "Source",
		    json_type_string);
		struct json_object *ro = create_get(m, "ReadOnly",
		    json_type_boolean);
		/* API 1.42+: compose's bind.create_host_path. */
		struct json_object *mk = create_get(create_get(m, "BindOptions",
		    json_type_object), "CreateMountpoint", json_type_boolean);
		if (type != NULL && src != NULL &&
		    strcmp(json_object_get_string(type), "volume") == 0 &&
		    json_object_get_string_len(src) > 0 &&
		    json_object_get_string(src)[0] != '/') {
			if (create_tell_volume(walk,
			    json_object_get_string(src),
			    (size_t)json_object_get_string_len(src)) < 0)
				return -1;
			continue;
		}
		if (type == NULL || src == NULL ||
		    strcmp(json_object_get_string(type), "bind") != 0)
			continue;
		const char *s = json_object_get_string(src);
		if (s[0] != '/' || (size_t)json_object_get_string_len(src) !=
		    strlen(s))
			continue;
		char *repl;
		if (create_ask(walk, s, ro != NULL &&
		    json_object_get_boolean(ro), mk != NULL &&
		    json_object_get_boolean(mk), &repl) < 0)
			return -1;
		if (repl == NULL)
			continue;
		struct json_object *v = json_object_new_string(repl);
		free(repl);
		if (v == NULL || json_object_object_add(m,
		    create_key(m, "Source"), v) < 0) {
			json_object_put(v);
			snprintf(walk->why, walk->whylen, "out of memory");
			return -1;
		}
		walk->changed = true;
	}
	return 0;
}

/* A container create's sources: HostConfig.Binds and .Mounts. */
static int
create_walk_container(struct create_walk *walk, struct json_object *root)
{
	struct json_object *hc = create_get(root, "HostConfig",
	    json_type_object);
	struct json_object *binds = create_get(hc, "Binds", json_type_array);
	struct json_object *mounts = create_get(hc, "Mounts", json_type_array);
	return (binds != NULL && create_walk_binds(walk, binds) < 0) ||
	    (mounts != NULL && create_walk_mounts(walk, mounts) < 0) ? -1 : 0;
}

/*
 * A volume create's device, when the local driver is to bind it: Driver
 * "local" (or none: the default), DriverOpts type "none" and an o with
 * bind or rbind.  A relative device is left to the engine, whose mount
 * fails on it, as it would without the agent.
 */
static int
create_walk_volume(struct create_walk *walk, struct json_object *root)
{
	struct json_object *drv = create_get(root, "Driver", json_type_string);
	struct json_object *name = create_get(root, "Name", json_type_string);
	struct json_object *opts = create_get(root, "DriverOpts",
	    json_type_object), *type, *o, *dev;
	if ((drv != NULL && json_object_get_string_len(drv) > 0 &&
	    strcmp(json_object_get_string(drv), "local") != 0) ||
	    opts == NULL ||
	    !json_object_object_get_ex(opts, "type", &type) ||
	    !json_object_is_type(type, json_type_string) ||
	    strcmp(json_object_get_string(type), "none") != 0 ||
	    !json_object_object_get_ex(opts, "o", &o) ||
	    !json_object_is_type(o, json_type_string) ||
	    !json_object_object_get_ex(opts, "device", &dev) ||
	    !json_object_is_type(dev, json_type_string))
		return 0;
	const char *ov = json_object_get_string(o);
	size_t ol = (size_t)json_object_get_string_len(o);
	const char *d = json_object_get_string(dev);
	if ((!http_list_has(ov, ol, "bind") && !http_list_has(ov, ol, "rbind")) ||
	    d[0] != '/' || (size_t)json_object_get_string_len(dev) != strlen(d))
		return 0;
	walk->kind = HTTP_SOURCE_DEVICE;
	walk->volume = name != NULL ? json_object_get_string(name) : "";
	char *repl;
	if (create_ask(walk, d, http_list_has(ov, ol, "ro"), false,
	    &repl) < 0)
		return -1;
	if (repl == NULL)
		return 0;
	struct json_object *v = json_object_new_string(repl);
	free(repl);
	if (v == NULL || json_object_object_add(opts, "device", v) < 0) {
		json_object_put(v);
		snprintf(walk->why, walk->whylen, "out of memory");
		return -1;
	}
	walk->changed = true;
	return 0;
}

/* Parse, walk, write back: bounded, and every other byte as it was. */
static enum create_result
create_rewrite_json(const char *body, size_t len,
    const struct http_caller *caller, http_bind_fn fn, void *arg,
    int (*walker)(struct create_walk *, struct json_object *), size_t *asked,
    char **out, size_t *outlen, char *why, size_t whylen)
{
	static const struct http_caller unknown = { false, 0, 0 };
	*out = NULL;
	*outlen = 0;
	if (len > HTTP_CREATE_BODY_MAX || len > INT32_MAX) {
		snprintf(why, whylen, "body larger than %d bytes",
		    HTTP_CREATE_BODY_MAX);
		return CREATE_UNREADABLE;
	}
	struct json_object *root = route_json_parse(body, len,
	    HTTP_CREATE_DEPTH_MAX);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		snprintf(why, whylen, "the body is not one JSON object");
		json_object_put(root);
		return CREATE_UNREADABLE;
	}
	struct create_walk walk = { fn, arg, caller != NULL ? caller : &unknown,
	    false, why, whylen, HTTP_SOURCE_BIND, NULL, false, 0,
	    asked != NULL ? *asked : 0 };
	if (walker(&walk, root) < 0) {
		json_object_put(root);
		if (walk.pending && asked != NULL && walk.asked > *asked)
			*asked = walk.asked;
		return walk.pending ? CREATE_PENDING : CREATE_REFUSED;
	}
	if (!walk.changed) {
		json_object_put(root);
		return CREATE_UNCHANGED;
	}
	*out = route_json_dump(root, "", outlen);
	json_object_put(root);
	if (*out == NULL) {
		snprintf(why, whylen, "out of memory");
		return CREATE_UNREADABLE;
	}
	return CREATE_CHANGED;
}

enum create_result
create_rewrite_container(const char *body, size_t len,
    const struct http_caller *caller, http_bind_fn fn, void *arg, char **out,
    size_t *outlen, char *why, size_t whylen)
{
	return create_rewrite(false, body, len, caller, fn, arg, NULL, out,
	    outlen, why, whylen);
}

enum create_result
create_rewrite_volume(const char *body, size_t len,
    const struct http_caller *caller, http_bind_fn fn, void *arg, char **out,
    size_t *outlen, char *why, size_t whylen)
{
	return create_rewrite(true, body, len, caller, fn, arg, NULL, out,
	    outlen, why, whylen);
}

enum create_result
create_rewrite(bool volume, const char *body, size_t len,
    const struct http_caller *caller, http_bind_fn fn, void *arg,
    size_t *asked, char **out, size_t *outlen, char *why, size_t whylen)
{
	return create_rewrite_json(body, len, caller, fn, arg, volume ?
	    create_walk_volume : create_walk_container, asked, out, outlen,
	    why, whylen);
}

