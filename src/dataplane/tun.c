/*
 * tun.c - TUN device creation and queries.  MTU and ifindex are asked of
 * the TUN fd itself (TUNGETIFF gives the current name) through an
 * AF_INET/AF_INET6 datagram socket only when the device is still in our
 * namespace; after a move the name no longer resolves here, so callers keep
 * the last value they learned.
 */
#include "tun.h"

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

int tun_open(const char *ifname)
{
	struct ifreq ifr;
	int fd, ret;

	if (strlen(ifname) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
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
