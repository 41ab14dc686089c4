/*
 * torture_test.c - allocation-failure torture (curl's idea) for the store,
 * control and admin API paths: for n = 1, 2, ... the n-th allocation of an
 * operation fails, and the run checks
 *   - no crash (a crash kills the program: tests/run.sh counts it);
 *   - no leak: every allocation made from opening the store to closing it
 *     again is freed (a leak seen once is re-run to tell it from a
 *     library's one-time initialisation, which is not counted);
 *   - no half-written state: re-opened with allocation working, the store
 *     opens, every record authenticates, and its peers are either those
 *     before the operation or those after it, never a mix; and what the
 *     control layer held in memory after the failure is what the store
 *     holds.
 * Each loop ends when the operation succeeds with no failure injected
 * (bounded by MAX_N).  The store is a sealed one in a temporary directory
 * (under /dev/shm when there is one: thousands of fsyncs), restored from a
 * template before every run.
 *
 * Mechanism: this program defines malloc, calloc, realloc, free, strdup
 * and strndup, which glibc lets an executable do (its own internal calls
 * come here too).  They forward to glibc's (dlsym RTLD_NEXT) or, in a SAN
 * build, straight to AddressSanitizer's __interceptor_* entry points (no
 * dlsym while ASan starts; these functions are not instrumented, as they
 * run before ASan is set up), so ASan still sees every block and its leak
 * checker still runs at exit.  strdup/strndup are defined because ASan
 * intercepts them (they would bypass the counting).  Allocations are
 * tracked by address in a fixed table (no allocation of our own); one
 * freed that was not tracked (made before tracking began, or by another
 * ASan interceptor) is passed on and not counted.  Blocks that libcrypto
 * allocated itself and keeps (its error queue is cleared; its method
 * cache keeps what a half-failed fetch made) are counted apart and
 * printed, not failed: they stay reachable, and LeakSanitizer in the SAN
 * build reports any that do not.
 *
 * Knobs: ZWG_TORTURE_ONLY=<op name> (as printed) runs one loop,
 * ZWG_TORTURE_N=n only its n-th allocation failing, ZWG_TORTURE_TRACE=1
 * prints the stack of each injected failure and of each leaked block.
 *
 * It found: jansson 2.14's json_dumps dropping an object key when its
 * buffer fails to grow and returning the malformed text as a success, so
 * control_peer_add stored a peer record (and once the server record) that
 * no one could read back: the store then did not open (fixed in
 * model_json.c: encode() dumps into a measured buffer).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>

#include "test.h"
#include "api.h"
#include "audit.h"
#include "control.h"
#include "crypto.h"
#include "log.h"
#include "model.h"
#include "store.h"

#define MAX_N 20000
#define TABLE_BITS 18
#define TABLE_SIZE (1u << TABLE_BITS)

/* ---- the allocator ---- */

/* The allocator runs before the sanitizers are set up: not instrumented. */
#define NO_SAN __attribute__((no_sanitize("address", "undefined")))

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);

/* dlsym may allocate before the real functions are known. */
static _Alignas(16) char boot_arena[8192];
static size_t boot_used;

static atomic_bool armed;		/* failures are injected */
static atomic_long alloc_count;		/* allocations while armed */
static long fail_at;			/* the one that fails (1-based) */
static atomic_bool tracking;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t table[TABLE_SIZE];
#define TRACE_FRAMES 6
static void *table_where[TABLE_SIZE][TRACE_FRAMES];	/* ZWG_TORTURE_TRACE only */
static void *table_caller[TABLE_SIZE];	/* who called malloc */
static size_t table_used;
static bool table_overflow;

#ifdef __SANITIZE_ADDRESS__
/* AddressSanitizer's own entry points (its malloc & co. are weak aliases
 * of these): no dlsym, which would run while ASan is still starting. */
void *__interceptor_malloc(size_t n);
void *__interceptor_calloc(size_t a, size_t b);
void *__interceptor_realloc(void *p, size_t n);
void __interceptor_free(void *p);

NO_SAN static void resolve(void)
{
	real_malloc = __interceptor_malloc;
	real_calloc = __interceptor_calloc;
	real_realloc = __interceptor_realloc;
	real_free = __interceptor_free;
}
#else
static atomic_int resolving;

static void resolve(void)
{
	if (real_malloc || atomic_fetch_add(&resolving, 1))
		return;
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
}
#endif

