#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# lab.sh: a WSL-like laboratory on a plain Linux machine (ARCHITECTURE.md,
# "Tests", says what it stands for).
#
# The machine plays the WSL 2 VM:
#   /mnt/wsl                  a shared tmpfs, as in WSL
#   /mnt/wsl/docker-desktop/cli-tools
#                             a read-only bind mount of a cli-tools image,
#                             present only while "Docker Desktop" runs
#   .../shared-sockets/guest-services/docker.proxy.sock
#                             a real dockerd with its own data-root,
#                             exec-root and pidfile
# User distros are mount+pid namespaces chrooted into an overlay of the host
# root file system, with /mnt/wsl rbind-mounted so that mounts made below it
# inside a distro propagate back out, exactly as in WSL.
#
# LAB_ENGINE picks where the engine runs (the lab's flavour):
#   simple   (default) Debian 12's dockerd 20.10 on the machine itself; it
#            sees the shared tmpfs at /mnt/wsl, as the distros do.
#   desktop  Docker Desktop's real layout: Debian 13's dockerd 26.1 in a
#            distro of its own (the docker-desktop distro: a mount+pid
#            namespace chrooted into a trixie root made once with
#            debootstrap, cached in $LAB_DIR/desktop-root). It sees the
#            shared tmpfs at /run/desktop/mnt/host/wsl and drive C: (the
#            directory $LAB_DIR/drive-c, /mnt/c in the user distros) at
#            /run/desktop/mnt/host/c. cli-tools holds Debian 13's docker
#            26.1 CLI with buildx and compose as CLI plugins.
# The flavour of a running lab is recorded; 'up' with another flavour takes
# the running lab down first.
#
# Must run as root. Run "lab.sh help" for the subcommands.

set -euo pipefail

