/*
 * stats.c - see stats.h.
 *
 * Peers live in an open-addressing hash table keyed by public key (keys are
 * uniformly random, so their first bytes are the hash).  The history is a
 * ring shared by all peers in time: sample number seq lands in slot
 * seq % STATS_HISTORY of the shared timestamp array and of the peer's
 * buffer (struct ring), if it has one; a peer remembers the first sample
 * it took part in, so a peer added later does not show the older slots as
 * its own.  The 24-hour ring works the same way with its own sequence,
 * taking the first sample of every minute (wall-clock minutes: now / 60).
 *
 * A point is the counters only (16 bytes; the time is the ring's).  Deltas
 * in 32 bits would halve that but not stay exact: 4 GiB in a minute is
 * 573 Mbit/s, which a busy peer reaches.
 */
#include "stats.h"
#include "driver.h"
#include "uapi.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING_NONE UINT64_MAX

/*
 * A peer's share of one ring.  Points before from (all of them while buf
 * is NULL) are flat: their counters are rx, tx.  buf is allocated at the
 * first sample whose counters differ from the point before it, and given
 * back once every point in the window is the same again (changed is a
 * whole window old), so an idle peer costs only this struct.
 */
struct ring {
	uint64_t first;			/* the first sample the peer is in */
	uint64_t from;			/* the first sample in buf; RING_NONE: none */
	uint64_t changed;		/* the newest sample unlike the one before */
	uint64_t rx, tx;		/* the counters of the flat points */
	uint64_t (*buf)[2];		/* (rx, tx) at slot s % size; NULL: all flat */
};

struct stats_peer {
	uint8_t key[32];
	bool seen;			/* in the device at the last update */
	struct stats_live live;
	struct ring hour, day;		/* STATS_HISTORY, STATS_HISTORY_24H points */
};

