/*
 * accounts_routes.c - the account routes (route.h, docs/web.md): signing
 * in and out, the caller's own account (password, 2FA, sessions), API
 * tokens and users; and api_accounts_authenticate, which turns a request's
 * bearer token or session cookie into its principal.  All of it over
 * api->accounts (src/control/accounts.h); no HTTP state of its own.
 *
 * Decisions:
 *   - A session cookie that is unknown or expired is no credential at all
 *     (the request is unauthenticated, 401 only where a role is needed),
 *     so a browser holding a stale cookie can still sign in; a wrong
 *     bearer token is 401 everywhere (a script should hear it).
 *   - The admin unix socket needs no sign-in: its caller is a local uid,
 *     admin.  There /v1/login and /v1/logout answer 400, GET /v1/me says
 *     "kind":"local", and the routes of a user's own password, 2FA and
 *     sessions answer 403, as they do for an API token: neither has them.
 *   - A wrong current password or code on /v1/me/... is 400 naming the
 *     field ("old", "code"): the caller is signed in, 401 would sign the
 *     page out.
 *   - Audit: the subject of the change (the user's or token's name) goes
 *     in the line's "peer" slot.  A failed sign-in is logged with the name
 *     tried when that user exists; an unknown name is not written (it is
 *     often a password typed in the wrong box) but marked "unknown user".
 *     A password, code or secret is never logged.
 *
 * Secrets in answers (a new token, recovery codes, the TOTP URI) leave in
 * ROUTE_SECRET answers only, once; the session id only in Set-Cookie.
 * Every buffer that held one is wiped here; the JSON bodies are wiped by
 * jansson's freeing (model_json_wipe_on_free) and api_reply_free.
 */
#include "api_internal.h"
#include "accounts.h"
#include "audit.h"
#include "render.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define AUDIT_USER_ADD		"user.add"
#define AUDIT_USER_REMOVE	"user.remove"
#define AUDIT_USER_ROLE		"user.role"
#define AUDIT_USER_PASSWD	"user.passwd"
#define AUDIT_USER_TOTP		"user.totp"
#define AUDIT_TOKEN_ADD		"token.add"
#define AUDIT_TOKEN_REVOKE	"token.revoke"
#define AUDIT_SESSION_LOGIN	"session.login"
#define AUDIT_SESSION_LOGOUT	"session.logout"
#define AUDIT_SESSION_REVOKE	"session.revoke"

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

void api_set_qr_svg(json_t *j, const char *text)
{
	char *svg = text && *text ? render_qr_svg(text) : NULL;

	json_object_set_new(j, "qr_svg", svg ? json_string(svg) : json_null());
	render_free(svg);
}

/*
 * The zwg_session cookie's value into id (wipe it): true if the Cookie
 * header has one of the right length.  Cookie: a=b; zwg_session=ID; c=d
 */
static bool session_cookie(const struct api_request *req, char id[ACCOUNTS_SESSION_ID_SIZE])
{
	const char *c = api_header(req, "Cookie");
	size_t nl = strlen(API_SESSION_COOKIE);

	while (c && *c) {
		c += strspn(c, " \t;");
		if (!strncmp(c, API_SESSION_COOKIE, nl) && c[nl] == '=') {
			size_t len = strcspn(c + nl + 1, "; \t");

			if (len != ACCOUNTS_SESSION_ID_LEN)
				return false;
			memcpy(id, c + nl + 1, len);
			id[len] = '\0';
			return true;
		}
		c += strcspn(c, ";");
	}
	return false;
}

/* The client's address as text (v4-mapped shown as IPv4), or NULL. */
static const char *source_text(const struct api_request *req, char *buf, size_t len)
{
	const struct sockaddr_in6 *s6 = (const void *)&req->remote;
	const struct sockaddr_in *s4 = (const void *)&req->remote;

	if (req->transport != API_TRANSPORT_TCP || !req->remote_len)
		return NULL;
	if (req->remote.ss_family == AF_INET)
		return inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)len);
	if (req->remote.ss_family != AF_INET6)
		return NULL;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, (socklen_t)len);
	return inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)len);
}

