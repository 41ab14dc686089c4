/*
 * audit_refusal.c - refused requests in the audit log (audit.h,
 * "Refused requests"): the line's text, with the request's path cut, made
 * printable and stripped of tokens, and the per-source rate limit that
 * keeps a flood of refusals from filling the disk.
 *
 * The limit is a token bucket per source (and one for all sources), in
 * thousandths of a line, refilled from the monotonic clock.  Lines over
 * the limit are only counted; the count is written as one line when the
 * source may write again.  Relies on audit_log (audit.c) for the line
 * itself; nothing here is allocated per refusal.
 */
#include "audit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MILLI 1000u
#define PATH_MAX_SHOWN 128
#define SOURCE_MAX 64

struct source_slot {
	char source[SOURCE_MAX];	/* "" = free */
	uint64_t last_ns;		/* the last refill */
	uint64_t tokens;		/* thousandths of a line */
	unsigned long suppressed;	/* lines not written since the last one */
};

/* Guards every field below; taken before audit_log's lock (audit.h). */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct source_slot table[AUDIT_REFUSAL_SOURCES];
static uint64_t all_tokens = (uint64_t)AUDIT_REFUSAL_ALL_BURST * MILLI, all_last_ns;
static unsigned long lost;	/* counts of evicted slots that could not be written */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void refill(uint64_t *tokens, uint64_t *last, uint64_t now, unsigned rate, unsigned burst)
{
	/* rate lines a second: rate * MILLI thousandths per 1e9 ns. */
	uint64_t add = (now - *last) * rate / 1000000u;

	*tokens += add;
	if (*tokens > (uint64_t)burst * MILLI)
		*tokens = (uint64_t)burst * MILLI;
	*last = now;
}

static const struct actor system_audit = { .kind = ACTOR_SYSTEM, .role = ROLE_ADMIN,
					   .name = "audit", .via = "audit" };

static void write_suppressed(const char *source, unsigned long n)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "suppressed %lu refusal line%s from %s (more than %d a "
		 "second)", n, n == 1 ? "" : "s", source, AUDIT_REFUSAL_RATE);
	audit_log(AUDIT_SUPPRESSED, NULL, &system_audit, false, msg);
}

/*
 * Whether a line from source may be written now; *due is set to the count
 * of suppressed lines to report first (0: none).  Takes table_lock.
 */
static bool may_write(const char *source, unsigned long *due, char *evicted,
		      unsigned long *evicted_n)
{
	struct source_slot *s = NULL, *lru = NULL;
	uint64_t now = now_ns();
	bool ok;

	*due = 0;
	*evicted_n = 0;
	pthread_mutex_lock(&table_lock);
	if (!all_last_ns)
		all_last_ns = now;
	refill(&all_tokens, &all_last_ns, now, AUDIT_REFUSAL_ALL_RATE, AUDIT_REFUSAL_ALL_BURST);
	for (size_t i = 0; i < AUDIT_REFUSAL_SOURCES && !s; i++) {
		struct source_slot *t = &table[i];

		if (t->source[0] && !strcmp(t->source, source))
			s = t;
		else if (!lru || !t->source[0] || (lru->source[0] && t->last_ns < lru->last_ns))
			lru = t;
	}
	if (!s) {
		s = lru;
		if (s->source[0] && s->suppressed) {
			/* Written below if all may write; counted as lost if not. */
			memcpy(evicted, s->source, SOURCE_MAX);
			*evicted_n = s->suppressed;
		}
		snprintf(s->source, sizeof(s->source), "%s", source);
		s->tokens = (uint64_t)AUDIT_REFUSAL_BURST * MILLI;
		s->last_ns = now;
		s->suppressed = 0;
	}
	refill(&s->tokens, &s->last_ns, now, AUDIT_REFUSAL_RATE, AUDIT_REFUSAL_BURST);
	/* The line, plus a summary line for each count to report. */
	uint64_t need = MILLI * (1 + (s->suppressed ? 1 : 0) + (*evicted_n ? 1 : 0) +
				 (lost ? 1 : 0));
	ok = s->tokens >= MILLI && all_tokens >= need;
	if (ok) {
		s->tokens -= MILLI;
		all_tokens -= need;
		*due = s->suppressed;
		s->suppressed = 0;
		if (lost) {
			*evicted_n += lost;	/* reported with the evicted slot's */
			if (!evicted[0])
				snprintf(evicted, SOURCE_MAX, "%s", "sources no longer tracked");
			lost = 0;
		}
	} else {
		s->suppressed++;
		lost += *evicted_n;
		*evicted_n = 0;
	}
	pthread_mutex_unlock(&table_lock);
	return ok;
}

/* Copies path into out: no query, at most PATH_MAX_SHOWN bytes, printable
 * ASCII only ('?' for the rest), each token segment as "***". */
