/*
 * crypto_test.c - tests for crypto.c: published vectors (RFC 8439 A.5,
 * draft-irtf-cfrg-xchacha-03, RFC 7748, RFC 7693 including its appendix E
 * self-test, the BLAKE2 reference keyed KAT), WireGuard's construction constants, a naive BLAKE2s / HMAC /
 * KDF written here from RFC 7693 and RFC 2104 compared on random input,
 * tampering of every ciphertext bit, the allocation-free AEAD path, and the
 * per-thread contexts under several threads.
 *
 * Vectors marked "derived" were computed outside this project with Python
 * (hashlib's own BLAKE2s and hmac; a pure-Python ChaCha20-Poly1305 checked
 * against RFC 8439 2.8.2 and against pyca/cryptography), to cover
 * WireGuard-shaped nonces the RFCs do not (empty input, counter 2^64-1).
 */
#include "crypto.h"
#include "test.h"

#include <pthread.h>
#include <stdint.h>

#include <openssl/crypto.h>

static uint8_t buf_a[2048], buf_b[2048], buf_c[2048];

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = test_unhex(out, cap, hex);

	if (n * 2 != strlen(hex))
		abort();	/* a typo in a vector, not a failure of the code */
	return n;
}

/* got must equal the bytes the hex string spells */
#define CHECK_HEX(got, hex) do { \
	uint8_t want_[256]; \
	size_t n_ = unhex(want_, sizeof(want_), (hex)); \
	CHECK_MEM((got), want_, n_); \
} while (0)

/* ---- allocation counter (installed before OpenSSL allocates anything) ---- */

static bool mem_hooks_installed;
static unsigned long alloc_count;

static void *count_malloc(size_t n, const char *file, int line)
{
	__atomic_fetch_add(&alloc_count, 1, __ATOMIC_RELAXED);
	return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	__atomic_fetch_add(&alloc_count, 1, __ATOMIC_RELAXED);
	return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
	free(p);
}

/* ---- a naive BLAKE2s from RFC 7693, the reference the tests trust ---- */

static const uint32_t ref_iv[8] = {
	0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
	0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
};

