/*
 * links_test.c - one-time links: the records (src/control/links.c) and
 * the routes (src/api/links_routes.c).
 *
 * A link opens once, then 410; an unknown or malformed token is 404; at
 * its expiry (an injected clock: links_take's now) it is 410 and its
 * record is gone; rotating or revoking the peer kills its links; of
 * several threads racing for one link exactly one gets it; the store never
 * holds the token (every record's name and plaintext is searched for it),
 * only its SHA-256; the expiry sweep deletes only expired links.  Through
 * the API: POST /v1/peers/NAME/links makes a URL on the request's origin
 * (TCP) or WEB_URL / the endpoint (unix socket), refuses a peer whose key
 * was not kept (409) and bad lifetimes (400); GET /v1/links/TOKEN needs no
 * principal, answers the config and an SVG QR code once, and every step is
 * audited without the token; api_link_attach adds a link to an add or
 * rotate answer.
 */
#include "test.h"
#include "api.h"
#include "api_internal.h"
#include "audit.h"
#include "control.h"
#include "crypto.h"
#include "links.h"
#include "route.h"
#include "store.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

static struct store_key *skey;

struct fixture {
	struct store *st;
	struct control *ctl;
	struct api api;
};

/* A fresh store with "phone" (key kept) and "laptop" (key not kept). */
static void fixture_open(struct fixture *f)
{
	struct peer_add_request req = { .name = "phone", .keep_key = true,
					.persistent_keepalive = -1 };
	struct peer_add_result res;
	struct actor me = actor_system("test");
	struct control_error e;
	char err[256];

	memset(f, 0, sizeof(*f));
	CHECK_INT(store_create("memory:", skey, &f->st, err, sizeof(err)), 0);
	CHECK_INT(control_init_server(f->st, NULL, &e), 0);
	CHECK_INT(control_open(f->st, &f->ctl, &e), 0);
	CHECK_INT(control_peer_add(f->ctl, &req, &res, &me, &e), 0);
	control_peer_add_result_free(&res);
	req.name = "laptop";
	req.keep_key = false;
	CHECK_INT(control_peer_add(f->ctl, &req, &res, &me, &e), 0);
	control_peer_add_result_free(&res);
	f->api.ctl = f->ctl;
}

static void fixture_close(struct fixture *f)
{
	control_close(f->ctl);
	store_close(f->st);
}

static const char *config_text = "[Interface]\nPrivateKey = sEcReTkEy\n";

