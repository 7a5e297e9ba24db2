/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wsl-docker-agent: the Linux-side integration agent for Docker Desktop on
 * WSL 2.  One header for the whole daemon; prototypes are grouped by the
 * file that defines them.  Headers say what, .c files say how.
 */
#ifndef WSL_DOCKER_AGENT_H
#define WSL_DOCKER_AGENT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

struct event_base;
struct json_object;
struct json_tokener;

#define AGENT_NAME "wsl-docker-agent"

/* Exit codes (sysexits-style where one fits; documented in the man page). */
#define EXIT_UNHEALTHY	 1	/* status: something needs attention */
#define EXIT_USAGE	 64	/* EX_USAGE: bad command line */
#define EXIT_CONFIG	 78	/* EX_CONFIG: bad configuration */
#define EXIT_UNAVAILABLE 69	/* EX_UNAVAILABLE: agent not running */
#define EXIT_SOFTWARE	 70	/* EX_SOFTWARE: internal error */
#define EXIT_OSERR	 71	/* EX_OSERR: a system call failed at start */
#define EXIT_NOPERM	 77	/* EX_NOPERM: needs root */
#define EXIT_CONFLICT	 75	/* EX_TEMPFAIL: refused to take over */

/*
 * The tokener flags for everything read from outside: strict JSON, valid
 * UTF-8.  Set them with util_json_parse(), which also works around json-c
 * 0.18's strict mode refusing every string byte above 0x7f, valid UTF-8
 * included (json-c#875, #892; Debian 13 ships 0.18).
 */
#define AGENT_JSON_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)
#define AGENT_JSON_STRICT_BROKEN \
	(JSON_C_VERSION_NUM >= ((0 << 16) | (18 << 8)))
/*
 * json-c 0.18 also refuses an integer too large for 64 bits while parsing
 * ("number expected", with the byte); before, it kept it clamped and the
 * agent's own range checks name the key (as they still do for 1e400).
 */
#define JSON_C_REFUSES_HUGE_NUMBERS \
	(JSON_C_VERSION_NUM >= ((0 << 16) | (18 << 8)))

/* Fixed bounds on everything read from outside. */
#define CONFIG_MAX_BYTES	(256 * 1024)
#define JSON_MAX_DEPTH		16
#define CONTROL_MAX_LINE	4096
#define CONTROL_TIMEOUT_S	5	/* seconds, both ends */
#define NAME_MAX_LEN		255

/* ------------------------------------------------------------------ */
/* log.c */

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_NOTICE = 5,
		 LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

/* Where log lines go: journald (structured) or stderr. */
void	log_open(bool to_journal, enum log_level max_level);
void	log_set_level(enum log_level max_level);
enum log_level log_level_from_name(const char *);	/* config's log_level */
bool	log_journal_available(void);
void	log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * Log a state line only when the state named by `key' changes: repeating
 * failures are logged once, then again when the message differs.  Pass
 * NULL fmt to forget the key (the state cleared) without logging.
 */
void	log_state(enum log_level lvl, const char *component, const char *key,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	log_forget_all(void);

#define log_err(c, ...)		log_msg(LOG_LVL_ERR, c, __VA_ARGS__)
#define log_warn(c, ...)	log_msg(LOG_LVL_WARN, c, __VA_ARGS__)
#define log_notice(c, ...)	log_msg(LOG_LVL_NOTICE, c, __VA_ARGS__)
#define log_info(c, ...)	log_msg(LOG_LVL_INFO, c, __VA_ARGS__)
#define log_debug(c, ...)	log_msg(LOG_LVL_DEBUG, c, __VA_ARGS__)

/* Start-up only: print and exit. */
void	fatal(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

/* ------------------------------------------------------------------ */
/* config.c */

enum socket_mode { SOCKET_MODE_PROXY, SOCKET_MODE_MOUNT };
enum links_on_stop { LINKS_ON_STOP_SHIM, LINKS_ON_STOP_REMOVE };
enum bind_repair { BIND_REPAIR_RESTART, BIND_REPAIR_REPORT };

struct config {
	char	*config_file;		/* where it came from, or NULL */
	char	*desktop_dir;		/* NULL: found from mountinfo */
	char	*socket_path;
	enum socket_mode socket_mode;
	char	*socket_group;
	int	 socket_max_connections;
	char	*bin_dir;
	char	*plugin_dir;
	enum links_on_stop links_on_stop;
	char	*shim_path;
	char	*cli_mount;		/* the private view of cli-tools */
	char	*host_address;		/* NULL: auto (vsock on WSL 2) */
	int	 host_interval;		/* seconds between health reports */
	char	*control_socket;
	char	*state_dir;
	char	*pidfile;
	char	*log_file;
	char	*log_level;
	char	*distro;		/* NULL: derived at start */
	char	*bind_shared_paths;	/* ':'-separated, seen by the engine */
	char	*bind_engine_wsl_root;	/* the shared tmpfs, as the engine sees it */
	char	*bind_engine_drive_root; /* drive X at ROOT/x for it; "": off */
	enum bind_repair bind_repair;	/* a container on a stand-in */
	int	 bind_restore_timeout;	/* seconds READY=1 waits for restore */
	int	 bind_standin_max;	/* MiB of stand-in data moved, in all */
};

/* One row per key: the JSON key and the flag mirror each other. */
enum config_type { CFG_STRING, CFG_PATH, CFG_ENUM, CFG_INT, CFG_ADDRESS };
struct config_key {
	const char	*key;		/* "socket.path" */
	const char	*flag;		/* "socket-path" (used as --socket-path) */
	enum config_type type;
	size_t		 offset;	/* into struct config */
	const char	*def;		/* default as text, NULL for none */
	const char	*allowed;	/* enum values "a|b", or int range "1-65535" */
	const char	*help;
};
extern const struct config_key config_keys[];

#define CONFIG_DEFAULT_PATH	SYSCONFDIR "/wsl-docker-agent/config.json"
#define CONFIG_ERR_LEN		512

void	config_init(struct config *);		/* all defaults */
void	config_free(struct config *);
/* Load a JSON file; a missing file is not an error when !must_exist. */
int	config_load_file(struct config *, const char *path, bool must_exist,
	    char *err, size_t errlen);
int	config_load_string(struct config *, const char *json, const char *origin,
	    char *err, size_t errlen);
/* Set one key from text (a flag's value); validates like the file does. */
int	config_set(struct config *, const char *key, const char *value,
	    char *err, size_t errlen);
const struct config_key *config_key_by_flag(const char *flag);
const struct config_key *config_key_by_name(const char *key);
/* Fill what defaults to "auto" (distro, desktop_dir); cannot fail. */
void	config_resolve(struct config *);
struct json_object *config_to_json(const struct config *);
const char *config_socket_mode_name(enum socket_mode);

/* ------------------------------------------------------------------ */
/* address.c: host.address values */

enum address_kind { ADDRESS_NONE, ADDRESS_UNIX, ADDRESS_VSOCK };
struct address {
	enum address_kind kind;
	char		  path[108];	/* unix */
	uint32_t	  cid;		/* vsock */
	uint32_t	  port;		/* vsock */
};
int	address_parse(const char *text, struct address *, char *err, size_t errlen);
void	address_format(const struct address *, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* wsl.c: facts about the environment */

/*
 * Find the shared /mnt/wsl mount from mountinfo; malloc'd.  NULL with
 * errno 0 when there is none, with errno when mountinfo could not be read
 * (or ENOMEM): then nothing is known.
 */
char	*wsl_find_shared_root(const char *mountinfo_path);
bool	 wsl_kernel_is_wsl2(void);
/* Is path a mount point, per mountinfo? */
bool	 wsl_is_mount_point(const char *mountinfo_path, const char *path);
char	*wsl_distro_name(void);			/* malloc'd */
/* One mountinfo line, split in place; all but super_opts unescaped. */
struct mountinfo_entry {
	uint64_t mnt_id;	/* the mount's ID (statx STATX_MNT_ID, fdinfo) */
	char	*root;		/* of the mount, within its file system */
	char	*mount_point;
	char	*optional;	/* "shared:5 master:1" ... */
	char	*fstype;
	char	*source;	/* "" when the line has none */
	char	*super_opts;	/* the rest of the line, as the kernel wrote it */
};
bool	 wsl_parse_mountinfo_line(char *line, struct mountinfo_entry *);

/* ------------------------------------------------------------------ */
/* util.c */

/*
 * Writes a file atomically: temp name in the same directory, fsync,
 * rename.  The agent's state files are written 0600 (manifest, flags).
 */
int	util_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
int	util_mkdir_p(const char *path, mode_t mode);
/* util_mkdir_p() of the directory path is in (for a file about to be made). */
int	util_mkdir_parent(const char *path, mode_t mode);
/*
 * A directory only its owner may enter, for the agent's state: made 0700
 * (its parents 0755) or found, and narrowed if an older version left it
 * wider, with every regular file directly in it (group and other bits
 * dropped: 0644 becomes 0600).  Returns how many were narrowed; -1 and
 * errno.
 */
int	util_private_dir(const char *path);
char	*util_path_join(const char *a, const char *b);	/* malloc'd */
/* Is `path' (after resolving) at or below `dir'? Both absolute. */
bool	util_path_within(const char *path, const char *dir);
struct sockaddr_un;
/*
 * Fill a unix socket address: "/path" names a file, "@name" an abstract
 * socket (as NOTIFY_SOCKET writes it).  Returns the length to pass to
 * bind(2) or connect(2); 0 and errno (ENAMETOOLONG, EINVAL) otherwise.
 */
