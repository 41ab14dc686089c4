/*
 * store_test.c - the secret store (src/store/): the same table of
 * get/put/list/delete and compare-and-swap tests against both backends,
 * then what only the sealed backend promises: records survive reopening,
 * a wrong key is refused, every byte of a record file is covered by the
 * tag (each one flipped must be refused, naming the file), a record file
 * moved under another record's name is refused, nothing on disk shows a
 * stored name or value, stray temp files are ignored and swept; and the
 * unseal key sources (fd, systemd credential, kernel keyring, a prompt on
 * a pseudo-terminal with echo off) and text forms.  Hardening: a store
 * directory others may write, or another user's, is refused; a FIFO,
 * socket, device or directory in place of a store file is refused without
 * blocking (a hang fails the test through alarm(), it does not hang it);
 * an operator's unseal key that is not random is refused in every form.
 *
 * Crash safety, concurrent writers and a full disk are in store_crash_test.c.
 * Every directory is made under $TMPDIR (or /tmp) with the PID in its name
 * and removed at exit; the keys are made-up test keys.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <signal.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "encoding.h"
#include "log.h"
#include "store.h"
#include "store_backend.h"
#include "test.h"

#define MAX_DIRS 64
static char *dirs[MAX_DIRS];
static size_t ndirs;
static pid_t main_pid;	/* forked children must not remove the parent's dirs */

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

/* Interrupted (^C, timeout, a closed pipe): still remove the directories.
 * nftw is not async-signal-safe, but the process is about to die and the
 * main thread is not inside it mid-call in any way that matters here. */
static void on_signal(int sig)
{
	if (getpid() == main_pid)
		for (size_t i = 0; i < ndirs; i++)
			nftw(dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
	_exit(128 + sig);
}

static void cleanup_on_signals(void)
{
	signal(SIGPIPE, SIG_IGN);	/* a closed stdout: finish and clean up */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
}

/* A new empty directory, removed at exit. */
static char *new_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[512];

	snprintf(path, sizeof(path), "%s/zwg-store-test.%d.XXXXXX", tmp ? tmp : "/tmp",
		 (int)getpid());
	if (!mkdtemp(path) || ndirs == MAX_DIRS)
		abort();
	dirs[ndirs] = strdup(path);
	return dirs[ndirs++];
}

/* A sealed store's URI in a new directory (the store dir itself does not
 * exist yet: create makes it). */
static char *new_sealed_uri(char *dir_out, size_t dir_len)
{
	static char uri[600];

	snprintf(dir_out, dir_len, "%s/data", new_dir());
	snprintf(uri, sizeof(uri), "sealed:%s", dir_out);
	return uri;
}

/* A made-up key that looks random (store_key_looks_random): xorshift32
 * seeded by fill, so that keys loaded through store_key_load pass. */
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

static int put_str(struct store *s, const char *key, const char *val, uint64_t expect,
		   uint64_t *nv)
{
	return store_put(s, key, (const uint8_t *)val, strlen(val), expect, nv);
}

/* true if key holds exactly val. */
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
	return hay && strstr(hay, needle) != NULL;
}

/* ---- the table run against both backends ---- */

struct backend {
	const char *name;
	struct store *(*open_new)(void);
};

static struct store *open_memory(void)
{
	struct store *s = NULL;

	if (store_create("memory:", NULL, &s, NULL, 0))
		abort();
	return s;
}

static struct store_key *key_a;

static struct store *open_sealed(void)
{
	struct store *s = NULL;
	char dir[512], err[512];
	const char *uri = new_sealed_uri(dir, sizeof(dir));

	if (store_create(uri, key_a, &s, err, sizeof(err))) {
		fprintf(stderr, "store_create %s: %s\n", uri, err);
		abort();
	}
	return s;
}

static const struct backend backends[] = {
	{ "memory", open_memory },
	{ "sealed", open_sealed },
};

static void basic_ops(const struct backend *b)
{
	struct store *s = b->open_new();
	uint64_t v = 0;
	uint8_t *val = NULL;
	size_t len = 99;
	char **keys = NULL;
	size_t n = 0;

	CHECK_INT(put_str(s, "server", "{\"a\":1}", STORE_NEW, &v), 0);
	CHECK_INT(v, 1);
	CHECK(holds(s, "server", "{\"a\":1}", &v));
	CHECK_INT(v, 1);
	CHECK_INT(put_str(s, "server", "{\"a\":2}", STORE_ANY_VERSION, &v), 0);
	CHECK_INT(v, 2);
	CHECK(holds(s, "server", "{\"a\":2}", NULL));

	/* an empty value is a value */
	CHECK_INT(store_put(s, "empty", NULL, 0, STORE_NEW, NULL), 0);
	CHECK_INT(store_get(s, "empty", &val, &len, &v), 0);
	CHECK_INT(len, 0);
	CHECK_INT(v, 1);
	store_value_free(val, len);

	/* the version alone, without the value */
	v = 0;
	CHECK_INT(store_get(s, "server", NULL, NULL, &v), 0);
	CHECK_INT(v, 2);

	CHECK_INT(put_str(s, "peers/phone", "p", STORE_NEW, NULL), 0);
	CHECK_INT(put_str(s, "peers/laptop", "l", STORE_NEW, NULL), 0);
	CHECK_INT(put_str(s, "peersx", "x", STORE_NEW, NULL), 0);
	CHECK_INT(put_str(s, "peers/a.b_c-d", "z", STORE_NEW, NULL), 0);

	CHECK_INT(store_list(s, "peers/", &keys, &n), 0);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK(strcmp(keys[0], "peers/a.b_c-d") == 0);
		CHECK(strcmp(keys[1], "peers/laptop") == 0);
		CHECK(strcmp(keys[2], "peers/phone") == 0);
	}
	store_list_free(keys, n);

	CHECK_INT(store_list(s, "", &keys, &n), 0);
	CHECK_INT(n, 7);	/* meta, server, empty, three peers/, peersx */
	for (size_t i = 1; i < n; i++)
		CHECK(strcmp(keys[i - 1], keys[i]) < 0);
	if (n == 7) {
		CHECK(strcmp(keys[0], "empty") == 0);
		CHECK(strcmp(keys[1], "meta") == 0);
		CHECK(strcmp(keys[6], "server") == 0);
	}
	store_list_free(keys, n);

	CHECK_INT(store_list(s, "nothing/", &keys, &n), 0);
	CHECK_INT(n, 0);
	CHECK(keys != NULL);
	store_list_free(keys, n);

	/* the canary is a readable JSON record */
	CHECK_INT(store_get(s, "meta", &val, &len, &v), 0);
	CHECK(len > 10 && memcmp(val, "{\"version\":2,", 13) == 0);
	store_value_free(val, len);

	CHECK_INT(store_delete(s, "peers/phone", STORE_ANY_VERSION), 0);
	CHECK_INT(store_get(s, "peers/phone", &val, &len, &v), -ENOENT);
	CHECK_INT(store_delete(s, "peers/phone", STORE_ANY_VERSION), -ENOENT);
	CHECK_INT(store_list(s, "peers/", &keys, &n), 0);
	CHECK_INT(n, 2);
	store_list_free(keys, n);
	/* deleted, then created again: a new record at version 1 */
	CHECK_INT(put_str(s, "peers/phone", "again", STORE_NEW, &v), 0);
	CHECK_INT(v, 1);
	store_close(s);
}

static void cas_semantics(const struct backend *b)
{
	struct store *s = b->open_new();
	uint64_t v = 0, v2 = 0;

	CHECK_INT(put_str(s, "c", "one", STORE_NEW, &v), 0);
	CHECK_INT(v, 1);
	CHECK(strcmp(store_last_error(), "") == 0);	/* success leaves no message */
	/* STORE_NEW on an existing record */
	CHECK_INT(put_str(s, "c", "two", STORE_NEW, NULL), -ESTALE);
	CHECK(contains(store_last_error(), "already exists"));
	CHECK(holds(s, "c", "one", NULL));
	/* the right version: written, version + 1 */
	CHECK_INT(put_str(s, "c", "two", 1, &v), 0);
	CHECK_INT(v, 2);
	/* the version that was right a moment ago is stale now */
	CHECK_INT(put_str(s, "c", "three", 1, &v2), -ESTALE);
	CHECK(contains(store_last_error(), "version 2, not 1"));
	CHECK(holds(s, "c", "two", &v2));
	CHECK_INT(v2, 2);
	/* a version from the future */
	CHECK_INT(put_str(s, "c", "three", 7, NULL), -ESTALE);
	/* a version for a record that does not exist */
	CHECK_INT(put_str(s, "nope", "x", 1, NULL), -ESTALE);
	CHECK_INT(store_get(s, "nope", NULL, NULL, &v2), -ENOENT);
	for (uint64_t i = 2; i < 10; i++) {
		CHECK_INT(put_str(s, "c", "n", i, &v), 0);
		CHECK_INT(v, i + 1);
	}
	/* delete under CAS */
	CHECK_INT(store_delete(s, "c", 3), -ESTALE);
	CHECK(holds(s, "c", "n", NULL));
	CHECK_INT(store_delete(s, "c", STORE_NEW), -EINVAL);
	CHECK_INT(store_delete(s, "c", 10), 0);
	CHECK_INT(store_get(s, "c", NULL, NULL, &v), -ENOENT);
	store_close(s);
}

