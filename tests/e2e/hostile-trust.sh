#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What the agent believes of the shared tree (issue 19, findings 1, 10 and
# 11), in the lab: the agent runs in a victim distro; the attacker is the
# ordinary user dev (uid 1000, not in the docker group) of a second distro.
#  - A FUSE file system served by that user (mounted as fusermount would:
#    user_id=1000, allow_other, nosuid, nodev) on docker-desktop and on its
#    cli-tools claims root for everything: nothing in it is believed,
#    linked or run, and a server that never answers hangs nothing.
#  - A docker-desktop planted as a symlink to /tmp: the victim's own /tmp
#    traffic wakes nobody.
#  - Docker Desktop stops while the agent is frozen (between a change and
#    the next reconcile) and the attacker re-creates the tree: root's
#    `docker' still runs the cli-tools that was checked.
# Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

V=victim
A=attacker
AG=wsl-docker-agent
W=/mnt/wsl
DD=$W/docker-desktop
BIN=$DD/cli-tools/usr/bin
SHIM=/usr/libexec/wsl-docker-agent/wsl-docker-shim
FUSE_TREE=$E2E_TOP/tests/lab/fuse-tree.py
T=$(mktemp -d /tmp/wda-hostile-trust.XXXXXX)
fuse_pids=""

# fuse_down: every FUSE mount below the tree gone (no server needed for a
# lazy unmount), its servers killed (stopped ones too).
fuse_down() {
	local p
	for p in $fuse_pids; do kill -KILL "$p" 2>/dev/null; done
	for p in $fuse_pids; do wait "$p" 2>/dev/null; done
	fuse_pids=""
	umount -l "$DD/cli-tools" 2>/dev/null
	umount -l "$DD" 2>/dev/null
	return 0
}
cleanup() {
	fuse_down
	agent_pid_v=$(dx "$V" cat /run/wsl-docker-agent.pid 2>/dev/null) &&
		dx "$V" kill -CONT "$agent_pid_v" 2>/dev/null
	rm -rf "$W/pwned" "$T"
	[ -L "$DD" ] && rm -f "$DD"
	lab_down "$V" "$A"
}
trap cleanup EXIT

lab_hostile "$V" "$A"

reconciles_above() { [ "$(h_field .agent.tree_reconciles)" -gt "$1" ]; }
agent_pid() { dx "$V" cat /run/wsl-docker-agent.pid; }
# fuse_up MOUNTPOINT ARGS...: the hostile FUSE server, mounted and ready.
fuse_up() {
	local mp=$1 ready=$T/ready.$RANDOM; shift
	python3 "$FUSE_TREE" "$mp" --uid 1000 --ready "$ready" "$@" \
		>>"$T/fuse.log" 2>&1 &
	fuse_pids="$fuse_pids $!"
	wait_until 10 test -s "$ready"
}
# Docker Desktop stops and its tree goes, as after a restart of the VM.
desktop_gone() {
	"$LAB" desktop-stop >/dev/null 2>&1
	rm -rf "$DD"
	wait_until 10 h_links_to /usr/local/bin/docker "$SHIM"
}

out=$(dx "$V" $AG start 2>&1)
like "the agent starts in the victim distro" "$out" "started \(pid [0-9]+\)"
is "with Docker Desktop running, docker links into the agent's view of cli-tools" \
	"$(h_link_of /usr/local/bin/docker)" "$CLI_VIEW/usr/bin/docker"
check "...a read-only mount of the checked cli-tools, in the distro" \
	dx "$V" sh -c "findmnt -rno OPTIONS $CLI_VIEW | grep -qw ro"

# ---- FUSE claiming root for everything (finding 1) ------------------------
desktop_gone
is "Docker Desktop stopped, its tree gone: docker goes to the shim" \
	"$(h_link_of /usr/local/bin/docker)" "$SHIM"
h_atk "mkdir $DD"
fuse_up "$DD" --tree desktop &&
	fuse_up "$DD/cli-tools" --tree cli --mark "$W/pwned"
is "the attacker's FUSE tree claims root for the planted docker" \
	"$(stat -c '%u %a' "$BIN/docker")" "0 755"
is "...and cli-tools is a mount point" "$(findmnt -rno FSTYPE "$DD/cli-tools")" fuse
dx "$V" $AG reconcile >/dev/null 2>&1
if wait_until 10 h_untrusted_like "$DD is a fuse mount made by uid 1000 (user_id=1000)"; then
	ok "status says the tree is an untrusted FUSE mount, naming who made it"
else not_ok "status says the tree is an untrusted FUSE mount, naming who made it" "$(h_status)"; fi
like "...with the fix" "$(h_field .desktop.untrusted)" "sudo umount -l $DD"
is "...the engine socket in it is untrusted too" "$(h_field .socket.state)" untrusted
is "docker stays the shim" "$(h_link_of /usr/local/bin/docker)" "$SHIM"
out=$(dx "$V" docker version 2>&1); rc=$?
is "root's docker is refused by the shim (126)" "$rc" 126
like "...saying why" "$out" "is a fuse mount"
dxu "$V" docker version >/dev/null 2>&1
if [ -e "$W/pwned" ]; then not_ok "the planted docker never ran" "$(cat "$W/pwned")"
else ok "the planted docker never ran (root, dev)"; fi

