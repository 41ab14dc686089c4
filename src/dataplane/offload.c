/*
 * offload.c - see offload.h.
 *
 * Checksums are summed in the machine's byte order over 32-bit loads and
 * folded at the end; the one's-complement sum is independent of the word
 * size and byte order as long as the result is stored back the same way
 * (RFC 1071, section 2(B)), so headers are patched with memcpy of the
 * native value.
 */
#include "offload.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

enum {
	TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08,
	TCP_ACK = 0x10, TCP_URG = 0x20, TCP_ECE = 0x40, TCP_CWR = 0x80,
	TCP_CSUM_OFF = 16, TCP_SEQ_OFF = 4, TCP_ACK_OFF = 8, TCP_FLAGS_OFF = 13,
	TCP_WIN_OFF = 14,
	IP4_ID_OFF = 4, IP4_CSUM_OFF = 10,
	UDP_HDR_LEN = 8, UDP_CSUM_OFF = 6,
};

uint64_t csum_partial(const void *buf, size_t len, uint64_t sum)
{
	const uint8_t *p = buf;
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	uint32_t w;

	/* Four independent sums of 32-bit halves: no carries are lost (each
	 * grows by < 2^33 per step) and the CPU can run them in parallel. */
	while (len >= 32) {
		uint64_t a, b, c, d;
		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		memcpy(&c, p + 16, 8);
		memcpy(&d, p + 24, 8);
		s0 += (a & 0xffffffff) + (a >> 32);
		s1 += (b & 0xffffffff) + (b >> 32);
		s2 += (c & 0xffffffff) + (c >> 32);
		s3 += (d & 0xffffffff) + (d >> 32);
		p += 32;
		len -= 32;
	}
	sum += s0 + s1 + s2 + s3;
	while (len >= 4) {
		memcpy(&w, p, 4);
		sum += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t h;
		memcpy(&h, p, 2);
		sum += h;
		p += 2;
		len -= 2;
	}
	if (len) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		sum += p[0];
#else
		sum += (uint32_t)p[0] << 8;
#endif
	}
	return sum;
}

static uint16_t fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t csum_fold(uint64_t sum)
{
	return (uint16_t)~fold(sum);
}

uint64_t csum_pseudo(const uint8_t *ip, uint8_t proto, size_t l4_len)
{
	uint64_t sum = 0;

	if ((ip[0] >> 4) == 4)
		sum = csum_partial(ip + 12, 8, 0);	/* saddr, daddr */
	else
		sum = csum_partial(ip + 8, 32, 0);
	sum += htons(proto);
	sum += htons((uint16_t)l4_len);
	if (l4_len > 0xffff)
		sum += htons((uint16_t)(l4_len >> 16));
	return sum;
}

static void put16(uint8_t *p, uint16_t native)
{
	memcpy(p, &native, 2);
}

bool offload_finish_csum(const struct virtio_net_hdr *h, uint8_t *pkt, size_t len)
{
	size_t start = h->csum_start, off = h->csum_offset;

	if (start + off + 2 > len || start > len)
		return false;
	/* The field holds the pseudo-header sum already. */
	uint16_t c = csum_fold(csum_partial(pkt + start, len - start, 0));
	/* UDP sends a computed 0 as all ones: 0 means "no checksum" (RFC 768). */
	if (c == 0 && off == 6)
		c = 0xffff;
	put16(pkt + start + off, c);
	return true;
}

/* IP header length of a TCP packet, or 0 if it is not one we handle. */
static size_t tcp_ip_hdr_len(const uint8_t *pkt, size_t len)
{
	if (len >= 20 && (pkt[0] >> 4) == 4) {
		size_t ihl = (size_t)(pkt[0] & 0xf) * 4;
		return (ihl >= 20 && pkt[9] == IPPROTO_TCP && len >= ihl) ? ihl : 0;
	}
	if (len >= 40 && (pkt[0] >> 4) == 6)
		return pkt[6] == IPPROTO_TCP ? 40 : 0;	/* no extension headers */
	return 0;
}

static void set_ip_len(uint8_t *ip, size_t ip_hdr_len, size_t total)
{
	if ((ip[0] >> 4) == 4) {
		uint16_t v = htons((uint16_t)total);
		memcpy(ip + 2, &v, 2);
		put16(ip + IP4_CSUM_OFF, 0);
		put16(ip + IP4_CSUM_OFF, csum_fold(csum_partial(ip, ip_hdr_len, 0)));
	} else {
		uint16_t v = htons((uint16_t)(total - 40));
		memcpy(ip + 4, &v, 2);
	}
}

