/*
 * workers_test.c - the crypto thread pool (workers.h): every item of every
 * job runs exactly once, on the job's own context, before workers_run
 * returns; small batches stay on the caller; and no worker ever runs an
 * item of a job once its workers_run has returned.
 */
#include "test.h"
#include "workers.h"

#include <pthread.h>
#include <stdatomic.h>

#define MAX_ITEMS 1100

struct job {
	atomic_int runs[MAX_ITEMS];
	atomic_int calls_after_return;	/* fn calls once workers_run returned */
	atomic_bool returned;
	pthread_t owner;
	atomic_int by_owner, by_others;
};

static void count_items(void *ctx, int start, int end)
{
	struct job *j = ctx;

	if (atomic_load(&j->returned))
		atomic_fetch_add(&j->calls_after_return, 1);
	if (pthread_equal(pthread_self(), j->owner))
		atomic_fetch_add(&j->by_owner, end - start);
	else
		atomic_fetch_add(&j->by_others, end - start);
	for (int i = start; i < end; i++)
		atomic_fetch_add(&j->runs[i], 1);
}

static struct job *job_new(void)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		abort();
	j->owner = pthread_self();
	return j;
}

/* Runs one job of total items and checks each ran exactly once. */
static bool run_and_check(struct workers *w, struct job *j, int total)
{
	bool ok = true;

	workers_run(w, count_items, j, total);
	atomic_store(&j->returned, true);
	for (int i = 0; i < MAX_ITEMS; i++)
		if (atomic_load(&j->runs[i]) != (i < total ? 1 : 0))
			ok = false;
	return ok && atomic_load(&j->by_owner) + atomic_load(&j->by_others) == total;
}

static void check_pool(int nworkers)
{
	struct workers w;
	unsigned seed = 12345;
	int bad = 0;

	CHECK_INT(workers_start(&w, nworkers), 0);
	CHECK_INT(w.n, nworkers);
	for (int round = 0; round < 3000; round++) {
		int total = (int)(rand_r(&seed) % MAX_ITEMS);
		if (round % 7 == 0)
			total = round % (WORKERS_MIN_BATCH + 2);	/* the inline sizes */
		struct job *j = job_new();
		if (!run_and_check(&w, j, total))
			bad++;
		free(j);
	}
	CHECK_INT(bad, 0);
	workers_stop(&w);
}

static void test_every_item_once_no_workers(void)
{
	check_pool(0);
}

static void test_every_item_once_one_worker(void)
{
	check_pool(1);
}

static void test_every_item_once_three_workers(void)
{
	check_pool(3);
}

/* Below WORKERS_MIN_BATCH the caller does it all. */
static void test_small_batches_stay_inline(void)
{
	struct workers w;

	CHECK_INT(workers_start(&w, 2), 0);
	for (int total = 0; total < WORKERS_MIN_BATCH; total++) {
		struct job *j = job_new();
		CHECK(run_and_check(&w, j, total));
		CHECK_INT(atomic_load(&j->by_others), 0);
		free(j);
	}
	workers_stop(&w);
}

/*
 * Back-to-back jobs, each on its own context that stays allocated: after
 * all of them, no job's function ran again once its workers_run returned
 * (a worker that woke late for job k must not run items of job k + 1 with
 * job k's context, nor job k's items after it returned).
 */
static void test_late_worker_never_runs_an_old_job(void)
{
	enum { JOBS = 4000 };
	static struct job *jobs[JOBS];
	struct workers w;
	unsigned seed = 99;
	int bad = 0, late = 0;

	CHECK_INT(workers_start(&w, 3), 0);
	for (int k = 0; k < JOBS; k++) {
		jobs[k] = job_new();
		if (!run_and_check(&w, jobs[k], WORKERS_MIN_BATCH + (int)(rand_r(&seed) % 64)))
			bad++;
	}
	workers_stop(&w);
	for (int k = 0; k < JOBS; k++) {
		late += atomic_load(&jobs[k]->calls_after_return);
		free(jobs[k]);
	}
	CHECK_INT(bad, 0);
	CHECK_INT(late, 0);
}

int main(void)
{
	RUN(test_every_item_once_no_workers);
	RUN(test_every_item_once_one_worker);
	RUN(test_every_item_once_three_workers);
	RUN(test_small_batches_stay_inline);
	RUN(test_late_worker_never_runs_an_old_job);
	TEST_EXIT();
}
