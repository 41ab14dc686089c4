/*
 * encoding.c - base64 and hex forms of 32-byte keys (encoding.h).
 *
 * The text being decoded is usually a private key or a PSK, so neither
 * direction indexes a table with key data or branches on it: each character
 * is mapped by arithmetic range checks that build all-ones/all-zeros masks,
 * and errors are OR-ed into one flag that is tested once at the end.  What
 * leaks through timing is only the length and whether the text was valid.
 * On failure the output key is left untouched.
 *
 * Relies on nothing but libc (explicit_bzero).
 */
#include "encoding.h"

#include <string.h>

/* All ones if a < b, else zero; valid for |a - b| < 2^31. */
static inline unsigned int ct_lt_mask(int a, int b)
{
	return 0u - ((unsigned int)(a - b) >> 31);
}

/* All ones if lo <= c <= hi, else zero. */
static inline unsigned int ct_range_mask(int c, int lo, int hi)
{
	return ~(ct_lt_mask(c, lo) | ct_lt_mask(hi, c));
}

/* All ones if v == 0, else zero; v < 2^31. */
static inline unsigned int ct_zero_mask(unsigned int v)
{
	return 0u - ((v - 1) >> 31);
}

/*
 * 0..63 to the standard alphabet A-Z a-z 0-9 + /.  Starting from 'A' + v,
 * each mask adds the distance from one range of the alphabet to the next
 * once v is past the boundary.
 */
static char base64_char(unsigned int v)
{
	int c = 'A' + (int)v;

	c += (int)(ct_lt_mask(25, (int)v) & 6);		/* 26..51: 'a'.. */
	c -= (int)(ct_lt_mask(51, (int)v) & 75);	/* 52..61: '0'.. */
	c -= (int)(ct_lt_mask(61, (int)v) & 15);	/* 62: '+' */
	c += (int)(ct_lt_mask(62, (int)v) & 3);		/* 63: '/' */
	return (char)c;
}

/* The inverse of base64_char, plus one; 0 for a character outside the
 * alphabet (including '=' and NUL). */
static unsigned int base64_value_plus1(unsigned char ch)
{
	int c = ch;
	unsigned int v = 0;

	v += ct_range_mask(c, 'A', 'Z') & (unsigned int)(c - 'A' + 1);
	v += ct_range_mask(c, 'a', 'z') & (unsigned int)(c - 'a' + 27);
	v += ct_range_mask(c, '0', '9') & (unsigned int)(c - '0' + 53);
	v += ct_range_mask(c, '+', '+') & 63;
	v += ct_range_mask(c, '/', '/') & 64;
	return v;
}

void key_to_base64(char out[KEY_BASE64_LEN + 1], const uint8_t key[KEY_LEN])
{
	unsigned int w;
	int i;

	/* ten whole groups of 3 bytes -> 4 characters */
	for (i = 0; i < KEY_LEN / 3; i++) {
		w = (unsigned int)key[3 * i] << 16 | (unsigned int)key[3 * i + 1] << 8 |
		    key[3 * i + 2];
		out[4 * i] = base64_char(w >> 18);
		out[4 * i + 1] = base64_char((w >> 12) & 63);
		out[4 * i + 2] = base64_char((w >> 6) & 63);
		out[4 * i + 3] = base64_char(w & 63);
	}
	/* the last 2 bytes: 16 bits in 3 characters, 2 zero bits, one '=' */
	w = (unsigned int)key[30] << 8 | key[31];
	out[40] = base64_char(w >> 10);
	out[41] = base64_char((w >> 4) & 63);
	out[42] = base64_char((w << 2) & 63);
	out[43] = '=';
	out[44] = '\0';
}

bool key_from_base64(uint8_t key[KEY_LEN], const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint8_t tmp[KEY_LEN];
	unsigned int w, v, bad = 0;
	int i, j;

	if (!s || strnlen(s, KEY_BASE64_LEN + 1) != KEY_BASE64_LEN)
		return false;

	for (i = 0; i < KEY_LEN / 3; i++) {
		w = 0;
		for (j = 0; j < 4; j++) {
			v = base64_value_plus1(p[4 * i + j]);
			bad |= ct_zero_mask(v);
			w = (w << 6) | ((v - 1) & 63);
		}
		tmp[3 * i] = (uint8_t)(w >> 16);
		tmp[3 * i + 1] = (uint8_t)(w >> 8);
		tmp[3 * i + 2] = (uint8_t)w;
	}
	w = 0;
	for (j = 0; j < 3; j++) {
		v = base64_value_plus1(p[40 + j]);
		bad |= ct_zero_mask(v);
		w = (w << 6) | ((v - 1) & 63);
	}
	tmp[30] = (uint8_t)(w >> 10);
	tmp[31] = (uint8_t)(w >> 2);
	/* Canonical form only: the 2 bits below the last byte must be zero,
	 * otherwise several strings would name the same key. */
	bad |= ~ct_zero_mask(w & 3);
	bad |= ~ct_zero_mask((unsigned int)(p[43] ^ '='));

	if (!bad)
		memcpy(key, tmp, KEY_LEN);
	explicit_bzero(tmp, sizeof(tmp));
	return !bad;
}

void key_to_hex(char out[KEY_HEX_LEN + 1], const uint8_t key[KEY_LEN])
{
	int i;

	for (i = 0; i < 2 * KEY_LEN; i++) {
		int n = (key[i / 2] >> (i & 1 ? 0 : 4)) & 15;

		/* '0' + n, moved up to 'a' for n > 9 */
		out[i] = (char)('0' + n + (int)(ct_lt_mask(9, n) & ('a' - '0' - 10)));
	}
	out[KEY_HEX_LEN] = '\0';
}

/* A hex digit (either case) plus one; 0 for anything else. */
static unsigned int hex_value_plus1(unsigned char ch)
{
	int c = ch;
	unsigned int v = 0;

	v += ct_range_mask(c, '0', '9') & (unsigned int)(c - '0' + 1);
	v += ct_range_mask(c, 'a', 'f') & (unsigned int)(c - 'a' + 11);
	v += ct_range_mask(c, 'A', 'F') & (unsigned int)(c - 'A' + 11);
	return v;
}

bool key_from_hex(uint8_t key[KEY_LEN], const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint8_t tmp[KEY_LEN];
	unsigned int hi, lo, bad = 0;
	int i;

	if (!s || strnlen(s, KEY_HEX_LEN + 1) != KEY_HEX_LEN)
		return false;
	for (i = 0; i < KEY_LEN; i++) {
		hi = hex_value_plus1(p[2 * i]);
		lo = hex_value_plus1(p[2 * i + 1]);
		bad |= ct_zero_mask(hi) | ct_zero_mask(lo);
		tmp[i] = (uint8_t)(((hi - 1) & 15) << 4 | ((lo - 1) & 15));
	}
	if (!bad)
		memcpy(key, tmp, KEY_LEN);
	explicit_bzero(tmp, sizeof(tmp));
	return !bad;
}
