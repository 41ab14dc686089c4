/*
 * dpkeys_test.c - where the data plane keeps its keys (issue 12, section 2):
 * every long-lived key - the static private key, each peer's PSK, the
 * precomputed static-static DH, the handshake's ephemeral, chaining key and
 * hash, the session keys, the cookie keys - lies in secmem (locked,
 * MADV_DONTDUMP, wiped on free), and is zero once the peer, the session or
 * the device is gone.  Also: a QR code's module matrix is wiped before
 * libqrencode frees it.
 *
 * Two devices in this process shake hands over loopback UDP through the
 * real receive path (device_udp_readable), one step at a time, so that the
 * state between the messages can be inspected.  Freed pool objects stay
 * mapped (a secmem_pool keeps its chunks), so their bytes can be read after
 * peer_remove.
 */
#include "test.h"
#include "crypto.h"
#include "device.h"
#include "encoding.h"
#include "ipc.h"
#include "log.h"
#include "render.h"
#include "secmem.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* render.c, test builds only. */
extern void (*render_test_qr_wiped)(const unsigned char *data, size_t len);

static struct device dev_a, dev_b;
static int tun_a[2], tun_b[2];
static uint8_t priv_a[32], priv_b[32], psk[32];

static int request_errno(struct device *dev, const char *req)
{
	size_t len;
	char *r = ipc_handle_request(dev, req, strlen(req), &len);
	int e = -1;

	if (!r)
		abort();
	sscanf(r, "errno=%d", &e);
	free(r);
	return e;
}

/* dev's peer is the other device, with the PSK, at 127.0.0.1:port. */
static void configure(struct device *dev, const uint8_t priv[32], const uint8_t peer_pub[32],
		      uint16_t port)
{
	char req[1024], k[65], p[65], s[65];

	key_to_hex(k, priv);
	key_to_hex(p, peer_pub);
	key_to_hex(s, psk);
	snprintf(req, sizeof(req), "set=1\nprivate_key=%s\npublic_key=%s\npreshared_key=%s\n"
		 "endpoint=127.0.0.1:%u\nallowed_ip=10.9.0.%d/32\n\n", k, p, s, port,
		 dev == &dev_a ? 2 : 1);
	CHECK_INT(request_errno(dev, req), 0);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(s, sizeof(s));
}

static void setup(void)
{
	uint8_t pub_a[32], pub_b[32];

	log_init("dpkeys", LOG_LEVEL_ERROR);
	CHECK(crypto_init());
	CHECK(crypto_random(priv_a, 32) && crypto_random(priv_b, 32) && crypto_random(psk, 32));
	CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tun_a), 0);
	CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tun_b), 0);
	CHECK_INT(device_init(&dev_a, "dpka0", tun_a[0]), 0);
	CHECK_INT(device_init(&dev_b, "dpkb0", tun_b[0]), 0);
	priv_a[0] &= 248, priv_a[31] = (priv_a[31] & 127) | 64;
	priv_b[0] &= 248, priv_b[31] = (priv_b[31] & 127) | 64;
	CHECK(x25519_public_from_secret(pub_a, priv_a));
	CHECK(x25519_public_from_secret(pub_b, priv_b));
	configure(&dev_a, priv_a, pub_b, dev_b.listen_port);
	configure(&dev_b, priv_b, pub_a, dev_a.listen_port);
}

/* The peer's fields that hold a secret, each in secmem. */
static bool peer_in_secmem(const struct peer *p)
{
	const struct noise_handshake *hs = &p->handshake;

	return secmem_contains(p, sizeof(*p)) &&
	       secmem_contains(hs->preshared_key, sizeof(hs->preshared_key)) &&
	       secmem_contains(hs->precomputed_static_static, 32) &&
	       secmem_contains(hs->ephemeral_private, 32) &&
	       secmem_contains(hs->chaining_key, 32) && secmem_contains(hs->hash, 32) &&
	       secmem_contains(&p->latest_cookie, sizeof(p->latest_cookie));
}

static bool keypair_in_secmem(const struct noise_keypair *kp)
{
	return kp && secmem_contains(kp, sizeof(*kp)) &&
	       secmem_contains(kp->sending_key, 32) && secmem_contains(kp->receiving_key, 32);
}

/* The /proc/self/smaps entry of the mapping holding p: "dd" (not dumped),
 * "wf" (wiped on fork) and, when locking is possible, "lo". */
static bool smaps_flags(const void *p, bool *dd, bool *wf, bool *lo)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;
	uintptr_t a = (uintptr_t)p;

	*dd = *wf = *lo = false;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo_a, hi_a;
		if (sscanf(line, "%lx-%lx ", &lo_a, &hi_a) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = a >= lo_a && a < hi_a;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			*dd = strstr(line, " dd") != NULL;
			*wf = strstr(line, " wf") != NULL;
			*lo = strstr(line, " lo") != NULL;
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static bool mlock_possible(void)
{
	struct rlimit rl;

#if defined(__SANITIZE_ADDRESS__)
	return false;	/* ASan makes mlock a no-op */
#endif
	return getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY ||
						       rl.rlim_cur >= 1024 * 1024);
}

