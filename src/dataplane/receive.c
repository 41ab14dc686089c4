/*
 * receive.c - datagrams arriving on the UDP sockets: handshake messages
 * (checked for MAC1, and under load for MAC2 and the per-source rate
 * limit, whitepaper 5.3), cookie replies, and transport data, decrypted in
 * batches and written to the TUN device after the replay check and the
 * cryptokey-routing source check (whitepaper 5.4.6 and 2).
 *
 * Every drop goes through a named reason (device_drop) and is counted.
 */
#include "clock.h"
#include "crypto.h"
#include "device.h"
#include "offload.h"
#include "socket.h"
#include "timers.h"

#include <endian.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* One datagram: a whole read, or one segment of a UDP GRO read.  The
 * addresses are those of the read it came in. */
struct rx_dgram {
	uint8_t *data;
	size_t len;
	const struct pkt_buf *b;
};

/* Learns the peer's endpoint from an authenticated packet (roaming,
 * whitepaper 2.1), and which of our addresses it talks to. */
static void update_endpoint(struct peer *peer, const struct rx_dgram *d)
{
	const struct pkt_buf *b = d->b;

	struct endpoint *ep = &peer->endpoint;

	if (b->src.sa.sa_family == AF_INET) {
		ep->addr.sin = b->src.sin;
		if (b->has_dst)
			ep->src4 = b->dst4;
	} else {
		ep->addr.sin6 = b->src.sin6;
		if (b->has_dst)
			ep->src6 = b->dst6;
	}
	ep->has_src = b->has_dst;
	ep->src_ifindex = b->dst_ifindex;
}

static struct noise_handshake *lookup_static(void *ctx, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	struct peer *peer = pubkey_table_lookup(ctx, key);

	return peer ? &peer->handshake : NULL;
}

static struct noise_handshake *lookup_handshake_index(void *ctx, uint32_t index)
{
	struct index_entry *e = index_table_lookup(ctx, index);

	/* Only the handshake's own entry, not a keypair's. */
	if (!e || e != &e->peer->handshake_index)
		return NULL;
	return &e->peer->handshake;
}

static struct peer *peer_of_handshake(struct noise_handshake *hs)
{
	return (struct peer *)((char *)hs - offsetof(struct peer, handshake));
}

/* Installs the session that begin_session derives into a free slot and
 * moves the handshake's index to it.  False if derivation failed. */
static bool begin_session(struct peer *peer, uint64_t now)
{
	struct device *dev = peer->device;
	struct noise_keypair *kp = noise_keypairs_reserve(&peer->keypairs);
	uint32_t index = peer->handshake.local_index;

	if (!kp || !noise_handshake_begin_session(&peer->handshake, kp, now))
		return false;
	index_table_remove(dev, &peer->handshake_index);
	index_table_insert(dev, &peer->keypair_index[noise_keypairs_slot(&peer->keypairs, kp)], index);
	noise_keypairs_install(&peer->keypairs, kp);
	timers_session_derived(peer);
	dev->handshakes[HS_SESSION_DERIVED]++;
	return true;
}

static void handshake_initiation_received(struct device *dev, struct rx_dgram *d, uint64_t now)
{
	struct message_handshake_initiation *msg = (void *)d->data;
	struct message_handshake_response resp;
	struct noise_handshake *hs;
	struct peer *peer;
	char tag[PEER_TAG_LEN];

	hs = noise_handshake_consume_initiation(msg, dev->identity, lookup_static, dev, now);
	if (!hs) {
		device_drop(dev, DROP_RX_HANDSHAKE_INVALID, "initiation");
		return;
	}
	dev->handshakes[HS_INITIATION_RECEIVED]++;
	peer = peer_of_handshake(hs);
	/* peer_tag base64-encodes the key: only for a line that is shown. */
	if (log_verbose_enabled())
		log_debug("%s: received handshake initiation", peer_tag(peer, tag));
	update_endpoint(peer, d);
	peer->rx_bytes += d->len;
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(peer);

	uint32_t index = index_table_insert_new(dev, &peer->handshake_index);
	if (!noise_handshake_create_response(&resp, hs, dev->identity, index)) {
		index_table_remove(dev, &peer->handshake_index);
		return;
	}
	cookie_add_mac_to_packet((uint8_t *)&resp, sizeof(resp), &peer->latest_cookie, now);
	if (!begin_session(peer, now))
		return;
	if (log_verbose_enabled())
		log_debug("%s: sending handshake response", peer_tag(peer, tag));
	timers_any_authenticated_packet_sent(peer);
	if (socket_send(dev, &peer->endpoint, &resp, sizeof(resp)) == 0) {
		peer->tx_bytes += sizeof(resp);
		dev->handshakes[HS_RESPONSE_SENT]++;
	}
}

