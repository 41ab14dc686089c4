#!/bin/sh
# firewall_test.sh - the per-client firewall (`zerowg peer firewall`, PUT
# /v1/peers/NAME/firewall): enforced by the server's privileged part with
# an nftables table of its own, inet zerowg_fw_<interface>.
#
# Server s with NAT; behind it a target namespace "inet" with two
# addresses per family (198.18.0.2, 198.18.0.3, fd00:99::2, fd00:99::3), a
# TCP listener on ports 5001 and 5002 of each and a UDP echo on 5003 and
# 5004 of each (and on UDP 5001 of fd00:99::3); every connection and
# datagram they get is logged, so a refusal is proved to come from the
# firewall and not from the target.  Client c (peer "lim") gets
# restricted to 198.18.0.2 (all of it), 198.18.0.3:5001/tcp,
# 198.18.0.3:5003/udp, fd00:99::2 (all of it), [fd00:99::3]:5001/tcp and
# [fd00:99::3]:5003/udp; client d (peer "free") stays unrestricted
# throughout.  What is checked, for IPv4 and IPv6 alike: the allowed
# destinations work (UDP also as a datagram fragmented in the tunnel), the
# others fail at once (TCP reset, ICMP "administratively prohibited": the
# errno a UDP socket gets and ping's message tell it from a timeout or a
# closed port) and never reach the target, the same list applies to the
# server's own addresses except DNS and ping, pings to the server (both
# families) running across every change lose nothing and the data plane's
# entry of the peer is not touched (its counters only grow), clearing the
# firewall opens everything and removes the table, bad rules are refused
# with the rule quoted, and the table goes away when the server stops
# (SIGTERM, and kill -9: the helper cleans up).
#
# Then the same server rootless: `zerowg up` as nobody in s (a store of
# its own), its tunnel, NAT and firewall table in the helper's user and
# network namespace, its way out slirp4netns.  c and d connect to its UDP
# port in s; the restriction must hold there too (IPv4 through slirp4netns,
# IPv6 to the server's own tunnel address), and lift.  /dev/net/tun is
# opened to users (0666) for that part only, under tun_lock, and its mode
# restored on every exit path; every process run as nobody carries
# ZWG_FWR=<pid>-... in its environment and is killed by its pid.
T=firewall
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

PY=/usr/bin/python3	# not a shim under /root: nobody may run it
need wg wg-quick nft nc setpriv nsenter slirp4netns "$PY" "$ZWG" "$ZWGD"

TAG="ZWG_FWR=$ID"
TUN_MODE_BEFORE=""
fw_cleanup() {
	kill_tagged "^$TAG-"
	[ -n "$TUN_MODE_BEFORE" ] && chmod "$TUN_MODE_BEFORE" /dev/net/tun
	lib_cleanup
}
trap fw_cleanup EXIT

hosts s c d
ns_add inet || { fail "setup: ip netns add inet"; finish; }
X s ip link add eth1 type veth peer name eth0 netns "$(H inet)"
X s ip link set eth1 up
X inet ip link set eth0 up
X inet ip link set lo up
X s ip addr add 198.18.0.1/24 dev eth1
X s ip addr add fd00:99::1/64 dev eth1 nodad
X inet ip addr add 198.18.0.2/24 dev eth0
X inet ip addr add 198.18.0.3/24 dev eth0
X inet ip addr add fd00:99::2/64 dev eth0 nodad
X inet ip addr add fd00:99::3/64 dev eth0 nodad
X s ip route add default via 198.18.0.2 dev eth1
X s ip -6 route add default via fd00:99::2 dev eth1
TABLE="zerowg_fw_$(sif)"

# svc.py LOG READY PROTO,ADDR,PORT...: TCP listeners that accept and close,
# UDP sockets that echo; one log line per connection ("tcp ADDR PORT SRC")
# or datagram ("udp ADDR PORT SRC LEN").  Ends after 20 minutes.
cat >"$W/svc.py" <<'EOF'
import selectors, socket, sys, time
log = open(sys.argv[1], "a", buffering=1)
sel = selectors.DefaultSelector()
for spec in sys.argv[3:]:
    proto, addr, port = spec.split(",")
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    if proto == "tcp":
        s.listen(64)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, (proto, addr, int(port)))
with open(sys.argv[2], "w") as f:
    f.write("ready\n")
