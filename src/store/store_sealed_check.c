/*
 * store_sealed_check.c - the sealed store's manifest against its files
 * (store_sealed.h; the design is in store_sealed.c's first comment): the
 * handle's cached manifest, kept equal to DIR/manifest and checked against
 * the highest generation the handle saw and the epoch file kept outside
 * DIR; reading a record as the manifest names it; and the message for
 * each way a file can disagree (older, newer, another write, missing, not
 * listed, failing authentication, not a regular file), each naming the
 * record and the file, and logged as well, since tampering deserves a line
 * in the journal even when the caller prints only strerror.
 *
 * Relies on store_record.c, store_manifest.c, store_file.c and log.h.
 */
#include "store_sealed.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The file that holds record name. */
int sealed_file_name(const struct sealed_store *ss, const char *name,
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

void sealed_staged_name(char out[FILE_NAME_BUF], const char *fname)
{
	snprintf(out, FILE_NAME_BUF, "%s%s", fname, STAGED_SUFFIX);
}

/* A file name that can hold a record: "meta" or 64 hex digits. */
bool sealed_is_record_file(const char *fname)
{
	uint8_t id[SEALED_FILE_ID_LEN];

	return strcmp(fname, META_FILE) == 0 ||
	       (strlen(fname) == FILE_NAME_LEN && store_file_unhex(id, fname, sizeof(id)));
}

int sealed_fail_auth(const struct sealed_store *ss, const char *fname, const char *name)
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
int sealed_fail_not_regular(const struct sealed_store *ss, const char *fname, const char *name)
{
	const char *kind = store_file_kind(ss->dirfd, fname);

	if (!kind)	/* replaced by a regular file since: no better word */
		return sealed_fail_auth(ss, fname, name);
	log_error("store: record file %s/%s%s%s%s is %s, not a regular file", ss->dir, fname,
		  name ? " (record \"" : "", name ? name : "", name ? "\")" : "", kind);
	return store_fail(-EBADMSG, "record file %s/%s%s%s%s is %s, not a regular file: zerowg "
			  "never makes one, so someone else put it there; remove it (rm %s/%s) "
			  "and restore the record from a backup if it had one",
			  ss->dir, fname, name ? " (record \"" : "", name ? name : "",
			  name ? "\")" : "", kind, ss->dir, fname);
}

/* Reads DIR/fname whole (a record file); *buf NULL if there is none.  0 or
 * -errno with the message (a file that is not regular, or too big to be a
 * record, is an error here). */
int sealed_read_file(struct sealed_store *ss, const char *fname, const char *name,
		     uint8_t **buf, size_t *len)
{
	int ret = store_file_read(ss->dirfd, fname, SEALED_MAX_FILE, buf, len);

	if (ret == -ENOENT) {
		*buf = NULL;
		*len = 0;
		return 0;
	}
	if (ret == -EBADMSG)
		return sealed_fail_not_regular(ss, fname, name);
	if (ret == -EFBIG)
		return sealed_fail_auth(ss, fname, name);
	if (ret)
		return store_fail(ret, "cannot read record file %s/%s: %s", ss->dir, fname,
				  strerror(-ret));
	return 0;
}

bool sealed_digest_is(const uint8_t *buf, size_t len, const uint8_t want[SEALED_DIGEST_LEN])
{
	uint8_t d[SEALED_DIGEST_LEN];

	return sealed_digest(buf, len, d) == 0 && memcmp(d, want, sizeof(d)) == 0;
}

/* ------------------------------------------------------ the manifest -- */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The generation the epoch file holds, 0 if none or empty; -errno with a
 * message if it cannot be read or holds something else.  Needs mlock (or
 * the handle alone). */
int sealed_epoch_read(struct sealed_store *ss, uint64_t *value)
{
	char text[64];
	ssize_t n = pread(ss->epochfd, text, sizeof(text) - 1, 0);
	char *end;

	*value = 0;
	if (n < 0)
		return store_fail(-errno, "cannot read the epoch file %s: %s", ss->epoch_path,
				  strerror(errno));
	text[n] = '\0';
	if (n == 0)
		return 0;
	errno = 0;
	*value = strtoull(text, &end, 10);
	if (end == text || errno || (*end && strcmp(end, "\n") != 0) || text[0] == '-')
		return store_fail(-EINVAL, "the epoch file %s holds \"%.20s\", not a store "
				  "generation: fix or remove it (zerowg writes it again)",
				  ss->epoch_path, text);
	return 0;
}

/* The store is rolled back if its generation is below what the epoch file
 * (kept outside DIR) last recorded.  Needs mlock (or the handle alone). */
static int epoch_check(struct sealed_store *ss, uint64_t generation)
{
	uint64_t value;
	int ret;

	if (ss->epochfd < 0)
		return 0;
	if ((ret = sealed_epoch_read(ss, &value)))
		return ret;
	if (value > generation) {
		log_error("store: %s is at generation %" PRIu64 ", but the epoch file %s says %"
			  PRIu64 ": the store was rolled back", ss->dir, generation,
			  ss->epoch_path, value);
		return store_fail(-EBADMSG, "the store %s is at generation %" PRIu64 ", but the "
				  "epoch file %s says %" PRIu64 ": the whole store was rolled back "
				  "(restored from an older copy); restore the newest backup, or, if "
				  "this copy is the one you want, remove the epoch file", ss->dir,
				  generation, ss->epoch_path, value);
	}
	return 0;
}

/* Records generation in the epoch file (in place: a fixed-width line, so a
 * write never leaves a shorter number behind).  A failure is logged, not
 * returned: the write it follows is committed, and an epoch that lags only
 * weakens the check by the writes it missed.  at_open: also cut the file
 * to that line (at open only: the server's seccomp filter has no
 * ftruncate, and a file cut once stays the line's length).  Needs ss->lock,
 * or the handle alone. */
void sealed_epoch_update(struct sealed_store *ss, uint64_t generation, bool at_open)
{
	char text[EPOCH_TEXT_LEN + 1];

	if (ss->epochfd < 0)
		return;
	snprintf(text, sizeof(text), "%020" PRIu64 "\n", generation);
	pthread_mutex_lock(&ss->mlock);
	if (pwrite(ss->epochfd, text, EPOCH_TEXT_LEN, 0) != EPOCH_TEXT_LEN ||
	    (at_open && ftruncate(ss->epochfd, EPOCH_TEXT_LEN) < 0) || fdatasync(ss->epochfd) < 0)
		log_error("store: cannot record generation %" PRIu64 " in the epoch file %s: %s",
			  generation, ss->epoch_path, strerror(errno));
	pthread_mutex_unlock(&ss->mlock);
}

int sealed_fail_manifest_missing(const struct sealed_store *ss)
{
	log_error("store: %s/%s is missing", ss->dir, MANIFEST_FILE);
	return store_fail(-EBADMSG, "the manifest %s/%s is missing, but this store had one: it "
			  "was deleted, or the store rolled back to a copy of it that lost "
			  "it; restore the store from a backup", ss->dir, MANIFEST_FILE);
}

/*
 * Reads DIR/manifest into m (initialised).  -ENOENT if there is none (no
 * message: the caller knows whether that is an old store), -EBADMSG if it
 * fails authentication, or -errno; a message for each.  *st (may be NULL)
 * is the file's.
 */
int sealed_read_manifest(struct sealed_store *ss, struct manifest *m, struct stat *st)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	const char *kind;
	int ret;

	ret = store_file_read_st(ss->dirfd, MANIFEST_FILE, MANIFEST_MAX_FILE, &buf, &len, st);
	if (ret == -ENOENT)
		return ret;
	if (ret == -EBADMSG && (kind = store_file_kind(ss->dirfd, MANIFEST_FILE)))
		return store_fail(-EBADMSG, "the manifest %s/%s is %s, not a regular file: "
				  "zerowg never makes one, so someone else put it there; remove "
				  "it and restore %s/%s from a backup", ss->dir, MANIFEST_FILE,
				  kind, ss->dir, MANIFEST_FILE);
	if (ret && ret != -EFBIG && ret != -EBADMSG)
		return store_fail(ret, "cannot read the manifest %s/%s: %s", ss->dir,
				  MANIFEST_FILE, strerror(-ret));
	if (ret == 0)
		ret = manifest_open(ss->keys, buf, len, m);
	free(buf);
	if (ret == -ENOMEM)
		return store_fail(ret, "out of memory");
	if (ret) {
		log_error("store: the manifest %s/%s failed authentication", ss->dir, MANIFEST_FILE);
		return store_fail(-EBADMSG, "the manifest %s/%s failed authentication: it was "
				  "tampered with or damaged (the unseal key is right: meta opens "
				  "with it); restore the store from a backup", ss->dir,
				  MANIFEST_FILE);
	}
	return 0;
}

