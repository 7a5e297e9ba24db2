#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end, in the lab: bind sources that survive everything.  As the
# user dev, `docker run -d --restart=always -v /home/dev/db:/data`
# containers (one alone, two sharing a source, one read-only, one whose
# source is deleted while the distro is down) across an agent kill -9, a
# Docker Desktop restart, an engine restart, engine restarts with
# live-restore on (the agent running, or killed while the engine is down:
# the containers must be left alone), and a simulated VM reboot
# (lab.sh vm-reboot: the engine restarts them on empty stand-ins before
# the agent runs).  The agent must bring every source back, restart the
# containers found on a stand-in and move what they wrote there into
# state_dir, saying where: within bind.standin_max (what does not fit
# stays, shown and named), sparse files with their holes, and off the
# loop (docker is served while a move is held).  Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

D=r1
AG=wsl-docker-agent
BM=/mnt/wsl/docker-desktop-bind-mounts
STANDINS=/var/lib/wsl-docker-agent/stand-ins
eval "$("$LAB" env)"
frozen=	# the stand-ins' file system is frozen (below)
thaw() { [ -z "$frozen" ] || dx "$D" fsfreeze -u "$STANDINS" >/dev/null 2>&1; frozen=; }
cleanup() {
	thaw
	direct_docker rm -f db s1 s2 rodb gone big >/dev/null 2>&1
	lab_down "$D"
}
trap cleanup EXIT

