/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host channel: framing and parsing (protocol.c), the checks of what
 * the agent sends (protocol-check.c, against the man page), the backoff
 * and bad-input rules, and the agent's side of the channel (health.c)
 * against a host played by the test over a unix socket.  vsock set-up
 * and its guard (vsock.c) are tested in test_vsock.c.
 *
 * ARCHITECTURE.md, binding: nothing here connects AF_VSOCK to any CID but 1
 * (VMADDR_CID_LOCAL), which has no loopback transport on our machines and
 * fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/config.h"
#include "base/defs.h"
#include "base/text.h"
#include "base/util.h"
#include "sys/vsock.h"
#include "sys/wsl.h"
#include "wire/protocol.h"
#include "features/desktop.h"
#include "features/health.h"
#include "features/socket.h"
#include "main/agent.h"

#define WAIT_MS		5000
#define assert_has(s, sub) \
	cr_assert(strstr((s), (sub)) != NULL, "expected \"%s\" in: %s", (sub), (s))

/* ------------------------------------------------------------------ */
/* Helpers: feed text to a reader */

static struct proto_reader rd;
static struct proto_item item;

static void
reader_setup(void)
{
	proto_reader_init(&rd, PROTO_LINE_MAX);
	memset(&item, 0, sizeof item);
}

static void
reader_teardown(void)
{
	json_object_put(item.msg);
	item.msg = NULL;
	proto_reader_free(&rd);
}

/* Feed all of text; the one result it must give, and where it stopped. */
static enum proto_step
feed(const char *text, size_t len, size_t *used)
{
	json_object_put(item.msg);
	item.msg = NULL;
	return proto_reader_feed(&rd, text, len, used, &item);
}

static enum proto_step
feed_line(const char *text)
{
	size_t used;
	char *line;
	size_t len = strlen(text);

	cr_assert(not(eq(ptr, line = malloc(len + 1), NULL)));
	memcpy(line, text, len);
	line[len] = '\n';
	enum proto_step st = feed(line, len + 1, &used);
	cr_assert(eq(sz, used, len + 1), "a whole line is consumed");
	free(line);
	return st;
}

static void
line_is_message(const char *text)
{
	enum proto_step st = feed_line(text);
	cr_assert(eq(int, st, PROTO_STEP_MESSAGE), "'%.80s' refused: %s", text,
	    item.message);
	cr_assert(json_object_is_type(item.msg, json_type_object));
}

static void
line_fails(const char *text, enum proto_error e, const char *why)
{
	enum proto_step st = feed_line(text);
	cr_assert(eq(int, st, PROTO_STEP_ERROR), "'%.80s' accepted", text);
	cr_assert(eq(str, (char *)proto_error_name(item.error),
	    (char *)proto_error_name(e)), "'%.80s': %s", text, item.message);
	cr_assert(eq(ptr, item.msg, NULL));
	if (why != NULL)
		assert_has(item.message, why);
}

TestSuite(reader, .init = reader_setup, .fini = reader_teardown);

Test(reader, one_line)
{
	line_is_message("{\"type\":\"request\",\"id\":1,\"request\":\"ping\"}");
	cr_assert(eq(sz, item.line_len, strlen("{\"type\":\"request\",\"id\":1,"
	    "\"request\":\"ping\"}")));
}

Test(reader, partial_line_byte_by_byte)
{
	const char *text = "{\"id\":7,\"é\":\"\xe2\x82\xac\"}\n";
	size_t n = strlen(text), used;

	for (size_t i = 0; i + 1 < n; i++) {
		cr_assert(eq(int, feed(text + i, 1, &used), PROTO_STEP_MORE),
		    "byte %zu", i);
		cr_assert(eq(sz, used, 1));
	}
	cr_assert(eq(int, feed(text + n - 1, 1, &used), PROTO_STEP_MESSAGE));
	cr_assert(eq(sz, item.line_len, n - 1));
	cr_assert(eq(int, memcmp(item.line, text, n - 1), 0));
}

Test(reader, lines_split_across_reads)
{
	const char *a = "{\"n\":1}\n{\"n\":2}\n{\"n\"";
	const char *b = ":3}\n";
	size_t used, off = 0, alen = strlen(a);

	cr_assert(eq(int, feed(a, alen, &used), PROTO_STEP_MESSAGE));
	cr_assert(eq(int, json_object_get_int(json_object_object_get(item.msg,
	    "n")), 1));
	off += used;
	cr_assert(eq(int, feed(a + off, alen - off, &used), PROTO_STEP_MESSAGE));
	cr_assert(eq(int, json_object_get_int(json_object_object_get(item.msg,
	    "n")), 2));
	off += used;
	cr_assert(eq(int, feed(a + off, alen - off, &used), PROTO_STEP_MORE));
	cr_assert(eq(sz, off + used, alen), "the partial line is taken");
	cr_assert(eq(int, feed(b, strlen(b), &used), PROTO_STEP_MESSAGE));
	cr_assert(eq(int, json_object_get_int(json_object_object_get(item.msg,
	    "n")), 3));
	cr_assert(eq(int, memcmp(item.line, "{\"n\":3}", 7), 0));
}

Test(reader, blank_lines_and_crlf)
{
	size_t used;

	cr_assert(eq(int, feed("\n \t\r\n\n", 6, &used), PROTO_STEP_MORE));
	cr_assert(eq(sz, used, 6));
	line_is_message("{\"a\":true}\r");
	line_is_message("  {\"a\":true}  ");
}

/* A line of exactly len bytes: {"p":"xxx..."} */
static char *
line_of(size_t len)
{
	char *s = malloc(len + 2);
	cr_assert(not(eq(ptr, s, NULL)));
	memset(s, 'x', len);
	memcpy(s, "{\"p\":\"", 6);
	memcpy(s + len - 2, "\"}", 2);
	s[len] = '\0';
	return s;
}

/* A limit: `at' is accepted, `over' refused too-large; both freed. */
static void
boundary(char *at, char *over, const char *why)
{
	line_is_message(at);
	free(at);
	line_fails(over, PROTO_ERR_TOO_LARGE, why);
	free(over);
	line_is_message("{\"after\":1}");
}

Test(reader, exactly_at_limit_and_one_over)
{
	boundary(line_of(PROTO_LINE_MAX), line_of(PROTO_LINE_MAX + 1),
	    "65536 bytes");
}

