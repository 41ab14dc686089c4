#!/bin/sh
# tools/demo.sh - what `make run` shows: zerowgd carrying traffic between two
# throw-away network namespaces on this machine.
#
#   left  [zerowgd]  192.168.99.1 ==veth== 192.168.99.2  [zerowgd]  right
#          tunnel 10.99.0.1 / fd00:99:aa::1     10.99.0.2 / fd00:99:aa::2
#
# Needs root, ip and wg (wireguard-tools), ping, nc; uses iperf3 if present.
# Private keys go from `wg genkey` straight into the daemon through a pipe;
# they never touch the disk.  Everything is removed on exit.
set -u

O=${O:-build}
case $O in /*) ;; *) O=$(pwd)/$O ;; esac
ZWGD=$O/zerowgd
export PATH="$PATH:/usr/sbin:/sbin"

if [ -t 1 ]; then
	B=$(printf '\033[1m') G=$(printf '\033[32m') R=$(printf '\033[31m') N=$(printf '\033[0m')
else
	B="" G="" R="" N=""
fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
ok() { printf '    %sok%s  %s\n' "$G" "$N" "$*"; }
die() {
	printf '\n%sdemo failed:%s %s\n' "$R" "$N" "$*" >&2
	for f in "$TMP"/*.log; do
		[ -s "$f" ] || continue
		printf '  --- last lines of %s\n' "${f##*/}" >&2
		tail -n 15 "$f" | sed 's/^/  | /' >&2
	done
	exit 1
}

[ "$(id -u)" -eq 0 ] || { echo "make run needs root (it creates network namespaces)." >&2; exit 1; }
[ -x "$ZWGD" ] || { echo "$ZWGD not found: run make first." >&2; exit 1; }
for c in ip wg ping nc sha256sum timeout; do
	command -v "$c" >/dev/null 2>&1 || { echo "demo needs '$c' (apt-get install iproute2 wireguard-tools iputils-ping netcat-openbsd)." >&2; exit 1; }
done

L=zwdemo-$$-left
RT=zwdemo-$$-right
IFL=zwd$$l
IFR=zwd$$r
TMP=$(mktemp -d "${TMPDIR:-/tmp}/zwg-demo.XXXXXX") || exit 1
PIDS=""

