#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end, in the lab: local volumes bound to a distro directory.  As
# the ordinary user dev with the real docker CLI: docker volume create
# --opt type=none --opt o=bind --opt device=DIR, then docker run -v and
# --mount type=volume read and write the distro's files; docker volume
# inspect and the API answers (the create's too) show DIR, never the
# exposure; the exposure stays while the volume exists (status lists the
# volume among its users), goes with docker volume rm, and is mounted
# again when a container mounting the volume is created after the agent
# was restarted and the exposure was lost (as after a reboot).  Compose's
# driver_opts (device: ./data) up and down where the flavour's CLI has
# compose.  A relative or missing device is the engine's to refuse, as
# without the agent.  Either flavour (LAB_ENGINE=simple|desktop).  Prints
# TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

D=vol1
AG=wsl-docker-agent
BM=/mnt/wsl/docker-desktop-bind-mounts
V=/home/dev/vol
X=docker-desktop-bind-mounts
eval "$("$LAB" env)"
EBM=$ENGINE_BIND_MOUNTS_DIR
cleanup() {
	direct_docker rm -f vc1 >/dev/null 2>&1
	mapfile -t ids < <(direct_docker ps -aq --filter label=com.docker.compose.project=volproj 2>/dev/null)
	[ ${#ids[@]} -eq 0 ] || direct_docker rm -f "${ids[@]}" >/dev/null 2>&1
	direct_docker volume rm -f v1 v2 vraw vmiss vrel volproj_data >/dev/null 2>&1
	rm -rf "$WSL_MNT/wda-vol-test"
	lab_down "$D"
}
trap cleanup EXIT

agent_up "$D"
# The status on one line, white space gone ("volume v1" is "volumev1").
status_json() { dx "$D" $AG status --json | tr -d ' \n'; }
collections() { status_json | grep -o '"collections":[0-9]*' | grep -o '[0-9]*$'; }
h=$(hash_of $V)
XP=$BM/$D/$h
check "the user's directory is made in the distro" dxu "$D" sh -c "mkdir -p $V && echo from-the-distro > $V/f.txt"

# ---- docker volume create, through the agent ------------------------------
is "docker volume create --opt type=none --opt o=bind --opt device=$V v1" \
	"$(dxu "$D" docker volume create --opt type=none --opt o=bind --opt device=$V v1 2>&1)" v1
is "on the engine's own socket, the device is the exposure" \
	"$(direct_docker volume inspect -f '{{.Options.device}}' v1)" "$EBM/$D/$h"
check "the exposure is mounted below $BM" dx "$D" mountpoint -q "$XP"
is "docker volume inspect shows $V as the device" \
	"$(dxu "$D" docker volume inspect -f '{{.Options.device}}' v1 2>&1)" $V
out=$(dxu "$D" docker volume ls --format '{{.Name}}' 2>&1)
like "docker volume ls lists it" "$out" '(^|\n)v1($|\n)'
api() { dxu "$D" curl -sS --unix-socket /run/docker.sock "$@"; }
out=$(api http://docker/v1.41/volumes/v1)
like "GET /volumes/v1: the user's path" "$out" "\"device\":\"$V\""
unlike "...and no exposure path" "$out" "$X"
out=$(api -H 'Content-Type: application/json' -d \
	"{\"Name\":\"vraw\",\"Driver\":\"local\",\"DriverOpts\":{\"type\":\"none\",\"o\":\"bind\",\"device\":\"$V\"}}" \
	http://docker/v1.41/volumes/create)
like "POST /volumes/create: the answer shows the user's path" "$out" "\"device\":\"$V\""
unlike "...and no exposure path" "$out" "$X"
is "...while the engine has the exposure" \
	"$(direct_docker volume inspect -f '{{.Options.device}}' vraw)" "$EBM/$D/$h"

# ---- containers mount it --------------------------------------------------
is "docker run -v v1:/data sees the distro's file" \
	"$(dxu "$D" docker run --rm -v v1:/data bb cat /data/f.txt 2>&1)" from-the-distro
check "docker run -v v1:/data writes" dxu "$D" docker run --rm -v v1:/data bb sh -c 'echo from-a-container > /data/w.txt'
is "...and the distro sees what it wrote" "$(dxu "$D" cat $V/w.txt 2>&1)" from-a-container
is "docker run --mount type=volume,src=v1 sees it too" \
	"$(dxu "$D" docker run --rm --mount type=volume,src=v1,dst=/m bb cat /m/f.txt 2>&1)" from-the-distro

# ---- lifetime: the volumes are the exposure's users -----------------------
n0=$(collections)
collected() { [ "$(collections)" -gt "$n0" ]; }
# A container create and destroy make the agent collect.
dxu "$D" docker run --rm bb true >/dev/null 2>&1
wait_until 15 collected || diag "no collection since $n0: $(status_json)"
check "no container uses it: the exposure stays while the volumes exist" dx "$D" mountpoint -q "$XP"
like "status lists the volumes among its users" "$(status_json)" \
	"\"containers\":\\[(\"volumev1\",\"volumevraw\"|\"volumevraw\",\"volumev1\")\\]"
check "docker volume rm vraw" dxu "$D" docker volume rm vraw
only_v1() { status_json | grep -q '"containers":\["volumev1"\]'; }
if wait_until 15 only_v1; then ok "one volume removed: status shows the other"; else
	not_ok "one volume removed: status shows the other" "$(status_json)"; fi
check "...and the exposure stays" dx "$D" mountpoint -q "$XP"

# ---- an agent restart, the exposure lost (as after a reboot) -------------
dx "$D" $AG stop >/dev/null 2>&1
check "after stop, the exposure stays for the volume" dx "$D" mountpoint -q "$XP"
check "the exposure is lost (unmounted, its mount point removed)" dx "$D" sh -c "umount $XP && rmdir $XP"
like "the agent starts again" "$(dx "$D" $AG start 2>&1)" "started"
n0=0
wait_until 15 collected || diag "no collection after the start: $(status_json)"
is "a container mounting v1 after the restart sees the distro's files" \
	"$(dxu "$D" docker run --rm -v v1:/data bb cat /data/w.txt 2>&1)" from-a-container
check "...through the exposure, mounted again" dx "$D" mountpoint -q "$XP"

# ---- docker volume rm: the exposure goes ---------------------------------
dxu "$D" docker run -d --name vc1 -v v1:/data bb sleep 1000 >/dev/null 2>&1
like "a volume in use cannot be removed (the engine says)" \
	"$(dxu "$D" docker volume rm v1 2>&1)" "in use"
check "...and its exposure stays" dx "$D" mountpoint -q "$XP"
dxu "$D" docker rm -f vc1 >/dev/null 2>&1
check "docker volume rm v1" dxu "$D" docker volume rm v1
if wait_until 15 sh -c "! mountpoint -q $XP && [ ! -e $XP ]"; then
	ok "volume removed: its exposure is unmounted and removed"
else not_ok "volume removed: its exposure is unmounted and removed" "$(status_json)"; fi
unlike "...and gone from the manifest" "$(dx "$D" cat /var/lib/wsl-docker-agent/manifest.json)" "$h"
is "the distro's files are still there" "$(dxu "$D" cat $V/f.txt 2>&1)" from-the-distro

# ---- a device the engine sees: passed as its path, shown as ours ---------
S=$WSL_MNT/wda-vol-test
check "a directory in the shared tmpfs" dx "$D" sh -c "mkdir -p $S && echo from-the-tree > $S/f.txt && chown dev $S"
is "docker volume create --opt device=$S v2" \
	"$(dxu "$D" docker volume create --opt type=none --opt o=bind --opt device=$S v2 2>&1)" v2
is "on the engine's own socket, the device is the engine's path for it" \
	"$(direct_docker volume inspect -f '{{.Options.device}}' v2)" "$ENGINE_WSL_MNT/wda-vol-test"
is "docker volume inspect shows $S" \
	"$(dxu "$D" docker volume inspect -f '{{.Options.device}}' v2 2>&1)" "$S"
is "docker run -v v2:/data reads it" "$(dxu "$D" docker run --rm -v v2:/data bb cat /data/f.txt 2>&1)" from-the-tree
check "...and nothing is exposed for it" dx "$D" test ! -e "$BM/$D/$(hash_of $S)"
check "docker volume rm v2" dxu "$D" docker volume rm v2
rm -rf "$S"

# ---- what the engine refuses, it refuses as it would without the agent ---
is "a missing device: the create passes, as the engine takes it" \
	"$(dxu "$D" docker volume create --opt type=none --opt o=bind --opt device=/home/dev/nothing vmiss 2>&1)" vmiss
like "...and mounting it fails with the engine's error" \
	"$(dxu "$D" docker run --rm -v vmiss:/data bb true 2>&1)" "no such file or directory"
check "...and nothing is made in the distro" dx "$D" test ! -e /home/dev/nothing
is "a relative device: the create passes as it is" \
	"$(dxu "$D" docker volume create --opt type=none --opt o=bind --opt device=rel/dir vrel 2>&1)" vrel
is "...to the engine, unchanged" "$(direct_docker volume inspect -f '{{.Options.device}}' vrel)" rel/dir
like "...and mounting it fails with the engine's error" \
	"$(dxu "$D" docker run --rm -v vrel:/data bb true 2>&1)" "no such file or directory"
direct_docker volume rm -f vmiss vrel >/dev/null 2>&1

# ---- compose: driver_opts with a relative device --------------------------
# Compose makes ./data absolute (from the project's directory) for a volume
# with driver: local and o: bind; without the driver it sends ./data as it
# is, and every engine fails the mount on it.
if dxu "$D" docker compose version >/dev/null 2>&1; then
	dxu "$D" sh -c 'mkdir -p /home/dev/volproj/data && echo compose-data > /home/dev/volproj/data/f.txt &&
	cat > /home/dev/volproj/compose.yaml' <<'YAML'
name: volproj
services:
  app:
    image: bb
    command: ["sh", "-c", "cat /d/f.txt && echo from-compose > /d/c.txt"]
    volumes:
      - data:/d
volumes:
  data:
    driver: local
    driver_opts:
      type: none
      o: bind
      device: ./data
YAML
	out=$(dxu "$D" sh -c 'cd /home/dev/volproj && docker compose up --abort-on-container-exit' 2>&1); rc=$?
	is "docker compose up with driver_opts (device: ./data) exits 0" "$rc" 0
	like "...and the service sees the project's files" "$out" "compose-data"
	is "...and the distro sees what it wrote" "$(dxu "$D" cat /home/dev/volproj/data/c.txt 2>&1)" from-compose
	is "docker volume inspect shows the project's directory" \
		"$(dxu "$D" docker volume inspect -f '{{.Options.device}}' volproj_data 2>&1)" /home/dev/volproj/data
	hc=$(hash_of /home/dev/volproj/data)
	check "docker compose down -v" dxu "$D" sh -c 'cd /home/dev/volproj && docker compose down -v'
	if wait_until 15 sh -c "[ ! -e $BM/$D/$hc ]"; then ok "...and the volume's exposure goes"; else
		not_ok "...and the volume's exposure goes" "$(status_json)"; fi
else
	diag "this flavour's CLI has no compose plugin: compose is checked on the desktop flavour"
fi

dx "$D" $AG stop >/dev/null 2>&1
is "at the end, nothing remains below $BM/$D" "$(ls -A "$BM/$D" 2>/dev/null)" ""
done_testing