socklen_t util_sockaddr_un(struct sockaddr_un *, const char *path);
/* A blocking, close-on-exec connection to a unix socket; -1 and errno. */
int	util_unix_connect(const char *path);
/*
 * Capped exponential backoff with jitter: each wait is uniform in
 * [base, min(cap, 3 * the last)], so waits grow, retries from many agents
 * spread out, and none is over cap.
 */
struct backoff {
	uint32_t	 base_ms;
	uint32_t	 cap_ms;
	uint32_t	 last_ms;	/* 0: no wait yet */
};
uint32_t backoff_next(struct backoff *, uint32_t random);
void	backoff_reset(struct backoff *);	/* it worked: start over */
uint32_t util_random(void);		/* getrandom(2), for jitter */
/* Member key of o when it is a string; NULL otherwise (o may be NULL). */
const char *util_json_string(struct json_object *o, const char *key);
/*
 * json_tokener_parse_ex(tok, buf, len) with AGENT_JSON_FLAGS: strict JSON
 * of valid UTF-8, whichever json-c this is.  tok's error and parse end
 * say what they would with a json-c whose strict mode takes UTF-8.
 */
struct json_object *util_json_parse(struct json_tokener *tok, const char *buf,
    size_t len);
/* The same, the work-around on (two_pass) or off; for the unit tests. */
struct json_object *util_json_parse_two_pass(struct json_tokener *tok,
    const char *buf, size_t len, bool two_pass);
uint64_t util_now_ms(void);		/* CLOCK_MONOTONIC */
uint64_t util_wall_ms(void);		/* CLOCK_REALTIME */
long	util_rss_kib(void);
int	util_group_gid(const char *name, gid_t *gid);

/* ------------------------------------------------------------------ */
/* proxy.c: the splice proxy from socket.path to the engine socket */

struct proxy;
struct proxy_stats {
	uint64_t active;	/* connections open now */
	uint64_t total;		/* accepted since start */
	uint64_t refused;	/* closed at once: engine down or over the cap */
	uint64_t errors;	/* ended by an error other than EOF */
	uint64_t bytes_up;	/* client -> engine */
	uint64_t bytes_down;	/* engine -> client */
};

/*
 * Serve connections accepted on listen_fd (already bound and listening,
 * non-blocking) by connecting each to the engine socket engine_fd refers
 * to and splicing both ways.  engine_fd is an O_PATH descriptor the
 * caller walked to and checked, and keeps open while the proxy uses it;
 * it is connected to through /proc/self/fd, never by a path.  -1: none,
 * every client is refused with the reason.  engine_path names it in
 * messages.  max_conns bounds simultaneous connections.
 */
struct proxy *proxy_new(struct event_base *, int listen_fd, int engine_fd,
	    const char *engine_path, int max_conns);
/*
 * The engine socket was walked to again (re-created, or gone: -1): new
 * connections go there.  The old descriptor may be closed once this
 * returns; connections made before stay.
 */
void	proxy_set_engine(struct proxy *, int engine_fd, const char *engine_path);
/*
 * message non-NULL: connect nobody; answer each request with HTTP 503 and
 * {"message": message}, which docker prints.  NULL: serve again.
 */
void	proxy_set_refusal(struct proxy *, const char *message);
/* Close every open connection (engine gone for good, or shutting down). */
void	proxy_close_all(struct proxy *);
void	proxy_stats(const struct proxy *, struct proxy_stats *);
/*
 * While the last engine connection's peer was not root (SO_PEERCRED), who
 * it was (trust_peer_format's line); NULL once a connection passed.
 */
const char *proxy_peer_refusal(const struct proxy *);
/* Stop accepting and free everything; does not close listen_fd. */
void	proxy_free(struct proxy *);

/* ------------------------------------------------------------------ */
/* The running agent: one per distro. */

#define LINK_MAX_ENTRIES	256	/* tools + plugins considered */

enum link_state { LINK_OK, LINK_SHIM, LINK_CONFLICT, LINK_REFUSED };

struct link_entry {
	char		*path;		/* in bin_dir or plugin_dir */
	char		*target;	/* what it points (or should point) to */
	enum link_state	 state;
	char		*detail;	/* why, for conflicts and refusals */
};

struct manifest_entry {
	char	*kind;		/* "link", "socket", "mount", "file" */
	char	*path;
	char	*target;	/* link target or mount source; may be NULL */
	struct json_object *meta;	/* the module's own record, or NULL */
};

struct manifest {
	char			*path;
	struct manifest_entry	*entries;
	size_t			 n;
	bool			 dirty;
};

enum socket_state { SOCK_ABSENT, SOCK_OK, SOCK_WAITING, SOCK_CONFLICT,
		    SOCK_ERROR, SOCK_DISABLED, SOCK_UNTRUSTED };

struct agent {
	struct config		 cfg;
	const char		*config_explicit; /* -c FILE, or NULL */
	char			**flag_argv;	/* flags to re-apply on reload */
	int			 flag_argc;
	struct event_base	*base;
	uint64_t		 start_mono_ms;
	char			 instance_id[40];
	bool			 disabled;	/* integration turned off */
	bool			 stopping;

	/* Docker Desktop's tree as last seen; the modules read it. */
	char			*engine_path;
	bool			 desktop_present;
	bool			 cli_present;
	bool			 engine_socket_present;
	char			*untrusted;	/* why the CLI tree is not trusted */

	/* What the agent made, shared by links, expose and bind. */
	struct manifest		 manifest;

	/* The modules, each owning its state. */
	struct links		*links;		/* links.c: bin_dir, plugin_dir */
	struct expose		*expose;	/* expose.c: socket.path */
	struct bind		*bind;		/* bind.c: re-exposed bind sources */
	struct restore		*restore;	/* restore.c: exposures brought back */
	struct work		*work;		/* work.c: what the loop hands off */
	struct engine		*engine;	/* engine.c: what the engine says */
	struct watch		*watch;
	struct control		*control;
	struct health		*health;
	struct event		*heartbeat_ev;
	struct event		*watchdog_ev;
	char			 last_summary[256];
	bool			 status_unsent;	/* NOTIFY_SOCKET was full */
	int			 ready_fd;	/* `start' waits on it; -1 */
	bool			 ready_sent;	/* READY=1 went out */
};

