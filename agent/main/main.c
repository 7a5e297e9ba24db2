/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wsl-docker-agent: command line.  Subcommands run, start, stop, status,
 * doctor, reconcile, enable, disable; every configuration key is also a
 * flag, generated from the one table in base/config-keys.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/config.h"
#include "base/defs.h"
#include "base/log.h"
#include "base/status.h"
#include "sys/daemon.h"
#include "sys/wsl.h"
#include "main/agent.h"
#include "main/status-print.h"
#include "main/client.h"
#include "main/doctor.h"

static void
usage(FILE *out)
{
	fprintf(out,
"Usage: %s [OPTIONS] COMMAND\n"
"\n"
"Links Docker Desktop's CLI into this WSL distro, exposes its engine at\n"
"/run/docker.sock, and reports the integration's health to the Windows host.\n"
"\n"
"Commands:\n"
"  run         run in the foreground (systemd, debugging); logs to the journal\n"
"              under systemd, to stderr otherwise\n"
"  start       start in the background with a pidfile and a log file, for\n"
"              distros without systemd (/etc/wsl.conf [boot] command=);\n"
"              returns once the agent is ready; a second start is a no-op\n"
"  stop        stop the agent and wait for it to exit\n"
"  status      show Docker Desktop's tree, links, socket, engine, problems\n"
"              and their fixes; exit 0 when healthy, 1 when not\n"
"  doctor      when docker does not work: what in your own setup (DOCKER_HOST,\n"
"              contexts, the docker group, credential helpers, CLI plugins)\n"
"              and in the agent's keeps it from working, each with its fix;\n"
"              any user; exit 0 when nothing is found, 2 otherwise\n"
"  reconcile   look at Docker Desktop's tree again now (root)\n"
"  enable      turn this distro's integration on (root; kept across restarts)\n"
"  disable     turn it off: links and socket removed, reporting goes on (root)\n"
"\n"
"Options:\n"
"  -c, --config FILE   configuration file (default %s;\n"
"                      a missing default file means all defaults)\n"
"      --json          status, doctor: print JSON instead of text\n"
"      --dump-status-fields\n"
"                      print the status object's fields, one a line (path,\n"
"                      type, flags, allowed values, meaning), and exit\n"
"  -h, --help          show this help\n"
"  -V, --version       show the version\n"
"\n"
"Every configuration key is also an option (--KEY VALUE or --KEY=VALUE);\n"
"options override the file:\n", AGENT_NAME, CONFIG_DEFAULT_PATH);
	for (const struct config_key *k = config_keys; k->key != NULL; k++) {
		char flag[64];
		snprintf(flag, sizeof flag, "--%s", k->flag);
		fprintf(out, "  %-26s %s\n", flag, k->help);
		fprintf(out, "  %-26s key %s", "", k->key);
		if (k->allowed != NULL)
			fprintf(out, "; %s", k->allowed);
		fprintf(out, "; default %s\n", k->def == NULL ? "auto" :
		    *k->def == '\0' ? "\"\"" : k->def);
	}
	fprintf(out,
"\n"
"Exit status: 0 success (status: healthy; doctor: nothing found); 1 status:\n"
"needs attention; 2 doctor: something keeps docker from working; 64 usage\n"
"error; 69 agent not running or not answering; 70 internal error; 71 system\n"
"error; 75 another agent already runs; 77 permission denied; 78 bad\n"
"configuration.\n"
"See wsl-docker-agent(8), wsl-docker-agent.conf(5).\n");
}

struct cli {
	const char	*command;
	const char	*config_file;
	bool		 json;
	char		**flags;	/* key, value pairs */
	int		 nflags;
};

static void
cli_add_flag(struct cli *c, const char *key, const char *value)
{
	char **grown = realloc(c->flags, sizeof *grown * (size_t)(c->nflags + 2));
	if (grown == NULL)
		fatal(EXIT_OSERR, "out of memory");
	c->flags = grown;
	c->flags[c->nflags++] = (char *)key;
	c->flags[c->nflags++] = (char *)value;
}

