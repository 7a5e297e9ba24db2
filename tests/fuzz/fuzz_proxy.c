/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what a client sends, through the real proxy (HTTP
 * following with a create hook, as bind re-exposure runs it) to an engine,
 * in one process over unix sockets and one libevent loop.  The first byte
 * picks how the client's bytes are cut into writes, so heads, chunk
 * framing and bodies split across reads are covered, as are the short-read
 * and framing-read paths of the pump.  Once the client has sent everything
 * and shut down its side, and the engine has had nothing new for a while,
 * the engine closes.  Any input: no crash, leak or undefined behaviour,
 * the client sees its connection end, and the proxy holds no connection
 * afterwards; a connection that never ends aborts (a hang is a bug).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/log.h"
#include "base/util.h"
#include "wire/http.h"
#include "io/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loop turns: after the engine closes, before the client must see EOF. */
#define FUZZ_SETTLE	2000
/* Turns with nothing new at the engine before it closes. */
#define FUZZ_QUIET	64
#define FUZZ_MAX_TURNS	20000

static struct event_base *base;
static struct proxy *px;
static int engine_lfd = -1;
static struct sockaddr_un listen_addr = { .sun_family = AF_UNIX };

static int
fuzz_bind(void *arg, const struct http_bind_source *s, char **repl,
    char *why, size_t whylen)
{
	(void)arg;
	if (s->path[1] == 'x') {
		snprintf(why, whylen, "refused %s", s->path);
		return -1;
	}
	return asprintf(repl, "/mnt/wsl/x%s%s", s->read_only ? "ro" : "",
	    s->path) < 0 ? -1 : 0;
}

static int
listen_at(const char *path)
{
	struct sockaddr_un a;
	socklen_t alen = util_sockaddr_un(&a, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (alen == 0 || fd < 0 || bind(fd, (struct sockaddr *)&a, alen) < 0 ||
	    listen(fd, 64) < 0)
		abort();
	return fd;
}

static void
setup(void)
{
	char dir[] = "/tmp/wda-fuzz-proxy.XXXXXX";
	if (mkdtemp(dir) == NULL)
		abort();
	char path[sizeof listen_addr.sun_path];
	snprintf(path, sizeof path, "%s/engine.sock", dir);
	engine_lfd = listen_at(path);
	snprintf(listen_addr.sun_path, sizeof listen_addr.sun_path,
	    "%s/docker.sock", dir);
	int lfd = listen_at(listen_addr.sun_path);
	log_set_level(LOG_LVL_ERR);
	base = event_base_new();
	/* The engine as desktop.c hands it over: walked to, O_PATH. */
	int efd = open(path, O_PATH | O_CLOEXEC);
	px = base != NULL && efd >= 0 ? proxy_new(base, lfd, efd, path, 16) :
	    NULL;
	if (px == NULL)
		abort();
	proxy_set_create_hook(px, fuzz_bind, NULL);
}

/* Take what is there; true once the peer has ended (EOF or reset). */
static bool
drain(int fd)
{
	char buf[65536];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n > 0)
			continue;
		return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (base == NULL)
		setup();
	size_t piece = (size_t)data[0] * 64 + 1;
	const uint8_t *in = data + 1;
	size_t n = size - 1, sent = 0;

	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&listen_addr,
	    sizeof listen_addr) < 0)
		abort();
	int e = -1;
	bool shut = false, engine_ended = false, client_ended = false;
	int quiet = 0, settle = 0;
	for (int turn = 0; !client_ended || !engine_ended; turn++) {
		if (turn > FUZZ_MAX_TURNS || settle > FUZZ_SETTLE) {
			fprintf(stderr, "fuzz_proxy: the connection never ended "
			    "(sent %zu of %zu, engine %s, client %s)\n", sent, n,
			    engine_ended ? "closed" : "open",
			    client_ended ? "ended" : "open");
			abort();
		}
		(void)event_base_loop(base, EVLOOP_NONBLOCK);
		if (e < 0 && !engine_ended)
			e = accept4(engine_lfd, NULL, NULL,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (sent < n) {
			size_t len = n - sent < piece ? n - sent : piece;
			ssize_t w = send(c, in + sent, len,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN)
				sent = n;	/* the proxy answered and closed */
		} else if (!shut) {
			(void)shutdown(c, SHUT_WR);
			shut = true;
		}
		if (e >= 0) {
			char peek;
			bool fresh = recv(e, &peek, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
			bool ended = drain(e);
			quiet = fresh ? 0 : quiet + 1;
			/* The engine is done when the client is and all came. */
			if (ended || (shut && quiet > FUZZ_QUIET)) {
				close(e);
				e = -1;
				engine_ended = true;
			}
		}
		if (!client_ended)
			client_ended = drain(c);
		if (engine_ended)
			settle++;
	}
	close(c);
	struct proxy_stats st;
	for (int turn = 0;; turn++) {
		(void)event_base_loop(base, EVLOOP_NONBLOCK);
		proxy_stats(px, &st);
		if (st.active == 0)
			break;
		if (turn > FUZZ_SETTLE) {
			fprintf(stderr, "fuzz_proxy: %llu connections left open\n",
			    (unsigned long long)st.active);
			abort();
		}
	}
	return 0;
}
