#!/usr/bin/env bash
# privsep_bench.sh - what running `zerowg up` without root costs in
# throughput: TCP (and UDP) through the tunnel to the server's own tunnel
# address, for the server started
#   a  as root (privsep root mode: the server runs as zerowg, a helper keeps
#      root; the TUN in the server's network namespace),
#   b  as nobody, rootless, its UDP socket from socket activation
#      (systemd-socket-activate binds it as root and execs setpriv; the TUN
#      lives in the helper's own user + network namespace),
#   c  as nobody, rootless, binding its UDP port itself;
# and, when podman and runc are installed, for comparison:
#   d  the classic rootless container: the same data plane ($O/zerowgd,
#      configured with wg) in the network namespace of a rootless podman
#      container run by nobody, its UDP port published
#      (-p 198.18.99.1:51904:51904/udp: rootlessport forwards it), iperf3 -s
#      the container's process.  The image is made here from this host's
#      own iperf3 and its libraries (podman import; no registry), podman
#      runs with --runtime runc (crun refuses cgroup v1 hybrid hosts), vfs
#      storage and all its state under the temporary directory, and nobody
#      has no /etc/subuid entry (podman's single-uid mapping: /etc/subuid
#      is not touched; podman's /dev/shm/libpod_rootless_lock_<uid> is
#      removed if this run made it).
#
#   bench/privsep_bench.sh [-t SECONDS] [-r REPS] [--no-udp] [--no-podman]
#
#   -t SECONDS  length of each iperf3 run (default 5)
#   -r REPS     repetitions, alternating a b c d a b c d ... (default 3)
#   --no-udp    TCP only
#   --no-podman leave out d
#
# The three servers run at the same time, idle but for the one measured,
# each in its own subnet (10.124.{1,2,3}.0/24, the server .1, the client
# .2) on its own port (51901..51903).  The client is $O/zerowgd (one
# interface per server, configured with wg) in namespace zwg-pb-<pid>-c,
# joined by a veth to zwg-pb-<pid>-s, where the three servers' UDP sockets
# are.  iperf3 -s runs where each server's TUN is: in -s for a, in the
# helper's namespace (nsenter -t HELPER -n, as root) for b and c.
#
# Everything is removed on exit, on error and on Ctrl-C: the two
# namespaces (and every process in them), every process started as nobody
# (tagged ZWG_PB=<pid> in its environment, killed by pid), the UAPI
# sockets, the temporary directory (the stores: ciphertext only; the
# unseal key lives in a shell variable and reaches zerowg through a pipe).
# /dev/net/tun is opened to users (0666) for the run, as Debian ships it,
# and its mode restored (under the netns tests' lock, tun_lock in
# tests/netns/lib.sh).  All traffic stays inside the two namespaces (and
# the helpers' namespaces inside them).  Prints figures, asserts nothing;
# exits 1 only when a step fails.  Like bench/run.sh it holds
# /run/wgbench.lock while it measures.  Needs root, iperf3, jq, wg, nc,
# flock, systemd-socket-activate, setpriv, nsenter, slirp4netns.
set -euo pipefail

T=5
R=3
UDP=1
PODMAN_OK=1
while [[ $# -gt 0 ]]; do
    case $1 in
        -t) T=${2:-}; shift 2 ;;
        -r) R=${2:-}; shift 2 ;;
        --no-udp) UDP=; shift ;;
        --no-podman) PODMAN_OK=; shift ;;
        *) sed -n '2,50p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
