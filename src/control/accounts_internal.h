/*
 * accounts_internal.h - what the files of the accounts module share:
 * the struct behind struct accounts, the user record as it is in memory,
 * and the helpers each file uses.  Private to src/control/accounts*.c.
 *
 * Lock order: acc->lock is the only lock, and no function holds it while
 * it calls the store or Argon2 (the store serialises itself).
 */
#ifndef ZWG_ACCOUNTS_INTERNAL_H
#define ZWG_ACCOUNTS_INTERNAL_H

#include "accounts.h"
#include "totp.h"

#include <pthread.h>

#define ACC_HASH_LEN 32			/* SHA-256 */
#define ACC_THROTTLE_KEY_MAX 80
#define ACC_THROTTLE_SLOTS 4096		/* per table; the stalest is reused */
#define ACC_TOKEN_LAST_USED_EVERY 3600	/* last_used reaches the store at most hourly */
#define ACC_UPDATE_RETRIES 8		/* compare-and-swap rounds before -EBUSY */

struct acc_throttle_entry {
	char key[ACC_THROTTLE_KEY_MAX];	/* "" = free slot */
	unsigned failures;
	int64_t last_failure;
	int64_t until;			/* no attempt before this time */
};

struct acc_session {
	uint8_t hash[ACC_HASH_LEN];	/* SHA-256 of the id; the id is never kept */
	char user[ACCOUNTS_NAME_MAX + 1];
	enum actor_role role;
	uint64_t generation;		/* the user's when it was made */
	int64_t created;
	int64_t last_seen;
	char source[ACCOUNTS_SOURCE_MAX];
};

struct acc_token {
	uint8_t hash[ACC_HASH_LEN];	/* SHA-256 of the whole "zwg_..." text */
	char name[ACCOUNTS_NAME_MAX + 1];
	enum actor_role role;
	int64_t created;
	int64_t expires;
	int64_t last_used;
	int64_t last_used_stored;
};

struct accounts {
	struct store *st;		/* not owned */
	uint32_t argon2_t, argon2_m_kib;	/* lower only in test builds */
	char *dummy_hash;		/* encoded hash of a random password */

	pthread_mutex_t lock;		/* guards every field below */
	pthread_cond_t hash_slot;	/* signalled when hashing drops */
	unsigned hashing;		/* Argon2 runs in progress */
	struct acc_session *sessions;	/* ACCOUNTS_SESSION_MAX slots */
	size_t n_sessions;		/* the first n are live */
	struct acc_token *tokens;	/* the store's tokens/, indexed */
	size_t n_tokens;
	struct acc_throttle_entry *by_name;	/* ACC_THROTTLE_SLOTS each */
	struct acc_throttle_entry *by_source;
};

/* A user record, as "users/NAME" holds it. */
struct acc_user {
	char name[ACCOUNTS_NAME_MAX + 1];
	enum actor_role role;
	char *password_hash;		/* libargon2's encoded form; malloc'd */
	int64_t created;
	int64_t password_changed;
	uint64_t generation;
	bool totp_enabled;
	uint8_t totp_secret[TOTP_SECRET_LEN];
	uint64_t totp_last_step;	/* the last step whose code was accepted */
	bool totp_pending;
	uint8_t totp_pending_secret[TOTP_SECRET_LEN];
	unsigned n_recovery;
	uint8_t recovery[ACCOUNTS_RECOVERY_CODES][ACC_HASH_LEN];
};

/* ---- accounts_record.c ---- */
void acc_user_free(struct acc_user *u);
/* Writes u with expect (STORE_NEW: -EEXIST if taken; or a version:
 * -ESTALE if it moved on). */
int acc_user_write(struct accounts *acc, const struct acc_user *u, uint64_t expect,
		   struct control_error *e);
/* 0, -ENOENT (e says "no user NAME"), or a store/decode error. */
int acc_user_load(struct accounts *acc, const char *name, struct acc_user *u,
		  uint64_t *version, struct control_error *e);
/*
 * Read-modify-write of "users/NAME" with compare-and-swap: fn changes *u
 * and returns 0 (written), 1 (nothing to write: return 0) or -errno
 * (returned, nothing written).  On success *out (may be NULL) is the
 * record as written; release it with acc_user_free.
 */
int acc_user_update(struct accounts *acc, const char *name,
		    int (*fn)(struct acc_user *u, void *ctx), void *ctx,
		    struct acc_user *out, struct control_error *e);
void acc_store_error(struct control_error *e, const char *what, int ret);
/* SHA-256 of len bytes.  Never fails (aborts if OpenSSL cannot hash). */
void acc_sha256(const void *data, size_t len, uint8_t out[ACC_HASH_LEN]);
/* base64url without padding of len bytes into out (4*ceil(len/3) + 1). */
void acc_base64url(const uint8_t *in, size_t len, char *out);
/* RAND_bytes or -EIO. */
int acc_random(void *buf, size_t len);
/* The ACTOR_USER / ACTOR_TOKEN value. */
void acc_actor(struct actor *a, enum actor_kind kind, const char *name, enum actor_role role);

/* ---- accounts.c ---- */
/* Counts a failed attempt of name from source (takes acc->lock) and sets
 * e to the one message every failure gets. */
void acc_throttle_failed(struct accounts *acc, const char *name, const char *source,
			 int64_t now, struct control_error *e);

/* ---- accounts_throttle.c (call with acc->lock held) ---- */
/* The source address's key: the text, or an IPv6 address's /64. */
void acc_throttle_source_key(const char *source, char *key, size_t len);
/* 0, or the seconds until name/source may try again. */
int64_t acc_throttle_wait(struct accounts *acc, const char *name, const char *source_key,
			  int64_t now);
void acc_throttle_fail(struct accounts *acc, const char *name, const char *source_key,
		       int64_t now);
void acc_throttle_success(struct accounts *acc, const char *name);

/* ---- accounts_session.c ---- */
/* A new session for u; id gets its id.  0 or -EIO. */
int acc_session_create(struct accounts *acc, const struct acc_user *u, const char *source,
		       int64_t now, char id[ACCOUNTS_SESSION_ID_SIZE]);
/* After u was written with a new generation: ends u's other sessions
 * and moves keep_session (an id or NULL) to the new generation. */
void acc_session_generation(struct accounts *acc, const struct acc_user *u,
			    const char *keep_session);
/* After a role change or removal (u NULL: removed). */
void acc_session_user_changed(struct accounts *acc, const char *name, const struct acc_user *u);
unsigned acc_session_count(struct accounts *acc, const char *name);
/* Copies the distinct user names with sessions (malloc'd array). */
int acc_session_users(struct accounts *acc, char (**names)[ACCOUNTS_NAME_MAX + 1], size_t *n);

/* ---- accounts_totp.c ---- */
/* Checks code (TOTP or recovery code) for u as loaded with generation
 * gen, consuming it in the store.  0 or -EACCES (or a store error). */
int acc_second_factor(struct accounts *acc, const char *name, uint64_t gen, const char *code,
		      int64_t now, struct control_error *e);

/* ---- accounts_token.c ---- */
int acc_token_index_load(struct accounts *acc, struct control_error *e);

#endif
