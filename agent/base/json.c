/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The strict JSON reader every input from outside goes through (the
 * configuration, the host channel, the control socket, the engine's
 * answers, the manifest): strict JSON of valid UTF-8 on every json-c,
 * and a string member read without surprises.
 */
#include <stdint.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "base/json.h"

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
