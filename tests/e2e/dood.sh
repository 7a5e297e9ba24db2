#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Docker-outside-of-docker (issue 21), in a lab distro without systemd
# whose agent runs under `start''s supervisor: containers that mount
# /run/docker.sock (dev containers, testcontainers' Ryuk, Portainer) reach
# the engine through the agent, a bind they ask for is this distro's path,
# a non-root container user with the socket's group gets in, and the
# socket outlives the agent: across kill -9, a restart and a reload it is
# the same socket, a container started before reaches the engine again,
# and a client that connects while the agent is away waits and is served.
# An ordinary user can keep none of it from coming back.  The image that
# carries the docker CLI is Debian's docker CLI with the libraries it
# links, next to busybox
# (in the desktop flavour docker exec does not enter a container's
# mounts: containers report what they see in their logs).  Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

D=dood
AG=wsl-docker-agent
CLI=${DOOD_DOCKER_CLI:-/usr/bin/docker}
tmp=$(mktemp -d)
cleanup() {
	direct_docker rm -f holder holder2 >/dev/null 2>&1
	lab_down "$D"
	rm -rf "$tmp"
}
trap cleanup EXIT

[ -x "$CLI" ] || bail "a docker CLI for the image" "$CLI is missing (install docker.io, or name one in DOOD_DOCKER_CLI)"

agent_up "$D"
gid=$(dx "$D" getent group docker | cut -d: -f3)

# The image: busybox, the docker CLI and the libraries it links (none
# when it is static).
mkdir -p "$tmp/img/bin" "$tmp/img/usr/local/bin" "$tmp/img/tmp"
cp /bin/busybox "$tmp/img/bin/busybox"
for c in sh cat echo sleep date id ls stat; do ln -s busybox "$tmp/img/bin/$c"; done
cp "$CLI" "$tmp/img/usr/local/bin/docker"
{ ldd "$CLI" 2>/dev/null || :; } | grep -o '/[^ ]*' | while read -r lib; do
	mkdir -p "$tmp/img$(dirname "$lib")" && cp -L "$lib" "$tmp/img$lib"
done
check "the image with the docker CLI is imported" sh -c \
	"tar -C '$tmp/img' -c . | /usr/bin/docker -H unix://$ENGINE_SOCK import -c 'ENV PATH=/usr/local/bin:/bin' - dood >/dev/null"

sock_ino() { dx "$D" stat -c %i /run/docker.sock; }
agent_pid() { dx "$D" cat /run/wsl-docker-agent.pid; }
ok_lines() { direct_docker logs "$1" 2>&1 | grep -c '^ok'; }
ok_lines_above() { [ "$(ok_lines "$1")" -gt "$2" ]; }

# ---- a container that mounts the socket reaches the engine ---------------
out=$(dxu "$D" docker run --rm -v /var/run/docker.sock:/var/run/docker.sock dood \
	docker version --format '{{.Server.Version}}' 2>&1)
like "-v /var/run/docker.sock:/var/run/docker.sock: docker in the container reaches the engine" \
	"$out" "^$ENGINE_VERSION_RE"
out=$(dxu "$D" docker run --rm -v /run/docker.sock:/var/run/docker.sock dood \
	docker version --format '{{.Server.Version}}' 2>&1)
like "-v /run/docker.sock: the same" "$out" "^$ENGINE_VERSION_RE"
# What a dev container's docker-outside-of-docker asks for: a --mount.
out=$(dxu "$D" docker run --rm --mount type=bind,source=/var/run/docker.sock,target=/var/run/docker.sock dood \
	docker version --format '{{.Server.Version}}' 2>&1)
like "--mount type=bind,source=/var/run/docker.sock (dev containers): the same" "$out" "^$ENGINE_VERSION_RE"

# A bind asked for from inside the container is this distro's path.
dx "$D" sh -c 'mkdir -p /home/dev/proj && echo "the distro'"'"'s file" >/home/dev/proj/marker && chown -R dev /home/dev/proj'
out=$(dxu "$D" docker run --rm -v /var/run/docker.sock:/var/run/docker.sock dood \
	docker run --rm -v /home/dev/proj:/w bb cat /w/marker 2>&1)
is "a nested -v /home/dev/proj:/w sees the distro's /home/dev/proj" "$out" "the distro's file"

# The socket keeps this distro's group: a non-root container user in it.
out=$(dxu "$D" docker run --rm --user 4321 --group-add "$gid" \
	-v /var/run/docker.sock:/var/run/docker.sock dood \
	docker version --format '{{.Server.Version}}' 2>&1)
like "a non-root container user with --group-add $gid (docker) reaches the engine" "$out" "^$ENGINE_VERSION_RE"
out=$(dxu "$D" docker run --rm --user 4321 -v /var/run/docker.sock:/var/run/docker.sock dood \
	sh -c 'stat -c "%g %a" /var/run/docker.sock; docker version 2>&1 | tail -n 1' 2>&1 | tr '\n' ' ')
like "...and without it is refused, the socket being root:$gid 0660 inside" "$out" "^$gid 660.*permission denied"

