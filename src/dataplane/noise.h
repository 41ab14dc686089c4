/*
 * noise.h - the Noise_IKpsk2 handshake of WireGuard (whitepaper 5.4) and the
 * current/previous/next keypair rotation of a peer (whitepaper 6.1).
 *
 * Pure protocol code: no sockets, no timers, and no allocation but the
 * keypair slots (secmem: locked, non-dumpable, wiped).  Time is passed
 * in (monotonic nanoseconds for the flood check; the TAI64N timestamp is
 * read from CLOCK_REALTIME inside create_initiation).  The caller (peer.c /
 * device.c) owns the index table; noise only talks back to it through the
 * lookup callbacks and the keypair drop callback.
 *
 * Concurrency: none inside.  Each struct is owned by the thread that owns
 * the peer it belongs to.
 */
#ifndef ZWG_NOISE_H
#define ZWG_NOISE_H

#include <stdbool.h>
#include <stdint.h>
#include "messages.h"
#include "replay.h"

#define WUR __attribute__((warn_unused_result))

/* The device's own key pair, and the chaining key and hash every
 * initiation to us starts from (they depend on our public key only). */
struct noise_static_identity {
	uint8_t static_public[NOISE_PUBLIC_KEY_LEN];
	uint8_t static_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t responder_chaining_key[NOISE_HASH_LEN];
	uint8_t responder_hash[NOISE_HASH_LEN];
	bool has_identity;
};

enum noise_handshake_state {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
};

/* Per-peer handshake state.  remote_static, preshared_key,
 * precomputed_static_static, latest_timestamp and
 * last_initiation_consumption_ns survive a completed handshake; the rest is
 * wiped by noise_handshake_clear() and by begin_session. */
struct noise_handshake {
	enum noise_handshake_state state;
	uint32_t local_index;		/* our sender index for this handshake */
	uint32_t remote_index;		/* their sender index */
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t precomputed_static_static[NOISE_PUBLIC_KEY_LEN]; /* DH(s_priv, S_pub); zero if invalid */
	/* The DH above is made at the first handshake, not when the peer is
	 * added: 100,000 peers load without 100,000 scalar multiplications. */
	bool precompute_pending;
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];
	uint64_t last_initiation_consumption_ns; /* 0 = never */
};

/* One session: keys derived by begin_session. */
struct noise_keypair {
	uint8_t sending_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t receiving_key[NOISE_SYMMETRIC_KEY_LEN];
	uint64_t sending_counter;	/* next counter to send */
	struct replay_counter receiving_counter;
	uint32_t local_index;		/* what the peer puts in key_idx */
	uint32_t remote_index;		/* what we put in key_idx */
	uint64_t birthdate_ns;		/* monotonic */
	bool is_initiator;
	bool valid;			/* false once wiped */
};

/* Called when a keypair stops being current/previous/next, before it is
 * wiped, so the owner can drop local_index from its index table. */
typedef void (*noise_keypair_drop_fn)(void *ctx, struct noise_keypair *kp);

struct secmem_pool;

/* Slots for current, previous, next, plus one being built.  A slot is
 * allocated when a session is first derived into it (handshake path, never
 * the packet path) and freed by noise_keypairs_clear, so an idle peer costs
 * no keypair memory (each holds an 8,192-bit replay window).  Slots hold
 * session keys, so they come from secmem: from pool (the device's, one
 * system call per many slots) or, without one, a secmem block each. */
struct noise_keypairs {
	struct noise_keypair *current;
	struct noise_keypair *previous;
	struct noise_keypair *next;
	struct noise_keypair *slots[4];
	noise_keypair_drop_fn drop;
	void *drop_ctx;
	struct secmem_pool *pool;	/* NULL: secmem_alloc per slot */
};

/* Lookups the owner provides to the consume functions. */
typedef struct noise_handshake *(*noise_lookup_static_fn)(void *ctx,
		const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN]);
typedef struct noise_handshake *(*noise_lookup_index_fn)(void *ctx, uint32_t local_index);

/* Sets the identity from a private key (clamped copy) and derives the public
 * key.  An all-zero key clears the identity (has_identity = false). */
bool noise_static_identity_set(struct noise_static_identity *id,
			       const uint8_t private_key[NOISE_PUBLIC_KEY_LEN]) WUR;
void noise_static_identity_clear(struct noise_static_identity *id);

/* Prepares a peer's handshake: stores remote_static and the PSK (NULL = all
 * zeros) and precomputes DH(s_priv, S_pub) with the identity (if any). */
