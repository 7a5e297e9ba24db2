#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# How much start-up time does wsl-docker-shim add in front of a tool, and
# what does the agent's view of cli-tools cost (links.cli_mount)?
#
# Runs a trivial "docker" (a static C program that exits 0, or a copy of
# /bin/true where static linking is unavailable) in a temporary Docker
# Desktop tree N times directly, N times through a link into a read-only
# clone of its cli-tools mount (the view the agent's links point into:
# wsl-docker-agent(8), SECURITY) and N times through a link to the shim,
# interleaved so drift hits all alike, and prints median, mean, p90 and
# minimum per run, the differences in microseconds and the ratios.  A row
# times the shim's answer when the tool is away and the agent is down
# (the "say why" path).  When a real docker CLI is at hand (DOCKER_CLI, or
# `docker' on PATH), `docker --version' is timed the three ways too, as
# the anchor a user feels.  The timing loop is a small C program built here,
# spawning with posix_spawn and timing each run with CLOCK_MONOTONIC.
#
# Usage: bench/shim-startup.sh [PATH-TO-wsl-docker-shim]
#   N=2000 (runs per row), CC=cc, DOCKER_CLI=PATH (none: no CLI rows).
#   Default shim: build/wsl-docker-shim.
# As root: the temporary tree's shared root and cli-tools are mounts, as
# the shim requires of Docker Desktop's.
# Not part of pass/fail: it prints the figures behind a decision (links
# into the agent's view of cli-tools rather than through the shim:
# ARCHITECTURE.md).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHIM=${1:-$HERE/../build/wsl-docker-shim}
N=${N:-2000}
CC=${CC:-cc}

die() { printf 'shim-startup: %s\n' "$*" >&2; exit 1; }

[[ -x $SHIM ]] || die "$SHIM is not an executable; build it first (make) or name it"
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N=$N is not a positive whole number"
command -v "$CC" >/dev/null || die "no C compiler ($CC) to build the timing loop"
SHIM=$(cd "$(dirname "$SHIM")" && pwd)/$(basename "$SHIM")

[[ $(id -u) -eq 0 ]] || die "run as root: Docker Desktop's tree here is made of mounts"
T=$(mktemp -d /tmp/shim-startup.XXXXXX)
# The shim trusts Docker Desktop's tree only as Docker Desktop makes it:
# the shared root (desktop_dir's parent, /mnt/wsl) and cli-tools mount
# points, root's.  Here a tmpfs, and cli-tools bound onto itself.
DESK=$T/shared/docker-desktop
cleanup() {
	[[ -z ${listener-} ]] || kill "$listener" 2>/dev/null || true
	umount "$T/view" 2>/dev/null || true
	umount "$DESK/cli-tools" 2>/dev/null || true
	umount "$T/shared" 2>/dev/null || true
	rm -rf --one-file-system -- "$T"
}
trap cleanup EXIT
mkdir -p "$T/shared" "$T/bin"
mount -t tmpfs -o mode=0755,size=256m shim-startup "$T/shared"
mkdir -p "$DESK/cli-tools/usr/bin"
mount --bind "$DESK/cli-tools" "$DESK/cli-tools"
TOOL=$DESK/cli-tools/usr/bin/docker

printf 'int main(void) { return 0; }\n' >"$T/true.c"
if "$CC" -O2 -static -o "$TOOL" "$T/true.c" 2>/dev/null; then
	tool_kind="static C program that exits 0"
else
	cp /bin/true "$TOOL"
	tool_kind="copy of /bin/true (no static libc here)"
fi
# The shim runs a tool only while docker can work: the agent answers, or
# something serves socket.path.  A listener that accepts and closes plays
# the latter (systemd's socket unit), costing the shim one connect.
printf '{"desktop_dir": "%s", "control_socket": "%s/none.sock", "socket": {"path": "%s/engine.sock"}}\n' \
	"$DESK" "$T" "$T" >"$T/config.json"
/usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4096)
while True: s.accept()[0].close()' "$T/engine.sock" &
listener=$!
while ! [[ -S $T/engine.sock ]]; do sleep 0.01; done
ln -s "$SHIM" "$T/bin/docker"
ln -s "$SHIM" "$T/bin/absent-tool"
export WSL_DOCKER_AGENT_CONFIG=$T/config.json

# A real docker CLI, copied in (a link out of the tree would be refused).
cli=${DOCKER_CLI-$(command -v docker || true)}
[[ -n $cli ]] && cli=$(readlink -f "$cli")
cli_rows=()
if [[ -n $cli && -x $cli && $cli != "$(readlink -f "$SHIM")" ]]; then
	cp "$cli" "$DESK/cli-tools/usr/bin/docker-cli"
	ln -s "$SHIM" "$T/bin/docker-cli"
	ln -s "$T/view/usr/bin/docker-cli" "$T/bin/view-docker-cli"
	cli_rows=(cli-direct "$DESK/cli-tools/usr/bin/docker-cli" "docker-cli --version" 0
		cli-shim "$T/bin/docker-cli" "docker-cli --version" 0
		cli-view "$T/bin/view-docker-cli" "docker-cli --version" 0)
fi
# The agent's view: the checked cli-tools mount cloned read-only, links
# into it (what the agent does with open_tree; a bind mount is the same).
mkdir -p "$T/view"
mount --bind "$DESK/cli-tools" "$T/view"
mount -o remount,bind,ro "$T/view"
ln -s "$T/view/usr/bin/docker" "$T/bin/view-docker"

