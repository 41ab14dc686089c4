/*
 * links.c - one-time links: see links.h.
 *
 * The record is JSON: {"peer":"phone","created":T,"expires":T,
 * "client_config":"[Interface]..."}.  It holds a private key: the store
 * seals it; here every buffer that held it is wiped (store_value_free,
 * explicit_bzero, and jansson's wiping allocator that the server and the
 * tests install: model_json_wipe_on_free).
 */
#include "links.h"
#include "control_internal.h"
#include "crypto.h"
#include "encoding.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_BUF (sizeof(LINKS_STORE_PREFIX) + 64)

/* The hashes of links that died in this process, and why (links.h).
 * dead_lock guards both; a leaf lock. */
static pthread_mutex_t dead_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dead_link {
	uint8_t hash[32];
	int err;		/* -EALREADY, -ETIME, -EKEYREVOKED; 0 = empty */
} dead[LINKS_DEAD_MAX];
static size_t dead_next;

static void dead_add(const uint8_t hash[32], int err)
{
	pthread_mutex_lock(&dead_lock);
	memcpy(dead[dead_next].hash, hash, 32);
	dead[dead_next].err = err;
	dead_next = (dead_next + 1) % LINKS_DEAD_MAX;
	pthread_mutex_unlock(&dead_lock);
}

static int dead_find(const uint8_t hash[32])
{
	int err = -ENOENT;

	pthread_mutex_lock(&dead_lock);
	for (size_t i = 0; i < LINKS_DEAD_MAX; i++)
		if (dead[i].err && !memcmp(dead[i].hash, hash, 32))
			err = dead[i].err;
	pthread_mutex_unlock(&dead_lock);
	return err;
}

static bool is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static void b64url(const uint8_t *in, size_t len, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;
		if (n > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		for (size_t k = 0; k < n + 1; k++)
			out[o++] = abc[(v >> (18 - 6 * k)) & 63];
	}
	out[o] = '\0';
}

bool links_token_valid(const char *token)
{
	size_t i;

	for (i = 0; token && i < LINK_TOKEN_LEN; i++)
		if (!is_b64url(token[i]))
			return false;
	return token && token[i] == '\0';
}

/* The token's hash, if it has a token's shape. */
static bool token_hash(const char *token, uint8_t hash[32])
{
	unsigned int n = 0;

	if (!links_token_valid(token))
		return false;
	return EVP_Digest(token, LINK_TOKEN_LEN, hash, &n, EVP_sha256(), NULL) && n == 32;
}

static void key_of_hash(const uint8_t hash[32], char key[KEY_BUF])
{
	char hex[KEY_HEX_LEN + 1];

	key_to_hex(hex, hash);
	snprintf(key, KEY_BUF, "%s%s", LINKS_STORE_PREFIX, hex);
}

bool links_store_key(const char *token, char key[KEY_BUF])
{
	uint8_t hash[32];

	if (!token_hash(token, hash))
		return false;
	key_of_hash(hash, key);
	return true;
}

int links_parse_ttl(const char *text, int64_t *ttl, struct control_error *e)
{
	unsigned long long v = 0, unit = 1;
	const char *p = text;

	if (!text || !*text)
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > LINK_TTL_MAX)
			goto bad;
	}
	if (p == text)
		goto bad;
	switch (*p) {
	case '\0': break;
	case 's': unit = 1; p++; break;
	case 'm': unit = 60; p++; break;
	case 'h': unit = 3600; p++; break;
	case 'd': unit = 86400; p++; break;
	case 'w': unit = 7 * 86400; p++; break;
	default: goto bad;
	}
	if (*p || v * unit < 60 || v * unit > LINK_TTL_MAX)
		goto bad;
	*ttl = (int64_t)(v * unit);
	return 0;
bad:
	control_error_set(e, "ttl", "link lifetime \"%.40s\" is not a duration from 1m to 7d "
			  "(like \"30m\", \"1h\", \"2d\"; default 1h)", text ? text : "");
	return -EINVAL;
}

int links_create(struct control *ctl, const char *peer, const char *client_config, int64_t ttl,
		 int64_t now, char token[LINK_TOKEN_LEN + 1], int64_t *expires,
		 struct control_error *e)
{
	uint8_t raw[LINK_TOKEN_BYTES], hash[32];
	char key[KEY_BUF];
	char *text = NULL;
	struct store *st = ctl->store;
	json_t *rec;
	int ret;