Test(reader, huge_line_costs_no_memory_and_one_error)
{
	enum { CHUNK = 64 * 1024, TOTAL = 10 * 1024 * 1024 };
	char *chunk = malloc(CHUNK);
	size_t used;
	int errors = 0;

	cr_assert(not(eq(ptr, chunk, NULL)));
	memset(chunk, 'x', CHUNK);
	for (size_t sent = 0; sent < TOTAL; sent += CHUNK) {
		size_t off = 0;
		while (off < CHUNK) {
			enum proto_step st = feed(chunk + off, CHUNK - off, &used);
			off += used;
			if (st == PROTO_STEP_ERROR) {
				errors++;
				cr_assert(eq(str, (char *)proto_error_name(
				    item.error), "too-large"));
			}
			cr_assert(not(eq(int, st, PROTO_STEP_MESSAGE)));
		}
		cr_assert(le(sz, rd.cap, (size_t)PROTO_LINE_MAX));
	}
	free(chunk);
	cr_assert(eq(int, errors, 1), "one too-large for the whole line");
	cr_assert(eq(int, feed("\n{\"ok\":1}\n", 10, &used), PROTO_STEP_MESSAGE),
	    "the next line is read: %s", item.message);
	cr_assert(le(sz, rd.cap, (size_t)4096), "the buffer was given back");
}

Test(reader, huge_line_in_one_call)
{
	size_t len = 10 * 1024 * 1024;
	char *s = malloc(len + 20);
	size_t used, off;

	cr_assert(not(eq(ptr, s, NULL)));
	memset(s, '[', len);
	memcpy(s + len, "\n{\"ok\":1}\n", 10);
	cr_assert(eq(int, feed(s, len + 10, &used), PROTO_STEP_ERROR));
	cr_assert(eq(sz, used, len + 1), "dropped up to its LF");
	off = used;
	cr_assert(eq(int, feed(s + off, len + 10 - off, &used),
	    PROTO_STEP_MESSAGE));
	free(s);
}

Test(reader, long_valid_line_buffer_released)
{
	char *s = line_of(50000);
	size_t used;

	/* Fed in two parts, so the reader has to hold it. */
	cr_assert(eq(int, feed(s, 25000, &used), PROTO_STEP_MORE));
	cr_assert(eq(int, feed(s + 25000, 25000, &used), PROTO_STEP_MORE));
	cr_assert(eq(int, feed("\n", 1, &used), PROTO_STEP_MESSAGE));
	cr_assert(eq(sz, item.line_len, (size_t)50000));
	cr_assert(eq(int, feed("{}\n", 3, &used), PROTO_STEP_MESSAGE));
	cr_assert(le(sz, rd.cap, (size_t)4096));
	free(s);
}

Test(reader, invalid_utf8)
{
	static const char *const bad[] = {
		"{\"s\":\"\xff\"}",			/* never valid */
		"{\"s\":\"\xc0\xaf\"}",			/* overlong / */
		"{\"s\":\"\xe0\x80\xaf\"}",		/* overlong, 3 bytes */
		"{\"s\":\"\xed\xa0\x80\"}",		/* a surrogate */
		"{\"s\":\"\xf4\x90\x80\x80\"}",		/* above U+10FFFF */
		"{\"s\":\"\xe2\x82\"}",			/* cut short */
		"{\"s\":\"\x80\"}",			/* lone continuation */
		"{\"\xfe\":1}",				/* in a name */
		NULL
	};
	for (int i = 0; bad[i] != NULL; i++)
		line_fails(bad[i], PROTO_ERR_BAD_JSON, "UTF-8");
	line_is_message("{\"s\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e\"}");
}

Test(reader, raw_control_characters)
{
	size_t used;

	cr_assert(eq(int, feed("{\"s\":\"a\0b\"}\n", 12, &used),
	    PROTO_STEP_ERROR));
	assert_has(item.message, "control character 0x00");
	line_fails("{\"s\":\"a\x1b[0m\"}", PROTO_ERR_BAD_JSON, "0x1b");
	line_is_message("{\"s\":\"a\\u001bb\"}");
	/* Tab and CR: white space between tokens, never raw in a string. */
	line_is_message("{\t\"s\"\t:\r\"a\\\"\\\\\"}\t");
	line_fails("{\"s\":\"a\tb\"}", PROTO_ERR_BAD_JSON, "0x09");
	line_fails("{\"s\\\"\t\":1}", PROTO_ERR_BAD_JSON, "0x09");
}

static char *
nested(int levels)
{
	char *s = calloc(1, (size_t)levels * 8 + 16);
	cr_assert(not(eq(ptr, s, NULL)));
	strcpy(s, "{\"a\":");
	for (int i = 1; i < levels; i++)
		strcat(s, "[");
	strcat(s, "1");
	for (int i = 1; i < levels; i++)
		strcat(s, "]");
	strcat(s, "}");
	return s;
}

Test(reader, nesting_depth)
{
	boundary(nested(PROTO_DEPTH_MAX), nested(PROTO_DEPTH_MAX + 1),
	    "16 levels");
	char *s = nested(5000);
	line_fails(s, PROTO_ERR_TOO_LARGE, NULL);
	free(s);
}

Test(reader, numbers)
{
	line_is_message("{\"n\":9007199254740991,\"m\":-9007199254740991,"
	    "\"f\":1.5e300,\"z\":-0,\"u\":1e-400}");
	line_fails("{\"n\":9007199254740992}", PROTO_ERR_BAD_JSON,
	    "out of range");
	const char *huge = JSON_C_REFUSES_HUGE_NUMBERS ? "number expected" :
	    "\"n\"";
	line_fails("{\"n\":99999999999999999999999999}", PROTO_ERR_BAD_JSON,
	    huge);
	line_fails("{\"n\":-99999999999999999999999999}", PROTO_ERR_BAD_JSON,
	    NULL);
	line_fails("{\"a\":[1,{\"n\":1e400}]}", PROTO_ERR_BAD_JSON, "\"n\"");
	line_fails("{\"n\":NaN}", PROTO_ERR_BAD_JSON, NULL);
	line_fails("{\"n\":-Infinity}", PROTO_ERR_BAD_JSON, NULL);
	line_fails("{\"n\":01}", PROTO_ERR_BAD_JSON, NULL);
}

Test(reader, duplicate_names)
{
	line_fails("{\"id\":1,\"id\":2}", PROTO_ERR_BAD_JSON, "duplicate key");
	line_fails("{\"args\":{\"echo\":\"a\",\"echo\":\"b\"}}",
	    PROTO_ERR_BAD_JSON, "args.echo");
	line_fails("{\"a\":[{\"x\":1,\"x\":1}]}", PROTO_ERR_BAD_JSON,
	    "duplicate");
	/* The same name in different objects is fine. */
	line_is_message("{\"a\":{\"x\":1},\"b\":{\"x\":1},\"x\":[{\"x\":2}]}");
	/* Escapes decode first: "\u0069d" is "id". */
	line_fails("{\"id\":1,\"\\u0069d\":2}", PROTO_ERR_BAD_JSON, "duplicate");
}

