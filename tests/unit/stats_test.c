/*
 * stats_test.c - the statistics history (src/server/stats.c): the
 * one-hour ring and the 24-hour ring (one point a minute) wrap and keep
 * the newest points in order; a peer that appears later shows only its
 * own points; a peer that leaves is forgotten; and a sample allocates
 * nothing (glibc's mallinfo2 counts the heap in use; under ASan its
 * allocator is not glibc's and the check says nothing, so it is skipped).
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

static void test_no_allocation_per_sample(void)
{
	struct stats *st = stats_new();
	struct uapi_config cfg;
	size_t before, after;
	int64_t t = 1700000000;

	/* The peers are allocated at their first sample (and the table
	 * grows once more at the second: it keeps room for as many again) ... */
	config_of(&cfg, 50, t);
	CHECK_INT(stats_update(st, &cfg, t, true), 0);
	CHECK_INT(stats_update(st, &cfg, t, true), 0);
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

int main(void)
{
	RUN(test_rings_wrap);
	RUN(test_clock_back);
	RUN(test_no_allocation_per_sample);
	TEST_EXIT();
}
