/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host.address: "none", "unix:/abs/path" or "vsock:CID:PORT" (CID may be
 * written "host" for 2).  Parsing only; connecting is health.c's business.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/address.h"

#define WSL_RESERVED_PORT_FIRST 50000
#define WSL_RESERVED_PORT_LAST	50005

static int
address_parse_u32(const char *text, const char *what, uint32_t *out,
    char *err, size_t errlen)
{
	/* strtoull() would skip leading blanks: "vsock: 2:1" is not meant. */
	if (*text == '\0' || *text == '-' || *text == '+' ||
	    isspace((unsigned char)*text)) {
		snprintf(err, errlen, "%s is empty, signed or starts with a "
		    "blank in the address; write a decimal number", what);
		return -1;
	}
	errno = 0;
	char *end;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX) {
		snprintf(err, errlen, "%s '%s' is not a number from 0 to %" PRIu32,
		    what, text, UINT32_MAX);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int
address_parse(const char *text, struct address *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	if (text == NULL || strcmp(text, "none") == 0) {
		a->kind = ADDRESS_NONE;
		return 0;
	}
	if (strncmp(text, "unix:", 5) == 0) {
		const char *path = text + 5;
		if (path[0] != '/') {
			snprintf(err, errlen, "'%s': a unix address needs an "
			    "absolute path, as in unix:/run/host.sock", text);
			return -1;
		}
		if (strlen(path) >= sizeof a->path) {
			snprintf(err, errlen, "'%s': the socket path is longer "
			    "than %zu bytes; choose a shorter one", text,
			    sizeof a->path - 1);
			return -1;
		}
		a->kind = ADDRESS_UNIX;
		strcpy(a->path, path);
		return 0;
	}
	if (strncmp(text, "vsock:", 6) == 0) {
		char buf[64];
		if (strlen(text + 6) >= sizeof buf) {
			snprintf(err, errlen, "'%.80s': too long for vsock:CID:PORT",
			    text);
			return -1;
		}
		strcpy(buf, text + 6);
		char *colon = strchr(buf, ':');
		if (colon == NULL) {
			snprintf(err, errlen, "'%s': write vsock:CID:PORT, as in "
			    "vsock:host:52375 or vsock:2:52375", text);
			return -1;
		}
		*colon = '\0';
		if (strcmp(buf, "host") == 0)
			a->cid = 2;
		else if (address_parse_u32(buf, "the CID", &a->cid, err, errlen) < 0)
			return -1;
		if (address_parse_u32(colon + 1, "the port", &a->port, err,
		    errlen) < 0)
			return -1;
		if (a->port >= WSL_RESERVED_PORT_FIRST &&
		    a->port <= WSL_RESERVED_PORT_LAST) {
			snprintf(err, errlen, "port %" PRIu32 " is reserved by WSL "
			    "itself (50000 to 50005); choose another, such as 52375",
			    a->port);
			return -1;
		}
		if (a->port == 0 || a->port == UINT32_MAX) {
			snprintf(err, errlen, "port %" PRIu32 " cannot be "
			    "connected to; choose one from 1 to 4294967294",
			    a->port);
			return -1;
		}
		a->kind = ADDRESS_VSOCK;
		return 0;
	}
	snprintf(err, errlen, "'%.80s' is not an address; write none, "
	    "unix:/path or vsock:CID:PORT", text);
	return -1;
}

void
address_format(const struct address *a, char *buf, size_t len)
{
	switch (a->kind) {
	case ADDRESS_NONE:
		snprintf(buf, len, "none");
		break;
	case ADDRESS_UNIX:
		snprintf(buf, len, "unix:%s", a->path);
		break;
	case ADDRESS_VSOCK:
		snprintf(buf, len, "vsock:%" PRIu32 ":%" PRIu32, a->cid, a->port);
		break;
	}
}
