/*
 * secmem.c - locked, non-dumpable memory for long-lived secrets.
 */
#include "secmem.h"
#include "log.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static size_t round_to_pages(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (len + page - 1) & ~(page - 1);
}

void *secmem_alloc(size_t len)
{
	static bool warned;
	size_t total = round_to_pages(len ? len : 1);
	void *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, total, MADV_DONTDUMP);
	madvise(p, total, MADV_WIPEONFORK);
	if (mlock(p, total) < 0 && !warned) {
		/* RLIMIT_MEMLOCK can be tiny for unprivileged users; the secret
		 * is still non-dumpable and wiped, only swap is not ruled out. */
		warned = true;
		log_warn("cannot lock memory for keys (mlock: %s): they are still non-dumpable "
			 "and wiped after use, but may be swapped; raise RLIMIT_MEMLOCK "
			 "(LimitMEMLOCK= in a unit) or give CAP_IPC_LOCK", strerror(errno));
	}
	return p;
}

void secmem_free(void *p, size_t len)
{
	size_t total;

	if (!p)
		return;
	total = round_to_pages(len ? len : 1);
	explicit_bzero(p, total);
	munlock(p, total);
	munmap(p, total);
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
