/*
 * control_test.c - the control layer's operations (src/control/control.c,
 * peerops.c, serverops.c, confdiff.c) over a memory store, and once over a
 * sealed store: init, add, list, disable/enable, rotate, revoke, expiry,
 * update (peer set),
 * options (and the defaults of a new store: NAT on, DNS the server's
 * tunnel address), import, export, the desired device config and the
 * hot-apply diff; two controls on one store stand for two processes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "crypto.h"
#include "envconf.h"
#include "ipalloc.h"
#include "render.h"
#include "test.h"

#define K1 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define K3 "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="
#define K4 "BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ="
#define K5 "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU="
#define K6 "BgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgY="

/* ---- fixtures ---- */

static struct {
	char name[64];
	enum control_event ev;
	bool stored;		/* the store had the change when we heard of it */
	bool by_test_actor;	/* the observer heard who made it */
} events[64];
static int n_events;
static struct store *observed_store;
/* Who the tests' changes are made by: the observer must hear it. */
static const struct actor test_actor = { .kind = ACTOR_LOCAL, .role = ROLE_ADMIN,
					 .name = "uid 0", .via = "cli" };

static void observer(void *ctx, const char *name, enum control_event ev,
		     const struct actor *actor)
{
	char key[80];
	uint8_t *v;
	size_t len;
	int ret;

	(void)ctx;
	if (n_events >= 64)
		return;
	snprintf(events[n_events].name, sizeof(events[0].name), "%s", name ? name : "");
	events[n_events].ev = ev;
	snprintf(key, sizeof(key), "peers/%s", name ? name : "");
	ret = store_get(observed_store, key, &v, &len, NULL);
	if (ret == 0)
		store_value_free(v, len);
	events[n_events].stored = ev == CONTROL_EVENT_PEER_REVOKE ? ret == -ENOENT : ret == 0;
	events[n_events].by_test_actor = actor == &test_actor;
	n_events++;
}

static struct store *new_store(void)
{
	struct store *st = NULL;
	char err[256];

	if (store_create("memory:", NULL, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "memory store: %s\n", err);
		abort();
	}
	return st;
}

static struct control *setup(struct store **st, const char *subnet)
{
	struct server_options o;
	struct control_error e;
	struct control *ctl = NULL;

	*st = new_store();
	server_options_init(&o);
	if (subnet && server_options_set(&o, "subnet", subnet, &e))
		abort();
	if (server_options_set(&o, "endpoint", "vpn.example.com", &e))
		abort();
	if (control_init_server(*st, &o, &e) || control_open(*st, &ctl, &e)) {
		fprintf(stderr, "setup: %s\n", e.msg);
		abort();
	}
	server_options_free(&o);
	n_events = 0;
	observed_store = *st;
	control_set_observer(ctl, observer, NULL);
	return ctl;
}

static void teardown(struct control *ctl, struct store *st)
{
	control_close(ctl);
	store_close(st);
}

static int add(struct control *ctl, const char *name, bool keep, struct peer_add_result *res,
	       struct control_error *e)
{
	struct peer_add_request req = { .name = name, .keep_key = keep, .persistent_keepalive = -1 };

	return control_peer_add(ctl, &req, res, &test_actor, e);
}

static int add_simple(struct control *ctl, const char *name)
{
	struct peer_add_result res;
	struct control_error e;
	int ret = add(ctl, name, false, &res, &e);

	if (ret == 0)
		control_peer_add_result_free(&res);
	else
		fprintf(stderr, "  add %s: %s\n", name, e.msg);
	return ret;
}

static const char *ip4(const struct in_addr *a)
{
	static char buf[4][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET, a, buf[i], sizeof(buf[i]));
}

/* The raw JSON of a record, for checks on what reaches the store. */
static char *raw(struct store *st, const char *key)
{
	uint8_t *v;
	size_t len;
	char *s;

	if (store_get(st, key, &v, &len, NULL))
		return NULL;
	s = strndup((const char *)v, len);
	store_value_free(v, len);
	return s;
}

static const struct uapi_peer *find_uapi(const struct uapi_config *c, const uint8_t *pub)
{
	size_t i;

	for (i = 0; i < c->n_peers; i++)
		if (!memcmp(c->peers[i].public_key, pub, 32))
			return &c->peers[i];
	return NULL;
}

/* ---- tests ---- */

static void test_init(void)
{
	struct store *st = new_store();
	struct server_record s;
	struct control *ctl;
	struct control_error e;
	uint8_t pub[32], derived[32];
	char a[INET6_ADDRSTRLEN], *j;

	CHECK_INT(control_open(st, &ctl, &e), -ENOENT);
	CHECK(strstr(e.msg, "has no server record: run `zerowg init` first") != NULL);
	CHECK_INT(control_init_server(st, NULL, &e), 0);
	CHECK_INT(control_init_server(st, NULL, &e), -EEXIST);
	CHECK(strstr(e.msg, "already has a server record") != NULL);
	CHECK_INT(control_open(st, &ctl, &e), 0);
	CHECK_INT(control_get_server(ctl, &s, pub), 0);
	CHECK(crypto_is_zero(s.private_key, 32));	/* not handed out */
	CHECK_INT(s.listen_port, 51820);
	CHECK(strcmp(s.interface, "zwg0") == 0);
	CHECK(strcmp(ip4(&s.ipv4), "10.13.13.1") == 0);
	CHECK_INT(s.ipv4_prefix, 24);
	CHECK_INT(s.ipv6.s6_addr[0], 0xfd);
	CHECK_INT(s.ipv6.s6_addr[15], 1);
	CHECK_INT(s.ipv6_prefix, 64);
	CHECK_INT(s.mtu, 1420);
	CHECK(s.client_allowed_ips && strcmp(s.client_allowed_ips, "0.0.0.0/0, ::/0") == 0);
	inet_ntop(AF_INET6, &s.ipv6, a, sizeof(a));
	/* the public key belongs to the private key in the store */
	j = raw(st, "server");
	CHECK(j && strstr(j, "\"private_key\":\"") != NULL);
	if (j) {
		char b64[45];
		uint8_t priv[32];
		memcpy(b64, strstr(j, "\"private_key\":\"") + 15, 44);
		b64[44] = '\0';
		CHECK(key_from_base64(priv, b64));
		CHECK(x25519_public_from_secret(derived, priv));
		CHECK_MEM(derived, pub, 32);
		explicit_bzero(priv, sizeof(priv));
		free(j);
	}
	CHECK_INT(control_peer_count(ctl), 0);
	model_server_free(&s);
	control_close(ctl);
	store_close(st);
}

static void test_add(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_result r1, r2;
	struct control_error e;
	uint8_t pub[32];
	char *j;

	CHECK_INT(add(ctl, "phone", false, &r1, &e), 0);
	CHECK_INT(add(ctl, "laptop", false, &r2, &e), 0);
	CHECK(strcmp(ip4(&r1.peer.ipv4), "10.13.13.2") == 0);
	CHECK(strcmp(ip4(&r2.peer.ipv4), "10.13.13.3") == 0);
	CHECK(r1.peer.has_ipv6 && r1.peer.ipv6.s6_addr[15] == 2);
	/* the result's key is the record's key pair, and in the config */
	CHECK(x25519_public_from_secret(pub, r1.private_key));
	CHECK_MEM(pub, r1.peer.public_key, 32);
	CHECK(r1.client_config && strstr(r1.client_config, r1.private_key_base64) != NULL);
	CHECK(strstr(r1.client_config, "Address = 10.13.13.2/32, fd") != NULL);
	CHECK(strstr(r1.client_config, "Endpoint = vpn.example.com:51820") != NULL);
	CHECK(r1.qr && strstr(r1.qr, "\xe2\x96\x88") != NULL);
	/* the view carries no secret; the store has the PSK but no private key */
	CHECK(!r1.peer.has_private_key && !r1.peer.has_preshared_key);
	j = raw(st, "peers/phone");
	CHECK(j && strstr(j, "preshared_key") && !strstr(j, "private_key"));
	CHECK(j && !strstr(j, r1.private_key_base64));
	free(j);
	/* the observer heard after the store had it */
	CHECK_INT(n_events, 2);
	CHECK(events[0].ev == CONTROL_EVENT_PEER_ADD && !strcmp(events[0].name, "phone"));
	CHECK(events[0].stored && events[1].stored);
	CHECK(events[0].by_test_actor && events[1].by_test_actor);
	CHECK(strcmp(control_event_name(events[0].ev), "peer.add") == 0);
	control_peer_add_result_free(&r1);
	control_peer_add_result_free(&r2);
	CHECK(r1.client_config == NULL && r1.private_key[0] == 0);
	teardown(ctl, st);
}

/* What a client config takes on one line never holds a newline or another
 * control character, whichever way it comes in: a peer's DNS or
 * AllowedIPs, the server's endpoint and DNS (flags and environment of
 * init and up).  Refused, quoted escaped, and nothing is stored. */