Test(reader, not_json_or_not_an_object)
{
	line_fails("garbage", PROTO_ERR_BAD_JSON, "invalid JSON");
	line_fails("[1,2]", PROTO_ERR_BAD_JSON, "an array");
	line_fails("\"x\"", PROTO_ERR_BAD_JSON, "a string");
	line_fails("42", PROTO_ERR_BAD_JSON, "a number");
	line_fails("{} {}", PROTO_ERR_BAD_JSON, NULL);
	line_fails("{\"a\":1", PROTO_ERR_BAD_JSON, "ends inside");
	line_fails("{'a':1}", PROTO_ERR_BAD_JSON, "double quotes");
	line_fails("{\"a\":'x'}", PROTO_ERR_BAD_JSON, NULL);
	line_fails("{\"a\":1,}", PROTO_ERR_BAD_JSON, NULL);
	line_fails("/* c */{}", PROTO_ERR_BAD_JSON, NULL);
}

Test(reader, small_limit)
{
	size_t used;

	proto_reader_free(&rd);
	proto_reader_init(&rd, 8);
	cr_assert(eq(int, feed("{\"a\":12}\n", 9, &used), PROTO_STEP_MESSAGE));
	cr_assert(eq(int, feed("{\"a\":123}\n", 10, &used), PROTO_STEP_ERROR));
	cr_assert(eq(sz, used, 10));
	/* Over the limit before the LF arrives: answered at once. */
	cr_assert(eq(int, feed("{\"a\":1234", 9, &used), PROTO_STEP_ERROR));
	cr_assert(eq(sz, used, 9));
	cr_assert(eq(int, feed("5}\n{}\n", 6, &used), PROTO_STEP_MESSAGE));
	cr_assert(eq(sz, used, 6));
}

/* ------------------------------------------------------------------ */
/* Requests and replies */

static struct json_object *
parse(const char *text)
{
	struct proto_item it;
	enum proto_step st = proto_parse_line(text, strlen(text), &it);
	cr_assert(eq(int, st, PROTO_STEP_MESSAGE), "%s: %s", text, it.message);
	return it.msg;
}

static char why[512];

static enum proto_error
request(const char *text, struct proto_request_msg *rq)
{
	struct json_object *m = parse(text);
	enum proto_error e = proto_parse_request(m, rq, why, sizeof why);
	/* The id is borrowed from the message: keep the message alive. */
	static struct json_object *keep;
	json_object_put(keep);
	keep = m;
	return e;
}

Test(request, each_request)
{
	static const char *const names[] = { "ping", "status", "reconcile",
	    "disable", "enable" };
	struct proto_request_msg rq;
	char text[128];

	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof text, "{\"type\":\"request\",\"id\":%d,"
		    "\"request\":\"%s\"}", i, names[i]);
		cr_assert(eq(int, request(text, &rq), PROTO_OK), "%s: %s", text,
		    why);
		cr_assert(eq(str, (char *)proto_request_name(rq.request),
		    (char *)names[i]));
		cr_assert(eq(i64, json_object_get_int64(rq.id), i));
		cr_assert(eq(int, proto_request_changes_state(rq.request),
		    i >= 2));
	}
}

Test(request, ids)
{
	struct proto_request_msg rq;

	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":\"a-b\","
	    "\"request\":\"ping\"}", &rq), PROTO_OK));
	cr_assert(eq(str, (char *)json_object_get_string(rq.id), "a-b"));
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":"
	    "9007199254740991,\"request\":\"ping\"}", &rq), PROTO_OK));
	static const char *const bad[] = { "true", "1.5", "-1", "\"\"", "null",
	    "{}", "[1]",
	    "\"0123456789012345678901234567890123456789012345678901234567890123"
	    "4\"", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		char text[256];
		snprintf(text, sizeof text, "{\"type\":\"request\",\"id\":%s,"
		    "\"request\":\"ping\"}", bad[i]);
		cr_assert(eq(int, request(text, &rq), PROTO_ERR_BAD_ARGUMENTS),
		    "id %s", bad[i]);
		cr_assert(eq(ptr, rq.id, NULL), "id %s is not echoed", bad[i]);
		assert_has(why, "\"id\"");
	}
	/* 64 bytes is the most. */
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":\"012345678901234"
	    "5678901234567890123456789012345678901234567890123\","
	    "\"request\":\"ping\"}", &rq), PROTO_OK));
}

Test(request, wrong_types_and_names)
{
	struct proto_request_msg rq;

	cr_assert(eq(int, request("{\"id\":1,\"request\":\"ping\"}", &rq),
	    PROTO_ERR_BAD_ARGUMENTS));
	assert_has(why, "\"type\"");
	cr_assert(eq(int, request("{\"type\":1,\"id\":1,\"request\":\"ping\"}",
	    &rq), PROTO_ERR_BAD_ARGUMENTS));
	cr_assert(eq(int, request("{\"type\":\"hello\",\"id\":1}", &rq),
	    PROTO_ERR_UNKNOWN_REQUEST));
	assert_has(why, "hello");
	cr_assert(eq(i64, json_object_get_int64(rq.id), 1), "id still echoed");
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":2,"
	    "\"request\":\"reboot\"}", &rq), PROTO_ERR_UNKNOWN_REQUEST));
	assert_has(why, "reboot");
	cr_assert(eq(i64, json_object_get_int64(rq.id), 2));
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":3,"
	    "\"request\":[\"ping\"]}", &rq), PROTO_ERR_BAD_ARGUMENTS));
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":4}", &rq),
	    PROTO_ERR_BAD_ARGUMENTS));
	/* Unknown members are ignored (forward compatibility). */
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":5,"
	    "\"request\":\"status\",\"later\":{\"x\":[1]}}", &rq), PROTO_OK));
}

