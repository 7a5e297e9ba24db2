/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wsl-docker-agent: command line.  Subcommands run, start, stop, status,
 * doctor, reconcile, enable, disable; every configuration key is also a
 * flag, generated from the one table in base/config-keys.c.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/config.h"
#include "base/defs.h"
#include "base/log.h"
#include "base/status.h"
#include "sys/daemon.h"
#include "sys/supervise.h"
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
"              distros without systemd (/etc/wsl.conf [boot] command=): a\n"
"              supervisor brings the agent back if it dies, keeping\n"
"              /run/docker.sock; returns once the agent is ready; a second\n"
"              start is a no-op\n"
"  restart     with start's supervisor: restart the agent now (the binary\n"
"              installed now), keeping /run/docker.sock (root)\n"
"  stop        stop the agent (and start's supervisor) for good and wait\n"
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
			    "wsl-docker-agent restart" :
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
	/* Under `start''s supervisor, which holds the lock for both. */
	bool supervised = getenv(SUPERVISE_ENV) != NULL &&
	    getenv("NOTIFY_SOCKET") != NULL;
	int lock = supervised ? -1 : daemon_lock(a->cfg.pidfile, &holder);
	if (lock < 0 && !supervised) {
		if (holder > 0)
			fatal(EXIT_CONFLICT, "already running (pid %ld); one agent "
			    "per distro. Stop it first ('wsl-docker-agent stop')",
			    (long)holder);
		fatal(EXIT_OSERR, "cannot take the lock next to %s: %s",
		    a->cfg.pidfile, strerror(errno));
	}
	if (daemon_write_pidfile(a->cfg.pidfile) < 0)
		log_warn("agent", "cannot write the pidfile %s: %s",
		    a->cfg.pidfile, strerror(errno));
	int rc = agent_run(a, -1);
	if (lock >= 0) {
		(void)unlink(a->cfg.pidfile);
		close(lock);
	}
	return rc;
}

/*
 * `start': the supervisor runs this very binary (by its path, so that an
 * upgrade's restart runs the new one) as `run', with the same options.
 */
static int
cmd_start(struct cli *c, struct agent *a)
{
	char exe[PATH_MAX];
	require_root("start");
	if (realpath("/proc/self/exe", exe) == NULL)
		fatal(EXIT_OSERR, "cannot tell where this program is: %s",
		    strerror(errno));
	size_t n = 0, max = 5 + (size_t)c->nflags;
	char **argv = calloc(max, sizeof *argv);
	if (argv == NULL)
		fatal(EXIT_OSERR, "out of memory");
	argv[n++] = exe;
	argv[n++] = (char *)"run";
	if (c->config_file != NULL) {
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)c->config_file;
	}
	char **flags = calloc((size_t)c->nflags / 2 + 1, sizeof *flags);
	if (flags == NULL)
		fatal(EXIT_OSERR, "out of memory");
	for (int i = 0; i + 1 < c->nflags; i += 2) {
		if (asprintf(&flags[i / 2], "--%s=%s", c->flags[i],
		    c->flags[i + 1]) < 0)
			fatal(EXIT_OSERR, "out of memory");
		argv[n++] = flags[i / 2];
	}
	argv[n] = NULL;
	int rc = daemon_start(&a->cfg, exe, argv);
	for (int i = 0; i < c->nflags / 2; i++)
		free(flags[i]);
	free(flags);
	free(argv);
	return rc;
}

/* agent.pid of a status reply; 0 if none. */
static long
agent_pid_of(const char *reply)
{
	struct json_object *st = json_tokener_parse(reply), *agent, *pid;
	long n = st != NULL && json_object_object_get_ex(st, "agent", &agent) &&
	    json_object_object_get_ex(agent, "pid", &pid) ?
	    (long)json_object_get_int64(pid) : 0;
	json_object_put(st);
	return n;
}

/*
 * `restart' (a package upgrade without systemd): the supervisor stops the
 * agent and starts it again, the new binary if there is one; the socket
 * and what else it keeps stay.  Waits until the new agent answers.
 */
static int
cmd_restart(struct config *cfg)
{
	bool supervisor;
	require_root("restart");
	pid_t sup = daemon_lock_holder(cfg->pidfile, &supervisor);
	if (!supervisor) {
		if (daemon_running_pid(cfg->pidfile) > 0) {
			fprintf(stderr, "%s: the agent runs under systemd here; "
			    "restart it with 'systemctl restart "
			    "wsl-docker-agent'\n", AGENT_NAME);
			return EXIT_USAGE;
		}
		printf("%s: not running; starting it is 'wsl-docker-agent "
		    "start'\n", AGENT_NAME);
		return EXIT_UNAVAILABLE;
	}
	char *reply = NULL, err[256];
	long before = 0;
	if (control_request(cfg->control_socket, "{\"request\":\"status\"}",
	    &reply, err, sizeof err) == 0)
		before = agent_pid_of(reply);
	free(reply);
	if (kill(sup, SIGUSR2) < 0) {
		fprintf(stderr, "%s: cannot signal the supervisor (pid %ld): %s\n",
		    AGENT_NAME, (long)sup, strerror(errno));
		return EXIT_OSERR;
	}
	for (int i = 0; i < 600; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		reply = NULL;
		if (control_request(cfg->control_socket,
		    "{\"request\":\"status\"}", &reply, err, sizeof err) == 0) {
			long now = agent_pid_of(reply);
			free(reply);
			if (now > 0 && now != before) {
				printf("%s: restarted (pid %ld)\n", AGENT_NAME, now);
				return 0;
			}
		} else
			free(reply);
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "%s: the agent did not come back within 30 s; see %s\n",
	    AGENT_NAME, cfg->log_file);
	return EXIT_SOFTWARE;
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
	else if (strcmp(c.command, "start") == 0)
		rc = cmd_start(&c, &a);
	else if (strcmp(c.command, "restart") == 0)
		rc = cmd_restart(&a.cfg);
	else if (strcmp(c.command, "stop") == 0)
		rc = daemon_stop(&a.cfg);
	else if (strcmp(c.command, "status") == 0)
		rc = cmd_status(&c, &a.cfg);
	else if (strcmp(c.command, "reconcile") == 0 ||
	    strcmp(c.command, "enable") == 0 || strcmp(c.command, "disable") == 0)
		rc = cmd_request(&a.cfg, c.command);
	else {
		fprintf(stderr, "%s: unknown command '%s'; commands: run, start, "
		    "stop, restart, status, doctor, reconcile, enable, disable\n",
		    AGENT_NAME,
		    c.command);
		rc = EXIT_USAGE;
	}
	config_free(&a.cfg);
	free(c.flags);
	return rc;
}
