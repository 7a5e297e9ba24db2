/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `wsl-docker-agent doctor', the one command a user runs when docker does
 * not work: its findings, the pure decisions behind some of them (WSL 1,
 * a shell file setting a variable, a Windows program, interop, the docker
 * group), and the report, for a person (one line a finding, with its fix)
 * or as JSON for scripts and the host.  doctor-look.c and
 * doctor-client.c do the looking.
 *
 * doctor runs as whoever typed it, with that user's rights: it reads what
 * that user may read, and the agent's part comes through the control
 * socket, which leaves out what that user may not see (request.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/config.h"
#include "base/defs.h"
#include "base/log.h"
#include "base/text.h"
#include "sys/trust.h"
#include "sys/wsl.h"
#include "wire/protocol.h"
#include "main/doctor.h"

/* ------------------------------------------------------------------ */
/* Decisions */

int
doctor_wsl_version(const char *text)
{
	if (text == NULL)
		return 0;
	/*
	 * WSL 2 runs a real kernel built by Microsoft: "5.15.153.1-microsoft-
	 * standard-WSL2", or "4.19.128-microsoft-standard" before the suffix.
	 * WSL 1 has no Linux kernel; the text it makes up reads "4.4.0-19041-
	 * Microsoft (Microsoft@Microsoft.com)".
	 */
	if (strstr(text, "microsoft-standard") != NULL ||
	    strstr(text, "WSL2") != NULL)
		return 2;
	return strstr(text, "Microsoft") != NULL ? 1 : 0;
}

/* The word at p (up to white space), its length. */
static size_t
doctor_word(const char *p, const char *end)
{
	size_t n = 0;
	while (p + n < end && p[n] != ' ' && p[n] != '\t')
		n++;
	return n;
}

/* Does word (n bytes) name var, alone or as var=...? */
static bool
doctor_word_sets(const char *w, size_t n, const char *var)
{
	size_t v = strlen(var);
	return n >= v && strncmp(w, var, v) == 0 && (n == v || w[v] == '=');
}

static bool
doctor_line_sets(const char *p, const char *end, const char *var)
{
	static const char *const setters[] = { "export", "declare", "typeset",
	    "readonly", "local", "setenv", "set", NULL };

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '#')
		return false;
	size_t n = doctor_word(p, end);
	size_t v = strlen(var);
	if (n > v && strncmp(p, var, v) == 0 && p[v] == '=')
		return true;
	bool setter = false;
	for (const char *const *s = setters; *s != NULL && !setter; s++)
		setter = n == strlen(*s) && strncmp(p, *s, n) == 0;
	if (!setter)
		return false;
	for (p += n; p < end; p += n) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		n = doctor_word(p, end);
		if (n > 0 && *p == '#')
			return false;
		if (n > 0 && *p != '-' && doctor_word_sets(p, n, var))
			return true;
	}
	return false;
}

unsigned
doctor_line_setting(const char *text, size_t len, const char *var)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		line++;
		if (doctor_line_sets(p, eol, var))
			return line;
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

bool
doctor_is_windows_program(const unsigned char *head, size_t n)
{
	return n >= 2 && head[0] == 'M' && head[1] == 'Z';	/* DOS stub */
}

enum doctor_interop
doctor_interop_state(const char *entry, bool wsl_interop_set,
    bool wsl_interop_alive)
{
	if (entry == NULL)
		return DOCTOR_INTEROP_ABSENT;
	/* binfmt_misc writes "enabled" or "disabled" on the first line. */
	if (strncmp(entry, "disabled", 8) == 0)
		return DOCTOR_INTEROP_DISABLED;
	if (wsl_interop_set && !wsl_interop_alive)
		return DOCTOR_INTEROP_STALE;
	return DOCTOR_INTEROP_OK;
}

enum doctor_group
doctor_group_state(const struct doctor_group_facts *g)
{
	if (g->root || g->socket_usable)
		return DOCTOR_GROUP_OK;
	if (!g->exists)
		return DOCTOR_GROUP_NONE;
	if (g->in_session)
		return DOCTOR_GROUP_OK;		/* then the cause is elsewhere */
	return g->member ? DOCTOR_GROUP_LATER : DOCTOR_GROUP_OUT;
}

/* ------------------------------------------------------------------ */
/* The report */

/*
 * Every finding doctor reports, by its stable id, in the order doctor
 * looks.  wsl-docker-agent(8), WHEN DOCKER DOES NOT WORK, lists the same
 * ids with their fixes; tests/e2e/docs.sh compares the two.
 */
const char *const doctor_ids[] = {
	"wsl1",				/* the distro runs under WSL 1 */
	"agent-config-invalid",		/* the agent's configuration file */
	"agent-not-running",
	"agent-not-answering",
	"agent-problem",		/* each problem `status' reports */
	"local-engine",			/* something else serves socket.path */
	"docker-group",			/* not in socket.group */
	"docker-group-session",		/* in it, but not in this session */
	"docker-not-found",		/* no docker in PATH */
	"docker-config-unreadable",
	"docker-config-invalid",	/* config.json or a context's meta.json */
	"docker-host",			/* DOCKER_HOST points elsewhere */
	"docker-context",		/* the context in effect points elsewhere */
	"default-host",			/* socket.path is not docker's default */
	"credential-helper",		/* a helper that cannot be run */
	"credential-helper-interop",	/* a Windows helper, no interop */
	"cli-plugin-shadow",
	"cli-plugin-dangling",
	NULL
};

