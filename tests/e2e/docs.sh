#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The man pages against the programs: every option of `wsl-docker-agent
# --help` is in wsl-docker-agent(8) and nothing else is; the same for its
# commands and exit statuses, and for doctor's findings (doctor_ids[]); every key of the key table (as --help lists
# it) is in wsl-docker-agent.conf(5) with its option, default and allowed
# values, and nothing else is; wsl-docker-agent-wslconf(8) against the
# script's --help; the status object's fields (--dump-status-fields, the
# table the agent checks its status with) are those of
# wsl-docker-agent-protocol(7) with their types, flags and values, and its
# volatile ones are those the page says never cause an event; the pages
# render without a warning.  Needs the build,
# not the lab (so it does not take the lab's lock).  Prints TAP.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
AGENT=$BUILD/wsl-docker-agent
WSLCONF=$BUILD/agent/wsl-docker-agent-wslconf
MAN8=$top/man/wsl-docker-agent.8
MAN5=$top/man/wsl-docker-agent.conf.5
MAN8W=$top/man/wsl-docker-agent-wslconf.8
MAN7=$top/man/wsl-docker-agent-protocol.7
OUR_PAGES="$MAN8 $MAN5 $MAN8W $MAN7"

n=0 failed=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift
	printf '#   %s\n' "$@"
}
# same DESCRIPTION LEFT-NAME LEFT RIGHT-NAME RIGHT: two sorted lists agree.
same() {
	local only_l only_r
	only_l=$(comm -23 <(printf '%s\n' "$3" | sort -u) <(printf '%s\n' "$5" | sort -u) | sed '/^$/d' | tr '\n' ' ')
	only_r=$(comm -13 <(printf '%s\n' "$3" | sort -u) <(printf '%s\n' "$5" | sort -u) | sed '/^$/d' | tr '\n' ' ')
	if [ -z "$only_l$only_r" ] && [ -n "$3" ]; then pass "$1"; else
		fail "$1" "only in $2: ${only_l:-(none)}" "only in $4: ${only_r:-(none)}"; fi
}

for f in "$AGENT" "$WSLCONF"; do
	[ -x "$f" ] || { fail "built: $f" "run make in $BUILD first"; echo "1..$n"; exit 1; }
done
help=$("$AGENT" --help)
version=$("$AGENT" --version | awk '{ print $2 }')

# man(7) source of one section (.SH NAME up to the next .SH), with \- as -
# and font escapes dropped.
section() { # FILE NAME
	awk -v want="$2" '
		/^\.SH / { name = $0; sub(/^\.SH +"?/, "", name); sub(/"$/, "", name); on = (name == want); next }
		on { print }' "$1" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(dq/"/g'
}
# Macro-free prose: one line, no font macros, no blank before punctuation.
prose() {
	tr '\n' ' ' | sed -e 's/\.[A-Z][A-Z]* //g' -e 's/ \([;.,)]\)/\1/g' -e 's/( /(/g'
}
# The tag lines (the line after each .TP) of a section.
tags() { section "$1" "$2" | awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }'; }
flags_in() { grep -oE -- '--[a-z][a-z-]*' | sed 's/-$//'; }

# ---- wsl-docker-agent(8) against --help ----------------------------------
help_flags=$(printf '%s\n' "$help" | grep -E '^  +(-[A-Za-z], )?--[a-z]' | flags_in | sort -u)
man_flags=$(tags "$MAN8" OPTIONS | flags_in | sort -u)
same "every option of --help is in wsl-docker-agent(8) OPTIONS, and only those" \
	"--help" "$help_flags" "wsl-docker-agent(8)" "$man_flags"

