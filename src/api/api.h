/*
 * api.h - the API (docs/server.md, "Admin API"; docs/web.md): HTTP/1.1 +
 * JSON, every path under /v1, plus /metrics.  The same handlers serve the
 * admin unix socket (the CLI) and the TCP web listener (browsers, scripts):
 * api_http.h.
 *
 *   GET    /v1/server                 viewer  server view (no private key)
 *   POST   /v1/reload                 admin   re-read the store and apply it
 *   GET    /v1/peers                  viewer  {"peers":[peer view...]} (?fields=a,b)
 *   POST   /v1/peers                  admin   {"name",...,"keep_key"?,"link"?} -> 201
 *                                             {"peer","client_config","private_key","qr",
 *                                              "qr_svg","link"?{"url","expires","peer"}}
 *   GET    /v1/peers/NAME             viewer  peer view
 *   DELETE /v1/peers/NAME             admin   204 (revoke)
 *   GET    /v1/peers/NAME/config      admin   {"client_config","qr","qr_svg"} if the key
 *                                             was kept, else 409
 *   POST   /v1/peers/NAME/enable      admin   peer view
 *   POST   /v1/peers/NAME/disable     admin   peer view
 *   POST   /v1/peers/NAME/rotate      admin   {"keep_key"?,"link"?} -> like POST /v1/peers (200)
 *   PUT    /v1/peers/NAME/firewall    admin   {"allow":[RULE...]|null} -> peer view
 *   POST   /v1/peers/NAME/links       admin   {"ttl"?} -> 201 {"url","expires","peer"};
 *                                             409 if the key was not kept
 *   GET    /v1/links/TOKEN            none    {"name","client_config","qr_svg"} once; 410
 *   GET    /v1/stats                  viewer  {"interval":10,"peers":{"NAME":[{"t","rx","tx"}...]}}
 *                                             (?range=24h: "interval":60, the last day)
 *   GET    /v1/audit                  admin   {"entries":[...]} newest first (?limit=N)
 *   GET    /metrics                   viewer, or anyone from --metrics-allow
 *                                             Prometheus text format 0.0.4
 *   POST   /v1/login                  none    {"user","password","code"?} -> 200 + cookie
 *   POST   /v1/logout                 none    204, cookie cleared
 *   GET    /v1/me                     viewer  the caller
 *   POST   /v1/me/password            viewer  {"old","new"} -> 204
 *   POST   /v1/me/totp                viewer  -> {"uri","qr_svg"} (enrolment)
 *   POST   /v1/me/totp/confirm        viewer  {"code"} -> {"recovery_codes"}
 *   DELETE /v1/me/totp                viewer  {"code"} -> 204
 *   GET    /v1/me/sessions            viewer  {"sessions":[...]}
 *   DELETE /v1/me/sessions/ID         viewer  204
 *   GET    /v1/tokens                 admin   {"tokens":[...]}
 *   POST   /v1/tokens                 admin   {"name","role"?,"expires"?} -> 201 {..."token"}
 *   DELETE /v1/tokens/NAME            admin   204
 *   GET    /v1/users                  admin   {"users":[...]}
 *   POST   /v1/users                  admin   {"name","role"?,"password"} -> 201
 *   DELETE /v1/users/NAME             admin   204
 *   POST   /v1/users/NAME/role        admin   {"role"} -> the user
 *   GET    /, /assets/NAME, /l/TOKEN  none    the web UI's files
 * The table is route.c's; the handlers are one file per resource
 * (peers.c, server_routes.c, stats_routes.c, audit_routes.c, metrics.c,
 * links_routes.c, firewall_routes.c, accounts_routes.c, assets_routes.c).
 *
 * Errors: {"error":"message for a person","field":"json field"|null} with
 * 400 bad input, 401 not authenticated (WWW-Authenticate: Bearer), 403 a
 * role too low or a cross-origin change, 404 unknown peer, user, token,
 * link or path, 405 wrong method (Allow: lists the right ones), 409
 * duplicate name / key not kept, 410 a one-time link used or dead, 413
 * body over 64 KiB, 414 path over 1023 bytes, 429 sign-in throttled, 503
 * no accounts, 507 subnet (or disk) full, 500 store or device failure.
 *
 * A change goes to the control layer first (which stores it, with the
 * request's actor for the audit log), then to the device through the apply
 * callback; an answer holding a private key is wiped when freed.  Relies
 * on control.h, stats.h, audit.h, actor.h and jansson.
 */
#ifndef ZWG_API_H
#define ZWG_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "actor.h"
#include "request.h"

#define API_MAX_BODY (64 * 1024)

struct control;
struct stats;

/* An address range (--metrics-allow, --trusted-proxy). */
struct api_prefix {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t len;			/* prefix length in bits */
};
#define API_MAX_PREFIXES 16

/* Parses "ADDR" or "ADDR/LEN" (IPv4 or IPv6).  0, or -EINVAL with a
 * message for a person in err. */