end = time.time() + 1200
while time.time() < end:
    for key, _ in sel.select(1):
        proto, addr, port = key.data
        try:
            if proto == "tcp":
                c, src = key.fileobj.accept()
                c.close()
                log.write("tcp %s %d %s\n" % (addr, port, src[0]))
            else:
                data, src = key.fileobj.recvfrom(65536)
                key.fileobj.sendto(data, src)
                log.write("udp %s %d %s %d\n" % (addr, port, src[0], len(data)))
        except OSError:
            pass
EOF
# udp_try.py ADDR PORT SIZE SECONDS: a connected UDP socket sends SIZE
# random bytes every 0.5 s until the same bytes come back (exit 0, "echo N
# bytes"), the socket reports an error (exit 2, "error ENAME": an ICMP
# error came back) or SECONDS pass (exit 3).
cat >"$W/udp_try.py" <<'EOF'
import errno, os, socket, sys, time
addr, port, size, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.connect((addr, port))
s.settimeout(0.5)
data = os.urandom(size)
end = time.time() + secs
while time.time() < end:
    try:
        s.send(data)
        got = s.recv(65536)
    except socket.timeout:
        continue
    except OSError as e:
        print("error %s" % errno.errorcode.get(e.errno, e.errno))
        sys.exit(2)
    if got == data:
        print("echo %d bytes" % len(got))
        sys.exit(0)
print("no answer within %g s" % secs)
sys.exit(3)
EOF
chmod 644 "$W/svc.py" "$W/udp_try.py"
SVC_LOG=$W/svc.conns
specs=""
for a in 198.18.0.2 198.18.0.3 fd00:99::2 fd00:99::3; do
	specs="$specs tcp,$a,5001 tcp,$a,5002 udp,$a,5003 udp,$a,5004"
done
# shellcheck disable=SC2086
X inet "$PY" "$W/svc.py" "$SVC_LOG" "$W/svc.ready" $specs udp,fd00:99::3,5001 \
	>"$W/svc.log" 2>&1 &
wait_for 5 test -s "$W/svc.ready" || { fail "setup: listeners" "$(cat "$W/svc.log")"; finish; }

# tcp_ok HOST ADDR PORT: a TCP connection gets through within 5 s.
tcp_ok() { X "$1" timeout 6 nc -z -n -w 5 "$2" "$3"; }
# tcp_refused HOST ADDR PORT: the connection fails, and fast (a reset, not
# a timeout): within 3 s.
tcp_refused() {
	local t0 t1
	t0=$(date +%s)
	if X "$1" timeout 6 nc -z -n -w 5 "$2" "$3"; then
		echo "connected to $2:$3"
		return 1
	fi
	t1=$(date +%s)
	echo "refused after $((t1 - t0)) s"
	[ $((t1 - t0)) -le 3 ]
}
# seen PROTO ADDR PORT: how many connections or datagrams the target got.
seen() { grep -c "^$1 $2 $3 " "$SVC_LOG"; }
# tcp_denied HOST ADDR PORT: refused at once, and the target never saw it.
tcp_denied() {
	local n0 n1
	n0=$(seen tcp "$2" "$3")
	tcp_refused "$@" || return 1
	n1=$(seen tcp "$2" "$3")
	echo "the listener on $2 port $3 saw $((n1 - n0)) connection(s)"
	[ "$n1" = "$n0" ]
}
# udp_ok HOST ADDR PORT [SIZE]: a datagram of SIZE bytes (default 64)
# comes back from the echo within 5 s.
udp_ok() { X "$1" "$PY" "$W/udp_try.py" "$2" "$3" "${4:-64}" 5; }
# udp_err HOST ADDR PORT ENAME: within 3 s the socket gets error ENAME
# (EHOSTUNREACH: ICMP "packet filtered", EACCES: ICMPv6 "administratively
# prohibited", ECONNREFUSED: port unreachable, nobody listens).
udp_err() {
	local out rc
	out=$(X "$1" "$PY" "$W/udp_try.py" "$2" "$3" 64 3)
	rc=$?
	echo "UDP $2 port $3 from $1: $out (exit $rc; expected error $4)"
	[ "$rc" = 2 ] && [ "$out" = "error $4" ]
}
# denied_errno ADDR: what the firewall's reject makes of a UDP send there.
denied_errno() { case $1 in *:*) echo EACCES ;; *) echo EHOSTUNREACH ;; esac; }
# udp_denied HOST ADDR PORT: rejected at once, never seen by the target.
udp_denied() {
	local n0 n1
	n0=$(seen udp "$2" "$3")
	udp_err "$1" "$2" "$3" "$(denied_errno "$2")" || return 1
	n1=$(seen udp "$2" "$3")
	echo "the echo on $2 port $3 saw $((n1 - n0)) datagram(s)"
	[ "$n1" = "$n0" ]
}
# ping_denied HOST ADDR: no echo reply, and ping reports the firewall's
# ICMP error ("Packet filtered" for IPv4, "Administratively prohibited"
# for IPv6), not silence.
ping_denied() {
	local out
	out=$(X "$1" ping -n -c 2 -i 0.5 -W 1 -w 4 "$2" 2>&1)
	echo "$out"
	! echo "$out" | grep -q ' 0% packet loss' &&
		echo "$out" | grep -qE 'Packet filtered|Administratively prohibited'
}
table_present() { X s nft list table inet "$TABLE" >/dev/null 2>&1; }
table_absent() {
	if table_present; then
		echo "table inet $TABLE is still there:"
		X s nft list table inet "$TABLE"
		return 1
	fi
	echo "no table inet $TABLE"
}
reaches_all() {
	ping_ok "$1" 198.18.0.2 5 && ping_ok "$1" 198.18.0.3 5 &&
		tcp_ok "$1" 198.18.0.2 5002 && tcp_ok "$1" 198.18.0.3 5002 &&
		udp_ok "$1" 198.18.0.3 5004
}
reaches_all6() {
	ping_ok "$1" fd00:99::2 5 && ping_ok "$1" fd00:99::3 5 &&
		tcp_ok "$1" fd00:99::2 5002 && tcp_ok "$1" fd00:99::3 5002 &&
		udp_ok "$1" fd00:99::3 5004 && udp_ok "$1" fd00:99::3 5001
}
# conf_addr6 CONFIG: the client's IPv6 tunnel address.
conf_addr6() {
	printf '%s\n' "$1" | sed -n 's/^Address *= *//p' | tr ',' '\n' | sed -n 's/^ *\([0-9a-f:]*:[0-9a-f:]*\)\/.*/\1/p'
}

