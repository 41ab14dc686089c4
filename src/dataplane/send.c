/*
 * send.c - packets leaving the device: handshake initiations and responses,
 * keepalives, and data read from the TUN device, encrypted in batches.
 *
 * A TUN batch goes through three steps: classify (route by allowed IPs,
 * choose the keypair, take counters, pad), crypt (pure AEAD over the batch,
 * the step that can run on other cores), and send (sendmmsg per socket).
 * Packets for a peer without a usable session are staged and a handshake
 * is started (whitepaper 6.2).
 */
#include "clock.h"
#include "crypto.h"
#include "device.h"
#include "offload.h"
#include "socket.h"
#include "timers.h"
#include "tun.h"

#include <endian.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A keypair may encrypt while it is younger than REJECT_AFTER_TIME and has
 * counters left. */
static bool keypair_usable_for_sending(const struct noise_keypair *kp, uint64_t now)
{
	return kp && kp->valid && kp->sending_counter < REJECT_AFTER_MESSAGES &&
	       now - kp->birthdate_ns < (uint64_t)REJECT_AFTER_TIME * NSEC_PER_SEC;
}

void packet_send_handshake_initiation(struct peer *peer, bool is_retry)
{
	struct device *dev = peer->device;
	struct message_handshake_initiation msg;
	uint64_t now = clock_now_ns();
	char tag[PEER_TAG_LEN];

	if (!is_retry)
		peer->timer_handshake_attempts = 0;
	/* At most one initiation per REKEY_TIMEOUT (whitepaper 6.1). */
	if (peer->last_sent_handshake_ns &&
	    now - peer->last_sent_handshake_ns < (uint64_t)REKEY_TIMEOUT * NSEC_PER_SEC)
		return;
	if (!peer->endpoint.addr.sa.sa_family || !dev->identity->has_identity)
		return;
	peer->last_sent_handshake_ns = now;

	uint32_t index = index_table_insert_new(dev, &peer->handshake_index);
	if (!noise_handshake_create_initiation(&msg, &peer->handshake, dev->identity, index)) {
		index_table_remove(dev, &peer->handshake_index);
		return;
	}
	cookie_add_mac_to_packet((uint8_t *)&msg, sizeof(msg), &peer->latest_cookie, now);
	log_debug("%s: sending handshake initiation", peer_tag(peer, tag));
	timers_any_authenticated_packet_traversal(peer);
	timers_any_authenticated_packet_sent(peer);
	if (socket_send(dev, &peer->endpoint, &msg, sizeof(msg)) == 0) {
		peer->tx_bytes += sizeof(msg);
		dev->handshakes[HS_INITIATION_SENT]++;
	}
	timers_handshake_initiated(peer);
}

/* Whitepaper 6.2: the initiator of the current session rekeys after
 * REKEY_AFTER_TIME; anyone rekeys after REKEY_AFTER_MESSAGES. */
static void keep_key_fresh(struct peer *peer, uint64_t now)
{
	struct noise_keypair *kp = peer->keypairs.current;

	if (kp && kp->valid &&
	    (kp->sending_counter > REKEY_AFTER_MESSAGES ||
	     (kp->is_initiator && now - kp->birthdate_ns > (uint64_t)REKEY_AFTER_TIME * NSEC_PER_SEC)))
		packet_send_handshake_initiation(peer, false);
}

/* Encrypts one plaintext of len bytes at buf + PKT_HEADROOM in place and
 * writes the data header in front.  Returns the datagram length. */
static size_t encrypt_one(uint8_t *buf, size_t len, size_t padded, uint64_t counter,
			  const struct noise_keypair *kp)
{
	struct message_data *hdr = (struct message_data *)buf;
	uint8_t *plain = buf + PKT_HEADROOM;

	memset(plain + len, 0, padded - len);
	hdr->header.type = htole32(MESSAGE_DATA);
	hdr->key_idx = htole32(kp->remote_index);
	hdr->counter = htole64(counter);
	if (!chacha20poly1305_encrypt(plain, plain, padded, NULL, 0, counter, kp->sending_key))
		return 0;
	return PKT_HEADROOM + padded + NOISE_AUTHTAG_LEN;
}

