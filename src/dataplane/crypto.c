/*
 * crypto.c - the WireGuard primitives of crypto.h on OpenSSL 3 libcrypto.
 *
 * ChaCha20-Poly1305, BLAKE2s-256 and keyed BLAKE2s come from EVP; X25519
 * from EVP_PKEY; HChaCha20 (for XChaCha20-Poly1305), HMAC-BLAKE2s (RFC 2104)
 * and the whitepaper's KDF are written here.
 *
 * Algorithms are fetched once per process (pthread_once).  The contexts that
 * can be reused are kept per thread behind a __thread pointer and freed by a
 * pthread_key destructor at thread exit, so the AEAD path performs no
 * allocation after a thread's first packet and never takes a lock.  OpenSSL
 * 3.0 re-creates a digest's internal state on every EVP_DigestInit_ex, so
 * blake2s256 and the HMAC built on it allocate once per hash; they are only
 * on the handshake path.  The keyed BLAKE2s context (MAC1/MAC2, checked on
 * every handshake packet, including under load) does not allocate.
 *
 * Relies on: OpenSSL >= 3.0 with the default provider ("ChaCha20-Poly1305",
 * "BLAKE2S-256", the "BLAKE2SMAC" MAC with a settable output size, X25519).
 */
#include "crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Fetched once by crypto_fetch_algorithms(); read-only afterwards, shared
 * by every thread (OpenSSL method objects are immutable once fetched). */
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static bool crypto_algorithms_ok;
static EVP_CIPHER *crypto_chacha20poly1305;
static EVP_MD *crypto_blake2s256_md;
static EVP_MAC *crypto_blake2smac;
static pthread_key_t crypto_tls_key;

/*
 * OpenSSL 3 spends about a microsecond setting a key on a context, more
 * than the cipher needs for a whole packet.  So each thread keeps a few
 * contexts with their key already set, picked by the key's address (never
 * by its bytes: no secret-dependent indexing) and confirmed by a
 * constant-time comparison of the key; a hit only sets the nonce.
 */
#define AEAD_CACHE_SLOTS 8
struct aead_slot {
	EVP_CIPHER_CTX *ctx;
	const uint8_t *key_addr;
	uint8_t key[CHACHA20POLY1305_KEY_LEN];
	int enc;
};

/*
 * X25519 private keys, as OpenSSL objects with a derive context ready.
 * Importing a raw private key makes OpenSSL compute its public key, a whole
 * scalar multiplication; the static key does every handshake, and an
 * ephemeral key does two DHs after its public key is made.  Slots are
 * matched by a constant-time comparison of the secret over all slots (the
 * scan does not depend on which matched); x25519_forget() evicts an
 * ephemeral when the handshake wipes it.
 */
#define X25519_CACHE_SLOTS 4
struct x25519_slot {
	EVP_PKEY *priv;
	EVP_PKEY_CTX *derive;
	uint8_t secret[X25519_KEY_LEN];
	unsigned long used;	/* for LRU eviction */
};

/* One per thread, owned by that thread only: no locks. */
struct crypto_tls {
	struct x25519_slot x25519_slots[X25519_CACHE_SLOTS];
	unsigned long x25519_clock;
	struct aead_slot aead_slots[AEAD_CACHE_SLOTS];
	EVP_MD_CTX *md;		/* BLAKE2s-256 */
	EVP_MAC_CTX *mac128;	/* BLAKE2SMAC with size 16; key set per call */
};
static __thread struct crypto_tls *crypto_tls;

static void crypto_tls_free(void *arg)
{
	struct crypto_tls *t = arg;

	if (!t)
		return;
	/* The _free functions cleanse the key schedules they hold. */
	for (int i = 0; i < X25519_CACHE_SLOTS; i++) {
		EVP_PKEY_CTX_free(t->x25519_slots[i].derive);
		EVP_PKEY_free(t->x25519_slots[i].priv);
	}
	for (int i = 0; i < AEAD_CACHE_SLOTS; i++)
		EVP_CIPHER_CTX_free(t->aead_slots[i].ctx);
	EVP_MD_CTX_free(t->md);
	EVP_MAC_CTX_free(t->mac128);
	explicit_bzero(t, sizeof(*t));
	free(t);
	if (crypto_tls == t)
		crypto_tls = NULL;
}

