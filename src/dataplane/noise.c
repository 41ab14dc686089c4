/*
 * noise.c - the Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake of WireGuard
 * (whitepaper section 5.4) and the current/previous/next keypair rotation
 * (section 6.1).
 *
 * Relies on crypto.h for every primitive (BLAKE2s, HMAC-BLAKE2s KDF, X25519,
 * ChaCha20-Poly1305), on replay.h to reset a new keypair's receive window
 * and on secmem.h for the keypair slots (they hold the session keys).
 * The caller owns the index table and the clock; we only read CLOCK_REALTIME
 * for the TAI64N timestamp.
 *
 * Every consume/create function works on local copies of the chaining key,
 * hash and keys, and writes the peer's struct noise_handshake only once
 * every check has passed, so a forged or replayed message cannot disturb a
 * handshake in progress.  All locals that held key material are wiped on
 * every exit path (the single `out:` label).
 *
 *   Initiator                               Responder
 *   -> e, es, s, ss, {t}
 *                                            <- e, ee, se, psk, {}
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "crypto.h"
#include "noise.h"
#include "secmem.h"

static const char noise_construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char noise_identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/* A zero-length AEAD plaintext / KDF input still needs a valid pointer for
 * libcrypto; nothing is ever read through it. */
static const uint8_t noise_empty[1];

_Static_assert((int)NOISE_HASH_LEN == (int)BLAKE2S_HASH_LEN, "hash length");
_Static_assert((int)NOISE_PUBLIC_KEY_LEN == (int)X25519_KEY_LEN, "key length");
_Static_assert((int)NOISE_SYMMETRIC_KEY_LEN == (int)CHACHA20POLY1305_KEY_LEN, "key length");

/* hash := HASH(hash || in).  Through a temporary: crypto.h does not promise
 * that the output may alias an input. */
static bool WUR mix_hash(uint8_t hash[NOISE_HASH_LEN], const uint8_t *in, size_t len)
{
	uint8_t tmp[NOISE_HASH_LEN];
	bool ok = blake2s256(tmp, hash, NOISE_HASH_LEN, in, len);

	if (ok)
		memcpy(hash, tmp, NOISE_HASH_LEN);
	explicit_bzero(tmp, sizeof(tmp));
	return ok;
}

/* (ck, key) := KDF2(ck, in), or ck := KDF1(ck, in) when key is NULL. */
static bool WUR mix_key(uint8_t ck[NOISE_HASH_LEN], uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			const uint8_t *in, size_t len)
{
	uint8_t new_ck[NOISE_HASH_LEN], new_key[NOISE_SYMMETRIC_KEY_LEN];
	bool ok = kdf(new_ck, new_key, NULL, key ? 2 : 1, ck, in, len);

	if (ok) {
		memcpy(ck, new_ck, NOISE_HASH_LEN);
		if (key)
			memcpy(key, new_key, NOISE_SYMMETRIC_KEY_LEN);
	}
	explicit_bzero(new_ck, sizeof(new_ck));
	explicit_bzero(new_key, sizeof(new_key));
	return ok;
}

/* Mixes DH(priv, pub) into ck (and key).  x25519() refuses an all-zero
 * result, so a low-order point from the network fails here. */
static bool WUR mix_dh(uint8_t ck[NOISE_HASH_LEN], uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
		       const uint8_t priv[NOISE_PUBLIC_KEY_LEN],
		       const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t dh[NOISE_PUBLIC_KEY_LEN];
	bool ok = x25519(dh, priv, pub) && mix_key(ck, key, dh, sizeof(dh));

	explicit_bzero(dh, sizeof(dh));
	return ok;
}

/* ss: the static-static DH computed once per peer; zero means it was invalid. */
static bool WUR mix_precomputed_dh(uint8_t ck[NOISE_HASH_LEN],
				   uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
				   const uint8_t ss[NOISE_PUBLIC_KEY_LEN])
{
	if (crypto_is_zero(ss, NOISE_PUBLIC_KEY_LEN))
		return false;
	return mix_key(ck, key, ss, NOISE_PUBLIC_KEY_LEN);
}

