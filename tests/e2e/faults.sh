#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Faults and load, in the lab, with the agent run on the machine itself
# (private paths, so nothing of the machine's is touched): the engine killed
# mid-stream and restarted, Docker Desktop's tree flapping a hundred times,
# fd exhaustion, 10,000 connections one after another and 1,000 at once,
# a supervisor that never reads NOTIFY_SOCKET, a hung agent's status, and a
# valgrind memcheck run.  Fd and memory growth are measured, not guessed.
# Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

T=$(mktemp -d /tmp/wda-faults.XXXXXX)
AGENT=$BUILD/wsl-docker-agent
apid=""
cleanup() {
	[ -z "$apid" ] || kill "$apid" 2>/dev/null
	[ -z "$apid" ] || wait "$apid" 2>/dev/null
	lab_down
	umount -R "$T/flap" 2>/dev/null
	umount -l "$T/view" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# start_agent DESKTOP_DIR [wrapper...]: the agent in the background.
start_agent() {
	local dd=$1; shift
	rm -f "$T/ctl.sock"
	"$@" "$AGENT" run --desktop-dir "$dd" --socket-path "$T/docker.sock" \
		--bin-dir "$T/bin" --plugin-dir "$T/plugins" --control-socket "$T/ctl.sock" \
		--state-dir "$T/state" --pidfile "$T/agent.pid" --host-address none \
		--links-on-stop remove --host-interval 3600 --cli-mount "$T/view" \
		>"$T/agent.log" 2>&1 &
	apid=$!
	wait_until 60 test -S "$T/ctl.sock" && wait_until 60 test -S "$T/docker.sock"
}
stop_agent() { kill "$apid" 2>/dev/null; wait "$apid" 2>/dev/null; apid=""; }
status_json() { "$AGENT" status --json --control-socket "$T/ctl.sock" --pidfile "$T/agent.pid"; }
fds() { ls "/proc/$apid/fd" | wc -l; }
# What each descriptor is, to name a leak: "FD -> TARGET" lines.
fd_list() { for f in /proc/$apid/fd/*; do printf '%s -> %s\n' "${f##*/}" "$(readlink "$f")"; done | sort -n >"$1"; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$apid/status"; }
via_agent() { /usr/bin/docker -H "unix://$T/docker.sock" "$@"; }

# many_pings N SOCKET: N connections, each one GET /_ping, opened and closed.
many_pings() {
	python3 - "$1" "$2" <<'EOF'
import socket, sys
n, path, bad = int(sys.argv[1]), sys.argv[2], 0
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    s.close()
    bad += not data.startswith(b"HTTP/1.0 200") and not data.startswith(b"HTTP/1.1 200")
print(bad)
EOF
}

lab_up
DD=/mnt/wsl/docker-desktop

# ---- the engine killed mid-stream, then restarted -------------------------
start_agent "$DD"
check "agent serves docker" via_agent version
via_agent run -d --name talker bb sh -c 'while :; do echo tick; sleep 0.1; done' >/dev/null
via_agent logs -f talker >"$T/stream" 2>&1 &
spid=$!
wait_until 20 grep -q tick "$T/stream"
pid0=$apid
t0=$(now_ms)
kill -9 "$("$LAB" engine-pid)"
if wait_until 10 sh -c "! kill -0 $spid 2>/dev/null"; then
	ok "engine killed mid-stream: the client's stream ends ($(( $(now_ms) - t0 )) ms)"
else not_ok "engine killed mid-stream: the client's stream ends"; kill "$spid"; fi
"$LAB" desktop-stop >/dev/null 2>&1
"$LAB" desktop-start >/dev/null 2>&1
if wait_until 20 via_agent version; then ok "engine restarted: new connections work"; else
	not_ok "engine restarted: new connections work" "$(status_json)"; fi
is "engine restarted: the agent was not restarted" "$apid" "$pid0"
via_agent rm -f talker >/dev/null 2>&1

