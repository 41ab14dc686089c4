/*
 * device.h - one WireGuard interface: identity, peers, sockets, TUN, and the
 * event loop that moves packets between them.
 *
 * Threading: one owner thread runs device_run(); it alone touches the
 * device, its peers and tables, so the structures carry no locks.  Packet
 * work is done in batches (struct pkt_batch) so that the crypto step can be
 * fanned out to workers and the I/O steps use recvmmsg/sendmmsg, without
 * changing this ownership rule.
 */
#ifndef ZWG_DEVICE_H
#define ZWG_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "allowedips.h"
#include "busypoll.h"
#include "cookie.h"
#include "noise.h"
#include "peer.h"
#include "ratelimiter.h"
#include "secmem.h"
#include "timerheap.h"
#include "tun.h"
#include "workers.h"
#include <linux/virtio_net.h>
#include "log.h"

#include <pthread.h>

#define BATCH_SIZE 64
/* Segments of TUN super-packets (TSO) are cut into slots of this size; a
 * batch holds at most TX_SLOTS of them plus the BATCH_SIZE packets read. */
#define TX_SLOTS 384
#define TX_SLOT_SIZE 2048
#define TX_MAX_PKTS (TX_SLOTS + BATCH_SIZE)
/* With UDP GRO one read can hold many datagrams. */
#define RX_GRO_READS 16
#define RX_MAX_DGRAMS 1024
/* One packet buffer: room for the data header in front of the largest IP
 * packet, and for padding and the tag behind it. */
#define PKT_HEADROOM	sizeof(struct message_data)
#define PKT_BUF_SIZE	(PKT_HEADROOM + 65535 + MESSAGE_PADDING_MULTIPLE + NOISE_AUTHTAG_LEN)

/* Drop reasons, each a counter, as in the kernel's receive path. */
enum drop_reason {
	DROP_RX_SHORT,			/* too short for its type */
	DROP_RX_BAD_TYPE,		/* unknown type or wrong size for the type */
	DROP_RX_BAD_MAC,		/* MAC1 wrong */
	DROP_RX_RATELIMITED,		/* under load, source over its budget */
	DROP_RX_COOKIE_SENT,		/* under load, answered with a cookie */
	DROP_RX_HANDSHAKE_INVALID,	/* noise rejected it */
	DROP_RX_COOKIE_INVALID,		/* cookie reply failed */
	DROP_RX_NO_KEYPAIR,		/* unknown index or expired keypair */
	DROP_RX_DECRYPT,		/* authentication failed */
	DROP_RX_REPLAY,			/* counter replayed or too old */
	DROP_RX_BAD_INNER,		/* not a valid IP packet inside */
	DROP_RX_ALLOWEDIPS,		/* inner source not allowed for the peer */
	DROP_RX_TUN_WRITE,
	DROP_TX_NO_PEER,		/* no allowed-IPs match */
	DROP_TX_NO_ENDPOINT,
	DROP_TX_BAD_PACKET,
	DROP_TX_SEND,
	DROP_TX_STAGED_OVERFLOW,
	DROP__COUNT
};

/* Handshake messages, each a counter (/metrics: zerowg_handshakes_total).
 * Received counts only what noise accepted (the rejects are drops);
 * sent counts what the socket took.  A session is counted when its keys
 * are derived and installed, on either side. */
enum handshake_event {
	HS_INITIATION_RECEIVED,
	HS_INITIATION_SENT,
	HS_RESPONSE_RECEIVED,
	HS_RESPONSE_SENT,
	HS_COOKIE_RECEIVED,		/* a valid cookie reply consumed */
	HS_SESSION_DERIVED,
	HS__COUNT
};

struct pkt_buf {
	uint8_t *data;			/* PKT_BUF_SIZE bytes */
	size_t len;
	union uapi_sockaddr src;	/* rx: outer source */
	union {
		struct in_addr dst4;	/* rx: our address it was sent to */
		struct in6_addr dst6;
	};
	int dst_ifindex;
	bool has_dst;
	size_t gso_size;		/* rx with UDP GRO: datagrams of this size, 0 = one */
};

struct udp_socket {
	int fd;
	int family;
	/* An adopted IPv6 socket that is not V6ONLY (socket activation): IPv4
	 * arrives on it as ::ffff:a.b.c.d, and leaves through it when there is
	 * no IPv4 socket.  Our own IPv6 sockets are V6ONLY. */
	bool v4mapped;
};

