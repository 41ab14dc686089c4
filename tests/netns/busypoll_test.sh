#!/bin/sh
# busypoll_test.sh - the event loop's busy-poll (src/dataplane/busypoll.h)
# with the default budget, the largest one and turned off
# (ZWG_BUSY_POLL_US=10000 and =0), zerowgd on both sides.  In each round:
#   - the daemon's "Busy-poll:" log line shows the setting;
#   - quick pings both ways (the poll catches most replies), all answered;
#   - TCP transfers both ways (packets keep coming while it polls), sha256
#     compared;
#   - once traffic stops, each daemon goes to sleep: over 2 s with no
#     traffic it uses at most 10 clock ticks (100 ms) of CPU, where a loop
#     that kept polling would use about 200.
T=busypoll
. "${0%/*}/lib.sh"

need ping nc sha256sum
hosts a b
A=$(ifn a) B=$(ifn b)
mkdata data 8

# busy_line IFNAME EXPECTED: the daemon's last "Busy-poll:" line.
busy_line() {
	local got
	got=$(grep 'Busy-poll:' "$W/$1.log" | tail -n 1 | sed 's/.*Busy-poll: //')
	echo "log of $1: 'Busy-poll: $got' (expected 'Busy-poll: $2')"
	[ "$got" = "$2" ]
}

# sleeps_when_idle IFNAME: CPU ticks (all threads) over 2 s of no traffic.
sleeps_when_idle() {
	local p t0 t1
	p=$(wg_pid "$1")
	sleep 0.5
	t0=$(awk '{ print $14 + $15 }' "/proc/$p/stat")
	sleep 2
	t1=$(awk '{ print $14 + $15 }' "/proc/$p/stat")
	echo "$1 (pid $p) used $((t1 - t0)) ticks in 2 s without traffic"
	[ $((t1 - t0)) -le 10 ]
}

for setting in default largest off; do
	case $setting in
	default) env="" expect="up to 400 us after packets" ;;
	largest) env="ZWG_BUSY_POLL_US=10000" expect="up to 10000 us after packets" ;;
	off) env="ZWG_BUSY_POLL_US=0" expect="off" ;;
	esac
	# shellcheck disable=SC2086  # env is one VAR=value word or nothing
	check "[$setting] set up zerowgd on a and b${env:+ with $env}" wg_pair a b 4 $env || finish
	check "[$setting] a's log says 'Busy-poll: $expect'" busy_line "$A" "$expect"
	check "[$setting] b's log says 'Busy-poll: $expect'" busy_line "$B" "$expect"
	check "[$setting] 200 pings a -> b 10 ms apart, all answered" \
		X a ping -q -n -c 200 -i 0.01 -W 2 "$(t4 b)"
	check "[$setting] 200 pings b -> a over IPv6 5 ms apart, all answered" \
		X b ping -q -n -c 200 -i 0.005 -W 2 "$(t6 a)"
	check "[$setting] 8 MB TCP a -> b over IPv4, sha256 matches" tcp_xfer a b "$(t4 b)" data
	check "[$setting] 8 MB TCP b -> a over IPv6, sha256 matches" tcp_xfer b a "$(t6 a)" data
	check "[$setting] a's daemon sleeps once traffic stops" sleeps_when_idle "$A"
	check "[$setting] b's daemon sleeps once traffic stops" sleeps_when_idle "$B"
	check "[$setting] both daemons still running" alive "$A" "$B"
	wg_stop "$A"; wg_stop "$B"
done
finish
