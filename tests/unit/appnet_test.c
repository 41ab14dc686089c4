/*
 * appnet_test.c - application networks (appnet.h): the name rule, the
 * ULA /48, the /24 and /64 each app takes and the port, checked against
 * a naive reference on random sets of used subnets; and the peer record
 * `zerowg app link` adds (control.h: a given public key and preshared
 * key, an endpoint), through the store and into the desired config.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "appnet.h"
#include "control.h"
#include "crypto.h"
#include "store.h"
#include "test.h"

static struct ip_prefix pfx(const char *text)
{
	struct ip_prefix p;

	memset(&p, 0, sizeof(p));
	if (model_parse_prefix(text, &p, true) < 0)
		fprintf(stderr, "  bad prefix in test: %s\n", text);
	return p;
}

static bool is(const struct ip_prefix *p, const char *text)
{
	char b[MODEL_PREFIX_STRLEN];

	model_format_prefix(p, b, sizeof(b));
	if (strcmp(b, text))
		fprintf(stderr, "  got %s, want %s\n", b, text);
	return strcmp(b, text) == 0;
}

static void test_names(void)
{
	static const char *const good[] = { "a", "0", "web", "db-1", "a_b", "abcdefghijklmno" };
	static const char *const bad[] = {
		"", "-a", "_a", "A", "Web", "a.b", "a b", "a/b", "abcdefghijklmnop", "é", "a\n",
		"..", ".", "a:b",
	};
	struct control_error e;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		control_error_clear(&e);
		CHECK(appnet_name_valid(good[i], &e));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		control_error_clear(&e);
		CHECK(!appnet_name_valid(bad[i], &e));
		CHECK(e.msg[0] != '\0');
		CHECK(strcmp(e.field, "name") == 0);
	}
	/* The bad name is quoted; a long one only in part. */
	control_error_clear(&e);
	CHECK(!appnet_name_valid("Web", &e));
	CHECK(strstr(e.msg, "\"Web\"") != NULL);
	CHECK(!appnet_name_valid(NULL, &e));
}

static void test_ula(void)
{
	static const uint8_t gid[5] = { 0x12, 0x34, 0x56, 0x78, 0x9a };
	struct ip_prefix p, q;

	appnet_ula48(gid, &p);
	CHECK(is(&p, "fd12:3456:789a::/48"));
	CHECK(appnet_ula48_valid(&p));
	q = pfx("fc12:3456:789a::/48");	/* L = 0: not locally assigned */
	CHECK(!appnet_ula48_valid(&q));
	q = pfx("fd12:3456:789a::/64");
	CHECK(!appnet_ula48_valid(&q));
	q = pfx("fd12:3456:789a:1::/48");	/* host bits */
	CHECK(!appnet_ula48_valid(&q));
	q = pfx("10.0.0.0/8");
	CHECK(!appnet_ula48_valid(&q));
}

static void test_ipv4(void)
{
	struct ip_prefix pool = pfx(APPNET_IPV4_POOL), out, used[4];

	CHECK_INT(appnet_next_ipv4(&pool, NULL, 0, &out), 0);
	CHECK(is(&out, "10.14.1.0/24"));
	used[0] = pfx("10.14.1.0/24");
	used[1] = pfx("10.14.3.0/24");
	CHECK_INT(appnet_next_ipv4(&pool, used, 2, &out), 0);
	CHECK(is(&out, "10.14.2.0/24"));	/* a hole is reused */
	/* A wider subnet given with --subnet covers several /24s. */
	used[2] = pfx("10.14.0.0/22");
	CHECK_INT(appnet_next_ipv4(&pool, used, 3, &out), 0);
	CHECK(is(&out, "10.14.4.0/24"));
	/* IPv6 entries do not count. */
	used[3] = pfx("fd00::/8");
	CHECK_INT(appnet_next_ipv4(&pool, used + 3, 1, &out), 0);
	CHECK(is(&out, "10.14.1.0/24"));
	/* Full, and bad pools. */
	used[0] = pfx("10.14.0.0/16");
	CHECK_INT(appnet_next_ipv4(&pool, used, 1, &out), -ENOSPC);
	used[0] = pfx("10.0.0.0/8");
	CHECK_INT(appnet_next_ipv4(&pool, used, 1, &out), -ENOSPC);
	pool = pfx("10.14.0.0/25");
	CHECK_INT(appnet_next_ipv4(&pool, NULL, 0, &out), -EINVAL);
	pool = pfx("fd00::/48");
	CHECK_INT(appnet_next_ipv4(&pool, NULL, 0, &out), -EINVAL);
	/* A /24 pool has one subnet: itself. */
	pool = pfx("192.168.5.0/24");
	CHECK_INT(appnet_next_ipv4(&pool, NULL, 0, &out), 0);
	CHECK(is(&out, "192.168.5.0/24"));
}