readonly PROG=${0##*/}
LAB_DIR=${LAB_DIR:-/var/tmp/wda-lab}
readonly WSL_MNT=/mnt/wsl
readonly DESKTOP_DIR=$WSL_MNT/docker-desktop
readonly CLI_TOOLS=$DESKTOP_DIR/cli-tools
readonly SOCK_DIR=$DESKTOP_DIR/shared-sockets/guest-services
readonly ENGINE_SOCK=$SOCK_DIR/docker.proxy.sock
readonly BIND_MOUNTS_DIR=$WSL_MNT/docker-desktop-bind-mounts
# The desktop flavour: where its engine sees the shared tmpfs and drive C:,
# where the user distros see drive C:, and what its root is made of.
readonly DD_HOST=/run/desktop/mnt/host
readonly DD_WSL_MNT=$DD_HOST/wsl
readonly DD_DRIVE_C=$DD_HOST/c
readonly DISTRO_DRIVE_C=/mnt/c
readonly DD_SUITE=trixie
# (Debian 13 ships the CLI apart from the engine, in docker-cli.)
readonly DD_PACKAGES=docker.io,docker-cli,containerd,runc,docker-buildx,docker-compose
readonly DD_PIDFILE=/run/docker.pid
# The docker CLI of the docker.io package (/usr/local/bin/docker on the
# development machines is an unrelated client; never pick it up from PATH).
readonly DOCKER_CLI=/usr/bin/docker
readonly DOCKERD=/usr/sbin/dockerd
readonly BUSYBOX=/bin/busybox
readonly SANE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly DEFAULT_DOCKER_GID=2345
readonly DEV_UID=1000
readonly HOLDER_TAG=wda-lab-holder

# Bounds of the readiness polls (seconds).
readonly ENGINE_START_TIMEOUT=${LAB_ENGINE_START_TIMEOUT:-60}
readonly ENGINE_STOP_TIMEOUT=${LAB_ENGINE_STOP_TIMEOUT:-60}
readonly HOLDER_TIMEOUT=20

ENGINE_DIR='' CLI_IMAGE='' DISTROS_DIR='' DESKTOP_ROOT='' DRIVE_C=''
FLAVOUR='' FLAVOUR_UP=''
ENGINE_STARTED=0
# 1 in engine-stop --live-restore and the engine start after it: the engine
# stops and starts with live-restore on, and its shims and containers (and,
# desktop, its distro) are kept.
LIVE_RESTORE=0
export PATH=$SANE_PATH

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

# Print the last lines of a log file to stderr, for failure reports.
show_tail() { # FILE [LINES]
	if [[ -s $1 ]]; then
		printf '%s: ---- last lines of %s ----\n' "$PROG" "$1" >&2
		tail -n "${2:-25}" "$1" >&2 || true
		printf '%s: ----\n' "$PROG" >&2
	fi
}

now_ms() { local s; s=$(date +%s%N); printf '%s\n' "$((s / 1000000))"; }

set_paths() {
	[[ $LAB_DIR == /* ]] || die "LAB_DIR must be an absolute path (got '$LAB_DIR')"
	[[ $LAB_DIR != *[[:space:]]* ]] || die "LAB_DIR must not contain white space (got '$LAB_DIR')"
	LAB_DIR=$(realpath -m -- "$LAB_DIR")
	case $LAB_DIR in
	/ | /bin* | /boot* | /dev* | /etc* | /lib* | /proc* | /run | /sbin* | /sys* | /usr* | /mnt/wsl*)
		die "refusing LAB_DIR=$LAB_DIR: choose a dedicated directory such as /var/tmp/wda-lab" ;;
	esac
	DISTROS_DIR=$LAB_DIR/distros
	DESKTOP_ROOT=$LAB_DIR/desktop-root
	DRIVE_C=$LAB_DIR/drive-c
	case ${LAB_ENGINE-} in
	'' | simple | desktop) ;;
	*) die "LAB_ENGINE must be 'simple' or 'desktop' (got '$LAB_ENGINE')" ;;
	esac
	# The flavour of the lab that is up, if one is.
	FLAVOUR_UP=''
	if [[ -r $LAB_DIR/.engine ]] && mountpoint -q "$WSL_MNT"; then
		read -r FLAVOUR_UP <"$LAB_DIR/.engine" || true
		[[ $FLAVOUR_UP == simple || $FLAVOUR_UP == desktop ]] || FLAVOUR_UP=''
	fi
	use_flavour "${FLAVOUR_UP:-${LAB_ENGINE:-simple}}"
}

# Work on the lab of flavour F (simple or desktop): its engine directory and
# cli-tools image. (Both flavours share /mnt/wsl and the distros.)
use_flavour() { # F
	FLAVOUR=$1
	if [[ $FLAVOUR == desktop ]]; then
		ENGINE_DIR=$LAB_DIR/engine-desktop
		CLI_IMAGE=$LAB_DIR/cli-tools-image-desktop
	else
		ENGINE_DIR=$LAB_DIR/engine
		CLI_IMAGE=$LAB_DIR/cli-tools-image
	fi
}

# Commands that build on a running lab refuse another flavour than its own.
require_flavour_of_lab() {
	[[ -z $FLAVOUR_UP || -z ${LAB_ENGINE-} || $LAB_ENGINE == "$FLAVOUR_UP" ]] ||
		die "the lab is up with LAB_ENGINE=$FLAVOUR_UP, not $LAB_ENGINE; run '$PROG down' first (or 'LAB_ENGINE=$LAB_ENGINE $PROG up', which does)"
}

require_root() {
	[[ $(id -u) -eq 0 ]] || die "must run as root (mounts, namespaces and dockerd need it)"
}

require_plain_linux() {
	# The lab imitates WSL 2; on a real WSL 2 kernel /mnt/wsl is the real
	# thing and must not be touched.
	local rel
	rel=$(uname -r)
	if [[ $rel == *[Mm]icrosoft* || -e /proc/sys/fs/binfmt_misc/WSLInterop ]]; then
		die "this looks like a real WSL kernel ($rel); the lab only runs on plain Linux"
	fi
}

require_tools() {
	local t
	for t in "$@"; do
		[[ -x $t ]] || command -v "$t" >/dev/null 2>&1 || die "required tool '$t' not found (install it first)"
	done
}

# Serialise the subcommands that change state.  Long-lived children (dockerd,
# holders) close this lock and the e2e tests' lock (fd 9, tests/e2e/lib.sh)
# so neither outlives the process that took it.
LOCK_FD=
take_lock() {
	mkdir -p -- "$LAB_DIR"
	exec {LOCK_FD}>"$LAB_DIR/.lock"
	flock -w 300 "$LOCK_FD" || die "could not take the lab lock $LAB_DIR/.lock within 300 s (another lab.sh running?)"
}

# ---------------------------------------------------------------- mounts ----

# Mount points equal to or below PREFIX in this mount namespace, deepest first.
# (Mount points are octal-escaped in mountinfo; the lab's paths have no
# white space, which set_paths enforces for LAB_DIR.)
mounts_under() { # PREFIX
	awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

umount_one() { # PATH
	umount -- "$1" 2>/dev/null && return 0
	# Busy (a process in some distro sits in it): detach it lazily, as an
	# ejected image would vanish regardless.
	if umount -l -- "$1"; then
		log "note: $1 was busy; detached it lazily"
		return 0
	fi
	return 1
}

# Unmount everything at or below PREFIX (stacked mounts too).
umount_tree() { # PREFIX
	local prefix=$1 m round=0 left
	while left=$(mounts_under "$prefix") && [[ -n $left ]]; do
		round=$((round + 1))
		((round <= 20)) || die "could not unmount everything below $prefix; still mounted:"$'\n'"$left"
		while IFS= read -r m; do
			umount_one "$m" || log "warning: umount $m failed (will retry)"
		done <<<"$left"
	done
}

ensure_wsl_mount() {
	if ! mountpoint -q "$WSL_MNT"; then
		if [[ ! -d $WSL_MNT ]]; then
			mkdir -p "$WSL_MNT" || die "cannot create $WSL_MNT"
			: >"$LAB_DIR/.created-mnt-wsl"
		fi
		mount -t tmpfs -o mode=1777 wsl "$WSL_MNT" || die "mounting the shared tmpfs on $WSL_MNT failed"
		mount --make-shared "$WSL_MNT" || die "mount --make-shared $WSL_MNT failed"
		log "mounted shared tmpfs on $WSL_MNT"
	fi
	check_wsl_mount
}

# /mnt/wsl must be the lab's shared tmpfs: distros rely on its propagation.
check_wsl_mount() {
	local src fstype prop
	mountpoint -q "$WSL_MNT" || die "$WSL_MNT is not mounted; run '$PROG up' first"
	read -r src fstype prop < <(findmnt -n -o SOURCE,FSTYPE,PROPAGATION --mountpoint "$WSL_MNT" | tail -n 1) || true
	[[ $fstype == tmpfs ]] || die "$WSL_MNT is a $fstype mount, not the lab's tmpfs"
	[[ $prop == shared* ]] || die "$WSL_MNT is mounted $prop, not shared: mounts made in distros would not propagate"
	[[ $src == wsl ]] || log "note: $WSL_MNT has source '$src' (the lab mounts it as 'wsl')"
}

# ------------------------------------------------------------- cli-tools ----

write_file() { # PATH MODE  (content on stdin; rewritten only when it changed)
	local tmp
	tmp=$(mktemp "$1.XXXXXX")
	cat >"$tmp"
	chmod "$2" "$tmp"
	if [[ -f $1 ]] && cmp -s "$tmp" "$1"; then
		rm -f -- "$tmp"
	else
		mv -f -- "$tmp" "$1"
	fi
}

# Install the executable SRC as DST, replaced whole and only when it changed.
copy_exe() { # SRC DST
	cmp -s -- "$1" "$2" && return 0
	cp -f -- "$1" "$2.tmp" || die "copying $1 to $2 failed"
	chmod 0755 "$2.tmp"
	mv -f -- "$2.tmp" "$2"
}

build_cli_image() {
	local img=$CLI_IMAGE
	mkdir -p "$img/usr/bin" "$img/usr/lib/docker/cli-plugins"
	chmod 0755 "$img" "$img/usr" "$img/usr/bin" "$img/usr/lib" "$img/usr/lib/docker" "$img/usr/lib/docker/cli-plugins"
	if [[ $FLAVOUR == desktop ]]; then
		# Debian 13's CLI and its buildx and compose plugins, where
		# Docker Desktop ships its plugins.
		copy_exe "$DESKTOP_ROOT/usr/bin/docker" "$img/usr/bin/docker"
		local p
		for p in docker-buildx docker-compose; do
			copy_exe "$DESKTOP_ROOT/usr/libexec/docker/cli-plugins/$p" "$img/usr/lib/docker/cli-plugins/$p"
		done
	else
		copy_exe "$DOCKER_CLI" "$img/usr/bin/docker"
	fi

	# Stand-in for Docker Desktop's credential helper (the docker
	# credential-helper protocol: the action is argv[1], the payload stdin).
	write_file "$img/usr/bin/docker-credential-desktop.exe" 0755 <<'EOF'
#!/bin/sh
# Lab stand-in for Docker Desktop's docker-credential-desktop.exe.
# get: ServerURL on stdin -> anonymous credentials (empty user and secret);
# no ServerURL -> "credentials not found in native keychain", exit 1.
# list -> {} ; store/erase accept and forget.
case ${1-} in
get)
	url=$(cat)
	if [ -z "$url" ]; then
		echo "credentials not found in native keychain"
		exit 1
	fi
	url=$(printf '%s' "$url" | sed 's/\\/\\\\/g; s/"/\\"/g')
	printf '{"ServerURL":"%s","Username":"","Secret":""}\n' "$url"
	;;
list) echo '{}' ;;
store | erase) cat >/dev/null ;;
version) echo "docker-credential-desktop (wda-lab) 1.0" ;;
*)
	echo "Usage: docker-credential-desktop.exe <store|get|erase|list|version>" >&2
	exit 1
	;;
esac
EOF

	# A docker CLI plugin ("docker hello").
	write_file "$img/usr/lib/docker/cli-plugins/docker-hello" 0755 <<'EOF'
#!/bin/sh
# Lab CLI plugin: "docker hello".
if [ "${1-}" = docker-cli-plugin-metadata ]; then
	echo '{"SchemaVersion":"0.1.0","Vendor":"lab","Version":"1.0","ShortDescription":"lab plugin"}'
	exit 0
fi
echo "hello from plugin"
EOF
}

cli_tools_mounted() { mountpoint -q "$CLI_TOOLS"; }

mount_cli_tools() {
	mkdir -p "$CLI_TOOLS"
	if ! cli_tools_mounted; then
		mount --bind "$CLI_IMAGE" "$CLI_TOOLS" || die "bind-mounting $CLI_IMAGE on $CLI_TOOLS failed"
		# An image: read-only, as Docker Desktop's is.
		mount -o remount,bind,ro "$CLI_TOOLS" || die "remounting $CLI_TOOLS read-only failed"
		log "mounted cli-tools on $CLI_TOOLS"
	fi
}

umount_cli_tools() {
	if mounts_under "$CLI_TOOLS" | grep -q .; then
		umount_tree "$CLI_TOOLS"
		log "unmounted $CLI_TOOLS"
	fi
}

# ---------------------------------------------------------- desktop root ----

# The Debian archive apt uses here (deb822 .sources or one-line .list
# files), for debootstrap; LAB_DEBIAN_MIRROR overrides it.
debian_mirror() {
	local uri
	if [[ -n ${LAB_DEBIAN_MIRROR-} ]]; then
		printf '%s\n' "$LAB_DEBIAN_MIRROR"
		return 0
	fi
	uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }
			/^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' - \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -E '/debian/?$' | head -n 1) || true
	printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# The engine distro's root: Debian $DD_SUITE with the engine, made once with
# debootstrap and reused while the suite and package list stay the same.
# Under a lock of its own, so that the lab's other commands are not held up
# by the few minutes it takes.
build_desktop_root() {
	local stamp="$DD_SUITE $DD_PACKAGES" tmp=$DESKTOP_ROOT.new mirror t0 fd
	[[ -f $DESKTOP_ROOT/.wda-lab-root && $(cat "$DESKTOP_ROOT/.wda-lab-root") == "$stamp" ]] && return 0
	require_tools debootstrap
	exec {fd}>"$LAB_DIR/.desktop-root.lock"
	flock -w 1200 "$fd" || die "could not take $LAB_DIR/.desktop-root.lock within 1200 s"
	if [[ -f $DESKTOP_ROOT/.wda-lab-root && $(cat "$DESKTOP_ROOT/.wda-lab-root") == "$stamp" ]]; then
		exec {fd}>&-
		return 0
	fi
	t0=$(now_ms)
	mirror=$(debian_mirror)
	log "building the engine distro's root ($DD_SUITE: $DD_PACKAGES) from $mirror in $DESKTOP_ROOT"
	umount_tree "$tmp"
	rm -rf --one-file-system -- "$tmp"
	if ! debootstrap --variant=minbase --include="$DD_PACKAGES" "$DD_SUITE" "$tmp" "$mirror" \
		>"$LAB_DIR/desktop-root.log" 2>&1 {fd}>&- 9>&-; then
		umount_tree "$tmp"
		show_tail "$LAB_DIR/desktop-root.log"
		die "debootstrap of $DD_SUITE failed; see $LAB_DIR/desktop-root.log"
	fi
	umount_tree "$tmp"
	# Small: no package cache, lists, documentation or translations.
	rm -rf --one-file-system -- "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* \
		"$tmp"/usr/share/doc/* "$tmp"/usr/share/man/* "$tmp"/usr/share/locale/* "$tmp"/debootstrap
	# The lab's engine configuration: none.
	mkdir -p "$tmp/etc/docker"
	echo '{}' >"$tmp/etc/docker/daemon.json"
	printf '%s\n' "$stamp" >"$tmp/.wda-lab-root"
	umount_tree "$DESKTOP_ROOT"
	rm -rf --one-file-system -- "$DESKTOP_ROOT"
	mv -- "$tmp" "$DESKTOP_ROOT"
	exec {fd}>&-
	log "engine distro root ready in $(($(now_ms) - t0)) ms ($(du -sh -- "$DESKTOP_ROOT" | cut -f1))"
}

# ---------------------------------------------------------------- engine ----

lab_docker() {
	env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH \
		DOCKER_CONFIG="$LAB_DIR/client-config" "$DOCKER_CLI" -H "unix://$ENGINE_SOCK" "$@"
}

# The pid of the lab's dockerd (in the machine's pid namespace), if it runs.
engine_pid() {
	local pid comm hp
	if [[ $FLAVOUR == desktop ]]; then
		# Its pidfile is in the engine distro and holds the pid there.
		hp=$(holder_pid_in "$ENGINE_DIR") || return 1
		pid=$(head -n 1 -- "/proc/$hp/root$DD_PIDFILE" 2>/dev/null) || return 1
		[[ $pid =~ ^[0-9]+$ ]] || return 1
		pid=$(host_pid_of "$hp" "$pid") || return 1
	else
		[[ -r $ENGINE_DIR/dockerd.pid ]] || return 1
		# (dockerd writes its pidfile without a newline.)
		pid=$(head -n 1 -- "$ENGINE_DIR/dockerd.pid" 2>/dev/null) || return 1
	fi
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	read -r comm 2>/dev/null <"/proc/$pid/comm" || return 1
	[[ $comm == dockerd ]] || return 1
	is_zombie "$pid" && return 1
	printf '%s\n' "$pid"
}

# The machine's pid of the process that is NSPID in the pid namespace of
# process PID.
host_pid_of() { # PID NSPID
	local ns f p
	ns=$(readlink "/proc/$1/ns/pid") || return 1
	while IFS= read -r f; do
		p=${f#/proc/}
		p=${p%/status}
		[[ $(readlink "/proc/$p/ns/pid" 2>/dev/null) == "$ns" ]] && { printf '%s\n' "$p"; return 0; }
	done < <(grep -lE "^NSpid:[[:space:]]+[0-9]+[[:space:]]+$2\$" /proc/[0-9]*/status 2>/dev/null || true)
	return 1
}

# Processes of the lab's engine: in the simple flavour dockerd, its
# containerd and shims, found by the lab's engine directory on their command
# line; in the desktop flavour the engine distro's holder (pid 1 of the pid
# namespace where all of them run) and the unshare above it.
engine_procs() {
	local pid comm
	if [[ $FLAVOUR == desktop ]]; then
		holder_procs "$ENGINE_DIR"
		return 0
	fi
	for pid in $(procs_with_arg substr "$ENGINE_DIR/"); do
		read -r comm 2>/dev/null <"/proc/$pid/comm" || continue
		case $comm in dockerd | containerd* | docker-proxy) printf '%s\n' "$pid" ;; esac
	done
	return 0
}

# The engine's daemons alone (dockerd, its containerd, docker-proxy), not
# the shims and the containers below them, which a live-restore restart
# keeps. (comm is cut at 15 characters: a shim's reads "containerd-shim".)
engine_daemons() {
	local pid comm hp ns pids
	if [[ $FLAVOUR == desktop ]]; then
		hp=$(holder_pid_in "$ENGINE_DIR") || return 0
		ns=$(readlink "/proc/$hp/ns/mnt") || return 0
		pids=$(procs_in_mntns "$ns")
	else
		pids=$(engine_procs)
	fi
	for pid in $pids; do
		read -r comm 2>/dev/null <"/proc/$pid/comm" || continue
		case $comm in dockerd | containerd | docker-proxy) printf '%s\n' "$pid" ;; esac
	done
	return 0
}

