/*
 * errbuf.h - filling a caller's "char *err, size_t errlen" buffer with a
 * message for a person, the convention of functions that can explain why
 * they failed.  A NULL or empty buffer is ignored.
 */
#ifndef ZWG_ERRBUF_H
#define ZWG_ERRBUF_H

#include <stddef.h>

void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
