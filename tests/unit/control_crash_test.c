/*
 * control_crash_test.c - kill -9 durability of the control layer over a
 * sealed store (issue 12 §4): a child process takes a stream of changes
 * (peer add, disable, enable, rotate, revoke) through control.h and
 * acknowledges each one on a pipe after the call returned 0; the parent
 * SIGKILLs it at a random moment, then re-opens the store and checks that
 * it opens, that every record authenticates, and that the peers are
 * exactly the acknowledged ones (name, enabled, public key), allowing only
 * the change that was under way (announced, not acknowledged) to be in or
 * out.  ROUNDS rounds, each child killed within MAX_KILL_MS; the next round
 * continues on what the last one left, so a half-written store would also
 * surface as a later failure.
 *
 * The delays come from a seed printed at the start (ZWG_CRASH_SEED=N
 * replays one).  The store is under $TMPDIR (or /tmp), on a real file
 * system, removed at exit.  Every child is reaped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "crypto.h"
#include "log.h"
#include "store.h"
#include "test.h"

#define ROUNDS 30
#define MAX_KILL_MS 600
#define MAX_PEERS 24
#define MAX_MODEL 512

enum op { OP_ADD = 1, OP_DISABLE, OP_ENABLE, OP_ROTATE, OP_REVOKE };
static const char *const op_names[] = { "", "add", "disable", "enable", "rotate", "revoke" };

static const char *op_name(uint8_t op)
{
	return op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : "?";
}

/* One line on the pipe: the child announces a change (ack false), then
 * acknowledges it (ack true, with the resulting key).  Smaller than
 * PIPE_BUF, so each write is atomic. */
struct note {
	uint32_t seq;
	uint8_t ack;
	uint8_t op;
	uint8_t enabled;
	char name[64];
	uint8_t key[32];
};

struct model_peer {
	char name[64];
	bool enabled;
	uint8_t key[32];
	bool present;
};

static struct model_peer model[MAX_MODEL];
static char dir[128], uri[160];
static struct store_key *skey;
/* The key's bytes outside wipe-on-fork memory, for the child (test key). */
static uint8_t key_copy[STORE_KEY_LEN];
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char p[400];

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
			unlink(p);
		}
	closedir(d);
}

static void cleanup(void)
{
	char sub[200];

	snprintf(sub, sizeof(sub), "%s/store", dir);
	empty_dir(sub);
	rmdir(sub);
	empty_dir(dir);
	rmdir(dir);
}

static struct model_peer *model_find(const char *name, bool create)
{
	for (size_t i = 0; i < MAX_MODEL; i++)
		if (model[i].present && !strcmp(model[i].name, name))
			return &model[i];
	if (!create)
		return NULL;
	for (size_t i = 0; i < MAX_MODEL; i++)
		if (!model[i].present) {
			memset(&model[i], 0, sizeof(model[i]));
			snprintf(model[i].name, sizeof(model[i].name), "%s", name);
			model[i].present = true;
			return &model[i];
		}
	abort();
}

/* ---- the child: a stream of changes ---- */

static void emit(int fd, const struct note *n)
{
	if (write(fd, n, sizeof(*n)) != (ssize_t)sizeof(*n))
		_exit(3);
}