static const uint8_t ref_sigma[10][16] = {
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

static uint32_t ref_rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void ref_g(uint32_t v[16], int a, int b, int c, int d, uint32_t x, uint32_t y)
{
	v[a] = v[a] + v[b] + x;
	v[d] = ref_rotr(v[d] ^ v[a], 16);
	v[c] = v[c] + v[d];
	v[b] = ref_rotr(v[b] ^ v[c], 12);
	v[a] = v[a] + v[b] + y;
	v[d] = ref_rotr(v[d] ^ v[a], 8);
	v[c] = v[c] + v[d];
	v[b] = ref_rotr(v[b] ^ v[c], 7);
}

static void ref_compress(uint32_t h[8], const uint8_t block[64], uint64_t t, int last)
{
	/* the columns, then the diagonals */
	static const uint8_t g[8][4] = {
		{ 0, 4, 8, 12 }, { 1, 5, 9, 13 }, { 2, 6, 10, 14 }, { 3, 7, 11, 15 },
		{ 0, 5, 10, 15 }, { 1, 6, 11, 12 }, { 2, 7, 8, 13 }, { 3, 4, 9, 14 },
	};
	uint32_t v[16], m[16];
	int i, j;

	for (i = 0; i < 16; i++)
		m[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 |
		       (uint32_t)block[4 * i + 2] << 16 | (uint32_t)block[4 * i + 3] << 24;
	for (i = 0; i < 8; i++) {
		v[i] = h[i];
		v[i + 8] = ref_iv[i];
	}
	v[12] ^= (uint32_t)t;
	v[13] ^= (uint32_t)(t >> 32);
	if (last)
		v[14] = ~v[14];
	for (i = 0; i < 10; i++)
		for (j = 0; j < 8; j++)
			ref_g(v, g[j][0], g[j][1], g[j][2], g[j][3],
			      m[ref_sigma[i][2 * j]], m[ref_sigma[i][2 * j + 1]]);
	for (i = 0; i < 8; i++)
		h[i] ^= v[i] ^ v[i + 8];
}

/* BLAKE2s with output length outlen (1..32) and key length klen (0..32). */
static void ref_blake2s(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen,
			const uint8_t *key, size_t klen)
{
	uint32_t h[8];
	uint8_t block[64];
	uint64_t t = 0;
	size_t i;

	memcpy(h, ref_iv, sizeof(h));
	h[0] ^= 0x01010000 ^ ((uint32_t)klen << 8) ^ (uint32_t)outlen;
	if (klen) {
		memset(block, 0, 64);
		memcpy(block, key, klen);
		t = 64;
		ref_compress(h, block, t, inlen == 0);
	}
	if (inlen || !klen) {
		while (inlen > 64) {
			t += 64;
			ref_compress(h, in, t, 0);
			in += 64;
			inlen -= 64;
		}
		memset(block, 0, 64);
		memcpy(block, in, inlen);
		t += inlen;
		ref_compress(h, block, t, 1);
	}
	for (i = 0; i < outlen; i++)
		out[i] = (uint8_t)(h[i / 4] >> (8 * (i % 4)));
}

static void ref_hmac(uint8_t out[32], const uint8_t *in, size_t inlen,
		     const uint8_t *key, size_t klen)
{
	uint8_t k[64] = { 0 }, msg[64 + 2048 + 32], inner[32];
	size_t i;

	if (klen > 64)
		ref_blake2s(k, 32, key, klen, NULL, 0);
	else
		memcpy(k, key, klen);
	for (i = 0; i < 64; i++)
		msg[i] = k[i] ^ 0x36;
	memcpy(msg + 64, in, inlen);
	ref_blake2s(inner, 32, msg, 64 + inlen, NULL, 0);
	for (i = 0; i < 64; i++)
		msg[i] = k[i] ^ 0x5c;
	memcpy(msg + 64, inner, 32);
	ref_blake2s(out, 32, msg, 96, NULL, 0);
}

static void ref_kdf(uint8_t out[3][32], const uint8_t ck[32], const uint8_t *in, size_t inlen)
{
	uint8_t t0[32], m[33];
	int i;

	ref_hmac(t0, in, inlen, ck, 32);
	m[0] = 1;
	ref_hmac(out[0], m, 1, t0, 32);
	for (i = 1; i < 3; i++) {
		memcpy(m, out[i - 1], 32);
		m[32] = (uint8_t)(i + 1);
		ref_hmac(out[i], m, 33, t0, 32);
	}
}

static void random_bytes(void *p, size_t n)
{
	if (!crypto_random(p, n))
		abort();
}

static size_t random_below(size_t n)
{
	uint32_t r;

	random_bytes(&r, sizeof(r));
	return r % n;
}

/* ---- ChaCha20-Poly1305 ---- */

/* RFC 8439 appendix A.5: its nonce 00000000 0102030405060708 is WireGuard's
 * shape, counter 0x0807060504030201. */
static const char a5_key[] = "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0";
static const char a5_ad[] = "f33388860000000000004e91";
static const char a5_ct[] =
	"64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
	"4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
	"332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
	"9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
	"b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
	"af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
	"0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
	"49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
	"a6ad5cb4022b02709b" "eead9d67890cbb22392336fea1851f38";
static const char a5_pt[] =
	"Internet-Drafts are draft documents valid for a maximum of six "
	"months and may be updated, replaced, or obsoleted by other documents "
	"at any time. It is inappropriate to use Internet-Drafts as reference "
	"material or to cite them other than as /\xe2\x80\x9cwork in progress."
	"/\xe2\x80\x9d";

static void test_aead_rfc8439_a5(void)
{
	uint8_t key[32], ad[12];
	size_t ct_len = unhex(buf_a, sizeof(buf_a), a5_ct);
	size_t pt_len = strlen(a5_pt);

	unhex(key, 32, a5_key);
	unhex(ad, 12, a5_ad);
	CHECK_INT(ct_len, pt_len + 16);
	CHECK(chacha20poly1305_decrypt(buf_b, buf_a, ct_len, ad, 12, 0x0807060504030201ULL, key));
	CHECK_MEM(buf_b, a5_pt, pt_len);
	CHECK(chacha20poly1305_encrypt(buf_c, (const uint8_t *)a5_pt, pt_len, ad, 12,
				       0x0807060504030201ULL, key));
	CHECK_MEM(buf_c, buf_a, ct_len);
	/* The same bytes under the byte-swapped counter must not verify. */
	CHECK(!chacha20poly1305_decrypt(buf_b, buf_a, ct_len, ad, 12, 0x0102030405060708ULL, key));
}

/* Derived vectors, key 40..5f (see the top of the file). */
static void test_aead_wireguard_vectors(void)
{
	static const struct {
		uint64_t counter;
		size_t pt_len, ad_len;
		const char *out;
	} v[] = {
		{ 0, 0, 0, "f6875690c6312675b993ad05b8843c11" },
		{ 0, 0, 32, "c3d108588c27385ad0e6cf678d2156f1" },
		{ UINT64_MAX, 1, 0, "add00c3cbd407b741a2c80105778f54b33" },
		{ 0x0102030405060708ULL, 100, 5,
		  "037acb099fd36728cca620ad1708e64d3d0e03a451daaa91d43a6763b71dd2cd"
		  "37e95a78dfd9f39fc263f00247f5f7d43a90f2506ad504fe211b3b952bc6a7c0"
		  "2ca320ca0afb9ec8abe0de48255b01deac8d20b63bc1eb3d2a84085811b2313d"
		  "a41496a59b84b9c8dddb1e954574f6cb5c83f54c" },
	};
	uint8_t key[32], pt[100], ad[32], want[116];
	size_t i, j;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x40 + i);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = unhex(want, sizeof(want), v[i].out);

		for (j = 0; j < v[i].pt_len; j++)
			pt[j] = v[i].pt_len == 1 ? 0x42 : (uint8_t)j;
		for (j = 0; j < v[i].ad_len; j++)
			ad[j] = v[i].ad_len == 5 ? (uint8_t)(j + 1) : (uint8_t)j;
		CHECK_INT(n, v[i].pt_len + 16);
		memset(buf_a, 0xaa, sizeof(buf_a));
		CHECK(chacha20poly1305_encrypt(buf_a, pt, v[i].pt_len,
					       v[i].ad_len ? ad : NULL, v[i].ad_len,
					       v[i].counter, key));
		CHECK_MEM(buf_a, want, n);
		CHECK(buf_a[n] == 0xaa);	/* nothing written past the tag */
		CHECK(chacha20poly1305_decrypt(buf_b, want, n, v[i].ad_len ? ad : NULL,
					       v[i].ad_len, v[i].counter, key));
		CHECK_MEM(buf_b, pt, v[i].pt_len);
	}
}

