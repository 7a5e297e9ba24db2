/*
 * What the unit tests share: sockets and timed I/O as a client or an
 * engine would do them, and a process's CPU time.  Every helper fails the
 * running Criterion test with the reason instead of returning an error.
 */
#ifndef WDA_TESTLIB_H
#define WDA_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* poll() one fd for events, up to ms: true when ready. */
bool	wait_for(int fd, short events, int ms);
/* A unix stream socket bound to path and listening. */
int	unix_listen(const char *path, int backlog);
/* A unix stream socket connected to path. */
int	unix_connect(const char *path);
/* The next connection on lfd, within ms. */
int	accept_within(int lfd, int ms);
/* All of buf, or the test fails. */
void	write_all(int fd, const void *buf, size_t len);
/* Exactly len bytes, each read within ms of the last, or the test fails. */
void	read_exactly(int fd, void *buf, size_t len, int ms);
/* CPU time (user + system) of a process so far, in clock ticks. */
long	cpu_ticks(pid_t pid);
/*
 * A shared tree the agent trusts, in a private mount namespace of the
 * test's process: a tmpfs at root (mode 1777, as the lab's /mnt/wsl) and
 * a tmpfs at root/desktop/cli-tools, which must be a mount point.  Undone
 * by trusted_tree_down (or by the test process ending).
 */
void	trusted_tree_up(const char *root, const char *desktop);
void	trusted_tree_down(const char *root);

#endif
