/*
 * busypoll.h - how long the event loop keeps polling after packet work
 * before it goes to sleep.
 *
 * A reply through the tunnel (a ping's echo, a TCP ACK) arrives a few tens
 * to a few hundred microseconds after we sent the request.  Sleeping in
 * epoll_wait for it costs a wake-up: on a virtual machine with an idle vCPU
 * that is an IPI and a halt exit, often longer than the wait itself.  So
 * after a round of packet work the loop polls (epoll_wait with timeout 0)
 * for up to a budget, then sleeps as before.
 *
 * The budget adapts to what the traffic does, as the kernel's haltpoll
 * governor does for idle: a gap that a longer poll would have caught
 * (shorter than the maximum) grows the budget to cover it; a poll that
 * ran out with nothing coming within the maximum shrinks it, down to a
 * floor.  The floor is there for the other end of a request: the daemon
 * that just sent the answer keeps its vCPU awake for a moment, so the
 * wake-up of whoever the answer is for does not pay a halt exit either.
 *
 * What polling may cost is capped twice: per round by the maximum, and
 * over time by a credit that refills at 1/BUSY_POLL_SHARE of wall time, so
 * steady traffic with gaps just under the maximum cannot keep a core busy.
 * Polling starts only after packet work, never on an idle device, so an
 * idle daemon sleeps.
 *
 * ZWG_BUSY_POLL_US=N in the environment sets the maximum (0 turns polling
 * off).  Concurrency: none; the device's owner thread uses it.
 */
#ifndef ZWG_BUSYPOLL_H
#define ZWG_BUSYPOLL_H

#include <stdbool.h>
#include <stdint.h>

/* Long enough for a request/response through a peer on the same host or
 * link when its vCPU has to be woken first. */
#define BUSY_POLL_DEFAULT_US 400
#define BUSY_POLL_MAX_US 10000
/* What is always spent after packet work (at most the maximum): a few
 * tens of microseconds, the time the next packet of an exchange takes. */
#define BUSY_POLL_FLOOR_US 50
/* Polling may take at most this share (1/N) of wall time... */
#define BUSY_POLL_SHARE 8
/* ...saved up to this many maximum polls. */
#define BUSY_POLL_CREDIT_POLLS 8

struct busy_poll {
	uint64_t max_ns;	/* 0 = off */
	uint64_t floor_ns;	/* min(BUSY_POLL_FLOOR_US, max) */
	uint64_t budget_ns;	/* how long the next poll may last */
	uint64_t credit_ns;	/* polling time left to spend */
	uint64_t refilled_ns;	/* when credit was last refilled (0 = never) */
};

/* Reads ZWG_BUSY_POLL_US (default BUSY_POLL_DEFAULT_US). */
void busy_poll_init(struct busy_poll *bp);
/* The same with an explicit maximum, in microseconds (tests). */
void busy_poll_init_max(struct busy_poll *bp, unsigned max_us);
/* Packet work just ended at now_ns: how long to poll before sleeping. */
uint64_t busy_poll_begin(struct busy_poll *bp, uint64_t now_ns);
/* The next event came gap_ns after busy_poll_begin, polled_ns of which
 * were spent polling: charges the credit and adapts the budget. */
void busy_poll_end(struct busy_poll *bp, uint64_t gap_ns, uint64_t polled_ns);
/* CLOCK_MONOTONIC in nanoseconds (not protocol time, which tests scale). */
uint64_t busy_poll_now_ns(void);

#endif
