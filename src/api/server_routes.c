/*
 * server_routes.c - the server routes (route.h): GET /v1/server (the
 * server's view, never its private key) and POST /v1/reload (re-read the
 * store after another process wrote it, and apply it).
 */
#include "api_internal.h"
#include "stats.h"

#include <errno.h>
#include <string.h>
#include <time.h>

int api_get_server(struct api *api, const struct api_request *req, struct api_reply *r)
{
	struct server_record srv;
	uint8_t pub[MODEL_KEY_LEN];
	char pub64[KEY_BASE64_LEN + 1];
	struct peer_record *peers = NULL;
	size_t n = 0, online = 0;
	int64_t now = (int64_t)time(NULL);
	json_t *j;
	int ret;

	ret = control_get_server(api->ctl, &srv, pub);
	if (ret < 0)
		return api_reply_error(r, api_status_of(ret), NULL, "reading the server record: %s",
				       strerror(-ret));
	api_refresh(api);
	if (control_peer_list(api->ctl, &peers, &n) == 0) {
		for (size_t i = 0; i < n && api->stats; i++) {
			struct stats_live live;
			if (stats_get(api->stats, peers[i].public_key, &live) &&
			    stats_online(&live, now))
				online++;
		}
		model_peer_array_free(peers, n);
	}
	j = model_server_to_json(&srv, 0);
	model_server_free(&srv);
	if (!j)
		return api_reply_error(r, 500, NULL, "out of memory");
	json_object_del(j, "private_key");
	key_to_base64(pub64, pub);
	json_object_set_new(j, "public_key", json_string(pub64));
	json_object_set_new(j, "peers", json_integer((json_int_t)n));
	json_object_set_new(j, "online", json_integer((json_int_t)online));
	uint64_t gen;
	if (control_store_generation(api->ctl, &gen) == 0)
		json_object_set_new(j, "store_generation", json_integer((json_int_t)gen));
	return api_reply_json(r, 200, j);
}

int api_reload(struct api *api, const struct api_request *req, struct api_reply *r)
{
	char err[512] = "";
	int ret;

	if (!api->reload)
		return api_reply_error(r, 405, NULL, "this server cannot reload its store");
	ret = api->reload(api->ctx, req->actor, err, sizeof(err));
	if (ret < 0)
		return api_reply_error(r, api_status_of(ret), NULL, "%s",
				       err[0] ? err : strerror(-ret));
	return api_get_server(api, req, r);
}
