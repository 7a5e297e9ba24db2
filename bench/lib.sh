# SPDX-License-Identifier: Apache-2.0
# bench/lib.sh: the processes and figures of a benchmark run, for
# bench/run.sh and bench/compare.sh (sourced).  Uses the caller's T (its temporary
# directory), SINK (bench/sink.c built), SHIM, die(), and the associative
# arrays SUP, PID and SOCK.

# Start CMD under `sink supervise' (its parent until stopped) and wait
# until SOCK answers GET /_ping, or READY=1 first with NOTIFY=1.
# Sets SUP[NAME], PID[NAME], SOCK[NAME], and READY_MS, PING_MS.
start_proc() { # NAME SOCK NOTIFY CMD...
	local name=$1 sock=$2 notify=$3 fifo fd line
	shift 3
	local -a flags=(-o "$T/$name.log")
	((notify)) && flags+=(-n)
	fifo=$T/.fifo.$name
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	rm -f -- "$fifo"
	"$SINK" supervise "${flags[@]}" 20000 "$sock" -- "$@" 1>&"$fd" 2>>"$T/$name.log" &
	SUP[$name]=$!
	if ! read -r -t 30 -u "$fd" line || [[ $line != ready* ]]; then
		exec {fd}>&-
		tail -n 20 "$T/$name.log" >&2
		die "$name did not come up on $sock; see its log above"
	fi
	exec {fd}>&-
	read -r _ READY_MS PING_MS PID[$name] <<<"$line"
	SOCK[$name]=$sock
}

stop_proc() { # NAME
	local name=$1
	[[ -n ${SUP[$name]-} ]] || return 0
	kill -TERM "${SUP[$name]}" 2>/dev/null || true
	wait "${SUP[$name]}" 2>/dev/null || true
	unset "SUP[$name]" "PID[$name]" "SOCK[$name]"
}

# An agent configuration of its own: every path private to this run.  (A
# file, not flags: flags give the same configuration.)
agent_config() { # NAME DESKTOP_DIR MODE -> path of the file
	local name=$1 d=$T/$1
	mkdir -p "$d"
	cat >"$T/$name.json" <<EOF
{
  "desktop_dir": "$2",
  "socket": { "path": "$d/docker.sock", "mode": "$3" },
  "links": { "bin_dir": "$d/bin", "plugin_dir": "$d/cli-plugins", "shim": "$SHIM",
             "cli_mount": "$d/cli-view" },
  "host": { "address": "none" },
  "control_socket": "$d/control.sock",
  "state_dir": "$d/state",
  "pidfile": "$d/agent.pid",
  "log_file": "$d/agent.log",
  "log_level": "warning"
}
EOF
	printf '%s\n' "$T/$name.json"
}

median() { # numbers on stdin -> the median (of the sorted middle)
	sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

median_of() { # "N N N ..." -> the median
	tr ' ' '\n' <<<"$1" | { grep . || true; } | median
}

num() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; }
x() { if num "$1" && num "$2"; then awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; else echo n/a; fi; }
