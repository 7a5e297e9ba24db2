/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wsl-docker-shim: one program, many names.  Run as docker, docker-compose,
 * docker-credential-* or any tool Docker Desktop ships, it execs the real
 * tool when Docker Desktop's tree holds it (the agent has not relinked
 * yet), and otherwise asks the agent why not and says so, once, with an
 * exit code per cause.  It reads the agent's own configuration with the
 * agent's own code (libagent.a), and needs nothing else to be running.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "base/config.h"
#include "base/util.h"
#include "sys/wsl.h"
#include "main/client.h"
#include "shim.h"

/* Input a credential helper is sent is a URL or a small JSON object. */
#define SHIM_STDIN_MAX	(1024 * 1024)

static void
shim_usage(FILE *out)
{
	fprintf(out,
"Usage: %s --which NAME | --help | --version\n"
"       NAME [ARGUMENTS...]   (run through a link named NAME)\n"
"\n"
"The program wsl-docker-agent points its links at (docker, docker-compose,\n"
"docker-credential-*, CLI plugins) while Docker Desktop's CLI is away.\n"
"Run under a tool's name, it runs Docker Desktop's real tool when it is\n"
"there, with the same arguments, input and output; otherwise it says why\n"
"not. Credential helpers answer the helper protocol meanwhile (get: not\n"
"found; list: {}), so anonymous pulls work; CLI plugins answer\n"
"docker-cli-plugin-metadata.\n"
"\n"
"Options (under its own name):\n"
"      --which NAME   say what running NAME would do: 'exec PATH', or\n"
"                     'CASE CODE MESSAGE' with the exit status CODE\n"
"  -h, --help         show this help\n"
"  -V, --version      show the version\n"
"\n"
"Exit status when the tool cannot run:\n"
"  69  Docker Desktop is not running (or its CLI tools are not mounted)\n"
"  74  the answer could not be written\n"
"  76  the wsl-docker-agent service is not running (or answers wrongly)\n"
"  77  WSL integration is off for this distro\n"
"  78  the agent is not running and its configuration is unreadable\n"
"  126 Docker Desktop's tool is there but cannot be run\n"
"  127 Docker Desktop runs but has no such tool\n"
"  64  usage error, or run under a name no tool has\n"
"  71  out of memory while reading the configuration\n"
"Otherwise the tool's own exit status.\n"
"\n"
"Environment: %s names the configuration file\n"
"(default %s).\n"
"See wsl-docker-shim(1), wsl-docker-agent(8).\n",
	    SHIM_NAME, SHIM_CONFIG_ENV, CONFIG_DEFAULT_PATH);
}

static int
shim_write_all(int fd, const char *text)
{
	size_t left = strlen(text);
	while (left > 0) {
		ssize_t n = write(fd, text, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		text += n;
		left -= (size_t)n;
	}
	return 0;
}

/* A message on stderr; if even that fails there is no one left to tell. */
static void
shim_say(const char *message)
{
	if (shim_write_all(STDERR_FILENO, message) == 0)
		(void)shim_write_all(STDERR_FILENO, "\n");
}

/* An answer on stdout, which the caller (docker) parses. */
static int
shim_answer(const char *text, int code)
{
	return shim_write_all(STDOUT_FILENO, text) == 0 ? code : SHIM_EXIT_IOERR;
}

/*
 * The agent's configuration, as the agent reads it.  A file that cannot
 * be read leaves the defaults in place (loading is all or nothing), and
 * the reason in `err' for when it matters.
 */
static void
shim_load_config(struct config *cfg, char *err, size_t errlen)
{
	const char *env = getenv(SHIM_CONFIG_ENV);
	bool named = env != NULL && *env != '\0';

	err[0] = '\0';
	config_init(cfg);
	if (config_load_file(cfg, named ? env : CONFIG_DEFAULT_PATH, named, err,
	    errlen) == 0)
		err[0] = '\0';
	wsl_resolve_config(cfg);
}

/* Drain what docker sends a credential helper, so it never sees EPIPE. */
static void
shim_drain_stdin(void)
{
	char buf[4096];
	size_t total = 0;
	while (total < SHIM_STDIN_MAX) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;		/* EOF, or nothing to drain */
		total += (size_t)n;
	}
}

