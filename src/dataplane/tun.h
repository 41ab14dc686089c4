/*
 * tun.h - the TUN device: created by name in the current network namespace
 * (it may later be moved to another one; the fd keeps working).
 */
#ifndef ZWG_TUN_H
#define ZWG_TUN_H

#include <stdbool.h>

#define TUN_DEFAULT_MTU 1420

/* Opens /dev/net/tun as a layer-3 device named ifname (IFF_TUN|IFF_NO_PI),
 * non-blocking, with MTU TUN_DEFAULT_MTU.  Returns the fd or -errno. */
int tun_open(const char *ifname);
/* The offloads of a TUN: asked for on the way in, granted on the way out. */
struct tun_offloads {
	bool vnet;	/* IFF_VNET_HDR: reads and writes carry a virtio_net_hdr */
	bool tso;	/* checksum and TSO super-packets */
	bool uso;	/* UDP super-packets both ways (Linux 6.2+) */
};

/* Like tun_open, with the offloads o asks for.  On return o says what the
 * kernel granted; a refusal falls back and is logged once. */
int tun_open_offload(const char *ifname, struct tun_offloads *o);
/* Sets the offloads of an open vnet TUN: checksum always, TSO and USO as
 * asked (e.g. both off when the MTU outgrows the segment buffers).
 * 0 or -errno. */
int tun_set_offloads(int fd, bool tso, bool uso);

/* Current MTU of the device behind fd (works after a move to another
 * namespace, since it asks the fd), or -errno. */
int tun_mtu(int fd);
/* ifindex (in whatever namespace it now lives) or -errno. */
int tun_ifindex(int fd);

#endif
