#!/bin/sh
# peer_set_test.sh - `zerowg peer set` (PATCH /v1/peers/NAME) on a running
# server: a connected wg-quick client (zerowgd as its implementation) keeps
# its session - the same latest handshake at the server, counters not
# reset, pings going on - while its routes, keepalive and expiry change;
# a route given with `peer set` reaches a network behind the peer (an
# address on the client namespace's loopback: the server pings it through
# the tunnel) and `--no-routes` takes it away again; an expiry set a few
# seconds ahead disables the peer at that time; a new expiry on the
# expired peer keeps it disabled until `peer enable`, which keeps the new
# expiry.  Bad input is refused naming the field, and nothing changes.
T=peer_set
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need wg wg-quick curl "$ZWG" "$ZWGD"
hosts s a

LAN=192.168.88.0/24
LAN_HOST=192.168.88.1

check "init: a sealed store" srv_init --subnet "$SUBNET4"
check "up: the server starts" srv_start || finish
ULA=$(srv_ula6)
TUN_IPS="$SUBNET4, $ULA"
CONF_A=$(peer_add alice --allowed-ips "$TUN_IPS" --keep-key)
PUB_A=$(conf_pub "$CONF_A")
check "client a (wg-quick + zerowgd) comes up" client_up a "$CONF_A" "$ZWGD" || finish
check "a reaches the server" ping_ok a "$SRV4"
# The network behind alice: an address of it on a's loopback (no dummy
# interface: not every kernel has the module).
X a ip addr add "$LAN_HOST/32" dev lo

route_on() { X s ip route show "$LAN" | grep -q "dev $(sif)"; }
route_off() { [ -z "$(X s ip route show "$LAN")" ]; }
allowed_has() { srv_wg allowed-ips | grep -F "$PUB_A" | grep -qF "$1"; }
# peer_field FIELD VALUE: alice's view (JSON) has "FIELD": VALUE.
peer_field() { zcli peer show alice --json | grep -q "\"$1\": *$2"; }

check_not "before: the network behind alice is not reachable from the server" \
	ping_ok s "$LAN_HOST" 2
HS_A=$(srv_hs "$PUB_A")
RX_A=$(srv_rx "$PUB_A")

# --- routes: added hot, the session stays ---
check "set --route: the CLI succeeds and says so" \
	sh -c "'$ZWG' peer set alice --route $LAN --admin-socket '$ADMIN' | grep -q 'routes: $LAN'"
check "set --route: in alice's allowed IPs on the server" allowed_has "$LAN"
check "set --route: a kernel route through the interface" route_on
check "set --route: the server reaches the network behind alice" ping_ok s "$LAN_HOST"
check "set --route: a still reaches the server" ping_ok a "$SRV4"
check "set --route: alice's session was kept (same handshake)" same_hs "$PUB_A" "$HS_A"
check "set --route: alice's counters were not reset" rx_kept "$PUB_A" "$RX_A"
check "set --route: audited as peer.update by uid 0 via the CLI" \
	audit_has '"event":"peer.update","peer":"alice","actor":"uid 0","via":"cli","ok":true'

# --- keepalive and a far expiry: the session stays ---
check "set --keepalive 7 --expires 1h: the CLI succeeds" \
	zcli peer set alice --keepalive 7 --expires 1h
keepalive_is() { [ "$(srv_wg persistent-keepalive | awk -v k="$PUB_A" '$1 == k { print $2 }')" = "$1" ]; }
check "set --keepalive: the server's end keeps alive every 7 s" keepalive_is 7
check "set --keepalive: the CLI says the client needs its config again" \
	sh -c "'$ZWG' peer set alice --keepalive 8 --admin-socket '$ADMIN' 2>&1 >/dev/null |
	       grep -q 'show-peer alice'"
check "set --keepalive: show-peer has the new keepalive" \
	sh -c "'$ZWG' show-peer alice --admin-socket '$ADMIN' | grep -q '^PersistentKeepalive = 8'"
check "set --expires: peer show has the expiry" sh -c "! zcli peer show alice | grep -q 'expires: never'"
check "set: a still reaches the server and the network behind it" \
	sh -c "ip netns exec '$(H a)' ping -q -n -c 1 -W 2 '$SRV4' && ip netns exec '$(H s)' ping -q -n -c 1 -W 2 '$LAN_HOST'"
