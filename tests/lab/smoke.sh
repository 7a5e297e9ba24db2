#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Smoke test of the WSL-like laboratory (tests/lab/lab.sh). Run as root.
# Brings the lab up, exercises a distro, Docker Desktop stopping and starting,
# then tears everything down and checks that nothing is left behind.
# KEEP_LAB=1 leaves the lab up when a check fails (for debugging).
# LAB_ENGINE=simple|desktop picks the lab's flavour (see lab.sh help).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/lab.sh
DISTRO=d1

eval "$("$LAB" env)"
CLI=$DESKTOP_DIR/cli-tools/usr/bin/docker

fail() { printf 'smoke: FAIL: %s\n' "$*" >&2; exit 1; }
step() { printf 'smoke: %s\n' "$*" >&2; }
ms() { local s; s=$(date +%s%N); printf '%s\n' "$((s / 1000000))"; }

finished=0
cleanup() {
	((finished)) && return 0
	if [[ -n ${KEEP_LAB-} ]]; then
		step "KEEP_LAB set: leaving the lab up"
	else
		step "tearing the lab down after the failure"
		"$LAB" down || true
	fi
}
trap cleanup EXIT
trap 'fail "line $LINENO: command failed: $BASH_COMMAND"' ERR

expect_eq() { # WHAT EXPECTED ACTUAL
	[[ $3 == "$2" ]] || fail "$1: expected '$2', got '$3'"
}

t=$(ms)
"$LAB" up
t_up=$(($(ms) - t))
expect_eq "desktop-status after up" running "$("$LAB" desktop-status)"

t=$(ms)
"$LAB" distro "$DISTRO"
t_distro=$(($(ms) - t))

step "identities"
out=$("$LAB" exec "$DISTRO" -- id)
[[ $out == "uid=0(root) gid=0(root)"* ]] || fail "exec as root: id printed '$out'"
out=$("$LAB" exec "$DISTRO" --user dev -- id)
[[ $out == *"uid=1000(dev)"* && $out == *"2345(docker)"* ]] ||
	fail "exec as dev: id printed '$out' (want uid 1000 and group 2345(docker))"
# shellcheck disable=SC2016 # expanded inside the distro
expect_eq "WSL_DISTRO_NAME" "$DISTRO" "$("$LAB" exec "$DISTRO" -- sh -c 'echo "$WSL_DISTRO_NAME"')"
# shellcheck disable=SC2016
expect_eq "--env" "x y" "$("$LAB" exec "$DISTRO" --env 'V=x y' -- sh -c 'echo "$V"')"
expect_eq "hostname file" "$DISTRO" "$("$LAB" exec "$DISTRO" -- cat /etc/hostname)"
"$LAB" exec "$DISTRO" -- sh -c 'command -v docker dockerd containerd' >/dev/null &&
	fail "the distro has a docker of its own"
rc=0
"$LAB" exec "$DISTRO" -- sh -c 'exit 7' || rc=$?
expect_eq "exit status through exec" 7 "$rc"

step "mount propagation from the distro to the host"
probe=$BIND_MOUNTS_DIR/$DISTRO/probe
"$LAB" exec "$DISTRO" -- sh -c "mkdir -p '$probe' && mount --bind /home/dev '$probe'"
findmnt -n --mountpoint "$probe" >/dev/null || fail "bind mount made in the distro is not visible on the host at $probe"
[[ -f $probe/.profile ]] || fail "bind mount seen on the host does not show the distro's /home/dev"
eprobe=$ENGINE_BIND_MOUNTS_DIR/$DISTRO/probe
"$LAB" engine-exec test -f "$eprobe/.profile" ||
	fail "bind mount made in the distro is not visible where the engine runs, at $eprobe"
"$LAB" exec "$DISTRO" -- umount "$probe"
findmnt -n --mountpoint "$probe" >/dev/null && fail "unmount inside the distro did not propagate to the host"

step "engine from the host"
expect_eq "docker run from the host" ok "$("$DOCKER_CLI" -H "unix://$ENGINE_SOCK" run --rm bb echo ok)"

step "engine from the distro through cli-tools"
expect_eq "piped docker run -i in the distro" hi \
	"$(echo hi | "$LAB" exec "$DISTRO" -- "$CLI" -H "unix://$ENGINE_SOCK" run -i --rm bb cat)"
