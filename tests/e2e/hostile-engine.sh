#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end, in the lab: an ordinary user of a second distro (uid 1000
# dev, not root, not in a docker group) plants Docker Desktop's engine
# socket while Docker Desktop is stopped and its tree is gone (issue 13).
# The victim distro's docker gets a clear refusal, the planted listener
# hears nothing, status says "untrusted" in one line; the agent's
# descriptors are all close-on-exec; a link to the victim's own socket
# swapped in after the agent looked is never followed (issue 19); Docker
# Desktop back, docker works.
# Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

V=hv1
A=ha1
AG=wsl-docker-agent
TREE=/mnt/wsl/docker-desktop
heard=$(mktemp)
listener=
cleanup() {
	"$LAB" exec "$A" -- pkill -u dev -x socat >/dev/null 2>&1
	[ -z "$listener" ] || kill "$listener" 2>/dev/null
	rm -f "$heard"
	lab_down "$V" "$A"
}
trap cleanup EXIT

lab_up
lab_distro "$V"
lab_distro "$A" --docker-gid none
docker_ok() { dxu "$V" docker version --format '{{.Server.Version}}'; }

# Started with no descriptor above 2 (the test's lock, lab.sh's pipes), so
# that every one it holds is its own.
# shellcheck disable=SC2016
dx "$V" bash -c 'for f in /proc/$$/fd/*; do f=${f##*/}; [ "$f" -le 2 ] || eval "exec $f>&-"; done
	exec '"$AG"' start' >/dev/null 2>&1
like "the victim's docker works before the attack" "$(docker_ok 2>&1)" "^$ENGINE_VERSION_RE"
pid=$(dx "$V" cat /run/wsl-docker-agent.pid)

# ---- every descriptor of the agent is close-on-exec ----------------------
leaky=$(dx "$V" sh -c "cd /proc/$pid/fdinfo && for f in *; do [ \$f -gt 2 ] || continue;
	fl=\$(sed -n 's/^flags:[[:space:]]*//p' \$f); [ \$(( 0\$fl & 02000000 )) -ne 0 ] || echo \"\$f -> \$(readlink /proc/$pid/fd/\$f)\"; done")
is "every descriptor of the agent above 2 is close-on-exec (fdinfo flags 02000000)" "$leaky" ""

# ---- Docker Desktop stopped, its tree gone: a user plants the socket -----
"$LAB" desktop-stop >/dev/null 2>&1
rm -rf "$TREE"
dxu "$A" sh -c "mkdir -p $TREE/shared-sockets/guest-services && : >/tmp/heard &&
	(socat -d -d UNIX-LISTEN:$ENGINE_SOCK,fork SYSTEM:'cat >>/tmp/heard' 2>/tmp/socat.log &)"
wait_until 10 test -S "$ENGINE_SOCK" || not_ok "the attacker's listener is up"
is "the planted socket is the attacker's" "$(stat -c %u "$ENGINE_SOCK")" 1000
if wait_until 10 sh -c "$LAB exec $V -- $AG status --json | grep -q '\"state\":[[:space:]]*\"untrusted\"'"; then
	ok "status --json: socket.state untrusted"; else not_ok "status --json: socket.state untrusted" "$(dx "$V" $AG status 2>&1)"; fi
out=$(dx "$V" $AG status 2>&1)
like "status names the path, its owner and the fix in one line" "$out" \
	"untrusted.*$TREE is owned by uid 1000, not root.*sudo rm -rf $TREE"
# The CLI tools are gone with Docker Desktop (the distro's docker is the
# shim now), so a docker CLI from outside talks to the victim's socket.
vsock=/proc/$(cat "$LAB_DIR/distros/$V/holder.pid")/root/run/docker.sock
out=$(/usr/bin/docker -H "unix://$vsock" version 2>&1); rc=$?
like "docker version prints the refusal with the reason" "$out" \
	"Error response from daemon: wsl-docker-agent: the Docker Desktop engine socket is not trusted.*owned by uid 1000"
