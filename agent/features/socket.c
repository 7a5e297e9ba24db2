/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine socket at socket.path (/run/docker.sock).  In proxy mode the
 * agent listens there as root:<docker group> 0660 and splices each
 * connection to Docker Desktop's socket, so this distro's docker group
 * works whatever the engine's socket says.  In mount mode the engine socket
 * is bind-mounted there, and re-mounted when Docker Desktop re-creates it
 * (a bind mount pins the old inode).
 *
 * Before taking the path: a stale socket (nothing answers) is replaced; a
 * live one served by anything else, such as a local dockerd, never is.
 *
 * Docker Desktop's engine socket lives in the shared tree, where an
 * ordinary user of any distro may create entries while Docker Desktop is
 * away (issue 13).  Which socket is there, and whether the walk to it
 * passed, is features/desktop.c's to say: each reconcile hands over its
 * view, with the socket's O_PATH descriptor while it is trusted, and every
 * connection (the proxy's) goes through that descriptor (/proc/self/fd/N),
 * never by the path, and checks that its peer is root (proxy.c).  While
 * there is none (the socket away, or not trusted) proxy clients are
 * refused at once with the reason.  Two refusals are this module's own,
 * and are told back (socket_engine_refused) so the view drops the socket
 * for everyone: a socket that is this agent's own listening one (the
 * proxy would connect to itself), and in mount mode one whose listener is
 * not root.  In mount mode the very inode walked to is mounted, by
 * descriptor.  While the engine socket is not trusted the state is
 * "untrusted": nothing is connected to or mounted, and proxy clients are
 * told why.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/config.h"
#include "base/defs.h"
#include "base/log.h"
#include "base/util.h"
#include "base/report.h"
#include "sys/daemon.h"
#include "sys/manifest.h"
#include "sys/trust.h"
#include "sys/wsl.h"
#include "io/proxy.h"
#include "features/desktop.h"
#include "features/socket.h"


/* A new socket is bound as PATH.wda-new, then renamed PATH. */
#define SOCKET_NEW_SUFFIX	".wda-new"

struct socket {
	struct event_base *base;
	const struct config *cfg;	/* socket.*, desktop_dir */
	struct manifest	*m;		/* its "socket", "file" and "mount" */
	const char	*engine_path;	/* the view's, as of the last reconcile */
	enum socket_state state;
	char		 detail[512];
	int		 listen_fd;
	int		 activated_fd;	/* from systemd, or -1 */
	bool		 activated_kept;	/* it is ours, from the fd store */
	bool		 listen_fd_activated;
	bool		 listen_ours;	/* its file is ours to remove */
	char		*listen_path;	/* where it listens (socket.path then) */
	dev_t		 listen_dev;	/* the inode listen_fd is bound to */
	ino_t		 listen_ino;
	int		 engine_fd;	/* the view's engine socket, or -1 */
	dev_t		 engine_dev;
	ino_t		 engine_ino;
	ino_t		 mounted_ino;	/* engine inode bound (mount mode) */
	struct trust_mount_id mount_id;	/* that mount, for the unmount */
	bool		 have_mount_id;
	char		 untrusted[1024];	/* why the engine socket is not used */
	bool		 refused;	/* by this module: socket_engine_refused */
	gid_t		 socket_gid;
	struct proxy	*proxy;
};

const char *
socket_state_name(enum socket_state s)
{
	switch (s) {
	case SOCK_ABSENT:	return "absent";
	case SOCK_OK:		return "ok";
	case SOCK_WAITING:	return "waiting";
	case SOCK_CONFLICT:	return "conflict";
	case SOCK_ERROR:	return "error";
	case SOCK_DISABLED:	return "disabled";
	case SOCK_UNTRUSTED:	return "untrusted";
	}
	return "?";
}

static void
socket_set(struct socket *x, enum socket_state s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
socket_set(struct socket *x, enum socket_state s, const char *fmt, ...)
{
	char detail[sizeof x->detail] = "";
	if (fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof detail, fmt, ap);
		va_end(ap);
	}
	x->state = s;
	snprintf(x->detail, sizeof x->detail, "%s", detail);
	enum log_level lvl = s == SOCK_CONFLICT || s == SOCK_ERROR ||
	    s == SOCK_UNTRUSTED ? LOG_LVL_ERR : LOG_LVL_NOTICE;
	log_state(lvl, "socket", "socket", "%s: %s%s%s",
	    x->cfg->socket_path, socket_state_name(s),
	    detail[0] ? ": " : "", detail);
}

