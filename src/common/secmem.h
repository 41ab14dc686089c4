/*
 * secmem.h - memory for long-lived secrets: locked (mlock, so it is never
 * swapped), excluded from core dumps (MADV_DONTDUMP) and wiped on free.
 * secmem_harden_process() also makes the process non-dumpable, so another
 * process of the same user cannot ptrace it or read /proc/PID/mem.
 */
#ifndef ZWG_SECMEM_H
#define ZWG_SECMEM_H

#include <stddef.h>

/* Page-aligned, zeroed, locked where RLIMIT_MEMLOCK allows (a failure to
 * lock is logged once and tolerated).  NULL with errno on failure. */
void *secmem_alloc(size_t len);
void secmem_free(void *p, size_t len);
/* PR_SET_DUMPABLE 0 and RLIMIT_CORE 0.  0 or -errno. */
int secmem_harden_process(void);

#endif
