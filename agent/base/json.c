/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The strict JSON reader every input from outside goes through (the
 * configuration, the host channel, the control socket, the engine's
 * answers, the manifest): strict JSON of valid UTF-8 on every json-c,
 * a string member read without surprises, errors placed at a line and a
 * column, and the checks json-c does not make (a name twice in one
 * object, single quotes), for the configuration and the host channel.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/defs.h"
#include "base/json.h"
#include "base/text.h"

#define JSON_NAME_MAX	128	/* longest dotted name shown in a message */
#define JSON_MSG_MAX	512	/* a message before its position */

const char *
json_string(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * Where json-c's strict mode refuses bytes above 0x7f (0.18), the syntax
 * is checked strictly on a copy with each such byte replaced by 'x': the
 * same length, so the same offsets in errors, and the same verdict, since
 * outside strings either byte is an error and inside them either is text.
 * Then the text itself is parsed without strict mode (which changes no
 * value of a strictly valid text), validating its UTF-8.
 */
struct json_object *
json_parse(struct json_tokener *tok, const char *buf, size_t len)
{
	return json_parse_two_pass(tok, buf, len, AGENT_JSON_STRICT_BROKEN);
}

struct json_object *
json_parse_two_pass(struct json_tokener *tok, const char *buf, size_t len,
    bool two_pass)
{
	if (len > INT32_MAX)
		return NULL;
	json_tokener_set_flags(tok, AGENT_JSON_FLAGS);
	bool high = false;
	for (size_t i = 0; two_pass && i < len && !high; i++)
		high = (unsigned char)buf[i] > 0x7f;
	if (!high)
		return json_tokener_parse_ex(tok, buf, (int)len);

	char *ascii = malloc(len > 0 ? len : 1);
	if (ascii == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		ascii[i] = (unsigned char)buf[i] > 0x7f ? 'x' : buf[i];
	struct json_object *o = json_tokener_parse_ex(tok, ascii, (int)len);
	free(ascii);
	if (o == NULL)
		return NULL;	/* tok says where and why */
	json_object_put(o);
	json_tokener_reset(tok);
	json_tokener_set_flags(tok, AGENT_JSON_FLAGS & ~JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	json_tokener_set_flags(tok, AGENT_JSON_FLAGS);
	return o;
}

/* ------------------------------------------------------------------ */
/* Positions and the checks json-c does not make */

static void
json_position(const char *buf, size_t off, unsigned *line, unsigned *col)
{
	const char *bol = buf;

	*line = 1;
	for (const char *p = buf; p < buf + off; p++) {
		if (*p == '\n') {
			(*line)++;
			bol = p + 1;
		}
	}
	*col = (unsigned)(buf + off - bol) + 1;
}

void
json_error_at(char *err, size_t errlen, const char *origin, const char *buf,
    size_t off, const char *name, const char *fmt, ...)
{
	char msg[JSON_MSG_MAX];
	unsigned line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_position(buf, off, &line, &col);
	snprintf(err, errlen, "%s:%u:%u: %s%s%s", origin, line, col,
	    name != NULL ? name : "", name != NULL ? ": " : "", msg);
}

/*
 * json-c keeps the last of two equal keys without a word, so the text it
 * accepted is walked once more to find them.  The walk trusts the
 * structure json-c checked but never reads past the buffer.
 */
struct json_scan {
	const char		*buf;
	size_t			 len;
	size_t			 pos;
	struct json_tokener	*tok;		/* decodes keys */
	const char		*origin;
	char			*err;
	size_t			 errlen;
};

static void
json_scan_oom(const struct json_scan *s)
{
	if (s->origin != NULL)
		snprintf(s->err, s->errlen, "%s: out of memory", s->origin);
	else
		snprintf(s->err, s->errlen, "out of memory");
}

static void
json_scan_ws(struct json_scan *s)
{
	while (s->pos < s->len && (s->buf[s->pos] == ' ' ||
	    s->buf[s->pos] == '\t' || s->buf[s->pos] == '\n' ||
	    s->buf[s->pos] == '\r'))
		s->pos++;
}

static int
json_scan_string(struct json_scan *s)
{
	if (s->pos < s->len && s->buf[s->pos] == '\'') {
		/* json-c 0.16 takes these even in strict mode; JSON does not. */
		json_error_at(s->err, s->errlen, s->origin, s->buf, s->pos,
		    NULL, "strings need double quotes (\"), not single quotes");
		return -1;
	}
	for (s->pos++; s->pos < s->len; s->pos++) {
		if (s->buf[s->pos] == '\\')
			s->pos++;
		else if (s->buf[s->pos] == '"') {
			s->pos++;
			return 0;
		}
	}
	return 0;
}

static int json_scan_value(struct json_scan *, const char *path, int depth);

static int
json_scan_object(struct json_scan *s, const char *path, int depth)
{
	struct json_object *seen = json_object_new_object();
	int rc = -1;

	if (seen == NULL) {
		json_scan_oom(s);
		return -1;
	}
	s->pos++;
	for (;;) {
		json_scan_ws(s);
		if (s->pos >= s->len || s->buf[s->pos] == '}')
			break;
		if (s->buf[s->pos] == ',') {
			s->pos++;
			continue;
		}
		size_t start = s->pos;
		if (json_scan_string(s) < 0)
			goto out;
		json_tokener_reset(s->tok);
		struct json_object *key = json_parse(s->tok, s->buf + start,
		    s->pos - start);
		if (key == NULL) {
			json_error_at(s->err, s->errlen, s->origin, s->buf,
			    start, NULL, "cannot read this key");
			goto out;
		}
		const char *name = json_object_get_string(key);
		char child[JSON_NAME_MAX], shown[TEXT_SHOW_SIZE];
		text_show(name, strlen(name), shown, sizeof shown);
		snprintf(child, sizeof child, "%s%s%s", path,
		    *path != '\0' ? "." : "", shown);
		struct json_object *first;
		if (json_object_object_get_ex(seen, name, &first)) {
			unsigned line, col;
			json_position(s->buf,
			    (size_t)json_object_get_int64(first), &line, &col);
			json_error_at(s->err, s->errlen, s->origin, s->buf,
			    start, child, "duplicate key (first at line %u, "
			    "column %u); keep only one", line, col);
			json_object_put(key);
			goto out;
		}
		struct json_object *at = json_object_new_int64((int64_t)start);
		if (at == NULL || json_object_object_add(seen, name, at) < 0) {
			json_object_put(at);
			json_object_put(key);
			json_scan_oom(s);
			goto out;
		}
		json_object_put(key);
		json_scan_ws(s);
		if (s->pos < s->len && s->buf[s->pos] == ':')
			s->pos++;
		if (json_scan_value(s, child, depth + 1) < 0)
			goto out;
	}
	s->pos++;
	rc = 0;
out:
	json_object_put(seen);
	return rc;
}

static int
json_scan_value(struct json_scan *s, const char *path, int depth)
{
	json_scan_ws(s);
	if (s->pos >= s->len || depth > JSON_MAX_DEPTH)
		return 0;
	switch (s->buf[s->pos]) {
	case '{':
		return json_scan_object(s, path, depth);
	case '[':
		s->pos++;
		for (;;) {
			json_scan_ws(s);
			if (s->pos >= s->len || s->buf[s->pos] == ']')
				break;
			if (s->buf[s->pos] == ',')
				s->pos++;
			else if (json_scan_value(s, path, depth + 1) < 0)
				return -1;
		}
		s->pos++;
		return 0;
	case '"':
	case '\'':
		return json_scan_string(s);
	default:
		while (s->pos < s->len &&
		    strchr(",]} \t\r\n", s->buf[s->pos]) == NULL)
			s->pos++;
		return 0;
	}
}

int
json_check_duplicate_keys(const char *buf, size_t len, const char *origin,
    char *err, size_t errlen)
{
	struct json_scan scan = { buf, len, 0, NULL, origin, err, errlen };

	if ((scan.tok = json_tokener_new_ex(JSON_MAX_DEPTH)) == NULL) {
		json_scan_oom(&scan);
		return -1;
	}
	int rc = json_scan_value(&scan, "", 0);
	json_tokener_free(scan.tok);
	return rc;
}
