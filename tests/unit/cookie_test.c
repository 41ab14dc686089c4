/*
 * cookie_test.c - MAC1, MAC2 and cookie replies (cookie.c).
 *
 * Every bit MAC1 covers is flipped and must be refused; the cookie cycle
 * (checker under load -> cookie reply -> peer -> MAC2) is run end to end and
 * then broken in each way that matters: another source address or port, a
 * reply bound to another MAC1, a tampered reply, an expired peer cookie and
 * a rotated checker secret.  MAC1 is also compared with a direct
 * computation from the whitepaper, and a golden vector made by an
 * independent Python implementation pins MAC1, the cookie, the encrypted
 * reply and MAC2.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/un.h>

#include "clock.h"
#include "cookie.h"
#include "crypto.h"
#include "test.h"

#define T0 (1000 * NSEC_PER_SEC)

static struct sockaddr_in addr4(const char *a, uint16_t port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, a, &sin.sin_addr) != 1)
		abort();
	return sin;
}

static struct sockaddr_in6 addr6(const char *a, uint16_t port)
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(port);
	if (inet_pton(AF_INET6, a, &sin6.sin6_addr) != 1)
		abort();
	return sin6;
}

#define SA(x) ((const struct sockaddr *)&(x))
/* Short names for the three verdicts. */
#define BAD_MAC INVALID_MAC
#define NO_COOKIE VALID_MAC_BUT_NO_COOKIE
#define WITH_COOKIE VALID_MAC_WITH_COOKIE

static enum cookie_mac_state verdict(struct cookie_checker *c, const uint8_t *msg, size_t len,
				     const struct sockaddr *src, bool load, uint64_t now_ns)
{
	return cookie_validate_packet(c, msg, len, src, load, now_ns);
}

/* The checker's verdict on the whole array msg. */
#define VERDICT(p, msg, src, load, now) \
	verdict(&(p).checker, (msg), sizeof(msg), (src), (load), (now))

/* A device (checker) and a peer that talks to it (maker). */
struct pair {
	uint8_t device_public[32];
	struct cookie_checker checker;
	struct cookie peer;
};

static void pair_init(struct pair *p)
{
	uint8_t priv[32];

	CHECK(x25519_generate_secret(priv));
	CHECK(x25519_public_from_secret(p->device_public, priv));
	explicit_bzero(priv, sizeof(priv));
	cookie_checker_init(&p->checker, p->device_public);
	cookie_init(&p->peer, p->device_public);
	CHECK(p->checker.has_keys);
}

/* A random handshake message of the given size, type set, macs zero. */
static void random_message(uint8_t *msg, size_t len, uint32_t type)
{
	uint32_t t = htole32(type);

	CHECK(crypto_random(msg, len));
	memcpy(msg, &t, sizeof(t));
	memset(msg + len - 32, 0, 32);
}

