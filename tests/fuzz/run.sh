#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang, ASan and
# UBSan, and run each from its seed corpus for a fixed time.  Prints TAP.
#
#   tests/fuzz/run.sh                 # CI: FUZZ_SECONDS (default 20) each
#   FUZZ_SECONDS=3600 tests/fuzz/run.sh fuzz_protocol   # a long run
#
# A crash leaves its input in tests/fuzz/crashes/; copy it into the target's
# corpus (tests/fuzz/corpus/NAME/) and fix the bug: the corpus is replayed
# on every run, so it stays a regression test.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
seconds=${FUZZ_SECONDS:-20}
out=${FUZZ_BUILD:-$top/build-fuzz}
mkdir -p "$out" "$here/crashes"

defs="-DSYSCONFDIR=\"/etc\" -DLOCALSTATEDIR=\"/var\" -DRUNSTATEDIR=\"/run\"
 -DLIBEXECDIR=\"/usr/libexec\" -DPACKAGE_VERSION=\"fuzz\" -D_GNU_SOURCE"
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
libs=$(pkg-config --cflags --libs libevent json-c libsystemd)
srcs=$(ls "$top"/agent/*/*.c | grep -v '/main/main\.c$')

targets=${*:-$(cd "$here" && ls fuzz_*.c | sed 's/\.c$//')}
n=0; failed=0
for t in $targets; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	if ! clang $flags $defs -I"$top/agent" -o "$out/$t" "$here/$t.c" $srcs $libs \
		>"$out/$t.build.log" 2>&1; then
		echo "not ok $n - $t builds"; sed 's/^/#   /' "$out/$t.build.log" | head -30
		failed=$((failed + 1)); continue
	fi
	corpus=$here/corpus/${t#fuzz_}
	work=$(mktemp -d)
	rc=0
	ASAN_OPTIONS=detect_leaks=1 "$out/$t" -max_total_time="$seconds" \
		-max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$here/crashes/$t-" "$work" "$corpus" \
		>"$out/$t.log" 2>&1 || rc=$?
	rm -rf "$work"
	runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$out/$t.log" | grep -o '[0-9]*$' || true)
	[ -n "$runs" ] || runs=$(grep -Eo '^#[0-9]+' "$out/$t.log" | tail -1 | tr -d '#')
	if [ $rc -eq 0 ]; then
		echo "ok $n - $t: ${runs:-?} inputs in ${seconds}s, no crash, leak or UB"
	else
		echo "not ok $n - $t (exit $rc)"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$out/$t.log" | head -20 | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
done
echo "1..$n"
[ $failed -eq 0 ]
