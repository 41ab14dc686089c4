/*
 * textbuf.h - a growable text buffer for output that may hold keys (UAPI
 * answers, client configs).  Growing copies into a new block and wipes the
 * old one; textbuf_finish hands the text over, or wipes and frees it if any
 * step ran out of memory, so callers check for failure once, at the end.
 */
#ifndef ZWG_TEXTBUF_H
#define ZWG_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct textbuf {
	char *p;		/* NUL-terminated once anything was added */
	size_t len, cap;
	bool failed;		/* an allocation failed: finish returns NULL */
};

/* Room for extra more bytes plus a NUL; false (and failed set) if not. */
bool textbuf_reserve(struct textbuf *tb, size_t extra);
void textbuf_printf(struct textbuf *tb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text (the caller wipes and frees it), its length in *len (may be
 * NULL); or NULL with errno ENOMEM after a failure, the buffer wiped. */
char *textbuf_finish(struct textbuf *tb, size_t *len);

#endif
