/*
 * store_sealed.c - the "sealed:DIR" backend, the default: every record is a
 * file of ciphertext in DIR, so what an attacker with the disk sees is
 * random bytes and a count of records; and a sealed manifest binds the
 * files together, so that one who can write DIR cannot roll a record back,
 * delete one, add one or mix one in from another store without the store
 * refusing to read it.
 *
 * Keys.  From the 32-byte unseal key, HKDF-SHA256 (salt "zerowg sealed
 * store v1") derives three subkeys: info "record file names" gives the
 * naming key, info "record contents" the record key, info "store manifest"
 * the manifest key.  They live in locked memory (secmem) for the life of
 * the handle; the unseal key itself is not kept.
 *
 * Directory DIR (mode 0700, files 0600), owned by the user that opens it
 * (root may open anyone's: `zerowg init` and import as root on the server
 * user's store); opening refuses one that its group or others may write,
 * and any file below that is not a regular file (check_dir, store_file_open):
 *   meta          the canary record "meta" under a fixed name, so that
 *                 opening with a wrong key is told apart from a missing
 *                 store (its name is no secret: every store has one)
 *   <64 hex>      one file per other record, named by the lower-case hex
 *                 of HMAC-SHA256(naming key, record name): names do not
 *                 leak, and only the key holder can tell which file is whose
 *   manifest      the manifest (below)
 *   <file>.new    the next version of a record, staged by a write
 *   .lock         empty; writers hold flock(LOCK_EX) on it
 *   .tmp-<hex>    a write in progress, or left by a crash; never read, and
 *                 removed by the next writer (under the lock, so it cannot
 *                 belong to a live write)
 *   anything else is ignored.
 *
 * Record file (all integers big-endian):
 *   0  magic "ZWGSEAL1"          8 bytes
 *   8  format version = 1        u16
 *  10  flags = 0                 u16 (reserved)
 *  12  record version            u64, 1 for a new record, +1 per write
 *  20  nonce                     12 random bytes, fresh for every write
 *  32  AES-256-GCM ciphertext of: name length (u16) | name | value
 *  ..  GCM tag                   16 bytes
 * The 32-byte header is the AEAD's associated data, so the version and
 * format cannot be changed without the tag failing; the name is inside the
 * ciphertext, so a file renamed to another record's name is refused.
 * Random 96-bit nonces stay within NIST SP 800-38D's bound for 2^32 writes
 * under one unseal key, far more than a store sees.
 *
 * The manifest (store_manifest.c) is sealed in the same format under the
 * manifest key: every record's name, version, the SHA-256 of its file's
 * bytes, and the store's generation (+1 per put or delete; the manifest
 * record's version).  A record is what the manifest names, nothing else:
 *   a file whose digest is not its entry's    "older than the manifest
 *        says" (rolled back), "newer" (the manifest rolled back, or a file
 *        of a record deleted and made again), "not the same write" (a copy
 *        from another store sealed with the same key)
 *   an entry without its file                 "missing" (deleted)
 *   a file without an entry                   "not in the manifest" (a
 *        deleted record put back, or one copied from another store)
 *   a file under another record's name        fails authentication
 *   the manifest missing while meta says the store has one, or its
 *        generation going back while a handle is open: rolled back
 * each fails the call with -EBADMSG and a message naming the record (a
 * line in the log too), and nothing is read from such a store.  What stays
 * undetectable from inside DIR is a rollback of the whole directory to an
 * older consistent copy: that needs state kept elsewhere, the epoch file
 * (ZEROWG_STORE_EPOCH_FILE, see store_sealed_check.c), and docs/server.md says
 * exactly what is and is not caught.
 *
 * Writes (put, delete) hold the handle's mutex (threads) and the flock
 * (processes) across read-compare-write, so compare-and-swap is exact.  A
 * writer waits at most 10 s for the flock, then fails with -EBUSY naming
 * the lock file, so one hung process cannot hang every other.  The
 * manifest is the commit point, and every file is written by
 * store_file_replace (a .tmp- file, fsync, rename, fsync DIR):
 *   put     1. the new record to <file>.new
 *           2. the manifest naming the new digest   <- committed
 *           3. rename <file>.new over <file>, fsync DIR
 *   delete  1. the manifest with the entry as a tombstone (its digest
 *              kept)                                 <- committed
 *           2. unlink <file> and <file>.new, fsync DIR
 * kill -9 at any instant leaves a state every reader resolves: before 2 the
 * old manifest and the old file agree (<file>.new is not named: ignored,
 * and removed by the next writer); after 2 the manifest names either the
 * file in <file> or the one in <file>.new, and a reader takes whichever has
 * the named digest (the next writer finishes the rename); a file whose
 * digest is its tombstone's is the leftover of a delete, read as deleted
 * and removed by the next writer, which then drops the tombstone.  Nothing
 * is ever accepted that the manifest does not name, so no crash can make a
 * rollback pass.  An acknowledged write is in the manifest on disk.
 *
 * Readers take no lock on the way that finds everything consistent.  As a
 * writer's steps are not one atomic change, a reader can see a manifest and
 * a file from either side of a write; whenever what it sees disagrees, it
 * looks again under the writers' lock, where nothing moves, and only what
 * still disagrees there is an error.
 *
 * A store from before manifests (meta's "version":1, no manifest) gets one
 * when it is first opened: every record file is authenticated and entered,
 * and meta is rewritten with "version":2 in the same commit (logged once).
 * From then on a missing manifest is an error, not an old store.
 *
 * The lock order is in store_sealed.h.  This file has the operations, the locks and the writes; what the
 * manifest and the files say of each other, and the messages, are in
 * store_sealed_check.c; create and open in store_sealed_open.c
 * (store_sealed.h is what they share).  Relies on store_record.c (the
 * codec), store_manifest.c, store_file.c (reading, atomic replacement,
 * sweeping; all on a directory fd held open), secmem (key memory) and
 * log.h.
 */
