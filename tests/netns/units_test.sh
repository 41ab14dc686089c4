#!/bin/sh
# units_test.sh - the shipped systemd units (contrib/systemd/): checked with
# systemd's own tools, and run the way systemd would run them.
#   1. Static: copies of the units (ExecStart pointed at the built binary)
#      pass `systemd-analyze verify` with no warning at all; a broken copy
#      does not (the check can fail).  `systemd-analyze security
#      --offline=true` rates the service OK or better (below 5.0), and a
#      copy stripped of its hardening is rated worse (the score is parsed,
#      not assumed); the figure docs/first-use.md gives is the one measured.
#      The unit and the binary agree: every --flag of ExecStart is in
#      `zerowg up --help`, the credential name is the one the server looks
#      for, the socket units' FileDescriptorName= are names
#      src/common/listenfds.c knows and fit their Listen*= kinds, the admin
#      socket's path is ExecStart's --admin-socket, and the system call
#      filter (expanded by systemd-analyze) lets the server install its own
#      seccomp filter, drop its capabilities and lock its memory.
#   2. Emulated: with no systemd as PID 1 here the units cannot be started,
#      so the test does what they do, in namespace s: systemd-socket-activate
#      binds the admin socket (outer, name "admin", then owner zerowg, mode
#      0660 in a 0750 directory) and [::]:P dual-stack (inner, name "udp");
#      setpriv gives the server the unit's identity (user and group zerowg,
#      no supplementary groups, CAP_NET_ADMIN ambient and alone in the
#      bounding set, no_new_privs); umask 077, RLIMIT_MEMLOCK unlimited,
#      the store owned by zerowg (StateDirectory=).  The unseal key is a
#      credential: a file (0400, zerowg's) in a ramfs mounted in a private
#      mount namespace, written from a pipe, so it never reaches the disk or
#      the environment; NOTIFY_SOCKET is a datagram socket this test reads.
#      Checks: the server starts in CAP_NET_ADMIN mode, unsealed from the
#      credential; READY=1 comes from the main pid (NotifyAccess=main); the
#      server process has no capability, Seccomp 2, no_new_privs; the helper
#      has CAP_NET_ADMIN and nothing else; the key file cannot be seen from
#      outside that mount namespace and is nowhere under $W; peer add over
#      the activated admin socket, a client pings through; SIGTERM: exit 0.
# Needs systemd (systemd-analyze, systemd-socket-activate), util-linux
# (setpriv, unshare), python3, wireguard-tools, netcat-openbsd, iproute2.
# /dev/net/tun is opened to users (0666, Debian's default) for the run under
# lib.sh's tun_lock and its mode restored on every exit path; every process
# started as zerowg carries ZWG_UNT=<pid> and is killed by pid.
T=units
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

SRC=$(cd "${0%/*}/../.." && pwd)
UNITS=$SRC/contrib/systemd
PY=/usr/bin/python3	# not a shim under /root: the notify reader runs as root only, but stays plain
need systemd-analyze systemd-socket-activate setpriv unshare wg wg-quick nc ss stat "$PY" \
	"$O/zerowg" "$O/zerowg-server" "$ZWGD"
SA=$(command -v systemd-socket-activate)
SETPRIV=$(command -v setpriv)
P=51941
TAG="ZWG_UNT=$ID"
SNS=$(H s)
SU=zerowg
SUID_=$(id -u "$SU" 2>/dev/null) || { fail "setup: no user $SU (useradd --system $SU)"; finish; }
SGID_=$(id -g "$SU")
tun_lock || { fail "setup: cannot take the /dev/net/tun lock"; finish; }
TUN_MODE_BEFORE=$(stat -c %a /dev/net/tun) || { fail "setup: no /dev/net/tun"; finish; }
units_cleanup() {
	kill_tagged "^$TAG\$"
	chmod "$TUN_MODE_BEFORE" /dev/net/tun
	lib_cleanup
}
trap units_cleanup EXIT

# ------------------------------------------------------------ 1. static --

U=$W/units
mkdir -p "$U"
cp "$UNITS"/zerowg.service "$UNITS"/zerowg.socket "$UNITS"/zerowg-admin.socket "$U"/ ||
	{ fail "setup: copying contrib/systemd/*"; finish; }
