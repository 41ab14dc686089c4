/*
 * noise_test.c - the Noise_IKpsk2 handshake and keypair rotation (noise.c).
 *
 * Two in-process peers run real handshakes; every byte of every message is
 * flipped and must be refused without disturbing the handshake state;
 * replays, floods, unknown keys, wrong indices and low-order ephemerals are
 * refused.  Messages noise.c would never build (a low-order ephemeral) come
 * from a second, independent initiator/responder written here from the
 * whitepaper on crypto.h alone.  A golden vector made by an independent
 * Python implementation (the `cryptography` package and hashlib) pins the
 * wire bytes.  Keypair rotation is checked against a model of its rules on
 * random operation sequences.
 */
#include <endian.h>
#include <stddef.h>
#include <time.h>

#include "clock.h"
#include "crypto.h"
#include "noise.h"
#include "test.h"

#define IDX_I 0x1001u
#define IDX_R 0x2002u
#define T0 (1000 * NSEC_PER_SEC)

/* The bit-flip tests treat bytes 4..7 (sender_index) specially. */
_Static_assert(offsetof(struct message_handshake_initiation, sender_index) == 4 &&
	       offsetof(struct message_handshake_response, sender_index) == 4, "layout");

/* The owner's tables (by public key, by index), as peer.c keeps them; each
 * test device knows one peer, or none when hs is NULL. */
struct table {
	struct noise_handshake *hs;
};

static struct noise_handshake *lookup_static(void *ctx, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	struct noise_handshake *hs = ((struct table *)ctx)->hs;

	return hs && memcmp(hs->remote_static, key, NOISE_PUBLIC_KEY_LEN) == 0 ? hs : NULL;
}

static struct noise_handshake *lookup_index(void *ctx, uint32_t idx)
{
	struct noise_handshake *hs = ((struct table *)ctx)->hs;

	return hs && hs->local_index == idx ? hs : NULL;
}

/* Lookups that lie: the owner's table is not noise's only defence. */
static struct noise_handshake *lookup_static_any(void *ctx, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	return ((struct table *)ctx)->hs;
}

static struct noise_handshake *lookup_index_any(void *ctx, uint32_t idx)
{
	return ((struct table *)ctx)->hs;
}

/* One device and its handshake with the other side.  Holds pointers into
 * itself: never copy one. */
struct side {
	struct noise_static_identity id;
	struct noise_handshake hs;
	struct table table;
};

static void side_identity(struct side *s)
{
	uint8_t k[NOISE_PUBLIC_KEY_LEN];

	memset(s, 0, sizeof(*s));
	CHECK(crypto_random(k, sizeof(k)));
	CHECK(noise_static_identity_set(&s->id, k));
	explicit_bzero(k, sizeof(k));
}

static void pair_setup(struct side *a, struct side *b, const uint8_t *psk_a, const uint8_t *psk_b)
{
	side_identity(a);
	side_identity(b);
	noise_handshake_init(&a->hs, &a->id, b->id.static_public, psk_a);
	noise_handshake_init(&b->hs, &b->id, a->id.static_public, psk_b);
	a->table.hs = &a->hs;
	b->table.hs = &b->hs;
}

/* The four steps, each by side s with its own identity and tables. */
static bool make_init(struct side *s, struct message_handshake_initiation *m, uint32_t idx)
{
	return noise_handshake_create_initiation(m, &s->hs, &s->id, idx);
}

static struct noise_handshake *take_init(struct side *s,
					 const struct message_handshake_initiation *m, uint64_t now)
{
	return noise_handshake_consume_initiation(m, &s->id, lookup_static, &s->table, now);
}

static bool make_resp(struct side *s, struct message_handshake_response *m, uint32_t idx)
{
	return noise_handshake_create_response(m, &s->hs, &s->id, idx);
}

