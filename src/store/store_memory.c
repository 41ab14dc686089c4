/*
 * store_memory.c - the "memory:" backend: records in a sorted array in this
 * process, gone when it exits (tests, ephemeral nodes).  Same semantics as
 * the sealed backend (versions, compare-and-swap, sorted prefix listing),
 * so one test table runs against both.
 *
 * Values hold secrets: every copy is wiped before it is freed.  One mutex
 * (struct mem_store.lock) guards the array; no other lock is taken under it.
 * Relies on store.c for argument checks.
 */
#include "store_backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct mem_record {
	char *key;
	uint8_t *val;
	size_t len;
	uint64_t version;
};

struct mem_store {
	struct store base;
	pthread_mutex_t lock;		/* guards recs, n, cap, generation */
	struct mem_record **recs;	/* sorted by key (strcmp) */
	size_t n, cap;
	uint64_t generation;		/* +1 per put or delete */
};

static struct mem_store *to_mem(struct store *s)
{
	return (struct mem_store *)s;
}

static void record_free(struct mem_record *r)
{
	if (!r)
		return;
	store_value_free(r->val, r->len);
	free(r->key);
	free(r);
}

/* Index of key, or of where it would go (*found false).  Needs lock. */
static size_t find(const struct mem_store *m, const char *key, bool *found)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->recs[mid]->key, key);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static uint8_t *dup_value(const uint8_t *val, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (p && len)
		memcpy(p, val, len);
	return p;
}

static int mem_get(struct store *s, const char *key, uint8_t **val, size_t *len,
		   uint64_t *version)
{
	struct mem_store *m = to_mem(s);
	const struct mem_record *r;
	uint8_t *copy = NULL;
	bool found;
	size_t i;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	i = find(m, key, &found);
	if (!found) {
		ret = store_fail(-ENOENT, "no record \"%s\" in the memory store", key);
		goto out;
	}
	r = m->recs[i];
	if (val) {
		copy = dup_value(r->val, r->len);
		if (!copy) {
			ret = store_fail(-ENOMEM, "out of memory");
			goto out;
		}
		*val = copy;
	}
	if (len)
		*len = r->len;
	*version = r->version;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* Checks expect against the current record (NULL = none).  0 or -ESTALE. */
static int check_version(const char *key, const struct mem_record *cur, uint64_t expect)
{
	if (expect == STORE_ANY_VERSION)
		return 0;
	if (expect == STORE_NEW && cur)
		return store_fail(-ESTALE, "record \"%s\" already exists (version %llu)", key,
				  (unsigned long long)cur->version);
	if (expect != STORE_NEW && !cur)
		return store_fail(-ESTALE, "record \"%s\" was expected at version %llu but "
				  "does not exist", key, (unsigned long long)expect);
	if (expect != STORE_NEW && cur->version != expect)
		return store_fail(-ESTALE, "record \"%s\" is at version %llu, not %llu: "
				  "someone else changed it; read it again", key,
				  (unsigned long long)cur->version, (unsigned long long)expect);
	return 0;
}

static int mem_put(struct store *s, const char *key, const uint8_t *val, size_t len,
		   uint64_t expect, uint64_t *new_version)
{
	struct mem_store *m = to_mem(s);
	struct mem_record *cur, *r = NULL;
	uint8_t *copy;
	bool found;
	size_t i;
	int ret;

	copy = dup_value(val, len);
	if (!copy)
		return store_fail(-ENOMEM, "out of memory");
	pthread_mutex_lock(&m->lock);
	i = find(m, key, &found);
	cur = found ? m->recs[i] : NULL;
	if ((ret = check_version(key, cur, expect)))
		goto err;
	if (cur) {
		if (cur->version >= STORE_ANY_VERSION - 1) {
			ret = store_fail(-EOVERFLOW, "record \"%s\" ran out of versions", key);
			goto err;
		}
		store_value_free(cur->val, cur->len);
		cur->val = copy;
		cur->len = len;
		*new_version = ++cur->version;
		m->generation++;
		goto out;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct mem_record **recs = realloc(m->recs, cap * sizeof(*recs));

		if (!recs) {
			ret = store_fail(-ENOMEM, "out of memory");
			goto err;
		}
		m->recs = recs;
		m->cap = cap;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->key = strdup(key))) {
		free(r);
		ret = store_fail(-ENOMEM, "out of memory");
		goto err;
	}
	r->val = copy;
	r->len = len;
	r->version = 1;
	memmove(&m->recs[i + 1], &m->recs[i], (m->n - i) * sizeof(m->recs[0]));
	m->recs[i] = r;
	m->n++;
	*new_version = 1;
	m->generation++;
out:
	pthread_mutex_unlock(&m->lock);
	return 0;
err:
	pthread_mutex_unlock(&m->lock);
	store_value_free(copy, len);
	return ret;
}

