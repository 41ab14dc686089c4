/*
 * handshake_bench.c - handshakes a running WireGuard daemon answers per
 * second, measured from outside over UDP on loopback.
 *
 *   handshake_bench -S /var/run/wireguard/IF.sock [-p DAEMON_PID] [-n PEERS]
 *                   [-s SOURCES] [-c POOL] [-W WINDOW] [-j THREADS]
 *                   [-w WARMUP_S] [-t SECONDS]
 *
 * Method.  The bench makes a device key and PEERS (default 4096) peer
 * identities and configures the daemon through its UAPI socket: one set=1
 * request (private_key, replace_peers, then per peer its public_key and one
 * /32 allowed_ip), then get=1 for the port the daemon bound (so the
 * interface must be up).  It then creates POOL genuine handshake
 * initiations with the project's own noise_handshake_create_initiation, on
 * THREADS threads, before anything is sent: the client's X25519 work is
 * then not competing with the daemon during the measurement.  Initiations
 * are created round robin over the peers, so every peer's TAI64N
 * timestamps increase with a gap far above their 2^24 ns resolution, and
 * they are sent in that order; a timestamp in the past is fine, WireGuard
 * only asks that it be newer than the last one accepted.
 *
 * During the run at most WINDOW (default 128) initiations are outstanding:
 * one is retired by its handshake response, by a cookie reply, or after
 * 500 ms without an answer (counted as timed out).  A response counts as
 * answered only if its receiver index is one we sent and its MAC1 is right
 * for that peer's public key; the handshake is not finished (that would be
 * the client's work, not the daemon's).
 *
 * A daemon's defences are part of what is measured, so the bench behaves
 * as many honest clients would: initiations leave from SOURCES (default
 * 2048) addresses 127.1.x.y (IP_PKTINFO on one socket), paced so that each
 * source stays under the per-source limit of 20/s (whitepaper 5.3), and
 * each source keeps its cookie: under load the daemon sends a cookie reply,
 * which is consumed, and that source's later initiations carry MAC2.  Each
 * peer is used at most once per N / rate seconds, far above the 20 ms
 * flood limit (INITIATIONS_PER_SECOND).
 *
 * Output: "key value" lines.  Rates are over the measuring window (after
 * WARMUP_S, for SECONDS or until the pool runs out); the daemon's CPU use
 * over that window comes from /proc/PID/stat (all its threads), and
 * answered_per_cpu_s divides by it.  If the daemon is pinned to one CPU,
 * the time other processes took on that CPU is printed as a noise figure
 * (others_on_daemon_cpu_pct).  Pin the daemon to one CPU (taskset)
 * and this bench to another (bench/run.sh does).  Traffic goes to loopback
 * only, for a bounded time.  It prints figures and asserts nothing.
 *
 * Relies on noise.h, cookie.h and crypto.h, linked from build/libzerowg.a.
 */
#include "clock.h"
#include "cookie.h"
#include "crypto.h"
#include "encoding.h"
#include "noise.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define RX_BATCH	64
#define REPLY_TIMEOUT_NS (500 * NSEC_PER_MSEC)
#define SOURCE_MAX_RATE	15	/* per source per second, under the limit of 20 */
#define MIN_TS_GAP_NS	(20 * NSEC_PER_MSEC)	/* > 2^24 ns, the TAI64N resolution */

struct peer_state {
	struct noise_static_identity id;
	struct noise_handshake hs;
	uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN];	/* HASH("mac1----" || Spub_peer) */
	uint64_t last_created_ns;
	uint64_t min_gap_ns;	/* least time between two of its initiations */
};

enum slot_state { SLOT_UNSENT, SLOT_OUTSTANDING, SLOT_TIMED_OUT, SLOT_DONE };

/* Pool entry k is initiation k of the run, sender index k + 1, peer
 * k % npeers. */
struct slot {
	struct message_handshake_initiation msg;
	uint64_t sent_ns;
	uint32_t source;
	uint8_t state;
};

struct counts {
	uint64_t sent, send_errors, answered, cookies, cookie_bad, timed_out, stray;
};

