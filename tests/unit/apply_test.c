/*
 * apply_test.c - the server's hot apply (src/server/apply.c), statistics
 * (stats.c), and the pure helpers of netlink.c and nat.c.
 *
 * The diff is checked case by case and then against a naive reference on
 * random configurations: applying the diff to the current state, with the
 * UAPI's semantics, must give the desired state, and a peer that did not
 * change must not appear in the diff at all.  apply_run() then runs on a
 * real device (its "TUN" one end of a socketpair): an unchanged peer keeps
 * its very struct peer and counters, a removed one is gone.
 */
#include "test.h"
#include "apply.h"
#include "crypto.h"
#include "device.h"
#include "driver.h"
#include "ipc.h"
#include "nat.h"
#include "netlink.h"
#include "stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static struct uapi_peer *add_peer(struct uapi_config *c, uint8_t keybyte)
{
	struct uapi_peer *p = uapi_config_add_peer(c);

	memset(p->public_key, keybyte, 32);
	p->has_persistent_keepalive = true;
	return p;
}

static void add_ip(struct uapi_peer *p, const char *text)
{
	struct uapi_allowed_ip a;

	if (uapi_parse_allowed_ip(text, &a) != 0)
		abort();
	if (uapi_peer_add_allowed_ip(p, a.family, a.addr, a.cidr) != 0)
		abort();
}

static const struct uapi_peer *find(const struct uapi_config *c, uint8_t keybyte)
{
	uint8_t k[32];

	memset(k, keybyte, 32);
	for (size_t i = 0; i < c->n_peers; i++)
		if (!memcmp(c->peers[i].public_key, k, 32))
			return &c->peers[i];
	return NULL;
}

static void test_diff_identical_is_empty(void)
{
	struct uapi_config a, b, out;
	struct apply_counts n;

	uapi_config_init(&a);
	uapi_config_init(&b);
	uapi_config_init(&out);
	for (int i = 1; i <= 3; i++) {
		add_ip(add_peer(&a, (uint8_t)i), i == 2 ? "10.0.0.2/32" : "10.0.0.9/32");
		add_ip(add_peer(&b, (uint8_t)(4 - i)), i == 2 ? "10.0.0.2/32" : "10.0.0.9/32");
	}
	a.has_private_key = b.has_private_key = true;
	memset(a.private_key, 7, 32);
	memset(b.private_key, 7, 32);
	a.has_listen_port = b.has_listen_port = true;
	a.listen_port = b.listen_port = 51820;
	CHECK_INT(apply_diff(&a, &b, &out, &n), 0);
	CHECK_INT(out.n_peers, 0);
	CHECK(!out.has_private_key);
	CHECK(!out.has_listen_port);
	CHECK(!out.replace_peers);
	CHECK_INT(n.unchanged, 3);
	CHECK_INT(n.added + n.removed + n.updated, 0);
	uapi_config_free(&a);
	uapi_config_free(&b);
	uapi_config_free(&out);
}

