#!/bin/sh
# tests/run.sh - runs the test programs and scripts, several at a time, and
# counts their "PASS name" / "FAIL name" lines.  The last line is
# "N passed, N failed".
#   tests/run.sh unit     unit-test programs and fuzz corpus replay
#   tests/run.sh netns    network-namespace tests (root)
#   tests/run.sh all      both (unit first, then netns)
# A test program that dies without printing its verdicts counts as a failure.
# NETNS_TESTS="a b" limits the netns scripts run (names without .sh);
# NETNS_EXCLUDE="a b" leaves some out (CI's sanitizer pass: .ci/run).
#
# Parallel runs: ZWG_TEST_JOBS=N runs N tests at once in each part (1: one
# after another).  Default: one per CPU for the unit part (its programs are
# CPU-bound: Argon2id, the torture test), 3 for the netns part (its scripts
# mostly wait on timers and handshakes).  The longest tests (SLOW below)
# start first; each test's output is kept apart and printed, whole, under
# "== <part>: <name> (took N s)" in the usual order (the order of the
# files), so a log reads the same whichever test ended first.  Every test
# has its time limit (ZWG_UNIT_TIMEOUT, ZWG_NETNS_TIMEOUT), counted from its
# own start.
# The netns tests are written to run side by side: names unique to the run
# (lib.sh), cleanup on every exit path.  Two exceptions:
#   - tests that take lib.sh's tun_lock (they open /dev/net/tun to other
#     users for a while) would only wait for each other, with their clocks
#     running: run.sh never starts one while another runs;
#   - SERIAL below: tests that need the machine to themselves (none today).
set -u
O=${O:-build}
what=${1:-all}
log=$(mktemp -d "${TMPDIR:-/tmp}/zwg-tests.XXXXXX") || exit 1
passed=0
failed=0
running=""

# The longest tests first, so that the end of a run is not one long test
# alone (measured in .ci/run's fresh container, 2 CPUs, 3 at a time: the
# netns part about 6 min, container_test alone 5.5 of them; unit 1 min).
# A name missing here only costs time.
SLOW="container_test keepalive_test webui_test psk_test crash_test
	server_test firewall_test offload_test busypoll_test timers_test
	uapi_test control_crash_test driver_test audit_refusal_test"
# Tests that run with no other test beside them (and why): none today.
SERIAL=""

stop_all() {
	trap - EXIT INT TERM HUP
	# timeout passes SIGTERM on to its test, whose cleanup traps run.
	for i in $running; do
		[ -s "$log/$i.pid" ] && kill -TERM "$(cat "$log/$i.pid")" 2>/dev/null
	done
	wait
	rm -rf "$log"
}
trap stop_all EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# A job finished writes its number to this FIFO; the loop below blocks on it.
if ! mkfifo "$log/done" || ! exec 9<>"$log/done"; then
	echo "FAIL run.sh (cannot make a FIFO in $log)"
	exit 1
fi

njobs=0
# add KIND LABEL CMD...: queues a test (CMD runs as "$@" later).
add() {
	njobs=$((njobs + 1))
	eval "j_kind_$njobs=\$1 j_label_$njobs=\$2"
	shift 2
	eval "j_argc_$njobs=$#"
	n=0
	for a in "$@"; do
		n=$((n + 1))
		eval "j_arg_${njobs}_$n=\$a"
	done
}

# start I: runs job I in the background, under its time limit; when it
# ends, its status and seconds are in $log/I.rc and I is in the FIFO.
start() {
	si=$1
	eval "argc=\$j_argc_$si"
	set --
	n=1
	while [ "$n" -le "$argc" ]; do
		eval "set -- \"\$@\" \"\$j_arg_${si}_$n\""
		n=$((n + 1))
	done
	(
		t0=$(date +%s)
		# A hang is a failure, not a stalled CI: every program and
		# script has a limit (SIGTERM first, so scripts run their
		# cleanup traps).  An asynchronous list starts with SIGINT
		# and SIGQUIT ignored: the test gets them back.
		env --default-signal=INT,QUIT timeout -k 30 "$limit" "$@" \
			>"$log/$si.out" 2>&1 </dev/null 9>&- &
		echo $! >"$log/$si.pid"
		wait $!
		rc=$?
		echo "$rc $(($(date +%s) - t0))" >"$log/$si.tmp"
		mv "$log/$si.tmp" "$log/$si.rc"
		echo "$si" >&9
	) &
}

# report I: prints job I's output and counts its verdicts.
report() {
	eval "kind=\$j_kind_$1 label=\$j_label_$1"
	read -r rc secs <"$log/$1.rc"
	out=$log/$1.out
	echo "== $kind: $label (took $secs s)"
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
	rm -f "$out"
}

