/*
 * api.c - the admin API's handlers (api_handle).  See api.h for the routes;
 * api_http.c puts them behind HTTP on a unix socket.
 *
 * Handlers run on libmicrohttpd's polling thread, one request at a time.
 * They never touch the device themselves: a change goes through the
 * control layer (which stores it and serialises with its own mutex), then
 * through api->apply, which reaches the device through device_call.  No
 * lock is held across either call.
 *
 * Secrets: the answers of POST /v1/peers, rotate and config hold a client
 * private key; they are built by jansson (whose frees wipe, see
 * model_json_wipe_on_free) and api_reply_free() wipes the text.  Keys are
 * never logged nor put in an audit line.
 */
#include "api.h"
#include "audit.h"
#include "control.h"
#include "render.h"
#include "stats.h"
#include "textbuf.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* -------------------------------------------------------------- replies -- */

/* Takes j.  0 or -ENOMEM. */
static int reply_json(struct api_reply *r, unsigned status, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(j);
	if (!text) {
		static const char oom[] = "{\"error\":\"out of memory\",\"field\":null}";
		r->status = 500;
		r->body = strdup(oom);
		r->len = r->body ? strlen(oom) : 0;
		return -ENOMEM;
	}
	r->status = status;
	r->body = text;
	r->len = strlen(text);
	return 0;
}

int api_reply_error(struct api_reply *r, unsigned status, const char *field,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	j = json_object();
	if (j) {
		json_object_set_new(j, "error", json_string(msg));
		json_object_set_new(j, "field", field && *field ? json_string(field) : json_null());
	}
	return reply_json(r, status, j);
}

/* The HTTP status of a control-layer error. */
static unsigned status_of(int err)
{
	switch (-err) {
	case EINVAL:
	case ERANGE:
	case EDOM:
		return 400;
	case ENOENT:
		return 404;
	case EEXIST:
	case ENOKEY:
	case EBUSY:
	case ESTALE:
		return 409;
	case ENOSPC:
		return 507;
	default:
		return 500;
	}
}

static int reply_control_error(struct api_reply *r, int err, const struct control_error *e)
{
	if (e->msg[0])
		return api_reply_error(r, status_of(err), e->field, "%s", e->msg);
	return api_reply_error(r, status_of(err), e->field, "%s", strerror(-err));
}

void api_reply_free(struct api_reply *reply)
{
	if (reply->body) {
		explicit_bzero(reply->body, reply->len);
		free(reply->body);
	}
	reply->body = NULL;
	reply->len = 0;
}

/* ----------------------------------------------------------- the views -- */

static json_t *peer_view(struct api *api, const struct peer_record *rec, int64_t now)
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

static void refresh(struct api *api)
{
	if (api->refresh)
		api->refresh(api->ctx);
}

/* Applies the stored state to the device.  0, or -errno with err set. */
static int apply(struct api *api, char *err, size_t errlen)
{
	err[0] = '\0';
	if (!api->apply)
		return 0;
	return api->apply(api->ctx, err, errlen);
}

/* --------------------------------------------------------- body parsing -- */

/* The body as a JSON object; an empty body is {} when allow_empty.  NULL
 * after filling r with a 400. */
static json_t *body_object(struct api_reply *r, const char *body, size_t len, bool allow_empty)
{
	json_error_t jerr;
	json_t *j;

	if (!body || len == 0) {
		if (allow_empty)
			return json_object();
		api_reply_error(r, 400, NULL, "the request needs a JSON object as its body");
		return NULL;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		api_reply_error(r, 400, NULL, "the body is not valid JSON: %s (line %d, column %d)",
			    jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		api_reply_error(r, 400, NULL, "the body must be a JSON object, like {\"name\":\"phone\"}");
		return NULL;
	}
	return j;
}

/* Every member of o must be one of known (NULL-terminated).  false after
 * filling r with a 400 naming the first unknown one. */
static bool only_known(struct api_reply *r, json_t *o, const char *const *known)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		bool ok = false;
		char list[256] = "";

		for (size_t i = 0; known[i]; i++) {
			ok = ok || !strcmp(k, known[i]);
			if (strlen(list) + strlen(known[i]) + 3 < sizeof(list)) {
				if (i)
					strcat(list, ", ");
				strcat(list, known[i]);
			}
		}
		if (!ok) {
			api_reply_error(r, 400, k, "unknown field \"%.64s\" (known fields: %s)", k, list);
			return false;
		}
	}
	return true;
}

