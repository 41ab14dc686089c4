/*
 * replay_test.c - the replay window: a table of hand-made cases in the
 * manner of the Linux driver's selftest (duplicates, reordering, the exact
 * edge of the window, jumps of every interesting size, the top of the
 * counter space), then ~200,000 random counters checked against a naive
 * reference that remembers every counter it ever accepted in a hash set.
 *
 * The window rule both sides implement, with h the highest counter
 * accepted: c is accepted iff c < REJECT_AFTER_MESSAGES, c was never
 * accepted, and c >= h - COUNTER_WINDOW_SIZE.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "replay.h"
#include "test.h"

#define W ((uint64_t)COUNTER_WINDOW_SIZE)
#define BITS ((uint64_t)COUNTER_BITS_TOTAL)
#define REJECT ((uint64_t)REJECT_AFTER_MESSAGES)

static struct replay_counter rc;
static unsigned step;

/* T(counter, verdict): one validate call must give verdict. */
static void t_expect(unsigned line, uint64_t c, bool want)
{
	bool got = replay_counter_validate(&rc, c);

	step++;
	if (got != want) {
		test_failed_checks++;
		fprintf(stderr, "  replay_test.c:%u: step %u: counter %llu: got %s, want %s\n",
			line, step, (unsigned long long)c, got ? "accept" : "reject",
			want ? "accept" : "reject");
	}
}
#define T(c, want) t_expect(__LINE__, (c), (want))

static void fresh(void)
{
	replay_counter_init(&rc);
	step = 0;
}

static void test_in_order_and_duplicates(void)
{
	fresh();
	CHECK(rc.counter == 0);
	T(0, true);			/* counter 0 first */
	CHECK(rc.counter == 1);
	T(0, false);
	T(1, true);
	T(1, false);
	T(9, true);
	CHECK(rc.counter == 10);
	T(8, true);			/* out of order, within the window */
	T(7, true);
	T(7, false);
	T(8, false);
	T(9, false);
	CHECK(rc.counter == 10);	/* older counters don't move it */
	for (uint64_t c = 2; c < 7; c++)
		T(c, true);
	for (uint64_t c = 0; c < 10; c++)
		T(c, false);
	T(10, true);
	CHECK(rc.counter == 11);

	/* In order from 0: each is new, then a replay; counter is h + 1. */
	fresh();
	for (uint64_t c = 0; c < 3 * BITS; c++) {
		T(c, true);
		CHECK_INT(rc.counter, c + 1);
		T(c, false);
		if (c > W)
			T(c - W - 1, false);
	}
}

/* h is the highest: h - W is the oldest acceptable, h - W - 1 is too old. */
static void test_window_edge(void)
{
	const uint64_t h = W + 100;

	fresh();
	T(h, true);
	T(h - W - 1, false);
	T(h - W, true);
	T(h - W, false);
	T(h - W + 1, true);
	T(0, false);
	T(99, false);
	T(h - 1, true);

	/* The edge moves with h: one step more and h - W is too old. */
	T(h + 1, true);
	T(h - W, false);
	T(h + 1 - W, false);		/* was h - W + 1, accepted above */
	T(h + 2 - W, true);

	/* Every counter from the edge to h, exactly once. */
	fresh();
	T(3 * W, true);
	for (uint64_t c = 2 * W - 1; c < 3 * W; c++)
		T(c, c >= 2 * W);
	for (uint64_t c = 2 * W - 1; c <= 3 * W; c++)
		T(c, false);

	/* Below the window from the start: a first counter of 2^40 makes
	 * 0 too old at once, 2^40 - W not. */
	fresh();
	T(1ULL << 40, true);
	T(0, false);
	T((1ULL << 40) - W - 1, false);
	T((1ULL << 40) - W, true);

	/* A first counter less than W: everything down to 0 is still new. */
	fresh();
	T(5000, true);
	T(0, true);
	T(4999, true);
	T(0, false);
}

/* Fill the whole window, jump by `jump`, and check the ring was cleared
 * exactly: every counter now in the window and never seen is accepted. */
static void jump_case(uint64_t base, uint64_t jump)
{
	const uint64_t h = base + W, nh = h + jump;

	fresh();
	for (uint64_t c = base; c <= h; c++)
		T(c, true);
	T(nh, true);
	CHECK(rc.counter == nh + 1);
	for (uint64_t c = nh >= W ? nh - W : 0; c < nh; c++)
		T(c, c > h);	/* old counters stay replays */
	for (uint64_t c = nh >= W ? nh - W : 0; c <= nh; c++)
		T(c, false);
	if (nh >= W + 1)
		T(nh - W - 1, false);
}

static void test_jumps(void)
{
	static const uint64_t jumps[] = {
		1, 2, 63, 64, 65, 127, 128, W - 1, W, W + 1, BITS - 64, BITS - 1,
		BITS, BITS + 1, BITS + 64, 2 * BITS, 3 * BITS + 17, 1ULL << 32,
	};
	static const uint64_t bases[] = { 0, 1, 63, 64, 1000, 1ULL << 33 };

	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
		for (size_t j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++)
			jump_case(bases[b], jumps[j]);

	/* A jump of exactly (or a multiple of) the bitmap size from a lone
	 * counter: the new counter shares the old one's bit, and must still
	 * be new; so must everything between, down to the window's edge. */
	static const uint64_t lone[] = { 0, 1, 63, 64, 100, 8191 };

	for (size_t i = 0; i < sizeof(lone) / sizeof(lone[0]); i++)
		for (uint64_t k = 1; k <= 3; k++) {
			const uint64_t nh = lone[i] + k * BITS;

			fresh();
			T(lone[i], true);
			T(nh, true);
			T(nh, false);
			T(lone[i], false);
			for (uint64_t c = nh - W; c < nh; c += 7)
				T(c, true);
			T(nh - W - 1, false);
		}
}