[[ $T =~ ^[0-9]+$ && $T -ge 1 && $T -le 60 ]] || { echo "privsep_bench: -t \"$T\" is not 1..60" >&2; exit 2; }
[[ $R =~ ^[0-9]+$ && $R -ge 1 && $R -le 9 ]] || { echo "privsep_bench: -r \"$R\" is not 1..9" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "privsep_bench: needs root (namespaces, TUN)" >&2; exit 1; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
for b in zerowg zerowg-server zerowgd; do
    [[ -x $O/$b ]] || { echo "privsep_bench: $O/$b not found (run make)" >&2; exit 1; }
done
for t in ip wg iperf3 jq nc flock timeout setpriv nsenter systemd-socket-activate slirp4netns stat awk; do
    command -v "$t" >/dev/null || { echo "privsep_bench: missing $t" >&2; exit 1; }
done
id zerowg >/dev/null 2>&1 || { echo "privsep_bench: no user zerowg (./dev makes it)" >&2; exit 1; }

ID=$$
NSS=zwg-pb-$ID-s
NSC=zwg-pb-$ID-c
TAG=ZWG_PB=$ID
NUID=$(id -u nobody)
NGID=$(getent group nogroup | cut -d: -f3 || true)
[[ -n $NGID ]] || NGID=$(id -g nobody)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/zwg-privsep-bench.XXXXXX")
U=$TMP/u
# /dev/net/tun's mode is the whole machine's: the lock the netns tests
# take (tests/netns/lib.sh, tun_lock) before they change and restore it.
TUN_LOCK=/run/lock/zerowg-tests-dev-net-tun.lock
[[ -d /run/lock ]] || TUN_LOCK=/tmp/zerowg-tests-dev-net-tun.lock
exec 7>"$TUN_LOCK"
flock -w 600 7 || { echo "privsep_bench: $TUN_LOCK still held after 600 s" >&2; exit 1; }
TUN_MODE=$(stat -c %a /dev/net/tun)
SHM_LOCK=/dev/shm/libpod_rootless_lock_$NUID
SHM_LOCK_BEFORE=
[[ -e $SHM_LOCK ]] && SHM_LOCK_BEFORE=1
MODES="a b c"
PODMAN_WHY=
if [[ -z $PODMAN_OK ]]; then
    PODMAN_WHY="--no-podman"
elif ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
    PODMAN_WHY="podman or runc not installed (apt-get install --no-install-recommends podman runc)"
    PODMAN_OK=
else
    MODES="a b c d"
fi
UNSEAL=
declare -A SPID HELPER CPID PORT SUB IPERF_PID MED

log() { printf '[privsep_bench] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    for f in "$TMP"/*.log; do
        [[ -s $f ]] || continue
        echo "    --- ${f##*/}" >&2
        tail -n 8 "$f" | sed 's/^/    | /' >&2
    done
    exit 1
}

tagged() {
    local p
    for p in /proc/[0-9]*; do
        [[ $p == "/proc/$$" ]] && continue
        tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qx "$TAG" || continue
        echo "${p#/proc/}"
    done
}
# stop_pids PID...: TERM, 5 s, then KILL.
stop_pids() {
    local i p live
    [[ $# -gt 0 ]] || return 0
    kill "$@" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        live=
        for p in "$@"; do kill -0 "$p" 2>/dev/null && live=1; done
        [[ -z $live ]] && return 0
        sleep 0.1
    done
    kill -9 "$@" 2>/dev/null || true
}
cleanup() {
    local rc=$? pids m ns
    trap - EXIT INT TERM HUP
    set +e
    UNSEAL=
    # The servers first (SIGTERM: they take down their helpers, slirp4netns,
    # interfaces and sockets), then whatever is left.
    pids=
    for m in $MODES; do pids="$pids ${IPERF_PID[$m]:-} ${CPID[$m]:-}"; done
    # shellcheck disable=SC2086
    stop_pids $pids
    pids=
    for m in $MODES; do [[ -n ${SPID[$m]:-} ]] && pids="$pids ${SPID[$m]}"; done
    # shellcheck disable=SC2086
    stop_pids $pids
    [[ -n ${PODMAN_RUN:-} ]] && podman_ns rm -f -t 0 "zwgpb-$ID" >/dev/null 2>&1
    # shellcheck disable=SC2046
    stop_pids $(tagged)
    # podman's lock file for nobody, when this run made it.
    [[ -n ${PODMAN_RUN:-} && -z $SHM_LOCK_BEFORE ]] && rm -f "$SHM_LOCK"
    for ns in "$NSC" "$NSS"; do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        # shellcheck disable=SC2086
        [[ -n $pids ]] && stop_pids $pids
        ip netns del "$ns" 2>/dev/null
    done
    rm -f /var/run/wireguard/zpb"$ID"?.sock /var/run/wireguard/zpc"$ID"?.sock
    chmod "$TUN_MODE" /dev/net/tun
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

XS() { ip netns exec "$NSS" "$@"; }
XC() { ip netns exec "$NSC" "$@"; }
# AS CMD...: as nobody, tagged, its home in $U.
AS() {
    setpriv --reuid="$NUID" --regid="$NGID" --clear-groups \
        env HOME="$U" XDG_DATA_HOME="$U/share" XDG_RUNTIME_DIR="$U/run" "$TAG" "$@"
}

# podman_ns ARGS...: podman as nobody in the server namespace, its state
# under $U.  nsenter --net, not ip netns exec: that one remounts /sys, and
# runc then finds no cgroup mount.
podman_ns() {
    nsenter --net="/run/netns/$NSS" setpriv --reuid="$NUID" --regid="$NGID" --clear-groups \
        env HOME="$U" XDG_RUNTIME_DIR="$U/run" XDG_CONFIG_HOME="$U/config" "$TAG" \
        PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        podman --runtime runc --cgroup-manager=cgroupfs --events-backend=file \
        --storage-driver=vfs --root "$U/pod/root" --runroot "$U/run/pod" "$@"
}

# ------------------------------------------------------------ setup --
ip netns add "$NSS"
ip netns add "$NSC"
XS ip link set lo up
XC ip link set lo up
XS ip link add eth0 type veth peer name eth0 netns "$NSC"
XS ip addr add 198.18.99.1/24 dev eth0
XC ip addr add 198.18.99.2/24 dev eth0
XS ip link set eth0 up
XC ip link set eth0 up

# nobody runs copies of the binaries from a directory it can reach.
chmod 711 "$TMP"
mkdir -p "$TMP/bin" "$U/share" "$U/run"
cp "$O/zerowg" "$O/zerowg-server" "$TMP/bin/"
chmod 755 "$TMP/bin"
chown -R "$NUID:$NGID" "$U"
chmod 700 "$U"
ZWG=$TMP/bin/zerowg
chmod 666 /dev/net/tun
UNSEAL=$(head -c 32 /dev/urandom | base64)

PORT=([a]=51901 [b]=51902 [c]=51903 [d]=51904)
SUB=([a]=1 [b]=2 [c]=3 [d]=4)
# init_store MODE: a new sealed store for MODE (root's for a, nobody's else).
init_store() {
    local m=$1 run=()
    [[ $m != a ]] && run=(AS)
    printf '%s\n' "$UNSEAL" | "${run[@]}" "$ZWG" init --data "$(data_dir "$m")" --key-fd 0 \
        --subnet "10.124.${SUB[$m]}.0/24" --port "${PORT[$m]}" --interface "zpb$ID$m" \
        --endpoint 198.18.99.1 --no-nat --dns 192.0.2.53 >"$TMP/init-$m.log" 2>&1 ||
        die "zerowg init ($m) failed"
}
data_dir() { if [[ $1 == a ]]; then echo "$TMP/data-a"; else echo "$U/data-$1"; fi; }
admin() { if [[ $1 == a ]]; then echo "$TMP/a.sock"; else echo "$U/$1.sock"; fi; }
mkdir -m 700 "$TMP/data-a"

# start MODE: the server, in the background; its pid in SPID.
start() {
    local m=$1 data sock
    data=$(data_dir "$m") sock=$(admin "$m")
    case $m in
    a)
        printf '%s\n' "$UNSEAL" | XS env LOG_LEVEL=info "$ZWG" up --data "$data" --key-fd 0 \
            --admin-socket "$sock" >>"$TMP/server-$m.log" 2>&1 &
        ;;
    b)
        printf '%s\n' "$UNSEAL" | XS systemd-socket-activate --datagram -l "0.0.0.0:${PORT[$m]}" \
            -E LOG_LEVEL=info -E PATH -E HOME="$U" -E XDG_DATA_HOME="$U/share" \
            -E XDG_RUNTIME_DIR="$U/run" -E "$TAG" \
            setpriv --reuid="$NUID" --regid="$NGID" --clear-groups \
            "$ZWG" up --data "$data" --key-fd 0 --admin-socket "$sock" \
            >>"$TMP/server-$m.log" 2>&1 &
        ;;
    c)
        printf '%s\n' "$UNSEAL" | XS setpriv --reuid="$NUID" --regid="$NGID" --clear-groups \
            env HOME="$U" XDG_DATA_HOME="$U/share" XDG_RUNTIME_DIR="$U/run" "$TAG" \
            LOG_LEVEL=info "$ZWG" up --data "$data" --key-fd 0 --admin-socket "$sock" \
            >>"$TMP/server-$m.log" 2>&1 &
        ;;
    esac
    SPID[$m]=$!
}
# ready MODE: waits (15 s at most) until the admin API answers; datagrams
# launch b.
ready() {
    local m=$1 i run=()
    [[ $m != a ]] && run=(AS)
    for ((i = 0; i < 150; i++)); do
        kill -0 "${SPID[$m]}" 2>/dev/null || die "the server ($m) exited during start-up"
        if grep -qs 'listening on UDP port' "$TMP/server-$m.log" &&
           "${run[@]}" timeout 5 "$ZWG" peer list --admin-socket "$(admin "$m")" >/dev/null 2>&1; then
            return 0
        fi
        [[ $m == b ]] && { XS sh -c "printf x | nc -u -w0 127.0.0.1 ${PORT[$m]}" >/dev/null 2>&1 || true; }
        sleep 0.1
    done
    die "the server ($m) did not answer within 15 s"
}

# client MODE: a peer on the server, zerowgd + wg in the client namespace.
client() {
    local m=$1 run=() conf priv psk pub addr ifc i
    [[ $m != a ]] && run=(AS)
    conf=$("${run[@]}" timeout 10 "$ZWG" peer add bench --no-qr --admin-socket "$(admin "$m")" \
        --allowed-ips "10.124.${SUB[$m]}.0/24" 2>&1) || die "peer add ($m): $conf"
    priv=$(sed -n 's/^PrivateKey *= *//p' <<<"$conf")
    psk=$(sed -n 's/^PresharedKey *= *//p' <<<"$conf")
    pub=$(sed -n 's/^PublicKey *= *//p' <<<"$conf")
    addr=$(sed -n 's/^Address *= *\([^,]*\).*/\1/p' <<<"$conf")
    [[ -n $priv && -n $pub && -n $addr ]] || die "peer add ($m): no key or address in its output"
    ifc=zpc$ID$m
    XC env LOG_LEVEL=error "$O/zerowgd" -f "$ifc" >>"$TMP/client-$m.log" 2>&1 &
    CPID[$m]=$!
    for ((i = 0; i < 100; i++)); do
        [[ -S /var/run/wireguard/$ifc.sock ]] && break
        sleep 0.1
    done
    [[ -S /var/run/wireguard/$ifc.sock ]] || die "client zerowgd ($m): no UAPI socket"
    printf '%s\n' "$priv" | XC wg set "$ifc" private-key /dev/stdin peer "$pub" \
        endpoint "198.18.99.1:${PORT[$m]}" allowed-ips "10.124.${SUB[$m]}.0/24"
    if [[ -n $psk ]]; then printf '%s\n' "$psk" | XC wg set "$ifc" peer "$pub" preshared-key /dev/stdin; fi
    XC ip addr add "$addr" dev "$ifc"
    XC ip link set "$ifc" up
    XC ip route add "10.124.${SUB[$m]}.0/24" dev "$ifc"
    XC ping -q -n -c 1 -W 1 -w 15 "10.124.${SUB[$m]}.1" >/dev/null ||
        die "client ($m) cannot ping 10.124.${SUB[$m]}.1 through the tunnel"
}

# in_tun_ns MODE CMD...: CMD where MODE's TUN is.
in_tun_ns() {
    local m=$1; shift
    if [[ $m == a ]]; then XS "$@"; else nsenter -t "${HELPER[$m]}" -n "$@"; fi
}

# start_d: the rootless podman container and zerowgd in its namespace.
start_d() {
    local f spriv spub cpriv cpub ifs ifc i
    mkdir -p "$TMP/rootfs/tmp" "$TMP/rootfs/etc"
    for f in /usr/bin/iperf3 $(ldd /usr/bin/iperf3 | grep -o '/[^ ]*'); do
        mkdir -p "$TMP/rootfs$(dirname "$f")"
        cp -L "$f" "$TMP/rootfs$f"
    done
    tar -C "$TMP/rootfs" -cf "$TMP/rootfs.tar" .
    chmod 644 "$TMP/rootfs.tar"
    PODMAN_RUN=1
    podman_ns import "$TMP/rootfs.tar" "localhost/zwgpb-iperf3:$ID" >"$TMP/podman-d.log" 2>&1 ||
        die "podman import failed"
    podman_ns run -d --name "zwgpb-$ID" -p "198.18.99.1:${PORT[d]}:${PORT[d]}/udp" \
        "localhost/zwgpb-iperf3:$ID" /usr/bin/iperf3 -s -p $((5200 + SUB[d])) \
        >>"$TMP/podman-d.log" 2>&1 || die "podman run failed"
    HELPER[d]=$(podman_ns inspect -f '{{.State.Pid}}' "zwgpb-$ID" 2>>"$TMP/podman-d.log")
    [[ ${HELPER[d]} =~ ^[1-9][0-9]*$ ]] || die "no pid for the container"
    ifs=zpb${ID}d ifc=zpc${ID}d
    spriv=$(wg genkey) cpriv=$(wg genkey)
    spub=$(wg pubkey <<<"$spriv") cpub=$(wg pubkey <<<"$cpriv")
    nsenter -t "${HELPER[d]}" -n env "$TAG" LOG_LEVEL=error "$O/zerowgd" -f "$ifs" \
        >>"$TMP/server-d.log" 2>&1 &
    SPID[d]=$!
    XC env LOG_LEVEL=error "$O/zerowgd" -f "$ifc" >>"$TMP/client-d.log" 2>&1 &
    CPID[d]=$!
    for ((i = 0; i < 100; i++)); do
        [[ -S /var/run/wireguard/$ifs.sock && -S /var/run/wireguard/$ifc.sock ]] && break
        sleep 0.1
    done
    [[ -S /var/run/wireguard/$ifs.sock && -S /var/run/wireguard/$ifc.sock ]] ||
        die "zerowgd (d): no UAPI socket"
    printf '%s\n' "$spriv" | wg set "$ifs" listen-port "${PORT[d]}" private-key /dev/stdin \
        peer "$cpub" allowed-ips "10.124.${SUB[d]}.2/32"
    nsenter -t "${HELPER[d]}" -n ip addr add "10.124.${SUB[d]}.1/24" dev "$ifs"
    nsenter -t "${HELPER[d]}" -n ip link set "$ifs" up
    printf '%s\n' "$cpriv" | XC wg set "$ifc" private-key /dev/stdin peer "$spub" \
        endpoint "198.18.99.1:${PORT[d]}" allowed-ips "10.124.${SUB[d]}.0/24"
    XC ip addr add "10.124.${SUB[d]}.2/32" dev "$ifc"
    XC ip link set "$ifc" up
    XC ip route add "10.124.${SUB[d]}.0/24" dev "$ifc"
    XC ping -q -n -c 1 -W 1 -w 15 "10.124.${SUB[d]}.1" >/dev/null ||
        die "client (d) cannot ping 10.124.${SUB[d]}.1 through the container's published port"
    spriv='' cpriv=''
    log "rootless podman container up (pid ${HELPER[d]}), zerowgd in it, client pings it"
}

for m in $MODES; do
    if [[ $m == d ]]; then
        start_d
        continue
    fi
    init_store "$m"
    start "$m"
    ready "$m"
    if [[ $m != a ]]; then
        HELPER[$m]=$(sed -n 's|.*network namespace of its own (/proc/\([0-9]*\)/ns/net).*|\1|p' \
            "$TMP/server-$m.log" | tail -n 1)
        [[ -n ${HELPER[$m]} ]] || die "no helper pid in the log of $m"
    fi
    client "$m"
    # Not through a function: $! must be iperf3 itself (ip netns exec and
    # nsenter exec it), and it is tagged: b's and c's are in namespaces
    # that `ip netns pids` does not see.
    if [[ $m == a ]]; then
        XS env "$TAG" iperf3 -s -p $((5200 + ${SUB[$m]})) >"$TMP/iperf3-s-$m.log" 2>&1 &
    else
        nsenter -t "${HELPER[$m]}" -n env "$TAG" iperf3 -s -p $((5200 + ${SUB[$m]})) \
            >"$TMP/iperf3-s-$m.log" 2>&1 &
    fi
    IPERF_PID[$m]=$!
    log "server $m up (pid ${SPID[$m]}${HELPER[$m]:+, helper ${HELPER[$m]}}), client pings it"
done
for m in $MODES; do
    for ((i = 0; i < 50; i++)); do
        in_tun_ns "$m" ss -Htln "sport = :$((5200 + ${SUB[$m]}))" | grep -q . && break
        sleep 0.1
    done
done
MODE_LINE_A=$(grep -o 'privileges: [a-z A-Z_]*' "$TMP/server-a.log" | head -n 1)
MODE_LINE_B=$(grep -o 'privileges: [a-z A-Z_]*' "$TMP/server-b.log" | head -n 1)
MODE_LINE_C=$(grep -o 'privileges: [a-z A-Z_]*' "$TMP/server-c.log" | head -n 1)
ACT_B=$(grep -c 'from socket activation' "$TMP/server-b.log" || true)
[[ $ACT_B -ge 1 ]] || die "server b does not say its UDP port came from socket activation"

# iperf MODE tcp|udp: Gbit/s at the receiver.
iperf() {
    local m=$1 args=(-t "$T" -J) out
    [[ $2 == udp ]] && args+=(-u -b 0 -l 1392)
    out=$(XC timeout $((T + 20)) iperf3 -c "10.124.${SUB[$m]}.1" -p $((5200 + ${SUB[$m]})) \
        "${args[@]}") || { echo "-"; return 0; }
    jq -r '.end.sum_received.bits_per_second / 1e9' <<<"$out" | awk '{ printf "%.3f\n", $1 }'
}
median() { sort -g | awk '{ v[++n] = $1 } END { if (!n) { print "-"; exit }
    printf "%.3f\n", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }'; }
cpu_line() { awk '$1 == "cpu" { print $2, $3, $4, $5, $6, $7, $8, $9 }' /proc/stat; }

# The benchmark lock shared with ../shared/bench and bench/run.sh: two
# benchmarks never share the machine.
LOCK=/run/wgbench.lock
exec 8>"$LOCK"
if ! flock -n 8; then
    log "another benchmark holds $LOCK; waiting up to 900 s"
    flock -w 900 8 || die "$LOCK still held after 900 s"
fi
declare -A RES
KINDS=tcp
[[ -n $UDP ]] && KINDS="tcp udp"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
C0=$(cpu_line)
T0=$(date +%s)
for k in $KINDS; do
    for ((r = 1; r <= R; r++)); do
        for m in $MODES; do
            v=$(iperf "$m" "$k")
            RES[$m,$k]="${RES[$m,$k]:-} $v"
            log "$k rep $r/$R mode $m: $v Gbit/s"
        done
    done
done
T1=$(date +%s)
C1=$(cpu_line)
flock -u 8
exec 8>&-
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
STEAL=$(awk -v a="$C0" -v b="$C1" 'BEGIN { n = split(a, x); split(b, y); t = 0
    for (i = 1; i <= n; i++) t += y[i] - x[i]
    printf "%.1f\n", (t > 0) ? 100 * (y[8] - x[8]) / t : 0 }')

echo "seconds_per_run $T"
echo "repetitions $R"
echo "mode_a $MODE_LINE_A"
echo "mode_b $MODE_LINE_B (UDP socket from socket activation)"
echo "mode_c $MODE_LINE_C (binds its own UDP port)"
if [[ -n $PODMAN_OK ]]; then
    echo "mode_d rootless podman $(podman --version | awk '{ print $3 }') (runc $(runc --version | awk 'NR == 1 { print $3 }')): zerowgd in the container's netns, UDP through the published port (rootlessport)"
else
    echo "mode_d skipped: $PODMAN_WHY"
fi
for k in $KINDS; do
    for m in $MODES; do
        echo "${k}_${m}_runs_gbps$(echo "${RES[$m,$k]}" | tr ' ' ',' | sed 's/^,/ /')"
        MED[$m]=$(tr ' ' '\n' <<<"${RES[$m,$k]}" | grep -v '^-\?$' | median)
        echo "${k}_${m}_median_gbps ${MED[$m]}"
    done
    for m in $MODES; do
        [[ $m == a ]] && continue
        awk -v x="${MED[$m]}" -v y="${MED[a]}" -v n="${k}_ratio_${m}_to_a" \
            'BEGIN { if (x + 0 > 0 && y + 0 > 0) printf "%s %.3f\n", n, x / y; else print n, "-" }'
    done
done
echo "steal_pct $STEAL"
echo "wall_s $((T1 - T0))"
echo "loadavg_before $LOAD0"
echo "loadavg_after $LOAD1"
