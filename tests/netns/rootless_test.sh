#!/bin/sh
# rootless_test.sh - `zerowg up` started by an ordinary user: no
# CAP_NET_ADMIN, so the server runs rootless.  Its UDP socket stays in the
# user's network namespace, its helper makes a user and network namespace
# of its own for the TUN (addresses, NAT, the DNS relay's socket), and the
# server starts slirp4netns (with --disable-host-loopback) to give that
# namespace a way out through the user's own sockets.
#
# The user is `nobody`; everything it owns lives in $U (inside $W, which is
# made traversable).  Topology, every address inside namespaces this test
# made:
#
#   [inet] 198.18.0.2 --veth-- 198.18.0.1 [s]      s: the user's "host", lo up,
#     TCP service :IPORT                            default route via inet;
#     fake DNS :53                                  a TCP listener on its
#                                                   127.0.0.1:LPORT
#   in s, as nobody:
#     zerowg up (UDP 0.0.0.0:SPORT) -> helper [userns+netns: TUN 10.123.0.1,
#                                              tap0 10.0.2.100 from the
#                                              server's slirp4netns]
#     unshare --user --map-root-user --net --mount: the client [its own
#       slirp4netns, --cidr 10.0.3.0/24 WITH host loopback, so 10.0.3.2 is
#       s's 127.0.0.1, where the server listens; zerowgd-test on zq<pid>c,
#       its UAPI socket on a tmpfs over /run/wireguard]
#
# The client's slirp uses 10.0.3.0/24 rather than slirp's default
# 10.0.2.0/24 so that 10.0.2.2 -- the server's slirp gateway, which would
# be s's loopback without --disable-host-loopback -- can be routed through
# the tunnel (check 5) while the endpoint stays outside it.
#
# /dev/net/tun is opened up (0666) for the run and its mode restored on
# every exit path; /etc/netns/<s>/resolv.conf (s's resolver: the fake DNS)
# is removed on every exit path; every process this test starts as nobody
# carries ZWG_RLT=<pid>-... in its environment and is killed by its pid.
T=rootless
. "${0%/*}/lib.sh"

ZWG=${ZWG:-$O/zerowg-test}
ZWGD=${ZWGD:-$O/zerowgd-test}
PY=/usr/bin/python3	# not a shim under /root: nobody runs it too
need setpriv nsenter unshare slirp4netns wg nft ss nc stat "$PY" "$ZWG" "$ZWGD"

SNS=$(H s)
SUBNET4=10.123.0.0/24
SRV4=10.123.0.1
CLI4=10.123.0.2
SPORT=51999		# the server's UDP port in s
IPORT=8080		# the internet's TCP service
LPORT=8081		# a TCP service on s's loopback only
IFN="zw${ID}r"		# the server's interface (in the helper's namespace)
CIF="zq${ID}c"		# the client's (in the client's namespace)
NUID=$(id -u nobody) || { fail "setup: no user nobody"; finish; }
NGID=$(getent group nogroup | cut -d: -f3)
[ -n "$NGID" ] || NGID=$(id -g nobody)
TAG="ZWG_RLT=$ID"
U=$W/u
ADMIN=$U/admin.sock
UNSEAL=$(head -c 32 /dev/urandom | base64)
NETNS_ETC=/etc/netns/$SNS
ETC_NETNS_MADE=""
[ -d /etc/netns ] || ETC_NETNS_MADE=1
tun_lock || { fail "setup: cannot take the /dev/net/tun lock"; finish; }
TUN_MODE_BEFORE=$(stat -c %a /dev/net/tun) || { fail "setup: no /dev/net/tun"; finish; }
SPID="" ANCHOR="" HELPER="" SSLIRP="" CSLIRP="" ZPID=""

