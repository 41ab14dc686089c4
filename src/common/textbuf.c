/*
 * textbuf.c - see textbuf.h.
 */
#include "textbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool textbuf_reserve(struct textbuf *tb, size_t extra)
{
	size_t cap = tb->cap;
	char *np;

	if (tb->failed)
		return false;
	if (tb->len + extra + 1 <= tb->cap)
		return true;
	while (cap < tb->len + extra + 1) {
		if (cap > SIZE_MAX / 2) {
			tb->failed = true;
			return false;
		}
		cap = cap ? cap * 2 : 1024;
	}
	np = malloc(cap);
	if (!np) {
		tb->failed = true;
		return false;
	}
	/* Grown by copying, so the old block (which may hold a key) is
	 * wiped before it is freed. */
	if (tb->p) {
		memcpy(np, tb->p, tb->len + 1);
		explicit_bzero(tb->p, tb->cap);
		free(tb->p);
	} else {
		np[0] = '\0';
	}
	tb->p = np;
	tb->cap = cap;
	return true;
}

void textbuf_printf(struct textbuf *tb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!textbuf_reserve(tb, 128))
		return;
	va_start(ap, fmt);
	n = vsnprintf(tb->p + tb->len, tb->cap - tb->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		tb->failed = true;
		return;
	}
	if ((size_t)n >= tb->cap - tb->len) {
		if (!textbuf_reserve(tb, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(tb->p + tb->len, tb->cap - tb->len, fmt, ap);
		va_end(ap);
	}
	tb->len += (size_t)n;
}

char *textbuf_finish(struct textbuf *tb, size_t *len)
{
	if (tb->failed || !tb->p) {
		if (tb->p) {
			explicit_bzero(tb->p, tb->cap);
			free(tb->p);
		}
		tb->p = NULL;
		errno = ENOMEM;
		return NULL;
	}
	if (len)
		*len = tb->len;
	return tb->p;
}
