/*
 * store_crash_test.c - the sealed store under faults and contention
 * (store_sealed.c): processes and threads doing compare-and-swap on one
 * counter lose no increment; two "CLIs" creating the same record or the
 * same store at once get exactly one winner; a hung lock holder makes
 * writers fail with -EBUSY, not hang; a writer killed with SIGKILL
 * at random moments loses no acknowledged write and leaves no record that
 * fails authentication; a write that hits the file-size limit, a full
 * file system or a read-only one fails with that error and leaves the old
 * record intact.
 *
 * The random kill delays come from a seed printed at the start (set
 * ZWG_STORE_SEED to replay one).  Every loop has a bound; every child is
 * reaped; directories are made under $TMPDIR (or /tmp) with the PID in
 * their name and removed at exit.  The tmpfs tests need a private mount
 * namespace (root); without one they print an "info:" line, not a verdict.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "test.h"

#define WRITERS 4
#define INCREMENTS 200
#define THREADS 4
#define THREAD_INCREMENTS 100
#define CRASH_ROUNDS 20
#define CRASH_MAX_DELAY_US 20000
#define CRASH_KEYS 5
#define MAX_TRIES 1000000	/* CAS retries: a bound, never reached */

#define MAX_DIRS 16
static char *dirs[MAX_DIRS];
static size_t ndirs;
static pid_t main_pid;

/* Plain memory: secmem pages are wiped in forked children, so each child
 * builds its own struct store_key from this. */
static uint8_t key_bytes[STORE_KEY_LEN];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_dirs(void)
{
	if (getpid() != main_pid)
		return;
	for (size_t i = 0; i < ndirs; i++) {
		umount2(dirs[i], MNT_DETACH);	/* in case a tmpfs child leaked one */
		nftw(dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
		free(dirs[i]);
	}
	ndirs = 0;
}

/* Interrupted (^C, timeout, a closed pipe): still remove the directories.
 * nftw is not async-signal-safe, but the process is about to die and the
 * main thread is not inside it mid-call in any way that matters here. */
static void on_signal(int sig)
{
	if (getpid() == main_pid)
		for (size_t i = 0; i < ndirs; i++)
			nftw(dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
	_exit(128 + sig);
}

static void cleanup_on_signals(void)
{
	signal(SIGPIPE, SIG_IGN);	/* a closed stdout: finish and clean up */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
}

static char *new_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[512];

	snprintf(path, sizeof(path), "%s/zwg-store-crash.%d.XXXXXX", tmp ? tmp : "/tmp",
		 (int)getpid());
	if (!mkdtemp(path) || ndirs == MAX_DIRS)
		abort();
	dirs[ndirs] = strdup(path);
	return dirs[ndirs++];
}

static struct store_key *make_key(uint8_t tweak)
{
	struct store_key *k = store_key_new();

	if (!k)
		abort();
	memcpy(k->bytes, key_bytes, STORE_KEY_LEN);
	k->bytes[0] ^= tweak;
	return k;
}

/* Opens uri in this process with the test key (tweak 0).  NULL on failure. */
static struct store *open_store(const char *uri)
{
	struct store_key *k = make_key(0);
	struct store *s = NULL;
	char err[512];

	if (store_open(uri, k, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "  open %s: %s\n", uri, err);
		s = NULL;
	}
	store_key_free(k);
	return s;
}

static char *new_store(void)
{
	static char uri[600];
	struct store_key *k = make_key(0);
	struct store *s = NULL;
	char err[512];

	snprintf(uri, sizeof(uri), "sealed:%s/data", new_dir());
	if (store_create(uri, k, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "create %s: %s\n", uri, err);
		abort();
	}
	store_close(s);
	store_key_free(k);
	return uri;
}

static int put_str(struct store *s, const char *key, const char *val, uint64_t expect,
		   uint64_t *nv)
{
	return store_put(s, key, (const uint8_t *)val, strlen(val), expect, nv);
}

/* Reads a decimal counter record; -1 on failure. */
static long long get_counter(struct store *s, const char *key, uint64_t *version)
{
	uint8_t *v = NULL;
	size_t len = 0;
	char buf[32];
	long long n;

	if (store_get(s, key, &v, &len, version) != 0 || len >= sizeof(buf)) {
		store_value_free(v, len);
		return -1;
	}
	memcpy(buf, v, len);
	buf[len] = '\0';
	store_value_free(v, len);
	n = strtoll(buf, NULL, 10);
	return n;
}

/* count increments of key by read, +1, compare-and-swap, retry on -ESTALE.
 * Returns the number of retries, or -1 on any other failure. */
static long increment(struct store *s, const char *key, int count)
{
	long retries = 0;

	for (int done = 0; done < count;) {
		uint64_t v = 0;
		long long n = get_counter(s, key, &v);
		char buf[32];
		int ret;

		if (n < 0 || retries > MAX_TRIES) {
			fprintf(stderr, "  increment: get: %s\n", store_last_error());
			return -1;
		}
		snprintf(buf, sizeof(buf), "%lld", n + 1);
		ret = put_str(s, key, buf, v, NULL);
		if (ret == -ESTALE) {
			retries++;
			continue;
		}
		if (ret) {
			fprintf(stderr, "  increment: put: %s\n", store_last_error());
			return -1;
		}
		done++;
	}
	return retries;
}

static int count_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += strncmp(de->d_name, ".tmp-", 5) == 0;
	if (d)
		closedir(d);
	return n;
}