#include "store_sealed.h"
#include "log.h"
#include "secmem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define STORE_LOCK_TIMEOUT_MS 10000

/*
 * The subkeys' pages are MADV_WIPEONFORK (secmem), so in a child forked
 * from the process that opened the store they read as zeros.  Sealing
 * under an all-zero key would write records anyone can open, so a handle
 * used across fork refuses to work.  (HKDF output is all zeros with
 * probability 2^-256.)
 */
static int check_keys(const struct sealed_store *ss)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < sizeof(ss->keys->name_key); i++)
		acc |= ss->keys->name_key[i] | ss->keys->record_key[i];
	if (acc == 0)
		return store_fail(-EPERM, "the store %s was opened before fork(): open it again "
				  "in this process", ss->dir);
	return 0;
}

/* ---------------------------------------------------------- the lock -- */

static void log_swept(const char *fname, void *arg)
{
	const struct sealed_store *ss = arg;

	log_info("store: removed %s/%s, left by an interrupted write", ss->dir, fname);
}

static long lock_timeout_ms(void)
{
#ifdef ZWG_TESTING
	/* lets a test see -EBUSY without waiting the full time */
	const char *env = getenv("ZWG_STORE_LOCK_TIMEOUT_MS");

	if (env)
		return strtol(env, NULL, 10);
#endif
	return STORE_LOCK_TIMEOUT_MS;
}

/* Takes the writers' flock (creating DIR/.lock on first use), waiting at
 * most STORE_LOCK_TIMEOUT_MS (-EBUSY).  Needs ss->lock.  0 or -errno with a
 * message. */
