/*
 * crypto.h - the primitives WireGuard needs, on OpenSSL libcrypto 3.
 *
 * ChaCha20-Poly1305 (RFC 8439), XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha,
 * with an HChaCha20 of our own), X25519 (RFC 7748), BLAKE2s-256 (RFC 7693),
 * keyed BLAKE2s-128 for MAC1/MAC2, HMAC-BLAKE2s and the HKDF of the
 * whitepaper (section 5.4, KDF1..KDF3).  The AEAD and X25519 come from
 * libcrypto; BLAKE2s and what is built on it are our own (see blake2s.c).
 *
 * OpenSSL contexts are cached per thread (created on first use and freed by a
 * thread-exit destructor), so callers never pass contexts around and the
 * packet path never allocates.  Every function that can fail (OpenSSL error
 * or failed authentication) returns bool marked warn_unused_result.
 * Functions write their outputs only; they never log key material.
 */
#ifndef ZWG_CRYPTO_H
#define ZWG_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WUR __attribute__((warn_unused_result))

enum {
	CHACHA20POLY1305_KEY_LEN = 32,
	CHACHA20POLY1305_TAG_LEN = 16,
	XCHACHA20POLY1305_NONCE_LEN = 24,
	X25519_KEY_LEN = 32,
	BLAKE2S_HASH_LEN = 32,
	BLAKE2S_BLOCK_LEN = 64,
	BLAKE2S_MAC128_LEN = 16,
};

/* Call once at start-up (any thread); returns false if libcrypto lacks one of
 * the algorithms (then nothing will work and the caller should exit). */
bool crypto_init(void) WUR;

/*
 * AEAD with the WireGuard nonce: 32 bits of zeros followed by the 64-bit
 * little-endian counter.  encrypt writes src_len + 16 bytes to dst (tag
 * appended); decrypt reads src_len bytes (>= 16, tag last), writes
 * src_len - 16 bytes and returns false if the tag does not verify (dst is
 * then wiped).  dst may equal src (in place); otherwise they must not overlap.
 */
bool chacha20poly1305_encrypt(uint8_t *dst, const uint8_t *src, size_t src_len,
			      const uint8_t *ad, size_t ad_len, uint64_t counter,
			      const uint8_t key[CHACHA20POLY1305_KEY_LEN]) WUR;
bool chacha20poly1305_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len,
			      const uint8_t *ad, size_t ad_len, uint64_t counter,
			      const uint8_t key[CHACHA20POLY1305_KEY_LEN]) WUR;

/* XChaCha20-Poly1305 with a 24-byte nonce, same conventions as above. */
bool xchacha20poly1305_encrypt(uint8_t *dst, const uint8_t *src, size_t src_len,
			       const uint8_t *ad, size_t ad_len,
			       const uint8_t nonce[XCHACHA20POLY1305_NONCE_LEN],
			       const uint8_t key[CHACHA20POLY1305_KEY_LEN]) WUR;
bool xchacha20poly1305_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len,
			       const uint8_t *ad, size_t ad_len,
			       const uint8_t nonce[XCHACHA20POLY1305_NONCE_LEN],
			       const uint8_t key[CHACHA20POLY1305_KEY_LEN]) WUR;

/* HChaCha20 (draft-irtf-cfrg-xchacha section 2.2): 32-byte key and 16-byte
 * nonce in, 32-byte subkey out. */
void hchacha20(uint8_t out[32], const uint8_t nonce[16], const uint8_t key[32]);

/* X25519.  generate_secret clamps a fresh random scalar.  public_from_secret
 * computes the base-point multiple.  x25519 computes the shared secret and
 * returns false if it is all zeros (a low-order point) or on error. */
bool x25519_generate_secret(uint8_t secret[X25519_KEY_LEN]) WUR;
bool x25519_public_from_secret(uint8_t pub[X25519_KEY_LEN],
			       const uint8_t secret[X25519_KEY_LEN]) WUR;
bool x25519(uint8_t shared[X25519_KEY_LEN], const uint8_t secret[X25519_KEY_LEN],
	    const uint8_t pub[X25519_KEY_LEN]) WUR;

/* Evicts secret from this thread's cache of X25519 key objects (call it
 * when an ephemeral secret is wiped, so no copy outlives it). */
void x25519_forget(const uint8_t secret[X25519_KEY_LEN]);

/* BLAKE2s.  blake2s256 hashes the concatenation of in1 and in2 (in2 may be
 * NULL with in2_len 0) into 32 bytes.  blake2s_mac128 is keyed BLAKE2s with
 * a 16-byte output (RFC 7693 keyed mode, key of 1..32 bytes), as used by
 * MAC1 and MAC2. */
bool blake2s256(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *in1, size_t in1_len,
		const uint8_t *in2, size_t in2_len) WUR;
bool blake2s_mac128(uint8_t out[BLAKE2S_MAC128_LEN], const uint8_t *in, size_t in_len,
		    const uint8_t *key, size_t key_len) WUR;

/* HMAC (RFC 2104) over BLAKE2s-256. */
bool hmac_blake2s(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *in, size_t in_len,
		  const uint8_t *key, size_t key_len) WUR;

/* The whitepaper's KDF_n(key, input): HKDF-Extract then Expand with
 * HMAC-BLAKE2s.  Writes n (1..3) outputs; the pointers past n are ignored
 * and may be NULL. */
bool kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, int n,
	 const uint8_t chaining_key[BLAKE2S_HASH_LEN],
	 const uint8_t *input, size_t input_len) WUR;

/* Random bytes from the kernel CSPRNG (getrandom). */
bool crypto_random(void *buf, size_t len) WUR;

/* Constant-time comparison: true if equal. */
bool crypto_equal(const void *a, const void *b, size_t len);

/* true if all len bytes are zero, in constant time. */
bool crypto_is_zero(const void *a, size_t len);

#endif
