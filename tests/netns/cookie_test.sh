#!/bin/sh
# cookie_test.sh - the cookie reply (whitepaper 5.4.7) end to end.  The
# responder b runs our test daemon with ZWG_FORCE_UNDER_LOAD=1 (a knob that
# exists only in the test build), so it answers every handshake message that
# lacks a valid MAC2 with a cookie reply instead of a response.  The
# initiator must decrypt the cookie, put MAC2 on its next initiation (after
# REKEY_TIMEOUT) and then complete the handshake.  Initiators: ours, and
# Debian's wireguard-go, so both our cookie maker and our cookie checker meet
# code we did not write.
T=cookie
. "${0%/*}/lib.sh"

hosts a b
A=$(ifn a) B=$(ifn b)
keygen a; keygen b

cookies_sent() { grep -q "under load, cookie sent" "$W/$B.log"; }

suite() {
	local tag
	tag="$(impl_name "$1") initiates, zerowgd under load responds"
	rm -f "$W/$B.log"
	if check "$tag: start a" wg_start a "$A" "$1" &&
	   check "$tag: start b with ZWG_FORCE_UNDER_LOAD=1" wg_start b "$B" "$IMPL_B" ZWG_FORCE_UNDER_LOAD=1 &&
	   check "$tag: configure" sh -c 'true' && wg_conf a b 4 && wg_conf b a - && tun_up a && tun_up b; then
		# First initiation: answered with a cookie; the retry 5 s later
		# carries MAC2 and gets a response.
		check "$tag: ping gets through once the initiator uses the cookie" \
			ping_ok a "$(t4 b)" 20
		check "$tag: b answered at least one initiation with a cookie" cookies_sent
		check "$tag: handshake recorded on both sides" hs_both a b
		check "$tag: IPv6 inside the tunnel too" ping_ok b "$(t6 a)" 5
	else
		fail "$tag: could not start or configure"
	fi
	wg_stop "$A"; wg_stop "$B"
}

suite "$IMPL_A"
suite "$WGGO_IMPL"
finish
