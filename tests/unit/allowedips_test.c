/*
 * allowedips_test.c - the cryptokey routing table against a naive reference.
 *
 * The reference is a flat array of (family, masked prefix, cidr, owner,
 * insertion sequence) with a linear longest-prefix scan, written byte by
 * byte so it shares no code or representation with the trie.  Random
 * phases of inserts, moves and removes (prefixes drawn near a few bases so
 * the trie splits often) are checked against it on random addresses, on
 * the edges of every held prefix and one past them, and on every owner's
 * walk.  Heap use is measured to show removal frees what insert took and
 * that churn leaves no garbage behind.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "allowedips.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
/* From libasan (sanitizer/allocator_interface.h, not shipped by every gcc). */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
#include <malloc.h>
/* glibc counts chunks parked in its per-thread cache as in use, and how
 * many are parked depends on history; fill the cache for every small size
 * first so two measurements differ only by what the program holds. */
static size_t heap_in_use(void)
{
	void *p[16][16];

	for (int s = 0; s < 16; s++)
		for (int i = 0; i < 16; i++)
			p[s][i] = malloc(16 * (size_t)(s + 1));
	for (int s = 0; s < 16; s++)
		for (int i = 0; i < 16; i++)
			free(p[s][i]);
	return mallinfo2().uordblks;
}
#endif

#define NOWNERS 64
#define MAX_REF 8192

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* splitmix64: fixed seed, so a failure reproduces. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* ---- the reference ---- */

struct ref_entry {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
	int owner;
	uint64_t seq;
};

static struct ref_entry ref[MAX_REF];
static size_t nref;
static uint64_t ref_seq;

static void mask_bytes(uint8_t *out, const uint8_t *in, unsigned len, unsigned cidr)
{
	for (unsigned i = 0; i < len; i++) {
		unsigned keep = cidr >= 8 * (i + 1) ? 8 : cidr > 8 * i ? cidr - 8 * i : 0;

		out[i] = in[i] & (uint8_t)(0xff00u >> keep);
	}
}