static void child(int fd, uint64_t seed, uint32_t first_seq)
{
	struct store *st;
	struct control *ctl;
	struct control_error e;
	uint32_t seq = first_seq;
	uint64_t r = seed | 1;
	struct store_key *k = store_key_new();

	/* skey is wiped in a child (secmem): a key of its own. */
	if (!k)
		_exit(2);
	memcpy(k->bytes, key_copy, STORE_KEY_LEN);
	if (store_open(uri, k, &st, NULL, 0) || control_open(st, &ctl, &e))
		_exit(2);
	for (;;) {
		struct peer_record *peers;
		size_t n;
		struct note note = { .seq = seq++ };
		struct peer_add_result res;
		int ret;

		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		if (control_peer_list(ctl, &peers, &n))
			_exit(4);
		note.op = n == 0 ? OP_ADD : n >= MAX_PEERS ? OP_REVOKE : (uint8_t)(1 + r % 5);
		if (note.op == OP_ADD)
			snprintf(note.name, sizeof(note.name), "p%u", note.seq);
		else
			snprintf(note.name, sizeof(note.name), "%s", peers[(r >> 8) % n].name);
		model_peer_array_free(peers, n);
		emit(fd, &note);

		memset(&res, 0, sizeof(res));
		switch (note.op) {
		case OP_ADD: {
			struct peer_add_request req = { .name = note.name, .persistent_keepalive = -1 };
			ret = control_peer_add(ctl, &req, &res, NULL, &e);
			break;
		}
		case OP_DISABLE:
		case OP_ENABLE:
			ret = control_peer_set_enabled(ctl, note.name, note.op == OP_ENABLE, NULL, NULL, &e);
			break;
		case OP_ROTATE:
			ret = control_peer_rotate(ctl, note.name, false, &res, NULL, &e);
			break;
		default:
			ret = control_peer_revoke(ctl, note.name, NULL, &e);
			break;
		}
		control_peer_add_result_free(&res);
		if (ret)
			_exit(5);
		if (note.op != OP_REVOKE) {
			struct peer_record p;
			if (control_peer_get(ctl, note.name, &p, &e))
				_exit(6);
			memcpy(note.key, p.public_key, 32);
			note.enabled = p.enabled;
			model_peer_free(&p);
		}
		note.ack = 1;
		emit(fd, &note);
	}
}

/* ---- the parent: kill, re-open, compare ---- */

static int check_round(int round, const struct note *pending)
{
	struct store *st;
	struct control *ctl;
	struct control_error e;
	struct peer_record *peers;
	char **keys;
	size_t n, nk;
	int bad = 0;

	if (store_open(uri, skey, &st, NULL, 0)) {
		fprintf(stderr, "  round %d: the store does not open: %s\n", round, store_last_error());
		return 1;
	}
	if (store_list(st, "", &keys, &nk)) {
		fprintf(stderr, "  round %d: %s\n", round, store_last_error());
		store_close(st);
		return 1;
	}
	for (size_t i = 0; i < nk; i++) {
		uint8_t *v;
		size_t len;

		if (store_get(st, keys[i], &v, &len, NULL)) {
			fprintf(stderr, "  round %d: record %s: %s\n", round, keys[i], store_last_error());
			bad++;
		} else {
			store_value_free(v, len);
		}
	}
	store_list_free(keys, nk);
	if (control_open(st, &ctl, &e)) {
		fprintf(stderr, "  round %d: control_open: %s\n", round, e.msg);
		store_close(st);
		return 1;
	}
	if (control_peer_list(ctl, &peers, &n))
		abort();
	/* Every stored peer is acknowledged as it is, or is the pending
	 * change's. */
	for (size_t i = 0; i < n; i++) {
		struct model_peer *m = model_find(peers[i].name, false);
		bool is_pending = pending && !strcmp(pending->name, peers[i].name);

		if (is_pending) {
			/* Whatever it became, it is the truth from here on. */
			m = model_find(peers[i].name, true);
			m->enabled = peers[i].enabled;
			memcpy(m->key, peers[i].public_key, 32);
			continue;
		}
		if (!m) {
			fprintf(stderr, "  round %d: peer %s is stored but was never acknowledged\n", round,
				peers[i].name);
			bad++;
		} else if (m->enabled != peers[i].enabled || memcmp(m->key, peers[i].public_key, 32)) {
			fprintf(stderr, "  round %d: peer %s is stored %s with %s key, acknowledged %s\n",
				round, peers[i].name, peers[i].enabled ? "enabled" : "disabled",
				memcmp(m->key, peers[i].public_key, 32) ? "another" : "the same",
				m->enabled ? "enabled" : "disabled");
			bad++;
		}
	}
	/* Every acknowledged peer is stored (the pending one may be gone). */
	for (size_t j = 0; j < MAX_MODEL; j++) {
		bool found = false;

		if (!model[j].present)
			continue;
		for (size_t i = 0; i < n && !found; i++)
			found = !strcmp(peers[i].name, model[j].name);
		if (found)
			continue;
		if (pending && !strcmp(pending->name, model[j].name)) {
			model[j].present = false;
			continue;
		}
		fprintf(stderr, "  round %d: acknowledged peer %s is missing\n", round, model[j].name);
		bad++;
		model[j].present = false;
	}
	model_peer_array_free(peers, n);
	control_close(ctl);
	store_close(st);
	return bad;
}