static int writer_lock(struct sealed_store *ss)
{
	if (ss->lockfd < 0) {
		struct stat st;
		int fd = store_file_open(ss->dirfd, LOCK_FILE, O_RDWR | O_CREAT, &st);
		const char *kind;

		if (fd == -EBADMSG && (kind = store_file_kind(ss->dirfd, LOCK_FILE)))
			return store_fail(-EBADMSG, "the lock file %s/%s is %s, not a regular "
					  "file: zerowg never makes one, so someone else put it "
					  "there; remove it (rm %s/%s), zerowg makes it again",
					  ss->dir, LOCK_FILE, kind, ss->dir, LOCK_FILE);
		if (fd < 0)
			return store_fail(fd, "cannot open the lock file %s/%s: %s",
					  ss->dir, LOCK_FILE, strerror(-fd));
		ss->lockfd = fd;
		store_file_give_to_dir_owner(ss->dirfd, ss->lockfd);
	}
	/* Bounded: a writer that hangs holding the lock must not hang every
	 * other zerowg process with it.  Back off from 1 ms to 8 ms: a write
	 * takes a few fsyncs, and a waiter that sleeps longer than one loses
	 * the lock to every writer that keeps coming back. */
	for (long waited = 0, step = 1; flock(ss->lockfd, LOCK_EX | LOCK_NB) < 0;) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return store_fail(-errno, "cannot lock %s/%s: %s", ss->dir, LOCK_FILE,
					  strerror(errno));
		if (waited >= lock_timeout_ms())
			return store_fail(-EBUSY, "the store %s is busy: another process has held "
					  "%s/%s for %ld ms; try again, or look for a hung zerowg",
					  ss->dir, ss->dir, LOCK_FILE, waited);
		usleep((useconds_t)step * 1000);
		waited += step;
		if (step < 8)
			step *= 2;
	}
	/* Under the flock no live writer has a temp file, so any is a
	 * crash's leftover. */
	if (!ss->swept && store_file_sweep(ss->dirfd, log_swept, ss) >= 0)
		ss->swept = true;
	return 0;
}

static void writer_unlock(struct sealed_store *ss)
{
	flock(ss->lockfd, LOCK_UN);
}

/* Takes both locks; 0 or -errno (then neither is held). */
int sealed_lock(struct sealed_store *ss)
{
	int ret;

	pthread_mutex_lock(&ss->lock);
	if ((ret = writer_lock(ss)))
		pthread_mutex_unlock(&ss->lock);
	return ret;
}

void sealed_unlock(struct sealed_store *ss)
{
	writer_unlock(ss);
	pthread_mutex_unlock(&ss->lock);
}

/* ------------------------------------------------------------ reading -- */

/*
 * Reads the record `name` (val may be NULL: only the version is wanted):
 * without a lock if the manifest and the files agree, else again under both
 * locks, where nothing moves.  locked: the caller holds both.  0, -ENOENT,
 * -EBADMSG (message names the record and what is wrong), or -errno.
 */
int sealed_read_record(struct sealed_store *ss, const char *name, uint8_t **val, size_t *len,
		       uint64_t *version)
{
	struct expect e;
	int ret;

	if ((ret = sealed_lookup(ss, name, &e)))
		return ret;
	ret = sealed_read_as_named(ss, name, &e, false, val, len, version);
	if (ret != -EAGAIN)
		return ret;
	if ((ret = sealed_lock(ss)))
		return ret;
	ret = sealed_lookup(ss, name, &e);
	if (ret == 0)
		ret = sealed_read_as_named(ss, name, &e, true, val, len, version);
	sealed_unlock(ss);
	return ret;
}

static int sealed_get(struct store *s, const char *key, uint8_t **val, size_t *len,
		      uint64_t *version)
{
	int ret = check_keys(to_sealed(s));

	return ret ? ret : sealed_read_record(to_sealed(s), key, val, len, version);
}

/* ------------------------------------------------------------ writing -- */

#ifdef ZWG_TESTING
/* A test makes a writer die at a named step (ZWG_STORE_CRASH_AT), as a
 * kill -9 there would: "put-staged", "put-committed", "delete-committed". */
static void crash_point(const char *step)
{
	const char *at = getenv("ZWG_STORE_CRASH_AT");

	if (at && strcmp(at, step) == 0)
		_exit(86);
}
#else
#define crash_point(step) ((void)0)
#endif

