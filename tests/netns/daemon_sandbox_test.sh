#!/bin/sh
# daemon_sandbox_test.sh - zerowgd started as root keeps no privilege: it
# drops to a user of its own (zerowgd, else nobody) with no capability,
# no_new_privs and its seccomp filter on every thread, and leaves the one
# thing that needs CAP_NET_ADMIN, SO_MARK, to its fwmark helper.
#   1. /proc status of every thread of the daemon; the helper's (uid 0,
#      CAP_NET_ADMIN alone, no_new_privs, fds 0-3 only); the daemon holds
#      the UDP sockets, the helper none.
#   2. a tunnel to b; `wg set fwmark 0x1234`: wg show and the sockets (ss)
#      have it, traffic flows; a rebind (`wg set listen-port`) keeps it;
#      fwmark 0 clears it.
#   3. SIGTERM: exit status 0, the UAPI socket file removed (by the helper:
#      the daemon's user cannot in root's directory), the helper gone.
#   4. kill -9 of the daemon: the helper still removes the socket file and
#      exits.  Removing the socket file still stops the daemon (inotify on
#      root's directory works for its user).
#   5. kill -9 of the helper: the daemon says so and goes on (the tunnel
#      works, wg show works); only a fwmark change fails; SIGTERM still
#      exits 0.
#   6. wg-quick full tunnel (AllowedIPs = 0.0.0.0/0, ::/0: fwmark and
#      policy routing) with the daemonised zerowgd: sandboxed too, its
#      sockets marked, traffic to b and through the tunnel to b's loopback;
#      wg-quick down leaves no process, interface or socket file.
#   7. root of a user namespace (unshare -r, as nobody, with a TUN passed
#      by fd): no uid change, no capability, seccomp; its helper keeps the
#      namespace's CAP_NET_ADMIN, so fwmark works there too.  Started
#      without CAP_NET_ADMIN: no helper, fwmark refused, the rest works.
T=daemon_sandbox
. "${0%/*}/lib.sh"

need wg ss wg-quick bash setpriv unshare nsenter
ZWGD="$O/zerowgd-test"
TUNFD_EXEC="$O/tools/tunfd_exec"

hosts a b
A=$(ifn a) B=$(ifn b)
SOCK=/var/run/wireguard/$A.sock
RUN_USER=zerowgd
id -u "$RUN_USER" >/dev/null 2>&1 || RUN_USER=nobody
RUN_UID=$(id -u "$RUN_USER")
RUN_GID=$(id -g "$RUN_USER")
SERVER_UID=$(id -u zerowg 2>/dev/null || echo none)

# field FILE NAME: the value of "NAME:" in a /proc status file.
field() { awk -v f="$2:" '$1 == f { print $2 }' "$1" 2>/dev/null; }
# ids FILE Uid|Gid: its four ids.
ids() { awk -v f="$2:" '$1 == f { print $2, $3, $4, $5 }' "$1" 2>/dev/null; }

# confined PID UID GID: every thread has no capability at all, no_new_privs,
# the seccomp filter, and uid/gid UID/GID (real, effective, saved, fs).
confined() {
	local pid uid gid t f v bad n
	pid=$1 uid=$2 gid=$3 bad="" n=0
	for t in /proc/"$pid"/task/*; do
		[ -r "$t/status" ] || continue
		n=$((n + 1))
		for f in CapEff CapPrm CapBnd CapInh CapAmb; do
			v=$(field "$t/status" $f)
			[ "$v" = 0000000000000000 ] || bad="$bad ${t##*/}:$f=$v"
		done
		v=$(field "$t/status" NoNewPrivs); [ "$v" = 1 ] || bad="$bad ${t##*/}:NoNewPrivs=$v"
		v=$(field "$t/status" Seccomp); [ "$v" = 2 ] || bad="$bad ${t##*/}:Seccomp=$v"
		v=$(ids "$t/status" Uid); [ "$v" = "$uid $uid $uid $uid" ] || bad="$bad ${t##*/}:Uid=$v"
		v=$(ids "$t/status" Gid); [ "$v" = "$gid $gid $gid $gid" ] || bad="$bad ${t##*/}:Gid=$v"
	done
	echo "pid $pid: $n threads checked${bad:+; wrong:$bad}"
	[ -z "$bad" ] && [ "$n" -ge 2 ]
}

