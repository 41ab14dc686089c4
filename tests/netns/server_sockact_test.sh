#!/bin/sh
# server_sockact_test.sh - `zerowg up` with its sockets from socket
# activation (LISTEN_FDS), as a service manager hands them over: the
# WireGuard port's UDP sockets (their port becomes the server's, and is
# stored) and the admin API's listening unix socket (then the privileged
# helper binds none).
#   1. Root mode: two chained systemd-socket-activate (the outer one owns
#      the admin socket $W/admin.sock and passes it through the inner one,
#      which adds 0.0.0.0:P and [::]:P).  The unseal key still reaches the
#      server on fd 0 (systemd-socket-activate keeps stdin; the key never
#      touches a file).  peer add over the activated admin socket, a client
#      (wg-quick + zerowgd-test in host a) pings through the tunnel, wg
#      shows port P, the sandboxed server (CapEff 0, Seccomp 2) holds the
#      activated sockets; after SIGTERM the admin socket's path is left for
#      its owner (the service manager), the UAPI socket and the interface
#      are gone, and the store keeps port P.
#   2. Rootless mode: the server runs as nobody (setpriv after the
#      activation, so root binds a privileged port PR < 1024 for it, as
#      systemd would); /dev/net/tun is opened up (0666) for the run and its
#      mode restored on every exit path (under lib.sh's tun_lock).  The
#      client in host a pings it.
#   3. Wrong setups: LISTEN_FDS=2 with nothing open, --port Q against an
#      activated port P, a TCP socket named "udp"; an unnamed TCP socket
#      is the web listener (docs/web.md): it answers the API (401 without
#      credentials) and the server goes on with its own UDP port.
# Every address is inside namespaces this test made; every process started
# as nobody carries ZWG_SSB=<pid> in its environment and is killed by pid.
T=server_sockact
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need wg wg-quick systemd-socket-activate setpriv nc ss stat slirp4netns "$ZWG" "$ZWGD"
SA=$(command -v systemd-socket-activate)
SETPRIV=$(command -v setpriv)
P=51931			# the activated port (root mode)
PR=523			# the activated port (rootless mode): privileged, bound by root
Q=51932			# a --port that disagrees with P
SNS=$(H s)
TAG="ZWG_SSB=$ID"
NUID=$(id -u nobody) || { fail "setup: no user nobody"; finish; }
NGID=$(getent group nogroup | cut -d: -f3)
[ -n "$NGID" ] || NGID=$(id -g nobody)
U=$W/u
UADMIN=$U/admin.sock
tun_lock || { fail "setup: cannot take the /dev/net/tun lock"; finish; }
TUN_MODE_BEFORE=$(stat -c %a /dev/net/tun) || { fail "setup: no /dev/net/tun"; finish; }

# tagged: pids of live processes with our tag in their environment.
tagged() { tagged_pids "^$TAG\$"; }
ssb_cleanup() {
	kill_tagged "^$TAG\$"
	chmod "$TUN_MODE_BEFORE" /dev/net/tun
	lib_cleanup
}
trap ssb_cleanup EXIT

hosts s a
X s sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

# ------------------------------------------------------------- helpers --

