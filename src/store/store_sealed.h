/*
 * store_sealed.h - what the three files of the sealed backend share
 * (private to src/store/): store_sealed.c (the operations, the locks and
 * the order of writes: the design is in its first comment),
 * store_sealed_check.c (what the manifest says against what the files
 * are, the epoch file, the messages that name what is wrong) and
 * store_sealed_open.c (create, open, the checks of the directory and the
 * key, the upgrade of a store from before manifests).
 *
 * Lock order: sealed_store.lock, then the flock on DIR/.lock, then
 * sealed_store.mlock (the cached manifest), which is also taken alone.
 * Every function returning int returns 0 or -errno and has set the
 * message (store_fail) when it fails.
 */
#ifndef ZWG_STORE_SEALED_H
#define ZWG_STORE_SEALED_H

#include "store_backend.h"

#include <pthread.h>
#include <sys/stat.h>

#define META_FILE "meta"
#define MANIFEST_FILE "manifest"
#define LOCK_FILE ".lock"
#define STAGED_SUFFIX ".new"
#define FILE_NAME_LEN (2 * SEALED_FILE_ID_LEN)
#define FILE_NAME_BUF (FILE_NAME_LEN + sizeof(STAGED_SUFFIX))
#define MANIFEST_MAX_FILE (SEALED_HEADER_LEN + 2 + STORE_KEY_NAME_MAX + MANIFEST_MAX_VALUE + \
			   SEALED_TAG_LEN)
#define EPOCH_ENV "ZEROWG_STORE_EPOCH_FILE"
#define EPOCH_TEXT_LEN 21	/* 20 digits and a newline */

/* What the manifest says of one record (a copy, taken under mlock). */
struct expect {
	bool listed;		/* false: no entry */
	uint8_t state;		/* enum manifest_state */
	uint64_t version;
	uint8_t digest[SEALED_DIGEST_LEN];
};

struct sealed_store {
	struct store base;
	int dirfd;			/* DIR, O_DIRECTORY; immutable */
	char *dir;			/* DIR as given, for messages; immutable */
	struct sealed_keys *keys;	/* secmem; immutable */

	pthread_mutex_t lock;	/* writers; taken before the flock */
	int lockfd;		/* DIR/.lock, opened by the first write; -1 before */
	bool swept;		/* stray temp files removed once by this handle */
	bool swept_staged;	/* staged files settled once by this handle */
	int epochfd;		/* the epoch file, or -1; written under lock */
	char *epoch_path;	/* for messages; immutable */

	pthread_mutex_t mlock;	/* guards the cached manifest below */
	struct manifest man;	/* the manifest as last read */
	char (*man_files)[FILE_NAME_LEN + 1];	/* file of man.v[i] */
	struct stat man_st;	/* of the file it was read from */
	bool man_valid;
	uint64_t gen_seen;	/* highest generation this handle saw */
};

static inline struct sealed_store *to_sealed(struct store *s)
{
	return (struct sealed_store *)s;
}

extern const struct store_ops sealed_ops;
void sealed_close(struct store *s);

/* ---- store_sealed.c ---- */
/* Both locks (the mutex, then the flock, waiting 10 s at most: -EBUSY). */
int sealed_lock(struct sealed_store *ss);
void sealed_unlock(struct sealed_store *ss);
/* The record as the manifest names it; without a lock if all agrees, else
 * again under both locks, where only what still disagrees is an error.
 * val may be NULL.  0, -ENOENT, -EBADMSG (naming the record) or -errno. */
int sealed_read_record(struct sealed_store *ss, const char *name, uint8_t **val, size_t *len,
		       uint64_t *version);
/* A put under both locks on the manifest m (read by the caller under them,
 * or built by create and the upgrade): staged file, commit of m, rename. */
int sealed_put_locked(struct sealed_store *ss, struct manifest *m, const char *key,
		      const uint8_t *val, size_t len, uint64_t expect, uint64_t *new_version);

/* ---- store_sealed_check.c ---- */
/* The file of record name ("meta" or the hex of its file id). */
int sealed_file_name(const struct sealed_store *ss, const char *name,
		     char out[FILE_NAME_LEN + 1]);
/* fname with STAGED_SUFFIX: where a put stages the next version. */
void sealed_staged_name(char out[FILE_NAME_BUF], const char *fname);
/* "meta" or 64 lower-case hex digits. */
bool sealed_is_record_file(const char *fname);
/* The -EBADMSG of a file that fails authentication, or is not a regular
 * file; name (may be NULL) is the record's.  Logged too. */
int sealed_fail_auth(const struct sealed_store *ss, const char *fname, const char *name);
int sealed_fail_not_regular(const struct sealed_store *ss, const char *fname, const char *name);
/* DIR/fname whole; *buf NULL if there is none (that is no error). */
int sealed_read_file(struct sealed_store *ss, const char *fname, const char *name,
		     uint8_t **buf, size_t *len);
bool sealed_digest_is(const uint8_t *buf, size_t len, const uint8_t want[SEALED_DIGEST_LEN]);
/* The epoch file: its generation (0 if empty), and a new one written
 * (logged on failure; at_open: also cut to length).  sealed_epoch_update
 * needs ss->lock or the handle alone. */
int sealed_epoch_read(struct sealed_store *ss, uint64_t *value);
void sealed_epoch_update(struct sealed_store *ss, uint64_t generation, bool at_open);
int sealed_fail_manifest_missing(const struct sealed_store *ss);
/* DIR/manifest into m; -ENOENT without a message. */
int sealed_read_manifest(struct sealed_store *ss, struct manifest *m, struct stat *st);
/* The cached manifest made the one on disk, checked against the
 * generations seen and the epoch file.  Needs mlock. */
int sealed_refresh_manifest(struct sealed_store *ss);
/* What the manifest on disk (sealed_lookup) or m (sealed_expect_of) says
 * of name. */
int sealed_lookup(struct sealed_store *ss, const char *name, struct expect *e);
void sealed_expect_of(const struct manifest *m, const char *name, struct expect *e);
/* The errors of a file the manifest does not list, and of a listed
 * record whose file is gone. */
int sealed_fail_unlisted(struct sealed_store *ss, const char *fname, const uint8_t *buf,
			 size_t len);
int sealed_fail_missing(const struct sealed_store *ss, const char *name, const char *fname,
			const struct expect *e);
/* Reads record name as e names it (from its file, or its staged file).
 * final false: a disagreement is -EAGAIN (look again under the lock). */
int sealed_read_as_named(struct sealed_store *ss, const char *name, const struct expect *e,
			 bool final, uint8_t **val, size_t *len, uint64_t *version);

#endif