static void test_diff_add_remove_update(void)
{
	struct uapi_config cur, want, out;
	struct apply_counts n;
	const struct uapi_peer *p;

	uapi_config_init(&cur);
	uapi_config_init(&want);
	uapi_config_init(&out);
	/* 1: unchanged; 2: removed; 3: PSK changes; 4: allowed IPs change;
	 * 5: keepalive changes; 6: new. */
	add_ip(add_peer(&cur, 1), "10.0.0.1/32");
	add_ip(add_peer(&cur, 2), "10.0.0.2/32");
	add_ip(add_peer(&cur, 3), "10.0.0.3/32");
	add_ip(add_peer(&cur, 4), "10.0.0.4/32");
	add_ip(add_peer(&cur, 5), "10.0.0.5/32");
	add_ip(add_peer(&want, 1), "10.0.0.1/32");
	struct uapi_peer *w3 = add_peer(&want, 3);
	add_ip(w3, "10.0.0.3/32");
	w3->has_preshared_key = true;
	memset(w3->preshared_key, 0x33, 32);
	struct uapi_peer *w4 = add_peer(&want, 4);
	add_ip(w4, "10.0.0.4/32");
	add_ip(w4, "192.168.4.0/24");
	struct uapi_peer *w5 = add_peer(&want, 5);
	add_ip(w5, "10.0.0.5/32");
	w5->persistent_keepalive_interval = 25;
	struct uapi_peer *w6 = add_peer(&want, 6);
	add_ip(w6, "10.0.0.6/32");
	add_ip(w6, "fd00::6/128");

	CHECK_INT(apply_diff(&cur, &want, &out, &n), 0);
	CHECK_INT(n.unchanged, 1);
	CHECK_INT(n.removed, 1);
	CHECK_INT(n.updated, 3);
	CHECK_INT(n.added, 1);
	CHECK(find(&out, 1) == NULL);
	CHECK((p = find(&out, 2)) && p->remove);
	CHECK((p = find(&out, 3)) && p->update_only && p->has_preshared_key &&
	      p->preshared_key[0] == 0x33 && !p->replace_allowed_ips && !p->has_persistent_keepalive);
	CHECK((p = find(&out, 4)) && p->update_only && p->replace_allowed_ips &&
	      p->n_allowed_ips == 2 && !p->has_preshared_key);
	CHECK((p = find(&out, 5)) && p->update_only && p->has_persistent_keepalive &&
	      p->persistent_keepalive_interval == 25 && !p->replace_allowed_ips);
	CHECK((p = find(&out, 6)) && !p->update_only && !p->remove && p->replace_allowed_ips &&
	      p->n_allowed_ips == 2);
	uapi_config_free(&cur);
	uapi_config_free(&want);
	uapi_config_free(&out);
}

static void test_diff_allowed_ips_are_sets(void)
{
	struct uapi_config cur, want, out;
	struct apply_counts n;

	uapi_config_init(&cur);
	uapi_config_init(&want);
	uapi_config_init(&out);
	struct uapi_peer *c = add_peer(&cur, 9);
	add_ip(c, "10.0.0.9/32");
	add_ip(c, "192.168.1.0/24");
	add_ip(c, "fd00::9/128");
	/* Other order, host bits set, a duplicate: the same set. */
	struct uapi_peer *w = add_peer(&want, 9);
	add_ip(w, "fd00::9/128");
	add_ip(w, "192.168.1.77/24");
	add_ip(w, "10.0.0.9/32");
	add_ip(w, "10.0.0.9/32");
	CHECK_INT(apply_diff(&cur, &want, &out, &n), 0);
	CHECK_INT(out.n_peers, 0);
	CHECK_INT(n.unchanged, 1);
	uapi_config_free(&out);
	uapi_config_init(&out);
	/* A different prefix length is a different set. */
	w->allowed_ips[1].cidr = 23;
	CHECK_INT(apply_diff(&cur, &want, &out, &n), 0);
	CHECK_INT(n.updated, 1);
	uapi_config_free(&cur);
	uapi_config_free(&want);
	uapi_config_free(&out);
}

static void test_diff_identity_and_port(void)
{
	struct uapi_config cur, want, out;
	struct apply_counts n;

	uapi_config_init(&cur);
	uapi_config_init(&want);
	uapi_config_init(&out);
	cur.has_private_key = true;
	memset(cur.private_key, 1, 32);
	cur.has_listen_port = true;
	cur.listen_port = 40000;
	want.has_private_key = true;
	memset(want.private_key, 2, 32);
	want.has_listen_port = true;
	want.listen_port = 51820;
	CHECK_INT(apply_diff(&cur, &want, &out, &n), 0);
	CHECK(out.has_private_key && out.private_key[0] == 2);
	CHECK(out.has_listen_port && out.listen_port == 51820);
	CHECK(n.identity_changed && n.port_changed);
	uapi_config_free(&out);
	uapi_config_init(&out);
	/* A device without a key yet gets one. */
	cur.has_private_key = false;
	memset(cur.private_key, 0, 32);
	want.listen_port = 40000;
	CHECK_INT(apply_diff(&cur, &want, &out, &n), 0);
	CHECK(out.has_private_key);
	CHECK(!out.has_listen_port);
	uapi_config_free(&cur);
	uapi_config_free(&want);
	uapi_config_free(&out);
}

