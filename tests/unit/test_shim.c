/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI shim: its decisions as plain data (name dispatch, the agent's
 * status, every case with its message and exit code, the credential-helper
 * and plugin answers), its look at a real tree, and then the real program
 * end to end: run through links in a temporary tree, with a configuration
 * named by WSL_DOCKER_AGENT_CONFIG and, where a case needs the agent, a
 * forked stand-in that answers one status request on a unix socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "base/defs.h"
#include "base/text.h"
#include "base/util.h"
#include "wire/protocol.h"
#include "shim.h"
#include "testlib.h"

#define assert_has(s, sub) \
	cr_assert(strstr((s), (sub)) != NULL, "expected \"%s\" in: %s", (sub), (s))
#define assert_lacks(s, sub) \
	cr_assert(strstr((s), (sub)) == NULL, "did not expect \"%s\" in: %s", \
	    (sub), (s))

#define OUTPUT_MAX	(64 * 1024)

/* ------------------------------------------------------------------ */
/* Name dispatch */

static enum shim_kind
kind(const char *argv0, const char *want_name)
{
	const char *name;
	enum shim_kind k = shim_kind_of(argv0, &name);
	if (want_name == NULL)
		cr_assert(name == NULL, "%s: name %s", argv0, name);
	else
		cr_assert(name != NULL && strcmp(name, want_name) == 0,
		    "%s: name %s, expected %s", argv0, name ? name : "(null)",
		    want_name);
	return k;
}

Test(dispatch, docker_cli)
{
	cr_assert(eq(int, kind("docker", "docker"), SHIM_KIND_CLI));
	cr_assert(eq(int, kind("/usr/local/bin/docker", "docker"), SHIM_KIND_CLI));
}

Test(dispatch, credential_helpers)
{
	cr_assert(eq(int, kind("docker-credential-desktop.exe",
	    "docker-credential-desktop.exe"), SHIM_KIND_CREDENTIAL));
	cr_assert(eq(int, kind("/usr/local/bin/docker-credential-pass",
	    "docker-credential-pass"), SHIM_KIND_CREDENTIAL));
}

Test(dispatch, plugins_and_compose)
{
	cr_assert(eq(int, kind("docker-compose", "docker-compose"),
	    SHIM_KIND_PLUGIN));
	cr_assert(eq(int, kind("/usr/local/lib/docker/cli-plugins/docker-buildx",
	    "docker-buildx"), SHIM_KIND_PLUGIN));
	/* The bare prefix names no helper. */
	cr_assert(eq(int, kind("docker-credential-", "docker-credential-"),
	    SHIM_KIND_PLUGIN));
}

Test(dispatch, other_tools)
{
	cr_assert(eq(int, kind("hub-tool", "hub-tool"), SHIM_KIND_TOOL));
	cr_assert(eq(int, kind("docker-", "docker-"), SHIM_KIND_TOOL));
	cr_assert(eq(int, kind("dockerd", "dockerd"), SHIM_KIND_TOOL));
}

Test(dispatch, own_name)
{
	cr_assert(eq(int, kind("wsl-docker-shim", "wsl-docker-shim"),
	    SHIM_KIND_SELF));
	cr_assert(eq(int, kind("/usr/libexec/wsl-docker-agent/wsl-docker-shim",
	    "wsl-docker-shim"), SHIM_KIND_SELF));
}

Test(dispatch, unusable_names)
{
	char longname[NAME_MAX_LEN + 2];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';

	cr_assert(eq(int, kind(NULL, NULL), SHIM_KIND_INVALID));
	cr_assert(eq(int, kind("", NULL), SHIM_KIND_INVALID));
	cr_assert(eq(int, kind("/usr/bin/", NULL), SHIM_KIND_INVALID));
	cr_assert(eq(int, kind("..", NULL), SHIM_KIND_INVALID));
	cr_assert(eq(int, kind("dock\ner", NULL), SHIM_KIND_INVALID));
	cr_assert(eq(int, kind(longname, NULL), SHIM_KIND_INVALID));
	longname[NAME_MAX_LEN] = '\0';
	cr_assert(eq(int, kind(longname, longname), SHIM_KIND_TOOL));
}

/* ------------------------------------------------------------------ */
/* The agent's status, in the shape agent_status_json() gives it */

static const char status_running[] =
	"{\"agent\":{\"version\":\"0.1.0\",\"pid\":42,\"distro\":\"Ubuntu-22.04\","
	"\"config_file\":null,\"disabled\":false,\"watches\":3},"
	"\"desktop\":{\"dir\":\"/mnt/wsl/docker-desktop\",\"present\":true,"
	"\"cli_tools\":true,\"engine_socket\":true,\"engine_socket_path\":"
	"\"/mnt/wsl/docker-desktop/shared-sockets/guest-services/"
	"docker.proxy.sock\"},\"links\":[],\"healthy\":true,\"problems\":[]}";

static struct shim_status
parse(const char *json)
{
	struct shim_status st;
	shim_status_parse(json, &st);
	return st;
}

Test(status, running_agent)
{
	struct shim_status st = parse(status_running);
	cr_assert(st.valid);
	cr_assert(not(st.disabled));
	cr_assert(st.desktop_present);
	cr_assert(st.cli_tools);
	cr_assert(eq(str, st.distro, "Ubuntu-22.04"));
	cr_assert(eq(str, st.desktop_dir, "/mnt/wsl/docker-desktop"));
}

Test(status, disabled_and_absent)
{
	struct shim_status st = parse("{\"agent\":{\"disabled\":true},"
	    "\"desktop\":{\"present\":false,\"cli_tools\":false}}");
	cr_assert(st.valid);
	cr_assert(st.disabled);
	cr_assert(not(st.desktop_present));
	cr_assert(not(st.cli_tools));
	cr_assert(eq(str, st.distro, ""));
	cr_assert(eq(str, st.desktop_dir, ""));
}

Test(status, not_a_status)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[1,2]",
		"{\"ok\":false,\"error\":\"bad-json\",\"message\":\"x\"}",
		"{\"agent\":{\"disabled\":\"no\"},\"desktop\":{\"present\":true,"
		    "\"cli_tools\":true}}",
		"{\"agent\":{\"disabled\":false},\"desktop\":{\"present\":true}}",
		"{\"agent\":[],\"desktop\":{\"present\":true,\"cli_tools\":true}}",
		"{\"agent\":{\"disabled\":false},\"desktop\":{\"present\":true,"
		    "\"cli_tools\":true}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		NULL
	};
	for (size_t i = 0; bad[i] != NULL; i++)
		cr_assert(not(parse(bad[i]).valid), "accepted: %s", bad[i]);
	cr_assert(not(parse(NULL).valid));
}

