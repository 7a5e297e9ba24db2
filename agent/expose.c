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
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

const char *
expose_state_name(enum socket_state s)
{
	switch (s) {
	case SOCK_ABSENT:	return "absent";
	case SOCK_OK:		return "ok";
	case SOCK_WAITING:	return "waiting";
	case SOCK_CONFLICT:	return "conflict";
	case SOCK_ERROR:	return "error";
	case SOCK_DISABLED:	return "disabled";
	}
	return "?";
}

static void
expose_set(struct agent *a, enum socket_state s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
expose_set(struct agent *a, enum socket_state s, const char *fmt, ...)
{
	char detail[sizeof a->sock_detail] = "";
	if (fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof detail, fmt, ap);
		va_end(ap);
	}
	a->sock_state = s;
	snprintf(a->sock_detail, sizeof a->sock_detail, "%s", detail);
	enum log_level lvl = s == SOCK_CONFLICT || s == SOCK_ERROR ?
	    LOG_LVL_ERR : LOG_LVL_NOTICE;
	log_state(lvl, "socket", "socket", "%s: %s%s%s", a->cfg.socket_path,
	    expose_state_name(s), detail[0] ? ": " : "", detail);
}

/* The docker group's gid, created (as a system group) when missing. */
static int
expose_group_gid(struct agent *a, gid_t *gid)
{
	if (util_group_gid(a->cfg.socket_group, gid) == 0)
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		execl("/usr/sbin/groupadd", "groupadd", "--system",
		    a->cfg.socket_group, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    util_group_gid(a->cfg.socket_group, gid) == 0) {
		log_notice("socket", "created the system group %s (gid %u) for "
		    "the docker socket; add users with 'usermod -aG %s USER'",
		    a->cfg.socket_group, (unsigned)*gid, a->cfg.socket_group);
		return 0;
	}
	return -1;
}

/* Who serves a live socket at path? Fills "dockerd (pid 812)". */
static bool
expose_socket_alive(const char *path, char *who, size_t wholen)
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

static void
expose_unmount(struct agent *a)
{
	const char *path = a->cfg.socket_path;
	if (manifest_find(&a->manifest, "mount", path) != NULL) {
		if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL &&
		    errno != ENOENT)
			log_err("socket", "cannot unmount %s: %s", path,
			    strerror(errno));
		manifest_remove(&a->manifest, "mount", path);
	}
	if (manifest_find(&a->manifest, "file", path) != NULL) {
		(void)unlink(path);
		manifest_remove(&a->manifest, "file", path);
	}
	a->mounted_ino = 0;
	manifest_save(&a->manifest);
}

/*
 * May the agent take socket.path?  Removes what a previous run of ours
 * left and stale sockets; refuses anything live or not ours.
 */
static bool
expose_claim_path(struct agent *a)
{
	const char *path = a->cfg.socket_path;
	struct stat st;
	if (wsl_is_mount_point(NULL, path)) {
		if (manifest_find(&a->manifest, "mount", path) != NULL) {
			expose_unmount(a);
			return expose_claim_path(a);
		}
		expose_set(a, SOCK_CONFLICT, "something else is mounted there; "
		    "not taking it over. Unmount it or set socket.path");
		return false;
	}
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return true;
		expose_set(a, SOCK_ERROR, "%s", strerror(errno));
		return false;
	}
	if (S_ISSOCK(st.st_mode)) {
		char who[128];
		if (expose_socket_alive(path, who, sizeof who)) {
			expose_set(a, SOCK_CONFLICT, "served by %s; not taking it "
			    "over. Stop docker.service (systemctl disable --now "
			    "docker.service docker.socket) or set socket.path", who);
			return false;
		}
		log_notice("socket", "replacing the stale socket %s (nothing "
		    "answers there)", path);
		if (unlink(path) < 0 && errno != ENOENT) {
			expose_set(a, SOCK_ERROR, "cannot remove the stale socket: %s",
			    strerror(errno));
			return false;
		}
		manifest_remove(&a->manifest, "socket", path);
		return true;
	}
	if (S_ISREG(st.st_mode) && st.st_size == 0 &&
	    manifest_find(&a->manifest, "file", path) != NULL) {
		(void)unlink(path);
		manifest_remove(&a->manifest, "file", path);
		return true;
	}
	expose_set(a, SOCK_CONFLICT, "a %s the agent did not create is there; "
	    "left untouched. Remove it or set socket.path",
	    S_ISDIR(st.st_mode) ? "directory" : "file");
	return false;
}