static void test_one_line_inputs(void)
{
	static const char *const bad_dns[] = {
		"1.1.1.1\nPostUp = rm -rf /", "1.1.1.1\nexample.com", "10.13.13.1\r",
	};
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_request req = { .name = "inj", .persistent_keepalive = -1 };
	struct server_options o;
	struct peer_add_result r;
	struct peer_record rec;
	struct control_error e;

	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < sizeof(bad_dns) / sizeof(bad_dns[0]); i++) {
		req.dns = bad_dns[i];
		control_error_clear(&e);
		CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), -EINVAL);
		CHECK(!strcmp(e.field, "dns") && strstr(e.msg, "control character"));
		CHECK(r.client_config == NULL);
	}
	CHECK(strstr(e.msg, "dns \"10.13.13.1\\r\""));
	req.dns = NULL;
	req.allowed_ips = "0.0.0.0/0\n[Peer]";
	control_error_clear(&e);
	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), -EINVAL);
	CHECK(!strcmp(e.field, "allowed_ips") && strstr(e.msg, "\"0.0.0.0/0\\n[Peer]\""));
	req.allowed_ips = "0.0.0.0/0\n::/0";
	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), -EINVAL);
	CHECK_INT(control_peer_get(ctl, "inj", &rec, NULL), -ENOENT);

	/* The server's, as `zerowg init`/`up` flags or the environment give them. */
	server_options_init(&o);
	control_error_clear(&e);
	CHECK(server_options_set(&o, "dns", "1.1.1.1\nexample.com", &e) < 0);
	CHECK(strstr(e.msg, "1.1.1.1\\nexample.com") && strstr(e.msg, "control character"));
	control_error_clear(&e);
	CHECK(server_options_set(&o, "endpoint", "vpn.example.com\r\nPostUp = x", &e) < 0);
	CHECK(!strcmp(e.field, "endpoint"));
	/* allowed-ips too, naming the option (not only the record later). */
	control_error_clear(&e);
	CHECK(server_options_set(&o, "allowed-ips", "0.0.0.0/0\n::/0", &e) < 0);
	CHECK(!strcmp(e.field, "allowed-ips") && strstr(e.msg, "control character"));
	server_options_free(&o);
	teardown(ctl, st);
}

static void test_add_errors(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_result r;
	struct control_error e;
	const char *routes_bad[] = { "192.168.1.0/24", "10.0.0.0/33" };
	const char *routes_host[] = { "192.168.1.5/24" };
	const char *routes_tun[] = { "10.13.0.0/16" };
	const char *routes_ok[] = { "192.168.1.0/24" };
	const char *routes_overlap[] = { "192.168.0.0/16" };
	struct peer_add_request req = { .name = "site", .persistent_keepalive = -1 };

	CHECK_INT(add_simple(ctl, "phone"), 0);
	CHECK_INT(add(ctl, "phone", false, &r, &e), -EEXIST);
	CHECK(strstr(e.msg, "peer \"phone\" already exists (pick another name, or revoke it first)"));
	CHECK(strcmp(e.field, "name") == 0);
	CHECK(r.client_config == NULL);
	CHECK_INT(add(ctl, "my phone", false, &r, &e), -EINVAL);
	CHECK(strstr(e.msg, "peer name \"my phone\" has the character ' '"));
	CHECK_INT(add(ctl, "", false, &r, &e), -EINVAL);

	req.routes = routes_bad;
	req.n_routes = 2;
	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), -EINVAL);
	CHECK(strstr(e.msg, "peer \"site\": routes[1] \"10.0.0.0/33\" is not a prefix"));
	CHECK(strcmp(e.field, "routes[1]") == 0);
	req.routes = routes_host;
	req.n_routes = 1;
	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), -EINVAL);
	CHECK(strstr(e.msg, "has host bits set (did you mean \"192.168.1.0/24\"?)"));
	req.routes = routes_tun;
	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), -EINVAL);
	CHECK(strstr(e.msg, "overlaps the tunnel subnet 10.13.13.0/24"));
	req.routes = routes_ok;
	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), 0);
	control_peer_add_result_free(&r);
	req.name = "site2";
	req.routes = routes_overlap;
	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), -EINVAL);
	CHECK(strstr(e.msg, "overlaps the route 192.168.1.0/24 of peer \"site\""));
	req.routes = NULL;
	req.n_routes = 0;
	req.dns = "1.1.1.1, x!";
	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), -EINVAL);
	CHECK(strcmp(e.field, "dns") == 0);
	req.dns = NULL;
	req.allowed_ips = "10.0.0.0/8, 1.2.3.4/33";
	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), -EINVAL);
	CHECK(strstr(e.msg, "peer \"site2\": allowed_ips \"1.2.3.4/33\" is not a prefix"));
	req.allowed_ips = NULL;
	req.expires = 1000;
	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), -EINVAL);
	CHECK(strcmp(e.field, "expires") == 0);
	req.expires = 0;
	req.persistent_keepalive = 70000;
	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), -EINVAL);
	CHECK(strcmp(e.field, "persistent_keepalive") == 0);
	/* none of the failures stored anything */
	CHECK_INT(control_peer_count(ctl), 2);
	teardown(ctl, st);
}

static void test_keep_key(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_result r;
	struct control_error e;
	char *cfg, *qr, *j;

	CHECK_INT(add(ctl, "kept", true, &r, &e), 0);
	j = raw(st, "peers/kept");
	CHECK(j && strstr(j, r.private_key_base64) != NULL);
	free(j);
	CHECK_INT(control_peer_client_config(ctl, "kept", &cfg, &qr, &e), 0);
	CHECK(cfg && strcmp(cfg, r.client_config) == 0);	/* the same config again */
	CHECK(qr != NULL);
	render_free(cfg);
	render_free(qr);
	control_peer_add_result_free(&r);

	CHECK_INT(add_simple(ctl, "shown-once"), 0);
	CHECK_INT(control_peer_client_config(ctl, "shown-once", &cfg, NULL, &e), -ENOKEY);
	CHECK(strstr(e.msg, "its private key was not kept") != NULL);
	CHECK(cfg == NULL);
	CHECK_INT(control_peer_client_config(ctl, "nobody", &cfg, NULL, &e), -ENOENT);
	teardown(ctl, st);
}

static void test_list_get(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_record *list, p;
	struct peer_add_result r;
	struct control_error e;
	size_t n;

	CHECK_INT(add_simple(ctl, "zeta"), 0);
	CHECK_INT(add(ctl, "alpha", true, &r, &e), 0);
	control_peer_add_result_free(&r);
	CHECK_INT(add_simple(ctl, "mid"), 0);
	CHECK_INT(control_peer_list(ctl, &list, &n), 0);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK(!strcmp(list[0].name, "alpha") && !strcmp(list[1].name, "mid") &&
		      !strcmp(list[2].name, "zeta"));
		CHECK(!list[0].has_private_key && crypto_is_zero(list[0].private_key, 32));
		CHECK(!list[0].has_preshared_key && crypto_is_zero(list[0].preshared_key, 32));
	}
	model_peer_array_free(list, n);
	CHECK_INT(control_peer_get(ctl, "mid", &p, &e), 0);
	CHECK(strcmp(ip4(&p.ipv4), "10.13.13.4") == 0 && p.enabled);
	model_peer_free(&p);
	CHECK_INT(control_peer_get(ctl, "nope", &p, &e), -ENOENT);
	CHECK(strstr(e.msg, "no peer \"nope\"") != NULL);
	teardown(ctl, st);
}

static void test_disable_enable(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_result a, b;
	struct control_error e;
	struct uapi_config cfg;
	struct peer_record p;
	char *j;

	CHECK_INT(add(ctl, "a", false, &a, &e), 0);
	CHECK_INT(add(ctl, "b", false, &b, &e), 0);
	n_events = 0;
	CHECK_INT(control_peer_set_enabled(ctl, "a", false, NULL, &test_actor, &e), 0);
	j = raw(st, "peers/a");
	CHECK(j && strstr(j, "\"enabled\":false") && strstr(j, "\"disabled_reason\":\"manual\""));
	free(j);
	uapi_config_init(&cfg);
	CHECK_INT(control_desired_config(ctl, &cfg), 0);
	CHECK_INT(cfg.n_peers, 1);
	CHECK(find_uapi(&cfg, a.peer.public_key) == NULL);
	CHECK(find_uapi(&cfg, b.peer.public_key) != NULL);
	uapi_config_free(&cfg);
	/* again: nothing to do, no event */
	CHECK_INT(control_peer_set_enabled(ctl, "a", false, NULL, &test_actor, &e), 0);
	CHECK_INT(control_peer_set_enabled(ctl, "a", true, NULL, &test_actor, &e), 0);
	CHECK_INT(control_peer_get(ctl, "a", &p, &e), 0);
	CHECK(p.enabled && p.disabled_reason[0] == '\0');
	model_peer_free(&p);
	CHECK_INT(n_events, 2);
	CHECK(events[0].ev == CONTROL_EVENT_PEER_DISABLE && events[1].ev == CONTROL_EVENT_PEER_ENABLE);
	CHECK_INT(control_peer_set_enabled(ctl, "a", false, "lost", &test_actor, &e), -EINVAL);
	CHECK_INT(control_peer_set_enabled(ctl, "ghost", false, NULL, &test_actor, &e), -ENOENT);
	control_peer_add_result_free(&a);
	control_peer_add_result_free(&b);
	teardown(ctl, st);
}

