/*
 * tun.h - the TUN device: created by name in the current network namespace
 * (it may later be moved to another one; the fd keeps working).
 */
#ifndef ZWG_TUN_H
#define ZWG_TUN_H

#define TUN_DEFAULT_MTU 1420

/* Opens /dev/net/tun as a layer-3 device named ifname (IFF_TUN|IFF_NO_PI),
 * non-blocking, with MTU TUN_DEFAULT_MTU.  Returns the fd or -errno. */
int tun_open(const char *ifname);
/* Current MTU of the device behind fd (works after a move to another
 * namespace, since it asks the fd), or -errno. */
int tun_mtu(int fd);
/* ifindex (in whatever namespace it now lives) or -errno. */
int tun_ifindex(int fd);

#endif
