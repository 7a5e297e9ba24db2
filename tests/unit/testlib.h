/* SPDX-License-Identifier: Apache-2.0 */
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

#include "main/agent.h"


/* poll() one fd for events, up to ms: true when ready. */
bool	wait_for(int fd, short events, int ms);
/* A unix stream socket bound to path and listening. */
int	unix_listen(const char *path, int backlog);
/* A unix stream socket connected to path. */
int	unix_connect(const char *path);
/* The next connection on lfd, within ms. */
int	accept_within(int lfd, int ms);
/*
 * A client of the unix socket at path: sends request and reads the whole
 * reply, until EOF, into reply (len bytes, terminated); before each read
 * ready(fd) must say it may (it may run an event loop meanwhile), or the
 * test fails.
 */
void	ask_socket(const char *path, const char *request, char *reply,
	    size_t len, bool (*ready)(int fd));
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
/*
 * This test process in a mount namespace of its own, / private: mounts it
 * makes stay in it, and the machine's (an end-to-end lab running beside)
 * do not reach its mountinfo.
 */
void	private_mounts(void);
void	trusted_tree_up(const char *root, const char *desktop);
void	trusted_tree_down(const char *root);

/* A fresh directory /tmp/wda-<name>-XXXXXX, its path in buf. */
void	make_temp_dir(char *buf, size_t len, const char *name);
/* dir and everything below it removed, links not followed. */
void	remove_tree(const char *dir);
/* A suite's fixture: tmp_root made for each test, removed after it. */
extern char tmp_root[];
void	tmp_root_setup(void);
void	tmp_root_teardown(void);
/* dir/rel holding text, with mode, its parent directories made. */
void	put_file_in(const char *dir, const char *rel, mode_t mode,
	    const char *text);
/* The directory dir/rel made with exactly mode, owned by uid (as root). */
void	put_dir_as(const char *dir, const char *rel, mode_t mode, uid_t uid);

/* Run base until done(arg) holds, for up to ms: whether it came to hold. */
struct event_base;
bool	run_until(struct event_base *, bool (*done)(void *), void *arg, int ms);

/*
 * An agent set up as far as requests and the status need, without
 * agent_run(): its own directories below dir (Docker Desktop's tree
 * absent, state_dir made), an event loop, the "changed" notice, the
 * manifest, the desktop, links, the socket, the probe, health
 * (host.address none) and the bind features (exposures, volumes, usage,
 * binds, with no notify).  No watch, control or restore until a test
 * makes them; the teardown frees whatever there is.
 */
struct test_agent {
	char		 dir[64];
	struct agent	 a;
};
void	test_agent_setup(struct test_agent *, const char *name);
/* Let the loop handle the "changed" notice posted so far. */
void	test_agent_settle(struct test_agent *);
void	test_agent_teardown(struct test_agent *);
/* config_set() or the test fails. */
void	test_agent_set(struct test_agent *, const char *key, const char *value);
/* dir/name, in one of four buffers used in turn. */
char	*test_agent_path(struct test_agent *, const char *name);
/*
 * line asked on the agent's control socket by a child, as
 * `wsl-docker-agent' asks (control_request), while the agent's loop runs
 * here: the reply, parsed, or the test fails.
 */
struct json_object;
struct json_object *test_agent_ask(struct test_agent *, const char *line);
/*
 * A unix socket listening at Docker Desktop's engine socket path (its
 * directories made by root), and a look of the agent's desktop that
 * trusts it: the listening descriptor, or the test fails.
 */
int	test_agent_engine_up(struct test_agent *);

/*
 * A fake engine on the test agent's loop (fake-engine.c): it accepts at
 * the engine socket, reads each request's head and answers as the test
 * tells it (a reply, a close without a word, silence, too much).
 */
struct fake_reply {
	const char	*target;	/* "/_ping"; NULL: the end of the list */
	const char	*text;		/* NULL: close without a word */
	size_t		 filler;	/* bytes of 'x' after text */
	bool		 silent;	/* say nothing, keep the connection */
	bool		 keep_open;	/* answer, then keep the connection */
};
#define REPLY(t, x)	{ .target = (t), .text = (x) }
#define CLOSE(t)	{ .target = (t), .text = NULL }
#define SILENT(t)	{ .target = (t), .silent = true }
#define LAST		{ .target = NULL }
#define FAKE_CONNS	8
struct event;
struct fake_gets {
	struct event_base	*base;
	int			 lfd;
	struct event		*accept_ev;
	const struct fake_reply	*replies;	/* may change between asks */
	int			 nconns;
	int			 fds[FAKE_CONNS];
	struct event		*evs[FAKE_CONNS];
	char			 heads[FAKE_CONNS][512];	/* each request's */
	size_t			 lens[FAKE_CONNS];
};
extern struct fake_gets fake_gets;
/* The fake engine listens from now on (test_agent_engine_up). */
void	fake_gets_start(struct test_agent *, const struct fake_reply *);
/* Connection i closed by the engine. */
void	fake_gets_close(int i);
/* Everything closed and freed, before the test agent's teardown. */
void	fake_gets_stop(void);

#endif
