/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Local volumes bound to a directory of this distro: `docker volume
 * create --opt type=none --opt o=bind --opt device=DIR' and compose's
 * driver_opts.  The engine's local driver bind-mounts the device when a
 * container mounts the volume, at the path it was given, so a device the
 * engine cannot see would be an empty directory on its side.  The proxy
 * holds each volume create (http.c finds the device) and binds.c's create
 * hook hands the device here: it is resolved like a -v source, then
 * rewritten to the engine's path for it (pathmap.c) or exposed
 * (exposures_make) and rewritten to the exposure.  A relative device,
 * and one that does not exist, go to the engine as they are: the engine
 * takes both at create and fails the mount with its own error ("no such
 * file or directory") when a container uses the volume, as it would
 * without the agent.
 *
 * Lifetime: an exposure made for a volume is kept while the volume
 * exists.  Each collection of usage.c first asks GET /volumes and counts a
 * volume whose Options.device is within an exposure as one of its users
 * ("volume NAME" in status); volume create and destroy events start a
 * collection as container ones do.  At a container create that mounts a
 * named volume whose device is an exposure of this distro, the exposure
 * is mounted again if it is not (after a reboot); the volume's device is
 * known from the last list or from its create through the agent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "base/json.h"
#include "base/config.h"
#include "base/log.h"
#include "wire/http.h"
#include "wire/reply.h"
#include "io/engine-get.h"
#include "features/binds.h"
#include "features/exposures.h"
#include "features/volume.h"

#define VOLUME_LOG		"volume"
#define VOLUME_REPLY_MAX	(16 * 1024 * 1024)
#define VOLUME_TIMEOUT_S	10

struct volumes {
	struct event_base	*base;
	const struct config	*cfg;
	struct exposures	*exposures;
	struct engine_get	*get;		/* GET /volumes under way */
	void			(*done)(void *, bool);
	void			*done_arg;
	/* {name: device} of the bind volumes last seen, or made here */
	struct json_object	*devices;
	bool			 fresh;		/* the list just came */
};

struct volumes *
volumes_new(struct event_base *base, const struct config *cfg,
    struct exposures *exposures)
{
	struct volumes *v = calloc(1, sizeof *v);
	if (v == NULL)
		return NULL;
	v->base = base;
	v->cfg = cfg;
	v->exposures = exposures;
	v->devices = json_object_new_object();
	if (v->devices == NULL) {
		free(v);
		return NULL;
	}
	return v;
}

void
volumes_free(struct volumes *v)
{
	if (v == NULL)
		return;
	engine_get_free(v->get);
	json_object_put(v->devices);
	free(v);
}

/* A volume's device, as the engine reports it, if the volume binds one. */
static const char *
volumes_device(struct json_object *vol)
{
	struct json_object *opts;
	if (!json_object_object_get_ex(vol, "Options", &opts) ||
	    !json_object_is_type(opts, json_type_object))
		return NULL;
	const char *o = json_string(opts, "o");
	const char *dev = json_string(opts, "device");
	if (o == NULL || dev == NULL || dev[0] != '/' ||
	    (!http_list_has(o, strlen(o), "bind") &&
	    !http_list_has(o, strlen(o), "rbind")))
		return NULL;
	return dev;
}

static void
volumes_remember(struct volumes *v, const char *name, const char *device)
{
	if (name[0] == '\0' || (json_object_object_length(v->devices) >=
	    VOLUME_NAMES_MAX && !json_object_object_get_ex(v->devices, name,
	    NULL)))
		return;
	json_object_object_add(v->devices, name,
	    json_object_new_string(device));
}

/* The answer to GET /volumes: {"Volumes": [...], "Warnings": ...}. */
static bool
volumes_take(struct volumes *v, struct json_object *all)
{
	struct json_object *list, *devices = json_object_new_object();
	if (devices == NULL || !json_object_object_get_ex(all, "Volumes",
	    &list) || !(json_object_is_type(list, json_type_array) ||
	    json_object_is_type(list, json_type_null))) {
		json_object_put(devices);
		return false;
	}
	json_object_put(v->devices);
	v->devices = devices;
	size_t n = json_object_is_type(list, json_type_array) ?
	    json_object_array_length(list) : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *vol = json_object_array_get_idx(list, i);
		const char *name = json_string(vol, "Name");
		const char *dev = volumes_device(vol);
		if (name != NULL && dev != NULL)
			volumes_remember(v, name, dev);
	}
	return true;
}

static void
volumes_got(int code, struct evbuffer *body, const char *error, void *arg)
{
	struct volumes *v = arg;
	engine_get_free(v->get);
	v->get = NULL;
	struct json_object *all = error == NULL && code == 200 ?
	    engine_get_json(body, HTTP_REPLY_DEPTH_MAX) : NULL;
	v->fresh = all != NULL && volumes_take(v, all);
	json_object_put(all);
	if (v->fresh)
		log_state(LOG_LVL_INFO, VOLUME_LOG, "volume.list", NULL);
	else
		log_state(LOG_LVL_WARN, VOLUME_LOG, "volume.list", "cannot "
		    "ask the engine which volumes use the exposed bind "
		    "sources: GET %s %s%s; keeping them", VOLUME_LIST_PATH,
		    error != NULL ? "failed: " : "answered ",
		    error != NULL ? error : code == 200 ? "without a volume "
		    "list" : "an error");
	v->done(v->done_arg, v->fresh);
}

int
volumes_list(struct volumes *v, int engine_fd, const char *engine_name,
    void (*done)(void *, bool), void *arg)
{
	static const struct engine_get_opts opts = {
		.max = VOLUME_REPLY_MAX, .timeout_s = VOLUME_TIMEOUT_S,
	};
	if (v->get != NULL)
		return -1;
	v->fresh = false;
	v->done = done;
	v->done_arg = arg;
	v->get = engine_get_new(v->base, engine_fd, engine_name,
	    VOLUME_LIST_PATH, &opts, volumes_got, v);
	return v->get != NULL ? 0 : -1;
}

bool
volumes_busy(const struct volumes *v)
{
	return v != NULL && v->get != NULL;
}

bool
volumes_add_users(const struct volumes *v, struct json_object *containers)
{
	if (v == NULL || !v->fresh)
		return false;
	json_object_object_foreach(v->devices, name, dev) {
		char id[512], label[512];
		snprintf(id, sizeof id, "volume:%s", name);
		snprintf(label, sizeof label, "volume %s", name);
		struct json_object *c = json_object_new_object();
		struct json_object *names = json_object_new_array();
		struct json_object *mounts = json_object_new_array();
		struct json_object *m = json_object_new_object();
		if (c == NULL || names == NULL || mounts == NULL || m == NULL) {
			json_object_put(c);
			json_object_put(names);
			json_object_put(mounts);
			json_object_put(m);
			return false;
		}
		json_object_object_add(m, "Source", json_object_get(dev));
		json_object_array_add(mounts, m);
		json_object_array_add(names, json_object_new_string(label));
		json_object_object_add(c, "Id", json_object_new_string(id));
		json_object_object_add(c, "Names", names);
		json_object_object_add(c, "Mounts", mounts);
		json_object_array_add(containers, c);
	}
	return true;
}

/* POST /volumes/create: where the engine is to find the device. */
static int
volumes_on_device(struct volumes *v, const struct http_bind_source *s,
    char **replacement, char *why, size_t whylen)
{
	const char *distro = v->cfg->distro;
	char *out;
	switch (binds_decide(exposures_pathmap(v->exposures), s->path, &out)) {
	case BINDS_KEEP:
		volumes_remember(v, s->volume, s->path);
		return 0;
	case BINDS_REPLACE:
		log_info(VOLUME_LOG, "volume %s: device %s is %s for the engine",
		    s->volume, s->path, out);
		volumes_remember(v, s->volume, out);
		*replacement = out;
		return 0;
	case BINDS_MISSING:
		/* As the engine: taken now, its mount fails with ENOENT. */
		log_info(VOLUME_LOG, "volume %s: device %s does not exist in %s "
		    "(%s); passed on as it is", s->volume, s->path, distro,
		    out != NULL ? out : "out of memory");
		free(out);
		return 0;
	case BINDS_EXPOSE:
		break;
	}
	int r = exposures_make(v->exposures, out, s->read_only, s->again,
	    replacement, why, whylen);	/* 1: not yet, as binds.c's */
	free(out);
	if (r == 0)
		volumes_remember(v, s->volume, *replacement);
	return r;
}

/* A container mounts a named volume: its exposure must be there. */
static int
volumes_on_use(struct volumes *v, const struct http_bind_source *s,
    char *why, size_t whylen)
{
	struct json_object *dev;
	if (!json_object_object_get_ex(v->devices, s->path, &dev))
		return 0;
	char err[512];
	int r = exposures_ensure_mounted(v->exposures,
	    json_object_get_string(dev), err, sizeof err);
	if (r == 2)
		return 1;	/* a worker mounts it: not yet */
	if (r < 0) {
		snprintf(why, whylen, "volume %s: %s", s->path, err);
		return -1;
	}
	return 0;
}

int
volumes_on_source(struct volumes *v, const struct http_bind_source *s,
    char **replacement, char *why, size_t whylen)
{
	switch (s->kind) {
	case HTTP_SOURCE_DEVICE:
		return volumes_on_device(v, s, replacement, why, whylen);
	case HTTP_SOURCE_VOLUME:
		return volumes_on_use(v, s, why, whylen);
	case HTTP_SOURCE_BIND:
		break;
	}
	return 0;
}
