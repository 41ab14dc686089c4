/*
 * blake2s.c - BLAKE2s (RFC 7693), HMAC-BLAKE2s (RFC 2104) and the
 * whitepaper's KDF, the hashes of crypto.h.
 *
 * Our own because OpenSSL 3.0's BLAKE2s is plain C behind EVP, whose
 * per-call cost (an allocation in every EVP_DigestInit_ex, the EVP_MAC
 * parameter handling) was as large as the hashing itself: a handshake makes
 * about a hundred BLAKE2s compressions, and MAC1 is checked on every
 * handshake packet, including under a flood.  Works on the stack and never
 * allocates.
 */
#include "crypto.h"

#include <endian.h>
#include <string.h>

static inline uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

/*
 * BLAKE2s (RFC 7693): 10 rounds over 64-byte blocks, 32-bit words.  The
 * last block (zero-padded, possibly empty) is compressed with the final
 * flag, so update keeps up to a whole block buffered until it knows more
 * input follows.  Every state and block copy is wiped after use: keyed
 * states and HMAC states hold key material.
 */
static const uint32_t blake2s_iv[8] = {
	0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
	0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
};

static const uint8_t blake2s_sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

struct blake2s_state {
	uint32_t h[8];
	uint32_t t[2];		/* bytes compressed so far, 64-bit */
	uint8_t buf[BLAKE2S_BLOCK_LEN];
	size_t buflen;		/* 0..64 */
	size_t outlen;
};

#define ROTR32(v, n) (((v) >> (n)) | ((v) << (32 - (n))))
#define BLAKE2S_G(a, b, c, d, x, y) do { \
	a += b + (x); d = ROTR32(d ^ a, 16); \
	c += d; b = ROTR32(b ^ c, 12); \
	a += b + (y); d = ROTR32(d ^ a, 8); \
	c += d; b = ROTR32(b ^ c, 7); \
} while (0)
/* columns, then diagonals */
#define BLAKE2S_ROUND(r) do { \
	BLAKE2S_G(v[0], v[4], v[8], v[12], m[blake2s_sigma[r][0]], m[blake2s_sigma[r][1]]); \
	BLAKE2S_G(v[1], v[5], v[9], v[13], m[blake2s_sigma[r][2]], m[blake2s_sigma[r][3]]); \
	BLAKE2S_G(v[2], v[6], v[10], v[14], m[blake2s_sigma[r][4]], m[blake2s_sigma[r][5]]); \
	BLAKE2S_G(v[3], v[7], v[11], v[15], m[blake2s_sigma[r][6]], m[blake2s_sigma[r][7]]); \
	BLAKE2S_G(v[0], v[5], v[10], v[15], m[blake2s_sigma[r][8]], m[blake2s_sigma[r][9]]); \
	BLAKE2S_G(v[1], v[6], v[11], v[12], m[blake2s_sigma[r][10]], m[blake2s_sigma[r][11]]); \
	BLAKE2S_G(v[2], v[7], v[8], v[13], m[blake2s_sigma[r][12]], m[blake2s_sigma[r][13]]); \
	BLAKE2S_G(v[3], v[4], v[9], v[14], m[blake2s_sigma[r][14]], m[blake2s_sigma[r][15]]); \
} while (0)

