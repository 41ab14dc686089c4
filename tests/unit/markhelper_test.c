/*
 * markhelper_test.c - zerowgd's fwmark helper (src/dataplane/markhelper.c):
 *   - the codec: round trips; every wrong size, unknown op and out-of-range
 *     error is refused;
 *   - markhelper_serve in a thread, driven with raw messages: a UDP socket
 *     (IPv4, IPv6) gets its mark (read back with getsockopt SO_MARK); a TCP
 *     socket, a unix socket, a pipe, no fd, two fds, a short, long or
 *     unknown request are refused, and every fd that came is closed; it
 *     keeps serving after each refusal;
 *   - at EOF it removes only its own socket file: not one replaced at the
 *     same path, not the same inode after a chmod (ctime), nothing if the
 *     file is gone;
 *   - markhelper_start for real: the client marks a socket through the
 *     child; the child holds fds 0-3 only, CAP_NET_ADMIN alone,
 *     no_new_privs; stop makes it remove the file and exit 0;
 *   - a dead helper (SIGKILL): -EPERM at once, every time, no hang; a silent
 *     one: -ETIMEDOUT after MARKHELPER_TIMEOUT_MS, then -EPERM; a lying one
 *     (wrong size, a positive error, an fd in the reply): -EPROTO, then
 *     -EPERM.
 * Marking needs CAP_NET_ADMIN: without it the tests expect -EPERM from the
 * helper instead and say so on stderr.
 */
#include "test.h"
#include "markhelper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers -- */

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

static uint32_t mark_of(int fd)
{
	uint32_t m = 0xdeadbeef;
	socklen_t len = sizeof(m);

	if (getsockopt(fd, SOL_SOCKET, SO_MARK, &m, &len) < 0)
		return 0xdeadbeef;
	return m;
}

/* Whether this process may set SO_MARK itself (CAP_NET_ADMIN). */
static bool can_mark(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint32_t m = 7;
	bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static int udp(int family)
{
	return socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends len bytes of buf with fds[0..nfd) on fd; then reads the reply's
 * error (or INT32_MIN if none came or it was not a valid reply). */
static int32_t raw_call(int fd, const void *buf, size_t len, const int *fds, int nfd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cbuf;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint8_t in[MARKHELPER_REPLY_SIZE + 1];
	int32_t error;
	ssize_t n;

	memset(&cbuf, 0, sizeof(cbuf));
	if (nfd > 0) {
		struct cmsghdr *c;
		m.msg_control = cbuf.b;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfd);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfd);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfd);
	}
	if (sendmsg(fd, &m, MSG_NOSIGNAL) != (ssize_t)len)
		return INT32_MIN;
	n = recv(fd, in, sizeof(in), 0);
	if (n < 0 || markhelper_reply_parse(in, (size_t)n, &error) < 0)
		return INT32_MIN;
	return error;
}

static int32_t raw_set(int fd, int sock, uint32_t mark)
{
	struct markhelper_request req = { MARKHELPER_OP_SET_MARK, mark };
	uint8_t out[MARKHELPER_REQUEST_SIZE];

	markhelper_request_encode(&req, out);
	return raw_call(fd, out, sizeof(out), &sock, sock >= 0 ? 1 : 0);
}

/* markhelper_serve in a thread. */
struct server {
	pthread_t thread;
	int fd;			/* the helper's end */
	int client;		/* ours */
	const struct markhelper_file *own;
	int ret;
};

static void *serve_thread(void *arg)
{
	struct server *s = arg;

	s->ret = markhelper_serve(s->fd, s->own);
	close(s->fd);
	return NULL;
}

static bool server_start(struct server *s, const struct markhelper_file *own)
{
	int sv[2];

	memset(s, 0, sizeof(*s));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return false;
	s->fd = sv[1];
	s->client = sv[0];
	s->own = own;
	s->ret = 1;
	return pthread_create(&s->thread, NULL, serve_thread, s) == 0;
}

static int server_stop(struct server *s)
{
	close(s->client);
	pthread_join(s->thread, NULL);
	return s->ret;
}

/* A bound unix socket file at path (the UAPI socket's stand-in); its fd. */
static int bind_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		abort();
	return fd;
}

static char tmpdir[64];