static int fail_write(const struct sealed_store *ss, int ret, bool renamed, const char *fname)
{
	if (!renamed)
		return store_fail(ret, "cannot write %s/%s: %s (the previous version of the record is intact)",
				  ss->dir, fname, strerror(-ret));
	return store_fail(ret, "cannot sync %s after writing %s: %s (the new version may be "
			  "lost in a crash)", ss->dir, fname, strerror(-ret));
}

/*
 * Under both locks, after a crash of another writer: finishes the renames
 * of staged files the manifest m names, removes those it does not.  Once
 * per handle (a crash leaves them; a live writer never does, as it holds
 * the lock while they exist).
 */
static void sweep_staged(struct sealed_store *ss, const struct manifest *m)
{
	int fd = openat(ss->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t slen = strlen(STAGED_SUFFIX);
	struct dirent *de;
	bool any = false;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char base[FILE_NAME_LEN + 1], fname[FILE_NAME_LEN + 1];
		const struct manifest_entry *hit = NULL;
		uint8_t *buf = NULL;
		size_t len = 0;

		if (n <= slen || n - slen > FILE_NAME_LEN ||
		    strcmp(de->d_name + n - slen, STAGED_SUFFIX) != 0)
			continue;
		memcpy(base, de->d_name, n - slen);
		base[n - slen] = '\0';
		if (!sealed_is_record_file(base))
			continue;
		for (size_t i = 0; i < m->n && !hit; i++)
			if (m->v[i].state == MANIFEST_LIVE && sealed_file_name(ss, m->v[i].name, fname) == 0 &&
			    strcmp(fname, base) == 0)
				hit = &m->v[i];
		if (hit && store_file_read(ss->dirfd, de->d_name, SEALED_MAX_FILE, &buf, &len) == 0 &&
		    sealed_digest_is(buf, len, hit->digest)) {
			if (renameat(ss->dirfd, de->d_name, ss->dirfd, base) == 0)
				log_info("store: finished the write of %s/%s, interrupted after "
					 "it committed", ss->dir, base);
		} else if (unlinkat(ss->dirfd, de->d_name, 0) == 0) {
			log_info("store: removed %s/%s, left by a write that did not commit",
				 ss->dir, de->d_name);
		}
		free(buf);
		any = true;
	}
	closedir(d);
	if (any)
		fsync(ss->dirfd);
}

/*
 * Under both locks: the manifest on disk into m (initialised), checked,
 * with the leftovers of interrupted deletes removed and their tombstones
 * dropped (the next commit writes m without them).
 */
static int write_begin(struct sealed_store *ss, struct manifest *m)
{
	bool unlinked = false;
	int ret;

	pthread_mutex_lock(&ss->mlock);
	ret = sealed_refresh_manifest(ss);
	if (ret == 0 && manifest_copy(m, &ss->man))
		ret = store_fail(-ENOMEM, "out of memory");
	pthread_mutex_unlock(&ss->mlock);
	if (ret)
		return ret;
	if (!ss->swept_staged) {
		sweep_staged(ss, m);
		ss->swept_staged = true;
	}
	for (size_t i = m->n; i-- > 0;) {
		char fname[FILE_NAME_LEN + 1], staged[FILE_NAME_BUF];
		uint8_t *buf = NULL;
		size_t len = 0;

		if (m->v[i].state != MANIFEST_DELETING)
			continue;
		if (sealed_file_name(ss, m->v[i].name, fname) == 0) {
			/* only the very file the delete left; any other is foreign,
			 * and reading it says so once the tombstone is gone */
			if (store_file_read(ss->dirfd, fname, SEALED_MAX_FILE, &buf, &len) == 0 &&
			    sealed_digest_is(buf, len, m->v[i].digest) && unlinkat(ss->dirfd, fname, 0) == 0)
				unlinked = true;
			free(buf);
			sealed_staged_name(staged, fname);
			if (unlinkat(ss->dirfd, staged, 0) == 0)
				unlinked = true;
		}
		manifest_remove(m, m->v[i].name);
	}
	/* The unlinks must be on disk before a manifest without their
	 * tombstones is. */
	if (unlinked && fsync(ss->dirfd) < 0)
		return store_fail(-errno, "cannot sync %s: %s", ss->dir, strerror(errno));
	return 0;
}

