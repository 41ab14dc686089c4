/*
 * accounts_token.c - API tokens for scripts: "tokens/NAME" records in the
 * store, each with a role, an optional expiry and the SHA-256 of its
 * secret.  The secret is "zwg_" + base64url of 32 random bytes (256 bits:
 * a fast hash is enough, there is nothing to guess offline), shown once
 * by accounts_token_add and never stored.
 *
 * Verification does not read the store: the tokens are indexed in memory
 * (at accounts_open and accounts_reload, and by add/revoke through this
 * handle), and a bearer's hash is compared with every entry with
 * CRYPTO_memcmp, without stopping at a match.  last_used is kept in memory
 * and written to the record at most every ACC_TOKEN_LAST_USED_EVERY
 * seconds, so a busy script does not cost a sealed write per request.
 *
 * Lock: acc->lock around acc->tokens.  Relies on accounts.c's helpers,
 * encoding.h (base64 of the hash) and jansson.
 */
#include "accounts_internal.h"
#include "encoding.h"
#include "store.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define SECRET_BYTES 32
#define SECRET_LEN (ACCOUNTS_TOKEN_SECRET_SIZE - 1)

static int token_encode(const struct acc_token *t, char **out)
{
	char b64[KEY_BASE64_LEN + 1];
	json_t *j;

	key_to_base64(b64, t->hash);
	j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "name", t->name,
		      "role", accounts_role_name(t->role), "created", (json_int_t)t->created,
		      "expires", (json_int_t)t->expires, "last_used", (json_int_t)t->last_used,
		      "hash", b64);
	*out = model_json_dump(j, JSON_COMPACT, NULL);
	json_decref(j);
	return *out ? 0 : -ENOMEM;
}

static int token_decode(const char *name, const uint8_t *buf, size_t len, struct acc_token *t)
{
	json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
	const char *s;
	int ret = -EBADMSG;

	memset(t, 0, sizeof(*t));
	if (!json_is_object(j))
		goto out;
	s = json_string_value(json_object_get(j, "name"));
	if (!s || strcmp(s, name) || strlen(s) > ACCOUNTS_NAME_MAX)
		goto out;
	snprintf(t->name, sizeof(t->name), "%s", s);
	if (accounts_role_parse(json_string_value(json_object_get(j, "role")), &t->role, NULL))
		goto out;
	s = json_string_value(json_object_get(j, "hash"));
	if (!s || !key_from_base64(t->hash, s))
		goto out;
	t->created = json_integer_value(json_object_get(j, "created"));
	t->expires = json_integer_value(json_object_get(j, "expires"));
	t->last_used = json_integer_value(json_object_get(j, "last_used"));
	t->last_used_stored = t->last_used;
	ret = 0;
out:
	json_decref(j);
	return ret;
}

static void token_key(const char *name, char *key, size_t len)
{
	snprintf(key, len, ACCOUNTS_TOKEN_PREFIX "%s", name);
}

int acc_token_index_load(struct accounts *acc, struct control_error *e)
{
	struct acc_token *v;
	char **keys = NULL;
	size_t i, j, nk = 0, m = 0;
	int ret;

	ret = store_list(acc->st, ACCOUNTS_TOKEN_PREFIX, &keys, &nk);
	if (ret < 0) {
		acc_store_error(e, "listing API tokens", ret);
		return ret;
	}
	v = calloc(nk ? nk : 1, sizeof(*v));
	if (!v) {
		store_list_free(keys, nk);
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < nk; i++) {
		const char *name = keys[i] + strlen(ACCOUNTS_TOKEN_PREFIX);
		uint8_t *val = NULL;
		size_t len = 0;

		ret = store_get(acc->st, keys[i], &val, &len, NULL);
		if (ret == -ENOENT)
			continue;
		if (ret < 0) {
			acc_store_error(e, "reading an API token", ret);
			goto fail;
		}
		ret = token_decode(name, val, len, &v[m]);
		store_value_free(val, len);
		if (ret < 0) {
			control_error_set(e, NULL, "the record of API token \"%.64s\" is damaged "
					  "(revoke it with `zerowg token revoke %.64s`)", name, name);
			goto fail;
		}
		m++;
	}
	store_list_free(keys, nk);
	pthread_mutex_lock(&acc->lock);
	/* What this process saw of last use outlives the re-read. */
	for (i = 0; i < m; i++)
		for (j = 0; j < acc->n_tokens; j++)
			if (!strcmp(acc->tokens[j].name, v[i].name) &&
			    !CRYPTO_memcmp(acc->tokens[j].hash, v[i].hash, ACC_HASH_LEN) &&
			    acc->tokens[j].last_used > v[i].last_used)
				v[i].last_used = acc->tokens[j].last_used;
	if (acc->tokens)
		explicit_bzero(acc->tokens, acc->n_tokens * sizeof(*acc->tokens));
	free(acc->tokens);
	acc->tokens = v;
	acc->n_tokens = m;
	pthread_mutex_unlock(&acc->lock);
	return 0;
fail:
	store_list_free(keys, nk);
	free(v);
	return ret;
}