static int mem_del(struct store *s, const char *key, uint64_t expect)
{
	struct mem_store *m = to_mem(s);
	bool found;
	size_t i;
	int ret;

	pthread_mutex_lock(&m->lock);
	i = find(m, key, &found);
	if (!found) {
		ret = store_fail(-ENOENT, "no record \"%s\" in the memory store", key);
		goto out;
	}
	if ((ret = check_version(key, m->recs[i], expect)))
		goto out;
	record_free(m->recs[i]);
	memmove(&m->recs[i], &m->recs[i + 1], (m->n - i - 1) * sizeof(m->recs[0]));
	m->n--;
	m->generation++;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int mem_generation(struct store *s, uint64_t *gen)
{
	struct mem_store *m = to_mem(s);

	pthread_mutex_lock(&m->lock);
	*gen = m->generation;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int mem_list(struct store *s, const char *prefix, char ***keys, size_t *n)
{
	struct mem_store *m = to_mem(s);
	size_t plen = strlen(prefix), first, count = 0;
	char **out = NULL;
	bool found;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	/* Sorted by strcmp, so the keys with a prefix are one run starting
	 * where the prefix itself would go. */
	first = find(m, prefix, &found);
	while (first + count < m->n && strncmp(m->recs[first + count]->key, prefix, plen) == 0)
		count++;
	out = calloc(count ? count : 1, sizeof(*out));
	if (!out) {
		ret = store_fail(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		out[i] = strdup(m->recs[first + i]->key);
		if (!out[i]) {
			store_list_free(out, i);
			out = NULL;
			ret = store_fail(-ENOMEM, "out of memory");
			goto out;
		}
	}
	*keys = out;
	*n = count;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static void mem_close(struct store *s)
{
	struct mem_store *m = to_mem(s);

	for (size_t i = 0; i < m->n; i++)
		record_free(m->recs[i]);
	free(m->recs);
	pthread_mutex_destroy(&m->lock);
	free(m->base.description);
	free(m);
}

static const struct store_ops mem_ops = {
	.get = mem_get,
	.put = mem_put,
	.del = mem_del,
	.list = mem_list,
	.generation = mem_generation,
	.close = mem_close,
};

int store_memory_open(const uint8_t *meta, size_t meta_len, struct store **out)
{
	struct mem_store *m = calloc(1, sizeof(*m));
	uint8_t *owned = NULL;
	size_t len = meta_len;
	uint64_t v;
	int ret;

	if (!m || !(m->base.description = strdup("memory:"))) {
		free(m);
		return store_fail(-ENOMEM, "out of memory");
	}
	m->base.ops = &mem_ops;
	pthread_mutex_init(&m->lock, NULL);
	/* A memory store is always new, so open writes the canary too. */
	if (!meta) {
		owned = (uint8_t *)store_meta_value(&len);
		if (!owned) {
			mem_close(&m->base);
			return store_fail(-ENOMEM, "out of memory");
		}
		meta = owned;
	}
	ret = mem_put(&m->base, STORE_META_KEY, meta, len, STORE_NEW, &v);
	free(owned);
	if (ret) {
		mem_close(&m->base);
		return ret;
	}
	*out = &m->base;
	return 0;
}
