/*
 * store_backend.h - what store.c (the front: URI dispatch, argument checks,
 * the per-thread error message) and the backends (store_memory.c,
 * store_sealed.c with its record codec store_record.c and its file
 * operations store_file.c) share.  Private to src/store/ and its tests
 * and fuzz target; everything else uses store.h.
 *
 * A backend embeds struct store as the first member of its own struct and
 * fills in ops.  The front checks every key name and version argument
 * before calling an op, so ops may assume valid input.
 */
#ifndef ZWG_STORE_BACKEND_H
#define ZWG_STORE_BACKEND_H

#include "store.h"

/* The canary record store_create writes and store_open checks. */
#define STORE_META_KEY "meta"

struct store_ops {
	int (*get)(struct store *s, const char *key, uint8_t **val, size_t *len,
		   uint64_t *version);
	int (*put)(struct store *s, const char *key, const uint8_t *val, size_t len,
		   uint64_t expect, uint64_t *new_version);
	int (*del)(struct store *s, const char *key, uint64_t expect);
	int (*list)(struct store *s, const char *prefix, char ***keys, size_t *n);
	void (*close)(struct store *s);
};

struct store {
	const struct store_ops *ops;
	char *description;	/* "memory:" or "sealed:DIR"; owned */
};

/*
 * Records the message for the caller's last failed store call in this
 * thread (store_last_error) and returns err, so a backend writes
 * `return store_fail(-EBADMSG, "...", file)`.
 */
int store_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void store_clear_error(void);

/* The value of the `meta` canary, {"version":1,"created":UNIX}; heap, *len set. */
char *store_meta_value(size_t *len);

/* Backends.  meta != NULL creates (and writes meta as the canary); NULL
 * opens and checks the key against it.  The error text goes to
 * store_last_error(). */
int store_memory_open(const uint8_t *meta, size_t meta_len, struct store **out);
int store_sealed_open(const char *dir, const struct store_key *key,
		      const uint8_t *meta, size_t meta_len, struct store **out);

/*
 * The sealed record codec (store_record.c; the format is described in
 * store_sealed.c).  Keys derived from the unseal key live in secmem.
 */
#define SEALED_SUBKEY_LEN 32
#define SEALED_FILE_ID_LEN 32	/* HMAC-SHA256 of the record name */
#define SEALED_HEADER_LEN 32
#define SEALED_TAG_LEN 16
#define SEALED_NONCE_LEN 12
#define SEALED_MAX_FILE (SEALED_HEADER_LEN + 2 + STORE_KEY_NAME_MAX + STORE_MAX_VALUE_LEN + \
			 SEALED_TAG_LEN)

struct sealed_keys {
	uint8_t name_key[SEALED_SUBKEY_LEN];	/* HMAC key for file names */
	uint8_t record_key[SEALED_SUBKEY_LEN];	/* AES-256-GCM key for contents */
};

/* Derives both subkeys from the unseal key (HKDF-SHA256). 0 or -EIO. */
int sealed_keys_derive(struct sealed_keys *keys, const struct store_key *unseal);
/* The file id of a record name: HMAC-SHA256(name_key, name). 0 or -EIO. */
int sealed_file_id(const struct sealed_keys *keys, const char *name,
		   uint8_t id[SEALED_FILE_ID_LEN]);
/* Seals (name, value) at version into a new heap buffer *out (*out_len
 * bytes, ciphertext only).  0, -ENOMEM or -EIO. */
int sealed_record_seal(const struct sealed_keys *keys, const char *name,
		       const uint8_t *val, size_t len, uint64_t version,
		       uint8_t **out, size_t *out_len);
/*
 * Opens a record file's bytes.  expect_name: the name the record must hold
 * (NULL = any).  On success *name (may be NULL: not wanted) is a heap copy
 * of the name, *val and *len the value (heap, release with store_value_free;
 * val may be NULL: not wanted), *version the record version.
 * -EBADMSG if the bytes are not a record sealed under keys for expect_name
 * (wrong magic, unknown format, bad tag, wrong name inside); -ENOMEM.
 * Never touches the output pointers on failure.
 */
int sealed_record_open(const struct sealed_keys *keys, const uint8_t *buf, size_t buf_len,
		       const char *expect_name, char **name, uint8_t **val, size_t *len,
		       uint64_t *version);
/*
 * Files of a sealed store (store_file.c), relative to a directory fd.
 * store_file_open: opens DIR/fname (flags: O_RDONLY or O_RDWR, maybe
 *   O_CREAT, which makes it 0600) only if it is a regular file: never
 *   follows a symlink, never blocks on a FIFO, never opens a device.  The
 *   fd (O_CLOEXEC) and *st, or -ENOENT, -EBADMSG (not a regular file), or
 *   -errno.
 * store_file_kind: what DIR/fname is if it is there but not a regular
 *   file ("a FIFO", "a symbolic link", ...), for messages; NULL otherwise.
 * store_file_read: DIR/fname whole into a heap buffer; -ENOENT, -EFBIG
 *   (more than max bytes), -EBADMSG (not a regular file, e.g. a planted
 *   symlink or FIFO: store_file_kind says which), or -errno.
 * store_file_replace: buf becomes DIR/fname atomically and durably.  On
 *   failure *renamed says whether the new file is in place (only the
 *   directory fsync failed) or not (the old file is untouched and the temp
 *   file removed).
 * store_file_sweep: removes every STORE_FILE_TMP_PREFIX file, calling
 *   removed (may be NULL) for each; the count or -errno.  Call it only
 *   where no live writer can have a temp file (under the writers' lock).
 * store_file_mkdir: mkdir 0700 and fsync the parent; 0 or -errno (-EEXIST).
 * store_file_hex / store_file_unhex: lower-case hex of len bytes (out has
 *   room for 2 * len + 1); unhex wants exactly 2 * len digits and a NUL.
 */
#define STORE_FILE_TMP_PREFIX ".tmp-"
struct stat;
int store_file_open(int dirfd, const char *fname, int flags, struct stat *st);
const char *store_file_kind(int dirfd, const char *fname);
int store_file_read(int dirfd, const char *fname, size_t max, uint8_t **buf, size_t *len);
int store_file_replace(int dirfd, const char *fname, const uint8_t *buf, size_t len,
		       bool *renamed);
/* A file root creates in a directory someone else owns becomes that
 * owner's (fchown; nothing when not root).  0 or -errno. */
int store_file_give_to_dir_owner(int dirfd, int fd);
int store_file_sweep(int dirfd, void (*removed)(const char *fname, void *arg), void *arg);
int store_file_mkdir(const char *dir);
void store_file_hex(char *out, const uint8_t *in, size_t len);
bool store_file_unhex(uint8_t *out, const char *in, size_t len) __attribute__((warn_unused_result));

#endif