static void test_rotate(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_result a, r;
	struct control_error e;
	struct uapi_config cfg;
	const struct uapi_peer *up;
	uint8_t old_psk[32];
	char *j;

	CHECK_INT(add(ctl, "a", false, &a, &e), 0);
	uapi_config_init(&cfg);
	CHECK_INT(control_desired_config(ctl, &cfg), 0);
	up = find_uapi(&cfg, a.peer.public_key);
	CHECK(up != NULL);
	if (up)
		memcpy(old_psk, up->preshared_key, 32);
	uapi_config_free(&cfg);

	CHECK_INT(control_peer_rotate(ctl, "a", true, &r, &test_actor, &e), 0);
	CHECK(memcmp(r.peer.public_key, a.peer.public_key, 32) != 0);
	CHECK(r.peer.ipv4.s_addr == a.peer.ipv4.s_addr);	/* same address */
	CHECK(strstr(r.client_config, r.private_key_base64) != NULL);
	uapi_config_init(&cfg);
	CHECK_INT(control_desired_config(ctl, &cfg), 0);
	CHECK(find_uapi(&cfg, a.peer.public_key) == NULL);	/* the old key is dead */
	up = find_uapi(&cfg, r.peer.public_key);
	CHECK(up != NULL);
	if (up)
		CHECK(memcmp(up->preshared_key, old_psk, 32) != 0);	/* new PSK too */
	uapi_config_free(&cfg);
	j = raw(st, "peers/a");
	CHECK(j && strstr(j, r.private_key_base64) && !strstr(j, a.private_key_base64));
	free(j);
	CHECK(events[n_events - 1].ev == CONTROL_EVENT_PEER_ROTATE);
	control_peer_add_result_free(&r);
	/* rotating without keep_key drops the kept key */
	CHECK_INT(control_peer_rotate(ctl, "a", false, &r, &test_actor, &e), 0);
	j = raw(st, "peers/a");
	CHECK(j && !strstr(j, "private_key"));
	free(j);
	control_peer_add_result_free(&r);
	CHECK_INT(control_peer_rotate(ctl, "b", false, &r, &test_actor, &e), -ENOENT);
	control_peer_add_result_free(&a);
	teardown(ctl, st);
}

static void test_revoke_reuses_address(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_result r;
	struct control_error e;
	char *j;

	CHECK_INT(add_simple(ctl, "a"), 0);
	CHECK_INT(add_simple(ctl, "b"), 0);
	CHECK_INT(add_simple(ctl, "c"), 0);
	CHECK_INT(control_peer_revoke(ctl, "b", &test_actor, &e), 0);
	CHECK((j = raw(st, "peers/b")) == NULL);
	free(j);
	CHECK(events[n_events - 1].ev == CONTROL_EVENT_PEER_REVOKE && events[n_events - 1].stored);
	CHECK_INT(control_peer_revoke(ctl, "b", &test_actor, &e), -ENOENT);
	CHECK_INT(add(ctl, "d", false, &r, &e), 0);
	CHECK(strcmp(ip4(&r.peer.ipv4), "10.13.13.3") == 0);	/* b's address */
	control_peer_add_result_free(&r);
	CHECK_INT(control_peer_count(ctl), 3);
	teardown(ctl, st);
}

static void test_full_subnet(void)
{
	struct store *st;
	struct control *ctl = setup(&st, "10.20.30.0/29");
	struct peer_add_result r;
	struct control_error e;
	char name[16];
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		CHECK_INT(add_simple(ctl, name), 0);
	}
	CHECK_INT(add(ctl, "one-too-many", false, &r, &e), -ENOSPC);
	CHECK(strstr(e.msg, "subnet 10.20.30.0/29 is full (5 peers)") != NULL);
	CHECK_INT(control_peer_count(ctl), 5);
	CHECK((raw(st, "peers/one-too-many")) == NULL);
	teardown(ctl, st);
}

static void test_expiry(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_result r;
	struct control_error e;
	struct uapi_config cfg;
	struct peer_record p;
	int64_t now = (int64_t)time(NULL);
	struct peer_add_request req = { .name = "temp", .expires = now + 100,
					.persistent_keepalive = -1 };

	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), 0);
	control_peer_add_result_free(&r);
	CHECK_INT(add_simple(ctl, "forever"), 0);
	CHECK_INT(control_next_expiry(ctl), now + 100);
	/* past its time but not yet processed: already out of the config */
	uapi_config_init(&cfg);
	CHECK_INT(control_desired_config_at(ctl, now + 101, &cfg), 0);
	CHECK_INT(cfg.n_peers, 1);
	uapi_config_free(&cfg);
	CHECK_INT(control_expire_due(ctl, now + 50, &test_actor, NULL, NULL), 0);
	n_events = 0;
	CHECK_INT(control_expire_due(ctl, now + 100, &test_actor, NULL, NULL), 1);
	CHECK_INT(control_peer_get(ctl, "temp", &p, &e), 0);
	CHECK(!p.enabled && strcmp(p.disabled_reason, "expired") == 0);
	model_peer_free(&p);
	CHECK_INT(n_events, 1);
	CHECK(events[0].ev == CONTROL_EVENT_PEER_EXPIRE && events[0].stored);
	CHECK_INT(control_expire_due(ctl, now + 1000, &test_actor, NULL, NULL), 0);	/* only once */
	CHECK_INT(control_next_expiry(ctl), 0);
	/* enabling clears the passed expiry, so it stays enabled */
	CHECK_INT(control_peer_set_enabled(ctl, "temp", true, NULL, &test_actor, &e), 0);
	CHECK_INT(control_peer_get(ctl, "temp", &p, &e), 0);
	CHECK(p.enabled && p.expires == 0);
	model_peer_free(&p);
	CHECK_INT(control_peer_set_expires(ctl, "temp", now + 5000, &test_actor, &e), 0);
	CHECK_INT(control_next_expiry(ctl), now + 5000);
	CHECK_INT(control_peer_set_expires(ctl, "temp", now - 5, &test_actor, &e), -EINVAL);
	teardown(ctl, st);
}

static int expired_calls;
static void count_expired(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	expired_calls++;
}

static void test_expiry_callback(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_result r;
	struct control_error e;
	int64_t now = (int64_t)time(NULL);
	struct peer_add_request req = { .name = "t1", .expires = now + 10, .persistent_keepalive = -1 };

	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), 0);
	control_peer_add_result_free(&r);
	req.name = "t2";
	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), 0);
	control_peer_add_result_free(&r);
	expired_calls = 0;
	CHECK_INT(control_expire_due(ctl, now + 10, &test_actor, count_expired, NULL), 2);
	CHECK_INT(expired_calls, 2);
	teardown(ctl, st);
}

static void test_desired_config(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_result r;
	struct control_error e;
	struct uapi_config cfg;
	const struct uapi_peer *up;
	const char *routes[] = { "192.168.1.0/24", "fd99::/64" };
	struct peer_add_request req = { .name = "office", .routes = routes, .n_routes = 2,
					.persistent_keepalive = 25 };
	char *j;

	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), 0);
	uapi_config_init(&cfg);
	CHECK_INT(control_desired_config(ctl, &cfg), 0);
	CHECK(cfg.has_private_key && cfg.has_listen_port && cfg.listen_port == 51820);
	CHECK(cfg.replace_peers);
	j = raw(st, "server");
	if (j) {
		char b64[45];
		key_to_base64(b64, cfg.private_key);
		CHECK(strstr(j, b64) != NULL);
		free(j);
	}
	CHECK_INT(cfg.n_peers, 1);
	up = find_uapi(&cfg, r.peer.public_key);
	CHECK(up != NULL);
	if (up) {
		CHECK(up->has_preshared_key && !crypto_is_zero(up->preshared_key, 32));
		CHECK(up->replace_allowed_ips);
		CHECK(up->has_persistent_keepalive && up->persistent_keepalive_interval == 25);
		CHECK_INT(up->n_allowed_ips, 4);
		if (up->n_allowed_ips == 4) {
			CHECK(up->allowed_ips[0].family == AF_INET && up->allowed_ips[0].cidr == 32);
			CHECK(!memcmp(up->allowed_ips[0].addr, &r.peer.ipv4, 4));
			CHECK(up->allowed_ips[1].family == AF_INET6 && up->allowed_ips[1].cidr == 128);
			CHECK(up->allowed_ips[2].cidr == 24 && up->allowed_ips[2].addr[0] == 192);
			CHECK(up->allowed_ips[3].family == AF_INET6 && up->allowed_ips[3].cidr == 64);
		}
	}
	control_peer_add_result_free(&r);
	uapi_config_free(&cfg);
	teardown(ctl, st);
}

/* Takes the notes; returns how many keys (-1 for "everything"). */
static int take(struct control *ctl, uint8_t (*out)[32], size_t max)
{
	uint8_t (*keys)[32] = NULL;
	size_t n = 0;
	bool all = false;

	CHECK_INT(control_take_changes(ctl, &keys, &n, &all), 0);
	for (size_t i = 0; i < n && i < max; i++)
		memcpy(out[i], keys[i], 32);
	free(keys);
	return all ? -1 : (int)n;
}

static bool noted(uint8_t (*v)[32], int n, const uint8_t key[32])
{
	for (int i = 0; i < n; i++)
		if (!memcmp(v[i], key, 32))
			return true;
	return false;
}

