#!/bin/sh
# server_test.sh - `zerowg up` end to end: a server namespace and two
# client namespaces running wg-quick with the configs `zerowg peer add`
# rendered, one with our zerowgd-test as its userspace implementation and
# one with Debian's wireguard-go.  The clients reach the server and each
# other (the test turns forwarding on in the server's namespace, as an
# operator would; NAT is server_nat_test.sh).  Then: disable, revoke and
# expiry each cut one client off at once while the other's session stays
# exactly as it was (same latest handshake, counters not reset, pings go on);
# a restart keeps the server's public key and restores its peers; the
# server cleans up after SIGTERM.
T=server
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need wg wg-quick wireguard-go curl "$ZWG" "$ZWGD"
hosts s a b
X s sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

check "init: a sealed store is created" srv_init --subnet "$SUBNET4"
check "up: the server starts and answers on its admin socket" srv_start || finish
PUB_S=$(srv_wg public-key)
check "up: wg(8) reads the server's interface over the UAPI socket" \
	sh -c "[ -n '$PUB_S' ] && [ \"\$(ip netns exec '$(H s)' wg show '$(sif)' listen-port)\" = $SPORT ]"
check "up: admin socket is mode 0660" sh -c "[ \"\$(stat -c %a '$ADMIN')\" = 660 ]"
check "up: the interface has the server's address and MTU 1420" \
	sh -c "ip netns exec '$(H s)' ip -o addr show dev '$(sif)' | grep -q ' $SRV4/24 ' &&
	       ip netns exec '$(H s)' ip link show '$(sif)' | grep -q 'mtu 1420'"
ULA=$(srv_ula6)
ADDR6=$(srv_addr6)
check "up: the interface has an IPv6 address in a ULA /64 (fd00::/8)" \
	sh -c "case '$ULA' in fd*::/64) exit 0 ;; esac; exit 1"
# The server's data plane is zerowgd's fast path, not a plain TUN.
check "up: the data plane has the TUN and UDP offloads on and crypto threads" \
	sh -c "grep -q 'Offloads: TUN vnet on, TSO on, USO on, UDP GSO on, UDP GRO on' '$W/server.log' &&
	       grep -q 'Crypto on [0-9]* thread' '$W/server.log'"

# Client configs route only the tunnel (the namespaces have no internet).
TUN_IPS="$SUBNET4, $ULA"
CONF_A=$(peer_add alice --allowed-ips "$TUN_IPS")
CONF_B=$(peer_add bob --allowed-ips "$TUN_IPS")
PUB_A=$(conf_pub "$CONF_A")
PUB_B=$(conf_pub "$CONF_B")
check "peer add: client configs with distinct keys, addresses .2 and .3" \
	sh -c "[ -n '$PUB_A' ] && [ -n '$PUB_B' ] && [ '$PUB_A' != '$PUB_B' ] &&
	       printf '%s\n' '$CONF_A' | grep -q '^Address = ${SUBNET4%.0/*}.2/32' &&
	       printf '%s\n' '$CONF_B' | grep -q '^Address = ${SUBNET4%.0/*}.3/32'"
check "peer add: the config names the server's key and endpoint" \
	sh -c "[ \"\$(printf '%s\n' '$CONF_A' | sed -n 's/^PublicKey *= *//p')\" = '$PUB_S' ] &&
	       printf '%s\n' '$CONF_A' | grep -q '^Endpoint = $(u4 s):$SPORT'"
check "peer add: both peers are on the server's data plane at once" \
	sh -c "ip netns exec '$(H s)' wg show '$(sif)' peers | grep -qxF '$PUB_A' &&
	       ip netns exec '$(H s)' wg show '$(sif)' peers | grep -qxF '$PUB_B'"

