/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c (request heads, chunked framing, the heads the proxy writes),
 * mangled input through every parser, and the proxy following HTTP with
 * a create hook, against real sockets: a child runs the proxy, the test
 * plays both the client and the engine and checks byte for byte what the
 * engine receives.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/log.h"
#include "wire/create.h"
#include "wire/http.h"
#include "wire/routes.h"
#include "io/proxy.h"
#include "base/sha256.h"
#include "testlib.h"

#define WAIT_MS	3000

/* ------------------------------------------------------------------ */
/* Heads */

static enum http_result
parse(const char *text, struct http_head *h)
{
	struct http_head_parser p;
	char why[256];
	http_head_parser_init(&p);
	return http_head_parse(&p, text, strlen(text), h, why, sizeof why);
}

static enum http_result
parse_why(const char *text, char *why, size_t len)
{
	struct http_head_parser p;
	struct http_head h;
	http_head_parser_init(&p);
	return http_head_parse(&p, text, strlen(text), &h, why, len);
}

Test(http_head, simple_get)
{
	struct http_head h;
	const char *t = "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n";
	cr_assert(eq(int, parse(t, &h), HTTP_DONE));
	cr_assert(eq(sz, h.len, strlen(t)));
	cr_assert(eq(str, h.method, "GET"));
	cr_assert(eq(int, h.minor, 1));
	cr_assert(eq(int, h.framing, HTTP_BODY_NONE));
	cr_assert(not(h.close));
	cr_assert(not(h.upgrade));
	cr_assert(eq(int, memcmp(t + h.target_off, "/_ping", 6), 0));
	cr_assert(eq(sz, h.target_len, 6));
}

Test(http_head, incomplete_then_split_reads)
{
	const char *t = "POST /v1.41/containers/create?name=x HTTP/1.1\r\n"
	    "Host: docker\r\nContent-Length: 12\r\n\r\n{\"Image\":1}\n";
	size_t head = strstr(t, "\r\n\r\n") + 4 - t;
	struct http_head_parser p;
	struct http_head h;
	char why[128];
	http_head_parser_init(&p);
	/* Byte by byte: MORE until the blank line, then DONE. */
	for (size_t i = 1; i < head; i++)
		cr_assert(eq(int, http_head_parse(&p, t, i, &h, why, sizeof why),
		    HTTP_MORE), "at %zu", i);
	cr_assert(eq(int, http_head_parse(&p, t, head, &h, why, sizeof why),
	    HTTP_DONE));
	cr_assert(eq(sz, h.len, head));
	cr_assert(eq(int, h.framing, HTTP_BODY_LENGTH));
	cr_assert(eq(u64, h.length, 12));
}

Test(http_head, pipelined_head_ends_at_first_blank_line)
{
	const char *t = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
	struct http_head h;
	cr_assert(eq(int, parse(t, &h), HTTP_DONE));
	cr_assert(eq(sz, h.len, 19));
	struct http_head h2;
	cr_assert(eq(int, parse(t + h.len, &h2), HTTP_DONE));
	cr_assert(eq(int, memcmp(t + h.len + h2.target_off, "/b", 2), 0));
}

Test(http_head, bare_lf_and_leading_empty_lines)
{
	struct http_head h;
	cr_assert(eq(int, parse("\r\nGET / HTTP/1.1\nHost: x\n\n", &h),
	    HTTP_DONE));
	cr_assert(eq(str, h.method, "GET"));
}

Test(http_head, chunked_and_case)
{
	struct http_head h;
	cr_assert(eq(int, parse("POST /build HTTP/1.1\r\ntransfer-ENCODING: "
	    "Chunked\r\n\r\n", &h), HTTP_DONE));
	cr_assert(eq(int, h.framing, HTTP_BODY_CHUNKED));
}

Test(http_head, content_length_zero_is_no_body)
{
	struct http_head h;
	cr_assert(eq(int, parse("POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
	    &h), HTTP_DONE));
	cr_assert(eq(int, h.framing, HTTP_BODY_NONE));
}

Test(http_head, refuses_ambiguous_framing)
{
	char why[256];
	cr_assert(eq(int, parse_why("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", why, sizeof why), HTTP_BAD));
	cr_assert(not(eq(ptr, strstr(why, "Content-Length and Transfer"), NULL)));
	cr_assert(eq(int, parse_why("POST / HTTP/1.1\r\nTransfer-Encoding: "
	    "chunked\r\nContent-Length: 3\r\n\r\n", why, sizeof why), HTTP_BAD));
	cr_assert(eq(int, parse_why("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
	    "Content-Length: 4\r\n\r\n", why, sizeof why), HTTP_BAD));
	cr_assert(not(eq(ptr, strstr(why, "two different"), NULL)));
	cr_assert(eq(int, parse_why("POST / HTTP/1.1\r\nContent-Length: -1\r\n"
	    "\r\n", why, sizeof why), HTTP_BAD));
	cr_assert(eq(int, parse_why("POST / HTTP/1.1\r\nContent-Length: 1,2\r\n"
	    "\r\n", why, sizeof why), HTTP_BAD));
	cr_assert(eq(int, parse_why("POST / HTTP/1.1\r\nContent-Length: "
	    "99999999999999999999\r\n\r\n", why, sizeof why), HTTP_BAD));
	cr_assert(eq(int, parse_why("POST / HTTP/1.1\r\nTransfer-Encoding: "
	    "gzip, chunked\r\n\r\n", why, sizeof why), HTTP_BAD));
	cr_assert(eq(int, parse_why("POST / HTTP/1.1\r\nTransfer-Encoding: "
	    "chunked\r\nTransfer-Encoding: chunked\r\n\r\n", why, sizeof why),
	    HTTP_BAD));
}

