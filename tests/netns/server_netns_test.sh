#!/bin/sh
# server_netns_test.sh - `zerowg up --netns PATH`: the tunnel interface goes
# into a network namespace someone prepared (here `ip netns add app`, as
# podman's --network ns:/run/netns/app or a unit's NetworkNamespacePath=
# would join), while the server and its UDP socket stay in host s.  The
# namespace then holds lo and the tunnel only: an application in it can
# reach the VPN's clients and nothing else.
T=server_netns
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need wg wg-quick ss "$ZWG" "$ZWGD"
hosts s c
ns_add app || { fail "setup: ip netns add app"; finish; }
APP=/run/netns/$(H app)
mkdata payload 1

check "init: a sealed store is created" srv_init --subnet "$SUBNET4" || finish

# srv_start waits for the interface in host s; here it is in app.
start_in_app() {
	printf '%s\n' "$UNSEAL" | ip netns exec "$(H s)" env LOG_LEVEL=verbose \
		"$ZWG" up --data "$W/data" --key-fd 0 --admin-socket "$ADMIN" \
		--interface "$(sif)" --port "$SPORT" --endpoint "$(u4 s):$SPORT" --no-nat \
		--netns "$APP" "$@" >>"$W/server.log" 2>&1 &
	echo $! >"$W/server.pid"
	wait_for 10 sh -c "ip netns exec '$(H app)' ip link show '$(sif)' | grep -q ',UP' &&
			   '$ZWG' peer list --admin-socket '$ADMIN'"
}
check "up --netns: the server starts" start_in_app || finish
check "up --netns: its start-up line names the namespace" \
	grep -q "the tunnel interface goes into the network namespace $APP" "$W/server.log"
check "the interface is in app, with the server's address" \
	sh -c "ip netns exec '$(H app)' ip -br addr show '$(sif)' | grep -q '$SRV4/24'"
check_not "the interface is not in host s" X s ip link show "$(sif)"
check "app holds lo and the tunnel interface only" \
	sh -c "[ \"\$(ip netns exec '$(H app)' ip -o link show | awk -F': ' '{print \$2}' | sort | tr '\n' ' ')\" = \"lo $(sif) \" ]"
check "the UDP socket stays in host s, held by the server" \
	sh -c "ip netns exec '$(H s)' ss -uanp | grep ':$SPORT ' | grep -q 'pid=$(srv_pid),'"
check "the server runs without capabilities" \
	sh -c "grep -q '^CapEff:[[:space:]]*0000000000000000' /proc/$(srv_pid)/status"

conf=$(peer_add phone) || { fail "peer add phone"; finish; }
check "client c (wg-quick + zerowgd) comes up" client_up c "$conf" "$ZWGD" || finish
check "the client pings the server's tunnel address (answered in app)" ping_ok c "$SRV4" 20
check "an application in app reaches the client through the tunnel" \
	X app ping -q -n -c 1 -W 2 "${SUBNET4%.0/*}.2"
check "20 MB TCP from the client to an application in app, sha256 matches" \
	tcp_xfer c app "$SRV4" payload
check_not "app has no route anywhere else (host s's underlay is unreachable)" \
	X app ping -q -n -c 1 -W 1 "$(u4 s)"

srv_stop TERM
check "SIGTERM: the server exits 0" sh -c "[ \"\$(cat '$W/server.status')\" = 0 ]"
check "SIGTERM: the interface is gone from app" \
	wait_for 5 sh -c "! ip netns exec '$(H app)' ip link show '$(sif)'"
check "SIGTERM: app itself is still there (it is not ours)" test -e "$APP"

# Bad input: a namespace that does not exist, or is not one.
bad_netns() {
	printf '%s\n' "$UNSEAL" | ip netns exec "$(H s)" "$ZWG" up --data "$W/data" --key-fd 0 \
		--admin-socket "$W/bad.sock" --interface "$(sif)" --port "$SPORT" --netns "$1" \
		>"$W/bad.out" 2>&1
	st=$?
	cat "$W/bad.out"
	[ "$st" = 1 ] && grep -q -- "--netns $1" "$W/bad.out"
}
check "--netns to a missing path: exit 1, the path named" bad_netns /run/netns/zwg-no-such-ns
check "--netns to a file that is no namespace: exit 1, the path named" bad_netns /etc/hostname
check "after the bad starts the store still opens (nothing lost)" \
	sh -c "printf '%s\n' '$UNSEAL' | '$ZWG' export --data '$W/data' --key-fd 0 | grep -q PrivateKey"
finish
