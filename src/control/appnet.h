/*
 * appnet.h - the pure part of application networks (`zerowg app`,
 * docs/apps.md): their names, and how each gets its addresses and port
 * without colliding with the others of the same data directory.
 *
 * Every app of one data directory shares one ULA /48 (RFC 4193: fd00::/8
 * plus a random 40-bit global ID, made at the first `app create`) and
 * takes a /64 of it; its IPv4 subnet is a /24 of a private /16
 * (APPNET_IPV4_POOL) unless given.  The name becomes the interface's and
 * the network namespace's (/run/netns/NAME), hence IFNAMSIZ.
 *
 * Relies on model.h (struct ip_prefix, struct control_error).  No I/O.
 */
#ifndef ZWG_APPNET_H
#define ZWG_APPNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define APPNET_NAME_MAX 15		/* an interface name: IFNAMSIZ - 1 */
#define APPNET_IPV4_POOL "10.14.0.0/16"	/* one /24 per app */
#define APPNET_IPV4_LEN 24
#define APPNET_FIRST_PORT 51900
#define APPNET_LAST_PORT 52899

/* [a-z0-9][a-z0-9_-]{0,14}.  false with e set (the name quoted, the rule
 * and an example given). */
bool appnet_name_valid(const char *name, struct control_error *e) MODEL_WUR;

/* The ULA /48 fdXX:XXXX:XXXX::/48 of a 40-bit global ID (RFC 4193 3.1). */
void appnet_ula48(const uint8_t global_id[5], struct ip_prefix *out);

/* Whether p is a ULA /48 (fd00::/8, length 48, no host bits). */
bool appnet_ula48_valid(const struct ip_prefix *p);

/*
 * The first /24 of pool (from its second: x.y.0.0/24 is skipped, so that
 * numbers read as app numbers) that overlaps none of used[0..n).  0, or
 * -ENOSPC when every one is taken, -EINVAL if pool is not IPv4 or longer
 * than /24.
 */
int appnet_next_ipv4(const struct ip_prefix *pool, const struct ip_prefix *used, size_t n,
		     struct ip_prefix *out);

/*
 * The first /64 of the ULA /48 (subnet IDs 1..65535) that overlaps none of
 * used[0..n) (IPv4 entries are ignored).  0, -ENOSPC, or -EINVAL if ula48
 * is not a /48.
 */
int appnet_next_ipv6(const struct ip_prefix *ula48, const struct ip_prefix *used, size_t n,
		     struct ip_prefix *out);

/*
 * The first port of first..last that is not in used[0..n) and for which
 * is_free (may be NULL) says yes.  0, or -ENOSPC.
 */
int appnet_next_port(uint16_t first, uint16_t last, const uint16_t *used, size_t n,
		     bool (*is_free)(uint16_t port, void *arg), void *arg, uint16_t *out);

/* The host address of a subnet: its first one (10.14.1.1, fd..:1::1). */
void appnet_first_host(const struct ip_prefix *subnet, struct ip_prefix *out);

#endif
