/*
 * route_test.c - the API's route table and router (src/api/route.c):
 * every route x role (none, viewer, admin) x transport (unix socket, TCP)
 * gives the expected status, on a fresh memory store each time.  The test
 * walks api_routes itself: a route added without a row in `cases` fails
 * here.  Also: the table's invariants (every change needs admin and is
 * CSRF-checked, every answer with a key needs admin), 404 vs 405 with
 * Allow, parameter validation, cross-origin changes, /metrics from an
 * allowed address, and the address ranges (prefix.c) and listen addresses
 * (api_http.c) the web listener parses.
 *
 * The principals over TCP: none, an API token and a signed-in user (a
 * session cookie), each as viewer and admin (authenticate() below maps
 * fixed credentials to them: the router is tested here, the real
 * authentication in api_test.c).  The fixture's accounts are real
 * (users alice, admin, and bob, viewer; token "ci"), on the memory store.
 */
#include "test.h"
#include "api.h"
#include "accounts.h"
#include "api_http.h"
#include "audit.h"
#include "control.h"
#include "crypto.h"
#include "route.h"
#include "store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#define PW "correct horse battery"
#define PW_BODY "{\"user\":\"alice\",\"password\":\"" PW "\"}"

/* What each route answers when it is allowed, on the fixture below: to a
 * user with the role (status), on the unix socket (on_unix; 0: status) and
 * to an API token with the role (token; 0: status). */
static const struct {
	const char *method, *pattern;	/* the route */
	const char *path, *body;	/* a request for it */
	unsigned status, on_unix, token;
} cases[] = {
	{ "GET", "/v1/server", "/v1/server", NULL, 200, 0, 0 },
	{ "POST", "/v1/reload", "/v1/reload", NULL, 200, 0, 0 },
	{ "GET", "/v1/peers", "/v1/peers", NULL, 200, 0, 0 },
	{ "POST", "/v1/peers", "/v1/peers", "{\"name\":\"tablet\"}", 201, 0, 0 },
	{ "GET", "/v1/peers/:name", "/v1/peers/phone", NULL, 200, 0, 0 },
	{ "DELETE", "/v1/peers/:name", "/v1/peers/phone", NULL, 204, 0, 0 },
	{ "PATCH", "/v1/peers/:name", "/v1/peers/phone",
	  "{\"dns\":\"9.9.9.9\",\"routes\":[\"192.168.5.0/24\"],\"expires\":\"30d\"}", 200, 0, 0 },
	{ "GET", "/v1/peers/:name/config", "/v1/peers/phone/config", NULL, 200, 0, 0 },
	{ "POST", "/v1/peers/:name/enable", "/v1/peers/phone/enable", NULL, 200, 0, 0 },
	{ "POST", "/v1/peers/:name/disable", "/v1/peers/phone/disable", NULL, 200, 0, 0 },
	{ "POST", "/v1/peers/:name/rotate", "/v1/peers/phone/rotate", "{}", 200, 0, 0 },
	{ "PUT", "/v1/peers/:name/firewall", "/v1/peers/phone/firewall",
	  "{\"allow\":[\"10.0.0.0/8\"]}", 200, 0, 0 },
	{ "GET", "/v1/stats", "/v1/stats", NULL, 200, 0, 0 },
	{ "GET", "/metrics", "/metrics", NULL, 200, 0, 0 },
	{ "GET", "/v1/audit", "/v1/audit", NULL, 200, 0, 0 },
	{ "POST", "/v1/peers/:name/links", "/v1/peers/phone/links", "{\"ttl\":\"1h\"}", 201, 0, 0 },
	{ "GET", "/v1/links/:token", "/v1/links/nosuchtoken", NULL, 404, 0, 0 },
	/* Accounts: signing in and out is for the web listener; a user's
	 * own password, 2FA and sessions are a user's, not a token's nor a
	 * local uid's. */
	{ "POST", "/v1/login", "/v1/login", PW_BODY, 200, 400, 0 },
	{ "POST", "/v1/logout", "/v1/logout", NULL, 204, 400, 0 },
	{ "GET", "/v1/me", "/v1/me", NULL, 200, 0, 0 },
	{ "POST", "/v1/me/password", "/v1/me/password",
	  "{\"old\":\"" PW "\",\"new\":\"a new password 2\"}", 204, 403, 403 },
	{ "POST", "/v1/me/totp", "/v1/me/totp", NULL, 200, 403, 403 },
	{ "POST", "/v1/me/totp/confirm", "/v1/me/totp/confirm", "{\"code\":\"123456\"}", 409,
	  403, 403 },
	{ "DELETE", "/v1/me/totp", "/v1/me/totp", "{\"code\":\"123456\"}", 409, 403, 403 },
	{ "GET", "/v1/me/sessions", "/v1/me/sessions", NULL, 200, 403, 403 },
	{ "DELETE", "/v1/me/sessions/:id", "/v1/me/sessions/0123456789abcdef", NULL, 404, 403,
	  403 },
	{ "GET", "/v1/tokens", "/v1/tokens", NULL, 200, 0, 0 },
	{ "POST", "/v1/tokens", "/v1/tokens", "{\"name\":\"deploy\",\"role\":\"viewer\"}", 201, 0, 0 },
	{ "DELETE", "/v1/tokens/:name", "/v1/tokens/ci", NULL, 204, 0, 0 },
	{ "GET", "/v1/users", "/v1/users", NULL, 200, 0, 0 },
	{ "POST", "/v1/users", "/v1/users", "{\"name\":\"carol\",\"password\":\"" PW "\"}",
	  201, 0, 0 },
	{ "DELETE", "/v1/users/:name", "/v1/users/bob", NULL, 204, 0, 0 },
	{ "POST", "/v1/users/:name/role", "/v1/users/bob/role", "{\"role\":\"admin\"}", 200, 0, 0 },
	/* The UI's files: open to all. */
	{ "GET", "/", "/", NULL, 200, 0, 0 },
	{ "GET", "/assets/:name", "/assets/app.js", NULL, 200, 0, 0 },
	{ "GET", "/l/:token", "/l/sometoken", NULL, 200, 0, 0 },
};