struct gen_job {
	long first_peer, step;
};

static struct peer_state *peers;
static struct cookie *cookies;		/* one per source address */
static struct slot *pool;
static long npeers = 4096, nsources = 2048, pool_n = 60000;
static uint8_t dev_private[NOISE_PUBLIC_KEY_LEN], dev_public[NOISE_PUBLIC_KEY_LEN];

static void die(const char *what)
{
	fprintf(stderr, "handshake_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: handshake_bench -S UAPI_SOCKET [-p DAEMON_PID] [-n PEERS] [-s SOURCES]\n"
		"                       [-c POOL] [-W WINDOW] [-j THREADS] [-w WARMUP_S] [-t SECONDS]\n");
	exit(2);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* utime + stime of every thread of pid, in clock ticks; 0 if unknown. */
static uint64_t proc_cpu_ticks(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (uint64_t)ut + st;
}

/* The one CPU pid is pinned to, or -1. */
static int pinned_cpu(long pid)
{
	cpu_set_t set;
	int cpu = -1;

	if (pid <= 0 || sched_getaffinity((pid_t)pid, sizeof(set), &set) < 0 || CPU_COUNT(&set) != 1)
		return -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			cpu = i;
	return cpu;
}

/* user + nice + system ticks of one CPU (/proc/stat), without irq and
 * softirq: the daemon's sends are partly processed in softirq there. */
static uint64_t cpu_task_ticks(int cpu)
{
	char name[16], line[256];
	unsigned long long us, ni, sy;
	uint64_t ticks = 0;
	FILE *f;

	if (cpu < 0 || !(f = fopen("/proc/stat", "r")))
		return 0;
	snprintf(name, sizeof(name), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, strlen(name)) &&
		    sscanf(line + strlen(name), "%llu %llu %llu", &us, &ni, &sy) == 3) {
			ticks = us + ni + sy;
			break;
		}
	fclose(f);
	return ticks;
}

static double thread_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Appends to a growing, NUL-terminated buffer; exits if out of memory. */
static void buf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			die("realloc");
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* Sends one request and returns the malloc'd reply, read up to the blank
 * line that ends it. */
static char *uapi_request(const char *sock_path, const char *req, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *reply = NULL, chunk[4096];
	size_t rlen = 0, rcap = 0;
	int fd;

	if (strlen(sock_path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "handshake_bench: socket path \"%s\" is too long\n", sock_path);
		exit(2);
	}
	strcpy(sun.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket(AF_UNIX)");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "handshake_bench: connect %s: %s\n", sock_path, strerror(errno));
		exit(1);
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, req + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write to the UAPI socket");
		off += (size_t)w;
	}
	buf_add(&reply, &rlen, &rcap, "", 0);
	while (!strstr(reply, "\n\n")) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		buf_add(&reply, &rlen, &rcap, chunk, (size_t)r);
	}
	close(fd);
	return reply;
}

/* set=1 with the device key and every peer (the daemon keeps the port it
 * bound), then get=1 for that port.  Exits on error. */
static uint16_t uapi_configure(const char *sock_path)
{
	char line[160], hex[KEY_HEX_LEN + 1], *req = NULL, *reply, *p;
	size_t len = 0, cap = 0;
	unsigned port = 0;
	int err = -1;

	key_to_hex(hex, dev_private);
	buf_add(&req, &len, &cap, line, (size_t)snprintf(line, sizeof(line),
		"set=1\nprivate_key=%s\nreplace_peers=true\n", hex));
	explicit_bzero(hex, sizeof(hex));
	for (long i = 0; i < npeers; i++) {
		uint32_t a = (uint32_t)i + 1;	/* 10.0.0.1, 10.0.0.2, ... */
		key_to_hex(hex, peers[i].id.static_public);
		buf_add(&req, &len, &cap, line, (size_t)snprintf(line, sizeof(line),
			"public_key=%s\nallowed_ip=10.%u.%u.%u/32\n", hex,
			(a >> 16) & 255, (a >> 8) & 255, a & 255));
	}
	buf_add(&req, &len, &cap, "\n", 1);
	reply = uapi_request(sock_path, req, len);
	explicit_bzero(req, len);	/* held the device's private key */
	free(req);
	if (sscanf(reply, "errno=%d", &err) != 1 || err != 0) {
		fprintf(stderr, "handshake_bench: the daemon refused the configuration: \"%.60s\"\n", reply);
		exit(1);
	}
	free(reply);

	reply = uapi_request(sock_path, "get=1\n\n", 7);
	p = strstr(reply, "listen_port=");
	if (!p || sscanf(p, "listen_port=%u", &port) != 1 || port == 0 || port > 65535) {
		fprintf(stderr, "handshake_bench: no listen_port in the daemon's get=1 reply "
			"(is the interface up?)\n");
		exit(1);
	}
	explicit_bzero(reply, strlen(reply));	/* holds the private key */
	free(reply);
	return (uint16_t)port;
}