static void bad_input(const struct backend *b)
{
	struct store *s = b->open_new();
	static const char *const bad[] = {
		"", "a b", "peers/ph\xc3\xb6ne", "tab\there", "semi;colon", "quote\"", "nl\n",
		"star*", "back\\slash",
	};
	char longname[STORE_KEY_NAME_MAX + 2];
	uint8_t *big;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(put_str(s, bad[i], "x", STORE_ANY_VERSION, NULL), -EINVAL);
		CHECK(contains(store_last_error(), "is not valid"));
		CHECK_INT(store_get(s, bad[i], NULL, NULL, NULL), -EINVAL);
		CHECK_INT(store_delete(s, bad[i], STORE_ANY_VERSION), -EINVAL);
	}
	CHECK_INT(store_get(s, NULL, NULL, NULL, NULL), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';	/* 256 characters */
	CHECK_INT(put_str(s, longname, "x", STORE_ANY_VERSION, NULL), -EINVAL);
	longname[STORE_KEY_NAME_MAX] = '\0';	/* 255: the most allowed */
	CHECK_INT(put_str(s, longname, "x", STORE_NEW, NULL), 0);
	CHECK(holds(s, longname, "x", NULL));

	/* the message quotes the bad name, defanged */
	CHECK_INT(put_str(s, "bad\nname", "x", STORE_ANY_VERSION, NULL), -EINVAL);
	CHECK(contains(store_last_error(), "\"bad?name\""));

	/* the canary stays */
	CHECK_INT(store_delete(s, "meta", STORE_ANY_VERSION), -EPERM);
	CHECK_INT(store_get(s, "meta", NULL, NULL, NULL), 0);

	/* values up to the limit, not past it */
	big = calloc(1, STORE_MAX_VALUE_LEN + 1);
	CHECK_INT(store_put(s, "big", big, STORE_MAX_VALUE_LEN + 1, STORE_ANY_VERSION, NULL),
		  -EMSGSIZE);
	CHECK_INT(store_put(s, "big", big, STORE_MAX_VALUE_LEN, STORE_NEW, NULL), 0);
	free(big);

	/* a bad prefix */
	{
		char **keys = (char **)1;
		size_t n = 5;

		CHECK_INT(store_list(s, "a b", &keys, &n), -EINVAL);
		CHECK(keys == NULL && n == 0);
	}
	store_close(s);
}

static void test_memory_basic(void) { basic_ops(&backends[0]); }
static void test_sealed_basic(void) { basic_ops(&backends[1]); }
static void test_memory_cas(void) { cas_semantics(&backends[0]); }
static void test_sealed_cas(void) { cas_semantics(&backends[1]); }
static void test_memory_bad_input(void) { bad_input(&backends[0]); }
static void test_sealed_bad_input(void) { bad_input(&backends[1]); }

static void test_uris(void)
{
	struct store *s = (struct store *)1;
	char err[512];

	CHECK_INT(store_open("etcd:foo", key_a, &s, err, sizeof(err)), -EINVAL);
	CHECK(s == NULL);
	CHECK(contains(err, "\"etcd:foo\" is not known"));
	CHECK_INT(store_open("sealed:", key_a, &s, err, sizeof(err)), -EINVAL);
	CHECK_INT(store_open("/var/lib/zerowg", key_a, &s, err, sizeof(err)), -EINVAL);
	CHECK_INT(store_open(NULL, key_a, &s, err, sizeof(err)), -EINVAL);
	CHECK_INT(store_open("sealed:/nonexistent", NULL, &s, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "needs an unseal key"));
	CHECK_INT(store_open("memory:", NULL, &s, NULL, 0), 0);
	CHECK(strcmp(store_describe(s), "memory:") == 0);
	CHECK_INT(store_get(s, "meta", NULL, NULL, NULL), 0);
	store_close(s);
}

/* ---- sealed only ---- */

/* The file that holds record name in dir, as the format says. */
static void record_path(char *out, size_t outlen, const char *dir, const struct store_key *k,
			const char *name)
{
	struct sealed_keys keys;
	uint8_t id[SEALED_FILE_ID_LEN];
	char hexid[2 * SEALED_FILE_ID_LEN + 1];

	if (sealed_keys_derive(&keys, k) || sealed_file_id(&keys, name, id))
		abort();
	for (size_t i = 0; i < sizeof(id); i++)
		sprintf(hexid + 2 * i, "%02x", id[i]);
	explicit_bzero(&keys, sizeof(keys));
	snprintf(out, outlen, "%s/%s", dir, hexid);
}

static size_t read_whole(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, cap);
	close(fd);
	return n < 0 ? 0 : (size_t)n;
}

static void write_whole(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);

	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		abort();
	close(fd);
}

static void test_sealed_reopen(void)
{
	char dir[512], err[512], uri[600];
	struct store *s = NULL;
	struct store_key *wrong = test_key(0x55);
	struct stat st;

	snprintf(uri, sizeof(uri), "%s", new_sealed_uri(dir, sizeof(dir)));
	/* nothing there yet */
	CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), -ENOENT);
	CHECK(contains(err, "no store at") && contains(err, dir) && contains(err, "zerowg init"));
	/* an empty directory is no store either */
	CHECK_INT(mkdir(dir, 0700), 0);
	CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), -ENOENT);
	CHECK(contains(err, "meta is missing") && contains(err, "zerowg init"));

	CHECK_INT(store_create(uri, key_a, &s, err, sizeof(err)), 0);
	CHECK(strcmp(store_describe(s), uri) == 0);
	CHECK_INT(put_str(s, "server", "identity", STORE_NEW, NULL), 0);
	CHECK_INT(put_str(s, "peers/phone", "phone-record", STORE_NEW, NULL), 0);
	CHECK_INT(put_str(s, "peers/phone", "phone-record-2", 1, NULL), 0);
	store_close(s);

	/* modes: the directory and every file private */
	CHECK_INT(stat(dir, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0700);
	{
		char path[700];

		record_path(path, sizeof(path), dir, key_a, "server");
		CHECK_INT(stat(path, &st), 0);
		CHECK_INT(st.st_mode & 0777, 0600);
		snprintf(path, sizeof(path), "%s/meta", dir);
		CHECK_INT(stat(path, &st), 0);
		CHECK_INT(st.st_mode & 0777, 0600);
	}

	/* a second init refuses to overwrite */
	CHECK_INT(store_create(uri, key_a, &s, err, sizeof(err)), -EEXIST);
	CHECK(contains(err, "already exists") && contains(err, dir));
	CHECK_INT(store_create(uri, wrong, &s, err, sizeof(err)), -EEXIST);

	/* the wrong key is refused, and says so */
	s = (struct store *)1;
	CHECK_INT(store_open(uri, wrong, &s, err, sizeof(err)), -EKEYREJECTED);
	CHECK(s == NULL);
	CHECK(contains(err, "wrong unseal key for") && contains(err, dir));

	/* the right key reads everything back, versions included */
	CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), 0);
	{
		uint64_t v = 0;

		CHECK(holds(s, "server", "identity", &v));
		CHECK_INT(v, 1);
		CHECK(holds(s, "peers/phone", "phone-record-2", &v));
		CHECK_INT(v, 2);
	}
	store_close(s);

	/* a relative path works, and keeps working after a chdir */
	{
		char cwd[512], rel[600];

		CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
		CHECK_INT(chdir(dir), 0);
		CHECK_INT(chdir(".."), 0);
		snprintf(rel, sizeof(rel), "sealed:data");
		CHECK_INT(store_open(rel, key_a, &s, err, sizeof(err)), 0);
		CHECK_INT(chdir("/"), 0);
		CHECK(holds(s, "server", "identity", NULL));
		CHECK_INT(put_str(s, "rel", "ok", STORE_NEW, NULL), 0);
		store_close(s);
		CHECK_INT(chdir(cwd), 0);
	}

	/* a store whose meta is gone is damaged, not empty: init refuses
	 * rather than orphan its records under a new key */
	{
		char meta[700], saved[700];

		snprintf(meta, sizeof(meta), "%s/meta", dir);
		snprintf(saved, sizeof(saved), "%s/../meta.saved", dir);
		CHECK_INT(rename(meta, saved), 0);
		CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), -ENOENT);
		CHECK_INT(store_create(uri, wrong, &s, err, sizeof(err)), -EEXIST);
		CHECK(contains(err, "holds record files but no meta"));
		CHECK_INT(rename(saved, meta), 0);
		CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), 0);
		CHECK(holds(s, "server", "identity", NULL));
		store_close(s);
	}

	/* create without the parent directory */
	{
		char missing[700];

		snprintf(missing, sizeof(missing), "sealed:%s/no/such/dir", new_dir());
		CHECK_INT(store_create(missing, key_a, &s, err, sizeof(err)), -ENOENT);
		CHECK(contains(err, "parent does not exist"));
	}
	/* a file where the directory should be */
	{
		char file[600], furi[700];

		snprintf(file, sizeof(file), "%s/plainfile", new_dir());
		write_whole(file, (const uint8_t *)"x", 1);
		snprintf(furi, sizeof(furi), "sealed:%s", file);
		CHECK_INT(store_open(furi, key_a, &s, err, sizeof(err)), -ENOTDIR);
		CHECK(contains(err, "not a directory"));
	}
	store_key_free(wrong);
}

