/*
 * device_test.c - the device's handshake counters (device.h, enum
 * handshake_event; issue 11 section 5): two devices in this process shake
 * hands over loopback UDP through the real send and receive paths
 * (packet_send_handshake_initiation, device_udp_readable), one message at
 * a time, and each step moves exactly the counters it should on exactly
 * the side it should.  Adversarial: a replayed initiation, one with a
 * flipped MAC byte and one from a stranger are dropped and move no
 * handshake counter, only the drop counter of their reason.  Last, the
 * counters reach GET /metrics as zerowg_handshakes_total{type=...}
 * through api->counters, as server.c wires it (read on the loop thread).
 *
 * The replays go through a capture socket of our own: A's peer endpoint
 * points at it, and the test forwards what it caught to B.
 */
#include "test.h"
#include "api.h"
#include "control.h"
#include "crypto.h"
#include "device.h"
#include "encoding.h"
#include "ipc.h"
#include "log.h"
#include "messages.h"
#include "request.h"
#include "route.h"
#include "store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static struct device dev_a, dev_b;
static int tun_a[2], tun_b[2];
static uint8_t priv_a[32], priv_b[32], pub_a[32], pub_b[32];
static int capture_fd = -1;
static uint16_t capture_port;

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

/* dev's one peer is peer_pub, at 127.0.0.1:port. */
static void set_peer(struct device *dev, const uint8_t *priv, const uint8_t peer_pub[32],
		     uint16_t port)
{
	char req[1024], k[65], p[65];

	key_to_hex(p, peer_pub);
	if (priv) {
		key_to_hex(k, priv);
		snprintf(req, sizeof(req), "set=1\nprivate_key=%s\npublic_key=%s\n"
			 "endpoint=127.0.0.1:%u\nallowed_ip=10.9.0.%d/32\n\n", k, p, port,
			 dev == &dev_a ? 2 : 1);
		explicit_bzero(k, sizeof(k));
	} else {
		snprintf(req, sizeof(req), "set=1\npublic_key=%s\nendpoint=127.0.0.1:%u\n\n", p,
			 port);
	}
	CHECK_INT(request_errno(dev, req), 0);
}

static void clamp(uint8_t k[32])
{
	k[0] &= 248;
	k[31] = (k[31] & 127) | 64;
}