/* 4 processes, each with its own handle, 200 increments each. */
static void test_concurrent_processes(void)
{
	const char *uri = new_store();
	struct store *s = open_store(uri);
	pid_t pids[WRITERS];
	long long total;
	uint64_t v = 0;
	int ok = 0;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(put_str(s, "counter", "0", STORE_NEW, NULL), 0);
	for (int i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct store *c = open_store(uri);

			_exit(c && increment(c, "counter", INCREMENTS) >= 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < WRITERS; i++) {
		int status = -1;

		waitpid(pids[i], &status, 0);
		ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	CHECK_INT(ok, WRITERS);
	total = get_counter(s, "counter", &v);
	CHECK_INT(total, WRITERS * INCREMENTS);
	CHECK_INT(v, WRITERS * INCREMENTS + 1);
	store_close(s);
}

struct thread_arg {
	struct store *s;
	long result;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;

	a->result = increment(a->s, "counter", THREAD_INCREMENTS);
	return NULL;
}

/* 4 threads sharing one handle (the mutex), plus a second process. */
static void test_concurrent_threads(void)
{
	const char *uri = new_store();
	struct store *s = open_store(uri);
	struct thread_arg args[THREADS];
	pthread_t th[THREADS];
	int status = -1;
	pid_t pid;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(put_str(s, "counter", "0", STORE_NEW, NULL), 0);
	pid = fork();
	if (pid == 0) {
		struct store *c = open_store(uri);

		_exit(c && increment(c, "counter", THREAD_INCREMENTS) >= 0 ? 0 : 1);
	}
	for (int i = 0; i < THREADS; i++) {
		args[i].s = s;
		pthread_create(&th[i], NULL, thread_main, &args[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK(args[i].result >= 0);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_INT(get_counter(s, "counter", NULL), (THREADS + 1) * THREAD_INCREMENTS);
	store_close(s);
}

/* Two CLIs adding the same peer at once: one wins, the rest get -ESTALE,
 * and the record holds the winner's value. */
static void test_create_race(void)
{
	const char *uri = new_store();
	struct store *s;
	pid_t pids[WRITERS];
	int winners = 0, losers = 0, winner = -1;
	int go[2];

	CHECK_INT(pipe(go), 0);
	for (int i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct store *c = open_store(uri);
			char val[32], b;
			int ret;

			close(go[1]);
			if (read(go[0], &b, 1) < 0 || !c)	/* start together */
				_exit(3);
			snprintf(val, sizeof(val), "writer%d", i);
			ret = put_str(c, "peers/laptop", val, STORE_NEW, NULL);
			_exit(ret == 0 ? 0 : ret == -ESTALE ? 1 : 2);
		}
	}
	close(go[0]);
	close(go[1]);	/* EOF releases them all */
	for (int i = 0; i < WRITERS; i++) {
		int status = -1;

		waitpid(pids[i], &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			winners++;
			winner = i;
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
			losers++;
		}
	}
	CHECK_INT(winners, 1);
	CHECK_INT(losers, WRITERS - 1);
	s = open_store(uri);
	if (s && winner >= 0) {
		char want[32];
		uint8_t *v = NULL;
		size_t len = 0;
		uint64_t ver = 0;

		snprintf(want, sizeof(want), "writer%d", winner);
		CHECK_INT(store_get(s, "peers/laptop", &v, &len, &ver), 0);
		CHECK(len == strlen(want) && v && memcmp(v, want, len) == 0);
		CHECK_INT(ver, 1);
		store_value_free(v, len);
	}
	store_close(s);

	/* two `zerowg init` at once on one directory, with different keys:
	 * one store, made with the winner's key */
	{
		char dir[600], cu[700];
		int init_ok = 0, exists = 0, who = -1;

		snprintf(dir, sizeof(dir), "%s/data", new_dir());
		snprintf(cu, sizeof(cu), "sealed:%s", dir);
		CHECK_INT(pipe(go), 0);
		for (int i = 0; i < WRITERS; i++) {
			pids[i] = fork();
			if (pids[i] == 0) {
				struct store_key *k = make_key((uint8_t)(i + 1));
				struct store *c = NULL;
				char b, err[512];
				int ret;

				close(go[1]);
				if (read(go[0], &b, 1) < 0)
					_exit(3);
				ret = store_create(cu, k, &c, err, sizeof(err));
				_exit(ret == 0 ? 0 : ret == -EEXIST ? 1 : 2);
			}
		}
		close(go[0]);
		close(go[1]);
		for (int i = 0; i < WRITERS; i++) {
			int status = -1;

			waitpid(pids[i], &status, 0);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				init_ok++;
				who = i;
			} else if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
				exists++;
			}
		}
		CHECK_INT(init_ok, 1);
		CHECK_INT(exists, WRITERS - 1);
		for (int i = 0; i < WRITERS; i++) {
			struct store_key *k = make_key((uint8_t)(i + 1));
			struct store *c = NULL;
			char err[512];

			CHECK_INT(store_open(cu, k, &c, err, sizeof(err)),
				  i == who ? 0 : -EKEYREJECTED);
			store_close(c);
			store_key_free(k);
		}
	}
}

/* A writer stuck holding the lock: others give up with -EBUSY and a
 * message naming the lock file (after ZWG_STORE_LOCK_TIMEOUT_MS, which
 * test builds honour), nothing is written, and once the lock is free
 * writes work again.  Readers never wait. */
static void test_lock_busy(void)
{
	const char *uri = new_store();
	const char *dir = uri + strlen("sealed:");
	struct store *s = open_store(uri);
	char lockpath[700];
	int fd;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(put_str(s, "a", "old", STORE_NEW, NULL), 0);
	snprintf(lockpath, sizeof(lockpath), "%s/.lock", dir);
	fd = open(lockpath, O_RDWR);
	CHECK(fd >= 0);
	CHECK_INT(flock(fd, LOCK_EX), 0);
	setenv("ZWG_STORE_LOCK_TIMEOUT_MS", "100", 1);
	CHECK_INT(put_str(s, "a", "new", STORE_ANY_VERSION, NULL), -EBUSY);
	CHECK(strstr(store_last_error(), lockpath) != NULL);
	CHECK_INT(store_delete(s, "a", STORE_ANY_VERSION), -EBUSY);
	{
		uint8_t *v = NULL;
		size_t len = 0;

		CHECK_INT(store_get(s, "a", &v, &len, NULL), 0);
		CHECK(len == 3 && v && memcmp(v, "old", 3) == 0);
		store_value_free(v, len);
	}
	flock(fd, LOCK_UN);
	close(fd);
	unsetenv("ZWG_STORE_LOCK_TIMEOUT_MS");
	CHECK_INT(put_str(s, "a", "new", 1, NULL), 0);
	store_close(s);
}

/*
 * The crash test's writer: updates CRASH_KEYS records round-robin and now
 * and then creates a new one, each value naming its sequence number, and
 * reports every acknowledged sequence number on fd.  Runs until killed.
 */
static void crash_writer(const char *uri, uint64_t first, int fd)
{
	struct store *s = open_store(uri);
	char key[64], val[400];

	if (!s)
		_exit(2);
	for (uint64_t seq = first; seq < first + 1000000; seq++) {
		bool create = seq % 7 == 3;
		int ret;

		if (create)
			snprintf(key, sizeof(key), "crash/new%llu", (unsigned long long)seq);
		else
			snprintf(key, sizeof(key), "crash/k%llu",
				 (unsigned long long)(seq % CRASH_KEYS));
		/* long enough to span several write() calls' worth of disk
		 * blocks? no, but long enough that a torn file would show */
		snprintf(val, sizeof(val), "seq=%llu;%0300d;end", (unsigned long long)seq, 0);
		ret = put_str(s, key, val, create ? STORE_NEW : STORE_ANY_VERSION, NULL);
		if (ret)
			_exit(3);
		if (write(fd, &seq, sizeof(seq)) != sizeof(seq))
			_exit(4);
	}
	_exit(0);
}

/* The sequence number in a value written by crash_writer; 0 if malformed. */
static uint64_t value_seq(const uint8_t *v, size_t len)
{
	char buf[400], want[400];
	unsigned long long seq;

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (sscanf(buf, "seq=%llu;", &seq) != 1)
		return 0;
	snprintf(want, sizeof(want), "seq=%llu;%0300d;end", seq, 0);
	return strcmp(buf, want) == 0 ? seq : 0;
}

static void test_crash_safety(void)
{
	const char *uri = new_store();
	const char *dir = uri + strlen("sealed:");
	uint64_t acked_max[CRASH_KEYS] = { 0 };
	unsigned long long total_acks = 0, creates_checked = 0;
	unsigned int seed;
	const char *env = getenv("ZWG_STORE_SEED");
	int max_temps = 0, killed_running = 0;

	seed = env ? (unsigned int)strtoul(env, NULL, 10)
		   : (unsigned int)time(NULL) ^ (unsigned int)getpid();
	printf("info: crash test seed %u (ZWG_STORE_SEED=%u replays it)\n", seed, seed);
	srand(seed);

	for (int round = 0; round < CRASH_ROUNDS; round++) {
		uint64_t first = (uint64_t)(round + 1) * 1000000, seq;
		struct store *s;
		char **keys = NULL;
		size_t n = 0;
		int p[2], status = -1;
		pid_t pid;

		CHECK_INT(pipe(p), 0);
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			crash_writer(uri, first, p[1]);
		}
		close(p[1]);
		/* Odd rounds kill only after a first acknowledged write, so some
		 * writes are acknowledged however slow the disk (a bounded wait;
		 * the ack stays in the pipe for the loop below).  Even rounds
		 * may kill during open or the first write too. */
		if (round % 2) {
			struct pollfd pfd = { .fd = p[0], .events = POLLIN };

			CHECK_INT(poll(&pfd, 1, 10000), 1);
		}
		usleep((useconds_t)(rand() % (CRASH_MAX_DELAY_US + 1)));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		killed_running += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;

		/* every acknowledged write of this round */
		s = open_store(uri);
		CHECK(s != NULL);
		while (read(p[0], &seq, sizeof(seq)) == sizeof(seq)) {
			total_acks++;
			if (seq % 7 == 3) {
				/* a record created and acknowledged must be there */
				char key[64];
				uint8_t *v = NULL;
				size_t len = 0;

				snprintf(key, sizeof(key), "crash/new%llu", (unsigned long long)seq);
				if (s) {
					CHECK_INT(store_get(s, key, &v, &len, NULL), 0);
					CHECK_INT(value_seq(v, len), seq);
					store_value_free(v, len);
					creates_checked++;
				}
			} else if (seq > acked_max[seq % CRASH_KEYS]) {
				acked_max[seq % CRASH_KEYS] = seq;
			}
		}
		close(p[0]);
		if (!s)
			continue;
		/* each updated record holds its last acknowledged write or a
		 * later one (written, killed before the ack), whole */
		for (int k = 0; k < CRASH_KEYS; k++) {
			char key[64];
			uint8_t *v = NULL;
			size_t len = 0;
			uint64_t got;

			if (!acked_max[k])
				continue;
			snprintf(key, sizeof(key), "crash/k%d", k);
			CHECK_INT(store_get(s, key, &v, &len, NULL), 0);
			got = value_seq(v, len);
			store_value_free(v, len);
			CHECK(got >= acked_max[k]);
			CHECK_INT(got % CRASH_KEYS, k);
		}
		/* no record anywhere fails authentication; temp files ignored */
		CHECK_INT(store_list(s, "", &keys, &n), 0);
		for (size_t i = 0; i < n; i++)
			CHECK_INT(store_get(s, keys[i], NULL, NULL, NULL), 0);
		store_list_free(keys, n);
		if (count_temps(dir) > max_temps)
			max_temps = count_temps(dir);
		store_close(s);
	}
	printf("info: crash test: %llu acknowledged writes over %d kills (%d mid-run), "
	       "%llu creations checked, at most %d stray temp file(s) seen\n",
	       total_acks, CRASH_ROUNDS, killed_running, creates_checked, max_temps);
	/* not vacuous: writes were acknowledged before the kills */
	CHECK(total_acks > 0);
	CHECK_INT(killed_running, CRASH_ROUNDS);
	/* the next writer sweeps whatever temp files the kills left */
	{
		struct store *s = open_store(uri);

		CHECK(s != NULL);
		if (s) {
			CHECK_INT(put_str(s, "after", "x", STORE_ANY_VERSION, NULL), 0);
			CHECK_INT(count_temps(dir), 0);
			store_close(s);
		}
	}
}

/* RLIMIT_FSIZE makes the write fail mid-file (-EFBIG): the old record
 * stays, no temp file stays, and the store works again once it fits. */
static void test_file_size_limit(void)
{
	const char *uri = new_store();
	const char *dir = uri + strlen("sealed:");
	struct store *s = open_store(uri);
	struct rlimit old, small;
	static uint8_t big[16384];
	uint8_t *v = NULL;
	size_t len = 0;
	uint64_t ver = 0;
	void (*old_handler)(int);

	CHECK(s != NULL);
	if (!s)
		return;
	memset(big, 'B', sizeof(big));
	CHECK_INT(put_str(s, "peers/phone", "small-old-value", STORE_NEW, NULL), 0);
	CHECK_INT(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 4096;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &small), 0);

	CHECK_INT(store_put(s, "peers/phone", big, sizeof(big), 1, NULL), -EFBIG);
	CHECK(strstr(store_last_error(), "previous version of the record is intact") != NULL);
	/* a new record that does not fit does not half-exist */
	CHECK_INT(store_put(s, "peers/tablet", big, sizeof(big), STORE_NEW, NULL), -EFBIG);
	/* small writes still work under the limit */
	CHECK_INT(put_str(s, "peers/watch", "fits", STORE_NEW, NULL), 0);

	CHECK_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);

	CHECK_INT(store_get(s, "peers/phone", &v, &len, &ver), 0);
	CHECK(len == 15 && memcmp(v, "small-old-value", 15) == 0);
	CHECK_INT(ver, 1);
	store_value_free(v, len);
	CHECK_INT(store_get(s, "peers/tablet", NULL, NULL, NULL), -ENOENT);
	CHECK_INT(count_temps(dir), 0);
	/* and the same write succeeds once there is room */
	CHECK_INT(store_put(s, "peers/phone", big, sizeof(big), 1, &ver), 0);
	CHECK_INT(ver, 2);
	store_close(s);
}

