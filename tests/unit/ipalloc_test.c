/*
 * ipalloc_test.c - tunnel address allocation (src/control/ipalloc.c):
 * the sequence in a subnet, holes reused, a full subnet, the IPv6 twin,
 * the ULA prefix, and a check against a naive reference on random sets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipalloc.h"
#include "test.h"

static struct server_record srv(const char *v4, uint8_t p4, const char *v6, uint8_t p6)
{
	struct server_record s;

	memset(&s, 0, sizeof(s));
	inet_pton(AF_INET, v4, &s.ipv4);
	s.ipv4_prefix = p4;
	inet_pton(AF_INET6, v6, &s.ipv6);
	s.ipv6_prefix = p6;
	return s;
}

static void set_peer(struct peer_record *p, const char *v4, const char *v6)
{
	memset(p, 0, sizeof(*p));
	inet_pton(AF_INET, v4, &p->ipv4);
	if (v6) {
		inet_pton(AF_INET6, v6, &p->ipv6);
		p->has_ipv6 = true;
	}
}

static int alloc(const struct server_record *s, const struct peer_record *p, size_t n,
		 char *v4, char *v6, struct control_error *e)
{
	struct in_addr a4;
	struct in6_addr a6;
	int ret = ipalloc_next(s, p, n, &a4, &a6, e);

	if (ret == 0) {
		inet_ntop(AF_INET, &a4, v4, INET_ADDRSTRLEN);
		inet_ntop(AF_INET6, &a6, v6, INET6_ADDRSTRLEN);
	}
	return ret;
}

static void test_sequence(void)
{
	struct server_record s = srv("10.13.13.1", 24, "fd00:1:2:3::1", 64);
	struct peer_record peers[4];
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
	static const char *const want4[] = { "10.13.13.2", "10.13.13.3", "10.13.13.4", "10.13.13.5" };
	static const char *const want6[] = { "fd00:1:2:3::2", "fd00:1:2:3::3", "fd00:1:2:3::4",
					     "fd00:1:2:3::5" };
	size_t i;

	for (i = 0; i < 4; i++) {
		CHECK_INT(alloc(&s, peers, i, v4, v6, NULL), 0);
		CHECK(strcmp(v4, want4[i]) == 0);
		CHECK(strcmp(v6, want6[i]) == 0);
		set_peer(&peers[i], v4, v6);
	}
}

static void test_hole_reused(void)
{
	struct server_record s = srv("10.13.13.1", 24, "fd00::1", 64);
	struct peer_record peers[3];
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];

	set_peer(&peers[0], "10.13.13.2", "fd00::2");
	set_peer(&peers[1], "10.13.13.4", "fd00::4");	/* .3 was revoked */
	set_peer(&peers[2], "10.13.13.5", "fd00::5");
	CHECK_INT(alloc(&s, peers, 3, v4, v6, NULL), 0);
	CHECK(strcmp(v4, "10.13.13.3") == 0);
	CHECK(strcmp(v6, "fd00::3") == 0);
}

static void test_server_not_first(void)
{
	/* the server at .5: it is skipped, and .1 is free */
	struct server_record s = srv("192.168.77.5", 29, "fd00::5", 64);
	struct peer_record peers[6];
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
	static const char *const want[] = { "192.168.77.1", "192.168.77.2", "192.168.77.3",
					    "192.168.77.4", "192.168.77.6" };
	size_t i;

	for (i = 0; i < 5; i++) {
		CHECK_INT(alloc(&s, peers, i, v4, v6, NULL), 0);
		CHECK(strcmp(v4, want[i]) == 0);
		set_peer(&peers[i], v4, v6);
	}
	/* the twin of .1 would be ::1, but fd00::5 is the server's: no clash */
	CHECK(strcmp(v6, "fd00::6") == 0);
}

static void test_full_29(void)
{
	struct server_record s = srv("10.9.9.1", 29, "fd00::1", 64);
	struct peer_record peers[8];
	struct control_error e;
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
	size_t i;

	CHECK_INT(ipalloc_capacity(29), 5);
	CHECK_INT(ipalloc_capacity(24), 253);
	for (i = 0; i < 5; i++) {
		CHECK_INT(alloc(&s, peers, i, v4, v6, NULL), 0);
		set_peer(&peers[i], v4, v6);
	}
	CHECK(strcmp(v4, "10.9.9.6") == 0);	/* .7 is the broadcast */
	control_error_clear(&e);
	CHECK_INT(alloc(&s, peers, 5, v4, v6, &e), -ENOSPC);
	CHECK(strstr(e.msg, "subnet 10.9.9.0/29 is full (5 peers)") != NULL);
}

