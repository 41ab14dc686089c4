/*
 * accounts_record.c - the accounts module's records and small helpers:
 * "users/NAME" as JSON (encode, decode with validation, load, and the
 * compare-and-swap read-modify-write every change goes through), names
 * and roles, SHA-256, base64url, randomness, and the actor a credential
 * becomes.  See accounts_internal.h.
 *
 * A record that does not decode is refused with a message that names it
 * and says how to get rid of it (-EBADMSG), never half-trusted.  Relies
 * on jansson (through model.h's wiping allocator), encoding.h (base64 of
 * the recovery code hashes), totp.h (base32 of the TOTP secrets) and
 * OpenSSL.
 */
#include "accounts_internal.h"
#include "encoding.h"
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

/* ------------------------------------------------------------ helpers -- */

void acc_sha256(const void *data, size_t len, uint8_t out[ACC_HASH_LEN])
{
	unsigned n = 0;

	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != ACC_HASH_LEN)
		abort();	/* SHA-256 does not fail; a broken libcrypto must not pass */
}

void acc_base64url(const uint8_t *in, size_t len, char *out)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];

		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (len - i == 1) {
		out[o++] = a[in[i] >> 2];
		out[o++] = a[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = ((uint32_t)in[i] << 8) | in[i + 1];

		out[o++] = a[v >> 10];
		out[o++] = a[(v >> 4) & 63];
		out[o++] = a[(v & 15) << 2];
	}
	out[o] = '\0';
}

int acc_random(void *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}

void acc_actor(struct actor *a, enum actor_kind kind, const char *name, enum actor_role role)
{
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->role = role;
	a->via = "web";
	snprintf(a->name, sizeof(a->name), "%s", name);
}

void acc_store_error(struct control_error *e, const char *what, int ret)
{
	const char *m = store_last_error();

	control_error_set(e, NULL, "%s: %s", what, m && *m ? m : strerror(-ret));
}

const char *accounts_role_name(enum actor_role role)
{
	switch (role) {
	case ROLE_ADMIN:
		return "admin";
	case ROLE_VIEWER:
		return "viewer";
	default:
		return "none";
	}
}

int accounts_role_parse(const char *text, enum actor_role *out, struct control_error *e)
{
	if (text && !strcmp(text, "admin")) {
		*out = ROLE_ADMIN;
		return 0;
	}
	if (text && !strcmp(text, "viewer")) {
		*out = ROLE_VIEWER;
		return 0;
	}
	control_error_set(e, "role", "role \"%.32s\" is not a role (use admin or viewer)",
			  text ? text : "");
	return -EINVAL;
}

bool accounts_name_valid(const char *what, const char *name, struct control_error *e)
{
	size_t i, len = name ? strlen(name) : 0;

	if (len == 0) {
		control_error_set(e, "name", "the %s name is empty (use 1 to %d of A-Z a-z 0-9 . _ -)",
				  what, ACCOUNTS_NAME_MAX);
		return false;
	}
	if (len > ACCOUNTS_NAME_MAX) {
		control_error_set(e, "name", "%s name \"%.40s...\" is longer than %d characters",
				  what, name, ACCOUNTS_NAME_MAX);
		return false;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-') {
			control_error_set(e, "name", "%s name has the character '%c' at position "
					  "%zu (use only A-Z a-z 0-9 . _ -)", what,
					  isprint(c) ? c : '?', i + 1);
			return false;
		}
	}
	if (name[0] == '.' || name[0] == '-') {
		control_error_set(e, "name", "%s name \"%s\" starts with '%c' (start with a letter, "
				  "digit or '_')", what, name, name[0]);
		return false;
	}
	return true;
}

/* ------------------------------------------------------ user records -- */

void acc_user_free(struct acc_user *u)
{
	if (u->password_hash) {
		explicit_bzero(u->password_hash, strlen(u->password_hash));
		free(u->password_hash);
	}
	explicit_bzero(u, sizeof(*u));
}

static int put_secret32(json_t *j, const char *field, const uint8_t b[TOTP_SECRET_LEN])
{
	char text[TOTP_BASE32_LEN(TOTP_SECRET_LEN) + 1];
	int r;

	totp_base32_encode(b, TOTP_SECRET_LEN, text, sizeof(text));
	r = json_object_set_new(j, field, json_string(text));
	explicit_bzero(text, sizeof(text));
	return r;
}

/* Compact JSON of u; malloc'd, for store_put.  NULL on ENOMEM. */
static char *user_encode(const struct acc_user *u)
{
	json_t *j = json_object(), *rec = json_array();
	char *out = NULL;
	unsigned i;
	int bad = 0;

	if (!j || !rec)
		goto out;
	bad |= json_object_set_new(j, "name", json_string(u->name));
	bad |= json_object_set_new(j, "role", json_string(accounts_role_name(u->role)));
	bad |= json_object_set_new(j, "password", json_string(u->password_hash));
	bad |= json_object_set_new(j, "created", json_integer(u->created));
	bad |= json_object_set_new(j, "password_changed", json_integer(u->password_changed));
	bad |= json_object_set_new(j, "generation", json_integer((json_int_t)u->generation));
	if (u->totp_enabled) {
		bad |= put_secret32(j, "totp", u->totp_secret);
		bad |= json_object_set_new(j, "totp_last_step",
					   json_integer((json_int_t)u->totp_last_step));
	}
	if (u->totp_pending)
		bad |= put_secret32(j, "totp_pending", u->totp_pending_secret);
	for (i = 0; i < u->n_recovery; i++) {
		char b64[KEY_BASE64_LEN + 1];

		key_to_base64(b64, u->recovery[i]);
		bad |= json_array_append_new(rec, json_string(b64));
	}
	bad |= json_object_set(j, "recovery", rec);
	if (!bad)
		out = model_json_dump(j, JSON_COMPACT, NULL);
out:
	json_decref(rec);
	json_decref(j);
	return out;
}

