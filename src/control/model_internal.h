/*
 * model_internal.h - what model.c and model_json.c share.  Private to
 * src/control/.
 */
#ifndef ZWG_MODEL_INTERNAL_H
#define ZWG_MODEL_INTERNAL_H

#include "model.h"

/* User text for a message: printable, cut to len, and "(not shown: it may
 * be a key)" for anything with a run of 40 base64 characters. */
const char *model_quote(const char *s, char *buf, size_t len);
/* 32 for AF_INET, 128 for AF_INET6. */
int model_max_len(int family);
/* e for a prefix text that failed to parse with ret (-EDOM: host bits,
 * then p is the parsed prefix, for the suggestion). */
void model_prefix_error(struct control_error *e, const char *what, const char *field,
			const char *text, int ret, const struct ip_prefix *p);

#endif