# Live processes with an argument equal to (exact), starting with (prefix) or
# containing (substr) STRING. One grep over /proc finds candidates; each is
# then checked again, which also drops the grep itself.
procs_with_arg() { # exact|prefix|substr STRING
	local mode=$1 s=$2 f pid arg
	local -a cands=()
	mapfile -t cands < <(grep -lzF -- "$s" /proc/[0-9]*/cmdline 2>/dev/null || true)
	for f in "${cands[@]}"; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		is_zombie "$pid" && continue
		while IFS= read -r -d '' arg; do
			case $mode in
			exact) [[ $arg == "$s" ]] ;;
			prefix) [[ $arg == "$s"* ]] ;;
			*) [[ $arg == *"$s"* ]] ;;
			esac && { printf '%s\n' "$pid"; break; }
		done 2>/dev/null <"$f" || true
	done
	return 0
}

# Descendants of PID (children first, then theirs), for forced cleanup.
descendants() { # PID
	local kids k
	kids=$(cat /proc/"$1"/task/*/children 2>/dev/null) || return 0
	for k in $kids; do
		printf '%s\n' "$k"
		descendants "$k"
	done
}

# A zombie has exited; its parent (often pid 1 here) just has not reaped it.
is_zombie() { grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

wait_gone() { # TIMEOUT_S PID...  -> 0 when all are gone
	local timeout=$1 end p alive
	shift
	end=$(($(now_ms) + timeout * 1000))
	while :; do
		alive=0
		for p in "$@"; do
			[[ -e /proc/$p ]] && ! is_zombie "$p" && alive=1
		done
		((alive)) || return 0
		(($(now_ms) < end)) || return 1
		sleep 0.05
	done
}

engine_ready() { lab_docker version >/dev/null 2>&1; }

wait_engine_ready() { # PID
	local pid=$1 end
	end=$(($(now_ms) + ENGINE_START_TIMEOUT * 1000))
	until engine_ready; do
		if [[ ! -e /proc/$pid ]] || is_zombie "$pid"; then
			show_tail "$ENGINE_DIR/dockerd.log" 40
			die "dockerd (pid $pid) exited before answering on $ENGINE_SOCK; see $ENGINE_DIR/dockerd.log"
		fi
		if (($(now_ms) >= end)); then
			show_tail "$ENGINE_DIR/dockerd.log" 40
			die "dockerd (pid $pid) did not answer 'docker version' on $ENGINE_SOCK within ${ENGINE_START_TIMEOUT}s"
		fi
		sleep 0.1
	done
}

start_engine() {
	local pid
	mkdir -p "$SOCK_DIR"
	if pid=$(engine_pid); then
		wait_engine_ready "$pid"
		return 0
	fi
	# Leftovers of an engine that died (containerd, shims) would hold the
	# data-root; a stale socket would look like a live engine to clients.
	kill_engine_leftovers
	# A containerd pidfile naming a dead (or not yet reaped) process makes
	# dockerd wait for that containerd instead of starting its own.
	rm -f -- "$ENGINE_SOCK" "$ENGINE_DIR/dockerd.pid" "$ENGINE_DIR/exec/containerd/containerd.pid"
	mkdir -p "$ENGINE_DIR/data" "$LAB_DIR/client-config"
	# Only one -H: the lab engine never listens on /var/run/docker.sock.
	local -a run args=(--iptables=false --ip6tables=false --ip-masq=false)
	local where
	if [[ $FLAVOUR == desktop ]]; then
		start_engine_distro
		where="in the engine distro (distro pid $ENGINE_DISTRO_PID)"
		# dockerd 26 keeps its containerd, pidfile and exec-root on the
		# distro's /run. It listens on the socket the distros see, by the
		# engine distro's own path to the shared tmpfs (the same inode).
		run=(nsenter -t "$ENGINE_DISTRO_PID" -m -p -n -r -w -- /usr/bin/env -i PATH="$SANE_PATH" /usr/sbin/dockerd)
		args+=(--data-root /var/lib/docker --exec-root /run/docker --pidfile "$DD_PIDFILE"
			--host "unix://$DD_WSL_MNT/${ENGINE_SOCK#"$WSL_MNT"/}")
	else
		where="(on the machine)"
		mkdir -p "$ENGINE_DIR/exec"
		# A configuration file of our own, empty but for live-restore
		# after engine-stop --live-restore (rewritten at every start,
		# so that an interrupted one leaves nothing behind):
		# /etc/docker/daemon.json of the machine must not change the
		# lab's engine.
		engine_config_json | write_file "$ENGINE_DIR/daemon.json" 0644
		# dockerd 20.10 starts its own containerd below --exec-root
		# (state) and --data-root (content) when --containerd is not
		# given; it stops it on SIGTERM.
		# A network namespace of its own, with IPv4 forwarding on there:
		# with the machine's off (a fresh Debian's default) dockerd adds
		# "IPv4 forwarding is disabled" to every docker run's output, and
		# the machine's setting is not the lab's to change.
		# shellcheck disable=SC2016 # expanded by that sh
		run=(unshare --net -- /bin/sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward && exec "$0" "$@"'
			env PATH="$SANE_PATH" "$DOCKERD")
		args+=(--config-file "$ENGINE_DIR/daemon.json" --data-root "$ENGINE_DIR/data"
			--exec-root "$ENGINE_DIR/exec" --pidfile "$ENGINE_DIR/dockerd.pid"
			--host "unix://$ENGINE_SOCK" --ip-forward=false --bridge=none)
	fi
	printf '\n==== %s lab.sh starts dockerd %s ====\n' "$(date -Is)" "$where" >>"$ENGINE_DIR/dockerd.log"
	env -u DOCKER_HOST -u NOTIFY_SOCKET setsid "${run[@]}" "${args[@]}" \
		</dev/null >>"$ENGINE_DIR/dockerd.log" 2>&1 {LOCK_FD}>&- 9>&- &
	pid=$!
	ENGINE_STARTED=1
	log "started dockerd $where (pid $pid), waiting for $ENGINE_SOCK"
	wait_engine_ready "$pid"
	log "engine ready on $ENGINE_SOCK"
}

# The desktop flavour's docker-desktop distro, a fresh one (the engine distro
# goes whenever its dockerd does): sets ENGINE_DISTRO_PID. Its root is an
# overlay of the cached trixie root and a tmpfs; its data-root is
# $ENGINE_DIR/data, bound at /var/lib/docker. It has a network namespace of
# its own with no way out, so that its dockerd can have its default bridge
# (docker build's RUN steps need one) and forward IPv4 (or every docker run
# warns that networking will not work) without touching the machine's
# network.
ENGINE_DISTRO_PID=
start_engine_distro() {
	# A live-restore restart keeps the distro, its shims and containers.
	if ((LIVE_RESTORE)) && ENGINE_DISTRO_PID=$(holder_pid_in "$ENGINE_DIR"); then
		return 0
	fi
	if [[ ! -d $DRIVE_C ]]; then
		mkdir -p -- "$DRIVE_C"
		# (drvfs shows Windows files to everyone, rwx.)
		chmod 0777 -- "$DRIVE_C"
	fi
	mkdir -p -- "$ENGINE_DIR/root" "$ENGINE_DIR/rw"
	spawn_holder "$ENGINE_DIR" "engine distro" --net "$ENGINE_HOLDER_SCRIPT" \
		"$DESKTOP_ROOT" "$ENGINE_DIR/root" "$ENGINE_DIR/rw" "$ENGINE_DIR/data" \
		"$DRIVE_C" "$DD_WSL_MNT" "$DD_DRIVE_C"
	ENGINE_DISTRO_PID=$(holder_pid_in "$ENGINE_DIR") || die "the engine distro's holder vanished"
}

# Kill whatever is left of the lab engine (after a crash or a failed stop):
# container processes first, then shims, containerd, dockerd. In the desktop
# flavour: the whole engine distro (SIGKILL to its pid 1). In a live-restore
# restart: its daemons alone; the containers and their shims stay.
kill_engine_leftovers() {
	local procs p all=()
	if ((LIVE_RESTORE)); then
		procs=$(engine_daemons)
		[[ -n $procs ]] || return 0
		log "killing leftover engine daemons (the containers stay): ${procs//$'\n'/ }"
		# shellcheck disable=SC2086
		kill -KILL $procs 2>/dev/null || true
		# shellcheck disable=SC2086
		wait_gone 10 $procs || die "engine daemons survive SIGKILL: ${procs//$'\n'/ }"
		return 0
	fi
	procs=$(engine_procs)
	[[ -n $procs ]] || return 0
	if [[ $FLAVOUR == desktop ]]; then
		# shellcheck disable=SC2086
		kill -KILL $procs 2>/dev/null || true
		# shellcheck disable=SC2086
		wait_gone 10 $procs || die "the engine distro's holder survives SIGKILL: ${procs//$'\n'/ }"
		return 0
	fi
	log "killing leftover engine processes: ${procs//$'\n'/ }"
	for p in $procs; do
		mapfile -t -O "${#all[@]}" all < <(descendants "$p")
		all+=("$p")
	done
	# Shims listen on sockets below /run/containerd/s (a path containerd
	# fixes, whatever its state dir); a killed shim leaves its socket there.
	local socks
	# shellcheck disable=SC2086
	socks=$(shim_sockets $procs)
	kill -KILL "${all[@]}" 2>/dev/null || true
	wait_gone 10 "${all[@]}" || die "engine processes survive SIGKILL: ${all[*]}"
	[[ -z $socks ]] || xargs -r -d '\n' rm -f -- <<<"$socks"
}

# Paths of the unix sockets below /run/containerd/s/ held by the shims among
# PIDs.
shim_sockets() { # PID...
	local p fd comm inodes=''
	for p in "$@"; do
		read -r comm 2>/dev/null <"/proc/$p/comm" || continue
		[[ $comm == containerd-shim* ]] || continue
		for fd in /proc/"$p"/fd/*; do
			fd=$(readlink "$fd" 2>/dev/null) || continue
			[[ $fd == socket:\[*\] ]] && inodes+="${fd//[^0-9]/} "
		done
	done
	[[ -n $inodes ]] || return 0
	awk -v inodes="$inodes" 'BEGIN { n = split(inodes, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
		NR > 1 && ($7 in want) && index($8, "/run/containerd/s/") == 1 { print $8 }' /proc/net/unix
}

stop_engine() {
	local pid stopped=0
	if pid=$(engine_pid); then
		stopped=1
		log "stopping dockerd (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		if ! wait_gone "$ENGINE_STOP_TIMEOUT" "$pid"; then
			show_tail "$ENGINE_DIR/dockerd.log" 20
			log "error: dockerd (pid $pid) did not exit within ${ENGINE_STOP_TIMEOUT}s of SIGTERM; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			wait_gone 10 "$pid" || die "dockerd (pid $pid) survives SIGKILL"
		fi
	fi
	# dockerd stops its containerd and the shims on a clean exit (give the
	# last shims a moment); after a crash or SIGKILL they would linger.
	# With live-restore it stops its containerd alone: the shims stay.
	local procs=''
	if ((stopped && LIVE_RESTORE)); then
		procs=$(engine_daemons)
	elif ((stopped)) && [[ $FLAVOUR != desktop ]]; then
		procs=$(engine_procs)
	fi
	# shellcheck disable=SC2086
	[[ -z $procs ]] || wait_gone 5 $procs || true
	kill_engine_leftovers
	# (Without live-restore its containers are gone: nothing to re-attach.)
	((LIVE_RESTORE)) || rm -f -- "$(live_restore_record)"
	rm -f -- "$ENGINE_DIR/dockerd.pid"
	if [[ -e $ENGINE_SOCK || -L $ENGINE_SOCK ]]; then
		rm -f -- "$ENGINE_SOCK" || die "cannot remove the engine socket $ENGINE_SOCK"
	fi
}

# ----------------------------------------------------------- live-restore ---

# The lab engine's daemon.json: {} but for live-restore (LIVE_RESTORE).
engine_config_json() {
	if ((LIVE_RESTORE)); then
		echo '{"live-restore": true}'
	else
		echo '{}'
	fi
}

# Where the running engine reads its daemon.json: the file of its
# --config-file (simple), /etc/docker/daemon.json in the engine distro
# (desktop: in the distro's own overlay, gone with the distro).
engine_config_file() {
	local hp
	if [[ $FLAVOUR == desktop ]]; then
		hp=$(holder_pid_in "$ENGINE_DIR") || return 1
		printf '%s\n' "/proc/$hp/root/etc/docker/daemon.json"
	else
		printf '%s\n' "$ENGINE_DIR/daemon.json"
	fi
}

# Turn the running engine's live-restore on (1) or off (0): its daemon.json
# rewritten, then SIGHUP (live-restore is one of the options dockerd
# reloads), until 'docker info' shows it. (A reload changes only what the
# file sets: off is "live-restore": false, not {}.)
engine_set_live_restore() { # 0|1
	local pid f want=false end
	LIVE_RESTORE=$1
	((LIVE_RESTORE)) && want=true
	pid=$(engine_pid) || die "live-restore: the lab's dockerd is not running (run '$PROG up')"
	f=$(engine_config_file) || die "live-restore: the engine distro is not running"
	printf '{"live-restore": %s}\n' "$want" | write_file "$f" 0644
	kill -HUP "$pid" || die "live-restore: cannot signal dockerd (pid $pid)"
	end=$(($(now_ms) + ENGINE_START_TIMEOUT * 1000))
	until [[ $(lab_docker info --format '{{.LiveRestoreEnabled}}' 2>/dev/null) == "$want" ]]; do
		if (($(now_ms) >= end)); then
			show_tail "$ENGINE_DIR/dockerd.log" 20
			die "live-restore: dockerd (pid $pid) does not show LiveRestoreEnabled=$want within ${ENGINE_START_TIMEOUT}s of SIGHUP"
		fi
		sleep 0.1
	done
}

# "ID STARTEDAT" of each running container, sorted.
running_containers() {
	local ids
	ids=$(lab_docker ps -q --no-trunc) || die "listing the engine's containers failed"
	[[ -n $ids ]] || return 0
	# shellcheck disable=SC2086
	lab_docker inspect -f '{{.Id}} {{.State.StartedAt}}' $ids | sort
}

# The record of an engine stopped with live-restore on: the containers
# that ran ("ID STARTEDAT" lines). While it exists, the engine starts with
# live-restore on and keeps them.
live_restore_record() { printf '%s\n' "$ENGINE_DIR/live-restore"; }

# engine-stop --live-restore: live-restore turned on in the running engine,
# the running containers recorded, dockerd stopped; its containers, their
# shims and (desktop) the engine distro keep running.
engine_stop_live() {
	local rec
	rec=$(live_restore_record)
	engine_pid >/dev/null || die "engine-stop --live-restore: the lab's dockerd is not running (run '$PROG up')"
	engine_set_live_restore 1
	running_containers >"$rec.tmp"
	mv -f -- "$rec.tmp" "$rec"
	stop_engine
	log "dockerd stopped with live-restore on: $(grep -c . "$rec" || true) container(s) keep running"
}

# Start the engine; after engine-stop --live-restore, with live-restore on:
# it re-attaches to the containers it left, every one of which must run
# again not restarted (the same StartedAt); then live-restore is off again.
start_engine_after_stop() {
	local rec after
	rec=$(live_restore_record)
	if [[ ! -e $rec ]]; then
		start_engine
		return 0
	fi
	LIVE_RESTORE=1
	start_engine
	after=$(running_containers)
	engine_set_live_restore 0
	[[ $(cat -- "$rec") == "$after" ]] ||
		die "live-restore: the running containers changed across the restart (not re-attached?):"$'\n'"before: $(paste -sd' ' "$rec")"$'\n'"after:  ${after//$'\n'/ }"
	log "live-restore: $(grep -c . "$rec" || true) running container(s) re-attached, not restarted"
	rm -f -- "$rec"
}

# Remove every container (running ones are killed): a clean slate that keeps
# the images.
remove_all_containers() {
	local ids
	ids=$(lab_docker ps -aq) || die "listing the engine's containers failed"
	[[ -n $ids ]] || return 0
	# shellcheck disable=SC2086
	lab_docker rm -f $ids >/dev/null || die "removing the engine's containers failed"
	log "removed $(wc -w <<<"$ids") container(s)"
}

# ------------------------------------------------------------- bb image ----

ensure_bb_image() {
	local rootfs=$LAB_DIR/bb-rootfs
	if lab_docker image inspect bb >/dev/null 2>&1; then
		return 0
	fi
	[[ -x $BUSYBOX ]] || die "$BUSYBOX not found (install busybox-static)"
	rm -rf --one-file-system -- "$rootfs"
	mkdir -m 0755 "$rootfs"
	mkdir -m 0755 "$rootfs"/{bin,sbin,usr,etc,dev,proc,sys,root}
	mkdir -m 0755 "$rootfs"/usr/{bin,sbin}
	mkdir -m 1777 "$rootfs/tmp"
	cp -- "$BUSYBOX" "$rootfs/bin/busybox"
	chroot "$rootfs" /bin/busybox --install -s || die "busybox --install -s in $rootfs failed"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
	if ! tar -C "$rootfs" --numeric-owner -c . |
		lab_docker import -c 'CMD ["/bin/sh"]' -c "ENV PATH=$SANE_PATH" - bb >/dev/null; then
		die "importing the busybox image 'bb' into the lab engine failed"
	fi
	rm -rf --one-file-system -- "$rootfs"
	log "imported image bb"
}

# ---------------------------------------------------------------- desktop ---

desktop_start() {
	[[ $FLAVOUR == desktop ]] && build_desktop_root
	ensure_wsl_mount
	printf '%s\n' "$FLAVOUR" >"$LAB_DIR/.engine"
	FLAVOUR_UP=$FLAVOUR
	mkdir -p "$DESKTOP_DIR" "$SOCK_DIR"
	build_cli_image
	mount_cli_tools
	start_engine_after_stop
}

desktop_stop() {
	stop_engine
	umount_cli_tools
}

# A VM reboot as the engine sees it (wsl --shutdown, then Docker Desktop
# first): the engine stops, the shared tmpfs loses every exposure below
# docker-desktop-bind-mounts (mounts and directories: a fresh tmpfs has
# none), and the engine starts again, restarting its --restart containers
# before any distro's agent runs. The distros' agents are the caller's.
vm_reboot() {
	desktop_stop
	if [[ -d $BIND_MOUNTS_DIR ]]; then
		umount_tree "$BIND_MOUNTS_DIR"
		rm -rf --one-file-system -- "$BIND_MOUNTS_DIR"
	fi
	desktop_start
}

desktop_status() {
	local eng=0 cli=0
	engine_pid >/dev/null && eng=1
	cli_tools_mounted && cli=1
	if ((eng && cli)); then
		echo running
	elif ((!eng && !cli)); then
		echo stopped
	else
		echo partial
		log "engine $([[ $eng == 1 ]] && echo running || echo stopped), cli-tools $([[ $cli == 1 ]] && echo mounted || echo not mounted)"
	fi
}

# ---------------------------------------------------------------- distros ---

check_name() { # NAME
	[[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] ||
		die "bad distro name '$1' (letters, digits, '.', '_', '-'; at most 64)"
}

distro_dir() { printf '%s\n' "$DISTROS_DIR/$1"; }

proc_starttime() { # PID -> field 22 of /proc/PID/stat
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	printf '%s\n' "${20}"
}

# The host pid of NAME's holder (pid 1 of its pid namespace), if it lives.
holder_pid() { holder_pid_in "$(distro_dir "$1")"; } # NAME

# The host pid of the holder whose state is in directory D, if it lives.
holder_pid_in() { # D
	local d=$1 pid start
	read -r pid 2>/dev/null <"$d/holder.pid" || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	read -r start 2>/dev/null <"$d/holder.start" || return 1
	[[ $(proc_starttime "$pid" 2>/dev/null) == "$start" ]] || return 1
	is_zombie "$pid" && return 1
	printf '%s\n' "$pid"
}

# Create the directories leading to REL (relative to /) in the overlay's upper
# layer with the owner, mode and times of the lower ones, so that merged
# directories keep their attributes (/var/tmp stays 1777, ...).
upper_mkdirs() { # UPPER REL
	local upper=$1 rel=$2 part path=
	local IFS=/
	for part in $rel; do
		[[ -n $part ]] || continue
		path=$path/$part
		# A directory in the upper layer over a lower symlink (/lib ->
		# usr/lib on merged-/usr systems) would hide the whole target.
		[[ -L $path ]] && die "internal: $path is a symlink; resolve it before touching the upper layer"
		if [[ ! -d $upper$path ]]; then
			mkdir -- "$upper$path"
			if [[ -d $path && ! -L $path ]]; then
				chown --reference="$path" -- "$upper$path"
				chmod --reference="$path" -- "$upper$path"
				touch -r "$path" -- "$upper$path"
			fi
		fi
	done
}

# Hide PATH (absolute, in the host root fs) in the distro: an overlay whiteout.
whiteout() { # UPPER PATH
	local upper=$1 path=$2 dir
	[[ -e $path || -L $path ]] || return 0
	# Whiteout the physical entry: /lib/x is really /usr/lib/x.
	dir=$(realpath -e -- "${path%/*}/") || return 0
	[[ $dir == / ]] && dir=''
	path=$dir/${path##*/}
	upper_mkdirs "$upper" "${path%/*}"
	rm -rf --one-file-system -- "${upper:?}$path"
	mknod -- "$upper$path" c 0 0
}

