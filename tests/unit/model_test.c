/*
 * model_test.c - the records (src/control/model.c): JSON round trips in
 * the store form and the view form, and each validation error with its
 * message and field; names, prefixes, expiry times, endpoints, DNS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_internal.h"
#include "test.h"

#define K1 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define K3 "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="
#define K4 "BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ="

static const char server_json[] =
	"{\"private_key\":\"" K1 "\",\"listen_port\":51820,\"interface\":\"zwg0\","
	"\"ipv4\":\"10.13.13.1/24\",\"ipv6\":\"fd12:3456:789a::1/64\","
	"\"endpoint\":\"vpn.example.com:51820\",\"dns\":\"10.13.13.1\","
	"\"client_allowed_ips\":\"0.0.0.0/0, ::/0\",\"persistent_keepalive\":0,"
	"\"mtu\":1420,\"nat\":false,\"created\":1700000000}";

static const char peer_json[] =
	"{\"name\":\"phone\",\"public_key\":\"" K3 "\",\"preshared_key\":\"" K4 "\","
	"\"ipv4\":\"10.13.13.2\",\"ipv6\":\"fd12:3456:789a::2\",\"routes\":[\"192.168.1.0/24\"],"
	"\"persistent_keepalive\":0,\"enabled\":true,\"created\":1700000000,\"expires\":0}";

static void test_server_round_trip(void)
{
	struct server_record s, t;
	struct control_error e;
	char *buf, *buf2;
	size_t len, len2;
	char a[INET6_ADDRSTRLEN];

	CHECK_INT(model_server_decode((const uint8_t *)server_json, strlen(server_json), &s, &e), 0);
	CHECK_INT(s.listen_port, 51820);
	CHECK(strcmp(s.interface, "zwg0") == 0);
	CHECK_INT(s.ipv4_prefix, 24);
	CHECK_INT(s.ipv6_prefix, 64);
	inet_ntop(AF_INET6, &s.ipv6, a, sizeof(a));
	CHECK(strcmp(a, "fd12:3456:789a::1") == 0);
	CHECK(s.endpoint && strcmp(s.endpoint, "vpn.example.com:51820") == 0);
	CHECK_INT(s.private_key[0], 1);
	CHECK_INT(s.created, 1700000000);
	CHECK_INT(model_server_encode(&s, &buf, &len), 0);
	CHECK(strstr(buf, "\"private_key\":\"" K1 "\"") != NULL);
	CHECK_INT(model_server_decode((const uint8_t *)buf, len, &t, &e), 0);
	CHECK_INT(model_server_encode(&t, &buf2, &len2), 0);
	CHECK(len == len2 && memcmp(buf, buf2, len) == 0);
	model_buffer_free(buf, len);
	model_buffer_free(buf2, len2);
	model_server_free(&t);
	model_server_free(&s);
	/* free wiped it */
	CHECK(s.private_key[0] == 0 && s.endpoint == NULL);
}

static void test_peer_round_trip_and_view(void)
{
	struct peer_record p, q;
	struct control_error e;
	json_t *view;
	char *buf, *dump;
	size_t len;

	CHECK_INT(model_peer_decode((const uint8_t *)peer_json, strlen(peer_json), &p, &e), 0);
	CHECK(strcmp(p.name, "phone") == 0);
	CHECK(p.has_preshared_key && !p.has_private_key && p.has_ipv6 && p.enabled);
	CHECK_INT(p.n_routes, 1);
	CHECK_INT(model_peer_encode(&p, &buf, &len), 0);
	CHECK(strstr(buf, K4) != NULL);
	CHECK(strstr(buf, "private_key") == NULL);	/* none kept: none written */
	CHECK_INT(model_peer_decode((const uint8_t *)buf, len, &q, &e), 0);
	CHECK_MEM(q.preshared_key, p.preshared_key, 32);
	CHECK_INT(q.routes[0].len, 24);
	model_buffer_free(buf, len);

	/* the view: no preshared or private key, key_kept tells */
	p.has_private_key = true;
	memset(p.private_key, 9, 32);
	view = model_peer_to_json(&p, 0);
	dump = json_dumps(view, JSON_COMPACT);
	CHECK(strstr(dump, K4) == NULL);
	CHECK(strstr(dump, "preshared_key") == NULL);
	CHECK(strstr(dump, "private_key") == NULL);
	CHECK(strstr(dump, "\"key_kept\":true") != NULL);
	CHECK(strstr(dump, "\"public_key\":\"" K3 "\"") != NULL);
	free(dump);
	json_decref(view);
	model_peer_free(&q);
	model_peer_free(&p);
}

