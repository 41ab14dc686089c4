/*
 * store_manifest.c - the manifest of a sealed store (store_backend.h): the
 * in-memory list of every record's name, version and file digest, and its
 * sealed form on disk.  How the sealed backend uses it to bind the store
 * together, and in what order it writes, is in store_sealed.c.
 *
 * The manifest is sealed like a record (store_record.c's format), under its
 * own subkey ("store manifest") and the name "manifest", with the store's
 * generation as the record version: the generation is in the header, which
 * the tag covers.  The value (all integers big-endian):
 *   u32 count
 *   count times: u16 name length | name | u64 version | u8 state | digest (32)
 * Entries are strictly sorted by name (strcmp) and each name is a valid
 * store key; the parser refuses anything else, even under a good tag, so a
 * buggy writer cannot leave a manifest that two readers understand
 * differently.  tests/fuzz/store_fuzz.c feeds manifest_open and
 * manifest_parse arbitrary bytes.
 *
 * Relies on store_record.c (sealed_blob_*) and libc.  No secret is in a
 * manifest (names, versions, digests of ciphertext), so it is not wiped.
 */
#include "store_backend.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_FIXED (2 + 8 + 1 + SEALED_DIGEST_LEN)

void manifest_init(struct manifest *m)
{
	memset(m, 0, sizeof(*m));
}

void manifest_free(struct manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].name);
	free(m->v);
	manifest_init(m);
}

/* Index of name, or -(insertion point) - 1. */
static ssize_t find(const struct manifest *m, const char *name)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->v[mid].name, name);

		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(ssize_t)lo - 1;
}

struct manifest_entry *manifest_find(const struct manifest *m, const char *name)
{
	ssize_t i = find(m, name);

	return i >= 0 ? &m->v[i] : NULL;
}

static int reserve(struct manifest *m, size_t need)
{
	struct manifest_entry *v;
	size_t cap;

	if (need <= m->cap)
		return 0;
	cap = m->cap ? m->cap * 2 : 16;
	while (cap < need)
		cap *= 2;
	v = realloc(m->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->v = v;
	m->cap = cap;
	return 0;
}

int manifest_set(struct manifest *m, const char *name, uint64_t version,
		 const uint8_t digest[SEALED_DIGEST_LEN], enum manifest_state state)
{
	ssize_t i = find(m, name);
	struct manifest_entry *e;

	if (i < 0) {
		size_t at = (size_t)(-i - 1);
		char *copy = strdup(name);

		if (!copy || reserve(m, m->n + 1)) {
			free(copy);
			return -ENOMEM;
		}
		memmove(&m->v[at + 1], &m->v[at], (m->n - at) * sizeof(m->v[0]));
		m->n++;
		e = &m->v[at];
		e->name = copy;
	} else {
		e = &m->v[i];
	}
	e->version = version;
	memcpy(e->digest, digest, SEALED_DIGEST_LEN);
	e->state = (uint8_t)state;
	return 0;
}

void manifest_remove(struct manifest *m, const char *name)
{
	ssize_t i = find(m, name);

	if (i < 0)
		return;
	free(m->v[i].name);
	memmove(&m->v[i], &m->v[i + 1], (m->n - (size_t)i - 1) * sizeof(m->v[0]));
	m->n--;
}

int manifest_copy(struct manifest *dst, const struct manifest *src)
{
	manifest_free(dst);
	if (reserve(dst, src->n))
		return -ENOMEM;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i] = src->v[i];
		dst->v[i].name = strdup(src->v[i].name);
		if (!dst->v[i].name) {
			dst->n = i;
			manifest_free(dst);
			return -ENOMEM;
		}
		dst->n = i + 1;
	}
	dst->generation = src->generation;
	return 0;
}

