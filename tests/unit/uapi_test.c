/*
 * uapi_test.c - tests for uapi*.c: a set body as `wg setconf` sends it,
 * every bad value and misplaced key, the sequential semantics of repeated
 * public keys, a large request, the get answer byte for byte, and the
 * round trip get -> set.  The client direction too: uapi_parse_get on
 * wireguard-go's answers, every malformed answer, its bounds, and the
 * round trips format_get -> parse_get and format_set -> parse_set on
 * thousands of random configs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <time.h>

#include "test.h"
#include "uapi.h"

#define PRIV "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define PUB1 "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"
#define PSK1 "188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52"
#define PUB2 "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376"
/* upper case on purpose: the protocol's hex is case-insensitive */
#define PSK2 "FD10A86F3A0B5C73D3E17D2A0C0D1E2F3A4B5C6D7E8F90A1B2C3D4E5F6071829"
#define PUB3 "662e6e2b4f0f1c7d1e4a3b9f0a8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c"
#define ZERO_KEY "0000000000000000000000000000000000000000000000000000000000000000"

static const uint8_t *key(const char *hex)
{
	static uint8_t buf[4][UAPI_KEY_LEN];
	static int n;
	uint8_t *k = buf[n++ & 3];

	CHECK_INT(test_unhex(k, UAPI_KEY_LEN, hex), UAPI_KEY_LEN);
	return k;
}

static bool crypto_key_zero(const uint8_t k[UAPI_KEY_LEN])
{
	static const uint8_t zero[UAPI_KEY_LEN];

	return memcmp(k, zero, UAPI_KEY_LEN) == 0;
}

static int parse(const char *body, struct uapi_config *cfg, char *err, size_t errlen)
{
	return uapi_parse_set(body, strlen(body), cfg, err, errlen);
}

static bool v4_is(const struct uapi_allowed_ip *a, const char *addr, unsigned cidr)
{
	uint8_t want[4];

	return inet_pton(AF_INET, addr, want) == 1 && a->family == AF_INET &&
	       memcmp(a->addr, want, 4) == 0 && a->cidr == cidr;
}

static bool v6_is(const struct uapi_allowed_ip *a, const char *addr, unsigned cidr)
{
	uint8_t want[16];

	return inet_pton(AF_INET6, addr, want) == 1 && a->family == AF_INET6 &&
	       memcmp(a->addr, want, 16) == 0 && a->cidr == cidr;
}

static void test_setconf_realistic(void)
{
	const char *body =
		"private_key=" PRIV "\n"
		"listen_port=51820\n"
		"fwmark=4660\n"
		"replace_peers=true\n"
		"public_key=" PUB1 "\n"
		"preshared_key=" PSK1 "\n"
		"endpoint=192.0.2.10:51820\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.8.0.2/32\n"
		"allowed_ip=fd00::2/128\n"
		"allowed_ip=10.9.0.77/24\n"
		"public_key=" PUB2 "\n"
		"preshared_key=" PSK2 "\n"
		"endpoint=[fe80::1%lo]:443\n"
		"persistent_keepalive_interval=0\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=0.0.0.0/0\n"
		"allowed_ip=::/0\n";
	struct uapi_config cfg;
	char err[256] = "untouched";
	const struct uapi_peer *p;
	uint8_t a6[16];

	CHECK_INT(parse(body, &cfg, err, sizeof(err)), 0);
	CHECK(err[0] == '\0');
	CHECK(cfg.has_private_key);
	CHECK_MEM(cfg.private_key, key(PRIV), UAPI_KEY_LEN);
	CHECK(cfg.has_listen_port);
	CHECK_INT(cfg.listen_port, 51820);
	CHECK(cfg.has_fwmark);
	CHECK_INT(cfg.fwmark, 4660);
	CHECK(cfg.replace_peers);
	CHECK_INT(cfg.n_peers, 2);
	if (cfg.n_peers != 2)
		goto out;

	p = &cfg.peers[0];
	CHECK_MEM(p->public_key, key(PUB1), UAPI_KEY_LEN);
	CHECK(!p->remove && !p->update_only);
	CHECK(p->has_preshared_key);
	CHECK_MEM(p->preshared_key, key(PSK1), UAPI_KEY_LEN);
	CHECK(p->has_endpoint);
	CHECK_INT(p->endpoint.sa.sa_family, AF_INET);
	CHECK_INT(ntohl(p->endpoint.sin.sin_addr.s_addr), 0xc000020a);
	CHECK_INT(ntohs(p->endpoint.sin.sin_port), 51820);
	CHECK(p->has_persistent_keepalive);
	CHECK_INT(p->persistent_keepalive_interval, 25);
	CHECK(p->replace_allowed_ips);
	CHECK_INT(p->n_allowed_ips, 3);
	if (p->n_allowed_ips == 3) {
		CHECK(v4_is(&p->allowed_ips[0], "10.8.0.2", 32));
		CHECK(v6_is(&p->allowed_ips[1], "fd00::2", 128));
		/* host bits kept: masking is the allowed-IPs table's job */
		CHECK(v4_is(&p->allowed_ips[2], "10.9.0.77", 24));
	}

	p = &cfg.peers[1];
	CHECK_MEM(p->public_key, key(PUB2), UAPI_KEY_LEN);
	CHECK(p->has_preshared_key);
	CHECK_MEM(p->preshared_key, key(PSK2), UAPI_KEY_LEN);
	CHECK(p->has_endpoint);
	CHECK_INT(p->endpoint.sa.sa_family, AF_INET6);
	CHECK(inet_pton(AF_INET6, "fe80::1", a6) == 1);
	CHECK_MEM(&p->endpoint.sin6.sin6_addr, a6, 16);
	CHECK_INT(ntohs(p->endpoint.sin6.sin6_port), 443);
	CHECK_INT(p->endpoint.sin6.sin6_scope_id, if_nametoindex("lo"));
	CHECK(p->endpoint.sin6.sin6_scope_id != 0);
	CHECK(p->has_persistent_keepalive);
	CHECK_INT(p->persistent_keepalive_interval, 0);
	CHECK_INT(p->n_allowed_ips, 2);
	if (p->n_allowed_ips == 2) {
		CHECK(v4_is(&p->allowed_ips[0], "0.0.0.0", 0));
		CHECK(v6_is(&p->allowed_ips[1], "::", 0));
	}
out:
	uapi_config_free(&cfg);
	CHECK(cfg.peers == NULL && cfg.n_peers == 0 && !cfg.has_private_key);
	uapi_config_free(&cfg);	/* twice is harmless */
}

