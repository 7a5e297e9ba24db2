#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end, in the lab: the real docker CLI through the agent's
# /run/docker.sock, as the ordinary user dev, the way users use it.
# BuildKit builds (the /session and /grpc upgrades), compose with binds,
# ptys (run -t, exec -it under script), attach, stats, events, and cp both
# ways.  The two flavours' CLIs differ (docker 20.10 alone, or 26.1 with the
# buildx and compose plugins): where a feature does not exist on one, the
# closest thing that does is tested and a diag line says so.  Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

D=cli1
AG=wsl-docker-agent
IMG=wda-cli-img
CONTAINERS=(cli-c1 cli-att cli-ev cli-cp cli-bind)
CTX=/home/dev/ctx
PROJ=/home/dev/cliproj
MKPROJ=/home/dev/climk
tmp=$(mktemp -d)
t_start=$SECONDS
cleanup() {
	local -a ids
	direct_docker rm -f "${CONTAINERS[@]}" >/dev/null 2>&1
	mapfile -t ids < <(direct_docker ps -aq --filter label=com.docker.compose.project 2>/dev/null)
	[ ${#ids[@]} -eq 0 ] || direct_docker rm -f "${ids[@]}" >/dev/null 2>&1
	direct_docker rmi -f "$IMG" >/dev/null 2>&1
	direct_docker builder prune -af >/dev/null 2>&1
	lab_down "$D"
	rm -rf "$tmp"
}
trap cleanup EXIT

lab_up
lab_distro "$D"
check "the agent's configuration for the $LAB_ENGINE flavour" agent_config "$D"
like "the agent starts" "$(dx "$D" $AG start 2>&1)" "started"

# As dev in the distro, bounded: no CLI command may hang the suite.
du_() { timeout 60 "$LAB" exec "$D" --user dev --env BUILDX_GIT_INFO=0 -- "$@"; }
# The same in dev's shell, from DIR.
dsh() { local dir=$1; shift; du_ sh -c "cd $dir && $*"; }
# The line of a pty's output, without the pty's carriage returns.
untty() { tr -d '\r'; }

# ---- docker build through BuildKit ------------------------------------------
# A token of this run, so that no cache of an earlier run can answer.
token=run-$$-$(date +%s%N)
check "a build context is made in the distro" du_ sh -c "mkdir -p $CTX && cd $CTX &&
	echo '$token' > hello.txt &&
	printf 'FROM bb\nCOPY hello.txt /hello.txt\nRUN sed \"s/^/run saw /\" /hello.txt > /run.txt\nCMD [\"cat\", \"/hello.txt\", \"/run.txt\"]\n' > Dockerfile"
if [ "$LAB_ENGINE" = desktop ]; then
	# The buildx plugin, as Docker Desktop ships it: its docker driver
	# drives the engine's BuildKit through /grpc and serves the build
	# context through /session.
	out=$(dsh $CTX docker buildx build --network none --progress plain -t $IMG . 2>&1); rc=$?
	is "docker buildx build exits 0" "$rc" 0
	like "...built by BuildKit (its plain progress)" "$out" "#[0-9]+ \[internal\] load build definition"
	like "...the COPY read the context through /session" "$out" "COPY hello.txt /hello.txt"
	out=$(du_ docker buildx du 2>&1)
	like "docker buildx du answers (BuildKit's control API through /grpc)" "$out" "Total:"
else
	diag "simple flavour: docker 20.10 has no buildx plugin; DOCKER_BUILDKIT=1 docker build is its"
	diag "BuildKit client (/session upgrade; the /grpc upgrade is buildx's, tested on desktop)"
	out=$(dsh $CTX DOCKER_BUILDKIT=1 docker build --network none --progress plain -t $IMG . 2>&1); rc=$?
	is "DOCKER_BUILDKIT=1 docker build exits 0" "$rc" 0
	like "...built by BuildKit (its plain progress)" "$out" "#[0-9]+ \[internal\] load build definition"
	like "...the COPY read the context through /session" "$out" "COPY hello.txt /hello.txt"
fi
[ "$rc" -eq 0 ] || diag "build output: ${out:0:3000}"
# --pull never: a missing image must fail here, not be looked for outside.
is "the built image runs: the copied file and the RUN step's output" \
	"$(du_ docker run --rm --pull never $IMG 2>&1)" "$token
run saw $token"

# ---- binds from the distro, as compose sends them ---------------------------
check "a project with files is made in the distro" du_ sh -c "mkdir -p $PROJ/data $PROJ/long &&
	echo distro-short > $PROJ/data/in.txt && echo distro-long > $PROJ/long/in.txt &&
	rm -f $PROJ/data/out.txt $PROJ/long/out.txt"
APP_SH='cat /data/in.txt /long/in.txt; echo from-container > /data/out.txt; echo long-out > /long/out.txt; echo ready; exec sleep 600'
logs_ready() { "$@" 2>&1 | grep -q ready; }
# bind_checks LOGS-COMMAND...: what the project's container saw and wrote.
bind_checks() {
	local logs
	if wait_until 20 logs_ready "$@"; then
		ok "the container ran its command"; else not_ok "the container ran its command" "$("$@" 2>&1)"; fi
	logs=$("$@" 2>&1)
	like "short syntax (./data:/data): the container sees the distro's file" "$logs" "distro-short"
	like "long syntax (create_host_path: true): the container sees the distro's file" "$logs" "distro-long"
	is "short syntax: the container's write lands in the distro" "$(du_ cat $PROJ/data/out.txt 2>&1)" from-container
	is "long syntax: the container's write lands in the distro" "$(du_ cat $PROJ/long/out.txt 2>&1)" long-out
}
if [ "$LAB_ENGINE" = desktop ]; then
	du_ sh -c "cat > $PROJ/compose.yaml" <<EOF
name: cliproj
services:
  app:
    image: bb
    pull_policy: never
    network_mode: none
    command: ["sh", "-c", "$APP_SH"]
    volumes:
      - ./data:/data
      - type: bind
        source: ./long
        target: /long
        bind:
          create_host_path: true
EOF
	out=$(dsh $PROJ docker compose up -d 2>&1); rc=$?
	is "docker compose up -d exits 0" "$rc" 0
	[ "$rc" -eq 0 ] || diag "$out"
	is "docker compose ps: the service is running" "$(dsh $PROJ docker compose ps --status running --services 2>&1)" app
	bind_checks "$LAB" exec "$D" --user dev -- sh -c "cd $PROJ && docker compose logs --no-color --no-log-prefix app"
	out=$(dsh $PROJ docker compose down -t 0 2>&1); rc=$?
	is "docker compose down exits 0" "$rc" 0
	is "...and leaves no container of the project" \
		"$(du_ docker ps -aq --filter label=com.docker.compose.project=cliproj 2>&1)" ""
	# create_host_path on a directory that does not exist yet: users
	# expect it made in the distro, as dockerd makes it on its own machine.
	du_ sh -c "mkdir -p $MKPROJ && rm -rf $MKPROJ/made && cat > $MKPROJ/compose.yaml" <<EOF
name: climk
services:
  mk:
    image: bb
    pull_policy: never
    network_mode: none
    command: ["sh", "-c", "echo made-out > /made/out.txt"]
    volumes:
      - type: bind
        source: ./made
        target: /made
        bind:
          create_host_path: true
EOF
	out=$(dsh $MKPROJ docker compose up 2>&1); rc=$?
	is "create_host_path on a missing directory: docker compose up exits 0" "$rc" 0
	[ "$rc" -eq 0 ] || diag "${out:0:2000}"
	is "...the directory is made in the distro and the write lands there" \
		"$(du_ cat $MKPROJ/made/out.txt 2>&1)" made-out
	dsh $MKPROJ docker compose down -t 0 >/dev/null 2>&1
	is "...and down leaves no container of the project" \
		"$(du_ docker ps -aq --filter label=com.docker.compose.project=climk 2>&1)" ""
else
	diag "simple flavour: docker 20.10 has no compose v2 plugin; its closest is the same project's"
	diag "binds with docker run -v (compose sends both syntaxes as HostConfig.Binds), ps, logs, rm"
	out=$(du_ docker run -d --name cli-bind --network none -v $PROJ/data:/data -v $PROJ/long:/long bb sh -c "$APP_SH" 2>&1); rc=$?
	is "docker run -d with the project's binds exits 0" "$rc" 0
	[ "$rc" -eq 0 ] || diag "$out"
	is "docker ps: the container is running" \
		"$(du_ docker ps --filter name=cli-bind --format '{{.Names}} {{.State}}' 2>&1)" "cli-bind running"
	bind_checks "$LAB" exec "$D" --user dev -- docker logs cli-bind
	check "docker rm -f removes it" du_ docker rm -f cli-bind
	is "...and it is gone" "$(du_ docker ps -aq --filter name=cli-bind 2>&1)" ""
fi

# ---- ptys: run -t and exec -it under script ---------------------------------
du_ script -qec "docker run -t --rm bb sh -c 'tty; echo run-t-ok; exit 5'" /dev/null </dev/null >"$tmp/pty"
rc=$? out=$(untty <"$tmp/pty")
like "docker run -t: the container has a pty" "$out" "^/dev/pts/[0-9]+"
like "docker run -t: its output" "$out" "run-t-ok"
is "docker run -t: its exit status (5)" "$rc" 5
du_ docker run -d --name cli-c1 bb sleep 600 >/dev/null 2>&1
du_ script -qec "docker exec -it cli-c1 sh -c 'tty; echo exec-it-ok; exit 4'" /dev/null </dev/null >"$tmp/pty"
rc=$? out=$(untty <"$tmp/pty")
like "docker exec -it: a pty" "$out" "/dev/pts/[0-9]+"
like "docker exec -it: its output" "$out" "exec-it-ok"
is "docker exec -it: its exit status (4)" "$rc" 4
# shellcheck disable=SC2016 # the container's shell expands it
printf 'echo typed-$((6*7))\nexit 3\n' | du_ script -qec "docker exec -it cli-c1 sh" /dev/null >"$tmp/pty"
rc=$? out=$(untty <"$tmp/pty")
like "docker exec -it sh: what is typed runs (typed-42)" "$out" "typed-42"
is "docker exec -it sh: exit 3 is its exit status" "$rc" 3

# ---- attach: lines typed into a running container, answers back -------------
# shellcheck disable=SC2016 # the container's shell expands it
du_ docker run -d -i --name cli-att bb sh -c 'while read l; do [ "$l" = quit ] && exit 7; echo got:$l; done' >/dev/null 2>&1
coproc ATT { timeout 30 "$LAB" exec "$D" --user dev -- docker attach cli-att 2>&1; }
# shellcheck disable=SC2153 # ATT_PID is set by coproc
att_pid=$ATT_PID
l1='' l2=''
echo one >&"${ATT[1]}" && read -r -t 15 l1 <&"${ATT[0]}"
echo two >&"${ATT[1]}" && read -r -t 15 l2 <&"${ATT[0]}"
is "docker attach: a line typed is answered" "$l1" "got:one"
is "docker attach: and the next" "$l2" "got:two"
echo quit >&"${ATT[1]}"
wait "$att_pid"; rc=$?
is "docker attach ends with the container's exit status (7)" "$rc" 7
is "...and the container has exited" "$(du_ docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' cli-att 2>&1)" "exited 7"

# ---- stats -------------------------------------------------------------------
out=$(du_ docker stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' cli-c1 2>&1)
like "docker stats --no-stream: the running container's memory and pids" "$out" \
	"^cli-c1 [0-9.]+[kKMG]?i?B / [0-9.]+[kKMGT]?i?B [0-9]+$"

# ---- events while a container starts ----------------------------------------
since=$(du_ date +%s)
timeout 30 "$LAB" exec "$D" --user dev -- docker events --since "$since" --filter type=container \
	--filter container=cli-ev --filter event=start --filter event=die \
	--format '{{.Action}} {{.Actor.Attributes.name}}' >"$tmp/events" 2>&1 &
events_pid=$!
du_ docker run -d --name cli-ev bb true >/dev/null 2>&1
if wait_until 20 grep -qx "die cli-ev" "$tmp/events"; then ok "docker events: the container's die arrives"; else
	not_ok "docker events: the container's die arrives" "$(cat "$tmp/events")"; fi
is "docker events: start, then die, and nothing else" "$(cat "$tmp/events")" "start cli-ev
die cli-ev"
kill "$events_pid" 2>/dev/null; wait "$events_pid" 2>/dev/null

# ---- cp both ways, byte-exact -----------------------------------------------
# The container's own process reads what was copied in and makes what is
# copied out: on this lab machine a docker exec'd process does not enter
# the container's mount namespace (direct to the engine as well), so it
# cannot be the witness.
du_ sh -c 'head -c 4194304 /dev/urandom > ~/blob.bin && rm -f ~/gen.bin' >/dev/null 2>&1
in_sum=$(du_ sha256sum /home/dev/blob.bin | cut -d' ' -f1)
du_ docker create --name cli-cp bb sh -c 'sha256sum /blob.bin; head -c 3145728 /dev/urandom > /gen.bin; sha256sum /gen.bin' >/dev/null 2>&1
check "docker cp a 4 MiB binary file into a container" du_ docker cp /home/dev/blob.bin cli-cp:/blob.bin
out=$(du_ docker start -a cli-cp 2>&1)
is "...the container reads it byte-exact (sha256)" "$(printf '%s\n' "$out" | awk '$2 == "/blob.bin" { print $1 }')" "$in_sum"
gen_sum=$(printf '%s\n' "$out" | awk '$2 == "/gen.bin" { print $1 }')
check "docker cp a 3 MiB binary file out of the container" du_ docker cp cli-cp:/gen.bin /home/dev/gen.bin
is "...it lands in the distro byte-exact (sha256)" "$(du_ sha256sum /home/dev/gen.bin 2>&1 | cut -d' ' -f1)" "${gen_sum:-none}"
is "...owned by the user who copied it" "$(du_ stat -c %U /home/dev/gen.bin 2>&1)" dev

# ---- cleanup through the agent ----------------------------------------------
check "docker rm -f of the suite's containers" du_ docker rm -f cli-c1 cli-att cli-ev cli-cp
check "docker rmi of the built image" du_ docker rmi $IMG
is "no container is left" "$(du_ docker ps -aq 2>&1)" ""

diag "LAB_ENGINE=$LAB_ENGINE: suite ran in $((SECONDS - t_start)) s (lab down follows)"
done_testing
