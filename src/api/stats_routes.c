/*
 * stats_routes.c - GET /v1/stats (route.h): every peer's statistics
 * history by peer name (stats.h):
 *   range=1h (the default): the last hour, one point every
 *     STATS_INTERVAL_SEC: {"interval":10,"peers":{NAME:[{"t","rx","tx"}...]}}
 *   range=24h: the last 24 hours, one point a minute: {"interval":60,...}
 * "rx" and "tx" are the byte counters at time "t" (unix seconds): a chart
 * plots their differences.
 */
#include "api_internal.h"
#include "stats.h"

#include <stdlib.h>
#include <string.h>

/* "range=1h" or "range=24h" (the only parameter).  false after a 400. */
static bool parse_range(struct api_reply *r, const char *query, bool *day)
{
	*day = false;
	while (query && *query) {
		size_t len = strcspn(query, "&");
		if (len == 8 && !strncmp(query, "range=1h", 8)) {
			*day = false;
		} else if (len == 9 && !strncmp(query, "range=24h", 9)) {
			*day = true;
		} else if (len > 6 && !strncmp(query, "range=", 6)) {
			api_reply_error(r, 400, "range", "range \"%.*s\" is not 1h or 24h",
					(int)(len - 6 < 40 ? len - 6 : 40), query + 6);
			return false;
		} else if (len) {
			api_reply_error(r, 400, "query", "unknown query parameter \"%.*s\" (GET "
					"/v1/stats takes range=1h or range=24h)",
					(int)(len < 40 ? len : 40), query);
			return false;
		}
		query += len + (query[len] == '&');
	}
	return true;
}

int api_get_stats(struct api *api, const struct api_request *req, struct api_reply *r)
{
	struct peer_record *peers = NULL;
	struct stats_point *pts;
	size_t n = 0, max;
	json_t *j, *by_name;
	bool day;
	int ret;

	if (!parse_range(r, req->query, &day))
		return 0;
	max = day ? STATS_HISTORY_24H : STATS_HISTORY;
	ret = control_peer_list(api->ctl, &peers, &n);
	if (ret < 0)
		return api_reply_error(r, api_status_of(ret), NULL, "listing peers: %s",
				       strerror(-ret));
	pts = calloc(max, sizeof(*pts));
	j = json_object();
	by_name = json_object();
	for (size_t i = 0; pts && j && by_name && i < n; i++) {
		size_t k = 0;
		if (api->stats)
			k = day ? stats_history_24h(api->stats, peers[i].public_key, pts, max) :
				  stats_history(api->stats, peers[i].public_key, pts, max);
		json_t *arr = json_array();
		for (size_t s = 0; arr && s < k; s++)
			json_array_append_new(arr, json_pack("{sI sI sI}", "t", (json_int_t)pts[s].t,
							     "rx", (json_int_t)pts[s].rx_bytes,
							     "tx", (json_int_t)pts[s].tx_bytes));
		json_object_set_new(by_name, peers[i].name, arr ? arr : json_null());
	}
	model_peer_array_free(peers, n);
	free(pts);
	if (!j || !by_name) {
		json_decref(j);
		json_decref(by_name);
		return api_reply_error(r, 500, NULL, "out of memory");
	}
	json_object_set_new(j, "interval",
			    json_integer(day ? STATS_INTERVAL_24H_SEC : STATS_INTERVAL_SEC));
	json_object_set_new(j, "peers", by_name);
	return api_reply_json(r, 200, j);
}
