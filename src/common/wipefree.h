/*
 * wipefree.h - junk on free for the whole process, as OpenBSD's malloc
 * does by default: every heap block given back (free, realloc,
 * reallocarray) is wiped first, whoever allocated it - our code, glibc's
 * stdio, jansson, libcurl, libmicrohttpd, OpenSSL, libqrencode.  Libraries
 * without an allocator hook (libqrencode, libmicrohttpd) leave no copy of a
 * key or a password in freed memory.
 *
 * Linking wipefree.o into a program is the whole interface: it defines
 * free(), realloc() and reallocarray(), which wipe and forward to glibc.
 * Only zerowg and zerowg-server (and their -test twins, and
 * tests/unit/wipefree_test) link it: zerowgd keeps its keys in secmem and
 * pays nothing.  Not covered: stack copies, kernel buffers, memory a
 * library manages itself (its own pools or mmap), and blocks still live.
 *
 * Under AddressSanitizer the interposition is off (ASan owns malloc) and
 * ASan's own free fill does the wipe (__asan_default_options:
 * max_free_fill_size, free_fill_byte=0).  Under other sanitizers that
 * bring an allocator (TSan, MSan, HWASan), or when malloc is not glibc's
 * (LD_PRELOAD, LeakSanitizer), nothing is wiped: free and realloc forward
 * to that allocator.
 */
#ifndef ZWG_WIPEFREE_H
#define ZWG_WIPEFREE_H

#include <stdbool.h>

/* Whether blocks freed in this process are wiped: glibc's malloc with the
 * interposition, or ASan's free fill (unless ASAN_OPTIONS overrides it). */
bool wipefree_active(void);

#endif
