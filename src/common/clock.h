/*
 * clock.h - the one monotonic clock the data plane reads.
 *
 * In test builds (-DZWG_TESTING) the environment variable ZWG_TIME_SCALE=N
 * makes protocol time run N times faster, so the netns tests can watch
 * REKEY_AFTER_TIME and friends pass in seconds.  Production builds have no
 * such knob.
 */
#ifndef ZWG_CLOCK_H
#define ZWG_CLOCK_H

#include <stdint.h>

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL

/* Protocol time: CLOCK_BOOTTIME in nanoseconds (scaled in test builds). */
uint64_t clock_now_ns(void);
/* The time scale (1 in production). */
unsigned clock_scale(void);

#endif