	token[0] = '\0';
	if (!model_name_valid(peer, e))
		return -EINVAL;
	if (ttl <= 0 || ttl > LINK_TTL_MAX) {
		control_error_set(e, "ttl", "link lifetime %lld s is not between 1 s and 7 days",
				  (long long)ttl);
		return -EINVAL;
	}
	if (!client_config || !*client_config) {
		control_error_set(e, NULL, "peer \"%s\": no client config to link to", peer);
		return -EINVAL;
	}
	if (!crypto_random(raw, sizeof(raw))) {
		control_error_set(e, NULL, "no randomness for a link token");
		return -EIO;
	}
	b64url(raw, sizeof(raw), token);
	explicit_bzero(raw, sizeof(raw));
	if (!token_hash(token, hash)) {
		ret = -EIO;
		control_error_set(e, NULL, "cannot hash a link token");
		goto out;
	}
	key_of_hash(hash, key);
	rec = json_pack("{ss sI sI ss}", "peer", peer, "created", (json_int_t)now,
			"expires", (json_int_t)(now + ttl), "client_config", client_config);
	text = model_json_dump(rec, JSON_COMPACT | JSON_PRESERVE_ORDER, NULL);
	json_decref(rec);
	if (!text) {
		ret = -ENOMEM;
		control_error_set(e, NULL, "out of memory");
		goto out;
	}
	/* STORE_NEW: a token is never reused, whatever the odds. */
	ret = store_put(st, key, (const uint8_t *)text, strlen(text), STORE_NEW, NULL);
	if (ret < 0)
		control_error_set(e, NULL, "storing a link of peer \"%s\": %s", peer,
				  store_last_error()[0] ? store_last_error() : strerror(-ret));
	else
		*expires = now + ttl;
out:
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	if (ret < 0)
		explicit_bzero(token, LINK_TOKEN_LEN + 1);
	return ret;
}

/* The record at key: its peer, expiry and (if config) the client config.
 * 0, -ENOENT, -EBADMSG (not a link record) or a store error. */
static int read_link(struct store *st, const char *key, char peer[MODEL_NAME_MAX + 1],
		     int64_t *expires, char **config, uint64_t *version)
{
	uint8_t *val = NULL;
	size_t len = 0;
	json_t *j, *p, *x, *c;
	int ret;

	if (config)
		*config = NULL;
	ret = store_get(st, key, &val, &len, version);
	if (ret < 0)
		return ret;
	j = json_loadb((const char *)val, len, 0, NULL);
	store_value_free(val, len);
	p = json_object_get(j, "peer");
	x = json_object_get(j, "expires");
	c = json_object_get(j, "client_config");
	if (!json_is_string(p) || strlen(json_string_value(p)) > MODEL_NAME_MAX ||
	    !json_is_integer(x) || !json_is_string(c)) {
		json_decref(j);
		return -EBADMSG;
	}
	snprintf(peer, MODEL_NAME_MAX + 1, "%s", json_string_value(p));
	*expires = json_integer_value(x);
	ret = 0;
	if (config && !(*config = strdup(json_string_value(c))))
		ret = -ENOMEM;
	json_decref(j);
	return ret;
}

int links_take(struct control *ctl, const char *token, int64_t now,
	       char peer[MODEL_NAME_MAX + 1], char **config)
{
	uint8_t hash[32];
	char key[KEY_BUF];
	uint64_t version;
	struct store *st = ctl->store;
	int64_t expires;
	int ret;

	*config = NULL;
	peer[0] = '\0';
	if (!token_hash(token, hash))
		return -ENOENT;
	key_of_hash(hash, key);
	ret = read_link(st, key, peer, &expires, config, &version);
	if (ret == -ENOENT)
		return dead_find(hash);
	if (ret < 0)
		return ret;
	if (expires <= now) {
		links_config_free(*config);
		*config = NULL;
		ret = store_delete(st, key, version);
		if (ret < 0 && ret != -ENOENT && ret != -ESTALE)
			return ret;
		dead_add(hash, -ETIME);
		return -ETIME;
	}
	/* Once: the config goes out only if this request deleted it. */
	ret = store_delete(st, key, version);
	if (ret == -ENOENT || ret == -ESTALE) {
		links_config_free(*config);
		*config = NULL;
		ret = dead_find(hash);
		return ret == -ENOENT ? -EALREADY : ret;
	}
	if (ret < 0) {
		links_config_free(*config);
		*config = NULL;
		return ret;
	}
	dead_add(hash, -EALREADY);
	return 0;
}

