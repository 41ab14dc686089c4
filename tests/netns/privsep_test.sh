#!/bin/sh
# privsep_test.sh - `zerowg up` started as root splits in two: a small
# privileged helper (its child, src/server/priv.c) keeps root for the TUN,
# the socket files, netlink and NAT; the server proper runs as the user
# zerowg with no capabilities, no_new_privs and a seccomp filter
# (src/common/sandbox.c).  Checked from outside, against the real server in
# its namespace: /proc status of every server thread, which process holds
# which socket (ss, /proc/PID/fd against /proc/PID/net/*), the helper's
# short fd list, the store handed over to zerowg, a client through the
# split end to end; then the failure paths: a refused and a killing system
# call (ZWG_TEST_SECCOMP_PROBE, test builds only), kill -9 of the helper,
# SIGTERM, bad --user and a store of another user; and `up --tun-fd N` with
# a TUN this test opened (tests/tools/tunfd_exec).
T=privsep
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

TUNFD_EXEC=$O/tools/tunfd_exec
ZUSER=zerowg
need wg wg-quick ss pgrep setpriv nft "$ZWG" "$ZWGD"
if ! ZUID=$(id -u "$ZUSER" 2>/dev/null) || ! ZGID=$(id -g "$ZUSER" 2>/dev/null); then
	fail "prerequisite: the user $ZUSER exists" \
		"create it: useradd --system --no-create-home --shell /usr/sbin/nologin $ZUSER (./dev does)"
	finish
fi
hosts s a
UAPI=/var/run/wireguard/$(sif).sock
TABLE="zerowg_$(sif)"
ROOT_CAPEFF=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
LOGMARK=0

# ------------------------------------------------------------- helpers --

# log_mark: later log_since look only at server.log lines written after it.
log_mark() { LOGMARK=$(wc -l <"$W/server.log" 2>/dev/null || echo 0); }
log_new() { tail -n +$((LOGMARK + 1)) "$W/server.log"; }
# log_since TEXT: a line with TEXT since the last log_mark.
log_since() {
	if log_new | grep -qF -- "$1"; then
		log_new | grep -F -- "$1" | head -n 1
		return 0
	fi
	echo "server.log has no line with \"$1\" since this start"
	return 1
}
# log_helper_pid: the helper pid the last start-up line names.
log_helper_pid() {
	log_new | sed -n 's/.*a helper (pid \([0-9]*\)) keeps root.*/\1/p' | tail -n 1
}

# helper_of PID: the server's children (the helper, only it).
helper_of() { pgrep -P "$1"; }

# one_helper: exactly one child of the server; HP is its pid.
one_helper() {
	local kids
	kids=$(helper_of "$SP" | tr '\n' ' ')
	HP=${kids%% *}
	echo "children of the server ($SP): $kids"
	[ -n "$HP" ] && [ "$kids" = "$HP " ]
}

# field FILE NAME: the value(s) of NAME: in a /proc status file, blanks
# squeezed.
field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "$1"; }

# threads_sandboxed PID: every thread of PID has no capability at all, the
# no_new_privs bit, a seccomp filter and zerowg's uid in all four fields.
threads_sandboxed() {
	local t n bad f v
	n=0 bad=0
	for t in /proc/"$1"/task/*; do
		[ -r "$t/status" ] || continue
		n=$((n + 1))
		for f in CapEff CapPrm CapInh CapAmb CapBnd; do
			v=$(field "$t/status" "$f")
			if [ -z "$v" ] || [ $((0x$v)) -ne 0 ]; then
				echo "thread ${t##*/} ($(cat "$t/comm")): $f is '$v', not 0"
				bad=1
			fi
		done
		v=$(field "$t/status" NoNewPrivs)
		[ "$v" = 1 ] || { echo "thread ${t##*/}: NoNewPrivs '$v'"; bad=1; }
		v=$(field "$t/status" Seccomp)
		[ "$v" = 2 ] || { echo "thread ${t##*/}: Seccomp '$v' (2 = filter)"; bad=1; }
		v=$(field "$t/status" Uid)
		[ "$v" = "$ZUID $ZUID $ZUID $ZUID" ] ||
			{ echo "thread ${t##*/}: Uid '$v', not $ZUID x4"; bad=1; }
	done
	echo "$n threads of $1 checked"
	# The server has a manager, a loop and crypto threads: one thread
	# alone means the task list was not read.
	[ "$n" -ge 2 ] && [ "$bad" = 0 ]
}

