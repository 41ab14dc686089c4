/*
 * firewall_routes.c - PUT /v1/peers/:name/firewall (firewall_routes.h):
 * the per-client firewall as the web UI and scripts set it.  The rules are
 * parsed by firewall_rule.c, stored by the control layer, and carried to
 * the privileged part by the apply (server.c), like any peer change.
 * Refused and failed changes are audited here, stored ones by the
 * observer.
 */
#include "firewall_routes.h"
#include "api_internal.h"
#include "audit.h"
#include "firewall_rule.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AUDIT_PEER_FIREWALL "peer.firewall"

static const char *const firewall_fields[] = { "allow", NULL };

/* The body's "allow": null (*set false) or a list of rule strings.  false
 * after a 400. */
static bool body_rules(struct api_reply *r, json_t *o, const char *name, bool *set,
		       struct firewall_rule **rules, size_t *n)
{
	json_t *allow = json_object_get(o, "allow");
	struct control_error e;
	json_t *wrapped;
	int ret;

	if (!allow) {
		api_reply_error(r, 400, "allow", "field \"allow\" is required: a list of rules "
				"(" FIREWALL_RULE_FORM ") or null to lift the restriction");
		return false;
	}
	if (!json_is_null(allow) && !json_is_array(allow)) {
		api_reply_error(r, 400, "allow", "field \"allow\" must be a list of rules or null");
		return false;
	}
	control_error_clear(&e);
	wrapped = json_is_null(allow) ? NULL : json_pack("{sO}", "allow", allow);
	if (!json_is_null(allow) && !wrapped) {
		api_reply_error(r, 500, NULL, "out of memory");
		return false;
	}
	ret = firewall_rules_from_json(wrapped, NULL, set, rules, n, &e);
	json_decref(wrapped);
	if (ret < 0) {
		if (ret == -ENOMEM)
			api_reply_error(r, 500, NULL, "out of memory");
		else
			api_reply_error(r, 400, "allow", "peer \"%s\": %s", name, e.msg);
		return false;
	}
	return true;
}

int api_set_peer_firewall(struct api *api, const struct api_request *req, struct api_reply *r)
{
	const char *name = api_param(req, "name");
	struct firewall_rule *rules = NULL;
	struct peer_record rec;
	struct control_error e;
	size_t n = 0;
	bool set = false;
	char err[512];
	json_t *o, *v;
	int ret;

	o = api_body_object(r, req->body, req->len, false);
	if (!o)
		return 0;
	if (!api_only_known(r, o, firewall_fields) || !body_rules(r, o, name, &set, &rules, &n)) {
		audit_log(AUDIT_PEER_FIREWALL, name, req->actor, false, "refused: a bad body");
		json_decref(o);
		return 0;
	}
	json_decref(o);
	control_error_clear(&e);
	ret = control_peer_set_firewall(api->ctl, name, set, rules, n, req->actor, &e);
	free(rules);
	if (ret < 0) {
		audit_log(AUDIT_PEER_FIREWALL, name, req->actor, false,
			  e.msg[0] ? e.msg : strerror(-ret));
		return api_reply_control_error(r, ret, &e);
	}
	/* The store says restricted: if the rules could not be installed the
	 * caller must know, not just the log. */
	if ((ret = api_apply(api, err, sizeof(err))) < 0) {
		audit_log(AUDIT_PEER_FIREWALL, name, req->actor, false, err);
		return api_reply_error(r, 500, NULL, "peer \"%s\": firewall stored, but %s", name,
				       err);
	}
	api_refresh(api);
	ret = control_peer_get(api->ctl, name, &rec, &e);
	if (ret < 0)
		return api_reply_control_error(r, ret, &e);
	v = api_peer_view(api, &rec, (int64_t)time(NULL));
	model_peer_free(&rec);
	if (!v)
		return api_reply_error(r, 500, NULL, "out of memory");
	return api_reply_json(r, 200, v);
}
