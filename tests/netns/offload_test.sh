#!/bin/sh
# offload_test.sh - the offload fast paths end to end: TUN TSO and USO
# super-packets cut by offload_tso_split, UDP GSO sends, UDP GRO reads cut
# into datagrams, and decrypted TCP segments and UDP datagrams merged into
# one TUN write, each on and off.
#
# A matrix over ZWG_DISABLE_OFFLOAD (unset, tun, tso, uso, gso, gro, all) with
# zerowgd on both sides, and for unset and all also against Debian's
# wireguard-go in both roles.  In every round:
#   - the daemon's "Offloads:" log line shows what the setting asks for;
#   - TCP transfers of a random file both ways over IPv4 and IPv6 in the
#     tunnel, sha256 compared;
#   - UDP datagrams of odd sizes (1 byte to just over the MTU, and some that
#     the sender must fragment) both ways over IPv4 and IPv6, the bytes
#     that arrived compared with what was sent;
#   - a UDP datagram over IPv6 whose checksum computes to zero (RFC 768:
#     it must go out as 0xffff, or the receiver drops it);
#   - UDP sent with UDP_SEGMENT (tests/tools/udpgso_send: 16 datagrams per
#     send, the last one of the file shorter) both ways over IPv4 (1392 and
#     333 bytes a datagram) and IPv6 (1372 and 333), the bytes compared.
#     The TUN packet counters (one per super-packet) show the offloads at
#     work: a sending zerowgd with USO on gets fewer packets from its TUN
#     than datagrams (super-packets it must cut), one with USO off, or
#     wireguard-go, one per datagram; a receiving zerowgd with USO on and
#     everything else on (zerowgd both sides) writes fewer packets than
#     datagrams (merged), one with USO off, or wireguard-go, one per datagram;
#   - pings of every payload size around the MTU (1300..1392 with DF for
#     IPv4, 1300..1372 for IPv6) and fragmented ones, all answered.
# In the first round also: TCP through an odd MTU (1337), and with a small
# MSS (a few hundred segments per super-packet), where nothing may be
# dropped.
#
# ROUNDS="unset gso unset-theirs-a" (the names at the end) limits the
# rounds run; MB sets the size of the TCP file (default 8).
T=offload
. "${0%/*}/lib.sh"

need nc bash dd sha256sum cmp timeout ping nstat
UDPGSO=$O/tools/udpgso_send
if [ ! -x "$UDPGSO" ]; then
	fail "prerequisite: $UDPGSO is not built (make O=${O##*/} ${O##*/}/tools/udpgso_send)"
	finish
fi
OURS=$ZWG_IMPL
THEIRS=${INTEROP_PEER:-$WGGO_IMPL}
MB=${MB:-8}
hosts a b
A=$(ifn a) B=$(ifn b)
keygen a; keygen b
mkdata tcp "$MB"

# Datagram sizes (payload bytes) for the UDP transfer: tiny, around the
# padding multiple, around the MTU of both families (1372 is the largest
# IPv6 payload in a 1420 MTU, 1392 the largest IPv4 one), and some that
# are sent as IP fragments.  nc reads a datagram into what is left of its
# 16 KiB buffer (the previous one may still be in it), so no two neighbours
# add up to more than 16384.
UDP_SIZES="1 2 3 7 15 16 17 31 32 33 100 255 256 257 511 512 513 999 1000 1001
 1023 1024 1025 1279 1280 1281 1337 1347 1348 1349 1363 1364 1365 1366 1367 1368
 1369 1370 1371 1372 1373 1374 1380 1381 1388 1389 1390 1391 1392 1393 1400 1420
 1472 1473 1500 2000 2801 3000 4096 5555 8000 8191 8192"
udp_total=0
udp_count=0
for s in $UDP_SIZES; do
	udp_total=$((udp_total + s))
	udp_count=$((udp_count + 1))
done
head -c "$udp_total" /dev/urandom >"$W/udp"
# The UDP_SEGMENT files (for 1372/1392 and for 333 bytes a datagram): no
# datagram size is a divisor, so every transfer ends with a shorter one.
# Few enough datagrams that the receiving socket's default buffer (212992
# bytes; a datagram costs about 2300 bytes of it at 1392 bytes, 1300 at
# 333) holds all of them even if nc reads none until the end: a loaded
# machine may hold the sends back and deliver them at once.
head -c 100003 /dev/urandom >"$W/uso.big"
head -c 40003 /dev/urandom >"$W/uso.small"