static void path_in_tmp(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* -------------------------------------------------------------- codec -- */

static void test_codec(void)
{
	struct markhelper_request req = { MARKHELPER_OP_SET_MARK, 0x1234 }, got;
	uint8_t buf[MARKHELPER_REQUEST_SIZE + 4], rep[MARKHELPER_REPLY_SIZE + 4];
	const uint32_t bad_ops[] = { 0, 2, 0x100, 0xffffffffu };
	const int32_t bad_errors[] = { 1, 4096, -4096, INT32_MIN, INT32_MAX };
	int32_t e;

	memset(buf, 0, sizeof(buf));
	markhelper_request_encode(&req, buf);
	CHECK_INT(markhelper_request_parse(buf, MARKHELPER_REQUEST_SIZE, &got), 0);
	CHECK_INT(got.op, MARKHELPER_OP_SET_MARK);
	CHECK_INT(got.mark, 0x1234);
	req.mark = 0xffffffffu;
	markhelper_request_encode(&req, buf);
	CHECK_INT(markhelper_request_parse(buf, MARKHELPER_REQUEST_SIZE, &got), 0);
	CHECK_INT(got.mark, 0xffffffffu);
	/* Every size but the one. */
	for (size_t len = 0; len < sizeof(buf); len++)
		if (len != MARKHELPER_REQUEST_SIZE)
			CHECK_INT(markhelper_request_parse(buf, len, &got), -EMSGSIZE);
	for (size_t i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
		struct markhelper_request bad = { bad_ops[i], 1 };
		markhelper_request_encode(&bad, buf);
		CHECK_INT(markhelper_request_parse(buf, MARKHELPER_REQUEST_SIZE, &got), -EINVAL);
	}

	markhelper_reply_encode(0, rep);
	CHECK_INT(markhelper_reply_parse(rep, MARKHELPER_REPLY_SIZE, &e), 0);
	CHECK_INT(e, 0);
	markhelper_reply_encode(-EPERM, rep);
	CHECK_INT(markhelper_reply_parse(rep, MARKHELPER_REPLY_SIZE, &e), 0);
	CHECK_INT(e, -EPERM);
	markhelper_reply_encode(-4095, rep);
	CHECK_INT(markhelper_reply_parse(rep, MARKHELPER_REPLY_SIZE, &e), 0);
	for (size_t len = 0; len < sizeof(rep); len++)
		if (len != MARKHELPER_REPLY_SIZE)
			CHECK_INT(markhelper_reply_parse(rep, len, &e), -EMSGSIZE);
	for (size_t i = 0; i < sizeof(bad_errors) / sizeof(bad_errors[0]); i++) {
		e = 12345;
		markhelper_reply_encode(bad_errors[i], rep);
		CHECK_INT(markhelper_reply_parse(rep, MARKHELPER_REPLY_SIZE, &e), -EPROTO);
		CHECK_INT(e, 12345);	/* untouched */
	}
}

/* ------------------------------------------------------ serve (thread) -- */

static void test_serve_marks_udp(void)
{
	struct server s;
	bool cap = can_mark();
	int fds_before = open_fds();

	if (!cap)
		fprintf(stderr, "  (no CAP_NET_ADMIN: expecting EPERM instead of marks)\n");
	CHECK(server_start(&s, NULL));
	for (int i = 0; i < 2; i++) {
		int fam = i ? AF_INET6 : AF_INET, u = udp(fam);

		if (u < 0) {
			fprintf(stderr, "  (no %s socket here)\n", i ? "IPv6" : "IPv4");
			continue;
		}
		CHECK_INT(raw_set(s.client, u, 0x1234), cap ? 0 : -EPERM);
		if (cap) {
			CHECK_INT(mark_of(u), 0x1234);
			CHECK_INT(raw_set(s.client, u, 0), 0);	/* clearing it */
			CHECK_INT(mark_of(u), 0);
			CHECK_INT(raw_set(s.client, u, 0xffffffffu), 0);
			CHECK_INT(mark_of(u), 0xffffffffu);
		}
		close(u);
	}
	CHECK_INT(server_stop(&s), 0);
	/* The helper closed every fd it was sent. */
	CHECK_INT(open_fds(), fds_before);
}

static void test_serve_refuses(void)
{
	struct markhelper_request req = { MARKHELPER_OP_SET_MARK, 0x55 };
	uint8_t ok[MARKHELPER_REQUEST_SIZE], big[MARKHELPER_REQUEST_SIZE + 8];
	struct server s;
	int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int unx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int u4 = udp(AF_INET), u4b = udp(AF_INET), p[2];
	int two[2], fds_before;
	bool cap = can_mark();

	CHECK(tcp >= 0 && unx >= 0 && u4 >= 0 && u4b >= 0);
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	fds_before = open_fds();
	markhelper_request_encode(&req, ok);
	memset(big, 0, sizeof(big));
	memcpy(big, ok, sizeof(ok));
	CHECK(server_start(&s, NULL));

	CHECK_INT(raw_set(s.client, tcp, 0x55), -EINVAL);
	CHECK_INT(raw_set(s.client, unx, 0x55), -EINVAL);
	CHECK_INT(raw_set(s.client, p[0], 0x55), -EINVAL);
	CHECK_INT(raw_set(s.client, p[1], 0x55), -EINVAL);
	CHECK_INT(raw_set(s.client, -1, 0x55), -EBADF);		/* no fd */
	two[0] = u4;
	two[1] = u4b;
	CHECK_INT(raw_call(s.client, ok, sizeof(ok), two, 2), -EINVAL);
	CHECK_INT(raw_call(s.client, ok, 4, &u4, 1), -EMSGSIZE);	/* short */
	CHECK_INT(raw_call(s.client, big, MARKHELPER_REQUEST_SIZE + 1, &u4, 1), -EMSGSIZE);
	CHECK_INT(raw_call(s.client, big, sizeof(big), &u4, 1), -EMSGSIZE);	/* truncated */
	for (uint32_t op = 0; op < 4; op++) {
		struct markhelper_request r = { op, 0x55 };
		uint8_t b[MARKHELPER_REQUEST_SIZE];

		if (op == MARKHELPER_OP_SET_MARK)
			continue;
		markhelper_request_encode(&r, b);
		CHECK_INT(raw_call(s.client, b, sizeof(b), &u4, 1), -EINVAL);
	}
	/* None of those marked anything. */
	CHECK_INT(mark_of(u4), 0);
	CHECK_INT(mark_of(u4b), 0);
	/* And it still serves. */
	CHECK_INT(raw_set(s.client, u4, 0x55), cap ? 0 : -EPERM);
	if (cap)
		CHECK_INT(mark_of(u4), 0x55);
	CHECK_INT(server_stop(&s), 0);
	CHECK_INT(open_fds(), fds_before);	/* every fd it got is closed */
	close(tcp);
	close(unx);
	close(u4);
	close(u4b);
	close(p[0]);
	close(p[1]);
}

/* --------------------------------------------------- the file at EOF -- */

static void test_eof_removes_own_file(void)
{
	struct markhelper_file f;
	struct server s;
	char path[128];
	struct stat st;
	int fd;

	path_in_tmp(path, sizeof(path), "own.sock");
	fd = bind_unix(path);
	CHECK_INT(markhelper_file_note(&f, path), 0);
	CHECK(markhelper_file_is_same(&f));
	CHECK(server_start(&s, &f));
	CHECK_INT(server_stop(&s), 0);
	CHECK(lstat(path, &st) < 0 && errno == ENOENT);
	close(fd);
}

static void test_eof_keeps_replaced_file(void)
{
	struct markhelper_file f;
	struct server s;
	char path[128];
	struct stat st;
	int fd, fd2;

	path_in_tmp(path, sizeof(path), "replaced.sock");
	fd = bind_unix(path);
	CHECK_INT(markhelper_file_note(&f, path), 0);
	/* A new daemon took the name over: a new inode. */
	unlink(path);
	fd2 = bind_unix(path);
	CHECK(!markhelper_file_is_same(&f));
	CHECK(server_start(&s, &f));
	CHECK_INT(server_stop(&s), 0);
	CHECK_INT(lstat(path, &st), 0);
	unlink(path);
	close(fd);
	close(fd2);
}

static void test_eof_keeps_changed_file(void)
{
	struct timespec pause = { 0, 20 * 1000000L };
	struct markhelper_file f;
	struct server s;
	char path[128];
	struct stat st;
	int fd;

	path_in_tmp(path, sizeof(path), "changed.sock");
	fd = bind_unix(path);
	CHECK_INT(markhelper_file_note(&f, path), 0);
	/* Same inode, but changed since (ctime): not the file we noted. */
	nanosleep(&pause, NULL);
	CHECK_INT(chmod(path, 0640), 0);
	CHECK(!markhelper_file_is_same(&f));
	CHECK(server_start(&s, &f));
	CHECK_INT(server_stop(&s), 0);
	CHECK_INT(lstat(path, &st), 0);
	unlink(path);
	close(fd);
}

static void test_eof_file_gone_or_none(void)
{
	struct markhelper_file f;
	struct server s;
	char path[128], longpath[300];

	path_in_tmp(path, sizeof(path), "gone.sock");
	close(bind_unix(path));
	CHECK_INT(markhelper_file_note(&f, path), 0);
	unlink(path);
	CHECK(server_start(&s, &f));
	CHECK_INT(server_stop(&s), 0);
	/* No file at all. */
	CHECK(server_start(&s, NULL));
	CHECK_INT(server_stop(&s), 0);
	CHECK_INT(markhelper_file_note(&f, path), -ENOENT);
	CHECK(!markhelper_file_is_same(&f));
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK_INT(markhelper_file_note(&f, longpath), -ENAMETOOLONG);
	CHECK(!markhelper_file_is_same(&f));
	CHECK(!markhelper_file_is_same(NULL));
}

/* ------------------------------------------------------ the real fork -- */

static unsigned long long status_hex(pid_t pid, const char *field)
{
	char path[64], line[256];
	unsigned long long v = ~0ull;
	size_t n = strlen(field);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			sscanf(line + n + 1, "%llx", &v);
	fclose(f);
	return v;
}

/* The helper's fds, as a string like "0 1 2 3"; false if they cannot be
 * listed (it is not dumpable: only root may look). */
static bool fds_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	int seen[64], n = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	buf[0] = '\0';
	d = opendir(path);
	if (!d)
		return false;
	while ((e = readdir(d)) && n < 64)
		if (e->d_name[0] != '.')
			seen[n++] = atoi(e->d_name);
	closedir(d);
	for (int i = 0; i < n; i++)	/* sorted: small n */
		for (int j = i + 1; j < n; j++)
			if (seen[j] < seen[i]) {
				int t = seen[i];
				seen[i] = seen[j];
				seen[j] = t;
			}
	for (int i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%d", i ? " " : "", seen[i]);
	return true;
}

/* Lets the child get past its set-up (fds closed, capabilities kept). */
static void settle(pid_t pid)
{
	struct timespec t = { 0, 10 * 1000000L };

	for (int i = 0; i < 200; i++) {
		char fds[256];
		bool listed = fds_of(pid, fds, sizeof(fds));
		if ((!listed || !strcmp(fds, "0 1 2 3")) && status_hex(pid, "NoNewPrivs") == 1)
			return;
		nanosleep(&t, NULL);
	}
}

static void test_fork_marks_and_cleans_up(void)
{
	struct markhelper h;
	char err[256] = "", path[128], fds[256];
	int u = udp(AF_INET), tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), lfd;
	int extra = open("/dev/null", O_RDONLY);	/* an fd the child must not keep */
	bool cap = can_mark();
	struct stat st;
	pid_t pid;

	path_in_tmp(path, sizeof(path), "fork.sock");
	lfd = bind_unix(path);
	CHECK_INT(markhelper_start(&h, path, false, err, sizeof(err)), 0);
	pid = h.pid;
	CHECK(pid > 0 && h.fd >= 0 && h.usable);
	settle(pid);
	if (fds_of(pid, fds, sizeof(fds))) {
		if (strcmp(fds, "0 1 2 3"))
			fprintf(stderr, "  helper fds: %s\n", fds);
		CHECK(!strcmp(fds, "0 1 2 3"));
	} else {
		fprintf(stderr, "  (cannot list the helper's fds: not root)\n");
	}
	CHECK_INT(status_hex(pid, "NoNewPrivs"), 1);
	if (cap) {
		CHECK_INT(status_hex(pid, "CapEff"), 1ull << 12);	/* CAP_NET_ADMIN */
		CHECK_INT(status_hex(pid, "CapPrm"), 1ull << 12);
		CHECK_INT(status_hex(pid, "CapBnd"), 1ull << 12);
	}
	CHECK_INT(status_hex(pid, "CapInh"), 0);
	CHECK_INT(status_hex(pid, "CapAmb"), 0);
	/* SIGTERM and SIGINT do not stop it: EOF does. */
	kill(pid, SIGTERM);
	kill(pid, SIGINT);

	CHECK_INT(markhelper_set_mark(&h, u, 0x4242), cap ? 0 : -EPERM);
	if (cap)
		CHECK_INT(mark_of(u), 0x4242);
	CHECK_INT(markhelper_set_mark(&h, tcp, 0x4242), -EINVAL);
	CHECK(h.usable);	/* a refusal is not a broken helper */
	CHECK_INT(markhelper_set_mark(&h, u, 0), cap ? 0 : -EPERM);
	CHECK_INT(mark_of(u), 0);

	CHECK_INT(lstat(path, &st), 0);
	CHECK_INT(markhelper_stop(&h, 2000), 0);
	CHECK(h.pid < 0 && h.fd < 0);
	CHECK(lstat(path, &st) < 0 && errno == ENOENT);
	CHECK(waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD);	/* reaped */
	close(lfd);
	close(u);
	close(tcp);
	close(extra);
}

