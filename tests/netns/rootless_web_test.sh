#!/bin/sh
# rootless_web_test.sh - the web UI through the tunnel where the server does
# not see the tunnel: started by an ordinary user (rootless: the TUN lives
# in the privileged helper's own user and network namespace) and with
# --netns (the TUN goes into a namespace someone prepared).  The helper
# binds the web's TCP listener on the tunnel's own addresses in the
# tunnel's namespace and hands it over (WEB_OPEN, src/server/priv.h); a
# VPN client then opens http://<tunnel address>:51821/ and gets the UI.
#
# Topology (every address inside namespaces this test made):
#
#   [s] 192.168.77.1 --bridge-- 192.168.77.2 [c]
#   in s, as nobody: zerowg up (UDP :SPORT, web on s's loopback)
#       -> helper [userns+netns: TUN 10.123.0.1, ULA ::1, web :51821]
#   in c, as root: wg-quick + zerowgd-test, the server as its peer
#   later, as root in s: zerowg up --netns /run/netns/<app> (TUN in app)
#
# /dev/net/tun is opened up (0666) for the run under tun_lock and its mode
# restored on every exit path; every process this test starts as nobody
# carries ZWG_RLW=<pid>-... in its environment and is killed by its pid.
T=rootless_web
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need setpriv nsenter ss curl wg wg-quick "$ZWG" "$ZWGD"

IFN="zw${ID}r"		# the rootless server's interface (helper's namespace)
NUID=$(id -u nobody) || { fail "setup: no user nobody"; finish; }
NGID=$(getent group nogroup | cut -d: -f3)
[ -n "$NGID" ] || NGID=$(id -g nobody)
TAG="ZWG_RLW=$ID"
U=$W/u
RL=1			# the CLI runs as nobody while the server does
ADMIN=$U/admin.sock
tun_lock || { fail "setup: cannot take the /dev/net/tun lock"; finish; }
TUN_MODE_BEFORE=$(stat -c %a /dev/net/tun) || { fail "setup: no /dev/net/tun"; finish; }
SPID="" HELPER=""

rlw_cleanup() {
	kill_tagged "^$TAG-"
	chmod "$TUN_MODE_BEFORE" /dev/net/tun
	lib_cleanup
}
trap rlw_cleanup EXIT

SETPRIV=$(command -v setpriv)
# US TAG CMD...: CMD as nobody in netns s, its home in $U, tagged.
US() {
	local t
	t=$1; shift
	ip netns exec "$(H s)" "$SETPRIV" --reuid="$NUID" --regid="$NGID" --clear-groups \
		env HOME="$U" XDG_DATA_HOME="$U/share" XDG_RUNTIME_DIR="$U/run" "$TAG-$t" \
		LOG_LEVEL=verbose "$@"
}
# zcli ARGS...: the CLI against the running server (server_lib's peer_add
# uses it): as nobody for the rootless one, else as root.
zcli() {
	if [ -n "$RL" ]; then
		US cmd "$ZWG" "$@" --admin-socket "$ADMIN"
	else
		"$ZWG" "$@" --admin-socket "$ADMIN"
	fi
}

# ---------------------------------------------------------------- setup --

hosts s c
chmod 711 "$W"
mkdir -p "$U/share" "$U/run" && chown -R "$NUID:$NGID" "$U" && chmod 700 "$U" ||
	{ fail "setup: $U for nobody"; finish; }