/* ---- random configurations against a naive model of the UAPI ---- */

#define KEYS 12
struct model_peer {
	bool present;
	uint8_t psk;
	uint16_t ka;
	uint32_t ips;		/* bit i: 10.1.i.0/24 */
};

static void model_from(const struct uapi_config *c, struct model_peer m[KEYS])
{
	memset(m, 0, sizeof(struct model_peer) * KEYS);
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct uapi_peer *p = &c->peers[i];
		struct model_peer *mp = &m[p->public_key[0]];
		mp->present = true;
		mp->psk = p->has_preshared_key ? p->preshared_key[0] : 0;
		mp->ka = p->persistent_keepalive_interval;
		for (size_t k = 0; k < p->n_allowed_ips; k++)
			mp->ips |= 1u << p->allowed_ips[k].addr[2];
	}
}

/* Applies a set request to the model with the UAPI's semantics. */
static void model_apply(struct model_peer m[KEYS], const struct uapi_config *set)
{
	for (size_t i = 0; i < set->n_peers; i++) {
		const struct uapi_peer *p = &set->peers[i];
		struct model_peer *mp = &m[p->public_key[0]];
		if (p->remove) {
			memset(mp, 0, sizeof(*mp));
			continue;
		}
		if (!mp->present && p->update_only)
			continue;
		mp->present = true;
		if (p->has_preshared_key)
			mp->psk = p->preshared_key[0];
		if (p->has_persistent_keepalive)
			mp->ka = p->persistent_keepalive_interval;
		if (p->replace_allowed_ips)
			mp->ips = 0;
		for (size_t k = 0; k < p->n_allowed_ips; k++)
			mp->ips |= 1u << p->allowed_ips[k].addr[2];
	}
}

static void random_config(struct uapi_config *c)
{
	for (uint8_t k = 0; k < KEYS; k++) {
		if (rnd() % 3 == 0)
			continue;
		struct uapi_peer *p = add_peer(c, k);
		if (rnd() % 2) {
			p->has_preshared_key = true;
			memset(p->preshared_key, (int)(1 + rnd() % 3), 32);
		}
		p->persistent_keepalive_interval = (uint16_t)(rnd() % 2 ? 25 : 0);
		unsigned n = rnd() % 4;
		for (unsigned i = 0; i < n; i++) {
			char text[32];
			snprintf(text, sizeof(text), "10.1.%u.%u/24", rnd() % 8, rnd() % 4);
			add_ip(p, text);
		}
	}
}

static void test_diff_random_against_reference(void)
{
	int bad = 0, untouched_bad = 0;

	for (int round = 0; round < 2000; round++) {
		struct uapi_config cur, want, out;
		struct model_peer m[KEYS], w[KEYS], before[KEYS];

		uapi_config_init(&cur);
		uapi_config_init(&want);
		uapi_config_init(&out);
		random_config(&cur);
		random_config(&want);
		if (apply_diff(&cur, &want, &out, NULL) != 0)
			abort();
		model_from(&cur, m);
		memcpy(before, m, sizeof(m));
		model_from(&want, w);
		model_apply(m, &out);
		if (memcmp(m, w, sizeof(m)))
			bad++;
		/* A peer equal on both sides is not in the request. */
		for (uint8_t k = 0; k < KEYS; k++)
			if (before[k].present && !memcmp(&before[k], &w[k], sizeof(w[k])) &&
			    find(&out, k))
				untouched_bad++;
		uapi_config_free(&cur);
		uapi_config_free(&want);
		uapi_config_free(&out);
	}
	CHECK_INT(bad, 0);
	CHECK_INT(untouched_bad, 0);
}

/* ---- on a real device ---- */

