#!/bin/sh
# roaming_test.sh - the client's underlay address changes under a running
# session and traffic continues; the server (which was never told where the
# client is) follows it: `wg show endpoints` shows the new address, learned
# from authenticated packets only - a forged packet from a third host does
# not move it.  Also roams from the IPv4 to the IPv6 underlay and back.
# Rounds: server IMPL_A / client IMPL_B, then ours against wireguard-go in
# both places.
T=roaming
. "${0%/*}/lib.sh"

OURS=$IMPL_A
THEIRS=${INTEROP_PEER:-$WGGO_IMPL}
hosts s c x
S=$(ifn s) C=$(ifn c)
keygen s; keygen c
CPORT=$(port c)

setup() {
	wg_start s "$S" "$1" || return 1
	wg_start c "$C" "$2" || return 1
	wg_conf s c - && wg_conf c s 4 && tun_up s && tun_up c
}

# move_c OLD NEW: change c's IPv4 underlay address.
move_c() {
	X c ip addr del "$1/24" dev eth0 && X c ip addr add "$2/24" dev eth0
}

# forge: a well-formed-looking transport-data header with a random body,
# sent to the server from host x (not a peer): must not move the endpoint.
forge() {
	{ printf '\004\000\000\000'; head -c 60 /dev/urandom; } |
		X x timeout 3 nc -u -n -w 1 -q 0 "$(u4 s)" "$(port s)"
	sleep 0.5
	endpoint_is s c "$1"
}

round() {
	local tag new
	tag="server $(impl_name "$1"), client $(impl_name "$2")"
	new=192.168.77.102
	if ! check "$tag: start and configure" setup "$1" "$2"; then
		wg_stop "$S"; wg_stop "$C"; return
	fi
	check "$tag: ping client -> server" ping_ok c "$(t4 s)"
	check "$tag: server learned the client endpoint $(u4 c):$CPORT" endpoint_is s c "$(u4 c):$CPORT"
	check "$tag: a forged packet from another host does not move the endpoint" forge "$(u4 c):$CPORT"

	move_c "$(u4 c)" "$new"
	if ! is_zerowgd "$2"; then
		# wireguard-go 0.0.20220316 keeps sending from the vanished source
		# address (its sticky socket only forgets it on EINVAL, and this
		# kernel says ENETUNREACH); re-setting the endpoint clears it.  Our
		# daemon must cope without help, like the kernel driver.
		wgc c set "$C" peer "$(pub s)" endpoint "$(ep s 4)"
	fi
	check "$tag: after the client's address changed to $new, ping client -> server" ping_ok c "$(t4 s)"
	check "$tag: server's endpoint for the client is now $new:$CPORT" endpoint_is s c "$new:$CPORT"
	check "$tag: ping server -> client reaches it at its new address" ping_ok s "$(t4 c)"
	check "$tag: IPv6 inside the tunnel, server -> client" ping_ok s "$(t6 c)"

	# To the IPv6 underlay: the client points at the server's v6 address.
	wgc c set "$C" peer "$(pub s)" endpoint "$(ep s 6)"
	check "$tag: client switched to the v6 underlay: ping client -> server" ping_ok c "$(t4 s)"
	check "$tag: server's endpoint for the client is now [$(u6 c)]:$CPORT" endpoint_is s c "[$(u6 c)]:$CPORT"
	check "$tag: ping server -> client over the v6 underlay" ping_ok s "$(t6 c)"

	# And back to the original IPv4 address.
	move_c "$new" "$(u4 c)"
	wgc c set "$C" peer "$(pub s)" endpoint "$(ep s 4)"
	check "$tag: back on $(u4 c): ping client -> server" ping_ok c "$(t4 s)"
	check "$tag: server's endpoint for the client is $(u4 c):$CPORT again" endpoint_is s c "$(u4 c):$CPORT"
	check "$tag: ping server -> client" ping_ok s "$(t4 c)"
	check "$tag: both daemons still running" alive "$S" "$C"
	wg_stop "$S"; wg_stop "$C"
}

round "$IMPL_A" "$IMPL_B"
round "$OURS" "$THEIRS"
round "$THEIRS" "$OURS"

finish