/* Decodes peer_json with one member replaced (or added), expects failure
 * with a message containing msg and the field. */
static void bad_peer(const char *member, const char *value, const char *msg, const char *field)
{
	json_error_t jerr;
	json_t *j = json_loads(peer_json, 0, &jerr);
	json_t *v = json_loads(value, JSON_DECODE_ANY, &jerr);
	struct peer_record p;
	struct control_error e;
	char *s;
	int ret;

	json_object_set_new(j, member, v);
	s = json_dumps(j, JSON_COMPACT);
	control_error_clear(&e);
	ret = model_peer_decode((const uint8_t *)s, strlen(s), &p, &e);
	CHECK_INT(ret, -EINVAL);
	if (!strstr(e.msg, msg) || strcmp(e.field, field) != 0) {
		fprintf(stderr, "  %s=%s: got \"%s\" (field %s)\n", member, value, e.msg, e.field);
		CHECK(!"message");
	}
	free(s);
	json_decref(j);
}

static void test_peer_errors(void)
{
	bad_peer("name", "\"bad name\"", "peer name \"bad name\" has the character ' '", "name");
	bad_peer("name", "\".hidden\"", "starts with '.'", "name");
	bad_peer("name", "\"\"", "the peer name is empty", "name");
	bad_peer("name", "3", "\"name\" must be a string", "name");
	bad_peer("public_key", "\"c2hvcnQ=\"", "peer \"phone\": \"public_key\" is not a base64 key",
		 "public_key");
	bad_peer("ipv4", "\"10.13.13.300\"", "ipv4 \"10.13.13.300\" is not an IPv4 address", "ipv4");
	bad_peer("ipv4", "\"10.13.13.2/24\"", "is not an IPv4 address", "ipv4");
	bad_peer("ipv6", "\"10.0.0.1\"", "is not an IPv6 address", "ipv6");
	bad_peer("routes", "[\"192.168.1.0/24\",\"10.0.0.0/33\"]",
		 "peer \"phone\": routes[1] \"10.0.0.0/33\" is not a prefix", "routes[1]");
	bad_peer("routes", "[\"192.168.1.7/24\"]",
		 "routes[0] \"192.168.1.7/24\" has host bits set (did you mean \"192.168.1.0/24\"?)",
		 "routes[0]");
	bad_peer("routes", "\"192.168.1.0/24\"", "\"routes\" must be a list", "routes");
	bad_peer("dns", "\"1.1.1.1, bad!name\"", "dns \"bad!name\" is not an address", "dns");
	bad_peer("allowed_ips", "\"0.0.0.0/0, ::/129\"",
		 "peer \"phone\": allowed_ips \"::/129\" is not a prefix", "allowed_ips");
	bad_peer("persistent_keepalive", "70000", "must be a whole number from 0 to 65535",
		 "persistent_keepalive");
	bad_peer("enabled", "\"yes\"", "\"enabled\" must be true or false", "enabled");
	bad_peer("expires", "-5", "\"expires\" must be a whole number", "expires");
}

static void test_peer_disabled_reason(void)
{
	const char *j = "{\"name\":\"x\",\"public_key\":\"" K3 "\",\"ipv4\":\"10.0.0.2\","
			"\"enabled\":false,\"disabled_reason\":\"stolen\"}";
	const char *ok = "{\"name\":\"x\",\"public_key\":\"" K3 "\",\"ipv4\":\"10.0.0.2\","
			 "\"enabled\":false}";
	struct peer_record p;
	struct control_error e;

	CHECK_INT(model_peer_decode((const uint8_t *)j, strlen(j), &p, &e), -EINVAL);
	CHECK(strstr(e.msg, "disabled_reason \"stolen\" is not manual, expired or revoked") != NULL);
	/* a disabled record without a reason reads as "manual" */
	CHECK_INT(model_peer_decode((const uint8_t *)ok, strlen(ok), &p, &e), 0);
	CHECK(strcmp(p.disabled_reason, "manual") == 0);
	CHECK(!p.has_ipv6 && !p.has_preshared_key);
	model_peer_free(&p);
}