static void crypto_fetch_algorithms(void)
{
	EVP_KEYMGMT *keymgmt;
	EVP_KEYEXCH *keyexch;
	EVP_MAC_CTX *probe;
	size_t size = BLAKE2S_MAC128_LEN;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_END,
	};

	if (pthread_key_create(&crypto_tls_key, crypto_tls_free) != 0)
		return;
	crypto_chacha20poly1305 = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	crypto_blake2s256_md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	crypto_blake2smac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	if (!crypto_chacha20poly1305 || !crypto_blake2s256_md || !crypto_blake2smac)
		goto out;

	/* The 16-byte output must be a parameter of the MAC (it changes the
	 * BLAKE2 parameter block), not a truncation: refuse a provider that
	 * cannot set it. */
	probe = EVP_MAC_CTX_new(crypto_blake2smac);
	if (!probe)
		goto out;
	if (!EVP_MAC_CTX_set_params(probe, params) ||
	    EVP_MAC_CTX_get_mac_size(probe) != BLAKE2S_MAC128_LEN) {
		EVP_MAC_CTX_free(probe);
		goto out;
	}
	EVP_MAC_CTX_free(probe);

	keymgmt = EVP_KEYMGMT_fetch(NULL, "X25519", NULL);
	keyexch = EVP_KEYEXCH_fetch(NULL, "X25519", NULL);
	crypto_algorithms_ok = keymgmt && keyexch;
	EVP_KEYMGMT_free(keymgmt);
	EVP_KEYEXCH_free(keyexch);
out:
	ERR_clear_error();
}

bool crypto_init(void)
{
	pthread_once(&crypto_once, crypto_fetch_algorithms);
	return crypto_algorithms_ok;
}

/* Slow path of the context getters: first use on this thread. */
static struct crypto_tls *crypto_tls_get(void)
{
	struct crypto_tls *t;

	if (likely(crypto_tls != NULL))
		return crypto_tls;
	if (!crypto_init())
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (pthread_setspecific(crypto_tls_key, t) != 0) {
		free(t);
		return NULL;
	}
	crypto_tls = t;
	return t;
}

static EVP_MD_CTX *crypto_md_ctx(void)
{
	struct crypto_tls *t = crypto_tls;

	if (likely(t != NULL && t->md != NULL))
		return t->md;
	t = crypto_tls_get();
	if (!t)
		return NULL;
	t->md = EVP_MD_CTX_new();
	return t->md;
}

