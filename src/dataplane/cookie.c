/*
 * cookie.c - MAC1, MAC2 and the cookie reply of WireGuard (whitepaper
 * sections 5.4.4 and 5.4.7).
 *
 * MAC1 = MAC(HASH("mac1----" || Spub_m), msg up to mac1) proves the sender
 * knows the receiver's public key; under load the receiver also demands
 * MAC2 = MAC(cookie, msg up to mac2), where cookie = MAC(Rm, source address
 * || source port) and Rm is a random secret rotated every
 * COOKIE_SECRET_MAX_AGE seconds.  The cookie travels encrypted with
 * XChaCha20-Poly1305 under HASH("cookie--" || Spub_m), bound to the MAC1 of
 * the message it answers.
 *
 * Relies on crypto.h (keyed BLAKE2s-128, BLAKE2s-256, XChaCha20-Poly1305,
 * the CSPRNG and constant-time comparison).  Time is monotonic nanoseconds
 * passed in by the caller.
 */
#include <endian.h>
#include <netinet/in.h>
#include <string.h>

#include "clock.h"
#include "cookie.h"
#include "crypto.h"

static const char cookie_label_mac1[] = "mac1----";
static const char cookie_label_cookie[] = "cookie--";

_Static_assert((int)COOKIE_LEN == (int)BLAKE2S_MAC128_LEN, "cookie length");
_Static_assert((int)COOKIE_NONCE_LEN == (int)XCHACHA20POLY1305_NONCE_LEN, "cookie nonce length");
_Static_assert(sizeof(struct message_macs) == 2 * COOKIE_LEN, "macs layout");

/* The macs are the last 32 bytes of an initiation or a response. */
#define MAC1_OFFSET(len) ((len) - sizeof(struct message_macs))
#define MAC2_OFFSET(len) ((len) - COOKIE_LEN)

/* True once age_s seconds have passed since birth_ns. */
static bool has_expired(uint64_t birth_ns, uint64_t age_s, uint64_t now_ns)
{
	return birth_ns + age_s * NSEC_PER_SEC <= now_ns;
}

/* key := HASH(label || public_key) */
static bool __attribute__((warn_unused_result))
derive_key(uint8_t key[NOISE_SYMMETRIC_KEY_LEN], const char label[8],
	   const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	return blake2s256(key, (const uint8_t *)label, 8, public_key, NOISE_PUBLIC_KEY_LEN);
}

static bool __attribute__((warn_unused_result))
compute_mac1(uint8_t mac[COOKIE_LEN], const uint8_t *msg, size_t len,
	     const uint8_t key[NOISE_SYMMETRIC_KEY_LEN])
{
	return blake2s_mac128(mac, msg, MAC1_OFFSET(len), key, NOISE_SYMMETRIC_KEY_LEN);
}

static bool __attribute__((warn_unused_result))
compute_mac2(uint8_t mac[COOKIE_LEN], const uint8_t *msg, size_t len,
	     const uint8_t cookie[COOKIE_LEN])
{
	return blake2s_mac128(mac, msg, MAC2_OFFSET(len), cookie, COOKIE_LEN);
}

/* cookie := MAC(Rm, address || port), the bytes as they sit in the sockaddr
 * (network order).  Rm is made on first use and remade once it is
 * COOKIE_SECRET_MAX_AGE old, which invalidates every cookie handed out
 * under the old one. */
static bool __attribute__((warn_unused_result))
make_cookie(uint8_t cookie[COOKIE_LEN], struct cookie_checker *c,
	    const struct sockaddr *src, uint64_t now_ns)
{
	uint8_t input[sizeof(struct in6_addr) + sizeof(in_port_t)];
	size_t n;
	bool ok;

	if (!src)
		return false;
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)src;

		memcpy(input, &sin->sin_addr, sizeof(sin->sin_addr));
		memcpy(input + sizeof(sin->sin_addr), &sin->sin_port, sizeof(sin->sin_port));
		n = sizeof(sin->sin_addr) + sizeof(sin->sin_port);
	} else if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)src;

		memcpy(input, &sin6->sin6_addr, sizeof(sin6->sin6_addr));
		memcpy(input + sizeof(sin6->sin6_addr), &sin6->sin6_port, sizeof(sin6->sin6_port));
		n = sizeof(sin6->sin6_addr) + sizeof(sin6->sin6_port);
	} else {
		return false;
	}

	if (c->secret_birthdate_ns == 0 ||
	    has_expired(c->secret_birthdate_ns, COOKIE_SECRET_MAX_AGE, now_ns)) {
		if (!crypto_random(c->secret, sizeof(c->secret))) {
			/* Never MAC under a stale or half-written secret. */
			explicit_bzero(c->secret, sizeof(c->secret));
			c->secret_birthdate_ns = 0;
			return false;
		}
		/* 0 means "not yet made"; a caller at time 0 gets 1 ns. */
		c->secret_birthdate_ns = now_ns ? now_ns : 1;
	}
	ok = blake2s_mac128(cookie, input, n, c->secret, sizeof(c->secret));
	explicit_bzero(input, sizeof(input));
	return ok;
}

void cookie_checker_init(struct cookie_checker *c, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	/* A new identity invalidates outstanding cookies too: Rm is remade. */
	cookie_checker_wipe(c);
	if (!public_key)
		return;
	if (!derive_key(c->cookie_encryption_key, cookie_label_cookie, public_key) ||
	    !derive_key(c->message_mac1_key, cookie_label_mac1, public_key)) {
		cookie_checker_wipe(c);
		return;
	}
	c->has_keys = true;
}

