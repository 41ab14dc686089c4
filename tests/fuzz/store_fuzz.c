/*
 * store_fuzz.c - fuzz target for the sealed record codec
 * (src/store/store_record.c), the parser that reads whatever bytes sit in
 * a store directory.  Every input is tried two ways:
 *   - as the bytes of a record file, opened with a fixed test key, with
 *     and without an expected name: it must not crash or leak, and if it
 *     opens, what comes out must be a valid name and a value of the right
 *     length (and, with an expected name, that name);
 *   - as "name length (1 byte) | name | value": sealed, then opened again
 *     it must give back the same name, value and version; opened under
 *     another name, or with one byte (chosen by the input) flipped, it
 *     must be refused with -EBADMSG.
 *   - as the bytes of a manifest (src/store/store_manifest.c), opened with
 *     the same key: it must not crash or leak; if it opens, its entries
 *     must be valid names in strictly increasing order, and sealing them
 *     again and opening that must give the same generation and entries.
 *     (Only a genuinely sealed manifest gets past the tag, so the
 *     manifest_* seeds are what lets mutants reach the entry parser: a
 *     mutant with a broken tag is refused, which is checked as well.)
 * A broken invariant aborts.  The seeds in tests/fuzz/corpus/store/ are
 * records genuinely sealed under the test key (record_*, made with
 * sealed_record_seal and the key below), so that mutants get past the
 * magic and the tag check can be hit, manifests sealed under it
 * (manifest_*, made with manifest_seal), plus (name, value) inputs
 * (plain_*) and near-misses (bad_*).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "store_fuzz: invariant broken: %s\n", what);
	abort();
}

/* The made-up key of the corpus: bytes 0, 1, 2, ... 31. */
static const struct sealed_keys *test_keys(void)
{
	static struct sealed_keys keys;
	static bool ready;

	if (!ready) {
		struct store_key k;

		for (int i = 0; i < STORE_KEY_LEN; i++)
			k.bytes[i] = (uint8_t)i;
		if (sealed_keys_derive(&keys, &k))
			fail("key derivation");
		ready = true;
	}
	return &keys;
}

static void as_record(const uint8_t *data, size_t size)
{
	const struct sealed_keys *keys = test_keys();
	char *name = NULL;
	uint8_t *val = NULL;
	size_t len = 0;
	uint64_t version = 0;
	int ret;

	ret = sealed_record_open(keys, data, size, NULL, &name, &val, &len, &version);
	if (ret == 0) {
		if (!name || !store_key_name_valid(name) || version == 0 ||
		    version == STORE_ANY_VERSION ||
		    SEALED_HEADER_LEN + 2 + strlen(name) + len + SEALED_TAG_LEN != size)
			fail("an opened record is malformed");
		/* the same bytes under their own name open again, identically */
		{
			uint8_t *v2 = NULL;
			size_t l2 = 0;
			uint64_t ver2 = 0;

			if (sealed_record_open(keys, data, size, name, NULL, &v2, &l2, &ver2) != 0 ||
			    l2 != len || ver2 != version || (len && memcmp(v2, val, len) != 0))
				fail("a record does not open under its own name");
			store_value_free(v2, l2);
		}
		free(name);
		store_value_free(val, len);
	} else if (ret != -EBADMSG && ret != -ENOMEM) {
		fail("unexpected error from sealed_record_open");
	} else if (name || val) {
		fail("outputs set on failure");
	}
	/* with an expected name, and without wanting any output */
	ret = sealed_record_open(keys, data, size, "peers/phone", NULL, NULL, NULL, &version);
	if (ret != 0 && ret != -EBADMSG && ret != -ENOMEM)
		fail("unexpected error with an expected name");
}

