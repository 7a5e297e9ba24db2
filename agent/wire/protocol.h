/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_WIRE_PROTOCOL_H
#define WDA_WIRE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct json_object;

/* Limits and timings of wsl-docker-agent-protocol(7); keep them in step. */
#define PROTO_VERSION		1
#define PROTO_DEFAULT_PORT	52375		/* vsock, outside WSL's 50000-50005 */
#define PROTO_LINE_MAX		(64 * 1024)	/* host -> agent, bytes before LF */
#define PROTO_OUT_LINE_MAX	(1024 * 1024)	/* agent -> host */
#define PROTO_DEPTH_MAX		16		/* nesting, the message is level 1 */
#define PROTO_INT_MAX		9007199254740991LL	/* 2^53 - 1 (I-JSON) */
#define PROTO_ID_MAX		64		/* bytes of a string request id */
#define PROTO_ECHO_MAX		256		/* bytes of ping's echo */
#define PROTO_BAD_MAX		10		/* bad lines within the window ... */
#define PROTO_BAD_WINDOW_MS	60000		/* ... close the connection */
#define PROTO_BACKOFF_BASE_MS	1000
#define PROTO_BACKOFF_CAP_MS	60000
#define PROTO_STABLE_MS		30000		/* up this long: backoff resets */
#define PROTO_CONNECT_TIMEOUT_MS 5000
#define PROTO_STALL_S		30		/* host reads nothing: disconnect */
#define PROTO_OUT_MAX		(1024 * 1024)	/* waiting output: stop reading */

/* Error classes of replies, in the order they are checked. */
enum proto_error { PROTO_OK, PROTO_ERR_BAD_JSON, PROTO_ERR_TOO_LARGE,
		   PROTO_ERR_UNKNOWN_REQUEST, PROTO_ERR_BAD_ARGUMENTS,
		   PROTO_ERR_FORBIDDEN, PROTO_ERR_UNSUPPORTED_VERSION,
		   PROTO_ERR_FAILED };
const char *proto_error_name(enum proto_error);

/*
 * The incremental reader: feed it bytes as they come, get whole messages
 * (JSON objects checked against the framing rules) or typed errors.  It
 * holds at most `max' bytes, whatever it is fed.
 */
struct proto_reader {
	char	*buf;		/* the unfinished line */
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* longest line accepted, LF not counted */
	bool	 discarding;	/* inside a line already found too long */
};
enum proto_step { PROTO_STEP_MORE, PROTO_STEP_MESSAGE, PROTO_STEP_ERROR };
struct proto_item {
	struct json_object *msg;	/* PROTO_STEP_MESSAGE; the caller's */
	enum proto_error    error;	/* PROTO_STEP_ERROR */
	char		    message[256];
	const char	   *line;	/* the line, LF removed; valid until */
	size_t		    line_len;	/* the next call (NULL: too long) */
};
void	proto_reader_init(struct proto_reader *, size_t max);
void	proto_reader_reset(struct proto_reader *);	/* drop a partial line */
void	proto_reader_free(struct proto_reader *);
/*
 * Consume bytes from data up to the end of the first line that yields a
 * message or an error (*used tells how many); MORE when all of it was
 * consumed without either.  Call again with the rest.
 */
enum proto_step proto_reader_feed(struct proto_reader *, const char *data,
	    size_t len, size_t *used, struct proto_item *);
/* One whole line, LF removed; MORE for a blank line. */
enum proto_step proto_parse_line(const char *line, size_t len,
	    struct proto_item *);
/* Serialise one message as a line (LF included), valid UTF-8; malloc'd. */
char	*proto_encode(struct json_object *, size_t *len);

enum proto_request { PROTO_REQ_PING, PROTO_REQ_STATUS, PROTO_REQ_RECONCILE,
		     PROTO_REQ_DISABLE, PROTO_REQ_ENABLE };
struct proto_request_msg {
	enum proto_request  request;
	struct json_object *id;		/* borrowed from the message; NULL: none */
	const char	   *echo;	/* ping's argument, or NULL */
};
/* Check a request; on failure `why' says what and how to fix it. */
enum proto_error proto_parse_request(struct json_object *msg,
	    struct proto_request_msg *, char *why, size_t whylen);
const char *proto_request_name(enum proto_request);
bool	proto_request_by_name(const char *, enum proto_request *);
bool	proto_request_changes_state(enum proto_request);
/* A reply; takes result (may be NULL), shares id (may be NULL). */
struct json_object *proto_reply(struct json_object *id, enum proto_error,
	    const char *message, struct json_object *result);
/* The hello's "requests" and "limits" members. */
struct json_object *proto_requests_json(void);
struct json_object *proto_limits_json(void);

/* A status less what changes by itself (uptime, RSS, clocks, counters). */
struct json_object *proto_status_canonical(struct json_object *status);
/* Names of the members that differ (old NULL: all); an array. */
struct json_object *proto_status_changes(struct json_object *old_canonical,
	    struct json_object *new_canonical);

/* Bad lines remembered for the window; true when the limit is reached. */
struct proto_flood {
	uint64_t at[PROTO_BAD_MAX];
	size_t	 next;
	size_t	 n;
};
bool	proto_flood_note(struct proto_flood *, uint64_t now_ms);

/* "{XXXXXXXX-...}" or "XXXXXXXX-..." to lowercase without braces. */
bool	proto_guid_normalize(const char *text, char out[37]);
/* A JSON value's kind, for messages: "a string", "an object", "null". */
const char *proto_json_kind(struct json_object *);
/*
 * protocol-check.c: check a message from the agent against the protocol
 * (the host peer and tests use it): 0 conforms, 1 an unknown type (to be
 * ignored), -1 not (why says which member and how).
 */
int	proto_check_agent_message(struct json_object *, char *why, size_t len);

#endif
