#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Static checks: cppcheck and clang-tidy on the C sources, mandoc and groff
# on the man pages.  Prints TAP.  Checks left out are listed with the reason.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
n=0; failed=0
defs='-DSYSCONFDIR="/etc" -DLOCALSTATEDIR="/var" -DRUNSTATEDIR="/run"
 -DLIBEXECDIR="/usr/libexec" -DPACKAGE_VERSION="lint"'
srcs=$(ls agent/*/*.c shim/*.c tests/peer/*.c)
result() { # name output
	n=$((n + 1))
	if [ -z "$2" ]; then echo "ok $n - $1"; else
		echo "not ok $n - $1"; printf '%s\n' "$2" | head -40 | sed 's/^/#   /'
		failed=$((failed + 1)); fi
}

# sys/queue.h is named so cppcheck can expand LIST_HEAD and friends.
# shellcheck disable=SC2086
out=$(cppcheck --enable=warning,portability,performance --inline-suppr --quiet \
	--error-exitcode=0 -Iagent -Ishim --suppress=missingIncludeSystem \
	--include=/usr/include/x86_64-linux-gnu/sys/queue.h $defs $srcs 2>&1)
result "cppcheck: no findings" "$out"

# Left out, each for a reason:
#  bugprone-easily-swappable-parameters, -narrowing-conversions,
#  -implicit-widening-of-multiplication-result: style noise on sizes built
#    from small constants such as (64 * 1024);
#  bugprone-assignment-in-if-condition, -reserved-identifier: idioms here;
#  clang-analyzer-security.insecureAPI.*: strcpy/memcpy follow explicit
#    length checks; snprintf is used wherever truncation is possible;
#  clang-analyzer-valist.Uninitialized: a false positive on functions that
#    take a va_list their caller started (log_vformat and friends).
checks='-*,clang-analyzer-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-narrowing-conversions,-bugprone-implicit-widening-of-multiplication-result,-bugprone-assignment-in-if-condition,-bugprone-reserved-identifier,-clang-analyzer-security.insecureAPI.*,-clang-analyzer-valist.Uninitialized,-bugprone-not-null-terminated-result'
# shellcheck disable=SC2086
out=$(clang-tidy --quiet -checks="$checks" $srcs -- -std=gnu11 -D_GNU_SOURCE \
	-Iagent -Ishim $defs $(pkg-config --cflags libevent json-c libsystemd) 2>&1 |
	grep -E 'warning:|error:')
result "clang-tidy: no findings" "$out"

# The layers of agent/ (ARCHITECTURE.md): a file in agent/X/ includes
# only headers of its own folder and of the folders before X in
#   base sys wire io features main
# (shim/ and tests/ may include any).  So no folder includes another in a
# circle.  Includes name their folder ("base/log.h"); one that does not
# cannot be placed and is a finding too.
layers="base sys wire io features main"
rank() { i=0; for l in $layers; do [ "$l" = "$1" ] && { echo $i; return; }; i=$((i + 1)); done; echo 99; }
out=$(for f in agent/*/*.c agent/*/*.h; do
	own=${f#agent/}; own=${own%%/*}; r=$(rank "$own")
	[ "$r" -ne 99 ] || { echo "$f: agent/$own/ is not a layer ($layers)"; continue; }
	grep -n '^#include "' "$f" | while IFS= read -r line; do
		inc=${line#*\"}; inc=${inc%\"*}
		case $inc in
		*/*) l=${inc%%/*} ;;
		*) echo "$f:${line%%:*}: #include \"$inc\" names no folder"; continue ;;
		esac
		[ "$(rank "$l")" -le "$r" ] ||
			echo "$f:${line%%:*}: $own/ may not include $inc ($l/ comes after $own/ in: $layers)"
	done
done)
result "layers: every include goes down ($layers)" "$out"
out=$(grep -nw 'struct agent' agent/base agent/sys agent/wire agent/io agent/features -r --include='*.[ch]')
result "only main/ knows struct agent" "$out"

for m in man/*.[0-9]; do
	out=$(mandoc -Tlint -Wwarning "$m" 2>&1; groff -man -ww -z "$m" 2>&1)
	result "$m renders without warnings" "$out"
done
echo "1..$n"
[ $failed -eq 0 ]
