/*
 * nat.h - forwarding and NAT for `zerowg up` (on by default for a new
 * store, --no-nat turns it off): clients reach the networks behind the
 * server, the internet included, with the server's address.
 *
 * What it sets up, all of it undone by nat_teardown():
 *   - an nftables table "inet zerowg_<ifname>" (libnftables): masquerade
 *     for the tunnel subnets going out of the egress interface, and accept
 *     rules in forward for traffic from and back to the tunnel;
 *   - net.ipv4.ip_forward and net.ipv6.conf.all.forwarding set to 1, the
 *     old values remembered and written back.
 * The egress interface is the one carrying the default route (netlink.h),
 * looked up per family; a family without a default route gets no rule.
 *
 * Relies on netlink.h and libnftables; needs CAP_NET_ADMIN.  Not thread
 * safe: the server's main thread sets up and tears down.
 */
#ifndef ZWG_NAT_H
#define ZWG_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>

struct nat {
	char table[IF_NAMESIZE + 8];	/* zerowg_<ifname>, "" when not set up */
	char egress4[IF_NAMESIZE];	/* "" = no IPv4 rule */
	char egress6[IF_NAMESIZE];
	char old_forward4[8];		/* "" = not changed by us */
	char old_forward6[8];
};

/*
 * Sets up NAT for the tunnel interface ifname and its subnets (text as in
 * the server record, "10.13.13.1/24"; either may be NULL or "").  A table
 * of the same name left by a crashed run is replaced.  0 or -errno with a
 * message in err; on failure nothing is left behind.
 */
int nat_setup(struct nat *nat, const char *ifname, const char *subnet4, const char *subnet6,
	      char *err, size_t errlen);
/* Deletes the table and restores the forwarding switches.  Safe to call
 * on a struct nat that was never set up (zeroed) and twice. */
void nat_teardown(struct nat *nat);

/*
 * The start-up line saying what NAT does and how to turn it off (or on):
 * "NAT: clients' traffic to the internet leaves through eth0 (IPv4) and
 * eth0 (IPv6), masqueraded; turn it off with --no-nat", or, on a struct
 * nat that is not set up, "NAT: off ...".
 */
void nat_describe(const struct nat *nat, char *buf, size_t len);

/* The nft script nat_setup runs (exposed for tests).  0 or -EINVAL if a
 * name or subnet is not acceptable.  buf is filled with the text. */
int nat_ruleset(char *buf, size_t len, const char *table, const char *ifname,
		const char *egress4, const char *subnet4, const char *egress6, const char *subnet6);

/* Runs an nft script in one transaction (libnftables); what names it in
 * messages.  0, or -ENOMEM / -EIO with nft's own message, on one line, in
 * err.  The per-client firewall (firewall.c) uses it too. */
int nat_run_nft(const char *script, const char *what, char *err, size_t errlen);

#endif