# ---------------------------------------------------------------- checks --

# offload_line IFNAME EXPECTED: the daemon's last "Offloads:" line is
# "Offloads: EXPECTED".
offload_line() {
	local got
	got=$(grep 'Offloads:' "$W/$1.log" | tail -n 1 | sed 's/.*Offloads: //')
	echo "log of $1: 'Offloads: $got' (expected 'Offloads: $2')"
	[ "$got" = "$2" ]
}

# expected_line SETTING: the "Offloads:" line zerowgd prints for it.
expected_line() {
	local vnet tso uso gso gro
	vnet=on tso=on uso=on gso=on gro=on
	case $1 in
	tun) vnet=off tso=off uso=off ;;
	tso) tso=off ;;
	uso) uso=off ;;
	gso) gso=off ;;
	gro) gro=off ;;
	all) vnet=off tso=off uso=off gso=off gro=off ;;
	esac
	echo "TUN vnet $vnet, TSO $tso, USO $uso, UDP GSO $gso, UDP GRO $gro"
}

# udp_xfer FROM TO ADDR: sends $W/udp from FROM to ADDR:5002 (an address
# of TO) as one datagram per size in UDP_SIZES (dd writing to a connected
# UDP socket: one write, one datagram), and compares what arrived.
udp_xfer() {
	local from to addr lp
	from=$1 to=$2 addr=$3
	rm -f "$W/udp.recv"
	ip netns exec "$(H "$to")" timeout 20 nc -u -l -n -W "$udp_count" "$addr" 5002 \
		>"$W/udp.recv" 2>"$W/udp.nc-l.err" &
	lp=$!
	wait_listen "$to" 5002 udp || { echo "receiver never listened"; kill $lp 2>/dev/null; return 1; }
	# One datagram at a time (a dd each), so the receiver keeps up.
	# shellcheck disable=SC2016,SC2086 # bash expands; UDP_SIZES is words
	X "$from" timeout 20 bash -c '
		exec 3<>"/dev/udp/$1/5002" || exit 1
		f=$2; shift 2
		off=0
		for s in "$@"; do
			dd if="$f" iflag=skip_bytes,count_bytes skip=$off count=$s bs=$s \
				status=none >&3 || { echo "send of $s bytes failed"; exit 1; }
			off=$((off + s))
		done' sh "$addr" "$W/udp" $UDP_SIZES || echo "sender failed"
	wait $lp
	echo "sent $udp_count datagrams, $(wc -c <"$W/udp") bytes; received $(wc -c <"$W/udp.recv") bytes"
	cmp "$W/udp" "$W/udp.recv" >/dev/null && return 0
	first_difference "$W/udp" "$W/udp.recv"
	return 1
}

# first_difference SENT RECEIVED: which datagram of UDP_SIZES is the first
# that did not arrive as sent.
first_difference() {
	local at off i s
	at=$(cmp "$1" "$2" 2>&1 | sed -n 's/.*differ: byte \([0-9]*\).*/\1/p')
	[ -z "$at" ] && at=$(($(wc -c <"$2") + 1))	# it ends early
	off=0 i=0
	for s in $UDP_SIZES; do
		i=$((i + 1))
		if [ "$at" -le $((off + s)) ]; then
			echo "first difference at byte $at: datagram $i of $s bytes (from byte $((off + 1)))"
			return
		fi
		off=$((off + s))
	done
}

