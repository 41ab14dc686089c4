#!/usr/bin/env bash
# server_bench.sh - the zerowg server with many peers (issue 4): the latency
# of `zerowg peer add` end to end, the time to restart with every peer
# restored and applied, the time of `zerowg peer list`, and the RSS.
#
#   bench/server_bench.sh [-n PEERS] [-m SAMPLES]
#
#   -n PEERS    peers in the store at the end (default 10000)
#   -m SAMPLES  adds timed through the CLI, the last ones (default 200)
#
# $O/zerowg (O=build by default, or ZWG=path) runs as `zerowg up` in a
# throw-away network namespace, inside `timeout` as a safety net; the
# namespace, the interface and its UAPI socket carry this process's pid and
# are removed on exit, on error and on Ctrl-C, as is the temporary directory
# (${TMPDIR:-/tmp}/zwg-server-bench.*: the sealed store, ciphertext only, the
# admin socket and the server's log).  The unseal key is 32 random bytes
# held in a shell variable only: it reaches `zerowg init` and `zerowg up`
# through a pipe (--key-fd 0), never a file.  The client configs that the
# adds return (they hold private keys) go to /dev/null.  Nothing is sent
# anywhere: the peers have no endpoint and the interface has no traffic.
#
# Steps:
#   1. init (subnet 10.0.0.0/P, P as large as N allows), up; N - SAMPLES
#      adds through the admin API (POST /v1/peers, curl over the unix
#      socket, a few hundred per curl run on one connection), then SAMPLES
#      adds with `zerowg peer add NAME` (process start, API call, sealed
#      write with fsync, apply, the config and QR code printed to
#      /dev/null), each timed on its own;
#   2. SIGTERM, then `zerowg up` again: the time from exec until
#      GET /v1/server answers (the API starts after every peer is applied),
#      then a check that `wg show IF peers` lists N peers;
#   3. `zerowg peer list > /dev/null`, 5 times; RSS with N peers.
#
# Output: "key value" lines, as peers_bench.sh.  add_cli_{median,p90,max}_ms
# are the CLI adds (the store holding about N peers); add_api_median_ms is
# curl's time_total of the API adds of the last curl run (no process start);
# restart_s includes `ip netns exec` and `timeout` starting; startup_*_ms
# are the server's own start-up log line.  The store's file system is
# printed (data_fs): on tmpfs an fsync costs nothing.  Needs root.  Prints
# figures and asserts nothing (it exits 1 only when a step fails).
set -euo pipefail

N=10000
M=200
while getopts n:m:h opt; do
    case $opt in
        n) N=$OPTARG ;;
        m) M=$OPTARG ;;
        *) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || { echo "usage: $0 [-n PEERS] [-m SAMPLES]" >&2; exit 2; }