# helper_of PID: the daemon's child process (the fwmark helper).
helper_of() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(awk '{ print $4 }' "$p/stat" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
	done | head -n 1
}

# helper_ok PID: uid 0, CAP_NET_ADMIN (bit 12) alone, no_new_privs, and
# only fds 0-3 (stdio and its end of the socketpair).
helper_ok() {
	local s fds
	s=/proc/$1/status
	fds=$(ls /proc/"$1"/fd 2>/dev/null | sort -n | paste -sd' ' -)
	echo "helper $1: uid $(ids "$s" Uid), CapEff $(field "$s" CapEff), CapPrm $(field "$s" CapPrm)," \
		"CapBnd $(field "$s" CapBnd), NoNewPrivs $(field "$s" NoNewPrivs), fds $fds"
	[ "$(ids "$s" Uid)" = "0 0 0 0" ] &&
	[ "$(field "$s" CapEff)" = 0000000000001000 ] &&
	[ "$(field "$s" CapPrm)" = 0000000000001000 ] &&
	[ "$(field "$s" CapBnd)" = 0000000000001000 ] &&
	[ "$(field "$s" NoNewPrivs)" = 1 ] && [ "$fds" = "0 1 2 3" ]
}

# inet_sockets HOST PID: how many TCP/UDP sockets PID holds (ss -p).
inet_sockets() { X "$1" ss -Htuanp 2>/dev/null | grep -c "pid=$2,"; }

# marked HOST PID PORT MARK: PID's two UDP sockets are on PORT and carry
# MARK ("none": no fwmark), as ss -e shows them.
marked() {
	local lines n m
	lines=$(X "$1" ss -Hulenp 2>/dev/null | grep "pid=$2,")
	printf '%s\n' "$lines" | sed 's/^/    /'
	n=$(printf '%s\n' "$lines" | grep -c ":$3 ")
	if [ "$4" = none ]; then
		m=$(printf '%s\n' "$lines" | grep -c "fwmark:")
		[ "$n" = 2 ] && [ "$m" = 0 ]
	else
		m=$(printf '%s\n' "$lines" | grep -c "fwmark:$4")
		[ "$n" = 2 ] && [ "$m" = 2 ]
	fi
}

fwmark_is() {
	local v
	v=$(wgc "$1" show "$2" fwmark)
	echo "wg show $2 fwmark: '$v' (expected '$3')"
	[ "$v" = "$3" ]
}

# log_has LOG TEXT: TEXT is in $W/LOG.log (within 5 s: the daemon may
# still be writing its start-up lines when its socket answers).
log_has() {
	wait_for 5 grep -qF -- "$2" "$W/$1.log" && return 0
	echo "no \"$2\" in $1.log:"
	tail -n 15 "$W/$1.log"
	return 1
}

# exits_with PID STATUS: the daemon (a child of this shell) exits within
# 10 s, with STATUS.
exits_with() {
	local n rc
	n=0
	while running "$1" && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	running "$1" && { echo "pid $1 still running after 10 s"; return 1; }
	wait "$1"
	rc=$?
	echo "pid $1 exited with status $rc (expected $2)"
	[ "$rc" = "$2" ]
}
gone_pid() { ! running "$1"; }
no_file() { [ ! -e "$1" ]; }

keygen a; keygen b

# ------------------------------------------------------ 1. confinement --
check "start zerowgd on a as root (2 crypto threads)" wg_start a "$A" "$IMPL_A" ZWG_WORKERS=2 ||
	finish
check "start zerowgd on b" wg_start b "$B" "$IMPL_B" || finish
P=$(wg_pid "$A")
H1=$(helper_of "$P")
check "every thread of zerowgd: no capabilities, no_new_privs, seccomp 2, uid $RUN_USER" \
	confined "$P" "$RUN_UID" "$RUN_GID"
check "zerowgd does not run as zerowg up's user zerowg (uid $SERVER_UID)" \
	[ "$RUN_UID" != "$SERVER_UID" -a "$RUN_UID" != 0 ]
check "its log says: sandbox: user $RUN_USER (uid $RUN_UID), no capabilities, no_new_privs, seccomp filter" \
	log_has "$A" "sandbox: user $RUN_USER (uid $RUN_UID), no capabilities, no_new_privs, seccomp filter"
check "the fwmark helper (pid ${H1:-none}) is root with CAP_NET_ADMIN alone and fds 0-3" \
	helper_ok "$H1"
