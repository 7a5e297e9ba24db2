#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end under a real systemd: a debootstrapped Debian booted with
# systemd-nspawn, the lab's /mnt/wsl bound in and the lab's dockerd as
# Docker Desktop.  The package built for that release is installed with
# apt; then the unit, its STATUS, docker as an ordinary user, reload, the
# watchdog, socket activation, systemd-analyze, and what remove and purge
# leave.  TAP.
#
# One variable picks the release: WDA_SUITE (bookworm: systemd 252;
# trixie: systemd 257 and the t64 library names).  Without it the suite
# runs once per release (tests/e2e/per-release), every result named after
# its release.
#
# The host need not run systemd: nspawn runs with --register=no (no
# machined to register with) and --keep-unit (no systemd to make a scope
# in); see "## systemd" in README.md.
#
# The root file system is cached in $WDA_NSPAWN_DIR/SUITE
# (/var/tmp/wda-nspawn); the first run debootstraps it from the Debian
# archive apt uses (bounded by WDA_DEBOOTSTRAP_TIMEOUT seconds), later
# runs boot an overlay of it.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
t_lock=$SECONDS # (lib.sh waited for the lab lock)

. "$(dirname "$0")/per-release"
per_release

NSPAWN_DIR=${WDA_NSPAWN_DIR:-/var/tmp/wda-nspawn}
MIRROR=${WDA_DEBIAN_MIRROR:-$("$E2E_TOP/tests/e2e/build-deb" --mirror)}
DEBOOTSTRAP_TIMEOUT=${WDA_DEBOOTSTRAP_TIMEOUT:-900}
SUITE=$WDA_SUITE
# What the package needs (the release's library names: trixie's libevent
# is libevent-2.1-7t64 since the 64-bit time_t transition), and what the
# test drives it with.
case $SUITE in
bookworm) LIBS=libevent-2.1-7,libjson-c5,libsystemd0 ;;
trixie) LIBS=libevent-2.1-7t64,libjson-c5,libsystemd0 ;;
*) bail "WDA_SUITE=$SUITE: bookworm or trixie" ;;
esac
INCLUDE=systemd,systemd-sysv,dbus,$LIBS,procps
CACHE=$NSPAWN_DIR/$SUITE
MACHINE=wda-sd
AGENT=wsl-docker-agent
CLI=/mnt/wsl/docker-desktop/cli-tools
SHIM=/usr/libexec/wsl-docker-agent/wsl-docker-shim
DEV_UID=1000
SANE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

run=$NSPAWN_DIR/run.$$
root=$run/root
nspawn_pid=
leader=
tmp=$(mktemp -d)

diag "systemd-nspawn $(systemd-nspawn --version | head -n 1); host PID 1 is $(cat /proc/1/comm)"

stop_container() {
	[ -n "$nspawn_pid" ] || return 0
	if kill -0 "$nspawn_pid" 2>/dev/null; then
		# nspawn passes SIGTERM on as a request to halt the container.
		kill -TERM "$nspawn_pid" 2>/dev/null
		wait_until 30 sh -c "! kill -0 $nspawn_pid 2>/dev/null" ||
			kill -KILL "$nspawn_pid" 2>/dev/null
	fi
	wait "$nspawn_pid" 2>/dev/null
	nspawn_pid=
}

cleanup() {
	stop_container
	if mountpoint -q "$root" 2>/dev/null; then
		umount "$root" 2>/dev/null || umount -l "$root"
	fi
	rm -rf --one-file-system "$run" "$tmp"
	# nspawn cannot remove its propagation directory when /run is not a
	# tmpfs (it refuses to rm -rf on a disk file system).
	rm -rf "/run/systemd/nspawn/propagate/$MACHINE"
	lab_down
}
trap cleanup EXIT