int accounts_token_add(struct accounts *acc, const char *name, enum actor_role role,
		       int64_t expires, int64_t now,
		       char secret[ACCOUNTS_TOKEN_SECRET_SIZE], struct control_error *e)
{
	char key[sizeof(ACCOUNTS_TOKEN_PREFIX) + ACCOUNTS_NAME_MAX];
	uint8_t raw[SECRET_BYTES];
	struct acc_token t, *nv;
	char *text = NULL;
	int ret;

	secret[0] = '\0';
	if (!accounts_name_valid("token", name, e))
		return -EINVAL;
	if (role != ROLE_ADMIN && role != ROLE_VIEWER) {
		control_error_set(e, "role", "a token's role is admin or viewer");
		return -EINVAL;
	}
	if (expires < 0 || (expires != 0 && expires <= now)) {
		control_error_set(e, "expires", "the token would expire before it is made (give "
				  "a time in the future, e.g. 30d)");
		return -EINVAL;
	}
	ret = acc_random(raw, sizeof(raw));
	if (ret < 0) {
		control_error_set(e, NULL, "no random numbers for a token");
		return ret;
	}
	memcpy(secret, ACCOUNTS_TOKEN_PREFIX_TEXT, 4);
	acc_base64url(raw, sizeof(raw), secret + 4);
	explicit_bzero(raw, sizeof(raw));

	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%s", name);
	t.role = role;
	t.created = now;
	t.expires = expires;
	acc_sha256(secret, SECRET_LEN, t.hash);
	ret = token_encode(&t, &text);
	if (ret < 0) {
		control_error_set(e, NULL, "out of memory");
		goto out;
	}
	token_key(name, key, sizeof(key));
	ret = store_put(acc->st, key, (const uint8_t *)text, strlen(text), STORE_NEW, NULL);
	if (ret == -ESTALE) {
		control_error_set(e, "name", "API token \"%s\" exists already (revoke it first, "
				  "or choose another name)", name);
		ret = -EEXIST;
		goto out;
	}
	if (ret < 0) {
		acc_store_error(e, "writing the API token", ret);
		goto out;
	}
	pthread_mutex_lock(&acc->lock);
	nv = realloc(acc->tokens, (acc->n_tokens + 1) * sizeof(*nv));
	if (nv) {
		acc->tokens = nv;
		acc->tokens[acc->n_tokens++] = t;
	}
	pthread_mutex_unlock(&acc->lock);
	if (!nv)	/* stored: accounts_reload will index it */
		ret = acc_token_index_load(acc, NULL);
out:
	free(text);
	explicit_bzero(&t, sizeof(t));
	if (ret < 0)
		explicit_bzero(secret, ACCOUNTS_TOKEN_SECRET_SIZE);
	return ret;
}

static int cmp_token_info(const void *a, const void *b)
{
	return strcmp(((const struct accounts_token_info *)a)->name,
		      ((const struct accounts_token_info *)b)->name);
}

int accounts_token_list(struct accounts *acc, struct accounts_token_info **out, size_t *n,
			struct control_error *e)
{
	struct accounts_token_info *v;
	size_t i;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&acc->lock);
	v = calloc(acc->n_tokens ? acc->n_tokens : 1, sizeof(*v));
	if (!v) {
		pthread_mutex_unlock(&acc->lock);
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < acc->n_tokens; i++) {
		const struct acc_token *t = &acc->tokens[i];

		snprintf(v[i].name, sizeof(v[i].name), "%s", t->name);
		v[i].role = t->role;
		v[i].created = t->created;
		v[i].expires = t->expires;
		v[i].last_used = t->last_used;
	}
	*n = acc->n_tokens;
	pthread_mutex_unlock(&acc->lock);
	qsort(v, *n, sizeof(*v), cmp_token_info);
	*out = v;
	return 0;
}