check "init: a sealed store is created" srv_init --subnet "$SUBNET4"
check "up --nat: the server starts" srv_start --nat || finish
check "no restricted peer: no firewall table" table_absent
ULA=$(srv_ula6)
SRV6=$(srv_addr6)
check "the server has an IPv6 tunnel address" sh -c "echo '$SRV6 in $ULA'; [ -n '$SRV6' ]"
CONF_C=$(peer_add lim --allowed-ips "$SUBNET4, $ULA, 198.18.0.0/24, fd00:99::/64")
CONF_D=$(peer_add free --allowed-ips "$SUBNET4, $ULA, 198.18.0.0/24, fd00:99::/64")
check "client c (peer lim) comes up" client_up c "$CONF_C" "$ZWGD" || finish
check "client d (peer free) comes up" client_up d "$CONF_D" "$ZWGD" || finish
PUB_C=$(conf_pub "$CONF_C")
C6=$(conf_addr6 "$CONF_C")
check "before: c reaches both targets, both ports" reaches_all c
check "before: d reaches both targets, both ports" reaches_all d
check "before: c reaches both IPv6 targets, TCP and UDP" reaches_all6 c
check "before: d reaches both IPv6 targets, TCP and UDP" reaches_all6 d
check "before: c has a session with the server" ping_ok c "$SRV4" 5
check "before: c pings the server over IPv6 from $C6" ping_ok c "$SRV6" 5
check "before: c's UDP to $SRV4:5005 is refused by the server's kernel (nobody listens)" \
	udp_err c "$SRV4" 5005 ECONNREFUSED
check "before: c's UDP to [$SRV6]:5005 is refused by the server's kernel" \
	udp_err c "$SRV6" 5005 ECONNREFUSED
RX_C=$(srv_rx "$PUB_C")

# Pings from c to the server run across every change below (stopped with
# SIGINT after the last; 1500 at 0.2 s is a 5-minute bound).  Started
# with ip netns exec itself, so that $! is ping (ip execs it): a shell
# function in the background would be a subshell, which ignores SIGINT.
ip netns exec "$(H c)" ping -q -n -i 0.2 -c 1500 -W 1 "$SRV4" >"$W/ping_across.out" 2>&1 &
PING_PID=$!
ip netns exec "$(H c)" ping -q -n -i 0.2 -c 1500 -W 1 "$SRV6" >"$W/ping6_across.out" 2>&1 &
PING6_PID=$!
sleep 1