/* agent.c */
int	agent_run(struct agent *, int ready_fd);
void	agent_reconcile(struct agent *, const char *why);
/* Something in the state changed: refresh summaries, notify the host. */
void	agent_state_changed(struct agent *);
int	agent_set_disabled(struct agent *, bool disabled, char *err, size_t errlen);
/* READY=1 (and `start''s answer), once; restore.c holds it back a while. */
void	agent_ready(struct agent *);
struct json_object *agent_status_json(struct agent *);
/* For the modules' _status_json: a string member (NULL: null), a problem. */
void	agent_json_add_str(struct json_object *, const char *key,
	    const char *value);
void	agent_add_problem(struct json_object *problems, const char *what,
	    const char *fix);
/* One about a bind source (NULL: one not known), which request.c hides
 * from an ordinary user who does not own it. */
void	agent_add_source_problem(struct json_object *problems,
	    const char *source, const char *what, const char *fix);

/* manifest.c: what the agent created, so it removes exactly that */
int	manifest_load(struct manifest *, const char *path, char *err, size_t errlen);
int	manifest_save(struct manifest *);
struct manifest_entry *manifest_find(struct manifest *, const char *kind,
	    const char *path);
int	manifest_add(struct manifest *, const char *kind, const char *path,
	    const char *target);
void	manifest_remove(struct manifest *, const char *kind, const char *path);
/* Replace an entry's meta (taken; NULL drops it); -1 ENOENT if no entry. */
int	manifest_set_meta(struct manifest *, const char *kind, const char *path,
	    struct json_object *meta);
void	manifest_free(struct manifest *);

/* links.c */
extern const char *const links_bin_subdirs[];	/* below desktop_dir */
extern const char *const links_plugin_subdirs[];
struct link_plan {
	char	*path;
	char	*target;
	bool	 shim;		/* target is the shim */
};
/*
 * Work out which links should exist: every tool in cli-tools' usr/bin and
 * every plugin in its cli-plugins directories (validated), or the shim
 * while the CLI is away.  cli_base is where the links point for cli-tools:
 * the agent's private view of it (links.cli_mount); NULL makes the shim
 * stand in for every tool.  Refused entries are reported in *refused.
 */
int	links_plan(const struct config *, bool cli_present, bool disabled,
	    const struct manifest *, const char *cli_base,
	    struct link_plan **plan, size_t *nplan,
	    struct link_entry *refused, size_t *nrefused, size_t maxrefused);
void	links_plan_free(struct link_plan *, size_t);
void	links_refused_free(struct link_entry *, size_t);
/*
 * Validate one tool: target is desktop_dir/<a tool directory>/<name>, every
 * component from the shared root walked by descriptor (links_open_cli_dir),
 * the tool a root-owned executable regular file (links_open_tool).
 */
bool	links_target_valid(const char *desktop_dir, const char *target,
	    char *why, size_t whylen);
struct trust_failure;
/*
 * Open Docker Desktop's subdir ("cli-tools/usr/bin") by descriptor (flags
 * of trust_walk_dir): every component from the shared root, desktop_dir's
 * parent, root-owned, not group or other writable, no symlink; cli-tools a
 * mount point.  -1 and *f (f->path names what failed, or the directory).
 */
int	links_open_cli_dir(const char *desktop_dir, const char *subdir,
	    int flags, struct trust_failure *f);
/*
 * Is something at sub below Docker Desktop's tree (sub "" the tree
 * itself)?  Asked by descriptor from the shared root (trust_exists), never
 * by a stat of the path, which a FUSE server in the tree could hang.  A
 * walk that cannot tell (an untrusted mount in the way) says yes: the
 * trust walks that follow name what is there.
 */
bool	links_desktop_has(const char *desktop_dir, const char *sub);
/*
 * Did it fail only because the CLI is away: missing, or a root-owned
 * cli-tools that is not mounted (Docker Desktop stopped)?  Not untrusted.
 */
bool	links_cli_absent(const struct trust_failure *f);
/*
 * The tool name in a directory from links_open_cli_dir (dirpath its
 * path): an O_PATH descriptor of a root-owned, executable regular file not
 * writable by group or others (a symlink to a name in the same directory
 * is followed once), for fexecve.  -1 and why (one line).
 */
int	links_open_tool(int dirfd, const char *dirpath, const char *name,
	    char *why, size_t whylen);
/* /usr/bin, /bin, /usr/sbin, /sbin: names there are never shadowed. */
extern const char *const *links_system_dirs;
struct links;
struct links *links_new(struct agent *);
/* Make the links match the tree (cli_present) or remove them (disabled). */
void	links_reconcile(struct links *, bool cli_present, bool disabled);
/* Agent stopping: hand links to the shim, or remove them all. */
void	links_release(struct links *, bool remove_all);
void	links_free(struct links *);
size_t	links_count(const struct links *, enum link_state);
/* The "links" array; conflicting and refused links add to problems. */
struct json_object *links_status_json(const struct links *,
	    struct json_object *problems);
/* The "conflicts" array: what in the distro fights the integration. */
struct json_object *links_conflicts_json(const struct links *);

/* expose.c: /run/docker.sock */
struct expose;
/* activated_fd: the listening socket systemd passed, or -1. */
struct expose *expose_new(struct agent *, int activated_fd);
void	expose_reconcile(struct expose *);
/* Stop serving socket.path; keep_activated keeps systemd's socket open. */
void	expose_stop(struct expose *, bool keep_activated);
void	expose_free(struct expose *);
enum socket_state expose_state(const struct expose *);
const char *expose_detail(const struct expose *);
struct proxy *expose_proxy(const struct expose *);	/* NULL: none */
/* The engine socket passed the walk (issue 13): false while not known. */
bool	expose_engine_trusted(const struct expose *);
/*
 * That socket's O_PATH descriptor, held until the next walk, while it is
 * trusted; -1 otherwise.  Connect through it (/proc/self/fd), never by
 * its path: engine_ask() does.
 */
int	expose_engine_fd(const struct expose *);
/* The "socket" object; a conflict or a locked-out group adds a problem. */
struct json_object *expose_status_json(const struct expose *,
	    struct json_object *problems);
struct json_object *expose_proxy_json(const struct expose *);	/* "proxy" */
const char *expose_state_name(enum socket_state);

/* engine.c: /_ping and /version against the engine socket */
struct engine;
struct engine *engine_new(struct agent *);
void	engine_probe_start(struct engine *);	/* unless one is under way */
void	engine_free(struct engine *);
bool	engine_reachable(const struct engine *);
/* Why the last probe failed; NULL when it answered or none ended yet. */
const char *engine_failure(const struct engine *);
const char *engine_version(const struct engine *);
struct json_object *engine_status_json(const struct engine *);	/* "engine" */
/*
 * One HTTP/1.0 GET to the engine socket, on the event loop.  With error
 * NULL, code is the reply's status and body (head removed) holds: for a
 * reply, all of it, once the engine closed; for a stream, what arrived,
 * at its head and at every arrival after (the callback drains it).  An
 * error (no connection, no answer in time, over max, not HTTP, the stream
 * ended) is the last call.  The callback may free the get (it must, in
 * the end); nothing touches the get after calling it.
 */
struct evbuffer;
struct engine_get;
struct engine_get_opts {
	size_t	max;		/* bytes held unread (for a reply: all) */
	int	timeout_s;	/* to connect and send; to read a reply */
	bool	stream;		/* no read timeout, body as it comes */
	const char *method;	/* NULL: GET; else sent with no body */
};
typedef void engine_get_cb(int code, struct evbuffer *body,
	    const char *error, void *arg);
/*
 * To the socket the O_PATH descriptor engine_fd refers to, through
 * /proc/self/fd (never a path: engine_fd is what was walked to and
 * checked); name names it in messages.  engine_fd -1: NULL, ENOENT.
 */