static struct device dev;
static struct driver *dev_drv;	/* the in-process driver over dev */
static int pair[2];

static int desired_fn(void *ctx, struct uapi_config *cfg)
{
	const struct uapi_config *src = ctx;

	/* Deep copy through the diff against an empty config. */
	struct uapi_config empty;
	uapi_config_init(&empty);
	int ret = apply_diff(&empty, src, cfg, NULL);
	for (size_t i = 0; i < cfg->n_peers; i++)
		cfg->peers[i].has_persistent_keepalive = true;
	return ret;
}

static void test_apply_run_keeps_unchanged_peers(void)
{
	struct uapi_config a, b;
	struct peer *p1, *p3;
	uint8_t k[32];
	char err[256] = "";
	struct apply_counts n;

	CHECK(crypto_init());
	CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, pair), 0);
	CHECK_INT(device_init(&dev, "apply0", pair[0]), 0);
	dev_drv = driver_inproc_new(&dev);
	CHECK(dev_drv != NULL);
	uapi_config_init(&a);
	uapi_config_init(&b);
	a.has_private_key = b.has_private_key = true;
	memset(a.private_key, 0x41, 32);
	memset(b.private_key, 0x41, 32);
	for (uint8_t i = 1; i <= 3; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.13.13.%u/32", i + 1);
		add_ip(add_peer(&a, i), ip);
		if (i != 2) {
			struct uapi_peer *p = add_peer(&b, i);
			add_ip(p, ip);
			if (i == 3) {
				p->has_preshared_key = true;
				memset(p->preshared_key, 0x55, 32);
			}
		}
	}
	CHECK_INT(apply_run(dev_drv, NULL, desired_fn, &a, &n, err, sizeof(err)), 0);
	CHECK_INT(n.added, 3);
	CHECK_INT(dev.peer_count, 3);
	memset(k, 1, 32);
	p1 = pubkey_table_lookup(&dev, k);
	CHECK(p1 != NULL);
	if (p1) {
		p1->rx_bytes = 1234;
		p1->last_handshake_wall.tv_sec = 1700000000;
	}
	memset(k, 3, 32);
	p3 = pubkey_table_lookup(&dev, k);

	CHECK_INT(apply_run(dev_drv, NULL, desired_fn, &b, &n, err, sizeof(err)), 0);
	CHECK_INT(n.removed, 1);
	CHECK_INT(n.updated, 1);
	CHECK_INT(n.unchanged, 1);
	CHECK_INT(dev.peer_count, 2);
	memset(k, 1, 32);
	CHECK(pubkey_table_lookup(&dev, k) == p1);
	if (p1) {
		CHECK_INT(p1->rx_bytes, 1234);
		CHECK_INT(p1->last_handshake_wall.tv_sec, 1700000000);
	}
	memset(k, 2, 32);
	CHECK(pubkey_table_lookup(&dev, k) == NULL);
	memset(k, 3, 32);
	CHECK(pubkey_table_lookup(&dev, k) == p3);	/* updated in place */

	/* Applying the same state again changes nothing. */
	CHECK_INT(apply_run(dev_drv, NULL, desired_fn, &b, &n, err, sizeof(err)), 0);
	CHECK_INT(n.unchanged, 2);
	CHECK_INT(n.added + n.removed + n.updated, 0);
	uapi_config_free(&a);
	uapi_config_free(&b);
}

