/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor: the docker client's configuration and contexts read as docker
 * reads them (every malformed file a message naming the line and column,
 * never a crash), the pure decisions (WSL 1 from real /proc/version texts,
 * a shell file setting a variable, a Windows program, interop, the docker
 * group), the bounded file reader, and the report for a person and as
 * JSON.
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

#include "base/json.h"
#include "main/doctor.h"
#include "testlib.h"

#define assert_has(s, sub) \
	cr_assert(strstr((s), (sub)) != NULL, "expected \"%s\" in: %s", (sub), (s))

static int
parse(const char *text, struct docker_config *c, char *err, size_t errlen)
{
	err[0] = '\0';
	return docker_config_parse(text, strlen(text), "/home/u/.docker/config.json",
	    c, err, errlen);
}

/* ------------------------------------------------------------------ */
/* config.json */

Test(docker_config, what_docker_desktop_writes)
{
	struct docker_config c;
	char err[512];
	cr_assert(eq(int, parse("{\n\t\"auths\": {},\n\t\"credsStore\": "
	    "\"desktop.exe\"\n}\n", &c, err, sizeof err), 0), "%s", err);
	cr_assert_str_eq(c.creds_store, "desktop.exe");
	cr_assert_null(c.current_context);
	cr_assert(eq(sz, c.nhelpers, 0));
	docker_config_free(&c);
}

Test(docker_config, every_member_doctor_reads)
{
	struct docker_config c;
	char err[512];
	cr_assert(eq(int, parse("{\"currentContext\": \"remote\", \"credHelpers\": "
	    "{\"gcr.io\": \"gcloud\", \"123.dkr.ecr.us-east-1.amazonaws.com\": "
	    "\"ecr-login\"}, \"auths\": {\"x\": {\"auth\": \"eA==\"}}, "
	    "\"proxies\": {\"default\": {\"httpProxy\": \"http://p:3128\"}}}",
	    &c, err, sizeof err), 0), "%s", err);
	cr_assert_str_eq(c.current_context, "remote");
	cr_assert_null(c.creds_store);
	cr_assert(eq(sz, c.nhelpers, 2));
	cr_assert_str_eq(c.helpers[0].registry, "gcr.io");
	cr_assert_str_eq(c.helpers[0].helper, "gcloud");
	cr_assert_str_eq(c.helpers[1].helper, "ecr-login");
	docker_config_free(&c);
}

Test(docker_config, names_match_in_any_case_the_last_wins)
{
	struct docker_config c;
	char err[512];
	/* Go's encoding/json, as docker uses it, matches names in any case. */
	cr_assert(eq(int, parse("{\"credsstore\": \"a\", \"CREDSSTORE\": \"b\", "
	    "\"CurrentContext\": \"c\"}", &c, err, sizeof err), 0), "%s", err);
	cr_assert_str_eq(c.creds_store, "b");
	cr_assert_str_eq(c.current_context, "c");
	docker_config_free(&c);
}

Test(docker_config, blank_or_null_is_an_empty_configuration)
{
	struct docker_config c;
	char err[512];
	const char *const empty[] = { "", " \n\t\r\n", "null", "{}",
	    "{\"credsStore\": null, \"credHelpers\": null, \"currentContext\": "
	    "null}", NULL };
	for (const char *const *t = empty; *t != NULL; t++) {
		cr_assert(eq(int, parse(*t, &c, err, sizeof err), 0),
		    "'%s': %s", *t, err);
		cr_assert(c.creds_store == NULL && c.current_context == NULL &&
		    c.nhelpers == 0, "'%s'", *t);
		docker_config_free(&c);
	}
}

Test(docker_config, text_after_the_object_is_not_read)
{
	struct docker_config c;
	char err[512];
	cr_assert(eq(int, parse("{\"credsStore\": \"pass\"}\n{garbage", &c, err,
	    sizeof err), 0), "%s", err);
	cr_assert_str_eq(c.creds_store, "pass");
	docker_config_free(&c);
}

