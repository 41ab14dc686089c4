/*
 * stats.c - see stats.h.
 *
 * Peers live in an open-addressing hash table keyed by public key (keys are
 * uniformly random, so their first bytes are the hash).  The history is a
 * ring shared by all peers in time: sample number seq lands in slot
 * seq % STATS_HISTORY of the shared timestamp array and of each peer's
 * counter arrays; a peer remembers the first sample it took part in, so a
 * peer added later does not show the older slots as its own.  The
 * 24-hour ring works the same way with its own sequence, taking the first
 * sample of every minute (wall-clock minutes: now / 60).
 */
#include "stats.h"
#include "driver.h"
#include "uapi.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct stats_peer {
	uint8_t key[32];
	bool seen;			/* in the device at the last update */
	struct stats_live live;
	uint64_t first_seq;		/* first history sample it is in */
	uint64_t rx[STATS_HISTORY];
	uint64_t tx[STATS_HISTORY];
	uint64_t first_seq24;		/* first 24-hour sample it is in */
	uint64_t rx24[STATS_HISTORY_24H];
	uint64_t tx24[STATS_HISTORY_24H];
};

struct stats {
	/* Protects everything below; a leaf lock. */
	pthread_mutex_t lock;
	struct stats_peer **slots;	/* cap slots, NULL = empty */
	size_t cap, count;
	uint64_t seq;			/* history samples taken */
	int64_t times[STATS_HISTORY];
	uint64_t seq24;			/* 24-hour samples taken */
	int64_t times24[STATS_HISTORY_24H];
};

static size_t key_hash(const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h;
}

/* Needs st->lock.  The slot of key, or of the empty slot where it goes. */
static size_t find_slot(const struct stats *st, const uint8_t key[32])
{
	size_t i = key_hash(key) & (st->cap - 1);

	while (st->slots[i] && memcmp(st->slots[i]->key, key, 32))
		i = (i + 1) & (st->cap - 1);
	return i;
}

/* Needs st->lock.  Rebuilds the table with room for want entries, keeping
 * only the peers marked seen when drop_unseen (the others are freed). */
static int rehash(struct stats *st, size_t want, bool drop_unseen)
{
	size_t cap = 16, old_cap = st->cap;
	struct stats_peer **old = st->slots, **slots;

	while (cap < want * 2)
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	st->slots = slots;
	st->cap = cap;
	st->count = 0;
	for (size_t i = 0; i < old_cap; i++) {
		struct stats_peer *p = old[i];
		if (!p)
			continue;
		if (drop_unseen && !p->seen) {
			free(p);
			continue;
		}
		st->slots[find_slot(st, p->key)] = p;
		st->count++;
	}
	free(old);
	return 0;
}

struct stats *stats_new(void)
{
	struct stats *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	pthread_mutex_init(&st->lock, NULL);
	if (rehash(st, 8, false) < 0) {
		pthread_mutex_destroy(&st->lock);
		free(st);
		errno = ENOMEM;
		return NULL;
	}
	return st;
}

void stats_free(struct stats *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->cap; i++)
		free(st->slots[i]);
	free(st->slots);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

