/*
 * ratelimiter_test.c - the per-source handshake token bucket (ratelimiter.c).
 *
 * Burst and refill at their exact boundaries; IPv4 sources, IPv6 /64s and
 * IPv4-mapped addresses grouped as the whitepaper says; a flood of distinct
 * sources that fills the table (fail closed, no crash) and its recovery once
 * entries go idle; and random traffic compared packet by packet with a
 * naive token-bucket model.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "clock.h"
#include "crypto.h"
#include "ratelimiter.h"
#include "test.h"

#define T0 (1000 * NSEC_PER_SEC)
#define COST (NSEC_PER_SEC / RATELIMITER_PACKETS_PER_SECOND)

static struct sockaddr_storage addr(const char *a, uint16_t port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(a, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, a, &sin6->sin6_addr) != 1)
			abort();
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (inet_pton(AF_INET, a, &sin->sin_addr) != 1)
			abort();
	}
	return ss;
}

static struct sockaddr_storage addr4_n(uint32_t host_order)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(51820);
	sin->sin_addr.s_addr = htonl(host_order);
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

/* How many of n back-to-back packets at now_ns are allowed. */
static int burst(struct ratelimiter *rl, const struct sockaddr *src, uint64_t now_ns, int n)
{
	int allowed = 0;

	for (int i = 0; i < n; i++)
		allowed += ratelimiter_allow(rl, src, now_ns);
	return allowed;
}

static void test_burst_and_refill(void)
{
	struct ratelimiter rl;
	struct sockaddr_storage a = addr("192.0.2.1", 1000);

	CHECK_INT(ratelimiter_init(&rl), 0);
	CHECK_INT(burst(&rl, SA(a), T0, RATELIMITER_PACKETS_BURSTABLE), RATELIMITER_PACKETS_BURSTABLE);
	CHECK(!ratelimiter_allow(&rl, SA(a), T0));
	CHECK(!ratelimiter_allow(&rl, SA(a), T0 + COST - 1));
	/* The refused packet above must not have cost anything. */
	CHECK(ratelimiter_allow(&rl, SA(a), T0 + COST));
	CHECK(!ratelimiter_allow(&rl, SA(a), T0 + COST));
	/* Refill is capped at the burst, however long the pause. */
	CHECK_INT(burst(&rl, SA(a), T0 + 60 * NSEC_PER_SEC, 20), RATELIMITER_PACKETS_BURSTABLE);
	CHECK(!ratelimiter_allow(&rl, SA(a), T0 + 60 * NSEC_PER_SEC + COST - 1));
	/* Steady 20/s is sustained indefinitely. */
	for (int k = 1; k <= 100; k++)
		CHECK(ratelimiter_allow(&rl, SA(a), T0 + 60 * NSEC_PER_SEC + k * COST));
	CHECK(!ratelimiter_allow(&rl, SA(a), T0 + 60 * NSEC_PER_SEC + 100 * COST));
	/* A clock that steps back grants nothing. */
	CHECK(!ratelimiter_allow(&rl, SA(a), T0));
	ratelimiter_free(&rl);
	CHECK(rl.table == NULL);
	CHECK(!ratelimiter_allow(&rl, SA(a), T0 + 100 * NSEC_PER_SEC));
}

static void test_sources(void)
{
	struct ratelimiter rl;
	struct sockaddr_storage a = addr("192.0.2.1", 1000), a_port = addr("192.0.2.1", 2000);
	struct sockaddr_storage b = addr("192.0.2.2", 1000);
	struct sockaddr_storage a_mapped = addr("::ffff:192.0.2.1", 1000);
	struct sockaddr_storage v6a = addr("2001:db8:1:2::1", 1000);
	struct sockaddr_storage v6a_same64 = addr("2001:db8:1:2:ffff:ffff:ffff:ffff", 9);
	struct sockaddr_storage v6b = addr("2001:db8:1:3::1", 1000);
	struct sockaddr_storage v6_zero = addr("::", 1000);
	struct sockaddr_storage v4_zero = addr("0.0.0.0", 1000);
	struct sockaddr_un un;

	CHECK_INT(ratelimiter_init(&rl), 0);
	CHECK_INT(burst(&rl, SA(a), T0, 3), 3);
	CHECK_INT(burst(&rl, SA(a_port), T0, 3), 2);		/* port does not matter */
	CHECK(!ratelimiter_allow(&rl, SA(a_mapped), T0));	/* mapped = same IPv4 */
	CHECK_INT(burst(&rl, SA(b), T0, 10), RATELIMITER_PACKETS_BURSTABLE);

	CHECK_INT(burst(&rl, SA(v6a), T0, 3), 3);
	CHECK_INT(burst(&rl, SA(v6a_same64), T0, 3), 2);	/* same /64 */
	CHECK_INT(burst(&rl, SA(v6b), T0, 10), RATELIMITER_PACKETS_BURSTABLE);
	/* The all-zero IPv4 and IPv6 keys are distinct buckets. */
	CHECK_INT(burst(&rl, SA(v4_zero), T0, 10), RATELIMITER_PACKETS_BURSTABLE);
	CHECK_INT(burst(&rl, SA(v6_zero), T0, 10), RATELIMITER_PACKETS_BURSTABLE);
	CHECK_INT(rl.live, 6);

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	CHECK(!ratelimiter_allow(&rl, SA(un), T0));
	ratelimiter_free(&rl);
}

