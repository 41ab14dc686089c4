/*
 * store.h - the secret store: every private key, preshared key and peer
 * record of zerowg lives here and nowhere else (DESIGN.md, "store/").
 *
 * One small key-value interface over several backends:
 *   sealed:DIR   the default: each record AEAD-encrypted at rest in DIR with
 *                a fresh nonce per write, atomic replace + fsync, writers
 *                serialised by a lock file; record names are not visible
 *                on disk; a sealed manifest of every record's version and
 *                digest makes a rolled-back, deleted, added or mixed-in
 *                record file an error.  Needs the unseal key (struct
 *                store_key).  An epoch file outside DIR
 *                (ZEROWG_STORE_EPOCH_FILE=PATH) also catches the whole
 *                directory put back from an older copy (docs/server.md).
 *   memory:      nothing survives the process (tests, ephemeral nodes).
 * etcd and Vault/OpenBao KV v2 fit the same interface later: versions map
 * to etcd mod_revision and to Vault's cas parameter.
 *
 * Keys are printable ASCII paths ("server", "peers/phone"), 1..255 bytes,
 * [A-Za-z0-9._/-] only.  Values are opaque bytes (zerowg stores JSON).
 * Every value returned is heap memory the caller releases with
 * store_value_free(), which wipes it: values hold secrets.
 *
 * Errors: 0 or -errno.  -ENOENT no such key; -ESTALE compare-and-swap
 * mismatch; -EBADMSG a record failed authentication (tampered or corrupt;
 * the message names the file), or is not the one the store's manifest
 * names (an older or newer copy, a deleted record's file put back, one
 * from another store, a file missing: the message names the record and
 * says which), or the store was rolled back (manifest missing, or its
 * generation below one seen or the epoch file's), or a file of a sealed
 * store is not a regular file (a FIFO, symlink, socket or device: refused
 * without opening it); -EKEYREJECTED wrong unseal key; -EINVAL a bad
 * key name; -EMSGSIZE a value over STORE_MAX_VALUE_LEN; -EPERM deleting
 * the `meta` canary, a handle used after fork(), or opening a sealed store
 * that belongs to another user (root excepted) or that its group or others
 * may write; -EBUSY another process
 * held the writers' lock for 10 s; -EIO/-ENOSPC/-EFBIG/-EROFS/-EACCES from
 * the disk (the record on disk is then the old one, intact).  No function
 * ever falls back to plaintext.  store_last_error() gives the message for
 * a person about the last failure in the calling thread (it names the file).
 *
 * Concurrency: a struct store may be used from several threads (each
 * backend serialises internally); several processes may open the same
 * sealed directory (writers take an exclusive lock file).  A handle does
 * not survive fork(): its keys are in wipe-on-fork memory, and a sealed
 * handle used in the child fails with -EPERM; open the store again there.
 */
#ifndef ZWG_STORE_H
#define ZWG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STORE_KEY_LEN 32	/* the unseal key */
#define STORE_ANY_VERSION UINT64_MAX	/* put/delete without a CAS check */
#define STORE_NEW 0		/* put only if the key does not exist */
#define STORE_KEY_NAME_MAX 255
#define STORE_MAX_VALUE_LEN (1u << 20)	/* 1 MiB per record */

struct store;

/* The unseal key, in locked memory (secmem), wiped by store_key_free. */
struct store_key {
	uint8_t bytes[STORE_KEY_LEN];
};
struct store_key *store_key_new(void);		/* zeroed, locked; NULL on ENOMEM */
void store_key_free(struct store_key *k);
/* Fills k with 32 bytes from the kernel CSPRNG (for `zerowg init`). 0 or -EIO. */
int store_key_generate(struct store_key *k);
/* false if k is plainly not 32 random bytes: fewer than 16 distinct byte
 * values (a constant or repeated pattern), all printable text (a password
 * given raw), or bytes counting in equal steps; why (may be NULL) then
 * says which, without quoting the key.  A random key fails with
 * probability under 5e-14 (store_key.c). */