NO_SAN static void *boot_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (boot_used + n > sizeof(boot_arena))
		return NULL;
	p = boot_arena + boot_used;
	boot_used += n;
	return p;
}

NO_SAN static bool is_boot(const void *p)
{
	return (const char *)p >= boot_arena && (const char *)p < boot_arena + sizeof(boot_arena);
}

NO_SAN static size_t slot_of(uintptr_t p)
{
	return (size_t)((p >> 4) * 0x9e3779b97f4a7c15ull >> (64 - TABLE_BITS));
}

static bool trace;

NO_SAN static void track_add(void *ptr, void *caller)
{
	uintptr_t p = (uintptr_t)ptr;
	void *where[TRACE_FRAMES + 2] = { 0 };

	if (!p || !atomic_load(&tracking))
		return;
	if (trace)
		backtrace(where, TRACE_FRAMES + 2);
	pthread_mutex_lock(&table_lock);
	if (table_used >= TABLE_SIZE / 2) {
		table_overflow = true;
	} else {
		size_t i = slot_of(p);
		while (table[i])
			i = (i + 1) & (TABLE_SIZE - 1);
		table[i] = p;
		table_caller[i] = caller;
		memcpy(table_where[i], where + 2, sizeof(table_where[i]));
		table_used++;
	}
	pthread_mutex_unlock(&table_lock);
}

/* Linear probing with backward-shift deletion: no tombstones. */
NO_SAN static void track_del(void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	size_t i, j;

	if (!p || !table_used)
		return;
	pthread_mutex_lock(&table_lock);
	for (i = slot_of(p); table[i] && table[i] != p; i = (i + 1) & (TABLE_SIZE - 1))
		;
	if (table[i] == p) {
		table[i] = 0;
		table_used--;
		for (j = (i + 1) & (TABLE_SIZE - 1); table[j]; j = (j + 1) & (TABLE_SIZE - 1)) {
			size_t home = slot_of(table[j]);
			/* table[j] may move to i if i lies cyclically in [home, j) */
			if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
				table[i] = table[j];
				table_caller[i] = table_caller[j];
				memcpy(table_where[i], table_where[j], sizeof(table_where[i]));
				table[j] = 0;
				i = j;
			}
		}
	}
	pthread_mutex_unlock(&table_lock);
}

/* ZWG_TORTURE_TRACE=1: print the stack of every injected failure and of
 * every leaked block (to find the code behind a reported n). */
static void print_leaks(void)
{
	for (size_t i = 0; trace && i < TABLE_SIZE; i++)
		if (table[i]) {
			fprintf(stderr, "  -- leaked block %#lx from:\n", (unsigned long)table[i]);
			backtrace_symbols_fd(table_where[i], TRACE_FRAMES, 2);
		}
}
/* ZWG_TORTURE_N=n: only that n (with ZWG_TORTURE_ONLY=op name). */
static long only_n;
static const char *only_op;

/* true if this allocation is to fail. */
NO_SAN static bool inject(void)
{
	if (!atomic_load(&armed))
		return false;
	if (atomic_fetch_add(&alloc_count, 1) + 1 != fail_at)
		return false;
	if (trace) {
		void *frames[24];
		int n = backtrace(frames, 24);

		fprintf(stderr, "  -- allocation %ld fails here:\n", fail_at);
		backtrace_symbols_fd(frames, n, 2);
	}
	return true;
}

NO_SAN void *malloc(size_t n)
{
	void *p;

	resolve();
	if (!real_malloc)
		return boot_alloc(n);
	if (inject()) {
		errno = ENOMEM;
		return NULL;
	}
	p = real_malloc(n);
	track_add(p, __builtin_return_address(0));
	return p;
}

NO_SAN void *calloc(size_t a, size_t b)
{
	void *p;

	resolve();
	if (!real_calloc)
		return boot_alloc(a * b);	/* the arena is zeroed */
	if (inject()) {
		errno = ENOMEM;
		return NULL;
	}
	p = real_calloc(a, b);
	track_add(p, __builtin_return_address(0));
	return p;
}

NO_SAN void *realloc(void *old, size_t n)
{
	void *p;

	resolve();
	if (is_boot(old)) {
		p = malloc(n);
		if (p)
			memcpy(p, old, n);	/* the arena outlives any size */
		return p;
	}
	if (!real_realloc)
		return boot_alloc(n);
	if (inject()) {
		errno = ENOMEM;
		return NULL;
	}
	p = real_realloc(old, n);
	if (p || !n) {
		track_del(old);
		track_add(p, __builtin_return_address(0));
	}
	return p;
}