struct engine_get *engine_get_new(struct event_base *base, int engine_fd,
	    const char *name, const char *target,
	    const struct engine_get_opts *opts, engine_get_cb *cb,
	    void *arg);				/* NULL and errno */
/* The same to the agent's engine socket, while it is trusted (expose.c). */
struct engine_get *engine_ask(struct agent *, const char *target,
	    const struct engine_get_opts *opts, engine_get_cb *cb, void *arg);
void	engine_get_free(struct engine_get *);
/* A body's JSON nested at most depth deep; NULL if it is not JSON. */
struct json_object *engine_get_json(struct evbuffer *body, int depth);

/* watch.c: follow Docker Desktop's tree with inotify and mountinfo */
struct watch;
struct watch *watch_new(struct event_base *, const char *desktop_dir,
	    void (*cb)(void *), void *arg);
void	watch_free(struct watch *);
int	watch_count(const struct watch *);	/* inotify watches held */
/* Times the tree's events made the owner look; events about others' entries. */
uint64_t watch_fires(const struct watch *);
uint64_t watch_ignored(const struct watch *);

/* control.c: the local control socket */
struct control;
struct control *control_new(struct agent *);
void	control_free(struct control *);

/* control-client.c: send one request, get the reply (malloc'd JSON text). */
int	control_request(const char *socket_path, const char *request,
	    char **reply, char *err, size_t errlen);

/* status.c: the status object's one table, and its rendering for a human */
enum status_type { STATUS_STRING, STATUS_INT, STATUS_NUMBER, STATUS_BOOL,
		   STATUS_OBJECT, STATUS_ARRAY };
#define STATUS_NULLABLE	0x1u	/* may be null */
#define STATUS_OPTIONAL	0x2u	/* may be absent */
#define STATUS_EMPTY	0x4u	/* an object that may have no members */
#define STATUS_VOLATILE	0x8u	/* changes by itself: not compared */
struct status_field {
	const char	*path;		/* "agent.pid"; "links[]" each element */
	enum status_type type;
	unsigned	 flags;
	const char	*values;	/* "a|b": the strings allowed, or NULL */
	const char	*help;		/* one line */
};
extern const struct status_field status_fields[];
const struct status_field *status_field_find(const char *path);
/*
 * Check a status against the table: 0, or -1 with why naming the field
 * (`where' is the status's own name, "status").  exact: members the
 * table does not list are errors too (tests; receivers ignore them).
 */
int	status_check(struct json_object *, const char *where, bool exact,
	    char *why, size_t len);
/* Builders: add v under path's last name, checked against the table. */
int	status_put(struct json_object *parent, const char *path,
	    struct json_object *v);
void	status_dump_fields(FILE *);	/* --dump-status-fields */
void	status_print_human(struct json_object *, FILE *);

/* daemon.c: single instance, start/stop without systemd */
int	daemon_lock_pidfile(const char *pidfile, pid_t *holder);
int	daemon_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	daemon_start(struct agent *);
int	daemon_stop(const struct config *);
pid_t	daemon_running_pid(const char *pidfile);

/* health.c: reports to the Windows host */
struct health;
struct health *health_new(struct agent *);
void	health_state_changed(struct health *);
/* A message of its own (restore.c's "repair"; taken), if connected. */
void	health_send(struct health *, struct json_object *msg);
struct json_object *health_status_json(struct health *);
void	health_free(struct health *);

/* ------------------------------------------------------------------ */
/* protocol.c, vsock.c (health channel) */

/* Limits and timings of wsl-docker-agent-protocol(7); keep them in step. */
#define PROTO_VERSION		1
#define PROTO_DEFAULT_PORT	52375		/* vsock, outside WSL's 50000-50005 */
#define PROTO_LINE_MAX		(64 * 1024)	/* host -> agent, bytes before LF */
#define PROTO_OUT_LINE_MAX	(1024 * 1024)	/* agent -> host */
#define PROTO_DEPTH_MAX		16		/* nesting, the message is level 1 */
#define PROTO_INT_MAX		9007199254740991LL	/* 2^53 - 1 (I-JSON) */
#define PROTO_ID_MAX		64		/* bytes of a string request id */
#define PROTO_ECHO_MAX		256		/* bytes of ping's echo */
#define PROTO_BAD_MAX		10		/* bad lines within the window ... */
#define PROTO_BAD_WINDOW_MS	60000		/* ... close the connection */
#define PROTO_BACKOFF_BASE_MS	1000
#define PROTO_BACKOFF_CAP_MS	60000
#define PROTO_STABLE_MS		30000		/* up this long: backoff resets */
#define PROTO_CONNECT_TIMEOUT_MS 5000
#define PROTO_STALL_S		30		/* host reads nothing: disconnect */
#define PROTO_OUT_MAX		(1024 * 1024)	/* waiting output: stop reading */

/* Error classes of replies, in the order they are checked. */
enum proto_error { PROTO_OK, PROTO_ERR_BAD_JSON, PROTO_ERR_TOO_LARGE,
		   PROTO_ERR_UNKNOWN_REQUEST, PROTO_ERR_BAD_ARGUMENTS,
		   PROTO_ERR_FORBIDDEN, PROTO_ERR_UNSUPPORTED_VERSION,
		   PROTO_ERR_FAILED };
const char *proto_error_name(enum proto_error);

/*
 * The incremental reader: feed it bytes as they come, get whole messages
 * (JSON objects checked against the framing rules) or typed errors.  It
 * holds at most `max' bytes, whatever it is fed.
 */
struct proto_reader {
	char	*buf;		/* the unfinished line */
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* longest line accepted, LF not counted */
	bool	 discarding;	/* inside a line already found too long */
};
enum proto_step { PROTO_STEP_MORE, PROTO_STEP_MESSAGE, PROTO_STEP_ERROR };
struct proto_item {
	struct json_object *msg;	/* PROTO_STEP_MESSAGE; the caller's */
	enum proto_error    error;	/* PROTO_STEP_ERROR */
	char		    message[256];
	const char	   *line;	/* the line, LF removed; valid until */
	size_t		    line_len;	/* the next call (NULL: too long) */
};
void	proto_reader_init(struct proto_reader *, size_t max);
void	proto_reader_reset(struct proto_reader *);	/* drop a partial line */
void	proto_reader_free(struct proto_reader *);
/*
 * Consume bytes from data up to the end of the first line that yields a
 * message or an error (*used tells how many); MORE when all of it was
 * consumed without either.  Call again with the rest.
 */
enum proto_step proto_reader_feed(struct proto_reader *, const char *data,
	    size_t len, size_t *used, struct proto_item *);
/* One whole line, LF removed; MORE for a blank line. */
enum proto_step proto_parse_line(const char *line, size_t len,
	    struct proto_item *);
/* Strict UTF-8 (RFC 3629); on failure *bad is the offending byte. */
bool	proto_utf8_valid(const char *s, size_t len, size_t *bad);
/* Serialise one message as a line (LF included), valid UTF-8; malloc'd. */
char	*proto_encode(struct json_object *, size_t *len);

enum proto_request { PROTO_REQ_PING, PROTO_REQ_STATUS, PROTO_REQ_RECONCILE,
		     PROTO_REQ_DISABLE, PROTO_REQ_ENABLE };
struct proto_request_msg {
	enum proto_request  request;
	struct json_object *id;		/* borrowed from the message; NULL: none */
	const char	   *echo;	/* ping's argument, or NULL */
};
/* Check a request; on failure `why' says what and how to fix it. */
enum proto_error proto_parse_request(struct json_object *msg,
	    struct proto_request_msg *, char *why, size_t whylen);
