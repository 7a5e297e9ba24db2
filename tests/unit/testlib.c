/* SPDX-License-Identifier: Apache-2.0 */
/* What the unit tests share; see testlib.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
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
#include "io/control.h"
#include "io/notify.h"
#include "io/watch.h"
#include "features/binds.h"
#include "features/desktop.h"
#include "features/exposures.h"
#include "features/health.h"
#include "features/links.h"
#include "features/probe.h"
#include "features/socket.h"
#include "features/usage.h"
#include "features/volume.h"
#include "main/client.h"
#include "testlib.h"

bool
wait_for(int fd, short events, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;
	do
		r = poll(&pfd, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

/* A unix stream socket and the address of path, for bind or connect. */
static int
unix_socket_for(const char *path, struct sockaddr_un *addr, socklen_t *len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(ge(int, fd, 0), "socket: %s", strerror(errno));
	*len = util_sockaddr_un(addr, path);
	cr_assert(ne(u32, (uint32_t)*len, 0), "%s: %s", path, strerror(errno));
	return fd;
}

int
unix_listen(const char *path, int backlog)
{
	struct sockaddr_un addr;
	socklen_t len;
	int fd = unix_socket_for(path, &addr, &len);
	cr_assert(eq(int, bind(fd, (struct sockaddr *)&addr, len), 0),
	    "bind %s: %s", path, strerror(errno));
	cr_assert(eq(int, listen(fd, backlog), 0), "listen: %s",
	    strerror(errno));
	return fd;
}

int
unix_connect(const char *path)
{
	struct sockaddr_un addr;
	socklen_t len;
	int fd = unix_socket_for(path, &addr, &len);
	int r = connect(fd, (struct sockaddr *)&addr, len);
	cr_assert(eq(int, r, 0), "connect %s: %s", path, strerror(errno));
	return fd;
}

int
accept_within(int lfd, int ms)
{
	cr_assert(wait_for(lfd, POLLIN, ms), "nobody reached the engine");
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert(ge(int, fd, 0), "accept: %s", strerror(errno));
	return fd;
}

void
ask_socket(const char *path, const char *request, char *reply, size_t len,
    bool (*ready)(int fd))
{
	int c = unix_connect(path);
	write_all(c, request, strlen(request));
	size_t got = 0;
	for (;;) {
		cr_assert(ready(c), "no reply from %s", path);
		ssize_t n = read(c, reply + got, len - 1 - got);
		cr_assert(ge(int, (int)n, 0), "read: %s", strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
		cr_assert(lt(sz, got, len - 1), "reply too long");
	}
	reply[got] = '\0';
	close(c);
}

void
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		cr_assert(gt(sz, (size_t)(n < 0 ? 0 : n), 0), "send: %s",
		    strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

void
read_exactly(int fd, void *buf, size_t len, int ms)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		cr_assert(wait_for(fd, POLLIN, ms),
		    "only %zu of %zu bytes arrived", got, len);
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		cr_assert(gt(sz, (size_t)(n < 0 ? 0 : n), 0),
		    "read after %zu of %zu bytes: %s", got, len,
		    n == 0 ? "EOF" : strerror(errno));
		got += (size_t)n;
	}
}

long
cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	cr_assert(not(eq(ptr, f, NULL)), "%s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields 14 and 15 (utime, stime), counted after the ")" of comm. */
	const char *p = strrchr(buf, ')');
	cr_assert(not(eq(ptr, (void *)p, NULL)));
	unsigned long utime = 0, stime = 0;
	cr_assert(eq(int, sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %lu %lu", &utime, &stime), 2));
	return (long)(utime + stime);
}

void
make_temp_dir(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "/tmp/wda-%s-XXXXXX", name);
	cr_assert(lt(sz, (size_t)(n < 0 ? len : (size_t)n), len));
	cr_assert(not(eq(ptr, mkdtemp(buf), NULL)), "mkdtemp %s: %s", buf,
	    strerror(errno));
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(path);
}

void
remove_tree(const char *dir)
{
	cr_assert(eq(int, nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS), 0),
	    "removing %s: %s", dir, strerror(errno));
}

char tmp_root[PATH_MAX];

void
tmp_root_setup(void)
{
	make_temp_dir(tmp_root, PATH_MAX, "unit");
}

void
tmp_root_teardown(void)
{
	remove_tree(tmp_root);
}

