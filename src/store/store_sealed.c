/*
 * store_sealed.c - the "sealed:DIR" backend, the default: every record is a
 * file of ciphertext in DIR, so what an attacker with the disk sees is
 * random bytes and a count of records.
 *
 * Keys.  From the 32-byte unseal key, HKDF-SHA256 (salt "zerowg sealed
 * store v1") derives two subkeys: info "record file names" gives the naming
 * key, info "record contents" the record key.  Both live in locked memory
 * (secmem) for the life of the handle; the unseal key itself is not kept.
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
 * under one unseal key, far more than a store sees.  What
 * the format cannot see is a whole file replaced by an older copy of
 * itself (rollback): that needs a counter outside DIR.
 *
 * Writes (put, delete) hold the handle's mutex (threads) and the flock
 * (processes) across read-compare-write, so compare-and-swap is exact.  A
 * writer waits at most 10 s for the flock, then fails with -EBUSY naming
 * the lock file, so one hung process cannot hang every other.  A put
 * writes the sealed bytes to a new .tmp- file (ciphertext only), fsyncs
 * it, renames it over the record file and fsyncs DIR; only then is it
 * acknowledged.  kill -9 at any instant leaves either the old file or the
 * new one, never a mix, plus at most one stray temp file.  Readers take no
 * lock: rename is atomic, so they see one whole version or the other.  A
 * failing write (ENOSPC, EFBIG, EROFS, EIO) removes its temp file and
 * leaves the old record as it was.
 *
 * list() learns record names by opening each file once per handle, then
 * keeps file id -> name in memory (names are not secrets, values are never
 * cached); it checks that the name inside hashes to the file's name.
 *
 * Lock order: sealed_store.lock, then the flock on .lock.  list() also
 * holds sealed_store.lock, for the name cache.
 *
 * Relies on store_record.c (the codec), store_file.c (reading, atomic
 * replacement, sweeping; all on a directory fd held open), secmem (key
 * memory) and log.h.
 */
#include "store_backend.h"
#include "log.h"
#include "secmem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_FILE "meta"
#define LOCK_FILE ".lock"
#define FILE_NAME_LEN (2 * SEALED_FILE_ID_LEN)
#define STORE_LOCK_TIMEOUT_MS 10000

/* file id -> record name, learnt by list(); the mapping can never change
 * for a given key, so an entry never goes stale: one whose file is gone
 * only costs memory, since list() starts from the directory listing. */
struct name_entry {
	uint8_t id[SEALED_FILE_ID_LEN];
	char *name;
};

struct sealed_store {
	struct store base;
	int dirfd;			/* DIR, O_DIRECTORY; immutable */
	char *dir;			/* DIR as given, for messages; immutable */
	struct sealed_keys *keys;	/* secmem; immutable */

	pthread_mutex_t lock;	/* guards everything below; taken before the flock */
	int lockfd;		/* DIR/.lock, opened by the first write; -1 before */
	bool swept;		/* stray temp files removed once by this handle */
	struct name_entry *cache;	/* sorted by id */
	size_t ncache, capcache;
};

static struct sealed_store *to_sealed(struct store *s)
{
	return (struct sealed_store *)s;
}

/* The file that holds record name. */
static int file_name(const struct sealed_store *ss, const char *name,
		     char out[FILE_NAME_LEN + 1])
{
	uint8_t id[SEALED_FILE_ID_LEN];

	if (strcmp(name, STORE_META_KEY) == 0) {
		strcpy(out, META_FILE);
		return 0;
	}
	if (sealed_file_id(ss->keys, name, id))
		return store_fail(-EIO, "cannot compute the file name of \"%s\" (OpenSSL)", name);
	store_file_hex(out, id, sizeof(id));
	return 0;
}

static int fail_auth(const struct sealed_store *ss, const char *fname, const char *name)
{
	/* Logged as well as returned: tampering is worth a line in the journal
	 * even if the caller only prints strerror. */
	log_error("store: record file %s/%s%s%s%s failed authentication (tampered or corrupt)",
		  ss->dir, fname, name ? " (record \"" : "", name ? name : "", name ? "\")" : "");
	return store_fail(-EBADMSG, "record file %s/%s%s%s%s failed authentication: it was "
			  "tampered with, damaged, or belongs to another record or key; restore "
			  "it from a backup, or delete the record",
			  ss->dir, fname, name ? " (record \"" : "", name ? name : "",
			  name ? "\")" : "");
}

