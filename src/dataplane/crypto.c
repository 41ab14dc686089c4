/*
 * crypto.c - the WireGuard primitives of crypto.h on OpenSSL 3 libcrypto.
 *
 * ChaCha20-Poly1305 comes from the OpenSSL provider that EVP fetches, called
 * through the provider's own dispatch table (see struct aead_impl); X25519
 * from EVP_PKEY derivation (public
 * keys too, see X25519_CACHE_SLOTS); HChaCha20 (for XChaCha20-Poly1305) is
 * written here.  BLAKE2s, HMAC-BLAKE2s and the KDF are in blake2s.c.
 *
 * Algorithms are fetched once per process (pthread_once).  The contexts that
 * can be reused are kept per thread behind a __thread pointer and freed by a
 * pthread_key destructor at thread exit, so the AEAD path performs no
 * allocation after a thread's first packet and never takes a lock.  BLAKE2s
 * works on the stack and never allocates.
 *
 * The per-thread caches hold copies of keys, so they live in secmem
 * (locked, non-dumpable, wiped on free).  What OpenSSL keeps of them is on
 * its plain heap, out of our reach: the cipher contexts of the AEAD cache
 * (their ChaCha20 key state) and the X25519 key objects (a copy of the
 * private key: OpenSSL 3.0 imports it with OPENSSL_malloc, not into its
 * secure heap), both cleansed by OpenSSL when freed.  At most
 * AEAD_CACHE_SLOTS + X25519_CACHE_SLOTS such copies per thread.
 *
 * Relies on: OpenSSL >= 3.0 with the default provider ("ChaCha20-Poly1305",
 * X25519), secmem.h.
 */
#include "crypto.h"
#include "secmem.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Fetched once by crypto_fetch_algorithms(); read-only afterwards, shared
 * by every thread (OpenSSL method objects are immutable once fetched). */
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static bool crypto_algorithms_ok;
static EVP_CIPHER *crypto_chacha20poly1305;
static pthread_key_t crypto_tls_key;

/*
 * The provider's ChaCha20-Poly1305 functions (provider-cipher(7)), taken
 * from the dispatch table of the provider that EVP_CIPHER_fetch chose.
 * Going through EVP cost about 830 instructions more per packet on OpenSSL
 * 3.0 (EVP_CipherInit_ex2 asks the cipher for its IV length through a
 * parameter lookup on every call, and each layer checks the context again):
 * an empty AEAD went from 2,860 to 2,030 instructions, a 1,424-byte one
 * from 12,040 to 11,150 (callgrind).  The provider's own init, update and
 * final do the same work; the cipher is still OpenSSL's.  Read-only after
 * crypto_init.
 */
struct aead_impl {
	void *provctx;
	OSSL_FUNC_cipher_newctx_fn *newctx;
	OSSL_FUNC_cipher_freectx_fn *freectx;
	OSSL_FUNC_cipher_encrypt_init_fn *einit;
	OSSL_FUNC_cipher_decrypt_init_fn *dinit;
	OSSL_FUNC_cipher_update_fn *update;
	OSSL_FUNC_cipher_final_fn *final;
	OSSL_FUNC_cipher_get_ctx_params_fn *get_ctx_params;
};
static struct aead_impl aead;

/*
 * OpenSSL's AVX-512 ChaCha20-Poly1305 can return with the upper halves of
 * the vector registers still in use.  Our code is built for plain x86-64,
 * so the next SSE instruction, and every context switch (which must then
 * save the whole register file), pays for that: on the project's Xeon most
 * of our AEAD glue's samples sat on the first SSE instruction after a
 * provider call, and one 1,424-byte AEAD took 2.0-2.4 us instead of
 * 1.6-1.7 us.  VZEROUPPER after each call marks the upper halves clean;
 * it leaves the lower 128 bits, all that SSE code uses, alone.  (A build
 * for AVX gets the compiler's own VZEROUPPERs instead.)
 */