int manifest_seal(const struct sealed_keys *keys, const struct manifest *m, uint8_t **out,
		  size_t *out_len)
{
	size_t len = 4, off = 0;
	uint8_t *val;
	uint32_t be32;
	int ret;

	for (size_t i = 0; i < m->n; i++)
		len += ENTRY_FIXED + strlen(m->v[i].name);
	if (len > MANIFEST_MAX_VALUE || m->n > UINT32_MAX)
		return -EMSGSIZE;
	val = malloc(len);
	if (!val)
		return -ENOMEM;
	be32 = htobe32((uint32_t)m->n);
	memcpy(val, &be32, 4);
	off = 4;
	for (size_t i = 0; i < m->n; i++) {
		const struct manifest_entry *e = &m->v[i];
		uint16_t nl = (uint16_t)strlen(e->name), be16 = htobe16(nl);
		uint64_t be64 = htobe64(e->version);

		memcpy(val + off, &be16, 2);
		memcpy(val + off + 2, e->name, nl);
		off += 2 + nl;
		memcpy(val + off, &be64, 8);
		val[off + 8] = e->state;
		memcpy(val + off + 9, e->digest, SEALED_DIGEST_LEN);
		off += 9 + SEALED_DIGEST_LEN;
	}
	ret = sealed_blob_seal(keys->manifest_key, MANIFEST_MAX_VALUE, MANIFEST_NAME, val, len,
			       m->generation, out, out_len);
	free(val);
	return ret;
}

int manifest_open(const struct sealed_keys *keys, const uint8_t *buf, size_t len,
		  struct manifest *m)
{
	uint8_t *val = NULL;
	size_t vlen = 0;
	uint64_t gen;
	int ret;

	ret = sealed_blob_open(keys->manifest_key, MANIFEST_MAX_VALUE, buf, len, MANIFEST_NAME,
			       NULL, &val, &vlen, &gen);
	if (ret)
		return ret;
	ret = manifest_parse(val, vlen, gen, m);
	free(val);
	return ret;
}

int manifest_parse(const uint8_t *val, size_t vlen, uint64_t gen, struct manifest *m)
{
	struct manifest got;
	size_t off;
	uint32_t be32, count;
	int ret;

	manifest_init(&got);
	got.generation = gen;
	ret = -EBADMSG;
	if (vlen < 4)
		goto out;
	memcpy(&be32, val, 4);
	count = be32toh(be32);
	/* Each entry takes at least ENTRY_FIXED + 1 bytes: no count can make
	 * the reservation below larger than the value itself warrants. */
	if (count > (vlen - 4) / (ENTRY_FIXED + 1))
		goto out;
	if (count && reserve(&got, count)) {
		ret = -ENOMEM;
		goto out;
	}
	off = 4;
	for (uint32_t i = 0; i < count; i++) {
		struct manifest_entry *e = &got.v[i];
		uint16_t be16;
		uint64_t be64;
		size_t nl;

		if (vlen - off < 2)
			goto out;
		memcpy(&be16, val + off, 2);
		nl = be16toh(be16);
		if (nl == 0 || nl > STORE_KEY_NAME_MAX || vlen - off - 2 < nl + 9 + SEALED_DIGEST_LEN)
			goto out;
		e->name = malloc(nl + 1);
		if (!e->name) {
			ret = -ENOMEM;
			goto out;
		}
		got.n = i + 1;
		memcpy(e->name, val + off + 2, nl);
		e->name[nl] = '\0';
		off += 2 + nl;
		memcpy(&be64, val + off, 8);
		e->version = be64toh(be64);
		e->state = val[off + 8];
		memcpy(e->digest, val + off + 9, SEALED_DIGEST_LEN);
		off += 9 + SEALED_DIGEST_LEN;
		if (strlen(e->name) != nl || !store_key_name_valid(e->name) ||
		    e->state > MANIFEST_DELETING || e->version == STORE_NEW ||
		    e->version == STORE_ANY_VERSION ||
		    (i > 0 && strcmp(got.v[i - 1].name, e->name) >= 0))
			goto out;
	}
	if (off != vlen)
		goto out;
	manifest_free(m);
	*m = got;
	manifest_init(&got);
	ret = 0;
out:
	manifest_free(&got);
	return ret;
}
