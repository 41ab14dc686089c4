/*
 * totp.h - one-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238) with
 * HMAC-SHA1, and the base32 text (RFC 4648, no padding) that authenticator
 * apps read secrets in.  The accounts module (src/control/accounts.h) uses
 * it with 30-second steps and 6 digits; the RFC's test vectors use 8.
 *
 * Pure functions with no state: which steps were already used, and the
 * window around the current one, are the caller's business.  Relies on
 * OpenSSL's HMAC for SHA-1.
 */
#ifndef ZWG_TOTP_H
#define ZWG_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOTP_PERIOD 30		/* seconds per step (RFC 6238's X) */
#define TOTP_DIGITS 6		/* what authenticator apps show */
#define TOTP_SECRET_LEN 20	/* 160 bits, RFC 4226's recommendation */
#define TOTP_MAX_DIGITS 9	/* 31-bit truncation holds 9 full digits */

/* The HOTP value of counter under key: the dynamic truncation of
 * HMAC-SHA1(key, counter as 8 big-endian bytes) modulo 10^digits.
 * 0, -EINVAL (digits not 1..9, empty key) or -EIO (HMAC failed). */
int totp_hotp(const uint8_t *key, size_t key_len, uint64_t counter, unsigned digits,
	      uint32_t *code);

/* The step of a unix time: floor(t / TOTP_PERIOD); times before 1970
 * are step 0. */
uint64_t totp_step(int64_t unix_time);

/* The code as text with leading zeros ("001234"); buf of digits + 1. */
void totp_format(uint32_t code, unsigned digits, char *buf, size_t len);

/* Parses exactly `digits` decimal digits (nothing else).  true and *code
 * set, or false. */
bool totp_parse(const char *text, unsigned digits, uint32_t *code)
	__attribute__((warn_unused_result));

/* base32 (RFC 4648 alphabet, upper case, no '=' padding) of len bytes into
 * out; needs TOTP_BASE32_LEN(len) + 1 bytes.  0 or -ENOSPC. */
#define TOTP_BASE32_LEN(n) (((n) * 8 + 4) / 5)
int totp_base32_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
/* The reverse; accepts upper or lower case, and ignores '=' padding only
 * at the end.  The number of bytes written, or -EINVAL (a character
 * outside the alphabet, non-zero trailing bits) or -ENOSPC. */
int totp_base32_decode(const char *in, uint8_t *out, size_t outlen);

#endif
