/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_MAIN_STATUS_PRINT_H
#define WDA_MAIN_STATUS_PRINT_H

#include <stdio.h>

struct json_object;

/* The status object, as `status' prints it for a person. */
void	status_print_human(struct json_object *, FILE *);

#endif