/* Optional string member: *out NULL when absent or null.  false after a 400. */
static bool opt_string(struct api_reply *r, json_t *o, const char *field, const char **out)
{
	json_t *v = json_object_get(o, field);

	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		api_reply_error(r, 400, field, "field \"%s\" must be a string", field);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

static bool opt_bool(struct api_reply *r, json_t *o, const char *field, bool *out)
{
	json_t *v = json_object_get(o, field);

	if (!v || json_is_null(v))
		return true;
	if (!json_is_boolean(v)) {
		api_reply_error(r, 400, field, "field \"%s\" must be true or false", field);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

/* A list of strings given as a JSON array or as one comma-separated
 * string.  *items point into o or into *buf (free *buf and *items). */
static bool opt_list(struct api_reply *r, json_t *o, const char *field, const char ***items,
		     size_t *n, char **buf)
{
	json_t *v = json_object_get(o, field);

	*items = NULL;
	*n = 0;
	*buf = NULL;
	if (!v || json_is_null(v))
		return true;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;

		*items = calloc(json_array_size(v) + 1, sizeof(**items));
		if (!*items)
			goto oom;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e)) {
				api_reply_error(r, 400, field, "field \"%s\" must be a list of strings "
					    "(item %zu is not a string)", field, i);
				return false;
			}
			(*items)[(*n)++] = json_string_value(e);
		}
		return true;
	}
	if (json_is_string(v)) {
		char *save = NULL, *tok;

		*buf = strdup(json_string_value(v));
		*items = calloc(strlen(json_string_value(v)) / 2 + 2, sizeof(**items));
		if (!*buf || !*items)
			goto oom;
		for (tok = strtok_r(*buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
			(*items)[(*n)++] = tok;
		return true;
	}
	api_reply_error(r, 400, field, "field \"%s\" must be a list of strings, like "
		    "[\"192.168.1.0/24\"]", field);
	return false;
oom:
	api_reply_error(r, 500, NULL, "out of memory");
	return false;
}

/* ------------------------------------------------------------ handlers -- */

static int get_server(struct api *api, struct api_reply *r)
{
	struct server_record srv;
	uint8_t pub[MODEL_KEY_LEN];
	char pub64[KEY_BASE64_LEN + 1];
	struct peer_record *peers = NULL;
	size_t n = 0, online = 0;
	int64_t now = (int64_t)time(NULL);
	json_t *j;
	int ret;

	ret = control_get_server(api->ctl, &srv, pub);
	if (ret < 0)
		return api_reply_error(r, status_of(ret), NULL, "reading the server record: %s",
				   strerror(-ret));
	refresh(api);
	if (control_peer_list(api->ctl, &peers, &n) == 0) {
		for (size_t i = 0; i < n && api->stats; i++) {
			struct stats_live live;
			if (stats_get(api->stats, peers[i].public_key, &live) &&
			    stats_online(&live, now))
				online++;
		}
		model_peer_array_free(peers, n);
	}
	j = model_server_to_json(&srv, 0);
	model_server_free(&srv);
	if (!j)
		return api_reply_error(r, 500, NULL, "out of memory");
	json_object_del(j, "private_key");
	key_to_base64(pub64, pub);
	json_object_set_new(j, "public_key", json_string(pub64));
	json_object_set_new(j, "peers", json_integer((json_int_t)n));
	json_object_set_new(j, "online", json_integer((json_int_t)online));
	return reply_json(r, 200, j);
}

/* What a peer's view holds, in its order: the names ?fields= may pick. */
static const char *const peer_view_fields[] = {
	"name", "public_key", "ipv4", "ipv6", "routes", "dns", "allowed_ips",
	"persistent_keepalive", "enabled", "created", "expires", "disabled_reason", "key_kept",
	"endpoint", "latest_handshake", "rx_bytes", "tx_bytes", "online", NULL
};

#define MAX_FIELDS 18

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

/*
 * The list is written as text straight from the records: with 10,000
 * peers, building a jansson tree of the views and dumping it cost ten
 * times more than everything else in the request.
 */
static int list_peers(struct api *api, const char *fields_text, struct api_reply *r)
{
	struct peer_record *peers = NULL;
	const char *fields[MAX_FIELDS];
	size_t n = 0, n_fields = 0;
	int64_t now = (int64_t)time(NULL);
	struct textbuf tb = { 0 };
	int ret;

	if (!parse_fields(r, fields_text, fields, &n_fields))
		return 0;
	refresh(api);
	ret = control_peer_list(api->ctl, &peers, &n);
	if (ret < 0)
		return api_reply_error(r, status_of(ret), NULL, "listing peers: %s", strerror(-ret));
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
	refresh(api);
	ret = control_peer_get(api->ctl, name, &rec, &e);
	if (ret < 0)
		return reply_control_error(r, ret, &e);
	v = peer_view(api, &rec, (int64_t)time(NULL));
	model_peer_free(&rec);
	if (!v)
		return api_reply_error(r, 500, NULL, "out of memory");
	return reply_json(r, status, v);
}

/* The answer of add and rotate: the only time the client key leaves. */
static int reply_new_key(struct api *api, struct api_reply *r, unsigned status,
			 struct peer_add_result *res, const char *warning)
{
	json_t *j = json_object(), *v = peer_view(api, &res->peer, (int64_t)time(NULL));

	if (!j || !v) {
		json_decref(j);
		json_decref(v);
		return api_reply_error(r, 500, NULL, "out of memory");
	}
	json_object_set_new(j, "peer", v);
	json_object_set_new(j, "client_config", json_string(res->client_config ? res->client_config : ""));
	json_object_set_new(j, "private_key", json_string(res->private_key_base64));
	json_object_set_new(j, "qr", res->qr ? json_string(res->qr) : json_null());
	if (warning && *warning)
		json_object_set_new(j, "warning", json_string(warning));
	return reply_json(r, status, j);
}

static const char *const add_fields[] = {
	"name", "expires", "dns", "allowed_ips", "routes", "keep_key", "persistent_keepalive", NULL
};

static int add_peer(struct api *api, const char *body, size_t len, struct api_reply *r)
{
	struct peer_add_request req = { .persistent_keepalive = -1 };
	struct peer_add_result res;
	struct control_error e;
	const char **routes = NULL, **ips = NULL, *expires_text = NULL;
	char *routes_buf = NULL, *ips_buf = NULL, *ips_joined = NULL, err[512];
	size_t n_ips = 0;
	json_t *o, *v;
	int ret;

	memset(&res, 0, sizeof(res));
	err[0] = '\0';
	control_error_clear(&e);
	o = body_object(r, body, len, false);
	if (!o)
		return 0;
	if (!only_known(r, o, add_fields))
		goto out;
	v = json_object_get(o, "name");
	if (!v || !json_is_string(v) || !*json_string_value(v)) {
		api_reply_error(r, 400, "name", "field \"name\" is required: a peer name of 1 to 63 "
			    "letters, digits, '.', '_' or '-', like \"phone\"");
		goto out;
	}
	req.name = json_string_value(v);
	v = json_object_get(o, "expires");
	if (v && json_is_integer(v)) {
		if (json_integer_value(v) < 0) {
			api_reply_error(r, 400, "expires", "peer \"%s\": expires %lld is before 1970 "
				    "(use 0 for never)", req.name, (long long)json_integer_value(v));
			goto out;
		}
		req.expires = json_integer_value(v);
	} else if (v && json_is_string(v)) {
		expires_text = json_string_value(v);
		if (model_parse_expires(expires_text, (int64_t)time(NULL), &req.expires, &e) < 0) {
			api_reply_error(r, 400, "expires", "peer \"%s\": %s", req.name, e.msg);
			goto out;
		}
	} else if (v && !json_is_null(v)) {
		api_reply_error(r, 400, "expires", "field \"expires\" must be a duration or date "
			    "(\"30d\", \"2025-12-31\") or unix seconds");
		goto out;
	}
	if (!opt_string(r, o, "dns", &req.dns))
		goto out;
	/* allowed_ips is one wg-quick style list; an array is joined. */
	if (!opt_list(r, o, "allowed_ips", &ips, &n_ips, &ips_buf))
		goto out;
	if (ips) {
		size_t total = 1;
		for (size_t i = 0; i < n_ips; i++)
			total += strlen(ips[i]) + 2;
		ips_joined = calloc(1, total);
		if (!ips_joined) {
			api_reply_error(r, 500, NULL, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n_ips; i++) {
			if (i)
				strcat(ips_joined, ", ");
			strcat(ips_joined, ips[i]);
		}
		req.allowed_ips = ips_joined;
	}
	if (!opt_list(r, o, "routes", &routes, &req.n_routes, &routes_buf))
		goto out;
	req.routes = routes;
	if (!opt_bool(r, o, "keep_key", &req.keep_key))
		goto out;
	v = json_object_get(o, "persistent_keepalive");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 65535) {
			api_reply_error(r, 400, "persistent_keepalive", "peer \"%s\": "
				    "persistent_keepalive must be seconds from 0 (off) to 65535",
				    req.name);
			goto out;
		}
		req.persistent_keepalive = (int)json_integer_value(v);
	}

	ret = control_peer_add(api->ctl, &req, &res, &e);
	if (ret < 0) {
		audit_log(AUDIT_PEER_ADD, req.name, NULL, false, e.msg[0] ? e.msg : strerror(-ret));
		reply_control_error(r, ret, &e);
		goto out;
	}
	if (apply(api, err, sizeof(err)) < 0)
		audit_log(AUDIT_PEER_ADD, req.name, NULL, false, err);
	reply_new_key(api, r, 201, &res, err);
out:
	control_peer_add_result_free(&res);
	json_decref(o);
	free(routes);
	free(routes_buf);
	free(ips);
	free(ips_buf);
	free(ips_joined);
	return 0;
}

