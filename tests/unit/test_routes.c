/* SPDX-License-Identifier: Apache-2.0 */
/*
 * routes.c: the one table of Docker API routes, found by method and path
 * for both directions of a followed connection.  (The answers it rewrites
 * are tested on real engines' answers in test_http_reply.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "wire/http.h"
#include "wire/routes.h"

static const struct route *
route_text(const char *text)
{
	struct http_head_parser p;
	struct http_head h;
	char why[256];
	http_head_parser_init(&p);
	cr_assert(eq(int, http_head_parse(&p, text, strlen(text), &h, why,
	    sizeof why), HTTP_DONE), "%s", text);
	const struct route *r = route_of(&h, text);
	cr_assert(not(eq(ptr, (void *)r, NULL)), "%s", text);
	return r;
}

/* What the request follower does with a request. */
static enum route_request
route(const char *text)
{
	return route_text(text)->request;
}

/* What the answer follower does with its answer. */
static enum route_answer
answer(const char *text)
{
	return route_text(text)->answer;
}

Test(routes, creates_under_any_version_prefix)
{
	cr_assert(eq(int, route("POST /containers/create HTTP/1.1\r\n\r\n"),
	    ROUTE_REQUEST_CREATE));
	cr_assert(eq(int, route("POST /v1.41/containers/create?name=x "
	    "HTTP/1.1\r\n\r\n"), ROUTE_REQUEST_CREATE));
	cr_assert(eq(int, route("POST /v1/containers/create HTTP/1.1\r\n\r\n"),
	    ROUTE_REQUEST_CREATE));
	cr_assert(eq(int, route("POST /v1.24/containers/%63reate HTTP/1.1\r\n"
	    "\r\n"), ROUTE_REQUEST_CREATE),
	    "percent-encoded, as Go decodes it");
	cr_assert(eq(int, route("POST http://docker/v1.41/containers/create "
	    "HTTP/1.1\r\n\r\n"), ROUTE_REQUEST_CREATE));
	cr_assert(eq(int, route("GET /v1.41/containers/create HTTP/1.1\r\n"
	    "\r\n"), ROUTE_REQUEST_PASS));
	cr_assert(eq(int, route("POST /v1.41/containers/createx HTTP/1.1\r\n"
	    "\r\n"), ROUTE_REQUEST_PASS));
	cr_assert(eq(int, route("POST /vx/containers/create HTTP/1.1\r\n\r\n"),
	    ROUTE_REQUEST_PASS));
	cr_assert(eq(int, route("POST /v1.41/containers/abc/start HTTP/1.1\r\n"
	    "\r\n"), ROUTE_REQUEST_PASS));
}

Test(routes, hijacks)
{
	cr_assert(eq(int, route("POST /v1.41/containers/abc/attach?stream=1 "
	    "HTTP/1.1\r\n\r\n"), ROUTE_REQUEST_HIJACK));
	cr_assert(eq(int, route("POST /v1.41/exec/123/start HTTP/1.1\r\n"
	    "Content-Length: 2\r\n\r\n"), ROUTE_REQUEST_HIJACK));
	cr_assert(eq(int, route("GET /containers/abc/attach/ws HTTP/1.1\r\n"
	    "\r\n"), ROUTE_REQUEST_HIJACK));
	cr_assert(eq(int, route("POST /session HTTP/1.1\r\n\r\n"),
	    ROUTE_REQUEST_HIJACK));
	cr_assert(eq(int, route("POST /v1.41/build HTTP/1.1\r\nConnection: "
	    "Upgrade\r\nUpgrade: h2c\r\n\r\n"), ROUTE_REQUEST_HIJACK));
	cr_assert(eq(int, route("CONNECT / HTTP/1.1\r\n\r\n"),
	    ROUTE_REQUEST_HIJACK));
	cr_assert(eq(int, route("GET /exec/123/json HTTP/1.1\r\n\r\n"),
	    ROUTE_REQUEST_PASS));
}