static struct store_key *skey;

struct fixture {
	struct store *st;
	struct control *ctl;
	struct accounts *acc;
	struct api api;
};

static int fixture_reload(void *ctx, const struct actor *actor, char *err, size_t errlen)
{
	return 0;
}

/* A fresh store with peer "phone" (key kept). */
static void fixture_open(struct fixture *f)
{
	struct peer_add_request req = { .name = "phone", .keep_key = true,
					.persistent_keepalive = -1 };
	struct peer_add_result res;
	struct actor me = actor_system("test");
	struct control_error e;
	char err[256], secret[ACCOUNTS_TOKEN_SECRET_SIZE];

	memset(f, 0, sizeof(*f));
	CHECK_INT(store_create("memory:", skey, &f->st, err, sizeof(err)), 0);
	CHECK_INT(control_init_server(f->st, NULL, &e), 0);
	CHECK_INT(control_open(f->st, &f->ctl, &e), 0);
	CHECK_INT(control_peer_add(f->ctl, &req, &res, &me, &e), 0);
	control_peer_add_result_free(&res);
	CHECK_INT(accounts_open(f->st, &f->acc, &e), 0);
	CHECK_INT(accounts_user_add(f->acc, "alice", ROLE_ADMIN, PW, 1000, &e), 0);
	CHECK_INT(accounts_user_add(f->acc, "bob", ROLE_VIEWER, PW, 1000, &e), 0);
	CHECK_INT(accounts_token_add(f->acc, "ci", ROLE_ADMIN, 0, 1000, secret, &e), 0);
	explicit_bzero(secret, sizeof(secret));
	f->api.ctl = f->ctl;
	f->api.reload = fixture_reload;
	f->api.accounts = f->acc;
}

static void fixture_close(struct fixture *f)
{
	accounts_close(f->acc);
	control_close(f->ctl);
	store_close(f->st);
}

/* The request's headers: a NULL-terminated list of "Name: value". */
static const char *list_header(const struct api_request *req, const char *name)
{
	const char *const *h = req->header_ctx;
	size_t nl = strlen(name);

	for (; h && *h; h++)
		if (!strncasecmp(*h, name, nl) && (*h)[nl] == ':')
			return *h + nl + 2;
	return NULL;
}

/* Role from the Authorization header: "Bearer viewer" / "Bearer admin". */
static int authenticate(void *ctx, const struct api_request *req, struct actor *out)
{
	const char *a = api_header(req, "Authorization"), *c = api_header(req, "Cookie");

	if (a && !strcmp(a, "Bearer viewer"))
		*out = (struct actor){ .kind = ACTOR_TOKEN, .role = ROLE_VIEWER, .name = "v" };
	else if (a && !strcmp(a, "Bearer admin"))
		*out = (struct actor){ .kind = ACTOR_TOKEN, .role = ROLE_ADMIN, .name = "a" };
	else if (a)
		return -EACCES;
	else if (c && !strcmp(c, "sid=admin"))
		*out = (struct actor){ .kind = ACTOR_USER, .role = ROLE_ADMIN, .name = "alice" };
	else if (c && !strcmp(c, "sid=viewer"))
		*out = (struct actor){ .kind = ACTOR_USER, .role = ROLE_VIEWER, .name = "bob" };
	return 0;
}