/* Writes m as the next generation: the commit point.  Needs both locks.  On
 * failure m->generation is as it was. */
static int commit_as(struct sealed_store *ss, struct manifest *m, bool bump)
{
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	bool renamed = false;
	int ret;

	if (m->generation >= STORE_ANY_VERSION - 1)
		return store_fail(-EOVERFLOW, "the store %s ran out of generations", ss->dir);
	m->generation += bump;
	ret = manifest_seal(ss->keys, m, &sealed, &sealed_len);
	if (ret) {
		m->generation -= bump;
		return store_fail(ret, "cannot seal the manifest of %s: %s", ss->dir,
				  ret == -EMSGSIZE ? "too many records" : strerror(-ret));
	}
	ret = store_file_replace(ss->dirfd, MANIFEST_FILE, sealed, sealed_len, &renamed);
	free(sealed);	/* ciphertext */
	if (ret && !renamed) {
		m->generation -= bump;
		return fail_write(ss, ret, false, MANIFEST_FILE);
	}
	pthread_mutex_lock(&ss->mlock);
	ss->man_valid = false;	/* the next read takes it from the file */
	if (m->generation > ss->gen_seen)
		ss->gen_seen = m->generation;
	pthread_mutex_unlock(&ss->mlock);
	if (ret)
		return fail_write(ss, ret, true, MANIFEST_FILE);
	sealed_epoch_update(ss, m->generation, false);
	return 0;
}

/* The commit of a change: the next generation. */
static int commit(struct sealed_store *ss, struct manifest *m)
{
	return commit_as(ss, m, true);
}

/* The version check of compare-and-swap.  cur = 0: no record. */
static int check_version(const char *key, uint64_t cur, uint64_t expect)
{
	if (expect == STORE_ANY_VERSION)
		return 0;
	if (expect == STORE_NEW && cur)
		return store_fail(-ESTALE, "record \"%s\" already exists (version %llu)", key,
				  (unsigned long long)cur);
	if (expect != STORE_NEW && !cur)
		return store_fail(-ESTALE, "record \"%s\" was expected at version %llu but "
				  "does not exist", key, (unsigned long long)expect);
	if (expect != cur)
		return store_fail(-ESTALE, "record \"%s\" is at version %llu, not %llu: "
				  "someone else changed it; read it again", key,
				  (unsigned long long)cur, (unsigned long long)expect);
	return 0;
}

