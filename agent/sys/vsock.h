/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_SYS_VSOCK_H
#define WDA_SYS_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct address;

/* vsock.c: connecting out to the host (AF_VSOCK, guarded; or unix) */
#define VSOCK_CID_LOCAL	1	/* VMADDR_CID_LOCAL: tests only */
#define VSOCK_CID_HOST	2	/* VMADDR_CID_HOST: the Windows host */
/* Only the host (2) and, for tests, local (1) are ever connected to. */
bool	vsock_cid_allowed(uint32_t cid);
/* The Hyper-V socket service serving a port: "0000cc97-facb-...". */
void	vsock_service_id(uint32_t port, char *buf, size_t len);
/*
 * Start a non-blocking, close-on-exec connection to a vsock or unix
 * address; *in_progress says whether to wait for writability.  -1 with
 * err set on failure (and for any CID vsock_cid_allowed() refuses).
 */
int	vsock_connect(const struct address *, bool *in_progress, char *err,
	    size_t errlen);

#endif