static void test_mac1(void)
{
	struct pair p;
	struct sockaddr_in src = addr4("198.51.100.7", 40000);
	uint8_t msg[sizeof(struct message_handshake_initiation)], bad[sizeof(msg)];
	uint8_t key[32], mac[16];
	static const uint8_t zero[16];
	const size_t lens[] = { sizeof(struct message_handshake_initiation),
				sizeof(struct message_handshake_response) };

	pair_init(&p);
	for (size_t l = 0; l < 2; l++) {
		size_t len = lens[l];

		random_message(msg, len, l ? MESSAGE_HANDSHAKE_RESPONSE
					   : MESSAGE_HANDSHAKE_INITIATION);
		cookie_add_mac_to_packet(msg, len, &p.peer, T0);
		/* MAC1 = MAC(HASH("mac1----" || Spub), msg up to mac1). */
		CHECK(blake2s256(key, (const uint8_t *)"mac1----", 8, p.device_public, 32));
		CHECK(blake2s_mac128(mac, msg, len - 32, key, 32));
		CHECK_MEM(msg + len - 32, mac, 16);
		CHECK_MEM(msg + len - 16, zero, 16);	/* no cookie: no MAC2 */
		CHECK(p.peer.have_sent_mac1);
		CHECK_MEM(p.peer.last_mac1_sent, mac, 16);

		CHECK_INT(verdict(&p.checker, msg, len, SA(src), false, T0), NO_COOKIE);
		CHECK_INT(verdict(&p.checker, msg, len, SA(src), true, T0), NO_COOKIE);
		for (size_t off = 0; off < len; off++) {
			for (int bit = 0; bit < 8; bit++) {
				enum cookie_mac_state st;

				memcpy(bad, msg, len);
				bad[off] ^= (uint8_t)(1u << bit);
				st = verdict(&p.checker, bad, len, SA(src), false, T0);
				/* MAC2 is not under MAC1. */
				CHECK_INT(st, off < len - 16 ? BAD_MAC : NO_COOKIE);
			}
		}
		/* The same bytes seen as a shorter or longer message. */
		CHECK_INT(verdict(&p.checker, msg, len - 1, SA(src), false, T0), BAD_MAC);
		CHECK_INT(verdict(&p.checker, msg + 1, len - 1, SA(src), false, T0), BAD_MAC);
	}

	/* A peer that has the wrong public key for the device. */
	struct cookie other;
	uint8_t other_pub[32];

	memcpy(other_pub, p.device_public, 32);
	other_pub[0] ^= 1;
	cookie_init(&other, other_pub);
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	cookie_add_mac_to_packet(msg, sizeof(msg), &other, T0);
	CHECK_INT(VERDICT(p, msg, SA(src), true, T0), BAD_MAC);

	/* A checker without keys refuses everything. */
	cookie_add_mac_to_packet(msg, sizeof(msg), &p.peer, T0);
	CHECK_INT(VERDICT(p, msg, SA(src), false, T0), NO_COOKIE);
	cookie_checker_init(&p.checker, NULL);
	CHECK(!p.checker.has_keys);
	CHECK_INT(VERDICT(p, msg, SA(src), false, T0), BAD_MAC);
}

static void test_short_messages(void)
{
	struct pair p;
	struct sockaddr_in src = addr4("198.51.100.7", 40000);
	struct message_handshake_cookie reply;
	uint8_t msg[32], copy[32];

	pair_init(&p);
	memset(msg, 0, sizeof(msg));
	for (size_t len = 0; len < 32; len++) {
		CHECK_INT(verdict(&p.checker, msg, len, SA(src), true, T0), BAD_MAC);
		CHECK(!cookie_message_create(&reply, &p.checker, msg, len, 1, SA(src), T0));
		memcpy(copy, msg, sizeof(msg));
		cookie_add_mac_to_packet(copy, len, &p.peer, T0);	/* must not write */
		CHECK_MEM(copy, msg, sizeof(msg));
	}
	CHECK(!p.peer.have_sent_mac1);
	/* 32 bytes: macs over an empty prefix, legal if useless. */
	cookie_add_mac_to_packet(msg, 32, &p.peer, T0);
	CHECK_INT(verdict(&p.checker, msg, 32, SA(src), false, T0), NO_COOKIE);
}

/* Checker under load answers msg with a cookie reply; the peer takes it. */
static void give_cookie(struct pair *p, const uint8_t *msg, size_t len,
			const struct sockaddr *src, uint64_t make_ns, uint64_t consume_ns)
{
	struct message_handshake_cookie reply;

	CHECK(cookie_message_create(&reply, &p->checker, msg, len, 0x12345678, src, make_ns));
	CHECK_INT(le32toh(reply.header.type), MESSAGE_HANDSHAKE_COOKIE);
	CHECK_INT(le32toh(reply.receiver_index), 0x12345678);
	CHECK(cookie_message_consume(&reply, &p->peer, consume_ns));
	CHECK(p->peer.is_valid);
	CHECK_INT(p->peer.birthdate_ns, consume_ns);
	CHECK(!p->peer.have_sent_mac1);
	/* A cookie answers one message. */
	CHECK(!cookie_message_consume(&reply, &p->peer, consume_ns));
}

