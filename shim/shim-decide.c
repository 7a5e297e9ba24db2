/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shim's decisions: which kind of tool it was run as, why that tool
 * cannot run, and what the credential-helper and CLI-plugin protocols
 * expect as an answer meanwhile.  Nothing here touches the system, so the
 * unit tests cover every case with plain data.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "base/defs.h"
#include "base/json.h"
#include "shim.h"

#define CRED_PREFIX		"docker-credential-"
#define PLUGIN_PREFIX		"docker-"
#define METADATA_REQUEST	"docker-cli-plugin-metadata"
/* What the docker CLI takes as "no credentials" (docker-credential-helpers). */
#define CRED_NOT_FOUND		"credentials not found in native keychain"

static bool
shim_has_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 && s[n] != '\0';
}

static bool
shim_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > NAME_MAX_LEN || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

enum shim_kind
shim_kind_of(const char *argv0, const char **name)
{
	*name = NULL;
	if (argv0 == NULL)
		return SHIM_KIND_INVALID;
	const char *slash = strrchr(argv0, '/');
	const char *base = slash != NULL ? slash + 1 : argv0;
	if (!shim_name_ok(base))
		return SHIM_KIND_INVALID;
	*name = base;
	if (strcmp(base, SHIM_NAME) == 0)
		return SHIM_KIND_SELF;
	if (strcmp(base, "docker") == 0)
		return SHIM_KIND_CLI;
	if (shim_has_prefix(base, CRED_PREFIX))
		return SHIM_KIND_CREDENTIAL;
	if (shim_has_prefix(base, PLUGIN_PREFIX))
		return SHIM_KIND_PLUGIN;
	return SHIM_KIND_TOOL;
}

/* ------------------------------------------------------------------ */
/* The agent's status */

