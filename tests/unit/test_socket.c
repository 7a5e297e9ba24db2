/* SPDX-License-Identifier: Apache-2.0 */
/*
 * features/socket.c through its API, in a temporary directory: a real unix
 * socket listening in the test stands for Docker Desktop's engine, which
 * features/desktop.c looks at as the agent's reconcile does, the agent's
 * event loop runs in the test, and the test plays the docker client.
 * Needs root, as the agent does: the socket is chowned to socket.group.
 * Each test enters a private mount namespace and mounts a tmpfs that
 * plays the shared /mnt/wsl, with Docker Desktop's tree made by root in
 * it; "an ordinary user" is uid 1000, by chown or by a child that
 * setuid()s.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "base/config.h"
#include "base/util.h"
#include "sys/manifest.h"
#include "features/desktop.h"
#include "features/socket.h"
#include "testlib.h"

#define WAIT_MS		2000
#define GROUP		"daemon"	/* exists on every Debian-like system */
#define USER_UID	1000
#define SOCKETS		"docker-desktop/shared-sockets/guest-services"

static struct {
	struct config	 cfg;
	struct manifest	 m;
	struct event_base *base;
	struct desktop	*desk;
	struct socket	*socket;
	bool		 disabled;
	char		 dir[64];
	char		 run[96];	/* socket.path's directory */
	char		 sock[128];	/* socket.path */
	char		 desktop[96];	/* desktop_dir */
	char		 engine[160];	/* Docker Desktop's engine socket */
	char		 manifest[128];
	int		 engine_lfd;
} fx;

static void
set(const char *key, const char *value)
{
	char err[CONFIG_ERR_LEN];
	cr_assert(eq(int, config_set(&fx.cfg, key, value, err, sizeof err),
	    0), "%s", err);
}

static void
setup(void)
{
	memset(&fx, 0, sizeof fx);
	fx.engine_lfd = -1;
	snprintf(fx.dir, sizeof fx.dir, "/tmp/wda-socket-XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(fx.dir), NULL)));
	cr_assert(eq(int, unshare(CLONE_NEWNS), 0), "unshare: %s",
	    strerror(errno));
	cr_assert(eq(int, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0));
	cr_assert(eq(int, mount("wda-test", fx.dir, "tmpfs", 0, "mode=1777"),
	    0), "mount: %s", strerror(errno));
	snprintf(fx.run, sizeof fx.run, "%s/run", fx.dir);
	snprintf(fx.sock, sizeof fx.sock, "%s/docker.sock", fx.run);
	snprintf(fx.desktop, sizeof fx.desktop, "%s/docker-desktop", fx.dir);
	char d[192];
	cr_assert(eq(int, mkdir(fx.desktop, 0755), 0));
	snprintf(d, sizeof d, "%s/shared-sockets", fx.desktop);
	cr_assert(eq(int, mkdir(d, 0755), 0));
	snprintf(d, sizeof d, "%s/" SOCKETS, fx.dir);
	cr_assert(eq(int, mkdir(d, 0755), 0));
	snprintf(fx.engine, sizeof fx.engine, "%s/docker.proxy.sock", d);
	snprintf(fx.manifest, sizeof fx.manifest, "%s/manifest.json", fx.dir);
	config_init(&fx.cfg);
	set("socket.path", fx.sock);
	set("socket.group", GROUP);
	set("desktop_dir", fx.desktop);
	char err[256];
	cr_assert(eq(int, manifest_load(&fx.m, fx.manifest, err,
	    sizeof err), 0), "%s", err);
	fx.base = event_base_new();
	cr_assert(not(eq(ptr, fx.base, NULL)));
	fx.desk = desktop_new(&fx.cfg);
	cr_assert(not(eq(ptr, fx.desk, NULL)));
	cr_assert(eq(str, (char *)desktop_view(fx.desk)->engine_path,
	    fx.engine));
	fx.socket = socket_new(fx.base, &fx.cfg, &fx.m, -1, false);
	cr_assert(not(eq(ptr, fx.socket, NULL)));
	signal(SIGPIPE, SIG_IGN);
}

static void
teardown(void)
{
	socket_free(fx.socket);
	desktop_free(fx.desk);
	if (fx.engine_lfd >= 0)
		close(fx.engine_lfd);
	umount2(fx.dir, MNT_DETACH);
	rmdir(fx.dir);
	manifest_free(&fx.m);
	event_base_free(fx.base);
	config_free(&fx.cfg);
}

TestSuite(socket, .init = setup, .fini = teardown, .timeout = 30);

static void
engine_up(void)
{
	fx.engine_lfd = unix_listen(fx.engine, 8);
}

/*
 * What the agent's reconcile does for the socket: the desktop looks, the
 * socket is given the view, and a socket it refused leaves the view.
 */
static void
reconcile(void)
{
	desktop_look(fx.desk);
	socket_reconcile(fx.socket, desktop_view(fx.desk), fx.disabled,
	    false);
	if (socket_engine_refused(fx.socket) != NULL)
		desktop_refuse_engine(fx.desk,
		    socket_engine_refused(fx.socket));
}

/* The engine socket's descriptor the view holds, or -1. */
static int
engine_fd(void)
{
	return desktop_view(fx.desk)->engine_fd;
}

/* Run the agent's loop until fd is ready for events (bounded). */
static bool
pump_until(int fd, short events)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (wait_for(fd, events, 0))
			return true;
		struct timeval tv = { 0, 10000 };
		event_base_loopexit(fx.base, &tv);
		event_base_loop(fx.base, EVLOOP_ONCE);
	}
	return wait_for(fd, events, 0);
}

