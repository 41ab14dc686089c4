/*
 * api_internal.h - what the API's files share (reply.c, body.c and the
 * handlers): building replies, the HTTP status of a control-layer error,
 * reading JSON bodies, the peer view.  Private to src/api/.
 */
#ifndef ZWG_API_INTERNAL_H
#define ZWG_API_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "control.h"
#include "route.h"

struct peer_record;

/* ---- reply.c ---- */
/* Takes j; NULL j is "out of memory".  0 or -ENOMEM. */
int api_reply_json(struct api_reply *r, unsigned status, json_t *j);
/* The HTTP status of a control-layer -errno. */
unsigned api_status_of(int err);
int api_reply_control_error(struct api_reply *r, int err, const struct control_error *e);
/* Monotonic nanoseconds, for latencies. */
uint64_t api_now_ns(void);

/* ---- body.c ---- */
/* The body as a JSON object; an empty body is {} when allow_empty.  NULL
 * after filling r with a 400. */
json_t *api_body_object(struct api_reply *r, const char *body, size_t len, bool allow_empty);
/* Every member of o must be one of known (NULL-terminated).  false after a
 * 400 naming the first unknown one. */
bool api_only_known(struct api_reply *r, json_t *o, const char *const *known);
bool api_opt_string(struct api_reply *r, json_t *o, const char *field, const char **out);
bool api_opt_bool(struct api_reply *r, json_t *o, const char *field, bool *out);
/* A list of strings as a JSON array or one comma-separated string; *items
 * point into o or *buf (free both). */
bool api_opt_list(struct api_reply *r, json_t *o, const char *field, const char ***items,
		  size_t *n, char **buf);

/* ---- accounts_routes.c ---- */
/* Sets j's "qr_svg" to the QR code of text as an SVG document
 * (render_qr_svg), or null when there is no text or it does not fit. */
void api_set_qr_svg(json_t *j, const char *text);
int api_login(struct api *api, const struct api_request *req, struct api_reply *r);
int api_logout(struct api *api, const struct api_request *req, struct api_reply *r);
int api_get_me(struct api *api, const struct api_request *req, struct api_reply *r);
int api_me_password(struct api *api, const struct api_request *req, struct api_reply *r);
int api_me_totp_begin(struct api *api, const struct api_request *req, struct api_reply *r);
int api_me_totp_confirm(struct api *api, const struct api_request *req, struct api_reply *r);
int api_me_totp_disable(struct api *api, const struct api_request *req, struct api_reply *r);
int api_me_sessions(struct api *api, const struct api_request *req, struct api_reply *r);
int api_me_session_revoke(struct api *api, const struct api_request *req, struct api_reply *r);
int api_list_tokens(struct api *api, const struct api_request *req, struct api_reply *r);
int api_add_token(struct api *api, const struct api_request *req, struct api_reply *r);
int api_revoke_token(struct api *api, const struct api_request *req, struct api_reply *r);
int api_list_users(struct api *api, const struct api_request *req, struct api_reply *r);
int api_add_user(struct api *api, const struct api_request *req, struct api_reply *r);
int api_remove_user(struct api *api, const struct api_request *req, struct api_reply *r);
int api_set_user_role(struct api *api, const struct api_request *req, struct api_reply *r);

/* ---- assets_routes.c: the web UI's files (web_assets.h) ---- */
int api_web_index(struct api *api, const struct api_request *req, struct api_reply *r);
int api_web_asset(struct api *api, const struct api_request *req, struct api_reply *r);
int api_web_link_page(struct api *api, const struct api_request *req, struct api_reply *r);

/* ---- links_routes.c ---- */
/* POST /v1/peers and .../rotate with "link": spec ({"ttl":"1h"}, true, or
 * NULL/false/null for none) makes a one-time link to config and sets
 * answer's "link" to {"url","expires","peer"}.  0 (also when no link was
 * asked for), or -errno after filling r with the error. */
int api_link_attach(struct api *api, const struct api_request *req, json_t *answer,
		    const char *peer, const char *config, json_t *spec, struct api_reply *r);
/* Whether spec is a valid "link" field (or none), before anything is
 * changed; false after a 400 naming it. */
bool api_link_spec_ok(struct api_reply *r, json_t *spec);

/* ---- peers.c ---- */
/* A peer's view: the record without secrets, with its live values. */
json_t *api_peer_view(struct api *api, const struct peer_record *rec, int64_t now);
void api_refresh(struct api *api);
/* Applies the stored state to the device.  0, or -errno with err set. */
int api_apply(struct api *api, char *err, size_t errlen);

#endif
