/*
 * workers.c - see workers.h.
 */
#include "workers.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void chunk_range(const struct workers *w, int chunk, int *start, int *end)
{
	*start = (int)((long)w->total * chunk / w->chunks);
	*end = (int)((long)w->total * (chunk + 1) / w->chunks);
}

struct worker_arg {
	struct workers *w;
	int index;		/* chunk this worker does: index + 1 */
};

static void *worker_main(void *p)
{
	struct worker_arg *a = p;
	struct workers *w = a->w;
	int chunk = a->index + 1;
	unsigned long seen = 0;

	free(a);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stopping && w->generation == seen)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stopping)
			break;
		seen = w->generation;
		workers_fn fn = w->fn;
		void *ctx = w->ctx;
		int start, end;
		chunk_range(w, chunk, &start, &end);
		pthread_mutex_unlock(&w->lock);
		fn(ctx, start, end);
		pthread_mutex_lock(&w->lock);
		if (--w->pending == 0)
			pthread_cond_signal(&w->done);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int workers_start(struct workers *w, int n)
{
	const char *env = getenv("ZWG_WORKERS");

	memset(w, 0, sizeof(*w));
	if (env)
		n = atoi(env);
	else if (n < 0)
		n = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	if (n < 0)
		n = 0;
	if (n > WORKERS_MAX)
		n = WORKERS_MAX;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->done, NULL);
	for (int i = 0; i < n; i++) {
		struct worker_arg *a = malloc(sizeof(*a));
		int ret;
		if (!a)
			return -ENOMEM;
		a->w = w;
		a->index = i;
		ret = pthread_create(&w->threads[i], NULL, worker_main, a);
		if (ret) {
			free(a);
			return -ret;
		}
		w->n = i + 1;
	}
	return 0;
}

void workers_stop(struct workers *w)
{
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	w->n = 0;
}

void workers_run(struct workers *w, workers_fn fn, void *ctx, int total)
{
	int start, end;

	if (w->n == 0 || total < WORKERS_MIN_BATCH) {
		fn(ctx, 0, total);
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->fn = fn;
	w->ctx = ctx;
	w->total = total;
	w->chunks = w->n + 1;
	w->pending = w->n;
	w->generation++;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);

	chunk_range(w, 0, &start, &end);
	fn(ctx, start, end);

	pthread_mutex_lock(&w->lock);
	while (w->pending > 0)
		pthread_cond_wait(&w->done, &w->lock);
	pthread_mutex_unlock(&w->lock);
}
