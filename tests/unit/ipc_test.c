/*
 * ipc_test.c - the UAPI request handler on a real device: set then get, the
 * semantics of replace_peers / remove / update_only / replace_allowed_ips,
 * an allowed IP moving between peers, atomicity of a rejected request, and
 * that re-sending the same private key (as `wg syncconf` does) keeps
 * sessions.  The device's "TUN" is one end of a socketpair; its UDP sockets
 * are real, on loopback ports the kernel picks.
 */
#include "test.h"
#include "crypto.h"
#include "device.h"
#include "encoding.h"
#include "ipc.h"

#include <sys/socket.h>
#include <unistd.h>

static struct device dev;
static int pair[2];

static char *request(const char *req)
{
	size_t len;
	char *r = ipc_handle_request(&dev, req, strlen(req), &len);

	if (!r)
		abort();
	return r;
}

static int request_errno(const char *req)
{
	char *r = request(req);
	int e = -1;

	sscanf(r, "errno=%d", &e);
	free(r);
	return e;
}

static void hexkey(char out[65], uint8_t fill)
{
	uint8_t k[32];

	memset(k, fill, sizeof(k));
	key_to_hex(out, k);
}

static char priv[65], pub1[65], pub2[65], pub3[65], psk[65];

static void setup(void)
{
	CHECK(crypto_init());
	CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, pair), 0);
	CHECK_INT(device_init(&dev, "test0", pair[0]), 0);
	hexkey(priv, 0x11);
	hexkey(pub1, 0x21);
	hexkey(pub2, 0x22);
	hexkey(pub3, 0x23);
	hexkey(psk, 0x42);
}

static void test_set_then_get(void)
{
	char req[2048];

	snprintf(req, sizeof(req),
		 "set=1\nprivate_key=%s\nlisten_port=0\nfwmark=0\nreplace_peers=true\n"
		 "public_key=%s\npreshared_key=%s\nendpoint=127.0.0.1:51999\n"
		 "persistent_keepalive_interval=0\nreplace_allowed_ips=true\n"
		 "allowed_ip=10.0.0.1/32\nallowed_ip=fd00::1/128\n"
		 "public_key=%s\nendpoint=[::1]:52000\nallowed_ip=10.1.0.0/16\n\n",
		 priv, pub1, psk, pub2);
	CHECK_INT(request_errno(req), 0);
	CHECK_INT(dev.peer_count, 2);

	char *get = request("get=1\n\n");
	char line[256];
	snprintf(line, sizeof(line), "private_key=%s\n", priv);
	/* The stored key is clamped: 0x11.. is already clamped except byte 0
	 * (0x11 & 248 = 0x10) and byte 31 (0x11 | 64 = 0x51). */
	CHECK(strstr(get, "private_key=10111111") != NULL);
	snprintf(line, sizeof(line), "public_key=%s\npreshared_key=%s\nprotocol_version=1\n"
		 "endpoint=127.0.0.1:51999\n", pub1, psk);
	CHECK(strstr(get, line) != NULL);
	CHECK(strstr(get, "allowed_ip=10.0.0.1/32\nallowed_ip=fd00::1/128\n") != NULL);
	snprintf(line, sizeof(line), "public_key=%s\n", pub2);
	CHECK(strstr(get, line) != NULL);
	CHECK(strstr(get, "endpoint=[::1]:52000\n") != NULL);
	CHECK(strstr(get, "allowed_ip=10.1.0.0/16\n") != NULL);
	snprintf(line, sizeof(line), "listen_port=%u\n", dev.listen_port);
	CHECK(strstr(get, line) != NULL);
	CHECK(dev.listen_port != 0);
	size_t n = strlen(get);
	CHECK(n > 9 && !strcmp(get + n - 9, "errno=0\n\n"));
	explicit_bzero(get, n);
	free(get);
}

static void test_rejected_request_changes_nothing(void)
{
	char req[1024];
	size_t before = dev.peer_count;

	/* A valid new peer first, then a bad value: nothing may be applied. */
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nallowed_ip=10.3.0.0/16\n"
		 "persistent_keepalive_interval=70000\n\n", pub3);
	CHECK_INT(request_errno(req), -22);
	CHECK_INT(dev.peer_count, before);
	CHECK_INT(request_errno("set=1\nbogus_key=1\n\n"), -71);
	CHECK_INT(request_errno("set=1\nlisten_port=99999\n\n"), -22);
	CHECK_INT(request_errno("frobnicate=1\n\n"), -71);
	/* And the device still answers. */
	CHECK_INT(request_errno("set=1\n\n"), 0);
}

