#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end, without the lab: the agent binary against the host peer on a
# unix socket, as wsl-docker-agent-protocol(7) says.  A hello then reports;
# events when Docker Desktop's tree changes and only then; every request
# answered; garbage, a 10 MB line and a flood of bad lines handled as
# documented while the agent stays up; an untrusted host refused changes;
# an absent or flapping host leaves the agent's memory flat and its log
# short.  The peer checks every status exactly against the agent's status
# table (--exact-status): a member the table does not list is a violation.
# Never vsock (ARCHITECTURE.md).  Prints TAP.
set -uo pipefail
# This test uses no lab: it need not wait for lib.sh's lock.
E2E_NO_LAB=1
. "$(dirname "$0")/lib.sh"

AGENT=$BUILD/wsl-docker-agent
PEER=$BUILD/tests/peer/wsl-docker-host-peer
tmp=$(mktemp -d /tmp/wda-health-e2e.XXXXXX)
chmod 755 "$tmp"
HOSTDIR=$tmp/host		# 1777: a peer running as nobody listens here
HOST=$HOSTDIR/host.sock
# Docker Desktop's tree below a tmpfs of its own, as in WSL: the agent
# trusts the shared tree only on the shared tmpfs (wsl-docker-agent(8)).
SHARED=$tmp/shared
DESK=$SHARED/desktop
ENGINE=$DESK/shared-sockets/guest-services/docker.proxy.sock
FIFO=$HOSTDIR/control
OUT=
agent_pid='' peer_pid='' socat_pid='' agent_log=''
nagents=0

