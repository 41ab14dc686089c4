/*
 * dns_test.c - the DNS relay (src/server/dns.c).
 *
 * The pure parts first: the query check and the answer match against every
 * kind of malformed message, one byte flipped at a time; resolv.conf
 * parsing; the DNS list check.  Then the relay itself on loopback, in a
 * network namespace of its own (as root, or as a user through a user
 * namespace), with fake upstreams on 127.0.0.53 and 127.0.0.54 port 53
 * that this test answers by hand: ids are new and restored, spoofed,
 * mismatched and replayed answers are dropped, clients outside the allowed
 * prefixes and garbage get nothing, the next upstream is tried once, the
 * table forgets the oldest when full and everything after 5 s.  Time runs
 * 5 times faster (ZWG_TIME_SCALE, clock.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "test.h"

/* ------------------------------------------------------------ helpers -- */

/* A query for name (dotted) of type A with id, EDNS OPT record appended
 * when edns.  Returns its length. */
static size_t make_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, bool edns)
{
	size_t off = DNS_HEADER_LEN;
	const char *s = name;

	memset(buf, 0, cap);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01;			/* RD */
	buf[5] = 1;			/* QDCOUNT */
	while (*s) {
		size_t l = strcspn(s, ".");
		buf[off++] = (uint8_t)l;
		memcpy(buf + off, s, l);
		off += l;
		s += l;
		if (*s == '.')
			s++;
	}
	buf[off++] = 0;
	buf[off++] = 0;
	buf[off++] = 1;			/* QTYPE A */
	buf[off++] = 0;
	buf[off++] = 1;			/* QCLASS IN */
	if (edns) {
		static const uint8_t opt[] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0 };
		buf[11] = 1;		/* ARCOUNT */
		memcpy(buf + off, opt, sizeof(opt));
		off += sizeof(opt);
	}
	return off;
}

/* The answer to query (as received): QR set, one A record 192.0.2.7. */
static size_t make_answer(uint8_t *buf, const uint8_t *q, size_t qlen)
{
	size_t ql = dns_question_len(q, qlen), off = DNS_HEADER_LEN + ql;
	static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7 };

	memcpy(buf, q, DNS_HEADER_LEN + ql);
	buf[2] |= 0x80;			/* QR */
	buf[3] = 0x80;			/* RA */
	buf[6] = 0;
	buf[7] = 1;			/* ANCOUNT */
	buf[10] = buf[11] = 0;
	memcpy(buf + off, rr, sizeof(rr));
	return off + sizeof(rr);
}

/* ------------------------------------------------------ pure functions -- */

