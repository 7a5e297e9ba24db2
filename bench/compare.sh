#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/compare.sh: the proxy's stream throughput, one build against another,
# in the same run: "did this change lose anything?", answered on a machine
# whose unix-socket throughput drifts from run to run (bench/RESULTS.md,
# "Reading the figures"), where comparing two bench/run.sh tables cannot.
#
# A sink server (bench/sink.c) plays the engine below a tree of its own;
# both agents run in proxy mode in front of it, side by side.  Each round
# moves BYTES each way through direct, then A, then B (the order alternates
# round by round, so drift and placement hit both alike).  Prints the medians
# in MiB/s, each against direct, and B against A.
#
# Usage: bench/compare.sh [--runs N] [--mib M] A [B]
#   A, B   an agent binary, or a git revision of this repository (built in a
#          temporary worktree); B defaults to this checkout's build/
#   --runs rounds (default 9)   --mib MiB each way per transfer (default 2048)
# As root (the agent's trust checks want a root-owned tree on a mount of its
# own).  Never part of pass/fail.  Needs no engine and no lab.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
PROG=bench/compare.sh
RUNS=9 MIB=2048
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
usage_error() { printf '%s: %s (see --help)\n' "$PROG" "$*" >&2; exit 64; }

declare -a which=()
while (($#)); do
	case $1 in
	--runs) (($# >= 2)) || usage_error "--runs needs a number"; RUNS=$2; shift ;;
	--mib) (($# >= 2)) || usage_error "--mib needs a number"; MIB=$2; shift ;;
	-h | --help) sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	-*) usage_error "unknown option $1" ;;
	*) which+=("$1") ;;
	esac
	shift
done
((${#which[@]} >= 1 && ${#which[@]} <= 2)) || usage_error "name one or two builds"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || usage_error "--runs must be a positive number (got '$RUNS')"
[[ $MIB =~ ^[1-9][0-9]*$ ]] || usage_error "--mib must be a positive number (got '$MIB')"
((${#which[@]} == 2)) || which+=("$TOP/build/wsl-docker-agent")
[[ $(id -u) -eq 0 ]] || die "run as root: the sink's tree is a tmpfs mount"

T=$(mktemp -d /tmp/wda-compare.XXXXXX)
declare -A SUP=() PID=() SOCK=()
. "$HERE/lib.sh"	# start_proc, stop_proc, agent_config, median_of, x
cleanup() {
	local s
	for s in b a sink; do stop_proc "$s"; done
	[[ ! -d $T/shared ]] || umount "$T/shared" 2>/dev/null || true
	for s in "$T"/tree-*; do	# agent_of's, made in a subshell
		[[ ! -d $s ]] || git -C "$TOP" worktree remove --force "$s" 2>/dev/null || true
	done
	git -C "$TOP" worktree prune 2>/dev/null || true
	rm -rf -- "$T"
}
trap cleanup EXIT

# An agent binary for A or B: a path as it is, a revision built here.
agent_of() { # NAME SPEC -> path
	local name=$1 spec=$2 tree
	if [[ -x $spec && ! -d $spec ]]; then
		printf '%s\n' "$spec"
		return
	fi
	git -C "$TOP" rev-parse --verify -q "$spec^{commit}" >/dev/null ||
		die "$spec is neither an executable nor a revision of this repository"
	tree=$T/tree-$name
	log "building $spec in $tree"
	git -C "$TOP" worktree add -q --detach "$tree" "$spec" || die "cannot check out $spec"
	(cd "$tree" && autoreconf -fi && mkdir -p build && cd build && ../configure -q &&
		make -j"$(nproc)" wsl-docker-agent wsl-docker-shim) >"$T/build-$name.log" 2>&1 ||
		{ tail -20 "$T/build-$name.log" >&2; die "building $spec failed"; }
	printf '%s\n' "$tree/build/wsl-docker-agent"
}
A=$(agent_of a "${which[0]}")
B=$(agent_of b "${which[1]}")
SHIM=$TOP/build/wsl-docker-shim
[[ -x $SHIM ]] || die "$SHIM is missing (build first: cd build && make)"

cc -std=c11 -O2 -Wall -Wextra -pthread -o "$T/sink" "$HERE/sink.c" || die "cannot build bench/sink.c"
SINK=$T/sink

# The agent trusts a tree below a shared root only if that root is a mount
# point owned by root: a tmpfs of its own, as /mnt/wsl is.
desk=$T/shared/docker-desktop
engine=$desk/shared-sockets/guest-services/docker.proxy.sock
mkdir -p "$T/shared"
mount -t tmpfs -o mode=0755,size=16m wda-compare "$T/shared" || die "cannot mount a tmpfs on $T/shared"
mkdir -p "${engine%/*}"

start_proc sink "$engine" 0 "$SINK" serve "$engine"
SOCK[direct]=$engine
start_proc a "$T/a/docker.sock" 1 "$A" -c "$(agent_config a "$desk" proxy)" run
start_proc b "$T/b/docker.sock" 1 "$B" -c "$(agent_config b "$desk" proxy)" run

log "A: $A ($("$A" --version 2>/dev/null | head -1))"
log "B: $B ($("$B" --version 2>/dev/null | head -1))"
log "$RUNS rounds of $MIB MiB each way through direct, A and B; load average $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A got=()
for ((r = 1; r <= RUNS; r++)); do
	if ((r % 2)); then order=(direct a b); else order=(direct b a); fi
	for p in "${order[@]}"; do
		for dir in put get; do
			out=$("$SINK" "$dir" "${SOCK[$p]}" "$((MIB * 1048576))") || die "$dir through $p failed"
			got[$p.$dir]+="${out%% *} "
		done
	done
done

printf '\n| MiB/s (median of %d, %d MiB) | direct | A | B | B / A |\n| --- | --- | --- | --- | --- |\n' "$RUNS" "$MIB"
for dir in put get; do
	d=$(median_of "${got[direct.$dir]}") a=$(median_of "${got[a.$dir]}") b=$(median_of "${got[b.$dir]}")
	label=$([[ $dir == put ]] && echo "client -> sink" || echo "sink -> client")
	printf '| %s | %s | %s (%sx) | %s (%sx) | %sx |\n' "$label" "$d" "$a" "$(x "$a" "$d")" "$b" "$(x "$b" "$d")" "$(x "$b" "$a")"
done
printf '\nSamples:\n'
for k in direct.put a.put b.put direct.get a.get b.get; do printf '    %-10s %s\n' "$k" "${got[$k]}"; done
printf 'Load average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