/* One whole handshake, message by message over loopback, then a keepalive
 * that confirms the responder's session. */
static void test_handshake_keys_in_secmem(void)
{
	struct peer *pa = dev_a.peers_head, *pb = dev_b.peers_head;
	bool dd, wf, lo;

	CHECK(pa && pb);
	if (!pa || !pb)
		return;
	CHECK(secmem_contains(dev_a.identity, sizeof(*dev_a.identity)));
	CHECK(secmem_contains(dev_a.cookie_checker, sizeof(*dev_a.cookie_checker)));
	CHECK(peer_in_secmem(pa) && peer_in_secmem(pb));
	CHECK_MEM(pa->handshake.preshared_key, psk, 32);

	/* Initiation: A's ephemeral and chaining key now exist, in secmem. */
	packet_send_handshake_initiation(pa, false);
	CHECK_INT(pa->handshake.state, HANDSHAKE_CREATED_INITIATION);
	CHECK(!crypto_is_zero(pa->handshake.ephemeral_private, 32));
	CHECK(!crypto_is_zero(pa->handshake.precomputed_static_static, 32));
	CHECK(peer_in_secmem(pa));

	device_udp_readable(&dev_b, &dev_b.sock4);	/* B answers */
	device_udp_readable(&dev_a, &dev_a.sock4);	/* A completes */
	CHECK(keypair_in_secmem(pa->keypairs.current));
	CHECK(keypair_in_secmem(pb->keypairs.next));
	if (!pa->keypairs.current || !pb->keypairs.next)
		return;
	CHECK_MEM(pa->keypairs.current->sending_key, pb->keypairs.next->receiving_key, 32);

	packet_send_keepalive(pa);
	device_udp_readable(&dev_b, &dev_b.sock4);
	CHECK(keypair_in_secmem(pb->keypairs.current));
	CHECK(!crypto_is_zero(pb->handshake.precomputed_static_static, 32));

	/* The pages themselves: not dumped, wiped in a forked child, and
	 * locked where the limit allows. */
	CHECK(smaps_flags(pa, &dd, &wf, &lo));
	CHECK(dd && wf);
	if (mlock_possible())
		CHECK(lo);
	CHECK(smaps_flags(pa->keypairs.current, &dd, &wf, &lo));
	CHECK(dd && wf);
	if (mlock_possible())
		CHECK(lo);

}

static bool all_zero(const void *p, size_t n)
{
	return crypto_is_zero(p, n);
}

/* Session expiry (the zero-key-material timer calls peer_clear_sessions):
 * the keypair slots go back to the pool, wiped. */
static void test_sessions_wiped_on_clear(void)
{
	struct peer *pb = dev_b.peers_head;
	struct noise_keypair *slots[4];

	if (!pb || !pb->keypairs.current)
		return;
	memcpy(slots, pb->keypairs.slots, sizeof(slots));
	peer_clear_sessions(pb);
	CHECK(!pb->keypairs.current && !pb->keypairs.previous && !pb->keypairs.next);
	for (int i = 0; i < 4; i++)
		if (slots[i])
			CHECK(all_zero(slots[i], sizeof(*slots[i])));
	/* The long-lived ones stay. */
	CHECK_MEM(pb->handshake.preshared_key, psk, 32);
}

/* Peer removal over UAPI: every byte of the peer and of its keypairs is
 * zero afterwards (the pool's chunk stays mapped). */
static void test_peer_removal_wipes(void)
{
	struct peer *pa = dev_a.peers_head;
	struct noise_keypair *slots[4];
	char req[256], pub[65];

	if (!pa || !pa->keypairs.current)
		return;
	memcpy(slots, pa->keypairs.slots, sizeof(slots));
	CHECK(!all_zero(pa->handshake.preshared_key, 32));
	CHECK(!all_zero(pa->keypairs.current->sending_key, 32));
	key_to_hex(pub, pa->handshake.remote_static);
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nremove=true\n\n", pub);
	CHECK_INT(request_errno(&dev_a, req), 0);
	CHECK_INT(dev_a.peer_count, 0);
	CHECK(secmem_contains(pa, sizeof(*pa)));	/* still mapped: readable */
	CHECK(all_zero(pa, sizeof(*pa)));
	for (int i = 0; i < 4; i++)
		if (slots[i])
			CHECK(all_zero(slots[i], sizeof(*slots[i])));
}

/* The pool hands the freed object out again, zeroed; the device's teardown
 * unmaps everything. */
static void test_teardown_unmaps(void)
{
	struct peer *pb = dev_b.peers_head;
	struct noise_static_identity *id = dev_b.identity;

	device_teardown(&dev_b);
	CHECK(!secmem_contains(id, sizeof(*id)));
	if (pb)
		CHECK(!secmem_contains(pb, sizeof(*pb)));
	device_teardown(&dev_a);
}

/* Ten thousand peers on one device: every one in secmem, from a handful of
 * chunks (no mapping per peer).  Past RLIMIT_MEMLOCK the memory is still
 * handed out (unlocked, non-dumpable, wiped) and the warning comes once. */