static bool cpu_has_avx;

static inline void vector_upper_clean(void)
{
#if defined(__x86_64__) && !defined(__AVX__)
	if (likely(cpu_has_avx))
		__asm__ volatile("vzeroupper");
#endif
}

/*
 * OpenSSL 3 spends about a microsecond setting a key on a context, more
 * than the cipher needs for a whole packet.  So each thread keeps a few
 * contexts with their key already set, picked by the key's address (never
 * by its bytes: no secret-dependent indexing) and confirmed by a
 * constant-time comparison of the key; a hit only sets the nonce.
 */
#define AEAD_CACHE_SLOTS 8
struct aead_slot {
	void *ctx;			/* the provider's cipher context */
	const uint8_t *key_addr;
	uint8_t key[CHACHA20POLY1305_KEY_LEN];
	int enc;
};

/*
 * X25519 private keys, as OpenSSL objects with a derive context ready
 * (EVP_PKEY_derive_init done once, when the slot is made).  The static key
 * does every handshake, and an ephemeral key makes its public key and then
 * does two DHs.  Slots are matched by a constant-time comparison of the
 * secret over all slots (the scan does not depend on which matched);
 * x25519_forget() evicts an ephemeral when the handshake wipes it.
 *
 * What OpenSSL 3.0 charges around the scalar multiplication is large: a
 * private key imported alone gets its public key from code about 1.5 times
 * slower than the ladder, and a peer key object made per DH, derive_init
 * and the peer check of derive_set_peer add a fifth to a DH.  So a private
 * key is imported together with a placeholder public half (the base point:
 * X25519 derivation reads only the private half, and nothing here reads the
 * object's public half), public keys are computed as DH(secret, base point)
 * with the ladder, and the peer's public key is written into one per-thread
 * key object (EVP_PKEY_set1_encoded_public_key) that is set as the peer
 * again for every DH.  Measured with OpenSSL 3.0.22 on the project's Xeon,
 * the ladder alone taking 61 us: public key 101 -> 70 us, DH 73 -> 62 us.
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
	EVP_PKEY_CTX *x25519_import;	/* EVP_PKEY_fromdata_init done */
	EVP_PKEY *x25519_peer;		/* public half rewritten per DH */
	EVP_PKEY *x25519_base;		/* the base point, u = 9 */
	struct aead_slot aead_slots[AEAD_CACHE_SLOTS];
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
	EVP_PKEY_CTX_free(t->x25519_import);
	EVP_PKEY_free(t->x25519_peer);
	EVP_PKEY_free(t->x25519_base);
	for (int i = 0; i < AEAD_CACHE_SLOTS; i++)
		if (t->aead_slots[i].ctx)
			aead.freectx(t->aead_slots[i].ctx);
	secmem_free(t, sizeof(*t));	/* wipes the cached keys */
	if (crypto_tls == t)
		crypto_tls = NULL;
}

