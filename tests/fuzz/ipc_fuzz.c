/*
 * ipc_fuzz.c - fuzz target for the framing of the UAPI socket
 * (src/dataplane/ipc.c): the server's own state machine (accept, partial
 * reads, the resumable end-of-request scan, pipelined requests, replies
 * held back by a full socket buffer, the size limit, the half-close), run
 * on a real device over a real unix socket, one loop iteration at a time,
 * so that each chunk the client sends is what one read() returns.
 * uapi_fuzz covers the set parser on whole inputs; this covers the bytes
 * arriving in pieces.
 *
 * Input: byte 0 chooses the mode:
 *   bits 0-2  how many split-size bytes follow (1..8); they are used in
 *             turn: 0 = a wake-up with nothing sent, 255 = all the rest,
 *             else that many bytes
 *   bit 3     the server's send buffer is made small (its replies wait
 *             for the client: EPOLLOUT)
 *   bit 4     the client reads replies only at the end (or when its own
 *             sends block), not after every chunk
 *   bits 5-7  the request size limit: 256 MiB, or 64, 100, 512, 4096,
 *             5000, 8192, 65536 bytes (ipc_server_set_max_request)
 * then the split sizes, then the byte stream the client sends; then the
 * client half-closes (shutdown SHUT_WR) and reads to the end.
 *
 * Checks: the client receives exactly, byte for byte, what a plain
 * reference framing produces: the stream cut at each "\n\n", each request
 * answered by ipc_handle_request on a second device in the same state,
 * a request longer than the limit answered errno=-EMSGSIZE and the
 * connection closed, an unfinished request dropped at the half-close;
 * the server closes the connection by itself after the half-close; and
 * both devices end with the same configuration (get).
 *
 * Nothing is sent on the network: "listen_port" and "endpoint" in the
 * input are masked (a byte changed, in both runs alike), so the devices
 * never bind a port nor learn an address to send to.  The socket lives in
 * a private temporary directory, removed at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "device.h"
#include "ipc.h"
#include "log.h"
#include "timers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (256u * 1024)
#define MAX_PUMPS 20000

static const size_t limits[8] = { 0, 64, 100, 512, 4096, 5000, 8192, 65536 };

static struct device served, reference;
static struct ipc_server *srv;
static char sock_dir[64], sock_path[108];
static bool ready;
static struct timer stop_timer;
/* Always readable: a pump's wait returns at once with what else is ready. */
static struct loop_source always_ready;
static int always_pipe[2];

static void always_ready_fn(struct device *dev, struct loop_source *src, uint32_t events)
{
}

/* A known start for both devices: no peers, one private key, no fwmark. */
static const char reset_req[] =
	"set=1\n"
	"private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n"
	"fwmark=0\n"
	"replace_peers=true\n\n";

static void fail(const char *what)
{
	fprintf(stderr, "ipc_fuzz: invariant broken: %s\n", what);
	abort();
}

static void cleanup(void)
{
	if (srv)
		ipc_server_close(srv);
	srv = NULL;
	/* Their keys live in locked memory LeakSanitizer does not scan: free
	 * what they hold, or it reports it at exit. */
	if (ready) {
		device_teardown(&served);
		device_teardown(&reference);
		ready = false;
	}
	if (sock_dir[0]) {
		unlink(sock_path);
		rmdir(sock_dir);
	}
}

static void setup(void)
{
	int p1[2], p2[2];

	log_init("ipc_fuzz", getenv("LOG_LEVEL") ? log_level_from_string(getenv("LOG_LEVEL")) : LOG_LEVEL_SILENT);
	/* Each pump waits for a timer due at once: no slack. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if (!crypto_init() || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, p1) ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, p2) ||
	    device_init(&served, "fz0", p1[0]) || device_init(&reference, "fz1", p2[0]))
		fail("cannot set up the devices");
	snprintf(sock_dir, sizeof(sock_dir), "%s/zwg-ipcfz-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	/* a unix socket path is short: fall back to /tmp */
	if (strlen(sock_dir) > 40 || !mkdtemp(sock_dir)) {
		snprintf(sock_dir, sizeof(sock_dir), "/tmp/zwg-ipcfz-XXXXXX");
		if (!mkdtemp(sock_dir))
			fail("cannot make a temporary directory");
	}
	snprintf(sock_path, sizeof(sock_path), "%s/fz0.sock", sock_dir);
	srv = ipc_server_open(&served, sock_dir);
	if (!srv)
		fail("cannot open the UAPI socket");
	atexit(cleanup);
	timer_init(&stop_timer, NULL);
	if (timer_heap_reserve(&served.timers, 1) < 0)
		fail("timer heap");
	if (pipe2(always_pipe, O_CLOEXEC) || write(always_pipe[1], "x", 1) != 1)
		fail("pipe");
	always_ready.fd = always_pipe[0];
	always_ready.ready = always_ready_fn;
	if (device_watch(&served, &always_ready, EPOLLIN) < 0)
		fail("device_watch");
	ready = true;
}