/*
 * In a child with a private mount namespace: a 64 KiB tmpfs filled until
 * -ENOSPC, then remounted read-only (-EROFS).  The child runs the checks
 * and exits with the number that failed; 77 if it cannot mount.
 */
static int tmpfs_child(void)
{
	char *dir = dirs[ndirs - 1], uri[700], key[64], val[2048];
	struct store_key *k = make_key(0);
	struct store *s = NULL;
	uint8_t *v = NULL;
	size_t len = 0;
	int fails = 0, ret = 0, written = 0;

#define CCHECK(c) do { if (!(c)) { fails++; fprintf(stderr, "  %s:%d: CHECK failed: %s\n", \
					__FILE__, __LINE__, #c); } } while (0)
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("zwg-test", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700") < 0)
		return 77;
	snprintf(uri, sizeof(uri), "sealed:%s/data", dir);
	CCHECK(store_create(uri, k, &s, NULL, 0) == 0);
	if (!s)
		return fails;
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	CCHECK(put_str(s, "keep", "the-old-value", STORE_NEW, NULL) == 0);
	/* fill it: at most 64 records of 2 KiB can fit in 64 KiB */
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "fill/%d", i);
		ret = put_str(s, key, val, STORE_NEW, NULL);
		if (ret)
			break;
		written++;
	}
	CCHECK(ret == -ENOSPC);
	CCHECK(written > 0 && written < 64);
	CCHECK(strstr(store_last_error(), "No space left on device") != NULL);
	/* full: an update fails and the old value stays */
	ret = put_str(s, "keep", val, 1, NULL);
	CCHECK(ret == -ENOSPC);
	CCHECK(store_get(s, "keep", &v, &len, NULL) == 0 && len == 13 &&
	       memcmp(v, "the-old-value", 13) == 0);
	store_value_free(v, len);
	v = NULL;
	CCHECK(count_temps(uri + 7) == 0);
	/* every record written before the disk filled is whole */
	for (int i = 0; i < written; i++) {
		snprintf(key, sizeof(key), "fill/%d", i);
		CCHECK(store_get(s, key, NULL, NULL, NULL) == 0);
	}
	/* deleting frees room, and writes work again */
	CCHECK(store_delete(s, "fill/0", STORE_ANY_VERSION) == 0);
	CCHECK(put_str(s, "keep", "new", 1, NULL) == 0);

	/* read-only (tmpfs refuses to remount while a file is open for
	 * writing: the handle's lock fd): writes fail with -EROFS, reads go on */
	store_close(s);
	s = NULL;
	CCHECK(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);
	CCHECK(store_open(uri, k, &s, NULL, 0) == 0);
	if (!s)
		return fails;
	ret = put_str(s, "keep", "newer", STORE_ANY_VERSION, NULL);
	CCHECK(ret == -EROFS);
	CCHECK(strstr(store_last_error(), "Read-only file system") != NULL);
	CCHECK(store_delete(s, "keep", STORE_ANY_VERSION) == -EROFS);
	CCHECK(store_get(s, "keep", &v, &len, NULL) == 0 && len == 3 && memcmp(v, "new", 3) == 0);
	store_value_free(v, len);
	v = NULL;
	store_close(s);
	store_key_free(k);
	umount2(dir, MNT_DETACH);
#undef CCHECK
	return fails;
}

static void test_full_and_readonly_disk(void)
{
	int status = -1;
	pid_t pid;

	new_dir();
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(tmpfs_child());
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		printf("info: no private mount namespace (not root?): ENOSPC/EROFS on tmpfs not "
		       "tested; RLIMIT_FSIZE was\n");
		return;
	}
	CHECK(WIFEXITED(status));
	if (!WIFEXITED(status))
		fprintf(stderr, "  tmpfs child died: status %#x\n", status);
	CHECK_INT(WEXITSTATUS(status), 0);
}

int main(void)
{
	main_pid = getpid();
	log_init("store_crash_test", LOG_LEVEL_SILENT);
	atexit(remove_dirs);
	cleanup_on_signals();
	for (int i = 0; i < STORE_KEY_LEN; i++)
		key_bytes[i] = (uint8_t)(0xa5 ^ (i * 13));

	RUN(test_concurrent_processes);
	RUN(test_concurrent_threads);
	RUN(test_create_race);
	RUN(test_lock_busy);
	RUN(test_crash_safety);
	RUN(test_file_size_limit);
	RUN(test_full_and_readonly_disk);
	TEST_EXIT();
}
