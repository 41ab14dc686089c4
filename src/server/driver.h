/*
 * driver.h - the seam between the control plane and a WireGuard data plane
 * (as wireguard-tools' ipc.h): get the configuration, set a configuration,
 * read the statistics.  Nothing above this header touches struct device.
 *
 * Two backends:
 *   - in-process (driver_inproc.c): the server's own struct device; every
 *     call runs on the device's loop thread through device_call, so the
 *     loop only ever receives the final change;
 *   - UAPI (driver_uapi.c): another process's UAPI socket
 *     (/var/run/wireguard/IFNAME.sock), spoken as wg(8) speaks it, so the
 *     control plane can also drive wireguard-go, BoringTun or zerowgd.
 *
 * Every configuration is a struct uapi_config (uapi.h): a get fills one
 * (initialised by the caller, freed with uapi_config_free, which wipes its
 * keys), a set takes one as a set request (peers with remove,
 * update_only, replace_allowed_ips as in the protocol).
 *
 * Threads: any thread may call a driver, several at once; each call is
 * one request to the data plane.  A get followed by a set is not atomic:
 * whoever computes a set from a get serialises itself (the server's apply
 * lock).  Functions return 0 or -errno.
 */
#ifndef ZWG_DRIVER_H
#define ZWG_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uapi.h"

struct device;
struct driver;

struct driver_ops {
	/* The whole device: private key, port, fwmark, every peer. */
	int (*get_config)(struct driver *drv, struct uapi_config *cfg);
	/* Interface fields, and only the peers among keys that the device
	 * has (each once).  A backend without a cheaper way filters a whole
	 * get. */
	int (*get_peers)(struct driver *drv, const uint8_t (*keys)[UAPI_KEY_LEN], size_t n_keys,
			 struct uapi_config *cfg);
	/* Statistics: every peer's public key, endpoint, latest handshake,
	 * rx/tx bytes and allowed IPs, with no private or preshared key in
	 * cfg (has_private_key false, preshared keys all zero). */
	int (*get_stats)(struct driver *drv, struct uapi_config *cfg);
	/* Applies a set request; a rejected one changes nothing. */
	int (*set_config)(struct driver *drv, const struct uapi_config *cfg);
	void (*free)(struct driver *drv);
};

struct driver {
	const struct driver_ops *ops;
	char ifname[16];	/* for messages */
};

static inline int driver_get_config(struct driver *drv, struct uapi_config *cfg)
{
	return drv->ops->get_config(drv, cfg);
}

static inline int driver_get_peers(struct driver *drv, const uint8_t (*keys)[UAPI_KEY_LEN],
				   size_t n_keys, struct uapi_config *cfg)
{
	return drv->ops->get_peers(drv, keys, n_keys, cfg);
}

static inline int driver_get_stats(struct driver *drv, struct uapi_config *cfg)
{
	return drv->ops->get_stats(drv, cfg);
}

static inline int driver_set_config(struct driver *drv, const struct uapi_config *cfg)
{
	return drv->ops->set_config(drv, cfg);
}

/* Frees the driver (not the device or the remote daemon).  NULL is fine. */
static inline void driver_free(struct driver *drv)
{
	if (drv)
		drv->ops->free(drv);
}

/* The in-process backend over dev (which must outlive it).  It starts
 * direct: calls run on the calling thread, which must be the device's only
 * user (before its loop runs).  NULL with errno. */
struct driver *driver_inproc_new(struct device *dev);
/* direct false once the device's loop runs (or is about to: a call made
 * before it starts waits for it): every call then goes through
 * device_call. */
void driver_inproc_direct(struct driver *drv, bool direct);

/*
 * The UAPI backend: dir/ifname.sock (dir NULL = /var/run/wireguard).  Each
 * call opens its own connection (as wg does), so a daemon restarted in
 * between is found again.  NULL with errno (ENAMETOOLONG, EINVAL for a bad
 * name); a missing socket is reported by the first call (-ENOENT,
 * -ECONNREFUSED).
 */
struct driver *driver_uapi_new(const char *dir, const char *ifname);

#endif