void
put_file_in(const char *dir, const char *rel, mode_t mode, const char *text)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	cr_assert(eq(int, util_mkdir_parent(path, 0755), 0), "mkdir for %s: %s",
	    path, strerror(errno));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert(ge(int, fd, 0), "create %s: %s", path, strerror(errno));
	size_t len = strlen(text);
	cr_assert(eq(sz, (size_t)write(fd, text, len), len), "write %s: %s",
	    path, strerror(errno));
	close(fd);
	cr_assert(eq(int, chmod(path, mode), 0), "chmod %s: %s", path,
	    strerror(errno));
}

void
put_dir_as(const char *dir, const char *rel, mode_t mode, uid_t uid)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	cr_assert(eq(int, mkdir(path, mode), 0), "mkdir %s: %s", path,
	    strerror(errno));
	cr_assert(eq(int, chmod(path, mode), 0));
	cr_assert(eq(int, chown(path, uid, 0), 0));
}

void
test_agent_set(struct test_agent *t, const char *key, const char *value)
{
	char err[CONFIG_ERR_LEN];
	cr_assert(eq(int, config_set(&t->a.cfg, key, value, err, sizeof err), 0),
	    "%s: %s", key, err);
}

char *
test_agent_path(struct test_agent *t, const char *name)
{
	static char p[4][160];
	static int next;
	char *s = p[next++ % 4];
	snprintf(s, sizeof p[0], "%s/%s", t->dir, name);
	return s;
}

void
test_agent_setup(struct test_agent *t, const char *name)
{
	char err[CONFIG_ERR_LEN] = "";

	memset(&t->a, 0, sizeof t->a);
	make_temp_dir(t->dir, sizeof t->dir, name);
	/* The tree below t->dir is the shared root, trusted as root made it. */
	trusted_tree_up(t->dir, test_agent_path(t, "desktop"));
	config_init(&t->a.cfg);
	test_agent_set(t, "desktop_dir", test_agent_path(t, "desktop"));
	test_agent_set(t, "socket.path", test_agent_path(t, "docker.sock"));
	test_agent_set(t, "links.bin_dir", test_agent_path(t, "bin"));
	test_agent_set(t, "links.plugin_dir", test_agent_path(t, "plugins"));
	test_agent_set(t, "links.cli_mount", test_agent_path(t, "run/cli-tools"));
	test_agent_set(t, "state_dir", test_agent_path(t, "state"));
	test_agent_set(t, "control_socket", test_agent_path(t, "control.sock"));
	test_agent_set(t, "distro", "unit");
	test_agent_set(t, "host.address", "none");
	cr_assert(eq(int, mkdir(test_agent_path(t, "state"), 0755), 0));
	t->a.base = event_base_new();
	cr_assert(eq(int, agent_changes_init(&t->a), 0));
	t->a.start_mono_ms = util_now_ms();
	snprintf(t->a.instance_id, sizeof t->a.instance_id,
	    "0123456789abcdef0123456789abcdef");
	cr_assert(eq(int, manifest_load(&t->a.manifest, test_agent_path(t,
	    "state/manifest.json"), err, sizeof err), 0), "%s", err);
	t->a.desktop = desktop_new(&t->a.cfg);
	t->a.links = links_new(&t->a.cfg, &t->a.manifest);
	t->a.socket = socket_new(t->a.base, &t->a.cfg, &t->a.manifest, -1, false);
	t->a.probe = probe_new(t->a.base, &t->a.cfg, t->a.changed);
	cr_assert(t->a.changed != NULL && t->a.desktop != NULL &&
	    t->a.links != NULL && t->a.socket != NULL && t->a.probe != NULL);
	t->a.health = agent_health_new(&t->a);	/* state off: in the status */
	t->a.exposures = exposures_new(&t->a.cfg, &t->a.manifest, NULL);
	t->a.volumes = volumes_new(t->a.base, &t->a.cfg, t->a.exposures);
	t->a.usage = usage_new(t->a.base, t->a.exposures, t->a.volumes, NULL,
	    NULL, NULL);
	t->a.binds = binds_new(&t->a.cfg, t->a.exposures, t->a.volumes,
	    t->a.usage);
	signal(SIGPIPE, SIG_IGN);
}

void
test_agent_settle(struct test_agent *t)
{
	for (int i = 0; i < 100 && notify_pending(t->a.changed); i++)
		cr_assert(ge(int, event_base_loop(t->a.base, EVLOOP_ONCE), 0));
	cr_assert(not(notify_pending(t->a.changed)), "the change never settled");
}