# ---- 10,000 connections: no fd or memory leak ------------------------------
many_pings 200 "$T/docker.sock" >/dev/null	# warm up allocator and caches
# The agent's own engine connections after the restart (the restore pass
# asks for the containers) are over before the count is taken.
settled() { [ "$({ status_json || :; } | jq -r '(.restore.state // "done") + " " + (.engine.reachable | tostring)')" = "done true" ]; }
wait_until 20 settled || diag "the agent did not settle: $(status_json | jq -c '{restore, engine}')"
f0=$(fds); r0=$(rss)
bad=$(many_pings 10000 "$T/docker.sock")
is "10,000 connections through the agent all answered" "$bad" 0
f1=$(fds); r1=$(rss)
diag "fds $f0 -> $f1, RSS $r0 -> $r1 KiB"
is "10,000 connections: no fd leaked" "$f1" "$f0"
if [ $((r1 - r0)) -le 256 ]; then ok "10,000 connections: RSS flat ($r0 -> $r1 KiB)"; else
	not_ok "10,000 connections: RSS grew $r0 -> $r1 KiB"; fi

# ---- a crowd of 1,000 streams at once, then gone: memory comes back --------
crowd() { # SOCKET: 1,000 `docker events' streams open at once, then closed
	python3 - "$1" <<'EOF'
import resource, select, socket, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
ss = []
for _ in range(1000):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(b"GET /v1.41/events HTTP/1.1\r\nHost: docker\r\n\r\n")
    ss.append(s)
ok = 0
for s in ss:
    if select.select([s], [], [], 10)[0] and s.recv(4096).startswith(b"HTTP/1.1 200"):
        ok += 1
for s in ss:
    s.close()
print(ok)
EOF
}
r0=$(rss)
is "1,000 streams at once through the agent: every one answered" "$(crowd "$T/docker.sock")" 1000
wait_until 10 sh -c "[ \$(ls /proc/$apid/fd | wc -l) -le $f0 ]"
r1=$(rss)
is "1,000 streams at once: at the end no fd is left" "$(fds)" "$f0"
crowd "$T/docker.sock" >/dev/null
wait_until 10 sh -c "[ \$(ls /proc/$apid/fd | wc -l) -le $f0 ]"
r2=$(rss)
diag "RSS before a crowd of 1,000 streams $r0 KiB, after it $r1 KiB, after a second $r2 KiB"
if [ $((r1 - r0)) -le 512 ] && [ $((r2 - r1)) -le 128 ]; then
	ok "1,000 streams at once, then gone: RSS back near where it was ($r0 -> $r1 -> $r2 KiB)"
else not_ok "1,000 streams at once, then gone: RSS $r0 -> $r1 -> $r2 KiB"; fi
stop_agent

# ---- Docker Desktop's tree flapping a hundred times --------------------------
# A tree of our own: the tools and the socket come and go, and so does the
# whole directory (its parent's entry vanishing).  As the agent trusts it:
# a root-owned mount for a shared root, cli-tools an image mounted there.
F=$T/flap/docker-desktop
mkdir -p "$T/flap" "$T/cli-image/usr/bin"
mount -t tmpfs -o mode=755 flap "$T/flap"
mkdir -p "$F/cli-tools" "$F/shared-sockets/guest-services"
cp /usr/bin/docker "$T/cli-image/usr/bin/docker"
mount --bind "$T/cli-image" "$F/cli-tools"
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8); time.sleep(3600)' \
	"$F/shared-sockets/guest-services/docker.proxy.sock" &
lpid=$!
# ...under a supervisor that never reads NOTIFY_SOCKET (its queue holds ten
# datagrams): the agent must not wait on it.
mkfifo "$T/drain-go"
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
open(sys.argv[2], "w").close()
sys.stdin.read(1)
s.setblocking(False)
try:
    while True: print(s.recv(4096).decode().split("\n")[0])