static void test_minimal_and_empty(void)
{
	struct uapi_config cfg;
	char err[256];

	CHECK_INT(uapi_parse_set("", 0, &cfg, err, sizeof(err)), 0);
	CHECK(!cfg.has_private_key && !cfg.has_listen_port && !cfg.has_fwmark);
	CHECK(!cfg.replace_peers && cfg.n_peers == 0);
	uapi_config_free(&cfg);

	/* a NULL body of length 0, and a NULL err buffer, are fine */
	CHECK_INT(uapi_parse_set(NULL, 0, &cfg, NULL, 0), 0);
	uapi_config_free(&cfg);

	/* the last line needs no newline; a bare public_key is a peer */
	CHECK_INT(parse("public_key=" PUB1, &cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.n_peers, 1);
	if (cfg.n_peers == 1) {
		CHECK(!cfg.peers[0].has_preshared_key && !cfg.peers[0].has_endpoint);
		CHECK(!cfg.peers[0].has_persistent_keepalive);
		CHECK_INT(cfg.peers[0].n_allowed_ips, 0);
	}
	uapi_config_free(&cfg);

	/* the blank terminator is tolerated at the very end only */
	CHECK_INT(parse("listen_port=1\n\n", &cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.listen_port, 1);
	uapi_config_free(&cfg);
	CHECK_INT(parse("listen_port=1\n\nfwmark=2\n", &cfg, err, sizeof(err)), -EPROTO);
	CHECK_INT(parse("\nlisten_port=1\n", &cfg, err, sizeof(err)), -EPROTO);

	/* values may hold '=' (only the first one splits), zero values */
	CHECK_INT(parse("listen_port=0\nfwmark=0\nprivate_key=" ZERO_KEY "\n",
			&cfg, err, sizeof(err)), 0);
	CHECK(cfg.has_listen_port && cfg.listen_port == 0);
	CHECK(cfg.has_fwmark && cfg.fwmark == 0);
	CHECK(cfg.has_private_key);
	CHECK_MEM(cfg.private_key, key(ZERO_KEY), UAPI_KEY_LEN);
	uapi_config_free(&cfg);
	/* leading zeros pass, as Go's ParseUint lets them */
	CHECK_INT(parse("listen_port=0051820\nfwmark=4294967295\n", &cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.listen_port, 51820);
	CHECK_INT(cfg.fwmark, 4294967295u);
	uapi_config_free(&cfg);
	/* a later value of the same device key wins */
	CHECK_INT(parse("listen_port=1\nlisten_port=2\n", &cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.listen_port, 2);
	uapi_config_free(&cfg);
}

struct bad_case {
	const char *body;
	int ret;
	const char *msg;	/* must appear in err */
};

static void run_cases(const struct bad_case *cases, size_t n)
{
	struct uapi_config cfg;
	char err[256];

	for (size_t i = 0; i < n; i++) {
		int ret;

		err[0] = '\0';
		ret = parse(cases[i].body, &cfg, err, sizeof(err));
		if (ret != cases[i].ret || !strstr(err, cases[i].msg)) {
			test_failed_checks++;
			fprintf(stderr, "  case %zu %s: ret %d err \"%s\", want %d \"%s\"\n",
				i, cases[i].body, ret, err, cases[i].ret, cases[i].msg);
		}
		/* nothing survives a failed parse */
		CHECK(cfg.peers == NULL && cfg.n_peers == 0);
		CHECK(!cfg.has_private_key && !cfg.has_listen_port && !cfg.replace_peers);
		uapi_config_free(&cfg);
	}
}

static void test_bad_values(void)
{
	static const struct bad_case cases[] = {
		{ "listen_port=70000", -EINVAL, "invalid listen_port \"70000\"" },
		{ "listen_port=65536", -EINVAL, "invalid listen_port \"65536\"" },
		{ "listen_port=-1", -EINVAL, "invalid listen_port \"-1\"" },
		{ "listen_port=+1", -EINVAL, "invalid listen_port \"+1\"" },
		{ "listen_port= 1", -EINVAL, "invalid listen_port \" 1\"" },
		{ "listen_port=1 ", -EINVAL, "invalid listen_port \"1 \"" },
		{ "listen_port=", -EINVAL, "invalid listen_port \"\"" },
		{ "listen_port=0x10", -EINVAL, "invalid listen_port \"0x10\"" },
		{ "listen_port=51820\r", -EINVAL, "invalid listen_port \"51820\\x0d\"" },
		{ "listen_port=99999999999999999999999", -EINVAL, "listen_port" },
		{ "fwmark=4294967296", -EINVAL, "invalid fwmark \"4294967296\"" },
		{ "fwmark=abc", -EINVAL, "invalid fwmark \"abc\"" },
		{ "fwmark=-0", -EINVAL, "invalid fwmark \"-0\"" },
		{ "replace_peers=false", -EINVAL, "replace_peers \"false\"" },
		{ "replace_peers=TRUE", -EINVAL, "replace_peers \"TRUE\"" },
		{ "replace_peers=", -EINVAL, "replace_peers \"\"" },
		{ "private_key=", -EINVAL, "invalid private_key" },
		{ "private_key=" PRIV "0", -EINVAL, "invalid private_key" },
		{ "private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027", -EINVAL,
		  "invalid private_key" },
		{ "private_key=g84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a", -EINVAL,
		  "invalid private_key" },
		{ "public_key=xyz", -EINVAL, "invalid public_key" },
		{ "public_key=" PUB1 " ", -EINVAL, "invalid public_key" },
		{ "public_key=" PUB1 "\npreshared_key=1234", -EINVAL, "invalid preshared_key" },
		{ "public_key=" PUB1 "\nendpoint=1.2.3.4", -EINVAL, "endpoint \"1.2.3.4\" has no :port" },
		{ "public_key=" PUB1 "\nendpoint=example.com:51820", -EINVAL,
		  "endpoint \"example.com:51820\"" },
		{ "public_key=" PUB1 "\nendpoint=::1:51820", -EINVAL, "endpoint \"::1:51820\" needs [brackets]" },
		{ "public_key=" PUB1 "\nendpoint=[::1]:70000", -EINVAL, "endpoint \"[::1]:70000\" has an invalid port" },
		{ "public_key=" PUB1 "\nendpoint=", -EINVAL, "endpoint \"\"" },
		{ "public_key=" PUB1 "\npersistent_keepalive_interval=65536", -EINVAL,
		  "invalid persistent_keepalive_interval \"65536\"" },
		{ "public_key=" PUB1 "\npersistent_keepalive_interval=25s", -EINVAL,
		  "invalid persistent_keepalive_interval \"25s\"" },
		{ "public_key=" PUB1 "\nreplace_allowed_ips=1", -EINVAL, "replace_allowed_ips \"1\"" },
		{ "public_key=" PUB1 "\nallowed_ip=10.0.0.300/32", -EINVAL,
		  "allowed_ip \"10.0.0.300/32\" is not an address" },
		{ "public_key=" PUB1 "\nallowed_ip=10.0.0.0/33", -EINVAL,
		  "allowed_ip \"10.0.0.0/33\" has an invalid prefix length" },
		{ "public_key=" PUB1 "\nallowed_ip=::/129", -EINVAL, "allowed_ip \"::/129\"" },
		{ "public_key=" PUB1 "\nallowed_ip=fe80::1%lo/128", -EINVAL, "allowed_ip \"fe80::1%lo/128\"" },
		{ "public_key=" PUB1 "\nallowed_ip=", -EINVAL, "allowed_ip \"\"" },
		{ "public_key=" PUB1 "\nremove=yes", -EINVAL, "remove \"yes\"" },
		{ "public_key=" PUB1 "\nupdate_only=false", -EINVAL, "update_only \"false\"" },
		{ "public_key=" PUB1 "\nprotocol_version=2", -EINVAL, "protocol_version \"2\"" },
		{ "public_key=" PUB1 "\nprotocol_version=", -EINVAL, "protocol_version \"\"" },
		{ "public_key=" PUB1 "\nprotocol_version=01", -EINVAL, "protocol_version \"01\"" },
	};

	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_protocol_errors(void)
{
	static const struct bad_case cases[] = {
		{ "foo=bar", -EPROTO, "unknown key \"foo\"" },
		{ "=1", -EPROTO, "unknown key \"\"" },
		{ "Listen_port=1", -EPROTO, "unknown key \"Listen_port\"" },
		{ "listen_port =1", -EPROTO, "unknown key \"listen_port \"" },
		{ "public_key=" PUB1 "\ntx_bytes=1", -EPROTO, "unknown key \"tx_bytes\"" },
		{ "public_key=" PUB1 "\nlisten_port=1", -EPROTO, "\"listen_port\"" },
		{ "public_key=" PUB1 "\nprivate_key=" PRIV, -EPROTO, "\"private_key\"" },
		{ "public_key=" PUB1 "\nreplace_peers=true", -EPROTO, "\"replace_peers\"" },
		{ "public_key=" PUB1 "\nfwmark=1", -EPROTO, "\"fwmark\"" },
		{ "allowed_ip=10.0.0.1/32", -EPROTO, "\"allowed_ip\" before any public_key" },
		{ "protocol_version=1", -EPROTO, "\"protocol_version\"" },
		{ "remove=true", -EPROTO, "\"remove\"" },
		{ "listen_port", -EPROTO, "line 1 has no '='" },
		{ "listen_port=1\n\n\n", -EPROTO, "line 2" },
		{ "listen_port=1\nget=1", -EPROTO, "unknown key \"get\"" },
	};

	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* No error message may carry any 8-character run of a key's hex. */
static bool leaks(const char *err, const char *hex)
{
	char run[9];

	for (size_t i = 0; i + 8 <= strlen(hex); i++) {
		memcpy(run, hex + i, 8);
		run[8] = '\0';
		if (strstr(err, run))
			return true;
	}
	return false;
}

static void test_errors_never_echo_keys(void)
{
	/* one bad character at the end, so a naive parser gets far */
	const char *badpriv = "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027z";
	struct uapi_config cfg;
	char body[512], err[512];

	snprintf(body, sizeof(body), "private_key=%s\n", badpriv);
	CHECK_INT(parse(body, &cfg, err, sizeof(err)), -EINVAL);
	CHECK(!leaks(err, badpriv));
	snprintf(body, sizeof(body), "public_key=%s\npreshared_key=%s\n", PUB1, badpriv);
	CHECK_INT(parse(body, &cfg, err, sizeof(err)), -EINVAL);
	CHECK(!leaks(err, badpriv));
	/* a key pasted without '=' is not echoed either */
	snprintf(body, sizeof(body), "listen_port=1\n%s\n", PRIV);
	CHECK_INT(parse(body, &cfg, err, sizeof(err)), -EPROTO);
	CHECK(strstr(err, "line 2") != NULL);
	CHECK(!leaks(err, PRIV));
	/* a valid private key after a peer: refused, and not echoed */
	snprintf(body, sizeof(body), "public_key=%s\nprivate_key=%s\n", PUB1, PRIV);
	CHECK_INT(parse(body, &cfg, err, sizeof(err)), -EPROTO);
	CHECK(!leaks(err, PRIV));
	uapi_config_free(&cfg);
}

static void test_error_quoting(void)
{
	struct uapi_config cfg;
	char err[512], body[4096];
	static const char nul_ep[] = "public_key=" PUB1 "\nendpoint=1.2.3.4:80\0junk\n";
	static const char nul_port[] = "listen_port=1\0";

	/* unprintable bytes are escaped, quotes too */
	CHECK_INT(parse("fwmark=\x01\"\\\xff", &cfg, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "\"\\x01\\\"\\\\\\xff\"") != NULL);
	/* a huge value is cut short in the message */
	memcpy(body, "fwmark=", 7);
	memset(body + 7, '9', sizeof(body) - 8);
	body[sizeof(body) - 1] = '\0';
	CHECK_INT(parse(body, &cfg, err, sizeof(err)), -EINVAL);
	CHECK(strlen(err) < 100);
	CHECK(strstr(err, "...") != NULL);
	/* a tiny err buffer is filled and terminated, never overrun */
	memset(err, 'X', sizeof(err));
	CHECK_INT(parse("listen_port=70000", &cfg, err, 8), -EINVAL);
	CHECK_INT(strlen(err), 7);
	CHECK(err[8] == 'X');
	/* a NUL inside a value is not a terminator */
	CHECK_INT(uapi_parse_set(nul_ep, sizeof(nul_ep) - 1, &cfg, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "endpoint \"1.2.3.4:80\\x00junk\"") != NULL);
	CHECK_INT(uapi_parse_set(nul_port, sizeof(nul_port) - 1, &cfg, err, sizeof(err)), -EINVAL);
	/* addresses longer than any address, but short enough to be
	 * copied, must not overrun the parsers' buffers */
	CHECK_INT(uapi_parse_endpoint("[1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc]:1",
				      &(union uapi_sockaddr){ 0 }), -EINVAL);
	CHECK_INT(uapi_parse_endpoint("1111111111.2222222222.3333333333.4444444444.5555555555:1",
				      &(union uapi_sockaddr){ 0 }), -EINVAL);
	CHECK_INT(uapi_parse_allowed_ip("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/1",
					&(struct uapi_allowed_ip){ 0 }), -EINVAL);
	CHECK_INT(uapi_parse_endpoint("[fe80::1%abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz]:1",
				      &(union uapi_sockaddr){ 0 }), -EINVAL);
	/* an overlong allowed_ip or endpoint is refused, not truncated */
	snprintf(body, sizeof(body), "public_key=%s\nallowed_ip=10.0.0.1/32%0200d\n", PUB1, 0);
	CHECK_INT(parse(body, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(body, sizeof(body), "public_key=%s\nendpoint=1.2.3.4:%0200d\n", PUB1, 1);
	CHECK_INT(parse(body, &cfg, err, sizeof(err)), -EINVAL);
	uapi_config_free(&cfg);
}

static void test_remove_and_update_only(void)
{
	struct uapi_config cfg;
	char err[256];

	CHECK_INT(parse("public_key=" PUB1 "\nupdate_only=true\nallowed_ip=10.0.0.1/32\n"
			"public_key=" PUB2 "\nremove=true\n", &cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.n_peers, 2);
	if (cfg.n_peers == 2) {
		CHECK(cfg.peers[0].update_only && !cfg.peers[0].remove);
		CHECK_INT(cfg.peers[0].n_allowed_ips, 1);
		CHECK(cfg.peers[1].remove && !cfg.peers[1].update_only);
	}
	uapi_config_free(&cfg);

	/* remove drops what came before it and ignores what follows */
	CHECK_INT(parse("public_key=" PUB1 "\npreshared_key=" PSK1 "\nallowed_ip=10.0.0.1/32\n"
			"endpoint=1.2.3.4:5\nremove=true\nallowed_ip=10.0.0.2/32\n"
			"persistent_keepalive_interval=9\npreshared_key=" PSK2 "\nupdate_only=true\n",
			&cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.n_peers, 1);
	if (cfg.n_peers == 1) {
		const struct uapi_peer *p = &cfg.peers[0];

		CHECK(p->remove && !p->update_only);
		CHECK(!p->has_preshared_key && !p->has_endpoint && !p->has_persistent_keepalive);
		CHECK_MEM(p->preshared_key, key(ZERO_KEY), UAPI_KEY_LEN);
		CHECK_INT(p->n_allowed_ips, 0);
		CHECK_INT(p->endpoint.sa.sa_family, 0);
	}
	uapi_config_free(&cfg);

	/* remove wins over an update_only before it */
	CHECK_INT(parse("public_key=" PUB1 "\nupdate_only=true\nremove=true\n",
			&cfg, err, sizeof(err)), 0);
	CHECK(cfg.n_peers == 1 && cfg.peers[0].remove && !cfg.peers[0].update_only);
	uapi_config_free(&cfg);

	/* ...but still validates it */
	CHECK_INT(parse("public_key=" PUB1 "\nremove=true\nallowed_ip=10.0.0.256/32\n",
			&cfg, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "10.0.0.256/32") != NULL);
	CHECK_INT(parse("public_key=" PUB1 "\nremove=true\nlisten_port=1\n",
			&cfg, err, sizeof(err)), -EPROTO);
	CHECK_INT(parse("public_key=" PUB1 "\nremove=true\nprotocol_version=2\n",
			&cfg, err, sizeof(err)), -EINVAL);

	/* replace_allowed_ips drops the addresses gathered before it */
	CHECK_INT(parse("public_key=" PUB1 "\nallowed_ip=10.0.0.1/32\nallowed_ip=10.0.0.2/32\n"
			"replace_allowed_ips=true\nallowed_ip=10.0.0.3/32\n", &cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.n_peers, 1);
	if (cfg.n_peers == 1) {
		CHECK(cfg.peers[0].replace_allowed_ips);
		CHECK_INT(cfg.peers[0].n_allowed_ips, 1);
		if (cfg.peers[0].n_allowed_ips == 1)
			CHECK(v4_is(&cfg.peers[0].allowed_ips[0], "10.0.0.3", 32));
	}
	uapi_config_free(&cfg);
}

static void test_duplicate_public_key(void)
{
	struct uapi_config cfg;
	char err[256];
	const char *pub1_upper = "B85996FECC9C7F1FC6D2572A76EDA11D59BCD20BE8E543B15CE4BD85A8E75A33";
	char body[1024];

	/* a later section continues the same entry; hex case is irrelevant */
	snprintf(body, sizeof(body),
		 "public_key=%s\nallowed_ip=10.0.0.1/32\npersistent_keepalive_interval=5\n"
		 "public_key=%s\nallowed_ip=10.0.0.2/32\n"
		 "public_key=%s\npreshared_key=%s\nupdate_only=true\n",
		 PUB1, PUB2, pub1_upper, PSK1);
	CHECK_INT(parse(body, &cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.n_peers, 2);
	if (cfg.n_peers == 2) {
		const struct uapi_peer *p = &cfg.peers[0];

		CHECK_MEM(p->public_key, key(PUB1), UAPI_KEY_LEN);
		CHECK(p->has_persistent_keepalive && p->persistent_keepalive_interval == 5);
		CHECK(p->has_preshared_key);
		CHECK_MEM(p->preshared_key, key(PSK1), UAPI_KEY_LEN);
		/* the first section created the peer: update_only is moot */
		CHECK(!p->update_only);
		CHECK_INT(p->n_allowed_ips, 1);
		CHECK_MEM(cfg.peers[1].public_key, key(PUB2), UAPI_KEY_LEN);
	}
	uapi_config_free(&cfg);

	/* remove, then configure again: two entries, applied in order */
	CHECK_INT(parse("public_key=" PUB1 "\nallowed_ip=10.0.0.1/32\n"
			"public_key=" PUB1 "\nremove=true\n"
			"public_key=" PUB1 "\nallowed_ip=10.0.0.9/32\n"
			"public_key=" PUB1 "\nallowed_ip=10.0.0.10/32\n", &cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.n_peers, 2);
	if (cfg.n_peers == 2) {
		CHECK(cfg.peers[0].remove);
		CHECK_INT(cfg.peers[0].n_allowed_ips, 0);
		CHECK(!cfg.peers[1].remove && !cfg.peers[1].update_only);
		CHECK_MEM(cfg.peers[1].public_key, key(PUB1), UAPI_KEY_LEN);
		CHECK_INT(cfg.peers[1].n_allowed_ips, 2);
		if (cfg.peers[1].n_allowed_ips == 2) {
			CHECK(v4_is(&cfg.peers[1].allowed_ips[0], "10.0.0.9", 32));
			CHECK(v4_is(&cfg.peers[1].allowed_ips[1], "10.0.0.10", 32));
		}
	}
	uapi_config_free(&cfg);

	/* update_only, then a plain section: the second may create */
	CHECK_INT(parse("public_key=" PUB1 "\nupdate_only=true\nallowed_ip=10.0.0.1/32\n"
			"public_key=" PUB1 "\nallowed_ip=10.0.0.2/32\n", &cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.n_peers, 2);
	if (cfg.n_peers == 2) {
		CHECK(cfg.peers[0].update_only);
		CHECK(!cfg.peers[1].update_only);
		CHECK_INT(cfg.peers[0].n_allowed_ips, 1);
		CHECK_INT(cfg.peers[1].n_allowed_ips, 1);
	}
	uapi_config_free(&cfg);
}

/* Appends to a growing request; aborts on ENOMEM (it is a test). */
struct sb {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->cap - sb->len < 256) {
		sb->cap = sb->cap ? sb->cap * 2 : 4096;
		sb->p = realloc(sb->p, sb->cap);
		if (!sb->p)
			abort();
	}
	va_start(ap, fmt);
	n = vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sb->cap - sb->len)
		abort();
	sb->len += (size_t)n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void many_peers(size_t n, bool check_each)
{
	struct sb sb = { 0 };
	struct uapi_config cfg;
	char err[256];
	double t;

	sb_printf(&sb, "replace_peers=true\n");
	for (size_t i = 0; i < n; i++)
		sb_printf(&sb, "public_key=%056x%08zx\nreplace_allowed_ips=true\n"
			  "allowed_ip=10.%zu.%zu.%zu/32\n", 0, i,
			  (i >> 16) & 255, (i >> 8) & 255, i & 255);
	/* and one repeat at the end, which must find the first entry */
	sb_printf(&sb, "public_key=%056x%08x\nallowed_ip=fd00::/64\n", 0, 0);
	t = now();
	CHECK_INT(uapi_parse_set(sb.p, sb.len, &cfg, err, sizeof(err)), 0);
	t = now() - t;
	CHECK_INT(cfg.n_peers, n);
	if (t > 2.0) {
		test_failed_checks++;
		fprintf(stderr, "  %zu peers took %.2f s\n", n, t);
	}
	if (cfg.n_peers == n && check_each) {
		for (size_t i = 0; i < n; i++) {
			const struct uapi_peer *p = &cfg.peers[i];
			uint8_t want[UAPI_KEY_LEN] = { 0 };

			want[28] = (uint8_t)(i >> 24);
			want[29] = (uint8_t)(i >> 16);
			want[30] = (uint8_t)(i >> 8);
			want[31] = (uint8_t)i;
			if (memcmp(p->public_key, want, UAPI_KEY_LEN) != 0 ||
			    p->n_allowed_ips != (i == 0 ? 2u : 1u) ||
			    p->allowed_ips[0].addr[3] != (uint8_t)i ||
			    p->allowed_ips[0].addr[2] != (uint8_t)(i >> 8)) {
				test_failed_checks++;
				fprintf(stderr, "  peer %zu is wrong\n", i);
				break;
			}
		}
	}
	uapi_config_free(&cfg);
	free(sb.p);
}

static void test_many_peers(void)
{
	many_peers(20000, true);
	/* a quadratic lookup would take minutes here */
	many_peers(100000, false);
}

static void fill_golden(struct uapi_config *cfg)
{
	struct uapi_peer *p;
	uint8_t a[16];

	uapi_config_init(cfg);
	cfg->has_private_key = true;
	memcpy(cfg->private_key, key(PRIV), UAPI_KEY_LEN);
	cfg->has_listen_port = true;
	cfg->listen_port = 51820;
	cfg->has_fwmark = true;
	cfg->fwmark = 4660;

	p = uapi_config_add_peer(cfg);
	memcpy(p->public_key, key(PUB1), UAPI_KEY_LEN);
	p->has_preshared_key = true;
	memcpy(p->preshared_key, key(PSK1), UAPI_KEY_LEN);
	CHECK_INT(uapi_parse_endpoint("192.0.2.10:51820", &p->endpoint), 0);
	p->last_handshake_time_sec = 1700000000;
	p->last_handshake_time_nsec = 123456789;
	p->tx_bytes = 1024;
	p->rx_bytes = 18446744073709551615ull;
	p->persistent_keepalive_interval = 25;
	inet_pton(AF_INET, "10.8.0.2", a);
	CHECK_INT(uapi_peer_add_allowed_ip(p, AF_INET, a, 32), 0);
	inet_pton(AF_INET6, "fd00::2", a);
	CHECK_INT(uapi_peer_add_allowed_ip(p, AF_INET6, a, 128), 0);

	p = uapi_config_add_peer(cfg);
	memcpy(p->public_key, key(PUB2), UAPI_KEY_LEN);
	CHECK_INT(uapi_parse_endpoint("[2001:DB8:0:0::1]:443", &p->endpoint), 0);
	memset(a, 0, sizeof(a));
	CHECK_INT(uapi_peer_add_allowed_ip(p, AF_INET, a, 0), 0);
	CHECK_INT(uapi_peer_add_allowed_ip(p, AF_INET6, a, 0), 0);

	p = uapi_config_add_peer(cfg);
	memcpy(p->public_key, key(PUB3), UAPI_KEY_LEN);
}

static const char golden[] =
	"private_key=" PRIV "\n"
	"listen_port=51820\n"
	"fwmark=4660\n"
	"public_key=" PUB1 "\n"
	"preshared_key=" PSK1 "\n"
	"protocol_version=1\n"
	"endpoint=192.0.2.10:51820\n"
	"last_handshake_time_sec=1700000000\n"
	"last_handshake_time_nsec=123456789\n"
	"tx_bytes=1024\n"
	"rx_bytes=18446744073709551615\n"
	"persistent_keepalive_interval=25\n"
	"allowed_ip=10.8.0.2/32\n"
	"allowed_ip=fd00::2/128\n"
	"public_key=" PUB2 "\n"
	"preshared_key=" ZERO_KEY "\n"
	"protocol_version=1\n"
	"endpoint=[2001:db8::1]:443\n"
	"last_handshake_time_sec=0\n"
	"last_handshake_time_nsec=0\n"
	"tx_bytes=0\n"
	"rx_bytes=0\n"
	"persistent_keepalive_interval=0\n"
	"allowed_ip=0.0.0.0/0\n"
	"allowed_ip=::/0\n"
	"public_key=" PUB3 "\n"
	"preshared_key=" ZERO_KEY "\n"
	"protocol_version=1\n"
	"last_handshake_time_sec=0\n"
	"last_handshake_time_nsec=0\n"
	"tx_bytes=0\n"
	"rx_bytes=0\n"
	"persistent_keepalive_interval=0\n"
	"errno=0\n"
	"\n";

static void test_format_get_golden(void)
{
	struct uapi_config cfg;
	char *out = NULL;
	size_t len = 0;

	fill_golden(&cfg);
	CHECK_INT(uapi_format_get(&cfg, &out, &len), 0);
	CHECK_INT(len, sizeof(golden) - 1);
	CHECK(out != NULL && strlen(out) == len);
	if (out && len == sizeof(golden) - 1)
		CHECK_MEM(out, golden, len);
	else if (out)
		fprintf(stderr, "  got:\n%s", out);
	free(out);

	/* a zero private key, no port, fwmark 0 and no peers: just errno */
	uapi_config_free(&cfg);
	cfg.has_private_key = true;
	cfg.has_fwmark = true;
	CHECK_INT(uapi_format_get(&cfg, &out, &len), 0);
	CHECK(out && len == 9 && memcmp(out, "errno=0\n\n", 9) == 0);
	free(out);
	cfg.has_listen_port = true;
	CHECK_INT(uapi_format_get(&cfg, &out, &len), 0);
	CHECK(out && strcmp(out, "listen_port=0\nerrno=0\n\n") == 0);
	free(out);
}

/* Drops the lines a set does not take. */
static size_t strip_get_only(char *s)
{
	static const char *const get_only[] = {
		"last_handshake_time_sec=", "last_handshake_time_nsec=",
		"tx_bytes=", "rx_bytes=", "errno=",
	};
	char *r = s, *w = s;

	while (*r) {
		char *nl = strchr(r, '\n');
		size_t n = nl ? (size_t)(nl - r) + 1 : strlen(r);
		bool keep = n > 1;

		for (size_t i = 0; i < sizeof(get_only) / sizeof(get_only[0]); i++)
			if (strncmp(r, get_only[i], strlen(get_only[i])) == 0)
				keep = false;
		if (keep) {
			memmove(w, r, n);
			w += n;
		}
		r += n;
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void test_round_trip(void)
{
	struct uapi_config cfg, back;
	char *out = NULL, err[256];
	size_t len;

	fill_golden(&cfg);
	/* a scoped endpoint survives too */
	CHECK_INT(uapi_parse_endpoint("[fe80::1%lo]:1", &cfg.peers[2].endpoint), 0);
	CHECK_INT(uapi_format_get(&cfg, &out, &len), 0);
	if (!out)
		goto out;
	CHECK(strstr(out, "endpoint=[fe80::1%lo]:1\n") != NULL);
	len = strip_get_only(out);
	CHECK(strstr(out, "tx_bytes") == NULL);
	CHECK_INT(uapi_parse_set(out, len, &back, err, sizeof(err)), 0);
	CHECK(back.has_private_key);
	CHECK_MEM(back.private_key, cfg.private_key, UAPI_KEY_LEN);
	CHECK(back.has_listen_port && back.listen_port == cfg.listen_port);
	CHECK(back.has_fwmark && back.fwmark == cfg.fwmark);
	CHECK_INT(back.n_peers, cfg.n_peers);
	for (size_t i = 0; i < back.n_peers && i < cfg.n_peers; i++) {
		const struct uapi_peer *a = &cfg.peers[i], *b = &back.peers[i];

		CHECK_MEM(a->public_key, b->public_key, UAPI_KEY_LEN);
		CHECK(b->has_preshared_key);	/* zeros count as a value */
		CHECK_MEM(a->preshared_key, b->preshared_key, UAPI_KEY_LEN);
		CHECK(b->has_endpoint == (a->endpoint.sa.sa_family != 0));
		CHECK_MEM(&a->endpoint, &b->endpoint, sizeof(a->endpoint));
		CHECK(b->has_persistent_keepalive);
		CHECK_INT(a->persistent_keepalive_interval, b->persistent_keepalive_interval);
		CHECK_INT(a->n_allowed_ips, b->n_allowed_ips);
		for (size_t j = 0; j < a->n_allowed_ips && j < b->n_allowed_ips; j++)
			CHECK_MEM(&a->allowed_ips[j], &b->allowed_ips[j], sizeof(a->allowed_ips[j]));
		CHECK(!b->remove && !b->update_only && !b->replace_allowed_ips);
	}
	uapi_config_free(&back);
out:
	free(out);
	uapi_config_free(&cfg);
}

static void test_endpoints(void)
{
	static const char *const bad[] = {
		":0", "", ":", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1",
		"1.2.3.4:+1", "1.2.3.4:1 ", " 1.2.3.4:1", "1.2.3:1", "01.2.3.4:1",
		"1.2.3.4.5:1", "256.0.0.1:1", "[::1]", "[::1]:", "[::1]:70000", "::1:80",
		"[::1:80", "[::1]x:80", "[1.2.3.4]:80", "[fe80::1%]:80",
		"[fe80::1%no-such-if0]:80", "[fe80::1%4294967296]:80",
		"[fe80::1%abcdefghijklmnopq]:80", "1.2.3.4%lo:80", "[::1]:80]",
		"localhost:80", "[::g]:1",
	};
	/* parse, then format: canonical text; port 0 and leading zeros pass
	 * as in wireguard-go; a scope is printed by name if it has one */
	static const struct { const char *in, *out; } good[] = {
		{ "1.2.3.4:51820", "1.2.3.4:51820" },
		{ "192.0.2.1:0", "192.0.2.1:0" },
		{ "1.2.3.4:00080", "1.2.3.4:80" },
		{ "[::1]:65535", "[::1]:65535" },
		{ "[2001:0DB8::0001]:51820", "[2001:db8::1]:51820" },
		{ "[fe80::1%lo]:1", "[fe80::1%lo]:1" },
		{ "[fe80::1%3999999999]:1", "[fe80::1%3999999999]:1" },
		{ "[::ffff:192.0.2.1]:1", "[::ffff:192.0.2.1]:1" },
		{ "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%4294967295]:65535",
		  "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535" },
	};
	union uapi_sockaddr sa;
	char buf[96];
	uint8_t a6[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&sa, 0xa5, sizeof(sa));
		if (uapi_parse_endpoint(bad[i], &sa) != -EINVAL) {
			test_failed_checks++;
			fprintf(stderr, "  endpoint \"%s\" was accepted\n", bad[i]);
		}
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		buf[0] = '\0';
		if (uapi_parse_endpoint(good[i].in, &sa) == 0)
			uapi_format_endpoint(&sa, buf, sizeof(buf));
		if (strcmp(buf, good[i].out) != 0) {
			test_failed_checks++;
			fprintf(stderr, "  endpoint \"%s\" -> \"%s\", want \"%s\"\n",
				good[i].in, buf, good[i].out);
		}
	}

	CHECK_INT(uapi_parse_endpoint("1.2.3.4:51820", &sa), 0);
	CHECK_INT(sa.sa.sa_family, AF_INET);
	CHECK_INT(ntohl(sa.sin.sin_addr.s_addr), 0x01020304);
	CHECK_INT(ntohs(sa.sin.sin_port), 51820);
	memset(&sa, 0xa5, sizeof(sa));
	CHECK_INT(uapi_parse_endpoint("[::1]:65535", &sa), 0);
	CHECK_INT(sa.sa.sa_family, AF_INET6);
	inet_pton(AF_INET6, "::1", a6);
	CHECK_MEM(&sa.sin6.sin6_addr, a6, 16);
	CHECK_INT(ntohs(sa.sin6.sin6_port), 65535);
	CHECK_INT(sa.sin6.sin6_scope_id, 0);
	CHECK_INT(sa.sin6.sin6_flowinfo, 0);
	CHECK_INT(uapi_parse_endpoint("[fe80::1%lo]:51820", &sa), 0);
	CHECK_INT(sa.sin6.sin6_scope_id, if_nametoindex("lo"));
	CHECK_INT(uapi_parse_endpoint("[fe80::1%7]:51820", &sa), 0);
	CHECK_INT(sa.sin6.sin6_scope_id, 7);

	/* truncation keeps a terminated string; no family formats as "" */
	CHECK_INT(uapi_parse_endpoint("[ffff::1]:1", &sa), 0);
	memset(buf, 'X', sizeof(buf));
	uapi_format_endpoint(&sa, buf, 5);
	CHECK(strcmp(buf, "[fff") == 0 && buf[5] == 'X');
	memset(&sa, 0, sizeof(sa));
	strcpy(buf, "junk");
	uapi_format_endpoint(&sa, buf, sizeof(buf));
	CHECK(buf[0] == '\0');
}

static void test_parse_allowed_ip(void)
{
	static const char *const bad[] = {
		"", "/", "/24", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0.0/08", "10.0.0.0/ 8", "10.0.0.0/8 ", "10.0.0.0/8/8", "10.0.0.300/32",
		"10.0.0/24", "::/129", "::/1000", "fe80::1%lo", "fe80::1%lo/128",
		"[::1]/128", "example.com/32", "10.0.0.0/0x8", "1.2.3.4:80",
	};
	struct uapi_allowed_ip a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (uapi_parse_allowed_ip(bad[i], &a) != -EINVAL) {
			test_failed_checks++;
			fprintf(stderr, "  allowed_ip \"%s\" was accepted\n", bad[i]);
		}
	}
	CHECK_INT(uapi_parse_allowed_ip("1.2.3.4", &a), 0);
	CHECK(v4_is(&a, "1.2.3.4", 32));
	CHECK_INT(uapi_parse_allowed_ip("fd00::1", &a), 0);
	CHECK(v6_is(&a, "fd00::1", 128));
	CHECK_INT(uapi_parse_allowed_ip("10.1.2.3/8", &a), 0);
	CHECK(v4_is(&a, "10.1.2.3", 8));	/* not masked */
	CHECK_INT(uapi_parse_allowed_ip("0.0.0.0/0", &a), 0);
	CHECK(v4_is(&a, "0.0.0.0", 0));
	CHECK_INT(uapi_parse_allowed_ip("10.0.0.0/32", &a), 0);
	CHECK_INT(a.cidr, 32);
	CHECK_INT(uapi_parse_allowed_ip("::/0", &a), 0);
	CHECK(v6_is(&a, "::", 0));
	CHECK_INT(uapi_parse_allowed_ip("2001:db8::ffff/128", &a), 0);
	CHECK(v6_is(&a, "2001:db8::ffff", 128));
	CHECK_INT(uapi_parse_allowed_ip("::ffff:10.0.0.1/96", &a), 0);
	CHECK(v6_is(&a, "::ffff:10.0.0.1", 96));
	/* the bytes past an IPv4 address stay zero */
	CHECK_INT(uapi_parse_allowed_ip("255.255.255.255/32", &a), 0);
	for (int i = 4; i < 16; i++)
		CHECK_INT(a.addr[i], 0);
}

static void test_builder_api(void)
{
	struct uapi_config cfg;
	struct uapi_peer *p;
	uint8_t a[16] = { 10, 0, 0, 1 };

	uapi_config_init(&cfg);
	for (int i = 0; i < 1000; i++) {
		p = uapi_config_add_peer(&cfg);
		CHECK(p != NULL);
		if (!p)
			break;
		CHECK(p->n_allowed_ips == 0 && !p->has_preshared_key && p->allowed_ips == NULL);
		memset(p->preshared_key, 0xee, UAPI_KEY_LEN);
		p->public_key[0] = (uint8_t)i;
	}
	CHECK_INT(cfg.n_peers, 1000);
	CHECK(cfg.cap_peers >= 1000);
	CHECK_INT(cfg.peers[999].public_key[0], 999 & 255);
	CHECK_INT(cfg.peers[0].preshared_key[31], 0xee);
	p = &cfg.peers[5];
	CHECK_INT(uapi_peer_add_allowed_ip(p, AF_INET, a, 33), -EINVAL);
	CHECK_INT(uapi_peer_add_allowed_ip(p, AF_INET6, a, 129), -EINVAL);
	CHECK_INT(uapi_peer_add_allowed_ip(p, AF_UNIX, a, 0), -EINVAL);
	CHECK_INT(p->n_allowed_ips, 0);
	for (int i = 0; i < 100; i++)
		CHECK_INT(uapi_peer_add_allowed_ip(p, AF_INET, a, (uint8_t)(i % 33)), 0);
	CHECK_INT(p->n_allowed_ips, 100);
	CHECK(v4_is(&p->allowed_ips[99], "10.0.0.1", 99 % 33));
	uapi_config_free(&cfg);
	CHECK(cfg.peers == NULL && cfg.n_peers == 0 && cfg.cap_peers == 0);
}

/* ---- the client direction: uapi_parse_get and uapi_format_set ---- */

/* Field by field (not the array capacities); logs the first difference. */
static bool config_equal(const struct uapi_config *a, const struct uapi_config *b)
{
	const char *what = NULL;
	size_t i = 0;

	if (a->has_private_key != b->has_private_key ||
	    memcmp(a->private_key, b->private_key, UAPI_KEY_LEN))
		what = "private_key";
	else if (a->has_listen_port != b->has_listen_port || a->listen_port != b->listen_port)
		what = "listen_port";
	else if (a->has_fwmark != b->has_fwmark || a->fwmark != b->fwmark)
		what = "fwmark";
	else if (a->replace_peers != b->replace_peers)
		what = "replace_peers";
	else if (a->n_peers != b->n_peers)
		what = "n_peers";
	for (; !what && i < a->n_peers; i++) {
		const struct uapi_peer *p = &a->peers[i], *q = &b->peers[i];

		if (memcmp(p->public_key, q->public_key, UAPI_KEY_LEN))
			what = "public_key";
		else if (p->remove != q->remove || p->update_only != q->update_only)
			what = "remove/update_only";
		else if (p->has_preshared_key != q->has_preshared_key ||
			 memcmp(p->preshared_key, q->preshared_key, UAPI_KEY_LEN))
			what = "preshared_key";
		else if (p->has_endpoint != q->has_endpoint ||
			 memcmp(&p->endpoint, &q->endpoint, sizeof(p->endpoint)))
			what = "endpoint";
		else if (p->has_persistent_keepalive != q->has_persistent_keepalive ||
			 p->persistent_keepalive_interval != q->persistent_keepalive_interval)
			what = "persistent_keepalive_interval";
		else if (p->replace_allowed_ips != q->replace_allowed_ips)
			what = "replace_allowed_ips";
		else if (p->n_allowed_ips != q->n_allowed_ips)
			what = "n_allowed_ips";
		else if (p->n_allowed_ips &&
			 memcmp(p->allowed_ips, q->allowed_ips, p->n_allowed_ips * sizeof(*p->allowed_ips)))
			what = "allowed_ips";
		else if (p->last_handshake_time_sec != q->last_handshake_time_sec ||
			 p->last_handshake_time_nsec != q->last_handshake_time_nsec)
			what = "last_handshake_time";
		else if (p->rx_bytes != q->rx_bytes || p->tx_bytes != q->tx_bytes)
			what = "rx/tx_bytes";
	}
	if (what)
		fprintf(stderr, "  configs differ in %s (peer %zu)\n", what, i ? i - 1 : 0);
	return !what;
}

static int parse_get(const char *text, struct uapi_config *cfg, char *err, size_t errlen)
{
	return uapi_parse_get(text, strlen(text), cfg, err, errlen);
}

static void test_parse_get_golden(void)
{
	struct uapi_config want, got;
	char err[256], *out = NULL;
	size_t len;

	fill_golden(&want);
	/* as a get answer reports them: a peer's PSK and keepalive always */
	for (size_t i = 0; i < want.n_peers; i++) {
		want.peers[i].has_preshared_key = true;
		want.peers[i].has_persistent_keepalive = true;
		want.peers[i].has_endpoint = want.peers[i].endpoint.sa.sa_family != 0;
	}
	strcpy(err, "junk");
	CHECK_INT(parse_get(golden, &got, err, sizeof(err)), 0);
	CHECK(err[0] == '\0');
	CHECK(config_equal(&want, &got));
	CHECK_INT(uapi_format_get(&got, &out, &len), 0);
	CHECK(out && len == sizeof(golden) - 1 && memcmp(out, golden, len) == 0);
	free(out);
	uapi_config_free(&got);
	uapi_config_free(&want);

	/* the smallest answers */
	CHECK_INT(parse_get("errno=0\n\n", &got, err, sizeof(err)), 0);
	CHECK(!got.has_private_key && !got.has_listen_port && !got.has_fwmark && !got.n_peers);
	uapi_config_free(&got);
	CHECK_INT(parse_get("errno=-0\n\n", &got, err, sizeof(err)), 0);
	uapi_config_free(&got);

	/* what wireguard-go sends for a fresh device with one peer */
	CHECK_INT(parse_get("listen_port=38213\npublic_key=" PUB1 "\npreshared_key=" ZERO_KEY "\n"
			    "protocol_version=1\nlast_handshake_time_sec=0\n"
			    "last_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\n"
			    "persistent_keepalive_interval=0\nallowed_ip=10.0.0.0/8\nerrno=0\n\n",
			    &got, err, sizeof(err)), 0);
	CHECK(got.has_listen_port && got.listen_port == 38213 && got.n_peers == 1);
	CHECK(!got.has_private_key && !got.has_fwmark);
	if (got.n_peers == 1) {
		CHECK(got.peers[0].has_preshared_key && got.peers[0].has_persistent_keepalive);
		CHECK(!got.peers[0].has_endpoint);
		CHECK(got.peers[0].n_allowed_ips == 1 && v4_is(&got.peers[0].allowed_ips[0], "10.0.0.0", 8));
	}
	uapi_config_free(&got);
}

static void test_parse_get_lenient_where_wg_is(void)
{
	struct uapi_config got;
	char err[256], *out = NULL;
	size_t len;

	/* unknown keys, at device and peer level, and set-only keys, are
	 * ignored; lines may come in any order within a section; a missing
	 * line means zero / none; a bare address is one host */
	CHECK_INT(parse_get("future_key=anything at all\nfwmark=0\n"
			    "public_key=" PUB1 "\nallowed_ip=10.0.0.1\nrx_bytes=5\n"
			    "future_peer_key=1\nreplace_allowed_ips=true\nremove=true\n"
			    "endpoint=[FE80::1%1]:0051820\nprivate_keyx=1\nerrno=0\n\n",
			    &got, err, sizeof(err)), 0);
	CHECK(err[0] == '\0');
	CHECK(!got.has_fwmark && got.fwmark == 0);	/* zero: as the device reports it */
	CHECK_INT(got.n_peers, 1);
	if (got.n_peers == 1) {
		const struct uapi_peer *p = &got.peers[0];

		CHECK(p->has_preshared_key && crypto_key_zero(p->preshared_key));
		CHECK(!p->remove && !p->replace_allowed_ips && !p->update_only);
		CHECK(p->n_allowed_ips == 1 && v4_is(&p->allowed_ips[0], "10.0.0.1", 32));
		CHECK_INT(p->rx_bytes, 5);
		CHECK(p->has_endpoint && p->endpoint.sin6.sin6_scope_id == 1 &&
		      ntohs(p->endpoint.sin6.sin6_port) == 51820);
		CHECK(p->has_persistent_keepalive && p->persistent_keepalive_interval == 0);
	}
	CHECK_INT(uapi_format_get(&got, &out, &len), 0);
	/* the canonical form has none of the ignored lines */
	CHECK(out && !strstr(out, "future") && !strstr(out, "remove") && !strstr(out, "fwmark"));
	free(out);
	uapi_config_free(&got);

	/* a zero private key is no key; upper-case hex is fine */
	CHECK_INT(parse_get("private_key=" ZERO_KEY "\npublic_key=" PSK2 "\nerrno=0\n\n",
			    &got, err, sizeof(err)), 0);
	CHECK(!got.has_private_key && got.n_peers == 1);
	uapi_config_free(&got);
}

struct get_case {
	const char *text;
	int ret;
	const char *msg;	/* a part of the error message */
};

static void run_get_cases(const struct get_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct uapi_config cfg;
		char err[256];
		int ret;

		memset(&cfg, 0xa5, sizeof(cfg));
		memset(err, 'X', sizeof(err));
		ret = parse_get(cases[i].text, &cfg, err, sizeof(err));
		if (ret != cases[i].ret || !memchr(err, '\0', sizeof(err)) ||
		    !strstr(err, cases[i].msg)) {
			test_failed_checks++;
			fprintf(stderr, "  get case %zu: ret %d (want %d), err \"%.200s\" (want \"%s\")\n",
				i, ret, cases[i].ret, memchr(err, '\0', sizeof(err)) ? err : "?",
				cases[i].msg);
		}
		/* a failed parse leaves an empty config, no key */
		CHECK(cfg.peers == NULL && cfg.n_peers == 0 && !cfg.has_private_key);
		CHECK(crypto_key_zero(cfg.private_key));
		CHECK(!strstr(err, PRIV) && !strstr(err, PSK1));
		uapi_config_free(&cfg);
	}
}

static void test_parse_get_refuses(void)
{
	static const struct get_case cases[] = {
		{ "", -EPROTO, "empty" },
		{ "errno=0\n", -EPROTO, "line 2: is missing" },
		{ "errno=0", -EPROTO, "line 1: has no newline" },
		{ "listen_port=1\n", -EPROTO, "line 2: the answer ends without" },
		{ "listen_port=1\n\n", -EPROTO, "line 2: is blank" },
		{ "listen_port=1", -EPROTO, "line 1: has no newline" },
		{ "\n", -EPROTO, "line 1: is blank" },
		{ "errno=0\n\nerrno=0\n\n", -EPROTO, "9 bytes follow" },
		{ "errno=0\nlisten_port=1\n\n", -EPROTO, "line 2: follows" },
		{ "errno=0\r\n\r\n", -EPROTO, "errno \"0\\x0d\"" },
		{ "garbage\nerrno=0\n\n", -EPROTO, "line 1: has no '='" },
		{ "=1\nerrno=0\n\n", -EPROTO, "key \"\" is not a UAPI key" },
		{ "Listen_Port=1\nerrno=0\n\n", -EPROTO, "key \"Listen_Port\"" },
		{ "a b=1\nerrno=0\n\n", -EPROTO, "key \"a b\"" },
		{ "listen_port=1\nlisten_port=1\nerrno=0\n\n", -EPROTO, "line 2: \"listen_port\" given twice" },
		{ "listen_port=65536\nerrno=0\n\n", -EPROTO, "line 1: listen_port \"65536\" is not a number in 0..65535" },
		{ "listen_port=-1\nerrno=0\n\n", -EPROTO, "listen_port \"-1\"" },
		{ "listen_port=\nerrno=0\n\n", -EPROTO, "listen_port \"\"" },
		{ "listen_port= 1\nerrno=0\n\n", -EPROTO, "listen_port \" 1\"" },
		{ "fwmark=4294967296\nerrno=0\n\n", -EPROTO, "fwmark \"4294967296\"" },
		{ "private_key=" PRIV "0\nerrno=0\n\n", -EPROTO, "line 1: invalid private_key" },
		{ "private_key=" PSK1 "\nprivate_key=" PRIV "\nerrno=0\n\n", -EPROTO, "given twice" },
		{ "public_key=" PUB1 "\nprivate_key=" PRIV "\nerrno=0\n\n", -EPROTO,
		  "line 2: device key \"private_key\" after a peer's public_key" },
		{ "public_key=" PUB1 "\nlisten_port=1\nerrno=0\n\n", -EPROTO, "device key \"listen_port\"" },
		{ "preshared_key=" PSK1 "\nerrno=0\n\n", -EPROTO, "line 1: peer key \"preshared_key\" before any public_key" },
		{ "rx_bytes=1\nerrno=0\n\n", -EPROTO, "peer key \"rx_bytes\"" },
		{ "public_key=" PUB1 "\npreshared_key=" PSK1 "x\nerrno=0\n\n", -EPROTO, "invalid preshared_key" },
		{ "public_key=" PUB1 "0\nerrno=0\n\n", -EPROTO, "invalid public_key" },
		{ "public_key=" PUB1 "\npublic_key=" PUB2 "\npublic_key=" PUB1 "\nerrno=0\n\n", -EPROTO,
		  "line 3: public_key of peer 1 listed again" },
		{ "public_key=" PUB1 "\nendpoint=1.2.3.4:1\nendpoint=1.2.3.4:2\nerrno=0\n\n", -EPROTO,
		  "line 3: \"endpoint\" given twice for the same peer" },
		{ "public_key=" PUB1 "\nprotocol_version=2\nerrno=0\n\n", -EPROTO,
		  "protocol_version \"2\" is not supported" },
		{ "public_key=" PUB1 "\nprotocol_version=01\nerrno=0\n\n", -EPROTO, "protocol_version \"01\"" },
		{ "public_key=" PUB1 "\nendpoint=example.com:1\nerrno=0\n\n", -EPROTO, "endpoint \"example.com:1\"" },
		{ "public_key=" PUB1 "\nendpoint=1.2.3.4\nerrno=0\n\n", -EPROTO, "has no :port" },
		{ "public_key=" PUB1 "\nallowed_ip=10.0.0.0/33\nerrno=0\n\n", -EPROTO,
		  "line 2: allowed_ip \"10.0.0.0/33\" has an invalid prefix length" },
		{ "public_key=" PUB1 "\nallowed_ip=\nerrno=0\n\n", -EPROTO, "allowed_ip \"\"" },
		{ "public_key=" PUB1 "\nrx_bytes=18446744073709551616\nerrno=0\n\n", -EPROTO,
		  "rx_bytes \"18446744073709551616\" is not a number in 0..18446744073709551615" },
		{ "public_key=" PUB1 "\nlast_handshake_time_sec=9223372036854775808\nerrno=0\n\n", -EPROTO,
		  "last_handshake_time_sec \"9223372036854775808\"" },
		{ "public_key=" PUB1 "\nlast_handshake_time_nsec=-1\nerrno=0\n\n", -EPROTO,
		  "last_handshake_time_nsec \"-1\"" },
		{ "public_key=" PUB1 "\npersistent_keepalive_interval=65536\nerrno=0\n\n", -EPROTO,
		  "persistent_keepalive_interval \"65536\"" },
		{ "errno=\n\n", -EPROTO, "errno \"\"" },
		{ "errno=-\n\n", -EPROTO, "errno \"-\"" },
		{ "errno=--1\n\n", -EPROTO, "errno \"--1\"" },
		{ "errno=+1\n\n", -EPROTO, "errno \"+1\"" },
		{ "errno=4096\n\n", -EPROTO, "errno \"4096\"" },
		{ "errno=-99999999999999999999\n\n", -EPROTO, "errno \"-99999999999999999999\"" },
		/* the daemon's own errors, either sign */
		{ "errno=-22\n\n", -EINVAL, "the daemon answered errno=-22 (Invalid argument)" },
		{ "errno=1\n\n", -EPERM, "errno=-1" },
		{ "errno=-4095\n\n", -4095, "errno=-4095" },
		{ "listen_port=1\npublic_key=" PUB1 "\nerrno=-98\n\n", -EADDRINUSE, "errno=-98" },
		/* a malformed line before errno is reported first */
		{ "listen_port=x\nerrno=-98\n\n", -EPROTO, "listen_port \"x\"" },
	};
	struct uapi_config cfg;
	char err[256], *big;
	size_t n;

	run_get_cases(cases, sizeof(cases) / sizeof(cases[0]));

	/* a NUL inside a line; NULL text with length 0 */
	CHECK_INT(uapi_parse_get("listen_port=1\0\nerrno=0\n\n", 24, &cfg, err, sizeof(err)), -EPROTO);
	CHECK(strstr(err, "line 1: holds a NUL byte") != NULL);
	CHECK_INT(uapi_parse_get("errno=0\n\n\0", 10, &cfg, err, sizeof(err)), -EPROTO);
	CHECK_INT(uapi_parse_get(NULL, 0, &cfg, err, sizeof(err)), -EPROTO);
	/* no error buffer is fine */
	CHECK_INT(uapi_parse_get("x\n", 2, &cfg, NULL, 0), -EPROTO);

	/* a line of UAPI_GET_MAX_LINE passes (as an unknown key), one more
	 * byte does not, and the message does not quote it */
	n = UAPI_GET_MAX_LINE + 64;
	big = malloc(n);
	if (!big)
		abort();
	memset(big, 'a', n);
	memcpy(big, "future=", 7);
	memcpy(big + UAPI_GET_MAX_LINE, "\nerrno=0\n\n", 10);
	CHECK_INT(uapi_parse_get(big, UAPI_GET_MAX_LINE + 10, &cfg, err, sizeof(err)), 0);
	uapi_config_free(&cfg);
	memcpy(big + UAPI_GET_MAX_LINE, "a\nerrno=0\n\n", 11);
	CHECK_INT(uapi_parse_get(big, UAPI_GET_MAX_LINE + 11, &cfg, err, sizeof(err)), -EPROTO);
	CHECK(strstr(err, "line 1: is longer than 4096 bytes") != NULL && !strstr(err, "aaaa"));
	free(big);
}

/* Appends public_key lines for n distinct peers. */
static void sb_peers(struct sb *sb, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_printf(sb, "public_key=%056x%08zx\n", 0, i);
}

static void test_parse_get_bounds(void)
{
	struct sb sb = { 0 };
	struct uapi_config cfg;
	char err[256];
	double t;

	/* exactly UAPI_GET_MAX_PEERS pass, quickly; one more does not */
	sb_peers(&sb, UAPI_GET_MAX_PEERS);
	sb_printf(&sb, "errno=0\n\n");
	t = now();
	CHECK_INT(uapi_parse_get(sb.p, sb.len, &cfg, err, sizeof(err)), 0);
	t = now() - t;
	CHECK_INT(cfg.n_peers, UAPI_GET_MAX_PEERS);
	if (t > 5.0) {
		test_failed_checks++;
		fprintf(stderr, "  %u peers took %.2f s\n", UAPI_GET_MAX_PEERS, t);
	}
	uapi_config_free(&cfg);
	sb.len -= strlen("errno=0\n\n");
	sb_printf(&sb, "public_key=%064x\nerrno=0\n\n", 0x7fffffff);
	CHECK_INT(uapi_parse_get(sb.p, sb.len, &cfg, err, sizeof(err)), -EMSGSIZE);
	CHECK(strstr(err, "more than 524288 peers") != NULL);
	CHECK(cfg.n_peers == 0 && cfg.peers == NULL);
	free(sb.p);

	/* allowed IPs, over all peers */
	memset(&sb, 0, sizeof(sb));
	sb_peers(&sb, 2);
	for (size_t i = 0; i < UAPI_GET_MAX_ALLOWED_IPS; i++)
		sb_printf(&sb, "allowed_ip=::\n");
	sb_printf(&sb, "errno=0\n\n");
	CHECK_INT(uapi_parse_get(sb.p, sb.len, &cfg, err, sizeof(err)), 0);
	CHECK(cfg.n_peers == 2 && cfg.peers[1].n_allowed_ips == UAPI_GET_MAX_ALLOWED_IPS);
	uapi_config_free(&cfg);
	sb.len -= strlen("errno=0\n\n");
	sb_printf(&sb, "allowed_ip=::\nerrno=0\n\n");
	CHECK_INT(uapi_parse_get(sb.p, sb.len, &cfg, err, sizeof(err)), -EMSGSIZE);
	CHECK(strstr(err, "more than 2097152 allowed IPs") != NULL);
	free(sb.p);

	/* the whole answer (not read: refused by its length) */
	{
		size_t n = (size_t)UAPI_GET_MAX_ANSWER + 1;
		char *big = malloc(n);

		if (!big)
			abort();
		memset(big, '\n', 16);
		CHECK_INT(uapi_parse_get(big, n, &cfg, err, sizeof(err)), -EMSGSIZE);
		CHECK(strstr(err, "more than 67108864") != NULL);
		free(big);
	}
}

/* A deterministic generator, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static void rnd_endpoint(union uapi_sockaddr *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (rnd() & 1) {
		sa->sin.sin_family = AF_INET;
		rnd_bytes((uint8_t *)&sa->sin.sin_addr, 4);
		sa->sin.sin_port = (uint16_t)rnd();
	} else {
		sa->sin6.sin6_family = AF_INET6;
		rnd_bytes(sa->sin6.sin6_addr.s6_addr, 16);
		sa->sin6.sin6_port = (uint16_t)rnd();
		/* a scope by number (no such interface) or lo, by name */
		if (rnd() % 4 == 0)
			sa->sin6.sin6_scope_id = rnd() & 1 ? 1 : 3000000000u + (uint32_t)(rnd() % 1000);
	}
}

static void rnd_allowed_ips(struct uapi_peer *p, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		uint8_t a[16] = { 0 };
		bool v4 = rnd() & 1;

		rnd_bytes(a, v4 ? 4 : 16);
		CHECK_INT(uapi_peer_add_allowed_ip(p, v4 ? AF_INET : AF_INET6, a,
						   (uint8_t)(rnd() % (v4 ? 33 : 129))), 0);
	}
}

/* A config as a get reports one (see uapi_parse_get). */
static void rnd_get_config(struct uapi_config *cfg)
{
	size_t n_peers = rnd() % 6;

	uapi_config_init(cfg);
	if (rnd() % 3) {
		cfg->has_private_key = true;
		rnd_bytes(cfg->private_key, UAPI_KEY_LEN);
		cfg->private_key[0] |= 1;	/* not zero */
	}
	cfg->has_listen_port = rnd() & 1;
	cfg->listen_port = cfg->has_listen_port ? (uint16_t)rnd() : 0;
	cfg->fwmark = rnd() & 1 ? (uint32_t)rnd() : 0;
	cfg->has_fwmark = cfg->fwmark != 0;
	for (size_t i = 0; i < n_peers; i++) {
		struct uapi_peer *p = uapi_config_add_peer(cfg);

		rnd_bytes(p->public_key, UAPI_KEY_LEN);
		p->public_key[0] = (uint8_t)i;	/* distinct */
		p->has_preshared_key = true;
		if (rnd() & 1)
			rnd_bytes(p->preshared_key, UAPI_KEY_LEN);
		if (rnd() % 3) {
			rnd_endpoint(&p->endpoint);
			p->has_endpoint = true;
		}
		p->has_persistent_keepalive = true;
		p->persistent_keepalive_interval = rnd() & 1 ? (uint16_t)rnd() : 0;
		p->last_handshake_time_sec = (int64_t)(rnd() >> 1);
		p->last_handshake_time_nsec = (int64_t)(rnd() % 1000000000);
		p->rx_bytes = rnd();
		p->tx_bytes = rnd() & 1 ? rnd() : 0;
		rnd_allowed_ips(p, rnd() % 5);
	}
}

static void test_parse_get_round_trip_random(void)
{
	for (int iter = 0; iter < 3000; iter++) {
		struct uapi_config cfg, back;
		char *out = NULL, *again = NULL, err[256];
		size_t len, len2;

		rnd_get_config(&cfg);
		CHECK_INT(uapi_format_get(&cfg, &out, &len), 0);
		if (!out)
			break;
		if (uapi_parse_get(out, len, &back, err, sizeof(err)) != 0) {
			test_failed_checks++;
			fprintf(stderr, "  iteration %d: %s in:\n%s", iter, err, out);
		} else if (!config_equal(&cfg, &back)) {
			test_failed_checks++;
			fprintf(stderr, "  iteration %d: not the same config from:\n%s", iter, out);
		} else {
			CHECK_INT(uapi_format_get(&back, &again, &len2), 0);
			CHECK(again && len2 == len && memcmp(again, out, len) == 0);
			free(again);
		}
		uapi_config_free(&back);
		uapi_config_free(&cfg);
		free(out);
		if (test_failed_checks)
			break;
	}
}

static void test_format_set(void)
{
	struct uapi_config cfg, back;
	struct uapi_peer *p;
	char *out = NULL, err[256];
	size_t len;
	uint8_t a[16] = { 192, 0, 2, 0 };

	/* nothing at all: still a request */
	uapi_config_init(&cfg);
	CHECK_INT(uapi_format_set(&cfg, &out, &len), 0);
	CHECK(out && len == 7 && strcmp(out, "set=1\n\n") == 0);
	free(out);

	cfg.has_private_key = true;	/* zeros: remove the key */
	cfg.has_fwmark = true;
	cfg.replace_peers = true;
	p = uapi_config_add_peer(&cfg);
	memcpy(p->public_key, key(PUB1), UAPI_KEY_LEN);
	p->update_only = true;
	p->has_preshared_key = true;
	memcpy(p->preshared_key, key(PSK1), UAPI_KEY_LEN);
	p->has_endpoint = true;
	CHECK_INT(uapi_parse_endpoint("[fe80::1%lo]:51820", &p->endpoint), 0);
	p->has_persistent_keepalive = true;
	p->replace_allowed_ips = true;
	CHECK_INT(uapi_peer_add_allowed_ip(p, AF_INET, a, 24), 0);
	p = uapi_config_add_peer(&cfg);
	memcpy(p->public_key, key(PUB2), UAPI_KEY_LEN);
	p->remove = true;
	p->has_persistent_keepalive = true;
	CHECK_INT(uapi_peer_add_allowed_ip(p, AF_INET, a, 24), 0);
	CHECK_INT(uapi_format_set(&cfg, &out, &len), 0);
	CHECK(out && strcmp(out, "set=1\nprivate_key=" ZERO_KEY "\nfwmark=0\nreplace_peers=true\n"
			    "public_key=" PUB1 "\nupdate_only=true\npreshared_key=" PSK1 "\n"
			    "endpoint=[fe80::1%lo]:51820\npersistent_keepalive_interval=0\n"
			    "replace_allowed_ips=true\nallowed_ip=192.0.2.0/24\n"
			    "public_key=" PUB2 "\nremove=true\n\n") == 0);
	CHECK(out && strlen(out) == len);
	/* and the daemon's parser reads it back */
	if (out) {
		CHECK_INT(uapi_parse_set(out + 6, len - 6, &back, err, sizeof(err)), 0);
		CHECK(back.has_private_key && crypto_key_zero(back.private_key));
		CHECK_INT(back.n_peers, 2);
		CHECK(back.n_peers == 2 && back.peers[0].update_only && back.peers[1].remove);
		uapi_config_free(&back);
	}
	free(out);

	/* a caller bug is refused, not silently dropped */
	cfg.peers[0].endpoint.sa.sa_family = AF_UNIX;
	out = (char *)"untouched";
	CHECK_INT(uapi_format_set(&cfg, &out, &len), -EINVAL);
	CHECK(out == NULL && len == 0);
	CHECK_INT(uapi_parse_endpoint("1.2.3.4:5", &cfg.peers[0].endpoint), 0);
	cfg.peers[0].allowed_ips[0].family = AF_UNIX;
	CHECK_INT(uapi_format_set(&cfg, &out, &len), -EINVAL);
	cfg.peers[0].allowed_ips[0].family = AF_INET;
	cfg.peers[0].allowed_ips[0].cidr = 33;
	CHECK_INT(uapi_format_set(&cfg, &out, &len), -EINVAL);
	uapi_config_free(&cfg);
}

/* A set request as uapi_parse_set would return it (see uapi_set.c). */
static void rnd_set_config(struct uapi_config *cfg)
{
	size_t n_peers = rnd() % 6;

	uapi_config_init(cfg);
	if ((cfg->has_private_key = rnd() & 1))
		rnd_bytes(cfg->private_key, UAPI_KEY_LEN);	/* zeros allowed */
	if ((cfg->has_listen_port = rnd() & 1))
		cfg->listen_port = (uint16_t)rnd();
	if ((cfg->has_fwmark = rnd() & 1))
		cfg->fwmark = rnd() & 1 ? (uint32_t)rnd() : 0;
	cfg->replace_peers = rnd() & 1;
	for (size_t i = 0; i < n_peers; i++) {
		struct uapi_peer *p = uapi_config_add_peer(cfg);

		rnd_bytes(p->public_key, UAPI_KEY_LEN);
		p->public_key[0] = (uint8_t)i;	/* distinct */
		if (rnd() % 5 == 0) {
			p->remove = true;	/* and nothing else */
			continue;
		}
		p->update_only = rnd() % 3 == 0;
		if ((p->has_preshared_key = rnd() & 1))
			rnd_bytes(p->preshared_key, UAPI_KEY_LEN);
		if ((p->has_endpoint = rnd() & 1))
			rnd_endpoint(&p->endpoint);
		if ((p->has_persistent_keepalive = rnd() & 1))
			p->persistent_keepalive_interval = (uint16_t)rnd();
		p->replace_allowed_ips = rnd() & 1;
		rnd_allowed_ips(p, rnd() % 5);
	}
}

static void test_format_set_round_trip_random(void)
{
	for (int iter = 0; iter < 3000; iter++) {
		struct uapi_config cfg, back;
		char *out = NULL, err[256];
		size_t len;

		rnd_set_config(&cfg);
		CHECK_INT(uapi_format_set(&cfg, &out, &len), 0);
		if (!out)
			break;
		CHECK(len >= 7 && !memcmp(out, "set=1\n", 6) && !memcmp(out + len - 2, "\n\n", 2));
		if (uapi_parse_set(out + 6, len - 6, &back, err, sizeof(err)) != 0) {
			test_failed_checks++;
			fprintf(stderr, "  iteration %d: %s in:\n%s", iter, err, out);
		} else if (!config_equal(&cfg, &back)) {
			test_failed_checks++;
			fprintf(stderr, "  iteration %d: not the same config from:\n%s", iter, out);
		}
		uapi_config_free(&back);
		uapi_config_free(&cfg);
		explicit_bzero(out, len);
		free(out);
		if (test_failed_checks)
			break;
	}
}

int main(void)
{
	RUN(test_setconf_realistic);
	RUN(test_minimal_and_empty);
	RUN(test_bad_values);
	RUN(test_protocol_errors);
	RUN(test_errors_never_echo_keys);
	RUN(test_error_quoting);
	RUN(test_remove_and_update_only);
	RUN(test_duplicate_public_key);
	RUN(test_many_peers);
	RUN(test_format_get_golden);
	RUN(test_round_trip);
	RUN(test_endpoints);
	RUN(test_parse_allowed_ip);
	RUN(test_builder_api);
	RUN(test_parse_get_golden);
	RUN(test_parse_get_lenient_where_wg_is);
	RUN(test_parse_get_refuses);
	RUN(test_parse_get_bounds);
	RUN(test_parse_get_round_trip_random);
	RUN(test_format_set);
	RUN(test_format_set_round_trip_random);
	TEST_EXIT();
}
