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
