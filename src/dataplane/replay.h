/*
 * replay.h - the sliding replay window for transport-data counters
 * (RFC 6479 style; whitepaper 5.4.6).  Window of COUNTER_WINDOW_SIZE
 * (8,128) packets, as the Linux driver.
 */
#ifndef ZWG_REPLAY_H
#define ZWG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include "messages.h"

struct replay_counter {
	uint64_t counter;	/* highest counter seen + 1 (0 = none seen) */
	uint64_t backtrack[COUNTER_BITS_TOTAL / 64];
};

void replay_counter_init(struct replay_counter *r);
/* Accepts their_counter once: true if it is new and inside the window (and
 * records it), false for a replay, a counter too old for the window, or a
 * counter >= REJECT_AFTER_MESSAGES.  Call only after the packet authenticated. */
bool replay_counter_validate(struct replay_counter *r, uint64_t their_counter)
	__attribute__((warn_unused_result));

#endif
