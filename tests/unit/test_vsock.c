/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock.c: address forms, the guard that refuses every CID but 1 and 2,
 * CID 1 failing cleanly, and unix sockets on the same path.
 *
 * ARCHITECTURE.md, binding: nothing here connects AF_VSOCK to any CID but 1
 * (VMADDR_CID_LOCAL), which has no loopback transport on our machines and
 * fails.  The guard's refusal of other CIDs is tested in a child that
 * cannot create a socket at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "base/address.h"
#include "base/util.h"
#include "sys/vsock.h"
#include "wire/protocol.h"

#define WAIT_MS		5000
#define assert_has(s, sub) \
	cr_assert(strstr((s), (sub)) != NULL, "expected \"%s\" in: %s", (sub), (s))

/* ------------------------------------------------------------------ */
/* vsock: address forms, the guard, and CID 1 failing cleanly */

Test(vsock, address_forms)
{
	struct address a;
	char err[256], text[64];

	cr_assert(eq(int, address_parse("vsock:host:52375", &a, err, sizeof err),
	    0));
	cr_assert(vsock_cid_allowed(a.cid), "host is CID 2, allowed");
	cr_assert(eq(int, address_parse("vsock:1:52375", &a, err, sizeof err), 0));
	cr_assert(vsock_cid_allowed(a.cid));
	cr_assert(eq(int, address_parse("vsock:3:52375", &a, err, sizeof err), 0),
	    "parsing accepts any CID; connecting does not");
	cr_assert(not(vsock_cid_allowed(a.cid)));
	address_format(&a, text, sizeof text);
	cr_assert(eq(str, text, "vsock:3:52375"));
}

Test(vsock, only_cids_1_and_2_are_allowed)
{
	static const uint32_t refused[] = { 0, 3, 4, 42, 0x7fffffff, 0xfffffffe,
	    0xffffffff /* VMADDR_CID_ANY */ };
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		cr_assert(not(vsock_cid_allowed(refused[i])), "CID %u",
		    refused[i]);
	cr_assert(vsock_cid_allowed(1));
	cr_assert(vsock_cid_allowed(2));
}

/*
 * The guard acts before a socket exists.  Checked in a child that cannot
 * open any descriptor, so even a broken guard could connect nowhere.
 */
Test(vsock, guard_refuses_before_any_socket)
{
	int p[2];
	cr_assert(eq(int, pipe(p), 0));
	pid_t pid = fork();
	cr_assert(ge(int, pid, 0));
	if (pid == 0) {
		struct rlimit none = { 0, 0 };
		char err[256] = "";
		bool in_progress = true;
		struct address a = { .kind = ADDRESS_VSOCK, .cid = 3,
		    .port = PROTO_DEFAULT_PORT };
		close(p[0]);
		if (dup2(p[1], 0) < 0 || setrlimit(RLIMIT_NOFILE, &none) < 0)
			_exit(2);
		/* No descriptor can be made now: fd 0 is the pipe. */
		int fd = vsock_connect(&a, &in_progress, err, sizeof err);
		int saved = errno;
		(void)!write(0, err, strlen(err) + 1);
		_exit(fd == -1 && saved == EPERM && !in_progress ? 0 : 1);
	}
	close(p[1]);
	char msg[256] = "";
	ssize_t n = read(p[0], msg, sizeof msg - 1);
	close(p[0]);
	int status;
	cr_assert(eq(int, waitpid(pid, &status, 0), pid));
	cr_assert(gt(sz, (size_t)(n > 0 ? n : 0), (size_t)0));
	bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	cr_assert(clean, "child: %s", msg);
	assert_has(msg, "refusing vsock CID 3");
}

Test(vsock, cid_1_fails_cleanly)
{
	struct address a = { .kind = ADDRESS_VSOCK, .cid = VSOCK_CID_LOCAL,
	    .port = PROTO_DEFAULT_PORT };
	char err[256] = "";
	bool in_progress;
	int fd = vsock_connect(&a, &in_progress, err, sizeof err);

	if (fd >= 0) {
		/* In progress: the answer comes as a socket error. */
		cr_assert(ne(int, fcntl(fd, F_GETFD) & FD_CLOEXEC, 0));
		cr_assert(ne(int, fcntl(fd, F_GETFL) & O_NONBLOCK, 0));
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int soerr = 0;
		socklen_t len = sizeof soerr;
		if (in_progress)
			cr_assert(eq(int, poll(&pfd, 1, WAIT_MS), 1));
		cr_assert(eq(int, getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &len), 0));
		close(fd);
		cr_assert(ne(int, soerr, 0), "nothing serves CID 1 here");
	} else
		cr_assert(ne(str, err, ""), "a failure says why");
}

Test(vsock, unix_connect)
{
	char dir[] = "/tmp/wda-proto-XXXXXX";
	cr_assert(not(eq(ptr, mkdtemp(dir), NULL)));
	struct address a = { .kind = ADDRESS_UNIX };
	snprintf(a.path, sizeof a.path, "%s/host.sock", dir);
	char err[256] = "";
	bool in_progress;

	cr_assert(eq(int, vsock_connect(&a, &in_progress, err, sizeof err), -1));
	assert_has(err, "nothing listens there");

	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun;
	socklen_t sunlen = util_sockaddr_un(&sun, a.path);
	cr_assert(eq(int, bind(l, (struct sockaddr *)&sun, sunlen), 0));
	cr_assert(eq(int, listen(l, 4), 0));
	int fd = vsock_connect(&a, &in_progress, err, sizeof err);
	cr_assert(ge(int, fd, 0), "%s", err);
	cr_assert(ne(int, fcntl(fd, F_GETFD) & FD_CLOEXEC, 0));
	close(fd);
	close(l);
	unlink(a.path);
	rmdir(dir);

	struct address none = { .kind = ADDRESS_NONE };
	cr_assert(eq(int, vsock_connect(&none, &in_progress, err, sizeof err),
	    -1));
}