static int set_enabled(struct api *api, const char *name, bool enabled, struct api_reply *r)
{
	const char *event = enabled ? AUDIT_PEER_ENABLE : AUDIT_PEER_DISABLE;
	struct control_error e;
	char err[512];
	int ret;

	control_error_clear(&e);
	ret = control_peer_set_enabled(api->ctl, name, enabled, NULL, &e);
	if (ret < 0) {
		audit_log(event, name, NULL, false, e.msg[0] ? e.msg : strerror(-ret));
		return reply_control_error(r, ret, &e);
	}
	/* A disabled peer's key must leave the device now: if that fails the
	 * caller has to know, not just the log. */
	if ((ret = apply(api, err, sizeof(err))) < 0) {
		audit_log(event, name, NULL, false, err);
		return api_reply_error(r, 500, NULL, "peer \"%s\": stored, but %s", name, err);
	}
	return show_peer(api, name, r, 200);
}

static const char *const rotate_fields[] = { "keep_key", NULL };

static int rotate_peer(struct api *api, const char *name, const char *body, size_t len,
		       struct api_reply *r)
{
	struct peer_add_result res;
	struct control_error e;
	bool keep_key = false;
	char err[512] = "";
	json_t *o;
	int ret;

	memset(&res, 0, sizeof(res));
	control_error_clear(&e);
	o = body_object(r, body, len, true);
	if (!o)
		return 0;
	if (!only_known(r, o, rotate_fields) || !opt_bool(r, o, "keep_key", &keep_key))
		goto out;
	ret = control_peer_rotate(api->ctl, name, keep_key, &res, &e);
	if (ret < 0) {
		audit_log(AUDIT_PEER_ROTATE, name, NULL, false, e.msg[0] ? e.msg : strerror(-ret));
		reply_control_error(r, ret, &e);
		goto out;
	}
	/* A rotation is asked for because the old key may be in the wrong
	 * hands: if the device still lets it in, that is a failure, not a
	 * warning, as for disable and revoke.  The new config is not sent:
	 * its key is not in the device either, and another rotate (once the
	 * device is fixed) makes a fresh one. */
	if (apply(api, err, sizeof(err)) < 0) {
		audit_log(AUDIT_PEER_ROTATE, name, NULL, false, err);
		api_reply_error(r, 500, NULL, "peer \"%s\": a new key is stored, but %s; the old "
				"key may still connect until the device is updated: rotate again "
				"once it is", name, err);
		goto out;
	}
	reply_new_key(api, r, 200, &res, NULL);
out:
	control_peer_add_result_free(&res);
	json_decref(o);
	return 0;
}