# ---- the root file system, cached --------------------------------------
cache_ok() { [ "$(cat "$CACHE/.wda-ready" 2>/dev/null)" = "$SUITE $INCLUDE" ]; }
make_cache() {
	local new=$CACHE.new.$$
	rm -rf --one-file-system "$new"
	timeout "$DEBOOTSTRAP_TIMEOUT" debootstrap --variant=minbase \
		--include="$INCLUDE" "$SUITE" "$new" "$MIRROR" >"$tmp/debootstrap.log" 2>&1 || {
		tail -n 20 "$tmp/debootstrap.log"
		rm -rf --one-file-system "$new"
		return 1
	}
	# Deterministic and quiet: a host name of its own, no timers that
	# would take the apt lock or do work while the test runs, a user.
	echo "$MACHINE" >"$new/etc/hostname"
	for t in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
		e2scrub_all.timer fstrim.timer systemd-tmpfiles-clean.timer; do
		ln -sf /dev/null "$new/etc/systemd/system/$t"
	done
	chroot "$new" useradd --create-home --uid "$DEV_UID" --shell /bin/sh dev &&
	echo "$SUITE $INCLUDE" >"$new/.wda-ready" &&
	rm -rf --one-file-system "$CACHE" && mv "$new" "$CACHE"
}
mkdir -p "$NSPAWN_DIR"
if cache_ok; then
	ok "the $SUITE root file system is cached in $CACHE"
else
	t0=$(date +%s)
	if make_cache; then
		ok "debootstrap $SUITE into $CACHE ($(($(date +%s) - t0)) s)"
	else
		bail "debootstrap $SUITE from $MIRROR (within ${DEBOOTSTRAP_TIMEOUT}s)" "$(tail -n 5 "$tmp/debootstrap.log")"
	fi
fi

# ---- the package ---------------------------------------------------------
t0=$(date +%s)
debdir=$("$E2E_TOP/tests/e2e/build-deb" "$SUITE" 2>"$tmp/build-deb.err") ||
	bail "the package builds" "$(tail -n 20 "$tmp/build-deb.err")"
deb=$(ls "$debdir"/wsl-docker-agent_*.deb)
ok "the package is built: ${deb##*/} ($(($(date +%s) - t0)) s)"

lab_up

# ---- boot ----------------------------------------------------------------
mkdir -p "$run/upper" "$run/work" "$root"
mount -t overlay "wda-nspawn-$$" \
	-o "lowerdir=$CACHE,upperdir=$run/upper,workdir=$run/work" "$root" ||
	bail "overlay of the cached root file system"
mkdir -p "$root/var/cache/wda"
cp "$deb" "$root/var/cache/wda/"

# The machine's nspawn (252) boots either release.  On this machine's
# hybrid cgroup layout it gives the container the same hybrid hierarchy;
# systemd 257 (trixie), deprecating cgroup v1, still boots on it
# in a container and only marks itself tainted "cgroupsv1" (systemctl show
# -P Tainted), so nothing here differs by release.
t0=$(now_ms)
env -u NOTIFY_SOCKET systemd-nspawn --quiet --directory="$root" --boot \
	--machine="$MACHINE" --register=no --keep-unit --console=read-only \
	--bind=/mnt/wsl </dev/null >"$run/console.log" 2>&1 &
nspawn_pid=$!

# The container's PID 1: a descendant of nspawn running systemd.
find_leader() {
	local p kids
	kids=$(cat /proc/"$nspawn_pid"/task/*/children 2>/dev/null) || return 1
	for p in $kids $(for k in $kids; do cat /proc/"$k"/task/*/children 2>/dev/null; done); do
		if [ "$(cat /proc/"$p"/comm 2>/dev/null)" = systemd ] &&
			grep -Eq '^NSpid:.*[[:space:]]1$' /proc/"$p"/status 2>/dev/null; then
			leader=$p
			return 0
		fi
	done
	return 1
}
# X: a command in the container, as root; XU: as user dev.
X() { nsenter -t "$leader" -a -- /usr/bin/env -i PATH="$SANE_PATH" LANG=C.UTF-8 "$@"; }
XU() {
	X setpriv --reuid="$DEV_UID" --regid="$DEV_UID" --init-groups -- \
		/usr/bin/env HOME=/home/dev USER=dev "$@"
}
booted() { case $(X systemctl is-system-running 2>/dev/null) in running | degraded) return 0 ;; esac; return 1; }
if wait_until 30 find_leader && wait_until 60 booted; then
	ok "systemd boots in systemd-nspawn ($(($(now_ms) - t0)) ms, state $(X systemctl is-system-running))"