static void set_remote(struct api_request *req, const char *ip)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&req->remote;

	memset(&req->remote, 0, sizeof(req->remote));
	s4->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &s4->sin_addr);
	req->remote_len = sizeof(*s4);
}

/* One request on a fresh fixture; the reply's status (*reply freed). */
static unsigned request(const char *method, const char *path, const char *body,
			enum api_transport t, const char *const *headers, const char *remote,
			struct api_reply *out)
{
	struct fixture f;
	struct api_reply r;
	struct api_request req = {
		.method = method, .path = path, .body = body, .len = body ? strlen(body) : 0,
		.transport = t, .header = list_header, .header_ctx = (void *)headers,
		.has_cred = t == API_TRANSPORT_UNIX, .uid = 1000,
	};

	fixture_open(&f);
	f.api.authenticate = authenticate;
	if (remote)
		set_remote(&req, remote);
	CHECK_INT(api_handle(&f.api, &req, &r), 0);
	CHECK(req.actor == NULL);	/* not left pointing at a dead frame */
	CHECK(r.status == 204 ? r.body == NULL : r.body != NULL);
	if (out)
		*out = r;
	else
		api_reply_free(&r);
	fixture_close(&f);
	return r.status;
}

static void test_every_route_has_a_case(void)
{
	CHECK(api_route_count() > 0);
	CHECK_INT(api_route_count(), sizeof(cases) / sizeof(cases[0]));
	for (const struct api_route *rt = api_routes; rt->method; rt++) {
		size_t i;
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			if (!strcmp(cases[i].method, rt->method) && !strcmp(cases[i].pattern, rt->pattern))
				break;
		if (i == sizeof(cases) / sizeof(cases[0]))
			fprintf(stderr, "  route %s %s has no case in route_test.c\n", rt->method,
				rt->pattern);
		CHECK(i < sizeof(cases) / sizeof(cases[0]));
	}
}

/* The routes open to everyone: signing in and out, the UI's files (which
 * hold no data), and a one-time link (its token is the credential). */
static bool open_route(const struct api_route *rt)
{
	static const char *const open[][2] = {
		{ "POST", "/v1/login" }, { "POST", "/v1/logout" }, { "GET", "/" },
		{ "GET", "/assets/:name" }, { "GET", "/l/:token" }, { "GET", "/v1/links/:token" },
	};

	for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++)
		if (!strcmp(rt->method, open[i][0]) && !strcmp(rt->pattern, open[i][1]))
			return true;
	return false;
}

/* The table's rules, whatever is added to it. */
static void test_table_invariants(void)
{
	for (const struct api_route *rt = api_routes; rt->method; rt++) {
		bool get = !strcmp(rt->method, "GET");
		bool mine = !strncmp(rt->pattern, "/v1/me/", 7);	/* the caller's own */
		CHECK(rt->handler != NULL && rt->pattern[0] == '/');
		/* Anything but GET changes state: audited, CSRF-checked. */
		CHECK(get || (rt->flags & ROUTE_CHANGES));
		CHECK(!get || !(rt->flags & ROUTE_CHANGES));
		/* A change or a key needs an admin, but for the caller's own
		 * account, signing in and out, and a link's token. */
		if ((rt->flags & (ROUTE_CHANGES | ROUTE_SECRET)) && !mine && !open_route(rt))
			CHECK_INT(rt->min_role, ROLE_ADMIN);
		/* Nothing else is open to everyone. */
		if (!open_route(rt))
			CHECK(rt->min_role >= ROLE_VIEWER);
		else
			CHECK_INT(rt->min_role, ROLE_NONE);
		/* Each method + pattern once. */
		for (const struct api_route *o = rt + 1; o->method; o++)
			CHECK(strcmp(rt->method, o->method) || strcmp(rt->pattern, o->pattern));
	}
}

/* The status expected for a route (case c), a role, a principal (token
 * or user) and a transport. */
