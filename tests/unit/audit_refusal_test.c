/*
 * audit_refusal_test.c - refused requests in the audit log (audit.h,
 * audit_refusal.c): the line names who, how, from where, what and why and
 * never a token or query; a flood from one source, or from many, writes a
 * bounded number of lines and then one "suppressed N" line that accounts
 * for every line not written.
 */
#include "audit.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *buf;
static size_t len;
static FILE *out;

static void reset(void)
{
	if (out)
		fclose(out);
	free(buf);
	buf = NULL;
	len = 0;
	out = open_memstream(&buf, &len);
	audit_set_output(out);
	audit_refusal_reset();
}

static const char *text(void)
{
	fflush(out);
	return buf ? buf : "";
}

static size_t count(const char *needle)
{
	size_t n = 0;

	for (const char *p = text(); (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The sum of N in every "suppressed N refusal line" of the output. */
static unsigned long suppressed_total(void)
{
	unsigned long n = 0;

	for (const char *p = text(); (p = strstr(p, "suppressed ")); p++)
		n += strtoul(p + strlen("suppressed "), NULL, 10);
	return n;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void test_line(void)
{
	struct actor viewer = { .kind = ACTOR_USER, .role = ROLE_VIEWER, .name = "vera",
				.via = "web" };

	reset();
	audit_refusal(AUDIT_AUTH_REFUSED, NULL, NULL, "192.0.2.7", "GET", "/v1/peers", 401,
		      "no session or API token");
	CHECK(strstr(text(), "\"event\":\"auth.refused\",\"actor\":\"anonymous\",\"via\":\"web\","
			     "\"ok\":false,\"error\":\"no session or API token (GET /v1/peers from "
			     "192.0.2.7, 401)\"") != NULL);
	audit_refusal(AUDIT_REQUEST_REFUSED, NULL, &viewer, "192.0.2.7", "POST", "/v1/peers",
		      403, "needs the admin role");
	CHECK(strstr(text(), "\"actor\":\"vera\",\"via\":\"web\"") != NULL);
	/* A subject (the user a sign-in named) goes in "peer". */
	audit_refusal(AUDIT_LOGIN_FAILED, "alice", NULL, "192.0.2.7", "POST", "/v1/login", 401,
		      "wrong password");
	CHECK(strstr(text(), "\"event\":\"session.login_failed\",\"peer\":\"alice\","
			     "\"actor\":\"anonymous\"") != NULL);
	/* No request line yet (a slow client), no source. */
	audit_refusal(AUDIT_REQUEST_TIMEOUT, NULL, NULL, NULL, NULL, NULL, 0, "cut off");
	CHECK(strstr(text(), "\"error\":\"cut off (from unknown)\"") != NULL);
}

static void test_tokens_and_queries_never_written(void)
{
	const char *link = "Zq3vVt0AbCdEfGhIjKlMnO", *tok = "zwg_s3cr3tT0kenValue";
	char path[256], longpath[600];

	reset();
	audit_refusal(AUDIT_REQUEST_REFUSED, NULL, NULL, "192.0.2.7", "GET", "/l/Zq3vVt0AbCdEfGhIjKlMnO",
		      404, "no such link");
	snprintf(path, sizeof(path), "/v1/links/%s/extra", link);
	audit_refusal(AUDIT_REQUEST_REFUSED, NULL, NULL, "192.0.2.7", "GET", path, 404, "x");
	snprintf(path, sizeof(path), "/v1/peers/%s", tok);
	audit_refusal(AUDIT_REQUEST_REFUSED, NULL, NULL, "192.0.2.7", "GET", path, 404, "x");
	snprintf(path, sizeof(path), "/v1/peers?token=%s", tok);
	audit_refusal(AUDIT_REQUEST_REFUSED, NULL, NULL, "192.0.2.7", "GET", path, 404, "x");
	CHECK(!strstr(text(), link));
	CHECK(!strstr(text(), "s3cr3t"));
	CHECK(!strstr(text(), "token="));
	CHECK(strstr(text(), "GET /l/*** from") != NULL);
	CHECK(strstr(text(), "GET /v1/links/***/extra from") != NULL);
	CHECK(strstr(text(), "GET /v1/peers/*** from") != NULL);
	/* Control bytes, quotes and non-ASCII are '?'; a long path is cut. */
	audit_refusal(AUDIT_REQUEST_REFUSED, NULL, NULL, "192.0.2.7", "GET",
		      "/assets/a\x01\"b\\\xc3\xa9", 404, "x");
	CHECK(strstr(text(), "GET /assets/a??b??? from") != NULL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	audit_refusal(AUDIT_REQUEST_TOO_LARGE, NULL, NULL, "192.0.2.7", "GET", longpath, 414, "x");
	CHECK(strstr(text(), "aaa... from 192.0.2.7, 414)") != NULL);
	CHECK(count("\"event\":") == 6);
}

static void test_flood_from_one_source(void)
{
	reset();
	for (int i = 0; i < 100; i++)
		audit_refusal(AUDIT_AUTH_REFUSED, NULL, NULL, "198.51.100.1", "GET", "/v1/peers",
			      401, "no session or API token");
	size_t written = count("GET /v1/peers from 198.51.100.1");
	/* The burst, and at most a line or two refilled meanwhile. */
	CHECK(written >= AUDIT_REFUSAL_BURST && written <= AUDIT_REFUSAL_BURST + 2);
	/* Another source is not locked out by the first. */
	audit_refusal(AUDIT_AUTH_REFUSED, NULL, NULL, "198.51.100.2", "GET", "/v1/peers", 401, "x");
	CHECK(count("from 198.51.100.2") == 1);
	/* A second on, the next line comes after one that counts the rest. */
	pause_ms(1100);
	audit_refusal(AUDIT_AUTH_REFUSED, NULL, NULL, "198.51.100.1", "GET", "/v1/peers", 401,
		      "no session or API token");
	CHECK(count("\"event\":\"audit.suppressed\"") >= 1);
	CHECK(strstr(text(), "refusal lines from 198.51.100.1") != NULL);
	CHECK_INT(count("GET /v1/peers from 198.51.100.1") + suppressed_total(), 101);
}

static void test_flush_writes_the_count(void)
{
	reset();
	for (int i = 0; i < AUDIT_REFUSAL_BURST + 10; i++)
		audit_refusal(AUDIT_REQUEST_TIMEOUT, NULL, NULL, "uid 0", NULL, NULL, 0, "cut off");
	audit_refusal_flush();	/* no token yet: nothing */
	size_t before = count("\"event\":\"audit.suppressed\"");
	pause_ms(1100);
	audit_refusal_flush();
	CHECK(count("\"event\":\"audit.suppressed\"") == before + 1);
	CHECK(strstr(text(), "refusal lines from uid 0") != NULL);
	CHECK_INT(count("cut off (from uid 0)") + suppressed_total(), AUDIT_REFUSAL_BURST + 10);
	/* Said once. */
	pause_ms(1100);
	audit_refusal_flush();
	CHECK(count("\"event\":\"audit.suppressed\"") == before + 1);
}

static void test_flood_from_many_sources(void)
{
	char src[32];

	reset();
	/* 1000 sources (an IPv6 /64 has plenty): all together are bounded
	 * too, and the sources the table forgets are still counted. */
	for (int i = 0; i < 1000; i++) {
		snprintf(src, sizeof(src), "2001:db8::%x", i);
		for (int k = 0; k < 3; k++)
			audit_refusal(AUDIT_AUTH_REFUSED, NULL, NULL, src, "GET", "/", 401, "x");
	}
	size_t lines = count("\"event\":");
	CHECK(lines <= AUDIT_REFUSAL_ALL_BURST + 5);
	CHECK(lines >= AUDIT_REFUSAL_ALL_BURST / 2);
	pause_ms(1100);
	audit_refusal(AUDIT_AUTH_REFUSED, NULL, NULL, "2001:db8::ffff", "GET", "/", 401, "x");
	audit_refusal_flush();
	/* Every refusal is a line or in a count, apart from those of
	 * sources forgotten while all were over the limit (bounded). */
	CHECK(count("GET / from") + suppressed_total() <= 3001);
	CHECK(count("GET / from 2001:db8::ffff") == 1);
}

static void test_source_text(void)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	char b[64];

	CHECK(!strcmp(audit_source_text(&ss, 0, b, sizeof(b)), "unknown"));
	s4->sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.9", &s4->sin_addr);
	CHECK(!strcmp(audit_source_text(&ss, sizeof(*s4), b, sizeof(b)), "192.0.2.9"));
	memset(&ss, 0, sizeof(ss));
	s6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.10", &s6->sin6_addr);
	CHECK(!strcmp(audit_source_text(&ss, sizeof(*s6), b, sizeof(b)), "192.0.2.10"));
	inet_pton(AF_INET6, "2001:db8::1", &s6->sin6_addr);
	CHECK(!strcmp(audit_source_text(&ss, sizeof(*s6), b, sizeof(b)), "2001:db8::1"));
	ss.ss_family = AF_UNIX;
	CHECK(!strcmp(audit_source_text(&ss, sizeof(ss), b, sizeof(b)), "unknown"));
}

int main(void)
{
	RUN(test_line);
	RUN(test_tokens_and_queries_never_written);
	RUN(test_flood_from_one_source);
	RUN(test_flush_writes_the_count);
	RUN(test_flood_from_many_sources);
	RUN(test_source_text);
	audit_set_output(NULL);
	if (out)
		fclose(out);
	free(buf);
	TEST_EXIT();
}
