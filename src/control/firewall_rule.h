/*
 * firewall_rule.h - the per-client firewall's rules: what a restricted peer
 * may reach through the server (issue 11 §3), as text, in memory and in
 * JSON.  Enforcement is elsewhere (src/server/firewall.c, in the
 * privileged part); this file only parses, checks and formats.
 *
 * A rule is one allowed destination:
 *     PREFIX[:PORT[-PORT]][/tcp|/udp]
 *     10.0.0.0/8            anything in 10.0.0.0/8
 *     192.168.1.10:443/tcp  one host, TCP port 443
 *     10.0.0.0/8:1000-2000  TCP and UDP ports 1000..2000
 *     10.1.0.0/16/udp       every UDP port
 *     fd00::/8              IPv6 without a port: as is
 *     [fd00::/8]:53/udp     IPv6 with a port: in brackets
 * A host is written without its length (10.0.0.1, not 10.0.0.1/32); a
 * prefix with host bits set is refused with the network form suggested.
 * A peer's firewall is absent (unrestricted) or a list of at most
 * FIREWALL_MAX_RULES rules, possibly empty (it reaches nothing but the
 * server's DNS relay).  JSON: "firewall": {"allow": [RULE, ...]} or null.
 *
 * Relies on model.h (struct ip_prefix, struct control_error) and jansson.
 */
#ifndef ZWG_FIREWALL_RULE_H
#define ZWG_FIREWALL_RULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define FIREWALL_MAX_RULES 64
#define FIREWALL_RULE_TEXT_MAX 80	/* longest rule text accepted, without NUL */
#define FIREWALL_RULE_STRLEN 96		/* room for a formatted rule */

enum firewall_proto {
	FIREWALL_PROTO_ANY = 0,		/* with ports: TCP and UDP */
	FIREWALL_PROTO_TCP = 6,		/* IPPROTO_TCP */
	FIREWALL_PROTO_UDP = 17,	/* IPPROTO_UDP */
};

struct firewall_rule {
	struct ip_prefix dst;		/* masked */
	uint16_t port_lo, port_hi;	/* 0, 0 = every port; else 1 <= lo <= hi */
	uint8_t proto;			/* enum firewall_proto */
};

/* The form, for messages. */
#define FIREWALL_RULE_FORM "PREFIX[:PORT[-PORT]][/tcp|/udp] (for example 10.0.0.0/8, " \
	"192.168.1.10:443/tcp, [fd00::/8]:53/udp)"

/*
 * Parses one rule.  field names it in messages and in e->field ("allow"):
 * 'allow: "10.0.0.300" is not a firewall rule: ... write PREFIX...'.
 * 0 or -EINVAL with e set.
 */
int firewall_rule_parse(const char *text, const char *field, struct firewall_rule *out,
			struct control_error *e) __attribute__((warn_unused_result));
/* The canonical text (parses back to the same rule). */
void firewall_rule_format(const struct firewall_rule *r, char *buf, size_t len);
bool firewall_rule_equal(const struct firewall_rule *a, const struct firewall_rule *b);
/* Whether r is a rule firewall_rule_parse could have made. */
bool firewall_rule_valid(const struct firewall_rule *r);

/*
 * A list of rule texts, as the API and the CLI take it: at most
 * FIREWALL_MAX_RULES, no repeats.  what names the owner in messages
 * ("peer \"phone\"", may be NULL).  *out is malloc'd (NULL when n is 0).
 * 0, -EINVAL (e set) or -ENOMEM.
 */
int firewall_rules_parse(const char *const *texts, size_t n, const char *what,
			 struct firewall_rule **out, struct control_error *e)
	__attribute__((warn_unused_result));

/*
 * JSON.  from_json: j may be NULL or null (*set false) or {"allow":[...]}
 * (*set true; every rule checked as above).  to_json: null when !set.
 * from_json returns 0, -EINVAL (e set, field "firewall" or "allow") or
 * -ENOMEM; to_json NULL on ENOMEM.
 */
int firewall_rules_from_json(const json_t *j, const char *what, bool *set,
			     struct firewall_rule **out, size_t *n, struct control_error *e)
	__attribute__((warn_unused_result));
json_t *firewall_rules_to_json(bool set, const struct firewall_rule *r, size_t n);

#endif