else
	bail "systemd boots in systemd-nspawn" "$(tail -n 30 "$run/console.log")"
fi
failed_units=$(X systemctl --failed --plain --no-legend)
[ -z "$failed_units" ] || diag "failed units at boot: $failed_units"

# ---- install -------------------------------------------------------------
apt_install() {
	X env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"/var/cache/wda/${deb##*/}" >"$tmp/apt.log" 2>&1
}
t0=$(now_ms)
if ! apt_install; then
	# A dependency the cached tree lacks: fetch it from the mirror.
	diag "apt install without the network failed; trying apt-get update"
	X apt-get update -q >>"$tmp/apt.log" 2>&1
	apt_install
fi
rc=$?
if [ "$rc" -eq 0 ]; then ok "apt installs the package ($(($(now_ms) - t0)) ms)"; else
	bail "apt installs the package" "$(tail -n 20 "$tmp/apt.log")"; fi

like "sysusers created the docker group" "$(X getent group docker)" "^docker:x:[0-9]+:"
X usermod -aG docker dev
is "the service is enabled" "$(X systemctl is-enabled $AGENT.service)" enabled
is "the service is active" "$(X systemctl is-active $AGENT.service)" active
is "the socket unit is installed, not enabled" "$(X systemctl is-enabled $AGENT.socket)" disabled
is "the configuration is the packaged {}" "$(X cat /etc/wsl-docker-agent/config.json)" "{}"

# (Outputs are captured before grep: grep -q ending a pipeline early would
# fail it under pipefail.)
ready_status() { grep -q 'Status: "docker ready' <<<"$(X systemctl status --no-pager $AGENT.service)"; }
wait_until 20 ready_status
out=$(X systemctl status --no-pager $AGENT.service 2>&1)
like "systemctl status shows the agent's STATUS line" "$out" \
	"Status: \"docker ready: engine $ENGINE_VERSION_RE"'[0-9.a-z+]+ at /run/docker.sock \(proxy\), [0-9]+ links"'
like "systemctl status: Type=notify reached active (running)" "$out" "Active: active \(running\)"
is "/run/docker.sock is root:docker 0660" "$(X stat -c '%U:%G %a %F' /run/docker.sock)" "root:docker 660 socket"
is "docker is linked from Docker Desktop's cli-tools" "$(X readlink /usr/local/bin/docker)" "$CLI_VIEW/usr/bin/docker"
like "docker version as user dev (group docker)" \
	"$(XU docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
check "wsl-docker-agent status as user dev exits 0" XU $AGENT status
# As dev types it: a login shell, the release's own PATH (no /usr/sbin).
out=$(XU bash -lc 'echo "$PATH"; wsl-docker-agent doctor' 2>&1); rc=$?
like "wsl-docker-agent doctor in dev's login shell, whose PATH lacks /usr/sbin, finds nothing (exit 0)" \
	"$rc $(tr '\n' ' ' <<<"$out")" "^0 [^ ]*/usr/bin[^ ]* wsl-docker-agent doctor: dev in distro .*: nothing found"
unlike "...(that PATH)" "$(head -n 1 <<<"$out")" "(^|:)/usr/sbin(:|$)"

# ---- systemd-analyze -----------------------------------------------------
out=$(X systemd-analyze verify --man=no $AGENT.service $AGENT.socket 2>&1); rc=$?
if [ "$rc" -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify: no complaint"; else
	not_ok "systemd-analyze verify: no complaint" "exit $rc" "$out"; fi
X systemd-analyze security --no-pager $AGENT.service >"$tmp/security.txt" 2>&1
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' "$tmp/security.txt")
diag "systemd-analyze security $AGENT.service: ${score:-?} ($(grep -c '✗' "$tmp/security.txt") settings marked ✗)"
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 4.5) }'; then
	ok "systemd-analyze security: exposure $score <= 4.5"
else
	not_ok "systemd-analyze security: exposure <= 4.5" "$(tail -n 5 "$tmp/security.txt")"
fi
check "no private mount namespace: the agent sees the distro's mounts" \
	test "$(X readlink /proc/1/ns/mnt)" = "$(X sh -c "readlink /proc/\$(systemctl show -P MainPID $AGENT.service)/ns/mnt")"

