/*
 * accounts.c - users and sign-in: opening the module, the user
 * operations (add, list, passwd, remove, set-role), Argon2id password
 * hashes, and accounts_login(), which ties together the throttle
 * (accounts_throttle.c), the second factor (accounts_totp.c) and the
 * session table (accounts_session.c).  The records themselves are
 * accounts_record.c's.  See accounts.h for the interface and
 * docs/accounts.md for the design.
 *
 * Relies on libargon2 (argon2id_hash_encoded / argon2id_verify, whose
 * comparison is constant time).  Every buffer that held a password is the
 * caller's; the hash is not a secret the way a password is, but records
 * are wiped on free all the same.
 */
#include "accounts_internal.h"
#include "store.h"

#include <argon2.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SALT_LEN 16
#define HASH_LEN 32
#define ENCODED_MAX 192
#define HASH_SLOT_WAIT 2	/* seconds a login waits for an Argon2 slot */

/* The password rules; the message never quotes it. */
static int password_check(const char *name, const char *pw, struct control_error *e)
{
	size_t i, len = pw ? strlen(pw) : 0;

	if (len < ACCOUNTS_PASSWORD_MIN) {
		control_error_set(e, "password", "the password is %zu characters long; use at "
				  "least %d (a passphrase of a few words is easiest)", len,
				  ACCOUNTS_PASSWORD_MIN);
		return -EINVAL;
	}
	if (len > ACCOUNTS_PASSWORD_MAX) {
		control_error_set(e, "password", "the password is longer than %d bytes",
				  ACCOUNTS_PASSWORD_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pw[i];

		if (c < 0x20 || c == 0x7f) {
			control_error_set(e, "password", "the password has a control character at "
					  "position %zu (use printable characters)", i + 1);
			return -EINVAL;
		}
	}
	if (name && !strcmp(name, pw)) {
		control_error_set(e, "password", "the password is the user name; choose another");
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------- argon2 -- */

/* Takes one of ACCOUNTS_MAX_HASHING slots: 0, or -EAGAIN after waiting
 * HASH_SLOT_WAIT seconds (a flood of logins must not take the memory of
 * 100 Argon2 runs at once). */
static int hash_slot_take(struct accounts *acc)
{
	struct timespec until;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HASH_SLOT_WAIT;
	pthread_mutex_lock(&acc->lock);
	while (acc->hashing >= ACCOUNTS_MAX_HASHING && ret == 0)
		if (pthread_cond_timedwait(&acc->hash_slot, &acc->lock, &until) == ETIMEDOUT)
			ret = -EAGAIN;
	if (acc->hashing < ACCOUNTS_MAX_HASHING) {
		acc->hashing++;
		ret = 0;
	}
	pthread_mutex_unlock(&acc->lock);
	return ret;
}

static void hash_slot_give(struct accounts *acc)
{
	pthread_mutex_lock(&acc->lock);
	acc->hashing--;
	pthread_cond_signal(&acc->hash_slot);
	pthread_mutex_unlock(&acc->lock);
}

/* *out: malloc'd encoded hash of pw.  0, -EAGAIN, -ENOMEM or -EIO. */
static int password_hash(struct accounts *acc, const char *pw, char **out)
{
	uint8_t salt[SALT_LEN];
	char enc[ENCODED_MAX];
	int ret, r;

	ret = acc_random(salt, sizeof(salt));
	if (ret < 0)
		return ret;
	ret = hash_slot_take(acc);
	if (ret < 0)
		return ret;
	r = argon2id_hash_encoded(acc->argon2_t, acc->argon2_m_kib, ACCOUNTS_ARGON2_P, pw,
				  strlen(pw), salt, sizeof(salt), HASH_LEN, enc, sizeof(enc));
	hash_slot_give(acc);
	if (r != ARGON2_OK)
		return r == ARGON2_MEMORY_ALLOCATION_ERROR ? -ENOMEM : -EIO;
	*out = strdup(enc);
	explicit_bzero(enc, sizeof(enc));
	return *out ? 0 : -ENOMEM;
}

/* 0 if pw matches encoded, -EACCES if not, -EAGAIN if no slot came free. */
static int password_verify(struct accounts *acc, const char *encoded, const char *pw)
{
	int ret, r;

	ret = hash_slot_take(acc);
	if (ret < 0)
		return ret;
	r = argon2id_verify(encoded, pw, strlen(pw));
	hash_slot_give(acc);
	return r == ARGON2_OK ? 0 : -EACCES;
}

/* ------------------------------------------------------- open, close -- */

int accounts_open(struct store *st, struct accounts **out, struct control_error *e)
{
	struct accounts *acc;
	uint8_t pw[32];
	char text[44];
	int ret;

	*out = NULL;
	model_json_wipe_on_free();
	acc = calloc(1, sizeof(*acc));
	if (!acc)
		goto nomem;
	acc->st = st;
	acc->argon2_t = ACCOUNTS_ARGON2_T;
	acc->argon2_m_kib = ACCOUNTS_ARGON2_M_KIB;
#ifdef ZWG_TESTING
	{
		/* Test builds only: cheap hashes, so that tests can sign in
		 * hundreds of times.  The production binary has no knob. */
		const char *m = getenv("ZWG_TEST_ARGON2_KIB");

		if (m && atoi(m) >= 8) {
			acc->argon2_m_kib = (uint32_t)atoi(m);
			acc->argon2_t = 1;
		}
	}
#endif
	pthread_mutex_init(&acc->lock, NULL);
	pthread_cond_init(&acc->hash_slot, NULL);
	acc->sessions = calloc(ACCOUNTS_SESSION_MAX, sizeof(*acc->sessions));
	acc->by_name = calloc(ACC_THROTTLE_SLOTS, sizeof(*acc->by_name));
	acc->by_source = calloc(ACC_THROTTLE_SLOTS, sizeof(*acc->by_source));
	if (!acc->sessions || !acc->by_name || !acc->by_source)
		goto nomem;
	/* Unknown names are checked against this, so that they cost what
	 * a known name costs. */
	ret = acc_random(pw, sizeof(pw));
	if (ret == 0) {
		acc_base64url(pw, sizeof(pw), text);
		ret = password_hash(acc, text, &acc->dummy_hash);
		explicit_bzero(text, sizeof(text));
		explicit_bzero(pw, sizeof(pw));
	}
	if (ret < 0) {
		control_error_set(e, NULL, "cannot make the accounts' dummy hash: %s",
				  strerror(-ret));
		accounts_close(acc);
		return ret;
	}
	ret = acc_token_index_load(acc, e);
	if (ret < 0) {
		accounts_close(acc);
		return ret;
	}
	*out = acc;
	return 0;
nomem:
	control_error_set(e, NULL, "out of memory");
	accounts_close(acc);
	return -ENOMEM;
}

void accounts_close(struct accounts *acc)
{
	if (!acc)
		return;
	if (acc->sessions)
		explicit_bzero(acc->sessions, ACCOUNTS_SESSION_MAX * sizeof(*acc->sessions));
	if (acc->tokens)
		explicit_bzero(acc->tokens, acc->n_tokens * sizeof(*acc->tokens));
	free(acc->sessions);
	free(acc->tokens);
	free(acc->by_name);
	free(acc->by_source);
	free(acc->dummy_hash);
	pthread_cond_destroy(&acc->hash_slot);
	pthread_mutex_destroy(&acc->lock);
	free(acc);
}

int accounts_reload(struct accounts *acc, struct control_error *e)
{
	char (*names)[ACCOUNTS_NAME_MAX + 1] = NULL;
	size_t i, n = 0;
	int ret;

	ret = acc_token_index_load(acc, e);
	if (ret < 0)
		return ret;
	ret = acc_session_users(acc, &names, &n);
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++) {
		struct acc_user u;

		ret = acc_user_load(acc, names[i], &u, NULL, NULL);
		if (ret == 0) {
			acc_session_user_changed(acc, names[i], &u);
			acc_user_free(&u);
		} else if (ret == -ENOENT || ret == -EBADMSG) {
			acc_session_user_changed(acc, names[i], NULL);
		}
	}
	free(names);
	return 0;
}

void accounts_secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* -------------------------------------------------------------- users -- */

static void user_info(struct accounts *acc, const struct acc_user *u,
		      struct accounts_user_info *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", u->name);
	out->role = u->role;
	out->created = u->created;
	out->password_changed = u->password_changed;
	out->totp_enabled = u->totp_enabled;
	out->recovery_codes_left = u->totp_enabled ? u->n_recovery : 0;
	out->sessions = acc_session_count(acc, u->name);
}

int accounts_user_add(struct accounts *acc, const char *name, enum actor_role role,
		      const char *password, int64_t now, struct control_error *e)
{
	struct acc_user u;
	int ret;

	memset(&u, 0, sizeof(u));
	if (!accounts_name_valid("user", name, e))
		return -EINVAL;
	if (role != ROLE_ADMIN && role != ROLE_VIEWER) {
		control_error_set(e, "role", "a user is an admin or a viewer");
		return -EINVAL;
	}
	ret = password_check(name, password, e);
	if (ret < 0)
		return ret;
	snprintf(u.name, sizeof(u.name), "%s", name);
	u.role = role;
	u.created = now;
	u.password_changed = now;
	u.generation = 1;
	ret = password_hash(acc, password, &u.password_hash);
	if (ret < 0) {
		control_error_set(e, NULL, "cannot hash the password: %s", strerror(-ret));
		return ret;
	}
	ret = acc_user_write(acc, &u, STORE_NEW, e);
	acc_user_free(&u);
	return ret;
}

static int cmp_user_info(const void *a, const void *b)
{
	return strcmp(((const struct accounts_user_info *)a)->name,
		      ((const struct accounts_user_info *)b)->name);
}

/* With skip_damaged, a record that does not decode is left out (so that
 * the last-admin checks do not stand in the way of removing it). */
static int user_list(struct accounts *acc, bool skip_damaged, struct accounts_user_info **out,
		     size_t *n, struct control_error *e)
{
	struct accounts_user_info *v = NULL;
	char **keys = NULL;
	size_t i, nk = 0, m = 0;
	int ret;

	*out = NULL;
	*n = 0;
	ret = store_list(acc->st, ACCOUNTS_USER_PREFIX, &keys, &nk);
	if (ret < 0) {
		acc_store_error(e, "listing users", ret);
		return ret;
	}
	v = calloc(nk ? nk : 1, sizeof(*v));
	if (!v) {
		store_list_free(keys, nk);
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < nk; i++) {
		struct acc_user u;

		ret = acc_user_load(acc, keys[i] + strlen(ACCOUNTS_USER_PREFIX), &u, NULL, e);
		if (ret == -ENOENT || (ret == -EBADMSG && skip_damaged))
			continue;	/* removed since the listing; damaged */
		if (ret < 0) {
			free(v);
			store_list_free(keys, nk);
			return ret;
		}
		user_info(acc, &u, &v[m++]);
		acc_user_free(&u);
	}
	store_list_free(keys, nk);
	qsort(v, m, sizeof(*v), cmp_user_info);
	*out = v;
	*n = m;
	return 0;
}

int accounts_user_list(struct accounts *acc, struct accounts_user_info **out, size_t *n,
		       struct control_error *e)
{
	return user_list(acc, false, out, n, e);
}

int accounts_user_get(struct accounts *acc, const char *name, struct accounts_user_info *out,
		      struct control_error *e)
{
	struct acc_user u;
	int ret = acc_user_load(acc, name, &u, NULL, e);

	if (ret < 0)
		return ret;
	user_info(acc, &u, out);
	acc_user_free(&u);
	return 0;
}

struct passwd_ctx {
	char *hash;
	int64_t now;
};

static int do_passwd(struct acc_user *u, void *p)
{
	struct passwd_ctx *c = p;
	char *old = u->password_hash;

	u->password_hash = c->hash;
	c->hash = old;		/* freed (wiped) by the caller */
	u->password_changed = c->now;
	u->generation++;
	return 0;
}

int accounts_user_passwd(struct accounts *acc, const char *name, const char *password,
			 const char *keep_session, int64_t now, struct control_error *e)
{
	struct passwd_ctx c = { .now = now };
	struct acc_user u;
	int ret;

	if (!accounts_name_valid("user", name, e))
		return -EINVAL;
	ret = password_check(name, password, e);
	if (ret < 0)
		return ret;
	ret = password_hash(acc, password, &c.hash);
	if (ret < 0) {
		control_error_set(e, NULL, "cannot hash the password: %s", strerror(-ret));
		return ret;
	}
	ret = acc_user_update(acc, name, do_passwd, &c, &u, e);
	accounts_secret_free(c.hash);
	if (ret < 0)
		return ret;
	acc_session_generation(acc, &u, keep_session);
	acc_user_free(&u);
	return 0;
}

/* Is name the only admin?  1 yes, 0 no, or -errno. */
static int last_admin(struct accounts *acc, const char *name, struct control_error *e)
{
	struct accounts_user_info *v;
	size_t i, n;
	int ret, others = 0, self = 0;

	ret = user_list(acc, true, &v, &n, e);
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++) {
		if (v[i].role != ROLE_ADMIN)
			continue;
		if (!strcmp(v[i].name, name))
			self = 1;
		else
			others++;
	}
	free(v);
	return self && !others;
}

int accounts_user_remove(struct accounts *acc, const char *name, struct control_error *e)
{
	char key[sizeof(ACCOUNTS_USER_PREFIX) + ACCOUNTS_NAME_MAX];
	int ret;

	if (!accounts_name_valid("user", name, e))
		return -EINVAL;
	ret = last_admin(acc, name, e);
	if (ret < 0)
		return ret;
	if (ret) {
		control_error_set(e, "name", "\"%s\" is the last admin; add another admin first "
				  "(zerowg user add NAME --role admin)", name);
		return -EBUSY;
	}
	snprintf(key, sizeof(key), ACCOUNTS_USER_PREFIX "%s", name);
	ret = store_delete(acc->st, key, STORE_ANY_VERSION);
	if (ret == -ENOENT)
		control_error_set(e, "name", "there is no user \"%s\" (see `zerowg user list`)",
				  name);
	else if (ret < 0)
		acc_store_error(e, "removing the user", ret);
	/* Its sessions end even if the record was already gone. */
	acc_session_user_changed(acc, name, NULL);
	return ret;
}

static int do_set_role(struct acc_user *u, void *p)
{
	enum actor_role role = *(enum actor_role *)p;

	if (u->role == role)
		return 1;
	u->role = role;
	return 0;
}

int accounts_user_set_role(struct accounts *acc, const char *name, enum actor_role role,
			   struct control_error *e)
{
	struct acc_user u;
	int ret;

	if (role != ROLE_ADMIN && role != ROLE_VIEWER) {
		control_error_set(e, "role", "a user is an admin or a viewer");
		return -EINVAL;
	}
	if (role != ROLE_ADMIN) {
		ret = last_admin(acc, name, e);
		if (ret < 0)
			return ret;
		if (ret) {
			control_error_set(e, "role", "\"%s\" is the last admin; make another user "
					  "admin first", name);
			return -EBUSY;
		}
	}
	ret = acc_user_update(acc, name, do_set_role, &role, &u, e);
	if (ret < 0)
		return ret;
	acc_session_user_changed(acc, name, &u);
	acc_user_free(&u);
	return 0;
}

int accounts_has_admin(struct accounts *acc)
{
	struct accounts_user_info *v;
	size_t i, n;
	int ret, found = 0;

	ret = user_list(acc, true, &v, &n, NULL);
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++)
		found |= v[i].role == ROLE_ADMIN;
	free(v);
	return found;
}