static int collect_prefix(void *arg, const struct ip_prefix *p)
{
	int *counts = arg;

	counts[p->family == AF_INET ? 0 : 1]++;
	counts[2] += p->len == 24 || p->len == 64;	/* the routes */
	return counts[3] && counts[0] + counts[1] >= counts[3] ? 7 : 0;
}

/* The notes of what changed, the desired state of a few keys, and the
 * prefixes walk: what the server's per-peer apply relies on. */
static void test_changes(void)
{
	struct store *st;
	struct control *ctl = setup(&st, "10.20.0.0/20");
	struct peer_add_result a, b, r;
	struct control_error e;
	struct uapi_config cfg;
	uint8_t v[8][32], keys[3][32];
	const char *routes[] = { "192.168.1.0/24", "fd99::/64" };
	struct peer_add_request req = { .name = "office", .routes = routes, .n_routes = 2,
					.persistent_keepalive = -1 };
	int n, counts[4] = { 0 };
	char name[16];

	CHECK_INT(take(ctl, v, 8), -1);		/* just loaded: everything */
	CHECK_INT(take(ctl, v, 8), 0);		/* taken: nothing */
	CHECK_INT(add(ctl, "a", false, &a, &e), 0);
	CHECK_INT(control_peer_add(ctl, &req, &b, &test_actor, &e), 0);
	n = take(ctl, v, 8);
	CHECK_INT(n, 2);
	CHECK(noted(v, n, a.peer.public_key) && noted(v, n, b.peer.public_key));
	CHECK_INT(control_peer_set_enabled(ctl, "a", false, NULL, &test_actor, &e), 0);
	n = take(ctl, v, 8);
	CHECK(n == 1 && noted(v, n, a.peer.public_key));
	/* a failed change notes nothing */
	CHECK_INT(control_peer_set_enabled(ctl, "nobody", false, NULL, &test_actor, &e), -ENOENT);
	CHECK_INT(take(ctl, v, 8), 0);
	/* rotate: the old key (to remove) and the new one (to add) */
	CHECK_INT(control_peer_rotate(ctl, "office", false, &r, &test_actor, &e), 0);
	n = take(ctl, v, 8);
	CHECK(n == 2 && noted(v, n, b.peer.public_key) && noted(v, n, r.peer.public_key));

	/* the desired state of a few keys: a is disabled, office's old key is
	 * gone, its new one is there, with its routes; an unknown key is
	 * simply absent */
	memcpy(keys[0], a.peer.public_key, 32);
	memcpy(keys[1], b.peer.public_key, 32);
	memcpy(keys[2], r.peer.public_key, 32);
	uapi_config_init(&cfg);
	CHECK_INT(control_desired_peers_at(ctl, (const uint8_t (*)[32])keys, 3, time(NULL), &cfg),
		  0);
	CHECK(cfg.has_private_key && cfg.has_listen_port && !cfg.replace_peers);
	CHECK_INT(cfg.n_peers, 1);
	CHECK(find_uapi(&cfg, r.peer.public_key) != NULL);
	if (cfg.n_peers == 1)
		CHECK_INT(cfg.peers[0].n_allowed_ips, 4);
	uapi_config_free(&cfg);
	CHECK_INT(control_peer_set_enabled(ctl, "a", true, NULL, &test_actor, &e), 0);
	uapi_config_init(&cfg);
	CHECK_INT(control_desired_peers_at(ctl, (const uint8_t (*)[32])keys, 1, time(NULL), &cfg),
		  0);
	CHECK_INT(cfg.n_peers, 1);	/* enabled again */
	uapi_config_free(&cfg);

	/* every desired peer's prefixes: a (2) and office (2 + 2 routes) */
	CHECK_INT(control_desired_prefixes_at(ctl, time(NULL), collect_prefix, counts), 0);
	CHECK_INT(counts[0], 3);
	CHECK_INT(counts[1], 3);
	CHECK_INT(counts[2], 2);
	/* fn's non-zero result stops the walk and comes back */
	memset(counts, 0, sizeof(counts));
	counts[3] = 2;
	CHECK_INT(control_desired_prefixes_at(ctl, time(NULL), collect_prefix, counts), 7);
	CHECK_INT(counts[0] + counts[1], 2);

	/* revoke notes the key; a reload notes everything */
	take(ctl, v, 8);
	CHECK_INT(control_peer_revoke(ctl, "a", &test_actor, &e), 0);
	n = take(ctl, v, 8);
	CHECK(n == 1 && noted(v, n, a.peer.public_key));
	CHECK_INT(control_reload(ctl, &test_actor, &e), 0);
	CHECK_INT(take(ctl, v, 8), -1);
	/* more changes than the list holds: everything */
	for (int i = 0; i < 1100; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		if (add_simple(ctl, name))
			break;
	}
	CHECK_INT(take(ctl, v, 8), -1);
	control_mark_all_changed(ctl);
	CHECK_INT(take(ctl, v, 8), -1);
	control_peer_add_result_free(&a);
	control_peer_add_result_free(&b);
	control_peer_add_result_free(&r);
	teardown(ctl, st);
}

/* ---- control_peer_update ---- */

/* The record of name (a copy the caller frees), for the update tests. */
static struct peer_record got(struct control *ctl, const char *name)
{
	struct peer_record p;
	struct control_error e;

	if (control_peer_get(ctl, name, &p, &e))
		memset(&p, 0, sizeof(p));
	return p;
}

static void test_update_each_field(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_result r;
	struct control_error e;
	struct uapi_config cfg;
	struct peer_record p;
	uint8_t v[8][32];
	const char *routes[] = { "192.168.7.0/24", "fd77::/64" };
	const char *one_route[] = { "192.168.8.0/24" };
	int64_t now = (int64_t)time(NULL);
	char *config = NULL, *before = NULL, *after = NULL;
	int n;

	CHECK_INT(add(ctl, "site", true, &r, &e), 0);
	take(ctl, v, 8);
	n_events = 0;

	/* routes: the device's allowed IPs grow, the key is noted for the
	 * hot apply (the server changes only this peer's allowed IPs) */
	struct peer_update u = { .set_routes = true, .routes = routes, .n_routes = 2 };
	CHECK_INT(control_peer_update(ctl, "site", &u, &test_actor, &e), 0);
	p = got(ctl, "site");
	CHECK_INT(p.n_routes, 2);
	CHECK_INT(n_events, 1);
	CHECK(events[0].ev == CONTROL_EVENT_PEER_UPDATE && events[0].stored &&
	      events[0].by_test_actor && !strcmp(events[0].name, "site"));
	CHECK(!strcmp(control_event_name(events[0].ev), "peer.update"));
	n = take(ctl, v, 8);
	CHECK(n == 1 && noted(v, n, r.peer.public_key));
	uapi_config_init(&cfg);
	CHECK_INT(control_desired_config(ctl, &cfg), 0);
	CHECK(cfg.n_peers == 1 && cfg.peers[0].n_allowed_ips == 4 &&
	      cfg.peers[0].replace_allowed_ips);
	uapi_config_free(&cfg);
	model_peer_free(&p);
	/* the list is replaced, not appended to; an empty list clears it */
	u.routes = one_route;
	u.n_routes = 1;
	CHECK_INT(control_peer_update(ctl, "site", &u, &test_actor, &e), 0);
	p = got(ctl, "site");
	CHECK_INT(p.n_routes, 1);
	model_peer_free(&p);
	u.n_routes = 0;
	u.routes = NULL;
	CHECK_INT(control_peer_update(ctl, "site", &u, &test_actor, &e), 0);
	p = got(ctl, "site");
	CHECK_INT(p.n_routes, 0);
	model_peer_free(&p);

	/* client fields: in the record and in the config shown again */
	CHECK_INT(control_peer_client_config(ctl, "site", &before, NULL, &e), 0);
	u = (struct peer_update){ .set_dns = true, .dns = "9.9.9.9, home.lan",
				  .set_allowed_ips = true, .allowed_ips = "10.0.0.0/8, 192.168.0.0/16",
				  .set_keepalive = true, .persistent_keepalive = 15 };
	n_events = 0;
	CHECK_INT(control_peer_update(ctl, "site", &u, &test_actor, &e), 0);
	CHECK_INT(n_events, 1);		/* one change, one event, one write */
	p = got(ctl, "site");
	CHECK(p.dns && !strcmp(p.dns, "9.9.9.9, home.lan"));
	CHECK(p.allowed_ips && !strcmp(p.allowed_ips, "10.0.0.0/8, 192.168.0.0/16"));
	CHECK_INT(p.persistent_keepalive, 15);
	model_peer_free(&p);
	CHECK_INT(control_peer_client_config(ctl, "site", &after, NULL, &e), 0);
	CHECK(after && strstr(after, "DNS = 9.9.9.9, home.lan\n"));
	CHECK(after && strstr(after, "AllowedIPs = 10.0.0.0/8, 192.168.0.0/16\n"));
	CHECK(after && strstr(after, "PersistentKeepalive = 15\n"));
	CHECK(before && after && strcmp(before, after));
	/* the same again changes nothing: no event */
	n_events = 0;
	CHECK_INT(control_peer_update(ctl, "site", &u, &test_actor, &e), 0);
	CHECK_INT(n_events, 0);
	/* NULL and "" give the server's back */
	u = (struct peer_update){ .set_dns = true, .dns = "", .set_allowed_ips = true,
				  .allowed_ips = NULL, .set_keepalive = true,
				  .persistent_keepalive = -1 };
	CHECK_INT(control_peer_update(ctl, "site", &u, &test_actor, &e), 0);
	p = got(ctl, "site");
	CHECK(!p.dns && !p.allowed_ips && p.persistent_keepalive == 0);
	model_peer_free(&p);
	render_free(config);
	render_free(before);
	config = NULL;
	CHECK_INT(control_peer_client_config(ctl, "site", &config, NULL, &e), 0);
	CHECK(config && !strstr(config, "PersistentKeepalive") && !strstr(config, "9.9.9.9"));

	/* expiry: set, moved, never; the server's timer follows it */
	u = (struct peer_update){ .set_expires = true, .expires = now + 3600 };
	CHECK_INT(control_peer_update(ctl, "site", &u, &test_actor, &e), 0);
	CHECK_INT(control_next_expiry(ctl), now + 3600);
	u.expires = 0;
	CHECK_INT(control_peer_update(ctl, "site", &u, &test_actor, &e), 0);
	CHECK_INT(control_next_expiry(ctl), 0);
	/* keys and state never change */
	p = got(ctl, "site");
	CHECK_MEM(p.public_key, r.peer.public_key, 32);
	CHECK(p.enabled && p.key_kept);
	model_peer_free(&p);
	render_free(config);
	render_free(after);
	control_peer_add_result_free(&r);
	teardown(ctl, st);
}