static void test_fork_dead_helper(void)
{
	struct markhelper h;
	char err[256] = "", path[128];
	int u = udp(AF_INET), lfd;
	struct stat st;
	long long t0;

	path_in_tmp(path, sizeof(path), "dead.sock");
	lfd = bind_unix(path);
	CHECK_INT(markhelper_start(&h, path, false, err, sizeof(err)), 0);
	kill(h.pid, SIGKILL);
	t0 = now_ms();
	CHECK_INT(markhelper_set_mark(&h, u, 0x77), -EPERM);
	CHECK(!h.usable);
	CHECK(h.pid < 0);	/* reaped */
	CHECK_INT(markhelper_set_mark(&h, u, 0x77), -EPERM);
	CHECK_INT(markhelper_set_mark(&h, u, 0x77), -EPERM);
	CHECK(now_ms() - t0 < 1500);
	CHECK_INT(mark_of(u), 0);
	CHECK_INT(markhelper_stop(&h, 500), 0);
	/* Nobody removed it: the daemon logs that it is left behind. */
	CHECK_INT(lstat(path, &st), 0);
	unlink(path);
	close(lfd);
	close(u);
}

/* A helper we play ourselves: h talks to *other. */
static void fake_helper(struct markhelper *h, int *other)
{
	struct timeval tv = { MARKHELPER_TIMEOUT_MS / 1000, (MARKHELPER_TIMEOUT_MS % 1000) * 1000 };
	int sv[2];

	memset(h, 0, sizeof(*h));
	h->fd = h->pid = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	h->fd = sv[0];
	h->usable = true;
	*other = sv[1];
}

