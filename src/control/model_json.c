/*
 * model_json.c - the JSON half of model.h: records to and from jansson
 * values (the store form with keys, the view form without), the store's
 * byte form, and jansson's wiping allocator.
 *
 * Keys cross into JSON only as base64 strings that jansson owns; since
 * jansson frees them with plain free(), model_json_wipe_on_free() installs
 * allocation functions that wipe every block before freeing it.  Every
 * local buffer that held a key is wiped before return.
 */
#include "model.h"
#include "model_internal.h"
#include "firewall_rule.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "encoding.h"

/* ---- JSON ---- */

static int set_key(json_t *o, const char *name, const uint8_t key[MODEL_KEY_LEN])
{
	char b64[KEY_BASE64_LEN + 1];
	int ret;

	key_to_base64(b64, key);
	ret = json_object_set_new(o, name, json_string(b64));
	explicit_bzero(b64, sizeof(b64));
	return ret;
}

static int set_str(json_t *o, const char *name, const char *v)
{
	return v ? json_object_set_new(o, name, json_string(v)) : 0;
}

static int set_prefix(json_t *o, const char *name, int family, const void *addr, int len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN + 8];

	inet_ntop(family, addr, a, sizeof(a));
	if (len < 0)
		return json_object_set_new(o, name, json_string(a));
	snprintf(b, sizeof(b), "%s/%d", a, len);
	return json_object_set_new(o, name, json_string(b));
}

