/*
 * store_manifest_test.c - the sealed store is tamper-evident, not only
 * confidential (src/store/store_sealed.c, store_manifest.c): with the
 * manifest binding every record file, each of these is refused with
 * -EBADMSG and a message that names the record and says what is wrong:
 *   an old copy of a record file put back          ("older than the manifest says")
 *   a record file deleted                          ("is missing")
 *   a deleted (revoked) record's file put back     ("not in the manifest")
 *   a file copied in from another store sealed with the same key
 *   two record files swapped                       ("failed authentication")
 *   the manifest alone rolled back                 ("newer than the manifest says",
 *                                                   "went back from generation")
 *   the manifest deleted                           ("missing")
 * and a whole-store rollback is caught when an epoch file outside the store
 * is kept (ZEROWG_STORE_EPOCH_FILE).  A writer killed at each step of a put
 * or a delete (ZWG_STORE_CRASH_AT) leaves a store that opens with the last
 * committed state, never an older one; a store from before manifests is
 * upgraded on open; readers racing a writer never see a false alarm.
 *
 * Directories are made under $TMPDIR (or /tmp) with the PID in their name
 * and removed at exit; the keys are made-up test keys.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_backend.h"
#include "test.h"

#define MAX_DIRS 64
static char *dirs[MAX_DIRS];
static size_t ndirs;
static pid_t main_pid;
static struct store_key *key_a;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_dirs(void)
{
	if (getpid() != main_pid)
		return;
	for (size_t i = 0; i < ndirs; i++) {
		nftw(dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
		free(dirs[i]);
	}
	ndirs = 0;
}

static void on_signal(int sig)
{
	if (getpid() == main_pid)
		for (size_t i = 0; i < ndirs; i++)
			nftw(dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
	_exit(128 + sig);
}

static char *new_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[512];

	snprintf(path, sizeof(path), "%s/zwg-manifest-test.%d.XXXXXX", tmp ? tmp : "/tmp",
		 (int)getpid());
	if (!mkdtemp(path) || ndirs == MAX_DIRS)
		abort();
	dirs[ndirs] = strdup(path);
	return dirs[ndirs++];
}

/* A new store at DIR/data: dir gets DIR/data, uri "sealed:DIR/data". */
static struct store *new_store(char dir[512], char uri[600], const struct store_key *k)
{
	char err[512];
	struct store *s = NULL;

	snprintf(dir, 512, "%s/data", new_dir());
	snprintf(uri, 600, "sealed:%s", dir);
	if (store_create(uri, k, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "  store_create: %s\n", err);
		abort();
	}
	return s;
}

static struct store *reopen(const char *uri, int *ret, char *err, size_t errlen)
{
	struct store *s = NULL;

	*ret = store_open(uri, key_a, &s, err, errlen);
	return s;
}

static struct store_key *test_key(uint8_t fill)
{
	struct store_key *k = store_key_new();
	uint32_t x = 0x9e3779b9u * (fill + 1u);

	if (!k)
		abort();
	for (int i = 0; i < STORE_KEY_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		k->bytes[i] = (uint8_t)(x >> 24);
	}
	return k;
}

static int put_str(struct store *s, const char *key, const char *val, uint64_t expect)
{
	return store_put(s, key, (const uint8_t *)val, strlen(val), expect, NULL);
}

static bool holds(struct store *s, const char *key, const char *val, uint64_t *version)
{
	uint8_t *v = NULL;
	size_t len = 0;
	uint64_t ver = 0;
	bool ok;

	if (store_get(s, key, &v, &len, &ver) != 0)
		return false;
	ok = len == strlen(val) && memcmp(v, val, len) == 0;
	store_value_free(v, len);
	if (version)
		*version = ver;
	return ok;
}

static bool contains(const char *hay, const char *needle)
{
	bool ok = hay && strstr(hay, needle) != NULL;

	if (!ok)
		fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", hay ? hay : "(null)", needle);
	return ok;
}

static void record_path(char *out, size_t outlen, const char *dir, const struct store_key *k,
			const char *name)
{
	struct sealed_keys keys;
	uint8_t id[SEALED_FILE_ID_LEN];
	char hexid[2 * SEALED_FILE_ID_LEN + 1];

	if (sealed_keys_derive(&keys, k) || sealed_file_id(&keys, name, id))
		abort();
	store_file_hex(hexid, id, sizeof(id));
	explicit_bzero(&keys, sizeof(keys));
	snprintf(out, outlen, "%s/%s", dir, hexid);
}

