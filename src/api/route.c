/*
 * route.c - the route table and the router (route.h), and api_handle, the
 * one entry point of both transports (api_http.c) and of the tests.
 *
 * api_handle: principal, route, checks, handler - in that order, so that
 * no handler runs for a request its route does not allow, and a new route
 * gets every check by being a row in the table.  Handlers run with the
 * principal in req->actor; whatever they change is audited with it.
 */
#include "api_internal.h"
#include "audit.h"
#include "firewall_routes.h"
#include "links.h"
#include "model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct api_route api_routes[] = {
	{ "GET", "/v1/server", api_get_server, ROLE_VIEWER, 0 },
	{ "POST", "/v1/reload", api_reload, ROLE_ADMIN, ROUTE_CHANGES },
	{ "GET", "/v1/peers", api_list_peers, ROLE_VIEWER, ROUTE_QUERY },
	{ "POST", "/v1/peers", api_add_peer, ROLE_ADMIN, ROUTE_CHANGES | ROUTE_SECRET },
	{ "GET", "/v1/peers/:name", api_show_peer, ROLE_VIEWER, 0 },
	{ "DELETE", "/v1/peers/:name", api_revoke_peer, ROLE_ADMIN, ROUTE_CHANGES },
	{ "PATCH", "/v1/peers/:name", api_update_peer, ROLE_ADMIN, ROUTE_CHANGES },
	{ "GET", "/v1/peers/:name/config", api_peer_config, ROLE_ADMIN, ROUTE_SECRET },
	{ "POST", "/v1/peers/:name/enable", api_enable_peer, ROLE_ADMIN, ROUTE_CHANGES },
	{ "POST", "/v1/peers/:name/disable", api_disable_peer, ROLE_ADMIN, ROUTE_CHANGES },
	{ "POST", "/v1/peers/:name/rotate", api_rotate_peer, ROLE_ADMIN,
	  ROUTE_CHANGES | ROUTE_SECRET },
	{ "PUT", "/v1/peers/:name/firewall", api_set_peer_firewall, ROLE_ADMIN, ROUTE_CHANGES },
	{ "GET", "/v1/stats", api_get_stats, ROLE_VIEWER, ROUTE_QUERY },
	{ "GET", "/v1/audit", api_get_audit, ROLE_ADMIN, ROUTE_QUERY },
	/* One-time links (links_routes.c): making one is a change; opening
	 * one needs no role - the token in the path is the credential. */
	{ "POST", "/v1/peers/:name/links", api_create_link, ROLE_ADMIN,
	  ROUTE_CHANGES | ROUTE_SECRET },
	{ "GET", "/v1/links/:token", api_get_link, ROLE_NONE, ROUTE_SECRET },
	{ "GET", "/metrics", api_get_metrics, ROLE_VIEWER, ROUTE_METRICS },
	/* Accounts (accounts_routes.c): signing in and out needs no role;
	 * /v1/me/... is the caller's own account, whatever its role. */
	{ "POST", "/v1/login", api_login, ROLE_NONE, ROUTE_CHANGES },
	{ "POST", "/v1/logout", api_logout, ROLE_NONE, ROUTE_CHANGES },
	{ "GET", "/v1/me", api_get_me, ROLE_VIEWER, 0 },
	{ "POST", "/v1/me/password", api_me_password, ROLE_VIEWER, ROUTE_CHANGES },
	{ "POST", "/v1/me/totp", api_me_totp_begin, ROLE_VIEWER, ROUTE_CHANGES | ROUTE_SECRET },
	{ "POST", "/v1/me/totp/confirm", api_me_totp_confirm, ROLE_VIEWER,
	  ROUTE_CHANGES | ROUTE_SECRET },
	{ "DELETE", "/v1/me/totp", api_me_totp_disable, ROLE_VIEWER, ROUTE_CHANGES },
	{ "GET", "/v1/me/sessions", api_me_sessions, ROLE_VIEWER, 0 },
	{ "DELETE", "/v1/me/sessions/:id", api_me_session_revoke, ROLE_VIEWER, ROUTE_CHANGES },
	{ "GET", "/v1/tokens", api_list_tokens, ROLE_ADMIN, 0 },
	{ "POST", "/v1/tokens", api_add_token, ROLE_ADMIN, ROUTE_CHANGES | ROUTE_SECRET },
	{ "DELETE", "/v1/tokens/:name", api_revoke_token, ROLE_ADMIN, ROUTE_CHANGES },
	{ "GET", "/v1/users", api_list_users, ROLE_ADMIN, 0 },
	{ "POST", "/v1/users", api_add_user, ROLE_ADMIN, ROUTE_CHANGES },
	{ "DELETE", "/v1/users/:name", api_remove_user, ROLE_ADMIN, ROUTE_CHANGES },
	{ "POST", "/v1/users/:name/role", api_set_user_role, ROLE_ADMIN, ROUTE_CHANGES },
	/* The web UI (assets_routes.c): its pages hold no data. */
	{ "GET", "/", api_web_index, ROLE_NONE, 0 },
	{ "GET", "/assets/:name", api_web_asset, ROLE_NONE, 0 },
	{ "GET", "/l/:token", api_web_link_page, ROLE_NONE, 0 },
	{ NULL, NULL, NULL, ROLE_NONE, 0 },
};

