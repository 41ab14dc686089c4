/*
 * api_test.c - the API's handlers (src/api/) without a socket:
 * api_handle() on a memory store, with a real device (its "TUN" one
 * end of a socketpair) behind the apply hook, so a disable, revoke or
 * rotate is checked where it matters: the old public key is gone from the
 * data plane.  Every endpoint, every error path and the field each error
 * names; no answer but the one-time ones ever carries a private or
 * preshared key, and the audit log never does, while it names who made
 * each change.  The HTTP server itself is exercised over a real unix
 * socket and a TCP listener on loopback with raw HTTP/1.1 requests: the
 * security headers, 401 without credentials on TCP, /metrics from
 * loopback, and a client trickling its request cannot hold a slot past
 * the request bound.  Route x role x transport is route_test.c's.
 */
#include "test.h"
#include "accounts.h"
#include "api.h"
#include "api_http.h"
#include "route.h"
#include "apply.h"
#include "audit.h"
#include "control.h"
#include "crypto.h"
#include "device.h"
#include "driver.h"
#include "ipc.h"
#include "encoding.h"
#include "stats.h"
#include "store.h"
#include "totp.h"
#include "web_assets.h"

#include <errno.h>
#include <strings.h>
#include <fcntl.h>
#include <jansson.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static struct device dev;
static struct driver *dev_drv;	/* in-process, direct: no loop runs */
static int pair[2];
static struct store *st;
static struct store_key *skey;
static struct control *ctl;
static struct stats *stats;
static struct api api;
static int apply_calls;
static bool fail_apply;
static char *audit_buf;
static size_t audit_len;
static FILE *audit_f;
static char last_text[70000];

/* The desired config without the listen port: a unit test binds no
 * well-known port. */
static int desired(void *ctx, struct uapi_config *cfg)
{
	int ret = control_desired_config(ctx, cfg);

	cfg->has_listen_port = false;
	return ret;
}

static int test_apply(void *ctx, char *err, size_t errlen)
{
	apply_calls++;
	if (fail_apply) {
		snprintf(err, errlen, "applying the configuration to interface api0: %s",
			 strerror(EIO));
		return -EIO;
	}
	return apply_run(dev_drv, NULL, desired, ctl, NULL, err, errlen);
}

static int test_refresh(void *ctx)
{
	return stats_sample(stats, dev_drv, (int64_t)time(NULL), false);
}

static int reloads;
static struct actor reload_actor;
static int test_reload(void *ctx, const struct actor *actor, char *err, size_t errlen)
{
	reload_actor = *actor;
	reloads++;
	return 0;
}

static void observer(void *ctx, const char *name, enum control_event ev,
		     const struct actor *actor)
{
	audit_log(control_event_name(ev), name, actor, true, NULL);
}

/* Calls the API; returns the parsed answer (NULL for 204 or non-JSON). */
static json_t *call(const char *method, const char *path, const char *body, unsigned *status)
{
	struct api_reply r;
	json_t *j = NULL;
	char p[2048];
	const char *q = strchr(path, '?');
	/* As the admin socket hands it over: root's credentials. */
	struct api_request req = {
		.method = method, .path = p, .query = q ? q + 1 : NULL, .body = body,
		.len = body ? strlen(body) : 0, .transport = API_TRANSPORT_UNIX,
		.has_cred = true, .uid = 0,
	};

	snprintf(p, sizeof(p), "%.*s", (int)(q ? (size_t)(q - path) : strlen(path)), path);
	CHECK_INT(api_handle(&api, &req, &r), 0);
	*status = r.status;
	last_text[0] = '\0';
	if (r.body) {
		snprintf(last_text, sizeof(last_text), "%s", r.body);
		j = json_loads(r.body, 0, NULL);
		CHECK(j != NULL);
	}
	api_reply_free(&r);
	return j;
}

static const char *str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An error answer names this field (NULL: the field is null). */
static bool error_field_is(json_t *j, const char *field)
{
	json_t *f = json_object_get(j, "field");

	if (!j || !json_is_string(json_object_get(j, "error")))
		return false;
	if (!field)
		return json_is_null(f);
	return json_is_string(f) && !strncmp(json_string_value(f), field, strlen(field));
}

static bool device_has(const char *pub64)
{
	uint8_t k[32];

	if (!pub64 || !key_from_base64(k, pub64))
		return false;
	return pubkey_table_lookup(&dev, k) != NULL;
}

static bool audit_contains(const char *s)
{
	fflush(audit_f);
	return audit_buf && strstr(audit_buf, s);
}

/* Keys seen in one-time answers: none may appear anywhere else. */
static char secrets[16][KEY_BASE64_LEN + 1];
static int n_secrets;

static void remember_secret(const char *k)
{
	if (k && n_secrets < 16)
		snprintf(secrets[n_secrets++], sizeof(secrets[0]), "%s", k);
}

static bool text_has_secret(const char *text)
{
	for (int i = 0; i < n_secrets; i++)
		if (strstr(text, secrets[i]))
			return true;
	return false;
}

static void setup(void)
{
	struct control_error e;
	char err[256];

	CHECK(crypto_init());
	model_json_wipe_on_free();
	CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, pair), 0);
	CHECK_INT(device_init(&dev, "api0", pair[0]), 0);
	dev_drv = driver_inproc_new(&dev);
	CHECK(dev_drv != NULL);
	skey = store_key_new();
	CHECK(skey && crypto_random(skey->bytes, sizeof(skey->bytes)));
	CHECK_INT(store_create("memory:", skey, &st, err, sizeof(err)), 0);
	CHECK_INT(control_init_server(st, NULL, &e), 0);
	CHECK_INT(control_open(st, &ctl, &e), 0);
	control_set_observer(ctl, observer, NULL);
	stats = stats_new();
	audit_f = open_memstream(&audit_buf, &audit_len);
	audit_set_output(audit_f);
	api.ctl = ctl;
	api.stats = stats;
	api.apply = test_apply;
	api.refresh = test_refresh;
	api.reload = test_reload;
}

static char phone_pub[KEY_BASE64_LEN + 1];
static char phone_config[2048];

static void test_server_view(void)
{
	unsigned status;
	json_t *j = call("GET", "/v1/server", NULL, &status);

	CHECK_INT(status, 200);
	CHECK(str(j, "public_key") != NULL);
	CHECK(json_object_get(j, "private_key") == NULL);
	CHECK(json_integer_value(json_object_get(j, "peers")) == 0);
	CHECK(json_is_integer(json_object_get(j, "online")));
	CHECK(str(j, "ipv4") && !strncmp(str(j, "ipv4"), "10.13.13.1/", 11));
	json_decref(j);
}

static void test_add_peer(void)
{
	unsigned status;
	json_t *j, *peer;
	char line[128];

	apply_calls = 0;
	j = call("POST", "/v1/peers", "{\"name\":\"phone\"}", &status);
	CHECK_INT(status, 201);
	peer = json_object_get(j, "peer");
	CHECK(str(peer, "name") && !strcmp(str(peer, "name"), "phone"));
	CHECK(str(peer, "ipv4") && !strcmp(str(peer, "ipv4"), "10.13.13.2"));
	CHECK(json_object_get(peer, "private_key") == NULL);
	CHECK(json_object_get(peer, "preshared_key") == NULL);
	CHECK(json_is_null(json_object_get(peer, "endpoint")));
	CHECK(json_is_false(json_object_get(peer, "online")));
	CHECK(json_integer_value(json_object_get(peer, "latest_handshake")) == 0);
	CHECK(str(j, "private_key") != NULL);
	CHECK(str(j, "client_config") != NULL);
	CHECK(json_is_string(json_object_get(j, "qr")));
	if (str(j, "private_key") && str(j, "client_config")) {
		snprintf(line, sizeof(line), "PrivateKey = %s", str(j, "private_key"));
		CHECK(strstr(str(j, "client_config"), line) != NULL);
		snprintf(phone_config, sizeof(phone_config), "%s", str(j, "client_config"));
		remember_secret(str(j, "private_key"));
		/* The PSK is in the config, never in a view. */
		const char *psk = strstr(str(j, "client_config"), "PresharedKey = ");
		CHECK(psk != NULL);
		if (psk) {
			char k[KEY_BASE64_LEN + 1];
			snprintf(k, sizeof(k), "%s", psk + 15);
			remember_secret(k);
		}
	}
	if (str(peer, "public_key"))
		snprintf(phone_pub, sizeof(phone_pub), "%s", str(peer, "public_key"));
	CHECK_INT(apply_calls, 1);
	CHECK(device_has(phone_pub));
	CHECK(audit_contains("\"event\":\"peer.add\",\"peer\":\"phone\",\"actor\":\"uid 0\","
			     "\"via\":\"cli\",\"ok\":true"));
	json_decref(j);
}