Test(docker_config, a_syntax_error_names_line_and_column)
{
	struct docker_config c;
	char err[512];
	cr_assert(eq(int, parse("{\n  \"credsStore\": \"desktop.exe\",\n}\n", &c,
	    err, sizeof err), -1));
	assert_has(err, "/home/u/.docker/config.json:3:");
	assert_has(err, "not valid JSON");
	cr_assert_null(c.creds_store, "nothing is kept from a refused file");

	cr_assert(eq(int, parse("{\"credsStore\": \"desk", &c, err, sizeof err),
	    -1));
	assert_has(err, "ends inside the JSON object");
	cr_assert(eq(int, parse("\xef\xbb\xbf{}", &c, err, sizeof err), -1),
	    "a byte order mark (Go refuses it too)");
	cr_assert(eq(int, parse("{\"a\": \"\xff\"}", &c, err, sizeof err), -1),
	    "invalid UTF-8");
	cr_assert(eq(int, parse("{\"a\": \"x\\\"y\",\n \"b\": \"1\n2\"}", &c,
	    err, sizeof err), -1), "a raw newline in a string (Go refuses it)");
	assert_has(err, ":2:9: not valid JSON: a control character (0x0a)");
}

Test(docker_config, wrong_types_name_the_member)
{
	struct docker_config c;
	char err[512];
	cr_assert(eq(int, parse("[1, 2]", &c, err, sizeof err), -1));
	assert_has(err, "holds array, not a JSON object");
	cr_assert(eq(int, parse("{\"credsStore\": 5}", &c, err, sizeof err), -1));
	assert_has(err, "\"credsStore\" is int; it must be a string");
	cr_assert(eq(int, parse("{\"currentContext\": {}}", &c, err, sizeof err),
	    -1));
	assert_has(err, "\"currentContext\" is object");
	cr_assert(eq(int, parse("{\"credHelpers\": [\"x\"]}", &c, err,
	    sizeof err), -1));
	assert_has(err, "\"credHelpers\" is array");
	cr_assert(eq(int, parse("{\"credHelpers\": {\"a\": \"x\", \"gcr.io\": "
	    "true}}", &c, err, sizeof err), -1));
	assert_has(err, "\"credHelpers\" entry \"gcr.io\" is boolean");
	cr_assert(eq(sz, c.nhelpers, 0), "freed on failure");
	cr_assert(eq(int, parse("{\"credHelpers\": {\"a\\u001bb\": 1}}", &c, err,
	    sizeof err), -1));
	assert_has(err, "entry \"a\\x1bb\" is int");
}

Test(docker_config, nesting_is_bounded)
{
	char text[4 * DOCKER_JSON_DEPTH + 64];
	struct docker_config c;
	char err[512];
	size_t n = 0;
	n += (size_t)snprintf(text + n, sizeof text - n, "{\"a\":");
	for (int i = 0; i < DOCKER_JSON_DEPTH + 2; i++)
		text[n++] = '[';
	for (int i = 0; i < DOCKER_JSON_DEPTH + 2; i++)
		text[n++] = ']';
	snprintf(text + n, sizeof text - n, "}");
	cr_assert(eq(int, parse(text, &c, err, sizeof err), -1));
	assert_has(err, "nest deeper than");
}

Test(docker_config, helpers_are_bounded)
{
	char *text = malloc(64 * 1024);
	size_t n = 0;
	struct docker_config c;
	char err[512];
	n += (size_t)sprintf(text, "{\"credHelpers\": {");
	for (int i = 0; i < DOCKER_HELPERS_MAX + 10; i++)
		n += (size_t)sprintf(text + n, "%s\"r%d\": \"h%d\"", i ? "," : "",
		    i, i);
	sprintf(text + n, "}}");
	cr_assert(eq(int, parse(text, &c, err, sizeof err), 0), "%s", err);
	cr_assert(eq(sz, c.nhelpers, DOCKER_HELPERS_MAX));
	cr_assert(eq(sz, c.helpers_left_out, 10));
	docker_config_free(&c);
	free(text);
}