static void test_query_plausible(void)
{
	uint8_t q[DNS_MAX_QUERY + 16], bad[DNS_MAX_QUERY + 16];
	size_t n = make_query(q, sizeof(q), 0x1234, "example.test", true), i;
	char name[400];

	CHECK(dns_query_plausible(q, n));
	CHECK_INT(dns_question_len(q, n), 14 + 4);
	CHECK(!dns_query_plausible(NULL, 0));
	for (i = 0; i < DNS_HEADER_LEN + 18; i++)	/* every cut inside the question */
		CHECK(!dns_query_plausible(q, i));
	memcpy(bad, q, n);
	bad[2] |= 0x80;					/* QR: an answer */
	CHECK(!dns_query_plausible(bad, n));
	memcpy(bad, q, n);
	bad[2] |= 0x28;					/* opcode 5: UPDATE */
	CHECK(!dns_query_plausible(bad, n));
	memcpy(bad, q, n);
	bad[2] |= 0x10;					/* opcode 2: STATUS */
	CHECK(!dns_query_plausible(bad, n));
	memcpy(bad, q, n);
	bad[5] = 0;					/* QDCOUNT 0 */
	CHECK(!dns_query_plausible(bad, n));
	bad[5] = 2;					/* QDCOUNT 2 */
	CHECK(!dns_query_plausible(bad, n));
	bad[4] = 1;
	bad[5] = 1;					/* QDCOUNT 257 */
	CHECK(!dns_query_plausible(bad, n));
	memcpy(bad, q, n);
	bad[7] = 1;					/* ANCOUNT 1 */
	CHECK(!dns_query_plausible(bad, n));
	memcpy(bad, q, n);
	bad[9] = 1;					/* NSCOUNT 1 */
	CHECK(!dns_query_plausible(bad, n));
	memcpy(bad, q, n);
	bad[12] = 0xc0;					/* a compression pointer */
	bad[13] = 12;
	CHECK(!dns_query_plausible(bad, n));
	bad[12] = 0x40;					/* reserved label type */
	CHECK(!dns_query_plausible(bad, n));
	memcpy(bad, q, n);
	bad[12] = 20;					/* label runs past the end */
	CHECK(!dns_query_plausible(bad, 12 + 10));
	/* a label of 64 bytes, a name of 256 bytes: too long; 63 and 255 fit */
	memset(name, 'a', 64);
	name[64] = '\0';
	CHECK(!dns_query_plausible(bad, make_query(bad, sizeof(bad), 1, name, false)));
	name[63] = '\0';
	CHECK(dns_query_plausible(bad, make_query(bad, sizeof(bad), 1, name, false)));
	/* 4 labels of 63 = 256 bytes of wire name with the root: refused */
	memset(name, '.', 255);
	name[255] = '\0';
	memset(name, 'b', 63);
	memset(name + 64, 'b', 63);
	memset(name + 128, 'b', 63);
	memset(name + 192, 'b', 63);
	CHECK(!dns_query_plausible(bad, make_query(bad, sizeof(bad), 1, name, false)));
	name[192 + 61] = '\0';				/* 3*64 + 62 + 1 = 255 */
	CHECK(dns_query_plausible(bad, make_query(bad, sizeof(bad), 1, name, false)));
	/* the root name alone is a fine question */
	CHECK(dns_query_plausible(bad, make_query(bad, sizeof(bad), 1, "", false)));
	/* size limits: padding after the question up to 4096 is fine */
	memcpy(bad, q, n);
	memset(bad + n, 0, sizeof(bad) - n);
	CHECK(dns_query_plausible(bad, DNS_MAX_QUERY));
	CHECK(!dns_query_plausible(bad, DNS_MAX_QUERY + 1));
	CHECK(!dns_query_plausible(bad, 11));
}

static void test_answer_matches(void)
{
	uint8_t q[512], a[512], m[512];
	size_t qn = make_query(q, sizeof(q), 0xbeef, "www.example.test", true);
	size_t an = make_answer(a, q, qn), ql = dns_question_len(q, qn), i;
	int bit;

	CHECK(dns_answer_matches(q, qn, a, an));
	/* the answer may be cut after the question (TC answers are) */
	CHECK(dns_answer_matches(q, qn, a, DNS_HEADER_LEN + ql));
	CHECK(!dns_answer_matches(q, qn, a, DNS_HEADER_LEN + ql - 1));
	CHECK(!dns_answer_matches(q, qn, NULL, 0));
	CHECK(!dns_answer_matches(q, 5, a, an));
	/* a query echoed back is not an answer */
	CHECK(!dns_answer_matches(q, qn, q, qn));
	/* flip every bit of the id, the QR/opcode byte, QDCOUNT and the
	 * question: each flip must break the match; other header bits
	 * (rcode, flags, the other counts) do not matter */
	for (i = 0; i < DNS_HEADER_LEN + ql; i++) {
		for (bit = 0; bit < 8; bit++) {
			bool must_break = i < 2 || (i == 2 && bit >= 3) || i == 4 || i == 5 ||
					  i >= DNS_HEADER_LEN;

			memcpy(m, a, an);
			m[i] ^= (uint8_t)(1 << bit);
			if (must_break && dns_answer_matches(q, qn, m, an)) {
				fprintf(stderr, "  byte %zu bit %d flipped still matches\n", i, bit);
				CHECK(false);
			}
			if (!must_break && !dns_answer_matches(q, qn, m, an)) {
				fprintf(stderr, "  byte %zu bit %d flipped breaks the match\n", i, bit);
				CHECK(false);
			}
		}
	}
	/* case is compared too: the upstream echoes the question exactly */
	memcpy(m, a, an);
	m[13] = 'W';
	CHECK(!dns_answer_matches(q, qn, m, an));
}