# ---- reload --------------------------------------------------------------
# The agent's journal since a time (date +%s) matches a regex.
journal_since() { grep -Eq -- "$2" <<<"$(X journalctl -u $AGENT.service --since "@$1" -o cat)"; }
# reload_logs DESCRIPTION REGEX: systemctl reload, then the journal says so.
reload_logs() {
	local since
	since=$(X date +%s)
	X systemctl reload $AGENT.service
	if wait_until 10 journal_since "$since" "$2"; then ok "$1"; else
		not_ok "$1" "$(X journalctl -u $AGENT.service -n 10 -o cat)"; fi
}
pid=$(X systemctl show -P MainPID $AGENT.service)
reload_logs "systemctl reload: the agent reloads its configuration" "configuration reloaded"
is "systemctl reload: same process" "$(X systemctl show -P MainPID $AGENT.service)" "$pid"
X sh -c 'echo "{\"socket\": {\"mode\": \"bogus\"}}" >/etc/wsl-docker-agent/config.json'
reload_logs "a bad configuration on reload is refused, naming the key" "reload failed.*socket.mode"
is "...and the agent keeps running" "$(X systemctl is-active $AGENT.service)/$(X systemctl show -P MainPID $AGENT.service)" "active/$pid"
X sh -c 'echo "{}" >/etc/wsl-docker-agent/config.json'

# ---- the socket outlives the agent (issue 21) -------------------------------
# What a container holds: a process in a mount namespace of its own that
# bind-mounted /run/docker.sock before any restart, as docker run -v does,
# and asks the engine through that mount five times a second.  After each
# way the agent goes away and comes back, /run/docker.sock is the same
# socket (inode), and the holder reaches the engine again.
DOCKER=$CLI/usr/bin/docker
X env HOME=/root sh -c "unshare -m --propagation private sh -c 'touch /tmp/held.sock &&
	mount --bind /run/docker.sock /tmp/held.sock && i=0 && while :; do
	if $DOCKER -H unix:///tmp/held.sock version >/dev/null 2>&1; then echo ok \$i; else echo fail \$i; fi
	i=\$((i + 1)); sleep 0.2; done' >/run/held.log 2>&1 </dev/null &"
held_ok() { X grep -c '^ok' /run/held.log; }
held_more() { [ "$(held_ok)" -gt "$1" ]; }
# reaches_again DESCRIPTION: the holder's answers go on.
reaches_again() {
	local before
	before=$(held_ok)
	if wait_until 30 held_more "$before"; then ok "$1"; else
		not_ok "$1" "$(X tail -n 5 /run/held.log)"; fi
}
ino=$(X stat -c %i /run/docker.sock)
reaches_again "a process that bind-mounted /run/docker.sock reaches the engine through it"
sd_pid() { X systemctl show -P MainPID $AGENT.service; }
# new_agent PID: systemd runs another agent, and it is ready.
new_agent() { local p; p=$(sd_pid); [ "$p" != "$1" ] && [ "$p" != 0 ] && ready_status; }

pid=$(sd_pid)
restarts=$(X systemctl show -P NRestarts $AGENT.service)
X kill -KILL "$pid"
# A client that connects while the agent is away waits and is served.
out=$(XU timeout 30 $DOCKER version --format '{{.Server.Version}}' 2>&1)
like "kill -9: a client that connects while the agent is away is served" "$out" "^$ENGINE_VERSION_RE"
if wait_until 30 new_agent "$pid"; then ok "...systemd restarts the agent (Restart=on-failure)"
else not_ok "...systemd restarts the agent" "$(X systemctl status --no-pager $AGENT.service 2>&1 | tail -n 10)"; fi
is "...NRestarts went up by one" "$(X systemctl show -P NRestarts $AGENT.service)" "$((restarts + 1))"
is "...the same socket (inode $ino)" "$(X stat -c %i /run/docker.sock)" "$ino"
reaches_again "...the holder reaches the engine again"

