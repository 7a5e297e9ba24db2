/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base/report.c: the pieces every module builds its part of the status
 * object with (the status object's fields are base/status.h's table).
 */
#ifndef WDA_BASE_REPORT_H
#define WDA_BASE_REPORT_H

struct json_object;

/* A string member (NULL: null). */
void	report_add_str(struct json_object *, const char *key, const char *value);
/* A problem {what, fix} appended to problems. */
void	report_add_problem(struct json_object *problems, const char *what,
	    const char *fix);
/*
 * One about a bind source (NULL: one not known), which features/request.c
 * hides from an ordinary user who does not own it.
 */
void	report_add_source_problem(struct json_object *problems,
	    const char *source, const char *what, const char *fix);

#endif