/* True if name is one of the colon-separated names in names. */
static bool name_listed(const char *names, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = names; p && *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && !strncasecmp(p, name, n))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* Fills aead from the dispatch table of the provider behind cipher. */
static bool aead_impl_find(const EVP_CIPHER *cipher)
{
	const OSSL_PROVIDER *prov = EVP_CIPHER_get0_provider(cipher);
	const OSSL_ALGORITHM *algs;
	const OSSL_DISPATCH *d = NULL;
	int no_store = 0;

	if (!prov)
		return false;
	algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_store);
	for (const OSSL_ALGORITHM *a = algs; a && a->algorithm_names; a++)
		if (name_listed(a->algorithm_names, EVP_CIPHER_get0_name(cipher))) {
			d = a->implementation;
			break;
		}
	for (; d && d->function_id; d++) {
		switch (d->function_id) {
		case OSSL_FUNC_CIPHER_NEWCTX:
			aead.newctx = OSSL_FUNC_cipher_newctx(d);
			break;
		case OSSL_FUNC_CIPHER_FREECTX:
			aead.freectx = OSSL_FUNC_cipher_freectx(d);
			break;
		case OSSL_FUNC_CIPHER_ENCRYPT_INIT:
			aead.einit = OSSL_FUNC_cipher_encrypt_init(d);
			break;
		case OSSL_FUNC_CIPHER_DECRYPT_INIT:
			aead.dinit = OSSL_FUNC_cipher_decrypt_init(d);
			break;
		case OSSL_FUNC_CIPHER_UPDATE:
			aead.update = OSSL_FUNC_cipher_update(d);
			break;
		case OSSL_FUNC_CIPHER_FINAL:
			aead.final = OSSL_FUNC_cipher_final(d);
			break;
		case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
			aead.get_ctx_params = OSSL_FUNC_cipher_get_ctx_params(d);
			break;
		default:
			break;
		}
	}
	/* The functions stay valid while the provider is loaded, and the
	 * fetched cipher keeps it loaded. */
	if (algs)
		OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
	aead.provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
	return aead.newctx && aead.freectx && aead.einit && aead.dinit && aead.update &&
	       aead.final && aead.get_ctx_params;
}

static void crypto_fetch_algorithms(void)
{
	EVP_KEYMGMT *keymgmt;
	EVP_KEYEXCH *keyexch;

	if (pthread_key_create(&crypto_tls_key, crypto_tls_free) != 0)
		return;
#if defined(__x86_64__)
	cpu_has_avx = __builtin_cpu_supports("avx");
#endif
	crypto_chacha20poly1305 = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	keymgmt = EVP_KEYMGMT_fetch(NULL, "X25519", NULL);
	keyexch = EVP_KEYEXCH_fetch(NULL, "X25519", NULL);
	crypto_algorithms_ok = crypto_chacha20poly1305 && keymgmt && keyexch &&
			       aead_impl_find(crypto_chacha20poly1305);
	EVP_KEYMGMT_free(keymgmt);
	EVP_KEYEXCH_free(keyexch);
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
	/* It caches copies of session keys and X25519 secrets. */
	t = secmem_alloc(sizeof(*t));
	if (!t)
		return NULL;
	if (pthread_setspecific(crypto_tls_key, t) != 0) {
		secmem_free(t, sizeof(*t));
		return NULL;
	}
	crypto_tls = t;
	return t;
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

/* Constant-time comparison of two 32-byte keys, in four 64-bit words:
 * CRYPTO_memcmp's byte loop cost ~230 instructions, on every packet.  The
 * empty asm keeps the compiler from turning the OR chain into an early
 * exit. */
static inline bool key32_equal(const uint8_t a[32], const uint8_t b[32])
{
	uint64_t x, y, acc = 0;

	for (int i = 0; i < 32; i += 8) {
		memcpy(&x, a + i, sizeof(x));
		memcpy(&y, b + i, sizeof(y));
		acc |= x ^ y;
		__asm__("" : "+r"(acc));
	}
	return acc == 0;
}
_Static_assert(CHACHA20POLY1305_KEY_LEN == 32 && X25519_KEY_LEN == 32, "key32_equal");

/* A context with key already set (see AEAD_CACHE_SLOTS), or NULL. */
static void *aead_ctx_for(const uint8_t *key, int enc, bool *key_set)
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
		slot->ctx = aead.newctx(aead.provctx);
		if (!slot->ctx)
			return NULL;
		slot->key_addr = NULL;
	}
	*key_set = slot->key_addr == key && slot->enc == enc &&
		   key32_equal(slot->key, key);
	if (!*key_set) {
		slot->key_addr = key;
		slot->enc = enc;
		memcpy(slot->key, key, CHACHA20POLY1305_KEY_LEN);
	}
	return slot->ctx;
}

