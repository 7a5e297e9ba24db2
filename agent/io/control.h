/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_IO_CONTROL_H
#define WDA_IO_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct control;
struct event_base;
struct json_object;

/*
 * io/control.c: the local control socket.  It frames requests (one JSON
 * object per line, with a "request" name), knows who asks (the peer's
 * uid), bounds clients per uid, and hands each request to the handler,
 * whose reply (taken) goes back as one line; what requests do is the
 * handler's.  The replies' two shapes are built here.
 */
typedef struct json_object *control_handler_fn(void *arg,
	    struct json_object *request, uid_t uid);
struct control *control_new(struct event_base *, const char *path,
	    control_handler_fn *, void *arg);
void	control_free(struct control *);
/* {"ok":true} with the members of result (taken); NULL out of memory. */
struct json_object *control_ok_reply(struct json_object *result);
/* {"ok":false,"error":class,"message":message}. */
struct json_object *control_error_reply(const char *class,
	    const char *message);

#endif
