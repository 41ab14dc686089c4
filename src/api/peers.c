/*
 * peers.c - the peer routes (route.h): list, add, show, update (PATCH),
 * revoke, config, enable, disable, rotate.
 *
 * Handlers run on a libmicrohttpd thread.  They never touch the device
 * themselves: a change goes through the control layer (which stores it,
 * serialises with its own mutex and tells the observer, with the
 * request's actor, so the audit log says who), then through api->apply,
 * which reaches the device through device_call.  No lock is held across
 * either call.  A refused or failed change is audited here, with the
 * actor; a stored one by the observer (server.c).
 *
 * Secrets: the answers of add, rotate and config hold a client private
 * key; they are built by jansson (whose frees wipe, see
 * model_json_wipe_on_free) and api_reply_free() wipes the text; their
 * routes are ROUTE_SECRET.  Keys are never logged nor put in an audit
 * line.
 */
#include "api_internal.h"
#include "audit.h"
#include "firewall_rule.h"
#include "render.h"
#include "stats.h"
#include "textbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

json_t *api_peer_view(struct api *api, const struct peer_record *rec, int64_t now)
{
	json_t *v = model_peer_to_json(rec, 0);
	struct stats_live live = { 0 };
	bool have;

	if (!v)
		return NULL;
	/* The view is the record without secrets, whatever the record held. */
	json_object_del(v, "private_key");
	json_object_del(v, "preshared_key");
	have = api->stats && stats_get(api->stats, rec->public_key, &live);
	json_object_set_new(v, "endpoint",
			    have && live.endpoint[0] ? json_string(live.endpoint) : json_null());
	json_object_set_new(v, "latest_handshake", json_integer(live.latest_handshake));
	json_object_set_new(v, "rx_bytes", json_integer((json_int_t)live.rx_bytes));
	json_object_set_new(v, "tx_bytes", json_integer((json_int_t)live.tx_bytes));
	json_object_set_new(v, "online", json_boolean(have && stats_online(&live, now)));
	return v;
}

void api_refresh(struct api *api)
{
	if (api->refresh)
		api->refresh(api->ctx);
}

int api_apply(struct api *api, char *err, size_t errlen)
{
	err[0] = '\0';
	if (!api->apply)
		return 0;
	return api->apply(api->ctx, err, errlen);
}

/* Times a control-layer write (it writes the store) for /metrics. */
#define TIMED_WRITE(api, call) ({					\
	uint64_t t0_ = api_now_ns();					\
	int ret_ = (call);						\
	api_latency_observe(&(api)->store_latency, api_now_ns() - t0_);	\
	ret_;								\
})

/* What a peer's view holds, in its order: the names ?fields= may pick. */
static const char *const peer_view_fields[] = {
	"name", "public_key", "ipv4", "ipv6", "routes", "dns", "allowed_ips",
	"persistent_keepalive", "enabled", "created", "expires", "disabled_reason", "key_kept",
	"endpoint", "latest_handshake", "rx_bytes", "tx_bytes", "online", "firewall", NULL
};

#define MAX_FIELDS 19

/* "name,ipv4" -> field names (pointing into peer_view_fields); n = 0 for
 * all of them.  False (the reply set, naming "fields") if one is unknown. */
static bool parse_fields(struct api_reply *r, const char *text, const char **fields, size_t *n)
{
	*n = 0;
	while (text && *text) {
		size_t len = strcspn(text, ",");
		size_t k;

		for (k = 0; peer_view_fields[k]; k++)
			if (strlen(peer_view_fields[k]) == len &&
			    !strncmp(peer_view_fields[k], text, len))
				break;
		if (len && !peer_view_fields[k]) {
			char known[400] = "";
			for (size_t i = 0; peer_view_fields[i]; i++) {
				strcat(known, i ? ", " : "");
				strcat(known, peer_view_fields[i]);
			}
			api_reply_error(r, 400, "fields", "unknown field \"%.*s\" in fields (known "
					"fields: %s)", (int)(len < 64 ? len : 64), text, known);
			return false;
		}
		if (len && *n < MAX_FIELDS)
			fields[(*n)++] = peer_view_fields[k];
		text += len + (text[len] == ',');
	}
	return true;
}

