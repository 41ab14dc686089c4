/*
 * web_assets.h - the web UI's files (web/ at the repository root), built
 * into the binary: tools/embed.c turns them into $(O)/gen/web_assets.c at
 * build time (a table and the lookup below), so the server never opens a
 * file to serve its UI and there is no path to traverse.
 *
 * Routes (src/api/, GET only, no authentication: the pages hold no data,
 * they fetch it from /v1 with the session cookie):
 *   /               -> web_asset_find("index.html")
 *   /assets/NAME    -> web_asset_find(NAME)        (NULL: 404)
 *   /l/TOKEN        -> web_asset_find("link.html") (the one-time link page;
 *                      the token is read by link.js, never by the server here)
 * Each answer carries Content-Type from the asset, ETag (304 on a matching
 * If-None-Match), Cache-Control "no-cache" (revalidate: the ETag changes
 * with the content), and the headers below.
 */
#ifndef ZWG_WEB_ASSETS_H
#define ZWG_WEB_ASSETS_H

#include <stddef.h>

/* The UI's policy: no inline script or style, nothing from elsewhere; QR
 * codes come as data: SVG images. */
#define WEB_UI_CSP "default-src 'self'; img-src 'self' data:; style-src 'self'; " \
		   "script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; " \
		   "frame-ancestors 'none'"

struct web_asset {
	const char *name;		/* "app.js": [A-Za-z0-9._-], no '/' */
	const char *content_type;	/* "text/javascript; charset=utf-8" */
	const unsigned char *data;	/* len bytes, followed by a NUL */
	size_t len;
	const char *etag;		/* "\"0123456789abcdef\"" (quotes included):
					 * SHA-256 prefix of data */
};

/* The asset with exactly that name, or NULL (also for NULL, "", "../x",
 * "a/b": names never hold a '/'). */
const struct web_asset *web_asset_find(const char *name);
/* The i-th asset in name order, NULL past the last (for tests and for
 * listing). */
const struct web_asset *web_asset_at(size_t i);

#endif