int stats_update(struct stats *st, const struct uapi_config *cfg, int64_t now, bool history)
{
	size_t slot, slot24;
	bool any_gone = false, coarse;
	int ret = 0;

	pthread_mutex_lock(&st->lock);
	slot = (size_t)(st->seq % STATS_HISTORY);
	slot24 = (size_t)(st->seq24 % STATS_HISTORY_24H);
	/* The first sample of a minute (any other minute: a clock set back
	 * starts a new one too). */
	coarse = history && (st->seq24 == 0 ||
			     st->times24[(st->seq24 - 1) % STATS_HISTORY_24H] /
			     STATS_INTERVAL_24H_SEC != now / STATS_INTERVAL_24H_SEC);
	if (cfg->n_peers + st->count > st->cap / 2 &&
	    (ret = rehash(st, cfg->n_peers + st->count, false)) < 0)
		goto out;
	for (size_t i = 0; i < st->cap; i++)
		if (st->slots[i])
			st->slots[i]->seen = false;
	for (size_t k = 0; k < cfg->n_peers; k++) {
		const struct uapi_peer *p = &cfg->peers[k];
		const uint8_t *key = p->public_key;
		size_t i = find_slot(st, key);
		struct stats_peer *sp = st->slots[i];

		if (!sp) {
			sp = malloc(sizeof(*sp));
			if (!sp) {
				ret = -ENOMEM;
				break;
			}
			memset(sp, 0, offsetof(struct stats_peer, rx));
			memcpy(sp->key, key, 32);
			sp->first_seq = st->seq;
			sp->first_seq24 = st->seq24;
			st->slots[i] = sp;
			st->count++;
		}
		sp->seen = true;
		sp->live.rx_bytes = p->rx_bytes;
		sp->live.tx_bytes = p->tx_bytes;
		sp->live.latest_handshake = p->last_handshake_time_sec;
		if (p->has_endpoint && p->endpoint.sa.sa_family)
			uapi_format_endpoint(&p->endpoint, sp->live.endpoint,
					     sizeof(sp->live.endpoint));
		else
			sp->live.endpoint[0] = '\0';
		if (history) {
			sp->rx[slot] = p->rx_bytes;
			sp->tx[slot] = p->tx_bytes;
		}
		if (coarse) {
			sp->rx24[slot24] = p->rx_bytes;
			sp->tx24[slot24] = p->tx_bytes;
		}
	}
	if (ret == 0 && history) {
		st->times[slot] = now;
		st->seq++;
	}
	if (ret == 0 && coarse) {
		st->times24[slot24] = now;
		st->seq24++;
	}
	for (size_t i = 0; i < st->cap && ret == 0; i++)
		if (st->slots[i] && !st->slots[i]->seen)
			any_gone = true;
	/* Removed peers: dropping them by rebuilding keeps probing simple
	 * (no tombstones); it happens only after a change. */
	if (any_gone)
		ret = rehash(st, st->count, true);
out:
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int stats_sample(struct stats *st, struct driver *drv, int64_t now, bool history)
{
	struct uapi_config cfg;
	int ret;

	uapi_config_init(&cfg);
	ret = driver_get_stats(drv, &cfg);
	if (ret == 0)
		ret = stats_update(st, &cfg, now, history);
	uapi_config_free(&cfg);
	return ret;
}

bool stats_get(struct stats *st, const uint8_t public_key[32], struct stats_live *out)
{
	struct stats_peer *sp;

	pthread_mutex_lock(&st->lock);
	sp = st->slots[find_slot(st, public_key)];
	if (sp)
		*out = sp->live;
	pthread_mutex_unlock(&st->lock);
	return sp != NULL;
}

/* Needs st->lock.  Copies a ring of size n (times, the peer's rx and tx,
 * first: the peer's first sequence, seq: the ring's), oldest first. */
static size_t copy_ring(const int64_t *times, const uint64_t *rx, const uint64_t *tx, size_t n,
			uint64_t first, uint64_t seq, struct stats_point *out, size_t max)
{
	uint64_t from = seq > n ? seq - n : 0;
	size_t k = 0;

	if (first > from)
		from = first;
	for (uint64_t s = from; s < seq && k < max; s++) {
		size_t i = (size_t)(s % n);
		out[k].t = times[i];
		out[k].rx_bytes = rx[i];
		out[k].tx_bytes = tx[i];
		k++;
	}
	return k;
}

size_t stats_history(struct stats *st, const uint8_t public_key[32], struct stats_point *out,
		     size_t max)
{
	struct stats_peer *sp;
	size_t n = 0;

	pthread_mutex_lock(&st->lock);
	sp = st->slots[find_slot(st, public_key)];
	if (sp)
		n = copy_ring(st->times, sp->rx, sp->tx, STATS_HISTORY, sp->first_seq, st->seq,
			      out, max);
	pthread_mutex_unlock(&st->lock);
	return n;
}

size_t stats_history_24h(struct stats *st, const uint8_t public_key[32], struct stats_point *out,
			 size_t max)
{
	struct stats_peer *sp;
	size_t n = 0;

	pthread_mutex_lock(&st->lock);
	sp = st->slots[find_slot(st, public_key)];
	if (sp)
		n = copy_ring(st->times24, sp->rx24, sp->tx24, STATS_HISTORY_24H, sp->first_seq24,
			      st->seq24, out, max);
	pthread_mutex_unlock(&st->lock);
	return n;
}

bool stats_online(const struct stats_live *live, int64_t now)
{
	return live->latest_handshake > 0 && now - live->latest_handshake < STATS_ONLINE_SEC;
}
