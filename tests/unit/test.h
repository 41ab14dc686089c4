/*
 * test.h - the unit-test harness: one program per module, each TEST a
 * function; CHECK records a failure and goes on, so one run shows every
 * broken assertion.  Each test prints "PASS name" or "FAIL name"; tests/run.sh
 * counts those lines.  The program exits 1 if any test failed.
 */
#ifndef ZWG_TEST_H
#define ZWG_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_checks;
static int test_passed, test_failed;

#define CHECK(cond) do { \
	if (!(cond)) { \
		test_failed_checks++; \
		fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define CHECK_MEM(a, b, n) do { \
	if (memcmp((a), (b), (n)) != 0) { \
		test_failed_checks++; \
		fprintf(stderr, "  %s:%d: CHECK_MEM failed: %s == %s (%zu bytes)\n", \
			__FILE__, __LINE__, #a, #b, (size_t)(n)); \
	} \
} while (0)

#define CHECK_INT(a, b) do { \
	long long test_a_ = (long long)(a), test_b_ = (long long)(b); \
	if (test_a_ != test_b_) { \
		test_failed_checks++; \
		fprintf(stderr, "  %s:%d: CHECK_INT failed: %s == %s (%lld != %lld)\n", \
			__FILE__, __LINE__, #a, #b, test_a_, test_b_); \
	} \
} while (0)

static inline void test_run(const char *name, void (*fn)(void))
{
	int before = test_failed_checks;

	fn();
	if (test_failed_checks == before) {
		test_passed++;
		printf("PASS %s\n", name);
	} else {
		test_failed++;
		printf("FAIL %s\n", name);
	}
	fflush(stdout);
}

#define RUN(fn) test_run(#fn, fn)
#define TEST_EXIT() return test_failed ? 1 : 0

/* Decodes a hex string (test vectors) into buf; returns the byte count. */
static inline size_t test_unhex(unsigned char *buf, size_t cap, const char *hex)
{
	size_t n = 0;

	while (hex[0] && hex[1] && n < cap) {
		unsigned v;
		if (sscanf(hex, "%2x", &v) != 1)
			abort();
		buf[n++] = (unsigned char)v;
		hex += 2;
	}
	return n;
}

#endif
