/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `wsl-docker-agent doctor': what in this user's own setup, and in the
 * agent's as this user sees it, keeps docker from working, each finding
 * with its fix.  doctor-config.c reads the docker client's files (pure:
 * text in, facts out, so unit tests and a fuzzer drive it); doctor.c
 * holds the findings, their decisions and their printing; doctor-look.c
 * looks at the kernel, the agent and the group, doctor-client.c at the
 * docker client's side, both as the calling user with that user's rights.
 */
#ifndef WDA_DOCTOR_H
#define WDA_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* doctor's own exit status: something keeps docker from working. */
#define EXIT_FINDINGS		2

/* Bounds on what doctor reads. */
#define DOCKER_CONFIG_MAX_BYTES	(1024 * 1024)	/* config.json, auths included */
#define DOCKER_META_MAX_BYTES	(64 * 1024)	/* a context's meta.json */
#define DOCKER_JSON_DEPTH	16	/* nesting of either */
#define DOCKER_HELPERS_MAX	64	/* credHelpers entries looked at */
#define DOCTOR_SHELL_FILE_MAX	(256 * 1024)	/* a shell start-up file */
#define DOCTOR_FINDINGS_MAX	64	/* findings kept; the rest counted */
#define DOCTOR_PLUGINS_MAX	256	/* entries of a cli-plugins directory */

/* ------------------------------------------------------------------ */
/* doctor-config.c: the docker client's configuration, as docker reads it */

struct docker_cred_helper {
	char	*registry;
	char	*helper;	/* "desktop.exe": docker-credential-desktop.exe */
};

struct docker_config {
	char	*current_context;	/* currentContext; NULL when unset */
	char	*creds_store;		/* credsStore; NULL when unset */
	struct docker_cred_helper *helpers;	/* credHelpers, in file order */
	size_t	 nhelpers;
	size_t	 helpers_left_out;	/* past DOCKER_HELPERS_MAX */
};

/*
 * Parse the text of a docker config.json (origin names it in messages):
 * 0 and *out, or -1 with err as "origin:LINE:COLUMN: what is wrong".  As
 * docker does, blank text is an empty configuration, member names match
 * whatever their case, null is as if the member were absent, and text
 * after the object is not read.  Only currentContext, credsStore and
 * credHelpers are checked; anything else may hold any JSON.
 */
int	docker_config_parse(const char *buf, size_t len, const char *origin,
	    struct docker_config *out, char *err, size_t errlen);
void	docker_config_free(struct docker_config *);

/* A context's meta.json: its Name, and Endpoints.docker.Host. */
struct docker_context {
	char	*name;		/* NULL when it has none */
	char	*host;		/* NULL: no docker endpoint; "": the default */
};
int	docker_context_parse(const char *buf, size_t len, const char *origin,
	    struct docker_context *out, char *err, size_t errlen);
void	docker_context_free(struct docker_context *);
/* DIR/contexts/meta/<sha256 of name>/meta.json, where docker keeps it. */
char	*docker_context_meta_path(const char *config_dir, const char *name);
/* What a docker host names when it is a unix socket: the path; else NULL. */
const char *docker_host_unix_path(const char *host);
/* Could docker run docker-credential-<name> from PATH for this name? */
bool	docker_helper_name_ok(const char *name);

/* ------------------------------------------------------------------ */
/* doctor.c: decisions (pure), findings, printing */

/* The WSL version the text of /proc/version shows: 1, 2, or 0 (not WSL). */
int	doctor_wsl_version(const char *proc_version);
/*
 * The first line of a shell start-up file's text that sets var (VAR=...,
 * export VAR..., declare -x, setenv, fish's set -x): its number from 1;
 * 0 when none does.  Comments do not count.
 */
unsigned doctor_line_setting(const char *text, size_t len, const char *var);
/* Does a file starting with these bytes look like a Windows program? */
bool	doctor_is_windows_program(const unsigned char *head, size_t n);

/* Can this session run Windows programs (WSL interop)? */
enum doctor_interop {
	DOCTOR_INTEROP_OK,
	DOCTOR_INTEROP_ABSENT,		/* no binfmt_misc WSLInterop entry */
	DOCTOR_INTEROP_DISABLED,	/* the entry says "disabled" */
	DOCTOR_INTEROP_STALE,		/* WSL_INTEROP names a dead socket */
};
/*
 * entry: the text of /proc/sys/fs/binfmt_misc/WSLInterop, NULL when it
 * is absent; wsl_interop_set: WSL_INTEROP is set; wsl_interop_alive: its
 * socket accepted a connection.
 */
enum doctor_interop doctor_interop_state(const char *entry,
	    bool wsl_interop_set, bool wsl_interop_alive);

/* Where the user stands with socket.group. */
enum doctor_group {
	DOCTOR_GROUP_OK,	/* this session has it (or root, or no need) */
	DOCTOR_GROUP_NONE,	/* the group does not exist */
	DOCTOR_GROUP_OUT,	/* the user is not a member */
	DOCTOR_GROUP_LATER,	/* a member, but not in this session */
};
struct doctor_group_facts {
	bool	root;		/* uid 0 */
	bool	socket_usable;	/* the socket exists and this user may connect */
	bool	exists;		/* the group is in the group database */
	bool	in_session;	/* among this process's groups */
	bool	member;		/* listed in the group, or it is the user's own */
};
enum doctor_group doctor_group_state(const struct doctor_group_facts *);

/* Every finding's id; NULL-terminated (wsl-docker-agent(8) lists them). */
extern const char *const doctor_ids[];

struct doctor_finding {
	const char	*id;		/* stable: wsl-docker-agent(8) lists them */
	char		*what;		/* what is wrong, no final period */
	char		*fix;		/* what to run or change, and where */
	char		*subject;	/* the variable, entry or file; NULL */
	char		*value;		/* what it is set to, or points at; NULL */
};

struct doctor_report {
	char		*user;
	uid_t		 uid;
	char		*distro;
	char		*engine;	/* "20.10.24 at /run/docker.sock"; NULL */
	struct doctor_finding f[DOCTOR_FINDINGS_MAX];
	size_t		 n;
	size_t		 left_out;	/* past DOCTOR_FINDINGS_MAX */
};
/* One finding; what is a format.  Strings are copied. */
void	doctor_add(struct doctor_report *, const char *id, const char *subject,
	    const char *value, const char *fix, const char *what_fmt, ...)
	    __attribute__((format(printf, 6, 7)));
void	doctor_report_free(struct doctor_report *);
/* For a person: one line a finding, with its fix; escaped. */
void	doctor_print_text(const struct doctor_report *, FILE *);
/* For scripts and the host: {user, uid, distro, findings, summary}. */
void	doctor_print_json(const struct doctor_report *, FILE *);
/* 0 when nothing was found, EXIT_FINDINGS otherwise. */
int	doctor_exit_status(const struct doctor_report *);

/*
 * The command: the agent's configuration (file: -c, or NULL for the
 * default; flags: key, value pairs as main.c collects them), then every
 * look, then the report on stdout.  Returns the exit status.
 */
int	doctor_main(const char *config_file, char **flags, int nflags,
	    bool json);

/* ------------------------------------------------------------------ */
/* doctor-look.c: the looks, as the calling user */

struct config;
struct json_object;
/*
 * Everything doctor looks at, added to the report: the kernel, the agent
 * (status, or why it does not answer; cfg_error: why its configuration
 * could not be read, or NULL), a local engine on socket.path, the docker
 * group, then the client's side (doctor_look_client).
 */
void	doctor_look(struct doctor_report *, const struct config *,
	    const char *cfg_error);
/* doctor-client.c: the docker client's side, as the calling user */

/* What the client's looks need to know of the user and the agent. */
struct doctor_client {
	const char	*home;		/* $HOME, or the passwd entry's */
	const char	*config_dir;	/* $DOCKER_CONFIG, or HOME/.docker */
	const char	*config_path;	/* config_dir/config.json */
	const char	*socket_path;	/* the agent's socket.path */
	const char	*bin_dir;	/* links.bin_dir */
	const char	*plugin_dir;	/* links.plugin_dir */
	const char	*distro;
};
/*
 * The docker command in PATH, the user's docker configuration, where
 * docker talks to, its credential helpers and the user's CLI plugins.
 */
void	doctor_look_client(struct doctor_report *, const struct doctor_client *);

/*
 * A file of at most max bytes, NUL-terminated: 0 with *buf (malloc'd)
 * and *len; -1 and errno (ENOENT, EACCES...; EFBIG when it is larger,
 * EINVAL when it is not a regular file).  Opened without following a
 * FIFO into a hang.
 */
int	doctor_read_file(const char *path, size_t max, char **buf, size_t *len);

#endif