# udp_zero_csum FROM TO: a 40-byte UDP datagram from FROM's tunnel IPv6
# address, port 40000, to TO's, port 5003, whose checksum computes to zero
# (the last two payload bytes are chosen for that); it must arrive.
udp_zero_csum() {
	local from to sum x lp e0
	from=$1 to=$2
	# The one's-complement sum of the pseudo-header (fd00:aa::N twice,
	# length 40, next header 17), the UDP header (ports, length) and 30
	# bytes of 'A' (0x4141 words), all but the last payload word.
	sum=$((0xfd00 + 0xaa + $(idx "$from") + 0xfd00 + 0xaa + $(idx "$to") + 40 + 17))
	sum=$((sum + 40000 + 5003 + 40 + 15 * 0x4141))
	while [ $sum -gt 65535 ]; do sum=$(((sum & 0xffff) + (sum >> 16))); done
	x=$((0xffff - sum))
	# shellcheck disable=SC2059 # the two bytes of x as octal escapes
	{ printf %s AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
	  printf "\\$(printf %03o $((x >> 8)))\\$(printf %03o $((x & 255)))"; } >"$W/zero"
	rm -f "$W/zero.recv"
	ip netns exec "$(H "$to")" timeout 5 nc -u -l -n -W 1 "$(t6 "$to")" 5003 \
		>"$W/zero.recv" 2>/dev/null &
	lp=$!
	wait_listen "$to" 5003 udp || { echo "receiver never listened"; kill $lp 2>/dev/null; return 1; }
	e0=$(csum_errors "$to")
	X "$from" timeout 5 nc -u -n -q 0 -p 40000 "$(t6 "$to")" 5003 <"$W/zero"
	wait $lp
	echo "sent $(wc -c <"$W/zero") bytes, received $(wc -c <"$W/zero.recv");" \
		"Udp6InCsumErrors at $to: $e0 -> $(csum_errors "$to")"
	cmp "$W/zero" "$W/zero.recv"
}

# udpgso_xfer FROM TO ADDR FILE GSO SEND RECV: sends $W/FILE from FROM to
# ADDR:5004 (an address of TO) with udpgso_send, GSO bytes a datagram, and
# compares what arrived.  The TUN counters count super-packets once: FROM's
# tx_packets what its kernel handed the daemon, TO's rx_packets the writes
# of the daemon there.  SEND "super" asks for fewer packets than datagrams
# at FROM, "single" for one at least per datagram; RECV "merged" and
# "unmerged" the same of TO's writes; "any" asks nothing.
udpgso_xfer() {
	local from to addr f gso n lp rx0 rx1 tx0 tx1 reads writes
	from=$1 to=$2 addr=$3 f=$W/$4 gso=$5
	n=$((($(wc -c <"$f") + gso - 1) / gso))
	rm -f "$W/uso.recv"
	ip netns exec "$(H "$to")" timeout 20 nc -u -l -n -W "$n" "$addr" 5004 \
		>"$W/uso.recv" 2>"$W/uso.nc-l.err" &
	lp=$!
	wait_listen "$to" 5004 udp || { echo "receiver never listened"; kill $lp 2>/dev/null; return 1; }
	tx0=$(iface_tx_packets "$from" "$(ifn "$from")")
	rx0=$(iface_rx_packets "$to" "$(ifn "$to")")
	X "$from" timeout 20 "$UDPGSO" "$addr" 5004 "$f" "$gso" || echo "sender failed"
	wait $lp
	tx1=$(iface_tx_packets "$from" "$(ifn "$from")")
	rx1=$(iface_rx_packets "$to" "$(ifn "$to")")
	reads=$((tx1 - tx0)) writes=$((rx1 - rx0))
	echo "sent $n datagrams, $(wc -c <"$f") bytes, in $reads packets from the TUN of $from;" \
		"received $(wc -c <"$W/uso.recv") bytes in $writes TUN writes at $to"
	cmp "$f" "$W/uso.recv" || return 1
	case $6 in
	super) [ "$reads" -lt "$n" ] || { echo "no USO super-packets at $from"; return 1; } ;;
	single) [ "$reads" -ge "$n" ] || { echo "USO super-packets at $from"; return 1; } ;;
	esac
	case $7 in
	merged) [ "$writes" -lt "$n" ] || { echo "no datagrams were merged at $to"; return 1; } ;;
	unmerged) [ "$writes" -ge "$n" ] || { echo "datagrams were merged at $to"; return 1; } ;;
	esac
}

iface_tx_packets() { X "$1" cat "/sys/class/net/$2/statistics/tx_packets"; }

csum_errors() { X "$1" awk '$1 == "Udp6InCsumErrors" { print $2 }' /proc/net/snmp6; }

