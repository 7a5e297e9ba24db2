/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reply.c and the answers routes.c rewrites: response heads, the rewrite
 * of inspect and list answers (on what engines 20.10 and 26.1 really
 * answer, captured in the lab: tests/unit/data/answers), the follower over
 * whole streams split every way, and the proxy following answers on real
 * sockets.
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
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>

#include "base/util.h"
#include "wire/http.h"
#include "wire/reply.h"
#include "io/proxy.h"
#include "base/sha256.h"
#include "testlib.h"

#define X_SIMPLE "/mnt/wsl/docker-desktop-bind-mounts/b1/"
#define X_DESKTOP "/run/desktop/mnt/host/wsl/docker-desktop-bind-mounts/b1/"
#define USER_PATH "/home/dev/proj"

/* The test's binds.c: an exposure (either view, or below) -> the user's. */
static char *
user_path(void *arg, const char *path)
{
	static const char *const roots[] = { X_SIMPLE, X_DESKTOP };
	char hex[65];
	sha256_hex(USER_PATH, hex);
	for (size_t i = 0; i < 2; i++) {
		char x[256];
		snprintf(x, sizeof x, "%s%s", roots[i], hex);
		if (util_path_within(path, x)) {
			char *out;
			return asprintf(&out, "%s%s", USER_PATH,
			    path + strlen(x)) < 0 ? NULL : out;
		}
	}
	(void)arg;
	return NULL;
}

static char *
exposure(const char *root)
{
	char hex[65], *out;
	sha256_hex(USER_PATH, hex);
	cr_assert(ge(int, asprintf(&out, "%s%s", root, hex), 0));
	return out;
}

static char *
read_data(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", REPLY_DATA, name);
	FILE *f = fopen(path, "rb");
	cr_assert(not(eq(ptr, f, NULL)), "%s: %s", path, strerror(errno));
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void
expect(struct http_reply *r, const char *req)
{
	struct http_head_parser p;
	struct http_head h;
	char why[128];
	http_head_parser_init(&p);
	cr_assert(eq(int, http_head_parse(&p, req, strlen(req), &h, why,
	    sizeof why), HTTP_DONE), "%s", req);
	cr_assert(http_reply_expect(r, &h, req));
}

/* The client's view of a stream answering `reqs' (NUL-separated). */
static char *
run(const char *const *reqs, const char *in, size_t len, size_t first,
    size_t piece, size_t *outlen)
{
	struct http_reply r;
	http_reply_init(&r);
	for (size_t i = 0; reqs[i] != NULL; i++)
		expect(&r, reqs[i]);
	char *out = http_reply_run(&r, in, len, first, piece, user_path, NULL,
	    outlen);
	cr_assert(not(eq(ptr, out, NULL)));
	http_reply_free(&r);
	return out;
}

static char *
answer_with(const char *type, const char *body)
{
	char *out;
	cr_assert(ge(int, asprintf(&out, "HTTP/1.1 200 OK\r\nApi-Version: 1.45"
	    "\r\nContent-Type: %s\r\nDate: Tue, 01 Dec 2026 23:00:00 GMT\r\n"
	    "Content-Length: %zu\r\n\r\n%s", type, strlen(body), body), 0));
	return out;
}

/* ------------------------------------------------------------------ */

static enum http_result
rparse(const char *t, struct http_response *r)
{
	struct http_head_parser p;
	http_head_parser_init(&p);
	return http_response_parse(&p, t, strlen(t), r);
}

Test(http_reply, response_heads)
{
	struct http_response r;
	const char *t = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 12\r\n\r\n{}";
	cr_assert(eq(int, rparse(t, &r), HTTP_DONE));
	cr_assert(eq(int, r.status, 200));
	cr_assert(eq(sz, r.len, strlen(t) - 2));
	cr_assert(eq(int, r.framing, HTTP_BODY_LENGTH));
	cr_assert(eq(u64, r.length, 12));
	cr_assert(r.json);
	cr_assert(eq(int, rparse("HTTP/1.1 200 OK\r\ncontent-type: Application/"
	    "JSON; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\n", &r),
	    HTTP_DONE));
	cr_assert(r.json);
	cr_assert(eq(int, r.framing, HTTP_BODY_CHUNKED));
	cr_assert(eq(int, rparse("HTTP/1.0 200 OK\n\n", &r), HTTP_DONE));
	cr_assert(r.until_close);
	cr_assert(not(r.json));
	cr_assert(eq(int, rparse("HTTP/1.1 204 No Content\r\nContent-Type: "
	    "application/jsonx\r\n\r\n", &r), HTTP_DONE));
	cr_assert(not(r.json));
	cr_assert(eq(int, rparse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n",
	    &r), HTTP_MORE));
	cr_assert(eq(int, rparse("HTTP/1", &r), HTTP_MORE));
	cr_assert(eq(int, rparse("SSH-2.0", &r), HTTP_OPAQUE));
	cr_assert(eq(int, rparse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &r), HTTP_OPAQUE));
	cr_assert(eq(int, rparse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\n", &r), HTTP_OPAQUE));
	cr_assert(eq(int, rparse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip"
	    "\r\n\r\n", &r), HTTP_OPAQUE));
	cr_assert(eq(int, rparse("HTTP/1.1 2x0 OK\r\n\r\n", &r), HTTP_OPAQUE));
	cr_assert(eq(int, rparse("HTTP/1.1 200 OK\r\n folded\r\n\r\n", &r),
	    HTTP_OPAQUE));
	char *big = malloc(HTTP_HEAD_MAX + 64);
	int n = snprintf(big, 64, "HTTP/1.1 200 OK\r\nX: ");
	memset(big + n, 'a', HTTP_HEAD_MAX);
	big[n + HTTP_HEAD_MAX] = '\0';
	cr_assert(eq(int, rparse(big, &r), HTTP_TOO_LARGE));
	free(big);
}

