/*
 * accounts.h - the people and scripts that may use the web side of zerowg
 * (issue 11, section 2): users with Argon2id passwords and roles, TOTP
 * two-factor codes with single-use recovery codes, login throttling,
 * sessions, and API tokens.  No HTTP here: the API layer calls this
 * module and turns its answers into status codes and cookies.
 *
 * Where things live:
 *   "users/NAME"   in the store (sealed): role, Argon2id hash, TOTP secret,
 *                  the last TOTP step used, SHA-256 hashes of the recovery
 *                  codes, session generation (docs/accounts.md)
 *   "tokens/NAME"  in the store: role, created, expires, SHA-256 of the
 *                  secret ("zwg_" + base64url of 32 random bytes)
 *   sessions       in memory only, as SHA-256 hashes of their ids: a
 *                  restart of the server logs everyone out
 *   throttling     in memory only
 * No record ever holds a password, a recovery code or a token secret.
 *
 * How a request is authenticated (the API layer):
 *   - a session cookie  -> accounts_session_lookup(acc, id, now, &actor)
 *   - "Authorization: Bearer zwg_..." -> accounts_token_verify(acc, bearer,
 *                                        now, &actor)
 *   - sign-in form       -> accounts_login(...), then set the cookie to the
 *                           session id it returns
 * Each gives 0 and fills a struct actor (kind ACTOR_USER or ACTOR_TOKEN,
 * the role, the name; via "web"), or -EACCES and an unauthenticated
 * request.  Changes made by `zerowg user`/`zerowg token` in another
 * process reach a running server when it calls accounts_reload() (on
 * POST /v1/reload or SIGHUP).
 *
 * Times are unix seconds passed in by the caller (`now`), so tests inject
 * the clock.  Functions return 0 or -errno and, where they take one, fill
 * a struct control_error for a person (never quoting a password, code or
 * secret).  Thread safety: every function may be called from several
 * threads at once; one mutex guards the in-memory tables, and no store
 * I/O or Argon2 runs under it.  At most ACCOUNTS_MAX_HASHING Argon2 runs
 * (64 MiB each) go at once; more wait up to 2 s, then get -EAGAIN.
 *
 * Relies on store.h, model.h (control_error, JSON wiping), totp.h,
 * libargon2 and OpenSSL (RAND_bytes, SHA-256, CRYPTO_memcmp).
 */
#ifndef ZWG_ACCOUNTS_H
#define ZWG_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actor.h"
#include "model.h"

struct store;
struct accounts;

#define ACCOUNTS_USER_PREFIX "users/"
#define ACCOUNTS_TOKEN_PREFIX "tokens/"

/* Names of users and tokens: as peer names, 1..63 of [A-Za-z0-9._-], not
 * starting with '.' or '-'. */
#define ACCOUNTS_NAME_MAX MODEL_NAME_MAX
#define ACCOUNTS_PASSWORD_MIN 10	/* bytes */
#define ACCOUNTS_PASSWORD_MAX 1024

/* Argon2id: RFC 9106's second recommended option (t=3, m=64 MiB, p=1);
 * 0.16 s per hash on one core of the reference 2-core machine. */
#define ACCOUNTS_ARGON2_T 3
#define ACCOUNTS_ARGON2_M_KIB (64 * 1024)
#define ACCOUNTS_ARGON2_P 1
#define ACCOUNTS_MAX_HASHING 2		/* concurrent Argon2 runs */

/* Throttling: after ACCOUNTS_THROTTLE_FREE failures in a row, per name
 * tried and per source address (an IPv6 source counts per /64), the next
 * attempt waits 1 s, then 2, 4 ... up to 15 min; a success clears the
 * name's count; an hour without failure forgets both. */
#define ACCOUNTS_THROTTLE_FREE 5
#define ACCOUNTS_THROTTLE_MAX_DELAY (15 * 60)
#define ACCOUNTS_THROTTLE_FORGET (60 * 60)

/* Sessions. */
#define ACCOUNTS_SESSION_IDLE (30 * 60)
#define ACCOUNTS_SESSION_ABSOLUTE (12 * 60 * 60)
#define ACCOUNTS_SESSION_MAX 4096	/* in all; the oldest go first */
#define ACCOUNTS_SESSION_MAX_PER_USER 32
/* A session id: base64url (no padding) of 32 random bytes. */
#define ACCOUNTS_SESSION_ID_LEN 43
#define ACCOUNTS_SESSION_ID_SIZE (ACCOUNTS_SESSION_ID_LEN + 1)
/* A session's handle: 16 hex digits of the SHA-256 of its id; names a
 * session in lists and for revocation without revealing the id. */
#define ACCOUNTS_SESSION_HANDLE_SIZE 17
#define ACCOUNTS_SOURCE_MAX 64		/* source address text kept */

/* TOTP and recovery codes. */
#define ACCOUNTS_RECOVERY_CODES 10
/* "xxxxx-xxxxx-xxxxx-xxxxx": 20 base32 characters, 100 bits. */
#define ACCOUNTS_RECOVERY_CODE_SIZE 24