# Prepare the overlay's upper layer: the distro's own identity and the removal
# of the machine's docker. Written before the overlay is mounted (changing an
# upper layer offline is supported; changing it under a mounted overlay is
# not).
prepare_upper() { # UPPER NAME GID
	local upper=$1 name=$2 gid=$3 f days conflict
	days=$(($(date +%s) / 86400))
	upper_mkdirs "$upper" /etc

	# Users and groups: the machine's, minus any docker group and anything
	# in the way of user dev (uid/gid 1000).
	if [[ $gid != none ]]; then
		conflict=$(awk -F: -v g="$gid" '$3 == g && $1 != "docker" { print $1 }' /etc/group)
		[[ -z $conflict ]] || die "--docker-gid $gid is already the GID of group '$conflict' in the host's /etc/group"
	fi
	awk -F: -v u="$DEV_UID" '$3 != u && $1 != "dev"' /etc/passwd >"$upper/etc/passwd"
	printf 'dev:x:%s:%s:Lab developer:/home/dev:/bin/bash\n' "$DEV_UID" "$DEV_UID" >>"$upper/etc/passwd"
	awk -F: -v u="$DEV_UID" '$3 != u && $1 != "dev" && $1 != "docker"' /etc/group >"$upper/etc/group"
	printf 'dev:x:%s:\n' "$DEV_UID" >>"$upper/etc/group"
	# Names of the dropped users/groups, for shadow and gshadow.
	local dropped_users dropped_groups
	dropped_users=$(awk -F: -v u="$DEV_UID" '$3 == u || $1 == "dev" { print $1 }' /etc/passwd | paste -sd,)
	dropped_groups=$(awk -F: -v u="$DEV_UID" '$3 == u || $1 == "dev" || $1 == "docker" { print $1 }' /etc/group | paste -sd,)
	if [[ -r /etc/shadow ]]; then
		awk -F: -v drop="$dropped_users" 'BEGIN { n = split(drop, a, ","); for (i = 1; i <= n; i++) d[a[i]] = 1 } !($1 in d)' /etc/shadow >"$upper/etc/shadow"
	else
		: >"$upper/etc/shadow"
	fi
	printf 'dev:!:%s:0:99999:7:::\n' "$days" >>"$upper/etc/shadow"
	if [[ -r /etc/gshadow ]]; then
		awk -F: -v drop="$dropped_groups" 'BEGIN { n = split(drop, a, ","); for (i = 1; i <= n; i++) d[a[i]] = 1 } !($1 in d)' /etc/gshadow >"$upper/etc/gshadow"
	else
		: >"$upper/etc/gshadow"
	fi
	printf 'dev:!::\n' >>"$upper/etc/gshadow"
	if [[ $gid != none ]]; then
		printf 'docker:x:%s:dev\n' "$gid" >>"$upper/etc/group"
		printf 'docker:!::dev\n' >>"$upper/etc/gshadow"
	fi
	chmod 0644 "$upper/etc/passwd" "$upper/etc/group"
	chmod 0640 "$upper/etc/shadow" "$upper/etc/gshadow"
	[[ -e /etc/shadow ]] && chown --reference=/etc/shadow -- "$upper/etc/shadow"
	[[ -e /etc/gshadow ]] && chown --reference=/etc/gshadow -- "$upper/etc/gshadow"
	printf '%s\n' "$name" >"$upper/etc/hostname"

	# Home of dev.
	upper_mkdirs "$upper" /home
	rm -rf --one-file-system -- "$upper/home/dev"
	mkdir -m 0755 "$upper/home/dev"
	if [[ -d /etc/skel ]]; then
		cp -a /etc/skel/. "$upper/home/dev/"
	fi
	chown -R "$DEV_UID:$DEV_UID" "$upper/home/dev"

	# No docker of its own: every docker/containerd binary goes, and
	# /usr/local/bin is empty.
	for f in /usr/bin/docker* /usr/sbin/docker* /usr/bin/containerd* /usr/sbin/containerd* \
		/usr/bin/ctr /usr/bin/runc /usr/sbin/runc /usr/libexec/docker /usr/lib/docker \
		/usr/local/bin/* /usr/local/sbin/docker* /etc/docker \
		/lib/systemd/system/docker.* /lib/systemd/system/containerd.service; do
		whiteout "$upper" "$f"
	done
	# Hide the lab itself (engine data, other distros) from the distro.
	whiteout "$upper" "$LAB_DIR"
	# /var/run -> /run as on Debian (/run is the distro's own tmpfs).
	upper_mkdirs "$upper" /var
	rm -rf --one-file-system -- "$upper/var/run"
	ln -s /run "$upper/var/run"
}

# The holders' scripts run as pid 1 of a new pid namespace, in its new mount
# namespace, before chroot. The first argument is READY_FIFO: they report
# "MOUNTED <host pid>" then (from inside the chroot) "READY" on fd 3.
# shellcheck disable=SC2016
readonly HOLDER_PROLOGUE='
set -euo pipefail
exec 3>"$1"
shift
trap '\''echo "FAILED: holder setup command failed (line $LINENO); see holder.log" >&3'\'' ERR
read -r hostpid _ </proc/self/stat
'
# The end of both: pid 1 lives until killed and reaps orphans.
# shellcheck disable=SC2016
readonly HOLDER_EPILOGUE='
echo "MOUNTED $hostpid" >&3
trap - ERR
exec chroot "$root" /bin/bash -c '\''echo READY >&3; exec 3>&-; trap "exit 0" TERM INT; while :; do sleep infinity & wait $! || :; done'\'' "$0"
'

# A user distro. Arguments: ROOT RW NAME DRIVE_C (the directory standing for
# C:, bound at /mnt/c; empty: none).
# shellcheck disable=SC2016
readonly HOLDER_SCRIPT=$HOLDER_PROLOGUE'
root=$1 rw=$2 name=$3 drive_c=$4
# The overlay: lower = the host root file system alone (no submounts),
# upper/work on the distro tmpfs.
mount -t overlay "wda-lab-$name" -o "lowerdir=/,upperdir=$rw/upper,workdir=$rw/work" "$root"
# /mnt/wsl as in WSL: the same shared tmpfs; binding a shared mount joins its
# peer group, so mounts below it propagate in both directions.
mount --rbind /mnt/wsl "$root/mnt/wsl"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mkdir -p "$root/run/lock" "$root/run/user"
chmod 1777 "$root/run/lock"
if [[ -n $drive_c ]]; then
	mkdir -p "$root/mnt/c"
	mount --bind "$drive_c" "$root/mnt/c"
fi
'$HOLDER_EPILOGUE

# The docker-desktop distro of the desktop flavour. Arguments: LOWER ROOT
# RW DATA DRIVE_C WSL_AT C_AT: the trixie root, the overlay's mount point
# (upper and work on a tmpfs at RW, so that what the engine writes outside
# its data-root goes with the distro and the cached root stays as built);
# the engine data-root, bound at /var/lib/docker; drive C:, bound at C_AT;
# the shared tmpfs, bound at WSL_AT.
# shellcheck disable=SC2016
readonly ENGINE_HOLDER_SCRIPT=$HOLDER_PROLOGUE'
lower=$1 root=$2 rw=$3 data=$4 drive_c=$5 wsl_at=$6 c_at=$7
mount -t tmpfs -o mode=0755 wda-lab-engine-rw "$rw"
mkdir -m 0755 "$rw/upper" "$rw/work"
# runc makes "/" of every container rprivate, which fails (EINVAL) unless
# "/" is a mount point: the overlay is one.
mount -t overlay wda-lab-engine -o "lowerdir=$lower,upperdir=$rw/upper,workdir=$rw/work" "$root"
# (This network namespace is the holder'\''s own.)
echo 1 >/proc/sys/net/ipv4/ip_forward
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mkdir -p "$root/run/lock" "$root$wsl_at" "$root$c_at" "$root/var/lib/docker"
# A bind of the shared tmpfs joins its peer group: exposures made later in
# a distro appear here too.
mount --rbind /mnt/wsl "$root$wsl_at"
mount --bind "$drive_c" "$root$c_at"
mount --bind "$data" "$root/var/lib/docker"
'$HOLDER_EPILOGUE

# Start a holder whose state is in directory D (holder.pid, holder.start,
# holder.log): SCRIPT with ARGS, in a new mount and pid namespace (and the
# other namespaces that the unshare options NS_OPTS, one word or empty, ask
# for). WHAT names it in messages.
spawn_holder() { # D WHAT NS_OPTS SCRIPT ARGS...
	local d=$1 what=$2 nsopts=$3 script=$4 fifo rfd line pid='' bgpid end
	shift 4
	fifo=$d/ready.fifo
	mkdir -p -- "$d"
	rm -f -- "$fifo"
	mkfifo -m 0600 "$fifo"
	# Held open read-write here so that neither side blocks in open(2).
	exec {rfd}<>"$fifo"
	: >>"$d/holder.log"
	printf '==== %s lab.sh starts holder ====\n' "$(date -Is)" >>"$d/holder.log"
	# shellcheck disable=SC2086 # NS_OPTS: one word or none
	setsid unshare --mount --pid --fork --propagation unchanged $nsopts -- \
		/bin/bash -c "$script" "$HOLDER_TAG:$d" "$fifo" "$@" \
		</dev/null >>"$d/holder.log" 2>&1 {LOCK_FD}>&- {rfd}>&- 9>&- &
	bgpid=$!
	end=$(($(now_ms) + HOLDER_TIMEOUT * 1000))
	while :; do
		if read -r -t 0.2 -u "$rfd" line; then
			case $line in
			"MOUNTED "*) pid=${line#MOUNTED } ;;
			READY) break ;;
			FAILED*)
				exec {rfd}>&-
				show_tail "$d/holder.log"
				die "creating $what: ${line#FAILED: }"
				;;
			esac
			continue
		fi
		if ! kill -0 "$bgpid" 2>/dev/null; then
			exec {rfd}>&-
			show_tail "$d/holder.log"
			die "creating $what: the namespace holder (unshare) exited before it was ready; see $d/holder.log"
		fi
		if (($(now_ms) >= end)); then
			exec {rfd}>&-
			show_tail "$d/holder.log"
			die "creating $what: the namespace holder was not ready within ${HOLDER_TIMEOUT}s"
		fi
	done
	exec {rfd}>&-
	rm -f -- "$fifo"
	[[ $pid =~ ^[0-9]+$ ]] || die "creating $what: the holder did not report its pid"
	grep -Eq '^NSpid:[[:space:]]+'"$pid"'[[:space:]]+1$' "/proc/$pid/status" ||
		die "creating $what: pid $pid is not pid 1 of a new pid namespace"
	proc_starttime "$pid" >"$d/holder.start"
	printf '%s\n' "$pid" >"$d/holder.pid"
}

start_holder() { # NAME
	local d drive_c=''
	d=$(distro_dir "$1")
	[[ $FLAVOUR == desktop ]] && drive_c=$DRIVE_C
	spawn_holder "$d" "distro $1" '' "$HOLDER_SCRIPT" "$d/root" "$d/rw" "$1" "$drive_c"
}

# Make sure a mount made below /mnt/wsl inside the distro shows up outside.
check_propagation() { # NAME PID
	local name=$1 pid=$2 probe=$WSL_MNT/.lab-probe/$1 ok=0
	mkdir -p "$probe"
	nsenter -t "$pid" -m -r -- mount -t tmpfs "lab-probe-$name" "$probe" </dev/null ||
		die "creating distro $name: test mount on $probe inside the distro failed"
	if findmnt -n --mountpoint "$probe" | grep -q "lab-probe-$name"; then
		ok=1
	fi
	umount_tree "$probe"
	rmdir "$probe" 2>/dev/null || true
	rmdir "$WSL_MNT/.lab-probe" 2>/dev/null || true
	((ok)) || die "creating distro $name: a mount made below $WSL_MNT inside it is not visible outside (propagation broken)"
}

distro_create() { # NAME GID
	local name=$1 gid=$2 d pid old t0
	t0=$(now_ms)
	check_wsl_mount
	d=$(distro_dir "$name")
	if pid=$(holder_pid "$name"); then
		old=$(cat "$d/docker-gid" 2>/dev/null || echo '?')
		[[ $old == "$gid" ]] ||
			die "distro $name exists with --docker-gid $old; run '$PROG distro-rm $name' to change it to $gid"
		log "distro $name already running (holder pid $pid)"
		return 0
	fi
	if [[ -e $d ]]; then
		log "distro $name: removing a stale (stopped or half-built) instance"
		distro_remove "$name"
	fi
	mkdir -p "$d/root" "$d/rw"
	mount -t tmpfs -o mode=0755 "wda-lab-$name-rw" "$d/rw" || die "creating distro $name: mounting its tmpfs on $d/rw failed"
	mkdir -m 0755 "$d/rw/upper" "$d/rw/work"
	prepare_upper "$d/rw/upper" "$name" "$gid"
	printf '%s\n' "$gid" >"$d/docker-gid"
	start_holder "$name"
	pid=$(holder_pid "$name") || die "creating distro $name: its holder vanished"
	check_propagation "$name" "$pid"
	log "distro $name ready (holder pid $pid, docker gid $gid) in $(($(now_ms) - t0)) ms"
}

# Processes that belong to distro dir D: its holder and the unshare above it,
# found by the tag on their command line.
holder_procs() { procs_with_arg exact "$HOLDER_TAG:$1"; } # D

# Live processes in the mount namespace NS (as readlink /proc/PID/ns/mnt
# shows it, "mnt:[N]").
procs_in_mntns() { # NS
	local pat=$1 f pid
	pat=${pat//[/\\[}
	pat=${pat//]/\\]}
	while IFS= read -r f; do
		pid=${f#/proc/}
		pid=${pid%%/*}
		is_zombie "$pid" || printf '%s\n' "$pid"
	done < <(find /proc/[0-9]*/ns/ -maxdepth 1 -name mnt -lname "$pat" 2>/dev/null || true)
	return 0
}