# threads_groups PID: every thread has zerowg's gid (all four) and no
# supplementary group but zerowg's (root's group 0 would be kept by a
# setuid without setgroups).
threads_groups() {
	local t bad v g
	bad=0
	for t in /proc/"$1"/task/*; do
		[ -r "$t/status" ] || continue
		v=$(field "$t/status" Gid)
		[ "$v" = "$ZGID $ZGID $ZGID $ZGID" ] ||
			{ echo "thread ${t##*/}: Gid '$v', not $ZGID x4"; bad=1; }
		for g in $(field "$t/status" Groups); do
			[ "$g" = "$ZGID" ] || { echo "thread ${t##*/}: supplementary group $g"; bad=1; }
		done
	done
	[ "$bad" = 0 ]
}

# sock_inodes PID: the inodes of the sockets PID has open, one a line.
sock_inodes() {
	local f l
	for f in /proc/"$1"/fd/*; do
		l=$(readlink "$f" 2>/dev/null) || continue
		case $l in socket:\[*\]) l=${l#socket:[}; echo "${l%]}" ;; esac
	done
}

# unix_inode PID PATH: inode of the unix socket bound to PATH, as PID's
# network namespace lists it.
unix_inode() { awk -v p="$2" '$8 == p { print $7 }' /proc/"$1"/net/unix; }

# holds_unix PID PATH: PID has the socket bound to PATH open.
holds_unix() {
	local ino
	ino=$(unix_inode "$1" "$2")
	echo "socket file $2: inode '$ino'; sockets of $1: $(sock_inodes "$1" | tr '\n' ' ')"
	[ -n "$ino" ] && sock_inodes "$1" | grep -qx "$ino"
}

# udp_owner_is PID: ss in s shows PID on the server's UDP port.
udp_owner_is() {
	X s ss -H -uanp "sport = :$SPORT"
	X s ss -H -uanp "sport = :$SPORT" | grep -q "pid=$1,"
}

# no_inet_sockets PID: ss in s shows PID on no TCP, UDP or raw socket, and
# none of its socket fds is in its namespace's udp/tcp/raw tables.
no_inet_sockets() {
	local ino f bad
	bad=0
	if X s ss -H -tuwanp | grep "pid=$1,"; then
		echo "ss shows inet sockets of $1 (above)"
		bad=1
	fi
	for ino in $(sock_inodes "$1"); do
		for f in udp udp6 tcp tcp6 raw raw6; do
			if awk -v i="$ino" 'NR > 1 && $10 == i { found = 1 } END { exit !found }' \
				/proc/"$1"/net/$f; then
				echo "fd socket:[$ino] of $1 is in /proc/$1/net/$f"
				bad=1
			fi
		done
	done
	[ "$bad" = 0 ]
}

# helper_fds_minimal PID [EXTRA]: the helper's fds are /dev/null, the
# server's log (its stderr) and exactly one unix socket (the socketpair to
# the server), and nothing else: no key pipe, no UDP/TCP socket, no TUN, no
# store file.  EXTRA (a readlink target) is allowed once more.
helper_fds_minimal() {
	local f l n_unix bad log unix
	n_unix=0 bad=0
	log=$(readlink -f "$W/server.log")
	unix=$(awk 'NR > 1 { print $7 }' /proc/"$1"/net/unix)
	for f in /proc/"$1"/fd/*; do
		l=$(readlink "$f" 2>/dev/null) || continue
		echo "fd ${f##*/} -> $l"
		case $l in
		/dev/null|"$log") ;;
		socket:\[*\])
			l=${l#socket:[}; l=${l%]}
			if printf '%s\n' "$unix" | grep -qx "$l"; then
				n_unix=$((n_unix + 1))
			else
				echo "  ^ not a unix socket"
				bad=1
			fi
			;;
		*)
			if [ -n "${2:-}" ] && [ "$l" = "$2" ]; then
				continue
			fi
			echo "  ^ not expected"
			bad=1
			;;
		esac
	done
	echo "$n_unix unix socket(s)"
	[ "$bad" = 0 ] && [ "$n_unix" = 1 ]
}