/* ------------------------------------------------------------------ */
/* Contexts */

Test(docker_context, what_docker_context_create_writes)
{
	struct docker_context ctx;
	char err[512];
	const char *meta = "{\"Name\":\"remote\",\"Metadata\":{\"Description\":"
	    "\"\"},\"Endpoints\":{\"docker\":{\"Host\":\"ssh://me@build\","
	    "\"SkipTLSVerify\":false}}}";
	cr_assert(eq(int, docker_context_parse(meta, strlen(meta), "m", &ctx,
	    err, sizeof err), 0), "%s", err);
	cr_assert_str_eq(ctx.name, "remote");
	cr_assert_str_eq(ctx.host, "ssh://me@build");
	docker_context_free(&ctx);
}

Test(docker_context, endpoints_absent_empty_or_wrong)
{
	struct docker_context ctx;
	char err[512];
	const char *none = "{\"Name\":\"x\",\"Endpoints\":{}}";
	cr_assert(eq(int, docker_context_parse(none, strlen(none), "m", &ctx,
	    err, sizeof err), 0), "%s", err);
	cr_assert_null(ctx.host, "no docker endpoint");
	docker_context_free(&ctx);

	const char *nohost = "{\"Name\":\"x\",\"Endpoints\":{\"docker\":{}}}";
	cr_assert(eq(int, docker_context_parse(nohost, strlen(nohost), "m", &ctx,
	    err, sizeof err), 0), "%s", err);
	cr_assert_str_eq(ctx.host, "", "an endpoint without a host: the default");
	docker_context_free(&ctx);

	const char *bad[] = { "{\"Endpoints\":[]}",
	    "{\"Endpoints\":{\"docker\":\"unix:///x\"}}",
	    "{\"Endpoints\":{\"docker\":{\"Host\":1}}}", "", "[]", "{",
	    "{\"Name\":\"x\"} and more", NULL };
	for (const char **t = bad; *t != NULL; t++) {
		err[0] = '\0';
		cr_assert(eq(int, docker_context_parse(*t, strlen(*t), "meta.json",
		    &ctx, err, sizeof err), -1), "'%s'", *t);
		assert_has(err, "meta.json");
		cr_assert(ctx.name == NULL && ctx.host == NULL);
	}
}

Test(docker_context, the_meta_path_is_the_sha256_of_the_name)
{
	char *p = docker_context_meta_path("/home/u/.docker", "remote");
	cr_assert_str_eq(p, "/home/u/.docker/contexts/meta/b71199ebd070b36beab7"
	    "317920c2c2f1d777df8d05e5527d8458fda57cb17a7a/meta.json");
	free(p);
}

Test(docker_context, unix_hosts)
{
	cr_assert_str_eq(docker_host_unix_path("unix:///run/docker.sock"),
	    "/run/docker.sock");
	cr_assert_null(docker_host_unix_path("tcp://127.0.0.1:2375"));
	cr_assert_null(docker_host_unix_path("ssh://me@host"));
	cr_assert_null(docker_host_unix_path("npipe:////./pipe/docker_engine"));
	cr_assert_null(docker_host_unix_path("unix://relative.sock"));
	cr_assert_null(docker_host_unix_path("/run/docker.sock"));
	cr_assert_null(docker_host_unix_path(NULL));
}

Test(docker_context, helper_names)
{
	cr_assert(docker_helper_name_ok("desktop.exe"));
	cr_assert(docker_helper_name_ok("ecr-login"));
	cr_assert_not(docker_helper_name_ok(""));
	cr_assert_not(docker_helper_name_ok("../../bin/sh"));
	cr_assert_not(docker_helper_name_ok("a\nb"));
	char longname[NAME_MAX + 1];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	cr_assert_not(docker_helper_name_ok(longname));
}

/* ------------------------------------------------------------------ */
/* Decisions */

