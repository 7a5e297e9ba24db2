# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# bench/lab-distro.sh: what a benchmark with a lab distro of its own needs
# (bench/restore.sh, bench/stream-gaps.sh; sourced): die and log, the
# start (--help, root, the lab lock), and distro D with the agent of BUILD
# in it, installed and started as a user would.  Uses the caller's PROG,
# D (the distro's name) and T (its temporary directory, for lab.log).

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# --help (the caller's header), root, and the lab lock /run/wda-e2e.lock
# for the whole run: the caller again under flock -o, which keeps the
# lock's descriptor out of everything started (dockerd above all).  Then
# sets TOP, BUILD, LAB and exports LAB_DIR and LAB_ENGINE.
lab_bench_begin() { # "$@" of the caller
	case ${1-} in -h | --help) sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit 0 ;; esac
	[[ $(id -u) -eq 0 ]] || die "run as root: the lab mounts /mnt/wsl and runs dockerd"
	local lock=/run/wda-e2e.lock
	if [[ -z ${WDA_BENCH_LOCKED-} ]]; then
		flock -n "$lock" true || log "waiting for the lab lock $lock"
		exec env WDA_BENCH_LOCKED=1 flock -o "$lock" "$0" "$@"
	fi
	TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	BUILD=${BUILD:-$TOP/build}
	[[ -x $BUILD/wsl-docker-agent ]] || die "$BUILD/wsl-docker-agent is missing (build first: cd build && make)"
	LAB=$TOP/tests/lab/lab.sh
	export LAB_DIR=${LAB_DIR:-/var/tmp/wda-lab} LAB_ENGINE=${LAB_ENGINE:-simple}
}

# The lab up in LAB_ENGINE's flavour, distro D made, the agent installed
# from BUILD and started.  Sets ROOT: D's root as the machine sees it.
lab_distro_up() {
	local bind=
	"$LAB" up >>"$T/lab.log" 2>&1 || die "lab.sh up failed; see $T/lab.log"
	"$LAB" distro "$D" >>"$T/lab.log" 2>&1 || die "lab.sh distro $D failed; see $T/lab.log"
	ROOT=/proc/$(cat "$LAB_DIR/distros/$D/holder.pid")/root
	make -s -C "$BUILD" install DESTDIR="$ROOT" >>"$T/lab.log" 2>&1 ||
		die "installing $BUILD into $D failed; see $T/lab.log"
	# The simple flavour's engine sees the shared tmpfs where the distros
	# do; the desktop flavour's where Docker Desktop's does: the defaults.
	[[ $LAB_ENGINE == simple ]] && bind='"engine_wsl_root": "/mnt/wsl"'
	mkdir -p "$ROOT/etc/wsl-docker-agent"
	printf '{ "bind": { %s } }\n' "$bind" >"$ROOT/etc/wsl-docker-agent/config.json"
	dx wsl-docker-agent start >>"$T/lab.log" 2>&1 || die "the agent did not start in $D; see $T/lab.log"
}

# Distro D removed and the lab down (the caller's EXIT trap).
lab_distro_down() {
	"$LAB" distro-rm "$D" >>"$T/lab.log" 2>&1 || true
	"$LAB" down >>"$T/lab.log" 2>&1 || true
}

# CMD run in distro D as root.
dx() { "$LAB" exec "$D" -- "$@"; }
