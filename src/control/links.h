/*
 * links.h - one-time links (issue 11, section 4; docs/web.md, "One-time
 * links"): a URL that shows a peer's client config (and its QR code) once.
 *
 * A link is a 128-bit random token (22 characters of base64url, no
 * padding).  Only its SHA-256 is kept: the record "links/<sha256 hex>" in
 * the store (sealed like every other record) holds the peer's name, when
 * the link was made and when it expires, and the client config text with
 * the client's private key - until the link is used, expires, or the peer
 * is rotated or revoked; then the record is deleted.  The token itself is
 * never stored, logged or put in an error.
 *
 * Taking a link deletes its record with a compare-and-swap on the version
 * just read, and the config is handed out only after the delete succeeded:
 * of two requests racing for one link, exactly one gets it.
 *
 * Why a dead link is 410 and not 404: this module remembers the hashes of
 * the last LINKS_DEAD_MAX links that died in this process (used, expired,
 * dropped) with the reason; the record itself is gone.  After a restart a
 * dead link is simply unknown (404).  This memory is process-wide (one
 * mutex, a leaf lock): hashes are unique across stores, so two stores in
 * one process (the tests) do not disturb each other.
 *
 * The functions take the control (control.h) for its store, never its
 * lock: callers may hold ctl->lock (peerops.c drops a peer's links under
 * it); this module then takes its own mutex and the store's locks.
 *
 * Relies on store.h, model.h (names, errors), crypto.h (crypto_random),
 * OpenSSL (SHA-256) and jansson (the record).
 */
#ifndef ZWG_LINKS_H
#define ZWG_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct control;

#define LINKS_STORE_PREFIX "links/"
#define LINK_TOKEN_BYTES 16			/* 128 bits */
#define LINK_TOKEN_LEN 22			/* base64url, no padding */
#define LINK_TTL_DEFAULT (60 * 60)		/* 1 h */
#define LINK_TTL_MAX (7 * 24 * 60 * 60)		/* 7 d */
#define LINKS_DEAD_MAX 256

/*
 * A link's lifetime from text: "90s", "30m", "1h", "2d", "1w" or plain
 * seconds, from 60 s to LINK_TTL_MAX.  0, or -EINVAL with e set (field
 * "ttl"; the message quotes the text and gives the range).
 */
int links_parse_ttl(const char *text, int64_t *ttl, struct control_error *e);

/*
 * Makes a link for peer: a new token into token (NUL-terminated), and the
 * record holding client_config, expiring at now + ttl (*expires).  ttl must
 * be 1..LINK_TTL_MAX.  0 or -errno with e set (-EINVAL a bad name or ttl,
 * -EIO no randomness, store errors).
 */
int links_create(struct control *ctl, const char *peer, const char *client_config, int64_t ttl,
		 int64_t now, char token[LINK_TOKEN_LEN + 1], int64_t *expires,
		 struct control_error *e);

/*
 * Uses the link of token once: deletes its record and, only if that
 * succeeded, returns the peer's name and the client config (*config: free
 * with links_config_free, which wipes it).  Errors (nothing returned):
 *   -ENOENT        no such link (never made, malformed, or dead before
 *                  this process started)
 *   -EALREADY      used already (also: a concurrent request won)
 *   -ETIME         expired (the record, if still there, is deleted now;
 *                  *peer is set, for the audit line)
 *   -EKEYREVOKED   the peer was rotated or revoked since
 *   other -errno   the store failed (the link is left as it was)
 */
int links_take(struct control *ctl, const char *token, int64_t now,
	       char peer[MODEL_NAME_MAX + 1], char **config);
void links_config_free(char *config);

/*
 * Deletes every link of peer (its key changed or it is gone).  Returns the
 * number deleted, or -errno (links deleted before the error stay deleted).
 */
int links_drop_peer(struct control *ctl, const char *peer);

/*
 * Deletes every link expired at now, calling fn (may be NULL) with the
 * peer's name for each.  Returns the number deleted, or -errno.
 */
int links_expire_due(struct control *ctl, int64_t now,
		     void (*fn)(void *ctx, const char *peer), void *ctx);

/* The number of links of peer (NULL: all) in the store, or -errno.  For
 * tests and `zerowg status`. */
int links_count(struct control *ctl, const char *peer);

/* token has a token's shape: LINK_TOKEN_LEN base64url characters (it
 * may start with '-' or '_', which no peer name may). */
bool links_token_valid(const char *token);
/* The store key of token ("links/" + 64 hex digits) into key; false for a
 * malformed token. */
bool links_store_key(const char *token, char key[sizeof(LINKS_STORE_PREFIX) + 64]);

#endif
