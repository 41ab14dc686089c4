/*
 * peer.h - a WireGuard peer: its handshake and keypairs, endpoint, timers,
 * cryptokey-routing prefixes, staged packets and statistics; and the
 * device's two lookup tables (public key -> peer, local index -> peer).
 *
 * Concurrency: every peer and both tables belong to the device's owner
 * thread (see device.h); nothing here locks.
 */
#ifndef ZWG_PEER_H
#define ZWG_PEER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "allowedips.h"
#include "cookie.h"
#include "messages.h"
#include "noise.h"
#include "timerheap.h"
#include "uapi.h"

struct device;

/* Where a peer is, and which of our addresses it last reached (the "sticky"
 * source, so replies leave from the address the peer talks to). */
struct endpoint {
	union uapi_sockaddr addr;	/* sa_family 0 = unknown */
	union {
		struct in_addr src4;
		struct in6_addr src6;
	};
	int src_ifindex;
	bool has_src;
};

/* Chained hash-table link for the index table. */
struct index_entry {
	struct index_entry *next;
	struct peer *peer;
	uint32_t index;
	bool hashed;
};

struct staged_packet {
	struct staged_packet *next;
	size_t len;
	uint8_t data[];
};

struct peer {
	struct device *device;
	struct peer *list_next, *list_prev;	/* device->peers, insertion order */
	struct peer *hash_next;			/* device->pubkey_table bucket */
	uint64_t internal_id;			/* for log lines: "peer(ABCD…)" */

	struct noise_handshake handshake;
	struct noise_keypairs keypairs;
	struct index_entry handshake_index;	/* hs.local_index while handshaking */
	struct index_entry keypair_index[4];	/* parallel to keypairs.slots */
	struct cookie latest_cookie;
	struct endpoint endpoint;
	struct allowedips_owner allowedips;

	/* Timers (whitepaper section 6); see timers.c. */
	struct timer timer_retransmit_handshake;
	struct timer timer_send_keepalive;
	struct timer timer_new_handshake;
	struct timer timer_zero_key_material;
	struct timer timer_persistent_keepalive;
	unsigned timer_handshake_attempts;
	uint16_t persistent_keepalive_interval;	/* seconds, 0 = off */
	bool timer_need_another_keepalive;
	bool sent_lastminute_handshake;
	uint64_t last_sent_handshake_ns;	/* 0 = never */

	/* Packets waiting for a session, oldest first (bounded). */
	struct staged_packet *staged_head, *staged_tail;
	unsigned staged_count;

	/* Statistics, as `wg show` reports them. */
	uint64_t rx_bytes, tx_bytes;
	struct timespec last_handshake_wall;	/* CLOCK_REALTIME, 0 = never */
};

/* Creates a peer with that public key (the device must not have one yet)
 * and links it into the device.  NULL with errno set. */
struct peer *peer_create(struct device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN]);
/* Unlinks, stops its timers, wipes its keys and frees it. */
void peer_remove(struct peer *peer);
/* Wipes sessions and handshake (keeps configuration). */
void peer_clear_sessions(struct peer *peer);
/* Short printable tag for logs: the first 8 base64 characters of the key. */
#define PEER_TAG_LEN 32
const char *peer_tag(const struct peer *peer, char buf[PEER_TAG_LEN]);

/* Staging of packets that wait for a handshake. */
void peer_stage_packet(struct peer *peer, const uint8_t *pkt, size_t len);
void peer_purge_staged(struct peer *peer);

/* The public-key table. */
struct peer *pubkey_table_lookup(struct device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN]);

/* The index table: local (receiver) index -> peer. */
int index_table_init(struct device *dev);
void index_table_free(struct device *dev);
/* Gives entry a fresh random index not in use, and hashes it. */
uint32_t index_table_insert_new(struct device *dev, struct index_entry *entry);
/* Hashes entry under an index it already has (moving a handshake's index
 * to its keypair). */
void index_table_insert(struct device *dev, struct index_entry *entry, uint32_t index);
void index_table_remove(struct device *dev, struct index_entry *entry);
struct index_entry *index_table_lookup(struct device *dev, uint32_t index);

/* Endpoint helpers. */
void endpoint_clear_src(struct endpoint *ep);
bool endpoint_eq(const struct endpoint *a, const struct endpoint *b);

#endif