/* ------------------------------------------------------------------ */
/* Real answers, from both engines of the lab. */

static void
check_real(const char *file, const char *req, const char *root,
    size_t want_paths)
{
	size_t len, olen;
	char *in = read_data(file, &len), *x = exposure(root);
	cr_assert(not(eq(ptr, strstr(in, x), NULL)), "%s names %s", file, x);
	const char *reqs[] = { req, NULL };
	char *out = run(reqs, in, len, SIZE_MAX, SIZE_MAX, &olen);
	out = realloc(out, olen + 1);
	out[olen] = '\0';
	cr_assert(eq(ptr, strstr(out, "docker-desktop-bind-mounts"), NULL),
	    "%s: an exposure path is left:\n%s", file, out);
	cr_assert(eq(ptr, strstr(out, "Transfer-Encoding"), NULL));
	size_t seen = 0;
	for (const char *p = out; (p = strstr(p, "\"" USER_PATH)) != NULL; p++)
		seen++;
	cr_assert(eq(sz, seen, want_paths), "%s:\n%s", file, out);
	/* Framed anew: Content-Length says what follows. */
	const char *cl = strstr(out, "Content-Length: ");
	const char *body = strstr(out, "\r\n\r\n");
	cr_assert(cl != NULL && body != NULL);
	cr_assert(eq(sz, strtoul(cl + 16, NULL, 10), olen - (size_t)(body + 4 -
	    out)));
	cr_assert(strstr(out, "\"/v\"") != NULL ||
	    strstr(out, "\"Name\":\"vol1\"") != NULL,
	    "the rest is still there");
	free(out);
	free(in);
	free(x);
}

#define INSPECT	"GET /containers/c1/json HTTP/1.1\r\n\r\n"
#define LIST	"GET /containers/json?all=1 HTTP/1.1\r\n\r\n"
#define VOLUMES	"GET /volumes HTTP/1.1\r\n\r\n"
#define VOLUME	"GET /volumes/vol1 HTTP/1.1\r\n\r\n"
#define CREATED	"POST /v1.41/volumes/create HTTP/1.1\r\n\r\n"

/*
 * c1 was run with -v X:/w:ro --mount type=bind,src=X,dst=/m -v vol1:/v,
 * vol1 made with --opt device=X: the inspect names X four times (two
 * Mounts[].Source, one HostConfig.Binds, one HostConfig.Mounts), the list
 * twice (its Mounts), each volume answer once (Options.device); the
 * answer (201) to the create of vol1 names it once too.
 */