/* The docker group's gid, created (as a system group) when missing. */
static int
socket_group_gid(const struct config *cfg, gid_t *gid)
{
	if (util_group_gid(cfg->socket_group, gid) == 0)
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		execl("/usr/sbin/groupadd", "groupadd", "--system",
		    cfg->socket_group, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    util_group_gid(cfg->socket_group, gid) == 0) {
		log_notice("socket", "created the system group %s (gid %u) for "
		    "the docker socket; add users with 'usermod -aG %s USER'",
		    cfg->socket_group, (unsigned)*gid, cfg->socket_group);
		return 0;
	}
	return -1;
}

/* Who serves a live socket at path? Fills "dockerd (pid 812)". */
static bool
socket_path_alive(const char *path, char *who, size_t wholen)
{
	int fd = util_unix_connect(path);
	if (fd < 0)
		return false;
	struct ucred cred;
	socklen_t len = sizeof cred;
	snprintf(who, wholen, "an unknown process");
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	    cred.pid > 0) {
		char comm_path[64], comm[64] = "a process";
		snprintf(comm_path, sizeof comm_path, "/proc/%ld/comm",
		    (long)cred.pid);
		FILE *f = fopen(comm_path, "re");
		if (f != NULL) {
			if (fgets(comm, sizeof comm, f) != NULL)
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		snprintf(who, wholen, "%s (pid %ld)", comm, (long)cred.pid);
	}
	close(fd);
	return true;
}

/*
 * socket.path's directory as an O_PATH descriptor and its last component:
 * what trust_umount_checked() needs.  The directory (/run) is root's.
 */
static int
socket_open_parent(const char *path, char *name, size_t namelen)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL || slash[1] == '\0' ||
	    (size_t)snprintf(name, namelen, "%s", slash + 1) >= namelen) {
		errno = EINVAL;
		return -1;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 :
	    (int)(slash - path), path);
	return open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/*
 * Unmount our bind mount of the engine socket, checking first that the
 * mount there is the one we made.  After a restart its identity is not
 * known: then only a mount whose root is a socket is taken for ours.
 */
static void
socket_umount_socket(struct socket *x, const char *path)
{
	char name[NAME_MAX + 1];
	int dfd = socket_open_parent(path, name, sizeof name);
	if (dfd < 0) {
		log_err("socket", "cannot unmount %s: %s", path, strerror(errno));
		return;
	}
	struct trust_mount_id id = x->mount_id;
	bool known = x->have_mount_id;
	if (!known) {
		int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		known = fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    trust_is_mount_root(fd) == 1 &&
		    trust_mount_identity(fd, &id) == 0;
		if (fd >= 0)
			close(fd);
	}
	if (known && trust_umount_checked(dfd, name, &id) < 0 &&
	    errno != EINVAL && errno != ENOENT)
		log_err("socket", "cannot unmount %s: %s%s", path,
		    strerror(errno), errno == ESTALE ? " (another mount is "
		    "there now; left alone)" : "");
	close(dfd);
}

static void
socket_unmount(struct socket *x)
{
	const char *path = x->cfg->socket_path;
	if (manifest_find(x->m, "mount", path) != NULL) {
		socket_umount_socket(x, path);
		manifest_remove(x->m, "mount", path);
	}
	if (manifest_find(x->m, "file", path) != NULL) {
		(void)unlink(path);
		manifest_remove(x->m, "file", path);
	}
	x->mounted_ino = 0;
	x->have_mount_id = false;
	manifest_save(x->m);
}

static void socket_use_engine(struct socket *, int efd);

/*
 * Is the socket efd walked to served by root?  Connects to that very
 * inode (through /proc/self/fd) and asks SO_PEERCRED; sends nothing.
 * False with x->untrusted empty when nothing answers.
 */