if ! US cmd sh -c "[ -x '$ZWG' ] && [ -x '${ZWG%/*}/zerowg-server-test' ]"; then
	# The build directory is not open to nobody: copies it can run.
	mkdir -p "$W/bin" && chmod 755 "$W/bin" &&
	cp "$ZWG" "${ZWG%/*}/zerowg-server-test" "$W/bin/" ||
		{ fail "setup: copying the binaries for nobody"; finish; }
	ZWG=$W/bin/${ZWG##*/}
fi
chmod 666 /dev/net/tun

# rl_init: the rootless server's sealed store, made by nobody.
rl_init() {
	UNSEAL=$(head -c 32 /dev/urandom | base64)
	printf '%s\n' "$UNSEAL" | US cmd "$ZWG" init --data "$U/data" --key-fd 0 \
		--subnet "$SUBNET4" --port "$SPORT" --interface "$IFN" \
		--endpoint "$(u4 s):$SPORT" >"$W/init.out" 2>&1 || { cat "$W/init.out"; return 1; }
}

# rl_start [up options]: `zerowg up` as nobody in s (log $W/server.log, pid
# SPID, its helper HELPER); waits until the CLI answers.
rl_start() {
	local n
	: >"$W/server.log"
	printf '%s\n' "$UNSEAL" | ip netns exec "$(H s)" "$SETPRIV" --reuid="$NUID" \
		--regid="$NGID" --clear-groups env HOME="$U" XDG_DATA_HOME="$U/share" \
		XDG_RUNTIME_DIR="$U/run" "$TAG-srv" LOG_LEVEL=verbose \
		"$ZWG" up --data "$U/data" --key-fd 0 --admin-socket "$ADMIN" "$@" \
		>>"$W/server.log" 2>&1 &
	SPID=$!
	n=0
	while [ $n -lt 150 ]; do
		if [ -S "$ADMIN" ] && zcli peer list >/dev/null 2>&1; then
			HELPER=$(sed -n 's|.*network namespace of its own (/proc/\([0-9]*\)/ns/net).*|\1|p' \
				"$W/server.log" | tail -n 1)
			echo "server pid $SPID, helper pid $HELPER"
			[ -n "$HELPER" ]
			return
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

# stop_server: SIGTERM to SPID, 10 s at most (then KILL).
stop_server() {
	local n
	kill -TERM "$SPID" 2>/dev/null
	n=0
	while running "$SPID" && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	running "$SPID" && kill -9 "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	n=0
	while [ -n "$HELPER" ] && running "$HELPER" && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	return 0
}

# in_tun CMD...: CMD in the rootless tunnel's network namespace (root
# joins it directly).
in_tun() { nsenter -t "$HELPER" -n "$@"; }
# listeners WHERE PORT: "ADDRESS:PORT pid" for each TCP listener on PORT,
# WHERE being "s", "app" or "tun" (the helper's namespace).
listeners() {
	local cmd
	case $1 in
	tun) cmd="in_tun ss -Hltnp" ;;
	*) cmd="X $1 ss -Hltnp" ;;
	esac
	$cmd "sport = :$2" | awk '{ p = $0; sub(/.*pid=/, "", p); sub(/,.*/, "", p); print $4, p }'
}
# held_by WHERE ADDR:PORT PID: that listener exists in WHERE and PID holds it.
held_by() {
	local l
	l=$(listeners "$1" "${2##*:}")
	printf '%s\n' "$l"
	printf '%s\n' "$l" | grep -qxF "$2 $3"
}
# web_page HOST URL: the UI page (200, text/html, the app's title).
web_page() {
	X "$1" curl -sS -i --max-time 5 "$2" | tr -d '\r' >"$W/page.txt"
	head -n 1 "$W/page.txt"
	head -n 1 "$W/page.txt" | grep -q '^HTTP/1.1 200' &&
		grep -qi '^content-type: text/html' "$W/page.txt" &&
		grep -q '<title>zerowg</title>' "$W/page.txt"
}
# api_401 HOST URL: an API route answers 401 without credentials.
api_401() {
	local code
	code=$(X "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$2")
	echo "$2: $code"
	[ "$code" = 401 ]
}
# closed HOST URL: nothing answers there (curl fails: refused or no reply).
closed() { ! X "$1" curl -sS -o /dev/null --max-time 5 "$2"; }
# s_loopback_only: in s, the web listens on 127.0.0.1 and ::1 only.
s_loopback_only() {
	local l
	l=$(X s ss -Hltn 'sport = :51821' | awk '{ print $4 }' | sort | tr '\n' ' ')
	echo "listening on 51821 in s: $l"
	[ "$l" = '127.0.0.1:51821 [::1]:51821 ' ]
}
# none_on WHERE [PORT]: no TCP listener (on PORT, or at all) in s, app or tun.
none_on() {
	local l
	case $1 in
	tun) l=$(in_tun ss -Hltn ${2:+"sport = :$2"}) ;;
	*) l=$(X "$1" ss -Hltn ${2:+"sport = :$2"}) ;;
	esac
	echo "TCP listeners in $1${2:+ on port $2}: '$l'"
	[ -z "$l" ]
}
# tun6: the server's IPv6 tunnel address in the helper's namespace.
tun6() {
	in_tun ip -6 -o addr show dev "$IFN" scope global | awk '{ print $4 }' | head -n 1 |
		sed 's|/.*||'
}

