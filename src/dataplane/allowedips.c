/*
 * allowedips.c - the cryptokey routing table of allowedips.h: a binary trie
 * with path compression, one root per address family, each node owned by a
 * peer or internal (a branching point that owns nothing).
 *
 * Relies on libc only (malloc on insert; lookup touches no allocator).
 *
 * Keys are held as two 64-bit words, most significant bit first (IPv4 in the
 * top 32 bits of word 0), so matching a prefix is a masked compare of at
 * most two words and the first differing bit is one count-leading-zeros.
 *
 * Invariants, kept by insert and remove alike:
 *  - a node's key has no bit set at or beyond its cidr;
 *  - a child's cidr is greater than its parent's, the child's key agrees
 *    with the parent's on the parent's cidr bits, and the child hangs from
 *    parent->bit[b] where b is the child's key bit at position parent->cidr;
 *  - a node without an owner has exactly two children.
 * The last one makes the trie canonical: its shape, and so its memory,
 * depends only on the set of prefixes held, never on the history of inserts
 * and removes.  Removing a prefix therefore frees its node and, at most, the
 * one internal parent that is left with a single child.
 *
 * Each owner's nodes form a doubly-linked list in insertion order.  The
 * list ends in NULL going forward, and the first node's owner_prev points at
 * the last node, so appending is O(1) without a tail pointer in
 * struct allowedips_owner (the header's layout is kept as it is).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "allowedips.h"

struct allowedips_node {
	struct allowedips_node *bit[2];
	struct allowedips_node *parent;		/* NULL at a root */
	struct allowedips_owner *owner;		/* NULL: an internal node */
	struct allowedips_node *owner_next;	/* meaningful only with an owner */
	struct allowedips_node *owner_prev;
	uint64_t key[2];
	uint8_t cidr;
	uint8_t parent_bit;	/* which of parent->bit[] points here */
	bool is_v6;		/* which root, when parent is NULL */
};

/* The top n bits of a word set, n in 0..64. */
static inline uint64_t mask64(unsigned n)
{
	return n ? ~0ULL << (64 - n) : 0;
}

static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void store_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void key_load(uint64_t key[2], bool is_v6, const uint8_t *addr)
{
	if (is_v6) {
		key[0] = load_be64(addr);
		key[1] = load_be64(addr + 8);
	} else {
		key[0] = (uint64_t)addr[0] << 56 | (uint64_t)addr[1] << 48 |
			 (uint64_t)addr[2] << 40 | (uint64_t)addr[3] << 32;
		key[1] = 0;
	}
}

static void key_store(const uint64_t key[2], bool is_v6, uint8_t *addr)
{
	if (is_v6) {
		store_be64(addr, key[0]);
		store_be64(addr + 8, key[1]);
	} else {
		addr[0] = (uint8_t)(key[0] >> 56);
		addr[1] = (uint8_t)(key[0] >> 48);
		addr[2] = (uint8_t)(key[0] >> 40);
		addr[3] = (uint8_t)(key[0] >> 32);
	}
}

static void key_mask(uint64_t key[2], unsigned cidr)
{
	if (cidr >= 64) {
		key[1] &= mask64(cidr - 64);
	} else {
		key[0] &= mask64(cidr);
		key[1] = 0;
	}
}

/* true if a and b agree on their first cidr bits. */
static inline bool key_prefix_eq(const uint64_t a[2], const uint64_t b[2], unsigned cidr)
{
	if (cidr <= 64)
		return ((a[0] ^ b[0]) & mask64(cidr)) == 0;
	return a[0] == b[0] && ((a[1] ^ b[1]) & mask64(cidr - 64)) == 0;
}

/* The bit at position i (0 = most significant), i < 128. */
static inline unsigned key_bit(const uint64_t key[2], unsigned i)
{
	return (unsigned)(key[i >> 6] >> (63 - (i & 63))) & 1;
}

/* How many leading bits a and b share, at most limit. */
static unsigned key_common_bits(const uint64_t a[2], const uint64_t b[2], unsigned limit)
{
	uint64_t x = a[0] ^ b[0];
	unsigned n;

	if (x)
		n = (unsigned)__builtin_clzll(x);
	else if ((x = a[1] ^ b[1]) != 0)
		n = 64 + (unsigned)__builtin_clzll(x);
	else
		n = 128;
	return n < limit ? n : limit;
}

/* The address length in bits of family, or 0 if it is neither IPv4 nor
 * IPv6 (an IPv4-mapped IPv6 address is plain IPv6 here). */
static unsigned family_bits(int family)
{
	if (family == AF_INET)
		return 32;
	if (family == AF_INET6)
		return 128;
	return 0;
}

