/*
 * ratelimiter.c - per-source token bucket for handshake messages under load
 * (whitepaper 5.3).
 *
 * Each source (IPv4 /32, IPv6 /64; an IPv4-mapped IPv6 address counts as
 * its IPv4 address) owns a bucket of RATELIMITER_PACKETS_BURSTABLE packets
 * that refills at RATELIMITER_PACKETS_PER_SECOND.  Credit is kept in
 * nanoseconds (one packet costs 1 s / RATELIMITER_PACKETS_PER_SECOND), so
 * refill is exact integer arithmetic.
 *
 * The buckets live in one open-addressed table allocated at init.  A source
 * may only sit within PROBE_WINDOW slots of its hash, and a lookup scans
 * that whole window, so a slot can be emptied at any time without breaking
 * another key's probe chain.  An entry idle for a second has refilled
 * completely (the bucket is full after a quarter second), so forgetting it
 * loses nothing: such entries are reclaimed as lookups pass over them.  When
 * a window holds only live entries, a new source is refused: under a flood
 * of spoofed sources we fail closed instead of evicting real peers.
 *
 * The slot is chosen by SipHash-2-4 under a random key, so an attacker
 * cannot aim many sources at one window.  Relies on crypto.h for the key.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "ratelimiter.h"

#define PACKET_COST	(NSEC_PER_SEC / RATELIMITER_PACKETS_PER_SECOND)
#define TOKEN_MAX	(PACKET_COST * RATELIMITER_PACKETS_BURSTABLE)
#define ENTRY_IDLE_NS	NSEC_PER_SEC
#define PROBE_WINDOW	32

_Static_assert((RATELIMITER_TABLE_SIZE & (RATELIMITER_TABLE_SIZE - 1)) == 0,
	       "table size must be a power of two");
_Static_assert(PROBE_WINDOW <= RATELIMITER_TABLE_SIZE, "probe window");
_Static_assert(ENTRY_IDLE_NS >= TOKEN_MAX, "an idle entry must have refilled");

struct ratelimiter_entry {
	uint64_t addr;		/* IPv4 address or IPv6 /64 prefix, as loaded */
	uint64_t last_ns;	/* last packet seen from this source */
	uint64_t tokens;	/* credit in nanoseconds, <= TOKEN_MAX */
	uint32_t family;	/* AF_INET or AF_INET6; 0 = empty slot */
};

static inline uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND do { \
	v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32); \
	v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32); \
} while (0)

/* SipHash-2-4 of a 16-byte message given as its two little-endian words. */
static uint64_t siphash24_2words(const uint64_t key[2], uint64_t m0, uint64_t m1)
{
	uint64_t v0 = key[0] ^ 0x736f6d6570736575ULL;
	uint64_t v1 = key[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = key[0] ^ 0x6c7967656e657261ULL;
	uint64_t v3 = key[1] ^ 0x7465646279746573ULL;
	const uint64_t last = (uint64_t)16 << 56;	/* length byte, no tail */

	v3 ^= m0; SIPROUND; SIPROUND; v0 ^= m0;
	v3 ^= m1; SIPROUND; SIPROUND; v0 ^= m1;
	v3 ^= last; SIPROUND; SIPROUND; v0 ^= last;
	v2 ^= 0xff;
	SIPROUND; SIPROUND; SIPROUND; SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The bucket key of a source: family and the address bits that count. */
static bool source_key(const struct sockaddr *src, uint32_t *family, uint64_t *addr)
{
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)src;
		uint32_t a;

		memcpy(&a, &sin->sin_addr, sizeof(a));
		*family = AF_INET;
		*addr = a;
		return true;
	}
	if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)src;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			uint32_t a;

			memcpy(&a, &sin6->sin6_addr.s6_addr[12], sizeof(a));
			*family = AF_INET;
			*addr = a;
		} else {
			*family = AF_INET6;
			memcpy(addr, sin6->sin6_addr.s6_addr, sizeof(*addr));
		}
		return true;
	}
	return false;
}

static bool entry_is_idle(const struct ratelimiter_entry *e, uint64_t now_ns)
{
	return now_ns >= e->last_ns && now_ns - e->last_ns >= ENTRY_IDLE_NS;
}

/* Refills by the time elapsed, then takes one packet's worth if there is. */
static bool entry_take(struct ratelimiter_entry *e, uint64_t now_ns)
{
	if (now_ns > e->last_ns) {
		uint64_t elapsed = now_ns - e->last_ns;

		e->tokens = elapsed >= TOKEN_MAX - e->tokens ? TOKEN_MAX : e->tokens + elapsed;
		e->last_ns = now_ns;
	}
	if (e->tokens < PACKET_COST)
		return false;
	e->tokens -= PACKET_COST;
	return true;
}

int ratelimiter_init(struct ratelimiter *rl)
{
	memset(rl, 0, sizeof(*rl));
	rl->table = calloc(RATELIMITER_TABLE_SIZE, sizeof(*rl->table));
	if (!rl->table)
		return -ENOMEM;
	if (!crypto_random(rl->key, sizeof(rl->key))) {
		free(rl->table);
		rl->table = NULL;
		return -EIO;
	}
	return 0;
}

void ratelimiter_free(struct ratelimiter *rl)
{
	free(rl->table);
	rl->table = NULL;
	explicit_bzero(rl->key, sizeof(rl->key));
	rl->live = 0;
}

bool ratelimiter_allow(struct ratelimiter *rl, const struct sockaddr *src, uint64_t now_ns)
{
	struct ratelimiter_entry *free_slot = NULL;
	uint32_t family;
	uint64_t addr;
	size_t h, i;

	if (!rl->table || !src || !source_key(src, &family, &addr))
		return false;

	h = (size_t)siphash24_2words(rl->key, family, addr);
	for (i = 0; i < PROBE_WINDOW; i++) {
		struct ratelimiter_entry *e =
			&rl->table[(h + i) & (RATELIMITER_TABLE_SIZE - 1)];

		if (e->family == 0) {
			if (!free_slot)
				free_slot = e;
			continue;
		}
		if (e->family == family && e->addr == addr)
			return entry_take(e, now_ns);
		if (entry_is_idle(e, now_ns)) {
			e->family = 0;
			rl->live--;
			if (!free_slot)
				free_slot = e;
		}
	}
	if (!free_slot)
		return false;	/* window full of live sources: fail closed */

	free_slot->family = family;
	free_slot->addr = addr;
	free_slot->last_ns = now_ns;
	free_slot->tokens = TOKEN_MAX - PACKET_COST;	/* a new source spends one */
	rl->live++;
	return true;
}
