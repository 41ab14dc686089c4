/*
 * timerheap.h - a binary min-heap of one-shot timers keyed by deadline
 * (protocol nanoseconds).  Each timer knows its heap slot, so modify and
 * delete are O(log n) and a timer embedded in a peer costs no allocation.
 * The heap array grows on the control path (timer_heap_reserve) only.
 * Concurrency: none; the device's owner thread uses it.
 */
#ifndef ZWG_TIMERHEAP_H
#define ZWG_TIMERHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct timer;
typedef void (*timer_fn)(struct timer *t, uint64_t now_ns);

struct timer {
	uint64_t expires_ns;
	size_t slot;		/* index in heap, SIZE_MAX if not pending */
	timer_fn fn;
};

struct timer_heap {
	struct timer **items;
	size_t len, cap;
};

void timer_init(struct timer *t, timer_fn fn);
static inline bool timer_pending(const struct timer *t) { return t->slot != SIZE_MAX; }

void timer_heap_init(struct timer_heap *h);
void timer_heap_free(struct timer_heap *h);
/* Ensures room for n more pending timers: 0 or -ENOMEM. */
int timer_heap_reserve(struct timer_heap *h, size_t n);
/* Arms (or re-arms) t for expires_ns.  Room must have been reserved. */
void timer_mod(struct timer_heap *h, struct timer *t, uint64_t expires_ns);
void timer_del(struct timer_heap *h, struct timer *t);
/* Earliest deadline, or UINT64_MAX if none. */
uint64_t timer_heap_next(const struct timer_heap *h);
/* Runs (after removing) every timer due at now_ns.  Callbacks may arm and
 * delete timers, including themselves. */
void timer_heap_run(struct timer_heap *h, uint64_t now_ns);

#endif
