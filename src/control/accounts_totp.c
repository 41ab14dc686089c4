/*
 * accounts_totp.c - the second factor: TOTP enrolment (begin with a new
 * secret kept pending in the user's record, confirm with a first valid
 * code, disable), the check at sign-in, and the single-use recovery codes.
 *
 * A code is accepted for the current 30-second step and one step either
 * side (clock drift), and only for a step after the last one accepted for
 * that user, so a code (or an earlier one seen over a shoulder) works
 * once.  The last step is written to the user's record with
 * compare-and-swap before the sign-in succeeds: two sign-ins racing with
 * the same code cannot both win, even in two processes.
 *
 * Recovery codes are 20 base32 characters (100 bits) shown as
 * "xxxxx-xxxxx-xxxxx-xxxxx"; the record keeps only their SHA-256 (enough
 * for 100 random bits: there is nothing to guess offline), and a used one
 * is removed, again with compare-and-swap.
 *
 * Relies on totp.h, accounts.c's record helpers and OpenSSL's
 * CRYPTO_memcmp.
 */
#include "accounts_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define RECOVERY_CHARS 20

/* ------------------------------------------------------------ checks -- */

/*
 * Does code match secret at a step in [now-1, now+1] that is after
 * last_step?  true and *step set.  Every candidate step is computed and
 * compared, match or not.
 */
static bool totp_matches(const uint8_t secret[TOTP_SECRET_LEN], uint64_t last_step,
			 const char *code, int64_t now, uint64_t *step)
{
	char want[TOTP_DIGITS + 1], got[TOTP_DIGITS + 1];
	uint64_t cur = totp_step(now), s, found = 0;
	uint32_t v, given;
	bool ok = false;
	int d;

	if (!totp_parse(code, TOTP_DIGITS, &given))
		return false;
	totp_format(given, TOTP_DIGITS, got, sizeof(got));
	for (d = -1; d <= 1; d++) {
		if (d < 0 && cur == 0)
			continue;
		s = cur + (uint64_t)(int64_t)d;
		if (totp_hotp(secret, TOTP_SECRET_LEN, s, TOTP_DIGITS, &v) < 0)
			continue;
		totp_format(v, TOTP_DIGITS, want, sizeof(want));
		if (!CRYPTO_memcmp(want, got, TOTP_DIGITS) && s > last_step && !ok) {
			ok = true;
			found = s;
		}
	}
	explicit_bzero(want, sizeof(want));
	explicit_bzero(got, sizeof(got));
	explicit_bzero(&v, sizeof(v));
	explicit_bzero(&given, sizeof(given));
	*step = found;
	return ok;
}

/* The 20-character form of a recovery code as typed (case, dashes and
 * blanks ignored), hashed; false if it is not one. */