Test(decisions, wsl_version_from_real_kernels)
{
	cr_assert(eq(int, doctor_wsl_version("Linux version 4.4.0-19041-"
	    "Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) "
	    "#1237-Microsoft Sat Sep 11 14:32:00 PST 2021"), 1));
	cr_assert(eq(int, doctor_wsl_version("Linux version 4.4.0-22621-"
	    "Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) "
	    "#2506-Microsoft Fri Jan 01 08:00:00 PST 2016"), 1));
	cr_assert(eq(int, doctor_wsl_version("Linux version 5.15.153.1-"
	    "microsoft-standard-WSL2 (root@941d701f84f1) (gcc (GCC) 11.2.0, GNU "
	    "ld (GNU Binutils) 2.37) #1 SMP Fri Mar 29 23:14:13 UTC 2024"), 2));
	cr_assert(eq(int, doctor_wsl_version("Linux version 4.19.128-microsoft-"
	    "standard (oe-user@oe-host) (gcc version 8.2.0 (GCC)) #1 SMP Tue "
	    "Jun 23 12:58:10 UTC 2020"), 2), "WSL 2 before the WSL2 suffix");
	cr_assert(eq(int, doctor_wsl_version("Linux version 6.1.0-28-amd64 "
	    "(debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) "
	    "12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)"), 0));
	cr_assert(eq(int, doctor_wsl_version(""), 0));
	cr_assert(eq(int, doctor_wsl_version(NULL), 0));
}

static unsigned
setting(const char *text, const char *var)
{
	return doctor_line_setting(text, strlen(text), var);
}

Test(decisions, a_shell_file_setting_a_variable)
{
	cr_assert(eq(u32, setting("# .bashrc\nalias ll='ls -l'\nexport "
	    "DOCKER_HOST=tcp://localhost:2375\n", "DOCKER_HOST"), 3));
	cr_assert(eq(u32, setting("DOCKER_HOST=tcp://x\n", "DOCKER_HOST"), 1));
	cr_assert(eq(u32, setting("  export PATH=/x DOCKER_HOST\n",
	    "DOCKER_HOST"), 1), "export of a variable set elsewhere");
	cr_assert(eq(u32, setting("declare -x DOCKER_CONTEXT=remote\n",
	    "DOCKER_CONTEXT"), 1));
	cr_assert(eq(u32, setting("setenv DOCKER_HOST tcp://x\n", "DOCKER_HOST"),
	    1), "csh");
	cr_assert(eq(u32, setting("set -gx DOCKER_HOST tcp://x\n",
	    "DOCKER_HOST"), 1), "fish");
	cr_assert(eq(u32, setting("# export DOCKER_HOST=tcp://x\n"
	    "echo $DOCKER_HOST\nMY_DOCKER_HOST=1\nexport DOCKER_HOSTS=2\n"
	    "unset DOCKER_HOST\nexport PATH # DOCKER_HOST\n", "DOCKER_HOST"), 0),
	    "comments, uses, other names and unset do not count");
	cr_assert(eq(u32, setting("", "DOCKER_HOST"), 0));
	cr_assert(eq(u32, setting("a\n\nDOCKER_HOST=1", "DOCKER_HOST"), 3),
	    "a last line without newline");
}

Test(decisions, windows_programs)
{
	const unsigned char pe[] = "MZ\x90\x00\x03";
	const unsigned char elf[] = "\x7f" "ELF";
	const unsigned char sh[] = "#!/bin/sh";
	cr_assert(doctor_is_windows_program(pe, 5));
	cr_assert_not(doctor_is_windows_program(elf, 4));
	cr_assert_not(doctor_is_windows_program(sh, 9));
	cr_assert_not(doctor_is_windows_program(pe, 1));
}

