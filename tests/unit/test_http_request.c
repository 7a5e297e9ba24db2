/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request.c, the client -> engine follower, driven in memory as the proxy
 * drives it over sockets (http_request_run): every stream is split at
 * every byte boundary, byte by byte and in pieces of every small size, and
 * what the engine receives (and what the client is answered, when a
 * request is refused) must be exactly what it is when the stream arrives
 * whole, and what the test says it is.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "wire/create.h"
#include "wire/http.h"
#include "wire/reply.h"
#include "wire/request.h"

/* Pieces of every size up to this, beside every single split. */
#define PIECES_MAX	16

/*
 * A stand-in for binds.c: /home/... goes to /E/home/... (/E/mk/home/...
 * when it is to be made for a known caller), /missing... is refused,
 * /later/... is "not yet" when asked an odd time (its mount under way),
 * then rewritten as /home/... is.
 */
static int
hook(void *arg, const struct http_bind_source *s, char **repl, char *why,
    size_t whylen)
{
	int *calls = arg;
	(*calls)++;
	if (strncmp(s->path, "/missing", 8) == 0) {
		snprintf(why, whylen, "bind source path does not exist: %s",
		    s->path);
		return -1;
	}
	bool later = strncmp(s->path, "/later/", 7) == 0;
	if (later && *calls % 2 == 1)
		return 1;
	if (s->kind == HTTP_SOURCE_VOLUME || (!later &&
	    strncmp(s->path, "/home/", 6) != 0))
		return 0;
	return asprintf(repl, "/E%s%s", s->create && s->caller->known ?
	    "/mk" : "", s->path) < 0 ? -1 : 0;
}

/* What one run gave: the engine's view, the client's answer, the asks. */
struct seen {
	char	*engine;
	size_t	 engine_len;
	char	*refusal;	/* NULL: none */
	size_t	 refusal_len;
	int	 asked;		/* how often the hook was asked */
	size_t	 told;		/* requests told to the answer follower */
	bool	 no_more;	/* and told that no more will be followed */
};

static void
seen_free(struct seen *s)
{
	free(s->engine);
	free(s->refusal);
}

/* One run; both followers' buffers counted against budget (NULL: none). */
static struct seen
run_with(const char *in, size_t len, size_t first, size_t piece,
    bool hooked, struct http_budget *budget)
{
	static const struct http_caller dev = { true, 1000, 1000 };
	struct http_request r;
	struct http_reply answers;
	struct seen s = { 0 };
	http_request_init(&r);
	http_reply_init(&answers);
	r.stream.budget = answers.stream.budget = budget;
	http_request_pair(&r, &answers);
	s.engine = http_request_run(&r, in, len, first, piece, &dev,
	    hooked ? hook : NULL, &s.asked, &s.engine_len);
	cr_assert(not(eq(ptr, s.engine, NULL)));
	s.refusal = http_request_refusal(&r, &s.refusal_len);
	s.told = answers.q_len;
	s.no_more = answers.no_more;
	http_request_free(&r);
	http_reply_free(&answers);
	return s;
}

static struct seen
run(const char *in, size_t len, size_t first, size_t piece, bool hooked)
{
	return run_with(in, len, first, piece, hooked, NULL);
}

static void
same(const struct seen *got, const struct seen *want, const char *how,
    size_t k)
{
	cr_assert(eq(sz, got->engine_len, want->engine_len),
	    "%s %zu: the engine got %zu bytes, not %zu:\n%.*s", how, k,
	    got->engine_len, want->engine_len, (int)got->engine_len,
	    got->engine);
	cr_assert(eq(int, memcmp(got->engine, want->engine, want->engine_len),
	    0), "%s %zu: the engine got other bytes:\n%.*s", how, k,
	    (int)got->engine_len, got->engine);
	cr_assert(eq(int, got->refusal != NULL, want->refusal != NULL),
	    "%s %zu: refused or not", how, k);
	if (want->refusal != NULL)
		cr_assert(eq(int, got->refusal_len == want->refusal_len &&
		    memcmp(got->refusal, want->refusal, want->refusal_len) == 0,
		    1), "%s %zu: another answer:\n%.*s", how, k,
		    (int)got->refusal_len, got->refusal);
	cr_assert(eq(int, got->asked, want->asked), "%s %zu: the hook was "
	    "asked %d times, not %d", how, k, got->asked, want->asked);
	cr_assert(eq(sz, got->told, want->told), "%s %zu: %zu requests told "
	    "to the answers, not %zu", how, k, got->told, want->told);
	cr_assert(eq(int, got->no_more, want->no_more), "%s %zu", how, k);
}

