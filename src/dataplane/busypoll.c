/*
 * busypoll.c - the adaptive poll budget of the event loop.  See busypoll.h.
 */
#include "busypoll.h"

#include <stdlib.h>
#include <time.h>

#define NSEC_PER_USEC 1000ULL

void busy_poll_init_max(struct busy_poll *bp, unsigned max_us)
{
	if (max_us > BUSY_POLL_MAX_US)
		max_us = BUSY_POLL_MAX_US;
	bp->max_ns = (uint64_t)max_us * NSEC_PER_USEC;
	bp->floor_ns = max_us < BUSY_POLL_FLOOR_US ? bp->max_ns : BUSY_POLL_FLOOR_US * NSEC_PER_USEC;
	bp->budget_ns = bp->floor_ns;
	bp->credit_ns = bp->max_ns * BUSY_POLL_CREDIT_POLLS;
	bp->refilled_ns = 0;
}

void busy_poll_init(struct busy_poll *bp)
{
	const char *env = getenv("ZWG_BUSY_POLL_US");
	long us = BUSY_POLL_DEFAULT_US;

	if (env) {
		char *end;
		us = strtol(env, &end, 10);
		if (end == env || *end || us < 0)
			us = BUSY_POLL_DEFAULT_US;
	}
	busy_poll_init_max(bp, us > BUSY_POLL_MAX_US ? BUSY_POLL_MAX_US : (unsigned)us);
}

uint64_t busy_poll_begin(struct busy_poll *bp, uint64_t now_ns)
{
	uint64_t cap = bp->max_ns * BUSY_POLL_CREDIT_POLLS;

	if (!bp->max_ns)
		return 0;
	if (bp->refilled_ns && now_ns > bp->refilled_ns) {
		uint64_t add = (now_ns - bp->refilled_ns) / BUSY_POLL_SHARE;
		bp->credit_ns = cap - bp->credit_ns < add ? cap : bp->credit_ns + add;
	}
	bp->refilled_ns = now_ns;
	return bp->budget_ns < bp->credit_ns ? bp->budget_ns : bp->credit_ns;
}

void busy_poll_end(struct busy_poll *bp, uint64_t gap_ns, uint64_t polled_ns)
{
	if (!bp->max_ns)
		return;
	bp->credit_ns -= polled_ns < bp->credit_ns ? polled_ns : bp->credit_ns;
	if (gap_ns <= bp->budget_ns)
		return;		/* the poll caught it */
	if (gap_ns <= bp->max_ns) {
		/* A longer poll would have caught it: cover such a gap, with
		 * room for jitter. */
		uint64_t want = gap_ns + gap_ns / 2;
		bp->budget_ns = want < bp->max_ns ? want : bp->max_ns;
		return;
	}
	/* Nothing came within the maximum: the poll was wasted.  Shrink
	 * slowly, so that traffic which alternates replies and pauses (a
	 * ping) keeps most of its hits, while a pattern that never hits
	 * decays to the floor. */
	bp->budget_ns -= bp->budget_ns / 16;
	if (bp->budget_ns < bp->floor_ns)
		bp->budget_ns = bp->floor_ns;
}

uint64_t busy_poll_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
