/*
 * fuzz_main.c - main() for fuzz targets built as plain programs (no
 * libFuzzer): feeds LLVMFuzzerTestOneInput every file of a corpus, and for
 * each file a fixed set of deterministic mutants (bit flips, truncations,
 * deletions, duplicated ranges, inserted protocol tokens, splices with the
 * other seeds), so `make unit` exercises far more than the seeds and does
 * so the same way on every run.
 *
 *   X_fuzz --replay DIR     every regular file in DIR, plus mutants;
 *                           prints "PASS X_fuzz corpus (...)" or "FAIL ..."
 *   X_fuzz FILE...          just these inputs, no mutants (to reproduce)
 *
 * Environment: ZWG_FUZZ_MUTANTS=N mutants per seed (default 200);
 * ZWG_FUZZ_SAVE=PATH writes each input to PATH before running it, so after
 * a crash PATH holds the input that caused it.
 *
 * A target reports a broken invariant by aborting; a crash or a sanitizer
 * report kills the process, which tests/run.sh counts as a failure.
 * Built with -DZWG_LIBFUZZER (clang -fsanitize=fuzzer) libFuzzer provides
 * main() and this file compiles to nothing.
 */
#ifndef ZWG_LIBFUZZER

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEFAULT_MUTANTS 200
#define MAX_SEEDS 4096
#define MAX_SEED_SIZE (1u << 20)
/* a replay that takes this long is hung, not slow */
#define REPLAY_TIMEOUT_SEC 300

struct seed {
	uint8_t *data;
	size_t size;
};

static const char *target = "fuzz";
static const char *save_path;

/* built before the alarm is armed: the handler may only write() */
static char timeout_msg[256];

static void on_alarm(int sig)
{
	ssize_t r;

	(void)sig;
	r = write(STDOUT_FILENO, timeout_msg, strlen(timeout_msg));
	(void)r;
	_exit(1);
}

/* Runs one input from an exactly-sized heap copy, so an over-read shows
 * up under AddressSanitizer. */
static void run_input(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy) {
		fprintf(stderr, "%s: out of memory\n", target);
		exit(1);
	}
	if (size)
		memcpy(copy, data, size);
	if (save_path) {
		FILE *f = fopen(save_path, "wb");

		if (f) {
			if (size)
				fwrite(copy, 1, size, f);
			fclose(f);
		}
	}
	LLVMFuzzerTestOneInput(copy, size);
	free(copy);
}

static int read_file(const char *path, struct seed *s)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	int ret = 0;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > MAX_SEED_SIZE) {
		ret = -EINVAL;
		goto out;
	}
	s->size = (size_t)st.st_size;
	s->data = malloc(s->size ? s->size : 1);
	if (!s->data) {
		ret = -ENOMEM;
		goto out;
	}
	if (s->size && fread(s->data, 1, s->size, f) != s->size) {
		free(s->data);
		s->data = NULL;
		ret = -EIO;
	}
out:
	fclose(f);
	return ret;
}