# ------------------------------------------- 1. rootless, the defaults --

check "init (as nobody, in s): a sealed store" rl_init || finish
check "up (as nobody, in s): the server starts, rootless" rl_start || finish
check "start-up: the lines say rootless" grep -q 'privileges: rootless' "$W/server.log"
SRV6=$(tun6)
tun_not_in_s() {
	echo "IPv6 tunnel address: '$SRV6'"
	[ -n "$SRV6" ] && in_tun ip -o -4 addr show dev "$IFN" | grep -q " $SRV4/24 " &&
		! X s ip link show "$IFN" 2>/dev/null
}
check "the TUN is in the helper's namespace (not in s) with $SRV4 and an IPv6 ULA" \
	tun_not_in_s
check "start-up: the web listens on loopback and on the tunnel's addresses in its namespace" \
	grep -qF "web API on 127.0.0.1, [::1], $SRV4 (in the tunnel's namespace), [$SRV6] (in the tunnel's namespace)" \
	"$W/server.log"
check "tunnel namespace: $SRV4:51821 listens, held by the server (pid $SPID)" \
	held_by tun "$SRV4:51821" "$SPID"
check "tunnel namespace: [$SRV6]:51821 listens, held by the server" \
	held_by tun "[$SRV6]:51821" "$SPID"
no_helper_copy() { ! in_tun ss -Hltnp | tee /dev/stderr | grep -q "pid=$HELPER,"; }
check "tunnel namespace: the helper keeps no copy of a listener" no_helper_copy
check "s: the web listens on loopback only (nothing on the tunnel's addresses there)" \
	s_loopback_only
check "s: the UI answers on loopback as before" web_page s "http://127.0.0.1:51821/"

CONF=$(peer_add phone) || { fail "peer add phone (as nobody)"; finish; }
check "client c (wg-quick + zerowgd) comes up" client_up c "$CONF" "$ZWGD" || finish
check "the client pings the server's tunnel address" ping_ok c "$SRV4" 20
check "through the tunnel: http://$SRV4:51821/ gives the UI page" \
	web_page c "http://$SRV4:51821/"
check "through the tunnel: the API asks for credentials (401)" \
	api_401 c "http://$SRV4:51821/v1/server"
check "through the tunnel: http://[$SRV6]:51821/ gives the UI page" \
	web_page c "http://[$SRV6]:51821/"
check "the refusal's audit line names the client's own tunnel address (no NAT between)" \
	grep -qF "GET /v1/server from ${SUBNET4%.0/*}.2, 401" "$W/server.log"

stop_server
check "SIGTERM: the server and its helper are gone" \
	sh -c "! kill -0 $SPID 2>/dev/null && ! kill -0 $HELPER 2>/dev/null"
check "SIGTERM: no listener is left in s" none_on s 51821

# ------------------------------------------------- 2. --web none binds nothing --

check "--web none (rootless): the server starts" rl_start --web none || finish
check "--web none: no web line at start-up" sh -c "! grep -q 'web API on' '$W/server.log'"
check "--web none: no TCP listener at all in the tunnel's namespace" none_on tun
check "--web none: nothing on 51821 in s" none_on s 51821
check "--web none: the client still pings the server (the tunnel works)" ping_ok c "$SRV4" 20
check "--web none: through the tunnel, 51821 is closed" closed c "http://$SRV4:51821/"
stop_server