static void handshake_response_received(struct device *dev, struct rx_dgram *d, uint64_t now)
{
	struct message_handshake_response *msg = (void *)d->data;
	struct noise_handshake *hs;
	struct peer *peer;
	char tag[PEER_TAG_LEN];

	hs = noise_handshake_consume_response(msg, dev->identity, lookup_handshake_index, dev);
	if (!hs) {
		device_drop(dev, DROP_RX_HANDSHAKE_INVALID, "response");
		return;
	}
	dev->handshakes[HS_RESPONSE_RECEIVED]++;
	peer = peer_of_handshake(hs);
	if (log_verbose_enabled())
		log_debug("%s: received handshake response", peer_tag(peer, tag));
	update_endpoint(peer, d);
	peer->rx_bytes += d->len;
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(peer);
	if (!begin_session(peer, now))
		return;
	timers_handshake_complete(peer);
	/* Confirms the session to the responder (it may only send once it
	 * has heard from us on it): staged data, or a keepalive. */
	packet_send_keepalive(peer);
}

static void cookie_reply_received(struct device *dev, struct rx_dgram *d, uint64_t now)
{
	struct message_handshake_cookie *msg = (void *)d->data;
	struct index_entry *e = index_table_lookup(dev, le32toh(msg->receiver_index));

	if (!e || !cookie_message_consume(msg, &e->peer->latest_cookie, now)) {
		device_drop(dev, DROP_RX_COOKIE_INVALID, NULL);
		return;
	}
	dev->handshakes[HS_COOKIE_RECEIVED]++;
	/* The next retransmission carries MAC2; the kernel does not resend
	 * at once either. */
}

static void handshake_received(struct device *dev, struct rx_dgram *d, uint32_t type, uint64_t now)
{
	bool under_load = device_under_load(dev, now);
	enum cookie_mac_state mac;

	mac = cookie_validate_packet(dev->cookie_checker, d->data, d->len, &d->b->src.sa,
				     under_load, now);
	if (mac == INVALID_MAC) {
		device_drop(dev, DROP_RX_BAD_MAC, NULL);
		return;
	}
	if (under_load) {
		if (mac != VALID_MAC_WITH_COOKIE) {
			struct message_handshake_cookie reply;
			uint32_t sender;
			memcpy(&sender, d->data + 4, sizeof(sender));	/* sender_index */
			if (cookie_message_create(&reply, dev->cookie_checker, d->data, d->len,
						  le32toh(sender), &d->b->src.sa, now)) {
				struct endpoint ep = { 0 };
				ep.addr = d->b->src;
				(void)socket_send(dev, &ep, &reply, sizeof(reply));
			}
			device_drop(dev, DROP_RX_COOKIE_SENT, NULL);
			return;
		}
		if (!ratelimiter_allow(&dev->ratelimiter, &d->b->src.sa, now)) {
			device_drop(dev, DROP_RX_RATELIMITED, NULL);
			return;
		}
	}
	if (type == MESSAGE_HANDSHAKE_INITIATION)
		handshake_initiation_received(dev, d, now);
	else
		handshake_response_received(dev, d, now);
}

/* Length of the IP packet inside a decrypted payload, or 0 if it is not one. */
static size_t inner_packet_len(const uint8_t *p, size_t len)
{
	if (len >= sizeof(struct iphdr) && (p[0] >> 4) == 4) {
		size_t total = ((size_t)p[2] << 8) | p[3];
		size_t ihl = (size_t)(p[0] & 0xf) * 4;
		return (ihl >= sizeof(struct iphdr) && total >= ihl && total <= len) ? total : 0;
	}
	if (len >= sizeof(struct ip6_hdr) && (p[0] >> 4) == 6) {
		size_t total = sizeof(struct ip6_hdr) + (((size_t)p[4] << 8) | p[5]);
		return total <= len ? total : 0;
	}
	return 0;
}

static bool inner_source_allowed(struct device *dev, struct peer *peer, const uint8_t *p)
{
	struct allowedips_owner *o;

	if ((p[0] >> 4) == 4)
		o = allowedips_lookup(&dev->allowedips, AF_INET, p + offsetof(struct iphdr, saddr));
	else
		o = allowedips_lookup(&dev->allowedips, AF_INET6, p + offsetof(struct ip6_hdr, ip6_src));
	return o == &peer->allowedips;
}

struct rx_job {
	struct peer *peer;
	struct noise_keypair *kp;
	uint32_t index;
	uint64_t counter;
	bool ok;
};

