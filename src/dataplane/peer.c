/*
 * peer.c - peer lifetime, packet staging, and the device's lookup tables:
 * public key -> peer (chained, keyed by the key's first bytes: keys are
 * chosen by the operator, not by attackers) and local index -> peer
 * (chained, indices random so the buckets stay even).
 *
 * Everything here runs on the device's owner thread.  A struct peer holds
 * the peer's PSK and handshake secrets, so it comes from the device's
 * secmem pool (locked, non-dumpable, wiped when given back), as do its
 * keypair slots (noise_keypairs_set_pool).
 */
#include "peer.h"
#include "crypto.h"
#include "device.h"
#include "encoding.h"
#include "log.h"
#include "secmem.h"
#include "timers.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static size_t pubkey_bucket(const struct device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)(h & (dev->pubkey_buckets - 1));
}

static int pubkey_table_grow(struct device *dev)
{
	size_t n = dev->pubkey_buckets ? dev->pubkey_buckets * 2 : 64;
	struct peer **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	struct peer **old = dev->pubkey_table;
	size_t old_n = dev->pubkey_buckets;
	dev->pubkey_table = b;
	dev->pubkey_buckets = n;
	for (size_t i = 0; i < old_n; i++) {
		struct peer *p = old[i];
		while (p) {
			struct peer *next = p->hash_next;
			size_t k = pubkey_bucket(dev, p->handshake.remote_static);
			p->hash_next = b[k];
			b[k] = p;
			p = next;
		}
	}
	free(old);
	return 0;
}

struct peer *pubkey_table_lookup(struct device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	if (!dev->pubkey_buckets)
		return NULL;
	for (struct peer *p = dev->pubkey_table[pubkey_bucket(dev, key)]; p; p = p->hash_next)
		if (crypto_equal(p->handshake.remote_static, key, NOISE_PUBLIC_KEY_LEN))
			return p;
	return NULL;
}

static void keypair_dropped(void *ctx, struct noise_keypair *kp)
{
	struct peer *peer = ctx;
	int slot = noise_keypairs_slot(&peer->keypairs, kp);

	if (slot >= 0)
		index_table_remove(peer->device, &peer->keypair_index[slot]);
}