void noise_handshake_init(struct noise_handshake *hs,
			  const struct noise_static_identity *id,
			  const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			  const uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN]);
/* Marks precomputed_static_static for recomputation (done at the next
 * handshake) after the identity changed, and clears any handshake in
 * progress. */
void noise_handshake_precompute(struct noise_handshake *hs,
				const struct noise_static_identity *id);
void noise_handshake_set_psk(struct noise_handshake *hs,
			     const uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN]);
/* Wipes the in-progress state (ephemeral, hash, chaining key), state := ZEROED. */
void noise_handshake_clear(struct noise_handshake *hs);
/* Wipes everything including the PSK and remote static. */
void noise_handshake_destroy(struct noise_handshake *hs);

/* Initiator, step 1.  Fills every field but macs (left zero) and records
 * local_index as the handshake's index.  False if there is no identity, the
 * static-static DH was invalid, or crypto failed. */
bool noise_handshake_create_initiation(struct message_handshake_initiation *dst,
				       struct noise_handshake *hs,
				       const struct noise_static_identity *id,
				       uint32_t local_index) WUR;

/* Responder, step 1.  Decrypts the initiator's static key, finds its
 * handshake with lookup(), and accepts only if the timestamp is newer than
 * latest_timestamp and the last accepted initiation was at least
 * 1/INITIATIONS_PER_SECOND ago.  Returns the peer's handshake (now in state
 * CONSUMED_INITIATION) or NULL.  The caller has already checked MACs. */
struct noise_handshake *noise_handshake_consume_initiation(
		const struct message_handshake_initiation *src,
		const struct noise_static_identity *id,
		noise_lookup_static_fn lookup, void *ctx, uint64_t now_ns);

/* Responder, step 2 (state must be CONSUMED_INITIATION). */
bool noise_handshake_create_response(struct message_handshake_response *dst,
				     struct noise_handshake *hs,
				     const struct noise_static_identity *id,
				     uint32_t local_index) WUR;

/* Initiator, step 2.  Finds the handshake by receiver_index with lookup();
 * it must be in state CREATED_INITIATION.  Returns it (state
 * CONSUMED_RESPONSE) or NULL. */
struct noise_handshake *noise_handshake_consume_response(
		const struct message_handshake_response *src,
		const struct noise_static_identity *id,
		noise_lookup_index_fn lookup, void *ctx);

/* Derives the transport keys (state must be CREATED_RESPONSE for the
 * responder or CONSUMED_RESPONSE for the initiator) into kp, then clears the
 * handshake.  kp gets local_index = hs->local_index, remote_index =
 * hs->remote_index, counters at zero, birthdate now_ns, valid = true. */
bool noise_handshake_begin_session(struct noise_handshake *hs,
				   struct noise_keypair *kp, uint64_t now_ns) WUR;

/* Keypair rotation. */
void noise_keypairs_init(struct noise_keypairs *kps, noise_keypair_drop_fn drop, void *ctx);
/* Slots come from pool (objects of sizeof(struct noise_keypair)) from now
 * on; call before the first reserve. */
void noise_keypairs_set_pool(struct noise_keypairs *kps, struct secmem_pool *pool);
/* A slot not in use as current/previous/next, wiped, for begin_session;
 * NULL if memory is short. */
struct noise_keypair *noise_keypairs_reserve(struct noise_keypairs *kps);
/* Which of the four slots kp is (0..3), or -1. */
int noise_keypairs_slot(const struct noise_keypairs *kps, const struct noise_keypair *kp);
/* Installs a keypair made by begin_session.  Initiator: it becomes current
 * (old current -> previous, old next and old previous dropped).  Responder:
 * it becomes next (the old next, if any, is dropped), and moves to current
 * when the first data packet arrives on it. */
void noise_keypairs_install(struct noise_keypairs *kps, struct noise_keypair *kp);
/* After a data packet authenticated under kp: if kp is next, rotate it in
 * (previous := current, current := next).  Returns true if it rotated. */
bool noise_keypairs_received_with(struct noise_keypairs *kps, struct noise_keypair *kp);
/* The keypair whose local_index matches, among current/previous/next, or NULL. */
struct noise_keypair *noise_keypairs_find(struct noise_keypairs *kps, uint32_t local_index);
/* Drops and wipes all three, and frees (wiped) every slot. */
void noise_keypairs_clear(struct noise_keypairs *kps);

/* TAI64N of CLOCK_REALTIME, nanoseconds rounded down to a multiple of 2^24
 * so that the timestamp does not leak fine timing. */
void noise_tai64n_now(uint8_t out[NOISE_TIMESTAMP_LEN]);

#endif