# pings FROM ADDR FAMILY FIRST LAST: every payload size FIRST..LAST, with
# DF for IPv4, answered (one retry per size).
pings() {
	X "$1" sh -c '
		addr=$1 df=$2 s=$3 bad=""
		while [ $s -le $4 ]; do
			ping -q -n -c 1 -W 2 $df -s $s "$addr" >/dev/null 2>&1 ||
			ping -q -n -c 1 -W 2 $df -s $s "$addr" >/dev/null 2>&1 ||
				bad="$bad $s"
			s=$((s + 1))
		done
		[ -z "$bad" ] || { echo "no reply for payload sizes:$bad"; exit 1; }' \
		sh "$2" "$([ "$3" = 4 ] && echo "-M do")" "$4" "$5"
}

# ---------------------------------------------------------------- rounds --

# setup ATEMPLATE BTEMPLATE FAMILY ENV...: starts both, configures, links up.
setup() {
	local ta tb fam
	ta=$1 tb=$2 fam=$3
	shift 3
	wg_start a "$A" "$ta" "$@" || return 1
	wg_start b "$B" "$tb" "$@" || return 1
	wg_conf a b "$fam" && wg_conf b a "$fam" && tun_up a && tun_up b
}

# round NAME SETTING ATEMPLATE BTEMPLATE UNDERLAY_FAMILY
round() {
	local set ta tb fam tag env
	set=$2 ta=$3 tb=$4 fam=$5
	case " ${ROUNDS:-$1} " in *" $1 "*) ;; *) return ;; esac
	env=""
	[ "$set" != unset ] && env="ZWG_DISABLE_OFFLOAD=$set"
	tag="$set: $(impl_name "$ta") a, $(impl_name "$tb") b, v$fam underlay"
	# shellcheck disable=SC2086 # env is one word or none
	if ! check "$tag: start and configure" setup "$ta" "$tb" "$fam" $env; then
		wg_stop "$A"; wg_stop "$B"
		return
	fi
	check "$tag: handshake (ping a -> b)" ping_ok a "$(t4 b)"
	is_zerowgd "$ta" && check "$tag: log of a shows the offload state" \
		offload_line "$A" "$(expected_line "$set")"
	is_zerowgd "$tb" && check "$tag: log of b shows the offload state" \
		offload_line "$B" "$(expected_line "$set")"
	check "$tag: TCP $MB MB a -> b over IPv4, sha256 matches" tcp_xfer a b "$(t4 b)" tcp
	check "$tag: TCP $MB MB b -> a over IPv4, sha256 matches" tcp_xfer b a "$(t4 a)" tcp
	check "$tag: TCP $MB MB a -> b over IPv6, sha256 matches" tcp_xfer a b "$(t6 b)" tcp
	check "$tag: TCP $MB MB b -> a over IPv6, sha256 matches" tcp_xfer b a "$(t6 a)" tcp
	check "$tag: UDP, $udp_count datagrams of 1..8192 bytes a -> b over IPv4, bytes match" \
		udp_xfer a b "$(t4 b)"
	check "$tag: UDP, $udp_count datagrams of 1..8192 bytes b -> a over IPv4, bytes match" \
		udp_xfer b a "$(t4 a)"
	check "$tag: UDP, $udp_count datagrams of 1..8192 bytes a -> b over IPv6, bytes match" \
		udp_xfer a b "$(t6 b)"
	check "$tag: UDP, $udp_count datagrams of 1..8192 bytes b -> a over IPv6, bytes match" \
		udp_xfer b a "$(t6 a)"
	check "$tag: UDP over IPv6 with a checksum that computes to 0, a -> b, arrives" \
		udp_zero_csum a b
	check "$tag: UDP over IPv6 with a checksum that computes to 0, b -> a, arrives" \
		udp_zero_csum b a
	udpgso_checks "$tag" "$set" "$ta" "$tb"
	check "$tag: IPv4 pings with DF, every payload 1300..1392, a -> b" pings a "$(t4 b)" 4 1300 1392
	check "$tag: IPv6 pings, every payload 1300..1372, b -> a" pings b "$(t6 a)" 6 1300 1372
	check "$tag: IPv4 and IPv6 pings of 1393..1500 and 4000 bytes (fragmented), a -> b" \
		fragmented_pings a b
	[ "$set" = unset ] && [ "$ta" = "$OURS" ] && [ "$tb" = "$OURS" ] && extra_tcp "$tag"
	check "$tag: both daemons still running" alive "$A" "$B"
	wg_stop "$A"; wg_stop "$B"
}