static void test_update_refused(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_result r;
	struct control_error e;
	struct peer_record p;
	const char *theirs[] = { "192.168.1.0/24" };
	const char *overlap[] = { "192.168.0.0/16" };
	const char *tunnel[] = { "10.13.13.0/28" };
	const char *host_bits[] = { "192.168.9.5/24" };
	const char *twice[] = { "192.168.9.0/24", "192.168.9.128/25" };
	const char *newline[] = { "192.168.9.0/24\nPostUp = x" };
	const char *good[] = { "192.168.9.0/24" };
	struct peer_add_request req = { .name = "other", .routes = theirs, .n_routes = 1,
					.persistent_keepalive = -1 };
	char *raw_before, *raw_after;
	struct {
		struct peer_update u;
		const char *field, *words;
	} bad[] = {
		{ { .set_dns = true, .dns = "1.1.1.1\nPostUp = rm -rf /" }, "dns",
		  "control character" },
		{ { .set_dns = true, .dns = "1.1.1.1, x!" }, "dns", "not an address" },
		{ { .set_allowed_ips = true, .allowed_ips = "0.0.0.0/0\n[Peer]" }, "allowed_ips",
		  "\"0.0.0.0/0\\n[Peer]\"" },
		{ { .set_allowed_ips = true, .allowed_ips = "10.0.0.0/8, 1.2.3.4/33" },
		  "allowed_ips", "peer \"me\": allowed_ips \"1.2.3.4/33\" is not a prefix" },
		{ { .set_keepalive = true, .persistent_keepalive = 70000 }, "persistent_keepalive",
		  "70000 is not from 0 to 65535" },
		{ { .set_keepalive = true, .persistent_keepalive = -2 }, "persistent_keepalive",
		  "-2" },
		{ { .set_expires = true, .expires = 1000 }, "expires", "is in the past" },
		{ { .set_expires = true, .expires = -5 }, "expires", "is in the past" },
		{ { .set_routes = true, .routes = overlap, .n_routes = 1 }, "routes[0]",
		  "overlaps the route 192.168.1.0/24 of peer \"other\"" },
		{ { .set_routes = true, .routes = tunnel, .n_routes = 1 }, "routes[0]",
		  "overlaps the tunnel subnet 10.13.13.0/24" },
		{ { .set_routes = true, .routes = host_bits, .n_routes = 1 }, "routes[0]",
		  "did you mean \"192.168.9.0/24\"?" },
		{ { .set_routes = true, .routes = twice, .n_routes = 2 }, "routes[1]",
		  "overlaps routes[0]" },
		{ { .set_routes = true, .routes = newline, .n_routes = 1 }, "routes[0]", "" },
		/* one bad field spoils the rest: nothing is written */
		{ { .set_dns = true, .dns = "9.9.9.9", .set_routes = true, .routes = overlap,
		    .n_routes = 1, .set_keepalive = true, .persistent_keepalive = 5 }, "routes[0]",
		  "overlaps" },
		{ { .set_dns = true, .dns = "9.9.9.9", .set_routes = true, .routes = good,
		    .n_routes = 1, .set_expires = true, .expires = 1 }, "expires", "past" },
	};

	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), 0);
	control_peer_add_result_free(&r);
	CHECK_INT(add_simple(ctl, "me"), 0);
	raw_before = raw(st, "peers/me");
	n_events = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		control_error_clear(&e);
		CHECK_INT(control_peer_update(ctl, "me", &bad[i].u, &test_actor, &e), -EINVAL);
		if (strcmp(e.field, bad[i].field) || !strstr(e.msg, bad[i].words))
			fprintf(stderr, "  case %zu: field \"%s\": %s\n", i, e.field, e.msg);
		CHECK(!strcmp(e.field, bad[i].field) && strstr(e.msg, bad[i].words));
	}
	CHECK_INT(n_events, 0);
	raw_after = raw(st, "peers/me");
	CHECK(raw_before && raw_after && !strcmp(raw_before, raw_after));
	p = got(ctl, "me");
	CHECK(!p.dns && p.n_routes == 0 && p.persistent_keepalive == 0 && p.expires == 0);
	model_peer_free(&p);
	/* its own routes never overlap itself: the same list again is fine */
	struct peer_update same = { .set_routes = true, .routes = theirs, .n_routes = 1 };
	CHECK_INT(control_peer_update(ctl, "other", &same, &test_actor, &e), 0);
	CHECK_INT(n_events, 0);
	/* no such peer; a name that cannot be one */
	CHECK_INT(control_peer_update(ctl, "nobody", &same, &test_actor, &e), -ENOENT);
	CHECK(strstr(e.msg, "no peer \"nobody\"") && !strcmp(e.field, "name"));
	CHECK_INT(control_peer_update(ctl, "a\nb", &same, &test_actor, &e), -EINVAL);
	CHECK(!strcmp(e.field, "name"));
	free(raw_before);
	free(raw_after);
	teardown(ctl, st);
}

/* Expiry and enable: an update never enables; a new expiry on a peer its
 * expiry disabled survives the enable that lets it back in. */
static void test_update_expired_peer(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct peer_add_result r;
	struct control_error e;
	struct peer_record p;
	int64_t now = (int64_t)time(NULL);
	struct peer_add_request req = { .name = "temp", .expires = now + 100,
					.persistent_keepalive = -1 };
	struct peer_update u = { .set_expires = true, .expires = now + 7200 };

	CHECK_INT(control_peer_add(ctl, &req, &r, &test_actor, &e), 0);
	control_peer_add_result_free(&r);
	CHECK_INT(control_expire_due(ctl, now + 100, &test_actor, NULL, NULL), 1);
	CHECK_INT(control_peer_update(ctl, "temp", &u, &test_actor, &e), 0);
	p = got(ctl, "temp");
	CHECK(!p.enabled && !strcmp(p.disabled_reason, "manual") && p.expires == now + 7200);
	model_peer_free(&p);
	CHECK_INT(control_next_expiry(ctl), 0);		/* disabled: nothing to expire */
	CHECK_INT(control_peer_set_enabled(ctl, "temp", true, NULL, &test_actor, &e), 0);
	p = got(ctl, "temp");
	CHECK(p.enabled && p.expires == now + 7200);
	model_peer_free(&p);
	CHECK_INT(control_next_expiry(ctl), now + 7200);
	/* without a new expiry, enable still clears the one that passed */
	CHECK_INT(control_expire_due(ctl, now + 7200, &test_actor, NULL, NULL), 1);
	CHECK_INT(control_peer_set_enabled(ctl, "temp", true, NULL, &test_actor, &e), 0);
	p = got(ctl, "temp");
	CHECK(p.enabled && p.expires == 0);
	model_peer_free(&p);
	/* a manually disabled peer keeps its reason */
	CHECK_INT(control_peer_set_enabled(ctl, "temp", false, NULL, &test_actor, &e), 0);
	CHECK_INT(control_peer_update(ctl, "temp", &u, &test_actor, &e), 0);
	p = got(ctl, "temp");
	CHECK(!p.enabled && !strcmp(p.disabled_reason, "manual"));
	model_peer_free(&p);
	teardown(ctl, st);
}

/* Another process changed the record (and another peer's routes) since
 * this one read it: the update is made on the fresh record, and judged
 * against the other peer's new routes. */