/* Every byte of a record file is under the tag: each flip is refused, the
 * message names the file, and the undamaged file reads again. */
static void test_sealed_tamper(void)
{
	char dir[512], err[512], path[700], uri[600];
	uint8_t orig[4096], mod[4096];
	struct store *s = NULL;
	size_t len, refused = 0, named = 0;
	const char *fname;

	snprintf(uri, sizeof(uri), "%s", new_sealed_uri(dir, sizeof(dir)));
	CHECK_INT(store_create(uri, key_a, &s, err, sizeof(err)), 0);
	CHECK_INT(put_str(s, "peers/phone", "{\"private_key\":\"made-up\"}", STORE_NEW, NULL), 0);
	record_path(path, sizeof(path), dir, key_a, "peers/phone");
	fname = strrchr(path, '/') + 1;
	len = read_whole(path, orig, sizeof(orig));
	CHECK_INT(len, SEALED_HEADER_LEN + 2 + strlen("peers/phone") +
		       strlen("{\"private_key\":\"made-up\"}") + SEALED_TAG_LEN);
	CHECK(memcmp(orig, "ZWGSEAL1", 8) == 0);

	/* every position: magic, format, flags, version, nonce, ciphertext, tag */
	for (size_t pos = 0; pos < len; pos++) {
		for (int bit = 0; bit < 8; bit += 7) {
			memcpy(mod, orig, len);
			mod[pos] ^= (uint8_t)(1u << bit);
			write_whole(path, mod, len);
			if (store_get(s, "peers/phone", NULL, NULL, NULL) == -EBADMSG)
				refused++;
			if (contains(store_last_error(), fname) &&
			    contains(store_last_error(), "failed authentication"))
				named++;
		}
	}
	CHECK_INT(refused, 2 * len);
	CHECK_INT(named, 2 * len);

	/* truncated, extended, emptied */
	write_whole(path, orig, len - 1);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	memcpy(mod, orig, len);
	mod[len] = 0;
	write_whole(path, mod, len + 1);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	write_whole(path, orig, 0);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);

	/* the original bytes are still good: the test did flip what it meant to */
	write_whole(path, orig, len);
	CHECK(holds(s, "peers/phone", "{\"private_key\":\"made-up\"}", NULL));

	/* a damaged record is not overwritten, but can be deleted */
	memcpy(mod, orig, len);
	mod[len - 1] ^= 1;
	write_whole(path, mod, len);
	CHECK_INT(put_str(s, "peers/phone", "new", STORE_ANY_VERSION, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), fname));
	CHECK_INT(store_delete(s, "peers/phone", 1), -EBADMSG);
	CHECK_INT(store_delete(s, "peers/phone", STORE_ANY_VERSION), 0);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -ENOENT);

	/* and once deleted, its old file put back is not the record again
	 * (the manifest no longer lists it) */
	write_whole(path, orig, len);
	CHECK_INT(store_get(s, "peers/phone", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "not in the manifest"));
	CHECK_INT(unlink(path), 0);
	store_close(s);

	/* a damaged canary: open refuses, and names the file */
	snprintf(path, sizeof(path), "%s/meta", dir);
	len = read_whole(path, orig, sizeof(orig));
	memcpy(mod, orig, len);
	mod[40] ^= 0x80;
	write_whole(path, mod, len);
	CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), -EKEYREJECTED);
	CHECK(contains(err, "/meta"));
	write_whole(path, orig, len);
	CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), 0);
	store_close(s);
}

/* A record file renamed to another record's file name is refused: the
 * name is inside the AEAD. */
static void test_sealed_swap(void)
{
	char dir[512], err[512], pa[700], pb[700], uri[600];
	struct store *s = NULL;
	char **keys = NULL;
	size_t n = 0;

	snprintf(uri, sizeof(uri), "%s", new_sealed_uri(dir, sizeof(dir)));
	CHECK_INT(store_create(uri, key_a, &s, err, sizeof(err)), 0);
	CHECK_INT(put_str(s, "peers/alice", "alice-key", STORE_NEW, NULL), 0);
	CHECK_INT(put_str(s, "peers/bob", "bob-key", STORE_NEW, NULL), 0);
	CHECK_INT(store_list(s, "peers/", &keys, &n), 0);	/* fills the name cache */
	CHECK_INT(n, 2);
	store_list_free(keys, n);
	record_path(pa, sizeof(pa), dir, key_a, "peers/alice");
	record_path(pb, sizeof(pb), dir, key_a, "peers/bob");
	CHECK_INT(rename(pa, pb), 0);
	CHECK_INT(store_get(s, "peers/bob", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), strrchr(pb, '/') + 1));
	/* alice's file is gone: the manifest says she exists */
	CHECK_INT(store_get(s, "peers/alice", NULL, NULL, NULL), -EBADMSG);
	CHECK(contains(store_last_error(), "\"peers/alice\" is missing"));
	store_close(s);

	/* a fresh handle refuses to list the store */
	CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), 0);
	CHECK_INT(store_list(s, "", &keys, &n), -EBADMSG);
	CHECK(contains(store_last_error(), strrchr(pa, '/') + 1));
	store_close(s);

	/* the meta file moved over a record: refused as well */
	{
		char meta[700];
		uint8_t buf[4096];
		size_t len;

		snprintf(meta, sizeof(meta), "%s/meta", dir);
		len = read_whole(meta, buf, sizeof(buf));
		write_whole(pb, buf, len);
		CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), 0);
		CHECK_INT(store_get(s, "peers/bob", NULL, NULL, NULL), -EBADMSG);
		CHECK_INT(store_list(s, "", &keys, &n), -EBADMSG);
		store_close(s);
	}

	/* the same record sealed under another key, in the right place */
	{
		char dir2[512], uri2[600], p2[700];
		struct store_key *other = test_key(0x99);
		struct store *s2 = NULL;
		uint8_t buf[4096];
		size_t len;

		snprintf(uri2, sizeof(uri2), "%s", new_sealed_uri(dir2, sizeof(dir2)));
		CHECK_INT(store_create(uri2, other, &s2, err, sizeof(err)), 0);
		CHECK_INT(put_str(s2, "peers/bob", "bob-key", STORE_NEW, NULL), 0);
		store_close(s2);
		record_path(p2, sizeof(p2), dir2, other, "peers/bob");
		len = read_whole(p2, buf, sizeof(buf));
		write_whole(pb, buf, len);
		CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), 0);
		CHECK_INT(store_get(s, "peers/bob", NULL, NULL, NULL), -EBADMSG);
		store_close(s);
		store_key_free(other);
	}
}

static bool mem_search(const uint8_t *hay, size_t hay_len, const void *needle, size_t n)
{
	return n && memmem(hay, hay_len, needle, n) != NULL;
}

/* What is on disk shows neither names nor values nor the key. */
static void test_sealed_no_plaintext(void)
{
	char dir[512], err[512], uri[600], name[64], value[128], b64[KEY_BASE64_LEN + 1];
	char hexkey[KEY_HEX_LEN + 1], path[1024];
	struct store *s = NULL;
	struct dirent *de;
	size_t files = 0, hits = 0;
	DIR *d;

	snprintf(uri, sizeof(uri), "%s", new_sealed_uri(dir, sizeof(dir)));
	snprintf(name, sizeof(name), "peers/needlename%d", (int)getpid());
	snprintf(value, sizeof(value), "{\"private_key\":\"NeedleValue%dXYZ\"}", (int)getpid());
	CHECK_INT(store_create(uri, key_a, &s, err, sizeof(err)), 0);
	CHECK_INT(put_str(s, name, value, STORE_NEW, NULL), 0);
	CHECK_INT(put_str(s, name, value, STORE_ANY_VERSION, NULL), 0);
	CHECK_INT(put_str(s, "server", value, STORE_NEW, NULL), 0);
	store_close(s);
	key_to_base64(b64, key_a->bytes);
	key_to_hex(hexkey, key_a->bytes);

	d = opendir(dir);
	CHECK(d != NULL);
	while (d && (de = readdir(d))) {
		static uint8_t buf[1 << 16];
		size_t len;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		len = read_whole(path, buf, sizeof(buf));
		files++;
		/* the name without its prefix too, and the value's distinctive part */
		hits += mem_search(buf, len, name, strlen(name));
		hits += mem_search(buf, len, strchr(name, '/') + 1, strlen(strchr(name, '/') + 1));
		hits += mem_search(buf, len, strstr(value, "NeedleValue"), 14);
		hits += mem_search(buf, len, "server", 6);
		hits += mem_search(buf, len, "version", 7);	/* inside meta's JSON */
		hits += mem_search(buf, len, b64, KEY_BASE64_LEN);
		hits += mem_search(buf, len, hexkey, KEY_HEX_LEN);
		hits += mem_search(buf, len, key_a->bytes, STORE_KEY_LEN);
		/* file names are hashes, not names */
		CHECK(!strstr(de->d_name, "needle") && !strstr(de->d_name, "server"));
	}
	if (d)
		closedir(d);
	CHECK_INT(files, 5);	/* meta, manifest, .lock, two records */
	CHECK_INT(hits, 0);
}

/* Leftovers of a crashed writer are ignored by readers and swept by the
 * next writer; files that are not the store's are left alone. */