# udpgso_checks TAG SETTING ATEMPLATE BTEMPLATE: the UDP_SEGMENT transfers
# both ways, IPv4 and IPv6, at the largest datagram the MTU takes and at
# an odd size.
udpgso_checks() {
	local tag set ta tb ab ba
	tag=$1 set=$2 ta=$3 tb=$4
	ab="$(uso_send "$set" "$ta") $(uso_recv "$set" "$ta" "$tb")"
	ba="$(uso_send "$set" "$tb") $(uso_recv "$set" "$tb" "$ta")"
	# shellcheck disable=SC2086 # ab and ba are two words each
	{
	check "$tag: UDP_SEGMENT 1392 a -> b over IPv4, bytes match$(uso_text $ab)" \
		udpgso_xfer a b "$(t4 b)" uso.big 1392 $ab
	check "$tag: UDP_SEGMENT 1392 b -> a over IPv4, bytes match$(uso_text $ba)" \
		udpgso_xfer b a "$(t4 a)" uso.big 1392 $ba
	check "$tag: UDP_SEGMENT 333 a -> b over IPv4, bytes match$(uso_text $ab)" \
		udpgso_xfer a b "$(t4 b)" uso.small 333 $ab
	check "$tag: UDP_SEGMENT 333 b -> a over IPv4, bytes match$(uso_text $ba)" \
		udpgso_xfer b a "$(t4 a)" uso.small 333 $ba
	check "$tag: UDP_SEGMENT 1372 a -> b over IPv6, bytes match$(uso_text $ab)" \
		udpgso_xfer a b "$(t6 b)" uso.big 1372 $ab
	check "$tag: UDP_SEGMENT 1372 b -> a over IPv6, bytes match$(uso_text $ba)" \
		udpgso_xfer b a "$(t6 a)" uso.big 1372 $ba
	check "$tag: UDP_SEGMENT 333 a -> b over IPv6, bytes match$(uso_text $ab)" \
		udpgso_xfer a b "$(t6 b)" uso.small 333 $ab
	check "$tag: UDP_SEGMENT 333 b -> a over IPv6, bytes match$(uso_text $ba)" \
		udpgso_xfer b a "$(t6 a)" uso.small 333 $ba
	}
}

# uso_send SETTING FROM_TEMPLATE: what udpgso_xfer asks of the sender.  A
# TUN that took USO hands over each send as one super-packet; without it
# the kernel cuts the datagrams itself.
uso_send() {
	if ! is_zerowgd "$2"; then
		echo single
		return
	fi
	case $1 in
	uso|tun|all) echo single ;;
	*) echo super ;;
	esac
}

# uso_recv SETTING FROM_TEMPLATE TO_TEMPLATE: what udpgso_xfer asks of the
# receiver.  Merged: zerowgd on both sides with every offload on (the 16
# datagrams of a send leave in one UDP GSO send and are read in one UDP
# GRO read).  Unmerged: the receiver has no USO.  Anything else may or may
# not merge, depending on how the datagrams happen to be batched.
uso_recv() {
	if ! is_zerowgd "$3"; then
		echo unmerged
		return
	fi
	case $1 in
	uso|tun|all) echo unmerged ;;
	unset) if is_zerowgd "$2"; then echo merged; else echo any; fi ;;
	*) echo any ;;
	esac
}

# uso_text SEND RECV: the words for the check's title.
uso_text() {
	case $1 in
	super) printf ', sent as USO super-packets' ;;
	single) printf ', handed over one by one' ;;
	esac
	case $2 in
	merged) printf ', merged in the TUN writes' ;;
	unmerged) printf ', written one by one' ;;
	esac
}

fragmented_pings() {
	X "$1" ping -q -n -c 1 -W 3 -s 1393 "$(t4 "$2")" &&
	X "$1" ping -q -n -c 1 -W 3 -s 1500 "$(t4 "$2")" &&
	X "$1" ping -q -n -c 1 -W 3 -s 4000 "$(t4 "$2")" &&
	X "$1" ping -q -n -c 1 -W 3 -s 1373 "$(t6 "$2")" &&
	X "$1" ping -q -n -c 1 -W 3 -s 4000 "$(t6 "$2")"
}

