/*
 * wgconf.h - a parser of wg-quick .conf files, for `zerowg import`.
 *
 * Sections [Interface] and [Peer]; keys case-insensitive; '#' comments
 * (whole line or trailing); AllowedIPs, Address and DNS may be repeated
 * and take comma lists; wg-quick's scripts and table settings (PostUp,
 * PreDown, Table, SaveConfig, FwMark...) are recognised and ignored with a
 * warning.  A peer's name is taken from a comment: the comment lines right
 * above its [Peer] line or the first comment inside the section, as
 * "# Name = x", "# friendly_name = x", "# x", or linuxserver's "# peer_x".
 *
 * Errors quote the line number and the line, except that a line holding
 * a key (PrivateKey, PresharedKey, PublicKey) is never quoted, only named.
 */
#ifndef ZWG_WGCONF_H
#define ZWG_WGCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct wgconf_peer {
	char *name;			/* from a comment; NULL if none */
	uint8_t public_key[MODEL_KEY_LEN];
	bool has_preshared_key;
	uint8_t preshared_key[MODEL_KEY_LEN];
	struct ip_prefix *allowed_ips;	/* host bits cleared */
	size_t n_allowed_ips;
	char *endpoint;			/* NULL if none */
	uint16_t persistent_keepalive;
	int line;			/* line of its [Peer] */
};

struct wgconf {
	bool has_private_key;
	uint8_t private_key[MODEL_KEY_LEN];
	uint16_t listen_port;		/* 0 = not given */
	struct ip_prefix *addresses;	/* host bits kept: "10.13.13.1/24" */
	size_t n_addresses;
	char *dns;			/* joined "a, b"; NULL if none */
	uint16_t mtu;			/* 0 = not given */
	struct wgconf_peer *peers;
	size_t n_peers;
	char **warnings;		/* for a person: "line 7: PostUp is ignored" */
	size_t n_warnings;
};

/*
 * Parses text (need not be NUL-terminated).  0, or -EINVAL with e set
 * ("line 12: \"AllowedIPs = 10.0.0.300/32\": \"10.0.0.300/32\" is not a
 * prefix"), or -ENOMEM.  On error *out is left empty (freed).
 */
int wgconf_parse(const char *text, size_t len, struct wgconf *out, struct control_error *e);
/* Wipes the keys and frees everything. */
void wgconf_free(struct wgconf *c);

#endif
