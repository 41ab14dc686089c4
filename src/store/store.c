/*
 * store.c - the front of the secret store (store.h): picks the backend from
 * the URI ("sealed:DIR", "memory:"), checks every key name and version
 * before a backend sees it, writes and checks the `meta` canary, and keeps
 * the per-thread message for a person about the last failure.
 *
 * Relies on the backends in store_memory.c and store_sealed.c (through
 * struct store_ops in store_backend.h) and on libc only.
 */
#include "store_backend.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Per thread, because a struct store is shared by threads and each wants
 * the message for its own failure. */
static __thread char last_error[512];

int store_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

void store_clear_error(void)
{
	last_error[0] = '\0';
}

const char *store_last_error(void)
{
	return last_error;
}

bool store_key_name_valid(const char *key)
{
	size_t n;

	if (!key)
		return false;
	for (n = 0; key[n]; n++) {
		char c = key[n];

		if (n >= STORE_KEY_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' || c == '-'))
			return false;
	}
	return n > 0;
}

/* A prefix is a key name or the empty string. */
static bool prefix_valid(const char *prefix)
{
	return prefix && (prefix[0] == '\0' || store_key_name_valid(prefix));
}

/* A key name quoted for a message: printable characters only, cut short,
 * so a hostile name cannot forge log lines. */
static const char *quote_name(const char *key, char buf[80])
{
	size_t i;

	if (!key)
		return "(null)";
	for (i = 0; key[i] && i < 64; i++)
		buf[i] = (key[i] >= 0x20 && key[i] < 0x7f && key[i] != '"') ? key[i] : '?';
	if (key[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static int check_key(const char *key)
{
	char q[80];

	if (store_key_name_valid(key))
		return 0;
	return store_fail(-EINVAL, "store key \"%s\" is not valid: use 1 to %d characters of "
			  "A-Z a-z 0-9 . _ / -", quote_name(key, q), STORE_KEY_NAME_MAX);
}

char *store_meta_value_at(long long created, size_t *len)
{
	char *v = malloc(64);
	int n;

	if (!v)
		return NULL;
	n = snprintf(v, 64, "{\"version\":%d,\"created\":%lld}", STORE_META_VERSION,
		     created ? created : (long long)time(NULL));
	*len = (size_t)n;
	return v;
}

char *store_meta_value(size_t *len)
{
	return store_meta_value_at(0, len);
}

/* The integer after "key": in a meta value (zerowg wrote it; not general JSON). */
static long long meta_field(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

void store_meta_parse(const uint8_t *val, size_t len, long long *version, long long *created)
{
	char buf[128];

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, val, len);
	buf[len] = '\0';
	*version = meta_field(buf, "\"version\":");
	*created = meta_field(buf, "\"created\":");
}

static void copy_error(char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", last_error);
}

static int open_uri(const char *uri, const struct store_key *key, bool create,
		    struct store **out, char *err, size_t errlen)
{
	uint8_t *meta = NULL;
	size_t meta_len = 0;
	int ret;

	store_clear_error();
	*out = NULL;
	if (create) {
		meta = (uint8_t *)store_meta_value(&meta_len);
		if (!meta) {
			ret = store_fail(-ENOMEM, "out of memory");
			goto out;
		}
	}
	if (uri && strcmp(uri, "memory:") == 0) {
		ret = store_memory_open(meta, meta_len, out);
	} else if (uri && strncmp(uri, "sealed:", 7) == 0 && uri[7]) {
		if (!key)
			ret = store_fail(-EINVAL, "store %s needs an unseal key", uri);
		else
			ret = store_sealed_open(uri + 7, key, meta, meta_len, out);
	} else {
		ret = store_fail(-EINVAL, "store \"%s\" is not known: use sealed:DIR "
				 "(e.g. sealed:/var/lib/zerowg) or memory:", uri ? uri : "");
	}
out:
	free(meta);
	if (ret)
		copy_error(err, errlen);
	return ret;
}

int store_create(const char *uri, const struct store_key *key, struct store **out,
		 char *err, size_t errlen)
{
	return open_uri(uri, key, true, out, err, errlen);
}

int store_open(const char *uri, const struct store_key *key, struct store **out,
	       char *err, size_t errlen)
{
	return open_uri(uri, key, false, out, err, errlen);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

int store_get(struct store *s, const char *key, uint8_t **val, size_t *len, uint64_t *version)
{
	uint64_t v;
	int ret;

	store_clear_error();
	if ((ret = check_key(key)))
		return ret;
	ret = s->ops->get(s, key, val, len, &v);
	if (ret == 0) {
		store_clear_error();	/* a backend may note a miss on its way */
		if (version)
			*version = v;
	}
	return ret;
}

int store_put(struct store *s, const char *key, const uint8_t *val, size_t len,
	      uint64_t expect, uint64_t *new_version)
{
	char q[80];
	uint64_t v;
	int ret;

	store_clear_error();
	if ((ret = check_key(key)))
		return ret;
	if (len > STORE_MAX_VALUE_LEN)
		return store_fail(-EMSGSIZE, "value for \"%s\" is %zu bytes, more than the "
				  "%u a record holds", quote_name(key, q), len,
				  STORE_MAX_VALUE_LEN);
	if (!val && len)
		return store_fail(-EINVAL, "value for \"%s\" is missing", quote_name(key, q));
	ret = s->ops->put(s, key, val ? val : (const uint8_t *)"", len, expect, &v);
	if (ret == 0) {
		store_clear_error();	/* e.g. the "no record" of a creation */
		if (new_version)
			*new_version = v;
	}
	return ret;
}

int store_delete(struct store *s, const char *key, uint64_t expect)
{
	char q[80];
	int ret;

	store_clear_error();
	if ((ret = check_key(key)))
		return ret;
	if (strcmp(key, STORE_META_KEY) == 0)
		return store_fail(-EPERM, "the \"meta\" record proves the unseal key and "
				  "cannot be deleted");
	if (expect == STORE_NEW)
		return store_fail(-EINVAL, "delete of \"%s\" with version 0 (STORE_NEW) "
				  "can never match", quote_name(key, q));
	ret = s->ops->del(s, key, expect);
	if (ret == 0)
		store_clear_error();
	return ret;
}

int store_list(struct store *s, const char *prefix, char ***keys, size_t *n)
{
	char q[80];
	int ret;

	store_clear_error();
	*keys = NULL;
	*n = 0;
	if (!prefix_valid(prefix))
		return store_fail(-EINVAL, "store prefix \"%s\" is not valid: use "
				  "A-Z a-z 0-9 . _ / - only", quote_name(prefix, q));
	ret = s->ops->list(s, prefix, keys, n);
	if (ret == 0)
		store_clear_error();
	return ret;
}

void store_list_free(char **keys, size_t n)
{
	if (!keys)
		return;
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

void store_value_free(uint8_t *val, size_t len)
{
	if (!val)
		return;
	explicit_bzero(val, len);
	free(val);
}

int store_generation(struct store *s, uint64_t *gen)
{
	store_clear_error();
	return s->ops->generation(s, gen);
}

const char *store_describe(const struct store *s)
{
	return s->description;
}

/* ---------------------------------------------------------- ownership -- */

int store_hand_over(const char *uri, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	const char *dir;
	struct dirent *de;
	struct stat st;
	size_t moved = 0;
	DIR *d;
	int fd, ret = 0;

	if (!uri || strncmp(uri, "sealed:", 7) || !uri[7])
		return 0;	/* memory: has no files */
	dir = uri + 7;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;	/* missing or not a directory: store_open says so */
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (st.st_uid == uid) {
		close(fd);
		return 0;
	}
	if (st.st_uid != 0) {
		snprintf(err, errlen, "the store %s belongs to uid %u, but the server runs as uid %u: "
			 "give it to the server's user (chown -R %u:%u %s) or pass --user",
			 dir, (unsigned)st.st_uid, (unsigned)uid, (unsigned)uid, (unsigned)gid, dir);
		close(fd);
		return -EPERM;
	}
	/* A root-owned store (made by `zerowg init` as root) becomes the
	 * server's: its records, its lock, the directory itself.  Only
	 * regular files directly inside; nothing is followed. */
	d = fdopendir(fd);
	if (!d) {
		ret = -errno;
		close(fd);
		return ret;
	}
	while ((de = readdir(d))) {
		struct stat fst;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &fst, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(fst.st_mode))
			continue;
		if (fchownat(fd, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot give %s/%s to uid %u: %s", dir, de->d_name,
				 (unsigned)uid, strerror(errno));
			break;
		}
		moved++;
	}
	if (ret == 0 && fchown(fd, uid, gid) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot give %s to uid %u: %s", dir, (unsigned)uid,
			 strerror(errno));
	}
	if (ret == 0 && fchmod(fd, 0700) < 0)
		ret = -errno;
	closedir(d);
	if (ret == 0)
		log_info("store %s (%zu files) now belongs to the server's user (uid %u)", dir, moved,
			 (unsigned)uid);
	return ret;
}