/* DIR/fname was not a regular file when store_file_read looked (-EBADMSG
 * before reading a byte): say what it is. */
static int fail_not_regular(const struct sealed_store *ss, const char *fname, const char *name)
{
	const char *kind = store_file_kind(ss->dirfd, fname);

	if (!kind)	/* replaced by a regular file since: no better word */
		return fail_auth(ss, fname, name);
	log_error("store: record file %s/%s%s%s%s is %s, not a regular file", ss->dir, fname,
		  name ? " (record \"" : "", name ? name : "", name ? "\")" : "", kind);
	return store_fail(-EBADMSG, "record file %s/%s%s%s%s is %s, not a regular file: zerowg "
			  "never makes one, so someone else put it there; remove it (rm %s/%s) "
			  "and restore the record from a backup if it had one",
			  ss->dir, fname, name ? " (record \"" : "", name ? name : "",
			  name ? "\")" : "", kind, ss->dir, fname);
}

/*
 * Reads and opens the record `name` (val may be NULL: only the version is
 * wanted).  0, -ENOENT, -EBADMSG (message names the file), or -errno.
 */
static int read_record(struct sealed_store *ss, const char *name, uint8_t **val, size_t *len,
		       uint64_t *version)
{
	char fname[FILE_NAME_LEN + 1];
	uint8_t *buf = NULL;
	size_t buf_len = 0;
	int ret;

	if ((ret = file_name(ss, name, fname)))
		return ret;
	ret = store_file_read(ss->dirfd, fname, SEALED_MAX_FILE, &buf, &buf_len);
	if (ret == -ENOENT)
		return store_fail(-ENOENT, "no record \"%s\" in %s", name, ss->dir);
	if (ret == -EBADMSG)
		return fail_not_regular(ss, fname, name);
	if (ret == -EFBIG)
		return fail_auth(ss, fname, name);
	if (ret)
		return store_fail(ret, "cannot read record file %s/%s: %s", ss->dir, fname,
				  strerror(-ret));
	ret = sealed_record_open(ss->keys, buf, buf_len, name, NULL, val, len, version);
	free(buf);
	if (ret == -EBADMSG)
		return fail_auth(ss, fname, name);
	if (ret)
		return store_fail(ret, "cannot open record file %s/%s: %s", ss->dir, fname,
				  strerror(-ret));
	return 0;
}

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

static int sealed_get(struct store *s, const char *key, uint8_t **val, size_t *len,
		      uint64_t *version)
{
	int ret = check_keys(to_sealed(s));

	return ret ? ret : read_record(to_sealed(s), key, val, len, version);
}

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
	 * other zerowg process with it.  Back off from 1 ms to 64 ms. */
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
		if (step < 64)
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

