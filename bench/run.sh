#!/usr/bin/env bash
# run.sh - `make bench`: zerowgd against wireguard-go, on this machine, in
# one go, and a dated section at the top of bench/RESULTS.md.
#
#   bench/run.sh [--quick | --full] [--peers N] [--server-peers N] [--no-results]
#
#   --quick       (default) harness -t 3, 1 repetition; handshakes 5 s
#   --full        harness -t 10 -r 3; handshakes 10 s
#   --peers N     peers for peers_bench.sh (default 100000)
#   --server-peers N  peers for server_bench.sh (default 10000)
#   --no-results  print the section but leave bench/RESULTS.md alone
#
# Steps, each for zerowgd ($O/zerowgd -f {IF}) and then wireguard-go
# (wireguard-go -f {IF}) with the same parameters:
#   1. ../shared/bench/run-baseline.sh (throughput, latency, CPU, memory in
#      two namespaces), with --out under $O/bench/ (the shared directory
#      is read-only) and --no-crypto (its crypto step builds in place; the
#      crypto ceilings do not depend on the implementation), run from a
#      temporary copy with one fix (see prepare_harness);
#   2. bench/handshake_bench (handshakes answered per second by a daemon
#      pinned to one CPU, over loopback in a throw-away namespace);
#   3. bench/peers_bench.sh (N peers through one `wg setconf`).
# Then, for the zerowg server only (wireguard-go has no counterpart):
#   4. bench/server_bench.sh (peer add end to end, restart with every peer
#      applied, peer list, RSS; skipped with a warning if $O/zerowg is
#      missing: `make bench` builds only zerowgd).
# Then bench/compare.sh turns the figures into the section.
#
# make builds zerowgd and the data-plane library; the only thing built
# here is the handshake client, with one cc line.  Needs root.  All traffic
# stays on loopback or inside namespaces that the scripts create and
# remove, and every load is bounded in time.  Runs of ../shared/bench take
# its lock (/run/wgbench.lock); this script waits for that lock before each
# harness run and holds it during its own steps, so that two benchmarks
# never share the machine.  It prints figures and asserts nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
O=${O:-build}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
SHARED=$(cd "${ZWG_SHARED_BENCH:-$ROOT/../shared/bench}" 2>/dev/null && pwd) ||
    { echo "run.sh: no harness at ${ZWG_SHARED_BENCH:-$ROOT/../shared/bench} (set ZWG_SHARED_BENCH)" >&2; exit 1; }
LOCK=${WGB_STATE:-/run/wgbench}.lock
LOCK_WAIT=${LOCK_WAIT:-1800}           # seconds to wait for another benchmark to finish
export QUIET_WAIT=${QUIET_WAIT:-60}    # the harness waits this long for a quiet machine (its default: 180)
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1

MODE=quick
PEERS=100000
SERVER_PEERS=10000
WRITE_RESULTS=1
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) MODE=quick; shift ;;
        --full) MODE=full; shift ;;
        --peers) PEERS=${2:?--peers needs a number}; shift 2 ;;
        --server-peers) SERVER_PEERS=${2:?--server-peers needs a number}; shift 2 ;;
        --no-results) WRITE_RESULTS=0; shift ;;
        -h|--help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option \"$1\" (try --help)" >&2; exit 2 ;;
    esac
done
if [[ $MODE == full ]]; then
    HARNESS_ARGS=(-t 10 -r 3) HS_SECS=10 HS_POOL=120000 MODE_TEXT="full (harness -t 10 -r 3, handshakes 10 s)"
else
    HARNESS_ARGS=(--quick) HS_SECS=5 HS_POOL=60000 MODE_TEXT="quick (harness --quick: -t 3, 1 repetition; handshakes 5 s)"
fi

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, TUN devices)"
[[ -x $O/zerowgd ]] || die "$O/zerowgd not found: run 'make bench', not bench/run.sh alone"
[[ -f $O/libzerowg-dp.a ]] || die "$O/libzerowg-dp.a not found: run 'make bench'"
[[ -x $SHARED/run-baseline.sh ]] || die "no harness at $SHARED (set ZWG_SHARED_BENCH)"
for t in wireguard-go wg ip iperf3 jq taskset flock pgrep cc pkg-config timeout; do
    command -v "$t" >/dev/null || die "missing $t (see $SHARED/README.md, Install)"
