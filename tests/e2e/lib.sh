# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the end-to-end tests: TAP output, bounded waits, and
# short names for running things inside a lab distro.  Sourced, not run.
# shellcheck shell=bash

E2E_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB="$E2E_TOP/tests/lab/lab.sh"
BUILD=${BUILD:-$E2E_TOP/build}
export LAB_DIR=${LAB_DIR:-/var/tmp/wda-lab}
# The lab's flavour (tests/lab/lab.sh help): simple, Debian 12's dockerd
# 20.10 on the machine; desktop, Docker Desktop's layout with Debian 13's
# dockerd 26.1 in an engine distro of its own.
# ENGINE_VERSION_RE: what the engine's version starts with (for the suites).
export LAB_ENGINE=${LAB_ENGINE:-simple}
# shellcheck disable=SC2034
case $LAB_ENGINE in
desktop) ENGINE_VERSION_RE='26\.' ENGINE_LOG=$LAB_DIR/engine-desktop/dockerd.log ;;
*) ENGINE_VERSION_RE='20\.' ENGINE_LOG=$LAB_DIR/engine/dockerd.log ;;
esac
ENGINE_SOCK=/mnt/wsl/docker-desktop/shared-sockets/guest-services/docker.proxy.sock
# Where the agent mounts its own view of the checked cli-tools, which the
# links point into (links.cli_mount's default).
CLI_VIEW=/run/wsl-docker-agent/cli-tools
T_N=0
T_FAILED=0

# One lab per machine (/mnt/wsl is global): tests that use it take turns.
# A test that uses no lab (nothing below /mnt/wsl, no dockerd) sets
# E2E_NO_LAB=1 before sourcing this and need not wait its turn.
if [ -z "${E2E_NO_LAB:-}" ]; then
	exec 9>/run/wda-e2e.lock
	flock 9
fi

diag() { printf '# %s\n' "$*"; }

ok() { # description
	T_N=$((T_N + 1)); printf 'ok %d - %s\n' "$T_N" "$1"
}

not_ok() { # description [detail...]
	T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1))
	printf 'not ok %d - %s\n' "$T_N" "$1"; shift
	for d in "$@"; do printf '#   %s\n' "$d"; done
}

# check "description" command...: ok when the command succeeds.
check() {
	local desc=$1; shift
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then ok "$desc"; else
		not_ok "$desc" "command: $*" "exit $rc" "${out:0:2000}"; fi
	return 0
}

# is "description" got expected
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1" "expected: $3" "got:      ${2:0:2000}"; fi
}

# like "description" got regex
like() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then ok "$1"; else
		not_ok "$1" "expected to match: $3" "got: ${2:0:2000}"; fi
}

unlike() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then
		not_ok "$1" "expected NOT to match: $3" "got: ${2:0:2000}"; else ok "$1"; fi
}

# wait_until SECONDS command...: poll an observable condition, bounded.
# Polling here is the test's clock, never the product's synchronisation.
wait_until() {
	local limit=$1; shift
	local end=$((SECONDS + limit))
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt "$end" ] || return 1
		sleep 0.05
	done
}

# tar_digest: a tar archive on stdin -> one sha256 of its members' names,
# types, modes, sizes and contents, in order (not their times).
tar_digest() {
	python3 -c 'import hashlib, sys, tarfile
h = hashlib.sha256()
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as t:
    for m in t:
        h.update(("%s %s %o %d\n" % (m.name, m.type, m.mode, m.size)).encode())
        if m.isfile():
            h.update(t.extractfile(m).read())
print(h.hexdigest())'
}

# ms since epoch, for reaction-time figures.
now_ms() { date +%s%3N; }

done_testing() {
	printf '1..%d\n' "$T_N"
	diag "$((T_N - T_FAILED)) passed, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ]
}

# bail "description" [detail...]: a failure the rest cannot go on from.
bail() { not_ok "$@"; done_testing; exit 1; }

# Inside a distro, as root or as the ordinary user dev.
dx() { local d=$1; shift; "$LAB" exec "$d" -- "$@"; }
dxu() { local d=$1; shift; "$LAB" exec "$d" --user dev -- "$@"; }

# Host side: the engine directly, the physical reference.
direct_docker() { /usr/bin/docker -H "unix://$ENGINE_SOCK" "$@"; }

# Where the engine runs (the machine, or the engine distro), as root.
engine_side() { "$LAB" engine-exec -- "$@"; }