/* The pointer that holds n: its parent's child slot, or the root. */
static struct allowedips_node **node_slot(struct allowedips *t, struct allowedips_node *n)
{
	if (n->parent)
		return &n->parent->bit[n->parent_bit];
	return n->is_v6 ? &t->root6 : &t->root4;
}

static void node_link_child(struct allowedips_node *parent, unsigned b,
			    struct allowedips_node *child)
{
	parent->bit[b] = child;
	child->parent = parent;
	child->parent_bit = (uint8_t)b;
}

/* Puts repl where old hangs (old is left detached, its children intact). */
static void node_replace(struct allowedips *t, struct allowedips_node *old,
			 struct allowedips_node *repl)
{
	*node_slot(t, old) = repl;
	repl->parent = old->parent;
	repl->parent_bit = old->parent_bit;
}

static struct allowedips_node *node_new(const uint64_t key[2], unsigned cidr, bool is_v6)
{
	struct allowedips_node *n = malloc(sizeof(*n));

	if (!n)
		return NULL;
	n->bit[0] = n->bit[1] = NULL;
	n->parent = NULL;
	n->owner = NULL;
	n->owner_next = n->owner_prev = NULL;
	n->key[0] = key[0];
	n->key[1] = key[1];
	key_mask(n->key, cidr);
	n->cidr = (uint8_t)cidr;
	n->parent_bit = 0;
	n->is_v6 = is_v6;
	return n;
}

static void owner_append(struct allowedips_owner *o, struct allowedips_node *n)
{
	n->owner = o;
	n->owner_next = NULL;
	if (!o->first) {
		o->first = n;
		n->owner_prev = n;
	} else {
		struct allowedips_node *last = o->first->owner_prev;

		last->owner_next = n;
		n->owner_prev = last;
		o->first->owner_prev = n;
	}
	o->count++;
}

static void owner_unlink(struct allowedips_owner *o, struct allowedips_node *n)
{
	if (n == o->first) {
		o->first = n->owner_next;
		if (o->first)
			o->first->owner_prev = n->owner_prev;	/* the last */
	} else {
		n->owner_prev->owner_next = n->owner_next;
		if (n->owner_next)
			n->owner_next->owner_prev = n->owner_prev;
		else
			o->first->owner_prev = n->owner_prev;	/* new last */
	}
	n->owner = NULL;
	n->owner_next = n->owner_prev = NULL;
	o->count--;
}

/*
 * Drops n's owner and frees what is no longer needed: n itself unless it
 * still branches (two children), and then its parent if that is internal
 * and now has one child.  Nothing further up changes: an internal node
 * always had two children, so only the direct parent can lose its reason
 * to exist.
 */
static void node_remove(struct allowedips *t, struct allowedips_node *n)
{
	struct allowedips_node *child, *parent;
	unsigned b;

	owner_unlink(n->owner, n);
	if (n->bit[0] && n->bit[1])
		return;

	child = n->bit[0] ? n->bit[0] : n->bit[1];
	parent = n->parent;
	b = n->parent_bit;
	if (child)
		node_replace(t, n, child);
	else
		*node_slot(t, n) = NULL;
	free(n);

	/* A child took n's place, so parent still has two children. */
	if (child || !parent || parent->owner)
		return;
	node_replace(t, parent, parent->bit[!b]);
	free(parent);
}

/* The node holding exactly key/cidr (key masked), or NULL. */
static struct allowedips_node *node_find_exact(struct allowedips_node *node,
					       const uint64_t key[2], unsigned cidr)
{
	while (node && node->cidr <= cidr && key_prefix_eq(node->key, key, node->cidr)) {
		if (node->cidr == cidr)
			return node;
		node = node->bit[key_bit(key, node->cidr)];
	}
	return NULL;
}

void allowedips_init(struct allowedips *t)
{
	t->root4 = NULL;
	t->root6 = NULL;
}

void allowedips_owner_init(struct allowedips_owner *owner)
{
	owner->first = NULL;
	owner->count = 0;
}

/* Frees a subtree bottom-up without recursion or a stack: detach a child
 * and descend into it, free a leaf and climb back to its parent. */
static void free_subtree(struct allowedips_node *node)
{
	while (node) {
		struct allowedips_node *next;

		if (node->bit[0]) {
			next = node->bit[0];
			node->bit[0] = NULL;
		} else if (node->bit[1]) {
			next = node->bit[1];
			node->bit[1] = NULL;
		} else {
			next = node->parent;
			free(node);
		}
		node = next;
	}
}

void allowedips_free(struct allowedips *t)
{
	free_subtree(t->root4);
	free_subtree(t->root6);
	t->root4 = NULL;
	t->root6 = NULL;
}