/* API tokens: "zwg_" + 43 characters. */
#define ACCOUNTS_TOKEN_PREFIX_TEXT "zwg_"
#define ACCOUNTS_TOKEN_SECRET_SIZE (4 + 43 + 1)

/*
 * Opens the accounts on st (which the caller keeps open for as long as
 * acc lives), loads the token index, and makes the dummy hash that
 * unknown names are checked against (one Argon2 run).  0, -ENOMEM,
 * -EBADMSG (a record does not decode; e says which) or another store
 * error.
 */
int accounts_open(struct store *st, struct accounts **out, struct control_error *e);
void accounts_close(struct accounts *acc);
/* Re-reads what another process may have changed: the token index, and
 * for each user with sessions its role and generation (a removed user's
 * sessions, and sessions of an older generation, end).  0 or -errno. */
int accounts_reload(struct accounts *acc, struct control_error *e);

/* "admin" / "viewer" <-> the role; parse: 0 or -EINVAL with e set
 * (field "role"). */
const char *accounts_role_name(enum actor_role role);
int accounts_role_parse(const char *text, enum actor_role *out, struct control_error *e);
/* Users' and tokens' names; what is "user" or "token" for the message. */
bool accounts_name_valid(const char *what, const char *name, struct control_error *e)
	__attribute__((warn_unused_result));

/* ---- users ------------------------------------------------------------ */

struct accounts_user_info {
	char name[ACCOUNTS_NAME_MAX + 1];
	enum actor_role role;
	int64_t created;
	int64_t password_changed;
	bool totp_enabled;
	unsigned recovery_codes_left;
	unsigned sessions;		/* live sessions in this process */
};

/* -EEXIST if there is one; -EINVAL for a bad name, role or password
 * (ACCOUNTS_PASSWORD_MIN..MAX bytes, no control characters). */
int accounts_user_add(struct accounts *acc, const char *name, enum actor_role role,
		      const char *password, int64_t now, struct control_error *e);
/* Sorted by name; free(*out). */
int accounts_user_list(struct accounts *acc, struct accounts_user_info **out, size_t *n,
		       struct control_error *e);
int accounts_user_get(struct accounts *acc, const char *name, struct accounts_user_info *out,
		      struct control_error *e);
/* New password; bumps the user's generation: every session of the user
 * ends except keep_session (the id of the session that asked, or NULL). */
int accounts_user_passwd(struct accounts *acc, const char *name, const char *password,
			 const char *keep_session, int64_t now, struct control_error *e);
/* Removing or demoting the last admin is refused (-EBUSY): add another
 * admin first.  Removing ends the user's sessions. */
int accounts_user_remove(struct accounts *acc, const char *name, struct control_error *e);
int accounts_user_set_role(struct accounts *acc, const char *name, enum actor_role role,
			   struct control_error *e);
/* 1 if some user is an admin, 0 if none (the first `user add` or the
 * web's first-run page makes one), or -errno. */
int accounts_has_admin(struct accounts *acc);

/* ---- login -------------------------------------------------------------- */

/*
 * Signs in: on 0, *actor is the user (kind ACTOR_USER, via "web") and
 * session_id holds a new session's id (the cookie's value; wipe it).
 * code is NULL/"" or a 6-digit TOTP code or a recovery code.
 *   -EACCES  wrong name, password or code: one answer for all, and an
 *            unknown name costs the same Argon2 run as a known one
 *   -ENOKEY  the password was right, the user has 2FA, and code was
 *            empty: ask for the code and call again with all three
 *            (never answered for a wrong password)
 *   -EAGAIN  throttled (or too many hashes at once): *retry_after
 *            (may be NULL) is the seconds to wait, for Retry-After
 * source is the client's address as text (for throttling and the session
 * list); NULL counts as "unknown".  Every failure counts against the name
 * and the source.
 */
int accounts_login(struct accounts *acc, const char *name, const char *password,
		   const char *code, const char *source, int64_t now, struct actor *actor,
		   char session_id[ACCOUNTS_SESSION_ID_SIZE], int64_t *retry_after,
		   struct control_error *e);

/*
 * Checks a signed-in user's password again, before a sensitive change
 * (a new password, 2FA on or off), with the same throttle and answers as
 * accounts_login's password step (0, -EACCES, -EAGAIN); makes no session
 * and asks for no second factor.
 */
int accounts_reauth(struct accounts *acc, const char *name, const char *password,
		    const char *source, int64_t now, int64_t *retry_after,
		    struct control_error *e);

/*
 * Checks a second factor (a TOTP code or a recovery code, used up) of a
 * signed-in user with 2FA on, before turning it off, under the same
 * throttle as accounts_login: 0, -EACCES (wrong), -EAGAIN (throttled,
 * *retry_after set), -ENOENT (2FA is not on).  accounts_check.c.
 */
int accounts_second_factor_check(struct accounts *acc, const char *name, const char *code,
				 const char *source, int64_t now, int64_t *retry_after,
				 struct control_error *e);