static void test_cookie_cycle(void)
{
	struct pair p;
	struct sockaddr_in src = addr4("198.51.100.7", 40000);
	struct sockaddr_in other_ip = addr4("198.51.100.8", 40000);
	struct sockaddr_in other_port = addr4("198.51.100.7", 40001);
	struct sockaddr_in6 src6 = addr6("2001:db8::7", 40000);
	struct sockaddr_in6 other6 = addr6("2001:db8::8", 40000);
	struct sockaddr_in6 other6_port = addr6("2001:db8::7", 40001);
	uint8_t msg[sizeof(struct message_handshake_initiation)], bad[sizeof(msg)];
	static const uint8_t zero[16];

	pair_init(&p);
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	cookie_add_mac_to_packet(msg, sizeof(msg), &p.peer, T0);
	CHECK_INT(VERDICT(p, msg, SA(src), true, T0), NO_COOKIE);
	give_cookie(&p, msg, sizeof(msg), SA(src), T0, T0 + 1000);

	/* The peer's next message carries MAC2. */
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	cookie_add_mac_to_packet(msg, sizeof(msg), &p.peer, T0 + 2000);
	CHECK(memcmp(msg + sizeof(msg) - 16, zero, 16) != 0);
	CHECK_INT(VERDICT(p, msg, SA(src), true, T0 + 3000), WITH_COOKIE);
	/* Not under load: MAC2 is not looked at. */
	CHECK_INT(VERDICT(p, msg, SA(src), false, T0 + 3000), NO_COOKIE);
	/* The cookie is bound to the source address and port. */
	CHECK_INT(VERDICT(p, msg, SA(other_ip), true, T0 + 3000), NO_COOKIE);
	CHECK_INT(VERDICT(p, msg, SA(other_port), true, T0 + 3000), NO_COOKIE);
	CHECK_INT(VERDICT(p, msg, SA(src6), true, T0 + 3000), NO_COOKIE);
	/* Flip a MAC2 bit. */
	memcpy(bad, msg, sizeof(msg));
	bad[sizeof(msg) - 1] ^= 0x80;
	CHECK_INT(VERDICT(p, bad, SA(src), true, T0 + 3000), NO_COOKIE);

	/* The same over IPv6. */
	give_cookie(&p, msg, sizeof(msg), SA(src6), T0 + 4000, T0 + 4000);
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	cookie_add_mac_to_packet(msg, sizeof(msg), &p.peer, T0 + 5000);
	CHECK_INT(VERDICT(p, msg, SA(src6), true, T0 + 5000), WITH_COOKIE);
	CHECK_INT(VERDICT(p, msg, SA(other6), true, T0 + 5000), NO_COOKIE);
	CHECK_INT(VERDICT(p, msg, SA(other6_port), true, T0 + 5000), NO_COOKIE);
	CHECK_INT(VERDICT(p, msg, SA(src), true, T0 + 5000), NO_COOKIE);

	/* An address family without a cookie: MAC1 still counts. */
	struct sockaddr_un un;
	struct message_handshake_cookie reply;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	CHECK_INT(VERDICT(p, msg, SA(un), true, T0), NO_COOKIE);
	CHECK(!cookie_message_create(&reply, &p.checker, msg, sizeof(msg), 1, SA(un), T0));
}

static void test_cookie_reply_tampering(void)
{
	struct pair p;
	struct sockaddr_in src = addr4("203.0.113.9", 51820);
	uint8_t msg_a[sizeof(struct message_handshake_initiation)], msg_b[sizeof(msg_a)];
	struct message_handshake_cookie reply, bad;

	pair_init(&p);
	/* Never sent anything: nothing to answer. */
	random_message(msg_a, sizeof(msg_a), MESSAGE_HANDSHAKE_INITIATION);
	CHECK(cookie_message_create(&reply, &p.checker, msg_a, sizeof(msg_a), 7, SA(src), T0));
	CHECK(!cookie_message_consume(&reply, &p.peer, T0));

	/* A reply to message A while the peer's last message was B. */
	cookie_add_mac_to_packet(msg_a, sizeof(msg_a), &p.peer, T0);
	random_message(msg_b, sizeof(msg_b), MESSAGE_HANDSHAKE_INITIATION);
	cookie_add_mac_to_packet(msg_b, sizeof(msg_b), &p.peer, T0);
	CHECK(cookie_message_create(&reply, &p.checker, msg_a, sizeof(msg_a), 7, SA(src), T0));
	CHECK(!cookie_message_consume(&reply, &p.peer, T0));
	CHECK(!p.peer.is_valid);
	CHECK(p.peer.have_sent_mac1);

	/* Every bit of a reply to B, except receiver_index (the caller used
	 * it to find this peer; it is not authenticated). */
	CHECK(cookie_message_create(&reply, &p.checker, msg_b, sizeof(msg_b), 7, SA(src), T0));
	for (size_t off = 0; off < sizeof(reply); off++) {
		if (off >= offsetof(struct message_handshake_cookie, receiver_index) &&
		    off < offsetof(struct message_handshake_cookie, nonce))
			continue;
		for (int bit = 0; bit < 8; bit++) {
			memcpy(&bad, &reply, sizeof(bad));
			((uint8_t *)&bad)[off] ^= (uint8_t)(1u << bit);
			CHECK(!cookie_message_consume(&bad, &p.peer, T0));
		}
	}
	CHECK(!p.peer.is_valid);
	/* A reply from a checker with another key. */
	struct cookie_checker other;
	uint8_t other_pub[32];

	memcpy(other_pub, p.device_public, 32);
	other_pub[5] ^= 4;
	cookie_checker_init(&other, other_pub);
	CHECK(cookie_message_create(&bad, &other, msg_b, sizeof(msg_b), 7, SA(src), T0));
	CHECK(!cookie_message_consume(&bad, &p.peer, T0));
	cookie_checker_wipe(&other);
	/* Positive control. */
	CHECK(cookie_message_consume(&reply, &p.peer, T0));
	/* Two replies never share a nonce. */
	CHECK(cookie_message_create(&bad, &p.checker, msg_b, sizeof(msg_b), 7, SA(src), T0));
	CHECK(memcmp(bad.nonce, reply.nonce, sizeof(reply.nonce)) != 0);
}