/* Creates the pool entries of peers first_peer, first_peer + step, ...
 * in pool order, so that each peer's timestamps increase. */
static void *generate(void *arg)
{
	const struct gen_job *job = arg;

	for (long base = 0; base < pool_n; base += npeers) {
		for (long p = job->first_peer; p < npeers && base + p < pool_n; p += job->step) {
			struct peer_state *ps = &peers[p];
			uint64_t now = mono_ns();
			if (ps->last_created_ns && now - ps->last_created_ns < ps->min_gap_ns)
				ps->min_gap_ns = now - ps->last_created_ns;
			ps->last_created_ns = now;
			if (!noise_handshake_create_initiation(&pool[base + p].msg, &ps->hs, &ps->id,
							       (uint32_t)(base + p + 1))) {
				fprintf(stderr, "handshake_bench: create_initiation failed\n");
				exit(1);
			}
		}
	}
	return NULL;
}

static void source_addr(struct in_addr *a, uint32_t source)
{
	a->s_addr = htonl(0x7f010001u + source);	/* 127.1.0.1 + source */
}

static void send_initiation(int fd, const struct sockaddr_in *dst, long k, uint32_t source,
			    struct counts *c)
{
	struct slot *s = &pool[k];
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = &s->msg, .iov_len = sizeof(s->msg) };
	struct msghdr mh = {
		.msg_name = (void *)dst, .msg_namelen = sizeof(*dst),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf),
	};
	struct cmsghdr *cmsg;
	struct in_pktinfo pi = { 0 };

	/* MAC1, and MAC2 once this source holds a cookie. */
	cookie_add_mac_to_packet((uint8_t *)&s->msg, sizeof(s->msg), &cookies[source], clock_now_ns());
	memset(cm.buf, 0, sizeof(cm.buf));
	cmsg = CMSG_FIRSTHDR(&mh);
	cmsg->cmsg_level = IPPROTO_IP;
	cmsg->cmsg_type = IP_PKTINFO;
	cmsg->cmsg_len = CMSG_LEN(sizeof(pi));
	source_addr(&pi.ipi_spec_dst, source);
	memcpy(CMSG_DATA(cmsg), &pi, sizeof(pi));
	s->source = source;
	s->sent_ns = mono_ns();
	if (sendmsg(fd, &mh, MSG_DONTWAIT) != (ssize_t)sizeof(s->msg)) {
		c->send_errors++;
		s->state = SLOT_TIMED_OUT;	/* never outstanding */
		return;
	}
	s->state = SLOT_OUTSTANDING;
	c->sent++;
}

/* The pool entry a reply answers, if we sent it. */
static struct slot *slot_of(uint32_t receiver_index, long sent_upto)
{
	if (receiver_index == 0 || (long)receiver_index > sent_upto)
		return NULL;
	return &pool[receiver_index - 1];
}

