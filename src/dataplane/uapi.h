/*
 * uapi.h - the cross-platform userspace API of WireGuard
 * (wireguard.com/xplatform), as wireguard-go answers it.
 *
 * This module only translates text <-> struct uapi_config; the device
 * (device.c) applies a parsed config and fills one for "get".  A set request
 * is parsed and validated whole before anything is applied, so a malformed
 * request changes nothing.  The client side (src/server/driver_uapi.c, which
 * drives another daemon as wg(8) does) uses the other two directions:
 * uapi_format_set and uapi_parse_get.
 *
 * The files: uapi.c (the config and its values), uapi_set.c (parse a set),
 * uapi_format.c (format a get answer or a set request), uapi_get.c (parse
 * a get answer), uapi_parser.c and uapi_internal.h (what they share).
 *
 * Key material in a uapi_config is wiped by uapi_config_free().
 */
#ifndef ZWG_UAPI_H
#define ZWG_UAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define UAPI_KEY_LEN 32

struct uapi_allowed_ip {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* as given (host bits not yet masked) */
	uint8_t cidr;
};

union uapi_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

struct uapi_peer {
	uint8_t public_key[UAPI_KEY_LEN];
	bool remove;
	bool update_only;
	bool has_preshared_key;
	uint8_t preshared_key[UAPI_KEY_LEN];	/* all zero = none */
	bool has_endpoint;
	union uapi_sockaddr endpoint;		/* sa_family 0 = none (get) */
	bool has_persistent_keepalive;
	uint16_t persistent_keepalive_interval;	/* seconds, 0 = off */
	bool replace_allowed_ips;
	struct uapi_allowed_ip *allowed_ips;
	size_t n_allowed_ips, cap_allowed_ips;
	/* filled by the device for get only */
	int64_t last_handshake_time_sec;
	int64_t last_handshake_time_nsec;
	uint64_t rx_bytes, tx_bytes;
};

struct uapi_config {
	bool has_private_key;
	uint8_t private_key[UAPI_KEY_LEN];	/* all zero = remove */
	bool has_listen_port;
	uint16_t listen_port;
	bool has_fwmark;
	uint32_t fwmark;			/* 0 = off */
	bool replace_peers;
	struct uapi_peer *peers;
	size_t n_peers, cap_peers;
};

void uapi_config_init(struct uapi_config *cfg);
/* Wipes keys and frees the arrays; cfg can be reused after init. */
void uapi_config_free(struct uapi_config *cfg);
/* Appends a zeroed peer (for device code building a get answer); NULL on ENOMEM. */
struct uapi_peer *uapi_config_add_peer(struct uapi_config *cfg);
int uapi_peer_add_allowed_ip(struct uapi_peer *p, int family, const uint8_t *addr, uint8_t cidr);

/*
 * Parses the body of a set request: the lines after "set=1", up to (not
 * including) the blank line.  Returns 0, or a negative errno for the reply:
 * -EINVAL for a bad value, -EPROTO for an unknown key or a key out of
 * place (e.g. a peer key before any public_key).  On error err gets a
 * message naming the key and quoting the value (keys are never quoted:
 * "invalid private_key" only).
 */
int uapi_parse_set(const char *body, size_t len, struct uapi_config *cfg,
		   char *err, size_t errlen);

/*
 * Formats a get answer, including the final "errno=0\n\n", into a
 * malloc'd buffer.  Device lines: private_key (if has_private_key and not
 * zero), listen_port (if has_listen_port), fwmark (if nonzero).  Per peer:
 * public_key, preshared_key (always, zeros if none), protocol_version=1,
 * endpoint (if any; IPv6 as [addr]:port), last_handshake_time_sec/nsec,
 * tx_bytes, rx_bytes, persistent_keepalive_interval, allowed_ip (each).
 * Returns 0 or -ENOMEM.  The caller wipes and frees *out (it holds keys).
 */
int uapi_format_get(const struct uapi_config *cfg, char **out, size_t *out_len);

/*
 * Formats cfg as a complete set request, from "set=1\n" through the final
 * blank line, into a malloc'd buffer (the inverse of uapi_parse_set):
 * private_key if has_private_key (zeros remove the key), listen_port if
 * has_listen_port, fwmark if has_fwmark, replace_peers=true; per peer
 * public_key, then remove=true and nothing else if remove, otherwise
 * update_only, preshared_key if has_preshared_key, endpoint if
 * has_endpoint, persistent_keepalive_interval if has_persistent_keepalive,
 * replace_allowed_ips, and each allowed_ip.  Returns 0, -EINVAL for an
 * endpoint or allowed IP of no known family (a caller bug: nothing is
 * dropped silently from a set), or -ENOMEM.  The caller wipes and frees
 * *out (it holds keys).
 */
int uapi_format_set(const struct uapi_config *cfg, char **out, size_t *out_len);

/* Bounds on a get answer that uapi_parse_get accepts.  64 MiB holds about
 * 150,000 peers as wireguard-go formats them. */
#define UAPI_GET_MAX_ANSWER (64u << 20)
#define UAPI_GET_MAX_PEERS (1u << 19)
#define UAPI_GET_MAX_ALLOWED_IPS (1u << 21)	/* over all peers */
#define UAPI_GET_MAX_LINE 4096			/* without the newline */

/*
 * Parses a complete get answer: the lines a daemon sends after "get=1",
 * through the final "errno=N" line and the blank line, nothing after.
 * cfg is filled as device_get_config fills one: has_private_key only for
 * a nonzero key, has_fwmark only for a nonzero mark, has_listen_port if
 * the line is there; per peer has_preshared_key and
 * has_persistent_keepalive always (a missing line means none / off),
 * has_endpoint if the line is there.  remove, update_only,
 * replace_allowed_ips and replace_peers stay false.
 *
 * Unknown keys are ignored, at device and at peer level, as wg(8) does
 * (wireguard-go may add keys); a key must still look like one
 * ([a-z0-9_]+).  Everything else is strict: a known key with a bad value,
 * a device key after a public_key, a peer key before one, a key given
 * twice in one section, a public key listed twice, protocol_version other
 * than 1, a blank line before errno, a NUL, a line over
 * UAPI_GET_MAX_LINE, a missing newline or trailing data.
 *
 * Returns 0 (errno=0); minus the daemon's errno for errno=N with N != 0
 * (wireguard-go and zerowgd send "errno=-22", the positive form is
 * accepted too); -EPROTO for a malformed answer; -EMSGSIZE past
 * UAPI_GET_MAX_ANSWER, _PEERS or _ALLOWED_IPS; -ENOMEM.  On any error cfg
 * is left empty and err says why, naming the line ("line 7: listen_port
 * \"x\" is not a number in 0..65535"); key values are never quoted.
 */
int uapi_parse_get(const char *text, size_t len, struct uapi_config *cfg,
		   char *err, size_t errlen);

/* Endpoint text <-> sockaddr: "1.2.3.4:51820", "[::1]:51820",
 * "[fe80::1%eth0]:51820".  parse returns 0 or -EINVAL. */
int uapi_parse_endpoint(const char *s, union uapi_sockaddr *out);
void uapi_format_endpoint(const union uapi_sockaddr *sa, char *buf, size_t len);

/* "10.0.0.0/24", "fd00::/64", "10.0.0.1" (= /32).  0 or -EINVAL. */
int uapi_parse_allowed_ip(const char *s, struct uapi_allowed_ip *out);

#endif
