/*
 * driver_inproc.c - the in-process backend of the driver seam (driver.h):
 * the server's own struct device.
 *
 * Every call becomes one device_call, so it runs on the device's loop
 * thread between two batches of packets: the loop never reads the store,
 * never computes a diff, it only receives the final get or set.  Until the
 * loop runs (start-up, tests), calls go straight to the device on the
 * calling thread, which is then its only user (driver_inproc_direct).
 *
 * Relies on device.h (device_call) and ipc.h (device_get_config,
 * device_get_peers_config, device_get_stats, device_apply_config).
 */
#include "driver.h"
#include "device.h"
#include "ipc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct inproc {
	struct driver drv;		/* first: container of a struct driver */
	struct device *dev;
	bool direct;			/* no loop runs yet: call the device here */
};

enum inproc_op { OP_GET, OP_GET_PEERS, OP_GET_STATS, OP_SET };

struct inproc_call {
	enum inproc_op op;
	struct uapi_config *out;		/* get */
	const struct uapi_config *in;		/* set */
	const uint8_t (*keys)[UAPI_KEY_LEN];
	size_t n_keys;
};

/* On the loop thread (or, direct, on the device's only user). */
static int on_device(struct device *dev, void *arg)
{
	struct inproc_call *c = arg;

	switch (c->op) {
	case OP_GET:
		return device_get_config(dev, c->out);
	case OP_GET_PEERS:
		return device_get_peers_config(dev, c->keys, c->n_keys, c->out);
	case OP_GET_STATS:
		return device_get_stats(dev, c->out);
	case OP_SET:
		return device_apply_config(dev, c->in);
	}
	return -EINVAL;
}

static int call(struct driver *drv, struct inproc_call *c)
{
	struct inproc *ip = (struct inproc *)drv;

	if (ip->direct)
		return on_device(ip->dev, c);
	return device_call(ip->dev, on_device, c);
}

static int inproc_get_config(struct driver *drv, struct uapi_config *cfg)
{
	struct inproc_call c = { .op = OP_GET, .out = cfg };

	return call(drv, &c);
}

static int inproc_get_peers(struct driver *drv, const uint8_t (*keys)[UAPI_KEY_LEN], size_t n_keys,
			    struct uapi_config *cfg)
{
	struct inproc_call c = { .op = OP_GET_PEERS, .out = cfg, .keys = keys, .n_keys = n_keys };

	return call(drv, &c);
}

static int inproc_get_stats(struct driver *drv, struct uapi_config *cfg)
{
	struct inproc_call c = { .op = OP_GET_STATS, .out = cfg };

	return call(drv, &c);
}

static int inproc_set_config(struct driver *drv, const struct uapi_config *cfg)
{
	struct inproc_call c = { .op = OP_SET, .in = cfg };

	return call(drv, &c);
}

static void inproc_free(struct driver *drv)
{
	free(drv);
}

static const struct driver_ops inproc_ops = {
	.get_config = inproc_get_config,
	.get_peers = inproc_get_peers,
	.get_stats = inproc_get_stats,
	.set_config = inproc_set_config,
	.free = inproc_free,
};

struct driver *driver_inproc_new(struct device *dev)
{
	struct inproc *ip = calloc(1, sizeof(*ip));

	if (!ip)
		return NULL;
	ip->drv.ops = &inproc_ops;
	memcpy(ip->drv.ifname, dev->ifname, sizeof(ip->drv.ifname));
	ip->drv.ifname[sizeof(ip->drv.ifname) - 1] = '\0';
	ip->dev = dev;
	ip->direct = true;
	return &ip->drv;
}

void driver_inproc_direct(struct driver *drv, bool direct)
{
	((struct inproc *)drv)->direct = direct;
}