static const char *
member(struct json_object *o, const char *key)
{
	struct json_object *v;
	cr_assert(json_object_object_get_ex(o, key, &v), "no %s", key);
	return json_object_get_string(v);
}

Test(socket, proxy_listens_with_the_group_and_reaches_the_engine)
{
	struct group *g = getgrnam(GROUP);
	cr_assert(not(eq(ptr, g, NULL)), "group %s is missing", GROUP);
	engine_up();
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_OK), "%s",
	    socket_detail(fx.socket));

	struct stat st;
	cr_assert(eq(int, stat(fx.sock, &st), 0), "%s", strerror(errno));
	bool is_socket = S_ISSOCK(st.st_mode);
	cr_assert(is_socket);
	cr_assert(eq(u32, (uint32_t)(st.st_mode & 07777), 0660u));
	cr_assert(eq(u32, (uint32_t)st.st_uid, 0u));
	cr_assert(eq(u32, (uint32_t)st.st_gid, (uint32_t)g->gr_gid));
	cr_assert(not(eq(ptr, manifest_find(&fx.m, "socket", fx.sock),
	    NULL)), "the socket is in the manifest");

	/* A client's bytes reach the engine, and the engine's come back. */
	int c = unix_connect(fx.sock);
	cr_assert(pump_until(fx.engine_lfd, POLLIN), "no connection reached "
	    "the engine");
	int e = accept_within(fx.engine_lfd, WAIT_MS);
	write_all(c, "GET /_ping HTTP/1.1\r\n\r\n", 23);
	char buf[32];
	cr_assert(pump_until(e, POLLIN));
	read_exactly(e, buf, 23, WAIT_MS);
	cr_assert(eq(int, memcmp(buf, "GET /_ping HTTP/1.1\r\n\r\n", 23), 0));
	write_all(e, "HTTP/1.1 200 OK\r\n", 17);
	cr_assert(pump_until(c, POLLIN));
	read_exactly(c, buf, 17, WAIT_MS);
	cr_assert(eq(int, memcmp(buf, "HTTP/1.1 200 OK\r\n", 17), 0));
	close(c);
	close(e);

	struct json_object *problems = json_object_new_array();
	struct json_object *s = socket_report(fx.socket, problems);
	cr_assert(eq(str, (char *)member(s, "path"), fx.sock));
	cr_assert(eq(str, (char *)member(s, "mode"), "proxy"));
	cr_assert(eq(str, (char *)member(s, "state"), "ok"));
	cr_assert(eq(str, (char *)member(s, "group"), GROUP));
	cr_assert(eq(str, (char *)member(s, "permissions"), "0660"));
	cr_assert(eq(sz, json_object_array_length(problems), (size_t)0));
	json_object_put(s);
	json_object_put(problems);

	struct json_object *px = socket_proxy_report(fx.socket);
	cr_assert(eq(int, json_object_get_int(json_object_object_get(px,
	    "total")), 1));
	json_object_put(px);
}