static unsigned expected(const struct api_route *rt, size_t c, enum actor_role role, bool token,
			 enum api_transport t)
{
	if (t == API_TRANSPORT_UNIX)	/* the socket's peers are admin */
		return cases[c].on_unix ? cases[c].on_unix : cases[c].status;
	if (role < rt->min_role)
		return role == ROLE_NONE ? 401 : 403;
	if (token && role != ROLE_NONE && cases[c].token)
		return cases[c].token;
	return cases[c].status;
}

static void test_route_role_transport(void)
{
#define H "Host: vpn.example", "Origin: http://vpn.example"
	static const char *const none[] = { H, NULL };
	static const char *const viewer[] = { H, "Authorization: Bearer viewer", NULL };
	static const char *const admin[] = { H, "Authorization: Bearer admin", NULL };
	static const char *const user_viewer[] = { H, "Cookie: sid=viewer", NULL };
	static const char *const user_admin[] = { H, "Cookie: sid=admin", NULL };
#undef H
	const char *const *headers[2][3] = { { none, viewer, admin },
					     { none, user_viewer, user_admin } };

	for (const struct api_route *rt = api_routes; rt->method; rt++) {
		size_t c;
		for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
			if (!strcmp(cases[c].method, rt->method) && !strcmp(cases[c].pattern, rt->pattern))
				break;
		if (c == sizeof(cases) / sizeof(cases[0]))
			continue;	/* test_every_route_has_a_case fails */
		for (int t = 0; t < 3; t++) {
			for (int role = ROLE_NONE; role <= ROLE_ADMIN; role++) {
				enum api_transport tr = t ? API_TRANSPORT_TCP : API_TRANSPORT_UNIX;
				bool token = t < 2;	/* t 2: a user */
				struct api_reply r;
				unsigned want = expected(rt, c, role, token, tr);
				/* a remote address outside --metrics-allow */
				unsigned got = request(rt->method, cases[c].path, cases[c].body, tr,
						       headers[!token][role], "192.0.2.7", &r);
				if (got != want)
					fprintf(stderr, "  %s %s %s role %d: %u, want %u: %s\n",
						t == 0 ? "unix" : token ? "tcp token" : "tcp user",
						rt->method, cases[c].path, role, got, want,
						r.body ? r.body : "");
				CHECK_INT(got, want);
				if (got == 401)
					CHECK(r.www_authenticate);
				api_reply_free(&r);
			}
		}
	}
}

/* A cookie-authenticated change needs the server's own Origin; a token
 * needs none; a foreign Origin is refused whatever authenticates. */
static void test_csrf_on_every_change(void)
{
	static const char *const no_origin[] = { "Host: vpn.example", "Cookie: sid=admin", NULL };
	static const char *const foreign[] = { "Host: vpn.example", "Cookie: sid=admin",
					       "Origin: https://evil.example", NULL };
	static const char *const other_scheme[] = { "Host: vpn.example", "Cookie: sid=admin",
						    "Origin: https://vpn.example", NULL };
	static const char *const same[] = { "Host: vpn.example", "Cookie: sid=admin",
					    "Origin: http://vpn.example", NULL };
	static const char *const token_foreign[] = { "Host: vpn.example",
						     "Authorization: Bearer admin",
						     "Origin: https://evil.example", NULL };

	for (const struct api_route *rt = api_routes; rt->method; rt++) {
		size_t c;
		if (!(rt->flags & ROUTE_CHANGES))
			continue;
		for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
			if (!strcmp(cases[c].method, rt->method) && !strcmp(cases[c].pattern, rt->pattern))
				break;
		if (c == sizeof(cases) / sizeof(cases[0]))
			continue;
		CHECK_INT(request(rt->method, cases[c].path, cases[c].body, API_TRANSPORT_TCP,
				  no_origin, NULL, NULL), 403);
		CHECK_INT(request(rt->method, cases[c].path, cases[c].body, API_TRANSPORT_TCP,
				  foreign, NULL, NULL), 403);
		CHECK_INT(request(rt->method, cases[c].path, cases[c].body, API_TRANSPORT_TCP,
				  other_scheme, NULL, NULL), 403);
		CHECK_INT(request(rt->method, cases[c].path, cases[c].body, API_TRANSPORT_TCP,
				  token_foreign, NULL, NULL), 403);
		CHECK_INT(request(rt->method, cases[c].path, cases[c].body, API_TRANSPORT_TCP,
				  same, NULL, NULL), cases[c].status);
	}
	/* Reading with a cookie needs no Origin. */
	CHECK_INT(request("GET", "/v1/peers", NULL, API_TRANSPORT_TCP, no_origin, NULL, NULL), 200);
}