/* A JSON string: quotes, backslashes and control characters escaped;
 * other bytes (UTF-8) as they are, as jansson writes them. */
static void text_string(struct textbuf *tb, const char *v)
{
	const char *run = v;

	textbuf_printf(tb, "\"");
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		textbuf_printf(tb, "%.*s", (int)(v - run), run);
		switch (c) {
		case '"': textbuf_printf(tb, "\\\""); break;
		case '\\': textbuf_printf(tb, "\\\\"); break;
		case '\b': textbuf_printf(tb, "\\b"); break;
		case '\f': textbuf_printf(tb, "\\f"); break;
		case '\n': textbuf_printf(tb, "\\n"); break;
		case '\r': textbuf_printf(tb, "\\r"); break;
		case '\t': textbuf_printf(tb, "\\t"); break;
		default: textbuf_printf(tb, "\\u%04x", c); break;
		}
		run = v + 1;
	}
	textbuf_printf(tb, "%s\"", run);
}

/*
 * One field of a peer's view as "name":value, preceded by a comma unless
 * first; nothing for a field the peer lacks (ipv6, dns, allowed_ips,
 * disabled_reason).  The same values peer_view() builds: api_test checks
 * that every entry of the list equals the peer's own view.
 */
static void text_field(struct textbuf *tb, const char *f, const struct peer_record *p,
		       const struct stats_live *live, bool have, int64_t now, bool *first)
{
	char a[MODEL_PREFIX_STRLEN], key[KEY_BASE64_LEN + 1];

#define OPEN() (textbuf_printf(tb, "%s\"%s\":", *first ? "" : ",", f), *first = false)
	if (!strcmp(f, "name")) {
		OPEN();
		text_string(tb, p->name);
	} else if (!strcmp(f, "public_key")) {
		key_to_base64(key, p->public_key);
		OPEN();
		text_string(tb, key);
	} else if (!strcmp(f, "ipv4")) {
		inet_ntop(AF_INET, &p->ipv4, a, sizeof(a));
		OPEN();
		text_string(tb, a);
	} else if (!strcmp(f, "ipv6")) {
		if (!p->has_ipv6)
			return;
		inet_ntop(AF_INET6, &p->ipv6, a, sizeof(a));
		OPEN();
		text_string(tb, a);
	} else if (!strcmp(f, "routes")) {
		OPEN();
		textbuf_printf(tb, "[");
		for (size_t i = 0; i < p->n_routes; i++) {
			model_format_prefix(&p->routes[i], a, sizeof(a));
			textbuf_printf(tb, "%s", i ? "," : "");
			text_string(tb, a);
		}
		textbuf_printf(tb, "]");
	} else if (!strcmp(f, "dns") || !strcmp(f, "allowed_ips")) {
		const char *v = f[0] == 'd' ? p->dns : p->allowed_ips;
		if (!v)
			return;
		OPEN();
		text_string(tb, v);
	} else if (!strcmp(f, "persistent_keepalive")) {
		OPEN();
		textbuf_printf(tb, "%u", (unsigned)p->persistent_keepalive);
	} else if (!strcmp(f, "enabled")) {
		OPEN();
		textbuf_printf(tb, "%s", p->enabled ? "true" : "false");
	} else if (!strcmp(f, "created") || !strcmp(f, "expires")) {
		OPEN();
		textbuf_printf(tb, "%lld", (long long)(f[0] == 'c' ? p->created : p->expires));
	} else if (!strcmp(f, "disabled_reason")) {
		if (p->enabled)
			return;
		OPEN();
		text_string(tb, p->disabled_reason);
	} else if (!strcmp(f, "key_kept")) {
		OPEN();
		textbuf_printf(tb, "%s", p->has_private_key || p->key_kept ? "true" : "false");
	} else if (!strcmp(f, "endpoint")) {
		OPEN();
		if (have && live->endpoint[0])
			text_string(tb, live->endpoint);
		else
			textbuf_printf(tb, "null");
	} else if (!strcmp(f, "latest_handshake")) {
		OPEN();
		textbuf_printf(tb, "%lld", (long long)live->latest_handshake);
	} else if (!strcmp(f, "rx_bytes") || !strcmp(f, "tx_bytes")) {
		OPEN();
		/* as json_integer((json_int_t)...) writes it */
		textbuf_printf(tb, "%lld", (long long)(f[0] == 'r' ? live->rx_bytes : live->tx_bytes));
	} else if (!strcmp(f, "online")) {
		OPEN();
		textbuf_printf(tb, "%s", have && stats_online(live, now) ? "true" : "false");
	} else if (!strcmp(f, "firewall")) {
		char rule[FIREWALL_RULE_STRLEN];

		OPEN();
		if (!p->has_firewall) {
			textbuf_printf(tb, "null");
			return;
		}
		textbuf_printf(tb, "{\"allow\":[");
		for (size_t i = 0; i < p->n_firewall; i++) {
			firewall_rule_format(&p->firewall[i], rule, sizeof(rule));
			textbuf_printf(tb, "%s", i ? "," : "");
			text_string(tb, rule);
		}
		textbuf_printf(tb, "]}");
	}
#undef OPEN
}