# tagged [SUFFIX]: pids of live processes whose environment has our tag
# (ZWG_RLT=<pid>-SUFFIX; any suffix without one).
tagged() { tagged_pids "^$TAG-${1:-}"; }
rootless_cleanup() {
	kill_tagged "^$TAG-"
	chmod "$TUN_MODE_BEFORE" /dev/net/tun
	rm -f "$NETNS_ETC/resolv.conf"
	rmdir "$NETNS_ETC" 2>/dev/null
	[ -n "$ETC_NETNS_MADE" ] && rmdir /etc/netns 2>/dev/null
	lib_cleanup
}
trap rootless_cleanup EXIT

# AS TAG CMD...: CMD as nobody, its home in $U, tagged ZWG_RLT=<pid>-TAG.
# US TAG CMD...: the same in netns s.  With EXEC=exec (in a subshell: "(EXEC='exec';
# US ...) &") they replace the shell, so $! is CMD's pid.
SETPRIV=$(command -v setpriv)
AS() {
	local t
	t=$1; shift
	${EXEC:-} "$SETPRIV" --reuid="$NUID" --regid="$NGID" --clear-groups \
		env HOME="$U" XDG_DATA_HOME="$U/share" XDG_RUNTIME_DIR="$U/run" "$TAG-$t" \
		LOG_LEVEL=verbose "$@"
}
US() {
	local t
	t=$1; shift
	${EXEC:-} ip netns exec "$SNS" "$SETPRIV" --reuid="$NUID" --regid="$NGID" --clear-groups \
		env HOME="$U" XDG_DATA_HOME="$U/share" XDG_RUNTIME_DIR="$U/run" "$TAG-$t" \
		LOG_LEVEL=verbose "$@"
}
# UZ ARGS...: the CLI, as nobody in s, against our server.
UZ() { US cmd "$ZWG" "$@" --admin-socket "$ADMIN"; }
# CX CMD...: as nobody, inside the client's user, network and mount
# namespaces (as its uid 0 there).
CX() { AS cmd nsenter -t "$ANCHOR" -U -n -m --preserve-credentials -- "$@"; }

# ---------------------------------------------------------------- setup --

# nobody must reach $U and run our binaries.
chmod 711 "$W"
mkdir -p "$U/share" "$U/run" && chown -R "$NUID:$NGID" "$U" && chmod 700 "$U" ||
	{ fail "setup: $U for nobody"; finish; }