static void test_not_found_and_allow(void)
{
	static const char *const admin[] = { "Host: h", "Authorization: Bearer admin", NULL };
	static const struct {
		const char *method, *path;
		unsigned status;
		const char *allow;
	} m[] = {
		{ "PUT", "/v1/peers", 405, "GET, POST" },
		{ "POST", "/v1/peers/phone", 405, "GET, DELETE, PATCH" },
		{ "PUT", "/v1/peers/phone", 405, "GET, DELETE, PATCH" },
		{ "PATCH", "/v1/peers", 405, "GET, POST" },
		{ "GET", "/v1/peers/phone/enable", 405, "POST" },
		{ "DELETE", "/metrics", 405, "GET" },
		{ "GET", "/v1/peers/", 404, "" },
		{ "GET", "/v1/peers//config", 404, "" },
		{ "GET", "/v1/peers/phone/", 404, "" },
		{ "GET", "/v1/peers/phone/bogus", 404, "" },
		{ "GET", "/v1/peers/phone/config/x", 404, "" },
		{ "GET", "/v1", 404, "" },
		{ "GET", "", 404, "" },
		{ "GET", "v1/peers", 404, "" },
		{ "GET", "//v1/peers", 404, "" },
		{ "GET", "/V1/PEERS", 404, "" },
		{ "BREW", "/v1/peers", 405, "GET, POST" },
		/* parameters: validated, never a path */
		{ "GET", "/v1/peers/..", 404, "" },
		{ "GET", "/v1/peers/.", 404, "" },
		{ "GET", "/v1/peers/a b", 404, "" },
		{ "GET", "/v1/peers/%2e%2e", 404, "" },
		{ "GET", "/v1/peers/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 404, "" },
		{ "GET", "/v1/peers/nosuch", 404, "" },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		for (int t = 0; t < 2; t++) {
			struct api_reply r;
			unsigned s = request(m[i].method, m[i].path, NULL,
					     t ? API_TRANSPORT_TCP : API_TRANSPORT_UNIX, admin, NULL, &r);
			if (s != m[i].status || strcmp(r.allow, m[i].allow))
				fprintf(stderr, "  %s \"%s\": %u \"%s\"\n", m[i].method, m[i].path, s,
					r.allow);
			CHECK_INT(s, m[i].status);
			CHECK(!strcmp(r.allow, m[i].allow));
			CHECK(r.body && strstr(r.body, "\"error\":"));
			api_reply_free(&r);
		}
	}
	/* Only GET /v1/peers takes a query. */
	struct fixture f;
	struct api_reply r;
	struct api_request req = { .method = "GET", .path = "/v1/server", .query = "x=1",
				   .transport = API_TRANSPORT_UNIX };
	fixture_open(&f);
	CHECK_INT(api_handle(&f.api, &req, &r), 0);
	CHECK_INT(r.status, 400);
	api_reply_free(&r);
	req.path = "/v1/peers";
	req.query = "fields=name";
	CHECK_INT(api_handle(&f.api, &req, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(r.body && !strstr(r.body, "public_key"));
	api_reply_free(&r);
	/* A body over the limit is refused before any handler. */
	static char big[API_MAX_BODY + 2];
	memset(big, ' ', sizeof(big) - 1);
	req = (struct api_request){ .method = "POST", .path = "/v1/peers", .body = big,
				    .len = sizeof(big) - 1, .transport = API_TRANSPORT_UNIX };
	CHECK_INT(api_handle(&f.api, &req, &r), 0);
	CHECK_INT(r.status, 413);
	api_reply_free(&r);
	fixture_close(&f);
}

static void test_metrics_allow(void)
{
	static const char *const none[] = { "Host: h", NULL };
	struct fixture f;
	struct api_reply r;
	char err[128];
	struct api_request req = { .method = "GET", .path = "/metrics",
				   .transport = API_TRANSPORT_TCP, .header = list_header,
				   .header_ctx = (void *)none };

	fixture_open(&f);
	CHECK_INT(api_prefix_parse(&f.api.metrics_allow[0], "10.0.0.0/8", err, sizeof(err)), 0);
	f.api.n_metrics_allow = 1;
	set_remote(&req, "10.9.8.7");
	CHECK_INT(api_handle(&f.api, &req, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(r.content_type && !strncmp(r.content_type, "text/plain; version=0.0.4", 25));
	CHECK(r.body && strstr(r.body, "zerowg_peers_configured 1\n"));
	CHECK(r.body && strstr(r.body, "zerowg_peers_enabled 1\n"));
	api_reply_free(&r);
	set_remote(&req, "11.0.0.1");
	CHECK_INT(api_handle(&f.api, &req, &r), 0);
	CHECK_INT(r.status, 401);
	api_reply_free(&r);
	/* Unknown client address (a proxy that did not say): not allowed. */
	req.remote_len = 0;
	CHECK_INT(api_handle(&f.api, &req, &r), 0);
	CHECK_INT(r.status, 401);
	api_reply_free(&r);
	/* The allow list opens /metrics and nothing else. */
	set_remote(&req, "10.9.8.7");
	req.path = "/v1/server";
	CHECK_INT(api_handle(&f.api, &req, &r), 0);
	CHECK_INT(r.status, 401);
	api_reply_free(&r);
	fixture_close(&f);
}

static bool in(const char *prefix, const char *ip)
{
	struct api_prefix p;
	struct sockaddr_storage ss = { 0 };
	char err[128];

	if (api_prefix_parse(&p, prefix, err, sizeof(err)) < 0)
		return false;
	if (strchr(ip, ':')) {
		ss.ss_family = AF_INET6;
		inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr);
	} else {
		ss.ss_family = AF_INET;
		inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr);
	}
	return api_prefix_match(&p, 1, &ss);
}

static void test_prefixes_and_listen_addresses(void)
{
	static const char *const bad_prefix[] = {
		"", "/", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0/8", "host.example", "10.0.0.0/8/8", "10.0.0.0/08x", "1.2.3.4 ",
	};
	static const char *const bad_listen[] = {
		"", ":", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1",
		"::1", "[::1", "[::1]x", "[]:80", "localhost:80", "1.2.3.4:80:80", "[::1]:+80",
	};
	struct api_prefix p;
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];

	for (size_t i = 0; i < sizeof(bad_prefix) / sizeof(bad_prefix[0]); i++) {
		CHECK_INT(api_prefix_parse(&p, bad_prefix[i], err, sizeof(err)), -EINVAL);
		CHECK(strstr(err, "is not an address") != NULL);
	}
	CHECK(in("10.0.0.0/8", "10.255.1.2"));
	CHECK(!in("10.0.0.0/8", "11.0.0.0"));
	CHECK(in("192.168.1.0/25", "192.168.1.127"));
	CHECK(!in("192.168.1.0/25", "192.168.1.128"));
	CHECK(in("0.0.0.0/0", "203.0.113.1"));
	CHECK(in("127.0.0.1", "127.0.0.1"));
	CHECK(!in("127.0.0.1", "127.0.0.2"));
	CHECK(in("::1", "::1"));
	CHECK(!in("::1", "127.0.0.1"));
	CHECK(in("fd00::/8", "fd12:3456::1"));
	CHECK(!in("fd00::/8", "fe80::1"));
	/* An IPv4 client on an IPv6 socket arrives v4-mapped. */
	CHECK(in("127.0.0.0/8", "::ffff:127.0.0.1"));
	CHECK(!in("::ffff:0:0/96", "::1"));

	for (size_t i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++) {
		CHECK_INT(api_web_parse(bad_listen[i], &ss, &len, err, sizeof(err)), -EINVAL);
		CHECK(strstr(err, "ADDRESS[:PORT]") != NULL);
	}
	CHECK_INT(api_web_parse("127.0.0.1", &ss, &len, err, sizeof(err)), 0);
	CHECK(ss.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&ss)->sin_port) == 51821);
	CHECK_INT(api_web_parse("[::1]:8080", &ss, &len, err, sizeof(err)), 0);
	CHECK(ss.ss_family == AF_INET6 && ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) == 8080);
	CHECK_INT(len, sizeof(struct sockaddr_in6));
}

int main(void)
{
	setenv("ZWG_TEST_ARGON2_KIB", "8", 0);	/* cheap hashes: a fixture per request */
	CHECK(crypto_init());
	model_json_wipe_on_free();
	audit_set_output(fopen("/dev/null", "w"));
	skey = store_key_new();
	CHECK(skey && crypto_random(skey->bytes, sizeof(skey->bytes)));
	RUN(test_every_route_has_a_case);
	RUN(test_table_invariants);
	RUN(test_route_role_transport);
	RUN(test_csrf_on_every_change);
	RUN(test_not_found_and_allow);
	RUN(test_metrics_allow);
	RUN(test_prefixes_and_listen_addresses);
	store_key_free(skey);
	TEST_EXIT();
}