pid=$(sd_pid)
X systemctl restart $AGENT.service
if wait_until 30 new_agent "$pid"; then ok "systemctl restart: a new agent"; else not_ok "systemctl restart: a new agent"; fi
is "...the same socket, from the fd store" "$(X stat -c %i /run/docker.sock)" "$ino"
reaches_again "...the holder reaches the engine again"

pid=$(sd_pid)
X systemctl reload $AGENT.service
is "systemctl reload: the same agent and socket" "$(sd_pid) $(X stat -c %i /run/docker.sock)" "$pid $ino"
reaches_again "...the holder reaches the engine"

# A package upgrade: dpkg runs prerm upgrade and postinst configure, which
# restart the service (debhelper's restart-after-upgrade).
pid=$(sd_pid)
if X env DEBIAN_FRONTEND=noninteractive dpkg -i "/var/cache/wda/${deb##*/}" >"$tmp/upgrade.log" 2>&1; then
	ok "dpkg -i over the installed package (an upgrade)"
else not_ok "dpkg -i over the installed package (an upgrade)" "$(tail -n 10 "$tmp/upgrade.log")"; fi
if wait_until 30 new_agent "$pid"; then ok "...restarts the agent"; else not_ok "...restarts the agent" "MainPID $pid -> $(sd_pid)"; fi
is "...the same socket" "$(X stat -c %i /run/docker.sock)" "$ino"
reaches_again "...the holder reaches the engine again"

# Six starts in two minutes above: systemd 257 (trixie) counts them all
# against StartLimitBurst=5 and would refuse the watchdog's restart below
# ("start-limit-hit"); a user does not restart it that often.
X systemctl reset-failed $AGENT.service

# ---- the watchdog ----------------------------------------------------------
X mkdir -p /run/systemd/system/$AGENT.service.d
X sh -c "printf '[Service]\nWatchdogSec=2s\nTimeoutAbortSec=2s\nRestartSec=1s\nLimitCORE=0\n' >/run/systemd/system/$AGENT.service.d/watchdog-test.conf"
X systemctl daemon-reload
X systemctl restart $AGENT.service
pid=$(X systemctl show -P MainPID $AGENT.service)
restarts=$(X systemctl show -P NRestarts $AGENT.service)
is "a short watchdog for the test (drop-in)" "$(X systemctl show -P WatchdogUSec $AGENT.service)" 2s
# Longer than the watchdog interval: the agent keeps pinging while it runs.
X sleep 5
is "a running agent keeps the watchdog fed (no restart in 5 s)" \
	"$(X systemctl show -P MainPID $AGENT.service)" "$pid"
since=$(X date +%s)
t0=$(now_ms)
X kill -STOP "$pid"
replaced() {
	local p
	p=$(X systemctl show -P MainPID $AGENT.service)
	[ "$p" != "$pid" ] && [ "$p" != 0 ] && [ "$(X systemctl is-active $AGENT.service)" = active ]
}
if wait_until 30 replaced; then
	ok "SIGSTOP: the watchdog kills the hung agent and systemd restarts it ($(($(now_ms) - t0)) ms)"
else
	not_ok "SIGSTOP: the watchdog restarts the agent" "$(X systemctl status --no-pager $AGENT.service 2>&1 | tail -n 15)"
fi
check "...the journal names the watchdog" journal_since "$since" "Watchdog timeout"
is "...NRestarts went up by one" "$(X systemctl show -P NRestarts $AGENT.service)" "$((restarts + 1))"
wait_until 20 ready_status
like "...and docker works again" "$(XU docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
is "...through the same socket" "$(X stat -c %i /run/docker.sock)" "$ino"
reaches_again "...and the holder reaches the engine again"
X pkill -f held.sock
X rm -rf /run/systemd/system/$AGENT.service.d
X systemctl daemon-reload

# ---- socket activation -----------------------------------------------------
# The suite starts the service faster than its default start limit allows
# (StartLimitBurst=5 in StartLimitIntervalSec=10s): systemd 257 counts the
# watchdog's restart and the restarts above, and refused the start that a
# client's connection triggers below ("start-limit-hit").  reset-failed
# clears that count; no user starts it six times in ten seconds.
X systemctl reset-failed $AGENT.service
X systemctl stop $AGENT.service
out=$(XU $AGENT doctor 2>&1); rc=$?
like "the service stopped: doctor as dev says so, with its systemctl line" "$rc $(tr '\n' ' ' <<<"$out")" \
	"^2 .*agent-not-running: the agent is not running .*Fix: start it: sudo systemctl enable --now wsl-docker-agent\."
