/*
 * ipalloc.c - tunnel addresses for new peers and the server's ULA prefix
 * (ipalloc.h).
 *
 * The IPv4 search marks the host numbers in use in a bitmap of the subnet
 * (at most 2^24 bits = 2 MiB for a /8) and takes the lowest clear bit, so
 * one allocation is O(subnet + peers) with no state kept between calls:
 * the peers that exist are the only truth, and a revoked peer's address
 * comes back by itself.  The IPv6 twin is looked up in a sorted array.
 */
#include "ipalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

uint32_t ipalloc_capacity(uint8_t prefix)
{
	if (prefix < IPALLOC_MIN_PREFIX || prefix > IPALLOC_MAX_PREFIX)
		return 0;
	/* all hosts, less network, broadcast and the server */
	return (UINT32_C(1) << (32 - prefix)) - 3;
}

struct in_addr ipalloc_network(struct in_addr addr, uint8_t prefix)
{
	uint32_t mask = prefix ? 0xffffffffu << (32 - prefix) : 0;

	addr.s_addr = htonl(ntohl(addr.s_addr) & mask);
	return addr;
}

int ipalloc_ula_generate(struct in6_addr *prefix64)
{
	memset(prefix64, 0, sizeof(*prefix64));
	prefix64->s6_addr[0] = 0xfd;	/* fc00::/7 with L = 1 */
	/* RFC 4193 3.2: a pseudo-random 40-bit global ID; subnet ID 0. */
	if (!crypto_random(&prefix64->s6_addr[1], 5))
		return -EIO;
	return 0;
}

static int cmp_in6(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct in6_addr));
}

/* The address in prefix/len with host number host (host < 2^(128-len)). */
static struct in6_addr v6_with_host(const struct in6_addr *prefix, uint8_t len, uint64_t host)
{
	struct in6_addr a = *prefix;
	int i, bits = 128 - len;

	for (i = 0; i < 16; i++) {
		int keep = (int)len - i * 8;
		if (keep < 8)
			a.s6_addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
	for (i = 15; i >= 8 && host; i--) {
		a.s6_addr[i] |= (uint8_t)host;
		host >>= 8;
	}
	(void)bits;
	return a;
}

static int next_v6(const struct server_record *srv, const struct peer_record *peers, size_t n_peers,
		   uint32_t want, struct in6_addr *out, struct control_error *e)
{
	struct in6_addr *used = malloc((n_peers + 1) * sizeof(*used));
	uint64_t limit, cand = want;
	size_t n_used = 0, i, tries;
	int bits = 128 - srv->ipv6_prefix;

	if (!used) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	used[n_used++] = srv->ipv6;
	for (i = 0; i < n_peers; i++)
		if (peers[i].has_ipv6)
			used[n_used++] = peers[i].ipv6;
	qsort(used, n_used, sizeof(*used), cmp_in6);
	/* Host numbers 1 .. limit-1; the all-zero host is the subnet-router
	 * anycast address (RFC 4291 2.6.1), never a peer's. */
	limit = bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits);
	for (tries = 0; tries <= n_used; tries++) {
		struct in6_addr a;

		if (cand == 0 || cand >= limit)
			cand = 1;
		a = v6_with_host(&srv->ipv6, srv->ipv6_prefix, cand);
		if (!bsearch(&a, used, n_used, sizeof(*used), cmp_in6)) {
			*out = a;
			free(used);
			return 0;
		}
		cand++;
	}
	free(used);
	control_error_set(e, NULL, "the IPv6 prefix of the server (/%u) is full", srv->ipv6_prefix);
	return -ENOSPC;
}

int ipalloc_next(const struct server_record *srv, const struct peer_record *peers, size_t n_peers,
		 struct in_addr *v4, struct in6_addr *v6, struct control_error *e)
{
	struct in_addr net = ipalloc_network(srv->ipv4, srv->ipv4_prefix);
	uint32_t base = ntohl(net.s_addr), size, server_host, host, i;
	uint8_t *bitmap;
	char a[INET_ADDRSTRLEN];
	int ret;

	if (srv->ipv4_prefix < IPALLOC_MIN_PREFIX || srv->ipv4_prefix > IPALLOC_MAX_PREFIX) {
		control_error_set(e, "subnet", "the server's subnet /%u is not from /%d to /%d",
				  srv->ipv4_prefix, IPALLOC_MIN_PREFIX, IPALLOC_MAX_PREFIX);
		return -EINVAL;
	}
	size = UINT32_C(1) << (32 - srv->ipv4_prefix);
	server_host = ntohl(srv->ipv4.s_addr) - base;
	bitmap = calloc(size / 8 + 1, 1);
	if (!bitmap) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	bitmap[0] |= 1;					/* network */
	bitmap[(size - 1) / 8] |= (uint8_t)(1u << ((size - 1) % 8));	/* broadcast */
	bitmap[server_host / 8] |= (uint8_t)(1u << (server_host % 8));
	for (i = 0; i < n_peers; i++) {
		uint32_t h = ntohl(peers[i].ipv4.s_addr) - base;
		if (h < size)
			bitmap[h / 8] |= (uint8_t)(1u << (h % 8));
	}
	for (host = 1; host < size - 1; host++) {
		if (bitmap[host / 8] == 0xff) {
			host |= 7;
			continue;
		}
		if (!(bitmap[host / 8] & (1u << (host % 8))))
			break;
	}
	free(bitmap);
	if (host >= size - 1) {
		inet_ntop(AF_INET, &net, a, sizeof(a));
		control_error_set(e, NULL, "subnet %s/%u is full (%u peers); revoke a peer or move "
				  "to a larger subnet", a, srv->ipv4_prefix,
				  ipalloc_capacity(srv->ipv4_prefix));
		return -ENOSPC;
	}
	ret = next_v6(srv, peers, n_peers, host, v6, e);
	if (ret)
		return ret;
	v4->s_addr = htonl(base + host);
	return 0;
}
