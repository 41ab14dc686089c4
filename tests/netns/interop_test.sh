#!/bin/sh
# interop_test.sh - our daemon (IMPL_A, default zerowgd-test) against
# Debian's wireguard-go (INTEROP_PEER, default "wireguard-go -f {IF}"), in
# both roles.  In each round the "server" has no endpoint for its peer, so
# the "client" is the one that initiates the handshake (it pings first) and
# the server must learn the client's endpoint from authenticated packets.
# Rounds: ours serves / theirs initiates, and theirs serves / ours initiates,
# each over an IPv4 and an IPv6 underlay.
T=interop
. "${0%/*}/lib.sh"

OURS=$IMPL_A
THEIRS=${INTEROP_PEER:-$WGGO_IMPL}
hosts s c
S=$(ifn s) C=$(ifn c)
keygen s; keygen c
mkdata data 10

# round SERVER_TEMPLATE CLIENT_TEMPLATE FAMILY
round() {
	local sn cn tag
	sn=$(role "$1") cn=$(role "$2")
	tag="$sn serves, $cn initiates, v$3 underlay"
	if ! check "$tag: start and configure both" setup_round "$1" "$2" "$3"; then
		wg_stop "$S"; wg_stop "$C"
		return
	fi
	check "$tag: ping IPv4 client -> server" ping_ok c "$(t4 s)"
	check "$tag: handshake seen on both sides" hs_both c s
	check "$tag: server learned the client's endpoint" endpoint_is s c "$(ep c "$3")"
	check "$tag: ping IPv6 client -> server" ping_ok c "$(t6 s)"
	check "$tag: ping IPv4 server -> client" ping_ok s "$(t4 c)"
	check "$tag: ping IPv6 server -> client" ping_ok s "$(t6 c)"
	check "$tag: IPv4 ping with DF at the 1420 MTU (payload 1392)" \
		X c ping -q -n -c 2 -W 3 -Mdo -s 1392 "$(t4 s)"
	check "$tag: 10 MB TCP client -> server, sha256 matches" tcp_xfer c s "$(t4 s)" data
	check "$tag: 10 MB TCP server -> client over IPv6, sha256 matches" tcp_xfer s c "$(t6 c)" data
	check "$tag: both daemons still running" alive "$S" "$C"
	wg_stop "$S"; wg_stop "$C"
}

# role TEMPLATE: how the round names a side.
role() { if [ "$1" = "$OURS" ]; then echo "ours ($(impl_name "$1"))"; else echo "theirs ($(impl_name "$1"))"; fi; }

setup_round() {
	wg_start s "$S" "$1" || return 1
	wg_start c "$C" "$2" || return 1
	wg_conf s c - &&		# the server does not know where the client is
	wg_conf c s "$3" &&
	tun_up s && tun_up c
}

round "$OURS" "$THEIRS" 4
round "$THEIRS" "$OURS" 4
round "$OURS" "$THEIRS" 6
round "$THEIRS" "$OURS" 6

finish
