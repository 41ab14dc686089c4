/*
 * timerheap_test.c - the timer heap against a naive reference: random
 * arm/re-arm/delete/run sequences must fire exactly the timers the reference
 * says are due, in deadline order.
 */
#include "test.h"
#include "timerheap.h"

#include <stdint.h>

#define NT 300

static struct timer timers[NT];
static uint64_t ref_expires[NT];	/* UINT64_MAX = not pending */
static int fired[NT * 8], nfired;
static uint64_t last_fired_deadline;
static int order_violations;

static void on_fire(struct timer *t, uint64_t now)
{
	int i = (int)(t - timers);

	if (t->expires_ns < last_fired_deadline)
		order_violations++;
	last_fired_deadline = t->expires_ns;
	fired[nfired++] = i;
	(void)now;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_random_against_reference(void)
{
	struct timer_heap h;
	uint64_t now = 1000;

	timer_heap_init(&h);
	CHECK_INT(timer_heap_reserve(&h, NT), 0);
	for (int i = 0; i < NT; i++) {
		timer_init(&timers[i], on_fire);
		ref_expires[i] = UINT64_MAX;
	}
	for (int step = 0; step < 20000; step++) {
		int i = (int)(rnd() % NT);
		switch (rnd() % 4) {
		case 0:
		case 1: {
			uint64_t when = now + rnd() % 5000;
			timer_mod(&h, &timers[i], when);
			ref_expires[i] = when;
			break;
		}
		case 2:
			timer_del(&h, &timers[i]);
			ref_expires[i] = UINT64_MAX;
			break;
		case 3: {
			now += rnd() % 700;
			bool due[NT];
			int ndue = 0;
			for (int k = 0; k < NT; k++) {
				due[k] = ref_expires[k] <= now;
				ndue += due[k];
			}
			nfired = 0;
			last_fired_deadline = 0;
			timer_heap_run(&h, now);
			CHECK_INT(nfired, ndue);
			for (int k = 0; k < nfired; k++) {
				CHECK(due[fired[k]]);
				ref_expires[fired[k]] = UINT64_MAX;
			}
			break;
		}
		}
		/* The pending flag agrees with the reference throughout. */
		CHECK_INT(timer_pending(&timers[i]), ref_expires[i] != UINT64_MAX);
	}
	uint64_t min = UINT64_MAX;
	for (int k = 0; k < NT; k++)
		if (ref_expires[k] < min)
			min = ref_expires[k];
	CHECK(timer_heap_next(&h) == min);
	CHECK_INT(order_violations, 0);
	timer_heap_free(&h);
}

static struct timer_heap rearm_heap;
static int rearm_count;
static void rearm(struct timer *t, uint64_t now)
{
	/* A callback that re-arms itself must not loop forever in one run. */
	if (++rearm_count < 5)
		timer_mod(&rearm_heap, t, now + 10);
}

static void test_rearm_from_callback(void)
{
	struct timer t;

	timer_heap_init(&rearm_heap);
	CHECK_INT(timer_heap_reserve(&rearm_heap, 1), 0);
	timer_init(&t, rearm);
	timer_mod(&rearm_heap, &t, 5);
	timer_heap_run(&rearm_heap, 5);
	CHECK_INT(rearm_count, 1);
	CHECK(timer_pending(&t));
	CHECK(timer_heap_next(&rearm_heap) == 15);
	/* Each run fires it once: its new deadline is after the run's now. */
	for (int k = 0; k < 4; k++)
		timer_heap_run(&rearm_heap, 100 + 10 * (uint64_t)k);
	CHECK_INT(rearm_count, 5);
	CHECK(!timer_pending(&t));
	CHECK(timer_heap_next(&rearm_heap) == UINT64_MAX);
	timer_heap_free(&rearm_heap);
}

int main(void)
{
	RUN(test_random_against_reference);
	RUN(test_rearm_from_callback);
	TEST_EXIT();
}
