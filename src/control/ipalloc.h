/*
 * ipalloc.h - tunnel addresses for new peers: the next free IPv4 host
 * address in the server's subnet and its IPv6 twin in the server's ULA /64,
 * and the ULA /64 itself (RFC 4193: fd00::/8, a random 40-bit global ID,
 * subnet ID 0).
 *
 * Allocation is a pure function of the server record and the peers that
 * exist: it takes the lowest free host number, so an address freed by a
 * revoke is reused by the next add.  The network address, the broadcast
 * address and the server's own address are never handed out.  The IPv6
 * address has the same host number as the IPv4 one (10.13.13.7 ->
 * fdxx:...::7) unless that one is taken (an imported peer), then the next
 * free one.  Relies on crypto_random() for the ULA global ID.
 */
#ifndef ZWG_IPALLOC_H
#define ZWG_IPALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "model.h"

/* Usable IPv4 subnets: /8 .. /30. */
#define IPALLOC_MIN_PREFIX 8
#define IPALLOC_MAX_PREFIX 30

/*
 * The next free pair for a new peer.  0, or -ENOSPC with the message
 * "subnet 10.13.13.0/24 is full (253 peers)", or -ENOMEM.
 */
int ipalloc_next(const struct server_record *srv, const struct peer_record *peers, size_t n_peers,
		 struct in_addr *v4, struct in6_addr *v6, struct control_error *e);

/* How many peers fit in an IPv4 subnet of this prefix (hosts - server). */
uint32_t ipalloc_capacity(uint8_t prefix);

/* A fresh RFC 4193 /64 prefix (host part zero).  0 or -EIO. */
int ipalloc_ula_generate(struct in6_addr *prefix64);

/* The subnet's network address (addr with host bits cleared). */
struct in_addr ipalloc_network(struct in_addr addr, uint8_t prefix);

#endif