static void test_sealed_stray_files(void)
{
	char dir[512], err[512], uri[600], tmp[700], other[700], fake[700];
	struct store *s = NULL;
	char **keys = NULL;
	size_t n = 0;

	snprintf(uri, sizeof(uri), "%s", new_sealed_uri(dir, sizeof(dir)));
	CHECK_INT(store_create(uri, key_a, &s, err, sizeof(err)), 0);
	CHECK_INT(put_str(s, "a", "1", STORE_NEW, NULL), 0);
	store_close(s);

	snprintf(tmp, sizeof(tmp), "%s/.tmp-0123456789abcdef", dir);
	write_whole(tmp, (const uint8_t *)"half a record", 13);
	snprintf(other, sizeof(other), "%s/README", dir);
	write_whole(other, (const uint8_t *)"not ours", 8);

	CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), 0);
	CHECK_INT(store_list(s, "", &keys, &n), 0);
	CHECK_INT(n, 2);	/* meta, a */
	store_list_free(keys, n);
	CHECK(holds(s, "a", "1", NULL));
	CHECK_INT(access(tmp, F_OK), 0);	/* readers do not touch it */
	CHECK_INT(put_str(s, "b", "2", STORE_NEW, NULL), 0);
	CHECK_INT(access(tmp, F_OK), -1);	/* the writer swept it */
	CHECK_INT(access(other, F_OK), 0);

	/* a planted file with a record-like name is not a record */
	snprintf(fake, sizeof(fake), "%s/%064d", dir, 0);
	write_whole(fake, (const uint8_t *)"ZWGSEAL1 garbage garbage garbage garbage garbage", 48);
	CHECK_INT(store_list(s, "", &keys, &n), -EBADMSG);
	CHECK(contains(store_last_error(), strrchr(fake, '/') + 1));
	CHECK_INT(unlink(fake), 0);
	/* a symlink planted in place of a record is refused, not followed */
	{
		char rec[700];

		record_path(rec, sizeof(rec), dir, key_a, "a");
		CHECK_INT(rename(rec, fake), 0);
		CHECK_INT(symlink(fake, rec), 0);
		CHECK_INT(store_get(s, "a", NULL, NULL, NULL), -EBADMSG);
		CHECK_INT(unlink(rec), 0);
		CHECK_INT(rename(fake, rec), 0);
		CHECK(holds(s, "a", "1", NULL));
	}
	CHECK_INT(store_list(s, "", &keys, &n), 0);
	CHECK_INT(n, 3);
	store_list_free(keys, n);
	store_close(s);
}

/* Several handles on one directory see each other's writes, and the name
 * cache of one does not hide records another deleted or added. */
/* Every regular file in dir (and dir itself) belongs to uid. */
static bool all_owned_by(const char *dir, uid_t uid)
{
	struct dirent *de;
	struct stat st;
	char path[1024];
	bool ok;
	DIR *d;

	if (stat(dir, &st) < 0 || st.st_uid != uid)
		return false;
	d = opendir(dir);
	if (!d)
		return false;
	ok = true;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) < 0 || (S_ISREG(st.st_mode) && st.st_uid != uid))
			ok = false;
	}
	closedir(d);
	return ok;
}

/*
 * A server started as root runs as its own user: the root-owned store
 * that `zerowg init` made is handed over (the directory and its regular
 * files, nothing followed), one of another user's is refused, and a file
 * a root CLI writes into the user's directory becomes the user's.
 */
static void test_sealed_hand_over(void)
{
	char dir[512], err[512], uri[600], link[700], target[700];
	struct store *s = NULL;
	struct stat st;
	uid_t nobody = 65534;
	gid_t nogroup = 65534;

	if (geteuid() != 0) {
		/* Only root can hand over; as a user it must be a no-op on
		 * one's own store and say no to another's. */
		snprintf(uri, sizeof(uri), "%s", new_sealed_uri(dir, sizeof(dir)));
		CHECK_INT(store_create(uri, key_a, &s, err, sizeof(err)), 0);
		store_close(s);
		CHECK_INT(store_hand_over(uri, geteuid(), getegid(), err, sizeof(err)), 0);
		CHECK(all_owned_by(dir, geteuid()));
		CHECK_INT(store_hand_over(uri, geteuid() + 1, getegid(), err, sizeof(err)), -EPERM);
		return;
	}
	snprintf(uri, sizeof(uri), "%s", new_sealed_uri(dir, sizeof(dir)));
	CHECK_INT(store_create(uri, key_a, &s, err, sizeof(err)), 0);
	CHECK_INT(put_str(s, "server", "identity", STORE_NEW, NULL), 0);
	store_close(s);
	/* A symlink planted in the directory is neither followed nor chowned. */
	snprintf(target, sizeof(target), "%s/../outside", dir);
	CHECK(close(open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == 0);
	snprintf(link, sizeof(link), "%s/zz-link", dir);
	CHECK_INT(symlink(target, link), 0);
	CHECK(all_owned_by(dir, 0));

	CHECK_INT(store_hand_over(uri, nobody, nogroup, err, sizeof(err)), 0);
	CHECK(all_owned_by(dir, nobody));
	CHECK_INT(stat(dir, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0700);
	CHECK_INT(lstat(link, &st), 0);
	CHECK_INT(st.st_uid, 0);			/* the link itself untouched */
	CHECK_INT(stat(target, &st), 0);
	CHECK_INT(st.st_uid, 0);			/* and nothing followed */
	CHECK_INT(unlink(link), 0);
	/* Again: already the user's, nothing to do. */
	CHECK_INT(store_hand_over(uri, nobody, nogroup, err, sizeof(err)), 0);

	/* Root writes a record into the user's store (an import while the
	 * server is down): the new file is the user's too. */
	CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), 0);
	CHECK_INT(put_str(s, "peers/phone", "phone-record", STORE_NEW, NULL), 0);
	store_close(s);
	CHECK(all_owned_by(dir, nobody));

	/* Another user's store is refused, with the fix named. */
	CHECK_INT(store_hand_over(uri, 4242, 4242, err, sizeof(err)), -EPERM);
	CHECK(contains(err, dir) && contains(err, "chown -R 4242"));
	/* memory: and a missing directory: nothing to do. */
	CHECK_INT(store_hand_over("memory:", nobody, nogroup, err, sizeof(err)), 0);
	CHECK_INT(store_hand_over("sealed:/nonexistent/zwg", nobody, nogroup, err, sizeof(err)), 0);
	unlink(target);
}

static void test_sealed_two_handles(void)
{
	char dir[512], err[512], uri[600];
	struct store *s1 = NULL, *s2 = NULL;
	char **keys = NULL;
	size_t n = 0;

	snprintf(uri, sizeof(uri), "%s", new_sealed_uri(dir, sizeof(dir)));
	CHECK_INT(store_create(uri, key_a, &s1, err, sizeof(err)), 0);
	CHECK_INT(store_open(uri, key_a, &s2, err, sizeof(err)), 0);
	for (int i = 0; i < 50; i++) {
		char k[32];

		snprintf(k, sizeof(k), "peers/p%02d", i);
		CHECK_INT(put_str(i % 2 ? s1 : s2, k, k, STORE_NEW, NULL), 0);
	}
	CHECK_INT(store_list(s1, "peers/", &keys, &n), 0);
	CHECK_INT(n, 50);
	store_list_free(keys, n);
	CHECK_INT(store_delete(s2, "peers/p07", STORE_ANY_VERSION), 0);
	CHECK_INT(put_str(s2, "peers/zz", "new", STORE_NEW, NULL), 0);
	CHECK_INT(store_list(s1, "peers/", &keys, &n), 0);
	CHECK_INT(n, 50);
	if (n == 50) {
		CHECK(strcmp(keys[7], "peers/p08") == 0);
		CHECK(strcmp(keys[49], "peers/zz") == 0);
	}
	store_list_free(keys, n);
	CHECK_INT(put_str(s1, "peers/zz", "x", STORE_NEW, NULL), -ESTALE);
	store_close(s1);
	store_close(s2);
}

/* ---- the directory and its files ---- */

/* open (or create) uri with key_a; 0 or -errno, message in err */
static int try_open(const char *uri, char *err, size_t errlen)
{
	struct store *s = NULL;
	int ret = store_open(uri, key_a, &s, err, errlen);

	store_close(s);
	return ret;
}

/*
 * Nobody but the owner may write to the store directory: a group- or
 * world-writable one is refused, naming it and the chmod that fixes it.
 * Reading by others is allowed (ciphertext).  Another user's store is
 * refused to a user; root may open anyone's (a root CLI on the server
 * user's store).
 */