void
test_agent_teardown(struct test_agent *t)
{
	t->a.stopping = true;
	watch_free(t->a.watch);
	control_free(t->a.control);
	binds_free(t->a.binds);
	usage_free(t->a.usage);
	volumes_free(t->a.volumes);
	exposures_free(t->a.exposures);
	socket_stop(t->a.socket, false);
	health_free(t->a.health, true);
	probe_free(t->a.probe);
	links_free(t->a.links);
	socket_free(t->a.socket);
	desktop_free(t->a.desktop);
	manifest_free(&t->a.manifest);
	config_free(&t->a.cfg);
	notify_free(t->a.changed);
	t->a.changed = NULL;
	event_base_free(t->a.base);
	trusted_tree_down(t->dir);
	if (access(t->dir, F_OK) == 0)
		remove_tree(t->dir);
}

int
test_agent_engine_up(struct test_agent *t)
{
	const char *path = desktop_view(t->a.desktop)->engine_path;
	cr_assert(eq(int, util_mkdir_parent(path, 0755), 0), "%s: %s", path,
	    strerror(errno));
	int lfd = unix_listen(path, 8);
	desktop_look(t->a.desktop);
	cr_assert(ge(int, desktop_view(t->a.desktop)->engine_fd, 0), "the look "
	    "did not trust %s: %s", path,
	    desktop_view(t->a.desktop)->engine_untrusted);
	return lfd;
}

static void
run_until_expired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	*(bool *)arg = true;
}

bool
run_until(struct event_base *base, bool (*done)(void *), void *arg, int ms)
{
	bool expired = false;
	struct event *deadline = evtimer_new(base, run_until_expired, &expired);
	cr_assert(not(eq(ptr, deadline, NULL)));
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(deadline, &tv);
	while (!done(arg) && !expired)
		cr_assert(ge(int, event_base_loop(base, EVLOOP_ONCE), 0));
	event_free(deadline);
	return done(arg);
}

void
private_mounts(void)
{
	cr_assert(eq(int, unshare(CLONE_NEWNS), 0), "unshare: %s",
	    strerror(errno));
	cr_assert(eq(int, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0));
}

void
trusted_tree_up(const char *root, const char *desktop)
{
	char cli[PATH_MAX * 2];
	private_mounts();
	cr_assert(eq(int, mount("wda-test", root, "tmpfs", 0, "mode=1777"), 0),
	    "tmpfs on %s: %s", root, strerror(errno));
	snprintf(cli, sizeof cli, "%s/cli-tools", desktop);
	cr_assert(eq(int, util_mkdir_p(cli, 0755), 0), "%s: %s", cli,
	    strerror(errno));
	cr_assert(eq(int, mount("wda-test", cli, "tmpfs", 0, "mode=755"), 0),
	    "tmpfs on %s: %s", cli, strerror(errno));
}

void
trusted_tree_down(const char *root)
{
	(void)umount2(root, MNT_DETACH);
	(void)rmdir(root);
}

static bool
fd_readable(void *arg)
{
	return wait_for(*(int *)arg, POLLIN, 0);
}

static void
wake_nothing(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
}

struct json_object *
test_agent_ask(struct test_agent *t, const char *line)
{
	int p[2];
	cr_assert(eq(int, pipe2(p, O_CLOEXEC), 0));
	pid_t pid = fork();
	cr_assert(ge(int, pid, 0));
	if (pid == 0) {
		char *reply = NULL, err[256];
		close(p[0]);
		if (control_request(t->a.cfg.control_socket, line, &reply, err,
		    sizeof err) < 0)
			_exit(1);
		size_t n = strlen(reply);
		_exit(write(p[1], reply, n) == (ssize_t)n ? 0 : 1);
	}
	close(p[1]);
	/* The pipe is an event too, so the loop wakes the moment the child
	 * writes (or exits) rather than at the next timer of the agent's. */
	struct event *wake = event_new(t->a.base, p[0], EV_READ, wake_nothing,
	    NULL);
	cr_assert(not(eq(ptr, wake, NULL)));
	event_add(wake, NULL);
	bool answered = run_until(t->a.base, fd_readable, &p[0], 20000);
	event_free(wake);
	if (!answered)
		(void)kill(pid, SIGKILL);
	int status;
	cr_assert(eq(int, waitpid(pid, &status, 0), pid));
	cr_assert(answered, "no answer to %s in 20 s", line);
	bool replied = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	cr_assert(replied, "the child got no reply to %s", line);
	static char buf[1 << 20];
	ssize_t n = read(p[0], buf, sizeof buf - 1);
	close(p[0]);
	cr_assert(n > 0, "an empty reply to %s", line);
	buf[n] = '\0';
	struct json_object *o = json_tokener_parse(buf);
	cr_assert(not(eq(ptr, o, NULL)), "not JSON: %s", buf);
	return o;
}