bool store_key_looks_random(const struct store_key *k, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/*
 * Where the unseal key comes from, tried in this order by
 * store_key_load(): an inherited file descriptor (--key-fd N: 32 raw bytes
 * or base64 text), a systemd credential ($CREDENTIALS_DIRECTORY/NAME, the
 * production path: `systemd-creds encrypt` keeps it encrypted on disk, and
 * systemd decrypts it into a non-swappable ramfs only for the service), the
 * kernel keyring (a "user" key, by default "zerowg:unseal", in the user or
 * session keyring), or an interactive prompt on the terminal (base64, not
 * echoed).  The key never comes from, nor is written into, the data
 * directory.
 */
struct store_key_source {
	int fd;				/* -1 = not given */
	const char *credential_name;	/* NULL = "zerowg-unseal-key" */
	const char *keyring_desc;	/* NULL = "zerowg:unseal" */
	bool allow_prompt;
};
/* 0 and *out set, or -ENOKEY if no source had a key (the message says
 * which sources were tried), or another -errno.  *where names the source
 * used ("fd 3", "credential zerowg-unseal-key", "kernel keyring", "prompt");
 * it points to static storage of the calling thread, valid until its next
 * call.  A source that is given but holds no valid key (fd or credential
 * file with bad content) is an error, not skipped: the key the operator
 * pointed at is wrong, and silently using another one would hide that.
 * Every source takes 32 raw bytes, or base64 text (44 characters, as
 * `wg genkey` prints), or hex (64 characters), each with an optional
 * trailing newline.  A key that is not random (store_key_looks_random:
 * a password, a constant) is refused with -EINVAL, whichever source and
 * form it came in.  The fd is read to end of file and left open. */
int store_key_load(const struct store_key_source *src, struct store_key **out,
		   const char **where, char *err, size_t errlen);
/* Puts a key into the user keyring under desc (for `zerowg init --keyring`),
 * read-only (view/read/search) for its owner (uid) and possessors, and
 * expiring after a week; a read-only key of an earlier call is replaced.
 * NULL desc = "zerowg:unseal".
 * 0 or -errno (-EPERM/-ENOSYS where a seccomp filter denies keyrings). */
int store_key_to_keyring(const struct store_key *k, const char *desc);
/*
 * A key found in the kernel keyring, to be forgotten at a clean stop:
 * `zerowg init --keyring` leaves it there for this boot, and a server that
 * stopped cleanly no longer needs it (issue 12).  hold() finds desc (NULL
 * = "zerowg:unseal") where store_key_load() found it (@u, else @s),
 * records the key's and its ring's serials, and links the ring into the
 * process keyring, so that the process may still unlink from it after
 * dropping to another uid.  Call it with the key just loaded, before the
 * drop.  0, -ENOKEY, or -errno.  forget() invalidates the key (out of
 * every keyring at once, then destroyed), or at least unlinks it from its
 * ring: 0 or -errno.  The server's seccomp filter allows exactly these
 * two calls (sandbox.h).
 */
#define STORE_KEY_FROM_KEYRING "kernel keyring"	/* store_key_load's *where */
struct store_keyring_ref {
	int32_t key, ring;		/* serials; 0 = none */
};
int store_key_keyring_hold(const char *desc, struct store_keyring_ref *ref);
int store_key_keyring_forget(const struct store_keyring_ref *ref);
/* base64 text of the key (44 chars + NUL) for showing it once. */
void store_key_to_base64(const struct store_key *k, char out[45]);
/* 0, or -EINVAL if text is not exactly one base64 key (a trailing
 * newline is allowed); k is untouched on failure. */
int store_key_from_base64(struct store_key *k, const char *text);

/*
 * Creates a new store at uri ("sealed:/var/lib/zerowg", "memory:") sealed
 * with key; -EEXIST if one is already there.  Opening checks the key
 * against a canary record written by create (-EKEYREJECTED if wrong).
 * err (may be NULL) receives a message for a person: it names the file and
 * suggests the fix.  Opening a sealed store: -ENOENT if DIR or its meta is
 * missing ("no store at DIR: run `zerowg init`"), -EKEYREJECTED for a wrong
 * key.  "memory:" needs no key (NULL is fine): create and open both give a
 * new empty store holding only `meta`, as nothing survives a process.
 */
int store_create(const char *uri, const struct store_key *key, struct store **out,
		 char *err, size_t errlen);
int store_open(const char *uri, const struct store_key *key, struct store **out,
	       char *err, size_t errlen);
void store_close(struct store *s);

/*
 * Before a server started as root drops to its own user (uid, gid): a
 * sealed store owned by root becomes that user's (the directory and the
 * regular files in it; nothing is followed).  One owned by the user
 * already is left alone; one owned by anyone else is refused (-EPERM,
 * with the fix in err).  memory: and a missing directory: 0 (opening
 * says what is wrong).
 */
int store_hand_over(const char *uri, uid_t uid, gid_t gid, char *err, size_t errlen);

/* 1..STORE_KEY_NAME_MAX bytes of [A-Za-z0-9._/-]. */
bool store_key_name_valid(const char *key) __attribute__((warn_unused_result));

/* *version is the record's version (>= 1), for compare-and-swap.  val,
 * len and version may each be NULL (e.g. only the version is wanted). */
int store_get(struct store *s, const char *key, uint8_t **val, size_t *len, uint64_t *version);
/* expect: STORE_ANY_VERSION, STORE_NEW, or the version last read.  On
 * success *new_version (may be NULL) is the version written.  An
 * acknowledged put survives kill -9 and power loss (fsync of the file and
 * the directory). */
int store_put(struct store *s, const char *key, const uint8_t *val, size_t len,
	      uint64_t expect, uint64_t *new_version);
/* expect: STORE_ANY_VERSION or the version last read (STORE_NEW is
 * -EINVAL); -ENOENT if there is no such record.  A record whose file fails
 * authentication or does not match the manifest cannot be overwritten, but
 * can be deleted with STORE_ANY_VERSION: the way out for a damaged,
 * rolled-back, missing or foreign record.  A record created
 * again after a delete starts over at version 1. */
int store_delete(struct store *s, const char *key, uint64_t expect);
/* Keys starting with prefix ("" = all), sorted (strcmp); free with
 * store_list_free.  Fails (-EBADMSG) if any record file in the store is
 * not the manifest's (one it does not list, one missing, one that is not
 * a regular file), whatever the prefix, rather than hide it. */
int store_list(struct store *s, const char *prefix, char ***keys, size_t *n);
void store_list_free(char **keys, size_t n);
void store_value_free(uint8_t *val, size_t len);

/* The store's generation: 1 once created, +1 for every put and delete
 * (sealed: the manifest's, shared by every process writing the store;
 * memory: this handle's).  It never goes down; an operator can keep it
 * outside the store (ZEROWG_STORE_EPOCH_FILE) to see a whole-store
 * rollback.  0 or -errno (-EBADMSG: the manifest is missing, rolled back or
 * tampered with; store_last_error says which). */
int store_generation(struct store *s, uint64_t *gen);

/* The backend name ("sealed", "memory") and, for sealed, the directory. */
const char *store_describe(const struct store *s);

/* The message for a person about the last failed store call of the calling
 * thread ("" if none): e.g. `record file /var/lib/zerowg/3fa0... failed
 * authentication (tampered or corrupt)`.  Valid until the thread's next
 * store call. */
const char *store_last_error(void);

#endif