static void test_kill9_during_changes(void)
{
	struct store *st;
	struct control_error e;
	uint32_t seq = 1;
	int bad = 0;
	long acked = 0, pending_in = 0, pending_out = 0;

	if (store_create(uri, skey, &st, NULL, 0))
		abort();
	CHECK_INT(control_init_server(st, NULL, &e), 0);
	store_close(st);

	for (int round = 0; round < ROUNDS; round++) {
		int p[2];
		pid_t pid;
		struct note note, pending;
		bool have_pending = false;
		int status;
		struct timespec delay;
		long kill_ms = 20 + (long)(rnd() % MAX_KILL_MS);

		if (pipe2(p, O_CLOEXEC))
			abort();
		fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
		pid = fork();
		if (pid < 0)
			abort();
		if (pid == 0) {
			close(p[0]);
			child(p[1], rnd(), seq);
		}
		close(p[1]);
		delay.tv_sec = kill_ms / 1000;
		delay.tv_nsec = (kill_ms % 1000) * 1000000L;
		nanosleep(&delay, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (!WIFSIGNALED(status)) {
			fprintf(stderr, "  round %d: the child exited by itself (status %d)\n", round,
				WEXITSTATUS(status));
			bad++;
		}
		while (read(p[0], &note, sizeof(note)) == (ssize_t)sizeof(note)) {
			seq = note.seq + 1;
			if (!note.ack) {
				pending = note;
				have_pending = true;
				continue;
			}
			have_pending = false;
			acked++;
			if (note.op == OP_REVOKE) {
				struct model_peer *m = model_find(note.name, false);
				if (m)
					m->present = false;
			} else {
				struct model_peer *m = model_find(note.name, true);
				m->enabled = note.enabled;
				memcpy(m->key, note.key, 32);
			}
		}
		close(p[0]);
		if (have_pending) {
			/* Count whether the pending change made it, for the report. */
			struct model_peer *m = model_find(pending.name, false);
			struct model_peer before = m ? *m : (struct model_peer){ 0 };
			int b = check_round(round, &pending);
			struct model_peer *after = model_find(pending.name, false);
			bool changed = (!!after != before.present) ||
				       (after && (after->enabled != before.enabled ||
						  memcmp(after->key, before.key, 32)));
			changed ? pending_in++ : pending_out++;
			if (b)
				fprintf(stderr, "  (the change under way was %s %s)\n", op_name(pending.op),
					pending.name);
			bad += b;
		} else {
			bad += check_round(round, NULL);
		}
	}
	printf("info: %d rounds, %ld acknowledged changes, the change under way at the kill: "
	       "%ld made it, %ld did not\n", ROUNDS, acked, pending_in, pending_out);
	CHECK_INT(bad, 0);
	CHECK(acked > ROUNDS);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	const char *s = getenv("ZWG_CRASH_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);

	log_init("crash", LOG_LEVEL_SILENT);
	printf("info: seed %llu (ZWG_CRASH_SEED=%llu replays it)\n", (unsigned long long)seed,
	       (unsigned long long)seed);
	rng = seed | 1;
	if (!crypto_init())
		return 1;
	snprintf(dir, sizeof(dir), "%s/zwg-crash-%d-XXXXXX", tmp, (int)getpid());
	if (!mkdtemp(dir))
		return 1;
	chmod(dir, 0700);
	snprintf(uri, sizeof(uri), "sealed:%s/store", dir);
	atexit(cleanup);
	skey = store_key_new();
	if (!skey || store_key_generate(skey))
		return 1;
	memcpy(key_copy, skey->bytes, STORE_KEY_LEN);
	RUN(test_kill9_during_changes);
	TEST_EXIT();
}