check "client a (wg-quick + zerowgd) comes up" client_up a "$CONF_A" "$ZWGD" || finish
check "client b (wg-quick + wireguard-go) comes up" client_up b "$CONF_B" wireguard-go || finish
A4=${SUBNET4%.0/*}.2
B4=${SUBNET4%.0/*}.3
check "a reaches the server (IPv4)" ping_ok a "$SRV4"
check "b reaches the server (IPv4)" ping_ok b "$SRV4"
check "a reaches the server (IPv6)" ping_ok a "$ADDR6"
check "a and b reach each other through the server" ping_ok a "$B4"
check "b reaches a" ping_ok b "$A4"
# Bulk data through the offloads: TSO super-packets from a's TCP to the
# server, merged writes into b's side (wireguard-go), both ways.
mkdata bulk 4
check "TCP 4 MB a -> b through the server, sha256 matches" tcp_xfer a b "$B4" bulk
check "TCP 4 MB b -> a through the server, sha256 matches" tcp_xfer b a "$A4" bulk
check "peer list: alice is online with her endpoint" \
	sh -c "'$ZWG' peer show alice --json --admin-socket '$ADMIN' | grep -q '\"online\": *true' &&
	       '$ZWG' peer show alice --json --admin-socket '$ADMIN' | grep -q '$(u4 a):'"

# --- site to site: a peer's subnet is routed to the tunnel ---
peer_add site --route 192.168.33.0/24 --allowed-ips "$TUN_IPS" >/dev/null
check "route: a peer's --route subnet gets a kernel route through the interface" \
	sh -c "ip netns exec '$(H s)' ip route show 192.168.33.0/24 | grep -q 'dev $(sif)'"
check "route: and is in that peer's allowed IPs on the server" \
	sh -c "ip netns exec '$(H s)' wg show '$(sif)' allowed-ips | grep -q '192.168.33.0/24'"
peer_add site2 --route 192.168.34.0/24 --route 192.168.35.0/24 --allowed-ips "$TUN_IPS" \
	>/dev/null
route_on() { ip netns exec "$(H s)" ip route show "$1" | grep -q "dev $(sif)"; }
route_off() { [ -z "$(ip netns exec "$(H s)" ip route show "$1")" ]; }
routes_on() { local p; for p; do route_on "$p" || return 1; done; }
routes_off() { local p; for p; do route_off "$p" || return 1; done; }
check "route: a second site's routes are added, the first site's stays" \
	routes_on 192.168.34.0/24 192.168.35.0/24 192.168.33.0/24
# A route deleted behind the server's back comes back with the next whole
# apply (SIGHUP reloads the store and compares everything).
ip netns exec "$(H s)" ip route del 192.168.34.0/24 dev "$(sif)" 2>/dev/null
kill -HUP "$(srv_pid)"
check "route: a route deleted behind the server's back is back after SIGHUP" \
	wait_for 5 route_on 192.168.34.0/24
zcli peer revoke site >/dev/null
check "route: revoking the peer removes its route" route_off 192.168.33.0/24
check "route: and only its route: the other site's stay" \
	routes_on 192.168.34.0/24 192.168.35.0/24
zcli peer revoke site2 >/dev/null
check "route: revoking the second site removes its routes" \
	routes_off 192.168.34.0/24 192.168.35.0/24

# --- disable: bob is cut off, alice's session is untouched ---
HS_A=$(srv_hs "$PUB_A")
RX_A=$(srv_rx "$PUB_A")
check "disable bob: the CLI succeeds" zcli peer disable bob
check "disable bob: his key is gone from the server's data plane" srv_lacks "$PUB_B"
check "disable bob: b cannot reach the server any more" ping_none b "$SRV4"
check "disable bob: a still reaches the server" ping_ok a "$SRV4"
check "disable bob: alice's session was not touched (same handshake)" same_hs "$PUB_A" "$HS_A"
check "disable bob: alice's counters were not reset" rx_kept "$PUB_A" "$RX_A"
check "disable bob: audited, by uid 0 via the CLI" \
	audit_has '"event":"peer.disable","peer":"bob","actor":"uid 0","via":"cli","ok":true'
check "peer show: bob is disabled (manual)" \
	sh -c "'$ZWG' peer show bob --json --admin-socket '$ADMIN' | grep -q '\"disabled_reason\": *\"manual\"'"

check "enable bob: the CLI succeeds" zcli peer enable bob
check "enable bob: his key is back" srv_has "$PUB_B"
# The server forgot bob's session; a fresh client start handshakes at once.
client_down b
check "enable bob: b comes up again" client_up b "$CONF_B" wireguard-go
check "enable bob: b reaches the server again" ping_ok b "$SRV4"

# --- revoke ---
HS_A=$(srv_hs "$PUB_A")
RX_A=$(srv_rx "$PUB_A")
check "revoke bob: the CLI succeeds" zcli peer revoke bob
check "revoke bob: his key is gone from the server's data plane" srv_lacks "$PUB_B"
check "revoke bob: b cannot reach the server any more" ping_none b "$SRV4"
check "revoke bob: a still reaches the server" ping_ok a "$SRV4"
check "revoke bob: alice's session was not touched (same handshake)" same_hs "$PUB_A" "$HS_A"
check "revoke bob: alice's counters were not reset" rx_kept "$PUB_A" "$RX_A"
check_not "revoke bob: the peer record is gone" zcli peer show bob

# --- expiry: carol expires a few seconds after she is added ---
client_down b
CONF_C=$(peer_add carol --allowed-ips "$TUN_IPS" --expires 8s)
PUB_C=$(conf_pub "$CONF_C")
check "expiry: carol reuses bob's freed address .3" \
	sh -c "printf '%s\n' '$CONF_C' | grep -q '^Address = $B4/32'"
check "expiry: carol comes up on b (wireguard-go)" client_up b "$CONF_C" wireguard-go
check "expiry: carol reaches the server before her expiry" ping_ok b "$SRV4" 5
HS_A=$(srv_hs "$PUB_A")
RX_A=$(srv_rx "$PUB_A")
check "expiry: carol's key leaves the data plane when her time passes" \
	wait_for 20 srv_lacks "$PUB_C"
check "expiry: b (carol) is cut off" ping_none b "$SRV4"
check "expiry: a still reaches the server" ping_ok a "$SRV4"
check "expiry: alice's session was not touched (same handshake)" same_hs "$PUB_A" "$HS_A"
check "expiry: alice's counters were not reset" rx_kept "$PUB_A" "$RX_A"
check "expiry: carol is disabled with reason \"expired\"" \
	sh -c "'$ZWG' peer show carol --json --admin-socket '$ADMIN' | grep -q '\"disabled_reason\": *\"expired\"'"
check "expiry: audited, via expiry" audit_has '"event":"peer.expire","peer":"carol","actor":"expiry","via":"expiry","ok":true'

# --- restart: same identity, same peers ---
srv_stop TERM
check "SIGTERM: the server exits 0" sh -c "[ \"\$(cat '$W/server.status')\" = 0 ]"
check "SIGTERM: the interface, its UAPI socket and the admin socket are gone" \
	sh -c "! ip netns exec '$(H s)' ip link show '$(sif)' 2>/dev/null &&
	       [ ! -e '/var/run/wireguard/$(sif).sock' ] && [ ! -e '$ADMIN' ]"
SRV_ENV="PEERS=phone2,tablet LOG_CONFS=true"
check "restart: the server starts again (with PEERS=phone2,tablet)" srv_start || finish
SRV_ENV=""
check "PEERS: the missing peers are created and on the data plane" \
	sh -c "[ \$(ip netns exec '$(H s)' wg show '$(sif)' peers | wc -l) = 3 ] &&
	       '$ZWG' peer show phone2 --admin-socket '$ADMIN' >/dev/null &&
	       '$ZWG' peer show tablet --admin-socket '$ADMIN' >/dev/null"
# stdout is a log file here: configs hold private keys, so they are not
# printed (they would land on disk), and show-peer gives them instead.
check "LOG_CONFS: no client config (private key) goes to a non-terminal log" \
	sh -c "! grep -q 'BEGIN CLIENT CONFIG' '$W/server.log' && ! grep -q 'PrivateKey' '$W/server.log' &&
	       grep -q 'LOG_CONFS: not printing client configs' '$W/server.log'"
check "LOG_CONFS: show-peer prints the kept config of a PEERS peer" \
	sh -c "'$ZWG' show-peer phone2 --admin-socket '$ADMIN' | grep -q 'PrivateKey'"
check "PEERS: created with the key kept, audited as via env" \
	audit_has '"event":"peer.add","peer":"phone2","actor":"env","via":"env","ok":true'

check "restart: same public key" sh -c "[ \"\$(ip netns exec '$(H s)' wg show '$(sif)' public-key)\" = '$PUB_S' ]"
check "restart: alice is restored with her addresses, carol (expired) is not" \
	sh -c "ip netns exec '$(H s)' wg show '$(sif)' allowed-ips | grep -F '$PUB_A' | grep -q '$A4/32' &&
	       ! ip netns exec '$(H s)' wg show '$(sif)' peers | grep -qxF '$PUB_C'"
check "restart: a's unchanged client gets through again by itself" ping_ok a "$SRV4" 30
check "restart: SIGHUP reloads without harm" sh -c "kill -HUP $(srv_pid) && sleep 0.5 && kill -0 $(srv_pid)"
check "restart: a still reaches the server after the reload" ping_ok a "$SRV4"
check "stats: GET /v1/stats has samples of alice's traffic (one every 10 s)" \
	wait_for 15 sh -c "curl -sS --max-time 5 --unix-socket '$ADMIN' http://zerowg/v1/stats |
	                  grep -q '\"alice\": *\[{\"t\"'"
check "api: GET /v1/server has no private key" \
	sh -c "curl -sS --unix-socket '$ADMIN' http://zerowg/v1/server | grep -q '\"public_key\"' &&
	       ! curl -sS --unix-socket '$ADMIN' http://zerowg/v1/server | grep -q private_key"
check "api: a bad field is named in the error" \
	sh -c "curl -sS --unix-socket '$ADMIN' -d '{\"name\":\"x\",\"routes\":[\"10.0.0.0/33\"]}' \
	       http://zerowg/v1/peers | grep -q '\"field\": *\"routes'"
srv_stop TERM

# --- fail closed ---
check "fail closed: a missing store: exit 1, says so, nothing created" \
	up_fails "no store" --data "$W/nostore"
BAD_KEY=$(head -c 32 /dev/urandom | base64)
check "fail closed: a wrong unseal key: exit 1, says so, nothing created" \
	up_fails "wrong unseal key" --data "$W/data"
BAD_KEY=""
# Flip one byte in the middle of every record but meta (the key check).
for f in "$W"/data/*; do
	[ "${f##*/}" = meta ] && continue
	[ -f "$f" ] || continue
	sz=$(stat -c %s "$f")
	b=$(od -An -tu1 -j $((sz / 2)) -N 1 "$f" | tr -d ' ')
	printf "$(printf '\\%03o' $(((b + 1) % 256)))" |
		dd of="$f" bs=1 seek=$((sz / 2)) conv=notrunc status=none
done
check "fail closed: a tampered record: exit 1, the file is named" \
	up_fails "$W/data/" --data "$W/data"
finish
