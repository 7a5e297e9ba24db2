/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host.address parsing: none, unix:/path, vsock:CID:PORT.  Parsing only;
 * nothing here opens a socket (ARCHITECTURE.md: no vsock to CID 2 in tests).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "base/address.h"

#define assert_has(s, sub) \
	cr_assert(strstr((s), (sub)) != NULL, "expected \"%s\" in: %s", (sub), (s))

static char err[256];

/* Parse text that must be accepted. */
static struct address
parse_ok(const char *text)
{
	struct address a;
	err[0] = '\0';
	int rc = address_parse(text, &a, err, sizeof err);
	cr_assert(eq(int, rc, 0), "'%s' refused: %s", text, err);
	return a;
}

/* Parse text that must be refused; the message is left in err. */
static void
parse_fails(const char *text)
{
	struct address a;
	err[0] = '\0';
	int rc = address_parse(text, &a, err, sizeof err);
	cr_assert(eq(int, rc, -1), "'%s' accepted", text);
	cr_assert(ne(str, err, ""), "'%s' refused without a message", text);
}

Test(address, none)
{
	struct address a = parse_ok("none");
	cr_assert(eq(int, a.kind, ADDRESS_NONE));
	a = parse_ok(NULL);
	cr_assert(eq(int, a.kind, ADDRESS_NONE));
}

Test(address, unix_absolute_path)
{
	struct address a = parse_ok("unix:/run/host.sock");
	cr_assert(eq(int, a.kind, ADDRESS_UNIX));
	cr_assert(eq(str, a.path, "/run/host.sock"));
}

Test(address, unix_relative_path_refused)
{
	parse_fails("unix:run/host.sock");
	assert_has(err, "absolute path");
	parse_fails("unix:");
	assert_has(err, "absolute path");
}

Test(address, unix_path_length_limit)
{
	char text[200] = "unix:/";
	/* 107 bytes of path fit sun_path with its NUL; 108 do not. */
	memset(text + 6, 'a', 106);
	text[6 + 106] = '\0';
	struct address a = parse_ok(text);
	cr_assert(eq(sz, strlen(a.path), (size_t)107));
	strcat(text, "a");
	parse_fails(text);
	assert_has(err, "longer than 107 bytes");
}

Test(address, vsock_numeric_cid)
{
	struct address a = parse_ok("vsock:2:52375");
	cr_assert(eq(int, a.kind, ADDRESS_VSOCK));
	cr_assert(eq(u32, a.cid, 2));
	cr_assert(eq(u32, a.port, 52375));
}

Test(address, vsock_host_alias_is_cid_2)
{
	struct address a = parse_ok("vsock:host:52375");
	cr_assert(eq(int, a.kind, ADDRESS_VSOCK));
	cr_assert(eq(u32, a.cid, 2));
	cr_assert(eq(u32, a.port, 52375));
}

Test(address, vsock_local_cid)
{
	struct address a = parse_ok("vsock:1:1234");
	cr_assert(eq(u32, a.cid, 1));
	cr_assert(eq(u32, a.port, 1234));
}

Test(address, wsl_reserved_ports_refused)
{
	char text[64];
	for (unsigned port = 50000; port <= 50005; port++) {
		snprintf(text, sizeof text, "vsock:2:%u", port);
		parse_fails(text);
		assert_has(err, "reserved by WSL");
	}
	/* The neighbours are fine. */
	cr_assert(eq(u32, parse_ok("vsock:2:49999").port, 49999));
	cr_assert(eq(u32, parse_ok("vsock:2:50006").port, 50006));
}

Test(address, port_zero_and_any_refused)
{
	parse_fails("vsock:2:0");
	assert_has(err, "port 0");
	parse_fails("vsock:2:4294967295");
	assert_has(err, "4294967295");
}

Test(address, bad_cid_text_refused)
{
	const char *bad[] = { "vsock:hots:52375", "vsock:0x2:52375",
	    "vsock:-1:52375", "vsock:+2:52375", "vsock::52375",
	    "vsock: 2:52375", "vsock:2 :52375", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		parse_fails(bad[i]);
		assert_has(err, "CID");
	}
}

Test(address, bad_port_text_refused)
{
	const char *bad[] = { "vsock:2:", "vsock:2:port", "vsock:2: 52375",
	    "vsock:2:52375 ", "vsock:2:-1", "vsock:2:52375:1", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		parse_fails(bad[i]);
		assert_has(err, "port");
	}
}

Test(address, missing_port_refused)
{
	parse_fails("vsock:2");
	assert_has(err, "vsock:CID:PORT");
	parse_fails("vsock:");
	assert_has(err, "vsock:CID:PORT");
}

Test(address, overflow_refused)
{
	parse_fails("vsock:4294967296:1");
	assert_has(err, "CID");
	parse_fails("vsock:99999999999999999999999:1");
	assert_has(err, "CID");
	parse_fails("vsock:2:4294967296");
	assert_has(err, "port");
}

Test(address, garbage_refused)
{
	const char *bad[] = { "", "tcp://127.0.0.1:2375", "unix", "vsock",
	    "NONE", "none ", "/run/host.sock", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		parse_fails(bad[i]);
		assert_has(err, "not an address");
	}
}

Test(address, long_garbage_message_is_bounded)
{
	char text[1000];
	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	parse_fails(text);
	cr_assert(lt(sz, strlen(err), sizeof err));
	parse_fails("vsock:111111111111111111111111111111111111111111111111111"
	    "111111111111111111:1");
	assert_has(err, "too long");
}

Test(address, format_round_trip)
{
	const char *texts[] = { "none", "unix:/run/host.sock", "vsock:2:52375",
	    "vsock:1:1234", "vsock:4294967295:4294967294", NULL };
	for (int i = 0; texts[i] != NULL; i++) {
		struct address a = parse_ok(texts[i]);
		char buf[160];
		address_format(&a, buf, sizeof buf);
		cr_assert(eq(str, buf, (char *)texts[i]));
		struct address b = parse_ok(buf);
		cr_assert(eq(int, memcmp(&a, &b, sizeof a), 0), "%s", texts[i]);
	}
}

Test(address, format_writes_canonical_cid)
{
	struct address a = parse_ok("vsock:host:52375");
	char buf[64];
	address_format(&a, buf, sizeof buf);
	cr_assert(eq(str, buf, "vsock:2:52375"));
}

Test(address, format_truncates_safely)
{
	struct address a = parse_ok("unix:/run/a/rather/long/socket/path.sock");
	char buf[8];
	memset(buf, 'Z', sizeof buf);
	address_format(&a, buf, sizeof buf);
	cr_assert(eq(str, buf, "unix:/r"));
}
