/*
 * api.h - the admin API (docs/server.md, "Admin API"): HTTP/1.1 + JSON on
 * a unix socket (mode 0660, its directory 0750), every path under /v1.
 * It is the API the CLI uses today and the web UI next.
 *
 *   GET    /v1/server                 server view (no private key)
 *   GET    /v1/peers                  {"peers":[peer view...]}
 *   POST   /v1/peers                  201 {"peer","client_config","private_key","qr"}
 *   GET    /v1/peers/NAME             peer view
 *   GET    /v1/peers/NAME/config      {"client_config","qr"} if the key was kept, else 409
 *   POST   /v1/peers/NAME/enable      peer view
 *   POST   /v1/peers/NAME/disable     peer view
 *   POST   /v1/peers/NAME/rotate      {"keep_key"?} -> like POST /v1/peers (200)
 *   DELETE /v1/peers/NAME             204 (revoke)
 *   GET    /v1/stats                  {"interval":10,"peers":{"NAME":[{"t","rx","tx"}...]}}
 *   POST   /v1/reload                 re-read the store and apply it (after
 *                                     another process wrote the store)
 * Errors: {"error":"message for a person","field":"json field"|null} with
 * 400 bad input, 404 unknown peer or path, 405 wrong method, 409 duplicate
 * name / key not kept, 413 body over 64 KiB, 507 subnet (or disk) full,
 * 500 store or device failure.
 *
 * The handlers are one function, api_handle(), that takes the method, the
 * (already percent-decoded) path and the body and returns the status and
 * the JSON text, so they are tested without a socket (tests/unit/
 * api_test.c).  api_http.h puts them behind libmicrohttpd.
 *
 * A change goes to the control layer first (which stores it), then to the
 * device through the apply callback; an answer holding a private key is
 * wiped when freed.  Relies on control.h, stats.h, audit.h and jansson.
 */
#ifndef ZWG_API_H
#define ZWG_API_H

#include <stdbool.h>
#include <stddef.h>

#define API_MAX_BODY (64 * 1024)

struct control;
struct stats;

struct api {
	struct control *ctl;
	struct stats *stats;		/* NULL: views show no live values */
	/* Makes the device match the store (control_desired_config, diff,
	 * apply).  0 or -errno with a message in err.  NULL: nothing to do. */
	int (*apply)(void *ctx, char *err, size_t errlen);
	/* Refreshes the live statistics before views are built; may be NULL. */
	int (*refresh)(void *ctx);
	/* Re-reads the store (POST /v1/reload); may be NULL (then 405). */
	int (*reload)(void *ctx, char *err, size_t errlen);
	void *ctx;
};

struct api_reply {
	unsigned status;
	char *body;			/* JSON text, NUL-terminated; NULL for 204 */
	size_t len;
};

/* Handles one request.  body may be NULL (len 0).  Always fills reply
 * (500 with a message when out of memory).  0, or -ENOMEM when even the
 * error could not be built (reply->body NULL, status 500). */
int api_handle(struct api *api, const char *method, const char *path, const char *body,
	       size_t len, struct api_reply *reply);
/* Wipes (it may hold a key) and frees the body. */
void api_reply_free(struct api_reply *reply);
/* Fills r with an error answer {"error":message,"field":field|null}.  0 or
 * -ENOMEM. */
int api_reply_error(struct api_reply *r, unsigned status, const char *field,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