cleanup() {
	local p
	for p in $socat_pid $peer_pid $agent_pid; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	umount -l "$SHARED" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$HOSTDIR" "$SHARED" "$tmp/bin" "$tmp/plugins" "$tmp/state"
mount -t tmpfs -o mode=1777 wda-health "$SHARED"
mkdir -p "$DESK"
chmod 1777 "$HOSTDIR"
mkfifo -m 666 "$FIFO"
# A file, not flags: every key in one place, and the test shows the JSON.
cat >"$tmp/config.json" <<EOF
{
  "desktop_dir": "$DESK",
  "socket": {"path": "$tmp/docker.sock"},
  "links": {"bin_dir": "$tmp/bin", "plugin_dir": "$tmp/plugins",
            "cli_mount": "$tmp/cli-tools"},
  "host": {"address": "unix:$HOST", "interval": 1},
  "control_socket": "$tmp/control.sock",
  "state_dir": "$tmp/state",
  "pidfile": "$tmp/agent.pid",
  "distro": "e2e-health"
}
EOF

if [ ! -x "$AGENT" ] || [ ! -x "$PEER" ]; then
	not_ok "the build has the agent and the peer" "$AGENT" "$PEER"
	done_testing; exit 1
fi

# ---- helpers --------------------------------------------------------------

start_agent() {
	nagents=$((nagents + 1))
	agent_log=$tmp/agent-$nagents.log
	"$AGENT" run -c "$tmp/config.json" >/dev/null 2>"$agent_log" &
	agent_pid=$!
	wait_until 10 grep -q "ready:" "$agent_log"
}

# started "description": start_agent, reported (not in a subshell).
started() {
	if start_agent; then ok "$1"; else not_ok "$1" "$(cat "$agent_log")"; fi
}

stop_agent() {
	[ -n "$agent_pid" ] || return 0
	kill -TERM "$agent_pid" 2>/dev/null
	wait "$agent_pid" 2>/dev/null
	agent_pid=''
}

# start_peer OUTFILE [options...]: the peer as root, output to OUTFILE.
start_peer() {
	OUT=$1; shift
	"$PEER" --json --exact-status --out "$OUT" --control "$FIFO" "$@" "$HOST" \
		>/dev/null 2>>"$tmp/peer.err" &
	peer_pid=$!
	wait_until 5 test -S "$HOST"
}

stop_peer() {
	[ -n "$peer_pid" ] || return 0
	kill "$peer_pid" 2>/dev/null
	wait "$peer_pid" 2>/dev/null
	peer_pid=''
}

send() { printf '%s\n' "$1" >"$FIFO"; }
seen() { grep -q -- "$1" "$OUT"; }
count() { grep -c -- "$1" "$OUT" || true; }
# more PATTERN N: more than N lines match (a condition for wait_until).
more() { [ "$(count "$1")" -gt "$2" ]; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$agent_pid/status"; }
log_lines() { wc -l <"$agent_log"; }
alive() { kill -0 "$agent_pid" 2>/dev/null; }
status_json() { "$AGENT" status --json -c "$tmp/config.json" 2>&1; }

# expect "description" PATTERN [SECONDS]: a line matching arrives.
expect() {
	if wait_until "${3:-10}" seen "$2"; then ok "$1"; else
		not_ok "$1" "no line matching: $2" "last lines:" \
			"$(tail -n 3 "$OUT" | cut -c1-300)"; fi
}

# mark, then flat_and_short N: memory and log since the mark, at most N
# new log lines.
mark() { rss0=$(rss_kib); lines0=$(log_lines); }
flat_and_short() {
	local rss1 lines1
	rss1=$(rss_kib); lines1=$(log_lines)
	if [ $((rss1 - rss0)) -le 512 ]; then ok "...memory flat (${rss0} -> ${rss1} KiB)"
	else not_ok "...memory flat" "VmRSS ${rss0} -> ${rss1} KiB"; fi
	if [ $((lines1 - lines0)) -le "$1" ]; then
		ok "...log short ($((lines1 - lines0)) new lines)"; else
		not_ok "...log short" "$(tail -n $((lines1 - lines0)) "$agent_log")"; fi
}

# request ID JSON-REST: send a request with this id.
request() { send "{\"type\":\"request\",\"id\":\"$1\"$2}"; }

# ---- 1. hello, reports, status -------------------------------------------

start_peer "$tmp/peer1.jsonl"
started "the agent starts and says it is ready"
expect "a hello arrives" '"type":"hello"'
like "the hello is the first line" "$(head -n 1 "$OUT")" \
	'^\{"type":"hello","protocol":1,"agent":"wsl-docker-agent",'
like "the hello names the distro" "$(head -n 1 "$OUT")" '"distro":"e2e-health"'
like "the hello has a 32-digit instance id" "$(head -n 1 "$OUT")" \
	'"instance_id":"[0-9a-f]{32}"'
like "the hello says how often it reports and its limits" "$(head -n 1 "$OUT")" \
	'"interval_s":1,.*"limits":\{"line_max":65536,"depth_max":16,'
like "a report follows it, seq 1" "$(sed -n 2p "$OUT")" '^\{"type":"report","seq":1,'
expect "reports keep coming at the interval (seq 3)" '"type":"report","seq":3,' 10
like "status shows the host channel connected" "$(status_json | tr -d ' \n')" \
	"\"address\":\"unix:$HOST\",\"state\":\"connected\""

# ---- 2. events: on a change of Docker Desktop's tree, and only then -------

events=$(count '"type":"event"')
seq_now=$(grep -o '"seq":[0-9]*' "$OUT" | tail -n 1 | cut -d: -f2)
wait_until 10 seen "\"seq\":$((seq_now + 3)),"
is "no event while nothing changes (3 reports)" "$(count '"type":"event"')" "$events"

mkdir -p "$(dirname "$ENGINE")"
socat "UNIX-LISTEN:$ENGINE,fork" /dev/null >/dev/null 2>&1 &
socat_pid=$!
expect "an event when the engine socket appears" \
	'"type":"event","seq":[0-9]*,"changed":\[[^]]*"desktop"'
like "...whose status shows the socket" "$(grep '"type":"event"' "$OUT" | tail -n 1)" \
	'"engine_socket":true'
events=$(count '"type":"event"')
kill "$socat_pid"; wait "$socat_pid" 2>/dev/null; socat_pid=''
rm -f "$ENGINE"
if wait_until 10 more '"type":"event"' "$events"; then
	ok "an event when it goes away"; else not_ok "an event when it goes away"; fi
like "...whose status shows it gone" "$(grep '"type":"event"' "$OUT" | tail -n 1)" \
	'"engine_socket":false'

# ---- 3. every request answered --------------------------------------------

request e2e-ping ',"request":"ping","args":{"echo":"hi"}'
expect "ping is answered with its echo" \
	'"id":"e2e-ping","ok":true,"result":{"pong":true,"echo":"hi","wall_clock_ms":'
request e2e-status ',"request":"status"'
expect "status is answered with the status" \
	'"id":"e2e-status","ok":true,"result":{"agent":{'
request e2e-reconcile ',"request":"reconcile"'
expect "reconcile is answered with the status" \
	'"id":"e2e-reconcile","ok":true,"result":{"agent":{'
request e2e-off ',"request":"disable"'
expect "disable is answered" '"id":"e2e-off","ok":true,"result":{"disabled":true}'
expect "...an event follows with the integration off" \
	'"type":"event".*"changed":\["agent".*"disabled":true'
reply_at=$(grep -n '"id":"e2e-off"' "$OUT" | cut -d: -f1)
event_at=$(grep -n '"type":"event".*"disabled":true' "$OUT" | head -n 1 | cut -d: -f1)
if [ -n "$reply_at" ] && [ -n "$event_at" ] && [ "$reply_at" -lt "$event_at" ]; then
	ok "...after the reply"; else not_ok "...after the reply" "$reply_at vs $event_at"; fi
check "...and it is kept in state_dir" test -f "$tmp/state/disabled"
request e2e-on ',"request":"enable"'
expect "enable is answered" '"id":"e2e-on","ok":true,"result":{"disabled":false}'
if wait_until 5 test ! -e "$tmp/state/disabled"; then
	ok "...and the state file is gone"; else not_ok "...and the state file is gone"; fi
request e2e-unknown ',"request":"reboot"'
expect "an unknown request: unknown-request" \
	'"id":"e2e-unknown","ok":false,"error":"unknown-request"'
request e2e-args ',"request":"ping","args":{"echo":5}'
expect "a wrong argument: bad-arguments" \
	'"id":"e2e-args","ok":false,"error":"bad-arguments"'
request e2e-v2 ',"request":"ping","protocol":2'
expect "another protocol version: unsupported-version" \
	'"id":"e2e-v2","ok":false,"error":"unsupported-version","message":"[^"]*speaks protocol 1'

# ---- 4. garbage and a 10 MB line -------------------------------------------

nulls=$(count '"id":null')
send 'this is not JSON'
expect "garbage: bad-json, id null" '"id":null,"ok":false,"error":"bad-json"'
send '{"type":"request","id":"x","id":"y","request":"ping"}'
expect "duplicate names: bad-json" '"error":"bad-json","message":"[^"]*duplicate key'
rss0=$(rss_kib)
send 'junk 10485760'
expect "a 10 MB line: too-large" '"error":"too-large","message":"a line is limited to 65536 bytes'
is "...answered once" "$(count '"id":null')" "$((nulls + 3))"
request e2e-after ',"request":"ping"'
expect "the agent answers after it" '"id":"e2e-after","ok":true'
check "...and is still running" alive
rss1=$(rss_kib)
if [ $((rss1 - rss0)) -lt 2048 ]; then ok "...its memory stays flat (${rss0} -> ${rss1} KiB)"
else not_ok "...its memory stays flat" "VmRSS ${rss0} -> ${rss1} KiB"; fi

# ---- 5. a flood of bad lines: closed, reconnected --------------------------

hellos=$(count '"type":"hello"')
for i in 1 2 3 4 5 6 7 8 9 10; do send "garbage $i"; done
expect "ten bad lines in a minute: bye, reason bad-input" '"type":"bye","reason":"bad-input"'
if wait_until 10 grep -q "agent #1 (e2e-health) gone" "$tmp/peer.err"; then
	ok "...and the agent closes the connection"; else
	not_ok "...and the agent closes the connection"; fi
check "...but keeps running" alive
if wait_until 15 more '"type":"hello"' "$hellos"; then
	ok "...and connects again after its backoff"; else
	not_ok "...and connects again after its backoff"; fi
is "...logging the flood once" "$(grep -c 'bad lines within 60 s' "$agent_log")" 1
is "the peer found no protocol violation" "$(grep -c 'violation' "$tmp/peer.err")" 0
stop_peer

# ---- 6. a host that is not root: may look, not change ---------------------

OUT=$HOSTDIR/peer-nobody.jsonl
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$PEER" --json --exact-status --out "$OUT" \
	--control "$FIFO" "$HOST" >/dev/null 2>>"$tmp/peer.err" &
peer_pid=$!
expect "the agent reconnects to a host run by nobody" '"type":"hello"' 15
request e2e-forbidden ',"request":"disable"'
expect "...which may not disable: forbidden" \
	'"id":"e2e-forbidden","ok":false,"error":"forbidden"'
check "...and nothing changed" test ! -e "$tmp/state/disabled"
request e2e-look ',"request":"status"'
expect "...but may ask for the status" '"id":"e2e-look","ok":true'
like "the agent logged who listens" "$(cat "$agent_log")" "runs as uid 65534"
stop_agent
expect "a stopping agent says bye" '"type":"bye","reason":"stopping"'
stop_peer

# ---- 7. a stalled host: nothing blocks, nothing piles up -------------------

# It reads the hello, then nothing, while asking for 600 statuses (~2 MB).
start_peer "$tmp/peer-stall.jsonl" --no-read --request status --repeat 600
started "an agent starts with a host that stops reading"
wait_until 10 seen '"type":"hello"'
rss0=$(rss_kib)
coalesced() { status_json | tr -d ' \n' | grep -Eo '"coalesced":[0-9]+' | cut -d: -f2; }
some_coalesced() { [ "$(coalesced)" -gt 0 ]; }
if wait_until 10 some_coalesced; then ok "reports for a stalled host wait as one"; else
	not_ok "reports for a stalled host wait as one" "$(status_json | tail -n 20)"; fi
like "...while the agent's loop answers at once" "$(status_json | tr -d ' \n')" \
	'"state":"connected"'
rss1=$(rss_kib)
if [ $((rss1 - rss0)) -lt 3072 ]; then ok "...and its memory stays bounded (${rss0} -> ${rss1} KiB)"
else not_ok "...and its memory stays bounded" "VmRSS ${rss0} -> ${rss1} KiB"; fi
if wait_until 45 grep -q "the host stopped reading" "$agent_log"; then
	ok "after 30 s without progress the agent drops the connection"; else
	not_ok "after 30 s without progress the agent drops the connection" \
		"$(tail -n 5 "$agent_log")"; fi
check "...and keeps running" alive
stop_agent
stop_peer

# ---- 8. an absent host: flat memory, a short log --------------------------

rm -f "$HOST"
started "an agent starts with no host"
wait_until 10 grep -q "cannot reach the host" "$agent_log"
out=$("$AGENT" status -c "$tmp/config.json" 2>&1)
like "status shows the channel backing off, and why" "$out" \
	"Host +unix:$HOST: (backoff|connecting) \(last error: .*No such file"
mark
# Attempts show as new "since" times in the status; wait for three.
since_values() { status_json | grep -Eo '"since": ?[0-9]+' | sort -u; }
attempts=''
more_attempts() {
	attempts=$(printf '%s\n%s\n' "$attempts" "$(since_values)" | grep . | sort -u)
	[ "$(printf '%s\n' "$attempts" | wc -l)" -ge 4 ]
}
if wait_until 60 more_attempts; then ok "it keeps trying, with backoff"; else
	not_ok "it keeps trying, with backoff" "$attempts"; fi
check "...and keeps running" alive
flat_and_short 1
stop_agent

# ---- 9. a flapping host: flat memory, a short log ---------------------------

start_peer "$tmp/peer-flap.jsonl" --close-after 1
start_agent
connections() { grep -c "connected$" "$tmp/peer.err" || true; }
connections_over() { [ "$(connections)" -gt "$1" ]; }
base=$(connections)
wait_until 10 connections_over "$base"
mark
if wait_until 90 connections_over $((base + 3)); then
	ok "a flapping host: the agent reconnects each time"; else
	not_ok "a flapping host: the agent reconnects each time" "$(connections) connections"; fi
check "...and keeps running" alive
flat_and_short 2
stop_agent
stop_peer
is "no protocol violation in all" "$(grep -c 'violation' "$tmp/peer.err")" 0

done_testing
