/*
 * apply.h - hot apply: bring the running data plane to the desired
 * configuration with the smallest set request, so that a change to one
 * peer never disturbs another (DESIGN.md: "applies changes as a diff, no
 * session drops").
 *
 * The diff compares the data plane's current state (driver_get_config)
 * with the desired one (built by the control layer from the store) and asks for:
 *   - the private key and listen port only if they differ;
 *   - removal of every peer the device has and the desired config lacks
 *     (disabled, revoked, expired peers, and the old key of a rotated one:
 *     its sessions die at once);
 *   - a full entry for every new peer;
 *   - for a peer present on both sides, only what changed: the PSK, the
 *     keepalive, the endpoint (only if the desired config names one) and
 *     the allowed IPs (replace_allowed_ips, only if the set differs);
 *   - nothing at all for an unchanged peer: its sessions, counters and
 *     last handshake survive.
 *
 * It also keeps the kernel routes for site-to-site subnets: every allowed
 * IP of a desired peer that lies outside the server's own tunnel subnets
 * gets a route through the interface, and routes no peer needs any more
 * are deleted.  Routes are set through a function the caller gives (the
 * privileged part's, or netlink.h's directly).
 *
 * Relies on the driver seam (driver.h) and uapi.h, never on struct device:
 * the data plane may be this process's or another one's.
 * Threads: apply_run() runs on any one thread at a time (the server's
 * apply lock); the driver carries each get and set to the data plane.  The
 * route bookkeeping has its own mutex (a leaf) so it can be freed from
 * anywhere.
 */
#ifndef ZWG_APPLY_H
#define ZWG_APPLY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "netlink.h"
#include "uapi.h"

struct driver;

/* Adds (add) or deletes a route for dst through the tunnel interface.  0
 * or -errno with a message in err. */
typedef int (*apply_route_fn)(void *ctx, bool add, const struct netlink_prefix *dst, char *err,
			      size_t errlen);

/* What one apply changed (for logs and tests). */
struct apply_counts {
	size_t added, removed, updated, unchanged;
	bool identity_changed, port_changed;
};

/*
 * Pure: the set request turning cur into desired, in out (initialised by
 * the caller with uapi_config_init; free with uapi_config_free).  0 or
 * -ENOMEM.  counts may be NULL.  Allowed IPs are compared as sets of
 * masked prefixes; duplicate keys in desired are the caller's bug (the
 * last one wins).
 */
int apply_diff(const struct uapi_config *cur, const struct uapi_config *desired,
	       struct uapi_config *out, struct apply_counts *counts);

struct apply_routes {
	/* Protects the fields below; a leaf lock. */
	pthread_mutex_t lock;
	apply_route_fn route;			/* NULL = do not manage routes */
	void *route_ctx;
	struct netlink_prefix own[2];		/* the tunnel subnets (masked) */
	size_t n_own;
	struct netlink_prefix *installed;	/* routes we added */
	size_t n_installed;
};

void apply_routes_init(struct apply_routes *r, apply_route_fn route, void *route_ctx);
/* A subnet of the server itself ("10.13.13.1/24"); its addresses need no
 * route of their own.  Ignored if text does not parse. */
void apply_routes_add_own(struct apply_routes *r, const char *text);
/* Replaces the own subnets (after the server's addresses changed). */
void apply_routes_set_own(struct apply_routes *r, const char *text4, const char *text6);
/* Deletes every route we added (at shutdown the interface takes them
 * along anyway) and frees the list. */
void apply_routes_free(struct apply_routes *r, bool delete_routes);

/* Fills cfg (initialised) with the desired configuration.  0 or -errno. */
typedef int (*apply_desired_fn)(void *ctx, struct uapi_config *cfg);

/*
 * Brings the data plane behind drv to the desired configuration
 * (desired_fn is called here, so the snapshot is taken by the same apply
 * that sets it: two applies serialised by the caller can never cross and
 * re-add a peer that was just removed), then makes the routes match.  0
 * or -errno; err gets a message for a person.  routes and counts may be
 * NULL.
 */
int apply_run(struct driver *drv, struct apply_routes *routes, apply_desired_fn desired_fn,
	      void *desired_ctx, struct apply_counts *counts, char *err, size_t errlen);

/*
 * The same for only the peers whose public key is among keys (the control
 * layer's notes of what changed): the device's entries for those keys are
 * brought to what src says of them, and no other peer is read or touched,
 * so one change among 10,000 peers costs what it costs among ten.  The
 * routes are still computed from every desired peer (src->prefixes: a walk
 * without copies).  The identity and listen port are compared as in
 * apply_run.  A peer changed behind the server's back (`wg set`) is put
 * right only when its own key changes next, or by a whole apply_run.
 */
typedef int (*apply_desired_peers_fn)(void *ctx, const uint8_t (*keys)[UAPI_KEY_LEN],
				      size_t n_keys, struct uapi_config *cfg);
/* Calls fn for each allowed IP of each desired peer; stops at fn's first
 * non-zero result and returns it. */
typedef int (*apply_prefix_fn)(void *arg, int family, const uint8_t addr[16], unsigned len);
typedef int (*apply_prefixes_fn)(void *ctx, apply_prefix_fn fn, void *arg);

struct apply_peers_source {
	apply_desired_peers_fn desired_peers;	/* identity, port, and keys' peers */
	apply_prefixes_fn prefixes;
	void *ctx;
};

int apply_run_peers(struct driver *drv, struct apply_routes *routes,
		    const uint8_t (*keys)[UAPI_KEY_LEN], size_t n_keys,
		    const struct apply_peers_source *src, struct apply_counts *counts, char *err,
		    size_t errlen);

#endif