static void setup(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);

	log_init("device_test", LOG_LEVEL_ERROR);
	CHECK(crypto_init());
	CHECK(crypto_random(priv_a, 32) && crypto_random(priv_b, 32));
	clamp(priv_a);
	clamp(priv_b);
	CHECK(x25519_public_from_secret(pub_a, priv_a));
	CHECK(x25519_public_from_secret(pub_b, priv_b));
	CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tun_a), 0);
	CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tun_b), 0);
	CHECK_INT(device_init(&dev_a, "devta0", tun_a[0]), 0);
	CHECK_INT(device_init(&dev_b, "devtb0", tun_b[0]), 0);
	set_peer(&dev_a, priv_a, pub_b, dev_b.listen_port);
	set_peer(&dev_b, priv_b, pub_a, dev_a.listen_port);

	capture_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(capture_fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(bind(capture_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	CHECK_INT(getsockname(capture_fd, (struct sockaddr *)&sin, &sl), 0);
	capture_port = ntohs(sin.sin_port);
}

static void expect(const struct device *dev, const uint64_t want[HS__COUNT], const char *who)
{
	for (int i = 0; i < HS__COUNT; i++)
		if (dev->handshakes[i] != want[i]) {
			fprintf(stderr, "  %s: handshakes[%d] is %llu, want %llu\n", who, i,
				(unsigned long long)dev->handshakes[i],
				(unsigned long long)want[i]);
			CHECK(dev->handshakes[i] == want[i]);
		}
}

/* A fresh device counts nothing; one whole handshake, message by message,
 * moves each side's counters once. */
static void test_handshake_moves_counters(void)
{
	uint64_t a[HS__COUNT] = { 0 }, b[HS__COUNT] = { 0 };
	struct peer *pa = dev_a.peers_head, *pb = dev_b.peers_head;

	CHECK(pa && pb);
	if (!pa || !pb)
		return;
	expect(&dev_a, a, "A fresh");
	expect(&dev_b, b, "B fresh");

	packet_send_handshake_initiation(pa, false);
	a[HS_INITIATION_SENT] = 1;
	expect(&dev_a, a, "A after sending its initiation");
	expect(&dev_b, b, "B before reading");

	device_udp_readable(&dev_b, &dev_b.sock4);	/* B answers */
	b[HS_INITIATION_RECEIVED] = b[HS_RESPONSE_SENT] = b[HS_SESSION_DERIVED] = 1;
	expect(&dev_b, b, "B after answering");

	device_udp_readable(&dev_a, &dev_a.sock4);	/* A completes, sends a keepalive */
	a[HS_RESPONSE_RECEIVED] = a[HS_SESSION_DERIVED] = 1;
	expect(&dev_a, a, "A after the response");
	CHECK(pa->keypairs.current != NULL);

	/* Transport data is not a handshake. */
	device_udp_readable(&dev_b, &dev_b.sock4);
	expect(&dev_b, b, "B after the keepalive");
	CHECK(pb->keypairs.current != NULL);

	/* A second initiation within REKEY_TIMEOUT is not sent, nor counted. */
	packet_send_handshake_initiation(pa, false);
	expect(&dev_a, a, "A after a too-early initiation");
	CHECK_INT(dev_a.drops[DROP_RX_HANDSHAKE_INVALID] + dev_b.drops[DROP_RX_HANDSHAKE_INVALID], 0);
}

/* The next initiation of A, caught by the capture socket.  Its length, or
 * -1. */
static ssize_t catch_initiation(uint8_t *buf, size_t cap)
{
	struct peer *pa = dev_a.peers_head;
	ssize_t n = -1;

	set_peer(&dev_a, NULL, pub_b, capture_port);
	pa->last_sent_handshake_ns = 0;	/* past the one-per-REKEY_TIMEOUT limit */
	packet_send_handshake_initiation(pa, false);
	for (int i = 0; i < 100 && n < 0; i++) {
		n = recv(capture_fd, buf, cap, 0);
		if (n < 0)
			usleep(1000);
	}
	return n;
}

static void send_to_b(const uint8_t *buf, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(dev_b.listen_port) };

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(sendto(capture_fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
	device_udp_readable(&dev_b, &dev_b.sock4);
}

/* What B must not count: a replay, a flipped MAC1 byte, a stranger. */
static void test_rejects_move_no_counter(void)
{
	uint8_t pkt[sizeof(struct message_handshake_initiation) + 16], keep[sizeof(pkt)];
	uint64_t b[HS__COUNT], a_sent;
	uint64_t invalid = dev_b.drops[DROP_RX_HANDSHAKE_INVALID];
	uint64_t bad_mac = dev_b.drops[DROP_RX_BAD_MAC];
	ssize_t n;

	/* Initiations of one peer less than 20 ms apart are refused as a
	 * flood; this test wants only the replay refused. */
	usleep(30 * 1000);
	a_sent = dev_a.handshakes[HS_INITIATION_SENT];
	n = catch_initiation(pkt, sizeof(pkt));
	CHECK_INT(n, (ssize_t)sizeof(struct message_handshake_initiation));
	if (n != (ssize_t)sizeof(struct message_handshake_initiation))
		return;
	CHECK_INT(dev_a.handshakes[HS_INITIATION_SENT], a_sent + 1);
	memcpy(keep, pkt, (size_t)n);

	/* Delivered once: counted, answered (to A's real port: B learnt
	 * the capture socket as A's endpoint, so drain it). */
	memcpy(b, dev_b.handshakes, sizeof(b));
	send_to_b(pkt, (size_t)n);
	b[HS_INITIATION_RECEIVED]++;
	b[HS_RESPONSE_SENT]++;
	b[HS_SESSION_DERIVED]++;
	expect(&dev_b, b, "B after the caught initiation");
	while (recv(capture_fd, pkt, sizeof(pkt), 0) > 0)
		;

	/* The same bytes again: the timestamp is not newer. */
	usleep(30 * 1000);
	send_to_b(keep, (size_t)n);
	expect(&dev_b, b, "B after a replay");
	CHECK_INT(dev_b.drops[DROP_RX_HANDSHAKE_INVALID], invalid + 1);

	/* Every byte of MAC1 flipped in turn: a bad MAC, never a handshake. */
	const size_t mac1 = offsetof(struct message_handshake_initiation, macs.mac1);
	for (size_t i = 0; i < COOKIE_LEN; i++) {
		memcpy(pkt, keep, (size_t)n);
		pkt[mac1 + i] ^= 0x01;
		send_to_b(pkt, (size_t)n);
	}
	expect(&dev_b, b, "B after bad MAC1s");
	CHECK_INT(dev_b.drops[DROP_RX_BAD_MAC], bad_mac + COOKIE_LEN);

	/* A body byte flipped: MAC1 no longer matches either. */
	memcpy(pkt, keep, (size_t)n);
	pkt[offsetof(struct message_handshake_initiation, encrypted_static)] ^= 0x80;
	send_to_b(pkt, (size_t)n);
	expect(&dev_b, b, "B after a flipped body byte");
	CHECK_INT(dev_b.drops[DROP_RX_BAD_MAC], bad_mac + COOKIE_LEN + 1);

	/* Not an initiation at all: short, and an unknown type. */
	send_to_b(keep, 40);
	memcpy(pkt, keep, (size_t)n);
	pkt[0] = 9;
	send_to_b(pkt, (size_t)n);
	expect(&dev_b, b, "B after garbage");

	set_peer(&dev_a, NULL, pub_b, dev_b.listen_port);
	explicit_bzero(keep, sizeof(keep));
}

/* ---- the counters in GET /metrics ---- */

static int read_counters(struct device *dev, void *ctx)
{
	struct api_counters *c = ctx;

	memcpy(c->drops, dev->drops, sizeof(dev->drops));
	c->n_drops = DROP__COUNT;
	memcpy(c->handshakes, dev->handshakes, sizeof(dev->handshakes));
	c->n_handshakes = HS__COUNT;
	return 0;
}

static int counters_of_b(void *ctx, struct api_counters *out)
{
	memset(out, 0, sizeof(*out));
	return device_call(&dev_b, read_counters, out);
}

static int counters_fail(void *ctx, struct api_counters *out)
{
	return -EIO;
}

static void *loop_b(void *arg)
{
	device_run(&dev_b);
	return NULL;
}

static int stop(struct device *dev, void *ctx)
{
	device_stop(dev, 0);
	return 0;
}

static void test_metrics_exports_counters(void)
{
	struct store_key *skey = store_key_new();
	struct store *st = NULL;
	struct control *ctl = NULL;
	struct control_error e;
	struct api api = { 0 };
	struct api_request req = { 0 };
	struct api_reply r = { 0 };
	struct api_counters snap;
	pthread_t loop;
	char err[256], want[128];

	CHECK(skey && crypto_random(skey->bytes, sizeof(skey->bytes)));
	CHECK_INT(store_create("memory:", skey, &st, err, sizeof(err)), 0);
	CHECK_INT(control_init_server(st, NULL, &e), 0);
	CHECK_INT(control_open(st, &ctl, &e), 0);
	if (!ctl)
		goto out;
	api.ctl = ctl;
	api.interface = "devtb0";
	api.counters = counters_of_b;

	/* B's loop runs in a thread of its own, as in the server: the API
	 * reads the counters through device_call. */
	CHECK_INT(pthread_create(&loop, NULL, loop_b, NULL), 0);
	CHECK_INT(counters_of_b(NULL, &snap), 0);
	CHECK_INT(snap.n_handshakes, HS__COUNT);
	CHECK_INT(api_get_metrics(&api, &req, &r), 0);
	CHECK_INT(device_call(&dev_b, stop, NULL), 0);
	CHECK_INT(pthread_join(loop, NULL), 0);
	CHECK_INT(r.status, 200);
	CHECK(r.body && strstr(r.body, "# TYPE zerowg_handshakes_total counter\n"));
	static const char *const types[HS__COUNT] = {
		[HS_INITIATION_RECEIVED] = "initiation_received",
		[HS_INITIATION_SENT] = "initiation_sent",
		[HS_RESPONSE_RECEIVED] = "response_received",
		[HS_RESPONSE_SENT] = "response_sent",
		[HS_COOKIE_RECEIVED] = "cookie_received",
		[HS_SESSION_DERIVED] = "completed",
	};
	for (int i = 0; i < HS__COUNT; i++) {
		snprintf(want, sizeof(want), "\nzerowg_handshakes_total{type=\"%s\"} %llu\n",
			 types[i], (unsigned long long)snap.handshakes[i]);
		CHECK(r.body && strstr(r.body, want));
		if (r.body && !strstr(r.body, want))
			fprintf(stderr, "  missing: %s", want + 1);
	}
	/* B completed two handshakes in the tests before. */
	CHECK(r.body && strstr(r.body, "\nzerowg_handshakes_total{type=\"completed\"} 2\n"));
	api_reply_free(&r);

	/* The data plane does not answer: no family at all, not zeros. */
	api.counters = counters_fail;
	memset(&r, 0, sizeof(r));
	CHECK_INT(api_get_metrics(&api, &req, &r), 0);
	CHECK(r.body && !strstr(r.body, "zerowg_handshakes_total"));
	CHECK(r.body && !strstr(r.body, "zerowg_drops_total"));
	api_reply_free(&r);
out:
	if (ctl)
		control_close(ctl);
	if (st)
		store_close(st);
	store_key_free(skey);
}

int main(void)
{
	setup();
	RUN(test_handshake_moves_counters);
	RUN(test_rejects_move_no_counter);
	RUN(test_metrics_exports_counters);
	if (capture_fd >= 0)
		close(capture_fd);
	device_teardown(&dev_a);
	device_teardown(&dev_b);
	explicit_bzero(priv_a, 32);
	explicit_bzero(priv_b, 32);
	TEST_EXIT();
}