static void test_ipv6(void)
{
	struct ip_prefix ula = pfx("fd12:3456:789a::/48"), out, used[3];

	CHECK_INT(appnet_next_ipv6(&ula, NULL, 0, &out), 0);
	CHECK(is(&out, "fd12:3456:789a:1::/64"));
	used[0] = pfx("fd12:3456:789a:1::/64");
	used[1] = pfx("10.14.2.0/24");
	used[2] = pfx("fd12:3456:789a:3::/64");
	CHECK_INT(appnet_next_ipv6(&ula, used, 3, &out), 0);
	CHECK(is(&out, "fd12:3456:789a:2::/64"));
	used[0] = ula;
	CHECK_INT(appnet_next_ipv6(&ula, used, 1, &out), -ENOSPC);
	used[0] = pfx("fd12:3456:789a::/49");	/* half of it */
	CHECK_INT(appnet_next_ipv6(&ula, used, 1, &out), 0);
	CHECK(is(&out, "fd12:3456:789a:8000::/64"));
	ula = pfx("fd12:3456:789a::/56");
	CHECK_INT(appnet_next_ipv6(&ula, NULL, 0, &out), -EINVAL);
	appnet_first_host(&out, &out);
	out.len = 64;
	CHECK(is(&out, "fd12:3456:789a:8000::1/64"));
}

/* The reference: every /24 of 10.14/16 from .1, tested one by one
 * against every used prefix by address arithmetic. */
static int naive_next_ipv4(const uint32_t *used_net, const uint8_t *used_len, size_t n)
{
	for (uint32_t i = 1; i < 256; i++) {
		uint32_t lo = 0x0a0e0000u | (i << 8), hi = lo | 0xff;
		bool hit = false;

		for (size_t k = 0; k < n && !hit; k++) {
			uint32_t mask = used_len[k] ? ~0u << (32 - used_len[k]) : 0;
			uint32_t ulo = used_net[k] & mask, uhi = ulo | ~mask;
			hit = !(uhi < lo || ulo > hi);
		}
		if (!hit)
			return (int)i;
	}
	return -1;
}

static void test_ipv4_against_reference(void)
{
	struct ip_prefix pool = pfx(APPNET_IPV4_POOL), used[40], out;
	uint32_t nets[40];
	uint8_t lens[40];

	srandom(4193);
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(random() % 40);
		int want, ret;

		for (size_t k = 0; k < n; k++) {
			lens[k] = (uint8_t)(16 + random() % 13);	/* /16 .. /28 */
			if (random() % 8 == 0)
				lens[k] = 24;
			nets[k] = 0x0a0e0000u | ((uint32_t)random() & 0xffff);
			if (random() % 16 == 0)
				nets[k] = (uint32_t)random();		/* elsewhere */
			nets[k] &= ~0u << (32 - lens[k]);
			memset(&used[k], 0, sizeof(used[k]));
			used[k].family = AF_INET;
			used[k].len = lens[k];
			used[k].addr.v4.s_addr = htonl(nets[k]);
		}
		want = naive_next_ipv4(nets, lens, n);
		ret = appnet_next_ipv4(&pool, used, n, &out);
		if (want < 0) {
			CHECK_INT(ret, -ENOSPC);
		} else {
			CHECK_INT(ret, 0);
			CHECK_INT(ntohl(out.addr.v4.s_addr), 0x0a0e0000u | ((uint32_t)want << 8));
			CHECK_INT(out.len, 24);
		}
	}
}

static bool odd_is_free(uint16_t port, void *arg)
{
	(*(int *)arg)++;
	return port % 2 == 1;
}

static void test_ports(void)
{
	uint16_t used[3] = { 51900, 51901, 51903 }, out = 0;
	int calls = 0;

	CHECK_INT(appnet_next_port(51900, 51999, NULL, 0, NULL, NULL, &out), 0);
	CHECK_INT(out, 51900);
	CHECK_INT(appnet_next_port(51900, 51999, used, 2, NULL, NULL, &out), 0);
	CHECK_INT(out, 51902);
	/* Taken by an app, or busy on the host: skipped. */
	CHECK_INT(appnet_next_port(51900, 51999, used, 3, odd_is_free, &calls, &out), 0);
	CHECK_INT(out, 51905);
	CHECK_INT(appnet_next_port(51900, 51901, used, 2, NULL, NULL, &out), -ENOSPC);
	/* The top of the range ends the search (no wrap to 0). */
	CHECK_INT(appnet_next_port(65535, 65535, NULL, 0, NULL, NULL, &out), 0);
	CHECK_INT(out, 65535);
	used[0] = 65535;
	CHECK_INT(appnet_next_port(65535, 65535, used, 1, NULL, NULL, &out), -ENOSPC);
}

