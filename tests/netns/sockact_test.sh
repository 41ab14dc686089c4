#!/bin/sh
# sockact_test.sh - zerowgd with what a service manager hands a user
# without root: UDP sockets from socket activation (systemd-socket-activate,
# LISTEN_FDS) and a TUN someone else opened (--tun-fd, from
# tests/tools/tunfd_exec).  zerowgd runs on a, a plain zerowgd on b.
#   1. 0.0.0.0:P and [::]:P activated: the port wg shows, no socket of its
#      own, pings both ways over a v4 and a v6 underlay; then
#      `wg set listen-port` to another port rebinds.
#   2. [::]:P alone (systemd's ListenDatagram=P, dual-stack): IPv4 peers
#      through the one IPv6 socket, endpoints shown as IPv4.
#   3. --tun-fd with and without IFF_VNET_HDR: pings and TCP.
#   4. Wrong setups (LISTEN_FDS=2 with nothing open, a TCP socket named
#      "udp", LISTEN_PID of another process, a TAP, a TUN with packet info,
#      a name that is not the TUN's): exit status 1, a message, no crash.
T=sockact
. "${0%/*}/lib.sh"

need systemd-socket-activate nc ss
TUNFD_EXEC="$O/tools/tunfd_exec"
ZWGD="$O/zerowgd-test"

hosts a b
A=$(ifn a) B=$(ifn b)
PA=$(port a)

# poke HOST PORT: one datagram to PORT on HOST's loopback (a datagram
# socket's systemd-socket-activate starts the daemon on the first one).
poke() { X "$1" sh -c "printf x | nc -u -w0 127.0.0.1 $2" >/dev/null 2>&1; }

# sa_start HOST IFNAME CMD...: wg_start for a daemon behind
# systemd-socket-activate: pokes until the UAPI socket shows up.  The pid
# stays the daemon's (systemd-socket-activate execs it).  The daemon's
# environment is only what -E gives it (and LISTEN_*), so LOG_LEVEL goes
# there.
sa_start() {
	local h i n
	h=$1 i=$2; shift 2
	ip netns exec "$(H "$h")" env LOG_LEVEL=verbose "$@" >>"$W/$i.log" 2>&1 &
	echo $! >"$W/$i.pid"
	echo "$h" >"$W/$i.host"
	n=0
	while [ $n -lt 100 ]; do
		if [ -S "/var/run/wireguard/$i.sock" ] && X "$h" ip link show "$i" >/dev/null 2>&1; then
			return 0
		fi
		running "$(wg_pid "$i")" || { echo "$* in $h exited"; return 1; }
		[ $((n % 5)) -eq 0 ] && poke "$h" "$PA"
		sleep 0.1
		n=$((n + 1))
	done
	echo "$* in $h: no UAPI socket /var/run/wireguard/$i.sock after 10 s"
	return 1
}

# fresh_b: b forgets its session with a (a restarts with the same key but
# no session; b would keep sending on the old one until its 15 s timeout).
fresh_b() {
	wgc b set "$B" peer "$(pub a)" remove && wg_conf b a "${1:-4}"
}

# listen_port_is HOST IFNAME PORT
listen_port_is() {
	local p
	p=$(wgc "$1" show "$2" listen-port)
	echo "listen-port of $2: '$p' (expected '$3')"
	[ "$p" = "$3" ]
}

# udp_sockets_are HOST IFNAME EXPECTED: the daemon's UDP sockets, as
# "port,port" sorted (ss -p).
udp_sockets_are() {
	local pid got
	pid=$(wg_pid "$2")
	got=$(X "$1" ss -Hulnp | grep "pid=$pid," | awk '{ n = split($4, a, ":"); print a[n] }' |
		sort -n | paste -sd, -)
	echo "UDP sockets of $2 (pid $pid) on ports: '$got' (expected '$3')"
	[ "$got" = "$3" ]
}

# XT HOST CMD...: X with a time limit, so that a daemon that wrongly
# starts is stopped after 10 s (status 124) instead of hanging the test.
XT() { local h; h=$1; shift; ip netns exec "$NSPFX-$h" timeout -k 2 10 "$@"; }

log_has() { grep -qiF -- "$2" "$W/$1.log" || { echo "no \"$2\" in $1.log"; return 1; }; }

# exits_1 WHAT MESSAGE CMD...: CMD exits with status 1 (not a signal) and
# says MESSAGE.
exits_1() {
	local what msg rc
	what=$1 msg=$2; shift 2
	"$@" >"$W/err.out" 2>&1
	rc=$?
	if [ $rc -eq 3 ] && grep -q "IFF_NO_PI on" "$W/err.out"; then
		skip "$what (this kernel sets IFF_NO_PI on every TUN)"
		return 0
	fi
	if [ $rc -eq 1 ] && grep -qF -- "$msg" "$W/err.out"; then
		pass "$what"
	else
		fail "$what" "exit status $rc (expected 1), output: $(tail -n 3 "$W/err.out")
expected the message to contain: $msg"
	fi
}