static void test_peer_cookie_expiry(void)
{
	struct pair p;
	struct sockaddr_in src = addr4("198.51.100.7", 40000);
	uint8_t msg[sizeof(struct message_handshake_initiation)];
	static const uint8_t zero[16];
	const uint64_t usable = (COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY) * NSEC_PER_SEC;

	pair_init(&p);
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	cookie_add_mac_to_packet(msg, sizeof(msg), &p.peer, T0);
	give_cookie(&p, msg, sizeof(msg), SA(src), T0, T0);

	cookie_add_mac_to_packet(msg, sizeof(msg), &p.peer, T0 + usable - 1);
	CHECK(memcmp(msg + sizeof(msg) - 16, zero, 16) != 0);
	CHECK_INT(VERDICT(p, msg, SA(src), true, T0 + usable - 1), WITH_COOKIE);
	cookie_add_mac_to_packet(msg, sizeof(msg), &p.peer, T0 + usable);
	CHECK_MEM(msg + sizeof(msg) - 16, zero, 16);
	CHECK_INT(VERDICT(p, msg, SA(src), true, T0 + usable), NO_COOKIE);
	/* MAC1 is still made. */
	CHECK(p.peer.have_sent_mac1);
	CHECK_INT(VERDICT(p, msg, SA(src), false, T0 + usable), NO_COOKIE);
}

static void test_checker_secret_rotation(void)
{
	struct pair p;
	struct sockaddr_in src = addr4("198.51.100.7", 40000);
	uint8_t msg[sizeof(struct message_handshake_initiation)], old_secret[32];
	const uint64_t max_age = COOKIE_SECRET_MAX_AGE * NSEC_PER_SEC;

	pair_init(&p);
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	cookie_add_mac_to_packet(msg, sizeof(msg), &p.peer, T0);
	CHECK_INT(p.checker.secret_birthdate_ns, 0);
	/* Secret made at T0; the peer takes the cookie 100 s later so its own
	 * 115 s limit does not interfere. */
	give_cookie(&p, msg, sizeof(msg), SA(src), T0, T0 + 100 * NSEC_PER_SEC);
	CHECK_INT(p.checker.secret_birthdate_ns, T0);
	memcpy(old_secret, p.checker.secret, 32);

	cookie_add_mac_to_packet(msg, sizeof(msg), &p.peer, T0 + max_age - 1);
	CHECK_INT(VERDICT(p, msg, SA(src), true, T0 + max_age - 1), WITH_COOKIE);
	CHECK_MEM(p.checker.secret, old_secret, 32);
	CHECK_INT(VERDICT(p, msg, SA(src), true, T0 + max_age), NO_COOKIE);
	CHECK(memcmp(p.checker.secret, old_secret, 32) != 0);
	CHECK_INT(p.checker.secret_birthdate_ns, T0 + max_age);

	/* A fresh cookie under the new secret works again. */
	give_cookie(&p, msg, sizeof(msg), SA(src), T0 + max_age, T0 + max_age);
	random_message(msg, sizeof(msg), MESSAGE_HANDSHAKE_INITIATION);
	cookie_add_mac_to_packet(msg, sizeof(msg), &p.peer, T0 + max_age + 1);
	CHECK_INT(VERDICT(p, msg, SA(src), true, T0 + max_age + 1), WITH_COOKIE);

	/* A new identity invalidates outstanding cookies as well. */
	cookie_checker_init(&p.checker, p.device_public);
	CHECK_INT(VERDICT(p, msg, SA(src), true, T0 + max_age + 2), NO_COOKIE);
}