static size_t padded_len(size_t len, int mtu)
{
	size_t padded = (len + MESSAGE_PADDING_MULTIPLE - 1) & ~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);

	/* Never pad past the MTU, so padding alone cannot fragment. */
	if (len <= (size_t)mtu && padded > (size_t)mtu)
		padded = (size_t)mtu;
	return padded;
}

/* Sends an encrypted packet of plaintext len bytes (already at
 * buf + PKT_HEADROOM) to peer on its current keypair.  Returns 0, or
 * -ENOKEY if there is no usable session (the caller stages the packet). */
static int send_one_now(struct peer *peer, uint8_t *buf, size_t len, uint64_t now)
{
	struct device *dev = peer->device;
	struct noise_keypair *kp = peer->keypairs.current;
	size_t out;

	if (!keypair_usable_for_sending(kp, now))
		return -ENOKEY;
	out = encrypt_one(buf, len, padded_len(len, dev->mtu), kp->sending_counter++, kp);
	if (!out)
		return -EIO;
	if (socket_send(dev, &peer->endpoint, buf, out) < 0) {
		device_drop(dev, DROP_TX_SEND, NULL);
		return 0;
	}
	peer->tx_bytes += out;
	timers_any_authenticated_packet_traversal(peer);
	timers_any_authenticated_packet_sent(peer);
	if (len)
		timers_data_sent(peer);
	return 0;
}

void packet_send_keepalive(struct peer *peer)
{
	struct device *dev = peer->device;
	uint64_t now = clock_now_ns();
	uint8_t buf[PKT_HEADROOM + NOISE_AUTHTAG_LEN];

	if (!peer->endpoint.addr.sa.sa_family)
		return;
	if (peer->staged_head) {
		packet_send_staged_packets(peer);
		return;
	}
	if (send_one_now(peer, buf, 0, now) == -ENOKEY)
		packet_send_handshake_initiation(peer, false);
	(void)dev;
	keep_key_fresh(peer, now);
}

void packet_send_staged_packets(struct peer *peer)
{
	struct device *dev = peer->device;
	uint64_t now = clock_now_ns();
	struct pkt_buf *b = &dev->tx[0];

	while (peer->staged_head) {
		struct staged_packet *sp = peer->staged_head;
		if (!keypair_usable_for_sending(peer->keypairs.current, now) ||
		    !peer->endpoint.addr.sa.sa_family) {
			packet_send_handshake_initiation(peer, false);
			return;
		}
		peer->staged_head = sp->next;
		if (!peer->staged_head)
			peer->staged_tail = NULL;
		peer->staged_count--;
		memcpy(b->data + PKT_HEADROOM, sp->data, sp->len);
		(void)send_one_now(peer, b->data, sp->len, now);
		explicit_bzero(sp->data, sp->len);
		free(sp);
	}
	keep_key_fresh(peer, now);
}

/* The destination of an IP packet read from the TUN device, or NULL. */
static struct peer *route(struct device *dev, const uint8_t *pkt, size_t len)
{
	struct allowedips_owner *o;

	if (len >= sizeof(struct iphdr) && (pkt[0] >> 4) == 4)
		o = allowedips_lookup(&dev->allowedips, AF_INET, pkt + offsetof(struct iphdr, daddr));
	else if (len >= sizeof(struct ip6_hdr) && (pkt[0] >> 4) == 6)
		o = allowedips_lookup(&dev->allowedips, AF_INET6,
				      pkt + offsetof(struct ip6_hdr, ip6_dst));
	else
		return NULL;
	return o ? (struct peer *)((char *)o - offsetof(struct peer, allowedips)) : NULL;
}

struct tx_job {
	struct peer *peer;
	struct noise_keypair *kp;
	uint8_t *buf;		/* PKT_HEADROOM bytes, then the plaintext */
	uint64_t counter;
	size_t len, padded, out;
};

/* The crypt step: pure function of the jobs, no device state touched, so
 * it runs on the worker threads (workers.h). */
static void crypt_range(void *ctx, int start, int end)
{
	struct tx_job *jobs = ctx;

	for (int i = start; i < end; i++)
		if (jobs[i].peer)
			jobs[i].out = encrypt_one(jobs[i].buf, jobs[i].len, jobs[i].padded,
						  jobs[i].counter, jobs[i].kp);
}

