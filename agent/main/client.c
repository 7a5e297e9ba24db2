/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket's client side, for `status' and the shim: plain
 * blocking I/O, bounded in time and size.  Kept apart from the server so
 * the shim links only this, not the daemon.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/defs.h"
#include "base/util.h"
#include "main/client.h"

#define CONTROL_REPLY_MAX	(1024 * 1024)

static int
control_wait(int fd, short events, char *err, size_t errlen)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;
	while ((r = poll(&pfd, 1, CONTROL_TIMEOUT_S * 1000)) < 0 && errno == EINTR)
		;
	if (r == 0) {
		snprintf(err, errlen, "the agent did not answer within %d s",
		    CONTROL_TIMEOUT_S);
		return -1;
	}
	return r < 0 ? -1 : 0;
}

int
control_request(const char *socket_path, const char *request, char **reply,
    char *err, size_t errlen)
{
	*reply = NULL;
	err[0] = '\0';
	int fd = util_unix_connect(socket_path);
	if (fd < 0) {
		snprintf(err, errlen, "cannot reach the agent at %s: %s",
		    socket_path, strerror(errno));
		return -1;
	}
	size_t len = strlen(request);
	char *line = malloc(len + 2);
	if (line == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(line, request, len);
	line[len] = '\n';
	ssize_t w;
	do
		w = send(fd, line, len + 1, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	free(line);
	/*
	 * Refused at once (too many connections of this user), the agent
	 * wrote why and closed before the request went: read the reason.
	 */
	bool refused = w < 0 && (errno == EPIPE || errno == ECONNRESET);
	if (w != (ssize_t)len + 1 && !refused) {
		snprintf(err, errlen, "writing to the agent: %s",
		    w < 0 ? strerror(errno) : "short write");
		close(fd);
		return -1;
	}
	size_t cap = 8192, used = 0;
	char *buf = malloc(cap);
	while (buf != NULL) {
		if (control_wait(fd, POLLIN, err, errlen) < 0)
			break;
		if (used + 4096 > cap) {
			if (cap >= CONTROL_REPLY_MAX) {
				snprintf(err, errlen, "reply too large");
				break;
			}
			char *g = realloc(buf, cap * 2);
			if (g == NULL)
				break;
			buf = g;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				snprintf(err, errlen, "reading from the agent: %s",
				    strerror(errno));
			break;
		}
		used += (size_t)n;
		buf[used] = '\0';
		if (memchr(buf, '\n', used) != NULL) {
			close(fd);
			*strchr(buf, '\n') = '\0';
			*reply = buf;
			return 0;
		}
	}
	if (buf != NULL && err[0] == '\0')
		snprintf(err, errlen, "the agent closed the connection without "
		    "a reply");
	free(buf);
	close(fd);
	return -1;
}
