/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_SYS_WSL_H
#define WDA_SYS_WSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* wsl.c: facts about the environment */

/*
 * Find the shared /mnt/wsl mount from mountinfo; malloc'd.  NULL with
 * errno 0 when there is none, with errno when mountinfo could not be read
 * (or ENOMEM): then nothing is known.
 */
char	*wsl_find_shared_root(const char *mountinfo_path);
bool	 wsl_kernel_is_wsl2(void);
/* Is path a mount point, per mountinfo? */
bool	 wsl_is_mount_point(const char *mountinfo_path, const char *path);
char	*wsl_distro_name(void);			/* malloc'd */
/* One mountinfo line, split in place; all but super_opts unescaped. */
struct mountinfo_entry {
	uint64_t mnt_id;	/* the mount's ID (statx STATX_MNT_ID, fdinfo) */
	char	*root;		/* of the mount, within its file system */
	char	*mount_point;
	char	*optional;	/* "shared:5 master:1" ... */
	char	*fstype;
	char	*source;	/* "" when the line has none */
	char	*super_opts;	/* the rest of the line, as the kernel wrote it */
};
bool	 wsl_parse_mountinfo_line(char *line, struct mountinfo_entry *);

struct config;
/* Fill what the configuration leaves to "auto" (desktop_dir, distro). */
void	 wsl_resolve_config(struct config *);

#endif
