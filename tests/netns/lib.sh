# tests/netns/lib.sh - shared helpers for the network-namespace tests.
#
# Sourced (by POSIX sh) by every tests/netns/*_test.sh after it sets T to
# its name.  It builds throw-away "hosts" (network namespaces) joined by veth
# to one bridge, starts WireGuard implementations in them, configures them
# with the standard wg tool and prints one verdict line per check:
#     PASS <test>: <what>
#     FAIL <test>: <what>   (then a reason and the tail of the daemon logs)
#
# Everything a run creates carries its PID, so copies of a test can run at
# the same time: namespaces are zwt-<pid>-<host>, WireGuard interfaces
# zw<pid><host> (the UAPI socket directory /var/run/wireguard is shared by all
# namespaces, so those names must be unique on the machine).  Traffic only
# ever goes to addresses inside these namespaces.  The EXIT trap kills every
# process left in our namespaces, deletes them, removes our sockets and the
# per-run directory $W (logs, keys, data files; KEEP=1 keeps it).
#
# Which implementation runs where:
#   IMPL_A, IMPL_B  command templates, {IF} is replaced by the interface name;
#                   default for both: "$O/zerowgd-test -f {IF}"
#   O               build directory (default: build)
#   LOG_LEVEL       passed to the daemons (default: verbose)
# Underlay: host number N (its position in `hosts`) has 192.168.77.N/24 and
# fd00:77::N/64 on eth0.  Tunnel: 10.77.0.N/24 and fd00:aa::N/64.
#
# The helpers, by group (each is described where it is defined):
#   verdicts   check, check_not, pass, fail, skip, need, finish
#   hosts      hosts, ns_add, H, X, u4, u6, t4, t6, ifn, port, ep
#   keys       keygen, pub, key, pskgen
#   daemons    wg_start, wg_stop, wg_pid, running, alive, wait_exit,
#              is_zerowgd, impl_name
#   config     wgc, wg_conf, wg_pair, tun_up
#   observing  hs, rx, tx, endpoint_of, endpoint_is, wait_hs, hs_both,
#              hs_none, wait_for, sysval, iface_rx_packets
#   traffic    ping_ok, ping_none, mkdata, wait_listen, tcp_xfer
#   UAPI       uapi, uapi_halfclose

set -u

O=${O:-build}
case $O in /*) ;; *) O=$(pwd)/$O ;; esac
ZWG_IMPL="$O/zerowgd-test -f {IF}"
WGGO_IMPL="wireguard-go -f {IF}"
IMPL_A=${IMPL_A:-$ZWG_IMPL}
IMPL_B=${IMPL_B:-$ZWG_IMPL}
# Some wireguard-go builds refuse to run without it when a kernel module
# could exist; zerowgd ignores it.
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
export PATH="$PATH:/usr/sbin:/sbin"

T=${T:-netns}
ID=$$
NSPFX="zwt-$ID"
W=$(mktemp -d "${TMPDIR:-/tmp}/zwg-netns-$T.XXXXXX") || exit 1
NHOSTS=0
HOSTS=""
npass=0
nfail=0

# ---------------------------------------------------------------- cleanup --

lib_cleanup() {
	trap - EXIT HUP INT PIPE TERM
	local ns pids i f ifn
	# Daemons first (the namespaces cannot go while their processes live).
	for f in "$W"/*.pid; do
		[ -f "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null
	done
	for ns in $(ns_all); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	i=0
	while [ $i -lt 30 ]; do
		pids=""
		for ns in $(ns_all); do
			pids="$pids$(ip netns pids "$ns" 2>/dev/null)"
		done
		[ -z "$pids" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	for ns in $(ns_all); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	done
	for ns in $(ns_all); do
		ip netns del "$ns" 2>/dev/null
	done
	# Sockets of interfaces this run named (a daemon killed with -9
	# leaves its socket behind).
	for f in /var/run/wireguard/zw"$ID"*.sock /var/run/wireguard/zq"$ID"*.sock; do
		[ -e "$f" ] && rm -f "$f"
	done
	if [ -n "${KEEP:-}" ]; then
		echo "# logs kept in $W"
	else
		rm -rf "$W"
	fi
}
trap lib_cleanup EXIT
trap "exit 129" HUP
trap "exit 130" INT
trap "exit 141" PIPE
trap "exit 143" TERM

# Every namespace of this run (hosts, the switch, extra ones from ns_add).
ns_all() {
	ip netns list 2>/dev/null | awk -v p="$NSPFX-" 'index($1, p) == 1 { print $1 }'
}

# ------------------------------------------------------------- verdicts --

pass() {
	echo "PASS $T: $1"
	npass=$((npass + 1))
}

# fail WHAT [REASON]: prints the verdict, the reason and the daemon logs.
fail() {
	echo "FAIL $T: $1"
	nfail=$((nfail + 1))
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    | /'
	show_logs
}

# show_logs: the last lines of each daemon log not shown by an earlier failure.
show_logs() {
	local f n seen
	for f in "$W"/*.log; do
		[ -s "$f" ] || continue
		n=$(wc -l <"$f")
		seen=$(cat "$f.shown" 2>/dev/null || echo 0)
		[ "$n" -lt "$seen" ] && seen=0	# the log was replaced
		echo "$n" >"$f.shown"
		if [ "$n" -le "$seen" ]; then
			echo "    --- ${f##*/}: no new lines"
			continue
		fi
		echo "    --- tail of ${f##*/}"
		tail -n +$((seen + 1)) "$f" | tail -n "${LOG_TAIL:-15}" | sed 's/^/    | /'
	done
}