Test(status, long_strings_cut)
{
	char json[8192];
	char distro[1000];
	memset(distro, 'd', sizeof distro - 1);
	distro[sizeof distro - 1] = '\0';
	snprintf(json, sizeof json, "{\"agent\":{\"disabled\":true,\"distro\":"
	    "\"%s\"},\"desktop\":{\"present\":true,\"cli_tools\":true}}", distro);
	struct shim_status st = parse(json);
	cr_assert(st.valid);
	cr_assert(eq(sz, strlen(st.distro), sizeof st.distro - 1));
}

/* ------------------------------------------------------------------ */
/* Every case: message and exit code */

static struct shim_decision
decide(const struct shim_status *st, const char *name,
    const struct shim_facts *f)
{
	struct shim_decision d;
	memset(&d, 0, sizeof d);
	shim_decide(st, name, f, &d);
	cr_assert(strchr(d.message, '\n') == NULL, "one line: %s", d.message);
	size_t len = strlen(d.message), hint = strlen(SHIM_DOCTOR_HINT);
	cr_assert(len > hint && strcmp(d.message + len - hint,
	    SHIM_DOCTOR_HINT) == 0, "ends by pointing to doctor: %s", d.message);
	return d;
}

Test(decide, agent_down_with_systemd)
{
	struct shim_facts f = { .desktop_present = true, .systemd = true };
	struct shim_decision d = decide(NULL, "docker", &f);
	cr_assert(eq(int, d.kase, SHIM_CASE_AGENT_DOWN));
	cr_assert(eq(int, d.exit_code, 76));
	cr_assert(eq(str, (char *)shim_case_name(d.kase), "agent-down"));
	cr_assert(eq(str, d.message, "docker: the wsl-docker-agent service is "
	    "not running, so Docker Desktop's tools are not linked into this "
	    "distro. Start it with 'sudo systemctl start wsl-docker-agent'. To "
	    "check the rest of your setup, run 'wsl-docker-agent doctor'."));
	assert_lacks(d.message, "wsl.conf");
	assert_lacks(d.message, "Docker Desktop may not be running");
}

Test(decide, agent_down_without_systemd)
{
	struct shim_facts f = { .desktop_present = true, .systemd = false };
	struct shim_decision d = decide(NULL, "docker", &f);
	cr_assert(eq(int, d.exit_code, SHIM_EXIT_AGENT_DOWN));
	assert_has(d.message, "'sudo wsl-docker-agent start'");
	assert_has(d.message, "[boot] in /etc/wsl.conf");
	assert_lacks(d.message, "systemctl");
}

Test(decide, agent_down_says_why)
{
	struct shim_facts f = { .desktop_present = true, .systemd = true,
	    .agent_error = "the agent did not answer within 5 s" };
	struct shim_decision d = decide(NULL, "docker", &f);
	cr_assert(eq(int, d.exit_code, SHIM_EXIT_AGENT_DOWN));
	assert_has(d.message, "docker: the wsl-docker-agent service is not "
	    "running (the agent did not answer within 5 s), so ");
}

Test(decide, agent_down_and_desktop_absent)
{
	struct shim_facts f = { .desktop_present = false, .systemd = true };
	struct shim_decision d = decide(NULL, "docker-compose", &f);
	cr_assert(eq(int, d.exit_code, SHIM_EXIT_AGENT_DOWN));
	assert_has(d.message, "docker-compose: ");
	assert_has(d.message, "Docker Desktop may not be running either");
}

Test(decide, agent_answers_garbage)
{
	struct shim_status st = parse("{\"ok\":false}");
	struct shim_facts f = { .desktop_present = true, .systemd = true };
	struct shim_decision d = decide(&st, "docker", &f);
	cr_assert(eq(int, d.kase, SHIM_CASE_AGENT_DOWN));
	cr_assert(eq(int, d.exit_code, 76));
	assert_has(d.message, "answered, but not with its status");
	assert_has(d.message, "systemctl restart wsl-docker-agent");
}

Test(decide, bad_config_explains_a_silent_agent)
{
	struct shim_facts f = { .systemd = false,
	    .config_error = "/etc/wsl-docker-agent/config.json: line 2: oops" };
	struct shim_decision d = decide(NULL, "docker", &f);
	cr_assert(eq(int, d.kase, SHIM_CASE_BAD_CONFIG));
	cr_assert(eq(int, d.exit_code, 78));
	assert_has(d.message, "line 2: oops");
	assert_has(d.message, "'sudo wsl-docker-agent start'");

	/* A running agent is asked regardless of what the file says now. */
	struct shim_status st = parse(status_running);
	st.cli_tools = false;
	d = decide(&st, "docker", &f);
	cr_assert(eq(int, d.kase, SHIM_CASE_DESKTOP_DOWN));
}

Test(decide, integration_off)
{
	struct shim_status st = parse(status_running);
	st.disabled = true;
	struct shim_facts f = { .desktop_present = true, .distro = "fallback" };
	struct shim_decision d = decide(&st, "docker", &f);
	cr_assert(eq(int, d.kase, SHIM_CASE_INTEGRATION_OFF));
	cr_assert(eq(int, d.exit_code, 77));
	assert_has(d.message, "docker: WSL integration with Docker Desktop is "
	    "off for this distro");
	assert_has(d.message, "Settings > Resources > WSL integration > "
	    "Ubuntu-22.04");
	assert_has(d.message, "'sudo wsl-docker-agent enable'");

	/* The agent's name for the distro wins; else the configuration's. */
	st.distro[0] = '\0';
	d = decide(&st, "docker", &f);
	assert_has(d.message, "WSL integration > fallback,");
	f.distro = NULL;
	d = decide(&st, "docker", &f);
	assert_has(d.message, "WSL integration > this distro,");
}

Test(decide, desktop_not_running)
{
	struct shim_status st = parse(status_running);
	st.desktop_present = false;
	st.cli_tools = false;
	struct shim_facts f = { 0 };
	struct shim_decision d = decide(&st, "docker", &f);
	cr_assert(eq(int, d.kase, SHIM_CASE_DESKTOP_DOWN));
	cr_assert(eq(int, d.exit_code, 69));
	cr_assert(eq(str, d.message, "docker: Docker Desktop is not running. "
	    "Start Docker Desktop, then run this again." SHIM_DOCTOR_HINT));
}

