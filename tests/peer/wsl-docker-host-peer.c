/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wsl-docker-host-peer: the host side of wsl-docker-agent-protocol(7) on a
 * unix socket, for tests and demonstrations.  It accepts agents, prints
 * what they send (readably, or the raw JSON lines), checks every message
 * against the protocol with the agent's own protocol.c, and sends the
 * requests (or the garbage) it is told to.
 *
 * It never uses AF_VSOCK: on our machines the vsock host is the
 * infrastructure (ARCHITECTURE.md), and the peer stands in for Windows on a
 * plain unix socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "base/defs.h"
#include "base/status.h"
#include "base/util.h"
#include "wire/protocol.h"

#define PEER		"wsl-docker-host-peer"
#define PEER_CLIENTS	16
#define PEER_ACTIONS	64
#define PEER_IDS	1024		/* replies awaited per connection */
#define PEER_SUMMARY	160		/* bytes of a result shown */

#define PEER_EXIT_ERROR		1
#define PEER_EXIT_TIMEOUT	2
#define PEER_EXIT_VIOLATION	3

/* What to send after each hello, in command-line order. */
enum action_kind { ACT_REQUEST, ACT_SEND, ACT_JUNK };
struct action {
	enum action_kind kind;
	const char	*text;		/* request name, or the line */
	size_t		 bytes;		/* junk */
};

struct expect {
	struct json_object *id;		/* NULL: a reply with id null */
};

struct client {
	int		 fd;
	int		 number;	/* connection count, from 1 */
	struct proto_reader reader;
	struct evbuffer	*out;		/* waiting to be written */
	bool		 hello;
	char		 distro[64];
	int64_t		 last_seq;
	unsigned long	 messages;
	int64_t		 next_id;
	struct expect	 expect[PEER_IDS];
	size_t		 nexpect;
};

static struct {
	const char	*path;
	bool		 json;
	FILE		*out;
	struct action	 actions[PEER_ACTIONS];
	size_t		 nactions;
	const char	*control;
	unsigned long	 exit_after;
	unsigned long	 close_after;
	unsigned long	 repeat;
	bool		 no_read;
	bool		 once;
	bool		 strict;
	bool		 exact_status;	/* status members not in the table */
	long		 timeout_s;
	int		 listen_fd;
	int		 control_fd;
	char		 control_buf[PROTO_LINE_MAX + 1];
	size_t		 control_len;
	struct client	*clients[PEER_CLIENTS];
	int		 connections;
	unsigned long	 messages;
	unsigned long	 violations;
	bool		 served_one;
} peer = { .listen_fd = -1, .control_fd = -1 };

static volatile sig_atomic_t peer_stop;

static void
peer_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", PEER);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
peer_violation(struct client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: violation: agent #%d (%s): ", PEER, c->number,
	    c->distro[0] != '\0' ? c->distro : "before hello");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	peer.violations++;
	if (peer.strict)
		peer_stop = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: " PEER " [OPTIONS] SOCKET\n"
"\n"
"Listen on the unix socket SOCKET as the Windows host of\n"
"wsl-docker-agent-protocol(7); print what agents send, one line per\n"
"message, and check it against the protocol (violations go to stderr).\n"
"\n"
"  --json               print each message exactly as received\n"
"  --out FILE           print to FILE instead of standard output\n"
"  --request NAME       after each hello, send the request NAME (ping,\n"
"                       status, reconcile, disable, enable; or any name)\n"
"  --send LINE          after each hello, send LINE as it is, plus a LF\n"
"  --send-junk BYTES    after each hello, send a line of BYTES 'x's\n"
"                       (the three repeat and keep their order)\n"
"  --repeat N           send those N times over after each hello\n"
"  --control FIFO       send each line read from FIFO (- for standard\n"
"                       input) to every agent that said hello; the line\n"
"                       \"request NAME\" sends that request, \"junk BYTES\"\n"
"                       junk; any other line goes as it is\n"
"  --exit-after N       exit once N messages have arrived in all\n"
"  --close-after N      close each connection after N of its messages\n"
"                       (a flapping host)\n"
"  --no-read            read nothing after an agent's hello (a stalled\n"
"                       host); what is to be sent is still sent\n"
"  --once               serve one connection, exit when it ends\n"
"  --timeout SECONDS    give up (exit 2) after SECONDS\n"
"  --strict             exit at the first violation\n"
"  --exact-status       a member of a report's or event's status that the\n"
"                       agent's status table does not list is a violation\n"
"                       too (a host ignores them; this checks the table)\n"
"  -h, --help           show this help\n"
"\n"
"Exit status: 0 done, 1 error, 2 timeout, 3 protocol violations seen,\n"
"64 usage.  It never uses AF_VSOCK.\n");
}

