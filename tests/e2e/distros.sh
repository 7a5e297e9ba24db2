#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end, in the lab: several distros at once sharing one /mnt/wsl and
# one engine, each with its own docker group (one has none: the agent makes
# it); configuration reload on SIGHUP, good and bad.  Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

AG=wsl-docker-agent
cleanup() {
	lab_down d2 d3
}
trap cleanup EXIT

lab_up
lab_distro d2 --docker-gid none
lab_distro d3 --docker-gid 3456

is "d2 starts with no docker group" "$(dx d2 getent group docker)" ""
like "agent starts in d2" "$(dx d2 $AG start 2>&1)" "started"
like "agent starts in d3" "$(dx d3 $AG start 2>&1)" "started"
gid2=$(dx d2 getent group docker | cut -d: -f3)
like "the agent created d2's docker group" "$gid2" "^[0-9]+$"
like "...and said how to add users" "$(dx d2 cat /var/log/wsl-docker-agent.log)" "usermod -aG docker"
is "d2's socket has d2's docker group" "$(dx d2 stat -c %g /run/docker.sock)" "$gid2"
is "d3's socket has d3's docker group" "$(dx d3 stat -c %g /run/docker.sock)" 3456
like "d2: dev is not yet in the group: permission denied" "$(dxu d2 docker version 2>&1)" "permission denied"
dx d2 usermod -aG docker dev
like "d2: once in the group, dev reaches the engine" "$(dxu d2 docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
like "d3: dev reaches the same engine" "$(dxu d3 docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
dxu d2 docker run -d --name shared bb sleep 600 >/dev/null 2>&1
like "a container started from d2 is seen from d3" "$(dxu d3 docker ps --format '{{.Names}}' 2>&1)" "^shared$"
dxu d3 docker rm -f shared >/dev/null 2>&1
is "each distro's agent reports its own name" \
	"$(dx d2 $AG status --json | grep -o '"distro":"[^"]*"')" '"distro":"d2"'

# ---- SIGHUP: a bad file keeps the running configuration ----------------
pid=$(dx d3 cat /run/wsl-docker-agent.pid)
dx d3 mkdir -p /etc/wsl-docker-agent
dx d3 sh -c 'echo "{\"socket\": {\"mode\": \"proxi\"}}" > /etc/wsl-docker-agent/config.json'
dx d3 kill -HUP "$pid"
if wait_until 10 "$LAB" exec d3 -- grep -q "reload failed" /var/log/wsl-docker-agent.log; then
	ok "a bad reload is refused"; else not_ok "a bad reload is refused"; fi
like "...with the key, the value and what is allowed" "$(dx d3 grep 'reload failed' /var/log/wsl-docker-agent.log)" \
	"socket.mode: 'proxi' is not allowed; use proxy or mount; keeping the running configuration"
like "...and docker keeps working" "$(dxu d3 docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
is "...by the same agent" "$(dx d3 cat /run/wsl-docker-agent.pid)" "$pid"

# ---- SIGHUP: a good file applies (the socket moves) ---------------------
dx d3 sh -c 'echo "{\"socket\": {\"path\": \"/run/docker-alt.sock\"}}" > /etc/wsl-docker-agent/config.json'
dx d3 kill -HUP "$pid"
if wait_until 10 "$LAB" exec d3 -- test -S /run/docker-alt.sock; then
	ok "a good reload applies: the socket moves"; else not_ok "a good reload applies: the socket moves"; fi
is "...and the old socket is gone" "$(dx d3 sh -c 'test -e /run/docker.sock && echo there || echo gone')" gone
like "...and docker works at the new path" \
	"$(dxu d3 docker -H unix:///run/docker-alt.sock version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
dx d3 rm -f /etc/wsl-docker-agent/config.json
dx d3 kill -HUP "$pid"
wait_until 10 "$LAB" exec d3 -- test -S /run/docker.sock
like "reloading the defaults brings /run/docker.sock back" \
	"$(dxu d3 docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"

# ---- disable and enable, kept across restarts ---------------------------
like "disable needs root" "$(dxu d3 $AG disable 2>&1)" "only root may change"
dx d3 $AG disable >/dev/null
is "disabled: the socket is removed" "$(dx d3 sh -c 'test -e /run/docker.sock && echo there || echo gone')" gone
is "disabled: the links are removed" "$(dx d3 sh -c 'ls /usr/local/bin | wc -l')" 0
like "disabled: status says how to turn it on" "$(dx d3 $AG status 2>&1)" "integration is off"
dx d3 $AG stop >/dev/null
dx d3 $AG start >/dev/null
like "disabled survives a restart" "$(dx d3 $AG status 2>&1)" "integration OFF"
dx d3 $AG enable >/dev/null
like "enabled again: docker works" "$(dxu d3 docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"

dx d2 $AG stop >/dev/null
dx d3 $AG stop >/dev/null
done_testing