int api_accounts_authenticate(void *ctx, const struct api_request *req, struct actor *out)
{
	struct api *api = ctx;
	const char *a = api_header(req, "Authorization");
	char id[ACCOUNTS_SESSION_ID_SIZE];
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!api->accounts)
		return 0;
	if (a && !strncasecmp(a, "Bearer ", 7)) {
		a += 7;
		a += strspn(a, " ");
		ret = accounts_token_verify(api->accounts, a, now_s(), out);
		if (ret < 0)
			memset(out, 0, sizeof(*out));
		return ret;
	}
	if (session_cookie(req, id)) {
		ret = accounts_session_lookup(api->accounts, id, now_s(), out, NULL);
		explicit_bzero(id, sizeof(id));
		if (ret < 0)
			memset(out, 0, sizeof(*out));	/* stale: sign in again */
		if (ret < 0 && ret != -EACCES)
			return ret;
	}
	return 0;
}

/* The end of an account change that answers no body: its audit line (the
 * control layer's messages quote no secret), then the error or 204. */
static int changed(const struct api_request *req, struct api_reply *r, const char *event,
		   const char *subject, int ret, const struct control_error *e)
{
	audit_log(event, subject, req->actor, ret == 0, ret == 0 ? NULL : e->msg);
	if (ret < 0)
		return api_reply_control_error(r, ret, e);
	r->status = 204;
	return 0;
}

/* ------------------------------------------------------------ helpers -- */

static bool have_accounts(struct api *api, struct api_reply *r)
{
	if (api->accounts)
		return true;
	api_reply_error(r, 503, NULL, "this server has no user accounts open");
	return false;
}

/* The routes of a user's own password, 2FA and sessions need a user. */
static bool is_user(const struct api_request *req, struct api_reply *r)
{
	if (req->actor->kind == ACTOR_USER)
		return true;
	if (req->actor->kind == ACTOR_TOKEN)
		api_reply_error(r, 403, NULL, "API token \"%s\" has no password, 2FA or sessions: "
				"sign in as a user for %.64s", req->actor->name, req->path);
	else
		api_reply_error(r, 403, NULL, "%s on the admin socket is no web user: use `zerowg "
				"user` for passwords and 2FA", req->actor->name);
	return false;
}

/* A required string member; false after a 400 naming it. */
static bool need_string(struct api_reply *r, json_t *o, const char *field, const char **out)
{
	*out = NULL;
	if (!api_opt_string(r, o, field, out))
		return false;
	if (!*out || !**out) {
		api_reply_error(r, 400, field, "\"%s\" is missing", field);
		return false;
	}
	return true;
}

/* The object of the body, with only the members in known; NULL after a
 * 400. */
