/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wsl-docker-shim: the program the agent's links point at while Docker
 * Desktop's CLI is away.  Run under a tool's name, it execs the real tool
 * when it is there after all, and otherwise says why it is not, with a
 * distinct exit code per cause (wsl-docker-shim(1)).
 *
 * shim-decide.c holds the decisions (pure: text in, text out, unit
 * tested); shim-tool.c looks at Docker Desktop's tree; shim.c is main().
 */
#ifndef WSL_DOCKER_SHIM_H
#define WSL_DOCKER_SHIM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define SHIM_NAME		"wsl-docker-shim"
/* Names another configuration file (tests, a second agent). */
#define SHIM_CONFIG_ENV		"WSL_DOCKER_AGENT_CONFIG"
#define SHIM_MESSAGE_MAX	1024
/* How every message of a tool that cannot run ends (wsl-docker-shim(1)). */
#define SHIM_DOCTOR_HINT	" To check the rest of your setup, run " \
				"'wsl-docker-agent doctor'."

#define SHIM_ANSWER_MAX		(SHIM_MESSAGE_MAX + 64)

/* Exit codes, one per cause; the man page and --help list them. */
#define SHIM_EXIT_USAGE		 64	/* EX_USAGE: bad command line or name */
#define SHIM_EXIT_DESKTOP_DOWN	 69	/* EX_UNAVAILABLE: Docker Desktop not running */
#define SHIM_EXIT_IOERR		 74	/* EX_IOERR: cannot write the answer */
#define SHIM_EXIT_AGENT_DOWN	 76	/* EX_PROTOCOL: the agent does not answer */
#define SHIM_EXIT_INTEGRATION_OFF 77	/* EX_NOPERM: integration off for the distro */
#define SHIM_EXIT_BAD_CONFIG	 78	/* EX_CONFIG: configuration unreadable */
#define SHIM_EXIT_TOOL_REFUSED	126	/* the tool is there but cannot be run */
#define SHIM_EXIT_NO_TOOL	127	/* Docker Desktop runs but has no such tool */
/* One code per cause, so no two may be equal: kept in ascending order. */
_Static_assert(SHIM_EXIT_USAGE < SHIM_EXIT_DESKTOP_DOWN &&
    SHIM_EXIT_DESKTOP_DOWN < SHIM_EXIT_IOERR &&
    SHIM_EXIT_IOERR < SHIM_EXIT_AGENT_DOWN &&
    SHIM_EXIT_AGENT_DOWN < SHIM_EXIT_INTEGRATION_OFF &&
    SHIM_EXIT_INTEGRATION_OFF < SHIM_EXIT_BAD_CONFIG &&
    SHIM_EXIT_BAD_CONFIG < SHIM_EXIT_TOOL_REFUSED &&
    SHIM_EXIT_TOOL_REFUSED < SHIM_EXIT_NO_TOOL,
    "the shim's exit codes are distinct, in ascending order");

/* ------------------------------------------------------------------ */
/* shim-decide.c */

/* What the shim was run as: the base name of argv[0]. */
enum shim_kind {
	SHIM_KIND_SELF,		/* wsl-docker-shim: help, version, --which */
	SHIM_KIND_CLI,		/* docker */
	SHIM_KIND_CREDENTIAL,	/* docker-credential-* */
	SHIM_KIND_PLUGIN,	/* any other docker-*: compose, buildx, ... */
	SHIM_KIND_TOOL,		/* anything else Docker Desktop ships */
	SHIM_KIND_INVALID	/* no name, or one no tool could have */
};
enum shim_kind shim_kind_of(const char *argv0, const char **name);