# group I: prints the name of the group of tests job I cannot run beside
# ("all" for SERIAL, "tun" for tun_lock takers), or nothing.
group() {
	eval "label=\$j_label_$1 kind=\$j_kind_$1"
	for s in $SERIAL; do
		[ "$s" = "$label" ] && { echo all; return; }
	done
	if [ "$kind" = netns ] && grep -q '^[^#]*tun_lock' "tests/netns/$label.sh" 2>/dev/null; then
		echo tun
	fi
}

# run_jobs FIRST LAST JOBS: runs jobs FIRST..LAST, JOBS at a time, and
# reports them in order.
run_jobs() {
	first=$1 last=$2 max=$3
	[ "$first" -le "$last" ] || return 0
	# The queue: SLOW ones first, then the rest in file order.
	queue=""
	for s in $SLOW; do
		i=$first
		while [ "$i" -le "$last" ]; do
			eval "[ \"\$j_label_$i\" = \"\$s\" ]" && queue="$queue $i"
			i=$((i + 1))
		done
	done
	i=$first
	while [ "$i" -le "$last" ]; do
		case " $queue " in *" $i "*) ;; *) queue="$queue $i" ;; esac
		eval "j_group_$i=\$(group $i)"
		i=$((i + 1))
	done
	nrun=0 busy="" next=$first
	while [ "$next" -le "$last" ]; do
		# Start what may start: a free slot, and no conflict with a
		# running test's group (a SERIAL test waits for an empty run).
		while [ "$nrun" -lt "$max" ] && [ -n "$queue" ]; do
			pick=""
			case " $busy " in *" all "*) break ;; esac
			for i in $queue; do
				eval "g=\$j_group_$i"
				if [ "$g" = all ]; then
					# It waits for an empty run, and the
					# rest wait behind it.
					[ "$nrun" -eq 0 ] && pick=$i
					break
				fi
				if [ -n "$g" ]; then
					case " $busy " in *" $g "*) continue ;; esac
				fi
				pick=$i
				break
			done
			[ -n "$pick" ] || break
			queue=$(echo " $queue " | sed "s/ $pick / /; s/^ *//; s/ *$//")
			eval "g=\$j_group_$pick"
			[ -n "$g" ] && busy="$busy $g"
			running="$running $pick"
			nrun=$((nrun + 1))
			start "$pick"
		done
		# Wait for one to end; print every finished one in order.
		read -r d <&9 || { echo "FAIL run.sh (the job FIFO closed)"; failed=$((failed + 1)); return; }
		eval "g=\$j_group_$d"
		[ -n "$g" ] && busy=$(echo " $busy " | sed "s/ $g / /; s/^ *//; s/ *$//")
		running=$(echo " $running " | sed "s/ $d / /; s/^ *//; s/ *$//")
		nrun=$((nrun - 1))
		while [ "$next" -le "$last" ] && [ -e "$log/$next.rc" ]; do
			report "$next"
			next=$((next + 1))
		done
	done
	# All reported; collect the ends not yet read (a job writes its .rc
	# before its number), so the next part starts with an empty FIFO.
	while [ "$nrun" -gt 0 ] && read -r d <&9; do
		running=$(echo " $running " | sed "s/ $d / /; s/^ *//; s/ *$//")
		nrun=$((nrun - 1))
	done
}

jobs_for() {
	case ${ZWG_TEST_JOBS:-} in
	[1-9]|[1-9][0-9]) echo "$ZWG_TEST_JOBS" ;;
	'') echo "$1" ;;
	*) echo "run.sh: ZWG_TEST_JOBS=\"$ZWG_TEST_JOBS\" is not a count of jobs (1 to 99); using $1" >&2
	   echo "$1" ;;
	esac
}

if [ "$what" = unit ] || [ "$what" = all ]; then
	limit=${ZWG_UNIT_TIMEOUT:-600}
	first=$((njobs + 1))
	for t in "$O"/tests/*_test; do
		[ -x "$t" ] || continue
		add unit "${t##*/}" "$t"
	done
	for f in "$O"/fuzz/*_fuzz; do
		[ -x "$f" ] || continue
		name=${f##*/}
		add "fuzz corpus" "$name" "$f" --replay "tests/fuzz/corpus/${name%_fuzz}"
	done
	run_jobs "$first" "$njobs" "$(jobs_for "$(nproc 2>/dev/null || echo 2)")"
fi

if [ "$what" = netns ] || [ "$what" = all ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "FAIL netns (the network-namespace tests need root)"
		failed=$((failed + 1))
	else
		limit=${ZWG_NETNS_TIMEOUT:-900}
		first=$((njobs + 1))
		for s in tests/netns/*_test.sh; do
			name=${s##*/}; name=${name%.sh}
			if [ -n "${NETNS_TESTS:-}" ]; then
				case " $NETNS_TESTS " in *" $name "*) ;; *) continue ;; esac
			fi
			case " ${NETNS_EXCLUDE:-} " in *" $name "*) echo "== netns: $name: not in this run (NETNS_EXCLUDE)"; continue ;; esac
			add netns "$name" sh "$s"
		done
		run_jobs "$first" "$njobs" "$(jobs_for 3)"
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