Test(socket, a_live_socket_not_ours_is_refused_and_reported)
{
	engine_up();
	cr_assert(eq(int, mkdir(fx.run, 0755), 0));
	int foreign = unix_listen(fx.sock, 8);
	struct stat before, after;
	cr_assert(eq(int, stat(fx.sock, &before), 0));

	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_CONFLICT));
	cr_assert(not(eq(ptr, strstr(socket_detail(fx.socket),
	    "not taking it over"), NULL)), "%s", socket_detail(fx.socket));
	cr_assert(eq(ptr, socket_proxy(fx.socket), NULL));
	cr_assert(eq(ptr, manifest_find(&fx.m, "socket", fx.sock),
	    NULL));

	/* Its socket is untouched: the same file, still answered by it. */
	cr_assert(eq(int, stat(fx.sock, &after), 0));
	cr_assert(eq(u64, (uint64_t)after.st_ino, (uint64_t)before.st_ino));
	int probe = accept_within(foreign, WAIT_MS);	/* the agent's look */
	close(probe);
	int c = unix_connect(fx.sock);
	int got = accept_within(foreign, WAIT_MS);
	close(got);
	close(c);

	struct json_object *problems = json_object_new_array();
	struct json_object *s = socket_report(fx.socket, problems);
	cr_assert(eq(str, (char *)member(s, "state"), "conflict"));
	cr_assert(eq(sz, json_object_array_length(problems), (size_t)1));
	char what[700];
	snprintf(what, sizeof what, "%s: %s", fx.sock,
	    socket_detail(fx.socket));
	cr_assert(eq(str, (char *)member(json_object_array_get_idx(problems, 0),
	    "what"), what));
	json_object_put(s);
	json_object_put(problems);
	close(foreign);
}

Test(socket, a_stale_socket_is_replaced)
{
	engine_up();
	cr_assert(eq(int, mkdir(fx.run, 0755), 0));
	close(unix_listen(fx.sock, 1));		/* left behind, nobody listens */
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_OK), "%s",
	    socket_detail(fx.socket));
	int c = unix_connect(fx.sock);
	cr_assert(pump_until(fx.engine_lfd, POLLIN));
	close(c);
}

Test(socket, stop_removes_what_it_made)
{
	engine_up();
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_OK));
	cr_assert(not(eq(ptr, socket_proxy(fx.socket), NULL)));

	socket_stop(fx.socket, false);
	struct stat st;
	cr_assert(eq(int, stat(fx.sock, &st), -1));
	cr_assert(eq(int, errno, ENOENT), "socket.path is gone");
	cr_assert(eq(ptr, socket_proxy(fx.socket), NULL));
	cr_assert(eq(ptr, manifest_find(&fx.m, "socket", fx.sock),
	    NULL));
	cr_assert(eq(int, stat(fx.engine, &st), 0), "the engine's socket stays");
	/* The manifest on disk says so too. */
	struct manifest m;
	char err[256];
	cr_assert(eq(int, manifest_load(&m, fx.manifest, err, sizeof err), 0));
	cr_assert(eq(ptr, manifest_find(&m, "socket", fx.sock), NULL));
	manifest_free(&m);
}

Test(socket, disabled_serves_nothing)
{
	engine_up();
	fx.disabled = true;
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_DISABLED));
	struct stat st;
	cr_assert(eq(int, stat(fx.sock, &st), -1));
	cr_assert(eq(str, (char *)socket_detail(fx.socket),
	    "integration is off for this distro"));
}

/*
 * Kept by a supervisor (its NOTIFY_SOCKET takes FDSTORE=1, as systemd's
 * and start's do): a stop keeps the socket, its inode, for the next run;
 * disable and a new socket.path let it go for good, file and store entry.
 */
