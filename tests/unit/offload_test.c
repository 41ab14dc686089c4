/*
 * offload_test.c - the TSO/USO/GRO fast paths of offload.c checked against
 * slow, obvious references:
 *   - the checksum against RFC 1071 done by the book (16-bit big-endian
 *     words, an odd byte padded with zero) on every length 0..2000 at
 *     random alignments, and the pseudo-header sums against pseudo-headers
 *     built byte by byte;
 *   - offload_tso_split on super-packets built the way the kernel hands
 *     them to a TUN with IFF_VNET_HDR (NEEDS_CSUM, the pseudo-header sum in
 *     the TCP checksum field, a valid IPv4 header checksum): every segment
 *     must be a correct TCP packet on its own, and together they must be
 *     the super-packet again;
 *   - malformed super-packets: -EINVAL, and no access outside the buffers
 *     (every buffer is allocated at its exact size, so an ASan build,
 *     `make SAN=address,undefined O=build-san build-san/tests/offload_test`,
 *     catches a stray byte);
 *   - struct gro_run: the segments of a split merge back into the original
 *     super-packet byte for byte, with the virtio header the kernel needs;
 *     anything Linux GRO would not merge is refused and leaves the run as
 *     it was;
 *   - USO, the same for UDP: UDP super-packets as the kernel hands them to a
 *     TUN that took TUN_F_USO4/6 (an application's UDP_SEGMENT send) cut
 *     into datagrams with their own lengths and checksums (a checksum
 *     computing to 0 sent as 0xffff), odd datagram sizes from 1 byte, the
 *     last one shorter or not; malformed ones refused; with uso set on a
 *     run, datagrams of one flow merged into the super-packet again, byte
 *     for byte, and cut again into the same datagrams; other flows, TCP,
 *     fragments, IP options, empty or longer datagrams, and anything once
 *     uso is off, refused.
 * The random generator has a fixed seed, so a failure reproduces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"
#include "test.h"

enum {
	FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20,
	ECE = 0x40, CWR = 0x80,
};

/* The payload capacity send.c gives a slot: TX_SLOT_SIZE minus the data
 * header, padding and tag. */
#define SLOT_CAP (2048 - 16 - 16 - 16)

static uint64_t rng_state = 0x6f66666c6f6164ULL;

