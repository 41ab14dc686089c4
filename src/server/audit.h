/*
 * audit.h - the audit log (docs/server.md, "Audit log"): one JSON line per
 * change, on stderr by default (the journal under systemd):
 *   {"ts":"2025-01-02T03:04:05Z","event":"peer.add","peer":"phone",
 *    "via":"api","ok":true}
 * and, for a refused or failed change, "error":"message for a person".
 *
 * Never a key: callers pass names and messages only, and the messages of
 * the control layer never quote a key.  Lines from several threads never
 * interleave (one lock, held while writing one line).
 */
#ifndef ZWG_AUDIT_H
#define ZWG_AUDIT_H

#include <stdbool.h>
#include <stdio.h>

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

/* Where lines go (NULL: stderr).  For tests. */
void audit_set_output(FILE *f);

/* Who is making changes on this thread: "api" (the default), "cli",
 * "env" or "expiry".  audit_log uses it when its via is NULL, so that the
 * control layer's observer, which hears of a change on the thread that
 * made it, can say where it came from. */
void audit_set_thread_via(const char *via);
const char *audit_thread_via(void);

/*
 * Writes one line.  peer may be NULL (server events), via NULL means this
 * thread's (audit_set_thread_via), error is NULL when ok.
 */
void audit_log(const char *event, const char *peer, const char *via, bool ok, const char *error);

#endif