NO_SAN void free(void *p)
{
	if (!p || is_boot(p))
		return;
	resolve();
	track_del(p);
	real_free(p);
}

NO_SAN static void *alloc_for(size_t n, void *caller)
{
	void *p;

	resolve();
	if (!real_malloc)
		return boot_alloc(n);
	if (inject()) {
		errno = ENOMEM;
		return NULL;
	}
	p = real_malloc(n);
	track_add(p, caller);
	return p;
}

NO_SAN char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = alloc_for(n, __builtin_return_address(0));

	if (d)
		memcpy(d, s, n);
	return d;
}

NO_SAN char *strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *d = alloc_for(n + 1, __builtin_return_address(0));

	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

static void track_begin(void)
{
	pthread_mutex_lock(&table_lock);
	memset(table, 0, sizeof(table));
	table_used = 0;
	table_overflow = false;
	pthread_mutex_unlock(&table_lock);
	atomic_store(&tracking, true);
}

static long openssl_retained;

/* The allocations made since track_begin that are still live (-1 if the
 * table overflowed).  Blocks that libcrypto itself allocated are counted
 * apart (openssl_retained): a fetch that fails half-way leaves entries in
 * OpenSSL's method cache, which stay reachable from its library context;
 * LeakSanitizer (the SAN build) still reports any that become
 * unreachable, such as a context our code failed to free. */
static long track_end(void)
{
	long ours = 0;

	atomic_store(&tracking, false);
	if (table_overflow)
		return -1;
	for (size_t i = 0; i < TABLE_SIZE; i++) {
		Dl_info info;

		if (!table[i])
			continue;
		if (dladdr(table_caller[i], &info) && info.dli_fname && strstr(info.dli_fname, "libcrypto")) {
			openssl_retained++;
			table[i] = 0;	/* not printed as ours */
		} else {
			ours++;
		}
	}
	return ours;
}

static void arm(long n)
{
	fail_at = n;
	atomic_store(&alloc_count, 0);
	atomic_store(&armed, true);
}

/* true if the armed run reached its failure. */
static bool disarm(void)
{
	atomic_store(&armed, false);
	return atomic_load(&alloc_count) >= fail_at;
}

/* ---- the store fixture ---- */

static char base[128], dir[160], tmpl[160], uri[180];
static struct store_key *skey;

static int copy_dir(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *de;
	char a[400], b[400], buf[65536];
	int ret = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int in, out;
		ssize_t r;

		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		snprintf(a, sizeof(a), "%s/%s", from, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, de->d_name);
		in = open(a, O_RDONLY | O_CLOEXEC);
		out = open(b, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (in < 0 || out < 0)
			ret = -EIO;
		while (ret == 0 && (r = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)r) != r)
				ret = -EIO;
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
	}
	closedir(d);
	return ret;
}

static void empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char p[400];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		unlink(p);
	}
	closedir(d);
}

static void restore(void)
{
	empty_dir(dir);
	if (copy_dir(tmpl, dir))
		abort();
}

static void cleanup(void)
{
	empty_dir(dir);
	empty_dir(tmpl);
	rmdir(dir);
	rmdir(tmpl);
	rmdir(base);
}

static struct peer_add_request add_req(const char *name)
{
	struct peer_add_request r = { .name = name, .keep_key = true, .persistent_keepalive = -1 };

	return r;
}

