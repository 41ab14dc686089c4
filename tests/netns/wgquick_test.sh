#!/bin/sh
# wgquick_test.sh - wg-quick drives our daemon unchanged, through
# WG_QUICK_USERSPACE_IMPLEMENTATION (the first word of IMPL_A / IMPL_B;
# wg-quick runs it as "IMPL IFNAME", which must daemonise once the UAPI
# socket is ready).  Config files are named zq<pid><host>.conf, so that is
# the interface name.
#   1. two hosts, each `wg-quick up`: Address (v4 + v6), ListenPort,
#      PrivateKey, a peer with Endpoint and AllowedIPs; traffic flows;
#      `wg-quick down` removes the interface, the daemon exits, the socket
#      goes.
#   2. full tunnel on a (AllowedIPs = 0.0.0.0/0, ::/0): wg-quick sets a
#      fwmark on the daemon, a routing table and `ip rule`s; the tunnel works,
#      so the daemon's own UDP packets (marked) bypass the tunnel, while
#      traffic to an address a has no other route to (10.200.0.1 on b's
#      loopback) now goes through it.
#   3. Table = off adds no routes; Table = 1234 puts them in table 1234.
T=wgquick
. "${0%/*}/lib.sh"

need wg-quick bash
first_word() { set -- $1; echo "$1"; }
IMPL_QA=$(first_word "$IMPL_A")
IMPL_QB=$(first_word "$IMPL_B")

hosts a b
QA=zq${ID}a QB=zq${ID}b
keygen a; keygen b

# conf HOST IFNAME PEER ALLOWED [extra Interface lines]
conf() {
	cat >"$W/$2.conf" <<EOF
[Interface]
Address = $(t4 "$1")/24, $(t6 "$1")/64
ListenPort = $(port "$1")
PrivateKey = $(cat "$W/$1.key")
${5:-}

[Peer]
PublicKey = $(pub "$3")
Endpoint = $(ep "$3" 4)
AllowedIPs = $4
EOF
	chmod 600 "$W/$2.conf"
}

# up HOST IFNAME IMPL / down HOST IFNAME
up() {
	X "$1" env WG_QUICK_USERSPACE_IMPLEMENTATION="$3" LOG_LEVEL="${LOG_LEVEL:-verbose}" \
		timeout 30 wg-quick up "$W/$2.conf" >>"$W/$2.log" 2>&1 </dev/null ||
		{ tail -n 5 "$W/$2.log"; return 1; }
}
down() {
	X "$1" timeout 30 wg-quick down "$W/$2.conf" >>"$W/$2.log" 2>&1 </dev/null ||
		{ tail -n 5 "$W/$2.log"; return 1; }
}
# gone HOST IFNAME: interface, daemon (any process left in HOST) and socket
# all disappear within 10 s.
gone() {
	wait_for 10 sh -c "! ip netns exec $(H "$1") ip link show $2 && [ -z \"\$(ip netns pids $(H "$1"))\" ] && [ ! -e /var/run/wireguard/$2.sock ]" && return 0
	echo "left behind: link: $(X "$1" ip -br link show "$2" 2>&1); pids: $(ip netns pids "$(H "$1")" | tr '\n' ' ')"
	return 1
}

# ---------------------------------------------------------- 1. simple --
conf a "$QA" b "$(t4 b)/32, $(t6 b)/128"
conf b "$QB" a "$(t4 a)/32, $(t6 a)/128"
check "wg-quick up on a ($(impl_name "$IMPL_A"))" up a "$QA" "$IMPL_QA" || finish
check "wg-quick up on b ($(impl_name "$IMPL_B"))" up b "$QB" "$IMPL_QB" || finish
check "the daemon on a runs detached (wg-quick returned, process still there)" \
	sh -c "[ -n \"\$(ip netns pids $(H a))\" ]"
check "the interface on a has both addresses" \
	sh -c "ip netns exec $(H a) ip addr show $QA | grep -q 'inet $(t4 a)/24' && ip netns exec $(H a) ip addr show $QA | grep -q 'inet6 $(t6 a)/64'"
check "wg show on a: listening port and peer b" \
	sh -c "ip netns exec $(H a) wg show $QA | grep -q 'listening port: $(port a)' && ip netns exec $(H a) wg show $QA peers | grep -qF '$(pub b)'"
check "ping IPv4 a -> b" ping_ok a "$(t4 b)"
check "ping IPv6 a -> b" ping_ok a "$(t6 b)"
check "ping IPv4 b -> a" ping_ok b "$(t4 a)"
check "wg-quick down on a" down a "$QA"
check "a's interface, daemon and socket are gone" gone a "$QA"
check "b can no longer reach a" ping_none b "$(t4 a)" 2