void cookie_checker_wipe(struct cookie_checker *c)
{
	explicit_bzero(c, sizeof(*c));
	c->secret_birthdate_ns = 0;
	c->has_keys = false;
}

enum cookie_mac_state cookie_validate_packet(struct cookie_checker *c,
					     const uint8_t *msg, size_t len,
					     const struct sockaddr *src,
					     bool check_cookie, uint64_t now_ns)
{
	uint8_t computed[COOKIE_LEN], cookie[COOKIE_LEN];
	enum cookie_mac_state ret = INVALID_MAC;

	if (!c->has_keys || !msg || len < sizeof(struct message_macs))
		goto out;
	if (!compute_mac1(computed, msg, len, c->message_mac1_key) ||
	    !crypto_equal(computed, msg + MAC1_OFFSET(len), COOKIE_LEN))
		goto out;

	ret = VALID_MAC_BUT_NO_COOKIE;
	if (!check_cookie)
		goto out;
	if (!make_cookie(cookie, c, src, now_ns) ||
	    !compute_mac2(computed, msg, len, cookie))
		goto out;
	if (crypto_equal(computed, msg + MAC2_OFFSET(len), COOKIE_LEN))
		ret = VALID_MAC_WITH_COOKIE;
out:
	explicit_bzero(computed, sizeof(computed));
	explicit_bzero(cookie, sizeof(cookie));
	return ret;
}

bool cookie_message_create(struct message_handshake_cookie *dst,
			   struct cookie_checker *c, const uint8_t *msg, size_t len,
			   uint32_t receiver_index, const struct sockaddr *src,
			   uint64_t now_ns)
{
	uint8_t cookie[COOKIE_LEN];
	bool ok = false;

	memset(dst, 0, sizeof(*dst));
	if (!c->has_keys || !msg || len < sizeof(struct message_macs))
		goto out;
	dst->header.type = htole32(MESSAGE_HANDSHAKE_COOKIE);
	dst->receiver_index = htole32(receiver_index);
	if (!crypto_random(dst->nonce, sizeof(dst->nonce)) ||
	    !make_cookie(cookie, c, src, now_ns))
		goto out;
	/* AD = the MAC1 we are answering: only the sender of that message
	 * (who remembers its MAC1) can use the reply. */
	ok = xchacha20poly1305_encrypt(dst->encrypted_cookie, cookie, COOKIE_LEN,
				       msg + MAC1_OFFSET(len), COOKIE_LEN,
				       dst->nonce, c->cookie_encryption_key);
out:
	if (!ok)
		memset(dst, 0, sizeof(*dst));
	explicit_bzero(cookie, sizeof(cookie));
	return ok;
}

void cookie_init(struct cookie *ck, const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN])
{
	cookie_wipe(ck);
	/* On failure the keys stay zero: our MACs will then be wrong and the
	 * peer drops our handshakes, which is the safe outcome. */
	if (!derive_key(ck->cookie_decryption_key, cookie_label_cookie, peer_public) ||
	    !derive_key(ck->message_mac1_key, cookie_label_mac1, peer_public))
		cookie_wipe(ck);
}

void cookie_wipe(struct cookie *ck)
{
	explicit_bzero(ck, sizeof(*ck));
	ck->is_valid = false;
	ck->have_sent_mac1 = false;
}

void cookie_add_mac_to_packet(uint8_t *msg, size_t len, struct cookie *ck, uint64_t now_ns)
{
	uint8_t *mac1, *mac2;

	if (!msg || len < sizeof(struct message_macs))
		return;
	mac1 = msg + MAC1_OFFSET(len);
	mac2 = msg + MAC2_OFFSET(len);

	if (!compute_mac1(mac1, msg, len, ck->message_mac1_key)) {
		memset(mac1, 0, COOKIE_LEN);
		ck->have_sent_mac1 = false;
	} else {
		memcpy(ck->last_mac1_sent, mac1, COOKIE_LEN);
		ck->have_sent_mac1 = true;
	}

	/* The checker's Rm lives COOKIE_SECRET_MAX_AGE; stop using our cookie
	 * COOKIE_SECRET_LATENCY earlier so it is not dead on arrival. */
	if (ck->is_valid &&
	    !has_expired(ck->birthdate_ns, COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY, now_ns) &&
	    compute_mac2(mac2, msg, len, ck->cookie))
		return;
	memset(mac2, 0, COOKIE_LEN);
}

bool cookie_message_consume(const struct message_handshake_cookie *src,
			    struct cookie *ck, uint64_t now_ns)
{
	uint8_t cookie[COOKIE_LEN];
	bool ok = false;

	if (!ck->have_sent_mac1 ||
	    le32toh(src->header.type) != MESSAGE_HANDSHAKE_COOKIE)
		goto out;
	if (!xchacha20poly1305_decrypt(cookie, src->encrypted_cookie,
				       sizeof(src->encrypted_cookie),
				       ck->last_mac1_sent, COOKIE_LEN, src->nonce,
				       ck->cookie_decryption_key))
		goto out;
	memcpy(ck->cookie, cookie, COOKIE_LEN);
	ck->birthdate_ns = now_ns;
	ck->is_valid = true;
	/* A cookie answers one message: a second reply to the same MAC1 is
	 * refused. */
	ck->have_sent_mac1 = false;
	ok = true;
out:
	explicit_bzero(cookie, sizeof(cookie));
	return ok;
}