static void setup(void)
{
	struct store *st;
	struct control *ctl;
	struct control_error e;
	struct peer_add_result res;
	const char *root = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	log_init("torture", LOG_LEVEL_SILENT);
	/* The API writes an audit line per change: not into the test's output. */
	audit_set_output(fopen("/dev/null", "w"));
	only_n = getenv("ZWG_TORTURE_N") ? atol(getenv("ZWG_TORTURE_N")) : 0;
	only_op = getenv("ZWG_TORTURE_ONLY");
	if (getenv("ZWG_TORTURE_TRACE")) {
		void *f[2];

		backtrace(f, 2);	/* loads libgcc now, not while armed */
		trace = true;
	}
	CHECK(crypto_init());
	snprintf(base, sizeof(base), "%s/zwg-torture-%d-XXXXXX", root, (int)getpid());
	if (!mkdtemp(base))
		abort();
	chmod(base, 0700);
	snprintf(dir, sizeof(dir), "%s/store", base);
	snprintf(tmpl, sizeof(tmpl), "%s/template", base);
	snprintf(uri, sizeof(uri), "sealed:%s", dir);
	atexit(cleanup);
	skey = store_key_new();
	if (!skey || store_key_generate(skey))
		abort();
	if (store_create(uri, skey, &st, NULL, 0))
		abort();
	CHECK_INT(control_init_server(st, NULL, &e), 0);
	CHECK_INT(control_open(st, &ctl, &e), 0);
	const char *names[] = { "alice", "bob", "carol" };
	for (size_t i = 0; i < 3; i++) {
		struct peer_add_request r = add_req(names[i]);
		memset(&res, 0, sizeof(res));
		CHECK_INT(control_peer_add(ctl, &r, &res, NULL, &e), 0);
		control_peer_add_result_free(&res);
	}
	CHECK_INT(control_peer_set_enabled(ctl, "bob", false, NULL, NULL, &e), 0);
	control_close(ctl);
	store_close(st);
	if (mkdir(tmpl, 0700) || copy_dir(dir, tmpl))
		abort();
}

/* ---- views of the state ---- */

/* "name enabled same|new|KEY;" per peer, sorted; the target's key is
 * "same" or "new" against before_key (its key before the operation). */
static char *view_of(struct peer_record *p, size_t n, const char *target, const uint8_t *before_key)
{
	size_t cap = 64 + n * 128, len = 0;
	char *s = malloc(cap);

	if (!s)
		abort();
	s[0] = 0;
	for (size_t i = 0; i < n; i++) {
		char key[64];

		if (target && !strcmp(p[i].name, target))
			snprintf(key, sizeof(key), "%s",
				 before_key && !memcmp(before_key, p[i].public_key, MODEL_KEY_LEN) ? "same" : "new");
		else
			for (size_t k = 0; k < 8; k++)
				snprintf(key + 2 * k, 3, "%02x", p[i].public_key[k]);
		len += (size_t)snprintf(s + len, cap - len, "%s %d %s;", p[i].name, p[i].enabled, key);
	}
	return s;
}

static char *ctl_view(struct control *ctl, const char *target, const uint8_t *before_key)
{
	struct peer_record *p;
	size_t n;
	char *v;

	if (control_peer_list(ctl, &p, &n))
		return NULL;
	v = view_of(p, n, target, before_key);
	model_peer_array_free(p, n);
	return v;
}

/* Re-opens the store (allocation working): it must open, every record
 * must authenticate; returns the control's view. */
static char *store_view(const char *target, const uint8_t *before_key, const char *what)
{
	struct store *st;
	struct control *ctl;
	struct control_error e;
	char **keys;
	size_t n;
	char *v = NULL;

	if (store_open(uri, skey, &st, NULL, 0)) {
		fprintf(stderr, "  %s: the store does not open: %s\n", what, store_last_error());
		return NULL;
	}
	if (store_list(st, "", &keys, &n)) {
		fprintf(stderr, "  %s: a record fails: %s\n", what, store_last_error());
		store_close(st);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t *val;
		size_t len;

		if (store_get(st, keys[i], &val, &len, NULL)) {
			fprintf(stderr, "  %s: record %s: %s\n", what, keys[i], store_last_error());
			store_list_free(keys, n);
			store_close(st);
			return NULL;
		}
		store_value_free(val, len);
	}
	store_list_free(keys, n);
	if (control_open(st, &ctl, &e) == 0) {
		v = ctl_view(ctl, target, before_key);
		control_close(ctl);
	} else {
		fprintf(stderr, "  %s: control_open: %s\n", what, e.msg);
	}
	store_close(st);
	return v;
}

/* ---- the torture loop ---- */

struct op {
	const char *name;
	const char *target;	/* the peer it changes (its key: same/new) */
	/* Runs on an open control (ctl may be NULL for store-only ops);
	 * 0 on success. */
	int (*run)(struct store *st, struct control *ctl);
	bool needs_control;	/* open the control before arming */
};

static int run_store_put(struct store *st, struct control *ctl)
{
	static const uint8_t v[] = "{\"torture\":true}";

	return store_put(st, "torture/x", v, sizeof(v), STORE_ANY_VERSION, NULL);
}

