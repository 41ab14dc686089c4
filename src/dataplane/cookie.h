/*
 * cookie.h - MAC1/MAC2 and the cookie reply (whitepaper 5.4.4 and 5.4.7).
 *
 * The checker side belongs to the device (validates MACs on incoming
 * handshake messages, makes cookie replies when under load); the maker side
 * belongs to each peer (adds MAC1, and MAC2 once a cookie was received,
 * consumes cookie replies).  Time is passed in as monotonic nanoseconds.
 * Concurrency: none inside.
 */
#ifndef ZWG_COOKIE_H
#define ZWG_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "messages.h"

struct cookie_checker {
	uint8_t secret[NOISE_HASH_LEN];		/* Rm, rotated every COOKIE_SECRET_MAX_AGE */
	uint64_t secret_birthdate_ns;		/* 0 = not yet made */
	uint8_t cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN]; /* HASH("cookie--" || Spub_m) */
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];      /* HASH("mac1----" || Spub_m) */
	bool has_keys;
};

struct cookie {
	uint64_t birthdate_ns;			/* when the cookie was received */
	bool is_valid;
	uint8_t cookie[COOKIE_LEN];
	bool have_sent_mac1;
	uint8_t last_mac1_sent[COOKIE_LEN];
	uint8_t cookie_decryption_key[NOISE_SYMMETRIC_KEY_LEN]; /* from the peer's public key */
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
};

enum cookie_mac_state {
	INVALID_MAC,
	VALID_MAC_BUT_NO_COOKIE,
	VALID_MAC_WITH_COOKIE,
};

/* Device side.  (Re)derives the two keys from the device's public key; NULL
 * clears them (then every packet is INVALID_MAC). */
void cookie_checker_init(struct cookie_checker *c, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN]);
void cookie_checker_wipe(struct cookie_checker *c);

/* msg/len is a whole handshake initiation or response (macs last).  Checks
 * MAC1; if check_cookie, also checks MAC2 against the cookie for src (the
 * outer source address and port).  Returns INVALID_MAC if MAC1 is wrong,
 * VALID_MAC_WITH_COOKIE if MAC1 and (check_cookie and MAC2) are right,
 * else VALID_MAC_BUT_NO_COOKIE. */
enum cookie_mac_state cookie_validate_packet(struct cookie_checker *c,
					     const uint8_t *msg, size_t len,
					     const struct sockaddr *src,
					     bool check_cookie, uint64_t now_ns);

/* Builds the cookie reply to msg (initiation or response) from src: the
 * cookie for src, encrypted with XChaCha20-Poly1305 under the cookie key and
 * a random nonce, with msg's MAC1 as additional data.  receiver_index is
 * msg's sender_index. */
bool cookie_message_create(struct message_handshake_cookie *dst,
			   struct cookie_checker *c, const uint8_t *msg, size_t len,
			   uint32_t receiver_index, const struct sockaddr *src,
			   uint64_t now_ns) __attribute__((warn_unused_result));

/* Peer side: derives the keys from the peer's public key. */
void cookie_init(struct cookie *ck, const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN]);
void cookie_wipe(struct cookie *ck);

/* Fills msg's MAC1, and MAC2 when a cookie younger than
 * COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY is held (else zeros).
 * Remembers MAC1 for consume. */
void cookie_add_mac_to_packet(uint8_t *msg, size_t len, struct cookie *ck, uint64_t now_ns);

/* Decrypts a cookie reply addressed to this peer (the caller found the peer
 * by receiver_index).  Requires that we sent a MAC1 (it is the AD).  True
 * and stores the cookie on success. */
bool cookie_message_consume(const struct message_handshake_cookie *src,
			    struct cookie *ck, uint64_t now_ns)
	__attribute__((warn_unused_result));

#endif
