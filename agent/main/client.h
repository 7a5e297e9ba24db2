/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_MAIN_CLIENT_H
#define WDA_MAIN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* control-client.c: send one request, get the reply (malloc'd JSON text). */
int	control_request(const char *socket_path, const char *request,
	    char **reply, char *err, size_t errlen);

#endif
