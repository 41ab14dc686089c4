/*
 * workers.h - crypto on every core.  The owner thread splits the crypt step
 * of a batch into chunks; worker threads take all chunks but the first,
 * which the owner does itself, and the owner waits for all of them before
 * using any result.  Results are consumed in batch order, so packets of a
 * peer never overtake each other.
 *
 * Workers touch only the jobs they are given (packet buffers and keys read
 * by the AEAD), never device state: the ownership rule of device.h holds.
 */
#ifndef ZWG_WORKERS_H
#define ZWG_WORKERS_H

#include <pthread.h>
#include <stdbool.h>

#define WORKERS_MAX 16
/* Below this many packets a batch is not worth waking anyone for (and a
 * lone ping keeps its latency). */
#define WORKERS_MIN_BATCH 8

typedef void (*workers_fn)(void *ctx, int start, int end);

struct workers {
	int n;				/* worker threads (0 = all inline) */
	pthread_t threads[WORKERS_MAX];
	/* lock protects everything below; the owner posts a job by bumping
	 * generation, workers report by decrementing pending. */
	pthread_mutex_t lock;
	pthread_cond_t wake, done;
	unsigned long generation;
	int pending;
	bool stopping;
	workers_fn fn;
	void *ctx;
	int total;			/* items in the current job */
	int chunks;			/* chunks it is cut into (owner does chunk 0) */
};

/* Starts n workers (n < 0: one per CPU besides the caller's, at most
 * WORKERS_MAX; ZWG_WORKERS in the environment overrides).  0 or -errno. */
int workers_start(struct workers *w, int n);
void workers_stop(struct workers *w);
/* Runs fn over [0, total) in chunks on the workers and the caller; returns
 * when every chunk is done. */
void workers_run(struct workers *w, workers_fn fn, void *ctx, int total);

#endif