/* put under both locks, on the manifest m from write_begin. */
int sealed_put_locked(struct sealed_store *ss, struct manifest *m, const char *key,
		      const uint8_t *val, size_t len, uint64_t expect, uint64_t *new_version)
{
	char fname[FILE_NAME_LEN + 1], staged[FILE_NAME_BUF];
	uint8_t digest[SEALED_DIGEST_LEN];
	uint8_t *sealed = NULL;
	size_t sealed_len;
	uint64_t cur = 0, gen = m->generation;
	struct expect e;
	bool renamed;
	int ret;

	sealed_expect_of(m, key, &e);
	ret = sealed_read_as_named(ss, key, &e, true, NULL, NULL, &cur);
	if (ret == -ENOENT)
		cur = 0;
	else if (ret)
		return ret;	/* a record we cannot vouch for is not overwritten */
	if ((ret = check_version(key, cur, expect)))
		return ret;
	if (cur >= STORE_ANY_VERSION - 1)
		return store_fail(-EOVERFLOW, "record \"%s\" ran out of versions", key);
	if ((ret = sealed_file_name(ss, key, fname)))
		return ret;
	sealed_staged_name(staged, fname);
	ret = sealed_record_seal(ss->keys, key, val, len, cur + 1, &sealed, &sealed_len);
	if (ret)
		return store_fail(ret, "cannot seal record \"%s\": %s", key, strerror(-ret));
	if (sealed_digest(sealed, sealed_len, digest)) {
		free(sealed);
		return store_fail(-EIO, "cannot hash record \"%s\" (OpenSSL)", key);
	}
	/* 1. the new version beside the old one */
	ret = store_file_replace(ss->dirfd, staged, sealed, sealed_len, &renamed);
	free(sealed);	/* ciphertext */
	if (ret) {
		if (renamed)
			unlinkat(ss->dirfd, staged, 0);
		return fail_write(ss, ret, false, fname);
	}
	crash_point("put-staged");
	if (manifest_set(m, key, cur + 1, digest, MANIFEST_LIVE)) {
		unlinkat(ss->dirfd, staged, 0);
		return store_fail(-ENOMEM, "out of memory");
	}
	/* 2. the commit */
	ret = commit(ss, m);
	if (ret && m->generation == gen) {
		unlinkat(ss->dirfd, staged, 0);
		return ret;
	}
	crash_point("put-committed");
	/* 3. in place; until then readers take it from the staged file.  No
	 * fsync of DIR: should a crash lose the rename, the staged file is
	 * still there, named by the manifest, and the next writer's fsync
	 * makes the rename durable anyway. */
	if (renameat(ss->dirfd, staged, ss->dirfd, fname) < 0)
		log_error("store: cannot move %s/%s into place: %s (the write is committed; "
			  "the next writer finishes it)", ss->dir, staged, strerror(errno));
	if (ret == 0)
		*new_version = cur + 1;
	return ret;
}

static int sealed_put(struct store *s, const char *key, const uint8_t *val, size_t len,
		      uint64_t expect, uint64_t *new_version)
{
	struct sealed_store *ss = to_sealed(s);
	struct manifest m;
	int ret;

	if ((ret = check_keys(ss)))
		return ret;
	manifest_init(&m);
	if ((ret = sealed_lock(ss)) == 0) {
		ret = write_begin(ss, &m);
		if (ret == 0)
			ret = sealed_put_locked(ss, &m, key, val, len, expect, new_version);
		sealed_unlock(ss);
	}
	manifest_free(&m);
	return ret;
}

static int del_locked(struct sealed_store *ss, struct manifest *m, const char *key,
		      uint64_t expect)
{
	char fname[FILE_NAME_LEN + 1], staged[FILE_NAME_BUF];
	uint8_t digest[SEALED_DIGEST_LEN], *buf = NULL;
	size_t len = 0;
	uint64_t cur = 0;
	struct expect e;
	int ret;

	sealed_expect_of(m, key, &e);
	ret = sealed_read_as_named(ss, key, &e, true, NULL, NULL, &cur);
	if (ret == -EBADMSG && expect == STORE_ANY_VERSION) {
		/* The way out for the operator: a damaged, rolled-back, missing
		 * or foreign record can be removed (not replaced, since nobody
		 * can vouch for its version). */
		log_error("store: deleting record \"%s\", which did not match the manifest or "
			  "failed authentication", key);
	} else if (ret) {
		return ret;
	} else if ((ret = check_version(key, cur, expect))) {
		return ret;
	}
	if ((ret = sealed_file_name(ss, key, fname)))
		return ret;
	sealed_staged_name(staged, fname);
	/* A tombstone for the file that is there, so that a crash before the
	 * unlink leaves a file readers know to be deleted. */
	if (store_file_read(ss->dirfd, fname, SEALED_MAX_FILE, &buf, &len) == 0) {
		ret = sealed_digest(buf, len, digest);
		free(buf);
		if (ret)
			return store_fail(-EIO, "cannot hash record \"%s\" (OpenSSL)", key);
		if (manifest_set(m, key, e.listed ? e.version : (cur ? cur : 1), digest,
				 MANIFEST_DELETING))
			return store_fail(-ENOMEM, "out of memory");
	} else {
		manifest_remove(m, key);
	}
	if ((ret = commit(ss, m)))
		return ret;
	crash_point("delete-committed");
	/* Then the files, and then the tombstone, at the same generation
	 * (nothing changes for a reader): a tombstone lets its very file be
	 * read as deleted, which must not outlast the crash it is for, or
	 * that file put back would pass unnoticed.  The unlinks are synced
	 * first, or a crash could keep the file and lose the tombstone. */
	if ((unlinkat(ss->dirfd, fname, 0) < 0 && errno != ENOENT) ||
	    (unlinkat(ss->dirfd, staged, 0) < 0 && errno != ENOENT) || fsync(ss->dirfd) < 0) {
		log_error("store: cannot remove %s/%s: %s (the delete is committed; the next "
			  "writer removes it)", ss->dir, fname, strerror(errno));
		return 0;
	}
	if (manifest_find(m, key)) {
		manifest_remove(m, key);
		if (commit_as(ss, m, false))
			log_error("store: cannot drop the tombstone of \"%s\": %s (the next "
				  "writer drops it)", key, store_last_error());
		store_clear_error();
	}
	return 0;
}