int allowedips_insert(struct allowedips *t, int family, const uint8_t *addr,
		      uint8_t cidr, struct allowedips_owner *owner)
{
	struct allowedips_node *node, *parent, *newnode, *inner = NULL;
	uint64_t key[2];
	unsigned maxbits = family_bits(family), common = 0;
	bool is_v6 = family == AF_INET6;

	if (!owner || !maxbits || cidr > maxbits)
		return -EINVAL;
	key_load(key, is_v6, addr);
	key_mask(key, cidr);

	/* Descend through the nodes whose prefix contains ours. */
	parent = NULL;
	node = is_v6 ? t->root6 : t->root4;
	while (node && node->cidr <= cidr && key_prefix_eq(node->key, key, node->cidr)) {
		if (node->cidr == cidr) {
			/* Already here (maybe as an internal node): claim it,
			 * moving it from its old owner's list to the tail of
			 * ours; our own prefix keeps its place. */
			if (node->owner != owner) {
				if (node->owner)
					owner_unlink(node->owner, node);
				owner_append(owner, node);
			}
			return 0;
		}
		parent = node;
		node = node->bit[key_bit(key, node->cidr)];
	}

	/*
	 * node, if any, is where our prefix must go: it either lies under our
	 * prefix (common == cidr: we become its parent) or diverges from it
	 * at bit `common` (an internal node there holds both).  Allocate all
	 * we need before touching the trie so -ENOMEM leaves it unchanged.
	 */
	if (node)
		common = key_common_bits(node->key, key, cidr < node->cidr ? cidr : node->cidr);
	newnode = node_new(key, cidr, is_v6);
	if (!newnode)
		return -ENOMEM;
	if (node && common < cidr) {
		inner = node_new(key, common, is_v6);
		if (!inner) {
			free(newnode);
			return -ENOMEM;
		}
	}

	if (!node) {
		if (parent)
			node_link_child(parent, key_bit(key, parent->cidr), newnode);
		else if (is_v6)
			t->root6 = newnode;
		else
			t->root4 = newnode;
	} else if (!inner) {
		node_replace(t, node, newnode);
		node_link_child(newnode, key_bit(node->key, cidr), node);
	} else {
		node_replace(t, node, inner);
		node_link_child(inner, key_bit(node->key, common), node);
		node_link_child(inner, key_bit(key, common), newnode);
	}
	owner_append(owner, newnode);
	return 0;
}

int allowedips_remove(struct allowedips *t, int family, const uint8_t *addr,
		      uint8_t cidr, struct allowedips_owner *owner)
{
	struct allowedips_node *node;
	uint64_t key[2];
	unsigned maxbits = family_bits(family);
	bool is_v6 = family == AF_INET6;

	if (!maxbits || cidr > maxbits)
		return -EINVAL;
	key_load(key, is_v6, addr);
	key_mask(key, cidr);
	node = node_find_exact(is_v6 ? t->root6 : t->root4, key, cidr);
	/* An internal node has no owner, so owner == NULL never matches. */
	if (!node || !owner || node->owner != owner)
		return -ENOENT;
	node_remove(t, node);
	return 0;
}

void allowedips_remove_by_owner(struct allowedips *t, struct allowedips_owner *owner)
{
	while (owner->first)
		node_remove(t, owner->first);
}

struct allowedips_owner *allowedips_lookup(const struct allowedips *t, int family,
					   const uint8_t *addr)
{
	const struct allowedips_node *node;
	struct allowedips_owner *best = NULL;
	uint64_t key[2];
	unsigned maxbits = family_bits(family);
	bool is_v6 = family == AF_INET6;

	if (!maxbits)
		return NULL;
	key_load(key, is_v6, addr);

	/* Every node on the way down is a longer prefix than the last, so
	 * the last owner met is the longest match. */
	node = is_v6 ? t->root6 : t->root4;
	while (node && key_prefix_eq(node->key, key, node->cidr)) {
		if (node->owner)
			best = node->owner;
		if (node->cidr == maxbits)
			break;
		node = node->bit[key_bit(key, node->cidr)];
	}
	return best;
}

/* cb may remove the prefix it is given (the next one is read first), but
 * must not remove any other of this owner's prefixes. */
int allowedips_walk_owner(const struct allowedips_owner *owner,
			  int (*cb)(void *ctx, int family, const uint8_t *addr, uint8_t cidr),
			  void *ctx)
{
	const struct allowedips_node *n, *next;
	uint8_t addr[16];
	int ret;

	for (n = owner->first; n; n = next) {
		next = n->owner_next;
		memset(addr, 0, sizeof(addr));
		key_store(n->key, n->is_v6, addr);
		ret = cb(ctx, n->is_v6 ? AF_INET6 : AF_INET, addr, n->cidr);
		if (ret)
			return ret;
	}
	return 0;
}
