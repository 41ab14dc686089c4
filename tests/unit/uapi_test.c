/*
 * uapi_test.c - tests for uapi.c: a set body as `wg setconf` sends it,
 * every bad value and misplaced key, the sequential semantics of repeated
 * public keys, a large request, the get answer byte for byte, and the
 * round trip get -> set.
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
	TEST_EXIT();
}