/* psk: (ck, tau, key) := KDF3(ck, Q); hash := HASH(hash || tau). */
static bool WUR mix_psk(uint8_t ck[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN],
			uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t new_ck[NOISE_HASH_LEN], tau[NOISE_HASH_LEN];
	bool ok = kdf(new_ck, tau, key, 3, ck, psk, NOISE_SYMMETRIC_KEY_LEN) &&
		  mix_hash(hash, tau, sizeof(tau));

	if (ok)
		memcpy(ck, new_ck, NOISE_HASH_LEN);
	explicit_bzero(new_ck, sizeof(new_ck));
	explicit_bzero(tau, sizeof(tau));
	return ok;
}

/* Ci := HASH(CONSTRUCTION); Hi := HASH(Ci || IDENTIFIER);
 * Hi := HASH(Hi || Spub_r).  Both sides start from the responder's static. */
static bool WUR handshake_start(uint8_t ck[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN],
				const uint8_t responder_static[NOISE_PUBLIC_KEY_LEN])
{
	return blake2s256(ck, (const uint8_t *)noise_construction,
			  sizeof(noise_construction) - 1, NULL, 0) &&
	       blake2s256(hash, ck, NOISE_HASH_LEN, (const uint8_t *)noise_identifier,
			  sizeof(noise_identifier) - 1) &&
	       mix_hash(hash, responder_static, NOISE_PUBLIC_KEY_LEN);
}

/* e: ck := KDF1(ck, Epub); hash := HASH(hash || Epub). */
static bool WUR message_ephemeral(uint8_t ck[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN],
				  const uint8_t eph_pub[NOISE_PUBLIC_KEY_LEN])
{
	return mix_key(ck, NULL, eph_pub, NOISE_PUBLIC_KEY_LEN) &&
	       mix_hash(hash, eph_pub, NOISE_PUBLIC_KEY_LEN);
}

/* AEAD(key, 0, plain, hash), then hash := HASH(hash || ciphertext). */
static bool WUR encrypt_and_hash(uint8_t *dst, const uint8_t *plain, size_t len,
				 const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
				 uint8_t hash[NOISE_HASH_LEN])
{
	return chacha20poly1305_encrypt(dst, plain, len, hash, NOISE_HASH_LEN, 0, key) &&
	       mix_hash(hash, dst, noise_encrypted_len(len));
}

/* The inverse; the hash mixes the ciphertext, after it served as AD. */
static bool WUR decrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t src_len,
				 const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
				 uint8_t hash[NOISE_HASH_LEN])
{
	return chacha20poly1305_decrypt(dst, src, src_len, hash, NOISE_HASH_LEN, 0, key) &&
	       mix_hash(hash, src, src_len);
}

bool noise_static_identity_set(struct noise_static_identity *id,
			       const uint8_t private_key[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t clamped[NOISE_PUBLIC_KEY_LEN];
	bool ok = true;

	/* Copied before the clear, in case private_key lives inside id. */
	memcpy(clamped, private_key, NOISE_PUBLIC_KEY_LEN);
	noise_static_identity_clear(id);
	if (crypto_is_zero(clamped, sizeof(clamped)))
		goto out;
	/* RFC 7748 clamping, so the stored key is the scalar actually used. */
	clamped[0] &= 248;
	clamped[31] &= 127;
	clamped[31] |= 64;
	memcpy(id->static_private, clamped, NOISE_PUBLIC_KEY_LEN);
	ok = x25519_public_from_secret(id->static_public, id->static_private) &&
	     handshake_start(id->responder_chaining_key, id->responder_hash,
			     id->static_public);
	if (ok)
		id->has_identity = true;
	else
		noise_static_identity_clear(id);
out:
	explicit_bzero(clamped, sizeof(clamped));
	return ok;
}

void noise_static_identity_clear(struct noise_static_identity *id)
{
	explicit_bzero(id, sizeof(*id));
	id->has_identity = false;
}

void noise_handshake_init(struct noise_handshake *hs,
			  const struct noise_static_identity *id,
			  const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			  const uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN])
{
	explicit_bzero(hs, sizeof(*hs));
	hs->state = HANDSHAKE_ZEROED;
	memcpy(hs->remote_static, remote_static, NOISE_PUBLIC_KEY_LEN);
	noise_handshake_set_psk(hs, preshared_key);
	noise_handshake_precompute(hs, id);
}