struct device {
	char ifname[16];
	int tun_fd;
	int ifindex;
	struct udp_socket sock4, sock6;	/* fd -1 when closed */
	uint16_t listen_port;		/* bound port (after bind) */
	uint16_t configured_port;	/* 0 = any */
	bool sockets_adopted;		/* sock4/sock6 came from socket activation
					 * (device_adopt_sockets), until a rebind */
	uint32_t fwmark;
	/* Sets SO_MARK on one of the device's UDP sockets: every mark the
	 * data plane sets goes through it.  NULL: setsockopt right here;
	 * zerowgd, which keeps no capability, asks its helper instead
	 * (markhelper.h).  0 or -errno. */
	int (*set_mark)(void *ctx, int fd, uint32_t mark);
	void *set_mark_ctx;

	/* Offloads, each detected at start with a fallback (offload.h). */
	bool tun_vnet;			/* TUN reads/writes carry a virtio_net_hdr */
	bool tun_tso;			/* TUN hands us TSO super-packets */
	bool tun_uso;			/* TUN took USO: merged UDP writes */
	bool tun_uso_tx;		/* ... and still hands us UDP super-packets */
	bool udp_gso, udp_gro;		/* in use */
	bool udp_gro_wanted;
	/* rx, tx, tx_super and tx_slots all live in one mapping (device.c). */
	uint8_t *pkt_pool;
	size_t pkt_pool_len;
	uint8_t *tx_slots;		/* TX_SLOTS * TX_SLOT_SIZE */
	/* A super-packet whose segments did not all fit the slots of one
	 * batch (a small MSS): the rest goes out with the next batch. */
	uint8_t *tx_super;		/* PKT_BUF_SIZE; the packet at PKT_HEADROOM */
	size_t tx_super_len;
	int tx_super_next;		/* segment to resume at, -1 = none */
	struct virtio_net_hdr tx_super_hdr;
	struct workers workers;		/* crypto threads (none until device_start_workers) */
	int mtu;			/* last known TUN MTU */
	uint64_t mtu_checked_ns;

	struct noise_static_identity *identity;	/* in locked secret memory */
	struct cookie_checker *cookie_checker;	/* in locked secret memory */
	/* Every struct peer (its handshake holds the PSK, the static-static
	 * DH, the ephemeral, chaining key and hash) and every keypair slot
	 * (session keys) come from these: secmem, wiped when given back.
	 * Owner thread only. */
	struct secmem_pool peer_pool;
	struct secmem_pool keypair_pool;
	struct ratelimiter ratelimiter;
	struct allowedips allowedips;

	struct peer *peers_head, *peers_tail;
	size_t peer_count;
	struct peer **pubkey_table;	/* buckets */
	size_t pubkey_buckets;
	struct index_entry **index_table;
	size_t index_buckets, index_count;

	struct timer_heap timers;
	uint64_t next_peer_id;

	/* Load detection for cookies (whitepaper 5.3). */
	uint64_t load_window_start_ns;
	unsigned handshakes_in_window;
	uint64_t under_load_until_ns;

	/* Event loop. */
	int epoll_fd;
	int timer_fd;
	/* Protocol time the timerfd is armed for (UINT64_MAX = not armed).
	 * It is re-armed only when a timer is due earlier; one armed too
	 * early just fires and is re-armed, which costs less than a
	 * timerfd_settime on every round of packets. */
	uint64_t timer_armed_ns;
	struct busy_poll busy_poll;	/* polling after packet work (busypoll.h) */
	bool stopping;
	int exit_status;

	/* Packet buffers, allocated once. */
	struct pkt_buf rx[BATCH_SIZE];
	struct pkt_buf tx[BATCH_SIZE];

	/* Calls from other threads (device_call): a queue under call_lock,
	 * woken through call_fd (an eventfd the loop watches).  Lock order:
	 * call_lock is a leaf; nothing else is held while taking it. */
	int call_fd;
	pthread_mutex_t call_lock;
	struct device_call *calls_head, *calls_tail;

	uint64_t drops[DROP__COUNT];
	struct log_ratelimit drop_log;
	/* Loop thread only, as drops; read through device_call. */
	uint64_t handshakes[HS__COUNT];
};