static int
supervisor_up(char *path, size_t len)
{
	snprintf(path, len, "%s/notify.sock", fx.dir);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sun;
	socklen_t sl = util_sockaddr_un(&sun, path);
	cr_assert(ge(int, s, 0));
	cr_assert(eq(int, bind(s, (struct sockaddr *)&sun, sl), 0));
	cr_assert(eq(int, setenv("NOTIFY_SOCKET", path, 1), 0));
	return s;
}

/* What the supervisor was told since last asked; the last fd it got. */
static int
supervisor_heard(int s, char *buf, size_t len)
{
	size_t o = 0;
	int kept = -1;
	buf[0] = '\0';
	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int) * 4)];
		struct iovec iov = { buf + o, len - o - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
		    .msg_control = cbuf, .msg_controllen = sizeof cbuf };
		ssize_t n = recvmsg(s, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL;
		    c = CMSG_NXTHDR(&mh, c)) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
			if (kept >= 0)
				close(kept);
			kept = fd;
		}
		o += (size_t)n;
		buf[o++] = '|';
		buf[o] = '\0';
	}
	return kept;
}

Test(socket, a_kept_socket_outlives_a_stop_but_not_disable_or_a_new_path)
{
	char np[160], heard[1024];
	int sup = supervisor_up(np, sizeof np);
	engine_up();
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_OK));
	int kept = supervisor_heard(sup, heard, sizeof heard);
	cr_assert(not(eq(ptr, strstr(heard, "FDSTORE=1\nFDNAME=" SOCKET_FDNAME), NULL)), "%s", heard);
	cr_assert(ge(int, kept, 0), "the supervisor got the socket");
	struct stat st;
	cr_assert(eq(int, stat(fx.sock, &st), 0));
	ino_t ino = st.st_ino;

	/* The agent stops: the file stays, nothing is taken from the store. */
	socket_free(fx.socket);
	cr_assert(eq(int, stat(fx.sock, &st), 0), "a stop keeps the socket");
	cr_assert(eq(u64, (uint64_t)st.st_ino, (uint64_t)ino));
	(void)supervisor_heard(sup, heard, sizeof heard);
	cr_assert(eq(ptr, strstr(heard, "FDSTOREREMOVE"), NULL), "%s", heard);

	/* The next run gets it back by its name: the same socket. */
	fx.socket = socket_new(fx.base, &fx.cfg, &fx.m, kept, true);
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_OK));
	cr_assert(eq(int, stat(fx.sock, &st), 0));
	cr_assert(eq(u64, (uint64_t)st.st_ino, (uint64_t)ino), "the same inode");

	/* Disabled: let go for good, the file and the store's entry. */
	fx.disabled = true;
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_DISABLED));
	cr_assert(eq(int, stat(fx.sock, &st), -1), "disabled: the socket goes");
	(void)supervisor_heard(sup, heard, sizeof heard);
	cr_assert(not(eq(ptr, strstr(heard, "FDSTOREREMOVE=1\nFDNAME=" SOCKET_FDNAME), NULL)), "%s", heard);

	/* A new socket.path: the old one goes, where it was. */
	fx.disabled = false;
	reconcile();
	cr_assert(eq(int, stat(fx.sock, &st), 0));
	char old[sizeof fx.sock];
	snprintf(old, sizeof old, "%s", fx.sock);
	socket_stop(fx.socket, false);	/* what a reload does first */
	snprintf(fx.sock, sizeof fx.sock, "%s/other.sock", fx.run);
	set("socket.path", fx.sock);
	reconcile();
	cr_assert(eq(int, stat(old, &st), -1), "the old path is gone");
	cr_assert(eq(int, stat(fx.sock, &st), 0), "the new one listens");
	unsetenv("NOTIFY_SOCKET");
	close(sup);
}

Test(socket, engine_away_waits_while_listening)
{
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_WAITING));
	struct stat st;
	cr_assert(eq(int, stat(fx.sock, &st), 0));
	bool is_socket = S_ISSOCK(st.st_mode);
	cr_assert(is_socket);
}

/* ------------------------------------------------------------------ */
/* An engine socket an ordinary user could have made (issue 13). */