is "docker version fails" "$rc" 1
out=$(dxu "$V" sh -c "printf 'GET /_ping HTTP/1.0\r\n\r\n' | socat - UNIX-CONNECT:/run/docker.sock" 2>&1)
like "a raw client of /run/docker.sock gets HTTP 503" "$out" "^HTTP/1.1 503"
is "the planted listener heard nothing" "$(dx "$A" stat -c %s /tmp/heard)" 0
unlike "the planted listener logged no connection" "$(dx "$A" cat /tmp/socat.log)" "accepting connection"

dx "$A" pkill -u dev -x socat
rm -rf "$TREE"

# ---- a link to the victim's own socket, swapped in after a look ----------
# (issue 19) The attacker's tree holds docker.proxy.sock as a link to
# nothing when the agent looks (no engine socket there), then swaps the
# link to /run/docker.sock, which in the victim's namespace is the agent's
# own socket, and a client comes before the agent looks again.  Before,
# the proxy connected by path, to itself, each connection making another
# (20,000 descriptors in 50 ms, then EMFILE).  The agent is stopped
# (SIGSTOP) over the swap and the client's connect, so the client is
# served before the look that the swap sets off: the window, made certain.
fds() { dx "$V" sh -c "ls /proc/$pid/fd | wc -l"; }
backlog() { dx "$V" ss -xlH src /run/docker.sock | awk '{ print $3 }'; }
dxu "$A" sh -c "mkdir -p $(dirname "$ENGINE_SOCK") && ln -s /nonexistent.sock $ENGINE_SOCK"
dx "$V" $AG reconcile >/dev/null 2>&1
fds_before=$(fds)
dx "$V" kill -STOP "$pid"
dxu "$A" sh -c "ln -s /run/docker.sock $ENGINE_SOCK.new && mv -T $ENGINE_SOCK.new $ENGINE_SOCK"
# (socat -t: after its request, wait for the reply as long as the agent
# stays stopped, not the default half second)
dxu "$V" sh -c "printf 'GET /_ping HTTP/1.0\r\n\r\n' | timeout 60 socat -t 60 - UNIX-CONNECT:/run/docker.sock" \
	>"$heard.reply" 2>&1 &
client=$!
wait_until 10 sh -c "[ \"\$($LAB exec $V -- ss -xlH src /run/docker.sock | awk '{ print \$3 }')\" -ge 1 ]" ||
	diag "the client's connection is not in the backlog: $(backlog)"
# The agent's descriptors, sampled from now on (the sampler is the test's
# clock, bounded: 3 s).
dx "$V" sh -c "max=0; end=\$((\$(date +%s) + 3)); while [ \$(date +%s) -lt \$end ]; do
	n=\$(ls /proc/$pid/fd 2>/dev/null | wc -l); [ \$n -gt \$max ] && max=\$n; done; echo \$max" >"$heard.max" &
sampler=$!
dx "$V" kill -CONT "$pid"
wait "$client"
is "the link led to the victim's own socket" "$(dx "$V" stat -L -c %i "$ENGINE_SOCK")" \
	"$(dx "$V" stat -c %i /run/docker.sock)"
out=$(cat "$heard.reply")
like "a client is refused at once with HTTP 503" "$out" "^HTTP/1.1 503"
# (The agent's last look found the attacker's tree: untrusted, so it said.)
like "...naming the problem" "$out" \
	"the Docker Desktop engine socket is not trusted.*$TREE is owned by uid 1000"
wait "$sampler"
max=$(cat "$heard.max"); rm -f "$heard.max" "$heard.reply"
if [ -n "$max" ] && [ "$max" -le $((fds_before + 8)) ]; then
	ok "the agent's descriptors stay bounded (at most $max, $fds_before before)"
else not_ok "the agent's descriptors stay bounded" "before: $fds_before" "at most: ${max:-?}"; fi
is "...and the agent is the same process" "$(dx "$V" cat /run/wsl-docker-agent.pid)" "$pid"
if wait_until 10 sh -c "$LAB exec $V -- $AG status 2>&1 | grep -q 'untrusted.*$TREE is owned by uid 1000, not root'"; then
	ok "status names the problem once the agent looks"