static bool
socket_engine_peer_ok(struct socket *x, int efd)
{
	char via[64];
	snprintf(via, sizeof via, "/proc/self/fd/%d", efd);
	int fd = util_unix_connect(via);
	uid_t uid = (uid_t)-1;
	pid_t pid = 0;
	if (fd < 0)
		return false;	/* a dead socket: wait for its successor */
	bool ok = trust_peer_is_root(fd, &uid, &pid);
	close(fd);
	if (!ok) {
		trust_peer_format(x->engine_path, uid, pid, x->untrusted,
		    sizeof x->untrusted);
		x->refused = true;
		socket_use_engine(x, -1);	/* the view lets it go */
	}
	return ok;
}

/*
 * Connect through efd (the view's engine socket, -1: none) until the next
 * reconcile.  The view keeps the same socket's descriptor, so its number,
 * in the proxy's /proc/self/fd path, stays.
 */
static void
socket_use_engine(struct socket *x, int efd)
{
	struct stat st = { 0 };
	if (efd >= 0 && fstat(efd, &st) < 0)
		efd = -1;
	x->engine_fd = efd;
	x->engine_dev = st.st_dev;
	x->engine_ino = st.st_ino;
	if (x->proxy != NULL)
		proxy_set_engine(x->proxy, efd, x->engine_path);
}

/*
 * Is the engine socket held this agent's own listening socket (a bind
 * mount or hard link of socket.path, or socket.path set to it)?  The
 * proxy would then connect to itself, each connection making another.
 */
static bool
socket_engine_is_listener(const struct socket *x)
{
	return x->engine_fd >= 0 && x->listen_fd >= 0 && x->listen_ino != 0 &&
	    x->engine_dev == x->listen_dev && x->engine_ino == x->listen_ino;
}

/* The inode an activated socket is bound to (systemd binds it in place). */
static void
socket_note_activated_inode(struct socket *x)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof sun;
	struct stat st;
	memset(&sun, 0, sizeof sun);
	bool named = getsockname(x->listen_fd, (struct sockaddr *)&sun,
	    &len) == 0 && len > offsetof(struct sockaddr_un, sun_path) &&
	    sun.sun_path[0] == '/';
	/*
	 * Ours, kept across a restart, was bound as PATH.wda-new and renamed
	 * PATH (socket_listen): its name says where it is now.
	 */
	size_t n = named ? strnlen(sun.sun_path, sizeof sun.sun_path) : 0;
	size_t sfx = sizeof SOCKET_NEW_SUFFIX - 1;
	if (n > sfx && n < sizeof sun.sun_path &&
	    strcmp(sun.sun_path + n - sfx, SOCKET_NEW_SUFFIX) == 0)
		sun.sun_path[n - sfx] = '\0';
	if (named && stat(sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		x->listen_dev = st.st_dev;
		x->listen_ino = st.st_ino;
	}
}

/*
 * May the agent take socket.path?  Removes what a previous run of ours
 * left and stale sockets; refuses anything live or not ours.
 */
static bool
socket_claim_path(struct socket *x)
{
	const char *path = x->cfg->socket_path;
	struct stat st;
	if (wsl_is_mount_point(NULL, path)) {
		if (manifest_find(x->m, "mount", path) != NULL) {
			socket_unmount(x);
			return socket_claim_path(x);
		}
		socket_set(x, SOCK_CONFLICT, "something else is mounted there; "
		    "not taking it over. Unmount it or set socket.path");
		return false;
	}
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return true;
		socket_set(x, SOCK_ERROR, "%s", strerror(errno));
		return false;
	}
	if (S_ISSOCK(st.st_mode)) {
		char who[128];
		if (socket_path_alive(path, who, sizeof who)) {
			socket_set(x, SOCK_CONFLICT, "served by %s; not taking it "
			    "over. Stop docker.service (systemctl disable --now "
			    "docker.service docker.socket) or set socket.path", who);
			return false;
		}
		log_notice("socket", "replacing the stale socket %s (nothing "
		    "answers there)", path);
		if (unlink(path) < 0 && errno != ENOENT) {
			socket_set(x, SOCK_ERROR, "cannot remove the stale socket: %s",
			    strerror(errno));
			return false;
		}
		manifest_remove(x->m, "socket", path);
		return true;
	}
	if (S_ISREG(st.st_mode) && st.st_size == 0 &&
	    manifest_find(x->m, "file", path) != NULL) {
		(void)unlink(path);
		manifest_remove(x->m, "file", path);
		return true;
	}
	socket_set(x, SOCK_CONFLICT, "a %s the agent did not create is there; "
	    "left untouched. Remove it or set socket.path",
	    S_ISDIR(st.st_mode) ? "directory" : "file");
	return false;
}