static void test_update_two_writers(void)
{
	struct store *st;
	struct control *a = setup(&st, NULL), *b;
	struct control_error e;
	struct peer_record p;
	const char *r1[] = { "172.16.1.0/24" };
	struct peer_update u_dns = { .set_dns = true, .dns = "9.9.9.9" };
	struct peer_update u_keep = { .set_keepalive = true, .persistent_keepalive = 20 };
	struct peer_update u_r1 = { .set_routes = true, .routes = r1, .n_routes = 1 };

	CHECK_INT(add_simple(a, "x"), 0);
	CHECK_INT(add_simple(a, "y"), 0);
	CHECK_INT(control_open(st, &b, &e), 0);
	CHECK_INT(control_peer_update(a, "x", &u_dns, &test_actor, &e), 0);
	CHECK_INT(control_peer_update(b, "x", &u_keep, &test_actor, &e), 0);	/* stale: redone */
	p = got(b, "x");
	CHECK(p.dns && !strcmp(p.dns, "9.9.9.9") && p.persistent_keepalive == 20);
	model_peer_free(&p);
	CHECK_INT(control_peer_update(a, "y", &u_r1, &test_actor, &e), 0);
	CHECK_INT(control_reload(b, &test_actor, &e), 0);
	CHECK_INT(control_peer_update(b, "x", &u_r1, &test_actor, &e), -EINVAL);
	CHECK(strstr(e.msg, "of peer \"y\""));
	control_close(b);
	teardown(a, st);
}

static void test_reopen_same_identity(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct control *again;
	struct control_error e;
	struct uapi_config a, b;

	CHECK_INT(add_simple(ctl, "a"), 0);
	CHECK_INT(add_simple(ctl, "b"), 0);
	CHECK_INT(control_peer_set_enabled(ctl, "b", false, NULL, &test_actor, &e), 0);
	CHECK_INT(control_open(st, &again, &e), 0);
	uapi_config_init(&a);
	uapi_config_init(&b);
	CHECK_INT(control_desired_config(ctl, &a), 0);
	CHECK_INT(control_desired_config(again, &b), 0);
	CHECK_MEM(a.private_key, b.private_key, 32);
	CHECK_INT(a.n_peers, 1);
	CHECK_INT(b.n_peers, 1);
	if (a.n_peers == 1 && b.n_peers == 1)
		CHECK_MEM(a.peers[0].public_key, b.peers[0].public_key, 32);
	CHECK_INT(control_peer_count(again), 2);
	uapi_config_free(&a);
	uapi_config_free(&b);
	control_close(again);
	teardown(ctl, st);
}

/* Two controls on one store, each with its own memory: two processes. */
static void test_two_writers(void)
{
	struct store *st;
	struct control *a = setup(&st, NULL), *b;
	struct control_error e;
	struct peer_add_result r;
	struct peer_record pa, pb;
	char *j;

	CHECK_INT(control_open(st, &b, &e), 0);
	/* both allocate with the same view: b must not reuse a's address */
	CHECK_INT(add_simple(a, "from-a"), 0);
	CHECK_INT(add_simple(b, "from-b"), 0);
	CHECK_INT(control_peer_get(b, "from-a", &pa, &e), 0);	/* b re-read the store */
	CHECK_INT(control_peer_get(b, "from-b", &pb, &e), 0);
	CHECK(pa.ipv4.s_addr != pb.ipv4.s_addr);
	CHECK(memcmp(&pa.ipv6, &pb.ipv6, 16) != 0);
	model_peer_free(&pa);
	model_peer_free(&pb);
	/* the same name from the stale side: refused */
	CHECK_INT(add(a, "from-b", false, &r, &e), -EEXIST);
	/* a rotates, b (stale) disables: b's write must keep a's new key */
	CHECK_INT(control_reload(a, &test_actor, &e), 0);
	CHECK_INT(control_peer_rotate(a, "from-b", false, &r, &test_actor, &e), 0);
	CHECK_INT(control_peer_set_enabled(b, "from-b", false, NULL, &test_actor, &e), 0);
	j = raw(st, "peers/from-b");
	CHECK(j != NULL);
	if (j) {
		char b64[45];
		key_to_base64(b64, r.peer.public_key);
		CHECK(strstr(j, b64) && strstr(j, "\"enabled\":false"));
		free(j);
	}
	control_peer_add_result_free(&r);
	/* a revokes what b still has in memory: b's revoke says so */
	CHECK_INT(control_peer_revoke(a, "from-a", &test_actor, &e), 0);
	CHECK_INT(control_peer_revoke(b, "from-a", &test_actor, &e), -ENOENT);
	control_close(b);
	teardown(a, st);
}


struct adder {
	struct control *ctl;
	const char *prefix;
	int n, failures;
};

static void *add_many(void *arg)
{
	struct adder *a = arg;
	int i;

	for (i = 0; i < a->n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%s%d", a->prefix, i);
		if (add_simple(a->ctl, name) != 0)
			a->failures++;
	}
	return NULL;
}

/* Every peer in the store has its own addresses. */
static void check_unique(struct store *st, size_t want)
{
	struct control *ctl;
	struct control_error e;
	struct peer_record *l;
	size_t n, i, j;

	CHECK_INT(control_open(st, &ctl, &e), 0);
	CHECK_INT(control_peer_list(ctl, &l, &n), 0);
	CHECK_INT(n, want);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++) {
			if (l[i].ipv4.s_addr == l[j].ipv4.s_addr ||
			    !memcmp(&l[i].ipv6, &l[j].ipv6, 16)) {
				fprintf(stderr, "  %s and %s share %s\n", l[i].name, l[j].name,
					ip4(&l[i].ipv4));
				CHECK(!"unique addresses");
				i = n;
				break;
			}
		}
	model_peer_array_free(l, n);
	control_close(ctl);
}

/* Threads on one control: the mutex serialises them. */
static void test_threads_one_control(void)
{
	struct store *st;
	struct control *ctl = setup(&st, "10.60.0.0/24");
	struct adder a[4] = { { ctl, "a", 25, 0 }, { ctl, "b", 25, 0 }, { ctl, "c", 25, 0 },
			      { ctl, "d", 25, 0 } };
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++)
		CHECK_INT(pthread_create(&t[i], NULL, add_many, &a[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(a[i].failures, 0);
	}
	CHECK_INT(control_peer_count(ctl), 100);
	check_unique(st, 100);
	teardown(ctl, st);
}

/* Two controls racing on one store: two processes.  Store CAS, re-read
 * and retry keep every add and every address unique. */
static void test_two_writers_racing(void)
{
	struct store *st;
	struct control *c1 = setup(&st, "10.61.0.0/24"), *c2;
	struct control_error e;
	struct adder a[2] = { { c1, "x", 40, 0 }, { NULL, "y", 40, 0 } };
	pthread_t t[2];
	int i;

	CHECK_INT(control_open(st, &c2, &e), 0);
	a[1].ctl = c2;
	for (i = 0; i < 2; i++)
		CHECK_INT(pthread_create(&t[i], NULL, add_many, &a[i]), 0);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(a[i].failures, 0);
	}
	check_unique(st, 80);
	control_close(c2);
	teardown(c1, st);
}

static void test_corrupt_record(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL), *again;
	struct control_error e;
	const char junk[] = "{\"name\":\"x\",\"public_key\":\"nope\"}";

	CHECK_INT(store_put(st, "peers/x", (const uint8_t *)junk, strlen(junk), STORE_NEW, NULL), 0);
	CHECK_INT(control_open(st, &again, &e), -EBADMSG);
	CHECK(strstr(e.msg, "record \"peers/x\" is not usable") != NULL);
	CHECK(strstr(e.msg, "public_key") != NULL);
	/* a record under the wrong name */
	CHECK_INT(store_delete(st, "peers/x", STORE_ANY_VERSION), 0);
	CHECK_INT(add_simple(ctl, "real"), 0);
	{
		uint8_t *v;
		size_t len;
		CHECK_INT(store_get(st, "peers/real", &v, &len, NULL), 0);
		CHECK_INT(store_put(st, "peers/other", v, len, STORE_NEW, NULL), 0);
		store_value_free(v, len);
	}
	CHECK_INT(control_open(st, &again, &e), -EBADMSG);
	CHECK(strstr(e.msg, "record \"peers/other\" holds the peer \"real\"") != NULL);
	teardown(ctl, st);
}

/* The server record a fresh store gets from init with these options
 * (NAME VALUE pairs, NULL-terminated); the control is left open in *ctl. */
static struct server_record init_with(struct store **st, struct control **ctl, const char *const *kv)
{
	struct server_options o;
	struct server_record s;
	struct control_error e;

	*st = new_store();
	server_options_init(&o);
	for (; kv && kv[0]; kv += 2)
		if (server_options_set(&o, kv[0], kv[1], &e))
			abort();
	if (control_init_server(*st, &o, &e) || control_open(*st, ctl, &e) ||
	    control_get_server(*ctl, &s, NULL)) {
		fprintf(stderr, "init_with: %s\n", e.msg);
		abort();
	}
	server_options_free(&o);
	return s;
}

/* A new store gives full-tunnel clients a working internet: NAT on, DNS
 * the server's tunnel IPv4 (where the relay answers); the options turn
 * either off; an existing record keeps what it has. */