static void test_resolv_conf(void)
{
	union dns_addr a[DNS_UPSTREAMS_MAX];
	char s[INET6_ADDRSTRLEN];
	char longline[600];

	CHECK_INT(dns_resolv_conf_parse("", a, DNS_UPSTREAMS_MAX), 0);
	CHECK_INT(dns_resolv_conf_parse(NULL, a, DNS_UPSTREAMS_MAX), 0);
	CHECK_INT(dns_resolv_conf_parse("# systemd-resolved\nnameserver 127.0.0.53\noptions edns0 "
					"trust-ad\nsearch .\n", a, DNS_UPSTREAMS_MAX), 1);
	CHECK(a[0].sa.sa_family == AF_INET && a[0].in.sin_port == htons(53));
	CHECK(!strcmp(inet_ntop(AF_INET, &a[0].in.sin_addr, s, sizeof(s)), "127.0.0.53"));

	CHECK_INT(dns_resolv_conf_parse("  nameserver\t::1\n"
					"nameserver 1.1.1.1 # cloudflare\n"
					"nameserver 9.9.9.9;quad9\n"
					"nameserver 8.8.8.8\n", a, DNS_UPSTREAMS_MAX), 3);
	CHECK(a[0].sa.sa_family == AF_INET6 && a[0].in6.sin6_port == htons(53));
	CHECK(IN6_IS_ADDR_LOOPBACK(&a[0].in6.sin6_addr));
	CHECK(!strcmp(inet_ntop(AF_INET, &a[1].in.sin_addr, s, sizeof(s)), "1.1.1.1"));
	CHECK(!strcmp(inet_ntop(AF_INET, &a[2].in.sin_addr, s, sizeof(s)), "9.9.9.9"));

	/* not nameserver lines, not addresses: skipped */
	CHECK_INT(dns_resolv_conf_parse("nameservers 1.1.1.1\n"
					"#nameserver 1.1.1.2\n"
					"nameserver\n"
					"nameserver 1.1.1.300\n"
					"nameserver dns.example\n"
					"nameserver fe80::1%nosuchif0\n"
					"nameserver 10.0.0.1:53\n"
					"nameserver 10.0.0.2\r\n", a, DNS_UPSTREAMS_MAX), 1);
	CHECK(!strcmp(inet_ntop(AF_INET, &a[0].in.sin_addr, s, sizeof(s)), "10.0.0.2"));

	/* link-local with a scope, by name and by number */
	CHECK_INT(dns_resolv_conf_parse("nameserver fe80::1%lo\nnameserver fe80::2%7\n", a,
					DNS_UPSTREAMS_MAX), 2);
	CHECK_INT(a[0].in6.sin6_scope_id, if_nametoindex("lo"));
	CHECK_INT(a[1].in6.sin6_scope_id, 7);

	/* a line longer than the parser's buffer is cut, not overflowed */
	memset(longline, ' ', sizeof(longline));
	memcpy(longline, "nameserver 10.1.1.1", 19);
	memcpy(longline + sizeof(longline) - 25, "\nnameserver 10.2.2.2\n", 22);
	CHECK_INT(dns_resolv_conf_parse(longline, a, DNS_UPSTREAMS_MAX), 2);
	/* max respected */
	CHECK_INT(dns_resolv_conf_parse("nameserver 1.1.1.1\nnameserver 1.0.0.1\n", a, 1), 1);
}