/* Compresses one block that brings the byte count up by inc. */
static void blake2s_compress(struct blake2s_state *s, const uint8_t block[BLAKE2S_BLOCK_LEN],
			     uint32_t inc, bool last)
{
	uint32_t m[16], v[16];
	int i;

	s->t[0] += inc;
	s->t[1] += s->t[0] < inc;
	for (i = 0; i < 16; i++)
		m[i] = get_le32(block + 4 * i);
	for (i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = blake2s_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	if (last)
		v[14] = ~v[14];
	/* Unrolled, so that every message index is a constant. */
	BLAKE2S_ROUND(0);
	BLAKE2S_ROUND(1);
	BLAKE2S_ROUND(2);
	BLAKE2S_ROUND(3);
	BLAKE2S_ROUND(4);
	BLAKE2S_ROUND(5);
	BLAKE2S_ROUND(6);
	BLAKE2S_ROUND(7);
	BLAKE2S_ROUND(8);
	BLAKE2S_ROUND(9);
	for (i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
	/* v is not wiped: taking its address would keep it out of registers
	 * (compression 1.7 times slower, measured).  Its spills are stack
	 * bytes the next compression or call overwrites, like those of the
	 * AEAD and X25519 code in libcrypto. */
	explicit_bzero(m, sizeof(m));
}

/* outlen 1..32, keylen 0..32 (checked by the callers). */
static void blake2s_init(struct blake2s_state *s, size_t outlen,
			 const uint8_t *key, size_t keylen)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->h, blake2s_iv, sizeof(s->h));
	/* parameter block: digest length, key length, fanout 1, depth 1 */
	s->h[0] ^= 0x01010000 ^ ((uint32_t)keylen << 8) ^ (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen) {
		/* the key, zero-padded, is the first block */
		memcpy(s->buf, key, keylen);
		s->buflen = BLAKE2S_BLOCK_LEN;
	}
}

static void blake2s_update(struct blake2s_state *s, const uint8_t *in, size_t len)
{
	size_t fill = BLAKE2S_BLOCK_LEN - s->buflen;

	if (!len)
		return;
	if (len > fill) {
		/* more input follows the buffered block: it is not the last */
		memcpy(s->buf + s->buflen, in, fill);
		blake2s_compress(s, s->buf, BLAKE2S_BLOCK_LEN, false);
		s->buflen = 0;
		in += fill;
		len -= fill;
		while (len > BLAKE2S_BLOCK_LEN) {
			blake2s_compress(s, in, BLAKE2S_BLOCK_LEN, false);
			in += BLAKE2S_BLOCK_LEN;
			len -= BLAKE2S_BLOCK_LEN;
		}
	}
	memcpy(s->buf + s->buflen, in, len);
	s->buflen += len;
}

/* Compresses a full buffered block now, for a caller that guarantees more
 * input will follow (so it is not the last block): the HMAC pads below. */
static void blake2s_absorb_full_block(struct blake2s_state *s)
{
	if (s->buflen == BLAKE2S_BLOCK_LEN) {
		blake2s_compress(s, s->buf, BLAKE2S_BLOCK_LEN, false);
		s->buflen = 0;
	}
}

/* Writes s->outlen bytes and wipes the state. */
static void blake2s_final(struct blake2s_state *s, uint8_t *out)
{
	uint8_t full[BLAKE2S_HASH_LEN];
	int i;

	memset(s->buf + s->buflen, 0, BLAKE2S_BLOCK_LEN - s->buflen);
	blake2s_compress(s, s->buf, (uint32_t)s->buflen, true);
	for (i = 0; i < 8; i++)
		put_le32(full + 4 * i, s->h[i]);
	memcpy(out, full, s->outlen);
	explicit_bzero(full, sizeof(full));
	explicit_bzero(s, sizeof(*s));
}

bool blake2s256(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *in1, size_t in1_len,
		const uint8_t *in2, size_t in2_len)
{
	struct blake2s_state s;

	blake2s_init(&s, BLAKE2S_HASH_LEN, NULL, 0);
	blake2s_update(&s, in1, in1_len);
	blake2s_update(&s, in2, in2_len);
	blake2s_final(&s, out);
	return true;
}

bool blake2s_mac128(uint8_t out[BLAKE2S_MAC128_LEN], const uint8_t *in, size_t in_len,
		    const uint8_t *key, size_t key_len)
{
	struct blake2s_state s;

	if (!key || key_len < 1 || key_len > 32)
		return false;
	blake2s_init(&s, BLAKE2S_MAC128_LEN, key, key_len);
	blake2s_update(&s, in, in_len);
	blake2s_final(&s, out);
	return true;
}

/*
 * RFC 2104 over BLAKE2s-256 (block 64 bytes): the inner and outer states
 * after their pad block, ready for the message.
 */
struct hmac_blake2s_key {
	struct blake2s_state inner, outer;
};