static void stop_due(struct timer *t, uint64_t now_ns)
{
	device_stop(&served, 0);
}

/* One iteration of the served device's loop: whatever is ready now is
 * handled (always_ready makes the wait return at once; the timer, due
 * now, stops the loop after the batch). */
static void pump(void)
{
	served.stopping = false;
	timer_init(&stop_timer, stop_due);
	timer_mod(&served.timers, &stop_timer, clock_now_ns());
	device_run(&served);
	timer_del(&served.timers, &stop_timer);
}

struct client {
	int fd;
	uint8_t *got;
	size_t len, cap;
	bool eof;
};

static void drain(struct client *c)
{
	for (;;) {
		if (c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 4096;
			uint8_t *g = realloc(c->got, cap);
			if (!g)
				fail("out of memory");
			c->got = g;
			c->cap = cap;
		}
		ssize_t r = recv(c->fd, c->got + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (r > 0) {
			c->len += (size_t)r;
			continue;
		}
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			c->eof = true;
		return;
	}
}

static void send_chunk(struct client *c, const uint8_t *p, size_t n)
{
	int spins = 0;

	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN) {
			/* The server closed (a refused request): what is left
			 * is never read, as the reference says. */
			return;
		}
		if (++spins > MAX_PUMPS)
			fail("the server stopped reading a client that reads its replies");
		pump();
		drain(c);
	}
}

static void append(uint8_t **buf, size_t *len, const char *s, size_t n)
{
	uint8_t *g = realloc(*buf, *len + n);

	if (!g)
		fail("out of memory");
	memcpy(g + *len, s, n);
	*buf = g;
	*len += n;
}

/* What the server must answer: the stream cut at each "\n\n". */
static void reference_replies(const uint8_t *s, size_t len, size_t limit, uint8_t **out,
			      size_t *out_len)
{
	size_t off = 0;

	*out = NULL;
	*out_len = 0;
	while (off < len) {
		size_t end = 0, rlen;
		char *reply;

		for (size_t i = off + 1; i < len; i++)
			if (s[i] == '\n' && s[i - 1] == '\n') {
				end = i + 1;
				break;
			}
		if ((end && end - off > limit) || (!end && len - off >= limit)) {
			char e[32];
			int n = snprintf(e, sizeof(e), "errno=%d\n\n", -EMSGSIZE);
			append(out, out_len, e, (size_t)n);
			return;
		}
		if (!end)
			return;
		reply = ipc_handle_request(&reference, (const char *)s + off, end - off, &rlen);
		if (!reply)
			fail("ipc_handle_request ran out of memory");
		append(out, out_len, reply, rlen);
		explicit_bzero(reply, rlen);
		free(reply);
		off = end;
	}
}

static void reset(struct device *d)
{
	size_t n;
	char *r = ipc_handle_request(d, reset_req, sizeof(reset_req) - 1, &n);

	if (!r || strcmp(r, "errno=0\n\n"))
		fail("the reset request failed");
	free(r);
}

static void mask(uint8_t *s, size_t len, const char *word)
{
	size_t wl = strlen(word);

	for (size_t i = 0; i + wl <= len; i++)
		if (!memcmp(s + i, word, wl))
			s[i + 1] ^= 0x20;	/* "lISTEN_port": an unknown key */
}

/* Drops the "listen_port=N" lines: each device binds a port of its own
 * (the kernel picks it) once it has a key, so they differ. */