Test(routes, which_answers_are_held)
{
	cr_assert(eq(int, answer("GET /v1.45/containers/json?all=1 HTTP/1.1"
	    "\r\n\r\n"), ROUTE_ANSWER_CONTAINERS));
	cr_assert(eq(int, answer("GET /containers/c1/json HTTP/1.1\r\n\r\n"),
	    ROUTE_ANSWER_CONTAINER));
	cr_assert(eq(int, answer("GET /v1.41/containers/c%31/json?size=1 "
	    "HTTP/1.1\r\n\r\n"), ROUTE_ANSWER_CONTAINER));
	cr_assert(eq(int, answer("GET /v1.41/volumes HTTP/1.1\r\n\r\n"),
	    ROUTE_ANSWER_VOLUMES));
	cr_assert(eq(int, answer("GET /v1.41/volumes/vol1 HTTP/1.1\r\n\r\n"),
	    ROUTE_ANSWER_VOLUME));
	cr_assert(eq(int, answer("GET /containers/c1/logs?follow=1 HTTP/1.1"
	    "\r\n\r\n"), ROUTE_ANSWER_PASS));
	cr_assert(eq(int, answer("GET /containers/a/b/json HTTP/1.1\r\n\r\n"),
	    ROUTE_ANSWER_PASS));
	cr_assert(eq(int, answer("POST /v1.45/volumes/create HTTP/1.1\r\n"
	    "\r\n"), ROUTE_ANSWER_VOLUME), "the volume created");
	cr_assert(eq(int, answer("POST /containers/create HTTP/1.1\r\n\r\n"),
	    ROUTE_ANSWER_PASS));
	cr_assert(eq(int, answer("GET /volumes/create/x HTTP/1.1\r\n\r\n"),
	    ROUTE_ANSWER_PASS));
	cr_assert(eq(int, answer("HEAD /containers/c1/json HTTP/1.1\r\n\r\n"),
	    ROUTE_ANSWER_PASS));
	cr_assert(eq(int, answer("POST /v1.45/containers/c1/attach?stream=1 "
	    "HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"),
	    ROUTE_ANSWER_OPAQUE));
	cr_assert(eq(int, answer("POST /exec/e1/start HTTP/1.1\r\n\r\n"),
	    ROUTE_ANSWER_OPAQUE));
}

/* One lookup serves both directions: a volume create is held each way. */
Test(routes, both_directions_from_one_row)
{
	const struct route *r = route_text("POST /v1.45/volumes/create "
	    "HTTP/1.1\r\nContent-Length: 2\r\n\r\n");
	cr_assert(eq(int, r->request, ROUTE_REQUEST_VOLUME_CREATE));
	cr_assert(eq(int, r->answer, ROUTE_ANSWER_VOLUME));
	r = route_text("POST /containers/create HTTP/1.1\r\n\r\n");
	cr_assert(eq(int, r->request, ROUTE_REQUEST_CREATE));
	cr_assert(eq(int, r->answer, ROUTE_ANSWER_PASS));
	/* An upgrade hijacks whatever the path, a create's too. */
	r = route_text("POST /containers/create HTTP/1.1\r\nConnection: "
	    "Upgrade\r\nUpgrade: tcp\r\n\r\n");
	cr_assert(eq(int, r->request, ROUTE_REQUEST_HIJACK));
	cr_assert(eq(int, r->answer, ROUTE_ANSWER_OPAQUE));
	r = route_text("DELETE /containers/c1 HTTP/1.1\r\n\r\n");
	cr_assert(eq(int, r->request, ROUTE_REQUEST_PASS));
	cr_assert(eq(int, r->answer, ROUTE_ANSWER_PASS));
}

Test(routes, the_table_holds_together)
{
	size_t n = 0;
	for (const struct route *r; (r = route_at(n)) != NULL; n++) {
		cr_assert(not(eq(ptr, (void *)r->path, NULL)), "row %zu", n);
		cr_assert(eq(chr, r->path[0], '/'), "%s", r->path);
		for (const char *m = r->method; m != NULL && *m != '\0'; m++)
			cr_assert(m[0] >= 'A' && m[0] <= 'Z', "%s: method %s",
			    r->path, r->method);
		/* A hijacked connection is opaque both ways, and only it. */
		cr_assert(eq(int, r->request == ROUTE_REQUEST_HIJACK,
		    r->answer == ROUTE_ANSWER_OPAQUE), "%s", r->path);
		/* Each pattern segment in braces is whole and named. */
		for (const char *b = strchr(r->path, '{'); b != NULL;
		    b = strchr(b + 1, '{')) {
			const char *e = strchr(b, '}');
			cr_assert(e != NULL && e > b + 1 && b[-1] == '/' &&
			    (e[1] == '/' || e[1] == '\0'), "%s", r->path);
		}
		for (size_t k = 0; k < n; k++) {
			const struct route *o = route_at(k);
			cr_assert(strcmp(o->path, r->path) != 0 ||
			    (o->method != NULL && r->method != NULL &&
			    strcmp(o->method, r->method) != 0),
			    "%s is listed twice", r->path);
		}
	}
	cr_assert(ge(sz, n, 11), "the routes are all there");
}