/* -------------------------------------------------------------- login -- */

/*
 * The password step both accounts_login and accounts_reauth take: the
 * throttle, then one Argon2 run whether or not the name exists.  0 with
 * *u loaded (release it), -EACCES (counted as a failure), -EAGAIN, or a
 * store error; e is set for every failure.
 */
static int first_factor(struct accounts *acc, const char *name, const char *password,
			const char *source, int64_t now, struct acc_user *u,
			int64_t *retry_after, struct control_error *e)
{
	char src_key[ACC_THROTTLE_KEY_MAX], tname[ACCOUNTS_NAME_MAX + 1];
	int64_t wait;
	bool known;
	int ret;

	memset(u, 0, sizeof(*u));
	if (retry_after)
		*retry_after = 0;
	snprintf(tname, sizeof(tname), "%s", name);
	acc_throttle_source_key(source, src_key, sizeof(src_key));
	pthread_mutex_lock(&acc->lock);
	wait = acc_throttle_wait(acc, tname, src_key, now);
	pthread_mutex_unlock(&acc->lock);
	if (wait > 0) {
		if (retry_after)
			*retry_after = wait;
		control_error_set(e, NULL, "too many failed sign-ins; try again in %lld s",
				  (long long)wait);
		return -EAGAIN;
	}
	/* Known or not, one Argon2 run: a name's existence costs nothing
	 * to look at from outside.  Only a store failure other than
	 * "no such user" ends it here. */
	ret = acc_user_load(acc, name, u, NULL, NULL);
	known = ret == 0;
	if (ret < 0 && ret != -ENOENT && ret != -EINVAL && ret != -EBADMSG) {
		acc_store_error(e, "reading the user", ret);
		return ret;
	}
	ret = password_verify(acc, known ? u->password_hash : acc->dummy_hash, password);
	if (ret == 0 && !known)
		ret = -EACCES;	/* cannot happen: the dummy's password is random */
	if (ret == 0)
		return 0;
	acc_user_free(u);
	if (ret == -EAGAIN) {
		if (retry_after)
			*retry_after = 1;
		control_error_set(e, NULL, "the server is busy checking other sign-ins; try "
				  "again in a second");
		return ret;
	}
	acc_throttle_failed(acc, name, source, now, e);
	return -EACCES;
}

