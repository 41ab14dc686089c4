#!/bin/sh
# server_nat_test.sh - `zerowg up --nat`: a client reaches an "internet"
# namespace behind the server, and that namespace has no route back to the
# tunnel, so every reply proves the masquerade.  The egress interface is
# the one of the server's default route (looked up over netlink); the
# nftables table and the forwarding switches are the server's own and go
# away with it, after SIGTERM and after a kill -9 and restart too.
T=server_nat
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need wg wg-quick nft "$ZWG" "$ZWGD"
hosts s c
# The "internet": one namespace behind the server's eth1, 198.18.0.0/24
# and fd00:99::/64 (addresses inside namespaces this test made).
ns_add inet || { fail "setup: ip netns add inet"; finish; }
X s ip link add eth1 type veth peer name eth0 netns "$(H inet)"
X s ip link set eth1 up
X inet ip link set eth0 up
X s ip addr add 198.18.0.1/24 dev eth1
X s ip addr add fd00:99::1/64 dev eth1 nodad
X inet ip addr add 198.18.0.2/24 dev eth0
X inet ip addr add fd00:99::2/64 dev eth0 nodad
X s ip route add default via 198.18.0.2 dev eth1
X s ip -6 route add default via fd00:99::2 dev eth1
TABLE="zerowg_$(sif)"

fwd4() { X s cat /proc/sys/net/ipv4/ip_forward; }
fwd6() { X s cat /proc/sys/net/ipv6/conf/all/forwarding; }
table_present() { X s nft list table inet "$TABLE" >/dev/null 2>&1; }
table_absent() {
	if table_present; then
		echo "table inet $TABLE is still there:"
		X s nft list table inet "$TABLE"
		return 1
	fi
	echo "no table inet $TABLE"
}

check "setup: forwarding is off before the server starts" \
	sh -c "[ \"\$(ip netns exec '$(H s)' cat /proc/sys/net/ipv4/ip_forward)\" = 0 ]"
check "init: a sealed store is created" srv_init --subnet "$SUBNET4"
check "up --nat: the server starts" srv_start --nat || finish
check "up --nat: table inet $TABLE masquerades the tunnel out of eth1 (the default route's)" \
	sh -c "ip netns exec '$(H s)' nft list table inet '$TABLE' |
	       grep -q 'ip saddr $SUBNET4 oifname \"eth1\" masquerade'"
check "up --nat: IPv6 is masqueraded too" \
	sh -c "ip netns exec '$(H s)' nft list table inet '$TABLE' | grep -q 'ip6 saddr fd.*::/64 oifname \"eth1\" masquerade'"
check "up --nat: IPv4 and IPv6 forwarding are on" sh -c "[ \"\$(ip netns exec '$(H s)' cat /proc/sys/net/ipv4/ip_forward)\" = 1 ] &&
	[ \"\$(ip netns exec '$(H s)' cat /proc/sys/net/ipv6/conf/all/forwarding)\" = 1 ]"

ULA=$(srv_ula6)
CONF=$(peer_add laptop --allowed-ips "$SUBNET4, $ULA, 198.18.0.0/24, fd00:99::/64")
check "client c (wg-quick + zerowgd) comes up" client_up c "$CONF" "$ZWGD" || finish
check "setup: the internet namespace has no route to the tunnel" \
	sh -c "! ip netns exec '$(H inet)' ip route get ${SUBNET4%.0/*}.2 >/dev/null 2>&1"
check "NAT: the client reaches the internet namespace (IPv4)" ping_ok c 198.18.0.2
check "NAT: the client reaches the internet namespace (IPv6)" ping_ok c fd00:99::2
mkdata payload 2
check "NAT: 2 MB TCP from the client to the internet namespace, sha256 matches" \
	tcp_xfer c inet 198.18.0.2 payload

srv_stop TERM
check "SIGTERM: the server exits 0" sh -c "[ \"\$(cat '$W/server.status')\" = 0 ]"
check "SIGTERM: the nftables table is gone" table_absent
check "SIGTERM: forwarding is back to its old value (0)" \
	sh -c "[ \"\$(ip netns exec '$(H s)' cat /proc/sys/net/ipv4/ip_forward)\" = 0 ] &&
	       [ \"\$(ip netns exec '$(H s)' cat /proc/sys/net/ipv6/conf/all/forwarding)\" = 0 ]"
check_not "SIGTERM: the client no longer reaches the internet namespace" ping_ok c 198.18.0.2 2

# A crash of the server: its privileged helper, which holds the table, is
# still alive and removes it.
check "restart: the server starts again with --nat" srv_start --nat || finish
helper=$(pgrep -P "$(srv_pid)" | head -n 1)
check "the privileged helper is the server's child" test -n "$helper"
srv_stop KILL
check "kill -9 of the server: its privileged helper removes the table" \
	wait_for 5 table_absent
check "kill -9 of the server: the helper exits too" \
	wait_for 5 sh -c "! kill -0 '$helper' 2>/dev/null"
# Both killed at once: nothing could remove the table; the next start
# replaces it.
check "restart: the server starts again with --nat" srv_start --nat || finish
helper=$(pgrep -P "$(srv_pid)" | head -n 1)
kill -9 "$helper" 2>/dev/null
srv_stop KILL
check "kill -9 of both: the table is left behind (nothing could remove it)" table_present
check "restart after kill -9: the server starts and replaces the table" srv_start --nat || finish
check "restart after kill -9: exactly one table, with its rules" \
	sh -c "[ \"\$(ip netns exec '$(H s)' nft list tables | grep -c '$TABLE')\" = 1 ] &&
	       ip netns exec '$(H s)' nft list table inet '$TABLE' | grep -q masquerade"
check "restart: the client's unchanged config gets through to the internet again" \
	ping_ok c 198.18.0.2 30
srv_stop TERM
check "SIGTERM after the restart: the table is gone" table_absent

# The store remembers --nat: `up` without the flag keeps it on; --no-nat
# turns it off.
check "the store remembers NAT: up without --nat sets it up again" srv_start || finish
check "the store remembers NAT: the table is there" table_present
srv_stop TERM
check "up --no-nat: the server starts" srv_start --no-nat || finish
check "up --no-nat: no table" table_absent
srv_stop TERM
finish