static int run_store_get(struct store *st, struct control *ctl)
{
	uint8_t *v;
	size_t len;
	int ret = store_get(st, "server", &v, &len, NULL);

	if (!ret)
		store_value_free(v, len);
	return ret;
}

static int run_store_delete(struct store *st, struct control *ctl)
{
	char **keys;
	size_t n;
	int ret = store_list(st, "peers/", &keys, &n);

	if (ret)
		return ret;
	ret = n ? store_delete(st, keys[n - 1], STORE_ANY_VERSION) : -ENOENT;
	store_list_free(keys, n);
	return ret;
}

static int run_peer_add(struct store *st, struct control *ctl)
{
	struct peer_add_request r = add_req("dave");
	struct peer_add_result res;
	struct control_error e;
	int ret;

	memset(&res, 0, sizeof(res));
	ret = control_peer_add(ctl, &r, &res, NULL, &e);
	control_peer_add_result_free(&res);
	return ret;
}

static int run_rotate(struct store *st, struct control *ctl)
{
	struct peer_add_result res;
	struct control_error e;
	int ret;

	memset(&res, 0, sizeof(res));
	ret = control_peer_rotate(ctl, "alice", true, &res, NULL, &e);
	control_peer_add_result_free(&res);
	return ret;
}

static int run_revoke(struct store *st, struct control *ctl)
{
	struct control_error e;

	return control_peer_revoke(ctl, "carol", NULL, &e);
}

static int run_disable(struct store *st, struct control *ctl)
{
	struct control_error e;

	return control_peer_set_enabled(ctl, "alice", false, NULL, NULL, &e);
}

static int run_enable(struct store *st, struct control *ctl)
{
	struct control_error e;

	return control_peer_set_enabled(ctl, "bob", true, NULL, NULL, &e);
}

static int run_reload(struct store *st, struct control *ctl)
{
	struct control_error e;

	return control_reload(ctl, NULL, &e);
}

static int run_control_open(struct store *st, struct control *ctl)
{
	struct control *c;
	struct control_error e;
	int ret = control_open(st, &c, &e);

	if (!ret)
		control_close(c);
	return ret;
}

static int api_call(struct control *ctl, const char *method, const char *path, const char *body,
		    unsigned ok_status)
{
	struct api api = { .ctl = ctl };
	struct api_request req = {
		.method = method, .path = path, .body = body, .len = body ? strlen(body) : 0,
		.transport = API_TRANSPORT_UNIX, .has_cred = true, .uid = 0,
	};
	struct api_reply r;
	int ret = api_handle(&api, &req, &r);

	if (ret == 0 && r.status != ok_status)
		ret = -EIO;
	api_reply_free(&r);
	return ret;
}

static int run_api_list(struct store *st, struct control *ctl)
{
	return api_call(ctl, "GET", "/v1/peers", NULL, 200);
}

static int run_api_add(struct store *st, struct control *ctl)
{
	return api_call(ctl, "POST", "/v1/peers", "{\"name\":\"dave\"}", 201);
}

static int run_api_disable(struct store *st, struct control *ctl)
{
	return api_call(ctl, "POST", "/v1/peers/alice/disable", NULL, 200);
}

static int run_api_rotate(struct store *st, struct control *ctl)
{
	return api_call(ctl, "POST", "/v1/peers/alice/rotate", "{\"keep_key\":true}", 200);
}

static int run_api_revoke(struct store *st, struct control *ctl)
{
	return api_call(ctl, "DELETE", "/v1/peers/carol", NULL, 204);
}

static const struct op ops[] = {
	{ "store_open", NULL, NULL, false },
	{ "store_put", NULL, run_store_put, false },
	{ "store_get", NULL, run_store_get, false },
	{ "store_delete", "carol", run_store_delete, false },
	{ "control_open", NULL, run_control_open, false },
	{ "control_peer_add", "dave", run_peer_add, true },
	{ "control_peer_rotate", "alice", run_rotate, true },
	{ "control_peer_revoke", "carol", run_revoke, true },
	{ "control_peer_set_enabled(false)", "alice", run_disable, true },
	{ "control_peer_set_enabled(true)", "bob", run_enable, true },
	{ "control_reload", NULL, run_reload, true },
	{ "api GET /v1/peers", NULL, run_api_list, true },
	{ "api POST /v1/peers", "dave", run_api_add, true },
	{ "api POST /v1/peers/alice/disable", "alice", run_api_disable, true },
	{ "api POST /v1/peers/alice/rotate", "alice", run_api_rotate, true },
	{ "api DELETE /v1/peers/carol", "carol", run_api_revoke, true },
};