static void test_sealed_dir_access(void)
{
	static const struct {
		mode_t mode;
		int want;
		const char *who;
	} modes[] = {
		{ 0770, -EPERM, "its group" },
		{ 0730, -EPERM, "its group" },
		{ 0702, -EPERM, "all other users" },
		{ 0777, -EPERM, "its group and all other users" },
		{ 01777, -EPERM, "its group and all other users" },	/* sticky: still writable */
		{ 0750, 0, NULL },
		{ 0755, 0, NULL },
		{ 0711, 0, NULL },
		{ 0700, 0, NULL },
	};
	char dir[512], err[1024], uri[600], want[600];
	struct store *s = NULL;
	struct stat st;

	snprintf(uri, sizeof(uri), "%s", new_sealed_uri(dir, sizeof(dir)));
	CHECK_INT(store_create(uri, key_a, &s, err, sizeof(err)), 0);
	CHECK_INT(put_str(s, "server", "identity", STORE_NEW, NULL), 0);
	store_close(s);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		CHECK_INT(chmod(dir, modes[i].mode), 0);
		err[0] = '\0';
		CHECK_INT(try_open(uri, err, sizeof(err)), modes[i].want);
		if (modes[i].want) {
			snprintf(want, sizeof(want), "the store %s can be written by %s", dir,
				 modes[i].who);
			CHECK(contains(err, want));
			snprintf(want, sizeof(want), "chmod 700 %s", dir);
			CHECK(contains(err, want));
		}
	}
	CHECK_INT(chmod(dir, 0700), 0);

	/* creating in an existing directory that others could write: it is
	 * made private before anything is written (as before) */
	{
		char dir2[512], uri2[600];

		snprintf(uri2, sizeof(uri2), "%s", new_sealed_uri(dir2, sizeof(dir2)));
		CHECK_INT(mkdir(dir2, 0700), 0);
		CHECK_INT(chmod(dir2, 0777), 0);
		CHECK_INT(store_create(uri2, key_a, &s, err, sizeof(err)), 0);
		store_close(s);
		CHECK_INT(stat(dir2, &st), 0);
		CHECK_INT(st.st_mode & 0777, 0700);
		CHECK_INT(try_open(uri2, err, sizeof(err)), 0);
	}

	if (geteuid() != 0) {
		printf("info: not root: another user's store is not tested\n");
		return;
	}
	/* Root opens a store that belongs to someone else (init or import as
	 * root on the store of the server's user). */
	CHECK_INT(chown(dir, 4242, 4242), 0);
	CHECK_INT(try_open(uri, err, sizeof(err)), 0);
	/* A user does not: nobody, on 4242's store that it could read (0755,
	 * files 0644, so only the owner check stands in the way)... */
	{
		uint8_t kb[STORE_KEY_LEN];
		DIR *d = opendir(dir);
		struct dirent *de;
		int status = -1;
		pid_t pid;

		while (d && (de = readdir(d))) {
			char path[1024];

			if (de->d_name[0] == '.' && strcmp(de->d_name, ".lock"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			CHECK_INT(chmod(path, 0644), 0);
		}
		if (d)
			closedir(d);
		CHECK_INT(chmod(dir, 0755), 0);
		{	/* nobody must get through the test's own (mkdtemp 0700) directory */
			char parent[512];

			snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(dir, '/') - dir), dir);
			CHECK_INT(chmod(parent, 0711), 0);
		}
		memcpy(kb, key_a->bytes, sizeof(kb));	/* key_a reads as zeros after fork */
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			struct store_key *k = store_key_new();
			char cerr[1024] = "";
			int bad = 0, r;

			if (!k)
				_exit(100);
			memcpy(k->bytes, kb, sizeof(kb));
			if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
			    setresuid(65534, 65534, 65534))
				_exit(101);
			r = store_open(uri, k, &s, cerr, sizeof(cerr));
			store_close(s);
			if (r != -EPERM) {
				fprintf(stderr, "  nobody opened uid 4242's store: %d %s\n", r, cerr);
				bad++;
			}
			snprintf(want, sizeof(want), "the store %s belongs to uid 4242, not to "
				 "this user (uid 65534)", dir);
			if (!contains(cerr, want) || !contains(cerr, "chown -R 65534:65534")) {
				fprintf(stderr, "  message: %s\n", cerr);
				bad++;
			}
			store_key_free(k);
			_exit(bad);
		}
		CHECK(pid > 0);
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

		/* ...but its own store, yes */
		CHECK_INT(store_hand_over(uri, 4242, 4242, err, sizeof(err)), 0);
		CHECK_INT(chmod(dir, 0755), 0);
		CHECK_INT(chown(dir, 65534, 65534), 0);
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			struct store_key *k = store_key_new();
			char cerr[1024] = "";
			int r;

			if (!k)
				_exit(100);
			memcpy(k->bytes, kb, sizeof(kb));
			if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
			    setresuid(65534, 65534, 65534))
				_exit(101);
			r = store_open(uri, k, &s, cerr, sizeof(cerr));
			if (r)
				fprintf(stderr, "  nobody on its own store: %d %s\n", r, cerr);
			store_close(s);
			store_key_free(k);
			_exit(r ? 1 : 0);
		}
		CHECK(pid > 0);
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		explicit_bzero(kb, sizeof(kb));
	}
	CHECK_INT(chown(dir, 0, 0), 0);
	CHECK_INT(chmod(dir, 0700), 0);
}

/* A store call that blocks forever fails the test instead of hanging it. */
static const char *volatile hang_at;

static void on_hang(int sig)
{
	static const char msg[] = "  hung (no answer in 5 s) at: ";
	const char *at = hang_at ? hang_at : "?";

	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, at, strlen(at));
	(void)!write(1, "\nFAIL test_sealed_not_regular\n", 31);
	on_signal(sig);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long guard_start(const char *what)
{
	hang_at = what;
	alarm(5);
	return now_ms();
}

/* The call since guard_start answered in well under a second. */
static bool guard_end(long long t0)
{
	alarm(0);
	hang_at = NULL;
	return now_ms() - t0 < 1000;
}

/* What stands in a record file's place in test_sealed_not_regular. */
enum odd_kind { ODD_FIFO, ODD_SOCKET, ODD_DIR, ODD_CHARDEV, ODD_SYMLINK_TO_FIFO };

static bool make_odd(const char *path, enum odd_kind kind, const char *dir, const char **word)
{
	char target[700];

	switch (kind) {
	case ODD_FIFO:
		*word = "a FIFO";
		return mkfifo(path, 0600) == 0;
	case ODD_SOCKET:
		*word = "a socket";
		return mknod(path, S_IFSOCK | 0600, 0) == 0;
	case ODD_DIR:
		*word = "a directory";
		return mkdir(path, 0700) == 0;
	case ODD_CHARDEV:	/* /dev/null's numbers; root and a dev-capable fs only */
		*word = "a character device";
		return mknod(path, S_IFCHR | 0600, makedev(1, 3)) == 0;
	case ODD_SYMLINK_TO_FIFO:
		*word = "a symbolic link";
		snprintf(target, sizeof(target), "%s/../fifo-target", dir);
		unlink(target);
		return mkfifo(target, 0600) == 0 && symlink(target, path) == 0;
	}
	return false;
}

static void remove_odd(const char *path)
{
	if (unlink(path) < 0)
		rmdir(path);
}

/*
 * A record, meta or the lock file that is not a regular file (planted by
 * someone who could write to the directory, or left by a mistake) is
 * refused at once, naming the file and what it is.  Before, a FIFO named
 * like a record hung `zerowg up` in open(2) forever.
 */
