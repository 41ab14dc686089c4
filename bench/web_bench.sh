#!/usr/bin/env bash
# web_bench.sh - the web side of the zerowg server (issue 11, section 6):
# the HTTP API under wrk, sign-in, the peer page in a real Chromium, and
# the server's memory with the UI in use.
#
#   bench/web_bench.sh [-n PEERS] [-u UI_PEERS] [-d SECONDS] [-p SECONDS]
#
#   -n PEERS     peers for the API and memory figures (default 10000)
#   -u UI_PEERS  peers when the peer page's load time is taken (default 1000)
#   -d SECONDS   each wrk run (default 10)
#   -p SECONDS   the UI left open on the peer page, polling (default 30)
#
# $O/zerowg (O=build by default, or ZWG=path) runs as `zerowg up --web
# 127.0.0.1:51821` in a throw-away network namespace (zwg-wb-<pid>), inside
# `timeout` as a safety net; everything - wrk, curl, chromium - runs in that
# namespace and talks to its loopback only.  The namespace, the interface's
# UAPI socket and the temporary directory (${TMPDIR:-/tmp}/zwg-web-bench.*:
# the sealed store, the generated wg-quick configs, which hold a throw-away
# server key, the server's log) are removed on exit, on error and on
# Ctrl-C.  The unseal key lives in a shell variable and reaches zerowg
# through a pipe, as in server_bench.sh.  The peers have no endpoint:
# nothing is sent anywhere.
#
# Steps:
#   1. init (10.0.0.0/P), up with no peer: RSS idle;
#   2. `zerowg import` of a generated wg-quick config with UI_PEERS [Peer]
#      sections (random public keys); an admin, LOGIN_USERS users and a
#      viewer token (zerowg user add, zerowg token add);
#   3. the peer page in chromium (tests/tools/cdp.py, as chromium runs in
#      tests/netns/webui_test.sh), 5 loads with the HTTP cache off: from
#      navigation start to the first frame after the table holds UI_PEERS
#      rows (a MutationObserver, then requestAnimationFrame); the median;
#   4. `zerowg import` of the same config grown to PEERS peers: RSS;
#   5. the peer page left open for -p seconds (it polls GET /v1/peers every
#      2 s): the server's RSS before and after, and its VmHWM;
#   6. wrk (-t2 -c4 --latency) on GET /v1/peers with the viewer's bearer
#      token, and on GET /v1/server (a small answer: the per-request cost
#      without the peer list); then 20 sequential GET /v1/peers with curl
#      over TCP (token) and over the admin unix socket (local uid): the
#      same client on both transports;
#   7. wrk on POST /v1/login (-t1 -c2), the bodies cycling through
#      LOGIN_USERS accounts with the right password: every answer is a
#      successful sign-in (one Argon2id verification, t=3, 64 MiB) unless
#      the Non-2xx line says otherwise.  A success never counts towards the
#      login throttle, so this measures Argon2id and the session, not the
#      throttle's 429s.  Then GET /v1/server on one connection while the sign-ins run:
#      what a sign-in costs the other requests.
#
# Output: "key value" lines.  *_rps are wrk's Requests/sec; *_p50_ms and
# *_p99_ms its latency percentiles; rss_* and hwm_* are KiB of the server
# process (the one that listens on the web port).  Needs root, wrk, curl,
# chromium, python3-websocket.  Prints figures, asserts nothing (exit 1 only
# when a step fails).
set -euo pipefail

N=10000
UI_N=1000
DUR=10
POLL=30
LOGIN_USERS=4
while getopts n:u:d:p:h opt; do
    case $opt in
        n) N=$OPTARG ;;
        u) UI_N=$OPTARG ;;
        d) DUR=$OPTARG ;;
        p) POLL=$OPTARG ;;
        *) sed -n '2,52p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || { echo "usage: $0 [-n PEERS] [-u UI_PEERS] [-d SECONDS] [-p SECONDS]" >&2; exit 2; }
