/*
 * timerheap.c - see timerheap.h.
 */
#include "timerheap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

void timer_init(struct timer *t, timer_fn fn)
{
	t->expires_ns = 0;
	t->slot = SIZE_MAX;
	t->fn = fn;
}

void timer_heap_init(struct timer_heap *h)
{
	h->items = NULL;
	h->len = h->cap = 0;
}

void timer_heap_free(struct timer_heap *h)
{
	for (size_t i = 0; i < h->len; i++)
		h->items[i]->slot = SIZE_MAX;
	free(h->items);
	timer_heap_init(h);
}

int timer_heap_reserve(struct timer_heap *h, size_t n)
{
	size_t want = h->len + n;

	if (want <= h->cap)
		return 0;
	size_t cap = h->cap ? h->cap : 64;
	while (cap < want)
		cap *= 2;
	struct timer **items = realloc(h->items, cap * sizeof(*items));
	if (!items)
		return -ENOMEM;
	h->items = items;
	h->cap = cap;
	return 0;
}

static void place(struct timer_heap *h, size_t i, struct timer *t)
{
	h->items[i] = t;
	t->slot = i;
}

static void sift_up(struct timer_heap *h, size_t i)
{
	struct timer *t = h->items[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->items[parent]->expires_ns <= t->expires_ns)
			break;
		place(h, i, h->items[parent]);
		i = parent;
	}
	place(h, i, t);
}

static void sift_down(struct timer_heap *h, size_t i)
{
	struct timer *t = h->items[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		uint64_t best = t->expires_ns;
		if (l < h->len && h->items[l]->expires_ns < best)
			m = l, best = h->items[l]->expires_ns;
		if (r < h->len && h->items[r]->expires_ns < best)
			m = r;
		if (m == i)
			break;
		place(h, i, h->items[m]);
		i = m;
	}
	place(h, i, t);
}

void timer_mod(struct timer_heap *h, struct timer *t, uint64_t expires_ns)
{
	if (timer_pending(t)) {
		uint64_t old = t->expires_ns;
		t->expires_ns = expires_ns;
		if (expires_ns < old)
			sift_up(h, t->slot);
		else
			sift_down(h, t->slot);
		return;
	}
	if (h->len == h->cap && timer_heap_reserve(h, 1) < 0)
		abort();	/* callers reserve room; reaching here is a bug */
	t->expires_ns = expires_ns;
	place(h, h->len++, t);
	sift_up(h, t->slot);
}

void timer_del(struct timer_heap *h, struct timer *t)
{
	size_t i = t->slot;

	if (i == SIZE_MAX)
		return;
	t->slot = SIZE_MAX;
	h->len--;
	if (i == h->len)
		return;
	struct timer *last = h->items[h->len];
	place(h, i, last);
	if (i > 0 && h->items[(i - 1) / 2]->expires_ns > last->expires_ns)
		sift_up(h, i);
	else
		sift_down(h, i);
}

uint64_t timer_heap_next(const struct timer_heap *h)
{
	return h->len ? h->items[0]->expires_ns : UINT64_MAX;
}

void timer_heap_run(struct timer_heap *h, uint64_t now_ns)
{
	while (h->len && h->items[0]->expires_ns <= now_ns) {
		struct timer *t = h->items[0];
		timer_del(h, t);
		t->fn(t, now_ns);
	}
}