const char *proto_request_name(enum proto_request);
bool	proto_request_by_name(const char *, enum proto_request *);
/* Is s one of the '|'-separated words of list? */
bool	proto_in_list(const char *list, const char *s);
bool	proto_request_changes_state(enum proto_request);
/* A reply; takes result (may be NULL), shares id (may be NULL). */
struct json_object *proto_reply(struct json_object *id, enum proto_error,
	    const char *message, struct json_object *result);
/* The hello's "requests" and "limits" members. */
struct json_object *proto_requests_json(void);
struct json_object *proto_limits_json(void);

/* A status less what changes by itself (uptime, RSS, clocks, counters). */
struct json_object *proto_status_canonical(struct json_object *status);
/* Names of the members that differ (old NULL: all); an array. */
struct json_object *proto_status_changes(struct json_object *old_canonical,
	    struct json_object *new_canonical);

/* Next reconnection wait: uniform in [base, min(cap, 3 * prev)]. */
uint32_t proto_backoff_next(uint32_t prev_ms, uint32_t random);

/* Bad lines remembered for the window; true when the limit is reached. */
struct proto_flood {
	uint64_t at[PROTO_BAD_MAX];
	size_t	 next;
	size_t	 n;
};
bool	proto_flood_note(struct proto_flood *, uint64_t now_ms);

/* "{XXXXXXXX-...}" or "XXXXXXXX-..." to lowercase without braces. */
bool	proto_guid_normalize(const char *text, char out[37]);
/*
 * Check a message from the agent against the protocol (the host peer and
 * tests use it): 0 conforms, 1 an unknown type (to be ignored), -1 not.
 */
int	proto_check_agent_message(struct json_object *, char *why, size_t len);

/*
 * request.c: what a request does, for both channels.  `trusted' says
 * whether the caller may change the distro (each channel decides);
 * NULL with *e and `why' set when the request fails.
 */
struct request_origin {
	const char	*name;		/* "on the control socket", for the log */
	const char	*refusal;	/* told to an untrusted caller: the fix */
};
struct json_object *agent_request(struct agent *,
	    const struct proto_request_msg *, bool trusted,
	    const struct request_origin *, enum proto_error *e, char *why,
	    size_t whylen);
/* Leave out of a status what uid (not root) may not see: other users' binds. */
void	request_status_for_user(struct json_object *status, uid_t uid);

/* vsock.c: connecting out to the host (AF_VSOCK, guarded; or unix) */
#define VSOCK_CID_LOCAL	1	/* VMADDR_CID_LOCAL: tests only */
#define VSOCK_CID_HOST	2	/* VMADDR_CID_HOST: the Windows host */
/* Only the host (2) and, for tests, local (1) are ever connected to. */
bool	vsock_cid_allowed(uint32_t cid);
/* The Hyper-V socket service serving a port: "0000cc97-facb-...". */
void	vsock_service_id(uint32_t port, char *buf, size_t len);
/*
 * Start a non-blocking, close-on-exec connection to a vsock or unix
 * address; *in_progress says whether to wait for writability.  -1 with
 * err set on failure (and for any CID vsock_cid_allowed() refuses).
 */
int	vsock_connect(const struct address *, bool *in_progress, char *err,
	    size_t errlen);

