/*
 * secmem.c - locked, non-dumpable memory for long-lived secrets, and pools
 * of fixed-size objects cut from it (secmem.h).
 *
 * Relies on mmap (page-aligned blocks of their own, so that madvise and
 * mlock act on them alone) and on log.h for the one warning.  A small
 * registry of the live blocks (ordinary memory: addresses and lengths
 * only) answers secmem_contains.
 */
#include "secmem.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
/* LeakSanitizer looks for pointers in the heap, stacks and globals, not in
 * our mappings: what only a secmem block points to (a peer's allowed-IP
 * nodes, a thread's OpenSSL contexts) would be reported as leaked. */
#define lsan_register(p, len) __lsan_register_root_region((p), (len))
#define lsan_unregister(p, len) __lsan_unregister_root_region((p), (len))
#else
#define lsan_register(p, len) ((void)0)
#define lsan_unregister(p, len) ((void)0)
#endif

/* The live blocks; registry_lock guards the list.  Taken only when a block
 * is mapped or unmapped, never when a pool hands out an object. */
struct block {
	struct block *next;
	uintptr_t base;
	size_t len;
};
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct block *registry;

static size_t round_to_pages(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (len + page - 1) & ~(page - 1);
}

void *secmem_alloc(size_t len)
{
	static bool warned;
	size_t total = round_to_pages(len ? len : 1);
	struct block *b = malloc(sizeof(*b));
	void *p;

	if (!b)
		return NULL;
	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		free(b);
		return NULL;
	}
	madvise(p, total, MADV_DONTDUMP);
	madvise(p, total, MADV_WIPEONFORK);
	if (mlock(p, total) < 0 && !__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED)) {
		/* RLIMIT_MEMLOCK can be tiny for unprivileged users, and 8 MiB
		 * for root runs out near ten thousand busy peers; the secret is
		 * still non-dumpable and wiped, only swap is not ruled out. */
		log_warn("cannot lock memory for keys (mlock: %s): they are still non-dumpable "
			 "and wiped after use, but may be swapped; raise RLIMIT_MEMLOCK "
			 "(LimitMEMLOCK= in a unit) or give CAP_IPC_LOCK", strerror(errno));
	}
	b->base = (uintptr_t)p;
	b->len = total;
	pthread_mutex_lock(&registry_lock);
	b->next = registry;
	registry = b;
	pthread_mutex_unlock(&registry_lock);
	lsan_register(p, total);
	return p;
}

void secmem_free(void *p, size_t len)
{
	struct block **pp, *b = NULL;
	size_t total;

	if (!p)
		return;
	total = round_to_pages(len ? len : 1);
	explicit_bzero(p, total);
	lsan_unregister(p, total);
	pthread_mutex_lock(&registry_lock);
	for (pp = &registry; *pp; pp = &(*pp)->next) {
		if ((*pp)->base == (uintptr_t)p) {
			b = *pp;
			*pp = b->next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	free(b);
	munlock(p, total);
	munmap(p, total);
}

bool secmem_contains(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	bool found = false;

	if (!p || a + len < a)
		return false;
	pthread_mutex_lock(&registry_lock);
	for (struct block *b = registry; b && !found; b = b->next)
		found = a >= b->base && a + len <= b->base + b->len;
	pthread_mutex_unlock(&registry_lock);
	return found;
}

int secmem_harden_process(void)
{
	struct rlimit none = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	if (setrlimit(RLIMIT_CORE, &none) < 0)
		return -errno;
	return 0;
}

/* ---- pools ---- */

int secmem_pool_init(struct secmem_pool *pool, size_t obj_size)
{
	memset(pool, 0, sizeof(*pool));
	if (obj_size == 0 || obj_size > SECMEM_POOL_CHUNK_MAX)
		return -EINVAL;
	pool->obj_size = (obj_size + 63) & ~(size_t)63;
	pool->next_chunk_len = round_to_pages(pool->obj_size);
	return 0;
}

/* Maps one more chunk and makes all its objects free. */
static int pool_grow(struct secmem_pool *pool)
{
	size_t len = pool->next_chunk_len, n = len / pool->obj_size;
	size_t total = pool->in_use + pool->n_free + n;
	void **chunks, **free_objs;
	size_t *lens;
	uint8_t *c;

	chunks = realloc(pool->chunks, (pool->n_chunks + 1) * sizeof(*chunks));
	if (!chunks)
		return -ENOMEM;
	pool->chunks = chunks;
	lens = realloc(pool->chunk_lens, (pool->n_chunks + 1) * sizeof(*lens));
	if (!lens)
		return -ENOMEM;
	pool->chunk_lens = lens;
	if (total > pool->cap_free) {
		/* Room for every object the pool will then have, so that put
		 * never allocates. */
		free_objs = realloc(pool->free_objs, total * sizeof(*free_objs));
		if (!free_objs)
			return -ENOMEM;
		pool->free_objs = free_objs;
		pool->cap_free = total;
	}
	c = secmem_alloc(len);
	if (!c)
		return -ENOMEM;
	pool->chunks[pool->n_chunks] = c;
	pool->chunk_lens[pool->n_chunks++] = len;
	/* Handed out from the chunk's start. */
	for (size_t i = n; i-- > 0;)
		pool->free_objs[pool->n_free++] = c + i * pool->obj_size;
	if (len < SECMEM_POOL_CHUNK_MAX)
		pool->next_chunk_len = len * 2 > SECMEM_POOL_CHUNK_MAX ? SECMEM_POOL_CHUNK_MAX
								       : len * 2;
	return 0;
}

void *secmem_pool_get(struct secmem_pool *pool)
{
	void *obj;
	int ret;

	if (pool->obj_size == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (pool->n_free == 0 && (ret = pool_grow(pool)) < 0) {
		errno = -ret;
		return NULL;
	}
	obj = pool->free_objs[--pool->n_free];
	pool->in_use++;
	/* Zero already (a fresh chunk, or wiped by put). */
	return obj;
}

void secmem_pool_put(struct secmem_pool *pool, void *obj)
{
	if (!obj)
		return;
	explicit_bzero(obj, pool->obj_size);
	pool->free_objs[pool->n_free++] = obj;
	pool->in_use--;
}

void secmem_pool_destroy(struct secmem_pool *pool)
{
	for (size_t i = 0; i < pool->n_chunks; i++)
		secmem_free(pool->chunks[i], pool->chunk_lens[i]);
	free(pool->chunks);
	free(pool->chunk_lens);
	free(pool->free_objs);
	memset(pool, 0, sizeof(*pool));
}
