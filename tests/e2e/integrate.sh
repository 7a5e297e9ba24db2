#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end, in the lab: a distro integrated by the agent, the real docker
# CLI as an ordinary user, a real dockerd as Docker Desktop.  Both socket
# modes, Docker Desktop stopping and starting, conflicts, stale and foreign
# sockets, kill -9.  Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

D=d1
AG=wsl-docker-agent
CLI=/mnt/wsl/docker-desktop/cli-tools
SHIM=/usr/libexec/wsl-docker-agent/wsl-docker-shim
tmp=$(mktemp -d)
cleanup() {
	lab_down "$D"
	rm -rf "$tmp"
}
trap cleanup EXIT

lab_up
lab_distro "$D"

agent_pid() { dx "$D" cat /run/wsl-docker-agent.pid 2>/dev/null; }
no_dangling() { [ -z "$(dx "$D" find /usr/local/bin /usr/local/lib/docker -xtype l 2>/dev/null)" ]; }
docker_ok() { dxu "$D" docker version --format '{{.Server.Version}}'; }
root_docker_ok() { dx "$D" docker version --format '{{.Server.Version}}'; }

# ---- start, one instance ------------------------------------------------
out=$(dx "$D" $AG start 2>&1)
like "start returns once ready" "$out" "started \(pid [0-9]+\)"
pid1=$(agent_pid)
out=$(dx "$D" $AG start 2>&1)
like "a second start stays one instance" "$out" "already running \(pid $pid1\)"
is "one agent process" "$(dx "$D" pgrep -xc wsl-docker-agen)" 1
check "status: healthy, exit 0" dx "$D" $AG status
out=$(dx "$D" $AG status --json)
like "status --json says healthy" "$out" '"healthy":[[:space:]]*true'
like "status --json shows the engine version" "$out" "\"version\":[[:space:]]*\"$ENGINE_VERSION_RE"

# ---- links and socket ---------------------------------------------------
is "docker linked from cli-tools" "$(dx "$D" readlink /usr/local/bin/docker)" "$CLI_VIEW/usr/bin/docker"
is "credential helper linked" "$(dx "$D" readlink /usr/local/bin/docker-credential-desktop.exe)" \
	"$CLI_VIEW/usr/bin/docker-credential-desktop.exe"
is "CLI plugin linked" "$(dx "$D" readlink /usr/local/lib/docker/cli-plugins/docker-hello)" \
	"$CLI_VIEW/usr/lib/docker/cli-plugins/docker-hello"
is "socket is root:docker 0660 with this distro's group" \
	"$(dx "$D" stat -c '%U:%G %a %F' /run/docker.sock)" "root:docker 660 socket"
like "the engine's own socket has another group (why proxy mode exists)" \
	"$(stat -c %g "$ENGINE_SOCK")" "^[0-9]+$"

# ---- the docker CLI through the agent, as user dev ----------------------
like "docker version as an ordinary user in group docker" "$(docker_ok 2>&1)" "^$ENGINE_VERSION_RE"
is "echo hi | docker run -i --rm bb cat" "$(echo hi | dxu "$D" docker run -i --rm bb cat 2>&1)" hi
dxu "$D" docker run --rm bb sh -c 'exit 3' >/dev/null 2>&1; rc=$?
is "exit codes pass through (3)" "$rc" 3
is "the CLI plugin runs" "$(dxu "$D" docker hello 2>&1)" "hello from plugin"
dxu "$D" docker run -d --name c1 bb sleep 600 >/dev/null 2>&1
is "docker exec -i ends on stdin EOF" \
	"$(echo ping | timeout 30 "$LAB" exec "$D" --user dev -- docker exec -i c1 cat 2>&1)" ping
dxu "$D" docker run -d --name c2 bb sh -c 'i=0; while :; do echo line$i; i=$((i+1)); sleep 0.1; done' >/dev/null 2>&1
out=$(timeout 30 "$LAB" exec "$D" --user dev -- docker logs -f c2 2>&1 | head -n 5)
like "docker logs -f streams" "$out" "line4"
since=$(date +%s)
timeout 60 "$LAB" exec "$D" --user dev -- docker events --since "$since" \
	--filter type=container --filter event=create >"$tmp/events" 2>&1 &
events_pid=$!
dxu "$D" docker create --name c3 bb true >/dev/null 2>&1
if wait_until 20 grep -q "create" "$tmp/events"; then ok "docker events streams"; else
	not_ok "docker events streams" "$(cat "$tmp/events")"; fi
