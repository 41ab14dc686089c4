#!/bin/sh
# app_test.sh - `zerowg app`: application networks (docs/apps.md).  A
# command run with `zerowg app run` sees lo and its app's tunnel and
# nothing else, while the app's UDP socket stays outside; two linked apps
# reach each other through their tunnels; an app's peers change hot (the
# other sessions are kept); bad input is refused with a message and
# nothing stored is lost.  As root and rootless (as nobody).  Also: the
# systemd units (contrib/systemd/zerowg-app@.service and examples/) pass
# `systemd-analyze verify`, and `app up` reports READY=1 to NOTIFY_SOCKET.
#
# Topology, every address inside namespaces this test made (or on the
# veth zh<pid> it adds to the host):
#
#   host 198.18.2.1 (zh<pid>) --veth-- 198.18.2.2 [inet]
#   [p] 198.18.1.2 --veth-- 198.18.1.1 [s] 198.18.0.1 --veth-- 198.18.0.2 [inet]
#   zerowgd-test zq<pid>p     the rootless app's "host": its commands run
#   (a peer of the rootless    here as nobody, so its UDP socket is s's
#   app, 10.14.1.2)
#
# As root the apps run from the host's namespaces (a named netns must be
# mounted where podman and systemd see it: `ip netns exec` would make the
# mount its own), so they talk over the host's 127.0.0.1; their named
# namespaces /run/netns/za<pid>, /run/netns/zb<pid> carry our pid and are
# removed on every exit path, as are their sockets under /run/zerowg/apps
# and /var/run/wireguard.  Rootless, the app lives in a user+network
# namespace of the supervisor's child.
T=app
. "${0%/*}/lib.sh"

ZWG=${ZWG:-$O/zerowg-test}
ZWGD=${ZWGD:-$O/zerowgd-test}
PY=/usr/bin/python3
need setpriv wg ping "$PY" "$ZWG" "$ZWGD"

A="za$ID"
B="zb$ID"
R="zr$ID"
D=$W/data
KEY=$W/unseal
NUID=$(id -u nobody) || { fail "setup: no user nobody"; finish; }
NGID=$(getent group nogroup | cut -d: -f3)
[ -n "$NGID" ] || NGID=$(id -g nobody)
U=$W/u
TAG="ZWG_APPT=$ID"
TUN_MODE_BEFORE=""

