#!/usr/bin/env bash
# compare.sh - one dated RESULTS.md section (Markdown, on stdout) from the
# files of one bench/run.sh run:
#
#   bench/compare.sh RUN_DIR
#
# RUN_DIR holds meta.txt ("key<TAB>value": date, mode, machine, commands),
# harness-zerowgd/ and harness-wireguard-go/ (../shared/bench
# run-baseline.sh --out directories: data.tsv is "test rep key value"),
# handshake-*.txt and peers-*.txt ("key value" lines from
# handshake_bench and peers_bench.sh), and server-zerowg.txt (from
# server_bench.sh; zerowg only, so its wireguard-go cells say "n/a").
# A missing file gives "-" cells.
# Ratio is always ours / wireguard-go.  Targets are printed next to the
# figures for the reader; nothing here judges them.
set -euo pipefail

RUN=${1:?usage: compare.sh RUN_DIR}
[[ -d $RUN ]] || { echo "compare.sh: no directory \"$RUN\"" >&2; exit 1; }
OURS=zerowgd
THEIRS=wireguard-go

meta() { awk -F'\t' -v k="$1" '$1 == k { print $2; exit }' "$RUN/meta.txt" 2>/dev/null; }
# kv FILE KEY: the value of a "key value" line, or empty
kv() { if [[ -f $1 ]]; then awk -v k="$2" '$1 == k { print $2; exit }' "$1"; fi; }
# harness IMPL TEST KEY [med|max|first]: from data.tsv, over the repetitions
harness() {
    local f="$RUN/harness-$1/data.tsv"
    [[ -f $f ]] || return 0
    awk -F'\t' -v t="$2" -v k="$3" -v how="${4:-med}" '
        $1 == t && $3 == k { v[++n] = $4 + 0 }
        END {
            if (!n) exit
            if (how == "max") { m = v[1]; for (i = 2; i <= n; i++) if (v[i] > m) m = v[i]; print m; exit }
            for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { x = v[j]; v[j] = v[j-1]; v[j-1] = x }
            print (n % 2) ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
        }' "$f"
}
# the larger of the two sides' figures (A and B run the same implementation)
harness_ab() {
    local a b
    a=$(harness "$1" "$2" "${3}A_kb" "${4:-max}"); b=$(harness "$1" "$2" "${3}B_kb" "${4:-max}")
    awk -v a="$a" -v b="$b" 'BEGIN { if (a == "" && b == "") exit; print (a + 0 > b + 0) ? a : b }'
}
# most CPU other processes used during any run of any tunnel test
noise() {
    local f="$RUN/harness-$1/data.tsv"
    [[ -f $f ]] || return 0
    awk -F'\t' '$3 == "foreign_cpu" && $1 ~ /^tun/ && $4 + 0 > m { m = $4 + 0 } END { printf "%.0f", m }' "$f"
}
# most CPU time the hypervisor took from this VM (steal, % of all cores)
# during any run of any tunnel test
steal() {
    local f="$RUN/harness-$1/data.tsv"
    [[ -f $f ]] || return 0
    awk -F'\t' '$3 == "sys_steal" && $1 ~ /^tun/ && $4 + 0 > m { m = $4 + 0 } END { printf "%.0f", m }' "$f"
}
fmt() {  # fmt VALUE PRINTF_FORMAT [DIVISOR]
    awk -v v="$1" -v f="$2" -v d="${3:-1}" 'BEGIN { if (v == "") print "-"; else printf f "\n", v / d }'
}
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f×\n", a / b }'
}
row() {  # row LABEL OURS THEIRS FORMAT DIVISOR TARGET [NOISE]
    printf '| %s | %s | %s | %s | %s |%s\n' "$1" "$(fmt "$2" "$4" "$5")" "$(fmt "$3" "$4" "$5")" \
        "$(ratio "$2" "$3")" "$6" "${7:+ $7 |}"
}

# row_ours LABEL VALUE FORMAT DIVISOR TARGET: a figure without a wireguard-go counterpart
row_ours() {
    printf '| %s | %s | n/a | n/a | %s |\n' "$1" "$(fmt "$2" "$3" "$4")" "$5"
}

