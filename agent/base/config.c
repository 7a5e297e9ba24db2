/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration: loading it from a file or a string, setting one key
 * from a flag, and showing it back as JSON.  The table of keys is
 * config-keys.c's, the checks of values config-check.c's.
 *
 * Loading is all or nothing: a file is applied to a copy, and the copy
 * replaces the caller's struct only when every key was accepted, so a bad
 * SIGHUP reload keeps the running configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/config.h"
#include "base/config-int.h"
#include "base/defs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/text.h"

/* "origin:LINE:COL: [name: ]message", for byte off of buf. */
#define config_fail_at(x, buf, off, name, ...) \
	json_error_at((x)->err, (x)->errlen, (x)->origin, (buf), (off), \
	    (name), __VA_ARGS__)

void
config_fail(const struct config_ctx *x, const char *name, const char *fmt, ...)
{
	char msg[CONFIG_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (x->origin != NULL && name != NULL)
		snprintf(x->err, x->errlen, "%s: %s: %s", x->origin, name, msg);
	else if (x->origin != NULL || name != NULL)
		snprintf(x->err, x->errlen, "%s: %s",
		    x->origin != NULL ? x->origin : name, msg);
	else
		snprintf(x->err, x->errlen, "%s", msg);
}

/* ------------------------------------------------------------------ */
/* Storing values */

int
config_store_text(struct config *c, const struct config_key *k,
    const char *text)
{
	char *dup = NULL;

	if (text != NULL && (dup = strdup(text)) == NULL)
		return -1;
	char **field = config_text_field(c, k);
	free(*field);
	*field = dup;
	return 0;
}

static int
config_store_default(struct config *c, const struct config_key *k)
{
	if (config_is_text(k))
		return config_store_text(c, k, k->def);
	if (k->type == CFG_INT)
		*config_int_field(c, k) = (int)strtol(k->def, NULL, 10);
	else
		*config_int_field(c, k) = config_enum_index(k, k->def);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading JSON text: one clean object, or where and why it is not */

static bool
config_blank(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (strchr(" \t\r\n", buf[i]) == NULL || buf[i] == '\0')
			return false;
	return true;
}

/* Did a complete JSON value end before `off'?  Then `off' is garbage. */
static bool
config_complete_before(const char *buf, size_t off)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);

	if (tok == NULL)
		return false;
	struct json_object *obj = json_parse(tok, buf, off);
	bool complete = obj != NULL;
	json_object_put(obj);
	json_tokener_free(tok);
	return complete;
}

static void
config_fail_syntax(const struct config_ctx *x, const char *buf, size_t len,
    struct json_tokener *tok)
{
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t off = json_tokener_get_parse_end(tok);
	char near[TEXT_SHOW_SIZE];

	if (off > len)
		off = len;
	if (jerr == json_tokener_continue) {
		config_fail_at(x, buf, len, NULL, "the file ends inside the JSON "
		    "object; look for a missing } or \"");
		return;
	}
	if (jerr == json_tokener_error_depth) {
		config_fail_at(x, buf, off, NULL, "objects and arrays nest deeper "
		    "than %d levels; the configuration needs 2", JSON_MAX_DEPTH);
		return;
	}
	text_show(buf + off, len - off < 20 ? len - off : 20, near,
	    sizeof near);
	if (config_complete_before(buf, off)) {
		config_fail_at(x, buf, off, NULL, "unexpected text after the "
		    "JSON object, at '%s'; remove it (a file holds one object)",
		    near);
		return;
	}
	config_fail_at(x, buf, off, NULL, "invalid JSON (%s) at byte %zu, at "
	    "'%s'; fix the syntax there", json_tokener_error_desc(jerr), off,
	    near);
}