static uint64_t rng(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static size_t rnd(size_t lo, size_t hi)
{
	return lo + (size_t)(rng() % (hi - lo + 1));
}

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

static void *xmalloc(size_t n)
{
	/* malloc(0) may return NULL; ASan still sees a 1-byte block as 1 byte. */
	void *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = xmalloc(n);

	if (n)
		memcpy(d, p, n);
	return d;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void set32(uint8_t *p, uint32_t v)
{
	set16(p, (uint16_t)(v >> 16));
	set16(p + 2, (uint16_t)v);
}

/* The big-endian number a native 16-bit value becomes once stored with
 * memcpy, which is how offload.c writes header fields. */
static uint16_t stored(uint16_t native)
{
	uint8_t b[2];

	memcpy(b, &native, 2);
	return get16(b);
}

/* ------------------------------------------------------ the references -- */

/* RFC 1071 by the book: the folded one's-complement sum of big-endian
 * 16-bit words, not inverted. */
static uint16_t naive_sum(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t naive_csum(const uint8_t *p, size_t len)
{
	return (uint16_t)~naive_sum(p, len);
}

/* The pseudo-header of RFC 793 / RFC 8200 section 8.1, byte by byte. */
static size_t naive_pseudo(uint8_t *out, const uint8_t *ip, uint8_t proto, uint32_t l4_len)
{
	if ((ip[0] >> 4) == 4) {
		memcpy(out, ip + 12, 8);
		out[8] = 0;
		out[9] = proto;
		set16(out + 10, (uint16_t)l4_len);
		return 12;
	}
	memcpy(out, ip + 8, 32);
	set32(out + 32, l4_len);
	out[36] = out[37] = out[38] = 0;
	out[39] = proto;
	return 40;
}

/* True if the transport checksum of the packet at ip (l4 at l4off) is
 * right: pseudo-header + segment sum to all ones. */
static bool naive_l4_ok(const uint8_t *ip, size_t len, size_t l4off, uint8_t proto)
{
	static uint8_t buf[40 + 70000];
	size_t n = naive_pseudo(buf, ip, proto, (uint32_t)(len - l4off));

	memcpy(buf + n, ip + l4off, len - l4off);
	return naive_sum(buf, n + len - l4off) == 0xffff;
}

/* ---------------------------------------------------------- 1. checksums -- */

static void test_csum_against_rfc1071(void)
{
	static uint8_t buf[2000 + 16];
	int bad = 0;

	for (size_t len = 0; len <= 2000; len++) {
		for (int rep = 0; rep < 6; rep++) {
			size_t align = rnd(0, 15);
			uint8_t *p = buf + align;
			/* Random data, and the extremes a carry bug shows on. */
			if (rep == 0)
				memset(p, 0xff, len);
			else if (rep == 1)
				memset(p, 0, len);
			else
				fill_random(p, len);
			uint16_t got = stored(csum_fold(csum_partial(p, len, 0)));
			uint16_t want = naive_csum(p, len);
			if (got != want && bad++ < 5)
				fprintf(stderr, "  csum len %zu align %zu rep %d: got %04x, want %04x\n",
					len, align, rep, got, want);
			/* A sum carried on from an even split point is the same sum. */
			size_t k = len ? rnd(0, len) & ~(size_t)1 : 0;
			uint16_t chained = stored(csum_fold(csum_partial(p + k, len - k,
									 csum_partial(p, k, 0))));
			if (chained != want && bad++ < 5)
				fprintf(stderr, "  csum len %zu split at %zu: got %04x, want %04x\n",
					len, k, chained, want);
		}
	}
	CHECK_INT(bad, 0);
	/* 64 KiB of 0xff: many carries. */
	uint8_t *big = xmalloc(65536);
	memset(big, 0xff, 65536);
	CHECK_INT(stored(csum_fold(csum_partial(big, 65536, 0))), naive_csum(big, 65536));
	fill_random(big, 65536);
	CHECK_INT(stored(csum_fold(csum_partial(big + 1, 65535, 0))), naive_csum(big + 1, 65535));
	free(big);
}

static void random_ip(uint8_t *ip, int v)
{
	fill_random(ip, v == 4 ? 20 : 40);
	ip[0] = v == 4 ? 0x45 : (uint8_t)(0x60 | (ip[0] & 0xf));
}

static void test_pseudo_header(void)
{
	uint8_t ip[40], ph[40];
	static const uint32_t edges[] = { 0, 1, 2, 20, 0xfffe, 0xffff, 0x10000, 0x12345, 0xffffffffu };
	int bad = 0;

	for (int i = 0; i < 20000; i++) {
		int v = i & 1 ? 6 : 4;
		uint8_t proto = i % 3 == 0 ? IPPROTO_TCP : i % 3 == 1 ? IPPROTO_UDP : (uint8_t)rng();
		uint32_t l4 = i < 9 * 2 ? edges[i / 2] : (uint32_t)rnd(0, 0xffff);
		if (v == 4 && l4 > 0xffff)
			l4 = 0xffff;	/* the IPv4 pseudo-header has 16 bits of length */
		random_ip(ip, v);
		/* Addresses of all ones and all zeros. */
		if (i % 97 == 0)
			memset(ip + 8, 0xff, 32);
		if (i % 89 == 0)
			memset(ip + 8, 0, 32);
		size_t n = naive_pseudo(ph, ip, proto, l4);
		uint16_t got = stored(csum_fold(csum_pseudo(ip, proto, l4)));
		uint16_t want = naive_csum(ph, n);
		if (got != want && bad++ < 5)
			fprintf(stderr, "  pseudo v%d proto %u len %u: got %04x, want %04x\n",
				v, proto, l4, got, want);
	}
	CHECK_INT(bad, 0);
}

/* ------------------------------------------------------ packet builders -- */

struct flow {
	int v;			/* 4 or 6 */
	size_t ip_opts;		/* IPv4 option bytes, a multiple of 4 */
	size_t tcp_opts;	/* TCP option bytes, a multiple of 4 */
	uint8_t tos, ttl;
	uint8_t saddr[16], daddr[16];
	uint32_t flowlabel;
	uint16_t sport, dport, window;
	uint32_t ack, tsval, tsecr;
};

static void random_flow(struct flow *f, int v, size_t ip_opts, size_t tcp_opts)
{
	memset(f, 0, sizeof(*f));
	f->v = v;
	f->ip_opts = v == 4 ? ip_opts : 0;
	f->tcp_opts = tcp_opts;
	f->tos = (uint8_t)(rng() & 0xfc);	/* DSCP, ECN not-ECT */
	f->ttl = 64;
	fill_random(f->saddr, 16);
	fill_random(f->daddr, 16);
	f->flowlabel = (uint32_t)rng() & 0xfffff;
	f->sport = (uint16_t)rng();
	f->dport = (uint16_t)rng();
	f->window = (uint16_t)rng();
	f->ack = (uint32_t)rng();
	f->tsval = (uint32_t)rng();
	f->tsecr = (uint32_t)rng();
}

static size_t flow_iph(const struct flow *f)
{
	return f->v == 4 ? 20 + f->ip_opts : 40;
}

static size_t flow_hdr(const struct flow *f)
{
	return flow_iph(f) + 20 + f->tcp_opts;
}

static void ip4_fix_csum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;

	set16(ip + 10, 0);
	set16(ip + 10, naive_csum(ip, ihl));
}

/* Writes the IP header of f (proto, total length len, IPv4 ID id, DF) at p;
 * the rest of the packet is the caller's. */
static void write_ip_header(const struct flow *f, uint8_t *p, size_t len, uint16_t id,
			    uint8_t proto)
{
	size_t iph = flow_iph(f);

	if (f->v == 4) {
		p[0] = (uint8_t)(0x40 | iph / 4);
		p[1] = f->tos;
		set16(p + 2, (uint16_t)len);
		set16(p + 4, id);
		p[6] = 0x40;	/* DF */
		p[8] = f->ttl;
		p[9] = proto;
		memcpy(p + 12, f->saddr, 4);
		memcpy(p + 16, f->daddr, 4);
		memset(p + 20, 1, f->ip_opts);	/* NOPs */
		ip4_fix_csum(p);
	} else {
		set32(p, 6u << 28 | (uint32_t)f->tos << 20 | f->flowlabel);
		set16(p + 4, (uint16_t)(len - 40));
		p[6] = proto;
		p[7] = f->ttl;
		memcpy(p + 8, f->saddr, 16);
		memcpy(p + 24, f->daddr, 16);
	}
}

/* Writes the IP and TCP headers of f for a packet of total length len.
 * The TCP checksum field is left zero. */
static void write_headers(const struct flow *f, uint8_t *p, size_t len, uint32_t seq,
			  uint16_t id, uint8_t flags)
{
	size_t iph = flow_iph(f);
	uint8_t *t = p + iph;

	memset(p, 0, flow_hdr(f));
	write_ip_header(f, p, len, id, IPPROTO_TCP);
	set16(t, f->sport);
	set16(t + 2, f->dport);
	set32(t + 4, seq);
	set32(t + 8, f->ack);
	t[12] = (uint8_t)((20 + f->tcp_opts) / 4 << 4);
	t[13] = flags;
	set16(t + 14, f->window);
	uint8_t *o = t + 20;
	memset(o, 1, f->tcp_opts);	/* NOPs */
	if (f->tcp_opts >= 12) {
		/* NOP NOP TS, as Linux sends it */
		o[2] = 8;
		o[3] = 10;
		set32(o + 4, f->tsval);
		set32(o + 8, f->tsecr);
	}
}

static void tcp_fix_csum(uint8_t *p, size_t len)
{
	size_t iph = (p[0] >> 4) == 4 ? (size_t)(p[0] & 0xf) * 4 : 40;
	uint8_t ph[40];
	size_t n = naive_pseudo(ph, p, IPPROTO_TCP, (uint32_t)(len - iph));
	uint64_t s;

	set16(p + iph + 16, 0);
	s = (uint64_t)naive_sum(ph, n) + naive_sum(p + iph, len - iph);
	s = (s & 0xffff) + (s >> 16);
	set16(p + iph + 16, (uint16_t)~s);
}

/* One ordinary TCP segment (full checksums), allocated at its exact size. */
static uint8_t *build_seg(const struct flow *f, uint32_t seq, uint16_t id, uint8_t flags,
			  const uint8_t *payload, size_t plen, size_t *len)
{
	*len = flow_hdr(f) + plen;
	uint8_t *p = xmalloc(*len);

	write_headers(f, p, *len, seq, id, flags);
	memcpy(p + flow_hdr(f), payload, plen);
	tcp_fix_csum(p, *len);
	return p;
}

/* A super-packet as the kernel writes it to a TUN with IFF_VNET_HDR and
 * TSO on: IPv4 checksum valid, the TCP checksum field holding the folded
 * (not inverted) pseudo-header sum over the whole length, NEEDS_CSUM. */
static uint8_t *build_super(const struct flow *f, uint32_t seq, uint16_t id, uint8_t flags,
			    const uint8_t *payload, size_t plen, size_t mss,
			    struct virtio_net_hdr *vh, size_t *len)
{
	size_t iph = flow_iph(f);
	uint8_t ph[40];

	*len = flow_hdr(f) + plen;
	uint8_t *p = xmalloc(*len);
	write_headers(f, p, *len, seq, id, flags);
	if (plen)
		memcpy(p + flow_hdr(f), payload, plen);
	set16(p + iph + 16, naive_sum(ph, naive_pseudo(ph, p, IPPROTO_TCP, (uint32_t)(*len - iph))));
	memset(vh, 0, sizeof(*vh));
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->gso_type = f->v == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	if (flags & CWR)
		vh->gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	vh->hdr_len = (uint16_t)flow_hdr(f);
	vh->gso_size = (uint16_t)mss;
	vh->csum_start = (uint16_t)iph;
	vh->csum_offset = 16;
	return p;
}

/* ------------------------------------------------------------ 2. split -- */

struct slots {
	uint8_t **out;		/* exactly max pointers */
	size_t *lens;		/* exactly max lengths */
	int max;
};

static void slots_alloc(struct slots *s, int max, size_t cap)
{
	s->max = max;
	s->out = xmalloc(sizeof(*s->out) * (size_t)max);
	s->lens = xmalloc(sizeof(*s->lens) * (size_t)max);
	for (int i = 0; i < max; i++) {
		s->out[i] = xmalloc(cap);
		memset(s->out[i], 0xa5, cap);
	}
}

static void slots_free(struct slots *s)
{
	for (int i = 0; i < s->max; i++)
		free(s->out[i]);
	free(s->out);
	free(s->lens);
}

static int expected_segs(size_t plen, size_t mss)
{
	return plen == 0 ? 1 : (int)((plen + mss - 1) / mss);
}

/* Checks the n segments of the split of pkt (len bytes, flow f, mss)
 * against everything the segments must be.  Returns the failures seen. */
static int check_segments(const struct flow *f, const uint8_t *pkt, size_t len, size_t mss,
			  const struct slots *s, int n, const char *what)
{
	size_t iph = flow_iph(f), hdr = flow_hdr(f), plen = len - hdr;
	uint32_t seq0 = get32(pkt + iph + 4);
	uint16_t id0 = f->v == 4 ? get16(pkt + 4) : 0;
	uint8_t flags0 = pkt[iph + 13];
	int before = test_failed_checks;

	CHECK_INT(n, expected_segs(plen, mss));
	if (n != expected_segs(plen, mss))
		goto out;
	for (int i = 0; i < n; i++) {
		const uint8_t *g = s->out[i];
		size_t off = (size_t)i * mss;
		size_t pl = plen - off < mss ? plen - off : mss;
		bool first = i == 0, last = i == n - 1;

		CHECK_INT(s->lens[i], hdr + pl);
		if (s->lens[i] != hdr + pl)
			goto out;
		if (f->v == 4) {
			CHECK(g[0] == pkt[0] && g[1] == pkt[1]);
			CHECK_INT(get16(g + 2), hdr + pl);
			CHECK_INT(get16(g + 4), (uint16_t)(id0 + i));
			CHECK_MEM(g + 6, pkt + 6, 4);		/* frag, ttl, proto */
			CHECK_MEM(g + 12, pkt + 12, iph - 12);	/* addresses, options */
			CHECK_INT(naive_sum(g, iph), 0xffff);	/* header checksum */
		} else {
			CHECK_MEM(g, pkt, 4);
			CHECK_INT(get16(g + 4), hdr + pl - 40);
			CHECK_MEM(g + 6, pkt + 6, 34);
		}
		const uint8_t *t = g + iph, *t0 = pkt + iph;
		uint8_t want = flags0;
		if (!last)
			want &= (uint8_t)~(FIN | PSH);
		if (!first)
			want &= (uint8_t)~CWR;
		CHECK_MEM(t, t0, 4);				/* ports */
		CHECK_INT(get32(t + 4), (uint32_t)(seq0 + off));
		CHECK_MEM(t + 8, t0 + 8, 5);			/* ack, doff */
		CHECK_INT(t[13], want);
		CHECK_MEM(t + 14, t0 + 14, 2);			/* window */
		CHECK_MEM(t + 18, t0 + 18, hdr - iph - 18);	/* urgent, options */
		CHECK(naive_l4_ok(g, hdr + pl, iph, IPPROTO_TCP));
		CHECK_MEM(g + hdr, pkt + hdr + off, pl);
	}
out:
	if (test_failed_checks != before)
		fprintf(stderr, "  ... in %s\n", what);
	return test_failed_checks - before;
}

static const size_t mss_list[] = {
	536, 1000, 1348, 1368, 1380,			/* the usual ones */
	1, 7, 88, 333, 537, 999, 1001, 1367, 1379, 1381, 1399, 1427, 1439,
};

static void test_split_random(void)
{
	static uint8_t payload[65536 + 64];	/* and a random start in the first 64 */
	static const uint8_t flag_sets[] = {
		ACK, PSH | ACK, FIN | ACK, CWR | ACK, FIN | PSH | ACK, CWR | ECE | PSH | ACK,
	};
	static const size_t tcp_opt_list[] = { 0, 12, 40 };
	static const size_t ip_opt_list[] = { 0, 4, 40 };
	int failures = 0, cases = 0;

	fill_random(payload, sizeof(payload));
	for (size_t mi = 0; mi < sizeof(mss_list) / sizeof(mss_list[0]); mi++) {
		size_t mss = mss_list[mi];
		for (int rep = 0; rep < 24 && failures < 3; rep++) {
			struct flow f;
			struct virtio_net_hdr vh;
			struct slots s;
			size_t len, plen, hdr;
			int v = rep & 1 ? 6 : 4;
			char what[160];

			/* Timestamps mostly (header 32 bytes, as Linux sends). */
			random_flow(&f, v, rep % 5 == 4 ? ip_opt_list[rnd(1, 2)] : 0,
				    rep % 4 == 3 ? tcp_opt_list[rnd(0, 2)] : 12);
			hdr = flow_hdr(&f);
			if (hdr + mss > SLOT_CAP)
				continue;
			/* Sizes: tiny, around multiples of the MSS, anything up
			 * to 64 KiB, and the largest a super-packet can be. */
			size_t maxp = 65535 - hdr;
			if (mss < 100)
				maxp = mss * 600 < maxp ? mss * 600 : maxp;	/* few enough slots */
			switch (rep % 6) {
			case 0: plen = rnd(1, 3); break;
			case 1: plen = mss * rnd(1, 40) + rnd(0, 2) - 1; break;
			case 2: plen = maxp; break;
			case 3: plen = mss; break;
			default: plen = rnd(1, maxp); break;
			}
			if (plen > maxp)
				plen = maxp;
			if (plen == 0)
				plen = 1;
			uint8_t flags = flag_sets[rng() % sizeof(flag_sets)];
			/* Sequence numbers and IDs that wrap during the split. */
			uint32_t seq = rep % 3 == 0 ? 0xffffffffu - (uint32_t)rnd(0, 3 * mss) : (uint32_t)rng();
			uint16_t id = rep % 3 == 1 ? (uint16_t)(0xffff - rnd(0, 5)) : (uint16_t)rng();
			uint8_t *pkt = build_super(&f, seq, id, flags, payload + rnd(0, 64), plen, mss, &vh, &len);
			int need = expected_segs(plen, mss);
			/* Slots of exactly the segment size, sometimes. */
			size_t cap = rep % 2 ? hdr + mss : SLOT_CAP;

			slots_alloc(&s, need, cap);
			int n = offload_tso_split(&vh, pkt, len, s.out, cap, s.lens, s.max);
			snprintf(what, sizeof(what), "IPv%d mss %zu payload %zu hdr %zu flags %#x cap %zu",
				 v, mss, plen, hdr, flags, cap);
			failures += check_segments(&f, pkt, len, mss, &s, n, what) ? 1 : 0;
			cases++;
			slots_free(&s);
			free(pkt);
		}
	}
	CHECK(cases > 300);
	CHECK_INT(failures, 0);
}

/* A super-packet with no payload at all becomes one packet. */
static void test_split_no_payload(void)
{
	struct flow f;
	struct virtio_net_hdr vh;
	struct slots s;
	size_t len;

	for (int v = 4; v <= 6; v += 2) {
		random_flow(&f, v, 0, 12);
		uint8_t *pkt = build_super(&f, 1000, 7, FIN | ACK, NULL, 0, 1348, &vh, &len);
		slots_alloc(&s, 1, SLOT_CAP);
		int n = offload_tso_split(&vh, pkt, len, s.out, SLOT_CAP, s.lens, s.max);
		check_segments(&f, pkt, len, 1348, &s, n, "no payload");
		slots_free(&s);
		free(pkt);
	}
}

/* A valid IPv4 super-packet of 3000 bytes of payload at MSS 1000, and
 * variations of it that must all be refused. */
static void test_split_malformed(void)
{
	static uint8_t payload[3000];
	struct flow f;
	struct virtio_net_hdr vh, h;
	struct slots s;
	size_t len, hdr;
	uint8_t *good, *p;

	fill_random(payload, sizeof(payload));
	random_flow(&f, 4, 0, 12);
	hdr = flow_hdr(&f);
	good = build_super(&f, 1, 1, ACK, payload, sizeof(payload), 1000, &vh, &len);
	slots_alloc(&s, 3, SLOT_CAP);

	/* The control: it is fine as it is. */
	CHECK_INT(offload_tso_split(&vh, good, len, s.out, SLOT_CAP, s.lens, 3), 3);

	h = vh;
	h.gso_size = 0;
	CHECK_INT(offload_tso_split(&h, good, len, s.out, SLOT_CAP, s.lens, 3), -EINVAL);

	/* Truncated: every length that cuts into the headers. */
	for (size_t cut = 0; cut < hdr; cut++) {
		p = dup_bytes(good, cut);
		int r = offload_tso_split(&vh, p, cut, s.out, SLOT_CAP, s.lens, 3);
		if (r != -EINVAL)
			fprintf(stderr, "  truncated to %zu bytes: %d\n", cut, r);
		CHECK_INT(r, -EINVAL);
		free(p);
	}

	/* Header fields that do not make a TCP packet we can cut. */
	struct { size_t off; uint8_t val; const char *what; } muts[] = {
		{ 9, IPPROTO_UDP, "IPv4 protocol UDP" },
		{ 9, IPPROTO_ICMP, "IPv4 protocol ICMP" },
		{ 0, 0x44, "IPv4 IHL 4" },
		{ 0, 0x40, "IPv4 IHL 0" },
		{ 0, 0x55, "IP version 5" },
		{ 0, 0x05, "IP version 0" },
		{ 20 + 12, 0x40, "TCP data offset 4" },
		{ 20 + 12, 0x00, "TCP data offset 0" },
	};
	for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
		p = dup_bytes(good, len);
		p[muts[i].off] = muts[i].val;
		int r = offload_tso_split(&vh, p, len, s.out, SLOT_CAP, s.lens, 3);
		if (r != -EINVAL)
			fprintf(stderr, "  %s: %d\n", muts[i].what, r);
		CHECK_INT(r, -EINVAL);
		free(p);
	}
	/* IHL 15 (60 bytes) on a packet of 40 bytes; data offset 15 on one
	 * whose options end early. */
	p = dup_bytes(good, 40);
	p[0] = 0x4f;
	CHECK_INT(offload_tso_split(&vh, p, 40, s.out, SLOT_CAP, s.lens, 3), -EINVAL);
	free(p);
	p = dup_bytes(good, 20 + 40);
	p[20 + 12] = 0xf0;
	CHECK_INT(offload_tso_split(&vh, p, 20 + 40, s.out, SLOT_CAP, s.lens, 3), -EINVAL);
	free(p);

	/* Not enough output slots: the arrays hold exactly max entries. */
	slots_free(&s);
	for (int max = 0; max < 3; max++) {
		slots_alloc(&s, max, SLOT_CAP);
		CHECK_INT(offload_tso_split(&vh, good, len, s.out, SLOT_CAP, s.lens, max), -EINVAL);
		slots_free(&s);
	}

	/* Segments larger than the slots; exactly the slot size is fine. */
	slots_alloc(&s, 3, hdr + 1000);
	CHECK_INT(offload_tso_split(&vh, good, len, s.out, hdr + 1000 - 1, s.lens, 3), -EINVAL);
	CHECK_INT(offload_tso_split(&vh, good, len, s.out, hdr + 1000, s.lens, 3), 3);
	slots_free(&s);
	free(good);

	/* IPv6: a next header other than TCP (UDP, an extension header). */
	random_flow(&f, 6, 0, 12);
	good = build_super(&f, 1, 1, ACK, payload, sizeof(payload), 1000, &vh, &len);
	slots_alloc(&s, 3, SLOT_CAP);
	CHECK_INT(offload_tso_split(&vh, good, len, s.out, SLOT_CAP, s.lens, 3), 3);
	for (int i = 0; i < 3; i++) {
		static const uint8_t nh[] = { IPPROTO_UDP, IPPROTO_HOPOPTS, IPPROTO_FRAGMENT };
		p = dup_bytes(good, len);
		p[6] = nh[i];
		CHECK_INT(offload_tso_split(&vh, p, len, s.out, SLOT_CAP, s.lens, 3), -EINVAL);
		free(p);
	}
	for (size_t cut = 0; cut < flow_hdr(&f); cut++) {
		p = dup_bytes(good, cut);
		CHECK_INT(offload_tso_split(&vh, p, cut, s.out, SLOT_CAP, s.lens, 3), -EINVAL);
		free(p);
	}
	slots_free(&s);
	free(good);
}

/* ------------------------------------------------------ 3. finish_csum -- */

/* Any start and offset: the field gets ~sum(start..end) as the kernel's
 * skb_checksum_help stores it, other bytes stay. */
static void test_finish_csum_random(void)
{
	int bad = 0;

	for (int i = 0; i < 20000; i++) {
		size_t len = rnd(2, 2000);
		size_t start = rnd(0, len - 2);
		size_t off = rnd(0, len - 2 - start);
		if (i & 1) {
			start &= ~(size_t)1;
			off &= ~(size_t)1;
		}
		uint8_t *p = xmalloc(len), *ref = xmalloc(len);
		fill_random(p, len);
		memcpy(ref, p, len);
		struct virtio_net_hdr h = {
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			.csum_start = (uint16_t)start, .csum_offset = (uint16_t)off,
		};
		uint16_t c = naive_csum(ref + start, len - start);
		set16(ref + start + off, c ? c : 0xffff);	/* CSUM_MANGLED_0 */
		bool ok = offload_finish_csum(&h, p, len);
		if ((!ok || memcmp(p, ref, len)) && bad++ < 5)
			fprintf(stderr, "  finish_csum len %zu start %zu offset %zu: ok %d, "
				"field %04x, want %04x\n", len, start, off, ok,
				get16(p + start + off), get16(ref + start + off));
		free(p);
		free(ref);
	}
	CHECK_INT(bad, 0);
}

/* Real TCP and UDP packets, IPv4 and IPv6, as a CHECKSUM_PARTIAL skb
 * leaves the kernel: afterwards the checksum verifies. */
static void test_finish_csum_packets(void)
{
	int bad = 0;

	for (int i = 0; i < 4000; i++) {
		int v = i & 1 ? 6 : 4;
		bool udp = i & 2;
		size_t iph = v == 4 ? 20 : 40, l4h = udp ? 8 : 20;
		size_t len = iph + l4h + rnd(0, 1500);
		uint8_t *p = xmalloc(len), ph[40];
		fill_random(p, len);
		random_ip(p, v);
		if (v == 4) {
			p[9] = udp ? IPPROTO_UDP : IPPROTO_TCP;
			set16(p + 2, (uint16_t)len);
		} else {
			p[6] = udp ? IPPROTO_UDP : IPPROTO_TCP;
			set16(p + 4, (uint16_t)(len - 40));
		}
		if (udp)
			set16(p + iph + 4, (uint16_t)(len - iph));
		size_t off = udp ? 6 : 16;
		uint8_t proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
		set16(p + iph + off, naive_sum(ph, naive_pseudo(ph, p, proto, (uint32_t)(len - iph))));
		struct virtio_net_hdr h = {
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			.csum_start = (uint16_t)iph, .csum_offset = (uint16_t)off,
		};
		if (!offload_finish_csum(&h, p, len) || !naive_l4_ok(p, len, iph, proto)) {
			if (bad++ < 5)
				fprintf(stderr, "  finish_csum IPv%d %s len %zu: does not verify\n",
					v, udp ? "UDP" : "TCP", len);
		}
		free(p);
	}
	CHECK_INT(bad, 0);
}

/* RFC 768: a UDP checksum that computes to zero is sent as all ones (zero
 * means "no checksum", and over IPv6 makes the receiver drop the datagram,
 * RFC 8200 section 8.1).  The kernel's skb_checksum_help does this for
 * every protocol (CSUM_MANGLED_0); so must we, since after
 * offload_finish_csum the packet leaves with the checksum we wrote. */
static void test_finish_csum_udp_zero(void)
{
	for (int v = 4; v <= 6; v += 2) {
		size_t iph = v == 4 ? 20 : 40, len = iph + 8 + 32;
		uint8_t p[40 + 8 + 32], ph[40];

		fill_random(p, len);
		random_ip(p, v);
		if (v == 4) {
			p[9] = IPPROTO_UDP;
			set16(p + 2, (uint16_t)len);
		} else {
			p[6] = IPPROTO_UDP;
			set16(p + 4, (uint16_t)(len - 40));
		}
		set16(p + iph + 4, (uint16_t)(len - iph));
		uint16_t pseudo = naive_sum(ph, naive_pseudo(ph, p, IPPROTO_UDP, (uint32_t)(len - iph)));
		/* Make the sum over pseudo-header and datagram all ones: then
		 * the checksum computes to 0.  The two bytes at the end of the
		 * payload absorb the difference. */
		set16(p + len - 2, 0);
		set16(p + iph + 6, 0);
		uint32_t s = (uint32_t)pseudo + naive_sum(p + iph, len - iph);
		s = (s & 0xffff) + (s >> 16);
		set16(p + len - 2, (uint16_t)(0xffff - s));
		set16(p + iph + 6, pseudo);
		CHECK_INT(naive_csum(p + iph, len - iph), 0);	/* the premise */
		struct virtio_net_hdr h = {
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			.csum_start = (uint16_t)iph, .csum_offset = 6,
		};
		CHECK(offload_finish_csum(&h, p, len));
		if (get16(p + iph + 6) != 0xffff)
			fprintf(stderr, "  IPv%d UDP checksum computing to 0 was stored as %04x, "
				"want ffff\n", v, get16(p + iph + 6));
		CHECK_INT(get16(p + iph + 6), 0xffff);
		CHECK(naive_l4_ok(p, len, iph, IPPROTO_UDP));
	}
}

static void test_finish_csum_bad_offsets(void)
{
	static const struct { size_t len; unsigned start, off; bool ok; } cases[] = {
		{ 100, 98, 0, true },		/* the field is the last two bytes */
		{ 100, 0, 98, true },
		{ 100, 99, 0, false },		/* one byte past */
		{ 100, 0, 99, false },
		{ 100, 50, 49, false },
		{ 100, 100, 0, false },
		{ 100, 101, 0, false },
		{ 100, 0xffff, 0, false },
		{ 100, 0, 0xffff, false },
		{ 100, 0xffff, 0xffff, false },
		{ 1, 0, 0, false },
		{ 0, 0, 0, false },
		{ 2, 0, 0, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len;
		uint8_t *p = xmalloc(len), *ref = xmalloc(len);
		fill_random(p, len);
		memcpy(ref, p, len);
		struct virtio_net_hdr h = {
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			.csum_start = (uint16_t)cases[i].start, .csum_offset = (uint16_t)cases[i].off,
		};
		bool ok = offload_finish_csum(&h, p, len);
		if (ok != cases[i].ok)
			fprintf(stderr, "  finish_csum len %zu start %u offset %u: got %d\n",
				len, cases[i].start, cases[i].off, ok);
		CHECK(ok == cases[i].ok);
		if (!cases[i].ok)
			CHECK_MEM(p, ref, len);
		free(p);
		free(ref);
	}
}

/* ---------------------------------------------------------------- 4. GRO -- */

/* Flattens what gro_run_finish gave (n iovecs) into buf; returns bytes. */
static size_t flatten(const struct gro_run *run, int n, uint8_t *buf)
{
	size_t k = 0;

	for (int i = 0; i < n; i++) {
		memcpy(buf + k, run->iov[i].iov_base, run->iov[i].iov_len);
		k += run->iov[i].iov_len;
	}
	return k;
}

/* Checks a merged write: the virtio header for a TCP super-packet of mss,
 * the IP lengths and checksum, the TCP checksum field holding the folded
 * pseudo-header sum; and that, once the kernel completes the checksum,
 * the packet is a valid TCP packet with payload want_payload. */
static void check_merged(const uint8_t *w, size_t wlen, size_t hdr, size_t mss,
			 const uint8_t *want_payload, size_t plen)
{
	struct virtio_net_hdr vh;
	const uint8_t *ip = w + VNET_HDR_LEN;
	size_t len = wlen - VNET_HDR_LEN;
	int v = ip[0] >> 4;
	size_t iph = v == 4 ? (size_t)(ip[0] & 0xf) * 4 : 40;
	uint8_t ph[40];

	memcpy(&vh, w, sizeof(vh));
	CHECK_INT(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_INT(vh.gso_type, v == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6);
	CHECK_INT(vh.gso_size, mss);
	CHECK_INT(vh.hdr_len, hdr);
	CHECK_INT(vh.csum_start, iph);
	CHECK_INT(vh.csum_offset, 16);
	CHECK_INT(len, hdr + plen);
	if (v == 4) {
		CHECK_INT(get16(ip + 2), len);
		CHECK_INT(naive_sum(ip, iph), 0xffff);
	} else {
		CHECK_INT(get16(ip + 4), len - 40);
	}
	uint16_t pseudo = naive_sum(ph, naive_pseudo(ph, ip, IPPROTO_TCP, (uint32_t)(len - iph)));
	CHECK_INT(get16(ip + iph + 16), pseudo);
	CHECK_MEM(ip + hdr, want_payload, plen);
	/* What the kernel does with NEEDS_CSUM. */
	uint8_t *copy = dup_bytes(ip, len);
	set16(copy + iph + 16, naive_csum(copy + iph, len - iph));
	CHECK(naive_l4_ok(copy, len, iph, IPPROTO_TCP));
	free(copy);
}

/* Splits a super-packet, feeds the segments to a run in order: one write
 * that is the super-packet again, and splitting that gives the same
 * segments. */
static void test_gro_roundtrip(void)
{
	static uint8_t payload[65536];
	static uint8_t w[VNET_HDR_LEN + 65536];
	int failures = 0, cases = 0;

	fill_random(payload, sizeof(payload));
	for (size_t mi = 0; mi < sizeof(mss_list) / sizeof(mss_list[0]); mi++) {
		size_t mss = mss_list[mi];
		if (mss < 536)
			continue;	/* more than GRO_MAX_SEGS segments */
		for (int rep = 0; rep < 16 && failures < 3; rep++) {
			struct flow f;
			struct virtio_net_hdr vh;
			struct slots s, s2;
			struct gro_run run = { 0 };	/* uso off */
			size_t len, hdr;
			int v = rep & 1 ? 6 : 4;
			int before = test_failed_checks;

			random_flow(&f, v, rep % 7 == 6 ? 4 : 0, rep % 5 == 4 ? 0 : 12);
			hdr = flow_hdr(&f);
			size_t maxp = 65535 - hdr;
			if (mss * GRO_MAX_SEGS < maxp)
				maxp = mss * GRO_MAX_SEGS;
			size_t plen;
			switch (rep % 4) {
			case 0: plen = maxp; break;
			case 1: plen = mss * rnd(2, 8); break;
			case 2: plen = mss + 1; break;
			default: plen = rnd(mss + 1, maxp); break;
			}
			uint8_t flags = rep & 2 ? PSH | ACK : ACK;
			uint8_t *pkt = build_super(&f, (uint32_t)rng(), (uint16_t)rng(), flags,
						   payload, plen, mss, &vh, &len);
			int need = expected_segs(plen, mss);
			slots_alloc(&s, need, SLOT_CAP);
			int n = offload_tso_split(&vh, pkt, len, s.out, SLOT_CAP, s.lens, s.max);
			CHECK_INT(n, need);
			if (n != need)
				goto next;
			/* The segments, each at its exact size (ASan). */
			uint8_t *seg[GRO_MAX_SEGS];
			for (int i = 0; i < n; i++)
				seg[i] = dup_bytes(s.out[i], s.lens[i]);
			gro_run_reset(&run);
			for (int i = 0; i < n; i++) {
				bool ok = gro_run_add(&run, seg[i], s.lens[i]);
				if (!ok)
					fprintf(stderr, "  segment %d of %d refused\n", i, n);
				CHECK(ok);
			}
			int iovcnt = gro_run_finish(&run);
			CHECK_INT(iovcnt, n + 1);
			if (iovcnt == n + 1) {
				size_t wlen = flatten(&run, iovcnt, w);
				check_merged(w, wlen, hdr, mss, payload, plen);
				/* Byte for byte the super-packet we started from. */
				CHECK_INT(wlen - VNET_HDR_LEN, len);
				if (wlen - VNET_HDR_LEN == len)
					CHECK_MEM(w + VNET_HDR_LEN, pkt, len);
				/* And the kernel would cut it the same way. */
				struct virtio_net_hdr vh2;
				memcpy(&vh2, w, sizeof(vh2));
				slots_alloc(&s2, need, SLOT_CAP);
				int n2 = offload_tso_split(&vh2, w + VNET_HDR_LEN, wlen - VNET_HDR_LEN,
							   s2.out, SLOT_CAP, s2.lens, s2.max);
				CHECK_INT(n2, n);
				for (int i = 0; i < n && n2 == n; i++) {
					CHECK_INT(s2.lens[i], s.lens[i]);
					CHECK_MEM(s2.out[i], s.out[i], s.lens[i]);
				}
				slots_free(&s2);
			}
			for (int i = 0; i < n; i++)
				free(seg[i]);
next:
			if (test_failed_checks != before) {
				fprintf(stderr, "  ... GRO round trip IPv%d mss %zu payload %zu hdr %zu\n",
					v, mss, plen, hdr);
				failures++;
			}
			cases++;
			slots_free(&s);
			free(pkt);
		}
	}
	CHECK(cases > 100);
	CHECK_INT(failures, 0);
}

/* A run of one segment goes out as it came, marked checksum-valid, no GSO;
 * an empty run writes nothing. */
static void test_gro_single(void)
{
	uint8_t payload[1000], w[VNET_HDR_LEN + 1100];
	struct gro_run run = { 0 };	/* uso off */
	struct flow f;
	size_t len;

	fill_random(payload, sizeof(payload));
	gro_run_reset(&run);
	CHECK_INT(gro_run_finish(&run), 0);
	for (int v = 4; v <= 6; v += 2) {
		for (int k = 0; k < 3; k++) {
			random_flow(&f, v, 0, 12);
			/* Alone by size, by PSH, or followed by nothing. */
			uint8_t flags = k == 1 ? PSH | ACK : ACK;
			uint8_t *p = build_seg(&f, 5, 5, flags, payload, k == 0 ? 17 : 1000, &len);
			uint8_t *ref = dup_bytes(p, len);
			gro_run_reset(&run);
			CHECK(gro_run_add(&run, p, len));
			int n = gro_run_finish(&run);
			CHECK_INT(n, 2);
			if (n != 2) {
				free(p);
				free(ref);
				continue;
			}
			struct virtio_net_hdr vh;
			memcpy(&vh, run.iov[0].iov_base, sizeof(vh));
			CHECK_INT(run.iov[0].iov_len, VNET_HDR_LEN);
			CHECK_INT(vh.flags, VIRTIO_NET_HDR_F_DATA_VALID);
			CHECK_INT(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
			CHECK_INT(vh.gso_size, 0);
			size_t wlen = flatten(&run, n, w);
			CHECK_INT(wlen, VNET_HDR_LEN + len);
			CHECK_MEM(w + VNET_HDR_LEN, ref, len);
			free(p);
			free(ref);
		}
	}
}

/* Mutations of the third segment of a run that Linux GRO would not merge. */
enum mutation {
	M_SEQ_GAP, M_SEQ_OVERLAP, M_SEQ_RETRANSMIT, M_SADDR, M_DADDR, M_SPORT, M_DPORT,
	M_ACK, M_WINDOW, M_TSVAL, M_OPTS_LONGER, M_SYN, M_FIN, M_RST, M_URG, M_NO_ACK,
	M_LONGER, M_MF, M_FRAG_OFF, M_TOS, M_TTL, M_VERSION, M_UDP, M_PURE_ACK,
	M_FLOWLABEL, M_IP_OPTS, M_COUNT
};

static const char *const mutation_names[M_COUNT] = {
	"out-of-order seq (gap)", "overlapping seq", "retransmitted seq", "source address",
	"destination address", "source port", "destination port", "ack number", "window",
	"TCP timestamp option", "longer TCP options", "SYN", "FIN", "RST", "URG", "no ACK",
	"segment longer than the first", "IPv4 MF (fragment)", "IPv4 fragment offset",
	"TOS / traffic class", "TTL / hop limit", "other IP version", "UDP", "pure ACK",
	"IPv6 flow label", "IPv4 options",
};

/* The mutated third segment (seq: where it should start), or NULL if the
 * mutation does not apply to the flow. */
static uint8_t *mutated(const struct flow *f0, enum mutation m, uint32_t seq, size_t mss,
			const uint8_t *payload, size_t *len)
{
	struct flow f = *f0;
	uint8_t flags = ACK;
	size_t plen = mss;
	uint8_t *p;

	switch (m) {
	case M_SEQ_GAP: seq += 1; break;
	case M_SEQ_OVERLAP: seq -= 1; break;
	case M_SEQ_RETRANSMIT: seq -= (uint32_t)mss; break;
	case M_SADDR: f.saddr[f.v == 4 ? 3 : 15] ^= 1; break;
	case M_DADDR: f.daddr[0] ^= 0x80; break;
	case M_SPORT: f.sport ^= 1; break;
	case M_DPORT: f.dport ^= 0x100; break;
	case M_ACK: f.ack += 1; break;
	case M_WINDOW: f.window ^= 1; break;
	case M_TSVAL:
		if (f.tcp_opts < 12)
			return NULL;
		f.tsval += 1;
		break;
	case M_OPTS_LONGER: f.tcp_opts += 4; plen -= 4; break;	/* same IP length */
	case M_SYN: flags |= SYN; break;
	case M_FIN: flags |= FIN; break;
	case M_RST: flags |= RST; break;
	case M_URG: flags |= URG; break;
	case M_NO_ACK: flags = PSH; break;
	case M_LONGER: plen = mss + 1; break;
	case M_TOS: f.tos ^= 0x04; break;
	case M_TTL: f.ttl -= 1; break;
	case M_FLOWLABEL:
		if (f.v != 6)
			return NULL;
		f.flowlabel ^= 1;
		break;
	case M_IP_OPTS:
		if (f.v != 4 || f.ip_opts == 0)
			return NULL;
		break;
	case M_VERSION:
		f.v = f.v == 4 ? 6 : 4;
		f.ip_opts = 0;
		break;
	default: break;
	}
	if (m == M_PURE_ACK)
		plen = 0;
	p = build_seg(&f, seq, (uint16_t)(100 + 2), flags, payload, plen, len);
	size_t iph = flow_iph(&f);
	switch (m) {
	case M_MF:
	case M_FRAG_OFF:
		if (f.v != 4) {
			free(p);
			return NULL;
		}
		if (m == M_MF)
			p[6] |= 0x20;
		else
			p[7] = 0x10;
		ip4_fix_csum(p);
		break;
	case M_IP_OPTS:
		p[20] = 0x94;	/* Router Alert, RFC 2113 */
		p[21] = 4;
		p[22] = p[23] = 0;
		ip4_fix_csum(p);
		break;
	case M_UDP:
		if (f.v == 4) {
			p[9] = IPPROTO_UDP;
			ip4_fix_csum(p);
		} else {
			p[6] = IPPROTO_UDP;
		}
		set16(p + iph + 4, (uint16_t)(*len - iph));
		break;
	default:
		break;
	}
	return p;
}

/* One refusal case: two segments of a flow (v, with IPv4 options or not)
 * in a run, the third mutated by m must be refused with the run untouched,
 * then the right third still merges into a correct write.  Returns true
 * if every check held (or the mutation does not apply). */
static bool refusal_case(int v, bool ip_opts, enum mutation m)
{
	static uint8_t payload[3 * 1400 + 64];
	static uint8_t w[VNET_HDR_LEN + 8000];
	const size_t mss = 1348;
	struct flow f;
	struct gro_run run = { 0 }, snap;	/* uso off */
	size_t l0, l1, l2, lb;
	uint32_t seq = (uint32_t)rng();
	uint16_t id = (uint16_t)rng();
	int before = test_failed_checks;

	fill_random(payload, sizeof(payload));
	random_flow(&f, v, ip_opts ? 4 : 0, 12);
	uint8_t *bad = mutated(&f, m, seq + 2 * (uint32_t)mss, mss, payload + 2 * mss, &lb);
	if (!bad)
		return true;
	uint8_t *s0 = build_seg(&f, seq, id, ACK, payload, mss, &l0);
	uint8_t *s1 = build_seg(&f, seq + (uint32_t)mss, (uint16_t)(id + 1), ACK,
				payload + mss, mss, &l1);
	uint8_t *s2 = build_seg(&f, seq + 2 * (uint32_t)mss, (uint16_t)(id + 2), PSH | ACK,
				payload + 2 * mss, 100, &l2);
	gro_run_reset(&run);
	CHECK(gro_run_add(&run, s0, l0));
	CHECK(gro_run_add(&run, s1, l1));
	uint8_t *first = dup_bytes(s0, l0);
	uint8_t *bad_copy = dup_bytes(bad, lb);
	memcpy(&snap, &run, sizeof(run));
	bool took = gro_run_add(&run, bad, lb);
	if (took)
		fprintf(stderr, "  IPv%d%s: %s was merged\n", v, ip_opts ? " with IP options" : "",
			mutation_names[m]);
	CHECK(!took);
	if (!took) {
		CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
		CHECK_MEM(s0, first, l0);
		CHECK_MEM(bad, bad_copy, lb);
		/* The run goes on with the right segment. */
		CHECK(gro_run_add(&run, s2, l2));
		int n = gro_run_finish(&run);
		CHECK_INT(n, 4);
		if (n == 4) {
			size_t wlen = flatten(&run, n, w);
			check_merged(w, wlen, flow_hdr(&f), mss, payload, 2 * mss + 100);
			/* The PSH of the last segment is the write's. */
			CHECK_INT(w[VNET_HDR_LEN + flow_iph(&f) + 13], PSH | ACK);
		}
		/* A fragment, a UDP packet, a pure ACK or odd flags never
		 * start a run either; anything else does. */
		gro_run_reset(&run);
		bool alone = gro_run_add(&run, bad, lb);
		bool want_alone = m != M_MF && m != M_FRAG_OFF && m != M_UDP && m != M_PURE_ACK &&
				  m != M_SYN && m != M_FIN && m != M_RST && m != M_URG &&
				  m != M_NO_ACK;
		CHECK(alone == want_alone);
	}
	free(first);
	free(bad_copy);
	free(s0);
	free(s1);
	free(s2);
	free(bad);
	return test_failed_checks == before;
}

/* Every mutation but IP options, IPv4 and IPv6, with and without IPv4
 * options. */
static void test_gro_refusals(void)
{
	int failures = 0;

	for (int variant = 0; variant < 3; variant++)
		for (int m = 0; m < M_COUNT; m++)
			if (m != M_IP_OPTS && !refusal_case(variant == 1 ? 6 : 4, variant == 2,
							    (enum mutation)m))
				failures++;
	CHECK_INT(failures, 0);
}

/* IPv4 segments whose options differ: Linux GRO merges no packet with IP
 * options at all (inet_gro_receive); merging would give the later
 * segments' data the first one's options. */
static void test_gro_refuses_other_ip_options(void)
{
	CHECK(refusal_case(4, true, M_IP_OPTS));
}

/* Nothing joins a run after a short segment or a PSH; a PSH in the first
 * segment makes a run of one. */
static void test_gro_closed(void)
{
	static uint8_t payload[3 * 1368];
	static uint8_t w[VNET_HDR_LEN + 8000];
	const size_t mss = 1368;

	fill_random(payload, sizeof(payload));
	for (int v = 4; v <= 6; v += 2) {
		for (int k = 0; k < 3; k++) {
			struct flow f;
			struct gro_run run = { 0 }, snap;	/* uso off */
			size_t l0, l1, l2;
			random_flow(&f, v, 0, 12);
			/* k 0: short second segment; 1: PSH on the second;
			 * 2: PSH on the first. */
			uint8_t *s0 = build_seg(&f, 1, 1, k == 2 ? PSH | ACK : ACK, payload, mss, &l0);
			uint8_t *s1 = build_seg(&f, 1 + (uint32_t)mss, 2, k == 1 ? PSH | ACK : ACK,
						payload + mss, k == 0 ? 500 : mss, &l1);
			uint32_t next = 1 + (uint32_t)mss + (k == 0 ? 500 : (uint32_t)mss);
			uint8_t *s2 = build_seg(&f, next, 3, ACK, payload + 2 * mss, mss, &l2);

			gro_run_reset(&run);
			CHECK(gro_run_add(&run, s0, l0));
			if (k == 2) {
				memcpy(&snap, &run, sizeof(run));
				CHECK(!gro_run_add(&run, s1, l1));
				CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
				CHECK_INT(gro_run_finish(&run), 2);
			} else {
				CHECK(gro_run_add(&run, s1, l1));
				memcpy(&snap, &run, sizeof(run));
				CHECK(!gro_run_add(&run, s2, l2));
				CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
				int n = gro_run_finish(&run);
				CHECK_INT(n, 3);
				if (n == 3) {
					size_t wlen = flatten(&run, n, w);
					check_merged(w, wlen, flow_hdr(&f), mss, payload,
						     mss + (k == 0 ? 500 : mss));
					CHECK_INT(w[VNET_HDR_LEN + flow_iph(&f) + 13],
						  k == 1 ? PSH | ACK : ACK);
				}
			}
			free(s0);
			free(s1);
			free(s2);
		}
	}
}

/* At most GRO_MAX_SEGS segments and 65535 bytes in one write. */
static void test_gro_limits(void)
{
	static uint8_t payload[70000];
	static uint8_t w[VNET_HDR_LEN + 70000];
	uint8_t *seg[GRO_MAX_SEGS + 2];
	size_t lens[GRO_MAX_SEGS + 2];

	fill_random(payload, sizeof(payload));
	for (int v = 4; v <= 6; v += 2) {
		struct flow f;
		struct gro_run run = { 0 }, snap;	/* uso off */
		size_t mss = 100;

		/* GRO_MAX_SEGS + 1 small segments. */
		random_flow(&f, v, 0, 0);
		for (int i = 0; i <= GRO_MAX_SEGS; i++)
			seg[i] = build_seg(&f, 7 + (uint32_t)(i * mss), (uint16_t)i, ACK,
					   payload + i * mss, mss, &lens[i]);
		gro_run_reset(&run);
		for (int i = 0; i < GRO_MAX_SEGS; i++)
			CHECK(gro_run_add(&run, seg[i], lens[i]));
		memcpy(&snap, &run, sizeof(run));
		CHECK(!gro_run_add(&run, seg[GRO_MAX_SEGS], lens[GRO_MAX_SEGS]));
		CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
		int n = gro_run_finish(&run);
		CHECK_INT(n, GRO_MAX_SEGS + 1);
		if (n == GRO_MAX_SEGS + 1)
			check_merged(w, flatten(&run, n, w), flow_hdr(&f), mss, payload,
				     GRO_MAX_SEGS * mss);
		/* The one left over starts the next run. */
		gro_run_reset(&run);
		CHECK(gro_run_add(&run, seg[GRO_MAX_SEGS], lens[GRO_MAX_SEGS]));
		for (int i = 0; i <= GRO_MAX_SEGS; i++)
			free(seg[i]);

		/* Bytes: full segments until the next would pass 65535, then
		 * a short one that makes exactly 65535. */
		random_flow(&f, v, 0, 0);
		size_t hdr = flow_hdr(&f);
		mss = 1456;	/* divides neither 65535 - 40 nor 65535 - 60 */
		int full = (int)((65535 - hdr) / mss);
		size_t rest = 65535 - hdr - (size_t)full * mss;
		for (int i = 0; i <= full; i++)
			seg[i] = build_seg(&f, (uint32_t)(i * mss), (uint16_t)i, ACK,
					   payload + i * mss, mss, &lens[i]);
		seg[full + 1] = build_seg(&f, (uint32_t)(full * mss), 99, ACK,
					  payload + full * mss, rest, &lens[full + 1]);
		gro_run_reset(&run);
		for (int i = 0; i < full; i++)
			CHECK(gro_run_add(&run, seg[i], lens[i]));
		memcpy(&snap, &run, sizeof(run));
		CHECK(!gro_run_add(&run, seg[full], lens[full]));	/* past 65535 */
		CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
		size_t l1;
		uint8_t *one_more = build_seg(&f, (uint32_t)(full * mss), 98, ACK,
					      payload + full * mss, rest + 1, &l1);
		CHECK(!gro_run_add(&run, one_more, l1));			/* 65536 */
		CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
		CHECK(gro_run_add(&run, seg[full + 1], lens[full + 1]));	/* exactly 65535 */
		n = gro_run_finish(&run);
		CHECK_INT(n, full + 2);
		if (n == full + 2) {
			size_t wlen = flatten(&run, n, w);
			CHECK_INT(wlen, VNET_HDR_LEN + 65535);
			check_merged(w, wlen, hdr, mss, payload, 65535 - hdr);
		}
		free(one_more);	/* only now: a wrong merge may refer to it */
		for (int i = 0; i <= full + 1; i++)
			free(seg[i]);
	}
}

/* ---------------------------------------------------------------- 5. USO -- */

/*
 * UDP segmentation offload: the super-packet an application's UDP_SEGMENT
 * send becomes (one IP and UDP header for all the payload, gso_size bytes
 * a datagram), cut by offload_tso_split; and datagrams of one flow merged
 * by a run with uso set into the super-packet the kernel's USO cuts again.
 * The flows are struct flow without its TCP fields; IPv4 always with DF,
 * as Linux sends UDP.
 */

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif
#define UDP_HDR 8

static size_t udp_hdr(const struct flow *f)
{
	return flow_iph(f) + UDP_HDR;
}

/* The IP and UDP headers of a datagram of flow f, total length len, the
 * UDP length field the rest of the packet and its checksum zero. */
static void write_udp_headers(const struct flow *f, uint8_t *p, size_t len, uint16_t id)
{
	size_t iph = flow_iph(f);
	uint8_t *u = p + iph;

	memset(p, 0, iph + UDP_HDR);
	write_ip_header(f, p, len, id, IPPROTO_UDP);
	set16(u, f->sport);
	set16(u + 2, f->dport);
	set16(u + 4, (uint16_t)(len - iph));
}

/* The UDP checksum over the whole datagram, a computed 0 sent as 0xffff. */
static void udp_fix_csum(uint8_t *p, size_t len)
{
	size_t iph = (p[0] >> 4) == 4 ? (size_t)(p[0] & 0xf) * 4 : 40;
	uint8_t ph[40];
	size_t n = naive_pseudo(ph, p, IPPROTO_UDP, (uint32_t)(len - iph));
	uint64_t s;

	set16(p + iph + 6, 0);
	s = (uint64_t)naive_sum(ph, n) + naive_sum(p + iph, len - iph);
	s = (s & 0xffff) + (s >> 16);
	s = (uint16_t)~s;
	set16(p + iph + 6, (uint16_t)(s ? s : 0xffff));
}

/* One ordinary datagram (checksum done), allocated at its exact size. */
static uint8_t *build_dgram(const struct flow *f, uint16_t id, const uint8_t *payload,
			    size_t plen, size_t *len)
{
	*len = udp_hdr(f) + plen;
	uint8_t *p = xmalloc(*len);

	write_udp_headers(f, p, *len, id);
	if (plen)
		memcpy(p + udp_hdr(f), payload, plen);
	udp_fix_csum(p, *len);
	return p;
}

/* A UDP super-packet as the kernel writes it to a TUN that took USO: the
 * IP and UDP lengths those of the whole, the IPv4 header checksum valid,
 * the UDP checksum field holding the folded (not inverted) pseudo-header
 * sum over the whole UDP length, NEEDS_CSUM (udp_send_skb, then
 * virtio_net_hdr_from_skb). */
static uint8_t *build_usuper(const struct flow *f, uint16_t id, const uint8_t *payload,
			     size_t plen, size_t gso, struct virtio_net_hdr *vh, size_t *len)
{
	size_t iph = flow_iph(f);
	uint8_t ph[40];

	*len = udp_hdr(f) + plen;
	uint8_t *p = xmalloc(*len);
	write_udp_headers(f, p, *len, id);
	if (plen)
		memcpy(p + udp_hdr(f), payload, plen);
	set16(p + iph + 6, naive_sum(ph, naive_pseudo(ph, p, IPPROTO_UDP, (uint32_t)(*len - iph))));
	memset(vh, 0, sizeof(*vh));
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	vh->hdr_len = (uint16_t)udp_hdr(f);
	vh->gso_size = (uint16_t)gso;
	vh->csum_start = (uint16_t)iph;
	vh->csum_offset = 6;
	return p;
}

/* Checks the n datagrams of the split of the UDP super-packet pkt (len
 * bytes, flow f) at gso against everything they must be.  Returns the
 * failures seen. */
static int check_datagrams(const struct flow *f, const uint8_t *pkt, size_t len, size_t gso,
			   uint8_t *const *out, const size_t *lens, int n, const char *what)
{
	size_t iph = flow_iph(f), hdr = udp_hdr(f), plen = len - hdr;
	uint16_t id0 = f->v == 4 ? get16(pkt + 4) : 0;
	int before = test_failed_checks;

	CHECK_INT(n, expected_segs(plen, gso));
	if (n != expected_segs(plen, gso))
		goto out;
	for (int i = 0; i < n; i++) {
		const uint8_t *g = out[i];
		size_t off = (size_t)i * gso;
		size_t pl = plen - off < gso ? plen - off : gso;

		CHECK_INT(lens[i], hdr + pl);
		if (lens[i] != hdr + pl)
			goto out;
		if (f->v == 4) {
			CHECK(g[0] == pkt[0] && g[1] == pkt[1]);
			CHECK_INT(get16(g + 2), hdr + pl);
			CHECK_INT(get16(g + 4), (uint16_t)(id0 + i));	/* as the kernel's GSO */
			CHECK_MEM(g + 6, pkt + 6, 4);		/* DF, ttl, proto */
			CHECK_MEM(g + 12, pkt + 12, 8);		/* addresses */
			CHECK_INT(naive_sum(g, iph), 0xffff);	/* header checksum */
		} else {
			CHECK_MEM(g, pkt, 4);			/* class, flow label */
			CHECK_INT(get16(g + 4), UDP_HDR + pl);
			CHECK_MEM(g + 6, pkt + 6, 34);		/* next header, hops, addresses */
		}
		const uint8_t *u = g + iph;
		CHECK_MEM(u, pkt + iph, 4);			/* ports */
		CHECK_INT(get16(u + 4), UDP_HDR + pl);
		CHECK(get16(u + 6) != 0);			/* 0 would be "no checksum" */
		CHECK(naive_l4_ok(g, hdr + pl, iph, IPPROTO_UDP));
		CHECK_MEM(g + hdr, pkt + hdr + off, pl);
	}
out:
	if (test_failed_checks != before)
		fprintf(stderr, "  ... in %s\n", what);
	return test_failed_checks - before;
}

/* The datagram sizes: one byte, odd ones, and the largest IPv6 and IPv4
 * payloads in a 1420-byte tunnel MTU. */
static const size_t gso_list[] = { 1, 7, 100, 333, 536, 1000, 1279, 1372, 1392 };

/* Super-packets of every size class, IPv4 and IPv6, the last datagram
 * shorter or as long as the others, IDs wrapping; every datagram a correct
 * UDP datagram on its own; a resumed split (offload_tso_split_from, a few
 * datagrams at a time) gives the same datagrams. */
static void test_uso_split_random(void)
{
	static uint8_t payload[65536 + 64];
	int failures = 0, cases = 0;

	fill_random(payload, sizeof(payload));
	for (size_t gi = 0; gi < sizeof(gso_list) / sizeof(gso_list[0]); gi++) {
		size_t gso = gso_list[gi];
		for (int rep = 0; rep < 20 && failures < 3; rep++) {
			struct flow f;
			struct virtio_net_hdr vh;
			struct slots s, r;
			size_t len, plen, hdr;
			int v = rep & 1 ? 6 : 4;
			int before = test_failed_checks;
			char what[160];

			random_flow(&f, v, 0, 0);
			hdr = udp_hdr(&f);
			/* At most 600 datagrams (the kernel sends at most 128). */
			size_t maxp = 65535 - hdr;
			if (gso * 600 < maxp)
				maxp = gso * 600;
			size_t k = rnd(2, maxp / gso);
			switch (rep % 5) {
			case 0: plen = gso * k; break;				/* last as long */
			case 1: plen = gso * (k - 1) + rnd(1, gso); break;	/* last shorter */
			case 2: plen = rnd(1, gso); break;			/* one datagram */
			case 3: plen = maxp; break;
			default: plen = rnd(1, maxp); break;
			}
			uint16_t id = rep % 3 == 1 ? (uint16_t)(0xffff - rnd(0, 5)) : (uint16_t)rng();
			uint8_t *pkt = build_usuper(&f, id, payload + rnd(0, 64), plen, gso, &vh, &len);
			int need = expected_segs(plen, gso);
			size_t cap = rep % 2 ? hdr + gso : SLOT_CAP;

			slots_alloc(&s, need, cap);
			int n = offload_tso_split(&vh, pkt, len, s.out, cap, s.lens, s.max);
			snprintf(what, sizeof(what), "USO IPv%d gso %zu payload %zu cap %zu", v, gso,
				 plen, cap);
			if (!check_datagrams(&f, pkt, len, gso, s.out, s.lens, n, what) && rep % 5 != 2) {
				/* Resumed in pieces of 1..7 datagrams. */
				int first = 0, got = 0;
				slots_alloc(&r, need, cap);
				while (first != -1 && got < need) {
					int max = (int)rnd(1, 7);
					if (max > need - got)
						max = need - got;
					int m = offload_tso_split_from(&vh, pkt, len, &first, r.out + got,
								       cap, r.lens + got, max);
					CHECK(m > 0);
					if (m <= 0)
						break;
					got += m;
				}
				CHECK_INT(got, need);
				CHECK_INT(first, -1);
				for (int i = 0; i < need && got == need; i++) {
					CHECK_INT(r.lens[i], s.lens[i]);
					CHECK_MEM(r.out[i], s.out[i], s.lens[i]);
				}
				slots_free(&r);
				if (test_failed_checks != before)
					fprintf(stderr, "  ... resuming %s\n", what);
			}
			failures += test_failed_checks != before;
			cases++;
			slots_free(&s);
			free(pkt);
		}
	}
	CHECK(cases > 150);
	CHECK_INT(failures, 0);
}

/* RFC 768: a datagram of the split whose checksum computes to 0 goes out
 * with 0xffff (0 means "no checksum"; over IPv6 the receiver drops it). */
/* IPv4 with options (an application's IP_OPTIONS with UDP_SEGMENT): every
 * datagram carries the options, as the kernel's own segmentation copies
 * them, with the header checksum over them. */
static void test_uso_split_ip_options(void)
{
	static uint8_t payload[8000];
	const size_t gso = 1000, plen = 4500;
	struct flow f;
	struct virtio_net_hdr vh;
	struct slots s;
	size_t len;

	fill_random(payload, sizeof(payload));
	random_flow(&f, 4, 8, 0);
	uint8_t *pkt = build_usuper(&f, 77, payload, plen, gso, &vh, &len);
	slots_alloc(&s, expected_segs(plen, gso), SLOT_CAP);
	int n = offload_tso_split(&vh, pkt, len, s.out, SLOT_CAP, s.lens, s.max);
	CHECK_INT(check_datagrams(&f, pkt, len, gso, s.out, s.lens, n, "USO IPv4 options"), 0);
	for (int i = 0; i < n; i++) {
		CHECK_INT(s.out[i][0], 0x47);			/* IHL 7 */
		CHECK_MEM(s.out[i] + 20, pkt + 20, 8);		/* the options */
	}
	slots_free(&s);
	free(pkt);
}

static void test_uso_split_zero_csum(void)
{
	const size_t gso = 32;
	uint8_t payload[3 * 32];

	for (int v = 4; v <= 6; v += 2) {
		struct flow f;
		struct virtio_net_hdr vh;
		struct slots s;
		size_t len, dlen;
		uint8_t ph[40];

		random_flow(&f, v, 0, 0);
		fill_random(payload, sizeof(payload));
		/* The middle datagram alone, its last two payload bytes zero,
		 * then those bytes chosen so that pseudo-header and datagram
		 * sum to all ones: its checksum computes to 0. */
		payload[2 * gso - 2] = payload[2 * gso - 1] = 0;
		uint8_t *d = build_dgram(&f, 1, payload + gso, gso, &dlen);
		size_t iph = flow_iph(&f);
		set16(d + iph + 6, 0);
		uint32_t sum = (uint32_t)naive_sum(ph, naive_pseudo(ph, d, IPPROTO_UDP,
								    (uint32_t)(dlen - iph))) +
			       naive_sum(d + iph, dlen - iph);
		sum = (sum & 0xffff) + (sum >> 16);
		set16(payload + 2 * gso - 2, (uint16_t)(0xffff - sum));
		free(d);
		d = build_dgram(&f, 1, payload + gso, gso, &dlen);
		set16(d + iph + 6, 0);
		CHECK(naive_l4_ok(d, dlen, iph, IPPROTO_UDP));	/* the premise: sums to 0 */
		free(d);

		uint8_t *pkt = build_usuper(&f, 7, payload, sizeof(payload), gso, &vh, &len);
		slots_alloc(&s, 3, SLOT_CAP);
		int n = offload_tso_split(&vh, pkt, len, s.out, SLOT_CAP, s.lens, 3);
		check_datagrams(&f, pkt, len, gso, s.out, s.lens, n, "zero checksum");
		if (n == 3) {
			if (get16(s.out[1] + iph + 6) != 0xffff)
				fprintf(stderr, "  IPv%d datagram with a checksum computing to 0: "
					"stored as %04x, want ffff\n", v, get16(s.out[1] + iph + 6));
			CHECK_INT(get16(s.out[1] + iph + 6), 0xffff);
		}
		slots_free(&s);
		free(pkt);
	}
}

/* A valid IPv4 and IPv6 UDP super-packet of 3000 bytes at gso 1000, and
 * variations of it that must all be refused: no datagram size, headers cut
 * short, a packet that is not UDP, a gso_type that does not fit the
 * packet, a fragment, too few or too small slots. */
static void test_uso_split_malformed(void)
{
	static uint8_t payload[3000];
	struct flow f;
	struct virtio_net_hdr vh, h;
	struct slots s;
	size_t len, hdr;
	uint8_t *good, *p;

	fill_random(payload, sizeof(payload));
	for (int v = 4; v <= 6; v += 2) {
		random_flow(&f, v, 0, 0);
		hdr = udp_hdr(&f);
		good = build_usuper(&f, 1, payload, sizeof(payload), 1000, &vh, &len);
		slots_alloc(&s, 3, SLOT_CAP);

		/* The control: it is fine as it is. */
		CHECK_INT(offload_tso_split(&vh, good, len, s.out, SLOT_CAP, s.lens, 3), 3);

		h = vh;
		h.gso_size = 0;
		CHECK_INT(offload_tso_split(&h, good, len, s.out, SLOT_CAP, s.lens, 3), -EINVAL);
		int first = 0;	/* not a run of empty datagrams either */
		CHECK_INT(offload_tso_split_from(&h, good, len, &first, s.out, SLOT_CAP, s.lens, 3),
			  -EINVAL);

		/* Truncated: every length that cuts into the headers. */
		for (size_t cut = 0; cut < hdr; cut++) {
			p = dup_bytes(good, cut);
			int r = offload_tso_split(&vh, p, cut, s.out, SLOT_CAP, s.lens, 3);
			if (r != -EINVAL)
				fprintf(stderr, "  USO IPv%d truncated to %zu bytes: %d\n", v, cut, r);
			CHECK_INT(r, -EINVAL);
			free(p);
		}

		/* Not UDP, or not an IP header we can cut. */
		struct { size_t off; uint8_t val; const char *what; } muts4[] = {
			{ 9, IPPROTO_TCP, "protocol TCP" },
			{ 9, IPPROTO_ICMP, "protocol ICMP" },
			{ 9, IPPROTO_UDPLITE, "protocol UDP-Lite" },
			{ 0, 0x44, "IHL 4" },
			{ 0, 0x40, "IHL 0" },
			{ 0, 0x55, "IP version 5" },
			{ 6, 0x60, "DF and MF (a first fragment)" },
			{ 7, 0x01, "fragment offset" },
		}, muts6[] = {
			{ 6, IPPROTO_TCP, "next header TCP" },
			{ 6, IPPROTO_ICMPV6, "next header ICMPv6" },
			{ 6, IPPROTO_HOPOPTS, "hop-by-hop options" },
			{ 6, IPPROTO_FRAGMENT, "fragment header" },
			{ 0, 0x40, "IP version 4 in an IPv6 header" },
			{ 0, 0x00, "IP version 0" },
		};
		size_t nm = v == 4 ? sizeof(muts4) / sizeof(muts4[0]) : sizeof(muts6) / sizeof(muts6[0]);
		for (size_t i = 0; i < nm; i++) {
			const char *name = v == 4 ? muts4[i].what : muts6[i].what;
			p = dup_bytes(good, len);
			if (v == 4) {
				p[muts4[i].off] = muts4[i].val;
				ip4_fix_csum(p);
			} else {
				p[muts6[i].off] = (uint8_t)(muts6[i].val | (muts6[i].off == 0 ? p[0] & 0xf : 0));
			}
			int r = offload_tso_split(&vh, p, len, s.out, SLOT_CAP, s.lens, 3);
			if (r != -EINVAL)
				fprintf(stderr, "  USO IPv%d %s: %d\n", v, name, r);
			CHECK_INT(r, -EINVAL);
			free(p);
		}

		/* The gso_type must fit the packet: a UDP packet is no TCP
		 * super-packet. */
		h = vh;
		h.gso_type = v == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
		CHECK_INT(offload_tso_split(&h, good, len, s.out, SLOT_CAP, s.lens, 3), -EINVAL);

		/* Not enough output slots: the arrays hold exactly max entries. */
		slots_free(&s);
		for (int max = 0; max < 3; max++) {
			slots_alloc(&s, max, SLOT_CAP);
			CHECK_INT(offload_tso_split(&vh, good, len, s.out, SLOT_CAP, s.lens, max),
				  -EINVAL);
			slots_free(&s);
		}
		/* Datagrams larger than the slots; exactly the slot size is fine. */
		slots_alloc(&s, 3, hdr + 1000);
		CHECK_INT(offload_tso_split(&vh, good, len, s.out, hdr + 1000 - 1, s.lens, 3), -EINVAL);
		CHECK_INT(offload_tso_split(&vh, good, len, s.out, hdr + 1000, s.lens, 3), 3);
		slots_free(&s);
		free(good);
	}

	/* A TCP super-packet labelled as UDP is refused too. */
	random_flow(&f, 4, 0, 12);
	good = build_super(&f, 1, 1, ACK, payload, sizeof(payload), 1000, &vh, &len);
	slots_alloc(&s, 3, SLOT_CAP);
	CHECK_INT(offload_tso_split(&vh, good, len, s.out, SLOT_CAP, s.lens, 3), 3);
	h = vh;
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	h.csum_offset = 6;
	CHECK_INT(offload_tso_split(&h, good, len, s.out, SLOT_CAP, s.lens, 3), -EINVAL);
	slots_free(&s);
	free(good);
}

/* A fresh run that merges UDP: zeroed (uso off), reset, uso set. */
static void uso_run(struct gro_run *run)
{
	memset(run, 0, sizeof(*run));
	gro_run_reset(run);
	run->uso = true;
}

/* Checks a merged UDP write: the virtio header for a USO super-packet of
 * gso, the IP and UDP lengths, the IPv4 header checksum, the UDP checksum
 * field holding the folded pseudo-header sum; and that, once the kernel
 * completes the checksum, it is a valid datagram with payload want. */
static void check_umerged(const uint8_t *w, size_t wlen, size_t gso, const uint8_t *want,
			  size_t plen)
{
	struct virtio_net_hdr vh;
	const uint8_t *ip = w + VNET_HDR_LEN;
	size_t len = wlen - VNET_HDR_LEN;
	int v = ip[0] >> 4;
	size_t iph = v == 4 ? 20 : 40, hdr = iph + UDP_HDR;
	uint8_t ph[40];

	memcpy(&vh, w, sizeof(vh));
	CHECK_INT(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_INT(vh.gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
	CHECK_INT(vh.gso_size, gso);
	CHECK_INT(vh.hdr_len, hdr);
	CHECK_INT(vh.csum_start, iph);
	CHECK_INT(vh.csum_offset, 6);
	CHECK_INT(len, hdr + plen);
	if (v == 4) {
		CHECK_INT(get16(ip + 2), len);
		CHECK_INT(naive_sum(ip, iph), 0xffff);
	} else {
		CHECK_INT(get16(ip + 4), len - 40);
	}
	CHECK_INT(get16(ip + iph + 4), len - iph);
	uint16_t pseudo = naive_sum(ph, naive_pseudo(ph, ip, IPPROTO_UDP, (uint32_t)(len - iph)));
	CHECK_INT(get16(ip + iph + 6), pseudo);
	CHECK_MEM(ip + hdr, want, plen);
	/* What the kernel does with NEEDS_CSUM. */
	uint8_t *copy = dup_bytes(ip, len);
	set16(copy + iph + 6, naive_csum(copy + iph, len - iph));
	CHECK(naive_l4_ok(copy, len, iph, IPPROTO_UDP));
	free(copy);
}

/* Splits a UDP super-packet, feeds the datagrams to a run with uso in
 * order: one write that is the super-packet again, byte for byte, and
 * splitting that (as the kernel's USO would) gives the same datagrams. */
static void test_uso_gro_roundtrip(void)
{
	static uint8_t payload[65536];
	static uint8_t w[VNET_HDR_LEN + 65536];
	int failures = 0, cases = 0;

	fill_random(payload, sizeof(payload));
	for (size_t gi = 0; gi < sizeof(gso_list) / sizeof(gso_list[0]); gi++) {
		size_t gso = gso_list[gi];
		for (int rep = 0; rep < 12 && failures < 3; rep++) {
			struct flow f;
			struct virtio_net_hdr vh;
			struct slots s, s2;
			struct gro_run run;
			size_t len, hdr;
			int v = rep & 1 ? 6 : 4;
			int before = test_failed_checks;

			random_flow(&f, v, 0, 0);
			hdr = udp_hdr(&f);
			size_t maxp = 65535 - hdr;
			if (gso * GRO_MAX_SEGS < maxp)
				maxp = gso * GRO_MAX_SEGS;
			size_t plen;
			switch (rep % 4) {
			case 0: plen = maxp; break;
			case 1: plen = gso * rnd(2, 8); break;
			case 2: plen = gso + 1; break;
			default: plen = rnd(gso + 1, maxp); break;
			}
			uint16_t id = rep % 3 == 1 ? (uint16_t)(0xffff - rnd(0, 5)) : (uint16_t)rng();
			uint8_t *pkt = build_usuper(&f, id, payload, plen, gso, &vh, &len);
			int need = expected_segs(plen, gso);
			slots_alloc(&s, need, SLOT_CAP);
			int n = offload_tso_split(&vh, pkt, len, s.out, SLOT_CAP, s.lens, s.max);
			CHECK_INT(n, need);
			if (n != need)
				goto next;
			/* The datagrams, each at its exact size (ASan). */
			uint8_t *seg[GRO_MAX_SEGS];
			for (int i = 0; i < n; i++)
				seg[i] = dup_bytes(s.out[i], s.lens[i]);
			uso_run(&run);
			for (int i = 0; i < n; i++) {
				bool ok = gro_run_add(&run, seg[i], s.lens[i]);
				if (!ok)
					fprintf(stderr, "  datagram %d of %d refused\n", i, n);
				CHECK(ok);
			}
			int iovcnt = gro_run_finish(&run);
			CHECK_INT(iovcnt, n + 1);
			if (iovcnt == n + 1) {
				/* The vnet header, the first datagram, then payloads only. */
				CHECK_INT(run.iov[0].iov_len, VNET_HDR_LEN);
				CHECK(run.iov[1].iov_base == seg[0]);
				CHECK_INT(run.iov[1].iov_len, s.lens[0]);
				for (int i = 1; i < n; i++) {
					CHECK(run.iov[i + 1].iov_base == seg[i] + hdr);
					CHECK_INT(run.iov[i + 1].iov_len, s.lens[i] - hdr);
				}
				size_t wlen = flatten(&run, iovcnt, w);
				check_umerged(w, wlen, gso, payload, plen);
				/* Byte for byte the super-packet we started from. */
				CHECK_INT(wlen - VNET_HDR_LEN, len);
				if (wlen - VNET_HDR_LEN == len)
					CHECK_MEM(w + VNET_HDR_LEN, pkt, len);
				/* And cut again it gives the same datagrams. */
				struct virtio_net_hdr vh2;
				memcpy(&vh2, w, sizeof(vh2));
				slots_alloc(&s2, need, SLOT_CAP);
				int n2 = offload_tso_split(&vh2, w + VNET_HDR_LEN, wlen - VNET_HDR_LEN,
							   s2.out, SLOT_CAP, s2.lens, s2.max);
				CHECK_INT(n2, n);
				for (int i = 0; i < n && n2 == n; i++) {
					CHECK_INT(s2.lens[i], s.lens[i]);
					CHECK_MEM(s2.out[i], s.out[i], s.lens[i]);
				}
				slots_free(&s2);
			}
			for (int i = 0; i < n; i++)
				free(seg[i]);
next:
			if (test_failed_checks != before) {
				fprintf(stderr, "  ... USO GRO round trip IPv%d gso %zu payload %zu\n",
					v, gso, plen);
				failures++;
			}
			cases++;
			slots_free(&s);
			free(pkt);
		}
	}
	CHECK(cases > 100);
	CHECK_INT(failures, 0);
}

/* A run of one datagram goes out as it came, marked checksum-valid, no
 * GSO; a shorter datagram ends a run, a longer one does not join it. */
static void test_uso_gro_single_and_closed(void)
{
	static uint8_t payload[3000];
	static uint8_t w[VNET_HDR_LEN + 4000];

	fill_random(payload, sizeof(payload));
	for (int v = 4; v <= 6; v += 2) {
		struct flow f;
		struct gro_run run, snap;
		size_t l0, l1, l2;

		random_flow(&f, v, 0, 0);
		uint8_t *d0 = build_dgram(&f, 1, payload, 1000, &l0);
		uint8_t *ref = dup_bytes(d0, l0);
		uso_run(&run);
		CHECK(gro_run_add(&run, d0, l0));
		int n = gro_run_finish(&run);
		CHECK_INT(n, 2);
		if (n == 2) {
			struct virtio_net_hdr vh;
			memcpy(&vh, run.iov[0].iov_base, sizeof(vh));
			CHECK_INT(vh.flags, VIRTIO_NET_HDR_F_DATA_VALID);
			CHECK_INT(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
			CHECK_INT(vh.gso_size, 0);
			size_t wlen = flatten(&run, n, w);
			CHECK_INT(wlen, VNET_HDR_LEN + l0);
			CHECK_MEM(w + VNET_HDR_LEN, ref, l0);
		}

		/* 1000, 500: merged, and closed: another 1000 does not join. */
		uint8_t *d1 = build_dgram(&f, 2, payload + 1000, 500, &l1);
		uint8_t *d2 = build_dgram(&f, 3, payload + 1500, 1000, &l2);
		free(d0);
		d0 = build_dgram(&f, 1, payload, 1000, &l0);
		uso_run(&run);
		CHECK(gro_run_add(&run, d0, l0));
		CHECK(gro_run_add(&run, d1, l1));
		memcpy(&snap, &run, sizeof(run));
		CHECK(!gro_run_add(&run, d2, l2));
		CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
		n = gro_run_finish(&run);
		CHECK_INT(n, 3);
		if (n == 3)
			check_umerged(w, flatten(&run, n, w), 1000, payload, 1500);
		/* 500 first: the 1000 after it is longer and does not join. */
		free(d1);
		d1 = build_dgram(&f, 2, payload + 1000, 500, &l1);
		uso_run(&run);
		CHECK(gro_run_add(&run, d1, l1));
		memcpy(&snap, &run, sizeof(run));
		CHECK(!gro_run_add(&run, d2, l2));
		CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
		CHECK_INT(gro_run_finish(&run), 2);
		free(d0);
		free(d1);
		free(d2);
		free(ref);
	}
}

/* Mutations of the third datagram of a run that must not merge. */
enum umutation {
	U_SADDR, U_DADDR, U_SPORT, U_DPORT, U_LONGER, U_EMPTY, U_TOS, U_TTL, U_NO_DF, U_MF,
	U_FRAG_OFF, U_IP_OPTS, U_FLOWLABEL, U_VERSION, U_TCP, U_UDP_LEN, U_COUNT
};

static const char *const umutation_names[U_COUNT] = {
	"source address", "destination address", "source port", "destination port",
	"datagram longer than the first", "empty datagram", "TOS / traffic class",
	"TTL / hop limit", "IPv4 DF off", "IPv4 MF (fragment)", "IPv4 fragment offset",
	"IPv4 options", "IPv6 flow label", "other IP version", "TCP segment",
	"UDP length field not the IP payload length",
};

/* The mutated third datagram (payload: its payload at the first's size),
 * or NULL if the mutation does not apply to the flow. */
static uint8_t *umutated(const struct flow *f0, enum umutation m, size_t gso,
			 const uint8_t *payload, size_t *len)
{
	struct flow f = *f0;
	size_t plen = gso;
	uint8_t *p;

	switch (m) {
	case U_SADDR: f.saddr[f.v == 4 ? 3 : 15] ^= 1; break;
	case U_DADDR: f.daddr[0] ^= 0x80; break;
	case U_SPORT: f.sport ^= 1; break;
	case U_DPORT: f.dport ^= 0x100; break;
	case U_LONGER: plen = gso + 1; break;
	case U_EMPTY: plen = 0; break;
	case U_TOS: f.tos ^= 0x04; break;
	case U_TTL: f.ttl -= 1; break;
	case U_FLOWLABEL:
		if (f.v != 6)
			return NULL;
		f.flowlabel ^= 1;
		break;
	case U_IP_OPTS:
		if (f.v != 4)
			return NULL;
		f.ip_opts = 4;
		plen -= 4;	/* the same IP length */
		break;
	case U_VERSION:
		f.v = f.v == 4 ? 6 : 4;
		break;
	case U_TCP:
		f.tcp_opts = 0;
		/* The same addresses and ports, the same IP length. */
		return build_seg(&f, 1, 3, ACK, payload, gso + UDP_HDR - 20, len);
	default: break;
	}
	p = build_dgram(&f, 3, payload, plen, len);
	switch (m) {
	case U_NO_DF:
	case U_MF:
	case U_FRAG_OFF:
		if (f.v != 4) {
			free(p);
			return NULL;
		}
		if (m == U_NO_DF)
			p[6] &= (uint8_t)~0x40;
		else if (m == U_MF)
			p[6] |= 0x20;
		else
			p[7] = 0x10;
		ip4_fix_csum(p);
		break;
	case U_UDP_LEN:
		/* Claims one byte less: the last payload byte is not the
		 * datagram's. */
		set16(p + flow_iph(&f) + 4, (uint16_t)(*len - flow_iph(&f) - 1));
		break;
	default:
		break;
	}
	return p;
}

/* One refusal: two datagrams of a flow in a run, the third mutated by m
 * refused with the run untouched, then a shorter right third still merges
 * into a correct write.  Returns true if every check held. */
static bool urefusal_case(int v, enum umutation m)
{
	static uint8_t payload[3 * 1400];
	static uint8_t w[VNET_HDR_LEN + 8000];
	const size_t gso = 1372;
	struct flow f;
	struct gro_run run, snap;
	size_t l0, l1, l2, lb;
	int before = test_failed_checks;

	fill_random(payload, sizeof(payload));
	random_flow(&f, v, 0, 0);
	uint8_t *bad = umutated(&f, m, gso, payload + 2 * gso, &lb);
	if (!bad)
		return true;
	uint8_t *d0 = build_dgram(&f, 1, payload, gso, &l0);
	uint8_t *d1 = build_dgram(&f, 2, payload + gso, gso, &l1);
	uint8_t *d2 = build_dgram(&f, 3, payload + 2 * gso, 100, &l2);
	uso_run(&run);
	CHECK(gro_run_add(&run, d0, l0));
	CHECK(gro_run_add(&run, d1, l1));
	uint8_t *first = dup_bytes(d0, l0);
	uint8_t *bad_copy = dup_bytes(bad, lb);
	memcpy(&snap, &run, sizeof(run));
	bool took = gro_run_add(&run, bad, lb);
	if (took)
		fprintf(stderr, "  USO IPv%d: %s was merged\n", v, umutation_names[m]);
	CHECK(!took);
	if (!took) {
		CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
		CHECK_MEM(d0, first, l0);
		CHECK_MEM(bad, bad_copy, lb);
		CHECK(gro_run_add(&run, d2, l2));
		int n = gro_run_finish(&run);
		CHECK_INT(n, 4);
		if (n == 4)
			check_umerged(w, flatten(&run, n, w), gso, payload, 2 * gso + 100);
		/* An empty datagram or a fragment never starts a run either
		 * (written alone); a datagram of another flow, or a TCP
		 * segment, does. */
		gro_run_reset(&run);
		bool alone = gro_run_add(&run, bad, lb);
		if (m == U_EMPTY || m == U_MF || m == U_FRAG_OFF)
			CHECK(!alone);
		else if (m != U_IP_OPTS && m != U_UDP_LEN)
			CHECK(alone);
		/* Whatever it started, the right datagrams do not join it
		 * (but a shorter one after a longer one does). */
		if (alone && m != U_LONGER)
			CHECK(!gro_run_add(&run, d1, l1));
	}
	free(first);
	free(bad_copy);
	free(d0);
	free(d1);
	free(d2);
	free(bad);
	if (test_failed_checks != before)
		fprintf(stderr, "  ... USO refusal IPv%d: %s\n", v, umutation_names[m]);
	return test_failed_checks == before;
}

static void test_uso_gro_refusals(void)
{
	int failures = 0;

	for (int v = 4; v <= 6; v += 2)
		for (int m = 0; m < U_COUNT; m++)
			if (!urefusal_case(v, (enum umutation)m))
				failures++;
	CHECK_INT(failures, 0);
}

/* IPv4 datagrams with options never merge, not even with the same
 * options: the merged packet would give them all the first one's. */
static void test_uso_gro_refuses_ip_options(void)
{
	uint8_t payload[2000];
	struct flow f;
	struct gro_run run;
	size_t l0, l1;

	fill_random(payload, sizeof(payload));
	random_flow(&f, 4, 4, 0);
	uint8_t *d0 = build_dgram(&f, 1, payload, 1000, &l0);
	uint8_t *d1 = build_dgram(&f, 2, payload + 1000, 1000, &l1);
	uso_run(&run);
	if (gro_run_add(&run, d0, l0))
		CHECK(!gro_run_add(&run, d1, l1));
	free(d0);
	free(d1);
}

/* TCP and UDP never share a run: a UDP datagram after TCP segments, a
 * TCP segment after UDP datagrams, though addresses and ports are the
 * same. */
static void test_uso_gro_no_mixing(void)
{
	uint8_t payload[4000];

	fill_random(payload, sizeof(payload));
	for (int v = 4; v <= 6; v += 2) {
		struct flow f;
		struct gro_run run, snap;
		size_t l0, l1, lu, lt;

		random_flow(&f, v, 0, 0);
		uint8_t *t0 = build_seg(&f, 1, 1, ACK, payload, 1000, &l0);
		uint8_t *t1 = build_seg(&f, 1001, 2, ACK, payload + 1000, 1000, &l1);
		uint8_t *u = build_dgram(&f, 3, payload + 2000, 1000 + 20 - UDP_HDR, &lu);
		uso_run(&run);
		CHECK(gro_run_add(&run, t0, l0));
		CHECK(gro_run_add(&run, t1, l1));
		memcpy(&snap, &run, sizeof(run));
		CHECK(!gro_run_add(&run, u, lu));
		CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
		free(t0);
		free(t1);
		free(u);

		uint8_t *u0 = build_dgram(&f, 1, payload, 1000, &l0);
		uint8_t *u1 = build_dgram(&f, 2, payload + 1000, 1000, &l1);
		uint8_t *t = build_seg(&f, 1, 3, ACK, payload + 2000, 1000 + UDP_HDR - 20, &lt);
		uso_run(&run);
		CHECK(gro_run_add(&run, u0, l0));
		CHECK(gro_run_add(&run, u1, l1));
		memcpy(&snap, &run, sizeof(run));
		CHECK(!gro_run_add(&run, t, lt));
		CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
		CHECK_INT(gro_run_finish(&run), 3);
		free(u0);
		free(u1);
		free(t);
	}
}

/* With uso off (zero-initialised, or cleared) no UDP datagram joins or
 * starts a run; gro_run_reset keeps the setting. */
static void test_uso_gro_off(void)
{
	uint8_t payload[4000];

	fill_random(payload, sizeof(payload));
	for (int v = 4; v <= 6; v += 2) {
		struct flow f;
		struct gro_run run = { 0 };
		size_t len[4];
		uint8_t *d[4];

		random_flow(&f, v, 0, 0);
		for (int i = 0; i < 4; i++)
			d[i] = build_dgram(&f, (uint16_t)i, payload + i * 1000, 1000, &len[i]);
		gro_run_reset(&run);
		CHECK(!run.uso);
		for (int i = 0; i < 4; i++)
			CHECK(!gro_run_add(&run, d[i], len[i]));
		CHECK_INT(gro_run_finish(&run), 0);

		/* On, kept across a reset; then off again. */
		run.uso = true;
		gro_run_reset(&run);
		CHECK(run.uso);
		CHECK(gro_run_add(&run, d[0], len[0]));
		CHECK(gro_run_add(&run, d[1], len[1]));
		CHECK_INT(gro_run_finish(&run), 3);
		free(d[0]);
		free(d[1]);
		d[0] = build_dgram(&f, 0, payload, 1000, &len[0]);
		d[1] = build_dgram(&f, 1, payload + 1000, 1000, &len[1]);
		gro_run_reset(&run);
		run.uso = false;
		for (int i = 0; i < 4; i++)
			CHECK(!gro_run_add(&run, d[i], len[i]));
		CHECK_INT(gro_run_finish(&run), 0);
		for (int i = 0; i < 4; i++)
			free(d[i]);
	}
}

/* At most GRO_MAX_SEGS datagrams and 65535 bytes in one write. */
static void test_uso_gro_limits(void)
{
	static uint8_t payload[70000];
	static uint8_t w[VNET_HDR_LEN + 70000];
	uint8_t *seg[GRO_MAX_SEGS + 2];
	size_t lens[GRO_MAX_SEGS + 2];

	fill_random(payload, sizeof(payload));
	for (int v = 4; v <= 6; v += 2) {
		struct flow f;
		struct gro_run run, snap;
		size_t gso = 100;

		/* GRO_MAX_SEGS + 1 small datagrams. */
		random_flow(&f, v, 0, 0);
		for (int i = 0; i <= GRO_MAX_SEGS; i++)
			seg[i] = build_dgram(&f, (uint16_t)i, payload + i * gso, gso, &lens[i]);
		uso_run(&run);
		for (int i = 0; i < GRO_MAX_SEGS; i++)
			CHECK(gro_run_add(&run, seg[i], lens[i]));
		memcpy(&snap, &run, sizeof(run));
		CHECK(!gro_run_add(&run, seg[GRO_MAX_SEGS], lens[GRO_MAX_SEGS]));
		CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
		int n = gro_run_finish(&run);
		CHECK_INT(n, GRO_MAX_SEGS + 1);
		if (n == GRO_MAX_SEGS + 1)
			check_umerged(w, flatten(&run, n, w), gso, payload, GRO_MAX_SEGS * gso);
		/* The one left over starts the next run. */
		gro_run_reset(&run);
		CHECK(gro_run_add(&run, seg[GRO_MAX_SEGS], lens[GRO_MAX_SEGS]));
		for (int i = 0; i <= GRO_MAX_SEGS; i++)
			free(seg[i]);

		/* Bytes: full datagrams until the next would pass 65535, then
		 * a shorter one that makes exactly 65535. */
		random_flow(&f, v, 0, 0);
		size_t hdr = udp_hdr(&f);
		gso = 1456;
		int full = (int)((65535 - hdr) / gso);
		size_t rest = 65535 - hdr - (size_t)full * gso;
		for (int i = 0; i <= full; i++)
			seg[i] = build_dgram(&f, (uint16_t)i, payload + i * gso, gso, &lens[i]);
		seg[full + 1] = build_dgram(&f, 99, payload + full * gso, rest, &lens[full + 1]);
		uso_run(&run);
		for (int i = 0; i < full; i++)
			CHECK(gro_run_add(&run, seg[i], lens[i]));
		memcpy(&snap, &run, sizeof(run));
		CHECK(!gro_run_add(&run, seg[full], lens[full]));		/* past 65535 */
		CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
		size_t l1;
		uint8_t *one_more = build_dgram(&f, 98, payload + full * gso, rest + 1, &l1);
		CHECK(!gro_run_add(&run, one_more, l1));			/* 65536 */
		CHECK(memcmp(&snap, &run, sizeof(run)) == 0);
		CHECK(gro_run_add(&run, seg[full + 1], lens[full + 1]));	/* exactly 65535 */
		n = gro_run_finish(&run);
		CHECK_INT(n, full + 2);
		if (n == full + 2) {
			size_t wlen = flatten(&run, n, w);
			CHECK_INT(wlen, VNET_HDR_LEN + 65535);
			check_umerged(w, wlen, gso, payload, 65535 - hdr);
		}
		free(one_more);	/* only now: a wrong merge may refer to it */
		for (int i = 0; i <= full + 1; i++)
			free(seg[i]);
	}
}

int main(void)
{
	RUN(test_csum_against_rfc1071);
	RUN(test_pseudo_header);
	RUN(test_split_random);
	RUN(test_split_no_payload);
	RUN(test_split_malformed);
	RUN(test_finish_csum_random);
	RUN(test_finish_csum_packets);
	RUN(test_finish_csum_udp_zero);
	RUN(test_finish_csum_bad_offsets);
	RUN(test_gro_roundtrip);
	RUN(test_gro_single);
	RUN(test_gro_refusals);
	RUN(test_gro_refuses_other_ip_options);
	RUN(test_gro_closed);
	RUN(test_gro_limits);
	RUN(test_uso_split_random);
	RUN(test_uso_split_ip_options);
	RUN(test_uso_split_zero_csum);
	RUN(test_uso_split_malformed);
	RUN(test_uso_gro_roundtrip);
	RUN(test_uso_gro_single_and_closed);
	RUN(test_uso_gro_refusals);
	RUN(test_uso_gro_refuses_ip_options);
	RUN(test_uso_gro_no_mixing);
	RUN(test_uso_gro_off);
	RUN(test_uso_gro_limits);
	TEST_EXIT();
}