Test(decide, desktop_cli_not_mounted)
{
	struct shim_status st = parse(status_running);
	st.cli_tools = false;
	struct shim_facts f = { 0 };
	struct shim_decision d = decide(&st, "docker", &f);
	cr_assert(eq(int, d.kase, SHIM_CASE_DESKTOP_DOWN));
	cr_assert(eq(int, d.exit_code, 69));
	assert_has(d.message, "docker: Docker Desktop is not running (its CLI "
	    "tools are not mounted");
	assert_has(d.message, "Start Docker Desktop");
}

Test(decide, no_such_tool)
{
	struct shim_status st = parse(status_running);
	struct shim_facts f = { .desktop_present = true };
	struct shim_decision d = decide(&st, "hub-tool", &f);
	cr_assert(eq(int, d.kase, SHIM_CASE_NO_TOOL));
	cr_assert(eq(int, d.exit_code, 127));
	cr_assert(eq(str, d.message, "hub-tool: this Docker Desktop version has "
	    "no hub-tool. Update Docker Desktop, or install hub-tool in this "
	    "distro." SHIM_DOCTOR_HINT));
}

Test(decide, refused_tool_needs_no_agent)
{
	struct shim_facts f = { .desktop_present = true,
	    .refused = "/x/cli-tools/usr/bin/docker is not executable" };
	struct shim_decision d = decide(NULL, "docker", &f);
	cr_assert(eq(int, d.kase, SHIM_CASE_TOOL_REFUSED));
	cr_assert(eq(int, d.exit_code, 126));
	assert_has(d.message, "docker: Docker Desktop's docker cannot be run: "
	    "/x/cli-tools/usr/bin/docker is not executable.");
}

Test(decide, the_pointer_to_doctor_survives_a_long_reason)
{
	char why[SHIM_MESSAGE_MAX * 2];
	memset(why, 'x', sizeof why - 1);
	why[sizeof why - 1] = '\0';
	/* A multi-byte character where the cut falls is not split. */
	memcpy(why + SHIM_MESSAGE_MAX - 200, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8);
	struct shim_facts f = { .systemd = true, .agent_error = why };
	struct shim_decision d = decide(NULL, "docker", &f);
	assert_has(d.message, "...");
	cr_assert(eq(sz, strlen(d.message), SHIM_MESSAGE_MAX - 1));
	size_t bad;
	cr_assert(text_utf8_valid(d.message, strlen(d.message), &bad),
	    "cut at byte %zu", bad);
	struct shim_facts g = { .systemd = true, .config_error = why };
	d = decide(NULL, "docker", &g);
	cr_assert(eq(int, d.exit_code, SHIM_EXIT_BAD_CONFIG));
	for (int shift = 0; shift < 4; shift++) {
		char m[64];
		memset(m, 'a', sizeof m);
		memcpy(m + 20 + shift, "\xe2\x82\xac", 3);	/* a euro sign */
		m[sizeof m - 1] = '\0';
		char msg[sizeof m + 8 + sizeof SHIM_DOCTOR_HINT];
		snprintf(msg, sizeof msg, "%s", m);
		shim_end_with_doctor(msg, 24 + sizeof SHIM_DOCTOR_HINT);
		cr_assert(text_utf8_valid(msg, strlen(msg), &bad), "%d: %s",
		    shift, msg);
		assert_has(msg, "..." SHIM_DOCTOR_HINT);
	}
}

/* That the exit codes are distinct is a _Static_assert in shim.h. */

/* ------------------------------------------------------------------ */
/* Credential helpers and plugins */

static enum shim_cred_action
action(const char *arg)
{
	char *argv[] = { (char *)"docker-credential-desktop.exe", (char *)arg,
	    NULL };
	return shim_cred_action_of(arg != NULL ? 2 : 1, argv);
}

Test(credential, actions)
{
	cr_assert(eq(int, action("get"), SHIM_CRED_GET));
	cr_assert(eq(int, action("store"), SHIM_CRED_STORE));
	cr_assert(eq(int, action("erase"), SHIM_CRED_ERASE));
	cr_assert(eq(int, action("list"), SHIM_CRED_LIST));
	cr_assert(eq(int, action("version"), SHIM_CRED_VERSION));
	cr_assert(eq(int, action("GET"), SHIM_CRED_USAGE));
	cr_assert(eq(int, action(NULL), SHIM_CRED_USAGE));
	cr_assert(shim_cred_reads_stdin(SHIM_CRED_GET));
	cr_assert(shim_cred_reads_stdin(SHIM_CRED_STORE));
	cr_assert(shim_cred_reads_stdin(SHIM_CRED_ERASE));
	cr_assert(not(shim_cred_reads_stdin(SHIM_CRED_LIST)));
	cr_assert(not(shim_cred_reads_stdin(SHIM_CRED_VERSION)));
	cr_assert(shim_cred_needs_cause(SHIM_CRED_STORE));
	cr_assert(shim_cred_needs_cause(SHIM_CRED_ERASE));
	cr_assert(not(shim_cred_needs_cause(SHIM_CRED_GET)));
}

static int
answer(enum shim_cred_action a, const char *cause, char *out)
{
	return shim_cred_answer(a, "docker-credential-desktop.exe", cause, out,
	    SHIM_ANSWER_MAX);
}

Test(credential, get_is_not_found)
{
	char out[SHIM_ANSWER_MAX];
	cr_assert(eq(int, answer(SHIM_CRED_GET, "ignored", out), 1));
	cr_assert(eq(str, out, "credentials not found in native keychain\n"));
}

Test(credential, list_is_empty)
{
	char out[SHIM_ANSWER_MAX];
	cr_assert(eq(int, answer(SHIM_CRED_LIST, NULL, out), 0));
	cr_assert(eq(str, out, "{}\n"));
}

Test(credential, store_and_erase_name_the_cause)
{
	char out[SHIM_ANSWER_MAX];
	const char *cause = "docker-credential-desktop.exe: Docker Desktop is "
	    "not running. Start Docker Desktop, then run this again.";
	cr_assert(eq(int, answer(SHIM_CRED_STORE, cause, out), 1));
	assert_has(out, cause);
	cr_assert(eq(int, answer(SHIM_CRED_ERASE, cause, out), 1));
	assert_has(out, cause);
	cr_assert(eq(int, answer(SHIM_CRED_STORE, NULL, out), 1));
	assert_has(out, "credential store is not available");
}