static int sealed_del(struct store *s, const char *key, uint64_t expect)
{
	struct sealed_store *ss = to_sealed(s);
	struct manifest m;
	int ret;

	if ((ret = check_keys(ss)))
		return ret;
	manifest_init(&m);
	if ((ret = sealed_lock(ss)) == 0) {
		ret = write_begin(ss, &m);
		if (ret == 0)
			ret = del_locked(ss, &m, key, expect);
		sealed_unlock(ss);
	}
	manifest_free(&m);
	return ret;
}

/* ------------------------------------------------------------ listing -- */

/* The manifest's entries by file name, for the directory scan. */
struct by_file {
	const char *file;
	size_t i;
};

static int cmp_by_file(const void *a, const void *b)
{
	return strcmp(((const struct by_file *)a)->file, ((const struct by_file *)b)->file);
}

/* DIR/fname is there but the manifest has no entry for it (or only a
 * tombstone of another write): -EAGAIN, or, final, the error naming it. */
static int unlisted_file(struct sealed_store *ss, const char *fname,
			 const struct manifest_entry *tomb, bool final)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	if ((ret = sealed_read_file(ss, fname, NULL, &buf, &len)))
		return ret;
	if (!buf)
		ret = 0;	/* gone meanwhile */
	else if (tomb && sealed_digest_is(buf, len, tomb->digest))
		ret = 0;	/* the leftover of a delete */
	else
		ret = final ? sealed_fail_unlisted(ss, fname, buf, len) : -EAGAIN;
	free(buf);
	return ret;
}

/*
 * The names under prefix, from the manifest; and the directory checked
 * against it: every record file listed, every listed record's file there
 * (its contents are checked when it is read).  final as in read_as_named.
 */