static bool
pumped_readable(int fd)
{
	return pump_until(fd, POLLIN);
}

/* A client's request, and the whole reply the proxy gives it. */
static void
ask(const char *request, char *reply, size_t len)
{
	ask_socket(fx.sock, request, reply, len, pumped_readable);
}

static void
assert_refusal(const char *reply, const char *reason)
{
	cr_assert(eq(int, strncmp(reply, "HTTP/1.1 503 ", 13), 0), "%s", reply);
	cr_assert(not(eq(ptr, strstr(reply, "Content-Type: application/json"),
	    NULL)), "%s", reply);
	cr_assert(not(eq(ptr, strstr(reply, "{\"message\":\"wsl-docker-agent: "
	    "the Docker Desktop engine socket is not trusted"), NULL)), "%s",
	    reply);
	cr_assert(not(eq(ptr, strstr(reply, reason), NULL)), "no \"%s\" in %s",
	    reason, reply);
}

Test(socket, an_engine_tree_a_user_made_is_untrusted_and_refused)
{
	engine_up();
	cr_assert(eq(int, chown(fx.desktop, USER_UID, USER_UID), 0));
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_UNTRUSTED), "%s",
	    socket_detail(fx.socket));
	cr_assert(eq(int, engine_fd(), -1), "the view does not trust it");

	struct json_object *problems = json_object_new_array();
	struct json_object *s = socket_report(fx.socket, problems);
	cr_assert(eq(str, (char *)member(s, "state"), "untrusted"));
	const char *why = member(s, "untrusted");
	char want[160];
	snprintf(want, sizeof want, "%s is owned by uid 1000, not root",
	    fx.desktop);
	cr_assert(not(eq(ptr, strstr(why, want), NULL)), "%s", why);
	cr_assert(not(eq(ptr, strstr(why, "sudo rm -rf"), NULL)), "%s", why);
	cr_assert(eq(sz, json_object_array_length(problems), (size_t)1));
	json_object_put(s);
	json_object_put(problems);

	/* Both requests of `docker version' get the reason; nobody connects. */
	char reply[4096];
	ask("HEAD /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\n\r\n", reply,
	    sizeof reply);
	assert_refusal(reply, want);
	ask("GET /v1.50/version HTTP/1.1\r\nHost: d\r\n\r\n", reply,
	    sizeof reply);
	assert_refusal(reply, want);
	cr_assert(not(wait_for(fx.engine_lfd, POLLIN, 0)), "the untrusted "
	    "engine socket was connected to");

	/* Root takes the tree back: served again. */
	cr_assert(eq(int, chown(fx.desktop, 0, 0), 0));
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_OK), "%s",
	    socket_detail(fx.socket));
	int c = unix_connect(fx.sock);
	cr_assert(pump_until(fx.engine_lfd, POLLIN), "not served again");
	close(c);
}

Test(socket, a_symlinked_engine_socket_is_untrusted)
{
	char real[192];
	snprintf(real, sizeof real, "%s/elsewhere.sock", fx.dir);
	fx.engine_lfd = unix_listen(real, 8);
	cr_assert(eq(int, symlink(real, fx.engine), 0));
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_UNTRUSTED));
	cr_assert(not(eq(ptr, strstr(socket_detail(fx.socket),
	    "symbolic link"), NULL)), "%s", socket_detail(fx.socket));
	char reply[4096];
	ask("GET /_ping HTTP/1.0\r\n\r\n", reply, sizeof reply);
	assert_refusal(reply, "symbolic link");
	cr_assert(not(wait_for(fx.engine_lfd, POLLIN, 0)));
}

/* Descriptors this process holds now. */
static int
fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	cr_assert(not(eq(ptr, d, NULL)));
	int n = 0;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/*
 * The attack of issue 19: while the engine socket is away, a tree is
 * swapped in whose docker.proxy.sock is a symlink to socket.path itself,
 * after the agent looked.  Before, the proxy connected by path, to
 * itself, each connection making another (20,000 descriptors in 50 ms).
 * Now nothing is connected to until a walk hands over a descriptor: the
 * client is told at once, and the descriptors stay as they were.
 */