/* ----------------------------------------- the peer `app link` adds -- */

static int open_memory(struct store **st, struct control **ctl)
{
	struct control_error e;
	struct server_options o;
	int ret;

	server_options_init(&o);
	control_error_clear(&e);
	ret = store_create("memory:", NULL, st, NULL, 0);
	if (ret == 0 && (ret = server_options_set(&o, "subnet", "10.14.1.0/24", &e)) == 0)
		ret = control_init_server(*st, &o, &e);
	if (ret == 0)
		ret = control_open(*st, ctl, &e);
	server_options_free(&o);
	if (ret)
		fprintf(stderr, "  setup: %s\n", e.msg);
	return ret;
}

static void test_link_peer(void)
{
	const char *routes[2] = { "10.14.2.0/24", "fd12:3456:789a:2::/64" };
	uint8_t pub[MODEL_KEY_LEN], psk[MODEL_KEY_LEN];
	struct peer_add_request req;
	struct peer_add_result res;
	struct control_error e;
	struct store *st = NULL;
	struct control *ctl = NULL;
	struct uapi_config cfg;
	struct peer_record got;
	char ep[64];

	if (open_memory(&st, &ctl)) {
		CHECK(0);
		return;
	}
	memset(pub, 0x42, sizeof(pub));
	pub[0] = 1;
	memset(psk, 0x17, sizeof(psk));
	memset(&req, 0, sizeof(req));
	req.name = "b";
	req.routes = routes;
	req.n_routes = 2;
	req.persistent_keepalive = -1;
	req.public_key = pub;
	req.preshared_key = psk;
	req.endpoint = "127.0.0.1:51901";
	control_error_clear(&e);
	CHECK_INT(control_peer_add(ctl, &req, &res, NULL, &e), 0);
	/* No key of its own to show: no client config. */
	CHECK(res.client_config == NULL);
	CHECK_MEM(res.peer.public_key, pub, MODEL_KEY_LEN);
	control_peer_add_result_free(&res);

	/* Stored as given, and back after a reload from the store. */
	control_error_clear(&e);
	CHECK_INT(control_reload(ctl, NULL, &e), 0);
	CHECK_INT(control_peer_get(ctl, "b", &got, &e), 0);
	CHECK_MEM(got.public_key, pub, MODEL_KEY_LEN);
	CHECK(got.endpoint && strcmp(got.endpoint, "127.0.0.1:51901") == 0);
	CHECK_INT(got.n_routes, 2);
	model_peer_free(&got);

	/* The device gets the endpoint and the preshared key. */
	uapi_config_init(&cfg);
	CHECK_INT(control_desired_config(ctl, &cfg), 0);
	CHECK_INT(cfg.n_peers, 1);
	if (cfg.n_peers == 1) {
		CHECK(cfg.peers[0].has_endpoint);
		uapi_format_endpoint(&cfg.peers[0].endpoint, ep, sizeof(ep));
		CHECK(strcmp(ep, "127.0.0.1:51901") == 0);
		CHECK_MEM(cfg.peers[0].preshared_key, psk, MODEL_KEY_LEN);
	}
	uapi_config_free(&cfg);

	/* One key, one peer. */
	req.name = "b2";
	req.routes = NULL;
	req.n_routes = 0;
	control_error_clear(&e);
	CHECK_INT(control_peer_add(ctl, &req, &res, NULL, &e), -EEXIST);
	CHECK(strcmp(e.field, "public_key") == 0);
	CHECK(strstr(e.msg, "\"b\"") != NULL);
	/* A bad endpoint is refused before anything is stored. */
	pub[0] = 2;
	req.endpoint = "127.0.0.1:99999";
	control_error_clear(&e);
	CHECK_INT(control_peer_add(ctl, &req, &res, NULL, &e), -EINVAL);
	CHECK(strcmp(e.field, "endpoint") == 0);
	CHECK_INT(control_peer_count(ctl), 1);
	/* An exit peer (0.0.0.0/0) is not a route the model takes: it
	 * overlaps the tunnel subnet. */
	routes[0] = "0.0.0.0/0";
	req.routes = routes;
	req.n_routes = 1;
	req.endpoint = NULL;
	control_error_clear(&e);
	CHECK_INT(control_peer_add(ctl, &req, &res, NULL, &e), -EINVAL);
	CHECK(strstr(e.msg, "overlaps the tunnel subnet") != NULL);

	control_close(ctl);
	store_close(st);
}

int main(void)
{
	if (!crypto_init())
		return 1;
	RUN(test_names);
	RUN(test_ula);
	RUN(test_ipv4);
	RUN(test_ipv6);
	RUN(test_ipv4_against_reference);
	RUN(test_ports);
	RUN(test_link_peer);
	TEST_EXIT();
}