/*
 * The stream whole gives `want' (and `refusal', or none); split anywhere,
 * it gives the same.  Returns what the whole stream gave.
 */
static struct seen
check_every_split(const char *in, size_t len, const char *want, size_t wlen,
    const char *refusal, bool hooked)
{
	struct seen whole = run(in, len, SIZE_MAX, SIZE_MAX, hooked);
	cr_assert(eq(sz, whole.engine_len, wlen), "whole: the engine got:\n"
	    "%.*s", (int)whole.engine_len, whole.engine);
	cr_assert(eq(int, memcmp(whole.engine, want, wlen), 0), "whole: the "
	    "engine got:\n%.*s", (int)whole.engine_len, whole.engine);
	if (refusal == NULL)
		cr_assert(eq(ptr, whole.refusal, NULL), "refused: %s",
		    whole.refusal);
	else {
		cr_assert(not(eq(ptr, whole.refusal, NULL)), "not refused");
		cr_assert(eq(sz, whole.refusal_len, strlen(refusal)));
		cr_assert(eq(int, memcmp(whole.refusal, refusal,
		    strlen(refusal)), 0), "the client was answered:\n%.*s",
		    (int)whole.refusal_len, whole.refusal);
	}
	/* One split at each byte boundary: in a request line, a header
	 * name, CRLF CRLF, a chunk-size line, between chunks, a body. */
	for (size_t k = 1; k < len; k++) {
		struct seen s = run(in, len, k, SIZE_MAX, hooked);
		same(&s, &whole, "split at", k);
		seen_free(&s);
	}
	/* Pieces of every small size, byte by byte first. */
	for (size_t p = 1; p <= PIECES_MAX; p++) {
		struct seen s = run(in, len, p, p, hooked);
		same(&s, &whole, "pieces of", p);
		seen_free(&s);
	}
	return whole;
}

static char *
error_reply(const char *message)
{
	size_t n;
	char *r = http_error_reply(400, message, &n);
	cr_assert(not(eq(ptr, r, NULL)));
	return r;
}

/* A create with body, then a ping, checked at every split: want_body. */
static struct seen
check_create_then_ping(const char *body, const char *want_body)
{
#define CREATE_THEN_PING "POST /v1.41/containers/create?name=x HTTP/1.1\r\n" \
	"Host: docker\r\nContent-Type: application/json\r\n" \
	"Content-Length: %zu\r\n\r\n%sGET /_ping HTTP/1.1\r\n\r\n"
	char *in, *want;
	int n = asprintf(&in, CREATE_THEN_PING, strlen(body), body);
	int wn = asprintf(&want, CREATE_THEN_PING, strlen(want_body),
	    want_body);
	cr_assert(n > 0 && wn > 0);
	struct seen s = check_every_split(in, (size_t)n, want, (size_t)wn,
	    NULL, true);
	free(in);
	free(want);
	return s;
}

/* ------------------------------------------------------------------ */

Test(http_request, pipelined_requests_pass_byte_exact)
{
	const char *reqs = "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"
	    "POST /v1.41/images/load HTTP/1.1\r\nContent-Length: 10\r\n\r\n"
	    "0123456789"
	    "POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"
	    "GET /v1.41/info HTTP/1.1\r\n\r\n";
	struct seen s = check_every_split(reqs, strlen(reqs), reqs,
	    strlen(reqs), NULL, true);
	cr_assert(eq(sz, s.told, 4), "each request told to the answers");
	cr_assert(eq(int, s.asked, 0));
	seen_free(&s);
}

Test(http_request, a_create_is_rewritten_with_new_length)
{
	const char *body = "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":"
	    "[\"/home/dev/my proj:/w\",\"/srv:/s:ro\"]}}";
	const char *want_body = "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":"
	    "[\"/E/mk/home/dev/my proj:/w\",\"/srv:/s:ro\"]}}";
	struct seen s = check_create_then_ping(body, want_body);
	cr_assert(eq(int, s.asked, 2), "each source asked about once");
	cr_assert(eq(sz, s.told, 2));
	seen_free(&s);
}

