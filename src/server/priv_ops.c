/*
 * priv_ops.c - what the privileged part of `zerowg up` actually does
 * (priv_ops_default, priv.h): create or adopt the TUN, addresses, routes and
 * the link over netlink, NAT with nftables, bind the UAPI and admin unix
 * sockets, the DNS relay's UDP socket and the web's TCP listeners in the
 * tunnel's namespace.  Each returns an fd or 0, or
 * -errno with a message for a person.  The session (priv.c) decides what
 * may be asked; tests replace this table with fakes.
 *
 * Relies on netlink.h, nat.h and device_open_tun (device.h).
 */
#include "priv.h"
#include "device.h"
#include "errbuf.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/nsfs.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

/* ------------------------------------------------------ the real ops -- */

/* An adopted TUN: it must be a layer-3 TUN without packet info, like ours.
 * With IFF_VNET_HDR it gets the offloads the environment allows, falling
 * back as tun_open_offload does. */
static int adopt_tun(int fd, char ifname[IF_NAMESIZE], struct tun_offloads *off, char *err,
		     size_t errlen)
{
	int sz = sizeof(struct virtio_net_hdr);
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		int ret = -errno;
		errbuf_set(err, errlen, "the TUN fd %d given to adopt is not a TUN device (%s)",
			   fd, strerror(errno));
		return ret;
	}
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TUN || !(ifr.ifr_flags & IFF_NO_PI)) {
		errbuf_set(err, errlen, "the adopted device \"%.*s\" is not a layer-3 TUN without "
			   "packet info (IFF_TUN|IFF_NO_PI)", IF_NAMESIZE - 1, ifr.ifr_name);
		return -EINVAL;
	}
	snprintf(ifname, IF_NAMESIZE, "%.*s", IF_NAMESIZE - 1, ifr.ifr_name);
	memset(off, 0, sizeof(*off));
	if (!(ifr.ifr_flags & IFF_VNET_HDR))
		return 0;
	if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
		int ret = -errno;
		errbuf_set(err, errlen, "adopted TUN %s: setting the vnet header size: %s", ifname,
			   strerror(errno));
		return ret;
	}
	off->vnet = true;
	off->tso = device_offload_allowed("tso");
	off->uso = device_offload_allowed("uso");
	if (tun_set_offloads(fd, off->tso, off->uso) == 0)
		return 0;
	off->uso = false;
	if (tun_set_offloads(fd, off->tso, false) == 0)
		return 0;
	off->tso = false;
	(void)tun_set_offloads(fd, false, false);
	return 0;
}

static int real_tun_open(void *ctx, char ifname[IF_NAMESIZE], int adopt_fd, int *ifindex,
			 struct tun_offloads *off, char *err, size_t errlen)
{
	int fd, ret;

	(void)ctx;
	if (adopt_fd >= 0) {
		fd = adopt_fd;
		if ((ret = adopt_tun(fd, ifname, off, err, errlen)) < 0)
			return ret;
	} else {
		fd = device_open_tun(ifname, off);
		if (fd < 0)
			return fd;	/* priv_serve explains the usual causes */
	}
	ret = tun_ifindex(fd);
	if (ret <= 0) {
		errbuf_set(err, errlen, "TUN %s: cannot read its interface index: %s", ifname,
			   strerror(ret < 0 ? -ret : ENODEV));
		if (adopt_fd < 0)
			close(fd);
		return ret < 0 ? ret : -ENODEV;
	}
	*ifindex = ret;
	return fd;
}

static int real_addr(void *ctx, bool add, int ifindex, const struct netlink_prefix *p, char *err,
		     size_t errlen)
{
	(void)ctx;
	return add ? netlink_addr_add(ifindex, p, err, errlen)
		   : netlink_addr_del(ifindex, p, err, errlen);
}

static int real_route(void *ctx, bool add, int ifindex, const struct netlink_prefix *p,
		      char *err, size_t errlen)
{
	(void)ctx;
	return add ? netlink_route_add(ifindex, p, err, errlen)
		   : netlink_route_del(ifindex, p, err, errlen);
}

static int real_link_set(void *ctx, int ifindex, int mtu, bool up, char *err, size_t errlen)
{
	(void)ctx;
	return netlink_link_set(ifindex, mtu, up, err, errlen);
}

static int real_nat_setup(void *ctx, struct nat *nat, const char *ifname, const char *subnet4,
			  const char *subnet6, char *err, size_t errlen)
{
	(void)ctx;
	return nat_setup(nat, ifname, subnet4, subnet6, err, errlen);
}

static int real_fw_apply(void *ctx, struct firewall *fw, const char *ifname,
			 const struct firewall_spec *spec, char *err, size_t errlen)
{
	return firewall_apply(fw, ifname, spec, err, errlen);
}

static void real_fw_teardown(void *ctx, struct firewall *fw)
{
	firewall_teardown(fw);
}

static void real_nat_teardown(void *ctx, struct nat *nat)
{
	(void)ctx;
	nat_teardown(nat);
}

/* The socket's directory: created with dir_mode if missing and then given
 * to uid:gid (through an fd, so a swapped path cannot redirect the chown);
 * an existing one is the operator's and keeps its owner and mode. */
static int make_socket_dir(const struct priv_unix_socket *s, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	int dfd, ret = 0;

	snprintf(dir, sizeof(dir), "%s", s->path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, s->dir_mode) < 0) {
		if (errno == EEXIST)
			return 0;
		ret = -errno;
		errbuf_set(err, errlen, "%s %s: cannot create directory %s: %s", s->what, s->path,
			   dir, strerror(errno));
		return ret;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fchmod(dfd, s->dir_mode) < 0 ||
	    (s->uid != (uid_t)-1 && fchown(dfd, s->uid, s->gid) < 0)) {
		ret = -errno;
		errbuf_set(err, errlen, "%s %s: cannot set up directory %s: %s", s->what, s->path,
			   dir, strerror(errno));
	}
	if (dfd >= 0)
		close(dfd);
	return ret;
}