/* config.c, shared: json-c keeps the last of two equal names silently. */
int	config_check_duplicate_keys(const char *buf, size_t len,
	    const char *origin, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* http.c, bind.c (bind-mount re-exposure) */

/*
 * http.c: just enough HTTP/1.1 to find request boundaries on a docker
 * API connection and to rewrite the body of a container create.  Pure:
 * no I/O, no globals, so a fuzzer can drive every function.
 */
#define HTTP_HEAD_MAX		(64 * 1024)	/* request line + headers */
#define HTTP_CREATE_BODY_MAX	(16 * 1024 * 1024)	/* rewritten at most */
#define HTTP_CHUNK_LINE_MAX	4096	/* a chunk-size line, extensions too */
#define HTTP_CREATE_DEPTH_MAX	64	/* JSON nesting of a create body */

enum http_framing { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED };
enum http_result { HTTP_MORE, HTTP_DONE, HTTP_BAD, HTTP_OPAQUE,
		   HTTP_TOO_LARGE };
/* What the proxy must do with a request, from its method and path. */
enum http_route {
	HTTP_ROUTE_OTHER,	/* forward, then look for the next request */
	HTTP_ROUTE_CREATE,	/* POST [/vX.Y]/containers/create */
	HTTP_ROUTE_VOLUME_CREATE, /* POST [/vX.Y]/volumes/create: held too */
	HTTP_ROUTE_HIJACK,	/* upgrade or attach/exec start: then opaque */
};

struct http_head {
	size_t		 len;		/* bytes, the blank line included */
	char		 method[16];
	size_t		 target_off;	/* request-target, in the buffer */
	size_t		 target_len;
	int		 minor;		/* HTTP/1.minor */
	enum http_framing framing;
	uint64_t	 length;	/* HTTP_BODY_LENGTH */
	bool		 upgrade;	/* Connection: upgrade, or Upgrade: */
	bool		 close;		/* no request may follow this one */
	bool		 expect_continue;
};

/* Remembers how far the search for the end of a head got. */
struct http_head_parser {
	size_t		 scanned;
};
void	http_head_parser_init(struct http_head_parser *);
/*
 * Look at buf[0..len), all the client sent so far on this request: MORE
 * until the blank line ends the head, then DONE with *h filled in; BAD
 * (why says what) for framing the proxy and the engine could read
 * differently: Content-Length with Transfer-Encoding (RFC 9112 6.3, a
 * request smuggling vector), differing or malformed Content-Lengths, a
 * coding other than chunked.  OPAQUE for anything else that is not a
 * request this parser follows (not HTTP/1.x, bad syntax: the engine will
 * answer it), as soon as the first line shows it; TOO_LARGE past
 * HTTP_HEAD_MAX.
 */
enum http_result http_head_parse(struct http_head_parser *, const char *buf,
	    size_t len, struct http_head *h, char *why, size_t whylen);
enum http_route http_route(const struct http_head *, const char *buf);

/* Chunked transfer coding, followed without decoding. */
struct http_chunked {
	int		 state;
	uint64_t	 left;		/* data bytes left in this chunk */
	size_t		 line;		/* bytes of the framing line so far */
	size_t		 trailer;	/* bytes of trailers so far */
	bool		 digits;	/* chunk-size has a digit */
	bool		 bws;		/* white space after the size */
	bool		 in_ext;	/* past the size, in extensions */
	bool		 cr;		/* a CR was just seen */
};
enum http_chunk_step { HTTP_CHUNK_MORE, HTTP_CHUNK_DATA, HTTP_CHUNK_DONE,
		       HTTP_CHUNK_BAD };
void	http_chunked_init(struct http_chunked *);
/*
 * Consume framing from buf[0..len) (*used says how much): DATA when chunk
 * data comes next (left bytes of it; pass them on and call
 * http_chunked_take()), DONE after the last chunk and trailers, MORE when
 * buf ran out inside framing, BAD on malformed framing.
 */
enum http_chunk_step http_chunked_feed(struct http_chunked *, const char *buf,
	    size_t len, size_t *used, char *why, size_t whylen);
void	http_chunked_take(struct http_chunked *, uint64_t n);
/* Chunk data bytes that come next without framing (0: framing next). */
uint64_t http_chunked_data_left(const struct http_chunked *);
/* Decode a whole chunked body (malloc'd; max bounds the result). */
int	http_chunked_decode(const char *buf, size_t len, size_t max, char **out,
	    size_t *outlen, char *why, size_t whylen);

/*
 * Split a HostConfig.Binds entry "src:dst[:opts]": *src_len is the length
 * of the source; false for entries without a host path (named volumes,
 * anonymous ones, malformed ones), which are left alone.
 */
bool	http_bind_spec(const char *spec, size_t *src_len, bool *read_only);

/* Who sent a request: the peer credentials of its connection. */
struct http_caller {
	bool		 known;		/* false: SO_PEERCRED failed */
	uid_t		 uid;
	gid_t		 gid;
};
/* What the hook is asked about. */
enum http_source_kind {
	HTTP_SOURCE_BIND,	/* an absolute bind source of a container */
	HTTP_SOURCE_DEVICE,	/* the absolute device of a local bind volume */
	HTTP_SOURCE_VOLUME,	/* a named volume a container mounts (path:
				   its name; a replacement is ignored) */
};
/* One absolute bind source of a create, as the hook sees it. */
struct http_bind_source {
	const char	*path;
	bool		 read_only;
	/* Make it when missing: -v (Binds), Mounts' CreateMountpoint. */
	bool		 create;
	const struct http_caller *caller;	/* never NULL */
	enum http_source_kind kind;
	const char	*volume;	/* DEVICE: the volume's name, or "" */
};
/*
 * Called for each absolute bind source of a create: set *replacement
 * (malloc'd) to rewrite it, or leave it NULL to keep it; -1 refuses the
 * request with why as the message.
 */
typedef int (*http_bind_fn)(void *arg, const struct http_bind_source *,
	    char **replacement, char *why, size_t whylen);
enum http_rewrite { HTTP_REWRITE_UNCHANGED, HTTP_REWRITE_CHANGED,
		    HTTP_REWRITE_REFUSED, HTTP_REWRITE_UNREADABLE };
/*
 * Rewrite the bind sources of a create body (JSON) in HostConfig.Binds
 * and HostConfig.Mounts (Type "bind"), for caller (NULL: unknown).
 * CHANGED: *out (malloc'd) is the new body; UNCHANGED or UNREADABLE:
 * forward the original bytes.
 */
enum http_rewrite http_rewrite_create(const char *body, size_t len,
	    const struct http_caller *, http_bind_fn, void *arg, char **out,
	    size_t *outlen, char *why, size_t whylen);
/*
 * The same for a volume create: a "local" volume bound to a directory
 * (DriverOpts type "none", o with "bind") has its absolute device asked
 * about (HTTP_SOURCE_DEVICE) and rewritten; every other byte stays.
 */
enum http_rewrite http_rewrite_volume_create(const char *body, size_t len,
	    const struct http_caller *, http_bind_fn, void *arg, char **out,
	    size_t *outlen, char *why, size_t whylen);
/*
 * The head again, framed for a body of body_len bytes that follows at
 * once: Content-Length replaces Transfer-Encoding, Expect goes (malloc'd).
 */
char	*http_head_with_length(const char *head, const struct http_head *,
	    uint64_t body_len, size_t *outlen);
/* A complete error reply in the engine's format, Connection: close. */
char	*http_error_reply(int status, const char *message, size_t *outlen);

/*
 * proxy.c, with bind.c: a hook that sees each container create before
 * the engine does.  Without one the proxy splices blindly (fast path).
 */
void	proxy_set_create_hook(struct proxy *, http_bind_fn, void *arg);

/* bind.c: bind-mount sources re-exposed below the shared /mnt/wsl */
#define BIND_DIR_NAME		"docker-desktop-bind-mounts"
#define BIND_MANIFEST_KIND	"bindmount"
#define BIND_PENDING_MS		30000	/* a create not seen by then failed */

struct bind;
/* Follow the engine, hook the proxy, collect unused exposures. */
void	bind_reconcile(struct agent *);
/* Stop following the engine; exposures stay (containers may need them). */
void	bind_free(struct bind *);
/* The "binds" object; an untrusted bind-mount area adds a problem. */
struct json_object *bind_status_json(struct bind *, struct json_object *problems);
/* "sha256 of the path", lowercase hex. */
void	bind_path_hash(const char *path, char hex[65]);

/* What to do with one source (pure apart from realpath). */
enum bind_decision { BIND_KEEP, BIND_REPLACE, BIND_EXPOSE, BIND_MISSING };
struct pathmap;
/*
 * The source, cleaned and resolved (symlinks followed, as the engine
 * would), then looked up in the table.  KEEP: the engine sees it as
 * written.  REPLACE: it sees it at *out.  EXPOSE: it cannot see it; *out
 * is the resolved source to expose.  MISSING: the source does not exist
 * here (*out says why).
 */
enum bind_decision bind_decide(const struct pathmap *, const char *source,
	    char **out);
/* restore.c's view of one exposure brought back (strings copied). */
struct bind_back {
	char	*source;	/* in this distro */
	char	*local;		/* the mount point here */
	bool	 mounted_now;	/* it was not mounted: now it is */
	bool	 read_only;
	int	 standin_fd;	/* what was at local before, a directory; -1 */
};
/*
 * The exposure a container's mount source (as the engine sees it) names,
 * mounted again if it is not (read-only if asked): 0; 1 when the path is
 * no exposure of this distro; -1 with why (the fix included) when it
 * cannot be: not recorded, its source gone, the mount refused.  Free
 * *out with bind_back_clear().
 */
int	bind_mount_back(struct bind *, const char *engine_source, bool read_only,
	    struct bind_back *out, char *why, size_t whylen);
void	bind_back_clear(struct bind_back *);

/* ------------------------------------------------------------------ */
/* restore.c: exposures brought back at start and when the engine returns */

#define RESTORE_STANDINS_DIR	"stand-ins"	/* below state_dir */
#define RESTORE_REPAIRS_MAX	32	/* repairs status remembers */

struct restore;
struct restore *restore_new(struct agent *);
void	restore_free(struct restore *);
/* The engine appeared (or came back): run a pass. */
void	restore_reconcile(struct restore *);
/* Something needs a pass (bind.c: a used exposure is not mounted). */
void	restore_request(struct restore *, const char *why);
/*
 * At start: true when a pass is under way and will call agent_ready()
 * when it ends, or after bind.restore_timeout seconds, whichever first.
 */
bool	restore_holds_ready(struct restore *);
/* bind.c: keep an exposure's record (meta) in the manifest, unsaved. */
void	restore_record(struct agent *, const char *local, bool read_only,
	    struct json_object *users, bool mounted, bool mounted_now);
/* The "restore" member; each failure adds a problem with its fix. */
struct json_object *restore_status_json(const struct restore *,
	    struct json_object *problems);

/*
 * standin.c: a stand-in's contents moved into the distro.  In the worker
 * (work.c): standin_move() and standin_resume(), plain system calls that
 * share nothing; on the loop: struct standins, which queues them, keeps
 * what each did and makes the problems.  Below state_dir/stand-ins/, a
 * stand-in being moved is shown at NAME.stand-in (a bind mount), copied
 * into NAME.partial and renamed NAME when whole; what is on disk there is
 * the record, so an agent that died part way resumes at its next start.
 */
#define STANDIN_SHOWN_SUFFIX	".stand-in"
#define STANDIN_PARTIAL_SUFFIX	".partial"
#define STANDIN_FREE_MARGIN	(64ULL << 20)	/* bytes left free in state_dir */
#define STANDIN_NAME_MAX	200	/* NAME, a suffix still fits NAME_MAX */
struct work;

struct standin_limits {
	uint64_t max;		/* bytes below stand-ins/ at most; 0: move none */
	uint64_t margin;	/* bytes kept free on its file system */
};
enum standin_state {
	STANDIN_MOVED,		/* all its data is in dir/NAME */
	STANDIN_HELD_CAP,	/* not moved: over standin_limits.max */
	STANDIN_HELD_SPACE,	/* not moved: too little free space */
	STANDIN_PARTIAL,	/* stopped part way: NAME.partial and the rest */
	STANDIN_FAILED,		/* not started (err, where); the stand-in as it was */
	STANDIN_LOST,		/* NAME.partial found with no stand-in behind it */
};
struct standin_result {
	enum standin_state state;
	char	 name[STANDIN_NAME_MAX + 1];
	bool	 shown;		/* what is left is shown at NAME.stand-in */
	uint64_t moved;		/* bytes moved (as allocated: holes are none) */
	uint64_t left;		/* bytes left on the stand-in */
	long	 special;	/* entries left there: fifos, sockets, devices */
	uint64_t used;		/* bytes below stand-ins/ before the move */
	uint64_t avail;		/* bytes free there before it */
	int	 err;		/* errno of what failed (PARTIAL, FAILED) */
	char	 where[256];	/* what failed: an entry or a step */
};
/*
 * Move the stand-in fd (a directory, taken) into dirfd/name: shown at
 * name.stand-in first (unless `shown': fd is that mount), measured, and if
 * it fits limits, copied (holes, owner, mode and times kept) into
 * name.partial, each entry removed from the stand-in once its copy is
 * fsync'd; renamed to name and the mount removed when nothing but fifos,
 * sockets and devices is left.  w (may be NULL) is asked between steps
 * whether to stop.  Returns out->state.
 */
enum standin_state standin_move(int dirfd, int fd, const char *name,
	    bool shown, const struct standin_limits *, struct work *w,
	    struct standin_result *out);
/*
 * Every stand-in shown below dirfd moved again (standin_move), and each
 * NAME.partial with none behind it reported LOST; an empty NAME.stand-in
 * no longer mounted (its tmpfs went with a reboot) is removed.  Returns
 * how many results were written to out (at most max).
 */
size_t	standin_resume(int dirfd, const struct standin_limits *,
	    struct work *w, struct standin_result *out, size_t max);
bool	standin_is_empty(int dirfd);		/* false if unreadable */
/* Is name, name.partial or name.stand-in below dirfd? */
bool	standin_taken(int dirfd, const char *name);
/* Tests only: runs between an entry's fstatat and its open. */
extern void (*standin_open_hook)(int dirfd, const char *name);

/* The loop's side: what restore.c hands over, and what became of it. */
struct standins;
/* A result, for the owner's record (restore.c's repairs). */
typedef void standins_result_fn(void *arg, const char *path,
	    const struct standin_result *);
struct standins *standins_new(struct agent *, standins_result_fn *, void *arg);
void	standins_free(struct standins *);
/* state_dir/stand-ins/<container>-<UTC time>[-n], free; malloc'd. */
char	*standins_dest(struct standins *, const char *container);
/* The stand-in fd (taken) to be moved to dir/name by the next flush. */
void	standins_add(struct standins *, int fd, const char *name,
	    const char *source, const char *container);
/* One job for what was added, and every stand-in still shown: resumed. */
void	standins_flush(struct standins *);
size_t	standins_moving(const struct standins *);	/* not yet done */
/* Each stand-in whose data is not all moved: a problem with its fix. */
void	standins_problems(const struct standins *, struct json_object *problems);

/*
 * work.c: one worker thread for work the loop must not wait on (disk
 * copies).  run runs in the thread: no libevent, no log, nothing shared
 * but arg, which it owns until done runs on the loop (ran false: it never
 * ran, work_free came first).  A long run checks work_stopping() between
 * bounded steps.  work_free asks the job under way to stop, waits for it,
 * and calls every outstanding done.
 */
#define WORK_QUEUE_MAX	64	/* jobs submitted and not yet done */
typedef void work_run_fn(struct work *, void *arg);
typedef void work_done_fn(void *arg, bool ran);
struct work *work_new(struct event_base *);
void	work_free(struct work *);
/* Queue a job: 0, or -1 and errno (EAGAIN: the queue is full). */
int	work_submit(struct work *, work_run_fn *run, work_done_fn *done,
	    void *arg);
bool	work_stopping(struct work *);
size_t	work_outstanding(const struct work *);

/*
 * mkdir -p of a missing bind source as the engine does for -v; what it
 * makes is owned by the caller (if known).  The part that exists is
 * resolved as the engine would (the user's symlinks followed), then
 * walked from / with O_NOFOLLOW; each directory is made with mkdirat in
 * its parent's descriptor and given away through its own, so nothing it
 * makes or chowns is followed.  -1 with errno.
 */
int	bind_make_source(const char *path, const struct http_caller *);
/*
 * The bind area below the shared root (absolute): BIND_DIR_NAME (root's,
 * 0755, shared by the distros) and distro in it (root's, 0700), walked by
 * descriptor (trust.h) and made where missing; a distro directory found
 * root's and not group or other writable is given mode 0700.  Its O_PATH
 * descriptor, or -1 and *f: nothing is made below what failed.
 */
int	bind_open_area(const char *root, const char *distro,
	    struct trust_failure *f);
/* Would exposing source expose the shared root or the area into itself? */
bool	bind_source_contains(const char *source, const char *shared_root,
	    const char *area);
/*
 * For volume.c: the table, and exposing a resolved source as a bind
 * source is (*engine_path, malloc'd: where the engine sees it).
 */
const struct pathmap *bind_pathmap(const struct bind *);
int	bind_expose_as(struct bind *, const char *source, bool read_only,
	    char **engine_path, char *why, size_t whylen);
/*
 * The exposure the engine sees at `engine': mounted again if it is not
 * (after a reboot).  1 done, 0 not an exposure of ours, -1 (why) failed.
 */
int	bind_ensure_mounted(struct bind *, const char *engine, char *why,
	    size_t whylen);

/* ------------------------------------------------------------------ */
/* volume.c: local volumes bound to a directory of this distro */

#define VOLUME_LIST_PATH	"/volumes"
#define VOLUME_NAMES_MAX	4096	/* volumes remembered at most */

struct volumes;
struct volumes *volumes_new(struct agent *, struct bind *);
void	volumes_free(struct volumes *);
/* bind.c's create hook, for the kinds other than HTTP_SOURCE_BIND. */
int	volumes_on_source(struct volumes *, const struct http_bind_source *,
	    char **replacement, char *why, size_t whylen);
/*
 * The collection's first step: GET /volumes, then done(arg, ok) (ok:
 * the list came).  -1 when it cannot start (done is not called).
 */
int	volumes_list(struct volumes *, void (*done)(void *, bool ok),
	    void *arg);
bool	volumes_busy(const struct volumes *);
/*
 * Each volume of the list just fetched that is bound to a directory is a
 * user of its device: appended to containers as {"Id": "volume:N",
 * "Names": ["volume N"], "Mounts": [{"Source": device}]}.  False when no
 * list just came (or out of memory): who uses what cannot be told.
 */
bool	volumes_add_users(const struct volumes *, struct json_object *containers);

/* ------------------------------------------------------------------ */
/* pathmap.c: the engine's view of a path, one small table */

#define PATHMAP_ENGINE_WSL_ROOT	"/run/desktop/mnt/host/wsl"
#define PATHMAP_ENGINE_DRIVE_ROOT "/run/desktop/mnt/host"
#define PATHMAP_VIRTIOFS_TAGS	"/run/wsl/virtiofs"	/* WSL's tag links */
#define PATHMAP_ENTRIES_MAX	256

enum pathmap_kind { PATHMAP_SHARED_TREE, PATHMAP_DRIVE, PATHMAP_CONFIGURED,
		    PATHMAP_LOCAL /* mounted over a drive: the engine cannot see */ };
struct pathmap_options {
	const char	*mountinfo;		/* NULL: /proc/self/mountinfo */
	const char	*virtiofs_tags;		/* NULL: PATHMAP_VIRTIOFS_TAGS */
	const char	*engine_wsl_root;	/* bind.engine_wsl_root */
	const char	*engine_drive_root;	/* bind.engine_drive_root; "": off */
	const char	*shared_paths;		/* bind.shared_paths */
};
struct pathmap;
/*
 * Read mountinfo once and build the table.  NULL and errno: ENOMEM, or
 * why mountinfo could not be read (EMFILE, say): a table without it would
 * be a guess, so the caller keeps the one it has.
 */
struct pathmap *pathmap_new(const struct pathmap_options *);
void	pathmap_free(struct pathmap *);
/* The shared tmpfs here: mountinfo's, else (none there) /mnt/wsl. */
const char *pathmap_shared_root(const struct pathmap *);
enum pathmap_result { PATHMAP_KEEP_AS, PATHMAP_EXPOSE, PATHMAP_NOMEM };
/*
 * For an absolute, clean (resolved) path: KEEP_AS when the engine sees it,
 * *engine (malloc'd) saying where; EXPOSE when it does not (re-expose it).
 */
enum pathmap_result pathmap_translate(const struct pathmap *, const char *path,
	    char **engine);
/*
 * The other way: where this distro sees a path the engine reports (the
 * table's longest engine prefix, and only if translating it back gives
 * the same path); malloc'd, or NULL when none is (or it is the same).
 */
char	*pathmap_user_path(const struct pathmap *, const char *engine);
/* [{"local", "engine", "kind"}], sorted by local. */
struct json_object *pathmap_status_json(const struct pathmap *);
const char *pathmap_kind_name(enum pathmap_kind);
/* Checks of bind.shared_paths and bind.engine_drive_root for config.c. */
int	pathmap_check_list(const char *list, char *why, size_t len);
int	pathmap_check_drive_root(const char *root, char *why, size_t len);

/* ------------------------------------------------------------------ */
/* http-reply.c: answers in the user's terms */

/*
 * The engine -> client direction of a followed connection: responses are
 * paired, in order, with the requests the proxy saw; the answers to
 * container and volume inspects and lists, in JSON, are held (up to
 * HTTP_REPLY_BODY_MAX) and their exposure paths turned back into the
 * user's own.  Everything else passes byte for byte.  Pure: the proxy
 * does the I/O the follower asks for.
 */
#define HTTP_REPLY_BODY_MAX	(16 * 1024 * 1024)	/* held at most */
#define HTTP_REPLY_DEPTH_MAX	64	/* JSON nesting of an answer */
#define HTTP_REPLY_QUEUE	64	/* requests awaiting their answers */
#define HTTP_REPLY_FRAMING_READ	256	/* a chunk-size line and a little */

/* Which answer a request gets: what the follower does with it. */
enum http_answer {
	HTTP_ANSWER_OTHER,		/* followed, passed as it is */
	HTTP_ANSWER_HIJACK,		/* then the connection is opaque */
	HTTP_ANSWER_CONTAINERS,		/* GET /containers/json */
	HTTP_ANSWER_CONTAINER,		/* GET /containers/{id}/json */
	HTTP_ANSWER_VOLUMES,		/* GET /volumes */
	HTTP_ANSWER_VOLUME,		/* GET /volumes/{name}, POST
					   /volumes/create */
};
#define HTTP_ANSWER_NO_BODY	0x80	/* or'ed in: a HEAD request */
/* The answer a request head asks for (HTTP_ANSWER_NO_BODY for HEAD). */
unsigned http_answer_of(const struct http_head *, const char *buf);

/* A response head. */
struct http_response {
	size_t		 len;		/* bytes, the blank line included */
	int		 status;
	enum http_framing framing;	/* NONE: see until_close */
	uint64_t	 length;	/* HTTP_BODY_LENGTH */
	bool		 until_close;	/* no framing: the body ends at EOF */
	bool		 json;		/* Content-Type: application/json */
};
/*
 * Parse a response head in buf[0..len): MORE, DONE, TOO_LARGE past
 * HTTP_HEAD_MAX, OPAQUE for what the follower will not follow (not
 * HTTP/1.x, two framings, a coding other than chunked).
 */
enum http_result http_response_parse(struct http_head_parser *,
	    const char *buf, size_t len, struct http_response *);

/*
 * Turn a path the engine reports back into the user's: a malloc'd path,
 * or NULL to leave it.
 */
typedef char *(*http_reply_fn)(void *arg, const char *path);
/*
 * Rewrite the exposure paths in an answer's JSON body (the fields are
 * listed in http-reply.c).  A malloc'd new body, or NULL when nothing
 * changed or the body is not JSON the answer should have.
 */
char	*http_reply_rewrite(enum http_answer, const char *body, size_t len,
	    http_reply_fn, void *arg, size_t *outlen);

/* What the follower wants done next. */
enum http_reply_do {
	HTTP_REPLY_READ,	/* recv into data, at most len bytes */
	HTTP_REPLY_SEND,	/* send data[0..len) to the client */
	HTTP_REPLY_SPLICE,	/* move up to len bytes engine -> client */
	HTTP_REPLY_OPAQUE,	/* all sent: the rest goes blindly */
};
struct http_reply_action {
	enum http_reply_do what;
	char		*data;
	size_t		 len;
	const char	*note;	/* something to log (once per kind), or NULL */
};

struct http_reply {
	int		 state;
	char		*buf;		/* read from the engine, not yet sent */
	size_t		 off, len, cap;
	size_t		 fwd;		/* bytes at buf + off to send as they are */
	char		*out;		/* a rewritten answer, to send */
	size_t		 out_off, out_len;
	struct http_head_parser parser;
	struct http_response resp;
	unsigned	 answer;	/* of the response being followed */
	uint64_t	 body_left;
	struct http_chunked chunked;
	size_t		 scan;		/* a held chunked body: framing seen */
	unsigned char	 queue[HTTP_REPLY_QUEUE];
	size_t		 q_first, q_len;
	bool		 no_more;	/* requests are no longer followed */
	uint64_t	 rewritten;	/* answers changed */
};
void	http_reply_init(struct http_reply *);
void	http_reply_free(struct http_reply *);
/* The proxy saw a request head (in order); false if no longer following. */
bool	http_reply_expect(struct http_reply *, const struct http_head *,
	    const char *buf);
/* No more requests will be seen: after those expected, opaque. */
void	http_reply_no_more(struct http_reply *);
/* The next step; fn NULL: follow, rewrite nothing. */
void	http_reply_next(struct http_reply *, http_reply_fn, void *arg,
	    struct http_reply_action *);
/* After READ, SEND or SPLICE: n bytes were read, sent, spliced. */
void	http_reply_done(struct http_reply *, const struct http_reply_action *,
	    size_t n);
/* The engine ended: what is held goes as it is, then opaque. */
void	http_reply_ended(struct http_reply *);
bool	http_reply_has_output(const struct http_reply *);
/*
 * The whole engine -> client stream in memory (tests, the fuzzer): reads
 * take at most `first' bytes the first time, `piece' after.  Returns the
 * malloc'd client's view.
 */
char	*http_reply_run(struct http_reply *, const char *in, size_t len,
	    size_t first, size_t piece, http_reply_fn, void *arg,
	    size_t *outlen);

/* http.c, shared with http-reply.c */
bool	http_ieq(const char *a, size_t alen, const char *lit);
bool	http_list_has(const char *v, size_t n, const char *token);
/* Strict decimal, as Content-Length must be. */
bool	http_parse_length(const char *v, size_t n, uint64_t *out);
size_t	http_head_end(struct http_head_parser *, const char *buf, size_t len);
/* A HostConfig.Binds entry with a host source (http_bind_spec()). */
bool	http_bind_entry(struct json_object *, const char **spec,
	    size_t *src_len, bool *read_only);
/* The request's path, decoded, without query or /vX.Y prefix. */
const char *http_api_path(const struct http_head *, const char *buf,
	    char *path, size_t len);
/* One JSON value, nesting at most depth; NULL if not exactly that. */
struct json_object *http_json_parse(const char *body, size_t len, int depth);
/* Serialised as the engine's encoder would, plus suffix (malloc'd). */
char	*http_json_dump(struct json_object *, const char *suffix,
	    size_t *outlen);

/*
 * proxy.c, with bind.c: a hook that turns the engine's paths in answers
 * back into the user's.  In effect only while a create hook is set.
 */
void	proxy_set_reply_hook(struct proxy *, http_reply_fn, void *arg);

#endif
