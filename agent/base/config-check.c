/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checking values: one set of rules for the file and for flags.  Each key's
 * value is checked by its type and, for some, by what it names (a path, a
 * group, a distro, an address, a list of paths); JSON values are strict
 * about types, nested objects are walked by the table, and an unknown name
 * is answered with the closest known one, or with what its object holds.
 * Every refusal names the key, the value (quoted safely) and the fix.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/address.h"
#include "base/config.h"
#include "base/config-int.h"
#include "base/defs.h"
#include "base/pathlist.h"
#include "base/text.h"

#define CONFIG_SUGGEST_DIST	2	/* "did you mean" up to this many edits */
#define GROUP_NAME_MAX		32
#define SOCKET_PATH_MAX		107	/* sun_path less its terminating NUL */

/* "a, b, c or d" */
static void
config_join(const struct config_token *t, size_t n, const char *conj,
    char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? conj : ", ";
		int w = snprintf(out + o, outlen - o, "%s%.*s", sep, (int)t[i].n,
		    t[i].p);
		if (w < 0 || (size_t)w >= outlen - o)
			return;
		o += (size_t)w;
	}
}

/* ------------------------------------------------------------------ */
/* Suggesting the closest key */

/* Optimal string alignment distance: a swap of neighbours is one edit. */
static size_t
config_distance(const char *a, size_t la, const char *b, size_t lb)
{
	enum { MAXLEN = 64 };
	size_t d[MAXLEN + 1][MAXLEN + 1];

	if (la > MAXLEN || lb > MAXLEN)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

static void
config_consider(const char *typed, const char *cand, size_t n,
    struct config_token *best, size_t *best_dist)
{
	size_t dist = config_distance(typed, strlen(typed), cand, n);

	if (dist < *best_dist) {
		*best_dist = dist;
		best->p = cand;
		best->n = n;
	}
}

/*
 * The known name closest to `typed', if a few edits away.  With flags, the
 * candidates are the flags; otherwise the dotted keys and the objects
 * ("socket") that hold them.
 */
bool
config_closest(const char *typed, bool flags, struct config_token *best)
{
	size_t best_dist = CONFIG_SUGGEST_DIST + 1;

	for (const struct config_key *k = config_keys; k->key != NULL; k++) {
		const char *cand = flags ? k->flag : k->key;
		config_consider(typed, cand, strlen(cand), best, &best_dist);
		for (const char *dot = strchr(cand, '.'); !flags && dot != NULL;
		    dot = strchr(dot + 1, '.'))
			config_consider(typed, cand, (size_t)(dot - cand), best,
			    &best_dist);
	}
	return best_dist <= CONFIG_SUGGEST_DIST;
}

static void
config_fail_unknown(const struct config_ctx *x, const char *full,
    const char *prefix)
{
	char shown[TEXT_SHOW_SIZE];
	struct config_token best;

	text_show(full, strlen(full), shown, sizeof shown);
	if (config_closest(full, false, &best)) {
		config_fail(x, shown, "unknown key; did you mean %.*s?",
		    (int)best.n, best.p);
		return;
	}
	struct config_token t[CONFIG_LIST_MAX];
	char list[CONFIG_ERR_LEN];
	size_t n = config_section_children(prefix, t, CONFIG_LIST_MAX);
	config_join(t, n, " and ", list, sizeof list);
	if (*prefix == '\0')
		config_fail(x, shown, "unknown key; the top level holds %s",
		    list);
	else
		config_fail(x, shown, "unknown key; %s holds %s", prefix, list);
}

/* ------------------------------------------------------------------ */
/* Checking values: one set of rules for the file and for flags */

static bool
config_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool
config_is_socket(const struct config_key *k)
{
	return k->offset == CFG(socket_path) || k->offset == CFG(control_socket);
}

/* On a bad value, write why (after the quoted value) to `why'. */
static int
config_check_path(const struct config_key *k, const char *s, char *why,
    size_t len)
{
	size_t max = config_is_socket(k) ? SOCKET_PATH_MAX : PATH_MAX - 1;

	if (s[0] != '/') {
		snprintf(why, len, "is not an absolute path; start it with /%s%s",
		    k->def != NULL ? ", as in " : "",
		    k->def != NULL ? k->def : "");
		return -1;
	}
	if (strlen(s) > max) {
		snprintf(why, len, "is longer than %zu bytes, the most %s; "
		    "choose a shorter path", max, config_is_socket(k) ?
		    "a unix socket path can hold" : "a path can hold");
		return -1;
	}
	return 0;
}

static int
config_check_group(const char *s, char *why, size_t len)
{
	size_t n = strlen(s);
	bool ok = n >= 1 && n <= GROUP_NAME_MAX &&
	    ((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_');

	for (size_t i = 1; ok && i < n; i++) {
		char c = s[i];
		ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-' || (c == '$' && i + 1 == n);
	}
	if (!ok) {
		snprintf(why, len, "is not a group name; use 1 to %d characters: "
		    "a lowercase letter or _, then lowercase letters, digits, _ "
		    "or - (a final $ is allowed)", GROUP_NAME_MAX);
		return -1;
	}
	return 0;
}

static int
config_check_distro(const char *s, char *why, size_t len)
{
	/* It names a directory below docker-desktop-bind-mounts. */
	if (*s == '\0' || strlen(s) > NAME_MAX_LEN) {
		snprintf(why, len, "is not a distro name; use 1 to %d characters, "
		    "or null for auto", NAME_MAX_LEN);
		return -1;
	}
	if (strchr(s, '/') != NULL || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0) {
		snprintf(why, len, "is not a distro name; it cannot contain / or "
		    "be . or ..");
		return -1;
	}
	return 0;
}

static int
config_check_address(const char *s, char *canon, size_t canonlen, char *why,
    size_t len)
{
	struct address a;
	char msg[CONFIG_ERR_LEN];

	if (address_parse(s, &a, msg, sizeof msg) < 0) {
		snprintf(why, len, "%s", msg);
		return -1;
	}
	address_format(&a, canon, canonlen);
	return 0;
}

int
config_apply_text(struct config *c, const struct config_key *k,
    const char *name, const char *s, size_t len, const struct config_ctx *x)
{
	char shown[TEXT_SHOW_SIZE];
	char why[CONFIG_ERR_LEN];
	char canon[sizeof ((struct address *)NULL)->path + 16];
	int rc = 0;

	text_show(s, len, shown, sizeof shown);
	if (strlen(s) != len || config_has_control(s)) {
		config_fail(x, name, "'%s' contains a control character; "
		    "remove it", shown);
		return -1;
	}
	switch (k->type) {
	case CFG_PATH:
		rc = config_check_path(k, s, why, sizeof why);
		break;
	case CFG_STRING:
		if (k->offset == CFG(socket_group))
			rc = config_check_group(s, why, sizeof why);
		else if (k->offset == CFG(distro))
			rc = config_check_distro(s, why, sizeof why);
		else if (k->offset == CFG(bind_shared_paths))
			rc = pathlist_check(s, why, sizeof why);
		else if (k->offset == CFG(bind_engine_drive_root))
			rc = pathlist_check_drive_root(s, why, sizeof why);
		break;
	case CFG_ADDRESS:
		if (config_check_address(s, canon, sizeof canon, why,
		    sizeof why) < 0) {
			/* address.c's message often quotes the value already. */
			if (strstr(why, s) != NULL)
				config_fail(x, name, "%s", why);
			else
				config_fail(x, name, "'%s': %s", shown, why);
			return -1;
		}
		s = canon;
		break;
	case CFG_ENUM: {
		int idx = config_enum_index(k, s);
		if (idx < 0) {
			struct config_token t[CONFIG_LIST_MAX];
			char list[CONFIG_ERR_LEN];
			size_t n = config_enum_tokens(k->allowed, t,
			    CONFIG_LIST_MAX);
			config_join(t, n, " or ", list, sizeof list);
			config_fail(x, name, "'%s' is not allowed; use %s", shown,
			    list);
			return -1;
		}
		if (!config_enum_is_text(k)) {
			*config_int_field(c, k) = idx;
			return 0;
		}
		break;
	}
	case CFG_INT:
		/* Callers turn numbers into numbers first. */
		config_fail(x, name, "'%s' is not a whole number", shown);
		return -1;
	}
	if (rc < 0) {
		config_fail(x, name, "'%s' %s", shown, why);
		return -1;
	}
	if (config_store_text(c, k, s) < 0) {
		config_fail(x, name, "out of memory");
		return -1;
	}
	return 0;
}

int
config_apply_int(struct config *c, const struct config_key *k,
    const char *name, long long v, const char *shown,
    const struct config_ctx *x)
{
	long long lo, hi;

	config_int_range(k, &lo, &hi);
	if (v < lo || v > hi) {
		config_fail(x, name, "%s is out of range; use a whole number "
		    "from %lld to %lld", shown, lo, hi);
		return -1;
	}
	*config_int_field(c, k) = (int)v;
	return 0;
}

int
config_parse_int(const char *s, long long *out)
{
	const char *p = *s == '-' ? s + 1 : s;

	if (*p == '\0')
		return -1;
	for (const char *q = p; *q != '\0'; q++)
		if (*q < '0' || *q > '9')
			return -1;
	errno = 0;
	*out = strtoll(s, NULL, 10);	/* ERANGE clamps: out of range */
	return 0;
}

/* What a key takes, for "write ..." in messages. */
static void
config_expect(const struct config_key *k, char *buf, size_t len)
{
	struct config_token t[CONFIG_LIST_MAX];
	char list[CONFIG_ERR_LEN];
	long long lo, hi;
	int w = 0;

	switch (k->type) {
	case CFG_PATH:
	case CFG_STRING:
		w = snprintf(buf, len, "%s in quotes%s%s%s",
		    k->type == CFG_PATH ? "an absolute path" : "a name",
		    k->def != NULL ? ", such as \"" : "",
		    k->def != NULL ? k->def : "", k->def != NULL ? "\"" : "");
		break;
	case CFG_ENUM: {
		size_t n = config_enum_tokens(k->allowed, t, CONFIG_LIST_MAX);
		config_join(t, n, " or ", list, sizeof list);
		w = snprintf(buf, len, "%s, in quotes", list);
		break;
	}
	case CFG_INT:
		config_int_range(k, &lo, &hi);
		w = snprintf(buf, len, "a whole number from %lld to %lld without "
		    "quotes, such as %s", lo, hi, k->def);
		break;
	case CFG_ADDRESS:
		w = snprintf(buf, len, "an address in quotes: \"none\", "
		    "\"unix:/PATH\" or \"vsock:CID:PORT\"");
		break;
	}
	if (config_is_auto(k) && w >= 0 && (size_t)w < len)
		snprintf(buf + w, len - (size_t)w, ", or null for auto");
}

const char *
config_json_kind(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:	return "null";
	case json_type_boolean:	return "a boolean";
	case json_type_double:	return "a number with a fraction or exponent";
	case json_type_int:	return "a number";
	case json_type_object:	return "an object";
	case json_type_array:	return "an array";
	case json_type_string:	return "a string";
	}
	return "of an unknown type";
}

static void
config_show_json(struct json_object *v, char *out, size_t outlen)
{
	const char *text = json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	if (text == NULL)
		text = "(value)";
	text_show(text, strlen(text), out, outlen);
}

/* One JSON value for one key: strict about types. */
static int
config_apply_json(struct config *c, const struct config_key *k,
    struct json_object *v, const struct config_ctx *x)
{
	char shown[TEXT_SHOW_SIZE];
	char expect[CONFIG_ERR_LEN];
	enum json_type want = k->type == CFG_INT ? json_type_int :
	    json_type_string;

	if (v == NULL && config_is_auto(k))
		return config_store_text(c, k, NULL);	/* frees, cannot fail */
	if (v != NULL && json_object_get_type(v) == want) {
		if (want == json_type_string)
			return config_apply_text(c, k, k->key,
			    json_object_get_string(v),
			    (size_t)json_object_get_string_len(v), x);
		config_show_json(v, shown, sizeof shown);
		return config_apply_int(c, k, k->key, json_object_get_int64(v),
		    shown, x);
	}
	config_expect(k, expect, sizeof expect);
	if (v == NULL) {
		config_fail(x, k->key, "null is not allowed; write %s, or leave "
		    "the key out for the default", expect);
		return -1;
	}
	config_show_json(v, shown, sizeof shown);
	config_fail(x, k->key, "%s is %s; write %s", shown, config_json_kind(v),
	    expect);
	return -1;
}

/* "socket.path" -> {"socket": {"path": ...}} */
static void
config_nested_form(const char *dotted, char *buf, size_t len)
{
	size_t o = 0, depth = 0;
	const char *p = dotted;
	int w;

	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		w = snprintf(buf + o, len - o, "{\"%.*s\": ", (int)n, p);
		if (w < 0 || (size_t)w >= len - o)
			return;
		o += (size_t)w;
		depth++;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	w = snprintf(buf + o, len - o, "...");
	for (size_t i = 0; i < depth && w >= 0 && (size_t)w < len - o; i++) {
		o += (size_t)w;
		w = snprintf(buf + o, len - o, "}");
	}
}

int
config_apply_object(struct config *c, struct json_object *obj,
    const char *prefix, const struct config_ctx *x)
{
	json_object_object_foreach(obj, name, val) {
		char full[CONFIG_NAME_MAX];
		int w = snprintf(full, sizeof full, "%s%s%s", prefix,
		    *prefix != '\0' ? "." : "", name);
		if (w < 0 || (size_t)w >= sizeof full) {
			config_fail_unknown(x, full, prefix);
			return -1;
		}
		if (strchr(name, '.') != NULL) {
			if (config_key_by_name(full) == NULL &&
			    !config_is_section(full)) {
				config_fail_unknown(x, full, prefix);
				return -1;
			}
			char nested[CONFIG_NAME_MAX * 2];
			config_nested_form(full, nested, sizeof nested);
			config_fail(x, full, "dotted names are not read; nest the "
			    "objects: %s", nested);
			return -1;
		}
		const struct config_key *k = config_key_by_name(full);
		if (k != NULL) {
			if (config_apply_json(c, k, val, x) < 0)
				return -1;
			continue;
		}
		if (!config_is_section(full)) {
			config_fail_unknown(x, full, prefix);
			return -1;
		}
		if (!json_object_is_type(val, json_type_object)) {
			struct config_token t[CONFIG_LIST_MAX];
			char list[CONFIG_ERR_LEN], shown[TEXT_SHOW_SIZE];
			size_t n = config_section_children(full, t,
			    CONFIG_LIST_MAX);
			config_join(t, n, " or ", list, sizeof list);
			config_show_json(val, shown, sizeof shown);
			config_fail(x, full, "%s%s%s; write an object holding %s",
			    shown, val == NULL ? " is not allowed" : " is ",
			    val == NULL ? "" : config_json_kind(val), list);
			return -1;
		}
		if (config_apply_object(c, val, full, x) < 0)
			return -1;
	}
	return 0;
}