size_t api_route_count(void)
{
	return sizeof(api_routes) / sizeof(api_routes[0]) - 1;
}

/* Every answer, both transports.  JSON needs no script, style or frame;
 * the UI's pages will get a CSP of their own.  No answer is cached: some
 * hold a key, and which ones is not worth a mistake. */
const char *const api_security_headers[][2] = {
	{ "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'" },
	{ "X-Content-Type-Options", "nosniff" },
	{ "Referrer-Policy", "no-referrer" },
	{ "Cache-Control", "no-store" },
	{ "X-Frame-Options", "DENY" },
	{ NULL, NULL },
};

const char *api_param(const struct api_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_params; i++)
		if (!strcmp(req->params[i].name, name))
			return req->params[i].value;
	return NULL;
}

const char *api_header(const struct api_request *req, const char *name)
{
	return req->header ? req->header(req, name) : NULL;
}

struct actor api_actor_local(uid_t uid, const char *via)
{
	struct actor a = { .kind = ACTOR_LOCAL, .role = ROLE_ADMIN, .via = via, .uid = uid };

	if (uid == (uid_t)-1)
		snprintf(a.name, sizeof(a.name), "local");
	else
		snprintf(a.name, sizeof(a.name), "uid %u", (unsigned)uid);
	return a;
}

bool api_route_param_ok(const char *name, const char *value)
{
	/* A one-time link's token may start with '-' or '_', which no name
	 * may; nothing in it can climb a path. */
	if (name && !strcmp(name, "token") && links_token_valid(value))
		return true;
	return value && model_name_valid(value, NULL);
}

/*
 * Whether path has pattern's shape: the same number of segments, literal
 * ones equal, a ":param" one non-empty.  Fills params' values
 * (unvalidated; one too long to hold is cut, and then fails validation,
 * which allows 63 bytes).
 */
static bool shape_matches(const char *pattern, const char *path, struct api_param *params,
			  size_t *n_params)
{
	*n_params = 0;
	while (*pattern == '/' && *path == '/') {
		size_t pl, sl;

		pattern++;
		path++;
		pl = strcspn(pattern, "/");
		sl = strcspn(path, "/");
		if (*pattern == ':') {
			if (sl == 0 || *n_params == API_MAX_PARAMS)
				return false;
			params[*n_params].name = NULL;	/* param_names() */
			memcpy(params[*n_params].value, path,
			       sl < API_PARAM_MAX ? sl : API_PARAM_MAX - 1);
			sl = sl < API_PARAM_MAX ? sl : API_PARAM_MAX - 1;
			params[*n_params].value[sl] = '\0';
			(*n_params)++;
		} else if (pl != sl || memcmp(pattern, path, pl)) {
			return false;
		}
		pattern += pl;
		path += strcspn(path, "/");
	}
	return !*pattern && !*path;
}

