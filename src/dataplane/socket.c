/*
 * socket.c - UDP sockets of the device.  See socket.h.
 *
 * Socket buffers are raised as far as the kernel lets us (SO_RCVBUFFORCE
 * needs CAP_NET_ADMIN, else SO_RCVBUF up to rmem_max): a userspace WireGuard
 * that keeps the 208 KiB default drops bursts at the receiver.  (zerowgd
 * binds its first sockets with CAP_NET_ADMIN; a rebind after it dropped
 * its privileges gets rmem_max/wmem_max.)  SO_MARK, which also needs
 * CAP_NET_ADMIN, goes through the device's set_mark hook (apply_mark).
 *
 * Sockets from socket activation (socket_adopt) get the same options after
 * the fact.  systemd's ListenDatagram=PORT is one IPv6 socket that is not
 * V6ONLY: IPv4 datagrams arrive on it from ::ffff:a.b.c.d, which
 * socket_recv_batch turns back into IPv4 addresses (so endpoints, the
 * rate limiter and `wg show` see what they would with two sockets), and
 * prepare_msg maps IPv4 destinations onto it when there is no IPv4 socket.
 */
#include "socket.h"
#include "device.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define SOCKET_BUFFER_BYTES (7 << 20)

static void set_buffers(int fd)
{
	int size = SOCKET_BUFFER_BYTES;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

/* SO_MARK through the device's hook (a helper with CAP_NET_ADMIN), or
 * here.  0 or -errno. */
static int apply_mark(struct device *dev, int fd, uint32_t mark)
{
	if (dev->set_mark)
		return dev->set_mark(dev->set_mark_ctx, fd, mark);
	return setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0 ? -errno : 0;
}

static int open_bound(struct device *dev, int family, uint16_t port, uint16_t *bound, bool *gro_ok)
{
	int one = 1, fd, ret;
	union uapi_sockaddr sa;
	socklen_t len;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	if (family == AF_INET) {
		sa.sin.sin_family = AF_INET;
		sa.sin.sin_port = htons(port);
		len = sizeof(sa.sin);
		if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
			goto err;
	} else {
		sa.sin6.sin6_family = AF_INET6;
		sa.sin6.sin6_port = htons(port);
		len = sizeof(sa.sin6);
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
			goto err;
	}
	if (dev->fwmark && (ret = apply_mark(dev, fd, dev->fwmark)) < 0)
		goto out;
	set_buffers(fd);
	if (dev->udp_gro_wanted && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) < 0)
		*gro_ok = false;
	if (bind(fd, &sa.sa, len) < 0)
		goto err;
	len = sizeof(sa);
	if (getsockname(fd, &sa.sa, &len) < 0)
		goto err;
	*bound = ntohs(family == AF_INET ? sa.sin.sin_port : sa.sin6.sin6_port);
	return fd;
err:
	ret = -errno;
out:
	close(fd);
	return ret;
}