struct rx_crypt {
	struct rx_dgram *dg;
	struct rx_job *jobs;
};

/* The crypt step: pure function of the jobs, run on the worker threads. */
static void crypt_range(void *ctx, int start, int end)
{
	struct rx_dgram *dg = ((struct rx_crypt *)ctx)->dg;
	struct rx_job *jobs = ((struct rx_crypt *)ctx)->jobs;

	for (int i = start; i < end; i++) {
		if (!jobs[i].peer)
			continue;
		uint8_t *c = dg[i].data + sizeof(struct message_data);
		size_t clen = dg[i].len - sizeof(struct message_data);
		jobs[i].ok = chacha20poly1305_decrypt(c, c, clen, NULL, 0, jobs[i].counter,
						      jobs[i].kp->receiving_key);
	}
}

/* Whitepaper 6.2: near the end of a session we started, ask for a new one
 * before the responder's keys expire under us. */
static void keep_key_fresh_on_receive(struct peer *peer, uint64_t now)
{
	struct noise_keypair *kp = peer->keypairs.current;

	if (peer->sent_lastminute_handshake || !kp || !kp->valid || !kp->is_initiator)
		return;
	if (now - kp->birthdate_ns >
	    (uint64_t)(REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) * NSEC_PER_SEC) {
		peer->sent_lastminute_handshake = true;
		packet_send_handshake_initiation(peer, false);
	}
}

/* Checks an authenticated data packet; returns the length of the inner IP
 * packet to deliver (at *plain), or 0. */
static size_t data_received(struct device *dev, struct rx_dgram *d, struct rx_job *job,
			    uint64_t now, uint8_t **plain)
{
	struct peer *peer = job->peer;
	struct noise_keypair *kp = job->kp;
	size_t plen = d->len - sizeof(struct message_data) - NOISE_AUTHTAG_LEN;

	*plain = d->data + sizeof(struct message_data);
	if (!job->ok) {
		device_drop(dev, DROP_RX_DECRYPT, NULL);
		return 0;
	}
	/* A handshake earlier in this batch may have retired the keypair. */
	if (!kp->valid || kp->local_index != job->index) {
		device_drop(dev, DROP_RX_NO_KEYPAIR, NULL);
		return 0;
	}
	if (!replay_counter_validate(&kp->receiving_counter, job->counter)) {
		device_drop(dev, DROP_RX_REPLAY, NULL);
		return 0;
	}
	update_endpoint(peer, d);
	peer->rx_bytes += d->len;
	if (noise_keypairs_received_with(&peer->keypairs, kp)) {
		timers_handshake_complete(peer);
		packet_send_staged_packets(peer);
	}
	keep_key_fresh_on_receive(peer, now);
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(peer);
	if (plen == 0)
		return 0;	/* a keepalive */
	size_t ilen = inner_packet_len(*plain, plen);
	if (!ilen) {
		device_drop(dev, DROP_RX_BAD_INNER, NULL);
		return 0;
	}
	if (!inner_source_allowed(dev, peer, *plain)) {
		device_drop(dev, DROP_RX_ALLOWEDIPS, NULL);
		return 0;
	}
	timers_data_received(peer);
	return ilen;
}

/* First pass over a datagram: its type, and for data its keypair. */
static uint32_t classify(struct device *dev, struct rx_dgram *b, struct rx_job *job, uint64_t now)
{
	uint32_t type;

	job->peer = NULL;
	if (b->len < sizeof(struct message_header)) {
		device_drop(dev, DROP_RX_SHORT, NULL);
		return MESSAGE_INVALID;
	}
	memcpy(&type, b->data, sizeof(type));
	type = le32toh(type);
	switch (type) {
	case MESSAGE_HANDSHAKE_INITIATION:
		if (b->len == sizeof(struct message_handshake_initiation))
			return type;
		break;
	case MESSAGE_HANDSHAKE_RESPONSE:
		if (b->len == sizeof(struct message_handshake_response))
			return type;
		break;
	case MESSAGE_HANDSHAKE_COOKIE:
		if (b->len == sizeof(struct message_handshake_cookie))
			return type;
		break;
	case MESSAGE_DATA: {
		struct message_data *hdr = (void *)b->data;
		if (b->len < MESSAGE_MINIMUM_LENGTH)
			break;
		uint32_t index = le32toh(hdr->key_idx);
		struct index_entry *e = index_table_lookup(dev, index);
		struct noise_keypair *kp = e ? noise_keypairs_find(&e->peer->keypairs, index) : NULL;
		if (!kp || !kp->valid ||
		    now - kp->birthdate_ns >= (uint64_t)REJECT_AFTER_TIME * NSEC_PER_SEC ||
		    kp->receiving_counter.counter >= REJECT_AFTER_MESSAGES) {
			device_drop(dev, DROP_RX_NO_KEYPAIR, NULL);
			return MESSAGE_INVALID;
		}
		*job = (struct rx_job){ .peer = e->peer, .kp = kp, .index = index,
					.counter = le64toh(hdr->counter) };
		return type;
	}
	default:
		break;
	}
	device_drop(dev, DROP_RX_BAD_TYPE, NULL);
	return MESSAGE_INVALID;
}