static void test_once_and_unknown(void)
{
	char token[LINK_TOKEN_LEN + 1], peer[MODEL_NAME_MAX + 1], *config = NULL;
	struct control_error e;
	struct fixture f;
	int64_t expires = 0;

	fixture_open(&f);
	CHECK_INT(links_create(f.ctl, "phone", config_text, 3600, 1000, token, &expires, &e), 0);
	CHECK_INT(expires, 4600);
	CHECK_INT(strlen(token), LINK_TOKEN_LEN);
	CHECK_INT(links_count(f.ctl, "phone"), 1);
	CHECK_INT(links_count(f.ctl, NULL), 1);
	CHECK_INT(links_take(f.ctl, token, 2000, peer, &config), 0);
	CHECK(config && !strcmp(config, config_text));
	CHECK(!strcmp(peer, "phone"));
	links_config_free(config);
	CHECK_INT(links_count(f.ctl, NULL), 0);
	/* once */
	CHECK_INT(links_take(f.ctl, token, 2000, peer, &config), -EALREADY);
	CHECK(config == NULL);
	/* unknown and malformed tokens */
	static const char *const bad[] = {
		"AAAAAAAAAAAAAAAAAAAAAA", "", "short", "AAAAAAAAAAAAAAAAAAAAAAA",
		"AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAA/A", "../../../../server....",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(links_take(f.ctl, bad[i], 2000, peer, &config), -ENOENT);
	CHECK_INT(links_take(f.ctl, NULL, 2000, peer, &config), -ENOENT);
	/* one character off is another (unknown) link */
	CHECK_INT(links_create(f.ctl, "phone", config_text, 3600, 1000, token, &expires, &e), 0);
	token[5] = token[5] == 'A' ? 'B' : 'A';
	CHECK_INT(links_take(f.ctl, token, 2000, peer, &config), -ENOENT);
	CHECK_INT(links_count(f.ctl, NULL), 1);
	/* bad input */
	CHECK_INT(links_create(f.ctl, "../x", config_text, 60, 0, token, &expires, &e), -EINVAL);
	CHECK_INT(links_create(f.ctl, "phone", config_text, 0, 0, token, &expires, &e), -EINVAL);
	CHECK_INT(links_create(f.ctl, "phone", config_text, LINK_TTL_MAX + 1, 0, token, &expires,
			       &e), -EINVAL);
	CHECK(strstr(e.msg, "7 days") != NULL);
	CHECK_INT(links_create(f.ctl, "phone", "", 60, 0, token, &expires, &e), -EINVAL);
	fixture_close(&f);
}

static void test_ttl_text(void)
{
	static const struct { const char *text; int64_t ttl; } ok[] = {
		{ "1h", 3600 }, { "60", 60 }, { "90s", 90 }, { "30m", 1800 }, { "2d", 172800 },
		{ "1w", 604800 }, { "7d", 604800 }, { "1m", 60 },
	};
	static const char *const bad[] = {
		"", "0", "59", "59s", "8d", "2w", "1y", "h", "-1h", "1h ", " 1h", "1.5h", "1hh",
		"99999999999999999999999h", "1H", NULL,
	};
	struct control_error e;
	int64_t ttl;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ttl = 0;
		CHECK_INT(links_parse_ttl(ok[i].text, &ttl, &e), 0);
		CHECK_INT(ttl, ok[i].ttl);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		control_error_clear(&e);
		CHECK_INT(links_parse_ttl(bad[i], &ttl, &e), -EINVAL);
		CHECK(!strcmp(e.field, "ttl") && strstr(e.msg, "1m to 7d"));
	}
}

static void test_expiry(void)
{
	char token[LINK_TOKEN_LEN + 1], t2[LINK_TOKEN_LEN + 1], t3[LINK_TOKEN_LEN + 1];
	char peer[MODEL_NAME_MAX + 1], *config = NULL;
	struct control_error e;
	struct fixture f;
	int64_t expires;

	fixture_open(&f);
	/* At its expiry exactly, it is dead and its record deleted. */
	CHECK_INT(links_create(f.ctl, "phone", config_text, 600, 1000, token, &expires, &e), 0);
	CHECK_INT(links_take(f.ctl, token, 1600, peer, &config), -ETIME);
	CHECK(config == NULL && !strcmp(peer, "phone"));
	CHECK_INT(links_count(f.ctl, NULL), 0);
	CHECK_INT(links_take(f.ctl, token, 1600, peer, &config), -ETIME);
	/* A second before, it works. */
	CHECK_INT(links_create(f.ctl, "phone", config_text, 600, 1000, token, &expires, &e), 0);
	CHECK_INT(links_take(f.ctl, token, 1599, peer, &config), 0);
	links_config_free(config);
	/* The sweep deletes the expired ones only, and says whose. */
	CHECK_INT(links_create(f.ctl, "phone", config_text, 100, 1000, token, &expires, &e), 0);
	CHECK_INT(links_create(f.ctl, "laptop", config_text, 200, 1000, t2, &expires, &e), 0);
	CHECK_INT(links_create(f.ctl, "phone", config_text, 300, 1000, t3, &expires, &e), 0);
	CHECK_INT(links_expire_due(f.ctl, 1099, NULL, NULL), 0);
	CHECK_INT(links_expire_due(f.ctl, 1200, NULL, NULL), 2);
	CHECK_INT(links_count(f.ctl, NULL), 1);
	CHECK_INT(links_take(f.ctl, token, 1200, peer, &config), -ETIME);
	CHECK_INT(links_take(f.ctl, t2, 1200, peer, &config), -ETIME);
	CHECK_INT(links_take(f.ctl, t3, 1200, peer, &config), 0);
	links_config_free(config);
	fixture_close(&f);
}

