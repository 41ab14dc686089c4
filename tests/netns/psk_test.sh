#!/bin/sh
# psk_test.sh - preshared keys (the "psk2" of Noise_IKpsk2).  With the same
# PSK on both sides the handshake completes and traffic flows; with
# different PSKs, or a PSK on one side only, no handshake completes (neither
# side records one) and no ping gets through; fixing the PSK on the fly lets
# the next handshake attempt succeed.  Run ours <-> ours (IMPL_A, IMPL_B),
# then ours <-> wireguard-go with each side initiating.
T=psk
. "${0%/*}/lib.sh"

OURS=$IMPL_A
THEIRS=${INTEROP_PEER:-$WGGO_IMPL}
hosts a b
A=$(ifn a) B=$(ifn b)
keygen a; keygen b
pskgen k1; pskgen k2

# start IMPL_FOR_A IMPL_FOR_B PSK_FILE_A PSK_FILE_B ("" for no PSK)
start() {
	local pa pb
	pa=""; [ -n "$3" ] && pa="preshared-key $W/$3.psk"
	pb=""; [ -n "$4" ] && pb="preshared-key $W/$4.psk"
	wg_start a "$A" "$1" || return 1
	wg_start b "$B" "$2" || return 1
	wg_conf a b 4 $pa && wg_conf b a 4 $pb && tun_up a && tun_up b
}
stop() { wg_stop "$A"; wg_stop "$B"; }
no_handshake() { local r; hs_none a b; r=$?; hs_none b a && [ $r -eq 0 ]; }
psk_listed() { wgc a show "$A" preshared-keys | grep -F "$(cat "$W/k1.psk")"; }

suite() {
	local tag
	tag="$(impl_name "$1") on a (initiates), $(impl_name "$2") on b"
	if check "$tag: matching PSK: start and configure" start "$1" "$2" k1 k1; then
		check "$tag: matching PSK: ping a -> b" ping_ok a "$(t4 b)"
		check "$tag: matching PSK: ping b -> a over IPv6" ping_ok b "$(t6 a)"
		check "$tag: matching PSK: wg show lists the PSK on a" psk_listed
		check "$tag: matching PSK: handshake on both sides" hs_both a b
	fi
	stop

	if check "$tag: different PSKs: start and configure" start "$1" "$2" k1 k2; then
		check "$tag: different PSKs: no ping gets through (4 tries)" ping_none a "$(t4 b)" 4
		check "$tag: different PSKs: no handshake completed on either side" no_handshake
		check "$tag: different PSKs: b -> a does not get through either" ping_none b "$(t4 a)" 2
		# Fix it on a: the retries (every REKEY_TIMEOUT) now succeed.
		wgc a set "$A" peer "$(pub b)" preshared-key "$W/k2.psk"
		check "$tag: PSK corrected at run time with wg set: ping a -> b works" ping_ok a "$(t4 b)" 15
	fi
	stop

	if check "$tag: PSK on b only: start and configure" start "$1" "$2" "" k1; then
		check "$tag: PSK on b only: no ping gets through" ping_none a "$(t4 b)" 4
		check "$tag: PSK on b only: no handshake completed" no_handshake
	fi
	stop
}

suite "$OURS" "$IMPL_B"
suite "$OURS" "$THEIRS"
suite "$THEIRS" "$OURS"

finish
