#!/bin/sh
# basic_test.sh - two hosts, IMPL_A on a and IMPL_B on b (zerowgd on both by
# default): ping v4/v6 in the tunnel over a v4 and a v6 underlay, the
# handshake and transfer counters in `wg show`, a 20 MB TCP transfer with a
# checksum, a UDP burst, and packets at and around the tunnel MTU.
T=basic
. "${0%/*}/lib.sh"

hosts a b
A=$(ifn a) B=$(ifn b)

# --- IPv4 underlay
check "set up $(impl_name "$IMPL_A") on a and $(impl_name "$IMPL_B") on b (v4 underlay)" wg_pair a b 4 || finish
check "no handshake before any traffic" hs_none a b
check "ping IPv4 a -> b in the tunnel (v4 underlay)" ping_ok a "$(t4 b)"
check "ping IPv6 a -> b in the tunnel (v4 underlay)" ping_ok a "$(t6 b)"
check "ping IPv4 b -> a in the tunnel (v4 underlay)" ping_ok b "$(t4 a)"
check "ping IPv6 b -> a in the tunnel (v4 underlay)" ping_ok b "$(t6 a)"
check "wg show on a has a latest handshake with b" wait_hs a b 2
check "wg show on b has a latest handshake with a" wait_hs b a 2
check "wg show on b: endpoint of a is a's v4 underlay address" endpoint_is b a "$(ep a 4)"

rx0=$(rx a b) tx0=$(tx a b)
X a ping -q -n -c 5 -i 0.2 -W 2 "$(t4 b)" >/dev/null
rx1=$(rx a b) tx1=$(tx a b)
check "transfer counters on a grow with traffic (rx $rx0 -> $rx1, tx $tx0 -> $tx1)" \
	[ "${rx1:-0}" -gt "${rx0:-0}" -a "${tx1:-0}" -gt "${tx0:-0}" ]

# --- MTU
mtu=$(X a cat "/sys/class/net/$A/mtu")
check "tunnel interface MTU is the wireguard-go default 1420 (got $mtu)" [ "$mtu" = 1420 ]
sizes_ok() {
	# $1: 4|6, $2: largest payload that fits the 1420 MTU with DF.
	local s bad
	bad=""
	for s in 1300 1320 1340 1360 $(($2 - 8)) $(($2 - 1)) $2; do
		if [ "$1" = 4 ]; then
			X a ping -q -n -c 1 -W 3 -Mdo -s $s "$(t4 b)" >/dev/null || bad="$bad $s"
		else
			X a ping -q -n -c 1 -W 3 -Mdo -s $s "$(t6 b)" >/dev/null || bad="$bad $s"
		fi
	done
	[ -z "$bad" ] || { echo "no reply for sizes:$bad"; return 1; }
}
check "IPv4 pings with DF, payload 1300..1392 (1420-byte packets) all answered" sizes_ok 4 1392
check "IPv6 pings, payload 1300..1372 (1420-byte packets) all answered" sizes_ok 6 1372
check_not "IPv4 ping with DF one byte over the MTU (1393) is refused" \
	X a ping -q -n -c 1 -W 2 -Mdo -s 1393 "$(t4 b)"
check "IPv4 ping of 4000 bytes (fragmented inside the tunnel) answered" \
	X a ping -q -n -c 2 -W 3 -s 4000 "$(t4 b)"
check "IPv6 ping of 4000 bytes (fragmented inside the tunnel) answered" \
	X a ping -q -n -c 2 -W 3 -s 4000 "$(t6 b)"

# --- TCP and UDP bulk
mkdata data 20
check "20 MB TCP transfer a -> b over IPv4 in the tunnel, sha256 matches" tcp_xfer a b "$(t4 b)" data
check "20 MB TCP transfer b -> a over IPv6 in the tunnel, sha256 matches" tcp_xfer b a "$(t6 a)" data

udp_burst() {
	local sp rc
	ip netns exec "$(H b)" timeout 20 iperf3 -s -1 -B "$(t4 b)" -p 5201 >"$W/iperf-s.out" 2>&1 &
	sp=$!
	wait_listen b 5201 || { echo "iperf3 server never listened"; return 1; }
	X a timeout 20 iperf3 -c "$(t4 b)" -p 5201 -u -b 200M -l 1200 -t 2 >"$W/iperf-c.out" 2>&1
	rc=$?
	wait $sp
	tail -n 4 "$W/iperf-c.out"
	[ $rc -eq 0 ]
}
check "UDP burst a -> b (iperf3 -u, 2 s at up to 200 Mbit/s) completes" udp_burst
check "both daemons still running after the bulk traffic" alive "$A" "$B"
check "ping a -> b still works after the UDP burst" ping_ok a "$(t4 b)" 5

wg_stop "$A"; wg_stop "$B"

# --- IPv6 underlay: fresh daemons, endpoints as [addr]:port
check "set up again over the v6 underlay (endpoints [fd00:77::N]:port)" wg_pair a b 6 || finish
check "ping IPv4 a -> b in the tunnel (v6 underlay)" ping_ok a "$(t4 b)"
check "ping IPv6 a -> b in the tunnel (v6 underlay)" ping_ok a "$(t6 b)"
check "ping IPv6 b -> a in the tunnel (v6 underlay)" ping_ok b "$(t6 a)"
check "wg show on b: endpoint of a is [$(u6 a)]:port" endpoint_is b a "$(ep a 6)"
check "IPv4 pings with DF at 1392 bytes over the v6 underlay (1500-byte outer packets)" \
	X a ping -q -n -c 2 -W 3 -Mdo -s 1392 "$(t4 b)"
mkdata data2 5
check "5 MB TCP transfer a -> b over the v6 underlay, sha256 matches" tcp_xfer a b "$(t4 b)" data2

finish
