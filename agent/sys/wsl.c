/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Facts about the environment: where the shared /mnt/wsl tmpfs is mounted
 * (it is /wsl with [automount] root=/), whether this kernel is WSL 2, and
 * the distro's name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/defs.h"
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "sys/wsl.h"

#define MOUNTINFO_LINE_MAX 8192

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
wsl_unescape(char *s)
{
	char *out = s;
	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 4;
		} else
			*out++ = *s++;
	}
	*out = '\0';
}

bool
wsl_parse_mountinfo_line(char *line, struct mountinfo_entry *e)
{
	char *fields[6];
	char *save = NULL, *tok;
	int n = 0;
	char *p = line;
	while (n < 6 && (tok = strtok_r(p, " \n", &save)) != NULL) {
		fields[n++] = tok;
		p = NULL;
	}
	if (n < 6)
		return false;
	char *end;
	errno = 0;
	e->mnt_id = strtoull(fields[0], &end, 10);
	if (errno != 0 || *end != '\0' || end == fields[0])
		return false;
	e->root = fields[3];
	e->mount_point = fields[4];
	/* Optional fields run up to a lone "-". */
	char *rest = save;
	char *dash = rest != NULL ? strstr(rest, "- ") : NULL;
	if (rest != NULL && strncmp(rest, "- ", 2) == 0)
		dash = rest;
	if (dash == NULL)
		return false;
	*dash = '\0';
	e->optional = rest;
	e->fstype = strtok_r(dash + 2, " \n", &save);
	if (e->fstype == NULL)
		return false;
	/* Super options run to the end: drvfs writes spaces there raw. */
	e->source = strtok_r(NULL, " \n", &save);
	if (e->source == NULL || save == NULL)
		e->source = e->super_opts = e->fstype + strlen(e->fstype);
	else
		e->super_opts = save;
	e->super_opts[strcspn(e->super_opts, "\n")] = '\0';
	wsl_unescape(e->root);
	wsl_unescape(e->mount_point);
	wsl_unescape(e->source);
	return true;
}

char *
wsl_find_shared_root(const char *mountinfo_path)
{
	FILE *f = fopen(mountinfo_path != NULL ? mountinfo_path :
	    "/proc/self/mountinfo", "re");
	if (f == NULL)
		return NULL;
	char line[MOUNTINFO_LINE_MAX];
	char *found = NULL;
	int err = 0;
	errno = 0;
	while (found == NULL && err == 0 && fgets(line, sizeof line, f) != NULL) {
		struct mountinfo_entry e;
		if (!wsl_parse_mountinfo_line(line, &e))
			continue;
		if (strcmp(e.fstype, "tmpfs") != 0 ||
		    strstr(e.optional, "shared:") == NULL)
			continue;
		const char *base = strrchr(e.mount_point, '/');
		if (base != NULL && strcmp(base, "/wsl") == 0 &&
		    (found = strdup(e.mount_point)) == NULL)
			err = ENOMEM;
	}
	/* Not found (errno 0) is an answer; a read that failed is none. */
	if (err == 0 && found == NULL && ferror(f))
		err = errno != 0 ? errno : EIO;
	fclose(f);
	errno = err;
	return found;
}

bool
wsl_is_mount_point(const char *mountinfo_path, const char *path)
{
	FILE *f = fopen(mountinfo_path != NULL ? mountinfo_path :
	    "/proc/self/mountinfo", "re");
	if (f == NULL)
		return false;
	char line[MOUNTINFO_LINE_MAX];
	bool found = false;
	while (!found && fgets(line, sizeof line, f) != NULL) {
		struct mountinfo_entry e;
		if (wsl_parse_mountinfo_line(line, &e) &&
		    strcmp(e.mount_point, path) == 0)
			found = true;
	}
	fclose(f);
	return found;
}

bool
wsl_kernel_is_wsl2(void)
{
	struct utsname u;
	if (uname(&u) == 0 && strstr(u.release, "microsoft-standard-WSL2") != NULL)
		return true;
	return access("/proc/sys/fs/binfmt_misc/WSLInterop", F_OK) == 0;
}

char *
wsl_distro_name(void)
{
	/*
	 * WSL_DISTRO_NAME is set only for processes WSL launched itself (not
	 * for systemd units), so fall back to the host name, which WSL sets
	 * to the distro's name unless wsl.conf says otherwise.
	 */
	const char *env = getenv("WSL_DISTRO_NAME");
	if (env != NULL && *env != '\0' && strlen(env) <= NAME_MAX_LEN &&
	    strchr(env, '/') == NULL)
		return strdup(env);
	char host[256];
	if (gethostname(host, sizeof host) == 0) {
		host[sizeof host - 1] = '\0';
		if (host[0] != '\0')
			return strdup(host);
	}
	return strdup("distro");
}

/*
 * What the configuration leaves to "auto", from this environment:
 * desktop_dir below the shared tmpfs found in mountinfo (else
 * /mnt/wsl/docker-desktop, said once in the log when mountinfo could not
 * be read), and the distro's name.  Cannot fail (out of memory: fatal).
 */
void
wsl_resolve_config(struct config *c)
{
	if (c->desktop_dir == NULL) {
		char *root = wsl_find_shared_root(NULL);
		if (root == NULL && errno != 0)
			log_warn("config", "cannot read the mount table to find "
			    "the shared /mnt/wsl (%s); assuming /mnt/wsl, set "
			    "desktop_dir to choose", strerror(errno));
		c->desktop_dir = root != NULL ?
		    util_path_join(root, "docker-desktop") :
		    strdup("/mnt/wsl/docker-desktop");
		free(root);
		if (c->desktop_dir == NULL)
			fatal(EXIT_OSERR, "out of memory");
	}
	if (c->distro == NULL && (c->distro = wsl_distro_name()) == NULL)
		fatal(EXIT_OSERR, "out of memory");
}