/* A file's bytes (heap, *len set); NULL if it cannot be read. */
static uint8_t *slurp(const char *path, size_t *len)
{
	static uint8_t buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n;
	uint8_t *out;

	*len = 0;
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || !(out = malloc((size_t)n + 1)))
		return NULL;
	memcpy(out, buf, (size_t)n);
	*len = (size_t)n;
	return out;
}

/* Puts bytes at path the way an attacker or a restore would: not through
 * the store. */
static void spill(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);

	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		abort();
	close(fd);
}

static size_t count_suffix(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0, sl = strlen(suffix);

	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);

		n += l > sl && strcmp(de->d_name + l - sl, suffix) == 0;
	}
	if (d)
		closedir(d);
	return n;
}

static uint64_t generation(struct store *s)
{
	uint64_t g = 0;

	if (store_generation(s, &g) != 0)
		return 0;
	return g;
}

/* ------------------------------------------------------------ records -- */

/* An old copy of a record file put back: the store names the record. */
static void test_rolled_back_record(void)
{
	char dir[512], uri[600], path[700], err[512];
	struct store *s = new_store(dir, uri, key_a);
	uint8_t *v1;
	size_t len;
	char **keys = NULL;
	size_t n = 0;
	int ret;

	CHECK_INT(put_str(s, "peers/phone", "{\"enabled\":false}", STORE_NEW), 0);
	record_path(path, sizeof(path), dir, key_a, "peers/phone");
	v1 = slurp(path, &len);
	CHECK(v1 != NULL);
	CHECK_INT(put_str(s, "peers/phone", "{\"enabled\":true}", 1), 0);
	CHECK_INT(put_str(s, "peers/phone", "{\"enabled\":false,\"x\":1}", 2), 0);
	spill(path, v1, len);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "record \"peers/phone\" is older than the manifest "
					   "says (version 1, expected 3)"));
	CHECK(contains(store_last_error(), "rolled back"));
	/* not overwritten either: nobody can vouch for its version */
	CHECK_INT(put_str(s, "peers/phone", "x", STORE_ANY_VERSION), -EBADMSG);
	store_close(s);

	/* a fresh handle, the start of a server: the same */
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK_INT(store_list(s, "peers/", &keys, &n), 0);	/* the file is there */
	store_list_free(keys, n);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "older than the manifest says"));
	/* the way out: delete it */
	CHECK_INT(store_delete(s, "peers/phone", STORE_ANY_VERSION), 0);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -ENOENT);
	store_close(s);
	free(v1);
}

/* A record file deleted behind the store's back. */
static void test_deleted_record(void)
{
	char dir[512], uri[600], path[700], err[512];
	struct store *s = new_store(dir, uri, key_a);
	char **keys = NULL;
	size_t n = 0;
	int ret;

	CHECK_INT(put_str(s, "peers/laptop", "{}", STORE_NEW), 0);
	CHECK_INT(put_str(s, "server", "{}", STORE_NEW), 0);
	record_path(path, sizeof(path), dir, key_a, "peers/laptop");
	CHECK_INT(unlink(path), 0);
	CHECK_INT(store_get(s, "peers/laptop", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "record \"peers/laptop\" is missing"));
	store_close(s);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK_INT(store_list(s, "", &keys, &n), -EBADMSG);
	CHECK(contains(store_last_error(), "\"peers/laptop\" is missing"));
	/* a list of another prefix checks the whole directory too */
	CHECK_INT(store_list(s, "server", &keys, &n), -EBADMSG);
	store_close(s);
}