static json_t *body(const struct api_request *req, struct api_reply *r,
		    const char *const *known, bool allow_empty)
{
	json_t *o = api_body_object(r, req->body, req->len, allow_empty);

	if (o && !api_only_known(r, o, known)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int reply_throttled(struct api_reply *r, int64_t retry_after, const char *msg)
{
	char secs[24];
	json_t *j;

	if (retry_after < 1)
		retry_after = 1;
	j = json_pack("{s:s, s:n, s:I}", "error", msg && *msg ? msg : "too many attempts",
		      "field", "retry_after", (json_int_t)retry_after);
	snprintf(secs, sizeof(secs), "%lld", (long long)retry_after);
	if (api_reply_json(r, 429, j) < 0)
		return -ENOMEM;
	api_reply_header(r, "Retry-After", secs);
	return 0;
}

static int set_cookie(struct api_reply *r, const struct api_request *req, const char *value,
		      bool clear)
{
	char c[API_REPLY_HEADER_MAX];
	int n = snprintf(c, sizeof(c), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s",
			 API_SESSION_COOKIE, value, clear ? "; Max-Age=0" : "",
			 req->secure ? "; Secure" : "");
	bool ok = n > 0 && (size_t)n < sizeof(c) && api_reply_header(r, "Set-Cookie", c);

	explicit_bzero(c, sizeof(c));
	return ok ? 0 : -ENOMEM;
}

/* {"user","role","totp"} of a user. */
static json_t *user_view(struct api *api, const char *name, enum actor_role role)
{
	struct accounts_user_info info;
	struct control_error e;
	bool totp = false;
	unsigned left = 0;

	control_error_clear(&e);
	if (accounts_user_get(api->accounts, name, &info, &e) == 0) {
		totp = info.totp_enabled;
		left = info.recovery_codes_left;
		role = info.role;
	}
	return json_pack("{s:s, s:s, s:s, s:b, s:I}", "kind", "user", "user", name, "role",
			 accounts_role_name(role), "totp", totp, "recovery_codes_left",
			 (json_int_t)left);
}

/* ------------------------------------------------------ login, logout -- */

/* A refused sign-in (audit.h, audit_refusal: rate-limited per source). */
static void audit_failed_login(struct api *api, const struct api_request *req, const char *event,
			       unsigned status, const char *name, const char *why)
{
	struct accounts_user_info info;
	struct actor nobody = { .kind = ACTOR_NONE, .via = "web" };
	struct control_error e;
	char src[INET6_ADDRSTRLEN], unknown[96];
	bool known = accounts_name_valid("user", name, &e) &&
		     accounts_user_get(api->accounts, name, &info, &e) == 0;

	snprintf(unknown, sizeof(unknown), "%s; unknown user (the name tried is not logged)", why);
	audit_refusal(event, known ? name : NULL, &nobody, source_text(req, src, sizeof(src)),
		      req->method, req->path, status, known ? why : unknown);
}

int api_login(struct api *api, const struct api_request *req, struct api_reply *r)
{
	static const char *const known[] = { "user", "password", "code", NULL };
	char id[ACCOUNTS_SESSION_ID_SIZE] = "", src[INET6_ADDRSTRLEN];
	const char *user, *password, *code = NULL;
	struct control_error e;
	struct actor who;
	int64_t retry = 0;
	json_t *o, *j;
	int ret;

	if (!have_accounts(api, r))
		return 0;
	if (req->transport != API_TRANSPORT_TCP)
		return api_reply_error(r, 400, NULL, "the admin socket needs no sign-in: its "
				       "caller (%s) is an admin already", req->actor->name);
	o = body(req, r, known, false);
	if (!o)
		return 0;
	if (!need_string(r, o, "user", &user) || !need_string(r, o, "password", &password) ||
	    !api_opt_string(r, o, "code", &code)) {
		json_decref(o);
		return 0;
	}
	control_error_clear(&e);
	ret = accounts_login(api->accounts, user, password, code, source_text(req, src, sizeof(src)),
			     now_s(), &who, id, &retry, &e);
	switch (ret) {
	case 0:
		j = user_view(api, who.name, who.role);
		who.via = "web";
		audit_log(AUDIT_SESSION_LOGIN, who.name, &who, true, NULL);
		if (api_reply_json(r, 200, j) == 0 && set_cookie(r, req, id, false) < 0)
			api_reply_error(r, 500, NULL, "out of memory");
		break;
	case -ENOKEY:
		api_reply_json(r, 401, json_pack("{s:s, s:s, s:b}", "error", "enter the 6-digit "
						 "code of your authenticator app, or a recovery code",
						 "field", "code", "totp_required", 1));
		break;
	case -EACCES:
		/* e says "code" when the password was right (accounts.c): the
		 * log may say so, the answer never does. */
		if (!strcmp(e.field, "code"))
			audit_failed_login(api, req, strstr(e.msg, "already used") ?
					   AUDIT_TOTP_REPLAYED : AUDIT_LOGIN_FAILED, 401, user,
					   e.msg);
		else
			audit_failed_login(api, req, AUDIT_LOGIN_FAILED, 401, user,
					   "wrong password");
		api_reply_error(r, 401, NULL, "wrong user name, password or code");
		break;
	case -EAGAIN:
		audit_failed_login(api, req, AUDIT_LOGIN_FAILED, 429, user, "throttled");
		reply_throttled(r, retry, e.msg);
		break;
	default:
		api_reply_control_error(r, ret, &e);
	}
	explicit_bzero(id, sizeof(id));
	json_decref(o);
	return 0;
}

int api_logout(struct api *api, const struct api_request *req, struct api_reply *r)
{
	char id[ACCOUNTS_SESSION_ID_SIZE];

	if (!have_accounts(api, r))
		return 0;
	if (req->transport != API_TRANSPORT_TCP)
		return api_reply_error(r, 400, NULL, "the admin socket has no session to end");
	if (session_cookie(req, id)) {
		if (accounts_session_logout(api->accounts, id) == 0 && req->actor->kind == ACTOR_USER)
			audit_log(AUDIT_SESSION_LOGOUT, req->actor->name, req->actor, true, NULL);
		explicit_bzero(id, sizeof(id));
	}
	r->status = 204;
	return set_cookie(r, req, "", true);
}

/* ------------------------------------------------------ the caller's -- */

int api_get_me(struct api *api, const struct api_request *req, struct api_reply *r)
{
	const struct actor *a = req->actor;

	if (a->kind == ACTOR_USER && have_accounts(api, r))
		return api_reply_json(r, 200, user_view(api, a->name, a->role));
	if (a->kind == ACTOR_USER)
		return 0;
	return api_reply_json(r, 200, json_pack("{s:s, s:n, s:s, s:s, s:b}", "kind",
					       a->kind == ACTOR_TOKEN ? "token" : "local", "user",
					       "name", a->name, "role", accounts_role_name(a->role),
					       "totp", 0));
}

int api_me_password(struct api *api, const struct api_request *req, struct api_reply *r)
{
	static const char *const known[] = { "old", "new", NULL };
	char id[ACCOUNTS_SESSION_ID_SIZE] = "", src[INET6_ADDRSTRLEN];
	const char *old, *pw;
	struct control_error e;
	int64_t retry = 0;
	json_t *o;
	int ret;

	if (!have_accounts(api, r) || !is_user(req, r))
		return 0;
	o = body(req, r, known, false);
	if (!o)
		return 0;
	if (!need_string(r, o, "old", &old) || !need_string(r, o, "new", &pw))
		goto out;
	control_error_clear(&e);
	ret = accounts_reauth(api->accounts, req->actor->name, old,
			      source_text(req, src, sizeof(src)), now_s(), &retry, &e);
	if (ret == -EAGAIN) {
		reply_throttled(r, retry, e.msg);
		goto out;
	}
	if (ret == -EACCES) {
		api_reply_error(r, 400, "old", "the current password is wrong");
		goto out;
	}
	if (ret < 0) {
		api_reply_control_error(r, ret, &e);
		goto out;
	}
	session_cookie(req, id);
	control_error_clear(&e);
	ret = accounts_user_passwd(api->accounts, req->actor->name, pw, id[0] ? id : NULL, now_s(),
				   &e);
	explicit_bzero(id, sizeof(id));
	audit_log(AUDIT_USER_PASSWD, req->actor->name, req->actor, ret == 0,
		  ret == 0 ? NULL : e.msg);
	if (ret == -EINVAL)
		api_reply_error(r, 400, "new", "%s", e.msg[0] ? e.msg : "the new password is not "
				"acceptable");
	else if (ret < 0)
		api_reply_control_error(r, ret, &e);
	else
		r->status = 204;
out:
	json_decref(o);
	return 0;
}

int api_me_totp_begin(struct api *api, const struct api_request *req, struct api_reply *r)
{
	struct control_error e;
	char *uri = NULL;
	json_t *j;
	int ret;

	if (!have_accounts(api, r) || !is_user(req, r))
		return 0;
	if (req->len) {		/* nothing, or {} */
		static const char *const none[] = { NULL };

		j = body(req, r, none, true);
		if (!j)
			return 0;
		json_decref(j);
	}
	control_error_clear(&e);
	ret = accounts_totp_begin(api->accounts, req->actor->name, &uri, &e);
	if (ret < 0)
		return api_reply_control_error(r, ret, &e);
	j = json_pack("{s:s}", "uri", uri);
	if (j)
		api_set_qr_svg(j, uri);
	accounts_secret_free(uri);
	return api_reply_json(r, 200, j);
}

int api_me_totp_confirm(struct api *api, const struct api_request *req, struct api_reply *r)
{
	static const char *const known[] = { "code", NULL };
	char codes[ACCOUNTS_RECOVERY_CODES][ACCOUNTS_RECOVERY_CODE_SIZE];
	char id[ACCOUNTS_SESSION_ID_SIZE] = "";
	struct control_error e;
	const char *code;
	json_t *o, *j, *list;
	int ret;

	if (!have_accounts(api, r) || !is_user(req, r))
		return 0;
	o = body(req, r, known, false);
	if (!o)
		return 0;
	if (!need_string(r, o, "code", &code)) {
		json_decref(o);
		return 0;
	}
	session_cookie(req, id);
	control_error_clear(&e);
	ret = accounts_totp_confirm(api->accounts, req->actor->name, code, id[0] ? id : NULL,
				    now_s(), codes, &e);
	explicit_bzero(id, sizeof(id));
	json_decref(o);
	audit_log(AUDIT_USER_TOTP, req->actor->name, req->actor, ret == 0,
		  ret == 0 ? NULL : ret == -EACCES ? "wrong code" : e.msg);
	if (ret == -EACCES)
		return api_reply_error(r, 400, "code", "that code is not right: type the current "
				       "6-digit code your app shows for zerowg");
	if (ret == -ENOENT)
		return api_reply_error(r, 409, "code", "no 2FA enrolment is pending: start again");
	if (ret < 0)
		return api_reply_control_error(r, ret, &e);
	j = json_object();
	list = json_array();
	for (size_t i = 0; i < ACCOUNTS_RECOVERY_CODES && list; i++)
		json_array_append_new(list, json_string(codes[i]));
	explicit_bzero(codes, sizeof(codes));
	if (j && list)
		json_object_set_new(j, "recovery_codes", list);
	else
		json_decref(list);
	return api_reply_json(r, 200, j);
}

int api_me_totp_disable(struct api *api, const struct api_request *req, struct api_reply *r)
{
	static const char *const known[] = { "code", NULL };
	char id[ACCOUNTS_SESSION_ID_SIZE] = "", src[INET6_ADDRSTRLEN];
	struct control_error e;
	const char *code;
	int64_t retry = 0;
	json_t *o;
	int ret;

	if (!have_accounts(api, r) || !is_user(req, r))
		return 0;
	o = body(req, r, known, false);
	if (!o)
		return 0;
	if (!need_string(r, o, "code", &code)) {
		json_decref(o);
		return 0;
	}
	control_error_clear(&e);
	ret = accounts_second_factor_check(api->accounts, req->actor->name, code,
					   source_text(req, src, sizeof(src)), now_s(), &retry, &e);
	json_decref(o);
	if (ret == -EAGAIN)
		return reply_throttled(r, retry, e.msg);
	if (ret == -EACCES)
		return api_reply_error(r, 400, "code", "that code is not right: type the current "
				       "6-digit code of your app, or a recovery code");
	if (ret == -ENOENT)
		return api_reply_error(r, 409, NULL, "2FA is not on for \"%s\"", req->actor->name);
	if (ret < 0)
		return api_reply_control_error(r, ret, &e);
	session_cookie(req, id);
	control_error_clear(&e);
	ret = accounts_totp_disable(api->accounts, req->actor->name, id[0] ? id : NULL, &e);
	explicit_bzero(id, sizeof(id));
	audit_log(AUDIT_USER_TOTP, req->actor->name, req->actor, ret == 0,
		  ret == 0 ? NULL : e.msg);
	if (ret < 0)
		return api_reply_control_error(r, ret, &e);
	r->status = 204;
	return 0;
}

int api_me_sessions(struct api *api, const struct api_request *req, struct api_reply *r)
{
	struct accounts_session_info *s = NULL;
	char id[ACCOUNTS_SESSION_ID_SIZE], mine[ACCOUNTS_SESSION_HANDLE_SIZE] = "";
	size_t n = 0;
	json_t *list;
	int ret;

	if (!have_accounts(api, r) || !is_user(req, r))
		return 0;
	if (session_cookie(req, id)) {
		accounts_session_handle(id, mine);
		explicit_bzero(id, sizeof(id));
	}
	ret = accounts_session_list(api->accounts, req->actor->name, now_s(), &s, &n);
	if (ret < 0)
		return api_reply_error(r, 500, NULL, "listing the sessions: %s", strerror(-ret));
	list = json_array();
	for (size_t i = 0; i < n && list; i++)
		json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:s?, s:b}", "id_hint",
						      s[i].handle, "created",
						      (json_int_t)s[i].created, "last_seen",
						      (json_int_t)s[i].last_seen, "source",
						      s[i].source[0] ? s[i].source : NULL, "current",
						      !strcmp(s[i].handle, mine)));
	free(s);
	return api_reply_json(r, 200, list ? json_pack("{s:o}", "sessions", list) : NULL);
}

