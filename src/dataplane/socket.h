/*
 * socket.h - the device's UDP sockets: one IPv4 and one IPv6 (V6ONLY) on the
 * same port, batched receive with the local destination address of each
 * datagram (IP_PKTINFO / IPV6_RECVPKTINFO) and sends that leave from the
 * address the peer last reached us on ("sticky" source).  The sockets may
 * instead come bound from socket activation (socket_adopt); an IPv6 one of
 * those may be dual-stack, and then IPv4 is mapped on the way in and out.
 */
#ifndef ZWG_SOCKET_H
#define ZWG_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct device;
struct endpoint;
struct pkt_buf;
struct udp_socket;

/* Binds both sockets to port (0 = pick one free for both).  On failure the
 * old sockets stay as they were.  0 or -errno. */
int socket_bind(struct device *dev, uint16_t port);
void socket_close(struct device *dev);
/* Takes bound UDP sockets from socket activation (device_adopt_sockets).
 * 0 or -errno. */
int socket_adopt(struct device *dev, int fd4, int fd6);
/* Asks for UDP GRO on the sockets the device has, if the device wants it
 * (adopted sockets get it without a rebind); sets dev->udp_gro. */
void socket_enable_gro(struct device *dev);
int socket_set_fwmark(struct device *dev, uint32_t mark);

/* Receives up to n datagrams into bufs (len, src, dst filled).  Returns the
 * count, 0 if none is waiting, or -errno. */
int socket_recv_batch(struct udp_socket *s, struct pkt_buf *bufs, int n);

/* One datagram to ep.  Clears ep's sticky source if the kernel refuses it
 * and retries once without.  0 or -errno. */
int socket_send(struct device *dev, struct endpoint *ep, const void *buf, size_t len);

/* Up to n datagrams, datagram i = bufs[i] (len bytes) to eps[i]; each
 * batch goes out with sendmmsg.  Returns the number sent. */
int socket_send_batch(struct device *dev, struct endpoint **eps, struct iovec *iov, int n);

#endif
