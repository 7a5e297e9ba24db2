#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package: `dpkg-buildpackage -us -uc -b` from a clean copy of
# the tree builds it (tests/e2e/build-deb); lintian at --pedantic with the
# experimental tags has nothing to say that is not overridden with a
# reason; the .deb holds what it must, in the right places, with its
# conffile, dependencies, hardened binaries and maintainer scripts; the
# unit's systemd-analyze security score.  Installing it under systemd and
# without is systemd.sh's and nosystemd.sh's.  Prints TAP.
#
# Once per release (tests/e2e/per-release; WDA_SUITE picks one): the
# package built for bookworm on this machine, and for trixie in its build
# chroot, each checked by its own release's lintian and run there.
set -uo pipefail
# No lab: nothing below /mnt/wsl, no dockerd (build-deb has a lock of its own).
E2E_NO_LAB=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/per-release"
per_release
SUITE=$WDA_SUITE
# Where the units are: trixie finished the /usr merge (debian/rules).
case $SUITE in
bookworm) UNITDIR=/lib/systemd/system ;;
*) UNITDIR=/usr/lib/systemd/system ;;
esac
# CMD... in the release's build environment, in the build directory.
in_build() { "$E2E_TOP/tests/e2e/build-deb" --run "$debdir" "$@"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

t0=$(date +%s)
if debdir=$("$E2E_TOP/tests/e2e/build-deb" "$SUITE" 2>"$tmp/build.err"); then
	ok "dpkg-buildpackage -us -uc -b builds the package ($(cat "$debdir/seconds") s to build, $(($(date +%s) - t0)) s here)"
else
	not_ok "dpkg-buildpackage -us -uc -b builds the package" "$(tail -n 30 "$tmp/build.err")"
	done_testing
	exit 1
fi
version=$(dpkg-parsechangelog -l "$E2E_TOP/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
deb=$debdir/wsl-docker-agent_${version}_$arch.deb
check "the package is wsl-docker-agent_${version}_$arch.deb" test -f "$deb"
like "the build ran the unit tests (dh_auto_test)" "$(grep -E '^# (TOTAL|FAIL):' "$debdir/build.log" | tr '\n' ' ')" \
	'# TOTAL: [1-9][0-9]* # FAIL: +0 '

# ---- lintian ---------------------------------------------------------------
in_build sh -c 'lintian --pedantic --info --display-experimental --show-overrides *.changes *.dsc' \
	>"$tmp/lintian" 2>&1
diag "lintian $(in_build lintian --version | awk '{ print $2 }'): $(grep -c '^O:' "$tmp/lintian") overridden tags"
while IFS= read -r l; do diag "  $l"; done < <(grep '^O:' "$tmp/lintian")
is "lintian --pedantic --info --display-experimental: no error, warning, info, pedantic or experimental tag" \
	"$(grep -E '^[EWIPX]: ' "$tmp/lintian")" ""
# Each override carries its reason: a comment right above it.
bad=$(for f in "$E2E_TOP"/debian/*lintian-overrides "$E2E_TOP"/debian/source/lintian-overrides; do
	[ -f "$f" ] && awk -v f="${f#"$E2E_TOP"/}" '
		/^[[:space:]]*$/ { reason = 0; next }
		/^#/ { reason = 1; next }
		!reason { print f ":" NR ": " $0 }' "$f"
done)
is "every lintian override is preceded by its reason" "$bad" ""

# ---- contents ----------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/files"
missing=""
for f in /usr/bin/wsl-docker-agent /usr/sbin/wsl-docker-agent /usr/sbin/wsl-docker-agent-wslconf \
	/usr/libexec/wsl-docker-agent/wsl-docker-shim \
	$UNITDIR/wsl-docker-agent.service $UNITDIR/wsl-docker-agent.socket \
	/usr/lib/sysusers.d/wsl-docker-agent.conf /etc/wsl-docker-agent/config.json \
	/usr/share/man/man1/wsl-docker-shim.1.gz /usr/share/man/man5/wsl-docker-agent.conf.5.gz \
	/usr/share/man/man7/wsl-docker-agent-protocol.7.gz /usr/share/man/man8/wsl-docker-agent.8.gz \
	/usr/share/man/man8/wsl-docker-agent-wslconf.8.gz /usr/share/doc/wsl-docker-agent/copyright; do
	grep -qxF "$f" "$tmp/files" || missing="$missing $f"
done
is "the .deb holds the agent, the shim, the wsl.conf tool, the units, the sysusers entry, the configuration and every man page" "$missing" ""
is "...and nothing in /usr/local, /var/run or /run" "$(grep -E '^/(usr/local|var/run|run)/' "$tmp/files")" ""
is "the man pages in the tree are all in the .deb" \
	"$(for m in "$E2E_TOP"/man/*.[1-8]; do n=${m##*/}; grep -qxF "/usr/share/man/man${n##*.}/$n.gz" "$tmp/files" || echo "$n"; done)" ""
mkdir -p "$tmp/root" "$tmp/ctl"
dpkg-deb -x "$deb" "$tmp/root"
dpkg-deb -e "$deb" "$tmp/ctl"
is "conffiles: the configuration" "$(cat "$tmp/ctl/conffiles")" /etc/wsl-docker-agent/config.json
is "the configuration is {}" "$(cat "$tmp/root/etc/wsl-docker-agent/config.json")" "{}"
is "the sysusers entry makes the docker group" "$(grep -v '^#' "$tmp/root/usr/lib/sysusers.d/wsl-docker-agent.conf")" "g docker - -"
depends=$(dpkg-deb -f "$deb" Depends)
like "Depends: a sysusers implementation" "$depends" "systemd \| systemd-standalone-sysusers \| systemd-sysusers"
like "Depends: libevent, json-c, libsystemd" "$depends" "libevent-2\.1-7.*libjson-c5.*libsystemd0"
# The release's own library names: trixie's libevent has the t64 suffix of
# the 64-bit time_t transition, bookworm's has none.
case $SUITE in
trixie) libevent=libevent-2.1-7t64 ;;
*) libevent=libevent-2.1-7 ;;
esac
like "Depends: $libevent, $SUITE's name for libevent" "$depends" "(^|, )${libevent//./\\.}( |,|$)"
# (Run where they were built: trixie's need its C library.)
is "the binaries report the package's version" \
	"$(in_build sh -c 'd=$(mktemp -d) && dpkg-deb -x "$1" "$d" &&
		echo "$("$d/usr/bin/wsl-docker-agent" --version) / $("$d/usr/sbin/wsl-docker-agent-wslconf" --version)"
		rm -rf "$d"' sh "${deb##*/}" 2>&1)" \
	"wsl-docker-agent ${version%-*} / wsl-docker-agent-wslconf ${version%-*}"
