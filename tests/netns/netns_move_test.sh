#!/bin/sh
# netns_move_test.sh - "an application whose only network is the tunnel".
# The daemon (IMPL_A) starts in host a, so its UDP socket lives there; its
# interface is then moved into namespace app, which has no other network
# than that interface.  Traffic from app reaches the peer b (IMPL_B) through
# the tunnel, the daemon keeps running, `wg` still reaches it through the
# socket in the shared /var/run/wireguard, and deleting the interface
# inside app makes the daemon exit (and remove its socket).
T=netns_move
. "${0%/*}/lib.sh"

hosts a b
ns_add app
A=$(ifn a) B=$(ifn b)
keygen a; keygen b
SOCK=/var/run/wireguard/$A.sock

setup() {
	wg_start a "$A" "$IMPL_A" || return 1
	wg_start b "$B" "$IMPL_B" || return 1
	wg_conf a b 4 && wg_conf b a 4 && tun_up b
}
check "start $(impl_name "$IMPL_A") in a and $(impl_name "$IMPL_B") in b" setup || finish

check "move $A from a into app" X a ip link set "$A" netns "$(H app)"
echo app >"$W/$A.host"
check "$A is gone from a" sh -c "! ip netns exec $(H a) ip link show $A"
check "app configures $A (addresses, up, default routes)" sh -c "
	ip netns exec $(H app) ip addr add $(t4 a)/24 dev $A &&
	ip netns exec $(H app) ip addr add $(t6 a)/64 dev $A nodad &&
	ip netns exec $(H app) ip link set $A up &&
	ip netns exec $(H app) ip route add default dev $A &&
	ip netns exec $(H app) ip -6 route add default dev $A"
check "app has no underlay: it cannot reach b's underlay address" \
	sh -c "! ip netns exec $(H app) ping -q -n -c 1 -W 1 $(u4 b)"
check "ping IPv4 app -> b through the tunnel" ping_ok app "$(t4 b)"
check "ping IPv6 app -> b through the tunnel" ping_ok app "$(t6 b)"
check "ping b -> app" ping_ok b "$(t4 a)"
check "the handshake went over a's underlay (b sees a's address as endpoint)" endpoint_is b a "$(ep a 4)"
mkdata data 5
check "5 MB TCP from app to b, sha256 matches" tcp_xfer app b "$(t4 b)" data
check "daemon still running" alive "$A"
check "wg show reaches it from app" wgc app show "$A"
check "wg show reaches it from a" wgc a show "$A"
check "wg show reaches it from the host namespace" wg show "$A"
check "wg set works after the move (persistent keepalive)" wgc a set "$A" peer "$(pub b)" persistent-keepalive 25
get_ok() { uapi "$SOCK" 'get=1\n\n' | grep -x 'errno=0'; }
check "UAPI get still answers errno=0" get_ok

check "delete $A inside app" X app ip link del "$A"
check "the daemon exits once its interface is gone" wait_exit "$A" 10
check "its UAPI socket is removed" wait_for 5 sh -c "[ ! -e '$SOCK' ]"

# The same, but the interface is deleted while still in a (the common case).
check "start the daemon again in a" wg_start a "$A" "$IMPL_A"
check "delete $A in a" X a ip link del "$A"
check "the daemon exits" wait_exit "$A" 10

finish