/* The parts of the agent's status (agent_status_json()) the shim uses. */
struct shim_status {
	bool	valid;			/* the reply parsed as a status */
	bool	disabled;		/* agent.disabled */
	bool	desktop_present;	/* desktop.present */
	bool	cli_tools;		/* desktop.cli_tools */
	char	distro[256];		/* agent.distro, or "" */
	char	desktop_dir[PATH_MAX];	/* desktop.dir, or "" */
	char	untrusted[SHIM_MESSAGE_MAX / 2];	/* desktop.untrusted, or "" */
};
void	shim_status_parse(const char *json, struct shim_status *);

/* What the shim found out by itself, without the agent. */
struct shim_facts {
	bool		 desktop_present;	/* desktop_dir is a directory */
	bool		 systemd;		/* booted with systemd */
	const char	*distro;		/* from the configuration */
	const char	*agent_error;		/* why the agent did not answer */
	const char	*config_error;		/* why it is unreadable, or NULL */
	const char	*refused;		/* the tool is there but refused: why */
};

enum shim_case {
	SHIM_CASE_AGENT_DOWN,
	SHIM_CASE_BAD_CONFIG,
	SHIM_CASE_INTEGRATION_OFF,
	SHIM_CASE_DESKTOP_DOWN,
	SHIM_CASE_NO_TOOL,
	SHIM_CASE_TOOL_REFUSED
};

struct shim_decision {
	enum shim_case	 kase;
	int		 exit_code;
	char		 message[SHIM_MESSAGE_MAX];	/* "docker: ...", no newline */
};

/*
 * Why `name' cannot run, from the agent's status (NULL: the control
 * socket did not answer) and the facts.  The message ends with
 * SHIM_DOCTOR_HINT, whatever else it holds.
 */
void	shim_decide(const struct shim_status *, const char *name,
	    const struct shim_facts *, struct shim_decision *);
const char *shim_case_name(enum shim_case);
/* End msg (a string in size bytes) with SHIM_DOCTOR_HINT, cutting it if need be. */
void	shim_end_with_doctor(char *msg, size_t size);

/* The credential-helper protocol: action in argv[1], answers on stdout. */
enum shim_cred_action {
	SHIM_CRED_GET,
	SHIM_CRED_STORE,
	SHIM_CRED_ERASE,
	SHIM_CRED_LIST,
	SHIM_CRED_VERSION,
	SHIM_CRED_USAGE		/* no action or an unknown one */
};
enum shim_cred_action shim_cred_action_of(int argc, char *const argv[]);
/* get, store and erase are sent their input on stdin. */
bool	shim_cred_reads_stdin(enum shim_cred_action);
/* store and erase fail, naming the cause (a shim_decision's message). */
bool	shim_cred_needs_cause(enum shim_cred_action);
/* Write the stdout answer (newline-terminated); returns the exit code. */
int	shim_cred_answer(enum shim_cred_action, const char *name,
	    const char *cause, char *out, size_t outlen);

/* `docker-NAME docker-cli-plugin-metadata', as the docker CLI asks. */
bool	shim_is_metadata_request(int argc, char *const argv[]);
void	shim_plugin_metadata(char *out, size_t outlen);

/* ------------------------------------------------------------------ */
/* shim-tool.c */

/*
 * Find Docker Desktop's `name' where the agent links it from: cli-tools'
 * usr/bin, then (docker-* names) its cli-plugins directories, each walked
 * by descriptor from the shared root as the agent does
 * (desktop_open_cli_dir, desktop_open_tool).  Returns 1 with *path set
 * (malloc'd) and *fd, the checked file's O_PATH descriptor to execute,
 * when one is valid; -1 with `why' set when one is there but refused; 0
 * when none is there.
 */
int	shim_find_tool(const char *desktop_dir, const char *name, char **path,
	    int *fd, char *why, size_t whylen);
/*
 * Execute exactly the checked file: execveat(fd, "", AT_EMPTY_PATH).  A
 * script's interpreter opens it again through /proc/self/fd, so for one
 * the descriptor is kept open across the exec.  Returns only on failure.
 */
int	shim_fexec(int fd, char *const argv[]);
bool	shim_desktop_present(const char *desktop_dir);

#endif