/* The attack of the issue: revoke a peer, put its old file back. */
static void test_revoked_put_back(void)
{
	char dir[512], uri[600], path[700], err[512];
	struct store *s = new_store(dir, uri, key_a);
	uint8_t *old, *v3, *v1;
	size_t len, len3, len1;
	char **keys = NULL;
	size_t n = 0;
	int ret;

	CHECK_INT(put_str(s, "peers/phone", "{\"key\":\"old\"}", STORE_NEW), 0);
	record_path(path, sizeof(path), dir, key_a, "peers/phone");
	old = slurp(path, &len);
	CHECK_INT(store_delete(s, "peers/phone", 1), 0);	/* revoked */
	spill(path, old, len);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "record \"peers/phone\""));
	CHECK(contains(store_last_error(), "is not in the manifest"));
	CHECK_INT(store_list(s, "peers/", &keys, &n), -EBADMSG);
	CHECK(contains(store_last_error(), "\"peers/phone\""));
	store_close(s);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK_INT(store_list(s, "", &keys, &n), -EBADMSG);
	CHECK(contains(store_last_error(), "not in the manifest"));
	CHECK_INT(unlink(path), 0);
	CHECK_INT(store_list(s, "", &keys, &n), 0);
	store_list_free(keys, n);

	/* made again, later: an old incarnation is not it (versions restart
	 * at 1 after a delete, digests do not repeat) */
	CHECK_INT(put_str(s, "peers/phone", "a", STORE_NEW), 0);
	CHECK_INT(put_str(s, "peers/phone", "b", 1), 0);
	CHECK_INT(put_str(s, "peers/phone", "c", 2), 0);
	v3 = slurp(path, &len3);
	CHECK_INT(store_delete(s, "peers/phone", 3), 0);
	CHECK_INT(put_str(s, "peers/phone", "new", STORE_NEW), 0);
	v1 = slurp(path, &len1);
	spill(path, v3, len3);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "is newer than the manifest says (version 3, "
					   "expected 1)"));
	spill(path, old, len);	/* version 1 as well, another write */
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "is version 1 as the manifest says, but"));
	spill(path, v1, len1);
	CHECK(holds(s, "peers/phone", "new", NULL));
	store_close(s);
	free(old);
	free(v3);
	free(v1);
}

/* Files copied in from another store sealed with the same key. */
static void test_mixed_in(void)
{
	char dir[512], uri[600], dir2[512], uri2[600], pa[700], pb[700];
	struct store *s = new_store(dir, uri, key_a), *s2 = new_store(dir2, uri2, key_a);
	uint8_t *buf;
	size_t len;
	char **keys = NULL;
	size_t n = 0;

	CHECK_INT(put_str(s, "peers/phone", "mine", STORE_NEW), 0);
	CHECK_INT(put_str(s2, "peers/phone", "theirs", STORE_NEW), 0);
	CHECK_INT(put_str(s2, "peers/evil", "{\"key\":\"attacker\"}", STORE_NEW), 0);

	/* a record this store never had */
	record_path(pb, sizeof(pb), dir2, key_a, "peers/evil");
	record_path(pa, sizeof(pa), dir, key_a, "peers/evil");
	buf = slurp(pb, &len);
	spill(pa, buf, len);
	free(buf);
	CHECK_INT(store_list(s, "peers/", &keys, &n), -EBADMSG);
	CHECK(contains(store_last_error(), "record \"peers/evil\""));
	CHECK(contains(store_last_error(), "not in the manifest"));
	CHECK_INT(store_get(s, "peers/evil", NULL, NULL, NULL), -EBADMSG);
	CHECK_INT(unlink(pa), 0);

	/* the other store's write of a record both have, same version */
	record_path(pb, sizeof(pb), dir2, key_a, "peers/phone");
	record_path(pa, sizeof(pa), dir, key_a, "peers/phone");
	buf = slurp(pb, &len);
	spill(pa, buf, len);
	free(buf);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "\"peers/phone\" is version 1 as the manifest says"));

	/* the other store's manifest: refused too */
	{
		char ma[700], mb[700];

		snprintf(ma, sizeof(ma), "%s/manifest", dir);
		snprintf(mb, sizeof(mb), "%s/manifest", dir2);
		buf = slurp(mb, &len);
		spill(ma, buf, len);
		free(buf);
		store_close(s);
		s = NULL;
		{
			char err[512];
			int ret;

			s = reopen(uri, &ret, err, sizeof(err));
			/* meta differs (its own write in each store) */
			CHECK_INT(ret, -EBADMSG);
			CHECK(contains(err, "\"meta\""));
		}
	}
	store_close(s);
	store_close(s2);
}

/* Two record files swapped: each name is inside its file's AEAD. */
static void test_swapped(void)
{
	char dir[512], uri[600], pa[700], pb[700], tmp[720];
	struct store *s = new_store(dir, uri, key_a);

	CHECK_INT(put_str(s, "peers/alice", "a", STORE_NEW), 0);
	CHECK_INT(put_str(s, "peers/bob", "b", STORE_NEW), 0);
	record_path(pa, sizeof(pa), dir, key_a, "peers/alice");
	record_path(pb, sizeof(pb), dir, key_a, "peers/bob");
	snprintf(tmp, sizeof(tmp), "%s.swap", pa);
	CHECK_INT(rename(pa, tmp), 0);
	CHECK_INT(rename(pb, pa), 0);
	CHECK_INT(rename(tmp, pb), 0);
	CHECK_INT(store_get(s, "peers/alice", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "(record \"peers/alice\") failed authentication"));
	CHECK_INT(store_get(s, "peers/bob", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), strrchr(pb, '/') + 1));
	store_close(s);
}