static void text_peer_view(struct textbuf *tb, struct api *api, const struct peer_record *p,
			   int64_t now, const char **fields, size_t n_fields)
{
	struct stats_live live = { 0 };
	bool have = api->stats && stats_get(api->stats, p->public_key, &live), first = true;

	textbuf_printf(tb, "{");
	if (n_fields)
		for (size_t i = 0; i < n_fields; i++)
			text_field(tb, fields[i], p, &live, have, now, &first);
	else
		for (size_t i = 0; peer_view_fields[i]; i++)
			text_field(tb, peer_view_fields[i], p, &live, have, now, &first);
	textbuf_printf(tb, "}");
}

/* The query of GET /v1/peers: fields=NAME,NAME... and nothing else. */
static bool parse_query(struct api_reply *r, const char *query, char *fields, size_t fieldslen,
			bool *have)
{
	*have = false;
	while (query && *query) {
		size_t len = strcspn(query, "&");
		if (len >= 7 && !strncmp(query, "fields=", 7)) {
			if (len - 7 >= fieldslen) {
				api_reply_error(r, 400, "fields", "the fields list is longer than %zu "
						"bytes", fieldslen - 1);
				return false;
			}
			snprintf(fields, fieldslen, "%.*s", (int)(len - 7), query + 7);
			*have = true;
		} else if (len) {
			api_reply_error(r, 400, NULL, "unknown query parameter \"%.*s\" (GET "
					"/v1/peers takes fields=NAME,NAME...)",
					(int)(len < 64 ? len : 64), query);
			return false;
		}
		query += len + (query[len] == '&');
	}
	return true;
}

/*
 * The list is written as text straight from the records: with 10,000
 * peers, building a jansson tree of the views and dumping it cost ten
 * times more than everything else in the request.
 */
int api_list_peers(struct api *api, const struct api_request *req, struct api_reply *r)
{
	struct peer_record *peers = NULL;
	const char *fields[MAX_FIELDS];
	char fields_text[512] = "";
	size_t n = 0, n_fields = 0;
	int64_t now = (int64_t)time(NULL);
	struct textbuf tb = { 0 };
	bool have_fields;
	int ret;

	if (!parse_query(r, req->query, fields_text, sizeof(fields_text), &have_fields))
		return 0;
	if (have_fields && !parse_fields(r, fields_text, fields, &n_fields))
		return 0;
	api_refresh(api);
	ret = control_peer_list(api->ctl, &peers, &n);
	if (ret < 0)
		return api_reply_error(r, api_status_of(ret), NULL, "listing peers: %s",
				       strerror(-ret));
	textbuf_printf(&tb, "{\"peers\":[");
	for (size_t i = 0; i < n && !tb.failed; i++) {
		textbuf_printf(&tb, "%s", i ? "," : "");
		text_peer_view(&tb, api, &peers[i], now, fields, n_fields);
	}
	textbuf_printf(&tb, "]}");
	model_peer_array_free(peers, n);
	r->body = textbuf_finish(&tb, &r->len);
	if (!r->body)
		return api_reply_error(r, 500, NULL, "out of memory");
	r->status = 200;
	return 0;
}

