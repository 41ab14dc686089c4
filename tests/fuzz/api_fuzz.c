/*
 * api_fuzz.c - fuzz target for the API as the router sees a request
 * (src/api/: route.c's matching and checks, the handlers' query and JSON
 * body parsing), on a memory store with a few peers.
 *
 * The input is one request in a simple framing:
 *   line 1:  "u METHOD TARGET" or "t METHOD TARGET" (u: the admin unix
 *            socket, t: TCP), TARGET = PATH[?QUERY]
 *   then:    header lines "Name: value", up to an empty line
 *   the rest: the body (JSON, for the routes that take one)
 * Over TCP "Authorization: Bearer admin" / "Bearer viewer" authenticate,
 * "Cookie: sid=admin" is an admin session, anything else in Authorization
 * is refused.  Besides "does not crash, leaks nothing" it checks:
 *   - every answer has a status 200..599 and, but for 204, a body; a JSON
 *     one parses as an object, and an error names it in "error";
 *   - 401 carries WWW-Authenticate, 405 an Allow header;
 *   - over TCP, nothing changes without an admin: a non-GET answered 2xx
 *     carried the admin token, or the admin cookie with the server's own
 *     Origin; a 2xx GET carried a token or cookie, or was /metrics;
 *   - a private key appears only in the answers of add, rotate and config.
 * A broken invariant aborts, which libFuzzer and fuzz_main.c report.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "audit.h"
#include "control.h"
#include "crypto.h"
#include "route.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (API_MAX_BODY + 4096)
#define MAX_HEADERS 16

static struct store_key *skey;
static struct store *st;
static struct control *ctl;
static struct api api;

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "api_fuzz: invariant broken: %s%s%.200s\n", what, detail ? ": " : "",
		detail ? detail : "");
	abort();
}

static int fuzz_reload(void *ctx, const struct actor *actor, char *err, size_t errlen)
{
	if (!actor)
		fail("reload without an actor", NULL);
	return 0;
}

static int authenticate(void *ctx, const struct api_request *req, struct actor *out)
{
	const char *a = api_header(req, "Authorization"), *c = api_header(req, "Cookie");

	if (a && !strcmp(a, "Bearer admin"))
		*out = (struct actor){ .kind = ACTOR_TOKEN, .role = ROLE_ADMIN, .name = "a" };
	else if (a && !strcmp(a, "Bearer viewer"))
		*out = (struct actor){ .kind = ACTOR_TOKEN, .role = ROLE_VIEWER, .name = "v" };
	else if (a)
		return -EACCES;
	else if (c && !strcmp(c, "sid=admin"))
		*out = (struct actor){ .kind = ACTOR_USER, .role = ROLE_ADMIN, .name = "alice" };
	return 0;
}

static void setup(void)
{
	static const char *const names[] = { "phone", "laptop", "site-a" };
	struct actor me = actor_system("fuzz");
	struct control_error e;
	char err[256];

	if (!crypto_init())
		fail("crypto_init", NULL);
	model_json_wipe_on_free();
	audit_set_output(fopen("/dev/null", "w"));
	skey = store_key_new();
	if (!skey || !crypto_random(skey->bytes, sizeof(skey->bytes)) ||
	    store_create("memory:", skey, &st, err, sizeof(err)) < 0 ||
	    control_init_server(st, NULL, &e) < 0 || control_open(st, &ctl, &e) < 0)
		fail("setup", err);
	for (size_t i = 0; i < 3; i++) {
		struct peer_add_request req = { .name = names[i], .keep_key = i != 1,
						.persistent_keepalive = -1 };
		struct peer_add_result res;
		if (control_peer_add(ctl, &req, &res, &me, &e) < 0)
			fail("adding a peer", e.msg);
		control_peer_add_result_free(&res);
	}
	api.ctl = ctl;
	api.reload = fuzz_reload;
	api.authenticate = authenticate;
}

struct headers {
	const char *v[MAX_HEADERS];
	size_t n;
};

static const char *find_header(const struct api_request *req, const char *name)
{
	const struct headers *h = req->header_ctx;
	size_t nl = strlen(name);

	for (size_t i = 0; i < h->n; i++)
		if (!strncasecmp(h->v[i], name, nl) && h->v[i][nl] == ':')
			return h->v[i] + nl + 1 + (h->v[i][nl + 1] == ' ');
	return NULL;
}

/* The next line of buf (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **cur, char *end)
{
	char *line = *cur, *nl;

	if (line >= end)
		return NULL;
	nl = memchr(line, '\n', (size_t)(end - line));
	if (!nl)
		nl = end;
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	*cur = nl + 1;
	return line;
}

static bool allowed_change(const struct api_request *req)
{
	const char *a = api_header(req, "Authorization"), *c = api_header(req, "Cookie");
	const char *o = api_header(req, "Origin"), *h = api_header(req, "Host");
	char own[300];

	if (a && !strcmp(a, "Bearer admin"))
		return !o || (h && snprintf(own, sizeof(own), "http://%s", h) > 0 &&
			      !strcasecmp(o, own));
	if (c && !strcmp(c, "sid=admin") && !a && o && h) {
		snprintf(own, sizeof(own), "http://%s", h);
		return !strcasecmp(o, own);
	}
	return false;
}

static void check_reply(const struct api_request *req, const struct api_reply *r)
{
	bool get = !strcmp(req->method, "GET");

	if (r->status < 200 || r->status > 599)
		fail("status out of range", req->path);
	if (r->status == 204 ? r->body != NULL : r->body == NULL)
		fail("a 204 with a body, or another status without one", req->path);
	if (r->body && strlen(r->body) != r->len)
		fail("the body's length is wrong", req->path);
	if (r->status == 401 && !r->www_authenticate)
		fail("401 without WWW-Authenticate", req->path);
	if (r->status == 405 && !r->allow[0])
		fail("405 without Allow", req->path);
	if (r->body && !r->content_type) {
		json_error_t jerr;
		json_t *j = json_loadb(r->body, r->len, 0, &jerr);
		if (!json_is_object(j))
			fail("a JSON answer that is not an object", r->body);
		if (r->status >= 400 && !json_is_string(json_object_get(j, "error")))
			fail("an error without \"error\"", r->body);
		json_decref(j);
	}
	/* As JSON members: an error may quote the request, escaped. */
	if (r->body && strstr(r->body, "\"private_key\":") &&
	    !(r->status < 300 && ((!strcmp(req->method, "POST") &&
				   (!strcmp(req->path, "/v1/peers") ||
				    strstr(req->path, "/rotate"))))))
		fail("a private key in an answer that must not have one", req->path);
	if (r->body && strstr(r->body, "\"preshared_key\":"))
		fail("a preshared key in an answer", req->path);
	if (req->transport == API_TRANSPORT_TCP && r->status < 300) {
		const char *a = api_header(req, "Authorization"), *c = api_header(req, "Cookie");
		if (!get && !allowed_change(req))
			fail("a change over TCP without an admin from the right origin", req->path);
		if (get && !a && !(c && !strcmp(c, "sid=admin")) && strcmp(req->path, "/metrics"))
			fail("a read over TCP without credentials", req->path);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct headers h = { .n = 0 };
	struct api_request req = { .header = find_header, .header_ctx = &h };
	struct api_reply r;
	char *buf, *cur, *end, *line, *sp, *q;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size > MAX_INPUT)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	cur = buf;
	end = buf + size;
	line = next_line(&cur, end);
	if (!line || strlen(line) < 2 || (line[0] != 'u' && line[0] != 't') || line[1] != ' ')
		goto out;
	req.transport = line[0] == 'u' ? API_TRANSPORT_UNIX : API_TRANSPORT_TCP;
	req.method = line + 2;
	sp = strchr(req.method, ' ');
	if (!sp)
		goto out;
	*sp = '\0';
	req.path = sp + 1;
	q = strchr(sp + 1, '?');
	if (q) {
		*q = '\0';
		req.query = q + 1;
	}
	req.has_cred = req.transport == API_TRANSPORT_UNIX;
	while ((line = next_line(&cur, end)) && *line)
		if (h.n < MAX_HEADERS)
			h.v[h.n++] = line;
	if (cur < end) {
		req.body = cur;
		req.len = (size_t)(end - cur);
	}
	if (api_handle(&api, &req, &r) == 0)
		check_reply(&req, &r);
	api_reply_free(&r);
out:
	free(buf);
	return 0;
}
