/*
 * store_record.c - the codec of one sealed record: the bytes of a record
 * file (format in store_sealed.c's first comment), the file id that hides
 * the record name, the digest that binds a file into the manifest, and the
 * three subkeys all come from here.  The manifest (store_manifest.c) is
 * sealed in the same format under its own subkey (sealed_blob_*), so that
 * no record file can pass for it, nor it for a record.  No file I/O:
 * store_sealed.c does the files, tests/fuzz/store_fuzz.c feeds this parser
 * arbitrary bytes.
 *
 * Relies on OpenSSL 3: HKDF (EVP_KDF) for the subkeys, HMAC-SHA256 for file
 * ids, SHA-256 for digests, AES-256-GCM (EVP_CIPHER) for the contents.  Plaintext lives only in
 * heap buffers that are wiped before they are freed.
 */
#include "store_backend.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define SEALED_MAGIC "ZWGSEAL1"
#define SEALED_MAGIC_LEN 8
#define SEALED_FORMAT 1

/* Header offsets: magic, format (u16 BE), flags (u16 BE, 0), version (u64
 * BE), nonce. */
#define OFF_FORMAT 8
#define OFF_FLAGS 10
#define OFF_VERSION 12
#define OFF_NONCE 20

/* HKDF salt and info strings: domain separation between the two subkeys
 * and from anything else the unseal key might ever be used for. */
static const char hkdf_salt[] = "zerowg sealed store v1";
static const char info_names[] = "record file names";
static const char info_records[] = "record contents";
static const char info_manifest[] = "store manifest";

static int hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len,
		       const char *info)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5];
	int ret = -EIO;

	if (!ctx)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)hkdf_salt,
						      sizeof(hkdf_salt) - 1);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
						      strlen(info));
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) == 1)
		ret = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ret;
}

int sealed_keys_derive(struct sealed_keys *keys, const struct store_key *unseal)
{
	if (hkdf_sha256(keys->name_key, sizeof(keys->name_key), unseal->bytes,
			STORE_KEY_LEN, info_names) ||
	    hkdf_sha256(keys->record_key, sizeof(keys->record_key), unseal->bytes,
			STORE_KEY_LEN, info_records) ||
	    hkdf_sha256(keys->manifest_key, sizeof(keys->manifest_key), unseal->bytes,
			STORE_KEY_LEN, info_manifest)) {
		explicit_bzero(keys, sizeof(*keys));
		return -EIO;
	}
	return 0;
}

int sealed_file_id(const struct sealed_keys *keys, const char *name,
		   uint8_t id[SEALED_FILE_ID_LEN])
{
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), keys->name_key, sizeof(keys->name_key),
		  (const unsigned char *)name, strlen(name), id, &len) ||
	    len != SEALED_FILE_ID_LEN)
		return -EIO;
	return 0;
}

/* AES-256-GCM over in (in_len bytes) with the header as AD; encrypt writes
 * in_len + 16 bytes (tag last), decrypt reads in_len >= 16 bytes and writes
 * in_len - 16.  true on success; false on a bad tag or an OpenSSL error. */
/* AES-256-GCM over the header (associated data) and in.  0, -EBADMSG when
 * decryption rejects the tag (tampered, or another key), or -ENOMEM when
 * OpenSSL could not set up or run the cipher (it fails only for want of
 * memory here): running out of memory is not reported as tampering. */
static int gcm(bool enc, const uint8_t key[32], const uint8_t *header,
	       const uint8_t *in, size_t in_len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	const uint8_t *nonce = header + OFF_NONCE;
	size_t body = enc ? in_len : in_len - SEALED_TAG_LEN;
	uint8_t tag[SEALED_TAG_LEN];
	int ret = -ENOMEM;
	int n;

	if (!ctx)
		goto out;
	if (body > INT32_MAX) {
		ret = -EMSGSIZE;
		goto out;
	}
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEALED_NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, header, SEALED_HEADER_LEN) != 1)
		goto out;
	if (body && EVP_CipherUpdate(ctx, out, &n, in, (int)body) != 1)
		goto out;
	if (enc) {
		if (EVP_CipherFinal_ex(ctx, out + body, &n) != 1 ||
		    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEALED_TAG_LEN,
					out + body) != 1)
			goto out;
	} else {
		memcpy(tag, in + body, SEALED_TAG_LEN);
		if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEALED_TAG_LEN, tag) != 1)
			goto out;
		if (EVP_CipherFinal_ex(ctx, out + body, &n) != 1) {
			ret = -EBADMSG;	/* the tag did not match */
			goto out;
		}
	}
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int sealed_digest(const uint8_t *buf, size_t len, uint8_t out[SEALED_DIGEST_LEN])
{
	unsigned int n = 0;

	return EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) == 1 &&
	       n == SEALED_DIGEST_LEN ? 0 : -EIO;
}

int sealed_record_seal(const struct sealed_keys *keys, const char *name,
		       const uint8_t *val, size_t len, uint64_t version,
		       uint8_t **out, size_t *out_len)
{
	return sealed_blob_seal(keys->record_key, STORE_MAX_VALUE_LEN, name, val, len, version,
				out, out_len);
}