json_t *model_server_to_json(const struct server_record *s, unsigned flags)
{
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	if (flags & MODEL_JSON_SECRETS)
		bad |= set_key(o, "private_key", s->private_key);
	bad |= json_object_set_new(o, "listen_port", json_integer(s->listen_port));
	bad |= set_str(o, "interface", s->interface);
	bad |= set_prefix(o, "ipv4", AF_INET, &s->ipv4, s->ipv4_prefix);
	bad |= set_prefix(o, "ipv6", AF_INET6, &s->ipv6, s->ipv6_prefix);
	bad |= set_str(o, "endpoint", s->endpoint);
	bad |= set_str(o, "dns", s->dns);
	bad |= set_str(o, "client_allowed_ips", s->client_allowed_ips ? s->client_allowed_ips :
		       MODEL_DEFAULT_CLIENT_ALLOWED_IPS);
	bad |= json_object_set_new(o, "persistent_keepalive", json_integer(s->persistent_keepalive));
	bad |= json_object_set_new(o, "mtu", json_integer(s->mtu));
	bad |= json_object_set_new(o, "nat", json_boolean(s->nat));
	bad |= json_object_set_new(o, "created", json_integer(s->created));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *model_peer_to_json(const struct peer_record *p, unsigned flags)
{
	json_t *o = json_object(), *routes = json_array();
	int bad = !o || !routes;
	size_t i;

	if (bad)
		goto out;
	bad |= set_str(o, "name", p->name);
	bad |= set_key(o, "public_key", p->public_key);
	if ((flags & MODEL_JSON_SECRETS) && p->has_preshared_key)
		bad |= set_key(o, "preshared_key", p->preshared_key);
	if ((flags & MODEL_JSON_SECRETS) && p->has_private_key)
		bad |= set_key(o, "private_key", p->private_key);
	bad |= set_prefix(o, "ipv4", AF_INET, &p->ipv4, -1);
	if (p->has_ipv6)
		bad |= set_prefix(o, "ipv6", AF_INET6, &p->ipv6, -1);
	for (i = 0; i < p->n_routes; i++) {
		char b[MODEL_PREFIX_STRLEN];
		model_format_prefix(&p->routes[i], b, sizeof(b));
		bad |= json_array_append_new(routes, json_string(b));
	}
	bad |= json_object_set(o, "routes", routes);
	bad |= set_str(o, "dns", p->dns);
	bad |= set_str(o, "allowed_ips", p->allowed_ips);
	bad |= set_str(o, "endpoint", p->endpoint);
	bad |= json_object_set_new(o, "firewall", firewall_rules_to_json(p->has_firewall,
									 p->firewall,
									 p->n_firewall));
	bad |= json_object_set_new(o, "persistent_keepalive", json_integer(p->persistent_keepalive));
	bad |= json_object_set_new(o, "enabled", json_boolean(p->enabled));
	bad |= json_object_set_new(o, "created", json_integer(p->created));
	bad |= json_object_set_new(o, "expires", json_integer(p->expires));
	if (!p->enabled)
		bad |= set_str(o, "disabled_reason", p->disabled_reason);
	if (!(flags & MODEL_JSON_SECRETS))
		bad |= json_object_set_new(o, "key_kept", json_boolean(p->has_private_key || p->key_kept));
out:
	json_decref(routes);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Field readers: what names the record ("server", "peer \"x\"") in messages. */
static int get_string(const json_t *j, const char *what, const char *name, bool required,
		      const char **out, struct control_error *e)
{
	const json_t *v = json_object_get(j, name);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		control_error_set(e, name, "%s: \"%s\" is missing", what, name);
		return -EINVAL;
	}
	if (!json_is_string(v)) {
		control_error_set(e, name, "%s: \"%s\" must be a string", what, name);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

static int get_int(const json_t *j, const char *what, const char *name, bool required,
		   json_int_t lo, json_int_t hi, json_int_t *out, struct control_error *e)
{
	const json_t *v = json_object_get(j, name);

	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		control_error_set(e, name, "%s: \"%s\" is missing", what, name);
		return -EINVAL;
	}
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		control_error_set(e, name, "%s: \"%s\" must be a whole number from %lld to %lld",
				  what, name, (long long)lo, (long long)hi);
		return -EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

static int get_bool(const json_t *j, const char *what, const char *name, bool *out,
		    struct control_error *e)
{
	const json_t *v = json_object_get(j, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		control_error_set(e, name, "%s: \"%s\" must be true or false", what, name);
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

static int get_key(const json_t *j, const char *what, const char *name, bool required,
		   uint8_t key[MODEL_KEY_LEN], bool *has, struct control_error *e)
{
	const char *s;
	int ret = get_string(j, what, name, required, &s, e);

	if (ret || !s)
		return ret;
	if (!key_from_base64(key, s)) {
		/* never quote a key, not even a malformed one */
		control_error_set(e, name, "%s: \"%s\" is not a base64 key of 32 bytes (as wg genkey "
				  "prints)", what, name);
		return -EINVAL;
	}
	if (has)
		*has = true;
	return 0;
}

static int dup_opt(const char *s, char **out, const char *name, struct control_error *e)
{
	if (!s)
		return 0;
	if (!(*out = strdup(s))) {
		control_error_set(e, name, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int get_address(const json_t *j, const char *what, const char *name, int family,
		       bool with_prefix, bool required, struct ip_prefix *out, bool *has,
		       struct control_error *e)
{
	const char *s;
	char q[96];
	int ret = get_string(j, what, name, required, &s, e);

	if (ret || !s)
		return ret;
	ret = model_parse_prefix(s, out, true);
	if ((ret && ret != -EDOM) || out->family != family ||
	    (!with_prefix && (strchr(s, '/') || out->len != model_max_len(family)))) {
		control_error_set(e, name, "%s: %s \"%s\" is not an %s address%s", what, name,
				  model_quote(s, q, sizeof(q)), family == AF_INET ? "IPv4" : "IPv6",
				  with_prefix ? " with a prefix (10.13.13.1/24)" : "");
		return -EINVAL;
	}
	if (with_prefix && !strchr(s, '/')) {
		control_error_set(e, name, "%s: %s \"%s\" has no prefix length (write it as %s/%d)",
				  what, name, model_quote(s, q, sizeof(q)), s, family == AF_INET ? 24 : 64);
		return -EINVAL;
	}
	if (has)
		*has = true;
	return 0;
}

int model_server_from_json(const json_t *j, struct server_record *out, struct control_error *e)
{
	const char *what = "server", *s;
	json_int_t v = 0;
	struct ip_prefix p;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j)) {
		control_error_set(e, NULL, "server: the record is not a JSON object");
		return -EINVAL;
	}
	if ((ret = get_key(j, what, "private_key", true, out->private_key, NULL, e)))
		goto fail;
	if ((ret = get_int(j, what, "listen_port", true, 1, 65535, &v, e)))
		goto fail;
	out->listen_port = (uint16_t)v;
	if ((ret = get_string(j, what, "interface", false, &s, e)))
		goto fail;
	snprintf(out->interface, sizeof(out->interface), "%s", s ? s : MODEL_DEFAULT_INTERFACE);
	if (s && strlen(s) >= IFNAMSIZ) {
		control_error_set(e, "interface", "server: interface \"%.40s\" is longer than %d "
				  "characters", s, IFNAMSIZ - 1);
		ret = -EINVAL;
		goto fail;
	}
	if ((ret = get_address(j, what, "ipv4", AF_INET, true, true, &p, NULL, e)))
		goto fail;
	out->ipv4 = p.addr.v4;
	out->ipv4_prefix = p.len;
	if ((ret = get_address(j, what, "ipv6", AF_INET6, true, true, &p, NULL, e)))
		goto fail;
	out->ipv6 = p.addr.v6;
	out->ipv6_prefix = p.len;
	if ((ret = get_string(j, what, "endpoint", false, &s, e)) ||
	    (ret = dup_opt(s, &out->endpoint, "endpoint", e)))
		goto fail;
	if ((ret = get_string(j, what, "dns", false, &s, e)) ||
	    (ret = dup_opt(s, &out->dns, "dns", e)))
		goto fail;
	if ((ret = get_string(j, what, "client_allowed_ips", false, &s, e)) ||
	    (ret = dup_opt(s, &out->client_allowed_ips, "client_allowed_ips", e)))
		goto fail;
	v = 0;
	if ((ret = get_int(j, what, "persistent_keepalive", false, 0, 65535, &v, e)))
		goto fail;
	out->persistent_keepalive = (uint16_t)v;
	v = MODEL_DEFAULT_MTU;
	if ((ret = get_int(j, what, "mtu", false, 0, 65535, &v, e)))
		goto fail;
	out->mtu = (uint16_t)v;
	if ((ret = get_bool(j, what, "nat", &out->nat, e)))
		goto fail;
	v = 0;
	if ((ret = get_int(j, what, "created", false, 0, INT64_MAX, &v, e)))
		goto fail;
	out->created = v;
	if (!model_server_validate(out, e)) {
		ret = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	model_server_free(out);
	return ret;
}

int model_peer_from_json(const json_t *j, struct peer_record *out, struct control_error *e)
{
	char what[MODEL_NAME_MAX + 16], q[96];
	const char *s;
	const json_t *routes;
	json_int_t v = 0;
	struct ip_prefix p;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j)) {
		control_error_set(e, NULL, "peer record: not a JSON object");
		return -EINVAL;
	}
	if ((ret = get_string(j, "peer record", "name", true, &s, e)))
		goto fail;
	if (!model_name_valid(s, e)) {
		ret = -EINVAL;
		goto fail;
	}
	snprintf(out->name, sizeof(out->name), "%s", s);
	snprintf(what, sizeof(what), "peer \"%s\"", out->name);
	if ((ret = get_key(j, what, "public_key", true, out->public_key, NULL, e)) ||
	    (ret = get_key(j, what, "preshared_key", false, out->preshared_key,
			   &out->has_preshared_key, e)) ||
	    (ret = get_key(j, what, "private_key", false, out->private_key,
			   &out->has_private_key, e)))
		goto fail;
	if ((ret = get_address(j, what, "ipv4", AF_INET, false, true, &p, NULL, e)))
		goto fail;
	out->ipv4 = p.addr.v4;
	if ((ret = get_address(j, what, "ipv6", AF_INET6, false, false, &p, &out->has_ipv6, e)))
		goto fail;
	if (out->has_ipv6)
		out->ipv6 = p.addr.v6;
	routes = json_object_get(j, "routes");
	if (routes && !json_is_null(routes)) {
		size_t i;

		if (!json_is_array(routes)) {
			control_error_set(e, "routes", "%s: \"routes\" must be a list of prefixes", what);
			ret = -EINVAL;
			goto fail;
		}
		if (json_array_size(routes) &&
		    !(out->routes = calloc(json_array_size(routes), sizeof(*out->routes)))) {
			ret = -ENOMEM;
			goto fail;
		}
		for (i = 0; i < json_array_size(routes); i++) {
			const json_t *r = json_array_get(routes, i);
			char field[32];

			snprintf(field, sizeof(field), "routes[%zu]", i);
			if (!json_is_string(r)) {
				control_error_set(e, field, "%s: %s must be a string", what, field);
				ret = -EINVAL;
				goto fail;
			}
			ret = model_parse_prefix(json_string_value(r), &out->routes[i], false);
			if (ret) {
				model_prefix_error(e, what, field, json_string_value(r), ret, &out->routes[i]);
				ret = -EINVAL;
				goto fail;
			}
			out->n_routes++;
		}
	}
	if ((ret = get_string(j, what, "dns", false, &s, e)) ||
	    (ret = dup_opt(s, &out->dns, "dns", e)))
		goto fail;
	if ((ret = get_string(j, what, "allowed_ips", false, &s, e)) ||
	    (ret = dup_opt(s, &out->allowed_ips, "allowed_ips", e)))
		goto fail;
	if ((ret = get_string(j, what, "endpoint", false, &s, e)) ||
	    (ret = dup_opt(s, &out->endpoint, "endpoint", e)))
		goto fail;
	if ((ret = firewall_rules_from_json(json_object_get(j, "firewall"), what,
					    &out->has_firewall, &out->firewall, &out->n_firewall,
					    e)))
		goto fail;
	if ((ret = get_int(j, what, "persistent_keepalive", false, 0, 65535, &v, e)))
		goto fail;
	out->persistent_keepalive = (uint16_t)v;
	out->enabled = true;
	if ((ret = get_bool(j, what, "enabled", &out->enabled, e)))
		goto fail;
	v = 0;
	if ((ret = get_int(j, what, "created", false, 0, INT64_MAX, &v, e)))
		goto fail;
	out->created = v;
	v = 0;
	if ((ret = get_int(j, what, "expires", false, 0, INT64_MAX, &v, e)))
		goto fail;
	out->expires = v;
	if ((ret = get_string(j, what, "disabled_reason", false, &s, e)))
		goto fail;
	if (!out->enabled) {
		if (!s)
			s = "manual";
		if (strlen(s) >= sizeof(out->disabled_reason)) {
			control_error_set(e, "disabled_reason", "%s: disabled_reason \"%s\" is not "
					  "manual, expired or revoked", what, model_quote(s, q, sizeof(q)));
			ret = -EINVAL;
			goto fail;
		}
		snprintf(out->disabled_reason, sizeof(out->disabled_reason), "%s", s);
	}
	if (!model_peer_validate(out, e)) {
		ret = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	model_peer_free(out);
	return ret;
}

/* ---- store form ---- */

char *model_json_dump(const json_t *j, size_t flags, size_t *len)
{
	char *out;
	size_t n;

	if (!j)
		return NULL;
	/* Not json_dumps: when its buffer fails to grow while it writes an
	 * object's key, jansson 2.14 drops the key and goes on, returning
	 * malformed text as a success (a record the store then holds but no
	 * one can read: tests/unit/torture_test.c).  Dumping into a buffer of
	 * the measured size allocates nothing half-way. */
	n = json_dumpb(j, NULL, 0, flags);
	out = n ? malloc(n + 1) : NULL;
	if (out && json_dumpb(j, out, n, flags) != n) {
		model_buffer_free(out, n);
		out = NULL;
	}
	if (!out)
		return NULL;
	out[n] = '\0';
	if (len)
		*len = n;
	return out;
}

static int encode(json_t *j, char **out, size_t *len)
{
	*out = model_json_dump(j, JSON_COMPACT, len);
	json_decref(j);
	return *out ? 0 : -ENOMEM;
}

int model_server_encode(const struct server_record *s, char **out, size_t *len)
{
	return encode(model_server_to_json(s, MODEL_JSON_SECRETS), out, len);
}

int model_peer_encode(const struct peer_record *p, char **out, size_t *len)
{
	return encode(model_peer_to_json(p, MODEL_JSON_SECRETS), out, len);
}

static json_t *decode(const uint8_t *buf, size_t len, const char *what, struct control_error *e)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!j)
		control_error_set(e, NULL, "%s record is not valid JSON (%s at byte %d); the store "
				  "may be damaged", what, jerr.text, jerr.position);
	explicit_bzero(&jerr, sizeof(jerr));
	return j;
}

int model_server_decode(const uint8_t *buf, size_t len, struct server_record *out,
			struct control_error *e)
{
	json_t *j = decode(buf, len, "server", e);
	int ret;

	memset(out, 0, sizeof(*out));
	if (!j)
		return -EINVAL;
	ret = model_server_from_json(j, out, e);
	json_decref(j);
	return ret;
}

int model_peer_decode(const uint8_t *buf, size_t len, struct peer_record *out,
		      struct control_error *e)
{
	json_t *j = decode(buf, len, "peer", e);
	int ret;

	memset(out, 0, sizeof(*out));
	if (!j)
		return -EINVAL;
	ret = model_peer_from_json(j, out, e);
	json_decref(j);
	return ret;
}

void model_buffer_free(char *buf, size_t len)
{
	if (buf) {
		explicit_bzero(buf, len);
		free(buf);
	}
}

/* ---- jansson's memory ---- */

static void wipe_free(void *p)
{
	if (p) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

static void install_wipe_free(void)
{
	json_set_alloc_funcs(malloc, wipe_free);
}

void model_json_wipe_on_free(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install_wipe_free);
}