static int show_peer(struct api *api, const char *name, struct api_reply *r, unsigned status)
{
	struct peer_record rec;
	struct control_error e;
	json_t *v;
	int ret;

	control_error_clear(&e);
	api_refresh(api);
	ret = control_peer_get(api->ctl, name, &rec, &e);
	if (ret < 0)
		return api_reply_control_error(r, ret, &e);
	v = api_peer_view(api, &rec, (int64_t)time(NULL));
	model_peer_free(&rec);
	if (!v)
		return api_reply_error(r, 500, NULL, "out of memory");
	return api_reply_json(r, status, v);
}

int api_show_peer(struct api *api, const struct api_request *req, struct api_reply *r)
{
	return show_peer(api, api_param(req, "name"), r, 200);
}

/* The answer of add and rotate: the only time the client key leaves. */
static int reply_new_key(struct api *api, const struct api_request *req, struct api_reply *r,
			 unsigned status, struct peer_add_result *res, const char *warning,
			 json_t *link)
{
	json_t *j = json_object(), *v = api_peer_view(api, &res->peer, (int64_t)time(NULL));

	if (!j || !v) {
		json_decref(j);
		json_decref(v);
		return api_reply_error(r, 500, NULL, "out of memory");
	}
	json_object_set_new(j, "peer", v);
	json_object_set_new(j, "client_config", json_string(res->client_config ? res->client_config : ""));
	json_object_set_new(j, "private_key", json_string(res->private_key_base64));
	json_object_set_new(j, "qr", res->qr ? json_string(res->qr) : json_null());
	api_set_qr_svg(j, res->client_config);
	if (warning && *warning)
		json_object_set_new(j, "warning", json_string(warning));
	/* A one-time link to this config (links_routes.c; "link" was checked
	 * before the change).  The peer is stored either way: a link that
	 * could not be made is reported, not an error. */
	if (link && api_link_attach(api, req, j, res->peer.name, res->client_config, link, r) < 0) {
		json_t *e = r->body ? json_loads(r->body, 0, NULL) : NULL;
		json_t *msg = json_object_get(e, "error");
		json_object_set_new(j, "link_error", msg ? json_incref(msg) : json_string("failed"));
		json_decref(e);
		api_reply_free(r);
	}
	return api_reply_json(r, status, j);
}

/*
 * The fields POST /v1/peers and PATCH /v1/peers/NAME share, read the same
 * way by both.  Each is false after filling r with a 400 naming the field.
 */

/* "expires": unix seconds (0 = never), or text for model_parse_expires
 * ("30d", "2030-12-31", "never"); absent or null leaves *out alone. */
static bool body_expires(struct api_reply *r, const char *name, json_t *v, int64_t *out)
{
	struct control_error e;

	control_error_clear(&e);
	if (!v || json_is_null(v))
		return true;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0) {
			api_reply_error(r, 400, "expires", "peer \"%s\": expires %lld is before 1970 "
					"(use 0 for never)", name, (long long)json_integer_value(v));
			return false;
		}
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_string(v)) {
		if (model_parse_expires(json_string_value(v), (int64_t)time(NULL), out, &e) < 0) {
			api_reply_error(r, 400, "expires", "peer \"%s\": %s", name, e.msg);
			return false;
		}
		return true;
	}
	api_reply_error(r, 400, "expires", "field \"expires\" must be a duration or date "
			"(\"30d\", \"2025-12-31\"), \"never\" or unix seconds");
	return false;
}

/* "allowed_ips": one wg-quick style list; an array is joined.  *out is
 * malloc'd (free it), NULL when absent or null. */