static struct json_object *
shim_member(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object *v;
	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* A boolean member that must be there for the status to count. */
static bool
shim_member_bool(struct json_object *o, const char *key, bool *out)
{
	struct json_object *v = shim_member(o, key, json_type_boolean);
	if (v == NULL)
		return false;
	*out = json_object_get_boolean(v);
	return true;
}

/* An optional string member, cut to fit. */
static void
shim_member_string(struct json_object *o, const char *key, char *out,
    size_t len)
{
	const char *s = json_string(o, key);
	snprintf(out, len, "%s", s != NULL ? s : "");
}

void
shim_status_parse(const char *json, struct shim_status *st)
{
	memset(st, 0, sizeof *st);
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (tok == NULL || json == NULL) {
		json_tokener_free(tok);
		return;
	}
	struct json_object *root = json_tokener_parse_ex(tok, json,
	    (int)strlen(json));
	json_tokener_free(tok);
	struct json_object *agent = shim_member(root, "agent", json_type_object);
	struct json_object *desktop = shim_member(root, "desktop",
	    json_type_object);
	st->valid = shim_member_bool(agent, "disabled", &st->disabled) &&
	    shim_member_bool(desktop, "present", &st->desktop_present) &&
	    shim_member_bool(desktop, "cli_tools", &st->cli_tools);
	if (st->valid) {
		shim_member_string(agent, "distro", st->distro,
		    sizeof st->distro);
		shim_member_string(desktop, "dir", st->desktop_dir,
		    sizeof st->desktop_dir);
		shim_member_string(desktop, "untrusted", st->untrusted,
		    sizeof st->untrusted);
	}
	json_object_put(root);
}

/* ------------------------------------------------------------------ */
/* Why the tool cannot run */

static const char *
shim_start_command(bool systemd)
{
	return systemd ? "sudo systemctl start wsl-docker-agent" :
	    "sudo wsl-docker-agent start";
}

/* Without systemd nothing starts the agent with the distro unless told. */
static const char *
shim_start_permanently(bool systemd)
{
	return systemd ? "" : "; to start it with the distro, add "
	    "command=\"wsl-docker-agent start\" under [boot] in /etc/wsl.conf";
}

static void
shim_decide_agent_down(const struct shim_status *st, const char *name,
    const struct shim_facts *f, struct shim_decision *d)
{
	const char *start = shim_start_command(f->systemd);

	d->kase = SHIM_CASE_AGENT_DOWN;
	d->exit_code = SHIM_EXIT_AGENT_DOWN;
	if (st != NULL) {
		/* It answered, but not with a status: a broken or foreign agent. */
		snprintf(d->message, sizeof d->message, "%s: the wsl-docker-agent "
		    "service answered, but not with its status. Restart it with "
		    "%s.", name, f->systemd ?
		    "'sudo systemctl restart wsl-docker-agent'" :
		    "'sudo wsl-docker-agent stop' and 'sudo wsl-docker-agent start'");
		return;
	}
	if (f->config_error != NULL) {
		d->kase = SHIM_CASE_BAD_CONFIG;
		d->exit_code = SHIM_EXIT_BAD_CONFIG;
		snprintf(d->message, sizeof d->message, "%s: the wsl-docker-agent "
		    "service is not running, and its configuration stops it from "
		    "starting: %s. Once that is fixed, start it with '%s'.", name,
		    f->config_error, start);
		return;
	}
	/* The reason tells a stopped agent from a hung or unreachable one. */
	snprintf(d->message, sizeof d->message, "%s: the wsl-docker-agent "
	    "service is not running%s%s%s, so Docker Desktop's tools are not "
	    "linked into this distro. Start it with '%s'%s.%s", name,
	    f->agent_error != NULL ? " (" : "",
	    f->agent_error != NULL ? f->agent_error : "",
	    f->agent_error != NULL ? ")" : "", start,
	    shim_start_permanently(f->systemd), f->desktop_present ? "" :
	    " Docker Desktop may not be running either: start it too.");
}

void
shim_end_with_doctor(char *msg, size_t size)
{
	size_t hint = strlen(SHIM_DOCTOR_HINT), len = strlen(msg);
	if (size <= hint + 4)
		return;
	if (len + hint >= size) {
		/* Cut at a character's start, and say that it was cut. */
		len = size - hint - 4;
		while (len > 0 && ((unsigned char)msg[len] & 0xc0) == 0x80)
			len--;
		memcpy(msg + len, "...", 3);
		len += 3;
	}
	memcpy(msg + len, SHIM_DOCTOR_HINT, hint + 1);
}

static void
shim_decide_why(const struct shim_status *st, const char *name,
    const struct shim_facts *f, struct shim_decision *d)
{
	if (f->refused != NULL) {
		d->kase = SHIM_CASE_TOOL_REFUSED;
		d->exit_code = SHIM_EXIT_TOOL_REFUSED;
		snprintf(d->message, sizeof d->message, "%s: Docker Desktop's %s "
		    "cannot be run: %s. Restart Docker Desktop, and reinstall it "
		    "if this stays.", name, name, f->refused);
		return;
	}
	if (st == NULL || !st->valid) {
		shim_decide_agent_down(st, name, f, d);
		return;
	}
	if (st->disabled) {
		const char *distro = st->distro[0] != '\0' ? st->distro :
		    f->distro != NULL ? f->distro : "this distro";
		d->kase = SHIM_CASE_INTEGRATION_OFF;
		d->exit_code = SHIM_EXIT_INTEGRATION_OFF;
		snprintf(d->message, sizeof d->message, "%s: WSL integration with "
		    "Docker Desktop is off for this distro. Turn it on in Docker "
		    "Desktop under Settings > Resources > WSL integration > %s, "
		    "or run 'sudo wsl-docker-agent enable'.", name, distro);
		return;
	}
	if (st->untrusted[0] != '\0') {
		/* Something an ordinary user could have made: never run. */
		d->kase = SHIM_CASE_TOOL_REFUSED;
		d->exit_code = SHIM_EXIT_TOOL_REFUSED;
		snprintf(d->message, sizeof d->message, "%s: Docker Desktop's "
		    "tree is not trusted, so nothing in it is run: %s.", name,
		    st->untrusted);
		return;
	}
	if (!st->desktop_present || !st->cli_tools) {
		d->kase = SHIM_CASE_DESKTOP_DOWN;
		d->exit_code = SHIM_EXIT_DESKTOP_DOWN;
		snprintf(d->message, sizeof d->message, "%s: Docker Desktop is "
		    "not running%s. Start Docker Desktop, then run this again.",
		    name, st->desktop_present ? " (its CLI tools are not mounted: "
		    "it is starting or stopping)" : "");
		return;
	}
	d->kase = SHIM_CASE_NO_TOOL;
	d->exit_code = SHIM_EXIT_NO_TOOL;
	snprintf(d->message, sizeof d->message, "%s: this Docker Desktop "
	    "version has no %s. Update Docker Desktop, or install %s in this "
	    "distro.", name, name, name);
}

void
shim_decide(const struct shim_status *st, const char *name,
    const struct shim_facts *f, struct shim_decision *d)
{
	shim_decide_why(st, name, f, d);
	shim_end_with_doctor(d->message, sizeof d->message);
}

const char *
shim_case_name(enum shim_case c)
{
	switch (c) {
	case SHIM_CASE_AGENT_DOWN:	return "agent-down";
	case SHIM_CASE_BAD_CONFIG:	return "bad-config";
	case SHIM_CASE_INTEGRATION_OFF:	return "integration-off";
	case SHIM_CASE_DESKTOP_DOWN:	return "desktop-down";
	case SHIM_CASE_NO_TOOL:		return "no-tool";
	case SHIM_CASE_TOOL_REFUSED:	return "tool-refused";
	}
	return "?";
}

/* ------------------------------------------------------------------ */
/* Credential helpers and CLI plugins */

enum shim_cred_action
shim_cred_action_of(int argc, char *const argv[])
{
	static const char *const names[] = {
		[SHIM_CRED_GET] = "get",
		[SHIM_CRED_STORE] = "store",
		[SHIM_CRED_ERASE] = "erase",
		[SHIM_CRED_LIST] = "list",
		[SHIM_CRED_VERSION] = "version",
	};
	if (argc < 2 || argv[1] == NULL)
		return SHIM_CRED_USAGE;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(argv[1], names[i]) == 0)
			return (enum shim_cred_action)i;
	return SHIM_CRED_USAGE;
}