# Z VERB ARGS...: `zerowg app VERB` as root, on our data directory and key
# (the options first: what follows run's -- is the command's).
Z() { local v; v=$1; shift; "$ZWG" app "$v" --data "$D" --key-fd 3 "$@" 3<"$KEY"; }
# app_bg NAME LOG: `zerowg app up NAME` as root, in the background.
app_bg() {
	"$ZWG" app up "$1" --data "$D" --key-fd 3 3<"$KEY" >>"$W/$2" 2>&1 &
	echo $! >"$W/app-$1.pid"
}
app_sock() { echo "/run/zerowg/apps/$1.sock"; }
# live SOCK: the admin API answers.
live() { curl -sS --max-time 2 --unix-socket "$1" http://zerowg/v1/server >/dev/null 2>&1; }
# wait_pid PID SECONDS: until PID has exited.
wait_pid() {
	local n
	n=0
	while running "$1" && [ $n -lt $(($2 * 10)) ]; do
		sleep 0.1
		n=$((n + 1))
	done
	! running "$1"
}
# app_stop NAME: SIGTERM to its supervisor, which stops everything.
app_stop() {
	local f
	f=$W/app-$1.pid
	[ -f "$f" ] || return 0
	kill "$(cat "$f")" 2>/dev/null
	wait_pid "$(cat "$f")" 20
	rm -f "$f"
}

app_cleanup() {
	local n
	app_stop "$A"
	app_stop "$B"
	kill_tagged "^$TAG-"
	# Whatever a killed supervisor left.
	for n in "$A" "$B"; do
		if [ -e "/run/netns/$n" ]; then
			umount -l "/run/netns/$n" 2>/dev/null
			rm -f "/run/netns/$n"
		fi
		rm -f "/run/zerowg/apps/$n.sock" "/run/zerowg/apps/$n.netns" \
			"/var/run/wireguard/$n.sock"
	done
	ip link del "zh$ID" 2>/dev/null
	[ -n "$TUN_MODE_BEFORE" ] && chmod "$TUN_MODE_BEFORE" /dev/net/tun
	lib_cleanup
}
trap app_cleanup EXIT

# ---------------------------------------------------------------- setup --

# The servers run as zerowg (root) or nobody: they must reach $W's sockets.
chmod 711 "$W"

ns_add s || { fail "setup: ip netns add s"; finish; }
ns_add inet || { fail "setup: ip netns add inet"; finish; }
ns_add p || { fail "setup: ip netns add p"; finish; }
X s ip link add eth1 type veth peer name eth0 netns "$(H inet)"
X s ip link set eth1 up
X inet ip link set eth0 up
X s ip addr add 198.18.0.1/24 dev eth1
X inet ip addr add 198.18.0.2/24 dev eth0
X s ip route add default via 198.18.0.2 dev eth1
ip link add "zh$ID" type veth peer name eth2 netns "$(H inet)" &&
	ip addr add 198.18.2.1/24 dev "zh$ID" && ip link set "zh$ID" up ||
	{ fail "setup: the host's veth zh$ID"; finish; }
X inet ip addr add 198.18.2.2/24 dev eth2
X inet ip link set eth2 up
X s ip link add eth2 type veth peer name eth0 netns "$(H p)"
X s ip link set eth2 up
X p ip link set eth0 up
X s ip addr add 198.18.1.1/24 dev eth2
X p ip addr add 198.18.1.2/24 dev eth0
head -c 32 /dev/urandom | base64 >"$KEY"
chmod 600 "$KEY"

# The in-namespace probe: what a command in an app sees.  Prints one
# line per fact, checked outside.
cat >"$W/probe.sh" <<'EOF'
#!/bin/sh
# probe.sh IFNAME OTHER_ADDR: what a command inside an app sees.
echo "links: $(ip -o link | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort | tr '\n' ' ')"
echo "routes4: $(ip -4 route | awk '{ print $1 " " $2 " " $3 }' | sort | tr '\n' ';')"
echo "routes6: $(ip -6 route | grep -v '^fe80::/64' | awk '{ print $1 }' | sort | tr '\n' ' ')"
if ping -n -c 1 -W 3 -w 10 "$2" >/dev/null 2>&1; then echo "ping-other: ok"; else echo "ping-other: FAILED"; fi
for dst in 10.200.0.1 198.18.0.1 198.18.0.2 198.18.1.2 198.18.2.1 198.18.2.2; do
	out=$(ping -n -c 1 -W 1 "$dst" 2>&1) && echo "ping-$dst: REACHED" ||
		echo "ping-$dst: $(echo "$out" | grep -io 'unreachable' | head -n 1)"
done
/usr/bin/python3 - <<'PYEOF'
import errno, socket
for dst in ("10.200.0.1", "198.18.0.1", "198.18.0.2", "198.18.1.2", "198.18.2.1", "198.18.2.2"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(b"x", (dst, 9))
        print("udp-%s: SENT" % dst)
    except OSError as e:
        print("udp-%s: %s" % (dst, errno.errorcode.get(e.errno, e.errno)))
PYEOF
echo "uid: $(id -u)"
echo "caps: $(grep CapEff /proc/self/status | awk '{ print $2 }')"
[ -e "/run/netns/$1" ] && echo "named: yes" || echo "named: no"
EOF
chmod 755 "$W/probe.sh"

# --------------------------------------------------------------- units --

UNITS=${0%/*}/../../contrib/systemd
mkdir -p "$W/units"
cp "$UNITS/zerowg-app@.service" "$UNITS"/examples/myapp.service \
	"$UNITS"/examples/myapp-proxy.socket "$UNITS"/examples/myapp-proxy.service "$W/units/" ||
	{ fail "setup: copying contrib/systemd/zerowg-app@.service and examples"; finish; }
# verify wants the ExecStart binary to exist: the built one; and an instance.
sed "s|^ExecStart=/usr/local/bin/zerowg |ExecStart=$ZWG |" "$W/units/zerowg-app@.service" \
	>"$W/units/zerowg-app@web.service"
verify_clean() {
	(cd "$W/units" && systemd-analyze verify "$@") >"$W/verify.out" 2>&1
	local rc=$?
	cat "$W/verify.out"
	[ $rc -eq 0 ] && [ ! -s "$W/verify.out" ]
}
if command -v systemd-analyze >/dev/null 2>&1; then
	check "units: zerowg-app@web.service and the myapp examples verify, no warning" \
		verify_clean zerowg-app@web.service myapp.service myapp-proxy.socket myapp-proxy.service
else
	skip "units: systemd-analyze is not installed (apt-get install systemd)"
fi

# ------------------------------------------------------------ as root --

check "init: the main store" "$ZWG" init --data "$D" --key-fd 3 3<"$KEY"
# Ports of our own: copies of this test running at once would otherwise
# both take the first free one from 51900 before either is up.
PA=$((40000 + (ID % 10000) * 2))
check "create $A" Z create "$A" --port "$PA"
check "create $B" Z create "$B" --port $((PA + 1))
A4=$(Z show "$A" | sed -n 's/^  addresses: \([0-9.]*\)\/.*/\1/p')
B4=$(Z show "$B" | sed -n 's/^  addresses: \([0-9.]*\)\/.*/\1/p')
A6=$(Z show "$A" | sed -n 's/^  addresses: [^,]*, \(.*\)\/64$/\1/p')
B6=$(Z show "$B" | sed -n 's/^  addresses: [^,]*, \(.*\)\/64$/\1/p')
A48=$(echo "$A6" | cut -d: -f1-3)
B48=$(echo "$B6" | cut -d: -f1-3)
check "create: two apps, two /24s and two /64s of one /48 ($A4 $A6, $B4 $B6)" sh -c "
	[ -n '$A4' ] && [ -n '$B4' ] && [ '$A4' != '$B4' ] && [ -n '$A48' ] &&
	[ '$A48' = '$B48' ] && [ '$A6' != '$B6' ]"
check "link $A $B" Z link "$A" "$B"

# Bad input: refused with the cause and the fix; nothing lost.
Z create "$A" >"$W/taken.out" 2>&1
check "create: a taken name is refused" sh -c "
	grep -q 'app \"$A\" exists already' '$W/taken.out' &&
	grep -q 'remove $A first' '$W/taken.out'"
Z create "Bad.Name" >"$W/invalid.out" 2>&1
check "create: an invalid name is refused, quoted with the rule" \
	grep -q 'app name "Bad.Name" is not valid: use 1 to 15 of a-z' "$W/invalid.out"
Z create "toolongappname16" >"$W/long.out" 2>&1
check "create: a name longer than an interface name is refused" \
	grep -q 'longer than 15 characters' "$W/long.out"
Z show "$A" >"$W/show.out" 2>&1
check "create: after the refusals, $A still has its peer and addresses" sh -c "
	grep -q 'peers: 1 ($B)' '$W/show.out' && grep -q '$A4' '$W/show.out'"
Z run "$A" -- "nosuchcommand$ID" >"$W/nocmd.out" 2>&1
rc=$?
check "run: a command not found exits 127 and names it" sh -c "
	[ $rc -eq 127 ] && grep -q 'command \"nosuchcommand$ID\" not found' '$W/nocmd.out'"
Z run "$A" -- /nonexistent/bin/x >"$W/nocmd2.out" 2>&1
rc=$?
check "run: a missing path exits 127" sh -c "[ $rc -eq 127 ] && grep -q 'does not exist' '$W/nocmd2.out'"
check_not_ns() { [ ! -e "/run/netns/$A" ]; }
check "run: nothing was started for a missing command" check_not_ns
Z run "nosuch$ID" -- true >"$W/noapp.out" 2>&1
check "run: an app that does not exist is named" grep -q "no app \"nosuch$ID\"" "$W/noapp.out"

# b up as systemd would start it (Type=notify, NotifyAccess=all), then a
# command in a: isolation and a's tunnel to b.
"$PY" - "$W/notify.sock" "$W/notify.out" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)	# as systemd's: the server sends as its own user
s.settimeout(60)
with open(sys.argv[2], "a") as out:
    try:
        while True:
            out.write(s.recv(4096).decode(errors="replace") + "\n")
            out.flush()
    except socket.timeout:
        pass
EOF
echo $! >"$W/notify-listener.pid"
wait_for 5 test -S "$W/notify.sock"
NOTIFY_SOCKET=$W/notify.sock "$ZWG" app up "$B" --data "$D" --key-fd 3 3<"$KEY" >>"$W/b.log" 2>&1 &
echo $! >"$W/app-$B.pid"
check "up $B: its admin API answers" wait_for 20 live "$(app_sock "$B")"
check "up $B: READY=1 reached the service manager's socket" wait_for 5 grep -q READY=1 "$W/notify.out"
check "up $B: no web listener (the admin socket only)" sh -c "! grep -q 'web API on' '$W/b.log'"
check "up $B: /run/netns/$B exists while it is up" test -e "/run/netns/$B"
check "up $B: ip netns exec reaches it" sh -c "ip netns exec '$B' ip -o link | grep -q ': $B:'"
Z run "$A" -- sh "$W/probe.sh" "$A" "$B4" >"$W/run.out" 2>"$W/run.err"
rc=$?
cat "$W/run.out" >>"$W/check.out"
check "run: the command's status is app run's (0)" test $rc -eq 0
check "run: the command sees lo and $A, nothing else" grep -qx "links: lo $A " "$W/run.out"
check "run: routes are the apps' subnets only" \
	grep -qx "routes4: ${A4%.1}.0/24 dev $A;${B4%.1}.0/24 dev $A;" "$W/run.out"
check "run: IPv6 routes are the apps' /64s (and multicast) only" sh -c "
	line=\$(grep '^routes6:' '$W/run.out'); for r in \${line#routes6:}; do
		case \$r in ${A6%::1}::/64|${B6%::1}::/64|ff00::/8|multicast|::1) ;; *) exit 1 ;; esac
	done"
check "run: $A pings $B through the tunnels" grep -qx "ping-other: ok" "$W/run.out"
for dst in 10.200.0.1 198.18.2.1 198.18.2.2; do
	check "run: ping to $dst: network unreachable" grep -qix "ping-$dst: unreachable" "$W/run.out"
	check "run: UDP to $dst: ENETUNREACH" grep -qx "udp-$dst: ENETUNREACH" "$W/run.out"
done
check "run: the command runs as root (the caller)" grep -qx "uid: 0" "$W/run.out"
check "run: /run/netns/$A existed while it ran" grep -qx "named: yes" "$W/run.out"
check "run: /run/netns/$A is gone after" test ! -e "/run/netns/$A"
check "run: $A's admin socket is gone after" test ! -e "$(app_sock "$A")"
Z run "$A" -- sh -c 'exit 7' >/dev/null 2>&1
rc=$?
check "run: the command's exit status 7 is app run's" test $rc -eq 7
Z run "$A" --user nobody -- sh -c 'id -u; ping -n -c 1 -W 3 '"$B4"' >/dev/null && echo ok' \
	>"$W/user.out" 2>/dev/null
check "run --user nobody: the command runs as nobody, and pings" sh -c "
	grep -qx '$NUID' '$W/user.out' && grep -qx ok '$W/user.out'"

# Hot reload: both up, a session a<->b, then a peer added to a.
app_bg "$A" a.log
check "up $A: its admin API answers" wait_for 20 live "$(app_sock "$A")"
Z run "$A" -- true >"$W/twice.out" 2>&1
check "run: refused while the app is up" grep -q "app \"$A\" is running already" "$W/twice.out"
check "up: $A pings $B (ip netns exec)" ip netns exec "$A" ping -n -c 1 -W 3 -w 10 "$B4"
BPUB=$(Z show "$B" | sed -n 's/^  public key: //p')
hs_of() { wg show "$A" latest-handshakes | awk -v k="$BPUB" '$1 == k { print $2 }'; }
HS1=$(hs_of)
check "up: a handshake with $B is recorded ($HS1)" test "${HS1:-0}" -gt 0
sleep 1.2
# stdout a pipe: a client config (a key) goes nowhere else.
"$ZWG" app peer "$A" add laptop --no-qr 2>&1 | cat >"$W/peeradd.out"
check "peer add on the running app" sh -c "wg show '$A' peers | wc -l | grep -qx 2"
HS2=$(hs_of)
check "peer add: the session with $B is kept (same handshake $HS1 = $HS2)" test "$HS1" = "$HS2"
check "peer add: $A still pings $B" ip netns exec "$A" ping -n -c 1 -W 3 "$B4"
"$ZWG" app peer "$A" list >"$W/plist.out" 2>&1
check "peer list through app peer" grep -q '^laptop ' "$W/plist.out"
Z remove "$A" >"$W/rmrun.out" 2>&1
rc=$?
check "remove: refused while the app runs" sh -c "
	[ $rc -ne 0 ] && grep -q 'app \"$A\" is running: stop it first' '$W/rmrun.out'"
app_stop "$A"
app_stop "$B"
check "stop: /run/netns/$A and /run/netns/$B are gone" sh -c "
	[ ! -e /run/netns/$A ] && [ ! -e /run/netns/$B ]"
check "stop: the admin and UAPI sockets are gone" sh -c "
	[ ! -e '$(app_sock "$A")' ] && [ ! -e /var/run/wireguard/$A.sock ]"
Z show "$A" >"$W/show2.out" 2>&1
check "peer add: stored ($A has laptop and $B)" grep -q "peers: 2 (laptop, $B)" "$W/show2.out"
check "remove $B once stopped" Z remove "$B"
Z list >"$W/list.out" 2>&1
check "list: $A only" sh -c "grep -q '^$A ' '$W/list.out' && ! grep -q '^$B ' '$W/list.out'"

# ------------------------------------------------------------ rootless --

# nobody must reach $U and run our binaries.
chmod 711 "$W"
mkdir -p "$U/share" "$U/run" "$W/bin" && chmod 755 "$W/bin" &&
	cp "$ZWG" "${ZWG%/*}/zerowg-server-test" "$W/bin/" &&
	cp "$KEY" "$U/unseal" && chown -R "$NUID:$NGID" "$U" && chmod 700 "$U" ||
	{ fail "setup: $U for nobody"; finish; }
RZ=$W/bin/${ZWG##*/}
# US TAG CMD...: CMD as nobody in s, tagged.
US() {
	local t
	t=$1; shift
	ip netns exec "$(H s)" setpriv --reuid="$NUID" --regid="$NGID" --clear-groups \
		env HOME="$U" XDG_DATA_HOME="$U/share" XDG_RUNTIME_DIR="$U/run" "$TAG-$t" "$@"
}
tun_lock || { fail "setup: cannot take the /dev/net/tun lock"; finish; }
TUN_MODE_BEFORE=$(stat -c %a /dev/net/tun)
chmod 666 /dev/net/tun
RSOCK=$U/run/zerowg/apps/$R.sock

check "rootless: init" US cmd "$RZ" init --key-fd 3 3<"$KEY"
check "rootless: create $R" US cmd "$RZ" app create "$R" --port 51990 \
	--endpoint 198.18.1.1:51990 --key-fd 3 3<"$KEY"
# Not through US: $! must be the supervisor itself (ip, setpriv and env exec).
ip netns exec "$(H s)" setpriv --reuid="$NUID" --regid="$NGID" --clear-groups \
	env HOME="$U" XDG_DATA_HOME="$U/share" XDG_RUNTIME_DIR="$U/run" "$TAG-up" \
	"$RZ" app up "$R" --key-fd 3 3<"$KEY" >>"$W/r.log" 2>&1 &
RPID=$!
check "rootless: up $R answers" wait_for 20 live "$RSOCK"
check "rootless: up prints the namespace to join" \
	wait_for 5 grep -q "nsenter -t [0-9]* -U -n" "$W/r.log"
US cmd "$RZ" app peer "$R" add cl --keepalive 1 --no-qr 2>&1 | cat >"$W/cl.conf"
check "rootless: peer add on the running app" grep -q '^PrivateKey' "$W/cl.conf"
kill "$RPID" 2>/dev/null
wait_pid "$RPID" 20
check "rootless: stopped (its admin socket is gone)" test ! -e "$RSOCK"

# The peer: zerowgd in p, with the config just made.
CIF="zq${ID}p"
conf() { sed -n "s/^$1 *= *//p" "$W/cl.conf" | head -n 1; }
sed -n 's/^PrivateKey *= *//p' "$W/cl.conf" | head -n 1 >"$W/cl.key"
sed -n 's/^PresharedKey *= *//p' "$W/cl.conf" | head -n 1 >"$W/cl.psk"
CL4=$(conf Address | tr ',' '\n' | grep -v : | head -n 1 | tr -d ' ')
R4=$(US cmd "$RZ" app show "$R" --key-fd 3 3<"$KEY" | sed -n 's/^  addresses: \([0-9.]*\)\/.*/\1/p')
check "rootless: the peer's zerowgd" wg_start p "$CIF" "$ZWGD -f {IF}"
X p wg set "$CIF" private-key "$W/cl.key" peer "$(conf PublicKey)" preshared-key "$W/cl.psk" \
	endpoint 198.18.1.1:51990 allowed-ips "${R4%.1}.0/24" persistent-keepalive 1
X p ip addr add "$CL4" dev "$CIF"
X p ip link set "$CIF" up
X p ip route add "${R4%.1}.0/24" dev "$CIF"
US run "$RZ" app run "$R" --key-fd 3 3<"$KEY" -- sh "$W/probe.sh" "$R" "${CL4%/*}" \
	>"$W/rrun.out" 2>"$W/rrun.err"
rc=$?
cat "$W/rrun.out" "$W/rrun.err" >>"$W/check.out"
check "rootless run: the command's status (0)" test $rc -eq 0
check "rootless run: the command sees lo and $R, nothing else" grep -qx "links: lo $R " "$W/rrun.out"
check "rootless run: routes are the app's subnet only" \
	grep -qx "routes4: ${R4%.1}.0/24 dev $R;" "$W/rrun.out"
check "rootless run: pings its peer in p through the tunnel" grep -qx "ping-other: ok" "$W/rrun.out"
for dst in 10.200.0.1 198.18.0.1 198.18.1.2; do
	check "rootless run: UDP to $dst: ENETUNREACH" grep -qx "udp-$dst: ENETUNREACH" "$W/rrun.out"
done
check "rootless run: the command is nobody, with no capability" sh -c "
	grep -qx 'uid: $NUID' '$W/rrun.out' && grep -qx 'caps: 0000000000000000' '$W/rrun.out'"
LEFT=$(tagged_pids "^$TAG-run")
check "rootless run: nothing of the app is left ($LEFT)" sh -c "[ ! -e '$RSOCK' ] && [ -z '$LEFT' ]"

finish