static EVP_MAC_CTX *crypto_mac128_ctx(void)
{
	struct crypto_tls *t = crypto_tls;
	EVP_MAC_CTX *ctx;
	size_t size = BLAKE2S_MAC128_LEN;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_END,
	};

	if (likely(t != NULL && t->mac128 != NULL))
		return t->mac128;
	t = crypto_tls_get();
	if (!t)
		return NULL;
	ctx = EVP_MAC_CTX_new(crypto_blake2smac);
	if (!ctx)
		return NULL;
	/* The size persists across EVP_MAC_init calls that pass no params. */
	if (!EVP_MAC_CTX_set_params(ctx, params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	t->mac128 = ctx;
	return ctx;
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/*
 * One AEAD operation on the thread's context.  The nonce is WireGuard's:
 * 4 zero bytes then the counter, little endian.  in_len is the plaintext
 * (or ciphertext without tag) length; tag is written (encrypt) or checked
 * (decrypt).  EVP takes int lengths, hence the limits.
 */
/* A context with key already set (see AEAD_CACHE_SLOTS), or NULL. */
static EVP_CIPHER_CTX *aead_ctx_for(const uint8_t *key, int enc, bool *key_set)
{
	struct crypto_tls *t = crypto_tls;
	size_t i = (((uintptr_t)key >> 4) ^ ((uintptr_t)key >> 10) ^ (uintptr_t)enc) %
		   AEAD_CACHE_SLOTS;
	struct aead_slot *slot;

	if (unlikely(t == NULL)) {
		t = crypto_tls_get();
		if (!t)
			return NULL;
	}
	slot = &t->aead_slots[i];
	if (unlikely(!slot->ctx)) {
		slot->ctx = EVP_CIPHER_CTX_new();
		if (!slot->ctx)
			return NULL;
		if (!EVP_CipherInit_ex(slot->ctx, crypto_chacha20poly1305, NULL, NULL, NULL, enc)) {
			EVP_CIPHER_CTX_free(slot->ctx);
			slot->ctx = NULL;
			return NULL;
		}
		slot->key_addr = NULL;
	}
	*key_set = slot->key_addr == key && slot->enc == enc &&
		   CRYPTO_memcmp(slot->key, key, CHACHA20POLY1305_KEY_LEN) == 0;
	if (!*key_set) {
		slot->key_addr = key;
		slot->enc = enc;
		memcpy(slot->key, key, CHACHA20POLY1305_KEY_LEN);
	}
	return slot->ctx;
}

static bool aead_crypt(uint8_t *dst, const uint8_t *src, size_t in_len,
		       const uint8_t *ad, size_t ad_len, uint64_t counter,
		       const uint8_t key[CHACHA20POLY1305_KEY_LEN], uint8_t *tag, int enc)
{
	bool key_set = false;
	EVP_CIPHER_CTX *ctx = aead_ctx_for(key, enc, &key_set);
	uint8_t nonce[12] = { 0 };
	int len;

	if (!ctx || in_len > INT_MAX - CHACHA20POLY1305_TAG_LEN || ad_len > INT_MAX)
		return false;
	put_le64(nonce + 4, counter);
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, key_set ? NULL : key, nonce, enc)) {
		/* Forget the slot's key: its state is unknown now. */
		for (int i = 0; i < AEAD_CACHE_SLOTS; i++)
			if (crypto_tls->aead_slots[i].ctx == ctx)
				crypto_tls->aead_slots[i].key_addr = NULL;
		return false;
	}
	/* The expected tag is copied into the context before any plaintext
	 * is written, so in-place decryption cannot disturb it. */
	if (!enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
					 CHACHA20POLY1305_TAG_LEN, tag))
		return false;
	if (ad_len && !EVP_CipherUpdate(ctx, NULL, &len, ad, (int)ad_len))
		return false;
	if (in_len && !EVP_CipherUpdate(ctx, dst, &len, src, (int)in_len))
		return false;
	/* ChaCha20-Poly1305 is a stream cipher: Final emits no bytes. */
	if (!EVP_CipherFinal_ex(ctx, dst + in_len, &len))
		return false;
	if (enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
					CHACHA20POLY1305_TAG_LEN, tag))
		return false;
	return true;
}

bool chacha20poly1305_encrypt(uint8_t *dst, const uint8_t *src, size_t src_len,
			      const uint8_t *ad, size_t ad_len, uint64_t counter,
			      const uint8_t key[CHACHA20POLY1305_KEY_LEN])
{
	return aead_crypt(dst, src, src_len, ad, ad_len, counter, key,
			  dst + src_len, 1);
}

bool chacha20poly1305_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len,
			      const uint8_t *ad, size_t ad_len, uint64_t counter,
			      const uint8_t key[CHACHA20POLY1305_KEY_LEN])
{
	size_t len;

	if (src_len < CHACHA20POLY1305_TAG_LEN)
		return false;
	len = src_len - CHACHA20POLY1305_TAG_LEN;
	if (aead_crypt(dst, src, len, ad, ad_len, counter, key,
		       (uint8_t *)(src + len), 0))
		return true;
	/* EVP decrypts before it authenticates: unverified plaintext must
	 * not survive. */
	explicit_bzero(dst, len);
	return false;
}

#define ROTL32(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QUARTER_ROUND(a, b, c, d) do { \
	a += b; d ^= a; d = ROTL32(d, 16); \
	c += d; b ^= c; b = ROTL32(b, 12); \
	a += b; d ^= a; d = ROTL32(d, 8); \
	c += d; b ^= c; b = ROTL32(b, 7); \
} while (0)

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/*
 * draft-irtf-cfrg-xchacha-03 section 2.2: the ChaCha20 block function with
 * the 16-byte nonce in words 12..15, 20 rounds, and no final addition of
 * the input state; the subkey is words 0..3 and 12..15.
 */
