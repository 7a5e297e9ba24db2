/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_BASE_UTIL_H
#define WDA_BASE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/socket.h>

struct sockaddr_un;

/* util.c */

/*
 * Writes a file atomically: temp name in the same directory, fsync,
 * rename.  The agent's state files are written 0600 (manifest, flags).
 */
int	util_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
int	util_mkdir_p(const char *path, mode_t mode);
/* util_mkdir_p() of the directory path is in (for a file about to be made). */
int	util_mkdir_parent(const char *path, mode_t mode);
/*
 * A directory only its owner may enter, for the agent's state: made 0700
 * (its parents 0755) or found, and narrowed if an older version left it
 * wider, with every regular file directly in it (group and other bits
 * dropped: 0644 becomes 0600).  Returns how many were narrowed; -1 and
 * errno.
 */
int	util_private_dir(const char *path);
char	*util_path_join(const char *a, const char *b);	/* malloc'd */
/* *slot (malloc'd or NULL) becomes a copy of s (NULL: none); -1 ENOMEM. */
int	util_set_str(char **slot, const char *s);
/* Is `path' (after resolving) at or below `dir'? Both absolute. */
bool	util_path_within(const char *path, const char *dir);
struct sockaddr_un;
/*
 * Fill a unix socket address: "/path" names a file, "@name" an abstract
 * socket (as NOTIFY_SOCKET writes it).  Returns the length to pass to
 * bind(2) or connect(2); 0 and errno (ENAMETOOLONG, EINVAL) otherwise.
 */
socklen_t util_sockaddr_un(struct sockaddr_un *, const char *path);
/* A blocking, close-on-exec connection to a unix socket; -1 and errno. */
int	util_unix_connect(const char *path);
/*
 * Capped exponential backoff with jitter: each wait is uniform in
 * [base, min(cap, 3 * the last)], so waits grow, retries from many agents
 * spread out, and none is over cap.
 */
struct backoff {
	uint32_t	 base_ms;
	uint32_t	 cap_ms;
	uint32_t	 last_ms;	/* 0: no wait yet */
};
uint32_t backoff_next(struct backoff *, uint32_t random);
void	backoff_reset(struct backoff *);	/* it worked: start over */
uint32_t util_random(void);		/* getrandom(2), for jitter */
uint64_t util_now_ms(void);		/* CLOCK_MONOTONIC */
uint64_t util_wall_ms(void);		/* CLOCK_REALTIME */
/* RFC 3339 in UTC, as the engine writes it, to wall ms; 0 if not that. */
uint64_t util_rfc3339_ms(const char *s);
long	util_rss_kib(void);
int	util_group_gid(const char *name, gid_t *gid);

#endif