static struct peer *peer_with(const char *hex)
{
	uint8_t k[32];

	if (!key_from_hex(k, hex))
		return NULL;
	return pubkey_table_lookup(&dev, k);
}

static void test_allowed_ip_moves_and_replace(void)
{
	char req[1024];
	uint8_t a[4] = { 10, 1, 2, 3 };

	/* 10.1.0.0/16 belongs to pub2; give it to pub1. */
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nallowed_ip=10.1.0.0/16\n\n", pub1);
	CHECK_INT(request_errno(req), 0);
	CHECK(allowedips_lookup(&dev.allowedips, AF_INET, a) == &peer_with(pub1)->allowedips);
	CHECK_INT(peer_with(pub2)->allowedips.count, 0);
	/* replace_allowed_ips drops the old ones. */
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nreplace_allowed_ips=true\nallowed_ip=10.9.0.0/24\n\n", pub1);
	CHECK_INT(request_errno(req), 0);
	CHECK_INT(peer_with(pub1)->allowedips.count, 1);
	CHECK(allowedips_lookup(&dev.allowedips, AF_INET, a) == NULL);
}

static void test_update_only_and_remove(void)
{
	char req[1024];

	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nupdate_only=true\nallowed_ip=10.3.0.0/16\n\n", pub3);
	CHECK_INT(request_errno(req), 0);
	CHECK(peer_with(pub3) == NULL);
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nremove=true\n\n", pub2);
	CHECK_INT(request_errno(req), 0);
	CHECK(peer_with(pub2) == NULL);
	CHECK_INT(dev.peer_count, 1);
}

static void test_same_private_key_keeps_sessions(void)
{
	char req[1024];
	struct peer *p = peer_with(pub1);
	struct noise_keypair *kp;

	/* Plant a session as a completed handshake would. */
	kp = noise_keypairs_reserve(&p->keypairs);
	kp->valid = true;
	kp->is_initiator = true;
	kp->local_index = 77;
	noise_keypairs_install(&p->keypairs, kp);
	CHECK(p->keypairs.current == kp);

	snprintf(req, sizeof(req), "set=1\nprivate_key=%s\n\n", priv);
	CHECK_INT(request_errno(req), 0);
	CHECK(p->keypairs.current == kp && kp->valid);

	/* A different key does clear them. */
	char other[65];
	hexkey(other, 0x55);
	snprintf(req, sizeof(req), "set=1\nprivate_key=%s\n\n", other);
	CHECK_INT(request_errno(req), 0);
	CHECK(p->keypairs.current == NULL);
}

static void test_own_key_is_not_a_peer(void)
{
	char req[1024], pubhex[65];

	/* Using the device's own public key as a peer is ignored. */
	key_to_hex(pubhex, dev.identity->static_public);
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nallowed_ip=10.7.0.0/16\n\n", pubhex);
	CHECK_INT(request_errno(req), 0);
	CHECK(pubkey_table_lookup(&dev, dev.identity->static_public) == NULL);
}

static void test_replace_peers(void)
{
	char req[1024];

	snprintf(req, sizeof(req), "set=1\nreplace_peers=true\npublic_key=%s\n\n", pub3);
	CHECK_INT(request_errno(req), 0);
	CHECK_INT(dev.peer_count, 1);
	CHECK(peer_with(pub3) != NULL);
	CHECK(peer_with(pub1) == NULL);
	/* Removing the private key (all zeros) is allowed. */
	char zero[65];
	hexkey(zero, 0);
	snprintf(req, sizeof(req), "set=1\nprivate_key=%s\n\n", zero);
	CHECK_INT(request_errno(req), 0);
	char *get = request("get=1\n\n");
	CHECK(strstr(get, "private_key=") == NULL);
	free(get);
}

int main(void)
{
	setup();
	RUN(test_set_then_get);
	RUN(test_rejected_request_changes_nothing);
	RUN(test_allowed_ip_moves_and_replace);
	RUN(test_update_only_and_remove);
	RUN(test_same_private_key_keeps_sessions);
	RUN(test_own_key_is_not_a_peer);
	RUN(test_replace_peers);
	device_teardown(&dev);
	close(pair[0]);
	close(pair[1]);
	TEST_EXIT();
}