static void test_full_24_message(void)
{
	struct server_record s = srv("10.13.13.1", 24, "fd00::1", 64);
	struct peer_record *peers = calloc(253, sizeof(*peers));
	struct control_error e;
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < 253; i++) {
		snprintf(v4, sizeof(v4), "10.13.13.%zu", i + 2);
		set_peer(&peers[i], v4, NULL);
	}
	CHECK_INT(alloc(&s, peers, 253, v4, v6, &e), -ENOSPC);
	CHECK(strstr(e.msg, "subnet 10.13.13.0/24 is full (253 peers)") != NULL);
	/* revoke one in the middle: exactly that one comes back */
	set_peer(&peers[100], "10.99.0.1", NULL);	/* outside the subnet: ignored */
	CHECK_INT(alloc(&s, peers, 253, v4, v6, &e), 0);
	CHECK(strcmp(v4, "10.13.13.102") == 0);
	free(peers);
}

static void test_v6_twin_taken(void)
{
	/* an imported peer holds fd00::2 without 10.13.13.2 */
	struct server_record s = srv("10.13.13.1", 24, "fd00::1", 64);
	struct peer_record peers[2];
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];

	set_peer(&peers[0], "10.13.13.9", "fd00::2");
	set_peer(&peers[1], "10.13.13.10", "fd00::3");
	CHECK_INT(alloc(&s, peers, 2, v4, v6, NULL), 0);
	CHECK(strcmp(v4, "10.13.13.2") == 0);
	CHECK(strcmp(v6, "fd00::4") == 0);	/* the next free after ::2, ::3 */
}

static void test_v6_prefix_112(void)
{
	/* wg-easy style: a /112 ULA; host numbers stay in the low bits */
	struct server_record s = srv("10.8.0.1", 24, "fdcc:ad94:bacf:61a4::cafe:1", 112);
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];

	CHECK_INT(alloc(&s, NULL, 0, v4, v6, NULL), 0);
	CHECK(strcmp(v4, "10.8.0.2") == 0);
	CHECK(strcmp(v6, "fdcc:ad94:bacf:61a4::cafe:2") == 0);
}

static void test_ula(void)
{
	struct in6_addr a, b;
	size_t i;

	CHECK_INT(ipalloc_ula_generate(&a), 0);
	CHECK_INT(ipalloc_ula_generate(&b), 0);
	CHECK_INT(a.s6_addr[0], 0xfd);
	/* subnet ID 0 and an empty host part */
	for (i = 6; i < 16; i++)
		CHECK_INT(a.s6_addr[i], 0);
	/* 40 random bits: two draws differ (2^-40 chance of a false failure) */
	CHECK(memcmp(&a.s6_addr[1], &b.s6_addr[1], 5) != 0);
}

static void test_network(void)
{
	struct in_addr a, n;
	char t[INET_ADDRSTRLEN];

	inet_pton(AF_INET, "172.16.5.77", &a);
	n = ipalloc_network(a, 20);
	inet_ntop(AF_INET, &n, t, sizeof(t));
	CHECK(strcmp(t, "172.16.0.0") == 0);
	CHECK_INT(ipalloc_capacity(7), 0);
	CHECK_INT(ipalloc_capacity(31), 0);
}

/* Random used sets against the obvious linear search. */
static void test_against_reference(void)
{
	struct server_record s = srv("10.50.0.1", 26, "fd00::1", 64);
	struct peer_record peers[70];
	unsigned seed = 12345;
	int round;

	for (round = 0; round < 200; round++) {
		bool used[64] = { false };
		size_t n = 0, h;
		uint32_t want = 0;
		struct in_addr got4;
		struct in6_addr got6;
		int ret;

		used[0] = used[1] = used[63] = true;
		for (h = 2; h < 63; h++) {
			seed = seed * 1103515245 + 12345;
			if ((seed >> 16) % 100 < (unsigned)(round % 100)) {
				char a[INET_ADDRSTRLEN];
				snprintf(a, sizeof(a), "10.50.0.%zu", h);
				set_peer(&peers[n++], a, NULL);
				used[h] = true;
			}
		}
		for (h = 1; h < 63; h++)
			if (!used[h]) {
				want = (uint32_t)h;
				break;
			}
		ret = ipalloc_next(&s, peers, n, &got4, &got6, NULL);
		if (want == 0) {
			CHECK_INT(ret, -ENOSPC);
		} else {
			CHECK_INT(ret, 0);
			CHECK_INT(ntohl(got4.s_addr) & 63, want);
			CHECK_INT(got6.s6_addr[15], want);
		}
	}
}

int main(void)
{
	RUN(test_sequence);
	RUN(test_hole_reused);
	RUN(test_server_not_first);
	RUN(test_full_29);
	RUN(test_full_24_message);
	RUN(test_v6_twin_taken);
	RUN(test_v6_prefix_112);
	RUN(test_ula);
	RUN(test_network);
	RUN(test_against_reference);
	TEST_EXIT();
}
