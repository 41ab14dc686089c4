/*
 * stats.h - peer statistics of the running server: the live values the
 * peer views show (endpoint, latest handshake, rx/tx, online) and a short
 * in-memory history (the last STATS_HISTORY samples, one every
 * STATS_INTERVAL_SEC: one hour) for GET /v1/stats, and a coarse one (the
 * last STATS_HISTORY_24H samples, the first of each minute: 24 hours) for
 * GET /v1/stats?range=24h.
 *
 * Memory: proportional to the peers that had traffic within a ring's
 * window.  A peer's entry is 224 bytes; its points in a ring are
 * kept in a buffer (5.6 KiB for the hour, 22.5 KiB for the 24 hours)
 * allocated only at the first sample whose rx or tx differs from the one
 * before it (a handshake moves them too), and freed once the ring's whole
 * window is flat again.  Until then every point of the peer is the same
 * pair of counters, kept once: the readers answer exactly as if each
 * point were stored.  A sample allocates nothing but those buffers.
 *
 * Peers are known by public key (the data plane knows nothing else); the
 * admin API maps names to keys through the control layer.  Nothing here is
 * secret: public keys and counters only.
 *
 * Threads: stats_update() and stats_sample() run on the server's
 * statistics timer (off the packet loop: the loop only answers the
 * driver's get); the readers run on API threads.  One mutex in
 * struct stats, a leaf: nothing else is taken while holding it.
 */
#ifndef ZWG_STATS_H
#define ZWG_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATS_HISTORY 360
#define STATS_INTERVAL_SEC 10
#define STATS_HISTORY_24H 1440
#define STATS_INTERVAL_24H_SEC 60
#define STATS_ONLINE_SEC 180	/* online = a handshake within this */

struct driver;
struct stats;
struct uapi_config;

struct stats_live {
	char endpoint[64];		/* "1.2.3.4:51820", "[::1]:51820", "" = none */
	int64_t latest_handshake;	/* unix seconds, 0 = never */
	uint64_t rx_bytes, tx_bytes;
};

struct stats_point {
	int64_t t;			/* unix seconds */
	uint64_t rx_bytes, tx_bytes;
};

struct stats *stats_new(void);	/* NULL with errno */
void stats_free(struct stats *st);

/*
 * Refreshes the live values of every peer in cfg (a statistics snapshot of
 * the data plane: driver_get_stats), and forgets peers it no longer has.
 * With history, also appends a sample at time now (unix seconds) to every
 * peer's ring, and to the 24-hour ring when now is in another minute than
 * its last sample.  0 or -ENOMEM.
 */
int stats_update(struct stats *st, const struct uapi_config *cfg, int64_t now, bool history);
/* Takes the snapshot from drv and updates: 0 or -errno. */
int stats_sample(struct stats *st, struct driver *drv, int64_t now, bool history);

/* The live values of the peer with that key; false if the device has no
 * such peer (disabled, or not sampled yet). */
bool stats_get(struct stats *st, const uint8_t public_key[32], struct stats_live *out);
/* Copies the peer's history, oldest first, at most max points; returns
 * the number copied (0 for an unknown peer). */
size_t stats_history(struct stats *st, const uint8_t public_key[32], struct stats_point *out,
		     size_t max);
/* The same from the 24-hour ring (one point a minute). */
size_t stats_history_24h(struct stats *st, const uint8_t public_key[32], struct stats_point *out,
			 size_t max);
/* What the statistics hold: peers, ring buffers allocated (the hour's,
 * the 24 hours'), and their bytes (malloc's overhead aside). */
struct stats_usage {
	size_t peers, rings, rings_24h, bytes;
};
void stats_usage(struct stats *st, struct stats_usage *out);

/* A handshake within the last STATS_ONLINE_SEC seconds before now. */
bool stats_online(const struct stats_live *live, int64_t now);

#endif
