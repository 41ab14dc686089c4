#!/bin/sh
# defaults_test.sh - the embedded defaults give a full-tunnel client a
# working internet, as a new user meets them: a fresh store, `zerowg up`
# with no --nat and no --dns, `zerowg peer add phone` with no option.
#
# Host s (the server) has a default route out of eth1 into an "internet"
# namespace (198.18.0.0/24 and fd00:99::/64, addresses inside namespaces
# this test made), which has no route back to the tunnel: every reply
# proves the masquerade.  The internet runs a tiny DNS server (python3)
# that answers "example.test A" with 198.18.0.77; s's resolv.conf names it
# (/etc/netns/<ns of s>/resolv.conf, which `ip netns exec` mounts over
# /etc/resolv.conf; removed on every exit path).  The client asks the
# server's tunnel address through the tunnel with a raw DNS query.
#
# Checked: NAT and DNS are on without a flag, and the start-up lines say
# so and how to opt out; the phone's config is full tunnel with
# "DNS = <server's tunnel IPv4>"; the phone reaches the internet over IPv4
# and IPv6 and resolves a name; the relay gives a new id upstream and does
# not answer the internet (no open resolver); after SIGTERM no nftables
# table is left, the forwarding switches and port 53 are as before;
# --no-nat leaves no table at all (and DNS still works).
T=defaults
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need wg wg-quick nft python3 ss "$ZWG" "$ZWGD"
hosts s c
SNS=$(H s)
NETNS_ETC=/etc/netns/$SNS
ETC_NETNS_MADE=""
[ -d /etc/netns ] || ETC_NETNS_MADE=1
defaults_cleanup() {
	rm -f "$NETNS_ETC/resolv.conf"
	rmdir "$NETNS_ETC" 2>/dev/null
	[ -n "$ETC_NETNS_MADE" ] && rmdir /etc/netns 2>/dev/null
	lib_cleanup
}
trap defaults_cleanup EXIT

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
mkdir -p "$NETNS_ETC" && printf 'nameserver 198.18.0.2\n' >"$NETNS_ETC/resolv.conf"
TABLE="zerowg_$(sif)"

# The internet's DNS server (example.test A -> 198.18.0.77, one log line
# per query: "SRC ID NAME") and a raw DNS query: tests/tools/*.py.
cp "${0%/*}/../tools/fakedns.py" "${0%/*}/../tools/dnsq.py" "$W/"
ip netns exec "$(H inet)" python3 "$W/fakedns.py" "$W/fakedns.queries" >"$W/fakedns.log" 2>&1 &
check "setup: the internet's DNS server listens on 198.18.0.2:53" wait_listen inet 53 udp

fwd() { X s cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding | tr '\n' ' '; }
FWD_BEFORE=$(fwd)
zerowg_tables() { X s nft list tables 2>/dev/null | grep zerowg; }
no_zerowg_table() {
	if zerowg_tables; then
		echo "a zerowg table is still there"
		return 1
	fi
	echo "no zerowg table"
}
fwd_as_before() {
	echo "forwarding (IPv4 IPv6): before '$FWD_BEFORE', now '$(fwd)'"
	[ "$(fwd)" = "$FWD_BEFORE" ]
}
no_port53() {
	if X s ss -Hlun 'sport = :53' | grep .; then
		echo "something still listens on UDP port 53 in s"
		return 1
	fi
}
# lookup HOST SERVER [ID]: example.test through SERVER must be 198.18.0.77.
lookup() {
	local got
	got=$(X "$1" timeout 10 python3 "$W/dnsq.py" "$2" example.test "${3:-4660}")
	echo "example.test via $2 from $1: $got"
	[ "$got" = 198.18.0.77 ]
}
log_has() { grep -F -- "$1" "$W/server.log"; }

check "setup: no zerowg table and forwarding off ($FWD_BEFORE) before the server starts" \
	sh -c "[ '$FWD_BEFORE' = '0 0 ' ] && ! ip netns exec '$SNS' nft list tables | grep -q zerowg"
check "init (no --nat, no --dns): a sealed store is created" srv_init --subnet "$SUBNET4"
check "init says NAT is on and clients' DNS is the server's tunnel address" \
	grep -E "clients +NAT on .*DNS $SRV4\$" "$W/init.out"
check "up (no --nat): the server starts" srv_start || finish

