#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The shared tree is hostile (issue 13), in the lab: the agent runs in a
# victim distro; the attacker is the ordinary user dev (uid 1000, not in
# the docker group) of a second distro, and the lab's /mnt/wsl is mode
# 1777.  Each attack is refused and `status` says so in one clear line:
# planted CLI tools and a planted plugin while Docker Desktop's tree is
# absent, a symlinked docker-desktop, Docker Desktop's directories renamed
# or replaced under the agent, a tool that would shadow the distro's own,
# and an event storm in /mnt/wsl.  Then the attacker's files are removed,
# Docker Desktop starts and everything links as usual.  Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

V=victim
A=attacker
AG=wsl-docker-agent
W=/mnt/wsl
DD=$W/docker-desktop
BIN=$DD/cli-tools/usr/bin
SHIM=/usr/libexec/wsl-docker-agent/wsl-docker-shim
cleanup() {
	[ -z "${storm:-}" ] || kill "$storm" 2>/dev/null
	rm -rf "$W/fake-dd" "$W/pwned" "$W/storm-stop" "$W/storm-count" "$W"/s.*
	[ -L "$DD" ] && rm -f "$DD"
	lab_down "$V" "$A"
}
trap cleanup EXIT

lab_hostile "$V" "$A"

has_conflict() { h_status | jq -r '.conflicts[].what' | grep -qF -- "$1"; }
ignored_at_least() { [ "$(h_field .agent.tree_events_ignored)" -ge "$1" ]; }

out=$(dx "$V" $AG start 2>&1)
like "the agent starts in the victim distro" "$out" "started \(pid [0-9]+\)"
is "with Docker Desktop running, docker is linked to cli-tools" \
	"$(h_link_of /usr/local/bin/docker)" "$CLI_VIEW/usr/bin/docker"
is "...and nothing is untrusted" "$(h_field .desktop.untrusted)" null

# ---- the attacker cannot touch Docker Desktop's own tree ----------------
# What the agent checked stays what it uses: every directory is root's,
# the sticky root keeps others from renaming or replacing it.
if h_atk "mv $DD $W/dd-moved" 2>/dev/null; then not_ok "the attacker cannot rename docker-desktop"
else ok "the attacker cannot rename docker-desktop (sticky $W)"; fi
if h_atk "mv $BIN $DD/cli-tools/usr/bin.old || ln -s /tmp $DD/cli-tools/usr/evil" 2>/dev/null; then
	not_ok "the attacker cannot swap a directory below cli-tools"
else ok "the attacker cannot swap a directory below cli-tools"; fi
is "...and docker is still linked to cli-tools" "$(h_link_of /usr/local/bin/docker)" "$CLI_VIEW/usr/bin/docker"

# ---- planted CLI tools and a plugin while the tree is absent -----------
"$LAB" desktop-stop >/dev/null 2>&1
rm -rf "$DD"
wait_until 10 h_links_to /usr/local/bin/docker "$SHIM"
is "Docker Desktop stopped, its tree removed: docker goes to the shim" \
	"$(h_link_of /usr/local/bin/docker)" "$SHIM"
h_atk "mkdir -p $BIN $DD/cli-tools/usr/lib/docker/cli-plugins"
for t in docker ls sudo; do h_plant "$BIN/$t"; done
h_plant "$DD/cli-tools/usr/lib/docker/cli-plugins/docker-evil"
if wait_until 10 h_untrusted_like "owned by uid 1000"; then
	ok "planted tools: status says untrusted, naming the owner"
else not_ok "planted tools: status says untrusted, naming the owner" "$(h_status)"; fi
line=$(h_field .desktop.untrusted)
like "...in one line naming the path and the fix" "$line" "^$DD is owned by uid 1000, not root: .*remove it \(sudo rm -rf $DD\)"
is "...one line" "$(printf '%s\n' "$line" | wc -l)" 1
like "...and the text status says it too" "$(dx "$V" $AG status 2>&1)" "untrusted: $DD is owned by uid 1000"
is "...cli_tools is false" "$(h_field .desktop.cli_tools)" false
is "docker stays the shim" "$(h_link_of /usr/local/bin/docker)" "$SHIM"
is "ls and sudo are not linked" "$(dx "$V" sh -c 'ls /usr/local/bin/ls /usr/local/bin/sudo 2>/dev/null | wc -l')" 0
is "the planted plugin is not linked" \
	"$(dx "$V" sh -c 'ls /usr/local/lib/docker/cli-plugins/docker-evil 2>/dev/null | wc -l')" 0
out=$(dx "$V" docker version 2>&1); rc=$?
is "docker version in the victim distro is refused (126)" "$rc" 126
like "...saying why, in one line" "$out" "cannot be run: $DD is owned by uid 1000, not root"
dxu "$V" docker version >/dev/null 2>&1
dx "$V" sh -c 'ls >/dev/null; sudo -n true' >/dev/null 2>&1
if [ -e "$W/pwned" ]; then not_ok "no planted program ran" "$(cat "$W/pwned")"
else ok "no planted program ran (root, dev, ls, sudo)"; fi

# ---- a symlinked docker-desktop -----------------------------------------
rm -rf "$DD"
h_atk "mkdir -p $W/fake-dd/cli-tools/usr/bin && ln -s $W/fake-dd $DD"
h_plant "$W/fake-dd/cli-tools/usr/bin/docker"
if wait_until 10 h_untrusted_like "$DD is a symbolic link owned by uid 1000"; then
	ok "a symlinked docker-desktop: status says so in one line"