/* Creates the device for an open TUN fd.  0 or -errno. */
int device_init(struct device *dev, const char *ifname, int tun_fd);
/* Opens the TUN ifname with every offload the environment leaves on
 * (ZWG_DISABLE_OFFLOAD=tun,tso,uso,...); *o says what the kernel granted,
 * for device_set_offloads.  The fd or -errno. */
int device_open_tun(const char *ifname, struct tun_offloads *o);
/* Tells the device how its TUN was opened (device_open_tun) and tries the
 * UDP offloads the environment leaves on (gso, gro).  0 or -errno. */
int device_set_offloads(struct device *dev, const struct tun_offloads *o);
/* Takes an open TUN fd (zerowgd --tun-fd) in place of device_open_tun:
 * checks that it is a layer-3 TUN without packet information (IFF_TUN,
 * IFF_NO_PI), makes it non-blocking and close-on-exec, and writes its name
 * (TUNGETIFF) to ifname (16 bytes).  How it was opened is read back: with
 * IFF_VNET_HDR the offloads the environment leaves on are set as
 * device_open_tun sets them; without, TSO and USO are turned off, since
 * nothing could tell what the opener set.  *o is for device_set_offloads.
 * 0 or -errno, with a message for a person in err. */
int device_adopt_tun(int fd, char *ifname, struct tun_offloads *o, char *err, size_t errlen);
/* Which offloads the environment leaves on (checked once). */
bool device_offload_allowed(const char *name);
/* Starts the crypto worker threads (n < 0: one per extra CPU).  0 or -errno. */
int device_start_workers(struct device *dev, int n);
void device_teardown(struct device *dev);

/* Sets or clears (all zero) the private key; peers' sessions are cleared
 * only if the key actually changes.  0 or -errno. */
int device_set_private_key(struct device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN]);
/* (Re)binds the UDP sockets to port (0 = any).  0 or -errno (EADDRINUSE).
 * The port the device already listens on is a no-op (adopted sockets are
 * kept); another port replaces adopted sockets with our own. */
int device_bind(struct device *dev, uint16_t port);
/* Uses the bound UDP sockets fd4 (AF_INET) and fd6 (AF_INET6) from socket
 * activation in place of the device's own (either may be -1, not both).
 * They get the options the device's own sockets get (non-blocking,
 * close-on-exec, packet info, buffers, fwmark, UDP GRO); both must be
 * unconnected UDP sockets bound to the same port, which becomes the
 * listen port.  An IPv6 socket that is not V6ONLY also carries IPv4.  On
 * success the device owns the fds; on failure they stay the caller's and
 * the device keeps its sockets (the reason is logged).  0 or -errno. */
int device_adopt_sockets(struct device *dev, int fd4, int fd6);
int device_set_fwmark(struct device *dev, uint32_t mark);

/* Counts a drop and logs it (rate-limited, verbose level). */
void device_drop(struct device *dev, enum drop_reason why, const char *detail);

/* Packet path (send.c / receive.c). */
void device_tun_readable(struct device *dev);
void device_udp_readable(struct device *dev, struct udp_socket *s);
/* Processes datagrams already in dev->rx[0..n) (len and src set). */
void device_receive_batch(struct device *dev, int n);
int device_send_buffer(struct device *dev, struct peer *peer, const uint8_t *buf, size_t len);
void packet_send_handshake_initiation(struct peer *peer, bool is_retry);
void packet_send_keepalive(struct peer *peer);
void packet_send_staged_packets(struct peer *peer);
bool device_under_load(struct device *dev, uint64_t now_ns);


/* ---- the event loop (device.c) ---- */

/* Something else the loop watches (the UAPI socket, signals, ...). */
struct loop_source {
	int fd;
	void (*ready)(struct device *dev, struct loop_source *src, uint32_t events);
	void *ctx;
};
int device_watch(struct device *dev, struct loop_source *src, uint32_t events);
void device_unwatch(struct device *dev, struct loop_source *src);
/* Runs until device_stop(); returns dev->exit_status. */
int device_run(struct device *dev);
void device_stop(struct device *dev, int status);

/* Runs fn(dev, ctx) on the loop thread and waits for it; returns fn's
 * value.  Called on the loop thread itself, it runs fn directly.  This is
 * how the control plane and the admin API change the device. */
int device_call(struct device *dev, int (*fn)(struct device *dev, void *ctx), void *ctx);

#endif