/* xorshift64*: deterministic, and plenty for picking positions */
static uint64_t rng_next(uint64_t *st)
{
	uint64_t x = *st;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*st = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static size_t rng_below(uint64_t *st, size_t n)
{
	return n ? (size_t)(rng_next(st) % n) : 0;
}

/* Tokens of the UAPI text (and of the parsers' edge cases) that blind
 * bit flips would rarely produce. */
static const char *const tokens[] = {
	"\n", "=", "/", ":", "[", "]", "%", ".", "0", "1", "-", "+", " ", "\r",
	"\xff", "true", "false", "65535", "65536", "4294967296", "/0", "/32",
	"/128", "::", "%lo", "[::1]:", "\n\n", "public_key=", "private_key=",
	"preshared_key=", "allowed_ip=", "endpoint=", "remove=true\n",
	"update_only=true\n", "replace_allowed_ips=true\n", "replace_peers=true\n",
	"protocol_version=1\n", "listen_port=", "fwmark=",
	"persistent_keepalive_interval=",
	"0000000000000000000000000000000000000000000000000000000000000000",
};

/* Applies one random edit to buf (len bytes, room for cap). */
static size_t mutate_once(uint64_t *st, uint8_t *buf, size_t len, size_t cap,
			  const struct seed *seeds, size_t n_seeds)
{
	size_t pos, n;

	switch (rng_below(st, 7)) {
	case 0:	/* flip one bit */
		if (len)
			buf[rng_below(st, len)] ^= (uint8_t)(1u << rng_below(st, 8));
		return len;
	case 1:	/* truncate */
		return rng_below(st, len + 1);
	case 2:	/* delete a short range */
		if (!len)
			return len;
		pos = rng_below(st, len);
		n = 1 + rng_below(st, len - pos < 16 ? len - pos : 16);
		memmove(buf + pos, buf + pos + n, len - pos - n);
		return len - n;
	case 3:	/* overwrite a byte */
		if (len)
			buf[rng_below(st, len)] = (uint8_t)rng_next(st);
		return len;
	case 4:	/* duplicate a range elsewhere */
		if (!len)
			return len;
		pos = rng_below(st, len);
		n = 1 + rng_below(st, len - pos < 64 ? len - pos : 64);
		if (len + n > cap)
			return len;
		{
			size_t at = rng_below(st, len + 1);
			uint8_t tmp[64];

			memcpy(tmp, buf + pos, n);
			memmove(buf + at + n, buf + at, len - at);
			memcpy(buf + at, tmp, n);
		}
		return len + n;
	case 5: {	/* insert a token */
		const char *t = tokens[rng_below(st, sizeof(tokens) / sizeof(tokens[0]))];

		n = strlen(t);
		if (len + n > cap)
			return len;
		pos = rng_below(st, len + 1);
		memmove(buf + pos + n, buf + pos, len - pos);
		memcpy(buf + pos, t, n);
		return len + n;
	}
	default: {	/* splice in a piece of another seed */
		const struct seed *o = &seeds[rng_below(st, n_seeds)];
		size_t from;

		if (!o->size)
			return len;
		from = rng_below(st, o->size);
		n = 1 + rng_below(st, o->size - from);
		if (len + n > cap)
			n = cap - len;
		pos = rng_below(st, len + 1);
		memmove(buf + pos + n, buf + pos, len - pos);
		memcpy(buf + pos, o->data + from, n);
		return len + n;
	}
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads every regular file of dir, in name order (deterministic). */
static int load_corpus(const char *dir, struct seed *seeds, size_t *n_seeds)
{
	char *names[MAX_SEEDS];
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = 0;

	*n_seeds = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < MAX_SEEDS) {
		if (de->d_name[0] == '.')
			continue;
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			ret = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char path[4096];

		if (ret == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (read_file(path, &seeds[*n_seeds]) == 0)
				(*n_seeds)++;
		}
		free(names[i]);
	}
	return ret;
}

static int replay(const char *dir)
{
	static struct seed seeds[MAX_SEEDS];
	size_t n_seeds, mutants = DEFAULT_MUTANTS, runs = 0;
	const char *env = getenv("ZWG_FUZZ_MUTANTS");
	int ret;

	if (env)
		mutants = (size_t)strtoul(env, NULL, 10);
	ret = load_corpus(dir, seeds, &n_seeds);
	if (ret || n_seeds == 0) {
		printf("FAIL %s corpus (%s: %s)\n", target, dir,
		       ret ? strerror(-ret) : "no inputs");
		return 1;
	}
	for (size_t i = 0; i < n_seeds; i++) {
		run_input(seeds[i].data, seeds[i].size);
		runs++;
	}
	for (size_t i = 0; i < n_seeds; i++) {
		size_t cap = seeds[i].size * 2 + 256;
		uint8_t *buf = malloc(cap);
		/* seeded by position and size: stable across runs */
		uint64_t st = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)i << 32) ^ seeds[i].size;

		if (!buf) {
			printf("FAIL %s corpus (out of memory)\n", target);
			return 1;
		}
		for (size_t m = 0; m < mutants; m++) {
			size_t len = seeds[i].size;
			size_t edits = 1 + rng_below(&st, 4);

			memcpy(buf, seeds[i].data, len);
			for (size_t e = 0; e < edits; e++)
				len = mutate_once(&st, buf, len, cap, seeds, n_seeds);
			run_input(buf, len);
			runs++;
		}
		free(buf);
	}
	for (size_t i = 0; i < n_seeds; i++)
		free(seeds[i].data);
	printf("PASS %s corpus (%zu inputs, %zu runs with mutants)\n", target, n_seeds, runs);
	return 0;
}

int main(int argc, char **argv)
{
	const char *slash = strrchr(argv[0], '/');

	target = slash ? slash + 1 : argv[0];
	save_path = getenv("ZWG_FUZZ_SAVE");
	snprintf(timeout_msg, sizeof(timeout_msg), "FAIL %s corpus (timed out after %d s)\n",
		 target, REPLAY_TIMEOUT_SEC);
	signal(SIGALRM, on_alarm);
	alarm(REPLAY_TIMEOUT_SEC);
	if (argc == 3 && strcmp(argv[1], "--replay") == 0)
		return replay(argv[2]);
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: %s --replay DIR | %s FILE...\n", target, target);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct seed s;
		int ret = read_file(argv[i], &s);

		if (ret) {
			fprintf(stderr, "%s: %s: %s\n", target, argv[i], strerror(-ret));
			return 1;
		}
		run_input(s.data, s.size);
		free(s.data);
		printf("ran %s (%zu bytes)\n", argv[i], s.size);
	}
	return 0;
}

#endif /* ZWG_LIBFUZZER */