# extra_tcp TAG: segment sizes other than the usual MSS: an odd MTU on
# both tunnel interfaces (MSS 1297 / 1277), and a small MSS advertised by
# the receiver, so the sender's kernel hands over super-packets of a few
# hundred segments.
extra_tcp() {
	mkdata small 2
	X a ip link set "$A" mtu 1337 && X b ip link set "$B" mtu 1337
	check "$1: TCP 2 MB a -> b over IPv4 with MTU 1337, sha256 matches" tcp_xfer a b "$(t4 b)" small
	check "$1: TCP 2 MB b -> a over IPv6 with MTU 1337, sha256 matches" tcp_xfer b a "$(t6 a)" small
	X a ip link set "$A" mtu 1420; X b ip link set "$B" mtu 1420
	check "$1: TCP 2 MB a -> b over IPv4, b advertising MSS 100: sha256 matches, nothing dropped" \
		small_mss 4 100
	check "$1: TCP 2 MB a -> b over IPv6, b advertising MSS 100: sha256 matches, nothing dropped" \
		small_mss 6 100
}

# small_mss FAMILY MSS: a TCP transfer a -> b with b's route to a
# advertising MSS, so a's kernel hands its daemon super-packets of several
# hundred segments; every one must be cut and sent.  Lost segments show as
# TCP retransmissions at a: those the kernel accounts for (the TUN queue
# was full: tx_dropped of a's interface) are not the daemon's; the rest
# must be few (the path is a veth, it loses nothing), and the daemon must
# not have logged a super-packet it could not split.
small_mss() {
	local route r0 r1 d0 d1 u0 u1 ok lost
	# b's connected route to the tunnel network, as the kernel made it.
	if [ "$1" = 4 ]; then
		route="10.77.0.0/24 dev $B proto kernel scope link src $(t4 b)"
	else
		route="fd00:aa::/64 dev $B proto kernel metric 256"
	fi
	# shellcheck disable=SC2086 # route is words
	X b ip -"$1" route change $route advmss "$2" || return 1
	u0=$(grep -c 'unsplittable' "$W/$A.log")
	r0=$(retrans a) d0=$(tun_tx_dropped a "$A")
	ok=0
	if [ "$1" = 4 ]; then
		tcp_xfer a b "$(t4 b)" small || ok=1
	else
		tcp_xfer a b "$(t6 b)" small || ok=1
	fi
	u1=$(grep -c 'unsplittable' "$W/$A.log")
	r1=$(retrans a) d1=$(tun_tx_dropped a "$A")
	# shellcheck disable=SC2086
	X b ip -"$1" route change $route
	lost=$(((r1 - r0) - (d1 - d0)))
	echo "a retransmitted $((r1 - r0)) TCP segments; its TUN queue dropped $((d1 - d0));" \
		"lost elsewhere: $lost; log lines about unsplittable super-packets: $((u1 - u0))"
	[ $ok = 0 ] && [ "$u1" = "$u0" ] && [ "$lost" -lt 100 ]
}

tun_tx_dropped() { X "$1" cat "/sys/class/net/$2/statistics/tx_dropped"; }
retrans() { X "$1" nstat -az TcpRetransSegs | awk '$1 == "TcpRetransSegs" { print $2 }'; }

round unset unset "$OURS" "$OURS" 4
round tun tun "$OURS" "$OURS" 6
round tso tso "$OURS" "$OURS" 4
round uso uso "$OURS" "$OURS" 6
round gso gso "$OURS" "$OURS" 6
round gro gro "$OURS" "$OURS" 4
round all all "$OURS" "$OURS" 6
if command -v wireguard-go >/dev/null 2>&1 || [ -n "${INTEROP_PEER:-}" ]; then
	round unset-theirs-b unset "$OURS" "$THEIRS" 4
	round unset-theirs-a unset "$THEIRS" "$OURS" 6
	round all-theirs-b all "$OURS" "$THEIRS" 6
	round all-theirs-a all "$THEIRS" "$OURS" 4
else
	skip "wireguard-go is not installed: no interop rounds"
fi

finish