static void test_aead_every_bit_flip_fails(void)
{
	uint8_t key[32], ad[20], pt[61];
	size_t ct_len = sizeof(pt) + 16, bit;
	int wiped = 1, rejected = 1;

	random_bytes(key, sizeof(key));
	random_bytes(ad, sizeof(ad));
	random_bytes(pt, sizeof(pt));
	CHECK(chacha20poly1305_encrypt(buf_a, pt, sizeof(pt), ad, sizeof(ad), 7, key));
	for (bit = 0; bit < ct_len * 8; bit++) {
		buf_a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memset(buf_b, 0x55, sizeof(pt));
		if (chacha20poly1305_decrypt(buf_b, buf_a, ct_len, ad, sizeof(ad), 7, key))
			rejected = 0;
		for (size_t i = 0; i < sizeof(pt); i++)
			if (buf_b[i])
				wiped = 0;
		buf_a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK(rejected);
	CHECK(wiped);
	/* and the untouched message still opens */
	CHECK(chacha20poly1305_decrypt(buf_b, buf_a, ct_len, ad, sizeof(ad), 7, key));
	CHECK_MEM(buf_b, pt, sizeof(pt));
}

static void test_aead_wrong_ad_counter_key(void)
{
	uint8_t key[32], ad[16], pt[40];
	size_t ct_len = sizeof(pt) + 16, i;

	random_bytes(key, sizeof(key));
	random_bytes(ad, sizeof(ad));
	random_bytes(pt, sizeof(pt));
	CHECK(chacha20poly1305_encrypt(buf_a, pt, sizeof(pt), ad, sizeof(ad), 1000, key));
	for (i = 0; i < sizeof(ad); i++) {
		ad[i] ^= 0x80;
		CHECK(!chacha20poly1305_decrypt(buf_b, buf_a, ct_len, ad, sizeof(ad), 1000, key));
		ad[i] ^= 0x80;
	}
	CHECK(!chacha20poly1305_decrypt(buf_b, buf_a, ct_len, NULL, 0, 1000, key));
	CHECK(!chacha20poly1305_decrypt(buf_b, buf_a, ct_len, ad, sizeof(ad) - 1, 1000, key));
	CHECK(!chacha20poly1305_decrypt(buf_b, buf_a, ct_len, ad, sizeof(ad), 999, key));
	CHECK(!chacha20poly1305_decrypt(buf_b, buf_a, ct_len, ad, sizeof(ad), 1001, key));
	CHECK(!chacha20poly1305_decrypt(buf_b, buf_a, ct_len, ad, sizeof(ad),
					1000 | (1ULL << 63), key));
	key[31] ^= 1;
	CHECK(!chacha20poly1305_decrypt(buf_b, buf_a, ct_len, ad, sizeof(ad), 1000, key));
	key[31] ^= 1;
	/* truncated or extended ciphertexts */
	CHECK(!chacha20poly1305_decrypt(buf_b, buf_a, ct_len - 1, ad, sizeof(ad), 1000, key));
	CHECK(!chacha20poly1305_decrypt(buf_b, buf_a + 1, ct_len - 1, ad, sizeof(ad), 1000, key));
	CHECK(chacha20poly1305_decrypt(buf_b, buf_a, ct_len, ad, sizeof(ad), 1000, key));
	CHECK_MEM(buf_b, pt, sizeof(pt));
}

static void test_aead_short_input(void)
{
	uint8_t key[32] = { 1 };
	size_t len;

	memset(buf_b, 0x77, 32);
	for (len = 0; len < 16; len++)
		CHECK(!chacha20poly1305_decrypt(buf_b, buf_a, len, NULL, 0, 0, key));
	CHECK(buf_b[0] == 0x77 && buf_b[31] == 0x77);	/* untouched */
	/* exactly a tag: the keepalive */
	CHECK(chacha20poly1305_encrypt(buf_a, NULL, 0, NULL, 0, 5, key));
	CHECK(chacha20poly1305_decrypt(buf_b, buf_a, 16, NULL, 0, 5, key));
	CHECK(!chacha20poly1305_decrypt(buf_b, buf_a, 16, NULL, 0, 6, key));
}

static void test_aead_in_place(void)
{
	uint8_t key[32], ad[13];
	size_t len;

	random_bytes(key, sizeof(key));
	random_bytes(ad, sizeof(ad));
	for (len = 0; len < 300; len += 37) {
		random_bytes(buf_a, len);
		memcpy(buf_c, buf_a, len);
		CHECK(chacha20poly1305_encrypt(buf_b, buf_a, len, ad, sizeof(ad), len, key));
		CHECK(chacha20poly1305_encrypt(buf_a, buf_a, len, ad, sizeof(ad), len, key));
		CHECK_MEM(buf_a, buf_b, len + 16);
		CHECK(chacha20poly1305_decrypt(buf_a, buf_a, len + 16, ad, sizeof(ad), len, key));
		CHECK_MEM(buf_a, buf_c, len);
		/* a failed in-place decryption wipes the buffer */
		buf_b[len] ^= 1;
		CHECK(!chacha20poly1305_decrypt(buf_b, buf_b, len + 16, ad, sizeof(ad), len, key));
		CHECK(len == 0 || crypto_is_zero(buf_b, len));
	}
}

/* A rejected message leaves the cached context usable: the next
 * encryption and decryption under the same key are right. */
static void test_aead_after_failure(void)
{
	uint8_t key[32], pt[50], want[66];
	int i;

	random_bytes(key, sizeof(key));
	random_bytes(pt, sizeof(pt));
	CHECK(chacha20poly1305_encrypt(want, pt, sizeof(pt), NULL, 0, 3, key));
	for (i = 0; i < 3; i++) {
		memcpy(buf_a, want, sizeof(want));
		buf_a[sizeof(want) - 1] ^= 0x20;
		CHECK(!chacha20poly1305_decrypt(buf_b, buf_a, sizeof(want), NULL, 0, 3, key));
		CHECK(chacha20poly1305_encrypt(buf_c, pt, sizeof(pt), NULL, 0, 3, key));
		CHECK_MEM(buf_c, want, sizeof(want));
		CHECK(chacha20poly1305_decrypt(buf_b, want, sizeof(want), NULL, 0, 3, key));
		CHECK_MEM(buf_b, pt, sizeof(pt));
	}
}

static void test_aead_does_not_allocate(void)
{
	uint8_t key[32] = { 9 }, mac[16];
	unsigned long before;
	int i, ok = 1;

	CHECK(mem_hooks_installed);
	/* warm-up: the first call on a thread creates its context */
	ok &= chacha20poly1305_encrypt(buf_a, buf_a, 100, key, 8, 0, key);
	ok &= blake2s_mac128(mac, buf_a, 100, key, 32);
	before = __atomic_load_n(&alloc_count, __ATOMIC_RELAXED);
	for (i = 0; i < 100; i++) {
		ok &= chacha20poly1305_encrypt(buf_a, buf_a, 100, key, 8, (uint64_t)i, key);
		ok &= chacha20poly1305_decrypt(buf_a, buf_a, 116, key, 8, (uint64_t)i, key);
		ok &= !chacha20poly1305_decrypt(buf_b, buf_a, 116, key, 8, (uint64_t)i + 1, key);
		ok &= blake2s_mac128(mac, buf_a, 100, key, 32);
	}
	CHECK(ok);
	CHECK_INT(__atomic_load_n(&alloc_count, __ATOMIC_RELAXED) - before, 0);
}

/* ---- XChaCha20-Poly1305 and HChaCha20 ---- */

static void test_hchacha20_vector(void)
{
	uint8_t key[32], nonce[16], out[32], first[32];
	int i;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	unhex(nonce, 16, "000000090000004a0000000031415927");
	hchacha20(out, nonce, key);
	CHECK_HEX(out, "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
	memcpy(first, out, 32);
	nonce[15] ^= 1;
	hchacha20(out, nonce, key);
	CHECK(memcmp(out, first, 32) != 0);
}

static void test_xchacha20poly1305_vector(void)
{
	static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer "
				 "you only one tip for the future, sunscreen would be it.";
	uint8_t key[32], nonce[24], ad[12], want[160];
	size_t n, i;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	for (i = 0; i < 24; i++)
		nonce[i] = (uint8_t)(0x40 + i);
	unhex(ad, 12, "50515253c0c1c2c3c4c5c6c7");
	n = unhex(want, sizeof(want),
		  "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
		  "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
		  "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
		  "21f9664c97637da9768812f615c68b13b52e" "c0875924c1c7987947deafd8780acf49");
	CHECK_INT(n, strlen(pt) + 16);
	CHECK(xchacha20poly1305_encrypt(buf_a, (const uint8_t *)pt, strlen(pt), ad, 12, nonce, key));
	CHECK_MEM(buf_a, want, n);
	CHECK(xchacha20poly1305_decrypt(buf_b, want, n, ad, 12, nonce, key));
	CHECK_MEM(buf_b, pt, strlen(pt));
	/* every nonce byte matters: the first 16 through HChaCha20, the last 8
	 * as the inner counter */
	for (i = 0; i < 24; i++) {
		nonce[i] ^= 0x10;
		CHECK(!xchacha20poly1305_decrypt(buf_b, want, n, ad, 12, nonce, key));
		CHECK(crypto_is_zero(buf_b, strlen(pt)));
		nonce[i] ^= 0x10;
	}
	want[n - 1] ^= 0x40;
	CHECK(!xchacha20poly1305_decrypt(buf_b, want, n, ad, 12, nonce, key));
	CHECK(!xchacha20poly1305_decrypt(buf_b, want, 15, ad, 12, nonce, key));
}

/* ---- X25519 ---- */

static void test_x25519_rfc7748(void)
{
	static const char *const v[][3] = {	/* section 5.2: scalar, u, out */
		{ "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		  "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" },
		{ "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		  "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" },
	};
	uint8_t k[32], u[32], out[32], want[32], a[32], b[32], apub[32], bpub[32], s1[32], s2[32];
	int i;

	for (i = 0; i < 2; i++) {
		unhex(k, 32, v[i][0]);
		unhex(u, 32, v[i][1]);
		unhex(want, 32, v[i][2]);
		CHECK(x25519(out, k, u));
		CHECK_MEM(out, want, 32);
	}

	/* iterated: k, u = X25519(k, u), k starting from the base point */
	memset(k, 0, 32);
	k[0] = 9;
	memcpy(u, k, 32);
	for (i = 0; i < 1000; i++) {
		CHECK(x25519(out, k, u));
		memcpy(u, k, 32);
		memcpy(k, out, 32);
		if (i == 0) {
			CHECK_HEX(k, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
		}
	}
	CHECK_HEX(k, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");

	/* section 6.1, Alice and Bob */
	unhex(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	CHECK(x25519_public_from_secret(apub, a));
	CHECK(x25519_public_from_secret(bpub, b));
	CHECK_HEX(apub, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	CHECK_HEX(bpub, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	CHECK(x25519(s1, a, bpub));
	CHECK(x25519(s2, b, apub));
	CHECK_HEX(s1, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	CHECK_MEM(s2, s1, 32);
}

static void test_x25519_low_order_points(void)
{
	/* Small-order u-coordinates (0, 1, two of order 8, p-1) and the
	 * non-canonical encodings p and p+1 of 0 and 1: any (clamped) scalar
	 * multiple is the point at infinity, encoded as all zeros. */
	static const char *const points[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	uint8_t secret[32], pub[32], shared[32];
	size_t i;

	CHECK(x25519_generate_secret(secret));
	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		unhex(pub, 32, points[i]);
		if (x25519(shared, secret, pub)) {
			fprintf(stderr, "  low-order point %zu accepted\n", i);
			CHECK(0);
		}
	}
	/* and a good point still works with the same secret */
	CHECK(x25519_public_from_secret(pub, secret));
	CHECK(x25519(shared, secret, pub));
	CHECK(!crypto_is_zero(shared, 32));
}

static void test_x25519_generate_and_agree(void)
{
	uint8_t a[32], b[32], apub[32], bpub[32], s1[32], s2[32];
	int i;

	for (i = 0; i < 20; i++) {
		CHECK(x25519_generate_secret(a));
		CHECK(x25519_generate_secret(b));
		CHECK((a[0] & 7) == 0 && (a[31] & 0xc0) == 0x40);
		CHECK(memcmp(a, b, 32) != 0);
		CHECK(x25519_public_from_secret(apub, a));
		CHECK(x25519_public_from_secret(bpub, b));
		CHECK(x25519(s1, a, bpub));
		CHECK(x25519(s2, b, apub));
		CHECK_MEM(s1, s2, 32);
		bpub[i % 31] ^= 4;	/* a different peer, a different secret */
		if (x25519(s2, a, bpub))
			CHECK(memcmp(s1, s2, 32) != 0);
	}
}

/* More secrets than crypto.c caches key objects for, used in a scrambled
 * order against changing public keys: each DH must agree with the one
 * made from the other side, whatever was computed before it on the
 * thread (the peer key object is shared and rewritten per DH). */
static void test_x25519_interleaved_keys(void)
{
	enum { N = 7 };
	uint8_t sec[N][32], pub[N][32], s1[32], s2[32];
	int i, r, ok = 1;

	for (i = 0; i < N; i++) {
		CHECK(x25519_generate_secret(sec[i]));
		CHECK(x25519_public_from_secret(pub[i], sec[i]));
	}
	for (r = 0; r < 60; r++) {
		size_t a = random_below(N), b = random_below(N);

		ok &= x25519(s1, sec[a], pub[b]);
		/* a public key made in between must not disturb the next DH */
		if (r % 5 == 0) {
			uint8_t e[32], epub[32];

			ok &= x25519_generate_secret(e) && x25519_public_from_secret(epub, e);
			x25519_forget(e);
		}
		ok &= x25519(s2, sec[b], pub[a]);
		ok &= memcmp(s1, s2, 32) == 0;
	}
	CHECK(ok);
	/* and a public key is the same computed again after all that */
	CHECK(x25519_public_from_secret(s1, sec[0]));
	CHECK_MEM(s1, pub[0], 32);
	for (i = 0; i < N; i++)
		x25519_forget(sec[i]);
}

/* ---- BLAKE2s, keyed BLAKE2s, HMAC, KDF ---- */

static void test_blake2s_vectors(void)
{
	uint8_t out[32], ck[32];
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

	CHECK(blake2s256(out, (const uint8_t *)"abc", 3, NULL, 0));
	CHECK_HEX(out, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	CHECK(blake2s256(out, NULL, 0, NULL, 0));
	CHECK_HEX(out, "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
	/* split inputs hash as their concatenation */
	CHECK(blake2s256(out, (const uint8_t *)"a", 1, (const uint8_t *)"bc", 2));
	CHECK_HEX(out, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");

	/* WireGuard's initial chaining key and hash */
	CHECK(blake2s256(ck, (const uint8_t *)construction, strlen(construction), NULL, 0));
	CHECK_HEX(ck, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	CHECK(blake2s256(out, ck, 32, (const uint8_t *)identifier, strlen(identifier)));
	CHECK_HEX(out, "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
}

/* RFC 7693 appendix E: the grand hash over unkeyed and keyed BLAKE2s of
 * every output length in {16, 20, 28, 32} and input length in {0, 3, 64,
 * 65, 255, 1024}.  It holds the reference above to the RFC for lengths the
 * KATs do not cover, and crypto.c to the same inputs where crypto.h can
 * express them (32-byte unkeyed, 16-byte keyed). */
static void selftest_seq(uint8_t *out, size_t len, uint32_t seed)
{
	uint32_t a = 0xDEAD4BAD * seed, b = 1, t;
	size_t i;

	for (i = 0; i < len; i++) {
		t = a + b;
		a = b;
		b = t;
		out[i] = (uint8_t)(t >> 24);
	}
}

static void test_blake2s_rfc7693_selftest(void)
{
	static const size_t md_len[] = { 16, 20, 28, 32 };
	static const size_t in_len[] = { 0, 3, 64, 65, 255, 1024 };
	uint8_t grand_in[4 * 6 * 2 * 32], md[32], key[32], in[1024], got[32];
	size_t n = 0, i, j;

	for (i = 0; i < 4; i++) {
		for (j = 0; j < 6; j++) {
			size_t outlen = md_len[i], inlen = in_len[j];

			selftest_seq(in, inlen, (uint32_t)inlen);
			ref_blake2s(md, outlen, in, inlen, NULL, 0);
			memcpy(grand_in + n, md, outlen);
			n += outlen;
			if (outlen == 32) {
				CHECK(blake2s256(got, in, inlen, NULL, 0));
				CHECK_MEM(got, md, 32);
			}
			selftest_seq(key, outlen, (uint32_t)outlen);
			ref_blake2s(md, outlen, in, inlen, key, outlen);
			memcpy(grand_in + n, md, outlen);
			n += outlen;
			if (outlen == 16) {
				CHECK(blake2s_mac128(got, in, inlen, key, outlen));
				CHECK_MEM(got, md, 16);
			}
		}
	}
	ref_blake2s(md, 32, grand_in, n, NULL, 0);
	CHECK_HEX(md, "6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe");
	CHECK(blake2s256(got, grand_in, n, NULL, 0));
	CHECK_MEM(got, md, 32);
}

static void test_blake2s_matches_reference(void)
{
	uint8_t out[32], want[32];
	int i;

	for (i = 0; i < 300; i++) {
		size_t len = (size_t)i < 200 ? (size_t)i : random_below(1024);
		size_t split = random_below(len + 1);

		random_bytes(buf_a, len);
		ref_blake2s(want, 32, buf_a, len, NULL, 0);
		CHECK(blake2s256(out, buf_a, split, buf_a + split, len - split));
		CHECK_MEM(out, want, 32);
	}
}

static void test_blake2s_mac128(void)
{
	/* key 00..1f, input 00..len-1: kat32 is the BLAKE2 reference keyed
	 * KAT (32-byte output), mac16 the same with outlen 16 (derived) */
	static const struct { size_t len; const char *kat32, *mac16; } v[] = {
		{ 0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49",
		  "9536f9b267655743dee97b8a670f9f53" },
		{ 1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1",
		  "13bacfb85b48a1223c595f8c1e7e82cb" },
		{ 2, "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803",
		  "d47a9b1645e2feae501cd5fe44ce6333" },
		{ 63, "c65382513f07460da39833cb666c5ed82e61b9e998f4b0c4287cee56c3cc9bcd",
		  "ece382a8bd5018f1de5da44b72cea75b" },
		{ 64, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4",
		  "f1efa90d2547036841ecd3627fafbc36" },
		{ 65, "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8",
		  "811ff8686d23a435ecbd0bdafcd27b1b" },
		{ 255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd",
		  "cd075928ab7e6883e697fe7fd3ac43ee" },
	};
	uint8_t key[33], in[256], out[16], want[16], full[32];
	size_t i;
	int r;

	for (i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		/* The reference is what the random tests below trust, so it is
		 * held to the published KAT; crypto.h has no 32-byte keyed mode. */
		ref_blake2s(full, 32, in, v[i].len, key, 32);
		CHECK_HEX(full, v[i].kat32);
		ref_blake2s(out, 16, in, v[i].len, key, 32);
		CHECK_HEX(out, v[i].mac16);
		CHECK(blake2s_mac128(out, in, v[i].len, key, 32));
		CHECK_HEX(out, v[i].mac16);
		/* the output length is in the parameter block: not a truncation */
		CHECK(memcmp(out, full, 16) != 0);
	}
	CHECK(blake2s_mac128(out, (const uint8_t *)"abc", 3, (const uint8_t *)"\1\2\3\4\5", 5));
	CHECK_HEX(out, "9fa97aa7b931d221d1bea1a822d54dd8");

	/* random keys of every legal length against the reference */
	for (r = 0; r < 200; r++) {
		size_t klen = 1 + (size_t)r % 32, len = random_below(300);

		random_bytes(key, klen);
		random_bytes(buf_a, len);
		ref_blake2s(want, 16, buf_a, len, key, klen);
		CHECK(blake2s_mac128(out, buf_a, len, key, klen));
		CHECK_MEM(out, want, 16);
	}
	CHECK(!blake2s_mac128(out, in, 10, key, 0));
	CHECK(!blake2s_mac128(out, in, 10, key, 33));
	CHECK(!blake2s_mac128(out, in, 10, NULL, 0));
}

static void test_hmac_blake2s(void)
{
	static const struct { size_t klen; const char *msg; const char *out; } v[] = {
		/* derived with Python hmac + hashlib.blake2s; key 00..klen-1 */
		{ 32, "abc", "82623be5bc0a391b24dce53e67d028eff92d586de0485ac37822e597d049c74f" },
		{ 0, "abc", "4a79a31b10a8c34b7c89735b8088e6b810b4bad4f36d671b65ca2ea0914952bf" },
		{ 64, "", "4a4f8f181c931253202b2d7a77e2a612f65580f4b0d56108f7f275f22b63ae00" },
		{ 65, "", "019d0d4ece4de18d4db0fe1b3b13460ff4bca4ff2b08d86e50bb1c8a799643ae" },
		{ 100, "abc", "c1b751501db12b753069a918627b623179be55c8cc7ca5c4e14bdf32274ac656" },
	};
	uint8_t key[100], out[32], want[32];
	size_t i;
	int r;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unhex(want, 32, v[i].out);
		CHECK(hmac_blake2s(out, (const uint8_t *)v[i].msg, strlen(v[i].msg), key, v[i].klen));
		CHECK_MEM(out, want, 32);
	}
	for (r = 0; r < 200; r++) {
		size_t klen = random_below(100), len = random_below(500);

		random_bytes(key, klen);
		random_bytes(buf_a, len);
		ref_hmac(want, buf_a, len, key, klen);
		CHECK(hmac_blake2s(out, buf_a, len, key, klen));
		CHECK_MEM(out, want, 32);
	}
	/* out aliasing the key and the input */
	random_bytes(buf_a, 64);
	ref_hmac(want, buf_a, 32, buf_a + 32, 32);
	CHECK(hmac_blake2s(buf_a + 32, buf_a, 32, buf_a + 32, 32));
	CHECK_MEM(buf_a + 32, want, 32);
	random_bytes(buf_a, 64);
	ref_hmac(want, buf_a, 32, buf_a + 32, 32);
	CHECK(hmac_blake2s(buf_a, buf_a, 32, buf_a + 32, 32));
	CHECK_MEM(buf_a, want, 32);
}

static void test_kdf(void)
{
	uint8_t ck[32], in[100], t[3][32], want[3][32];
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	int n, r;
	size_t i;

	/* derived: ck = the initial chaining key, input 00..1f */
	CHECK(blake2s256(ck, (const uint8_t *)construction, strlen(construction), NULL, 0));
	for (i = 0; i < 32; i++)
		in[i] = (uint8_t)i;
	CHECK(kdf(t[0], t[1], t[2], 3, ck, in, 32));
	CHECK_HEX(t[0], "6ff66e10ab4a55ac8144a867fcd9f8ee64d4bd6239223338cb3437cf085ab031");
	CHECK_HEX(t[1], "203b22d63d63e35cebb9e40210cf8c1d7f90879428a4c766cda9ef34bb299398");
	CHECK_HEX(t[2], "35a7b2fc3e4f59db341dbe588e3b75897980c463d5bbb855f8ed8134ff40133a");
	CHECK(kdf(t[0], NULL, NULL, 1, ck, NULL, 0));
	CHECK_HEX(t[0], "bd968725a9177942a8c2e4253d1dde31cf7b19ec001b4a3a3d141cd9d998d3ba");

	for (r = 0; r < 60; r++) {
		size_t len = random_below(sizeof(in) + 1);

		n = 1 + r % 3;
		random_bytes(ck, 32);
		random_bytes(in, len);
		ref_kdf(want, ck, in, len);
		memset(t, 0xee, sizeof(t));
		CHECK(kdf(t[0], n > 1 ? t[1] : NULL, n > 2 ? t[2] : NULL, n, ck, in, len));
		for (i = 0; i < 3; i++) {
			if ((int)i < n)
				CHECK_MEM(t[i], want[i], 32);
			else
				CHECK(t[i][0] == 0xee && t[i][31] == 0xee);
		}
		/* ck = KDF(ck, ...) in place, as the handshake does */
		CHECK(kdf(ck, t[1], NULL, 2, ck, in, len));
		CHECK_MEM(ck, want[0], 32);
		CHECK_MEM(t[1], want[1], 32);
	}
	CHECK(!kdf(t[0], t[1], t[2], 0, ck, in, 32));
	CHECK(!kdf(t[0], t[1], t[2], 4, ck, in, 32));
}

static void test_equal_and_is_zero(void)
{
	uint8_t a[64] = { 0 }, b[64] = { 0 };
	size_t i;

	CHECK(crypto_is_zero(a, sizeof(a)));
	CHECK(crypto_is_zero(a, 0));
	CHECK(crypto_equal(a, b, sizeof(a)));
	for (i = 0; i < sizeof(a) * 8; i++) {
		a[i / 8] ^= (uint8_t)(1u << (i % 8));
		CHECK(!crypto_is_zero(a, sizeof(a)));
		CHECK(!crypto_equal(a, b, sizeof(a)));
		CHECK(crypto_equal(a, b, i / 8));	/* differences past len ignored */
		a[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	random_bytes(a, sizeof(a));
	memcpy(b, a, sizeof(a));
	CHECK(crypto_equal(a, b, sizeof(a)));
	CHECK(crypto_random(a, 0));
}

/* ---- threads: each works with its own contexts, all at once ---- */

struct worker {
	pthread_t thread;
	int id;
	int failures;
};

/* Random lengths, AD and counters, checked against the reference and
 * against tampering, on as many threads as run_workers starts. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t key[32], pt[1500], ct[1516], back[1500], ad[64], mac[16], want[32], h[32];
	int i;

	for (i = 0; i < 300; i++) {
		size_t len = random_below(sizeof(pt)), ad_len = random_below(sizeof(ad) + 1);
		uint64_t ctr;

		random_bytes(key, sizeof(key));
		random_bytes(&ctr, sizeof(ctr));
		random_bytes(ad, ad_len);
		random_bytes(pt, len);
		if (!chacha20poly1305_encrypt(ct, pt, len, ad, ad_len, ctr, key) ||
		    (len >= 16 && memcmp(ct, pt, len) == 0) ||
		    !chacha20poly1305_decrypt(back, ct, len + 16, ad, ad_len, ctr, key) ||
		    memcmp(back, pt, len) != 0)
			w->failures++;
		ct[random_below(len + 16)] ^= (uint8_t)(1u << random_below(8));
		if (chacha20poly1305_decrypt(back, ct, len + 16, ad, ad_len, ctr, key))
			w->failures++;
		ref_blake2s(want, 16, pt, len, key, 1 + i % 32);
		if (!blake2s_mac128(mac, pt, len, key, 1 + i % 32) || memcmp(mac, want, 16) != 0)
			w->failures++;
		ref_blake2s(want, 32, pt, len, NULL, 0);
		if (!blake2s256(h, pt, len, NULL, 0) || memcmp(h, want, 32) != 0)
			w->failures++;
	}
	return NULL;
}

/* Runs n workers at once and returns how many failed or did not start. */
static int run_workers(int n, int first_id)
{
	struct worker w[4];
	bool started[4];
	int i, bad = 0;

	memset(w, 0, sizeof(w));
	for (i = 0; i < n; i++) {
		w[i].id = first_id + i;
		started[i] = pthread_create(&w[i].thread, NULL, worker_main, &w[i]) == 0;
	}
	for (i = 0; i < n; i++) {
		if (!started[i]) {
			bad++;
			continue;
		}
		pthread_join(w[i].thread, NULL);
		if (w[i].failures)
			bad++;
	}
	return bad;
}

static void test_threads(void)
{
	CHECK_INT(run_workers(4, 0), 0);
	/* A second wave after the first exited: their exit destructors ran
	 * (LeakSanitizer checks that they freed) and disturbed nothing. */
	CHECK_INT(run_workers(2, 10), 0);
}

static void test_init(void)
{
	CHECK(crypto_init());
	CHECK(crypto_init());	/* idempotent */
}

int main(void)
{
	/* before anything makes OpenSSL allocate */
	mem_hooks_installed = CRYPTO_set_mem_functions(count_malloc, count_realloc,
						       count_free) == 1;

	RUN(test_init);
	RUN(test_aead_rfc8439_a5);
	RUN(test_aead_wireguard_vectors);
	RUN(test_aead_every_bit_flip_fails);
	RUN(test_aead_wrong_ad_counter_key);
	RUN(test_aead_short_input);
	RUN(test_aead_in_place);
	RUN(test_aead_after_failure);
	RUN(test_aead_does_not_allocate);
	RUN(test_hchacha20_vector);
	RUN(test_xchacha20poly1305_vector);
	RUN(test_x25519_rfc7748);
	RUN(test_x25519_low_order_points);
	RUN(test_x25519_generate_and_agree);
	RUN(test_x25519_interleaved_keys);
	RUN(test_blake2s_vectors);
	RUN(test_blake2s_rfc7693_selftest);
	RUN(test_blake2s_matches_reference);
	RUN(test_blake2s_mac128);
	RUN(test_hmac_blake2s);
	RUN(test_kdf);
	RUN(test_equal_and_is_zero);
	RUN(test_threads);
	TEST_EXIT();
}
