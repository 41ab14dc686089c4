/*
 * metrics.c - GET /metrics (route.h): the Prometheus text exposition
 * format 0.0.4.
 *
 * Per peer, the names and labels existing WireGuard exporters use
 * (MindFlavor/prometheus_wireguard_exporter), so their dashboards work:
 *   wireguard_sent_bytes_total{interface,public_key,name}      counter
 *   wireguard_received_bytes_total{interface,public_key,name}  counter
 *   wireguard_latest_handshake_seconds{interface,public_key,name}  gauge (unix time)
 * and zerowg's own: zerowg_peers_configured/enabled/online,
 * zerowg_cookie_replies_total, zerowg_drops_total{reason} (the data
 * plane's device_drop counters, through api->counters),
 * zerowg_handshakes_total{type} (device.h's enum handshake_event:
 * initiation_received/_sent, response_received/_sent, cookie_received,
 * completed), and two latency
 * histograms: zerowg_api_request_duration_seconds (every request) and
 * zerowg_store_write_duration_seconds (every change the control layer
 * stored).  Public keys and names only: nothing here is secret.
 *
 * Who may read it: route.c (ROUTE_METRICS): a viewer, or anyone from an
 * address of api->metrics_allow (default: loopback).
 */
#include "api_internal.h"
#include "device.h"
#include "stats.h"
#include "textbuf.h"

#include <string.h>
#include <time.h>

const double api_latency_bounds[API_LATENCY_BUCKETS] = {
	0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5,
};

void api_latency_observe(struct api_latency *l, uint64_t ns)
{
	for (size_t i = 0; i < API_LATENCY_BUCKETS; i++)
		if ((double)ns / 1e9 <= api_latency_bounds[i])
			__atomic_fetch_add(&l->bucket[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&l->sum_ns, ns, __ATOMIC_RELAXED);
	__atomic_fetch_add(&l->count, 1, __ATOMIC_RELAXED);
}

/* The drop reasons of device.h, as label values. */
static const char *const drop_names[DROP__COUNT] = {
	[DROP_RX_SHORT] = "rx_short",
	[DROP_RX_BAD_TYPE] = "rx_bad_type",
	[DROP_RX_BAD_MAC] = "rx_bad_mac",
	[DROP_RX_RATELIMITED] = "rx_ratelimited",
	[DROP_RX_COOKIE_SENT] = "rx_cookie_sent",
	[DROP_RX_HANDSHAKE_INVALID] = "rx_handshake_invalid",
	[DROP_RX_COOKIE_INVALID] = "rx_cookie_invalid",
	[DROP_RX_NO_KEYPAIR] = "rx_no_keypair",
	[DROP_RX_DECRYPT] = "rx_decrypt",
	[DROP_RX_REPLAY] = "rx_replay",
	[DROP_RX_BAD_INNER] = "rx_bad_inner",
	[DROP_RX_ALLOWEDIPS] = "rx_allowedips",
	[DROP_RX_TUN_WRITE] = "rx_tun_write",
	[DROP_TX_NO_PEER] = "tx_no_peer",
	[DROP_TX_NO_ENDPOINT] = "tx_no_endpoint",
	[DROP_TX_BAD_PACKET] = "tx_bad_packet",
	[DROP_TX_SEND] = "tx_send",
	[DROP_TX_STAGED_OVERFLOW] = "tx_staged_overflow",
};
_Static_assert(DROP__COUNT <= API_DROP_REASONS, "API_DROP_REASONS is too small");

/* The handshake events of device.h, as label values. */
static const char *const handshake_names[HS__COUNT] = {
	[HS_INITIATION_RECEIVED] = "initiation_received",
	[HS_INITIATION_SENT] = "initiation_sent",
	[HS_RESPONSE_RECEIVED] = "response_received",
	[HS_RESPONSE_SENT] = "response_sent",
	[HS_COOKIE_RECEIVED] = "cookie_received",
	[HS_SESSION_DERIVED] = "completed",
};
_Static_assert(HS__COUNT <= API_HANDSHAKE_EVENTS, "API_HANDSHAKE_EVENTS is too small");

/* A label value: backslash, double quote and newline escaped (0.0.4). */
static void label(struct textbuf *tb, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			textbuf_printf(tb, "\\%c", *v);
		else if (*v == '\n')
			textbuf_printf(tb, "\\n");
		else
			textbuf_printf(tb, "%c", *v);
	}
}

static void peer_labels(struct textbuf *tb, const char *ifname, const char *pub64,
			const char *name)
{
	textbuf_printf(tb, "{interface=\"");
	label(tb, ifname);
	textbuf_printf(tb, "\",public_key=\"");
	label(tb, pub64);
	textbuf_printf(tb, "\",name=\"");
	label(tb, name);
	textbuf_printf(tb, "\"}");
}

static void histogram(struct textbuf *tb, const char *name, const char *help,
		      const struct api_latency *l)
{
	uint64_t count = __atomic_load_n(&l->count, __ATOMIC_RELAXED);

	textbuf_printf(tb, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < API_LATENCY_BUCKETS; i++)
		textbuf_printf(tb, "%s_bucket{le=\"%g\"} %llu\n", name, api_latency_bounds[i],
			       (unsigned long long)__atomic_load_n(&l->bucket[i], __ATOMIC_RELAXED));
	textbuf_printf(tb, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)count);
	textbuf_printf(tb, "%s_sum %.9f\n", name,
		       (double)__atomic_load_n(&l->sum_ns, __ATOMIC_RELAXED) / 1e9);
	textbuf_printf(tb, "%s_count %llu\n", name, (unsigned long long)count);
}

