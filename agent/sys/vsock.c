/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connecting out to the host: AF_VSOCK to the Windows host, or a unix
 * socket for tests, demonstrations and machines that are not WSL 2.
 *
 * The guard: the only CIDs this file ever connects to are 2, the host of
 * a WSL 2 VM, and 1, the local loopback that unit tests use.  On the
 * machines we develop and test on, CID 2 is the infrastructure running the
 * VM, so health.c asks for it only when host.address names it or when the
 * kernel is WSL 2; every other CID is refused here before a socket exists.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "base/address.h"
#include "base/util.h"
#include "sys/vsock.h"

_Static_assert(VSOCK_CID_HOST == VMADDR_CID_HOST, "CID 2 is the host");
_Static_assert(VSOCK_CID_LOCAL == 1, "CID 1 is VMADDR_CID_LOCAL");

bool
vsock_cid_allowed(uint32_t cid)
{
	return cid == VSOCK_CID_HOST || cid == VSOCK_CID_LOCAL;
}

void
vsock_service_id(uint32_t port, char *buf, size_t len)
{
	/* Hyper-V sockets serve vsock port P as P-facb-11e6-bd58-64006a7986d3. */
	snprintf(buf, len, "%08x-facb-11e6-bd58-64006a7986d3", port);
}

static const char *
vsock_hint(int err, int family)
{
	if (family == AF_VSOCK && (err == EAFNOSUPPORT || err == ENODEV))
		return "; this kernel has no vsock transport for the host "
		    "(WSL 2 provides hv_sock)";
	if (family == AF_UNIX && (err == ENOENT || err == ECONNREFUSED))
		return "; nothing listens there yet";
	return "";
}

int
vsock_connect(const struct address *addr, bool *in_progress, char *err,
    size_t errlen)
{
	struct sockaddr_vm svm;
	struct sockaddr_un sun;
	struct sockaddr *sa;
	socklen_t salen;
	int family;

	*in_progress = false;
	switch (addr->kind) {
	case ADDRESS_VSOCK:
		if (!vsock_cid_allowed(addr->cid)) {
			snprintf(err, errlen, "refusing vsock CID %u: the agent "
			    "connects only to CID 2 (the Windows host)",
			    (unsigned)addr->cid);
			errno = EPERM;
			return -1;
		}
		memset(&svm, 0, sizeof svm);
		svm.svm_family = AF_VSOCK;
		svm.svm_cid = addr->cid;
		svm.svm_port = addr->port;
		sa = (struct sockaddr *)&svm;
		salen = sizeof svm;
		family = AF_VSOCK;
		break;
	case ADDRESS_UNIX:
		if ((salen = util_sockaddr_un(&sun, addr->path)) == 0) {
			snprintf(err, errlen, "%s: too long for a unix socket",
			    addr->path);
			errno = ENAMETOOLONG;
			return -1;
		}
		sa = (struct sockaddr *)&sun;
		family = AF_UNIX;
		break;
	case ADDRESS_NONE:
	default:
		snprintf(err, errlen, "no address to connect to");
		errno = EINVAL;
		return -1;
	}
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int saved = errno;
		snprintf(err, errlen, "cannot make a %s socket: %s%s",
		    family == AF_VSOCK ? "vsock" : "unix", strerror(saved),
		    vsock_hint(saved, family));
		errno = saved;
		return -1;
	}
	if (connect(fd, sa, salen) == 0)
		return fd;
	int saved = errno;
	if (saved == EINPROGRESS) {
		*in_progress = true;
		return fd;
	}
	/* A unix listener with a full backlog says EAGAIN: try later. */
	snprintf(err, errlen, "%s%s", strerror(saved), vsock_hint(saved, family));
	close(fd);
	errno = saved;
	return -1;
}
