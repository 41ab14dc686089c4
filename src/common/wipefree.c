/*
 * wipefree.c - junk on free for the whole process (wipefree.h).
 *
 * The program defines free, realloc and reallocarray itself.  The dynamic
 * linker binds every library's calls to them - the executable comes first
 * in the lookup scope, and glibc calls its own malloc functions through
 * the PLT so that a replacement allocator works - and they wipe
 * malloc_usable_size(p) bytes (explicit_bzero) before handing the block to
 * glibc's exported entry points __libc_free, __libc_malloc and
 * __libc_realloc.  malloc, calloc and the aligned allocators stay glibc's.
 *
 * realloc is the subtle one: glibc's, when it cannot grow a block in
 * place, copies it and frees the old one internally, without calling
 * free.  So growing is malloc + copy + wipe + free here (glibc's in-place
 * growth and mremap of big blocks are given up), and shrinking wipes the
 * tail before glibc's realloc, which shrinks in place (the tail becomes a
 * free chunk; an mmapped block is remapped smaller or kept).
 * reallocarray is glibc's realloc internally, so it is defined here too.
 * cfree is gone from glibc's API (a compatibility symbol since 2.26): no
 * program or library built today can call it.
 *
 * Cost: one memset of each block freed - the block was just in use, so
 * its lines are usually in cache.  The data plane allocates nothing per
 * packet, so the tunnel's throughput does not pay (docs/server.md).
 *
 * When malloc is not glibc's - LD_PRELOAD'd allocator, LeakSanitizer -
 * glibc's __libc_free must not see its blocks: free and realloc then step
 * aside and forward to the next definition (dlsym RTLD_NEXT), unwiped.
 * The check compares the addresses the dynamic linker bound malloc and
 * __libc_malloc to (through volatile pointers: the compiler may not fold a
 * comparison of two distinct functions).  It fails safe: in a -no-pie
 * program the two would be distinct PLT stubs, and nothing is wiped
 * (wipefree_active() says so, and tests/unit/wipefree_test.c fails).
 *
 * Sanitizers that bring their own allocator: nothing is interposed (their
 * interceptors own free).  Under AddressSanitizer its free fills the block
 * instead, configured by __asan_default_options below; ASan's realloc
 * always moves and frees the old block through the same path.  Its first
 * 8 bytes hold ASan's free stack id, the rest is filled.
 *
 * Relies on glibc (__libc_* entry points, malloc_usable_size, dlsym).
 */
#include "wipefree.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define WIPEFREE_ASAN 1
#elif defined(__SANITIZE_THREAD__) || defined(__SANITIZE_HWADDRESS__)
#define WIPEFREE_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WIPEFREE_ASAN 1
#elif __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer) || \
	__has_feature(hwaddress_sanitizer)
#define WIPEFREE_OFF 1
#endif
#endif

#if defined(WIPEFREE_ASAN)

/* ASan reads this before main; ASAN_OPTIONS in the environment still wins
 * key by key.  max_free_fill_size bounds the bytes filled per block: 2 GiB
 * is more than any block here (GCC 12's libasan shows larger values as 0
 * in help=1, so the bound stays below 2^31). */
const char *__asan_default_options(void) __attribute__((visibility("default")));
const char *__asan_default_options(void)
{
	return "max_free_fill_size=2147483647:free_fill_byte=0";
}

bool wipefree_active(void)
{
	return true;
}

#elif defined(WIPEFREE_OFF)

bool wipefree_active(void)
{
	return false;
}

#else

void __libc_free(void *p);
void *__libc_malloc(size_t n);
void *__libc_realloc(void *p, size_t n);

/* As the dynamic linker bound them at load time (before any code ran). */
static void *(*volatile const bound_malloc)(size_t) = malloc;
static void *(*volatile const glibc_malloc)(size_t) = __libc_malloc;

static inline bool foreign_allocator(void)
{
	return bound_malloc != glibc_malloc;
}

/* The definition after ours (the replacement allocator's), looked up on
 * first use: libraries' constructors run before ours.  A free reached
 * from inside dlsym itself is dropped (a leak of one block, once).
 * resolving is volatile: glibc declares dlsym a leaf (no call back into
 * this file), so the compiler would drop the store before the call. */
static void *next_symbol(void **slot, const char *name)
{
	static __thread volatile bool resolving;
	void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (f || resolving)
		return f;
	resolving = true;
	f = dlsym(RTLD_NEXT, name);
	resolving = false;
	__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	return f;
}

static void *next_free, *next_realloc;

static void forward_free(void *p)
{
	void (*f)(void *) = (void (*)(void *))next_symbol(&next_free, "free");

	if (f)
		f(p);
}

static void *forward_realloc(void *p, size_t n)
{
	void *(*f)(void *, size_t) =
		(void *(*)(void *, size_t))next_symbol(&next_realloc, "realloc");

	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	return f(p, n);
}

bool wipefree_active(void)
{
	return !foreign_allocator();
}

void free(void *p)
{
	if (!p)
		return;
	if (foreign_allocator()) {
		forward_free(p);
		return;
	}
	explicit_bzero(p, malloc_usable_size(p));
	__libc_free(p);
}

void *realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (foreign_allocator())
		return forward_realloc(p, n);
	if (!p)
		return __libc_malloc(n);
	if (n == 0) {
		/* glibc's realloc(p, 0): frees p, returns NULL */
		free(p);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (n <= old) {
		explicit_bzero((char *)p + n, old - n);
		return __libc_realloc(p, n);
	}
	q = __libc_malloc(n);
	if (!q)
		return NULL;	/* errno ENOMEM; p untouched, as realloc's contract */
	memcpy(q, p, old);
	free(p);
	return q;
}

void *reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, bytes);
}

#endif