/* Returns how many outstanding initiations the reply retired (0 or 1). */
static int handle_reply(const uint8_t *buf, size_t len, long sent_upto, struct counts *c)
{
	uint32_t type;
	struct slot *s;
	bool was_outstanding;

	if (len < 8) {
		c->stray++;
		return 0;
	}
	memcpy(&type, buf, 4);
	type = le32toh(type);
	if (type == MESSAGE_HANDSHAKE_RESPONSE && len == sizeof(struct message_handshake_response)) {
		const struct message_handshake_response *r = (const void *)buf;
		uint8_t mac[COOKIE_LEN];
		s = slot_of(le32toh(r->receiver_index), sent_upto);
		/* MAC1 under the initiator's public key: the daemon answered
		 * this very peer. */
		if (!s || s->state == SLOT_DONE ||
		    !blake2s_mac128(mac, buf, len - sizeof(struct message_macs),
				    peers[(s - pool) % npeers].mac1_key, NOISE_SYMMETRIC_KEY_LEN) ||
		    !crypto_equal(mac, r->macs.mac1, COOKIE_LEN)) {
			c->stray++;
			return 0;
		}
		was_outstanding = s->state == SLOT_OUTSTANDING;
		s->state = SLOT_DONE;
		c->answered++;
		return was_outstanding;
	}
	if (type == MESSAGE_HANDSHAKE_COOKIE && len == sizeof(struct message_handshake_cookie)) {
		const struct message_handshake_cookie *m = (const void *)buf;
		s = slot_of(le32toh(m->receiver_index), sent_upto);
		if (!s || s->state == SLOT_DONE) {
			c->stray++;
			return 0;
		}
		/* The reply is bound to the MAC1 of the initiation it
		 * answers, which need not be the last one its source sent. */
		struct cookie *ck = &cookies[s->source];
		memcpy(ck->last_mac1_sent, s->msg.macs.mac1, COOKIE_LEN);
		ck->have_sent_mac1 = true;
		if (cookie_message_consume(m, ck, clock_now_ns()))
			c->cookies++;
		else
			c->cookie_bad++;
		was_outstanding = s->state == SLOT_OUTSTANDING;
		s->state = SLOT_DONE;
		return was_outstanding;
	}
	c->stray++;
	return 0;
}

/* Reads every reply waiting; returns how many outstanding ones retired. */
static long drain(int fd, long sent_upto, struct counts *c)
{
	static uint8_t bufs[RX_BATCH][256];
	struct mmsghdr mm[RX_BATCH];
	struct iovec iov[RX_BATCH];
	long retired = 0;
	int n;

	do {
		for (int i = 0; i < RX_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, mm, RX_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++)
			retired += handle_reply(bufs[i], mm[i].msg_len, sent_upto, c);
	} while (n == RX_BATCH);
	return retired;
}

