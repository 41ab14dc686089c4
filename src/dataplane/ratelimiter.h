/*
 * ratelimiter.h - per-source token bucket for handshake messages under load
 * (whitepaper 5.3): INITIATIONS_PER_SECOND packets per second with a burst
 * of 5, keyed by the source IPv4 /32 or IPv6 /64.
 *
 * A fixed-size table allocated at init (no allocation per packet); entries
 * idle for more than a second are reclaimed as the table fills, and when it
 * is full of live entries new sources are refused (fail closed under a
 * flood).  Keys are hashed with SipHash-like keyed mixing under a random
 * secret so an attacker cannot aim at one bucket.
 * Concurrency: none inside.
 */
#ifndef ZWG_RATELIMITER_H
#define ZWG_RATELIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RATELIMITER_PACKETS_PER_SECOND 20
#define RATELIMITER_PACKETS_BURSTABLE 5
#define RATELIMITER_TABLE_SIZE 8192	/* entries, power of two */

struct ratelimiter_entry;

struct ratelimiter {
	struct ratelimiter_entry *table;	/* RATELIMITER_TABLE_SIZE entries */
	uint64_t key[2];
	size_t live;
};

int ratelimiter_init(struct ratelimiter *rl);		/* 0 or -ENOMEM */
void ratelimiter_free(struct ratelimiter *rl);
/* true if a handshake from src (AF_INET or AF_INET6 sockaddr) may be processed now. */
bool ratelimiter_allow(struct ratelimiter *rl, const struct sockaddr *src, uint64_t now_ns);

#endif
