/*
 * uapi_internal.h - what the files of the UAPI module share (uapi.c,
 * uapi_parser.c, uapi_set.c, uapi_format.c, uapi_get.c): the value
 * parsers on (pointer, length), the state of a line parser and its error
 * messages.  Private to src/dataplane/uapi*.c: everyone else uses uapi.h.
 */
#ifndef ZWG_UAPI_INTERNAL_H
#define ZWG_UAPI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uapi.h"

/* Longest value we copy to a C string: an endpoint is at most
 * "[" 45 "%" 15 "]:" 5 characters; anything longer is invalid anyway. */
#define VALUE_MAX 128
/* How much of a bad value an error message quotes. */
#define QUOTE_MAX 64
/* Room for uapi_quote(): every byte escaped, quotes, "..." and the NUL. */
#define QUOTED_CAP (4 * QUOTE_MAX + 8)

/* ---- uapi.c: values, on (pointer, length) so lines need no copying ---- */

/* Decimal, digits only (no sign, no space), leading zeros allowed as Go's
 * strconv.ParseUint allows them.  Any max up to UINT64_MAX. */
bool uapi_parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
	__attribute__((warn_unused_result));
/* 64 hex characters, either case; key is wiped when they are not. */
bool uapi_parse_key(const char *s, size_t n, uint8_t key[UAPI_KEY_LEN])
	__attribute__((warn_unused_result));
/* s[0..n) is exactly the C string lit. */
bool uapi_str_is(const char *s, size_t n, const char *lit);
/* Copies s[0..n) into buf as a C string; false if too long or if it holds
 * a NUL (which would make the C parsers see a shorter string). */
bool uapi_copy_value(char *buf, size_t cap, const char *s, size_t n)
	__attribute__((warn_unused_result));
/* uapi_parse_endpoint and uapi_parse_allowed_ip, and on -EINVAL *why says
 * what is wrong with s, to follow the quoted value in an error message. */
int uapi_parse_endpoint_why(const char *s, union uapi_sockaddr *out, const char **why);
int uapi_parse_allowed_ip_why(const char *s, struct uapi_allowed_ip *out, const char **why);
/* All 32 bytes zero: no key (a private key removed, no preshared key). */
bool uapi_key_is_zero(const uint8_t key[UAPI_KEY_LEN]);

/* ---- uapi_parser.c: the state both line parsers keep ---- */

struct uapi_parser {
	struct uapi_config *cfg;
	/* public key -> 1 + index of its latest entry; 0 = empty slot.
	 * Open addressing, load kept at or below one half. */
	size_t *index;
	size_t index_cap;
	bool in_peer;		/* a public_key line has been seen */
	size_t cur;		/* entry the current section configures */
	bool continued;		/* this section continues an earlier one */
	bool dummy;		/* after remove: validate, do not record */
	size_t lineno;
	char *err;
	size_t errlen;
};

/* Writes the message to ps->err, if the caller gave room for one. */
void uapi_parser_err(struct uapi_parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Quotes untrusted input for an error message: C-style escapes for
 * anything unprintable, and at most QUOTE_MAX bytes of it.  cap is at
 * least QUOTED_CAP. */
void uapi_quote(char *dst, size_t cap, const char *s, size_t n);
/* Slot holding key, or the empty slot where it would go; needs index_cap
 * nonzero. */
size_t uapi_index_slot(const struct uapi_parser *ps, const uint8_t key[UAPI_KEY_LEN]);
/* Records peers[idx] as the latest entry for its key.  0 or -ENOMEM. */
int uapi_index_put(struct uapi_parser *ps, size_t idx);

#endif
