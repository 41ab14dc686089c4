#!/usr/bin/env bash
# peers_bench.sh - what it costs a daemon to hold many peers: the time of
# one `wg setconf` with N peers (default 100,000) through the UAPI socket,
# the daemon's RSS before and after (bytes per peer), and the time of a
# `wg show IF dump` of all of them.
#
#   bench/peers_bench.sh [-n PEERS] 'IMPL_CMD {IF}'
#   e.g. bench/peers_bench.sh 'build/zerowgd -f {IF}'
#        bench/peers_bench.sh -n 10000 'wireguard-go -f {IF}'
#
# The implementation runs in a throw-away network namespace (name and
# interface unique to this process, removed on exit, on error and on
# Ctrl-C), inside `timeout` as a safety net, with its interface up (as on
# a server that adds peers while running).  Peers get random 32-byte public keys (any
# 32 bytes are a valid WireGuard public key to the UAPI), one /32 allowed
# IP each (10.x.y.z) and an endpoint 10.255.x.y:51820; the namespace has
# no route there and nothing is sent (no handshake starts without traffic
# or a keepalive).
#
# Output: "key value" lines.  set_s is the wall time of `wg setconf` (wg
# parses the file and writes one set request; wg_cpu_s is its own share);
# daemon_cpu_s is the daemon's CPU time during the set; rss_*_kib are VmRSS
# before (a fresh daemon, interface up, no key) and after; bytes_per_peer is their
# difference per peer.  Needs root.  Prints figures and asserts nothing.
set -euo pipefail

N=100000
while getopts n:h opt; do
    case $opt in
        n) N=$OPTARG ;;
        *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -eq 1 && $1 == *'{IF}'* ]] || { echo "usage: $0 [-n PEERS] 'IMPL_CMD {IF}'" >&2; exit 2; }
[[ $N =~ ^[0-9]+$ && $N -ge 1 && $N -le 1000000 ]] || { echo "peers_bench: -n \"$N\" is not 1..1000000" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "peers_bench: needs root (network namespace, TUN)" >&2; exit 1; }
for t in ip wg timeout pgrep base64 fold awk; do
    command -v "$t" >/dev/null || { echo "peers_bench: missing $t" >&2; exit 1; }
done

NS=zwg-pb-$$
IF=zpb$$
SOCK=/var/run/wireguard/$IF.sock
TMP=$(mktemp -d /tmp/zwg-peers.XXXXXX)
TPID=
DPID=
cmd=${1//\{IF\}/$IF}

cleanup() {
    local i
    set +e
    if [[ -n $DPID ]]; then
        kill -TERM "$DPID" 2>/dev/null
        for i in $(seq 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DPID" 2>/dev/null
    fi
    [[ -n $TPID ]] && kill -KILL "$TPID" 2>/dev/null
    wait 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    # the socket is ours: its name holds our pid
    rm -f "$SOCK"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }  # utime + stime
HZ=$(getconf CLK_TCK)

ip netns add "$NS"
ip -n "$NS" link set lo up

export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
ip netns exec "$NS" timeout -k 5 900 bash -c "exec $cmd" >"$TMP/impl.log" 2>&1 </dev/null &
TPID=$!
for ((i = 0; i < 100; i++)); do
    [[ -S $SOCK ]] && ip -n "$NS" link show "$IF" >/dev/null 2>&1 && break
    kill -0 "$TPID" 2>/dev/null || { cat "$TMP/impl.log" >&2; echo "peers_bench: '$cmd' exited" >&2; exit 1; }
    sleep 0.1
done
[[ -S $SOCK ]] || { cat "$TMP/impl.log" >&2; echo "peers_bench: no socket $SOCK after 10 s" >&2; exit 1; }
DPID=$(pgrep -P "$TPID" | head -n1)
[[ -n $DPID ]] || { echo "peers_bench: cannot find the daemon's pid" >&2; exit 1; }
ip -n "$NS" link set "$IF" up

# The configuration: one [Peer] per random key.  Each 33 random bytes make
# 44 base64 characters (exactly, so no stage of the pipe is cut short); of
# those, 43 carry 258 bits: the 43rd is rounded down to a multiple of 4
# (its low two bits unused) and "=" appended, a canonical 32-byte key.
umask 077
{
    printf '[Interface]\nPrivateKey = %s\n' "$(wg genkey)"
    head -c $((N * 33)) /dev/urandom | base64 -w0 | fold -w 44 |
        awk 'BEGIN { b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" }
        {
            i = NR
            last = index(b64, substr($0, 43, 1)) - 1
            key = substr($0, 1, 42) substr(b64, int(last / 4) * 4 + 1, 1) "="
            printf "[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\nEndpoint = 10.255.%d.%d:51820\n",
                key, int(i / 65536) % 256, int(i / 256) % 256, i % 256, int(i / 256) % 256, i % 256
        }'
} >"$TMP/peers.conf"

# a get first, so that both implementations have served one request
ip netns exec "$NS" wg show "$IF" >/dev/null
sleep 0.5
rss0=$(kib "$DPID" VmRSS)
tk0=$(ticks "$DPID")
TIMEFORMAT='%U %S'
t0=$(now)
{ time ip netns exec "$NS" timeout 600 wg setconf "$IF" "$TMP/peers.conf" 2>"$TMP/setconf.err"; } 2>"$TMP/time" ||
    { cat "$TMP/setconf.err" >&2; tail -n 3 "$TMP/impl.log" >&2; echo "peers_bench: wg setconf failed" >&2; exit 1; }
t1=$(now)
tk1=$(ticks "$DPID")
sleep 1
rss1=$(kib "$DPID" VmRSS)
t2=$(now)
ip netns exec "$NS" timeout 600 wg show "$IF" dump >"$TMP/dump"
t3=$(now)
lines=$(($(wc -l <"$TMP/dump") - 1))
rss2=$(kib "$DPID" VmRSS)
hwm=$(kib "$DPID" VmHWM)

echo "peers $N"
echo "peers_listed $lines"
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "set_s %.3f\n", b - a }'
awk '{ printf "wg_cpu_s %.3f\n", $1 + $2 }' "$TMP/time"
awk -v a="$tk0" -v b="$tk1" -v hz="$HZ" 'BEGIN { printf "daemon_cpu_s %.2f\n", (b - a) / hz }'
echo "rss_before_kib $rss0"
echo "rss_after_kib $rss1"
awk -v a="$rss0" -v b="$rss1" -v n="$N" 'BEGIN { printf "bytes_per_peer %.0f\n", (b - a) * 1024 / n }'
awk -v a="$t2" -v b="$t3" 'BEGIN { printf "dump_s %.3f\n", b - a }'
echo "rss_after_dump_kib $rss2"
echo "hwm_kib $hwm"