static int get_secret32(json_t *j, const char *field, uint8_t out[TOTP_SECRET_LEN], bool *has)
{
	const char *s = json_string_value(json_object_get(j, field));

	*has = false;
	if (!json_object_get(j, field))
		return 0;
	if (!s || totp_base32_decode(s, out, TOTP_SECRET_LEN) != TOTP_SECRET_LEN)
		return -EINVAL;
	*has = true;
	return 0;
}

static int user_decode(const char *name, const uint8_t *buf, size_t len, struct acc_user *u,
		       struct control_error *e)
{
	json_t *j, *rec;
	const char *s;
	size_t i;
	int ret = -EBADMSG;

	memset(u, 0, sizeof(*u));
	j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j))
		goto out;
	s = json_string_value(json_object_get(j, "name"));
	if (!s || strcmp(s, name) || strlen(s) > ACCOUNTS_NAME_MAX)
		goto out;
	snprintf(u->name, sizeof(u->name), "%s", s);
	if (accounts_role_parse(json_string_value(json_object_get(j, "role")), &u->role, NULL))
		goto out;
	s = json_string_value(json_object_get(j, "password"));
	if (!s || strncmp(s, "$argon2id$", 10))
		goto out;
	u->password_hash = strdup(s);
	if (!u->password_hash) {
		ret = -ENOMEM;
		goto out;
	}
	u->created = json_integer_value(json_object_get(j, "created"));
	u->password_changed = json_integer_value(json_object_get(j, "password_changed"));
	u->generation = (uint64_t)json_integer_value(json_object_get(j, "generation"));
	if (get_secret32(j, "totp", u->totp_secret, &u->totp_enabled) ||
	    get_secret32(j, "totp_pending", u->totp_pending_secret, &u->totp_pending))
		goto out;
	u->totp_last_step = (uint64_t)json_integer_value(json_object_get(j, "totp_last_step"));
	rec = json_object_get(j, "recovery");
	if (rec && (!json_is_array(rec) || json_array_size(rec) > ACCOUNTS_RECOVERY_CODES))
		goto out;
	for (i = 0; rec && i < json_array_size(rec); i++) {
		s = json_string_value(json_array_get(rec, i));
		if (!s || !key_from_base64(u->recovery[i], s))
			goto out;
		u->n_recovery++;
	}
	ret = 0;
out:
	json_decref(j);
	if (ret == -EBADMSG)
		control_error_set(e, NULL, "the record of user \"%s\" in the store is damaged "
				  "(remove it with `zerowg user remove %s` and add the user again)",
				  name, name);
	if (ret < 0)
		acc_user_free(u);
	return ret;
}

int acc_user_load(struct accounts *acc, const char *name, struct acc_user *u,
		  uint64_t *version, struct control_error *e)
{
	char key[sizeof(ACCOUNTS_USER_PREFIX) + ACCOUNTS_NAME_MAX];
	uint8_t *val = NULL;
	size_t len = 0;
	int ret;

	memset(u, 0, sizeof(*u));
	if (!accounts_name_valid("user", name, e))
		return -EINVAL;
	snprintf(key, sizeof(key), ACCOUNTS_USER_PREFIX "%s", name);
	ret = store_get(acc->st, key, &val, &len, version);
	if (ret == -ENOENT) {
		control_error_set(e, "name", "there is no user \"%s\" (see `zerowg user list`)",
				  name);
		return ret;
	}
	if (ret < 0) {
		acc_store_error(e, "reading the user", ret);
		return ret;
	}
	ret = user_decode(name, val, len, u, e);
	store_value_free(val, len);
	return ret;
}

/* Writes u with expect (STORE_NEW or a version). */
int acc_user_write(struct accounts *acc, const struct acc_user *u, uint64_t expect,
		      struct control_error *e)
{
	char key[sizeof(ACCOUNTS_USER_PREFIX) + ACCOUNTS_NAME_MAX];
	char *text = user_encode(u);
	int ret;

	if (!text) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	snprintf(key, sizeof(key), ACCOUNTS_USER_PREFIX "%s", u->name);
	ret = store_put(acc->st, key, (const uint8_t *)text, strlen(text), expect, NULL);
	if (ret == -ESTALE && expect == STORE_NEW) {
		control_error_set(e, "name", "user \"%s\" exists already (`zerowg user passwd %s` "
				  "changes the password)", u->name, u->name);
		ret = -EEXIST;
	} else if (ret < 0 && ret != -ESTALE) {
		acc_store_error(e, "writing the user", ret);
	}
	explicit_bzero(text, strlen(text));
	free(text);
	return ret;
}

int acc_user_update(struct accounts *acc, const char *name,
		    int (*fn)(struct acc_user *u, void *ctx), void *ctx,
		    struct acc_user *out, struct control_error *e)
{
	struct acc_user u;
	uint64_t version;
	int ret, round;

	for (round = 0; round < ACC_UPDATE_RETRIES; round++) {
		ret = acc_user_load(acc, name, &u, &version, e);
		if (ret < 0)
			return ret;
		ret = fn(&u, ctx);
		if (ret == 0)
			ret = acc_user_write(acc, &u, version, e);
		else if (ret == 1)
			ret = 0;
		if (ret == -ESTALE) {
			acc_user_free(&u);
			continue;	/* someone else wrote it: again on theirs */
		}
		if (ret == 0 && out)
			*out = u;
		else
			acc_user_free(&u);
		return ret;
	}
	control_error_set(e, NULL, "user \"%s\" keeps changing under us; try again", name);
	return -EBUSY;
}
