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
#include <sys/types.h>

struct event_base;
struct json_object;

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

/* Fixed bounds on everything read from outside. */
#define CONFIG_MAX_BYTES	(256 * 1024)
#define JSON_MAX_DEPTH		16
#define CONTROL_MAX_LINE	4096
#define NAME_MAX_LEN		255

/* ------------------------------------------------------------------ */
/* log.c */

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_NOTICE = 5,
		 LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

/* Where log lines go: journald (structured) or stderr. */
void	log_open(bool to_journal, enum log_level max_level);
void	log_set_level(enum log_level max_level);
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
	char	*host_address;		/* NULL: auto (vsock on WSL 2) */
	int	 host_interval;		/* seconds between health reports */
	char	*control_socket;
	char	*state_dir;
	char	*pidfile;
	char	*log_file;
	char	*log_level;
	char	*distro;		/* NULL: derived at start */
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

/* Find the shared /mnt/wsl mount from mountinfo (NULL if none); malloc'd. */
char	*wsl_find_shared_root(const char *mountinfo_path);
bool	 wsl_kernel_is_wsl2(void);
/* Is path a mount point, per mountinfo? */
bool	 wsl_is_mount_point(const char *mountinfo_path, const char *path);
char	*wsl_distro_name(void);			/* malloc'd */

/* ------------------------------------------------------------------ */
/* util.c */

/* Writes a file atomically: temp name in the same directory, fsync, rename. */
int	util_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
int	util_mkdir_p(const char *path, mode_t mode);
char	*util_path_join(const char *a, const char *b);	/* malloc'd */
/* Is `path' (after resolving) at or below `dir'? Both absolute. */
bool	util_path_within(const char *path, const char *dir);
void	util_set_cloexec(int fd);
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
 * non-blocking) by connecting each to the unix socket engine_path and
 * splicing both ways.  max_conns bounds simultaneous connections.
 */
struct proxy *proxy_new(struct event_base *, int listen_fd,
	    const char *engine_path, int max_conns);
/* Engine moved (or came back): new connections go there. */
void	proxy_set_engine(struct proxy *, const char *engine_path);
/* Close every open connection (engine gone for good, or shutting down). */
void	proxy_close_all(struct proxy *);
void	proxy_stats(const struct proxy *, struct proxy_stats *);
/* Stop accepting and free everything; does not close listen_fd. */
void	proxy_free(struct proxy *);

#endif