static void bad_server(const char *member, const char *value, const char *msg, const char *field)
{
	json_error_t jerr;
	json_t *j = json_loads(server_json, 0, &jerr);
	struct server_record s;
	struct control_error e;
	char *t;

	if (value)
		json_object_set_new(j, member, json_loads(value, JSON_DECODE_ANY, &jerr));
	else
		json_object_del(j, member);
	t = json_dumps(j, JSON_COMPACT);
	control_error_clear(&e);
	CHECK_INT(model_server_decode((const uint8_t *)t, strlen(t), &s, &e), -EINVAL);
	if (!strstr(e.msg, msg) || strcmp(e.field, field) != 0) {
		fprintf(stderr, "  %s=%s: got \"%s\" (field %s)\n", member, value ? value : "(none)",
			e.msg, e.field);
		CHECK(!"message");
	}
	free(t);
	json_decref(j);
}

static void test_server_errors(void)
{
	bad_server("private_key", NULL, "server: \"private_key\" is missing", "private_key");
	bad_server("private_key", "\"" K1 "x\"", "\"private_key\" is not a base64 key", "private_key");
	bad_server("listen_port", "0", "\"listen_port\" must be a whole number from 1 to 65535",
		   "listen_port");
	bad_server("ipv4", "\"10.13.13.1\"", "ipv4 \"10.13.13.1\" has no prefix length", "ipv4");
	bad_server("ipv4", "\"10.13.13.1/31\"", "must have a prefix from /8 to /30", "ipv4");
	bad_server("ipv4", "\"10.13.13.0/24\"", "is the network or broadcast address", "ipv4");
	bad_server("ipv4", "\"10.13.13.255/24\"", "is the network or broadcast address", "ipv4");
	bad_server("ipv6", "\"fd00::1/127\"", "must have a prefix from /8 to /120", "ipv6");
	bad_server("interface", "\"wg 0\"", "interface \"wg 0\" is not an interface name",
		   "interface");
	bad_server("interface", "\"averyverylongname\"", "is longer than 15 characters", "interface");
	bad_server("endpoint", "\"vpn.example.com:99999\"",
		   "endpoint \"vpn.example.com:99999\" is not HOST or HOST:PORT", "endpoint");
	bad_server("client_allowed_ips", "\"0.0.0.0/0, 10.1.2.3/8\"",
		   "server: client_allowed_ips \"10.1.2.3/8\" has host bits set (did you mean "
		   "\"10.0.0.0/8\"?)", "client_allowed_ips");
	bad_server("mtu", "100", "server: mtu 100 is out of range", "mtu");
	bad_server("nat", "1", "\"nat\" must be true or false", "nat");
}

static void test_not_json(void)
{
	struct server_record s;
	struct peer_record p;
	struct control_error e;

	CHECK_INT(model_server_decode((const uint8_t *)"{\"private_", 10, &s, &e), -EINVAL);
	CHECK(strstr(e.msg, "server record is not valid JSON") != NULL);
	CHECK_INT(model_peer_decode((const uint8_t *)"[1,2]", 5, &p, &e), -EINVAL);
	CHECK(strstr(e.msg, "not a JSON object") != NULL);
	/* a duplicate member could hide a second value: refused */
	CHECK_INT(model_peer_decode((const uint8_t *)"{\"name\":\"a\",\"name\":\"b\"}", 23, &p, &e),
		  -EINVAL);
}