check "a bad rule is refused by the CLI, quoted, with the form" \
	sh -c "out=\$('$ZWG' peer firewall lim --allow 198.18.0.3/24 --admin-socket '$ADMIN' 2>&1);
	       rc=\$?; echo \"\$out\"; [ \$rc != 0 ] &&
	       echo \"\$out\" | grep -q '198.18.0.3/24.*did you mean 198.18.0.0/24' &&
	       echo \"\$out\" | grep -q 'PREFIX\[:PORT'"
check "a bad rule over the API is a 400 naming \"allow\" and quoting the rule" \
	sh -c "out=\$(curl -s -w ' %{http_code}' --unix-socket '$ADMIN' -X PUT \
	       -d '{\"allow\":[\"198.18.0.2:99999\"]}' http://zerowg/v1/peers/lim/firewall);
	       echo \"\$out\"; echo \"\$out\" | grep -q ' 400\$' &&
	       echo \"\$out\" | grep -q '\"field\": *\"allow\"' &&
	       echo \"\$out\" | grep -q '198.18.0.2:99999'"
check "still no table after refused changes" table_absent
RULES="198.18.0.2, 198.18.0.3:5001/tcp, 198.18.0.3:5003/udp, fd00:99::2, [fd00:99::3]:5001/tcp, [fd00:99::3]:5003/udp"
check "peer firewall lim: restricted to $RULES" \
	sh -c "'$ZWG' peer firewall lim --allow 198.18.0.2 --allow 198.18.0.3:5001/tcp \
	       --allow 198.18.0.3:5003/udp --allow fd00:99::2 --allow '[fd00:99::3]:5001/tcp' \
	       --allow '[fd00:99::3]:5003/udp' --admin-socket '$ADMIN' |
	       tee /dev/stderr | grep -qF 'may reach only $RULES'"
check "the table is there, one chain per restricted peer" \
	sh -c "ip netns exec '$(H s)' nft list table inet '$TABLE' | tee /dev/stderr | grep -q 'chain peer0'"
check "the table sends c's IPv6 address $C6 to its chain (forward and input)" \
	sh -c "[ \$(ip netns exec '$(H s)' nft list table inet '$TABLE' |
	          grep -cF 'ip6 saddr $C6 jump peer0') = 2 ]"
check "peer show tells the firewall" \
	sh -c "'$ZWG' peer show lim --admin-socket '$ADMIN' | grep -qF 'firewall: it may reach only $RULES'"
check "restricted: c pings 198.18.0.2 (allowed host)" ping_ok c 198.18.0.2 5
check "restricted: c connects to 198.18.0.2:5002 (allowed host, any port)" tcp_ok c 198.18.0.2 5002
check "restricted: c connects to 198.18.0.3:5001 (allowed port)" tcp_ok c 198.18.0.3 5001
check "restricted: c is refused at once on 198.18.0.3:5002, the target sees nothing" \
	tcp_denied c 198.18.0.3 5002
check "restricted: c's ping to 198.18.0.3 fails with the firewall's ICMP error" \
	ping_denied c 198.18.0.3
check "restricted: c's UDP to 198.18.0.3:5003 (allowed) is echoed" udp_ok c 198.18.0.3 5003
check "restricted: c's UDP to 198.18.0.3:5004 is rejected at once, the target sees nothing" \
	udp_denied c 198.18.0.3 5004
check "restricted: c still pings the server (DNS and ping stay open)" ping_ok c "$SRV4" 5
check "restricted: c's DNS to the server is not refused by the firewall" \
	sh -c "! ip netns exec '$(H s)' nft list table inet '$TABLE' >/dev/null ||
	       ip netns exec '$(H s)' nft list chain inet '$TABLE' input | grep -q 'udp dport 53 accept'"
check "restricted: c's UDP to the server's own $SRV4:5005 meets the firewall, not the closed port" \
	udp_err c "$SRV4" 5005 EHOSTUNREACH
check "restricted: d (unrestricted) still reaches everything" reaches_all d
# The same over IPv6.
check "restricted, IPv6: c pings fd00:99::2 (allowed host)" ping_ok c fd00:99::2 5
check "restricted, IPv6: c connects to [fd00:99::2]:5002 (allowed host, any port)" \
	tcp_ok c fd00:99::2 5002
check "restricted, IPv6: c's UDP to [fd00:99::2]:5004 (allowed host, any protocol) is echoed" \
	udp_ok c fd00:99::2 5004
