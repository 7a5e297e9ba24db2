#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/restore.sh: after a VM reboot, how long from the agent's start until
# every container of the distro sees its bind sources again (ARCHITECTURE.md's
# target: within 5 s).  In the lab: N --restart=always containers, each with
# a bind source of its own, then per run a simulated reboot (lab.sh
# vm-reboot: the engine restarts them on empty stand-ins before the agent
# runs), the agent started, and the time until each container has written
# its start line into its source in the distro (it writes on every start:
# on the stand-in first, on the source once the agent restarted it).  Prints
# the median of the runs as a table row, with the time to ready.
#
# Usage: bench/restore.sh
#   N=10       containers          RUNS=3  reboots measured
#   BUILD=DIR  the build to measure (default: the project's build/)
#   LAB_ENGINE=simple|desktop  the lab's flavour (default simple)
# As root.  Never part of pass/fail.  Takes the lab lock /run/wda-e2e.lock
# for the whole run, brings the lab up and takes it down at the end.

set -euo pipefail

PROG=bench/restore.sh
# die, log, lab_bench_begin, lab_distro_up, lab_distro_down, dx
. "$(dirname "${BASH_SOURCE[0]}")/lab-distro.sh"
lab_bench_begin "$@"

N=${N:-10} RUNS=${RUNS:-3}
D=wda-restore
T=$(mktemp -d /tmp/wda-bench-restore.XXXXXX)
ROOT=
trap lab_distro_down EXIT
now_ms() { date +%s%3N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
lines() { local f=$ROOT/home/dev/src$1/starts; [[ -f $f ]] && wc -l <"$f" || echo 0; }

log "lab up ($LAB_ENGINE), distro $D, $N containers; logs in $T"
lab_distro_up
for i in $(seq 1 "$N"); do
	dx mkdir -p "/home/dev/src$i"
	dx docker run -d --restart=always --name "rb$i" -v "/home/dev/src$i:/data" bb \
		sh -c 'trap "exit 0" TERM; echo x >> /data/starts; sleep 600 & wait' >>"$T/lab.log" 2>&1 ||
		die "docker run rb$i failed"
done

ready=() all=()
for run in $(seq 1 "$RUNS"); do
	declare -A before=()
	for i in $(seq 1 "$N"); do
		until (($(lines "$i") > 0)); do sleep 0.01; done
		before[$i]=$(lines "$i")
	done
	pid=$(dx cat /run/wsl-docker-agent.pid)
	dx kill -9 "$pid"
	"$LAB" vm-reboot >>"$T/lab.log" 2>&1 || die "lab.sh vm-reboot failed"
	t0=$(now_ms)
	dx wsl-docker-agent start >>"$T/lab.log" 2>&1 || die "the agent did not start after the reboot"
	ready+=($(($(now_ms) - t0)))
	left=$N deadline=$((t0 + 120000))
	declare -A seen=()
	while ((left > 0)); do
		(($(now_ms) < deadline)) || die "run $run: $left container(s) still not on their sources after 120 s"
		for i in $(seq 1 "$N"); do
			[[ -z ${seen[$i]-} ]] && (($(lines "$i") > before[$i])) && { seen[$i]=1; left=$((left - 1)); }
		done
		((left == 0)) || sleep 0.01
	done
	all+=($(($(now_ms) - t0)))
	log "run $run: ready after ${ready[-1]} ms, all $N containers on their sources after ${all[-1]} ms"
	unset before seen
done
printf '| restore after a VM reboot (%s, %d containers, median of %d) | %d ms to all on their sources | %d ms to ready |\n' \
	"$LAB_ENGINE" "$N" "$RUNS" "$(printf '%s\n' "${all[@]}" | median)" "$(printf '%s\n' "${ready[@]}" | median)"