kill "$events_pid" 2>/dev/null
# Engine 25 and later stamp the archive's directories with the time of the
# save, so two saves a second apart differ in those bytes: the archives are
# compared member by member (name, type, mode, size, contents).
through=$(dxu "$D" docker save bb | tar_digest)
direct=$(direct_docker save bb | tar_digest)
is "docker save through the agent holds what direct does, byte for byte" "$through" "$direct"
dxu "$D" docker rm -f c1 c2 c3 >/dev/null 2>&1

# ---- Docker Desktop stops and starts -------------------------------------
"$LAB" desktop-stop >/dev/null 2>&1
if wait_until 10 sh -c "! $LAB exec $D -- test -e $CLI/usr/bin/docker && ! $LAB exec $D -- test \"\$($LAB exec $D -- readlink /usr/local/bin/docker)\" = $CLI_VIEW/usr/bin/docker"; then
	ok "Docker Desktop stopped: the docker link no longer points into the ejected image"
else not_ok "Docker Desktop stopped: docker link left pointing into the image"; fi
check "Docker Desktop stopped: no link dangles" no_dangling
out=$(dx "$D" $AG status 2>&1); rc=$?
is "Docker Desktop stopped: status exits 1" "$rc" 1
like "Docker Desktop stopped: status says what to do" "$out" "start Docker Desktop"
is "Docker Desktop stopped: docker points at the shim" "$(dx "$D" readlink /usr/local/bin/docker)" "$SHIM"
out=$(dxu "$D" docker version 2>&1); rc=$?
unlike "Docker Desktop stopped: docker does not say 'No such file'" "$out" "No such file or directory"
like "Docker Desktop stopped: docker says why and what to do" "$out" "^docker: Docker Desktop is not running.*Start Docker Desktop"
is "Docker Desktop stopped: docker exits 69" "$rc" 69
out=$(echo https://index.docker.io/v1/ | dxu "$D" docker-credential-desktop.exe get 2>/dev/null); rc=$?
is "Docker Desktop stopped: the credential helper answers as the protocol expects" "$out/$rc" \
	"credentials not found in native keychain/1"
"$LAB" desktop-start >/dev/null 2>&1
if wait_until 10 docker_ok; then ok "Docker Desktop back: docker works again within seconds"; else
	not_ok "Docker Desktop back: docker works again" "$(dx "$D" $AG status 2>&1)"; fi
is "Docker Desktop back: links restored" "$(dx "$D" readlink /usr/local/bin/docker)" "$CLI_VIEW/usr/bin/docker"
is "Docker Desktop back: the agent was not restarted" "$(agent_pid)" "$pid1"

# ---- a file the agent did not create ------------------------------------
dx "$D" $AG stop >/dev/null
is "stop removes the socket" "$(dx "$D" sh -c 'test -e /run/docker.sock && echo there || echo gone')" gone
check "stop leaves no dangling link" no_dangling
out=$(dxu "$D" docker ps 2>&1); rc=$?
like "agent stopped: docker says the agent is not running and how to start it" "$out" \
	"service is not running.*wsl-docker-agent start"
is "agent stopped: docker exits 76" "$rc" 76
dx "$D" sh -c 'mkdir -p /usr/local/lib/docker/cli-plugins && rm -f /usr/local/lib/docker/cli-plugins/docker-hello && echo mine > /usr/local/lib/docker/cli-plugins/docker-hello'
dx "$D" $AG start >/dev/null
out=$(dx "$D" $AG status 2>&1)
like "a foreign file in plugin_dir is reported" "$out" "docker-hello is a file the agent did not create"
is "the foreign file survives untouched" "$(dx "$D" cat /usr/local/lib/docker/cli-plugins/docker-hello)" mine
dx "$D" rm /usr/local/lib/docker/cli-plugins/docker-hello
dx "$D" $AG reconcile >/dev/null
is "once it is gone, reconcile links the plugin" \
	"$(dx "$D" readlink /usr/local/lib/docker/cli-plugins/docker-hello)" "$CLI_VIEW/usr/lib/docker/cli-plugins/docker-hello"
# A docker-ce of the distro's own: its CLI and its service.
dx "$D" sh -c 'cp /mnt/wsl/docker-desktop/cli-tools/usr/bin/docker /usr/bin/docker &&
	mkdir -p /etc/systemd/system && printf "[Service]\nExecStart=/usr/bin/dockerd\n" >/etc/systemd/system/docker.service'
dx "$D" $AG reconcile >/dev/null
out=$(dx "$D" $AG status 2>&1)
like "a distro docker CLI shadowed by ours is reported with the fix" "$out" "/usr/bin/docker .*is shadowed by /usr/local/bin/docker"
like "a distro docker.service is reported with the fix" "$out" "local docker.service.*|systemctl disable --now docker.service"
is "the distro's own docker CLI is left in place" "$(dx "$D" sh -c 'test -x /usr/bin/docker && echo kept')" kept
dx "$D" rm -f /usr/bin/docker /etc/systemd/system/docker.service
dx "$D" $AG reconcile >/dev/null
unlike "once removed, no conflict is reported" "$(dx "$D" $AG status 2>&1)" "Conflicts:"

# ---- stale and live foreign sockets -------------------------------------
dx "$D" $AG stop >/dev/null
dx "$D" sh -c 'socat UNIX-LISTEN:/run/docker.sock /dev/null >/dev/null 2>&1 & p=$!; while ! test -S /run/docker.sock; do sleep 0.02; done; kill -9 $p'
is "a stale socket is left" "$(dx "$D" stat -c %F /run/docker.sock)" socket
dx "$D" $AG start >/dev/null
like "a stale socket is replaced" "$(docker_ok 2>&1)" "^$ENGINE_VERSION_RE"
like "the replacement is logged" "$(dx "$D" cat /var/log/wsl-docker-agent.log)" "replacing the stale socket"
dx "$D" $AG stop >/dev/null
fpid=$(dx "$D" sh -c 'socat UNIX-LISTEN:/run/docker.sock,fork /dev/null >/dev/null 2>&1 & echo $!')
dx "$D" sh -c 'while ! test -S /run/docker.sock; do sleep 0.02; done'
ino=$(dx "$D" stat -c %i /run/docker.sock)
dx "$D" $AG start >/dev/null
out=$(dx "$D" $AG status 2>&1); rc=$?
like "a live foreign socket is not taken over: status names who serves it" "$out" "served by socat \(pid $fpid\); not taking it over"
is "...and status exits 1" "$rc" 1
is "...and the foreign socket is untouched" "$(dx "$D" stat -c %i /run/docker.sock)" "$ino"
dx "$D" kill "$fpid"
dx "$D" sh -c "while kill -0 $fpid 2>/dev/null; do sleep 0.02; done; rm -f /run/docker.sock"
dx "$D" $AG reconcile >/dev/null
like "once it is gone, reconcile takes the path" "$(docker_ok 2>&1)" "^$ENGINE_VERSION_RE"

# ---- kill -9 and restart ------------------------------------------------
pid2=$(agent_pid)
dx "$D" kill -9 "$pid2"
dx "$D" sh -c "while kill -0 $pid2 2>/dev/null; do sleep 0.02; done"
dx "$D" $AG start >/dev/null
like "after kill -9, start works" "$(docker_ok 2>&1)" "^$ENGINE_VERSION_RE"
is "after kill -9, no temporary file is left" \
	"$(dx "$D" find /usr/local/bin /usr/local/lib/docker /run -name '*.wda-new*' 2>/dev/null)" ""
check "after kill -9, no link dangles" no_dangling
manifest_paths=$(dx "$D" sh -c "grep -o '\"path\":\"[^\"]*' /var/lib/wsl-docker-agent/manifest.json | cut -d'\"' -f4")
missing=""
for p in $manifest_paths; do dx "$D" test -e "$p" || missing="$missing $p"; done
is "after kill -9, every manifest entry exists" "$missing" ""

# ---- an ordinary user cannot fill the control socket (issue 19) ---------
# dev opens 70 idle connections and keeps them open (reopening those the
# agent ends after 5 idle seconds) while root reconciles and asks status.
dx "$D" rm -f /tmp/hold.out /tmp/hold.stop
dxu "$D" python3 - >/dev/null 2>&1 <<'PY' &
import os, select, socket
P = "/run/wsl-docker-agent/control.sock"
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(P)
    return s
socks = [conn() for _ in range(70)]
answered = {}
# Until a second passes with no new answer: the refusals are all in.
while True:
    r, _, _ = select.select([s for s in socks if s not in answered], [], [], 1.0)
    if not r:
        break
    for s in r:
        answered[s] = s.recv(4096).decode(errors="replace")
held = [s for s in socks if s not in answered]
first = next(iter(answered.values()), "")
with open("/tmp/hold.out.new", "w") as f:
    f.write("%d %d %s" % (len(held), len(answered), first))
os.rename("/tmp/hold.out.new", "/tmp/hold.out")
while not os.path.exists("/tmp/hold.stop"):
    r, _, _ = select.select(held, [], [], 0.05)
    for s in r:
        held[held.index(s)] = conn()
        s.close()
PY
holder=$!
wait_until 20 dx "$D" test -e /tmp/hold.out || not_ok "the holder reported"
read -r n_held n_refused msg <<<"$(dx "$D" cat /tmp/hold.out)"
is "an ordinary user holds at most 8 control connections at once" "$n_held/$n_refused" "8/62"
like "...the others are refused with a message naming the limit" "$msg" \
	'"ok":false,"error":"failed","message":"uid 1000 already holds 8 control connections, the most one user may at once'
out=$(dxu "$D" $AG status 2>&1); rc=$?
like "the user's own ninth is refused, saying why" "$out" "status refused: uid 1000 already holds 8 control connections"
is "...with exit status 69" "$rc" 69
out=$(dx "$D" $AG reconcile 2>&1); rc=$?
is "meanwhile root's reconcile works" "$rc/$out" "0/$AG: reconcile: done"
check "...and root's status" dx "$D" $AG status
dx "$D" touch /tmp/hold.stop
wait "$holder" 2>/dev/null
check "once the user lets go, the user's status answers" dxu "$D" $AG status

# ---- the state is root's alone (issue 19) --------------------------------
# The manifest names bind sources and containers.
S=/var/lib/wsl-docker-agent
modes() { dx "$D" stat -c %a "$@" | paste -sd' '; }
is "state_dir is 0700, the manifest 0600" "$(modes $S $S/manifest.json)" "700 600"
if dxu "$D" cat $S/manifest.json >/dev/null 2>&1; then not_ok "an ordinary user cannot read the manifest"
else ok "an ordinary user cannot read the manifest"; fi
dx "$D" $AG disable >/dev/null
is "the disabled flag is 0600" "$(modes $S/disabled)" 600
dx "$D" $AG enable >/dev/null
dx "$D" $AG stop >/dev/null
dx "$D" sh -c ": >/var/log/wsl-docker-agent.log; chmod 0755 $S; chmod 0644 $S/manifest.json"
is "an older version's state: 0755 and 0644" "$(modes $S $S/manifest.json)" "755 644"
dx "$D" $AG start >/dev/null
is "an upgrade narrows them at start" "$(modes $S $S/manifest.json)" "700 600"
like "...and the log says so" "$(dx "$D" cat /var/log/wsl-docker-agent.log)" \
	"state_dir $S made private \(0700, its files 0600\): 2 entries were readable by other users"
like "...and docker works as before" "$(docker_ok 2>&1)" "^$ENGINE_VERSION_RE"

# ---- mount mode ---------------------------------------------------------
dx "$D" $AG stop >/dev/null
dx "$D" $AG start --socket-mode mount >/dev/null
check "mount mode: the engine socket is bind-mounted" dx "$D" mountpoint -q /run/docker.sock
like "mount mode: docker works as root" "$(root_docker_ok 2>&1)" "^$ENGINE_VERSION_RE"
out=$(docker_ok 2>&1)
like "mount mode: the engine's group is not this distro's docker group" "$out" "permission denied"
like "mount mode: status says so and points to proxy mode" "$(dx "$D" $AG status 2>&1)" "permission denied.*|socket.mode to proxy"
ino1=$(dx "$D" stat -c %i /run/docker.sock)
"$LAB" desktop-stop >/dev/null 2>&1
"$LAB" desktop-start >/dev/null 2>&1
if wait_until 10 sh -c "[ \"\$($LAB exec $D -- stat -c %i /run/docker.sock 2>/dev/null)\" != $ino1 ] && $LAB exec $D -- docker version >/dev/null 2>&1"; then
	ok "mount mode: re-mounted when Docker Desktop re-creates its socket"
else not_ok "mount mode: re-mount after restart" "$(dx "$D" $AG status 2>&1)"; fi
dx "$D" $AG stop >/dev/null
if dx "$D" mountpoint -q /run/docker.sock || dx "$D" test -e /run/docker.sock; then
	not_ok "mount mode: stop unmounts and removes the mount point"
else ok "mount mode: stop unmounts and removes the mount point"; fi

done_testing
