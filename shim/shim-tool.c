/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Looking at Docker Desktop's tree the way the agent does: the same places
 * (features/desktop.c knows them, links.c links from them) and the same
 * walk by descriptor from the shared root, so the shim never runs
 * something the agent would have refused to link, and runs exactly the
 * file it checked (its descriptor).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/text.h"
#include "base/util.h"
#include "sys/trust.h"
#include "features/desktop.h"
#include "shim.h"

#define SHIM_REFUSED_SUFFIX	"; refused"

/* Does fd lead back to this very program?  Exec'ing it would loop. */
static bool
shim_is_self(int fd)
{
	struct stat self, st;
	return stat("/proc/self/exe", &self) == 0 && fstat(fd, &st) == 0 &&
	    self.st_dev == st.st_dev && self.st_ino == st.st_ino;
}

/* The trust walk's reasons may end in "; refused": the shim says so. */
static void
shim_trim_refused(char *why)
{
	size_t n = strlen(why), s = strlen(SHIM_REFUSED_SUFFIX);
	if (n >= s && strcmp(why + n - s, SHIM_REFUSED_SUFFIX) == 0)
		why[n - s] = '\0';
}

/*
 * name in one tool directory: 1 and *fd (checked, O_PATH) and *path, 0 when
 * the directory or the tool is not there, -1 and why when refused.
 */
static int
shim_find_in(const char *desktop_dir, const char *subdir, const char *name,
    char **path, int *fd, char *why, size_t whylen)
{
	struct trust_failure f;
	int dfd = desktop_open_cli_dir(desktop_dir, subdir, 0, &f);
	if (dfd < 0) {
		if (desktop_cli_absent(&f))
			return 0;
		trust_failure_format(&f, why, whylen);
		return -1;
	}
	char dirpath[PATH_MAX];
	snprintf(dirpath, sizeof dirpath, "%s", f.path);
	struct stat st;
	int found = 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			snprintf(why, whylen, "%s/%s: %s", dirpath, name,
			    strerror(errno));
			found = -1;
		}
	} else if ((*fd = desktop_open_tool(dfd, dirpath, name, why, whylen)) < 0) {
		shim_trim_refused(why);
		found = -1;
	} else if (shim_is_self(*fd)) {
		snprintf(why, whylen, "%s/%s leads back to %s itself", dirpath,
		    name, SHIM_NAME);
		close(*fd);
		*fd = -1;
		found = -1;
	} else if ((*path = util_path_join(dirpath, name)) == NULL) {
		snprintf(why, whylen, "out of memory");
		close(*fd);
		*fd = -1;
		found = -1;
	} else
		found = 1;
	close(dfd);
	return found;
}

int
shim_find_tool(const char *desktop_dir, const char *name, char **path,
    int *fd, char *why, size_t whylen)
{
	bool plugin = strncmp(name, "docker-", 7) == 0;
	int found = 0;

	*path = NULL;
	*fd = -1;
	/* The places links_plan() links from, in its order. */
	const char *dirs[8];
	size_t ndirs = 0;
	for (size_t i = 0; desktop_bin_subdirs[i] != NULL && ndirs < 7; i++)
		dirs[ndirs++] = desktop_bin_subdirs[i];
	/* cli-plugins hold only docker-* */
	for (size_t i = 0; plugin && desktop_plugin_subdirs[i] != NULL && ndirs < 7; i++)
		dirs[ndirs++] = desktop_plugin_subdirs[i];
	for (size_t i = 0; i < ndirs && found <= 0; i++) {
		/* Another place may still hold a good one; keep the first why. */
		char reason[TEXT_ESCAPE_SIZE(PATH_MAX) + 256];
		int r = shim_find_in(desktop_dir, dirs[i], name, path, fd, reason,
		    sizeof reason);
		if (r > 0)
			found = 1;
		else if (r < 0 && found == 0) {
			snprintf(why, whylen, "%s", reason);
			found = -1;
		}
	}
	return found;
}

int
shim_fexec(int fd, char *const argv[])
{
	extern char **environ;
	(void)syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	if (errno != ENOENT)
		return -1;
	/* ENOENT: a script, whose interpreter could not reopen a cloexec fd. */
	int fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
		return -1;
	(void)syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	int saved = errno;
	(void)fcntl(fd, F_SETFD, fl);
	errno = saved;
	return -1;
}

bool
shim_desktop_present(const char *desktop_dir)
{
	/* As the agent asks it: by descriptor, never a stat that could hang. */
	return desktop_has(desktop_dir, "");
}