/* Replaces DIR/fname by buf (store_file_replace).  Needs the flock. */
static int replace_file(struct sealed_store *ss, const char *fname, const uint8_t *buf,
			size_t len)
{
	bool renamed;
	int ret = store_file_replace(ss->dirfd, fname, buf, len, &renamed);

	if (ret && !renamed)
		return store_fail(ret, "cannot write record file %s/%s: %s (the previous version "
				  "of the record is intact)", ss->dir, fname, strerror(-ret));
	if (ret)
		return store_fail(ret, "cannot sync %s after writing %s: %s (the new version "
				  "may be lost in a crash)", ss->dir, fname, strerror(-ret));
	return 0;
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

/* put under both locks. */
static int put_locked(struct sealed_store *ss, const char *key, const uint8_t *val, size_t len,
		      uint64_t expect, uint64_t *new_version)
{
	char fname[FILE_NAME_LEN + 1];
	uint64_t cur = 0;
	uint8_t *sealed = NULL;
	size_t sealed_len;
	int ret;

	ret = read_record(ss, key, NULL, NULL, &cur);
	if (ret == -ENOENT)
		cur = 0;
	else if (ret)
		return ret;	/* a record we cannot authenticate is not overwritten */
	if ((ret = check_version(key, cur, expect)))
		return ret;
	if (cur >= STORE_ANY_VERSION - 1)
		return store_fail(-EOVERFLOW, "record \"%s\" ran out of versions", key);
	if ((ret = file_name(ss, key, fname)))
		return ret;
	ret = sealed_record_seal(ss->keys, key, val, len, cur + 1, &sealed, &sealed_len);
	if (ret)
		return store_fail(ret, "cannot seal record \"%s\": %s", key, strerror(-ret));
	ret = replace_file(ss, fname, sealed, sealed_len);
	free(sealed);	/* ciphertext */
	if (ret == 0)
		*new_version = cur + 1;
	return ret;
}

static int sealed_put(struct store *s, const char *key, const uint8_t *val, size_t len,
		      uint64_t expect, uint64_t *new_version)
{
	struct sealed_store *ss = to_sealed(s);
	int ret;

	if ((ret = check_keys(ss)))
		return ret;
	pthread_mutex_lock(&ss->lock);
	if ((ret = writer_lock(ss)) == 0) {
		ret = put_locked(ss, key, val, len, expect, new_version);
		writer_unlock(ss);
	}
	pthread_mutex_unlock(&ss->lock);
	return ret;
}

static int del_locked(struct sealed_store *ss, const char *key, uint64_t expect)
{
	char fname[FILE_NAME_LEN + 1];
	uint64_t cur = 0;
	int ret;

	ret = read_record(ss, key, NULL, NULL, &cur);
	if (ret == -EBADMSG && expect == STORE_ANY_VERSION) {
		/* The way out for the operator: a damaged record can be removed
		 * (not replaced, since nobody can vouch for its version). */
		log_error("store: deleting record \"%s\", whose file failed authentication", key);
	} else if (ret) {
		return ret;
	} else if ((ret = check_version(key, cur, expect))) {
		return ret;
	}
	if ((ret = file_name(ss, key, fname)))
		return ret;
	if (unlinkat(ss->dirfd, fname, 0) < 0)
		return store_fail(-errno, "cannot delete record file %s/%s: %s", ss->dir, fname,
				  strerror(errno));
	if (fsync(ss->dirfd) < 0)
		return store_fail(-errno, "cannot sync %s after deleting %s: %s (the record may "
				  "come back after a crash)", ss->dir, fname, strerror(errno));
	return 0;
}

static int sealed_del(struct store *s, const char *key, uint64_t expect)
{
	struct sealed_store *ss = to_sealed(s);
	int ret;

	if ((ret = check_keys(ss)))
		return ret;
	pthread_mutex_lock(&ss->lock);
	if ((ret = writer_lock(ss)) == 0) {
		ret = del_locked(ss, key, expect);
		writer_unlock(ss);
	}
	pthread_mutex_unlock(&ss->lock);
	return ret;
}

static int cmp_entry(const void *a, const void *b)
{
	return memcmp(((const struct name_entry *)a)->id, ((const struct name_entry *)b)->id,
		      SEALED_FILE_ID_LEN);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The name of the record in file fname (id its file id), from the cache
 * (its first `sorted` entries are sorted) or by opening the file (then
 * appended to the cache, unsorted).  *name points into the cache.  Needs
 * ss->lock.  0, -ENOENT (gone meanwhile), -EBADMSG, or -errno. */
static int name_of_file(struct sealed_store *ss, const char *fname,
			const uint8_t id[SEALED_FILE_ID_LEN], size_t sorted, const char **name,
			bool *added)
{
	struct name_entry key, *hit;
	uint8_t *buf = NULL, check[SEALED_FILE_ID_LEN];
	size_t buf_len;
	uint64_t version;
	char *nm = NULL;
	int ret;

	memcpy(key.id, id, SEALED_FILE_ID_LEN);
	hit = sorted ? bsearch(&key, ss->cache, sorted, sizeof(key), cmp_entry) : NULL;
	if (hit) {
		*name = hit->name;
		return 0;
	}
	ret = store_file_read(ss->dirfd, fname, SEALED_MAX_FILE, &buf, &buf_len);
	if (ret == -ENOENT)
		return ret;
	if (ret == -EBADMSG)
		return fail_not_regular(ss, fname, NULL);
	if (ret == -EFBIG)
		return fail_auth(ss, fname, NULL);
	if (ret)
		return store_fail(ret, "cannot read record file %s/%s: %s", ss->dir, fname,
				  strerror(-ret));
	ret = sealed_record_open(ss->keys, buf, buf_len, NULL, &nm, NULL, NULL, &version);
	free(buf);
	if (ret == -EBADMSG)
		return fail_auth(ss, fname, NULL);
	if (ret)
		return store_fail(ret, "cannot open record file %s/%s: %s", ss->dir, fname,
				  strerror(-ret));
	/* The name inside must hash to the file's own name: otherwise this is
	 * another record's file moved here. */
	if (sealed_file_id(ss->keys, nm, check) || memcmp(check, id, sizeof(check)) != 0 ||
	    strcmp(nm, STORE_META_KEY) == 0) {
		free(nm);
		return fail_auth(ss, fname, NULL);
	}
	if (ss->ncache == ss->capcache) {
		size_t cap = ss->capcache ? ss->capcache * 2 : 64;
		struct name_entry *c = realloc(ss->cache, cap * sizeof(*c));

		if (!c) {
			free(nm);
			return store_fail(-ENOMEM, "out of memory");
		}
		ss->cache = c;
		ss->capcache = cap;
	}
	/* The caller sorts once after the directory scan; each file appears
	 * once in a scan, so no lookup misses an entry appended by it. */
	memcpy(ss->cache[ss->ncache].id, id, SEALED_FILE_ID_LEN);
	ss->cache[ss->ncache].name = nm;
	ss->ncache++;
	*name = nm;
	*added = true;
	return 0;
}

static int push_name(char ***out, size_t *n, size_t *cap, const char *name)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		char **p = realloc(*out, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*out = p;
		*cap = c;
	}
	(*out)[*n] = strdup(name);
	if (!(*out)[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int list_locked(struct sealed_store *ss, const char *prefix, char ***keys, size_t *n)
{
	size_t plen = strlen(prefix), count = 0, cap = 0, sorted = ss->ncache;
	char **out = NULL;
	struct dirent *de;
	bool added = false;
	int fd, ret = 0;
	DIR *d;

	fd = openat(ss->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		ret = store_fail(-errno, "cannot read the directory %s: %s", ss->dir,
				 strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	while ((de = readdir(d))) {
		uint8_t id[SEALED_FILE_ID_LEN];
		const char *name = NULL;

		if (strcmp(de->d_name, META_FILE) == 0) {
			name = STORE_META_KEY;
		} else if (strlen(de->d_name) == FILE_NAME_LEN &&
			   store_file_unhex(id, de->d_name, sizeof(id))) {
			ret = name_of_file(ss, de->d_name, id, sorted, &name, &added);
			if (ret == -ENOENT) {
				ret = 0;
				continue;
			}
			if (ret)
				break;
		} else {
			continue;	/* ".", "..", .lock, temp files, strangers */
		}
		if (strncmp(name, prefix, plen) == 0 && (ret = push_name(&out, &count, &cap, name))) {
			ret = store_fail(-ENOMEM, "out of memory");
			break;
		}
	}
	closedir(d);
	if (added)
		qsort(ss->cache, ss->ncache, sizeof(ss->cache[0]), cmp_entry);
	if (ret) {
		store_list_free(out, count);
		return ret;
	}
	if (count)
		qsort(out, count, sizeof(out[0]), cmp_str);
	if (!out && !(out = calloc(1, sizeof(*out))))
		return store_fail(-ENOMEM, "out of memory");
	*keys = out;
	*n = count;
	return 0;
}

static int sealed_list(struct store *s, const char *prefix, char ***keys, size_t *n)
{
	struct sealed_store *ss = to_sealed(s);
	int ret;

	if ((ret = check_keys(ss)))
		return ret;
	pthread_mutex_lock(&ss->lock);
	ret = list_locked(ss, prefix, keys, n);
	pthread_mutex_unlock(&ss->lock);
	return ret;
}

static void sealed_close(struct store *s)
{
	struct sealed_store *ss = to_sealed(s);

	for (size_t i = 0; i < ss->ncache; i++)
		free(ss->cache[i].name);
	free(ss->cache);
	if (ss->lockfd >= 0)
		close(ss->lockfd);
	if (ss->dirfd >= 0)
		close(ss->dirfd);
	secmem_free(ss->keys, sizeof(*ss->keys));
	pthread_mutex_destroy(&ss->lock);
	free(ss->dir);
	free(ss->base.description);
	free(ss);
}

static const struct store_ops sealed_ops = {
	.get = sealed_get,
	.put = sealed_put,
	.del = sealed_del,
	.list = sealed_list,
	.close = sealed_close,
};

/* mkdir DIR (0700) for create; an existing one is fine (create_meta then
 * checks it holds no store). */
static int make_dir(const char *dir)
{
	int ret = store_file_mkdir(dir);

	if (ret == 0 || ret == -EEXIST)
		return 0;
	if (ret == -ENOENT)
		return store_fail(-ENOENT, "cannot create the store directory %s: its "
				  "parent does not exist (create it first)", dir);
	return store_fail(ret, "cannot create the store directory %s: %s", dir, strerror(-ret));
}

static int open_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	switch (errno) {
	case ENOENT:
		return store_fail(-ENOENT, "no store at %s: run `zerowg init` to create one", dir);
	case ENOTDIR:
		return store_fail(-ENOTDIR, "the store %s is not a directory", dir);
	case EACCES:
		return store_fail(-EACCES, "cannot open the store %s: permission denied (run as "
				  "the user that owns it)", dir);
	default:
		return store_fail(-errno, "cannot open the store %s: %s", dir, strerror(errno));
	}
}

/* true if DIR holds a file named like a record (what is left of a store
 * whose meta was lost: a new store over it would orphan those records). */
static bool has_record_files(struct sealed_store *ss)
{
	int fd = openat(ss->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint8_t id[SEALED_FILE_ID_LEN];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	while (!found && (de = readdir(d)))
		found = strlen(de->d_name) == FILE_NAME_LEN &&
			store_file_unhex(id, de->d_name, sizeof(id));
	closedir(d);
	return found;
}

/* Writes the canary of a new store, under the flock so that two `zerowg
 * init` at once cannot both succeed. */
static int create_meta(struct sealed_store *ss, const uint8_t *meta, size_t meta_len)
{
	const char *kind;
	struct stat st;
	uint64_t v;
	int ret;

	pthread_mutex_lock(&ss->lock);
	if ((ret = writer_lock(ss)) == 0) {
		if ((kind = store_file_kind(ss->dirfd, META_FILE)))
			ret = store_fail(-EEXIST, "%s/%s is there but is %s, not a regular file: "
					 "remove it (rm %s/%s) to create a store in %s", ss->dir,
					 META_FILE, kind, ss->dir, META_FILE, ss->dir);
		else if (fstatat(ss->dirfd, META_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0)
			ret = store_fail(-EEXIST, "a store already exists at %s: open it with its "
					 "unseal key, or move it away to start over", ss->dir);
		else if (has_record_files(ss))
			ret = store_fail(-EEXIST, "%s holds record files but no %s: it is a "
					 "damaged store, not an empty directory; restore %s/%s from "
					 "a backup, or move %s away to start over", ss->dir,
					 META_FILE, ss->dir, META_FILE, ss->dir);
		else if (fchmod(ss->dirfd, 0700) < 0)	/* it may have existed, e.g. 0755 */
			ret = store_fail(-errno, "cannot make %s private (chmod 700): %s",
					 ss->dir, strerror(errno));
		else
			ret = put_locked(ss, STORE_META_KEY, meta, meta_len, STORE_NEW, &v);
		writer_unlock(ss);
	}
	pthread_mutex_unlock(&ss->lock);
	return ret;
}

/* Proves the key: the canary must open with it. */
static int check_meta(struct sealed_store *ss)
{
	uint8_t *buf = NULL;
	size_t len;
	uint64_t v;
	int ret;

	ret = store_file_read(ss->dirfd, META_FILE, SEALED_MAX_FILE, &buf, &len);
	if (ret == -ENOENT)
		return store_fail(-ENOENT, "no store at %s (%s/%s is missing): run `zerowg init` "
				  "to create one", ss->dir, ss->dir, META_FILE);
	if (ret == -EBADMSG && store_file_kind(ss->dirfd, META_FILE))
		return store_fail(-EBADMSG, "%s/%s is %s, not a regular file: zerowg never makes "
				  "one, so someone else put it there; remove it and restore %s/%s "
				  "from a backup", ss->dir, META_FILE,
				  store_file_kind(ss->dirfd, META_FILE), ss->dir, META_FILE);
	if (ret == -EBADMSG || ret == -EFBIG)
		return store_fail(-EKEYREJECTED, "wrong unseal key for %s (or %s/%s is damaged)",
				  ss->dir, ss->dir, META_FILE);
	if (ret)
		return store_fail(ret, "cannot read %s/%s: %s", ss->dir, META_FILE, strerror(-ret));
	ret = sealed_record_open(ss->keys, buf, len, STORE_META_KEY, NULL, NULL, NULL, &v);
	free(buf);
	if (ret == -EBADMSG)
		return store_fail(-EKEYREJECTED, "wrong unseal key for %s: %s/%s does not decrypt "
				  "with it (if the key is right, that file is damaged)",
				  ss->dir, ss->dir, META_FILE);
	if (ret)
		return store_fail(ret, "cannot open %s/%s: %s", ss->dir, META_FILE, strerror(-ret));
	return 0;
}

/*
 * Who may use DIR.  Its owner, i.e. the server's user, or a user's own
 * store; and root, whoever owns it: `zerowg init`, import and export run
 * as root on the store of the server's user (and root can read and write
 * any directory anyway, so refusing it would protect nothing).  What this
 * protects is a user from trusting a store that someone else controls.
 *
 * Nobody but the owner may write to DIR: whoever can create, rename or
 * delete files there can delete records, put back an older copy of one
 * (the format cannot tell, see above), or plant a FIFO.  Reading is left
 * to the operator (e.g. an admin group that backs DIR up): all anyone
 * sees there is ciphertext and the number of records.
 *
 * creating: DIR may have existed with a looser mode; create_meta makes it
 * 0700 before it writes anything, so only the owner is checked here.
 */
static int check_dir(const struct sealed_store *ss, bool creating)
{
	uid_t me = geteuid();
	struct stat st;

	if (fstat(ss->dirfd, &st) < 0)
		return store_fail(-errno, "cannot stat the store %s: %s", ss->dir, strerror(errno));
	if (st.st_uid != me && me != 0)
		return store_fail(-EPERM, "the store %s belongs to uid %u, not to this user (uid "
				  "%u): run zerowg as the user that owns it, or give it to this "
				  "user (as root: chown -R %u:%u %s)", ss->dir, (unsigned)st.st_uid,
				  (unsigned)me, (unsigned)me, (unsigned)getegid(), ss->dir);
	if (!creating && (st.st_mode & (S_IWGRP | S_IWOTH)))
		return store_fail(-EPERM, "the store %s can be written by %s (mode %03o): they "
				  "could delete records or put back old copies of them; make it "
				  "private (chmod 700 %s)", ss->dir,
				  (st.st_mode & S_IWGRP) && (st.st_mode & S_IWOTH)
					  ? "its group and all other users"
					  : st.st_mode & S_IWGRP ? "its group" : "all other users",
				  (unsigned)(st.st_mode & 0777), ss->dir);
	return 0;
}

int store_sealed_open(const char *dir, const struct store_key *key,
		      const uint8_t *meta, size_t meta_len, struct store **out)
{
	struct sealed_store *ss;
	int ret;

	if (meta && (ret = make_dir(dir)))
		return ret;
	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return store_fail(-ENOMEM, "out of memory");
	ss->base.ops = &sealed_ops;
	ss->dirfd = -1;
	ss->lockfd = -1;
	pthread_mutex_init(&ss->lock, NULL);
	ss->dir = strdup(dir);
	if (ss->dir && asprintf(&ss->base.description, "sealed:%s", dir) < 0)
		ss->base.description = NULL;
	ss->keys = secmem_alloc(sizeof(*ss->keys));
	if (!ss->dir || !ss->base.description || !ss->keys) {
		ret = store_fail(-ENOMEM, "out of memory");
		goto err;
	}
	if ((ret = sealed_keys_derive(ss->keys, key))) {
		ret = store_fail(ret, "cannot derive the store keys (OpenSSL)");
		goto err;
	}
	ss->dirfd = open_dir(dir);
	if (ss->dirfd < 0) {
		ret = ss->dirfd;
		goto err;
	}
	ret = check_dir(ss, meta != NULL);
	if (ret == 0)
		ret = meta ? create_meta(ss, meta, meta_len) : check_meta(ss);
	if (ret)
		goto err;
	*out = &ss->base;
	return 0;
err:
	sealed_close(&ss->base);
	return ret;
}
