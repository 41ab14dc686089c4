/*
 * encoding_test.c - tests for encoding.c: known vectors (checked against
 * Python's base64 module), round trips of random keys, and an exhaustive
 * comparison of the constant-time decoders with a naive table-driven
 * reference: every position of a valid string is replaced by every byte
 * value, and the decoder must accept exactly when the reference does and
 * then produce the same key.
 */
#include "encoding.h"
#include "test.h"

#include <ctype.h>
#include <stdint.h>
#include <sys/random.h>

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void random_key(uint8_t key[KEY_LEN])
{
	if (getrandom(key, KEY_LEN, 0) != KEY_LEN)
		abort();
}

/* ---- naive references, written the obvious way ---- */

static int ref_b64_value(int c)
{
	const char *p;

	if (c == 0)
		return -1;
	p = strchr(b64_alphabet, c);
	return p ? (int)(p - b64_alphabet) : -1;
}

static void ref_to_base64(char out[45], const uint8_t key[32])
{
	int bit, i;

	/* 256 bits then 2 zero bits, 6 at a time */
	for (i = 0; i < 43; i++) {
		int v = 0;

		for (bit = 6 * i; bit < 6 * i + 6; bit++)
			v = v << 1 | (bit < 256 ? (key[bit / 8] >> (7 - bit % 8)) & 1 : 0);
		out[i] = b64_alphabet[v];
	}
	out[43] = '=';
	out[44] = '\0';
}

static bool ref_from_base64(uint8_t key[32], const char *s)
{
	int bit, i;

	if (strlen(s) != 44 || s[43] != '=')
		return false;
	memset(key, 0, 32);
	for (i = 0; i < 43; i++) {
		int v = ref_b64_value((unsigned char)s[i]);

		if (v < 0)
			return false;
		for (bit = 0; bit < 6; bit++) {
			int pos = 6 * i + bit, b = (v >> (5 - bit)) & 1;

			if (pos < 256)
				key[pos / 8] |= (uint8_t)(b << (7 - pos % 8));
			else if (b)
				return false;	/* non-canonical trailing bits */
		}
	}
	return true;
}