# not_dumpable PID: /proc/PID/status belongs to root although PID runs as
# zerowg: the kernel's mark of a process that is not dumpable (the
# directory /proc/PID itself keeps the process's uid either way).
not_dumpable() {
	local o
	o=$(stat -c %u "/proc/$1/status")
	echo "/proc/$1/status is owned by uid $o; the process runs as uid" \
		"$(field /proc/"$1"/status Uid)"
	[ "$o" = 0 ]
}
# zerowg_reads PID FILE: zerowg itself (same uid) can read /proc/PID/FILE.
zerowg_reads() {
	setpriv --reuid="$ZUID" --regid="$ZGID" --clear-groups cat "/proc/$1/$2" >/dev/null
}

# caps_are_roots PID: the helper's effective capabilities and uid are root's.
caps_are_roots() {
	local v u
	v=$(field /proc/"$1"/status CapEff)
	u=$(field /proc/"$1"/status Uid)
	echo "helper $1: CapEff $v (root here: $ROOT_CAPEFF), Uid $u"
	[ -n "$v" ] && [ "$v" = "$ROOT_CAPEFF" ] && [ "$u" = "0 0 0 0" ]
}

# store_handed_over: $W/data is zerowg's, mode 0700, and so is every
# file in it.
store_handed_over() {
	local d others
	d=$(stat -c '%u %a' "$W/data")
	others=$(find "$W/data" -mindepth 1 ! -uid "$ZUID")
	echo "$W/data: uid and mode '$d'"
	[ -n "$others" ] && { echo "not zerowg's:"; find "$W/data" ! -uid "$ZUID" -exec ls -ldn {} +; }
	[ "$d" = "$ZUID 700" ] && [ -z "$others" ] && [ -n "$(find "$W/data" -mindepth 1)" ]
}
store_roots() {
	local o
	o=$(find "$W/data" ! -uid 0)
	[ -z "$o" ] || { echo "not root's:"; find "$W/data" ! -uid 0 -exec ls -ldn {} +; return 1; }
}

gone() {
	if [ -e "$1" ]; then
		echo "$1 still exists"
		return 1
	fi
}
not_running() {
	if running "$1"; then
		echo "pid $1 still running: $(tr '\0' ' ' </proc/"$1"/cmdline 2>/dev/null)"
		return 1
	fi
}
no_link() {
	if X s ip link show "$1" >/dev/null 2>&1; then
		echo "interface $1 still exists in s"
		return 1
	fi
}
table_absent() {
	if X s nft list table inet "$TABLE" >/dev/null 2>&1; then
		echo "nftables table inet $TABLE is still there"
		return 1
	fi
}
status_is() {
	local st
	st=$(cat "$W/server.status" 2>/dev/null)
	echo "exit status of zerowg up: '$st' (expected $1)"
	[ "$st" = "$1" ]
}
# zcli_t ARGS...: zcli bounded in time (a server whose loop is stuck would
# keep the CLI waiting for ever).
zcli_t() { timeout 10 "$ZWG" "$@" --admin-socket "$ADMIN"; }
peer_listed() {
	local out
	out=$(zcli_t peer list 2>&1)
	printf '%s\n' "$out"
	printf '%s\n' "$out" | grep -qw "$1"
}