else not_ok "status names the problem once the agent looks" "$(dx "$V" $AG status 2>&1)"; fi
out=$(/usr/bin/docker -H "unix://$vsock" version 2>&1)
like "docker version prints it" "$out" \
	"Error response from daemon: wsl-docker-agent: the Docker Desktop engine socket is not trusted.*owned by uid 1000"
rm -rf "$TREE"

# ---- a root-owned tree, a socket root made, a listener of uid 1000 -------
# Only SO_PEERCRED can tell: root binds the socket (the file and every
# directory above it are root's, the walk passes), then the process that
# listens on it becomes uid 1000.
mkdir -p "$(dirname "$ENGINE_SOCK")"
: >"$heard"
python3 - "$ENGINE_SOCK" "$heard" <<'PY' &
import os, socket, sys
out = open(sys.argv[2], "ab", buffering=0)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
os.setgid(1000)
os.setuid(1000)
s.listen(16)
while True:
    c, _ = s.accept()
    c.settimeout(2)
    try:
        out.write(c.recv(65536))
    except OSError:
        pass
    c.close()
PY
listener=$!
wait_until 10 test -S "$ENGINE_SOCK" || not_ok "the uid-1000 listener is up"
is "the socket and its tree are root's" \
	"$(stat -c %u "$ENGINE_SOCK" "$TREE" "$(dirname "$ENGINE_SOCK")" | sort -u)" 0
is "...and the process listening is uid 1000" "$(awk '/^Uid:/ { print $2 }' "/proc/$listener/status")" 1000
dx "$V" $AG reconcile >/dev/null 2>&1
# (In proxy mode the check is made at each connection, the probe's too:
# status says it on the Engine line, and once a client was refused,
# socket.state is untrusted, naming the listener.)
served_by_user() { { dx "$V" $AG status 2>&1 || true; } | grep -q "not reachable: $ENGINE_SOCK is served by uid 1000 (.*), not root"; }
if wait_until 10 served_by_user; then ok "status: the engine is not used, its listener is uid 1000 (SO_PEERCRED)"
else not_ok "status: the engine is not used, its listener is uid 1000 (SO_PEERCRED)" "$(dx "$V" $AG status 2>&1)"; fi
like "...in one line saying why" "$(dx "$V" $AG status 2>&1)" \
	"Engine +not reachable: $ENGINE_SOCK is served by uid 1000 .*, not root: an ordinary user is listening there; not using it"
out=$(/usr/bin/docker -H "unix://$vsock" version 2>&1)
like "docker version through the victim's socket is refused, naming the listener" "$out" \
	"Error response from daemon: wsl-docker-agent: .*served by uid 1000"
is "the uid-1000 listener heard nothing" "$(stat -c %s "$heard")" 0
like "status --json: socket.state untrusted, naming the listener" \
	"$({ dx "$V" $AG status --json 2>/dev/null || true; } | jq -r '.socket.state + ": " + (.socket.untrusted // "")')" \
	"^untrusted: $ENGINE_SOCK is served by uid 1000 .*, not root"
like "...and a problem with its fix" \
	"$({ dx "$V" $AG status --json 2>/dev/null || true; } | jq -r '.problems[].what')" \
	"the engine socket is untrusted: $ENGINE_SOCK is served by uid 1000"
kill "$listener"; wait "$listener" 2>/dev/null; listener=
rm -rf "$TREE"

# ---- the attacker gone, Docker Desktop back: docker works ----------------
"$LAB" desktop-start >/dev/null 2>&1
if wait_until 20 docker_ok; then ok "Docker Desktop back: docker works again"; else
	not_ok "Docker Desktop back: docker works again" "$(dx "$V" $AG status 2>&1)"; fi
unlike "Docker Desktop back: status no longer says untrusted" "$(dx "$V" $AG status 2>&1)" "untrusted"
is "the agent was not restarted" "$(dx "$V" cat /run/wsl-docker-agent.pid)" "$pid"

done_testing