/* ------------------------------------------------------------------ */
/* Sending */

static bool
peer_queue(struct client *c, const char *data, size_t len)
{
	if (evbuffer_add(c->out, data, len) < 0) {
		peer_note("out of memory queueing %zu bytes", len);
		return false;
	}
	return true;
}

static void
peer_expect(struct client *c, struct json_object *id)
{
	if (c->nexpect == PEER_IDS) {
		peer_note("agent #%d: more than %d replies awaited; not checking "
		    "the rest", c->number, PEER_IDS);
		return;
	}
	c->expect[c->nexpect++].id = json_object_get(id);
}

/*
 * Send one line and note the reply it must get: with its id when the line
 * is a message with a usable id, with id null otherwise, none if blank.
 */
static void
peer_send_line(struct client *c, const char *line, size_t len)
{
	struct proto_reader r;
	struct proto_item item;
	size_t used;

	proto_reader_init(&r, PROTO_LINE_MAX);
	enum proto_step st = proto_reader_feed(&r, line, len, &used, &item);
	if (st == PROTO_STEP_MORE)
		st = proto_reader_feed(&r, "\n", 1, &used, &item);
	proto_reader_free(&r);
	if (st == PROTO_STEP_MESSAGE) {
		struct proto_request_msg rq;
		char why[256];
		(void)proto_parse_request(item.msg, &rq, why, sizeof why);
		peer_expect(c, rq.id);
		json_object_put(item.msg);
	} else if (st == PROTO_STEP_ERROR)
		peer_expect(c, NULL);
	peer_queue(c, line, len);
	peer_queue(c, "\n", 1);
}

static void
peer_send_request(struct client *c, const char *name)
{
	struct json_object *m = json_object_new_object();
	json_object_object_add(m, "type", json_object_new_string("request"));
	json_object_object_add(m, "id", json_object_new_int64(++c->next_id));
	json_object_object_add(m, "request", json_object_new_string(name));
	const char *text = json_object_to_json_string_ext(m,
	    JSON_C_TO_STRING_PLAIN);
	peer_send_line(c, text, strlen(text));
	json_object_put(m);
}

static void
peer_send_junk(struct client *c, size_t bytes)
{
	char chunk[4096];

	memset(chunk, 'x', sizeof chunk);
	/* Junk is not JSON, or too long: either way a reply with id null. */
	if (bytes > 0)
		peer_expect(c, NULL);
	for (size_t left = bytes; left > 0;) {
		size_t n = left < sizeof chunk ? left : sizeof chunk;
		if (!peer_queue(c, chunk, n))
			return;
		left -= n;
	}
	peer_queue(c, "\n", 1);
}

static void
peer_run_actions(struct client *c)
{
	for (size_t i = 0; i < peer.nactions * peer.repeat; i++) {
		const struct action *a = &peer.actions[i % peer.nactions];
		if (a->kind == ACT_REQUEST)
			peer_send_request(c, a->text);
		else if (a->kind == ACT_SEND)
			peer_send_line(c, a->text, strlen(a->text));
		else
			peer_send_junk(c, a->bytes);
	}
}

/* A line from the control FIFO, to every agent that said hello. */
static void
peer_control_line(const char *line)
{
	for (int i = 0; i < PEER_CLIENTS; i++) {
		struct client *c = peer.clients[i];
		if (c == NULL || !c->hello)
			continue;
		if (strncmp(line, "request ", 8) == 0)
			peer_send_request(c, line + 8);
		else if (strncmp(line, "junk ", 5) == 0)
			peer_send_junk(c, strtoul(line + 5, NULL, 10));
		else
			peer_send_line(c, line, strlen(line));
	}
}

/* ------------------------------------------------------------------ */
/* Receiving */

