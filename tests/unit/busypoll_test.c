/*
 * busypoll_test.c - the adaptive poll budget, driven with made-up gaps (no
 * clock, no timing): off means never polling; a gap a longer poll would
 * have caught grows the budget, never past the maximum; polls that catch
 * nothing decay to the floor; traffic that alternates quick replies with
 * long pauses (a ping) gets most replies inside the poll; and steady
 * traffic whose gaps the poll could cover cannot make it poll more than
 * its share of wall time.
 */
#include "test.h"
#include "busypoll.h"

#include <stdint.h>
#include <stdlib.h>

#define US 1000ULL
#define MS 1000000ULL

static uint64_t now = 1 * MS;
static uint64_t total_polled;

/* One wait of the loop: packet work ends now, the next event comes gap
 * later.  Returns whether the poll caught it. */
static int wait_gap(struct busy_poll *bp, uint64_t gap)
{
	uint64_t allow = busy_poll_begin(bp, now);
	uint64_t polled = gap < allow ? gap : allow;

	busy_poll_end(bp, gap, polled);
	total_polled += polled;
	now += gap;
	return allow && gap <= allow;
}

static void test_off_never_polls(void)
{
	struct busy_poll bp;

	busy_poll_init_max(&bp, 0);
	for (int i = 0; i < 100; i++) {
		CHECK_INT(busy_poll_begin(&bp, now), 0);
		busy_poll_end(&bp, (uint64_t)(i % 7) * 10 * US, 0);
		now += 10 * US;
	}
}

static void test_starts_at_the_floor_and_grows_to_cover_a_gap(void)
{
	struct busy_poll bp;

	busy_poll_init_max(&bp, 200);
	CHECK_INT(busy_poll_begin(&bp, now), BUSY_POLL_FLOOR_US * US);
	busy_poll_end(&bp, 80 * US, BUSY_POLL_FLOOR_US * US);
	now += 80 * US;
	uint64_t b = busy_poll_begin(&bp, now);
	CHECK(b >= 80 * US);
	CHECK(b <= 200 * US);
	/* A gap the budget covers changes nothing. */
	busy_poll_end(&bp, 50 * US, 50 * US);
	now += 50 * US;
	CHECK_INT(busy_poll_begin(&bp, now), b);
	/* Near the maximum: capped. */
	busy_poll_end(&bp, 190 * US, b);
	now += 190 * US;
	CHECK_INT(busy_poll_begin(&bp, now), 200 * US);
}

static void test_floor_is_capped_by_the_maximum(void)
{
	struct busy_poll bp;

	busy_poll_init_max(&bp, 20);
	CHECK_INT(busy_poll_begin(&bp, now), 20 * US);
	CHECK(wait_gap(&bp, 15 * US));
	CHECK(!wait_gap(&bp, 5 * MS));
	CHECK_INT(busy_poll_begin(&bp, now), 20 * US);
}

static void test_wasted_polls_decay_to_the_floor(void)
{
	struct busy_poll bp;
	uint64_t before, after;
	int steps = 0;

	busy_poll_init_max(&bp, 200);
	wait_gap(&bp, 150 * US);
	before = busy_poll_begin(&bp, now);
	CHECK(before > BUSY_POLL_FLOOR_US * US);
	/* Long pauses: plenty of credit, so the budget alone decides. */
	while (steps < 1000) {
		busy_poll_end(&bp, 5 * MS, before);
		now += 5 * MS;
		after = busy_poll_begin(&bp, now);
		if (after == before)
			break;
		CHECK(after < before);
		before = after;
		steps++;
	}
	CHECK_INT(before, BUSY_POLL_FLOOR_US * US);
	CHECK(steps < 100);
	/* Gaps just past the maximum never make it poll longer. */
	for (int i = 0; i < 100; i++)
		wait_gap(&bp, 200 * US + 1);
	CHECK(busy_poll_begin(&bp, now) <= BUSY_POLL_FLOOR_US * US);
}

static void test_ping_pattern_keeps_most_replies(void)
{
	struct busy_poll bp;
	int hits = 0, rounds = 1000;

	busy_poll_init_max(&bp, 400);
	for (int i = 0; i < rounds; i++) {
		/* The reply, 100..260 us after the request went out... */
		hits += wait_gap(&bp, (100 + (uint64_t)(i * 37 % 161)) * US);
		CHECK(busy_poll_begin(&bp, now) <= 400 * US);
		/* ...then 100 ms of nothing. */
		wait_gap(&bp, 100 * MS);
	}
	CHECK(hits > rounds * 3 / 4);
}

static void test_steady_traffic_polls_at_most_its_share(void)
{
	struct busy_poll bp;
	uint64_t start = now;

	/* Gaps of 300 us, each one a poll of up to 400 us could catch. */
	busy_poll_init_max(&bp, 400);
	total_polled = 0;
	while (now - start < 1000 * MS)
		wait_gap(&bp, 300 * US);
	/* The share of wall time, plus the credit it started with. */
	CHECK(total_polled <= (now - start) / BUSY_POLL_SHARE +
			      400 * US * BUSY_POLL_CREDIT_POLLS + 300 * US);
	/* And it still polls some of the time. */
	CHECK(total_polled > (now - start) / BUSY_POLL_SHARE / 2);
}

static void test_environment(void)
{
	struct busy_poll bp;

	unsetenv("ZWG_BUSY_POLL_US");
	busy_poll_init(&bp);
	CHECK_INT(bp.max_ns, BUSY_POLL_DEFAULT_US * US);
	setenv("ZWG_BUSY_POLL_US", "0", 1);
	busy_poll_init(&bp);
	CHECK_INT(bp.max_ns, 0);
	CHECK_INT(busy_poll_begin(&bp, now), 0);
	setenv("ZWG_BUSY_POLL_US", "50", 1);
	busy_poll_init(&bp);
	CHECK_INT(bp.max_ns, 50 * US);
	setenv("ZWG_BUSY_POLL_US", "99999999", 1);
	busy_poll_init(&bp);
	CHECK_INT(bp.max_ns, BUSY_POLL_MAX_US * US);
	setenv("ZWG_BUSY_POLL_US", "fast", 1);
	busy_poll_init(&bp);
	CHECK_INT(bp.max_ns, BUSY_POLL_DEFAULT_US * US);
	setenv("ZWG_BUSY_POLL_US", "-5", 1);
	busy_poll_init(&bp);
	CHECK_INT(bp.max_ns, BUSY_POLL_DEFAULT_US * US);
	unsetenv("ZWG_BUSY_POLL_US");
}

int main(void)
{
	RUN(test_off_never_polls);
	RUN(test_starts_at_the_floor_and_grows_to_cover_a_gap);
	RUN(test_floor_is_capped_by_the_maximum);
	RUN(test_wasted_polls_decay_to_the_floor);
	RUN(test_ping_pattern_keeps_most_replies);
	RUN(test_steady_traffic_polls_at_most_its_share);
	RUN(test_environment);
	TEST_EXIT();
}