/* Generated by an independent Python implementation: the initiation of
 * noise_test's golden vector, the responder public key, Rm, and a cookie
 * reply to it from 192.0.2.1:51820 with nonce c0..d7. */
static void test_golden_vector(void)
{
	static const char vec_responder_public[] =
		"c25e8b84378b21071d603dfce3f947b162b6e715240344db0a18d99259a6de23";
	static const char vec_initiation[] =
		"010000004433221104ba7d1c091c7e5b601df8fb00c83f11f4b56ffefe66c6cd"
		"3c914106e55bab6fca6bb2c00e47014f2b12ec4b832d2c10f77c21b26e00655f"
		"4b39dc349e741fc1909e074a1f09da3eed83287944f4b11da132a13ca0cd65c5"
		"cba877a5cd6d02ccc90e6da179f890d33b13e4a88172020ed8527a2d2b282553"
		"1d15f08200000000000000000000000000000000";
	static const char vec_cookie_secret[] =
		"55545756515053525d5c5f5e59585b5a45444746414043424d4c4f4e49484b4a";
	static const char vec_cookie_reply[] =
		"0300000044332211c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7"
		"dc76710b0a6b55eb327ce85113dbbc911748cc69bf568269bae9196841d99118";
	static const char vec_initiation_mac2[] =
		"010000004433221104ba7d1c091c7e5b601df8fb00c83f11f4b56ffefe66c6cd"
		"3c914106e55bab6fca6bb2c00e47014f2b12ec4b832d2c10f77c21b26e00655f"
		"4b39dc349e741fc1909e074a1f09da3eed83287944f4b11da132a13ca0cd65c5"
		"cba877a5cd6d02ccc90e6da179f890d33b13e4a88172020ed8527a2d2b282553"
		"1d15f0823bc74de3957c6bc702be6a8bc9d95ba4";
	const size_t len = sizeof(struct message_handshake_initiation);
	struct sockaddr_in src = addr4("192.0.2.1", 51820);
	struct cookie_checker checker;
	struct cookie peer;
	struct message_handshake_cookie reply;
	uint8_t pub[32], golden[148], with_mac2[148], msg[148];

	test_unhex(pub, 32, vec_responder_public);
	CHECK_INT(test_unhex(golden, len, vec_initiation), len);
	CHECK_INT(test_unhex(with_mac2, len, vec_initiation_mac2), len);
	CHECK_INT(test_unhex((uint8_t *)&reply, sizeof(reply), vec_cookie_reply), sizeof(reply));

	cookie_checker_init(&checker, pub);
	CHECK_INT(verdict(&checker, golden, len, SA(src), false, T0), NO_COOKIE);
	test_unhex(checker.secret, 32, vec_cookie_secret);
	checker.secret_birthdate_ns = T0;
	CHECK_INT(verdict(&checker, with_mac2, len, SA(src), true, T0), WITH_COOKIE);

	cookie_init(&peer, pub);
	memcpy(msg, golden, len);
	memset(msg + len - 32, 0, 32);
	cookie_add_mac_to_packet(msg, len, &peer, T0);
	CHECK_MEM(msg, golden, len);
	CHECK(cookie_message_consume(&reply, &peer, T0));
	cookie_add_mac_to_packet(msg, len, &peer, T0);
	CHECK_MEM(msg, with_mac2, len);
	cookie_wipe(&peer);
	cookie_checker_wipe(&checker);
}

int main(void)
{
	if (!crypto_init()) {
		fprintf(stderr, "crypto_init failed\n");
		return 1;
	}
	RUN(test_mac1);
	RUN(test_short_messages);
	RUN(test_cookie_cycle);
	RUN(test_cookie_reply_tampering);
	RUN(test_peer_cookie_expiry);
	RUN(test_checker_secret_rotation);
	RUN(test_golden_vector);
	TEST_EXIT();
}
