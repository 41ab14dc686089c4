/*
 * api_test.c - the admin API's handlers (src/server/api.c) without a
 * socket: api_handle() on a memory store, with a real device (its "TUN" one
 * end of a socketpair) behind the apply hook, so a disable, revoke or
 * rotate is checked where it matters: the old public key is gone from the
 * data plane.  Every endpoint, every error path and the field each error
 * names; no answer but the one-time ones ever carries a private or
 * preshared key, and the audit log never does.  The HTTP server itself is
 * exercised once over a real unix socket with a raw HTTP/1.1 request.
 */
#include "test.h"
#include "api.h"
#include "api_http.h"
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

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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
static int test_reload(void *ctx, char *err, size_t errlen)
{
	reloads++;
	return 0;
}

static void observer(void *ctx, const char *name, enum control_event ev)
{
	audit_log(control_event_name(ev), name, NULL, true, NULL);
}

/* Calls the API; returns the parsed answer (NULL for 204 or non-JSON). */
static json_t *call(const char *method, const char *path, const char *body, unsigned *status)
{
	struct api_reply r;
	json_t *j = NULL;

	CHECK_INT(api_handle(&api, method, path, body, body ? strlen(body) : 0, &r), 0);
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
	CHECK(audit_contains("\"event\":\"peer.add\",\"peer\":\"phone\",\"via\":\"api\",\"ok\":true"));
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
	CHECK(audit_contains("\"peer\":\"phone\",\"via\":\"api\",\"ok\":false"));

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
		{ "GET", "/", "404" },
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

int main(void)
{
	setup();
	RUN(test_server_view);
	RUN(test_add_peer);
	RUN(test_add_peer_errors);
	RUN(test_add_with_options);
	RUN(test_list_and_show);
	RUN(test_config_only_if_kept);
	RUN(test_disable_enable);
	RUN(test_rotate);
	RUN(test_stats);
	RUN(test_revoke);
	RUN(test_methods_and_paths);
	RUN(test_subnet_full);
	RUN(test_audit_never_holds_a_key);
	RUN(test_http_server);
	RUN(test_http_server_fd);
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
