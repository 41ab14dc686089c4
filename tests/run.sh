#!/bin/sh
# tests/run.sh - runs the test programs and scripts and counts their
# "PASS name" / "FAIL name" lines.  The last line is "N passed, N failed".
#   tests/run.sh unit     unit-test programs and fuzz corpus replay
#   tests/run.sh netns    network-namespace tests (root)
#   tests/run.sh all      both
# A test program that dies without printing its verdicts counts as a failure.
# NETNS_TESTS="a b" limits the netns scripts run (names without .sh);
# NETNS_EXCLUDE="a b" leaves some out (CI's sanitizer pass: .ci/run).
set -u
O=${O:-build}
what=${1:-all}
log=$(mktemp -d "${TMPDIR:-/tmp}/zwg-tests.XXXXXX")
trap 'rm -rf "$log"' EXIT INT TERM
passed=0
failed=0

# run_one LABEL CMD...: runs CMD, echoing its output, and counts verdicts.
run_one() {
	label=$1; shift
	out="$log/out"
	# A hang is a failure, not a stalled CI: every program and script has
	# a limit (SIGTERM first, so scripts run their cleanup traps).
	timeout -k 30 "$limit" "$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -c '^PASS ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	if [ "$rc" -eq 124 ]; then
		echo "FAIL $label (no end after $limit s: hung?)"
		f=$((f + 1))
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $label (exit status $rc, no verdict)"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

if [ "$what" = unit ] || [ "$what" = all ]; then
	limit=${ZWG_UNIT_TIMEOUT:-600}
	for t in "$O"/tests/*_test; do
		[ -x "$t" ] || continue
		echo "== unit: ${t##*/}"
		run_one "${t##*/}" "$t"
	done
	for f in "$O"/fuzz/*_fuzz; do
		[ -x "$f" ] || continue
		name=${f##*/}
		corpus=tests/fuzz/corpus/${name%_fuzz}
		echo "== fuzz corpus: $name"
		run_one "$name" "$f" --replay "$corpus"
	done
fi

if [ "$what" = netns ] || [ "$what" = all ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "FAIL netns (the network-namespace tests need root)"
		failed=$((failed + 1))
	else
		limit=${ZWG_NETNS_TIMEOUT:-900}
		for s in tests/netns/*_test.sh; do
			name=${s##*/}; name=${name%.sh}
			if [ -n "${NETNS_TESTS:-}" ]; then
				case " $NETNS_TESTS " in *" $name "*) ;; *) continue ;; esac
			fi
			case " ${NETNS_EXCLUDE:-} " in *" $name "*) echo "== netns: $name: not in this run (NETNS_EXCLUDE)"; continue ;; esac
			echo "== netns: $name"
			run_one "$name" sh "$s"
		done
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
