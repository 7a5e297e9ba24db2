#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end, in a lab distro that does not run systemd: the wsl.conf tool
# (wsl-docker-agent-wslconf) on the files it meets, the agent started by the
# [boot] command line as WSL runs it (sh -c, as root, a bare environment),
# stop and status, and the Debian package installed, upgraded, removed and
# purged with dpkg where no systemd runs.  (integrate.sh covers start,
# status and one instance in depth.)  Prints TAP.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
t_lock=$SECONDS # (lib.sh waited for the lab lock)

D=nosd
P=nosd-pkg
AG=wsl-docker-agent
WC=wsl-docker-agent-wslconf
OURS="/usr/bin/wsl-docker-agent start"
# What enable wrote before the agent moved to /usr/bin (a link there now).
FORMER="/usr/sbin/wsl-docker-agent start"
CLI=/mnt/wsl/docker-desktop/cli-tools
SHIM=/usr/libexec/wsl-docker-agent/wsl-docker-shim
tmp=$(mktemp -d)
trap 'lab_down; rm -rf "$tmp"' EXIT

lab_up
lab_distro "$D"

# ---- wsl-docker-agent-wslconf ----------------------------------------------
# put FILE: stdin becomes FILE in the distro.  sum FILE: its checksum.
put() { dx "$D" sh -c "cat >'$1'"; }
sum() { dx "$D" sha256sum "$1" | cut -d' ' -f1; }
wc_run() { # FILE ARGS... -> output, status in $rc
	out=$(dx "$D" $WC --file "$@" 2>&1); rc=$?
}
F=/etc/wsl.conf
dx "$D" rm -f $F

wc_run $F status
is "status on a distro without /etc/wsl.conf: not enabled (exit 1)" "$rc" 1
wc_run $F enable
is "enable creates /etc/wsl.conf" "$rc/$(dx "$D" cat $F)" "0/[boot]
command = $OURS"
is "...with mode 0644" "$(dx "$D" stat -c %a $F)" 644
before=$(sum $F)
wc_run $F enable
like "enable twice: nothing to do" "$rc $out" "^0 already enabled"
is "...and the file is unchanged" "$(sum $F)" "$before"
wc_run $F status
is "status: enabled (exit 0)" "$rc" 0

# An existing [boot] with other keys, comments, other sections.
put $F.orig <<'EOF'
# WSL settings of this distro
[automount]
enabled = true
options = "metadata,umask=22"

[boot]
systemd=false
# the boot command comes here

[network]
hostname = devbox
EOF
dx "$D" sh -c "cp $F.orig $F && chmod 600 $F"
wc_run $F enable
is "enable in an existing [boot]: exit 0" "$rc" 0
is "...adds exactly one line, after the section's last key" \
	"$(dx "$D" diff $F.orig $F)" "7a8
> command = $OURS"
is "...and keeps the file's mode" "$(dx "$D" stat -c %a $F)" 600
wc_run $F disable
is "disable: exit 0" "$rc" 0
is "...restores the file byte for byte" "$(sum $F)" "$(sum $F.orig)"
wc_run $F disable
like "disable twice: nothing to do" "$rc $out" "^0 not enabled"

# CRLF, as an editor on Windows writes it.
printf '[boot]\r\nsystemd=false\r\n' | put $F
wc_run $F enable
is "a CRLF file gets a CRLF line" "$(dx "$D" od -An -c $F | tr -s ' \n' ' ')" \
	" [ b o o t ] \\r \\n s y s t e m d = f a l s e \\r \\n c o m m a n d = / u s r / b i n / w s l - d o c k e r - a g e n t s t a r t \\r \\n "

# Another boot command: refused, or chained with --chain.
printf '[boot]\ncommand = "service cron start"\n' | put $F.orig
dx "$D" cp $F.orig $F
wc_run $F enable
is "another boot command: refused (exit 1)" "$rc" 1
like "...saying how to chain" "$out" 'already runs "service cron start".*--chain'
is "...and the file is unchanged" "$(sum $F)" "$(sum $F.orig)"
wc_run $F --chain enable
is "--chain appends to the boot command, inside its quotes" \
	"$rc/$(dx "$D" sed -n 2p $F)" "0/command = \"service cron start; $OURS\""
before=$(sum $F)
wc_run $F --chain enable
is "--chain twice: unchanged" "$rc/$(sum $F)" "0/$before"
wc_run $F status
is "status sees the chained command (exit 0)" "$rc" 0
wc_run $F disable
is "disable takes back exactly what --chain added" "$rc/$(sum $F)" "0/$(sum $F.orig)"