static void test_names(void)
{
	static const char *const good[] = { "a", "phone", "Laptop-2", "my_host.lan", "_x", "9" };
	static const char *const bad[] = { "", "-x", ".x", "a b", "a/b", "é", "peer\n" };
	char long_name[80];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(model_name_valid(good[i], NULL));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!model_name_valid(bad[i], NULL));
	memset(long_name, 'a', 63);
	long_name[63] = '\0';
	CHECK(model_name_valid(long_name, NULL));
	long_name[63] = 'a';
	long_name[64] = '\0';
	CHECK(!model_name_valid(long_name, NULL));
}

static void test_prefixes(void)
{
	struct ip_prefix p, q, *list = NULL;
	struct control_error e;
	char b[MODEL_PREFIX_STRLEN], *s;
	size_t n = 0;

	CHECK_INT(model_parse_prefix("10.0.0.1", &p, false), 0);
	CHECK_INT(p.len, 32);
	CHECK_INT(model_parse_prefix("10.0.0.1/24", &p, false), -EDOM);
	CHECK_INT(model_parse_prefix("10.0.0.1/24", &p, true), 0);
	model_prefix_mask(&p);
	model_format_prefix(&p, b, sizeof(b));
	CHECK(strcmp(b, "10.0.0.0/24") == 0);
	CHECK_INT(model_parse_prefix("10.0.0.0/024", &p, false), -EINVAL);
	CHECK_INT(model_parse_prefix("10.0.0.0/", &p, false), -EINVAL);
	CHECK_INT(model_parse_prefix("/8", &p, false), -EINVAL);
	CHECK_INT(model_parse_prefix("fd00::/64", &p, false), 0);
	CHECK_INT(model_parse_prefix("fd00::/129", &p, false), -EINVAL);
	CHECK_INT(model_parse_prefix("fd00::1/64 ", &p, true), -EINVAL);
	CHECK_INT(model_parse_prefix("0.0.0.0/0", &q, false), 0);
	CHECK(model_prefix_contains(&q, &(struct ip_prefix){ .family = AF_INET, .len = 32 }));
	CHECK(!model_prefix_contains(&q, &p));	/* families differ */
	CHECK_INT(model_parse_prefix_list(" 10.0.0.0/8,fd00::/8 ,, 192.168.0.0/16", NULL, "x",
					  false, &list, &n, &e), 0);
	CHECK_INT(n, 3);
	s = model_format_prefix_list(list, n);
	CHECK(strcmp(s, "10.0.0.0/8, fd00::/8, 192.168.0.0/16") == 0);
	free(s);
	CHECK_INT(model_parse_prefix_list(" , ", NULL, "ALLOWEDIPS", false, &list, &n, &e), -EINVAL);
	CHECK(strstr(e.msg, "ALLOWEDIPS is empty") != NULL);
	CHECK_INT(n, 3);	/* a failed parse appends nothing */
	free(list);
}

static void test_expires(void)
{
	const int64_t now = 1700000000;	/* 2023-11-14T22:13:20Z */
	int64_t t;
	struct control_error e;

	CHECK_INT(model_parse_expires("never", now, &t, &e), 0);
	CHECK_INT(t, 0);
	CHECK_INT(model_parse_expires("30d", now, &t, &e), 0);
	CHECK_INT(t, now + 30 * 86400);
	CHECK_INT(model_parse_expires("12h", now, &t, &e), 0);
	CHECK_INT(t, now + 12 * 3600);
	CHECK_INT(model_parse_expires("2w", now, &t, &e), 0);
	CHECK_INT(t, now + 14 * 86400);
	CHECK_INT(model_parse_expires("90m", now, &t, &e), 0);
	CHECK_INT(t, now + 5400);
	CHECK_INT(model_parse_expires("2025-12-31", now, &t, &e), 0);
	CHECK_INT(t, 1767139200);
	CHECK_INT(model_parse_expires("2025-12-31T18:00:00Z", now, &t, &e), 0);
	CHECK_INT(t, 1767139200 + 18 * 3600);
	CHECK_INT(model_parse_expires("2025-12-31 18:00", now, &t, &e), 0);
	CHECK_INT(t, 1767139200 + 18 * 3600);
	CHECK_INT(model_parse_expires("1800000000", now, &t, &e), 0);
	CHECK_INT(t, 1800000000);
	CHECK_INT(model_parse_expires("2020-01-01", now, &t, &e), -EINVAL);
	CHECK(strstr(e.msg, "expires \"2020-01-01\" is in the past") != NULL);
	CHECK(strcmp(e.field, "expires") == 0);
	CHECK_INT(model_parse_expires("2025-02-30", now, &t, &e), -EINVAL);
	CHECK(strstr(e.msg, "is not a time") != NULL);
	CHECK_INT(model_parse_expires("tomorrow", now, &t, &e), -EINVAL);
	CHECK_INT(model_parse_expires("0d", now, &t, &e), -EINVAL);
	CHECK_INT(model_parse_expires("99999999999d", now, &t, &e), -EINVAL);
	CHECK_INT(model_parse_expires("5x", now, &t, &e), -EINVAL);
}

