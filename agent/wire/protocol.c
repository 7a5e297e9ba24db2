/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host channel's protocol, wsl-docker-agent-protocol(7): framing,
 * parsing, requests, replies and the status a report carries (what
 * protocol-check.c checks every message the agent sends against).  Pure:
 * no I/O, no clocks, no globals, so a unit test or a fuzzer can drive the
 * reader a byte at a time.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/config.h"
#include "base/json.h"
#include "base/status.h"
#include "base/text.h"
#include "wire/protocol.h"

#define PROTO_BUF_KEEP	4096	/* a reader keeps no more between lines */

const char *
proto_error_name(enum proto_error e)
{
	switch (e) {
	case PROTO_OK:				return "ok";
	case PROTO_ERR_BAD_JSON:		return "bad-json";
	case PROTO_ERR_TOO_LARGE:		return "too-large";
	case PROTO_ERR_UNKNOWN_REQUEST:		return "unknown-request";
	case PROTO_ERR_BAD_ARGUMENTS:		return "bad-arguments";
	case PROTO_ERR_FORBIDDEN:		return "forbidden";
	case PROTO_ERR_UNSUPPORTED_VERSION:	return "unsupported-version";
	case PROTO_ERR_FAILED:			return "failed";
	}
	return "failed";
}

static enum proto_step proto_fail(struct proto_item *, enum proto_error,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum proto_step
proto_fail(struct proto_item *item, enum proto_error e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(item->message, sizeof item->message, fmt, ap);
	va_end(ap);
	item->error = e;
	return PROTO_STEP_ERROR;
}

/* ------------------------------------------------------------------ */
/* Each byte that starts no valid sequence becomes U+FFFD; malloc'd. */
static char *
proto_utf8_repair(const char *s, size_t len, size_t *outlen)
{
	char *out = malloc(len * 3 + 1);
	size_t o = 0, i = 0, bad;

	if (out == NULL)
		return NULL;
	while (i < len) {
		if (text_utf8_valid(s + i, len - i, &bad))
			bad = len - i;
		memcpy(out + o, s + i, bad);
		o += bad;
		i += bad;
		if (i < len) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/*
 * Raw control characters: tab and CR only as white space between tokens
 * (json-c would take them inside strings too).  Quotes are tracked just
 * enough to tell inside from outside.
 */
static enum proto_step
proto_check_text(const char *line, size_t len, struct proto_item *item)
{
	bool in_string = false, escaped = false;
	size_t bad;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 && (in_string || (c != '\t' && c != '\r')))
			return proto_fail(item, PROTO_ERR_BAD_JSON, "control "
			    "character 0x%02x at byte %zu; JSON escapes control "
			    "characters in strings (\\n, \\u0000)", c, i + 1);
		if (escaped)
			escaped = false;
		else if (in_string && c == '\\')
			escaped = true;
		else if (c == '"')
			in_string = !in_string;
	}
	if (!text_utf8_valid(line, len, &bad))
		return proto_fail(item, PROTO_ERR_BAD_JSON, "invalid UTF-8 at "
		    "byte %zu; send text in UTF-8 (RFC 3629)", bad + 1);
	return PROTO_STEP_MORE;
}

/* ------------------------------------------------------------------ */
/* One line: JSON, an object, unique names, numbers in range */

static bool
proto_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* I-JSON numbers: integers exact in a double, others finite. */
static bool
proto_numbers_ok(struct json_object *v, const char *key, const char **where)
{
	switch (json_object_get_type(v)) {
	case json_type_int: {
		int64_t n = json_object_get_int64(v);
		*where = key;
		return n >= -PROTO_INT_MAX && n <= PROTO_INT_MAX;
	}
	case json_type_double:
		*where = key;
		return isfinite(json_object_get_double(v));
	case json_type_object: {
		json_object_object_foreach(v, name, member)
			if (!proto_numbers_ok(member, name, where))
				return false;
		return true;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (!proto_numbers_ok(json_object_array_get_idx(v, i),
			    key, where))
				return false;
		return true;
	default:
		return true;
	}
}

const char *
proto_json_kind(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:	return "null";
	case json_type_boolean:	return "a boolean";
	case json_type_double:
	case json_type_int:	return "a number";
	case json_type_object:	return "an object";
	case json_type_array:	return "an array";
	case json_type_string:	return "a string";
	}
	return "unknown";
}

static enum proto_step
proto_parse_json(const char *line, size_t len, struct proto_item *item)
{
	/* json-c's depth counts the levels it refuses: one more. */
	struct json_tokener *tok = json_tokener_new_ex(PROTO_DEPTH_MAX + 1);
	char why[CONFIG_ERR_LEN];
	const char *where = NULL;

	if (tok == NULL)
		return proto_fail(item, PROTO_ERR_FAILED, "out of memory");
	struct json_object *o = json_parse(tok, line, len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (o == NULL && jerr == json_tokener_continue) {
		/* A bare number could go on; the line says it does not. */
		o = json_tokener_parse_ex(tok, "", 1);
		if (o != NULL)
			end = len;
	}
	json_tokener_free(tok);

	if (o == NULL && jerr == json_tokener_error_depth)
		return proto_fail(item, PROTO_ERR_TOO_LARGE, "objects and arrays "
		    "nest deeper than %d levels", PROTO_DEPTH_MAX);
	if (o == NULL && jerr == json_tokener_continue)
		return proto_fail(item, PROTO_ERR_BAD_JSON, "the line ends "
		    "inside a JSON value; send one whole object per line");
	if (o == NULL)
		return proto_fail(item, PROTO_ERR_BAD_JSON, "invalid JSON at "
		    "byte %zu (%s); send one JSON object per line", end + 1,
		    json_tokener_error_desc(jerr));
	enum proto_step st = PROTO_STEP_MESSAGE;
	if (!json_object_is_type(o, json_type_object))
		st = proto_fail(item, PROTO_ERR_BAD_JSON, "the line holds %s; "
		    "a message is a JSON object", proto_json_kind(o));
	else if (end != len)
		st = proto_fail(item, PROTO_ERR_BAD_JSON, "text after the JSON "
		    "object at byte %zu; one object per line", end + 1);
	else if (json_check_duplicate_keys(line, len, "line", why,
	    sizeof why) < 0)
		st = proto_fail(item, PROTO_ERR_BAD_JSON, "%s", why);
	else if (!proto_numbers_ok(o, "(top)", &where))
		st = proto_fail(item, PROTO_ERR_BAD_JSON, "the number in \"%s\" "
		    "is out of range: integers lie within +-%lld and others "
		    "are finite (I-JSON)", where, PROTO_INT_MAX);
	if (st == PROTO_STEP_MESSAGE)
		item->msg = o;
	else
		json_object_put(o);
	return st;
}

enum proto_step
proto_parse_line(const char *line, size_t len, struct proto_item *item)
{
	item->msg = NULL;
	item->error = PROTO_OK;
	item->message[0] = '\0';
	if (proto_check_text(line, len, item) == PROTO_STEP_ERROR)
		return PROTO_STEP_ERROR;
	if (proto_blank(line, len))
		return PROTO_STEP_MORE;
	return proto_parse_json(line, len, item);
}

/* ------------------------------------------------------------------ */
/* The incremental reader */

void
proto_reader_init(struct proto_reader *r, size_t max)
{
	memset(r, 0, sizeof *r);
	r->max = max;
}

void
proto_reader_reset(struct proto_reader *r)
{
	r->len = 0;
	r->discarding = false;
	if (r->cap > PROTO_BUF_KEEP) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
}

void
proto_reader_free(struct proto_reader *r)
{
	free(r->buf);
	proto_reader_init(r, r->max);
}

static bool
proto_reader_append(struct proto_reader *r, const char *p, size_t n)
{
	if (r->len + n > r->cap) {
		size_t cap = r->cap > 0 ? r->cap : 256;
		while (cap < r->len + n)
			cap *= 2;
		if (cap > r->max)
			cap = r->max;
		char *grown = realloc(r->buf, cap);
		if (grown == NULL)
			return false;
		r->buf = grown;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	return true;
}

enum proto_step
proto_reader_feed(struct proto_reader *r, const char *data, size_t len,
    size_t *used, struct proto_item *item)
{
	size_t i = 0;

	item->msg = NULL;
	item->error = PROTO_OK;
	item->message[0] = '\0';
	item->line = NULL;
	item->line_len = 0;
	if (r->len == 0 && !r->discarding)
		proto_reader_reset(r);	/* the last line was handed out */
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (data + i)) : len - i;
		size_t next = i + n + (nl != NULL);
		if (r->discarding) {
			r->discarding = nl == NULL;
			i = next;
			continue;
		}
		if (r->len + n > r->max) {
			/* Answer at once; the rest of the line is never stored. */
			proto_reader_reset(r);
			r->discarding = nl == NULL;
			*used = next;
			return proto_fail(item, PROTO_ERR_TOO_LARGE, "a line is "
			    "limited to %zu bytes; this one is longer and is "
			    "dropped up to its end", r->max);
		}
		enum proto_step st;
		if (nl != NULL && r->len == 0) {
			/* The common case, a whole line at hand: no copy. */
			st = proto_parse_line(data + i, n, item);
			item->line = data + i;
			item->line_len = n;
		} else if (!proto_reader_append(r, data + i, n)) {
			proto_reader_reset(r);
			r->discarding = nl == NULL;
			*used = next;
			return proto_fail(item, PROTO_ERR_FAILED, "out of memory "
			    "for a %zu-byte line; it is dropped", r->len + n);
		} else if (nl == NULL) {
			i = next;
			break;
		} else {
			/* Kept until the next call, for item->line. */
			st = proto_parse_line(r->buf, r->len, item);
			item->line = r->buf;
			item->line_len = r->len;
			r->len = 0;
		}
		i = next;
		if (st != PROTO_STEP_MORE) {
			*used = i;
			return st;
		}
	}
	*used = i;
	return PROTO_STEP_MORE;
}

char *
proto_encode(struct json_object *msg, size_t *len)
{
	size_t n;
	const char *text = json_object_to_json_string_length(msg,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	char *line;

	if (text == NULL)
		return NULL;
	/* File names need not be UTF-8; the host's parser insists. */
	if (text_utf8_valid(text, n, NULL)) {
		if ((line = malloc(n + 2)) == NULL)
			return NULL;
		memcpy(line, text, n);
	} else if ((line = proto_utf8_repair(text, n, &n)) == NULL)
		return NULL;
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}

/* ------------------------------------------------------------------ */
/* Requests and replies */

static const char *const proto_request_names[] = {
	[PROTO_REQ_PING] = "ping",
	[PROTO_REQ_STATUS] = "status",
	[PROTO_REQ_RECONCILE] = "reconcile",
	[PROTO_REQ_DISABLE] = "disable",
	[PROTO_REQ_ENABLE] = "enable",
};
#define PROTO_NREQUESTS	(sizeof proto_request_names / sizeof proto_request_names[0])

const char *
proto_request_name(enum proto_request r)
{
	return (size_t)r < PROTO_NREQUESTS ? proto_request_names[r] : "?";
}

bool
proto_request_by_name(const char *name, enum proto_request *r)
{
	for (size_t i = 0; i < PROTO_NREQUESTS; i++)
		if (strcmp(name, proto_request_names[i]) == 0) {
			*r = (enum proto_request)i;
			return true;
		}
	return false;
}

bool
proto_request_changes_state(enum proto_request r)
{
	return r == PROTO_REQ_RECONCILE || r == PROTO_REQ_DISABLE ||
	    r == PROTO_REQ_ENABLE;
}

static bool
proto_id_valid(struct json_object *id)
{
	if (json_object_is_type(id, json_type_string))
		return json_object_get_string_len(id) >= 1 &&
		    json_object_get_string_len(id) <= PROTO_ID_MAX;
	return json_object_is_type(id, json_type_int) &&
	    json_object_get_int64(id) >= 0;
}

static enum proto_error
proto_parse_args(struct json_object *msg, struct proto_request_msg *rq,
    char *why, size_t whylen)
{
	struct json_object *args;

	if (!json_object_object_get_ex(msg, "args", &args))
		return PROTO_OK;
	if (!json_object_is_type(args, json_type_object)) {
		snprintf(why, whylen, "args is %s; write an object, or leave it "
		    "out", proto_json_kind(args));
		return PROTO_ERR_BAD_ARGUMENTS;
	}
	json_object_object_foreach(args, name, v) {
		if (rq->request != PROTO_REQ_PING || strcmp(name, "echo") != 0) {
			snprintf(why, whylen, "%s takes no argument \"%.64s\"%s",
			    proto_request_name(rq->request), name,
			    rq->request == PROTO_REQ_PING ? "; it takes only "
			    "\"echo\"" : "");
			return PROTO_ERR_BAD_ARGUMENTS;
		}
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > PROTO_ECHO_MAX) {
			snprintf(why, whylen, "echo must be a string of at most "
			    "%d bytes", PROTO_ECHO_MAX);
			return PROTO_ERR_BAD_ARGUMENTS;
		}
		rq->echo = json_object_get_string(v);
	}
	return PROTO_OK;
}

enum proto_error
proto_parse_request(struct json_object *msg, struct proto_request_msg *rq,
    char *why, size_t whylen)
{
	struct json_object *v;
	const char *s;

	memset(rq, 0, sizeof *rq);
	if (json_object_object_get_ex(msg, "id", &v) && proto_id_valid(v))
		rq->id = v;
	if ((s = json_string(msg, "type")) != NULL &&
	    strcmp(s, "request") != 0) {
		snprintf(why, whylen, "unknown message type \"%.64s\"; the host "
		    "sends only \"request\"", s);
		return PROTO_ERR_UNKNOWN_REQUEST;
	}
	if (s == NULL) {
		snprintf(why, whylen, "a message from the host needs \"type\": "
		    "\"request\"");
		return PROTO_ERR_BAD_ARGUMENTS;
	}
	if (rq->id == NULL) {
		snprintf(why, whylen, "\"id\" must be a string of 1 to %d bytes "
		    "or an integer from 0 to %lld", PROTO_ID_MAX, PROTO_INT_MAX);
		return PROTO_ERR_BAD_ARGUMENTS;
	}
	/* Before the name: a newer host's request may be unknown here. */
	if (json_object_object_get_ex(msg, "protocol", &v)) {
		if (!json_object_is_type(v, json_type_int)) {
			snprintf(why, whylen, "\"protocol\" must be an integer");
			return PROTO_ERR_BAD_ARGUMENTS;
		}
		if (json_object_get_int64(v) != PROTO_VERSION) {
			snprintf(why, whylen, "protocol %" PRId64 " is not "
			    "spoken here; this agent speaks protocol %d",
			    json_object_get_int64(v), PROTO_VERSION);
			return PROTO_ERR_UNSUPPORTED_VERSION;
		}
	}
	if ((s = json_string(msg, "request")) == NULL) {
		snprintf(why, whylen, "\"request\" must be a string naming the "
		    "request, such as \"ping\"");
		return PROTO_ERR_BAD_ARGUMENTS;
	}
	if (!proto_request_by_name(s, &rq->request)) {
		snprintf(why, whylen, "unknown request \"%.64s\"; this agent "
		    "answers ping, status, reconcile, disable and enable", s);
		return PROTO_ERR_UNKNOWN_REQUEST;
	}
	return proto_parse_args(msg, rq, why, whylen);
}

struct json_object *
proto_reply(struct json_object *id, enum proto_error e, const char *message,
    struct json_object *result)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL) {
		json_object_put(result);
		return NULL;
	}
	json_object_object_add(o, "type", json_object_new_string("reply"));
	json_object_object_add(o, "id", json_object_get(id));
	json_object_object_add(o, "ok", json_object_new_boolean(e == PROTO_OK));
	if (e == PROTO_OK) {
		json_object_object_add(o, "result", result);
		return o;
	}
	json_object_put(result);
	json_object_object_add(o, "error",
	    json_object_new_string(proto_error_name(e)));
	json_object_object_add(o, "message",
	    json_object_new_string(message != NULL ? message : ""));
	return o;
}

