/*
 * assets_routes.c - the web UI's files (web_assets.h, built in from web/):
 * GET / (index.html), GET /assets/NAME, GET /l/TOKEN (link.html: the
 * one-time link page; its script reads the token, the server does not
 * here).  No sign-in: the pages hold no data, they fetch it from /v1 with
 * the session cookie.  Served on both transports (harmless on the unix
 * socket, and curl --unix-socket can fetch them).
 *
 * Headers: the asset's Content-Type, its ETag (304 when If-None-Match
 * lists it or is "*"), Cache-Control "no-cache" (revalidate every time:
 * the ETag follows the content) and the UI's Content-Security-Policy,
 * WEB_UI_CSP, in place of the JSON one; nosniff, no-referrer and the
 * frame denial stay from api_security_headers.
 */
#include "api_internal.h"
#include "audit.h"
#include "web_assets.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* Whether an If-None-Match value ("a", W/"b", *) names etag. */
static bool etag_matches(const char *inm, const char *etag)
{
	size_t el = strlen(etag);

	if (!inm)
		return false;
	while (*inm) {
		size_t len;

		inm += strspn(inm, " \t,");
		if (!strncmp(inm, "W/", 2))
			inm += 2;
		len = strcspn(inm, " \t,");
		if ((len == 1 && *inm == '*') || (len == el && !memcmp(inm, etag, el)))
			return true;
		inm += len;
	}
	return false;
}

static int serve(const struct api_request *req, struct api_reply *r, const char *name)
{
	const struct web_asset *a = web_asset_find(name);

	if (!a) {
		/* A name the UI never asks for: a probe, logged (rate-limited). */
		char src[INET6_ADDRSTRLEN];

		audit_refusal(AUDIT_REQUEST_REFUSED, NULL, req->actor,
			      audit_source_text(&req->remote, req->remote_len, src, sizeof(src)),
			      req->method, req->path, 404, "no such file in the web UI");
		return api_reply_error(r, 404, NULL, "no such file \"%.64s\" in the web UI", name);
	}
	r->content_type = a->content_type;
	if (!api_reply_header(r, "ETag", a->etag) ||
	    !api_reply_header(r, "Cache-Control", "no-cache") ||
	    !api_reply_header(r, "Content-Security-Policy", WEB_UI_CSP))
		return api_reply_error(r, 500, NULL, "a header does not fit");
	if (etag_matches(api_header(req, "If-None-Match"), a->etag)) {
		r->status = 304;
		return 0;
	}
	r->body = malloc(a->len + 1);
	if (!r->body) {
		api_reply_free(r);
		return api_reply_error(r, 500, NULL, "out of memory");
	}
	memcpy(r->body, a->data, a->len + 1);
	r->len = a->len;
	r->status = 200;
	return 0;
}

int api_web_index(struct api *api, const struct api_request *req, struct api_reply *r)
{
	return serve(req, r, "index.html");
}

int api_web_asset(struct api *api, const struct api_request *req, struct api_reply *r)
{
	return serve(req, r, api_param(req, "name"));
}

int api_web_link_page(struct api *api, const struct api_request *req, struct api_reply *r)
{
	return serve(req, r, "link.html");
}