/* The parameter names of pattern, in order, into params: pointers to
 * literals (a name the list lacks is "param"). */
static void param_names(const char *pattern, struct api_param *params, size_t n)
{
	static const char *const known[] = { "name", "id", "token", NULL };
	size_t k = 0;

	for (const char *p = strchr(pattern, ':'); p && k < n; p = strchr(p + 1, ':')) {
		size_t len = strcspn(p + 1, "/");
		params[k].name = "param";
		for (size_t i = 0; known[i]; i++)
			if (strlen(known[i]) == len && !strncmp(known[i], p + 1, len))
				params[k].name = known[i];
		k++;
	}
}

const struct api_route *api_route_match(struct api_request *req, unsigned *status, char *allow,
					size_t allowlen)
{
	const struct api_route *found = NULL;
	struct api_param params[API_MAX_PARAMS];
	size_t n_params, used = 0;
	bool shape = false;

	allow[0] = '\0';
	*status = 404;
	for (const struct api_route *rt = api_routes; rt->method; rt++) {
		if (!shape_matches(rt->pattern, req->path, params, &n_params))
			continue;
		shape = true;
		if (!strcmp(rt->method, req->method)) {
			found = rt;
			param_names(rt->pattern, params, n_params);
			memcpy(req->params, params, sizeof(params));
			req->n_params = n_params;
			return found;
		}
		if (!strstr(allow, rt->method)) {
			int w = snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "",
					 rt->method);
			if (w > 0 && (size_t)w < allowlen - used)
				used += (size_t)w;
		}
	}
	if (shape)
		*status = 405;
	return NULL;
}

/* -------------------------------------------------------- the checks -- */

static bool is_bearer(const struct api_request *req)
{
	const char *a = api_header(req, "Authorization");

	return a && !strncasecmp(a, "Bearer ", 7);
}

/*
 * A change from a browser must come from the server's own page: Origin
 * equal to the scheme and Host of the request (as the browser saw it: a
 * trusted proxy's X-Forwarded-Proto).  A script with a bearer token sends
 * no Origin and needs none (a browser cannot attach that header across
 * origins without a preflight we never answer); an Origin that is there
 * must match, whoever sends it.
 */
static bool same_origin(const struct api_request *req)
{
	const char *origin = api_header(req, "Origin"), *host = api_header(req, "Host");
	const char *scheme = req->secure ? "https://" : "http://";
	size_t sl = strlen(scheme);

	if (!origin)
		return is_bearer(req);
	if (!host || !*host || strncasecmp(origin, scheme, sl))
		return false;
	return !strcasecmp(origin + sl, host);
}

/* Writes the refusal's audit line (audit.h): who, from where, what, why.
 * Every refusal of the router comes through here. */
static void refuse(const struct api_request *req, const char *event, unsigned status,
		   const char *reason)
{
	char src[INET6_ADDRSTRLEN + 16];

	if (req->transport == API_TRANSPORT_UNIX && req->has_cred)
		snprintf(src, sizeof(src), "uid %u", (unsigned)req->uid);
	else if (req->transport == API_TRANSPORT_UNIX)
		snprintf(src, sizeof(src), "local");
	else
		audit_source_text(&req->remote, req->remote_len, src, sizeof(src));
	audit_refusal(event, NULL, req->actor, src, req->method, req->path, status, reason);
}

/* Why a request without a principal is refused (never the credential). */
static const char *why_anonymous(const struct api_request *req)
{
	const char *c = api_header(req, "Cookie");

	if (c && strstr(c, API_SESSION_COOKIE "="))
		return "unknown, expired or ended session";
	return "no session or API token";
}

/* A path that no route has and that looks like probing: a dot segment,
 * a backslash, an encoded byte left after decoding, a control or
 * non-ASCII byte (overlong UTF-8 dots): the API's paths are ASCII. */