Test(request, args)
{
	struct proto_request_msg rq;

	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":1,\"request\":"
	    "\"ping\",\"args\":{\"echo\":\"hi\"}}", &rq), PROTO_OK));
	cr_assert(eq(str, (char *)rq.echo, "hi"));
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":1,\"request\":"
	    "\"ping\",\"args\":{}}", &rq), PROTO_OK));
	cr_assert(eq(ptr, (void *)rq.echo, NULL));
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":1,\"request\":"
	    "\"ping\",\"args\":{\"echo\":5}}", &rq), PROTO_ERR_BAD_ARGUMENTS));
	assert_has(why, "echo");
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":1,\"request\":"
	    "\"ping\",\"args\":[]}", &rq), PROTO_ERR_BAD_ARGUMENTS));
	assert_has(why, "an array");
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":1,\"request\":"
	    "\"status\",\"args\":{\"verbose\":true}}", &rq),
	    PROTO_ERR_BAD_ARGUMENTS));
	assert_has(why, "verbose");
	char text[600], echo[300];
	memset(echo, 'e', 257);
	echo[257] = '\0';
	snprintf(text, sizeof text, "{\"type\":\"request\",\"id\":1,\"request\":"
	    "\"ping\",\"args\":{\"echo\":\"%s\"}}", echo);
	cr_assert(eq(int, request(text, &rq), PROTO_ERR_BAD_ARGUMENTS));
	echo[256] = '\0';
	snprintf(text, sizeof text, "{\"type\":\"request\",\"id\":1,\"request\":"
	    "\"ping\",\"args\":{\"echo\":\"%s\"}}", echo);
	cr_assert(eq(int, request(text, &rq), PROTO_OK));
}

Test(request, protocol_version)
{
	struct proto_request_msg rq;

	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":1,\"request\":"
	    "\"ping\",\"protocol\":1}", &rq), PROTO_OK));
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":1,\"request\":"
	    "\"ping\",\"protocol\":2}", &rq), PROTO_ERR_UNSUPPORTED_VERSION));
	assert_has(why, "speaks protocol 1");
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":1,\"request\":"
	    "\"ping\",\"protocol\":\"1\"}", &rq), PROTO_ERR_BAD_ARGUMENTS));
	/* A newer host's request: the version is what to tell it. */
	cr_assert(eq(int, request("{\"type\":\"request\",\"id\":1,\"request\":"
	    "\"frobnicate\",\"protocol\":2}", &rq),
	    PROTO_ERR_UNSUPPORTED_VERSION));
}

Test(request, replies_conform)
{
	struct json_object *id = json_object_new_string("r1");
	struct json_object *res = json_object_new_object();
	struct json_object *r = proto_reply(id, PROTO_OK, NULL, res);
	char w[256];

	cr_assert(eq(int, proto_check_agent_message(r, w, sizeof w), 0), "%s", w);
	json_object_put(r);
	for (int e = PROTO_ERR_BAD_JSON; e <= PROTO_ERR_FAILED; e++) {
		r = proto_reply(e % 2 ? NULL : id, (enum proto_error)e, "why", NULL);
		cr_assert(eq(int, proto_check_agent_message(r, w, sizeof w), 0),
		    "%s: %s", proto_error_name((enum proto_error)e), w);
		json_object_put(r);
	}
	json_object_put(id);
	/* And the check notices what breaks the rules. */
	struct json_object *m = parse("{\"type\":\"reply\",\"id\":1,\"ok\":true}");
	cr_assert(eq(int, proto_check_agent_message(m, w, sizeof w), -1));
	assert_has(w, "result");
	json_object_put(m);
	m = parse("{\"type\":\"reply\",\"id\":1,\"ok\":false,\"error\":\"nope\","
	    "\"message\":\"x\"}");
	cr_assert(eq(int, proto_check_agent_message(m, w, sizeof w), -1));
	assert_has(w, "nope");
	json_object_put(m);
	m = parse("{\"type\":\"later\"}");
	cr_assert(eq(int, proto_check_agent_message(m, w, sizeof w), 1));
	json_object_put(m);
}

/*
 * The members protocol(7) documents for a message type, read from the man
 * page itself: each ".TP" entry of its ".SS" section names members and
 * says their type, "(string)", "(strings or null)", "(integers or null,
 * may be absent)" and the like.
 */
struct documented {
	char	 name[32];
	char	 type;		/* 's' string, 'i' integer, 'b' boolean */
	bool	 nullable;
	bool	 optional;	/* may be absent */
};

static size_t
documented_members(const char *type, struct documented *m, size_t max)
{
	FILE *f = fopen(PROTOCOL_MAN, "r");
	cr_assert(not(eq(ptr, f, NULL)), "%s: %s", PROTOCOL_MAN,
	    strerror(errno));
	char line[512], section[64];
	bool in = false, entry = false;
	size_t n = 0;
	snprintf(section, sizeof section, ".SS %s", type);
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, ".SS ", 4) == 0 ||
		    strncmp(line, ".SH ", 4) == 0)
			in = strcmp(line, section) == 0;
		if (!in)
			continue;
		if (strcmp(line, ".TP") == 0) {
			entry = true;
			continue;
		}
		if (!entry || strncmp(line, ".BR ", 4) != 0)
			continue;
		entry = false;
		/* .BR moved ", " left " (integers or null, may be absent)" */
		const char *what = strrchr(line, '(');
		cr_assert(not(eq(ptr, (void *)what, NULL)), "%s", line);
		char t = strncmp(what, "(string", 7) == 0 ? 's' :
		    strncmp(what, "(integer", 8) == 0 ? 'i' :
		    strncmp(what, "(boolean", 8) == 0 ? 'b' : '?';
		cr_assert(ne(chr, t, '?'), "a type this test does not know: %s",
		    line);
		char *p = line + 4;
		while (*p != '\0' && *p != '(') {
			if (*p == '"') {	/* ", " between names */
				p = strchr(p + 1, '"');
				p = p != NULL ? p + 1 : line + strlen(line);
				continue;
			}
			if (*p == ' ') {
				p++;
				continue;
			}
			size_t len = strcspn(p, " \"");
			cr_assert(lt(sz, n, max));
			cr_assert(lt(sz, len, sizeof m[n].name));
			memcpy(m[n].name, p, len);
			m[n].name[len] = '\0';
			m[n].type = t;
			m[n].nullable = strstr(what, "or null") != NULL;
			m[n].optional = strstr(what, "may be absent") != NULL;
			n++;
			p += len;
		}
	}
	fclose(f);
	return n;
}

/* A value of the documented type; for "type", the message's own. */
static struct json_object *
documented_value(const struct documented *d, const char *type)
{
	if (strcmp(d->name, "type") == 0)
		return json_object_new_string(type);
	switch (d->type) {
	case 's':	return json_object_new_string("/home/dev/app");
	case 'i':	return json_object_new_int64(4096);
	default:	return json_object_new_boolean(true);
	}
}

/* Every documented member, each with a value of its type. */
static struct json_object *
documented_message(const char *type, const struct documented *m, size_t n)
{
	struct json_object *o = json_object_new_object();
	for (size_t i = 0; i < n; i++)
		json_object_object_add(o, m[i].name, documented_value(&m[i],
		    type));
	return o;
}

/* The check's verdict on the whole message with one member changed. */
static int
check_with(const char *type, const struct documented *m, size_t n,
    size_t which, struct json_object *value, bool drop, char *w, size_t wl)
{
	struct json_object *o = documented_message(type, m, n);
	if (drop)
		json_object_object_del(o, m[which].name);
	else
		json_object_object_add(o, m[which].name, value);
	int r = proto_check_agent_message(o, w, wl);
	json_object_put(o);
	return r;
}