# check WHAT CMD...: runs CMD (output kept for the failure report).
check() {
	local what
	what=$1; shift
	if "$@" >"$W/check.out" 2>&1; then
		pass "$what"
	else
		fail "$what" "$(tail -n 8 "$W/check.out")"
		return 1
	fi
}

# check_not WHAT CMD...: passes when CMD fails.
check_not() {
	local what
	what=$1; shift
	if "$@" >"$W/check.out" 2>&1; then
		fail "$what" "expected failure, but it succeeded: $*"
		return 1
	else
		pass "$what"
	fi
}

skip() {
	echo "SKIP $T: $1"
}

# finish: last line of every test script.
finish() {
	echo "# $T: $npass passed, $nfail failed"
	[ "$nfail" -eq 0 ]
	exit $?
}

# need CMD...: the test cannot run without these tools.
need() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			fail "prerequisite: $c is not installed"
			finish
		fi
	done
}

# ---------------------------------------------------------------- hosts --

H() { echo "$NSPFX-$1"; }
X() { local h; h=$1; shift; ip netns exec "$NSPFX-$h" "$@"; }
idx() { eval "echo \${IDX_$1}"; }
u4() { echo "192.168.77.$(idx "$1")"; }
u6() { echo "fd00:77::$(idx "$1")"; }
t4() { echo "10.77.0.$(idx "$1")"; }
t6() { echo "fd00:aa::$(idx "$1")"; }
ifn() { echo "zw$ID$1"; }
port() { echo $((51820 + $(idx "$1"))); }
# ep HOST [4|6]: HOST's WireGuard endpoint on the underlay.
ep() {
	if [ "${2:-4}" = 6 ]; then
		echo "[$(u6 "$1")]:$(port "$1")"
	else
		echo "$(u4 "$1"):$(port "$1")"
	fi
}

# ns_add NAME: a bare namespace (loopback up), not on the switch.
ns_add() {
	ip netns add "$NSPFX-$1" || return 1
	X "$1" ip link set lo up
	X "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 2>/dev/null
	return 0
}

# hosts NAME...: one namespace per name, each with eth0 on a shared bridge.
hosts() {
	local h n
	if [ "$NHOSTS" -eq 0 ]; then
		ns_add sw || { fail "setup: ip netns add"; finish; }
		X sw ip link add br0 type bridge
		X sw ip link set br0 up
	fi
	for h in "$@"; do
		NHOSTS=$((NHOSTS + 1))
		n=$NHOSTS
		eval "IDX_$h=$n"
		HOSTS="$HOSTS $h"
		ns_add "$h" || { fail "setup: ip netns add $h"; finish; }
		X sw ip link add "p$n" type veth peer name eth0 netns "$(H "$h")"
		X sw ip link set "p$n" master br0 up
		X "$h" ip link set eth0 up
		X "$h" ip addr add "$(u4 "$h")/24" dev eth0
		X "$h" ip addr add "$(u6 "$h")/64" dev eth0 nodad
	done
}