/* Byte by byte: whole bytes of the prefix, then the partial one. */
static bool ref_contains(const struct ref_entry *e, int family, const uint8_t *addr)
{
	unsigned full = e->cidr / 8, rest = e->cidr % 8;

	if (e->family != family)
		return false;
	for (unsigned i = 0; i < full; i++)
		if (addr[i] != e->addr[i])
			return false;
	return !rest || ((addr[full] ^ e->addr[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

static long ref_find(int family, const uint8_t *addr, unsigned cidr)
{
	uint8_t m[16];

	mask_bytes(m, addr, alen(family), cidr);
	for (size_t i = 0; i < nref; i++)
		if (ref[i].family == family && ref[i].cidr == cidr &&
		    memcmp(ref[i].addr, m, alen(family)) == 0)
			return (long)i;
	return -1;
}

static void ref_insert(int family, const uint8_t *addr, unsigned cidr, int owner)
{
	long i = ref_find(family, addr, cidr);

	if (i >= 0) {
		if (ref[i].owner != owner) {
			ref[i].owner = owner;
			ref[i].seq = ++ref_seq;
		}
		return;
	}
	if (nref == MAX_REF)
		abort();
	ref[nref].family = family;
	memset(ref[nref].addr, 0, 16);
	mask_bytes(ref[nref].addr, addr, alen(family), cidr);
	ref[nref].cidr = (uint8_t)cidr;
	ref[nref].owner = owner;
	ref[nref].seq = ++ref_seq;
	nref++;
}

static void ref_delete_at(size_t i)
{
	ref[i] = ref[--nref];
}

static int ref_remove(int family, const uint8_t *addr, unsigned cidr, int owner)
{
	long i = ref_find(family, addr, cidr);

	if (i < 0 || ref[i].owner != owner)
		return -ENOENT;
	ref_delete_at((size_t)i);
	return 0;
}

static void ref_remove_owner(int owner)
{
	for (size_t i = 0; i < nref;)
		if (ref[i].owner == owner)
			ref_delete_at(i);
		else
			i++;
}

static int ref_lookup(int family, const uint8_t *addr)
{
	int best = -1, best_cidr = -1;

	for (size_t i = 0; i < nref; i++)
		if (ref[i].cidr > best_cidr && ref_contains(&ref[i], family, addr)) {
			best = ref[i].owner;
			best_cidr = ref[i].cidr;
		}
	return best;
}

/* ---- the table under test ---- */

static struct allowedips table;
static struct allowedips_owner owners[NOWNERS];

static int owner_index(const struct allowedips_owner *o)
{
	if (!o)
		return -1;
	if (o < owners || o >= owners + NOWNERS)
		return -2;	/* never a valid answer */
	return (int)(o - owners);
}

static void reset_all(void)
{
	allowedips_free(&table);
	allowedips_init(&table);
	for (int i = 0; i < NOWNERS; i++)
		allowedips_owner_init(&owners[i]);
	nref = 0;
}

/* A few random bases per family; prefixes are a base with a random tail
 * from a random bit on, so many share long leading runs. */
static uint8_t bases[2][4][16];

static void make_bases(void)
{
	for (int f = 0; f < 2; f++)
		for (int b = 0; b < 4; b++)
			for (int i = 0; i < 16; i++)
				bases[f][b][i] = (uint8_t)rng();
}

static void rand_near_base(int family, uint8_t *addr)
{
	unsigned bits = 8 * alen(family), from = (unsigned)(rng() % (bits + 1));

	memcpy(addr, bases[family == AF_INET6][rng() % 4], 16);
	for (unsigned i = from; i < bits; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));

		addr[i / 8] = (uint8_t)((addr[i / 8] & ~m) | (rng() & 1 ? m : 0));
	}
}

static unsigned rand_cidr(int family)
{
	unsigned bits = 8 * alen(family);

	if (rng() % 2)
		return bits - (unsigned)(rng() % 9);	/* host-like routes */
	return (unsigned)(rng() % (bits + 1));
}

static int rand_family(void)
{
	return rng() % 2 ? AF_INET : AF_INET6;
}

/* ---- comparisons ---- */

static unsigned lookups_checked;

static void check_lookup(int family, const uint8_t *addr)
{
	int want = ref_lookup(family, addr);
	int got = owner_index(allowedips_lookup(&table, family, addr));

	lookups_checked++;
	if (got != want) {
		test_failed_checks++;
		fprintf(stderr, "  lookup mismatch family %d: got owner %d, want %d\n",
			family, got, want);
	}
}

/* addr += delta (+1 or -1) as a big-endian integer, wrapping. */
static void addr_step(uint8_t *addr, unsigned len, int delta)
{
	for (int i = (int)len - 1; i >= 0; i--) {
		addr[i] = (uint8_t)(addr[i] + delta);
		if ((delta > 0 && addr[i] != 0) || (delta < 0 && addr[i] != 0xff))
			break;
	}
}

static void check_edges_of(const struct ref_entry *e)
{
	unsigned len = alen(e->family);
	uint8_t first[16], last[16], a[16];

	memcpy(first, e->addr, 16);
	memcpy(last, e->addr, 16);
	for (unsigned i = e->cidr; i < 8 * len; i++)
		last[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	check_lookup(e->family, first);
	check_lookup(e->family, last);
	memcpy(a, first, 16);
	addr_step(a, len, -1);
	check_lookup(e->family, a);
	memcpy(a, last, 16);
	addr_step(a, len, +1);
	check_lookup(e->family, a);
}

struct walk_rec {
	int n;
	int family[MAX_REF];
	uint8_t addr[MAX_REF][16];
	uint8_t cidr[MAX_REF];
};

static struct walk_rec walked;

static int record_cb(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct walk_rec *w = ctx;

	if (w->n == MAX_REF)
		return -E2BIG;
	w->family[w->n] = family;
	memset(w->addr[w->n], 0, 16);
	memcpy(w->addr[w->n], addr, alen(family));
	w->cidr[w->n] = cidr;
	w->n++;
	return 0;
}

/* The owner's walk must list exactly its reference entries, oldest first. */
static void check_walk(int o)
{
	size_t idx[MAX_REF], n = 0;

	for (size_t i = 0; i < nref; i++)
		if (ref[i].owner == o)
			idx[n++] = i;
	for (size_t i = 1; i < n; i++)		/* insertion sort by seq */
		for (size_t j = i, tmp; j > 0 && ref[idx[j - 1]].seq > ref[idx[j]].seq; j--)
			tmp = idx[j], idx[j] = idx[j - 1], idx[j - 1] = tmp;

	walked.n = 0;
	CHECK_INT(allowedips_walk_owner(&owners[o], record_cb, &walked), 0);
	CHECK_INT(owners[o].count, n);
	CHECK_INT(walked.n, n);
	for (size_t i = 0; i < n && (int)i < walked.n; i++) {
		const struct ref_entry *e = &ref[idx[i]];

		if (walked.family[i] != e->family || walked.cidr[i] != e->cidr ||
		    memcmp(walked.addr[i], e->addr, 16) != 0) {
			test_failed_checks++;
			fprintf(stderr, "  walk of owner %d differs at %zu\n", o, i);
			break;
		}
	}
}

/* Random addresses, the edges of `edges` random prefixes held (all of them
 * if edges is 0), and every owner's walk. */
static void check_everything(unsigned random_lookups, unsigned edges)
{
	uint8_t a[16];

	for (unsigned i = 0; i < random_lookups; i++) {
		int family = rand_family();

		if (i % 2) {
			for (int j = 0; j < 16; j++)
				a[j] = (uint8_t)rng();
		} else {
			rand_near_base(family, a);
		}
		check_lookup(family, a);
	}
	if (edges == 0 || edges >= nref) {
		for (size_t i = 0; i < nref; i++)
			check_edges_of(&ref[i]);
	} else {
		for (unsigned i = 0; i < edges; i++)
			check_edges_of(&ref[rng() % nref]);
	}
	for (int o = 0; o < NOWNERS; o++)
		check_walk(o);
}

/* ---- tests ---- */

static void test_host_bits_masked(void)
{
	const uint8_t a4[4] = { 10, 0, 0, 1 }, in4[4] = { 10, 0, 0, 200 }, out4[4] = { 10, 0, 1, 0 };
	const uint8_t want4[4] = { 10, 0, 0, 0 };
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, want6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	reset_all();
	a6[9] = 0x55;
	CHECK_INT(allowedips_insert(&table, AF_INET, a4, 24, &owners[0]), 0);
	CHECK_INT(allowedips_insert(&table, AF_INET6, a6, 64, &owners[0]), 0);
	walked.n = 0;
	CHECK_INT(allowedips_walk_owner(&owners[0], record_cb, &walked), 0);
	CHECK_INT(walked.n, 2);
	CHECK_INT(walked.family[0], AF_INET);
	CHECK_MEM(walked.addr[0], want4, 4);
	CHECK_INT(walked.cidr[0], 24);
	CHECK_INT(walked.family[1], AF_INET6);
	CHECK_MEM(walked.addr[1], want6, 16);
	CHECK_INT(walked.cidr[1], 64);
	CHECK(allowedips_lookup(&table, AF_INET, in4) == &owners[0]);
	CHECK(allowedips_lookup(&table, AF_INET, out4) == NULL);
	/* Removing by the unmasked form finds the masked prefix. */
	CHECK_INT(allowedips_remove(&table, AF_INET, in4, 24, &owners[0]), 0);
	CHECK(allowedips_lookup(&table, AF_INET, a4) == NULL);
	CHECK_INT(owners[0].count, 1);
	reset_all();
}

static void test_invalid_arguments(void)
{
	uint8_t a[16] = { 1, 2, 3, 4 };

	reset_all();
	CHECK_INT(allowedips_insert(&table, AF_UNIX, a, 8, &owners[0]), -EINVAL);
	CHECK_INT(allowedips_insert(&table, 0, a, 0, &owners[0]), -EINVAL);
	CHECK_INT(allowedips_insert(&table, AF_INET, a, 33, &owners[0]), -EINVAL);
	CHECK_INT(allowedips_insert(&table, AF_INET6, a, 129, &owners[0]), -EINVAL);
	CHECK_INT(allowedips_insert(&table, AF_INET6, a, 255, &owners[0]), -EINVAL);
	CHECK_INT(allowedips_insert(&table, AF_INET, a, 8, NULL), -EINVAL);
	CHECK_INT(allowedips_remove(&table, AF_UNIX, a, 8, &owners[0]), -EINVAL);
	CHECK_INT(allowedips_remove(&table, AF_INET, a, 33, &owners[0]), -EINVAL);
	CHECK(allowedips_lookup(&table, AF_UNIX, a) == NULL);
	CHECK(table.root4 == NULL && table.root6 == NULL);
	CHECK_INT(owners[0].count, 0);
	/* The same cidrs are fine at the limit. */
	CHECK_INT(allowedips_insert(&table, AF_INET, a, 32, &owners[0]), 0);
	CHECK_INT(allowedips_insert(&table, AF_INET6, a, 128, &owners[0]), 0);
	CHECK(allowedips_lookup(&table, AF_UNIX, a) == NULL);
	CHECK(allowedips_lookup(&table, AF_INET, a) == &owners[0]);
	reset_all();
}

static void test_remove_needs_owner(void)
{
	const uint8_t a[16] = { 192, 168, 7, 0 };

	reset_all();
	CHECK_INT(allowedips_insert(&table, AF_INET, a, 24, &owners[1]), 0);
	CHECK_INT(allowedips_remove(&table, AF_INET, a, 24, &owners[2]), -ENOENT);
	CHECK_INT(allowedips_remove(&table, AF_INET, a, 24, NULL), -ENOENT);
	CHECK_INT(allowedips_remove(&table, AF_INET, a, 23, &owners[1]), -ENOENT);
	CHECK_INT(allowedips_remove(&table, AF_INET, a, 25, &owners[1]), -ENOENT);
	CHECK_INT(allowedips_remove(&table, AF_INET6, a, 24, &owners[1]), -ENOENT);
	CHECK(allowedips_lookup(&table, AF_INET, a) == &owners[1]);
	CHECK_INT(owners[1].count, 1);
	CHECK_INT(owners[2].count, 0);
	CHECK_INT(allowedips_remove(&table, AF_INET, a, 24, &owners[1]), 0);
	CHECK_INT(allowedips_remove(&table, AF_INET, a, 24, &owners[1]), -ENOENT);
	CHECK(table.root4 == NULL);

	/* An internal node (the branch point of two /24s) owns nothing:
	 * removing it is -ENOENT, whoever asks. */
	{
		const uint8_t b[4] = { 10, 0, 0, 0 }, c[4] = { 10, 0, 1, 0 };

		CHECK_INT(allowedips_insert(&table, AF_INET, b, 24, &owners[1]), 0);
		CHECK_INT(allowedips_insert(&table, AF_INET, c, 24, &owners[2]), 0);
		CHECK_INT(allowedips_remove(&table, AF_INET, b, 23, &owners[1]), -ENOENT);
		CHECK_INT(allowedips_remove(&table, AF_INET, b, 23, NULL), -ENOENT);
		CHECK(allowedips_lookup(&table, AF_INET, b) == &owners[1]);
		CHECK(allowedips_lookup(&table, AF_INET, c) == &owners[2]);
	}
	reset_all();
}

static void test_default_route_and_hosts(void)
{
	const uint8_t any4[4] = { 0 }, net[4] = { 10, 0, 0, 0 }, host[4] = { 10, 1, 2, 3 };
	const uint8_t near[4] = { 10, 1, 2, 4 }, out[4] = { 11, 0, 0, 0 }, top[4] = { 255, 255, 255, 255 };
	uint8_t any6[16] = { 0 }, ones6[16], mapped[16] = { [10] = 0xff, [11] = 0xff, 10, 1, 2, 3 };

	reset_all();
	memset(ones6, 0xff, 16);
	CHECK_INT(allowedips_insert(&table, AF_INET, host, 32, &owners[3]), 0);
	CHECK_INT(allowedips_insert(&table, AF_INET, net, 8, &owners[2]), 0);
	CHECK(allowedips_lookup(&table, AF_INET, out) == NULL);
	CHECK_INT(allowedips_insert(&table, AF_INET, top, 0, &owners[1]), 0);	/* masked to 0/0 */
	CHECK(allowedips_lookup(&table, AF_INET, host) == &owners[3]);
	CHECK(allowedips_lookup(&table, AF_INET, near) == &owners[2]);
	CHECK(allowedips_lookup(&table, AF_INET, out) == &owners[1]);
	CHECK(allowedips_lookup(&table, AF_INET, top) == &owners[1]);
	CHECK(allowedips_lookup(&table, AF_INET, any4) == &owners[1]);
	/* Families are separate, and IPv4-mapped IPv6 is just IPv6. */
	CHECK(allowedips_lookup(&table, AF_INET6, any6) == NULL);
	CHECK(allowedips_lookup(&table, AF_INET6, mapped) == NULL);

	CHECK_INT(allowedips_insert(&table, AF_INET6, ones6, 128, &owners[4]), 0);
	CHECK_INT(allowedips_insert(&table, AF_INET6, any6, 128, &owners[5]), 0);
	CHECK(allowedips_lookup(&table, AF_INET6, any6) == &owners[5]);
	CHECK(allowedips_lookup(&table, AF_INET6, ones6) == &owners[4]);
	CHECK(allowedips_lookup(&table, AF_INET6, mapped) == NULL);
	CHECK_INT(allowedips_insert(&table, AF_INET6, ones6, 0, &owners[6]), 0);
	CHECK(allowedips_lookup(&table, AF_INET6, mapped) == &owners[6]);
	CHECK(allowedips_lookup(&table, AF_INET6, ones6) == &owners[4]);

	/* Removing the default route leaves the longer ones in place. */
	CHECK_INT(allowedips_remove(&table, AF_INET, any4, 0, &owners[1]), 0);
	CHECK(allowedips_lookup(&table, AF_INET, out) == NULL);
	CHECK(allowedips_lookup(&table, AF_INET, near) == &owners[2]);
	CHECK_INT(allowedips_remove(&table, AF_INET6, any6, 0, &owners[6]), 0);
	CHECK(allowedips_lookup(&table, AF_INET6, mapped) == NULL);
	CHECK(allowedips_lookup(&table, AF_INET6, any6) == &owners[5]);
	reset_all();
}

static void test_insertion_order_and_move(void)
{
	const uint8_t p[4][4] = { { 10, 0, 0, 0 }, { 10, 0, 1, 0 }, { 172, 16, 0, 0 }, { 10, 0, 0, 128 } };
	const uint8_t cidr[4] = { 24, 24, 12, 25 };

	reset_all();
	for (int i = 0; i < 4; i++) {
		CHECK_INT(allowedips_insert(&table, AF_INET, p[i], cidr[i], &owners[0]), 0);
		ref_insert(AF_INET, p[i], cidr[i], 0);
	}
	check_walk(0);
	/* Re-inserting one's own prefix keeps its place. */
	CHECK_INT(allowedips_insert(&table, AF_INET, p[0], cidr[0], &owners[0]), 0);
	ref_insert(AF_INET, p[0], cidr[0], 0);
	check_walk(0);
	walked.n = 0;
	CHECK_INT(allowedips_walk_owner(&owners[0], record_cb, &walked), 0);
	CHECK_INT(walked.n, 4);
	CHECK_MEM(walked.addr[0], p[0], 4);
	CHECK_MEM(walked.addr[3], p[3], 4);

	/* Another owner takes the middle one (and the last, then the first)... */
	CHECK_INT(allowedips_insert(&table, AF_INET, p[1], cidr[1], &owners[1]), 0);
	CHECK_INT(allowedips_insert(&table, AF_INET, p[3], cidr[3], &owners[1]), 0);
	CHECK_INT(allowedips_insert(&table, AF_INET, p[0], cidr[0], &owners[1]), 0);
	ref_insert(AF_INET, p[1], cidr[1], 1);
	ref_insert(AF_INET, p[3], cidr[3], 1);
	ref_insert(AF_INET, p[0], cidr[0], 1);
	check_walk(0);
	check_walk(1);
	CHECK_INT(owners[0].count, 1);
	CHECK_INT(owners[1].count, 3);
	CHECK(allowedips_lookup(&table, AF_INET, p[0]) == &owners[1]);
	/* ... and the first owner takes one back: it goes to its tail. */
	CHECK_INT(allowedips_insert(&table, AF_INET, p[3], cidr[3], &owners[0]), 0);
	ref_insert(AF_INET, p[3], cidr[3], 0);
	check_walk(0);
	check_walk(1);
	walked.n = 0;
	CHECK_INT(allowedips_walk_owner(&owners[0], record_cb, &walked), 0);
	CHECK_INT(walked.n, 2);
	CHECK_MEM(walked.addr[0], p[2], 4);
	CHECK_MEM(walked.addr[1], p[3], 4);
	reset_all();
}

struct stop_ctx {
	int calls, stop_at;
};

static int stop_cb(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct stop_ctx *s = ctx;

	return ++s->calls == s->stop_at ? 42 : 0;
}

static int remove_self_cb(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	return allowedips_remove(&table, family, addr, cidr, ctx) ? 1 : 0;
}

static void test_walk_stops_and_self_remove(void)
{
	struct stop_ctx s = { 0, 2 };
	uint8_t a[4] = { 10, 0, 0, 0 };

	reset_all();
	for (int i = 0; i < 5; i++) {
		a[2] = (uint8_t)i;
		CHECK_INT(allowedips_insert(&table, AF_INET, a, 24, &owners[7]), 0);
	}
	CHECK_INT(allowedips_walk_owner(&owners[7], stop_cb, &s), 42);
	CHECK_INT(s.calls, 2);
	s.calls = 0;
	s.stop_at = 100;
	CHECK_INT(allowedips_walk_owner(&owners[7], stop_cb, &s), 0);
	CHECK_INT(s.calls, 5);
	s.calls = 0;
	CHECK_INT(allowedips_walk_owner(&owners[8], stop_cb, &s), 0);
	CHECK_INT(s.calls, 0);
	CHECK_INT(allowedips_walk_owner(&owners[7], remove_self_cb, &owners[7]), 0);
	CHECK_INT(owners[7].count, 0);
	CHECK(owners[7].first == NULL);
	CHECK(table.root4 == NULL);
	reset_all();
}

/* All 129 prefixes of one IPv6 address, nested: an address that first
 * differs from it at bit k must resolve to the /k. */
static void test_nested_chain(void)
{
	uint8_t base[16], a[16];
	unsigned order[129];

	reset_all();
	for (int i = 0; i < 16; i++)
		base[i] = (uint8_t)rng();
	for (unsigned i = 0; i <= 128; i++)
		order[i] = i;
	for (unsigned i = 128; i > 0; i--) {
		unsigned j = (unsigned)(rng() % (i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned i = 0; i <= 128; i++) {
		CHECK_INT(allowedips_insert(&table, AF_INET6, base, (uint8_t)order[i],
					    &owners[order[i] % NOWNERS]), 0);
		ref_insert(AF_INET6, base, order[i], (int)(order[i] % NOWNERS));
	}
	for (unsigned k = 0; k < 128; k++) {
		memcpy(a, base, 16);
		a[k / 8] ^= (uint8_t)(0x80 >> (k % 8));
		CHECK(allowedips_lookup(&table, AF_INET6, a) == &owners[k % NOWNERS]);
	}
	CHECK(allowedips_lookup(&table, AF_INET6, base) == &owners[128 % NOWNERS]);
	for (unsigned i = 0; i <= 128; i++) {
		unsigned c = order[(i * 37) % 129];

		CHECK_INT(allowedips_remove(&table, AF_INET6, base, (uint8_t)c,
					    &owners[c % NOWNERS]), 0);
		CHECK_INT(ref_remove(AF_INET6, base, c, (int)(c % NOWNERS)), 0);
		if (i % 8 == 0)
			check_everything(64, 0);
	}
	CHECK(table.root6 == NULL);
	reset_all();
}

/* One random operation, applied to both, results compared. */
static void random_op(void)
{
	uint8_t a[16];
	unsigned r = (unsigned)(rng() % 1000), cidr;
	int family, o = (int)(rng() % NOWNERS), want, got;

	if (r < 500 || nref == 0) {			/* new (or repeated) prefix */
		family = rand_family();
		rand_near_base(family, a);
		cidr = rand_cidr(family);
		got = allowedips_insert(&table, family, a, (uint8_t)cidr, &owners[o]);
		CHECK_INT(got, 0);
		ref_insert(family, a, cidr, o);
		return;
	}

	struct ref_entry e = ref[rng() % nref];	/* an existing prefix */
	uint8_t host[16];

	/* Its address with random host bits: the table must mask them. */
	memcpy(host, e.addr, 16);
	for (unsigned i = e.cidr; i < 8 * alen(e.family); i++)
		if (rng() & 1)
			host[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	if (r < 700) {					/* move, or no-op */
		CHECK_INT(allowedips_insert(&table, e.family, host, e.cidr, &owners[o]), 0);
		ref_insert(e.family, host, e.cidr, o);
	} else if (r < 900) {				/* remove by its owner */
		CHECK_INT(allowedips_remove(&table, e.family, host, e.cidr, &owners[e.owner]), 0);
		CHECK_INT(ref_remove(e.family, host, e.cidr, e.owner), 0);
	} else if (r < 950) {				/* wrong owner: kept */
		o = (e.owner + 1 + (int)(rng() % (NOWNERS - 1))) % NOWNERS;
		CHECK_INT(allowedips_remove(&table, e.family, host, e.cidr, &owners[o]), -ENOENT);
		CHECK_INT(owner_index(allowedips_lookup(&table, e.family, host)),
			  ref_lookup(e.family, host));
	} else if (r < 998) {				/* random remove */
		family = rand_family();
		rand_near_base(family, a);
		cidr = rand_cidr(family);
		want = ref_remove(family, a, cidr, o);
		got = allowedips_remove(&table, family, a, (uint8_t)cidr, &owners[o]);
		CHECK_INT(got, want);
	} else {					/* drop a whole owner */
		allowedips_remove_by_owner(&table, &owners[o]);
		ref_remove_owner(o);
		CHECK_INT(owners[o].count, 0);
		CHECK(owners[o].first == NULL);
	}
}

static void test_random_against_reference(void)
{
	reset_all();
	lookups_checked = 0;
	for (int phase = 0; phase < 10; phase++) {
		for (int i = 0; i < 1500; i++)
			random_op();
		check_everything(3000, phase == 9 ? 0 : 400);
	}
	fprintf(stderr, "  %zu prefixes held, %u lookups compared\n", nref, lookups_checked);
	CHECK(nref > 1000);	/* the mix really built a big table */

	/* Drop owners one by one: nothing resolves to a dropped owner. */
	for (int o = 0; o < NOWNERS; o++) {
		size_t before = nref;

		allowedips_remove_by_owner(&table, &owners[o]);
		ref_remove_owner(o);
		CHECK_INT(owners[o].count, 0);
		if (o % 8 == 7 || before != nref)
			check_everything(o % 8 == 7 ? 500 : 0, 200);
	}
	CHECK_INT(nref, 0);
	CHECK(table.root4 == NULL);
	CHECK(table.root6 == NULL);
	allowedips_free(&table);	/* empty: must be fine */
	reset_all();
}

static void insert_random_set(size_t n, int owner_base)
{
	while (n) {
		uint8_t a[16];
		int family = rand_family(), o = owner_base + (int)(rng() % (NOWNERS / 2));
		unsigned cidr = rand_cidr(family);

		rand_near_base(family, a);
		if (ref_find(family, a, cidr) >= 0)
			continue;
		CHECK_INT(allowedips_insert(&table, family, a, (uint8_t)cidr, &owners[o]), 0);
		ref_insert(family, a, cidr, o);
		n--;
	}
}

/* The trie is canonical, so after any churn that returns to the same set
 * of prefixes the heap is exactly as big as before, and after removing
 * everything it is back where it started. */
static void test_churn_returns_memory(void)
{
	size_t empty, with_a, set_a;

	reset_all();
	empty = heap_in_use();
	insert_random_set(600, 0);	/* set A: owners 0..31 */
	set_a = nref;
	with_a = heap_in_use();
	CHECK(with_a > empty);
	fprintf(stderr, "  %zu prefixes: %zu heap bytes (%.1f per prefix)\n", set_a,
		with_a - empty, (double)(with_a - empty) / (double)set_a);

	for (int round = 0; round < 5; round++) {
		/* Set B (owners 32..63), interleaved in the trie with A;
		 * moves of A's prefixes to B's owners and back. */
		insert_random_set(1500, NOWNERS / 2);
		for (size_t i = 0; i < set_a; i += 3) {
			struct ref_entry e = ref[i];

			int other = NOWNERS / 2 + (int)(i % 7);

			CHECK_INT(allowedips_insert(&table, e.family, e.addr, e.cidr,
						    &owners[other]), 0);
			ref_insert(e.family, e.addr, e.cidr, other);
			CHECK_INT(allowedips_insert(&table, e.family, e.addr, e.cidr,
						    &owners[e.owner]), 0);
			ref_insert(e.family, e.addr, e.cidr, e.owner);
		}
		for (int o = NOWNERS / 2; o < NOWNERS; o++) {
			if (o % 2) {
				allowedips_remove_by_owner(&table, &owners[o]);
			} else {
				while (owners[o].first) {
					walked.n = 0;
					CHECK_INT(allowedips_walk_owner(&owners[o], record_cb, &walked), 0);
					int k = (int)(rng() % (unsigned)walked.n);

					CHECK_INT(allowedips_remove(&table, walked.family[k], walked.addr[k],
								    walked.cidr[k], &owners[o]), 0);
				}
			}
			ref_remove_owner(o);
		}
		CHECK_INT(nref, set_a);
		CHECK_INT(heap_in_use(), with_a);
	}
	check_everything(2000, 0);

	for (size_t i = nref; i > 0; i--) {
		struct ref_entry e = ref[rng() % nref];

		CHECK_INT(allowedips_remove(&table, e.family, e.addr, e.cidr, &owners[e.owner]), 0);
		CHECK_INT(ref_remove(e.family, e.addr, e.cidr, e.owner), 0);
	}
	CHECK(table.root4 == NULL && table.root6 == NULL);
	CHECK_INT(heap_in_use(), empty);
	reset_all();
}

static void put_be32(uint8_t *a, uint32_t v)
{
	a[0] = (uint8_t)(v >> 24), a[1] = (uint8_t)(v >> 16), a[2] = (uint8_t)(v >> 8), a[3] = (uint8_t)v;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100,000 peers with an IPv4 /32 each, and every other one an IPv6 /128
 * too, as a big server holds them; every address resolves to its peer. */
static void test_scale_100k_peers(void)
{
	enum { NPEERS = 100000 };
	struct allowedips_owner *peers = calloc(NPEERS, sizeof(*peers));
	size_t before, prefixes = 0;
	double t0, t1, t2;
	uint8_t a4[4], a6[16] = { 0xfd, 0x00, 0x12, 0x34 };
	bool all_ok = true;

	CHECK(peers != NULL);
	if (!peers)
		return;
	reset_all();
	before = heap_in_use();
	t0 = now_seconds();
	for (uint32_t i = 0; i < NPEERS; i++) {
		/* Scatter the insert order a little: multiply by an odd number. */
		uint32_t p = (i * 40503u) % NPEERS;

		allowedips_owner_init(&peers[p]);
		put_be32(a4, 0x0a000000u + p);
		all_ok &= allowedips_insert(&table, AF_INET, a4, 32, &peers[p]) == 0;
		prefixes++;
		if (p % 2 == 0) {
			put_be32(a6 + 12, p);
			all_ok &= allowedips_insert(&table, AF_INET6, a6, 128, &peers[p]) == 0;
			prefixes++;
		}
	}
	t1 = now_seconds();
	for (uint32_t p = 0; p < NPEERS; p++) {
		put_be32(a4, 0x0a000000u + p);
		all_ok &= allowedips_lookup(&table, AF_INET, a4) == &peers[p];
		put_be32(a6 + 12, p);
		all_ok &= allowedips_lookup(&table, AF_INET6, a6) == (p % 2 ? NULL : &peers[p]);
		all_ok &= peers[p].count == (p % 2 ? 1u : 2u);
	}
	t2 = now_seconds();
	CHECK(all_ok);
	/* A /32 just past the last peer is nobody's. */
	put_be32(a4, 0x0a000000u + NPEERS);
	CHECK(allowedips_lookup(&table, AF_INET, a4) == NULL);
	fprintf(stderr, "  %zu prefixes: insert %.3f s, %zu lookups %.3f s, %.1f heap bytes per prefix\n",
		prefixes, t1 - t0, (size_t)2 * NPEERS, t2 - t1,
		(double)(heap_in_use() - before) / (double)prefixes);

	for (uint32_t p = 0; p < NPEERS; p++)
		allowedips_remove_by_owner(&table, &peers[(p * 7919u) % NPEERS]);
	CHECK(table.root4 == NULL && table.root6 == NULL);
	CHECK_INT(heap_in_use(), before);
	free(peers);
	reset_all();
}

int main(void)
{
	rng_state = 0x5eed2a11d1f5ULL;
	allowedips_init(&table);
	make_bases();
	RUN(test_host_bits_masked);
	RUN(test_invalid_arguments);
	RUN(test_remove_needs_owner);
	RUN(test_default_route_and_hosts);
	RUN(test_insertion_order_and_move);
	RUN(test_walk_stops_and_self_remove);
	RUN(test_nested_chain);
	RUN(test_random_against_reference);
	RUN(test_churn_returns_memory);
	RUN(test_scale_100k_peers);
	allowedips_free(&table);
	TEST_EXIT();
}