distro_remove() { # NAME
	local name=$1 d pids p ns='' more
	d=$(distro_dir "$name")
	pids=$(holder_procs "$d")
	if [[ -n $pids ]]; then
		# Everything in the distro's mount namespace: the holder, what
		# runs in its pid namespace, and what entered only its mount
		# namespace (nsenter -m without -p), which would keep the overlay
		# alive. SIGKILL on the holder, pid 1 of the pid namespace, kills
		# the rest of that namespace too.
		for p in $pids; do
			ns=$(readlink "/proc/$p/ns/mnt" 2>/dev/null) && break
		done
		if [[ -n $ns ]]; then
			[[ $ns != "$(readlink /proc/self/ns/mnt)" ]] ||
				die "removing distro $name: its holder is in the host's mount namespace; refusing to kill by namespace"
			more=$(procs_in_mntns "$ns")
			pids=$(printf '%s\n' "$pids" "$more" | sed '/^$/d' | sort -un)
		fi
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null || true
		# shellcheck disable=SC2086
		wait_gone 10 $pids || die "removing distro $name: its holder processes survive SIGKILL: ${pids//$'\n'/ }"
		log "distro $name: holder killed"
	fi
	# Bind mounts the agent re-exposed for this distro.
	if [[ -d $BIND_MOUNTS_DIR/$name ]]; then
		umount_tree "$BIND_MOUNTS_DIR/$name"
		rm -rf --one-file-system -- "${BIND_MOUNTS_DIR:?}/$name"
	fi
	[[ -e $d ]] || return 0
	umount_tree "$d"
	rm -rf --one-file-system -- "$d" || die "removing distro $name: cannot remove $d"
	log "distro $name removed"
}