static bool ref_from_hex(uint8_t key[32], const char *s)
{
	int i;

	if (strlen(s) != 64)
		return false;
	for (i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	for (i = 0; i < 32; i++) {
		unsigned v;

		sscanf(s + 2 * i, "%2x", &v);
		key[i] = (uint8_t)v;
	}
	return true;
}

/* ---- tests ---- */

static void test_base64_known_vectors(void)
{
	static const struct { uint8_t first, step; const char *b64; } v[] = {
		{ 0x00, 0, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" },
		{ 0xff, 0, "//////////////////////////////////////////8=" },
		{ 0x00, 1, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" },
		{ 0xe0, 1, "4OHi4+Tl5ufo6err7O3u7/Dx8vP09fb3+Pn6+/z9/v8=" },
	};
	uint8_t key[32], back[32];
	char out[KEY_BASE64_LEN + 1];
	size_t i, j;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (j = 0; j < 32; j++)
			key[j] = (uint8_t)(v[i].first + v[i].step * j);
		memset(out, 'X', sizeof(out));
		key_to_base64(out, key);
		CHECK(strcmp(out, v[i].b64) == 0);
		memset(back, 0x5a, sizeof(back));
		CHECK(key_from_base64(back, v[i].b64));
		CHECK_MEM(back, key, 32);
	}
}

static void test_hex_known_vectors(void)
{
	uint8_t key[32], back[32];
	char out[KEY_HEX_LEN + 1];
	int i;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 8 + 7);	/* 07 0f 17 ... ff */
	key_to_hex(out, key);
	CHECK(strcmp(out, "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff") == 0);
	CHECK(key_from_hex(back, "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff"));
	CHECK_MEM(back, key, 32);
	memset(back, 0, 32);
	CHECK(key_from_hex(back, "070F171F272F373F474F575F676F777F878F979FA7AFB7BFC7CFD7DFE7EFF7FF"));
	CHECK_MEM(back, key, 32);
	memset(back, 0, 32);
	CHECK(key_from_hex(back, "070f171F272f373F474f575F676f777F878f979Fa7aFb7bFc7cFd7dFe7eFf7fF"));
	CHECK_MEM(back, key, 32);
}

static void test_round_trips_random_keys(void)
{
	uint8_t key[32], back[32];
	char b64[KEY_BASE64_LEN + 1], hex[KEY_HEX_LEN + 1], want[45];
	int i, j;

	for (i = 0; i < 2000; i++) {
		random_key(key);
		key_to_base64(b64, key);
		ref_to_base64(want, key);
		CHECK(strcmp(b64, want) == 0);
		CHECK(strlen(b64) == KEY_BASE64_LEN);
		memset(back, 0, 32);
		CHECK(key_from_base64(back, b64));
		CHECK_MEM(back, key, 32);

		key_to_hex(hex, key);
		CHECK(strlen(hex) == KEY_HEX_LEN);
		for (j = 0; j < KEY_HEX_LEN; j++)
			CHECK(isdigit((unsigned char)hex[j]) || (hex[j] >= 'a' && hex[j] <= 'f'));
		memset(back, 0, 32);
		CHECK(key_from_hex(back, hex));
		CHECK_MEM(back, key, 32);
	}
}

/* Every position, every byte value: accept exactly what the reference
 * accepts.  Covers stray characters, '=' inside, NUL (short strings) and
 * the non-canonical last character. */
static void test_base64_every_substitution(void)
{
	uint8_t key[32], got[32], want[32];
	char s[KEY_BASE64_LEN + 1], t[KEY_BASE64_LEN + 1];
	int pos, c, mismatches = 0, accepted = 0, trials;

	for (trials = 0; trials < 3; trials++) {
		random_key(key);
		key_to_base64(s, key);
		for (pos = 0; pos < KEY_BASE64_LEN; pos++) {
			for (c = 0; c < 256; c++) {
				bool ok, ref_ok;

				memcpy(t, s, sizeof(t));
				t[pos] = (char)c;
				memset(got, 0xa5, 32);
				memset(want, 0xa5, 32);
				ok = key_from_base64(got, t);
				ref_ok = ref_from_base64(want, t);
				if (ok != ref_ok || (ok && memcmp(got, want, 32) != 0)) {
					if (mismatches++ < 5)
						fprintf(stderr, "  base64 pos %d char 0x%02x: %d vs %d\n",
							pos, c, ok, ref_ok);
				}
				if (!ok && memcmp(got, "\xa5\xa5\xa5\xa5", 4) != 0)
					mismatches++;	/* output touched on failure */
				accepted += ok;
			}
		}
	}
	CHECK_INT(mismatches, 0);
	/* sanity on the reference: 42 positions take any of 64 characters,
	 * position 42 takes the 16 with low bits 00, position 43 only '=' */
	CHECK_INT(accepted, 3 * (42 * 64 + 16 + 1));
}

static void test_base64_rejects(void)
{
	uint8_t key[32], zero[32] = { 0 };
	char s[64];

	memset(key, 0x11, 32);
	/* 43 and 45 characters */
	CHECK(!key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	CHECK(!key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="));
	CHECK(!key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= "));
	CHECK(!key_from_base64(key, " AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	CHECK(!key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	CHECK(!key_from_base64(key, ""));
	CHECK(!key_from_base64(key, NULL));
	/* non-canonical: B, C, D have low bits set; E is the next canonical */
	CHECK(!key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="));
	CHECK(!key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAC="));
	CHECK(!key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD="));
	CHECK(!key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/="));
	/* URL-safe alphabet, stray characters, high bytes */
	CHECK(!key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-A="));
	CHECK(!key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_AA="));
	CHECK(!key_from_base64(key, "AAAAAAAAAA\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	CHECK(!key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xc3="));
	CHECK(!key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=A="));
	/* a NUL inside: the string is 20 characters */
	memcpy(s, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 45);
	s[20] = '\0';
	CHECK(!key_from_base64(key, s));
	/* nothing above touched the key */
	CHECK(key[0] == 0x11 && key[31] == 0x11);
	CHECK(key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE="));
	zero[31] = 1;
	CHECK_MEM(key, zero, 32);
}

static void test_hex_every_substitution(void)
{
	uint8_t key[32], got[32], want[32];
	char s[KEY_HEX_LEN + 1], t[KEY_HEX_LEN + 1];
	int pos, c, mismatches = 0, accepted = 0;

	random_key(key);
	key_to_hex(s, key);
	memset(want, 0, sizeof(want));
	for (pos = 0; pos < KEY_HEX_LEN; pos++) {
		for (c = 0; c < 256; c++) {
			bool ok, ref_ok;

			memcpy(t, s, sizeof(t));
			t[pos] = (char)c;
			memset(got, 0xa5, 32);
			ok = key_from_hex(got, t);
			ref_ok = ref_from_hex(want, t);
			if (ok != ref_ok || (ok && memcmp(got, want, 32) != 0)) {
				if (mismatches++ < 5)
					fprintf(stderr, "  hex pos %d char 0x%02x: %d vs %d\n",
						pos, c, ok, ref_ok);
			}
			if (!ok && got[0] != 0xa5)
				mismatches++;
			accepted += ok;
		}
	}
	CHECK_INT(mismatches, 0);
	CHECK_INT(accepted, 64 * 22);	/* 0-9 a-f A-F at every position */
}

static void test_hex_rejects(void)
{
	uint8_t key[32];
	char s[80];

	memset(key, 0x22, 32);
	memset(s, 'a', sizeof(s));
	s[63] = '\0';	/* odd length */
	CHECK(!key_from_hex(key, s));
	s[63] = 'a';
	s[62] = '\0';	/* 62 */
	CHECK(!key_from_hex(key, s));
	s[62] = 'a';
	s[65] = '\0';	/* 65 */
	CHECK(!key_from_hex(key, s));
	s[65] = 'a';
	s[66] = '\0';	/* 66 */
	CHECK(!key_from_hex(key, s));
	CHECK(!key_from_hex(key, ""));
	CHECK(!key_from_hex(key, NULL));
	memset(s, '0', 64);
	s[64] = '\0';
	s[10] = 'g';
	CHECK(!key_from_hex(key, s));
	s[10] = 'G';
	CHECK(!key_from_hex(key, s));
	s[10] = ' ';
	CHECK(!key_from_hex(key, s));
	s[10] = '0';
	s[0] = 'x';	/* "0x" prefixes are not keys */
	CHECK(!key_from_hex(key, s));
	CHECK(key[0] == 0x22 && key[31] == 0x22);
	s[0] = '0';
	CHECK(key_from_hex(key, s));
	CHECK(key[0] == 0 && key[31] == 0);
}

int main(void)
{
	RUN(test_base64_known_vectors);
	RUN(test_hex_known_vectors);
	RUN(test_round_trips_random_keys);
	RUN(test_base64_every_substitution);
	RUN(test_base64_rejects);
	RUN(test_hex_every_substitution);
	RUN(test_hex_rejects);
	TEST_EXIT();
}