/* ---- sessions ----------------------------------------------------------- */

struct accounts_session_info {
	char handle[ACCOUNTS_SESSION_HANDLE_SIZE];
	char user[ACCOUNTS_NAME_MAX + 1];
	int64_t created;
	int64_t last_seen;
	char source[ACCOUNTS_SOURCE_MAX];
};

/* 0 and *actor (ACTOR_USER, the user's current role), and the session's
 * last use set to now; -EACCES if the id is unknown, idle for over
 * ACCOUNTS_SESSION_IDLE, older than ACCOUNTS_SESSION_ABSOLUTE or revoked
 * (an expired session is dropped).  handle (may be NULL) gets its handle. */
int accounts_session_lookup(struct accounts *acc, const char *id, int64_t now,
			    struct actor *actor, char handle[ACCOUNTS_SESSION_HANDLE_SIZE]);
/* Ends the session with this id (logout).  0, or -ENOENT. */
int accounts_session_logout(struct accounts *acc, const char *id);
/* The live sessions of user (NULL: everyone's), oldest first; free(*out). */
int accounts_session_list(struct accounts *acc, const char *user, int64_t now,
			  struct accounts_session_info **out, size_t *n);
/* Ends user's session with this handle: 0 or -ENOENT. */
int accounts_session_revoke(struct accounts *acc, const char *user, const char *handle);
/* Ends every session of user but keep_session (an id, or NULL); the
 * number ended. */
size_t accounts_session_revoke_all(struct accounts *acc, const char *user,
				   const char *keep_session);
/* The handle of an id (to mark "this session" in a list). */
void accounts_session_handle(const char *id, char handle[ACCOUNTS_SESSION_HANDLE_SIZE]);

/* ---- TOTP --------------------------------------------------------------- */

/*
 * Starts enrolment: a new 160-bit secret, kept pending in the user's
 * record until confirmed (a pending one is replaced; an enabled one stays
 * in force until then).  *uri is a malloc'd
 * "otpauth://totp/zerowg:NAME?secret=BASE32&issuer=zerowg&algorithm=SHA1&digits=6&period=30"
 * for a QR code (render_qr) or to type in; release it with
 * accounts_secret_free().
 */
int accounts_totp_begin(struct accounts *acc, const char *name, char **uri,
			struct control_error *e);
/*
 * Enables the pending secret if code is right for it (now, +-1 step):
 * makes ACCOUNTS_RECOVERY_CODES new recovery codes, shown once: codes
 * gets them (wipe it).  Bumps the generation: sessions other than
 * keep_session end.  -EACCES wrong code, -ENOENT nothing pending.
 */
int accounts_totp_confirm(struct accounts *acc, const char *name, const char *code,
			  const char *keep_session, int64_t now,
			  char codes[ACCOUNTS_RECOVERY_CODES][ACCOUNTS_RECOVERY_CODE_SIZE],
			  struct control_error *e);
/* Turns 2FA off (the "2FA reset"): secret and recovery codes go, the
 * generation is bumped (sessions other than keep_session end).
 * -ENOENT if it was not on. */
int accounts_totp_disable(struct accounts *acc, const char *name, const char *keep_session,
			  struct control_error *e);
/* New recovery codes for a user with 2FA on (the old ones die). */
int accounts_recovery_regenerate(struct accounts *acc, const char *name,
				 char codes[ACCOUNTS_RECOVERY_CODES][ACCOUNTS_RECOVERY_CODE_SIZE],
				 struct control_error *e);

/* ---- API tokens ----------------------------------------------------------- */

struct accounts_token_info {
	char name[ACCOUNTS_NAME_MAX + 1];
	enum actor_role role;
	int64_t created;
	int64_t expires;	/* 0 = never */
	int64_t last_used;	/* 0 = never (kept to the hour in the store) */
};

/* A new token; secret gets "zwg_..." (shown once; wipe it).  expires: 0
 * or a unix time after now.  -EEXIST if the name is taken. */
int accounts_token_add(struct accounts *acc, const char *name, enum actor_role role,
		       int64_t expires, int64_t now,
		       char secret[ACCOUNTS_TOKEN_SECRET_SIZE], struct control_error *e);
int accounts_token_list(struct accounts *acc, struct accounts_token_info **out, size_t *n,
			struct control_error *e);
/* 0 or -ENOENT. */
int accounts_token_revoke(struct accounts *acc, const char *name, struct control_error *e);
/* The bearer's token: 0 and *actor (ACTOR_TOKEN, its role and name, via
 * "web"), or -EACCES (unknown, revoked, expired, malformed).  Compared
 * as SHA-256 hashes in constant time.  Works whether or not users have
 * 2FA: a token is a credential of its own. */
int accounts_token_verify(struct accounts *acc, const char *bearer, int64_t now,
			  struct actor *actor);

/* Wipes and frees a string this module returned (the otpauth URI). */
void accounts_secret_free(char *s);

#endif