static void family(struct textbuf *tb, const char *name, const char *type, const char *help)
{
	textbuf_printf(tb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int api_get_metrics(struct api *api, const struct api_request *req, struct api_reply *r)
{
	const char *ifname = api->interface ? api->interface : "zwg0";
	struct peer_record *peers = NULL;
	struct stats_live *live = NULL;
	bool *have = NULL;
	struct api_counters c = { .n_drops = 0 };
	struct textbuf tb = { 0 };
	size_t n = 0, enabled = 0, online = 0;
	int64_t now = (int64_t)time(NULL);
	char pub64[KEY_BASE64_LEN + 1];
	int ret;

	api_refresh(api);
	ret = control_peer_list(api->ctl, &peers, &n);
	if (ret < 0)
		return api_reply_error(r, api_status_of(ret), NULL, "listing peers: %s",
				       strerror(-ret));
	live = calloc(n ? n : 1, sizeof(*live));
	have = calloc(n ? n : 1, sizeof(*have));
	if (!live || !have) {
		model_peer_array_free(peers, n);
		free(live);
		free(have);
		return api_reply_error(r, 500, NULL, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		have[i] = api->stats && stats_get(api->stats, peers[i].public_key, &live[i]);
		enabled += peers[i].enabled;
		online += have[i] && stats_online(&live[i], now);
	}
	if (api->counters && api->counters(api->ctx, &c) < 0)
		c.n_drops = c.n_handshakes = 0;

	static const struct {
		const char *name, *type, *help;
	} per_peer[] = {
		{ "wireguard_sent_bytes_total", "counter", "Bytes sent to the peer" },
		{ "wireguard_received_bytes_total", "counter", "Bytes received from the peer" },
		{ "wireguard_latest_handshake_seconds", "gauge",
		  "Unix time of the latest handshake with the peer (0: never)" },
	};
	for (size_t m = 0; m < 3; m++) {
		family(&tb, per_peer[m].name, per_peer[m].type, per_peer[m].help);
		for (size_t i = 0; i < n; i++) {
			/* Only peers the device has: a disabled peer has no
			 * counters (a series that vanishes, as with wg). */
			if (!have[i])
				continue;
			key_to_base64(pub64, peers[i].public_key);
			textbuf_printf(&tb, "%s", per_peer[m].name);
			peer_labels(&tb, ifname, pub64, peers[i].name);
			textbuf_printf(&tb, " %llu\n", (unsigned long long)(
				m == 0 ? live[i].tx_bytes : m == 1 ? live[i].rx_bytes :
				(uint64_t)(live[i].latest_handshake > 0 ? live[i].latest_handshake : 0)));
		}
	}
	family(&tb, "zerowg_peers_configured", "gauge", "Peers in the store");
	textbuf_printf(&tb, "zerowg_peers_configured %zu\n", n);
	family(&tb, "zerowg_peers_enabled", "gauge", "Peers enabled (and so in the device)");
	textbuf_printf(&tb, "zerowg_peers_enabled %zu\n", enabled);
	family(&tb, "zerowg_peers_online", "gauge",
	       "Peers with a handshake in the last 180 seconds");
	textbuf_printf(&tb, "zerowg_peers_online %zu\n", online);
	if (c.n_drops) {
		family(&tb, "zerowg_cookie_replies_total", "counter",
		       "Handshakes answered with a cookie reply (under load)");
		textbuf_printf(&tb, "zerowg_cookie_replies_total %llu\n",
			       (unsigned long long)c.drops[DROP_RX_COOKIE_SENT]);
		family(&tb, "zerowg_drops_total", "counter", "Packets dropped, by reason");
		for (size_t i = 0; i < c.n_drops && i < DROP__COUNT; i++)
			textbuf_printf(&tb, "zerowg_drops_total{reason=\"%s\"} %llu\n", drop_names[i],
				       (unsigned long long)c.drops[i]);
	}
	if (c.n_handshakes) {
		family(&tb, "zerowg_handshakes_total", "counter",
		       "Handshake messages accepted or sent, and handshakes completed "
		       "(a session derived), by type");
		for (size_t i = 0; i < c.n_handshakes && i < HS__COUNT; i++)
			textbuf_printf(&tb, "zerowg_handshakes_total{type=\"%s\"} %llu\n",
				       handshake_names[i], (unsigned long long)c.handshakes[i]);
	}
	histogram(&tb, "zerowg_api_request_duration_seconds",
		  "Time the API took to answer a request", &api->request_latency);
	histogram(&tb, "zerowg_store_write_duration_seconds",
		  "Time a change took to be stored (control layer and store)", &api->store_latency);
	model_peer_array_free(peers, n);
	free(live);
	free(have);
	r->body = textbuf_finish(&tb, &r->len);
	if (!r->body)
		return api_reply_error(r, 500, NULL, "out of memory");
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return 0;
}