struct outcome {
	int ret;
	bool reached;		/* the injected failure happened */
	long leaked;		/* live allocations after close; -1 overflow */
	char *mem_view;		/* the control's view right after the op */
};

/* One run with the n-th allocation failing (n = 0: none).  The store is
 * opened (and the control, if the op needs it) before arming, for ops on
 * a running server; store_open itself is the op when run is NULL. */
static struct outcome run_once(const struct op *op, long n, const uint8_t *before_key)
{
	struct outcome o = { 0 };
	struct store *st = NULL;
	struct control *ctl = NULL;
	struct control_error e;

	restore();
	track_begin();
	if (!op->run) {
		arm(n ? n : LONG_MAX);
		o.ret = store_open(uri, skey, &st, NULL, 0);
		o.reached = disarm() && n;
	} else {
		if (store_open(uri, skey, &st, NULL, 0) ||
		    (op->needs_control && control_open(st, &ctl, &e)))
			abort();
		arm(n ? n : LONG_MAX);
		o.ret = op->run(st, ctl);
		o.reached = disarm() && n;
	}
	if (ctl) {
		o.mem_view = ctl_view(ctl, op->target, before_key);
		track_del(o.mem_view);	/* the test's, freed later */
		control_close(ctl);
	}
	if (st)
		store_close(st);
	/* OpenSSL keeps the file and function names of its errors in the
	 * thread's error queue until they are overwritten: not a leak. */
	ERR_clear_error();
	o.leaked = track_end();
	return o;
}

static void torture(const struct op *op)
{
	struct peer_record *p;
	uint8_t before_key[MODEL_KEY_LEN] = { 0 };
	char *before, *after;
	struct outcome o;
	long n, failures = 0, leaks = 0, mixed = 0, diverged = 0;

	if (only_op && strcmp(only_op, op->name))
		return;

	/* The key of the target before, and the views before and after. */
	restore();
	{
		struct store *st;
		struct control *ctl;
		struct control_error e;
		size_t cnt;

		if (store_open(uri, skey, &st, NULL, 0) || control_open(st, &ctl, &e))
			abort();
		if (op->target && control_peer_list(ctl, &p, &cnt) == 0) {
			for (size_t i = 0; i < cnt; i++)
				if (!strcmp(p[i].name, op->target))
					memcpy(before_key, p[i].public_key, MODEL_KEY_LEN);
			model_peer_array_free(p, cnt);
		}
		control_close(ctl);
		store_close(st);
	}
	before = store_view(op->target, before_key, op->name);
	/* Warm-up: one-time initialisations happen here, untested. */
	o = run_once(op, 0, before_key);
	CHECK_INT(o.ret, 0);
	free(o.mem_view);
	after = store_view(op->target, before_key, op->name);
	CHECK(before && after);
	if (!before || !after)
		goto out;

	for (n = only_n ? only_n : 1; n <= (only_n ? only_n : MAX_N); n++) {
		char *v;

		o = run_once(op, n, before_key);
		if (!o.reached) {
			/* Done: it ran to the end with no failure left to inject. */
			CHECK_INT(o.ret, 0);
			free(o.mem_view);
			break;
		}
		if (o.ret)
			failures++;
		if (o.leaked > 0) {
			/* Once more: a library's one-time allocation does not repeat. */
			free(o.mem_view);
			o = run_once(op, n, before_key);
			if (o.leaked > 0) {
				print_leaks();
				leaks++;
				if (leaks <= 5)
					fprintf(stderr, "  %s: allocation %ld failing (ret %d) leaks %ld blocks\n",
						op->name, n, o.ret, o.leaked);
			}
		}
		v = store_view(op->target, before_key, op->name);
		if (!v || (strcmp(v, before) && strcmp(v, after))) {
			mixed++;
			if (mixed <= 5)
				fprintf(stderr, "  %s: allocation %ld failing (ret %d): store is\n    %s\n"
					"  neither before\n    %s\n  nor after\n    %s\n", op->name, n, o.ret,
					v ? v : "(unreadable)", before, after);
		} else if (o.mem_view && strcmp(o.mem_view, v)) {
			diverged++;
			if (diverged <= 5)
				fprintf(stderr, "  %s: allocation %ld failing (ret %d): memory\n    %s\n"
					"  differs from the store\n    %s\n", op->name, n, o.ret, o.mem_view, v);
		}
		free(v);
		free(o.mem_view);
	}
	printf("info: %s: %ld allocations tortured, %ld failed cleanly, %ld leaks, %ld half-written, "
	       "%ld memory/store divergences (OpenSSL kept %ld blocks of its own)\n", op->name, n - 1,
	       failures, leaks, mixed, diverged, openssl_retained);
	openssl_retained = 0;
	CHECK(n <= MAX_N);
	CHECK_INT(leaks, 0);
	CHECK_INT(mixed, 0);
	CHECK_INT(diverged, 0);
out:
	free(before);
	free(after);
}