static void test_dies_on_rotate_and_revoke(void)
{
	char tp[LINK_TOKEN_LEN + 1], tl[LINK_TOKEN_LEN + 1], peer[MODEL_NAME_MAX + 1];
	char *config = NULL;
	struct actor me = actor_system("test");
	struct peer_add_result res;
	struct control_error e;
	struct fixture f;
	int64_t expires, now = (int64_t)time(NULL);

	fixture_open(&f);
	CHECK_INT(links_create(f.ctl, "phone", config_text, 3600, now, tp, &expires, &e), 0);
	CHECK_INT(links_create(f.ctl, "laptop", config_text, 3600, now, tl, &expires, &e), 0);
	CHECK_INT(control_peer_rotate(f.ctl, "phone", true, &res, &me, &e), 0);
	control_peer_add_result_free(&res);
	CHECK_INT(links_count(f.ctl, "phone"), 0);
	CHECK_INT(links_count(f.ctl, "laptop"), 1);	/* the others' stay */
	CHECK_INT(links_take(f.ctl, tp, now, peer, &config), -EKEYREVOKED);
	CHECK_INT(control_peer_revoke(f.ctl, "laptop", &me, &e), 0);
	CHECK_INT(links_count(f.ctl, NULL), 0);
	CHECK_INT(links_take(f.ctl, tl, now, peer, &config), -EKEYREVOKED);
	CHECK(config == NULL);
	fixture_close(&f);
}

/* Every record's name and plaintext, searched for the token and for the
 * key name the token's hash gives. */
static void test_store_holds_only_the_hash(void)
{
	char token[LINK_TOKEN_LEN + 1], key[sizeof(LINKS_STORE_PREFIX) + 64];
	char want[sizeof(LINKS_STORE_PREFIX) + 64], hex[65];
	uint8_t hash[32];
	unsigned int hn = 0;
	struct control_error e;
	struct fixture f;
	char **keys = NULL;
	size_t n = 0;
	int64_t expires;
	bool found = false;

	fixture_open(&f);
	CHECK_INT(links_create(f.ctl, "phone", config_text, 3600, 1000, token, &expires, &e), 0);
	CHECK(EVP_Digest(token, strlen(token), hash, &hn, EVP_sha256(), NULL) && hn == 32);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	snprintf(want, sizeof(want), "links/%s", hex);
	CHECK(links_store_key(token, key) && !strcmp(key, want));
	CHECK_INT(store_list(f.st, "", &keys, &n), 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t *val = NULL;
		size_t len = 0;
		CHECK(strstr(keys[i], token) == NULL);
		if (!strcmp(keys[i], want))
			found = true;
		CHECK_INT(store_get(f.st, keys[i], &val, &len, NULL), 0);
		CHECK(memmem(val, len, token, strlen(token)) == NULL);
		CHECK(memmem(val, len, token, 8) == NULL);
		if (!strcmp(keys[i], want)) {
			CHECK(memmem(val, len, "sEcReTkEy", 9) != NULL);	/* until used */
			CHECK(memmem(val, len, "\"peer\":\"phone\"", 14) != NULL);
		}
		store_value_free(val, len);
	}
	CHECK(found);
	store_list_free(keys, n);
	fixture_close(&f);
}

struct race {
	struct control *ctl;
	const char *token;
	int ret;
};

static void *racer(void *arg)
{
	struct race *r = arg;
	char peer[MODEL_NAME_MAX + 1], *config = NULL;

	r->ret = links_take(r->ctl, r->token, 1001, peer, &config);
	links_config_free(config);
	return NULL;
}

static void test_race_once(void)
{
	char token[LINK_TOKEN_LEN + 1];
	struct control_error e;
	struct fixture f;
	struct race r[8];
	pthread_t th[8];
	int64_t expires;

	fixture_open(&f);
	for (int round = 0; round < 20; round++) {
		int winners = 0;
		CHECK_INT(links_create(f.ctl, "phone", config_text, 60, 1000, token, &expires, &e),
			  0);
		for (int i = 0; i < 8; i++) {
			r[i] = (struct race){ f.ctl, token, 1 };
			CHECK_INT(pthread_create(&th[i], NULL, racer, &r[i]), 0);
		}
		for (int i = 0; i < 8; i++) {
			pthread_join(th[i], NULL);
			winners += r[i].ret == 0;
			CHECK(r[i].ret == 0 || r[i].ret == -EALREADY);
		}
		CHECK_INT(winners, 1);
	}
	fixture_close(&f);
}