int api_me_session_revoke(struct api *api, const struct api_request *req, struct api_reply *r)
{
	const char *handle = api_param(req, "id");

	if (!have_accounts(api, r) || !is_user(req, r))
		return 0;
	if (accounts_session_revoke(api->accounts, req->actor->name, handle) < 0)
		return api_reply_error(r, 404, NULL, "you have no session \"%s\" (GET "
				       "/v1/me/sessions lists them)", handle);
	audit_log(AUDIT_SESSION_REVOKE, req->actor->name, req->actor, true, NULL);
	r->status = 204;
	return 0;
}

/* ------------------------------------------------------------- tokens -- */

int api_list_tokens(struct api *api, const struct api_request *req, struct api_reply *r)
{
	struct accounts_token_info *t = NULL;
	struct control_error e;
	size_t n = 0;
	json_t *list;
	int ret;

	if (!have_accounts(api, r))
		return 0;
	control_error_clear(&e);
	ret = accounts_token_list(api->accounts, &t, &n, &e);
	if (ret < 0)
		return api_reply_control_error(r, ret, &e);
	list = json_array();
	for (size_t i = 0; i < n && list; i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I, s:I}", "name", t[i].name,
						      "role", accounts_role_name(t[i].role),
						      "created", (json_int_t)t[i].created,
						      "expires", (json_int_t)t[i].expires,
						      "last_used", (json_int_t)t[i].last_used));
	free(t);
	return api_reply_json(r, 200, list ? json_pack("{s:o}", "tokens", list) : NULL);
}

