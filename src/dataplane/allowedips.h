/*
 * allowedips.h - cryptokey routing table: longest-prefix match over IPv4 and
 * IPv6 (a binary trie with path compression), each prefix owned by one peer.
 *
 * Each owner (embedded in struct peer) keeps a list of its own prefixes, so
 * listing or removing one peer's prefixes costs O(its prefixes), not O(table).
 * Inserting a prefix another owner has moves it to the new owner, as the
 * kernel does.  Host bits beyond cidr are masked off on insert and lookup of
 * prefixes.  Nodes are allocated on insert (control path) only; lookup never
 * allocates.
 *
 * Concurrency: none inside; the device's owner thread calls everything.
 */
#ifndef ZWG_ALLOWEDIPS_H
#define ZWG_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

struct allowedips_node;

struct allowedips_owner {
	struct allowedips_node *first;	/* this owner's prefixes, a list */
	size_t count;
};

struct allowedips {
	struct allowedips_node *root4;
	struct allowedips_node *root6;
};

void allowedips_init(struct allowedips *t);
/* Frees every node (owners' lists become dangling: reset them first, or
 * only call this at device teardown). */
void allowedips_free(struct allowedips *t);

/* family is AF_INET (addr 4 bytes, cidr 0..32) or AF_INET6 (16 bytes,
 * 0..128).  Returns 0, -EINVAL for a bad family/cidr, -ENOMEM. */
int allowedips_insert(struct allowedips *t, int family, const uint8_t *addr,
		      uint8_t cidr, struct allowedips_owner *owner);
/* Removes the prefix only if owner owns it: 0, or -ENOENT. */
int allowedips_remove(struct allowedips *t, int family, const uint8_t *addr,
		      uint8_t cidr, struct allowedips_owner *owner);
/* Removes all of owner's prefixes. */
void allowedips_remove_by_owner(struct allowedips *t, struct allowedips_owner *owner);
/* Longest-prefix match of a full address; NULL if none. */
struct allowedips_owner *allowedips_lookup(const struct allowedips *t, int family,
					   const uint8_t *addr);
/* Calls cb for each of owner's prefixes (addr masked), in insertion order;
 * stops and returns cb's value if it is non-zero. */
int allowedips_walk_owner(const struct allowedips_owner *owner,
			  int (*cb)(void *ctx, int family, const uint8_t *addr, uint8_t cidr),
			  void *ctx);
void allowedips_owner_init(struct allowedips_owner *owner);

#endif
