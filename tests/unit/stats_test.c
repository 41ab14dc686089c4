/*
 * stats_test.c - the statistics history (src/server/stats.c): the
 * one-hour ring and the 24-hour ring (one point a minute) wrap and keep
 * the newest points in order; a peer that appears later shows only its
 * own points; a peer that leaves is forgotten; and a sample allocates
 * nothing once the peers' rings exist (the heap in use: glibc's mallinfo2,
 * or AddressSanitizer's count under ASan).
 *
 * Memory proportional to the peers with traffic: a peer whose counters
 * never change holds no ring buffer (stats_usage, and the heap itself);
 * one idle for a whole window gives it back, at exactly that sample; a
 * removed peer gives back its buffers; and on random input (peers busy,
 * idle, bursty, leaving and coming back with reset counters, updates
 * without history, the clock set back and jumping ahead) every answer is
 * the one a naive model that stores every point gives (the API's numbers,
 * as before the buffers became lazy), and the buffers held are exactly the
 * peers whose window is not flat.
 */
#include "test.h"
#include "stats.h"
#include "uapi.h"

#include <malloc.h>
#if defined(__SANITIZE_ADDRESS__)
/* libasan's (gcc ships no header for it). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif
#include <stdint.h>

static void key_of(uint8_t key[32], uint8_t n)
{
	memset(key, 0, 32);
	key[0] = n;
	key[7] = (uint8_t)(n * 37);	/* the hash is the first 8 bytes */
	key[31] = 0xaa;
}

/* A snapshot of peers 1..n with counters that grow with t. */
static void config_of(struct uapi_config *cfg, size_t n, int64_t t)
{
	uapi_config_init(cfg);
	for (size_t i = 1; i <= n; i++) {
		struct uapi_peer *p = uapi_config_add_peer(cfg);
		CHECK(p != NULL);
		if (!p)
			return;
		key_of(p->public_key, (uint8_t)i);
		p->rx_bytes = (uint64_t)t * i;
		p->tx_bytes = (uint64_t)t * i * 2;
		p->last_handshake_time_sec = t;
	}
}

static void update(struct stats *st, size_t n, int64_t t)
{
	struct uapi_config cfg;

	config_of(&cfg, n, t);
	CHECK_INT(stats_update(st, &cfg, t, true), 0);
	uapi_config_free(&cfg);
}