except BlockingIOError: pass' "$T/notify.sock" "$T/notify.bound" <"$T/drain-go" >"$T/notify.msgs" &
npid=$!
exec 8>"$T/drain-go"
wait_until 10 test -e "$T/notify.bound"
start_agent "$F" env NOTIFY_SOCKET="$T/notify.sock"
wait_until 10 test -L "$T/bin/docker"
# Counted once the agent holds what it keeps (the silent engine's socket
# too, which its python may bind after the agent's first look), or a late
# descriptor of its steady state would read as a leak.
engine_held() { [ "$(status_json | jq -r .desktop.engine_socket)" = true ]; }
wait_until 10 engine_held
f0=$(fds); r0=$(rss); w0=$(status_json | grep -o '"watches":[0-9]*')
fd_list "$T/fds-before"
t0=$(status_json | jq -r .agent.tree_reconciles)
for i in $(seq 100); do
	case $((i % 3)) in
	0) mv "$F" "$F.away"; mv "$F.away" "$F" ;;
	1) umount "$F/cli-tools"; mount --bind "$T/cli-image" "$F/cli-tools" ;;
	2) rm "$F/cli-tools/usr/bin/docker"; cp /usr/bin/docker "$F/cli-tools/usr/bin/docker" ;;
	esac
done
# The last change is a re-creation: the agent must end with the link back.
if wait_until 10 sh -c "[ \"\$(readlink $T/bin/docker)\" = $T/view/usr/bin/docker ]"; then
	ok "tree flapped 100 times: the final state is right"; else
	not_ok "tree flapped 100 times: the final state is right" "$(status_json)"; fi
# An agent that ignored every change would end right too: it must have
# looked again (rate-limited, so fewer times than the tree changed).
t1=$(status_json | jq -r .agent.tree_reconciles)
if [ "$t1" -gt "$t0" ]; then ok "tree flapped: the changes were followed ($t0 -> $t1 reconciles)"
else not_ok "tree flapped: the changes were followed" "tree_reconciles $t0 -> $t1"; fi
wait_until 10 sh -c "$AGENT status --control-socket $T/ctl.sock >/dev/null"
f1=$(fds); r1=$(rss); w1=$(status_json | grep -o '"watches":[0-9]*')
diag "flapping: fds $f0 -> $f1, RSS $r0 -> $r1 KiB, $w0 -> $w1"
# An engine probe may still be waiting on the silent stand-in engine (it
# never answers HTTP): the count must come back to where it was.
if wait_until 10 sh -c "[ \$(ls /proc/$apid/fd | wc -l) -le $f0 ]"; then
	ok "tree flapped: no fd leaked ($f0 before, back to $(fds))"; else
	fd_list "$T/fds-after"
	not_ok "tree flapped: fds $f0 -> $(fds)" "$(diff "$T/fds-before" "$T/fds-after")"; fi
is "tree flapped: no inotify watch leaked" "$w1" "$w0"
if [ $((r1 - r0)) -le 128 ]; then ok "tree flapped: RSS flat ($r0 -> $r1 KiB)"; else
	not_ok "tree flapped: RSS grew $r0 -> $r1 KiB"; fi
lines=$(wc -l <"$T/agent.log")
if [ "$lines" -le 400 ]; then ok "tree flapped: the log stays short ($lines lines)"; else
	not_ok "tree flapped: $lines log lines"; fi
# Each of these changes the STATUS= line: far more than the queue holds.
qlen=$(cat /proc/sys/net/unix/max_dgram_qlen)
for i in $(seq "$qlen"); do
	"$AGENT" disable --control-socket "$T/ctl.sock" >/dev/null
	"$AGENT" enable --control-socket "$T/ctl.sock" >/dev/null