static int
socket_listen(struct socket *x)
{
	const char *path = x->cfg->socket_path;
	struct sockaddr_un sun;
	char tmp[sizeof sun.sun_path];
	socklen_t sunlen = 0;
	if (snprintf(tmp, sizeof tmp, "%s" SOCKET_NEW_SUFFIX, path) <
	    (int)sizeof tmp)
		sunlen = util_sockaddr_un(&sun, tmp);
	if (sunlen == 0) {
		socket_set(x, SOCK_ERROR, "the path is too long for a unix "
		    "socket; set a shorter socket.path");
		return -1;
	}
	(void)util_mkdir_parent(path, 0755);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		socket_set(x, SOCK_ERROR, "socket: %s", strerror(errno));
		return -1;
	}
	(void)unlink(tmp);
	/* Bound, owned and restricted before it appears under its name. */
	if (bind(fd, (struct sockaddr *)&sun, sunlen) < 0 ||
	    chown(tmp, 0, x->socket_gid) < 0 || chmod(tmp, 0660) < 0 ||
	    listen(fd, SOMAXCONN) < 0 || rename(tmp, path) < 0) {
		socket_set(x, SOCK_ERROR, "cannot listen: %s", strerror(errno));
		(void)unlink(tmp);
		close(fd);
		return -1;
	}
	struct stat st;
	x->listen_dev = stat(path, &st) == 0 ? st.st_dev : 0;
	x->listen_ino = x->listen_dev != 0 ? st.st_ino : 0;
	x->listen_fd = fd;
	x->listen_ours = true;
	(void)util_set_str(&x->listen_path, path);
	manifest_add(x->m, "socket", path, NULL);
	manifest_save(x->m);
	/*
	 * The supervisor keeps a copy (systemd's fd store, or `start''s) and
	 * hands it back at the next start: the socket outlives this process,
	 * its inode too, so containers that bind-mounted it keep it and
	 * clients that connect meanwhile wait in its backlog (issue 21).
	 * From now on it is as if activated: never removed at a stop.
	 */
	if (daemon_store_fd(fd, SOCKET_FDNAME) == 0) {
		x->activated_fd = fd;
		x->listen_fd_activated = true;
		log_info("socket", "%s is kept by the supervisor across restarts",
		    path);
	}
	return 0;
}

static void
socket_start_proxy(struct socket *x)
{
	if (x->listen_fd < 0) {
		if (x->activated_fd >= 0) {
			x->listen_fd = x->activated_fd;
			x->listen_fd_activated = true;
			x->listen_ours = x->activated_kept;
			(void)util_set_str(&x->listen_path, x->cfg->socket_path);
			socket_note_activated_inode(x);
			log_info("socket", "using %s from socket activation",
			    x->cfg->socket_path);
		} else if (!socket_claim_path(x) || socket_listen(x) < 0)
			return;
	}
	if (socket_engine_is_listener(x)) {
		snprintf(x->untrusted, sizeof x->untrusted, "%s is %s itself, "
		    "this agent's own socket: the proxy would connect to "
		    "itself. Set socket.path and desktop_dir so they differ",
		    x->engine_path, x->cfg->socket_path);
		x->refused = true;
		socket_use_engine(x, -1);
	}
	if (x->proxy != NULL)
		proxy_set_engine(x->proxy, x->engine_fd, x->engine_path);
	else {
		x->proxy = proxy_new(x->base, x->listen_fd, x->engine_fd,
		    x->engine_path, x->cfg->socket_max_connections);
		if (x->proxy == NULL) {
			socket_set(x, SOCK_ERROR, "cannot start the proxy (out of "
			    "memory)");
			return;
		}
	}
	char why[1536];
	if (x->untrusted[0] != '\0') {
		snprintf(why, sizeof why, AGENT_NAME ": the Docker Desktop engine "
		    "socket is not trusted, so this proxy connects to nothing: %s",
		    x->untrusted);
		proxy_set_refusal(x->proxy, why);
		socket_set(x, SOCK_UNTRUSTED, "%s", x->untrusted);
		return;
	}
	if (x->engine_fd < 0) {
		/* Never a path to try in the meantime: nothing is connected. */
		snprintf(why, sizeof why, AGENT_NAME ": Docker Desktop's engine "
		    "socket %s is not there: Docker Desktop is not running (or "
		    "still starting). Start Docker Desktop, then try again",
		    x->engine_path);
		proxy_set_refusal(x->proxy, why);
		socket_set(x, SOCK_WAITING, "listening; Docker Desktop's engine "
		    "socket is away, so clients are told at once");
		return;
	}
	proxy_set_refusal(x->proxy, NULL);
	socket_set(x, SOCK_OK, "proxy to %s", x->engine_path);
}