struct json_object *
proto_requests_json(void)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a != NULL && i < PROTO_NREQUESTS; i++)
		json_object_array_add(a,
		    json_object_new_string(proto_request_names[i]));
	return a;
}

struct json_object *
proto_limits_json(void)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "line_max", json_object_new_int(PROTO_LINE_MAX));
	json_object_object_add(o, "depth_max",
	    json_object_new_int(PROTO_DEPTH_MAX));
	json_object_object_add(o, "bad_lines_max",
	    json_object_new_int(PROTO_BAD_MAX));
	json_object_object_add(o, "bad_lines_window_s",
	    json_object_new_int(PROTO_BAD_WINDOW_MS / 1000));
	return o;
}

/* ------------------------------------------------------------------ */
/* Status: what changes by itself is left out of comparisons */

/* Remove the member at a dotted path ("a.b"; "a[].b" in each element). */
static void
proto_delete_path(struct json_object *o, const char *path)
{
	const char *dot = strchr(path, '.');
	size_t n = dot != NULL ? (size_t)(dot - path) : strlen(path);
	bool each = n >= 2 && strncmp(path + n - 2, "[]", 2) == 0;
	char name[64];
	struct json_object *sub;

	snprintf(name, sizeof name, "%.*s", (int)(each ? n - 2 : n), path);
	if (!json_object_is_type(o, json_type_object))
		return;
	if (dot == NULL && !each) {
		json_object_object_del(o, name);
		return;
	}
	if (!json_object_object_get_ex(o, name, &sub) || dot == NULL)
		return;
	if (!each) {
		proto_delete_path(sub, dot + 1);
		return;
	}
	for (size_t i = 0; json_object_is_type(sub, json_type_array) &&
	    i < json_object_array_length(sub); i++)
		proto_delete_path(json_object_array_get_idx(sub, i), dot + 1);
}