static void test_silent_helper(void)
{
	struct markhelper h;
	int other, u = udp(AF_INET);
	long long t0, took;

	fake_helper(&h, &other);
	t0 = now_ms();
	CHECK_INT(markhelper_set_mark(&h, u, 1), -ETIMEDOUT);
	took = now_ms() - t0;
	CHECK(took >= MARKHELPER_TIMEOUT_MS - 100 && took < MARKHELPER_TIMEOUT_MS + 1500);
	CHECK(!h.usable);
	/* Given up on: never waited for again. */
	t0 = now_ms();
	CHECK_INT(markhelper_set_mark(&h, u, 1), -EPERM);
	CHECK(now_ms() - t0 < 100);
	CHECK_INT(markhelper_stop(&h, 0), 0);
	close(other);
	close(u);
}

static void test_lying_helper(void)
{
	const uint8_t short_reply[2] = { 0, 0 };
	uint8_t pos[MARKHELPER_REPLY_SIZE], ok[MARKHELPER_REPLY_SIZE];
	int u = udp(AF_INET), fds_before;

	markhelper_reply_encode(5, pos);
	markhelper_reply_encode(0, ok);
	fds_before = open_fds();
	for (int kind = 0; kind < 3; kind++) {
		struct markhelper h;
		int other;

		fake_helper(&h, &other);
		/* The lie is queued before the request: the client reads it as
		 * the reply. */
		if (kind == 0) {
			CHECK(send(other, short_reply, sizeof(short_reply), 0) == sizeof(short_reply));
		} else if (kind == 1) {
			CHECK(send(other, pos, sizeof(pos), 0) == sizeof(pos));
		} else {
			/* A valid reply that carries an fd. */
			union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } cbuf;
			struct iovec iov = { .iov_base = ok, .iov_len = sizeof(ok) };
			struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
					    .msg_controllen = sizeof(cbuf.b) };
			struct cmsghdr *c;
			int passed = open("/dev/null", O_RDONLY | O_CLOEXEC);

			memset(&cbuf, 0, sizeof(cbuf));
			c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &passed, sizeof(int));
			CHECK(sendmsg(other, &m, 0) == sizeof(ok));
			close(passed);
		}
		CHECK_INT(markhelper_set_mark(&h, u, 1), -EPROTO);
		CHECK(!h.usable);
		CHECK_INT(markhelper_set_mark(&h, u, 1), -EPERM);
		CHECK_INT(markhelper_stop(&h, 0), 0);
		close(other);
	}
	CHECK_INT(open_fds(), fds_before);	/* the fd in the lie was closed */
	CHECK_INT(mark_of(u), 0);
	close(u);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/markhelper_test.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	RUN(test_codec);
	RUN(test_serve_marks_udp);
	RUN(test_serve_refuses);
	RUN(test_eof_removes_own_file);
	RUN(test_eof_keeps_replaced_file);
	RUN(test_eof_keeps_changed_file);
	RUN(test_eof_file_gone_or_none);
	RUN(test_fork_marks_and_cleans_up);
	RUN(test_fork_dead_helper);
	RUN(test_silent_helper);
	RUN(test_lying_helper);
	rmdir(tmpdir);
	TEST_EXIT();
}
