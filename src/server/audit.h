/*
 * audit.h - the audit log (docs/server.md, "Audit log"): one JSON line per
 * change, on stderr by default (the journal under systemd):
 *   {"ts":"2025-01-02T03:04:05Z","event":"peer.add","peer":"phone",
 *    "actor":"uid 0","via":"cli","ok":true}
 * and, for a refused or failed change, "error":"message for a person".
 * "actor" is who made the change (struct actor, actor.h: a local uid, a
 * web user, an API token's name, or zerowg itself: "expiry", "env",
 * "startup"); "via" how it arrived ("cli", "web", "env", "expiry", ...).
 *
 * Never a key: callers pass names and messages only, and the messages of
 * the control layer never quote a key.  Lines from several threads never
 * interleave (one lock, held while writing one line).
 *
 * The last AUDIT_RECENT_MAX lines are also kept in memory, in a ring of
 * fixed-size entries (about 500 KB; longer fields are cut), for the audit
 * view of the API (GET /v1/audit): audit_recent().  The same lock guards
 * the ring.
 */
#ifndef ZWG_AUDIT_H
#define ZWG_AUDIT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

#include "actor.h"

/* Events, as the log spells them. */
#define AUDIT_SERVER_START	"server.start"
#define AUDIT_SERVER_STOP	"server.stop"
#define AUDIT_SERVER_RELOAD	"server.reload"	/* the store was re-read */
#define AUDIT_PEER_ADD		"peer.add"
#define AUDIT_PEER_ENABLE	"peer.enable"
#define AUDIT_PEER_DISABLE	"peer.disable"
#define AUDIT_PEER_EXPIRE	"peer.expire"
#define AUDIT_PEER_ROTATE	"peer.rotate"
#define AUDIT_PEER_REVOKE	"peer.revoke"
#define AUDIT_PEER_CONFIG	"peer.config"	/* a kept client config was shown */
#define AUDIT_LINK_CREATE	"link.create"	/* a one-time link was made */
#define AUDIT_LINK_USE		"link.use"	/* ...opened (ok), or refused */
#define AUDIT_LINK_EXPIRE	"link.expire"	/* ...died unused at its expiry */

/* Refused requests (audit_refusal): who, how, from where, what, why. */
#define AUDIT_AUTH_REFUSED	"auth.refused"	/* 401: no, unknown, expired or revoked
						 * session or API token */
#define AUDIT_REQUEST_REFUSED	"request.refused"	/* 403 role or cross-origin; 404
							 * traversal or a bad name */
#define AUDIT_LOGIN_FAILED	"session.login_failed"	/* wrong password or code, throttled */
#define AUDIT_TOTP_REPLAYED	"totp.replayed"	/* right password, a code used before */
#define AUDIT_REQUEST_TOO_LARGE	"request.too_large"	/* 413, 414 */
#define AUDIT_REQUEST_TIMEOUT	"request.timeout"	/* a slow client cut off */
#define AUDIT_SUPPRESSED	"audit.suppressed"	/* refusal lines not written */

#define AUDIT_RECENT_MAX 1000

/* One line, as the ring keeps it (strings NUL-terminated, cut to fit). */
struct audit_entry {
	char ts[32];			/* "2025-01-02T03:04:05Z" */
	char event[24];
	char peer[64];			/* "" = none (server events) */
	char actor[64];
	char via[16];
	bool ok;
	char error[256];		/* "" when ok */
};

/* Where lines go (NULL: stderr).  For tests. */
void audit_set_output(FILE *f);

/*
 * Writes one line.  peer may be NULL (server events); actor NULL is
 * written as "actor":"unknown","via":"unknown" (a change whose caller did
 * not say: a bug to fix, not to hide); error is NULL when ok.
 */
void audit_log(const char *event, const char *peer, const struct actor *actor, bool ok,
	       const char *error);

/* Copies the newest lines, newest first, at most max of them; returns the
 * number copied (at most AUDIT_RECENT_MAX). */
size_t audit_recent(struct audit_entry *out, size_t max);
/* Forgets the ring (tests). */
void audit_recent_clear(void);

/*
 * Refused requests (audit_refusal.c): one line each, through audit_log,
 *   {"event":"auth.refused","actor":"anonymous","via":"web","ok":false,
 *    "error":"no session or API token (GET /v1/peers from 192.0.2.7, 401)"}
 * actor NULL or unauthenticated is "anonymous"; subject (NULL: none) goes
 * in "peer" as for changes (the user a failed sign-in named); source is
 * the client's address after trusted-proxy resolution ("uid 0" on the
 * admin socket; NULL: "unknown"); method and path (NULL: not read yet)
 * are cut and made printable, a query is never written, and the token of
 * /l/TOKEN, /v1/links/TOKEN or any "zwg_..." segment is written "***";
 * status 0 leaves it out.  reason must hold no secret.
 *
 * A flood cannot fill the disk: each source may write AUDIT_REFUSAL_BURST
 * lines at once and AUDIT_REFUSAL_RATE a second after that, all sources
 * together AUDIT_REFUSAL_ALL_BURST and AUDIT_REFUSAL_ALL_RATE; the rest
 * are counted and written as one "audit.suppressed" line per source
 * ("suppressed 37 refusal lines from 192.0.2.7") once it may write again:
 * with its next refusal, or at audit_refusal_flush().  The table of
 * sources has AUDIT_REFUSAL_SOURCES slots (the least recently used goes).
 * Lock order: the table's lock, then audit_log's.
 */
#define AUDIT_REFUSAL_BURST 20
#define AUDIT_REFUSAL_RATE 5
#define AUDIT_REFUSAL_ALL_BURST 100
#define AUDIT_REFUSAL_ALL_RATE 20
#define AUDIT_REFUSAL_SOURCES 64

void audit_refusal(const char *event, const char *subject, const struct actor *actor,
		   const char *source, const char *method, const char *path, unsigned status,
		   const char *reason);
/* Writes the "suppressed" lines that are due (a timer calls it each second). */
void audit_refusal_flush(void);
/* Forgets the table (tests). */
void audit_refusal_reset(void);
/* The address as text ("192.0.2.7", "2001:db8::1"; v4-mapped as IPv4), or
 * "unknown" when len is 0 or the family is not IP. */
const char *audit_source_text(const struct sockaddr_storage *ss, socklen_t len, char *buf,
			      size_t buflen);

#endif
