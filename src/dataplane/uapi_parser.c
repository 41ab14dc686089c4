/*
 * uapi_parser.c - what the set parser (uapi_set.c) and the get parser
 * (uapi_get.c) share: the error message, with untrusted input quoted, and
 * the index from a public key to its latest entry in cfg->peers, which the
 * set parser uses to continue a repeated key's section and the get parser
 * to refuse a key listed twice.
 *
 * Relies on: uapi.c (the config it indexes); struct uapi_parser is in
 * uapi_internal.h.
 */
#include "uapi_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void uapi_parser_err(struct uapi_parser *ps, const char *fmt, ...)
{
	va_list ap;

	if (!ps->err || ps->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
}

void uapi_quote(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;
	bool cut = n > QUOTE_MAX;

	if (cut)
		n = QUOTE_MAX;
	/* cap is at least 4 * QUOTE_MAX + 8 at every call site */
	dst[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			dst[o++] = (char)c;
		} else {
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
		}
	}
	dst[o++] = '"';
	if (cut) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

static uint64_t key_hash(const uint8_t key[UAPI_KEY_LEN])
{
	/* FNV-1a.  Public keys are not secret and the UAPI socket is
	 * root's, so a chosen-collision slowdown is not a concern. */
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < UAPI_KEY_LEN; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

size_t uapi_index_slot(const struct uapi_parser *ps, const uint8_t key[UAPI_KEY_LEN])
{
	size_t mask = ps->index_cap - 1;
	size_t i = (size_t)key_hash(key) & mask;

	while (ps->index[i] &&
	       memcmp(ps->cfg->peers[ps->index[i] - 1].public_key, key, UAPI_KEY_LEN) != 0)
		i = (i + 1) & mask;
	return i;
}

int uapi_index_put(struct uapi_parser *ps, size_t idx)
{
	if ((ps->cfg->n_peers + 1) * 2 > ps->index_cap) {
		size_t cap = ps->index_cap ? ps->index_cap * 2 : 64;
		size_t *old = ps->index;

		if (cap > SIZE_MAX / sizeof(*old) / 2)
			return -ENOMEM;
		ps->index = calloc(cap, sizeof(*ps->index));
		if (!ps->index) {
			ps->index = old;
			return -ENOMEM;
		}
		free(old);
		ps->index_cap = cap;
		/* in order, so the latest entry of a repeated key wins */
		for (size_t i = 0; i < ps->cfg->n_peers; i++)
			if (i != idx)
				ps->index[uapi_index_slot(ps, ps->cfg->peers[i].public_key)] = i + 1;
	}
	ps->index[uapi_index_slot(ps, ps->cfg->peers[idx].public_key)] = idx + 1;
	return 0;
}
