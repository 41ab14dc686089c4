/*
 * messages.h - WireGuard wire format and protocol constants.
 *
 * Names follow the WireGuard whitepaper (sections 5.4 and 6) and the Linux
 * driver's messages.h, so a reader can check each value against the paper.
 * All multi-byte integers on the wire are little-endian.
 */
#ifndef ZWG_MESSAGES_H
#define ZWG_MESSAGES_H

#include <stdint.h>

enum noise_lengths {
	NOISE_PUBLIC_KEY_LEN = 32,
	NOISE_SYMMETRIC_KEY_LEN = 32,
	NOISE_TIMESTAMP_LEN = 12,	/* TAI64N */
	NOISE_AUTHTAG_LEN = 16,
	NOISE_HASH_LEN = 32,
};

#define noise_encrypted_len(plain_len) ((plain_len) + NOISE_AUTHTAG_LEN)

enum cookie_values {
	COOKIE_SECRET_MAX_AGE = 2 * 60,		/* seconds */
	COOKIE_SECRET_LATENCY = 5,		/* seconds */
	COOKIE_NONCE_LEN = 24,			/* XChaCha20-Poly1305 nonce */
	COOKIE_LEN = 16,
};

/* Timers and limits of whitepaper section 6.  Times in seconds. */
enum counter_values {
	COUNTER_BITS_TOTAL = 8192,	/* replay window storage, in bits */
	COUNTER_REDUNDANT_BITS = 64,	/* one machine word */
	COUNTER_WINDOW_SIZE = COUNTER_BITS_TOTAL - COUNTER_REDUNDANT_BITS,
};

#define REKEY_AFTER_MESSAGES	(1ULL << 60)
#define REJECT_AFTER_MESSAGES	(UINT64_MAX - COUNTER_WINDOW_SIZE - 1)
#define REKEY_TIMEOUT		5
#define REKEY_TIMEOUT_JITTER_MAX_MS 334
#define REKEY_AFTER_TIME	120
#define REKEY_ATTEMPT_TIME	90
#define REJECT_AFTER_TIME	180
#define INITIATIONS_PER_SECOND	50
#define MAX_PEERS_PER_DEVICE	(1U << 20)
#define KEEPALIVE_TIMEOUT	10
#define MAX_TIMER_HANDSHAKES	(REKEY_ATTEMPT_TIME / REKEY_TIMEOUT)
#define MAX_QUEUED_INCOMING_HANDSHAKES 4096
#define MAX_STAGED_PACKETS	128

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
};

/* The first byte is the type; the next three are reserved zeros.  We read
 * the whole 32-bit word little-endian and compare with the type value. */
struct message_header {
	uint32_t type;
} __attribute__((packed));

struct message_macs {
	uint8_t mac1[COOKIE_LEN];
	uint8_t mac2[COOKIE_LEN];
} __attribute__((packed));

struct message_handshake_initiation {
	struct message_header header;
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[noise_encrypted_len(NOISE_PUBLIC_KEY_LEN)];
	uint8_t encrypted_timestamp[noise_encrypted_len(NOISE_TIMESTAMP_LEN)];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_response {
	struct message_header header;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[noise_encrypted_len(0)];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_cookie {
	struct message_header header;
	uint32_t receiver_index;
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[noise_encrypted_len(COOKIE_LEN)];
} __attribute__((packed));

struct message_data {
	struct message_header header;
	uint32_t key_idx;
	uint64_t counter;
	uint8_t encrypted_data[];
} __attribute__((packed));

#define message_data_len(plain_len) \
	(noise_encrypted_len(plain_len) + sizeof(struct message_data))

enum message_alignments {
	MESSAGE_PADDING_MULTIPLE = 16,
	MESSAGE_MINIMUM_LENGTH = message_data_len(0),	/* a keepalive: 32 */
};

/* Largest inner packet we carry; the outer datagram adds 32 bytes. */
#define MESSAGE_MAX_PLAIN_LEN	65535
#define MESSAGE_MAX_LEN		(message_data_len(MESSAGE_MAX_PLAIN_LEN) + MESSAGE_PADDING_MULTIPLE)

_Static_assert(sizeof(struct message_handshake_initiation) == 148, "initiation size");
_Static_assert(sizeof(struct message_handshake_response) == 92, "response size");
_Static_assert(sizeof(struct message_handshake_cookie) == 64, "cookie size");
_Static_assert(sizeof(struct message_data) == 16, "data header size");

#endif
