/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration: defaults, the JSON file (types, values, syntax,
 * limits, duplicates), flags, and the all-or-nothing rule a SIGHUP reload
 * relies on.  Files are real files in a fresh temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <json-c/json.h>

#include "base/config.h"
#include "base/defs.h"
#include "sys/wsl.h"

#define assert_has(s, sub) \
	cr_assert(strstr((s), (sub)) != NULL, "expected \"%s\" in: %s", (sub), (s))

static char tmpdir[64];
static char path[PATH_MAX];	/* the test's config file */
static char err[CONFIG_ERR_LEN];
static struct config cfg;

static void
setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_config.XXXXXX");
	cr_assert(ne(ptr, mkdtemp(tmpdir), NULL), "mkdtemp: %s",
	    strerror(errno));
	snprintf(path, sizeof path, "%s/config.json", tmpdir);
	err[0] = '\0';
	config_init(&cfg);
}

static void
teardown(void)
{
	config_free(&cfg);
	(void)unlink(path);
	(void)rmdir(tmpdir);
}

TestSuite(config, .init = setup, .fini = teardown);

static void
write_file(const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert(ge(int, fd, 0), "open %s: %s", path, strerror(errno));
	cr_assert(eq(long, (long)write(fd, text, len), (long)len));
	close(fd);
}