check "restricted, IPv6: c connects to [fd00:99::3]:5001 (allowed port)" tcp_ok c fd00:99::3 5001
check "restricted, IPv6: c is refused at once on [fd00:99::3]:5002, the target sees nothing" \
	tcp_denied c fd00:99::3 5002
check "restricted, IPv6: c's ping to fd00:99::3 fails with \"Administratively prohibited\"" \
	ping_denied c fd00:99::3
check "restricted, IPv6: c's UDP to [fd00:99::3]:5003 (allowed) is echoed" \
	udp_ok c fd00:99::3 5003
check "restricted, IPv6: a 3000-byte datagram to [fd00:99::3]:5003 (fragmented in the tunnel) is echoed" \
	udp_ok c fd00:99::3 5003 3000
check "restricted, IPv6: c's UDP to [fd00:99::3]:5004 gets EACCES at once, the target sees nothing" \
	udp_denied c fd00:99::3 5004
check "restricted, IPv6: UDP to [fd00:99::3]:5001 is rejected (that port is allowed for TCP only)" \
	udp_denied c fd00:99::3 5001
check "restricted, IPv6: a fragmented 3000-byte datagram to [fd00:99::3]:5004 is rejected too" \
	sh -c "n0=\$(grep -c '^udp fd00:99::3 5004 ' '$SVC_LOG');
	       ! ip netns exec '$(H c)' '$PY' '$W/udp_try.py' fd00:99::3 5004 3000 3 &&
	       [ \$(grep -c '^udp fd00:99::3 5004 ' '$SVC_LOG') = \$n0 ]"
check "restricted, IPv6: c still pings the server's $SRV6" ping_ok c "$SRV6" 5
check "restricted, IPv6: c's UDP to the server's own [$SRV6]:5005 meets the firewall (EACCES)" \
	udp_err c "$SRV6" 5005 EACCES
check "restricted, IPv6: d (unrestricted) still reaches everything" reaches_all6 d
check "restricted, IPv6: d's UDP to [$SRV6]:5005 still meets the closed port" \
	udp_err d "$SRV6" 5005 ECONNREFUSED

# Narrow it further, to nothing: only the server stays.
check "peer firewall over the API: {\"allow\":[]} restricts to nothing" \
	sh -c "curl -sf --unix-socket '$ADMIN' -X PUT -d '{\"allow\":[]}' \
	       http://zerowg/v1/peers/lim/firewall | grep -q '\"allow\": *\\[\\]'"
check "allow []: c's ping to 198.18.0.2 fails" ping_none c 198.18.0.2 3
check "allow []: c is refused on 198.18.0.2:5002" tcp_refused c 198.18.0.2 5002
check "allow []: c's ping to fd00:99::2 fails with \"Administratively prohibited\"" \
	ping_denied c fd00:99::2
check "allow []: c is refused on [fd00:99::2]:5002, the target sees nothing" \
	tcp_denied c fd00:99::2 5002
check "allow []: c's UDP to [fd00:99::3]:5003 is rejected now" udp_denied c fd00:99::3 5003
check "allow []: c still pings the server over IPv6" ping_ok c "$SRV6" 5
check "allow []: d still reaches everything" reaches_all d
check "allow []: d still reaches everything over IPv6" reaches_all6 d

# Without brackets an IPv6 port is not a port: fd00:99::3:5001/tcp is the
# host fd00:99::3:5001 (every TCP port), and must not open port 5001 of
# fd00:99::3.
check "peer firewall lim --allow fd00:99::3:5001/tcp: taken as the host fd00:99::3:5001" \
	sh -c "'$ZWG' peer firewall lim --allow fd00:99::3:5001/tcp --admin-socket '$ADMIN' |
	       tee /dev/stderr | grep -qF 'may reach only fd00:99::3:5001/tcp'"
check "fd00:99::3:5001/tcp: c is still refused on [fd00:99::3]:5001" tcp_denied c fd00:99::3 5001

check "peer firewall lim --clear: unrestricted again" \
	sh -c "'$ZWG' peer firewall lim --clear --admin-socket '$ADMIN' | grep -q 'may reach everything again'"
check "cleared: no restricted peer, no table" table_absent
check "cleared: c reaches both targets, both ports" reaches_all c
check "cleared: d reaches both targets, both ports" reaches_all d
check "cleared: c reaches both IPv6 targets, TCP and UDP" reaches_all6 c
check "cleared: c's UDP to [$SRV6]:5005 meets the closed port again" \
	udp_err c "$SRV6" 5005 ECONNREFUSED