/* Create socket.path as an empty file and mount the socket efd onto it. */
static int
socket_mount_fd(struct socket *x, int efd)
{
	const char *path = x->cfg->socket_path;
	(void)util_mkdir_parent(path, 0755);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	if (fd < 0) {
		socket_set(x, SOCK_ERROR, "cannot create the mount point: %s",
		    strerror(errno));
		return -1;
	}
	close(fd);
	manifest_add(x->m, "file", path, NULL);
	int tfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0 || trust_mount_fd(efd, tfd, 0, &x->mount_id) < 0) {
		int e = errno;
		if (tfd >= 0)
			close(tfd);
		manifest_save(x->m);
		socket_unmount(x);
		socket_set(x, SOCK_ERROR, "cannot bind-mount %s: %s%s",
		    x->engine_path, strerror(e), e == EPERM ?
		    " (mount mode needs CAP_SYS_ADMIN; use socket.mode=proxy)" : "");
		return -1;
	}
	close(tfd);
	x->have_mount_id = true;
	manifest_add(x->m, "mount", path, x->engine_path);
	manifest_save(x->m);
	return 0;
}

/* efd: the engine socket walked to, or -1 (missing or untrusted). */
static void
socket_mount(struct socket *x, int efd)
{
	const char *path = x->cfg->socket_path;
	struct stat est;
	if (efd < 0 || fstat(efd, &est) < 0 ||
	    (est.st_ino != x->mounted_ino && !socket_engine_peer_ok(x, efd))) {
		if (x->mounted_ino != 0 ||
		    manifest_find(x->m, "mount", path) != NULL)
			socket_unmount(x);
		if (x->untrusted[0] != '\0')
			socket_set(x, SOCK_UNTRUSTED, "%s; nothing is mounted",
			    x->untrusted);
		else
			socket_set(x, SOCK_WAITING, "waiting for Docker Desktop's "
			    "engine socket to bind-mount it");
		return;
	}
	if (x->mounted_ino == est.st_ino)
		goto check_group;
	if (x->mounted_ino != 0) {
		log_info("socket", "Docker Desktop re-created its socket; "
		    "re-mounting %s", path);
		socket_unmount(x);
	}
	if (!socket_claim_path(x) || socket_mount_fd(x, efd) < 0)
		return;
	x->mounted_ino = est.st_ino;
check_group:
	if (est.st_gid != x->socket_gid && (est.st_mode & 0007) != 0007)
		socket_set(x, SOCK_OK, "bind mount of %s, but its group is gid %u, "
		    "not this distro's %s group (gid %u): its members get "
		    "'permission denied'. Use socket.mode=proxy", x->engine_path,
		    (unsigned)est.st_gid, x->cfg->socket_group,
		    (unsigned)x->socket_gid);
	else
		socket_set(x, SOCK_OK, "bind mount of %s", x->engine_path);
}

