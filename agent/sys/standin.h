/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_SYS_STANDIN_H
#define WDA_SYS_STANDIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>


/*
 * standin.c: a stand-in's contents moved into the distro.  In the worker
 * (work.c): standin_move() and standin_resume(), plain system calls that
 * share nothing; on the loop: struct standins, which queues them, keeps
 * what each did and makes the problems.  Below state_dir/stand-ins/, a
 * stand-in being moved is shown at NAME.stand-in (a bind mount), copied
 * into NAME.partial and renamed NAME when whole; what is on disk there is
 * the record, so an agent that died part way resumes at its next start.
 */
#define STANDIN_SHOWN_SUFFIX	".stand-in"
#define STANDIN_PARTIAL_SUFFIX	".partial"
#define STANDIN_FREE_MARGIN	(64ULL << 20)	/* bytes left free in state_dir */
#define STANDIN_NAME_MAX	200	/* NAME, a suffix still fits NAME_MAX */
struct standin_limits {
	uint64_t max;		/* bytes below stand-ins/ at most; 0: move none */
	uint64_t margin;	/* bytes kept free on its file system */
	/* Asked between bounded steps: stop now (the agent is stopping)? */
	bool	(*stop)(void *arg);	/* NULL: never */
	void	*stop_arg;
};
enum standin_state {
	STANDIN_MOVED,		/* all its data is in dir/NAME */
	STANDIN_HELD_CAP,	/* not moved: over standin_limits.max */
	STANDIN_HELD_SPACE,	/* not moved: too little free space */
	STANDIN_PARTIAL,	/* stopped part way: NAME.partial and the rest */
	STANDIN_FAILED,		/* not started (err, where); the stand-in as it was */
	STANDIN_LOST,		/* NAME.partial found with no stand-in behind it */
};
struct standin_result {
	enum standin_state state;
	char	 name[STANDIN_NAME_MAX + 1];
	bool	 shown;		/* what is left is shown at NAME.stand-in */
	uint64_t moved;		/* bytes moved (as allocated: holes are none) */
	uint64_t left;		/* bytes left on the stand-in */
	long	 special;	/* entries left there: fifos, sockets, devices */
	uint64_t used;		/* bytes below stand-ins/ before the move */
	uint64_t avail;		/* bytes free there before it */
	int	 err;		/* errno of what failed (PARTIAL, FAILED) */
	char	 where[256];	/* what failed: an entry or a step */
};
/*
 * Move the stand-in fd (a directory, taken) into dirfd/name: shown at
 * name.stand-in first (unless `shown': fd is that mount), measured, and if
 * it fits limits, copied (holes, owner, mode and times kept) into
 * name.partial, each entry removed from the stand-in once its copy is
 * fsync'd; renamed to name and the mount removed when nothing but fifos,
 * sockets and devices is left.  w (may be NULL) is asked between steps
 * whether to stop.  Returns out->state.
 */
enum standin_state standin_move(int dirfd, int fd, const char *name,
	    bool shown, const struct standin_limits *,
	    struct standin_result *out);
/*
 * Every stand-in shown below dirfd moved again (standin_move), and each
 * NAME.partial with none behind it reported LOST; an empty NAME.stand-in
 * no longer mounted (its tmpfs went with a reboot) is removed.  Returns
 * how many results were written to out (at most max).
 */
size_t	standin_resume(int dirfd, const struct standin_limits *,
	    struct standin_result *out, size_t max);
bool	standin_is_empty(int dirfd);		/* false if unreadable */
/* Is name, name.partial or name.stand-in below dirfd? */
bool	standin_taken(int dirfd, const char *name);
/* Tests only: runs between an entry's fstatat and its open. */
extern void (*standin_open_hook)(int dirfd, const char *name);

#endif