void noise_handshake_precompute(struct noise_handshake *hs,
				const struct noise_static_identity *id)
{
	noise_handshake_clear(hs);
	explicit_bzero(hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
	hs->precompute_pending = id && id->has_identity;
}

/* Makes the static-static DH if it is pending.  A failed DH (low-order
 * remote key) leaves zeros, which mix_precomputed_dh() refuses: such a peer
 * can never handshake. */
static void precompute_now(struct noise_handshake *hs, const struct noise_static_identity *id)
{
	if (!hs->precompute_pending)
		return;
	hs->precompute_pending = false;
	if (!id->has_identity ||
	    !x25519(hs->precomputed_static_static, id->static_private, hs->remote_static))
		explicit_bzero(hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
}

void noise_handshake_set_psk(struct noise_handshake *hs,
			     const uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN])
{
	if (preshared_key)
		memcpy(hs->preshared_key, preshared_key, NOISE_SYMMETRIC_KEY_LEN);
	else
		explicit_bzero(hs->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
}

/* The ephemeral secret and the crypto layer's cached key object for it. */
static void wipe_ephemeral(struct noise_handshake *hs)
{
	if (!crypto_is_zero(hs->ephemeral_private, NOISE_PUBLIC_KEY_LEN))
		x25519_forget(hs->ephemeral_private);
	explicit_bzero(hs->ephemeral_private, NOISE_PUBLIC_KEY_LEN);
}

void noise_handshake_clear(struct noise_handshake *hs)
{
	wipe_ephemeral(hs);
	explicit_bzero(hs->remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	explicit_bzero(hs->hash, NOISE_HASH_LEN);
	explicit_bzero(hs->chaining_key, NOISE_HASH_LEN);
	hs->local_index = 0;
	hs->remote_index = 0;
	hs->state = HANDSHAKE_ZEROED;
}

void noise_handshake_destroy(struct noise_handshake *hs)
{
	explicit_bzero(hs, sizeof(*hs));
	hs->state = HANDSHAKE_ZEROED;
}

bool noise_handshake_create_initiation(struct message_handshake_initiation *dst,
				       struct noise_handshake *hs,
				       const struct noise_static_identity *id,
				       uint32_t local_index)
{
	uint8_t ck[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t eph_priv[NOISE_PUBLIC_KEY_LEN];
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	bool ok = false;

	memset(dst, 0, sizeof(*dst));
	if (id->has_identity)
		precompute_now(hs, id);
	if (!id->has_identity ||
	    crypto_is_zero(hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN))
		goto out;

	dst->header.type = htole32(MESSAGE_HANDSHAKE_INITIATION);
	dst->sender_index = htole32(local_index);
	if (!handshake_start(ck, hash, hs->remote_static))
		goto out;

	/* e */
	if (!x25519_generate_secret(eph_priv) ||
	    !x25519_public_from_secret(dst->unencrypted_ephemeral, eph_priv) ||
	    !message_ephemeral(ck, hash, dst->unencrypted_ephemeral))
		goto out;
	/* es */
	if (!mix_dh(ck, key, eph_priv, hs->remote_static))
		goto out;
	/* s */
	if (!encrypt_and_hash(dst->encrypted_static, id->static_public,
			      NOISE_PUBLIC_KEY_LEN, key, hash))
		goto out;
	/* ss */
	if (!mix_precomputed_dh(ck, key, hs->precomputed_static_static))
		goto out;
	/* {t} */
	noise_tai64n_now(timestamp);
	if (!encrypt_and_hash(dst->encrypted_timestamp, timestamp, NOISE_TIMESTAMP_LEN,
			      key, hash))
		goto out;

	noise_handshake_clear(hs);
	memcpy(hs->ephemeral_private, eph_priv, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->hash, hash, NOISE_HASH_LEN);
	memcpy(hs->chaining_key, ck, NOISE_HASH_LEN);
	hs->local_index = local_index;
	hs->state = HANDSHAKE_CREATED_INITIATION;
	ok = true;
out:
	if (!ok) {
		explicit_bzero(dst, sizeof(*dst));
		/* On success the ephemeral lives on in hs until wipe_ephemeral. */
		x25519_forget(eph_priv);
	}
	explicit_bzero(ck, sizeof(ck));
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(key, sizeof(key));
	explicit_bzero(eph_priv, sizeof(eph_priv));
	explicit_bzero(timestamp, sizeof(timestamp));
	return ok;
}

struct noise_handshake *noise_handshake_consume_initiation(
		const struct message_handshake_initiation *src,
		const struct noise_static_identity *id,
		noise_lookup_static_fn lookup, void *ctx, uint64_t now_ns)
{
	uint8_t ck[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t s[NOISE_PUBLIC_KEY_LEN], e[NOISE_PUBLIC_KEY_LEN];
	uint8_t t[NOISE_TIMESTAMP_LEN], ss[NOISE_PUBLIC_KEY_LEN];
	struct noise_handshake *hs, *ret = NULL;

	if (!id->has_identity ||
	    le32toh(src->header.type) != MESSAGE_HANDSHAKE_INITIATION)
		goto out;
	memcpy(ck, id->responder_chaining_key, NOISE_HASH_LEN);
	memcpy(hash, id->responder_hash, NOISE_HASH_LEN);

	/* e */
	memcpy(e, src->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	if (!message_ephemeral(ck, hash, e))
		goto out;
	/* es */
	if (!mix_dh(ck, key, id->static_private, e))
		goto out;
	/* s */
	if (!decrypt_and_hash(s, src->encrypted_static, sizeof(src->encrypted_static),
			      key, hash))
		goto out;
	hs = lookup(ctx, s);
	if (!hs || !crypto_equal(hs->remote_static, s, NOISE_PUBLIC_KEY_LEN))
		goto out;
	/* ss: made now if still pending, but kept only if the initiation is
	 * accepted (a rejected message changes nothing). */
	if (hs->precompute_pending) {
		if (!x25519(ss, id->static_private, hs->remote_static))
			goto out;
	} else {
		memcpy(ss, hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
	}
	if (!mix_precomputed_dh(ck, key, ss))
		goto out;
	/* {t} */
	if (!decrypt_and_hash(t, src->encrypted_timestamp, sizeof(src->encrypted_timestamp),
			      key, hash))
		goto out;

	/* TAI64N is big-endian, so memcmp orders it; a timestamp is not a
	 * secret, so this need not be constant time.  An equal timestamp is a
	 * replay of the last accepted initiation. */
	if (memcmp(t, hs->latest_timestamp, NOISE_TIMESTAMP_LEN) <= 0)
		goto out;
	/* Flood: at most INITIATIONS_PER_SECOND accepted per peer. */
	if (hs->last_initiation_consumption_ns != 0 &&
	    hs->last_initiation_consumption_ns + NSEC_PER_SEC / INITIATIONS_PER_SECOND > now_ns)
		goto out;

	/* Every check passed: this initiation supersedes whatever the peer's
	 * handshake held, including an initiation of our own in flight. */
	wipe_ephemeral(hs);
	memcpy(hs->remote_ephemeral, e, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->latest_timestamp, t, NOISE_TIMESTAMP_LEN);
	memcpy(hs->precomputed_static_static, ss, NOISE_PUBLIC_KEY_LEN);
	hs->precompute_pending = false;
	memcpy(hs->hash, hash, NOISE_HASH_LEN);
	memcpy(hs->chaining_key, ck, NOISE_HASH_LEN);
	hs->remote_index = le32toh(src->sender_index);
	hs->last_initiation_consumption_ns = now_ns;
	hs->state = HANDSHAKE_CONSUMED_INITIATION;
	ret = hs;
out:
	explicit_bzero(ck, sizeof(ck));
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(key, sizeof(key));
	explicit_bzero(s, sizeof(s));
	explicit_bzero(e, sizeof(e));
	explicit_bzero(t, sizeof(t));
	explicit_bzero(ss, sizeof(ss));
	return ret;
}

bool noise_handshake_create_response(struct message_handshake_response *dst,
				     struct noise_handshake *hs,
				     const struct noise_static_identity *id,
				     uint32_t local_index)
{
	uint8_t ck[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t eph_priv[NOISE_PUBLIC_KEY_LEN];
	bool ok = false;

	memset(dst, 0, sizeof(*dst));
	if (hs->state != HANDSHAKE_CONSUMED_INITIATION || !id->has_identity)
		goto out;
	memcpy(ck, hs->chaining_key, NOISE_HASH_LEN);
	memcpy(hash, hs->hash, NOISE_HASH_LEN);

	dst->header.type = htole32(MESSAGE_HANDSHAKE_RESPONSE);
	dst->sender_index = htole32(local_index);
	dst->receiver_index = htole32(hs->remote_index);

	/* e */
	if (!x25519_generate_secret(eph_priv) ||
	    !x25519_public_from_secret(dst->unencrypted_ephemeral, eph_priv) ||
	    !message_ephemeral(ck, hash, dst->unencrypted_ephemeral))
		goto out;
	/* ee */
	if (!mix_dh(ck, NULL, eph_priv, hs->remote_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(ck, NULL, eph_priv, hs->remote_static))
		goto out;
	/* psk */
	if (!mix_psk(ck, hash, key, hs->preshared_key))
		goto out;
	/* {} */
	if (!encrypt_and_hash(dst->encrypted_nothing, noise_empty, 0, key, hash))
		goto out;

	/* The responder's ephemeral is not needed past this point. */
	wipe_ephemeral(hs);
	memcpy(hs->hash, hash, NOISE_HASH_LEN);
	memcpy(hs->chaining_key, ck, NOISE_HASH_LEN);
	hs->local_index = local_index;
	hs->state = HANDSHAKE_CREATED_RESPONSE;
	ok = true;
out:
	if (!ok)
		explicit_bzero(dst, sizeof(*dst));
	explicit_bzero(ck, sizeof(ck));
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(key, sizeof(key));
	/* The responder's ephemeral is done with either way. */
	x25519_forget(eph_priv);
	explicit_bzero(eph_priv, sizeof(eph_priv));
	return ok;
}

struct noise_handshake *noise_handshake_consume_response(
		const struct message_handshake_response *src,
		const struct noise_static_identity *id,
		noise_lookup_index_fn lookup, void *ctx)
{
	uint8_t ck[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t eph_priv[NOISE_PUBLIC_KEY_LEN], e[NOISE_PUBLIC_KEY_LEN];
	uint8_t nothing[1];
	struct noise_handshake *hs, *ret = NULL;
	uint32_t receiver_index = le32toh(src->receiver_index);

	if (!id->has_identity ||
	    le32toh(src->header.type) != MESSAGE_HANDSHAKE_RESPONSE)
		goto out;
	hs = lookup(ctx, receiver_index);
	if (!hs || hs->state != HANDSHAKE_CREATED_INITIATION ||
	    hs->local_index != receiver_index)
		goto out;
	memcpy(ck, hs->chaining_key, NOISE_HASH_LEN);
	memcpy(hash, hs->hash, NOISE_HASH_LEN);
	memcpy(eph_priv, hs->ephemeral_private, NOISE_PUBLIC_KEY_LEN);

	/* e */
	memcpy(e, src->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	if (!message_ephemeral(ck, hash, e))
		goto out;
	/* ee */
	if (!mix_dh(ck, NULL, eph_priv, e))
		goto out;
	/* se */
	if (!mix_dh(ck, NULL, id->static_private, e))
		goto out;
	/* psk */
	if (!mix_psk(ck, hash, key, hs->preshared_key))
		goto out;
	/* {} */
	if (!decrypt_and_hash(nothing, src->encrypted_nothing, sizeof(src->encrypted_nothing),
			      key, hash))
		goto out;

	/* Forward secrecy: the initiator's ephemeral has done its job. */
	wipe_ephemeral(hs);
	memcpy(hs->remote_ephemeral, e, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->hash, hash, NOISE_HASH_LEN);
	memcpy(hs->chaining_key, ck, NOISE_HASH_LEN);
	hs->remote_index = le32toh(src->sender_index);
	hs->state = HANDSHAKE_CONSUMED_RESPONSE;
	ret = hs;
out:
	explicit_bzero(ck, sizeof(ck));
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(key, sizeof(key));
	explicit_bzero(eph_priv, sizeof(eph_priv));
	explicit_bzero(e, sizeof(e));
	return ret;
}

bool noise_handshake_begin_session(struct noise_handshake *hs,
				   struct noise_keypair *kp, uint64_t now_ns)
{
	uint8_t first[NOISE_SYMMETRIC_KEY_LEN], second[NOISE_SYMMETRIC_KEY_LEN];
	bool initiator, ok = false;

	if (hs->state == HANDSHAKE_CONSUMED_RESPONSE)
		initiator = true;
	else if (hs->state == HANDSHAKE_CREATED_RESPONSE)
		initiator = false;
	else
		return false;

	/* (Tsend_i = Trecv_r, Trecv_i = Tsend_r) := KDF2(C, empty) */
	if (!kdf(first, second, NULL, 2, hs->chaining_key, noise_empty, 0))
		goto out;

	explicit_bzero(kp, sizeof(*kp));
	memcpy(kp->sending_key, initiator ? first : second, NOISE_SYMMETRIC_KEY_LEN);
	memcpy(kp->receiving_key, initiator ? second : first, NOISE_SYMMETRIC_KEY_LEN);
	kp->sending_counter = 0;
	replay_counter_init(&kp->receiving_counter);
	kp->local_index = hs->local_index;
	kp->remote_index = hs->remote_index;
	kp->birthdate_ns = now_ns;
	kp->is_initiator = initiator;
	kp->valid = true;
	noise_handshake_clear(hs);
	ok = true;
out:
	explicit_bzero(first, sizeof(first));
	explicit_bzero(second, sizeof(second));
	return ok;
}

/* Keypair rotation (whitepaper 6.1). */

static void keypair_drop(struct noise_keypairs *kps, struct noise_keypair *kp)
{
	if (!kp)
		return;
	if (kps->drop)
		kps->drop(kps->drop_ctx, kp);
	explicit_bzero(kp, sizeof(*kp));
	kp->valid = false;
}

static bool keypair_in_set(const struct noise_keypairs *kps, const struct noise_keypair *kp)
{
	return kp && (kp == kps->current || kp == kps->previous || kp == kps->next);
}

void noise_keypairs_init(struct noise_keypairs *kps, noise_keypair_drop_fn drop, void *ctx)
{
	explicit_bzero(kps, sizeof(*kps));
	kps->current = kps->previous = kps->next = NULL;
	kps->drop = drop;
	kps->drop_ctx = ctx;
	kps->pool = NULL;
}

void noise_keypairs_set_pool(struct noise_keypairs *kps, struct secmem_pool *pool)
{
	kps->pool = pool;
}

/* A zeroed slot in secmem, or NULL. */
static struct noise_keypair *slot_alloc(struct noise_keypairs *kps)
{
	if (kps->pool)
		return secmem_pool_get(kps->pool);
	return secmem_alloc(sizeof(struct noise_keypair));
}

/* Wipes and frees a slot (secmem_pool_put and secmem_free both wipe). */
static void slot_free(struct noise_keypairs *kps, struct noise_keypair *kp)
{
	if (kps->pool)
		secmem_pool_put(kps->pool, kp);
	else
		secmem_free(kp, sizeof(*kp));
}

struct noise_keypair *noise_keypairs_reserve(struct noise_keypairs *kps)
{
	size_t i;

	/* Four slots and at most three in the set: one is always free. */
	for (i = 0; i < sizeof(kps->slots) / sizeof(kps->slots[0]); i++) {
		struct noise_keypair *kp = kps->slots[i];

		if (kp && keypair_in_set(kps, kp))
			continue;
		if (!kp) {
			kp = slot_alloc(kps);
			if (!kp)
				return NULL;
			kps->slots[i] = kp;
		}
		/* It may still hold keys from a begin_session that was never
		 * installed. */
		explicit_bzero(kp, sizeof(*kp));
		kp->valid = false;
		return kp;
	}
	return NULL;
}

void noise_keypairs_install(struct noise_keypairs *kps, struct noise_keypair *kp)
{
	struct noise_keypair *old_next = kps->next;

	if (!kp || keypair_in_set(kps, kp))
		return;
	if (kp->is_initiator) {
		/* The response confirmed the keys, so they are usable now.  An
		 * unconfirmed next (a handshake we answered meanwhile) is dropped
		 * rather than demoted: it never carried data. */
		struct noise_keypair *old_previous = kps->previous;

		kps->next = NULL;
		kps->previous = kps->current;
		kps->current = kp;
		keypair_drop(kps, old_next);
		keypair_drop(kps, old_previous);
	} else {
		/* The responder may not send until the initiator has proven it
		 * holds the keys with its first data packet. */
		kps->next = kp;
		keypair_drop(kps, old_next);
	}
}

bool noise_keypairs_received_with(struct noise_keypairs *kps, struct noise_keypair *kp)
{
	struct noise_keypair *old_previous;

	if (!kp || kp != kps->next)
		return false;
	old_previous = kps->previous;
	kps->previous = kps->current;
	kps->current = kps->next;
	kps->next = NULL;
	keypair_drop(kps, old_previous);
	return true;
}

struct noise_keypair *noise_keypairs_find(struct noise_keypairs *kps, uint32_t local_index)
{
	struct noise_keypair *set[3] = { kps->current, kps->previous, kps->next };
	size_t i;

	for (i = 0; i < 3; i++)
		if (set[i] && set[i]->valid && set[i]->local_index == local_index)
			return set[i];
	return NULL;
}

void noise_keypairs_clear(struct noise_keypairs *kps)
{
	struct noise_keypair *current = kps->current, *previous = kps->previous,
			     *next = kps->next;

	kps->current = kps->previous = kps->next = NULL;
	keypair_drop(kps, current);
	keypair_drop(kps, previous);
	keypair_drop(kps, next);
	/* The spare slot may hold a reserved, never-installed keypair. */
	for (size_t i = 0; i < sizeof(kps->slots) / sizeof(kps->slots[0]); i++) {
		if (kps->slots[i]) {
			slot_free(kps, kps->slots[i]);
			kps->slots[i] = NULL;
		}
	}
}

int noise_keypairs_slot(const struct noise_keypairs *kps, const struct noise_keypair *kp)
{
	for (int i = 0; i < (int)(sizeof(kps->slots) / sizeof(kps->slots[0])); i++)
		if (kp && kps->slots[i] == kp)
			return i;
	return -1;
}

void noise_tai64n_now(uint8_t out[NOISE_TIMESTAMP_LEN])
{
	struct timespec now;
	uint64_t sec;
	uint32_t nsec;

	clock_gettime(CLOCK_REALTIME, &now);
	/* TAI64 label: 2^62 + 10 (the TAI-UTC offset of 1970) + seconds. */
	sec = htobe64(0x400000000000000aULL + (uint64_t)now.tv_sec);
	/* Round down to 2^24 ns (the largest power of two under
	 * 1 s / INITIATIONS_PER_SECOND), so the timestamp does not leak fine
	 * timing yet still advances between permitted initiations. */
	nsec = htobe32((uint32_t)now.tv_nsec & ~((1U << 24) - 1));
	memcpy(out, &sec, sizeof(sec));
	memcpy(out + sizeof(sec), &nsec, sizeof(nsec));
}