check "set: alice's session was kept (same handshake)" same_hs "$PUB_A" "$HS_A"
check "set: alice's counters were not reset" rx_kept "$PUB_A" "$RX_A"

# --- refused: the field is named, nothing changes ---
check_not "set --route over the tunnel subnet: refused" zcli peer set alice --route 10.123.0.0/16
check "refused: the message names the field" \
	sh -c "'$ZWG' peer set alice --route 10.123.0.0/16 --admin-socket '$ADMIN' 2>&1 | grep -q 'routes\[0\]'"
check "refused over HTTP: an unknown field is named" \
	sh -c "curl -sS --max-time 5 -X PATCH --unix-socket '$ADMIN' -d '{\"enabled\":true}' \
	       http://zerowg/v1/peers/alice | grep -q '\"field\": *\"enabled\"'"
check "refused: a DNS with a newline never reaches the config" \
	sh -c "curl -sS --max-time 5 -X PATCH --unix-socket '$ADMIN' \
	       -d '{\"dns\":\"1.1.1.1\\nPostUp = touch /tmp/zwg-pwned\"}' \
	       http://zerowg/v1/peers/alice | grep -q '\"field\": *\"dns\"' &&
	       ! '$ZWG' show-peer alice --admin-socket '$ADMIN' | grep -q PostUp"
check "refused: the route is still there" route_on
check "refused: audited as a failed peer.update" \
	sh -c "grep -F '\"event\":\"peer.update\",\"peer\":\"alice\"' '$W/server.log' | grep -qF '\"ok\":false'"

# --- routes removed: the route goes, the session stays ---
check "set --no-routes: the CLI succeeds" zcli peer set alice --no-routes
check "set --no-routes: the kernel route is gone" route_off
check_not "set --no-routes: gone from alice's allowed IPs" allowed_has "$LAN"
check_not "set --no-routes: the network behind alice is unreachable again" ping_ok s "$LAN_HOST" 2
check "set --no-routes: a still reaches the server" ping_ok a "$SRV4"
check "set --no-routes: alice's session was kept (same handshake)" same_hs "$PUB_A" "$HS_A"

# --- an expiry a few seconds ahead disables alice at that time ---
SET_AT=$(date +%s)
check "set --expires 6s: the CLI succeeds" zcli peer set alice --expires 6s
check "expires 6s: alice is still served before her time" srv_has "$PUB_A"
check "expires 6s: alice's key leaves the data plane when her time passes" \
	wait_for 20 srv_lacks "$PUB_A"
GONE_AT=$(date +%s)
check "expires 6s: not before the time set (5 to 15 s after)" \
	sh -c "echo \$(( $GONE_AT - $SET_AT )) s; [ \$(( $GONE_AT - $SET_AT )) -ge 5 ] && [ \$(( $GONE_AT - $SET_AT )) -le 15 ]"
check "expires 6s: a is cut off" ping_none a "$SRV4"
check "expires 6s: alice is disabled with reason \"expired\"" peer_field disabled_reason '"expired"'
check "expires 6s: audited as peer.expire via expiry" \
	audit_has '"event":"peer.expire","peer":"alice","actor":"expiry","via":"expiry","ok":true'

# --- a new expiry on the expired peer: still off until enabled ---
check "set --expires 2h on the expired peer: the CLI succeeds" zcli peer set alice --expires 2h
check "new expiry: alice stays disabled" peer_field enabled false
check "new expiry: not in the data plane" srv_lacks "$PUB_A"
check "enable: the CLI succeeds" zcli peer enable alice
check "enable: alice is back in the data plane" srv_has "$PUB_A"
check "enable: her new expiry was kept" \
	sh -c "'$ZWG' peer show alice --json --admin-socket '$ADMIN' | grep -q '\"expires\": *[1-9]'"
client_down a
check "enable: a comes up again" client_up a "$CONF_A" "$ZWGD"
check "enable: a reaches the server again" ping_ok a "$SRV4"
srv_stop TERM
finish