void acc_throttle_failed(struct accounts *acc, const char *name, const char *source,
			 int64_t now, struct control_error *e)
{
	char src_key[ACC_THROTTLE_KEY_MAX], tname[ACCOUNTS_NAME_MAX + 1];

	snprintf(tname, sizeof(tname), "%s", name);
	acc_throttle_source_key(source, src_key, sizeof(src_key));
	pthread_mutex_lock(&acc->lock);
	acc_throttle_fail(acc, tname, src_key, now);
	pthread_mutex_unlock(&acc->lock);
	control_error_set(e, NULL, "wrong user name, password or code");
}

int accounts_login(struct accounts *acc, const char *name, const char *password,
		   const char *code, const char *source, int64_t now, struct actor *actor,
		   char session_id[ACCOUNTS_SESSION_ID_SIZE], int64_t *retry_after,
		   struct control_error *e)
{
	char tname[ACCOUNTS_NAME_MAX + 1];
	struct acc_user u;
	int ret;

	memset(actor, 0, sizeof(*actor));
	session_id[0] = '\0';
	if (!name)
		name = "";
	ret = first_factor(acc, name, password ? password : "", source, now, &u, retry_after, e);
	if (ret < 0)
		return ret;
	if (u.totp_enabled) {
		if (!code || !*code) {
			/* The password was right: ask for the second factor.
			 * Not counted as a failure, nor as a success. */
			acc_user_free(&u);
			control_error_set(e, "code", "enter the code from your authenticator app, "
					  "or a recovery code");
			return -ENOKEY;
		}
		struct control_error fe;

		control_error_clear(&fe);
		ret = acc_second_factor(acc, u.name, u.generation, code, now, &fe);
		if (ret == -EACCES) {
			acc_user_free(&u);
			acc_throttle_failed(acc, name, source, now, e);
			/* Field "code": the password was right (for the
			 * audit log; the answer says the same for all). */
			control_error_set(e, "code", "%s", fe.msg);
			return ret;
		}
	}
	if (ret == 0)
		ret = acc_session_create(acc, &u, source, now, session_id);
	if (ret < 0) {
		acc_user_free(&u);
		control_error_set(e, NULL, "cannot sign in: %s", strerror(-ret));
		return ret;
	}
	snprintf(tname, sizeof(tname), "%s", name);
	pthread_mutex_lock(&acc->lock);
	acc_throttle_success(acc, tname);
	pthread_mutex_unlock(&acc->lock);
	acc_actor(actor, ACTOR_USER, u.name, u.role);
	acc_user_free(&u);
	return 0;
}

int accounts_reauth(struct accounts *acc, const char *name, const char *password,
		    const char *source, int64_t now, int64_t *retry_after,
		    struct control_error *e)
{
	struct acc_user u;
	int ret;

	ret = first_factor(acc, name ? name : "", password ? password : "", source, now, &u,
			   retry_after, e);
	if (ret == 0)
		acc_user_free(&u);
	return ret;
}
