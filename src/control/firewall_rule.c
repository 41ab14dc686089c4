/*
 * firewall_rule.c - parsing, checking and formatting of the per-client
 * firewall's rules (firewall_rule.h).  Pure functions; the prefix itself
 * is model_parse_prefix's, so a rule's address reads as a route's does.
 */
#include "firewall_rule.h"
#include "model_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Sets e for text at field: "<what>: <field> "<text>" is not a firewall
 * rule: <why>; write <the form>". */
static void rule_error(struct control_error *e, const char *what, const char *field,
		       const char *text, const char *why)
{
	char q[FIREWALL_RULE_TEXT_MAX + 16];

	control_error_set(e, field, "%s%s%s \"%s\" is not a firewall rule: %s; write "
			  FIREWALL_RULE_FORM, what ? what : "", what ? ": " : "", field,
			  model_quote(text, q, sizeof(q)), why);
}

/* "443" or "1000-2000": 1..65535, lo <= hi.  false if not. */
static bool parse_ports(const char *s, size_t len, uint16_t *lo, uint16_t *hi)
{
	unsigned v[2] = { 0, 0 };
	size_t digits = 0;
	int k = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '-' && k == 0 && digits) {
			k = 1;
			digits = 0;
			continue;
		}
		if (c < '0' || c > '9' || digits == 5 || (digits == 1 && v[k] == 0))
			return false;	/* not a digit, too long, or a leading zero */
		v[k] = v[k] * 10 + (unsigned)(c - '0');
		digits++;
	}
	if (!digits)
		return false;
	if (k == 0)
		v[1] = v[0];
	if (v[0] < 1 || v[1] > 65535 || v[0] > v[1])
		return false;
	*lo = (uint16_t)v[0];
	*hi = (uint16_t)v[1];
	return true;
}

static int parse_rule(const char *text, const char *what, const char *field,
		      struct firewall_rule *out, struct control_error *e)
{
	char buf[FIREWALL_RULE_TEXT_MAX + 1], why[160], q[96];
	const char *ports = NULL;
	size_t len = strlen(text), plen = 0;
	char *addr = buf, *end;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		rule_error(e, what, field, text, "it is empty");
		return -EINVAL;
	}
	if (len > FIREWALL_RULE_TEXT_MAX) {
		/* not quoted: a pasted key would be this long */
		control_error_set(e, field, "%s%s%s has a rule of %zu characters, longer than "
				  "%d; write " FIREWALL_RULE_FORM, what ? what : "",
				  what ? ": " : "", field, len, FIREWALL_RULE_TEXT_MAX);
		return -EINVAL;
	}
	memcpy(buf, text, len + 1);
	end = buf + len;
	if (len > 4 && (!strcmp(end - 4, "/tcp") || !strcmp(end - 4, "/udp"))) {
		out->proto = end[-3] == 't' ? FIREWALL_PROTO_TCP : FIREWALL_PROTO_UDP;
		end -= 4;
		*end = '\0';
	}
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close) {
			rule_error(e, what, field, text, "'[' without ']'");
			return -EINVAL;
		}
		*close = '\0';
		addr = buf + 1;
		if (close[1] == ':') {
			ports = close + 2;
			plen = (size_t)(end - ports);
		} else if (close[1]) {
			rule_error(e, what, field, text, "after ']' only :PORT or :PORT-PORT may "
				   "follow");
			return -EINVAL;
		}
		if (!strchr(addr, ':')) {
			rule_error(e, what, field, text, "brackets are for IPv6 addresses (an IPv4 "
				   "port follows the prefix: 10.0.0.1:443)");
			return -EINVAL;
		}
	} else {
		char *colon = strchr(buf, ':');

		if (colon && strchr(colon + 1, ':')) {
			/* IPv6 without brackets: no port */
		} else if (colon) {
			*colon = '\0';
			ports = colon + 1;
			plen = (size_t)(end - ports);
		}
	}
	if (ports && !parse_ports(ports, plen, &out->port_lo, &out->port_hi)) {
		snprintf(why, sizeof(why), "\"%.*s\" is not a port (1-65535) or a range of ports "
			 "(1000-2000)", (int)(plen < 16 ? plen : 16), ports);
		if (model_may_hold_key(ports))
			snprintf(why, sizeof(why), "the port is not a port (1-65535)");
		rule_error(e, what, field, text, why);
		return -EINVAL;
	}
	ret = model_parse_prefix(addr, &out->dst, false);
	if (ret == -EDOM) {
		struct ip_prefix m = out->dst;
		char net[MODEL_PREFIX_STRLEN];

		model_prefix_mask(&m);
		model_format_prefix(&m, net, sizeof(net));
		snprintf(why, sizeof(why), "\"%s\" has host bits set (did you mean %s?)",
			 model_quote(addr, q, sizeof(q)), net);
		rule_error(e, what, field, text, why);
		return -EINVAL;
	}
	if (ret < 0) {
		if (!strchr(addr, ':') && strchr(text, ':') && text[0] != '[' &&
		    strchr(strchr(text, ':') + 1, ':'))
			snprintf(why, sizeof(why), "an IPv6 address with a port goes in brackets "
				 "([fd00::1]:443)");
		else
			snprintf(why, sizeof(why), "\"%s\" is not an address or prefix",
				 model_quote(addr, q, sizeof(q)));
		rule_error(e, what, field, text, why);
		return -EINVAL;
	}
	return 0;
}

int firewall_rule_parse(const char *text, const char *field, struct firewall_rule *out,
			struct control_error *e)
{
	return parse_rule(text ? text : "", NULL, field ? field : "allow", out, e);
}