void hchacha20(uint8_t out[32], const uint8_t nonce[16], const uint8_t key[32])
{
	uint32_t x[16];
	int i;

	/* "expand 32-byte k" */
	x[0] = 0x61707865;
	x[1] = 0x3320646e;
	x[2] = 0x79622d32;
	x[3] = 0x6b206574;
	for (i = 0; i < 8; i++)
		x[4 + i] = get_le32(key + 4 * i);
	for (i = 0; i < 4; i++)
		x[12 + i] = get_le32(nonce + 4 * i);

	for (i = 0; i < 10; i++) {
		/* column round */
		QUARTER_ROUND(x[0], x[4], x[8], x[12]);
		QUARTER_ROUND(x[1], x[5], x[9], x[13]);
		QUARTER_ROUND(x[2], x[6], x[10], x[14]);
		QUARTER_ROUND(x[3], x[7], x[11], x[15]);
		/* diagonal round */
		QUARTER_ROUND(x[0], x[5], x[10], x[15]);
		QUARTER_ROUND(x[1], x[6], x[11], x[12]);
		QUARTER_ROUND(x[2], x[7], x[8], x[13]);
		QUARTER_ROUND(x[3], x[4], x[9], x[14]);
	}

	for (i = 0; i < 4; i++) {
		put_le32(out + 4 * i, x[i]);
		put_le32(out + 16 + 4 * i, x[12 + i]);
	}
	explicit_bzero(x, sizeof(x));
}

/*
 * XChaCha20-Poly1305 = ChaCha20-Poly1305 under the HChaCha20 subkey of the
 * first 16 nonce bytes, with nonce 4 zero bytes || nonce[16..23].  That
 * inner nonce is exactly WireGuard's shape with counter = LE64(nonce[16..]).
 */
bool xchacha20poly1305_encrypt(uint8_t *dst, const uint8_t *src, size_t src_len,
			       const uint8_t *ad, size_t ad_len,
			       const uint8_t nonce[XCHACHA20POLY1305_NONCE_LEN],
			       const uint8_t key[CHACHA20POLY1305_KEY_LEN])
{
	uint8_t subkey[CHACHA20POLY1305_KEY_LEN];
	bool ok;

	hchacha20(subkey, nonce, key);
	ok = chacha20poly1305_encrypt(dst, src, src_len, ad, ad_len,
				      get_le64(nonce + 16), subkey);
	explicit_bzero(subkey, sizeof(subkey));
	return ok;
}

bool xchacha20poly1305_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len,
			       const uint8_t *ad, size_t ad_len,
			       const uint8_t nonce[XCHACHA20POLY1305_NONCE_LEN],
			       const uint8_t key[CHACHA20POLY1305_KEY_LEN])
{
	uint8_t subkey[CHACHA20POLY1305_KEY_LEN];
	bool ok;

	hchacha20(subkey, nonce, key);
	ok = chacha20poly1305_decrypt(dst, src, src_len, ad, ad_len,
				      get_le64(nonce + 16), subkey);
	explicit_bzero(subkey, sizeof(subkey));
	return ok;
}

bool x25519_generate_secret(uint8_t secret[X25519_KEY_LEN])
{
	if (!crypto_random(secret, X25519_KEY_LEN))
		return false;
	/* RFC 7748 section 5 clamping, as wg genkey does. */
	secret[0] &= 248;
	secret[31] &= 127;
	secret[31] |= 64;
	return true;
}

static void x25519_slot_clear(struct x25519_slot *slot)
{
	EVP_PKEY_CTX_free(slot->derive);
	EVP_PKEY_free(slot->priv);
	explicit_bzero(slot, sizeof(*slot));
}

/* The cached key object for secret, made (evicting the least recently
 * used) if it is not there.  NULL on failure. */
static struct x25519_slot *x25519_slot_for(const uint8_t secret[X25519_KEY_LEN])
{
	struct crypto_tls *t = crypto_tls ? crypto_tls : crypto_tls_get();
	struct x25519_slot *hit = NULL, *victim;