static void test_near_reject_after_messages(void)
{
	fresh();
	T(REJECT, false);
	T(REJECT + 1, false);
	T(UINT64_MAX, false);
	T(UINT64_MAX - 1, false);
	CHECK(rc.counter == 0);		/* a rejected counter changes nothing */
	T(REJECT - 1, true);
	CHECK(rc.counter == REJECT);
	T(REJECT - 1, false);
	T(REJECT, false);
	T(REJECT - 2, true);
	T(REJECT - 1 - W, true);
	T(REJECT - 2 - W, false);
	T(0, false);
	T(UINT64_MAX, false);

	/* Walking up to the limit one by one. */
	fresh();
	for (uint64_t c = REJECT - 200; c < REJECT; c++)
		T(c, true);
	for (uint64_t c = REJECT - 200; c < REJECT + 200; c++)
		T(c, false);
}

/* ---- randomized comparison ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The reference: every accepted counter, in an open-addressing set. */
#define SET_BITS 17
#define SET_SIZE (1u << SET_BITS)
static uint64_t set_key[SET_SIZE];
static bool set_used[SET_SIZE];
static size_t set_count;

static void set_clear(void)
{
	memset(set_used, 0, sizeof(set_used));
	set_count = 0;
}

/* Inserts c; returns false if it was already there. */
static bool set_add(uint64_t c)
{
	size_t i = (size_t)((c * 0x9e3779b97f4a7c15ULL) >> (64 - SET_BITS));

	while (set_used[i]) {
		if (set_key[i] == c)
			return false;
		i = (i + 1) & (SET_SIZE - 1);
	}
	if (set_count + 1 >= SET_SIZE / 2)
		abort();	/* the run is sized to stay below this */
	set_used[i] = true;
	set_key[i] = c;
	set_count++;
	return true;
}

static bool ref_have;
static uint64_t ref_highest;

static bool ref_validate(uint64_t c)
{
	if (c >= REJECT)
		return false;
	if (ref_have && c < ref_highest && ref_highest - c > W)
		return false;
	if (!set_add(c))
		return false;
	if (!ref_have || c > ref_highest)
		ref_highest = c;
	ref_have = true;
	return true;
}

static uint64_t recent[256];

static uint64_t back(uint64_t h, uint64_t d)
{
	return d <= h ? h - d : 0;
}

/* The next counter to try: mostly near the highest, around the window's
 * edge, repeats of recent ones, and jumps of word and bitmap multiples;
 * near_top adds counters at and past REJECT_AFTER_MESSAGES. */
static uint64_t next_counter(uint64_t base, unsigned n, bool near_top)
{
	uint64_t h = ref_have ? ref_highest : base, r = rng() % 1000, c;

	if (r < 350)
		c = h + 1 + rng() % 4;
	else if (r < 550)
		c = back(h, rng() % (W + 300));
	else if (r < 650)
		c = back(h, W + 2 - rng() % 5);
	else if (r < 800)
		c = recent[rng() % 256];
	else if (r < 900)
		c = h + rng() % (3 * BITS);
	else if (r < 970)
		c = back(h + (rng() % 4) * BITS + (rng() % 3) * 64, 64);
	else if (r < 990)
		c = back(h, (rng() % 3) * 64) + rng() % 64;
	else if (near_top)
		c = REJECT - 2 + rng() % 4;
	else
		c = rng() % (h + 1);	/* anywhere older */
	recent[n % 256] = c;
	return c;
}

static void random_run(uint64_t base, unsigned ops, bool near_top)
{
	unsigned accepted = 0, mismatches = 0;

	fresh();
	set_clear();
	ref_have = false;
	for (unsigned i = 0; i < 256; i++)
		recent[i] = base + i;
	for (unsigned i = 0; i < ops; i++) {
		uint64_t c = next_counter(base, i, near_top);
		bool want = ref_validate(c), got = replay_counter_validate(&rc, c);

		accepted += want;
		if (got != want && mismatches++ < 5) {
			test_failed_checks++;
			fprintf(stderr, "  base %llu op %u: counter %llu (highest %llu): got %d, want %d\n",
				(unsigned long long)base, i, (unsigned long long)c,
				(unsigned long long)ref_highest, got, want);
		}
		if (ref_have && rc.counter != ref_highest + 1 && mismatches++ < 5) {
			test_failed_checks++;
			fprintf(stderr, "  base %llu op %u: r->counter %llu, want %llu\n",
				(unsigned long long)base, i, (unsigned long long)rc.counter,
				(unsigned long long)ref_highest + 1);
		}
	}
	fprintf(stderr, "  base %llu: %u counters, %u accepted, highest %llu\n",
		(unsigned long long)base, ops, accepted, (unsigned long long)ref_highest);
	if (near_top) {
		/* It reached the limit and stopped there. */
		CHECK(ref_highest == REJECT - 1);
	} else {
		/* The mix exercises both verdicts a lot. */
		CHECK(accepted > ops / 4);
		CHECK(accepted < ops - ops / 8);
	}
}

static void test_random_against_reference(void)
{
	rng_state = 0x7265706c6179ULL;	/* fixed: failures reproduce */
	random_run(0, 60000, false);
	random_run(1ULL << 32, 60000, false);
	random_run((1ULL << 62) + 12345, 60000, false);
	random_run(REJECT - 40 * BITS, 20000, true);	/* runs into the limit */
}

int main(void)
{
	RUN(test_in_order_and_duplicates);
	RUN(test_window_edge);
	RUN(test_jumps);
	RUN(test_near_reject_after_messages);
	RUN(test_random_against_reference);
	TEST_EXIT();
}