X systemctl enable --now $AGENT.socket >/dev/null 2>&1
is "the socket unit listens" "$(X systemctl is-active $AGENT.socket)" active
is "...on /run/docker.sock, root:docker 0660" "$(X stat -c '%U:%G %a %F' /run/docker.sock)" "root:docker 660 socket"
since=$(X date +%s)
X systemctl start $AGENT.service
check "the agent takes the socket from systemd" journal_since "$since" "from socket activation"
like "docker version through the activated socket" "$(XU docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
ino=$(X stat -c %i /run/docker.sock)
pid=$(X systemctl show -P MainPID $AGENT.service)
X systemctl restart $AGENT.service
is "systemctl restart keeps the socket (same inode)" "$(X stat -c %i /run/docker.sock)" "$ino"
new_pid=$(X systemctl show -P MainPID $AGENT.service)
if [ "$new_pid" != "$pid" ] && [ "$new_pid" != 0 ]; then ok "...while the agent did restart"; else
	not_ok "...while the agent did restart" "MainPID $pid -> $new_pid"; fi
like "...and docker works through it" "$(XU docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
# While the service is down the socket stays; the next client waits in
# its backlog and starts the agent.
X systemctl stop $AGENT.service 2>/dev/null
is "service stopped, socket still listening" \
	"$(X systemctl is-active $AGENT.service)/$(X systemctl is-active $AGENT.socket)" "inactive/active"
is "...links point at the shim while the agent is away" "$(X readlink /usr/local/bin/docker)" "$SHIM"
# (The docker CLI itself: the link leads to the shim now, which explains
# that the agent is not running rather than connecting.)
like "a client as user dev starts the stopped agent through the socket" \
	"$(XU timeout 30 $CLI/usr/bin/docker version --format '{{.Server.Version}}' 2>&1)" "^$ENGINE_VERSION_RE"
is "...which is active again" "$(X systemctl is-active $AGENT.service)" active
[ "$(X systemctl is-active $AGENT.service)" = active ] ||
	diag "$(X journalctl -u $AGENT.service -u $AGENT.socket -n 25 -o short-precise --no-pager)"
wait_until 20 ready_status
is "...and has linked docker from cli-tools again" "$(X readlink /usr/local/bin/docker)" "$CLI_VIEW/usr/bin/docker"

# ---- remove --------------------------------------------------------------
X mkdir -p /opt/mine
X sh -c 'echo mine >/usr/local/bin/mytool && chmod +x /usr/local/bin/mytool'
if X env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q $AGENT >"$tmp/remove.log" 2>&1; then
	ok "apt-get remove"; else not_ok "apt-get remove" "$(tail -n 20 "$tmp/remove.log")"; fi
is "remove: both units are stopped" \
	"$(X systemctl is-active $AGENT.service $AGENT.socket | tr '\n' ' ')" "inactive inactive "
is "remove: no /run/docker.sock" "$(X sh -c 'test -e /run/docker.sock && echo there || echo gone')" gone
is "remove: no link dangles in /usr/local" "$(X find /usr/local -xtype l)" ""
is "remove: the agent's links are gone" "$(X find /usr/local/bin /usr/local/lib/docker -type l)" ""
is "remove: a file of the user's in /usr/local/bin stays" "$(X cat /usr/local/bin/mytool)" mine
is "remove: the configuration stays" "$(X cat /etc/wsl-docker-agent/config.json)" "{}"
check "remove: the state (manifest) stays" X test -s /var/lib/wsl-docker-agent/manifest.json

