/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_FEATURES_STANDINS_H
#define WDA_FEATURES_STANDINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct config;
struct json_object;
struct notify;
struct standin_result;
struct standins;
struct work;

#define STANDINS_DIR_NAME	"stand-ins"	/* below state_dir */

/* The loop's side: what restore.c hands over, and what became of it. */
struct standins;
/* A result, for the owner's record (restore.c's repairs). */
typedef void standins_result_fn(void *arg, const char *path,
	    const struct standin_result *);
/*
 * cfg: state_dir and bind.standin_max, read at each use; work: where the
 * moves run (NULL: nowhere, each flush says so); changed: posted when a
 * job is done.
 */
struct standins *standins_new(const struct config *cfg, struct work *work,
	    struct notify *changed, standins_result_fn *, void *arg);
void	standins_free(struct standins *);
/* state_dir/stand-ins/<container>-<UTC time>[-n], free; malloc'd. */
char	*standins_dest(struct standins *, const char *container);
/* The stand-in fd (taken) to be moved to dir/name by the next flush. */
void	standins_add(struct standins *, int fd, const char *name,
	    const char *source, const char *container);
/*
 * A stand-in still in use (fd), bind-mounted at dest (made) for the user
 * to see, where its data would have gone: 0, or -1 and errno.
 */
int	standins_show(int fd, const char *dest);
/* One job for what was added, and every stand-in still shown: resumed. */
void	standins_flush(struct standins *);
size_t	standins_moving(const struct standins *);	/* not yet done */
/* Each stand-in whose data is not all moved: a problem with its fix. */
void	standins_problems(const struct standins *, struct json_object *problems);

#endif
