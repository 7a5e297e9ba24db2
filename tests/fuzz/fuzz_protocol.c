/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what the Windows host sends.  The bytes are fed to the
 * line reader in pieces whose sizes come from the input itself (so lines
 * split across reads are covered), and every complete message goes through
 * the request parser and a reply, exactly as health.c does, and through
 * the check the host peer makes of what an agent sends (protocol-check.c).
 * Any input: no crash, no leak, no undefined behaviour, the reader's
 * buffer stays within its limit, and every refusal says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wire/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_handle(struct proto_item *it)
{
	struct proto_request_msg req;
	char why[256];
	enum proto_error e = proto_parse_request(it->msg, &req, why, sizeof why);
	struct json_object *reply = proto_reply(e == PROTO_OK ? req.id : NULL, e,
	    e == PROTO_OK ? NULL : why, NULL);
	size_t len;
	char *text = proto_encode(reply, &len);
	if (text != NULL && (len == 0 || text[len - 1] != '\n'))
		abort();	/* every line on the wire ends in LF */
	free(text);
	json_object_put(reply);
	int c = proto_check_agent_message(it->msg, why, sizeof why);
	if (c < -1 || c > 1 || (c != 0 && why[0] == '\0'))
		abort();
	json_object_put(it->msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_reader r;
	/* A small limit reaches the too-large paths with small inputs. */
	size_t max = size > 0 && (data[0] & 1) ? 64 : PROTO_LINE_MAX;
	proto_reader_init(&r, max);
	size_t off = size > 0 ? 1 : 0;
	while (off < size) {
		size_t piece = 1 + data[off] % 97;
		off++;
		if (piece > size - off)
			piece = size - off;
		const char *p = (const char *)data + off;
		size_t left = piece;
		while (left > 0) {
			size_t used = 0;
			struct proto_item it = { 0 };
			enum proto_step s = proto_reader_feed(&r, p, left, &used, &it);
			if (used > left || r.len > max + 1)
				abort();
			if (s == PROTO_STEP_MESSAGE)
				fuzz_handle(&it);
			else if (s == PROTO_STEP_ERROR && it.message[0] == '\0')
				abort();	/* every error explains itself */
			if (s == PROTO_STEP_MORE && used == 0)
				break;
			p += used;
			left -= used;
		}
		off += piece;
	}
	proto_reader_free(&r);
	return 0;
}