/* The whole configuration as text, to compare before and after. */
static char *
snapshot(const struct config *c)
{
	struct json_object *j = config_to_json(c);
	cr_assert(ne(ptr, j, NULL));
	char *s = strdup(json_object_to_json_string_ext(j,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
	cr_assert(ne(ptr, s, NULL));
	return s;
}

static void
load_ok(const char *text)
{
	write_file(text, strlen(text));
	int rc = config_load_file(&cfg, path, true, err, sizeof err);
	cr_assert(eq(int, rc, 0), "refused: %s\n%s", err, text);
}

/*
 * Load text that must be refused: the message names the file, and the
 * configuration is exactly what it was.
 */
static void
load_fails(const char *text, size_t len)
{
	char *before = snapshot(&cfg);
	char *file_before = cfg.config_file != NULL ?
	    strdup(cfg.config_file) : NULL;
	write_file(text, len);
	err[0] = '\0';
	int rc = config_load_file(&cfg, path, true, err, sizeof err);
	cr_assert(eq(int, rc, -1), "accepted: %.200s", text);
	cr_assert(eq(int, strncmp(err, path, strlen(path)), 0),
	    "message does not name the file: %s", err);
	char *after = snapshot(&cfg);
	cr_assert(eq(str, after, before), "a failed load changed the config");
	if (file_before == NULL)
		cr_assert(eq(ptr, cfg.config_file, NULL));
	else
		cr_assert(eq(str, cfg.config_file, file_before));
	free(before);
	free(after);
	free(file_before);
}

static void
load_fails_str(const char *text)
{
	load_fails(text, strlen(text));
}

/* {"socket": {"path": VALUE}} from "socket.path" and VALUE. */
static void
nested_json(const char *key, const char *value, char *buf, size_t len)
{
	char head[256] = "", tail[16] = "";
	const char *p = key;
	const char *dot;
	while ((dot = strchr(p, '.')) != NULL) {
		size_t n = strlen(head);
		snprintf(head + n, sizeof head - n, "{\"%.*s\": ",
		    (int)(dot - p), p);
		strcat(tail, "}");
		p = dot + 1;
	}
	snprintf(buf, len, "%s{\"%s\": %s}%s", head, p, value, tail);
}

/* A value for one key, the file refusing it, and what the message says. */
struct refusal {
	const char	*key;
	const char	*json;
	const char	*says;
};

static void
expect_refusals(const struct refusal *r, size_t n)
{
	char json[256];
	for (size_t i = 0; i < n; i++) {
		nested_json(r[i].key, r[i].json, json, sizeof json);
		load_fails_str(json);
		assert_has(err, r[i].key);
		assert_has(err, r[i].says);
	}
}

#define EXPECT_REFUSALS(table) \
	expect_refusals(table, sizeof table / sizeof table[0])

static void
set_ok(const char *key, const char *value)
{
	int rc = config_set(&cfg, key, value, err, sizeof err);
	cr_assert(eq(int, rc, 0), "%s=%s refused: %s", key, value, err);
}

static void
set_fails(const char *key, const char *value)
{
	char *before = snapshot(&cfg);
	err[0] = '\0';
	int rc = config_set(&cfg, key, value, err, sizeof err);
	cr_assert(eq(int, rc, -1), "%s=%s accepted", key, value);
	char *after = snapshot(&cfg);
	cr_assert(eq(str, after, before), "a refused flag changed the config");
	free(before);
	free(after);
}

/* ------------------------------------------------------------------ */
/* The table */

Test(config, every_row_has_flag_help_and_is_found)
{
	size_t rows = 0;
	for (const struct config_key *k = config_keys; k->key != NULL; k++) {
		rows++;
		cr_assert(ne(ptr, (void *)k->flag, NULL), "%s: no flag", k->key);
		cr_assert(gt(sz, strlen(k->flag), (size_t)0), "%s", k->key);
		cr_assert(ne(ptr, (void *)k->help, NULL), "%s: no help", k->key);
		cr_assert(gt(sz, strlen(k->help), (size_t)10), "%s", k->key);
		cr_assert(eq(ptr, (void *)config_key_by_name(k->key), (void *)k));
		cr_assert(eq(ptr, (void *)config_key_by_flag(k->flag), (void *)k));
		if (k->type == CFG_ENUM || k->type == CFG_INT)
			cr_assert(ne(ptr, (void *)k->allowed, NULL), "%s", k->key);
		if (k->def == NULL)
			cr_assert(k->type != CFG_ENUM && k->type != CFG_INT,
			    "%s: only text keys may default to auto", k->key);
		for (const struct config_key *o = config_keys; o != k; o++) {
			cr_assert(ne(str, (char *)o->key, (char *)k->key));
			cr_assert(ne(str, (char *)o->flag, (char *)k->flag));
		}
	}
	cr_assert(eq(sz, rows, (size_t)24));
	cr_assert(eq(ptr, (void *)config_key_by_name("socket"), NULL));
	cr_assert(eq(ptr, (void *)config_key_by_flag("--socket-path"),
	    (void *)config_key_by_name("socket.path")));
}

Test(config, every_default_passes_its_own_checks)
{
	for (const struct config_key *k = config_keys; k->key != NULL; k++) {
		if (k->def == NULL)
			continue;
		int rc = config_set(&cfg, k->flag, k->def, err, sizeof err);
		cr_assert(eq(int, rc, 0), "default of %s refused: %s", k->key,
		    err);
	}
}

Test(config, socket_mode_names_follow_the_table)
{
	const struct config_key *k = config_key_by_name("socket.mode");
	cr_assert(eq(str, (char *)k->allowed, "proxy|mount"));
	cr_assert(eq(str, (char *)config_socket_mode_name(SOCKET_MODE_PROXY),
	    "proxy"));
	cr_assert(eq(str, (char *)config_socket_mode_name(SOCKET_MODE_MOUNT),
	    "mount"));
}

/* ------------------------------------------------------------------ */
/* Defaults and a full file */

Test(config, defaults)
{
	cr_assert(eq(ptr, cfg.config_file, NULL));
	cr_assert(eq(ptr, cfg.desktop_dir, NULL));
	cr_assert(eq(str, cfg.socket_path, "/run/docker.sock"));
	cr_assert(eq(int, cfg.socket_mode, SOCKET_MODE_PROXY));
	cr_assert(eq(str, cfg.socket_group, "docker"));
	cr_assert(eq(int, cfg.socket_max_connections, 4096));
	cr_assert(eq(str, cfg.bin_dir, "/usr/local/bin"));
	cr_assert(eq(str, cfg.plugin_dir, "/usr/local/lib/docker/cli-plugins"));
	cr_assert(eq(int, cfg.links_on_stop, LINKS_ON_STOP_SHIM));
	cr_assert(eq(int, cfg.bind_repair, BIND_REPAIR_RESTART));
	cr_assert(eq(int, cfg.bind_restore_timeout, 5));
	cr_assert(eq(str, cfg.shim_path,
	    LIBEXECDIR "/wsl-docker-agent/wsl-docker-shim"));
	cr_assert(eq(ptr, cfg.host_address, NULL));
	cr_assert(eq(int, cfg.host_interval, 30));
	cr_assert(eq(str, cfg.control_socket,
	    RUNSTATEDIR "/wsl-docker-agent/control.sock"));
	cr_assert(eq(str, cfg.state_dir, LOCALSTATEDIR "/lib/wsl-docker-agent"));
	cr_assert(eq(str, cfg.pidfile, RUNSTATEDIR "/wsl-docker-agent.pid"));
	cr_assert(eq(str, cfg.log_file,
	    LOCALSTATEDIR "/log/wsl-docker-agent.log"));
	cr_assert(eq(str, cfg.log_level, "info"));
	cr_assert(eq(ptr, cfg.distro, NULL));
}

static const char full_file[] =
	"{\n"
	"  \"desktop_dir\": \"/wsl/docker-desktop\",\n"
	"  \"socket\": {\n"
	"    \"path\": \"/run/docker-dd.sock\",\n"
	"    \"mode\": \"mount\",\n"
	"    \"group\": \"docker-users\",\n"
	"    \"max_connections\": 100\n"
	"  },\n"
	"  \"links\": {\n"
	"    \"bin_dir\": \"/opt/bin\",\n"
	"    \"plugin_dir\": \"/opt/plugins\",\n"
	"    \"on_stop\": \"remove\",\n"
	"    \"shim\": \"/opt/libexec/shim\"\n"
	"  },\n"
	"  \"host\": {\n"
	"    \"address\": \"vsock:host:52375\",\n"
	"    \"interval\": 5\n"
	"  },\n"
	"  \"control_socket\": \"/run/wda/control.sock\",\n"
	"  \"state_dir\": \"/var/lib/wda\",\n"
	"  \"pidfile\": \"/run/wda.pid\",\n"
	"  \"log_file\": \"/var/log/wda.log\",\n"
	"  \"log_level\": \"debug\",\n"
	"  \"distro\": \"Ubuntu-22.04\"\n"
	"}\n";

Test(config, full_valid_file)
{
	load_ok(full_file);
	cr_assert(eq(str, cfg.config_file, path));
	cr_assert(eq(str, cfg.desktop_dir, "/wsl/docker-desktop"));
	cr_assert(eq(str, cfg.socket_path, "/run/docker-dd.sock"));
	cr_assert(eq(int, cfg.socket_mode, SOCKET_MODE_MOUNT));
	cr_assert(eq(str, cfg.socket_group, "docker-users"));
	cr_assert(eq(int, cfg.socket_max_connections, 100));
	cr_assert(eq(str, cfg.bin_dir, "/opt/bin"));
	cr_assert(eq(str, cfg.plugin_dir, "/opt/plugins"));
	cr_assert(eq(int, cfg.links_on_stop, LINKS_ON_STOP_REMOVE));
	cr_assert(eq(str, cfg.shim_path, "/opt/libexec/shim"));
	/* Stored in canonical form: "host" is CID 2. */
	cr_assert(eq(str, cfg.host_address, "vsock:2:52375"));
	cr_assert(eq(int, cfg.host_interval, 5));
	cr_assert(eq(str, cfg.control_socket, "/run/wda/control.sock"));
	cr_assert(eq(str, cfg.state_dir, "/var/lib/wda"));
	cr_assert(eq(str, cfg.pidfile, "/run/wda.pid"));
	cr_assert(eq(str, cfg.log_file, "/var/log/wda.log"));
	cr_assert(eq(str, cfg.log_level, "debug"));
	cr_assert(eq(str, cfg.distro, "Ubuntu-22.04"));
}

Test(config, empty_object_keeps_defaults)
{
	char *before = snapshot(&cfg);
	load_ok("{}");
	char *after = snapshot(&cfg);
	cr_assert(eq(str, after, before));
	free(before);
	free(after);
	load_ok("{\"socket\": {}, \"links\": {}, \"host\": {}}");
	cr_assert(eq(str, cfg.socket_path, "/run/docker.sock"));
}

Test(config, file_keys_apply_on_top_of_what_is_there)
{
	set_ok("socket-path", "/run/flag.sock");
	load_ok("{\"log_level\": \"debug\"}");
	cr_assert(eq(str, cfg.socket_path, "/run/flag.sock"));
	cr_assert(eq(str, cfg.log_level, "debug"));
}

/* ------------------------------------------------------------------ */
/* Types */

Test(config, each_key_refuses_the_wrong_type)
{
	for (const struct config_key *k = config_keys; k->key != NULL; k++) {
		struct refusal r = { k->key, "42", "42 is a number; write " };
		if (k->type == CFG_INT)
			r = (struct refusal){ k->key, "\"30\"",
			    "\"30\" is a string; write a whole number" };
		expect_refusals(&r, 1);
	}
}

Test(config, other_wrong_types_refused)
{
	static const struct refusal cases[] = {
		{ "socket.path", "true", "is a boolean" },
		{ "socket.path", "[\"/run/docker.sock\"]", "is an array" },
		{ "socket.path", "{\"x\": 1}", "is an object" },
		{ "host.interval", "30.5", "fraction" },
		{ "host.interval", "1e3", "fraction or exponent" },
		{ "host.interval", "false", "is a boolean" },
		{ "socket.mode", "0", "is a number" },
		{ "log_level", "[]", "is an array" },
	};
	EXPECT_REFUSALS(cases);
}

Test(config, wrong_type_message_names_file_key_value_and_fix)
{
	load_fails_str("{\"host\": {\"interval\": \"30\"}}");
	char want[PATH_MAX + 200];
	snprintf(want, sizeof want, "%s: host.interval: \"30\" is a string; "
	    "write a whole number from 1 to 3600 without quotes, such as 30",
	    path);
	cr_assert(eq(str, err, want));
}

Test(config, null_refused_except_for_auto_keys)
{
	for (const struct config_key *k = config_keys; k->key != NULL; k++) {
		struct refusal r = { k->key, "null", "null is not allowed" };
		if (k->def != NULL) {
			expect_refusals(&r, 1);
		} else {
			char json[256];
			nested_json(k->key, "null", json, sizeof json);
			load_ok(json);
		}
	}
}

Test(config, null_sets_auto_keys_back_to_auto)
{
	load_ok("{\"desktop_dir\": \"/x/docker-desktop\", \"distro\": \"d\", "
	    "\"host\": {\"address\": \"none\"}}");
	cr_assert(eq(str, cfg.desktop_dir, "/x/docker-desktop"));
	cr_assert(eq(str, cfg.host_address, "none"));
	load_ok("{\"desktop_dir\": null, \"distro\": null, "
	    "\"host\": {\"address\": null}}");
	cr_assert(eq(ptr, cfg.desktop_dir, NULL));
	cr_assert(eq(ptr, cfg.distro, NULL));
	cr_assert(eq(ptr, cfg.host_address, NULL));
}

/* ------------------------------------------------------------------ */
/* Values */

Test(config, enum_bad_value_message)
{
	load_fails_str("{\"socket\": {\"mode\": \"proxi\"}}");
	char want[PATH_MAX + 100];
	snprintf(want, sizeof want, "%s: socket.mode: 'proxi' is not allowed; "
	    "use proxy or mount", path);
	cr_assert(eq(str, err, want));
}

Test(config, every_enum_refuses_values_outside_its_list)
{
	static const struct refusal cases[] = {
		{ "socket.mode", "\"Proxy\"", "use proxy or mount" },
		{ "socket.mode", "\"\"", "'' is not allowed" },
		{ "links.on_stop", "\"delete\"", "use shim or remove" },
		{ "bind.repair", "\"fix\"", "use restart or report" },
		{ "log_level", "\"verbose\"",
		  "use error, warning, notice, info or debug" },
		{ "log_level", "\"info \"", "'info ' is not allowed" },
	};
	EXPECT_REFUSALS(cases);
}

Test(config, every_enum_value_accepted)
{
	load_ok("{\"socket\": {\"mode\": \"proxy\"}, \"links\": "
	    "{\"on_stop\": \"shim\"}, \"log_level\": \"error\"}");
	cr_assert(eq(int, cfg.socket_mode, SOCKET_MODE_PROXY));
	cr_assert(eq(int, cfg.links_on_stop, LINKS_ON_STOP_SHIM));
	cr_assert(eq(str, cfg.log_level, "error"));
	const char *levels[] = { "warning", "notice", "info", "debug" };
	for (size_t i = 0; i < 4; i++) {
		char json[64];
		snprintf(json, sizeof json, "{\"log_level\": \"%s\"}", levels[i]);
		load_ok(json);
		cr_assert(eq(str, cfg.log_level, (char *)levels[i]));
	}
}

Test(config, int_range_enforced)
{
#define OUT_OF_RANGE "is out of range; use a whole number from"
	static const struct refusal bad[] = {
		{ "socket.max_connections", "0", "0 " OUT_OF_RANGE " 1 to 65536" },
		{ "socket.max_connections", "65537", OUT_OF_RANGE },
		{ "socket.max_connections", "-1", OUT_OF_RANGE },
		{ "host.interval", "0", "0 " OUT_OF_RANGE " 1 to 3600" },
		{ "host.interval", "3601", OUT_OF_RANGE },
	};
	EXPECT_REFUSALS(bad);
	static const char *const huge[] = {
		"99999999999999999999", "-99999999999999999999",
	};
	for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
		char json[256];
		nested_json("host.interval", huge[i], json, sizeof json);
		load_fails_str(json);
		if (JSON_C_REFUSES_HUGE_NUMBERS) {
			assert_has(err, "invalid JSON (number expected)");
		} else {
			assert_has(err, "host.interval");
			assert_has(err, OUT_OF_RANGE);
		}
	}
	load_ok("{\"socket\": {\"max_connections\": 65536}, "
	    "\"host\": {\"interval\": 3600}}");
	cr_assert(eq(int, cfg.socket_max_connections, 65536));
	cr_assert(eq(int, cfg.host_interval, 3600));
	load_ok("{\"socket\": {\"max_connections\": 1}, "
	    "\"host\": {\"interval\": 1}}");
	cr_assert(eq(int, cfg.socket_max_connections, 1));
	cr_assert(eq(int, cfg.host_interval, 1));
}

Test(config, relative_path_refused)
{
	load_fails_str("{\"links\": {\"bin_dir\": \"usr/local/bin\"}}");
	assert_has(err, "links.bin_dir: 'usr/local/bin' is not an absolute "
	    "path; start it with /, as in /usr/local/bin");
	load_fails_str("{\"desktop_dir\": \"docker-desktop\"}");
	assert_has(err, "desktop_dir: 'docker-desktop' is not an absolute path");
	load_fails_str("{\"state_dir\": \"\"}");
	assert_has(err, "state_dir: '' is not an absolute path");
}

Test(config, control_characters_refused_and_shown_escaped)
{
	load_fails_str("{\"pidfile\": \"/run/a\\nb.pid\"}");
	assert_has(err, "pidfile: '/run/a\\x0ab.pid' contains a control "
	    "character");
	cr_assert(eq(ptr, strchr(err, '\n'), NULL));
	load_fails_str("{\"pidfile\": \"/run/a\\u0000b.pid\"}");
	assert_has(err, "pidfile: '/run/a\\x00b.pid' contains a control "
	    "character");
	load_fails_str("{\"socket\": {\"group\": \"dock\\ter\"}}");
	assert_has(err, "control character");
	load_fails_str("{\"host\": {\"address\": \"unix:/a\\u001bb\"}}");
	assert_has(err, "control character");
}

Test(config, path_length_limits)
{
	char *json = malloc(PATH_MAX + 64);
	char *long_path = malloc(PATH_MAX + 1);
	cr_assert(ne(ptr, json, NULL));
	cr_assert(ne(ptr, long_path, NULL));
	memset(long_path, 'a', PATH_MAX);
	long_path[0] = '/';
	long_path[PATH_MAX] = '\0';
	snprintf(json, PATH_MAX + 64, "{\"state_dir\": \"%s\"}", long_path);
	load_fails_str(json);
	assert_has(err, "state_dir: '/aaaa");
	assert_has(err, "...' is longer than 4095 bytes");
	long_path[PATH_MAX - 1] = '\0';
	snprintf(json, PATH_MAX + 64, "{\"state_dir\": \"%s\"}", long_path);
	load_ok(json);
	cr_assert(eq(sz, strlen(cfg.state_dir), (size_t)PATH_MAX - 1));
	/* Sockets must fit sun_path. */
	long_path[108] = '\0';
	snprintf(json, PATH_MAX + 64, "{\"socket\": {\"path\": \"%s\"}}",
	    long_path);
	load_fails_str(json);
	assert_has(err, "longer than 107 bytes, the most a unix socket path");
	long_path[107] = '\0';
	snprintf(json, PATH_MAX + 64, "{\"control_socket\": \"%s\"}", long_path);
	load_ok(json);
	free(json);
	free(long_path);
}

/* head, then `count' times `fill', then tail. */
static void
fill_json(char *buf, size_t len, const char *head, char fill, size_t count,
    const char *tail)
{
	size_t n = strlen(head);
	cr_assert(lt(sz, n + count + strlen(tail), len));
	memcpy(buf, head, n);
	memset(buf + n, fill, count);
	strcpy(buf + n + count, tail);
}

Test(config, long_bad_value_is_truncated_in_the_message)
{
	char json[2200];
	fill_json(json, sizeof json, "{\"socket\": {\"mode\": \"", 'x', 2000,
	    "\"}}");
	load_fails_str(json);
	assert_has(err, "socket.mode: 'xxxx");
	assert_has(err, "...' is not allowed; use proxy or mount");
	cr_assert(lt(sz, strlen(err), (size_t)200 + strlen(path)));
}

Test(config, truncation_never_splits_a_utf8_character)
{
	/* 59 ASCII bytes then "é": the cut falls inside the é. */
	char json[256];
	fill_json(json, sizeof json, "{\"distro\": \"", 'a', 59, "\xc3\xa9/\"}");
	load_fails_str(json);
	assert_has(err, "aaa...'");
	cr_assert(eq(ptr, strstr(err, "\xc3..."), NULL));
}

Test(config, group_names)
{
	const char *good[] = { "docker", "_docker", "docker-users", "dock3r",
	    "samba$", "abcdefghijklmnopqrstuvwxyz012345" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		set_ok("socket-group", good[i]);
		cr_assert(eq(str, cfg.socket_group, (char *)good[i]));
	}
	const char *bad[] = { "Docker", "9docker", "-docker", "dock er",
	    "dock$er", "", "abcdefghijklmnopqrstuvwxyz0123456", "dockér" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		set_fails("socket-group", bad[i]);
		assert_has(err, "is not a group name");
	}
}

Test(config, distro_names)
{
	set_ok("distro", "Ubuntu-22.04");
	cr_assert(eq(str, cfg.distro, "Ubuntu-22.04"));
	set_ok("distro", "My Distro");
	const char *bad[] = { "a/b", "..", ".", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		set_fails("distro", bad[i]);
		assert_has(err, "is not a distro name");
	}
	char name[300];
	memset(name, 'd', 256);
	name[256] = '\0';
	set_fails("distro", name);
	assert_has(err, "1 to 255 characters");
	name[255] = '\0';
	set_ok("distro", name);
}

Test(config, host_address_validated_by_address_parse)
{
	load_ok("{\"host\": {\"address\": \"unix:/run/host.sock\"}}");
	cr_assert(eq(str, cfg.host_address, "unix:/run/host.sock"));
	load_ok("{\"host\": {\"address\": \"none\"}}");
	cr_assert(eq(str, cfg.host_address, "none"));
	load_fails_str("{\"host\": {\"address\": \"vsock:2:50001\"}}");
	assert_has(err, "host.address: 'vsock:2:50001': port 50001 is "
	    "reserved by WSL");
	load_fails_str("{\"host\": {\"address\": \"tcp://127.0.0.1:1\"}}");
	assert_has(err, "host.address: 'tcp://127.0.0.1:1' is not an address");
	cr_assert(eq(ptr, strstr(err, "'tcp://127.0.0.1:1': 'tcp"), NULL),
	    "value quoted twice: %s", err);
}

/* ------------------------------------------------------------------ */
/* Unknown keys */

Test(config, unknown_key_suggests_the_closest)
{
	load_fails_str("{\"socket\": {\"paht\": \"/run/docker.sock\"}}");
	char want[PATH_MAX + 100];
	snprintf(want, sizeof want, "%s: socket.paht: unknown key; did you "
	    "mean socket.path?", path);
	cr_assert(eq(str, err, want));
	load_fails_str("{\"distor\": \"x\"}");
	assert_has(err, "distor: unknown key; did you mean distro?");
	load_fails_str("{\"sokcet\": {\"path\": \"/x\"}}");
	assert_has(err, "sokcet: unknown key; did you mean socket?");
	load_fails_str("{\"log-level\": \"debug\"}");
	assert_has(err, "did you mean log_level?");
	load_fails_str("{\"socket_path\": \"/x\"}");
	assert_has(err, "did you mean socket.path?");
}

Test(config, unknown_key_lists_what_the_object_holds)
{
	load_fails_str("{\"socket\": {\"tls\": {\"cert\": \"/x\"}}}");
	assert_has(err, "socket.tls: unknown key; socket holds path, mode, "
	    "group and max_connections");
	load_fails_str("{\"colour\": true}");
	assert_has(err, "colour: unknown key; the top level holds desktop_dir, "
	    "socket, links, host, control_socket, state_dir, pidfile, "
	    "log_file, log_level, distro and bind");
}

Test(config, unknown_nested_object)
{
	load_fails_str("{\"proxy\": {\"buffer\": 65536}}");
	assert_has(err, "proxy: unknown key; the top level holds");
	load_fails_str("{\"host\": {\"retry\": {\"max\": 3}}}");
	assert_has(err, "host.retry: unknown key; host holds address and "
	    "interval");
}

Test(config, section_must_be_an_object)
{
	load_fails_str("{\"socket\": \"/run/docker.sock\"}");
	assert_has(err, "socket: \"/run/docker.sock\" is a string; write an "
	    "object holding path, mode, group or max_connections");
	load_fails_str("{\"host\": null}");
	assert_has(err, "host: null is not allowed; write an object "
	    "holding address or interval");
}

Test(config, dotted_names_are_refused_with_the_nested_form)
{
	load_fails_str("{\"socket.path\": \"/run/docker.sock\"}");
	assert_has(err, "socket.path: dotted names are not read; nest the "
	    "objects: {\"socket\": {\"path\": ...}}");
	load_fails_str("{\"socket.paht\": \"/x\"}");
	assert_has(err, "did you mean socket.path?");
}

Test(config, unknown_key_with_control_characters_is_shown_escaped)
{
	load_fails_str("{\"bad\\nkey\": 1}");
	assert_has(err, "bad\\x0akey: unknown key");
	cr_assert(eq(ptr, strchr(err, '\n'), NULL));
}

/* ------------------------------------------------------------------ */
/* Duplicates */

Test(config, duplicate_key_refused_with_both_positions)
{
	load_fails_str("{\n  \"log_level\": \"info\",\n"
	    "  \"log_level\": \"debug\"\n}\n");
	char want[PATH_MAX + 100];
	snprintf(want, sizeof want, "%s:3:3: log_level: duplicate key (first "
	    "at line 2, column 3); keep only one", path);
	cr_assert(eq(str, err, want));
}

Test(config, duplicate_nested_key_refused)
{
	load_fails_str("{\"socket\": {\"path\": \"/a\", \"mode\": \"proxy\", "
	    "\"path\": \"/b\"}}");
	assert_has(err, ":1:44: socket.path: duplicate key (first at line 1, "
	    "column 13)");
}

Test(config, duplicate_spelled_with_escapes_refused)
{
	load_fails_str("{\"distro\": \"a\", \"dis\\u0074ro\": \"b\"}");
	assert_has(err, "distro: duplicate key");
}

Test(config, duplicate_section_refused)
{
	load_fails_str("{\"socket\": {\"path\": \"/a\"}, \"links\": {}, "
	    "\"socket\": {\"mode\": \"mount\"}}");
	assert_has(err, "socket: duplicate key");
}

Test(config, same_name_in_different_objects_is_not_a_duplicate)
{
	/* "x" twice, in different objects: the unknown key is the error. */
	load_fails_str("{\"socket\": {\"x\": 1}, \"links\": {\"x\": 1}}");
	assert_has(err, "socket.x: unknown key");
	cr_assert(eq(ptr, strstr(err, "duplicate"), NULL));
}

/* ------------------------------------------------------------------ */
/* Syntax and limits */

Test(config, syntax_error_has_a_position)
{
	load_fails_str("{\n  \"socket\": {\n    \"path\": \"/x\",\n  }\n}\n");
	assert_has(err, ":4:3: invalid JSON (");
	assert_has(err, "at '}");
	load_fails_str("{\"socket\" {}}");
	assert_has(err, ":1:11: invalid JSON (object property name separator "
	    "':' expected) at byte 10");
}

Test(config, truncated_json_refused)
{
	load_fails_str("{\n  \"socket\": {\n    \"path\": \"/x\"\n");
	assert_has(err, ":4:1: the file ends inside the JSON object");
}

Test(config, comments_and_single_quotes_refused)
{
	load_fails_str("{ /* no */ }");
	assert_has(err, ":1:3: invalid JSON");
	/* json-c 0.16 takes single-quoted keys even when strict. */
	load_fails_str("{'log_level': \"debug\"}");
	assert_has(err, ":1:2: strings need double quotes");
	load_fails_str("{\"log_level\": 'debug'}");
	assert_has(err, ":1:15: invalid JSON");
}

Test(config, trailing_garbage_refused)
{
	load_fails_str("{}\nx\n");
	assert_has(err, ":2:1: unexpected text after the JSON object, at 'x");
	load_fails_str("{\"log_level\": \"debug\"} {}");
	assert_has(err, "unexpected text after the JSON object");
	load_fails_str("{},");
	assert_has(err, ":1:3: unexpected text");
}

Test(config, top_level_must_be_an_object)
{
	load_fails_str("[]");
	assert_has(err, "the top level is an array; write a JSON object");
	load_fails_str("\"/run/docker.sock\"");
	assert_has(err, "the top level is a string");
}

Test(config, nesting_deeper_than_the_limit_refused)
{
	char json[256] = "{\"socket\": ";
	for (int i = 0; i < JSON_MAX_DEPTH + 2; i++)
		strcat(json, "[");
	for (int i = 0; i < JSON_MAX_DEPTH + 2; i++)
		strcat(json, "]");
	strcat(json, "}");
	load_fails_str(json);
	assert_has(err, "nest deeper than 16 levels");
}

Test(config, file_larger_than_the_limit_refused)
{
	size_t len = CONFIG_MAX_BYTES + 1;
	char *big = malloc(len);
	cr_assert(ne(ptr, big, NULL));
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	load_fails(big, len);
	assert_has(err, "262145 bytes is more than the limit of 262144");
	/* Exactly at the limit is fine. */
	big[len - 2] = '}';
	write_file(big, len - 1);
	cr_assert(eq(int, config_load_file(&cfg, path, true, err, sizeof err),
	    0), "%s", err);
	free(big);
}

Test(config, string_larger_than_the_limit_refused)
{
	size_t len = CONFIG_MAX_BYTES + 1;
	char *big = malloc(len + 1);
	cr_assert(ne(ptr, big, NULL));
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	big[len] = '\0';
	cr_assert(eq(int, config_load_string(&cfg, big, "big", err, sizeof err),
	    -1));
	assert_has(err, "big: 262145 bytes is more than the limit");
	free(big);
}

Test(config, empty_file_is_an_error)
{
	load_fails("", 0);
	assert_has(err, "the file is empty; write {} for the defaults");
	load_fails_str(" \n\t\n");
	assert_has(err, "the file is empty; write {} for the defaults");
}

Test(config, nul_byte_refused)
{
	load_fails("{\"a\"\0}", 6);
	assert_has(err, ":1:5: contains a NUL byte");
}

Test(config, invalid_utf8_refused)
{
	load_fails_str("{\"distro\": \"\xff\xfe\"}");
	assert_has(err, "invalid JSON (invalid utf-8 string)");
}

Test(config, missing_file)
{
	char *before = snapshot(&cfg);
	cr_assert(eq(int, config_load_file(&cfg, path, false, err, sizeof err),
	    0));
	char *after = snapshot(&cfg);
	cr_assert(eq(str, after, before));
	cr_assert(eq(ptr, cfg.config_file, NULL));
	free(after);

	cr_assert(eq(int, config_load_file(&cfg, path, true, err, sizeof err),
	    -1));
	assert_has(err, path);
	assert_has(err, "cannot open: No such file or directory; create it");
	after = snapshot(&cfg);
	cr_assert(eq(str, after, before));
	free(before);
	free(after);
}

Test(config, directory_is_not_a_config_file)
{
	cr_assert(eq(int, config_load_file(&cfg, tmpdir, false, err,
	    sizeof err), -1));
	assert_has(err, "is not a regular file");
}

/* ------------------------------------------------------------------ */
/* All or nothing */

Test(config, failed_load_leaves_the_config_unchanged)
{
	load_ok(full_file);
	char *before = snapshot(&cfg);
	/* Good keys first, a bad one last: none of them may stick. */
	load_fails_str("{\"log_level\": \"error\", \"socket\": {\"path\": "
	    "\"/run/other.sock\", \"mode\": \"proxi\"}}");
	char *after = snapshot(&cfg);
	cr_assert(eq(str, after, before));
	cr_assert(eq(str, cfg.log_level, "debug"));
	cr_assert(eq(str, cfg.socket_path, "/run/docker-dd.sock"));
	cr_assert(eq(str, cfg.config_file, path));
	free(before);
	free(after);
}

Test(config, load_string_reports_its_origin)
{
	cr_assert(eq(int, config_load_string(&cfg, "{\"x\": 1}", "reload", err,
	    sizeof err), -1));
	assert_has(err, "reload: x: unknown key");
	cr_assert(eq(int, config_load_string(&cfg, "{\"x\": 1}", NULL, err,
	    sizeof err), -1));
	assert_has(err, "(string): x: unknown key");
	cr_assert(eq(int, config_load_string(&cfg, "{\"distro\": \"d\"}", NULL,
	    err, sizeof err), 0));
	cr_assert(eq(ptr, cfg.config_file, NULL));
	cr_assert(eq(str, cfg.distro, "d"));
}

Test(config, small_error_buffer_is_safe)
{
	char tiny[8];
	memset(tiny, 'Z', sizeof tiny);
	cr_assert(eq(int, config_load_string(&cfg, "{\"socket\": {\"mode\": "
	    "\"proxi\"}}", "f", tiny, sizeof tiny), -1));
	cr_assert(eq(str, tiny, "f: sock"));
	cr_assert(eq(int, config_set(&cfg, "socket-mode", "x", NULL, 0), -1));
}

/* ------------------------------------------------------------------ */
/* Flags */

Test(config, set_by_flag_or_key_name)
{
	set_ok("socket-mode", "mount");
	cr_assert(eq(int, cfg.socket_mode, SOCKET_MODE_MOUNT));
	set_ok("--host-interval", "60");
	cr_assert(eq(int, cfg.host_interval, 60));
	set_ok("socket.path", "/run/flag.sock");
	cr_assert(eq(str, cfg.socket_path, "/run/flag.sock"));
	set_ok("links-on-stop", "remove");
	cr_assert(eq(int, cfg.links_on_stop, LINKS_ON_STOP_REMOVE));
	set_ok("bind-repair", "report");
	cr_assert(eq(int, cfg.bind_repair, BIND_REPAIR_REPORT));
	set_ok("bind.restore_timeout", "0");
	cr_assert(eq(int, cfg.bind_restore_timeout, 0));
	cr_assert(eq(int, config_set(&cfg, "bind-restore-timeout", "301", NULL,
	    0), -1));
	set_ok("host-address", "vsock:host:52375");
	cr_assert(eq(str, cfg.host_address, "vsock:2:52375"));
}

Test(config, set_error_names_the_flag)
{
	set_fails("socket-mode", "proxi");
	cr_assert(eq(str, err, "--socket-mode: 'proxi' is not allowed; use "
	    "proxy or mount"));
	set_fails("socket.mode", "proxi");
	cr_assert(eq(str, err, "socket.mode: 'proxi' is not allowed; use "
	    "proxy or mount"));
	set_fails("bin-dir", "bin");
	assert_has(err, "--bin-dir: 'bin' is not an absolute path");
}

Test(config, set_parses_ints_strictly)
{
	const char *bad[] = { "30s", " 30", "30 ", "+30", "0x10", "", "3.0",
	    "1e3", "-", "thirty" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		set_fails("host-interval", bad[i]);
		assert_has(err, "--host-interval: '");
		assert_has(err, "' is not a whole number; use one from 1 to 3600");
	}
	set_fails("host-interval", "-1");
	assert_has(err, "--host-interval: -1 is out of range");
	set_fails("socket-max-connections", "99999999999999999999");
	assert_has(err, "99999999999999999999 is out of range");
	set_ok("host-interval", "0600");
	cr_assert(eq(int, cfg.host_interval, 600));
}

Test(config, set_unknown_flag_suggests)
{
	set_fails("socket-paht", "/x");
	cr_assert(eq(str, err, "--socket-paht is not an option; did you mean "
	    "--socket-path?"));
	set_fails("--verbose", "1");
	assert_has(err, "--verbose is not an option; --help lists them");
	set_fails(NULL, "1");
	assert_has(err, "is not an option");
}

Test(config, set_auto_and_default)
{
	set_ok("host-address", "none");
	set_ok("host-address", "auto");
	cr_assert(eq(ptr, cfg.host_address, NULL));
	set_ok("desktop-dir", "/wsl/docker-desktop");
	set_ok("desktop-dir", "auto");
	cr_assert(eq(ptr, cfg.desktop_dir, NULL));
	set_ok("distro", "auto");
	cr_assert(eq(ptr, cfg.distro, NULL));
	/* "auto" is not a value for keys that have a default. */
	set_fails("socket-group", "auto!");
	set_fails("socket-path", "auto");
	/* NULL restores the default. */
	set_ok("socket-path", "/x.sock");
	set_ok("socket-path", NULL);
	cr_assert(eq(str, cfg.socket_path, "/run/docker.sock"));
	set_ok("host-interval", "9");
	set_ok("host-interval", NULL);
	cr_assert(eq(int, cfg.host_interval, 30));
	set_ok("socket-mode", "mount");
	set_ok("socket-mode", NULL);
	cr_assert(eq(int, cfg.socket_mode, SOCKET_MODE_PROXY));
}

/* ------------------------------------------------------------------ */
/* JSON out */

Test(config, to_json_is_nested_and_complete)
{
	struct json_object *j = config_to_json(&cfg);
	cr_assert(ne(ptr, j, NULL));
	for (const struct config_key *k = config_keys; k->key != NULL; k++) {
		char part[64];
		const char *p = k->key, *dot;
		struct json_object *at = j;
		while ((dot = strchr(p, '.')) != NULL) {
			snprintf(part, sizeof part, "%.*s", (int)(dot - p), p);
			cr_assert(json_object_object_get_ex(at, part, &at),
			    "%s missing", k->key);
			cr_assert(json_object_is_type(at, json_type_object));
			p = dot + 1;
		}
		cr_assert(json_object_object_get_ex(at, p, NULL), "%s missing",
		    k->key);
	}
	struct json_object *sock, *v;
	cr_assert(json_object_object_get_ex(j, "socket", &sock));
	cr_assert(json_object_object_get_ex(sock, "mode", &v));
	cr_assert(eq(str, (char *)json_object_get_string(v), "proxy"));
	cr_assert(json_object_object_get_ex(sock, "max_connections", &v));
	cr_assert(eq(int, json_object_get_int(v), 4096));
	cr_assert(json_object_object_get_ex(j, "distro", &v));
	cr_assert(eq(ptr, v, NULL), "auto is null before config_resolve");
	json_object_put(j);
}

Test(config, to_json_round_trip)
{
	load_ok(full_file);
	struct json_object *a = config_to_json(&cfg);
	cr_assert(ne(ptr, a, NULL));
	struct config other;
	config_init(&other);
	int rc = config_load_string(&other, json_object_to_json_string(a),
	    "status", err, sizeof err);
	cr_assert(eq(int, rc, 0), "%s", err);
	struct json_object *b = config_to_json(&other);
	cr_assert(json_object_equal(a, b), "%s\n%s",
	    json_object_to_json_string(a), json_object_to_json_string(b));
	json_object_put(a);
	json_object_put(b);
	config_free(&other);

	/* Defaults, with nulls for auto, round-trip too. */
	struct config defaults;
	config_init(&defaults);
	char *text = snapshot(&defaults);
	config_free(&defaults);
	config_init(&defaults);
	cr_assert(eq(int, config_load_string(&defaults, text, "defaults", err,
	    sizeof err), 0), "%s", err);
	char *again = snapshot(&defaults);
	cr_assert(eq(str, again, text));
	free(text);
	free(again);
	config_free(&defaults);
}

Test(config, resolve_fills_auto_keys_only)
{
	wsl_resolve_config(&cfg);
	cr_assert(ne(ptr, cfg.desktop_dir, NULL));
	cr_assert(eq(chr, cfg.desktop_dir[0], '/'));
	size_t n = strlen(cfg.desktop_dir);
	cr_assert(gt(sz, n, strlen("/docker-desktop")));
	cr_assert(eq(str, cfg.desktop_dir + n - strlen("/docker-desktop"),
	    "/docker-desktop"));
	cr_assert(ne(ptr, cfg.distro, NULL));
	cr_assert(gt(sz, strlen(cfg.distro), (size_t)0));
	/* host.address stays auto: health.c decides, from the kernel. */
	cr_assert(eq(ptr, cfg.host_address, NULL));

	set_ok("desktop-dir", "/elsewhere/docker-desktop");
	set_ok("distro", "Debian");
	wsl_resolve_config(&cfg);
	cr_assert(eq(str, cfg.desktop_dir, "/elsewhere/docker-desktop"));
	cr_assert(eq(str, cfg.distro, "Debian"));
}

Test(config, free_twice_is_harmless)
{
	load_ok(full_file);
	config_free(&cfg);
	config_free(&cfg);
	cr_assert(eq(ptr, cfg.socket_path, NULL));
	cr_assert(eq(ptr, cfg.config_file, NULL));
	config_init(&cfg);
}