/* ----------------------------------------------------------- manifest -- */

static void test_manifest_rolled_back(void)
{
	char dir[512], uri[600], mpath[700], err[512];
	struct store *s = new_store(dir, uri, key_a), *s2;
	uint8_t *old, *cur;
	size_t len, clen;
	char **keys = NULL;
	size_t n = 0;
	int ret;

	snprintf(mpath, sizeof(mpath), "%s/manifest", dir);
	CHECK_INT(generation(s), 1);
	CHECK_INT(put_str(s, "peers/phone", "v1", STORE_NEW), 0);
	CHECK_INT(generation(s), 2);
	old = slurp(mpath, &len);
	CHECK_INT(put_str(s, "peers/phone", "v2", 1), 0);
	CHECK_INT(generation(s), 3);
	cur = slurp(mpath, &clen);
	CHECK(old != NULL && cur != NULL);
	if (!old || !cur) {
		free(old);
		free(cur);
		store_close(s);
		return;
	}

	/* the open handle saw generation 3: going back is refused outright */
	spill(mpath, old, len);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "went back from generation 3 to 2"));
	CHECK_INT(store_generation(s, &(uint64_t){ 0 }), -EBADMSG);

	/* a fresh handle: the record is newer than the manifest says */
	s2 = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK_INT(store_get(s2, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "record \"peers/phone\" is newer than the manifest "
					   "says (version 2, expected 1)"));
	store_close(s2);

	/* and a record added since is not in it */
	spill(mpath, cur, clen);
	CHECK_INT(put_str(s, "peers/tablet", "t", STORE_NEW), 0);
	spill(mpath, cur, clen);
	s2 = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK_INT(store_list(s2, "peers/", &keys, &n), -EBADMSG);
	CHECK(contains(store_last_error(), "\"peers/tablet\""));
	store_close(s2);

	/* deleted: never taken for a store from before manifests */
	CHECK_INT(unlink(mpath), 0);
	s2 = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, -EBADMSG);
	CHECK(contains(err, "manifest") && contains(err, "is missing"));
	CHECK(s2 == NULL);

	/* damaged */
	cur[clen / 2] ^= 1;
	spill(mpath, cur, clen);
	s2 = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, -EBADMSG);
	CHECK(contains(err, "manifest") && contains(err, "failed authentication"));
	store_close(s);
	free(old);
	free(cur);
}

static void test_generation(void)
{
	char dir[512], uri[600], err[512];
	struct store *s = new_store(dir, uri, key_a), *m = NULL;
	int ret;

	CHECK_INT(generation(s), 1);
	CHECK_INT(put_str(s, "a", "1", STORE_NEW), 0);
	CHECK_INT(put_str(s, "a", "2", 1), 0);
	CHECK_INT(store_delete(s, "a", 2), 0);
	CHECK_INT(generation(s), 4);
	/* a failed write changes nothing */
	CHECK_INT(put_str(s, "b", "1", 7), -ESTALE);
	CHECK_INT(generation(s), 4);
	store_close(s);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK_INT(generation(s), 4);
	store_close(s);

	CHECK_INT(store_open("memory:", NULL, &m, err, sizeof(err)), 0);
	CHECK_INT(generation(m), 1);
	CHECK_INT(put_str(m, "a", "1", STORE_NEW), 0);
	CHECK_INT(store_delete(m, "a", 1), 0);
	CHECK_INT(generation(m), 3);
	store_close(m);
}

/* ---------------------------------------------------------- crashes -- */

/* Runs fn in a child that dies at step (as kill -9 would there). */
static bool die_at(const char *uri, const char *step, int (*fn)(struct store *))
{
	pid_t pid = fork();
	int status = -1;

	if (pid == 0) {
		struct store_key *k = test_key(1);	/* secmem is wiped in children */
		struct store *s = NULL;
		char err[512];

		if (store_open(uri, k, &s, err, sizeof(err)))
			_exit(1);
		setenv("ZWG_STORE_CRASH_AT", step, 1);
		fn(s);
		_exit(0);	/* did not reach the step */
	}
	if (pid < 0)
		return false;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 86;
}

