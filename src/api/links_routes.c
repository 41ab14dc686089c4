/*
 * links_routes.c - the one-time link routes (route.h; docs/web.md,
 * "One-time links"; the records: src/control/links.h):
 *
 *   POST /v1/peers/NAME/links  admin  {"ttl":"1h"} -> 201 {"url","expires","peer"}
 *   GET  /v1/links/TOKEN       none   200 {"name","client_config","qr_svg"} once,
 *                                     then 410; 404 unknown; 410 expired or dead
 *
 * A link needs the client's private key, which the server keeps only for
 * a peer added or rotated with keep_key: for any other peer POST
 * .../links is 409, and the link is made where the key exists - with the
 * peer (POST /v1/peers {"link":{"ttl":"1h"}}) or with a rotation (POST
 * /v1/peers/NAME/rotate {"link":{...}}): api_link_attach() below, called
 * by peers.c.  The key then lives on only in the sealed link record.
 *
 * The URL is BASE/l/TOKEN.  BASE: over TCP, the request's own origin (the
 * scheme as the client saw it - a trusted proxy's X-Forwarded-Proto - and
 * its Host header), so a link made in the browser opens where the browser
 * is; over the admin socket (the CLI), $WEB_URL of the server if set
 * ("https://vpn.example.com"), else http://ENDPOINT-HOST:51821 (the
 * server's endpoint host, wg-easy's port), else http://127.0.0.1:51821.
 *
 * GET /v1/links/TOKEN has no principal: the token is the credential (128
 * random bits: not guessable, so not throttled).  Its answer holds a key:
 * ROUTE_SECRET (no-store, wiped), and only the link page's script asks for
 * it, so a chat app's preview of /l/TOKEN (a static page) cannot burn it.
 * Every use, refused or not, is audited (link.use, link.expire) with the
 * caller's transport as "via"; the token is never in a line.
 */
#include "api_internal.h"
#include "api_http.h"
#include "audit.h"
#include "links.h"
#include "render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BASE_MAX 300

/* A Host header fit to be put in a URL: a name or address and a port. */
static bool host_ok(const char *h)
{
	size_t n = h ? strlen(h) : 0;

	if (n == 0 || n > 255)
		return false;
	for (; *h; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || strchr(".-:[]", *h)))
			return false;
	return true;
}

/* The server's endpoint host: "vpn.example.com:51820" -> "vpn.example.com",
 * "[fd00::1]:51820" -> "[fd00::1]".  false if none. */
static bool endpoint_host(struct api *api, char *out, size_t len)
{
	struct server_record rec;
	uint8_t pub[MODEL_KEY_LEN];
	bool ok = false;

	memset(&rec, 0, sizeof(rec));
	if (control_get_server(api->ctl, &rec, pub) == 0 && rec.endpoint && *rec.endpoint) {
		const char *ep = rec.endpoint;
		size_t n = ep[0] == '[' ? strcspn(ep, "]") + 1 : strcspn(ep, ":");
		if (ep[0] == '[' && ep[n - 1] != ']')
			n = 0;
		if (n && n < len) {
			memcpy(out, ep, n);
			out[n] = '\0';
			ok = host_ok(out);
		}
	}
	model_server_free(&rec);
	return ok;
}

/* The links' base URL for this request (see the top). */
static void link_base(struct api *api, const struct api_request *req, char base[BASE_MAX])
{
	const char *host = api_header(req, "Host"), *env = getenv("WEB_URL");
	char ep[256];

	if (req->transport == API_TRANSPORT_TCP && host_ok(host)) {
		snprintf(base, BASE_MAX, "%s://%s", req->secure ? "https" : "http", host);
		return;
	}
	if (env && (!strncmp(env, "http://", 7) || !strncmp(env, "https://", 8)) &&
	    strlen(env) < BASE_MAX - 1 && !strpbrk(env, " \t\r\n\"<>?#")) {
		size_t n = strlen(env);
		snprintf(base, BASE_MAX, "%.*s", (int)(n && env[n - 1] == '/' ? n - 1 : n), env);
		return;
	}
	if (endpoint_host(api, ep, sizeof(ep)))
		snprintf(base, BASE_MAX, "http://%s:%d", ep, API_WEB_PORT);
	else
		snprintf(base, BASE_MAX, "http://127.0.0.1:%d", API_WEB_PORT);
}