static int revoke_peer(struct api *api, const char *name, struct api_reply *r)
{
	struct control_error e;
	char err[512];
	int ret;

	control_error_clear(&e);
	ret = control_peer_revoke(api->ctl, name, &e);
	if (ret < 0) {
		audit_log(AUDIT_PEER_REVOKE, name, NULL, false, e.msg[0] ? e.msg : strerror(-ret));
		return reply_control_error(r, ret, &e);
	}
	if ((ret = apply(api, err, sizeof(err))) < 0) {
		audit_log(AUDIT_PEER_REVOKE, name, NULL, false, err);
		return api_reply_error(r, 500, NULL, "peer \"%s\": revoked in the store, but %s", name,
				   err);
	}
	r->status = 204;
	r->body = NULL;
	r->len = 0;
	return 0;
}

static int peer_config(struct api *api, const char *name, struct api_reply *r)
{
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
		return reply_control_error(r, ret, &e);
	}
	audit_log(AUDIT_PEER_CONFIG, name, NULL, true, NULL);
	j = json_object();
	if (j) {
		json_object_set_new(j, "client_config", json_string(config));
		json_object_set_new(j, "qr", qr ? json_string(qr) : json_null());
	}
	render_free(config);
	render_free(qr);
	return reply_json(r, 200, j);
}