done

STAMP=$(date -u +%Y%m%d-%H%M%S)
RUN=$O/bench/$STAMP
mkdir -p "$RUN"
META=$RUN/meta.txt
: >"$META"
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }
NCMD=0
cmd_note() { NCMD=$((NCMD + 1)); meta "cmd_$(printf '%02d' "$NCMD")" "$*"; }

# --- cleanup of what this script starts (peers_bench.sh cleans up its own) ---
# The handshake step's daemon and namespace while they exist (one at a time).
CUR_DPID=
CUR_NS=
HARNESS=   # the temporary copy of the harness (step 1)
stop_daemon() {
    local i
    [[ -n $CUR_DPID ]] || return 0
    kill -TERM "$CUR_DPID" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do kill -0 "$CUR_DPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CUR_DPID" 2>/dev/null || true
    CUR_DPID=
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    stop_daemon
    [[ -n $CUR_NS ]] && ip netns del "$CUR_NS" 2>/dev/null
    rm -f "/var/run/wireguard/zhb$$.sock"
    [[ -n $HARNESS ]] && rm -rf "$HARNESS"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the benchmark lock shared with ../shared/bench ------------------------
lock_hold() {
    exec 8>"$LOCK"
    if ! flock -n 8; then
        log "another benchmark holds $LOCK; waiting up to ${LOCK_WAIT}s"
        flock -w "$LOCK_WAIT" 8 || die "$LOCK still held after ${LOCK_WAIT}s"
    fi
}
lock_release() { flock -u 8; exec 8>&-; }

# --- machine -----------------------------------------------------------------
# The CPU that was idlest over one second (others may pin work to a core).
idlest_cpu() {
    local a b
    a=$(grep '^cpu[0-9]' /proc/stat); sleep 1; b=$(grep '^cpu[0-9]' /proc/stat)
    awk 'NR == FNR { i0[$1] = $5 + $6; next }
         { d = $5 + $6 - i0[$1]; if (best == "" || d > bd) { best = $1; bd = d } }
         END { sub(/^cpu/, "", best); print best }' <(echo "$a") <(echo "$b")
}
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
NCPU=$(nproc)
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta mode "$MODE_TEXT"
meta machine "$(uname -sm), kernel $(uname -r), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $NCPU cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
meta load_before "loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
meta zerowgd_version "$("$O/zerowgd" --version 2>/dev/null | awk '{ print $2 }')"
meta commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
meta wireguard_go_version "$(pkgver wireguard-go)"
meta wg_version "$(pkgver wireguard-tools)"
meta raw_dir "$RUN"

IMPLS=(zerowgd wireguard-go)
declare -A TPL=([zerowgd]="$O/zerowgd -f {IF}" [wireguard-go]="wireguard-go -f {IF}")
# Pinned with taskset, Go sees one CPU and runs GOMAXPROCS=1: a goroutine
# blocked in a system call then holds the only P until sysmon takes it back
# (up to 10 ms), and wireguard-go leaves its core idle about half the time.
# With GOMAXPROCS set to the machine's count it uses the whole core, which
# is the comparison of work per core we want.
declare -A HS_TPL=([zerowgd]="${TPL[zerowgd]}" [wireguard-go]="env GOMAXPROCS=$NCPU ${TPL[wireguard-go]}")

# --- 1. the shared harness ---------------------------------------------------
# It runs from a copy in a temporary directory with one fix: its noise
# sampler (foreign_snap) reads /proc/[0-9]*/stat with `cat ... | awk` under
# pipefail, so when any process exits between the glob and the read (often,
# on a busy machine) cat fails and `set -e` ends the whole run silently.
# The copy ignores cat's status; what it measures is unchanged.  It also
# records each side's private memory (USS: Private_Clean + Private_Dirty of
# smaps_rollup) next to the idle RSS: RSS counts the pages of shared
# libraries the process has mapped (libcrypto and libc text, the same pages
# every process using them maps), USS only what the process alone holds.
# The diff goes to the run directory.
prepare_harness() {
    HARNESS=$(mktemp -d /tmp/zwg-harness.XXXXXX)
    cp "$SHARED/run-baseline.sh" "$SHARED/netns-pair.sh" "$HARNESS/"
    sed -i 's#^\( *\)cat /proc/\[0-9\]\*/stat 2>/dev/null | awk#\1{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk#' \
        "$HARNESS/run-baseline.sh"
    # shellcheck disable=SC2016 # the $ are the harness's, expanded there
    sed -i 's#^put idle 0 rss\([AB]\)_kb "\$(proc_kb "\$PID_\([AB]\)" VmRSS)"$#&\nput idle 0 uss\1_kb "$(awk '"'"'/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }'"'"' /proc/$PID_\2/smaps_rollup 2>/dev/null)"#' \
        "$HARNESS/run-baseline.sh"
    diff -u "$SHARED/run-baseline.sh" "$HARNESS/run-baseline.sh" >"$RUN/harness.patch" ||
        log "running a copy of the harness with the fix in $RUN/harness.patch"
    [[ -s $RUN/harness.patch ]] || log "WARN: the harness fix did not apply (fixed upstream?); running it as it is"
}

run_harness() {  # LABEL
    local label=$1 out=$RUN/harness-$1
    local cmd=("$HARNESS/run-baseline.sh" "${HARNESS_ARGS[@]}" --no-crypto --impl "${TPL[$label]}" --label "$label" --out "$out")
    cmd_note "QUIET_WAIT=$QUIET_WAIT $SHARED/run-baseline.sh ${HARNESS_ARGS[*]} --no-crypto --impl '${TPL[$label]}' --label $label --out $out   # from a copy, see harness.patch"
    for _ in 1 2 3; do
        # wait for whoever holds the lock, then let the harness take it
        lock_hold
        lock_release
        log "harness: $label (${HARNESS_ARGS[*]})"
        if "${cmd[@]}" 2>&1 | tee "$out.log"; then
            return 0
        fi
        if grep -q "holds .*lock" "$out.log"; then
            log "another run took the harness lock first; trying again"
            rm -rf "$out"
            continue
        fi
        log "WARN: the harness failed for $label; see $out.log"
        return 0
    done
}

# --- 2. handshakes -----------------------------------------------------------
HB=$O/bench/handshake_bench
build_handshake_bench() {
    local cmd=(cc -O2 -Wall -Wextra -D_GNU_SOURCE -Isrc/common -Isrc/dataplane -o "$HB"
               bench/handshake_bench.c "$O/libzerowg-dp.a")
    # shellcheck disable=SC2207  # pkg-config prints flags separated by spaces
    cmd+=($(pkg-config --libs libcrypto) -pthread)
    cmd_note "${cmd[*]}"
    "${cmd[@]}"
}

run_handshake() {  # LABEL
    local label=$1 ns=zwg-hb-$$ ifname=zhb$$ tpid dpid i dcpu ccpus cmd out=$RUN/handshake-$1.txt
    local sock=/var/run/wireguard/$ifname.sock
    dcpu=$(idlest_cpu)
    ccpus=$(seq 0 $((NCPU - 1)) | grep -vx "$dcpu" | paste -sd, -)
    [[ -n $ccpus ]] || ccpus=$dcpu   # one CPU: client and daemon share it
    cmd=${HS_TPL[$label]//\{IF\}/$ifname}
    ip netns add "$ns"
    CUR_NS=$ns
    ip -n "$ns" link set lo up
    ip netns exec "$ns" timeout -k 5 $((HS_SECS * 4 + 300)) taskset -c "$dcpu" bash -c "exec $cmd" \
        >"$RUN/handshake-$label.daemon.log" 2>&1 </dev/null &
    tpid=$!
    for ((i = 0; i < 100; i++)); do
        [[ -S $sock ]] && ip -n "$ns" link show "$ifname" >/dev/null 2>&1 && break
        kill -0 "$tpid" 2>/dev/null || die "$label exited at start: $(tail -n 3 "$RUN/handshake-$label.daemon.log")"
        sleep 0.1
    done
    dpid=$(pgrep -P "$tpid" | head -n1)
    [[ -n $dpid ]] || die "cannot find the pid of $label"
    CUR_DPID=$dpid
    ip -n "$ns" link set "$ifname" up
    local hb=("$HB" -S "$sock" -p "$dpid" -t "$HS_SECS" -c "$HS_POOL")
    cmd_note "ip netns exec $ns taskset -c $dcpu $cmd   # daemon, then: ip -n $ns link set $ifname up"
    cmd_note "ip netns exec $ns taskset -c $ccpus ${hb[*]}"
    log "handshakes: $label on cpu $dcpu, client on cpu $ccpus (${HS_SECS}s after making $HS_POOL initiations)"
    ip netns exec "$ns" timeout $((HS_SECS * 4 + 240)) taskset -c "$ccpus" "${hb[@]}" >"$out" ||
        log "WARN: handshake_bench failed for $label"
    sed 's/^/    /' "$out" >&2
    stop_daemon
    wait "$tpid" 2>/dev/null || true
    ip netns del "$ns"
    CUR_NS=
    rm -f "$sock"
}

# --- 3. many peers -----------------------------------------------------------
# wireguard-go refuses a peer beyond MaxPeers = 1 << 16 ("too many peers"),
# so it runs with at most that many; compare.sh compares per peer.
WG_GO_MAX_PEERS=65536
run_peers() {  # LABEL
    local label=$1 n=$PEERS
    if [[ $label == wireguard-go ]] && ((n > WG_GO_MAX_PEERS)); then
        n=$WG_GO_MAX_PEERS
    fi
    cmd_note "bench/peers_bench.sh -n $n '${TPL[$label]}'"
    log "peers: $label, $n peers"
    bench/peers_bench.sh -n "$n" "${TPL[$label]}" >"$RUN/peers-$label.txt" ||
        log "WARN: peers_bench.sh failed for $label"
    sed 's/^/    /' "$RUN/peers-$label.txt" >&2
}

# --- 4. the zerowg server ----------------------------------------------------
run_server() {
    if [[ ! -x $O/zerowg ]]; then
        log "WARN: $O/zerowg not found (make builds it; make bench does not): no server figures"
        return 0
    fi
    cmd_note "bench/server_bench.sh -n $SERVER_PEERS"
    log "server: zerowg, $SERVER_PEERS peers"
    O=$O bench/server_bench.sh -n "$SERVER_PEERS" >"$RUN/server-zerowg.txt" ||
        log "WARN: server_bench.sh failed"
    sed 's/^/    /' "$RUN/server-zerowg.txt" >&2
}

# --- run ---------------------------------------------------------------------
log "results of this run: $RUN"
prepare_harness
for impl in "${IMPLS[@]}"; do run_harness "$impl"; done
build_handshake_bench
lock_hold
for impl in "${IMPLS[@]}"; do run_handshake "$impl"; done
for impl in "${IMPLS[@]}"; do run_peers "$impl"; done
run_server
lock_release
meta load_after "loadavg $(cut -d' ' -f1-3 /proc/loadavg)"

# --- RESULTS.md: the new section goes on top, history stays --------------------
bench/compare.sh "$RUN" >"$RUN/section.md"
if ((WRITE_RESULTS)); then
    RES=bench/RESULTS.md
    MARK='<!-- bench/run.sh inserts new runs below this line -->'
    if [[ ! -f $RES ]] || ! grep -qxF -- "$MARK" "$RES"; then
        {
            cat <<'EOF'
# zerowg benchmark results

Written by `make bench` (bench/run.sh; see bench/README.md): zerowgd and wireguard-go measured
one after the other on the same machine with the same parameters. Newest run first; earlier
runs are kept below. **Compare the ratios** (zerowgd ÷ wireguard-go), not the absolute
figures: they depend on the machine and on what else ran on it (see each run's noise line).
The targets are the goals of issue 3, printed for reference; nothing here checks them.

EOF
            echo "$MARK"
            echo
            [[ -f $RES ]] && cat "$RES"
        } >"$RES.new"
        mv "$RES.new" "$RES"
    fi
    awk -v sec="$RUN/section.md" -v mark="$MARK" '
        { print }
        $0 == mark && !done { print ""; while ((getline l < sec) > 0) print l; done = 1 }' "$RES" >"$RES.new"
    mv "$RES.new" "$RES"
    log "wrote a new section at the top of $RES"
fi
cat "$RUN/section.md"