# started: after a srv_start, SP and HP are the server and its helper.
started() {
	SP=$(srv_pid)
	HP=$(helper_of "$SP" | head -n 1)
}
# client_again: the client's wg-quick again, so that it handshakes with
# the restarted server at once.
client_again() {
	client_down a
	client_up a "$CONF" "$ZWGD"
}

# ---------------------------------------------------- 1. start as root --

check "init: a sealed store is created (as root)" srv_init --subnet "$SUBNET4" || finish
check "init: the store is root's before the first start" store_roots
log_mark
check "up: the server starts as root and answers on its admin socket" srv_start || finish
started
check "up: start-up line names the mode: started as root, runs as $ZUSER (uid $ZUID)" \
	log_since "zerowg: privileges: started as root; the server runs as $ZUSER (uid $ZUID)"
check "up: sandbox line: user $ZUSER, no capabilities, no_new_privs, seccomp filter" \
	log_since "zerowg: sandbox: user $ZUSER (uid $ZUID), no capabilities, no_new_privs, seccomp filter"
check "up: the helper pid in the start-up line is the server's child" \
	sh -c "[ -n '$HP' ] && [ '$(log_helper_pid)' = '$HP' ]"

# -------------------------------------------------- 2. the server proper --

check "server: exactly one child process (the helper)" one_helper
check "server: every thread: Cap{Eff,Prm,Inh,Amb,Bnd} 0, NoNewPrivs 1, Seccomp 2, Uid $ZUID" \
	threads_sandboxed "$SP"
check "server: every thread: Gid $ZGID, no supplementary group of root's" threads_groups "$SP"
check "server: holds the UDP socket (ss shows its pid on port $SPORT)" udp_owner_is "$SP"
check "server: holds the admin socket ($ADMIN)" holds_unix "$SP" "$ADMIN"
check "server: holds the UAPI socket ($UAPI)" holds_unix "$SP" "$UAPI"
check "server: not dumpable (/proc/PID/status is root's although it runs as $ZUSER)" \
	not_dumpable "$SP"
check_not "server: $ZUSER itself cannot read the server's /proc/PID/environ" \
	zerowg_reads "$SP" environ
# The method's control: a dumpable process of zerowg's is readable by zerowg.
setpriv --reuid="$ZUID" --regid="$ZGID" --clear-groups sleep 30 &
CTL=$!
wait_for 5 grep -qx sleep "/proc/$CTL/comm"
check "control: $ZUSER can read /proc/PID/environ of its own dumpable process" \
	zerowg_reads "$CTL" environ
check_not "control: not_dumpable says no for that process (its /proc/PID/status is $ZUSER's)" \
	not_dumpable "$CTL"
kill "$CTL" 2>/dev/null
wait "$CTL" 2>/dev/null
check "admin socket file: $ZUSER's, mode 0660" \
	sh -c "[ \"\$(stat -c '%u %a' '$ADMIN')\" = '$ZUID 660' ]"
check "UAPI socket file: root's, mode 0600 (wg(8) runs as root)" \
	sh -c "[ \"\$(stat -c '%u %a' '$UAPI')\" = '0 600' ]"

# ------------------------------------------------------- 3. the helper --

check "helper: no inet socket (ss -tuwanp; fd inodes not in net/udp,udp6,tcp,tcp6,raw,raw6)" \
	no_inet_sockets "$HP"
check "helper: fds are only /dev/null, the log and one unix socket (no key pipe, no store file)" \
	helper_fds_minimal "$HP"
check_not "helper: does not keep the admin socket it handed over" holds_unix "$HP" "$ADMIN"
check_not "helper: does not keep the UAPI socket it handed over" holds_unix "$HP" "$UAPI"
check "helper (the privileged part): CapEff is root's, uid 0" caps_are_roots "$HP"

# -------------------------------------------- 4. the store and the data --

