/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_BASE_JSON_H
#define WDA_BASE_JSON_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;
struct json_tokener;

/* json.c: the strict JSON reader every input from outside goes through */

/*
 * The tokener flags for everything read from outside: strict JSON, valid
 * UTF-8.  Set them with json_parse(), which also works around json-c
 * 0.18's strict mode refusing every string byte above 0x7f, valid UTF-8
 * included (json-c#875, #892; Debian 13 ships 0.18).
 */
#define AGENT_JSON_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)
#define AGENT_JSON_STRICT_BROKEN \
	(JSON_C_VERSION_NUM >= ((0 << 16) | (18 << 8)))

/*
 * json_tokener_parse_ex(tok, buf, len) with AGENT_JSON_FLAGS: strict JSON
 * of valid UTF-8, whichever json-c this is.  tok's error and parse end
 * say what they would with a json-c whose strict mode takes UTF-8.
 */
struct json_object *json_parse(struct json_tokener *tok, const char *buf,
    size_t len);
/* The same, the work-around on (two_pass) or off; for the unit tests. */
struct json_object *json_parse_two_pass(struct json_tokener *tok,
    const char *buf, size_t len, bool two_pass);
/* Member key of o when it is a string; NULL otherwise (o may be NULL). */
const char *json_string(struct json_object *o, const char *key);

/*
 * "origin:LINE:COL: [name: ]message" in err, for byte off of buf: where
 * something in a JSON text went wrong, as an editor counts (from 1).
 */
void	json_error_at(char *err, size_t errlen, const char *origin,
	    const char *buf, size_t off, const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 7, 8)));
/*
 * The checks json-c does not make, on a text it has accepted: a name twice
 * in one object (json-c keeps the last silently) and strings in single
 * quotes (json-c 0.16 takes them even in strict mode).  0, or -1 with
 * "origin:LINE:COL: dotted.name: duplicate key (first at line L, column
 * C); keep only one" and the like in err.
 */
int	json_check_duplicate_keys(const char *buf, size_t len,
	    const char *origin, char *err, size_t errlen);

#endif