struct shim_run {
	const char	*name;
	enum shim_kind	 kind;
	int		 argc;
	char		**argv;
	bool		 which;		/* --which: say, do not run */
	struct config	 cfg;
	char		 config_error[CONFIG_ERR_LEN];
	char		 refused[PATH_MAX + 256];
	char		*path;		/* the real tool, once found */
	int		 fd;		/* its checked descriptor, or -1 */
};

/* 1: found; 0: not there; -1: there but refused (r->refused says why). */
static int
shim_look(struct shim_run *r, const char *desktop_dir)
{
	char why[sizeof r->refused];
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	int found = shim_find_tool(desktop_dir, r->name, &r->path, &r->fd, why,
	    sizeof why);
	if (found < 0)
		snprintf(r->refused, sizeof r->refused, "%s", why);
	return found;
}

/*
 * Replace this process with the real tool: same argv, fds, pid, signals;
 * exactly the file that was checked, through its descriptor.
 */
static int
shim_exec(struct shim_run *r)
{
	if (r->which) {
		char line[PATH_MAX + 8];
		snprintf(line, sizeof line, "exec %s\n", r->path);
		return shim_answer(line, 0);
	}
	(void)shim_fexec(r->fd, r->argv);
	int saved = errno;
	char msg[SHIM_MESSAGE_MAX];
	snprintf(msg, sizeof msg, "%s: cannot run %s: %s.", r->name, r->path,
	    strerror(saved));
	shim_end_with_doctor(msg, sizeof msg);
	shim_say(msg);
	return saved == ENOENT ? SHIM_EXIT_NO_TOOL : SHIM_EXIT_TOOL_REFUSED;
}

/*
 * Ask the agent.  Returns false when it does not answer at all (`err'
 * says why); a reply that is not a status comes back with st->valid false.
 */
static bool
shim_ask_agent(const char *control_socket, struct shim_status *st,
    char *err, size_t errlen)
{
	char *reply = NULL;
	if (control_request(control_socket, "{\"request\":\"status\"}", &reply,
	    err, errlen) < 0)
		return false;
	shim_status_parse(reply, st);
	free(reply);
	return true;
}

/*
 * Is docker usable without us explaining?  The agent answers, or something
 * serves socket.path (systemd's .socket unit starts the agent on the first
 * connection, so the real CLI is what should run).
 */
static bool
shim_engine_reachable(const struct config *cfg)
{
	char *reply = NULL, err[256];
	bool ok = control_request(cfg->control_socket, "{\"request\":\"ping\"}",
	    &reply, err, sizeof err) == 0;
	free(reply);
	if (!ok) {
		int fd = util_unix_connect(cfg->socket_path);
		if (fd >= 0) {
			close(fd);
			ok = true;
		}
	}
	return ok;
}

static int
shim_explain(struct shim_run *r, const struct shim_decision *d)
{
	if (r->which) {
		char line[SHIM_ANSWER_MAX];
		snprintf(line, sizeof line, "%s %d %s\n", shim_case_name(d->kase),
		    d->exit_code, d->message);
		return shim_answer(line, d->exit_code);
	}
	if (r->kind == SHIM_KIND_CREDENTIAL) {
		char out[SHIM_ANSWER_MAX];
		enum shim_cred_action a = shim_cred_action_of(r->argc, r->argv);
		int code = shim_cred_answer(a, r->name, d->message, out,
		    sizeof out);
		return shim_answer(out, code);
	}
	shim_say(d->message);
	return d->exit_code;
}

/* Answers that do not depend on why the tool is away: no agent needed. */
static bool
shim_answer_at_once(struct shim_run *r, int *code)
{
	if (r->which)
		return false;
	if (r->kind == SHIM_KIND_CREDENTIAL) {
		enum shim_cred_action a = shim_cred_action_of(r->argc, r->argv);
		if (shim_cred_reads_stdin(a))
			shim_drain_stdin();
		if (shim_cred_needs_cause(a))
			return false;
		char out[SHIM_ANSWER_MAX];
		int c = shim_cred_answer(a, r->name, NULL, out, sizeof out);
		*code = shim_answer(out, c);
		return true;
	}
	if (r->kind == SHIM_KIND_PLUGIN &&
	    shim_is_metadata_request(r->argc, r->argv)) {
		char out[SHIM_ANSWER_MAX];
		shim_plugin_metadata(out, sizeof out);
		*code = shim_answer(out, 0);
		return true;
	}
	return false;
}