static long arg_num(const char *s, long lo, long hi, const char *opt)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "handshake_bench: %s \"%s\" is not a number in %ld..%ld\n", opt, s, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	const char *sock_path = NULL;
	long pid = 0, window = 128, nthreads = sysconf(_SC_NPROCESSORS_ONLN), warmup = 1, secs = 5;
	struct sockaddr_in bind_addr = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	struct counts c = { 0 }, c0 = { 0 };
	uint64_t start, t0 = 0, t_stop, t_end, next_send, interval_ns, ticks0 = 0, ticks1;
	uint64_t cpu_ticks0 = 0, cpu_ticks1;
	int cpu;
	uint64_t min_gap = UINT64_MAX;
	double self0 = 0, self1, gen_s;
	long next_k = 0, oldest = 0, outstanding = 0;
	uint32_t source = 0;
	int opt, fd, rcvbuf = 4 << 20;
	bool pool_ran_out = false;

	while ((opt = getopt(argc, argv, "S:p:n:s:c:W:j:w:t:h")) != -1) {
		switch (opt) {
		case 'S': sock_path = optarg; break;
		case 'p': pid = arg_num(optarg, 1, 1L << 30, "-p"); break;
		case 'n': npeers = arg_num(optarg, 16, 1 << 20, "-n"); break;
		case 's': nsources = arg_num(optarg, 1, 60000, "-s"); break;
		case 'c': pool_n = arg_num(optarg, 1000, 10000000, "-c"); break;
		case 'W': window = arg_num(optarg, 1, 65536, "-W"); break;
		case 'j': nthreads = arg_num(optarg, 1, 64, "-j"); break;
		case 'w': warmup = arg_num(optarg, 0, 60, "-w"); break;
		case 't': secs = arg_num(optarg, 1, 120, "-t"); break;
		default: usage();
		}
	}
	if (!sock_path || optind != argc)
		usage();
	if (nthreads < 1)
		nthreads = 1;
	if (!crypto_init()) {
		fprintf(stderr, "handshake_bench: libcrypto lacks an algorithm\n");
		return 1;
	}

	peers = calloc((size_t)npeers, sizeof(*peers));
	cookies = calloc((size_t)nsources, sizeof(*cookies));
	pool = calloc((size_t)pool_n, sizeof(*pool));
	if (!peers || !cookies || !pool)
		die("calloc");
	if (!x25519_generate_secret(dev_private) || !x25519_public_from_secret(dev_public, dev_private)) {
		fprintf(stderr, "handshake_bench: cannot make the device key\n");
		return 1;
	}
	for (long i = 0; i < npeers; i++) {
		uint8_t priv[NOISE_PUBLIC_KEY_LEN];
		struct cookie pc;
		if (!x25519_generate_secret(priv) || !noise_static_identity_set(&peers[i].id, priv)) {
			fprintf(stderr, "handshake_bench: cannot make peer key %ld\n", i);
			return 1;
		}
		explicit_bzero(priv, sizeof(priv));
		noise_handshake_init(&peers[i].hs, &peers[i].id, dev_public, NULL);
		cookie_init(&pc, peers[i].id.static_public);
		memcpy(peers[i].mac1_key, pc.message_mac1_key, sizeof(peers[i].mac1_key));
		peers[i].min_gap_ns = UINT64_MAX;
	}
	for (long i = 0; i < nsources; i++)
		cookie_init(&cookies[i], dev_public);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	bind_addr.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(fd, (struct sockaddr *)&bind_addr, sizeof(bind_addr)) < 0)
		die("bind");
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dst.sin_port = htons(uapi_configure(sock_path));

	/* The pool, before anything is sent. */
	{
		pthread_t th[64];
		struct gen_job jobs[64];
		uint64_t g0 = mono_ns();
		for (long t = 0; t < nthreads; t++) {
			jobs[t] = (struct gen_job){ .first_peer = t, .step = nthreads };
			if (pthread_create(&th[t], NULL, generate, &jobs[t]) != 0)
				die("pthread_create");
		}
		for (long t = 0; t < nthreads; t++)
			pthread_join(th[t], NULL);
		gen_s = (double)(mono_ns() - g0) / NSEC_PER_SEC;
		for (long i = 0; i < npeers; i++)
			if (peers[i].min_gap_ns < min_gap)
				min_gap = peers[i].min_gap_ns;
	}
	printf("method udp-loopback\n");
	printf("peers %ld\nsources %ld\npool %ld\nwindow %ld\nwarmup_s %ld\n", npeers, nsources,
	       pool_n, window, warmup);
	printf("pool_created_per_s %.0f\n", pool_n / gen_s);
	printf("pool_threads %ld\n", nthreads);
	if (min_gap != UINT64_MAX)
		printf("min_timestamp_gap_ms %.1f\n", (double)min_gap / NSEC_PER_MSEC);
	if (min_gap < MIN_TS_GAP_NS)
		fprintf(stderr, "handshake_bench: WARNING: two initiations of one peer were made "
			"%.1f ms apart; some may share a timestamp (raise -n)\n",
			(double)min_gap / NSEC_PER_MSEC);
	fflush(stdout);

	cpu = pinned_cpu(pid);
	/* Paced so that each source stays under its rate limit. */
	interval_ns = NSEC_PER_SEC / (uint64_t)(nsources * SOURCE_MAX_RATE);
	start = mono_ns();
	t_end = start + (uint64_t)(warmup + secs) * NSEC_PER_SEC;
	next_send = start;
	for (;;) {
		uint64_t now = mono_ns();
		if (!t0 && now >= start + (uint64_t)warmup * NSEC_PER_SEC) {
			t0 = now;
			c0 = c;
			ticks0 = proc_cpu_ticks(pid);
			cpu_ticks0 = cpu_task_ticks(cpu);
			self0 = thread_cpu_s();
		}
		if (now >= t_end)
			break;
		if (next_k == pool_n && outstanding == 0) {
			pool_ran_out = true;
			break;
		}
		for (; oldest < next_k; oldest++) {
			struct slot *s = &pool[oldest];
			if (s->state == SLOT_OUTSTANDING) {
				if (s->sent_ns + REPLY_TIMEOUT_NS > now)
					break;
				s->state = SLOT_TIMED_OUT;
				c.timed_out++;
				outstanding--;
			}
		}
		if (now > next_send + 10 * NSEC_PER_MSEC)
			next_send = now;	/* no catching up in a burst */
		while (outstanding < window && next_k < pool_n && next_send <= now) {
			send_initiation(fd, &dst, next_k++, source, &c);
			if (pool[next_k - 1].state == SLOT_OUTSTANDING)
				outstanding++;
			source = (source + 1) % (uint32_t)nsources;
			next_send += interval_ns;
		}
		outstanding -= drain(fd, next_k, &c);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int wait_ms = outstanding < window && next_k < pool_n && next_send > now ?
			      (int)((next_send - now) / NSEC_PER_MSEC) : 1;
		poll(&pfd, 1, wait_ms > 5 ? 5 : wait_ms);
	}
	t_stop = mono_ns();
	ticks1 = proc_cpu_ticks(pid);
	cpu_ticks1 = cpu_task_ticks(cpu);
	self1 = thread_cpu_s();
	if (!t0) {
		fprintf(stderr, "handshake_bench: the pool of %ld ran out during the warm-up (raise -c)\n",
			pool_n);
		return 1;
	}
	double dt = (double)(t_stop - t0) / NSEC_PER_SEC;
	double answered = (double)(c.answered - c0.answered);
	double hz = (double)sysconf(_SC_CLK_TCK);
	printf("seconds %.2f\n", dt);
	if (pool_ran_out)
		printf("pool_ran_out 1\n");
	printf("sent_per_s %.0f\n", (double)(c.sent - c0.sent) / dt);
	printf("answered_per_s %.0f\n", answered / dt);
	printf("cookie_replies_per_s %.0f\n", (double)(c.cookies - c0.cookies) / dt);
	/* Most cookies arrive in the warm-up: one per source, then MAC2. */
	printf("cookie_replies_total %llu\n", (unsigned long long)c.cookies);
	printf("timed_out %llu\n", (unsigned long long)(c.timed_out - c0.timed_out));
	printf("bad_cookie_replies %llu\n", (unsigned long long)(c.cookie_bad - c0.cookie_bad));
	printf("stray_replies %llu\n", (unsigned long long)(c.stray - c0.stray));
	printf("send_errors %llu\n", (unsigned long long)(c.send_errors - c0.send_errors));
	printf("client_cpu_pct %.0f\n", (self1 - self0) / dt * 100);
	if (pid > 0 && ticks0 && ticks1 >= ticks0) {
		double cpu_s = (double)(ticks1 - ticks0) / hz;
		printf("daemon_cpu_pct %.0f\n", cpu_s / dt * 100);
		if (cpu_s > 0)
			printf("answered_per_cpu_s %.0f\n", answered / cpu_s);
		/* Other processes' time on the daemon's CPU: a noise figure. */
		if (cpu >= 0 && cpu_ticks0 && cpu_ticks1 >= cpu_ticks0) {
			double others = (double)(cpu_ticks1 - cpu_ticks0) / hz - cpu_s;
			printf("daemon_cpu %d\n", cpu);
			printf("others_on_daemon_cpu_pct %.0f\n", others > 0 ? others / dt * 100 : 0);
		}
	}
	close(fd);
	explicit_bzero(dev_private, sizeof(dev_private));
	for (long i = 0; i < npeers; i++) {
		noise_static_identity_clear(&peers[i].id);
		noise_handshake_destroy(&peers[i].hs);
	}
	free(peers);
	free(cookies);
	free(pool);
	return 0;
}