/* Cuts a super-packet into segments in the free slots, from segment
 * *next on.  Returns the number of packets added to jobs. */
static int split_into_slots(struct device *dev, const struct virtio_net_hdr *h, const uint8_t *pkt,
			    size_t len, int *next, struct tx_job *jobs, int have, int *slot)
{
	uint8_t *out[TX_SLOTS];
	size_t lens[TX_SLOTS];
	int room = TX_SLOTS - *slot;

	for (int i = 0; i < room; i++)
		out[i] = dev->tx_slots + (size_t)(*slot + i) * TX_SLOT_SIZE + PKT_HEADROOM;
	int n = offload_tso_split_from(h, pkt, len, next, out,
				       TX_SLOT_SIZE - PKT_HEADROOM - MESSAGE_PADDING_MULTIPLE -
				       NOISE_AUTHTAG_LEN, lens, room);
	if (n < 0) {
		device_drop(dev, DROP_TX_BAD_PACKET, "unsplittable super-packet");
		*next = -1;
		return 0;
	}
	for (int i = 0; i < n; i++)
		jobs[have + i] = (struct tx_job){ .buf = out[i] - PKT_HEADROOM, .len = lens[i] };
	*slot += n;
	return n;
}

/* Turns what one TUN read delivered into plaintext packets (jobs[].buf,
 * .len), cutting TSO super-packets into segments in the slots; a
 * super-packet that does not fit is parked in dev->tx_super.  Returns the
 * number of packets added. */
static int unpack_read(struct device *dev, uint8_t *buf, size_t r, struct tx_job *jobs,
		       int have, int *slot)
{
	struct virtio_net_hdr h;
	uint8_t *pkt = buf + PKT_HEADROOM;

	if (!dev->tun_vnet) {
		jobs[have] = (struct tx_job){ .buf = buf, .len = r };
		return 1;
	}
	if (r < VNET_HDR_LEN) {
		device_drop(dev, DROP_TX_BAD_PACKET, "short vnet read");
		return 0;
	}
	memcpy(&h, pkt - VNET_HDR_LEN, VNET_HDR_LEN);
	r -= VNET_HDR_LEN;
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !offload_finish_csum(&h, pkt, r)) {
			device_drop(dev, DROP_TX_BAD_PACKET, "bad checksum offsets");
			return 0;
		}
		jobs[have] = (struct tx_job){ .buf = buf, .len = r };
		return 1;
	}
	int next = 0;
	int n = split_into_slots(dev, &h, pkt, r, &next, jobs, have, slot);
	if (next >= 0) {
		/* Park the rest; the read buffer is reused by the next batch. */
		memcpy(dev->tx_super + PKT_HEADROOM, pkt, r);
		dev->tx_super_len = r;
		dev->tx_super_hdr = h;
		dev->tx_super_next = next;
	}
	return n;
}

/* Reads a batch: first the rest of a parked super-packet, then up to
 * BATCH_SIZE reads while the slots can take a super-packet apart.
 * Returns false if the interface is gone. */
static bool read_batch(struct device *dev, struct tx_job *jobs, int *count, bool *more)
{
	int n = 0, slot = 0;
	size_t vlen = dev->tun_vnet ? VNET_HDR_LEN : 0;

	*more = false;
	if (dev->tx_super_next >= 0) {
		n = split_into_slots(dev, &dev->tx_super_hdr, dev->tx_super + PKT_HEADROOM,
				     dev->tx_super_len, &dev->tx_super_next, jobs, 0, &slot);
		if (dev->tx_super_next >= 0) {
			*more = true;
			*count = n;
			return true;
		}
	}
	for (int i = 0; i < BATCH_SIZE; i++) {
		/* Room for a typical super-packet (a smaller MSS parks). */
		if ((dev->tun_tso || dev->tun_uso_tx) && TX_SLOTS - slot < 64) {
			*more = true;
			break;
		}
		uint8_t *buf = dev->tx[i].data;
		ssize_t r = read(dev->tun_fd, buf + PKT_HEADROOM - vlen, 65535 + vlen);
		if (r < 0) {
			*count = n;
			/* EBADFD/EIO: the interface was deleted under us. */
			return errno == EAGAIN || errno == EINTR;
		}
		n += unpack_read(dev, buf, (size_t)r, jobs, n, &slot);
		if (dev->tx_super_next >= 0 || i == BATCH_SIZE - 1) {
			*more = true;
			break;
		}
	}
	*count = n;
	return true;
}

