#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The demo, on a fresh Debian or Ubuntu machine, as root:  sudo ./demo.sh
#
# Builds the agent, builds the WSL-like lab (a shared /mnt/wsl tmpfs, a real
# dockerd playing Docker Desktop, a user distro "Ubuntu" in its own mount and
# pid namespaces), starts a stand-in for the Windows host that receives the
# agent's health reports, starts the agent in the distro, and then, as the
# distro's ordinary user dev (in its docker group), runs docker through it.
# Docker Desktop is stopped and started again on the way.  Everything is
# torn down at the end (--keep leaves the lab up to play with).
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
keep=0
[ "${1:-}" = --keep ] && keep=1

LAB=$top/tests/lab/lab.sh
# One lab per machine: wait for any test run that is using it.
exec 9>/run/wda-e2e.lock
flock 9
D=Ubuntu
HOST_DIR=/mnt/wsl/wda-demo-host
PEER_LOG=$(mktemp)
peer_pid=""

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m%s$\033[0m %s\n' "$1" "$2"; }
in_distro() { "$LAB" exec "$D" -- "$@"; }
as_dev() { "$LAB" exec "$D" --user dev -- "$@"; }

cleanup() {
	[ -z "$peer_pid" ] || kill "$peer_pid" 2>/dev/null || true
	if [ $keep -eq 0 ]; then
		"$LAB" down >/dev/null 2>&1 || true
	else
		echo "lab left up: $LAB exec $D --user dev -- docker ps; $LAB down to finish"
	fi
	rm -f "$PEER_LOG"
	rm -rf "$HOST_DIR"
}
trap cleanup EXIT

say "Installing what is needed and building"
./tests/deps.sh
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build
(cd build && { [ -f Makefile ] || ../configure --prefix=/usr --sysconfdir=/etc \
	--localstatedir=/var --runstatedir=/run >/dev/null; } && make -s -j"$(nproc)" >/dev/null)

say "Building the lab: /mnt/wsl, Docker Desktop (a real dockerd), distro $D"
"$LAB" up
"$LAB" distro "$D"
holder=$(cat "${LAB_DIR:-/var/tmp/wda-lab}/distros/$D/holder.pid")
make -s -C build install DESTDIR="/proc/$holder/root" >/dev/null
/usr/bin/docker -H "unix:///mnt/wsl/docker-desktop/shared-sockets/guest-services/docker.proxy.sock" \
	tag bb busybox

say "The Windows host's side: a peer receiving health reports"
mkdir -p "$HOST_DIR"
build/tests/peer/wsl-docker-host-peer --request ping "$HOST_DIR/host.sock" >"$PEER_LOG" 2>&1 &
peer_pid=$!
while ! [ -S "$HOST_DIR/host.sock" ]; do
	kill -0 "$peer_pid" 2>/dev/null || { cat "$PEER_LOG"; exit 1; }
	sleep 0.05
done
echo "listening on $HOST_DIR/host.sock (in WSL this is AF_VSOCK to the host)"

say "Starting the agent in $D (no systemd here: as from /etc/wsl.conf [boot] command=)"
in_distro mkdir -p /etc/wsl-docker-agent
in_distro sh -c "printf '{\"host\": {\"address\": \"unix:$HOST_DIR/host.sock\", \"interval\": 5}}\n' >/etc/wsl-docker-agent/config.json"
run "root@$D" "wsl-docker-agent start"
in_distro wsl-docker-agent start

say "docker, as user dev of $D"
run "dev@$D" "ls -l /run/docker.sock /usr/local/bin/docker"
as_dev ls -l /run/docker.sock /usr/local/bin/docker
run "dev@$D" "docker version"
as_dev docker version
run "dev@$D" "echo hello | docker run -i --rm busybox cat"
echo hello | as_dev docker run -i --rm busybox cat

say "Status"
run "dev@$D" "wsl-docker-agent status"
as_dev wsl-docker-agent status || true

say "Docker Desktop quits"
"$LAB" desktop-stop
run "dev@$D" "docker version"
as_dev docker version || true
run "dev@$D" "wsl-docker-agent status"
as_dev wsl-docker-agent status || true

say "Docker Desktop starts again: the agent follows, no restart"
"$LAB" desktop-start
while ! as_dev docker version >/dev/null 2>&1; do sleep 0.05; done
run "dev@$D" "echo 'back again' | docker run -i --rm busybox cat"
echo 'back again' | as_dev docker run -i --rm busybox cat

say "What the Windows host saw"
kill "$peer_pid" 2>/dev/null || true
wait "$peer_pid" 2>/dev/null || true
peer_pid=""
cat "$PEER_LOG"

say "Stopping the agent"
in_distro wsl-docker-agent stop
run "root@$D" "ls -l /usr/local/bin/docker"
in_distro ls -l /usr/local/bin/docker || true