static void test_many_peers(void)
{
	struct device dev;
	int tun[2];
	uint8_t key[32];
	bool all = true;

	CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tun), 0);
	CHECK_INT(device_init(&dev, "dpkc0", tun[0]), 0);
	memset(key, 0, sizeof(key));
	for (uint32_t i = 0; i < 10000; i++) {
		struct peer *p;

		memcpy(key, &i, sizeof(i));
		key[31] = 0x40;
		p = peer_create(&dev, key);
		if (!p || !peer_in_secmem(p)) {
			all = false;
			break;
		}
	}
	CHECK(all);
	CHECK_INT(dev.peer_count, 10000);
	/* Geometric growth: 10,000 peers from ~45 chunks, not 10,000 pages. */
	CHECK(dev.peer_pool.n_chunks < 64);
	device_teardown(&dev);
	close(tun[0]);
	close(tun[1]);
}

/* The same as a user with Debian's default RLIMIT_MEMLOCK (8 MiB) and no
 * CAP_IPC_LOCK, in a child: the peers past the limit are still made, in
 * secmem (non-dumpable, wiped), the locked total stays under the limit,
 * and the operator is warned exactly once. */
static void many_peers_limited(int out_fd)
{
	struct rlimit rl = { 8u << 20, 8u << 20 };
	struct device dev;
	int tun[2], made = 0;
	uint8_t key[32] = { 0 };
	char line[128];
	long locked_kb = -1;
	FILE *f;

	dup2(out_fd, STDERR_FILENO);
	if (geteuid() == 0 && (setresgid(65534, 65534, 65534) < 0 ||
			       setresuid(65534, 65534, 65534) < 0))
		_exit(10);
	if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		_exit(11);
	log_init("dpkeys", LOG_LEVEL_ERROR);	/* the default level */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tun) < 0 ||
	    device_init(&dev, "dpkd0", tun[0]) < 0)
		_exit(12);
	for (uint32_t i = 0; i < 10000; i++) {
		struct peer *p;

		memcpy(key, &i, sizeof(i));
		key[31] = 0x40;
		p = peer_create(&dev, key);
		made += p && peer_in_secmem(p);
	}
	if ((f = fopen("/proc/self/status", "r"))) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "VmLck: %ld kB", &locked_kb) == 1)
				break;
		fclose(f);
	}
	device_teardown(&dev);
	if (made != 10000)
		_exit(13);
	if (locked_kb < 0 || locked_kb > 8192)
		_exit(14);
	_exit(0);
}

static void test_many_peers_memlock_limit(void)
{
	int pfd[2], st = -1;
	char out[8192];
	size_t got = 0;
	ssize_t n;
	const char *w;
	pid_t pid;

	CHECK_INT(pipe(pfd), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		alarm(30);
		many_peers_limited(pfd[1]);
	}
	close(pfd[1]);
	while (got < sizeof(out) - 1 && (n = read(pfd[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(pfd[0]);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	CHECK_INT(WEXITSTATUS(st), 0);
#if !defined(__SANITIZE_ADDRESS__)
	/* (ASan makes mlock a no-op that succeeds: no warning to see.) */
	w = strstr(out, "cannot lock memory for keys");
	CHECK(w != NULL);
	CHECK(w == NULL || strstr(w + 1, "cannot lock memory for keys") == NULL);
#else
	(void)w;
#endif
	if (WEXITSTATUS(st) != 0)
		fprintf(stderr, "  child's stderr: %s\n", out);
}

static const unsigned char *qr_seen;
static size_t qr_seen_len;
static bool qr_seen_zero;

static void qr_hook(const unsigned char *data, size_t len)
{
	qr_seen = data;
	qr_seen_len = len;
	qr_seen_zero = all_zero(data, len);
}

/* The module matrix encodes the config (and its private key): wiped
 * before libqrencode frees it, for both render_qr and render_qr_width. */
static void test_qr_matrix_wiped(void)
{
	const char *text = "[Interface]\nPrivateKey = oK56DE9Ue9zK76rAc8pBl6opph+1v36lm7cXXsQKrQM=\n";
	char *q;

	render_test_qr_wiped = qr_hook;
	q = render_qr(text);
	CHECK(q != NULL);
	CHECK(qr_seen != NULL && qr_seen_len > 21 * 21 && qr_seen_zero);
	render_free(q);
	qr_seen = NULL;
	CHECK(render_qr_width(text) > 21);
	CHECK(qr_seen != NULL && qr_seen_zero);
	render_test_qr_wiped = NULL;
}

int main(void)
{
	setup();
	RUN(test_handshake_keys_in_secmem);
	RUN(test_sessions_wiped_on_clear);
	RUN(test_peer_removal_wipes);
	RUN(test_teardown_unmaps);
	RUN(test_many_peers);
	RUN(test_many_peers_memlock_limit);
	RUN(test_qr_matrix_wiped);
	explicit_bzero(priv_a, 32);
	explicit_bzero(priv_b, 32);
	explicit_bzero(psk, 32);
	TEST_EXIT();
}