cleanup() {
	trap - EXIT HUP INT TERM
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for ns in "$L" "$RT"; do
		p=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$p" ] && kill $p 2>/dev/null
	done
	sleep 0.3
	for ns in "$L" "$RT"; do
		p=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$p" ] && kill -9 $p 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -f "/var/run/wireguard/$IFL.sock" "/var/run/wireguard/$IFR.sock"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

inl() { ip netns exec "$L" "$@"; }
inr() { ip netns exec "$RT" "$@"; }

printf '%szerowg demo%s - userspace WireGuard (%s) between two network namespaces\n' "$B" "$N" "$ZWGD"

step "Creating namespaces '$L' and '$RT', joined by a veth pair"
ip netns add "$L" && ip netns add "$RT" || die "ip netns add failed"
ip -n "$L" link set lo up; ip -n "$RT" link set lo up
ip -n "$L" link add eth0 type veth peer name eth0 netns "$RT" || die "could not create the veth pair"
ip -n "$L" addr add 192.168.99.1/24 dev eth0
ip -n "$RT" addr add 192.168.99.2/24 dev eth0
ip -n "$L" addr add fd00:99::1/64 dev eth0 nodad
ip -n "$RT" addr add fd00:99::2/64 dev eth0 nodad
ip -n "$L" link set eth0 up; ip -n "$RT" link set eth0 up
ok "underlay: left 192.168.99.1, right 192.168.99.2"

step "Starting zerowgd in each namespace (logs in $TMP)"
start() { # NS IFNAME
	ip netns exec "$1" "$ZWGD" -f "$2" >"$TMP/$2.log" 2>&1 &
	PIDS="$PIDS $!"
	n=0
	while [ ! -S "/var/run/wireguard/$2.sock" ]; do
		n=$((n + 1))
		[ $n -gt 100 ] && die "zerowgd did not create /var/run/wireguard/$2.sock within 10 s"
		kill -0 "$!" 2>/dev/null || die "zerowgd for $2 exited at start"
		sleep 0.1
	done
	ok "$2 in $1: UAPI socket /var/run/wireguard/$2.sock"
}
start "$L" "$IFL"
start "$RT" "$IFR"

step "Configuring both sides with the standard wg tool"
wg genkey | inl wg set "$IFL" listen-port 51820 private-key /dev/stdin || die "wg set (left) failed"
wg genkey | inr wg set "$IFR" listen-port 51820 private-key /dev/stdin || die "wg set (right) failed"
PUBL=$(inl wg show "$IFL" public-key) && PUBR=$(inr wg show "$IFR" public-key) || die "wg show public-key failed"
inl wg set "$IFL" peer "$PUBR" endpoint 192.168.99.2:51820 allowed-ips 10.99.0.2/32,fd00:99:aa::2/128 ||
	die "wg set peer (left) failed"
inr wg set "$IFR" peer "$PUBL" endpoint 192.168.99.1:51820 allowed-ips 10.99.0.1/32,fd00:99:aa::1/128 ||
	die "wg set peer (right) failed"
inl ip addr add 10.99.0.1/24 dev "$IFL"; inl ip addr add fd00:99:aa::1/64 dev "$IFL" nodad
inr ip addr add 10.99.0.2/24 dev "$IFR"; inr ip addr add fd00:99:aa::2/64 dev "$IFR" nodad
inl ip link set "$IFL" up && inr ip link set "$IFR" up || die "could not bring the tunnel interfaces up"
ok "keys generated and handed over through a pipe (never written to disk)"
ok "left  public key $PUBL"
ok "right public key $PUBR"

step "Pinging through the tunnel"
inl ping -n -c 3 -i 0.3 -w 10 10.99.0.2 >"$TMP/ping4" 2>&1 || { cat "$TMP/ping4"; die "IPv4 ping through the tunnel failed"; }
ok "IPv4 left -> right: $(grep -o '[0-9]* received' "$TMP/ping4"), $(sed -n 's/^rtt [^=]*= \([^/]*\)\/\([^/]*\).*/avg \2 ms/p' "$TMP/ping4")"
inl ping -n -c 3 -i 0.3 -w 10 fd00:99:aa::2 >"$TMP/ping6" 2>&1 || { cat "$TMP/ping6"; die "IPv6 ping through the tunnel failed"; }
ok "IPv6 left -> right: $(grep -o '[0-9]* received' "$TMP/ping6"), $(sed -n 's/^rtt [^=]*= \([^/]*\)\/\([^/]*\).*/avg \2 ms/p' "$TMP/ping6")"

step "wg show, left side (the private key is shown as (hidden))"
inl wg show "$IFL" | sed 's/^/    /'

step "Sending 50 MB of random data left -> right over TCP, with a checksum"
head -c 52428800 /dev/urandom >"$TMP/data"
inr timeout 60 nc -l -n 10.99.0.2 5001 >"$TMP/recv" 2>/dev/null &
n=0
until inr ss -Hltn 'sport = :5001' | grep -q .; do
	n=$((n + 1)); [ $n -gt 50 ] && die "the receiving nc never started listening"; sleep 0.1
done
t0=$(date +%s%N)
inl timeout 60 nc -N -n -w 20 10.99.0.2 5001 <"$TMP/data" || die "nc could not send through the tunnel"
wait $! 2>/dev/null
t1=$(date +%s%N)
s1=$(sha256sum <"$TMP/data" | cut -d' ' -f1)
s2=$(sha256sum <"$TMP/recv" | cut -d' ' -f1)
[ "$s1" = "$s2" ] || die "checksum mismatch: sent $s1, received $s2 ($(wc -c <"$TMP/recv") bytes)"
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -gt 0 ] || ms=1
ok "50 MB arrived intact (sha256 ${s1%"${s1#????????????????}"}...) in $ms ms, about $((52428800 * 8 / 1000 / ms)) Mbit/s"
rm -f "$TMP/data" "$TMP/recv"

if command -v iperf3 >/dev/null 2>&1; then
	step "iperf3, 3 seconds, left -> right"
	inr timeout 20 iperf3 -s -1 -B 10.99.0.2 >/dev/null 2>&1 &
	n=0
	until inr ss -Hltn 'sport = :5201' | grep -q .; do
		n=$((n + 1)); [ $n -gt 50 ] && die "iperf3 server never started"; sleep 0.1
	done
	inl timeout 20 iperf3 -c 10.99.0.2 -t 3 -f m >"$TMP/iperf" 2>&1 || { cat "$TMP/iperf"; die "iperf3 through the tunnel failed"; }
	ok "$(awk '/receiver/ { print $(NF-2), $(NF-1), "received (" $(NF-4), $(NF-3) " in 3 s)" }' "$TMP/iperf")"
fi

step "Summary"
hs=$(inl wg show "$IFL" latest-handshakes | awk '{ print $2 }')
tr=$(inl wg show "$IFL" transfer | awk '{ printf "%.1f MiB received, %.1f MiB sent", $2 / 1048576, $3 / 1048576 }')
ok "handshake completed $(( $(date +%s) - hs )) s ago"
ok "left side: $tr"
for p in $PIDS; do
	case $(sed "s/.*) //" "/proc/$p/stat" 2>/dev/null) in
	Z*|X*|"") die "a zerowgd process died during the demo" ;;
	esac
done
ok "both zerowgd processes still running"
printf '\n%sAll good.%s Cleaning up the namespaces and daemons.\n' "$G" "$N"
exit 0
