#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install what building, the demo and the tests need (Debian or Ubuntu, as
# root).  Quick when everything is already there.
set -eu

PKGS="build-essential autoconf automake pkg-config
libevent-dev libjson-c-dev libsystemd-dev libcriterion-dev
docker.io busybox-static socat util-linux procps psmisc curl
mandoc groff-base clang libclang-rt-dev valgrind python3
systemd-container debootstrap debian-archive-keyring debhelper lintian dpkg-dev"

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: run as root (the lab mounts file systems and runs dockerd)" >&2
	exit 77
fi
missing=""
for p in $PKGS ${EXTRA_PKGS:-}; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps.sh: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