# ---- the socket outlives the agent ---------------------------------------
# holder: a container started now, asking the engine five times a second.
dxu "$D" docker run -d --name holder -v /var/run/docker.sock:/var/run/docker.sock dood \
	sh -c 'i=0; while :; do if docker version >/dev/null 2>&1; then echo "ok $i"; else echo "fail $i"; fi; i=$((i+1)); sleep 0.2; done' >/dev/null
if wait_until 20 ok_lines_above holder 0; then ok "a container holding the socket reaches the engine"
else not_ok "a container holding the socket reaches the engine" "$(direct_docker logs holder 2>&1 | tail -n 5)"; fi
like "status says who runs the agent" "$(dx "$D" $AG status --json | jq -r .agent.supervisor)" "^start$"
holders() { dx "$D" $AG status --json | jq -r '.socket.holders // [] | join(" ")'; }
holds_it() { holders | grep -qw holder; }
if wait_until 20 holds_it; then
	ok "status lists the container that holds the socket (socket.holders)"
else not_ok "status lists the container that holds the socket (socket.holders)" "$(holders)"; fi
like "...and the status for a person names it" "$(dx "$D" $AG status)" "mounted by containers: .*holder"
is "...which an ordinary user's status leaves out" \
	"$(dxu "$D" $AG status --json | jq -r '.socket | has("holders")')" false

ino=$(sock_ino)
pid=$(agent_pid)
# kill -9 while a client waits: it is in the backlog, then served.
dx "$D" kill -STOP "$pid"
dxu "$D" sh -c "printf 'GET /_ping HTTP/1.0\r\n\r\n' | timeout 60 socat -t 60 - UNIX-CONNECT:/run/docker.sock" \
	>"$tmp/waited" 2>&1 &
client=$!
wait_until 10 sh -c "[ \"\$($LAB exec $D -- ss -xlH src /run/docker.sock | awk '{ print \$3 }')\" -ge 1 ]"
dx "$D" kill -KILL "$pid"
wait "$client"
like "kill -9 with a client waiting: the client is served, not refused" "$(cat "$tmp/waited")" "^HTTP/1.[01] 200"
if wait_until 10 sh -c "[ \"\$($LAB exec $D -- cat /run/wsl-docker-agent.pid)\" != $pid ]"; then
	ok "...the agent is back by itself"; else not_ok "...the agent is back by itself"; fi
is ".../run/docker.sock is the same socket (inode $ino)" "$(sock_ino)" "$ino"
before=$(ok_lines holder)
if wait_until 20 ok_lines_above holder "$before"; then ok "...the container started before reaches the engine again"
else not_ok "...the container started before reaches the engine again" "$(direct_docker logs holder 2>&1 | tail -n 5)"; fi
st=$(dx "$D" $AG status --json)
is "...status counts the restart" "$(printf '%s' "$st" | jq -r .agent.restarts)" 1
like "...and says how the agent before ended" "$(printf '%s' "$st" | jq -r .agent.last_death)" "^killed by signal 9"

# A restart on purpose (what a package upgrade does) and a reload.
pid=$(agent_pid)
out=$(dx "$D" $AG restart 2>&1)
like "restart: the agent is restarted" "$out" "restarted \(pid [0-9]+\)"
is "...the same socket" "$(sock_ino)" "$ino"
before=$(ok_lines holder)
if wait_until 20 ok_lines_above holder "$before"; then ok "...the container reaches the engine"
else not_ok "...the container reaches the engine" "$(direct_docker logs holder 2>&1 | tail -n 5)"; fi
pid=$(agent_pid)
dx "$D" kill -HUP "$pid"
like "a reload: docker still works" "$(dxu "$D" docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
is "...the same agent, the same socket" "$(agent_pid) $(sock_ino)" "$pid $ino"

# An ordinary user holding what once kept the agent down: nothing.
dxu "$D" sh -c 'flock -s /run/wsl-docker-agent.pid sleep 60' >/dev/null 2>&1 &
holder_flock=$!
out=$(dxu "$D" sh -c 'cat /run/wsl-docker-agent.lock' 2>&1)
like "an ordinary user cannot open the lock" "$out" "Permission denied"
pid=$(agent_pid)
dx "$D" kill -KILL "$pid"
if wait_until 10 sh -c "p=\$($LAB exec $D -- cat /run/wsl-docker-agent.pid); [ -n \"\$p\" ] && [ \"\$p\" != $pid ]"; then
	ok "an ordinary user's shared flock on the pidfile keeps nothing from coming back"
else not_ok "an ordinary user's shared flock on the pidfile keeps nothing from coming back"; fi
kill "$holder_flock" 2>/dev/null
is "...the same socket still" "$(sock_ino)" "$ino"

# stop is final.
out=$(dx "$D" $AG stop 2>&1)
like "stop: stopped" "$out" "stopped"
is "...no agent and no supervisor left" "$(dx "$D" sh -c 'pgrep -xc wsl-docker-agen; pgrep -xc wda-supervisor' | tr '\n' ' ')" "0 0 "
is "...its socket is gone" "$(dx "$D" sh -c 'test -e /run/docker.sock && echo there || echo gone')" gone

direct_docker rm -f holder >/dev/null 2>&1
done_testing
