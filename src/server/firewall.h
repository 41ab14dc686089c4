/*
 * firewall.h - the per-client firewall's enforcement (issue 11 §3): an
 * nftables table of zerowg's own, "inet zerowg_fw_<ifname>", that the
 * privileged part installs and replaces whole, in one transaction, each
 * time the set of restricted peers changes.
 *
 * What the table does (firewall_ruleset):
 *   - a forward-hook chain (priority filter - 10): a packet that enters from
 *     the tunnel interface with the source of a restricted peer (its
 *     addresses and the subnets behind it; the longest prefix first, as
 *     WireGuard's cryptokey routing attributes it) jumps to that peer's
 *     chain;
 *   - an input-hook chain for what the peer sends to the server itself:
 *     DNS (port 53, the server's relay) and ping are always allowed, any
 *     other local service (the web UI on 51821, ssh) follows the peer's
 *     allow list like a forwarded destination;
 *   - a peer's chain accepts answers to connections others opened to it
 *     (ct direction reply) and ICMP errors about its flows (ct state
 *     related), then its allowed destinations, and rejects the rest: TCP
 *     with a reset, anything else with ICMP administratively prohibited,
 *     so that a client is told at once instead of timing out.  A peer's
 *     own connections to a destination it may no longer reach stop at the
 *     change: they are not let through as "established".
 * Unrestricted peers match nothing and are untouched; the NAT table's
 * accept does not override a drop here (each base chain decides alone).
 * With no restricted peer there is no table.
 *
 * A struct firewall_spec is the whole desired state: peers, each with its
 * sources and allowed destinations (the wire carries it as FW_BEGIN,
 * FW_PEER, FW_SOURCE..., FW_ALLOW..., FW_COMMIT: priv.h).  The server
 * builds it from the peer records (firewall_spec_from_peers), the
 * privileged part from the messages.
 *
 * Relies on netlink.h (prefixes), textbuf.h and libnftables; applying needs
 * CAP_NET_ADMIN in the tunnel's network namespace.  Not thread safe: one
 * owner per struct.
 */
#ifndef ZWG_FIREWALL_H
#define ZWG_FIREWALL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink.h"

/* Bounds the privileged part enforces on one spec. */
#define FIREWALL_MAX_PEERS 4096		/* restricted peers */
#define FIREWALL_MAX_SOURCES 64		/* sources of one peer */
#define FIREWALL_MAX_ALLOWS 64		/* rules of one peer (FIREWALL_MAX_RULES) */

/* One allowed destination.  proto 0 with ports: TCP and UDP. */
struct firewall_allow {
	struct netlink_prefix dst;	/* masked */
	uint16_t port_lo, port_hi;	/* 0, 0 = every port; else 1 <= lo <= hi */
	uint8_t proto;			/* 0, IPPROTO_TCP or IPPROTO_UDP */
};

struct firewall_peer {
	size_t first_src, n_src;	/* into spec->src */
	size_t first_allow, n_allow;	/* into spec->allow */
};

struct firewall_spec {
	struct netlink_prefix *src;
	size_t n_src, cap_src;
	struct firewall_allow *allow;
	size_t n_allow, cap_allow;
	struct firewall_peer *peers;
	size_t n_peers, cap_peers;
};

/* A zeroed spec is empty and valid.  clear frees and zeroes it. */
void firewall_spec_clear(struct firewall_spec *spec);
/* Start a new peer; sources and allows are added to the last one.  0,
 * -ENOSPC (past a bound), -EBADF (no peer yet: source or allow), -EINVAL
 * (a prefix or port range that is not valid), -ENOMEM. */
int firewall_spec_add_peer(struct firewall_spec *spec);
int firewall_spec_add_source(struct firewall_spec *spec, const struct netlink_prefix *src);
int firewall_spec_add_allow(struct firewall_spec *spec, const struct firewall_allow *a);
bool firewall_spec_equal(const struct firewall_spec *a, const struct firewall_spec *b);

/* The server's side: every peer record with a firewall becomes a peer of
 * the spec (its IPv4 and IPv6 address and its routes as sources, disabled
 * peers included: they cannot send, and enabling one needs no change
 * here).  0, -ENOSPC or -ENOMEM (spec cleared first, and again on error). */
struct peer_record;
int firewall_spec_from_peers(struct firewall_spec *spec, const struct peer_record *peers,
			     size_t n);

/* The table's name for interface ifname: "zerowg_fw_" and ifname with
 * every character but letters and digits made '_'. */
void firewall_table_name(char *buf, size_t len, const char *ifname);

/*
 * The nft script that replaces the table with spec in one transaction
 * (with no peers: deletes it).  *out is malloc'd text.  0, -EINVAL (ifname
 * cannot be used in a rule, or the spec breaks a bound) or -ENOMEM.
 */
int firewall_ruleset(char **out, const char *ifname, const struct firewall_spec *spec);

/* The privileged part's state: which table it installed. */
struct firewall {
	char table[IF_NAMESIZE + 16];	/* "" when none */
};

/* Installs spec for ifname (replacing whatever was there; none for an
 * empty spec).  0 or -errno with nft's message in err; on failure the old
 * table stays as it was. */
int firewall_apply(struct firewall *fw, const char *ifname, const struct firewall_spec *spec,
		   char *err, size_t errlen);
/* Deletes the table.  Safe on a zeroed struct and twice. */
void firewall_teardown(struct firewall *fw);

#endif