/* A generation below one this handle saw, or below the epoch file's: the
 * store went back.  Needs mlock. */
static int check_generation(struct sealed_store *ss, uint64_t generation)
{
	if (generation < ss->gen_seen) {
		log_error("store: the manifest of %s went back from generation %" PRIu64 " to %"
			  PRIu64, ss->dir, ss->gen_seen, generation);
		return store_fail(-EBADMSG, "the manifest %s/%s went back from generation %"
				  PRIu64 " to %" PRIu64 " while the store was open: the store was "
				  "rolled back (restored from an older copy)", ss->dir,
				  MANIFEST_FILE, ss->gen_seen, generation);
	}
	return epoch_check(ss, generation);
}

/* Makes the cached manifest the one on disk (re-read only if the file
 * changed).  Needs mlock.  0 or -errno with a message. */
int sealed_refresh_manifest(struct sealed_store *ss)
{
	struct manifest m;
	char (*files)[FILE_NAME_LEN + 1] = NULL;
	struct stat st;
	int ret;

	if (ss->man_valid && fstatat(ss->dirfd, MANIFEST_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    same_file(&st, &ss->man_st))
		return 0;
	manifest_init(&m);
	ret = sealed_read_manifest(ss, &m, &st);
	if (ret == -ENOENT)
		return sealed_fail_manifest_missing(ss);
	if (ret)
		return ret;
	if ((ret = check_generation(ss, m.generation)))
		goto out;
	files = calloc(m.n ? m.n : 1, sizeof(*files));
	if (!files) {
		ret = store_fail(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m.n; i++)
		if ((ret = sealed_file_name(ss, m.v[i].name, files[i])))
			goto out;
	manifest_free(&ss->man);
	free(ss->man_files);
	ss->man = m;
	manifest_init(&m);
	ss->man_files = files;
	files = NULL;
	ss->man_st = st;
	ss->man_valid = true;
	ss->gen_seen = ss->man.generation;
out:
	free(files);
	manifest_free(&m);
	return ret;
}

/* What the manifest on disk says of name. */
int sealed_lookup(struct sealed_store *ss, const char *name, struct expect *e)
{
	struct manifest_entry *me;
	int ret;

	memset(e, 0, sizeof(*e));
	pthread_mutex_lock(&ss->mlock);
	ret = sealed_refresh_manifest(ss);
	if (ret == 0 && (me = manifest_find(&ss->man, name))) {
		e->listed = true;
		e->state = me->state;
		e->version = me->version;
		memcpy(e->digest, me->digest, SEALED_DIGEST_LEN);
	}
	pthread_mutex_unlock(&ss->mlock);
	return ret;
}

void sealed_expect_of(const struct manifest *m, const char *name, struct expect *e)
{
	const struct manifest_entry *me = manifest_find(m, name);

	memset(e, 0, sizeof(*e));
	if (me) {
		e->listed = true;
		e->state = me->state;
		e->version = me->version;
		memcpy(e->digest, me->digest, SEALED_DIGEST_LEN);
	}
}

/* ------------------------------------------- what the files disagree on -- */

/* DIR/fname (bytes buf) holds a record the manifest does not list. */
int sealed_fail_unlisted(struct sealed_store *ss, const char *fname, const uint8_t *buf,
			 size_t len)
{
	uint8_t check[SEALED_FILE_ID_LEN], id[SEALED_FILE_ID_LEN];
	uint64_t version = 0;
	char *nm = NULL;
	int ret;

	ret = sealed_record_open(ss->keys, buf, len, NULL, &nm, NULL, NULL, &version);
	if (ret == -ENOMEM)
		return store_fail(ret, "out of memory");
	if (ret)
		return sealed_fail_auth(ss, fname, NULL);
	/* The name inside must be the file's: otherwise it is another
	 * record's file moved here, which authentication already calls it. */
	if (strcmp(fname, META_FILE) == 0 ? strcmp(nm, STORE_META_KEY) != 0
	    : (!store_file_unhex(id, fname, sizeof(id)) || sealed_file_id(ss->keys, nm, check) ||
	       memcmp(check, id, sizeof(id)) != 0 || strcmp(nm, STORE_META_KEY) == 0)) {
		free(nm);
		return sealed_fail_auth(ss, fname, NULL);
	}
	log_error("store: record \"%s\" (file %s/%s, version %" PRIu64 ") is not in the manifest",
		  nm, ss->dir, fname, version);
	ret = store_fail(-EBADMSG, "record \"%s\" (file %s/%s, version %" PRIu64 ") is not in "
			 "the manifest: a deleted (e.g. revoked) record was put back, or the file "
			 "was copied from another store sealed with the same key; remove it "
			 "(rm %s/%s) or restore the store from a backup", nm, ss->dir, fname,
			 version, ss->dir, fname);
	free(nm);
	return ret;
}

/* The manifest names the record, but its file is gone. */
int sealed_fail_missing(const struct sealed_store *ss, const char *name, const char *fname,
			const struct expect *e)
{
	log_error("store: record \"%s\" (file %s/%s) is missing", name, ss->dir, fname);
	return store_fail(-EBADMSG, "record \"%s\" is missing: the manifest names version %"
			  PRIu64 ", but its file %s/%s was deleted; restore the store from a "
			  "backup, or delete the record", name, e->version, ss->dir, fname);
}

/* DIR/fname (bytes buf) is not the write of name the manifest names. */
static int fail_mismatch(struct sealed_store *ss, const char *name, const char *fname,
			 const uint8_t *buf, size_t len, const struct expect *e)
{
	uint64_t v = 0;
	int ret;

	ret = sealed_record_open(ss->keys, buf, len, name, NULL, NULL, NULL, &v);
	if (ret == -ENOMEM)
		return store_fail(ret, "out of memory");
	if (ret)
		return sealed_fail_auth(ss, fname, name);
	log_error("store: record \"%s\" (file %s/%s) is version %" PRIu64 ", the manifest says %"
		  PRIu64 "%s", name, ss->dir, fname, v, e->version,
		  v == e->version ? " of another write" : "");
	if (v < e->version)
		return store_fail(-EBADMSG, "record \"%s\" is older than the manifest says "
				  "(version %" PRIu64 ", expected %" PRIu64 "): the store was "
				  "rolled back or the file %s/%s restored from a backup; restore "
				  "the whole store from one backup, or delete the record", name, v,
				  e->version, ss->dir, fname);
	if (v > e->version)
		return store_fail(-EBADMSG, "record \"%s\" is newer than the manifest says "
				  "(version %" PRIu64 ", expected %" PRIu64 "): the manifest %s/%s "
				  "was rolled back, or %s/%s is a copy from before the record was "
				  "deleted and made again; restore the store from a backup", name,
				  v, e->version, ss->dir, MANIFEST_FILE, ss->dir, fname);
	return store_fail(-EBADMSG, "record \"%s\" is version %" PRIu64 " as the manifest says, "
			  "but %s/%s is not that write: a copy from another store sealed with "
			  "the same key, or from before the record was deleted and made again; "
			  "restore the store from a backup, or delete the record", name, v,
			  ss->dir, fname);
}

/*
 * Reads the record `name` as the manifest (e) names it: from its file, or
 * from its staged file if a write committed but did not rename it yet.
 * val may be NULL (only the version is wanted).  final: disagreement is an
 * error (with the message); otherwise it is -EAGAIN (look again under the
 * lock).  0, -ENOENT, -EAGAIN, -EBADMSG or -errno.
 */
int sealed_read_as_named(struct sealed_store *ss, const char *name, const struct expect *e,
			 bool final, uint8_t **val, size_t *len, uint64_t *version)
{
	char fname[FILE_NAME_LEN + 1], staged[FILE_NAME_BUF];
	uint8_t *buf = NULL, *sbuf = NULL;
	size_t blen = 0, slen = 0;
	const uint8_t *use = NULL;
	size_t use_len = 0;
	int ret;

	if ((ret = sealed_file_name(ss, name, fname)))
		return ret;
	if ((ret = sealed_read_file(ss, fname, name, &buf, &blen)))
		return ret;
	if (!e->listed || e->state == MANIFEST_DELETING) {
		if (!buf || (e->listed && sealed_digest_is(buf, blen, e->digest)))
			ret = store_fail(-ENOENT, "no record \"%s\" in %s", name, ss->dir);
		else
			ret = final ? sealed_fail_unlisted(ss, fname, buf, blen) : -EAGAIN;
		goto out;
	}
	if (buf && sealed_digest_is(buf, blen, e->digest)) {
		use = buf;
		use_len = blen;
	} else {
		sealed_staged_name(staged, fname);
		if ((ret = sealed_read_file(ss, staged, name, &sbuf, &slen)))
			goto out;
		if (sbuf && sealed_digest_is(sbuf, slen, e->digest)) {
			use = sbuf;
			use_len = slen;
		}
	}
	if (!use) {
		if (!final)
			ret = -EAGAIN;
		else if (!buf)
			ret = sealed_fail_missing(ss, name, fname, e);
		else
			ret = fail_mismatch(ss, name, fname, buf, blen, e);
		goto out;
	}
	ret = sealed_record_open(ss->keys, use, use_len, name, NULL, val, len, version);
	if (ret == -EBADMSG)
		ret = sealed_fail_auth(ss, fname, name);
	else if (ret)
		ret = store_fail(ret, "cannot open record file %s/%s: %s", ss->dir, fname,
				 strerror(-ret));
	else if (*version != e->version)	/* a digest match makes this impossible */
		ret = fail_mismatch(ss, name, fname, use, use_len, e);
out:
	free(buf);
	free(sbuf);
	return ret;
}