check "store: $W/data and every file in it are $ZUSER's, directory mode 0700" store_handed_over
CONF=$(peer_add alice --allowed-ips "$SUBNET4")
PUB=$(conf_pub "$CONF")
check "peer add: works against the sandboxed server" sh -c "[ -n '$PUB' ]"
check "store: a file written after the drop (peer add) is $ZUSER's too" store_handed_over
check "client a (wg-quick + zerowgd) comes up" client_up a "$CONF" "$ZWGD" || finish
check "client a pings the server's tunnel address $SRV4 (split end to end)" ping_ok a "$SRV4"
check "wg show $(sif) (root, UAPI socket made by the helper) lists the peer" srv_has "$PUB"

# ------------------------------------------- 5. a refused system call --

srv_stop TERM
log_mark
SRV_ENV="ZWG_TEST_SECCOMP_PROBE=netlink"
check "probe netlink: the server starts" srv_start || finish
SRV_ENV=""
started
check "probe netlink: socket(AF_NETLINK) after the filter is refused (EPERM)" \
	log_since "seccomp probe: socket(AF_NETLINK) Operation not permitted"
check "probe netlink: the server still serves its admin API (peer list)" peer_listed alice
check "probe netlink: and its data plane (wg show lists the peer)" srv_has "$PUB"
client_again >/dev/null 2>&1
check "probe netlink: the client still pings the server" ping_ok a "$SRV4"

# -------------------------------------------- 6. a killing system call --

srv_stop TERM
log_mark
SRV_ENV="ZWG_TEST_SECCOMP_PROBE=execve"
srv_start >"$W/probe.out" 2>&1
SRV_ENV=""
HP=$(log_helper_pid)
srv_stop TERM	# collects the exit status
check "probe execve: the probe ran after the filter" log_since "seccomp probe: execve(/bin/true)"
if log_new | grep -qF "sandbox: sanitizer build:"; then
	# LeakSanitizer needs a weaker filter: there execve fails with EPERM
	# (the server says so at start-up) and the server goes on.
	check "probe execve (sanitizer build): execve is refused with EPERM" \
		log_since "seccomp probe: execve returned: Operation not permitted"
	skip "probe execve: SIGSYS (status 159) is for release filters, not a sanitizer build"
else
	check_not "probe execve: execve did not return" log_since "seccomp probe: execve returned"
	check "probe execve: the server died of SIGSYS (status 159)" status_is 159
fi
check "probe execve: the helper's pid was in the start-up line" test -n "$HP"
check "probe execve: the helper exits" wait_for 5 not_running "$HP"
check "probe execve: the UAPI socket file is removed" wait_for 5 gone "$UAPI"
check "probe execve: the admin socket file is removed (or never made)" gone "$ADMIN"
check "probe execve: the interface is gone" wait_for 5 no_link "$(sif)"
check "probe execve: no NAT table left" table_absent
log_mark
check "probe execve: the store is intact: a normal start works" srv_start || finish
started
check "probe execve: the peer is still stored" peer_listed alice
check "probe execve: and on the data plane" srv_has "$PUB"

# ---------------------------------------------- 7. kill -9 of the helper --

kill -9 "$HP" 2>/dev/null
check "helper killed: the server exits within 5 s" wait_for 5 not_running "$SP"
srv_stop TERM
check "helper killed: the server says the privileged part (pid $HP) has exited" \
	log_since "the privileged part (pid $HP) has exited"
check "helper killed: the server's exit status is 1" status_is 1
log_mark
check "helper killed: a restart works (stale socket files replaced)" srv_start || finish
started
check "helper killed: the peer is still stored" peer_listed alice
client_again >/dev/null 2>&1
check "helper killed: after the restart the client pings the server" ping_ok a "$SRV4"

# ------------------------------------------------------------ 8. SIGTERM --

NAT_WAS=no
X s nft list table inet "$TABLE" >/dev/null 2>&1 && NAT_WAS=yes
log_mark
kill -TERM "$SP"
# The server waits for its helper's clean-up before it exits: the moment
# it is gone, so are the helper and the socket files.
check "SIGTERM: the server exits within 10 s" wait_for 10 not_running "$SP"
check "SIGTERM: the helper was gone when the server exited" not_running "$HP"
check "SIGTERM: no UAPI socket file left when the server exited" gone "$UAPI"
check "SIGTERM: no admin socket file left when the server exited" gone "$ADMIN"
check_not "SIGTERM: the server waited for its helper (no \"did not exit\" error)" \
	log_since "did not exit within"