static int put_v2(struct store *s) { return put_str(s, "peers/phone", "v2", 1); }
static int put_new(struct store *s) { return put_str(s, "peers/new", "n", STORE_NEW); }
static int del_phone(struct store *s) { return store_delete(s, "peers/phone", 2); }

static void test_crash_points(void)
{
	char dir[512], uri[600], path[700], err[512], staged[720];
	struct store *s;
	uint8_t *buf;
	size_t len;
	uint64_t v = 0;
	int ret;

	/* died after staging, before the commit: the old state, and the
	 * staged file is ignored, then removed by the next writer */
	s = new_store(dir, uri, key_a);
	CHECK_INT(put_str(s, "peers/phone", "v1", STORE_NEW), 0);
	store_close(s);
	record_path(path, sizeof(path), dir, key_a, "peers/phone");
	snprintf(staged, sizeof(staged), "%s.new", path);
	CHECK(die_at(uri, "put-staged", put_v2));
	CHECK_INT(count_suffix(dir, ".new"), 1);
	/* the next writer (dying too) removes that one, leaves its own */
	CHECK(die_at(uri, "put-staged", put_new));
	CHECK_INT(count_suffix(dir, ".new"), 1);
	CHECK_INT(access(staged, F_OK), -1);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK(holds(s, "peers/phone", "v1", &v));
	CHECK_INT(v, 1);
	CHECK_INT(store_get(s, "peers/new", NULL, NULL, NULL), -ENOENT);
	CHECK_INT(generation(s), 2);
	CHECK_INT(put_str(s, "server", "{}", STORE_NEW), 0);
	CHECK_INT(count_suffix(dir, ".new"), 0);
	CHECK(holds(s, "peers/phone", "v1", NULL));
	store_close(s);

	/* died after the commit, before the rename: the new state, read from
	 * the staged file; the next writer moves it into place */
	CHECK(die_at(uri, "put-committed", put_v2));
	CHECK_INT(access(staged, F_OK), 0);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK(holds(s, "peers/phone", "v2", &v));
	CHECK_INT(v, 2);
	{
		char **keys = NULL;
		size_t n = 0;

		CHECK_INT(store_list(s, "peers/", &keys, &n), 0);
		CHECK_INT(n, 1);
		store_list_free(keys, n);
	}
	/* ... but not if someone removes the staged file: never the old one */
	buf = slurp(staged, &len);
	CHECK_INT(unlink(staged), 0);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "older than the manifest says (version 1, expected 2)"));
	spill(staged, buf, len);
	free(buf);
	CHECK_INT(put_str(s, "server", "{\"x\":1}", 1), 0);
	CHECK_INT(access(staged, F_OK), -1);
	CHECK(holds(s, "peers/phone", "v2", NULL));
	store_close(s);

	/* died after committing a delete, before the unlink: deleted; the
	 * file left is removed by the next writer, and, put back after
	 * that, refused */
	buf = slurp(path, &len);
	CHECK(die_at(uri, "delete-committed", del_phone));
	CHECK_INT(access(path, F_OK), 0);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -ENOENT);
	{
		char **keys = NULL;
		size_t n = 0;

		CHECK_INT(store_list(s, "peers/", &keys, &n), 0);
		CHECK_INT(n, 0);
		store_list_free(keys, n);
	}
	CHECK_INT(put_str(s, "server", "{\"x\":2}", 2), 0);
	CHECK_INT(access(path, F_OK), -1);
	spill(path, buf, len);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "not in the manifest"));
	free(buf);
	store_close(s);
}

