/*
 * totp_test.c - src/common/totp.c against the RFCs: RFC 6238 Appendix B
 * (the SHA-1 rows, 8 digits, seed "12345678901234567890"), RFC 4226
 * Appendix D (HOTP, 6 digits), RFC 4648 section 10 (base32); and the
 * strictness of the parsers (a code is exactly its digits; base32 rejects
 * stray characters and non-canonical trailing bits).
 */
#include "test.h"
#include "totp.h"

#include <errno.h>
#include <stdint.h>

static const uint8_t seed[] = "12345678901234567890";

static void test_rfc6238_sha1(void)
{
	static const struct {
		int64_t t;
		uint64_t step;
		const char *code;
	} v[] = {
		{ 59, 0x1, "94287082" },
		{ 1111111109, 0x23523EC, "07081804" },
		{ 1111111111, 0x23523ED, "14050471" },
		{ 1234567890, 0x273EF07, "89005924" },
		{ 2000000000, 0x3F940AA, "69279037" },
		{ 20000000000LL, 0x27BC86AA, "65353130" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint32_t code = 0;
		char text[16];

		CHECK_INT(totp_step(v[i].t), v[i].step);
		CHECK_INT(totp_hotp(seed, 20, totp_step(v[i].t), 8, &code), 0);
		totp_format(code, 8, text, sizeof(text));
		if (strcmp(text, v[i].code))
			fprintf(stderr, "  t=%lld: got %s, want %s\n", (long long)v[i].t, text,
				v[i].code);
		CHECK(!strcmp(text, v[i].code));
	}
}

static void test_rfc4226_hotp(void)
{
	static const char *want[] = { "755224", "287082", "359152", "969429", "338314",
				      "254676", "287922", "162583", "399871", "520489" };
	uint64_t c;

	for (c = 0; c < 10; c++) {
		uint32_t code = 0;
		char text[8];

		CHECK_INT(totp_hotp(seed, 20, c, 6, &code), 0);
		totp_format(code, 6, text, sizeof(text));
		CHECK(!strcmp(text, want[c]));
	}
}

static void test_bad_arguments(void)
{
	uint32_t code = 12345;

	CHECK_INT(totp_hotp(seed, 20, 1, 0, &code), -EINVAL);
	CHECK_INT(totp_hotp(seed, 20, 1, 10, &code), -EINVAL);
	CHECK_INT(totp_hotp(seed, 0, 1, 6, &code), -EINVAL);
	CHECK_INT(totp_hotp(NULL, 20, 1, 6, &code), -EINVAL);
	CHECK_INT(code, 12345);
	CHECK_INT(totp_step(-1), 0);
	CHECK_INT(totp_step(29), 0);
	CHECK_INT(totp_step(30), 1);
}

static void test_parse(void)
{
	uint32_t c = 0;

	CHECK(totp_parse("000123", 6, &c) && c == 123);
	CHECK(totp_parse("999999", 6, &c) && c == 999999);
	CHECK(!totp_parse("12345", 6, &c));
	CHECK(!totp_parse("1234567", 6, &c));
	CHECK(!totp_parse(" 123456", 6, &c));
	CHECK(!totp_parse("123456 ", 6, &c));
	CHECK(!totp_parse("12a456", 6, &c));
	CHECK(!totp_parse("-12345", 6, &c));
	CHECK(!totp_parse("", 6, &c));
	CHECK(!totp_parse(NULL, 6, &c));
}

static void test_base32_rfc4648(void)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" },
		{ "foob", "MZXW6YQ" }, { "fooba", "MZXW6YTB" }, { "foobar", "MZXW6YTBOI" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char text[32];
		uint8_t back[16];
		size_t n = strlen(v[i].in);

		CHECK_INT(totp_base32_encode((const uint8_t *)v[i].in, n, text, sizeof(text)), 0);
		CHECK(!strcmp(text, v[i].out));
		CHECK_INT(totp_base32_decode(v[i].out, back, sizeof(back)), (int)n);
		CHECK(!memcmp(back, v[i].in, n));
	}
}

static void test_base32_strict(void)
{
	uint8_t b[32], key[20];
	char text[64];
	int i;

	CHECK_INT(totp_base32_decode("mzxw6ytboi", b, sizeof(b)), 6);	/* lower case */
	CHECK_INT(totp_base32_decode("MY======", b, sizeof(b)), 1);	/* padding */
	CHECK_INT(totp_base32_decode("MZ", b, sizeof(b)), -EINVAL);	/* bits left over */
	CHECK_INT(totp_base32_decode("M", b, sizeof(b)), -EINVAL);	/* no whole byte */
	CHECK_INT(totp_base32_decode("MZXW6Y", b, sizeof(b)), -EINVAL);
	CHECK_INT(totp_base32_decode("MZ1Q", b, sizeof(b)), -EINVAL);	/* 1 is not base32 */
	CHECK_INT(totp_base32_decode("MZ=Q", b, sizeof(b)), -EINVAL);	/* = inside */
	CHECK_INT(totp_base32_decode("MZXW6YTBOI", b, 5), -ENOSPC);
	CHECK_INT(totp_base32_encode((const uint8_t *)"foobar", 6, text, 10), -ENOSPC);
	/* A 160-bit secret: 32 characters, and back. */
	for (i = 0; i < 20; i++)
		key[i] = (uint8_t)(i * 37 + 11);
	CHECK_INT(totp_base32_encode(key, 20, text, sizeof(text)), 0);
	CHECK_INT(strlen(text), 32);
	CHECK_INT(totp_base32_decode(text, b, sizeof(b)), 20);
	CHECK(!memcmp(b, key, 20));
}

int main(void)
{
	RUN(test_rfc6238_sha1);
	RUN(test_rfc4226_hotp);
	RUN(test_bad_arguments);
	RUN(test_parse);
	RUN(test_base32_rfc4648);
	RUN(test_base32_strict);
	TEST_EXIT();
}