srv_stop TERM	# collects the exit status
check "SIGTERM: the server exits 0" status_is 0
check "SIGTERM: the helper stays gone" wait_for 5 not_running "$HP"
check "SIGTERM: the interface is gone" no_link "$(sif)"
check "SIGTERM: no NAT table left (it was there: $NAT_WAS)" table_absent

# ---------------------------------------------------------- 9. bad input --

NOUSER=zwgnouser$ID
while getent passwd "$NOUSER" >/dev/null; do NOUSER=${NOUSER}x; done
check "--user $NOUSER: exit 1, names the user and useradd" \
	up_fails "the user \"$NOUSER\", which does not exist: create it (useradd" \
	--data "$W/data" --user "$NOUSER"
check "--user $NOUSER: the message also offers --user NAME" \
	grep -qF "or pass --user NAME" "$W/fail.out"
check "--user root: refused" up_fails "--user root is root: the server must run as a user" \
	--data "$W/data" --user root
check "--user 0 (root's uid): refused" up_fails "--user 0 is root" --data "$W/data" --user 0
# A copy of the store, given to nobody: the server must not take it over.
cp -a "$W/data" "$W/data.nobody"
chown -R nobody: "$W/data.nobody"
check "store of another user (nobody): refused, names the directory and the chown -R fix" \
	up_fails "the store $W/data.nobody belongs to uid $(id -u nobody)" --data "$W/data.nobody"
check "store of another user: the fix is chown -R $ZUID:$ZGID $W/data.nobody" \
	grep -qF "chown -R $ZUID:$ZGID $W/data.nobody" "$W/fail.out"
check "store of another user: left as it was (still nobody's)" \
	sh -c "[ -z \"\$(find '$W/data.nobody' ! -user nobody)\" ]"
rm -rf "$W/data.nobody"
check "the real store is still $ZUSER's after the refusals" store_handed_over

# ---------------------------------------------------------- 10. --tun-fd --

TIF=zw${ID}t
# tun_start: `zerowg up --tun-fd N` in s with a TUN (IFF_VNET_HDR) that
# tunfd_exec opened as $TIF; waits as srv_start does (15 s at most).
tun_start() {
	local pid end
	printf '%s\n' "$UNSEAL" | ip netns exec "$(H s)" env LOG_LEVEL=verbose \
		"$TUNFD_EXEC" "$TIF" "$ZWG" up --data "$W/data" --key-fd 0 --admin-socket "$ADMIN" \
		--interface "$(sif)" --port "$SPORT" --endpoint "$(u4 s):$SPORT" --tun-fd '{TUNFD}' \
		>>"$W/server.log" 2>&1 &
	pid=$!
	echo "$pid" >"$W/server.pid"
	end=$(($(date +%s) + 15))
	while [ "$(date +%s)" -lt "$end" ]; do
		if [ -S "$ADMIN" ] && X s ip link show "$TIF" 2>/dev/null | grep -q ',UP'; then
			timeout 3 "$ZWG" peer list --admin-socket "$ADMIN" >/dev/null 2>&1 &&
				return 0
		fi
		if ! running "$pid"; then
			echo "zerowg up --tun-fd exited during start-up:"
			log_new | tail -n 20
			return 1
		fi
		sleep 0.1
	done
	echo "zerowg up --tun-fd: the admin API does not answer after 15 s"
	# Where it is stuck: each thread's wait channel, the TUN fds' flags
	# (04000 is O_NONBLOCK).
	for t in /proc/"$pid"/task/*; do
		echo "thread ${t##*/} $(cat "$t/comm" 2>/dev/null): $(cat "$t/wchan" 2>/dev/null)"
	done
	for t in /proc/"$pid"/fd/*; do
		[ "$(readlink "$t" 2>/dev/null)" = /dev/net/tun ] &&
			echo "fd ${t##*/} -> /dev/net/tun, $(grep flags "/proc/$pid/fdinfo/${t##*/}")"
	done
	return 1
}