static bool body_allowed_ips(struct api_reply *r, json_t *o, char **out)
{
	const char **ips = NULL;
	char *ips_buf = NULL;
	size_t n_ips = 0, total = 1;

	*out = NULL;
	if (!api_opt_list(r, o, "allowed_ips", &ips, &n_ips, &ips_buf)) {
		free(ips);
		free(ips_buf);
		return false;
	}
	if (ips) {
		for (size_t i = 0; i < n_ips; i++)
			total += strlen(ips[i]) + 2;
		*out = calloc(1, total);
		for (size_t i = 0; *out && i < n_ips; i++) {
			if (i)
				strcat(*out, ", ");
			strcat(*out, ips[i]);
		}
	}
	free(ips);
	free(ips_buf);
	if (ips && !*out) {
		api_reply_error(r, 500, NULL, "out of memory");
		return false;
	}
	return true;
}

/* The keepalive, 0 (off) to 65535 seconds; absent or null leaves *out. */
static bool body_keepalive(struct api_reply *r, const char *name, const char *field, json_t *v,
			   int *out)
{
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535) {
		api_reply_error(r, 400, field, "peer \"%s\": %s must be seconds from 0 (off) to "
				"65535", name, field);
		return false;
	}
	*out = (int)json_integer_value(v);
	return true;
}

static const char *const add_fields[] = {
	"name", "expires", "dns", "allowed_ips", "routes", "keep_key", "persistent_keepalive", "link",
	NULL
};

int api_add_peer(struct api *api, const struct api_request *rq, struct api_reply *r)
{
	struct peer_add_request req = { .persistent_keepalive = -1 };
	struct peer_add_result res;
	struct control_error e;
	const char **routes = NULL;
	char *routes_buf = NULL, *ips_joined = NULL, err[512];
	json_t *o, *v;
	int ret;

	memset(&res, 0, sizeof(res));
	err[0] = '\0';
	control_error_clear(&e);
	o = api_body_object(r, rq->body, rq->len, false);
	if (!o)
		return 0;
	if (!api_only_known(r, o, add_fields))
		goto out;
	v = json_object_get(o, "name");
	if (!v || !json_is_string(v) || !*json_string_value(v)) {
		api_reply_error(r, 400, "name", "field \"name\" is required: a peer name of 1 to 63 "
				"letters, digits, '.', '_' or '-', like \"phone\"");
		goto out;
	}
	req.name = json_string_value(v);
	if (!body_expires(r, req.name, json_object_get(o, "expires"), &req.expires))
		goto out;
	if (!api_opt_string(r, o, "dns", &req.dns))
		goto out;
	if (!body_allowed_ips(r, o, &ips_joined))
		goto out;
	req.allowed_ips = ips_joined;
	if (!api_opt_list(r, o, "routes", &routes, &req.n_routes, &routes_buf))
		goto out;
	req.routes = routes;
	if (!api_opt_bool(r, o, "keep_key", &req.keep_key))
		goto out;
	if (!body_keepalive(r, req.name, "persistent_keepalive",
			    json_object_get(o, "persistent_keepalive"), &req.persistent_keepalive))
		goto out;

	if (!api_link_spec_ok(r, json_object_get(o, "link")))
		goto out;
	ret = TIMED_WRITE(api, control_peer_add(api->ctl, &req, &res, rq->actor, &e));
	if (ret < 0) {
		audit_log(AUDIT_PEER_ADD, req.name, rq->actor, false,
			  e.msg[0] ? e.msg : strerror(-ret));
		api_reply_control_error(r, ret, &e);
		goto out;
	}
	if (api_apply(api, err, sizeof(err)) < 0)
		audit_log(AUDIT_PEER_ADD, req.name, rq->actor, false, err);
	reply_new_key(api, rq, r, 201, &res, err, json_object_get(o, "link"));
out:
	control_peer_add_result_free(&res);
	json_decref(o);
	free(routes);
	free(routes_buf);
	free(ips_joined);
	return 0;
}

static int set_enabled(struct api *api, const struct api_request *req, bool enabled,
		       struct api_reply *r)
{
	const char *event = enabled ? AUDIT_PEER_ENABLE : AUDIT_PEER_DISABLE;
	const char *name = api_param(req, "name");
	struct control_error e;
	char err[512];
	int ret;