static void test_sealed_not_regular(void)
{
	static const enum odd_kind kinds[] = {
		ODD_FIFO, ODD_SOCKET, ODD_DIR, ODD_CHARDEV, ODD_SYMLINK_TO_FIFO,
	};
	char dir[512], err[1024], uri[600], rec[700], meta[700], saved[700], lock[700];
	struct sigaction sa;
	struct store *s = NULL;
	char **keys = NULL;
	size_t n = 0;
	long long t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hang;
	sigaction(SIGALRM, &sa, NULL);

	snprintf(uri, sizeof(uri), "%s", new_sealed_uri(dir, sizeof(dir)));
	CHECK_INT(store_create(uri, key_a, &s, err, sizeof(err)), 0);
	CHECK_INT(put_str(s, "b", "2", STORE_NEW, NULL), 0);
	store_close(s);
	record_path(rec, sizeof(rec), dir, key_a, "a");

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *word = "";
		const char *fname = strrchr(rec, '/') + 1;

		s = NULL;
		CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), 0);
		if (!s)
			break;
		CHECK_INT(put_str(s, "a", "1", STORE_NEW, NULL), 0);
		CHECK_INT(unlink(rec), 0);
		if (!make_odd(rec, kinds[i], dir, &word)) {
			printf("info: cannot make %s here (%s): not tested\n", word,
			       strerror(errno));
			store_close(s);
			continue;
		}
		/* a handle opened before, and one opened now: the start of a server */
		t0 = guard_start("store_get of a record that is not a regular file");
		CHECK_INT(store_get(s, "a", NULL, NULL, NULL), -EBADMSG);
		CHECK(guard_end(t0));
		CHECK(contains(store_last_error(), fname));
		CHECK(contains(store_last_error(), word));
		CHECK(contains(store_last_error(), "(record \"a\")"));
		store_close(s);
		s = NULL;
		t0 = guard_start("store_open + store_list with a record that is not a regular file");
		CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), 0);
		if (s)
			CHECK_INT(store_list(s, "", &keys, &n), -EBADMSG);
		CHECK(guard_end(t0));
		CHECK(contains(store_last_error(), fname));
		CHECK(contains(store_last_error(), word));
		if (!s)
			continue;
		/* not overwritten, but deleted on request: the way out */
		t0 = guard_start("store_put over a record that is not a regular file");
		CHECK_INT(put_str(s, "a", "x", STORE_ANY_VERSION, NULL), -EBADMSG);
		CHECK(guard_end(t0));
		CHECK_INT(store_delete(s, "a", STORE_ANY_VERSION), 0);
		if (kinds[i] == ODD_DIR)
			CHECK_INT(rmdir(rec), 0);	/* unlink does not remove a directory */
		CHECK_INT(access(rec, F_OK), -1);
		CHECK(holds(s, "b", "2", NULL));
		CHECK_INT(store_list(s, "", &keys, &n), 0);
		CHECK_INT(n, 2);	/* meta, b */
		store_list_free(keys, n);
		store_close(s);
	}
	{
		char target[700];

		snprintf(target, sizeof(target), "%s/../fifo-target", dir);
		unlink(target);
	}

	/* meta: refused as what it is, not as a wrong key */
	snprintf(meta, sizeof(meta), "%s/meta", dir);
	snprintf(saved, sizeof(saved), "%s/../meta.saved", dir);
	CHECK_INT(rename(meta, saved), 0);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *word = "";

		if (!make_odd(meta, kinds[i], dir, &word))
			continue;
		t0 = guard_start("store_open with a meta that is not a regular file");
		err[0] = '\0';
		CHECK_INT(try_open(uri, err, sizeof(err)), -EBADMSG);
		CHECK(guard_end(t0));
		CHECK(contains(err, meta) && contains(err, word));
		/* nor can a new store be made over it */
		t0 = guard_start("store_create over a meta that is not a regular file");
		CHECK_INT(store_create(uri, key_a, &s, err, sizeof(err)), -EEXIST);
		CHECK(guard_end(t0));
		CHECK(contains(err, meta) && contains(err, word));
		remove_odd(meta);
	}
	{
		char target[700];

		snprintf(target, sizeof(target), "%s/../fifo-target", dir);
		unlink(target);
	}
	CHECK_INT(rename(saved, meta), 0);

	/* the lock file: writers refuse it, naming it; readers never open it */
	snprintf(lock, sizeof(lock), "%s/.lock", dir);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *word = "";

		remove_odd(lock);
		if (!make_odd(lock, kinds[i], dir, &word))
			continue;
		s = NULL;
		CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), 0);
		if (!s)
			continue;
		CHECK(holds(s, "b", "2", NULL));
		t0 = guard_start("store_put with a lock file that is not a regular file");
		CHECK_INT(put_str(s, "c", "3", STORE_NEW, NULL), -EBADMSG);
		CHECK(guard_end(t0));
		CHECK(contains(store_last_error(), lock) && contains(store_last_error(), word));
		store_close(s);
	}
	{
		char target[700];

		snprintf(target, sizeof(target), "%s/../fifo-target", dir);
		unlink(target);
	}
	remove_odd(lock);
	CHECK_INT(store_open(uri, key_a, &s, err, sizeof(err)), 0);
	if (s) {
		CHECK_INT(put_str(s, "c", "3", STORE_NEW, NULL), 0);	/* lock made again */
		store_close(s);
	}
	sa.sa_handler = SIG_DFL;
	sigaction(SIGALRM, &sa, NULL);
}

/* ---- the unseal key ---- */

static bool all_zero(const uint8_t *p)
{
	uint8_t acc = 0;

	for (int i = 0; i < STORE_KEY_LEN; i++)
		acc |= p[i];
	return acc == 0;
}

static void test_key_text(void)
{
	struct store_key *k = store_key_new(), *g = store_key_new();
	char b64[45], line[64];

	CHECK(k && g);
	CHECK(all_zero(k->bytes));
	CHECK_INT(store_key_generate(g), 0);
	CHECK(!all_zero(g->bytes));
	store_key_to_base64(g, b64);
	CHECK_INT(strlen(b64), 44);
	CHECK_INT(store_key_from_base64(k, b64), 0);
	CHECK_MEM(k->bytes, g->bytes, STORE_KEY_LEN);
	memset(k->bytes, 0, STORE_KEY_LEN);
	snprintf(line, sizeof(line), "%s\n", b64);
	CHECK_INT(store_key_from_base64(k, line), 0);
	CHECK_MEM(k->bytes, g->bytes, STORE_KEY_LEN);
	snprintf(line, sizeof(line), "%s\r\n", b64);
	CHECK_INT(store_key_from_base64(k, line), 0);

	/* wrong: short, long, bad character, two newlines, non-canonical */
	memset(k->bytes, 0x11, STORE_KEY_LEN);
	snprintf(line, sizeof(line), "%.43s", b64);
	CHECK_INT(store_key_from_base64(k, line), -EINVAL);
	snprintf(line, sizeof(line), "%sA", b64);
	CHECK_INT(store_key_from_base64(k, line), -EINVAL);
	snprintf(line, sizeof(line), "%s\n\n", b64);
	CHECK_INT(store_key_from_base64(k, line), -EINVAL);
	snprintf(line, sizeof(line), "%s", b64);
	line[5] = '*';
	CHECK_INT(store_key_from_base64(k, line), -EINVAL);
	CHECK_INT(store_key_from_base64(k, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="), -EINVAL);
	CHECK_INT(store_key_from_base64(k, ""), -EINVAL);
	for (int i = 0; i < STORE_KEY_LEN; i++)
		CHECK_INT(k->bytes[i], 0x11);	/* untouched by every failure */
	CHECK_INT(store_key_from_base64(k, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), 0);
	CHECK(all_zero(k->bytes));
	store_key_free(k);
	store_key_free(g);
}

/* A pipe holding text, its write end closed: what --key-fd N sees. */
static int pipe_with(const void *data, size_t len)
{
	int p[2];

	if (pipe(p) < 0 || write(p[1], data, len) != (ssize_t)len)
		abort();
	close(p[1]);
	return p[0];
}

static const struct store_key_source no_sources = {
	.fd = -1, .credential_name = NULL, .keyring_desc = "zerowg-test:none", .allow_prompt = false,
};

static void test_key_from_fd(void)
{
	struct store_key_source src = no_sources;
	struct store_key *k = NULL;
	const char *where = NULL;
	char b64[45], hexkey[65], err[512], text[80];
	uint8_t junk[200];

	unsetenv("CREDENTIALS_DIRECTORY");
	store_key_to_base64(key_a, b64);
	key_to_hex(hexkey, key_a->bytes);

	/* base64 with a newline */
	snprintf(text, sizeof(text), "%s\n", b64);
	src.fd = pipe_with(text, strlen(text));
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), 0);
	CHECK(k && memcmp(k->bytes, key_a->bytes, STORE_KEY_LEN) == 0);
	snprintf(text, sizeof(text), "fd %d", src.fd);
	CHECK(where && strcmp(where, text) == 0);
	close(src.fd);
	store_key_free(k);

	/* base64 without one, 32 raw bytes, hex */
	src.fd = pipe_with(b64, 44);
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), 0);
	CHECK(k && memcmp(k->bytes, key_a->bytes, STORE_KEY_LEN) == 0);
	close(src.fd);
	store_key_free(k);
	src.fd = pipe_with(key_a->bytes, STORE_KEY_LEN);
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), 0);
	CHECK(k && memcmp(k->bytes, key_a->bytes, STORE_KEY_LEN) == 0);
	close(src.fd);
	store_key_free(k);
	src.fd = pipe_with(hexkey, 64);
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), 0);
	CHECK(k && memcmp(k->bytes, key_a->bytes, STORE_KEY_LEN) == 0);
	close(src.fd);
	store_key_free(k);

	/* junk is an error that names the fd and does not quote the content */
	k = (struct store_key *)1;
	src.fd = pipe_with("not-a-key-at-all\n", 17);
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), -EINVAL);
	CHECK(k == NULL);
	snprintf(text, sizeof(text), "fd %d does not hold an unseal key", src.fd);
	CHECK(contains(err, text));
	CHECK(!contains(err, "not-a-key"));
	close(src.fd);
	/* too long; empty; a closed fd */
	memset(junk, 'A', sizeof(junk));
	src.fd = pipe_with(junk, sizeof(junk));
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), -EMSGSIZE);
	CHECK(contains(err, "too long"));
	close(src.fd);
	src.fd = pipe_with("", 0);
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), -EINVAL);
	close(src.fd);
	src.fd = 1000;
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), -EBADF);
	CHECK(contains(err, "fd 1000"));
}

