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
	int (*generation)(struct store *s, uint64_t *gen);
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

/* The value of the `meta` canary, {"version":2,"created":UNIX}; heap, *len
 * set.  created = 0: now.  Version 2 says the store has a manifest (a
 * sealed store whose meta says 2 and has none lost it); a store from
 * before manifests has 1. */
#define STORE_META_VERSION 2
char *store_meta_value(size_t *len);
char *store_meta_value_at(long long created, size_t *len);
/* The "version" and "created" of a meta value (0 if absent). */
void store_meta_parse(const uint8_t *val, size_t len, long long *version, long long *created);

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

#define SEALED_DIGEST_LEN 32	/* SHA-256 of a record file's bytes */

struct sealed_keys {
	uint8_t name_key[SEALED_SUBKEY_LEN];	/* HMAC key for file names */
	uint8_t record_key[SEALED_SUBKEY_LEN];	/* AES-256-GCM key for contents */
	uint8_t manifest_key[SEALED_SUBKEY_LEN];	/* AES-256-GCM key for the manifest */
};

/* Derives the subkeys from the unseal key (HKDF-SHA256). 0 or -EIO. */
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
/* The same codec under any subkey, with values up to max_len bytes (the
 * manifest uses it with its own key and a larger bound). */
int sealed_blob_seal(const uint8_t key[SEALED_SUBKEY_LEN], size_t max_len, const char *name,
		     const uint8_t *val, size_t len, uint64_t version, uint8_t **out,
		     size_t *out_len);
int sealed_blob_open(const uint8_t key[SEALED_SUBKEY_LEN], size_t max_len, const uint8_t *buf,
		     size_t buf_len, const char *expect_name, char **name, uint8_t **val,
		     size_t *len, uint64_t *version);
/* SHA-256 of a sealed file's bytes, as the manifest records it. 0 or -EIO. */
int sealed_digest(const uint8_t *buf, size_t len, uint8_t out[SEALED_DIGEST_LEN]);

/*
 * The manifest of a sealed store (store_manifest.c; its part in the
 * store's consistency is described in store_sealed.c): every record's name,
 * version and file digest, and the store's generation, which is the
 * manifest record's own version (so it sits in the authenticated header).
 * Entries are sorted by name (strcmp).  An entry whose state is
 * MANIFEST_DELETING is a tombstone: the record is deleted, and a file with
 * exactly that digest is the leftover of the delete, removed by the next
 * writer; any other file of that name is foreign.
 */
#define MANIFEST_NAME "manifest"	/* the record name sealed inside */
#define MANIFEST_MAX_VALUE (16u << 20)
enum manifest_state {
	MANIFEST_LIVE = 0,
	MANIFEST_DELETING = 1,
};
struct manifest_entry {
	char *name;
	uint64_t version;
	uint8_t digest[SEALED_DIGEST_LEN];
	uint8_t state;		/* enum manifest_state */
};
struct manifest {
	uint64_t generation;	/* 0: none written yet */
	struct manifest_entry *v;
	size_t n, cap;
};
void manifest_init(struct manifest *m);
void manifest_free(struct manifest *m);
/* 0 or -ENOMEM (dst is then empty).  dst must be initialised. */
int manifest_copy(struct manifest *dst, const struct manifest *src);
/* The entry of name (live or tombstone), or NULL. */
struct manifest_entry *manifest_find(const struct manifest *m, const char *name);
/* Adds or replaces the entry of name.  0 or -ENOMEM (m unchanged). */
int manifest_set(struct manifest *m, const char *name, uint64_t version,
		 const uint8_t digest[SEALED_DIGEST_LEN], enum manifest_state state);
void manifest_remove(struct manifest *m, const char *name);
/* Seals m (at m->generation, >= 1) for the file.  0, -ENOMEM, -EIO,
 * -EMSGSIZE (more entries than MANIFEST_MAX_VALUE holds). */
int manifest_seal(const struct sealed_keys *keys, const struct manifest *m, uint8_t **out,
		  size_t *out_len);
/* Opens a manifest file's bytes into m (initialised, replaced on success,
 * untouched on failure).  -EBADMSG if they are not a manifest sealed under
 * keys, or one whose entries are malformed (bad names, not sorted, a
 * duplicate, an unknown state); -ENOMEM. */
int manifest_open(const struct sealed_keys *keys, const uint8_t *buf, size_t len,
		  struct manifest *m);
/* The same for the value inside (authentic already) at generation gen. */
int manifest_parse(const uint8_t *val, size_t len, uint64_t gen, struct manifest *m);

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
/* As store_file_read, and *st (may be NULL) is the fstat of the file read. */
int store_file_read_st(int dirfd, const char *fname, size_t max, uint8_t **buf, size_t *len,
		       struct stat *st);
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