if ! AS cmd sh -c "[ -x '$ZWG' ] && [ -x '${ZWG%/*}/zerowg-server-test' ] && [ -x '$ZWGD' ]"; then
	# The build directory is not open to nobody: copies it can run.
	mkdir -p "$W/bin" && chmod 755 "$W/bin" &&
	cp "$ZWG" "${ZWG%/*}/zerowg-server-test" "$ZWGD" "$W/bin/" ||
		{ fail "setup: copying the binaries for nobody"; finish; }
	ZWG=$W/bin/${ZWG##*/}
	ZWGD=$W/bin/${ZWGD##*/}
fi

ns_add s || { fail "setup: ip netns add s"; finish; }
ns_add inet || { fail "setup: ip netns add inet"; finish; }
X s ip link add eth1 type veth peer name eth0 netns "$(H inet)"
X s ip link set eth1 up
X inet ip link set eth0 up
X s ip addr add 198.18.0.1/24 dev eth1
X inet ip addr add 198.18.0.2/24 dev eth0
X s ip route add default via 198.18.0.2 dev eth1
mkdir -p "$NETNS_ETC" && printf 'nameserver 198.18.0.2\n' >"$NETNS_ETC/resolv.conf"

# A TCP service: python3 svc.py ADDR PORT NAME LOG -- answers every
# connection with "NAME peer=<its address>" and logs that address.
cat >"$W/svc.py" <<'EOF'
import socket, sys, time
addr, port, name, logname = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(8)
s.settimeout(1)
log = open(logname, "a")
end = time.time() + 300
while time.time() < end:
    try:
        c, src = s.accept()
    except socket.timeout:
        continue
    log.write("%s\n" % src[0])
    log.flush()
    try:
        c.sendall(("%s peer=%s\n" % (name, src[0])).encode())
    except OSError:
        pass
    c.close()
EOF
# The internet's DNS server (example.test A -> 198.18.0.77, one log line
# per query: "SRC ID NAME") and a raw DNS query: tests/tools/*.py, copied
# where nobody can read them.
cp "${0%/*}/../tools/fakedns.py" "${0%/*}/../tools/dnsq.py" "$W/"
chmod 644 "$W"/*.py

X inet "$PY" "$W/svc.py" 198.18.0.2 "$IPORT" inet "$W/inet.conns" >"$W/inet-svc.log" 2>&1 &
X inet "$PY" "$W/fakedns.py" "$W/fakedns.queries" >"$W/fakedns.log" 2>&1 &
X s "$PY" "$W/svc.py" 127.0.0.1 "$LPORT" loopback "$W/lo.conns" >"$W/lo-svc.log" 2>&1 &
services_up() { wait_listen inet "$IPORT" && wait_listen inet 53 udp && wait_listen s "$LPORT"; }
check "setup: the internet's TCP service and DNS, and s's loopback-only service listen" \
	services_up || finish

# ------------------------------------------------------------- helpers --

log_has() { grep -F -- "$1" "$W/server.log"; }
# store_pub: the server's public key, read offline from the store (as
# nobody, the key through a pipe).
store_pub() {
	printf '%s\n' "$UNSEAL" | US cmd "$ZWG" export --data "$U/data" --key-fd 0 |
		sed -n 's/^PrivateKey *= *//p' | wg pubkey
}
# status_is PID FIELD VALUE: a line of /proc/PID/status ("Uid" compares
# the real, effective, saved and filesystem uids).
status_is() {
	local v
	v=$(awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status")
	echo "$2 of pid $1: '$v' (expected '$3')"
	[ "$v" = "$3" ]
}
nsid() { stat -Lc %i "/proc/$1/ns/$2"; }
# gone PID...: every PID has exited.
gone() {
	local p
	for p; do
		[ -n "$p" ] || continue
		if running "$p"; then
			echo "pid $p is still running: $(tr '\0' ' ' <"/proc/$p/cmdline")"
			return 1
		fi
	done
}
no_tagged() {
	local pids p
	pids=$(tagged "${1:-}")
	[ -z "$pids" ] && return 0
	for p in $pids; do
		echo "left over: pid $p uid $(awk '$1 == "Uid:" { print $2 }' "/proc/$p/status") $(tr '\0' ' ' <"/proc/$p/cmdline")"
	done
	return 1
}
# nobody_in_s: processes of nobody in netns s.
nobody_in_s() {
	local p
	for p in $(ip netns pids "$SNS" 2>/dev/null); do
		[ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$p/status" 2>/dev/null)" = "$NUID" ] &&
			echo "nobody's pid $p in s: $(tr '\0' ' ' <"/proc/$p/cmdline")"
	done
}
no_nobody_in_s() { [ -z "$(nobody_in_s | tee /dev/stderr)" ]; }

srv_init() {
	printf '%s\n' "$UNSEAL" | US cmd "$ZWG" init --data "$U/data" --key-fd 0 \
		--subnet "$SUBNET4" --port "$SPORT" --interface "$IFN" \
		--endpoint "10.0.3.2:$SPORT" >"$W/init.out" 2>&1 || { cat "$W/init.out"; return 1; }
}

# srv_start: `zerowg up` as nobody in s (log $W/server.log, pid SPID);
# waits until `zerowg peer list` answers.
srv_start() {
	local n
	printf '%s\n' "$UNSEAL" | ip netns exec "$SNS" "$SETPRIV" --reuid="$NUID" \
		--regid="$NGID" --clear-groups env HOME="$U" XDG_DATA_HOME="$U/share" \
		XDG_RUNTIME_DIR="$U/run" "$TAG-srv" LOG_LEVEL=verbose \
		"$ZWG" up --data "$U/data" --key-fd 0 --admin-socket "$ADMIN" \
		>>"$W/server.log" 2>&1 &
	SPID=$!
	n=0
	while [ $n -lt 150 ]; do
		if [ -S "$ADMIN" ] && UZ peer list >/dev/null 2>&1; then
			HELPER=$(sed -n 's|.*network namespace of its own (/proc/\([0-9]*\)/ns/net).*|\1|p' \
				"$W/server.log" | tail -n 1)
			SSLIRP=$(sed -n 's|.*egress: slirp4netns (pid \([0-9]*\)).*|\1|p' \
				"$W/server.log" | tail -n 1)
			echo "server pid $SPID, helper pid $HELPER, slirp4netns pid $SSLIRP"
			return 0
		fi
		if ! running "$SPID"; then
			echo "zerowg up exited during start-up:"
			tail -n 20 "$W/server.log"
			return 1
		fi
		sleep 0.1
		n=$((n + 1))
	done
	echo "zerowg up: not ready after 15 s"
	return 1
}

# srv_stop: SIGTERM, wait 10 s at most (then KILL); status in SSTATUS.
srv_stop() {
	local n
	kill -TERM "$SPID" 2>/dev/null
	n=0
	while running "$SPID" && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	running "$SPID" && kill -9 "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SSTATUS=$?
}

# --------------------------------------------- 1. /dev/net/tun closed --

# The defaults a user gets without --data: the store under XDG_DATA_HOME,
# its parents made (a new user has no ~/.local/share yet).
default_init() {
	printf '%s\n' "$UNSEAL" | ip netns exec "$SNS" "$SETPRIV" --reuid="$NUID" --regid="$NGID" \
		--clear-groups env HOME="$U/fresh" XDG_DATA_HOME= "$TAG-cmd" \
		"$ZWG" init --key-fd 0 >"$W/definit.out" 2>&1 || { cat "$W/definit.out"; return 1; }
	[ -d "$U/fresh/.local/share/zerowg" ] &&
		[ "$(stat -c '%U %a' "$U/fresh/.local/share/zerowg")" = "nobody 700" ]
}
mkdir -p "$U/fresh" && chown "$NUID:$NGID" "$U/fresh"
check "init as a user without --data: the store is ~/.local/share/zerowg, its parents made" \
	default_init
check "init (as nobody, in s): a sealed store is created" srv_init || finish
PUB_S=$(store_pub)
check "init: the store opens with the key (export, as nobody)" sh -c "[ -n '$PUB_S' ]"

chmod 600 /dev/net/tun
up_fails_tun() {
	local st
	printf '%s\n' "$UNSEAL" | US srv timeout 20 "$ZWG" up --data "$U/data" --key-fd 0 \
		--admin-socket "$ADMIN" >"$W/fail.out" 2>&1
	st=$?
	cat "$W/fail.out"
	echo "exit status $st"
	[ "$st" = 1 ] && grep -q '/dev/net/tun' "$W/fail.out" &&
		grep -qE 'give its user access|0666' "$W/fail.out"
}
check "/dev/net/tun 0600: up exits 1 naming /dev/net/tun and the fix" up_fails_tun
check "/dev/net/tun 0600: no admin socket, no interface left" \
	sh -c "[ ! -e '$ADMIN' ] && ! ip -n '$SNS' link show '$IFN' 2>/dev/null &&
	       ! ip link show '$IFN' 2>/dev/null"
check "/dev/net/tun 0600: none of the server's processes (helper, slirp4netns) is left" \
	no_tagged srv
check "/dev/net/tun 0600: nothing stored is lost (the store opens, same key)" \
	sh -c "[ \"\$1\" = '$PUB_S' ]" sh "$(store_pub)"
chmod 666 /dev/net/tun

# -------------------------------------------------- 2. up, rootless --

check "up (as nobody, in s): the server starts and answers on its admin socket" srv_start ||
	finish
check "start-up: the lines say rootless" \
	sh -c "grep -q 'privileges: rootless' '$W/server.log' &&
	       grep -q 'sandbox: user nobody (uid $NUID), no capabilities.*(rootless mode)' '$W/server.log'"
check "server process: uid nobody" status_is "$SPID" Uid "$NUID $NUID $NUID $NUID"
check "server process: CapEff 0" status_is "$SPID" CapEff 0000000000000000
check "server process: NoNewPrivs 1" status_is "$SPID" NoNewPrivs 1
check "server process: Seccomp 2 (filter)" status_is "$SPID" Seccomp 2
check "server process: it holds the UDP socket on port $SPORT in s" \
	sh -c "ip netns exec '$SNS' ss -Huanp 'sport = :$SPORT' | tee /dev/stderr | grep -q 'pid=$SPID,'"
check "helper: a child of the server, in a user and network namespace of its own" \
	sh -c "[ -n '$HELPER' ] && [ \"\$(awk '{ print \$4 }' /proc/$HELPER/stat)\" = '$SPID' ] &&
	       [ \$(stat -Lc %i /proc/$HELPER/ns/net) != \$(stat -Lc %i /proc/$SPID/ns/net) ] &&
	       [ \$(stat -Lc %i /proc/$HELPER/ns/user) != \$(stat -Lc %i /proc/$SPID/ns/user) ]"
check "helper: runs as nobody" sh -c "awk '\$1 == \"Uid:\"' /proc/$HELPER/status | grep -q '	$NUID	'"
check "the TUN interface $IFN is not in s (nor in the root namespace)" \
	sh -c "! ip -n '$SNS' link show '$IFN' && ! ip link show '$IFN'"
check "the TUN interface is in the helper's namespace with $SRV4/24" \
	sh -c "nsenter -t '$HELPER' -n ip -o addr show dev '$IFN' | tee /dev/stderr | grep -q ' $SRV4/24 '"
check "no UAPI socket in rootless mode" sh -c "[ ! -e '/var/run/wireguard/$IFN.sock' ]"
check "egress: the server started slirp4netns (its child, nobody's, in s)" \
	sh -c "[ -n '$SSLIRP' ] && [ \"\$(awk '{ print \$4 }' /proc/$SSLIRP/stat)\" = '$SPID' ] &&
	       grep -q slirp4netns /proc/$SSLIRP/cmdline &&
	       awk '\$1 == \"Uid:\"' /proc/$SSLIRP/status | grep -q '	$NUID	' &&
	       [ \$(stat -Lc %i /proc/$SSLIRP/ns/net) = \$(stat -Lc %i '/run/netns/$SNS') ]"
check "egress: slirp4netns keeps the host's loopback closed (--disable-host-loopback)" \
	sh -c "tr '\0' '\n' </proc/$SSLIRP/cmdline | grep -qx -- --disable-host-loopback"
check "egress: the helper's namespace has tap0 and a default route via 10.0.2.2" \
	sh -c "nsenter -t '$HELPER' -n ip route show default | tee /dev/stderr |
	       grep -q 'via 10.0.2.2 dev tap0'"

# ------------------------------------ 3. a client, unprivileged too --

CONF=$(UZ peer add rl --no-qr 2>&1 | sed -n '/^----- BEGIN CLIENT CONFIG -----$/,/^----- END CLIENT CONFIG -----$/p')
conf_key() { printf '%s\n' "$CONF" | sed -n "s/^$1 *= *//p" | head -n 1; }
C_PRIV=$(conf_key PrivateKey)
C_PSK=$(conf_key PresharedKey)
check "peer add (as nobody): a config with $CLI4/32 and the server's key" \
	sh -c "[ -n '$C_PRIV' ] && [ '$(conf_key PublicKey)' = '$PUB_S' ] &&
	       printf '%s\n' '$(conf_key Address)' | grep -q '^$CLI4/32'"

# The client's anchor: its user, network and mount namespaces, with a
# tmpfs on /run/wireguard for the UAPI socket.
(EXEC='exec'; US cli unshare --user --map-root-user --net --mount \
	sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run/wireguard && exec sleep 600') \
	>>"$W/client.log" 2>&1 &
ANCHOR=$!
anchor_ready() {
	[ "$(nsid "$ANCHOR" net)" != "$(stat -Lc %i "/run/netns/$SNS")" ] &&
	CX grep -q ' /run/wireguard tmpfs ' /proc/self/mounts
}
check "client: nobody's unshare makes its namespaces (/run/wireguard on a tmpfs)" \
	wait_for 5 anchor_ready || finish
check "client: its user namespace maps root to nobody" \
	sh -c "awk '\$1 == 0 && \$2 == $NUID && \$3 == 1' /proc/$ANCHOR/uid_map | grep -q ."
# Its way out: slirp4netns as nobody in s, with the host loopback open, so
# 10.0.3.2 is s's 127.0.0.1 (where the server's UDP port is).
(EXEC='exec'; US cli slirp4netns --configure --mtu=65520 --cidr=10.0.3.0/24 "$ANCHOR" tap0) \
	>>"$W/client-slirp.log" 2>&1 &
CSLIRP=$!
check "client: slirp4netns (as nobody) gives it tap0 10.0.3.100" \
	wait_for 10 sh -c "$SETPRIV --reuid=$NUID --regid=$NGID --clear-groups \
		nsenter -t $ANCHOR -U -n --preserve-credentials ip -o -4 addr show dev tap0 | grep -q ' 10.0.3.100/'" || finish
(EXEC='exec'; AS cli nsenter -t "$ANCHOR" -U -n -m --preserve-credentials -- "$ZWGD" -f "$CIF") \
	>>"$W/client.log" 2>&1 &
ZPID=$!
check "client: zerowgd-test runs in it (UAPI socket on its tmpfs)" \
	wait_for 10 CX test -S "/run/wireguard/$CIF.sock" || finish
# wg_stdin ARGS...: wg inside the client, its stdin passed on through a pipe
# of the client's own (wg reopens /dev/stdin, and a pipe made by root is
# not nobody's to open).
wg_stdin() { CX sh -c 'cat | wg "$@"' sh "$@"; }
client_conf() {
	printf '%s\n' "$C_PRIV" | wg_stdin set "$CIF" private-key /dev/stdin \
		peer "$PUB_S" endpoint "10.0.3.2:$SPORT" \
		allowed-ips "$SUBNET4,198.18.0.0/24,10.0.2.2/32" &&
	printf '%s\n' "$C_PSK" | wg_stdin set "$CIF" peer "$PUB_S" preshared-key /dev/stdin &&
	CX ip addr add "$CLI4/32" dev "$CIF" &&
	CX ip link set "$CIF" up &&
	CX ip route add "$SUBNET4" dev "$CIF" &&
	CX ip route add 198.18.0.0/24 dev "$CIF" &&
	CX ip route add 10.0.2.2/32 dev "$CIF"
}
check "client: wg configures it (key on stdin, the server as peer at 10.0.3.2:$SPORT)" \
	client_conf || finish
check "client: pings the server's tunnel address $SRV4" \
	CX ping -q -n -c 1 -W 1 -w 15 "$SRV4"
rl_online() { UZ peer show rl --json | tee /dev/stderr | grep -q '"online": *true'; }
check "client: the server saw its handshake (peer show rl: online)" rl_online

# ------------------------------------------------------- 4. egress --

# tcp_to ADDR PORT EXPECTED: a TCP connection from the client; the
# service's line must be EXPECTED.
tcp_to() {
	local got
	got=$(CX timeout 15 nc -n -w 5 "$1" "$2" </dev/null 2>&1)
	echo "client -> $1:$2: '$got' (expected '$3')"
	[ "$got" = "$3" ]
}
# routed_in ADDR: the client routes ADDR into the tunnel.
routed_in() { CX ip route get "$1" | tee /dev/stderr | grep -q " dev $CIF "; }
check "egress: the client routes 198.18.0.2 into the tunnel" routed_in 198.18.0.2
check "egress: TCP from the client through the tunnel reaches the internet's service" \
	tcp_to 198.18.0.2 "$IPORT" "inet peer=198.18.0.1"
check "egress: the internet saw it from s's address 198.18.0.1 (slirp's masquerade)" \
	sh -c "tail -n 1 '$W/inet.conns' | grep -qx 198.18.0.1"
check "egress: NAT in the helper's namespace masquerades the tunnel out of tap0" \
	sh -c "nsenter -t '$HELPER' -n nft list ruleset | tee /dev/stderr |
	       grep -q 'ip saddr $SUBNET4 oifname \"tap0\" masquerade'"

# ------------------------------------------ 5. host loopback closed --

check "loopback: the service on s's 127.0.0.1:$LPORT answers the client's own slirp (10.0.3.2)" \
	tcp_to 10.0.3.2 "$LPORT" "loopback peer=127.0.0.1"
check "loopback: the client routes 10.0.2.2 into the tunnel" routed_in 10.0.2.2
# The control: 10.0.2.2 itself (the server's slirp4netns) answers through
# the tunnel, so what fails below is the loopback forwarding, not the path.
check "loopback: the server's slirp gateway 10.0.2.2 answers pings through the tunnel" \
	CX ping -q -n -c 1 -W 1 -w 5 10.0.2.2
LO_BEFORE=$(wc -l <"$W/lo.conns")
check_not "loopback: through the tunnel, 10.0.2.2:$LPORT (s's loopback) is closed" \
	tcp_to 10.0.2.2 "$LPORT" "loopback peer=127.0.0.1"
check "loopback: the service saw no connection through the tunnel" \
	sh -c "[ \$(wc -l <'$W/lo.conns') = '$LO_BEFORE' ]"
check "loopback: the tunnel still carries TCP afterwards" \
	tcp_to 198.18.0.2 "$IPORT" "inet peer=198.18.0.1"

# ----------------------------------------------------------- 6. DNS --

lookup() {
	local got
	got=$(CX timeout 10 "$PY" "$W/dnsq.py" "$SRV4" example.test "$1" 2>&1)
	echo "example.test via $SRV4 from the client: '$got'"
	[ "$got" = 198.18.0.77 ]
}
check "DNS: the start-up line names the relay on $SRV4 and s's resolver" \
	log_has "DNS: clients ask $SRV4, relayed to 198.18.0.2"
check "DNS: the relay answers the client on $SRV4:53 through the tunnel" lookup 4660
check "DNS: the query reached the internet's server from s, with a new id" \
	sh -c "grep -q '^198.18.0.1 .* example.test$' '$W/fakedns.queries' &&
	       ! grep -q '^198.18.0.1 4660 example.test$' '$W/fakedns.queries'"

# ---------------------------------------------------- 7. list, stop --

peer_listed() { UZ peer list | tee /dev/stderr | grep -qw rl; }
check "peer list (as nobody): rl is there" peer_listed
srv_stop
check "SIGTERM: the server exits 0" sh -c "[ '$SSTATUS' = 0 ]"
check "SIGTERM: its helper and its slirp4netns (if it started) are gone" wait_for 5 gone "$HELPER" "$SSLIRP"
check "SIGTERM: no process of the server's is left" wait_for 5 no_tagged srv
check "SIGTERM: the admin socket file is removed" sh -c "[ ! -e '$ADMIN' ]"
check_not "SIGTERM: the client no longer reaches the server" \
	CX ping -q -n -c 2 -i 0.5 -W 1 -w 3 "$SRV4"
# The client's processes: zerowgd first (the UAPI socket), then its way
# out, then the anchor that holds its namespaces.
kill "$ZPID" "$CSLIRP" 2>/dev/null
check "client: zerowgd and its slirp4netns exit on SIGTERM" wait_for 5 gone "$ZPID" "$CSLIRP"
kill "$ANCHOR" 2>/dev/null
check "no process of nobody's from this test is left" wait_for 5 no_tagged
check "no process of nobody's is left in s" no_nobody_in_s

# ---------------------------------------------- 8. /dev/net/tun back --

chmod "$TUN_MODE_BEFORE" /dev/net/tun
check "/dev/net/tun is back to mode $TUN_MODE_BEFORE" \
	sh -c "[ \"\$(stat -c %a /dev/net/tun)\" = '$TUN_MODE_BEFORE' ]"
finish