static void test_endpoint_dns(void)
{
	static const char *const good[] = { "vpn.example.com", "vpn.example.com:51820",
		"203.0.113.7", "203.0.113.7:1", "[2001:db8::7]:51820", "[2001:db8::7]",
		"2001:db8::7", "my_host" };
	static const char *const bad[] = { "", "vpn.example.com:0", "vpn.example.com:65536",
		"host:", "[2001:db8::7]x", "[zz::1]:5", "a..b", "x y", "host:12:34:zz",
		"-:-" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(model_endpoint_valid(good[i], NULL));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (model_endpoint_valid(bad[i], NULL)) {
			fprintf(stderr, "  accepted endpoint \"%s\"\n", bad[i]);
			CHECK(!"endpoint");
		}
	CHECK(model_dns_valid("1.1.1.1, 2606:4700:4700::1111 home.lan", "dns", NULL));
	CHECK(!model_dns_valid("1.1.1.300", "dns", NULL));
	CHECK(!model_dns_valid("", "dns", NULL));
}

/* Whatever reaches a client config on one line (DNS, AllowedIPs, the
 * endpoint) holds no control character: a newline there would start a
 * line of the attacker's choosing.  The message shows the input escaped. */
static void test_one_line_values(void)
{
	static const char *const bad_dns[] = {
		"1.1.1.1\nPostUp = rm -rf /", "1.1.1.1\nexample.com", "1.1.1.1\r\n[Peer]",
		"1.1.1.1,\t8.8.8.8", "1.1.1.1\x1b[2J", "home.lan\x7f", "\n1.1.1.1",
	};
	static const char *const bad_endpoint[] = {
		"vpn.example.com\r", "vpn.example.com:51820\n", "203.0.113.7\n[Peer]",
		"[2001:db8::7]:51820\r\nPostUp = x", "\tvpn.example.com",
	};
	struct control_error e;
	size_t i;

	for (i = 0; i < sizeof(bad_dns) / sizeof(bad_dns[0]); i++) {
		control_error_clear(&e);
		if (model_dns_valid(bad_dns[i], "dns", &e)) {
			fprintf(stderr, "  accepted dns with a control character (#%zu)\n", i);
			CHECK(!"dns");
		}
		CHECK(!strcmp(e.field, "dns") && strstr(e.msg, "control character"));
		/* Nothing unprintable in the message itself. */
		for (const char *p = e.msg; *p; p++)
			CHECK(*p >= 0x20 && *p < 0x7f);
	}
	for (i = 0; i < sizeof(bad_endpoint) / sizeof(bad_endpoint[0]); i++) {
		control_error_clear(&e);
		if (model_endpoint_valid(bad_endpoint[i], &e)) {
			fprintf(stderr, "  accepted endpoint with a control character (#%zu)\n", i);
			CHECK(!"endpoint");
		}
		CHECK(!strcmp(e.field, "endpoint"));
		for (const char *p = e.msg; *p; p++)
			CHECK(*p >= 0x20 && *p < 0x7f);
	}

	/* The bad input, quoted exactly, escaped as C writes it. */
	control_error_clear(&e);
	CHECK(!model_dns_valid("1.1.1.1\nPostUp = rm -rf /", "dns", &e));
	CHECK(strstr(e.msg, "dns \"1.1.1.1\\nPostUp = rm -rf /\" has a control character "
			    "(a newline)") != NULL);
	control_error_clear(&e);
	CHECK(!model_endpoint_valid("vpn.example.com\r", &e));
	CHECK(strstr(e.msg, "endpoint \"vpn.example.com\\r\" has a control character "
			    "(a carriage return)") != NULL);
	control_error_clear(&e);
	CHECK(!model_name_valid("a\x1b[2J", &e));
	CHECK(strstr(e.msg, "peer name \"a\\x1b[2J\"") != NULL);

	/* A peer's client AllowedIPs and the server's, through the record. */
	control_error_clear(&e);
	CHECK_INT(model_peer_allowed_ips_check("phone", "0.0.0.0/0\n::/0", &e), -EINVAL);
	CHECK(!strcmp(e.field, "allowed_ips") && strstr(e.msg, "peer \"phone\": allowed_ips "
							  "\"0.0.0.0/0\\n::/0\""));
	CHECK_INT(model_peer_allowed_ips_check("phone", "0.0.0.0/0, ::/0", &e), 0);
	bad_peer("dns", "\"10.13.13.1\\nPostUp = rm -rf /\"", "has a control character", "dns");
	bad_peer("allowed_ips", "\"10.0.0.0/8\\r\\n[Peer]\"", "has a control character",
		 "allowed_ips");
	bad_server("dns", "\"10.13.13.1\\n[Peer]\"", "has a control character", "dns");
	bad_server("endpoint", "\"vpn.example.com\\r\"", "endpoint \"vpn.example.com\\r\"",
		   "endpoint");
	bad_server("client_allowed_ips", "\"0.0.0.0/0\\n::/0\"", "has a control character",
		   "client_allowed_ips");

	/* Separators that stay on the line still work. */
	CHECK(model_dns_valid("1.1.1.1, 8.8.8.8 home.lan", "dns", NULL));
	CHECK(model_endpoint_valid("vpn.example.com:51820", NULL));
}

/* model_quote keeps within its buffer however much it escapes. */
static void test_quote_bounds(void)
{
	char in[200], small[16];
	struct control_error e;

	memset(in, '\n', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	control_error_clear(&e);
	CHECK(!model_dns_valid(in, "dns", &e));
	CHECK(strstr(e.msg, "\\n\\n") && strstr(e.msg, "...\""));
	CHECK(strlen(e.msg) < sizeof(e.msg));
	CHECK(!strcmp(model_quote("abc", small, sizeof(small)), "abc"));
	model_quote("\x01\x02\x03\x04\x05", small, sizeof(small));
	CHECK(strlen(small) < sizeof(small) && !strncmp(small, "\\x01\\x02", 8));
	CHECK(!strcmp(model_quote("\"q\"", small, sizeof(small)), "\\\"q\\\""));
}

static void test_copy(void)
{
	struct peer_record p, c;
	struct control_error e;

	CHECK_INT(model_peer_decode((const uint8_t *)peer_json, strlen(peer_json), &p, &e), 0);
	p.has_private_key = true;
	memset(p.private_key, 5, 32);
	CHECK_INT(model_peer_copy(&c, &p, false), 0);
	CHECK(!c.has_private_key && !c.has_preshared_key);
	CHECK(c.private_key[0] == 0 && c.preshared_key[0] == 0);
	CHECK(c.routes != p.routes && c.n_routes == 1);
	model_peer_free(&c);
	CHECK_INT(model_peer_copy(&c, &p, true), 0);
	CHECK_MEM(c.private_key, p.private_key, 32);
	model_peer_free(&c);
	model_peer_free(&p);
}

int main(void)
{
	model_json_wipe_on_free();
	RUN(test_server_round_trip);
	RUN(test_peer_round_trip_and_view);
	RUN(test_peer_errors);
	RUN(test_peer_disabled_reason);
	RUN(test_server_errors);
	RUN(test_not_json);
	RUN(test_names);
	RUN(test_prefixes);
	RUN(test_expires);
	RUN(test_endpoint_dns);
	RUN(test_one_line_values);
	RUN(test_quote_bounds);
	RUN(test_copy);
	TEST_EXIT();
}
