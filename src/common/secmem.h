/*
 * secmem.h - memory for long-lived secrets: locked (mlock, so it is never
 * swapped), excluded from core dumps (MADV_DONTDUMP), wiped in forked
 * children (MADV_WIPEONFORK) and wiped on free.  secmem_harden_process()
 * also makes the process non-dumpable, so another process of the same user
 * cannot ptrace it or read /proc/PID/mem.
 *
 * Where RLIMIT_MEMLOCK (8 MiB for root on Debian, 64 KiB for users by
 * default) runs out, memory is still handed out, non-dumpable and wiped,
 * only not locked; a warning says so once per process, at the default log
 * level.
 *
 * A secmem_pool cuts fixed-size objects (a data-plane peer, a keypair) out
 * of secmem chunks, so that an object costs no system call and no page of
 * its own: the data plane takes one per peer and one per session slot.
 */
#ifndef ZWG_SECMEM_H
#define ZWG_SECMEM_H

#include <stdbool.h>
#include <stddef.h>

/* Page-aligned, zeroed, locked where RLIMIT_MEMLOCK allows (a failure to
 * lock is logged once and tolerated).  NULL with errno on failure. */
void *secmem_alloc(size_t len);
/* Wipes and unmaps; len as given to secmem_alloc. */
void secmem_free(void *p, size_t len);
/* True if [p, p + len) lies inside one block secmem_alloc handed out and
 * that is not yet freed (for tests and assertions).  Takes a lock. */
bool secmem_contains(const void *p, size_t len);
/* PR_SET_DUMPABLE 0 and RLIMIT_CORE 0.  0 or -errno. */
int secmem_harden_process(void);

/*
 * Fixed-size objects in secmem.  Chunks grow geometrically (one page
 * first, doubling up to SECMEM_POOL_CHUNK_MAX) and are kept until
 * secmem_pool_destroy: a freed object's bytes stay mapped, wiped, for the
 * next get.  Not thread-safe: one owner thread per pool (the data plane's
 * device owner).
 */
#define SECMEM_POOL_CHUNK_MAX (256 * 1024)

struct secmem_pool {
	size_t obj_size;	/* rounded up to a 64-byte cache line */
	size_t next_chunk_len;
	void **chunks;		/* secmem_alloc blocks; chunk_lens[i] bytes */
	size_t *chunk_lens;
	size_t n_chunks;
	void **free_objs;	/* free objects, LIFO; ordinary memory (addresses only) */
	size_t n_free, cap_free;
	size_t in_use;
};

/* obj_size > 0 and at most SECMEM_POOL_CHUNK_MAX.  0 or -EINVAL; maps nothing yet. */
int secmem_pool_init(struct secmem_pool *pool, size_t obj_size);
/* A zeroed object; NULL with errno (ENOMEM) when a new chunk cannot be
 * mapped.  A system call only when the pool grows by a chunk. */
void *secmem_pool_get(struct secmem_pool *pool);
/* Wipes obj and makes it free (obj from this pool, or NULL). */
void secmem_pool_put(struct secmem_pool *pool, void *obj);
/* Wipes and unmaps every chunk; objects still out become invalid.  The
 * pool may be initialised again.  A zeroed pool is fine to destroy. */
void secmem_pool_destroy(struct secmem_pool *pool);

#endif
