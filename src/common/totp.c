/*
 * totp.c - HOTP (RFC 4226 section 5), TOTP (RFC 6238 section 4) and
 * base32 (RFC 4648 section 6).  See totp.h.
 *
 * Relies on OpenSSL's one-shot HMAC() with SHA-1.  Every buffer that held
 * the HMAC output is wiped: with the counter it would let an observer
 * check guesses of the key offline.
 */
#include "totp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

static const uint32_t pow10_table[TOTP_MAX_DIGITS + 1] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
};

int totp_hotp(const uint8_t *key, size_t key_len, uint64_t counter, unsigned digits,
	      uint32_t *code)
{
	uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0, off, i;
	uint32_t bin;

	if (!key || key_len == 0 || key_len > INT32_MAX || digits < 1 || digits > TOTP_MAX_DIGITS)
		return -EINVAL;
	for (i = 0; i < 8; i++)
		msg[i] = (uint8_t)(counter >> (56 - 8 * i));
	if (!HMAC(EVP_sha1(), key, (int)key_len, msg, sizeof(msg), mac, &mac_len) || mac_len != 20) {
		explicit_bzero(mac, sizeof(mac));
		return -EIO;
	}
	/* Dynamic truncation: the low nibble of the last byte picks four
	 * bytes, whose top bit is dropped (RFC 4226 5.3). */
	off = mac[19] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
	      ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
	*code = bin % pow10_table[digits];
	explicit_bzero(mac, sizeof(mac));
	explicit_bzero(&bin, sizeof(bin));
	return 0;
}

uint64_t totp_step(int64_t unix_time)
{
	return unix_time < 0 ? 0 : (uint64_t)unix_time / TOTP_PERIOD;
}

void totp_format(uint32_t code, unsigned digits, char *buf, size_t len)
{
	snprintf(buf, len, "%0*u", (int)digits, code);
}

bool totp_parse(const char *text, unsigned digits, uint32_t *code)
{
	uint32_t v = 0;
	unsigned i;

	if (!text || digits < 1 || digits > TOTP_MAX_DIGITS)
		return false;
	for (i = 0; i < digits; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (uint32_t)(text[i] - '0');
	}
	if (text[digits])
		return false;
	*code = v;
	return true;
}

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int totp_base32_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (outlen < TOTP_BASE32_LEN(len) + 1)
		return -ENOSPC;
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	acc = 0;
	return 0;
}

static int b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int totp_base32_decode(const char *in, uint8_t *out, size_t outlen)
{
	size_t i, o = 0, n = strlen(in);
	uint32_t acc = 0;
	unsigned bits = 0;

	while (n > 0 && in[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		int v = b32_value(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return -ENOSPC;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* What is left must be padding bits, and zero (canonical form). */
	if (bits >= 5 || (acc & ((1u << bits) - 1)))
		return -EINVAL;
	return (int)o;
}