# Install the build into a distro (prefix /usr, /etc), as a package would.
# Through /proc/PID/root of the distro's holder: what `make install` writes
# lands in the distro's own file system, not the host's.
install_into() { # distro
	local pid
	pid=$(cat "$LAB_DIR/distros/$1/holder.pid") &&
	make -s -C "$BUILD" install DESTDIR="/proc/$pid/root" >/dev/null
}

# lab_up: the lab's engine and Docker Desktop's tree, or the test ends.
# run-tests.sh runs a suite once per lab flavour when it calls lab_up or
# one of the functions named here, which call it: keep the list whole.
LAB_UP_FUNCS="agent_up lab_hostile"
lab_up() { "$LAB" up >/dev/null 2>&1 || bail "lab up (LAB_ENGINE=$LAB_ENGINE)" "see $ENGINE_LOG"; }

# lab_down [DISTRO...]: remove those distros and take the lab down (for a
# test's cleanup: quiet, never failing).
lab_down() {
	local d
	for d in "$@"; do "$LAB" distro-rm "$d" >/dev/null 2>&1; done
	"$LAB" down >/dev/null 2>&1
}

# lab_distro NAME [lab.sh distro options]: a fresh distro NAME with this
# build installed.
lab_distro() {
	"$LAB" distro "$@" >/dev/null 2>&1 || bail "lab distro $*" "see $LAB_DIR/distros/$1/holder.log"
	check "the build installs into distro $1" install_into "$1"
}

# agent_config DISTRO [BIND_MEMBERS]: the agent's configuration file in
# DISTRO for this flavour, for suites that test binds.  The simple
# flavour's engine runs where the distros do and sees the shared tmpfs at
# /mnt/wsl itself (bind.engine_wsl_root); the desktop flavour's sees it
# where Docker Desktop's does (the default).  BIND_MEMBERS: more members
# of "bind", as JSON text ('"shared_paths": "/mnt/c=/run/desktop/mnt/host/c"').
agent_config() { # distro [members]
	local bind=
	[ "$LAB_ENGINE" = simple ] && bind='"engine_wsl_root": "/mnt/wsl"'
	[ -n "${2:-}" ] && bind=${bind:+$bind, }$2
	printf '{ "bind": { %s } }\n' "$bind" |
		dx "$1" sh -c 'mkdir -p /etc/wsl-docker-agent && cat >/etc/wsl-docker-agent/config.json'
}

# agent_up DISTRO: the lab up, DISTRO in it, the agent configured for the
# flavour (agent_config) and started; two checks.
agent_up() { # distro
	lab_up
	lab_distro "$1"
	check "the agent's configuration for the $LAB_ENGINE flavour" agent_config "$1"
	like "the agent starts" "$(dx "$1" wsl-docker-agent start 2>&1)" "started"
}

# The sha256 of a path, as the agent names its exposure.
hash_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# For the suites where an attacker distro A's ordinary user attacks the
# agent of a victim distro V (both set by the suite; W is /mnt/wsl):
# status, one field of it, a link's target, and the attacker's shell.
# (status exits 1 while unhealthy: its output is what counts.)
h_status() { dx "$V" wsl-docker-agent status --json 2>/dev/null || true; }
h_field() { h_status | jq -r "$1"; }
h_link_of() { dx "$V" readlink "$1" 2>/dev/null; }
h_links_to() { [ "$(h_link_of "$1")" = "$2" ]; } # LINK TARGET
h_untrusted_like() { h_field '.desktop.untrusted // ""' | grep -q -- "$1"; }
h_untrusted_none() { [ "$(h_field .desktop.untrusted)" = null ]; }
h_atk() { dxu "$A" sh -c "$1"; }
# h_plant PATH: the attacker's program there, which leaves a line in
# $W/pwned if it ever runs.
h_plant() {
	h_atk "cat >'$1' <<'EOF'
#!/bin/sh
echo \"ran \$0 as \$(id -u)\" >>$W/pwned
EOF
chmod 755 '$1'"
}

# lab_hostile VICTIM ATTACKER: the lab, VICTIM with this build installed,
# and ATTACKER, a distro whose ordinary user dev (uid 1000) is in no
# docker group, for the suites where that user attacks the shared tree.
lab_hostile() { # victim attacker
	lab_up
	lab_distro "$1"
	"$LAB" distro "$2" --docker-gid none >/dev/null 2>&1 || bail "lab distro $2"
	is "the attacker is uid 1000 and not in the docker group" \
		"$(dx "$2" id -u dev) $(dx "$2" id -nG dev | grep -cw docker)" "1000 0"
	is "the lab's /mnt/wsl is mode 1777" "$(stat -c %a /mnt/wsl)" 1777
}
