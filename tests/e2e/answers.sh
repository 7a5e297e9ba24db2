#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end, in the lab: answers in the user's terms.  A container run
# from a distro with -v /home/dev/proj:/w has, for the engine, the
# exposure .../docker-desktop-bind-mounts/<distro>/<sha256> as its source;
# through the agent, docker inspect, docker ps, the raw API GETs and
# volume inspects show /home/dev/proj and never an exposure path, while
# the engine's own socket shows the exposure (so the rewrite is what
# hides it).  Either flavour (LAB_ENGINE=simple|desktop).  Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

D=a1
AG=wsl-docker-agent
P=/home/dev/proj
X=docker-desktop-bind-mounts
SOCK=/run/docker.sock
cleanup() {
	direct_docker rm -f ans1 ans2 >/dev/null 2>&1
	direct_docker volume rm -f ansvol >/dev/null 2>&1
	lab_down "$D"
}
trap cleanup EXIT

lab_up
lab_distro "$D"
if [ "$LAB_ENGINE" = simple ]; then
	# This engine sees the shared tmpfs where the distros do.
	dx "$D" sh -c 'mkdir -p /etc/wsl-docker-agent && echo "{\"bind\":{\"engine_wsl_root\":\"/mnt/wsl\"}}" > /etc/wsl-docker-agent/config.json'
fi
like "the agent starts" "$(dx "$D" $AG start 2>&1)" "started"
check "the user's project is made in the distro" dxu "$D" mkdir -p $P

api() { dxu "$D" curl -sS --unix-socket $SOCK "http://docker$1"; }
api_direct() { curl -sS --unix-socket "$ENGINE_SOCK" "http://docker$1"; }

out=$(dxu "$D" docker run -d --name ans1 -v $P:/w bb sleep 1000 2>&1)
like "docker run -d -v $P:/w as dev" "$out" '^[0-9a-f]{64}$'

# ---- the engine's view: the exposure path --------------------------------
hash=$(printf '%s' $P | sha256sum | cut -d' ' -f1)
xsrc=$(direct_docker inspect -f '{{range .Mounts}}{{.Source}}{{end}}' ans1)
like "on the engine's own socket, the source is the exposure" "$xsrc" "/$X/$D/$hash\$"
like "...in the raw inspect too" "$(api_direct /containers/ans1/json)" "\"Source\":\"[^\"]*/$X/$D/$hash\""
like "...and in the raw list" "$(api_direct '/containers/json?all=1')" "/$X/$D/$hash"

# ---- through the agent: the user's path ---------------------------------
out=$(dxu "$D" docker inspect ans1 2>&1)
like "docker inspect shows $P as the source" "$out" "\"Source\": \"$P\""
unlike "...and no exposure path" "$out" "$X"
is "docker inspect -f: Mounts[].Source" \
	"$(dxu "$D" docker inspect -f '{{range .Mounts}}{{.Source}}{{end}}' ans1 2>&1)" "$P"
is "docker inspect -f: HostConfig.Binds" \
	"$(dxu "$D" docker inspect -f '{{json .HostConfig.Binds}}' ans1 2>&1)" "[\"$P:/w\"]"
is "docker ps --format '{{.Mounts}}' --no-trunc" \
	"$(dxu "$D" docker ps --no-trunc --filter name=ans1 --format '{{.Mounts}}' 2>&1)" "$P"
out=$(dxu "$D" docker container ls --no-trunc --filter name=ans1 --format '{{json .}}' 2>&1)
like "docker container ls --format '{{json .}}'" "$out" "\"Mounts\":\"$P\""
unlike "...and no exposure path" "$out" "$X"
out=$(api /containers/ans1/json)
like "GET /containers/ans1/json: Mounts[].Source" "$out" "\"Source\":\"$P\""
like "...HostConfig.Binds" "$out" "\"Binds\":\\[\"$P:/w\"\\]"
unlike "...and no exposure path" "$out" "$X"
like "...and the rest of the answer is there" "$out" '"Name":"/ans1"'
out=$(api "/v1.41/containers/json?all=1")
like "GET /v1.41/containers/json?all=1: the user's path" "$out" "\"Source\":\"$P\""
unlike "...and no exposure path" "$out" "$X"
# The engine routes no HEAD here: it answers 404 with a length and no body.
head_status() { "$@" -sS -I -o /dev/null -w '%{http_code} %{size_download}' http://docker/containers/ans1/json; }
is "HEAD /containers/ans1/json passes as the engine answers it" \
	"$(head_status dxu "$D" curl --unix-socket $SOCK 2>&1)" "$(head_status curl --unix-socket "$ENGINE_SOCK")"
out=$(dxu "$D" curl -sS --unix-socket $SOCK http://docker/_ping http://docker/containers/ans1/json http://docker/_ping 2>&1 | tr -d '\n')
like "three requests on one connection: the inspect between pings is rewritten" \
	"$out" "^OK\{.*\"Source\":\"$P\".*\}OK\$"

# ---- a local volume bound to the exposure --------------------------------
direct_docker volume create --opt type=none --opt o=bind --opt "device=$xsrc" ansvol >/dev/null
like "on the engine's own socket, the volume's device is the exposure" \
	"$(direct_docker volume inspect -f '{{.Options.device}}' ansvol)" "/$X/$D/$hash\$"
is "docker volume inspect shows $P as its device" \
	"$(dxu "$D" docker volume inspect -f '{{.Options.device}}' ansvol 2>&1)" "$P"
out=$(api /volumes/ansvol)
like "GET /volumes/ansvol: the user's path" "$out" "\"device\":\"$P\""
unlike "...and no exposure path" "$out" "$X"
out=$(api /volumes)
like "GET /volumes: the user's path" "$out" "\"device\":\"$P\""
unlike "...and no exposure path" "$out" "$X"

# ---- everything else passes as it is -------------------------------------
dxu "$D" docker run -d --name ans2 bb sh -c 'i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; sleep 1000' >/dev/null 2>&1
logs_done() { [ "$(direct_docker logs ans2 2>/dev/null | wc -l)" -ge 2000 ]; }
wait_until 20 logs_done || diag "the log did not reach 2000 lines"
is "docker logs passes byte for byte" "$(dxu "$D" docker logs ans2 2>&1 | md5sum)" \
	"$(direct_docker logs ans2 2>&1 | md5sum)"
is "docker exec with a hijacked stream" "$(echo hi | timeout 30 "$LAB" exec "$D" --user dev -- docker exec -i ans1 cat)" hi
is "docker inspect of an image passes" "$(dxu "$D" docker image inspect -f '{{.Id}}' bb 2>&1)" \
	"$(direct_docker image inspect -f '{{.Id}}' bb)"

done_testing
