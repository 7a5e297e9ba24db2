/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one table of the configuration: every key once, with its JSON name
 * (nested objects map to dotted names), its flag, type, default, allowed
 * values and help.  Defaults, the JSON file, command-line flags, --help and
 * config_to_json() (a configuration written back in the file's shape) are
 * all driven from it, and tests/e2e/docs.sh checks wsl-docker-agent.conf(5)
 * against --help, so they cannot drift apart.  Here too: what the table
 * says about a key (its enum's values, its range, whether it is text or
 * may be auto) and finding keys by name, by flag and by the object that
 * holds them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/config-int.h"

const struct config_key config_keys[] = {
	{ "desktop_dir", "desktop-dir", CFG_PATH, CFG(desktop_dir), NULL, NULL,
	  "Docker Desktop's shared tree (auto: docker-desktop below the shared "
	  "/mnt/wsl mount)" },
	{ "socket.path", "socket-path", CFG_PATH, CFG(socket_path),
	  "/run/docker.sock", NULL,
	  "Where docker clients in this distro find the engine socket" },
	{ "socket.mode", "socket-mode", CFG_ENUM, CFG(socket_mode), "proxy",
	  "proxy|mount",
	  "proxy: relay connections to Docker Desktop's engine; mount: "
	  "bind-mount its socket" },
	{ "socket.group", "socket-group", CFG_STRING, CFG(socket_group),
	  "docker", NULL,
	  "Group that owns socket.path; its members use docker without sudo" },
	{ "socket.max_connections", "socket-max-connections", CFG_INT,
	  CFG(socket_max_connections), "4096", "1-65536",
	  "Most clients served at once; more are refused until one closes" },
	{ "links.bin_dir", "bin-dir", CFG_PATH, CFG(bin_dir), "/usr/local/bin",
	  NULL, "Where the docker CLI and its credential helpers are linked" },
	{ "links.plugin_dir", "plugin-dir", CFG_PATH, CFG(plugin_dir),
	  "/usr/local/lib/docker/cli-plugins", NULL,
	  "Where docker CLI plugins (compose, buildx, ...) are linked" },
	{ "links.on_stop", "links-on-stop", CFG_ENUM, CFG(links_on_stop), "shim",
	  "shim|remove",
	  "When Docker Desktop or the agent stops, point the links at the shim "
	  "(which explains) or remove them" },
	{ "links.shim", "shim", CFG_PATH, CFG(shim_path),
	  LIBEXECDIR "/wsl-docker-agent/wsl-docker-shim", NULL,
	  "Program the links point to while Docker Desktop is away" },
	{ "links.cli_mount", "cli-mount", CFG_PATH, CFG(cli_mount),
	  RUNSTATEDIR "/wsl-docker-agent/cli-tools", NULL,
	  "Where the agent mounts its own read-only view of Docker Desktop's "
	  "checked cli-tools; links point into it, so nothing done to the "
	  "shared tree later changes what they run" },
	{ "host.address", "host-address", CFG_ADDRESS, CFG(host_address), NULL,
	  NULL,
	  "Where health reports go: none, unix:/PATH or vsock:CID:PORT "
	  "(auto: vsock:2:52375 on WSL 2, else none)" },
	{ "host.interval", "host-interval", CFG_INT, CFG(host_interval), "30",
	  "1-3600", "Seconds between health reports to the Windows host" },
	{ "control_socket", "control-socket", CFG_PATH, CFG(control_socket),
	  RUNSTATEDIR "/wsl-docker-agent/control.sock", NULL,
	  "Unix socket where the agent answers status and other commands" },
	{ "state_dir", "state-dir", CFG_PATH, CFG(state_dir),
	  LOCALSTATEDIR "/lib/wsl-docker-agent", NULL,
	  "Where the agent keeps its state, such as the manifest of its links" },
	{ "pidfile", "pidfile", CFG_PATH, CFG(pidfile),
	  RUNSTATEDIR "/wsl-docker-agent.pid", NULL,
	  "PID file written when the agent runs without systemd" },
	{ "log_file", "log-file", CFG_PATH, CFG(log_file),
	  LOCALSTATEDIR "/log/wsl-docker-agent.log", NULL,
	  "Log written by `start' when the agent runs without systemd" },
	{ "log_level", "log-level", CFG_ENUM, CFG(log_level), "info",
	  "error|warning|notice|info|debug",
	  "Log messages of this severity and more severe ones" },
	{ "distro", "distro", CFG_STRING, CFG(distro), NULL, NULL,
	  "This distro's name, used in bind-mount paths (auto: WSL_DISTRO_NAME "
	  "or the host name)" },
	{ "bind.shared_paths", "bind-shared-paths", CFG_STRING,
	  CFG(bind_shared_paths), "", NULL,
	  "Paths the engine sees besides the shared tree and the Windows "
	  "drives, separated by ':': LOCAL (at the same path) or LOCAL=ENGINE. "
	  "\"\" for none" },
	{ "bind.engine_wsl_root", "bind-engine-wsl-root", CFG_PATH,
	  CFG(bind_engine_wsl_root), PATHMAP_ENGINE_WSL_ROOT, NULL,
	  "Where the engine sees the shared /mnt/wsl tmpfs; bind-mount sources "
	  "are re-exposed below it" },
	{ "bind.engine_drive_root", "bind-engine-drive-root", CFG_STRING,
	  CFG(bind_engine_drive_root), PATHMAP_ENGINE_DRIVE_ROOT, NULL,
	  "Where the engine sees Windows drives: drive C: at ROOT/c. \"\" "
	  "re-exposes drive paths like any other" },
	{ "bind.repair", "bind-repair", CFG_ENUM, CFG(bind_repair), "restart",
	  "restart|report",
	  "A container found running on an empty stand-in where its bind "
	  "source should be (the engine started it first): restart it once "
	  "the source is back, moving the stand-in's data aside, or only "
	  "report it" },
	{ "bind.restore_timeout", "bind-restore-timeout", CFG_INT,
	  CFG(bind_restore_timeout), "5", "0-300",
	  "Seconds the agent waits, at start, for the bind sources of the "
	  "engine's containers to be back before it says it is ready" },
	{ "bind.standin_max", "bind-standin-max", CFG_INT,
	  CFG(bind_standin_max), "1024", "0-1048576",
	  "MiB the stand-in data moved below state_dir may take in all; a "
	  "stand-in that would go over it stays where it is, shown and "
	  "reported. 0 moves none" },
	{ NULL, NULL, CFG_STRING, 0, NULL, NULL, NULL }
};

/* Enums stored as enum fields take the index of their value in `allowed'. */
_Static_assert(SOCKET_MODE_PROXY == 0 && SOCKET_MODE_MOUNT == 1,
    "socket.mode values follow \"proxy|mount\"");
_Static_assert(LINKS_ON_STOP_SHIM == 0 && LINKS_ON_STOP_REMOVE == 1,
    "links.on_stop values follow \"shim|remove\"");
_Static_assert(BIND_REPAIR_RESTART == 0 && BIND_REPAIR_REPORT == 1,
    "bind.repair values follow \"restart|report\"");
_Static_assert(sizeof(enum socket_mode) == sizeof(int) &&
    sizeof(enum bind_repair) == sizeof(int) &&
    sizeof(enum links_on_stop) == sizeof(int), "enum fields are stored as int");

/* ------------------------------------------------------------------ */
/* What the table says about a key */

/* Split "a|b|c" into tokens. */
size_t
config_enum_tokens(const char *allowed, struct config_token *t, size_t max)
{
	size_t n = 0;
	const char *p = allowed;

	while (p != NULL && n < max) {
		const char *bar = strchr(p, '|');
		t[n].p = p;
		t[n].n = bar != NULL ? (size_t)(bar - p) : strlen(p);
		n++;
		p = bar != NULL ? bar + 1 : NULL;
	}
	return n;
}

int
config_enum_index(const struct config_key *k, const char *s)
{
	struct config_token t[CONFIG_LIST_MAX];
	size_t n = config_enum_tokens(k->allowed, t, CONFIG_LIST_MAX);

	for (size_t i = 0; i < n; i++)
		if (strlen(s) == t[i].n && strncmp(s, t[i].p, t[i].n) == 0)
			return (int)i;
	return -1;
}

void
config_int_range(const struct config_key *k, long long *lo, long long *hi)
{
	char *end;

	*lo = strtoll(k->allowed, &end, 10);
	*hi = strtoll(end + 1, NULL, 10);
}

/*
 * log_level is the one enum kept as text in struct config (log.c maps it);
 * the other enums are enum fields.
 */
bool
config_enum_is_text(const struct config_key *k)
{
	return k->offset == CFG(log_level);
}

bool
config_is_text(const struct config_key *k)
{
	return k->type == CFG_PATH || k->type == CFG_STRING ||
	    k->type == CFG_ADDRESS ||
	    (k->type == CFG_ENUM && config_enum_is_text(k));
}

bool
config_is_auto(const struct config_key *k)
{
	return k->def == NULL;
}

/* ------------------------------------------------------------------ */
/* Looking keys up */

const struct config_key *
config_key_by_name(const char *key)
{
	if (key == NULL)
		return NULL;
	for (const struct config_key *k = config_keys; k->key != NULL; k++)
		if (strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

const struct config_key *
config_key_by_flag(const char *flag)
{
	if (flag == NULL)
		return NULL;
	if (strncmp(flag, "--", 2) == 0)
		flag += 2;
	for (const struct config_key *k = config_keys; k->key != NULL; k++)
		if (strcmp(k->flag, flag) == 0)
			return k;
	return NULL;
}

bool
config_is_section(const char *name)
{
	size_t n = strlen(name);

	for (const struct config_key *k = config_keys; k->key != NULL; k++)
		if (strncmp(k->key, name, n) == 0 && k->key[n] == '.')
			return true;
	return false;
}

size_t
config_section_children(const char *prefix, struct config_token *t,
    size_t max)
{
	size_t plen = strlen(prefix), n = 0;

	for (const struct config_key *k = config_keys; k->key != NULL; k++) {
		const char *p = k->key;
		if (plen > 0) {
			if (strncmp(p, prefix, plen) != 0 || p[plen] != '.')
				continue;
			p += plen + 1;
		}
		const char *dot = strchr(p, '.');
		size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = t[i].n == len && strncmp(t[i].p, p, len) == 0;
		if (!seen && n < max) {
			t[n].p = p;
			t[n].n = len;
			n++;
		}
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Enum names */

const char *
config_socket_mode_name(enum socket_mode mode)
{
	switch (mode) {
	case SOCKET_MODE_PROXY:
		return "proxy";
	case SOCKET_MODE_MOUNT:
		return "mount";
	}
	return "unknown";
}

