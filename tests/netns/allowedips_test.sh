#!/bin/sh
# allowedips_test.sh - cryptokey routing.  A server s with two peers whose
# allowed IPs overlap:
#     p1: 10.77.0.0/16, fd00:aa::/32        (the wide one)
#     p2: 10.77.1.0/24, fd00:aa:0:1::/64    (the narrow one, inside it)
# Sending: s picks the peer by longest prefix (p1 does not forward, so a
# packet routed to the wrong peer gets no answer).  Receiving: a packet is
# accepted only when its inner source routes back to the peer it came from;
# s's interface rx_packets counter shows what was delivered.  Last, an
# allowed IP moves from p1 to p2 with `wg set`.
# s runs IMPL_A, the peers IMPL_B.
T=allowedips
. "${0%/*}/lib.sh"

hosts s p1 p2
S=$(ifn s) P1=$(ifn p1) P2=$(ifn p2)
SA4=10.77.200.1 SA6=fd00:aa:0:ff::1
P1A4=10.77.0.2 P1A6=fd00:aa::2
P2A4=10.77.1.2 P2A6=fd00:aa:0:1::2
MOVED=10.88.0.5

setup() {
	keygen s; keygen p1; keygen p2
	wg_start s "$S" "$IMPL_A" || return 1
	wg_start p1 "$P1" "$IMPL_B" || return 1
	wg_start p2 "$P2" "$IMPL_B" || return 1
	wgc s set "$S" listen-port "$(port s)" private-key "$(key s)" \
		peer "$(pub p1)" allowed-ips "10.77.0.0/16,fd00:aa::/32,$MOVED/32" endpoint "$(ep p1)" \
		peer "$(pub p2)" allowed-ips "10.77.1.0/24,fd00:aa:0:1::/64" endpoint "$(ep p2)" || return 1
	wgc p1 set "$P1" listen-port "$(port p1)" private-key "$(key p1)" \
		peer "$(pub s)" allowed-ips "10.77.0.0/16,10.88.0.0/16,10.99.0.0/16,fd00:aa::/32" endpoint "$(ep s)" || return 1
	wgc p2 set "$P2" listen-port "$(port p2)" private-key "$(key p2)" \
		peer "$(pub s)" allowed-ips "10.77.0.0/16,10.88.0.0/16,fd00:aa::/32" endpoint "$(ep s)" || return 1
	X s ip link set "$S" up && X p1 ip link set "$P1" up && X p2 ip link set "$P2" up &&
	X s ip addr add "$SA4/16" dev "$S" && X s ip addr add "$SA6/32" dev "$S" nodad &&
	X s ip route add 10.88.0.0/16 dev "$S" &&
	X p1 ip addr add "$P1A4/16" dev "$P1" && X p1 ip addr add "$P1A6/32" dev "$P1" nodad &&
	X p1 ip route add 10.88.0.0/16 dev "$P1" &&
	X p2 ip addr add "$P2A4/16" dev "$P2" && X p2 ip addr add "$P2A6/32" dev "$P2" nodad &&
	X p2 ip route add 10.88.0.0/16 dev "$P2"
}
check "set up s ($(impl_name "$IMPL_A")) with peers p1, p2 ($(impl_name "$IMPL_B"))" setup || finish

# --- sending: longest prefix
check "s -> $P1A4 (only in p1's /16) reaches p1" ping_ok s "$P1A4"
check "s -> $P2A4 (in p2's /24 and p1's /16) reaches p2" ping_ok s "$P2A4"
check "s -> $P1A6 (only in p1's /32) reaches p1" ping_ok s "$P1A6"
check "s -> $P2A6 (in p2's /64 and p1's /32) reaches p2" ping_ok s "$P2A6"
check "p2 -> s works" ping_ok p2 "$SA4"

# --- receiving: source address filter
rxs() { iface_rx_packets s "$S"; }
# delivered_from HOST SRC DST: HOST pings DST from SRC; prints how many
# packets s's interface took in meanwhile.
delivered_from() {
	local r0 r1
	r0=$(rxs)
	X "$1" ping -q -n -c 3 -i 0.3 -W 1 -I "$2" "$3" >/dev/null 2>&1
	sleep 0.5
	r1=$(rxs)
	echo $((r1 - r0))
}
# spoof_dropped SRC DST: p1 pings DST from SRC; its daemon sends the packets
# (its tx to s grows) and s delivers none of them to its interface.
spoof_dropped() {
	local t0 t1 n
	t0=$(tx p1 s)
	n=$(delivered_from p1 "$1" "$2")
	t1=$(tx p1 s)
	echo "p1 tx to s: $t0 -> $t1 bytes; delivered on s: $n packets"
	[ "$t1" -gt "$t0" ] && [ "$n" -eq 0 ]
}
n=$(delivered_from p1 "$P1A4" "$SA4")
check "control: 3 pings from p1 with its own source reach s's interface ($n packets)" [ "$n" -ge 3 ]

X p1 ip addr add 10.99.0.1/32 dev "$P1"
check "p1 spoofing source 10.99.0.1 (in nobody's allowed IPs): sent by p1, dropped by s" spoof_dropped 10.99.0.1 "$SA4"

X p1 ip addr add 10.77.1.50/32 dev "$P1"
check "p1 spoofing source 10.77.1.50 (in its /16 but p2's longer /24): sent by p1, dropped by s" spoof_dropped 10.77.1.50 "$SA4"

X p1 ip addr add fd00:aa:0:1::50/128 dev "$P1" nodad
check "p1 spoofing IPv6 source fd00:aa:0:1::50 (p2's /64): sent by p1, dropped by s" spoof_dropped fd00:aa:0:1::50 "$SA6"

n=$(delivered_from p2 "$P2A4" "$SA4")
check "control: p2 with its own source still reaches s ($n packets)" [ "$n" -ge 3 ]

# --- moving an allowed IP from p1 to p2
X p1 ip addr add "$MOVED/32" dev "$P1"
check "s -> $MOVED (p1's /32) reaches p1" ping_ok s "$MOVED"
wgc s set "$S" peer "$(pub p2)" allowed-ips "10.77.1.0/24,fd00:aa:0:1::/64,$MOVED/32"
allowed_of() {
	wgc s show "$S" allowed-ips | awk -v k="$(pub "$1")" '$1 == k { $1 = ""; print }'
}
moved_away() {
	local a1 a2
	a1=$(allowed_of p1) a2=$(allowed_of p2)
	echo "p1:$a1"; echo "p2:$a2"
	case " $a1 " in *" $MOVED/32 "*) return 1 ;; esac
	case " $a2 " in *" $MOVED/32 "*) return 0 ;; esac
	return 1
}
check "wg show allowed-ips: $MOVED/32 left p1 and belongs to p2" moved_away
check "s -> $MOVED now goes to p2, which does not have it: no reply" ping_none s "$MOVED" 3
check "p1 with source $MOVED is now dropped by s" spoof_dropped "$MOVED" "$SA4"
X p1 ip addr del "$MOVED/32" dev "$P1"
X p2 ip addr add "$MOVED/32" dev "$P2"
check "once p2 has $MOVED, s -> $MOVED reaches p2" ping_ok s "$MOVED"
check "daemons still running" alive "$S" "$P1" "$P2"

finish