static void replace_socket(struct device *dev, struct udp_socket *s, int fd)
{
	s->v4mapped = false;
	if (s->fd >= 0) {
		epoll_ctl(dev->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
	}
	s->fd = fd;
	if (fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
		if (epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
			log_warn_errno("epoll_ctl(udp)");
	}
}

int socket_bind(struct device *dev, uint16_t port)
{
	int fd4 = -1, fd6 = -1, ret = -EADDRINUSE;
	uint16_t bound = 0;
	bool gro = dev->udp_gro_wanted;

	/* With port 0, the port the kernel picks for IPv6 may be taken for
	 * IPv4: try a few times, as wireguard-go does. */
	for (int attempt = 0; attempt < (port ? 1 : 100); attempt++) {
		fd6 = open_bound(dev, AF_INET6, port, &bound, &gro);
		if (fd6 == -EAFNOSUPPORT || fd6 == -EADDRNOTAVAIL) {
			fd6 = -1;	/* no IPv6 here: IPv4 only */
			fd4 = open_bound(dev, AF_INET, port, &bound, &gro);
			ret = fd4;
			break;
		}
		if (fd6 < 0) {
			ret = fd6;
			break;
		}
		fd4 = open_bound(dev, AF_INET, bound, &bound, &gro);
		if (fd4 >= 0 || fd4 == -EAFNOSUPPORT) {
			if (fd4 < 0)
				fd4 = -1;
			ret = 0;
			break;
		}
		ret = fd4;
		close(fd6);
		fd6 = -1;
		if (ret != -EADDRINUSE)
			break;
	}
	if (ret < 0) {
		if (fd6 >= 0)
			close(fd6);
		return ret;
	}
	if (dev->sockets_adopted)
		log_info("Listen port %u: new sockets replace the ones from socket activation "
			 "(port %u)", bound, dev->listen_port);
	dev->sockets_adopted = false;
	replace_socket(dev, &dev->sock4, fd4 >= 0 ? fd4 : -1);
	replace_socket(dev, &dev->sock6, fd6);
	dev->listen_port = bound;
	if (dev->udp_gro_wanted && !gro && dev->udp_gro)
		log_error("UDP GRO unavailable: receiving datagrams one by one (slower)");
	dev->udp_gro = gro;
	return 0;
}

static int sockopt_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	return getsockopt(fd, level, name, &v, &len) < 0 ? -1 : v;
}

/* Checks that fd is an unconnected UDP socket of family bound to a port and
 * gives it what open_bound gives ours.  The port, or -errno (logged). */
static int adopt_one(struct device *dev, int fd, int family, bool *v4mapped, bool *gro_ok)
{
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	union uapi_sockaddr sa;
	socklen_t len = sizeof(sa);
	int one = 1, flags, domain, ret;
	uint16_t port;

	domain = sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);
	if (domain < 0) {
		ret = -errno;
		log_error("Adopted socket fd %d: %s", fd, strerror(-ret));
		return ret;
	}
	if (domain != family) {
		log_error("Adopted socket fd %d is not an %s socket", fd, fam);
		return -EAFNOSUPPORT;
	}
	if (sockopt_int(fd, SOL_SOCKET, SO_TYPE) != SOCK_DGRAM ||
	    sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL) != IPPROTO_UDP) {
		log_error("Adopted socket fd %d is not a UDP socket", fd);
		return -EPROTOTYPE;
	}
	if (getpeername(fd, &sa.sa, &len) == 0) {
		log_error("Adopted socket fd %d is connected: it would hear one peer only", fd);
		return -EISCONN;
	}
	len = sizeof(sa);
	if (getsockname(fd, &sa.sa, &len) < 0)
		return -errno;
	port = ntohs(family == AF_INET ? sa.sin.sin_port : sa.sin6.sin6_port);
	if (!port) {
		log_error("Adopted socket fd %d is bound to no port", fd);
		return -EINVAL;
	}
	*v4mapped = false;
	if (family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&sa.sin6.sin6_addr)) {
			log_error("Adopted socket fd %d is bound to an IPv4-mapped address", fd);
			return -EINVAL;
		}
		/* Bound to one IPv6 address, it never sees IPv4 at all. */
		*v4mapped = sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY) == 0 &&
			    IN6_IS_ADDR_UNSPECIFIED(&sa.sin6.sin6_addr);
	}
	/* Socket activation passes blocking sockets; we never wait on one. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	if (family == AF_INET) {
		if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
			return -errno;
	} else {
		int zero = 0;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
			return -errno;
		/* IPv4 on a dual-stack socket then reports its address once,
		 * mapped (unmap_v4), not also as IP_PKTINFO over the same union. */
		(void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &zero, sizeof(zero));
	}
	if (dev->fwmark && (ret = apply_mark(dev, fd, dev->fwmark)) < 0)
		return ret;
	set_buffers(fd);
	if (dev->udp_gro_wanted && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) < 0)
		*gro_ok = false;
	return port;
}