/* ------------------------------------------------------- the routes -- */

static const char *list_header(const struct api_request *req, const char *name)
{
	const char *const *h = req->header_ctx;
	size_t nl = strlen(name);

	for (; h && *h; h++)
		if (!strncasecmp(*h, name, nl) && (*h)[nl] == ':')
			return *h + nl + 2;
	return NULL;
}

static int authenticate(void *ctx, const struct api_request *req, struct actor *out)
{
	const char *a = api_header(req, "Authorization");

	if (a && !strcmp(a, "Bearer admin"))
		*out = (struct actor){ .kind = ACTOR_TOKEN, .role = ROLE_ADMIN, .name = "ci" };
	else if (a && !strcmp(a, "Bearer viewer"))
		*out = (struct actor){ .kind = ACTOR_TOKEN, .role = ROLE_VIEWER, .name = "v" };
	return 0;
}

static unsigned call(struct fixture *f, const char *method, const char *path, const char *body,
		     enum api_transport t, const char *const *headers, json_t **out)
{
	struct api_reply r;
	struct api_request req = {
		.method = method, .path = path, .body = body, .len = body ? strlen(body) : 0,
		.transport = t, .header = list_header, .header_ctx = (void *)headers,
		.has_cred = t == API_TRANSPORT_UNIX,
	};

	f->api.authenticate = authenticate;
	CHECK_INT(api_handle(&f->api, &req, &r), 0);
	if (out)
		*out = r.body ? json_loads(r.body, 0, NULL) : NULL;
	api_reply_free(&r);
	return r.status;
}

/* The token of a link URL (after "/l/"), copied into token. */
static bool token_of(json_t *j, char token[LINK_TOKEN_LEN + 1])
{
	const char *url = json_string_value(json_object_get(j, "url"));
	const char *p = url ? strstr(url, "/l/") : NULL;

	if (!p || strlen(p + 3) != LINK_TOKEN_LEN)
		return false;
	memcpy(token, p + 3, LINK_TOKEN_LEN + 1);
	return true;
}

static bool audited(const char *event, const char *peer, const char *actor, bool ok)
{
	struct audit_entry e[8];
	size_t n = audit_recent(e, 8);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].event, event) && !strcmp(e[i].peer, peer ? peer : "") &&
		    !strcmp(e[i].actor, actor) && e[i].ok == ok)
			return true;
	return false;
}

/* No audit line holds the token. */
static bool audit_clean(const char *token)
{
	static struct audit_entry e[AUDIT_RECENT_MAX];
	size_t n = audit_recent(e, AUDIT_RECENT_MAX);

	for (size_t i = 0; i < n; i++)
		if (memmem(&e[i], sizeof(e[i]), token, 8))
			return false;
	return true;
}