static void test_stats_ring_and_online(void)
{
	struct stats *st = stats_new();
	struct stats_live live;
	struct stats_point *pts = calloc(STATS_HISTORY, sizeof(*pts));
	uint8_t k1[32], k3[32], k9[32];
	struct peer *p1;

	memset(k1, 1, 32);
	memset(k3, 3, 32);
	memset(k9, 9, 32);
	CHECK(st != NULL && pts != NULL);
	p1 = pubkey_table_lookup(&dev, k1);
	CHECK(p1 != NULL);
	if (!st || !pts || !p1)
		return;
	for (int i = 0; i < 400; i++) {
		p1->rx_bytes = 1000u + (unsigned)i;
		CHECK_INT(stats_sample(st, dev_drv, 100 + i * 10, true), 0);
	}
	CHECK(stats_get(st, k1, &live));
	CHECK_INT(live.rx_bytes, 1399);
	CHECK_INT(live.latest_handshake, 1700000000);
	CHECK(!stats_get(st, k9, &live));
	/* The ring keeps the last 360 samples, oldest first. */
	CHECK_INT(stats_history(st, k1, pts, STATS_HISTORY), STATS_HISTORY);
	CHECK_INT(pts[0].t, 100 + 40 * 10);
	CHECK_INT(pts[0].rx_bytes, 1040);
	CHECK_INT(pts[STATS_HISTORY - 1].rx_bytes, 1399);
	CHECK_INT(stats_history(st, k9, pts, STATS_HISTORY), 0);

	/* online: a handshake less than 180 s ago. */
	live.latest_handshake = 1000;
	CHECK(stats_online(&live, 1000 + 179));
	CHECK(!stats_online(&live, 1000 + 180));
	live.latest_handshake = 0;
	CHECK(!stats_online(&live, 5));

	/* A peer the device drops is forgotten at the next update. */
	struct uapi_config rm;
	uapi_config_init(&rm);
	struct uapi_peer *r = uapi_config_add_peer(&rm);
	memcpy(r->public_key, k3, 32);
	r->remove = true;
	CHECK_INT(device_apply_config(&dev, &rm), 0);
	uapi_config_free(&rm);
	CHECK(stats_get(st, k3, &live));
	CHECK_INT(stats_sample(st, dev_drv, 5000, false), 0);
	CHECK(!stats_get(st, k3, &live));
	CHECK(stats_get(st, k1, &live));
	/* A refresh without history adds no sample. */
	CHECK_INT(stats_history(st, k1, pts, STATS_HISTORY), STATS_HISTORY);
	CHECK_INT(pts[STATS_HISTORY - 1].t, 100 + 399 * 10);
	free(pts);
	stats_free(st);
	driver_free(dev_drv);
	device_teardown(&dev);
	close(pair[0]);
	close(pair[1]);
}

/* The per-peer apply's source: the peers of src whose key is listed. */
static int desired_peers_fn(void *ctx, const uint8_t (*keys)[UAPI_KEY_LEN], size_t n_keys,
			    struct uapi_config *cfg)
{
	struct uapi_config all;
	int ret;

	uapi_config_init(&all);
	ret = desired_fn(ctx, &all);
	cfg->has_private_key = all.has_private_key;
	memcpy(cfg->private_key, all.private_key, 32);
	for (size_t i = 0; i < all.n_peers && !ret; i++) {
		const struct uapi_peer *s = &all.peers[i];
		for (size_t k = 0; k < n_keys; k++) {
			struct uapi_peer *d;
			if (memcmp(s->public_key, keys[k], 32))
				continue;
			if (!(d = uapi_config_add_peer(cfg))) {
				ret = -ENOMEM;
				break;
			}
			memcpy(d->public_key, s->public_key, 32);
			d->has_preshared_key = s->has_preshared_key;
			memcpy(d->preshared_key, s->preshared_key, 32);
			d->has_persistent_keepalive = true;
			d->persistent_keepalive_interval = s->persistent_keepalive_interval;
			d->replace_allowed_ips = true;
			for (size_t j = 0; j < s->n_allowed_ips && !ret; j++)
				ret = uapi_peer_add_allowed_ip(d, s->allowed_ips[j].family,
							       s->allowed_ips[j].addr,
							       s->allowed_ips[j].cidr);
			break;
		}
	}
	uapi_config_free(&all);
	return ret;
}

static int no_prefixes(void *ctx, apply_prefix_fn fn, void *arg)
{
	return 0;
}

/* apply_run_peers touches the listed keys only: removes, adds and updates
 * them as desired says, and leaves every other peer as it is even where
 * desired differs (that is a later, whole apply's business). */