help_cmds=$(printf '%s\n' "$help" | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p')
# "help" is documented as the alias of --help it is.
man_cmds=$(tags "$MAN8" COMMANDS | sed -n 's/^\.B \([a-z]*\)$/\1/p' | grep -vx help)
same "every command of --help is in wsl-docker-agent(8) COMMANDS, and only those" \
	"--help" "$help_cmds" "wsl-docker-agent(8)" "$man_cmds"

help_codes=$(printf '%s\n' "$help" | sed -n '/^Exit status:/,/^See/p' | grep -oE '(^|[ ;:])[0-9]+ [a-z]' | grep -oE '[0-9]+')
man_codes=$(tags "$MAN8" "EXIT STATUS" | sed -n 's/^\.B \([0-9]*\)$/\1/p')
# (The agent's headers, wherever below agent/ they are: doctor.h has its own.)
src_codes=$( (echo 0; find "$top/agent" -name '*.h' -exec sed -n 's/^#define EXIT_[A-Z_]*[[:space:]]*\([0-9]*\).*/\1/p' {} +) | sort -u)
same "wsl-docker-agent(8) EXIT STATUS lists exactly the codes the agent's headers define" \
	"agent/*.h" "$src_codes" "wsl-docker-agent(8)" "$man_codes"
missing=$(comm -23 <(printf '%s\n' "$help_codes" | sort -u) <(printf '%s\n' "$man_codes" | sort -u) | tr '\n' ' ')
if [ -z "$missing" ]; then pass "every exit status --help names is in wsl-docker-agent(8)"; else
	fail "every exit status --help names is in wsl-docker-agent(8)" "missing: $missing"; fi
undocumented=$(comm -13 <(printf '%s\n' "$help_codes" | sort -u) <(printf '%s\n' "$man_codes" | sort -u) | tr '\n' ' ')
[ -z "$undocumented" ] || echo "# note: --help does not name exit status $undocumented(wsl-docker-agent(8) does)"

# ---- doctor's findings ---------------------------------------------------
src_ids=$(find "$top/agent" -name doctor.c -exec awk '
	/^const char \*const doctor_ids\[\] = \{/ { on = 1; next }
	on && /^\};/ { exit }
	on { if (match($0, /"[a-z0-9-]+"/)) print substr($0, RSTART + 1, RLENGTH - 2) }' {} +)
man_ids=$(tags "$MAN8" "WHEN DOCKER DOES NOT WORK" | sed -n 's/^\.B \([a-z0-9-]*\)$/\1/p')
same "every finding of doctor (doctor_ids[]) is in wsl-docker-agent(8) WHEN DOCKER DOES NOT WORK, and only those" \
	"doctor.c" "$src_ids" "wsl-docker-agent(8)" "$man_ids"
bad=()
while IFS= read -r id; do
	[ -n "$id" ] || continue
	entry=$(section "$MAN8" "WHEN DOCKER DOES NOT WORK" | awk -v k=".B $id" '
		prev == ".TP" && $0 == k { on = 1; next }
		on && /^\.(TP|SH)/ { exit }
		on { print }
		{ prev = $0 }' | prose)
	case $entry in *Fix:* | *"with the fix"*) ;; *) bad+=("$id: no fix") ;; esac
done <<<"$src_ids"
if [ ${#bad[@]} -eq 0 ]; then pass "wsl-docker-agent(8) gives each finding of doctor its fix"; else
	fail "wsl-docker-agent(8) gives each finding of doctor its fix" "${bad[@]}"; fi

# ---- wsl-docker-agent.conf(5) against the key table ------------------------
# --help: "  --flag   help" then "  key K; [allowed; ]default D".
keytab=$(printf '%s\n' "$help" | awk '
	/^  +--[a-z]/ { flag = $1 }
	/^  +key [a-z_.]+;/ {
		line = $0; sub(/^ +key /, "", line)
		n = split(line, f, "; ")
		def = f[n]; sub(/^default /, "", def)
		allowed = n == 3 ? f[2] : ""
		print f[1] "\t" flag "\t" def "\t" allowed
	}')
help_keys=$(printf '%s\n' "$keytab" | cut -f1)
man_keys=$(tags "$MAN5" KEYS | sed -n 's/^\.B \([a-z_.]*\)$/\1/p')
same "every key of the key table is in wsl-docker-agent.conf(5) KEYS, and only those" \
	"--help" "$help_keys" "wsl-docker-agent.conf(5)" "$man_keys"

# One key's entry in KEYS: from its tag to the next .TP.
key_entry() {
	section "$MAN5" KEYS | awk -v k=".B $1" '
		prev == ".TP" && $0 == k { on = 1 }
		on && /^\.TP/ && seen { exit }
		on { print; seen = 1 }
		{ prev = $0 }'
}
bad=()
while IFS=$'\t' read -r key flag def allowed; do
	[ -n "$key" ] || continue
	entry=$(key_entry "$key" | prose)
	[ -n "$entry" ] || continue # reported above
	# Paths below the run directory: /var/run is /run.
	case $def in /var/run/*) def=${def#/var} ;; esac
	printf '%s' "$entry" | grep -qE -- "option $flag([^a-z-]|\$)" || bad+=("$key: option $flag not named")
	printf '%s' "$entry" | grep -qF -- "default $def;" || bad+=("$key: default $def not stated")
	case $allowed in
	*-*[0-9]) lo=${allowed%-*} hi=${allowed#*-}
		printf '%s' "$entry" | grep -qF -- "from $lo to $hi" || bad+=("$key: range $lo to $hi not stated") ;;
	*'|'*) for v in ${allowed//|/ }; do
		printf '%s' "$entry" | grep -qwF -- "$v" || bad+=("$key: value $v not named")
	done ;;
	esac
done <<<"$keytab"
if [ ${#bad[@]} -eq 0 ]; then pass "wsl-docker-agent.conf(5) gives each key its option, default and allowed values"; else
	fail "wsl-docker-agent.conf(5) gives each key its option, default and allowed values" "${bad[@]}"; fi

# Each option in wsl-docker-agent(8) names its key.
bad=()
while IFS=$'\t' read -r key flag _ _; do
	[ -n "$key" ] || continue
	block=$(section "$MAN8" OPTIONS | awk -v f="$flag" '
		prev == ".TP" && index($0, f " ") { on = 1; print; prev = $0; next }
		on && /^\.(TP|PP|SH)/ { exit }
		on { print }
		{ prev = $0 }' | prose)
	printf '%s' "$block" | grep -qF -- "($key)" || bad+=("$flag does not name $key")
done <<<"$keytab"
if [ ${#bad[@]} -eq 0 ]; then pass "wsl-docker-agent(8) names the key of each option"; else
	fail "wsl-docker-agent(8) names the key of each option" "${bad[@]}"; fi

# ---- wsl-docker-agent-protocol(7) against the status table ------------------
# The page's THE STATUS OBJECT as "path TAB type TAB flags TAB text": each
# tag ".BR name[, name...] (type)" after a .TP, nested by .RS/.RE below the
# last tag; "array of objects" and "array of strings" also give the
# elements' line ("links[]").
status_page=$(section "$MAN7" "THE STATUS OBJECT" | awk '
	function flush() { if (np) for (i = 1; i <= np; i++) print pend[i] "\t" text; np = 0; text = "" }
	function prefix(   p, i) { p = ""; for (i = 1; i <= depth; i++) p = p stack[i] "."; return p }
	/^\.TP/ { flush(); tag = 1; next }
	/^\.RS/ { flush(); stack[++depth] = last; next }
	/^\.RE/ { flush(); depth--; next }
	/^\.PP/ { flush(); next }
	tag {
		tag = 0; line = $0
		sub(/^\.BR? /, "", line); gsub(/"/, "", line)
		names = line; sub(/ *\(.*/, "", names)
		type = line; sub(/^[^(]*\(/, "", type); sub(/\).*/, "", type)
		flags = ""
		if (type ~ /or null/) flags = flags ",null"
		if (type ~ /may be absent/) flags = flags ",optional"
		if (type ~ /empty/) flags = flags ",empty"
		flags = flags == "" ? "-" : substr(flags, 2)
		elem = ""
		if (type ~ /^array of objects/) elem = "object"
		else if (type ~ /^array of strings/) elem = "string"
		if (type ~ /^array/) base = "array"
		else if (type ~ /^object/) base = "object"
		else if (type ~ /^string/) base = "string"
		else if (type ~ /^integer/) base = "integer"
		else if (type ~ /^number/) base = "number"
		else if (type ~ /^boolean/) base = "boolean"
		else base = "?" type
		n = split(names, nm, /[ ,]+/)
		for (k = 1; k <= n; k++) {
			if (nm[k] == "") continue
			pend[++np] = prefix() nm[k] "\t" base "\t" flags
			if (elem != "") pend[++np] = prefix() nm[k] "[]\t" elem "\t-"
			last = nm[k] (elem == "object" ? "[]" : "")
		}
		next
	}
	{ text = text " " $0 }
	END { flush() }')
status_table=$("$AGENT" --dump-status-fields)
same "the fields of the status table are those of wsl-docker-agent-protocol(7) THE STATUS OBJECT, with their types and flags" \
	"--dump-status-fields" "$(printf '%s\n' "$status_table" | cut -f1-3 | sed -e 's/,volatile//' -e 's/\tvolatile$/\t-/')" \
	"wsl-docker-agent-protocol(7)" "$(printf '%s\n' "$status_page" | cut -f1-3)"
bad=()
while IFS=$'\t' read -r path _ _ values _; do
	[ "$values" != - ] || continue
	entry=$(printf '%s\n' "$status_page" | awk -F'\t' -v p="$path" '$1 == p { print $4 }')
	for v in ${values//|/ }; do
		printf '%s' "$entry" | grep -qwF -- "$v" || bad+=("$path: value $v not named")
	done
done <<<"$status_table"
if [ ${#bad[@]} -eq 0 ]; then pass "wsl-docker-agent-protocol(7) names every value the status table allows"; else
	fail "wsl-docker-agent-protocol(7) names every value the status table allows" "${bad[@]}"; fi
# The event's paragraph: "less the members that change by themselves: ..."
page_volatile=$(section "$MAN7" MESSAGES\ FROM\ THE\ AGENT | awk '
	/less the members that change/ { on = 1; next }
	on && /These are sent/ { exit }
	on && /^\.BR? / { print $2 }')
same "the volatile fields of the status table are those wsl-docker-agent-protocol(7) says never cause an event" \
	"--dump-status-fields" "$(printf '%s\n' "$status_table" | awk -F'\t' '$3 ~ /volatile/ { print $1 }')" \
	"wsl-docker-agent-protocol(7)" "$page_volatile"

# ---- wsl-docker-agent-wslconf(8) against the script ------------------------
w_help=$("$WSLCONF" --help)
same "every option of wsl-docker-agent-wslconf --help is in its man page, and only those" \
	"--help" "$(printf '%s\n' "$w_help" | grep -E '^  +(-[A-Za-z], )?--[a-z]' | flags_in | sort -u)" \
	"wsl-docker-agent-wslconf(8)" "$(tags "$MAN8W" OPTIONS | flags_in | sort -u)"
same "the exit statuses of wsl-docker-agent-wslconf --help are its man page's" \
	"--help" "$(printf '%s\n' "$w_help" | sed -n '/^Exit status:/,/^$/p' | grep -oE '(^|[ ;:])[0-9]+ [a-z(]' | grep -oE '[0-9]+')" \
	"wsl-docker-agent-wslconf(8)" "$(tags "$MAN8W" "EXIT STATUS" | sed -n 's/^\.B \([0-9]*\)$/\1/p')"

# ---- rendering -------------------------------------------------------------
for page in $OUR_PAGES; do
	name=${page##*/}
	out=$(mandoc -Tlint "$page" 2>&1)
	if [ -z "$out" ]; then pass "mandoc -Tlint $name: nothing to say"; else fail "mandoc -Tlint $name" "$out"; fi
	out=$(groff -man -ww -z "$page" 2>&1)
	if [ -z "$out" ]; then pass "groff -man -ww -z $name: no warning"; else fail "groff -man -ww $name" "$out"; fi
	if grep -q "^\.TH .*\"wsl-docker-agent $version\"" "$page"; then pass "$name is for version $version"; else
		fail "$name is for version $version" "$(grep '^\.TH' "$page")"; fi
done

# Pages of this project named in SEE ALSO exist.
bad=()
for page in $OUR_PAGES; do
	for ref in $(section "$page" "SEE ALSO" | sed -n 's/^\.BR \(wsl-docker[a-z.-]*\) (\([0-9]\)).*/\1.\2/p'); do
		[ -f "$top/man/$ref" ] || bad+=("${page##*/} refers to $ref, which is not in man/")
	done
done
if [ ${#bad[@]} -eq 0 ]; then pass "the project's pages named in SEE ALSO exist"; else
	fail "the project's pages named in SEE ALSO exist" "${bad[@]}"; fi

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