static void test_routes(void)
{
	static const char *const host[] = { "Host: vpn.example:8443",
					    "Authorization: Bearer admin", NULL };
	static const char *const viewer[] = { "Host: vpn.example", "Authorization: Bearer viewer",
					      NULL };
	static const char *const anon[] = { "Host: vpn.example", NULL };
	char token[LINK_TOKEN_LEN + 1], path[128];
	struct fixture f;
	json_t *j = NULL;

	fixture_open(&f);
	audit_recent_clear();
	unsetenv("WEB_URL");
	/* The CLI's way: the unix socket; no endpoint, no WEB_URL: loopback. */
	CHECK_INT(call(&f, "POST", "/v1/peers/phone/links", NULL, API_TRANSPORT_UNIX, NULL, &j),
		  201);
	CHECK(j && !strncmp(json_string_value(json_object_get(j, "url")),
			    "http://127.0.0.1:51821/l/", 25));
	CHECK(j && json_integer_value(json_object_get(j, "expires")) >= (int64_t)time(NULL) + 3599);
	CHECK(token_of(j, token));
	json_decref(j);
	CHECK(audited(AUDIT_LINK_CREATE, "phone", "uid 0", true));

	/* Opened by anyone over TCP, once. */
	snprintf(path, sizeof(path), "/v1/links/%s", token);
	CHECK_INT(call(&f, "GET", path, NULL, API_TRANSPORT_TCP, anon, &j), 200);
	CHECK(j && !strcmp(json_string_value(json_object_get(j, "name")), "phone"));
	CHECK(j && strstr(json_string_value(json_object_get(j, "client_config")), "PrivateKey = "));
	CHECK(j && json_string_value(json_object_get(j, "qr_svg")) &&
	      strstr(json_string_value(json_object_get(j, "qr_svg")), "<svg"));
	json_decref(j);
	CHECK(audited(AUDIT_LINK_USE, "phone", "one-time link", true));
	CHECK_INT(call(&f, "GET", path, NULL, API_TRANSPORT_TCP, anon, &j), 410);
	CHECK(j && strstr(json_string_value(json_object_get(j, "error")), "used already"));
	json_decref(j);
	CHECK(audited(AUDIT_LINK_USE, NULL, "one-time link", false));
	CHECK_INT(call(&f, "GET", "/v1/links/AAAAAAAAAAAAAAAAAAAAAA", NULL, API_TRANSPORT_TCP,
		       anon, NULL), 404);
	CHECK_INT(call(&f, "GET", "/v1/links/..", NULL, API_TRANSPORT_TCP, anon, NULL), 404);
	CHECK_INT(call(&f, "POST", path, NULL, API_TRANSPORT_TCP, anon, NULL), 405);
	/* A token is base64url: one in 32 starts with '-' or '_', which no
	 * peer name may.  Such links open too (they were refused as "not a
	 * name in the path"). */
	{
		int opened = 0, tries = 0;

		while (opened < 2 && tries++ < 2000) {
			int64_t exp;
			struct control_error e;

			if (links_create(f.ctl, "phone", config_text, 3600, (int64_t)time(NULL), token,
					 &exp, &e) != 0)
				break;
			if (token[0] != '-' && token[0] != '_')
				continue;
			snprintf(path, sizeof(path), "/v1/links/%s", token);
			CHECK_INT(call(&f, "GET", path, NULL, API_TRANSPORT_TCP, anon, NULL), 200);
			opened++;
		}
		CHECK_INT(opened, 2);
	}
	CHECK_INT(call(&f, "GET", "/v1/links/-AAAAAAAAAAAAAAAAAAAAAAA", NULL, API_TRANSPORT_TCP,
		       anon, NULL), 404);	/* too long for a token */
	CHECK_INT(call(&f, "GET", "/v1/links/-AA.A", NULL, API_TRANSPORT_TCP, anon, NULL), 404);

	/* Over TCP the base is the request's origin; ttl in seconds. */
	CHECK_INT(call(&f, "POST", "/v1/peers/phone/links", "{\"ttl\":120}", API_TRANSPORT_TCP,
		       host, &j), 201);
	CHECK(j && !strncmp(json_string_value(json_object_get(j, "url")),
			    "http://vpn.example:8443/l/", 26));
	CHECK(j && json_integer_value(json_object_get(j, "expires")) <= (int64_t)time(NULL) + 120);
	CHECK(token_of(j, token));
	json_decref(j);
	CHECK(audited(AUDIT_LINK_CREATE, "phone", "ci", true));
	/* WEB_URL for the CLI's links. */
	setenv("WEB_URL", "https://vpn.example.com/", 1);
	CHECK_INT(call(&f, "POST", "/v1/peers/phone/links", "{\"ttl\":\"2d\"}", API_TRANSPORT_UNIX,
		       NULL, &j), 201);
	CHECK(j && !strncmp(json_string_value(json_object_get(j, "url")),
			    "https://vpn.example.com/l/", 26));
	json_decref(j);
	unsetenv("WEB_URL");

	/* Refused: a viewer, nobody, a key not kept, bad lifetimes. */
	CHECK_INT(call(&f, "POST", "/v1/peers/phone/links", NULL, API_TRANSPORT_TCP, viewer,
		       NULL), 403);
	CHECK_INT(call(&f, "POST", "/v1/peers/phone/links", NULL, API_TRANSPORT_TCP, anon, NULL),
		  401);
	CHECK_INT(call(&f, "POST", "/v1/peers/laptop/links", NULL, API_TRANSPORT_UNIX, NULL, &j),
		  409);
	CHECK(j && strstr(json_string_value(json_object_get(j, "error")), "not kept"));
	json_decref(j);
	CHECK(audited(AUDIT_LINK_CREATE, "laptop", "uid 0", false));
	CHECK_INT(call(&f, "POST", "/v1/peers/nosuch/links", NULL, API_TRANSPORT_UNIX, NULL, NULL),
		  404);
	static const char *const bad[] = { "{\"ttl\":\"8d\"}", "{\"ttl\":59}", "{\"ttl\":\"x\"}",
					   "{\"ttl\":true}", "{\"tll\":\"1h\"}", "[1]", "{" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(call(&f, "POST", "/v1/peers/phone/links", bad[i], API_TRANSPORT_UNIX,
			       NULL, NULL), 400);

	/* Rotation kills the link made above over TCP: 410. */
	CHECK_INT(call(&f, "POST", "/v1/peers/phone/rotate", "{\"keep_key\":true}",
		       API_TRANSPORT_UNIX, NULL, NULL), 200);
	snprintf(path, sizeof(path), "/v1/links/%s", token);
	CHECK_INT(call(&f, "GET", path, NULL, API_TRANSPORT_TCP, anon, NULL), 410);
	CHECK_INT(links_count(f.ctl, NULL), 0);
	CHECK(audit_clean(token));
	fixture_close(&f);
}

static void test_attach(void)
{
	struct fixture f;
	struct actor me = { .kind = ACTOR_USER, .role = ROLE_ADMIN, .name = "alice",
			    .via = "web" };
	static const char *const host[] = { "Host: vpn.example", NULL };
	struct api_request req = { .method = "POST", .path = "/v1/peers",
				   .transport = API_TRANSPORT_TCP, .header = list_header,
				   .header_ctx = (void *)host, .actor = &me };
	struct api_reply r;
	json_t *answer = json_object(), *spec = json_pack("{ss}", "ttl", "2h");
	char token[LINK_TOKEN_LEN + 1], peer[MODEL_NAME_MAX + 1], *config = NULL;

	fixture_open(&f);
	memset(&r, 0, sizeof(r));
	/* none asked: nothing added */
	CHECK_INT(api_link_attach(&f.api, &req, answer, "laptop", config_text, NULL, &r), 0);
	CHECK(json_object_get(answer, "link") == NULL);
	CHECK_INT(api_link_attach(&f.api, &req, answer, "laptop", config_text, json_false(), &r),
		  0);
	CHECK(json_object_get(answer, "link") == NULL);
	/* a key not kept is fine here: the caller has it */
	CHECK_INT(api_link_attach(&f.api, &req, answer, "laptop", config_text, spec, &r), 0);
	json_t *link = json_object_get(answer, "link");
	CHECK(link && !strncmp(json_string_value(json_object_get(link, "url")),
			       "http://vpn.example/l/", 21));
	CHECK(token_of(link, token));
	CHECK_INT(links_take(f.ctl, token, (int64_t)time(NULL) + 7199, peer, &config), 0);
	CHECK(config && !strcmp(config, config_text) && !strcmp(peer, "laptop"));
	links_config_free(config);
	json_decref(spec);
	spec = json_pack("{ss}", "ttl", "1y");
	CHECK_INT(api_link_attach(&f.api, &req, answer, "laptop", config_text, spec, &r), -EINVAL);
	CHECK_INT(r.status, 400);
	api_reply_free(&r);
	json_decref(spec);
	spec = json_string("1h");
	CHECK_INT(api_link_attach(&f.api, &req, answer, "laptop", config_text, spec, &r), -EINVAL);
	api_reply_free(&r);
	json_decref(spec);
	json_decref(answer);
	fixture_close(&f);
}

int main(void)
{
	CHECK(crypto_init());
	model_json_wipe_on_free();
	audit_set_output(fopen("/dev/null", "w"));
	skey = store_key_new();
	CHECK(skey && crypto_random(skey->bytes, sizeof(skey->bytes)));
	RUN(test_once_and_unknown);
	RUN(test_ttl_text);
	RUN(test_expiry);
	RUN(test_dies_on_rotate_and_revoke);
	RUN(test_store_holds_only_the_hash);
	RUN(test_race_once);
	RUN(test_routes);
	RUN(test_attach);
	store_key_free(skey);
	TEST_EXIT();
}