else not_ok "a symlinked docker-desktop: status says so in one line" "$(h_status)"; fi
dx "$V" docker version >/dev/null 2>&1
is "...docker stays the shim, the planted one never ran" \
	"$(h_link_of /usr/local/bin/docker) $([ -e "$W/pwned" ] && echo ran)" "$SHIM "
rm -rf "$W/fake-dd"; rm -f "$DD"

# ---- an event storm in /mnt/wsl ------------------------------------------
# The attacker creates and removes files in the shared root in a loop; the
# agent ignores them (and stops reading them a while): no reconcile.  Then
# Docker Desktop starts during the storm and is noticed all the same.
storm_on() { # stop when $W/storm-stop appears (root's: the attacker cannot remove it)
	dxu "$A" sh -c "i=0; while [ ! -e $W/storm-stop ]; do : >$W/s.\$i; rm -f $W/s.\$i; i=\$((i+1)); done; echo \$i" >"$1" &
	storm=$!
}
wait_until 10 h_untrusted_none
r0=$(h_field .agent.tree_reconciles); i0=$(h_field .agent.tree_events_ignored)
rm -f "$W/storm-stop"
storm_on /dev/null
wait_until 10 ignored_at_least $((i0 + 1))
: >"$W/storm-stop"; wait "$storm"; storm=""; rm -f "$W/storm-stop"
r1=$(h_field .agent.tree_reconciles); i1=$(h_field .agent.tree_events_ignored)
diag "storm, tree absent: $((i1 - i0)) events read and ignored, $((r1 - r0)) reconciles"
check "the storm's events are seen and ignored" test $((i1 - i0)) -gt 0
check "...and cause at most 2 reconciles" test $((r1 - r0)) -le 2

storm_on "$W/storm-count"
"$LAB" desktop-start >"/tmp/wda-desktop-start.$$.log" 2>&1 ||
	diag "lab.sh desktop-start failed: $(tail -n 5 "/tmp/wda-desktop-start.$$.log")"
rm -f "/tmp/wda-desktop-start.$$.log"
if wait_until 20 h_links_to /usr/local/bin/docker "$CLI_VIEW/usr/bin/docker"; then
	ok "the attacker's files removed, Docker Desktop started during a storm: docker links to cli-tools"
else not_ok "the attacker's files removed, Docker Desktop started during a storm: docker links to cli-tools" "$(h_status)"; fi
: >"$W/storm-stop"; wait "$storm"; storm=""; rm -f "$W/storm-stop"
diag "the second storm made $(cat "$W/storm-count" 2>/dev/null) files; $(h_field .agent.tree_reconciles) reconciles in all"
rm -f "$W/storm-count"
is "...nothing untrusted" "$(h_field .desktop.untrusted)" null
# The engine makes its socket after cli-tools is mounted: seen when it is.
h_engine_seen() { [ "$(h_field .desktop.engine_socket)" = true ]; }
if wait_until 30 h_engine_seen; then ok "...the engine socket, made after the storm began, is seen"
else not_ok "...the engine socket, made after the storm began, is seen" "$(h_status)" \
	"$(direct_docker version --format '{{.Server.Version}}' 2>&1)"; fi
check "...docker version works for the victim's user" dxu "$V" docker version
check "...the plugin links" dx "$V" test -L /usr/local/lib/docker/cli-plugins/docker-hello
dx "$V" sh -c 'printf "#!/bin/sh\necho distro\n" >/usr/bin/docker-credential-desktop.exe; chmod 755 /usr/bin/docker-credential-desktop.exe'
dx "$V" kill -HUP "$(dx "$V" cat /run/wsl-docker-agent.pid)"
want="Docker Desktop's cli-tools ships 'docker-credential-desktop.exe', which this distro already has in /usr/bin/docker-credential-desktop.exe: not linked"
if wait_until 10 has_conflict "$want"; then
	ok "a tool the distro has in /usr/bin is a conflict, with its fix"
else not_ok "a tool the distro has in /usr/bin is a conflict, with its fix" "$(h_status | jq .conflicts)"; fi
is "...it is not linked into /usr/local/bin" \
	"$(dx "$V" sh -c 'ls /usr/local/bin/docker-credential-desktop.exe 2>/dev/null | wc -l')" 0
is "...the distro's own runs" "$(dxu "$V" docker-credential-desktop.exe)" distro
is "...and docker itself is still linked" "$(h_link_of /usr/local/bin/docker)" "$CLI_VIEW/usr/bin/docker"
dx "$V" rm -f /usr/bin/docker-credential-desktop.exe
dx "$V" kill -HUP "$(dx "$V" cat /run/wsl-docker-agent.pid)"
if wait_until 10 h_links_to /usr/local/bin/docker-credential-desktop.exe "$CLI_VIEW/usr/bin/docker-credential-desktop.exe"; then
	ok "...removed from the distro, Docker Desktop's links again"
else not_ok "...removed from the distro, Docker Desktop's links again" "$(h_status | jq .links)"; fi
like "status: healthy at the end" "$(h_status)" '"healthy":[[:space:]]*true'

dx "$V" $AG stop >/dev/null 2>&1
done_testing