[[ $N =~ ^[0-9]+$ && $N -ge 1 && $N -le 60000 ]] || { echo "web_bench: -n \"$N\" is not 1..60000" >&2; exit 2; }
[[ $UI_N =~ ^[0-9]+$ && $UI_N -ge 1 && $UI_N -le $N ]] || { echo "web_bench: -u \"$UI_N\" is not 1..$N (-n)" >&2; exit 2; }
[[ $DUR =~ ^[0-9]+$ && $DUR -ge 1 && $DUR -le 300 ]] || { echo "web_bench: -d \"$DUR\" is not 1..300" >&2; exit 2; }
[[ $POLL =~ ^[0-9]+$ && $POLL -ge 1 && $POLL -le 600 ]] || { echo "web_bench: -p \"$POLL\" is not 1..600" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "web_bench: needs root (network namespace, TUN)" >&2; exit 1; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
ZWG=${ZWG:-$O/zerowg}
PY=/usr/bin/python3
[[ -x $ZWG ]] || { echo "web_bench: $ZWG not found (run make)" >&2; exit 1; }
for t in ip ss wrk curl chromium setpriv timeout base64 awk sort "$PY"; do
    command -v "$t" >/dev/null || { echo "web_bench: missing $t (apt-get install --no-install-recommends wrk curl chromium)" >&2; exit 1; }
done
"$PY" -c 'import websocket' 2>/dev/null || { echo "web_bench: missing python3-websocket" >&2; exit 1; }

NS=zwg-wb-$$
IF=zwb$$
PORT=51820
WEBPORT=51821
BASE=http://127.0.0.1:$WEBPORT
UAPI=/var/run/wireguard/$IF.sock
TMP=$(mktemp -d "${TMPDIR:-/tmp}/zwg-web-bench.XXXXXX")
DATA=$TMP/data
ADMIN=$TMP/admin.sock
LOG=$TMP/server.log
LIMIT=$((1800 + N / 10))   # seconds the server may run (safety net)
UNSEAL=
TPID=
SPID=

log() { printf '[web_bench] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    [[ -s $LOG ]] && tail -n 15 "$LOG" | sed 's/^/    | /' >&2
    exit 1
}

cleanup() {
    local rc=$? i pids
    trap - EXIT INT TERM HUP
    set +e
    UNSEAL=
    if [[ -n $TPID ]]; then
        [[ -n $SPID ]] && kill -TERM "$SPID" 2>/dev/null
        kill -TERM "$TPID" 2>/dev/null
        for ((i = 0; i < 100; i++)); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$TPID" 2>/dev/null
        wait "$TPID" 2>/dev/null
    fi
    # anything else still in our namespace (chromium, wrk: there should be nothing)
    for ((i = 0; i < 20; i++)); do
        pids=$(ip netns pids "$NS" 2>/dev/null)
        [[ -z $pids ]] && break
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null
        sleep 0.1
    done
    ip netns del "$NS" 2>/dev/null
    rm -f "$UAPI"
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

X() { ip netns exec "$NS" "$@"; }
kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
api_up() { curl -sf --max-time 5 --unix-socket "$ADMIN" http://zerowg/v1/server >/dev/null 2>&1; }
# median of numbers on stdin
median() { sort -g | awk '{ v[++n] = $1 } END { if (!n) exit 1; printf "%.1f\n", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }'; }
# unseal KEY on fd 3 for a CLI command
zwg_store() { "$ZWG" "$@" --data "$DATA" --key-fd 3 3<<<"$UNSEAL"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ST0=$(awk '/^cpu / { print $9 }' /proc/stat); T0_ALL=$(awk '/^cpu / { s = 0; for (i = 2; i <= NF; i++) s += $i; print s }' /proc/stat)

# --- 1. a new store, the server, no peer --------------------------------------
P=24
while (( (1 << (32 - P)) - 2 < N + 1 )); do P=$((P - 1)); done
ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -m 700 "$DATA"
UNSEAL=$(head -c 32 /dev/urandom | base64)
printf '%s\n' "$UNSEAL" | "$ZWG" init --data "$DATA" --key-fd 0 --subnet "10.0.0.0/$P" \
    --interface "$IF" --port "$PORT" --endpoint "192.0.2.1:$PORT" >"$TMP/init.out" 2>&1 ||
    { cat "$TMP/init.out" >&2; die "zerowg init failed"; }

printf '%s\n' "$UNSEAL" | ip netns exec "$NS" timeout -k 5 "$LIMIT" \
    "$ZWG" up --data "$DATA" --key-fd 0 --admin-socket "$ADMIN" --interface "$IF" \
    --port "$PORT" --endpoint "192.0.2.1:$PORT" --web "127.0.0.1:$WEBPORT" >>"$LOG" 2>&1 &
TPID=$!
for ((i = 0; i < 6000; i++)); do
    [[ -S $ADMIN ]] && api_up && break
    kill -0 "$TPID" 2>/dev/null || { TPID=; die "zerowg up exited during start-up"; }
    sleep 0.01
done
api_up || die "the admin API did not answer within 60 s"
# The server process: the one listening on the web port (under privilege
# separation the root helper is another process).
SPID=$(X ss -ltnpH "sport = :$WEBPORT" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1)
[[ -n $SPID ]] || die "nothing listens on $BASE"
SERVER_COMM=$(cat "/proc/$SPID/comm")
sleep 1
RSS_IDLE=$(kib "$SPID" VmRSS)
log "server up (pid $SPID, $SERVER_COMM); RSS idle ${RSS_IDLE} KiB"

# --- 2. peers, accounts, a token --------------------------------------------------
# One wg-quick config of N peers (the first UI_N of it is imported first):
# a throw-away server key, random public keys, one /32 each.
"$PY" - "$TMP" "$N" "$UI_N" "$P" <<'EOF'
import base64, os, sys
tmp, n, ui_n, plen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
k = bytearray(os.urandom(32)); k[0] &= 248; k[31] = (k[31] & 127) | 64
head = "[Interface]\nPrivateKey = %s\nAddress = 10.0.0.1/%d\nListenPort = 51820\n" % (
    base64.b64encode(bytes(k)).decode(), plen)
def peer(i):
    a = i + 1  # 10.0.0.2 onwards
    return "\n# wb%05d\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\n" % (
        i, base64.b64encode(os.urandom(32)).decode(), 0, (a >> 8) & 255, a & 255) \
        if a < 65536 else None
peers = [peer(i) for i in range(1, n + 1)]
for name, m in (("small.conf", ui_n), ("full.conf", n)):
    fd = os.open(os.path.join(tmp, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(head + "".join(peers[:m]))
EOF
t0=$EPOCHREALTIME
zwg_store import --admin-socket "$ADMIN" "$TMP/small.conf" >"$TMP/import1.out" 2>&1 ||
    { tail -n 5 "$TMP/import1.out" >&2; die "zerowg import of $UI_N peers failed"; }
t1=$EPOCHREALTIME
IMPORT_UI_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')

ADMIN_USER=wbadmin
ADMIN_PASS="wb $(head -c 12 /dev/urandom | base64)"
printf '%s\n' "$ADMIN_PASS" | zwg_store user add "$ADMIN_USER" --role admin >>"$TMP/users.log" 2>&1 ||
    die "zerowg user add $ADMIN_USER failed: $(tail -n 3 "$TMP/users.log")"
declare -a LUSER LPASS
for ((i = 1; i <= LOGIN_USERS; i++)); do
    LUSER[i]=wbuser$i
    LPASS[i]="wb $(head -c 12 /dev/urandom | base64)"
    printf '%s\n' "${LPASS[i]}" | zwg_store user add "${LUSER[i]}" --role viewer >>"$TMP/users.log" 2>&1 ||
        die "zerowg user add ${LUSER[i]} failed: $(tail -n 3 "$TMP/users.log")"
done
TOKEN=$(zwg_store token add wbbench --role viewer --admin-socket "$ADMIN" 2>>"$TMP/users.log" |
        grep -o 'zwg_[A-Za-z0-9_-]*' | head -n 1) || true
[[ -n $TOKEN ]] || die "zerowg token add printed no token: $(tail -n 3 "$TMP/users.log")"
curl -sf --max-time 10 --unix-socket "$ADMIN" -X POST http://zerowg/v1/reload >/dev/null ||
    die "POST /v1/reload failed"
code=$(X curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $TOKEN" "$BASE/v1/peers")
[[ $code == 200 ]] || die "GET $BASE/v1/peers with the token answered $code"
RSS_UI_PEERS=$(kib "$SPID" VmRSS)

# --- 3. the peer page in chromium ---------------------------------------------------
# scenario MODE: sign in, then MODE=load: 5 timed loads (ms per line);
# MODE=poll: the page left open POLL seconds (prints "open").
scenario() {
    X env CDP_DIR="$ROOT/tests/tools" BASE="$BASE" WB_USER="$ADMIN_USER" WB_PASS="$ADMIN_PASS" \
        WB_ROWS="$2" WB_POLL="$POLL" WB_MODE="$1" timeout -k 5 $((POLL + 300)) "$PY" - <<'EOF'
import json, os, sys, time
sys.path.insert(0, os.environ["CDP_DIR"])
from cdp import Browser
BASE, ROWS, MODE = os.environ["BASE"], int(os.environ["WB_ROWS"]), os.environ["WB_MODE"]
with Browser(timeout=60) as b:
    b.goto(BASE + "/#/signin")
    b.wait_visible("#signin")
    b.type("#signin [name=user]", os.environ["WB_USER"])
    b.type("#signin [name=password]", os.environ["WB_PASS"])
    b.click("#signin button[type=submit]")
    b.wait("location.hash === '#/peers'", what="the peers page after sign-in")
    if MODE == "poll":
        b.wait(f"document.querySelectorAll('tr[data-peer]').length >= {ROWS}", timeout=120)
        end = time.monotonic() + int(os.environ["WB_POLL"])
        while time.monotonic() < end:
            b.pump(1.0)
        n = b.js("document.querySelectorAll('tr[data-peer]').length")
        print("open", n, flush=True)
        sys.exit(0)
    # From navigation start (performance.now() = 0) to the first frame
    # after the table holds ROWS rows.
    b.call("Page.addScriptToEvaluateOnNewDocument", source=(
        "window.__wb={};new MutationObserver((m,o)=>{if(document.querySelectorAll("
        "'tr[data-peer]').length>=%d){o.disconnect();window.__wb.dom=performance.now();"
        "requestAnimationFrame(()=>{window.__wb.frame=performance.now()})}})"
        ".observe(document,{childList:true,subtree:true});" % ROWS))
    b.call("Network.enable")
    b.call("Network.setCacheDisabled", cacheDisabled=True)
    for i in range(5):
        b.goto("about:blank")
        b.goto(BASE + "/#/peers")
        t = b.wait("window.__wb && window.__wb.frame && [window.__wb.dom, window.__wb.frame]",
                   timeout=120, what=f"{ROWS} rows")
        print("load %.1f %.1f" % (t[0], t[1]), flush=True)
EOF
}
log "peer page with $UI_N peers: 5 loads in chromium"
scenario load "$UI_N" >"$TMP/load.out" 2>"$TMP/load.err" || { cat "$TMP/load.err" >&2; die "the page-load step failed"; }
PAGE_MS=$(awk '$1 == "load" { print $3 }' "$TMP/load.out" | median)
PAGE_DOM_MS=$(awk '$1 == "load" { print $2 }' "$TMP/load.out" | median)
PAGE_ALL=$(awk '$1 == "load" { printf "%s%s", sep, $3; sep = ", " }' "$TMP/load.out")

# --- 4. N peers ---------------------------------------------------------------------
t0=$EPOCHREALTIME
zwg_store import --admin-socket "$ADMIN" "$TMP/full.conf" >"$TMP/import2.out" 2>&1 ||
    { tail -n 5 "$TMP/import2.out" >&2; die "zerowg import of $N peers failed"; }
t1=$EPOCHREALTIME
IMPORT_FULL_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
rm -f "$TMP/small.conf" "$TMP/full.conf"
got=$(X curl -s --max-time 60 -H "Authorization: Bearer $TOKEN" "$BASE/v1/peers" | grep -o '"name":"wb[0-9]*"' | wc -l)
[[ $got -eq $N ]] || die "GET /v1/peers lists $got peers, not $N"
sleep 2
RSS_N=$(kib "$SPID" VmRSS)
HWM_N=$(kib "$SPID" VmHWM)
log "$N peers imported in ${IMPORT_FULL_S} s; RSS ${RSS_N} KiB"

# --- 5. the UI open, polling ---------------------------------------------------------
log "peer page open for $POLL s with $N peers"
scenario poll "$N" >"$TMP/poll.out" 2>"$TMP/poll.err" || { cat "$TMP/poll.err" >&2; die "the polling step failed"; }
RSS_POLL=$(kib "$SPID" VmRSS)
HWM_POLL=$(kib "$SPID" VmHWM)
sleep 3
RSS_POLL_AFTER=$(kib "$SPID" VmRSS)

# --- 6. wrk on the API -----------------------------------------------------------------
# wrk_run NAME ARGS...: wrk --latency; sets NAME_rps, NAME_p50_ms, NAME_p99_ms, NAME_non2xx, NAME_n
declare -A R
to_ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) }
                 else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }; printf "%.1f\n", v }'; }
wrk_run() {
    local name=$1 out
    shift
    out=$(X timeout $((DUR + 60)) wrk --latency -d "${DUR}s" --timeout 30s "$@") || die "wrk $* failed"
    printf '%s\n' "$out" >"$TMP/wrk-$name.txt"
    R[${name}_rps]=$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' <<<"$out")
    R[${name}_p50_ms]=$(awk '$1 == "50%" { print $2 }' <<<"$out" | to_ms)
    R[${name}_p99_ms]=$(awk '$1 == "99%" { print $2 }' <<<"$out" | to_ms)
    R[${name}_n]=$(awk '/requests in/ { print $1 }' <<<"$out")
    R[${name}_non2xx]=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
    : "${R[${name}_non2xx]:=0}"
}
AUTH="Authorization: Bearer $TOKEN"
log "wrk: GET /v1/peers ($N peers), GET /v1/server"
wrk_run peers -t2 -c4 -H "$AUTH" "$BASE/v1/peers"
PEERS_BYTES=$(X curl -s --max-time 60 -H "$AUTH" "$BASE/v1/peers" | wc -c)
wrk_run server -t2 -c4 -H "$AUTH" "$BASE/v1/server"

# The same client (curl, 20 requests on one connection) on both transports.
curl_seq() {
    awk -v n=20 -v url="$1" -v extra="$2" 'BEGIN {
        for (i = 1; i <= n; i++) {
            printf "url = \"%s\"\noutput = \"/dev/null\"\nsilent\nmax-time = 60\n", url
            if (extra != "") print extra
            print "write-out = \"%{http_code} %{time_total}\\n\""
            if (i < n) print "next"
        }
    }'
}
TCP_OUT=$(curl_seq "$BASE/v1/peers" "header = \"$AUTH\"" | X timeout 300 curl -K -) || die "curl over TCP failed"
UNIX_OUT=$(curl_seq "http://zerowg/v1/peers" "unix-socket = \"$ADMIN\"" | timeout 300 curl -K -) || die "curl over the unix socket failed"
awk '$1 != 200 { bad = 1 } END { exit bad }' <<<"$TCP_OUT$(printf '\n')$UNIX_OUT" || die "a sequential GET /v1/peers failed"
SEQ_TCP_MS=$(awk '{ print $2 * 1000 }' <<<"$TCP_OUT" | median)
SEQ_UNIX_MS=$(awk '{ print $2 * 1000 }' <<<"$UNIX_OUT" | median)
HWM_API=$(kib "$SPID" VmHWM)

# --- 7. sign-in -----------------------------------------------------------------------
LUA=$TMP/login.lua
{
    echo 'local bodies = {'
    for ((i = 1; i <= LOGIN_USERS; i++)); do
        printf '  [[{"user":"%s","password":"%s"}]],\n' "${LUSER[i]}" "${LPASS[i]}"
    done
    echo '}'
    echo 'local n = 0'
    echo 'request = function()'
    echo '  n = n + 1'
    echo '  return wrk.format("POST", "/v1/login", {["Content-Type"] = "application/json",'
    echo "    [\"Origin\"] = \"$BASE\"}, bodies[(n % #bodies) + 1])"
    echo 'end'
} >"$LUA"
chmod 600 "$LUA"
log "wrk: POST /v1/login ($LOGIN_USERS users, right passwords)"
wrk_run login -t1 -c2 -s "$LUA" "$BASE/v1/login"
# GET /v1/server (one connection) while sign-ins run on two others
# (the sign-ins start 1 s before and end 1 s after the measured run)
X timeout $((DUR + 60)) wrk -d "$((DUR + 2))s" --timeout 30s -t1 -c2 -s "$LUA" "$BASE/v1/login" >"$TMP/wrk-login-bg.txt" 2>&1 &
BG=$!
sleep 1
wrk_run server_during_login -t1 -c1 -H "$AUTH" "$BASE/v1/server"
wait "$BG" || true
HWM_END=$(kib "$SPID" VmHWM)
RSS_END=$(kib "$SPID" VmRSS)

ST1=$(awk '/^cpu / { print $9 }' /proc/stat)
T1_ALL=$(awk '/^cpu / { s = 0; for (i = 2; i <= NF; i++) s += $i; print s }' /proc/stat)
echo "loadavg_before $LOAD_BEFORE"
echo "loadavg_after $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v a="$ST0" -v b="$ST1" -v x="$T0_ALL" -v y="$T1_ALL" 'BEGIN { if (y > x) printf "steal_pct %.1f\n", 100 * (b - a) / (y - x) }'
echo "peers $N"
echo "ui_peers $UI_N"
echo "server_process $SERVER_COMM"
echo "import_ui_peers_s $IMPORT_UI_S"
echo "import_peers_s $IMPORT_FULL_S"
echo "page_load_median_ms $PAGE_MS"
echo "page_rows_in_dom_median_ms $PAGE_DOM_MS"
echo "page_load_runs_ms $PAGE_ALL"
echo "peers_json_bytes $PEERS_BYTES"
for k in peers server login server_during_login; do
    echo "${k}_rps ${R[${k}_rps]}"
    echo "${k}_p50_ms ${R[${k}_p50_ms]}"
    echo "${k}_p99_ms ${R[${k}_p99_ms]}"
    echo "${k}_requests ${R[${k}_n]}"
    echo "${k}_non2xx ${R[${k}_non2xx]}"
done
echo "seq_peers_tcp_median_ms $SEQ_TCP_MS"
echo "seq_peers_unix_median_ms $SEQ_UNIX_MS"
echo "rss_idle_kib $RSS_IDLE"
echo "rss_ui_peers_kib $RSS_UI_PEERS"
echo "rss_peers_kib $RSS_N"
echo "hwm_peers_kib $HWM_N"
echo "rss_ui_polling_kib $RSS_POLL"
echo "rss_after_ui_kib $RSS_POLL_AFTER"
echo "hwm_ui_polling_kib $HWM_POLL"
echo "hwm_after_wrk_kib $HWM_API"
echo "rss_end_kib $RSS_END"
echo "hwm_end_kib $HWM_END"
echo "ui_rows_seen $(awk '$1 == "open" { print $2 }' "$TMP/poll.out")"