int api_add_token(struct api *api, const struct api_request *req, struct api_reply *r)
{
	static const char *const known[] = { "name", "role", "expires", NULL };
	char secret[ACCOUNTS_TOKEN_SECRET_SIZE] = "";
	const char *name, *role_text = NULL, *expires_text = NULL;
	enum actor_role role = ROLE_VIEWER;
	struct control_error e;
	int64_t now = now_s(), expires = 0;
	json_t *o;
	int ret;

	if (!have_accounts(api, r))
		return 0;
	o = body(req, r, known, false);
	if (!o)
		return 0;
	if (!need_string(r, o, "name", &name) || !api_opt_string(r, o, "role", &role_text) ||
	    !api_opt_string(r, o, "expires", &expires_text))
		goto out;
	control_error_clear(&e);
	if ((role_text && accounts_role_parse(role_text, &role, &e) < 0) ||
	    (expires_text && *expires_text &&
	     model_parse_expires(expires_text, now, &expires, &e) < 0)) {
		api_reply_error(r, 400, e.field[0] ? e.field : role_text ? "expires" : "role", "%s",
				e.msg);
		goto out;
	}
	ret = accounts_token_add(api->accounts, name, role, expires, now, secret, &e);
	audit_log(AUDIT_TOKEN_ADD, name, req->actor, ret == 0, ret == 0 ? NULL : e.msg);
	if (ret < 0)
		api_reply_control_error(r, ret, &e);
	else
		api_reply_json(r, 201, json_pack("{s:s, s:s, s:s, s:I}", "name", name, "role",
						 accounts_role_name(role), "token", secret,
						 "expires", (json_int_t)expires));
	explicit_bzero(secret, sizeof(secret));
out:
	json_decref(o);
	return 0;
}