	if (!t)
		return NULL;
	victim = &t->x25519_slots[0];
	for (int i = 0; i < X25519_CACHE_SLOTS; i++) {
		struct x25519_slot *slot = &t->x25519_slots[i];
		bool same = slot->priv && CRYPTO_memcmp(slot->secret, secret, X25519_KEY_LEN) == 0;
		if (same)
			hit = slot;
		if (!slot->priv || (victim->priv && slot->used < victim->used))
			victim = slot;
	}
	if (!hit) {
		hit = victim;
		x25519_slot_clear(hit);
		/* OpenSSL clamps internally and derives the public key on
		 * import; it cleanses its copy of the secret when freed. */
		hit->priv = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, secret,
							    X25519_KEY_LEN);
		hit->derive = hit->priv ? EVP_PKEY_CTX_new_from_pkey(NULL, hit->priv, NULL) : NULL;
		if (!hit->derive) {
			x25519_slot_clear(hit);
			ERR_clear_error();
			return NULL;
		}
		memcpy(hit->secret, secret, X25519_KEY_LEN);
	}
	hit->used = ++t->x25519_clock;
	return hit;
}

void x25519_forget(const uint8_t secret[X25519_KEY_LEN])
{
	struct crypto_tls *t = crypto_tls;

	if (!t)
		return;
	for (int i = 0; i < X25519_CACHE_SLOTS; i++) {
		struct x25519_slot *slot = &t->x25519_slots[i];
		if (slot->priv && CRYPTO_memcmp(slot->secret, secret, X25519_KEY_LEN) == 0)
			x25519_slot_clear(slot);
	}
}

bool x25519_public_from_secret(uint8_t pub[X25519_KEY_LEN],
			       const uint8_t secret[X25519_KEY_LEN])
{
	struct x25519_slot *slot = x25519_slot_for(secret);
	size_t len = X25519_KEY_LEN;

	if (!slot)
		return false;
	if (EVP_PKEY_get_raw_public_key(slot->priv, pub, &len) != 1 || len != X25519_KEY_LEN) {
		ERR_clear_error();
		return false;
	}
	return true;
}

bool x25519(uint8_t shared[X25519_KEY_LEN], const uint8_t secret[X25519_KEY_LEN],
	    const uint8_t pub[X25519_KEY_LEN])
{
	struct x25519_slot *slot = x25519_slot_for(secret);
	EVP_PKEY *peer = NULL;
	uint8_t out[X25519_KEY_LEN];
	size_t len = sizeof(out);
	bool ok = false;

	if (!slot)
		return false;
	peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, pub, X25519_KEY_LEN);
	if (!peer || EVP_PKEY_derive_init(slot->derive) != 1 ||
	    EVP_PKEY_derive_set_peer(slot->derive, peer) != 1)
		goto out;
	/* OpenSSL itself fails the derivation on an all-zero result; the
	 * explicit check below does not rely on that. */
	if (EVP_PKEY_derive(slot->derive, out, &len) != 1 || len != X25519_KEY_LEN)
		goto out;
	if (crypto_is_zero(out, sizeof(out)))
		goto out;
	memcpy(shared, out, sizeof(out));
	ok = true;
out:
	explicit_bzero(out, sizeof(out));
	EVP_PKEY_free(peer);
	if (!ok)
		ERR_clear_error();
	return ok;
}

bool blake2s256(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *in1, size_t in1_len,
		const uint8_t *in2, size_t in2_len)
{
	EVP_MD_CTX *ctx = crypto_md_ctx();
	unsigned int len;

	if (!ctx)
		return false;
	if (!EVP_DigestInit_ex(ctx, crypto_blake2s256_md, NULL))
		return false;
	if (in1_len && !EVP_DigestUpdate(ctx, in1, in1_len))
		return false;
	if (in2_len && !EVP_DigestUpdate(ctx, in2, in2_len))
		return false;
	return EVP_DigestFinal_ex(ctx, out, &len) && len == BLAKE2S_HASH_LEN;
}