Test(socket, a_symlink_to_the_agents_own_socket_planted_after_the_walk)
{
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_WAITING));
	cr_assert(eq(int, symlink(fx.sock, fx.engine), 0));
	int before = fd_count();
	char reply[4096];
	ask("GET /_ping HTTP/1.0\r\n\r\n", reply, sizeof reply);
	cr_assert(eq(int, strncmp(reply, "HTTP/1.1 503 ", 13), 0), "%s", reply);
	cr_assert(not(eq(ptr, strstr(reply, "engine socket"), NULL)), "%s",
	    reply);
	cr_assert(not(eq(ptr, strstr(reply, "is not there: Docker Desktop is "
	    "not running"), NULL)), "%s", reply);
	cr_assert(le(int, fd_count(), before + 1), "descriptors grew from %d "
	    "to %d", before, fd_count());
	struct json_object *px = socket_proxy_report(fx.socket);
	cr_assert(eq(int, json_object_get_int(json_object_object_get(px,
	    "total")), 1), "the proxy connected to itself");
	json_object_put(px);
	/* The next walk names the link; still nothing is connected. */
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_UNTRUSTED));
	ask("GET /_ping HTTP/1.0\r\n\r\n", reply, sizeof reply);
	assert_refusal(reply, "symbolic link");
}

/*
 * The engine socket walked to is socket.path's own inode (a hard link of
 * it there, as a bind mount or a misconfiguration would make it): the
 * proxy would connect to itself, so it is refused, naming why.
 */
Test(socket, the_agents_own_socket_is_never_the_engine)
{
	reconcile();		/* listening at socket.path */
	cr_assert(eq(int, link(fx.sock, fx.engine), 0));
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_UNTRUSTED), "%s",
	    socket_detail(fx.socket));
	cr_assert(not(eq(ptr, (void *)socket_engine_refused(fx.socket), NULL)),
	    "refused by the socket itself");
	cr_assert(eq(int, engine_fd(), -1), "and dropped from the view");
	cr_assert(not(eq(ptr, strstr(desktop_view(fx.desk)->engine_untrusted,
	    "this agent's own socket"), NULL)));
	int before = fd_count();
	char reply[4096];
	ask("GET /_ping HTTP/1.0\r\n\r\n", reply, sizeof reply);
	assert_refusal(reply, "this agent's own socket: the proxy would "
	    "connect to itself");
	cr_assert(le(int, fd_count(), before + 1), "descriptors grew from %d "
	    "to %d", before, fd_count());
}

/*
 * Docker Desktop re-creates its socket: connections go to the old one
 * (refused at once, never retried in a loop) until the walk that follows
 * hands the new one over.
 */
Test(socket, a_re_created_engine_socket_is_used_after_the_next_walk)
{
	engine_up();
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_OK));
	int held = engine_fd();
	cr_assert(ge(int, held, 0));
	reconcile();
	cr_assert(eq(int, engine_fd(), held), "the same "
	    "socket walked to again keeps its descriptor");
	close(fx.engine_lfd);
	cr_assert(eq(int, unlink(fx.engine), 0));
	fx.engine_lfd = unix_listen(fx.engine, 8);
	int c = unix_connect(fx.sock);
	cr_assert(pump_until(c, POLLIN), "the client was left hanging");
	char b;
	cr_assert(le(int, (int)read(c, &b, 1), 0), "the old socket answered");
	close(c);
	cr_assert(not(wait_for(fx.engine_lfd, POLLIN, 0)), "reached the new "
	    "socket by path");
	reconcile();		/* inotify's reconcile */
	cr_assert(eq(int, socket_state(fx.socket), SOCK_OK));
	c = unix_connect(fx.sock);
	cr_assert(pump_until(fx.engine_lfd, POLLIN), "the new socket was not "
	    "used");
	close(c);
}

/*
 * A fake engine: a child binds the engine socket as root (so the path
 * passes the walk), becomes uid 1000 and listens, so its peer credentials
 * say uid 1000.  It accepts one connection, counts the bytes that arrive
 * until EOF and writes the count to *result.
 */