static void test_list_names(void)
{
	CHECK(dns_list_names("10.13.13.1", "10.13.13.1"));
	CHECK(dns_list_names("1.1.1.1, 10.13.13.1, example.com", "10.13.13.1"));
	CHECK(dns_list_names("example.com,10.13.13.1", "10.13.13.1"));
	CHECK(dns_list_names("fd00::1", "fd00:0::1"));
	CHECK(!dns_list_names("10.13.13.10", "10.13.13.1"));
	CHECK(!dns_list_names("110.13.13.1", "10.13.13.1"));
	CHECK(!dns_list_names("1.1.1.1", "10.13.13.1"));
	CHECK(!dns_list_names("", "10.13.13.1"));
	CHECK(!dns_list_names(NULL, "10.13.13.1"));
	CHECK(!dns_list_names("10.13.13.1", "not an address"));
}

/* ---------------------------------------------------- the relay itself -- */

static bool have_netns;

/* A network namespace of our own with loopback up: port 53 on 127.0.0.x
 * is then ours, whatever the machine runs. */
static bool private_netns(void)
{
	struct ifreq ifr;
	int fd;

	if (unshare(CLONE_NEWNET) < 0) {
		uid_t uid = getuid();
		gid_t gid = getgid();
		char map[64];

		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
			return false;
		fd = open("/proc/self/setgroups", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, "deny", 4) < 0)
				(void)0;
			close(fd);
		}
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		fd = open("/proc/self/uid_map", O_WRONLY);
		if (fd < 0 || write(fd, map, strlen(map)) < 0)
			return false;
		close(fd);
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		fd = open("/proc/self/gid_map", O_WRONLY);
		if (fd < 0 || write(fd, map, strlen(map)) < 0)
			return false;
		close(fd);
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		close(fd);
		return false;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

static int udp_bound(const char *addr, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, addr, &sin.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		fprintf(stderr, "  bind %s:%u: %s\n", addr, port, strerror(errno));
		abort();
	}
	return fd;
}

static struct sockaddr_in addr_of(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	getsockname(fd, (struct sockaddr *)&sin, &len);
	return sin;
}

/* Receives one datagram within ms; its length, or -1. */
static ssize_t recv_from(int fd, uint8_t *buf, size_t cap, int ms, struct sockaddr_in *from)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t len = sizeof(*from);

	if (poll(&p, 1, ms) != 1)
		return -1;
	return recvfrom(fd, buf, cap, 0, (struct sockaddr *)from, &len);
}

static void send_to(int fd, const void *buf, size_t len, const struct sockaddr_in *to)
{
	if (sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to)) != (ssize_t)len)
		abort();
}

static void drain(int fd)
{
	uint8_t b[2048];

	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) >= 0)
		;
}

static char resolv_path[64];