static void test_add_peer_errors(void)
{
	unsigned status;
	json_t *j;
	char big[API_MAX_BODY + 64];

	apply_calls = 0;
	j = call("POST", "/v1/peers", "{\"name\":\"phone\"}", &status);
	CHECK_INT(status, 409);
	CHECK(error_field_is(j, "name"));
	CHECK(strstr(last_text, "phone") != NULL);
	json_decref(j);
	CHECK(audit_contains("\"peer\":\"phone\",\"actor\":\"uid 0\",\"via\":\"cli\",\"ok\":false"));

	j = call("POST", "/v1/peers", "{\"name\":\"bad name!\"}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "name"));
	CHECK(strstr(last_text, "bad name!") != NULL);	/* quotes the input */
	json_decref(j);

	j = call("POST", "/v1/peers", "{\"name\":\"\"}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "name"));
	json_decref(j);

	j = call("POST", "/v1/peers", "{}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "name"));
	json_decref(j);

	j = call("POST", "/v1/peers", "{\"name\":", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, NULL));
	CHECK(strstr(last_text, "not valid JSON") != NULL);
	json_decref(j);

	j = call("POST", "/v1/peers", "[\"phone\"]", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, NULL));
	json_decref(j);

	j = call("POST", "/v1/peers", NULL, &status);
	CHECK_INT(status, 400);
	json_decref(j);

	j = call("POST", "/v1/peers", "{\"name\":\"x\",\"nmae\":\"y\"}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "nmae"));
	json_decref(j);

	j = call("POST", "/v1/peers", "{\"name\":\"x\",\"name\":\"y\"}", &status);
	CHECK_INT(status, 400);
	json_decref(j);

	j = call("POST", "/v1/peers", "{\"name\":\"site\",\"routes\":[\"10.0.0.0/33\"]}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "routes"));
	CHECK(strstr(last_text, "10.0.0.0/33") != NULL);
	json_decref(j);

	j = call("POST", "/v1/peers", "{\"name\":\"site\",\"routes\":[1]}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "routes"));
	json_decref(j);

	j = call("POST", "/v1/peers", "{\"name\":\"x\",\"expires\":\"soon\"}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "expires"));
	json_decref(j);

	j = call("POST", "/v1/peers", "{\"name\":\"x\",\"expires\":-5}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "expires"));
	json_decref(j);

	j = call("POST", "/v1/peers", "{\"name\":\"x\",\"keep_key\":\"yes\"}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "keep_key"));
	json_decref(j);

	j = call("POST", "/v1/peers", "{\"name\":\"x\",\"persistent_keepalive\":70000}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "persistent_keepalive"));
	json_decref(j);

	j = call("POST", "/v1/peers", "{\"name\":\"x\",\"dns\":5}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "dns"));
	json_decref(j);

	j = call("POST", "/v1/peers", "{\"name\":\"x\",\"allowed_ips\":\"10.0.0.300/32\"}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "allowed_ips"));
	CHECK(strstr(last_text, "10.0.0.300") != NULL);
	json_decref(j);

	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	j = call("POST", "/v1/peers", big, &status);
	CHECK_INT(status, 413);
	json_decref(j);

	CHECK_INT(apply_calls, 0);	/* nothing was stored, nothing applied */
	CHECK_INT(control_peer_count(ctl), 1);
}

static void test_add_with_options(void)
{
	unsigned status;
	json_t *j, *peer, *routes;
	int64_t now = (int64_t)time(NULL);

	j = call("POST", "/v1/peers", "{\"name\":\"site-a\",\"routes\":[\"192.168.50.0/24\"],"
		 "\"expires\":\"1h\",\"dns\":\"1.1.1.1\",\"keep_key\":true,"
		 "\"persistent_keepalive\":25}", &status);
	CHECK_INT(status, 201);
	peer = json_object_get(j, "peer");
	routes = json_object_get(peer, "routes");
	CHECK(json_array_size(routes) == 1 &&
	      !strcmp(json_string_value(json_array_get(routes, 0)), "192.168.50.0/24"));
	int64_t exp = json_integer_value(json_object_get(peer, "expires"));
	CHECK(exp >= now + 3590 && exp <= now + 3610);
	CHECK(json_integer_value(json_object_get(peer, "persistent_keepalive")) == 25);
	remember_secret(str(j, "private_key"));
	/* The site's subnet is routed to it on the server side. */
	if (str(peer, "public_key")) {
		uint8_t k[32];
		CHECK(key_from_base64(k, str(peer, "public_key")));
		struct uapi_config cur;
		uapi_config_init(&cur);
		CHECK_INT(device_get_config(&dev, &cur), 0);
		bool found = false;
		for (size_t i = 0; i < cur.n_peers; i++)
			if (!memcmp(cur.peers[i].public_key, k, 32))
				for (size_t a = 0; a < cur.peers[i].n_allowed_ips; a++)
					found = found || (cur.peers[i].allowed_ips[a].cidr == 24 &&
							  cur.peers[i].allowed_ips[a].addr[2] == 50);
		CHECK(found);
		uapi_config_free(&cur);
	}
	json_decref(j);

	/* routes as a comma string, allowed_ips as an array. */
	j = call("POST", "/v1/peers", "{\"name\":\"site-b\",\"routes\":\"192.168.60.0/24, "
		 "192.168.61.0/24\",\"allowed_ips\":[\"10.13.13.0/24\",\"192.168.50.0/24\"]}",
		 &status);
	CHECK_INT(status, 201);
	peer = json_object_get(j, "peer");
	CHECK(json_array_size(json_object_get(peer, "routes")) == 2);
	CHECK(str(peer, "allowed_ips") && strstr(str(peer, "allowed_ips"), "192.168.50.0/24"));
	remember_secret(str(j, "private_key"));
	json_decref(j);
}

/* Each entry of the list (written as text straight from the records) is
 * the peer's own view (built with jansson), and ?fields= keeps just those
 * fields, in that order.  Returns the list. */
static json_t *check_list_is_views(void)
{
	unsigned status;
	json_t *all = call("GET", "/v1/peers", NULL, &status), *some, *p, *one;
	size_t i;

	CHECK_INT(status, 200);
	some = call("GET", "/v1/peers?fields=rx_bytes,name,ipv6,online,disabled_reason", NULL,
		    &status);
	CHECK_INT(status, 200);
	CHECK(!text_has_secret(last_text));
	CHECK_INT(json_array_size(json_object_get(some, "peers")),
		  json_array_size(json_object_get(all, "peers")));
	json_array_foreach(json_object_get(all, "peers"), i, p) {
		char path[128];
		json_t *s = json_array_get(json_object_get(some, "peers"), i);
		void *it;

		snprintf(path, sizeof(path), "/v1/peers/%s", str(p, "name"));
		one = call("GET", path, NULL, &status);
		if (!json_equal(one, p)) {
			char *a = json_dumps(one, JSON_SORT_KEYS), *b = json_dumps(p, JSON_SORT_KEYS);
			fprintf(stderr, "  show %s\n  list %s\n", a, b);
			free(a);
			free(b);
		}
		CHECK(json_equal(one, p));
		json_decref(one);
		CHECK_INT(json_object_size(s), 3 + (json_object_get(p, "ipv6") != NULL) +
			  (json_object_get(p, "disabled_reason") != NULL));
		it = json_object_iter(s);
		CHECK(it && !strcmp(json_object_iter_key(it), "rx_bytes"));
		CHECK(json_equal(json_object_get(s, "rx_bytes"), json_object_get(p, "rx_bytes")));
		CHECK(json_equal(json_object_get(s, "name"), json_object_get(p, "name")));
		CHECK(json_equal(json_object_get(s, "online"), json_object_get(p, "online")));
		CHECK(json_object_get(s, "public_key") == NULL);
	}
	json_decref(some);
	return all;
}

static void test_list_and_show(void)
{
	unsigned status;
	json_t *j, *peers;

	j = call("GET", "/v1/peers", NULL, &status);
	CHECK_INT(status, 200);
	peers = json_object_get(j, "peers");
	CHECK(json_array_size(peers) == 3);
	CHECK(!text_has_secret(last_text));
	CHECK(strstr(last_text, "private_key") == NULL);
	CHECK(strstr(last_text, "preshared_key") == NULL);
	for (size_t i = 0; i < json_array_size(peers); i++) {
		json_t *p = json_array_get(peers, i);
		CHECK(json_object_get(p, "online") != NULL);
		CHECK(json_object_get(p, "rx_bytes") != NULL);
		CHECK(json_object_get(p, "tx_bytes") != NULL);
		CHECK(json_object_get(p, "endpoint") != NULL);
	}
	json_decref(j);

	/* Live values come from the device. */
	uint8_t k[32];
	CHECK(key_from_base64(k, phone_pub));
	struct peer *dp = pubkey_table_lookup(&dev, k);
	CHECK(dp != NULL);
	if (dp) {
		dp->rx_bytes = 4242;
		dp->tx_bytes = 99;
		dp->last_handshake_wall.tv_sec = time(NULL) - 5;
		CHECK_INT(uapi_parse_endpoint("192.0.2.7:4500", &dp->endpoint.addr), 0);
	}
	j = call("GET", "/v1/peers/phone", NULL, &status);
	CHECK_INT(status, 200);
	CHECK(str(j, "name") && !strcmp(str(j, "name"), "phone"));
	CHECK(json_integer_value(json_object_get(j, "rx_bytes")) == 4242);
	CHECK(json_integer_value(json_object_get(j, "tx_bytes")) == 99);
	CHECK(json_is_true(json_object_get(j, "online")));
	CHECK(str(j, "endpoint") && !strcmp(str(j, "endpoint"), "192.0.2.7:4500"));
	CHECK(!text_has_secret(last_text));
	json_decref(j);

	j = call("GET", "/v1/server", NULL, &status);
	CHECK(json_integer_value(json_object_get(j, "peers")) == 3);
	CHECK(json_integer_value(json_object_get(j, "online")) == 1);
	json_decref(j);

	j = call("GET", "/v1/peers/nobody", NULL, &status);
	CHECK_INT(status, 404);
	CHECK(strstr(last_text, "nobody") != NULL);
	json_decref(j);

	json_t *all = check_list_is_views(), *some;
	/* an empty list of fields is all of them */
	some = call("GET", "/v1/peers?fields=", NULL, &status);
	CHECK_INT(status, 200);
	CHECK(json_equal(some, all));
	json_decref(some);
	json_decref(all);
	j = call("GET", "/v1/peers?fields=name,private_key", NULL, &status);
	CHECK_INT(status, 400);
	CHECK(str(j, "field") && !strcmp(str(j, "field"), "fields"));
	CHECK(strstr(last_text, "private_key") != NULL && strstr(last_text, "known fields") != NULL);
	json_decref(j);
	j = call("GET", "/v1/peers?sort=name", NULL, &status);
	CHECK_INT(status, 400);
	CHECK(strstr(last_text, "sort=name") != NULL);
	json_decref(j);
	j = call("GET", "/v1/peers/phone?fields=name", NULL, &status);
	CHECK_INT(status, 400);
	json_decref(j);
}

static void test_config_only_if_kept(void)
{
	unsigned status;
	json_t *j;

	j = call("GET", "/v1/peers/phone/config", NULL, &status);
	CHECK_INT(status, 409);
	CHECK(!text_has_secret(last_text));
	json_decref(j);

	j = call("GET", "/v1/peers/site-a/config", NULL, &status);
	CHECK_INT(status, 200);
	CHECK(str(j, "client_config") && strstr(str(j, "client_config"), "PrivateKey = "));
	CHECK(json_is_string(json_object_get(j, "qr")));
	json_decref(j);
	CHECK(audit_contains("\"event\":\"peer.config\",\"peer\":\"site-a\""));

	j = call("GET", "/v1/peers/ghost/config", NULL, &status);
	CHECK_INT(status, 404);
	json_decref(j);
}

static void test_disable_enable(void)
{
	unsigned status;
	json_t *j;

	j = call("POST", "/v1/peers/phone/disable", NULL, &status);
	CHECK_INT(status, 200);
	CHECK(json_is_false(json_object_get(j, "enabled")));
	CHECK(str(j, "disabled_reason") && !strcmp(str(j, "disabled_reason"), "manual"));
	CHECK(!device_has(phone_pub));	/* cut off at once */
	json_decref(j);
	json_decref(check_list_is_views());	/* with a disabled peer */
	CHECK(audit_contains("\"event\":\"peer.disable\",\"peer\":\"phone\""));

	j = call("POST", "/v1/peers/phone/enable", "", &status);
	CHECK_INT(status, 200);
	CHECK(json_is_true(json_object_get(j, "enabled")));
	CHECK(device_has(phone_pub));
	json_decref(j);

	j = call("POST", "/v1/peers/nobody/disable", NULL, &status);
	CHECK_INT(status, 404);
	json_decref(j);

	/* The store changed but the device did not: the caller must know. */
	fail_apply = true;
	j = call("POST", "/v1/peers/phone/disable", NULL, &status);
	CHECK_INT(status, 500);
	CHECK(strstr(last_text, "stored, but") != NULL);
	json_decref(j);
	fail_apply = false;
	j = call("POST", "/v1/peers/phone/enable", NULL, &status);
	CHECK_INT(status, 200);
	json_decref(j);
}

/* PATCH /v1/peers/NAME: the named fields change, in place on the device
 * (the same peer, its session kept), and nothing else; refusals name the
 * field and are audited. */
static void test_update_peer(void)
{
	int64_t now = (int64_t)time(NULL);
	struct peer *before, *after;
	uint8_t k[32];
	unsigned status;
	json_t *j, *routes;
	char *raw_before;

	CHECK(key_from_base64(k, phone_pub));
	before = pubkey_table_lookup(&dev, k);
	CHECK(before != NULL);
	apply_calls = 0;
	j = call("PATCH", "/v1/peers/phone", "{\"routes\":[\"192.168.250.0/24\",\"fd25::/64\"],"
		 "\"dns\":\"9.9.9.9\",\"allowed_ips\":[\"10.0.0.0/8\",\"192.168.0.0/16\"],"
		 "\"keepalive\":21,\"expires\":\"30d\"}", &status);
	if (status != 200)
		fprintf(stderr, "  %s\n", last_text);
	CHECK_INT(status, 200);
	routes = json_object_get(j, "routes");
	CHECK(json_array_size(routes) == 2 &&
	      !strcmp(json_string_value(json_array_get(routes, 0)), "192.168.250.0/24"));
	CHECK(str(j, "dns") && !strcmp(str(j, "dns"), "9.9.9.9"));
	CHECK(str(j, "allowed_ips") && !strcmp(str(j, "allowed_ips"), "10.0.0.0/8, 192.168.0.0/16"));
	CHECK_INT(json_integer_value(json_object_get(j, "persistent_keepalive")), 21);
	CHECK(llabs(json_integer_value(json_object_get(j, "expires")) - (now + 30 * 86400)) < 5);
	/* the view, as GET gives it: no secret */
	CHECK(str(j, "public_key") && !strcmp(str(j, "public_key"), phone_pub));
	CHECK(!json_object_get(j, "private_key") && !json_object_get(j, "preshared_key"));
	CHECK(!text_has_secret(last_text));
	json_decref(j);
	CHECK_INT(apply_calls, 1);
	/* the same peer object on the device: not removed and made again */
	after = pubkey_table_lookup(&dev, k);
	CHECK(after == before);
	CHECK(audit_contains("\"event\":\"peer.update\",\"peer\":\"phone\",\"actor\":\"uid 0\","
			     "\"via\":\"cli\",\"ok\":true"));

	/* null is "back to the default"; "never" and 0 are no expiry */
	j = call("PATCH", "/v1/peers/phone", "{\"routes\":null,\"dns\":null,\"allowed_ips\":\"\","
		 "\"persistent_keepalive\":null,\"expires\":\"never\"}", &status);
	CHECK_INT(status, 200);
	CHECK(json_array_size(json_object_get(j, "routes")) == 0 && !str(j, "dns") &&
	      !str(j, "allowed_ips"));
	CHECK_INT(json_integer_value(json_object_get(j, "expires")), 0);
	CHECK_INT(json_integer_value(json_object_get(j, "persistent_keepalive")), 0);
	json_decref(j);
	j = call("PATCH", "/v1/peers/phone", "{\"expires\":0}", &status);
	CHECK_INT(status, 200);
	json_decref(j);
	CHECK(pubkey_table_lookup(&dev, k) == before);

	/* refusals: each names its field, changes nothing, is audited */
	static const struct {
		const char *body, *field;
		unsigned status;
	} bad[] = {
		{ "{\"name\":\"tablet\"}", "name", 400 },
		{ "{\"enabled\":false}", "enabled", 400 },
		{ "{\"public_key\":\"AAAA\"}", "public_key", 400 },
		{ "{}", NULL, 400 },
		{ "", NULL, 400 },
		{ "[1]", NULL, 400 },
		{ "{\"dns\":\"1.1.1.1\\nPostUp = rm -rf /\"}", "dns", 400 },
		{ "{\"dns\":5}", "dns", 400 },
		{ "{\"allowed_ips\":\"0.0.0.0/0\\n[Peer]\"}", "allowed_ips", 400 },
		{ "{\"routes\":[\"10.13.13.0/28\"]}", "routes[0]", 400 },
		{ "{\"routes\":[\"192.168.1.5/24\"]}", "routes[0]", 400 },
		{ "{\"routes\":[\"192.168.1.0/24\\nx\"]}", "routes[0]", 400 },
		{ "{\"routes\":[7]}", "routes", 400 },
		{ "{\"persistent_keepalive\":70000}", "persistent_keepalive", 400 },
		{ "{\"keepalive\":\"25\"}", "keepalive", 400 },
		{ "{\"keepalive\":5,\"persistent_keepalive\":5}", "keepalive", 400 },
		{ "{\"expires\":1000}", "expires", 400 },
		{ "{\"expires\":-1}", "expires", 400 },
		{ "{\"expires\":\"tomorrowish\"}", "expires", 400 },
		{ "{\"expires\":true}", "expires", 400 },
		/* one bad field spoils the good ones */
		{ "{\"dns\":\"9.9.9.9\",\"routes\":[\"10.13.0.0/16\"]}", "routes[0]", 400 },
	};
	raw_before = NULL;
	j = call("GET", "/v1/peers/phone", NULL, &status);
	raw_before = strdup(last_text);
	json_decref(j);
	apply_calls = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = call("PATCH", "/v1/peers/phone", bad[i].body, &status);
		if (status != bad[i].status || !error_field_is(j, bad[i].field))
			fprintf(stderr, "  PATCH %s: %u %s\n", bad[i].body, status, last_text);
		CHECK_INT(status, bad[i].status);
		CHECK(error_field_is(j, bad[i].field));
		json_decref(j);
	}
	CHECK_INT(apply_calls, 0);
	j = call("GET", "/v1/peers/phone", NULL, &status);
	CHECK(raw_before && !strcmp(raw_before, last_text));
	json_decref(j);
	free(raw_before);
	CHECK(audit_contains("\"event\":\"peer.update\",\"peer\":\"phone\",\"actor\":\"uid 0\","
			     "\"via\":\"cli\",\"ok\":false,\"error\":\"peer \\\"phone\\\": routes[0]"));

	j = call("PATCH", "/v1/peers/nobody", "{\"dns\":\"9.9.9.9\"}", &status);
	CHECK_INT(status, 404);
	json_decref(j);
	/* stored, but not on the device: the caller must know */
	fail_apply = true;
	j = call("PATCH", "/v1/peers/phone", "{\"routes\":[\"192.168.251.0/24\"]}", &status);
	CHECK_INT(status, 500);
	CHECK(strstr(last_text, "stored, but") != NULL);
	json_decref(j);
	fail_apply = false;
	j = call("PATCH", "/v1/peers/phone", "{\"routes\":[]}", &status);
	CHECK_INT(status, 200);
	CHECK(json_array_size(json_object_get(j, "routes")) == 0);
	json_decref(j);
	CHECK(pubkey_table_lookup(&dev, k) == before);
}

static void test_rotate(void)
{
	unsigned status;
	json_t *j, *peer;
	char old_pub[KEY_BASE64_LEN + 1];

	snprintf(old_pub, sizeof(old_pub), "%s", phone_pub);
	j = call("POST", "/v1/peers/phone/rotate", "{}", &status);
	CHECK_INT(status, 200);
	peer = json_object_get(j, "peer");
	CHECK(str(peer, "public_key") && strcmp(str(peer, "public_key"), old_pub));
	CHECK(str(j, "private_key") != NULL);
	CHECK(str(j, "client_config") && strcmp(str(j, "client_config"), phone_config));
	CHECK(str(peer, "ipv4") && !strcmp(str(peer, "ipv4"), "10.13.13.2"));	/* same address */
	CHECK(!device_has(old_pub));		/* the old key is dead at once */
	CHECK(device_has(str(peer, "public_key")));
	if (str(peer, "public_key"))
		snprintf(phone_pub, sizeof(phone_pub), "%s", str(peer, "public_key"));
	remember_secret(str(j, "private_key"));
	json_decref(j);
	CHECK(audit_contains("\"event\":\"peer.rotate\",\"peer\":\"phone\""));

	j = call("POST", "/v1/peers/phone/rotate", "{\"keep_key\":1}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "keep_key"));
	json_decref(j);

	j = call("POST", "/v1/peers/phone/rotate", "{\"keep\":true}", &status);
	CHECK_INT(status, 400);
	CHECK(error_field_is(j, "keep"));
	json_decref(j);

	j = call("POST", "/v1/peers/nobody/rotate", NULL, &status);
	CHECK_INT(status, 404);
	json_decref(j);

	/* The device keeps the old key (apply fails): a rotation that did not
	 * kill the old key is a failure the caller sees, as for disable, and
	 * its answer carries no key that the device does not know either. */
	snprintf(old_pub, sizeof(old_pub), "%s", phone_pub);
	fail_apply = true;
	j = call("POST", "/v1/peers/phone/rotate", "{}", &status);
	fail_apply = false;
	CHECK_INT(status, 500);
	CHECK(str(j, "error") && strstr(str(j, "error"), "peer \"phone\": a new key is stored, "
					  "but applying the configuration to interface api0") &&
	      strstr(str(j, "error"), "rotate again"));
	CHECK(!strstr(last_text, "PrivateKey") && !strstr(last_text, "private_key") &&
	      !strstr(last_text, "client_config"));
	CHECK(device_has(old_pub));	/* what the 500 is about */
	json_decref(j);
	/* Once the device works, another rotate puts a live key in. */
	j = call("POST", "/v1/peers/phone/rotate", "{}", &status);
	CHECK_INT(status, 200);
	peer = json_object_get(j, "peer");
	CHECK(!device_has(old_pub));
	CHECK(str(peer, "public_key") && device_has(str(peer, "public_key")));
	if (str(peer, "public_key"))
		snprintf(phone_pub, sizeof(phone_pub), "%s", str(peer, "public_key"));
	remember_secret(str(j, "private_key"));
	json_decref(j);
}

static void test_stats(void)
{
	unsigned status;
	json_t *j, *peers;

	uint8_t k[32];
	struct peer *dp = NULL;

	CHECK(key_from_base64(k, phone_pub));
	dp = pubkey_table_lookup(&dev, k);
	CHECK(dp != NULL);
	if (dp)
		dp->rx_bytes = 4242;
	CHECK_INT(stats_sample(stats, dev_drv, 1000, true), 0);
	CHECK_INT(stats_sample(stats, dev_drv, 1010, true), 0);
	j = call("GET", "/v1/stats", NULL, &status);
	CHECK_INT(status, 200);
	CHECK(json_integer_value(json_object_get(j, "interval")) == STATS_INTERVAL_SEC);
	peers = json_object_get(j, "peers");
	CHECK(json_array_size(json_object_get(peers, "phone")) == 2);
	json_t *s = json_array_get(json_object_get(peers, "phone"), 1);
	CHECK(json_integer_value(json_object_get(s, "t")) == 1010);
	CHECK(json_integer_value(json_object_get(s, "rx")) == 4242);
	CHECK(json_object_get(peers, "site-a") != NULL);
	CHECK(!text_has_secret(last_text));
	json_decref(j);
}

static void test_revoke(void)
{
	unsigned status;
	json_t *j;

	j = call("DELETE", "/v1/peers/phone", NULL, &status);
	CHECK_INT(status, 204);
	CHECK(j == NULL);
	CHECK(!device_has(phone_pub));
	CHECK(audit_contains("\"event\":\"peer.revoke\",\"peer\":\"phone\""));

	j = call("GET", "/v1/peers/phone", NULL, &status);
	CHECK_INT(status, 404);
	json_decref(j);
	j = call("DELETE", "/v1/peers/phone", NULL, &status);
	CHECK_INT(status, 404);
	json_decref(j);

	/* Its address is free again. */
	j = call("POST", "/v1/peers", "{\"name\":\"tablet\"}", &status);
	CHECK_INT(status, 201);
	CHECK(str(json_object_get(j, "peer"), "ipv4") &&
	      !strcmp(str(json_object_get(j, "peer"), "ipv4"), "10.13.13.2"));
	remember_secret(str(j, "private_key"));
	json_decref(j);
}

static void test_methods_and_paths(void)
{
	static const char *const cases[][3] = {
		{ "PUT", "/v1/peers", "405" },
		{ "DELETE", "/v1/server", "405" },
		{ "GET", "/v1/peers/tablet/enable", "405" },
		{ "POST", "/v1/peers/tablet", "405" },
		{ "POST", "/v1/peers/tablet/config", "405" },
		{ "POST", "/v1/stats", "405" },
		{ "GET", "/v1/reload", "405" },
		{ "GET", "/v2/peers", "404" },
		{ "GET", "/index", "404" },
		{ "GET", "/v1/peers/tablet/bogus", "404" },
		{ "GET", "/v1/peers/", "404" },
		{ "GET", "/v1/peers/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "404" },
	};
	unsigned status;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = call(cases[i][0], cases[i][1], NULL, &status);
		if ((int)status != atoi(cases[i][2]))
			fprintf(stderr, "  %s %s: %u\n", cases[i][0], cases[i][1], status);
		CHECK_INT(status, atoi(cases[i][2]));
		CHECK(error_field_is(j, NULL) || error_field_is(j, "name"));
		json_decref(j);
	}
	json_t *j = call("POST", "/v1/reload", NULL, &status);
	CHECK_INT(status, 200);
	CHECK_INT(reloads, 1);
	CHECK(reload_actor.kind == ACTOR_LOCAL && !strcmp(reload_actor.name, "uid 0") &&
	      !strcmp(reload_actor.via, "cli"));
	json_decref(j);
}

static void test_subnet_full(void)
{
	struct server_options o;
	struct control_error e;
	struct store *st2;
	struct control *ctl2;
	struct api api2 = { 0 };
	char err[256];
	unsigned status;
	json_t *j;

	server_options_init(&o);
	CHECK_INT(server_options_set(&o, "subnet", "10.99.0.0/30", &e), 0);
	CHECK_INT(store_create("memory:", skey, &st2, err, sizeof(err)), 0);
	CHECK_INT(control_init_server(st2, &o, &e), 0);
	CHECK_INT(control_open(st2, &ctl2, &e), 0);
	api2.ctl = ctl2;
	struct api saved = api;
	api = api2;
	j = call("POST", "/v1/peers", "{\"name\":\"one\"}", &status);
	CHECK_INT(status, 201);
	json_decref(j);
	j = call("POST", "/v1/peers", "{\"name\":\"two\"}", &status);
	CHECK_INT(status, 507);
	CHECK(strstr(last_text, "full") != NULL);
	json_decref(j);
	api = saved;
	control_close(ctl2);
	store_close(st2);
	server_options_free(&o);
}

static void test_audit_never_holds_a_key(void)
{
	fflush(audit_f);
	CHECK(audit_buf != NULL);
	CHECK(n_secrets >= 5);
	if (audit_buf)
		CHECK(!text_has_secret(audit_buf));
	/* Every line is one JSON object. */
	char *save = NULL, *copy = strdup(audit_buf ? audit_buf : "");
	int lines = 0;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(l, 0, NULL);
		CHECK(json_is_object(o) && json_is_string(json_object_get(o, "ts")) &&
		      json_is_boolean(json_object_get(o, "ok")));
		json_decref(o);
		lines++;
	}
	CHECK(lines >= 8);
	free(copy);
}

/* The HTTP server on a real unix socket: one request, raw HTTP/1.1. */
static void test_http_server(void)
{
	char dir[] = "/tmp/zwg-api-test.XXXXXX", path[100], err[256], buf[8192];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct api_server *srv;
	struct stat sb;
	ssize_t n;
	size_t got = 0;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/run/admin.sock", dir);
	srv = api_server_start(&api, path, err, sizeof(err));
	CHECK(srv != NULL);
	if (!srv) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK_INT(stat(path, &sb), 0);
	CHECK_INT(sb.st_mode & 0777, 0660);
	snprintf(buf, sizeof(buf), "%s/run", dir);
	CHECK_INT(stat(buf, &sb), 0);
	CHECK_INT(sb.st_mode & 0777, 0750);
	/* A second server refuses to take over a live socket. */
	CHECK(api_server_start(&api, path, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "already running") != NULL);

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	CHECK_INT(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	const char *req = "POST /v1/peers HTTP/1.1\r\nHost: zerowg\r\nContent-Type: application/json\r\n"
			  "Content-Length: 15\r\nConnection: close\r\n\r\n{\"name\":\"http\"}";
	CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	CHECK(!strncmp(buf, "HTTP/1.1 201", 12));
	CHECK(strstr(buf, "application/json") != NULL);
	CHECK(strstr(buf, "\"client_config\"") != NULL);
	explicit_bzero(buf, sizeof(buf));
	/* The query string reaches the handler through the HTTP server. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_INT(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	req = "GET /v1/peers?fields=name,ipv4 HTTP/1.1\r\nHost: zerowg\r\nConnection: close\r\n\r\n";
	CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	got = 0;
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
	CHECK(strstr(buf, "{\"name\":\"http\",\"ipv4\":") != NULL);
	CHECK(strstr(buf, "public_key") == NULL);
	api_server_stop(srv);
	CHECK(access(path, F_OK) != 0);		/* socket removed */
	snprintf(buf, sizeof(buf), "%s/run", dir);
	rmdir(buf);
	rmdir(dir);
}

/* The HTTP server on a socket handed over listening (socket activation):
 * it serves, refuses what is not a listening unix stream socket, and its
 * stop leaves the path alone (the file is the service manager's). */
static void test_http_server_fd(void)
{
	char dir[] = "/tmp/zwg-api-test.XXXXXX", path[100], err[256], buf[4096];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct api_server *srv;
	ssize_t n;
	size_t got = 0;
	int lfd, fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/admin.sock", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	/* Not a unix socket, not listening: refused with a reason, fd closed. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(api_server_start_fd(&api, lfd, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not a unix socket") != NULL);
	CHECK(fcntl(lfd, F_GETFD) < 0);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(api_server_start_fd(&api, lfd, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not listening") != NULL);
	lfd = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK(api_server_start_fd(&api, lfd, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not a stream socket") != NULL);

	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_INT(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	CHECK_INT(listen(lfd, 4), 0);
	srv = api_server_start_fd(&api, lfd, err, sizeof(err));
	CHECK(srv != NULL);
	if (!srv) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_INT(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	const char *req = "GET /v1/peers HTTP/1.1\r\nHost: zerowg\r\nConnection: close\r\n\r\n";
	CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
	api_server_stop(srv);
	CHECK_INT(access(path, F_OK), 0);	/* not ours: left in place */
	unlink(path);
	rmdir(dir);
}

/* ------------------------------------------------ HTTP: both transports -- */

/* Sends req on fd and reads the whole answer (Connection: close) into
 * buf; fd is closed.  The answer's length. */
static size_t exchange(int fd, const char *req, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	return got;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	CHECK_INT(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static int connect_tcp(unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK_INT(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static bool has_security_headers(const char *answer)
{
	char line[256];

	for (size_t i = 0; api_security_headers[i][0]; i++) {
		snprintf(line, sizeof(line), "%s: %s\r\n", api_security_headers[i][0],
			 api_security_headers[i][1]);
		if (!strstr(answer, line)) {
			fprintf(stderr, "  missing header \"%s\"\n", api_security_headers[i][0]);
			return false;
		}
	}
	return strstr(answer, "Cache-Control: no-store\r\n") != NULL;
}

/* The test's accounts: two bearer tokens and a session cookie. */
static int test_authenticate(void *ctx, const struct api_request *req, struct actor *out)
{
	const char *auth = api_header(req, "Authorization"), *cookie = api_header(req, "Cookie");

	if (auth) {
		if (!strcmp(auth, "Bearer viewer-token")) {
			*out = (struct actor){ .kind = ACTOR_TOKEN, .role = ROLE_VIEWER, .name = "grafana" };
			return 0;
		}
		if (!strcmp(auth, "Bearer admin-token")) {
			*out = (struct actor){ .kind = ACTOR_TOKEN, .role = ROLE_ADMIN, .name = "ci" };
			return 0;
		}
		return -EACCES;
	}
	if (cookie && !strcmp(cookie, "zerowg_session=s3ss10n")) {
		*out = (struct actor){ .kind = ACTOR_USER, .role = ROLE_ADMIN, .name = "alice" };
		return 0;
	}
	return 0;
}

/* A TCP listener on a free loopback port: the port, or 0. */
static unsigned listen_loopback(struct api_server *srv)
{
	char addr[64], err[256];

	for (int i = 0; i < 20; i++) {
		unsigned port = 20000 + (unsigned)((getpid() * 7 + i * 7919) % 40000);
		snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
		if (api_server_listen(srv, addr, false, err, sizeof(err)) == 0)
			return port;
	}
	fprintf(stderr, "  no free port: %s\n", err);
	return 0;
}

static void test_http_tcp(void)
{
	char dir[] = "/tmp/zwg-api-test.XXXXXX", path[100], err[256], buf[16384], req[1024];
	struct api_server *srv;
	unsigned port;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/admin.sock", dir);
	srv = api_server_start(&api, path, err, sizeof(err));
	CHECK(srv != NULL);
	if (!srv)
		return;
	port = listen_loopback(srv);
	CHECK(port != 0);
	if (!port)
		goto out;
	api_server_describe(srv, buf, sizeof(buf));
	CHECK(strstr(buf, "127.0.0.1:") != NULL);

	/* The unix socket: the CLI's way, admin, every security header. */
	exchange(connect_unix(path), "GET /v1/peers HTTP/1.1\r\nHost: zerowg\r\nConnection: "
		 "close\r\n\r\n", buf, sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
	CHECK(has_security_headers(buf));

	/* TCP without an authenticate callback: 401, Bearer, the headers. */
	exchange(connect_tcp(port), "GET /v1/peers HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
		 "close\r\n\r\n", buf, sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 401", 12));
	CHECK(strstr(buf, "WWW-Authenticate: Bearer") != NULL);
	CHECK(strstr(buf, "\"error\":") != NULL);
	CHECK(has_security_headers(buf));
	/* Unknown paths stay 404, wrong methods 405 with Allow. */
	exchange(connect_tcp(port), "PUT /v1/peers HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
		 "close\r\nContent-Length: 0\r\n\r\n", buf, sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 405", 12));
	CHECK(strstr(buf, "Allow: GET, POST\r\n") != NULL);
	/* /metrics from loopback (the default allow list): open, text 0.0.4. */
	exchange(connect_tcp(port), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
		 "close\r\n\r\n", buf, sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
	CHECK(strstr(buf, "Content-Type: text/plain; version=0.0.4") != NULL);
	CHECK(strstr(buf, "# TYPE wireguard_sent_bytes_total counter") != NULL);
	CHECK(strstr(buf, "zerowg_peers_configured ") != NULL);
	CHECK(strstr(buf, "zerowg_api_request_duration_seconds_count ") != NULL);
	CHECK(!text_has_secret(buf));

	/* With accounts: a viewer reads, cannot change; a token changes; a
	 * cookie changes only from the server's own origin. */
	api.authenticate = test_authenticate;
	static const struct {
		const char *method, *path, *headers;
		const char *status;
	} cases[] = {
		{ "GET", "/v1/peers", "Authorization: Bearer viewer-token\r\n", "200" },
		{ "GET", "/v1/peers", "Authorization: Bearer wrong\r\n", "401" },
		{ "GET", "/v1/peers/http/config", "Authorization: Bearer viewer-token\r\n", "403" },
		{ "POST", "/v1/peers/nosuch/disable", "Authorization: Bearer viewer-token\r\n", "403" },
		{ "POST", "/v1/peers/nosuch/disable", "Authorization: Bearer admin-token\r\n", "404" },
		{ "POST", "/v1/peers/nosuch/disable", "Cookie: zerowg_session=s3ss10n\r\n", "403" },
		{ "POST", "/v1/peers/nosuch/disable", "Cookie: zerowg_session=s3ss10n\r\n"
		  "Origin: http://evil.example\r\n", "403" },
		{ "POST", "/v1/peers/nosuch/disable", "Cookie: zerowg_session=s3ss10n\r\n"
		  "Origin: http://127.0.0.1\r\n", "404" },
		{ "POST", "/v1/peers/nosuch/disable", "Authorization: Bearer admin-token\r\n"
		  "Origin: http://evil.example\r\n", "403" },
		{ "GET", "/v1/peers", "Cookie: zerowg_session=s3ss10n\r\n", "200" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: 0"
			 "\r\nConnection: close\r\n\r\n", cases[i].method, cases[i].path,
			 cases[i].headers);
		exchange(connect_tcp(port), req, buf, sizeof(buf));
		if (strncmp(buf + 9, cases[i].status, 3))
			fprintf(stderr, "  %s %s with %s: %.12s\n", cases[i].method, cases[i].path,
				cases[i].headers, buf);
		CHECK(!strncmp(buf + 9, cases[i].status, 3));
		CHECK(has_security_headers(buf));
	}
	/* Not from an allowed address: /metrics needs a viewer. */
	struct api_prefix only10;
	CHECK_INT(api_prefix_parse(&only10, "10.0.0.0/8", err, sizeof(err)), 0);
	api.metrics_allow[0] = only10;
	api.n_metrics_allow = 1;
	exchange(connect_tcp(port), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
		 "close\r\n\r\n", buf, sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 401", 12));
	exchange(connect_tcp(port), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
		 "Bearer viewer-token\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
	/* Behind a trusted proxy, the client is the one X-Forwarded-For
	 * names: 10.1.2.3 may, 203.0.113.9 may not, and without the header
	 * the client is unknown (never the proxy's own address). */
	struct api_prefix lo;
	CHECK_INT(api_prefix_parse(&lo, "127.0.0.1", err, sizeof(err)), 0);
	api_server_trust_proxies(srv, &lo, 1);
	exchange(connect_tcp(port), "GET /metrics HTTP/1.1\r\nHost: vpn.example\r\n"
		 "X-Forwarded-For: 203.0.113.9, 10.1.2.3\r\nConnection: close\r\n\r\n", buf,
		 sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
	exchange(connect_tcp(port), "GET /metrics HTTP/1.1\r\nHost: vpn.example\r\n"
		 "X-Forwarded-For: 10.1.2.3, 203.0.113.9\r\nConnection: close\r\n\r\n", buf,
		 sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 401", 12));
	exchange(connect_tcp(port), "GET /metrics HTTP/1.1\r\nHost: vpn.example\r\nConnection: "
		 "close\r\n\r\n", buf, sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 401", 12));
	/* X-Forwarded-Proto makes the origin https. */
	exchange(connect_tcp(port), "POST /v1/peers/nosuch/disable HTTP/1.1\r\nHost: vpn.example\r\n"
		 "X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-Proto: https\r\n"
		 "Cookie: zerowg_session=s3ss10n\r\nOrigin: https://vpn.example\r\n"
		 "Content-Length: 0\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 404", 12));
	api_server_trust_proxies(srv, NULL, 0);
	api.n_metrics_allow = 0;
	api.authenticate = NULL;
out:
	explicit_bzero(buf, sizeof(buf));
	api_server_stop(srv);
	rmdir(dir);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Issue 12: a client that trickles its request a byte at a time, never
 * silent long enough for the idle timeout, is cut off once the request has
 * taken the request bound (2 s here, 30 s in production); meanwhile and
 * after, others are answered.
 */
static void test_http_trickle_bounded(void)
{
	char dir[] = "/tmp/zwg-api-test.XXXXXX", path[100], err[256], buf[4096];
	const char *req = "GET /v1/server HTTP/1.1\r\nHost: zerowg\r\nX-Slow: ";
	struct api_server *srv;
	double t0, cut = 0;
	int fd[4];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/admin.sock", dir);
	srv = api_server_start(&api, path, err, sizeof(err));
	CHECK(srv != NULL);
	if (!srv)
		return;
	api_server_set_request_limit(srv, 2);
	t0 = now_sec();
	for (int i = 0; i < 4; i++) {
		fd[i] = connect_unix(path);
		CHECK(write(fd[i], req, strlen(req)) == (ssize_t)strlen(req));
	}
	/* One byte every 500 ms for at most 8 s, until the server hangs up. */
	for (int step = 0; step < 16 && !cut; step++) {
		usleep(500 * 1000);
		for (int i = 0; i < 4; i++) {
			char c;
			if (send(fd[i], "x", 1, MSG_NOSIGNAL) != 1 ||
			    recv(fd[i], &c, 1, MSG_DONTWAIT) == 0) {
				cut = now_sec() - t0;
				break;
			}
		}
	}
	CHECK(cut >= 1.5 && cut < 5);
	/* Another client is answered at once. */
	exchange(connect_unix(path), "GET /v1/server HTTP/1.1\r\nHost: zerowg\r\nConnection: "
		 "close\r\n\r\n", buf, sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
	for (int i = 0; i < 4; i++)
		close(fd[i]);
	api_server_stop(srv);
	rmdir(dir);
}

/* ------------------------------------------------------------ accounts -- */
/*
 * Sign-in, sessions, tokens and the account routes through api_handle
 * over "TCP" with the real accounts module (cheap Argon2 in tests) and the
 * real authenticate callback; then the same over a real TCP listener for
 * the headers (Set-Cookie, Retry-After, the UI's CSP and ETag).
 */
#define ALICE_PW "correct horse battery"

static struct accounts *acc;

/* The last TCP answer's headers and body. */
static struct api_reply last;
/* The client's address: each test its own, as the throttle counts
 * failures per source. */
static const char *client_ip = "192.0.2.1";

static const char *tcp_hdr(const struct api_request *req, const char *name)
{
	const char *const *h = req->header_ctx;
	size_t nl = strlen(name);

	for (; h && *h; h++)
		if (!strncasecmp(*h, name, nl) && (*h)[nl] == ':')
			return *h + nl + 2;
	return NULL;
}

static const char *reply_hdr(const struct api_reply *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

/* A TCP request from 192.0.2.1 with cookie (a session id or NULL) and
 * the server's own Origin; headers extra (NULL-terminated, or NULL). */
static json_t *tcp_call(const char *method, const char *path, const char *body,
			const char *cookie, const char *bearer, unsigned *status)
{
	char c[128] = "", a[128] = "";
	const char *h[6] = { "Host: vpn.example", "Origin: http://vpn.example", NULL };
	size_t n = 2;
	struct api_request req = {
		.method = method, .path = path, .body = body, .len = body ? strlen(body) : 0,
		.transport = API_TRANSPORT_TCP, .header = tcp_hdr, .header_ctx = h,
	};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&req.remote;
	json_t *j = NULL;

	s4->sin_family = AF_INET;
	inet_pton(AF_INET, client_ip, &s4->sin_addr);
	req.remote_len = sizeof(*s4);
	if (cookie) {
		snprintf(c, sizeof(c), "Cookie: theme=dark; zwg_session=%s; x=y", cookie);
		h[n++] = c;
	}
	if (bearer) {
		snprintf(a, sizeof(a), "Authorization: Bearer %s", bearer);
		h[n++] = a;
	}
	api_reply_free(&last);
	CHECK_INT(api_handle(&api, &req, &last), 0);
	*status = last.status;
	last_text[0] = '\0';
	if (last.body) {
		snprintf(last_text, sizeof(last_text), "%s", last.body);
		j = json_loads(last.body, 0, NULL);
	}
	return j;
}

/* Signs in; the session id from Set-Cookie into sid. */
static unsigned login(const char *user, const char *pw, const char *code, char *sid)
{
	char body[256];
	unsigned s;
	json_t *j;

	snprintf(body, sizeof(body), "{\"user\":\"%s\",\"password\":\"%s\"%s%s%s}", user, pw,
		 code ? ",\"code\":\"" : "", code ? code : "", code ? "\"" : "");
	j = tcp_call("POST", "/v1/login", body, NULL, NULL, &s);
	json_decref(j);
	if (sid) {
		const char *sc = reply_hdr(&last, "Set-Cookie");
		sid[0] = '\0';
		if (s == 200 && sc && !strncmp(sc, "zwg_session=", 12))
			snprintf(sid, ACCOUNTS_SESSION_ID_SIZE, "%.43s", sc + 12);
	}
	return s;
}

static void totp_now(const char *uri, char code[7])
{
	uint8_t secret[TOTP_SECRET_LEN];
	char b32[64];
	const char *p = strstr(uri, "secret=");
	uint32_t v = 0;

	code[0] = '\0';
	CHECK(p != NULL);
	if (!p)
		return;
	snprintf(b32, sizeof(b32), "%.*s", (int)strcspn(p + 7, "&"), p + 7);
	CHECK_INT(totp_base32_decode(b32, secret, sizeof(secret)), TOTP_SECRET_LEN);
	CHECK_INT(totp_hotp(secret, sizeof(secret), totp_step(time(NULL)), 6, &v), 0);
	totp_format(v, 6, code, 7);
}

static void accounts_setup(void)
{
	struct control_error e;

	CHECK_INT(accounts_open(st, &acc, &e), 0);
	CHECK_INT(accounts_user_add(acc, "alice", ROLE_ADMIN, ALICE_PW, time(NULL), &e), 0);
	CHECK_INT(accounts_user_add(acc, "vera", ROLE_VIEWER, ALICE_PW, time(NULL), &e), 0);
	api.accounts = acc;
	api.authenticate = api_accounts_authenticate;
	api.auth_ctx = &api;
}

static void test_login_and_session(void)
{
	char sid[ACCOUNTS_SESSION_ID_SIZE], sid2[ACCOUNTS_SESSION_ID_SIZE];
	unsigned s;
	json_t *j;

	accounts_setup();
	j = tcp_call("GET", "/v1/me", NULL, NULL, NULL, &s);
	CHECK_INT(s, 401);
	CHECK(last.www_authenticate);
	json_decref(j);
	/* Wrong password, unknown user: one answer, no cookie; the audit
	 * names a known user, never an unknown name nor a password. */
	CHECK_INT(login("alice", "wrong password!", NULL, sid), 401);
	CHECK(strstr(last_text, "wrong user name, password or code") != NULL);
	CHECK(reply_hdr(&last, "Set-Cookie") == NULL);
	CHECK_INT(login("Tr0ub4dor-pw", ALICE_PW, NULL, sid), 401);
	CHECK(strstr(last_text, "wrong user name, password or code") != NULL);
	CHECK(audit_contains("\"event\":\"session.login_failed\",\"peer\":\"alice\""));
	CHECK(!audit_contains("Tr0ub4dor-pw"));
	CHECK(!audit_contains("wrong password!"));
	CHECK(audit_contains("unknown user"));
	/* Missing fields, unknown fields. */
	j = tcp_call("POST", "/v1/login", "{\"user\":\"alice\"}", NULL, NULL, &s);
	CHECK_INT(s, 400);
	CHECK(error_field_is(j, "password"));
	json_decref(j);
	j = tcp_call("POST", "/v1/login", "{\"user\":\"alice\",\"password\":\"x\",\"admin\":true}",
		     NULL, NULL, &s);
	CHECK_INT(s, 400);
	json_decref(j);
	/* Right: the cookie, and the user. */
	CHECK_INT(login("alice", ALICE_PW, NULL, sid), 200);
	CHECK_INT(strlen(sid), ACCOUNTS_SESSION_ID_LEN);
	CHECK(strstr(reply_hdr(&last, "Set-Cookie"), "; Path=/; HttpOnly; SameSite=Strict") != NULL);
	CHECK(strstr(reply_hdr(&last, "Set-Cookie"), "Secure") == NULL);
	CHECK(strstr(last_text, "\"user\":\"alice\"") && strstr(last_text, "\"role\":\"admin\"") &&
	      strstr(last_text, "\"totp\":false"));
	CHECK(!strstr(last_text, sid));
	CHECK(audit_contains("\"event\":\"session.login\",\"peer\":\"alice\",\"actor\":\"alice\","
			     "\"via\":\"web\""));
	CHECK(!audit_contains(sid));
	j = tcp_call("GET", "/v1/me", NULL, sid, NULL, &s);
	CHECK_INT(s, 200);
	CHECK(j && !strcmp(str(j, "user"), "alice"));
	json_decref(j);
	/* A cookie change without the server's Origin is refused. */
	CHECK_INT(login("alice", ALICE_PW, NULL, sid2), 200);
	j = tcp_call("GET", "/v1/me/sessions", NULL, sid, NULL, &s);
	CHECK_INT(s, 200);
	json_t *list = json_object_get(j, "sessions");
	CHECK_INT(json_array_size(list), 2);
	size_t current = 0;
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *se = json_array_get(list, i);
		current += json_is_true(json_object_get(se, "current"));
		CHECK(str(se, "id_hint") && strlen(str(se, "id_hint")) == 16);
		CHECK(str(se, "source") && !strcmp(str(se, "source"), "192.0.2.1"));
	}
	CHECK_INT(current, 1);
	CHECK(!strstr(last_text, sid) && !strstr(last_text, sid2));
	/* Revoke the other one by its handle. */
	char handle[ACCOUNTS_SESSION_HANDLE_SIZE], path[64];
	accounts_session_handle(sid2, handle);
	snprintf(path, sizeof(path), "/v1/me/sessions/%s", handle);
	json_decref(j);
	j = tcp_call("DELETE", path, NULL, sid, NULL, &s);
	CHECK_INT(s, 204);
	j = tcp_call("GET", "/v1/me", NULL, sid2, NULL, &s);
	CHECK_INT(s, 401);
	json_decref(j);
	j = tcp_call("DELETE", path, NULL, sid, NULL, &s);
	CHECK_INT(s, 404);
	json_decref(j);
	/* A stale cookie is no credential: signing in still works. */
	CHECK_INT(login("alice", ALICE_PW, NULL, sid2), 200);
	j = tcp_call("POST", "/v1/logout", NULL, sid2, NULL, &s);
	CHECK_INT(s, 204);
	CHECK(strstr(reply_hdr(&last, "Set-Cookie"), "zwg_session=; ") &&
	      strstr(reply_hdr(&last, "Set-Cookie"), "Max-Age=0"));
	j = tcp_call("GET", "/v1/me", NULL, sid2, NULL, &s);
	CHECK_INT(s, 401);
	json_decref(j);
	j = tcp_call("POST", "/v1/login", "{\"user\":\"alice\",\"password\":\"" ALICE_PW "\"}", sid2,
		     NULL, &s);
	CHECK_INT(s, 200);
	json_decref(j);
	/* A viewer reads, cannot change, has no tokens page. */
	char vs[ACCOUNTS_SESSION_ID_SIZE];
	CHECK_INT(login("vera", ALICE_PW, NULL, vs), 200);
	j = tcp_call("GET", "/v1/peers", NULL, vs, NULL, &s);
	CHECK_INT(s, 200);
	json_decref(j);
	j = tcp_call("POST", "/v1/peers", "{\"name\":\"nope\"}", vs, NULL, &s);
	CHECK_INT(s, 403);
	json_decref(j);
	j = tcp_call("GET", "/v1/tokens", NULL, vs, NULL, &s);
	CHECK_INT(s, 403);
	json_decref(j);
	/* The unix socket needs no sign-in. */
	j = call("POST", "/v1/login", "{\"user\":\"alice\",\"password\":\"" ALICE_PW "\"}", &s);
	CHECK_INT(s, 400);
	json_decref(j);
	j = call("GET", "/v1/me", NULL, &s);
	CHECK_INT(s, 200);
	CHECK(j && !strcmp(str(j, "kind"), "local") && !strcmp(str(j, "name"), "uid 0"));
	json_decref(j);
	j = call("POST", "/v1/me/password", "{\"old\":\"a\",\"new\":\"b\"}", &s);
	CHECK_INT(s, 403);
	json_decref(j);
	explicit_bzero(sid, sizeof(sid));
}

static void test_tokens_over_api(void)
{
	char sid[ACCOUNTS_SESSION_ID_SIZE], secret[ACCOUNTS_TOKEN_SECRET_SIZE];
	unsigned s;
	json_t *j;

	CHECK_INT(login("alice", ALICE_PW, NULL, sid), 200);
	j = tcp_call("POST", "/v1/tokens", "{\"name\":\"ci\",\"role\":\"viewer\",\"expires\":\"30d\"}",
		     sid, NULL, &s);
	CHECK_INT(s, 201);
	CHECK(j && str(j, "token") && !strncmp(str(j, "token"), "zwg_", 4));
	snprintf(secret, sizeof(secret), "%s", j && str(j, "token") ? str(j, "token") : "");
	CHECK(json_integer_value(json_object_get(j, "expires")) > time(NULL));
	json_decref(j);
	CHECK(audit_contains("\"event\":\"token.add\",\"peer\":\"ci\",\"actor\":\"alice\""));
	CHECK(!audit_contains(secret));
	j = tcp_call("POST", "/v1/tokens", "{\"name\":\"ci\",\"role\":\"viewer\"}", sid, NULL, &s);
	CHECK_INT(s, 409);
	json_decref(j);
	j = tcp_call("POST", "/v1/tokens", "{\"name\":\"x\",\"role\":\"root\"}", sid, NULL, &s);
	CHECK_INT(s, 400);
	CHECK(error_field_is(j, "role"));
	json_decref(j);
	j = tcp_call("POST", "/v1/tokens", "{\"name\":\"x\",\"expires\":\"soon\"}", sid, NULL, &s);
	CHECK_INT(s, 400);
	CHECK(error_field_is(j, "expires"));
	json_decref(j);
	j = tcp_call("GET", "/v1/tokens", NULL, sid, NULL, &s);
	CHECK_INT(s, 200);
	CHECK(strstr(last_text, "\"name\":\"ci\"") && !strstr(last_text, secret));
	json_decref(j);
	/* The token: a viewer, no Origin needed, no cookie. */
	j = tcp_call("GET", "/v1/peers", NULL, NULL, secret, &s);
	CHECK_INT(s, 200);
	json_decref(j);
	j = tcp_call("POST", "/v1/peers", "{\"name\":\"nope\"}", NULL, secret, &s);
	CHECK_INT(s, 403);
	json_decref(j);
	j = tcp_call("GET", "/v1/me", NULL, NULL, secret, &s);
	CHECK_INT(s, 200);
	CHECK(j && !strcmp(str(j, "kind"), "token") && !strcmp(str(j, "name"), "ci"));
	json_decref(j);
	j = tcp_call("GET", "/v1/me/sessions", NULL, NULL, secret, &s);
	CHECK_INT(s, 403);
	json_decref(j);
	/* A wrong bearer is 401 even on an open route. */
	j = tcp_call("GET", "/v1/peers", NULL, NULL, "zwg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		     &s);
	CHECK_INT(s, 401);
	json_decref(j);
	/* Revoked: 401 at once. */
	j = tcp_call("DELETE", "/v1/tokens/ci", NULL, sid, NULL, &s);
	CHECK_INT(s, 204);
	CHECK(audit_contains("\"event\":\"token.revoke\",\"peer\":\"ci\""));
	j = tcp_call("GET", "/v1/peers", NULL, NULL, secret, &s);
	CHECK_INT(s, 401);
	json_decref(j);
	j = tcp_call("DELETE", "/v1/tokens/ci", NULL, sid, NULL, &s);
	CHECK_INT(s, 404);
	json_decref(j);
	/* Users: add, role, list, remove; never the last admin. */
	j = tcp_call("POST", "/v1/users", "{\"name\":\"carol\",\"role\":\"viewer\",\"password\":\"short\"}",
		     sid, NULL, &s);
	CHECK_INT(s, 400);
	json_decref(j);
	j = tcp_call("POST", "/v1/users", "{\"name\":\"carol\",\"role\":\"viewer\",\"password\":\""
		     ALICE_PW "\"}", sid, NULL, &s);
	CHECK_INT(s, 201);
	json_decref(j);
	CHECK(audit_contains("\"event\":\"user.add\",\"peer\":\"carol\""));
	CHECK(!audit_contains(ALICE_PW));
	j = tcp_call("POST", "/v1/users/carol/role", "{\"role\":\"admin\"}", sid, NULL, &s);
	CHECK_INT(s, 200);
	CHECK(j && !strcmp(str(j, "role"), "admin"));
	json_decref(j);
	j = tcp_call("GET", "/v1/users", NULL, sid, NULL, &s);
	CHECK_INT(s, 200);
	CHECK(strstr(last_text, "carol") && !strstr(last_text, "argon2"));
	json_decref(j);
	j = tcp_call("DELETE", "/v1/users/carol", NULL, sid, NULL, &s);
	CHECK_INT(s, 204);
	j = tcp_call("DELETE", "/v1/users/carol", NULL, sid, NULL, &s);
	CHECK_INT(s, 404);
	json_decref(j);
	explicit_bzero(secret, sizeof(secret));
}

static void test_password_and_totp(void)
{
	char sid[ACCOUNTS_SESSION_ID_SIZE], other[ACCOUNTS_SESSION_ID_SIZE], code[7];
	char recovery[3][ACCOUNTS_RECOVERY_CODE_SIZE];
	unsigned s;
	json_t *j;

	client_ip = "192.0.2.2";
	CHECK_INT(login("vera", ALICE_PW, NULL, sid), 200);
	CHECK_INT(login("vera", ALICE_PW, NULL, other), 200);
	/* A wrong current password is the field's error, not a 401. */
	j = tcp_call("POST", "/v1/me/password", "{\"old\":\"not it at all\",\"new\":\"fresh password 1\"}",
		     sid, NULL, &s);
	CHECK_INT(s, 400);
	CHECK(error_field_is(j, "old"));
	json_decref(j);
	j = tcp_call("POST", "/v1/me/password", "{\"old\":\"" ALICE_PW "\",\"new\":\"short\"}", sid,
		     NULL, &s);
	CHECK_INT(s, 400);
	CHECK(error_field_is(j, "new"));
	json_decref(j);
	j = tcp_call("POST", "/v1/me/password", "{\"old\":\"" ALICE_PW "\",\"new\":\"fresh password 1\"}",
		     sid, NULL, &s);
	CHECK_INT(s, 204);
	CHECK(audit_contains("\"event\":\"user.passwd\",\"peer\":\"vera\",\"actor\":\"vera\""));
	CHECK(!audit_contains("fresh password 1"));
	/* This session lives on, the other one ended. */
	j = tcp_call("GET", "/v1/me", NULL, sid, NULL, &s);
	CHECK_INT(s, 200);
	json_decref(j);
	j = tcp_call("GET", "/v1/me", NULL, other, NULL, &s);
	CHECK_INT(s, 401);
	json_decref(j);
	CHECK_INT(login("vera", ALICE_PW, NULL, NULL), 401);
	CHECK_INT(login("vera", "fresh password 1", NULL, other), 200);

	/* 2FA: enrol (URI + SVG), a wrong code, the right one. */
	j = tcp_call("POST", "/v1/me/totp", NULL, sid, NULL, &s);
	CHECK_INT(s, 200);
	CHECK(j && str(j, "uri") && !strncmp(str(j, "uri"), "otpauth://totp/", 15));
	CHECK(j && str(j, "qr_svg") && !strncmp(str(j, "qr_svg"), "<svg ", 5));
	totp_now(j && str(j, "uri") ? str(j, "uri") : "", code);
	json_decref(j);
	j = tcp_call("POST", "/v1/me/totp/confirm", "{\"code\":\"abc\"}", sid, NULL, &s);
	CHECK_INT(s, 400);
	CHECK(error_field_is(j, "code"));
	json_decref(j);
	char body[64];
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	j = tcp_call("POST", "/v1/me/totp/confirm", body, sid, NULL, &s);
	CHECK_INT(s, 200);
	json_t *codes = json_object_get(j, "recovery_codes");
	CHECK_INT(json_array_size(codes), ACCOUNTS_RECOVERY_CODES);
	for (size_t i = 0; i < 3; i++)
		snprintf(recovery[i], sizeof(recovery[i]), "%s",
			 json_string_value(json_array_get(codes, i)) ?
			 json_string_value(json_array_get(codes, i)) : "");
	json_decref(j);
	CHECK(audit_contains("\"event\":\"user.totp\",\"peer\":\"vera\""));
	CHECK(!audit_contains(recovery[0]));
	j = tcp_call("GET", "/v1/me", NULL, sid, NULL, &s);
	CHECK(j && json_is_true(json_object_get(j, "totp")));
	json_decref(j);
	/* Sign-in now asks for the code; a recovery code works, once.  (A
	 * fresh source address for each part: failures add up per source.) */
	client_ip = "192.0.2.5";
	CHECK_INT(login("vera", "fresh password 1", NULL, NULL), 401);
	CHECK(strstr(last_text, "\"totp_required\":true") && strstr(last_text, "\"field\":\"code\""));
	CHECK_INT(login("vera", "fresh password 1", "000000", NULL), 401);
	CHECK(!strstr(last_text, "totp_required"));
	CHECK_INT(login("vera", "fresh password 1", recovery[0], NULL), 200);
	CHECK_INT(login("vera", "fresh password 1", recovery[0], NULL), 401);
	/* Off: a wrong code is the field's error; a recovery code does. */
	client_ip = "192.0.2.6";
	j = tcp_call("DELETE", "/v1/me/totp", "{\"code\":\"000000\"}", sid, NULL, &s);
	CHECK_INT(s, 400);
	CHECK(error_field_is(j, "code"));
	json_decref(j);
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", recovery[1]);
	j = tcp_call("DELETE", "/v1/me/totp", body, sid, NULL, &s);
	CHECK_INT(s, 204);
	j = tcp_call("GET", "/v1/me", NULL, sid, NULL, &s);
	CHECK(j && json_is_false(json_object_get(j, "totp")));
	json_decref(j);
	j = tcp_call("DELETE", "/v1/me/totp", body, sid, NULL, &s);
	CHECK_INT(s, 409);
	json_decref(j);
	CHECK_INT(login("vera", "fresh password 1", NULL, NULL), 200);
	explicit_bzero(recovery, sizeof(recovery));
}

static void test_login_throttled(void)
{
	unsigned s = 0;

	/* Five free failures per name and source, then 429 with Retry-After,
	 * even with the right password. */
	client_ip = "192.0.2.3";
	for (int i = 0; i < ACCOUNTS_THROTTLE_FREE + 1 && s != 429; i++)
		s = login("alice", "not the password", NULL, NULL);
	s = login("alice", ALICE_PW, NULL, NULL);
	CHECK_INT(s, 429);
	CHECK(reply_hdr(&last, "Retry-After") && atoi(reply_hdr(&last, "Retry-After")) >= 1);
	CHECK(strstr(last_text, "\"retry_after\":") != NULL);
	CHECK(audit_contains("\"error\":\"throttled (POST /v1/login from 192.0.2.3, 429)\""));
}

/* The UI's files, and the headers of a real listener. */
static void test_web_assets_and_headers(void)
{
	char dir[] = "/tmp/zwg-api-test.XXXXXX", path[100], err[256], buf[16384], req[1024];
	char sid[ACCOUNTS_SESSION_ID_SIZE];
	struct api_server *srv;
	unsigned port, s;
	json_t *j;

	client_ip = "192.0.2.4";
	j = tcp_call("GET", "/", NULL, NULL, NULL, &s);
	CHECK_INT(s, 200);
	CHECK(last.content_type && !strncmp(last.content_type, "text/html", 9));
	CHECK(last.body && strstr(last.body, "<html"));
	CHECK(reply_hdr(&last, "ETag") && reply_hdr(&last, "ETag")[0] == '"');
	CHECK(reply_hdr(&last, "Content-Security-Policy") &&
	      !strcmp(reply_hdr(&last, "Content-Security-Policy"), WEB_UI_CSP));
	CHECK(reply_hdr(&last, "Cache-Control") &&
	      !strcmp(reply_hdr(&last, "Cache-Control"), "no-cache"));
	j = tcp_call("GET", "/assets/app.js", NULL, NULL, NULL, &s);
	CHECK_INT(s, 200);
	CHECK(last.content_type && strstr(last.content_type, "javascript"));
	j = tcp_call("GET", "/l/AbCdEf123", NULL, NULL, NULL, &s);
	CHECK_INT(s, 200);
	CHECK(last.body && last.len == web_asset_find("link.html")->len);
	static const char *const bad[] = { "/assets/nope.js", "/assets/..", "/assets/%2e%2e",
					   "/assets/", "/assets/a/b", "/index.html" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = tcp_call("GET", bad[i], NULL, NULL, NULL, &s);
		CHECK_INT(s, 404);
		json_decref(j);
	}
	j = tcp_call("POST", "/", NULL, NULL, NULL, &s);
	CHECK_INT(s, 405);
	json_decref(j);

	/* Over a real listener: 304 on the ETag, the UI's CSP replacing the
	 * JSON one, the session cookie in Set-Cookie (for walt: alice is
	 * throttled by now). */
	CHECK_INT(accounts_user_add(acc, "walt", ROLE_VIEWER, ALICE_PW, time(NULL), NULL), 0);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/admin.sock", dir);
	srv = api_server_start(&api, path, err, sizeof(err));
	CHECK(srv != NULL);
	if (!srv)
		return;
	port = listen_loopback(srv);
	CHECK(port != 0);
	exchange(connect_tcp(port), "GET /assets/app.css HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
		 "close\r\n\r\n", buf, sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
	CHECK(strstr(buf, "Content-Security-Policy: " WEB_UI_CSP "\r\n") != NULL);
	CHECK(strstr(buf, "default-src 'none'") == NULL);
	CHECK(strstr(buf, "Cache-Control: no-cache\r\n") && !strstr(buf, "no-store"));
	CHECK(strstr(buf, "X-Content-Type-Options: nosniff\r\n") != NULL);
	CHECK(strstr(buf, "Referrer-Policy: no-referrer\r\n") != NULL);
	CHECK(strstr(buf, "Content-Type: text/css") != NULL);
	snprintf(req, sizeof(req), "GET /assets/app.css HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: "
		 "%s\r\nConnection: close\r\n\r\n", web_asset_find("app.css")->etag);
	exchange(connect_tcp(port), req, buf, sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 304", 12));
	snprintf(req, sizeof(req), "POST /v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: "
		 "http://127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s", strlen("{\"user\":\"walt\",\"password\":\""
		 ALICE_PW "\"}"), "{\"user\":\"walt\",\"password\":\"" ALICE_PW "\"}");
	exchange(connect_tcp(port), req, buf, sizeof(buf));
	if (strncmp(buf, "HTTP/1.1 200", 12))
		fprintf(stderr, "  login over TCP: %.200s\n", buf);
	CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
	if (!strncmp(buf, "HTTP/1.1 429", 12)) {
		CHECK(strstr(buf, "Retry-After: ") != NULL);
	} else {
		const char *sc = strstr(buf, "Set-Cookie: zwg_session=");
		CHECK(sc != NULL);
		CHECK(strstr(buf, "; Path=/; HttpOnly; SameSite=Strict\r\n") != NULL);
		CHECK(strstr(buf, "Cache-Control: no-store\r\n") != NULL);
		if (sc) {
			snprintf(sid, sizeof(sid), "%.43s", sc + 24);
			snprintf(req, sizeof(req), "GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: "
				 "zwg_session=%s\r\nConnection: close\r\n\r\n", sid);
			exchange(connect_tcp(port), req, buf, sizeof(buf));
			CHECK(!strncmp(buf, "HTTP/1.1 200", 12) && strstr(buf, "\"user\":\"walt\""));
		}
	}
	/* Behind a TLS proxy: the cookie is Secure. */
	struct api_prefix lo;
	CHECK_INT(api_prefix_parse(&lo, "127.0.0.1", err, sizeof(err)), 0);
	api_server_trust_proxies(srv, &lo, 1);
	snprintf(req, sizeof(req), "POST /v1/login HTTP/1.1\r\nHost: vpn.example\r\nOrigin: "
		 "https://vpn.example\r\nX-Forwarded-For: 198.51.100.4\r\nX-Forwarded-Proto: https\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 strlen("{\"user\":\"walt\",\"password\":\"" ALICE_PW "\"}"),
		 "{\"user\":\"walt\",\"password\":\"" ALICE_PW "\"}");
	exchange(connect_tcp(port), req, buf, sizeof(buf));
	CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
	CHECK(strstr(buf, "; HttpOnly; SameSite=Strict; Secure\r\n") != NULL);
	api_server_stop(srv);
	rmdir(dir);
	explicit_bzero(sid, sizeof(sid));
	explicit_bzero(buf, sizeof(buf));
}

/* qr_svg with every one-time config: an SVG document, one path. */
static void test_qr_svg(void)
{
	unsigned s;
	json_t *j = call("POST", "/v1/peers", "{\"name\":\"svg-peer\",\"keep_key\":true}", &s);
	const char *svg;

	CHECK_INT(s, 201);
	svg = str(j, "qr_svg");
	CHECK(svg && !strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ", 53));
	CHECK(svg && strstr(svg, "shape-rendering=\"crispEdges\""));
	CHECK(svg && strstr(svg, "<path") && !strstr(strstr(svg, "<path") + 1, "<path"));
	CHECK(svg && strstr(svg, "</svg>"));
	CHECK(svg && !strstr(svg, str(j, "private_key")));
	json_decref(j);
	j = call("GET", "/v1/peers/svg-peer/config", NULL, &s);
	CHECK_INT(s, 200);
	CHECK(str(j, "qr_svg") && !strncmp(str(j, "qr_svg"), "<svg ", 5));
	json_decref(j);
	j = call("POST", "/v1/peers/svg-peer/rotate", "{}", &s);
	CHECK_INT(s, 200);
	CHECK(str(j, "qr_svg") && !strncmp(str(j, "qr_svg"), "<svg ", 5));
	json_decref(j);
	j = call("DELETE", "/v1/peers/svg-peer", NULL, &s);
	CHECK_INT(s, 204);
}

static void accounts_teardown(void)
{
	api_reply_free(&last);
	api.authenticate = NULL;
	api.auth_ctx = NULL;
	api.accounts = NULL;
	accounts_close(acc);
	acc = NULL;
}

int main(void)
{
	setenv("ZWG_TEST_ARGON2_KIB", "8", 0);	/* cheap hashes */
	setup();
	RUN(test_server_view);
	RUN(test_add_peer);
	RUN(test_add_peer_errors);
	RUN(test_add_with_options);
	RUN(test_list_and_show);
	RUN(test_config_only_if_kept);
	RUN(test_disable_enable);
	RUN(test_update_peer);
	RUN(test_rotate);
	RUN(test_stats);
	RUN(test_revoke);
	RUN(test_methods_and_paths);
	RUN(test_subnet_full);
	RUN(test_audit_never_holds_a_key);
	RUN(test_http_server);
	RUN(test_http_server_fd);
	RUN(test_http_tcp);
	RUN(test_http_trickle_bounded);
	RUN(test_qr_svg);
	RUN(test_login_and_session);
	RUN(test_tokens_over_api);
	RUN(test_password_and_totp);
	RUN(test_login_throttled);
	RUN(test_web_assets_and_headers);
	accounts_teardown();
	audit_set_output(NULL);
	fclose(audit_f);
	free(audit_buf);
	stats_free(stats);
	control_close(ctl);
	store_close(st);
	store_key_free(skey);
	driver_free(dev_drv);
	device_teardown(&dev);
	close(pair[0]);
	close(pair[1]);
	TEST_EXIT();
}