# Files it must refuse, untouched.  (Not in a pipeline: the TAP counters
# must not end up in a subshell.)
refuse() { # description expected-exit message-regex printf-format
	local s
	printf "$4" | put $F
	s=$(sum $F)
	wc_run $F enable
	is "$1: exit $2" "$rc" "$2"
	like "...naming the problem" "$out" "$3"
	is "...and the file is untouched" "$(sum $F)" "$s"
}
refuse "a line that is not INI" 65 'wsl.conf:3: cannot parse "this is not ini"' \
	'[boot]\nsystemd=false\nthis is not ini\n'
refuse "a key outside any section" 65 'wsl.conf:1: .*outside any \[section\]' \
	'command = /bin/true\n[boot]\n'
refuse "two [boot] sections" 65 'wsl.conf:4: a second \[boot\] section' \
	'[boot]\nsystemd=false\n[network]\n[boot]\ncommand=x\n'
refuse "a distro that boots with systemd" 1 'boots with systemd.*systemctl enable --now wsl-docker-agent' \
	'[boot]\nsystemd=true\n'

# A symbolic link: the target is edited, the link stays.
dx "$D" sh -c "rm -f $F && printf '[network]\nhostname=x\n' >/etc/wsl.conf.real && ln -s wsl.conf.real $F"
wc_run $F enable
is "a symbolic link: exit 0, still a link" "$rc/$(dx "$D" readlink $F)" "0/wsl.conf.real"
like "...its target has the line" "$(dx "$D" cat /etc/wsl.conf.real)" "command = $OURS"
dx "$D" rm -f $F /etc/wsl.conf.real $F.orig

# Only root may change it.
out=$(dxu "$D" $WC enable 2>&1); rc=$?
is "as an ordinary user: permission denied (exit 77)" "$rc" 77
like "...saying to use sudo" "$out" "sudo $WC enable"

# ---- the agent from the [boot] command line ---------------------------------
dx "$D" $WC enable >/dev/null
cmd=$(dx "$D" sed -n 's/^command = //p' $F)
is "the [boot] command line" "$cmd" "$OURS"
# As WSL runs it: root, sh -c, a bare environment.
boot() { "$LAB" exec "$D" -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c "$cmd"; }
out=$(boot 2>&1); rc=$?
like "the boot command starts the agent and returns" "$rc $out" "^0 wsl-docker-agent: started \(pid [0-9]+\)"
pid=$(dx "$D" cat /run/wsl-docker-agent.pid)
check "status: healthy (exit 0)" dx "$D" $AG status
like "docker version as user dev" "$(dxu "$D" docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
like "the log file says the agent is ready" "$(dx "$D" cat /var/log/wsl-docker-agent.log)" "ready: "
out=$(boot 2>&1); rc=$?
like "the boot command run again: the running agent stays" "$rc $out" "^0 wsl-docker-agent: already running \(pid $pid\)"
is "...one agent process" "$(dx "$D" pgrep -xc wsl-docker-agen)" 1

out=$(dx "$D" $AG stop 2>&1); rc=$?
like "stop: stopped, exit 0" "$rc $out" "^0 wsl-docker-agent: stopped \(pid $pid\)"
is "...no agent process" "$(dx "$D" pgrep -xc wsl-docker-agen)" 0
is "...pidfile and socket removed" "$(dx "$D" sh -c 'ls /run/wsl-docker-agent.pid /run/docker.sock 2>/dev/null')" ""
is "...the docker link points at the shim" "$(dx "$D" readlink /usr/local/bin/docker)" "$SHIM"
is "...no link dangles" "$(dx "$D" find /usr/local -xtype l)" ""
out=$(dx "$D" $AG status 2>&1 | tr '\n' ' '); rc=$?  # (pipefail: dx's status)
is "status while stopped: exit 69" "$rc" 69
like "...saying how to start it" "$out" "not running.*wsl-docker-agent start"
out=$(dx "$D" $AG stop 2>&1); rc=$?
like "stop while stopped: exit 0, not running" "$rc $out" "^0 wsl-docker-agent: not running"
dx "$D" $WC disable >/dev/null

# A [boot] line written when the agent was in /usr/sbin (a link now).
printf '[boot]\ncommand = %s\n' "$FORMER" | put $F
wc_run $F status
is "a [boot] line naming /usr/sbin/wsl-docker-agent counts as enabled (exit 0)" "$rc" 0
wc_run $F enable
like "...enable leaves it" "$rc $out" "^0 already enabled"
cmd=$FORMER
out=$(boot 2>&1); rc=$?
like "...and it starts the agent through the link" "$rc $out" "^0 wsl-docker-agent: started \(pid [0-9]+\)"
is "...which is /usr/sbin/wsl-docker-agent -> ../bin/wsl-docker-agent" \
	"$(dx "$D" readlink /usr/sbin/wsl-docker-agent)" ../bin/wsl-docker-agent