static const char *
peer_str(struct json_object *o, const char *key, const char *def)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v != NULL &&
	    json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : def;
}

static struct json_object *
peer_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (o != NULL)
		json_object_object_get_ex(o, key, &v);
	return v;
}

static void
peer_print_problems(struct json_object *status)
{
	struct json_object *pr = peer_get(status, "problems");
	size_t n = pr != NULL ? json_object_array_length(pr) : 0;

	fprintf(peer.out, " problems:");
	if (n == 0)
		fprintf(peer.out, " none");
	for (size_t i = 0; i < n; i++)
		fprintf(peer.out, "%s %s", i > 0 ? ";" : "",
		    peer_str(json_object_array_get_idx(pr, i), "what", "?"));
}

static void
peer_print(struct client *c, struct json_object *m, const char *type)
{
	fprintf(peer.out, "%-6s #%d %s", type, c->number,
	    c->distro[0] != '\0' ? c->distro : "?");
	if (strcmp(type, "hello") == 0) {
		struct json_object *sd = peer_get(m, "systemd");
		fprintf(peer.out, " agent %s protocol %d instance %.8s kernel %s "
		    "wsl2 %s systemd %s vm %s", peer_str(m, "agent_version", "?"),
		    json_object_get_int(peer_get(m, "protocol")),
		    peer_str(m, "instance_id", "?"), peer_str(m, "kernel", "?"),
		    json_object_get_boolean(peer_get(m, "wsl2")) ? "yes" : "no",
		    json_object_get_boolean(peer_get(sd, "service")) ? "service" :
		    json_object_get_boolean(peer_get(sd, "booted")) ? "booted" :
		    "no", peer_str(m, "wsl_vm_id", "-"));
	} else if (strcmp(type, "report") == 0 || strcmp(type, "event") == 0) {
		struct json_object *st = peer_get(m, "status");
		fprintf(peer.out, " seq %lld healthy %s",
		    (long long)json_object_get_int64(peer_get(m, "seq")),
		    json_object_get_boolean(peer_get(st, "healthy")) ? "yes" : "no");
		struct json_object *ch = peer_get(m, "changed");
		for (size_t i = 0; ch != NULL && i < json_object_array_length(ch);
		    i++)
			fprintf(peer.out, "%s%s", i == 0 ? " changed " : ",",
			    json_object_get_string(json_object_array_get_idx(ch, i)));
		peer_print_problems(st);
	} else if (strcmp(type, "reply") == 0) {
		struct json_object *id = peer_get(m, "id");
		fprintf(peer.out, " id %s", id != NULL ?
		    json_object_to_json_string(id) : "null");
		if (json_object_get_boolean(peer_get(m, "ok")))
			fprintf(peer.out, " ok %.*s", PEER_SUMMARY,
			    json_object_to_json_string_ext(peer_get(m, "result"),
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			fprintf(peer.out, " error %s: %s", peer_str(m, "error", "?"),
			    peer_str(m, "message", ""));
	} else if (strcmp(type, "bye") == 0)
		fprintf(peer.out, " reason %s", peer_str(m, "reason", "?"));
	fputc('\n', peer.out);
}

/* The order rules: hello first and once, seq counting up, replies in turn. */
static void
peer_check_order(struct client *c, struct json_object *m, const char *type)
{
	if (!c->hello && strcmp(type, "hello") != 0) {
		peer_violation(c, "a %s before the hello", type);
		return;
	}
	if (c->hello && strcmp(type, "hello") == 0)
		peer_violation(c, "a second hello");
	if (strcmp(type, "report") == 0 || strcmp(type, "event") == 0) {
		int64_t seq = json_object_get_int64(peer_get(m, "seq"));
		if (seq != c->last_seq + 1)
			peer_violation(c, "%s seq %lld after %lld; it counts up "
			    "by one", type, (long long)seq,
			    (long long)c->last_seq);
		if (c->last_seq == 0 && strcmp(type, "report") != 0)
			peer_violation(c, "the message after the hello is not a "
			    "report");
		c->last_seq = seq;
	}
	if (strcmp(type, "reply") != 0)
		return;
	struct json_object *id = peer_get(m, "id");
	if (c->nexpect == 0) {
		peer_violation(c, "a reply (id %s) to no request",
		    id != NULL ? json_object_to_json_string(id) : "null");
		return;
	}
	struct json_object *want = c->expect[0].id;
	if ((want == NULL) != (id == NULL) ||
	    (want != NULL && !json_object_equal(want, id)))
		peer_violation(c, "a reply with id %s where %s was next",
		    id != NULL ? json_object_to_json_string(id) : "null",
		    want != NULL ? json_object_to_json_string(want) : "null");
	json_object_put(want);
	memmove(c->expect, c->expect + 1, --c->nexpect * sizeof c->expect[0]);
}

static void
peer_message(struct client *c, struct json_object *m, const char *line,
    size_t len)
{
	char why[512];
	int rc = proto_check_agent_message(m, why, sizeof why);
	const char *type = peer_str(m, "type", "?");

	if (rc == 0 && peer.exact_status && (strcmp(type, "report") == 0 ||
	    strcmp(type, "event") == 0) && status_check(json_object_object_get(m,
	    "status"), "status", true, why, sizeof why) < 0)
		rc = -1;
	if (rc < 0)
		peer_violation(c, "%s", why);
	else if (rc > 0)
		peer_note("agent #%d: %s", c->number, why);
	if (rc == 0)
		peer_check_order(c, m, type);
	if (strcmp(type, "hello") == 0 && rc == 0 && !c->hello) {
		c->hello = true;
		snprintf(c->distro, sizeof c->distro, "%s",
		    peer_str(m, "distro", "?"));
		peer_run_actions(c);
	}
	if (peer.json)
		fprintf(peer.out, "%.*s\n", (int)len, line);
	else if (rc == 0)
		peer_print(c, m, type);
	fflush(peer.out);
	c->messages++;
	peer.messages++;
	if (peer.exit_after > 0 && peer.messages >= peer.exit_after)
		peer_stop = 1;
}

static void
peer_client_free(int slot, const char *why)
{
	struct client *c = peer.clients[slot];

	peer_note("agent #%d (%s) gone: %s", c->number,
	    c->distro[0] != '\0' ? c->distro : "no hello", why);
	close(c->fd);
	proto_reader_free(&c->reader);
	for (size_t i = 0; i < c->nexpect; i++)
		json_object_put(c->expect[i].id);
	evbuffer_free(c->out);
	free(c);
	peer.clients[slot] = NULL;
	if (peer.once)
		peer_stop = 1;
}

/* Split what arrived into lines; false when the connection is done. */
static bool
peer_receive(struct client *c, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		struct proto_item item;
		size_t used;
		enum proto_step st = proto_reader_feed(&c->reader, buf + off,
		    len - off, &used, &item);
		off += used;
		if (st == PROTO_STEP_ERROR) {
			peer_violation(c, "%s: %s", proto_error_name(item.error),
			    item.message);
			continue;
		}
		if (st != PROTO_STEP_MESSAGE)
			continue;
		peer_message(c, item.msg, item.line, item.line_len);
		json_object_put(item.msg);
		if (peer.close_after > 0 && c->messages >= peer.close_after)
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* The loop */

static int
peer_listen(const char *path)
{
	struct sockaddr_un sun;
	socklen_t sunlen = util_sockaddr_un(&sun, path);

	if (sunlen == 0) {
		peer_note("%s: too long for a unix socket", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		peer_note("socket: %s", strerror(errno));
		return -1;
	}
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sunlen) < 0 ||
	    listen(fd, 16) < 0) {
		peer_note("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void
peer_accept(void)
{
	int fd = accept4(peer.listen_fd, NULL, NULL,
	    SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			peer_note("accept: %s", strerror(errno));
		return;
	}
	int slot;
	for (slot = 0; slot < PEER_CLIENTS && peer.clients[slot] != NULL; slot++)
		;
	if (slot == PEER_CLIENTS || (peer.once && peer.served_one)) {
		peer_note("refusing another agent");
		close(fd);
		return;
	}
	struct client *c = calloc(1, sizeof *c);
	if (c == NULL) {
		close(fd);
		return;
	}
	if ((c->out = evbuffer_new()) == NULL) {
		close(fd);
		free(c);
		return;
	}
	c->fd = fd;
	c->number = ++peer.connections;
	proto_reader_init(&c->reader, PROTO_OUT_LINE_MAX);
	peer.clients[slot] = c;
	peer.served_one = true;
	peer_note("agent #%d connected", c->number);
}

static void
peer_client_io(int slot, short revents)
{
	struct client *c = peer.clients[slot];
	char buf[65536];

	if ((revents & POLLOUT) && evbuffer_write(c->out, c->fd) < 0 &&
	    errno != EAGAIN && errno != EINTR) {
		peer_client_free(slot, strerror(errno));
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (c->reader.len > 0)
			peer_note("agent #%d: dropping an unfinished last line "
			    "(%zu bytes), as the protocol says", c->number,
			    c->reader.len);
		peer_client_free(slot, n == 0 ? "end of file" : strerror(errno));
		return;
	}
	if (!peer_receive(c, buf, (size_t)n))
		peer_client_free(slot, "closed by the peer (--close-after)");
}

static void
peer_control_io(void)
{
	ssize_t n = read(peer.control_fd, peer.control_buf + peer.control_len,
	    sizeof peer.control_buf - 1 - peer.control_len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(peer.control_fd);
		peer.control_fd = -1;
		return;
	}
	peer.control_len += (size_t)n;
	char *nl;
	while ((nl = memchr(peer.control_buf, '\n', peer.control_len)) != NULL) {
		*nl = '\0';
		peer_control_line(peer.control_buf);
		size_t rest = peer.control_len - (size_t)(nl + 1 - peer.control_buf);
		memmove(peer.control_buf, nl + 1, rest);
		peer.control_len = rest;
	}
	if (peer.control_len == sizeof peer.control_buf - 1) {
		peer_note("control line too long; dropped");
		peer.control_len = 0;
	}
}

static int
peer_loop(void)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	while (!peer_stop) {
		struct pollfd pfd[PEER_CLIENTS + 2];
		int slot_of[PEER_CLIENTS + 2];
		nfds_t n = 0;
		pfd[n] = (struct pollfd){ .fd = peer.listen_fd, .events = POLLIN };
		slot_of[n++] = -1;
		if (peer.control_fd >= 0) {
			pfd[n] = (struct pollfd){ .fd = peer.control_fd,
			    .events = POLLIN };
			slot_of[n++] = -2;
		}
		for (int i = 0; i < PEER_CLIENTS; i++) {
			struct client *c = peer.clients[i];
			if (c == NULL)
				continue;
			short ev = peer.no_read && c->hello ? 0 : POLLIN;
			if (evbuffer_get_length(c->out) > 0)
				ev |= POLLOUT;
			pfd[n] = (struct pollfd){ .fd = c->fd, .events = ev };
			slot_of[n++] = i;
		}
		int wait_ms = 1000;
		if (peer.timeout_s > 0) {
			struct timespec t;
			clock_gettime(CLOCK_MONOTONIC, &t);
			long elapsed = (t.tv_sec - t0.tv_sec) * 1000 +
			    (t.tv_nsec - t0.tv_nsec) / 1000000;
			if (elapsed >= peer.timeout_s * 1000) {
				peer_note("timed out after %ld s with %lu messages",
				    peer.timeout_s, peer.messages);
				return PEER_EXIT_TIMEOUT;
			}
			if (peer.timeout_s * 1000 - elapsed < wait_ms)
				wait_ms = (int)(peer.timeout_s * 1000 - elapsed);
		}
		int r = poll(pfd, n, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			peer_note("poll: %s", strerror(errno));
			return PEER_EXIT_ERROR;
		}
		for (nfds_t i = 0; i < n && !peer_stop; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (slot_of[i] == -1)
				peer_accept();
			else if (slot_of[i] == -2)
				peer_control_io();
			else if (peer.clients[slot_of[i]] != NULL)
				peer_client_io(slot_of[i], pfd[i].revents);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */

static void
peer_on_signal(int sig)
{
	peer_stop = 1;
}

static unsigned long
peer_number(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || *s == '-') {
		fprintf(stderr, "%s: %s needs a whole number, not '%s'\n", PEER,
		    opt, s);
		exit(EXIT_USAGE);
	}
	return v;
}

static void
peer_add_action(enum action_kind kind, const char *text, size_t bytes)
{
	if (peer.nactions == PEER_ACTIONS) {
		fprintf(stderr, "%s: at most %d --request, --send and "
		    "--send-junk\n", PEER, PEER_ACTIONS);
		exit(EXIT_USAGE);
	}
	peer.actions[peer.nactions++] = (struct action){ kind, text, bytes };
}

static void
peer_options(int argc, char **argv)
{
	enum { O_JSON = 256, O_OUT, O_REQUEST, O_SEND, O_JUNK, O_CONTROL,
	    O_EXIT_AFTER, O_CLOSE_AFTER, O_NO_READ, O_ONCE, O_TIMEOUT, O_STRICT, O_EXACT_STATUS,
	    O_REPEAT };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "out", required_argument, NULL, O_OUT },
		{ "request", required_argument, NULL, O_REQUEST },
		{ "send", required_argument, NULL, O_SEND },
		{ "send-junk", required_argument, NULL, O_JUNK },
		{ "control", required_argument, NULL, O_CONTROL },
		{ "exit-after", required_argument, NULL, O_EXIT_AFTER },
		{ "close-after", required_argument, NULL, O_CLOSE_AFTER },
		{ "no-read", no_argument, NULL, O_NO_READ },
		{ "once", no_argument, NULL, O_ONCE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "strict", no_argument, NULL, O_STRICT },
		{ "exact-status", no_argument, NULL, O_EXACT_STATUS },
		{ "repeat", required_argument, NULL, O_REPEAT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int o;

	peer.out = stdout;
	peer.repeat = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case O_JSON:	peer.json = true; break;
		case O_OUT:
			if ((peer.out = fopen(optarg, "we")) == NULL) {
				fprintf(stderr, "%s: %s: %s\n", PEER, optarg,
				    strerror(errno));
				exit(PEER_EXIT_ERROR);
			}
			break;
		case O_REQUEST:	peer_add_action(ACT_REQUEST, optarg, 0); break;
		case O_SEND:	peer_add_action(ACT_SEND, optarg, 0); break;
		case O_JUNK:
			peer_add_action(ACT_JUNK, NULL,
			    peer_number("--send-junk", optarg));
			break;
		case O_CONTROL:	peer.control = optarg; break;
		case O_EXIT_AFTER:
			peer.exit_after = peer_number("--exit-after", optarg);
			break;
		case O_CLOSE_AFTER:
			peer.close_after = peer_number("--close-after", optarg);
			break;
		case O_NO_READ:	peer.no_read = true; break;
		case O_ONCE:	peer.once = true; break;
		case O_TIMEOUT:
			peer.timeout_s = (long)peer_number("--timeout", optarg);
			break;
		case O_STRICT:	peer.strict = true; break;
		case O_EXACT_STATUS: peer.exact_status = true; break;
		case O_REPEAT:
			peer.repeat = peer_number("--repeat", optarg);
			break;
		case 'h':	usage(stdout); exit(0);
		default:	usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		exit(EXIT_USAGE);
	}
	peer.path = argv[optind];
}

int
main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = peer_on_signal };

	peer_options(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (peer.control != NULL) {
		/* Read-write, so a FIFO's writers may come and go. */
		peer.control_fd = strcmp(peer.control, "-") == 0 ?
		    dup(STDIN_FILENO) : open(peer.control,
		    O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (peer.control_fd < 0) {
			peer_note("%s: %s", peer.control, strerror(errno));
			return PEER_EXIT_ERROR;
		}
	}
	if ((peer.listen_fd = peer_listen(peer.path)) < 0)
		return PEER_EXIT_ERROR;
	peer_note("listening on %s", peer.path);
	int rc = peer_loop();
	for (int i = 0; i < PEER_CLIENTS; i++)
		if (peer.clients[i] != NULL)
			peer_client_free(i, "the peer is exiting");
	close(peer.listen_fd);
	(void)unlink(peer.path);
	if (peer.control_fd >= 0)
		close(peer.control_fd);
	fflush(peer.out);
	if (peer.out != stdout)
		fclose(peer.out);
	if (rc == 0 && peer.violations > 0) {
		peer_note("%lu protocol violations", peer.violations);
		rc = PEER_EXIT_VIOLATION;
	}
	return rc;
}