# ----------------------------------------------------------------- keys --

# keygen NAME: $W/NAME.key, NAME.pub
keygen() {
	(umask 077; wg genkey >"$W/$1.key")
	wg pubkey <"$W/$1.key" >"$W/$1.pub"
}
pub() { cat "$W/$1.pub"; }
key() { echo "$W/$1.key"; }
# pskgen NAME: $W/NAME.psk
pskgen() { (umask 077; wg genpsk >"$W/$1.psk"); }

# -------------------------------------------------------------- daemons --

# impl_cmd TEMPLATE IFNAME
impl_cmd() { printf '%s\n' "$1" | sed "s/{IF}/$2/g"; }
is_zerowgd() { case $1 in *zerowgd*) return 0 ;; esac; return 1; }
impl_name() { if is_zerowgd "$1"; then echo zerowgd; else echo wireguard-go; fi; }

# wg_start HOST IFNAME TEMPLATE [VAR=value...]: starts the implementation in
# HOST's namespace (logs in $W/IFNAME.log), waits for its UAPI socket.
wg_start() {
	local h i tmpl cmd n
	h=$1 i=$2 tmpl=$3; shift 3
	cmd=$(impl_cmd "$tmpl" "$i")
	# Not through X: $! must be the daemon itself (ip execs env, env execs sh,
	# sh execs the daemon), not a subshell.
	ip netns exec "$(H "$h")" env LOG_LEVEL="${LOG_LEVEL:-verbose}" "$@" sh -c "exec $cmd" \
		>>"$W/$i.log" 2>&1 &
	echo $! >"$W/$i.pid"
	echo "$h" >"$W/$i.host"
	n=0
	while [ $n -lt 100 ]; do
		if [ -S "/var/run/wireguard/$i.sock" ] && X "$h" ip link show "$i" >/dev/null 2>&1; then
			return 0
		fi
		if ! running "$(cat "$W/$i.pid")"; then
			echo "$cmd in $h: the daemon exited"
			return 1
		fi
		sleep 0.1
		n=$((n + 1))
	done
	echo "$cmd in $h: no UAPI socket /var/run/wireguard/$i.sock after 10 s"
	return 1
}

wg_pid() { cat "$W/$1.pid" 2>/dev/null; }
# running PID: the process exists and is not a zombie.
running() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	case $(sed "s/.*) //" "/proc/$1/stat" 2>/dev/null) in Z*|X*|"") return 1 ;; esac
	return 0
}
# alive IFNAME...: the daemons serving these interfaces are running.
alive() {
	local i
	for i in "$@"; do
		running "$(wg_pid "$i")" || { echo "the daemon for $i is not running"; return 1; }
	done
}

# wg_stop IFNAME: SIGTERM, wait up to 5 s, then SIGKILL.
wg_stop() {
	local p n
	p=$(wg_pid "$1") || return 0
	kill "$p" 2>/dev/null
	n=0
	while running "$p" && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -9 "$p" 2>/dev/null
	rm -f "$W/$1.pid"
	# The kernel removes the TUN device after the process is gone; a new
	# daemon for the same name must wait for that.
	if [ -f "$W/$1.host" ]; then
		wait_for 5 sh -c "! ip netns exec '$(H "$(cat "$W/$1.host")")' ip link show '$1'" >/dev/null 2>&1
	fi
	[ -e "/var/run/wireguard/$1.sock" ] && rm -f "/var/run/wireguard/$1.sock"
	return 0
}

# wait_exit IFNAME SECONDS: true once the daemon has exited.
wait_exit() {
	local p n
	p=$(wg_pid "$1")
	n=0
	while [ $n -lt $(($2 * 10)) ]; do
		running "$p" || return 0
		sleep 0.1
		n=$((n + 1))
	done
	echo "daemon pid $p still running after $2 s"
	return 1
}

# ---------------------------------------------------------- configuring --

# wgc HOST ARGS...: the wg tool inside HOST.
wgc() { local h; h=$1; shift; X "$h" wg "$@"; }