static bool
doctor_id_known(const char *id)
{
	for (const char *const *k = doctor_ids; *k != NULL; k++)
		if (strcmp(*k, id) == 0)
			return true;
	return false;
}

static char *
doctor_strdup(const char *s)
{
	if (s == NULL)
		return NULL;
	char *d = strdup(s);
	if (d == NULL)
		fatal(EXIT_OSERR, "out of memory");
	return d;
}

void
doctor_add(struct doctor_report *r, const char *id, const char *subject,
    const char *value, const char *fix, const char *what_fmt, ...)
{
	if (r->n == DOCTOR_FINDINGS_MAX) {
		r->left_out++;
		return;
	}
	if (!doctor_id_known(id))
		log_err("doctor", "finding id %s is not in doctor_ids[] (a bug; "
		    "see doctor.c)", id);
	struct doctor_finding *f = &r->f[r->n++];
	va_list ap;
	va_start(ap, what_fmt);
	if (vasprintf(&f->what, what_fmt, ap) < 0)
		fatal(EXIT_OSERR, "out of memory");
	va_end(ap);
	f->id = id;
	f->fix = doctor_strdup(fix);
	f->subject = doctor_strdup(subject);
	f->value = doctor_strdup(value);
}

void
doctor_report_free(struct doctor_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->f[i].what);
		free(r->f[i].fix);
		free(r->f[i].subject);
		free(r->f[i].value);
	}
	free(r->user);
	free(r->distro);
	free(r->engine);
	memset(r, 0, sizeof *r);
}

int
doctor_exit_status(const struct doctor_report *r)
{
	return r->n > 0 ? EXIT_FINDINGS : 0;
}

/* Text from outside (paths, values, the agent's words) made safe to show. */
static void
doctor_put_escaped(FILE *out, const char *s)
{
	size_t len = strlen(s);
	size_t cap = TEXT_ESCAPE_SIZE(len);
	char *b = malloc(cap);
	if (b == NULL) {
		fputs("(out of memory)", out);
		return;
	}
	text_escape(s, b, cap);
	fputs(b, out);
	free(b);
}

void
doctor_print_text(const struct doctor_report *r, FILE *out)
{
	fprintf(out, "%s doctor: ", AGENT_NAME);
	doctor_put_escaped(out, r->user);
	fputs(" in distro ", out);
	doctor_put_escaped(out, r->distro);
	if (r->n == 0) {
		fputs(": nothing found that keeps docker from working", out);
		if (r->engine != NULL) {
			fputs(" (engine ", out);
			doctor_put_escaped(out, r->engine);
			fputc(')', out);
		}
		fputs(".\n", out);
		return;
	}
	size_t total = r->n + r->left_out;
	fprintf(out, ": %zu thing%s to fix:\n", total, total == 1 ? "" : "s");
	for (size_t i = 0; i < r->n; i++) {
		fprintf(out, "%s: ", r->f[i].id);
		doctor_put_escaped(out, r->f[i].what);
		fputs(". Fix: ", out);
		doctor_put_escaped(out, r->f[i].fix);
		fputs(".\n", out);
	}
	if (r->left_out > 0)
		fprintf(out, "(and %zu more; fix these first, then run '%s "
		    "doctor' again)\n", r->left_out, AGENT_NAME);
}

