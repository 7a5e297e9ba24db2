/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The docker client's configuration, read the way the docker CLI reads
 * it, for doctor: config.json (currentContext, credsStore, credHelpers)
 * and a context's meta.json (its docker endpoint).  Pure: text in, facts
 * or a message naming the line and column out; no I/O, so the unit tests
 * and a fuzzer drive every function.
 *
 * The CLI decodes these files with Go's encoding/json, and doctor follows
 * it where a user would notice the difference: member names match in any
 * case (the last match wins), null is as if the member were absent, blank
 * text is an empty configuration, and whatever follows the first value is
 * not read.  What Go refuses (a syntax error, a string member holding a
 * number) docker refuses too, and here it is a finding, never a crash.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "base/json.h"
#include "base/sha256.h"
#include "base/text.h"
#include "sys/trust.h"
#include "main/doctor.h"

#define UNIX_SCHEME	"unix://"
#define HELPER_PREFIX	"docker-credential-"

/* Line and column (from 1) of byte off of buf. */
static void
docker_position(const char *buf, size_t off, unsigned *line, unsigned *col)
{
	size_t bol = 0;

	*line = 1;
	for (size_t i = 0; i < off; i++)
		if (buf[i] == '\n') {
			(*line)++;
			bol = i + 1;
		}
	*col = (unsigned)(off - bol) + 1;
}

static void docker_fail(char *err, size_t errlen, const char *origin,
    const char *buf, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
docker_fail(char *err, size_t errlen, const char *origin, const char *buf,
    size_t off, const char *fmt, ...)
{
	unsigned line, col;
	va_list ap;

	docker_position(buf, off, &line, &col);
	int n = snprintf(err, errlen, "%s:%u:%u: ", origin, line, col);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static bool
docker_blank(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (strchr(" \t\r\n", buf[i]) == NULL)
			return false;
	return true;
}

/*
 * Where a control character stands raw inside a string (Go refuses it,
 * json-c takes it), or len when none does.
 */
static size_t
docker_raw_control(const char *buf, size_t len)
{
	bool in = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (in && c == '\\')
			i++;
		else if (c == '"')
			in = !in;
		else if (in && c < 0x20)
			return i;
	}
	return len;
}

/*
 * One JSON value of buf[0..len) with tok: json-c takes a literal or a
 * number at the very end for unfinished, so the text is read again with a
 * space after it when it is.
 */
static struct json_object *
docker_parse_value(struct json_tokener *tok, const char *buf, size_t len)
{
	struct json_object *o = json_parse(tok, buf, len);
	if (o != NULL || json_tokener_get_error(tok) != json_tokener_continue)
		return o;
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, buf, len);
	copy[len] = ' ';
	json_tokener_reset(tok);
	o = json_parse(tok, copy, len + 1);
	free(copy);
	return o;
}

/*
 * The one JSON object the text holds, or NULL with err.  *empty: the
 * text is blank or null (no object; not an error).  first_only: text
 * after the first value is not read (docker's config.json decoder);
 * otherwise it is an error (json.Unmarshal, as for contexts).
 */