# verify wants the ExecStart binary to exist: the built one, not /usr/local.
sed -i "s|^ExecStart=/usr/local/bin/zerowg |ExecStart=$O/zerowg |" "$U/zerowg.service"
check "setup: the copy's ExecStart is the built binary" grep -q "^ExecStart=$O/zerowg up " "$U/zerowg.service"

# verify_clean UNIT...: exit 0 and not one line of output (systemd 252
# warns about unknown keys and sections, but still exits 0).
verify_clean() {
	systemd-analyze verify "$@" >"$W/verify.out" 2>&1
	local rc=$?
	cat "$W/verify.out"
	[ $rc -eq 0 ] && [ ! -s "$W/verify.out" ]
}
check "verify: zerowg.service, zerowg.socket, zerowg-admin.socket: no error, no warning" \
	verify_clean "$U/zerowg.service" "$U/zerowg.socket" "$U/zerowg-admin.socket"
mkdir -p "$W/bad"
sed 's/^\[Service\]/[Service]\nListenDatagram=1/' "$U/zerowg.service" >"$W/bad/zerowg.service"
check_not "verify: a copy with a key in the wrong section is caught" verify_clean "$W/bad/zerowg.service"

# exposure UNITFILE: "N.N BAND" from systemd-analyze security.
exposure() {
	systemd-analyze security --offline=true "$1" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\) \([A-Z]*\).*/\1 \2/p'
}
SCORE=$(exposure "$U/zerowg.service")
echo "# systemd-analyze security --offline=true zerowg.service: ${SCORE:-(no score)}"
# ok_band "N.N BAND": OK or better, and the figure below 5.0 (MEDIUM starts there).
ok_band() {
	echo "exposure: '$1'"
	case ${1#* } in PERFECT|SAFE|OK) ;; *) return 1 ;; esac
	awk -v s="${1% *}" 'BEGIN { exit !(s + 0 < 5.0) }'
}
check "security: the service is rated OK or better ($SCORE)" ok_band "$SCORE"
sed -e '/^\(ProtectSystem\|ProtectHome\|PrivateTmp\|NoNewPrivileges\|SystemCallFilter\)=/d' \
	-e '/^\(CapabilityBoundingSet\|Restrict[A-Za-z]*\|Protect[A-Za-z]*\|User\)=/d' \
	"$U/zerowg.service" >"$W/bad/weak.service"
WEAK=$(exposure "$W/bad/weak.service")
check "security: a copy without the hardening is rated worse than OK ($WEAK)" \
	sh -c "! { echo '$WEAK' | grep -Eq ' (PERFECT|SAFE|OK)\$'; } && [ -n '$WEAK' ]"
check "security: docs/first-use.md gives the measured score (\"systemd-analyze security: $SCORE\")" \
	grep -qF "systemd-analyze security: $SCORE" "$SRC/docs/first-use.md"

# ukey FILE NAME: the value of the first NAME= line.
ukey() { sed -n "s/^$2=//p" "$1" | head -n 1; }
EXEC=$(ukey "$U/zerowg.service" ExecStart)
HELP=$("$O/zerowg" up --help 2>&1)
flags_known() {
	local f missing=""
	for f in $(printf '%s\n' "$EXEC" | tr ' ' '\n' | grep '^--'); do
		printf '%s\n' "$HELP" | grep -qE "^ +$f( |\$)" || missing="$missing $f"
		echo "$f"
	done
	[ -z "$missing" ] || { echo "not in zerowg up --help:$missing"; return 1; }
}
check "ExecStart: every --flag is one \`zerowg up --help\` lists" flags_known
# The name the server looks for: "--credential NAME ... (DEFAULT)" in the help.
CRED=$(printf '%s\n' "$HELP" | sed -n 's/.*--credential NAME.*(\([^)]*\)).*/\1/p')
check "LoadCredentialEncrypted= names the credential the server reads (\"$CRED\")" \
	sh -c "[ -n '$CRED' ] && grep -q '^LoadCredentialEncrypted=$CRED:' '$U/zerowg.service'"
AMB=$(ukey "$U/zerowg.service" AmbientCapabilities)
check "Type=notify, NotifyAccess=main, User=zerowg, no_new_privs; ambient = bounding set = CAP_NET_ADMIN (+ CAP_NET_BIND_SERVICE)" sh -c "
	grep -qx 'Type=notify' '$U/zerowg.service' && grep -qx 'NotifyAccess=main' '$U/zerowg.service' &&
	grep -qx 'User=zerowg' '$U/zerowg.service' && grep -qx 'NoNewPrivileges=yes' '$U/zerowg.service' &&
	[ '$(ukey "$U/zerowg.service" CapabilityBoundingSet)' = '$AMB' ] &&
	case '$AMB' in 'CAP_NET_ADMIN'|'CAP_NET_ADMIN CAP_NET_BIND_SERVICE') true ;; *) false ;; esac"
