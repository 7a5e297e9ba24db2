#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end, in the lab: bind mounts from a distro.  The engine (the lab
# machine, or an engine distro seeing the shared tmpfs at
# /run/desktop/mnt/host/wsl: LAB_ENGINE) cannot see the distro's files; the
# agent re-exposes bind sources below the shared /mnt/wsl and rewrites the
# create to the path the engine sees.  As the ordinary user dev with the
# real docker CLI: -v and --mount, paths with spaces and non-ASCII, :ro,
# symlinks, file binds, missing sources (-v makes them for the caller,
# --mount fails, CreateMountpoint makes them), compose, shared sources,
# cleanup after removal and after kill -9, large and chunked requests.
# Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

D=b1
AG=wsl-docker-agent
BM=/mnt/wsl/docker-desktop-bind-mounts
# The engine's view: EBM is BM as it sees it, ENGINE_WSL_MNT /mnt/wsl.
eval "$("$LAB" env)"
EBM=$ENGINE_BIND_MOUNTS_DIR
tmp=$(mktemp -d)
# The engine's side is this machine (simple flavour) or the engine distro
# (desktop, a fresh root each time): a source that reached the engine
# unrewritten would be created there, below /home/dev, the very failure
# this feature prevents; the end checks that it was not.
if [ "$LAB_ENGINE" = simple ] && [ -e /home/dev ]; then
	not_ok "this machine (the engine's side) has no /home/dev" \
		"it is the lower layer of the lab's distros: remove it and run again"
	done_testing; exit 1
fi
cleanup() {
	rm -rf --one-file-system /home/dev
	direct_docker rm -f s1 s2 s3 c9 c10 big chunked w1 cm1 >/dev/null 2>&1
	[ -z "$DRIVE_C" ] || rm -rf "$DRIVE_C/wda-bind-test"
	lab_down "$D"
	rm -rf "$tmp"
}
trap cleanup EXIT