static void test_key_from_credential(void)
{
	struct store_key_source src = no_sources;
	struct store_key *k = NULL;
	const char *where = NULL;
	char *cdir = new_dir(), path[700], b64[45], err[1024], text[64];

	store_key_to_base64(key_a, b64);
	setenv("CREDENTIALS_DIRECTORY", cdir, 1);

	/* nothing anywhere: -ENOKEY, and the message lists what was tried */
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), -ENOKEY);
	CHECK(k == NULL);
	CHECK(contains(err, "credential \"zerowg-unseal-key\" (not in $CREDENTIALS_DIRECTORY)"));
	CHECK(contains(err, "kernel keyring"));
	CHECK(contains(err, "--key-fd"));

	snprintf(path, sizeof(path), "%s/zerowg-unseal-key", cdir);
	snprintf(text, sizeof(text), "%s\n", b64);
	write_whole(path, (const uint8_t *)text, strlen(text));
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), 0);
	CHECK(k && memcmp(k->bytes, key_a->bytes, STORE_KEY_LEN) == 0);
	CHECK(where && strcmp(where, "credential zerowg-unseal-key") == 0);
	store_key_free(k);

	/* another name; raw bytes */
	src.credential_name = "other-cred";
	snprintf(path, sizeof(path), "%s/other-cred", cdir);
	write_whole(path, key_a->bytes, STORE_KEY_LEN);
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), 0);
	CHECK(k && memcmp(k->bytes, key_a->bytes, STORE_KEY_LEN) == 0);
	store_key_free(k);

	/* a credential that is there but wrong is an error, not skipped */
	write_whole(path, (const uint8_t *)"garbage\n", 8);
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, path) && contains(err, "does not hold an unseal key"));

	/* a name that is a path is refused */
	src.credential_name = "../zerowg-unseal-key";
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "not a file name"));

	/* an fd given wins over the credential */
	src.credential_name = NULL;
	{
		struct store_key *other = test_key(0x42);
		char ob64[45];

		store_key_to_base64(other, ob64);
		src.fd = pipe_with(ob64, 44);
		CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), 0);
		CHECK(k && memcmp(k->bytes, other->bytes, STORE_KEY_LEN) == 0);
		close(src.fd);
		store_key_free(k);
		store_key_free(other);
	}
	unsetenv("CREDENTIALS_DIRECTORY");
	/* unset: the message says so */
	src.fd = -1;
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), -ENOKEY);
	CHECK(contains(err, "$CREDENTIALS_DIRECTORY not set"));
}

/*
 * An operator's unseal key must be random: a constant, a password given as
 * the 32 raw bytes, a repeated pattern or a counting sequence is refused,
 * whatever form (raw, base64, hex) and source (fd, credential) it came in,
 * with a message that says why, names the source, does not quote the key
 * and says how to get a good one.  Random keys pass, as do keys at the
 * edges of each rule.
 */
static void test_key_weak(void)
{
	static const char password[] = "passwordpasswordpasswordpassword";
	struct store_key *k = store_key_new(), *got = NULL;
	struct store_key_source src = no_sources;
	char why[200], err[1024], text[200], b64[45], hexkey[65];
	const char *where = NULL;

	CHECK(k != NULL);
	if (!k)
		return;
	/* the vectors */
	memset(k->bytes, 0, STORE_KEY_LEN);
	CHECK(!store_key_looks_random(k, why, sizeof(why)));
	CHECK(contains(why, "all 32 bytes are the same"));
	memset(k->bytes, 0x41, STORE_KEY_LEN);
	CHECK(!store_key_looks_random(k, why, sizeof(why)));
	memcpy(k->bytes, password, STORE_KEY_LEN);
	CHECK(!store_key_looks_random(k, why, sizeof(why)));
	CHECK(contains(why, "different values"));	/* 7 letters */
	memcpy(k->bytes, "Correct Horse Battery Staple 42!", STORE_KEY_LEN);
	CHECK(!store_key_looks_random(k, why, sizeof(why)));
	CHECK(contains(why, "printable text"));
	memcpy(k->bytes, "Correct Horse Battery Staple 42\n", STORE_KEY_LEN);
	CHECK(!store_key_looks_random(k, why, sizeof(why)));	/* typed, with Enter */
	for (int i = 0; i < STORE_KEY_LEN; i++)	/* 32 distinct printable: text */
		k->bytes[i] = (uint8_t)('A' + i);
	CHECK(!store_key_looks_random(k, why, sizeof(why)));
	CHECK(contains(why, "printable text"));
	k->bytes[31] = 0x80;			/* one byte off the text rule: passes */
	CHECK(store_key_looks_random(k, why, sizeof(why)));
	for (int i = 0; i < STORE_KEY_LEN; i++)	/* 00 01 02 .. 1f */
		k->bytes[i] = (uint8_t)i;
	CHECK(!store_key_looks_random(k, why, sizeof(why)));
	CHECK(contains(why, "equal steps"));
	for (int i = 0; i < STORE_KEY_LEN; i++)	/* the old test keys: fill + 7i, wrapping */
		k->bytes[i] = (uint8_t)(0x10 + 7 * i);
	CHECK(!store_key_looks_random(k, NULL, 0));
	k->bytes[31] ^= 1;			/* one step off: passes */
	CHECK(store_key_looks_random(k, NULL, 0));
	for (int i = 0; i < STORE_KEY_LEN; i++)	/* de ad be ef x 8 */
		k->bytes[i] = (uint8_t[]){ 0xde, 0xad, 0xbe, 0xef }[i % 4];
	CHECK(!store_key_looks_random(k, why, sizeof(why)));
	/* the distinct-values edge: 15 fails, 16 passes, 31 passes */
	for (int d = 14; d <= 32; d++) {
		for (int i = 0; i < STORE_KEY_LEN; i++)	/* d distinct high bytes, no steps */
			k->bytes[i] = (uint8_t)(0x80 + (i < d ? i * i % 97 : 0));
		/* i*i % 97 for i < 32 takes distinct values (97 is prime, i < 49) */
		CHECK_INT(store_key_looks_random(k, NULL, 0), d >= 16);
	}
	/* random keys: all pass (a false positive is a 5e-14 event) */
	for (int i = 0; i < 10000; i++) {
		CHECK_INT(store_key_generate(k), 0);
		if (!store_key_looks_random(k, why, sizeof(why))) {
			CHECK(!"a random key was refused");
			break;
		}
	}
	/* the test keys of this file */
	CHECK(store_key_looks_random(key_a, NULL, 0));

	/* through store_key_load: refused in every form, never quoted */
	unsetenv("CREDENTIALS_DIRECTORY");
	got = (struct store_key *)1;
	src.fd = pipe_with(password, STORE_KEY_LEN);
	CHECK_INT(store_key_load(&src, &got, &where, err, sizeof(err)), -EINVAL);
	CHECK(got == NULL);
	snprintf(text, sizeof(text), "the unseal key from fd %d is not random", src.fd);
	CHECK(contains(err, text));
	CHECK(contains(err, "`zerowg init` makes one"));
	CHECK(!contains(err, "password"));
	close(src.fd);
	memset(k->bytes, 0, STORE_KEY_LEN);	/* base64 of all zeros */
	store_key_to_base64(k, b64);
	snprintf(text, sizeof(text), "%s\n", b64);
	src.fd = pipe_with(text, strlen(text));
	CHECK_INT(store_key_load(&src, &got, &where, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "all 32 bytes are the same"));
	close(src.fd);
	memset(k->bytes, 0x41, STORE_KEY_LEN);	/* hex of all 0x41 */
	key_to_hex(hexkey, k->bytes);
	src.fd = pipe_with(hexkey, 64);
	CHECK_INT(store_key_load(&src, &got, &where, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "not random"));
	close(src.fd);
	{	/* a credential holding a password, raw */
		char *cdir = new_dir(), path[700];

		setenv("CREDENTIALS_DIRECTORY", cdir, 1);
		snprintf(path, sizeof(path), "%s/zerowg-unseal-key", cdir);
		write_whole(path, (const uint8_t *)password, STORE_KEY_LEN);
		src.fd = -1;
		CHECK_INT(store_key_load(&src, &got, &where, err, sizeof(err)), -EINVAL);
		CHECK(contains(err, "credential zerowg-unseal-key is not random"));
		unsetenv("CREDENTIALS_DIRECTORY");
	}
	/* a random key in each form still loads */
	CHECK_INT(store_key_generate(k), 0);
	src.fd = pipe_with(k->bytes, STORE_KEY_LEN);
	CHECK_INT(store_key_load(&src, &got, &where, err, sizeof(err)), 0);
	CHECK(got && memcmp(got->bytes, k->bytes, STORE_KEY_LEN) == 0);
	store_key_free(got);
	close(src.fd);
	key_to_hex(hexkey, k->bytes);
	src.fd = pipe_with(hexkey, 64);
	CHECK_INT(store_key_load(&src, &got, &where, err, sizeof(err)), 0);
	CHECK(got && memcmp(got->bytes, k->bytes, STORE_KEY_LEN) == 0);
	store_key_free(got);
	close(src.fd);
	/* the store itself takes any key it is given (the check is the
	 * loader's): synthetic keys in tests, a key init generated */
	{
		char dir[512], uri[600];
		struct store *s = NULL;

		memset(k->bytes, 0, STORE_KEY_LEN);
		snprintf(uri, sizeof(uri), "%s", new_sealed_uri(dir, sizeof(dir)));
		CHECK_INT(store_create(uri, k, &s, err, sizeof(err)), 0);
		store_close(s);
	}
	explicit_bzero(why, sizeof(why));
	store_key_free(k);
}

/* Seconds until the key expires, from /proc/keys ("6d", "23h", "perm"):
 * whole units, rounded down as the kernel does; 0 for none, -1 if not
 * listed. */
static long keyring_expiry(long id)
{
	char line[512], want[32], unit;
	FILE *f = fopen("/proc/keys", "r");
	long v = -1, n;

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%08lx ", id);
	while (fgets(line, sizeof(line), f)) {
		char exp[16];

		if (strncmp(line, want, strlen(want)))
			continue;
		/* id flags usage expiry perm uid gid type desc */
		if (sscanf(line, "%*s %*s %*s %15s", exp) != 1)
			break;
		if (!strcmp(exp, "perm")) {
			v = 0;
			break;
		}
		if (sscanf(exp, "%ld%c", &n, &unit) == 2)
			v = unit == 'w' ? n * 7 * 86400 : unit == 'd' ? n * 86400 :
			    unit == 'h' ? n * 3600 : unit == 'm' ? n * 60 : n;
		break;
	}
	fclose(f);
	return v;
}