	control_error_clear(&e);
	ret = TIMED_WRITE(api, control_peer_set_enabled(api->ctl, name, enabled, NULL, req->actor,
							&e));
	if (ret < 0) {
		audit_log(event, name, req->actor, false, e.msg[0] ? e.msg : strerror(-ret));
		return api_reply_control_error(r, ret, &e);
	}
	/* A disabled peer's key must leave the device now: if that fails the
	 * caller has to know, not just the log. */
	if ((ret = api_apply(api, err, sizeof(err))) < 0) {
		audit_log(event, name, req->actor, false, err);
		return api_reply_error(r, 500, NULL, "peer \"%s\": stored, but %s", name, err);
	}
	return show_peer(api, name, r, 200);
}

int api_enable_peer(struct api *api, const struct api_request *req, struct api_reply *r)
{
	return set_enabled(api, req, true, r);
}

int api_disable_peer(struct api *api, const struct api_request *req, struct api_reply *r)
{
	return set_enabled(api, req, false, r);
}

/* PATCH /v1/peers/NAME: "keepalive" is persistent_keepalive's short name. */
static const char *const update_fields[] = {
	"expires", "dns", "allowed_ips", "routes", "persistent_keepalive", "keepalive", NULL
};

/*
 * Changes the fields the body names, and only those: null (or "", or [])
 * is "back to the default" (never, the server's DNS and AllowedIPs, no
 * routes, the server's keepalive).  All or nothing (control_peer_update);
 * the answer is the peer's view, as GET gives it.
 */
int api_update_peer(struct api *api, const struct api_request *req, struct api_reply *r)
{
	const char *name = api_param(req, "name");
	const char *event = control_event_name(CONTROL_EVENT_PEER_UPDATE);
	struct peer_update u = { 0 };
	struct control_error e;
	const char **routes = NULL;
	char *routes_buf = NULL, *ips = NULL, err[512];
	json_t *o, *ka, *ka_short;
	int ret;

	control_error_clear(&e);
	o = api_body_object(r, req->body, req->len, true);
	if (!o)
		return 0;
	if (!api_only_known(r, o, update_fields))
		goto out;
	if (json_object_size(o) == 0) {
		api_reply_error(r, 400, NULL, "peer \"%s\": nothing to change: give one or more of "
				"expires, dns, allowed_ips, routes, persistent_keepalive", name);
		goto out;
	}
	if ((u.set_expires = json_object_get(o, "expires") != NULL) &&
	    !body_expires(r, name, json_object_get(o, "expires"), &u.expires))
		goto out;
	if ((u.set_dns = json_object_get(o, "dns") != NULL) &&
	    !api_opt_string(r, o, "dns", &u.dns))
		goto out;
	if ((u.set_allowed_ips = json_object_get(o, "allowed_ips") != NULL) &&
	    !body_allowed_ips(r, o, &ips))
		goto out;
	u.allowed_ips = ips;
	if ((u.set_routes = json_object_get(o, "routes") != NULL) &&
	    !api_opt_list(r, o, "routes", &routes, &u.n_routes, &routes_buf))
		goto out;
	u.routes = routes;
	ka = json_object_get(o, "persistent_keepalive");
	ka_short = json_object_get(o, "keepalive");
	if (ka && ka_short) {
		api_reply_error(r, 400, "keepalive", "peer \"%s\": give persistent_keepalive or "
				"keepalive (the same field), not both", name);
		goto out;
	}
	u.set_keepalive = ka || ka_short;
	if (u.set_keepalive && !body_keepalive(r, name, ka ? "persistent_keepalive" : "keepalive",
					       ka ? ka : ka_short, &u.persistent_keepalive))
		goto out;
	ret = TIMED_WRITE(api, control_peer_update(api->ctl, name, &u, req->actor, &e));
	if (ret < 0) {
		audit_log(event, name, req->actor, false, e.msg[0] ? e.msg : strerror(-ret));
		api_reply_control_error(r, ret, &e);
		goto out;
	}
	/* New routes are the peer's allowed IPs on the device: if they did
	 * not get there, the caller has to know. */
	if (api_apply(api, err, sizeof(err)) < 0) {
		audit_log(event, name, req->actor, false, err);
		api_reply_error(r, 500, NULL, "peer \"%s\": stored, but %s", name, err);
		goto out;
	}
	show_peer(api, name, r, 200);
out:
	json_decref(o);
	free(routes);
	free(routes_buf);
	free(ips);
	return 0;
}

