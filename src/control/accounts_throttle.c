/*
 * accounts_throttle.c - login throttling, in memory: two tables of
 * failure counts, one keyed by the user name tried (known or not, so the
 * throttle tells nothing about which names exist) and one by the source
 * address (an IPv6 source by its /64, as one host usually has the whole
 * /64).  After ACCOUNTS_THROTTLE_FREE failures in a row a key waits 1 s
 * before its next attempt, then 2, 4, ... up to ACCOUNTS_THROTTLE_MAX_DELAY.
 * A success clears the name's count but not the source's (an attacker
 * with one good account must not reset the count of his source by
 * signing in to it between guesses).  A key forgets after
 * ACCOUNTS_THROTTLE_FORGET without a failure.
 *
 * The tables have ACC_THROTTLE_SLOTS each; when full, the slot that is
 * not waiting and failed longest ago is reused, else the oldest of all.
 * Every function here runs with acc->lock held.  Relies on libc only.
 */
#include "accounts_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void acc_throttle_source_key(const char *source, char *key, size_t len)
{
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];

	if (!source || !*source) {
		snprintf(key, len, "unknown");
		return;
	}
	if (inet_pton(AF_INET6, source, &a6) == 1 && !IN6_IS_ADDR_V4MAPPED(&a6)) {
		memset(a6.s6_addr + 8, 0, 8);
		inet_ntop(AF_INET6, &a6, text, sizeof(text));
		snprintf(key, len, "%s/64", text);
		return;
	}
	snprintf(key, len, "%s", source);
}

static struct acc_throttle_entry *find(struct acc_throttle_entry *t, const char *key,
				       int64_t now, bool create)
{
	struct acc_throttle_entry *victim = NULL, *free_slot = NULL;
	size_t i;

	for (i = 0; i < ACC_THROTTLE_SLOTS; i++) {
		struct acc_throttle_entry *x = &t[i];

		if (!x->key[0]) {
			if (!free_slot)
				free_slot = x;
			continue;
		}
		if (now - x->last_failure > ACCOUNTS_THROTTLE_FORGET) {
			memset(x, 0, sizeof(*x));	/* forgotten */
			if (!free_slot)
				free_slot = x;
			continue;
		}
		if (!strcmp(x->key, key))
			return x;
		/* Prefer a slot not waiting; among equals the stalest. */
		if (!victim || (victim->until > now && x->until <= now) ||
		    ((victim->until > now) == (x->until > now) &&
		     x->last_failure < victim->last_failure))
			victim = x;
	}
	if (!create)
		return NULL;
	if (!free_slot)
		free_slot = victim;
	memset(free_slot, 0, sizeof(*free_slot));
	snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
	return free_slot;
}

static int64_t wait_of(struct acc_throttle_entry *t, const char *key, int64_t now)
{
	struct acc_throttle_entry *x = find(t, key, now, false);

	return x && x->until > now ? x->until - now : 0;
}

/* The name table's key: never "" (a free slot), even for an empty name. */
static void name_key(const char *name, char key[ACC_THROTTLE_KEY_MAX])
{
	snprintf(key, ACC_THROTTLE_KEY_MAX, "u:%s", name);
}

int64_t acc_throttle_wait(struct accounts *acc, const char *name, const char *source_key,
			  int64_t now)
{
	char k[ACC_THROTTLE_KEY_MAX];
	int64_t a, b;

	name_key(name, k);
	a = wait_of(acc->by_name, k, now);
	b = wait_of(acc->by_source, source_key, now);
	return a > b ? a : b;
}

static void fail(struct acc_throttle_entry *t, const char *key, int64_t now)
{
	struct acc_throttle_entry *x = find(t, key, now, true);
	int64_t delay = 1;
	unsigned i;

	x->failures++;
	x->last_failure = now;
	if (x->failures < ACCOUNTS_THROTTLE_FREE)
		return;
	for (i = ACCOUNTS_THROTTLE_FREE; i < x->failures && delay < ACCOUNTS_THROTTLE_MAX_DELAY; i++)
		delay *= 2;
	if (delay > ACCOUNTS_THROTTLE_MAX_DELAY)
		delay = ACCOUNTS_THROTTLE_MAX_DELAY;
	x->until = now + delay;
}

void acc_throttle_fail(struct accounts *acc, const char *name, const char *source_key,
		       int64_t now)
{
	char k[ACC_THROTTLE_KEY_MAX];

	name_key(name, k);
	fail(acc->by_name, k, now);
	fail(acc->by_source, source_key, now);
}

void acc_throttle_success(struct accounts *acc, const char *name)
{
	char k[ACC_THROTTLE_KEY_MAX];
	size_t i;

	name_key(name, k);
	for (i = 0; i < ACC_THROTTLE_SLOTS; i++)
		if (!strcmp(acc->by_name[i].key, k))
			memset(&acc->by_name[i], 0, sizeof(acc->by_name[i]));
}