Test(decisions, interop)
{
	const char *on = "enabled\ninterpreter /init\nflags: PF\noffset 0\n"
	    "magic 4d5a\n";
	cr_assert(eq(int, doctor_interop_state(NULL, false, false),
	    DOCTOR_INTEROP_ABSENT));
	cr_assert(eq(int, doctor_interop_state("disabled\ninterpreter /init\n",
	    true, true), DOCTOR_INTEROP_DISABLED));
	cr_assert(eq(int, doctor_interop_state(on, true, false),
	    DOCTOR_INTEROP_STALE));
	cr_assert(eq(int, doctor_interop_state(on, true, true),
	    DOCTOR_INTEROP_OK));
	cr_assert(eq(int, doctor_interop_state(on, false, false),
	    DOCTOR_INTEROP_OK), "unset: init finds the session's own");
}

Test(decisions, the_docker_group)
{
	struct doctor_group_facts g = { .exists = true };
	cr_assert(eq(int, doctor_group_state(&g), DOCTOR_GROUP_OUT));
	g.member = true;
	cr_assert(eq(int, doctor_group_state(&g), DOCTOR_GROUP_LATER),
	    "added after this session began");
	g.in_session = true;
	cr_assert(eq(int, doctor_group_state(&g), DOCTOR_GROUP_OK));
	struct doctor_group_facts none = { .exists = false };
	cr_assert(eq(int, doctor_group_state(&none), DOCTOR_GROUP_NONE));
	struct doctor_group_facts root = { .root = true };
	cr_assert(eq(int, doctor_group_state(&root), DOCTOR_GROUP_OK));
	struct doctor_group_facts open = { .socket_usable = true };
	cr_assert(eq(int, doctor_group_state(&open), DOCTOR_GROUP_OK),
	    "a socket this user can use needs no group");
}

/* ------------------------------------------------------------------ */
/* The bounded reader */

TestSuite(read_file, .init = tmp_root_setup, .fini = tmp_root_teardown);

Test(read_file, bounded_and_regular_files_only)
{
	char p[PATH_MAX], *buf;
	size_t len;

	put_file_in(tmp_root, "small", 0644, "hello");
	snprintf(p, sizeof p, "%s/small", tmp_root);
	cr_assert(eq(int, doctor_read_file(p, 5, &buf, &len), 0));
	cr_assert_str_eq(buf, "hello");
	cr_assert(eq(sz, len, 5));
	free(buf);
	cr_assert(eq(int, doctor_read_file(p, 4, &buf, &len), -1));
	cr_assert(eq(int, errno, EFBIG));
	cr_assert_null(buf);

	snprintf(p, sizeof p, "%s/missing", tmp_root);
	cr_assert(eq(int, doctor_read_file(p, 64, &buf, &len), -1));
	cr_assert(eq(int, errno, ENOENT));

	cr_assert(eq(int, doctor_read_file(tmp_root, 64, &buf, &len), -1));
	cr_assert(eq(int, errno, EINVAL), "a directory");

	/* A FIFO nobody writes to: refused at once, not read (no hang). */
	snprintf(p, sizeof p, "%s/fifo", tmp_root);
	cr_assert(eq(int, mkfifo(p, 0600), 0));
	cr_assert(eq(int, doctor_read_file(p, 64, &buf, &len), -1));
	cr_assert(eq(int, errno, EINVAL));

	/* /proc files say size 0: the bound holds while reading. */
	cr_assert(eq(int, doctor_read_file("/proc/self/maps", 8, &buf, &len),
	    -1));
	cr_assert(eq(int, errno, EFBIG));
}

/* ------------------------------------------------------------------ */
/* The report */

static char *
render(const struct doctor_report *r, bool json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	if (json)
		doctor_print_json(r, f);
	else
		doctor_print_text(r, f);
	fclose(f);
	return text;
}

static void
report_init(struct doctor_report *r)
{
	memset(r, 0, sizeof *r);
	r->user = strdup("dev");
	r->uid = 1000;
	r->distro = strdup("Ubuntu");
}