log_has() { grep -F -- "$1" "${2:-$W/server.log}"; }
status_is() {
	local v
	v=$(awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status")
	echo "$2 of pid $1: '$v' (expected '$3')"
	[ "$v" = "$3" ]
}
# udp_owned PORT PID: every UDP socket on PORT in s is PID's, and there
# are two (the activated IPv4 and IPv6 ones).
udp_owned() {
	local all mine
	all=$(X s ss -Huanp "sport = :$1")
	printf '%s\n' "$all"
	mine=$(printf '%s\n' "$all" | grep -c "pid=$2,")
	[ "$mine" = 2 ] && [ "$(printf '%s\n' "$all" | grep -c .)" = 2 ]
}
# poke PORT: one datagram to PORT on s's loopback.
poke() { X s sh -c "printf x | nc -u -w0 127.0.0.1 $1" >/dev/null 2>&1; }
# ready SOCKET: the admin API answers (bounded: a connection to a socket
# nobody accepts yet would wait).
# READY_AS: a command prefix to ask as another user (the CLI trusts only
# root, itself and zerowg as a server: a rootless server is its user's).
ready() { ${READY_AS:-} timeout 5 "${READY_ZWG:-$ZWG}" peer list --admin-socket "$1" >/dev/null 2>&1; }

# sa_up PID SOCKET PORT LOG: triggers the launch behind
# systemd-socket-activate (a connection to SOCKET if it is an activated
# one, datagrams to PORT) and waits until the admin API answers.
sa_up() {
	local n
	[ -S "$2" ] && timeout 2 nc -U -z "$2" >/dev/null 2>&1
	n=0
	while [ $n -lt 100 ]; do
		if ! running "$1"; then
			echo "the server (pid $1) exited during start-up:"
			tail -n 20 "$4"
			return 1
		fi
		if grep -q "interface .* up, listening on UDP port" "$4" && ready "$2"; then
			return 0
		fi
		[ $((n % 5)) -eq 0 ] && poke "$3"
		sleep 0.1
		n=$((n + 1))
	done
	echo "not ready after 10 s"
	tail -n 20 "$4"
	return 1
}

# stop_pid PID: SIGTERM, 10 s at most, then KILL; the status in STATUS.
stop_pid() {
	local n
	kill -TERM "$1" 2>/dev/null
	n=0
	while running "$1" && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	running "$1" && kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	STATUS=$?
}

# ------------------------------------------------ 1. root, activated --

check "init: a sealed store is created" srv_init --subnet "$SUBNET4" || finish
rm -f "$ADMIN"
# The outer systemd-socket-activate binds the admin socket and, at the
# first connection, execs the inner one, which passes it on with the two
# UDP sockets.  -E: the server's environment is only what is named here.
printf '%s\n' "$UNSEAL" | ip netns exec "$SNS" "$SA" -l "$ADMIN" \
	"$SA" --datagram -l "0.0.0.0:$P" -l "[::]:$P" -E LOG_LEVEL=verbose -E PATH \
	"$ZWG" up --data "$W/data" --key-fd 0 --interface "$(sif)" --endpoint "$(u4 s)" \
	>>"$W/server.log" 2>&1 &
SPID=$!
echo "$SPID" >"$W/server.pid"
check "root: the outer systemd-socket-activate made the admin socket" \
	wait_for 5 test -S "$ADMIN" || finish
check "root: before the first connection the server has not started (UDP $P not bound yet)" \
	sh -c "! grep -q 'privileges:' '$W/server.log' &&
	       [ -z \"\$(ip netns exec '$SNS' ss -Huan 'sport = :$P')\" ]"
check "root: a connection to the admin socket and a datagram to $P launch the server" \
	sa_up "$SPID" "$ADMIN" "$P" "$W/server.log" || finish
check "root: the start-up says root mode" log_has "privileges: started as root"
check "root: the unseal key came through fd 0 (stdin kept by systemd-socket-activate)" \
	log_has "unsealed with the key from"
check "root: the log says the UDP port $P came from socket activation" \
	log_has "UDP port $P from socket activation"
check "root: the log says the admin socket came from socket activation" \
	log_has "admin API on $W/admin.sock, from socket activation"
check "root: the ready line names UDP port $P" log_has "listening on UDP port $P,"
# The ready line names the admin socket it serves: here the activated one
# (--admin-socket was not given, so the default path would be wrong; the
# server learns the path with getsockname()).
check "root: the ready line names the activated admin socket, not a default one" \
	sh -c "grep 'listening on UDP port' '$W/server.log' | grep -q 'admin API on $W/admin.sock\$'"
check "root: the helper bound no admin socket of its own (no /run/zerowg/admin.sock made)" \
	sh -c "! grep -q 'cannot create the admin socket' '$W/server.log'"

TUN_IPS="$SUBNET4"
CONF=$(peer_add alice --allowed-ips "$TUN_IPS")
PUB_A=$(conf_pub "$CONF")
check "root: peer add over the activated admin socket gives a config" \
	sh -c "[ -n '$PUB_A' ] && printf '%s\n' '$CONF' | grep -q '^Address = ${SUBNET4%.0/*}.2/32'"
check "root: the config's Endpoint is the activated port $(u4 s):$P" \
	sh -c "printf '%s\n' '$CONF' | grep -qx 'Endpoint = $(u4 s):$P'"
check "root: wg show lists port $P" \
	sh -c "[ \"\$(ip netns exec '$SNS' wg show '$(sif)' listen-port)\" = $P ]"
check "root: the server process has CapEff 0" status_is "$SPID" CapEff 0000000000000000
check "root: the server process has Seccomp 2 (filter)" status_is "$SPID" Seccomp 2
check "root: the server process runs as zerowg" \
	status_is "$SPID" Uid "$(id -u zerowg) $(id -u zerowg) $(id -u zerowg) $(id -u zerowg)"
check "root: the sandboxed server holds both activated UDP sockets on $P (ss -uanp)" \
	udp_owned "$P" "$SPID"
# Unix sockets are listed in the namespace that made them (s).
check "root: the sandboxed server holds the activated admin socket" \
	sh -c "ip netns exec '$SNS' ss -Hxlp | grep -F '$ADMIN' | tee /dev/stderr | grep -q 'pid=$SPID,'"
check "root: client a (wg-quick + zerowgd-test) comes up" client_up a "$CONF" "$ZWGD" || finish
check "root: a pings the server's tunnel address through port $P" ping_ok a "$SRV4"
check "root: the server saw a's handshake" \
	sh -c "[ \"\$(ip netns exec '$SNS' wg show '$(sif)' latest-handshakes | awk '{ print \$2 }')\" -gt 0 ]"
check "root: peer list over the activated socket shows alice online" \
	sh -c "'$ZWG' peer show alice --json --admin-socket '$ADMIN' | grep -q '\"online\": *true'"
client_down a

stop_pid "$SPID"
rm -f "$W/server.pid"
check "root: SIGTERM: the server exits 0" sh -c "[ '$STATUS' = 0 ]"
# The service manager made the admin socket and owns its path: systemd
# removes it when the .socket unit stops (RemoveOnStop=) and hands the
# same socket to the next start.  The server must leave it.
check "root: SIGTERM: the activated admin socket's path is left to its owner" \
	test -S "$ADMIN"
check "root: SIGTERM: the UAPI socket is removed" \
	sh -c "[ ! -e '/var/run/wireguard/$(sif).sock' ]"
check "root: SIGTERM: the interface is gone" \
	wait_for 5 sh -c "! ip netns exec '$SNS' ip link show '$(sif)'"
check "root: SIGTERM: nothing is left on UDP $P" \
	wait_for 5 sh -c "[ -z \"\$(ip netns exec '$SNS' ss -Huan 'sport = :$P')\" ]"
rm -f "$ADMIN"
stored_port() {
	printf '%s\n' "$UNSEAL" | "$ZWG" export --data "$W/data" --key-fd 0 | tee "$W/export.out" |
		grep -qx "ListenPort = $P"
	local rc=$?
	grep ListenPort "$W/export.out"
	return $rc
}
check "root: the store keeps the activated port (export: ListenPort = $P)" stored_port

# --------------------------------------------- 2. rootless, activated --

# nobody must reach $U and run our binaries.
chmod 711 "$W"
mkdir -p "$U/share" "$U/run" && chown -R "$NUID:$NGID" "$U" && chmod 700 "$U" ||
	{ fail "setup: $U for nobody"; finish; }
ZWGR=$ZWG
if ! "$SETPRIV" --reuid="$NUID" --regid="$NGID" --clear-groups \
	sh -c "[ -x '$ZWG' ] && [ -x '${ZWG%/*}/zerowg-server-test' ]"; then
	mkdir -p "$W/bin" && chmod 755 "$W/bin" &&
	cp "$ZWG" "${ZWG%/*}/zerowg-server-test" "$W/bin/" ||
		{ fail "setup: copying the binaries for nobody"; finish; }
	ZWGR=$W/bin/${ZWG##*/}
fi
# US CMD...: as nobody in s, tagged.
US() {
	ip netns exec "$SNS" "$SETPRIV" --reuid="$NUID" --regid="$NGID" --clear-groups \
		env HOME="$U" XDG_DATA_HOME="$U/share" XDG_RUNTIME_DIR="$U/run" "$TAG" "$@"
}
rl_init() {
	printf '%s\n' "$UNSEAL" | US "$ZWGR" init --data "$U/data" --key-fd 0 --subnet "$SUBNET4" \
		--interface "zw${ID}r" --endpoint "$(u4 s)" >"$W/rl-init.out" 2>&1 ||
		{ cat "$W/rl-init.out"; return 1; }
}
check "rootless: init as nobody" rl_init || finish
chmod 666 /dev/net/tun
# Root binds UDP $PR (< 1024: nobody could not) and execs setpriv, which
# execs the server as nobody: the pid systemd-socket-activate set in
# LISTEN_PID is the server's.
printf '%s\n' "$UNSEAL" | ip netns exec "$SNS" "$SA" --datagram -l "0.0.0.0:$PR" -l "[::]:$PR" \
	-E LOG_LEVEL=verbose -E PATH -E HOME="$U" -E XDG_DATA_HOME="$U/share" \
	-E XDG_RUNTIME_DIR="$U/run" -E "$TAG" \
	"$SETPRIV" --reuid="$NUID" --regid="$NGID" --clear-groups \
	"$ZWGR" up --data "$U/data" --key-fd 0 --admin-socket "$UADMIN" >>"$W/rootless.log" 2>&1 &
RPID=$!
READY_AS=US READY_ZWG=$ZWGR
check "rootless: a datagram to $PR launches the server as nobody" \
	sa_up "$RPID" "$UADMIN" "$PR" "$W/rootless.log" || finish
READY_AS="" READY_ZWG=""
check_not "rootless: root's CLI does not trust nobody's server (SO_PEERCRED)" \
	timeout 5 "$ZWG" peer list --admin-socket "$UADMIN"
check "rootless: the start-up says rootless mode" log_has "privileges: rootless" "$W/rootless.log"
check "rootless: the log says the UDP port $PR came from socket activation" \
	log_has "UDP port $PR from socket activation" "$W/rootless.log"
check "rootless: the server runs as nobody" \
	status_is "$RPID" Uid "$NUID $NUID $NUID $NUID"
check "rootless: the server process has CapEff 0 and Seccomp 2" \
	sh -c "grep -q '^CapEff:	0000000000000000$' /proc/$RPID/status &&
	       grep -q '^Seccomp:	2$' /proc/$RPID/status"
check "rootless: the server (nobody) holds both activated sockets on privileged port $PR" \
	udp_owned "$PR" "$RPID"
check "rootless: the UDP sockets are in s, the TUN is not (it is in the helper's namespace)" \
	sh -c "! ip netns exec '$SNS' ip link show 'zw${ID}r' 2>/dev/null"
RCONF=$(US "$ZWGR" peer add bob --no-qr --allowed-ips "$TUN_IPS" --admin-socket "$UADMIN" 2>&1 |
	sed -n '/^----- BEGIN CLIENT CONFIG -----$/,/^----- END CLIENT CONFIG -----$/p' | sed '1d;$d')
check "rootless: peer add (as nobody) gives a config with Endpoint $(u4 s):$PR" \
	sh -c "printf '%s\n' '$RCONF' | grep -qx 'Endpoint = $(u4 s):$PR'"
check "rootless: client a comes up with it" client_up a "$RCONF" "$ZWGD" || finish
check "rootless: a pings the server's tunnel address through port $PR" ping_ok a "$SRV4" 15
client_down a
stop_pid "$RPID"
check "rootless: SIGTERM: the server exits 0" sh -c "[ '$STATUS' = 0 ]"
no_tagged() {
	local p
	p=$(tagged)
	[ -z "$p" ] && return 0
	for p in $p; do echo "left over: pid $p $(tr '\0' ' ' <"/proc/$p/cmdline")"; done
	return 1
}
check "rootless: no process of the server's (helper, slirp4netns) is left" wait_for 5 no_tagged
chmod "$TUN_MODE_BEFORE" /dev/net/tun
check "rootless: /dev/net/tun is back to mode $TUN_MODE_BEFORE" \
	sh -c "[ \"\$(stat -c %a /dev/net/tun)\" = '$TUN_MODE_BEFORE' ]"

# ------------------------------------------------------ 3. wrong setups --

# XT CMD...: in s, 10 s at most (a server that wrongly starts is stopped).
XT() { ip netns exec "$SNS" timeout -k 2 10 "$@"; }
# exits_1 WHAT MESSAGE CMD...: exit status 1 (not a signal), MESSAGE said,
# no interface and no admin socket left.
exits_1() {
	local what msg rc
	what=$1 msg=$2; shift 2
	printf '%s\n' "$UNSEAL" | "$@" >"$W/err.out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -qF -- "$msg" "$W/err.out" &&
	   ! X s ip link show "$(sif)" >/dev/null 2>&1 && [ ! -e "$ADMIN" ]; then
		pass "$what"
	else
		fail "$what" "exit status $rc (expected 1), output: $(tail -n 3 "$W/err.out")
expected the message to contain: $msg"
	fi
}
# Nothing is open above fd 2 here, so the server must find fd 3 closed --
# before it opens any descriptor of its own (its signalfd would be fd 3).
UPARGS="--data $W/data --key-fd 0 --interface $(sif) --admin-socket $ADMIN"
exits_1 "LISTEN_FDS=2, LISTEN_PID=self, nothing open: exit 1, names fd 3" "fd 3 is not open" \
	XT sh -c "LISTEN_FDS=2 LISTEN_PID=\$\$ exec $ZWG up $UPARGS"

# sa_fails WHAT MESSAGE PORT SA-ARGS -- UP-ARGS: the server behind
# systemd-socket-activate, launched by datagrams (or connections) to PORT
# on s's loopback, must exit 1 and say MESSAGE.
sa_fails() {
	local what msg port pid n rc
	what=$1 msg=$2 port=$3; shift 3
	printf '%s\n' "$UNSEAL" | ip netns exec "$SNS" "$SA" "$@" >"$W/sa-fail.out" 2>&1 &
	pid=$!
	n=0
	while running "$pid" && [ $n -lt 100 ]; do
		poke "$port"
		X s timeout 1 nc -z -w1 127.0.0.1 "$port" >/dev/null 2>&1
		sleep 0.1
		n=$((n + 1))
	done
	running "$pid" && kill "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	if [ $rc -eq 1 ] && grep -qF -- "$msg" "$W/sa-fail.out" &&
	   ! X s ip link show "$(sif)" >/dev/null 2>&1 && [ ! -e "$ADMIN" ]; then
		pass "$what"
	else
		fail "$what" "exit status $rc (expected 1), output: $(tail -n 4 "$W/sa-fail.out")
expected the message to contain: $msg"
	fi
}
# shellcheck disable=SC2086
sa_fails "--port $Q against the activated port $P: exit 1, says both" \
	"--port $Q, but socket activation passed a UDP socket on port $P" "$P" \
	--datagram -l "0.0.0.0:$P" -E PATH "$ZWG" up $UPARGS --port "$Q"
# shellcheck disable=SC2086
sa_fails "a TCP socket named \"udp\": exit 1, names fd 3 and ListenDatagram=" \
	'fd 3 is a TCP socket named "udp"' "$P" \
	-l "127.0.0.1:$P" --fdname=udp -E PATH "$ZWG" up $UPARGS

# An unnamed TCP socket is the web listener: the server says so, serves
# the API on it and starts on its own UDP port.
rm -f "$W/tcp.log"
# shellcheck disable=SC2086
printf '%s\n' "$UNSEAL" | ip netns exec "$SNS" "$SA" -l "127.0.0.1:$P" -E PATH -E LOG_LEVEL=verbose \
	"$ZWG" up $UPARGS --port "$Q" >>"$W/tcp.log" 2>&1 &
TPID=$!
tcp_up() {
	local n
	n=0
	while [ $n -lt 100 ] && ! ready "$ADMIN"; do
		running "$TPID" || { tail -n 10 "$W/tcp.log"; return 1; }
		X s timeout 1 nc -z -w1 127.0.0.1 "$P" >/dev/null 2>&1
		sleep 0.1
		n=$((n + 1))
	done
	ready "$ADMIN"
}
check "an unnamed TCP socket: the server still starts (its own UDP port $Q)" tcp_up
check "an unnamed TCP socket: the log says it is the web listener" \
	log_has "web API on the TCP socket from socket activation" "$W/tcp.log"
check "an unnamed TCP socket: it serves the web API (401 without credentials)" \
	sh -c "ip netns exec '$SNS' curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	       'http://127.0.0.1:$P/v1/server' | grep -qx 401"
check "an unnamed TCP socket: the server binds UDP $Q itself" udp_owned "$Q" "$TPID"
stop_pid "$TPID"
check "an unnamed TCP socket: SIGTERM, exit 0, its own admin socket removed" \
	sh -c "[ '$STATUS' = 0 ] && [ ! -e '$ADMIN' ]"

finish