static void check_mtu(struct device *dev, uint64_t now)
{
	if (now - dev->mtu_checked_ns <= NSEC_PER_SEC)
		return;
	int mtu = tun_mtu(dev->tun_fd);
	if (mtu > 0)
		dev->mtu = mtu;
	dev->mtu_checked_ns = now;
	/* Segments must fit a slot; past that, let the kernel segment.  (The
	 * receive side keeps merging UDP: that needs no slot.) */
	if ((dev->tun_tso || dev->tun_uso_tx) &&
	    (size_t)dev->mtu + PKT_HEADROOM + MESSAGE_PADDING_MULTIPLE + NOISE_AUTHTAG_LEN >
		    TX_SLOT_SIZE) {
		if (tun_set_offloads(dev->tun_fd, false, false) == 0) {
			dev->tun_tso = dev->tun_uso_tx = false;
			log_info("MTU %d is too large for TSO and USO segments: both off", dev->mtu);
		}
	}
}

void device_tun_readable(struct device *dev)
{
	static struct tx_job jobs[TX_MAX_PKTS];
	static struct endpoint *eps[TX_MAX_PKTS];
	static struct iovec iov[TX_MAX_PKTS];
	uint64_t now = clock_now_ns();
	bool alive, more;
	int n;

	check_mtu(dev, now);
	/* A few batches per wake-up, then let the other fds have a turn; but
	 * a parked super-packet is finished first (nothing would wake us for
	 * it), and each round moves it on by a whole batch of slots. */
	for (int round = 0; round < 4 || dev->tx_super_next >= 0; round++) {
		alive = read_batch(dev, jobs, &n, &more);
		for (int i = 0; i < n; i++) {
			struct tx_job *j = &jobs[i];
			struct peer *peer = route(dev, j->buf + PKT_HEADROOM, j->len);
			if (!peer) {
				j->peer = NULL;
				device_drop(dev, DROP_TX_NO_PEER, NULL);
				continue;
			}
			j->peer = NULL;
			if (!peer->endpoint.addr.sa.sa_family) {
				device_drop(dev, DROP_TX_NO_ENDPOINT, NULL);
				continue;
			}
			struct noise_keypair *kp = peer->keypairs.current;
			/* Order: anything staged before goes first. */
			if (peer->staged_head || !keypair_usable_for_sending(kp, now)) {
				peer_stage_packet(peer, j->buf + PKT_HEADROOM, j->len);
				packet_send_handshake_initiation(peer, false);
				continue;
			}
			j->peer = peer;
			j->kp = kp;
			j->counter = kp->sending_counter++;
			j->padded = padded_len(j->len, dev->mtu);
		}
		workers_run(&dev->workers, crypt_range, jobs, n);
		int m = 0;
		for (int i = 0; i < n; i++) {
			if (!jobs[i].peer || !jobs[i].out)
				continue;
			eps[m] = &jobs[i].peer->endpoint;
			iov[m].iov_base = jobs[i].buf;
			iov[m].iov_len = jobs[i].out;
			m++;
		}
		int sent = socket_send_batch(dev, eps, iov, m);
		if (sent < m)
			dev->drops[DROP_TX_SEND] += (uint64_t)(m - sent);
		struct peer *last = NULL;
		for (int i = 0; i < n; i++) {
			struct peer *peer = jobs[i].peer;
			if (!peer || !jobs[i].out)
				continue;
			peer->tx_bytes += jobs[i].out;
			/* Timer hooks once per peer per batch is enough. */
			if (peer == last)
				continue;
			last = peer;
			timers_any_authenticated_packet_traversal(peer);
			timers_any_authenticated_packet_sent(peer);
			timers_data_sent(peer);
			keep_key_fresh(peer, now);
		}
		if (!alive) {
			log_error("Interface %s is gone, shutting down", dev->ifname);
			device_stop(dev, 0);
			return;
		}
		if (!more)
			break;
	}
}