static void
cli_parse(struct cli *c, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 ||
		    strcmp(arg, "help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
			printf("%s %s\n", AGENT_NAME, PACKAGE_VERSION);
			exit(0);
		}
		if (strcmp(arg, "--dump-status-fields") == 0) {
			status_dump_fields(stdout);
			exit(0);
		}
		if (strcmp(arg, "--json") == 0) {
			c->json = true;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0 && strcmp(arg, "-c") != 0) {
			if (c->command != NULL) {
				fprintf(stderr, "%s: one command at a time ('%s' and "
				    "'%s'); see --help\n", AGENT_NAME, c->command, arg);
				exit(EXIT_USAGE);
			}
			c->command = arg;
			continue;
		}
		/* --name=value or --name value */
		char name[64];
		const char *value = NULL;
		const char *eq = strchr(arg, '=');
		size_t nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		if (nlen >= sizeof name)
			nlen = sizeof name - 1;
		memcpy(name, arg, nlen);
		name[nlen] = '\0';
		if (eq != NULL)
			value = eq + 1;
		else if (i + 1 < argc)
			value = argv[++i];
		if (strcmp(name, "-c") == 0 || strcmp(name, "--config") == 0) {
			if (value == NULL)
				goto missing;
			c->config_file = value;
			continue;
		}
		const struct config_key *k = config_key_by_flag(name + 2);
		if (k == NULL) {
			fprintf(stderr, "%s: unknown option %s; see --help for the "
			    "options\n", AGENT_NAME, name);
			exit(EXIT_USAGE);
		}
		if (value == NULL)
			goto missing;
		cli_add_flag(c, k->flag, value);	/* errors then name the flag */
		continue;
missing:
		fprintf(stderr, "%s: %s needs a value; see --help\n", AGENT_NAME,
		    name);
		exit(EXIT_USAGE);
	}
	if (c->command == NULL) {
		usage(stderr);
		exit(EXIT_USAGE);
	}
}

static void
load_config(struct cli *c, struct config *cfg)
{
	char err[CONFIG_ERR_LEN];
	config_init(cfg);
	const char *file = c->config_file != NULL ? c->config_file :
	    CONFIG_DEFAULT_PATH;
	if (config_load_file(cfg, file, c->config_file != NULL, err,
	    sizeof err) < 0)
		fatal(EXIT_CONFIG, "%s", err);
	for (int i = 0; i + 1 < c->nflags; i += 2)
		if (config_set(cfg, c->flags[i], c->flags[i + 1], err,
		    sizeof err) < 0)
			fatal(EXIT_CONFIG, "%s", err);
	wsl_resolve_config(cfg);
	log_set_level(log_level_from_name(cfg->log_level));
}

static void
require_root(const char *what)
{
	if (geteuid() != 0)
		fatal(EXIT_NOPERM, "%s needs root: it creates %s; run it with sudo",
		    what, "links and /run/docker.sock");
}