/* IP header length of a UDP datagram we can split or merge (IPv4, with
 * options only if options is true; IPv6 without extension headers; not a
 * fragment), or 0. */
static size_t udp_ip_hdr_len(const uint8_t *pkt, size_t len, bool options)
{
	if (len >= 20 + UDP_HDR_LEN && (pkt[0] >> 4) == 4) {
		size_t ihl = (size_t)(pkt[0] & 0xf) * 4;
		return ihl >= 20 && (options || ihl == 20) && len >= ihl + UDP_HDR_LEN &&
		       pkt[9] == IPPROTO_UDP && ((pkt[6] & 0x3f) | pkt[7]) == 0 ? ihl : 0;
	}
	if (len >= 40 + UDP_HDR_LEN && (pkt[0] >> 4) == 6)
		return pkt[6] == IPPROTO_UDP ? 40 : 0;
	return 0;
}

/* Segment k of a super-packet into s: the headers (hdr bytes of pkt), then
 * payload bytes from pkt + off; its own IP length and, for IPv4, ID (the
 * first ID + k, as the kernel's GSO numbers them) and header checksum. */
static void segment_copy(uint8_t *s, const uint8_t *pkt, size_t iph, size_t hdr, size_t off,
			 size_t payload, uint16_t id, int k)
{
	memcpy(s, pkt, hdr);
	memcpy(s + hdr, pkt + off, payload);
	if ((s[0] >> 4) == 4) {
		uint16_t v = htons((uint16_t)(id + k));
		memcpy(s + IP4_ID_OFF, &v, 2);
	}
	set_ip_len(s, iph, hdr + payload);
}

static uint16_t ip4_id(const uint8_t *pkt)
{
	uint16_t id = 0;

	if ((pkt[0] >> 4) == 4) {
		memcpy(&id, pkt + IP4_ID_OFF, 2);
		id = ntohs(id);
	}
	return id;
}

/* USO: a UDP super-packet (one UDP header, gso_size bytes of payload per
 * datagram) cut into datagrams with their own lengths and checksums. */
static int uso_split_from(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
			  int *first, uint8_t *const *out, size_t cap, size_t *lens, int max)
{
	/* IPv4 options are copied into every datagram, as the kernel does. */
	size_t iph = udp_ip_hdr_len(pkt, len, true), hdr = iph + UDP_HDR_LEN, seg = h->gso_size;
	uint16_t id;
	int n = 0, k = *first;

	if (!iph || seg == 0 || k < 0 || hdr + seg > cap || len <= hdr)
		return -EINVAL;
	id = ip4_id(pkt);
	for (size_t off = hdr + (size_t)k * seg; off < len; off += seg, k++) {
		size_t payload = len - off < seg ? len - off : seg;
		uint8_t *s;

		if (n == max) {
			*first = k;	/* resume here */
			return n;
		}
		s = out[n];
		segment_copy(s, pkt, iph, hdr, off, payload, id, k);
		uint8_t *udp = s + iph;
		size_t l4 = UDP_HDR_LEN + payload;
		uint16_t v = htons((uint16_t)l4);
		memcpy(udp + 4, &v, 2);
		put16(udp + UDP_CSUM_OFF, 0);
		uint16_t c = csum_fold(csum_partial(udp, l4, csum_pseudo(s, IPPROTO_UDP, l4)));
		/* RFC 768: a computed 0 is sent as all ones. */
		put16(udp + UDP_CSUM_OFF, c ? c : 0xffff);
		lens[n++] = hdr + payload;
	}
	*first = -1;	/* done */
	return n;
}

