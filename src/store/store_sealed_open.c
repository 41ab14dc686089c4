/*
 * store_sealed_open.c - creating and opening a sealed store
 * (store_sealed.h; the design is in store_sealed.c's first comment): the
 * directory's owner and mode (check_dir), the canary that proves the key
 * (meta), the first manifest of a new store, the manifest of an existing
 * one (and the upgrade of a store from before manifests, once), and the
 * epoch file named by ZEROWG_STORE_EPOCH_FILE.
 *
 * Relies on store_sealed.c (locks, the put), store_sealed_check.c,
 * store_file.c, secmem and log.h.
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
#include <unistd.h>

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

/* true if DIR holds a file named like a record, or a manifest (what is
 * left of a store whose meta was lost: a new store over it would orphan
 * those records). */
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
		found = (strlen(de->d_name) == FILE_NAME_LEN &&
			 store_file_unhex(id, de->d_name, sizeof(id))) ||
			strcmp(de->d_name, MANIFEST_FILE) == 0;
	closedir(d);
	return found;
}

/* Writes the canary of a new store and its first manifest (generation 1),
 * under the flock so that two `zerowg init` at once cannot both succeed. */
static int create_meta(struct sealed_store *ss, const uint8_t *meta, size_t meta_len)
{
	struct manifest m;
	const char *kind;
	struct stat st;
	uint64_t v;
	int ret;

	manifest_init(&m);
	if ((ret = sealed_lock(ss)))
		return ret;
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
		ret = sealed_put_locked(ss, &m, STORE_META_KEY, meta, meta_len, STORE_NEW, &v);
	sealed_unlock(ss);
	manifest_free(&m);
	return ret;
}

/* The epoch file named by ZEROWG_STORE_EPOCH_FILE, opened (made if
 * missing) and kept open: the server writes it after dropping privileges,
 * and a file outside DIR may be out of its reach by then. */
static int epoch_open(struct sealed_store *ss)
{
	const char *path = getenv(EPOCH_ENV);
	struct stat st;
	int fd;

	if (!path || !*path)
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0600);
	if (fd < 0)
		return store_fail(-errno, "cannot open the epoch file %s (%s): %s", path, EPOCH_ENV,
				  strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return store_fail(-EINVAL, "the epoch file %s (%s) is not a regular file", path,
				  EPOCH_ENV);
	}
	store_file_give_to_dir_owner(ss->dirfd, fd);
	ss->epoch_path = strdup(path);
	if (!ss->epoch_path) {
		close(fd);
		return store_fail(-ENOMEM, "out of memory");
	}
	ss->epochfd = fd;
	return 0;
}

/*
 * A store from before manifests gets one: every record file authenticated
 * and entered, meta rewritten as version 2 in the same commit.  Under the
 * flock, so two processes opening it at once upgrade it once.  A store
 * whose meta already says 2 (or whose epoch file counts writes) lost its
 * manifest: that is refused, never upgraded again.
 */