static int
cmd_status(struct cli *c, struct config *cfg)
{
	char *reply = NULL;
	char err[512];
	if (control_request(cfg->control_socket, "{\"request\":\"status\"}",
	    &reply, err, sizeof err) < 0) {
		/* Running (it holds its pidfile) but silent is not "not running". */
		pid_t pid = daemon_running_pid(cfg->pidfile);
		char why[768];
		if (pid > 0)
			snprintf(why, sizeof why, "the agent (pid %ld) is running "
			    "but does not answer: %s", (long)pid, err);
		else
			snprintf(why, sizeof why, "the agent is not running: %s",
			    err);
		if (c->json) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "running",
			    json_object_new_boolean(pid > 0));
			json_object_object_add(o, "healthy",
			    json_object_new_boolean(false));
			json_object_object_add(o, "error",
			    json_object_new_string(why));
			printf("%s\n", json_object_to_json_string_ext(o,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		} else
			fprintf(stderr, "%s: %s.\n  fix: %s\n", AGENT_NAME, why,
			    pid > 0 ? "restart it: with systemd: sudo systemctl "
			    "restart wsl-docker-agent; without: sudo "
			    "wsl-docker-agent stop && sudo wsl-docker-agent start" :
			    "with systemd: sudo systemctl start wsl-docker-agent; "
			    "without: sudo wsl-docker-agent start");
		return EXIT_UNAVAILABLE;
	}
	struct json_object *st = json_tokener_parse(reply);
	if (st == NULL) {
		fprintf(stderr, "%s: the agent's reply is not JSON\n", AGENT_NAME);
		free(reply);
		return EXIT_SOFTWARE;
	}
	struct json_object *h, *ok, *msg;
	if (json_object_object_get_ex(st, "ok", &ok) &&
	    !json_object_get_boolean(ok)) {
		/* Refused (too many connections of this user, say). */
		if (c->json)
			printf("%s\n", reply);
		else
			fprintf(stderr, "%s: status refused: %s\n", AGENT_NAME,
			    json_object_object_get_ex(st, "message", &msg) ?
			    json_object_get_string(msg) : reply);
		json_object_put(st);
		free(reply);
		return EXIT_UNAVAILABLE;
	}
	bool healthy = json_object_object_get_ex(st, "healthy", &h) &&
	    json_object_get_boolean(h);
	if (c->json)
		printf("%s\n", json_object_to_json_string_ext(st,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		status_print_human(st, stdout);
	json_object_put(st);
	free(reply);
	return healthy ? 0 : EXIT_UNHEALTHY;
}

static int
cmd_request(struct config *cfg, const char *verb)
{
	char req[64], err[512];
	char *reply = NULL;
	snprintf(req, sizeof req, "{\"request\":\"%s\"}", verb);
	if (control_request(cfg->control_socket, req, &reply, err,
	    sizeof err) < 0) {
		fprintf(stderr, "%s: %s: %s\n", AGENT_NAME, verb, err);
		return EXIT_UNAVAILABLE;
	}
	struct json_object *r = json_tokener_parse(reply);
	struct json_object *ok, *msg;
	int rc = 0;
	if (r == NULL || !json_object_object_get_ex(r, "ok", &ok) ||
	    !json_object_get_boolean(ok)) {
		fprintf(stderr, "%s: %s refused: %s\n", AGENT_NAME, verb,
		    r != NULL && json_object_object_get_ex(r, "message", &msg) ?
		    json_object_get_string(msg) : reply);
		rc = r != NULL && json_object_object_get_ex(r, "error", &msg) &&
		    strcmp(json_object_get_string(msg), "forbidden") == 0 ?
		    EXIT_NOPERM : EXIT_SOFTWARE;
	} else
		printf("%s: %s: done\n", AGENT_NAME, verb);
	json_object_put(r);
	free(reply);
	return rc;
}

static int
cmd_run(struct agent *a)
{
	require_root("run");
	pid_t holder;
	int lock = daemon_lock_pidfile(a->cfg.pidfile, &holder);
	if (lock < 0) {
		if (holder > 0)
			fatal(EXIT_CONFLICT, "already running (pid %ld); one agent "
			    "per distro. Stop it first ('wsl-docker-agent stop')",
			    (long)holder);
		fatal(EXIT_OSERR, "cannot lock %s: %s", a->cfg.pidfile,
		    strerror(errno));
	}
	int rc = agent_run(a, -1);
	(void)unlink(a->cfg.pidfile);
	close(lock);
	return rc;
}

/* `start''s daemon: the agent, telling ready_fd when it is ready. */
static int
start_run(void *arg, int ready_fd)
{
	return agent_run(arg, ready_fd);
}

int
main(int argc, char **argv)
{
	struct cli c = { 0 };
	struct agent a = { 0 };
	cli_parse(&c, argc, argv);
	if (strcmp(c.command, "doctor") == 0) {
		/* Its own reading of the configuration: a bad file is a finding. */
		log_open(false, LOG_LVL_INFO);
		int rc = doctor_main(c.config_file, c.flags, c.nflags, c.json);
		free(c.flags);
		return rc;
	}
	bool daemon_cmd = strcmp(c.command, "run") == 0 ||
	    strcmp(c.command, "start") == 0;
	log_open(daemon_cmd && strcmp(c.command, "run") == 0 &&
	    log_journal_available(), LOG_LVL_INFO);
	load_config(&c, &a.cfg);
	a.config_explicit = c.config_file;
	a.flag_argv = c.flags;
	a.flag_argc = c.nflags;

	int rc;
	if (strcmp(c.command, "run") == 0)
		rc = cmd_run(&a);
	else if (strcmp(c.command, "start") == 0) {
		require_root("start");
		rc = daemon_start(&a.cfg, start_run, &a);
	} else if (strcmp(c.command, "stop") == 0)
		rc = daemon_stop(&a.cfg);
	else if (strcmp(c.command, "status") == 0)
		rc = cmd_status(&c, &a.cfg);
	else if (strcmp(c.command, "reconcile") == 0 ||
	    strcmp(c.command, "enable") == 0 || strcmp(c.command, "disable") == 0)
		rc = cmd_request(&a.cfg, c.command);
	else {
		fprintf(stderr, "%s: unknown command '%s'; commands: run, start, "
		    "stop, status, doctor, reconcile, enable, disable\n", AGENT_NAME,
		    c.command);
		rc = EXIT_USAGE;
	}
	config_free(&a.cfg);
	free(c.flags);
	return rc;
}