is "the unit runs the installed agent" "$(grep '^ExecStart=' "$tmp/root$UNITDIR/wsl-docker-agent.service")" \
	"ExecStart=/usr/bin/wsl-docker-agent run"
bad=""
for b in usr/bin/wsl-docker-agent usr/libexec/wsl-docker-agent/wsl-docker-shim; do
	# (Whole outputs first: grep -q ending a pipeline early would fail
	# it under pipefail.)
	elf=$(readelf -W -h -d -l --dyn-syms "$tmp/root/$b")
	grep -q 'Type:.*DYN' <<<"$elf" || bad="$bad $b:not-PIE"
	grep -q 'BIND_NOW' <<<"$elf" || bad="$bad $b:no-BIND_NOW"
	grep -q 'GNU_RELRO' <<<"$elf" || bad="$bad $b:no-RELRO"
	grep -q '__stack_chk_fail' <<<"$elf" || bad="$bad $b:no-stack-protector"
	grep -q '_chk@' <<<"$elf" || bad="$bad $b:no-fortify"
done
is "hardening=+all: PIE, full RELRO, stack protector, fortified calls" "$bad" ""

# ---- maintainer scripts -------------------------------------------------------
for s in preinst postinst prerm postrm; do
	[ -f "$tmp/ctl/$s" ] || continue
	check "$s is valid POSIX sh (dash -n)" dash -n "$tmp/ctl/$s"
done
like "postinst: systemd-sysusers makes the docker group" "$(cat "$tmp/ctl/postinst")" \
	"systemd-sysusers .*wsl-docker-agent\.conf"
like "postinst: the service is enabled and started" "$(cat "$tmp/ctl/postinst")" \
	"deb-systemd-helper enable 'wsl-docker-agent\.service'"
like "prerm: remove stops the socket and the service" "$(tr '\n' ' ' <"$tmp/ctl/prerm")" \
	"stop 'wsl-docker-agent\.socket'.*stop 'wsl-docker-agent\.service'"
unlike "the maintainer scripts never touch /etc/wsl.conf" \
	"$(cat "$tmp/ctl/postinst" "$tmp/ctl/prerm" "$tmp/ctl/postrm" | grep -v '^[[:space:]]*#')" "wsl\.conf"

# ---- the unit's exposure -------------------------------------------------------
systemd-analyze security --offline=true --root="$tmp/root" wsl-docker-agent.service >"$tmp/security" 2>&1
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' "$tmp/security")
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 4.5) }'; then
	ok "systemd-analyze security --offline: exposure $score <= 4.5"
else
	not_ok "systemd-analyze security --offline: exposure <= 4.5" "$(tail -n 5 "$tmp/security")"
fi

done_testing