static const char *const rotate_fields[] = { "keep_key", "link", NULL };

int api_rotate_peer(struct api *api, const struct api_request *req, struct api_reply *r)
{
	const char *name = api_param(req, "name");
	struct peer_add_result res;
	struct control_error e;
	bool keep_key = false;
	char err[512] = "";
	json_t *o;
	int ret;

	memset(&res, 0, sizeof(res));
	control_error_clear(&e);
	o = api_body_object(r, req->body, req->len, true);
	if (!o)
		return 0;
	if (!api_only_known(r, o, rotate_fields) || !api_opt_bool(r, o, "keep_key", &keep_key) ||
	    !api_link_spec_ok(r, json_object_get(o, "link")))
		goto out;
	ret = TIMED_WRITE(api, control_peer_rotate(api->ctl, name, keep_key, &res, req->actor, &e));
	if (ret < 0) {
		audit_log(AUDIT_PEER_ROTATE, name, req->actor, false,
			  e.msg[0] ? e.msg : strerror(-ret));
		api_reply_control_error(r, ret, &e);
		goto out;
	}
	/* A rotation is asked for because the old key may be in the wrong
	 * hands: if the device still lets it in, that is a failure, not a
	 * warning, as for disable and revoke.  The new config is not sent:
	 * its key is not in the device either, and another rotate (once the
	 * device is fixed) makes a fresh one. */
	if (api_apply(api, err, sizeof(err)) < 0) {
		audit_log(AUDIT_PEER_ROTATE, name, req->actor, false, err);
		api_reply_error(r, 500, NULL, "peer \"%s\": a new key is stored, but %s; the old "
				"key may still connect until the device is updated: rotate again "
				"once it is", name, err);
		goto out;
	}
	reply_new_key(api, req, r, 200, &res, NULL, json_object_get(o, "link"));
out:
	control_peer_add_result_free(&res);
	json_decref(o);
	return 0;
}

int api_revoke_peer(struct api *api, const struct api_request *req, struct api_reply *r)
{
	const char *name = api_param(req, "name");
	struct control_error e;
	char err[512];
	int ret;

	control_error_clear(&e);
	ret = TIMED_WRITE(api, control_peer_revoke(api->ctl, name, req->actor, &e));
	if (ret < 0) {
		audit_log(AUDIT_PEER_REVOKE, name, req->actor, false,
			  e.msg[0] ? e.msg : strerror(-ret));
		return api_reply_control_error(r, ret, &e);
	}
	if ((ret = api_apply(api, err, sizeof(err))) < 0) {
		audit_log(AUDIT_PEER_REVOKE, name, req->actor, false, err);
		return api_reply_error(r, 500, NULL, "peer \"%s\": revoked in the store, but %s",
				       name, err);
	}
	r->status = 204;
	r->body = NULL;
	r->len = 0;
	return 0;
}

int api_peer_config(struct api *api, const struct api_request *req, struct api_reply *r)
{
	const char *name = api_param(req, "name");
	struct control_error e;
	char *config = NULL, *qr = NULL;
	json_t *j;
	int ret;

	control_error_clear(&e);
	ret = control_peer_client_config(api->ctl, name, &config, &qr, &e);
	if (ret < 0) {
		if (ret == -ENOKEY && !e.msg[0])
			control_error_set(&e, NULL, "peer \"%s\": its private key was not kept, so "
					  "its config cannot be shown again (rotate it to get a "
					  "new one)", name);
		return api_reply_control_error(r, ret, &e);
	}
	audit_log(AUDIT_PEER_CONFIG, name, req->actor, true, NULL);
	j = json_object();
	if (j) {
		json_object_set_new(j, "client_config", json_string(config));
		json_object_set_new(j, "qr", qr ? json_string(qr) : json_null());
		api_set_qr_svg(j, config);
	}
	render_free(config);
	render_free(qr);
	return api_reply_json(r, 200, j);
}