/*
 * A repair (restore.c builds it; test_restore.c checks a real one) holds
 * what protocol(7) says it holds: every documented member is accepted with
 * its type, null or absent where the page allows it, and refused with any
 * other type, null or absent where it does not.
 */
Test(messages, repair_as_protocol_7_documents_it)
{
	struct documented m[32];
	size_t n = documented_members("repair", m, 32);
	char w[256];
	cr_assert(ge(sz, n, 10), "the man page's repair lists %zu members", n);
	struct json_object *o = documented_message("repair", m, n);
	cr_assert(eq(int, proto_check_agent_message(o, w, sizeof w), 0),
	    "every member with its type: %s (%s)", w,
	    json_object_to_json_string(o));
	json_object_put(o);
	for (size_t i = 0; i < n; i++) {
		const char *name = m[i].name;
		cr_assert(eq(int, check_with("repair", m, n, i, NULL, false, w,
		    sizeof w), m[i].nullable ? 0 : -1), "%s null: %s", name, w);
		cr_assert(eq(int, check_with("repair", m, n, i, NULL, true, w,
		    sizeof w), m[i].optional ? 0 : -1), "%s absent: %s", name,
		    w);
		/* Each type but the documented one is refused. */
		struct json_object *wrong[] = {
		    json_object_new_string("text"), json_object_new_int64(7),
		    json_object_new_double(1.5), json_object_new_boolean(false),
		    json_object_new_object(), json_object_new_array() };
		static const char kinds[] = "sinboa";
		for (size_t k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
			if (kinds[k] == m[i].type) {
				json_object_put(wrong[k]);
				continue;
			}
			json_object_get(wrong[k]);	/* for the message */
			cr_assert(eq(int, check_with("repair", m, n, i,
			    wrong[k], false, w, sizeof w), -1), "%s as %s "
			    "accepted", name,
			    json_object_to_json_string(wrong[k]));
			cr_assert(strstr(w, name) != NULL ||
			    strcmp(name, "type") == 0, "the refusal names %s: "
			    "%s", name, w);
			json_object_put(wrong[k]);
		}
	}
}

Test(request, encode)
{
	struct json_object *m = json_object_new_object();
	size_t len;

	json_object_object_add(m, "path", json_object_new_string("/a/b\xff" "c"));
	char *line = proto_encode(m, &len);
	cr_assert(eq(str, line, "{\"path\":\"/a/b\xef\xbf\xbd" "c\"}\n"));
	cr_assert(eq(sz, len, strlen(line)));
	cr_assert(text_utf8_valid(line, len, NULL));
	free(line);
	json_object_object_add(m, "ctl", json_object_new_string("a\nb\x01"));
	line = proto_encode(m, &len);
	cr_assert(eq(ptr, memchr(line, '\n', len - 1), NULL), "one line");
	free(line);
	json_object_put(m);
}

/* ------------------------------------------------------------------ */
/* Status: canonical copies and what changed */

static struct json_object *
status_sample(int uptime, double ping, const char *engine_version)
{
	char text[512];
	snprintf(text, sizeof text, "{\"agent\":{\"uptime_s\":%d,\"rss_kib\":%d,"
	    "\"wall_clock_ms\":%d,\"watches\":%d,\"distro\":\"d\"},\"engine\":{\"reachable\":"
	    "true,\"ping_ms\":%g,\"version\":\"%s\"},\"proxy\":{\"active\":%d,"
	    "\"total\":%d,\"refused\":0,\"errors\":0},\"host\":{\"state\":"
	    "\"connected\",\"reports_sent\":%d},\"healthy\":true}", uptime,
	    uptime * 3, uptime * 1000, uptime % 5, ping, engine_version, uptime, uptime * 7,
	    uptime);
	return parse(text);
}

Test(status, volatile_members_make_no_change)
{
	struct json_object *a = status_sample(1, 0.5, "27.0");
	struct json_object *b = status_sample(99, 12.25, "27.0");
	struct json_object *ca = proto_status_canonical(a);
	struct json_object *cb = proto_status_canonical(b);
	struct json_object *changed = proto_status_changes(ca, cb);

	cr_assert(eq(sz, json_object_array_length(changed), (size_t)0), "%s",
	    json_object_to_json_string(changed));
	cr_assert(not(json_object_object_get_ex(ca, "host", NULL)));
	cr_assert(json_object_object_get_ex(a, "host", NULL), "the original "
	    "is untouched");
	json_object_put(changed);
	json_object_put(cb);
	json_object_put(b);

	b = status_sample(2, 0.5, "28.0");
	cb = proto_status_canonical(b);
	changed = proto_status_changes(ca, cb);
	cr_assert(eq(str, (char *)json_object_to_json_string(changed),
	    "[ \"engine\" ]"));
	json_object_put(changed);
	changed = proto_status_changes(NULL, cb);
	cr_assert(eq(sz, json_object_array_length(changed), (size_t)4),
	    "everything is new: %s", json_object_to_json_string(changed));
	json_object_put(changed);
	json_object_object_del(cb, "healthy");
	changed = proto_status_changes(ca, cb);
	assert_has(json_object_to_json_string(changed), "healthy");
	json_object_put(changed);
	json_object_put(ca);
	json_object_put(cb);
	json_object_put(a);
	json_object_put(b);
}

/* ------------------------------------------------------------------ */
/* Backoff, bad input, GUIDs */

static uint64_t rng_state = 88172645463325252ULL;

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/*
 * The waits between connection attempts, as health.c makes them:
 * base/util.h's backoff with the protocol's base and cap (protocol(7)).
 */
static struct backoff
protocol_backoff(void)
{
	return (struct backoff){ PROTO_BACKOFF_BASE_MS, PROTO_BACKOFF_CAP_MS,
	    0 };
}

Test(backoff, bounded)
{
	for (int run = 0; run < 200; run++) {
		struct backoff b = protocol_backoff();
		uint32_t d = 0;
		for (int i = 0; i < 50; i++) {
			uint32_t next = backoff_next(&b, rnd());
			cr_assert(ge(u32, next, PROTO_BACKOFF_BASE_MS));
			cr_assert(le(u32, next, PROTO_BACKOFF_CAP_MS));
			uint64_t hi = (uint64_t)(d < PROTO_BACKOFF_BASE_MS ?
			    PROTO_BACKOFF_BASE_MS : d) * 3;
			cr_assert(le(u64, (uint64_t)next, hi),
			    "at most 3x the last");
			d = next;
		}
	}
	struct backoff b = protocol_backoff();
	cr_assert(eq(u32, backoff_next(&b, 0), PROTO_BACKOFF_BASE_MS));
	b = protocol_backoff();
	cr_assert(eq(u32, backoff_next(&b, UINT32_MAX), 1000 +
	    UINT32_MAX % 2001));
	b.last_ms = UINT32_MAX;
	cr_assert(le(u32, backoff_next(&b, UINT32_MAX), PROTO_BACKOFF_CAP_MS));
	b.last_ms = PROTO_BACKOFF_CAP_MS;
	cr_assert(eq(u32, backoff_next(&b, 59000), PROTO_BACKOFF_CAP_MS));
}