static size_t without_port(uint8_t *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		const uint8_t *nl = memchr(s + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (s + i)) + 1 : len - i;

		if (!(n >= 12 && !memcmp(s + i, "listen_port=", 12) && (i == 0 || s[i - 1] == '\n'))) {
			memmove(s + o, s + i, n);
			o += n;
		}
		i += n;
	}
	return o;
}

static void compare_devices(void)
{
	size_t n1, n2;
	char *a = ipc_handle_request(&served, "get=1\n\n", 7, &n1);
	char *b = ipc_handle_request(&reference, "get=1\n\n", 7, &n2);

	if (!a || !b)
		fail("get ran out of memory");
	n1 = without_port((uint8_t *)a, n1);
	n2 = without_port((uint8_t *)b, n2);
	if (n1 != n2 || memcmp(a, b, n1))
		fail("the served device and the reference differ after the requests");
	explicit_bzero(a, n1);
	explicit_bzero(b, n2);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct client c = { .fd = -1 };
	uint8_t sizes[8], *stream, *expect;
	size_t n_sizes, len, limit, expect_len, off = 0, turn = 0, idle = 0;
	bool small_sndbuf, lazy;
	int probe;

	if (!ready)
		setup();
	if (size < 1 || size > MAX_INPUT)
		return 0;
	n_sizes = (data[0] & 7) + 1;
	small_sndbuf = data[0] & 8;
	lazy = data[0] & 16;
	limit = limits[data[0] >> 5];
	if (size < 1 + n_sizes)
		return 0;
	memcpy(sizes, data + 1, n_sizes);
	len = size - 1 - n_sizes;
	stream = malloc(len ? len : 1);
	if (!stream)
		fail("out of memory");
	memcpy(stream, data + 1 + n_sizes, len);
	mask(stream, len, "listen_port");
	mask(stream, len, "endpoint");

	reset(&served);
	reset(&reference);
	ipc_server_set_max_request(srv, limit);
	if (!limit)
		limit = SIZE_MAX;

	c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	strcpy(sun.sun_path, sock_path);
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fail("cannot connect");
	/* The lowest free descriptor is the one accept() will return. */
	probe = dup(0);
	if (probe >= 0)
		close(probe);
	pump();	/* accept */
	if (small_sndbuf && probe >= 0) {
		struct sockaddr_un name;
		socklen_t nl = sizeof(name);
		int sz = 1024;

		/* An accepted socket is named after the listening one. */
		if (getsockname(probe, (struct sockaddr *)&name, &nl) == 0 &&
		    name.sun_family == AF_UNIX && !strcmp(name.sun_path, sock_path))
			setsockopt(probe, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}

	while (off < len) {
		uint8_t s = sizes[turn++ % n_sizes];
		size_t n = s == 255 ? len - off : s;

		/* a round of sizes that are all 0 still sends a byte */
		idle = n ? 0 : idle + 1;
		if (idle > n_sizes)
			n = 1, idle = 0;

		if (n > len - off)
			n = len - off;
		send_chunk(&c, stream + off, n);
		off += n;
		pump();
		if (!lazy)
			drain(&c);
	}
	shutdown(c.fd, SHUT_WR);
	for (int i = 0; !c.eof; i++) {
		if (i > MAX_PUMPS)
			fail("the server did not close the connection after the half-close");
		pump();
		drain(&c);
	}
	close(c.fd);

	reference_replies(stream, len, limit, &expect, &expect_len);
	expect_len = without_port(expect, expect_len);
	c.len = without_port(c.got, c.len);
	if (expect_len != c.len || (expect_len && memcmp(expect, c.got, expect_len))) {
		fprintf(stderr, "ipc_fuzz: expected %zu bytes of replies, got %zu:\n%.*s\n--- got:\n%.*s\n",
			expect_len, c.len, (int)(expect_len > 400 ? 400 : expect_len), (char *)expect,
			(int)(c.len > 400 ? 400 : c.len), (char *)c.got);
		fail("the replies differ from the reference framing");
	}
	compare_devices();
	/* Every connection is gone: a later input starts clean. */
	pump();
	free(expect);
	free(c.got);
	free(stream);
	return 0;
}