static struct noise_handshake *take_resp(struct side *s, const struct message_handshake_response *m)
{
	return noise_handshake_consume_response(m, &s->id, lookup_index, &s->table);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* --- an independent handshake, from the whitepaper, on crypto.h only --- */

static void ref_mix_hash(uint8_t h[32], const uint8_t *in, size_t len)
{
	uint8_t t[32];

	CHECK(blake2s256(t, h, 32, in, len));
	memcpy(h, t, 32);
}

/* KDF1 when key is NULL, else KDF2. */
static void ref_mix_key(uint8_t ck[32], uint8_t *key, const uint8_t *in, size_t len)
{
	uint8_t c[32], k[32];

	CHECK(kdf(c, k, NULL, key ? 2 : 1, ck, in, len));
	memcpy(ck, c, 32);
	if (key)
		memcpy(key, k, 32);
}

static void ref_start(uint8_t ck[32], uint8_t h[32], const uint8_t responder_pub[32])
{
	static const char c[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char id[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
	uint8_t expect_ck[32];

	CHECK(blake2s256(ck, (const uint8_t *)c, strlen(c), NULL, 0));
	/* Ci as every WireGuard implementation has it. */
	test_unhex(expect_ck, 32,
		   "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	CHECK_MEM(ck, expect_ck, 32);
	CHECK(blake2s256(h, ck, 32, (const uint8_t *)id, strlen(id)));
	ref_mix_hash(h, responder_pub, 32);
}

/* An initiation from static_pub with ephemeral e_pub, whose DH results the
 * sender claims are es and ss. */
static void ref_initiation_raw(struct message_handshake_initiation *m, const uint8_t static_pub[32],
			       const uint8_t ss[32], const uint8_t responder_pub[32],
			       const uint8_t e_pub[32], const uint8_t es[32])
{
	uint8_t ck[32], h[32], key[32], ts[12];

	memset(m, 0, sizeof(*m));
	m->header.type = htole32(MESSAGE_HANDSHAKE_INITIATION);
	m->sender_index = htole32(IDX_I);
	ref_start(ck, h, responder_pub);
	memcpy(m->unencrypted_ephemeral, e_pub, 32);
	ref_mix_key(ck, NULL, e_pub, 32);
	ref_mix_hash(h, e_pub, 32);
	ref_mix_key(ck, key, es, 32);
	CHECK(chacha20poly1305_encrypt(m->encrypted_static, static_pub, 32, h, 32, 0, key));
	ref_mix_hash(h, m->encrypted_static, sizeof(m->encrypted_static));
	ref_mix_key(ck, key, ss, 32);
	noise_tai64n_now(ts);
	CHECK(chacha20poly1305_encrypt(m->encrypted_timestamp, ts, 12, h, 32, 0, key));
}

static void ref_initiation(struct message_handshake_initiation *m,
			   const struct noise_static_identity *ini, const uint8_t responder_pub[32],
			   const uint8_t e_pub[32], const uint8_t es[32])
{
	uint8_t ss[32];

	CHECK(x25519(ss, ini->static_private, responder_pub));
	ref_initiation_raw(m, ini->static_public, ss, responder_pub, e_pub, es);
}

/* A response continuing from (ck, h) with ephemeral e_pub and claimed ee, se. */
static void ref_response(struct message_handshake_response *m, const uint8_t ck_in[32],
			 const uint8_t h_in[32], const uint8_t e_pub[32], const uint8_t ee[32],
			 const uint8_t se[32], const uint8_t psk[32])
{
	uint8_t ck[32], h[32], t[32], tau[32], key[32];

	memcpy(ck, ck_in, 32);
	memcpy(h, h_in, 32);
	memset(m, 0, sizeof(*m));
	m->header.type = htole32(MESSAGE_HANDSHAKE_RESPONSE);
	m->sender_index = htole32(IDX_R);
	m->receiver_index = htole32(IDX_I);
	memcpy(m->unencrypted_ephemeral, e_pub, 32);
	ref_mix_key(ck, NULL, e_pub, 32);
	ref_mix_hash(h, e_pub, 32);
	ref_mix_key(ck, NULL, ee, 32);
	ref_mix_key(ck, NULL, se, 32);
	CHECK(kdf(t, tau, key, 3, ck, psk, 32));
	ref_mix_hash(h, tau, 32);
	CHECK(chacha20poly1305_encrypt(m->encrypted_nothing, (const uint8_t *)"", 0, h, 32, 0,
				       key));
}

/* Low-order points of Curve25519 (u = 0, u = 1, and a point of order 8). */
static const char *const low_order_points[] = {
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
};

/* --- tests --- */

static void check_handshake(const uint8_t *psk)
{
	struct side i, r;
	struct message_handshake_initiation init;
	struct message_handshake_response resp, resp2;
	struct noise_keypair kpi, kpr, kpi2, kpr2;
	static const uint8_t zero[32];

	pair_setup(&i, &r, psk, psk);
	CHECK(make_init(&i, &init, IDX_I));
	CHECK_INT(i.hs.state, HANDSHAKE_CREATED_INITIATION);
	CHECK_INT(i.hs.local_index, IDX_I);
	CHECK_INT(le32toh(init.header.type), MESSAGE_HANDSHAKE_INITIATION);
	CHECK_INT(le32toh(init.sender_index), IDX_I);
	CHECK_MEM(&init.macs, zero, sizeof(init.macs));

	CHECK(take_init(&r, &init, T0) == &r.hs);
	CHECK_INT(r.hs.state, HANDSHAKE_CONSUMED_INITIATION);
	CHECK_INT(r.hs.remote_index, IDX_I);
	CHECK_MEM(r.hs.remote_ephemeral, init.unencrypted_ephemeral, 32);
	/* Both sides agree on the transcript so far. */
	CHECK_MEM(r.hs.hash, i.hs.hash, 32);
	CHECK_MEM(r.hs.chaining_key, i.hs.chaining_key, 32);

	CHECK(make_resp(&r, &resp, IDX_R));
	CHECK_INT(r.hs.state, HANDSHAKE_CREATED_RESPONSE);
	/* One response per consumed initiation. */
	CHECK(!make_resp(&r, &resp2, IDX_R + 1));
	CHECK_INT(r.hs.local_index, IDX_R);
	CHECK_INT(le32toh(resp.header.type), MESSAGE_HANDSHAKE_RESPONSE);
	CHECK_INT(le32toh(resp.sender_index), IDX_R);
	CHECK_INT(le32toh(resp.receiver_index), IDX_I);
	CHECK_MEM(&resp.macs, zero, sizeof(resp.macs));
	CHECK(take_resp(&i, &resp) == &i.hs);
	CHECK_INT(i.hs.state, HANDSHAKE_CONSUMED_RESPONSE);
	CHECK_INT(i.hs.remote_index, IDX_R);
	CHECK_MEM(i.hs.ephemeral_private, zero, 32);

	CHECK(noise_handshake_begin_session(&i.hs, &kpi, T0));
	CHECK(noise_handshake_begin_session(&r.hs, &kpr, T0 + 1));
	CHECK_MEM(kpi.sending_key, kpr.receiving_key, 32);
	CHECK_MEM(kpi.receiving_key, kpr.sending_key, 32);
	CHECK(memcmp(kpi.sending_key, kpi.receiving_key, 32) != 0);
	CHECK(kpi.is_initiator && !kpr.is_initiator);
	CHECK(kpi.valid && kpr.valid);
	CHECK_INT(kpi.local_index, IDX_I);
	CHECK_INT(kpi.remote_index, IDX_R);
	CHECK_INT(kpr.local_index, IDX_R);
	CHECK_INT(kpr.remote_index, IDX_I);
	CHECK_INT(kpi.sending_counter, 0);
	CHECK_INT(kpr.birthdate_ns, T0 + 1);
	/* The handshake is wiped, the long-lived part kept. */
	CHECK_INT(i.hs.state, HANDSHAKE_ZEROED);
	CHECK_MEM(i.hs.chaining_key, zero, 32);
	CHECK_MEM(r.hs.hash, zero, 32);
	CHECK_MEM(r.hs.remote_static, i.id.static_public, 32);
	CHECK(!noise_handshake_begin_session(&i.hs, &kpi2, T0));

	/* A second handshake gives fresh keys (new ephemerals). */
	sleep_ms(40);
	CHECK(make_init(&i, &init, IDX_I));
	CHECK(take_init(&r, &init, T0 + NSEC_PER_SEC) == &r.hs);
	CHECK(make_resp(&r, &resp, IDX_R));
	CHECK(take_resp(&i, &resp) == &i.hs);
	CHECK(noise_handshake_begin_session(&i.hs, &kpi2, T0));
	CHECK(noise_handshake_begin_session(&r.hs, &kpr2, T0));
	CHECK_MEM(kpi2.sending_key, kpr2.receiving_key, 32);
	CHECK(memcmp(kpi2.sending_key, kpi.sending_key, 32) != 0);
}

static void test_handshake_without_psk(void)
{
	check_handshake(NULL);
}

static void test_handshake_with_psk(void)
{
	uint8_t psk[32];

	CHECK(crypto_random(psk, sizeof(psk)));
	check_handshake(psk);
}

static void test_psk_mismatch(void)
{
	struct side i, r;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_handshake before;
	uint8_t psk_i[32], psk_r[32];

	CHECK(crypto_random(psk_i, 32));
	memcpy(psk_r, psk_i, 32);
	psk_r[31] ^= 1;
	pair_setup(&i, &r, psk_i, psk_r);
	CHECK(make_init(&i, &init, IDX_I));
	/* The PSK enters only in the second message. */
	CHECK(take_init(&r, &init, T0) == &r.hs);
	CHECK(make_resp(&r, &resp, IDX_R));
	memcpy(&before, &i.hs, sizeof(before));
	CHECK(take_resp(&i, &resp) == NULL);
	CHECK_MEM(&i.hs, &before, sizeof(before));

	/* One side with a PSK, the other without. */
	pair_setup(&i, &r, psk_i, NULL);
	CHECK(make_init(&i, &init, IDX_I));
	CHECK(take_init(&r, &init, T0) == &r.hs);
	CHECK(make_resp(&r, &resp, IDX_R));
	CHECK(take_resp(&i, &resp) == NULL);
}

static void test_initiation_bit_flips(void)
{
	struct side i, r;
	struct message_handshake_initiation init, bad;
	struct noise_handshake saved;
	size_t off, end = offsetof(struct message_handshake_initiation, macs);
	int refused = 0, bit;

	pair_setup(&i, &r, NULL, NULL);
	CHECK(make_init(&i, &init, IDX_I));
	memcpy(&saved, &r.hs, sizeof(saved));
	for (off = 0; off < end; off++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(&bad, &init, sizeof(bad));
			((uint8_t *)&bad)[off] ^= (uint8_t)(1u << bit);
			struct noise_handshake *hs = take_init(&r, &bad, T0);
			if (off >= 4 && off < 8) {	/* sender_index */
				/* sender_index is not in the Noise transcript: MAC1
				 * covers it (cookie_test).  Noise takes it as given. */
				CHECK(hs == &r.hs);
				CHECK_INT(r.hs.remote_index, le32toh(bad.sender_index));
				memcpy(&r.hs, &saved, sizeof(saved));
				continue;
			}
			if (hs != NULL)
				fprintf(stderr, "  byte %zu bit %d accepted\n", off, bit);
			CHECK(hs == NULL);
			CHECK_MEM(&r.hs, &saved, sizeof(saved));
			refused++;
		}
	}
	CHECK_INT(refused, (end - 4) * 8);
	/* Positive control: the untouched message is still accepted. */
	CHECK(take_init(&r, &init, T0) == &r.hs);
}

static void test_response_bit_flips(void)
{
	struct side i, r;
	struct message_handshake_initiation init;
	struct message_handshake_response resp, bad;
	struct noise_handshake saved;
	size_t off, end = offsetof(struct message_handshake_response, macs);
	int bit;

	pair_setup(&i, &r, NULL, NULL);
	CHECK(make_init(&i, &init, IDX_I));
	CHECK(take_init(&r, &init, T0) == &r.hs);
	CHECK(make_resp(&r, &resp, IDX_R));
	memcpy(&saved, &i.hs, sizeof(saved));
	for (off = 0; off < end; off++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(&bad, &resp, sizeof(bad));
			((uint8_t *)&bad)[off] ^= (uint8_t)(1u << bit);
			struct noise_handshake *hs = take_resp(&i, &bad);
			if (off >= 4 && off < 8) {	/* sender_index */
				CHECK(hs == &i.hs);	/* covered by MAC1 only */
				CHECK_INT(i.hs.remote_index, le32toh(bad.sender_index));
				memcpy(&i.hs, &saved, sizeof(saved));
				continue;
			}
			if (hs != NULL)
				fprintf(stderr, "  byte %zu bit %d accepted\n", off, bit);
			CHECK(hs == NULL);
			CHECK_MEM(&i.hs, &saved, sizeof(saved));
		}
	}
	CHECK(take_resp(&i, &resp) == &i.hs);
	/* A replayed response finds the handshake no longer waiting. */
	CHECK(take_resp(&i, &resp) == NULL);
}

static void test_replay_and_old_timestamp(void)
{
	struct side i, r;
	struct message_handshake_initiation init1, init2;
	struct noise_handshake saved;

	pair_setup(&i, &r, NULL, NULL);
	CHECK(make_init(&i, &init1, IDX_I));
	sleep_ms(40);	/* past one 2^24 ns timestamp step */
	CHECK(make_init(&i, &init2, IDX_I));
	CHECK(memcmp(&init1, &init2, sizeof(init1)) != 0);

	CHECK(take_init(&r, &init1, T0) == &r.hs);
	memcpy(&saved, &r.hs, sizeof(saved));
	/* The same message again, long after the flood window: a replay. */
	CHECK(take_init(&r, &init1, T0 + 5 * NSEC_PER_SEC) == NULL);
	CHECK_MEM(&r.hs, &saved, sizeof(saved));
	CHECK(take_init(&r, &init2, T0 + 6 * NSEC_PER_SEC) == &r.hs);
	/* Older than the newest accepted: refused. */
	CHECK(take_init(&r, &init1, T0 + 7 * NSEC_PER_SEC) == NULL);
	CHECK(take_init(&r, &init2, T0 + 8 * NSEC_PER_SEC) == NULL);
}

static void test_flood(void)
{
	struct side i, r;
	struct message_handshake_initiation m[3];
	const uint64_t t = 5 * NSEC_PER_MSEC;	/* "0 = never" must not read as "just now" */
	const uint64_t gap = NSEC_PER_SEC / INITIATIONS_PER_SECOND;

	pair_setup(&i, &r, NULL, NULL);
	for (int k = 0; k < 3; k++) {
		if (k)
			sleep_ms(40);
		CHECK(make_init(&i, &m[k], IDX_I));
	}
	CHECK(take_init(&r, &m[0], t) == &r.hs);
	CHECK_INT(r.hs.last_initiation_consumption_ns, t);
	CHECK(take_init(&r, &m[1], t + 10 * NSEC_PER_MSEC) == NULL);
	CHECK(take_init(&r, &m[1], t + gap - 1) == NULL);
	CHECK_INT(r.hs.last_initiation_consumption_ns, t);
	CHECK(take_init(&r, &m[1], t + gap) == &r.hs);
	CHECK(take_init(&r, &m[2], t + gap + 1) == NULL);
	CHECK(take_init(&r, &m[2], t + gap + NSEC_PER_SEC) == &r.hs);
}

static void test_unknown_static_and_wrong_index(void)
{
	struct side i, r, stranger;
	struct table empty = { NULL };
	struct message_handshake_initiation init;
	struct message_handshake_response resp, bad;

	pair_setup(&i, &r, NULL, NULL);
	CHECK(make_init(&i, &init, IDX_I));
	CHECK(noise_handshake_consume_initiation(&init, &r.id, lookup_static, &empty, T0) == NULL);

	/* A stranger who knows r's public key but is not r's peer. */
	side_identity(&stranger);
	noise_handshake_init(&stranger.hs, &stranger.id, r.id.static_public, NULL);
	CHECK(make_init(&stranger, &init, IDX_I));
	CHECK(take_init(&r, &init, T0) == NULL);
	CHECK_INT(r.hs.state, HANDSHAKE_ZEROED);
	/* An initiation meant for someone else. */
	CHECK(make_init(&i, &init, IDX_I));
	CHECK(noise_handshake_consume_initiation(&init, &stranger.id, lookup_static, &r.table,
						 T0) == NULL);

	/* r's lookup hands back its handshake with i for the stranger's key:
	 * noise itself must notice the static key does not match. */
	CHECK(make_init(&stranger, &init, IDX_I));
	CHECK(noise_handshake_consume_initiation(&init, &r.id, lookup_static_any, &r.table,
						 T0) == NULL);
	CHECK_INT(r.hs.state, HANDSHAKE_ZEROED);

	CHECK(make_init(&i, &init, IDX_I));
	CHECK(take_init(&r, &init, T0) == &r.hs);
	CHECK(make_resp(&r, &resp, IDX_R));
	memcpy(&bad, &resp, sizeof(bad));
	bad.receiver_index = htole32(IDX_I + 1);
	CHECK(take_resp(&i, &bad) == NULL);
	CHECK(noise_handshake_consume_response(&bad, &i.id, lookup_index_any, &i.table) == NULL);
	/* Only a handshake waiting for a response takes one. */
	i.hs.state = HANDSHAKE_CONSUMED_INITIATION;
	CHECK(take_resp(&i, &resp) == NULL);
	i.hs.state = HANDSHAKE_CREATED_INITIATION;
	/* Wrong identity on the initiator side. */
	CHECK(noise_handshake_consume_response(&resp, &stranger.id, lookup_index,
					       &i.table) == NULL);
	CHECK_INT(i.hs.state, HANDSHAKE_CREATED_INITIATION);
	CHECK(take_resp(&i, &resp) == &i.hs);
}

static void test_low_order_ephemeral(void)
{
	struct side i, r;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	uint8_t e_priv[32], e_pub[32], dh1[32], dh2[32], point[32], ck[32], h[32];
	static const uint8_t zero[32];

	for (size_t p = 0; p < sizeof(low_order_points) / sizeof(*low_order_points); p++) {
		test_unhex(point, 32, low_order_points[p]);
		pair_setup(&i, &r, NULL, NULL);
		CHECK(!x25519(dh1, r.id.static_private, point));	/* it is low order */

		/* An initiation whose es is the zero a low-order e gives. */
		ref_initiation(&init, &i.id, r.id.static_public, point, zero);
		CHECK(take_init(&r, &init, T0) == NULL);
		CHECK_INT(r.hs.state, HANDSHAKE_ZEROED);

		/* Same with a real ephemeral: the reference is right, so the
		 * refusal above was the low-order check. */
		CHECK(x25519_generate_secret(e_priv));
		CHECK(x25519_public_from_secret(e_pub, e_priv));
		CHECK(x25519(dh1, e_priv, r.id.static_public));
		ref_initiation(&init, &i.id, r.id.static_public, e_pub, dh1);
		CHECK(take_init(&r, &init, T0) == &r.hs);

		/* A responder answering with a low-order ephemeral. */
		sleep_ms(20);
		CHECK(make_init(&i, &init, IDX_I));
		CHECK(take_init(&r, &init, T0 + NSEC_PER_SEC) == &r.hs);
		memcpy(ck, r.hs.chaining_key, 32);
		memcpy(h, r.hs.hash, 32);
		ref_response(&resp, ck, h, point, zero, zero, zero);
		CHECK(take_resp(&i, &resp) == NULL);
		CHECK_INT(i.hs.state, HANDSHAKE_CREATED_INITIATION);
		CHECK(x25519(dh1, e_priv, init.unencrypted_ephemeral));		/* ee */
		CHECK(x25519(dh2, e_priv, i.id.static_public));			/* se */
		ref_response(&resp, ck, h, e_pub, dh1, dh2, zero);
		CHECK(take_resp(&i, &resp) == &i.hs);
	}
}

static void test_no_identity_or_bad_peer_key(void)
{
	struct side i, r;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_static_identity none;
	struct noise_keypair kp;
	uint8_t point[32];

	pair_setup(&i, &r, NULL, NULL);
	CHECK(noise_static_identity_set(&none, (const uint8_t[32]){ 0 }));
	CHECK(!none.has_identity);
	CHECK(!noise_handshake_create_initiation(&init, &i.hs, &none, IDX_I));
	CHECK_INT(i.hs.state, HANDSHAKE_ZEROED);
	CHECK(make_init(&i, &init, IDX_I));
	CHECK(noise_handshake_consume_initiation(&init, &none, lookup_static, &r.table,
						 T0) == NULL);
	CHECK(!make_resp(&r, &resp, IDX_R));	/* nothing consumed */
	CHECK(!noise_handshake_begin_session(&r.hs, &kp, T0));

	/* A peer whose public key is a low-order point can never handshake. */
	for (size_t p = 0; p < sizeof(low_order_points) / sizeof(*low_order_points); p++) {
		test_unhex(point, 32, low_order_points[p]);
		noise_handshake_init(&i.hs, &i.id, point, NULL);
		CHECK(crypto_is_zero(i.hs.precomputed_static_static, 32));
		CHECK(!make_init(&i, &init, IDX_I));

		/* Nor can anyone claim to be that peer with ss = 0. */
		uint8_t e_priv[32], e_pub[32], es[32];
		static const uint8_t zero[32];

		noise_handshake_init(&r.hs, &r.id, point, NULL);
		CHECK(x25519_generate_secret(e_priv));
		CHECK(x25519_public_from_secret(e_pub, e_priv));
		CHECK(x25519(es, e_priv, r.id.static_public));
		ref_initiation_raw(&init, point, zero, r.id.static_public, e_pub, es);
		CHECK(take_init(&r, &init, T0) == NULL);
		CHECK_INT(r.hs.state, HANDSHAKE_ZEROED);
	}
	/* precompute after the identity goes away zeroes ss. */
	noise_handshake_init(&i.hs, &i.id, r.id.static_public, NULL);
	/* It is made at the first handshake, not at init. */
	CHECK(make_init(&i, &init, IDX_I));
	CHECK(!crypto_is_zero(i.hs.precomputed_static_static, 32));
	noise_handshake_precompute(&i.hs, &none);
	CHECK(crypto_is_zero(i.hs.precomputed_static_static, 32));
}

static void test_identity_clamping(void)
{
	struct noise_static_identity id;
	uint8_t k[32], pub[32];

	memset(k, 0xff, sizeof(k));
	CHECK(noise_static_identity_set(&id, k));
	CHECK(id.has_identity);
	CHECK_INT(id.static_private[0], 0xf8);
	CHECK_INT(id.static_private[31], 0x7f);
	CHECK(x25519_public_from_secret(pub, id.static_private));
	CHECK_MEM(id.static_public, pub, 32);
	/* the responder's starting point, made once with the key */
	{
		uint8_t ck[32], h[32];

		ref_start(ck, h, id.static_public);
		CHECK_MEM(id.responder_chaining_key, ck, 32);
		CHECK_MEM(id.responder_hash, h, 32);
		/* and remade when the key changes */
		k[5] ^= 1;
		CHECK(noise_static_identity_set(&id, k));
		ref_start(ck, h, id.static_public);
		CHECK_MEM(id.responder_hash, h, 32);
	}
	noise_static_identity_clear(&id);
	CHECK(!id.has_identity);
	CHECK(crypto_is_zero(id.responder_hash, 32));
	CHECK(crypto_is_zero(id.static_private, 32));
}

static void test_simultaneous_initiation(void)
{
	struct side a, b;
	struct message_handshake_initiation ia, ib;
	struct message_handshake_response rb;

	pair_setup(&a, &b, NULL, NULL);
	CHECK(make_init(&a, &ia, IDX_I));
	CHECK(make_init(&b, &ib, IDX_R));
	/* a answers b's initiation, which supersedes a's own. */
	CHECK(take_init(&a, &ib, T0) == &a.hs);
	CHECK(crypto_is_zero(a.hs.ephemeral_private, 32));
	CHECK(take_init(&b, &ia, T0) == &b.hs);
	CHECK(make_resp(&b, &rb, 0x3003));
	/* b's response to a's first initiation: a is no longer waiting. */
	CHECK(take_resp(&a, &rb) == NULL);
}

/* The golden vector (see the file comment).  Keys, ephemeral and timestamp
 * are fixed; psk is set. */
static void test_golden_vector(void)
{
	static const char vec_initiator_private[] =
		"01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3da";
	static const char vec_responder_private[] =
		"05121f2c394653606d7a8794a1aebbc8d5e2effc091623303d4a5764717e8b98";
	static const char vec_psk[] =
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
	static const char vec_initiator_ephemeral[] =
		"030e19242f3a45505b66717c87929da8b3bec9d4dfeaf5000b16212c37424d58";
	static const char vec_timestamp[] = "400000006553f10a0b000000";
	static const char vec_initiation[] =
		"010000004433221104ba7d1c091c7e5b601df8fb00c83f11f4b56ffefe66c6cd"
		"3c914106e55bab6fca6bb2c00e47014f2b12ec4b832d2c10f77c21b26e00655f"
		"4b39dc349e741fc1909e074a1f09da3eed83287944f4b11da132a13ca0cd65c5"
		"cba877a5cd6d02ccc90e6da179f890d33b13e4a88172020ed8527a2d2b282553"
		"1d15f08200000000000000000000000000000000";
	static const char vec_initiation_hash[] =
		"7ed16e965d163ebe4b247b628bc16cb1eb40dcb640fdcb6b39fe1144535a2526";
	static const char vec_initiation_ck[] =
		"6fee86509324d563e5470dd63500b9d73fe0ec236b67622682e85b7ab4c0e81e";
	static const char vec_response[] =
		"02000000d4c3b2a1443322112bf1f4eeb990acd148c3e20f0b87ae49bc876231"
		"3759b6a734bf73a88fa449765e1b3b1ed2617d07ccb5644556e4543968d42ea1"
		"89dce7fbf004e5cebdd6159a00000000000000000000000000000000";
	static const char vec_initiator_send[] =
		"a79c0bed5738c6ea83d52cdc500ebb3bb9c88dbc1d5b551f9bc5a8fff75ab70b";
	static const char vec_initiator_recv[] =
		"1af133be616176353fd5a48e2e384718759034bd88fd5537cf1e7f71ec3efdc9";
	struct side i, r;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_keypair kp;
	uint8_t k[32], psk[32], v[32], ts[12];

	memset(&i, 0, sizeof(i));
	memset(&r, 0, sizeof(r));
	test_unhex(k, 32, vec_initiator_private);
	CHECK(noise_static_identity_set(&i.id, k));
	test_unhex(k, 32, vec_responder_private);
	CHECK(noise_static_identity_set(&r.id, k));
	test_unhex(psk, 32, vec_psk);
	noise_handshake_init(&i.hs, &i.id, r.id.static_public, psk);
	noise_handshake_init(&r.hs, &r.id, i.id.static_public, psk);
	i.table.hs = &i.hs;
	r.table.hs = &r.hs;

	CHECK_INT(test_unhex((uint8_t *)&init, sizeof(init), vec_initiation), sizeof(init));
	CHECK(take_init(&r, &init, T0) == &r.hs);
	CHECK_INT(r.hs.remote_index, 0x11223344);
	test_unhex(ts, 12, vec_timestamp);
	CHECK_MEM(r.hs.latest_timestamp, ts, 12);
	test_unhex(v, 32, vec_initiation_hash);
	CHECK_MEM(r.hs.hash, v, 32);
	test_unhex(v, 32, vec_initiation_ck);
	CHECK_MEM(r.hs.chaining_key, v, 32);

	/* The initiator as it was right after sending that initiation. */
	memcpy(i.hs.hash, r.hs.hash, 32);
	memcpy(i.hs.chaining_key, r.hs.chaining_key, 32);
	test_unhex(i.hs.ephemeral_private, 32, vec_initiator_ephemeral);
	i.hs.local_index = 0x11223344;
	i.hs.state = HANDSHAKE_CREATED_INITIATION;
	CHECK_INT(test_unhex((uint8_t *)&resp, sizeof(resp), vec_response), sizeof(resp));
	CHECK(take_resp(&i, &resp) == &i.hs);
	CHECK(noise_handshake_begin_session(&i.hs, &kp, T0));
	test_unhex(v, 32, vec_initiator_send);
	CHECK_MEM(kp.sending_key, v, 32);
	test_unhex(v, 32, vec_initiator_recv);
	CHECK_MEM(kp.receiving_key, v, 32);
	CHECK_INT(kp.remote_index, 0xa1b2c3d4);
}

/* --- keypair rotation --- */

struct drop_log {
	struct noise_keypair *kp[4];
	uint32_t idx[4];
	int n;
	int bad;	/* drop called on an invalid keypair, or too often */
};

static void drop_cb(void *ctx, struct noise_keypair *kp)
{
	struct drop_log *log = ctx;

	if (!kp->valid || log->n >= 4) {
		log->bad++;
		return;
	}
	log->kp[log->n] = kp;
	log->idx[log->n++] = kp->local_index;
}

static struct noise_keypair *make_kp(struct noise_keypairs *kps, uint32_t idx, bool initiator)
{
	struct noise_keypair *kp = noise_keypairs_reserve(kps);

	if (!kp)
		abort();
	CHECK(kp != kps->current && kp != kps->previous && kp != kps->next);
	CHECK(!kp->valid && crypto_is_zero(kp, sizeof(*kp)));
	memset(kp->sending_key, (int)idx, 32);
	kp->local_index = idx;
	kp->is_initiator = initiator;
	kp->valid = true;
	return kp;
}

static uint32_t idx_of(const struct noise_keypair *kp)
{
	return kp ? kp->local_index : 0;
}

/* Random install / re-install / confirm sequences against a model of the
 * header's rules over indices (0 = empty). */
static void test_keypair_rotation(void)
{
	struct noise_keypairs kps;
	struct drop_log log = { { NULL }, { 0 }, 0, 0 };
	uint32_t cur = 0, prev = 0, next = 0, idx = 0;
	uint8_t rnd[3000];

	CHECK(crypto_random(rnd, sizeof(rnd)));
	noise_keypairs_init(&kps, drop_cb, &log);
	CHECK(!kps.current && !kps.previous && !kps.next);
	for (size_t step = 0; step < sizeof(rnd); step++) {
		uint32_t dropped[2] = { 0, 0 };
		struct noise_keypair *set[3] = { kps.current, kps.previous, kps.next };
		struct noise_keypair *kp = set[(rnd[step] >> 2) % 3];
		int nd = 0;

		log.n = 0;
		switch (rnd[step] % 4) {
		case 0:		/* initiator: current at once */
			noise_keypairs_install(&kps, make_kp(&kps, ++idx, true));
			dropped[0] = next;
			dropped[1] = prev;
			prev = cur;
			cur = idx;
			next = 0;
			break;
		case 1:		/* responder: next until confirmed */
			noise_keypairs_install(&kps, make_kp(&kps, ++idx, false));
			dropped[0] = next;
			next = idx;
			break;
		case 2:		/* installing a member again changes nothing */
			if (kp)
				noise_keypairs_install(&kps, kp);
			break;
		default:	/* a data packet on a member */
			CHECK(noise_keypairs_received_with(&kps, kp) == (kp && kp == set[2]));
			if (kp && kp == set[2]) {
				dropped[0] = prev;
				prev = cur;
				cur = next;
				next = 0;
			}
		}
		nd = (dropped[0] != 0) + (dropped[1] != 0);
		CHECK_INT(log.n, nd);
		for (int d = 0; d < log.n; d++) {
			CHECK(log.idx[d] == dropped[0] || log.idx[d] == dropped[1]);
			CHECK(!log.kp[d]->valid && crypto_is_zero(log.kp[d], sizeof(*log.kp[d])));
			CHECK(noise_keypairs_find(&kps, log.idx[d]) == NULL);
		}
		CHECK_INT(idx_of(kps.current), cur);
		CHECK_INT(idx_of(kps.previous), prev);
		CHECK_INT(idx_of(kps.next), next);
		CHECK(!cur || noise_keypairs_find(&kps, cur) == kps.current);
		CHECK(!prev || noise_keypairs_find(&kps, prev) == kps.previous);
		CHECK(!next || noise_keypairs_find(&kps, next) == kps.next);
	}
	CHECK_INT(log.bad, 0);
	CHECK(idx > 500);

	log.n = 0;
	make_kp(&kps, ++idx, true);	/* reserved and filled, never installed */
	noise_keypairs_clear(&kps);
	CHECK(!kps.current && !kps.previous && !kps.next);
	CHECK_INT(log.n, (cur != 0) + (prev != 0) + (next != 0));
	CHECK(crypto_is_zero(kps.slots, sizeof(kps.slots)));

	/* No drop callback at all is allowed. */
	noise_keypairs_init(&kps, NULL, NULL);
	noise_keypairs_install(&kps, make_kp(&kps, 1, false));
	noise_keypairs_install(&kps, make_kp(&kps, 2, false));
	CHECK_INT(idx_of(kps.next), 2);
	noise_keypairs_clear(&kps);
	CHECK(!kps.next);
}

static void test_tai64n(void)
{
	uint8_t a[12], b[12];
	uint64_t sec;
	uint32_t ns;

	noise_tai64n_now(a);
	memcpy(&sec, a, 8);
	memcpy(&ns, a + 8, 4);
	sec = be64toh(sec);
	ns = be32toh(ns);
	CHECK(sec >= 0x400000000000000aULL + (uint64_t)time(NULL) - 2);
	CHECK(sec <= 0x400000000000000aULL + (uint64_t)time(NULL));
	CHECK_INT(ns & 0xffffff, 0);
	CHECK(ns < 1000000000u);
	for (int k = 0; k < 1000; k++) {
		noise_tai64n_now(b);
		CHECK(memcmp(a, b, 12) <= 0);
		memcpy(&ns, b + 8, 4);
		CHECK_INT(be32toh(ns) & 0xffffff, 0);
		memcpy(a, b, 12);
	}
	sleep_ms(40);
	noise_tai64n_now(b);
	CHECK(memcmp(a, b, 12) < 0);
}

int main(void)
{
	if (!crypto_init()) {
		fprintf(stderr, "crypto_init failed\n");
		return 1;
	}
	RUN(test_handshake_without_psk);
	RUN(test_handshake_with_psk);
	RUN(test_psk_mismatch);
	RUN(test_initiation_bit_flips);
	RUN(test_response_bit_flips);
	RUN(test_replay_and_old_timestamp);
	RUN(test_flood);
	RUN(test_unknown_static_and_wrong_index);
	RUN(test_low_order_ephemeral);
	RUN(test_no_identity_or_bad_peer_key);
	RUN(test_identity_clamping);
	RUN(test_simultaneous_initiation);
	RUN(test_golden_vector);
	RUN(test_keypair_rotation);
	RUN(test_tai64n);
	TEST_EXIT();
}