int api_revoke_token(struct api *api, const struct api_request *req, struct api_reply *r)
{
	const char *name = api_param(req, "name");
	struct control_error e;
	int ret;

	if (!have_accounts(api, r))
		return 0;
	control_error_clear(&e);
	ret = accounts_token_revoke(api->accounts, name, &e);
	return changed(req, r, AUDIT_TOKEN_REVOKE, name, ret, &e);
}

/* -------------------------------------------------------------- users -- */

int api_list_users(struct api *api, const struct api_request *req, struct api_reply *r)
{
	struct accounts_user_info *u = NULL;
	struct control_error e;
	size_t n = 0;
	json_t *list;
	int ret;

	if (!have_accounts(api, r))
		return 0;
	control_error_clear(&e);
	ret = accounts_user_list(api->accounts, &u, &n, &e);
	if (ret < 0)
		return api_reply_control_error(r, ret, &e);
	list = json_array();
	for (size_t i = 0; i < n && list; i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I, s:b, s:I}", "name",
						      u[i].name, "role", accounts_role_name(u[i].role),
						      "created", (json_int_t)u[i].created,
						      "password_changed",
						      (json_int_t)u[i].password_changed, "totp",
						      u[i].totp_enabled, "sessions",
						      (json_int_t)u[i].sessions));
	free(u);
	return api_reply_json(r, 200, list ? json_pack("{s:o}", "users", list) : NULL);
}