# The server stops answering: every call into it blocks from now on.
for p in $fuse_pids; do kill -STOP "$p"; done
rc=0; timeout 20 "$LAB" exec "$V" -- $AG reconcile >/dev/null 2>&1 || rc=$?
is "a FUSE server that stopped answering: reconcile is answered (exit 0)" "$rc" 0
rc=0; out=$(timeout 20 "$LAB" exec "$V" -- $AG status --json 2>/dev/null) || rc=$?
is "...status is answered (exit 1: unhealthy)" "$rc" 1
like "...and still names the FUSE mount" "$out" "is a fuse mount made by uid 1000"
rc=0; timeout 20 "$LAB" exec "$V" -- docker version >/dev/null 2>&1 || rc=$?
is "...the shim answers too (126)" "$rc" 126
fuse_down
rmdir "$DD" 2>/dev/null || rm -rf "$DD"

# A server that never answers at all, not even the kernel's first request.
h_atk "mkdir $DD"
fuse_up "$DD" --silent
rc=0; timeout 20 "$LAB" exec "$V" -- $AG reconcile >/dev/null 2>&1 || rc=$?
is "a FUSE mount whose server never answered: reconcile is answered (exit 0)" "$rc" 0
if wait_until 10 h_untrusted_like "$DD is a fuse mount made by uid 1000"; then
	ok "...and status names it"; else not_ok "...and status names it" "$(h_status)"; fi
fuse_down
rm -rf "$DD"

# ---- a docker-desktop planted as a symlink to /tmp (finding 10) ------------
h_atk "ln -s /tmp $DD"
if wait_until 10 h_untrusted_like "$DD is a symbolic link owned by uid 1000"; then
	ok "docker-desktop -> /tmp: status says it is a symlink"
else not_ok "docker-desktop -> /tmp: status says it is a symlink" "$(h_status)"; fi
r0=$(h_field .agent.tree_reconciles)
# The victim's own /tmp traffic, for about a second: workload, not a wait.
dx "$V" sh -c 'for i in $(seq 100); do : >/tmp/wda-t.$i; rm -f /tmp/wda-t.$i; sleep 0.01; done'
rm -f "$DD"	# root removes the link: the root's watch tells the agent
if wait_until 10 reconciles_above "$r0"; then
	ok "...its removal is noticed (the shared root is watched, not /tmp)"
else not_ok "...its removal is noticed" "$(h_status | jq .agent)"; fi
r1=$(h_field .agent.tree_reconciles)
if [ $((r1 - r0)) -le 2 ]; then
	ok "...the distro's /tmp traffic woke nobody ($((r1 - r0)) reconciles, the removal's)"
else not_ok "...the distro's /tmp traffic woke nobody" "$((r1 - r0)) reconciles for 200 events in /tmp"; fi

# ---- links run what was checked, even before the next look (finding 11) ----
"$LAB" desktop-start >/dev/null 2>&1
if wait_until 20 h_links_to /usr/local/bin/docker "$CLI_VIEW/usr/bin/docker"; then
	ok "Docker Desktop back: docker links into the view again"
else not_ok "Docker Desktop back: docker links into the view again" "$(h_status)"; fi
wait_until 10 h_untrusted_none
pid=$(agent_pid)
dx "$V" kill -STOP "$pid"
# Docker Desktop stops, its tree goes, the attacker re-creates it: the
# agent has not looked yet.
"$LAB" desktop-stop >/dev/null 2>&1
rm -rf "$DD"
h_atk "mkdir -p $BIN"
h_plant "$BIN/docker"
# (The CLI may ping the engine to start; the frozen proxy would not answer.)
like "the agent frozen, the tree planted: root's docker still runs the checked CLI" \
	"$(timeout 30 "$LAB" exec "$V" -- env DOCKER_HOST=unix:///nonexistent.sock \
	docker --version 2>&1)" "^Docker version"
if [ -e "$W/pwned" ]; then not_ok "...the planted docker never ran" "$(cat "$W/pwned")"
else ok "...the planted docker never ran"; fi
dx "$V" kill -CONT "$pid"
if wait_until 10 h_links_to /usr/local/bin/docker "$SHIM"; then
	ok "the agent looks again: docker goes to the shim"
else not_ok "the agent looks again: docker goes to the shim" "$(h_status)"; fi
if wait_until 10 sh -c "! $LAB exec $V -- mountpoint -q $CLI_VIEW"; then
	ok "...and the view of the old cli-tools is unmounted"
else not_ok "...and the view of the old cli-tools is unmounted" "$(dx "$V" findmnt "$CLI_VIEW")"; fi
like "...status names the planted tree" "$(h_field .desktop.untrusted)" "$DD is owned by uid 1000"
rm -rf "$DD"
"$LAB" desktop-start >/dev/null 2>&1
if wait_until 20 h_links_to /usr/local/bin/docker "$CLI_VIEW/usr/bin/docker"; then
	ok "Docker Desktop back: docker links into the view"
else not_ok "Docker Desktop back: docker links into the view" "$(h_status)"; fi
check "...and works for the victim's user" dxu "$V" docker version
if [ -e "$W/pwned" ]; then not_ok "nothing planted ever ran" "$(cat "$W/pwned")"
else ok "nothing planted ever ran"; fi

dx "$V" $AG stop >/dev/null 2>&1
done_testing