Test(http_head, same_content_length_twice_is_fine)
{
	struct http_head h;
	cr_assert(eq(int, parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n", &h), HTTP_DONE));
	cr_assert(eq(u64, h.length, 5));
}

Test(http_head, malformed_heads_are_opaque)
{
	char why[256];
	const char *bad[] = {
		"GET\r\n\r\n",
		"GET /\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"GET / FTP/1.1\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
		"GET / HTTP/1.1\r\nName : v\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
		"GET /a\x01 HTTP/1.1\r\n\r\n",
		"\r\n\r\n",
	};
	/* Not requests to follow: passed on, the engine answers them. */
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert(eq(int, parse_why(bad[i], why, sizeof why),
		    HTTP_OPAQUE), "head %zu: not OPAQUE", i);
}

Test(http_head, not_http_is_seen_from_the_first_line)
{
	char why[256];
	/* No blank line needed: the first line already says it. */
	cr_assert(eq(int, parse_why("SINK 1048576\n\0\0", why, sizeof why),
	    HTTP_OPAQUE));
	cr_assert(eq(int, parse_why("PRI * HTTP/2.0\r\n", why, sizeof why),
	    HTTP_OPAQUE));
	cr_assert(eq(int, parse_why("GET / HTTP/1.1\r\nHost: x\r\n", why,
	    sizeof why), HTTP_MORE));
	cr_assert(eq(int, parse_why("GET / HTT", why, sizeof why), HTTP_MORE));
}

Test(http_head, huge_head_is_too_large)
{
	size_t n = HTTP_HEAD_MAX + 100;
	char *t = malloc(n + 1);
	cr_assert(not(eq(ptr, t, NULL)));
	memcpy(t, "GET / HTTP/1.1\r\nX-Big: ", 23);
	memset(t + 23, 'a', n - 23);
	t[n] = '\0';
	char why[256];
	cr_assert(eq(int, parse_why(t, why, sizeof why), HTTP_TOO_LARGE));
	/* Just under the bound, complete: fine. */
	size_t m = HTTP_HEAD_MAX - 4;
	memcpy(t + m, "\r\n\r\n", 5);
	struct http_head h;
	cr_assert(eq(int, parse(t, &h), HTTP_DONE));
	cr_assert(eq(sz, h.len, HTTP_HEAD_MAX));
	free(t);
}

Test(http_head, connection_semantics)
{
	struct http_head h;
	cr_assert(eq(int, parse("GET / HTTP/1.0\r\n\r\n", &h), HTTP_DONE));
	cr_assert(h.close, "HTTP/1.0 closes by default");
	cr_assert(eq(int, parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
	    "\r\n", &h), HTTP_DONE));
	cr_assert(not(h.close));
	cr_assert(eq(int, parse("GET / HTTP/1.1\r\nConnection: foo, Close\r\n"
	    "\r\n", &h), HTTP_DONE));
	cr_assert(h.close);
	cr_assert(eq(int, parse("POST /containers/x/attach HTTP/1.1\r\n"
	    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n", &h), HTTP_DONE));
	cr_assert(h.upgrade);
	cr_assert(eq(int, parse("GET / HTTP/1.1\r\nUpgrade: tcp\r\n\r\n", &h),
	    HTTP_DONE));
	cr_assert(not(h.upgrade), "Upgrade without Connection: upgrade");
	cr_assert(eq(int, parse("POST / HTTP/1.1\r\nExpect: 100-continue\r\n"
	    "Content-Length: 2\r\n\r\n", &h), HTTP_DONE));
	cr_assert(h.expect_continue);
}

/* ------------------------------------------------------------------ */
/* Chunked framing */

/* Follow a whole chunked body fed in pieces of `step' bytes. */
static enum http_chunk_step
follow(const char *body, size_t len, size_t step, size_t *end)
{
	struct http_chunked c;
	char why[256];
	size_t pos = 0, fed = 0;
	http_chunked_init(&c);
	enum http_chunk_step s = HTTP_CHUNK_MORE;
	while (pos < len || s == HTTP_CHUNK_DATA) {
		fed = fed + step > len ? len : fed + step;
		if (fed < pos)
			fed = pos;
		size_t used;
		s = http_chunked_feed(&c, body + pos, fed - pos, &used, why,
		    sizeof why);
		pos += used;
		if (s == HTTP_CHUNK_DONE || s == HTTP_CHUNK_BAD)
			break;
		if (s == HTTP_CHUNK_DATA) {
			size_t take = fed - pos < c.left ? fed - pos : c.left;
			pos += take;
			http_chunked_take(&c, take);
			if (take == 0 && fed == len)
				break;
		} else if (fed == len)
			break;
	}
	*end = pos;
	return s;
}

Test(http_chunked, whole_and_split)
{
	const char *b = "5\r\nhello\r\n1A;name=value;q=\"a;b\"\r\n"
	    "abcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\nGET /next";
	size_t want = strstr(b, "GET /next") - b;
	for (size_t step = 1; step <= strlen(b); step++) {
		size_t end;
		cr_assert(eq(int, follow(b, strlen(b), step, &end),
		    HTTP_CHUNK_DONE), "step %zu", step);
		cr_assert(eq(sz, end, want), "step %zu", step);
	}
}

Test(http_chunked, zero_only_and_bare_lf)
{
	size_t end;
	cr_assert(eq(int, follow("0\r\n\r\n", 5, 5, &end), HTTP_CHUNK_DONE));
	cr_assert(eq(sz, end, 5));
	cr_assert(eq(int, follow("0\n\n", 3, 1, &end), HTTP_CHUNK_DONE));
	cr_assert(eq(int, follow("3 ;ext\r\nabc\r\n000\r\n\r\n", 20, 3, &end),
	    HTTP_CHUNK_DONE));
}

Test(http_chunked, malformed)
{
	const char *bad[] = {
		"\r\n",			/* no size */
		"g\r\n",		/* not hex */
		"3\r\nabcX\r\n",	/* no CRLF after data */
		"3\r\nabc\n0\r\n\r\n",	/* LF alone after data */
		"1 2\r\n",		/* white space inside the size */
		"-1\r\n",
		"11111111111111111\r\n", /* too large */
		"3\rx\n",		/* bare CR */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t end;
		cr_assert(eq(int, follow(bad[i], strlen(bad[i]), 64, &end),
		    HTTP_CHUNK_BAD), "body %zu accepted", i);
	}
}

Test(http_chunked, long_extension_line_refused)
{
	size_t n = HTTP_CHUNK_LINE_MAX + 10;
	char *b = malloc(n + 3);
	memcpy(b, "1;", 2);
	memset(b + 2, 'x', n - 2);
	memcpy(b + n, "\r\n", 3);
	size_t end;
	cr_assert(eq(int, follow(b, n + 2, 4096, &end), HTTP_CHUNK_BAD));
	free(b);
}

Test(http_chunked, decode)
{
	const char *b = "4\r\n{\"a\"\r\n3;x\r\n:1}\r\n0\r\n\r\n";
	char *out, why[256];
	size_t n;
	cr_assert(eq(int, http_chunked_decode(b, strlen(b), 100, &out, &n, why,
	    sizeof why), 0), "%s", why);
	cr_assert(eq(sz, n, 7));
	cr_assert(eq(str, out, "{\"a\":1}"));
	free(out);
	cr_assert(eq(int, http_chunked_decode(b, strlen(b), 5, &out, &n, why,
	    sizeof why), -1), "over the bound");
	cr_assert(eq(int, http_chunked_decode(b, 10, 100, &out, &n, why,
	    sizeof why), -1), "truncated");
}

/* ------------------------------------------------------------------ */
/* Heads the proxy writes */

Test(http_write, head_gets_new_length)
{
	const char *head = "POST /v1.41/containers/create HTTP/1.1\r\n"
	    "Host: docker\r\nTransfer-Encoding: chunked\r\n"
	    "Expect: 100-continue\r\n"
	    "Content-Type: application/json\r\n\r\n";
	struct http_head h;
	cr_assert(eq(int, parse(head, &h), HTTP_DONE));
	size_t n;
	char *out = http_head_with_length(head, &h, 1234, &n);
	cr_assert(eq(str, out, "POST /v1.41/containers/create HTTP/1.1\r\n"
	    "Host: docker\r\nContent-Type: application/json\r\n"
	    "Content-Length: 1234\r\n\r\n"));
	cr_assert(eq(sz, n, strlen(out)));
	free(out);
}

Test(http_write, head_with_bare_lf_lines_gets_crlf)
{
	/* Found by fuzzing: every short LF line grows by a CR. */
	const char *head = "POST /containers/create HTTP/1.1\nA:\nB:\nC:\n"
	    "D:\nE:\nF:\nG:\nH:\nI:\nJ:\nK:\nL:\nM:\nN:\nO:\nP:\nQ:\nR:\n"
	    "S:\nT:\nU:\nV:\nW:\nX:\nY:\nZ:\nContent-Length: 9\n\n";
	struct http_head h;
	cr_assert(eq(int, parse(head, &h), HTTP_DONE));
	size_t n;
	char *out = http_head_with_length(head, &h, 7, &n);
	cr_assert(eq(sz, n, strlen(out)));
	cr_assert(not(eq(ptr, strstr(out, "Z:\r\nContent-Length: 7\r\n\r\n"),
	    NULL)), "%s", out);
	free(out);
}

Test(http_write, error_reply)
{
	size_t n;
	char *r = http_error_reply(400, "bind source path does not exist: /a "
	    "\"b\"", &n);
	cr_assert(eq(sz, n, strlen(r)));
	cr_assert(eq(int, strncmp(r, "HTTP/1.1 400 Bad Request\r\n", 26), 0));
	const char *body = strstr(r, "\r\n\r\n") + 4;
	struct json_object *o = json_tokener_parse(body), *m;
	cr_assert(json_object_object_get_ex(o, "message", &m));
	cr_assert(eq(str, (char *)json_object_get_string(m),
	    "bind source path does not exist: /a \"b\""));
	char cl[64];
	snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", strlen(body));
	cr_assert(not(eq(ptr, strstr(r, cl), NULL)));
	json_object_put(o);
	free(r);
}

/* ------------------------------------------------------------------ */
/* Mangled input: never a crash, never a read out of bounds (ASan). */

static uint32_t
prng(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

static int
keep_all(void *arg, const struct http_bind_source *s, char **repl, char *why,
    size_t whylen)
{
	return asprintf(repl, "/r%s", s->path) < 0 ? -1 : 0;
}

/* A failure says why: BAD, OPAQUE and the like never come with why empty. */
#define assert_said_why(cond, why) \
	cr_assert(said_why((cond), (why)), "%s without a reason", #cond)

static bool
said_why(bool failed, const char *why)
{
	return !failed || why[0] != '\0';
}

/* How often each outcome came up, so the mangling reaches every branch. */
struct mangled_seen {
	int	head[HTTP_TOO_LARGE + 1];
	int	chunk[HTTP_CHUNK_BAD + 1];
	int	decoded, undecodable;
	int	rewrite[CREATE_UNREADABLE + 1];
};

static void
mangled_head(const char *in, size_t n, struct mangled_seen *seen)
{
	struct http_head_parser p;
	struct http_head h;
	char why[256] = "";
	http_head_parser_init(&p);
	enum http_result r = http_head_parse(&p, in, n, &h, why, sizeof why);
	cr_assert(le(int, (int)r, HTTP_TOO_LARGE));
	cr_assert(ne(int, r, HTTP_TOO_LARGE), "%zu bytes cannot be too large", n);
	assert_said_why(r == HTTP_BAD || r == HTTP_OPAQUE, why);
	seen->head[r]++;
	if (r != HTTP_DONE)
		return;
	cr_assert(gt(sz, h.len, 0));
	cr_assert(le(sz, h.len, n), "the head ends inside the input");
	cr_assert(le(sz, h.target_off + h.target_len, h.len));
	cr_assert(ne(str, h.method, ""));
	const struct route *route = route_of(&h, in);
	cr_assert(not(eq(ptr, (void *)route, NULL)));
	cr_assert(le(int, (int)route->request, ROUTE_REQUEST_HIJACK));
	cr_assert(le(int, (int)route->answer, ROUTE_ANSWER_VOLUME));
}

static void
mangled_chunks(const char *in, size_t n, struct mangled_seen *seen)
{
	struct http_chunked c;
	size_t pos = 0, used;
	char why[256] = "";
	enum http_chunk_step s = HTTP_CHUNK_MORE;
	http_chunked_init(&c);
	for (int guard = 0; guard < 1000 && pos <= n; guard++) {
		s = http_chunked_feed(&c, in + pos, n - pos, &used, why, sizeof why);
		cr_assert(le(int, (int)s, HTTP_CHUNK_BAD));
		cr_assert(le(sz, used, n - pos), "used past the input");
		assert_said_why(s == HTTP_CHUNK_BAD, why);
		pos += used;
		if (s != HTTP_CHUNK_DATA)
			break;
		size_t take = n - pos < c.left ? n - pos : c.left;
		if (take == 0)
			break;
		pos += take;
		http_chunked_take(&c, take);
	}
	seen->chunk[s]++;
}

static void
mangled_bodies(const char *in, size_t n, struct mangled_seen *seen)
{
	char *out = NULL, *dec = NULL, why[256] = "";
	size_t olen = 0;
	if (http_chunked_decode(in, n, 1024, &dec, &olen, why, sizeof why) == 0) {
		cr_assert(not(eq(ptr, dec, NULL)));
		cr_assert(le(sz, olen, n), "decoding never adds bytes");
		cr_assert(eq(chr, dec[olen], '\0'));
		seen->decoded++;
	} else {
		assert_said_why(true, why);
		seen->undecodable++;
	}
	free(dec);
	why[0] = '\0';
	enum create_result r = create_rewrite_container(in, n, NULL, keep_all, NULL,
	    &out, &olen, why, sizeof why);
	cr_assert(le(int, (int)r, CREATE_UNREADABLE));
	cr_assert(eq(int, out != NULL, r == CREATE_CHANGED),
	    "a new body exactly when the body changed");
	cr_assert(not(eq(int, r, CREATE_REFUSED)),
	    "keep_all refuses nothing");
	assert_said_why(r == CREATE_UNREADABLE, why);
	if (r == CREATE_CHANGED)
		cr_assert(not(eq(ptr, strstr(out, "\"/r/"), NULL)),
		    "a changed body holds the replacement: %s", out);
	seen->rewrite[r]++;
	free(out);
}

Test(http_mangled, heads_chunks_and_bodies)
{
	static const char *seeds[] = {
		"POST /v1.41/containers/create?name=x HTTP/1.1\r\nHost: d\r\n"
		    "Content-Length: 10\r\nConnection: Upgrade\r\n\r\n",
		"5;a=\"b\"\r\nhello\r\n0\r\nT: x\r\n\r\n",
		"{\"HostConfig\":{\"Binds\":[\"/a b:/c:ro\",\"v:/d\"],\"Mounts\":"
		    "[{\"Type\":\"bind\",\"Source\":\"/e\"}]}}",
	};
	struct mangled_seen seen = { 0 };
	uint32_t st = 2463534242u;
	char buf[512];
	for (int iter = 0; iter < 30000; iter++) {
		const char *seed = seeds[iter % 3];
		size_t n = strlen(seed);
		memcpy(buf, seed, n);
		for (int k = prng(&st) % 6; k >= 0; k--) {
			size_t at = prng(&st) % n;
			switch (prng(&st) % 3) {
			case 0:	buf[at] = (char)prng(&st); break;
			case 1:	n = at + 1; break;		/* cut */
			default: buf[at] = "\r\n:;\" 0{}[]"[prng(&st) % 12];
			}
		}
		/* A heap copy of exactly n bytes: ASan sees any overread. */
		char *in = malloc(n);
		cr_assert(not(eq(ptr, in, NULL)));
		memcpy(in, buf, n);
		mangled_head(in, n, &seen);
		mangled_chunks(in, n, &seen);
		mangled_bodies(in, n, &seen);
		free(in);
	}
	/* The mangling lands on both sides of every parser. */
	cr_assert(gt(int, seen.head[HTTP_DONE], 0));
	cr_assert(gt(int, seen.head[HTTP_MORE], 0));
	cr_assert(gt(int, seen.head[HTTP_BAD], 0));
	cr_assert(gt(int, seen.head[HTTP_OPAQUE], 0));
	cr_assert(gt(int, seen.chunk[HTTP_CHUNK_DONE], 0));
	cr_assert(gt(int, seen.chunk[HTTP_CHUNK_BAD], 0));
	cr_assert(gt(int, seen.decoded, 0));
	cr_assert(gt(int, seen.undecodable, 0));
	cr_assert(gt(int, seen.rewrite[CREATE_CHANGED], 0));
	cr_assert(gt(int, seen.rewrite[CREATE_UNCHANGED], 0));
	cr_assert(gt(int, seen.rewrite[CREATE_UNREADABLE], 0));
}

/* ------------------------------------------------------------------ */
/* The proxy following HTTP, against real sockets. */

static struct {
	char	 dir[64];
	char	 listen_path[128];
	char	 engine_path[128];
	pid_t	 proxy_pid;
	int	 engine_lfd;
	size_t	 hold_max;	/* 0: the proxy's own */
} px;

/* The child's hook: /home/... -> /E/<hash>, /missing refused. */
static int
child_hook(void *arg, const struct http_bind_source *s, char **repl,
    char *why, size_t whylen)
{
	const char *source = s->path;
	if (strncmp(source, "/missing", 8) == 0) {
		snprintf(why, whylen, "bind source path does not exist: %s",
		    source);
		return -1;
	}
	if (strncmp(source, "/home/", 6) != 0)
		return 0;
	char hex[65];
	sha256_hex(source, hex);
	return asprintf(repl, "/E/%s", hex) < 0 ? -1 : 0;
}

static void
px_setup(void)
{
	snprintf(px.dir, sizeof px.dir, "/tmp/test_httpx.XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(px.dir), NULL)));
	snprintf(px.listen_path, sizeof px.listen_path, "%s/l.sock", px.dir);
	snprintf(px.engine_path, sizeof px.engine_path, "%s/e.sock", px.dir);
	signal(SIGPIPE, SIG_IGN);
	px.engine_lfd = unix_listen(px.engine_path, 64);
	int lfd = unix_listen(px.listen_path, 64);
	pid_t parent = getpid();
	px.proxy_pid = fork();
	cr_assert(ge(int, px.proxy_pid, 0));
	if (px.proxy_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		close(px.engine_lfd);
		fcntl(lfd, F_SETFL, O_NONBLOCK);
		log_open(false, LOG_LVL_ERR);
		struct event_base *base = event_base_new();
		/* The engine as desktop.c hands it over: walked to, O_PATH. */
		int efd = open(px.engine_path, O_PATH | O_CLOEXEC);
		struct proxy *p = efd >= 0 ? proxy_new(base, lfd, efd,
		    px.engine_path, 64) : NULL;
		if (p == NULL)
			_exit(1);
		proxy_set_create_hook(p, child_hook, NULL);
		if (px.hold_max > 0)
			proxy_set_hold_max(p, px.hold_max);
		event_base_dispatch(base);
		_exit(0);
	}
	close(lfd);
}

static void
px_teardown(void)
{
	if (px.proxy_pid > 0) {
		kill(px.proxy_pid, SIGKILL);
		waitpid(px.proxy_pid, NULL, 0);
	}
	close(px.engine_lfd);
	unlink(px.listen_path);
	unlink(px.engine_path);
	rmdir(px.dir);
}

/* A client connection and the engine side the proxy opened for it. */
static void
px_connect(int *client, int *engine)
{
	*client = unix_connect(px.listen_path);
	*engine = accept_within(px.engine_lfd, WAIT_MS);
}

/* Read exactly len bytes (or fail after WAIT_MS of silence). */
static char *
recv_n(int fd, size_t len)
{
	char *buf = malloc(len + 1);
	cr_assert(not(eq(ptr, buf, NULL)));
	read_exactly(fd, buf, len, WAIT_MS);
	buf[len] = '\0';
	return buf;
}

static void
expect_recv(int fd, const char *want, size_t len)
{
	char *got = recv_n(fd, len);
	cr_assert(eq(int, memcmp(got, want, len), 0), "got other bytes:\n%.*s",
	    (int)(len > 600 ? 600 : len), got);
	free(got);
}

/* The client writes while the engine reads, as real ones would. */
static void
send_while_engine_reads(int c, int e, const char *all, size_t total)
{
	pid_t w = fork();
	cr_assert(ge(int, w, 0));
	if (w == 0) {
		write_all(c, all, total);
		_exit(0);
	}
	expect_recv(e, all, total);
	waitpid(w, NULL, 0);
}

static void
expect_nothing_more(int fd)
{
	cr_assert(not(wait_for(fd, POLLIN, 100)), "unexpected bytes");
}

TestSuite(proxy_http, .init = px_setup, .fini = px_teardown, .timeout = 30);

Test(proxy_http, pipelined_requests_pass_byte_exact)
{
	int c, e;
	px_connect(&c, &e);
	const char *reqs = "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"
	    "POST /v1.41/images/load HTTP/1.1\r\nContent-Length: 10\r\n\r\n"
	    "0123456789"
	    "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"
	    "GET /v1.41/info HTTP/1.1\r\n\r\n";
	write_all(c, reqs, strlen(reqs));
	expect_recv(e, reqs, strlen(reqs));
	/* The engine's answer comes back untouched. */
	write_all(e, "HTTP/1.1 200 OK\r\n\r\n", 19);
	expect_recv(c, "HTTP/1.1 200 OK\r\n\r\n", 19);
	close(c);
	close(e);
}

/* Half a request waits for the rest without the proxy spinning. */
Test(proxy_http, a_partial_request_waits_without_spinning)
{
	int c, e;
	px_connect(&c, &e);
	const char *first = "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n";
	const char *half = "GET /v1.41/in", *rest = "fo HTTP/1.1\r\n\r\n";
	char both[128];
	snprintf(both, sizeof both, "%s%s", first, half);
	write_all(c, both, strlen(both));
	expect_recv(e, first, strlen(first));
	long t0 = cpu_ticks(px.proxy_pid);
	expect_nothing_more(e);		/* 100 ms */
	expect_nothing_more(e);
	expect_nothing_more(e);
	long spent = cpu_ticks(px.proxy_pid) - t0;
	cr_assert(le(long, spent, sysconf(_SC_CLK_TCK) / 20),
	    "the proxy used %ld ticks waiting 300 ms for the rest", spent);
	write_all(c, rest, strlen(rest));
	char second[128];
	snprintf(second, sizeof second, "%s%s", half, rest);
	expect_recv(e, second, strlen(second));
	close(c);
	close(e);
}

Test(proxy_http, create_is_rewritten_with_new_length)
{
	int c, e;
	px_connect(&c, &e);
	const char *body = "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":"
	    "[\"/home/dev/my proj:/w\"]}}";
	char req[1024];
	int n = snprintf(req, sizeof req, "POST /v1.41/containers/create?name=x "
	    "HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%sGET /_ping HTTP/1.1\r\n\r\n",
	    strlen(body), body);
	write_all(c, req, (size_t)n);
	char hex[65], want_body[512], want[1024];
	sha256_hex("/home/dev/my proj", hex);
	int bl = snprintf(want_body, sizeof want_body, "{\"Image\":\"bb\","
	    "\"HostConfig\":{\"Binds\":[\"/E/%s:/w\"]}}", hex);
	int wl = snprintf(want, sizeof want, "POST /v1.41/containers/create?"
	    "name=x HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json"
	    "\r\nContent-Length: %d\r\n\r\n%sGET /_ping HTTP/1.1\r\n\r\n", bl,
	    want_body);
	expect_recv(e, want, (size_t)wl);
	expect_nothing_more(e);
	close(c);
	close(e);
}

Test(proxy_http, chunked_create_is_decoded_and_rewritten)
{
	int c, e;
	px_connect(&c, &e);
	const char *req = "POST /containers/create HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "10\r\n{\"HostConfig\":{\"\r\n"
	    "1d\r\nMounts\":[{\"Type\":\"bind\",\"Sour\r\n"
	    "19\r\nce\":\"/home/a\",\"Target\":\"/\r\n"
	    "4\r\na\"}]\r\n2\r\n}}\r\n0\r\n\r\n";
	write_all(c, req, strlen(req));
	char hex[65], body[256], want[512];
	sha256_hex("/home/a", hex);
	int bl = snprintf(body, sizeof body, "{\"HostConfig\":{\"Mounts\":"
	    "[{\"Type\":\"bind\",\"Source\":\"/E/%s\",\"Target\":\"/a\"}]}}",
	    hex);
	int wl = snprintf(want, sizeof want, "POST /containers/create "
	    "HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s", bl, body);
	expect_recv(e, want, (size_t)wl);
	close(c);
	close(e);
}

Test(proxy_http, create_without_binds_is_untouched)
{
	int c, e;
	px_connect(&c, &e);
	const char *req = "POST /v1.41/containers/create HTTP/1.1\r\n"
	    "Content-Length: 44\r\n\r\n"
	    "{\"Image\":\"bb\",  \"HostConfig\":{\"Binds\":null}}";
	write_all(c, req, strlen(req));
	expect_recv(e, req, strlen(req));
	close(c);
	close(e);
}

Test(proxy_http, missing_source_is_answered_locally)
{
	int c, e;
	px_connect(&c, &e);
	const char *req = "POST /containers/create HTTP/1.1\r\n"
	    "Content-Length: 42\r\n\r\n"
	    "{\"HostConfig\":{\"Binds\":[\"/missing/x:/x\"]}}";
	write_all(c, req, strlen(req));
	/* The engine sees nothing but EOF; then the client gets a 400. */
	cr_assert(wait_for(e, POLLIN, WAIT_MS));
	char ch;
	cr_assert(eq(int, (int)read(e, &ch, 1), 0), "the engine got bytes");
	close(e);
	char buf[1024];
	size_t got = 0;
	while (got < sizeof buf - 1 && wait_for(c, POLLIN, WAIT_MS)) {
		ssize_t n = read(c, buf + got, sizeof buf - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	cr_assert(eq(int, strncmp(buf, "HTTP/1.1 400 ", 13), 0), "%s", buf);
	cr_assert(not(eq(ptr, strstr(buf, "{\"message\":\"bind source path does "
	    "not exist: /missing/x\"}"), NULL)), "%s", buf);
	close(c);
}

Test(proxy_http, bad_framing_is_refused)
{
	int c, e;
	px_connect(&c, &e);
	const char *req = "POST /x HTTP/1.1\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
	write_all(c, req, strlen(req));
	cr_assert(wait_for(e, POLLIN, WAIT_MS));
	char ch;
	cr_assert(eq(int, (int)read(e, &ch, 1), 0));
	close(e);
	char *got = recv_n(c, 13);
	cr_assert(eq(str, got, "HTTP/1.1 400 "));
	free(got);
	close(c);
}

Test(proxy_http, not_http_passes_untouched)
{
	int c, e;
	px_connect(&c, &e);
	/* A raw protocol (the benchmarks' sink): bytes, then more bytes. */
	const char *a = "SINK 40\n0123456789";
	const char *b = "POST /containers/create HTTP/1.1\r\n\r\n";
	write_all(c, a, strlen(a));
	expect_recv(e, a, strlen(a));
	write_all(c, b, strlen(b));
	expect_recv(e, b, strlen(b));
	close(c);
	close(e);
}

Test(proxy_http, upgrade_then_blind_both_ways)
{
	int c, e;
	px_connect(&c, &e);
	const char *req = "POST /v1.41/containers/abc/attach?stream=1&stdin=1 "
	    "HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
	/* Raw stream bytes that look like a create must pass untouched. */
	const char *raw = "POST /containers/create HTTP/1.1\r\n"
	    "Content-Length: 40\r\n\r\n{\"HostConfig\":{\"Binds\":[\"/home/x:/"
	    "x\"]}}";
	write_all(c, req, strlen(req));
	expect_recv(e, req, strlen(req));
	write_all(e, "HTTP/1.1 101 UPGRADED\r\n\r\n", 26);
	expect_recv(c, "HTTP/1.1 101 UPGRADED\r\n\r\n", 26);
	write_all(c, raw, strlen(raw));
	expect_recv(e, raw, strlen(raw));
	/* Half-close passes through. */
	shutdown(c, SHUT_WR);
	cr_assert(wait_for(e, POLLIN, WAIT_MS));
	char ch;
	cr_assert(eq(int, (int)read(e, &ch, 1), 0));
	write_all(e, "bye", 3);
	expect_recv(c, "bye", 3);
	close(e);
	close(c);
}

Test(proxy_http, exec_start_with_body_then_blind)
{
	int c, e;
	px_connect(&c, &e);
	const char *req = "POST /v1.41/exec/123/start HTTP/1.1\r\n"
	    "Content-Length: 14\r\n\r\n{\"Detach\":false}";
	/* (Content-Length 14 covers "{\"Detach\":fals"; the rest is stream.) */
	write_all(c, req, strlen(req));
	expect_recv(e, req, strlen(req));
	close(c);
	close(e);
}

Test(proxy_http, large_body_over_a_mebibyte)
{
	int c, e;
	px_connect(&c, &e);
	size_t blen = 3 * 1024 * 1024 + 17;
	char head[256];
	int hl = snprintf(head, sizeof head, "POST /v1.41/images/load HTTP/1.1"
	    "\r\nContent-Length: %zu\r\n\r\n", blen);
	const char *next = "GET /_ping HTTP/1.1\r\n\r\n";
	size_t total = (size_t)hl + blen + strlen(next);
	char *all = malloc(total);
	memcpy(all, head, (size_t)hl);
	for (size_t i = 0; i < blen; i++)
		all[hl + i] = (char)(i * 7 + 3);
	memcpy(all + hl + blen, next, strlen(next));
	send_while_engine_reads(c, e, all, total);
	free(all);
	close(c);
	close(e);
}

/* docker load: a chunked upload in 32 KiB chunks, spliced past the framing. */
Test(proxy_http, chunked_upload_passes_byte_exact)
{
	int c, e;
	px_connect(&c, &e);
	const char *head = "POST /v1.41/images/load?quiet=1 HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	const char *next = "GET /_ping HTTP/1.1\r\n\r\n";
	size_t nchunks = 300, most = 32768;
	char *all = malloc(strlen(head) + nchunks * (most + 32) + 64), *p = all;
	p += sprintf(p, "%s", head);
	for (size_t i = 0; i < nchunks; i++) {
		/* Mostly 32 KiB, some odd sizes, an extension now and then. */
		size_t len = i % 7 == 3 ? 1 + i * 37 % most : most;
		p += sprintf(p, i % 11 == 5 ? "%zx;n=%zu\r\n" : "%zx\r\n", len, i);
		for (size_t k = 0; k < len; k++)
			*p++ = (char)(i * 131 + k * 7);
		p += sprintf(p, "\r\n");
	}
	p += sprintf(p, "0\r\n\r\n%s", next);
	send_while_engine_reads(c, e, all, (size_t)(p - all));
	free(all);
	close(c);
	close(e);
}

Test(proxy_http, large_chunked_create_passes_untouched)
{
	int c, e;
	px_connect(&c, &e);
	/* A chunked create body over 16 MiB: forwarded as it came. */
	size_t chunk = 1024 * 1024, nchunks = 18;
	const char *head = "POST /containers/create HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	size_t total = strlen(head) + nchunks * (chunk + 16) + 5;
	char *all = malloc(total), *p = all;
	p += sprintf(p, "%s", head);
	for (size_t i = 0; i < nchunks; i++) {
		p += sprintf(p, "%zx\r\n", chunk);
		memset(p, 'a' + (int)i, chunk);
		p += chunk;
		p += sprintf(p, "\r\n");
	}
	p += sprintf(p, "0\r\n\r\n");
	total = (size_t)(p - all);
	send_while_engine_reads(c, e, all, total);
	free(all);
	close(c);
	close(e);
}

Test(proxy_http, huge_head_goes_blind_untouched)
{
	int c, e;
	px_connect(&c, &e);
	size_t n = HTTP_HEAD_MAX + 1000;
	char *req = malloc(n + 64);
	int hl = sprintf(req, "GET / HTTP/1.1\r\nX-Big: ");
	memset(req + hl, 'b', n - (size_t)hl);
	size_t len = n + (size_t)sprintf(req + n, "\r\n\r\n");
	write_all(c, req, len);
	expect_recv(e, req, len);
	free(req);
	close(c);
	close(e);
}

/* ------------------------------------------------------------------ */
/* The budget all connections share (issue 21). */

static void
px_setup_budget(void)
{
	px.hold_max = 1024 * 1024;
	px_setup();
}

TestSuite(proxy_budget, .init = px_setup_budget, .fini = px_teardown,
    .timeout = 30);

Test(proxy_budget, past_it_one_request_is_refused_and_others_carry_on)
{
	/* B is in the middle of a request head when A goes past. */
	int a, ae, b, be;
	px_connect(&b, &be);
	write_all(b, "GET /_pi", 8);
	px_connect(&a, &ae);
	size_t body = 1536 * 1024;
	char head[256];
	int hl = snprintf(head, sizeof head, "POST /v1.41/containers/create "
	    "HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: "
	    "%zu\r\n\r\n{\"Image\":\"bb\",\"Pad\":\"", body);
	char *all = malloc((size_t)hl + body);
	cr_assert(not(eq(ptr, all, NULL)));
	memcpy(all, head, (size_t)hl);
	memset(all + hl, 'a', body);
	memcpy(all + (size_t)hl + body - 2, "\"}", 2);
	/* A writer of its own: the proxy stops reading A past the budget. */
	pid_t w = fork();
	cr_assert(ge(int, w, 0));
	if (w == 0) {
		close(ae);	/* the engine's side is the test's alone */
		(void)send(a, all, (size_t)hl + body, MSG_NOSIGNAL);
		_exit(0);
	}
	free(all);
	/* The engine is told EOF, having seen nothing of A's create; it
	 * closes, as dockerd does, and the proxy's answer follows. */
	char one;
	cr_assert(wait_for(ae, POLLIN, WAIT_MS));
	cr_assert(eq(long, (long)recv(ae, &one, 1, 0), 0));
	close(ae);
	const char *want = "HTTP/1.1 503 ";
	expect_recv(a, want, strlen(want));
	char rest[1024];
	ssize_t n = recv(a, rest, sizeof rest - 1, 0);
	cr_assert(gt(long, (long)n, 0));
	rest[n] = '\0';
	cr_assert(not(eq(ptr, strstr(rest, "holds 1 MiB of requests"), NULL)),
	    "the answer names the limit: %s", rest);
	close(a);
	kill(w, SIGKILL);
	waitpid(w, NULL, 0);

	/* B carries on: the rest of its head, and the engine's answer. */
	const char *rest_b = "ng HTTP/1.1\r\nHost: docker\r\n\r\n";
	write_all(b, rest_b, strlen(rest_b));
	const char *ping = "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n";
	expect_recv(be, ping, strlen(ping));
	write_all(be, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", 40);
	expect_recv(b, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", 40);

	/* And once A is gone, a create within the budget is rewritten. */
	int c, ce;
	px_connect(&c, &ce);
	const char *cj = "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":"
	    "[\"/home/dev:/w\"]}}";
	char req[512];
	int rl = snprintf(req, sizeof req, "POST /v1.41/containers/create "
	    "HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s", strlen(cj), cj);
	write_all(c, req, (size_t)rl);
	char hex[65], want_body[256], want_req[512];
	sha256_hex("/home/dev", hex);
	int bl = snprintf(want_body, sizeof want_body, "{\"Image\":\"bb\","
	    "\"HostConfig\":{\"Binds\":[\"/E/%s:/w\"]}}", hex);
	int wl = snprintf(want_req, sizeof want_req, "POST /v1.41/containers/"
	    "create HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s", bl, want_body);
	expect_recv(ce, want_req, (size_t)wl);
	close(b);
	close(be);
	close(c);
	close(ce);
}
