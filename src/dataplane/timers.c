/*
 * timers.c - the five timers of a peer (whitepaper section 6):
 *
 *   retransmit_handshake  REKEY_TIMEOUT (+jitter) after an initiation with no
 *                         response: send another, up to MAX_TIMER_HANDSHAKES
 *                         times (REKEY_ATTEMPT_TIME in all), then give up.
 *   send_keepalive        KEEPALIVE_TIMEOUT after data was received and
 *                         nothing was sent back: send an empty packet.
 *   new_handshake         KEEPALIVE_TIMEOUT + REKEY_TIMEOUT after data was
 *                         sent and nothing came back: start a handshake.
 *   zero_key_material     3 * REJECT_AFTER_TIME after the last session was
 *                         derived: wipe every key of the peer.
 *   persistent_keepalive  every N seconds of no authenticated traffic.
 *
 * Times are protocol time (clock_now_ns), which the test build can speed up.
 * Everything runs on the device's owner thread.
 */
#include "timers.h"
#include "clock.h"
#include "crypto.h"
#include "device.h"
#include "log.h"

#include <stddef.h>

#define peer_of(t, field) ((struct peer *)((char *)(t) - offsetof(struct peer, field)))

static uint64_t jitter_ns(void)
{
	uint32_t r = 0;

	if (!crypto_random(&r, sizeof(r)))
		r = 0;
	return (uint64_t)(r % REKEY_TIMEOUT_JITTER_MAX_MS) * NSEC_PER_MSEC;
}

static void mod(struct peer *peer, struct timer *t, uint64_t delay_ns)
{
	timer_mod(&peer->device->timers, t, clock_now_ns() + delay_ns);
}

static void del(struct peer *peer, struct timer *t)
{
	timer_del(&peer->device->timers, t);
}

static void expired_retransmit_handshake(struct timer *t, uint64_t now)
{
	struct peer *peer = peer_of(t, timer_retransmit_handshake);
	char tag[PEER_TAG_LEN];

	if (peer->timer_handshake_attempts > MAX_TIMER_HANDSHAKES) {
		log_debug("%s: handshake did not complete after %d attempts, giving up",
			  peer_tag(peer, tag), MAX_TIMER_HANDSHAKES + 2);
		del(peer, &peer->timer_send_keepalive);
		/* We drop what was waiting: nobody is going to take it. */
		peer_purge_staged(peer);
		/* If nothing else arms it, wipe the keys in due time. */
		if (!timer_pending(&peer->timer_zero_key_material))
			mod(peer, &peer->timer_zero_key_material,
			    (uint64_t)REJECT_AFTER_TIME * 3 * NSEC_PER_SEC);
		return;
	}
	peer->timer_handshake_attempts++;
	log_debug("%s: handshake did not complete after %d seconds, retrying (try %u)",
		  peer_tag(peer, tag), REKEY_TIMEOUT, peer->timer_handshake_attempts + 1);
	/* The endpoint's source address may be what is broken. */
	endpoint_clear_src(&peer->endpoint);
	packet_send_handshake_initiation(peer, true);
	(void)now;
}

static void expired_send_keepalive(struct timer *t, uint64_t now)
{
	struct peer *peer = peer_of(t, timer_send_keepalive);

	packet_send_keepalive(peer);
	if (peer->timer_need_another_keepalive) {
		peer->timer_need_another_keepalive = false;
		mod(peer, &peer->timer_send_keepalive, (uint64_t)KEEPALIVE_TIMEOUT * NSEC_PER_SEC);
	}
	(void)now;
}

static void expired_new_handshake(struct timer *t, uint64_t now)
{
	struct peer *peer = peer_of(t, timer_new_handshake);
	char tag[PEER_TAG_LEN];

	log_debug("%s: retrying handshake because we stopped hearing back after %d seconds",
		  peer_tag(peer, tag), KEEPALIVE_TIMEOUT + REKEY_TIMEOUT);
	endpoint_clear_src(&peer->endpoint);
	packet_send_handshake_initiation(peer, false);
	(void)now;
}