Test(backoff, jittered_growing_and_reset_after_success)
{
	uint32_t first[64];
	double mean_early = 0, mean_late = 0;
	int distinct = 0;

	for (int run = 0; run < 64; run++) {
		struct backoff b = protocol_backoff();
		uint32_t d = backoff_next(&b, rnd());
		first[run] = d;
		cr_assert(le(u32, d, 3000), "the first wait is 1 to 3 s");
		mean_early += d;
		for (int i = 0; i < 20; i++)
			d = backoff_next(&b, rnd());
		mean_late += d;
		/* Connected and stable (PROTO_STABLE_MS): start over. */
		backoff_reset(&b);
		cr_assert(le(u32, backoff_next(&b, rnd()), 3000),
		    "after a success the waits start over");
	}
	for (int i = 1; i < 64; i++)
		distinct += first[i] != first[0];
	cr_assert(gt(int, distinct, 50), "agents do not retry in step");
	mean_early /= 64;
	mean_late /= 64;
	cr_assert(gt(dbl, mean_late, 4 * mean_early), "early %.0f late %.0f",
	    mean_early, mean_late);
	cr_assert(gt(dbl, mean_late, 20000.0), "late waits approach the cap");
}

Test(flood, limit_within_window)
{
	struct proto_flood f = { 0 };
	uint64_t t = 1000000;

	for (int i = 0; i < PROTO_BAD_MAX - 1; i++)
		cr_assert(not(proto_flood_note(&f, t + (uint64_t)i * 6000)));
	cr_assert(proto_flood_note(&f, t + PROTO_BAD_WINDOW_MS - 1),
	    "the tenth within 60 s");

	memset(&f, 0, sizeof f);
	/* One every 6.7 s never reaches ten within 60 s. */
	for (int i = 0; i < 100; i++)
		cr_assert(not(proto_flood_note(&f, t + (uint64_t)i * 6700)),
		    "bad line %d", i);
	memset(&f, 0, sizeof f);
	for (int i = 0; i < PROTO_BAD_MAX - 1; i++)
		proto_flood_note(&f, t);
	cr_assert(not(proto_flood_note(&f, t + PROTO_BAD_WINDOW_MS)),
	    "the window is 60 s, exclusive");
}

Test(ids, guid_and_service_id)
{
	char g[37], sid[40];

	cr_assert(proto_guid_normalize("{0B6F2F9D-3C1E-4A5B-8C7D-6E5F4A3B2C1D}",
	    g));
	cr_assert(eq(str, g, "0b6f2f9d-3c1e-4a5b-8c7d-6e5f4a3b2c1d"));
	cr_assert(proto_guid_normalize("0b6f2f9d-3c1e-4a5b-8c7d-6e5f4a3b2c1d", g));
	cr_assert(not(proto_guid_normalize("0b6f2f9d3c1e4a5b8c7d6e5f4a3b2c1d", g)));
	cr_assert(not(proto_guid_normalize("0b6f2f9d-3c1e-4a5b-8c7d-6e5f4a3b2c1g",
	    g)));
	cr_assert(not(proto_guid_normalize("{0b6f2f9d-3c1e-4a5b-8c7d-6e5f4a3b2c1d",
	    g)));
	cr_assert(not(proto_guid_normalize("", g)));
	cr_assert(not(proto_guid_normalize(NULL, g)));

	vsock_service_id(PROTO_DEFAULT_PORT, sid, sizeof sid);
	cr_assert(eq(str, sid, "0000cc97-facb-11e6-bd58-64006a7986d3"));
	vsock_service_id(0xfffffffe, sid, sizeof sid);
	cr_assert(eq(str, sid, "fffffffe-facb-11e6-bd58-64006a7986d3"));
}

/* ------------------------------------------------------------------ */
/* health.c against a host played by the test */

static struct {
	char		 dir[64];
	char		 host_path[128];
	struct agent	 a;
	int		 listen_fd;
	int		 conn;		/* the agent's connection, host side */
	char		 buf[1 << 20];
	size_t		 len;
} hx;

static void
set(const char *key, const char *value)
{
	char err[CONFIG_ERR_LEN];
	cr_assert(eq(int, config_set(&hx.a.cfg, key, value, err, sizeof err), 0),
	    "%s: %s", key, err);
}

static void
subdir(const char *key, const char *name)
{
	char p[160];
	snprintf(p, sizeof p, "%s/%s", hx.dir, name);
	set(key, p);
}