/* ---- model JSON ---- */

static void test_model_json(void)
{
	struct store *st;
	uint8_t *val;
	size_t len;
	long n, leaks = 0;
	int ret;

	if (only_op && strcmp(only_op, "model_json"))
		return;
	restore();
	if (store_open(uri, skey, &st, NULL, 0) || store_get(st, "peers/alice", &val, &len, NULL))
		abort();
	store_close(st);
	for (n = 1; n <= MAX_N; n++) {
		struct peer_record p, q;
		struct control_error e;
		char *out = NULL;
		size_t out_len = 0;
		bool reached;

		memset(&p, 0, sizeof(p));
		memset(&q, 0, sizeof(q));
		track_begin();
		arm(n);
		ret = model_peer_decode(val, len, &p, &e);
		if (ret == 0)
			ret = model_peer_encode(&p, &out, &out_len);
		if (ret == 0)
			ret = model_peer_decode((const uint8_t *)out, out_len, &q, &e);
		reached = disarm();
		if (ret == 0) {
			CHECK(!strcmp(p.name, q.name) && !memcmp(p.public_key, q.public_key, MODEL_KEY_LEN) &&
			      p.enabled == q.enabled);
		}
		if (out)
			model_buffer_free(out, out_len);
		model_peer_free(&p);
		model_peer_free(&q);
		ERR_clear_error();
		if (track_end() > 0)
			leaks++;
		if (!reached) {
			CHECK_INT(ret, 0);
			break;
		}
	}
	store_value_free(val, len);
	printf("info: model JSON decode/encode/decode: %ld allocations tortured, %ld leaks\n", n - 1, leaks);
	CHECK_INT(leaks, 0);
	CHECK(n <= MAX_N);
}

static const struct op *find_op(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(ops[i].name, name))
			return &ops[i];
	abort();
}

static void test_store_open(void) { torture(find_op("store_open")); }
static void test_store_put(void) { torture(find_op("store_put")); }
static void test_store_get(void) { torture(find_op("store_get")); }
static void test_store_delete(void) { torture(find_op("store_delete")); }
static void test_control_open(void) { torture(find_op("control_open")); }
static void test_peer_add(void) { torture(find_op("control_peer_add")); }
static void test_peer_rotate(void) { torture(find_op("control_peer_rotate")); }
static void test_peer_revoke(void) { torture(find_op("control_peer_revoke")); }
static void test_peer_disable(void) { torture(find_op("control_peer_set_enabled(false)")); }
static void test_peer_enable(void) { torture(find_op("control_peer_set_enabled(true)")); }
static void test_reload(void) { torture(find_op("control_reload")); }
static void test_api_list(void) { torture(find_op("api GET /v1/peers")); }
static void test_api_add(void) { torture(find_op("api POST /v1/peers")); }
static void test_api_disable(void) { torture(find_op("api POST /v1/peers/alice/disable")); }
static void test_api_rotate(void) { torture(find_op("api POST /v1/peers/alice/rotate")); }
static void test_api_revoke(void) { torture(find_op("api DELETE /v1/peers/carol")); }

int main(void)
{
	setup();
	RUN(test_store_open);
	RUN(test_store_put);
	RUN(test_store_get);
	RUN(test_store_delete);
	RUN(test_control_open);
	RUN(test_model_json);
	RUN(test_peer_add);
	RUN(test_peer_rotate);
	RUN(test_peer_revoke);
	RUN(test_peer_disable);
	RUN(test_peer_enable);
	RUN(test_reload);
	RUN(test_api_list);
	RUN(test_api_add);
	RUN(test_api_disable);
	RUN(test_api_rotate);
	RUN(test_api_revoke);
	TEST_EXIT();
}