/* A reader racing a writer in another process never sees a false alarm. */
static void test_readers_race_writer(void)
{
	char dir[512], uri[600];
	struct store *s = new_store(dir, uri, key_a);
	int errors = 0, reads = 0, status = -1;
	pid_t pid;

	CHECK_INT(put_str(s, "peers/a", "0", STORE_NEW), 0);
	CHECK_INT(put_str(s, "peers/b", "0", STORE_NEW), 0);
	pid = fork();
	if (pid == 0) {
		struct store_key *k = test_key(1);
		struct store *w = NULL;
		char err[512], val[32];

		if (store_open(uri, k, &w, err, sizeof(err)))
			_exit(1);
		for (int i = 1; i <= 60; i++) {
			snprintf(val, sizeof(val), "%d", i);
			if (put_str(w, i % 2 ? "peers/a" : "peers/b", val, STORE_ANY_VERSION) ||
			    (i % 10 == 5 && put_str(w, "peers/c", val, STORE_ANY_VERSION)) ||
			    (i % 10 == 0 && store_delete(w, "peers/c", STORE_ANY_VERSION)))
				_exit(2);
		}
		_exit(0);
	}
	while (waitpid(pid, &status, WNOHANG) == 0 && reads < 100000) {
		char **keys = NULL;
		size_t n = 0;
		int r1 = store_get(s, "peers/a", NULL, NULL, NULL);
		int r2 = store_list(s, "peers/", &keys, &n);

		store_list_free(keys, n);
		if (r1 || r2) {
			if (errors++ < 3)
				fprintf(stderr, "  race: %d %d: %s\n", r1, r2, store_last_error());
		}
		reads++;
	}
	if (reads >= 100000)
		waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_INT(errors, 0);
	CHECK(reads > 10);
	store_close(s);
}

/* ----------------------------------------------------------- upgrade -- */

/* Turns a store into one from before manifests: meta sealed at version 1
 * with {"version":1,...}, no manifest. */
static void make_legacy(const char *dir, const struct store_key *k)
{
	struct sealed_keys keys;
	const char *meta = "{\"version\":1,\"created\":1700000000}";
	char path[700];
	uint8_t *sealed = NULL;
	size_t len = 0;

	if (sealed_keys_derive(&keys, k) ||
	    sealed_record_seal(&keys, "meta", (const uint8_t *)meta, strlen(meta), 1, &sealed,
			       &len))
		abort();
	explicit_bzero(&keys, sizeof(keys));
	snprintf(path, sizeof(path), "%s/meta", dir);
	spill(path, sealed, len);
	free(sealed);
	snprintf(path, sizeof(path), "%s/manifest", dir);
	unlink(path);
}

static void test_legacy_upgrade(void)
{
	char dir[512], uri[600], err[512], path[700], mpath[700];
	struct store *s = new_store(dir, uri, key_a);
	uint8_t *val = NULL, *old;
	size_t len = 0, olen;
	long long mver = 0, created = 0;
	int ret;

	CHECK_INT(put_str(s, "server", "{\"k\":1}", STORE_NEW), 0);
	CHECK_INT(put_str(s, "peers/phone", "p", STORE_NEW), 0);
	store_close(s);
	make_legacy(dir, key_a);
	snprintf(mpath, sizeof(mpath), "%s/manifest", dir);
	CHECK_INT(access(mpath, F_OK), -1);

	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK_INT(access(mpath, F_OK), 0);
	CHECK_INT(generation(s), 1);
	CHECK(holds(s, "server", "{\"k\":1}", NULL));
	CHECK(holds(s, "peers/phone", "p", NULL));
	CHECK_INT(store_get(s, "meta", &val, &len, NULL), 0);
	if (val)
		store_meta_parse(val, len, &mver, &created);
	CHECK_INT(mver, 2);
	CHECK_INT(created, 1700000000);	/* kept */
	store_value_free(val, len);
	store_close(s);

	/* bound from now on */
	record_path(path, sizeof(path), dir, key_a, "peers/phone");
	old = slurp(path, &olen);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(put_str(s, "peers/phone", "p2", 1), 0);
	spill(path, old, olen);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	store_close(s);
	free(old);

	/* a second open does not upgrade again */
	s = new_store(dir, uri, key_a);
	CHECK_INT(put_str(s, "x", "1", STORE_NEW), 0);
	store_close(s);
	make_legacy(dir, key_a);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	store_close(s);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK_INT(generation(s), 1);
	CHECK(holds(s, "x", "1", NULL));
	store_close(s);

	/* a legacy store with a damaged record is not upgraded over it */
	s = new_store(dir, uri, key_a);
	CHECK_INT(put_str(s, "x", "1", STORE_NEW), 0);
	store_close(s);
	make_legacy(dir, key_a);
	record_path(path, sizeof(path), dir, key_a, "x");
	old = slurp(path, &olen);
	CHECK(old != NULL && olen > 0);
	if (old && olen)
		old[olen - 1] ^= 1;
	spill(path, old, olen);
	free(old);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, -EBADMSG);
	CHECK(contains(err, "cannot add a manifest") && contains(err, strrchr(path, '/') + 1));
	snprintf(mpath, sizeof(mpath), "%s/manifest", dir);
	CHECK_INT(access(mpath, F_OK), -1);
}