int socket_adopt(struct device *dev, int fd4, int fd6)
{
	bool mapped4 = false, mapped6 = false, gro = dev->udp_gro_wanted;
	int p4 = 0, p6 = 0;

	if (fd4 < 0 && fd6 < 0)
		return -EINVAL;
	if (fd4 >= 0 && (p4 = adopt_one(dev, fd4, AF_INET, &mapped4, &gro)) < 0)
		return p4;
	if (fd6 >= 0 && (p6 = adopt_one(dev, fd6, AF_INET6, &mapped6, &gro)) < 0)
		return p6;
	if (p4 && p6 && p4 != p6) {
		log_error("Adopted sockets on two ports (IPv4 fd %d on %d, IPv6 fd %d on %d): "
			  "WireGuard listens on one", fd4, p4, fd6, p6);
		return -EINVAL;
	}
	replace_socket(dev, &dev->sock4, fd4 >= 0 ? fd4 : -1);
	replace_socket(dev, &dev->sock6, fd6 >= 0 ? fd6 : -1);
	dev->sock6.v4mapped = mapped6;
	dev->listen_port = (uint16_t)(p4 ? p4 : p6);
	dev->configured_port = dev->listen_port;
	dev->sockets_adopted = true;
	if (dev->udp_gro_wanted && !gro && dev->udp_gro)
		log_error("UDP GRO unavailable: receiving datagrams one by one (slower)");
	dev->udp_gro = gro;
	return 0;
}

void socket_enable_gro(struct device *dev)
{
	struct udp_socket *s[2] = { &dev->sock4, &dev->sock6 };
	bool gro = dev->udp_gro_wanted;
	int one = 1;

	for (int i = 0; i < 2 && gro; i++)
		if (s[i]->fd >= 0 && setsockopt(s[i]->fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) < 0)
			gro = false;
	if (dev->udp_gro_wanted && !gro)
		log_error("UDP GRO unavailable: receiving datagrams one by one (slower)");
	dev->udp_gro = gro;
}

void socket_close(struct device *dev)
{
	replace_socket(dev, &dev->sock4, -1);
	replace_socket(dev, &dev->sock6, -1);
}

int socket_set_fwmark(struct device *dev, uint32_t mark)
{
	struct udp_socket *s[2] = { &dev->sock4, &dev->sock6 };

	int ret;

	for (int i = 0; i < 2; i++)
		if (s[i]->fd >= 0 && (ret = apply_mark(dev, s[i]->fd, mark)) < 0)
			return ret;
	return 0;
}

/* An IPv4 datagram on a dual-stack socket: its source and our address
 * back to IPv4, as an IPv4 socket would have given them. */
static void unmap_v4(struct pkt_buf *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct in_addr dst;

	if (b->src.sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&b->src.sin6.sin6_addr))
		return;
	sin.sin_port = b->src.sin6.sin6_port;
	memcpy(&sin.sin_addr, &b->src.sin6.sin6_addr.s6_addr[12], 4);
	memset(&b->src, 0, sizeof(b->src));
	b->src.sin = sin;
	if (b->has_dst && IN6_IS_ADDR_V4MAPPED(&b->dst6)) {
		memcpy(&dst, &b->dst6.s6_addr[12], 4);
		b->dst4 = dst;
	} else {
		b->has_dst = false;
	}
}

int socket_recv_batch(struct udp_socket *s, struct pkt_buf *bufs, int n)
{
	struct mmsghdr msgs[BATCH_SIZE];
	struct iovec iov[BATCH_SIZE];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cmsg[BATCH_SIZE];
	int got;

	if (n > BATCH_SIZE)
		n = BATCH_SIZE;
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = bufs[i].data;
		iov[i].iov_len = PKT_BUF_SIZE;
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_name = &bufs[i].src;
		msgs[i].msg_hdr.msg_namelen = sizeof(bufs[i].src);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_control = cmsg[i].buf;
		msgs[i].msg_hdr.msg_controllen = sizeof(cmsg[i].buf);
	}
	got = recvmmsg(s->fd, msgs, (unsigned)n, MSG_DONTWAIT, NULL);
	if (got < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
	for (int i = 0; i < got; i++) {
		struct pkt_buf *b = &bufs[i];
		b->len = msgs[i].msg_len;
		b->has_dst = false;
		b->gso_size = 0;
		if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
			b->len = 0;	/* larger than any WireGuard message: dropped */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c;
		     c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				b->dst4 = pi.ipi_spec_dst;
				b->dst_ifindex = pi.ipi_ifindex;
				b->has_dst = true;
			} else if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
				int gs;
				memcpy(&gs, CMSG_DATA(c), sizeof(gs));
				b->gso_size = gs > 0 ? (size_t)gs : 0;
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				b->dst6 = pi.ipi6_addr;
				b->dst_ifindex = (int)pi.ipi6_ifindex;
				b->has_dst = true;
			}
		}
		if (s->v4mapped)
			unmap_v4(b);
	}
	return got;
}