keygen a; keygen b
check "start zerowgd on b (plain)" wg_start b "$B" "$IMPL_B" || finish

# --- 1. an IPv4 and an IPv6 socket from socket activation
check "zerowgd on a under systemd-socket-activate -l 0.0.0.0:$PA -l [::]:$PA" \
	sa_start a "$A" systemd-socket-activate --datagram -l "0.0.0.0:$PA" -l "[::]:$PA" \
	--fdname=udp:udp -E LOG_LEVEL=verbose "$ZWGD" -f "$A" || finish
check "a logs that it uses the activated sockets on port $PA" \
	log_has "$A" "using the UDP socket(s) from socket activation on port $PA"
check "wg show: listen-port is $PA before any configuration" listen_port_is a "$A" "$PA"
check "a holds the two activated sockets and binds none of its own" \
	udp_sockets_are a "$A" "$PA,$PA"
configure_ab() { wg_conf a b 4 && wg_conf b a 4 && tun_up a && tun_up b; }
check "configure a and b with wg (a's listen-port is $PA again)" configure_ab
check "listen-port is still $PA after wg set listen-port $PA" listen_port_is a "$A" "$PA"
check "still only the activated sockets after wg set listen-port $PA" \
	udp_sockets_are a "$A" "$PA,$PA"
check "ping IPv4 a -> b in the tunnel (v4 underlay)" ping_ok a "$(t4 b)"
check "ping IPv4 b -> a in the tunnel" ping_ok b "$(t4 a)"
check "ping IPv6 b -> a in the tunnel" ping_ok b "$(t6 a)"
check "wg show on b: endpoint of a is $(ep a 4)" endpoint_is b a "$(ep a 4)"
wgc b set "$B" peer "$(pub a)" endpoint "$(ep a 6)"
check "ping b -> a over the v6 underlay (the activated IPv6 socket)" ping_ok b "$(t4 a)"
check "wg show on a: endpoint of b is $(ep b 6)" endpoint_is a b "$(ep b 6)"

NEWP=$((PA + 100))
check "wg set listen-port $NEWP on a rebinds" wgc a set "$A" listen-port "$NEWP"
check "listen-port is now $NEWP" listen_port_is a "$A" "$NEWP"
check "a's sockets are its own on $NEWP; the activated ones are closed" \
	udp_sockets_are a "$A" "$NEWP,$NEWP"
check "a logs that new sockets replace the activated ones" \
	log_has "$A" "replace the ones from socket activation"
wgc b set "$B" peer "$(pub a)" endpoint "$(u4 a):$NEWP"
check "ping b -> a on the new port" ping_ok b "$(t4 a)"
check "ping a -> b after the rebind" ping_ok a "$(t4 b)"
wg_stop "$A"
fresh_b

# --- 2. one dual-stack IPv6 socket (systemd's ListenDatagram=PORT)
check "zerowgd on a with [::]:$PA alone (dual-stack)" \
	sa_start a "$A" systemd-socket-activate --datagram -l "[::]:$PA" -E LOG_LEVEL=verbose \
	"$ZWGD" -f "$A" || finish
check "a logs one IPv6 socket that also takes IPv4" \
	log_has "$A" "one IPv6 socket that also takes IPv4"
check "wg show: listen-port is $PA" listen_port_is a "$A" "$PA"
# a has no endpoint for b: it learns b's IPv4 address from b's handshake.
wg_conf a b - && tun_up a || fail "configure a (no endpoint for b)"
check "ping IPv4 b -> a (IPv4 datagrams on the IPv6 socket)" ping_ok b "$(t4 a)"
check "wg show on a: b's endpoint is IPv4 $(ep b 4), not ::ffff:" endpoint_is a b "$(ep b 4)"
check "ping a -> b (IPv4 endpoint sent through the IPv6 socket)" ping_ok a "$(t4 b)"
check "ping IPv6 a -> b in the tunnel" ping_ok a "$(t6 b)"
wgc a set "$A" peer "$(pub b)" endpoint "$(ep b 4)"
check "ping a -> b to a configured IPv4 endpoint" ping_ok a "$(t4 b)"
mkdata data 5
check "5 MB TCP a -> b through the dual-stack socket, sha256 matches" tcp_xfer a b "$(t4 b)" data
wgc b set "$B" peer "$(pub a)" endpoint "$(ep a 6)"
check "ping b -> a over the v6 underlay on the same socket" ping_ok b "$(t6 a)"
check "wg show on a: b's endpoint is now $(ep b 6)" endpoint_is a b "$(ep b 6)"
wg_stop "$A"
fresh_b

