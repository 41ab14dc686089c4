#!/bin/sh
# keepalive_test.sh - persistent keepalive.  b has `persistent-keepalive 1`
# for a and nothing else sends: a's rx counter for b keeps growing (b sends
# a keepalive every second, after starting the handshake by itself).
# Without it - after one ping, so a session exists - a's rx counter stays
# still over a few seconds; and after `persistent-keepalive off` it stops
# growing again.  Run ours <-> ours, then with wireguard-go on the side that
# receives (a) and on the side that sends (b).
T=keepalive
. "${0%/*}/lib.sh"

OURS=$IMPL_A
THEIRS=${INTEROP_PEER:-$WGGO_IMPL}
hosts a b
A=$(ifn a) B=$(ifn b)
keygen a; keygen b

start() {
	wg_start a "$A" "$1" || return 1
	wg_start b "$B" "$2" || return 1
	wg_conf a b 4 && wg_conf b a 4 && tun_up a && tun_up b
}

# rx_grows SECONDS: a's rx counter for b grows over that time.
rx_grows() {
	local r0 r1
	r0=$(rx a b)
	sleep "$1"
	r1=$(rx a b)
	echo "a's rx from b: $r0 -> $r1 bytes in $1 s"
	[ "$r1" -gt "$r0" ]
}
rx_still() { ! rx_grows "$@"; }
pk_is_1() { wgc b show "$B" persistent-keepalive | grep "[[:space:]]1$"; }

round() {
	local tag
	tag="a $(impl_name "$1"), b $(impl_name "$2")"
	if check "$tag: start, no keepalive configured" start "$1" "$2"; then
		check "$tag: ping a -> b" ping_ok a "$(t4 b)"
		# Let the ping's exchange settle (b answered, so neither side
		# owes a passive keepalive to the other).
		sleep 1
		check "$tag: without persistent keepalive, a receives nothing for 4 s" rx_still 4
		wgc b set "$B" peer "$(pub a)" persistent-keepalive 1
		check "$tag: wg show b: persistent keepalive every 1 second" pk_is_1
		check "$tag: with persistent-keepalive 1 on b, a's rx grows over 3 s" rx_grows 3
		check "$tag: ... and keeps growing over the next 3 s" rx_grows 3
		wgc b set "$B" peer "$(pub a)" persistent-keepalive off
		sleep 1.5
		check "$tag: after persistent-keepalive off, a receives nothing for 4 s" rx_still 4
	fi
	wg_stop "$A"; wg_stop "$B"

	# A fresh pair where nothing is ever sent but b has the keepalive
	# from the start: b must start the handshake on its own.
	if check "$tag: fresh start with persistent-keepalive 1 on b, no traffic" start "$1" "$2"; then
		wgc b set "$B" peer "$(pub a)" persistent-keepalive 1
		check "$tag: b starts a handshake by itself" wait_hs a b 10
		check "$tag: a's rx grows over 3 s with no traffic" rx_grows 3
	fi
	wg_stop "$A"; wg_stop "$B"
}

round "$OURS" "$IMPL_B"
round "$THEIRS" "$OURS"
round "$OURS" "$THEIRS"

finish
