/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WDA_BASE_CONFIG_H
#define WDA_BASE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct json_object;

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

/*
 * Where Docker Desktop's engine sees the shared tmpfs and the Windows
 * drives: the defaults of bind.engine_wsl_root and bind.engine_drive_root.
 */
#define PATHMAP_ENGINE_WSL_ROOT	"/run/desktop/mnt/host/wsl"
#define PATHMAP_ENGINE_DRIVE_ROOT "/run/desktop/mnt/host"

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
struct json_object *config_to_json(const struct config *);
const char *config_socket_mode_name(enum socket_mode);

#endif