static void test_table_full(void)
{
	struct ratelimiter rl;
	const uint32_t n = 3 * RATELIMITER_TABLE_SIZE;
	uint32_t admitted = 0, late = 0, later = 0, kept = 0;
	static uint8_t was_admitted[3 * RATELIMITER_TABLE_SIZE];

	CHECK_INT(ratelimiter_init(&rl), 0);
	for (uint32_t i = 0; i < n; i++) {
		struct sockaddr_storage s = addr4_n(0x0a000000 + i);

		was_admitted[i] = ratelimiter_allow(&rl, SA(s), T0);
		admitted += was_admitted[i];
	}
	CHECK(admitted <= RATELIMITER_TABLE_SIZE);
	CHECK(admitted >= RATELIMITER_TABLE_SIZE / 2);	/* the table is actually used */
	CHECK(admitted < n);				/* and refuses once full */
	CHECK_INT(rl.live, admitted);

	/* An IPv6 /64 whose first four bytes are an IPv4 address is another
	 * source: querying one must not spend the IPv4 bucket.  With ~8000
	 * pairs, some share a probe window whatever the hash key. */
	for (uint32_t i = 0; i < n; i++) {
		struct sockaddr_storage s = addr4_n(0x0a000000 + i), s6;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&s6;

		memset(&s6, 0, sizeof(s6));
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, &((struct sockaddr_in *)&s)->sin_addr, 4);
		(void)ratelimiter_allow(&rl, SA(s6), T0);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct sockaddr_storage s = addr4_n(0x0a000000 + i);

		if (was_admitted[i])
			kept += burst(&rl, SA(s), T0, RATELIMITER_PACKETS_BURSTABLE);
	}
	CHECK_INT(kept, admitted * (RATELIMITER_PACKETS_BURSTABLE - 1));
	kept = 0;

	/* Half a second on: admitted sources keep their buckets, new ones
	 * find (almost) no room, since nothing is idle yet. */
	for (uint32_t i = 0; i < n; i++) {
		struct sockaddr_storage s = addr4_n(0x0a000000 + i);

		if (was_admitted[i])
			kept += ratelimiter_allow(&rl, SA(s), T0 + NSEC_PER_SEC / 2);
	}
	CHECK_INT(kept, admitted);
	for (uint32_t i = 0; i < RATELIMITER_TABLE_SIZE; i++) {
		struct sockaddr_storage s = addr4_n(0x0b000000 + i);

		late += ratelimiter_allow(&rl, SA(s), T0 + NSEC_PER_SEC / 2);
	}
	CHECK(late < RATELIMITER_TABLE_SIZE / 8);

	/* Two seconds on, the old entries are idle and make room. */
	for (uint32_t i = 0; i < RATELIMITER_TABLE_SIZE; i++) {
		struct sockaddr_storage s = addr4_n(0x0c000000 + i);

		later += ratelimiter_allow(&rl, SA(s), T0 + 2 * NSEC_PER_SEC);
	}
	CHECK(later >= RATELIMITER_TABLE_SIZE / 2);
	CHECK(rl.live <= RATELIMITER_TABLE_SIZE);
	ratelimiter_free(&rl);
}

/* Random traffic against a naive model: one bucket of BURSTABLE packets
 * per group, refilled continuously at PACKETS_PER_SECOND. */
static void test_against_model(void)
{
	static const struct { const char *a; int group; } srcs[] = {
		{ "192.0.2.1", 0 }, { "::ffff:192.0.2.1", 0 }, { "192.0.2.2", 1 },
		{ "198.51.100.1", 2 }, { "2001:db8::1", 3 }, { "2001:db8::2", 3 },
		{ "2001:db8:0:1::1", 4 }, { "2001:db8:0:0:8000::", 3 }, { "10.0.0.1", 5 },
	};
	enum { NSRC = sizeof(srcs) / sizeof(srcs[0]), NGROUP = 6, STEPS = 20000 };
	const uint64_t max = COST * RATELIMITER_PACKETS_BURSTABLE;
	struct { uint64_t tokens, last; int seen; } model[NGROUP];
	struct sockaddr_storage ss[NSRC];
	struct ratelimiter rl;
	uint8_t rnd[STEPS * 3];
	uint64_t now = T0;
	int mismatches = 0, allowed = 0;

	for (int i = 0; i < NSRC; i++)
		ss[i] = addr(srcs[i].a, (uint16_t)(1000 + i));
	memset(model, 0, sizeof(model));
	CHECK(crypto_random(rnd, sizeof(rnd)));
	CHECK_INT(ratelimiter_init(&rl), 0);
	for (int step = 0; step < STEPS; step++) {
		int s = rnd[3 * step] % NSRC, g = srcs[s].group;
		uint16_t r = (uint16_t)(rnd[3 * step + 1] | rnd[3 * step + 2] << 8);
		bool want, got;

		/* Mostly gaps under 2 ms, so buckets drain; one in 256 up to
		 * 2 s, so they refill and entries go idle. */
		now += (uint64_t)(r & 0xff) * ((r & 0xff00) ? 8000 : 8 * NSEC_PER_MSEC);
		if (!model[g].seen) {
			model[g].seen = 1;
			model[g].tokens = max;
		} else {
			uint64_t t = model[g].tokens + (now - model[g].last);
			model[g].tokens = t > max ? max : t;
		}
		model[g].last = now;
		want = model[g].tokens >= COST;
		if (want)
			model[g].tokens -= COST;
		got = ratelimiter_allow(&rl, SA(ss[s]), now);
		mismatches += want != got;
		allowed += got;
	}
	CHECK_INT(mismatches, 0);
	/* Both outcomes exercised, plenty of each (about a quarter pass). */
	CHECK(allowed > STEPS / 10 && allowed < STEPS / 2);
	ratelimiter_free(&rl);
}

int main(void)
{
	if (!crypto_init()) {
		fprintf(stderr, "crypto_init failed\n");
		return 1;
	}
	RUN(test_burst_and_refill);
	RUN(test_sources);
	RUN(test_table_full);
	RUN(test_against_model);
	TEST_EXIT();
}