static void as_plaintext(const uint8_t *data, size_t size)
{
	const struct sealed_keys *keys = test_keys();
	char name[STORE_KEY_NAME_MAX + 2];
	uint8_t *sealed = NULL, *val = NULL;
	size_t name_len, vlen, slen = 0, len = 0;
	uint64_t version, got_version = 0;
	int ret;

	if (size < 1)
		return;
	name_len = data[0];
	if (name_len == 0 || 1 + name_len > size)
		return;
	memcpy(name, data + 1, name_len);
	name[name_len] = '\0';
	if (strlen(name) != name_len || !store_key_name_valid(name))
		return;
	vlen = size - 1 - name_len;
	version = 1 + size;
	ret = sealed_record_seal(keys, name, data + 1 + name_len, vlen, version, &sealed, &slen);
	if (ret)
		fail("sealing a valid name and value failed");
	if (slen != SEALED_HEADER_LEN + 2 + name_len + vlen + SEALED_TAG_LEN)
		fail("sealed length");
	/* no plaintext value past the header (a value of 8+ bytes, which
	 * random ciphertext will not repeat by chance; the header itself is
	 * public and may well contain zeros or the magic) */
	if (vlen >= 8 && memmem(sealed + SEALED_HEADER_LEN, slen - SEALED_HEADER_LEN,
				data + 1 + name_len, vlen))
		fail("value visible in the sealed record");

	ret = sealed_record_open(keys, sealed, slen, name, NULL, &val, &len, &got_version);
	if (ret || len != vlen || got_version != version ||
	    (vlen && memcmp(val, data + 1 + name_len, vlen) != 0))
		fail("round trip");
	store_value_free(val, len);
	val = NULL;

	/* under another name: refused */
	if (name_len < STORE_KEY_NAME_MAX) {
		name[name_len] = name[name_len - 1] == 'x' ? 'y' : 'x';
		name[name_len + 1] = '\0';
		if (sealed_record_open(keys, sealed, slen, name, NULL, &val, &len, &got_version) !=
		    -EBADMSG || val)
			fail("opened under another name");
		name[name_len] = '\0';
	}
	/* one flipped bit anywhere: refused */
	{
		size_t pos = (size * 2654435761u) % slen;

		sealed[pos] ^= (uint8_t)(1u << (size % 8));
		if (sealed_record_open(keys, sealed, slen, name, NULL, &val, &len, &got_version) !=
		    -EBADMSG || val)
			fail("a flipped bit was accepted");
		/* truncated by one: refused */
		sealed[pos] ^= (uint8_t)(1u << (size % 8));
		if (sealed_record_open(keys, sealed, slen - 1, name, NULL, &val, &len,
				       &got_version) != -EBADMSG)
			fail("a truncated record was accepted");
	}
	free(sealed);
}

static void as_manifest(const uint8_t *data, size_t size)
{
	const struct sealed_keys *keys = test_keys();
	struct manifest m, again;
	uint8_t *sealed = NULL;
	size_t slen = 0;
	int ret;

	manifest_init(&m);
	manifest_init(&again);
	ret = manifest_open(keys, data, size, &m);
	if (ret != 0) {
		if (ret != -EBADMSG && ret != -ENOMEM)
			fail("unexpected error from manifest_open");
		if (m.n || m.v || m.generation)
			fail("manifest set on failure");
		return;
	}
	if (m.generation == 0 || m.generation == STORE_ANY_VERSION)
		fail("an opened manifest has an impossible generation");
	for (size_t i = 0; i < m.n; i++) {
		if (!store_key_name_valid(m.v[i].name) || m.v[i].state > MANIFEST_DELETING ||
		    (i && strcmp(m.v[i - 1].name, m.v[i].name) >= 0))
			fail("an opened manifest is malformed");
		if (manifest_find(&m, m.v[i].name) != &m.v[i])
			fail("manifest_find misses an entry");
	}
	if (manifest_seal(keys, &m, &sealed, &slen) != 0)
		fail("sealing an opened manifest failed");
	if (manifest_open(keys, sealed, slen, &again) != 0 || again.n != m.n ||
	    again.generation != m.generation)
		fail("manifest round trip");
	for (size_t i = 0; i < m.n; i++)
		if (strcmp(again.v[i].name, m.v[i].name) != 0 ||
		    again.v[i].version != m.v[i].version || again.v[i].state != m.v[i].state ||
		    memcmp(again.v[i].digest, m.v[i].digest, SEALED_DIGEST_LEN) != 0)
			fail("manifest round trip changed an entry");
	/* a manifest is not a record, nor the other way round */
	if (sealed_record_open(keys, sealed, slen, NULL, NULL, NULL, NULL,
			       &(uint64_t){ 0 }) != -EBADMSG)
		fail("a manifest opened as a record");
	/* one flipped bit anywhere: refused, and m left as it was */
	sealed[(size * 2654435761u) % slen] ^= (uint8_t)(1u << (size % 8));
	if (manifest_open(keys, sealed, slen, &m) != -EBADMSG || m.n != again.n)
		fail("a flipped bit in a manifest was accepted");
	free(sealed);
	manifest_free(&again);
	manifest_free(&m);
}

/* The bytes as the value inside a manifest: what a mutant cannot reach
 * through the tag.  What parses must seal and parse again the same. */
static void as_manifest_value(const uint8_t *data, size_t size)
{
	const struct sealed_keys *keys = test_keys();
	struct manifest m;
	uint8_t *sealed = NULL;
	size_t slen = 0;
	int ret;

	manifest_init(&m);
	ret = manifest_parse(data, size, 7, &m);
	if (ret != 0) {
		if ((ret != -EBADMSG && ret != -ENOMEM) || m.n || m.v)
			fail("manifest_parse failed uncleanly");
		return;
	}
	if (manifest_seal(keys, &m, &sealed, &slen) != 0)
		fail("sealing a parsed manifest failed");
	as_manifest(sealed, slen);
	free(sealed);
	manifest_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_record(data, size);
	as_plaintext(data, size);
	as_manifest(data, size);
	as_manifest_value(data, size);
	return 0;
}