static bool probing(const char *path)
{
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f || *p == '\\' || *p == '%' ||
		    (*p == '.' && p > path && p[-1] == '/' &&
		     (p[1] == '/' || !p[1] || (p[1] == '.' && (p[2] == '/' || !p[2])))))
			return true;
	return strstr(path, "//") != NULL;
}

static int unauthorized(struct api_reply *r, const char *path)
{
	r->www_authenticate = true;
	return api_reply_error(r, 401, NULL, "%.128s needs you to sign in: send an API token as "
			       "\"Authorization: Bearer TOKEN\" (the admin unix socket needs "
			       "none)", path);
}

static int principal(struct api *api, struct api_request *req, struct actor *who,
		     struct api_reply *r)
{
	int ret;

	if (req->transport == API_TRANSPORT_UNIX) {
		*who = api_actor_local(req->has_cred ? req->uid : (uid_t)-1, "cli");
		return 0;
	}
	memset(who, 0, sizeof(*who));
	who->kind = ACTOR_NONE;
	who->role = ROLE_NONE;
	who->via = "web";
	if (!api->authenticate)
		return 0;
	ret = api->authenticate(api->auth_ctx, req, who);
	who->via = "web";
	who->name[sizeof(who->name) - 1] = '\0';
	if (ret == -EACCES) {
		refuse(req, AUDIT_AUTH_REFUSED, 401, "unknown, expired or revoked API token");
		unauthorized(r, req->path);
		return ret;
	}
	if (ret < 0) {
		api_reply_error(r, 500, NULL, "checking the credentials: %s", strerror(-ret));
		return ret;
	}
	if (who->kind == ACTOR_NONE)
		who->role = ROLE_NONE;
	return 0;
}

/*
 * The 404 for a path parameter that cannot be a name: it names what the
 * route's segment before the parameter holds ("/v1/users/:name": a user).
 * A link token is never quoted: it is a credential.
 */
static int bad_param(struct api_reply *r, const char *pattern, const struct api_param *p)
{
	static const char *const kinds[][2] = {
		{ "peers", "peer" }, { "users", "user" }, { "tokens", "API token" },
		{ "assets", "asset" }, { "sessions", "session" },
	};
	const char *at = strchr(pattern, ':'), *kind = "peer", *seg;
	size_t seglen;

	while (at && (strncmp(at + 1, p->name, strlen(p->name)) ||
		      (at[1 + strlen(p->name)] && at[1 + strlen(p->name)] != '/')))
		at = strchr(at + 1, ':');
	if (!strcmp(p->name, "token"))
		return api_reply_error(r, 404, NULL, "no such link: check that the whole link was "
				       "copied, or ask for a new one");
	if (at && at - pattern >= 2) {
		for (seg = at - 2; seg > pattern && *seg != '/'; seg--)
			;
		seglen = (size_t)(at - 1 - (seg + 1));
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strlen(kinds[i][0]) == seglen && !strncmp(seg + 1, kinds[i][0], seglen))
				kind = kinds[i][1];
	}
	if (!strcmp(p->name, "id"))
		return api_reply_error(r, 404, p->name, "no %s \"%.32s%s\" (see GET /v1/me/sessions "
				       "for the ids)", kind, p->value, strlen(p->value) > 32 ? "..." : "");
	return api_reply_error(r, 404, p->name, "no %s named \"%.32s%s\" (names have 1 to 63 "
			       "letters, digits, '.', '_' or '-')", kind, p->value,
			       strlen(p->value) > 32 ? "..." : "");
}