/* {"ttl": "1h" | seconds} from o (may be NULL: the default).  false after
 * a 400 naming "ttl". */
static bool ttl_of(struct api_reply *r, json_t *o, int64_t *ttl)
{
	json_t *v = o ? json_object_get(o, "ttl") : NULL;
	struct control_error e;

	*ttl = LINK_TTL_DEFAULT;
	control_error_clear(&e);
	if (!v || json_is_null(v))
		return true;
	if (json_is_integer(v) && json_integer_value(v) >= 60 &&
	    json_integer_value(v) <= LINK_TTL_MAX) {
		*ttl = json_integer_value(v);
		return true;
	}
	if (json_is_string(v) && links_parse_ttl(json_string_value(v), ttl, &e) == 0)
		return true;
	if (!e.msg[0])
		links_parse_ttl("", ttl, &e);
	api_reply_error(r, 400, "ttl", "%s", e.msg);
	return false;
}

/* Makes the link; {"url","expires","peer"} or NULL with r filled. */
static json_t *make_link(struct api *api, const struct api_request *req, const char *peer,
			 const char *config, int64_t ttl, struct api_reply *r)
{
	char token[LINK_TOKEN_LEN + 1], base[BASE_MAX], url[BASE_MAX + 8 + LINK_TOKEN_LEN];
	struct control_error e;
	int64_t expires = 0;
	json_t *j;
	int ret;

	control_error_clear(&e);
	ret = links_create(api->ctl, peer, config, ttl,
			   (int64_t)time(NULL), token, &expires, &e);
	if (ret < 0) {
		audit_log(AUDIT_LINK_CREATE, peer, req->actor, false,
			  e.msg[0] ? e.msg : strerror(-ret));
		api_reply_control_error(r, ret, &e);
		return NULL;
	}
	link_base(api, req, base);
	snprintf(url, sizeof(url), "%s/l/%s", base, token);
	explicit_bzero(token, sizeof(token));
	j = json_pack("{ss sI ss}", "url", url, "expires", (json_int_t)expires, "peer", peer);
	explicit_bzero(url, sizeof(url));
	if (!j) {
		/* The caller cannot have it: do not leave it usable. */
		links_drop_peer(api->ctl, peer);
		api_reply_error(r, 500, NULL, "out of memory");
		return NULL;
	}
	audit_log(AUDIT_LINK_CREATE, peer, req->actor, true, NULL);
	return j;
}

/* The lifetime a "link" field asks for; 0 for no link.  -EINVAL after a
 * 400 naming the field. */
static int link_spec(struct api_reply *r, json_t *spec, int64_t *ttl)
{
	static const char *const known[] = { "ttl", NULL };

	*ttl = 0;
	if (!spec || json_is_null(spec) || json_is_false(spec))
		return 0;
	if (!json_is_object(spec) && !json_is_true(spec)) {
		api_reply_error(r, 400, "link", "field \"link\" must be an object like "
				"{\"ttl\":\"1h\"} (or true for the default of 1h)");
		return -EINVAL;
	}
	if (json_is_object(spec) && !api_only_known(r, spec, known))
		return -EINVAL;
	return ttl_of(r, json_is_object(spec) ? spec : NULL, ttl) ? 0 : -EINVAL;
}

bool api_link_spec_ok(struct api_reply *r, json_t *spec)
{
	int64_t ttl;

	return link_spec(r, spec, &ttl) == 0;
}

int api_link_attach(struct api *api, const struct api_request *req, json_t *answer,
		    const char *peer, const char *config, json_t *spec, struct api_reply *r)
{
	json_t *link;
	int64_t ttl;
	int ret = link_spec(r, spec, &ttl);

	if (ret < 0 || ttl == 0)
		return ret;
	link = make_link(api, req, peer, config, ttl, r);
	if (!link)
		return -EIO;
	json_object_set_new(answer, "link", link);
	return 0;
}

static const char *const link_fields[] = { "ttl", NULL };