# ------------------------------ 3. --web on a tunnel address, rootless --

check "--web $SRV4:8080 (rootless): the server starts" rl_start --web "$SRV4:8080" || finish
check "--web $SRV4:8080: bound in the tunnel's namespace, held by the server" \
	held_by tun "$SRV4:8080" "$SPID"
check "--web $SRV4:8080: only that one in the tunnel's namespace, none in s" \
	sh -c "[ \"\$(nsenter -t '$HELPER' -n ss -Hltn | wc -l)\" = 1 ] &&
	       [ -z \"\$(ip netns exec '$(H s)' ss -Hltn 'sport = :51821')\" ]"
check "--web $SRV4:8080: the client pings the server again" ping_ok c "$SRV4" 20
check "--web $SRV4:8080: the UI through the tunnel" web_page c "http://$SRV4:8080/"
check "--web $SRV4:8080: through the tunnel, 51821 is closed" closed c "http://$SRV4:51821/"
stop_server
bad_port() {
	local st
	printf '%s\n' "$UNSEAL" | US srv timeout 20 "$ZWG" up --data "$U/data" --key-fd 0 \
		--admin-socket "$ADMIN" --web "$SRV4:80" >"$W/badport.out" 2>&1
	st=$?
	cat "$W/badport.out"
	echo "exit status $st"
	[ "$st" = 1 ] && grep -q 'port 80' "$W/badport.out" && grep -q '1024\.\.65535' "$W/badport.out"
}
check "--web $SRV4:80 (rootless): exit 1, the port and the range named" bad_port
check "no process of nobody's from this test is left" \
	wait_for 5 sh -c "[ -z \"\$(tagged_pids '^$TAG-srv')\" ]"

# -------------------------------------------- 4. --netns, started as root --

client_down c
RL=""
ADMIN=$W/admin.sock
ns_add app || { fail "setup: ip netns add app"; finish; }
APP=/run/netns/$(H app)
check "init (root): a sealed store" srv_init --subnet "$SUBNET4" || finish
start_in_app() {
	: >"$W/server.log"
	printf '%s\n' "$UNSEAL" | ip netns exec "$(H s)" env LOG_LEVEL=verbose \
		"$ZWG" up --data "$W/data" --key-fd 0 --admin-socket "$ADMIN" \
		--interface "$(sif)" --port "$SPORT" --endpoint "$(u4 s):$SPORT" --no-nat \
		--netns "$APP" >>"$W/server.log" 2>&1 &
	SPID=$!
	HELPER=""
	wait_for 10 sh -c "ip netns exec '$(H app)' ip link show '$(sif)' | grep -q ',UP' &&
			   '$ZWG' peer list --admin-socket '$ADMIN'"
}
check "up --netns (root): the server starts, the TUN in app" start_in_app || finish
check "--netns: the start-up line names the tunnel's address in its namespace" \
	grep -qF "web API on 127.0.0.1, [::1], $SRV4 (in the tunnel's namespace)" "$W/server.log"
check "--netns: $SRV4:51821 listens in app, held by the server (pid $SPID)" \
	held_by app "$SRV4:51821" "$SPID"
check "--netns: s has loopback listeners only" s_loopback_only
CONF=$(peer_add laptop) || { fail "peer add laptop"; finish; }
check "--netns: client c comes up" client_up c "$CONF" "$ZWGD" || finish
check "--netns: the client pings the server's tunnel address" ping_ok c "$SRV4" 20
check "--netns: through the tunnel, http://$SRV4:51821/ gives the UI page" \
	web_page c "http://$SRV4:51821/"
stop_server
check "--netns: SIGTERM, no listener left in app" wait_for 5 none_on app

chmod "$TUN_MODE_BEFORE" /dev/net/tun
check "/dev/net/tun is back to mode $TUN_MODE_BEFORE" \
	sh -c "[ \"\$(stat -c %a /dev/net/tun)\" = '$TUN_MODE_BEFORE' ]"
finish
