/*
 * clock.c - protocol time.  See clock.h for the test-only time scale.
 */
#include "clock.h"

#include <stdlib.h>
#include <time.h>

#ifdef ZWG_TESTING
static unsigned scale;
static uint64_t origin;

static uint64_t raw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

unsigned clock_scale(void)
{
	if (!scale) {
		const char *s = getenv("ZWG_TIME_SCALE");
		long v = s ? strtol(s, NULL, 10) : 1;
		origin = raw_now();
		scale = (v >= 1 && v <= 1000) ? (unsigned)v : 1;
	}
	return scale;
}

uint64_t clock_now_ns(void)
{
	unsigned k = clock_scale();
	uint64_t now = raw_now();

	/* Time before the first call runs at normal speed. */
	return origin + (now - origin) * k;
}
#else
unsigned clock_scale(void)
{
	return 1;
}

uint64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}
#endif