/* ------------------------------------------------------------- epoch -- */

/* Copies every regular file of from into to (made if missing), as a
 * backup and a restore would. */
static void copy_dir(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *de;

	mkdir(to, 0700);
	while (d && (de = readdir(d))) {
		char a[1024], b[1024];
		uint8_t *buf;
		size_t len;

		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || de->d_name[1] == '.'))
			continue;
		snprintf(a, sizeof(a), "%s/%s", from, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, de->d_name);
		if ((buf = slurp(a, &len))) {
			spill(b, buf, len);
			free(buf);
		}
	}
	if (d)
		closedir(d);
}

static void clear_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char a[1024];

		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || de->d_name[1] == '.'))
			continue;
		snprintf(a, sizeof(a), "%s/%s", dir, de->d_name);
		unlink(a);
	}
	if (d)
		closedir(d);
}

static void test_epoch_file(void)
{
	char dir[512], uri[600], err[512], epoch[600], backup[600], text[64];
	struct store *s;
	uint8_t *buf;
	size_t len;
	int ret;

	snprintf(epoch, sizeof(epoch), "%s/epoch", new_dir());
	setenv("ZEROWG_STORE_EPOCH_FILE", epoch, 1);
	s = new_store(dir, uri, key_a);
	snprintf(backup, sizeof(backup), "%s/../backup", dir);
	CHECK_INT(put_str(s, "peers/phone", "v1", STORE_NEW), 0);
	buf = slurp(epoch, &len);
	CHECK(buf && len == 21 && strtoull((char *)buf, NULL, 10) == 2);
	free(buf);
	store_close(s);
	copy_dir(dir, backup);	/* a consistent copy at generation 2 */

	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK_INT(store_delete(s, "peers/phone", 1), 0);	/* revoked */
	store_close(s);
	buf = slurp(epoch, &len);
	CHECK(buf && strtoull((char *)buf, NULL, 10) == 3);
	free(buf);

	/* the whole store put back: consistent inside, caught by the epoch */
	clear_dir(dir);
	copy_dir(backup, dir);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, -EBADMSG);
	CHECK(contains(err, "is at generation 2, but the epoch file"));
	CHECK(contains(err, epoch));
	CHECK(contains(err, "rolled back"));
	CHECK(s == NULL);

	/* a manifest deleted and meta rolled back to before manifests: the
	 * epoch says it had one */
	make_legacy(dir, key_a);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, -EBADMSG);
	CHECK(contains(err, "is missing"));

	/* garbage in the epoch file is an error, not 0 */
	clear_dir(dir);
	copy_dir(backup, dir);
	snprintf(text, sizeof(text), "12abc\n");
	spill(epoch, (const uint8_t *)text, strlen(text));
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, -EINVAL);
	CHECK(contains(err, "12abc"));

	/* without it (what the operator did not set up), the same rollback
	 * cannot be seen: documented */
	unsetenv("ZEROWG_STORE_EPOCH_FILE");
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	CHECK(holds(s, "peers/phone", "v1", NULL));
	store_close(s);

	/* a missing epoch file is made, at the store's generation */
	unlink(epoch);
	setenv("ZEROWG_STORE_EPOCH_FILE", epoch, 1);
	s = reopen(uri, &ret, err, sizeof(err));
	CHECK_INT(ret, 0);
	buf = slurp(epoch, &len);
	CHECK(buf && strtoull((char *)buf, NULL, 10) == 2);
	free(buf);
	store_close(s);
	unsetenv("ZEROWG_STORE_EPOCH_FILE");
}

int main(void)
{
	main_pid = getpid();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	atexit(remove_dirs);
	log_init("store_manifest_test", LOG_LEVEL_SILENT);
	key_a = test_key(1);

	RUN(test_rolled_back_record);
	RUN(test_deleted_record);
	RUN(test_revoked_put_back);
	RUN(test_mixed_in);
	RUN(test_swapped);
	RUN(test_manifest_rolled_back);
	RUN(test_generation);
	RUN(test_crash_points);
	RUN(test_readers_race_writer);
	RUN(test_legacy_upgrade);
	RUN(test_epoch_file);
	store_key_free(key_a);
	TEST_EXIT();
}
