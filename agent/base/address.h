/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_BASE_ADDRESS_H
#define WDA_BASE_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* address.c: host.address values */

enum address_kind { ADDRESS_NONE, ADDRESS_UNIX, ADDRESS_VSOCK };
struct address {
	enum address_kind kind;
	char		  path[108];	/* unix */
	uint32_t	  cid;		/* vsock */
	uint32_t	  port;		/* vsock */
};
int	address_parse(const char *text, struct address *, char *err, size_t errlen);
void	address_format(const struct address *, char *buf, size_t len);

#endif