Test(http_reply, engine_20_10_answers)
{
	check_real("simple-containers-c1-json.http", INSPECT, X_SIMPLE, 4);
	check_real("simple-containers-json-all-1.http", LIST, X_SIMPLE, 2);
	check_real("simple-volumes.http", VOLUMES, X_SIMPLE, 1);
	check_real("simple-volumes-vol1.http", VOLUME, X_SIMPLE, 1);
	check_real("simple-volumes-create.http", CREATED, X_SIMPLE, 1);
}

Test(http_reply, engine_26_1_answers)
{
	check_real("desktop-containers-c1-json.http", INSPECT, X_DESKTOP, 4);
	check_real("desktop-containers-json-all-1.http", LIST, X_DESKTOP, 2);
	check_real("desktop-volumes.http", VOLUMES, X_DESKTOP, 1);
	check_real("desktop-volumes-vol1.http", VOLUME, X_DESKTOP, 1);
	check_real("desktop-volumes-create.http", CREATED, X_DESKTOP, 1);
}

Test(http_reply, head_request_of_a_real_engine)
{
	size_t len, olen, ilen;
	char *head = read_data("desktop-head.http", &len);
	char *in = read_data("desktop-containers-c1-json.http", &ilen);
	char *both = malloc(len + ilen);
	memcpy(both, head, len);
	memcpy(both + len, in, ilen);
	const char *reqs[] = { "HEAD /containers/c1/json HTTP/1.1\r\n\r\n",
	    INSPECT, NULL };
	char *out = run(reqs, both, len + ilen, SIZE_MAX, SIZE_MAX, &olen);
	cr_assert(eq(int, memcmp(out, head, len), 0), "the HEAD answer is as "
	    "it was, its Content-Length no body");
	cr_assert(not(eq(ptr, memmem(out + len, olen - len, USER_PATH,
	    strlen(USER_PATH)), NULL)), "the answer after it is rewritten");
	free(out);
	free(both);
	free(in);
	free(head);
}

/* ------------------------------------------------------------------ */
/* Streams. */

/* The same stream, split at every byte boundary, gives the same bytes. */
static void
check_every_split(const char *const *reqs, const char *in, size_t len,
    const char *want, size_t wlen)
{
	size_t olen;
	char *out = run(reqs, in, len, SIZE_MAX, SIZE_MAX, &olen);
	cr_assert(eq(sz, olen, wlen), "got:\n%.*s", (int)olen, out);
	cr_assert(eq(int, memcmp(out, want, wlen), 0), "got:\n%.*s",
	    (int)olen, out);
	free(out);
	out = run(reqs, in, len, 1, 1, &olen);
	cr_assert(eq(sz, olen, wlen));
	cr_assert(eq(int, memcmp(out, want, wlen), 0), "byte by byte");
	free(out);
	for (size_t k = 1; k < len; k++) {
		out = run(reqs, in, len, k, SIZE_MAX, &olen);
		cr_assert(eq(sz, olen, wlen), "split at %zu", k);
		cr_assert(eq(int, memcmp(out, want, wlen), 0), "split at %zu",
		    k);
		free(out);
	}
}

static char *
inspect_body(const char *path)
{
	char *b;
	cr_assert(ge(int, asprintf(&b, "{\"Id\":\"c1\",\"Mounts\":[{\"Type\":"
	    "\"bind\",\"Source\":\"%s\",\"Destination\":\"/w\",\"Mode\":\"\","
	    "\"RW\":true,\"Propagation\":\"rprivate\"}],\"HostConfig\":"
	    "{\"Binds\":[\"%s:/w:ro\"]}}\n", path, path), 0));
	return b;
}

