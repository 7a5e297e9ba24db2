/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_SYS_MANIFEST_H
#define WDA_SYS_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct json_object;

struct manifest_entry {
	char	*kind;		/* "link", "socket", "mount", "file" */
	char	*path;
	char	*target;	/* link target or mount source; may be NULL */
	struct json_object *meta;	/* the module's own record, or NULL */
};

struct manifest {
	char			*path;
	struct manifest_entry	*entries;
	size_t			 n;
	bool			 dirty;
	uint64_t		 gen;		/* changes so far */
	uint64_t		 written;	/* the generation on disk */
};


/* manifest.c: what the agent created, so it removes exactly that */
int	manifest_load(struct manifest *, const char *path, char *err, size_t errlen);
int	manifest_save(struct manifest *);
/*
 * The same in two halves, for a write off the loop: the text taken on the
 * loop, written (and fsync'd) by any thread, where a copy older than the
 * one written last is not written (0); then, on the loop, done with the
 * write's result (r, err: errno) logs and frees it.
 */
struct manifest_copy {
	struct manifest	*m;
	char		*path;		/* NULL: the manifest has no file */
	char		*text;
	size_t		 len;
	uint64_t	 gen;
};
int	manifest_copy_take(struct manifest *, struct manifest_copy *);
int	manifest_copy_write(struct manifest_copy *);
void	manifest_copy_done(struct manifest *, struct manifest_copy *, int r,
	    int err);
void	manifest_copy_free(struct manifest_copy *);
struct manifest_entry *manifest_find(struct manifest *, const char *kind,
	    const char *path);
int	manifest_add(struct manifest *, const char *kind, const char *path,
	    const char *target);
void	manifest_remove(struct manifest *, const char *kind, const char *path);
/* Replace an entry's meta (taken; NULL drops it); -1 ENOENT if no entry. */
int	manifest_set_meta(struct manifest *, const char *kind, const char *path,
	    struct json_object *meta);
void	manifest_free(struct manifest *);

#endif
