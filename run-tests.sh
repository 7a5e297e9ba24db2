#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run every test of wsl-docker-agent, from a fresh Debian or Ubuntu machine,
# as root:  sudo ./run-tests.sh
#
#  1. installs what it needs (apt-get), builds with warnings as errors;
#  2. unit tests (Criterion) in a normal and an ASan+UBSan build, and the
#     libFuzzer targets for a short fixed time (tests/fuzz/run.sh), and the
#     static checks (tests/lint.sh: cppcheck, clang-tidy, man page lint);
#  3. end-to-end tests in the WSL-like lab: a real dockerd, the real docker
#     CLI, simulated distros in their own mount namespaces (tests/e2e/),
#     once per lab flavour in E2E_ENGINES (default "simple desktop":
#     the engine on the machine, and Docker Desktop's layout with engine
#     26; see tests/lab/lab.sh help). Suites that use the lab are counted per
#     flavour, as e2e-SUITE-FLAVOUR; the others run once.
# Ends with one line "N passed, M failed"; exits non-zero on any failure.
set -eu
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"

./tests/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
failures=""

# Count a step's TAP-ish results into the totals.
count() { # name log rc
	p=$(grep -cE '^(ok|PASS:) ' "$2" || true)
	f=$(grep -cE '^(not ok|FAIL:|ERROR:) ' "$2" || true)
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -eq 0 ] || failures="$failures $1"
	echo "== $1: $p passed, $f failed (log: $2)"
}

build() { # dir configure-args...
	dir=$1; shift
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" --prefix=/usr --sysconfdir=/etc \
		--localstatedir=/var --runstatedir=/run --enable-werror "$@" \
		>configure.out && make -j"$jobs" >make.out 2>&1) || {
		echo "build in $dir failed:"; tail -30 "$dir/make.out" "$dir/configure.out" 2>/dev/null
		exit 1
	}
}

[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null
mkdir -p test-results
build build
build build-asan --enable-sanitizers

rc=0; (cd build && make -j"$jobs" check) >test-results/unit.log 2>&1 || rc=$?
count unit test-results/unit.log $rc
rc=0; (cd build-asan && ASAN_OPTIONS=detect_leaks=1 make -j"$jobs" check) \
	>test-results/unit-asan.log 2>&1 || rc=$?
count unit-asan test-results/unit-asan.log $rc

rc=0; tests/lint.sh >test-results/lint.log 2>&1 || rc=$?
count lint test-results/lint.log $rc
rc=0; tests/fuzz/run.sh >test-results/fuzz.log 2>&1 || rc=$?
count fuzz test-results/fuzz.log $rc

engines=${E2E_ENGINES:-simple desktop}
for engine in $engines; do
	case $engine in
	simple) ;;
	desktop)
		# The engine distro's root (debootstrap, once): timed apart.
		t0=$(date +%s)
		rc=0; LAB_ENGINE=desktop tests/lab/lab.sh prepare \
			>test-results/lab-prepare-desktop.log 2>&1 || rc=$?
		echo "== lab-prepare-desktop: $(($(date +%s) - t0)) s, exit $rc"
		count lab-prepare-desktop test-results/lab-prepare-desktop.log $rc
		;;
	*) echo "run-tests.sh: unknown lab flavour '$engine' in E2E_ENGINES" >&2; exit 2 ;;
	esac
done
lab_up_funcs=$(sed -n 's/^LAB_UP_FUNCS="\(.*\)"$/\1/p' tests/e2e/lib.sh | tr ' ' '|')
[ -n "$lab_up_funcs" ] || { echo "run-tests.sh: no LAB_UP_FUNCS in tests/e2e/lib.sh" >&2; exit 2; }
for t in tests/e2e/*.sh; do
	case $t in */lib.sh) continue ;; esac
	name=$(basename "$t" .sh)
	suite_engines=$engines
	# A suite uses the lab when it calls lab_up or one of lib.sh's
	# functions that do (LAB_UP_FUNCS there).
	grep -qwE "lab_up|$lab_up_funcs" "$t" || suite_engines=${engines%% *}
	for engine in $suite_engines; do
		log="test-results/e2e-$name-$engine.log"
		rc=0
		LAB_ENGINE=$engine BUILD="$top/build" "$t" >"$log" 2>&1 || rc=$?
		count "e2e-$name-$engine" "$log" $rc
	done
done

[ -z "$failures" ] || {
	echo "failed:$failures"
	for f in $failures; do
		echo "---- $f"; grep -E '^(not ok|FAIL:|ERROR:|#)' "test-results/$f.log" | head -40
	done
}
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