static void test_rings_wrap(void)
{
	static struct stats_point pts[STATS_HISTORY_24H + 10];
	const int64_t t0 = 1700000000 - 1700000000 % 60;	/* a minute's start */
	struct stats *st = stats_new();
	uint8_t k1[32], k2[32];
	int64_t t = t0;
	size_t n;

	CHECK(st != NULL);
	key_of(k1, 1);
	key_of(k2, 2);
	/* 25 hours of samples every 10 s: both rings wrap. */
	for (int i = 0; i < 25 * 360; i++, t += STATS_INTERVAL_SEC)
		update(st, 1, t);
	n = stats_history(st, k1, pts, STATS_HISTORY_24H + 10);
	CHECK_INT(n, STATS_HISTORY);
	CHECK_INT(pts[n - 1].t, t - STATS_INTERVAL_SEC);
	CHECK_INT(pts[0].t, t - STATS_INTERVAL_SEC * STATS_HISTORY);
	for (size_t i = 1; i < n; i++)
		CHECK_INT(pts[i].t - pts[i - 1].t, STATS_INTERVAL_SEC);

	n = stats_history_24h(st, k1, pts, STATS_HISTORY_24H + 10);
	CHECK_INT(n, STATS_HISTORY_24H);
	/* The newest is the first sample of the last minute, in order, one
	 * a minute, each with the counters of its time. */
	CHECK_INT(pts[n - 1].t, (t - STATS_INTERVAL_SEC) - (t - STATS_INTERVAL_SEC) % 60);
	for (size_t i = 1; i < n; i++) {
		CHECK_INT(pts[i].t - pts[i - 1].t, STATS_INTERVAL_24H_SEC);
		CHECK_INT(pts[i].t % 60, 0);
	}
	for (size_t i = 0; i < n; i++) {
		CHECK_INT(pts[i].rx_bytes, (uint64_t)pts[i].t);
		CHECK_INT(pts[i].tx_bytes, (uint64_t)pts[i].t * 2);
	}
	/* max cuts (oldest first). */
	CHECK_INT(stats_history_24h(st, k1, pts, 3), 3);
	CHECK_INT(pts[2].t - pts[0].t, 120);

	/* A peer that appears now has only its own points. */
	update(st, 2, t);
	t += STATS_INTERVAL_SEC;
	CHECK_INT(stats_history_24h(st, k2, pts, STATS_HISTORY_24H), 1);
	CHECK_INT(stats_history(st, k2, pts, STATS_HISTORY), 1);
	for (int i = 0; i < 18; i++, t += STATS_INTERVAL_SEC)	/* 3 minutes */
		update(st, 2, t);
	n = stats_history_24h(st, k2, pts, STATS_HISTORY_24H);
	CHECK(n >= 3 && n <= 4);
	CHECK_INT(stats_history(st, k2, pts, STATS_HISTORY), 19);
	/* One that leaves is forgotten. */
	update(st, 1, t);
	CHECK_INT(stats_history_24h(st, k2, pts, STATS_HISTORY_24H), 0);
	CHECK(stats_history_24h(st, k1, pts, STATS_HISTORY_24H) > 0);
	/* Live values without history: no point is added. */
	n = stats_history(st, k1, pts, STATS_HISTORY);
	struct uapi_config cfg;
	config_of(&cfg, 1, t + 100);
	CHECK_INT(stats_update(st, &cfg, t + 100, false), 0);
	uapi_config_free(&cfg);
	CHECK_INT(stats_history(st, k1, pts, STATS_HISTORY), n);
	stats_free(st);
}

/* A clock set back starts a new minute rather than stalling the ring. */
static void test_clock_back(void)
{
	struct stats_point pts[8];
	struct stats *st = stats_new();
	uint8_t k1[32];

	key_of(k1, 1);
	update(st, 1, 6000);
	update(st, 1, 6010);
	update(st, 1, 3000);
	update(st, 1, 3010);
	CHECK_INT(stats_history_24h(st, k1, pts, 8), 2);
	CHECK_INT(pts[0].t, 6000);
	CHECK_INT(pts[1].t, 3000);
	stats_free(st);
}

/* Bytes allocated and not freed: glibc's count, or AddressSanitizer's
 * (whose heap mallinfo2 does not see). */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

static void check_rings(struct stats *st, size_t hour, size_t day);

static void test_no_allocation_per_sample(void)
{
	struct stats *st = stats_new();
	struct uapi_config cfg;
	size_t before, after;
	int64_t t = 1700000000;

	/* The peers are allocated at their first sample (and the table
	 * grows once more at the second: it keeps room for as many again),
	 * their ring buffers at their first traffic ... */
	config_of(&cfg, 50, t);
	CHECK_INT(stats_update(st, &cfg, t, true), 0);
	for (int i = 0; i < 7; i++) {		/* into the next minute */
		t += STATS_INTERVAL_SEC;
		for (size_t k = 0; k < cfg.n_peers; k++)
			cfg.peers[k].rx_bytes += 1000;
		CHECK_INT(stats_update(st, &cfg, t, true), 0);
	}
	check_rings(st, 50, 50);
	before = heap_in_use();
	/* ... and nothing after, over more than a day of samples. */
	for (int i = 0; i < 9000; i++) {
		t += STATS_INTERVAL_SEC;
		for (size_t k = 0; k < cfg.n_peers; k++)
			cfg.peers[k].rx_bytes += 1000;
		CHECK_INT(stats_update(st, &cfg, t, true), 0);
	}
	after = heap_in_use();
	CHECK_INT(after, before);
	uapi_config_free(&cfg);
	stats_free(st);
}