static void write_resolv(const char *text)
{
	FILE *f = fopen(resolv_path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

/* Waits until the relay counted want queries (it reads them in its own
 * thread). */
static bool wait_queries(struct dns_relay *r, uint64_t want)
{
	struct dns_relay_stats st;
	int i;

	for (i = 0; i < 400; i++) {
		dns_relay_get_stats(r, &st);
		if (st.queries + st.dropped_bad + st.dropped_not_allowed >= want)
			return true;
		usleep(5000);
	}
	return false;
}

/* The relay counts an answer just after sending it: wait for the count. */
static void wait_answers(struct dns_relay *r, uint64_t want)
{
	struct dns_relay_stats st;
	int i;

	for (i = 0; i < 200; i++) {
		dns_relay_get_stats(r, &st);
		if (st.answers >= want)
			return;
		usleep(5000);
	}
}

struct rig {
	struct dns_relay *r;
	int up1, up2, client, outsider;
	struct sockaddr_in relay;
};

static bool rig_start(struct rig *g, bool two_upstreams)
{
	struct netlink_prefix allow;
	char err[256] = "";
	int lfd;

	if (!netlink_prefix_parse(&allow, "127.0.0.0/30"))
		abort();
	g->up1 = udp_bound("127.0.0.53", 53);
	g->up2 = udp_bound("127.0.0.54", 53);
	g->client = udp_bound("127.0.0.2", 0);
	g->outsider = udp_bound("127.0.0.9", 0);	/* outside 127.0.0.0/30 */
	lfd = udp_bound("127.0.0.1", 0);
	g->relay = addr_of(lfd);
	write_resolv(two_upstreams ? "nameserver 127.0.0.53\nnameserver 127.0.0.54\n"
				   : "nameserver 127.0.0.53\n");
	g->r = dns_relay_start(lfd, &allow, 1, resolv_path, err, sizeof(err));
	if (!g->r)
		fprintf(stderr, "  dns_relay_start: %s\n", err);
	return g->r != NULL;
}

static void rig_stop(struct rig *g)
{
	dns_relay_stop(g->r);
	close(g->up1);
	close(g->up2);
	close(g->client);
	close(g->outsider);
}

static void test_relay_round_trip(void)
{
	struct rig g;
	struct dns_relay_stats st;
	struct sockaddr_in from, upstream_src;
	uint8_t q[512], fwd[2048], a[2048], got[2048];
	size_t qn, an;
	ssize_t n;
	char line[256];

	if (!have_netns)
		return;
	if (!rig_start(&g, false)) {
		CHECK(false);
		return;
	}
	dns_relay_describe(g.r, line, sizeof(line));
	CHECK(!strcmp(line, "DNS: clients ask 127.0.0.1, relayed to 127.0.0.53 (set --dns to use "
		      "other servers)"));

	qn = make_query(q, sizeof(q), 0x4242, "example.test", true);
	send_to(g.client, q, qn, &g.relay);
	n = recv_from(g.up1, fwd, sizeof(fwd), 2000, &upstream_src);
	CHECK_INT(n, (ssize_t)qn);
	if (n != (ssize_t)qn)
		goto out;
	/* the same query with a new id */
	CHECK_MEM(fwd + 2, q + 2, qn - 2);
	CHECK(fwd[0] != 0x42 || fwd[1] != 0x42);
	an = make_answer(a, fwd, qn);

	/* a spoofed answer (right id, wrong source) never reaches the relay
	 * (its socket is connected); a wrong id and a wrong question are
	 * dropped and counted */
	send_to(g.up2, a, an, &upstream_src);
	a[1] ^= 1;
	send_to(g.up1, a, an, &upstream_src);
	a[1] ^= 1;
	a[DNS_HEADER_LEN + 1] ^= 0x20;			/* "Example.test" */
	send_to(g.up1, a, an, &upstream_src);
	a[DNS_HEADER_LEN + 1] ^= 0x20;
	CHECK_INT(recv_from(g.client, got, sizeof(got), 300, &from), -1);
	dns_relay_get_stats(g.r, &st);
	CHECK_INT(st.dropped_bad, 2);
	CHECK_INT(st.answers, 0);

	/* the real answer: back to the client with its own id */
	send_to(g.up1, a, an, &upstream_src);
	n = recv_from(g.client, got, sizeof(got), 2000, &from);
	CHECK_INT(n, (ssize_t)an);
	CHECK(got[0] == 0x42 && got[1] == 0x42);
	CHECK_MEM(got + 2, a + 2, an - 2);
	CHECK(from.sin_addr.s_addr == g.relay.sin_addr.s_addr && from.sin_port == g.relay.sin_port);
	wait_answers(g.r, 1);
	/* replayed: dropped, the client gets it once */
	send_to(g.up1, a, an, &upstream_src);
	CHECK_INT(recv_from(g.client, got, sizeof(got), 300, &from), -1);
	dns_relay_get_stats(g.r, &st);
	CHECK_INT(st.queries, 1);
	CHECK_INT(st.answers, 1);
	CHECK_INT(st.dropped_bad, 3);
	CHECK_INT(st.dropped_not_allowed, 0);
	CHECK_INT(st.timeouts, 0);
out:
	rig_stop(&g);
}

static void test_relay_drops(void)
{
	struct rig g;
	struct dns_relay_stats st;
	struct sockaddr_in from;
	uint8_t q[DNS_MAX_QUERY + 100], fwd[2048];
	size_t qn, i;

	if (!have_netns)
		return;
	if (!rig_start(&g, false)) {
		CHECK(false);
		return;
	}
	/* a client outside the allowed prefixes: nothing goes upstream */
	qn = make_query(q, sizeof(q), 7, "example.test", false);
	send_to(g.outsider, q, qn, &g.relay);
	/* garbage: short, an answer, two questions, too long, a pointer */
	send_to(g.client, q, 11, &g.relay);
	q[2] |= 0x80;
	send_to(g.client, q, qn, &g.relay);
	q[2] &= 0x7f;
	q[5] = 2;
	send_to(g.client, q, qn, &g.relay);
	q[5] = 1;
	memset(q + qn, 0, sizeof(q) - qn);
	send_to(g.client, q, DNS_MAX_QUERY + 1, &g.relay);
	q[12] = 0xc0;
	send_to(g.client, q, qn, &g.relay);
	send_to(g.client, "", 0, &g.relay);
	CHECK(wait_queries(g.r, 7));
	CHECK_INT(recv_from(g.up1, fwd, sizeof(fwd), 300, &from), -1);
	CHECK_INT(recv_from(g.outsider, fwd, sizeof(fwd), 10, &from), -1);
	CHECK_INT(recv_from(g.client, fwd, sizeof(fwd), 10, &from), -1);
	dns_relay_get_stats(g.r, &st);
	CHECK_INT(st.dropped_not_allowed, 1);
	CHECK_INT(st.dropped_bad, 6);
	CHECK_INT(st.queries, 0);

	/* 200 queries with one client id: 200 different upstream ids */
	{
		static uint8_t seen[65536];
		int distinct = 0, same_as_client = 0;

		memset(seen, 0, sizeof(seen));
		for (i = 0; i < 200; i++) {
			uint16_t id;

			qn = make_query(q, sizeof(q), 0x0101, "example.test", false);
			send_to(g.client, q, qn, &g.relay);
			if (recv_from(g.up1, fwd, sizeof(fwd), 2000, &from) != (ssize_t)qn)
				break;
			id = (uint16_t)(fwd[0] << 8 | fwd[1]);
			distinct += !seen[id];
			seen[id] = 1;
			same_as_client += id == 0x0101;
		}
		CHECK_INT(distinct, 200);
		CHECK(same_as_client <= 1);
	}
	rig_stop(&g);
}

/* With two upstreams: no answer from the first in 2 s (400 ms here), the
 * query goes to the second once; the first's late answer is dropped. */
static void test_relay_next_upstream(void)
{
	struct rig g;
	struct dns_relay_stats st;
	struct sockaddr_in from, src1, src2;
	uint8_t q[512], fwd1[2048], fwd2[2048], a[2048], got[2048];
	size_t qn, an;
	ssize_t n;

	if (!have_netns)
		return;
	if (!rig_start(&g, true)) {
		CHECK(false);
		return;
	}
	qn = make_query(q, sizeof(q), 0x7777, "slow.example.test", true);
	send_to(g.client, q, qn, &g.relay);
	CHECK_INT(recv_from(g.up1, fwd1, sizeof(fwd1), 1000, &src1), (ssize_t)qn);
	/* nothing on the second before the timeout (2 s scaled to 400 ms) */
	CHECK_INT(recv_from(g.up2, fwd2, sizeof(fwd2), 100, &src2), -1);
	n = recv_from(g.up2, fwd2, sizeof(fwd2), 2000, &src2);
	CHECK_INT(n, (ssize_t)qn);
	CHECK_MEM(fwd1, fwd2, qn);
	/* only once: no third send */
	CHECK_INT(recv_from(g.up1, fwd1, sizeof(fwd1), 150, &from), -1);
	an = make_answer(a, fwd1, qn);
	send_to(g.up1, a, an, &src1);		/* the first, too late: dropped */
	CHECK_INT(recv_from(g.client, got, sizeof(got), 100, &from), -1);
	send_to(g.up2, a, an, &src2);
	n = recv_from(g.client, got, sizeof(got), 2000, &from);
	CHECK_INT(n, (ssize_t)an);
	CHECK(got[0] == 0x77 && got[1] == 0x77);
	wait_answers(g.r, 1);
	dns_relay_get_stats(g.r, &st);
	CHECK_INT(st.answers, 1);
	CHECK_INT(st.dropped_bad, 1);

	/* unanswered everywhere: forgotten after 5 s (1 s here) */
	qn = make_query(q, sizeof(q), 0x7778, "gone.example.test", false);
	send_to(g.client, q, qn, &g.relay);
	CHECK_INT(recv_from(g.up1, fwd1, sizeof(fwd1), 1000, &src1), (ssize_t)qn);
	CHECK_INT(recv_from(g.up2, fwd2, sizeof(fwd2), 1000, &src2), (ssize_t)qn);
	usleep(1100 * 1000);
	dns_relay_get_stats(g.r, &st);
	CHECK_INT(st.timeouts, 1);
	/* an answer after that finds nothing */
	an = make_answer(a, fwd2, qn);
	send_to(g.up2, a, an, &src2);
	CHECK_INT(recv_from(g.client, got, sizeof(got), 200, &from), -1);
	dns_relay_get_stats(g.r, &st);
	CHECK_INT(st.dropped_bad, 2);
	CHECK_INT(st.answers, 1);
	rig_stop(&g);
}

/* More than DNS_PENDING_MAX queries waiting: the oldest is forgotten (its
 * answer is dropped), the newest still answered. */
static void test_relay_table_full(void)
{
	struct rig g;
	struct dns_relay_stats st;
	struct sockaddr_in from, src;
	static uint8_t first[512], last[512];
	uint8_t q[512], fwd[2048], a[2048], got[2048];
	size_t qn, an = 0, i, sent = 0, fwd_n = 0;
	struct timespec t0, t1;
	long long ms;
	ssize_t n;

	if (!have_netns)
		return;
	if (!rig_start(&g, false)) {
		CHECK(false);
		return;
	}
	qn = make_query(q, sizeof(q), 1, "full.example.test", false);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < DNS_PENDING_MAX + 1; i++) {
		q[0] = (uint8_t)(i >> 8);
		q[1] = (uint8_t)i;
		send_to(g.client, q, qn, &g.relay);
		sent++;
		/* read what was forwarded as we go: socket buffers are small */
		while ((n = recv_from(g.up1, fwd, sizeof(fwd), fwd_n + 64 < sent ? 1000 : 0, &src)) > 0) {
			if (fwd_n == 0)
				memcpy(first, fwd, (size_t)n);
			memcpy(last, fwd, (size_t)n);
			fwd_n++;
		}
	}
	while (fwd_n < sent && recv_from(g.up1, fwd, sizeof(fwd), 1000, &src) > 0) {
		memcpy(last, fwd, qn);
		fwd_n++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK_INT(fwd_n, DNS_PENDING_MAX + 1);
	dns_relay_get_stats(g.r, &st);
	CHECK_INT(st.queries, DNS_PENDING_MAX + 1);
	/* exactly the oldest was pushed out, unless a slow (sanitizer) run
	 * let some expire meanwhile */
	if (ms < 800)
		CHECK_INT(st.timeouts, 1);
	else
		CHECK(st.timeouts >= 1);
	drain(g.client);
	an = make_answer(a, first, qn);
	send_to(g.up1, a, an, &src);
	CHECK_INT(recv_from(g.client, got, sizeof(got), 200, &from), -1);
	an = make_answer(a, last, qn);
	send_to(g.up1, a, an, &src);
	n = recv_from(g.client, got, sizeof(got), 2000, &from);
	CHECK_INT(n, (ssize_t)an);
	CHECK(got[0] == (uint8_t)(DNS_PENDING_MAX >> 8) && got[1] == (uint8_t)DNS_PENDING_MAX);
	/* stopping with 4,095 queries pending frees them all (ASan) */
	rig_stop(&g);
}

static void test_relay_start_errors(void)
{
	struct netlink_prefix allow;
	struct dns_relay *r;
	char err[256], line[256];
	int fd;

	if (!netlink_prefix_parse(&allow, "127.0.0.0/8"))
		abort();
	err[0] = '\0';
	errno = 0;
	CHECK(dns_relay_start(-1, &allow, 1, NULL, err, sizeof(err)) == NULL);
	CHECK_INT(errno, EINVAL);
	CHECK(strstr(err, "not a UDP socket") != NULL);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(dns_relay_start(fd, &allow, 1, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not a UDP socket") != NULL);
	/* the relay took the descriptor, and closed it */
	CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF);

	if (!have_netns)
		return;
	fd = udp_bound("127.0.0.1", 0);
	CHECK(dns_relay_start(fd, &allow, 0, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "no client subnet") != NULL);

	/* a resolv.conf naming only the relay itself */
	fd = udp_bound("127.0.0.1", 0);
	write_resolv("nameserver 127.0.0.1\n");
	CHECK(dns_relay_start(fd, &allow, 1, resolv_path, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "no usable nameserver in") && strstr(err, resolv_path));

	/* no nameserver line: 127.0.0.1, as the C library does */
	fd = udp_bound("127.0.0.2", 0);
	write_resolv("search example.test\n");
	r = dns_relay_start(fd, &allow, 1, resolv_path, err, sizeof(err));
	CHECK(r != NULL);
	if (r) {
		dns_relay_describe(r, line, sizeof(line));
		CHECK(strstr(line, "relayed to 127.0.0.1 (") != NULL);
		dns_relay_stop(r);
	}
	/* no file at all: the same */
	fd = udp_bound("127.0.0.2", 0);
	r = dns_relay_start(fd, &allow, 1, "/nonexistent/resolv.conf", err, sizeof(err));
	CHECK(r != NULL);
	dns_relay_stop(r);
	/* three upstreams in the description */
	fd = udp_bound("127.0.0.2", 0);
	write_resolv("nameserver 127.0.0.53\nnameserver ::1\nnameserver 127.0.0.54\n");
	r = dns_relay_start(fd, &allow, 1, resolv_path, err, sizeof(err));
	CHECK(r != NULL);
	if (r) {
		dns_relay_describe(r, line, sizeof(line));
		CHECK(strstr(line, "relayed to 127.0.0.53, ::1 and 127.0.0.54 (") != NULL);
		dns_relay_stop(r);
	}
	dns_relay_stop(NULL);
}

int main(void)
{
	int fd;

	/* before the first clock read: retries after 400 ms, expiry 1 s */
	setenv("ZWG_TIME_SCALE", "5", 1);
	snprintf(resolv_path, sizeof(resolv_path), "/tmp/zwg-dns-test.XXXXXX");
	fd = mkstemp(resolv_path);
	if (fd < 0)
		abort();
	close(fd);
	have_netns = private_netns();
	if (!have_netns)
		printf("# dns_test: no network namespace of our own (neither root nor user "
		       "namespaces): the relay tests on port 53 are skipped\n");

	RUN(test_query_plausible);
	RUN(test_answer_matches);
	RUN(test_resolv_conf);
	RUN(test_list_names);
	RUN(test_relay_round_trip);
	RUN(test_relay_drops);
	RUN(test_relay_next_upstream);
	RUN(test_relay_table_full);
	RUN(test_relay_start_errors);
	unlink(resolv_path);
	TEST_EXIT();
}