Test(http_request, a_create_whose_hook_says_not_yet_is_asked_again_whole)
{
	const char *body = "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":"
	    "[\"/later/app:/w\",\"/srv:/s:ro\"]}}";
	const char *want_body = "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":"
	    "[\"/E/mk/later/app:/w\",\"/srv:/s:ro\"]}}";
	struct seen s = check_create_then_ping(body, want_body);
	cr_assert(eq(int, s.asked, 3), "not yet (the walk stops there), then "
	    "each source once");
	cr_assert(eq(sz, s.told, 2), "the create told once, not twice");
	seen_free(&s);
}

Test(http_request, a_chunked_create_is_decoded_and_rewritten)
{
	const char *in = "POST /containers/create HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "10\r\n{\"HostConfig\":{\"\r\n"
	    "1d\r\nMounts\":[{\"Type\":\"bind\",\"Sour\r\n"
	    "19\r\nce\":\"/home/a\",\"Target\":\"/\r\n"
	    "4;ext=1\r\na\"}]\r\n2\r\n}}\r\n0\r\nTrailer: x\r\n\r\n"
	    "GET /_ping HTTP/1.1\r\n\r\n";
	const char *body = "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\","
	    "\"Source\":\"/E/home/a\",\"Target\":\"/a\"}]}}";
	char *want;
	int wn = asprintf(&want, "POST /containers/create HTTP/1.1\r\n"
	    "Content-Length: %zu\r\n\r\n%sGET /_ping HTTP/1.1\r\n\r\n",
	    strlen(body), body);
	cr_assert(wn > 0);
	struct seen s = check_every_split(in, strlen(in), want, (size_t)wn,
	    NULL, true);
	cr_assert(eq(int, s.asked, 1));
	seen_free(&s);
	free(want);
}

Test(http_request, a_volume_create_has_its_device_rewritten)
{
	const char *body = "{\"Name\":\"v1\",\"DriverOpts\":{\"device\":"
	    "\"/home/dev/vol\",\"o\":\"bind\",\"type\":\"none\"}}";
	const char *want_body = "{\"Name\":\"v1\",\"DriverOpts\":{\"device\":"
	    "\"/E/home/dev/vol\",\"o\":\"bind\",\"type\":\"none\"}}";
	char *in, *want;
	int n = asprintf(&in, "POST /v1.45/volumes/create HTTP/1.1\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	int wn = asprintf(&want, "POST /v1.45/volumes/create HTTP/1.1\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(want_body), want_body);
	cr_assert(n > 0 && wn > 0);
	struct seen s = check_every_split(in, (size_t)n, want, (size_t)wn,
	    NULL, true);
	cr_assert(eq(int, s.asked, 1));
	seen_free(&s);
	free(in);
	free(want);
}

/* The body comes with the rewritten head: no 100-continue to wait for. */
Test(http_request, a_create_asking_for_100_continue_is_held_and_sent_whole)
{
	const char *body = "{\"HostConfig\":{\"Binds\":[\"/home/a:/a\"]}}";
	const char *want_body = "{\"HostConfig\":{\"Binds\":"
	    "[\"/E/mk/home/a:/a\"]}}";
	char *in, *want;
	int n = asprintf(&in, "POST /containers/create HTTP/1.1\r\n"
	    "Expect: 100-continue\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(body), body);
	int wn = asprintf(&want, "POST /containers/create HTTP/1.1\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(want_body), want_body);
	cr_assert(n > 0 && wn > 0);
	struct seen s = check_every_split(in, (size_t)n, want, (size_t)wn,
	    NULL, true);
	seen_free(&s);
	free(in);
	free(want);
}

Test(http_request, a_refused_create_reaches_the_engine_as_nothing)
{
	const char *ping = "GET /_ping HTTP/1.1\r\n\r\n";
	const char *body = "{\"HostConfig\":{\"Binds\":[\"/missing/x:/x\"]}}";
	char *in;
	int n = asprintf(&in, "%sPOST /containers/create HTTP/1.1\r\n"
	    "Content-Length: %zu\r\n\r\n%sGET /_ping HTTP/1.1\r\n\r\n", ping,
	    strlen(body), body);
	cr_assert(n > 0);
	char *refusal = error_reply("bind source path does not exist: "
	    "/missing/x");
	struct seen s = check_every_split(in, (size_t)n, ping, strlen(ping),
	    refusal, true);
	cr_assert(s.no_more, "the answers stop at the refusal");
	cr_assert(eq(sz, s.told, 2));
	seen_free(&s);
	free(refusal);
	free(in);
}

Test(http_request, ambiguous_framing_is_refused)
{
	const char *in = "POST /x HTTP/1.1\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
	char *refusal = error_reply("bad request: both Content-Length and "
	    "Transfer-Encoding");
	struct seen s = check_every_split(in, strlen(in), "", 0, refusal,
	    true);
	cr_assert(eq(sz, s.told, 0));
	seen_free(&s);
	free(refusal);
}

/* After an upgrade, bytes that look like a create are the stream's. */
Test(http_request, after_a_hijack_the_rest_passes_untouched)
{
	const char *in = "POST /v1.41/containers/abc/attach?stream=1&stdin=1 "
	    "HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
	    "POST /containers/create HTTP/1.1\r\nContent-Length: 39\r\n\r\n"
	    "{\"HostConfig\":{\"Binds\":[\"/home/x:/x\"]}}";
	struct seen s = check_every_split(in, strlen(in), in, strlen(in),
	    NULL, true);
	cr_assert(eq(int, s.asked, 0));
	cr_assert(eq(sz, s.told, 1));
	cr_assert(s.no_more);
	seen_free(&s);
	/* exec start hijacks without asking for an upgrade. */
	const char *exec = "POST /v1.41/exec/123/start HTTP/1.1\r\n"
	    "Content-Length: 16\r\n\r\n{\"Detach\":false}"
	    "POST /containers/create HTTP/1.1\r\nContent-Length: 39\r\n\r\n"
	    "{\"HostConfig\":{\"Binds\":[\"/home/x:/x\"]}}";
	s = check_every_split(exec, strlen(exec), exec, strlen(exec), NULL,
	    true);
	cr_assert(eq(int, s.asked, 0));
	seen_free(&s);
}

Test(http_request, a_request_that_closes_is_the_last_followed)
{
	const char *in = "GET /_ping HTTP/1.0\r\n\r\n"
	    "POST /containers/create HTTP/1.1\r\nContent-Length: 39\r\n\r\n"
	    "{\"HostConfig\":{\"Binds\":[\"/home/x:/x\"]}}";
	struct seen s = check_every_split(in, strlen(in), in, strlen(in),
	    NULL, true);
	cr_assert(eq(int, s.asked, 0));
	cr_assert(eq(sz, s.told, 1));
	seen_free(&s);
}

Test(http_request, not_http_passes_untouched)
{
	/* A raw protocol (the benchmarks' sink), then what looks like HTTP. */
	const char *in = "SINK 40\n0123456789"
	    "POST /containers/create HTTP/1.1\r\nContent-Length: 39\r\n\r\n"
	    "{\"HostConfig\":{\"Binds\":[\"/home/x:/x\"]}}";
	struct seen s = check_every_split(in, strlen(in), in, strlen(in),
	    NULL, true);
	cr_assert(eq(int, s.asked, 0));
	cr_assert(eq(sz, s.told, 0));
	seen_free(&s);
}

Test(http_request, without_a_hook_creates_pass_as_they_come)
{
	const char *in = "POST /containers/create HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "27\r\n{\"HostConfig\":{\"Binds\":[\"/home/x:/x\"]}}\r\n0\r\n\r\n"
	    "GET /_ping HTTP/1.1\r\n\r\n";
	struct seen s = check_every_split(in, strlen(in), in, strlen(in),
	    NULL, false);
	cr_assert(eq(sz, s.told, 2));
	seen_free(&s);
}

Test(http_request, a_create_over_the_bound_passes_untouched)
{
	/* Only its head and the start of its body: it is never held. */
	char in[512];
	int n = snprintf(in, sizeof in, "POST /containers/create HTTP/1.1\r\n"
	    "Content-Length: %d\r\n\r\n{\"HostConfig\":{\"Binds\":"
	    "[\"/home/x:/x\"]},\"Pad\":\"aaaa", HTTP_CREATE_BODY_MAX + 1);
	struct seen s = check_every_split(in, (size_t)n, in, (size_t)n, NULL,
	    true);
	cr_assert(eq(int, s.asked, 0));
	seen_free(&s);
}

Test(http_request, unreadable_creates_pass_as_they_came)
{
	const char *in = "POST /containers/create HTTP/1.1\r\n"
	    "Content-Length: 14\r\n\r\n{\"HostConfig\":"
	    "POST /containers/create HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\n[1,2]\r\n0\r\n\r\n";
	struct seen s = check_every_split(in, strlen(in), in, strlen(in),
	    NULL, true);
	cr_assert(eq(int, s.asked, 0));
	cr_assert(eq(sz, s.told, 2));
	seen_free(&s);
}

/* A create of `body' bytes (a JSON string of padding), then a ping. */
static char *
padded_create(size_t body, size_t *len)
{
	const char *pre = "{\"Image\":\"bb\",\"HostConfig\":{\"Binds\":"
	    "[\"/home/x:/x\"]},\"Pad\":\"";
	size_t fixed = strlen(pre) + 2;
	cr_assert(gt(sz, body, fixed));
	char *json = malloc(body + 1);
	cr_assert(not(eq(ptr, json, NULL)));
	memcpy(json, pre, strlen(pre));
	memset(json + strlen(pre), 'a', body - fixed);
	memcpy(json + body - 2, "\"}", 3);
	char *in = NULL;
	int n = asprintf(&in, "POST /containers/create HTTP/1.1\r\n"
	    "Content-Length: %zu\r\n\r\n%sGET /_ping HTTP/1.1\r\n\r\n", body,
	    json);
	free(json);
	cr_assert(gt(int, n, 0));
	*len = (size_t)n;
	return in;
}

Test(http_request, past_the_budget_a_create_is_refused_with_the_limit)
{
	struct http_budget budget = { 0, 256 * 1024 };
	size_t len;
	char *in = padded_create(300 * 1024, &len);
	struct seen s = run_with(in, len, 4096, 4096, true, &budget);
	cr_assert(eq(int, s.asked, 0), "a create past the budget was read");
	cr_assert(eq(sz, s.engine_len, 0), "the engine got %zu bytes",
	    s.engine_len);
	cr_assert(not(eq(ptr, s.refusal, NULL)));
	cr_assert(eq(int, strncmp(s.refusal, "HTTP/1.1 503 ", 13), 0), "%s",
	    s.refusal);
	cr_assert(not(eq(ptr, strstr(s.refusal, "0 MiB of requests"), NULL)),
	    "the answer names the limit: %s", s.refusal);
	cr_assert(eq(sz, budget.held, 0), "%zu bytes still counted",
	    budget.held);
	seen_free(&s);
	free(in);

	/* Within it, the same kind of create is followed as ever. */
	in = padded_create(100 * 1024, &len);
	s = run_with(in, len, 4096, 4096, true, &budget);
	cr_assert(eq(int, s.asked, 1));
	cr_assert(eq(ptr, s.refusal, NULL));
	cr_assert(not(eq(ptr, memmem(s.engine, s.engine_len, "[\"/E",
	    4), NULL)), "the create was not rewritten: %.300s", s.engine);
	cr_assert(eq(sz, budget.held, 0), "%zu bytes still counted",
	    budget.held);
	seen_free(&s);
	free(in);
}

Test(http_request, what_others_hold_counts_against_the_budget)
{
	/* Another connection holds all but 8 KiB: a head cannot be read. */
	struct http_budget budget = { 120 * 1024, 128 * 1024 };
	const char *in = "GET /_ping HTTP/1.1\r\n\r\n";
	struct seen s = run_with(in, strlen(in), 4096, 4096, true, &budget);
	cr_assert(not(eq(ptr, s.refusal, NULL)));
	cr_assert(eq(int, strncmp(s.refusal, "HTTP/1.1 503 ", 13), 0));
	cr_assert(eq(sz, budget.held, 120 * 1024));
	seen_free(&s);
	/* It lets go: the same request passes. */
	budget.held = 0;
	s = run_with(in, strlen(in), 4096, 4096, true, &budget);
	cr_assert(eq(ptr, s.refusal, NULL));
	cr_assert(eq(sz, s.engine_len, strlen(in)));
	cr_assert(eq(sz, budget.held, 0));
	seen_free(&s);
}
