#!/bin/sh
# metrics_test.sh - a real Prometheus (Debian's prometheus) scrapes the
# server's GET /metrics (docs/web.md, "Metrics") every second during a
# namespace test with traffic, and a PromQL query through its HTTP API
# returns the peer's byte counters (wireguard_sent_bytes_total and
# wireguard_received_bytes_total, labelled with the peer's name and public
# key), growing with the traffic; promtool accepts the exposition.
# Prometheus runs in the server's namespace (the scrape is from loopback,
# which --metrics-allow lets in by default), with its data in $W; every
# wait is bounded.
T=metrics
. "${0%/*}/lib.sh"
. "${0%/*}/server_lib.sh"

need wg wg-quick curl prometheus promtool "$ZWG" "$ZWGD"
hosts s a
PROM_PORT=19090

check "init: a sealed store" srv_init --subnet "$SUBNET4"
check "up: the server starts (web listener on its defaults)" srv_start || finish
CONF_A=$(peer_add alice --allowed-ips "$SUBNET4")
PUB_A=$(conf_pub "$CONF_A")
check "client a comes up" client_up a "$CONF_A" "$ZWGD" || finish
check "a reaches the server" ping_ok a "$SRV4" || finish

cat >"$W/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: zerowg
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:51821']
YML
check "promtool: the config is valid" promtool check config "$W/prometheus.yml"
X s prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/tsdb" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$W/prometheus.log" 2>&1 &
echo $! >"$W/prometheus.pid"

# value EXPR: the first sample's value of a PromQL instant query, or nothing.
value() {
	X s curl -sS --max-time 3 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$1" |
		sed -n 's/.*"value":\[[0-9.]*,"\([0-9.e+]*\)"\].*/\1/p' | head -n 1
}
# above EXPR N: its value is above N.
above() {
	local v
	v=$(value "$1")
	echo "$1 = ${v:-(none)}"
	[ -n "$v" ] && awk -v v="$v" -v n="$2" 'BEGIN { exit !(v > n) }'
}
# labelled EXPR TEXT: the query's answer has TEXT.
labelled() {
	X s curl -sS --max-time 3 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$1" | grep -qF "$2"
}

check "prometheus: up and scraping the server (up == 1)" wait_for 30 above 'up{job="zerowg"}' 0
before=$(value "wireguard_received_bytes_total{name=\"alice\"}")
X a ping -q -c 20 -i 0.05 -s 1000 "$SRV4" >/dev/null 2>&1
check "promql: the peer's received bytes grew by the traffic (20 kB)" \
	wait_for 20 above "wireguard_received_bytes_total{name=\"alice\",public_key=\"$PUB_A\"}" \
	"$(( ${before%.*} + 20000 ))"
check "promql: wireguard_sent_bytes_total has the peer, with its interface" \
	labelled 'wireguard_sent_bytes_total{name="alice"}' "\"interface\":\"$(sif)\""
check "promql: wireguard_latest_handshake_seconds is a recent unix time" \
	above 'wireguard_latest_handshake_seconds{name="alice"}' "$(( $(date +%s) - 300 ))"
check "promql: zerowg_peers_enabled is 1" above zerowg_peers_enabled 0.5
# The client initiated: the server received its initiation, answered it,
# and derived the session (zerowg_handshakes_total, the data plane's counters).
for t in initiation_received response_sent completed; do
	check "promql: zerowg_handshakes_total{type=\"$t\"} > 0 after the client's handshake" \
		wait_for 10 above "zerowg_handshakes_total{type=\"$t\"}" 0
done
X s curl -sS --max-time 5 http://127.0.0.1:51821/metrics >"$W/metrics.txt"
check "metrics: zerowg_handshakes_total is a counter with all six types" sh -c "
	grep -qx '# TYPE zerowg_handshakes_total counter' '$W/metrics.txt' &&
	[ \$(grep -Ec '^zerowg_handshakes_total\\{type=\"(initiation|response)_(received|sent)\"\\} [0-9]+\$|^zerowg_handshakes_total\\{type=\"(cookie_received|completed)\"\\} [0-9]+\$' '$W/metrics.txt') -eq 6 ]"
check "promtool check metrics accepts the exposition" sh -c "promtool check metrics <'$W/metrics.txt'"
kill "$(cat "$W/prometheus.pid")" 2>/dev/null
finish