# --- 3. --tun-fd
if [ ! -x "$TUNFD_EXEC" ]; then
	fail "tests/tools/tunfd_exec is built" "missing $TUNFD_EXEC (make $TUNFD_EXEC)"
	finish
fi
check "zerowgd on a with --tun-fd (TUN opened with IFF_VNET_HDR by tunfd_exec)" \
	wg_start a "$A" "$TUNFD_EXEC {IF} $ZWGD -f --tun-fd {TUNFD} {IF}" || finish
check "a logs the TUN from --tun-fd" log_has "$A" "from --tun-fd"
wg_conf a b 4 && tun_up a || fail "configure a (--tun-fd)"
check "ping IPv4 a -> b (--tun-fd)" ping_ok a "$(t4 b)"
check "ping IPv6 b -> a (--tun-fd)" ping_ok b "$(t6 a)"
check "5 MB TCP a -> b (--tun-fd, vnet), sha256 matches" tcp_xfer a b "$(t4 b)" data
check "5 MB TCP b -> a (--tun-fd, vnet), sha256 matches" tcp_xfer b a "$(t4 a)" data
wg_stop "$A"
fresh_b

check "zerowgd on a with --tun-fd and no IFNAME (TUN without IFF_VNET_HDR)" \
	wg_start a "$A" "$TUNFD_EXEC --no-vnet {IF} $ZWGD -f --tun-fd {TUNFD}" || finish
check "a logs no offloads without IFF_VNET_HDR" log_has "$A" "no IFF_VNET_HDR"
wg_conf a b 4 && tun_up a || fail "configure a (--tun-fd, no vnet)"
check "ping IPv4 a -> b (--tun-fd, no vnet)" ping_ok a "$(t4 b)"
check "5 MB TCP b -> a (--tun-fd, no vnet), sha256 matches" tcp_xfer b a "$(t4 a)" data
wg_stop "$A"

# --- 4. wrong setups: exit status 1 and a reason
E=$(ifn e)
exits_1 "LISTEN_FDS=2 with nothing open: exit 1, names fd 3" "fd 3 is not open" \
	XT a sh -c "LISTEN_FDS=2 LISTEN_PID=\$\$ exec $ZWGD -f $E"
check "no interface $E left behind" sh -c "! ip netns exec $(H a) ip link show $E"
exits_1 "LISTEN_PID of another process: exit 1" "is another process" \
	XT a env LISTEN_FDS=1 LISTEN_PID=1 "$ZWGD" -f "$E"
exits_1 "LISTEN_FDS=abc: exit 1, quoted" 'LISTEN_FDS="abc" is not a number' \
	XT a env LISTEN_FDS=abc LISTEN_PID=1 "$ZWGD" -f "$E"

# A TCP socket named "udp" (ListenStream= where ListenDatagram= belongs).
tcp_named_udp() {
	local p rc n
	ip netns exec "$(H a)" systemd-socket-activate -l "127.0.0.1:$PA" --fdname=udp \
		"$ZWGD" -f "$E" >"$W/tcp-udp.out" 2>&1 &
	p=$!
	n=0
	while running "$p" && [ $n -lt 50 ]; do
		XT a nc -z -w1 127.0.0.1 "$PA" >/dev/null 2>&1
		sleep 0.1
		n=$((n + 1))
	done
	kill "$p" 2>/dev/null
	wait "$p"
	rc=$?
	cat "$W/tcp-udp.out"
	[ $rc -eq 1 ] &&
	grep -qF 'fd 3 is a TCP socket named "udp"; zerowg wants ListenDatagram= for the WireGuard port' \
		"$W/tcp-udp.out"
}
check "a TCP socket named \"udp\": exit 1 and says to use ListenDatagram=" tcp_named_udp

exits_1 "--tun-fd of a TAP: exit 1" "is a TAP device" \
	XT a "$TUNFD_EXEC" --tap "$E" "$ZWGD" -f --tun-fd "{TUNFD}"
exits_1 "--tun-fd of a TUN with packet information: exit 1" "without IFF_NO_PI" \
	XT a "$TUNFD_EXEC" --pi "$E" "$ZWGD" -f --tun-fd "{TUNFD}"
exits_1 "--tun-fd with another interface name: exit 1" "is the TUN \"$E\", not \"zwnope\"" \
	XT a "$TUNFD_EXEC" "$E" "$ZWGD" -f --tun-fd "{TUNFD}" zwnope
exits_1 "--tun-fd of /dev/null: exit 1" "is not an attached TUN device" \
	XT a sh -c "exec $ZWGD -f --tun-fd 0 </dev/null"
exits_1 "--tun-fd of a closed fd: exit 1" "the fd is not open" \
	XT a "$ZWGD" -f --tun-fd 77
exits_1 "--tun-fd x: exit 1" '--tun-fd "x" is not an fd number' \
	XT a "$ZWGD" -f --tun-fd x
check "both daemons' hosts are clean: b still running" alive "$B"

finish