static void test_apply_run_peers_touches_listed_keys_only(void)
{
	struct device d;
	int sp[2];
	struct uapi_config a, b;
	struct apply_peers_source src = { .desired_peers = desired_peers_fn,
					  .prefixes = no_prefixes, .ctx = &b };
	uint8_t keys[4][32], k[32];
	struct peer *p1, *p3, *p4;
	struct apply_counts n;
	char err[256] = "";

	CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sp), 0);
	CHECK_INT(device_init(&d, "apply1", sp[0]), 0);
	struct driver *drv = driver_inproc_new(&d);
	CHECK(drv != NULL);
	uapi_config_init(&a);
	uapi_config_init(&b);
	a.has_private_key = b.has_private_key = true;
	memset(a.private_key, 0x42, 32);
	memset(b.private_key, 0x42, 32);
	for (uint8_t i = 1; i <= 4; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.7.0.%u/32", i + 1);
		add_ip(add_peer(&a, i), ip);
		if (i == 2)
			continue;	/* b: 2 is gone */
		struct uapi_peer *p = add_peer(&b, i);
		add_ip(p, ip);
		if (i == 3) {		/* b: 3 has a new PSK */
			p->has_preshared_key = true;
			memset(p->preshared_key, 0x66, 32);
		}
		if (i == 4)		/* b: 4 has a keepalive, but is not listed */
			p->persistent_keepalive_interval = 25;
	}
	add_ip(add_peer(&b, 9), "10.7.0.99/32");	/* b: 9 is new */
	CHECK_INT(apply_run(drv, NULL, desired_fn, &a, &n, err, sizeof(err)), 0);
	CHECK_INT(d.peer_count, 4);
	memset(k, 1, 32);
	p1 = pubkey_table_lookup(&d, k);
	if (p1)
		p1->rx_bytes = 777;
	memset(k, 3, 32);
	p3 = pubkey_table_lookup(&d, k);
	memset(k, 4, 32);
	p4 = pubkey_table_lookup(&d, k);
	CHECK(p1 && p3 && p4);

	memset(keys[0], 2, 32);
	memset(keys[1], 3, 32);
	memset(keys[2], 9, 32);
	memset(keys[3], 3, 32);		/* listed twice: still one update */
	CHECK_INT(apply_run_peers(drv, NULL, (const uint8_t (*)[32])keys, 4, &src, &n, err,
				  sizeof(err)), 0);
	CHECK_INT(n.added, 1);
	CHECK_INT(n.removed, 1);
	CHECK_INT(n.updated, 1);
	CHECK_INT(n.unchanged, 0);
	CHECK_INT(d.peer_count, 4);
	memset(k, 2, 32);
	CHECK(pubkey_table_lookup(&d, k) == NULL);
	memset(k, 9, 32);
	CHECK(pubkey_table_lookup(&d, k) != NULL);
	memset(k, 3, 32);
	CHECK(pubkey_table_lookup(&d, k) == p3);	/* updated in place */
	if (p3) {
		memset(k, 0x66, 32);
		CHECK_MEM(p3->handshake.preshared_key, k, 32);
	}
	memset(k, 1, 32);
	CHECK(pubkey_table_lookup(&d, k) == p1);
	if (p1)
		CHECK_INT(p1->rx_bytes, 777);
	memset(k, 4, 32);
	CHECK(pubkey_table_lookup(&d, k) == p4);
	if (p4)
		CHECK_INT(p4->persistent_keepalive_interval, 0);	/* not listed: untouched */

	/* Listing 4 now brings it along; nothing else changes. */
	memset(keys[0], 4, 32);
	CHECK_INT(apply_run_peers(drv, NULL, (const uint8_t (*)[32])keys, 1, &src, &n, err,
				  sizeof(err)), 0);
	CHECK_INT(n.updated, 1);
	CHECK_INT(n.added + n.removed, 0);
	if (p4)
		CHECK_INT(p4->persistent_keepalive_interval, 25);
	/* Then a whole apply finds nothing left to do. */
	CHECK_INT(apply_run(drv, NULL, desired_fn, &b, &n, err, sizeof(err)), 0);
	CHECK_INT(n.added + n.removed + n.updated, 0);
	CHECK_INT(n.unchanged, 4);
	uapi_config_free(&a);
	uapi_config_free(&b);
	driver_free(drv);
	device_teardown(&d);
	close(sp[0]);
	close(sp[1]);
}