/* A string member; text that is not valid UTF-8 goes escaped, as JSON must. */
static void
doctor_json_str(struct json_object *o, const char *key, const char *v)
{
	size_t bad;
	if (v == NULL)
		return;
	if (text_utf8_valid(v, strlen(v), &bad)) {
		json_object_object_add(o, key, json_object_new_string(v));
		return;
	}
	size_t cap = TEXT_ESCAPE_SIZE(strlen(v));
	char *e = malloc(cap);
	if (e == NULL)
		fatal(EXIT_OSERR, "out of memory");
	text_escape(v, e, cap);
	json_object_object_add(o, key, json_object_new_string(e));
	free(e);
}

void
doctor_print_json(const struct doctor_report *r, FILE *out)
{
	struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct json_object *sum = json_object_new_object();
	if (o == NULL || arr == NULL || sum == NULL)
		fatal(EXIT_OSERR, "out of memory");
	doctor_json_str(o, "user", r->user);
	json_object_object_add(o, "uid", json_object_new_int64(r->uid));
	doctor_json_str(o, "distro", r->distro);
	for (size_t i = 0; i < r->n; i++) {
		struct json_object *f = json_object_new_object();
		doctor_json_str(f, "id", r->f[i].id);
		doctor_json_str(f, "what", r->f[i].what);
		doctor_json_str(f, "fix", r->f[i].fix);
		doctor_json_str(f, "subject", r->f[i].subject);
		doctor_json_str(f, "value", r->f[i].value);
		json_object_array_add(arr, f);
	}
	json_object_object_add(o, "findings", arr);
	json_object_object_add(sum, "findings",
	    json_object_new_int64((int64_t)(r->n + r->left_out)));
	json_object_object_add(sum, "left_out",
	    json_object_new_int64((int64_t)r->left_out));
	json_object_object_add(sum, "ok", json_object_new_boolean(r->n == 0));
	json_object_object_add(sum, "exit_status",
	    json_object_new_int(doctor_exit_status(r)));
	doctor_json_str(sum, "engine", r->engine);
	json_object_object_add(o, "summary", sum);
	fprintf(out, "%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* ------------------------------------------------------------------ */
/* The command */

int
doctor_main(const char *config_file, char **flags, int nflags, bool json)
{
	struct config cfg;
	char err[CONFIG_ERR_LEN], cfg_error[CONFIG_ERR_LEN] = "";
	struct doctor_report r = { 0 };

	/*
	 * A configuration file the agent cannot read is a finding (the agent
	 * would not start with it); doctor goes on with the defaults.  The
	 * options are this command line's own: a bad one is a usage error.
	 */
	config_init(&cfg);
	const char *file = config_file != NULL ? config_file :
	    CONFIG_DEFAULT_PATH;
	if (config_load_file(&cfg, file, config_file != NULL, cfg_error,
	    sizeof cfg_error) < 0) {
		config_free(&cfg);
		config_init(&cfg);
	} else
		cfg_error[0] = '\0';
	for (int i = 0; i + 1 < nflags; i += 2)
		if (config_set(&cfg, flags[i], flags[i + 1], err,
		    sizeof err) < 0)
			fatal(EXIT_CONFIG, "%s", err);
	wsl_resolve_config(&cfg);

	doctor_look(&r, &cfg, cfg_error[0] != '\0' ? cfg_error : NULL);
	if (json)
		doctor_print_json(&r, stdout);
	else
		doctor_print_text(&r, stdout);
	int rc = doctor_exit_status(&r);
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = EXIT_OSERR;
	doctor_report_free(&r);
	config_free(&cfg);
	return rc;
}