agent_up "$D"
status_json() { dx "$D" $AG status --json 2>/dev/null | tr -d ' \n'; }
agent_pid() { dx "$D" cat /run/wsl-docker-agent.pid; }
# The agent gone and nothing to bring it back (as when the distro goes
# down): `start''s supervisor, which would restart it at once, is killed
# first, then the agent.
kill9_agent() {
	local pid sup
	pid=$(agent_pid)
	sup=$(dx "$D" pgrep -x wda-supervisor)
	[ -z "$sup" ] || dx "$D" kill -9 $sup
	dx "$D" kill -9 "$pid"
	dx "$D" sh -c "while kill -0 $pid 2>/dev/null; do sleep 0.02; done"
}
# Each container prints what it sees of its source at every start, and
# writes one line there: the last "start:" line of its log is its view.
# On SIGUSR1 (docker kill -s USR1, through the engine: docker exec does not
# see a container's mounts in the desktop flavour's lab) it logs what it
# sees of live.txt there, and whether it can write it.
RUN='live() { echo "live: $(cat /data/live.txt 2>&1) $(touch /data/live.txt 2>/dev/null && echo rw || echo ro)"; }
trap live USR1; trap "exit 0" TERM; echo "start: $(cat /data/f.txt 2>/dev/null || echo none)"
echo "$(date +%s%N)" >> /data/starts; while :; do sleep 600 & wait $!; done'
# (Straight to the engine: the agent is away during a reboot.)
last_start() { direct_docker logs "$1" 2>/dev/null | grep '^start:' | tail -1; }
starts() { direct_docker logs "$1" 2>/dev/null | grep -c '^start:'; }
sees() { [ "$(last_start "$1")" = "start: $2" ]; }
running() { [ "$(direct_docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
all_see() {
	sees db distro-db && sees s1 distro-shared && sees s2 distro-shared && sees rodb distro-ro
}
# (Whole before grep -q: it would end the pipe early, and pipefail fail it.)
restore_done() { local j; j=$(status_json); grep -q '"restore":{"state":"done"' <<<"$j"; }
runs() { local j; j=$(status_json); grep -o '"restore":{[^}]*' <<<"$j" | grep -o '"runs":[0-9]*' | cut -d: -f2; }
exposed() { mountpoint -q "$BM/$D/$(hash_of "$1")"; }

check "sources are made in the distro" dxu "$D" sh -c 'mkdir -p /home/dev/db /home/dev/shared /home/dev/ro /home/dev/gone &&
	echo distro-db > /home/dev/db/f.txt && echo distro-shared > /home/dev/shared/f.txt &&
	echo distro-ro > /home/dev/ro/f.txt && echo distro-gone > /home/dev/gone/f.txt'
for c in "db /home/dev/db:/data" "s1 /home/dev/shared:/data" "s2 /home/dev/shared:/data" \
	"rodb /home/dev/ro:/data:ro" "gone /home/dev/gone:/data"; do
	set -- $c
	dxu "$D" docker run -d --restart=always --name "$1" -v "$2" bb sh -c "$RUN" >/dev/null 2>&1 ||
		not_ok "docker run -d --restart=always --name $1 -v $2"
done
if wait_until 20 all_see; then ok "five restart-policy containers see their distro's files"; else
	not_ok "the containers see their distro's files" "db: $(last_start db)" "s1: $(last_start s1)" "rodb: $(last_start rodb)"; fi
recorded() { local j; j=$(dx "$D" cat /var/lib/wsl-docker-agent/manifest.json | tr -d ' \n'); printf '%s' "$j" |
	grep -Eq '"meta":\{"read_only":true,"containers":\[\{"id":"[0-9a-f]+","name":"rodb"\}\],"mounted_at":[0-9]+'; }
if wait_until 10 recorded; then ok "the manifest records each exposure's containers, read-only flag and mount time"; else
	not_ok "the manifest records each exposure's containers, read-only flag and mount time" \
		"$(dx "$D" cat /var/lib/wsl-docker-agent/manifest.json)"; fi

# ---- agent kill -9 --------------------------------------------------------
kill9_agent
dx "$D" $AG start >/dev/null 2>&1
if wait_until 15 restore_done; then ok "after kill -9: the restore pass is done"; else
	not_ok "after kill -9: the restore pass is done" "$(status_json)"; fi
check "after kill -9: the exposures are still mounted" exposed /home/dev/db
is "after kill -9: no container was restarted" "$(starts db)" 1
unlike "after kill -9: nothing to repair" "$(status_json)" '"repairs":\[\{'

# ---- Docker Desktop restart, agent running -------------------------------
n=$(starts db)
"$LAB" desktop-stop >/dev/null 2>&1
"$LAB" desktop-start >/dev/null 2>&1
back() { [ "$(starts db)" -gt "$n" ] && all_see; }
if wait_until 60 back; then ok "after a Docker Desktop restart: every container sees its files"; else
	not_ok "after a Docker Desktop restart: every container sees its files" "db: $(last_start db)" "$(status_json)"; fi

# ---- engine restart ------------------------------------------------------
n=$(starts db) r=$(runs)
"$LAB" engine-restart >/dev/null 2>&1
if wait_until 60 back; then ok "after an engine restart: every container sees its files"; else
	not_ok "after an engine restart: every container sees its files" "db: $(last_start db)" "$(status_json)"; fi
ran_again() { [ "$(runs)" -gt "$r" ] && restore_done; }
if wait_until 15 ran_again; then ok "...and the restore pass ran again"; else
	not_ok "...and the restore pass ran again" "$(status_json)"; fi

# ---- engine restarts with live-restore on ---------------------------------
# dockerd stops with live-restore on, its containers keep running on their
# mounts, and it re-attaches to them when it starts again (lab.sh fails
# unless each runs again, not restarted).  The agent must leave them be:
# the same containers on the same mounts, nothing repaired or restarted.
last_live() { direct_docker logs "$1" 2>/dev/null | grep '^live:' | tail -1; }
sees_live() { [ "$(last_live "$1")" = "live: $2" ]; }
started() { direct_docker inspect -f '{{.State.StartedAt}}' "$1" 2>/dev/null; }
mount_id() { dx "$D" awk -v p="$BM/$D/$(hash_of "$1")" '$5 == p { print $1 }' /proc/self/mountinfo | paste -sd' '; }
restarts_logged() { dx "$D" grep -c 'restarting container' /var/log/wsl-docker-agent.log; }
standins() { dx "$D" sh -c "ls -A $STANDINS 2>/dev/null | paste -sd' '"; }
live_before() {
	l_db=$(started db) l_ro=$(started rodb) l_n=$(starts db) l_nro=$(starts rodb)
	l_m="$(mount_id /home/dev/db) $(mount_id /home/dev/ro)" l_k=$(restarts_logged) l_sd=$(standins)
}
live_kept() { # WHAT
	is "$1: db is the same container, not restarted" "$(started db) $(starts db)" "$l_db $l_n"
	is "$1: rodb too" "$(started rodb) $(starts rodb)" "$l_ro $l_nro"
	is "$1: their exposures stayed mounted, the same mounts (no stand-in)" \
		"$(mount_id /home/dev/db) $(mount_id /home/dev/ro)" "$l_m"
	dxu "$D" sh -c "echo '$1 db' > /home/dev/db/live.txt && echo '$1 ro' > /home/dev/ro/live.txt"
	direct_docker kill -s USR1 db rodb >/dev/null 2>&1
	if wait_until 10 sees_live db "$1 db rw"; then ok "$1: db sees a file written in the distro since"; else
		not_ok "$1: db sees a file written in the distro since" "$(last_live db)"; fi
	if wait_until 10 sees_live rodb "$1 ro ro"; then ok "$1: rodb sees one too, still read-only"; else
		not_ok "$1: rodb sees one too, still read-only" "$(last_live rodb)"; fi
	unlike "$1: status shows no repair" "$(status_json)" '"repairs":\[\{'
	is "$1: the agent restarted no container" "$(restarts_logged)" "$l_k"
	is "$1: no stand-in was moved aside" "$(standins)" "$l_sd"
}
engine_down() { ! direct_docker version >/dev/null 2>&1 && [ ! -e "$ENGINE_SOCK" ]; }
pass_is() { # CONDITION DESCRIPTION: the agent's restore pass, within 15 s
	if wait_until 15 "$1"; then ok "$2"; else not_ok "$2" "$(status_json)"; fi
}

live_before
r=$(runs)
check "live-restore: the engine restarts, its containers running throughout" \
	"$LAB" engine-restart --live-restore
pass_is ran_again "live-restore: the restore pass ran when the engine came back"
live_kept "live-restore"

# The agent killed while the engine is down, started again while it is
# still down, then the engine back.
live_before
check "live-restore, agent kill -9: dockerd stops, its containers running" \
	"$LAB" engine-stop --live-restore
check "...the engine is away" engine_down
kill9_agent
like "...the agent starts while the engine is away" "$(dx "$D" $AG start 2>&1)" "started"
r=$(runs)
check "...dockerd starts and re-attaches to them" "$LAB" engine-start
pass_is ran_again "...the restore pass ran when the engine came back"
live_kept "live-restore, agent killed, started before the engine"

# The agent killed while the engine is down, started after it.
live_before
check "live-restore, agent kill -9 again: dockerd stops, its containers running" \
	"$LAB" engine-stop --live-restore
kill9_agent
check "...dockerd starts and re-attaches to them" "$LAB" engine-start
dx "$D" $AG start >/dev/null 2>&1
pass_is restore_done "...the agent starts, its restore pass done"
live_kept "live-restore, agent killed, started after the engine"

# ---- a simulated VM reboot: the engine first, on stand-ins ---------------
kill9_agent
dx "$D" rm -rf /home/dev/gone	# deleted while the distro was down
n=$(starts db)
"$LAB" vm-reboot >/dev/null 2>&1
on_standin() { [ "$(starts db)" -gt "$n" ] && sees db none && sees s1 none && sees rodb none; }
if wait_until 60 on_standin; then ok "reboot: the engine restarted the containers on empty stand-ins"; else
	not_ok "reboot: the engine restarted the containers on empty stand-ins" "db: $(last_start db)"; fi
t0=$(now_ms)
dx "$D" $AG start >/dev/null 2>&1
t_ready=$(now_ms)
check "reboot: the agent mounted db's source back before it was ready" exposed /home/dev/db
if wait_until 60 all_see; then ok "reboot: every container sees its distro's files again ($(($(now_ms) - t0)) ms after the agent's start, ready after $((t_ready - t0)) ms)"; else
	not_ok "reboot: every container sees its distro's files again" "db: $(last_start db)" "$(status_json)"; fi
st=$(status_json)
like "status names db as repaired, and where its stand-in data went" "$st" \
	"\"container\":\"db\",\"id\":\"[0-9a-f]+\",\"source\":\"/home/dev/db\",\"stand_in\":\"$STANDINS/db-[0-9TZ]+\",\"restarted\":true"
dest=$(printf '%s' "$st" | grep -o "\"stand_in\":\"$STANDINS/db-[0-9TZ]*\"" | head -1 | cut -d'"' -f4)
is "reboot: what db wrote on its stand-in is kept in the distro" \
	"$(dx "$D" sh -c "test -n '$dest' && wc -l < '$dest/starts'" 2>&1)" 1
is "...and the source has only the starts on it" "$(dx "$D" grep -c . /home/dev/db/starts)" \
	"$(($(starts db) - 1))"
like "the log names the repair and the place" "$(dx "$D" cat /var/log/wsl-docker-agent.log)" \
	"stand-in data of /home/dev/db: $STANDINS/db-"
like "two containers sharing a source are both repaired" "$st" \
	'"container":"s[12]".*"container":"s[12]"'
like "the read-only bind comes back read-only" "$st" \
	'"source":"/home/dev/ro","path":"[^"]*","local":"[^"]*","read_only":true,"mounted":true'
like "...as the distro's mount shows" \
	"$(dx "$D" awk -v p="$BM/$D/$(hash_of /home/dev/ro)" '$5 == p { print $6 }' /proc/self/mountinfo)" '^ro'
human=$(dx "$D" $AG status 2>&1)
like "the deleted source is a problem with its fix" "$(printf '%s' "$human" | tr '\n' ' ')" \
	"- the bind source of gone \([^)]*\) is not back: its source /home/dev/gone is gone from this distro .*recreate it.* fix: the other containers. sources are back"
is "...and the others came back all the same" "$(last_start db)" "start: distro-db"
like "status counts one failure" "$st" '"failures":1'
like "status for a person names the repair" "$human" \
	"db: restarted on /home/dev/db; stand-in data: $STANDINS/db-"
like "a later docker start finds the source, not a stand-in" \
	"$(dxu "$D" docker run --rm -v /home/dev/db:/data bb cat /data/f.txt 2>&1)" "distro-db"

# ---- bind.repair = report: reported and shown, the container left alone --
check "bind.repair set to report" agent_config "$D" '"repair": "report"'
kill9_agent
n=$(starts db)
"$LAB" vm-reboot >/dev/null 2>&1
if wait_until 60 on_standin; then ok "report: after another reboot the containers are on stand-ins"; else
	not_ok "report: after another reboot the containers are on stand-ins" "db: $(last_start db)"; fi
dx "$D" $AG start >/dev/null 2>&1
reported() { local j; j=$(status_json); grep -q '"container":"db","id":"[0-9a-f]*","source":"/home/dev/db","stand_in":"[^"]*","restarted":false' <<<"$j"; }
if wait_until 30 reported; then ok "report: status names db, not restarted, and its stand-in"; else
	not_ok "report: status names db, not restarted, and its stand-in" "$(status_json | grep -o '"restore":.*')"; fi
is "report: db was left on its stand-in" "$(last_start db)" "start: none"
st=$(status_json)
dest=$(printf '%s' "$st" | grep -o "\"stand_in\":\"$STANDINS/db-[0-9TZ]*\"" | tail -1 | cut -d'"' -f4)
is "report: the stand-in is shown at $STANDINS, what db wrote on it there" \
	"$(dx "$D" sh -c "test -n '$dest' && wc -l < '$dest/starts'" 2>&1)" 1
like "report: a problem says to restart db" "$(dx "$D" $AG status 2>&1 | tr '\n' ' ')" \
	"container db runs on an empty stand-in, not on its bind source in this distro \(bind.repair is report\) +fix: run 'docker restart db'"
dxu "$D" docker restart db >/dev/null 2>&1
if wait_until 30 sees db distro-db; then ok "report: docker restart db by hand, and it sees its source"; else
	not_ok "report: docker restart db by hand, and it sees its source" "$(last_start db)"; fi

# ---- stand-in data: bounded, whole, off the loop, holes kept -------------
# big writes a 1 GiB sparse file (a few bytes of data) whenever it starts
# on a stand-in.  The stand-ins' directory gets a file system of its own,
# ext4 on a loop device as a distro's disk is, which the test can freeze:
# fsfreeze holds every write there, so the move is held, deterministically,
# while docker is asked through the agent's proxy.
BIG='test -e /data/f.txt || { truncate -s 1G /data/sparse &&
printf marker | dd of=/data/sparse bs=1 seek=536870912 conv=notrunc 2>/dev/null; }
echo "start: $(cat /data/f.txt 2>/dev/null || echo none)"; trap "exit 0" TERM; while :; do sleep 600 & wait $!; done'
IMG=/var/tmp/stand-ins.img
check "big's source is made in the distro" dxu "$D" sh -c 'mkdir -p /home/dev/big && echo distro-big > /home/dev/big/f.txt'
dxu "$D" docker run -d --restart=always --name big -v /home/dev/big:/data bb sh -c "$BIG" >/dev/null 2>&1 ||
	not_ok "docker run -d --restart=always --name big -v /home/dev/big:/data"
if wait_until 20 sees big distro-big; then ok "big sees its distro's files"; else
	not_ok "big sees its distro's files" "$(last_start big)"; fi
check "bind.repair restart, bind.standin_max 0: no stand-in data is moved" \
	agent_config "$D" '"repair": "restart", "standin_max": 0'
kill9_agent
check "the stand-ins' directory on an ext4 file system of its own" dx "$D" sh -c \
	"truncate -s 512M $IMG && mkfs.ext4 -q -F $IMG && mkdir -p $STANDINS && mount -o loop $IMG $STANDINS && chmod 700 $STANDINS"
n_big=$(starts big)
"$LAB" vm-reboot >/dev/null 2>&1
big_on_standin() { [ "$(starts big)" -gt "$n_big" ] && sees big none; }
if wait_until 60 big_on_standin; then ok "reboot: big runs on a stand-in and wrote a 1 GiB sparse file there"; else
	not_ok "reboot: big runs on a stand-in and wrote a 1 GiB sparse file there" "$(last_start big)"; fi
dx "$D" $AG start >/dev/null 2>&1
held() { local j; j=$(dx "$D" $AG status 2>&1 | tr '\n' ' '); grep -q "of data that container big on /home/dev/big wrote on its stand-in stay there, shown at $STANDINS/big-[0-9TZ]*\.stand-in" <<<"$j"; }
if wait_until 60 held; then ok "over bind.standin_max: big's data stays on its stand-in, status says where"; else
	not_ok "over bind.standin_max: big's data stays on its stand-in, status says where" "$(dx "$D" $AG status 2>&1)"; fi
human=$(dx "$D" $AG status 2>&1 | tr '\n' ' ')
like "...how much, and the fix" "$human" \
	"[0-9.]+ KiB of data that container big .* bind.standin_max is 0, so nothing is moved +fix: raise bind.standin_max .* then run 'sudo wsl-docker-agent reconcile'"
like "...and the owner of the source is told too" "$(dxu "$D" $AG status 2>&1 | tr '\n' ' ')" \
	"container big on /home/dev/big wrote on its stand-in stay there"
shown=$(printf '%s' "$human" | grep -o "$STANDINS/big-[0-9TZ]*\.stand-in" | head -1)
is "...where the sparse file is, whole" "$(dx "$D" stat -c %s "$shown/sparse" 2>&1)" 1073741824
like "the repair record says nothing was moved and how much stayed" "$(status_json)" \
	"\"container\":\"big\",[^}]*\"moved\":0,\"left\":[1-9][0-9]*,\"left_at\":\"$shown\""

# The key raised (SIGHUP) and a reconcile: the move starts, held by the freeze.
dx "$D" fsfreeze -f "$STANDINS" && frozen=1
reloads() { dx "$D" grep -c 'configuration reloaded' /var/log/wsl-docker-agent.log; }
r0=$(reloads)
check "bind.standin_max 2048" agent_config "$D" '"repair": "restart", "standin_max": 2048'
dx "$D" kill -HUP "$(agent_pid)"
reloaded() { [ "$(reloads)" -gt "$r0" ]; }
check "...reloaded" wait_until 10 reloaded
check "wsl-docker-agent reconcile" dx "$D" $AG reconcile
moving() { local j; j=$(status_json); grep -q '"moving":[1-9]' <<<"$j"; }
if wait_until 30 moving; then ok "the move is under way (restore.moving), held by the frozen file system"; else
	not_ok "the move is under way (restore.moving), held by the frozen file system" "$(status_json | grep -o '"restore":.*')"; fi
like "while it runs, the proxy serves docker version" "$(dxu "$D" docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
like "...and docker ps" "$(dxu "$D" docker ps --format '{{.Names}}' 2>&1 | tr '\n' ' ')" "big"
check "...the move still under way meanwhile" moving
thaw
moved() { local j; j=$(status_json); grep -q '"moving":0' <<<"$j" && ! grep -q 'stay there' <<<"$j"; }
if wait_until 60 moved; then ok "thawed: the move ends"; else
	not_ok "thawed: the move ends" "$(dx "$D" $AG status 2>&1)"; fi
dest=${shown%.stand-in}
is "big's sparse file arrived whole" "$(dx "$D" stat -c %s "$dest/sparse" 2>&1)" 1073741824
is "...with its data" "$(dx "$D" dd if="$dest/sparse" bs=1 skip=536870912 count=6 2>/dev/null)" marker
blocks=$(dx "$D" stat -c '%b*%B' "$dest/sparse" 2>/dev/null)
if [ -n "$blocks" ] && [ $((blocks)) -lt 1048576 ]; then ok "...and its holes: it takes $((blocks)) bytes in state_dir, not 1 GiB"; else
	not_ok "...and its holes" "allocated: ${blocks:-?}"; fi
check "...nothing left shown or partial" dx "$D" sh -c "! ls -d $STANDINS/*.stand-in $STANDINS/*.partial 2>/dev/null | grep ."
like "the repair record says what was moved" "$(status_json)" \
	"\"container\":\"big\",[^}]*\"moved\":[1-9][0-9]*,\"left\":0,\"left_at\":null"

dx "$D" $AG stop >/dev/null 2>&1
dx "$D" umount "$STANDINS" >/dev/null 2>&1
done_testing
