/*
 * route.h - the API's route table and router: which handler serves a
 * method and path, what role it needs, and what it must be careful about.
 *
 * A pattern is a path whose segments are literal or ":param"
 * ("/v1/peers/:name/enable"); a parameter matches one non-empty segment,
 * is validated (api_route_param_ok) and copied into req->params.  A path
 * no pattern matches is 404; a path some pattern matches with another
 * method is 405 with an Allow header listing those methods - both
 * computed from the table, so a new route needs no routing code.
 *
 * The router then checks, in this order: the principal's role against the
 * route's minimum (no principal: 401 with WWW-Authenticate: Bearer; too
 * low: 403), cross-origin changes (ROUTE_CHANGES over TCP without a bearer
 * token: Origin must be the server's own: 403), the body's size (413) and
 * the query (only ROUTE_QUERY routes take one: 400).
 *
 * Where the login, logout, session, token and user routes go when the
 * accounts are wired (src/control/accounts.*): a file of their own
 * (accounts_routes.c) with rows in route.c's table; /v1/login is the one
 * ROLE_NONE route that changes state (ROUTE_CHANGES: it is CSRF-checked
 * too).
 */
#ifndef ZWG_API_ROUTE_H
#define ZWG_API_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "api.h"

/* Route flags. */
#define ROUTE_CHANGES	0x1u	/* changes state: audited, CSRF-checked over TCP */
#define ROUTE_SECRET	0x2u	/* the answer may hold a key (no-store, wiped) */
#define ROUTE_QUERY	0x4u	/* takes a query string */
#define ROUTE_METRICS	0x8u	/* open to api->metrics_allow addresses */


/* A handler: fills r (status, body).  Returns 0 (the reply says what went
 * wrong, if anything) or -ENOMEM when not even an error could be built. */
typedef int (*api_handler_fn)(struct api *api, const struct api_request *req,
			      struct api_reply *r);

struct api_route {
	const char *method;
	const char *pattern;
	api_handler_fn handler;
	enum actor_role min_role;
	unsigned flags;
};

/* The table, terminated by a row with method NULL. */
extern const struct api_route api_routes[];
size_t api_route_count(void);

/* The headers every answer carries, on both transports (name, value;
 * terminated by NULL): CSP, nosniff, no referrer, no caching. */
extern const char *const api_security_headers[][2];

/*
 * Finds the route of method + path, filling req->params.  NULL if none:
 * *status is 404, or 405 with allow ("GET, DELETE") filled.
 */
const struct api_route *api_route_match(struct api_request *req, unsigned *status, char *allow,
					size_t allowlen);

/* A path parameter's value is acceptable: 1 to 63 bytes of letters,
 * digits, '.', '_' and '-' (the peer names of model.h), not starting with
 * '.' or '-'; for ":token" also a link token's shape (links_token_valid). */
bool api_route_param_ok(const char *name, const char *value);

/* Handlers (one file per resource). */
int api_get_server(struct api *api, const struct api_request *req, struct api_reply *r);
int api_reload(struct api *api, const struct api_request *req, struct api_reply *r);
int api_list_peers(struct api *api, const struct api_request *req, struct api_reply *r);
int api_add_peer(struct api *api, const struct api_request *req, struct api_reply *r);
int api_show_peer(struct api *api, const struct api_request *req, struct api_reply *r);
int api_update_peer(struct api *api, const struct api_request *req, struct api_reply *r);
int api_revoke_peer(struct api *api, const struct api_request *req, struct api_reply *r);
int api_peer_config(struct api *api, const struct api_request *req, struct api_reply *r);
int api_enable_peer(struct api *api, const struct api_request *req, struct api_reply *r);
int api_disable_peer(struct api *api, const struct api_request *req, struct api_reply *r);
int api_rotate_peer(struct api *api, const struct api_request *req, struct api_reply *r);
int api_get_stats(struct api *api, const struct api_request *req, struct api_reply *r);
int api_get_metrics(struct api *api, const struct api_request *req, struct api_reply *r);
/* One-time links (links_routes.c) and the audit view (audit_routes.c). */
int api_create_link(struct api *api, const struct api_request *req, struct api_reply *r);
int api_get_link(struct api *api, const struct api_request *req, struct api_reply *r);
int api_get_audit(struct api *api, const struct api_request *req, struct api_reply *r);

#endif