static int upgrade(struct sealed_store *ss)
{
	struct manifest m;
	uint8_t *buf = NULL, *val = NULL, *meta = NULL;
	size_t len = 0, vlen = 0, meta_len = 0, records = 0;
	long long mver = 0, created = 0;
	uint64_t v, epoch = 0;
	struct dirent *de;
	DIR *d = NULL;
	int fd, ret;

	manifest_init(&m);
	if ((ret = sealed_lock(ss)))
		return ret;
	ret = sealed_read_manifest(ss, &m, NULL);
	if (ret != -ENOENT)
		goto out;	/* another process upgraded it meanwhile (or an error) */
	ret = store_file_read(ss->dirfd, META_FILE, SEALED_MAX_FILE, &buf, &len);
	if (ret == 0)
		ret = sealed_record_open(ss->keys, buf, len, STORE_META_KEY, NULL, &val, &vlen, &v);
	free(buf);
	buf = NULL;
	if (ret) {
		ret = sealed_fail_auth(ss, META_FILE, STORE_META_KEY);
		goto out;
	}
	store_meta_parse(val, vlen, &mver, &created);
	store_value_free(val, vlen);
	if (ss->epochfd >= 0 && sealed_epoch_read(ss, &epoch) == 0 && epoch > 0)
		mver = STORE_META_VERSION;	/* it counted writes: it had a manifest */
	if (mver >= STORE_META_VERSION) {
		ret = sealed_fail_manifest_missing(ss);
		goto out;
	}
	fd = openat(ss->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		ret = store_fail(-errno, "cannot read the directory %s: %s", ss->dir,
				 strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	while ((de = readdir(d))) {
		uint8_t digest[SEALED_DIGEST_LEN], id[SEALED_FILE_ID_LEN];
		bool is_meta = strcmp(de->d_name, META_FILE) == 0;
		char *nm = NULL;

		if (!sealed_is_record_file(de->d_name))
			continue;
		if ((ret = sealed_read_file(ss, de->d_name, NULL, &buf, &len)))
			goto out;
		if (!buf)
			continue;
		ret = sealed_record_open(ss->keys, buf, len, is_meta ? STORE_META_KEY : NULL, &nm,
					 NULL, NULL, &v);
		if (ret == 0 && !is_meta &&
		    (sealed_file_id(ss->keys, nm, id) || !store_file_unhex(digest, de->d_name,
									 sizeof(digest)) ||
		     memcmp(id, digest, sizeof(id)) != 0 || strcmp(nm, STORE_META_KEY) == 0))
			ret = -EBADMSG;
		if (ret == 0 && sealed_digest(buf, len, digest))
			ret = -EIO;
		if (ret == 0 && manifest_set(&m, nm, v, digest, MANIFEST_LIVE))
			ret = -ENOMEM;
		free(nm);
		free(buf);
		buf = NULL;
		if (ret == -EBADMSG) {
			char why[400];

			sealed_fail_auth(ss, de->d_name, NULL);
			snprintf(why, sizeof(why), "%s", store_last_error());
			ret = store_fail(-EBADMSG, "cannot add a manifest to the store: %s", why);
			goto out;
		}
		if (ret) {
			ret = store_fail(ret, "cannot add a manifest to the store %s: %s", ss->dir,
					 strerror(-ret));
			goto out;
		}
		records++;
	}
	meta = (uint8_t *)store_meta_value_at(created, &meta_len);
	if (!meta) {
		ret = store_fail(-ENOMEM, "out of memory");
		goto out;
	}
	ret = sealed_put_locked(ss, &m, STORE_META_KEY, meta, meta_len, STORE_ANY_VERSION, &v);
	if (ret == 0)
		log_warn("store %s had no manifest (made before zerowg kept one): wrote one, "
			 "binding its %zu records at generation %" PRIu64 "; from now on a "
			 "rolled-back, deleted or added record file is refused", ss->dir, records,
			 m.generation);
out:
	if (d)
		closedir(d);
	free(meta);
	sealed_unlock(ss);
	manifest_free(&m);
	return ret == -ENOENT ? 0 : ret;
}

/*
 * After the key is proven: the manifest (made for a store from before
 * manifests), meta as it names it, and the epoch file.
 */
static int check_manifest(struct sealed_store *ss)
{
	struct manifest m;
	uint64_t v, gen = 0, epoch = 0;
	int ret;

	if ((ret = epoch_open(ss)))
		return ret;
	manifest_init(&m);
	ret = sealed_read_manifest(ss, &m, NULL);
	manifest_free(&m);
	if (ret == -ENOENT)
		ret = upgrade(ss);
	if (ret)
		return ret;
	if ((ret = sealed_read_record(ss, STORE_META_KEY, NULL, NULL, &v)))
		return ret;
	pthread_mutex_lock(&ss->mlock);
	gen = ss->man.generation;
	if (ss->epochfd >= 0 && sealed_epoch_read(ss, &epoch) == 0 && epoch < gen)
		epoch = 0;	/* catch up below */
	pthread_mutex_unlock(&ss->mlock);
	if (ss->epochfd >= 0 && epoch == 0)
		sealed_epoch_update(ss, gen, true);
	log_info("store %s: generation %" PRIu64 ", %zu records, bound by its manifest%s%s",
		 ss->dir, gen, ss->man.n, ss->epochfd >= 0 ? "; epoch file " : "",
		 ss->epochfd >= 0 ? ss->epoch_path : "");
	return 0;
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
	ss->epochfd = -1;
	pthread_mutex_init(&ss->lock, NULL);
	pthread_mutex_init(&ss->mlock, NULL);
	manifest_init(&ss->man);
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
	if (ret == 0 && meta) {
		/* a new store starts its epoch over */
		if ((ret = epoch_open(ss)) == 0 && ss->epochfd >= 0)
			sealed_epoch_update(ss, 1, true);
	} else if (ret == 0) {
		ret = check_manifest(ss);
	}
	if (ret)
		goto err;
	*out = &ss->base;
	return 0;
err:
	sealed_close(&ss->base);
	return ret;
}