agent_up "$D"
# Mounts below the bind-mount tree, as the engine's side (this machine) sees them.
host_mounts() { awk -v p="$BM/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo; }
no_host_mounts() { [ -z "$(host_mounts)" ]; }
status_json() { dx "$D" $AG status --json; }
# The containers status lists for the exposures, on one line.
users_seen() { status_json | tr -d ' \n' | grep -o '"containers":\[[^]]*\]' | tr '\n' ' '; }

P1="/home/dev/my proj"
P2="/home/dev/prøjekt ünï €"
check "test files are made in the distro" dxu "$D" sh -c "mkdir -p '$P1' '$P2' /home/dev/msrc /home/dev/ro /home/dev/shared &&
	echo from-the-distro > '$P1/f.txt' && echo ünï-file > '$P2/f.txt' &&
	echo ro-file > /home/dev/ro/f.txt && ln -sfn '$P1' /home/dev/link"

# ---- -v and --mount, as an ordinary user --------------------------------
out=$(dxu "$D" docker run --rm -v "$P1":/w bb cat /w/f.txt 2>&1)
is "docker run -v '$P1':/w prints the distro's file" "$out" "from-the-distro"
out=$(dxu "$D" docker run --rm -v "$P2":/w bb cat /w/f.txt 2>&1)
is "a path with non-ASCII characters and spaces" "$out" "ünï-file"
out=$(dxu "$D" docker run --rm --mount "type=bind,src=/home/dev/msrc,dst=/m" bb \
	sh -c 'echo written-in-container > /m/out.txt && echo ok' 2>&1)
is "--mount type=bind runs" "$out" "ok"
is "--mount: the write lands in the distro" "$(dxu "$D" cat /home/dev/msrc/out.txt 2>&1)" \
	"written-in-container"
is "the write is owned as the container wrote it (root)" \
	"$(dx "$D" stat -c %u /home/dev/msrc/out.txt)" 0
out=$(dxu "$D" docker run --rm -v /home/dev/ro:/r:ro bb sh -c 'cat /r/f.txt; echo x > /r/new' 2>&1)
like ":ro: readable" "$out" "ro-file"
like ":ro: stays read-only" "$out" "Read-only file system"
is ":ro: nothing was written" "$(dx "$D" sh -c 'test -e /home/dev/ro/new && echo yes || echo no')" no
out=$(dxu "$D" docker run --rm -v /home/dev/link:/w bb cat /w/f.txt 2>&1)
is "a symlinked source resolves as Docker would" "$out" "from-the-distro"
out=$(dxu "$D" docker run --rm -v /mnt/wsl/docker-desktop:/dd:ro bb ls /dd 2>&1)
like "a source already below /mnt/wsl is translated to the engine's view" "$out" "cli-tools"
dxu "$D" docker create --name w1 -v /mnt/wsl/docker-desktop:/dd:ro bb true >/dev/null 2>&1
is "...as $ENGINE_WSL_MNT/docker-desktop, not re-exposed" \
	"$(direct_docker inspect -f '{{range .Mounts}}{{.Source}}{{end}}' w1 2>&1)" "$ENGINE_WSL_MNT/docker-desktop"
dxu "$D" docker rm -f w1 >/dev/null 2>&1
like "status shows the engine's view of the shared tmpfs" "$(status_json | tr -d ' \n')" \
	"\"local\":\"/mnt/wsl\",\"engine\":\"$ENGINE_WSL_MNT\",\"kind\":\"shared-tree\""

# ---- file binds and symlinks --------------------------------------------
dxu "$D" sh -c 'printf "[user]\n\tname = dev\n" > /home/dev/.gitconfig && ln -sfn /home/dev/.gitconfig /home/dev/gc-link'
out=$(dxu "$D" docker run --rm -v /home/dev/.gitconfig:/root/.gitconfig:ro bb cat /root/.gitconfig 2>&1)
like "a file bind (-v ~/.gitconfig:/root/.gitconfig:ro) shows the distro's file" "$out" "name = dev"
out=$(dxu "$D" docker run --rm -v /home/dev/gc-link:/root/.gitconfig:ro bb cat /root/.gitconfig 2>&1)
like "a file reached through a symlink" "$out" "name = dev"
out=$(dxu "$D" docker run --rm --mount type=bind,src=/home/dev/link,dst=/w,readonly bb cat /w/f.txt 2>&1)
is "--mount through a symlinked directory" "$out" "from-the-distro"

# ---- sources that do not exist ------------------------------------------
# -v: made in the distro, as dockerd makes it, owned by the caller (dev).
out=$(timeout 30 "$LAB" exec "$D" --user dev -- docker run --rm -v /home/dev/nope/deeper:/w bb \
	sh -c 'echo made > /w/x && echo ok' 2>&1); rc=$?
is "a missing -v source: the container runs (exit $rc)" "$out" ok
is "...the directory was made in the distro, with what the container wrote" \
	"$(dx "$D" cat /home/dev/nope/deeper/x 2>&1)" made
is "...owned by the caller (dev), each directory made" \
	"$(dx "$D" stat -c '%U:%G %F' /home/dev/nope /home/dev/nope/deeper | sort -u)" "dev:dev directory"
is "...and nothing was made on the engine's side" \
	"$(engine_side sh -c 'test -e /home/dev/nope && echo created || echo absent')" absent
# --mount: the engine's own error, at once.
t0=$(now_ms)
out=$(timeout 30 "$LAB" exec "$D" --user dev -- docker run --rm --mount type=bind,src=/home/dev/nope2,dst=/w bb true 2>&1); rc=$?
t1=$(now_ms)
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ok "a missing --mount source fails (exit $rc)" ||
	not_ok "a missing --mount source fails" "exit $rc" "$out"
like "...with the engine's error naming the path" "$out" \
	"Error response from daemon: invalid mount config for type \"bind\": bind source path does not exist: /home/dev/nope2"
[ $((t1 - t0)) -lt 10000 ] && ok "...at once ($((t1 - t0)) ms), no hang" ||
	not_ok "...at once" "took $((t1 - t0)) ms"
is "...and no directory was created in the distro" \
	"$(dx "$D" sh -c 'test -e /home/dev/nope2 && echo created || echo absent')" absent
is "...nor on the engine's side" "$(engine_side sh -c 'test -e /home/dev/nope2 && echo created || echo absent')" absent
dx "$D" ln -sfn /home/dev/gone /home/dev/dangling
out=$(dxu "$D" docker run --rm --mount type=bind,src=/home/dev/dangling,dst=/w bb true 2>&1)
like "--mount of a dangling symlink: the same error" "$out" "bind source path does not exist: /home/dev/dangling"
out=$(dxu "$D" docker run --rm -v /home/dev/dangling:/w bb true 2>&1)
like "-v of a dangling symlink fails, naming it" "$out" "bind source path does not exist: /home/dev/dangling"
# Mounts with BindOptions.CreateMountpoint (API 1.42; compose's
# bind.create_host_path): made for the caller, whatever the engine's API.
out=$(dxu "$D" curl -sS --unix-socket /run/docker.sock -H 'Content-Type: application/json' \
	-d '{"Image":"bb","Cmd":["ls","-d","/m"],"HostConfig":{"Mounts":[{"Type":"bind","Source":"/home/dev/cmp/made","Target":"/m","BindOptions":{"CreateMountpoint":true}}]}}' \
	'http://docker/containers/create?name=cm1' 2>&1)
like "a mount with CreateMountpoint and a missing source is created" "$out" '"Id":"[0-9a-f]+'
is "...its source made in the distro, owned by dev" "$(dx "$D" stat -c %U:%G /home/dev/cmp/made 2>&1)" dev:dev
is "...and the container sees it" "$(dxu "$D" docker start -a cm1 2>&1)" /m
dxu "$D" docker rm -f cm1 >/dev/null 2>&1
# compose: ./src (exists), ./data (short syntax: Binds, made) and ./made
# (long syntax with bind.create_host_path: Mounts, made), with the CLI's
# own compose where the flavour ships it (Docker Desktop's, 2.26).
if dxu "$D" docker compose version >/dev/null 2>&1; then
	dxu "$D" sh -c 'mkdir -p /home/dev/cproj/src && echo compose-src > /home/dev/cproj/src/f.txt &&
	cat > /home/dev/cproj/compose.yaml' <<'YAML'
services:
  a:
    image: bb
    command: ["sh", "-c", "cat /src/f.txt && ls -d /data /made"]
    volumes:
      - ./src:/src
      - ./data:/data
      - type: bind
        source: ./made
        target: /made
        bind:
          create_host_path: true
YAML
	out=$(dxu "$D" sh -c 'cd /home/dev/cproj && docker compose run --rm a' 2>&1)
	like "docker compose run: short and long syntax binds" "$out" "compose-src"
	is "..../data and ./made were made in the distro, owned by dev" \
		"$(dx "$D" stat -c %U:%G /home/dev/cproj/data /home/dev/cproj/made 2>&1 | sort -u)" dev:dev
	dxu "$D" sh -c 'cd /home/dev/cproj && docker compose down' >/dev/null 2>&1
else
	diag "this flavour's CLI has no compose plugin: compose is checked on the desktop flavour"
fi

# ---- the exposure itself ------------------------------------------------
dxu "$D" docker run -d --name s1 -v /home/dev/shared:/s bb sleep 600 >/dev/null 2>&1
h=$(hash_of /home/dev/shared)
check "the exposure is a mount the engine's side sees at $EBM" engine_side mountpoint -q "$EBM/$D/$h"
is "the created container's bind source is the exposure" \
	"$(direct_docker inspect -f '{{range .Mounts}}{{.Source}}{{end}}' s1)" "$EBM/$D/$h"
like "the manifest records it" "$(dx "$D" cat /var/lib/wsl-docker-agent/manifest.json)" \
	"\"kind\":\"bindmount\""
like "the log says what was exposed" "$(dx "$D" cat /var/log/wsl-docker-agent.log)" \
	"re-exposed /home/dev/shared to the engine at $EBM/$D/$h"

# ---- two containers share a source; one goes ----------------------------
dxu "$D" docker run -d --name s2 -v /home/dev/shared:/s bb \
	sh -c 'while ! test -e /s/g.txt; do sleep 0.1; done; cat /s/g.txt; sleep 600' >/dev/null 2>&1
both_users() { users_seen | grep -Eq '"s[12]","s[12]"'; }
if wait_until 10 both_users; then
	ok "status shows the exposure and both containers"
else not_ok "status shows the exposure and both containers" "$(users_seen)"; fi
like "the log says which containers use it" "$(dx "$D" cat /var/log/wsl-docker-agent.log)" \
	"/home/dev/shared \(at $EBM/$D/$h\) is used by s[12], s[12]"
dxu "$D" docker rm -f s1 >/dev/null 2>&1
only_s2() { [ "$(users_seen)" = '"containers":["s2"] ' ]; }
if wait_until 10 only_s2; then ok "one removed: status shows the other still using it"; else
	not_ok "one removed: status shows the other still using it" "$(users_seen)"; fi
check "one removed: the exposure stays" mountpoint -q "$BM/$D/$h"
dxu "$D" sh -c 'echo after-s1 > /home/dev/shared/g.txt'
# (s2 reports it itself: on the desktop flavour the lab's docker exec does
# not enter the container's root.)
s2_saw() { dxu "$D" docker logs s2 2>&1 | grep -qx after-s1; }
if wait_until 10 s2_saw; then ok "one removed: the other still sees the source, new files too"; else
	not_ok "one removed: the other still sees the source, new files too" \
		"$(dxu "$D" docker logs s2 2>&1)"; fi
out=$(dxu "$D" docker run --rm -v /home/dev/shared:/s bb cat /s/g.txt 2>&1)
is "a new container reuses the exposure" "$out" "after-s1"
dxu "$D" docker rm -f s2 >/dev/null 2>&1
# Creates are held for up to 30 s until the engine shows their container.
if wait_until 45 no_host_mounts; then ok "all removed: no mount remains below $BM"; else
	not_ok "all removed: no mount remains below $BM" "$(host_mounts)" "$(status_json)"; fi
is "all removed: the directories are gone too" "$(ls -A "$BM/$D" 2>/dev/null)" ""
unlike "all removed: the manifest has no bindmount left" \
	"$(dx "$D" cat /var/lib/wsl-docker-agent/manifest.json)" "bindmount"

# ---- large and chunked requests through the agent ------------------------
big=$(dx "$D" sh -c 'head -c 1200000 /dev/zero | tr "\0" a')
printf '{"Image":"bb","Cmd":["cat","/w/f.txt"],"Labels":{"big":"%s"},"HostConfig":{"Binds":["%s:/w"]}}' \
	"$big" "$P1" >"$tmp/big.json"
dx "$D" sh -c "cat >/tmp/big.json" <"$tmp/big.json"
size=$(stat -c %s "$tmp/big.json")
out=$(dxu "$D" curl -sS --unix-socket /run/docker.sock -H 'Content-Type: application/json' \
	--data-binary @/tmp/big.json 'http://docker/v1.41/containers/create?name=big' 2>&1)
like "a create with a $size-byte body passes" "$out" '"Id":"[0-9a-f]+'
is "...with its bind rewritten" "$(direct_docker inspect -f '{{range .Mounts}}{{.Source}}{{end}}' big)" \
	"$EBM/$D/$(hash_of "$P1")"
is "...and its 1.2 MB label intact" "$(direct_docker inspect -f '{{len .Config.Labels.big}}' big)" 1200000
is "...and it reads the distro's file" "$(dxu "$D" docker start -a big 2>&1)" "from-the-distro"
printf '{"Image":"bb","Cmd":["cat","/w/f.txt"],"HostConfig":{"Mounts":[{"Type":"bind","Source":"%s","Target":"/w"}]}}' \
	"$P2" | dx "$D" sh -c "cat >/tmp/chunked.json"
out=$(dxu "$D" curl -sS --unix-socket /run/docker.sock -H 'Content-Type: application/json' \
	-H 'Transfer-Encoding: chunked' --data-binary @/tmp/chunked.json \
	'http://docker/v1.41/containers/create?name=chunked' 2>&1)
like "a chunked create passes" "$out" '"Id":"[0-9a-f]+'
is "...and is rewritten" "$(dxu "$D" docker start -a chunked 2>&1)" "ünï-file"
dx "$D" sh -c 'head -c 3000000 /dev/urandom >/tmp/blob'
out=$(dxu "$D" curl -sS --unix-socket /run/docker.sock -H 'Transfer-Encoding: chunked' \
	--data-binary @/tmp/blob -o /dev/null -w '%{http_code}' 'http://docker/v1.41/images/load' 2>&1)
like "a 3 MB chunked upload that is not a create reaches the engine" "$out" "^(200|400|500)$"
like "...and the connection still works (docker version)" \
	"$(dxu "$D" docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
through=$(dxu "$D" sh -c 'docker save bb | docker load' 2>&1)
like "docker save | docker load (chunked upload) through the agent" "$through" "Loaded image"
dxu "$D" docker rm -f big chunked >/dev/null 2>&1
is "echo hi | docker run -i still ends on EOF" "$(echo hi | timeout 30 "$LAB" exec "$D" --user dev -- docker run -i --rm -v "$P1":/w bb cat)" hi

# ---- kill -9: the next run keeps what containers use, removes the rest ---
dxu "$D" docker create --name c9 -v /home/dev/shared:/s bb cat /s/g.txt >/dev/null 2>&1
dxu "$D" docker create --name c10 -v /home/dev/msrc:/m bb true >/dev/null 2>&1
hm=$(hash_of /home/dev/msrc)
pid=$(dx "$D" cat /run/wsl-docker-agent.pid)
dx "$D" kill -9 "$pid"
dx "$D" sh -c "while kill -0 $pid 2>/dev/null; do sleep 0.02; done"
direct_docker rm -f c10 >/dev/null 2>&1	# removed while the agent is away
dx "$D" $AG start >/dev/null 2>&1
if wait_until 15 sh -c "! mountpoint -q $BM/$D/$hm"; then
	ok "after kill -9: an exposure no container uses any more is removed"
else not_ok "after kill -9: unused exposure removed" "$(host_mounts)" "$(status_json)"; fi
check "after kill -9: the exposure a container still uses stays" mountpoint -q "$BM/$D/$h"
is "after kill -9: that container still reads through it" "$(dxu "$D" docker start -a c9 2>&1)" "after-s1"
dxu "$D" docker rm -f c9 >/dev/null 2>&1
if wait_until 15 no_host_mounts; then ok "...and once it is removed, nothing remains below $BM"; else
	not_ok "...nothing remains below $BM" "$(host_mounts)" "$(status_json)"; fi

# ---- a Windows drive the engine sees (bind.shared_paths) -----------------
# The lab's drive C: is a plain bind, not drvfs: the agent finds no drive in
# mountinfo, so it is configured, as for a share set up by hand.
if [ -n "$DISTRO_DRIVE_C" ]; then
	mkdir -p "$DRIVE_C/wda-bind-test" && echo from-drive-c > "$DRIVE_C/wda-bind-test/f.txt"
	check "bind.shared_paths maps $DISTRO_DRIVE_C to $ENGINE_DRIVE_C" \
		agent_config "$D" "\"shared_paths\": \"$DISTRO_DRIVE_C=$ENGINE_DRIVE_C\""
	dx "$D" sh -c 'kill -HUP "$(cat /run/wsl-docker-agent.pid)"'
	drive_mapped() { status_json | tr -d ' \n' | grep -qF "\"local\":\"$DISTRO_DRIVE_C\",\"engine\":\"$ENGINE_DRIVE_C\""; }
	if wait_until 10 drive_mapped; then ok "...after a reload, status shows it"; else
		not_ok "...after a reload, status shows it" "$(status_json)"; fi
	out=$(dxu "$D" docker run --rm -v "$DISTRO_DRIVE_C/wda-bind-test:/c" bb cat /c/f.txt 2>&1)
	is "a source below $DISTRO_DRIVE_C reads drive C:'s file" "$out" from-drive-c
	dxu "$D" docker create --name w1 -v "$DISTRO_DRIVE_C/wda-bind-test:/c" bb true >/dev/null 2>&1
	is "...passed as $ENGINE_DRIVE_C/..., not re-exposed" \
		"$(direct_docker inspect -f '{{range .Mounts}}{{.Source}}{{end}}' w1 2>&1)" "$ENGINE_DRIVE_C/wda-bind-test"
	dxu "$D" docker rm -f w1 >/dev/null 2>&1
	check "...and nothing is exposed for it" no_host_mounts
else
	diag "this flavour has no drive C: stand-in: drive mapping is checked on the desktop flavour"
fi

# ---- stop ----------------------------------------------------------------
dx "$D" $AG stop >/dev/null 2>&1
check "after stop, no mount remains below $BM" no_host_mounts

is "no bind source was ever created on the engine's side" \
	"$(engine_side sh -c 'test -e /home/dev && find /home/dev | head -5')" ""

done_testing