static void test_new_store_defaults(void)
{
	static const char *const subnet[] = { "subnet", "10.99.0.0/16", NULL };
	static const char *const off[] = { "nat", "false", "dns", "none", NULL };
	static const char *const other_dns[] = { "dns", "1.1.1.1, example.com", "nat", "off", NULL };
	struct store *st;
	struct control *ctl;
	struct server_record s;
	struct server_options o;
	struct control_error e;
	struct peer_add_result res;
	char *j;

	s = init_with(&st, &ctl, NULL);
	CHECK(s.nat);
	CHECK(s.dns && strcmp(s.dns, "10.13.13.1") == 0);
	model_server_free(&s);
	j = raw(st, "server");
	CHECK(j && strstr(j, "\"nat\":true") && strstr(j, "\"dns\":\"10.13.13.1\""));
	free(j);
	/* the phone's config: full tunnel, DNS the server's IPv4 alone */
	CHECK_INT(add(ctl, "phone", false, &res, &e), 0);
	CHECK(res.client_config && strstr(res.client_config, "\nDNS = 10.13.13.1\n") &&
	      strstr(res.client_config, "\nAllowedIPs = 0.0.0.0/0, ::/0\n"));
	control_peer_add_result_free(&res);
	teardown(ctl, st);

	/* control_init_server(NULL options) is the same */
	st = new_store();
	CHECK_INT(control_init_server(st, NULL, &e), 0);
	CHECK_INT(control_open(st, &ctl, &e), 0);
	CHECK_INT(control_get_server(ctl, &s, NULL), 0);
	CHECK(s.nat && s.dns && strcmp(s.dns, "10.13.13.1") == 0);
	model_server_free(&s);
	teardown(ctl, st);

	/* --subnet: the DNS default is the server's address in that subnet */
	s = init_with(&st, &ctl, subnet);
	CHECK(s.dns && strcmp(s.dns, "10.99.0.1") == 0);
	CHECK(strcmp(ip4(&s.ipv4), "10.99.0.1") == 0);
	model_server_free(&s);
	/* moving the subnet while no peer exists takes "auto" along */
	server_options_init(&o);
	CHECK_INT(server_options_set(&o, "subnet", "10.50.0.0/24", &e), 0);
	CHECK_INT(control_apply_options(ctl, &o, &test_actor, &e), 0);
	server_options_free(&o);
	CHECK_INT(control_get_server(ctl, &s, NULL), 0);
	CHECK(s.dns && strcmp(s.dns, "10.50.0.1") == 0);
	model_server_free(&s);
	teardown(ctl, st);

	/* --no-nat --dns none: neither */
	s = init_with(&st, &ctl, off);
	CHECK(!s.nat);
	CHECK(s.dns == NULL);
	model_server_free(&s);
	/* an existing record keeps what it has: up without options */
	server_options_init(&o);
	n_events = 0;
	CHECK_INT(control_apply_options(ctl, &o, &test_actor, &e), 0);
	CHECK_INT(n_events, 0);
	CHECK_INT(control_get_server(ctl, &s, NULL), 0);
	CHECK(!s.nat && s.dns == NULL);
	model_server_free(&s);
	/* `up --nat` once turns it on, and the store keeps it */
	CHECK_INT(server_options_set(&o, "nat", "true", &e), 0);
	CHECK_INT(control_apply_options(ctl, &o, &test_actor, &e), 0);
	server_options_free(&o);
	control_close(ctl);
	CHECK_INT(control_open(st, &ctl, &e), 0);
	CHECK_INT(control_get_server(ctl, &s, NULL), 0);
	CHECK(s.nat && s.dns == NULL);
	model_server_free(&s);
	teardown(ctl, st);

	/* an import moves the server to the config's address: "auto" follows */
	{
		static const char conf[] = "[Interface]\nAddress = 10.44.0.1/24\nListenPort = 51820\n"
					   "PrivateKey = " K1 "\n";
		char **w = NULL;
		size_t nw = 0, i;

		s = init_with(&st, &ctl, NULL);
		model_server_free(&s);
		CHECK_INT(control_import_wgconf(ctl, conf, strlen(conf), &w, &nw, &test_actor, &e), 0);
		for (i = 0; i < nw; i++)
			free(w[i]);
		free(w);
		CHECK_INT(control_get_server(ctl, &s, NULL), 0);
		CHECK(s.nat && s.dns && strcmp(s.dns, "10.44.0.1") == 0);
		model_server_free(&s);
		teardown(ctl, st);
	}

	/* DNS servers of one's own stay where they are when the subnet moves */
	s = init_with(&st, &ctl, other_dns);
	CHECK(!s.nat && s.dns && strcmp(s.dns, "1.1.1.1, example.com") == 0);
	model_server_free(&s);
	server_options_init(&o);
	CHECK_INT(server_options_set(&o, "subnet", "10.51.0.0/24", &e), 0);
	CHECK_INT(control_apply_options(ctl, &o, &test_actor, &e), 0);
	server_options_free(&o);
	CHECK_INT(control_get_server(ctl, &s, NULL), 0);
	CHECK(s.dns && strcmp(s.dns, "1.1.1.1, example.com") == 0);
	model_server_free(&s);
	teardown(ctl, st);
}

static void test_apply_options(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	char *env[] = { "PEERS=2", "SERVERURL=wg.example.org", "SERVERPORT=443", "PEERDNS=auto",
			"PERSISTENTKEEPALIVE_PEERS=2",
			"SERVER_ALLOWEDIPS_PEER_peer1=192.168.50.0/24", NULL };
	struct server_options o;
	struct control_error e;
	struct server_record s;
	struct peer_record p;
	char *cfg;

	server_options_init(&o);
	CHECK_INT(envconf_load(&o, env, &e), 0);
	CHECK_INT(control_apply_options(ctl, &o, &test_actor, &e), 0);
	CHECK_INT(control_peer_count(ctl), 2);
	CHECK_INT(control_get_server(ctl, &s, NULL), 0);
	CHECK(s.endpoint && strcmp(s.endpoint, "wg.example.org:443") == 0);
	CHECK(s.dns && strcmp(s.dns, "10.13.13.1") == 0);
	CHECK_INT(s.listen_port, 51820);
	model_server_free(&s);
	/* PEERS peers keep their keys: their configs can be shown again */
	CHECK_INT(control_peer_client_config(ctl, "peer1", &cfg, NULL, &e), 0);
	CHECK(cfg && strstr(cfg, "Endpoint = wg.example.org:443") && strstr(cfg, "DNS = 10.13.13.1"));
	render_free(cfg);
	CHECK_INT(control_peer_get(ctl, "peer1", &p, &e), 0);
	CHECK(p.n_routes == 1 && p.persistent_keepalive == 0);
	model_peer_free(&p);
	CHECK_INT(control_peer_get(ctl, "peer2", &p, &e), 0);
	CHECK_INT(p.persistent_keepalive, 25);
	model_peer_free(&p);
	/* applying again changes nothing and adds no event */
	n_events = 0;
	CHECK_INT(control_apply_options(ctl, &o, &test_actor, &e), 0);
	CHECK_INT(n_events, 0);
	CHECK_INT(control_peer_count(ctl), 2);
	server_options_free(&o);

	/* moving the subnet under existing peers is refused */
	server_options_init(&o);
	CHECK_INT(server_options_set(&o, "subnet", "10.99.0.0/24", &e), 0);
	CHECK_INT(control_apply_options(ctl, &o, &test_actor, &e), -EBUSY);
	CHECK(strstr(e.msg, "the subnet is 10.13.13.0/24 and 2 peers have addresses in it") != NULL);
	CHECK(strcmp(e.field, "subnet") == 0);
	server_options_free(&o);

	/* a port change is an event */
	server_options_init(&o);
	CHECK_INT(server_options_set(&o, "port", "51999", &e), 0);
	n_events = 0;
	CHECK_INT(control_apply_options(ctl, &o, &test_actor, &e), 0);
	CHECK_INT(n_events, 1);
	CHECK(events[0].ev == CONTROL_EVENT_SERVER_UPDATE);
	server_options_free(&o);
	teardown(ctl, st);
}

static const char linuxserver_conf[] =
	"[Interface]\n"
	"Address = 10.13.13.1\n"
	"ListenPort = 51820\n"
	"PrivateKey = " K1 "\n"
	"PostUp = iptables -A FORWARD -i %i -j ACCEPT\n"
	"\n"
	"[Peer]\n"
	"# peer_phone\n"
	"PublicKey = " K3 "\n"
	"PresharedKey = " K4 "\n"
	"AllowedIPs = 10.13.13.2/32\n"
	"\n"
	"[Peer]\n"
	"PublicKey = " K5 "\n"
	"AllowedIPs = 10.13.13.3/32, 192.168.1.0/24\n"
	"Endpoint = 198.51.100.4:51820\n";

