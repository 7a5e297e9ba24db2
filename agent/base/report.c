/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building the status object: a string member, a problem with its fix.
 * Every module reports through these, so each problem has the same shape
 * (wsl-docker-agent-protocol(7), THE STATUS OBJECT).
 */
#include <json-c/json.h>

#include "base/report.h"

void
report_add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v != NULL ? json_object_new_string(v) : NULL);
}

void
report_add_problem(struct json_object *problems, const char *what,
    const char *fix)
{
	struct json_object *p = json_object_new_object();
	report_add_str(p, "what", what);
	report_add_str(p, "fix", fix);
	json_object_array_add(problems, p);
}

void
report_add_source_problem(struct json_object *problems, const char *source,
    const char *what, const char *fix)
{
	report_add_problem(problems, what, fix);
	report_add_str(json_object_array_get_idx(problems,
	    json_object_array_length(problems) - 1), "source",
	    source != NULL ? source : "");
}
