/*
 * netlink.h - the interface configuration `zerowg up` needs, spoken
 * directly to the kernel over rtnetlink (libmnl): addresses, MTU, link up,
 * routes for site-to-site subnets, and the interface that carries the
 * default route (the NAT egress).  No shelling out to ip(8).
 *
 * Every function works in the caller's network namespace, opens its own
 * short-lived socket (these are control-path calls, a handful per change)
 * and returns 0 or -errno.  On failure err (may be NULL) receives a message
 * for a person that includes the kernel's extended-ack text when the kernel
 * gave one ("Invalid prefix for given prefix length").
 */
#ifndef ZWG_NETLINK_H
#define ZWG_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

/* An address or a subnet: family AF_INET or AF_INET6, addr in network
 * order (4 or 16 bytes used), len the prefix length. */
struct netlink_prefix {
	int family;
	uint8_t addr[16];
	uint8_t len;
};

/* Parses "10.13.13.1/24", "fd00::1/64" or a bare address (full-length
 * prefix).  false on anything else. */
bool netlink_prefix_parse(struct netlink_prefix *p, const char *text)
	__attribute__((warn_unused_result));
/* Clears the host bits: "10.13.13.1/24" becomes "10.13.13.0/24". */
void netlink_prefix_mask(struct netlink_prefix *p);
/* "10.13.13.0/24"; buf of at least 64 bytes. */
void netlink_prefix_format(const struct netlink_prefix *p, char *buf, size_t len);

/* Adds an address to the interface (IPv6 with IFA_F_NODAD: the tunnel has
 * no neighbours to detect).  An address that is already there is fine. */
int netlink_addr_add(int ifindex, const struct netlink_prefix *p, char *err, size_t errlen);
/* Removes an address from the interface; one that is not there is fine. */
int netlink_addr_del(int ifindex, const struct netlink_prefix *p, char *err, size_t errlen);
/* Sets the MTU (mtu > 0) and brings the link up (up) or down. */
int netlink_link_set(int ifindex, int mtu, bool up, char *err, size_t errlen);
/* Adds / deletes a route for the subnet through the interface (scope
 * link, main table).  Adding an existing route and deleting a missing one
 * are fine. */
int netlink_route_add(int ifindex, const struct netlink_prefix *dst, char *err, size_t errlen);
int netlink_route_del(int ifindex, const struct netlink_prefix *dst, char *err, size_t errlen);
/* The interface of the default route of family (AF_INET or AF_INET6) in
 * the main table, the one with the lowest metric.  -ENETUNREACH if there
 * is none. */
int netlink_default_route_dev(int family, char ifname[IF_NAMESIZE], char *err, size_t errlen);

#endif