/*
 * One AEAD operation on the thread's context.  The nonce is WireGuard's:
 * 4 zero bytes then the counter, little endian.  in_len is the plaintext
 * (or ciphertext without tag) length; tag is written (encrypt) or checked
 * (decrypt).  The calls are the provider's (struct aead_impl): init with
 * the nonce (the key only when the slot does not hold it yet, and for
 * decryption the expected tag as a parameter), update, final, and for
 * encryption the tag read back as a parameter.
 */
static bool aead_crypt(uint8_t *dst, const uint8_t *src, size_t in_len,
		       const uint8_t *ad, size_t ad_len, uint64_t counter,
		       const uint8_t key[CHACHA20POLY1305_KEY_LEN], uint8_t *tag, int enc)
{
	bool key_set = false;
	void *ctx = aead_ctx_for(key, enc, &key_set);
	uint8_t nonce[12] = { 0 };
	OSSL_PARAM params[2] = { OSSL_PARAM_END, OSSL_PARAM_END };
	size_t outl;
	int ok;

	if (!ctx)
		return false;
	put_le64(nonce + 4, counter);
	/* The expected tag is copied into the context before any plaintext
	 * is written, so in-place decryption cannot disturb it. */
	if (enc) {
		ok = aead.einit(ctx, key_set ? NULL : key, CHACHA20POLY1305_KEY_LEN, nonce,
				sizeof(nonce), NULL);
		vector_upper_clean();
	} else {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag,
							      CHACHA20POLY1305_TAG_LEN);
		ok = aead.dinit(ctx, key_set ? NULL : key, CHACHA20POLY1305_KEY_LEN, nonce,
				sizeof(nonce), params);
		vector_upper_clean();
	}
	if (!ok) {
		/* Forget the slot's key: its state is unknown now. */
		for (int i = 0; i < AEAD_CACHE_SLOTS; i++)
			if (crypto_tls->aead_slots[i].ctx == ctx)
				crypto_tls->aead_slots[i].key_addr = NULL;
		return false;
	}
	/* Additional data goes in with no output (outsize as EVP passes it). */
	if (ad_len && !aead.update(ctx, NULL, &outl, ad_len, ad, ad_len))
		return false;
	if (in_len) {
		ok = aead.update(ctx, dst, &outl, in_len, src, in_len);
		vector_upper_clean();
		if (!ok)
			return false;
	}
	/* ChaCha20-Poly1305 is a stream cipher: final emits no bytes; on
	 * decryption it is where the tag is checked. */
	ok = aead.final(ctx, dst + in_len, &outl, 0);
	vector_upper_clean();
	if (!ok)
		return false;
	if (enc) {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag,
							      CHACHA20POLY1305_TAG_LEN);
		if (!aead.get_ctx_params(ctx, params))
			return false;
	}
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

static const uint8_t x25519_base_point[X25519_KEY_LEN] = { 9 };

/* The thread's import context, peer key object and base point (see
 * X25519_CACHE_SLOTS), made on first use.  False on failure. */
static bool x25519_objects(struct crypto_tls *t)
{
	if (likely(t->x25519_base != NULL))
		return true;
	if (!t->x25519_import) {
		t->x25519_import = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
		if (!t->x25519_import || EVP_PKEY_fromdata_init(t->x25519_import) != 1) {
			EVP_PKEY_CTX_free(t->x25519_import);
			t->x25519_import = NULL;
			return false;
		}
	}
	if (!t->x25519_peer)
		t->x25519_peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL,
								x25519_base_point,
								X25519_KEY_LEN);
	if (t->x25519_peer)
		t->x25519_base = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL,
								x25519_base_point,
								X25519_KEY_LEN);
	return t->x25519_base != NULL;
}

/* The cached key object for secret, made (evicting the least recently
 * used) if it is not there.  NULL on failure. */
static struct x25519_slot *x25519_slot_for(const uint8_t secret[X25519_KEY_LEN])
{
	struct crypto_tls *t = crypto_tls ? crypto_tls : crypto_tls_get();
	struct x25519_slot *hit = NULL, *victim;