bool blake2s_mac128(uint8_t out[BLAKE2S_MAC128_LEN], const uint8_t *in, size_t in_len,
		    const uint8_t *key, size_t key_len)
{
	EVP_MAC_CTX *ctx;
	size_t len;

	/* A NULL or empty key would make EVP_MAC_init keep the previous one. */
	if (!key || key_len < 1 || key_len > 32)
		return false;
	ctx = crypto_mac128_ctx();
	if (!ctx)
		return false;
	if (!EVP_MAC_init(ctx, key, key_len, NULL))
		return false;
	if (in_len && !EVP_MAC_update(ctx, in, in_len))
		return false;
	return EVP_MAC_final(ctx, out, &len, BLAKE2S_MAC128_LEN) &&
	       len == BLAKE2S_MAC128_LEN;
}

/*
 * RFC 2104 by hand over blake2s256 (block 64 bytes): two digests, no MAC
 * context.  OpenSSL 3.0's EVP_MAC "HMAC" costs five allocations per call
 * against two here.  out may alias in or key.
 */
bool hmac_blake2s(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *in, size_t in_len,
		  const uint8_t *key, size_t key_len)
{
	uint8_t k[BLAKE2S_BLOCK_LEN] = { 0 };
	uint8_t pad[BLAKE2S_BLOCK_LEN];
	uint8_t inner[BLAKE2S_HASH_LEN];
	bool ok = false;
	int i;

	if (key_len > BLAKE2S_BLOCK_LEN) {
		if (!blake2s256(k, key, key_len, NULL, 0))
			goto out;
	} else if (key_len) {
		memcpy(k, key, key_len);
	}

	for (i = 0; i < BLAKE2S_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x36;
	if (!blake2s256(inner, pad, sizeof(pad), in, in_len))
		goto out;
	for (i = 0; i < BLAKE2S_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x5c;
	ok = blake2s256(out, pad, sizeof(pad), inner, sizeof(inner));
out:
	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
	explicit_bzero(inner, sizeof(inner));
	return ok;
}

/*
 * Whitepaper section 5.4: tau0 = HMAC(C, input), tau1 = HMAC(tau0, 0x1),
 * tau_i = HMAC(tau0, tau_{i-1} || i).  All outputs are computed into locals
 * before any is written, because callers pass the chaining key itself as
 * t1 (ck = KDF1(ck, ...)) and any output may alias the input.
 */
bool kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, int n,
	 const uint8_t chaining_key[BLAKE2S_HASH_LEN],
	 const uint8_t *input, size_t input_len)
{
	uint8_t tau0[BLAKE2S_HASH_LEN];
	uint8_t tau[3][BLAKE2S_HASH_LEN];
	uint8_t buf[BLAKE2S_HASH_LEN + 1];
	uint8_t *outs[3] = { t1, t2, t3 };
	bool ok = false;
	int i;

	if (n < 1 || n > 3)
		return false;
	if (!hmac_blake2s(tau0, input, input_len, chaining_key, BLAKE2S_HASH_LEN))
		goto out;
	for (i = 0; i < n; i++) {
		size_t len = 0;

		if (i > 0) {
			memcpy(buf, tau[i - 1], BLAKE2S_HASH_LEN);
			len = BLAKE2S_HASH_LEN;
		}
		buf[len++] = (uint8_t)(i + 1);
		if (!hmac_blake2s(tau[i], buf, len, tau0, sizeof(tau0)))
			goto out;
	}
	for (i = 0; i < n; i++)
		memcpy(outs[i], tau[i], BLAKE2S_HASH_LEN);
	ok = true;
out:
	explicit_bzero(tau0, sizeof(tau0));
	explicit_bzero(tau, sizeof(tau));
	explicit_bzero(buf, sizeof(buf));
	return ok;
}

bool crypto_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	/* RAND_bytes takes an int length. */
	while (len) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(p, chunk) != 1)
			return false;
		p += chunk;
		len -= (size_t)chunk;
	}
	return true;
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

bool crypto_is_zero(const void *a, size_t len)
{
	const volatile uint8_t *p = a;
	uint8_t acc = 0;
	size_t i;

	/* No early exit: the time depends on len only.  volatile keeps the
	 * compiler from turning the loop into a search for a nonzero byte. */
	for (i = 0; i < len; i++)
		acc |= p[i];
	return (((unsigned int)acc - 1) >> 8) & 1;
}