Test(credential, version_and_usage)
{
	char out[SHIM_ANSWER_MAX];
	cr_assert(eq(int, answer(SHIM_CRED_VERSION, NULL, out), 0));
	cr_assert(eq(str, out, "docker-credential-desktop.exe (wsl-docker-shim) "
	    PACKAGE_VERSION "\n"));
	cr_assert(eq(int, answer(SHIM_CRED_USAGE, NULL, out), 1));
	assert_has(out, "Usage: docker-credential-desktop.exe "
	    "<store|get|erase|list|version>");
}

/* What the docker CLI checks of a plugin's metadata. */
static void
assert_plugin_metadata(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	cr_assert(o != NULL, "not JSON: %s", text);
	struct json_object *v;
	cr_assert(json_object_object_get_ex(o, "SchemaVersion", &v));
	cr_assert(eq(str, (char *)json_object_get_string(v), "0.1.0"));
	cr_assert(json_object_object_get_ex(o, "Vendor", &v));
	cr_assert(gt(sz, strlen(json_object_get_string(v)), 0));
	cr_assert(json_object_object_get_ex(o, "ShortDescription", &v));
	assert_has(json_object_get_string(v), "Docker Desktop is not running");
	json_object_put(o);
}

Test(plugin, metadata)
{
	char *yes[] = { (char *)"docker-buildx",
	    (char *)"docker-cli-plugin-metadata", NULL };
	char *no[] = { (char *)"docker-buildx", (char *)"buildx", NULL };
	cr_assert(shim_is_metadata_request(2, yes));
	cr_assert(not(shim_is_metadata_request(2, no)));
	cr_assert(not(shim_is_metadata_request(1, yes)));
	char out[SHIM_ANSWER_MAX];
	shim_plugin_metadata(out, sizeof out);
	assert_plugin_metadata(out);
}

/* ------------------------------------------------------------------ */
/* A temporary tree: Docker Desktop's, a bin dir of links, a config */

static struct {
	char	 dir[64];
	char	 desktop[128];
	char	 bin_tools[192];	/* desktop/cli-tools/usr/bin */
	char	 bin[128];		/* the links to the shim */
	char	 config[128];
	char	 socket[128];		/* control_socket */
} t;

static void
make_dirs(const char *path)
{
	cr_assert(eq(int, util_mkdir_p(path, 0755), 0), "%s: %s", path,
	    strerror(errno));
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert(eq(sz, (size_t)write(fd, text, strlen(text)), strlen(text)));
	cr_assert(eq(int, fchmod(fd, mode), 0));
	cr_assert(eq(int, close(fd), 0));
}

static void
write_config(const char *desktop_dir, const char *control_socket)
{
	char json[1024];
	/* socket.path too: the machine's own /run/docker.sock must not count. */
	snprintf(json, sizeof json, "{\"desktop_dir\": \"%s\", "
	    "\"control_socket\": \"%s\", \"distro\": \"testdistro\", "
	    "\"socket\": {\"path\": \"%s.engine\"}}\n",
	    desktop_dir, control_socket, control_socket);
	write_file(t.config, json, 0644);
}

/* The real tool: its pid, its parent's, its arguments, then its stdin. */
static const char tool_script[] =
	"#!/bin/sh\n"
	"echo \"pid=$$\"\n"
	"echo \"ppid=$PPID\"\n"
	"echo \"argc=$#\"\n"
	"for a in \"$@\"; do printf 'arg=%s\\n' \"$a\"; done\n"
	"echo stdin:\n"
	"cat\n"
	"exit 3\n";

static void
tree_tool(const char *subdir, const char *name, const char *script)
{
	char dir[256], path[320];
	snprintf(dir, sizeof dir, "%s/%s", t.desktop, subdir);
	make_dirs(dir);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	write_file(path, script, 0755);
}

static void
tree_link(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", t.bin, name);
	cr_assert(eq(int, symlink(SHIM_BUILD_PATH, path), 0), "%s: %s", path,
	    strerror(errno));
}