int offload_tso_split_from(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
			   int *first, uint8_t *const *out, size_t cap, size_t *lens, int max)
{
	size_t iph, hdr, mss = h->gso_size;
	uint32_t seq;
	uint16_t id;
	int n = 0, k = *first;

	if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_UDP_L4)
		return uso_split_from(h, pkt, len, first, out, cap, lens, max);
	iph = tcp_ip_hdr_len(pkt, len);
	if (!iph || len < iph + 20 || mss == 0 || k < 0)
		return -EINVAL;
	hdr = iph + (size_t)(pkt[iph + 12] >> 4) * 4;
	if (hdr < iph + 20 || hdr > len || hdr + mss > cap)
		return -EINVAL;
	memcpy(&seq, pkt + iph + TCP_SEQ_OFF, 4);
	seq = ntohl(seq);
	id = ip4_id(pkt);
	for (size_t off = hdr + (size_t)k * mss; off < len || (off == hdr && len == hdr); off += mss, k++) {
		size_t payload = len - off < mss ? len - off : mss;
		bool last = off + payload >= len;
		uint8_t *s;

		if (n == max) {
			*first = k;	/* resume here */
			return n;
		}
		s = out[n];
		segment_copy(s, pkt, iph, hdr, off, payload, id, k);
		uint8_t *tcp = s + iph;
		uint32_t sq = htonl(seq + (uint32_t)(off - hdr));
		memcpy(tcp + TCP_SEQ_OFF, &sq, 4);
		if (!last)
			tcp[TCP_FLAGS_OFF] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (k > 0)
			tcp[TCP_FLAGS_OFF] &= (uint8_t)~TCP_CWR;
		put16(tcp + TCP_CSUM_OFF, 0);
		size_t l4 = hdr - iph + payload;
		put16(tcp + TCP_CSUM_OFF,
		      csum_fold(csum_partial(tcp, l4, csum_pseudo(s, IPPROTO_TCP, l4))));
		lens[n++] = hdr + payload;
		if (last)
			break;
	}
	*first = -1;	/* done */
	return n;
}

int offload_tso_split(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
		      uint8_t *const *out, size_t cap, size_t *lens, int max)
{
	int first = 0;
	int n = offload_tso_split_from(h, pkt, len, &first, out, cap, lens, max);

	/* All or nothing here: a split that does not fit is an error. */
	return n >= 0 && first != -1 ? -EINVAL : n;
}

void gro_run_reset(struct gro_run *run)
{
	run->first = NULL;
	run->nsegs = 0;
	run->total = 0;
	run->closed = false;
	run->is_udp = false;
}

static void gro_run_start(struct gro_run *run, uint8_t *pkt, size_t len, size_t hdr,
			  bool is_udp)
{
	run->first = pkt;
	run->is_udp = is_udp;
	run->hdr_len = hdr;
	run->mss = len - hdr;
	run->total = len;
	run->nsegs = 1;
	run->closed = false;
	run->iov[1].iov_base = pkt;
	run->iov[1].iov_len = len;
}

static void gro_run_append(struct gro_run *run, uint8_t *payload, size_t n)
{
	run->iov[run->nsegs + 1].iov_base = payload;
	run->iov[run->nsegs + 1].iov_len = n;
	run->nsegs++;
	run->total += n;
}

/* The UDP half of gro_run_add: datagrams of one flow, all of the first
 * one's payload size but a shorter last one (what the kernel's UDP GRO
 * merges and its USO cuts apart again). */
static bool gro_run_add_udp(struct gro_run *run, uint8_t *pkt, size_t len, size_t iph)
{
	size_t hdr = iph + UDP_HDR_LEN, payload = len - hdr;
	const uint8_t *f = run->first;
	uint16_t ulen;

	memcpy(&ulen, pkt + iph + 4, 2);
	if (ntohs(ulen) != len - iph || payload == 0)
		return false;	/* written alone */
	if (run->nsegs == 0) {
		gro_run_start(run, pkt, len, hdr, true);
		return true;
	}
	if (!run->is_udp || run->closed || run->nsegs == GRO_MAX_SEGS || hdr != run->hdr_len ||
	    payload > run->mss || run->total + payload > 65535)
		return false;
	/* Same addresses, and the IP fields Linux GRO insists on. */
	if ((pkt[0] >> 4) == 4) {
		if (f[1] != pkt[1] || ((f[6] ^ pkt[6]) & 0x40) || f[8] != pkt[8] ||
		    memcmp(f + 12, pkt + 12, 8))
			return false;
	} else if (memcmp(f, pkt, 4) || f[7] != pkt[7] || memcmp(f + 8, pkt + 8, 32)) {
		return false;
	}
	if (memcmp(f + iph, pkt + iph, 4))	/* ports */
		return false;
	gro_run_append(run, pkt + hdr, payload);
	if (payload < run->mss)
		run->closed = true;
	return true;
}