/* Fills msg's name and control from ep.  Returns the socket to use or NULL.
 * An IPv4 endpoint with only a dual-stack IPv6 socket gets its mapped
 * address written to *mapped, which msg then points to. */
static struct udp_socket *prepare_msg(struct device *dev, struct endpoint *ep, struct msghdr *msg,
				      char *control, size_t control_len, struct sockaddr_in6 *mapped)
{
	struct udp_socket *s;

	memset(msg, 0, sizeof(*msg));
	msg->msg_name = &ep->addr;
	if (ep->addr.sa.sa_family == AF_INET) {
		s = &dev->sock4;
		msg->msg_namelen = sizeof(struct sockaddr_in);
		if (s->fd < 0 && dev->sock6.v4mapped) {
			s = &dev->sock6;
			memset(mapped, 0, sizeof(*mapped));
			mapped->sin6_family = AF_INET6;
			mapped->sin6_port = ep->addr.sin.sin_port;
			mapped->sin6_addr.s6_addr[10] = mapped->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&mapped->sin6_addr.s6_addr[12], &ep->addr.sin.sin_addr, 4);
			msg->msg_name = mapped;
			msg->msg_namelen = sizeof(*mapped);
		}
		/* IP_PKTINFO: the kernel's IPv4 path reads it from an IPv6
		 * socket's mapped sends too. */
		if (ep->has_src) {
			struct in_pktinfo pi = { .ipi_spec_dst = ep->src4 };
			struct cmsghdr *c;
			msg->msg_control = control;
			msg->msg_controllen = CMSG_SPACE(sizeof(pi));
			c = CMSG_FIRSTHDR(msg);
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
	} else if (ep->addr.sa.sa_family == AF_INET6) {
		s = &dev->sock6;
		msg->msg_namelen = sizeof(struct sockaddr_in6);
		if (ep->has_src) {
			struct in6_pktinfo pi = { .ipi6_addr = ep->src6 };
			struct cmsghdr *c;
			/* The interface matters only for link-local sources. */
			if (IN6_IS_ADDR_LINKLOCAL(&ep->src6))
				pi.ipi6_ifindex = (unsigned)ep->src_ifindex;
			msg->msg_control = control;
			msg->msg_controllen = CMSG_SPACE(sizeof(pi));
			c = CMSG_FIRSTHDR(msg);
			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = IPV6_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
	} else {
		return NULL;
	}
	(void)control_len;
	return s->fd >= 0 ? s : NULL;
}

#define CONTROL_LEN CMSG_SPACE(sizeof(struct in6_pktinfo))

int socket_send(struct device *dev, struct endpoint *ep, const void *buf, size_t len)
{
	union { char buf[CONTROL_LEN]; struct cmsghdr align; } control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct sockaddr_in6 mapped;
	struct msghdr msg;

	for (int attempt = 0; attempt < 2; attempt++) {
		struct udp_socket *s = prepare_msg(dev, ep, &msg, control.buf, sizeof(control), &mapped);
		if (!s)
			return -EAFNOSUPPORT;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (sendmsg(s->fd, &msg, MSG_DONTWAIT) >= 0)
			return 0;
		/* Our old source address went away: let routing choose. */
		if ((errno == EINVAL || errno == EADDRNOTAVAIL || errno == ENETUNREACH) && ep->has_src) {
			endpoint_clear_src(ep);
			continue;
		}
		return -errno;
	}
	return -EINVAL;
}

/* Appends a UDP_SEGMENT cmsg to msg, after whatever control it has. */
static void add_gso_cmsg(struct msghdr *msg, char *control, uint16_t size)
{
	size_t used = msg->msg_controllen;
	struct cmsghdr *c = (struct cmsghdr *)(control + used);

	c->cmsg_level = IPPROTO_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	memcpy(CMSG_DATA(c), &size, sizeof(size));
	msg->msg_control = control;
	msg->msg_controllen = used + CMSG_SPACE(sizeof(uint16_t));
}

/* The kernel's limits for one GSO send. */
#define GSO_MAX_SEGS 64
#define GSO_MAX_BYTES 65000

int socket_send_batch(struct device *dev, struct endpoint **eps, struct iovec *iov, int n)
{
	static struct mmsghdr msgs[TX_MAX_PKTS];
	static union { char buf[CONTROL_LEN + CMSG_SPACE(sizeof(uint16_t))]; struct cmsghdr align; } control[TX_MAX_PKTS];
	static struct udp_socket *socks[TX_MAX_PKTS];
	static struct sockaddr_in6 mapped[TX_MAX_PKTS];
	static int first[TX_MAX_PKTS];
	int sent = 0, m = 0;

	if (n > TX_MAX_PKTS)
		n = TX_MAX_PKTS;
	/* Runs of datagrams to the same endpoint, all of one size but the
	 * last, become one message with UDP_SEGMENT (GSO). */
	for (int i = 0; i < n;) {
		int run = 1;
		size_t bytes = iov[i].iov_len;
		if (dev->udp_gso) {
			while (i + run < n && run < GSO_MAX_SEGS && eps[i + run] == eps[i] &&
			       iov[i + run].iov_len <= iov[i].iov_len &&
			       bytes + iov[i + run].iov_len <= GSO_MAX_BYTES &&
			       iov[i + run - 1].iov_len == iov[i].iov_len) {
				bytes += iov[i + run].iov_len;
				run++;
			}
		}
		socks[m] = prepare_msg(dev, eps[i], &msgs[m].msg_hdr, control[m].buf, sizeof(control[m]),
				       &mapped[m]);
		msgs[m].msg_hdr.msg_iov = &iov[i];
		msgs[m].msg_hdr.msg_iovlen = (size_t)run;
		if (run > 1)
			add_gso_cmsg(&msgs[m].msg_hdr, control[m].buf, (uint16_t)iov[i].iov_len);
		first[m] = i;
		msgs[m].msg_len = (unsigned)run;	/* segment count, until sendmmsg overwrites it */
		m++;
		i += run;
	}
	/* Runs of messages for the same socket go out in one sendmmsg; a
	 * message the kernel refuses is retried datagram by datagram. */
	int segs[TX_MAX_PKTS];
	for (int k = 0; k < m; k++)
		segs[k] = (int)msgs[k].msg_hdr.msg_iovlen;
	for (int k = 0; k < m;) {
		if (!socks[k]) {
			k++;
			continue;
		}
		int run = 1;
		while (k + run < m && socks[k + run] == socks[k] && run < BATCH_SIZE)
			run++;
		int r = sendmmsg(socks[k]->fd, &msgs[k], (unsigned)run, MSG_DONTWAIT);
		if (r > 0) {
			for (int j = 0; j < r; j++)
				sent += segs[k + j];
			k += r;
			continue;
		}
		if (segs[k] > 1 && (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP)) {
			log_error("UDP GSO send failed (%s): sending datagrams one by one",
				  strerror(errno));
			dev->udp_gso = false;
		}
		for (int j = 0; j < segs[k]; j++) {
			struct iovec *v = &iov[first[k] + j];
			if (socket_send(dev, eps[first[k] + j], v->iov_base, v->iov_len) == 0)
				sent++;
		}
		k++;
	}
	return sent;
}