bool
shim_cred_reads_stdin(enum shim_cred_action a)
{
	return a == SHIM_CRED_GET || a == SHIM_CRED_STORE || a == SHIM_CRED_ERASE;
}

bool
shim_cred_needs_cause(enum shim_cred_action a)
{
	return a == SHIM_CRED_STORE || a == SHIM_CRED_ERASE;
}

int
shim_cred_answer(enum shim_cred_action a, const char *name, const char *cause,
    char *out, size_t outlen)
{
	switch (a) {
	case SHIM_CRED_GET:
		/* "Not found": docker goes on without credentials. */
		snprintf(out, outlen, "%s\n", CRED_NOT_FOUND);
		return 1;
	case SHIM_CRED_LIST:
		snprintf(out, outlen, "{}\n");
		return 0;
	case SHIM_CRED_STORE:
	case SHIM_CRED_ERASE:
		if (cause != NULL)
			snprintf(out, outlen, "%s\n", cause);
		else
			snprintf(out, outlen, "%s: Docker Desktop's credential "
			    "store is not available. Start Docker Desktop, then "
			    "run this again.\n", name);
		return 1;
	case SHIM_CRED_VERSION:
		snprintf(out, outlen, "%s (%s) %s\n", name, SHIM_NAME,
		    PACKAGE_VERSION);
		return 0;
	case SHIM_CRED_USAGE:
		break;
	}
	snprintf(out, outlen, "Usage: %s <store|get|erase|list|version>\n", name);
	return 1;
}

bool
shim_is_metadata_request(int argc, char *const argv[])
{
	return argc >= 2 && argv[1] != NULL &&
	    strcmp(argv[1], METADATA_REQUEST) == 0;
}

void
shim_plugin_metadata(char *out, size_t outlen)
{
	/* SchemaVersion 0.1.0 and a Vendor are what the docker CLI requires. */
	snprintf(out, outlen, "{\"SchemaVersion\":\"0.1.0\",\"Vendor\":\"%s\","
	    "\"Version\":\"%s\",\"ShortDescription\":\"Unavailable: Docker "
	    "Desktop is not running (start it to use this plugin)\"}\n",
	    AGENT_NAME, PACKAGE_VERSION);
}