/*
 * The tool is not there (found 0) or refused (-1): ask the agent why, and
 * decide.  Returns 1 if the tool turned up after all.
 */
static int
shim_why_not(struct shim_run *r, int found, struct shim_decision *d)
{
	struct shim_status st;
	char agent_error[512] = "";
	bool answered = found == 0 && shim_ask_agent(r->cfg.control_socket,
	    &st, agent_error, sizeof agent_error);
	/*
	 * The agent sees the CLI: Docker Desktop came back since we looked,
	 * or the agent was told of another tree.  Look once more, there.
	 */
	if (answered && st.valid && !st.disabled && st.cli_tools) {
		found = shim_look(r, st.desktop_dir[0] != '\0' ? st.desktop_dir :
		    r->cfg.desktop_dir);
		if (found > 0)
			return 1;
	}
	struct shim_facts facts = {
		.desktop_present = shim_desktop_present(r->cfg.desktop_dir),
		.systemd = sd_booted() > 0,
		.distro = r->cfg.distro,
		.agent_error = agent_error[0] != '\0' ? agent_error : NULL,
		.config_error = r->config_error[0] != '\0' ? r->config_error : NULL,
		.refused = found < 0 ? r->refused : NULL,
	};
	shim_decide(answered ? &st : NULL, r->name, &facts, d);
	return found;
}

static int
shim_run_tool(struct shim_run *r)
{
	struct shim_decision d;
	int code;

	shim_load_config(&r->cfg, r->config_error, sizeof r->config_error);
	int found = shim_look(r, r->cfg.desktop_dir);
	if (found <= 0 && shim_answer_at_once(r, &code)) {
		config_free(&r->cfg);
		return code;
	}
	/*
	 * The tool is there but the agent is not: then /run/docker.sock is
	 * gone too, and docker would only say "Cannot connect to the Docker
	 * daemon".  Say what is wrong instead.  Credential helpers talk to
	 * Windows, not the engine, so they still run.
	 */
	if (found > 0 && r->kind != SHIM_KIND_CREDENTIAL &&
	    !shim_engine_reachable(&r->cfg)) {
		free(r->path);
		r->path = NULL;
		close(r->fd);
		r->fd = -1;
		found = 0;
	}
	if (found <= 0)
		found = shim_why_not(r, found, &d);
	/* Nothing of ours needs to outlive an exec: the image goes anyway. */
	config_free(&r->cfg);
	if (found <= 0)
		return shim_explain(r, &d);
	code = shim_exec(r);
	free(r->path);
	if (r->fd >= 0)
		close(r->fd);
	return code;
}

/* Under its own name: help, version, --which. */
static int
shim_self(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		shim_usage(stdout);
		return fflush(stdout) == 0 && !ferror(stdout) ? 0 : SHIM_EXIT_IOERR;
	}
	if (argc == 2 && (strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "--version") == 0))
		return shim_answer(SHIM_NAME " " PACKAGE_VERSION "\n", 0);
	if (argc == 3 && strcmp(argv[1], "--which") == 0) {
		struct shim_run r = { .argc = 1, .argv = argv + 2, .which = true,
		    .fd = -1 };
		r.kind = shim_kind_of(argv[2], &r.name);
		if (r.kind != SHIM_KIND_INVALID && r.kind != SHIM_KIND_SELF &&
		    strchr(argv[2], '/') == NULL)
			return shim_run_tool(&r);
		fprintf(stderr, "%s: --which takes a tool's name, such as docker, "
		    "not '%s'\n", SHIM_NAME, argv[2]);
		return SHIM_EXIT_USAGE;
	}
	shim_usage(stderr);
	return SHIM_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	struct shim_run r = { .argc = argc, .argv = argv, .fd = -1 };
	r.kind = shim_kind_of(argc > 0 ? argv[0] : NULL, &r.name);
	if (r.kind == SHIM_KIND_SELF)
		return shim_self(argc, argv);
	if (r.kind == SHIM_KIND_INVALID) {
		shim_say(SHIM_NAME ": run it through a link named after a Docker "
		    "tool, such as docker; see wsl-docker-shim(1)");
		return SHIM_EXIT_USAGE;
	}
	return shim_run_tool(&r);
}