static void
agent_setup(const char *address)
{
	memset(&hx.a, 0, sizeof hx.a);
	hx.conn = hx.listen_fd = -1;
	hx.len = 0;
	snprintf(hx.dir, sizeof hx.dir, "/tmp/wda-health-XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(hx.dir), NULL)));
	snprintf(hx.host_path, sizeof hx.host_path, "%s/host.sock", hx.dir);
	config_init(&hx.a.cfg);
	subdir("desktop_dir", "desktop");
	subdir("socket.path", "docker.sock");
	subdir("links.bin_dir", "bin");
	subdir("links.plugin_dir", "plugins");
	subdir("state_dir", "state");
	subdir("control_socket", "control.sock");
	set("distro", "unit");
	set("host.interval", "1");
	if (address != NULL)
		set("host.address", address);
	hx.a.base = event_base_new();
	hx.a.desktop = desktop_new(&hx.a.cfg);
	hx.a.socket = socket_new(hx.a.base, &hx.a.cfg, &hx.a.manifest, -1, false);
	cr_assert(hx.a.desktop != NULL && hx.a.socket != NULL);
	snprintf(hx.a.instance_id, sizeof hx.a.instance_id,
	    "0123456789abcdef0123456789abcdef");
	signal(SIGPIPE, SIG_IGN);
}

static void
agent_teardown(void)
{
	health_free(hx.a.health, hx.a.stopping);
	hx.a.health = NULL;
	socket_free(hx.a.socket);
	hx.a.socket = NULL;
	desktop_free(hx.a.desktop);
	hx.a.desktop = NULL;
	if (hx.conn >= 0)
		close(hx.conn);
	if (hx.listen_fd >= 0)
		close(hx.listen_fd);
	event_base_free(hx.a.base);
	rmdir(hx.a.cfg.desktop_dir);
	config_free(&hx.a.cfg);
	unlink(hx.host_path);
	rmdir(hx.dir);
}

static void
host_listen(void)
{
	struct sockaddr_un sun;
	socklen_t sunlen = util_sockaddr_un(&sun, hx.host_path);
	hx.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(eq(int, bind(hx.listen_fd, (struct sockaddr *)&sun, sunlen),
	    0));
	cr_assert(eq(int, listen(hx.listen_fd, 4), 0));
}

/* Run the agent's loop for a moment: up to 10 ms, or one event. */
static void
pump(void)
{
	struct timeval tv = { 0, 10000 };
	event_base_loopexit(hx.a.base, &tv);
	event_base_loop(hx.a.base, EVLOOP_ONCE);
}

static struct json_object *
host_status(void)
{
	return health_status_json(hx.a.health);
}

static bool
host_state_is(const char *state)
{
	struct json_object *o = host_status(), *v;
	bool is = json_object_object_get_ex(o, "state", &v) &&
	    strcmp(json_object_get_string(v), state) == 0;
	json_object_put(o);
	return is;
}

static void
pump_until_state(const char *state)
{
	for (int i = 0; i < WAIT_MS / 10 && !host_state_is(state); i++)
		pump();
	cr_assert(host_state_is(state), "the channel never got to %s", state);
}

static void
host_accept(void)
{
	struct pollfd pfd = { .fd = hx.listen_fd, .events = POLLIN };
	for (int i = 0; i < WAIT_MS / 10 && poll(&pfd, 1, 0) == 0; i++)
		pump();
	hx.conn = accept4(hx.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	cr_assert(ge(int, hx.conn, 0), "the agent did not connect");
}

/* The next line from the agent (pumping its loop), as JSON; NULL on EOF. */
static struct json_object *
host_read(void)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		char *nl = memchr(hx.buf, '\n', hx.len);
		if (nl != NULL) {
			struct proto_item it;
			size_t n = (size_t)(nl - hx.buf);
			cr_assert(le(sz, n, (size_t)PROTO_OUT_LINE_MAX));
			cr_assert(eq(int, proto_parse_line(hx.buf, n, &it),
			    PROTO_STEP_MESSAGE), "%.*s: %s", (int)n, hx.buf,
			    it.message);
			memmove(hx.buf, nl + 1, hx.len - n - 1);
			hx.len -= n + 1;
			char w[512];
			cr_assert(eq(int, proto_check_agent_message(it.msg, w,
			    sizeof w), 0), "%s", w);
			return it.msg;
		}
		/* read(2): in one test the host is a pipe from a child. */
		ssize_t r = read(hx.conn, hx.buf + hx.len, sizeof hx.buf - hx.len);
		if (r == 0)
			return NULL;
		if (r > 0)
			hx.len += (size_t)r;
		else
			pump();
	}
	cr_fail("no line from the agent within %d ms", WAIT_MS);
	return NULL;
}

static const char *
type_of(struct json_object *m)
{
	return json_object_get_string(json_object_object_get(m, "type"));
}

static void
host_send(const char *text)
{
	size_t len = strlen(text);
	cr_assert(eq(sz, (size_t)send(hx.conn, text, len, MSG_NOSIGNAL), len));
}

/* Read until a message of this type; the others are dropped. */
static struct json_object *
host_expect(const char *type)
{
	for (int i = 0; i < 50; i++) {
		struct json_object *m = host_read();
		cr_assert(not(eq(ptr, m, NULL)), "EOF waiting for a %s", type);
		if (strcmp(type_of(m), type) == 0)
			return m;
		json_object_put(m);
	}
	cr_fail("no %s", type);
	return NULL;
}

/* host.address: the test's socket */
static void
use_test_host(void)
{
	char addr[160];
	snprintf(addr, sizeof addr, "unix:%s", hx.host_path);
	set("host.address", addr);
}

static void
host_start(void)
{
	use_test_host();
	host_listen();
	hx.a.health = agent_health_new(&hx.a);
	host_accept();
}

/* Connect a test host and read past the hello and the first report. */
static void
host_connected(void)
{
	host_start();
	json_object_put(host_expect("hello"));
	json_object_put(host_expect("report"));
}

TestSuite(health, .fini = agent_teardown, .timeout = 30);

Test(health, off_outside_wsl2_without_address)
{
	agent_setup(NULL);
	if (wsl_kernel_is_wsl2())
		cr_skip_test("this kernel is WSL 2; auto would mean vsock:2");
	hx.a.health = agent_health_new(&hx.a);
	cr_assert(not(eq(ptr, hx.a.health, NULL)));
	struct json_object *o = host_status(), *v;
	char w[256];
	cr_assert(host_state_is("off"));
	cr_assert(json_object_object_get_ex(o, "last_error", &v));
	assert_has(json_object_get_string(v), "not WSL 2");
	json_object_put(o);
	/* Its status conforms, and nothing is ever attempted. */
	o = agent_status_json(&hx.a);
	struct json_object *msg = json_object_new_object();
	json_object_object_add(msg, "type", json_object_new_string("report"));
	json_object_object_add(msg, "seq", json_object_new_int(1));
	json_object_object_add(msg, "status", o);
	cr_assert(eq(int, proto_check_agent_message(msg, w, sizeof w), 0), "%s", w);
	json_object_put(msg);
	for (int i = 0; i < 5; i++)
		pump();
	cr_assert(host_state_is("off"));
}

Test(health, off_when_none)
{
	agent_setup("none");
	hx.a.health = agent_health_new(&hx.a);
	cr_assert(host_state_is("off"));
	health_state_changed(hx.a.health);	/* harmless */
}

Test(health, vsock_cid_1_fails_and_backs_off)
{
	agent_setup("vsock:1:52375");
	hx.a.health = agent_health_new(&hx.a);
	pump_until_state("backoff");
	struct json_object *o = host_status(), *v;
	cr_assert(json_object_object_get_ex(o, "last_error", &v) && v != NULL,
	    "the failure is kept for status");
	cr_assert(json_object_object_get_ex(o, "service_id", &v));
	cr_assert(eq(str, (char *)json_object_get_string(v),
	    "0000cc97-facb-11e6-bd58-64006a7986d3"));
	json_object_put(o);
}