struct stats {
	/* Protects everything below; a leaf lock. */
	pthread_mutex_t lock;
	struct stats_peer **slots;	/* cap slots, NULL = empty */
	size_t cap, count;
	size_t bufs, bufs24;		/* ring buffers allocated (hour, day) */
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

/* Needs st->lock.  Frees a peer and its ring buffers. */
static void peer_free(struct stats *st, struct stats_peer *p)
{
	st->bufs -= p->hour.buf != NULL;
	st->bufs24 -= p->day.buf != NULL;
	free(p->hour.buf);
	free(p->day.buf);
	free(p);
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
			peer_free(st, p);
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
		if (st->slots[i])
			peer_free(st, st->slots[i]);
	free(st->slots);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* The counters of the peer's point at sample s of a ring of n points (s
 * within the window and not before r->first). */
static const uint64_t *ring_point(const struct ring *r, size_t n, uint64_t s)
{
	if (r->buf && r->from != RING_NONE && s >= r->from)
		return r->buf[s % n];
	return &r->rx;
}

static bool counters_differ(const uint64_t *a, uint64_t rx, uint64_t tx)
{
	return a[0] != rx || a[1] != tx;
}

/* Needs st->lock.  Whether appending (rx, tx) as sample s needs a buffer
 * the ring does not have: the first change since it was flat. */
static bool ring_needs_buf(const struct ring *r, uint64_t s, uint64_t rx, uint64_t tx)
{
	return !r->buf && s != r->first && counters_differ(&r->rx, rx, tx);
}

/* Needs st->lock.  Appends (rx, tx) as sample s of a ring of n points
 * (s = the ring's sequence: the sample being taken).  Cannot fail:
 * stats_update allocated the buffer first if ring_needs_buf said so.
 * Gives the buffer back (*bufs counts them) when the window is flat. */
static void ring_append(struct ring *r, size_t n, size_t *bufs, uint64_t s, uint64_t rx,
			uint64_t tx)
{
	if (s == r->first) {
		/* The peer's first point: nothing before it to differ from. */
		r->rx = rx;
		r->tx = tx;
		return;
	}
	if (counters_differ(ring_point(r, n, s - 1), rx, tx)) {
		if (!r->buf) {
			/* Only a snapshot with the key twice gets here (the
			 * first pass saw the other counters): the last wins. */
			r->rx = rx;
			r->tx = tx;
			return;
		}
		if (r->from == RING_NONE)
			r->from = s;
		r->changed = s;
	}
	if (r->buf && r->from != RING_NONE) {
		r->buf[s % n][0] = rx;
		r->buf[s % n][1] = tx;
	}
	/* Every point from changed on is (rx, tx); once changed has left the
	 * window (n points up to s), they all are, and flat says the same.
	 * A buffer that never got a point (its update failed) goes too. */
	if (r->buf && (r->from == RING_NONE || r->changed + n <= s + 1)) {
		free(r->buf);
		r->buf = NULL;
		r->from = RING_NONE;
		r->rx = rx;
		r->tx = tx;
		(*bufs)--;
	}
}

/* Needs st->lock.  Gives the ring a buffer of n points: 0 or -ENOMEM. */
static int ring_alloc(struct ring *r, size_t n, size_t *bufs)
{
	r->buf = malloc(n * sizeof(r->buf[0]));
	if (!r->buf)
		return -ENOMEM;
	r->from = RING_NONE;
	(*bufs)++;
	return 0;
}

static void ring_init(struct ring *r, uint64_t first)
{
	memset(r, 0, sizeof(*r));
	r->first = first;
	r->from = RING_NONE;
}

/*
 * Two passes, so that a failed allocation leaves every ring as it was:
 * the first finds or adds the peers, refreshes their live values and
 * allocates the buffers this sample needs (the only step that can fail);
 * the second, only when the first succeeded, appends the points and takes
 * the sample.
 */
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
			memset(sp, 0, sizeof(*sp));
			memcpy(sp->key, key, 32);
			ring_init(&sp->hour, st->seq);
			ring_init(&sp->day, st->seq24);
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
		if (history && ring_needs_buf(&sp->hour, st->seq, p->rx_bytes, p->tx_bytes) &&
		    (ret = ring_alloc(&sp->hour, STATS_HISTORY, &st->bufs)) < 0)
			break;
		if (coarse && ring_needs_buf(&sp->day, st->seq24, p->rx_bytes, p->tx_bytes) &&
		    (ret = ring_alloc(&sp->day, STATS_HISTORY_24H, &st->bufs24)) < 0)
			break;
	}
	if (ret < 0)
		goto out;
	/* Cannot fail from here on. */
	for (size_t k = 0; history && k < cfg->n_peers; k++) {
		const struct uapi_peer *p = &cfg->peers[k];
		struct stats_peer *sp = st->slots[find_slot(st, p->public_key)];

		ring_append(&sp->hour, STATS_HISTORY, &st->bufs, st->seq, p->rx_bytes,
			    p->tx_bytes);
		if (coarse)
			ring_append(&sp->day, STATS_HISTORY_24H, &st->bufs24, st->seq24,
				    p->rx_bytes, p->tx_bytes);
	}
	if (history) {
		st->times[slot] = now;
		st->seq++;
	}
	if (coarse) {
		st->times24[slot24] = now;
		st->seq24++;
	}
	for (size_t i = 0; i < st->cap; i++)
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

/* Needs st->lock.  Copies the peer's points of a ring of n points (times:
 * the ring's, seq: its sequence), oldest first. */
static size_t copy_ring(const int64_t *times, const struct ring *r, size_t n, uint64_t seq,
			struct stats_point *out, size_t max)
{
	uint64_t from = seq > n ? seq - n : 0;
	size_t k = 0;

	if (r->first > from)
		from = r->first;
	for (uint64_t s = from; s < seq && k < max; s++) {
		const uint64_t *c = ring_point(r, n, s);
		out[k].t = times[s % n];
		out[k].rx_bytes = c[0];
		out[k].tx_bytes = c[1];
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
		n = copy_ring(st->times, &sp->hour, STATS_HISTORY, st->seq, out, max);
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
		n = copy_ring(st->times24, &sp->day, STATS_HISTORY_24H, st->seq24, out, max);
	pthread_mutex_unlock(&st->lock);
	return n;
}

void stats_usage(struct stats *st, struct stats_usage *out)
{
	pthread_mutex_lock(&st->lock);
	out->peers = st->count;
	out->rings = st->bufs;
	out->rings_24h = st->bufs24;
	out->bytes = sizeof(*st) + st->cap * sizeof(*st->slots) +
		     st->count * sizeof(struct stats_peer) +
		     st->bufs * STATS_HISTORY * sizeof(uint64_t[2]) +
		     st->bufs24 * STATS_HISTORY_24H * sizeof(uint64_t[2]);
	pthread_mutex_unlock(&st->lock);
}

bool stats_online(const struct stats_live *live, int64_t now)
{
	return live->latest_handshake > 0 && now - live->latest_handshake < STATS_ONLINE_SEC;
}
