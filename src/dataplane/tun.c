/*
 * tun.c - TUN device creation and queries.  MTU and ifindex are asked of
 * the TUN fd itself (TUNGETIFF gives the current name) through an
 * AF_INET/AF_INET6 datagram socket only when the device is still in our
 * namespace; after a move the name no longer resolves here, so callers keep
 * the last value they learned.
 */
#include "tun.h"
#include "log.h"

#include <linux/virtio_net.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (s < 0)
		s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

static int open_flags(const char *ifname, short extra)
{
	struct ifreq ifr;
	int fd, ret;

	if (strlen(ifname) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | extra;
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	ifr.ifr_mtu = TUN_DEFAULT_MTU;
	ret = ifreq_ioctl(SIOCSIFMTU, &ifr);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

int tun_open(const char *ifname)
{
	return open_flags(ifname, 0);
}

/* Linux 6.2's uapi values; Debian 12's headers (6.1) predate them. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

int tun_set_offloads(int fd, bool tso, bool uso)
{
	unsigned off = TUN_F_CSUM | (tso ? TUN_F_TSO4 | TUN_F_TSO6 : 0) |
		       (uso ? TUN_F_USO4 | TUN_F_USO6 : 0);

	return ioctl(fd, TUNSETOFFLOAD, off) < 0 ? -errno : 0;
}

int tun_open_offload(const char *ifname, struct tun_offloads *o)
{
	int fd, sz = sizeof(struct virtio_net_hdr);

	if (!o->vnet) {
		o->tso = o->uso = false;
		return open_flags(ifname, 0);
	}
	fd = open_flags(ifname, IFF_VNET_HDR);
	if (fd == -EINVAL) {
		log_error("TUN without IFF_VNET_HDR: no offloads (slower)");
		o->vnet = o->tso = o->uso = false;
		return open_flags(ifname, 0);
	}
	if (fd < 0)
		return fd;
	if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	if (!o->tso && !o->uso) {
		(void)ioctl(fd, TUNSETOFFLOAD, 0);
		return fd;
	}
	if (tun_set_offloads(fd, o->tso, o->uso) == 0)
		return fd;
	/* Linux before 6.2 knows no USO: the kernel segments UDP sends, and
	 * received datagrams are written one by one. */
	if (o->uso) {
		o->uso = false;
		if (tun_set_offloads(fd, o->tso, false) == 0) {
			log_error("TUN refuses USO offloads: UDP datagrams one by one (slower)");
			return fd;
		}
	}
	if (o->tso) {
		log_error("TUN refuses TSO offloads: segmenting in the kernel (slower)");
		o->tso = false;
	}
	/* Checksum offload alone, or nothing: both are handled. */
	(void)tun_set_offloads(fd, false, false);
	return fd;
}

static int tun_name(int fd, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	if (ioctl(fd, TUNGETIFF, ifr) < 0)
		return -errno;
	return 0;
}

int tun_mtu(int fd)
{
	struct ifreq ifr;
	int ret = tun_name(fd, &ifr);

	if (ret < 0)
		return ret;
	ret = ifreq_ioctl(SIOCGIFMTU, &ifr);
	return ret < 0 ? ret : ifr.ifr_mtu;
}

int tun_ifindex(int fd)
{
	struct ifreq ifr;
	int ret = tun_name(fd, &ifr);

	if (ret < 0)
		return ret;
	ret = ifreq_ioctl(SIOCGIFINDEX, &ifr);
	return ret < 0 ? ret : ifr.ifr_ifindex;
}
