/*
 * replay.c - the replay window of replay.h for transport-data counters
 * (whitepaper 5.4.6), a bitmap in the manner of RFC 6479.
 *
 * Relies on messages.h for COUNTER_BITS_TOTAL (the bitmap, a power of two
 * and a multiple of 64), COUNTER_REDUNDANT_BITS and COUNTER_WINDOW_SIZE.
 *
 * Counter c is bit c % 64 of word (c / 64) % WORDS of a ring of WORDS
 * 64-bit words.  When the highest counter moves into a later word, the
 * words passed over are cleared (at most the whole ring, however far the
 * jump), so a ring slot only ever holds bits of the latest absolute word
 * that maps to it.  That costs the window one word of slack: the ring
 * covers COUNTER_BITS_TOTAL bits, but the word holding the highest counter
 * is only partly behind it, so COUNTER_WINDOW_SIZE =
 * COUNTER_BITS_TOTAL - COUNTER_REDUNDANT_BITS counters behind it are
 * always remembered exactly.
 *
 * The boundary, with h the highest counter accepted so far
 * (r->counter == h + 1):
 *   accepted if new and h - COUNTER_WINDOW_SIZE <= c, so the oldest counter
 *   that can still be accepted is exactly COUNTER_WINDOW_SIZE behind h;
 *   c == h - COUNTER_WINDOW_SIZE - 1 and anything older is rejected.
 * This is the Linux driver's window.  Within it, h's word and c's word are
 * at most (COUNTER_WINDOW_SIZE + 63) / 64 = WORDS - 1 apart, so they never
 * share a ring slot.
 *
 * Concurrency: none inside; the caller serializes calls for one keypair.
 */
#include <string.h>

#include "replay.h"

enum {
	REPLAY_WORDS = COUNTER_BITS_TOTAL / 64,
};

_Static_assert((REPLAY_WORDS & (REPLAY_WORDS - 1)) == 0, "ring size is a power of two");
_Static_assert(COUNTER_BITS_TOTAL % 64 == 0, "bitmap is whole words");
_Static_assert(COUNTER_REDUNDANT_BITS == 64, "one word of slack");
_Static_assert((COUNTER_WINDOW_SIZE + 63) / 64 < REPLAY_WORDS,
	       "window and the highest counter's word fit in the ring");

void replay_counter_init(struct replay_counter *r)
{
	r->counter = 0;
	memset(r->backtrack, 0, sizeof(r->backtrack));
}

bool replay_counter_validate(struct replay_counter *r, uint64_t their_counter)
{
	uint64_t word, bit;

	/* Also keeps their_counter + 1 and + COUNTER_WINDOW_SIZE from
	 * overflowing below. */
	if (their_counter >= REJECT_AFTER_MESSAGES)
		return false;

	if (their_counter >= r->counter) {
		/* A new highest.  Clear the words between the old highest's
		 * word (exclusive) and the new one's (inclusive); with none
		 * seen yet the ring is still all zeros from init. */
		if (r->counter) {
			uint64_t old_word = (r->counter - 1) / 64;
			uint64_t jump = their_counter / 64 - old_word;

			if (jump > REPLAY_WORDS)
				jump = REPLAY_WORDS;
			for (uint64_t i = 1; i <= jump; i++)
				r->backtrack[(old_word + i) & (REPLAY_WORDS - 1)] = 0;
		}
		r->counter = their_counter + 1;
	} else if (their_counter + COUNTER_WINDOW_SIZE < r->counter - 1) {
		return false;	/* older than the window remembers */
	}

	word = (their_counter / 64) & (REPLAY_WORDS - 1);
	bit = 1ULL << (their_counter % 64);
	if (r->backtrack[word] & bit)
		return false;	/* a replay */
	r->backtrack[word] |= bit;
	return true;
}
