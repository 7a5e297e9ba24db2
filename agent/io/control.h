/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_IO_CONTROL_H
#define WDA_IO_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct agent;
struct control;

/* control.c: the local control socket */
struct control;
struct control *control_new(struct agent *);
void	control_free(struct control *);

#endif