# ----------------------------------------------------- 2. full tunnel --
conf a "$QA" b "0.0.0.0/0, ::/0"
X b ip addr add 10.200.0.1/32 dev lo
X b ip addr add fd00:200::1/128 dev lo
if ! command -v nft >/dev/null 2>&1 && ! command -v iptables-restore >/dev/null 2>&1; then
	fail "full tunnel: wg-quick needs nft (Debian package nftables) or iptables-restore"
else
	check "wg-quick up on a with AllowedIPs = 0.0.0.0/0, ::/0" up a "$QA" "$IMPL_QA"
	mark=$(X a wg show "$QA" fwmark)
	check "wg-quick gave the daemon a fwmark (wg show fwmark: $mark)" [ -n "$mark" -a "$mark" != off ]
	check "ip rule: unmarked traffic looks up wg-quick's table" \
		sh -c "ip netns exec $(H a) ip -4 rule show | grep -q 'not from all fwmark $mark lookup'"
	check "ping IPv4 a -> b's tunnel address (the handshake did not loop into the tunnel)" ping_ok a "$(t4 b)"
	check "ping IPv6 a -> b's tunnel address" ping_ok a "$(t6 b)"
	through_tunnel() {
		local t0 t1
		t0=$(wgc a show "$QA" transfer | awk '{print $3}')
		X a ping -q -n -c 3 -i 0.3 -W 2 "$1" || return 1
		t1=$(wgc a show "$QA" transfer | awk '{print $3}')
		echo "a's tx to b: $t0 -> $t1"
		[ "$t1" -gt "$t0" ]
	}
	check "ping a -> 10.200.0.1 (b's loopback) goes through the tunnel (a's tx to b grows)" through_tunnel 10.200.0.1
	check "ping a -> fd00:200::1 (b's loopback) goes through the tunnel" through_tunnel fd00:200::1
	check "b sees a's underlay address as its endpoint (the UDP itself went outside)" \
		sh -c "ip netns exec $(H b) wg show $QB endpoints | grep -qF '$(u4 a):$(port a)'"
	check "wg-quick down on a (full tunnel)" down a "$QA"
	check "a's interface, daemon and socket are gone" gone a "$QA"
	check "wg-quick's ip rules are gone" sh -c "! ip netns exec $(H a) ip -4 rule show | grep -q 'lookup $((mark))'"
	check "10.200.0.1 is unreachable for a again" ping_none a 10.200.0.1 1
fi

# ------------------------------------------------------ 3. Table = ... --
conf a "$QA" b "$(t4 b)/32, $(t6 b)/128, 10.99.0.0/16" "Table = off"
check "wg-quick up on a with Table = off" up a "$QA" "$IMPL_QA"
check "Table = off: no route for 10.99.0.0/16" \
	sh -c "[ -z \"\$(ip netns exec $(H a) ip -4 route show 10.99.0.0/16)\" ]"
check "Table = off: tunnel still works on the Address subnet" ping_ok a "$(t4 b)"
check "wg-quick down (Table = off)" down a "$QA"
check "a's interface and daemon are gone" gone a "$QA"

conf a "$QA" b "$(t4 b)/32, $(t6 b)/128, 10.99.0.0/16" "Table = 1234"
check "wg-quick up on a with Table = 1234" up a "$QA" "$IMPL_QA"
check "Table = 1234: ip route show table 1234 has 10.99.0.0/16 dev $QA" \
	sh -c "ip netns exec $(H a) ip -4 route show table 1234 | grep -q '^10.99.0.0/16 dev $QA'"
check "Table = 1234: and fd00:aa::2 in the IPv6 table" \
	sh -c "ip netns exec $(H a) ip -6 route show table 1234 | grep -q '^fd00:aa::2 dev $QA'"
check "Table = 1234: nothing for 10.99.0.0/16 in the main table" \
	sh -c "[ -z \"\$(ip netns exec $(H a) ip -4 route show table main 10.99.0.0/16)\" ]"
check "wg-quick down (Table = 1234)" down a "$QA"
check "a's interface and daemon are gone" gone a "$QA"
check "table 1234 is empty again" sh -c "[ -z \"\$(ip netns exec $(H a) ip -4 route show table 1234 2>/dev/null)\" ]"

check "wg-quick down on b" down b "$QB"
check "b's interface, daemon and socket are gone" gone b "$QB"

finish
