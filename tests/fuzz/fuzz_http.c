/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what a docker client sends through the proxy.  The
 * first byte picks the piece size, so heads and chunked bodies split
 * across reads are covered; the rest goes through the head parser, the
 * route table, the chunked follower (fed in pieces, as proxy.c does),
 * the chunked decoder, the container and volume create rewrites, and the
 * request follower over the whole stream, whole and in pieces.  Any
 * input: no crash, no leak, no undefined behaviour, the followers never
 * claim more bytes than they were given, and the engine gets the same
 * bytes (the client the same refusal) however the stream is cut.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/create.h"
#include "wire/http.h"
#include "wire/reply.h"
#include "wire/request.h"
#include "wire/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_bind(void *arg, const struct http_bind_source *s, char **repl,
    char *why, size_t whylen)
{
	if (s->path[1] == 'x') {
		snprintf(why, whylen, "refused %s", s->path);
		return -1;
	}
	return asprintf(repl, "/mnt/wsl/x%s%s%s", s->read_only ? "ro" : "",
	    s->create ? "mk" : "", s->path) < 0 ? -1 : 0;
}

/* One run of the request follower, told answers to pair. */
static char *
follow_once(const char *in, size_t n, size_t piece, size_t *len,
    char **refusal, size_t *told)
{
	static const struct http_caller dev = { true, 1000, 1000 };
	struct http_request r;
	struct http_reply answers;
	size_t rl;
	http_request_init(&r);
	http_reply_init(&answers);
	http_request_pair(&r, &answers);
	char *out = http_request_run(&r, in, n, piece, piece, &dev, fuzz_bind,
	    NULL, len);
	*refusal = http_request_refusal(&r, &rl);
	*told = answers.q_len;
	http_request_free(&r);
	http_reply_free(&answers);
	return out;
}

/* The client's stream in pieces gives the engine what it does whole. */
static void
follow_requests(const char *in, size_t n, size_t piece)
{
	size_t wl, sl, wt, st;
	char *wr, *sr;
	char *whole = follow_once(in, n, SIZE_MAX, &wl, &wr, &wt);
	char *split = follow_once(in, n, piece, &sl, &sr, &st);
	if (whole == NULL || split == NULL || wl != sl ||
	    memcmp(whole, split, wl) != 0 || (wr == NULL) != (sr == NULL) ||
	    (wr != NULL && strcmp(wr, sr) != 0) || wt != st)
		abort();
	free(whole);
	free(split);
	free(wr);
	free(sr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)data[0] + 1;
	const char *in = (const char *)data + 1;
	size_t n = size - 1;
	char why[256];

	struct http_head_parser p;
	struct http_head h;
	http_head_parser_init(&p);
	enum http_result r = HTTP_MORE;
	for (size_t have = piece < n ? piece : n;; have = have + piece < n ?
	    have + piece : n) {
		r = http_head_parse(&p, in, have, &h, why, sizeof why);
		if (r != HTTP_MORE || have == n)
			break;
	}
	if (r == HTTP_DONE) {
		if (h.len > n || h.target_off + h.target_len > h.len)
			abort();
		const struct route *route = route_of(&h, in);
		if (route == NULL || route->request > ROUTE_REQUEST_HIJACK ||
		    route->answer > ROUTE_ANSWER_VOLUME)
			abort();
		size_t hl;
		char *nh = http_head_with_length(in, &h, 42, &hl);
		free(nh);
	}

	struct http_chunked c;
	size_t pos = 0;
	http_chunked_init(&c);
	while (pos < n) {
		size_t avail = n - pos < piece ? n - pos : piece, used;
		enum http_chunk_step s = http_chunked_feed(&c, in + pos, avail,
		    &used, why, sizeof why);
		if (used > avail)
			abort();
		pos += used;
		if (s == HTTP_CHUNK_DONE || s == HTTP_CHUNK_BAD)
			break;
		if (s == HTTP_CHUNK_DATA) {
			size_t take = n - pos < c.left ? n - pos : (size_t)c.left;
			if (take > piece)
				take = piece;
			pos += take;
			http_chunked_take(&c, take);
		}
	}
	char *dec = NULL, *out = NULL;
	size_t dlen, olen;
	if (http_chunked_decode(in, n, 4096, &dec, &dlen, why, sizeof why) == 0)
		free(dec);
	if (create_rewrite_container(in, n, NULL, fuzz_bind, NULL, &out, &olen, why,
	    sizeof why) == CREATE_CHANGED && (out == NULL || olen == 0))
		abort();
	free(out);
	out = NULL;
	if (create_rewrite_volume(in, n, NULL, fuzz_bind, NULL, &out, &olen,
	    why, sizeof why) == CREATE_CHANGED && (out == NULL || olen == 0))
		abort();
	free(out);
	follow_requests(in, n, piece);
	return 0;
}