struct json_object *
proto_status_canonical(struct json_object *status)
{
	struct json_object *copy = NULL;

	if (status == NULL || json_object_deep_copy(status, &copy, NULL) < 0)
		return NULL;
	for (const struct status_field *f = status_fields; f->path != NULL; f++)
		if (f->flags & STATUS_VOLATILE)
			proto_delete_path(copy, f->path);
	return copy;
}

struct json_object *
proto_status_changes(struct json_object *old, struct json_object *new)
{
	struct json_object *changed = json_object_new_array();
	struct json_object *was;

	if (changed == NULL)
		return NULL;
	json_object_object_foreach(new, name, now)
		if (old == NULL || !json_object_object_get_ex(old, name, &was) ||
		    !json_object_equal(was, now))
			json_object_array_add(changed,
			    json_object_new_string(name));
	if (old != NULL) {
		json_object_object_foreach(old, gone, v) {
			(void)v;
			if (!json_object_object_get_ex(new, gone, NULL))
				json_object_array_add(changed,
				    json_object_new_string(gone));
		}
	}
	return changed;
}

/* ------------------------------------------------------------------ */
/* Bad input, GUIDs */

bool
proto_flood_note(struct proto_flood *f, uint64_t now_ms)
{
	f->at[f->next] = now_ms;
	f->next = (f->next + 1) % PROTO_BAD_MAX;
	if (f->n < PROTO_BAD_MAX)
		f->n++;
	/* Full: the oldest of the last PROTO_BAD_MAX is the next to go. */
	return f->n == PROTO_BAD_MAX &&
	    now_ms - f->at[f->next] < PROTO_BAD_WINDOW_MS;
}

bool
proto_guid_normalize(const char *text, char out[37])
{
	static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t len = text != NULL ? strlen(text) : 0;

	if (len == 38 && text[0] == '{' && text[37] == '}') {
		text++;
		len = 36;
	}
	if (len != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		char c = text[i];
		bool hex = c != '\0' && strchr("0123456789abcdefABCDEF", c) != NULL;
		if (form[i] == '-' ? c != '-' : !hex)
			return false;
		out[i] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
	}
	out[36] = '\0';
	return true;
}