kill -INT "$PING_PID" "$PING6_PID" 2>/dev/null	# ping prints its summary
wait "$PING_PID"
wait "$PING6_PID"
check "across the changes: the ping to the server lost nothing" \
	sh -c "cat '$W/ping_across.out'; grep -q ' 0% packet loss' '$W/ping_across.out'"
check "across the changes: the IPv6 ping to the server lost nothing" \
	sh -c "cat '$W/ping6_across.out'; grep -q ' 0% packet loss' '$W/ping6_across.out'"
# (A handshake may come anyway: the client rekeys every 2 minutes.)
check "across the changes: the server kept the peer's entry (its rx counter only grew)" \
	sh -c "rx=\$(ip netns exec '$(H s)' wg show '$(sif)' transfer |
	          awk -v k='$PUB_C' '\$1 == k { print \$2 }'); echo \"rx $RX_C -> \$rx\";
	       [ -n \"\$rx\" ] && [ \"\$rx\" -gt '$RX_C' ]"
check "across the changes: each apply left the peers unchanged in the data plane" \
	sh -c "! grep 'applied:' '$W/server.log' | grep -v ' 0 removed, 0 updated' | grep -q 'changed peers only'"

# The store is the truth: a restart installs the rules again.
check "restrict again" sh -c "'$ZWG' peer firewall lim --allow 198.18.0.2 --admin-socket '$ADMIN' >/dev/null"
srv_stop TERM
check "SIGTERM: the firewall table is gone" table_absent
check "restart: the server starts" srv_start || finish
check "restart: the table is installed from the store" wait_for 5 table_present
check "restart: c's client reconnects and reaches 198.18.0.2" ping_ok c 198.18.0.2 30
check "restart: c is refused on 198.18.0.3:5002" tcp_refused c 198.18.0.3 5002
check "restart: c is refused on [fd00:99::2]:5002 (no IPv6 rule any more)" \
	tcp_denied c fd00:99::2 5002
check "restart: d's client reconnects (IPv6)" ping_ok d "$SRV6" 30
check "restart: d still reaches everything over IPv6" reaches_all6 d
helper=$(pgrep -P "$(srv_pid)" | head -n 1)
srv_stop KILL
check "kill -9 of the server: its privileged helper removes the table" wait_for 5 table_absent
check "kill -9 of the server: the helper exits too" \
	wait_for 5 sh -c "! kill -0 '$helper' 2>/dev/null"

# ------------------------------------------------------------ rootless --
#
# nobody runs `zerowg up` in s with a store of its own; c and d reach its
# UDP port at s's underlay address.  The tunnel, NAT and the firewall
# table live in the helper's user and network namespace; what leaves it
# goes out through the server's slirp4netns (as nobody's sockets in s).
check_not "rootless: c's old tunnel is gone with the root server" ping_ok c "$SRV4" 2
client_down c
client_down d
NUID=$(id -u nobody) || { fail "rootless: no user nobody"; finish; }
NGID=$(getent group nogroup | cut -d: -f3)
[ -n "$NGID" ] || NGID=$(id -g nobody)
U=$W/u
RSUBNET4=10.124.0.0/24
RSRV4=10.124.0.1
RPORT=51998
RIF="zw${ID}r"
RTABLE="zerowg_fw_$RIF"
RADMIN=$U/admin.sock
RUNSEAL=$(head -c 32 /dev/urandom | base64)
RSPID="" RHELPER=""
chmod 711 "$W"
mkdir -p "$U/share" "$U/run" && chown -R "$NUID:$NGID" "$U" && chmod 700 "$U" ||
	{ fail "rootless: setup of $U for nobody"; finish; }
# US TAG CMD...: CMD as nobody in s, tagged ZWG_FWR=<pid>-TAG.
US() {
	local t
	t=$1; shift
	ip netns exec "$(H s)" setpriv --reuid="$NUID" --regid="$NGID" --clear-groups \
		env HOME="$U" XDG_DATA_HOME="$U/share" XDG_RUNTIME_DIR="$U/run" "$TAG-$t" \
		LOG_LEVEL=verbose "$@"
}
RZWG=$ZWG
if ! US cmd sh -c "[ -x '$ZWG' ] && [ -x '${ZWG%/*}/zerowg-server-test' ]"; then
	# The build directory is not open to nobody: copies it can run.
	mkdir -p "$W/bin" && chmod 755 "$W/bin" &&
	cp "$ZWG" "${ZWG%/*}/zerowg-server-test" "$W/bin/" ||
		{ fail "rootless: copying the binaries for nobody"; finish; }
	RZWG=$W/bin/${ZWG##*/}
fi
# RZ ARGS...: the CLI as nobody against the rootless server.
RZ() { US cmd "$RZWG" "$@" --admin-socket "$RADMIN"; }
# HX CMD...: CMD in the helper's network namespace (as root).
HX() { nsenter -t "$RHELPER" -n "$@"; }
rtable_present() { HX nft list table inet "$RTABLE" >/dev/null 2>&1; }
r_init() {
	printf '%s\n' "$RUNSEAL" | US cmd "$RZWG" init --data "$U/data" --key-fd 0 \
		--subnet "$RSUBNET4" --port "$RPORT" --interface "$RIF" \
		--endpoint "$(u4 s):$RPORT" >"$W/rinit.out" 2>&1 || { cat "$W/rinit.out"; return 1; }
}
r_start() {
	local n
	# Not through US: $! must be the server itself (ip, setpriv and env exec).
	printf '%s\n' "$RUNSEAL" | ip netns exec "$(H s)" setpriv --reuid="$NUID" --regid="$NGID" \
		--clear-groups env HOME="$U" XDG_DATA_HOME="$U/share" XDG_RUNTIME_DIR="$U/run" \
		"$TAG-srv" LOG_LEVEL=verbose "$RZWG" up --data "$U/data" --key-fd 0 \
		--admin-socket "$RADMIN" >>"$W/rootless-server.log" 2>&1 &
	RSPID=$!
	n=0
	while [ $n -lt 150 ]; do
		if [ -S "$RADMIN" ] && RZ peer list >/dev/null 2>&1; then
			RHELPER=$(sed -n 's|.*network namespace of its own (/proc/\([0-9]*\)/ns/net).*|\1|p' \
				"$W/rootless-server.log" | tail -n 1)
			echo "helper pid $RHELPER"
			grep -q 'privileges: rootless' "$W/rootless-server.log" && [ -n "$RHELPER" ]
			return
		fi
		if ! running "$RSPID"; then
			echo "zerowg up (rootless) exited during start-up:"
			tail -n 20 "$W/rootless-server.log"
			return 1
		fi
		sleep 0.1
		n=$((n + 1))
	done
	echo "zerowg up (rootless): not ready after 15 s"
	return 1
}
r_peer_add() {
	local name out
	name=$1; shift
	out=$(RZ peer add "$name" --no-qr "$@" 2>&1) || { echo "$out" >&2; return 1; }
	printf '%s\n' "$out" | sed -n '/^----- BEGIN CLIENT CONFIG -----$/,/^----- END CLIENT CONFIG -----$/p' |
		sed '1d;$d'
}

tun_lock || { fail "rootless: cannot take the /dev/net/tun lock"; finish; }
TUN_MODE_BEFORE=$(stat -c %a /dev/net/tun) || { fail "rootless: no /dev/net/tun"; finish; }
chmod 666 /dev/net/tun
check "rootless: init as nobody" r_init || finish
check "rootless: zerowg up as nobody in s starts (privileges: rootless)" r_start || finish
RSRV6=$(HX ip -6 -o addr show dev "$RIF" scope global | awk '{ print $4 }' | head -n 1)
RULA=$(echo "$RSRV6" | sed 's|::1/64$|::/64|')
RSRV6=${RSRV6%/*}
check "rootless: the tunnel (with IPv6 $RSRV6) is in the helper's namespace, not in s" \
	sh -c "[ -n '$RSRV6' ] && ! ip -n '$(H s)' link show '$RIF' 2>/dev/null"
RCONF_C=$(r_peer_add rlim --allowed-ips "$RSUBNET4, $RULA, 198.18.0.0/24")
RCONF_D=$(r_peer_add rfree --allowed-ips "$RSUBNET4, $RULA, 198.18.0.0/24")
check "rootless: client c (peer rlim) comes up" client_up c "$RCONF_C" "$ZWGD" || finish
check "rootless: client d (peer rfree) comes up" client_up d "$RCONF_D" "$ZWGD" || finish
check "rootless: c pings the server through the tunnel" ping_ok c "$RSRV4" 15
check "rootless: d pings the server through the tunnel" ping_ok d "$RSRV4" 15
r_reaches() {
	tcp_ok "$1" 198.18.0.2 5002 && tcp_ok "$1" 198.18.0.3 5001 && tcp_ok "$1" 198.18.0.3 5002 &&
		udp_ok "$1" 198.18.0.3 5003 && udp_ok "$1" 198.18.0.3 5004
}
check "rootless, before: c reaches the targets through slirp4netns (TCP and UDP)" r_reaches c
check "rootless, before: c's UDP to the server's own [$RSRV6]:5005 meets the closed port" \
	udp_err c "$RSRV6" 5005 ECONNREFUSED
RRULES="198.18.0.2, 198.18.0.3:5001/tcp, 198.18.0.3:5003/udp"
check "rootless: peer firewall rlim (as nobody): restricted to $RRULES" \
	sh -c "out=\$(ip netns exec '$(H s)' setpriv --reuid=$NUID --regid=$NGID --clear-groups \
	         env HOME='$U' XDG_RUNTIME_DIR='$U/run' '$TAG-cmd' '$RZWG' peer firewall rlim \
	         --allow 198.18.0.2 --allow 198.18.0.3:5001/tcp --allow 198.18.0.3:5003/udp \
	         --admin-socket '$RADMIN' 2>&1); rc=\$?; echo \"\$out\";
	       [ \$rc = 0 ] && echo \"\$out\" | grep -qF 'may reach only $RRULES'"
check "rootless: the table is in the helper's namespace, with c's chain" \
	sh -c "nsenter -t '$RHELPER' -n nft list table inet '$RTABLE' | tee /dev/stderr |
	       grep -q 'chain peer0'"
check "rootless: no firewall table in s (the user's namespace)" \
	sh -c "! ip netns exec '$(H s)' nft list table inet '$RTABLE' 2>/dev/null"
check "rootless, restricted: c connects to 198.18.0.2:5002 (allowed host)" tcp_ok c 198.18.0.2 5002
check "rootless, restricted: c connects to 198.18.0.3:5001 (allowed port)" tcp_ok c 198.18.0.3 5001
check "rootless, restricted: c is refused at once on 198.18.0.3:5002, the target sees nothing" \
	tcp_denied c 198.18.0.3 5002
check "rootless, restricted: c's UDP to 198.18.0.3:5003 (allowed) is echoed" \
	udp_ok c 198.18.0.3 5003
check "rootless, restricted: c's UDP to 198.18.0.3:5004 is rejected at once, the target sees nothing" \
	udp_denied c 198.18.0.3 5004
check "rootless, restricted: c still pings the server" ping_ok c "$RSRV4" 5
check "rootless, restricted: c's UDP to the server's own $RSRV4:5005 meets the firewall" \
	udp_err c "$RSRV4" 5005 EHOSTUNREACH
check "rootless, restricted, IPv6: c still pings the server's $RSRV6" ping_ok c "$RSRV6" 5
check "rootless, restricted, IPv6: c's UDP to the server's own [$RSRV6]:5005 meets the firewall (EACCES)" \
	udp_err c "$RSRV6" 5005 EACCES
check "rootless, restricted: d (unrestricted) still reaches everything" r_reaches d
check "rootless, restricted, IPv6: d's UDP to [$RSRV6]:5005 still meets the closed port" \
	udp_err d "$RSRV6" 5005 ECONNREFUSED
check "rootless: peer firewall rlim --clear: unrestricted again, the table gone" \
	sh -c "ip netns exec '$(H s)' setpriv --reuid=$NUID --regid=$NGID --clear-groups \
	         env HOME='$U' XDG_RUNTIME_DIR='$U/run' '$TAG-cmd' '$RZWG' peer firewall rlim --clear \
	         --admin-socket '$RADMIN' | grep -q 'may reach everything again' &&
	       ! nsenter -t '$RHELPER' -n nft list table inet '$RTABLE' 2>/dev/null"
check "rootless, cleared: c reaches the targets again" r_reaches c
kill -TERM "$RSPID" 2>/dev/null
check "rootless: SIGTERM: the server and its helper exit" \
	wait_for 10 sh -c "! kill -0 '$RSPID' 2>/dev/null && ! kill -0 '$RHELPER' 2>/dev/null"
wait "$RSPID" 2>/dev/null
no_tagged() {
	local p
	p=$(tagged_pids "^$TAG-")
	[ -z "$p" ] && return 0
	echo "left over: $p"
	return 1
}
check "rootless: no process of nobody's from this test is left" wait_for 5 no_tagged
chmod "$TUN_MODE_BEFORE" /dev/net/tun
check "/dev/net/tun is back to mode $TUN_MODE_BEFORE" \
	sh -c "[ \"\$(stat -c %a /dev/net/tun)\" = '$TUN_MODE_BEFORE' ]"
finish
