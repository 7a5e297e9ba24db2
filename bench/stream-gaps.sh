#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/stream-gaps.sh: does the agent's loop stall a running stream while
# creates need new exposures (ARCHITECTURE.md's target: a followed
# stream's gaps between reads are no worse during 20 such creates than
# quiet, side by side in one run)?  In a lab distro whose agent proxies
# /run/docker.sock and re-exposes bind sources: a container floods its
# stdout (busybox yes), and a client follows its log through the agent
# (GET /containers/ID/logs?follow=1, raw HTTP), noting when each recv()
# returns.  Then ROUNDS rounds (after one of warm-up), each: CREATES
# creates through the agent, THREADS at a time, each with a bind source
# never exposed before (so the agent mounts a new exposure below
# /mnt/wsl/docker-desktop-bind-mounts and saves its manifest before it
# answers); their containers removed on the engine and their exposures
# let go; as many creates straight to the engine, the anchor (what the
# creates cost the stream with the agent doing nothing for them: on few
# CPUs the engine's own work shows); then a quiet window as long as the
# creates through the agent took.  Prints the medians over the rounds of
# each window's p99.9 gap and longest gap (ms), its number of gaps and
# the stream's MiB/s, quiet, straight and through the agent, with the
# ratios against quiet and straight, as a table (Markdown); per round
# the figures of every window (the releases' too) with the agent's CPU,
# and the creates' own latencies, go to stderr.  The measuring side is
# bench/stream-gaps.py (its docstring says more).
#
# Usage: bench/stream-gaps.sh
#   ROUNDS=5  measured rounds      CREATES=20  creates a round
#   THREADS=4 creates at a time
#   BUILD=DIR  the build to measure (default: the project's build/)
#   LAB_ENGINE=simple|desktop  the lab's flavour (default simple)
# As root.  Never part of pass/fail.  Takes the lab lock /run/wda-e2e.lock
# for the whole run, brings the lab up and takes it down at the end.
# Exits 1 naming the reason when a create is not answered 201 or the
# stream breaks.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=bench/stream-gaps.sh
# die, log, lab_bench_begin, lab_distro_up, lab_distro_down, dx
. "$HERE/lab-distro.sh"
lab_bench_begin "$@"

ROUNDS=${ROUNDS:-5} CREATES=${CREATES:-20} THREADS=${THREADS:-4}
for v in ROUNDS CREATES THREADS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number (got '${!v}')"
done
readonly ENGINE_SOCK=/mnt/wsl/docker-desktop/shared-sockets/guest-services/docker.proxy.sock
D=wda-gaps
T=$(mktemp -d /tmp/wda-bench-gaps.XXXXXX)
ROOT=
trap lab_distro_down EXIT

log "lab up ($LAB_ENGINE), distro $D, $ROUNDS rounds of $CREATES creates ($THREADS at a time); logs in $T"
lab_distro_up

out=/tmp/wda-stream-gaps.json rc=0
dx python3 - "$ENGINE_SOCK" /run/docker.sock "$ROUNDS" "$CREATES" "$THREADS" "$out" \
	<"$HERE/stream-gaps.py" || rc=$?
cp -- "$ROOT/var/log/wsl-docker-agent.log" "$T/agent.log" 2>/dev/null || true
((rc == 0)) || die "the measurement failed (above; exit $rc); the agent's log: $T/agent.log"
cp -- "$ROOT$out" "$T/figures.json"
dx wsl-docker-agent stop >>"$T/lab.log" 2>&1 || true

python3 "$HERE/stream-gaps.py" report "$T/figures.json" "$LAB_ENGINE"