static int list_pass(struct sealed_store *ss, const char *prefix, bool final, char ***keys,
		     size_t *n)
{
	size_t plen = strlen(prefix), count = 0;
	struct manifest m;
	char (*files)[FILE_NAME_LEN + 1] = NULL;
	struct by_file *idx = NULL;
	bool *seen = NULL;
	char **out = NULL;
	struct dirent *de;
	DIR *d = NULL;
	int fd, ret;

	manifest_init(&m);
	pthread_mutex_lock(&ss->mlock);
	ret = sealed_refresh_manifest(ss);
	if (ret == 0 && (manifest_copy(&m, &ss->man) ||
			 !(files = malloc((m.n ? m.n : 1) * sizeof(*files)))))
		ret = store_fail(-ENOMEM, "out of memory");
	if (ret == 0)
		memcpy(files, ss->man_files, m.n * sizeof(*files));
	pthread_mutex_unlock(&ss->mlock);
	if (ret)
		goto out;
	idx = calloc(m.n ? m.n : 1, sizeof(*idx));
	seen = calloc(m.n ? m.n : 1, sizeof(*seen));
	out = calloc(m.n ? m.n : 1, sizeof(*out));
	if (!idx || !seen || !out) {
		ret = store_fail(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m.n; i++) {
		idx[i].file = files[i];
		idx[i].i = i;
		if (m.v[i].state == MANIFEST_LIVE && strncmp(m.v[i].name, prefix, plen) == 0 &&
		    !(out[count++] = strdup(m.v[i].name))) {
			count--;
			ret = store_fail(-ENOMEM, "out of memory");
			goto out;
		}
	}
	qsort(idx, m.n, sizeof(*idx), cmp_by_file);

	fd = openat(ss->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		ret = store_fail(-errno, "cannot read the directory %s: %s", ss->dir,
				 strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	while ((de = readdir(d))) {
		struct by_file key = { .file = de->d_name }, *hit;
		const struct manifest_entry *me;

		if (!sealed_is_record_file(de->d_name))
			continue;	/* ".", "..", manifest, .lock, staged and temp files */
		hit = m.n ? bsearch(&key, idx, m.n, sizeof(*idx), cmp_by_file) : NULL;
		me = hit ? &m.v[hit->i] : NULL;
		if (store_file_kind(ss->dirfd, de->d_name)) {
			/* a FIFO, symlink, ...: never opened, refused by name */
			ret = sealed_fail_not_regular(ss, de->d_name, me ? me->name : NULL);
			goto out;
		}
		if (me && me->state == MANIFEST_LIVE) {
			seen[hit->i] = true;
			continue;
		}
		if ((ret = unlisted_file(ss, de->d_name, me, final)))
			goto out;
	}
	for (size_t i = 0; i < m.n; i++) {
		char staged[FILE_NAME_BUF];
		struct expect e;
		struct stat st;

		if (m.v[i].state != MANIFEST_LIVE || seen[i])
			continue;
		sealed_staged_name(staged, files[i]);
		if (fstatat(ss->dirfd, staged, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;	/* committed, not yet moved into place */
		if (!final) {
			ret = -EAGAIN;
			goto out;
		}
		sealed_expect_of(&m, m.v[i].name, &e);
		ret = sealed_fail_missing(ss, m.v[i].name, files[i], &e);
		goto out;
	}
	/* already sorted: the manifest is */
	*keys = out;
	*n = count;
	out = NULL;
	count = 0;
out:
	if (d)
		closedir(d);
	store_list_free(out, count);
	free(seen);
	free(idx);
	free(files);
	manifest_free(&m);
	return ret;
}

static int sealed_list(struct store *s, const char *prefix, char ***keys, size_t *n)
{
	struct sealed_store *ss = to_sealed(s);
	int ret;

	if ((ret = check_keys(ss)))
		return ret;
	ret = list_pass(ss, prefix, false, keys, n);
	if (ret != -EAGAIN)
		return ret;
	if ((ret = sealed_lock(ss)))
		return ret;
	ret = list_pass(ss, prefix, true, keys, n);
	sealed_unlock(ss);
	return ret;
}

static int sealed_generation(struct store *s, uint64_t *gen)
{
	struct sealed_store *ss = to_sealed(s);
	int ret;

	pthread_mutex_lock(&ss->mlock);
	ret = sealed_refresh_manifest(ss);
	if (ret == 0)
		*gen = ss->man.generation;
	pthread_mutex_unlock(&ss->mlock);
	return ret;
}

void sealed_close(struct store *s)
{
	struct sealed_store *ss = to_sealed(s);

	manifest_free(&ss->man);
	free(ss->man_files);
	if (ss->epochfd >= 0)
		close(ss->epochfd);
	free(ss->epoch_path);
	if (ss->lockfd >= 0)
		close(ss->lockfd);
	if (ss->dirfd >= 0)
		close(ss->dirfd);
	secmem_free(ss->keys, sizeof(*ss->keys));
	pthread_mutex_destroy(&ss->mlock);
	pthread_mutex_destroy(&ss->lock);
	free(ss->dir);
	free(ss->base.description);
	free(ss);
}

const struct store_ops sealed_ops = {
	.get = sealed_get,
	.put = sealed_put,
	.del = sealed_del,
	.list = sealed_list,
	.generation = sealed_generation,
	.close = sealed_close,
};