/* A snapshot of peers 1..n whose counters never change (peer i: rx = i,
 * tx = 0, as after its first handshake with nothing since, or zero). */
static void config_idle(struct uapi_config *cfg, size_t n, int64_t t)
{
	uapi_config_init(cfg);
	for (size_t i = 1; i <= n; i++) {
		struct uapi_peer *p = uapi_config_add_peer(cfg);
		CHECK(p != NULL);
		if (!p)
			return;
		key_of(p->public_key, (uint8_t)i);
		if (i % 2)
			p->rx_bytes = i;
		p->last_handshake_time_sec = i % 3 ? 0 : t - 500;
	}
}

/* 200 peers without traffic for 25 hours: no ring buffer, under 512 bytes
 * of heap a peer (a buffer is 5,760 or 23,040 bytes), and the answers a
 * stored point would give: every sample since the peer appeared, its
 * unchanging counters. */
static void test_idle_peers_hold_no_ring(void)
{
	static struct stats_point pts[STATS_HISTORY_24H];
	const int64_t t0 = 1700000000 - 1700000000 % 60;
	struct stats *st = stats_new();
	struct stats_usage u;
	struct uapi_config cfg;
	size_t before, n;
	uint8_t key[32];
	int64_t t = t0;

	CHECK(st != NULL);
	before = heap_in_use();
	config_idle(&cfg, 200, t);
	for (int i = 0; i < 25 * 360; i++, t += STATS_INTERVAL_SEC)
		CHECK_INT(stats_update(st, &cfg, t, true), 0);
	uapi_config_free(&cfg);
	stats_usage(st, &u);
	CHECK_INT(u.peers, 200);
	CHECK_INT(u.rings, 0);
	CHECK_INT(u.rings_24h, 0);
	CHECK(u.bytes < 200 * 512);
	CHECK(heap_in_use() - before < 200 * 512);
	for (uint8_t i = 1; i <= 200; i += 37) {
		key_of(key, i);
		n = stats_history(st, key, pts, STATS_HISTORY);
		CHECK_INT(n, STATS_HISTORY);
		CHECK_INT(pts[n - 1].t, t - STATS_INTERVAL_SEC);
		for (size_t k = 0; k < n; k++) {
			CHECK_INT(pts[k].t, t - (int64_t)(n - k) * STATS_INTERVAL_SEC);
			CHECK_INT(pts[k].rx_bytes, i % 2 ? i : 0);
			CHECK_INT(pts[k].tx_bytes, 0);
		}
		n = stats_history_24h(st, key, pts, STATS_HISTORY_24H);
		CHECK_INT(n, STATS_HISTORY_24H);
		for (size_t k = 1; k < n; k++)
			CHECK_INT(pts[k].t - pts[k - 1].t, STATS_INTERVAL_24H_SEC);
		CHECK_INT(pts[n - 1].rx_bytes, i % 2 ? i : 0);
		CHECK_INT(pts[0].rx_bytes, i % 2 ? i : 0);
	}
	/* A peer that appears idle has one point so far, and no buffer. */
	config_idle(&cfg, 201, t);
	CHECK_INT(stats_update(st, &cfg, t, true), 0);
	uapi_config_free(&cfg);
	key_of(key, 201);
	CHECK_INT(stats_history(st, key, pts, STATS_HISTORY), 1);
	CHECK_INT(pts[0].rx_bytes, 201);
	CHECK_INT(stats_history_24h(st, key, pts, STATS_HISTORY_24H), 1);
	stats_usage(st, &u);
	CHECK_INT(u.rings + u.rings_24h, 0);
	stats_free(st);
}

/* One snapshot: peer 1 with counters rx, tx. */
static void update_one(struct stats *st, uint64_t rx, uint64_t tx, int64_t t)
{
	struct uapi_config cfg;
	struct uapi_peer *p;

	uapi_config_init(&cfg);
	p = uapi_config_add_peer(&cfg);
	CHECK(p != NULL);
	if (p) {
		key_of(p->public_key, 1);
		p->rx_bytes = rx;
		p->tx_bytes = tx;
	}
	CHECK_INT(stats_update(st, &cfg, t, true), 0);
	uapi_config_free(&cfg);
}

