/*
 * Looking at Docker Desktop's tree the way the agent does: the same places
 * (links.c plans links from them) and the same test of a tool, so the shim
 * never runs something the agent would have refused to link.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "shim.h"

#define SHIM_REFUSED_SUFFIX	"; refused"

/* Does `path' lead back to this very program?  Exec'ing it would loop. */
static bool
shim_is_self(const char *path)
{
	struct stat self, st;
	return stat("/proc/self/exe", &self) == 0 && stat(path, &st) == 0 &&
	    self.st_dev == st.st_dev && self.st_ino == st.st_ino;
}

/* links_target_valid() ends its reasons in "; refused": the shim says so. */
static void
shim_trim_refused(char *why)
{
	size_t n = strlen(why), s = strlen(SHIM_REFUSED_SUFFIX);
	if (n >= s && strcmp(why + n - s, SHIM_REFUSED_SUFFIX) == 0)
		why[n - s] = '\0';
}

int
shim_find_tool(const char *desktop_dir, const char *name, char **path,
    char *why, size_t whylen)
{
	bool plugin = strncmp(name, "docker-", 7) == 0;
	int found = 0;

	*path = NULL;
	/* The places links_plan() links from, in its order. */
	const char *dirs[8];
	size_t ndirs = 0;
	for (size_t i = 0; links_bin_subdirs[i] != NULL && ndirs < 7; i++)
		dirs[ndirs++] = links_bin_subdirs[i];
	/* cli-plugins hold only docker-* */
	for (size_t i = 0; plugin && links_plugin_subdirs[i] != NULL && ndirs < 7; i++)
		dirs[ndirs++] = links_plugin_subdirs[i];
	for (size_t i = 0; i < ndirs && found <= 0; i++) {
		char *dir = util_path_join(desktop_dir, dirs[i]);
		char *cand = dir != NULL ? util_path_join(dir, name) : NULL;
		free(dir);
		if (cand == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		struct stat st;
		if (lstat(cand, &st) < 0) {
			if (errno != ENOENT && errno != ENOTDIR && found == 0) {
				snprintf(why, whylen, "%s: %s", cand,
				    strerror(errno));
				found = -1;
			}
			free(cand);
			continue;
		}
		char reason[PATH_MAX + 128];
		if (!links_target_valid(desktop_dir, cand, reason, sizeof reason)) {
			/* Another place may still hold a good one; keep the first why. */
			if (found == 0) {
				shim_trim_refused(reason);
				snprintf(why, whylen, "%s", reason);
				found = -1;
			}
			free(cand);
			continue;
		}
		if (shim_is_self(cand)) {
			if (found == 0) {
				snprintf(why, whylen, "%s leads back to %s itself",
				    cand, SHIM_NAME);
				found = -1;
			}
			free(cand);
			continue;
		}
		*path = cand;
		found = 1;
	}
	return found;
}

bool
shim_desktop_present(const char *desktop_dir)
{
	struct stat st;
	return stat(desktop_dir, &st) == 0 && S_ISDIR(st.st_mode);
}
