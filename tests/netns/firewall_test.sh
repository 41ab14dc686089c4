#!/bin/sh
# firewall_test.sh - the per-client firewall (`zerowg peer firewall`, PUT
# /v1/peers/NAME/firewall): enforced by the server's privileged part with
# an nftables table of its own, inet zerowg_fw_<interface>.
#
# Server s with NAT; behind it a target namespace "inet" with two
# addresses (198.18.0.2, 198.18.0.3) and TCP listeners on ports 5001 and
# 5002 of each.  Client c (peer "lim") gets restricted to 198.18.0.2 (all
# of it) and 198.18.0.3:5001/tcp; client d (peer "free") stays
# unrestricted throughout.  What is checked: the allowed destinations
# work, the others fail at once (TCP reset, ping refused), the server's
# own DNS port and ping stay open, a ping to the server running across
# every change loses nothing and the data plane's entry of the peer is
# not touched (its counters only grow), clearing the firewall opens
# everything and removes the table, bad rules are refused with the rule quoted, and the table goes
# away when the server stops (SIGTERM, and kill -9: the helper cleans up).
T=firewall
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need wg wg-quick nft nc "$ZWG" "$ZWGD"
hosts s c d
ns_add inet || { fail "setup: ip netns add inet"; finish; }
X s ip link add eth1 type veth peer name eth0 netns "$(H inet)"
X s ip link set eth1 up
X inet ip link set eth0 up
X inet ip link set lo up
X s ip addr add 198.18.0.1/24 dev eth1
X inet ip addr add 198.18.0.2/24 dev eth0
X inet ip addr add 198.18.0.3/24 dev eth0
X s ip route add default via 198.18.0.2 dev eth1
TABLE="zerowg_fw_$(sif)"

# Listeners in the target namespace (killed with it by lib.sh's cleanup).
for a in 198.18.0.2 198.18.0.3; do
	for p in 5001 5002; do
		ip netns exec "$(H inet)" sh -c "while :; do nc -l -n $a $p >/dev/null 2>&1 </dev/null || sleep 0.2; done" &
	done
done
wait_listen inet 5001 && wait_listen inet 5002 || { fail "setup: listeners"; finish; }

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
		tcp_ok "$1" 198.18.0.2 5002 && tcp_ok "$1" 198.18.0.3 5002
}

check "init: a sealed store is created" srv_init --subnet "$SUBNET4"
check "up --nat: the server starts" srv_start --nat || finish
check "no restricted peer: no firewall table" table_absent
CONF_C=$(peer_add lim --allowed-ips "$SUBNET4, 198.18.0.0/24")
CONF_D=$(peer_add free --allowed-ips "$SUBNET4, 198.18.0.0/24")
check "client c (peer lim) comes up" client_up c "$CONF_C" "$ZWGD" || finish
check "client d (peer free) comes up" client_up d "$CONF_D" "$ZWGD" || finish
PUB_C=$(conf_pub "$CONF_C")
check "before: c reaches both targets, both ports" reaches_all c
check "before: d reaches both targets, both ports" reaches_all d
check "before: c has a session with the server" ping_ok c "$SRV4" 5
RX_C=$(srv_rx "$PUB_C")

# A ping from c to the server runs across every change below (stopped
# with SIGINT after the last; 1500 at 0.2 s is a 5-minute bound).
X c ping -q -n -i 0.2 -c 1500 -W 1 "$SRV4" >"$W/ping_across.out" 2>&1 &
PING_PID=$!
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
check "peer firewall lim: restricted to 198.18.0.2 and 198.18.0.3:5001/tcp" \
	sh -c "'$ZWG' peer firewall lim --allow 198.18.0.2 --allow 198.18.0.3:5001/tcp \
	       --admin-socket '$ADMIN' | tee /dev/stderr | grep -q 'may reach only 198.18.0.2, 198.18.0.3:5001/tcp'"
check "the table is there, one chain per restricted peer" \
	sh -c "ip netns exec '$(H s)' nft list table inet '$TABLE' | tee /dev/stderr | grep -q 'chain peer0'"
check "peer show tells the firewall" \
	sh -c "'$ZWG' peer show lim --admin-socket '$ADMIN' | grep -q 'firewall: it may reach only 198.18.0.2, 198.18.0.3:5001/tcp'"
check "restricted: c pings 198.18.0.2 (allowed host)" ping_ok c 198.18.0.2 5
check "restricted: c connects to 198.18.0.2:5002 (allowed host, any port)" tcp_ok c 198.18.0.2 5002
check "restricted: c connects to 198.18.0.3:5001 (allowed port)" tcp_ok c 198.18.0.3 5001
check "restricted: c is refused at once on 198.18.0.3:5002" tcp_refused c 198.18.0.3 5002
check "restricted: c's ping to 198.18.0.3 fails" ping_none c 198.18.0.3 3
check "restricted: c still pings the server (DNS and ping stay open)" ping_ok c "$SRV4" 5
check "restricted: c's DNS to the server is not refused by the firewall" \
	sh -c "! ip netns exec '$(H s)' nft list table inet '$TABLE' >/dev/null ||
	       ip netns exec '$(H s)' nft list chain inet '$TABLE' input | grep -q 'udp dport 53 accept'"
check "restricted: d (unrestricted) still reaches everything" reaches_all d

# Narrow it further, to nothing: only the server stays.
check "peer firewall over the API: {\"allow\":[]} restricts to nothing" \
	sh -c "curl -sf --unix-socket '$ADMIN' -X PUT -d '{\"allow\":[]}' \
	       http://zerowg/v1/peers/lim/firewall | grep -q '\"allow\": *\\[\\]'"
check "allow []: c's ping to 198.18.0.2 fails" ping_none c 198.18.0.2 3
check "allow []: c is refused on 198.18.0.2:5002" tcp_refused c 198.18.0.2 5002
check "allow []: d still reaches everything" reaches_all d

check "peer firewall lim --clear: unrestricted again" \
	sh -c "'$ZWG' peer firewall lim --clear --admin-socket '$ADMIN' | grep -q 'may reach everything again'"
check "cleared: no restricted peer, no table" table_absent
check "cleared: c reaches both targets, both ports" reaches_all c
check "cleared: d reaches both targets, both ports" reaches_all d

kill -INT "$PING_PID" 2>/dev/null	# ping prints its summary
wait "$PING_PID"
check "across the changes: the ping to the server lost nothing" \
	sh -c "cat '$W/ping_across.out'; grep -q ' 0% packet loss' '$W/ping_across.out'"
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
helper=$(pgrep -P "$(srv_pid)" | head -n 1)
srv_stop KILL
check "kill -9 of the server: its privileged helper removes the table" wait_for 5 table_absent
check "kill -9 of the server: the helper exits too" \
	wait_for 5 sh -c "! kill -0 '$helper' 2>/dev/null"
finish