int api_prefix_parse(struct api_prefix *p, const char *text, char *err, size_t errlen);
/* Whether the socket address ss (AF_INET, AF_INET6, v4-mapped too) is in
 * one of the n prefixes. */
bool api_prefix_match(const struct api_prefix *p, size_t n, const struct sockaddr_storage *ss);

/* Data-plane counters for /metrics (api->counters). */
#define API_DROP_REASONS 32
#define API_HANDSHAKE_EVENTS 16
struct api_counters {
	uint64_t drops[API_DROP_REASONS];	/* by enum drop_reason (device.h) */
	size_t n_drops;				/* DROP__COUNT; 0: none known */
	uint64_t handshakes[API_HANDSHAKE_EVENTS];	/* by enum handshake_event */
	size_t n_handshakes;			/* HS__COUNT; 0: none known */
};

/* A latency histogram: atomics, no lock (api.c). */
#define API_LATENCY_BUCKETS 8
struct api_latency {
	uint64_t bucket[API_LATENCY_BUCKETS];	/* cumulative: <= api_latency_bounds[i] */
	uint64_t count;
	uint64_t sum_ns;
};
extern const double api_latency_bounds[API_LATENCY_BUCKETS];	/* seconds */
void api_latency_observe(struct api_latency *l, uint64_t ns);

struct api {
	struct control *ctl;
	struct stats *stats;		/* NULL: views show no live values */
	/* Makes the device match the store (control_desired_config, diff,
	 * apply).  0 or -errno with a message in err.  NULL: nothing to do. */
	int (*apply)(void *ctx, char *err, size_t errlen);
	/* Refreshes the live statistics before views are built; may be NULL. */
	int (*refresh)(void *ctx);
	/* Re-reads the store (POST /v1/reload) on behalf of actor; may be
	 * NULL (then 405). */
	int (*reload)(void *ctx, const struct actor *actor, char *err, size_t errlen);
	/* The data plane's counters for /metrics; may be NULL. */
	int (*counters)(void *ctx, struct api_counters *out);
	void *ctx;

	/*
	 * The principal of a TCP request: fills *out (kind, role, name; via
	 * is set to "web" by the caller) from the request's credentials -
	 * an `Authorization: Bearer TOKEN` header (api_header(req,
	 * "Authorization")) or a session cookie (api_header(req, "Cookie")).
	 * 0 with out->kind ACTOR_NONE: no credentials; 0 with an actor:
	 * authenticated; -EACCES: credentials that are wrong, expired or
	 * revoked (401); other -errno: 500.  NULL (accounts not wired yet):
	 * every TCP request is unauthenticated, so every route with a role
	 * answers 401.  Never called for the unix socket.
	 */
	int (*authenticate)(void *ctx, const struct api_request *req, struct actor *out);
	void *auth_ctx;
	/* The users, sessions and tokens (accounts.h) of the account routes
	 * (accounts_routes.c); NULL: those routes answer 503. */
	struct accounts *accounts;

	/* /metrics without credentials from these (TCP); the unix socket is
	 * admin anyway.  api_http.c fills the default (loopback). */
	struct api_prefix metrics_allow[API_MAX_PREFIXES];
	size_t n_metrics_allow;
	const char *interface;		/* the "interface" label; NULL = "zwg0" */

	/* Filled by the API itself, read by /metrics. */
	struct api_latency request_latency;	/* every request, handler time */
	struct api_latency store_latency;	/* control-layer writes (to the store) */
};

/*
 * Handles one request: resolves the principal (unix: the peer's uid,
 * admin; TCP: api->authenticate), routes it (route.c: 404, 405, 401, 403,
 * CSRF, 413), runs the handler.  req->actor and req->params are set here.
 * Always fills reply (500 with a message when out of memory).  0, or
 * -ENOMEM when even the error could not be built (reply->body NULL,
 * status 500).
 */
int api_handle(struct api *api, struct api_request *req, struct api_reply *reply);

/*
 * The authenticate callback over api->accounts (ctx: the struct api):
 * `Authorization: Bearer zwg_...` (accounts_token_verify), else the
 * zwg_session cookie (accounts_session_lookup), else no principal.
 * accounts_routes.c.
 */
int api_accounts_authenticate(void *ctx, const struct api_request *req, struct actor *out);

/* The session cookie's name. */
#define API_SESSION_COOKIE "zwg_session"

/* The principal of a unix-socket peer: ACTOR_LOCAL "uid N", admin (anyone
 * who can connect to the 0660 socket is admin: docs/server.md). */
struct actor api_actor_local(uid_t uid, const char *via);

/* Wipes (it may hold a key) and frees the body. */
void api_reply_free(struct api_reply *reply);
/* Fills r with an error answer {"error":message,"field":field|null}.  0 or
 * -ENOMEM. */
int api_reply_error(struct api_reply *r, unsigned status, const char *field,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