int sealed_blob_seal(const uint8_t key[SEALED_SUBKEY_LEN], size_t max_len, const char *name,
		     const uint8_t *val, size_t len, uint64_t version, uint8_t **out,
		     size_t *out_len)
{
	size_t name_len = strlen(name);
	size_t pt_len = 2 + name_len + len;
	size_t total = SEALED_HEADER_LEN + pt_len + SEALED_TAG_LEN;
	uint8_t *pt = NULL, *buf = NULL;
	uint16_t be16;
	uint64_t be64;
	int ret = -ENOMEM;

	if (name_len == 0 || name_len > STORE_KEY_NAME_MAX || len > max_len ||
	    version == STORE_NEW || version == STORE_ANY_VERSION)
		return -EINVAL;
	pt = malloc(pt_len);
	buf = malloc(total);
	if (!pt || !buf)
		goto out;

	memcpy(buf, SEALED_MAGIC, SEALED_MAGIC_LEN);
	be16 = htobe16(SEALED_FORMAT);
	memcpy(buf + OFF_FORMAT, &be16, 2);
	be16 = 0;
	memcpy(buf + OFF_FLAGS, &be16, 2);
	be64 = htobe64(version);
	memcpy(buf + OFF_VERSION, &be64, 8);
	/* A fresh random nonce per write: 96 random bits keep the chance of a
	 * repeat negligible for far more writes than a store ever sees. */
	if (RAND_bytes(buf + OFF_NONCE, SEALED_NONCE_LEN) != 1) {
		ret = -EIO;
		goto out;
	}

	be16 = htobe16((uint16_t)name_len);
	memcpy(pt, &be16, 2);
	memcpy(pt + 2, name, name_len);
	if (len)
		memcpy(pt + 2 + name_len, val, len);
	if ((ret = gcm(true, key, buf, pt, pt_len, buf + SEALED_HEADER_LEN)) < 0)
		goto out;
	*out = buf;
	*out_len = total;
	buf = NULL;
	ret = 0;
out:
	if (pt) {
		explicit_bzero(pt, pt_len);
		free(pt);
	}
	free(buf);	/* ciphertext or nothing yet: no wipe needed */
	return ret;
}

int sealed_record_open(const struct sealed_keys *keys, const uint8_t *buf, size_t buf_len,
		       const char *expect_name, char **name, uint8_t **val, size_t *len,
		       uint64_t *version)
{
	return sealed_blob_open(keys->record_key, STORE_MAX_VALUE_LEN, buf, buf_len, expect_name,
				name, val, len, version);
}

int sealed_blob_open(const uint8_t key[SEALED_SUBKEY_LEN], size_t max_len, const uint8_t *buf,
		     size_t buf_len, const char *expect_name, char **name, uint8_t **val,
		     size_t *len, uint64_t *version)
{
	size_t pt_len, name_len, val_len;
	uint8_t *pt = NULL, *v = NULL;
	char *nm = NULL;
	uint16_t be16;
	uint64_t be64, ver;
	int ret = -EBADMSG;

	if (buf_len < SEALED_HEADER_LEN + 2 + 1 + SEALED_TAG_LEN ||
	    buf_len > SEALED_HEADER_LEN + 2 + STORE_KEY_NAME_MAX + max_len + SEALED_TAG_LEN)
		return -EBADMSG;
	if (memcmp(buf, SEALED_MAGIC, SEALED_MAGIC_LEN) != 0)
		return -EBADMSG;
	memcpy(&be16, buf + OFF_FORMAT, 2);
	if (be16toh(be16) != SEALED_FORMAT)
		return -EBADMSG;
	/* The flags and the version are checked by the tag too; checking them
	 * here only refuses nonsense before decrypting. */
	memcpy(&be16, buf + OFF_FLAGS, 2);
	if (be16 != 0)
		return -EBADMSG;
	memcpy(&be64, buf + OFF_VERSION, 8);
	ver = be64toh(be64);
	if (ver == STORE_NEW || ver == STORE_ANY_VERSION)
		return -EBADMSG;

	pt_len = buf_len - SEALED_HEADER_LEN - SEALED_TAG_LEN;
	pt = malloc(pt_len);
	if (!pt)
		return -ENOMEM;
	if ((ret = gcm(false, key, buf, buf + SEALED_HEADER_LEN,
		       buf_len - SEALED_HEADER_LEN, pt)) < 0)
		goto out;
	ret = -EBADMSG;

	/* Authentic from here on; the checks below only catch a record sealed
	 * by a buggy writer, or one that belongs under another name. */
	memcpy(&be16, pt, 2);
	name_len = be16toh(be16);
	if (name_len == 0 || name_len > STORE_KEY_NAME_MAX || 2 + name_len > pt_len)
		goto out;
	if (memchr(pt + 2, '\0', name_len))
		goto out;
	if (expect_name && (strlen(expect_name) != name_len ||
			    memcmp(expect_name, pt + 2, name_len) != 0))
		goto out;
	val_len = pt_len - 2 - name_len;

	ret = -ENOMEM;
	if (name) {
		nm = malloc(name_len + 1);
		if (!nm)
			goto out;
		memcpy(nm, pt + 2, name_len);
		nm[name_len] = '\0';
		if (!store_key_name_valid(nm)) {
			ret = -EBADMSG;
			goto out;
		}
	}
	if (val) {
		v = malloc(val_len ? val_len : 1);
		if (!v)
			goto out;
		if (val_len)
			memcpy(v, pt + 2 + name_len, val_len);
		*val = v;
		v = NULL;
	}
	if (len)
		*len = val_len;
	if (name) {
		*name = nm;
		nm = NULL;
	}
	*version = ver;
	ret = 0;
out:
	free(nm);
	free(v);
	explicit_bzero(pt, pt_len);
	free(pt);
	return ret;
}