static int get_stats(struct api *api, struct api_reply *r)
{
	struct peer_record *peers = NULL;
	struct stats_point *pts;
	size_t n = 0;
	json_t *j, *by_name;
	int ret;

	ret = control_peer_list(api->ctl, &peers, &n);
	if (ret < 0)
		return api_reply_error(r, status_of(ret), NULL, "listing peers: %s", strerror(-ret));
	pts = calloc(STATS_HISTORY, sizeof(*pts));
	j = json_object();
	by_name = json_object();
	for (size_t i = 0; pts && j && by_name && i < n; i++) {
		size_t k = api->stats ? stats_history(api->stats, peers[i].public_key, pts,
						      STATS_HISTORY) : 0;
		json_t *arr = json_array();
		for (size_t s = 0; arr && s < k; s++)
			json_array_append_new(arr, json_pack("{sI sI sI}", "t", (json_int_t)pts[s].t,
							     "rx", (json_int_t)pts[s].rx_bytes,
							     "tx", (json_int_t)pts[s].tx_bytes));
		json_object_set_new(by_name, peers[i].name, arr ? arr : json_null());
	}
	model_peer_array_free(peers, n);
	free(pts);
	if (!j || !by_name) {
		json_decref(j);
		json_decref(by_name);
		return api_reply_error(r, 500, NULL, "out of memory");
	}
	json_object_set_new(j, "interval", json_integer(STATS_INTERVAL_SEC));
	json_object_set_new(j, "peers", by_name);
	return reply_json(r, 200, j);
}

static int reload(struct api *api, struct api_reply *r)
{
	char err[512] = "";
	int ret;

	if (!api->reload)
		return api_reply_error(r, 405, NULL, "this server cannot reload its store");
	ret = api->reload(api->ctx, err, sizeof(err));
	if (ret < 0)
		return api_reply_error(r, status_of(ret), NULL, "%s", err[0] ? err : strerror(-ret));
	return get_server(api, r);
}

/* ------------------------------------------------------------- routing -- */

static int method_not_allowed(struct api_reply *r, const char *method, const char *path,
			      const char *allowed)
{
	return api_reply_error(r, 405, NULL, "%s is not allowed on %s (use %s)", method, path, allowed);
}