static int real_bind_unix(void *ctx, struct priv_unix_socket *s, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	int fd = -1, pfd = -1, ret;

	(void)ctx;
	if (strlen(s->path) >= sizeof(sun.sun_path) || s->path[0] != '/') {
		errbuf_set(err, errlen, "%s path \"%s\" is not an absolute path shorter than %zu "
			   "bytes", s->what, s->path, sizeof(sun.sun_path));
		return -EINVAL;
	}
	strcpy(sun.sun_path, s->path);
	if ((ret = make_socket_dir(s, err, errlen)) < 0)
		return ret;
	/* A live socket belongs to a running server: never take it over.  A
	 * full backlog (EAGAIN) is alive too. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto err_sys;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN) {
		errbuf_set(err, errlen, "%s %s: another server is already listening there (stop "
			   "it, or pick another path)", s->what, s->path);
		ret = -EADDRINUSE;
		goto out;
	}
	close(fd);
	fd = -1;
	if (lstat(s->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errbuf_set(err, errlen, "%s %s: a file that is not a socket is in the way "
				   "(remove it, or pick another path)", s->what, s->path);
			ret = -EEXIST;
			goto out;
		}
		if (unlink(s->path) < 0 && errno != ENOENT)
			goto err_sys;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err_sys;
	/* Created with its final mode: no window with wider access. */
	old_umask = umask(0777 & ~s->sock_mode);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (ret < 0)
		goto err_sys;
	/* The chown goes through an O_PATH fd checked to be a socket: in a
	 * directory the server's user owns, the path may have been swapped
	 * for a link to something else since the bind. */
	pfd = open(s->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &st) < 0)
		goto err_sys_unlink;
	if (!S_ISSOCK(st.st_mode)) {
		errbuf_set(err, errlen, "%s %s: replaced by something else while being created",
			   s->what, s->path);
		ret = -EEXIST;
		goto out;
	}
	if (s->uid != (uid_t)-1 && (fchownat(pfd, "", s->uid, s->gid, AT_EMPTY_PATH) < 0 ||
				     fstat(pfd, &st) < 0))
		goto err_sys_unlink;
	if (listen(fd, s->backlog > 0 ? s->backlog : 16) < 0)
		goto err_sys_unlink;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->ctime = st.st_ctim;
	close(pfd);
	return fd;
err_sys_unlink:
	ret = -errno;
	errbuf_set(err, errlen, "%s %s: %s", s->what, s->path, strerror(errno));
	unlink(s->path);
	goto out;
err_sys:
	ret = -errno;
	errbuf_set(err, errlen, "%s %s: %s", s->what, s->path, strerror(errno));
out:
	if (pfd >= 0)
		close(pfd);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* A socket of type bound to addr:port, IPv6 only for IPv6 and with
 * IP_FREEBIND: bound before the address is up (or while it is re-added,
 * or while IPv6 duplicate address detection runs).  The fd, or -errno with
 * errno set. */
static int bind_inet(const struct netlink_prefix *addr, uint16_t port, int type)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, saved;

	memset(&ss, 0, sizeof(ss));
	if (addr->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr->addr, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr->addr, 16);
		sl = sizeof(*sin6);
	}
	fd = socket(addr->family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A restarted server's listener must not wait for TIME_WAIT. */
	if (type == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto err;
	if (addr->family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
		    (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one)) < 0 &&
		     setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0))
			goto err;
	} else if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0) {
		goto err;
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		goto err;
	return fd;
err:
	saved = errno;
	close(fd);
	errno = saved;
	return -saved;
}

static int real_dns_open(void *ctx, const struct netlink_prefix *addr, uint16_t port, char *err,
			 size_t errlen)
{
	char text[64];
	int fd;

	(void)ctx;
	fd = bind_inet(addr, port, SOCK_DGRAM);
	if (fd < 0) {
		netlink_prefix_format(addr, text, sizeof(text));
		errbuf_set(err, errlen, "DNS socket on %s port %u: %s", text, port, strerror(-fd));
	}
	return fd;
}

/* The web's listener in the tunnel's namespace.  It is handed over
 * listening: the server accepts on it, we never do. */
static int real_web_open(void *ctx, const struct netlink_prefix *addr, uint16_t port, char *err,
			 size_t errlen)
{
	char text[64];
	int fd, e;

	(void)ctx;
	fd = bind_inet(addr, port, SOCK_STREAM);
	if (fd >= 0 && listen(fd, SOMAXCONN) < 0) {
		e = errno;
		close(fd);
		fd = -e;
	}
	if (fd < 0) {
		netlink_prefix_format(addr, text, sizeof(text));
		errbuf_set(err, errlen, "web listener on %s port %u in the tunnel's namespace: %s%s",
			   text, port, strerror(-fd),
			   fd == -EADDRINUSE ? " (another program listens there: pick another "
			   "port with --web ADDRESS:PORT, or --web none)" : "");
	}
	return fd;
}

const struct priv_ops priv_ops_default = {
	.tun_open = real_tun_open,
	.addr = real_addr,
	.route = real_route,
	.link_set = real_link_set,
	.nat_setup = real_nat_setup,
	.nat_teardown = real_nat_teardown,
	.fw_apply = real_fw_apply,
	.fw_teardown = real_fw_teardown,
	.bind_unix = real_bind_unix,
	.dns_open = real_dns_open,
	.web_open = real_web_open,
};
