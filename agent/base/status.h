/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_BASE_STATUS_H
#define WDA_BASE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct json_object;

/* status.c: the status object's one table, and its rendering for a human */
enum status_type { STATUS_STRING, STATUS_INT, STATUS_NUMBER, STATUS_BOOL,
		   STATUS_OBJECT, STATUS_ARRAY };
#define STATUS_NULLABLE	0x1u	/* may be null */
#define STATUS_OPTIONAL	0x2u	/* may be absent */
#define STATUS_EMPTY	0x4u	/* an object that may have no members */
#define STATUS_VOLATILE	0x8u	/* changes by itself: not compared */
struct status_field {
	const char	*path;		/* "agent.pid"; "links[]" each element */
	enum status_type type;
	unsigned	 flags;
	const char	*values;	/* "a|b": the strings allowed, or NULL */
	const char	*help;		/* one line */
};
extern const struct status_field status_fields[];
const struct status_field *status_field_find(const char *path);
/*
 * Check a status against the table: 0, or -1 with why naming the field
 * (`where' is the status's own name, "status").  exact: members the
 * table does not list are errors too (tests; receivers ignore them).
 */
int	status_check(struct json_object *, const char *where, bool exact,
	    char *why, size_t len);
void	status_dump_fields(FILE *);	/* --dump-status-fields */

#endif
