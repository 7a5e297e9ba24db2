#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The bind-mount area is hostile ground (issue 13), in the lab: the agent
# runs in a victim distro; the attacker is the ordinary user dev (uid
# 1000, not in the docker group) of a second distro, and the lab's
# /mnt/wsl is mode 1777.  Before the agent starts, the attacker makes
# docker-desktop-bind-mounts its own with <distro> a symlink to /etc; then
# docker-desktop-bind-mounts is a symlink; then <distro> is a directory
# the attacker squatted.  Each is refused: nothing is made below /etc or
# in the attacker's directories, nothing is mounted, `status` says
# "untrusted" in one line naming the path, the owner and the fix, a
# `docker run -v` of a source the engine cannot see gets a clear refusal
# and one of a source it sees still works.  Then root removes what the
# attacker made: the agent makes the area (root's, 0700) itself and
# re-exposes as usual; a source containing the shared tree is refused; a
# mount found on an exposure's point that is not the agent's is reported
# and left alone.  (A directory swapped between the check and the use is
# tests/unit/test_exposures.c's: the kept descriptor is what was checked.)
# Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

V=hbv
A=hba
AG=wsl-docker-agent
W=/mnt/wsl
BM=$W/docker-desktop-bind-mounts
AREA=$BM/$V
P=/home/dev/hb-proj
SEEN=$W/hb-seen
# The engine's side is this machine in the simple flavour: /home/dev must
# not exist there, or a source that reached the engine unrewritten would
# look fine (as in bind.sh).
if [ "$LAB_ENGINE" = simple ] && [ -e /home/dev ]; then
	not_ok "this machine (the engine's side) has no /home/dev" \
		"it is the lower layer of the lab's distros: remove it and run again"
	done_testing; exit 1
fi
cleanup() {
	dx "$V" umount "$squat" 2>/dev/null
	direct_docker rm -f hb1 hb2 >/dev/null 2>&1
	rm -rf --one-file-system "$SEEN" "$W/hb-evil" /home/dev
	[ -L "$BM" ] && rm -f "$BM"
	[ -L "$AREA" ] && rm -f "$AREA"
	[ -d "$BM" ] && [ "$(stat -c %u "$BM")" != 0 ] && rm -rf --one-file-system "$BM"
	lab_down "$V" "$A"
}
squat=/nonexistent
trap cleanup EXIT

lab_hostile "$V" "$A"
check "the agent's configuration for the $LAB_ENGINE flavour" agent_config "$V"

# (status exits 1 while unhealthy: its output is what counts)
status() { dx "$V" $AG status --json 2>/dev/null || true; }
field() { status | jq -r "$1"; }
area_untrusted_like() { field '.binds.untrusted // ""' | grep -q -- "$1"; }
area_trusted() { [ "$(field .binds.untrusted)" = null ]; }
atk() { dxu "$A" sh -c "$1"; }
# Mounts below the bind-mount tree, as the victim distro sees them.
area_mounts() { dx "$V" awk -v p="$BM" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo; }
# Names the agent would have made (sha256 hex) below the victim's /etc.
etc_made() { dx "$V" sh -c 'ls /etc | grep -cE "^[0-9a-f]{64}$"'; }
hash_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
reconcile() { dx "$V" $AG reconcile >/dev/null 2>&1; }
check "test files are made: $P in the victim distro, $SEEN in the shared tree" \
	sh -c "$LAB exec $V --user dev -- sh -c 'mkdir -p $P && echo from-the-distro > $P/f.txt' &&
	mkdir -p $SEEN && echo seen-by-the-engine > $SEEN/f.txt"

# One refused attack: status names it (reason RE) in one line, a -v of
# $P is refused with it, $SEEN still works, nothing made or mounted.
refused() { # what RE
	local what=$1 re=$2 line out
	if wait_until 10 area_untrusted_like "$re"; then ok "$what: status says untrusted"
	else not_ok "$what: status says untrusted" "$(status | jq .binds)"; fi
	line=$(field .binds.untrusted)
	like "...in one line naming the path, the owner and the fix" "$line" "$re.*(remove it|sudo rm)"
	is "...one line" "$(printf '%s\n' "$line" | wc -l)" 1
	like "...and the text status says it too" "$(dx "$V" $AG status 2>&1)" "Bind mounts +untrusted: $re"
	like "...listed as a problem with its fix" "$(status | jq -r '.problems[] | .what + " / " + .fix')" \
		"the bind-mount area is untrusted: $re.* / remove what is named above.*reconcile"
	out=$(dxu "$V" docker run --rm -v "$P":/w bb cat /w/f.txt 2>&1)
	like "...docker run -v $P (the engine cannot see it) is refused, saying why" "$out" \
		"Error response from daemon: cannot re-expose $P to the engine: the bind-mount area is untrusted: $re"
	out=$(dxu "$V" docker run --rm -v "$SEEN":/w bb cat /w/f.txt 2>&1)
	is "...docker run -v $SEEN (the engine sees it) still works" "$out" seen-by-the-engine
	is "...nothing is mounted below $BM" "$(area_mounts)" ""
	is "...nothing was made below the victim's /etc" "$(etc_made)" 0
}