[[ $N =~ ^[0-9]+$ && $N -ge 1 && $N -le 200000 ]] || { echo "server_bench: -n \"$N\" is not 1..200000" >&2; exit 2; }
[[ $M =~ ^[0-9]+$ && $M -ge 1 && $M -le 10000 ]] || { echo "server_bench: -m \"$M\" is not 1..10000" >&2; exit 2; }
((M <= N)) || M=$N
[[ $(id -u) -eq 0 ]] || { echo "server_bench: needs root (network namespace, TUN)" >&2; exit 1; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
ZWG=${ZWG:-$O/zerowg}
[[ -x $ZWG ]] || { echo "server_bench: $ZWG not found (run make)" >&2; exit 1; }
for t in ip wg curl timeout pgrep base64 awk sort stat df du; do
    command -v "$t" >/dev/null || { echo "server_bench: missing $t" >&2; exit 1; }
done

NS=zwg-sb-$$
IF=zsb$$
PORT=51820
UAPI=/var/run/wireguard/$IF.sock
TMP=$(mktemp -d "${TMPDIR:-/tmp}/zwg-server-bench.XXXXXX")
DATA=$TMP/data
ADMIN=$TMP/admin.sock
LOG=$TMP/server.log
LIMIT=$((900 + N / 10))   # seconds any one server may run (safety net)
UNSEAL=
TPID=    # timeout(1), the server's parent
SPID=    # zerowg up

log() { printf '[server_bench] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    [[ -s $LOG ]] && tail -n 15 "$LOG" | sed 's/^/    | /' >&2
    exit 1
}

# stop_server [SIGNAL]: signals the server, waits 30 s at most, then KILL.
# Sets STOP_STATUS (the server's exit status, as timeout(1) passes it on).
STOP_STATUS=
stop_server() {
    local i
    STOP_STATUS=
    [[ -n $TPID ]] || return 0
    if [[ -n $SPID ]]; then kill "-${1:-TERM}" "$SPID" 2>/dev/null || true; fi
    for ((i = 0; i < 300; i++)); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$TPID" 2>/dev/null; then
        log "WARN: the server did not stop within 30 s; KILL"
        kill -KILL "$TPID" 2>/dev/null || true
        if [[ -n $SPID ]]; then kill -KILL "$SPID" 2>/dev/null || true; fi
    fi
    wait "$TPID" 2>/dev/null && STOP_STATUS=0 || STOP_STATUS=$?
    TPID=
    SPID=
}

cleanup() {
    local rc=$? i pids
    trap - EXIT INT TERM HUP
    set +e
    UNSEAL=
    stop_server TERM
    # anything else still in our namespace (there should be nothing)
    for ((i = 0; i < 20; i++)); do
        pids=$(ip netns pids "$NS" 2>/dev/null)
        [[ -z $pids ]] && break
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null
        sleep 0.1
    done
    ip netns del "$NS" 2>/dev/null
    # the socket is ours: its name holds our pid (a killed server leaves it)
    rm -f "$UAPI"
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# ms T0 T1: milliseconds between two $EPOCHREALTIME values
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'; }
api_up() { curl -sf --max-time 5 --unix-socket "$ADMIN" http://zerowg/v1/server >/dev/null 2>&1; }
wg_peers() { ip netns exec "$NS" wg show "$IF" peers | wc -l; }

# start_server: `zerowg up` in the namespace, the key through a pipe; returns
# once GET /v1/server answers.  START_S: seconds from just before the exec.
START_S=
start_server() {
    local t0 t1 i
    rm -f "$ADMIN"
    t0=$EPOCHREALTIME
    printf '%s\n' "$UNSEAL" | ip netns exec "$NS" env LOG_LEVEL=verbose timeout -k 5 "$LIMIT" \
        "$ZWG" up --data "$DATA" --key-fd 0 --admin-socket "$ADMIN" --interface "$IF" \
        --port "$PORT" --endpoint "192.0.2.1:$PORT" >>"$LOG" 2>&1 &
    TPID=$!
    # at most 5 minutes, polling every 10 ms
    for ((i = 0; i < 30000; i++)); do
        if [[ -S $ADMIN ]] && api_up; then
            t1=$EPOCHREALTIME
            break
        fi
        kill -0 "$TPID" 2>/dev/null || { TPID=; die "zerowg up exited during start-up"; }
        sleep 0.01
    done
    [[ -n ${t1:-} ]] || die "the admin API did not answer within 5 minutes"
    START_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }')
    SPID=$(pgrep -P "$TPID" | head -n1)
    [[ -n $SPID ]] || die "cannot find the pid of zerowg up"
}

# stats: median, p90 (nearest rank) and max of numbers on stdin
stats() {
    sort -g | awk '{ v[++n] = $1 }
        END {
            if (!n) exit 1
            med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            r = int(0.9 * n); if (r < 0.9 * n) r++
            printf "%.1f %.1f %.1f\n", med, v[r], v[n]
        }'
}

# --- 1. a new store, the server, N peers ---------------------------------------
# The smallest subnet that holds N clients and the server: 10.0.0.0/P.
P=24
while (( (1 << (32 - P)) - 2 < N + 1 )); do P=$((P - 1)); done
ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -m 700 "$DATA"
UNSEAL=$(head -c 32 /dev/urandom | base64)
printf '%s\n' "$UNSEAL" | "$ZWG" init --data "$DATA" --key-fd 0 --subnet "10.0.0.0/$P" \
    --interface "$IF" --port "$PORT" --endpoint "192.0.2.1:$PORT" >"$TMP/init.out" 2>&1 ||
    { cat "$TMP/init.out" >&2; die "zerowg init failed"; }
DATA_FS=$(df --output=fstype "$DATA" | tail -n 1)
[[ $DATA_FS == tmpfs ]] && log "WARN: $DATA is on tmpfs: fsync costs nothing there (set TMPDIR)"

start_server
RSS_EMPTY=$(kib "$SPID" VmRSS)
log "server up (pid $SPID, $IF in $NS, store on $DATA_FS); adding $((N - M)) peers through the API"

# API adds: chunks of CHUNK requests, one curl each, its config on a pipe
# (names only); each answer goes to /dev/null, curl prints status and time.
CHUNK=500
BULK=$((N - M))
t0=$EPOCHREALTIME
API_TIMES=
for ((s = 1; s <= BULK; s += CHUNK)); do
    e=$((s + CHUNK - 1)); ((e <= BULK)) || e=$BULK
    out=$(awk -v s="$s" -v e="$e" -v sock="$ADMIN" 'BEGIN {
            for (i = s; i <= e; i++) {
                printf "url = \"http://zerowg/v1/peers\"\nunix-socket = \"%s\"\n", sock
                printf "data = \"{\\\"name\\\":\\\"p%d\\\"}\"\n", i
                printf "output = \"/dev/null\"\nsilent\nmax-time = 60\n"
                printf "write-out = \"%%{http_code} %%{time_total}\\n\"\n"
                if (i < e) print "next"
            }
        }' | timeout $((60 + CHUNK)) curl -K -) || die "curl failed adding peers p$s..p$e"
    bad=$(awk '$1 != 201' <<<"$out" | head -n 3)
    [[ -z $bad ]] || die "POST /v1/peers answered: $bad (peers p$s..p$e)"
    API_TIMES=$out
    if ((s > 1 && s % 2000 == 1)); then log "  $((s - 1)) peers"; fi
done
t1=$EPOCHREALTIME
BULK_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }')
read -r API_MED _ _ < <(awk '{ print $2 * 1000 }' <<<"$API_TIMES" | stats || echo "- - -")

log "timing $M adds with \`zerowg peer add\`"
ADD_MS=()
for ((i = 1; i <= M; i++)); do
    t0=$EPOCHREALTIME
    "$ZWG" peer add "c$i" --admin-socket "$ADMIN" >/dev/null 2>"$TMP/add.err" ||
        { cat "$TMP/add.err" >&2; die "zerowg peer add c$i failed"; }
    t1=$EPOCHREALTIME
    ADD_MS+=("$(ms "$t0" "$t1")")
done
read -r ADD_MED ADD_P90 ADD_MAX < <(printf '%s\n' "${ADD_MS[@]}" | stats)
RSS_ADDS=$(kib "$SPID" VmRSS)
PEERS_BEFORE=$(wg_peers)
[[ $PEERS_BEFORE -eq $N ]] || die "after the adds \`wg show $IF peers\` lists $PEERS_BEFORE peers, not $N"

# --- 2. restart --------------------------------------------------------------------
log "SIGTERM, then a restart with $N peers"
t0=$EPOCHREALTIME
stop_server TERM
t1=$EPOCHREALTIME
STOP_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }')
[[ $STOP_STATUS == 0 ]] || log "WARN: the server exited with status $STOP_STATUS after SIGTERM"
for ((i = 0; i < 50; i++)); do
    ip -n "$NS" link show "$IF" >/dev/null 2>&1 || break
    sleep 0.1