Test(health, hello_then_report_then_ping)
{
	agent_setup(NULL);
	host_start();

	struct json_object *m = host_read();
	cr_assert(eq(str, (char *)type_of(m), "hello"));
	cr_assert(eq(str, (char *)json_object_get_string(
	    json_object_object_get(m, "distro")), "unit"));
	cr_assert(eq(int, json_object_get_int(json_object_object_get(m,
	    "interval_s")), 1));
	json_object_put(m);
	m = host_read();
	cr_assert(eq(str, (char *)type_of(m), "report"));
	cr_assert(eq(int, json_object_get_int(json_object_object_get(m, "seq")),
	    1));
	json_object_put(m);
	cr_assert(host_state_is("connected"));

	host_send("{\"type\":\"request\",\"id\":\"p\",\"request\":\"ping\","
	    "\"args\":{\"echo\":\"x\"}}\n");
	m = host_expect("reply");
	cr_assert(eq(str, (char *)json_object_get_string(
	    json_object_object_get(m, "id")), "p"));
	struct json_object *res = json_object_object_get(m, "result");
	cr_assert(eq(str, (char *)json_object_get_string(
	    json_object_object_get(res, "echo")), "x"));
	json_object_put(m);

	host_send("{\"type\":\"request\",\"id\":2,\"request\":\"status\"}\n");
	m = host_expect("reply");
	res = json_object_object_get(m, "result");
	cr_assert(json_object_object_get_ex(res, "healthy", NULL));
	json_object_put(m);

	/* Reports keep coming at the interval, numbered in turn. */
	m = host_expect("report");
	cr_assert(ge(int, json_object_get_int(json_object_object_get(m, "seq")),
	    2));
	json_object_put(m);
}

Test(health, event_on_meaningful_change_only)
{
	agent_setup(NULL);
	set("host.interval", "3600");
	host_connected();

	/* Nothing meaningful changed: no event. */
	health_state_changed(hx.a.health);
	health_state_changed(hx.a.health);
	host_send("{\"type\":\"request\",\"id\":1,\"request\":\"ping\"}\n");
	struct json_object *m = host_read();
	cr_assert(eq(str, (char *)type_of(m), "reply"), "no event came first");
	json_object_put(m);

	/* Docker Desktop's tree comes, and a look sees it. */
	cr_assert(eq(int, mkdir(hx.a.cfg.desktop_dir, 0755), 0));
	desktop_look(hx.a.desktop);
	health_state_changed(hx.a.health);
	m = host_read();
	cr_assert(eq(str, (char *)type_of(m), "event"));
	/* The tree's arrival changes the problems too; nothing else. */
	cr_assert(eq(str, (char *)json_object_to_json_string(
	    json_object_object_get(m, "changed")), "[ \"desktop\", \"problems\" ]"));
	json_object_put(m);
}

Test(health, bad_input_answered_then_closed)
{
	agent_setup(NULL);
	set("host.interval", "3600");
	host_connected();

	host_send("not json\n");
	struct json_object *m = host_expect("reply");
	cr_assert(eq(ptr, json_object_object_get(m, "id"), NULL));
	cr_assert(eq(str, (char *)json_object_get_string(
	    json_object_object_get(m, "error")), "bad-json"));
	json_object_put(m);

	host_send("{\"type\":\"request\",\"id\":9,\"request\":\"nope\"}\n");
	m = host_expect("reply");
	cr_assert(eq(str, (char *)json_object_get_string(
	    json_object_object_get(m, "error")), "unknown-request"));
	cr_assert(eq(int, json_object_get_int(json_object_object_get(m, "id")),
	    9));
	json_object_put(m);

	/* Nine more bad lines make ten within the window. */
	for (int i = 0; i < PROTO_BAD_MAX - 1; i++)
		host_send("{bad\n");
	for (int i = 0; i < PROTO_BAD_MAX - 1; i++)
		json_object_put(host_expect("reply"));
	m = host_expect("bye");
	cr_assert(eq(str, (char *)json_object_get_string(
	    json_object_object_get(m, "reason")), "bad-input"));
	json_object_put(m);
	cr_assert(eq(ptr, host_read(), NULL), "then the connection ends");
	pump_until_state("backoff");
}

Test(health, lost_host_backs_off_and_reconnects)
{
	agent_setup(NULL);
	host_connected();
	close(hx.conn);
	hx.conn = -1;
	hx.len = 0;
	pump_until_state("backoff");
	/* It comes back within the first wait (1 to 3 s). */
	host_accept();
	json_object_put(host_expect("hello"));
	struct json_object *o = host_status(), *v;
	cr_assert(json_object_object_get_ex(o, "connects", &v));
	cr_assert(eq(int, json_object_get_int(v), 2));
	json_object_put(o);
}

/*
 * A host that is not root nor the agent's user may look but not change:
 * played by a child that drops to nobody.
 */
Test(health, forbidden_for_untrusted_host)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to play another user");
	agent_setup(NULL);
	use_test_host();
	cr_assert(eq(int, chmod(hx.dir, 0777), 0));
	int p[2];
	cr_assert(eq(int, pipe(p), 0));
	pid_t pid = fork();
	cr_assert(ge(int, pid, 0));
	if (pid == 0) {
		close(p[0]);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		struct sockaddr_un sun;
		socklen_t sunlen = util_sockaddr_un(&sun, hx.host_path);
		int l = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(l, (struct sockaddr *)&sun, sunlen) < 0 ||
		    listen(l, 1) < 0)
			_exit(3);
		(void)!write(p[1], "L", 1);
		int c = accept(l, NULL, NULL);
		const char *req = "{\"type\":\"request\",\"id\":1,\"request\":"
		    "\"disable\"}\n{\"type\":\"request\",\"id\":2,\"request\":"
		    "\"ping\"}\n";
		(void)!write(c, req, strlen(req));
		/* Pass on what the agent says, for the parent to read. */
		char buf[65536];
		ssize_t n;
		while ((n = read(c, buf, sizeof buf)) > 0)
			(void)!write(p[1], buf, (size_t)n);
		_exit(0);
	}
	close(p[1]);
	char ready;
	cr_assert(eq(sz, (size_t)read(p[0], &ready, 1), (size_t)1));
	hx.a.health = agent_health_new(&hx.a);
	hx.conn = p[0];
	fcntl(hx.conn, F_SETFL, O_NONBLOCK);
	json_object_put(host_expect("hello"));
	struct json_object *m = host_expect("reply");
	cr_assert(eq(str, (char *)json_object_get_string(
	    json_object_object_get(m, "error")), "forbidden"));
	json_object_put(m);
	m = host_expect("reply");
	cr_assert(json_object_get_boolean(json_object_object_get(m, "ok")),
	    "ping is allowed");
	json_object_put(m);
	cr_assert(not(hx.a.disabled));
	health_free(hx.a.health, hx.a.stopping);
	hx.a.health = NULL;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}