# ------------------------------------------------------------------- exec ---

distro_exec() { # NAME [--user U] [--env K=V]... -- CMD...
	local name=$1 user='' pid pw uid gid home
	local -a envs=()
	shift
	while (($#)); do
		case $1 in
		--user)
			(($# >= 2)) || die "exec: --user needs a user name"
			user=$2
			shift 2
			;;
		--user=*) user=${1#--user=}; shift ;;
		--env)
			(($# >= 2)) || die "exec: --env needs K=V"
			[[ $2 == [A-Za-z_]*=* ]] || die "exec: bad --env '$2' (expected K=V)"
			envs+=("$2")
			shift 2
			;;
		--env=*)
			[[ ${1#--env=} == [A-Za-z_]*=* ]] || die "exec: bad '$1' (expected --env K=V)"
			envs+=("${1#--env=}")
			shift
			;;
		--) shift; break ;;
		*) die "exec: unexpected '$1' (usage: exec NAME [--user USER] [--env K=V]... -- CMD...)" ;;
		esac
	done
	(($#)) || die "exec: no command given (usage: exec NAME [--user USER] [--env K=V]... -- CMD...)"
	pid=$(holder_pid "$name") || die "exec: distro '$name' is not running (create it with '$PROG distro $name')"

	local -a base=(PATH="$SANE_PATH" WSL_DISTRO_NAME="$name")
	[[ -n ${TERM-} ]] && base+=(TERM="$TERM")
	if [[ -z $user ]]; then
		base+=(HOME=/root USER=root LOGNAME=root)
		exec nsenter -t "$pid" -m -p -r -w -- /usr/bin/env -i "${base[@]}" "${envs[@]}" "$@"
	fi
	pw=$(nsenter -t "$pid" -m -r -w -- getent passwd "$user" </dev/null) ||
		die "exec: no user '$user' in distro $name"
	IFS=: read -r _ _ uid gid _ home _ <<<"$pw"
	base+=(HOME="$home" USER="${pw%%:*}" LOGNAME="${pw%%:*}")
	# setpriv runs inside the chroot, so --init-groups takes the supplementary
	# groups from the distro's /etc/group.
	exec nsenter -t "$pid" -m -p -r -w -- /usr/bin/env -i "${base[@]}" "${envs[@]}" \
		setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@"
}

# ---------------------------------------------------------------- up/down ---

cmd_up() {
	local t0
	t0=$(now_ms)
	require_tools "$DOCKERD" "$DOCKER_CLI" "$BUSYBOX" unshare nsenter setpriv mount umount findmnt flock
	if [[ -n $FLAVOUR_UP && -n ${LAB_ENGINE-} && $LAB_ENGINE != "$FLAVOUR_UP" ]]; then
		log "the lab is up with LAB_ENGINE=$FLAVOUR_UP: taking it down for LAB_ENGINE=$LAB_ENGINE"
		cmd_down
		use_flavour "$LAB_ENGINE"
	fi
	mkdir -p "$LAB_DIR" "$DISTROS_DIR" "$ENGINE_DIR"
	desktop_start
	# A lab brought up from down starts without containers (images stay);
	# an 'up' of a running lab leaves its containers alone.
	((ENGINE_STARTED)) && remove_all_containers
	ensure_bb_image
	log "lab up in $(($(now_ms) - t0)) ms (LAB_DIR=$LAB_DIR)"
}

cmd_down() {
	local purge=0 t0 d left procs
	t0=$(now_ms)
	[[ ${1-} == --purge ]] && purge=1
	if [[ -d $DISTROS_DIR ]]; then
		for d in "$DISTROS_DIR"/*; do
			[[ -e $d ]] || continue
			distro_remove "${d##*/}"
		done
	fi
	# Holders whose distro directory is gone (should not happen).
	procs=$(holder_procs_all)
	if [[ -n $procs ]]; then
		log "killing stray distro holders: ${procs//$'\n'/ }"
		# shellcheck disable=SC2086
		kill -KILL $procs 2>/dev/null || true
		# shellcheck disable=SC2086
		wait_gone 10 $procs || die "down: stray holders survive SIGKILL: ${procs//$'\n'/ }"
	fi
	# Both flavours' engines (the recorded one is up, if any; the other
	# may have been left by an interrupted run).
	local f up_flavour=$FLAVOUR
	for f in simple desktop; do
		use_flavour "$f"
		if engine_pid >/dev/null && engine_ready; then
			remove_all_containers
		fi
		stop_engine
	done
	use_flavour "$up_flavour"
	umount_cli_tools
	# Anything else left below /mnt/wsl (bind-mount re-exposures, probes),
	# then the shared tmpfs itself if it is the lab's.
	if mountpoint -q "$WSL_MNT"; then
		if [[ $(findmnt -rn -o SOURCE,FSTYPE --mountpoint "$WSL_MNT" | tail -n 1) == "wsl tmpfs" ]]; then
			umount_tree "$WSL_MNT"
			log "unmounted $WSL_MNT"
		else
			log "warning: $WSL_MNT is not the lab's tmpfs (source 'wsl'); left alone"
		fi
	fi
	if [[ -e $LAB_DIR/.created-mnt-wsl ]] && ! mountpoint -q "$WSL_MNT"; then
		rmdir "$WSL_MNT" 2>/dev/null || true
		rm -f -- "$LAB_DIR/.created-mnt-wsl"
	fi
	umount_tree "$LAB_DIR"
	# The engine's exec-root is runtime state (/var/run/docker normally):
	# cleared, as a reboot would. Data (images) stay unless --purge.
	rm -rf --one-file-system -- "$LAB_DIR/bb-rootfs" "$DISTROS_DIR" "$LAB_DIR/engine/exec"
	rm -f -- "$LAB_DIR/.engine"
	FLAVOUR_UP=''
	if ((purge)); then
		rm -rf --one-file-system -- "$LAB_DIR/engine" "$LAB_DIR/engine-desktop" \
			"$LAB_DIR/cli-tools-image" "$LAB_DIR/cli-tools-image-desktop" "$LAB_DIR/client-config" \
			"$DESKTOP_ROOT" "$DESKTOP_ROOT.new" "$DRIVE_C" "$LAB_DIR/desktop-root.log"
	fi

	# Verify: no mounts and no processes of the lab remain.
	left=$(mounts_under "$LAB_DIR"; mounts_under "$WSL_MNT")
	[[ -z $left ]] || die "down: mounts remain:"$'\n'"$left"
	procs=$(for f in simple desktop; do use_flavour "$f"; engine_procs; done; holder_procs_all)
	use_flavour "$up_flavour"
	[[ -z $procs ]] || die "down: lab processes remain: ${procs//$'\n'/ }"
	if ((purge)); then
		rm -f -- "$LAB_DIR/.lock" "$LAB_DIR/.created-mnt-wsl" "$LAB_DIR/.desktop-root.lock"
		rmdir -- "$LAB_DIR" 2>/dev/null || log "note: $LAB_DIR is not empty; left in place"
		log "lab down and purged in $(($(now_ms) - t0)) ms"
	else
		log "lab down in $(($(now_ms) - t0)) ms"
	fi
}

holder_procs_all() { procs_with_arg prefix "$HOLDER_TAG:$DISTROS_DIR/"; }

# Run CMD where the engine runs: on the machine (simple) or in the engine
# distro (desktop), as root.
engine_exec() { # CMD...
	local hp
	(($#)) || die "engine-exec: no command given (usage: engine-exec [--] CMD...)"
	if [[ $FLAVOUR != desktop ]]; then
		exec "$@"
	fi
	hp=$(holder_pid_in "$ENGINE_DIR") || die "engine-exec: the engine distro is not running"
	exec nsenter -t "$hp" -m -p -n -r -w -- /usr/bin/env -i PATH="$SANE_PATH" HOME=/root "$@"
}

cmd_env() {
	local engine_wsl=$WSL_MNT drive_c='' distro_c='' engine_c=''
	if [[ $FLAVOUR == desktop ]]; then
		engine_wsl=$DD_WSL_MNT drive_c=$DRIVE_C distro_c=$DISTRO_DRIVE_C engine_c=$DD_DRIVE_C
	fi
	printf 'LAB_ENGINE=%q\n' "$FLAVOUR"
	printf 'LAB_DIR=%q\n' "$LAB_DIR"
	printf 'ENGINE_SOCK=%q\n' "$ENGINE_SOCK"
	printf 'DESKTOP_DIR=%q\n' "$DESKTOP_DIR"
	printf 'WSL_MNT=%q\n' "$WSL_MNT"
	printf 'CLI_TOOLS=%q\n' "$CLI_TOOLS"
	printf 'BIND_MOUNTS_DIR=%q\n' "$BIND_MOUNTS_DIR"
	printf 'DOCKER_CLI=%q\n' "$DOCKER_CLI"
	printf 'ENGINE_WSL_MNT=%q\n' "$engine_wsl"
	printf 'ENGINE_BIND_MOUNTS_DIR=%q\n' "$engine_wsl/${BIND_MOUNTS_DIR#"$WSL_MNT"/}"
	printf 'DRIVE_C=%q\n' "$drive_c"
	printf 'DISTRO_DRIVE_C=%q\n' "$distro_c"
	printf 'ENGINE_DRIVE_C=%q\n' "$engine_c"
}

usage() {
	cat <<EOF
Usage: [LAB_ENGINE=simple|desktop] $PROG COMMAND [ARGS]
       (as root; LAB_DIR=${LAB_DIR}, LAB_ENGINE=${FLAVOUR})

A WSL-like laboratory: a shared /mnt/wsl tmpfs, Docker Desktop's tree with a
real dockerd, and user distros as namespaces over an overlay of /.

LAB_ENGINE picks the flavour of the lab that 'up' brings up:
  simple (default)  Debian 12's dockerd 20.10 on the machine itself, seeing
                    the shared tmpfs at /mnt/wsl as the distros do.
  desktop           Docker Desktop's real layout: Debian 13's dockerd 26.1
                    in an engine distro of its own (a namespace chrooted into
                    a trixie root that debootstrap makes once, in
                    \$LAB_DIR/desktop-root, from the Debian mirror apt uses;
                    LAB_DEBIAN_MIRROR overrides it). The engine sees the
                    shared tmpfs at $DD_WSL_MNT and drive C:
                    (\$LAB_DIR/drive-c) at $DD_DRIVE_C; the
                    distros see drive C: at $DISTRO_DRIVE_C. cli-tools holds the
                    docker 26.1 CLI with the buildx and compose plugins.
The other commands work on the lab that is up, whatever its flavour; those
that build on it (desktop-start, distro) refuse another LAB_ENGINE.

  up                      mount /mnt/wsl (shared), build and mount cli-tools,
                          start the engine on the shared socket, import image
                          'bb' (busybox). Idempotent; an up that starts the
                          engine removes containers left from an earlier run.
  down [--purge]          remove all distros and containers, stop the engine,
                          unmount cli-tools and /mnt/wsl; verify that no lab
                          process or mount is left. Images stay (the next up
                          is faster); --purge deletes them and the rest of
                          \$LAB_DIR's lab files too. Idempotent.
  desktop-stop            "Docker Desktop quits": stop dockerd, remove the
                          socket, eject cli-tools (an empty directory remains).
  desktop-start           mount cli-tools, then engine-start.
  desktop-status          print running, stopped or partial.
  engine-restart [--live-restore]
                          engine-stop [--live-restore], then engine-start:
                          dockerd stops and starts again (cli-tools stays);
                          its --restart containers come back (--live-restore:
                          its containers keep running throughout).
  engine-stop [--live-restore]
                          stop dockerd alone (cli-tools stays). --live-restore:
                          dockerd's live-restore turned on first (daemon.json,
                          SIGHUP): its containers, their shims and the engine
                          distro keep running while it is down.
  engine-start            start dockerd, wait until it answers. After
                          engine-stop --live-restore: with live-restore on, so
                          that it re-attaches to the containers it left; each
                          must run again, not restarted (the same StartedAt),
                          or this fails; then live-restore is off again.
  vm-reboot               a VM reboot as the engine sees it: desktop-stop,
                          every mount and directory below $BIND_MOUNTS_DIR
                          gone, desktop-start (the engine restarts its
                          --restart containers; distros' agents are yours).
  distro NAME [--docker-gid N|none]
                          create user distro NAME (docker group GID N, default
                          $DEFAULT_DOCKER_GID; 'none': no docker group). User 'dev'
                          (uid $DEV_UID) is a member of docker. Idempotent.
  exec NAME [--user USER] [--env K=V]... -- CMD...
                          run CMD in distro NAME (as root or USER); stdin,
                          stdout, stderr and the exit status pass through.
  distro-rm NAME          kill distro NAME's processes, unmount and delete it
                          (and $BIND_MOUNTS_DIR/NAME).
  engine-exec [--] CMD... run CMD as root where the engine runs: on the
                          machine (simple) or in the engine distro (desktop).
  engine-pid              print dockerd's pid (as the machine sees it).
  prepare                 build what the flavour needs before 'up' does: the
                          trixie root of the desktop flavour (minutes, once).
  env                     print shell assignments: LAB_ENGINE, LAB_DIR,
                          ENGINE_SOCK, DESKTOP_DIR, ..., and the engine's view:
                          ENGINE_WSL_MNT, ENGINE_BIND_MOUNTS_DIR, DRIVE_C,
                          DISTRO_DRIVE_C, ENGINE_DRIVE_C (use: eval "\$($PROG env)")
  help                    this text.

The root of a running distro, seen from the host: /proc/\$(cat
\$LAB_DIR/distros/NAME/holder.pid)/root. Logs: \$LAB_DIR/engine/dockerd.log
(desktop: \$LAB_DIR/engine-desktop/dockerd.log and holder.log),
\$LAB_DIR/distros/NAME/holder.log, \$LAB_DIR/desktop-root.log.
EOF
}

main() {
	local cmd=${1-help} name gid
	(($#)) && shift
	case $cmd in
	help | -h | --help) set_paths; usage; return 0 ;;
	env) set_paths; cmd_env; return 0 ;;
	esac
	set_paths
	require_root
	case $cmd in
	up)
		(($# == 0)) || die "up takes no arguments"
		require_plain_linux
		take_lock
		cmd_up
		;;
	down)
		[[ $# -eq 0 || ($# -eq 1 && $1 == --purge) ]] || die "usage: down [--purge]"
		require_plain_linux
		take_lock
		cmd_down "$@"
		;;
	desktop-start)
		require_plain_linux
		require_flavour_of_lab
		take_lock
		desktop_start
		;;
	desktop-stop) require_plain_linux; take_lock; desktop_stop ;;
	desktop-status) desktop_status ;;
	engine-restart)
		[[ $# -eq 0 || ($# -eq 1 && $1 == --live-restore) ]] || die "usage: engine-restart [--live-restore]"
		require_plain_linux
		require_flavour_of_lab
		take_lock
		if (($#)); then
			engine_stop_live
		else
			stop_engine
		fi
		start_engine_after_stop
		;;
	engine-stop)
		[[ $# -eq 0 || ($# -eq 1 && $1 == --live-restore) ]] || die "usage: engine-stop [--live-restore]"
		require_plain_linux
		take_lock
		if (($#)); then
			engine_stop_live
		else
			stop_engine
		fi
		;;
	engine-start)
		(($# == 0)) || die "engine-start takes no arguments"
		require_plain_linux
		require_flavour_of_lab
		take_lock
		start_engine_after_stop
		;;
	vm-reboot)
		require_plain_linux
		require_flavour_of_lab
		take_lock
		vm_reboot
		;;
	distro)
		(($# >= 1)) || die "usage: distro NAME [--docker-gid N|none]"
		name=$1
		shift
		gid=$DEFAULT_DOCKER_GID
		while (($#)); do
			case $1 in
			--docker-gid)
				(($# >= 2)) || die "distro: --docker-gid needs a number or 'none'"
				gid=$2
				shift 2
				;;
			--docker-gid=*) gid=${1#--docker-gid=}; shift ;;
			*) die "distro: unexpected '$1' (usage: distro NAME [--docker-gid N|none])" ;;
			esac
		done
		check_name "$name"
		[[ $gid == none || ($gid =~ ^[0-9]+$ && $gid -gt 0 && $gid -lt 65534 && $gid -ne $DEV_UID) ]] ||
			die "distro: bad --docker-gid '$gid' (a GID in 1..65533 other than $DEV_UID, or 'none')"
		require_plain_linux
		require_flavour_of_lab
		require_tools unshare nsenter mknod
		take_lock
		distro_create "$name" "$gid"
		;;
	distro-rm)
		(($# == 1)) || die "usage: distro-rm NAME"
		check_name "$1"
		require_plain_linux
		take_lock
		distro_remove "$1"
		;;
	exec)
		(($# >= 1)) || die "usage: exec NAME [--user USER] [--env K=V]... -- CMD..."
		check_name "$1"
		distro_exec "$@"
		;;
	engine-exec)
		[[ ${1-} == -- ]] && shift
		engine_exec "$@"
		;;
	engine-pid)
		(($# == 0)) || die "engine-pid takes no arguments"
		engine_pid || die "the lab's dockerd is not running"
		;;
	prepare)
		(($# == 0)) || die "prepare takes no arguments"
		require_plain_linux
		mkdir -p -- "$LAB_DIR"
		if [[ ${LAB_ENGINE:-simple} == desktop ]]; then
			use_flavour desktop
			build_desktop_root
		fi
		;;
	*) usage >&2; die "unknown command '$cmd'" ;;
	esac
}

main "$@"