void firewall_rule_format(const struct firewall_rule *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], pfx[INET6_ADDRSTRLEN + 8], ports[16] = "";
	bool v6 = r->dst.family == AF_INET6;

	if (!inet_ntop(r->dst.family, &r->dst.addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (r->dst.len == model_max_len(r->dst.family))
		snprintf(pfx, sizeof(pfx), "%s", a);
	else
		snprintf(pfx, sizeof(pfx), "%s/%u", a, r->dst.len);
	if (r->port_lo == r->port_hi && r->port_lo)
		snprintf(ports, sizeof(ports), ":%u", r->port_lo);
	else if (r->port_lo)
		snprintf(ports, sizeof(ports), ":%u-%u", r->port_lo, r->port_hi);
	snprintf(buf, len, "%s%s%s%s%s", v6 && ports[0] ? "[" : "", pfx,
		 v6 && ports[0] ? "]" : "", ports,
		 r->proto == FIREWALL_PROTO_TCP ? "/tcp" :
		 r->proto == FIREWALL_PROTO_UDP ? "/udp" : "");
}

bool firewall_rule_equal(const struct firewall_rule *a, const struct firewall_rule *b)
{
	return model_prefix_equal(&a->dst, &b->dst) && a->port_lo == b->port_lo &&
	       a->port_hi == b->port_hi && a->proto == b->proto;
}

bool firewall_rule_valid(const struct firewall_rule *r)
{
	struct ip_prefix m = r->dst;

	if ((r->dst.family != AF_INET && r->dst.family != AF_INET6) ||
	    r->dst.len > model_max_len(r->dst.family))
		return false;
	model_prefix_mask(&m);
	if (memcmp(m.addr.bytes, r->dst.addr.bytes, sizeof(m.addr.bytes)))
		return false;
	if (r->proto != FIREWALL_PROTO_ANY && r->proto != FIREWALL_PROTO_TCP &&
	    r->proto != FIREWALL_PROTO_UDP)
		return false;
	if (!r->port_lo)
		return !r->port_hi;
	return r->port_lo <= r->port_hi;
}

int firewall_rules_parse(const char *const *texts, size_t n, const char *what,
			 struct firewall_rule **out, struct control_error *e)
{
	struct firewall_rule *rules = NULL;
	int ret;

	*out = NULL;
	if (n > FIREWALL_MAX_RULES) {
		control_error_set(e, "allow", "%s%s%zu firewall rules are more than %d; merge "
				  "destinations into wider prefixes or port ranges",
				  what ? what : "", what ? ": " : "", n, FIREWALL_MAX_RULES);
		return -EINVAL;
	}
	if (n && !(rules = calloc(n, sizeof(*rules)))) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		ret = parse_rule(texts[i] ? texts[i] : "", what, "allow", &rules[i], e);
		if (ret < 0)
			goto fail;
		for (size_t k = 0; k < i; k++) {
			if (firewall_rule_equal(&rules[k], &rules[i])) {
				char q[FIREWALL_RULE_TEXT_MAX + 16];

				control_error_set(e, "allow", "%s%sallow \"%s\" is given twice (rules "
						  "%zu and %zu): remove one", what ? what : "",
						  what ? ": " : "", model_quote(texts[i], q, sizeof(q)),
						  k + 1, i + 1);
				ret = -EINVAL;
				goto fail;
			}
		}
	}
	*out = rules;
	return 0;
fail:
	free(rules);
	return ret;
}

int firewall_rules_from_json(const json_t *j, const char *what, bool *set,
			     struct firewall_rule **out, size_t *n, struct control_error *e)
{
	const char **texts = NULL;
	const json_t *allow;
	size_t count, i;
	int ret;

	*set = false;
	*out = NULL;
	*n = 0;
	if (!j || json_is_null(j))
		return 0;
	allow = json_is_object(j) ? json_object_get(j, "allow") : NULL;
	if (!allow || !json_is_array(allow) || json_object_size(j) != 1) {
		control_error_set(e, "firewall", "%s%s\"firewall\" must be null or {\"allow\": "
				  "[RULE, ...]}", what ? what : "", what ? ": " : "");
		return -EINVAL;
	}
	count = json_array_size(allow);
	if (count > FIREWALL_MAX_RULES)
		return firewall_rules_parse(NULL, count, what, out, e);
	if (count && !(texts = calloc(count, sizeof(*texts)))) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		texts[i] = json_string_value(json_array_get(allow, i));
		if (!texts[i]) {
			control_error_set(e, "allow", "%s%sallow[%zu] is not a string: write each "
					  "rule as " FIREWALL_RULE_FORM, what ? what : "",
					  what ? ": " : "", i);
			free(texts);
			return -EINVAL;
		}
	}
	ret = firewall_rules_parse(texts, count, what, out, e);
	free(texts);
	if (ret == 0) {
		*set = true;
		*n = count;
	}
	return ret;
}

json_t *firewall_rules_to_json(bool set, const struct firewall_rule *r, size_t n)
{
	json_t *o, *allow;
	char text[FIREWALL_RULE_STRLEN];

	if (!set)
		return json_null();
	o = json_object();
	allow = json_array();
	if (!o || !allow || json_object_set(o, "allow", allow))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		firewall_rule_format(&r[i], text, sizeof(text));
		if (json_array_append_new(allow, json_string(text)))
			goto fail;
	}
	json_decref(allow);
	return o;
fail:
	json_decref(allow);
	json_decref(o);
	return NULL;
}