static void test_key_keyring(void)
{
	struct store_key_source src = no_sources;
	struct store_key *k = NULL, *key_b;
	const char *where = NULL;
	char desc[64], err[1024];
	long id;
	int ret;

	unsetenv("CREDENTIALS_DIRECTORY");
	snprintf(desc, sizeof(desc), "zerowg-test:%d", (int)getpid());
	ret = store_key_to_keyring(key_a, desc);
	if (ret == -EPERM || ret == -ENOSYS || ret == -EACCES || ret == -EDQUOT) {
		/* not a verdict: the environment denies keyrings */
		printf("info: keyring unavailable (%s); fd and credential sources tested\n",
		       strerror(-ret));
		return;
	}
	CHECK_INT(ret, 0);
	src.keyring_desc = desc;
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), 0);
	CHECK(k && memcmp(k->bytes, key_a->bytes, STORE_KEY_LEN) == 0);
	CHECK(where && strcmp(where, "kernel keyring") == 0);
	store_key_free(k);

	/* The owner can read it without possessing it; possessor and owner
	 * may view, read and search it, and nothing else (KEY_PERM). */
	id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", desc, 0);
	CHECK(id > 0);
	if (id > 0) {
		char perm[128];
		long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, perm, sizeof(perm));

		/* "user;UID;GID;PERM;desc" */
		CHECK(n > 0 && strstr(perm, ";1b1b0000;") != NULL);
		/* It expires within a week, and nobody may lengthen it, widen
		 * its permissions, or overwrite it in place. */
		CHECK(keyring_expiry(id) >= 6 * 24 * 3600 && keyring_expiry(id) <= 7 * 24 * 3600);
		CHECK(syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, id, 0) < 0 && errno == EACCES);
		CHECK(syscall(SYS_keyctl, KEYCTL_SETPERM, id, 0x3f3f3f3f) < 0 && errno == EACCES);
		CHECK(syscall(SYS_keyctl, KEYCTL_UPDATE, id, "x", (size_t)1) < 0 && errno == EACCES);
	}
	/* A second init replaces it (its read-only key cannot be updated). */
	key_b = store_key_new();
	CHECK(key_b && store_key_generate(key_b) == 0);
	CHECK_INT(store_key_to_keyring(key_b, desc), 0);
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), 0);
	CHECK(k && key_b && memcmp(k->bytes, key_b->bytes, STORE_KEY_LEN) == 0);
	store_key_free(k);
	store_key_free(key_b);
	k = NULL;
	id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", desc, 0);
	CHECK(id > 0);
	if (id > 0)
		CHECK_INT(syscall(SYS_keyctl, KEYCTL_INVALIDATE, id), 0);
	/* gone: not found, and the message says so */
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), -ENOKEY);
	CHECK(contains(err, desc) && contains(err, "not found"));
	/* a keyring key with junk in it is an error, not skipped */
	id = syscall(SYS_add_key, "user", desc, "junk", (size_t)4, KEY_SPEC_USER_KEYRING);
	CHECK(id > 0);
	CHECK_INT(store_key_load(&src, &k, &where, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "does not hold an unseal key"));
	if (id > 0)
		syscall(SYS_keyctl, KEYCTL_INVALIDATE, id);
}

/* Reads from the pty master into buf until want appears or 5 s pass. */
static bool read_until(int master, char *buf, size_t cap, size_t *len, const char *want)
{
	for (int i = 0; i < 50; i++) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		ssize_t n;

		buf[*len] = '\0';
		if (strstr(buf, want))
			return true;
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(master, buf + *len, cap - 1 - *len);
		if (n <= 0)
			return false;
		*len += (size_t)n;
	}
	buf[*len] = '\0';
	return strstr(buf, want) != NULL;
}

/* The prompt, on a pseudo-terminal that is the child's controlling
 * terminal: the key typed is read and not echoed. */
static void test_key_prompt(void)
{
	char b64[45], line[64], out[2048];
	uint8_t expect[STORE_KEY_LEN];
	size_t olen = 0;
	int master, status = -1;
	pid_t pid;

	store_key_to_base64(key_a, b64);
	memcpy(expect, key_a->bytes, STORE_KEY_LEN);
	master = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK(master >= 0);
	if (master < 0 || grantpt(master) || unlockpt(master))
		return;
	pid = fork();
	if (pid == 0) {
		struct store_key_source src = no_sources;
		struct store_key *k = NULL;
		char err[1024];
		int slave;

		setsid();
		slave = open(ptsname(master), O_RDWR);	/* becomes the controlling tty */
		close(master);
		if (slave < 0)
			_exit(3);
		unsetenv("CREDENTIALS_DIRECTORY");
		src.allow_prompt = true;
		alarm(10);	/* bounded, should the parent never answer */
		if (store_key_load(&src, &k, NULL, err, sizeof(err)) != 0)
			_exit(1);
		/* key_a's page is MADV_WIPEONFORK: compare with the copy */
		_exit(memcmp(k->bytes, expect, STORE_KEY_LEN) == 0 ? 0 : 2);
	}
	CHECK(read_until(master, out, sizeof(out), &olen, "(base64, not shown): "));
	snprintf(line, sizeof(line), "%s\n", b64);
	CHECK_INT(write(master, line, strlen(line)), (long long)strlen(line));
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	read_until(master, out, sizeof(out), &olen, "\n");
	/* ECHONL shows the newline; no part of the key comes back */
	b64[8] = '\0';
	CHECK(!strstr(out, b64));
	close(master);

	/* a typed line that is no key: an error for a person */
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master))
		return;
	olen = 0;
	pid = fork();
	if (pid == 0) {
		struct store_key_source src = no_sources;
		struct store_key *k = NULL;
		char err[1024];

		setsid();
		if (open(ptsname(master), O_RDWR) < 0)
			_exit(3);
		close(master);
		unsetenv("CREDENTIALS_DIRECTORY");
		src.allow_prompt = true;
		alarm(10);	/* bounded, should the parent never answer */
		if (store_key_load(&src, &k, NULL, err, sizeof(err)) == -EINVAL &&
		    strstr(err, "not an unseal key"))
			_exit(0);
		_exit(1);
	}
	CHECK(read_until(master, out, sizeof(out), &olen, "not shown): "));
	CHECK_INT(write(master, "hunter2\n", 8), 8);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(master);

	/* no terminal at all: the prompt is skipped, -ENOKEY */
	pid = fork();
	if (pid == 0) {
		struct store_key_source src = no_sources;
		struct store_key *k = NULL;
		char err[1024];

		setsid();	/* no controlling terminal */
		unsetenv("CREDENTIALS_DIRECTORY");
		src.allow_prompt = true;
		alarm(10);	/* bounded, should the parent never answer */
		_exit(store_key_load(&src, &k, NULL, err, sizeof(err)) == -ENOKEY &&
		      strstr(err, "prompt (no terminal)") ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Not a test: how long one acknowledged (fsynced) put takes on this disk. */
static void measure_put(void)
{
	char dir[512], err[512], uri[600];
	struct store *s = NULL;
	double ms[21];
	uint64_t v = 1;

	snprintf(uri, sizeof(uri), "%s", new_sealed_uri(dir, sizeof(dir)));
	if (store_create(uri, key_a, &s, err, sizeof(err)))
		return;
	put_str(s, "peers/bench", "x", STORE_NEW, &v);
	for (int i = 0; i < 21; i++) {
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		if (put_str(s, "peers/bench", "{\"public_key\":\"0123456789abcdef0123456789abcdef"
			    "0123456789a=\"}", v, &v))
			break;
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	}
	qsort(ms, 21, sizeof(ms[0]), cmp_double);
	printf("info: one sealed put with fsync in %s: median %.2f ms, max %.2f ms (21 puts)\n",
	       dir, ms[10], ms[20]);
	store_close(s);
}

int main(void)
{
	main_pid = getpid();
	log_init("store_test", LOG_LEVEL_SILENT);
	atexit(remove_dirs);
	cleanup_on_signals();
	key_a = test_key(0x10);

	RUN(test_memory_basic);
	RUN(test_sealed_basic);
	RUN(test_memory_cas);
	RUN(test_sealed_cas);
	RUN(test_memory_bad_input);
	RUN(test_sealed_bad_input);
	RUN(test_uris);
	RUN(test_sealed_reopen);
	RUN(test_sealed_tamper);
	RUN(test_sealed_swap);
	RUN(test_sealed_no_plaintext);
	RUN(test_sealed_stray_files);
	RUN(test_sealed_two_handles);
	RUN(test_sealed_dir_access);
	RUN(test_sealed_not_regular);
	RUN(test_key_text);
	RUN(test_key_from_fd);
	RUN(test_sealed_hand_over);
	RUN(test_key_from_credential);
	RUN(test_key_weak);
	RUN(test_key_keyring);
	RUN(test_key_prompt);
	measure_put();

	store_key_free(key_a);
	TEST_EXIT();
}