static int route_peer(struct api *api, const char *method, const char *path, const char *rest,
		      const char *body, size_t len, struct api_reply *r)
{
	char name[MODEL_NAME_MAX + 2];
	const char *slash = strchr(rest, '/');
	size_t nl = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *action = slash ? slash + 1 : "";
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");

	if (nl == 0)
		return api_reply_error(r, 404, NULL, "no such path %s (peers are at /v1/peers/NAME)", path);
	if (nl >= sizeof(name))
		return api_reply_error(r, 404, "name", "no peer named \"%.*s...\" (names have at most "
				   "63 characters)", 32, rest);
	memcpy(name, rest, nl);
	name[nl] = '\0';
	if (!*action) {
		if (get)
			return show_peer(api, name, r, 200);
		if (!strcmp(method, "DELETE"))
			return revoke_peer(api, name, r);
		return method_not_allowed(r, method, path, "GET or DELETE");
	}
	if (!strcmp(action, "config")) {
		if (!get)
			return method_not_allowed(r, method, path, "GET");
		return peer_config(api, name, r);
	}
	if (!strcmp(action, "enable") || !strcmp(action, "disable") || !strcmp(action, "rotate")) {
		if (!post)
			return method_not_allowed(r, method, path, "POST");
		if (!strcmp(action, "rotate"))
			return rotate_peer(api, name, body, len, r);
		return set_enabled(api, name, !strcmp(action, "enable"), r);
	}
	return api_reply_error(r, 404, NULL, "no such path %s (a peer has /config, /enable, /disable "
			   "and /rotate)", path);
}

/* The query of a request: only GET /v1/peers takes one (fields=...). */
static bool parse_query(struct api_reply *r, const char *query, const char **fields)
{
	*fields = NULL;
	while (query && *query) {
		size_t len = strcspn(query, "&");
		if (len >= 7 && !strncmp(query, "fields=", 7)) {
			*fields = query + 7;	/* ends at '&' or NUL: see parse_fields */
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

int api_handle(struct api *api, const char *method, const char *path_query, const char *body,
	       size_t len, struct api_reply *reply)
{
	static const char peers_prefix[] = "/v1/peers/";
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	const char *q = strchr(path_query, '?'), *fields = NULL;
	char path[1024], fields_buf[512] = "";

	memset(reply, 0, sizeof(*reply));
	if ((size_t)(q ? q - path_query : (ptrdiff_t)strlen(path_query)) >= sizeof(path)) {
		api_reply_error(reply, 414, NULL, "the path is longer than %zu bytes",
				sizeof(path) - 1);
		return 0;
	}
	snprintf(path, sizeof(path), "%.*s", (int)(q ? (size_t)(q - path_query) : strlen(path_query)),
		 path_query);
	if (q && !parse_query(reply, q + 1, &fields))
		return 0;
	if (q && strcmp(path, "/v1/peers")) {
		api_reply_error(reply, 400, NULL, "%s takes no query parameters", path);
		return 0;
	}
	if (fields) {
		snprintf(fields_buf, sizeof(fields_buf), "%.*s", (int)strcspn(fields, "&"), fields);
		fields = fields_buf;
	}
	if (len > API_MAX_BODY)
		api_reply_error(reply, 413, NULL, "the body is larger than %d KiB", API_MAX_BODY / 1024);
	else if (!strcmp(path, "/v1/server"))
		get ? get_server(api, reply) : method_not_allowed(reply, method, path, "GET");
	else if (!strcmp(path, "/v1/peers"))
		get ? list_peers(api, fields, reply) :
		post ? add_peer(api, body, len, reply) :
		method_not_allowed(reply, method, path, "GET or POST");
	else if (!strncmp(path, peers_prefix, sizeof(peers_prefix) - 1))
		route_peer(api, method, path, path + sizeof(peers_prefix) - 1, body, len, reply);
	else if (!strcmp(path, "/v1/stats"))
		get ? get_stats(api, reply) : method_not_allowed(reply, method, path, "GET");
	else if (!strcmp(path, "/v1/reload"))
		post ? reload(api, reply) : method_not_allowed(reply, method, path, "POST");
	else
		api_reply_error(reply, 404, NULL, "no such path %.128s (the API is under /v1: /v1/server, "
			    "/v1/peers, /v1/stats)", path);
	if (reply->status == 0)
		reply->status = 500;
	return reply->status == 500 && !reply->body ? -ENOMEM : 0;
}