static void test_import(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct control_error e;
	struct server_record s;
	struct peer_record p;
	uint8_t pub[32], want_pub[32], k1[32];
	char **w;
	size_t nw, i;
	char *out;

	CHECK_INT(control_import_wgconf(ctl, linuxserver_conf, strlen(linuxserver_conf), &w, &nw, &test_actor,
					&e), 0);
	CHECK_INT(control_get_server(ctl, &s, pub), 0);
	memset(k1, 1, 32);
	CHECK(x25519_public_from_secret(want_pub, k1));
	CHECK_MEM(pub, want_pub, 32);	/* the imported identity */
	CHECK_INT(s.ipv4_prefix, 24);
	model_server_free(&s);
	CHECK_INT(control_peer_get(ctl, "phone", &p, &e), 0);
	CHECK(strcmp(ip4(&p.ipv4), "10.13.13.2") == 0 && !p.has_ipv6);
	model_peer_free(&p);
	CHECK_INT(control_peer_get(ctl, "peer1", &p, &e), 0);	/* no comment: peerN */
	CHECK(strcmp(ip4(&p.ipv4), "10.13.13.3") == 0 && p.n_routes == 1);
	model_peer_free(&p);
	CHECK_INT(nw, 3);
	if (nw == 3) {
		CHECK(strstr(w[0], "PostUp is ignored") != NULL);
		CHECK(strstr(w[1], "no prefix; the subnet is taken as 10.13.13.1/24") != NULL);
		CHECK(strstr(w[2], "Endpoint of peer \"peer1\" is not kept") != NULL);
	}
	for (i = 0; i < nw; i++)
		free(w[i]);
	free(w);
	CHECK(n_events > 0 && events[n_events - 1].ev == CONTROL_EVENT_IMPORT);
	/* again: the same peers are skipped, nothing fails */
	CHECK_INT(control_import_wgconf(ctl, linuxserver_conf, strlen(linuxserver_conf), NULL,
					NULL, &test_actor, &e), 0);
	CHECK_INT(control_peer_count(ctl), 2);
	/* the next add continues after the imported addresses */
	CHECK_INT(add_simple(ctl, "new"), 0);
	CHECK_INT(control_peer_get(ctl, "new", &p, &e), 0);
	CHECK(strcmp(ip4(&p.ipv4), "10.13.13.4") == 0);
	model_peer_free(&p);
	/* the export holds the imported key and peers */
	CHECK_INT(control_export(ctl, &out), 0);
	CHECK(strstr(out, "PrivateKey = " K1) && strstr(out, "# Name = phone") &&
	      strstr(out, "PresharedKey = " K4) && strstr(out, "192.168.1.0/24"));
	render_free(out);
	teardown(ctl, st);
}

static void test_import_errors(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct control_error e;
	const char clash[] = "[Interface]\nPrivateKey = " K1 "\nAddress = 10.13.13.1/24\n"
			     "# Name = phone\n[Peer]\nPublicKey = " K6 "\nAllowedIPs = 10.13.13.9/32\n";
	const char same_key[] = "[Interface]\nPrivateKey = " K1 "\nAddress = 10.13.13.1/24\n"
				"# Name = tablet\n[Peer]\nPublicKey = " K3 "\nAllowedIPs = 10.13.13.7/32\n";
	const char dup_names[] = "[Interface]\nPrivateKey = " K1 "\nAddress = 10.1.0.1/24\n"
				 "# a\n[Peer]\nPublicKey = " K4 "\n# a\n[Peer]\nPublicKey = " K6 "\n";
	const char no_key[] = "[Interface]\nAddress = 10.1.0.1/24\n";
	const char no_v4[] = "[Interface]\nPrivateKey = " K1 "\nAddress = fd00::1/64\n";
	const char bad_line[] = "[Interface]\nPrivateKey = " K1 "\nAddress = 10.1.0.1/24\n"
				"[Peer]\nPublicKey = " K3 "\nAllowedIPs = 10.1.0.300/32\n";

	CHECK_INT(control_import_wgconf(ctl, linuxserver_conf, strlen(linuxserver_conf), NULL,
					NULL, &test_actor, &e), 0);
	CHECK_INT(control_import_wgconf(ctl, clash, strlen(clash), NULL, NULL, &test_actor, &e), -EEXIST);
	CHECK(strstr(e.msg, "line 5: peer \"phone\" already exists with another key") != NULL);
	CHECK_INT(control_import_wgconf(ctl, same_key, strlen(same_key), NULL, NULL, &test_actor, &e), -EEXIST);
	CHECK(strstr(e.msg, "this peer's PublicKey is already the key of peer \"phone\"") != NULL);
	CHECK_INT(control_import_wgconf(ctl, dup_names, strlen(dup_names), NULL, NULL, &test_actor, &e), -EINVAL);
	CHECK(strstr(e.msg, "the peer name \"a\" is also the name of the peer of line 5") != NULL);
	CHECK_INT(control_import_wgconf(ctl, no_key, strlen(no_key), NULL, NULL, &test_actor, &e), -EINVAL);
	CHECK(strstr(e.msg, "no PrivateKey in [Interface]") != NULL);
	CHECK_INT(control_import_wgconf(ctl, no_v4, strlen(no_v4), NULL, NULL, &test_actor, &e), -EINVAL);
	CHECK(strstr(e.msg, "no IPv4 Address") != NULL);
	CHECK_INT(control_import_wgconf(ctl, bad_line, strlen(bad_line), NULL, NULL, &test_actor, &e), -EINVAL);
	CHECK(strstr(e.msg, "line 6: AllowedIPs \"10.1.0.300/32\" is not a prefix") != NULL);
	/* nothing of the failed imports was stored */
	CHECK_INT(control_peer_count(ctl), 2);
	teardown(ctl, st);
}

static void test_import_address_clash(void)
{
	struct store *st;
	struct control *ctl = setup(&st, NULL);
	struct control_error e;
	const char text[] = "[Interface]\nPrivateKey = " K1 "\nAddress = 10.13.13.1/24\n"
			    "[Peer]\nPublicKey = " K3 "\nAllowedIPs = 10.13.13.1/32\n";
	const char noaddr[] = "[Interface]\nPrivateKey = " K1 "\nAddress = 10.13.13.1/24\n"
			      "# Name = site\n[Peer]\nPublicKey = " K5 "\nAllowedIPs = 172.20.0.0/16\n";
	struct peer_record p;

	CHECK_INT(control_import_wgconf(ctl, text, strlen(text), NULL, NULL, &test_actor, &e), -EEXIST);
	CHECK(strstr(e.msg, "line 4: peer \"peer1\" has the address 10.13.13.1") != NULL);
	CHECK(strstr(e.msg, "of the server") != NULL);
	CHECK_INT(control_peer_count(ctl), 0);
	/* a gateway with only a subnet gets a free address */
	CHECK_INT(control_import_wgconf(ctl, noaddr, strlen(noaddr), NULL, NULL, &test_actor, &e), 0);
	CHECK_INT(control_peer_get(ctl, "site", &p, &e), 0);
	CHECK(strcmp(ip4(&p.ipv4), "10.13.13.2") == 0 && p.n_routes == 1 && p.has_ipv6);
	model_peer_free(&p);
	teardown(ctl, st);
}

static void test_sealed_store(void)
{
	char dir[] = "/tmp/zwg-control-test.XXXXXX", uri[64], err[256];
	struct store_key *key = store_key_new();
	struct store *st = NULL;
	struct control *ctl = NULL;
	struct control_error e;
	struct peer_add_result r;
	struct uapi_config a, b;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(uri, sizeof(uri), "sealed:%s/store", dir);
	CHECK(crypto_random(key->bytes, sizeof(key->bytes)));
	if (store_create(uri, key, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "  sealed store: %s\n", err);
		CHECK(!"store_create");
		goto out;
	}
	CHECK_INT(control_init_server(st, NULL, &e), 0);
	CHECK_INT(control_open(st, &ctl, &e), 0);
	CHECK_INT(add(ctl, "phone", false, &r, &e), 0);
	uapi_config_init(&a);
	CHECK_INT(control_desired_config(ctl, &a), 0);
	control_close(ctl);
	store_close(st);
	/* a restart: the same identity and peer come back from disk */
	CHECK_INT(store_open(uri, key, &st, err, sizeof(err)), 0);
	CHECK_INT(control_open(st, &ctl, &e), 0);
	uapi_config_init(&b);
	CHECK_INT(control_desired_config(ctl, &b), 0);
	CHECK_MEM(a.private_key, b.private_key, 32);
	CHECK(b.n_peers == 1 && !memcmp(b.peers[0].public_key, r.peer.public_key, 32));
	uapi_config_free(&a);
	uapi_config_free(&b);
	control_peer_add_result_free(&r);
	control_close(ctl);
	store_close(st);
out:
	store_key_free(key);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "  could not remove %s\n", dir);
	}
}

int main(void)
{
	if (!crypto_init())
		return 1;
	RUN(test_init);
	RUN(test_add);
	RUN(test_add_errors);
	RUN(test_one_line_inputs);
	RUN(test_keep_key);
	RUN(test_list_get);
	RUN(test_disable_enable);
	RUN(test_rotate);
	RUN(test_revoke_reuses_address);
	RUN(test_full_subnet);
	RUN(test_expiry);
	RUN(test_expiry_callback);
	RUN(test_desired_config);
	RUN(test_changes);
	RUN(test_update_each_field);
	RUN(test_update_refused);
	RUN(test_update_expired_peer);
	RUN(test_update_two_writers);
	RUN(test_reopen_same_identity);
	RUN(test_two_writers);
	RUN(test_threads_one_control);
	RUN(test_two_writers_racing);
	RUN(test_corrupt_record);
	RUN(test_new_store_defaults);
	RUN(test_apply_options);
	RUN(test_import);
	RUN(test_import_errors);
	RUN(test_import_address_clash);
	RUN(test_sealed_store);
	TEST_EXIT();
}