cat >"$T/timer.c" <<'EOF'
/* timer N LABEL PATH "ARGV..." EXPECTED_STATUS [...]: interleaved runs. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct row { const char *label, *path; char *argv[8]; int expect; double *us; };

static double now_us(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) { perror("clock_gettime"); exit(1); }
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double run_once(const struct row *r, posix_spawn_file_actions_t *fa)
{
	pid_t pid;
	int status;
	double t0 = now_us();
	int e = posix_spawn(&pid, r->path, fa, NULL, (char **)r->argv, environ);
	if (e != 0) { fprintf(stderr, "spawn %s: %s\n", r->path, strerror(e)); exit(1); }
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) { perror("waitpid"); exit(1); }
	double t1 = now_us();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != r->expect) {
		fprintf(stderr, "%s: status %d, expected %d\n", r->label,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1, r->expect);
		exit(1);
	}
	return t1 - t0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = atoi(argv[1]), nrows = (argc - 2) / 4;
	struct row rows[8];
	posix_spawn_file_actions_t fa;
	if (nrows < 1 || nrows > 8 || n < 1) { fprintf(stderr, "usage\n"); return 2; }
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) != 0) {
		fprintf(stderr, "posix_spawn_file_actions failed\n");
		return 1;
	}
	for (int i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		r->label = argv[2 + 4 * i];
		r->path = argv[3 + 4 * i];
		size_t a = 0;
		for (char *w = strtok(argv[4 + 4 * i], " "); w != NULL && a < 7;
		    w = strtok(NULL, " "))
			r->argv[a++] = w;
		r->argv[a] = NULL;
		r->expect = atoi(argv[5 + 4 * i]);
		if ((r->us = calloc((size_t)n, sizeof(double))) == NULL) { perror("calloc"); return 1; }
	}
	for (int w = 0; w < 50; w++)		/* warm the page cache */
		for (int i = 0; i < nrows; i++)
			(void)run_once(&rows[i], &fa);
	for (int k = 0; k < n; k++)		/* rotate who goes first */
		for (int j = 0; j < nrows; j++) {
			struct row *r = &rows[(j + k) % nrows];
			r->us[k] = run_once(r, &fa);
		}
	for (int i = 0; i < nrows; i++) {
		double sum = 0;
		for (int k = 0; k < n; k++)
			sum += rows[i].us[k];
		qsort(rows[i].us, (size_t)n, sizeof(double), cmp);
		printf("%s\t%.1f\t%.1f\t%.1f\t%.1f\n", rows[i].label,
		    rows[i].us[n / 2], sum / n, rows[i].us[(n * 9) / 10], rows[i].us[0]);
		free(rows[i].us);
	}
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}
EOF
"$CC" -O2 -o "$T/timer" "$T/timer.c" || die "cannot build the timing loop"

printf 'shim-startup: %s runs each; tool: %s\n' "$N" "$tool_kind"
printf 'shim-startup: shim %s (%s shared libraries)\n' "$SHIM" \
	"$(ldd "$SHIM" 2>/dev/null | grep -c '=>' || true)"
printf 'shim-startup: %s, %s CPUs\n' "$(uname -r)" "$(nproc)"

[[ ${#cli_rows[@]} -gt 0 ]] && printf 'shim-startup: docker CLI %s\n' "$cli"

"$T/timer" "$N" \
	direct "$TOOL" docker 0 \
	shim "$T/bin/docker" docker 0 \
	shim-away "$T/bin/absent-tool" absent-tool 76 \
	view "$T/bin/view-docker" docker 0 \
	"${cli_rows[@]}" >"$T/rows"

awk -F'\t' '
	{ label[NR] = $1; med[NR] = $2; mean[NR] = $3; p90[NR] = $4; min[NR] = $5 }
	END {
		names["direct"] = "tool run directly"
		names["shim"] = "tool run through the shim (exec)"
		names["shim-away"] = "shim answering, tool away, agent down"
		names["view"] = "tool run through a link into the view"
		names["cli-direct"] = "docker --version directly"
		names["cli-shim"] = "docker --version through the shim"
		names["cli-view"] = "docker --version through the view"
		printf "\n%-40s %10s %10s %10s %10s\n", "per run, microseconds", "median", "mean", "p90", "min"
		for (i = 1; i <= NR; i++)
			printf "%-40s %10.1f %10.1f %10.1f %10.1f\n", names[label[i]], med[i], mean[i], p90[i], min[i]
		printf "\nadded by the shim: median %+.1f us, mean %+.1f us\n", med[2] - med[1], mean[2] - mean[1]
		printf "ratio shim/direct: median %.2fx, mean %.2fx\n", med[2] / med[1], mean[2] / mean[1]
		printf "added by the view: median %+.1f us, mean %+.1f us (%.3fx)\n", med[4] - med[1], mean[4] - mean[1], med[4] / med[1]
		if (NR >= 7) {
			printf "docker --version, added by the shim: median %+.1f us (%.3fx), mean %+.1f us (%.3fx)\n", \
			    med[6] - med[5], med[6] / med[5], mean[6] - mean[5], mean[6] / mean[5]
			printf "docker --version, added by the view: median %+.1f us (%.3fx), mean %+.1f us (%.3fx)\n", \
			    med[7] - med[5], med[7] / med[5], mean[7] - mean[5], mean[7] / mean[5]
		}
	}' "$T/rows"