static void check_rings(struct stats *st, size_t hour, size_t day)
{
	struct stats_usage u;

	stats_usage(st, &u);
	CHECK_INT(u.rings, hour);
	CHECK_INT(u.rings_24h, day);
}

/* A peer with traffic gets its buffers at the first change, keeps them
 * while a point of the window differs, gives each back on the sample its
 * window becomes flat (the hour's after STATS_HISTORY idle samples, the
 * day's after STATS_HISTORY_24H idle minutes) and gets new ones with new
 * traffic; the points stay exact throughout. */
static void test_idle_peer_gives_ring_back(void)
{
	static struct stats_point pts[STATS_HISTORY_24H];
	const int64_t t0 = 1700000000 - 1700000000 % 60;
	struct stats *st = stats_new();
	size_t before, n;
	uint8_t key[32];
	int64_t t = t0;

	CHECK(st != NULL);
	key_of(key, 1);
	before = heap_in_use();
	update_one(st, 100, 50, t);		/* first point: no change yet */
	check_rings(st, 0, 0);
	t += STATS_INTERVAL_SEC;
	update_one(st, 100, 50, t);
	check_rings(st, 0, 0);
	t += STATS_INTERVAL_SEC;
	update_one(st, 100, 51, t);		/* tx alone moves: a change */
	check_rings(st, 1, 0);			/* not a new minute */
	n = stats_history(st, key, pts, STATS_HISTORY);
	CHECK_INT(n, 3);
	CHECK_INT(pts[0].tx_bytes, 50);
	CHECK_INT(pts[1].tx_bytes, 50);
	CHECK_INT(pts[2].tx_bytes, 51);
	CHECK_INT(pts[2].t, t);
	/* Idle from here: the change is the newest non-flat point.  The
	 * hour's buffer stays until that change leaves the window. */
	for (int i = 2; i < STATS_HISTORY; i++) {
		t += STATS_INTERVAL_SEC;
		update_one(st, 100, 51, t);
	}
	check_rings(st, 1, 1);			/* the next minute saw 51 */
	n = stats_history(st, key, pts, STATS_HISTORY);
	CHECK_INT(n, STATS_HISTORY);
	CHECK_INT(pts[0].tx_bytes, 50);		/* the point before the change */
	CHECK_INT(pts[1].tx_bytes, 51);
	t += STATS_INTERVAL_SEC;
	update_one(st, 100, 51, t);
	check_rings(st, 0, 1);			/* the window is flat: given back */
	n = stats_history(st, key, pts, STATS_HISTORY);
	CHECK_INT(n, STATS_HISTORY);
	for (size_t k = 0; k < n; k++) {
		CHECK_INT(pts[k].rx_bytes, 100);
		CHECK_INT(pts[k].tx_bytes, 51);
		CHECK_INT(pts[k].t, t - (int64_t)(n - 1 - k) * STATS_INTERVAL_SEC);
	}
	/* The day's buffer: until 1,440 idle minutes have passed. */
	n = stats_history_24h(st, key, pts, STATS_HISTORY_24H);
	CHECK_INT(pts[0].tx_bytes, 50);
	while (stats_history_24h(st, key, pts, STATS_HISTORY_24H) < STATS_HISTORY_24H ||
	       pts[0].tx_bytes != 51) {
		check_rings(st, 0, 1);
		t += STATS_INTERVAL_SEC;
		update_one(st, 100, 51, t);
	}
	/* The first window with the old value gone is flat: freed then. */
	check_rings(st, 0, 0);
	CHECK(heap_in_use() - before < 1024);
	/* Traffic again: both buffers come back, the earlier points flat. */
	do
		t += STATS_INTERVAL_SEC;
	while (t % 60);
	update_one(st, 7, 0, t);		/* counters reset: a change */
	check_rings(st, 1, 1);
	n = stats_history(st, key, pts, STATS_HISTORY);
	CHECK_INT(n, STATS_HISTORY);
	CHECK_INT(pts[n - 2].rx_bytes, 100);
	CHECK_INT(pts[n - 1].rx_bytes, 7);
	CHECK_INT(pts[n - 1].tx_bytes, 0);
	n = stats_history_24h(st, key, pts, STATS_HISTORY_24H);
	CHECK_INT(pts[n - 2].tx_bytes, 51);
	CHECK_INT(pts[n - 1].rx_bytes, 7);
	CHECK_INT(pts[n - 1].t, t);
	/* A removed peer gives its buffers back. */
	{
		struct uapi_config empty;
		uapi_config_init(&empty);
		CHECK_INT(stats_update(st, &empty, t + 10, true), 0);
		uapi_config_free(&empty);
	}
	check_rings(st, 0, 0);
	CHECK_INT(stats_history(st, key, pts, STATS_HISTORY), 0);
	stats_free(st);
}

