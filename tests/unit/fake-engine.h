/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake engine for the unit tests of the features that ask one: a real
 * unix socket served on the test's event loop, answering each request
 * head as the test says (a reply, a stream kept open, or silence).  The
 * descriptor a trusted walk would give is fake_engine_fd's.
 */
#ifndef WDA_FAKE_ENGINE_H
#define WDA_FAKE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct fake_engine;

/* What the fake engine does with one request. */
struct fake_answer {
	const char	*status;	/* "200 OK"; NULL: say nothing */
	const char	*body;		/* a reply's body (copied); NULL: "" */
	bool		 stream;	/* the head only, the connection kept */
};
/* head: the request line and headers, then its body if it had one. */
typedef void fake_engine_fn(void *arg, const char *head,
	    struct fake_answer *);

/* Listening at path (its directory made) or the test fails. */
struct fake_engine *fake_engine_new(struct event_base *, const char *path,
	    fake_engine_fn *, void *arg);
void	fake_engine_free(struct fake_engine *);
/* The socket's O_PATH descriptor, as the walk to it gives one. */
int	fake_engine_fd(const struct fake_engine *);
const char *fake_engine_path(const struct fake_engine *);
/* text written on every stream kept open (an event, say). */
void	fake_engine_send(struct fake_engine *, const char *text);
/* Every stream kept open closed (the engine restarted). */
void	fake_engine_end_streams(struct fake_engine *);
size_t	fake_engine_streams(const struct fake_engine *);
/* Requests answered or kept so far, and connections accepted. */
size_t	fake_engine_requests(const struct fake_engine *);
size_t	fake_engine_connections(const struct fake_engine *);

#endif