check "zerowgd holds its two UDP sockets" [ "$(inet_sockets a "$P")" = 2 ]
check "the helper holds no TCP or UDP socket" [ "$(inet_sockets a "${H1:-x}")" = 0 ]

# ------------------------------------------------------------ 2. fwmark --
wg_conf a b 4 && wg_conf b a 4 && tun_up a && tun_up b || fail "configure a and b"
check "ping a -> b through the sandboxed daemon" ping_ok a "$(t4 b)"
check "wg set $A fwmark 0x1234 (the helper sets it)" wgc a set "$A" fwmark 0x1234
check "wg show $A fwmark says 0x1234" fwmark_is a "$A" 0x1234
check "both UDP sockets carry fwmark 0x1234 (ss -e)" marked a "$P" "$(port a)" 0x1234
check "ping a -> b with the mark set" ping_ok a "$(t4 b)"
NEWP=$(($(port a) + 1000))
check "wg set $A listen-port $NEWP (a rebind as $RUN_USER)" wgc a set "$A" listen-port "$NEWP"
check "the new sockets on $NEWP carry fwmark 0x1234 too" marked a "$P" "$NEWP" 0x1234
wgc b set "$B" peer "$(pub a)" endpoint "$(u4 a):$NEWP"
check "ping b -> a on the new port" ping_ok b "$(t4 a)"
check "wg set $A fwmark 0 clears it" wgc a set "$A" fwmark 0
check "wg show $A fwmark says off" fwmark_is a "$A" off
check "the sockets have no mark any more" marked a "$P" "$NEWP" none
check "the helper is still the same process" [ "$(helper_of "$P")" = "$H1" ]

# ----------------------------------------------------------- 3. SIGTERM --
kill "$P"
check "SIGTERM: zerowgd exits with status 0" exits_with "$P" 0
rm -f "$W/$A.pid"
check "the UAPI socket file is removed" wait_for 5 no_file "$SOCK"
check "the helper is gone" wait_for 5 gone_pid "$H1"
check "the interface is gone" wait_for 5 sh -c "! ip netns exec $(H a) ip link show $A"

# ----------------------------------------------------------- 4. kill -9 --
check "start zerowgd on a again" wg_start a "$A" "$IMPL_A" || finish
P=$(wg_pid "$A")
H2=$(helper_of "$P")
check "it has a helper (pid ${H2:-none})" helper_ok "$H2"
kill -9 "$P"
check "kill -9 of zerowgd: the helper removes the socket file" wait_for 5 no_file "$SOCK"
check "and exits" wait_for 5 gone_pid "$H2"
wg_stop "$A"

check "start zerowgd on a again" wg_start a "$A" "$IMPL_A" || finish
P=$(wg_pid "$A")
H2=$(helper_of "$P")
rm -f "$SOCK"
check "rm of the socket file: zerowgd, as $RUN_USER, still sees it and exits 0" exits_with "$P" 0
rm -f "$W/$A.pid"
check "its helper exits too" wait_for 5 gone_pid "${H2:-x}"
wait_for 5 sh -c "! ip netns exec $(H a) ip link show $A" >/dev/null 2>&1

# ---------------------------------------------------- 5. helper killed --
check "start zerowgd on a again" wg_start a "$A" "$IMPL_A" || finish
P=$(wg_pid "$A")
H3=$(helper_of "$P")
wg_conf a b 4 && tun_up a || fail "configure a"
wgc b set "$B" peer "$(pub a)" endpoint "$(ep a 4)"
check "ping a -> b" ping_ok a "$(t4 b)"
kill -9 "$H3"
check "kill -9 of the helper: zerowgd logs \"the fwmark helper (pid $H3) exited\"" \
	wait_for 5 log_has "$A" "the fwmark helper (pid $H3) exited"
check "zerowgd keeps running" alive "$A"
check "the tunnel still works (ping a -> b)" ping_ok a "$(t4 b)" 5
check "wg show still answers" wgc a show "$A"
check_not "wg set fwmark 0x99 now fails (no helper, no capability)" wgc a set "$A" fwmark 0x99
check "the failure is explained in the log" log_has "$A" "the fwmark helper is gone"
check "wg set of anything else still works (persistent-keepalive)" \
	wgc a set "$A" peer "$(pub b)" persistent-keepalive 25