Test(http_reply, pipelined_answers_and_only_the_inspect_changes)
{
	char *x = exposure(X_DESKTOP), *xb = inspect_body(x);
	char *ub = inspect_body(USER_PATH);
	const char *ping = "HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n"
	    "\r\nOK";
	const char *logs = "HTTP/1.1 200 OK\r\nContent-Type: application/"
	    "vnd.docker.multiplexed-stream\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n5\r\nhello\r\n1c\r\n{\"Source\":\"" X_DESKTOP "\"}\r\n"
	    "0\r\n\r\n";
	char *in, *want;
	int n = asprintf(&in, "%s"
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s%s", ping, strlen(xb), xb, logs);
	int wn = asprintf(&want, "%s"
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s%s", ping, strlen(ub), ub, logs);
	cr_assert(n > 0 && wn > 0);
	const char *reqs[] = { "GET /_ping HTTP/1.1\r\n\r\n", INSPECT,
	    "GET /containers/c1/logs?stdout=1 HTTP/1.1\r\n\r\n", NULL };
	check_every_split(reqs, in, (size_t)n, want, (size_t)wn);
	free(in);
	free(want);
	free(x);
	free(xb);
	free(ub);
}

Test(http_reply, chunked_answer_is_reframed_with_content_length)
{
	char *x = exposure(X_SIMPLE), *xb = inspect_body(x);
	char *ub = inspect_body(USER_PATH);
	size_t half = strlen(xb) / 2;
	char *in, *want;
	int n = asprintf(&in, "HTTP/1.1 200 OK\r\nContent-Type: application/"
	    "json\r\nTransfer-Encoding: chunked\r\n\r\n%zx;ext=1\r\n%.*s\r\n"
	    "%zx\r\n%s\r\n0\r\nTrailer: x\r\n\r\n", half, (int)half, xb,
	    strlen(xb) - half, xb + half);
	int wn = asprintf(&want, "HTTP/1.1 200 OK\r\nContent-Type: application/"
	    "json\r\nContent-Length: %zu\r\n\r\n%s", strlen(ub), ub);
	cr_assert(n > 0 && wn > 0);
	const char *reqs[] = { INSPECT, NULL };
	check_every_split(reqs, in, (size_t)n, want, (size_t)wn);
	free(in);
	free(want);
	free(x);
	free(xb);
	free(ub);
}

/* Each case: the stream passes byte for byte. */
static void
check_untouched(const char *const *reqs, const char *in)
{
	check_every_split(reqs, in, strlen(in), in, strlen(in));
}

Test(http_reply, unchanged_answers_pass_byte_exact)
{
	/* Nothing the callback knows; Go's escapes are kept as they came. */
	const char *reqs[] = { INSPECT, NULL };
	char *in = answer_with("application/json", "{\"Id\":\"c1\", \"Mounts\":"
	    "[{\"Source\":\"/srv/x\\u003c\"}], \"Config\":{\"Labels\":"
	    "{\"a\":\"\\u0026\"}}}\n");
	check_untouched(reqs, in);
	free(in);
	/* Invalid JSON, or JSON that is not what the route answers. */
	in = answer_with("application/json", "{\"Mounts\":[{\"Source\":\""
	    X_SIMPLE "\"}]");
	check_untouched(reqs, in);
	free(in);
	in = answer_with("application/json", "[\"" X_SIMPLE "\"]");
	check_untouched(reqs, in);
	free(in);
	/* Not JSON by its type; an error status. */
	char *x = exposure(X_SIMPLE), *xb = inspect_body(x);
	in = answer_with("text/plain", xb);
	check_untouched(reqs, in);
	free(in);
	char *err;
	cr_assert(ge(int, asprintf(&err, "HTTP/1.1 404 Not Found\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(xb), xb), 0));
	check_untouched(reqs, err);
	free(err);
	/* Another route that happens to name an exposure. */
	const char *other[] = { "GET /containers/c1/top HTTP/1.1\r\n\r\n",
	    NULL };
	in = answer_with("application/json", xb);
	check_untouched(other, in);
	free(in);
	free(xb);
	free(x);
}

Test(http_reply, no_body_answers_304_204_and_100_continue)
{
	char *x = exposure(X_SIMPLE), *xb = inspect_body(x);
	char *ub = inspect_body(USER_PATH);
	const char *pre = "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n"
	    "\r\nHTTP/1.1 204 No Content\r\n\r\n"
	    "HTTP/1.1 100 Continue\r\n\r\n";
	char *in, *want;
	int n = asprintf(&in, "%sHTTP/1.1 200 OK\r\nContent-Type: application/"
	    "json\r\nContent-Length: %zu\r\n\r\n%s", pre, strlen(xb), xb);
	int wn = asprintf(&want, "%sHTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\n\r\n%s", pre,
	    strlen(ub), ub);
	cr_assert(n > 0 && wn > 0);
	const char *reqs[] = { "GET /images/x/json HTTP/1.1\r\n\r\n",
	    "POST /containers/c1/stop HTTP/1.1\r\n\r\n", INSPECT, NULL };
	check_every_split(reqs, in, (size_t)n, want, (size_t)wn);
	free(in);
	free(want);
	free(x);
	free(xb);
	free(ub);
}

Test(http_reply, upgrade_then_opaque)
{
	char *x = exposure(X_SIMPLE), *xb = inspect_body(x);
	char *in = answer_with("application/json", xb);
	char *all;
	cr_assert(ge(int, asprintf(&all, "HTTP/1.1 101 UPGRADED\r\nContent-Type:"
	    " application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\n"
	    "Upgrade: tcp\r\n\r\n%s", in), 0));
	const char *reqs[] = { "POST /containers/c1/attach?stream=1 HTTP/1.1\r\n"
	    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n", INSPECT, NULL };
	check_untouched(reqs, all);
	/* exec start: a 200 and then the raw stream. */
	const char *exec[] = { "POST /exec/e/start HTTP/1.1\r\n\r\n", INSPECT,
	    NULL };
	free(all);
	cr_assert(ge(int, asprintf(&all, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/vnd.docker.raw-stream\r\n\r\n%s", in), 0));
	check_untouched(exec, all);
	free(all);
	free(in);
	free(xb);
	free(x);
}

Test(http_reply, answers_nobody_asked_for_and_close_delimited)
{
	char *x = exposure(X_SIMPLE), *xb = inspect_body(x);
	char *in = answer_with("application/json", xb);
	const char *none[] = { NULL };
	check_untouched(none, in);
	char *all;
	cr_assert(ge(int, asprintf(&all, "HTTP/1.1 200 OK\r\n\r\nstream%s",
	    in), 0));
	const char *two[] = { "GET /events HTTP/1.1\r\n\r\n", INSPECT, NULL };
	check_untouched(two, all);
	free(all);
	free(in);
	free(xb);
	free(x);
}

Test(http_reply, over_the_bound_passes_untouched)
{
	char *x = exposure(X_SIMPLE);
	size_t pad = HTTP_REPLY_BODY_MAX + 16;
	char *body = malloc(pad + 512);
	int h = snprintf(body, 512, "{\"Mounts\":[{\"Source\":\"%s\"}],"
	    "\"Pad\":\"", x);
	memset(body + h, 'a', pad);
	strcpy(body + h + pad, "\"}\n");
	char *in = answer_with("application/json", body);
	const char *reqs[] = { INSPECT, NULL };
	size_t olen, len = strlen(in);
	char *out = run(reqs, in, len, SIZE_MAX, 65536, &olen);
	cr_assert(eq(sz, olen, len));
	cr_assert(eq(int, memcmp(out, in, len), 0));
	free(out);
	/* Chunked: held up to the bound, then passed on as it came. */
	char *ch;
	size_t blen = strlen(body);
	cr_assert(ge(int, asprintf(&ch, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%s"
	    "\r\n0\r\n\r\n", blen, body), 0));
	len = strlen(ch);
	out = run(reqs, ch, len, SIZE_MAX, 65536, &olen);
	cr_assert(eq(sz, olen, len));
	cr_assert(eq(int, memcmp(out, ch, len), 0));
	free(out);
	free(ch);
	free(in);
	free(body);
	free(x);
}

Test(http_reply, queue_overflow_stops_following)
{
	struct http_reply r;
	http_reply_init(&r);
	for (int i = 0; i < HTTP_REPLY_QUEUE; i++)
		expect(&r, "GET /_ping HTTP/1.1\r\n\r\n");
	struct http_head_parser p;
	struct http_head h;
	char why[64];
	const char *req = INSPECT;
	http_head_parser_init(&p);
	http_head_parse(&p, req, strlen(req), &h, why, sizeof why);
	cr_assert(not(http_reply_expect(&r, &h, req)));
	cr_assert(not(http_reply_expect(&r, &h, req)), "and stays so");
	http_reply_free(&r);
}

/*
 * `docker events' is one chunked answer that never ends: while its chunk
 * data is spliced the follower holds no buffer, and while it waits for the
 * next chunk only a framing read's (1,000 streams cost 1,000 x 16 KiB of
 * heap before).  The client sees the stream intact.
 */
Test(http_reply, a_long_stream_holds_little_between_chunks)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\n"
	    "Content-Type: application/json\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n";
	char in[16384], out[16384];
	size_t len = strlen(head), olen = 0, pos = 0, reads = 0;
	memcpy(in, head, len);
	for (int i = 0; i < 40; i++) {
		char ev[128];
		int n = snprintf(ev, sizeof ev, "{\"status\":\"tag\","
		    "\"id\":\"sha256:%058d\"}\n", i);
		len += (size_t)snprintf(in + len, sizeof in - len,
		    "%x\r\n%s\r\n", n, ev);
	}
	struct http_reply r;
	http_reply_init(&r);
	expect(&r, "GET /v1.45/events HTTP/1.1\r\nHost: docker\r\n\r\n");
	for (;;) {
		struct http_reply_action a;
		http_reply_next(&r, user_path, NULL, &a);
		cr_assert(not(eq(int, a.what, HTTP_REPLY_OPAQUE)));
		if (pos == len && a.what != HTTP_REPLY_SEND) {
			cr_assert(eq(int, a.what, HTTP_REPLY_READ),
			    "waits for the next chunk");
			cr_assert(le(sz, r.stream.cap, HTTP_REPLY_FRAMING_READ),
			    "and holds no more than a framing read meanwhile");
			break;
		}
		/* The engine writes each event as it happens: short reads. */
		size_t n = a.len < len - pos ? a.len : len - pos;
		n = n < 100 ? n : 100;
		switch (a.what) {
		case HTTP_REPLY_READ:
			if (pos >= sizeof head - 1) {
				cr_assert(le(sz, a.len, HTTP_REPLY_FRAMING_READ));
				cr_assert(le(sz, r.stream.cap,
				    HTTP_REPLY_FRAMING_READ), "a framing read "
				    "buffer of %zu bytes", r.stream.cap);
				reads++;
			}
			memcpy(a.data, in + pos, n);
			pos += n;
			break;
		case HTTP_REPLY_SPLICE:
			cr_assert(eq(ptr, r.stream.buf, NULL), "%zu bytes held "
			    "while chunk data is spliced", r.stream.cap);
			memcpy(out + olen, in + pos, n);
			olen += n;
			pos += n;
			break;
		default:
			memcpy(out + olen, a.data, a.len);
			olen += (n = a.len);
			break;
		}
		http_reply_done(&r, &a, n);
	}
	cr_assert(eq(sz, olen, len));
	cr_assert(eq(int, memcmp(in, out, len), 0), "the stream as it came");
	cr_assert(ge(sz, reads, 20), "%zu framing reads", reads);
	http_reply_free(&r);
}

/* ------------------------------------------------------------------ */
/* The proxy, on real sockets, in this process. */

static struct {
	char		 dir[64], lpath[128], epath[128];
	int		 lfd, efd;
	int		 epath_fd;	/* O_PATH, as desktop.c hands it over */
	struct event_base *base;
	struct proxy	*proxy;
} px;

static int
no_bind(void *arg, const struct http_bind_source *source, char **repl,
    char *why, size_t whylen)
{
	return 0;
}

static void
px_setup(void)
{
	snprintf(px.dir, sizeof px.dir, "/tmp/test_reply.XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(px.dir), NULL)));
	snprintf(px.lpath, sizeof px.lpath, "%s/l.sock", px.dir);
	snprintf(px.epath, sizeof px.epath, "%s/e.sock", px.dir);
	signal(SIGPIPE, SIG_IGN);
	px.efd = unix_listen(px.epath, 16);
	px.lfd = unix_listen(px.lpath, 16);
	fcntl(px.lfd, F_SETFL, O_NONBLOCK);
	px.base = event_base_new();
	px.epath_fd = open(px.epath, O_PATH | O_CLOEXEC);
	cr_assert(ge(int, px.epath_fd, 0));
	px.proxy = proxy_new(px.base, px.lfd, px.epath_fd, px.epath, 16);
	cr_assert(not(eq(ptr, px.proxy, NULL)));
	proxy_set_create_hook(px.proxy, no_bind, NULL);
	proxy_set_reply_hook(px.proxy, user_path, NULL);
}

static void
px_teardown(void)
{
	proxy_free(px.proxy);
	event_base_free(px.base);
	close(px.lfd);
	close(px.efd);
	close(px.epath_fd);
	unlink(px.lpath);
	unlink(px.epath);
	rmdir(px.dir);
}

/* Run the proxy until fd has `len' bytes to read, then read them. */
static char *
px_read(int fd, size_t len)
{
	char *buf = malloc(len + 1);
	size_t got = 0;
	for (int spins = 0; got < len && spins < 200000; spins++) {
		event_base_loop(px.base, EVLOOP_NONBLOCK);
		ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0)
			break;
		else
			(void)poll(NULL, 0, got < len ? 0 : 1);
	}
	cr_assert(eq(sz, got, len), "read %zu of %zu bytes", got, len);
	buf[len] = '\0';
	return buf;
}

static int
px_accept(void)
{
	for (int i = 0; i < 1000; i++) {
		event_base_loop(px.base, EVLOOP_NONBLOCK);
		if (wait_for(px.efd, POLLIN, 1))
			return accept_within(px.efd, 100);
	}
	cr_assert(false, "the proxy never connected to the engine");
	return -1;
}

TestSuite(proxy_reply, .init = px_setup, .fini = px_teardown,
    .timeout = 60);

Test(proxy_reply, inspect_is_rewritten_the_rest_passes)
{
	int c = unix_connect(px.lpath), e = px_accept();
	const char *reqs = "GET /_ping HTTP/1.1\r\n\r\n" INSPECT;
	write_all(c, reqs, strlen(reqs));
	free(px_read(e, strlen(reqs)));
	char *x = exposure(X_DESKTOP), *xb = inspect_body(x);
	char *ub = inspect_body(USER_PATH);
	const char *ping = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";
	char *a = answer_with("application/json", xb);
	char *want = answer_with("application/json", ub);
	write_all(e, ping, strlen(ping));
	write_all(e, a, strlen(a));
	char *got = px_read(c, strlen(ping) + strlen(want));
	cr_assert(eq(int, memcmp(got, ping, strlen(ping)), 0));
	cr_assert(eq(str, got + strlen(ping), want));
	free(got);
	/* Then an upgrade: the rest of the connection is spliced. */
	const char *att = "POST /containers/c1/attach HTTP/1.1\r\nConnection: "
	    "Upgrade\r\nUpgrade: tcp\r\n\r\n";
	write_all(c, att, strlen(att));
	free(px_read(e, strlen(att)));
	char *up;
	cr_assert(ge(int, asprintf(&up, "HTTP/1.1 101 UPGRADED\r\n\r\n%s", a),
	    0));
	write_all(e, up, strlen(up));
	got = px_read(c, strlen(up));
	cr_assert(eq(str, got, up));
	free(got);
	free(up);
	free(a);
	free(want);
	free(x);
	free(xb);
	free(ub);
	close(c);
	close(e);
}

/* A bulk body (docker save's size) is spliced, not held or copied. */
Test(proxy_reply, bulk_chunked_body_passes_intact)
{
	int c = unix_connect(px.lpath), e = px_accept();
	const char *req = "GET /images/get?names=bb HTTP/1.1\r\n\r\n";
	write_all(c, req, strlen(req));
	free(px_read(e, strlen(req)));
	size_t chunk = 32768, chunks = 256;
	char *buf = malloc(chunk + 64);
	const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-tar"
	    "\r\nTransfer-Encoding: chunked\r\n\r\n";
	write_all(e, head, strlen(head));
	free(px_read(c, strlen(head)));
	for (size_t i = 0; i < chunks; i++) {
		int h = snprintf(buf, 64, "%zx\r\n", chunk);
		memset(buf + h, 'a' + (int)(i % 26), chunk);
		memcpy(buf + h + chunk, "\r\n", 2);
		write_all(e, buf, (size_t)h + chunk + 2);
		char *got = px_read(c, (size_t)h + chunk + 2);
		cr_assert(eq(int, memcmp(got, buf, (size_t)h + chunk + 2), 0));
		free(got);
	}
	write_all(e, "0\r\n\r\n", 5);
	free(px_read(c, 5));
	struct proxy_stats st;
	proxy_stats(px.proxy, &st);
	cr_assert(ge(u64, st.bytes_down, chunks * chunk));
	free(buf);
	close(c);
	close(e);
}