Test(report, nothing_found_exits_0)
{
	struct doctor_report r;
	report_init(&r);
	r.engine = strdup("26.1.5 at /run/docker.sock");
	char *t = render(&r, false);
	cr_assert_str_eq(t, "wsl-docker-agent doctor: dev in distro Ubuntu: "
	    "nothing found that keeps docker from working (engine 26.1.5 at "
	    "/run/docker.sock).\n");
	cr_assert(eq(int, doctor_exit_status(&r), 0));
	free(t);
	doctor_report_free(&r);
}

Test(report, one_line_a_finding_with_its_fix)
{
	struct doctor_report r;
	report_init(&r);
	doctor_add(&r, "docker-host", "DOCKER_HOST", "tcp://x:2375",
	    "run 'unset DOCKER_HOST'", "DOCKER_HOST is \"%s\"", "tcp://x:2375");
	doctor_add(&r, "agent-problem", NULL, NULL, "see\nabove", "a \x1b[31m "
	    "red %s", "thing");
	doctor_add(&r, "docker-host", "DOCKER_HOST", "tcp://\xff", "unset it",
	    "not UTF-8");
	char *t = render(&r, false);
	cr_assert_str_eq(t, "wsl-docker-agent doctor: dev in distro Ubuntu: 3 "
	    "things to fix:\n"
	    "docker-host: DOCKER_HOST is \"tcp://x:2375\". Fix: run 'unset "
	    "DOCKER_HOST'.\n"
	    "agent-problem: a \\x1b[31m red thing. Fix: see\\x0aabove.\n"
	    "docker-host: not UTF-8. Fix: unset it.\n");
	cr_assert(eq(int, doctor_exit_status(&r), EXIT_FINDINGS));
	free(t);

	t = render(&r, true);
	struct json_object *o = json_tokener_parse(t);
	cr_assert_not_null(o, "%s", t);
	struct json_object *f, *s, *v;
	cr_assert(json_object_object_get_ex(o, "findings", &f));
	cr_assert(eq(sz, json_object_array_length(f), 3));
	cr_assert_str_eq(json_string(json_object_array_get_idx(f, 2),
	    "value"), "tcp://\\xff", "JSON is valid UTF-8, whatever came in");
	struct json_object *f0 = json_object_array_get_idx(f, 0);
	cr_assert_str_eq(json_string(f0, "id"), "docker-host");
	cr_assert_str_eq(json_string(f0, "subject"), "DOCKER_HOST");
	cr_assert_str_eq(json_string(f0, "value"), "tcp://x:2375");
	cr_assert_str_eq(json_string(f0, "fix"), "run 'unset DOCKER_HOST'");
	cr_assert_str_eq(json_string(json_object_array_get_idx(f, 1),
	    "what"), "a \x1b[31m red thing", "JSON carries the text as it is");
	cr_assert(json_object_object_get_ex(o, "summary", &s));
	cr_assert(json_object_object_get_ex(s, "findings", &v));
	cr_assert(eq(int, json_object_get_int(v), 3));
	cr_assert(json_object_object_get_ex(s, "exit_status", &v));
	cr_assert(eq(int, json_object_get_int(v), EXIT_FINDINGS));
	cr_assert(json_object_object_get_ex(s, "ok", &v));
	cr_assert_not(json_object_get_boolean(v));
	cr_assert_str_eq(json_string(o, "user"), "dev");
	json_object_put(o);
	free(t);
	doctor_report_free(&r);
}

Test(report, findings_are_bounded)
{
	struct doctor_report r;
	report_init(&r);
	for (int i = 0; i < DOCTOR_FINDINGS_MAX + 3; i++)
		doctor_add(&r, "agent-problem", NULL, NULL, "fix", "problem %d", i);
	cr_assert(eq(sz, r.n, DOCTOR_FINDINGS_MAX));
	cr_assert(eq(sz, r.left_out, 3));
	char *t = render(&r, false);
	assert_has(t, "67 things to fix");
	assert_has(t, "(and 3 more;");
	free(t);
	doctor_report_free(&r);
}