kill "$P"
check "SIGTERM: zerowgd still exits with status 0" exits_with "$P" 0
rm -f "$W/$A.pid"
check "it logs that the socket file is left behind" log_has "$A" "is left behind"
rm -f "$SOCK"
wait_for 5 sh -c "! ip netns exec $(H a) ip link show $A" >/dev/null 2>&1

# ------------------------------------------------ 6. wg-quick full tunnel --
QA=zq${ID}a
X b ip addr add 10.200.0.1/32 dev lo
cat >"$W/$QA.conf" <<EOF
[Interface]
Address = $(t4 a)/24, $(t6 a)/64
ListenPort = $(port a)
PrivateKey = $(cat "$W/a.key")

[Peer]
PublicKey = $(pub b)
Endpoint = $(ep b 4)
AllowedIPs = 0.0.0.0/0, ::/0
EOF
chmod 600 "$W/$QA.conf"
wgq_up() {
	X a env WG_QUICK_USERSPACE_IMPLEMENTATION="$ZWGD" LOG_LEVEL=verbose \
		timeout 30 wg-quick up "$W/$QA.conf" >>"$W/$QA.log" 2>&1 </dev/null ||
		{ tail -n 5 "$W/$QA.log"; return 1; }
}
wgq_down() {
	X a timeout 30 wg-quick down "$W/$QA.conf" >>"$W/$QA.log" 2>&1 </dev/null ||
		{ tail -n 5 "$W/$QA.log"; return 1; }
}
if ! command -v nft >/dev/null 2>&1 && ! command -v iptables-restore >/dev/null 2>&1; then
	fail "full tunnel: wg-quick needs nft (Debian package nftables) or iptables-restore"
elif check "wg-quick up with AllowedIPs = 0.0.0.0/0, ::/0 (zerowgd daemonises)" wgq_up; then
	QP=$(X a ss -Hulnp | grep ":$(port a) " | sed -n 's/.*pid=\([0-9]*\),.*/\1/p' | head -n 1)
	QH=$(helper_of "${QP:-x}")
	check "the daemonised zerowgd (pid ${QP:-none}) is confined on every thread" \
		confined "${QP:-x}" "$RUN_UID" "$RUN_GID"
	check "and has its helper" helper_ok "$QH"
	mark=$(wgc a show "$QA" fwmark)
	check "wg-quick set a fwmark ($mark)" [ -n "$mark" -a "$mark" != off ]
	check "zerowgd's sockets carry it" marked a "$QP" "$(port a)" "$mark"
	check "ping a -> b's tunnel address" ping_ok a "$(t4 b)"
	through_tunnel() {
		local t0 t1
		t0=$(wgc a show "$QA" transfer | awk '{ print $3 }')
		X a ping -q -n -c 3 -i 0.3 -W 2 10.200.0.1 || return 1
		t1=$(wgc a show "$QA" transfer | awk '{ print $3 }')
		echo "a's tx to b: $t0 -> $t1"
		[ "$t1" -gt "$t0" ]
	}
	check "ping a -> 10.200.0.1 (b's loopback) goes through the tunnel" through_tunnel
	check "wg-quick down" wgq_down
	check "no process left in a, no interface, no socket file" wait_for 10 sh -c \
		"[ -z \"\$(ip netns pids $(H a))\" ] && ! ip netns exec $(H a) ip link show $QA && [ ! -e /var/run/wireguard/$QA.sock ]"
fi

# ---------------------------------------- 7. root of a user namespace --
# As nobody: a user and network namespace of its own (unshare -r -n), the
# TUN opened by tunfd_exec (as root, in a) and passed by fd, and the UAPI
# socket on a tmpfs over /run/wireguard (unshare -m).
UI=zu${ID}a
if [ ! -x "$TUNFD_EXEC" ]; then
	fail "tests/tools/tunfd_exec is built" "missing $TUNFD_EXEC (make $TUNFD_EXEC)"