/* ---- pure helpers ---- */

static void test_prefix_parse(void)
{
	struct netlink_prefix p;
	char buf[64];

	CHECK(netlink_prefix_parse(&p, "10.13.13.1/24"));
	CHECK_INT(p.family, AF_INET);
	CHECK_INT(p.len, 24);
	netlink_prefix_mask(&p);
	netlink_prefix_format(&p, buf, sizeof(buf));
	CHECK(!strcmp(buf, "10.13.13.0/24"));
	CHECK(netlink_prefix_parse(&p, "fd00:1:2:3::1/64"));
	CHECK_INT(p.family, AF_INET6);
	netlink_prefix_mask(&p);
	netlink_prefix_format(&p, buf, sizeof(buf));
	CHECK(!strcmp(buf, "fd00:1:2:3::/64"));
	CHECK(netlink_prefix_parse(&p, "192.168.1.7"));
	CHECK_INT(p.len, 32);
	CHECK(!netlink_prefix_parse(&p, "10.0.0.0/33"));
	CHECK(!netlink_prefix_parse(&p, "10.0.0.300/24"));
	CHECK(!netlink_prefix_parse(&p, "10.0.0.0/"));
	CHECK(!netlink_prefix_parse(&p, "10.0.0.0/2a"));
	CHECK(!netlink_prefix_parse(&p, "::/129"));
	CHECK(!netlink_prefix_parse(&p, ""));
}

static void test_nat_ruleset(void)
{
	char buf[2048];

	CHECK_INT(nat_ruleset(buf, sizeof(buf), "zerowg_zwg0", "zwg0", "eth0", "10.13.13.1/24",
			      "eth0", "fd12:3456:789a:1::1/64"), 0);
	CHECK(strstr(buf, "ip saddr 10.13.13.0/24 oifname \"eth0\" masquerade") != NULL);
	CHECK(strstr(buf, "ip6 saddr fd12:3456:789a:1::/64 oifname \"eth0\" masquerade") != NULL);
	CHECK(strstr(buf, "iifname \"zwg0\" accept") != NULL);
	CHECK(strstr(buf, "delete table inet zerowg_zwg0") != NULL);
	/* No IPv6 egress: no IPv6 rule. */
	CHECK_INT(nat_ruleset(buf, sizeof(buf), "zerowg_zwg0", "zwg0", "eth0", "10.13.13.1/24",
			      "", "fd12:3456:789a:1::1/64"), 0);
	CHECK(strstr(buf, "ip6 saddr") == NULL);
	/* Names that could break out of the quotes are refused. */
	CHECK_INT(nat_ruleset(buf, sizeof(buf), "t", "zw\"g0", "eth0", "10.13.13.1/24", "", ""),
		  -EINVAL);
	CHECK_INT(nat_ruleset(buf, sizeof(buf), "t", "zwg0", "eth0; flush ruleset", "10.0.0.1/24",
			      "", ""), -EINVAL);
	CHECK_INT(nat_ruleset(buf, sizeof(buf), "t", "zwg0", "eth0", "fd00::1/64", "", ""), -EINVAL);
}

int main(void)
{
	RUN(test_diff_identical_is_empty);
	RUN(test_diff_add_remove_update);
	RUN(test_diff_allowed_ips_are_sets);
	RUN(test_diff_identity_and_port);
	RUN(test_diff_random_against_reference);
	RUN(test_apply_run_keeps_unchanged_peers);
	RUN(test_stats_ring_and_online);
	RUN(test_apply_run_peers_touches_listed_keys_only);
	RUN(test_prefix_parse);
	RUN(test_nat_ruleset);
	TEST_EXIT();
}