versions=$("$LAB" exec "$DISTRO" -- "$CLI" -H "unix://$ENGINE_SOCK" version --format '{{.Client.Version}} {{.Server.Version}}')
case $LAB_ENGINE in
desktop) want='26\.1\.[^ ]* 26\.1\.' ;;
*) want='20\.10\.[^ ]* 20\.10\.' ;;
esac
[[ $versions =~ ^$want ]] || fail "client and engine versions: got '$versions', want $want"
expect_eq "the engine socket where the engine runs is the one the distros see (inode)" \
	"$(stat -c %i "$ENGINE_SOCK")" \
	"$("$LAB" engine-exec stat -c %i "$ENGINE_WSL_MNT/${ENGINE_SOCK#"$WSL_MNT"/}")"

if [[ $LAB_ENGINE == desktop ]]; then
	step "desktop flavour: drive C:, the CLI plugins, docker build with BuildKit"
	"$LAB" exec "$DISTRO" --user dev -- sh -c "echo on-c > '$DISTRO_DRIVE_C/smoke.txt'"
	expect_eq "a file on $DISTRO_DRIVE_C in the distro, where the engine runs" on-c \
		"$("$LAB" engine-exec cat "$ENGINE_DRIVE_C/smoke.txt")"
	expect_eq "...and in a container binding $ENGINE_DRIVE_C" on-c \
		"$("$DOCKER_CLI" -H "unix://$ENGINE_SOCK" run --rm -v "$ENGINE_DRIVE_C:/c" bb cat /c/smoke.txt)"
	rm -f -- "$DRIVE_C/smoke.txt"
	plugins=$DESKTOP_DIR/cli-tools/usr/lib/docker/cli-plugins
	out=$("$LAB" exec "$DISTRO" -- "$plugins/docker-compose" version)
	[[ $out == "Docker Compose version 2."* ]] || fail "docker-compose in cli-tools: '$out'"
	out=$("$LAB" exec "$DISTRO" -- "$plugins/docker-buildx" version)
	[[ $out == *buildx\ 0.* ]] || fail "docker-buildx in cli-tools: '$out'"
	# The CLI finds the plugins in cli-tools through its configuration
	# here (in a distro, the agent links them).
	out=$("$LAB" exec "$DISTRO" -- sh -c "mkdir -p /tmp/cfg /tmp/ctx &&
		echo '{\"cliPluginsExtraDirs\":[\"$plugins\"]}' >/tmp/cfg/config.json &&
		printf 'FROM bb\nRUN echo built >/built\n' >/tmp/ctx/Dockerfile &&
		DOCKER_CONFIG=/tmp/cfg '$CLI' -H 'unix://$ENGINE_SOCK' build -q -t smoke-built /tmp/ctx >/dev/null &&
		DOCKER_CONFIG=/tmp/cfg '$CLI' -H 'unix://$ENGINE_SOCK' run --rm smoke-built cat /built" 2>&1)
	expect_eq "docker build (buildx, a RUN step) in the distro, then run" built "$out"
	"$DOCKER_CLI" -H "unix://$ENGINE_SOCK" rmi smoke-built >/dev/null
fi

step "Docker Desktop quits"
"$LAB" desktop-stop
expect_eq "desktop-status after desktop-stop" stopped "$("$LAB" desktop-status)"
out=$("$LAB" exec "$DISTRO" -- sh -c "ls -A '$DESKTOP_DIR/cli-tools'; if test -e '$ENGINE_SOCK'; then echo SOCKET; fi")
expect_eq "cli-tools and socket inside the distro after desktop-stop" "" "$out"
"$LAB" desktop-stop # idempotent

step "Docker Desktop starts again"
"$LAB" desktop-start
"$LAB" desktop-start # idempotent
expect_eq "desktop-status after desktop-start" running "$("$LAB" desktop-status)"
expect_eq "piped docker run -i after restart" hi \
	"$(echo hi | "$LAB" exec "$DISTRO" -- "$CLI" -H "unix://$ENGINE_SOCK" run -i --rm bb cat)"

"$LAB" distro-rm "$DISTRO"
"$LAB" exec "$DISTRO" -- true 2>/dev/null && fail "exec still works after distro-rm"

t=$(ms)
"$LAB" down
t_down=$(($(ms) - t))
"$LAB" down # idempotent

step "nothing left behind"
left=$(findmnt -rn -o TARGET | awk -v a="$WSL_MNT" -v b="$LAB_DIR" '$1 == a || index($1, a "/") == 1 || $1 == b || index($1, b "/") == 1')
[[ -z $left ]] || fail "mounts left behind: $left"
# (Exited processes that pid 1 has not reaped yet, state Z, do not count.)
procs=$(ps -eo pid=,stat=,comm= | awk '$2 !~ /^Z/ && ($3 == "dockerd" || $3 ~ /^containerd/)')
[[ -z $procs ]] || fail "engine processes left behind: $procs"
holders=$( { pgrep -f 'wda-lab-holder:' || true; } | while read -r p; do
	grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null || echo "$p"
done)
[[ -z $holders ]] || fail "distro holders left behind: $holders"

finished=1
step "PASS (up ${t_up} ms, distro ${t_distro} ms, down ${t_down} ms)"