/* Parse text into a JSON object, refusing anything but one clean object. */
static struct json_object *
config_parse(const char *buf, size_t len, const struct config_ctx *x)
{
	if (len > CONFIG_MAX_BYTES) {
		config_fail(x, NULL, "%zu bytes is more than the limit of %d; a "
		    "configuration is a few lines", len, CONFIG_MAX_BYTES);
		return NULL;
	}
	if (config_blank(buf, len)) {
		config_fail(x, NULL, "the file is empty; write {} for the "
		    "defaults");
		return NULL;
	}
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (tok == NULL) {
		config_fail(x, NULL, "out of memory");
		return NULL;
	}
	struct json_object *obj = json_parse(tok, buf, len);
	if (obj == NULL) {
		config_fail_syntax(x, buf, len, tok);
		goto fail;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		config_fail(x, NULL, "the top level is %s; write a JSON object, "
		    "as in {\"socket\": {\"path\": \"/run/docker.sock\"}}",
		    config_json_kind(obj));
		goto fail;
	}
	if (json_check_duplicate_keys(buf, len, x->origin, x->err,
	    x->errlen) < 0)
		goto fail;
	json_tokener_free(tok);
	return obj;
fail:
	json_object_put(obj);
	json_tokener_free(tok);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Life cycle */

static void
config_fatal_oom(void)
{
	/*
	 * config_init() cannot fail by contract (nor can sys/wsl.c's
	 * wsl_resolve_config()), and both run at start: without memory for
	 * a few short strings the agent cannot run at all.
	 */
	fatal(EXIT_OSERR, "out of memory while setting up the configuration");
}

void
config_init(struct config *c)
{
	memset(c, 0, sizeof *c);
	for (const struct config_key *k = config_keys; k->key != NULL; k++)
		if (config_store_default(c, k) < 0)
			config_fatal_oom();
}

void
config_free(struct config *c)
{
	free(c->config_file);
	c->config_file = NULL;
	for (const struct config_key *k = config_keys; k->key != NULL; k++) {
		if (!config_is_text(k))
			continue;
		char **field = config_text_field(c, k);
		free(*field);
		*field = NULL;
	}
}

/* A deep copy, so a load can fail without touching the original. */
static int
config_copy(struct config *dst, const struct config *src)
{
	*dst = *src;
	dst->config_file = NULL;
	for (const struct config_key *k = config_keys; k->key != NULL; k++)
		if (config_is_text(k))
			*config_text_field(dst, k) = NULL;
	if (src->config_file != NULL &&
	    (dst->config_file = strdup(src->config_file)) == NULL)
		goto fail;
	for (const struct config_key *k = config_keys; k->key != NULL; k++)
		if (config_is_text(k) &&
		    config_store_text(dst, k, config_text_value(src, k)) < 0)
			goto fail;
	return 0;
fail:
	config_free(dst);
	return -1;
}

/*
 * Apply the keys of a JSON text on top of `c'; all or nothing.  `file',
 * if not NULL, is recorded as where the configuration came from.
 */
static int
config_load_buffer(struct config *c, const char *buf, size_t len,
    const char *origin, const char *file, char *err, size_t errlen)
{
	struct config_ctx x = { origin, err, errlen };
	struct config tmp;

	struct json_object *obj = config_parse(buf, len, &x);
	if (obj == NULL)
		return -1;
	if (config_copy(&tmp, c) < 0) {
		config_fail(&x, NULL, "out of memory");
		json_object_put(obj);
		return -1;
	}
	int rc = config_apply_object(&tmp, obj, "", &x);
	json_object_put(obj);
	if (rc == 0 && file != NULL) {
		free(tmp.config_file);
		if ((tmp.config_file = strdup(file)) == NULL) {
			config_fail(&x, NULL, "out of memory");
			rc = -1;
		}
	}
	if (rc < 0) {
		config_free(&tmp);
		return -1;
	}
	config_free(c);
	*c = tmp;
	return 0;
}

int
config_load_string(struct config *c, const char *json, const char *origin,
    char *err, size_t errlen)
{
	if (err == NULL)
		errlen = 0;
	return config_load_buffer(c, json, strlen(json),
	    origin != NULL ? origin : "(string)", origin, err, errlen);
}

/* Read at most CONFIG_MAX_BYTES + 1 bytes: one more says "too large". */
static int
config_read_fd(int fd, char *buf, size_t cap, size_t *len)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	return 0;
}