struct peer *peer_create(struct device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	struct peer *peer;

	if (dev->peer_count >= MAX_PEERS_PER_DEVICE) {
		errno = ENOSPC;
		return NULL;
	}
	if (dev->peer_count + 1 > dev->pubkey_buckets && pubkey_table_grow(dev) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	/* Five timers per peer may be pending at once. */
	if (timer_heap_reserve(&dev->timers, 5) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	/* Zeroed, in secmem: the handshake in it will hold the peer's keys. */
	peer = secmem_pool_get(&dev->peer_pool);
	if (!peer)
		return NULL;
	peer->device = dev;
	peer->internal_id = ++dev->next_peer_id;
	noise_handshake_init(&peer->handshake, dev->identity, public_key, NULL);
	noise_keypairs_init(&peer->keypairs, keypair_dropped, peer);
	noise_keypairs_set_pool(&peer->keypairs, &dev->keypair_pool);
	cookie_init(&peer->latest_cookie, public_key);
	allowedips_owner_init(&peer->allowedips);
	peer->handshake_index.peer = peer;
	for (size_t i = 0; i < 4; i++)
		peer->keypair_index[i].peer = peer;
	timers_init(peer);

	size_t k = pubkey_bucket(dev, public_key);
	peer->hash_next = dev->pubkey_table[k];
	dev->pubkey_table[k] = peer;
	peer->list_prev = dev->peers_tail;
	if (dev->peers_tail)
		dev->peers_tail->list_next = peer;
	else
		dev->peers_head = peer;
	dev->peers_tail = peer;
	dev->peer_count++;
	return peer;
}

void peer_clear_sessions(struct peer *peer)
{
	noise_keypairs_clear(&peer->keypairs);
	index_table_remove(peer->device, &peer->handshake_index);
	noise_handshake_clear(&peer->handshake);
	cookie_wipe(&peer->latest_cookie);
	cookie_init(&peer->latest_cookie, peer->handshake.remote_static);
}

void peer_remove(struct peer *peer)
{
	struct device *dev = peer->device;
	size_t k = pubkey_bucket(dev, peer->handshake.remote_static);

	for (struct peer **pp = &dev->pubkey_table[k]; *pp; pp = &(*pp)->hash_next) {
		if (*pp == peer) {
			*pp = peer->hash_next;
			break;
		}
	}
	if (peer->list_prev)
		peer->list_prev->list_next = peer->list_next;
	else
		dev->peers_head = peer->list_next;
	if (peer->list_next)
		peer->list_next->list_prev = peer->list_prev;
	else
		dev->peers_tail = peer->list_prev;
	dev->peer_count--;

	timers_stop(peer);
	allowedips_remove_by_owner(&dev->allowedips, &peer->allowedips);
	peer_purge_staged(peer);
	peer_clear_sessions(peer);
	noise_handshake_destroy(&peer->handshake);
	cookie_wipe(&peer->latest_cookie);
	secmem_pool_put(&dev->peer_pool, peer);	/* wipes all of it */
}

const char *peer_tag(const struct peer *peer, char buf[PEER_TAG_LEN])
{
	char b64[KEY_BASE64_LEN + 1];

	key_to_base64(b64, peer->handshake.remote_static);
	snprintf(buf, PEER_TAG_LEN, "peer(%.4s…%.4s)", b64, b64 + 39);
	return buf;
}

void peer_stage_packet(struct peer *peer, const uint8_t *pkt, size_t len)
{
	struct staged_packet *sp;

	/* Keep the newest MAX_STAGED_PACKETS, as the kernel does. */
	if (peer->staged_count >= MAX_STAGED_PACKETS) {
		sp = peer->staged_head;
		peer->staged_head = sp->next;
		if (!peer->staged_head)
			peer->staged_tail = NULL;
		peer->staged_count--;
		free(sp);
		device_drop(peer->device, DROP_TX_STAGED_OVERFLOW, NULL);
	}
	/* Cold path: only while a handshake is pending. */
	sp = malloc(sizeof(*sp) + len);
	if (!sp)
		return;
	sp->next = NULL;
	sp->len = len;
	memcpy(sp->data, pkt, len);
	if (peer->staged_tail)
		peer->staged_tail->next = sp;
	else
		peer->staged_head = sp;
	peer->staged_tail = sp;
	peer->staged_count++;
}

void peer_purge_staged(struct peer *peer)
{
	struct staged_packet *sp = peer->staged_head;

	while (sp) {
		struct staged_packet *next = sp->next;
		explicit_bzero(sp->data, sp->len);
		free(sp);
		sp = next;
	}
	peer->staged_head = peer->staged_tail = NULL;
	peer->staged_count = 0;
}

/* ---- index table ---- */

int index_table_init(struct device *dev)
{
	dev->index_buckets = 1024;
	dev->index_count = 0;
	dev->index_table = calloc(dev->index_buckets, sizeof(*dev->index_table));
	return dev->index_table ? 0 : -ENOMEM;
}

void index_table_free(struct device *dev)
{
	free(dev->index_table);
	dev->index_table = NULL;
	dev->index_buckets = 0;
}

static void index_table_maybe_grow(struct device *dev)
{
	if (dev->index_count < dev->index_buckets)
		return;
	size_t n = dev->index_buckets * 2;
	struct index_entry **b = calloc(n, sizeof(*b));
	if (!b)
		return;	/* longer chains, still correct */
	for (size_t i = 0; i < dev->index_buckets; i++) {
		struct index_entry *e = dev->index_table[i];
		while (e) {
			struct index_entry *next = e->next;
			e->next = b[e->index & (n - 1)];
			b[e->index & (n - 1)] = e;
			e = next;
		}
	}
	free(dev->index_table);
	dev->index_table = b;
	dev->index_buckets = n;
}

struct index_entry *index_table_lookup(struct device *dev, uint32_t index)
{
	for (struct index_entry *e = dev->index_table[index & (dev->index_buckets - 1)]; e; e = e->next)
		if (e->index == index)
			return e;
	return NULL;
}

void index_table_insert(struct device *dev, struct index_entry *entry, uint32_t index)
{
	if (entry->hashed)
		index_table_remove(dev, entry);
	index_table_maybe_grow(dev);
	entry->index = index;
	entry->next = dev->index_table[index & (dev->index_buckets - 1)];
	dev->index_table[index & (dev->index_buckets - 1)] = entry;
	entry->hashed = true;
	dev->index_count++;
}

uint32_t index_table_insert_new(struct device *dev, struct index_entry *entry)
{
	uint32_t index;

	do {
		if (!crypto_random(&index, sizeof(index)))
			fatal("no randomness for a session index");
	} while (index_table_lookup(dev, index));
	index_table_insert(dev, entry, index);
	return index;
}

void index_table_remove(struct device *dev, struct index_entry *entry)
{
	if (!entry->hashed)
		return;
	struct index_entry **pp = &dev->index_table[entry->index & (dev->index_buckets - 1)];
	for (; *pp; pp = &(*pp)->next) {
		if (*pp == entry) {
			*pp = entry->next;
			dev->index_count--;
			break;
		}
	}
	entry->next = NULL;
	entry->hashed = false;
}

void endpoint_clear_src(struct endpoint *ep)
{
	ep->has_src = false;
	ep->src_ifindex = 0;
	memset(&ep->src6, 0, sizeof(ep->src6));
}

bool endpoint_eq(const struct endpoint *a, const struct endpoint *b)
{
	if (a->addr.sa.sa_family != b->addr.sa.sa_family)
		return false;
	if (a->addr.sa.sa_family == AF_INET) {
		if (a->addr.sin.sin_port != b->addr.sin.sin_port ||
		    a->addr.sin.sin_addr.s_addr != b->addr.sin.sin_addr.s_addr)
			return false;
		return a->has_src == b->has_src && (!a->has_src || a->src4.s_addr == b->src4.s_addr);
	}
	if (a->addr.sa.sa_family == AF_INET6) {
		if (a->addr.sin6.sin6_port != b->addr.sin6.sin6_port ||
		    memcmp(&a->addr.sin6.sin6_addr, &b->addr.sin6.sin6_addr, 16) ||
		    a->addr.sin6.sin6_scope_id != b->addr.sin6.sin6_scope_id)
			return false;
		return a->has_src == b->has_src && (!a->has_src || !memcmp(&a->src6, &b->src6, 16));
	}
	return true;
}