static void expired_zero_key_material(struct timer *t, uint64_t now)
{
	struct peer *peer = peer_of(t, timer_zero_key_material);
	char tag[PEER_TAG_LEN];

	log_debug("%s: zeroing out all keys after not receiving a new one in %d seconds",
		  peer_tag(peer, tag), REJECT_AFTER_TIME * 3);
	peer_clear_sessions(peer);
	(void)now;
}

static void expired_persistent_keepalive(struct timer *t, uint64_t now)
{
	struct peer *peer = peer_of(t, timer_persistent_keepalive);

	if (peer->persistent_keepalive_interval)
		packet_send_keepalive(peer);
	(void)now;
}

void timers_init(struct peer *peer)
{
	timer_init(&peer->timer_retransmit_handshake, expired_retransmit_handshake);
	timer_init(&peer->timer_send_keepalive, expired_send_keepalive);
	timer_init(&peer->timer_new_handshake, expired_new_handshake);
	timer_init(&peer->timer_zero_key_material, expired_zero_key_material);
	timer_init(&peer->timer_persistent_keepalive, expired_persistent_keepalive);
	peer->timer_handshake_attempts = 0;
	peer->sent_lastminute_handshake = false;
	peer->timer_need_another_keepalive = false;
}

void timers_stop(struct peer *peer)
{
	del(peer, &peer->timer_retransmit_handshake);
	del(peer, &peer->timer_send_keepalive);
	del(peer, &peer->timer_new_handshake);
	del(peer, &peer->timer_zero_key_material);
	del(peer, &peer->timer_persistent_keepalive);
}

/* Data was sent: expect something back within KEEPALIVE + REKEY_TIMEOUT. */
void timers_data_sent(struct peer *peer)
{
	if (!timer_pending(&peer->timer_new_handshake))
		mod(peer, &peer->timer_new_handshake,
		    (uint64_t)(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT) * NSEC_PER_SEC + jitter_ns());
}

/* Data was received: answer with a keepalive unless we send something. */
void timers_data_received(struct peer *peer)
{
	if (!timer_pending(&peer->timer_send_keepalive))
		mod(peer, &peer->timer_send_keepalive, (uint64_t)KEEPALIVE_TIMEOUT * NSEC_PER_SEC);
	else
		peer->timer_need_another_keepalive = true;
}

/* Any authenticated packet (handshake, data, keepalive) went out. */
void timers_any_authenticated_packet_sent(struct peer *peer)
{
	del(peer, &peer->timer_send_keepalive);
}

/* Any authenticated packet came in. */
void timers_any_authenticated_packet_received(struct peer *peer)
{
	del(peer, &peer->timer_new_handshake);
}

void timers_handshake_initiated(struct peer *peer)
{
	mod(peer, &peer->timer_retransmit_handshake,
	    (uint64_t)REKEY_TIMEOUT * NSEC_PER_SEC + jitter_ns());
}

void timers_handshake_complete(struct peer *peer)
{
	del(peer, &peer->timer_retransmit_handshake);
	peer->timer_handshake_attempts = 0;
	peer->sent_lastminute_handshake = false;
	clock_gettime(CLOCK_REALTIME, &peer->last_handshake_wall);
}

void timers_session_derived(struct peer *peer)
{
	mod(peer, &peer->timer_zero_key_material, (uint64_t)REJECT_AFTER_TIME * 3 * NSEC_PER_SEC);
}

/* Sent or received, authenticated: push the persistent keepalive back. */
void timers_any_authenticated_packet_traversal(struct peer *peer)
{
	if (peer->persistent_keepalive_interval)
		mod(peer, &peer->timer_persistent_keepalive,
		    (uint64_t)peer->persistent_keepalive_interval * NSEC_PER_SEC);
}