static void clean_path(const char *path, char *out, size_t outlen)
{
	static const char *const token_after[] = { "/l/", "/v1/links/", NULL };
	size_t o = 0, i = 0, cut = strcspn(path, "?#"), mask_at = SIZE_MAX;

	if (cut > PATH_MAX_SHOWN)
		cut = PATH_MAX_SHOWN;
	for (size_t k = 0; token_after[k]; k++)
		if (!strncmp(path, token_after[k], strlen(token_after[k])))
			mask_at = strlen(token_after[k]);
	while (i < cut && o + 4 < outlen) {
		size_t seg;

		if (path[i] == '/') {
			out[o++] = '/';
			i++;
			continue;
		}
		seg = strcspn(path + i, "/?#");
		if (i + seg > cut)
			seg = cut - i;
		/* The token of /l/T and /v1/links/T is the segment after
		 * the prefix; an API token looks like zwg_... anywhere. */
		if (i == mask_at || !strncmp(path + i, "zwg_", 4)) {
			memcpy(out + o, "***", 3);
			o += 3;
		} else {
			for (size_t k = 0; k < seg && o + 4 < outlen; k++) {
				unsigned char c = (unsigned char)path[i + k];
				out[o++] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
			}
		}
		i += seg;
	}
	if (cut < strcspn(path, "?#") && o + 3 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static void clean_text(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; in && *in && o + 1 < outlen; in++) {
		unsigned char c = (unsigned char)*in;
		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[o] = '\0';
}

void audit_refusal(const char *event, const char *subject, const struct actor *actor,
		   const char *source, const char *method, const char *path, unsigned status,
		   const char *reason)
{
	char src[SOURCE_MAX], evicted[SOURCE_MAX] = "", m[16], p[PATH_MAX_SHOWN + 8], msg[384];
	char st[16] = "";
	unsigned long due, evicted_n;
	struct actor who;
	size_t n;

	clean_text(source && *source ? source : "unknown", src, sizeof(src));
	if (!may_write(src, &due, evicted, &evicted_n))
		return;
	if (evicted_n)
		write_suppressed(evicted, evicted_n);
	if (due)
		write_suppressed(src, due);
	if (actor && actor->kind != ACTOR_NONE && actor->name[0]) {
		who = *actor;
	} else {
		memset(&who, 0, sizeof(who));
		snprintf(who.name, sizeof(who.name), "anonymous");
		who.via = actor && actor->via ? actor->via : "web";
	}
	if (status)
		snprintf(st, sizeof(st), ", %u", status);
	if (method && path) {
		clean_text(method, m, sizeof(m));
		clean_path(path, p, sizeof(p));
		n = (size_t)snprintf(msg, sizeof(msg), "%s (%s %s from %s%s)",
				     reason ? reason : "refused", m, p, src, st);
	} else {
		n = (size_t)snprintf(msg, sizeof(msg), "%s (from %s%s)", reason ? reason : "refused",
				     src, st);
	}
	(void)n;
	audit_log(event, subject, &who, false, msg);
}

void audit_refusal_flush(void)
{
	struct { char source[SOURCE_MAX]; unsigned long n; } due[8];
	size_t n_due = 0;
	uint64_t now = now_ns();

	pthread_mutex_lock(&table_lock);
	if (all_last_ns)
		refill(&all_tokens, &all_last_ns, now, AUDIT_REFUSAL_ALL_RATE,
		       AUDIT_REFUSAL_ALL_BURST);
	for (size_t i = 0; i < AUDIT_REFUSAL_SOURCES && n_due < 8; i++) {
		struct source_slot *s = &table[i];

		if (!s->source[0] || !s->suppressed)
			continue;
		refill(&s->tokens, &s->last_ns, now, AUDIT_REFUSAL_RATE, AUDIT_REFUSAL_BURST);
		if (s->tokens < MILLI || all_tokens < MILLI)
			continue;
		s->tokens -= MILLI;
		all_tokens -= MILLI;
		memcpy(due[n_due].source, s->source, SOURCE_MAX);
		due[n_due++].n = s->suppressed;
		s->suppressed = 0;
	}
	pthread_mutex_unlock(&table_lock);
	for (size_t i = 0; i < n_due; i++)
		write_suppressed(due[i].source, due[i].n);
}

void audit_refusal_reset(void)
{
	pthread_mutex_lock(&table_lock);
	memset(table, 0, sizeof(table));
	all_tokens = (uint64_t)AUDIT_REFUSAL_ALL_BURST * MILLI;
	all_last_ns = 0;
	lost = 0;
	pthread_mutex_unlock(&table_lock);
}

const char *audit_source_text(const struct sockaddr_storage *ss, socklen_t len, char *buf,
			      size_t buflen)
{
	const struct sockaddr_in6 *s6 = (const void *)ss;
	const struct sockaddr_in *s4 = (const void *)ss;
	const char *r = NULL;

	if (len && ss->ss_family == AF_INET)
		r = inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)buflen);
	else if (len && ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		r = inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, (socklen_t)buflen);
	else if (len && ss->ss_family == AF_INET6)
		r = inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)buflen);
	if (!r)
		snprintf(buf, buflen, "unknown");
	return buf;
}