# one_tun_fd PID: PID has exactly one fd on /dev/net/tun.
one_tun_fd() {
	local f n
	n=0
	for f in /proc/"$1"/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = /dev/net/tun ] || continue
		echo "fd ${f##*/} -> /dev/net/tun"
		n=$((n + 1))
	done
	[ "$n" = 1 ]
}

if [ ! -x "$TUNFD_EXEC" ]; then
	fail "tests/tools/tunfd_exec is built" "missing $TUNFD_EXEC (make $TUNFD_EXEC)"
	finish
fi
log_mark
# Each step below is bounded in time: a server stuck here must not stop
# the test from saying what still works.
check "--tun-fd: the server starts on a TUN this test opened ($TIF)" tun_start
started
check "--tun-fd: the log names the interface from --tun-fd" \
	log_since "interface $TIF (from --tun-fd) instead of $(sif)"
check "--tun-fd: still root mode with the sandbox" \
	log_since "zerowg: sandbox: user $ZUSER (uid $ZUID), no capabilities, no_new_privs, seccomp filter"
check "--tun-fd: no interface $(sif) was made besides it" no_link "$(sif)"
check "--tun-fd: wg show $TIF works (its UAPI socket) and lists the peer" \
	sh -c "ip netns exec '$(H s)' timeout 5 wg show '$TIF' peers | grep -qxF '$PUB'"
check "--tun-fd: $TIF has the server's address $SRV4" \
	sh -c "ip netns exec '$(H s)' ip -o addr show dev '$TIF' | grep -q ' $SRV4/'"
check "--tun-fd: every server thread is still sandboxed" threads_sandboxed "$SP"
check "--tun-fd: the helper kept no TUN fd after handing it over" helper_fds_minimal "$HP"
check "--tun-fd: the server holds the TUN once (the inherited fd is closed after the hand-over)" \
	one_tun_fd "$SP"
client_again >/dev/null 2>&1
check "--tun-fd: the client pings the server" ping_ok a "$SRV4"
srv_stop TERM
check "--tun-fd: SIGTERM: exit 0" status_is 0
check "--tun-fd: SIGTERM: the helper is gone" wait_for 5 not_running "$HP"
check "--tun-fd: SIGTERM: no UAPI socket file left" gone "/var/run/wireguard/$TIF.sock"
check "--tun-fd: SIGTERM: no admin socket file left" gone "$ADMIN"
check "--tun-fd: SIGTERM: $TIF is gone" wait_for 5 no_link "$TIF"

# No /dev/net/tun (a container started without --device /dev/net/tun):
# in a mount namespace of its own, /dev/net is an empty tmpfs.
no_tun_dev() {
	printf '%s\n' "$UNSEAL" | timeout 20 ip netns exec "$(H s)" unshare -m sh -c \
		"mount -t tmpfs none /dev/net && exec '$ZWG' up --data '$W/data' --key-fd 0 \
		 --admin-socket '$W/notun.sock' --interface '$(sif)' --port '$SPORT'" \
		>"$W/notun.out" 2>&1
	st=$?
	cat "$W/notun.out"
	[ "$st" = 1 ] && grep -q '/dev/net/tun' "$W/notun.out" &&
		grep -qi 'modprobe tun\|--device /dev/net/tun' "$W/notun.out"
}
check "no /dev/net/tun: exit 1, naming it and the fix" no_tun_dev
check "no /dev/net/tun: no admin socket left behind" gone "$W/notun.sock"
check "no /dev/net/tun: the store still opens (nothing lost)" \
	sh -c "printf '%s\n' '$UNSEAL' | '$ZWG' export --data '$W/data' --key-fd 0 | grep -q PrivateKey"
finish
