/*
 * socket.c - UDP sockets of the device.  See socket.h.
 *
 * Socket buffers are raised as far as the kernel lets us (SO_RCVBUFFORCE
 * needs CAP_NET_ADMIN, else SO_RCVBUF up to rmem_max): a userspace WireGuard
 * that keeps the 208 KiB default drops bursts at the receiver.
 */
#include "socket.h"
#include "device.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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

static int open_bound(int family, uint16_t port, uint32_t fwmark, uint16_t *bound)
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
	if (fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		goto err;
	set_buffers(fd);
	if (bind(fd, &sa.sa, len) < 0)
		goto err;
	len = sizeof(sa);
	if (getsockname(fd, &sa.sa, &len) < 0)
		goto err;
	*bound = ntohs(family == AF_INET ? sa.sin.sin_port : sa.sin6.sin6_port);
	return fd;
err:
	ret = -errno;
	close(fd);
	return ret;
}

static void replace_socket(struct device *dev, struct udp_socket *s, int fd)
{
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

	/* With port 0, the port the kernel picks for IPv6 may be taken for
	 * IPv4: try a few times, as wireguard-go does. */
	for (int attempt = 0; attempt < (port ? 1 : 100); attempt++) {
		fd6 = open_bound(AF_INET6, port, dev->fwmark, &bound);
		if (fd6 == -EAFNOSUPPORT || fd6 == -EADDRNOTAVAIL) {
			fd6 = -1;	/* no IPv6 here: IPv4 only */
			fd4 = open_bound(AF_INET, port, dev->fwmark, &bound);
			ret = fd4;
			break;
		}
		if (fd6 < 0) {
			ret = fd6;
			break;
		}
		fd4 = open_bound(AF_INET, bound, dev->fwmark, &bound);
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
	replace_socket(dev, &dev->sock4, fd4 >= 0 ? fd4 : -1);
	replace_socket(dev, &dev->sock6, fd6);
	dev->listen_port = bound;
	return 0;
}

void socket_close(struct device *dev)
{
	replace_socket(dev, &dev->sock4, -1);
	replace_socket(dev, &dev->sock6, -1);
}

int socket_set_fwmark(struct device *dev, uint32_t mark)
{
	struct udp_socket *s[2] = { &dev->sock4, &dev->sock6 };

	for (int i = 0; i < 2; i++)
		if (s[i]->fd >= 0 && setsockopt(s[i]->fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
			return -errno;
	return 0;
}

int socket_recv_batch(struct udp_socket *s, struct pkt_buf *bufs, int n)
{
	struct mmsghdr msgs[BATCH_SIZE];
	struct iovec iov[BATCH_SIZE];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
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
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				b->dst6 = pi.ipi6_addr;
				b->dst_ifindex = (int)pi.ipi6_ifindex;
				b->has_dst = true;
			}
		}
	}
	return got;
}

/* Fills msg's name and control from ep.  Returns the socket to use or NULL. */
static struct udp_socket *prepare_msg(struct device *dev, struct endpoint *ep, struct msghdr *msg,
				      char *control, size_t control_len)
{
	struct udp_socket *s;

	memset(msg, 0, sizeof(*msg));
	msg->msg_name = &ep->addr;
	if (ep->addr.sa.sa_family == AF_INET) {
		s = &dev->sock4;
		msg->msg_namelen = sizeof(struct sockaddr_in);
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
	struct msghdr msg;

	for (int attempt = 0; attempt < 2; attempt++) {
		struct udp_socket *s = prepare_msg(dev, ep, &msg, control.buf, sizeof(control));
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

int socket_send_batch(struct device *dev, struct endpoint **eps, struct iovec *iov, int n)
{
	struct mmsghdr msgs[BATCH_SIZE];
	union { char buf[CONTROL_LEN]; struct cmsghdr align; } control[BATCH_SIZE];
	struct udp_socket *socks[BATCH_SIZE];
	int sent = 0, i = 0;

	if (n > BATCH_SIZE)
		n = BATCH_SIZE;
	for (int k = 0; k < n; k++) {
		socks[k] = prepare_msg(dev, eps[k], &msgs[k].msg_hdr, control[k].buf, sizeof(control[k]));
		msgs[k].msg_hdr.msg_iov = &iov[k];
		msgs[k].msg_hdr.msg_iovlen = 1;
	}
	/* Runs of datagrams for the same socket go out in one sendmmsg; a
	 * datagram the kernel refuses is retried alone (sticky source). */
	while (i < n) {
		if (!socks[i]) {
			i++;
			continue;
		}
		int run = 1;
		while (i + run < n && socks[i + run] == socks[i])
			run++;
		int r = sendmmsg(socks[i]->fd, &msgs[i], (unsigned)run, MSG_DONTWAIT);
		if (r > 0) {
			sent += r;
			i += r;
			continue;
		}
		if (socket_send(dev, eps[i], iov[i].iov_base, iov[i].iov_len) == 0)
			sent++;
		i++;
	}
	return sent;
}
