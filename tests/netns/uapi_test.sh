#!/bin/sh
# uapi_test.sh - the configuration interface, driven by the real wg tool,
# and robustness of the two things anyone can talk to (the UAPI socket and
# the UDP port).
#   1. wg setconf / showconf / set / addconf / syncconf on IMPL_A: showconf
#      reads back exactly what was set (keys included; compared after
#      sorting, since peer and allowed-IP order is the daemon's choice).
#   2. wg syncconf adding and removing peers on a live tunnel leaves the
#      unchanged peer's session alone: same latest-handshake, counters not
#      reset, traffic flows without a new handshake.
#   3. wg set ... remove stops traffic to that peer.
#   4. malformed UAPI requests get errno=<non-zero>; the daemon keeps serving.
#   5. garbage, truncated, oversized and well-formed-looking datagrams at the
#      listen port are dropped; daemon and tunnel carry on.
T=uapi
. "${0%/*}/lib.sh"

hosts a b
A=$(ifn a) B=$(ifn b)
SOCK=/var/run/wireguard/$A.sock
keygen a; keygen b
for p in p1 p2 p3 p4 p5; do keygen $p; done
pskgen k1

# norm FILE: a config as sorted "section|key|value" lines.  The section of
# a peer is its public key; AllowedIPs is split into one line per prefix.
norm() {
	awk '
	function flush(   i) {
		for (i = 1; i <= n; i++) print sect "|" lines[i]
		n = 0
	}
	/^[[:space:]]*(#|$)/ { next }
	/^\[Interface\]/ { flush(); sect = "Interface"; next }
	/^\[Peer\]/ { flush(); sect = "?"; next }
	{
		line = $0
		k = line; sub(/[[:space:]]*=.*/, "", k)
		v = line; sub(/^[^=]*=[[:space:]]*/, "", v); sub(/[[:space:]]+$/, "", v)
		if (k == "PublicKey") { sect = v; next }
		if (k == "AllowedIPs") {
			m = split(v, parts, /[[:space:]]*,[[:space:]]*/)
			for (j = 1; j <= m; j++) lines[++n] = k "|" parts[j]
			next
		}
		lines[++n] = k "|" v
	}
	END { flush() }' "$1" | sort
}

# conf_is FILE: `wg showconf` on a matches FILE.
conf_is() {
	wgc a showconf "$A" >"$W/shown.conf" || return 1
	norm "$1" >"$W/want.norm"
	norm "$W/shown.conf" >"$W/got.norm"
	if ! cmp -s "$W/want.norm" "$W/got.norm"; then
		echo "differences (- expected, + wg showconf):"
		diff "$W/want.norm" "$W/got.norm" | grep '^[<>]' | sed 's/^</-/; s/^>/+/'
		return 1
	fi
}

k() { cat "$W/$1.key"; }
p() { cat "$W/$1.pub"; }

# --------------------------------------------------- 1. the config verbs --
check "start $(impl_name "$IMPL_A") on a" wg_start a "$A" "$IMPL_A" || finish

cat >"$W/c1.conf" <<EOF
[Interface]
ListenPort = 51901
FwMark = 0x1234
PrivateKey = $(k a)

[Peer]
PublicKey = $(p p1)
PresharedKey = $(cat "$W/k1.psk")
AllowedIPs = 10.1.0.0/16, fd01::/64, 10.2.3.4/32
Endpoint = 192.168.77.50:1234
PersistentKeepalive = 25

[Peer]
PublicKey = $(p p2)
AllowedIPs = 10.3.0.0/24
Endpoint = [fd00:77::50]:4321
EOF
check "wg setconf accepts a config with two peers" wgc a setconf "$A" "$W/c1.conf"
check "wg showconf returns it: keys, PSK, port, fwmark, allowed IPs, endpoints, keepalive" conf_is "$W/c1.conf"
check "wg show public-key is derived from the private key" \
	sh -c "[ \"\$(ip netns exec $(H a) wg show $A public-key)\" = '$(p a)' ]"
check "wg show private-key returns it" sh -c "[ \"\$(ip netns exec $(H a) wg show $A private-key)\" = '$(k a)' ]"
check "wg show listen-port is 51901" sh -c "[ \"\$(ip netns exec $(H a) wg show $A listen-port)\" = 51901 ]"
check "wg show fwmark is 0x1234" sh -c "[ \"\$(ip netns exec $(H a) wg show $A fwmark)\" = 0x1234 ]"
check "wg show peers lists both" sh -c "[ \"\$(ip netns exec $(H a) wg show $A peers | sort)\" = \"\$(printf '%s\n' '$(p p1)' '$(p p2)' | sort)\" ]"
check "wg show (no interface argument) lists the interface" sh -c "ip netns exec $(H a) wg show | grep -q 'interface: $A'"
check "wg show private key is printed as (hidden)" sh -c "ip netns exec $(H a) wg show $A | grep -q 'private key: (hidden)'"

check "wg set: new peer p3, p1 removed, listen port and fwmark changed" \
	wgc a set "$A" listen-port 51902 fwmark 0 peer "$(p p3)" allowed-ips 10.4.0.0/16 persistent-keepalive 5 \
		peer "$(p p1)" remove
cat >"$W/c2.conf" <<EOF
[Interface]
ListenPort = 51902
PrivateKey = $(k a)

[Peer]
PublicKey = $(p p2)
AllowedIPs = 10.3.0.0/24
Endpoint = [fd00:77::50]:4321

[Peer]
PublicKey = $(p p3)
AllowedIPs = 10.4.0.0/16
PersistentKeepalive = 5
EOF
check "wg showconf after wg set matches" conf_is "$W/c2.conf"

# addconf leaves other peers alone, but a config file's AllowedIPs line
# replaces that peer's list (the wg tool sends replace_allowed_ips).
cat >"$W/add.conf" <<EOF
[Peer]
PublicKey = $(p p4)
AllowedIPs = 10.5.0.0/24, fd05::/48
Endpoint = 192.168.77.60:60

[Peer]
PublicKey = $(p p2)
AllowedIPs = 10.3.1.0/24
EOF
check "wg addconf adds p4 and replaces p2's allowed IPs" wgc a addconf "$A" "$W/add.conf"
cat >"$W/c3.conf" <<EOF
[Interface]
ListenPort = 51902
PrivateKey = $(k a)

[Peer]
PublicKey = $(p p2)
AllowedIPs = 10.3.1.0/24
Endpoint = [fd00:77::50]:4321

[Peer]
PublicKey = $(p p3)
AllowedIPs = 10.4.0.0/16
PersistentKeepalive = 5

[Peer]
PublicKey = $(p p4)
AllowedIPs = 10.5.0.0/24, fd05::/48
Endpoint = 192.168.77.60:60
EOF
check "wg showconf after wg addconf matches" conf_is "$W/c3.conf"

check "wg set allowed-ips replaces p2's list; an IP moves from p4 to p2" \
	wgc a set "$A" peer "$(p p2)" allowed-ips 10.6.0.0/24,10.5.0.0/24
cat >"$W/c4.conf" <<EOF
[Interface]
ListenPort = 51902
PrivateKey = $(k a)

[Peer]
PublicKey = $(p p2)
AllowedIPs = 10.6.0.0/24, 10.5.0.0/24
Endpoint = [fd00:77::50]:4321

[Peer]
PublicKey = $(p p3)
AllowedIPs = 10.4.0.0/16
PersistentKeepalive = 5

[Peer]
PublicKey = $(p p4)
AllowedIPs = fd05::/48
Endpoint = 192.168.77.60:60
EOF
check "wg showconf after the replace matches (10.5.0.0/24 left p4)" conf_is "$W/c4.conf"

cat >"$W/c5.conf" <<EOF
[Interface]
ListenPort = 51903
PrivateKey = $(k a)

[Peer]
PublicKey = $(p p2)
PresharedKey = $(cat "$W/k1.psk")
AllowedIPs = 10.6.0.0/24
Endpoint = [fd00:77::50]:4321

[Peer]
PublicKey = $(p p5)
AllowedIPs = 10.7.0.0/24
EOF
check "wg syncconf: p3 and p4 go, p5 comes, p2 changes" wgc a syncconf "$A" "$W/c5.conf"
check "wg showconf after wg syncconf matches" conf_is "$W/c5.conf"
check "wg setconf replaces everything again" wgc a setconf "$A" "$W/c1.conf"
check "wg showconf after the second setconf matches the first config" conf_is "$W/c1.conf"
check "wg setconf with an empty config: no peers, no key" sh -c "printf '[Interface]\n' >'$W/empty.conf' && ip netns exec $(H a) wg setconf $A '$W/empty.conf' && [ -z \"\$(ip netns exec $(H a) wg show $A peers)\" ]"
wg_stop "$A"

# ------------------------------------- 2. syncconf keeps a live session --
check "start a live tunnel a ($(impl_name "$IMPL_A")) <-> b ($(impl_name "$IMPL_B"))" wg_pair a b 4 || finish
check "ping a -> b" ping_ok a "$(t4 b)"
check "ping b -> a" ping_ok b "$(t4 a)"
wgc a set "$A" peer "$(p p1)" allowed-ips 10.1.0.0/16
sleep 1.2	# a new handshake now would show a different second
h0=$(hs a b) hb0=$(hs b a) r0=$(rx a b) t0=$(tx a b)
wgc a showconf "$A" | awk -v gone="$(p p1)" '
	/^\[Peer\]/ { if (blk != "" && !skip) printf "%s", blk; blk = ""; skip = 0 }
	$1 == "PublicKey" && $3 == gone { skip = 1 }
	{ blk = blk $0 "\n" }
	END { if (!skip) printf "%s", blk }' >"$W/sync.conf"
printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.9.0.0/24\n' "$(p p2)" >>"$W/sync.conf"
check "wg syncconf on the live interface (p1 removed, p2 added, b unchanged)" wgc a syncconf "$A" "$W/sync.conf"
peers_now() {
	local l
	l=$(wgc a show "$A" peers)
	echo "$l"
	echo "$l" | grep -qF "$(p p2)" && echo "$l" | grep -qF "$(p b)" && ! echo "$l" | grep -qF "$(p p1)"
}
check "peers after syncconf: b and p2, not p1" peers_now
same_session() {
	local h r t
	h=$(hs a b) r=$(rx a b) t=$(tx a b)
	echo "latest handshake $h0 -> $h; rx $r0 -> $r; tx $t0 -> $t"
	[ "$h" = "$h0" ] && [ "$r" -ge "$r0" ] && [ "$t" -ge "$t0" ]
}
check "b's session on a untouched: same latest-handshake, counters not reset" same_session
check "ping a -> b still works after syncconf" ping_ok a "$(t4 b)" 5
check "... without a new handshake (a's latest-handshake for b unchanged)" same_session
check "... and b saw no new handshake either" sh -c "[ '$(hs b a)' = '$hb0' ]"

# ---------------------------------------------------- 3. peer removal --
wgc a set "$A" peer "$(p b)" remove
check "after wg set peer b remove on a: b is gone from wg show peers" \
	sh -c "! ip netns exec $(H a) wg show $A peers | grep -qF '$(p b)'"
check "ping a -> b fails" ping_none a "$(t4 b)" 3
check "ping b -> a fails too (a no longer knows b's session)" ping_none b "$(t4 a)" 3
wg_conf a b 4
check "b added back: ping a -> b works again (new handshake)" ping_ok a "$(t4 b)" 10

# ------------------------------------------- 4. malformed UAPI requests --
# uapi_err REQUEST: the daemon answers REQUEST with errno=<non-zero>.
uapi_err() {
	local r
	r=$(uapi "$SOCK" "$1")
	echo "reply: $(echo "$r" | tr '\n' ' ')"
	echo "$r" | grep -q '^errno=' && ! echo "$r" | grep -q '^errno=0$'
}
bad() { check "UAPI $1: errno is non-zero" uapi_err "$2"; }
valid_hex=$(printf '%064d' 0 | tr 0 1)
bad "listen_port=99999" 'set=1\nlisten_port=99999\n\n'
bad "listen_port=abc" 'set=1\nlisten_port=abc\n\n'
bad "private_key that is not hex" 'set=1\nprivate_key=zz\n\n'
bad "private_key of 31 bytes" "set=1\nprivate_key=$(printf '%062d' 0)\n\n"
bad "unknown key" 'set=1\nbogus_key=1\n\n'
bad "allowed_ip before any public_key" 'set=1\nallowed_ip=10.0.0.0/8\n\n'
bad "public_key too short" 'set=1\npublic_key=abcd\n\n'
bad "allowed_ip 10.0.0.0/33" "set=1\npublic_key=$valid_hex\nallowed_ip=10.0.0.0/33\n\n"
bad "allowed_ip not an address" "set=1\npublic_key=$valid_hex\nallowed_ip=10.0.0.300/32\n\n"
bad "endpoint without a port" "set=1\npublic_key=$valid_hex\nendpoint=192.168.77.9\n\n"
bad "persistent_keepalive_interval=70000" "set=1\npublic_key=$valid_hex\npersistent_keepalive_interval=70000\n\n"
bad "line without '='" 'set=1\nlisten_port\n\n'
get_ok() { uapi "$SOCK" 'get=1\n\n' | grep -x 'errno=0'; }
check "UAPI get=1 ends with errno=0" get_ok
# wg(8) turns the number into errno = -N (ipc-uapi.c), and wireguard-go
# sends -EINVAL: a positive number would print "Unknown error -22".
neg_errno() {
	local r
	r=$(uapi "$SOCK" 'set=1\nlisten_port=99999\n\n')
	echo "reply: $(echo "$r" | tr '\n' ' ')"
	echo "$r" | grep -q '^errno=-[1-9][0-9]*$'
}
check "UAPI errors are negative errno values, as wg(8) expects (errno=-22)" neg_errno
# The same seen through wg(8): a port that is taken.
port_busy() {
	local np out
	ip netns exec "$(H a)" timeout 10 nc -u -l -n 0.0.0.0 40000 >/dev/null 2>&1 &
	np=$!
	wait_listen a 40000 udp
	out=$(wgc a set "$A" listen-port 40000 2>&1)
	echo "wg set: $out"
	kill $np 2>/dev/null; wait $np 2>/dev/null
	wgc a set "$A" listen-port "$(port a)"
	echo "$out" | grep -q "Address already in use"
}
check "wg set listen-port to a taken port: wg prints 'Address already in use'" port_busy
# A client may shut down its sending side once the request is out (nc -N,
# socat): the answer must still come (it does from wireguard-go).
halfclose_ok() {
	local i r
	for i in $(seq 20); do
		r=$(uapi_halfclose "$SOCK" 'get=1\n\n')
		echo "$r" | grep -qx 'errno=0' || { echo "try $i: reply '$(echo "$r" | tail -n 2 | tr '\n' ' ')'"; return 1; }
		r=$(uapi_halfclose "$SOCK" 'set=1\nlisten_port=99999\n\n')
		echo "$r" | grep -q '^errno=-*[1-9]' || { echo "try $i: reply to a bad set '$(echo "$r" | tr '\n' ' ')'"; return 1; }
	done
}
check "UAPI requests followed by a half-close (nc -N) are answered, 20 times out of 20" halfclose_ok
# Clients that connect and stall mid-request must not block the others.
stalled_ok() {
	local i
	STALLED=""
	for i in 1 2 3 4 5 6 7 8; do
		{ printf 'set=1\nlisten_port='; sleep 4; } | timeout 6 nc -U -q0 "$SOCK" >/dev/null 2>&1 &
		STALLED="$STALLED $!"
	done
	sleep 0.5
	timeout 3 wg show "$A" >/dev/null || return 1
	timeout 3 wg show "$A" listen-port
}
if is_zerowgd "$IMPL_A"; then
	check "wg show answers while 8 other clients stall mid-request" stalled_ok
	wait $STALLED
else
	# wireguard-go holds its UAPI lock while it reads a set request.
	skip "stalled UAPI clients: wireguard-go blocks on them (zerowgd must not)"
fi
# Requests that are cut short or absurdly long: any answer is fine, the
# daemon must just carry on.
printf 'set=1\nlisten_port=1' | timeout 5 nc -U -N "$SOCK" >/dev/null 2>&1
{ printf 'set=1\nprivate_key='; head -c 200000 /dev/zero | tr '\0' a; printf '\n\n'; } |
	timeout 5 nc -U -N "$SOCK" >/dev/null 2>&1
head -c 70000 /dev/urandom | timeout 5 nc -U -N "$SOCK" >/dev/null 2>&1
# The cut-short request may have been applied up to where it stopped (as
# wireguard-go does): put the port back.
wgc a set "$A" listen-port "$(port a)"
check "daemon alive after the malformed requests" alive "$A"
check "wg show still answers" wgc a show "$A"
check "tunnel still works" ping_ok a "$(t4 b)" 5

# ------------------------------------------------- 5. hostile datagrams --
udp_in() { X a awk '/^Udp:/ { n++; if (n == 2) print $2 }' /proc/net/snmp; }
# Runs in b's namespace: $1 = target address, $2 = port.
cat >"$W/garbage.sh" <<'EOF'
dst=$1 port=$2
send() { nc -u -n -q0 -w1 "$dst" "$port" 2>/dev/null; }
i=0
for size in 0 1 3 4 5 15 16 31 32 33 47 48 63 64 65 91 92 93 147 148 149 \
    200 500 1000 1400 1419 1420 1421 1452 1480 1500 2000 4000 8000 16000; do
	head -c "$size" /dev/urandom | send
	i=$((i + 1))
done
# Random sizes 1..1600.
while [ $i -lt 200 ]; do
	n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	head -c $((n % 1600 + 1)) /dev/urandom | send
	i=$((i + 1))
done
# Well-formed-looking headers (type, 3 zero bytes) with random bodies, at
# the exact message sizes: initiation 148, response 92, cookie reply 64,
# data 32 + payload; and the same types one byte short and long.
for t in 1 2 3 4; do
	case $t in 1) len=148 ;; 2) len=92 ;; 3) len=64 ;; 4) len=48 ;; esac
	for l in $len $((len - 1)) $((len + 1)) $len $len $len $len $len $len $len; do
		{ printf "\\00$t\\000\\000\\000"; head -c $((l - 4)) /dev/urandom; } | send
	done
	# Non-zero reserved bytes.
	{ printf "\\00$t\\001\\002\\003"; head -c $((len - 4)) /dev/urandom; } | send
done
# Data messages with big random bodies.
for l in 100 600 1200 1400 1500 3000; do
	{ printf '\004\000\000\000'; head -c "$l" /dev/urandom; } | send
done
EOF
u0=$(udp_in)
X b sh "$W/garbage.sh" "$(u4 a)" "$(port a)"
sleep 0.5
u1=$(udp_in)
check "about 250 hostile datagrams reached a's UDP socket (Udp InDatagrams $u0 -> $u1)" [ $((u1 - u0)) -ge 150 ]
check "daemon on a alive after them" alive "$A"
check "wg show on a still answers" wgc a show "$A"
check "tunnel still works: ping a -> b" ping_ok a "$(t4 b)" 5
check "tunnel still works: ping b -> a over IPv6" ping_ok b "$(t6 a)" 5
# A brand-new handshake after the flood (b forgets a and adds it back).
wgc b set "$B" peer "$(p a)" remove
wg_conf b a 4
check "a fresh handshake initiated by b after the flood works" ping_ok b "$(t4 a)" 10
check "both daemons alive at the end" alive "$A" "$B"

finish