static pid_t
user_engine(int *result)
{
	int r[2], ready[2];
	cr_assert(eq(int, pipe2(r, O_CLOEXEC), 0));
	cr_assert(eq(int, pipe2(ready, O_CLOEXEC), 0));
	pid_t pid = fork();
	cr_assert(ge(int, pid, 0));
	if (pid == 0) {
		close(r[0]);
		close(ready[0]);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		snprintf(a.sun_path, sizeof a.sun_path, "%s", fx.engine);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
		    setgid(USER_UID) < 0 || setuid(USER_UID) < 0 ||
		    listen(fd, 4) < 0 || write(ready[1], "r", 1) != 1)
			_exit(2);
		int s = accept(fd, NULL, NULL);
		long total = 0;
		char buf[256];
		ssize_t n;
		while (s >= 0 && (n = read(s, buf, sizeof buf)) > 0)
			total += n;
		if (s < 0 || write(r[1], &total, sizeof total) != sizeof total)
			_exit(3);
		_exit(0);
	}
	close(r[1]);
	close(ready[1]);
	char c;
	cr_assert(eq(int, (int)read(ready[0], &c, 1), 1), "the child failed");
	close(ready[0]);
	*result = r[0];
	return pid;
}

Test(socket, an_engine_served_by_a_user_hears_nothing)
{
	int result;
	pid_t child = user_engine(&result);
	reconcile();
	/* The path is root's: only a connection shows who listens. */
	cr_assert(eq(int, socket_state(fx.socket), SOCK_OK), "%s",
	    socket_detail(fx.socket));
	char reply[4096];
	ask("GET /v1.50/version HTTP/1.1\r\nHost: d\r\n\r\n", reply,
	    sizeof reply);
	assert_refusal(reply, "is served by uid 1000");
	long heard = -1;
	cr_assert(eq(int, (int)read(result, &heard, sizeof heard),
	    (int)sizeof heard));
	cr_assert(eq(long, heard, 0L), "the fake engine heard %ld bytes",
	    heard);
	close(result);
	int st;
	cr_assert(eq(int, waitpid(child, &st, 0), child));
	cr_assert(eq(int, st, 0));
}

Test(socket, mount_mode_mounts_nothing_untrusted_or_served_by_a_user)
{
	set("socket.mode", "mount");
	engine_up();
	cr_assert(eq(int, chmod(fx.desktop, 0777), 0));
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_UNTRUSTED));
	cr_assert(not(eq(ptr, strstr(socket_detail(fx.socket), "writable "
	    "by group or others"), NULL)), "%s", socket_detail(fx.socket));
	struct stat st;
	cr_assert(eq(int, lstat(fx.sock, &st), -1), "something is at %s",
	    fx.sock);

	/* Root's tree, root's listener: mounted, by descriptor. */
	cr_assert(eq(int, chmod(fx.desktop, 0755), 0));
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_OK), "%s",
	    socket_detail(fx.socket));
	int c = unix_connect(fx.sock);
	cr_assert(wait_for(fx.engine_lfd, POLLIN, WAIT_MS));
	close(c);
	socket_stop(fx.socket, false);
	cr_assert(eq(int, lstat(fx.sock, &st), -1), "left at %s", fx.sock);

	/* Root's path, a user's listener: not mounted. */
	close(fx.engine_lfd);
	fx.engine_lfd = -1;
	unlink(fx.engine);
	int result;
	pid_t child = user_engine(&result);
	reconcile();
	cr_assert(eq(int, socket_state(fx.socket), SOCK_UNTRUSTED));
	cr_assert(not(eq(ptr, strstr(socket_detail(fx.socket),
	    "is served by uid 1000"), NULL)), "%s", socket_detail(fx.socket));
	cr_assert(eq(int, lstat(fx.sock, &st), -1), "something is at %s",
	    fx.sock);
	long heard = -1;
	cr_assert(eq(int, (int)read(result, &heard, sizeof heard),
	    (int)sizeof heard));
	cr_assert(eq(long, heard, 0L));
	close(result);
	int wst;
	cr_assert(eq(int, waitpid(child, &wst, 0), child));
}
