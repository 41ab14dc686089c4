# tests/netns/server_lib.sh - helpers for the tests of `zerowg up` (the
# server, its admin API and the CLI), sourced after lib.sh.
#
# The server runs in host "s" as `$O/zerowg-test up` with its sealed store
# in $W/data.  Its unseal key is made here and lives only in the shell
# variable UNSEAL: it reaches zerowg through a pipe (--key-fd 0), never a
# file.  The admin socket is $W/admin.sock; the server's interface is
# zw<pid>s, so its UAPI socket is covered by lib.sh's cleanup.  Clients run
# wg-quick with the configs `zerowg peer add` prints, on interfaces
# zq<pid><host> (also covered by lib.sh's cleanup).
#
# Tunnel: SUBNET4 (10.123.0.0/24 by default, the server is .1); the IPv6
# /64 is the ULA the store made at init (srv_ula6 reads it back).

ZWG=${ZWG:-$O/zerowg-test}
ZWGD=${ZWGD:-$O/zerowgd-test}
SUBNET4=${SUBNET4:-10.123.0.0/24}
SRV4=${SUBNET4%.0/*}.1
ADMIN=$W/admin.sock
SPORT=51999
UNSEAL=""

# sif: the server's interface.  cif HOST: a client's.
sif() { echo "zw${ID}s"; }
cif() { echo "zq$ID$1"; }

# srv_init [init options]: a new sealed store in $W/data.
srv_init() {
	UNSEAL=$(head -c 32 /dev/urandom | base64)
	printf '%s\n' "$UNSEAL" | "$ZWG" init --data "$W/data" --key-fd 0 "$@" >"$W/init.out" 2>&1 ||
		{ cat "$W/init.out"; return 1; }
}

# srv_start [up options]: `zerowg up` in host s (log $W/server.log); waits
# until the admin socket answers and the interface is up.  SRV_ENV: extra
# VAR=value words for its environment.  SRV_KEY_FD=none: no --key-fd (the
# server finds its key itself: the keyring, a credential).
srv_start() {
	local n pid keyfd="--key-fd 0"
	[ "${SRV_KEY_FD:-}" = none ] && keyfd=""
	# shellcheck disable=SC2086
	printf '%s\n' "$UNSEAL" | ip netns exec "$(H s)" env LOG_LEVEL=verbose ${SRV_ENV:-} \
		"$ZWG" up --data "$W/data" $keyfd --admin-socket "$ADMIN" \
		--interface "$(sif)" --port "$SPORT" --endpoint "$(u4 s):$SPORT" "$@" \
		>>"$W/server.log" 2>&1 &
	pid=$!
	echo "$pid" >"$W/server.pid"
	n=0
	while [ $n -lt 100 ]; do
		if [ -S "$ADMIN" ] && X s ip link show "$(sif)" 2>/dev/null | grep -q ',UP'; then
			timeout 5 "$ZWG" peer list --admin-socket "$ADMIN" >/dev/null 2>&1 && return 0
		fi
		if ! running "$pid"; then
			echo "zerowg up exited during start-up:"
			tail -n 20 "$W/server.log"
			return 1
		fi
		sleep 0.1
		n=$((n + 1))
	done
	echo "zerowg up: not ready after 10 s"
	tail -n 20 "$W/server.log"
	return 1
}

srv_pid() { cat "$W/server.pid" 2>/dev/null; }

# srv_stop [SIGNAL]: stops the server (default TERM) and waits for it (10 s
# at most, then KILL).  Its exit status is in $W/server.status.
srv_stop() {
	local p n st
	p=$(srv_pid)
	[ -n "$p" ] || return 0
	kill -"${1:-TERM}" "$p" 2>/dev/null
	n=0
	while running "$p" && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	running "$p" && kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	st=$?
	echo "$st" >"$W/server.status"
	rm -f "$W/server.pid"
	# The kernel removes the TUN interface once the process is gone.
	wait_for 5 sh -c "! ip netns exec '$(H s)' ip link show '$(sif)'" >/dev/null 2>&1
	return 0
}

# zcli ARGS...: the CLI against our server.
zcli() { "$ZWG" "$@" --admin-socket "$ADMIN"; }

# peer_add NAME [options]: prints the client config of the new peer.
peer_add() {
	local name out
	name=$1; shift
	out=$(zcli peer add "$name" --no-qr "$@" 2>&1) || { echo "$out" >&2; return 1; }
	printf '%s\n' "$out" | sed -n '/^----- BEGIN CLIENT CONFIG -----$/,/^----- END CLIENT CONFIG -----$/p' |
		sed '1d;$d'
}

# conf_key CONFIG FIELD: a key from a config ("PrivateKey", "PresharedKey",
# "PublicKey").
conf_key() { printf '%s\n' "$1" | sed -n "s/^$2 *= *//p" | head -n 1; }
# conf_pub CONFIG: the public key of the config's PrivateKey.
conf_pub() { conf_key "$1" PrivateKey | wg pubkey; }

# client_up HOST CONFIG IMPL: wg-quick up in HOST with CONFIG (DNS removed:
# the namespaces have no resolvconf), IMPL the userspace implementation.
client_up() {
	local h i f
	h=$1 i=$(cif "$1")
	f="$W/$i.conf"
	(umask 077; printf '%s\n' "$2" | sed '/^DNS *=/d' >"$f")
	echo "$h" >"$W/$i.host"
	ip netns exec "$(H "$h")" env WG_QUICK_USERSPACE_IMPLEMENTATION="$3" LOG_LEVEL=verbose \
		wg-quick up "$f" >>"$W/$i.log" 2>&1 || { tail -n 15 "$W/$i.log"; return 1; }
}

client_down() {
	local i
	i=$(cif "$1")
	ip netns exec "$(H "$1")" wg-quick down "$W/$i.conf" >>"$W/$i.log" 2>&1
}

# srv_wg ARGS...: `wg show <server interface> ARGS` in host s.
srv_wg() { X s wg show "$(sif)" "$@"; }
# srv_has PUB: the server's data plane has this peer.
srv_has() { srv_wg peers 2>/dev/null | grep -qxF "$1"; }
srv_lacks() {
	if srv_has "$1"; then
		echo "the server still has peer $1"
		return 1
	fi
	echo "the server has no peer $1"
}
# srv_hs PUB / srv_rx PUB: latest handshake and received bytes at the server.
srv_hs() { srv_wg latest-handshakes 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }
srv_rx() { srv_wg transfer 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }

# srv_ula6: the server's IPv6 tunnel prefix ("fdxx:...::/64").
srv_ula6() {
	X s ip -6 -o addr show dev "$(sif)" scope global 2>/dev/null |
		awk '{ print $4 }' | head -n 1 | sed 's|::1/64$|::/64|'
}
# srv_addr6: the server's IPv6 tunnel address.
srv_addr6() {
	X s ip -6 -o addr show dev "$(sif)" scope global 2>/dev/null |
		awk '{ print $4 }' | head -n 1 | sed 's|/.*||'
}

# same_hs PUB BEFORE: the server's latest handshake with PUB is still BEFORE.
same_hs() {
	local now
	now=$(srv_hs "$1")
	echo "latest handshake of $1: before $2, now $now"
	[ -n "$2" ] && [ "$2" != 0 ] && [ "$now" = "$2" ]
}
# rx_kept PUB BEFORE: received bytes did not go back (no new peer object).
rx_kept() {
	local now
	now=$(srv_rx "$1")
	echo "rx of $1: before $2, now $now"
	[ -n "$now" ] && [ "$now" -ge "$2" ]
}

# audit_has TEXT: the server's audit log has a line with TEXT.
audit_has() { grep -F '"event":' "$W/server.log" | grep -qF "$1"; }

# api PATH: GET an admin API path (curl over the unix socket).
api() { curl -sS --max-time 30 --unix-socket "$ADMIN" "http://zerowg$1"; }

# up_fails WHAT MESSAGE [up options]: `zerowg up` in host s must exit 1
# (not hang, not start) and say MESSAGE; no interface is left behind.
up_fails() {
	local msg st
	msg=$1; shift
	printf '%s\n' "${BAD_KEY:-$UNSEAL}" | ip netns exec "$(H s)" timeout 10 "$ZWG" up \
		--key-fd 0 --admin-socket "$ADMIN" --interface "$(sif)" --port "$SPORT" "$@" \
		>"$W/fail.out" 2>&1
	st=$?
	cat "$W/fail.out"
	echo "exit status $st"
	[ "$st" = 1 ] && grep -qF -- "$msg" "$W/fail.out" &&
		! X s ip link show "$(sif)" >/dev/null 2>&1 && [ ! -e "$ADMIN" ]
}
