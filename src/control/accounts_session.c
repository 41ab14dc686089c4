/*
 * accounts_session.c - web sessions, in memory only: a restart of the
 * server logs everyone out, and no session id is ever written anywhere.
 *
 * An id is 32 bytes from the CSPRNG in base64url (43 characters); the
 * table keeps only its SHA-256, so a memory dump gives no usable cookie.
 * A lookup hashes the id it is given and compares it with every live
 * entry with CRYPTO_memcmp, without stopping at a match.  A session ends
 * at logout, revocation, ACCOUNTS_SESSION_IDLE without use, or
 * ACCOUNTS_SESSION_ABSOLUTE after its creation; and when its user's
 * generation moves on (password change, 2FA change) or the user goes.
 * Full tables evict: a user's oldest session past
 * ACCOUNTS_SESSION_MAX_PER_USER, the least recently used past
 * ACCOUNTS_SESSION_MAX.
 *
 * Lock: acc->lock around every access to acc->sessions.  Relies on
 * OpenSSL (CRYPTO_memcmp, via acc_sha256 / acc_random).
 */
#include "accounts_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define ID_BYTES 32

/* SHA-256 of a well-formed id, or false. */
static bool id_hash(const char *id, uint8_t out[ACC_HASH_LEN])
{
	size_t i;

	if (!id || strlen(id) != ACCOUNTS_SESSION_ID_LEN)
		return false;
	for (i = 0; i < ACCOUNTS_SESSION_ID_LEN; i++) {
		char c = id[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	acc_sha256(id, ACCOUNTS_SESSION_ID_LEN, out);
	return true;
}

static void handle_of(const uint8_t hash[ACC_HASH_LEN], char out[ACCOUNTS_SESSION_HANDLE_SIZE])
{
	uint8_t h2[ACC_HASH_LEN];
	int i;

	/* A hash of the hash: the handle may be shown, logged and sent
	 * around without telling anything of what the table matches. */
	acc_sha256(hash, ACC_HASH_LEN, h2);
	for (i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", h2[i]);
}

void accounts_session_handle(const char *id, char handle[ACCOUNTS_SESSION_HANDLE_SIZE])
{
	uint8_t h[ACC_HASH_LEN];

	if (!id_hash(id, h)) {
		handle[0] = '\0';
		return;
	}
	handle_of(h, handle);
}

/* Removes slot i (lock held): the last live entry moves into it. */
static void drop(struct accounts *acc, size_t i)
{
	size_t last = acc->n_sessions - 1;

	if (i != last)
		acc->sessions[i] = acc->sessions[last];
	explicit_bzero(&acc->sessions[last], sizeof(acc->sessions[last]));
	acc->n_sessions--;
}

/* ACCOUNTS_SESSION_IDLE; test builds take ZWG_TEST_SESSION_IDLE_S (seconds)
 * so that a test can see a session expire.  The production binary has no
 * knob. */
static int64_t session_idle(void)
{
#ifdef ZWG_TESTING
	const char *v = getenv("ZWG_TEST_SESSION_IDLE_S");

	if (v && atoi(v) > 0)
		return atoi(v);
#endif
	return ACCOUNTS_SESSION_IDLE;
}

static bool expired(const struct acc_session *s, int64_t now)
{
	return now - s->last_seen >= session_idle() ||
	       now - s->created >= ACCOUNTS_SESSION_ABSOLUTE || now < s->created - 300;
}

static void drop_expired(struct accounts *acc, int64_t now)
{
	size_t i = 0;

	while (i < acc->n_sessions) {
		if (expired(&acc->sessions[i], now))
			drop(acc, i);
		else
			i++;
	}
}

int acc_session_create(struct accounts *acc, const struct acc_user *u, const char *source,
		       int64_t now, char id[ACCOUNTS_SESSION_ID_SIZE])
{
	uint8_t raw[ID_BYTES];
	struct acc_session *s;
	size_t i, mine = 0, oldest_mine = SIZE_MAX, lru = 0;
	int ret;

	ret = acc_random(raw, sizeof(raw));
	if (ret < 0)
		return ret;
	acc_base64url(raw, sizeof(raw), id);
	explicit_bzero(raw, sizeof(raw));

	pthread_mutex_lock(&acc->lock);
	drop_expired(acc, now);
	for (i = 0; i < acc->n_sessions; i++) {
		s = &acc->sessions[i];
		if (s->last_seen < acc->sessions[lru].last_seen)
			lru = i;
		if (strcmp(s->user, u->name))
			continue;
		mine++;
		if (oldest_mine == SIZE_MAX || s->created < acc->sessions[oldest_mine].created)
			oldest_mine = i;
	}
	if (mine >= ACCOUNTS_SESSION_MAX_PER_USER)
		drop(acc, oldest_mine);
	else if (acc->n_sessions >= ACCOUNTS_SESSION_MAX)
		drop(acc, lru);
	s = &acc->sessions[acc->n_sessions++];
	memset(s, 0, sizeof(*s));
	acc_sha256(id, ACCOUNTS_SESSION_ID_LEN, s->hash);
	snprintf(s->user, sizeof(s->user), "%s", u->name);
	s->role = u->role;
	s->generation = u->generation;
	s->created = now;
	s->last_seen = now;
	snprintf(s->source, sizeof(s->source), "%s", source && *source ? source : "unknown");
	/* It came from the network (a peer address, a forwarded header):
	 * lists show it, so nothing unprintable. */
	for (i = 0; s->source[i]; i++)
		if ((unsigned char)s->source[i] < 0x20 || (unsigned char)s->source[i] >= 0x7f)
			s->source[i] = '?';
	pthread_mutex_unlock(&acc->lock);
	return 0;
}

/* The slot of the session whose hash is h, or -1; lock held.  Looks at
 * every entry whatever it finds. */
static ssize_t find(struct accounts *acc, const uint8_t h[ACC_HASH_LEN])
{
	ssize_t found = -1;
	size_t i;

	for (i = 0; i < acc->n_sessions; i++) {
		int differ = CRYPTO_memcmp(acc->sessions[i].hash, h, ACC_HASH_LEN);

		/* Not a branch on the comparison's value into the loop's
		 * length: only the index is recorded. */
		found = differ ? found : (ssize_t)i;
	}
	return found;
}

int accounts_session_lookup(struct accounts *acc, const char *id, int64_t now,
			    struct actor *actor, char handle[ACCOUNTS_SESSION_HANDLE_SIZE])
{
	uint8_t h[ACC_HASH_LEN];
	ssize_t i;
	int ret = -EACCES;

	memset(actor, 0, sizeof(*actor));
	if (handle)
		handle[0] = '\0';
	if (!id_hash(id, h))
		return -EACCES;
	pthread_mutex_lock(&acc->lock);
	i = find(acc, h);
	if (i >= 0 && expired(&acc->sessions[i], now)) {
		drop(acc, (size_t)i);
	} else if (i >= 0) {
		struct acc_session *s = &acc->sessions[i];

		s->last_seen = now > s->last_seen ? now : s->last_seen;
		acc_actor(actor, ACTOR_USER, s->user, s->role);
		if (handle)
			handle_of(s->hash, handle);
		ret = 0;
	}
	pthread_mutex_unlock(&acc->lock);
	explicit_bzero(h, sizeof(h));
	return ret;
}

int accounts_session_logout(struct accounts *acc, const char *id)
{
	uint8_t h[ACC_HASH_LEN];
	ssize_t i;

	if (!id_hash(id, h))
		return -ENOENT;
	pthread_mutex_lock(&acc->lock);
	i = find(acc, h);
	if (i >= 0)
		drop(acc, (size_t)i);
	pthread_mutex_unlock(&acc->lock);
	return i >= 0 ? 0 : -ENOENT;
}

static int cmp_created(const void *a, const void *b)
{
	const struct accounts_session_info *x = a, *y = b;

	return (x->created > y->created) - (x->created < y->created);
}

int accounts_session_list(struct accounts *acc, const char *user, int64_t now,
			  struct accounts_session_info **out, size_t *n)
{
	struct accounts_session_info *v;
	size_t i, m = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&acc->lock);
	drop_expired(acc, now);
	v = calloc(acc->n_sessions ? acc->n_sessions : 1, sizeof(*v));
	if (!v) {
		pthread_mutex_unlock(&acc->lock);
		return -ENOMEM;
	}
	for (i = 0; i < acc->n_sessions; i++) {
		const struct acc_session *s = &acc->sessions[i];

		if (user && strcmp(s->user, user))
			continue;
		handle_of(s->hash, v[m].handle);
		snprintf(v[m].user, sizeof(v[m].user), "%s", s->user);
		v[m].created = s->created;
		v[m].last_seen = s->last_seen;
		snprintf(v[m].source, sizeof(v[m].source), "%s", s->source);
		m++;
	}
	pthread_mutex_unlock(&acc->lock);
	qsort(v, m, sizeof(*v), cmp_created);
	*out = v;
	*n = m;
	return 0;
}

int accounts_session_revoke(struct accounts *acc, const char *user, const char *handle)
{
	char hd[ACCOUNTS_SESSION_HANDLE_SIZE];
	size_t i;
	int ret = -ENOENT;

	if (!handle || strlen(handle) != ACCOUNTS_SESSION_HANDLE_SIZE - 1)
		return -ENOENT;
	pthread_mutex_lock(&acc->lock);
	for (i = 0; i < acc->n_sessions; i++) {
		const struct acc_session *s = &acc->sessions[i];

		if (user && strcmp(s->user, user))
			continue;
		handle_of(s->hash, hd);
		if (!strcmp(hd, handle)) {
			drop(acc, i);
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&acc->lock);
	return ret;
}

size_t accounts_session_revoke_all(struct accounts *acc, const char *user,
				   const char *keep_session)
{
	uint8_t keep[ACC_HASH_LEN];
	bool has_keep = id_hash(keep_session, keep);
	size_t i = 0, ended = 0;

	pthread_mutex_lock(&acc->lock);
	while (i < acc->n_sessions) {
		const struct acc_session *s = &acc->sessions[i];

		if (!strcmp(s->user, user) &&
		    !(has_keep && !CRYPTO_memcmp(s->hash, keep, ACC_HASH_LEN))) {
			drop(acc, i);
			ended++;
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&acc->lock);
	return ended;
}

void acc_session_generation(struct accounts *acc, const struct acc_user *u,
			    const char *keep_session)
{
	uint8_t keep[ACC_HASH_LEN];
	bool has_keep = id_hash(keep_session, keep);
	size_t i = 0;

	pthread_mutex_lock(&acc->lock);
	while (i < acc->n_sessions) {
		struct acc_session *s = &acc->sessions[i];

		if (strcmp(s->user, u->name)) {
			i++;
		} else if (has_keep && !CRYPTO_memcmp(s->hash, keep, ACC_HASH_LEN)) {
			s->generation = u->generation;
			s->role = u->role;
			i++;
		} else {
			drop(acc, i);
		}
	}
	pthread_mutex_unlock(&acc->lock);
}

void acc_session_user_changed(struct accounts *acc, const char *name, const struct acc_user *u)
{
	size_t i = 0;

	pthread_mutex_lock(&acc->lock);
	while (i < acc->n_sessions) {
		struct acc_session *s = &acc->sessions[i];

		if (strcmp(s->user, name)) {
			i++;
		} else if (!u || s->generation != u->generation) {
			drop(acc, i);
		} else {
			s->role = u->role;
			i++;
		}
	}
	pthread_mutex_unlock(&acc->lock);
}

unsigned acc_session_count(struct accounts *acc, const char *name)
{
	unsigned n = 0;
	size_t i;

	pthread_mutex_lock(&acc->lock);
	for (i = 0; i < acc->n_sessions; i++)
		n += !strcmp(acc->sessions[i].user, name);
	pthread_mutex_unlock(&acc->lock);
	return n;
}

int acc_session_users(struct accounts *acc, char (**names)[ACCOUNTS_NAME_MAX + 1], size_t *n)
{
	char (*v)[ACCOUNTS_NAME_MAX + 1];
	size_t i, j, m = 0;

	pthread_mutex_lock(&acc->lock);
	v = calloc(acc->n_sessions ? acc->n_sessions : 1, sizeof(*v));
	if (!v) {
		pthread_mutex_unlock(&acc->lock);
		return -ENOMEM;
	}
	for (i = 0; i < acc->n_sessions; i++) {
		for (j = 0; j < m && strcmp(v[j], acc->sessions[i].user); j++)
			;
		if (j == m)
			snprintf(v[m++], sizeof(v[0]), "%s", acc->sessions[i].user);
	}
	pthread_mutex_unlock(&acc->lock);
	*names = v;
	*n = m;
	return 0;
}
