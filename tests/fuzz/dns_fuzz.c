/*
 * dns_fuzz.c - fuzz target for the DNS relay's parsers (src/server/dns.c):
 * the query check, the answer match, resolv.conf and the DNS list check.
 * The input is split in two at a point its first two bytes choose: a
 * "query" and an "answer".  Besides "does not crash, reads nothing out of
 * bounds":
 *   - a plausible query is 12..4096 bytes, QR clear, opcode QUERY, and its
 *     question section (at most 259 bytes) lies inside it;
 *   - a match implies what the relay relies on: same id, QR set, the same
 *     question bytes (checked against a plain reference);
 *   - the answer built from a plausible query matches it; with any bit of
 *     its id flipped, or QR cleared, it does not; a query never answers
 *     itself;
 *   - resolv.conf parsing yields at most max addresses, each IPv4 or IPv6
 *     on port 53.
 * A broken invariant aborts, which libFuzzer and fuzz_main.c report.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "dns_fuzz: invariant broken: %s\n", what);
	abort();
}

/* The reference for dns_answer_matches, written the plain way. */
static bool reference_match(const uint8_t *q, size_t qn, const uint8_t *a, size_t an)
{
	size_t ql = dns_question_len(q, qn);

	return ql && an >= 12 + ql && q[0] == a[0] && q[1] == a[1] && (a[2] & 0x80) &&
	       ((a[2] >> 3) & 15) == ((q[2] >> 3) & 15) && a[4] == 0 && a[5] == 1 &&
	       !memcmp(q + 12, a + 12, ql);
}

static void check_query(const uint8_t *q, size_t n)
{
	static uint8_t a[DNS_MAX_QUERY];
	size_t ql = dns_question_len(q, n);
	int bit;

	if (ql && (ql > DNS_MAX_NAME + 4 || ql < 5 || 12 + ql > n))
		fail("a question section outside the message or too long");
	if (!dns_query_plausible(q, n))
		return;
	if (n < 12 || n > DNS_MAX_QUERY || (q[2] & 0x80) || ((q[2] >> 3) & 15) || !ql)
		fail("an implausible query passed");
	if (dns_answer_matches(q, n, q, n))
		fail("a query answers itself");
	memcpy(a, q, 12 + ql);
	a[2] |= 0x80;
	if (!dns_answer_matches(q, n, a, 12 + ql))
		fail("the echo of a plausible query does not match it");
	for (bit = 0; bit < 16; bit++) {
		a[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		if (dns_answer_matches(q, n, a, 12 + ql))
			fail("an answer with another id matches");
		a[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
	a[2] &= 0x7f;
	if (dns_answer_matches(q, n, a, 12 + ql))
		fail("an answer without QR matches");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union dns_addr ups[DNS_UPSTREAMS_MAX];
	size_t split, n, i;
	char *text;

	check_query(data, size);
	split = size >= 2 ? (size_t)(data[0] << 8 | data[1]) % (size - 1) : 0;
	if (size >= 2) {
		const uint8_t *q = data + 2, *a = data + 2 + split;
		size_t qn = split, an = size - 2 - split;
		bool m = dns_answer_matches(q, qn, a, an);

		check_query(q, qn);
		if (m != reference_match(q, qn, a, an))
			fail("dns_answer_matches disagrees with the reference");
	}
	/* as text: resolv.conf and a DNS list */
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	n = dns_resolv_conf_parse(text, ups, DNS_UPSTREAMS_MAX);
	if (n > DNS_UPSTREAMS_MAX)
		fail("more upstreams than asked for");
	for (i = 0; i < n; i++) {
		if (ups[i].sa.sa_family == AF_INET ? ups[i].in.sin_port != htons(53) :
		    ups[i].sa.sa_family == AF_INET6 ? ups[i].in6.sin6_port != htons(53) : true)
			fail("an upstream that is not IPv4/IPv6 port 53");
	}
	(void)dns_list_names(text, "10.13.13.1");
	(void)dns_list_names("10.13.13.1, fd00::1", text);
	free(text);
	return 0;
}