# tun_up HOST [IFNAME]: tunnel addresses (v4 /24, v6 /64) and link up.
tun_up() {
	local h i
	h=$1 i=${2:-$(ifn "$1")}
	X "$h" ip addr add "$(t4 "$h")/24" dev "$i" &&
	X "$h" ip addr add "$(t6 "$h")/64" dev "$i" nodad &&
	X "$h" ip link set "$i" up
}

# wg_conf HOST PEER [4|6] [more wg-set peer args]: HOST's interface gets its
# key, its port and PEER (tunnel /32 and /128, endpoint in family 4 or 6;
# family "-" for no endpoint).
wg_conf() {
	local h p fam e
	h=$1 p=$2 fam=${3:-4}
	shift 2; [ $# -gt 0 ] && shift
	e=""
	[ "$fam" != - ] && e="endpoint $(ep "$p" "$fam")"
	wgc "$h" set "$(ifn "$h")" listen-port "$(port "$h")" private-key "$(key "$h")" \
		peer "$(pub "$p")" allowed-ips "$(t4 "$p")/32,$(t6 "$p")/128" $e "$@"
}

# wg_pair A B [4|6] [ENV...]: IMPL_A on A and IMPL_B on B, keys, each other
# as peers (with endpoints of family 4 or 6), tunnel addresses, links up.
wg_pair() {
	local a b fam
	a=$1 b=$2 fam=${3:-4}
	shift 2; [ $# -gt 0 ] && shift
	keygen "$a"; keygen "$b"
	wg_start "$a" "$(ifn "$a")" "$IMPL_A" "$@" || return 1
	wg_start "$b" "$(ifn "$b")" "$IMPL_B" "$@" || return 1
	wg_conf "$a" "$b" "$fam" && wg_conf "$b" "$a" "$fam" &&
	tun_up "$a" && tun_up "$b"
}

# ------------------------------------------------------------ observing --

# hs HOST PEER: latest-handshake (unix seconds, 0 = none) of PEER at HOST.
hs() {
	wgc "$1" show "${3:-$(ifn "$1")}" latest-handshakes 2>/dev/null |
		awk -v k="$(pub "$2")" '$1 == k { print $2 }'
}
# rx HOST PEER / tx HOST PEER: transfer counters of PEER at HOST.
rx() {
	wgc "$1" show "$(ifn "$1")" transfer 2>/dev/null |
		awk -v k="$(pub "$2")" '$1 == k { print $2 }'
}
tx() {
	wgc "$1" show "$(ifn "$1")" transfer 2>/dev/null |
		awk -v k="$(pub "$2")" '$1 == k { print $3 }'
}
endpoint_of() {
	wgc "$1" show "$(ifn "$1")" endpoints 2>/dev/null |
		awk -v k="$(pub "$2")" '$1 == k { print $2 }'
}

# wait_hs HOST PEER [SECONDS]: until HOST has a handshake with PEER.
wait_hs() {
	local n v
	n=0
	while [ $n -lt $((${3:-10} * 10)) ]; do
		v=$(hs "$1" "$2")
		[ -n "$v" ] && [ "$v" != 0 ] && return 0
		sleep 0.1
		n=$((n + 1))
	done
	echo "no handshake with $2 at $1 after ${3:-10} s"
	return 1
}

# wait_for SECONDS CMD...: until CMD succeeds (polled every 0.1 s).
# tun_lock: a test that runs something as a user opens /dev/net/tun to
# users and restores its mode; that mode is the whole machine's, so such
# tests take this lock (held until the test's shell exits) before they
# read the old mode, and two of them never interleave a change and a
# restore.  Waits 10 minutes at most.
tun_lock() {
	local d
	d=/run/lock; [ -d "$d" ] || d=/tmp
	exec 8>"$d/zerowg-tests-dev-net-tun.lock" || return 1
	flock -w 600 8
}

# tagged_pids REGEX: the live processes with an environment line matching
# REGEX.  Tests that run things as another user tag them with a variable,
# so that cleanup finds every one, whoever it runs as.
tagged_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$p" = "/proc/$$" ] && continue
		tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -q "$1" || continue
		running "${p#/proc/}" && echo "${p#/proc/}"
	done
}
# kill_tagged REGEX: TERM to every tagged process, KILL after 3 s.
kill_tagged() {
	local pids n
	pids=$(tagged_pids "$1")
	[ -n "$pids" ] && kill $pids 2>/dev/null
	n=0
	while [ -n "$(tagged_pids "$1")" ] && [ $n -lt 30 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	pids=$(tagged_pids "$1")
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	return 0
}

wait_for() {
	local n lim
	lim=$(($1 * 10)); shift
	n=0
	while [ $n -lt $lim ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n + 1))
	done
	"$@"
}

# ping_ok HOST ADDR [SECONDS] [ping args]: one echo reply within SECONDS
# (ping sends one request a second until then).
ping_ok() {
	local h a t
	h=$1 a=$2 t=${3:-10}
	shift 2; [ $# -gt 0 ] && shift
	X "$h" ping -q -n -c 1 -W 1 -w "$t" "$@" "$a"
}
# ping_none HOST ADDR [COUNT] [ping args]: true when no reply comes back.
ping_none() {
	local h a c
	h=$1 a=$2 c=${3:-3}
	shift 2; [ $# -gt 0 ] && shift
	! X "$h" ping -q -n -c "$c" -i 0.5 -W 1 -w $((c + 2)) "$@" "$a"
}

# -------------------------------------------------------------- traffic --

# mkdata NAME MEGABYTES: random file $W/NAME
mkdata() { head -c $(($2 * 1048576)) /dev/urandom >"$W/$1"; }

# wait_listen HOST PORT [tcp|udp]
wait_listen() {
	local opt
	opt=-Hltn; [ "${3:-tcp}" = udp ] && opt=-Hlun
	wait_for 5 sh -c "ip netns exec '$(H "$1")' ss $opt 'sport = :$2' | grep -q ."
}

# tcp_xfer FROM TO ADDR FILE: sends $W/FILE with nc from FROM to ADDR (an
# address of TO) and compares the sha256 of what arrived.
tcp_xfer() {
	local from to addr f lp sum1 sum2
	from=$1 to=$2 addr=$3 f=$4
	rm -f "$W/$f.recv"
	ip netns exec "$(H "$to")" timeout 60 nc -l -n "$addr" 5001 >"$W/$f.recv" 2>"$W/$f.nc-l.err" &
	lp=$!
	wait_listen "$to" 5001 || { echo "receiver never listened"; kill $lp 2>/dev/null; return 1; }
	X "$from" timeout 60 nc -N -n -w 20 "$addr" 5001 <"$W/$f" || echo "sender: nc failed"
	wait $lp
	sum1=$(sha256sum <"$W/$f" | cut -d' ' -f1)
	sum2=$(sha256sum <"$W/$f.recv" | cut -d' ' -f1)
	echo "sent $(wc -c <"$W/$f") bytes sha256 $sum1, received $(wc -c <"$W/$f.recv") bytes sha256 $sum2"
	[ "$sum1" = "$sum2" ]
}

# sysval HOST FILE: a /proc or /sys file read inside HOST.
sysval() { X "$1" cat "$2"; }
# iface_rx_packets HOST IFNAME: packets the kernel took in on IFNAME.
iface_rx_packets() { X "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }

# endpoint_is HOST PEER EXPECTED: HOST's `wg show endpoints` for PEER.
endpoint_is() {
	local e
	e=$(endpoint_of "$1" "$2")
	echo "endpoint of $2 at $1: '$e' (expected '$3')"
	[ "$e" = "$3" ]
}
# hs_both A B [SECONDS]: both sides have a handshake with each other.
hs_both() { wait_hs "$1" "$2" "${3:-5}" && wait_hs "$2" "$1" "${3:-5}"; }
# hs_none HOST PEER: HOST has no handshake with PEER.
hs_none() {
	local v
	v=$(hs "$1" "$2")
	echo "latest-handshake of $2 at $1: '$v'"
	[ "$v" = 0 ]
}

# uapi SOCKET REQUEST: sends REQUEST (a printf format) to a UAPI socket the
# way wg(8) does - the connection stays open while the answer comes - and
# prints the answer.
uapi() {
	{ printf "$2"; sleep 0.5; } | timeout 5 nc -U -q0 "$1"
}
# uapi_halfclose SOCKET REQUEST: the same, but the client shuts down its
# sending side right after the request (nc -N, socat and most scripts).
uapi_halfclose() {
	printf "$2" | timeout 5 nc -U -N "$1"
}