int accounts_token_revoke(struct accounts *acc, const char *name, struct control_error *e)
{
	char key[sizeof(ACCOUNTS_TOKEN_PREFIX) + ACCOUNTS_NAME_MAX];
	size_t i;
	int ret;

	if (!accounts_name_valid("token", name, e))
		return -EINVAL;
	token_key(name, key, sizeof(key));
	ret = store_delete(acc->st, key, STORE_ANY_VERSION);
	/* Out of the index whatever the store said: a token being revoked
	 * must stop working here at once. */
	pthread_mutex_lock(&acc->lock);
	for (i = 0; i < acc->n_tokens; i++) {
		if (strcmp(acc->tokens[i].name, name))
			continue;
		acc->tokens[i] = acc->tokens[--acc->n_tokens];
		explicit_bzero(&acc->tokens[acc->n_tokens], sizeof(acc->tokens[0]));
		break;
	}
	pthread_mutex_unlock(&acc->lock);
	if (ret == -ENOENT)
		control_error_set(e, "name", "there is no API token \"%s\" (see `zerowg token "
				  "list`)", name);
	else if (ret < 0)
		acc_store_error(e, "removing the API token", ret);
	return ret;
}

/* Writes last_used into the record (best effort: a lost update only
 * makes "last used" older). */
static void persist_last_used(struct accounts *acc, const char *name,
			      const uint8_t hash[ACC_HASH_LEN], int64_t when)
{
	char key[sizeof(ACCOUNTS_TOKEN_PREFIX) + ACCOUNTS_NAME_MAX];
	struct acc_token t;
	uint8_t *val = NULL;
	uint64_t version;
	size_t len = 0;
	char *text = NULL;

	token_key(name, key, sizeof(key));
	if (store_get(acc->st, key, &val, &len, &version) < 0)
		return;
	if (token_decode(name, val, len, &t) == 0 &&
	    !CRYPTO_memcmp(t.hash, hash, ACC_HASH_LEN) && t.last_used < when) {
		t.last_used = when;
		if (token_encode(&t, &text) == 0)
			store_put(acc->st, key, (const uint8_t *)text, strlen(text), version, NULL);
		free(text);
	}
	store_value_free(val, len);
}

int accounts_token_verify(struct accounts *acc, const char *bearer, int64_t now,
			  struct actor *actor)
{
	uint8_t h[ACC_HASH_LEN], hash[ACC_HASH_LEN];
	char name[ACCOUNTS_NAME_MAX + 1];
	bool persist = false;
	ssize_t found = -1;
	size_t i;
	int ret = -EACCES;

	memset(actor, 0, sizeof(*actor));
	if (!bearer || strlen(bearer) != SECRET_LEN ||
	    memcmp(bearer, ACCOUNTS_TOKEN_PREFIX_TEXT, 4))
		return -EACCES;
	acc_sha256(bearer, SECRET_LEN, h);
	pthread_mutex_lock(&acc->lock);
	for (i = 0; i < acc->n_tokens; i++) {
		int differ = CRYPTO_memcmp(acc->tokens[i].hash, h, ACC_HASH_LEN);

		found = differ ? found : (ssize_t)i;
	}
	if (found >= 0) {
		struct acc_token *t = &acc->tokens[found];

		if (t->expires == 0 || now < t->expires) {
			acc_actor(actor, ACTOR_TOKEN, t->name, t->role);
			if (now > t->last_used)
				t->last_used = now;
			if (t->last_used - t->last_used_stored >= ACC_TOKEN_LAST_USED_EVERY) {
				t->last_used_stored = t->last_used;
				persist = true;
				snprintf(name, sizeof(name), "%s", t->name);
				memcpy(hash, t->hash, sizeof(hash));
			}
			ret = 0;
		}
	}
	pthread_mutex_unlock(&acc->lock);
	explicit_bzero(h, sizeof(h));
	if (persist)
		persist_last_used(acc, name, hash, now);
	return ret;
}