int api_add_user(struct api *api, const struct api_request *req, struct api_reply *r)
{
	static const char *const known[] = { "name", "role", "password", NULL };
	const char *name, *role_text = NULL, *password;
	enum actor_role role = ROLE_VIEWER;
	struct control_error e;
	json_t *o;
	int ret;

	if (!have_accounts(api, r))
		return 0;
	o = body(req, r, known, false);
	if (!o)
		return 0;
	if (!need_string(r, o, "name", &name) || !api_opt_string(r, o, "role", &role_text) ||
	    !need_string(r, o, "password", &password))
		goto out;
	control_error_clear(&e);
	if (role_text && accounts_role_parse(role_text, &role, &e) < 0) {
		api_reply_error(r, 400, "role", "%s", e.msg);
		goto out;
	}
	ret = accounts_user_add(api->accounts, name, role, password, now_s(), &e);
	audit_log(AUDIT_USER_ADD, accounts_name_valid("user", name, NULL) ? name : NULL,
		  req->actor, ret == 0, ret == 0 ? NULL : e.msg);
	if (ret < 0)
		api_reply_control_error(r, ret, &e);
	else
		api_reply_json(r, 201, user_view(api, name, role));
out:
	json_decref(o);
	return 0;
}

int api_remove_user(struct api *api, const struct api_request *req, struct api_reply *r)
{
	const char *name = api_param(req, "name");
	struct control_error e;
	int ret;

	if (!have_accounts(api, r))
		return 0;
	control_error_clear(&e);
	ret = accounts_user_remove(api->accounts, name, &e);
	return changed(req, r, AUDIT_USER_REMOVE, name, ret, &e);
}

int api_set_user_role(struct api *api, const struct api_request *req, struct api_reply *r)
{
	static const char *const known[] = { "role", NULL };
	const char *name = api_param(req, "name"), *role_text;
	enum actor_role role;
	struct control_error e;
	json_t *o;
	int ret;

	if (!have_accounts(api, r))
		return 0;
	o = body(req, r, known, false);
	if (!o)
		return 0;
	if (!need_string(r, o, "role", &role_text))
		goto out;
	control_error_clear(&e);
	ret = accounts_role_parse(role_text, &role, &e);
	if (ret < 0) {
		api_reply_error(r, 400, "role", "%s", e.msg);
		goto out;
	}
	ret = accounts_user_set_role(api->accounts, name, role, &e);
	audit_log(AUDIT_USER_ROLE, name, req->actor, ret == 0, ret == 0 ? NULL : e.msg);
	if (ret < 0)
		api_reply_control_error(r, ret, &e);
	else
		api_reply_json(r, 200, user_view(api, name, role));
out:
	json_decref(o);
	return 0;
}
