/*
 * stats.c - see stats.h.
 *
 * Peers live in an open-addressing hash table keyed by public key (keys are
 * uniformly random, so their first bytes are the hash).  The history is a
 * ring shared by all peers in time: sample number seq lands in slot
 * seq % STATS_HISTORY of the shared timestamp array and of each peer's
 * counter arrays; a peer remembers the first sample it took part in, so a
 * peer added later does not show the older slots as its own.
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
};

struct stats {
	/* Protects everything below; a leaf lock. */
	pthread_mutex_t lock;
	struct stats_peer **slots;	/* cap slots, NULL = empty */
	size_t cap, count;
	uint64_t seq;			/* history samples taken */
	int64_t times[STATS_HISTORY];
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
	size_t slot = (size_t)(st->seq % STATS_HISTORY);
	bool any_gone = false;
	int ret = 0;

	pthread_mutex_lock(&st->lock);
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
	}
	if (ret == 0 && history) {
		st->times[slot] = now;
		st->seq++;
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

size_t stats_history(struct stats *st, const uint8_t public_key[32], struct stats_point *out,
		     size_t max)
{
	struct stats_peer *sp;
	size_t n = 0;

	pthread_mutex_lock(&st->lock);
	sp = st->slots[find_slot(st, public_key)];
	if (sp) {
		uint64_t from = st->seq > STATS_HISTORY ? st->seq - STATS_HISTORY : 0;
		if (sp->first_seq > from)
			from = sp->first_seq;
		for (uint64_t s = from; s < st->seq && n < max; s++) {
			size_t i = (size_t)(s % STATS_HISTORY);
			out[n].t = st->times[i];
			out[n].rx_bytes = sp->rx[i];
			out[n].tx_bytes = sp->tx[i];
			n++;
		}
	}
	pthread_mutex_unlock(&st->lock);
	return n;
}

bool stats_online(const struct stats_live *live, int64_t now)
{
	return live->latest_handshake > 0 && now - live->latest_handshake < STATS_ONLINE_SEC;
}