void links_config_free(char *config)
{
	if (!config)
		return;
	explicit_bzero(config, strlen(config));
	free(config);
}

/* Calls fn for every link record; stops at fn's first non-zero result. */
static int each_link(struct store *st,
		     int (*fn)(void *arg, const char *key, const char *peer, int64_t expires,
			       uint64_t version),
		     void *arg)
{
	char **keys = NULL;
	size_t n = 0;
	int ret;

	ret = store_list(st, LINKS_STORE_PREFIX, &keys, &n);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n && ret == 0; i++) {
		char peer[MODEL_NAME_MAX + 1];
		int64_t expires;
		uint64_t version;
		int r = read_link(st, keys[i], peer, &expires, NULL, &version);
		if (r == -ENOENT)
			continue;	/* taken meanwhile */
		if (r == -EBADMSG) {
			/* Not a link (hand-made, damaged): never served,
			 * and it may hold a key - delete it. */
			store_delete(st, keys[i], STORE_ANY_VERSION);
			continue;
		}
		ret = r < 0 ? r : fn(arg, keys[i], peer, expires, version);
	}
	store_list_free(keys, n);
	return ret;
}

/* The hash of key ("links/<hex>"). */
static void hash_of_key(const char *key, uint8_t hash[32])
{
	if (!key_from_hex(hash, key + strlen(LINKS_STORE_PREFIX)))
		memset(hash, 0, 32);
}

struct drop_arg {
	struct store *st;
	const char *peer;	/* drop: this peer's; NULL: count all */
	int64_t now;		/* expire: before this */
	void (*fn)(void *ctx, const char *peer);
	void *ctx;
	int n;
};

static int drop_one(void *arg, const char *key, const char *peer, int64_t expires,
		    uint64_t version)
{
	struct drop_arg *a = arg;
	uint8_t hash[32];
	int ret;

	(void)expires;
	if (strcmp(peer, a->peer))
		return 0;
	ret = store_delete(a->st, key, version);
	if (ret == -ENOENT || ret == -ESTALE)
		return 0;	/* taken meanwhile */
	if (ret < 0)
		return ret;
	hash_of_key(key, hash);
	dead_add(hash, -EKEYREVOKED);
	a->n++;
	return 0;
}

int links_drop_peer(struct control *ctl, const char *peer)
{
	struct drop_arg a = { .st = ctl->store, .peer = peer };
	int ret = each_link(ctl->store, drop_one, &a);

	return ret < 0 ? ret : a.n;
}

static int expire_one(void *arg, const char *key, const char *peer, int64_t expires,
		      uint64_t version)
{
	struct drop_arg *a = arg;
	uint8_t hash[32];
	int ret;

	if (expires > a->now)
		return 0;
	ret = store_delete(a->st, key, version);
	if (ret == -ENOENT || ret == -ESTALE)
		return 0;
	if (ret < 0)
		return ret;
	hash_of_key(key, hash);
	dead_add(hash, -ETIME);
	a->n++;
	if (a->fn)
		a->fn(a->ctx, peer);
	return 0;
}

int links_expire_due(struct control *ctl, int64_t now,
		     void (*fn)(void *ctx, const char *peer), void *ctx)
{
	struct drop_arg a = { .st = ctl->store, .now = now, .fn = fn, .ctx = ctx };
	int ret = each_link(ctl->store, expire_one, &a);

	return ret < 0 ? ret : a.n;
}

static int count_one(void *arg, const char *key, const char *peer, int64_t expires,
		     uint64_t version)
{
	struct drop_arg *a = arg;

	(void)key;
	(void)expires;
	(void)version;
	if (!a->peer || !strcmp(a->peer, peer))
		a->n++;
	return 0;
}

int links_count(struct control *ctl, const char *peer)
{
	struct drop_arg a = { .st = ctl->store, .peer = peer };
	int ret = each_link(ctl->store, count_one, &a);

	return ret < 0 ? ret : a.n;
}