# ---- purge, with a manifest that lists more than what is still the agent's
# Things the agent made, as the manifest lists them, and things that were
# the agent's but are no longer (a link the user pointed elsewhere, a file
# written since, a socket someone listens on now): purge removes the first,
# keeps the second, and skips an entry whose path it cannot read safely.
X sh -c '
set -e
ln -s /opt/mine/x /usr/local/bin/ours-link
ln -s /opt/mine/mydocker /usr/local/bin/docker       # recorded target: the shim
: >/run/ours-point
echo written >/run/theirs-file
: >/run/ours-mount && mount --bind /etc/hostname /run/ours-mount
mkdir /run/ours-bind && mount -t tmpfs wda-test /run/ours-bind
: >"/run/odd\"name"
'
# A stale socket (its listener is gone) and a live one.
X sh -c 'systemd-socket-activate -l /run/ours-stale.sock true >/dev/null 2>&1 & p=$!; while ! test -S /run/ours-stale.sock; do sleep 0.05; done; kill -9 $p'
# fd 9 (the lab lock) closed: a straggler must never hold the lab.
X sh -c 'exec systemd-socket-activate -l /run/theirs-live.sock true' >/dev/null 2>&1 9>&- &
live_pid=$!
wait_until 10 X test -S /run/theirs-live.sock
X sh -c 'cat >/var/lib/wsl-docker-agent/manifest.json' <<'EOF'
{
  "version":1,
  "entries":[
    {
      "kind":"link",
      "path":"/usr/local/bin/ours-link",
      "target":"/opt/mine/x"
    },
    {
      "kind":"link",
      "path":"/usr/local/bin/docker",
      "target":"/usr/libexec/wsl-docker-agent/wsl-docker-shim"
    },
    {
      "kind":"link",
      "path":"/usr/local/bin/mytool",
      "target":"/opt/mine/x"
    },
    {
      "kind":"file",
      "path":"/run/ours-point"
    },
    {
      "kind":"file",
      "path":"/run/theirs-file"
    },
    {
      "kind":"mount",
      "path":"/run/ours-mount",
      "target":"/etc/hostname"
    },
    {
      "kind":"file",
      "path":"/run/ours-mount"
    },
    {
      "kind":"bindmount",
      "path":"/run/ours-bind",
      "target":"/home/dev"
    },
    {
      "kind":"socket",
      "path":"/run/ours-stale.sock"
    },
    {
      "kind":"socket",
      "path":"/run/theirs-live.sock"
    },
    {
      "kind":"file",
      "path":"/run/odd\"name"
    }
  ]
}
EOF
if X env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $AGENT >"$tmp/purge.log" 2>&1; then
	ok "apt-get purge"; else not_ok "apt-get purge" "$(tail -n 20 "$tmp/purge.log")"; fi
gone() { X sh -c "for p; do if test -e \"\$p\" || test -L \"\$p\"; then echo \"\$p\"; fi; done" sh "$@"; }
is "purge: removes the links, files, mounts and stale socket the agent made" \
	"$(gone /usr/local/bin/ours-link /run/ours-point /run/ours-mount /run/ours-bind /run/ours-stale.sock)" ""
is "purge: keeps a link the user pointed elsewhere" "$(X readlink /usr/local/bin/docker)" /opt/mine/mydocker
is "purge: keeps a file that is not a link any more" "$(X cat /usr/local/bin/mytool)" mine
is "purge: keeps a file written since" "$(X cat /run/theirs-file)" written
is "purge: keeps a socket something listens on" "$(X stat -c %F /run/theirs-live.sock)" socket
check "purge: skips an entry it cannot read safely (an escaped path)" X test -e '/run/odd"name'
is "purge: no mount is left below /run" "$(X findmnt -rn -o TARGET | grep -E '^/run/ours' || true)" ""
is "purge: no configuration, state, log or runtime files" \
	"$(gone /etc/wsl-docker-agent /var/lib/wsl-docker-agent /var/log/wsl-docker-agent.log /run/wsl-docker-agent /run/wsl-docker-agent.pid /run/docker.sock)" ""
is "purge: the units are gone" "$(X systemctl list-unit-files 'wsl-docker-agent*' --no-legend | wc -l)" 0
# The listener lives inside the container: end it there, then our side.
X pkill -f 'systemd-socket-activate -l /run/theirs-live.sock' 2>/dev/null
kill "$live_pid" 2>/dev/null
wait "$live_pid" 2>/dev/null

stop_container
diag "ran $((SECONDS - t_lock)) s (after the lab lock)"
done_testing