done
# status exits 1 while unhealthy (this stand-in engine never answers HTTP):
# only its JSON is looked at here, whole before grep (grep -q ending the
# pipe early would make status die of SIGPIPE past its first 4 KiB).
if wait_until 10 test -L "$T/bin/docker" &&
	grep -q '"disabled":false' <<<"$(status_json || :)"; then
	ok "$((2 * qlen)) state changes with NOTIFY_SOCKET's queue full: the agent answers, integration on"
else not_ok "state changes with NOTIFY_SOCKET's queue full" "$(status_json; tail -n5 "$T/agent.log")"; fi
echo go >&8; exec 8>&-; wait "$npid"
nmsg=$(wc -l <"$T/notify.msgs")
diag "the undrained NOTIFY_SOCKET held $nmsg messages (queue $qlen); first: $(head -n1 "$T/notify.msgs")"
# The kernel queues one datagram past max_dgram_qlen.
if [ "$nmsg" -ge "$qlen" ]; then ok "the supervisor's queue was full ($nmsg messages) and the agent went on"
else not_ok "the supervisor's queue never filled: $nmsg messages" "$(cat "$T/notify.msgs")"; fi
# A hung agent (stopped here) is running but silent, and status says so.
kill -STOP "$apid"
out=$(status_json); rc=$?
kill -CONT "$apid"
like "a hung agent: status --json says running, not answering (exit $rc)" "$rc $out" \
	'^69 \{"running":true,"healthy":false,"error":"the agent \(pid [0-9]+\) is running but does not answer: the agent did not answer within [0-9]+ s"\}$'
stop_agent
kill "$lpid" 2>/dev/null

# ---- fd exhaustion: a clear error, then recovery ----------------------------
start_agent "$DD" prlimit --nofile=48:48 --
wait_until 20 via_agent version
python3 - "$T/docker.sock" >"$T/hold.out" 2>&1 <<'EOF' &
import socket, sys, time
held = []
for _ in range(40):	# far more than 48 descriptors' worth, at 6 each
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(sys.argv[1])
        s.sendall(b"GET /events HTTP/1.1\r\nHost: d\r\n\r\n")
        held.append(s)
    except OSError:
        pass
print("held", len(held), flush=True)
time.sleep(3)
EOF
hpid=$!
if wait_until 20 grep -qi "ulimit -n\|LimitNOFILE" "$T/agent.log"; then
	ok "fd exhaustion: one clear line with the fix"; else
	not_ok "fd exhaustion: a clear line with the fix" "$(tail -5 "$T/agent.log")"; fi
is "fd exhaustion: said once, not flooded" "$(grep -ci "ulimit -n\|LimitNOFILE" "$T/agent.log")" 1
wait "$hpid"
if wait_until 30 via_agent version; then ok "fd exhaustion: recovers once clients go"; else
	not_ok "fd exhaustion: recovers once clients go" "$(tail -5 "$T/agent.log")"; fi
check "fd exhaustion: the agent is still running" kill -0 "$apid"
stop_agent

# ---- valgrind memcheck over a real session ----------------------------------
if command -v valgrind >/dev/null; then
	start_agent "$DD" valgrind --quiet --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --log-file="$T/vg.log"
	check "under valgrind: docker version" via_agent version
	is "under valgrind: echo hi | docker run -i" "$(echo hi | via_agent run -i --rm bb cat 2>&1)" hi
	"$LAB" desktop-stop >/dev/null 2>&1
	"$LAB" desktop-start >/dev/null 2>&1
	wait_until 30 via_agent version
	"$AGENT" reconcile --control-socket "$T/ctl.sock" >/dev/null 2>&1
	kill -HUP "$apid"
	kill "$apid"; wait "$apid"; rc=$?; apid=""
	is "valgrind memcheck: no errors, no definite leaks (exit $rc)" "$rc" 0
	[ "$rc" -eq 0 ] || diag "$(head -40 "$T/vg.log")"
else
	not_ok "valgrind is installed"
fi

done_testing