hs_o="$RUN/handshake-$OURS.txt" hs_t="$RUN/handshake-$THEIRS.txt"
pb_o="$RUN/peers-$OURS.txt" pb_t="$RUN/peers-$THEIRS.txt"
sb="$RUN/server-zerowg.txt"
kvs() { local v; v=$(kv "$@"); echo "${v:--}"; }  # kv, or "-" (for text)

cat <<EOF
## $(meta date) — $(meta mode)

Machine: $(meta machine).
Load before: $(meta load_before); after: $(meta load_after).
zerowgd $(meta zerowgd_version) (commit $(meta commit); the working tree may differ); wireguard-go $(meta wireguard_go_version); wireguard-tools $(meta wg_version).
Noise: the most CPU that processes outside the test took during any tunnel run ("others% max" of
the harness, % of one core) was $(noise "$OURS")% during the zerowgd run and $(noise "$THEIRS")% during the wireguard-go run; during the
handshake runs other processes took $(fmt "$(kv "$hs_o" others_on_daemon_cpu_pct)" "%.0f")% / $(fmt "$(kv "$hs_t" others_on_daemon_cpu_pct)" "%.0f")% of the daemon's CPU. The
hypervisor took at most $(steal "$OURS")% / $(steal "$THEIRS")% of the machine's CPU as steal time during a tunnel run
(\`/proc/stat\`; a VM's neighbours, invisible to "others%"). Over 10% of either means the figures
are noisy: compare ratios, and rerun on a quiet machine before drawing conclusions.

### Throughput through the tunnel (\`../shared/bench\`, Gbit/s at the receiver, median)

| test | zerowgd | wireguard-go | ratio | target | others% max (ours / wg-go) |
| --- | ---: | ---: | ---: | --- | ---: |
EOF
for t in tun_tcp1:"TCP, 1 stream":"≥ 8×" tun_tcp4:"TCP, -P 4":"≥ 8×" \
         tun_udp1392:"UDP -b 0 -l 1392, received":"≥ 5×" tun_udp1400:"UDP -b 0 -l 1400 (fragments), received":"-"; do
    IFS=: read -r test label target <<<"$t"
    row "$label" "$(harness "$OURS" "$test" gbps)" "$(harness "$THEIRS" "$test" gbps)" "%.2f" 1 "$target" \
        "$(fmt "$(harness "$OURS" "$test" foreign_cpu max)" "%.0f") / $(fmt "$(harness "$THEIRS" "$test" foreign_cpu max)" "%.0f")"
done
cat <<EOF

CPU of the implementation during those runs (% of one core, side A / side B, median):

| test | zerowgd | wireguard-go |
| --- | ---: | ---: |
EOF
for t in tun_tcp1:"TCP, 1 stream" tun_tcp4:"TCP, -P 4" tun_udp1392:"UDP -l 1392" tun_udp1400:"UDP -l 1400"; do
    IFS=: read -r test label <<<"$t"
    printf '| %s | %s / %s | %s / %s |\n' "$label" \
        "$(fmt "$(harness "$OURS" "$test" cpuA)" "%.0f")" "$(fmt "$(harness "$OURS" "$test" cpuB)" "%.0f")" \
        "$(fmt "$(harness "$THEIRS" "$test" cpuA)" "%.0f")" "$(fmt "$(harness "$THEIRS" "$test" cpuB)" "%.0f")"
done
cat <<EOF

Raw veth ceiling measured in the same runs (no WireGuard): TCP 1 stream $(fmt "$(harness "$OURS" raw_tcp1 gbps)" "%.2f") / $(fmt "$(harness "$THEIRS" raw_tcp1 gbps)" "%.2f") Gbit/s (during the zerowgd / wireguard-go run).

### Latency through the tunnel (\`ping -c 30 -i 0.1\`, median of runs)

| figure | zerowgd | wireguard-go | ratio | target |
| --- | ---: | ---: | ---: | --- |
EOF
row "min RTT, ms" "$(harness "$OURS" tun_ping rtt_min_ms)" "$(harness "$THEIRS" tun_ping rtt_min_ms)" "%.3f" 1 "≤ 0.12 ms"
row "avg RTT, ms" "$(harness "$OURS" tun_ping rtt_avg_ms)" "$(harness "$THEIRS" tun_ping rtt_avg_ms)" "%.3f" 1 "-"
cat <<EOF

### Memory of the implementation (MiB, the larger of sides A and B)

| figure | zerowgd | wireguard-go | ratio | target |
| --- | ---: | ---: | ---: | --- |
EOF
row "RSS idle (tunnel up)" "$(harness_ab "$OURS" idle rss)" "$(harness_ab "$THEIRS" idle rss)" "%.1f" 1024 "≤ 3 MiB"
row "of which private (USS: not shared library pages)" "$(harness_ab "$OURS" idle uss)" "$(harness_ab "$THEIRS" idle uss)" "%.1f" 1024 "-"
row "peak (VmHWM) after the bench" "$(harness_ab "$OURS" end hwm)" "$(harness_ab "$THEIRS" end hwm)" "%.1f" 1024 "≤ 32 MiB"
row "RSS at the end" "$(harness_ab "$OURS" end rss)" "$(harness_ab "$THEIRS" end rss)" "%.1f" 1024 "-"
cat <<EOF

### Handshakes answered (\`bench/handshake_bench\`, daemon pinned to one CPU)

Method: $(kv "$hs_o" method) — genuine initiations made beforehand with the project's noise code,
$(kv "$hs_o" peers) peers, $(kv "$hs_o" sources) source addresses, at most $(kv "$hs_o" window) outstanding, $(kv "$hs_o" seconds) s measured after a $(kv "$hs_o" warmup_s) s warm-up.
wireguard-go runs with GOMAXPROCS set to the machine's CPU count: pinned to one CPU, Go would
pick 1 and leave the core idle about half the time (see bench/README.md).

| figure | zerowgd | wireguard-go | ratio | target |
| --- | ---: | ---: | ---: | --- |
EOF
row "answered per second" "$(kv "$hs_o" answered_per_s)" "$(kv "$hs_t" answered_per_s)" "%.0f" 1 "≥ 5,000 on one core"
row "answered per CPU-second of the daemon" "$(kv "$hs_o" answered_per_cpu_s)" "$(kv "$hs_t" answered_per_cpu_s)" "%.0f" 1 "≥ 5,000"
row "daemon CPU, % of its core" "$(kv "$hs_o" daemon_cpu_pct)" "$(kv "$hs_t" daemon_cpu_pct)" "%.0f" 1 "-"
row "cookie replies per second (measured window)" "$(kv "$hs_o" cookie_replies_per_s)" "$(kv "$hs_t" cookie_replies_per_s)" "%.0f" 1 "-"
row "cookie replies in all (warm-up included)" "$(kv "$hs_o" cookie_replies_total)" "$(kv "$hs_t" cookie_replies_total)" "%.0f" 1 "-"
row "initiations timed out (500 ms)" "$(kv "$hs_o" timed_out)" "$(kv "$hs_t" timed_out)" "%.0f" 1 "-"
row "others on the daemon's CPU, %" "$(kv "$hs_o" others_on_daemon_cpu_pct)" "$(kv "$hs_t" others_on_daemon_cpu_pct)" "%.0f" 1 "-"
per_k() {  # per_k SECONDS PEERS: milliseconds per 1,000 peers
    awk -v s="$1" -v n="$2" 'BEGIN { if (s != "" && n + 0 > 0) printf "%.1f\n", s * 1e6 / n }'
}
cat <<EOF

### Many peers set through UAPI in one \`wg setconf\` (\`bench/peers_bench.sh\`)

wireguard-go refuses more than 65,536 peers (MaxPeers = 1 << 16: "too many peers"), so when more
were asked for it runs with 65,536 and the per-peer rows are the ones to compare.

| figure | zerowgd | wireguard-go | ratio | target |
| --- | ---: | ---: | ---: | --- |
EOF
row "peers" "$(kv "$pb_o" peers)" "$(kv "$pb_t" peers)" "%.0f" 1 "100,000"
row "\`wg setconf\` wall time, s" "$(kv "$pb_o" set_s)" "$(kv "$pb_t" set_s)" "%.2f" 1 "≤ 3 s for 100,000"
row "set time per 1,000 peers, ms" "$(per_k "$(kv "$pb_o" set_s)" "$(kv "$pb_o" peers)")" \
    "$(per_k "$(kv "$pb_t" set_s)" "$(kv "$pb_t" peers)")" "%.1f" 1 "≤ 30 ms (3 s / 100,000)"
row "daemon CPU during the set, s" "$(kv "$pb_o" daemon_cpu_s)" "$(kv "$pb_t" daemon_cpu_s)" "%.2f" 1 "-"
row "RSS growth per peer, bytes" "$(kv "$pb_o" bytes_per_peer)" "$(kv "$pb_t" bytes_per_peer)" "%.0f" 1 "≤ 2,048"
row "RSS after the set, MiB" "$(kv "$pb_o" rss_after_kib)" "$(kv "$pb_t" rss_after_kib)" "%.1f" 1024 "-"
row "peak (VmHWM) after set and dump, MiB" "$(kv "$pb_o" hwm_kib)" "$(kv "$pb_t" hwm_kib)" "%.1f" 1024 "-"
row "\`wg show dump\` wall time, s" "$(kv "$pb_o" dump_s)" "$(kv "$pb_t" dump_s)" "%.2f" 1 "-"
row "dump time per 1,000 peers, ms" "$(per_k "$(kv "$pb_o" dump_s)" "$(kv "$pb_o" peers)")" \
    "$(per_k "$(kv "$pb_t" dump_s)" "$(kv "$pb_t" peers)")" "%.1f" 1 "-"
row "peers listed by the dump" "$(kv "$pb_o" peers_listed)" "$(kv "$pb_t" peers_listed)" "%.0f" 1 "-"
cat <<EOF

(\`wg\`'s own CPU time for the set: $(kv "$pb_o" wg_cpu_s) s / $(kv "$pb_t" wg_cpu_s) s.)

### Server (\`zerowg\`, \`bench/server_bench.sh\`)

\`zerowg up\` in a throw-away namespace with $(fmt "$(kv "$sb" peers)" "%.0f") peers in its sealed store (on $(kvs "$sb" data_fs)). The
last $(fmt "$(kv "$sb" add_cli_samples)" "%.0f") adds are \`zerowg peer add NAME\`, each timed from the process's start to its end
(API call, sealed write with fsync, apply, config and QR code to /dev/null). The restart is timed from
exec to GET /v1/server answering with every peer applied. The targets are issue 4's. wireguard-go
has no counterpart: n/a.

| figure | zerowg | wireguard-go | ratio | target |
| --- | ---: | ---: | ---: | --- |
EOF
row_ours "peers in the store" "$(kv "$sb" peers)" "%.0f" 1 "10,000"
row_ours "\`zerowg peer add\` end to end, median, ms" "$(kv "$sb" add_cli_median_ms)" "%.1f" 1 "≤ 20 ms"
row_ours "\`zerowg peer add\` end to end, p90, ms" "$(kv "$sb" add_cli_p90_ms)" "%.1f" 1 "-"
row_ours "POST /v1/peers alone (curl), median, ms" "$(kv "$sb" add_api_median_ms)" "%.1f" 1 "-"
row_ours "restart: exec to API answering, all peers applied, s" "$(kv "$sb" restart_s)" "%.2f" 1 "≤ 2 s"
row_ours "peers on the interface after the restart" "$(kv "$sb" restart_peers_applied)" "%.0f" 1 "= peers"
row_ours "\`zerowg peer list > /dev/null\`, median of 5, ms" "$(kv "$sb" peer_list_median_ms)" "%.0f" 1 "≤ 200 ms"
row_ours "RSS with all peers (after the restart), MiB" "$(kv "$sb" rss_kib)" "%.1f" 1024 "-"
row_ours "RSS with no peer, MiB" "$(kv "$sb" rss_empty_kib)" "%.1f" 1024 "-"
row_ours "sealed store on disk, MiB" "$(kv "$sb" store_kib)" "%.1f" 1024 "-"
cat <<EOF

(The server's own start-up log: store $(kvs "$sb" startup_store_ms) ms, peers loaded $(kvs "$sb" startup_peers_loaded_ms) ms, interface $(kvs "$sb" startup_interface_ms) ms,
peers applied $(kvs "$sb" startup_peers_applied_ms) ms. $(kvs "$sb" api_adds) adds through the API before the timed ones took $(kvs "$sb" api_add_s) s.)

### Commands

\`\`\`
$(awk -F'\t' '$1 ~ /^cmd_/ { print $2 }' "$RUN/meta.txt")
\`\`\`
Raw output of this run (not kept in git): \`$(meta raw_dir)\`.

EOF