static void
tree_setup(void)
{
	snprintf(t.dir, sizeof t.dir, "/tmp/test-shim.XXXXXX");
	cr_assert(mkdtemp(t.dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(t.desktop, sizeof t.desktop, "%s/docker-desktop", t.dir);
	snprintf(t.bin_tools, sizeof t.bin_tools, "%s/cli-tools/usr/bin",
	    t.desktop);
	snprintf(t.bin, sizeof t.bin, "%s/bin", t.dir);
	snprintf(t.config, sizeof t.config, "%s/config.json", t.dir);
	snprintf(t.socket, sizeof t.socket, "%s/control.sock", t.dir);
	trusted_tree_up(t.dir, t.desktop);
	make_dirs(t.bin_tools);
	make_dirs(t.bin);
	write_config(t.desktop, t.socket);
	cr_assert(eq(int, setenv(SHIM_CONFIG_ENV, t.config, 1), 0));
	/* A child that dies early must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
}

static void
tree_teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", t.dir);
	if (t.dir[0] != '\0')
		trusted_tree_down(t.dir);
	if (t.dir[0] != '\0' && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", t.dir);
}

/* ------------------------------------------------------------------ */
/* The real tree, looked at the way the agent does */

TestSuite(find, .init = tree_setup, .fini = tree_teardown);

static int
find(const char *desktop, const char *name, char **path, char *why)
{
	int fd = -1;
	why[0] = '\0';
	int r = shim_find_tool(desktop, name, path, &fd, why, 512);
	cr_assert(eq(int, r > 0, fd >= 0), "a descriptor exactly when found");
	if (fd >= 0)
		close(fd);
	return r;
}

Test(find, tool_in_usr_bin)
{
	char why[512], *path;
	tree_tool("cli-tools/usr/bin", "docker", tool_script);
	cr_assert(eq(int, find(t.desktop, "docker", &path, why), 1), "%s", why);
	char want[256];
	snprintf(want, sizeof want, "%s/docker", t.bin_tools);
	cr_assert(eq(str, path, want));
	free(path);
}

Test(find, absent)
{
	char why[512], *path;
	cr_assert(eq(int, find(t.desktop, "docker", &path, why), 0));
	cr_assert(path == NULL);
	cr_assert(eq(int, find("/nonexistent/desktop", "docker", &path, why), 0));
}

Test(find, plugins_in_each_plugin_dir)
{
	char why[512], *path;
	static const char *const dirs[] = {
		"cli-tools/usr/lib/docker/cli-plugins",
		"cli-tools/usr/libexec/docker/cli-plugins",
		"cli-tools/usr/local/lib/docker/cli-plugins", NULL };
	for (size_t i = 0; dirs[i] != NULL; i++) {
		char name[32];
		snprintf(name, sizeof name, "docker-p%zu", i);
		tree_tool(dirs[i], name, tool_script);
		cr_assert(eq(int, find(t.desktop, name, &path, why), 1), "%s: %s",
		    name, why);
		assert_has(path, dirs[i]);
		free(path);
	}
	/* Plugin directories hold only docker-* tools. */
	tree_tool(dirs[0], "hub-tool", tool_script);
	cr_assert(eq(int, find(t.desktop, "hub-tool", &path, why), 0));
}

Test(find, not_executable_refused)
{
	char why[512], *path;
	tree_tool("cli-tools/usr/bin", "docker", "#!/bin/sh\n");
	char p[256];
	snprintf(p, sizeof p, "%s/docker", t.bin_tools);
	cr_assert(eq(int, chmod(p, 0644), 0));
	cr_assert(eq(int, find(t.desktop, "docker", &path, why), -1));
	cr_assert(path == NULL);
	assert_has(why, "is not executable");
	assert_lacks(why, "refused");
}

Test(find, link_out_of_the_tree_refused)
{
	char why[512], *path, p[256];
	snprintf(p, sizeof p, "%s/docker", t.bin_tools);
	cr_assert(eq(int, symlink("/bin/sh", p), 0));
	cr_assert(eq(int, find(t.desktop, "docker", &path, why), -1));
	assert_has(why, "symbolic link");
	/* A good plugin elsewhere still wins over a refused one. */
	snprintf(p, sizeof p, "%s/docker-compose", t.bin_tools);
	cr_assert(eq(int, symlink("/bin/sh", p), 0));
	tree_tool("cli-tools/usr/lib/docker/cli-plugins", "docker-compose",
	    tool_script);
	cr_assert(eq(int, find(t.desktop, "docker-compose", &path, why), 1),
	    "%s", why);
	assert_has(path, "cli-plugins/docker-compose");
	free(path);
}

Test(find, executes_the_checked_file_not_a_swapped_one)
{
	/* Checked, then replaced by root's update: the checked one runs. */
	char why[512], *path, p[256], tmp[264];
	int fd;
	tree_tool("cli-tools/usr/bin", "docker", "#!/bin/sh\necho checked\n");
	cr_assert(eq(int, shim_find_tool(t.desktop, "docker", &path, &fd, why,
	    sizeof why), 1), "%s", why);
	snprintf(p, sizeof p, "%s/docker", t.bin_tools);
	snprintf(tmp, sizeof tmp, "%s.new", p);
	write_file(tmp, "#!/bin/sh\necho swapped\n", 0755);
	cr_assert(eq(int, rename(tmp, p), 0));
	int pfd[2];
	cr_assert(eq(int, pipe(pfd), 0));
	pid_t pid = fork();
	cr_assert(ge(int, pid, 0));
	if (pid == 0) {
		char *argv[] = { (char *)"docker", NULL };
		dup2(pfd[1], STDOUT_FILENO);
		(void)shim_fexec(fd, argv);
		_exit(99);
	}
	close(pfd[1]);
	char out[64] = "";
	ssize_t n = read(pfd[0], out, sizeof out - 1);
	out[n > 0 ? n : 0] = '\0';
	int st;
	cr_assert(eq(int, waitpid(pid, &st, 0), pid));
	cr_assert(eq(str, out, "checked\n"), "ran: '%s' (status %d)", out, st);
	close(pfd[0]);
	close(fd);
	free(path);
}

Test(find, a_tree_an_ordinary_user_made_is_refused)
{
	char why[512], *path;
	tree_tool("cli-tools/usr/bin", "docker", tool_script);
	cr_assert(eq(int, chown(t.desktop, 1000, 1000), 0));
	cr_assert(eq(int, find(t.desktop, "docker", &path, why), -1));
	assert_has(why, "owned by uid 1000, not root");
	cr_assert(path == NULL);
}

Test(decide, untrusted_tree_is_refused_not_desktop_down)
{
	struct shim_status st;
	shim_status_parse("{\"agent\":{\"disabled\":false},\"desktop\":{"
	    "\"present\":true,\"cli_tools\":false,\"untrusted\":"
	    "\"/mnt/wsl/docker-desktop is owned by uid 1000, not root\"}}", &st);
	cr_assert(st.valid);
	struct shim_facts f = { .systemd = true };
	struct shim_decision d;
	shim_decide(&st, "docker", &f, &d);
	cr_assert(eq(int, d.exit_code, SHIM_EXIT_TOOL_REFUSED));
	assert_has(d.message, "not trusted");
	assert_has(d.message, "owned by uid 1000");
}

/* ------------------------------------------------------------------ */
/* End to end: the built shim, through links */

struct run {
	pid_t	 pid;
	int	 code;		/* exit status, or 128 + signal */
	char	 out[OUTPUT_MAX];
	char	 err[OUTPUT_MAX];
};

static void
drain(int fds[2], char *bufs[2])
{
	size_t used[2] = { 0, 0 };
	bool open_[2] = { true, true };
	while (open_[0] || open_[1]) {
		struct pollfd p[2] = { { .fd = open_[0] ? fds[0] : -1,
		    .events = POLLIN }, { .fd = open_[1] ? fds[1] : -1,
		    .events = POLLIN } };
		int r = poll(p, 2, 10000);
		cr_assert(gt(int, r, 0), "the shim neither wrote nor exited");
		for (int i = 0; i < 2; i++) {
			if (!open_[i] || p[i].revents == 0)
				continue;
			ssize_t n = read(fds[i], bufs[i] + used[i],
			    OUTPUT_MAX - 1 - used[i]);
			cr_assert(ge(int, (int)n, 0), "read: %s", strerror(errno));
			if (n == 0) {
				open_[i] = false;
				close(fds[i]);
			}
			used[i] += (size_t)n;
			bufs[i][used[i]] = '\0';
		}
	}
}

/* Run `path' with argv (argv[0] as a shell passes it), feeding `input'. */
static void
run_path(struct run *r, const char *path, char *const argv[],
    const char *input)
{
	int in[2], out[2], err[2];
	cr_assert(eq(int, pipe2(in, O_CLOEXEC), 0));
	cr_assert(eq(int, pipe2(out, O_CLOEXEC), 0));
	cr_assert(eq(int, pipe2(err, O_CLOEXEC), 0));
	r->pid = fork();
	cr_assert(ge(int, r->pid, 0), "fork: %s", strerror(errno));
	if (r->pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(err[1], 2) < 0)
			_exit(125);
		execv(path, argv);
		_exit(125);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	size_t len = input != NULL ? strlen(input) : 0;
	if (len > 0) {	/* small: fits in the pipe, never blocks */
		/* A tool that exits without reading leaves EPIPE: fine. */
		ssize_t w = write(in[1], input, len);
		cr_assert(w == (ssize_t)len || (w < 0 && errno == EPIPE),
		    "writing the tool's input: %s", strerror(errno));
	}
	close(in[1]);
	int fds[2] = { out[0], err[0] };
	char *bufs[2] = { r->out, r->err };
	drain(fds, bufs);
	int status;
	cr_assert(eq(int, waitpid(r->pid, &status, 0), r->pid));
	r->code = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
}

/* Run the link bin/NAME as a shell would: argv[0] is what was typed. */
static void
run_link(struct run *r, const char *name, char *const args[],
    const char *input)
{
	char path[256];
	char *argv[16];
	size_t n = 0;
	snprintf(path, sizeof path, "%s/%s", t.bin, name);
	argv[n++] = (char *)name;
	for (size_t i = 0; args != NULL && args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	run_path(r, path, argv, input);
}

static void
assert_no_children_left(void)
{
	errno = 0;
	cr_assert(eq(int, waitpid(-1, NULL, WNOHANG), -1));
	cr_assert(eq(int, errno, ECHILD), "a child process is left behind");
}

/* With an agent that answers: a child serving one status or ping request */

struct fake_agent {
	pid_t	pid;
	int	served;	/* read end: the child writes 'S' once it has a request */
};

static void
fake_agent_serve(int lfd, int served, const char *reply)
{
	int c = accept(lfd, NULL, NULL);
	if (c < 0)
		_exit(1);
	char buf[CONTROL_MAX_LINE + 1];
	size_t used = 0;
	while (used < sizeof buf && memchr(buf, '\n', used) == NULL) {
		ssize_t n = read(c, buf + used, sizeof buf - used);
		if (n <= 0)
			_exit(1);
		used += (size_t)n;
	}
	static const char status[] = "{\"request\":\"status\"}\n";
	static const char ping[] = "{\"request\":\"ping\"}\n";
	if ((used != sizeof status - 1 || memcmp(buf, status, used) != 0) &&
	    (used != sizeof ping - 1 || memcmp(buf, ping, used) != 0))
		_exit(2);
	/* Said before the reply, so the test knows it was asked. */
	if (write(served, "S", 1) != 1)
		_exit(1);
	size_t len = strlen(reply);
	if (write(c, reply, len) != (ssize_t)len || write(c, "\n", 1) != 1)
		_exit(1);
	_exit(0);
}

static struct fake_agent
fake_agent_start(const char *reply)
{
	(void)unlink(t.socket);
	int lfd = unix_listen(t.socket, 4);
	int p[2];
	cr_assert(eq(int, pipe2(p, O_CLOEXEC), 0));
	struct fake_agent a = { .pid = fork() };
	cr_assert(ge(int, a.pid, 0));
	if (a.pid == 0) {
		close(p[0]);
		fake_agent_serve(lfd, p[1], reply);
	}
	close(lfd);
	close(p[1]);
	a.served = p[0];
	return a;
}

/* Stop the stand-in; true if it was asked for the status. */
static bool
fake_agent_stop(struct fake_agent *a)
{
	char c = 0;
	(void)kill(a->pid, SIGKILL);
	cr_assert(eq(int, waitpid(a->pid, NULL, 0), a->pid));
	bool asked = read(a->served, &c, 1) == 1 && c == 'S';
	close(a->served);
	return asked;
}

/* The agent is up: a shim that finds the tool runs it. */
static struct fake_agent
agent_up(void)
{
	return fake_agent_start("{\"ok\":true}");
}

TestSuite(e2e, .init = tree_setup, .fini = tree_teardown, .timeout = 60);

Test(e2e, execs_the_real_tool_transparently)
{
	static struct run r;
	char *args[] = {
		"hello world",
		"it's \"quoted\" \\ and $HOME `x`",
		"ünïcødé ✓ 🐳 日本語",
		"",
		"--format={{.Names}}\t|",
		"-",
		NULL
	};
	const char *input = "line one\n€ two\nno newline at the end";
	tree_tool("cli-tools/usr/bin", "docker", tool_script);
	tree_link("docker");
	struct fake_agent a = agent_up();
	run_link(&r, "docker", args, input);
	cr_assert(fake_agent_stop(&a), "the shim did not check the agent");

	char want[OUTPUT_MAX];
	size_t o = (size_t)snprintf(want, sizeof want,
	    "pid=%ld\nppid=%ld\nargc=6\n", (long)r.pid, (long)getpid());
	for (size_t i = 0; args[i] != NULL; i++)
		o += (size_t)snprintf(want + o, sizeof want - o, "arg=%s\n",
		    args[i]);
	snprintf(want + o, sizeof want - o, "stdin:\n%s", input);
	/* Same pid, same parent: exec'd in place, nothing forked. */
	cr_assert(eq(str, r.out, want));
	cr_assert(eq(str, r.err, ""));
	cr_assert(eq(int, r.code, 3));
	assert_no_children_left();
}

Test(e2e, signal_death_shows_through)
{
	/* The tool is the process the caller waits for: its death is seen. */
	static struct run r;
	tree_tool("cli-tools/usr/bin", "docker", "#!/bin/sh\nkill -TERM $$\n");
	tree_link("docker");
	struct fake_agent a = agent_up();
	run_link(&r, "docker", NULL, NULL);
	fake_agent_stop(&a);
	cr_assert(eq(int, r.code, 128 + SIGTERM));
	assert_no_children_left();
}

Test(e2e, agent_not_running)
{
	static struct run r;
	char *args[] = { "ps", NULL };
	tree_link("docker");
	run_link(&r, "docker", args, NULL);
	cr_assert(eq(int, r.code, 76), "stderr: %s", r.err);
	cr_assert(eq(str, r.out, ""));
	assert_has(r.err, "docker: the wsl-docker-agent service is not running "
	    "(cannot reach the agent at ");
	assert_has(r.err, "control.sock: No such file or directory), so ");
	assert_has(r.err, sd_booted() > 0 ?
	    "'sudo systemctl start wsl-docker-agent'" :
	    "'sudo wsl-docker-agent start'");
	assert_lacks(r.err, "Docker Desktop may not be running");
	/* One message, one line. */
	cr_assert(eq(ptr, strchr(r.err, '\n'), r.err + strlen(r.err) - 1));

	/* Without Docker Desktop's tree either, that is said too. */
	char cmd[256];
	snprintf(cmd, sizeof cmd, "%s/cli-tools", t.desktop);
	cr_assert(eq(int, umount2(cmd, MNT_DETACH), 0));
	snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", t.desktop);
	cr_assert(eq(int, system(cmd), 0));
	run_link(&r, "docker", args, NULL);
	cr_assert(eq(int, r.code, 76));
	assert_has(r.err, "Docker Desktop may not be running either");
}

Test(e2e, tool_present_but_agent_down_explains)
{
	/* No agent means no /run/docker.sock: say so rather than run docker. */
	static struct run r;
	tree_tool("cli-tools/usr/bin", "docker", tool_script);
	tree_link("docker");
	run_link(&r, "docker", NULL, NULL);
	cr_assert(eq(int, r.code, 76), "stderr: %s", r.err);
	assert_has(r.err, "wsl-docker-agent service is not running");
	cr_assert(eq(str, r.out, ""), "the tool must not have run");
}

Test(e2e, tool_present_and_socket_served_runs_the_tool)
{
	/* systemd's .socket unit holds socket.path while the agent is down. */
	static struct run r;
	char path[300];
	snprintf(path, sizeof path, "%s.engine", t.socket);
	int lfd = unix_listen(path, 4);
	tree_tool("cli-tools/usr/bin", "docker", tool_script);
	tree_link("docker");
	run_link(&r, "docker", NULL, NULL);
	close(lfd);
	(void)unlink(path);
	cr_assert(eq(int, r.code, 3), "stderr: %s", r.err);
}

Test(e2e, tool_removed_after_use)
{
	static struct run r;
	char p[256];
	tree_tool("cli-tools/usr/bin", "docker", tool_script);
	tree_link("docker");
	struct fake_agent a = agent_up();
	run_link(&r, "docker", NULL, NULL);
	fake_agent_stop(&a);
	cr_assert(eq(int, r.code, 3));
	snprintf(p, sizeof p, "%s/docker", t.bin_tools);
	cr_assert(eq(int, unlink(p), 0));
	run_link(&r, "docker", NULL, NULL);
	cr_assert(eq(int, r.code, 76), "stderr: %s", r.err);
	assert_has(r.err, "wsl-docker-agent service is not running");
}

Test(e2e, refused_tool)
{
	static struct run r;
	char p[256];
	tree_tool("cli-tools/usr/bin", "docker", tool_script);
	snprintf(p, sizeof p, "%s/docker", t.bin_tools);
	cr_assert(eq(int, chmod(p, 0644), 0));
	tree_link("docker");
	run_link(&r, "docker", NULL, NULL);
	cr_assert(eq(int, r.code, 126), "stderr: %s", r.err);
	assert_has(r.err, "is not executable");
}

Test(e2e, credential_helper_answers)
{
	static struct run r;
	const char *helper = "docker-credential-desktop.exe";
	tree_link(helper);

	char *get[] = { "get", NULL };
	run_link(&r, helper, get, "https://index.docker.io/v1/\n");
	cr_assert(eq(int, r.code, 1));
	cr_assert(eq(str, r.out, "credentials not found in native keychain\n"));
	cr_assert(eq(str, r.err, ""));

	char *list[] = { "list", NULL };
	run_link(&r, helper, list, "unused");
	cr_assert(eq(int, r.code, 0));
	cr_assert(eq(str, r.out, "{}\n"));

	char *store[] = { "store", NULL };
	run_link(&r, helper, store, "{\"ServerURL\":\"https://index.docker.io/"
	    "v1/\",\"Username\":\"me\",\"Secret\":\"s\"}");
	cr_assert(eq(int, r.code, 1));
	assert_has(r.out, "docker-credential-desktop.exe: the wsl-docker-agent "
	    "service is not running");

	char *erase[] = { "erase", NULL };
	run_link(&r, helper, erase, "https://index.docker.io/v1/\n");
	cr_assert(eq(int, r.code, 1));
	assert_has(r.out, "not running");

	char *version[] = { "version", NULL };
	run_link(&r, helper, version, NULL);
	cr_assert(eq(int, r.code, 0));
	assert_has(r.out, "(wsl-docker-shim)");

	run_link(&r, helper, NULL, NULL);
	cr_assert(eq(int, r.code, 1));
	assert_has(r.out, "Usage: docker-credential-desktop.exe");
}

Test(e2e, credential_helper_execs_when_present)
{
	static struct run r;
	const char *helper = "docker-credential-desktop.exe";
	tree_tool("cli-tools/usr/bin", helper, tool_script);
	tree_link(helper);
	char *get[] = { "get", NULL };
	run_link(&r, helper, get, "https://index.docker.io/v1/\n");
	cr_assert(eq(int, r.code, 3));
	assert_has(r.out, "arg=get\nstdin:\nhttps://index.docker.io/v1/\n");
}

Test(e2e, plugin_metadata)
{
	static struct run r;
	tree_link("docker-buildx");
	char *meta[] = { "docker-cli-plugin-metadata", NULL };
	run_link(&r, "docker-buildx", meta, NULL);
	cr_assert(eq(int, r.code, 0), "stderr: %s", r.err);
	assert_plugin_metadata(r.out);

	char *use[] = { "buildx", "ls", NULL };
	run_link(&r, "docker-buildx", use, NULL);
	cr_assert(eq(int, r.code, 76));
	assert_has(r.err, "docker-buildx: ");
}

/* ------------------------------------------------------------------ */
static void
run_with_agent(struct run *r, const char *reply, const char *name,
    char *const args[], const char *input)
{
	struct fake_agent a = fake_agent_start(reply);
	tree_link(name);
	run_link(r, name, args, input);
	cr_assert(fake_agent_stop(&a), "the shim did not ask the agent");
}

Test(e2e, integration_off)
{
	static struct run r;
	run_with_agent(&r, "{\"agent\":{\"disabled\":true,\"distro\":"
	    "\"Ubuntu-22.04\"},\"desktop\":{\"present\":true,\"cli_tools\":true}}",
	    "docker", NULL, NULL);
	cr_assert(eq(int, r.code, 77), "stderr: %s", r.err);
	assert_has(r.err, "Settings > Resources > WSL integration > "
	    "Ubuntu-22.04");
}

Test(e2e, desktop_not_running)
{
	static struct run r;
	run_with_agent(&r, "{\"agent\":{\"disabled\":false},\"desktop\":"
	    "{\"present\":false,\"cli_tools\":false}}", "docker", NULL, NULL);
	cr_assert(eq(int, r.code, 69), "stderr: %s", r.err);
	cr_assert(eq(str, r.err, "docker: Docker Desktop is not running. Start "
	    "Docker Desktop, then run this again." SHIM_DOCTOR_HINT "\n"));
}

Test(e2e, no_such_tool)
{
	static struct run r;
	char reply[512];
	tree_tool("cli-tools/usr/bin", "docker", tool_script);
	/* The test's tree, not the machine's /mnt/wsl (a lab may run there). */
	snprintf(reply, sizeof reply, "{\"agent\":{\"disabled\":false},"
	    "\"desktop\":{\"dir\":\"%s\",\"present\":true,\"cli_tools\":true}}",
	    t.desktop);
	run_with_agent(&r, reply, "hub-tool", NULL, NULL);
	cr_assert(eq(int, r.code, 127), "stderr: %s", r.err);
	assert_has(r.err, "hub-tool: this Docker Desktop version has no hub-tool");
}

Test(e2e, credential_store_names_the_cause)
{
	static struct run r;
	char *store[] = { "store", NULL };
	run_with_agent(&r, "{\"agent\":{\"disabled\":false},\"desktop\":"
	    "{\"present\":false,\"cli_tools\":false}}",
	    "docker-credential-desktop.exe", store, "{\"ServerURL\":\"x\"}");
	cr_assert(eq(int, r.code, 1));
	assert_has(r.out, "Docker Desktop is not running");
}

Test(e2e, agent_sees_the_tool_elsewhere)
{
	/*
	 * Docker Desktop came back (or the agent was pointed at another
	 * tree) since the shim looked: the agent's desktop.dir is looked at.
	 */
	static struct run r;
	char other[192], reply[512];
	snprintf(other, sizeof other, "%s/other-desktop", t.dir);
	char saved[sizeof t.desktop];
	snprintf(saved, sizeof saved, "%s", t.desktop);
	snprintf(t.desktop, sizeof t.desktop, "%s", other);
	char cli[256];
	snprintf(cli, sizeof cli, "%s/cli-tools", other);
	make_dirs(cli);
	cr_assert(eq(int, mount("wda-test", cli, "tmpfs", 0, "mode=755"), 0));
	tree_tool("cli-tools/usr/bin", "docker", tool_script);
	snprintf(t.desktop, sizeof t.desktop, "%s", saved);
	snprintf(reply, sizeof reply, "{\"agent\":{\"disabled\":false},"
	    "\"desktop\":{\"dir\":\"%s\",\"present\":true,\"cli_tools\":true}}",
	    other);
	char *args[] = { "version", NULL };
	run_with_agent(&r, reply, "docker", args, NULL);
	cr_assert(eq(int, r.code, 3), "stderr: %s", r.err);
	assert_has(r.out, "argc=1\narg=version\n");
}

Test(e2e, agent_answers_garbage)
{
	static struct run r;
	run_with_agent(&r, "{\"ok\":false,\"error\":\"bad-json\"}", "docker",
	    NULL, NULL);
	cr_assert(eq(int, r.code, 76));
	assert_has(r.err, "answered, but not with its status");
}

/* ------------------------------------------------------------------ */
/* Under its own name */

static void
run_self(struct run *r, char *const args[])
{
	char *argv[8] = { (char *)SHIM_NAME };
	for (size_t i = 0; args[i] != NULL && i < 6; i++)
		argv[i + 1] = args[i];
	run_path(r, SHIM_BUILD_PATH, argv, NULL);
}

Test(e2e, which)
{
	static struct run r;
	char *which[] = { "--which", "docker", NULL };
	run_self(&r, which);
	cr_assert(eq(int, r.code, 76));
	assert_has(r.out, "agent-down 76 docker: the wsl-docker-agent service");

	tree_tool("cli-tools/usr/bin", "docker", tool_script);
	struct fake_agent a = agent_up();
	run_self(&r, which);
	fake_agent_stop(&a);
	cr_assert(eq(int, r.code, 0));
	char want[256];
	snprintf(want, sizeof want, "exec %s/docker\n", t.bin_tools);
	cr_assert(eq(str, r.out, want));

	char *bad[] = { "--which", "../docker", NULL };
	run_self(&r, bad);
	cr_assert(eq(int, r.code, 64));
}

Test(e2e, help_version_usage)
{
	static struct run r;
	char *help[] = { "--help", NULL };
	run_self(&r, help);
	cr_assert(eq(int, r.code, 0));
	static const char *const codes[] = { "69 ", "74 ", "76 ", "77 ", "78 ",
	    "126 ", "127 ", "64 ", "71 ", SHIM_CONFIG_ENV, NULL };
	for (size_t i = 0; codes[i] != NULL; i++)
		assert_has(r.out, codes[i]);

	char *version[] = { "--version", NULL };
	run_self(&r, version);
	cr_assert(eq(int, r.code, 0));
	cr_assert(eq(str, r.out, SHIM_NAME " " PACKAGE_VERSION "\n"));

	char *none[] = { NULL };
	run_self(&r, none);
	cr_assert(eq(int, r.code, 64));
	assert_has(r.err, "Usage:");

	/* A name no tool could have. */
	char *argv[] = { (char *)"/usr/bin/", NULL };
	run_path(&r, SHIM_BUILD_PATH, argv, NULL);
	cr_assert(eq(int, r.code, 64));
	assert_has(r.err, "run it through a link");
}