/* efd: the engine socket as walked to, or -1. */
static void
socket_reconcile_with(struct socket *x, int efd, bool disabled, bool stopping)
{
	if (disabled && x->listen_fd_activated && !x->listen_ours &&
	    x->proxy != NULL) {
		/*
		 * systemd's socket unit holds the activated socket; closing
		 * our copy would leave clients queued forever, so keep it and
		 * turn them away.  Our own kept socket is let go instead:
		 * disabled, the distro's /run/docker.sock is free again.
		 */
		proxy_set_engine(x->proxy, -1, x->engine_path);
		proxy_set_refusal(x->proxy, AGENT_NAME ": WSL integration is off "
		    "for this distro; turn it on in Docker Desktop (Settings > "
		    "Resources > WSL integration) or run 'sudo wsl-docker-agent "
		    "enable'");
		socket_set(x, SOCK_DISABLED, "integration is off for this distro");
		return;
	}
	if (disabled || stopping) {
		socket_stop(x, !disabled);	/* a stop keeps it, disable not */
		socket_set(x, SOCK_DISABLED, disabled ?
		    "integration is off for this distro" : NULL);
		return;
	}
	if (socket_group_gid(x->cfg, &x->socket_gid) < 0) {
		x->socket_gid = 0;
		log_state(LOG_LVL_ERR, "socket", "socket.group", "group %s does "
		    "not exist and cannot be created; only root can use %s. "
		    "Create it with 'groupadd --system %s'", x->cfg->socket_group,
		    x->cfg->socket_path, x->cfg->socket_group);
	} else
		log_state(LOG_LVL_INFO, "socket", "socket.group", NULL);
	if (x->cfg->socket_mode == SOCKET_MODE_PROXY)
		socket_start_proxy(x);
	else
		socket_mount(x, efd);
}

void
socket_reconcile(struct socket *x, const struct desktop_view *v, bool disabled,
    bool stopping)
{
	x->engine_path = v->engine_path;
	x->refused = false;
	snprintf(x->untrusted, sizeof x->untrusted, "%s",
	    v->engine_untrusted != NULL ? v->engine_untrusted : "");
	socket_use_engine(x, v->engine_fd);
	socket_reconcile_with(x, x->engine_fd, disabled, stopping);
}

void
socket_stop(struct socket *x, bool keep_activated)
{
	if (x->proxy != NULL) {
		proxy_free(x->proxy);
		x->proxy = NULL;
	}
	if (x->listen_fd >= 0 && !(x->listen_fd_activated && keep_activated)) {
		/* Where it listens: socket.path may be a new one by now. */
		const char *path = x->listen_path != NULL ? x->listen_path :
		    x->cfg->socket_path;
		struct stat st;
		if ((x->listen_ours || !x->listen_fd_activated) &&
		    stat(path, &st) == 0 && st.st_ino == x->listen_ino)
			(void)unlink(path);
		close(x->listen_fd);
		if (x->listen_fd_activated) {
			x->activated_fd = -1;
			/* Given up for good (a new path, a conflict): not kept. */
			(void)daemon_unstore_fd(SOCKET_FDNAME);
		}
		x->listen_fd = -1;
		x->listen_fd_activated = false;
		x->listen_ours = false;
		manifest_remove(x->m, "socket", path);
		manifest_save(x->m);
		free(x->listen_path);
		x->listen_path = NULL;
	}
	if (x->mounted_ino != 0 ||
	    manifest_find(x->m, "mount", x->cfg->socket_path) != NULL)
		socket_unmount(x);
}

struct socket *
socket_new(struct event_base *base, const struct config *cfg,
    struct manifest *m, int activated_fd, bool kept)
{
	struct socket *x = calloc(1, sizeof *x);
	if (x == NULL)
		return NULL;
	x->base = base;
	x->cfg = cfg;
	x->m = m;
	x->engine_path = "";
	x->listen_fd = -1;
	x->engine_fd = -1;
	x->activated_fd = activated_fd;
	x->activated_kept = activated_fd >= 0 && kept;
	return x;
}

/* An activated socket stays open: systemd still holds it. */
void
socket_free(struct socket *x)
{
	if (x == NULL)
		return;
	socket_stop(x, true);
	free(x->listen_path);
	free(x);
}

/*
 * Why the engine socket is not trusted: the walk's failure, or in proxy
 * mode the last connection's peer that was not root (its listener is not
 * Docker Desktop's).  NULL while it is trusted.
 */