	if (!t || !x25519_objects(t))
		return NULL;
	victim = &t->x25519_slots[0];
	for (int i = 0; i < X25519_CACHE_SLOTS; i++) {
		struct x25519_slot *slot = &t->x25519_slots[i];
		bool same = slot->priv && key32_equal(slot->secret, secret);
		if (same)
			hit = slot;
		if (!slot->priv || (victim->priv && slot->used < victim->used))
			victim = slot;
	}
	if (!hit) {
		/* The public half is a placeholder (see X25519_CACHE_SLOTS):
		 * given one, OpenSSL does not compute it.  OpenSSL clamps the
		 * scalar when it derives and cleanses its copy when freed. */
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY,
							  (void *)secret, X25519_KEY_LEN),
			OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
							  (void *)x25519_base_point,
							  X25519_KEY_LEN),
			OSSL_PARAM_END,
		};

		hit = victim;
		x25519_slot_clear(hit);
		if (EVP_PKEY_fromdata(t->x25519_import, &hit->priv, EVP_PKEY_KEYPAIR, params) != 1)
			hit->priv = NULL;
		hit->derive = hit->priv ? EVP_PKEY_CTX_new_from_pkey(NULL, hit->priv, NULL) : NULL;
		if (!hit->derive || EVP_PKEY_derive_init(hit->derive) != 1) {
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
		if (slot->priv && key32_equal(slot->secret, secret))
			x25519_slot_clear(slot);
	}
}

/* out := X25519(slot's secret, peer's public half); false if it is all
 * zeros or on error.  The peer check of derive_set_peer is skipped: for
 * X25519 it only asks whether the object has a public key, and the
 * all-zero test below is the check that matters. */
static bool x25519_derive(uint8_t out[X25519_KEY_LEN], struct x25519_slot *slot,
			  EVP_PKEY *peer)
{
	uint8_t tmp[X25519_KEY_LEN];
	size_t len = sizeof(tmp);
	bool ok = false;

	if (EVP_PKEY_derive_set_peer_ex(slot->derive, peer, 0) != 1)
		goto out;
	/* OpenSSL itself fails the derivation on an all-zero result; the
	 * explicit check below does not rely on that. */
	if (EVP_PKEY_derive(slot->derive, tmp, &len) != 1 || len != X25519_KEY_LEN)
		goto out;
	if (crypto_is_zero(tmp, sizeof(tmp)))
		goto out;
	memcpy(out, tmp, sizeof(tmp));
	ok = true;
out:
	explicit_bzero(tmp, sizeof(tmp));
	if (!ok)
		ERR_clear_error();
	return ok;
}

bool x25519_public_from_secret(uint8_t pub[X25519_KEY_LEN],
			       const uint8_t secret[X25519_KEY_LEN])
{
	struct x25519_slot *slot = x25519_slot_for(secret);

	return slot && x25519_derive(pub, slot, crypto_tls->x25519_base);
}

bool x25519(uint8_t shared[X25519_KEY_LEN], const uint8_t secret[X25519_KEY_LEN],
	    const uint8_t pub[X25519_KEY_LEN])
{
	struct x25519_slot *slot = x25519_slot_for(secret);
	EVP_PKEY *peer;

	if (!slot)
		return false;
	peer = crypto_tls->x25519_peer;
	if (EVP_PKEY_set1_encoded_public_key(peer, pub, X25519_KEY_LEN) != 1) {
		ERR_clear_error();
		return false;
	}
	return x25519_derive(shared, slot, peer);
}

/* getrandom(2) rather than RAND_bytes: the same kernel CSPRNG without
 * OpenSSL's DRBG layer in front, 0.4 us against 1.0 us for 32 bytes here;
 * each handshake response takes two draws (ephemeral key, index). */
bool crypto_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
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
