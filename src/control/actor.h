/*
 * actor.h - who makes a change or a request: the principal of the API's
 * request context, and what the audit log records for every change
 * (docs/server.md, "Audit log").  A plain value, passed by pointer as an
 * argument (never a thread-local), so the control layer and the audit log
 * know the actor without knowing where it came from.
 *
 *   kind      who            name                   role
 *   LOCAL     a local uid    "uid 0", "uid 1000"    admin (SO_PEERCRED on the admin socket)
 *   USER      a web account  "alice"                the account's
 *   TOKEN     an API token   "ci-deploy"            the token's
 *   SYSTEM    zerowg itself  "expiry", "env", "reload", "startup"   admin
 *
 * via says how the request arrived: "cli" (admin unix socket), "web" (the
 * HTTP listener), "env", "expiry", "reload", "startup".
 */
#ifndef ZWG_ACTOR_H
#define ZWG_ACTOR_H

#include <stdbool.h>
#include <sys/types.h>

enum actor_kind {
	ACTOR_NONE = 0,		/* not authenticated */
	ACTOR_LOCAL,
	ACTOR_USER,
	ACTOR_TOKEN,
	ACTOR_SYSTEM,
};

/* Ordered: a route's minimum role is met by any role >= it. */
enum actor_role {
	ROLE_NONE = 0,
	ROLE_VIEWER = 1,
	ROLE_ADMIN = 2,
};

#define ACTOR_NAME_MAX 64

struct actor {
	enum actor_kind kind;
	enum actor_role role;
	char name[ACTOR_NAME_MAX];	/* printable, never a secret */
	const char *via;		/* a string literal: "cli", "web", ... */
	uid_t uid;			/* LOCAL: the peer's uid */
};

/* The actor for zerowg's own changes (expiry, environment, reload). */
static inline struct actor actor_system(const char *what)
{
	struct actor a = { .kind = ACTOR_SYSTEM, .role = ROLE_ADMIN, .via = what };
	size_t i;

	for (i = 0; what && what[i] && i + 1 < sizeof(a.name); i++)
		a.name[i] = what[i];
	return a;
}

static inline bool actor_may(const struct actor *a, enum actor_role min)
{
	return a && a->role >= min;
}

#endif
