/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The strict JSON reader (json.c): a string member read without
 * surprises; strict JSON of valid UTF-8 whichever json-c this is.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <json-c/json.h>

#include "base/json.h"

Test(json_string, a_string_member_or_null)
{
	struct json_object *o = json_tokener_parse(
	    "{\"s\":\"text\",\"empty\":\"\",\"n\":1,\"b\":true,\"o\":{},"
	    "\"a\":[\"x\"],\"z\":null}");
	cr_assert(ne(ptr, o, NULL));
	cr_assert(eq(str, (char *)json_string(o, "s"), "text"));
	cr_assert(eq(str, (char *)json_string(o, "empty"), ""));
	const char *others[] = { "n", "b", "o", "a", "z", "missing" };
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		cr_assert(eq(ptr, (void *)json_string(o, others[i]), NULL),
		    "member %s is no string", others[i]);
	cr_assert(eq(ptr, (void *)json_string(NULL, "s"), NULL));
	struct json_object *arr = json_object_object_get(o, "a");
	cr_assert(eq(ptr, (void *)json_string(arr, "s"), NULL),
	    "an array has no members");
	json_object_put(o);
}

/*
 * json_parse: strict JSON of valid UTF-8, on every json-c.  Each case
 * runs with the json-c 0.18 work-around off and on, and both must agree
 * on the verdict and the byte it stopped at (on json-c before 0.18 "off"
 * is the library's own strict mode).
 */
struct json_case {
	const char	*text;
	bool		 ok;
};

static const struct json_case json_cases[] = {
	{ "{\"name\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3\"}", true },
	{ "[\"\xc2\xba\", \"plain\"]", true },
	{ "{\"\xc3\xa9\":1}", true },
	{ "{\"a\":1,}", false },			/* trailing comma */
	{ "{\"\xc3\xa9\":1,}", false },			/* the same, UTF-8 too */
	{ "/* c */ {\"\xc3\xa9\":1}", false },		/* comment */
	{ "{\"a\":01, \"b\":\"\xc3\xa9\"}", false },	/* leading zero */
	{ "{\"a\":\xc3\xa9}", false },			/* UTF-8 outside a string */
	{ "{\"a\":\"\xc3\"}", false },			/* invalid UTF-8 */
	{ "{\"a\":\"\xff\xfe\"}", false },
};

Test(json_parse, strict_with_utf8_whatever_the_json_c)
{
	for (size_t i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++) {
		const struct json_case *c = &json_cases[i];
		size_t end[2];
		enum json_tokener_error err[2];
		for (int two = 0; two < 2; two++) {
			struct json_tokener *tok = json_tokener_new_ex(8);
			cr_assert_not_null(tok);
			struct json_object *o = json_parse_two_pass(tok,
			    c->text, strlen(c->text), two == 1);
			err[two] = json_tokener_get_error(tok);
			end[two] = json_tokener_get_parse_end(tok);
			bool got = o != NULL && err[two] == json_tokener_success &&
			    end[two] == strlen(c->text);
			if (two == 1 || !AGENT_JSON_STRICT_BROKEN)
				cr_expect(eq(int, got, c->ok), "case %zu (%s), "
				    "two-pass %d: %s", i, c->text, two,
				    json_tokener_error_desc(err[two]));
			json_object_put(o);
			json_tokener_free(tok);
		}
		if (!AGENT_JSON_STRICT_BROKEN && !c->ok) {
			/* The error may differ (UTF-8 outside a string is
			 * "invalid UTF-8" one way, "unexpected" the other). */
			cr_expect(eq(sz, end[0], end[1]), "case %zu: at the same "
			    "byte both ways", i);
		}
	}
}

Test(json_parse, values_are_the_text_s_own)
{
	const char *text = "{\"k\xc3\xa9y\":\"caf\xc3\xa9\"}";
	struct json_tokener *tok = json_tokener_new_ex(8);
	struct json_object *o = json_parse_two_pass(tok, text,
	    strlen(text), true);
	cr_assert_not_null(o);
	cr_expect(eq(str, (char *)json_string(o, "k\xc3\xa9y"),
	    "caf\xc3\xa9"));
	json_object_put(o);
	json_tokener_free(tok);
}

/* ------------------------------------------------------------------ */
/* json_error_at, json_check_duplicate_keys */

Test(json_error_at, line_and_column_count_from_one)
{
	const char *text = "{\n\t\"a\": 1,\n  \"b\" 2\n}";
	char err[128];

	json_error_at(err, sizeof err, "f.json", text, 0, NULL, "at %s",
	    "start");
	cr_assert(eq(str, err, "f.json:1:1: at start"));
	json_error_at(err, sizeof err, "f.json", text, strlen("{\n\t\"a\": 1,\n"
	    "  \"b\" "), "b", "no colon");
	cr_assert(eq(str, err, "f.json:3:7: b: no colon"));
	json_error_at(err, 12, "f.json", text, 2, NULL, "cut short");
	cr_assert(eq(str, err, "f.json:2:1:"), "cut, always terminated");
}

static int
check(const char *text, char *err, size_t len)
{
	err[0] = '\0';
	return json_check_duplicate_keys(text, strlen(text), "line", err, len);
}

Test(json_check_duplicate_keys, a_name_twice_named_with_both_places)
{
	char err[256];

	cr_assert(eq(int, check("{\"a\": {\"b\": 1,\n\"b\": 2}}", err,
	    sizeof err), -1));
	cr_assert(eq(str, err, "line:2:1: a.b: duplicate key (first at line 1, "
	    "column 8); keep only one"));
	/* The names json-c decodes are compared, not their spelling. */
	cr_assert(eq(int, check("{\"id\":1,\"\\u0069d\":2}", err, sizeof err),
	    -1));
	cr_assert(ne(ptr, strstr(err, "id: duplicate key"), NULL), "%s", err);
	/* In an array's objects, each object on its own. */
	cr_assert(eq(int, check("[{\"x\":1},{\"x\":2},{\"y\":1,\"y\":1}]", err,
	    sizeof err), -1));
	cr_assert(eq(str, err, "line:1:25: y: duplicate key (first at line 1, "
	    "column 19); keep only one"));
}

Test(json_check_duplicate_keys, equal_names_in_different_objects_pass)
{
	char err[256];

	cr_assert(eq(int, check("{\"a\": {\"x\": 1}, \"b\": {\"x\": 1}, "
	    "\"x\": [1, {\"x\": 2}]}", err, sizeof err), 0));
	cr_assert(eq(str, err, ""));
	cr_assert(eq(int, check("\"x\"", err, sizeof err), 0));
	cr_assert(eq(int, check("", err, sizeof err), 0));
}

Test(json_check_duplicate_keys, single_quotes_and_control_characters)
{
	char err[256];

	/* json-c 0.16 takes single-quoted keys even when strict. */
	cr_assert(eq(int, check("{'a': 1}", err, sizeof err), -1));
	cr_assert(eq(str, err, "line:1:2: strings need double quotes (\"), not "
	    "single quotes"));
	/* A name is shown escaped: the message stays on one line. */
	cr_assert(eq(int, check("{\"a\\nb\":1,\"a\\nb\":2}", err, sizeof err),
	    -1));
	cr_assert(eq(str, err, "line:1:11: a\\x0ab: duplicate key (first at "
	    "line 1, column 2); keep only one"));
}