static struct json_object *
docker_parse_object(const char *buf, size_t len, const char *origin,
    bool first_only, bool *empty, char *err, size_t errlen)
{
	*empty = docker_blank(buf, len);
	if (*empty)
		return NULL;
	size_t raw = docker_raw_control(buf, len);
	if (raw < len) {
		docker_fail(err, errlen, origin, buf, raw, "not valid JSON: a "
		    "control character (0x%02x) inside a string",
		    (unsigned char)buf[raw]);
		return NULL;
	}
	struct json_tokener *tok = json_tokener_new_ex(DOCKER_JSON_DEPTH);
	if (tok == NULL) {
		snprintf(err, errlen, "%s: out of memory", origin);
		return NULL;
	}
	struct json_object *o = docker_parse_value(tok, buf, len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t off = json_tokener_get_parse_end(tok);
	if (off > len)
		off = len;
	if (o == NULL && first_only && off > 0 &&
	    jerr != json_tokener_continue && jerr != json_tokener_error_depth) {
		/* The first value may have ended before what was refused. */
		json_tokener_reset(tok);
		o = docker_parse_value(tok, buf, off);
	}
	json_tokener_free(tok);
	if (o == NULL && jerr == json_tokener_success) {
		*empty = true;		/* null: Go leaves the struct as it is */
		return NULL;
	}
	if (o == NULL) {
		if (jerr == json_tokener_continue)
			docker_fail(err, errlen, origin, buf, len, "the file ends "
			    "inside the JSON object (a missing } or \")");
		else if (jerr == json_tokener_error_depth)
			docker_fail(err, errlen, origin, buf, off, "objects nest "
			    "deeper than %d levels", DOCKER_JSON_DEPTH);
		else
			docker_fail(err, errlen, origin, buf, off, "not valid "
			    "JSON: %s", json_tokener_error_desc(jerr));
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		docker_fail(err, errlen, origin, buf, 0, "the file holds %s, not "
		    "a JSON object", json_type_to_name(json_object_get_type(o)));
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The member whose name is key in any case (the last such), or NULL. */
static struct json_object *
docker_member(struct json_object *o, const char *key, bool *present)
{
	struct json_object *found = NULL;

	*present = false;
	json_object_object_foreach(o, name, v) {
		if (strcasecmp(name, key) == 0) {
			found = v;
			*present = true;
		}
	}
	return found;
}

/*
 * A string member: 0 with *out (malloc'd, NULL when absent or null), -1
 * with err when it is another type (which docker refuses too).
 */
static int
docker_string_member(struct json_object *o, const char *key, char **out,
    const char *origin, char *err, size_t errlen)
{
	bool present;
	struct json_object *v = docker_member(o, key, &present);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "%s: \"%s\" is %s; it must be a string",
		    origin, key, json_type_to_name(json_object_get_type(v)));
		return -1;
	}
	if ((*out = strdup(json_object_get_string(v))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", origin);
		return -1;
	}
	return 0;
}

static int
docker_config_helpers(struct json_object *o, struct docker_config *out,
    const char *origin, char *err, size_t errlen)
{
	bool present;
	struct json_object *h = docker_member(o, "credHelpers", &present);

	if (h == NULL)
		return 0;
	if (!json_object_is_type(h, json_type_object)) {
		snprintf(err, errlen, "%s: \"credHelpers\" is %s; it must be an "
		    "object of registry: helper", origin,
		    json_type_to_name(json_object_get_type(h)));
		return -1;
	}
	size_t n = (size_t)json_object_object_length(h);
	if (n > DOCKER_HELPERS_MAX) {
		out->helpers_left_out = n - DOCKER_HELPERS_MAX;
		n = DOCKER_HELPERS_MAX;
	}
	if (n > 0 && (out->helpers = calloc(n, sizeof *out->helpers)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", origin);
		return -1;
	}
	json_object_object_foreach(h, registry, v) {
		if (v != NULL && !json_object_is_type(v, json_type_string)) {
			char name[TEXT_ESCAPE_SIZE(64)];
			text_escape(registry, name, sizeof name);
			snprintf(err, errlen, "%s: \"credHelpers\" entry \"%s\" is "
			    "%s; it must be a string, the helper's name", origin,
			    name, json_type_to_name(json_object_get_type(v)));
			return -1;
		}
		if (out->nhelpers == n)
			continue;
		struct docker_cred_helper *e = &out->helpers[out->nhelpers];
		e->registry = strdup(registry);
		e->helper = strdup(v != NULL ? json_object_get_string(v) : "");
		if (e->registry == NULL || e->helper == NULL) {
			free(e->registry);
			free(e->helper);
			snprintf(err, errlen, "%s: out of memory", origin);
			return -1;
		}
		out->nhelpers++;
	}
	return 0;
}

int
docker_config_parse(const char *buf, size_t len, const char *origin,
    struct docker_config *out, char *err, size_t errlen)
{
	bool empty;

	memset(out, 0, sizeof *out);
	struct json_object *o = docker_parse_object(buf, len, origin, true,
	    &empty, err, errlen);
	if (o == NULL)
		return empty ? 0 : -1;
	int rc = -1;
	if (docker_string_member(o, "currentContext", &out->current_context,
	    origin, err, errlen) == 0 &&
	    docker_string_member(o, "credsStore", &out->creds_store, origin,
	    err, errlen) == 0 &&
	    docker_config_helpers(o, out, origin, err, errlen) == 0)
		rc = 0;
	json_object_put(o);
	if (rc < 0)
		docker_config_free(out);
	return rc;
}

void
docker_config_free(struct docker_config *c)
{
	free(c->current_context);
	free(c->creds_store);
	for (size_t i = 0; i < c->nhelpers; i++) {
		free(c->helpers[i].registry);
		free(c->helpers[i].helper);
	}
	free(c->helpers);
	memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------ */
/* Contexts */

int
docker_context_parse(const char *buf, size_t len, const char *origin,
    struct docker_context *out, char *err, size_t errlen)
{
	bool empty, present;

	memset(out, 0, sizeof *out);
	struct json_object *o = docker_parse_object(buf, len, origin, false,
	    &empty, err, errlen);
	if (o == NULL) {
		if (empty)
			snprintf(err, errlen, "%s: the file holds no JSON object",
			    origin);
		return -1;
	}
	int rc = docker_string_member(o, "Name", &out->name, origin, err,
	    errlen);
	/* Endpoints is a map: its keys ("docker") match exactly. */
	struct json_object *eps = rc == 0 ? docker_member(o, "Endpoints",
	    &present) : NULL, *docker = NULL;
	if (eps != NULL && !json_object_is_type(eps, json_type_object)) {
		snprintf(err, errlen, "%s: \"Endpoints\" is %s; it must be an "
		    "object", origin, json_type_to_name(json_object_get_type(eps)));
		rc = -1;
	} else if (eps != NULL && json_object_object_get_ex(eps, "docker",
	    &docker) && docker != NULL) {
		if (!json_object_is_type(docker, json_type_object)) {
			snprintf(err, errlen, "%s: \"Endpoints.docker\" is %s; it "
			    "must be an object", origin,
			    json_type_to_name(json_object_get_type(docker)));
			rc = -1;
		} else {
			rc = docker_string_member(docker, "Host", &out->host,
			    origin, err, errlen);
			/* An endpoint without a host is the default one. */
			if (rc == 0 && out->host == NULL &&
			    (out->host = strdup("")) == NULL) {
				snprintf(err, errlen, "%s: out of memory", origin);
				rc = -1;
			}
		}
	}
	json_object_put(o);
	if (rc < 0)
		docker_context_free(out);
	return rc;
}

void
docker_context_free(struct docker_context *c)
{
	free(c->name);
	free(c->host);
	memset(c, 0, sizeof *c);
}

char *
docker_context_meta_path(const char *config_dir, const char *name)
{
	char hex[SHA256_HEX_SIZE];
	sha256_hex(name, hex);	/* (a string's sha256, as docker's) */
	size_t len = strlen(config_dir) + sizeof "/contexts/meta//meta.json" +
	    sizeof hex;
	char *path = malloc(len);
	if (path != NULL)
		snprintf(path, len, "%s/contexts/meta/%s/meta.json", config_dir,
		    hex);
	return path;
}

const char *
docker_host_unix_path(const char *host)
{
	size_t n = strlen(UNIX_SCHEME);
	if (host == NULL || strncmp(host, UNIX_SCHEME, n) != 0 ||
	    host[n] != '/')
		return NULL;
	return host + n;
}

bool
docker_helper_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len + strlen(HELPER_PREFIX) > NAME_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return false;
	return true;
}