bool gro_run_add(struct gro_run *run, uint8_t *pkt, size_t len)
{
	size_t iph = tcp_ip_hdr_len(pkt, len), hdr, payload;
	uint32_t seq;

	if (!iph && run->uso && (iph = udp_ip_hdr_len(pkt, len, false)) != 0)
		return gro_run_add_udp(run, pkt, len, iph);
	if (!iph || len < iph + 20 || (run->nsegs && run->is_udp))
		return false;
	hdr = iph + (size_t)(pkt[iph + 12] >> 4) * 4;
	if (hdr < iph + 20 || hdr >= len)
		return false;	/* no payload: a pure ACK is written alone */
	uint8_t flags = pkt[iph + TCP_FLAGS_OFF];
	if (flags & ~(TCP_ACK | TCP_PSH) || !(flags & TCP_ACK))
		return false;
	/* Fragments never merge. */
	if ((pkt[0] >> 4) == 4 && ((pkt[6] & 0x3f) | pkt[7]) != 0)
		return false;
	payload = len - hdr;
	memcpy(&seq, pkt + iph + TCP_SEQ_OFF, 4);
	seq = ntohl(seq);

	if (run->nsegs == 0) {
		gro_run_start(run, pkt, len, hdr, false);
		run->next_seq = seq + (uint32_t)payload;
		run->closed = (flags & TCP_PSH) != 0;
		return true;
	}
	const uint8_t *f = run->first;
	if (run->closed || run->nsegs == GRO_MAX_SEGS || hdr != run->hdr_len ||
	    payload > run->mss || seq != run->next_seq || run->total + payload > 65535)
		return false;
	/* Same flow, same ack and window, same options: what Linux GRO asks. */
	if ((pkt[0] >> 4) == 4) {
		/* IP options too: the merged packet carries the first one's. */
		if (f[0] != pkt[0] || f[1] != pkt[1] || f[8] != pkt[8] ||
		    memcmp(f + 12, pkt + 12, 8) || memcmp(f + 20, pkt + 20, iph - 20))
			return false;
	} else {
		if (memcmp(f, pkt, 4) || f[7] != pkt[7] || memcmp(f + 8, pkt + 8, 32))
			return false;
	}
	if (memcmp(f + iph, pkt + iph, 4) ||			/* ports */
	    memcmp(f + iph + TCP_ACK_OFF, pkt + iph + TCP_ACK_OFF, 4) ||
	    memcmp(f + iph + TCP_WIN_OFF, pkt + iph + TCP_WIN_OFF, 2) ||
	    memcmp(f + iph + 20, pkt + iph + 20, hdr - iph - 20))
		return false;
	gro_run_append(run, pkt + hdr, payload);
	run->next_seq = seq + (uint32_t)payload;
	if (payload < run->mss || (flags & TCP_PSH)) {
		run->closed = true;
		if (flags & TCP_PSH)
			run->first[(run->first[0] >> 4) == 4 ? (size_t)(run->first[0] & 0xf) * 4 + TCP_FLAGS_OFF
							       : 40 + TCP_FLAGS_OFF] |= TCP_PSH;
	}
	return true;
}

int gro_run_finish(struct gro_run *run)
{
	uint8_t *ip = run->first;

	if (!run->nsegs)
		return 0;
	memset(&run->vnet, 0, sizeof(run->vnet));
	run->iov[0].iov_base = &run->vnet;
	run->iov[0].iov_len = sizeof(run->vnet);
	if (run->nsegs == 1) {
		/* Authenticated by the AEAD, as the kernel driver trusts it. */
		run->vnet.flags = VIRTIO_NET_HDR_F_DATA_VALID;
		return 2;
	}
	size_t iph = (ip[0] >> 4) == 4 ? (size_t)(ip[0] & 0xf) * 4 : 40;
	set_ip_len(ip, iph, run->total);
	run->vnet.hdr_len = (uint16_t)run->hdr_len;
	run->vnet.gso_size = (uint16_t)run->mss;
	run->vnet.csum_start = (uint16_t)iph;
	if (run->is_udp) {
		uint8_t *udp = ip + iph;
		uint16_t v = htons((uint16_t)(run->total - iph));
		memcpy(udp + 4, &v, 2);
		/* NEEDS_CSUM, as for TCP; the kernel's USO rewrites each
		 * datagram's length and checksum from these. */
		put16(udp + UDP_CSUM_OFF, fold(csum_pseudo(ip, IPPROTO_UDP, run->total - iph)));
		run->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		run->vnet.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
		run->vnet.csum_offset = UDP_CSUM_OFF;
		return run->nsegs + 1;
	}
	uint8_t *tcp = ip + iph;
	/* NEEDS_CSUM: the field carries the pseudo-header sum, not inverted. */
	put16(tcp + TCP_CSUM_OFF, fold(csum_pseudo(ip, IPPROTO_TCP, run->total - iph)));
	run->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	run->vnet.gso_type = (ip[0] >> 4) == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	run->vnet.csum_offset = TCP_CSUM_OFF;
	/* The first packet's own length shrinks back to its headers + payload
	 * (it was set whole when added). */
	return run->nsegs + 1;
}