static void tun_write_run(struct device *dev, struct gro_run *run)
{
	int n = gro_run_finish(run);

	if (n > 0 && writev(dev->tun_fd, run->iov, n) < 0)
		device_drop(dev, DROP_RX_TUN_WRITE, NULL);
	gro_run_reset(run);
}

/* Delivers one decrypted packet.  With a vnet TUN, TCP segments that follow
 * each other (and with USO, UDP datagrams of one flow) are merged into one
 * write (offload.h); anything else first flushes the run, so the order of
 * packets is kept. */
static void deliver(struct device *dev, struct gro_run *run, uint8_t *pkt, size_t len)
{
	if (!dev->tun_vnet) {
		if (write(dev->tun_fd, pkt, len) < 0)
			device_drop(dev, DROP_RX_TUN_WRITE, NULL);
		return;
	}
	if (gro_run_add(run, pkt, len))
		return;
	tun_write_run(dev, run);
	if (gro_run_add(run, pkt, len))
		return;
	/* Not mergeable: alone, with a header saying it is checksum-valid
	 * (the AEAD authenticated it).  The data header left room in front. */
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	memcpy(pkt - VNET_HDR_LEN, &h, VNET_HDR_LEN);
	if (write(dev->tun_fd, pkt - VNET_HDR_LEN, len + VNET_HDR_LEN) < 0)
		device_drop(dev, DROP_RX_TUN_WRITE, NULL);
}

/* Processes the datagrams of n reads in dev->rx, cutting UDP GRO reads into
 * their segments. */
void device_receive_batch(struct device *dev, int n)
{
	static struct rx_dgram dg[RX_MAX_DGRAMS];
	static struct rx_job jobs[RX_MAX_DGRAMS];
	static uint32_t types[RX_MAX_DGRAMS];
	struct gro_run run;
	uint64_t now = clock_now_ns();
	int nd = 0;

	for (int i = 0; i < n; i++) {
		struct pkt_buf *b = &dev->rx[i];
		size_t seg = b->gso_size ? b->gso_size : b->len;
		if (b->len == 0) {
			device_drop(dev, DROP_RX_SHORT, NULL);
			continue;
		}
		for (size_t off = 0; off < b->len && nd < RX_MAX_DGRAMS; off += seg) {
			dg[nd].data = b->data + off;
			dg[nd].len = b->len - off < seg ? b->len - off : seg;
			dg[nd].b = b;
			nd++;
		}
	}
	for (int i = 0; i < nd; i++)
		types[i] = classify(dev, &dg[i], &jobs[i], now);
	struct rx_crypt rc = { dg, jobs };
	workers_run(&dev->workers, crypt_range, &rc, nd);
	gro_run_reset(&run);
	run.uso = dev->tun_uso;
	/* In arrival order, so a handshake and the data after it keep their
	 * order. */
	for (int i = 0; i < nd; i++) {
		uint8_t *plain;
		size_t len;
		switch (types[i]) {
		case MESSAGE_HANDSHAKE_INITIATION:
		case MESSAGE_HANDSHAKE_RESPONSE:
			handshake_received(dev, &dg[i], types[i], now);
			break;
		case MESSAGE_HANDSHAKE_COOKIE:
			cookie_reply_received(dev, &dg[i], now);
			break;
		case MESSAGE_DATA:
			len = data_received(dev, &dg[i], &jobs[i], now, &plain);
			if (len)
				deliver(dev, &run, plain, len);
			break;
		default:
			break;
		}
	}
	tun_write_run(dev, &run);
}

void device_udp_readable(struct device *dev, struct udp_socket *s)
{
	/* With GRO each read may hold dozens of datagrams: read fewer. */
	int want = dev->udp_gro ? RX_GRO_READS : BATCH_SIZE;

	/* A few batches per wake-up, then let the other fds have a turn. */
	for (int round = 0; round < 4; round++) {
		int n = socket_recv_batch(s, dev->rx, want);
		if (n < 0)
			log_error("recvmmsg: %s", strerror(-n));
		if (n <= 0)
			return;
		device_receive_batch(dev, n);
		if (n < want)
			return;
	}
}