/*
 * The naive model: every point of every peer, as the API answered before
 * the buffers became lazy.  Peer i's points since it (last) appeared;
 * a 24-hour sample is the first of each minute.
 */
#define REF_PEERS 24
#define REF_STEPS 11000		/* 30 hours of samples: both windows wrap */
struct ref_peer {
	bool present;
	int kind;
	uint64_t rx, tx;
	size_t n, n24;
	struct stats_point *pts, *pts24;	/* REF_STEPS each */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The window's points of a list: the last n; NULL count if flat. */
static bool window_flat(const struct stats_point *p, size_t len, size_t n)
{
	size_t from = len > n ? len - n : 0;

	for (size_t k = from + 1; k < len; k++)
		if (p[k].rx_bytes != p[k - 1].rx_bytes || p[k].tx_bytes != p[k - 1].tx_bytes)
			return false;
	return true;
}

static void ref_check(struct stats *st, struct ref_peer *ref, size_t i, size_t max)
{
	static struct stats_point got[STATS_HISTORY_24H];
	const struct ref_peer *r = &ref[i];
	size_t want, from, n;
	uint8_t key[32];

	key_of(key, (uint8_t)(i + 1));
	n = stats_history(st, key, got, max);
	from = r->n > STATS_HISTORY ? r->n - STATS_HISTORY : 0;
	want = r->n - from < max ? r->n - from : max;
	CHECK_INT(n, want);
	if (n == want && n)
		CHECK_MEM(got, r->pts + from, n * sizeof(got[0]));
	n = stats_history_24h(st, key, got, max);
	from = r->n24 > STATS_HISTORY_24H ? r->n24 - STATS_HISTORY_24H : 0;
	want = r->n24 - from < max ? r->n24 - from : max;
	CHECK_INT(n, want);
	if (n == want && n)
		CHECK_MEM(got, r->pts24 + from, n * sizeof(got[0]));
}

static void test_matches_naive_model(void)
{
	static struct ref_peer ref[REF_PEERS];
	struct stats *st = stats_new();
	int64_t t = 1700000000, last24 = 0;
	bool any24 = false;
	size_t checks = 0, max_rings = 0, max_rings24 = 0;

	CHECK(st != NULL);
	for (size_t i = 0; i < REF_PEERS; i++) {
		ref[i].present = true;
		ref[i].kind = (int)(i % 6);
		ref[i].pts = calloc(REF_STEPS, sizeof(*ref[i].pts));
		ref[i].pts24 = calloc(REF_STEPS, sizeof(*ref[i].pts24));
		CHECK(ref[i].pts && ref[i].pts24);
		if (!ref[i].pts || !ref[i].pts24)
			return;
		if (i % 4 == 1)
			ref[i].rx = 1000 * i;	/* counters from before we looked */
	}
	for (int step = 0; step < REF_STEPS; step++) {
		struct uapi_config cfg;
		bool history = rnd() % 8 != 0, coarse;
		uint64_t r = rnd() % 1000;

		/* Mostly 10 s; sometimes the clock goes back or jumps ahead. */
		t += r < 3 ? -(int64_t)(rnd() % 4000) : r < 10 ? (int64_t)(rnd() % 20000) : 10;
		uapi_config_init(&cfg);
		for (size_t i = 0; i < REF_PEERS; i++) {
			struct ref_peer *p = &ref[i];
			switch (p->kind) {
			case 0:		/* never any traffic */
				break;
			case 1:		/* busy */
				p->rx += rnd() % 100000;
				p->tx += rnd() % 3;
				break;
			case 2:		/* busy for a while, then idle for good */
				if (step < 1500)
					p->rx += 148;
				break;
			case 3:		/* a burst now and then */
				if (rnd() % 400 == 0)
					p->tx += 92;
				break;
			case 4:		/* leaves and comes back with new counters */
				if (rnd() % 900 == 0) {
					p->present = !p->present;
					p->rx = p->tx = 0;
					p->n = p->n24 = 0;
				}
				if (rnd() % 300 == 0)
					p->rx += 32;
				break;
			default:	/* idle, then busy in the last hours */
				if (step > REF_STEPS - 1000)
					p->rx += 1;
				break;
			}
			if (!p->present)
				continue;
			struct uapi_peer *u = uapi_config_add_peer(&cfg);
			CHECK(u != NULL);
			if (!u)
				return;
			key_of(u->public_key, (uint8_t)(i + 1));
			u->rx_bytes = p->rx;
			u->tx_bytes = p->tx;
		}
		CHECK_INT(stats_update(st, &cfg, t, history), 0);
		uapi_config_free(&cfg);
		coarse = history && (!any24 || last24 / 60 != t / 60);
		if (coarse) {
			any24 = true;
			last24 = t;
		}
		for (size_t i = 0; history && i < REF_PEERS; i++) {
			struct ref_peer *p = &ref[i];
			struct stats_point pt = { .t = t, .rx_bytes = p->rx, .tx_bytes = p->tx };
			if (!p->present)
				continue;
			p->pts[p->n++] = pt;
			if (coarse)
				p->pts24[p->n24++] = pt;
		}
		/* The buffers held: exactly the peers whose window is not flat. */
		size_t want = 0, want24 = 0;
		for (size_t i = 0; i < REF_PEERS; i++) {
			if (!ref[i].present)
				continue;
			want += !window_flat(ref[i].pts, ref[i].n, STATS_HISTORY);
			want24 += !window_flat(ref[i].pts24, ref[i].n24, STATS_HISTORY_24H);
		}
		check_rings(st, want, want24);
		max_rings = want > max_rings ? want : max_rings;
		max_rings24 = want24 > max_rings24 ? want24 : max_rings24;
		if (step % 29 == 0 || step > REF_STEPS - 5) {
			for (size_t i = 0; i < REF_PEERS; i++)
				ref_check(st, ref, i, rnd() % 4 ? STATS_HISTORY_24H : rnd() % 50);
			checks++;
		}
	}
	/* The never-busy and the long-idle peers hold nothing at the end. */
	CHECK(checks > 300);
	CHECK(max_rings >= 10 && max_rings24 >= 10);
	{
		struct stats_usage u;
		stats_usage(st, &u);
		CHECK(u.rings < REF_PEERS - REF_PEERS / 6 * 2);
		CHECK(u.rings_24h < REF_PEERS - REF_PEERS / 6);
	}
	for (size_t i = 0; i < REF_PEERS; i++) {
		free(ref[i].pts);
		free(ref[i].pts24);
	}
	stats_free(st);
}

int main(void)
{
	RUN(test_rings_wrap);
	RUN(test_clock_back);
	RUN(test_no_allocation_per_sample);
	RUN(test_idle_peers_hold_no_ring);
	RUN(test_idle_peer_gives_ring_back);
	RUN(test_matches_naive_model);
	TEST_EXIT();
}
