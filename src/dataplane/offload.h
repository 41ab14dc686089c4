/*
 * offload.h - segmentation and coalescing between the TUN device's offloads
 * (IFF_VNET_HDR: TSO super-packets with partial checksums) and WireGuard's
 * per-packet transport.
 *
 * Send side: the kernel hands us one TCP super-packet of up to 64 KiB with a
 * virtio_net_hdr (TSO), or one UDP super-packet when an application sent
 * with UDP_SEGMENT (USO); offload_tso_split() cuts it into MSS-sized IP
 * packets (gso_size-sized datagrams) with correct IP and TCP (UDP)
 * checksums, each ready to encrypt.
 * Receive side: decrypted packets of one TCP flow that follow each other,
 * and with USO datagrams of one UDP flow, are merged into one super-packet
 * for a single writev() to the TUN (struct gro_run), so the kernel's stack
 * sees what GRO would make.
 *
 * No allocation; callers provide the buffers.  Checksums are the RFC 1071
 * one's-complement sum.
 */
#ifndef ZWG_OFFLOAD_H
#define ZWG_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VNET_HDR_LEN sizeof(struct virtio_net_hdr)

/* Linux 6.2's uapi value; Debian 12's headers (6.1) predate it. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* One's-complement sum of len bytes added to sum (not folded). */
uint64_t csum_partial(const void *buf, size_t len, uint64_t sum);
/* Folds and inverts: the checksum to put in a header. */
uint16_t csum_fold(uint64_t sum);
/* Pseudo-header sum for TCP/UDP over IPv4 (pkt points at the IPv4 header)
 * or IPv6, for a transport length of l4_len. */
uint64_t csum_pseudo(const uint8_t *ip, uint8_t proto, size_t l4_len);

/* Completes a NEEDS_CSUM checksum of a single packet in place.  False if
 * the header's offsets do not fit the packet. */
bool offload_finish_csum(const struct virtio_net_hdr *h, uint8_t *pkt, size_t len)
	__attribute__((warn_unused_result));

/*
 * Splits the super-packet pkt (len bytes, described by h with a TCP gso_type,
 * or VIRTIO_NET_HDR_GSO_UDP_L4 for an IPv4 datagram without options or an
 * IPv6 one without extension headers)
 * into segments: segment i is written to out[i] (each with room for `cap`
 * bytes) and its length stored in lens[i].  Returns the number of segments
 * (at most max), or -EINVAL if the packet does not match its header (it is
 * then dropped by the caller).
 */
int offload_tso_split(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
		      uint8_t *const *out, size_t cap, size_t *lens, int max);

/* The same, resumable: starts at segment *first and writes at most max;
 * on return *first is the segment to resume at, or -1 when the whole
 * super-packet is done.  Returns the count written or -EINVAL. */
int offload_tso_split_from(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
			   int *first, uint8_t *const *out, size_t cap, size_t *lens, int max);

/*
 * A run of TCP segments (or, with uso, UDP datagrams) of one flow being
 * merged for one write.  The first segment's headers are kept (patched on
 * flush); later segments contribute only their payload.  Segments are
 * referenced, not copied: they must stay valid until gro_run_finish().
 *
 * UDP datagrams merge when they share addresses, ports, the IP fields
 * Linux GRO compares (IPv4 TOS, TTL, DF; IPv6 traffic class, flow label,
 * hop limit) and the first one's payload size; a shorter one ends the run,
 * and an empty one is never merged.  The TUN must have accepted USO
 * (TUN_F_USO4/6), or it would refuse the merged write: set uso only then.
 */
#define GRO_MAX_SEGS 64
struct gro_run {
	uint8_t *first;			/* IP header of the first segment */
	size_t hdr_len;			/* IP + TCP header length */
	size_t mss;			/* payload length of the first segment */
	size_t total;			/* bytes: headers + all payload */
	uint32_t next_seq;
	int nsegs;
	bool closed;			/* a short segment or PSH ended it */
	bool is_udp;			/* the run holds UDP datagrams */
	bool uso;			/* merge UDP too (kept by gro_run_reset) */
	struct iovec iov[GRO_MAX_SEGS + 2];	/* vnet hdr, first packet, payloads */
	struct virtio_net_hdr vnet;
};

/* True if pkt (an IP packet of len bytes) was appended to run (an empty run
 * accepts any TCP segment, and with uso any UDP datagram with payload).
 * False: flush the run, then start over with it. */
bool gro_run_add(struct gro_run *run, uint8_t *pkt, size_t len);
/* Patches the first segment's headers for the merged length (for UDP also
 * the UDP length; the checksum field gets the pseudo-header sum, as
 * NEEDS_CSUM asks), and fills run->iov; returns the iovec count for writev
 * (0 if the run is empty).  A run of one segment is written as it is,
 * marked checksum-valid. */
int gro_run_finish(struct gro_run *run);
void gro_run_reset(struct gro_run *run);

#endif