check "NAT on by default: table inet $TABLE masquerades the tunnel out of eth1" \
	sh -c "ip netns exec '$SNS' nft list table inet '$TABLE' |
	       grep -q 'ip saddr $SUBNET4 oifname \"eth1\" masquerade'"
check "NAT on by default: IPv6 is masqueraded too" \
	sh -c "ip netns exec '$SNS' nft list table inet '$TABLE' |
	       grep -q 'ip6 saddr fd.*::/64 oifname \"eth1\" masquerade'"
check "NAT on by default: IPv4 and IPv6 forwarding are on" sh -c "[ \"\$(ip netns exec '$SNS' \
	cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding | tr '\n' ' ')\" = '1 1 ' ]"
# The start-up lines (server.c prints nat_describe and dns_relay_describe).
check "start-up line: what NAT does and how to turn it off" \
	log_has "NAT: clients' traffic to the internet leaves through eth1 (IPv4) and eth1 (IPv6), masqueraded; turn it off with --no-nat"
check "start-up line: where clients ask DNS and where it goes" \
	log_has "DNS: clients ask $SRV4, relayed to 198.18.0.2 (set --dns to use other servers)"

CONF=$(peer_add phone)
printf '%s\n' "$CONF" | sed '/PrivateKey\|PresharedKey/d' >"$W/phone.conf.txt"
check "peer add phone (no option): full tunnel" \
	grep -qE '^AllowedIPs = 0\.0\.0\.0/0, ::/0$' "$W/phone.conf.txt"
check "peer add phone: DNS = the server's tunnel IPv4 only" grep -qx "DNS = $SRV4" "$W/phone.conf.txt"
check "client c (wg-quick + zerowgd, full tunnel) comes up" client_up c "$CONF" "$ZWGD" || finish
check "setup: the internet namespace has no route to the tunnel" \
	sh -c "! ip netns exec '$(H inet)' ip route get ${SUBNET4%.0/*}.2 >/dev/null 2>&1"
check "the phone reaches the internet (IPv4, masqueraded)" ping_ok c 198.18.0.2
check "the phone reaches the internet (IPv6, masqueraded)" ping_ok c fd00:99::2

check "DNS: the phone resolves example.test through the server ($SRV4)" lookup c "$SRV4" 4660
check "DNS: the query reached the internet's server from s, with a new id" \
	sh -c "grep -q '^198.18.0.1 .* example.test$' '$W/fakedns.queries' &&
	       ! grep -q '^198.18.0.1 4660 example.test$' '$W/fakedns.queries'"
# Not an open resolver: the internet given a route to the tunnel address
# asks it, and gets nothing.
X inet ip route add "$SUBNET4" via 198.18.0.1
check_not "DNS: a host on the internet gets no answer from $SRV4" lookup inet "$SRV4" 4661
X inet ip route del "$SUBNET4" via 198.18.0.1

srv_stop TERM
check "SIGTERM: the server exits 0" sh -c "[ \"\$(cat '$W/server.status')\" = 0 ]"
check "SIGTERM: no zerowg nftables table is left" no_zerowg_table
check "SIGTERM: the forwarding switches are as before" fwd_as_before
check "SIGTERM: nothing listens on UDP port 53" no_port53
check_not "SIGTERM: the phone no longer reaches the internet" ping_ok c 198.18.0.2 2

check "up --no-nat: the server starts" srv_start --no-nat || finish
check "up --no-nat: no nftables table at all" no_zerowg_table
check "up --no-nat: forwarding stays as before" fwd_as_before
check "up --no-nat: the start-up line says NAT is off and how to turn it on" \
	log_has "NAT: off: clients reach this server and each other, not the internet behind it; turn it on with --nat"
# The restart lost the sessions: the phone's next handshake comes within
# about 15 s of its first unanswered packet.
check "up --no-nat: the phone reaches the server again" ping_ok c "$SRV4" 30
check_not "up --no-nat: the phone does not reach the internet" ping_ok c 198.18.0.2 2
check "up --no-nat: DNS still works (the server asks, not the phone)" lookup c "$SRV4" 4662
srv_stop TERM
check "--no-nat stored: up without flags keeps NAT off" srv_start || finish
check "--no-nat stored: still no table" no_zerowg_table
srv_stop TERM
check "after every run: no table, forwarding as before" sh -c "! ip netns exec '$SNS' nft list tables | grep -q zerowg && [ \"\$(ip netns exec '$SNS' cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding | tr '\n' ' ')\" = '$FWD_BEFORE' ]"
finish