int api_create_link(struct api *api, const struct api_request *req, struct api_reply *r)
{
	const char *name = api_param(req, "name");
	uint8_t before[MODEL_KEY_LEN];
	struct peer_record rec;
	struct control_error e;
	char *config = NULL;
	json_t *o, *link;
	int64_t ttl;
	int ret;

	control_error_clear(&e);
	o = api_body_object(r, req->body, req->len, true);
	if (!o)
		return 0;
	if (!api_only_known(r, o, link_fields) || !ttl_of(r, o, &ttl))
		goto out;
	ret = control_peer_get(api->ctl, name, &rec, &e);
	if (ret == 0) {
		memcpy(before, rec.public_key, sizeof(before));
		model_peer_free(&rec);
		ret = control_peer_client_config(api->ctl, name, &config, NULL, &e);
	}
	if (ret == -ENOKEY) {
		control_error_set(&e, "name", "peer \"%s\": its private key was not kept, so the "
				  "server cannot make its config again; make the link with a new "
				  "key: POST /v1/peers/%s/rotate {\"link\":{\"ttl\":\"1h\"}} (the old "
				  "key stops working), or add peers with \"keep_key\" or \"link\"",
				  name, name);
	}
	if (ret < 0) {
		audit_log(AUDIT_LINK_CREATE, name, req->actor, false,
			  e.msg[0] ? e.msg : strerror(-ret));
		api_reply_control_error(r, ret, &e);
		goto out;
	}
	link = make_link(api, req, name, config, ttl, r);
	if (!link)
		goto out;
	/* A rotation between reading the config and storing the link would
	 * leave a link to the old key: the rotation dropped the links it saw,
	 * so drop this one too. */
	ret = control_peer_get(api->ctl, name, &rec, &e);
	if (ret < 0 || memcmp(rec.public_key, before, sizeof(before))) {
		links_drop_peer(api->ctl, name);
		json_decref(link);
		api_reply_error(r, 409, "name", "peer \"%s\" was rotated or revoked while its link "
				"was made; try again", name);
	} else {
		api_reply_json(r, 201, link);
	}
	if (ret == 0)
		model_peer_free(&rec);
out:
	links_config_free(config);
	json_decref(o);
	return 0;
}

/* Who opened a link: nobody signed in; the transport says how. */
static struct actor link_user(const struct api_request *req)
{
	struct actor a = { .kind = ACTOR_NONE, .role = ROLE_NONE, .name = "one-time link",
			   .via = req->actor && req->actor->via ? req->actor->via : "web" };
	return a;
}

int api_get_link(struct api *api, const struct api_request *req, struct api_reply *r)
{
	char peer[MODEL_NAME_MAX + 1], *config = NULL, *svg;
	struct actor who = link_user(req);
	json_t *j;
	int ret;

	ret = links_take(api->ctl, api_param(req, "token"), (int64_t)time(NULL),
			 peer, &config);
	switch (ret) {
	case 0:
		break;
	case -ENOENT:
		audit_log(AUDIT_LINK_USE, NULL, &who, false, "unknown link");
		return api_reply_error(r, 404, NULL, "no such link: check that the whole link was "
				       "copied, or ask for a new one");
	case -EALREADY:
		audit_log(AUDIT_LINK_USE, NULL, &who, false, "link already used");
		return api_reply_error(r, 410, NULL, "this link was used already: a link shows "
				       "its config once; ask for a new one");
	case -ETIME:
		audit_log(AUDIT_LINK_EXPIRE, peer[0] ? peer : NULL, &who, true, NULL);
		return api_reply_error(r, 410, NULL, "this link has expired; ask for a new one");
	case -EKEYREVOKED:
		audit_log(AUDIT_LINK_USE, NULL, &who, false, "the peer was rotated or revoked");
		return api_reply_error(r, 410, NULL, "this link is no longer valid (the peer's key "
				       "was changed or the peer removed); ask for a new one");
	default:
		audit_log(AUDIT_LINK_USE, NULL, &who, false, strerror(-ret));
		return api_reply_error(r, 500, NULL, "reading the link: %s", strerror(-ret));
	}
	svg = render_qr_svg(config);
	j = json_pack("{ss ss so}", "name", peer, "client_config", config, "qr_svg",
		      svg ? json_string(svg) : json_null());
	render_free(svg);
	links_config_free(config);
	/* The record is gone: this answer is the only copy of the key. */
	audit_log(AUDIT_LINK_USE, peer, &who, j != NULL, j ? NULL : "out of memory");
	return api_reply_json(r, 200, j);
}