dx "$D" $AG stop >/dev/null
wc_run $F disable
is "...disable removes it" "$rc/$(dx "$D" cat $F)" "0/[boot]"
"$LAB" distro-rm "$D" >/dev/null 2>&1

# ---- the package where no systemd runs ---------------------------------------
debdir=$("$E2E_TOP/tests/e2e/build-deb" 2>"$tmp/build-deb.err")
[ -n "$debdir" ] || bail "the package builds" "$(tail -n 20 "$tmp/build-deb.err")"
deb=$(ls "$debdir"/wsl-docker-agent_*.deb)
"$LAB" distro "$P" >/dev/null 2>&1 || bail "lab distro $P"
proot=/proc/$(cat "$LAB_DIR/distros/$P/holder.pid")/root
cp "$deb" "$proot/tmp/"
pkg=/tmp/${deb##*/}
dpkg_in() { timeout 120 "$LAB" exec "$P" -- env DEBIAN_FRONTEND=noninteractive dpkg "$@"; }

gid=$(dx "$P" getent group docker | cut -d: -f3)
out=$(dpkg_in -i "$pkg" 2>&1); rc=$?
is "dpkg -i without systemd: exit 0" "$rc" 0
like "...says how to start the agent" "$out" "does not run systemd.*wsl-docker-agent start.*wsl-docker-agent-wslconf enable"
is "...starts no agent" "$(dx "$P" pgrep -xc wsl-docker-agen)" 0
is "...leaves /etc/wsl.conf alone" "$(dx "$P" sh -c 'test -e /etc/wsl.conf && echo there || echo absent')" absent
is "...keeps the distro's docker group (gid $gid)" "$(dx "$P" getent group docker | cut -d: -f3)" "$gid"
# Started from a shell holding a descriptor of its own (a lock, say).
dx "$P" sh -c "exec 7>/tmp/wda-held; $AG start" >/dev/null
pid=$(dx "$P" cat /run/wsl-docker-agent.pid)
is "...the agent keeps none of the descriptors it was started with" \
	"$(dx "$P" sh -c "ls -l /proc/$pid/fd | grep -c wda-held")" 0
like "the packaged agent: docker version as user dev" "$(dxu "$P" docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
# As an ordinary user's login shell has it: Debian's PATH without /usr/sbin.
out=$(dxu "$P" bash -lc 'echo "PATH=$PATH"; wsl-docker-agent status' 2>&1 | tr '\n' ' '); rc=$?
unlike "...an ordinary user's login PATH has no /usr/sbin" "${out%% *}" "/usr/sbin"
like "...and in it, 'wsl-docker-agent status' finds the packaged agent (exit 0)" "$rc $out" "^0 PATH=.*healthy"

ino=$(dx "$P" stat -c %i /run/docker.sock)
out=$(dpkg_in -i "$pkg" 2>&1); rc=$?
is "an upgrade (dpkg -i again) while the agent runs: exit 0" "$rc" 0
is "...keeps /run/docker.sock, the same socket (start's supervisor holds it)" \
	"$(dx "$P" stat -c %i /run/docker.sock)" "$ino"
new=$(dx "$P" cat /run/wsl-docker-agent.pid 2>/dev/null)
if [ -n "$new" ] && [ "$new" != "$pid" ]; then ok "...the agent was restarted (pid $pid -> $new)"; else
	not_ok "...the agent was restarted" "pid before $pid, after '${new}'" "$out"; fi
is "...one agent process" "$(dx "$P" pgrep -xc wsl-docker-agen)" 1
like "...docker works" "$(dxu "$P" docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"

out=$(dpkg_in -r wsl-docker-agent 2>&1); rc=$?
is "dpkg -r: exit 0" "$rc" 0
is "...the agent is stopped" "$(dx "$P" pgrep -xc wsl-docker-agen)" 0
is "...no link is left (none would dangle)" "$(dx "$P" find /usr/local/bin /usr/local/lib/docker -type l)" ""
is "...no /run/docker.sock" "$(dx "$P" sh -c 'test -e /run/docker.sock && echo there || echo gone')" gone
is "...the configuration stays" "$(dx "$P" cat /etc/wsl-docker-agent/config.json)" "{}"
out=$(dpkg_in -P wsl-docker-agent 2>&1); rc=$?
is "dpkg -P: exit 0" "$rc" 0
is "...configuration, state and log are gone" \
	"$(dx "$P" sh -c 'ls -d /etc/wsl-docker-agent /var/lib/wsl-docker-agent /var/log/wsl-docker-agent.log 2>/dev/null')" ""

diag "ran $((SECONDS - t_lock)) s (after the lab lock)"
done_testing
