/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what the engine answers through the proxy.  The first
 * byte picks the read size (answers split across reads), the second the
 * requests being answered (eight, from a fixed set: inspects, lists, a
 * volume create, HEAD, an upgrade, others); the rest is the engine's byte
 * stream, run through the follower, and as a body through the rewrite of
 * every answer a route holds.  Any input: no crash, leak or undefined behaviour, and an
 * answer the follower did not rewrite reaches the client byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/http.h"
#include "wire/reply.h"
#include "wire/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_requests[] = {
	"GET /v1.45/containers/c1/json HTTP/1.1\r\n\r\n",
	"GET /containers/json?all=1 HTTP/1.1\r\n\r\n",
	"GET /volumes HTTP/1.1\r\n\r\n",
	"GET /volumes/v HTTP/1.1\r\n\r\n",
	"HEAD /containers/c1/json HTTP/1.1\r\n\r\n",
	"POST /containers/c1/attach HTTP/1.1\r\nConnection: Upgrade\r\n"
	    "Upgrade: tcp\r\n\r\n",
	"GET /_ping HTTP/1.1\r\n\r\n",
	"POST /exec/e/start HTTP/1.1\r\n\r\n",
	"POST /v1.45/volumes/create HTTP/1.1\r\n\r\n",
};
#define FUZZ_NREQ	(sizeof fuzz_requests / sizeof fuzz_requests[0])

static char *
fuzz_user_path(void *arg, const char *path)
{
	static const char x[] = "/mnt/wsl/docker-desktop-bind-mounts/d/";
	char *out;
	(void)arg;
	if (strncmp(path, x, sizeof x - 1) != 0)
		return NULL;
	return asprintf(&out, "/home/u/%s", path + sizeof x - 1) < 0 ? NULL :
	    out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t piece = (size_t)data[0] + 1;
	unsigned pick = data[1];
	const char *in = (const char *)data + 2;
	size_t n = size - 2, olen;

	struct http_reply r;
	http_reply_init(&r);
	for (int i = 0; i < 8; i++) {
		const char *req = fuzz_requests[(pick >> (i % 3)) % FUZZ_NREQ];
		struct http_head_parser p;
		struct http_head h;
		char why[64];
		http_head_parser_init(&p);
		if (http_head_parse(&p, req, strlen(req), &h, why, sizeof why) !=
		    HTTP_DONE)
			abort();
		(void)http_reply_expect(&r, &h, req);
	}
	char *out = http_reply_run(&r, in, n, piece, piece, fuzz_user_path,
	    NULL, &olen);
	if (out == NULL)
		abort();
	if (r.rewritten == 0 && (olen != n || memcmp(out, in, n) != 0))
		abort();	/* nothing rewritten: byte for byte */
	free(out);
	http_reply_free(&r);

	struct http_head_parser p;
	struct http_response resp;
	http_head_parser_init(&p);
	if (http_response_parse(&p, in, n, &resp) == HTTP_DONE && resp.len > n)
		abort();
	for (int a = ROUTE_ANSWER_CONTAINERS; a <= ROUTE_ANSWER_VOLUME; a++) {
		char *body = route_answer_rewrite((enum route_answer)a, in, n,
		    fuzz_user_path, NULL, &olen);
		if (body != NULL && olen == 0)
			abort();
		free(body);
	}
	return 0;
}