int
config_load_file(struct config *c, const char *path, bool must_exist,
    char *err, size_t errlen)
{
	struct config_ctx x = { path, err, err != NULL ? errlen : 0 };
	struct stat st;
	size_t len;

	/* O_NONBLOCK: a FIFO put there must not hang start-up. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		config_fail(&x, NULL, "cannot open: %s; %s", strerror(errno),
		    errno == ENOENT ? "create it (write {} for the defaults) "
		    "or name another file" : "check the path and permissions");
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		config_fail(&x, NULL, "cannot stat: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		config_fail(&x, NULL, "is not a regular file; name a JSON file");
		close(fd);
		return -1;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		config_fail(&x, NULL, "%lld bytes is more than the limit of %d; "
		    "a configuration is a few lines", (long long)st.st_size,
		    CONFIG_MAX_BYTES);
		close(fd);
		return -1;
	}
	char *buf = malloc(CONFIG_MAX_BYTES + 2);
	if (buf == NULL) {
		config_fail(&x, NULL, "out of memory");
		close(fd);
		return -1;
	}
	int rc = config_read_fd(fd, buf, CONFIG_MAX_BYTES + 1, &len);
	int saved = errno;
	close(fd);
	if (rc < 0)
		config_fail(&x, NULL, "cannot read: %s", strerror(saved));
	else if (memchr(buf, '\0', len) != NULL) {
		config_fail_at(&x, buf, (size_t)((char *)memchr(buf, '\0', len) -
		    buf), NULL, "contains a NUL byte; the file must be JSON "
		    "text");
		rc = -1;
	} else
		rc = config_load_buffer(c, buf, len, path, path, x.err,
		    x.errlen);
	free(buf);
	return rc;
}

int
config_set(struct config *c, const char *key, const char *value, char *err,
    size_t errlen)
{
	struct config_ctx x = { NULL, err, err != NULL ? errlen : 0 };
	const struct config_key *k = config_key_by_name(key);
	char label[CONFIG_NAME_MAX];

	if (k != NULL)
		snprintf(label, sizeof label, "%s", k->key);
	else if ((k = config_key_by_flag(key)) != NULL)
		snprintf(label, sizeof label, "--%s", k->flag);
	else {
		struct config_token best;
		char shown[TEXT_SHOW_SIZE];
		const char *bare = key != NULL ? key : "";
		if (strncmp(bare, "--", 2) == 0)
			bare += 2;
		text_show(bare, strlen(bare), shown, sizeof shown);
		if (config_closest(bare, true, &best))
			config_fail(&x, NULL, "--%s is not an option; did you "
			    "mean --%.*s?", shown, (int)best.n, best.p);
		else
			config_fail(&x, NULL, "--%s is not an option; --help "
			    "lists them", shown);
		return -1;
	}
	if (value == NULL) {
		if (config_store_default(c, k) == 0)
			return 0;
		config_fail(&x, label, "out of memory");
		return -1;
	}
	if (config_is_auto(k) && strcmp(value, "auto") == 0)
		return config_store_text(c, k, NULL);	/* frees, cannot fail */
	if (k->type != CFG_INT)
		return config_apply_text(c, k, label, value, strlen(value), &x);

	char shown[TEXT_SHOW_SIZE];
	long long v;
	text_show(value, strlen(value), shown, sizeof shown);
	if (config_parse_int(value, &v) < 0) {
		long long lo, hi;
		config_int_range(k, &lo, &hi);
		config_fail(&x, label, "'%s' is not a whole number; use one from "
		    "%lld to %lld, such as %s", shown, lo, hi, k->def);
		return -1;
	}
	return config_apply_int(c, k, label, v, shown, &x);
}

/* ------------------------------------------------------------------ */
/* Showing it */

static struct json_object *
config_value_json(const struct config *c, const struct config_key *k,
    bool *failed)
{
	struct json_object *v = NULL;

	if (config_is_text(k)) {
		const char *s = config_text_value(c, k);
		if (s != NULL)
			v = json_object_new_string(s);
		*failed = s != NULL && v == NULL;
		return v;
	}
	if (k->type == CFG_INT)
		v = json_object_new_int(config_int_value(c, k));
	else {
		struct config_token t[CONFIG_LIST_MAX];
		size_t n = config_enum_tokens(k->allowed, t, CONFIG_LIST_MAX);
		int idx = config_int_value(c, k);
		if (idx >= 0 && (size_t)idx < n)
			v = json_object_new_string_len(t[idx].p, (int)t[idx].n);
		else
			v = json_object_new_int(idx);
	}
	*failed = v == NULL;
	return v;
}

/* Add `v' at a dotted name, making the objects on the way. */
static int
config_json_put(struct json_object *root, const char *dotted,
    struct json_object *v)
{
	struct json_object *parent = root;
	const char *p = dotted;
	const char *dot;
	char part[CONFIG_NAME_MAX];

	while ((dot = strchr(p, '.')) != NULL) {
		snprintf(part, sizeof part, "%.*s", (int)(dot - p), p);
		struct json_object *child;
		if (!json_object_object_get_ex(parent, part, &child)) {
			if ((child = json_object_new_object()) == NULL ||
			    json_object_object_add(parent, part, child) < 0) {
				json_object_put(child);
				json_object_put(v);
				return -1;
			}
		}
		parent = child;
		p = dot + 1;
	}
	if (json_object_object_add(parent, p, v) < 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

struct json_object *
config_to_json(const struct config *c)
{
	struct json_object *root = json_object_new_object();

	if (root == NULL)
		return NULL;
	for (const struct config_key *k = config_keys; k->key != NULL; k++) {
		bool failed;
		struct json_object *v = config_value_json(c, k, &failed);
		if (failed || config_json_put(root, k->key, v) < 0) {
			json_object_put(root);
			return NULL;
		}
	}
	return root;
}