static bool recovery_hash(const char *code, uint8_t out[ACC_HASH_LEN])
{
	char norm[RECOVERY_CHARS + 1];
	size_t i, n = 0;
	bool ok = true;

	for (i = 0; code[i]; i++) {
		char c = (char)tolower((unsigned char)code[i]);

		if (c == '-' || c == ' ')
			continue;
		if (n == RECOVERY_CHARS || !((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) {
			ok = false;
			break;
		}
		norm[n++] = c;
	}
	norm[n] = '\0';
	ok = ok && n == RECOVERY_CHARS;
	if (ok)
		acc_sha256(norm, RECOVERY_CHARS, out);
	explicit_bzero(norm, sizeof(norm));
	return ok;
}

/* New codes: their text into codes, their hashes into hashes. */
static int recovery_make(char codes[ACCOUNTS_RECOVERY_CODES][ACCOUNTS_RECOVERY_CODE_SIZE],
			 uint8_t hashes[ACCOUNTS_RECOVERY_CODES][ACC_HASH_LEN])
{
	char b32[TOTP_BASE32_LEN(13) + 1];
	uint8_t raw[13];	/* 104 bits, of which 100 are used */
	int i, j, o, ret = 0;

	for (i = 0; i < ACCOUNTS_RECOVERY_CODES && ret == 0; i++) {
		ret = acc_random(raw, sizeof(raw));
		if (ret < 0)
			break;
		totp_base32_encode(raw, sizeof(raw), b32, sizeof(b32));
		for (j = 0; j < RECOVERY_CHARS; j++)
			b32[j] = (char)tolower((unsigned char)b32[j]);
		acc_sha256(b32, RECOVERY_CHARS, hashes[i]);
		for (j = 0, o = 0; j < RECOVERY_CHARS; j++) {
			if (j && j % 5 == 0)
				codes[i][o++] = '-';
			codes[i][o++] = b32[j];
		}
		codes[i][o] = '\0';
	}
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(b32, sizeof(b32));
	return ret;
}

/* ------------------------------------------------------- at sign-in -- */

struct factor_ctx {
	uint64_t generation;
	const char *code;
	int64_t now;
	bool replayed;		/* out: the code is right but was used before */
};

static int do_second_factor(struct acc_user *u, void *p)
{
	struct factor_ctx *c = p;
	uint8_t h[ACC_HASH_LEN];
	uint64_t step;
	unsigned i, hit = ACCOUNTS_RECOVERY_CODES;

	/* The password was checked against this generation. */
	if (u->generation != c->generation || !u->totp_enabled)
		return -EACCES;
	if (totp_matches(u->totp_secret, u->totp_last_step, c->code, c->now, &step)) {
		u->totp_last_step = step;
		return 0;
	}
	/* Refused either way; the audit log tells a replay from a typo. */
	c->replayed = totp_matches(u->totp_secret, 0, c->code, c->now, &step);
	if (!recovery_hash(c->code, h))
		return -EACCES;
	for (i = 0; i < u->n_recovery; i++)
		if (!CRYPTO_memcmp(u->recovery[i], h, ACC_HASH_LEN))
			hit = i;
	explicit_bzero(h, sizeof(h));
	if (hit == ACCOUNTS_RECOVERY_CODES)
		return -EACCES;
	memmove(u->recovery[hit], u->recovery[hit + 1],
		(u->n_recovery - hit - 1) * sizeof(u->recovery[0]));
	u->n_recovery--;
	explicit_bzero(u->recovery[u->n_recovery], sizeof(u->recovery[0]));
	return 0;
}

int acc_second_factor(struct accounts *acc, const char *name, uint64_t gen, const char *code,
		      int64_t now, struct control_error *e)
{
	struct factor_ctx c = { .generation = gen, .code = code, .now = now };
	int ret = acc_user_update(acc, name, do_second_factor, &c, NULL, e);

	/* For the audit log only (accounts_login): the answer is one for all. */
	if (ret == -EACCES)
		control_error_set(e, "code", c.replayed ? "right password, but a 2FA code "
				  "already used (a replay)" : "right password, wrong 2FA code");
	return ret;
}

/* -------------------------------------------------------- enrolment -- */

static int do_begin(struct acc_user *u, void *p)
{
	memcpy(u->totp_pending_secret, p, TOTP_SECRET_LEN);
	u->totp_pending = true;
	return 0;
}

int accounts_totp_begin(struct accounts *acc, const char *name, char **uri,
			struct control_error *e)
{
	uint8_t secret[TOTP_SECRET_LEN];
	char b32[TOTP_BASE32_LEN(TOTP_SECRET_LEN) + 1];
	int ret;

	*uri = NULL;
	ret = acc_random(secret, sizeof(secret));
	if (ret < 0) {
		control_error_set(e, NULL, "no random numbers for a TOTP secret");
		return ret;
	}
	ret = acc_user_update(acc, name, do_begin, secret, NULL, e);
	if (ret == 0) {
		totp_base32_encode(secret, sizeof(secret), b32, sizeof(b32));
		/* Names are [A-Za-z0-9._-]: nothing to percent-encode. */
		if (asprintf(uri, "otpauth://totp/zerowg:%s?secret=%s&issuer=zerowg"
			     "&algorithm=SHA1&digits=%d&period=%d", name, b32, TOTP_DIGITS,
			     TOTP_PERIOD) < 0) {
			*uri = NULL;
			control_error_set(e, NULL, "out of memory");
			ret = -ENOMEM;
		}
		explicit_bzero(b32, sizeof(b32));
	}
	explicit_bzero(secret, sizeof(secret));
	return ret;
}

struct confirm_ctx {
	const char *code;
	int64_t now;
	uint8_t hashes[ACCOUNTS_RECOVERY_CODES][ACC_HASH_LEN];
};

static int do_confirm(struct acc_user *u, void *p)
{
	struct confirm_ctx *c = p;
	uint64_t step;

	if (!u->totp_pending)
		return -ENOENT;
	if (!totp_matches(u->totp_pending_secret, 0, c->code, c->now, &step))
		return -EACCES;
	memcpy(u->totp_secret, u->totp_pending_secret, TOTP_SECRET_LEN);
	explicit_bzero(u->totp_pending_secret, TOTP_SECRET_LEN);
	u->totp_pending = false;
	u->totp_enabled = true;
	u->totp_last_step = step;	/* the confirming code is used up */
	memcpy(u->recovery, c->hashes, sizeof(u->recovery));
	u->n_recovery = ACCOUNTS_RECOVERY_CODES;
	u->generation++;
	return 0;
}

int accounts_totp_confirm(struct accounts *acc, const char *name, const char *code,
			  const char *keep_session, int64_t now,
			  char codes[ACCOUNTS_RECOVERY_CODES][ACCOUNTS_RECOVERY_CODE_SIZE],
			  struct control_error *e)
{
	struct confirm_ctx c = { .code = code ? code : "", .now = now };
	struct acc_user u;
	int ret;

	control_error_clear(e);
	ret = recovery_make(codes, c.hashes);
	if (ret < 0) {
		control_error_set(e, NULL, "no random numbers for recovery codes");
		return ret;
	}
	ret = acc_user_update(acc, name, do_confirm, &c, &u, e);
	explicit_bzero(c.hashes, sizeof(c.hashes));
	if (ret == -ENOENT && e && !e->msg[0])
		control_error_set(e, NULL, "user \"%s\" has no 2FA enrolment to confirm (start "
				  "one first)", name);
	else if (ret == -EACCES)
		control_error_set(e, "code", "that code is not the one the authenticator shows "
				  "now; check the phone's clock and try the next code");
	if (ret < 0) {
		explicit_bzero(codes, ACCOUNTS_RECOVERY_CODES * ACCOUNTS_RECOVERY_CODE_SIZE);
		return ret;
	}
	acc_session_generation(acc, &u, keep_session);
	acc_user_free(&u);
	return 0;
}

static int do_disable(struct acc_user *u, void *p)
{
	if (!u->totp_enabled && !u->totp_pending)
		return -ENOENT;
	u->totp_enabled = false;
	u->totp_pending = false;
	explicit_bzero(u->totp_secret, sizeof(u->totp_secret));
	explicit_bzero(u->totp_pending_secret, sizeof(u->totp_pending_secret));
	u->totp_last_step = 0;
	explicit_bzero(u->recovery, sizeof(u->recovery));
	u->n_recovery = 0;
	u->generation++;
	return 0;
}

int accounts_totp_disable(struct accounts *acc, const char *name, const char *keep_session,
			  struct control_error *e)
{
	struct acc_user u;
	int ret;

	control_error_clear(e);
	ret = acc_user_update(acc, name, do_disable, NULL, &u, e);
	if (ret == -ENOENT && e && !e->msg[0])
		control_error_set(e, NULL, "user \"%s\" has no 2FA to reset", name);
	if (ret < 0)
		return ret;
	acc_session_generation(acc, &u, keep_session);
	acc_user_free(&u);
	return 0;
}

static int do_regenerate(struct acc_user *u, void *p)
{
	if (!u->totp_enabled)
		return -ENOENT;
	memcpy(u->recovery, p, sizeof(u->recovery));
	u->n_recovery = ACCOUNTS_RECOVERY_CODES;
	return 0;
}

int accounts_recovery_regenerate(struct accounts *acc, const char *name,
				 char codes[ACCOUNTS_RECOVERY_CODES][ACCOUNTS_RECOVERY_CODE_SIZE],
				 struct control_error *e)
{
	uint8_t hashes[ACCOUNTS_RECOVERY_CODES][ACC_HASH_LEN];
	int ret;

	control_error_clear(e);
	ret = recovery_make(codes, hashes);
	if (ret == 0)
		ret = acc_user_update(acc, name, do_regenerate, hashes, NULL, e);
	explicit_bzero(hashes, sizeof(hashes));
	if (ret == -ENOENT && e && !e->msg[0])
		control_error_set(e, NULL, "user \"%s\" has no 2FA, so no recovery codes", name);
	if (ret < 0)
		explicit_bzero(codes, ACCOUNTS_RECOVERY_CODES * ACCOUNTS_RECOVERY_CODE_SIZE);
	return ret;
}