static void route_request(struct api *api, struct api_request *req, struct api_reply *r)
{
	const struct api_route *rt;
	unsigned status;
	char allow[sizeof(r->allow)];

	if (strlen(req->path) >= 1024) {
		refuse(req, AUDIT_REQUEST_TOO_LARGE, 414, "the path is longer than 1023 bytes");
		api_reply_error(r, 414, NULL, "the path is longer than 1023 bytes");
		return;
	}
	rt = api_route_match(req, &status, allow, sizeof(allow));
	if (!rt && status == 405) {
		snprintf(r->allow, sizeof(r->allow), "%s", allow);
		api_reply_error(r, 405, NULL, "%s is not allowed on %.128s (use %s)", req->method,
				req->path, allow);
		return;
	}
	if (!rt) {
		if (probing(req->path))
			refuse(req, AUDIT_REQUEST_REFUSED, 404, "no such path (a probe: dot "
			       "segments or encoded bytes)");
		api_reply_error(r, 404, NULL, "no such path %.128s (the API is under /v1: /v1/server, "
				"/v1/peers, /v1/stats; and /metrics)", req->path);
		return;
	}
	for (size_t i = 0; i < req->n_params; i++) {
		if (!api_route_param_ok(req->params[i].name, req->params[i].value)) {
			refuse(req, AUDIT_REQUEST_REFUSED, 404, "not a name in the path");
			bad_param(r, rt->pattern, &req->params[i]);
			return;
		}
	}
	/* /metrics from an allowed address needs no principal. */
	bool open_metrics = (rt->flags & ROUTE_METRICS) && req->transport == API_TRANSPORT_TCP &&
			    req->remote_len &&
			    api_prefix_match(api->metrics_allow, api->n_metrics_allow, &req->remote);
	if (!open_metrics && !actor_may(req->actor, rt->min_role)) {
		if (req->actor->kind == ACTOR_NONE)
			refuse(req, AUDIT_AUTH_REFUSED, 401, why_anonymous(req));
		else
			refuse(req, AUDIT_REQUEST_REFUSED, 403, rt->min_role == ROLE_ADMIN ?
			       "needs the admin role" : "needs the viewer role");
		if (req->actor->kind == ACTOR_NONE)
			unauthorized(r, req->path);
		else
			api_reply_error(r, 403, NULL, "%s %.128s needs the %s role; %s \"%s\" is a %s",
					req->method, req->path,
					rt->min_role == ROLE_ADMIN ? "admin" : "viewer",
					req->actor->kind == ACTOR_TOKEN ? "token" : "user",
					req->actor->name,
					req->actor->role == ROLE_ADMIN ? "admin" :
					req->actor->role == ROLE_VIEWER ? "viewer" : "nobody");
		return;
	}
	if ((rt->flags & ROUTE_CHANGES) && req->transport == API_TRANSPORT_TCP &&
	    !same_origin(req)) {
		refuse(req, AUDIT_REQUEST_REFUSED, 403, api_header(req, "Origin") ?
		       "a change from another origin (Origin is not this server's)" :
		       "a change without Origin or API token (cross-site?)");
		api_reply_error(r, 403, NULL, "a change must come from this server's own page (the "
				"Origin header does not match the Host), or carry an API token");
		return;
	}
	if (req->len > API_MAX_BODY) {
		refuse(req, AUDIT_REQUEST_TOO_LARGE, 413, "the body is larger than 64 KiB");
		api_reply_error(r, 413, NULL, "the body is larger than %d KiB", API_MAX_BODY / 1024);
		return;
	}
	if (req->query && *req->query && !(rt->flags & ROUTE_QUERY)) {
		api_reply_error(r, 400, NULL, "%.128s takes no query parameters", req->path);
		return;
	}
	rt->handler(api, req, r);
}

int api_handle(struct api *api, struct api_request *req, struct api_reply *reply)
{
	uint64_t t0 = api_now_ns();
	struct actor who;

	memset(reply, 0, sizeof(*reply));
	req->n_params = 0;
	if (principal(api, req, &who, reply) == 0) {
		req->actor = &who;
		route_request(api, req, reply);
	}
	req->actor = NULL;	/* who is gone with this frame */
	if (reply->status == 0)
		reply->status = 500;
	api_latency_observe(&api->request_latency, api_now_ns() - t0);
	return reply->status == 500 && !reply->body ? -ENOMEM : 0;
}