static const char *
socket_untrusted_why(const struct socket *x)
{
	if (x->state == SOCK_UNTRUSTED)
		return x->untrusted;
	return x->state == SOCK_OK ? proxy_peer_refusal(x->proxy) : NULL;
}

enum socket_state
socket_state(const struct socket *x)
{
	if (x == NULL)
		return SOCK_ABSENT;
	return socket_untrusted_why(x) != NULL ? SOCK_UNTRUSTED : x->state;
}

const char *
socket_detail(const struct socket *x)
{
	if (x == NULL)
		return "";
	const char *why = socket_untrusted_why(x);
	return why != NULL ? why : x->detail;
}

struct proxy *
socket_proxy(const struct socket *x)
{
	return x != NULL ? x->proxy : NULL;
}

const char *
socket_engine_refused(const struct socket *x)
{
	return x != NULL && x->refused ? x->untrusted : NULL;
}

/* Ownership as it is on disk: a problem when the docker group is locked out. */
static void
socket_ownership_report(const struct socket *x, struct json_object *s,
    struct json_object *problems)
{
	const struct config *cfg = x->cfg;
	struct stat st;
	if (stat(cfg->socket_path, &st) < 0)
		return;
	char perm[8];
	snprintf(perm, sizeof perm, "%04o", (unsigned)(st.st_mode & 07777));
	json_object_object_add(s, "owner_uid", json_object_new_int64(st.st_uid));
	json_object_object_add(s, "group_gid", json_object_new_int64(st.st_gid));
	report_add_str(s, "permissions", perm);
	if (x->state == SOCK_OK && st.st_gid != x->socket_gid &&
	    (st.st_mode & 0006) != 0006) {
		char what[256];
		snprintf(what, sizeof what, "%s belongs to gid %u, not this "
		    "distro's %s group (gid %u): its members get 'permission "
		    "denied'", cfg->socket_path, (unsigned)st.st_gid,
		    cfg->socket_group, (unsigned)x->socket_gid);
		report_add_problem(problems, what, cfg->socket_mode ==
		    SOCKET_MODE_MOUNT ? "set socket.mode to proxy, which "
		    "keeps this distro's docker group" :
		    "restart the agent to fix the socket's ownership");
	}
}

struct json_object *
socket_report(const struct socket *x, struct json_object *problems)
{
	struct json_object *s = json_object_new_object();
	if (s == NULL || x == NULL)
		return s;
	const struct config *cfg = x->cfg;
	report_add_str(s, "path", cfg->socket_path);
	report_add_str(s, "mode", config_socket_mode_name(cfg->socket_mode));
	const char *why = socket_untrusted_why(x);
	report_add_str(s, "state", socket_state_name(socket_state(x)));
	report_add_str(s, "detail", why != NULL ? why : x->detail);
	report_add_str(s, "group", cfg->socket_group);
	report_add_str(s, "untrusted", why);
	socket_ownership_report(x, s, problems);
	if (why != NULL) {
		char what[1200];
		snprintf(what, sizeof what, "the engine socket is untrusted: %s",
		    why);
		report_add_problem(problems, what, cfg->socket_mode ==
		    SOCKET_MODE_PROXY ? "remove what is named above; until "
		    "then clients of the socket are refused" : "remove what is "
		    "named above; until then nothing is mounted");
	} else if (x->state == SOCK_CONFLICT || x->state == SOCK_ERROR) {
		char what[700];
		snprintf(what, sizeof what, "%s: %s", cfg->socket_path,
		    x->detail);
		report_add_problem(problems, what, "see above; the agent retries "
		    "on every heartbeat and on 'wsl-docker-agent reconcile'");
	}
	return s;
}

struct json_object *
socket_proxy_report(const struct socket *x)
{
	struct proxy_stats ps = { 0 };
	if (x != NULL && x->proxy != NULL)
		proxy_stats(x->proxy, &ps);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "active", json_object_new_int64((int64_t)ps.active));
	json_object_object_add(o, "total", json_object_new_int64((int64_t)ps.total));
	json_object_object_add(o, "refused",
	    json_object_new_int64((int64_t)ps.refused));
	json_object_object_add(o, "errors", json_object_new_int64((int64_t)ps.errors));
	return o;
}