done
LOG_MARK=$(wc -l <"$LOG")
start_server
RESTART_S=$START_S
APPLIED=$(wg_peers)
[[ $APPLIED -eq $N ]] || die "after the restart \`wg show $IF peers\` lists $APPLIED peers, not $N"
# "start-up: store A ms, peers loaded B ms, interface C ms, peers applied D ms"
read -r SU_STORE SU_LOADED SU_IF SU_APPLIED < <(tail -n +$((LOG_MARK + 1)) "$LOG" |
    sed -n 's/.*start-up: store \([0-9]*\) ms, peers loaded \([0-9]*\) ms, interface \([0-9]*\) ms, peers applied \([0-9]*\) ms.*/\1 \2 \3 \4/p' |
    head -n 1 | grep . || echo "- - - -")

# --- 3. peer list, RSS ------------------------------------------------------------
LINES=$(timeout 120 "$ZWG" peer list --admin-socket "$ADMIN" | wc -l)
LIST_MS=()
for ((i = 0; i < 5; i++)); do
    t0=$EPOCHREALTIME
    "$ZWG" peer list --admin-socket "$ADMIN" >/dev/null || die "zerowg peer list failed"
    t1=$EPOCHREALTIME
    LIST_MS+=("$(ms "$t0" "$t1")")
done
read -r LIST_MED _ LIST_MAX < <(printf '%s\n' "${LIST_MS[@]}" | stats)
sleep 0.5
RSS=$(kib "$SPID" VmRSS)
HWM=$(kib "$SPID" VmHWM)
STORE_KIB=$(du -sk "$DATA" | awk '{ print $1 }')

echo "peers $N"
echo "data_fs $DATA_FS"
echo "store_kib $STORE_KIB"
echo "api_adds $BULK"
echo "api_add_s $BULK_S"
awk -v n="$BULK" -v s="$BULK_S" 'BEGIN { if (n > 0 && s > 0) printf "api_adds_per_s %.0f\n", n / s }'
echo "add_api_median_ms $API_MED"
echo "add_cli_samples $M"
echo "add_cli_median_ms $ADD_MED"
echo "add_cli_p90_ms $ADD_P90"
echo "add_cli_max_ms $ADD_MAX"
echo "stop_s $STOP_S"
echo "stop_status $STOP_STATUS"
echo "restart_s $RESTART_S"
echo "restart_peers_applied $APPLIED"
echo "startup_store_ms $SU_STORE"
echo "startup_peers_loaded_ms $SU_LOADED"
echo "startup_interface_ms $SU_IF"
echo "startup_peers_applied_ms $SU_APPLIED"
echo "peer_list_lines $LINES"
echo "peer_list_median_ms $LIST_MED"
echo "peer_list_max_ms $LIST_MAX"
echo "rss_empty_kib $RSS_EMPTY"
echo "rss_after_adds_kib $RSS_ADDS"
echo "rss_kib $RSS"
echo "hwm_kib $HWM"