# ---- docker-desktop-bind-mounts the attacker's, <distro> a link to /etc --
rm -rf --one-file-system "$BM"
atk "mkdir $BM && ln -s /etc $AREA"
like "the agent starts in the victim distro" "$(dx "$V" $AG start 2>&1)" "started \(pid [0-9]+\)"
refused "$BM the attacker's, $AREA a link to /etc" "$BM is owned by uid 1000, not root"
is "...the link is left as it was" "$(readlink "$AREA")" /etc
rm -rf --one-file-system "$BM"

# ---- docker-desktop-bind-mounts a symlink -------------------------------
atk "mkdir $W/hb-evil && ln -s $W/hb-evil $BM"
reconcile
refused "$BM a symlink to the attacker's directory" "$BM is a symbolic link owned by uid 1000"
is "...nothing was made in the attacker's directory" "$(ls -A "$W/hb-evil")" ""
rm -rf "$BM" "$W/hb-evil"

# ---- a squatted <distro> directory --------------------------------------
# docker-desktop-bind-mounts was world-writable a moment (root's, 1777),
# the attacker made <distro> first; then root made it 0755.
mkdir -m 1777 "$BM" && chmod 1777 "$BM"
atk "mkdir -m 755 $AREA"
chmod 0755 "$BM"
is "the squatted directory is the attacker's, mode 755" "$(stat -c '%u %a' "$AREA")" "1000 755"
reconcile
refused "a squatted $AREA owned by the attacker" "$AREA is owned by uid 1000, not root"
is "...it is left as it was: no chmod, nothing in it" \
	"$(stat -c '%u %a' "$AREA") $(ls -A "$AREA" | wc -l)" "1000 755 0"

# ---- fixed by root: the agent makes the area itself ---------------------
rm -rf "$AREA"
reconcile
if wait_until 10 area_trusted; then ok "root removed the squatted directory: the area is trusted"
else not_ok "root removed the squatted directory: the area is trusted" "$(status | jq .binds)"; fi
is "the agent made $AREA: root's, mode 700" "$(stat -c '%u %a %F' "$AREA")" "0 700 directory"
is "...$BM stays root's, 755" "$(stat -c '%u %a' "$BM")" "0 755"
out=$(dxu "$V" docker run --rm -v "$P":/w bb cat /w/f.txt 2>&1)
is "docker run -v $P works, the engine (root) reaching the 0700 area" "$out" from-the-distro
out=$(dxu "$V" docker run --rm -v "$P":/w:ro bb sh -c 'cat /w/f.txt; echo x > /w/new' 2>&1)
like "...read-only (:ro) by descriptor: readable" "$out" from-the-distro
like "...and read-only" "$out" "Read-only file system"
if atk "ls $AREA" >/dev/null 2>&1; then not_ok "the attacker cannot list the area"
else ok "the attacker cannot list the area (0700)"; fi
unlike "status names no problem with the area" "$(status | jq -r '.problems[].what')" "bind-mount area"

# ---- sources that contain the shared tree -------------------------------
for src in / /mnt; do
	out=$(dx "$V" docker run --rm -v "$src":/w bb true 2>&1)
	like "docker run -v $src (contains $W) is refused, naming the fix" "$out" \
		"bind source path $src \(in WSL distro $V\) contains $AREA.*expose the shared tree into itself; bind-mount a directory that does not contain $W"
done
is "...neither is exposed" "$(area_mounts | grep -cE "$(hash_of /)|$(hash_of /mnt)")" 0

# ---- a mount on an exposure's point that is not the agent's -------------
squat=$AREA/$(hash_of "$P")
dxu "$V" docker create --name hb1 -v "$P":/w bb true >/dev/null 2>&1
is "a container using $P: its exposure is mounted" "$(area_mounts)" "$squat"
dx "$V" mount -t tmpfs wda-squat "$squat"
dxu "$V" docker rm hb1 >/dev/null 2>&1
err_like() { field '.binds.error // ""' | grep -q -- "$1"; }
if wait_until 10 err_like "another mount is there"; then
	ok "the container gone, the mount found on the point is not the agent's: reported"
else not_ok "the container gone, the mount found on the point is not the agent's: reported" "$(status | jq .binds)"; fi
like "...in binds.error, naming the point" "$(field .binds.error)" "cannot unmount $squat .*left alone"
is "...and left alone (both mounts are still there)" "$(area_mounts | grep -c "^$squat\$")" 2
dx "$V" umount "$squat"
squat=/nonexistent
# The next collection (a container's create and destroy) removes it.
dxu "$V" docker run --rm bb true >/dev/null 2>&1
no_area_mounts() { [ -z "$(area_mounts)" ]; }
if wait_until 10 no_area_mounts; then
	ok "the other mount gone: the agent's exposure is unmounted at the next collection"
else not_ok "the other mount gone: the agent's exposure is unmounted at the next collection" "$(area_mounts)"; fi

done_testing