# The unit's capabilities as setpriv spells them ("+net_admin,+...").
SPCAPS=$(printf '%s\n' "$AMB" | tr ' ' '\n' | sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -sd, -)
# names_fit: FileDescriptorName= "udp" on the ListenDatagram= unit, "admin"
# on the ListenStream=/path one, both names in listenfds.c's table.
names_fit() {
	local n
	for n in udp admin; do
		grep -q "{ \"$n\", SLOT_" "$SRC/src/common/listenfds.c" ||
			{ echo "listenfds.c does not know \"$n\""; return 1; }
	done
	[ "$(ukey "$U/zerowg.socket" FileDescriptorName)" = udp ] &&
	[ -n "$(ukey "$U/zerowg.socket" ListenDatagram)" ] &&
	[ -z "$(ukey "$U/zerowg.socket" ListenStream)" ] &&
	[ "$(ukey "$U/zerowg-admin.socket" FileDescriptorName)" = admin ] &&
	[ -z "$(ukey "$U/zerowg-admin.socket" ListenDatagram)" ] &&
	case $(ukey "$U/zerowg-admin.socket" ListenStream) in /*) true ;; *) false ;; esac
}
check "sockets: FileDescriptorName= udp (ListenDatagram=) and admin (ListenStream=/path), as listenfds.c names them" \
	names_fit
ASOCK=$(ukey "$U/zerowg-admin.socket" ListenStream)
check "sockets: the admin socket ($ASOCK) is ExecStart's --admin-socket, mode 0660" sh -c "
	printf '%s\n' '$EXEC' | grep -qF -- '--admin-socket $ASOCK' &&
	grep -qx 'SocketMode=0660' '$U/zerowg-admin.socket'"
check "sockets: both activate zerowg.service, which lists both" sh -c "
	grep -qx 'Service=zerowg.service' '$U/zerowg.socket' &&
	grep -qx 'Service=zerowg.service' '$U/zerowg-admin.socket' &&
	grep -qx 'Sockets=zerowg.socket zerowg-admin.socket' '$U/zerowg.service'"
# expand SET: the system calls of a systemd-analyze syscall-filter set.
expand() {
	systemd-analyze syscall-filter "$1" 2>/dev/null | awk 'NR > 1 && $1 !~ /^#/ { print $1 }' |
	while read -r s; do
		case $s in @*) expand "$s" ;; *) echo "$s" ;; esac
	done
}
filter_allows() {
	local w s missing=""
	: >"$W/filter.txt"
	for w in $(sed -n 's/^SystemCallFilter=//p' "$U/zerowg.service"); do
		case $w in ~*) echo "a deny list ($w): not checked here"; return 1 ;;
		@*) expand "$w" >>"$W/filter.txt" ;; *) echo "$w" >>"$W/filter.txt" ;; esac
	done
	for s in seccomp prctl capset capget setrlimit prlimit64 mlockall mlock ioctl \
		 sendmmsg recvmmsg socketpair clone clone3 execve keyctl; do
		grep -qx "$s" "$W/filter.txt" || missing="$missing $s"
	done
	echo "$(sort -u "$W/filter.txt" | wc -l) system calls allowed"
	[ -z "$missing" ] || { echo "not allowed:$missing"; return 1; }
}
check "SystemCallFilter= lets the server install its seccomp filter, drop caps, lock memory, exec zerowg-server" \
	filter_allows

PID1=$(ps -p 1 -o comm= 2>/dev/null)
if [ "$PID1" != systemd ]; then
	echo "# PID 1 is \"$PID1\", not systemd: the units cannot be started here; emulating what they do"
else
	echo "# PID 1 is systemd, but this test does not install units on the machine; emulating what they do"
fi

# --------------------------------------------------------- 2. emulated --

hosts s a
# A default route, so that NAT has an egress interface: the helper then
# switches forwarding on (as zerowg, with CAP_NET_ADMIN: the write the
# unit's ReadWritePaths= keeps possible) and back off at stop.
X s ip route add default via "$(u4 a)"
X s sysctl -qw net.ipv4.ip_forward=0
# The binaries where zerowg may run them (zerowg execs zerowg-server from
# its own directory, as in /usr/local/bin).
chmod 711 "$W"
ZB=$W/bin
mkdir -p "$ZB" && chmod 755 "$ZB" && cp "$O/zerowg" "$O/zerowg-server" "$ZB"/ ||
	{ fail "setup: copying the binaries"; finish; }
ZWG=$ZB/zerowg
check "init: a sealed store (made as root; zerowg's, as StateDirectory= makes it)" \
	srv_init --subnet "$SUBNET4" --endpoint "$(u4 s):$P" || finish
chown -R "$SUID_:$SGID_" "$W/data" && chmod 700 "$W/data"
# /run/zerowg: 0750, zerowg's (RuntimeDirectory=); the notify socket's dir.
RUN=$W/run
mkdir -p "$RUN" "$W/creds" "$W/notify" && chown "$SUID_:$SGID_" "$RUN" && chmod 750 "$RUN" &&
	chmod 711 "$W/notify" || { fail "setup: directories"; finish; }
ADMIN=$RUN/admin.sock
NOTIFY=$W/notify/notify.sock

# The service manager's notify socket: prints "PID MESSAGE" per datagram
# (the sender's pid from SCM_CREDENTIALS, as systemd checks NotifyAccess=).
cat >"$W/notify.py" <<'EOF'
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.settimeout(60)
out = open(sys.argv[2], "a")
while True:
    try:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    except socket.timeout:
        break
    pid = 0
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
    out.write("%d %s\n" % (pid, msg.decode(errors="replace").replace("\n", " ")))
    out.flush()
EOF
ip netns exec "$SNS" "$PY" "$W/notify.py" "$NOTIFY" "$W/notify.log" 2>>"$W/notify.err" &
echo $! >"$W/notifyd.pid"
check "setup: the notify socket is there" wait_for 5 test -S "$NOTIFY"

# LimitMEMLOCK=infinity needs CAP_SYS_RESOURCE to raise the hard limit,
# which root may lack (in a container): then the server runs with the hard
# limit and says it does not lock all memory.
if [ "$(ulimit -H -l)" != unlimited ] && ! (ulimit -l unlimited) 2>/dev/null; then
	echo "# cannot emulate LimitMEMLOCK=infinity here (hard limit $(ulimit -H -l) KiB, no CAP_SYS_RESOURCE)"
fi
chmod 666 /dev/net/tun
# In s, in a mount namespace of its own: a ramfs for the credential (the
# key comes in on stdin and goes nowhere else), then the sockets (outer:
# admin, inner: UDP) and the unit's identity.  Each step execs the next:
# the pid systemd-socket-activate puts in LISTEN_PID is the server's.
printf '%s\n' "$UNSEAL" | ip netns exec "$SNS" unshare -m --propagation private sh -c '
	set -e
	mount -t ramfs -o mode=0700 ramfs "$1/creds"
	cat >"$1/creds/'"$CRED"'"
	chown '"$SUID_:$SGID_"' "$1/creds" "$1/creds/'"$CRED"'"
	chmod 0400 "$1/creds/'"$CRED"'"
	chmod 0500 "$1/creds"
	exec </dev/null
	umask 077
	ulimit -l unlimited 2>/dev/null || ulimit -l "$(ulimit -H -l)"
	shift
	exec "$@"' units-cred "$W" \
	"$SA" -l "$ADMIN" --fdname=admin \
	"$SA" --datagram -l "[::]:$P" --fdname=admin:udp \
	-E LOG_LEVEL=verbose -E PATH=/usr/sbin:/usr/bin:/sbin:/bin -E "$TAG" \
	-E CREDENTIALS_DIRECTORY="$W/creds" -E NOTIFY_SOCKET="$NOTIFY" \
	"$SETPRIV" --reuid="$SUID_" --regid="$SGID_" --clear-groups \
	--inh-caps=-all,"$SPCAPS" --ambient-caps=-all,"$SPCAPS" --bounding-set=-all,"$SPCAPS" \
	--no-new-privs \
	$(printf '%s\n' "$EXEC" | sed "s|^$O/zerowg |$ZWG |; s|--data [^ ]*|--data $W/data|; s|--admin-socket [^ ]*|--admin-socket $ADMIN|") \
	--interface "$(sif)" >>"$W/server.log" 2>&1 &
SAPID=$!
echo "$SAPID" >"$W/sa.pid"

# SocketUser=/SocketGroup=/SocketMode= of zerowg-admin.socket.
check "emulated: the admin socket is bound before the server starts" wait_for 5 test -S "$ADMIN" || finish
chown "$SUID_:$SGID_" "$ADMIN" && chmod 0660 "$ADMIN"

poke() { X s sh -c "printf x | nc -u -w0 127.0.0.1 $P" >/dev/null 2>&1; }
ready() { timeout 5 "$ZWG" peer list --admin-socket "$ADMIN" >/dev/null 2>&1; }
# up: a connection to the admin socket and datagrams to P launch the
# server; waits for its ready line and an answering admin API.
up() {
	local n
	timeout 2 nc -U -z "$ADMIN" >/dev/null 2>&1
	n=0
	while [ $n -lt 150 ]; do
		running "$SAPID" || { echo "exited during start-up"; tail -n 20 "$W/server.log"; return 1; }
		grep -q "interface .* up, listening on UDP port" "$W/server.log" && ready && return 0
		[ $((n % 5)) -eq 0 ] && poke
		sleep 0.1
		n=$((n + 1))
	done
	echo "not ready after 15 s"
	tail -n 20 "$W/server.log"
	return 1
}
check "emulated: the server starts behind the sockets, as zerowg with CAP_NET_ADMIN" up || finish
log_has() { grep -F -- "$1" "$W/server.log"; }
check "emulated: the start-up says CAP_NET_ADMIN mode" log_has "privileges: started with CAP_NET_ADMIN"
check "emulated: unsealed with the key from the credential $CRED" log_has "unsealed with the key from credential $CRED"
check "emulated: the UDP port $P and the admin socket came from socket activation" sh -c "
	grep -qF 'UDP port $P from socket activation' '$W/server.log' &&
	grep -qF 'admin API on $ADMIN, from socket activation' '$W/server.log'"
status_is() {
	local v
	v=$(awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status")
	echo "$2 of pid $1: '$v' (expected '$3')"
	[ "$v" = "$3" ]
}
check "emulated: the server is the pid socket activation started (LISTEN_PID), as zerowg" \
	status_is "$SAPID" Uid "$SUID_ $SUID_ $SUID_ $SUID_"
check "emulated: the server has no capability, Seccomp 2, NoNewPrivs 1" sh -c "
	grep -qx 'CapEff:	0000000000000000' /proc/$SAPID/status &&
	grep -qx 'CapPrm:	0000000000000000' /proc/$SAPID/status &&
	grep -qx 'CapAmb:	0000000000000000' /proc/$SAPID/status &&
	grep -qx 'Seccomp:	2' /proc/$SAPID/status && grep -qx 'NoNewPrivs:	1' /proc/$SAPID/status"
# What the unit's capabilities are as a mask, from setpriv itself.
CAPMASK=$("$SETPRIV" --reuid="$SUID_" --regid="$SGID_" --clear-groups --inh-caps=-all,"$SPCAPS" \
	--ambient-caps=-all,"$SPCAPS" --bounding-set=-all,"$SPCAPS" sed -n 's/^CapEff:\t//p' /proc/self/status)
HPID=$(sed -n 's/.*a helper (pid \([0-9]*\)) keeps it.*/\1/p' "$W/server.log" | head -n 1)
check "emulated: the helper (pid ${HPID:-?}) has the unit's capabilities ($AMB: $CAPMASK) and no more, as zerowg" sh -c "
	[ -n '$HPID' ] && [ -n '$CAPMASK' ] && grep -qx 'CapEff:	$CAPMASK' /proc/$HPID/status &&
	grep -qx 'CapBnd:	$CAPMASK' /proc/$HPID/status &&
	grep -q '^Uid:	$SUID_	' /proc/$HPID/status"
check "emulated: NAT: the helper switched IPv4 forwarding on (/proc/sys/net/ipv4/ip_forward 1)" \
	sh -c "grep -q 'NAT: clients. traffic to the internet leaves through eth0' '$W/server.log' &&
	       [ \"\$(ip netns exec '$SNS' cat /proc/sys/net/ipv4/ip_forward)\" = 1 ]"
check "emulated: the DNS relay listens on the tunnel address, port 53" sh -c "
	grep -qF 'DNS: clients ask $SRV4' '$W/server.log' &&
	ip netns exec '$SNS' ss -Hlun 'sport = :53' | grep -qF '$SRV4:53'"
ready_from_main() {
	cat "$W/notify.log" 2>/dev/null
	grep -q "^$SAPID READY=1" "$W/notify.log" && ! grep -v "^$SAPID " "$W/notify.log" | grep -q .
}
check "emulated: READY=1 reaches NOTIFY_SOCKET from the main pid only (NotifyAccess=main)" \
	wait_for 5 ready_from_main
check "emulated: the credential is invisible outside its mount namespace" \
	sh -c "[ ! -e '$W/creds/$CRED' ] && ! mountpoint -q '$W/creds'"
key_nowhere() {
	if grep -rqF -- "$UNSEAL" "$W" 2>/dev/null; then
		grep -rlF -- "$UNSEAL" "$W"
		return 1
	fi
	! tr '\0' '\n' <"/proc/$SAPID/environ" | grep -qF -- "$UNSEAL"
}
check "emulated: the unseal key is in no file under \$W and not in the server's environment" key_nowhere
check "emulated: the admin socket stays zerowg's, mode 0660" \
	sh -c "[ \"\$(stat -c '%U %a' '$ADMIN')\" = '$SU 660' ]"

CONF=$(peer_add alice --allowed-ips "$SUBNET4")
check "emulated: peer add over the activated admin socket gives Endpoint $(u4 s):$P" \
	sh -c "printf '%s\n' '$CONF' | grep -qx 'Endpoint = $(u4 s):$P'"
check "emulated: client a comes up" client_up a "$CONF" "$ZWGD" || finish
check "emulated: a pings the server's tunnel address through port $P" ping_ok a "$SRV4"
client_down a

kill -TERM "$SAPID"
n=0
while running "$SAPID" && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
running "$SAPID" && kill -9 "$SAPID"
wait "$SAPID" 2>/dev/null
STATUS=$?
check "emulated: SIGTERM: exit 0" sh -c "[ '$STATUS' = 0 ]"
check "emulated: SIGTERM: the admin socket's path is left to the service manager" test -S "$ADMIN"
check "emulated: SIGTERM: forwarding is switched back off" \
	sh -c "[ \"\$(ip netns exec '$SNS' cat /proc/sys/net/ipv4/ip_forward)\" = 0 ]"
check "emulated: SIGTERM: the interface is gone" wait_for 5 sh -c "! ip netns exec '$SNS' ip link show '$(sif)'"
no_tagged() {
	local p
	p=$(tagged_pids "^$TAG\$")
	[ -z "$p" ] && return 0
	for p in $p; do echo "left over: pid $p $(tr '\0' ' ' <"/proc/$p/cmdline")"; done
	return 1
}
check "emulated: no process of the server's is left" wait_for 5 no_tagged
chmod "$TUN_MODE_BEFORE" /dev/net/tun
check "/dev/net/tun is back to mode $TUN_MODE_BEFORE" \
	sh -c "[ \"\$(stat -c %a /dev/net/tun)\" = '$TUN_MODE_BEFORE' ]"

finish
