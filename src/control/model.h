/*
 * model.h - the records the control layer keeps in the secret store: the
 * server record ("server") and one peer record per peer ("peers/NAME"),
 * exactly as the JSON in docs/server.md, and their validation.
 *
 * In memory, keys are 32-byte arrays and addresses are struct in_addr /
 * in6_addr with a prefix length; in JSON, keys are base64 (as `wg` prints
 * them) and addresses are text.  Relies on jansson for JSON and on
 * src/common/encoding.h for base64.
 *
 * Ownership: a record owns its heap strings and its routes array;
 * model_server_free() / model_peer_free() wipe the keys and free them.
 * A record may be copied only with model_peer_copy() (deep copy).
 *
 * Errors for a person go into a struct control_error: the message quotes
 * the bad input (never a key), names the field and, where it can, suggests
 * the fix; `field` names the JSON field at fault so the admin API can
 * return it ("name", "routes[1]", "ipv4").
 */
#ifndef ZWG_MODEL_H
#define ZWG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>
#include <jansson.h>

#define MODEL_WUR __attribute__((warn_unused_result))

#define MODEL_KEY_LEN 32
#define MODEL_NAME_MAX 63		/* peer name: 1..63 of [A-Za-z0-9._-] */
#define MODEL_PREFIX_STRLEN 48		/* "ffff:...:ffff/128" + NUL, with room */

/* Defaults of a new server (linuxserver/wireguard's where they have one). */
#define MODEL_DEFAULT_PORT 51820
#define MODEL_DEFAULT_INTERFACE "zwg0"
#define MODEL_DEFAULT_SUBNET "10.13.13.0/24"
#define MODEL_DEFAULT_MTU 1420
#define MODEL_DEFAULT_CLIENT_ALLOWED_IPS "0.0.0.0/0, ::/0"
#define MODEL_DEFAULT_KEEPALIVE 25	/* PERSISTENTKEEPALIVE_PEERS' interval */

/* Store keys. */
#define MODEL_STORE_SERVER "server"
#define MODEL_STORE_PEER_PREFIX "peers/"

/* An error for a person (message) and for a program (field). */
struct control_error {
	char msg[384];		/* never holds key material */
	char field[48];		/* JSON field at fault, "" when none */
};
void control_error_clear(struct control_error *e);
/* Sets e (may be NULL) and returns nothing; field may be NULL. */
void control_error_set(struct control_error *e, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* An IPv4 or IPv6 prefix (a route, an AllowedIPs entry, an address). */
struct ip_prefix {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t len;		/* prefix length: 0..32 or 0..128 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	} addr;
};

struct server_record {
	uint8_t private_key[MODEL_KEY_LEN];
	uint16_t listen_port;
	char interface[IFNAMSIZ];
	struct in_addr ipv4;		/* the server's tunnel address ("10.13.13.1/24") */
	uint8_t ipv4_prefix;
	struct in6_addr ipv6;		/* "fdxx:xxxx:xxxx::1/64" (ULA /64) */
	uint8_t ipv6_prefix;
	char *endpoint;			/* "host", "host:port", "[v6]:port"; NULL = not set */
	char *dns;			/* DNS line for clients; NULL = none */
	char *client_allowed_ips;	/* AllowedIPs of client configs; NULL = the default */
	uint16_t persistent_keepalive;	/* client configs' default, 0 = off */
	uint16_t mtu;
	bool nat;
	int64_t created;
};

struct firewall_rule;

struct peer_record {
	char name[MODEL_NAME_MAX + 1];
	uint8_t public_key[MODEL_KEY_LEN];
	bool has_preshared_key;
	uint8_t preshared_key[MODEL_KEY_LEN];
	bool has_private_key;		/* kept only with keep_key / PEERS */
	/* In a copy without secrets: whether the original kept its private key. */
	bool key_kept;
	uint8_t private_key[MODEL_KEY_LEN];
	struct in_addr ipv4;		/* the peer's tunnel address (/32) */
	bool has_ipv6;			/* false only for imported IPv4-only peers */
	struct in6_addr ipv6;		/* (/128) */
	struct ip_prefix *routes;	/* site-to-site subnets behind the peer */
	size_t n_routes;
	char *dns;			/* override of the server's; NULL = server's */
	char *allowed_ips;		/* client-side AllowedIPs override; NULL = server's */
	char *endpoint;			/* where this server reaches the peer ("IP:PORT", a
					 * peer that listens: `zerowg app link`); NULL =
					 * learnt from the peer's packets */
	uint16_t persistent_keepalive;	/* both ends of this tunnel; 0 = server's default */
	bool enabled;
	/* The per-client firewall (firewall_rule.h): has_firewall false =
	 * unrestricted; else it may reach only firewall[0..n_firewall). */
	bool has_firewall;
	struct firewall_rule *firewall;
	size_t n_firewall;
	int64_t created;
	int64_t expires;		/* unix time, 0 = never */
	char disabled_reason[16];	/* "", "manual", "expired", "revoked" */
};

/* Peer names: 1..63 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool model_name_valid(const char *name, struct control_error *e) MODEL_WUR;

/*
 * "10.0.0.0/24", "fd00::/64", "10.0.0.1" (= /32), "::1" (= /128).
 * With allow_host_bits false, "10.0.0.1/24" is rejected (-EDOM, so the
 * caller can suggest the network form: model_prefix_mask()).  0 or -EINVAL.
 */
int model_parse_prefix(const char *text, struct ip_prefix *out, bool allow_host_bits);
void model_format_prefix(const struct ip_prefix *p, char *buf, size_t len);
/* Clears the host bits. */
void model_prefix_mask(struct ip_prefix *p);
/* true if the prefix `inner` lies inside `outer` (same family). */
bool model_prefix_contains(const struct ip_prefix *outer, const struct ip_prefix *inner);
bool model_prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b);
/*
 * A comma (and/or space) separated list, as wg-quick's AllowedIPs.
 * field names the list in messages ("allowed_ips", "ALLOWEDIPS"); what
 * names its owner ("peer \"x\"", "server"; may be NULL).  Appends to
 * *out / *n (realloc'd; free() them).  0 or -EINVAL with e set; on
 * failure *n is as before, and *out is freed (NULL) if *n was 0.
 */