static int
expose_listen(struct agent *a)
{
	const char *path = a->cfg.socket_path;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char tmp[sizeof sun.sun_path];
	if (snprintf(tmp, sizeof tmp, "%s.wda-new", path) >= (int)sizeof tmp) {
		expose_set(a, SOCK_ERROR, "the path is too long for a unix "
		    "socket; set a shorter socket.path");
		return -1;
	}
	char *dir = strdup(path);
	if (dir != NULL) {
		*strrchr(dir, '/') = '\0';
		if (dir[0] != '\0')
			(void)util_mkdir_p(dir, 0755);
		free(dir);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		expose_set(a, SOCK_ERROR, "socket: %s", strerror(errno));
		return -1;
	}
	strcpy(sun.sun_path, tmp);
	(void)unlink(tmp);
	/* Bound, owned and restricted before it appears under its name. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    chown(tmp, 0, a->socket_gid) < 0 || chmod(tmp, 0660) < 0 ||
	    listen(fd, SOMAXCONN) < 0 || rename(tmp, path) < 0) {
		expose_set(a, SOCK_ERROR, "cannot listen: %s", strerror(errno));
		(void)unlink(tmp);
		close(fd);
		return -1;
	}
	struct stat st;
	a->listen_ino = stat(path, &st) == 0 ? st.st_ino : 0;
	a->listen_fd = fd;
	manifest_add(&a->manifest, "socket", path, NULL);
	manifest_save(&a->manifest);
	return 0;
}

static void
expose_proxy(struct agent *a)
{
	if (a->listen_fd < 0) {
		if (a->activated_fd >= 0) {
			a->listen_fd = a->activated_fd;
			a->listen_fd_activated = true;
			log_info("socket", "using %s from socket activation",
			    a->cfg.socket_path);
		} else if (!expose_claim_path(a) || expose_listen(a) < 0)
			return;
	}
	if (a->proxy != NULL)
		proxy_set_engine(a->proxy, a->engine_path);
	else {
		a->proxy = proxy_new(a->base, a->listen_fd, a->engine_path,
		    a->cfg.socket_max_connections);
		if (a->proxy == NULL) {
			expose_set(a, SOCK_ERROR, "cannot start the proxy (out of "
			    "memory)");
			return;
		}
	}
	if (a->engine_socket_present)
		expose_set(a, SOCK_OK, "proxy to %s", a->engine_path);
	else
		expose_set(a, SOCK_WAITING, "listening; Docker Desktop's engine "
		    "socket is away, so clients are told at once");
}

static void
expose_mount(struct agent *a)
{
	const char *path = a->cfg.socket_path;
	struct stat est;
	if (!a->engine_socket_present || stat(a->engine_path, &est) < 0 ||
	    !S_ISSOCK(est.st_mode)) {
		if (a->mounted_ino != 0 ||
		    manifest_find(&a->manifest, "mount", path) != NULL)
			expose_unmount(a);
		expose_set(a, SOCK_WAITING, "waiting for Docker Desktop's engine "
		    "socket to bind-mount it");
		return;
	}
	if (a->mounted_ino == est.st_ino)
		goto check_group;
	if (a->mounted_ino != 0) {
		log_info("socket", "Docker Desktop re-created its socket; "
		    "re-mounting %s", path);
		expose_unmount(a);
	}
	if (!expose_claim_path(a))
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	if (fd < 0) {
		expose_set(a, SOCK_ERROR, "cannot create the mount point: %s",
		    strerror(errno));
		return;
	}
	close(fd);
	manifest_add(&a->manifest, "file", path, NULL);
	if (mount(a->engine_path, path, NULL, MS_BIND, NULL) < 0) {
		int e = errno;
		manifest_save(&a->manifest);
		expose_unmount(a);
		expose_set(a, SOCK_ERROR, "cannot bind-mount %s: %s%s",
		    a->engine_path, strerror(e), e == EPERM ?
		    " (mount mode needs CAP_SYS_ADMIN; use socket.mode=proxy)" : "");
		return;
	}
	manifest_add(&a->manifest, "mount", path, a->engine_path);
	manifest_save(&a->manifest);
	a->mounted_ino = est.st_ino;
check_group:
	if (est.st_gid != a->socket_gid && (est.st_mode & 0007) != 0007)
		expose_set(a, SOCK_OK, "bind mount of %s, but its group is gid %u, "
		    "not this distro's %s group (gid %u): its members get "
		    "'permission denied'. Use socket.mode=proxy", a->engine_path,
		    (unsigned)est.st_gid, a->cfg.socket_group,
		    (unsigned)a->socket_gid);
	else
		expose_set(a, SOCK_OK, "bind mount of %s", a->engine_path);
}

void
expose_reconcile(struct agent *a)
{
	if (a->disabled && a->listen_fd_activated && a->proxy != NULL) {
		/*
		 * systemd holds the activated socket; closing our copy would
		 * leave clients queued forever, so keep it and turn them away.
		 */
		proxy_set_engine(a->proxy, "");
		expose_set(a, SOCK_DISABLED, "integration is off for this distro");
		return;
	}
	if (a->disabled || a->stopping) {
		expose_stop(a, true);
		expose_set(a, SOCK_DISABLED, a->disabled ?
		    "integration is off for this distro" : NULL);
		return;
	}
	if (expose_group_gid(a, &a->socket_gid) < 0) {
		a->socket_gid = 0;
		log_state(LOG_LVL_ERR, "socket", "socket.group", "group %s does "
		    "not exist and cannot be created; only root can use %s. "
		    "Create it with 'groupadd --system %s'", a->cfg.socket_group,
		    a->cfg.socket_path, a->cfg.socket_group);
	} else
		log_state(LOG_LVL_INFO, "socket", "socket.group", NULL);
	if (a->cfg.socket_mode == SOCKET_MODE_PROXY)
		expose_proxy(a);
	else
		expose_mount(a);
}

void
expose_stop(struct agent *a, bool keep_activated)
{
	if (a->proxy != NULL) {
		proxy_free(a->proxy);
		a->proxy = NULL;
	}
	if (a->listen_fd >= 0 && !(a->listen_fd_activated && keep_activated)) {
		const char *path = a->cfg.socket_path;
		struct stat st;
		if (!a->listen_fd_activated && stat(path, &st) == 0 &&
		    st.st_ino == a->listen_ino)
			(void)unlink(path);
		close(a->listen_fd);
		if (a->listen_fd_activated)
			a->activated_fd = -1;
		a->listen_fd = -1;
		a->listen_fd_activated = false;
		manifest_remove(&a->manifest, "socket", path);
		manifest_save(&a->manifest);
	}
	if (a->mounted_ino != 0 ||
	    manifest_find(&a->manifest, "mount", a->cfg.socket_path) != NULL)
		expose_unmount(a);
}