static void hmac_blake2s_key_init(struct hmac_blake2s_key *hk, const uint8_t *key,
				  size_t key_len)
{
	uint8_t k[BLAKE2S_BLOCK_LEN] = { 0 };
	uint8_t pad[BLAKE2S_BLOCK_LEN];
	int i;

	if (key_len > BLAKE2S_BLOCK_LEN) {
		struct blake2s_state s;

		blake2s_init(&s, BLAKE2S_HASH_LEN, NULL, 0);
		blake2s_update(&s, key, key_len);
		blake2s_final(&s, k);
	} else if (key_len) {
		memcpy(k, key, key_len);
	}
	for (i = 0; i < BLAKE2S_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x36;
	blake2s_init(&hk->inner, BLAKE2S_HASH_LEN, NULL, 0);
	blake2s_update(&hk->inner, pad, sizeof(pad));
	for (i = 0; i < BLAKE2S_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x5c;
	blake2s_init(&hk->outer, BLAKE2S_HASH_LEN, NULL, 0);
	blake2s_update(&hk->outer, pad, sizeof(pad));
	/* The inner hash always follows the outer pad. */
	blake2s_absorb_full_block(&hk->outer);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
}

/* out := HMAC(key of hk, in); hk is left as it was, for reuse.  out may
 * alias in. */
static void hmac_blake2s_with(const struct hmac_blake2s_key *hk, uint8_t out[BLAKE2S_HASH_LEN],
			      const uint8_t *in, size_t in_len)
{
	struct blake2s_state s;
	uint8_t inner[BLAKE2S_HASH_LEN];

	s = hk->inner;
	blake2s_update(&s, in, in_len);
	blake2s_final(&s, inner);
	s = hk->outer;
	blake2s_update(&s, inner, sizeof(inner));
	blake2s_final(&s, out);
	explicit_bzero(inner, sizeof(inner));
}

/* out may alias in or key. */
bool hmac_blake2s(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *in, size_t in_len,
		  const uint8_t *key, size_t key_len)
{
	struct hmac_blake2s_key hk;

	hmac_blake2s_key_init(&hk, key, key_len);
	hmac_blake2s_with(&hk, out, in, in_len);
	explicit_bzero(&hk, sizeof(hk));
	return true;
}

/*
 * Whitepaper section 5.4: tau0 = HMAC(C, input), tau1 = HMAC(tau0, 0x1),
 * tau_i = HMAC(tau0, tau_{i-1} || i).  tau0's pads are absorbed once for
 * the n expansions (whose messages are never empty, so its inner pad block
 * is not the last either).  All outputs are computed into locals before
 * any is written, because callers pass the chaining key itself as t1
 * (ck = KDF1(ck, ...)) and any output may alias the input.
 */
bool kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, int n,
	 const uint8_t chaining_key[BLAKE2S_HASH_LEN],
	 const uint8_t *input, size_t input_len)
{
	uint8_t tau0[BLAKE2S_HASH_LEN];
	uint8_t tau[3][BLAKE2S_HASH_LEN];
	uint8_t buf[BLAKE2S_HASH_LEN + 1];
	uint8_t *outs[3] = { t1, t2, t3 };
	struct hmac_blake2s_key hk;
	int i;

	if (n < 1 || n > 3)
		return false;
	hmac_blake2s_key_init(&hk, chaining_key, BLAKE2S_HASH_LEN);
	hmac_blake2s_with(&hk, tau0, input, input_len);
	hmac_blake2s_key_init(&hk, tau0, sizeof(tau0));
	blake2s_absorb_full_block(&hk.inner);
	for (i = 0; i < n; i++) {
		size_t len = 0;

		if (i > 0) {
			memcpy(buf, tau[i - 1], BLAKE2S_HASH_LEN);
			len = BLAKE2S_HASH_LEN;
		}
		buf[len++] = (uint8_t)(i + 1);
		hmac_blake2s_with(&hk, tau[i], buf, len);
	}
	for (i = 0; i < n; i++)
		memcpy(outs[i], tau[i], BLAKE2S_HASH_LEN);
	explicit_bzero(&hk, sizeof(hk));
	explicit_bzero(tau0, sizeof(tau0));
	explicit_bzero(tau, sizeof(tau));
	explicit_bzero(buf, sizeof(buf));
	return true;
}
