/*
 * receive_fuzz.c - garbled datagrams into the device's receive path.
 *
 * The device has a fixed identity and one peer whose private key the
 * harness also holds, so besides raw garbage the input can steer the
 * harness into sending messages that pass MAC1 (the type's fixed size, a
 * correct MAC1 over fuzzed bytes) and genuine handshake initiations and
 * data packets with fuzzed bytes XORed in.  Whatever arrives must be
 * dropped or handled: never a crash, a sanitizer report, or a hang.
 * Replies go to 127.0.0.1 (loopback only).
 */
#include "cookie.h"
#include "crypto.h"
#include "device.h"
#include "ipc.h"
#include "noise.h"
#include "clock.h"
#include "encoding.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct device dev;
static struct noise_static_identity peer_id;
static struct noise_handshake peer_hs;
static struct cookie dev_cookie;	/* the peer's view: MACs towards the device */
static int pair[2];

static void setup(void)
{
	uint8_t dev_priv[32], peer_priv[32];
	char req[512], hex[65], pubhex[65];

	log_init("fuzz", log_level_from_string(getenv("LOG_LEVEL")));
	if (!crypto_init() || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, pair) < 0 ||
	    device_init(&dev, "fuzz0", pair[0]) < 0)
		abort();
	memset(dev_priv, 0x11, sizeof(dev_priv));
	memset(peer_priv, 0x22, sizeof(peer_priv));
	if (!noise_static_identity_set(&peer_id, peer_priv))
		abort();
	key_to_hex(hex, dev_priv);
	key_to_hex(pubhex, peer_id.static_public);
	snprintf(req, sizeof(req), "set=1\nprivate_key=%s\npublic_key=%s\n"
		 "endpoint=127.0.0.1:9\nallowed_ip=10.0.0.2/32\nallowed_ip=fd00::2/128\n\n",
		 hex, pubhex);
	size_t len;
	free(ipc_handle_request(&dev, req, strlen(req), &len));
	noise_handshake_init(&peer_hs, &peer_id, dev.identity->static_public, NULL);
	cookie_init(&dev_cookie, dev.identity->static_public);
}

static void deliver(const uint8_t *msg, size_t len)
{
	struct pkt_buf *b = &dev.rx[0];

	if (len > PKT_BUF_SIZE)
		len = PKT_BUF_SIZE;
	memcpy(b->data, msg, len);
	b->len = len;
	memset(&b->src, 0, sizeof(b->src));
	b->src.sin.sin_family = AF_INET;
	b->src.sin.sin_port = htons(9);
	b->src.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	b->has_dst = false;
	b->gso_size = 0;
	device_receive_batch(&dev, 1);
}

static void xor_in(uint8_t *dst, size_t dlen, const uint8_t *src, size_t slen)
{
	for (size_t i = 0; i < dlen && i < slen; i++)
		dst[i] ^= src[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	uint8_t msg[2048];

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	uint8_t mode = data[0] % 4;
	data++, size--;
	switch (mode) {
	case 0:	/* raw bytes */
		deliver(data, size);
		break;
	case 1: {	/* a handshake-sized message with a valid MAC1 */
		size_t len = (size && (data[0] & 1)) ? sizeof(struct message_handshake_response)
						     : sizeof(struct message_handshake_initiation);
		memset(msg, 0, len);
		memcpy(msg, data, size < len ? size : len);
		msg[0] = len == sizeof(struct message_handshake_response) ? 2 : 1;
		msg[1] = msg[2] = msg[3] = 0;
		cookie_add_mac_to_packet(msg, len, &dev_cookie, clock_now_ns());
		deliver(msg, len);
		break;
	}
	case 2: {	/* a genuine initiation with fuzz XORed in before MAC1 */
		struct message_handshake_initiation init;
		if (!noise_handshake_create_initiation(&init, &peer_hs, &peer_id, 1234))
			abort();
		xor_in((uint8_t *)&init, offsetof(struct message_handshake_initiation, macs), data, size);
		cookie_add_mac_to_packet((uint8_t *)&init, sizeof(init), &dev_cookie, clock_now_ns());
		deliver((uint8_t *)&init, sizeof(init));
		break;
	}
	case 3: {	/* data messages aimed at whatever session exists */
		struct peer *p = dev.peers_head;
		struct message_data *hdr = (void *)msg;
		size_t len = size + sizeof(*hdr) < sizeof(msg) ? size + sizeof(*hdr) : sizeof(msg);
		memset(msg, 0, sizeof(msg));
		memcpy(msg + sizeof(*hdr), data, len - sizeof(*hdr));
		hdr->header.type = htole32(MESSAGE_DATA);
		if (p && p->keypairs.current)
			hdr->key_idx = htole32(p->keypairs.current->local_index);
		else if (p && p->keypairs.next)
			hdr->key_idx = htole32(p->keypairs.next->local_index);
		hdr->counter = htole64(size ? data[0] : 0);
		deliver(msg, len);
		break;
	}
	}
	return 0;
}