int model_parse_prefix_list(const char *text, const char *what, const char *field,
			    bool allow_host_bits, struct ip_prefix **out, size_t *n,
			    struct control_error *e);
/* Checks a peer's client-side allowed_ips list (peer named name): 0 or
 * -EINVAL with e set. */
int model_peer_allowed_ips_check(const char *name, const char *allowed_ips,
				 struct control_error *e);
/* Formats a list as "a, b, c" into a malloc'd string (NULL on ENOMEM). */
char *model_format_prefix_list(const struct ip_prefix *p, size_t n);
/* true if s has a run of 40 or more base64 characters: it may be a key
 * (IPv6 addresses and host names never have such a run), so messages must
 * not quote it. */
bool model_may_hold_key(const char *s);

/*
 * When a peer expires: "never" or "0" (0), a duration from now ("90m",
 * "12h", "30d", "2w", "3600s"), a date ("2025-12-31", UTC midnight), a
 * time ("2025-12-31T18:00:00Z", "2025-12-31 18:00"), or unix seconds
 * ("1767225600").  0 or -EINVAL with e set (field "expires").
 */
int model_parse_expires(const char *text, int64_t now, int64_t *out, struct control_error *e);

/* Validation of a whole record; messages name the peer and the field:
 * peer "x": routes[1] "10.0.0.0/33" is not a prefix. */
bool model_server_validate(const struct server_record *s, struct control_error *e) MODEL_WUR;
bool model_peer_validate(const struct peer_record *p, struct control_error *e) MODEL_WUR;
/* Endpoint text: "host", "host:port", "1.2.3.4:51820", "[fd00::1]:51820". */
bool model_endpoint_valid(const char *text, struct control_error *e) MODEL_WUR;
/* DNS list: addresses and search domains, comma separated. */
bool model_dns_valid(const char *text, const char *field, struct control_error *e) MODEL_WUR;

/* JSON.  MODEL_JSON_SECRETS includes private_key / preshared_key (the store
 * form); without it the result is a view safe to show (the API form). */
#define MODEL_JSON_SECRETS 1u
json_t *model_server_to_json(const struct server_record *s, unsigned flags);
json_t *model_peer_to_json(const struct peer_record *p, unsigned flags);
/* Fills *out (zeroed first) and validates it.  0, -EINVAL (e set), -ENOMEM. */
int model_server_from_json(const json_t *j, struct server_record *out, struct control_error *e);
int model_peer_from_json(const json_t *j, struct peer_record *out, struct control_error *e);

/* JSON text of j (json_dumps' flags) in a malloc'd, NUL-terminated buffer,
 * its length in *len (may be NULL); NULL when out of memory.  Use it
 * instead of json_dumps, which can return text with a key missing when an
 * allocation fails half-way (jansson 2.14).  Free with model_buffer_free
 * (or free() when the text holds no secret). */
char *model_json_dump(const json_t *j, size_t flags, size_t *len);

/* Store form: compact JSON bytes with secrets, in a malloc'd buffer the
 * caller releases with model_buffer_free() (wipes). 0 or -ENOMEM. */
int model_server_encode(const struct server_record *s, char **out, size_t *len);
int model_peer_encode(const struct peer_record *p, char **out, size_t *len);
/* From store bytes (validated); messages name the record. */
int model_server_decode(const uint8_t *buf, size_t len, struct server_record *out,
			struct control_error *e);
int model_peer_decode(const uint8_t *buf, size_t len, struct peer_record *out,
		      struct control_error *e);
void model_buffer_free(char *buf, size_t len);

/* Wipe keys, free strings and routes; the record is zeroed afterwards. */
void model_server_free(struct server_record *s);
void model_peer_free(struct peer_record *p);
void model_peer_array_free(struct peer_record *p, size_t n);
/* Deep copy; with_secrets false leaves private/preshared key out (zeroed,
 * has_* false).  0 or -ENOMEM (dst then zeroed). */
int model_peer_copy(struct peer_record *dst, const struct peer_record *src, bool with_secrets);
int model_server_copy(struct server_record *dst, const struct server_record *src, bool with_secrets);

/*
 * Makes jansson wipe every buffer it frees (json_set_alloc_funcs), since
 * decoded and encoded records hold keys in jansson's own strings.  Call
 * once at start-up before any thread uses jansson; control_open() and
 * control_init_server() call it too (it runs once).
 */
void model_json_wipe_on_free(void);

#endif