else
	chmod 0755 "$W"
	cp "$ZWGD" "$W/zerowgd-test" && chmod 0755 "$W/zerowgd-test"
	ip netns exec "$(H a)" env LOG_LEVEL=verbose "$TUNFD_EXEC" "$UI" setpriv --reuid=nobody --regid=nogroup \
		--clear-groups unshare --user --map-root-user --net --mount sh -c \
		"mount -t tmpfs tmpfs /run/wireguard 2>/dev/null || mount -t tmpfs tmpfs /var/run/wireguard; \
		 exec '$W/zerowgd-test' -f --tun-fd \$TUN_FD '$UI'" \
		>>"$W/$UI.log" 2>&1 &
	UP=$!
	echo "$UP" >"$W/$UI.pid"
	started() { log_has "$UI" "Device started"; }
	inner() { nsenter -t "$UP" -U -n -m "$@"; }
	if check "zerowgd as root of its own user namespace (nobody outside) starts" wait_for 10 started; then
		check "every thread: no capabilities, no_new_privs, seccomp 2, still nobody outside" \
			confined "$UP" "$(id -u nobody)" "$(id -g nobody)"
		check "its log says it stays uid 0 of that namespace" \
			log_has "$UI" "staying uid 0 of this user namespace"
		UH=$(helper_of "$UP")
		check "it has a helper (pid ${UH:-none}) with the namespace's CAP_NET_ADMIN alone" \
			sh -c "[ '$(field /proc/"${UH:-x}"/status CapEff)' = 0000000000001000 ]"
		check "wg set fwmark 0x4321 inside the namespace" inner wg set "$UI" fwmark 0x4321
		check "wg show says 0x4321 there" sh -c "[ \"\$(nsenter -t $UP -U -n -m wg show $UI fwmark)\" = 0x4321 ]"
		check "its sockets there carry the mark" sh -c \
			"[ \"\$(nsenter -t $UP -n ss -Hulen | grep -c fwmark:0x4321)\" = 2 ]"
		kill "$UP"
		check "SIGTERM: it exits with status 0" exits_with "$UP" 0
		check "its helper is gone" wait_for 5 gone_pid "${UH:-x}"
	fi
	kill -9 "$UP" 2>/dev/null
	rm -f "$W/$UI.pid"
	wait_for 5 sh -c "! ip netns exec $(H a) ip link show $UI" >/dev/null 2>&1

	# The same without CAP_NET_ADMIN (out of the bounding set before the
	# exec): no helper at all, and fwmark is refused.
	ip netns exec "$(H a)" env LOG_LEVEL=verbose "$TUNFD_EXEC" "$UI" setpriv --reuid=nobody \
		--regid=nogroup --clear-groups unshare --user --map-root-user --net --mount sh -c \
		"mount -t tmpfs tmpfs /run/wireguard 2>/dev/null || mount -t tmpfs tmpfs /var/run/wireguard; \
		 exec setpriv --bounding-set=-net_admin '$W/zerowgd-test' -f --tun-fd \$TUN_FD '$UI'" \
		>"$W/$UI.log" 2>&1 &
	UP=$!
	echo "$UP" >"$W/$UI.pid"
	if check "without CAP_NET_ADMIN it starts too" wait_for 10 started; then
		check "it logs that there is no helper" log_has "$UI" "no CAP_NET_ADMIN: no fwmark helper"
		check "no child process" sh -c "[ -z '$(helper_of "$UP")' ]"
		check "every thread: no capabilities, no_new_privs, seccomp 2" \
			confined "$UP" "$(id -u nobody)" "$(id -g nobody)"
		check_not "wg set fwmark 0x4321 is refused" inner wg set "$UI" fwmark 0x4321
		check "wg set listen-port still works" inner wg set "$UI" listen-port 51999
		kill "$UP"
		check "SIGTERM: it exits with status 0" exits_with "$UP" 0
	fi
	kill -9 "$UP" 2>/dev/null
	rm -f "$W/$UI.pid"
fi

# An ordinary user in the host's namespaces cannot make an interface:
# zerowgd says why and the ways that work, and exits.
as_user_refused() {
	ip netns exec "$(H a)" timeout 10 setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$W/zerowgd-test" -f "zw${ID}u" >"$W/user.out" 2>&1
	st=$?
	cat "$W/user.out"
	[ "$st" -ne 0 ] && [ "$st" -ne 124 ] && grep -q 'CAP_NET_ADMIN' "$W/user.out" &&
		grep -q 'unshare -U -r -n' "$W/user.out" && grep -q -- '--tun-fd' "$W/user.out"
}
if [ -x "$W/zerowgd-test" ]; then
	check "as an ordinary user without a TUN: exits, naming what it needs and the ways" \
		as_user_refused
	check_not "as an ordinary user: no interface was made" X a ip link show "zw${ID}u"
fi

finish
