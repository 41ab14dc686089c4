/*
 * firewall_test.c - the per-client firewall: the rules' parser
 * (src/control/firewall_rule.c), the peer record's "firewall" field
 * (model_json.c), the spec and the nft ruleset (src/server/firewall.c),
 * the FW_* messages of the privileged part (priv_msg.c) and their session
 * (priv.c) driven through the real client (priv_firewall_set) against fake
 * ops.  The ruleset is checked as text here; tests/netns/firewall_test.sh
 * checks that nftables enforces it.
 */
#include "test.h"
#include "errbuf.h"
#include "firewall.h"
#include "firewall_rule.h"
#include "model.h"
#include "priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bool contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

/* ------------------------------------------------------------- rules -- */

/* text parses, and formats as canon (which parses back to the same). */
static void expect_rule(const char *text, const char *canon, int line)
{
	struct firewall_rule r, back;
	struct control_error e;
	char out[FIREWALL_RULE_STRLEN] = "";

	control_error_clear(&e);
	if (firewall_rule_parse(text, "allow", &r, &e) < 0) {
		test_failed_checks++;
		fprintf(stderr, "  line %d: \"%s\" refused: %s\n", line, text, e.msg);
		return;
	}
	firewall_rule_format(&r, out, sizeof(out));
	if (strcmp(out, canon) || firewall_rule_parse(out, "allow", &back, &e) < 0 ||
	    !firewall_rule_equal(&r, &back) || !firewall_rule_valid(&r)) {
		test_failed_checks++;
		fprintf(stderr, "  line %d: \"%s\" formats as \"%s\", not \"%s\"\n", line, text,
			out, canon);
	}
}
#define GOOD(text, canon) expect_rule(text, canon, __LINE__)

/* text is refused, with a message quoting it (unless it is too long to
 * quote) and containing hint, and field "allow". */
static void expect_refused(const char *text, const char *hint, int line)
{
	struct firewall_rule r;
	struct control_error e;

	control_error_clear(&e);
	if (firewall_rule_parse(text, "allow", &r, &e) != -EINVAL || strcmp(e.field, "allow") ||
	    (strlen(text) <= FIREWALL_RULE_TEXT_MAX && text[0] && !strchr(text, '\n') &&
	     !contains(e.msg, text)) ||
	    !contains(e.msg, hint) || !contains(e.msg, "PREFIX[:PORT[-PORT]]")) {
		test_failed_checks++;
		fprintf(stderr, "  line %d: \"%s\" not refused properly: [%s] %s\n", line, text,
			e.field, e.msg);
	}
}
#define BAD(text, hint) expect_refused(text, hint, __LINE__)

static void test_rule_parse(void)
{
	GOOD("10.0.0.0/8", "10.0.0.0/8");
	GOOD("192.168.1.10", "192.168.1.10");
	GOOD("192.168.1.10/32", "192.168.1.10");
	GOOD("192.168.1.10:443/tcp", "192.168.1.10:443/tcp");
	GOOD("10.0.0.0/8:443/tcp", "10.0.0.0/8:443/tcp");	/* the UI's placeholder */
	GOOD("10.0.0.0/8:1000-2000", "10.0.0.0/8:1000-2000");
	GOOD("10.0.0.0/8:53-53/udp", "10.0.0.0/8:53/udp");
	GOOD("10.1.0.0/16/udp", "10.1.0.0/16/udp");
	GOOD("0.0.0.0/0", "0.0.0.0/0");
	GOOD("fd00::/8", "fd00::/8");
	GOOD("fd00::1", "fd00::1");
	GOOD("[fd00::/8]:53/udp", "[fd00::/8]:53/udp");
	GOOD("[fd00::1]:443/tcp", "[fd00::1]:443/tcp");
	GOOD("[fd00::1/128]:1-65535", "[fd00::1]:1-65535");
	GOOD("[fd00::]", "fd00::");
	GOOD("fd00::/8/tcp", "fd00::/8/tcp");
	GOOD("::/0", "::/0");

	BAD("", "empty");
	BAD("10.0.0.300", "is not an address or prefix");
	BAD("10.0.0.0/33", "is not an address or prefix");
	BAD("10.0.0.1/8", "did you mean 10.0.0.0/8");
	BAD("[fd00::1/8]:53", "did you mean fd00::/8");
	BAD("10.0.0.1:0", "is not a port");
	BAD("10.0.0.1:65536", "is not a port");
	BAD("10.0.0.1:2000-1000", "is not a port");
	BAD("10.0.0.1:", "is not a port");
	BAD("10.0.0.1:-5", "is not a port");
	BAD("10.0.0.1:5-", "is not a port");
	BAD("10.0.0.1:053", "is not a port");
	BAD("10.0.0.1:443/icmp", "is not a port");
	BAD("10.0.0.1:443/TCP", "is not a port");
	BAD("10.0.0.1/tcp/udp", "is not an address");
	BAD("[10.0.0.1]:443", "brackets are for IPv6");
	BAD("[fd00::1:443", "without ']'");
	BAD("[fd00::1]443", "after ']'");
	BAD("fd00::1:443/tcp:x", "is not an address");
	BAD(" 10.0.0.1", "is not an address");
	BAD("10.0.0.1 ", "is not an address");
	BAD("10.0.0.1\n", "is not an address");
	BAD("example.com:443", "is not an address");
	BAD("/tcp", "is not an address");
	/* far too long: not quoted (a key pasted in the wrong place) */
	BAD("10.0.0.0/8:1000-2000/tcp10.0.0.0/8:1000-2000/tcp10.0.0.0/8:1000-2000/tcp10.0.0.0/8:1",
	    "longer than");
	{
		struct firewall_rule r;
		struct control_error e;

		control_error_clear(&e);
		CHECK(firewall_rule_parse("mK3HUaYbd6Ps1ZqNQRmfV4xX9cQEo2Pn3ivq3W1o5m8=:1", "allow",
					  &r, &e) == -EINVAL);
		CHECK(!contains(e.msg, "mK3HUaYbd6Ps1ZqNQRmfV4xX9cQEo2Pn3ivq3W1o5m8"));
	}
}

static void test_rules_list(void)
{
	const char *texts[FIREWALL_MAX_RULES + 1];
	char buf[FIREWALL_MAX_RULES + 1][32];
	struct firewall_rule *rules = NULL;
	struct control_error e;

	for (int i = 0; i <= FIREWALL_MAX_RULES; i++) {
		snprintf(buf[i], sizeof(buf[i]), "10.0.%d.0/24:%d/tcp", i, 100 + i);
		texts[i] = buf[i];
	}
	control_error_clear(&e);
	CHECK_INT(firewall_rules_parse(texts, FIREWALL_MAX_RULES, "peer \"x\"", &rules, &e), 0);
	CHECK(rules != NULL);
	CHECK_INT(rules[63].port_lo, 163);
	free(rules);
	CHECK_INT(firewall_rules_parse(texts, FIREWALL_MAX_RULES + 1, "peer \"x\"", &rules, &e),
		  -EINVAL);
	CHECK(rules == NULL && contains(e.msg, "65 firewall rules are more than 64") &&
	      !strcmp(e.field, "allow"));
	/* empty: restricted to nothing */
	CHECK_INT(firewall_rules_parse(texts, 0, NULL, &rules, &e), 0);
	CHECK(rules == NULL);
	/* repeats, also in another spelling */
	texts[1] = "10.0.0.0/24:100-100/tcp";
	CHECK_INT(firewall_rules_parse(texts, 3, NULL, &rules, &e), -EINVAL);
	CHECK(contains(e.msg, "given twice (rules 1 and 2)") && rules == NULL);
	/* the bad one is named with the owner */
	texts[1] = "10.0.0.0/24:100/sctp";
	CHECK_INT(firewall_rules_parse(texts, 3, "peer \"x\"", &rules, &e), -EINVAL);
	CHECK(contains(e.msg, "peer \"x\": allow \"10.0.0.0/24:100/sctp\" is not a firewall rule"));
}

static void test_rules_json(void)
{
	struct firewall_rule *rules = NULL;
	struct control_error e;
	json_error_t jerr;
	bool set = true;
	size_t n = 7;
	json_t *j, *back;
	char *text;

	CHECK_INT(firewall_rules_from_json(NULL, NULL, &set, &rules, &n, &e), 0);
	CHECK(!set && !n && !rules);
	j = json_null();
	set = true;
	CHECK_INT(firewall_rules_from_json(j, NULL, &set, &rules, &n, &e), 0);
	CHECK(!set);
	json_decref(j);
	j = json_loads("{\"allow\":[]}", 0, &jerr);
	CHECK_INT(firewall_rules_from_json(j, NULL, &set, &rules, &n, &e), 0);
	CHECK(set && n == 0 && !rules);
	json_decref(j);
	j = json_loads("{\"allow\":[\"10.0.0.0/8\",\"[fd00::1]:443/tcp\"]}", 0, &jerr);
	CHECK_INT(firewall_rules_from_json(j, NULL, &set, &rules, &n, &e), 0);
	CHECK(set && n == 2);
	back = firewall_rules_to_json(set, rules, n);
	text = json_dumps(back, JSON_COMPACT);
	CHECK(text && !strcmp(text, "{\"allow\":[\"10.0.0.0/8\",\"[fd00::1]:443/tcp\"]}"));
	free(text);
	json_decref(back);
	json_decref(j);
	free(rules);
	back = firewall_rules_to_json(false, NULL, 0);
	CHECK(json_is_null(back));
	json_decref(back);

	static const char *const bad[] = {
		"[\"10.0.0.0/8\"]", "{}", "{\"allow\":\"10.0.0.0/8\"}", "{\"allow\":[1]}",
		"{\"allow\":[],\"deny\":[]}", "{\"allow\":[\"10.0.0.1/8\"]}", "\"x\"", "true",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_loads(bad[i], JSON_DECODE_ANY, &jerr);
		control_error_clear(&e);
		CHECK(j != NULL);
		CHECK_INT(firewall_rules_from_json(j, "peer \"p\"", &set, &rules, &n, &e), -EINVAL);
		CHECK(e.msg[0] && e.field[0] && !set && !rules && !n);
		json_decref(j);
	}
}

/* The peer record keeps it through JSON, copies and validation. */
static void test_peer_record(void)
{
	static const char *rec =
		"{\"name\":\"phone\",\"public_key\":\"mK3HUaYbd6Ps1ZqNQRmfV4xX9cQEo2Pn3ivq3W1o5m8=\","
		"\"ipv4\":\"10.13.13.2\",\"ipv6\":\"fd12::2\",\"enabled\":true,\"created\":1,"
		"\"firewall\":{\"allow\":[\"192.168.1.0/24\",\"10.0.0.5:443/tcp\"]}}";
	struct peer_record p, q;
	struct control_error e;
	json_error_t jerr;
	json_t *j = json_loads(rec, 0, &jerr), *v;
	char *text;

	control_error_clear(&e);
	CHECK(j != NULL);
	CHECK_INT(model_peer_from_json(j, &p, &e), 0);
	json_decref(j);
	CHECK(p.has_firewall && p.n_firewall == 2 && p.firewall[1].port_lo == 443);
	CHECK_INT(model_peer_copy(&q, &p, false), 0);
	CHECK(q.has_firewall && q.n_firewall == 2 && q.firewall != p.firewall &&
	      firewall_rule_equal(&q.firewall[0], &p.firewall[0]));
	CHECK(model_peer_validate(&q, &e));
	v = model_peer_to_json(&q, 0);
	text = json_dumps(json_object_get(v, "firewall"), JSON_COMPACT);
	CHECK(text && !strcmp(text, "{\"allow\":[\"192.168.1.0/24\",\"10.0.0.5:443/tcp\"]}"));
	free(text);
	json_decref(v);
	/* a bad rule in the store is refused with the peer named */
	q.firewall[0].dst.len = 8;	/* 192.168.1.0/8: host bits */
	CHECK(!model_peer_validate(&q, &e));
	CHECK(contains(e.msg, "peer \"phone\"") && !strcmp(e.field, "firewall"));
	model_peer_free(&q);
	/* unset: null in the view */
	free(p.firewall);
	p.firewall = NULL;
	p.n_firewall = 0;
	p.has_firewall = false;
	v = model_peer_to_json(&p, 0);
	CHECK(json_is_null(json_object_get(v, "firewall")));
	json_decref(v);
	model_peer_free(&p);
	/* a record with a bad rule does not load */
	j = json_loads("{\"name\":\"phone\",\"public_key\":\"mK3HUaYbd6Ps1ZqNQRmfV4xX9cQEo2Pn3ivq3W1o5m8=\","
		       "\"ipv4\":\"10.13.13.2\",\"firewall\":{\"allow\":[\"10.0.0.0/8:0\"]}}", 0, &jerr);
	CHECK_INT(model_peer_from_json(j, &p, &e), -EINVAL);
	CHECK(contains(e.msg, "peer \"phone\": allow \"10.0.0.0/8:0\""));
	json_decref(j);
	model_peer_free(&p);
}

/* -------------------------------------------------------- spec, nft -- */

static struct netlink_prefix pfx(const char *text)
{
	struct netlink_prefix p;

	if (!netlink_prefix_parse(&p, text))
		abort();
	return p;
}

static struct firewall_allow allow(const char *dst, uint16_t lo, uint16_t hi, uint8_t proto)
{
	struct firewall_allow a = { .dst = pfx(dst), .port_lo = lo, .port_hi = hi, .proto = proto };

	return a;
}

static void test_spec_bounds(void)
{
	struct firewall_spec s = { 0 }, t = { 0 };
	struct netlink_prefix p = pfx("10.0.0.1/32"), bad = pfx("10.0.0.1/8");
	struct firewall_allow a = allow("10.0.0.0/8", 0, 0, 0);

	CHECK_INT(firewall_spec_add_source(&s, &p), -EBADF);
	CHECK_INT(firewall_spec_add_allow(&s, &a), -EBADF);
	CHECK_INT(firewall_spec_add_peer(&s), 0);
	CHECK_INT(firewall_spec_add_source(&s, &bad), -EINVAL);
	for (int i = 0; i < FIREWALL_MAX_SOURCES; i++)
		CHECK_INT(firewall_spec_add_source(&s, &p), 0);
	CHECK_INT(firewall_spec_add_source(&s, &p), -ENOSPC);
	for (int i = 0; i < FIREWALL_MAX_ALLOWS; i++)
		CHECK_INT(firewall_spec_add_allow(&s, &a), 0);
	CHECK_INT(firewall_spec_add_allow(&s, &a), -ENOSPC);
	a = allow("10.0.0.0/8", 5, 4, 0);
	CHECK_INT(firewall_spec_add_peer(&s), 0);
	CHECK_INT(firewall_spec_add_allow(&s, &a), -EINVAL);
	a = allow("10.0.0.0/8", 0, 4, 0);
	CHECK_INT(firewall_spec_add_allow(&s, &a), -EINVAL);
	a = allow("10.0.0.0/8", 1, 4, 1);	/* ICMP: not a rule's protocol */
	CHECK_INT(firewall_spec_add_allow(&s, &a), -EINVAL);
	CHECK(!firewall_spec_equal(&s, &t));
	firewall_spec_clear(&s);
	CHECK(firewall_spec_equal(&s, &t));
	for (int i = 0; i < FIREWALL_MAX_PEERS; i++)
		if (firewall_spec_add_peer(&s))
			break;
	CHECK_INT(s.n_peers, FIREWALL_MAX_PEERS);
	CHECK_INT(firewall_spec_add_peer(&s), -ENOSPC);
	firewall_spec_clear(&s);
}

static void test_spec_from_peers(void)
{
	struct peer_record peers[3];
	struct firewall_rule r;
	struct control_error e;
	struct firewall_spec s = { 0 };
	char text[64];

	memset(peers, 0, sizeof(peers));
	for (int i = 0; i < 3; i++) {
		inet_pton(AF_INET, i == 0 ? "10.13.13.2" : i == 1 ? "10.13.13.3" : "10.13.13.4",
			  &peers[i].ipv4);
		peers[i].has_ipv6 = true;
		inet_pton(AF_INET6, "fd12::3", &peers[i].ipv6);
	}
	/* peers[0]: unrestricted; [1]: one rule and a route; [2]: nothing */
	CHECK_INT(firewall_rule_parse("[fd00::/8]:53/udp", NULL, &r, &e), 0);
	peers[1].has_firewall = true;
	peers[1].firewall = &r;
	peers[1].n_firewall = 1;
	peers[1].routes = calloc(1, sizeof(*peers[1].routes));
	CHECK_INT(model_parse_prefix("192.168.7.0/24", &peers[1].routes[0], false), 0);
	peers[1].n_routes = 1;
	peers[2].has_firewall = true;
	peers[2].has_ipv6 = false;
	CHECK_INT(firewall_spec_from_peers(&s, peers, 3), 0);
	CHECK_INT(s.n_peers, 2);
	CHECK_INT(s.peers[0].n_src, 3);
	CHECK_INT(s.peers[0].n_allow, 1);
	CHECK_INT(s.peers[1].n_src, 1);
	CHECK_INT(s.peers[1].n_allow, 0);
	netlink_prefix_format(&s.src[s.peers[0].first_src + 2], text, sizeof(text));
	CHECK(!strcmp(text, "192.168.7.0/24"));
	netlink_prefix_format(&s.allow[0].dst, text, sizeof(text));
	CHECK(!strcmp(text, "fd00::/8") && s.allow[0].port_lo == 53 &&
	      s.allow[0].proto == IPPROTO_UDP);
	firewall_spec_clear(&s);
	free(peers[1].routes);
}

/* Index of needle in hay, or -1. */
static long at(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	return p ? p - hay : -1;
}

static void test_ruleset(void)
{
	struct firewall_spec s = { 0 };
	struct netlink_prefix a = pfx("10.13.13.2/32"), b = pfx("10.9.0.0/16"),
			      c = pfx("10.9.1.0/24"), d = pfx("fd12::2/128");
	struct firewall_allow x1 = allow("192.168.1.10/32", 443, 443, IPPROTO_TCP),
			      x2 = allow("10.0.0.0/8", 0, 0, 0),
			      x3 = allow("fd00::/8", 1000, 2000, 0),
			      x4 = allow("10.1.0.0/16", 0, 0, IPPROTO_UDP);
	char *out = NULL;

	CHECK_INT(firewall_ruleset(&out, "zwg0", &s), 0);
	CHECK(out && !strcmp(out, "add table inet zerowg_fw_zwg0\ndelete table inet zerowg_fw_zwg0\n"));
	free(out);
	/* peer0: a, b (a wide route), x1, x2, x3; peer1: c (inside b), d, x4 */
	CHECK_INT(firewall_spec_add_peer(&s), 0);
	CHECK_INT(firewall_spec_add_source(&s, &a), 0);
	CHECK_INT(firewall_spec_add_source(&s, &b), 0);
	CHECK_INT(firewall_spec_add_allow(&s, &x1), 0);
	CHECK_INT(firewall_spec_add_allow(&s, &x2), 0);
	CHECK_INT(firewall_spec_add_allow(&s, &x3), 0);
	CHECK_INT(firewall_spec_add_peer(&s), 0);
	CHECK_INT(firewall_spec_add_source(&s, &c), 0);
	CHECK_INT(firewall_spec_add_source(&s, &d), 0);
	CHECK_INT(firewall_spec_add_allow(&s, &x4), 0);
	CHECK_INT(firewall_spec_add_peer(&s), 0);	/* no source: matches nothing */
	CHECK_INT(firewall_ruleset(&out, "zwg0", &s), 0);
	CHECK(out != NULL);
	if (!out)
		return;
	CHECK(at(out, "add table inet zerowg_fw_zwg0\ndelete table inet zerowg_fw_zwg0\n"
		 "table inet zerowg_fw_zwg0 {\n") == 0);
	CHECK(contains(out, "\t\tip daddr 192.168.1.10/32 tcp dport 443 accept\n"));
	CHECK(contains(out, "\t\tip daddr 10.0.0.0/8 accept\n"));
	CHECK(contains(out, "\t\tip6 daddr fd00::/8 meta l4proto { tcp, udp } th dport 1000-2000 accept\n"));
	CHECK(contains(out, "\t\tip daddr 10.1.0.0/16 meta l4proto udp accept\n"));
	CHECK(contains(out, "ct direction reply accept\n\t\tct state related accept\n"));
	CHECK(contains(out, "meta l4proto tcp reject with tcp reset\n"
		       "\t\treject with icmpx admin-prohibited\n"));
	CHECK(contains(out, "type filter hook forward priority filter - 10; policy accept;"));
	CHECK(contains(out, "type filter hook input priority filter - 10; policy accept;"));
	CHECK(contains(out, "iifname \"zwg0\" udp dport 53 accept"));
	CHECK(contains(out, "iifname \"zwg0\" icmp type echo-request accept"));
	CHECK(!contains(out, "policy drop"));
	/* longest source first: c (/24) before b (/16), hosts before both */
	{
		const char *fwd = strstr(out, "chain forward");
		long pa, pb, pc, pd;

		CHECK(fwd != NULL);
		if (fwd) {
			pa = at(fwd, "ip saddr 10.13.13.2/32 jump peer0");
			pb = at(fwd, "ip saddr 10.9.0.0/16 jump peer0");
			pc = at(fwd, "ip saddr 10.9.1.0/24 jump peer1");
			pd = at(fwd, "ip6 saddr fd12::2/128 jump peer1");
			CHECK(pa >= 0 && pb >= 0 && pc >= 0 && pd >= 0);
			CHECK(pd < pa && pa < pc && pc < pb);
			CHECK(contains(fwd, "iifname \"zwg0\" ip saddr 10.9.1.0/24 jump peer1"));
		}
		CHECK(contains(out, "chain peer2 {"));
	}
	free(out);
	/* names that could break out of the quotes are refused */
	CHECK_INT(firewall_ruleset(&out, "zw\"g0", &s), -EINVAL);
	CHECK_INT(firewall_ruleset(&out, "a b", &s), -EINVAL);
	CHECK_INT(firewall_ruleset(&out, "", &s), -EINVAL);
	CHECK_INT(firewall_ruleset(&out, "0123456789abcdef", &s), -EINVAL);
	CHECK(out == NULL);
	/* a spec whose counts lie is refused */
	s.peers[0].n_src = 500;
	CHECK_INT(firewall_ruleset(&out, "zwg0", &s), -EINVAL);
	firewall_spec_clear(&s);
	{
		char name[64];

		firewall_table_name(name, sizeof(name), "wg.0-a");
		CHECK(!strcmp(name, "zerowg_fw_wg_0_a"));
	}
}

/* ------------------------------------------------------------ codec -- */

static struct priv_request fw_allow_req(const char *dst, uint16_t lo, uint16_t hi, uint8_t proto)
{
	struct priv_request r = { .op = PRIV_OP_FW_ALLOW, .port = lo, .port_hi = hi,
				  .proto = proto };
	struct netlink_prefix p = pfx(dst);

	priv_prefix_encode(&r.prefix, &p);
	return r;
}

static int check_req(struct priv_request r)
{
	uint8_t buf[PRIV_REQUEST_SIZE], again[PRIV_REQUEST_SIZE];
	struct priv_request out;
	char err[256] = "";
	int ret;

	priv_request_encode(&r, buf);
	ret = priv_request_parse(buf, sizeof(buf), &out, err, sizeof(err));
	if (ret == 0) {
		priv_request_encode(&out, again);
		CHECK(!memcmp(buf, again, sizeof(buf)));
	} else {
		CHECK(err[0] != '\0');
	}
	return ret;
}

static void test_codec(void)
{
	struct priv_request r;
	struct netlink_prefix p = pfx("10.13.13.2/32");

	CHECK(!strcmp(priv_op_name(PRIV_OP_FW_COMMIT), "FW_COMMIT"));
	CHECK(!priv_op_passes_fd(PRIV_OP_FW_BEGIN));
	CHECK_INT(check_req(fw_allow_req("10.0.0.0/8", 0, 0, 0)), 0);
	CHECK_INT(check_req(fw_allow_req("10.0.0.0/8", 1, 65535, IPPROTO_UDP)), 0);
	CHECK_INT(check_req(fw_allow_req("fd00::/8", 53, 53, IPPROTO_TCP)), 0);
	CHECK_INT(check_req(fw_allow_req("10.0.0.0/8", 0, 1, 0)), -EINVAL);
	CHECK_INT(check_req(fw_allow_req("10.0.0.0/8", 2, 1, 0)), -EINVAL);
	CHECK_INT(check_req(fw_allow_req("10.0.0.0/8", 1, 1, IPPROTO_ICMP)), -EINVAL);
	CHECK_INT(check_req(fw_allow_req("10.0.0.1/8", 0, 0, 0)), -EINVAL);
	r = fw_allow_req("10.0.0.0/8", 0, 0, 0);
	r.reserved2 = 1;
	CHECK_INT(check_req(r), -EINVAL);
	r = fw_allow_req("10.0.0.0/8", 0, 0, 0);
	r.mtu = 1;
	CHECK_INT(check_req(r), -EINVAL);
	r = fw_allow_req("10.0.0.0/8", 0, 0, 0);
	r.prefix.family = 0;
	CHECK_INT(check_req(r), -EINVAL);
	/* FW_SOURCE: a prefix, nothing else */
	r = (struct priv_request){ .op = PRIV_OP_FW_SOURCE };
	priv_prefix_encode(&r.prefix, &p);
	CHECK_INT(check_req(r), 0);
	r.port = 1;
	CHECK_INT(check_req(r), -EINVAL);
	r.port = 0;
	r.proto = IPPROTO_TCP;
	CHECK_INT(check_req(r), -EINVAL);
	r.proto = 0;
	p = pfx("10.13.13.2/24");
	priv_prefix_encode(&r.prefix, &p);
	CHECK_INT(check_req(r), -EINVAL);
	/* the others take nothing at all; older ops take no port range */
	for (uint32_t op = PRIV_OP_FW_BEGIN; op <= PRIV_OP_FW_COMMIT; op++) {
		if (op == PRIV_OP_FW_SOURCE || op == PRIV_OP_FW_ALLOW)
			continue;
		r = (struct priv_request){ .op = op };
		CHECK_INT(check_req(r), 0);
		r.port_hi = 5;
		CHECK_INT(check_req(r), -EINVAL);
	}
	r = (struct priv_request){ .op = PRIV_OP_NAT_TEARDOWN, .proto = IPPROTO_TCP };
	CHECK_INT(check_req(r), -EINVAL);
}

/* ---------------------------------------------------------- session -- */

struct fake {
	int applies, teardowns;
	struct firewall_spec last;	/* what the last FW_COMMIT installed */
	int fail;			/* FW_COMMIT fails with this */
};

static int f_tun(void *ctx, char ifname[IF_NAMESIZE], int adopt_fd, int *ifindex,
		 struct tun_offloads *off, char *err, size_t errlen)
{
	int p[2];

	if (pipe(p) < 0)
		return -errno;
	close(p[1]);
	*ifindex = 7;
	return p[0];
}

static int f_fw_apply(void *ctx, struct firewall *fw, const char *ifname,
		      const struct firewall_spec *spec, char *err, size_t errlen)
{
	struct fake *f = ctx;

	f->applies++;
	if (f->fail) {
		errbuf_set(err, errlen, "firewall: nftables: no");
		return f->fail;
	}
	firewall_spec_clear(&f->last);
	for (size_t i = 0; i < spec->n_peers; i++) {
		const struct firewall_peer *p = &spec->peers[i];

		firewall_spec_add_peer(&f->last);
		for (size_t k = 0; k < p->n_src; k++)
			firewall_spec_add_source(&f->last, &spec->src[p->first_src + k]);
		for (size_t k = 0; k < p->n_allow; k++)
			firewall_spec_add_allow(&f->last, &spec->allow[p->first_allow + k]);
	}
	snprintf(fw->table, sizeof(fw->table), "zerowg_fw_%s", ifname);
	return 0;
}

static void f_fw_teardown(void *ctx, struct firewall *fw)
{
	struct fake *f = ctx;

	if (fw->table[0])
		f->teardowns++;
	fw->table[0] = '\0';
}

static void f_nat_teardown(void *ctx, struct nat *nat)
{
}

struct served {
	struct priv_config cfg;
	struct priv_ops ops;
	struct fake fake;
	int sv[2];
	pthread_t thread;
	struct priv_client c;
};

static void *serve_thread(void *arg)
{
	struct served *s = arg;

	priv_serve(&s->cfg, &s->ops, s->sv[1]);
	return NULL;
}

static void serve_start(struct served *s, bool with_fw)
{
	memset(s, 0, sizeof(*s));
	s->cfg.tun_fd = -1;
	s->ops.tun_open = f_tun;
	s->ops.nat_teardown = f_nat_teardown;
	s->ops.fw_apply = with_fw ? f_fw_apply : NULL;
	s->ops.fw_teardown = with_fw ? f_fw_teardown : NULL;
	s->ops.ctx = &s->fake;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s->sv) < 0)
		abort();
	s->c.fd = s->sv[0];
	s->c.pid = -1;
	pthread_mutex_init(&s->c.lock, NULL);
	if (pthread_create(&s->thread, NULL, serve_thread, s) != 0)
		abort();
}

static void serve_stop(struct served *s)
{
	close(s->sv[0]);
	pthread_join(s->thread, NULL);
	close(s->sv[1]);
	pthread_mutex_destroy(&s->c.lock);
	firewall_spec_clear(&s->fake.last);
}

static int raw(struct served *s, struct priv_request r, char *err, size_t errlen)
{
	uint8_t out[PRIV_REQUEST_SIZE], in[PRIV_REPLY_SIZE];
	struct priv_reply rep;

	priv_request_encode(&r, out);
	if (send(s->sv[0], out, sizeof(out), 0) != (ssize_t)sizeof(out) ||
	    recv(s->sv[0], in, sizeof(in), 0) != (ssize_t)sizeof(in) ||
	    priv_reply_parse(in, sizeof(in), &rep, err, errlen) < 0)
		return -EIO;
	snprintf(err, errlen, "%s", rep.msg);
	return rep.error;
}

static void test_session(void)
{
	struct served s;
	struct firewall_spec spec = { 0 };
	struct netlink_prefix a = pfx("10.13.13.2/32"), b = pfx("fd12::2/128");
	struct firewall_allow x = allow("10.0.0.0/8", 22, 22, IPPROTO_TCP);
	char ifname[IF_NAMESIZE] = "zwgtest0", err[PRIV_MSG_LEN + 64] = "";
	struct tun_offloads off;
	int fd = -1, ifindex = 0;

	serve_start(&s, true);
	/* before the TUN: refused */
	CHECK_INT(priv_firewall_set(&s.c, &spec, err, sizeof(err)), -EBADF);
	CHECK(contains(err, "before TUN_OPEN"));
	CHECK_INT(priv_tun_open(&s.c, ifname, &fd, &ifindex, &off, err, sizeof(err)), 0);
	close(fd);
	/* out of order: refused */
	CHECK_INT(raw(&s, (struct priv_request){ .op = PRIV_OP_FW_COMMIT }, err, sizeof(err)),
		  -EPROTO);
	CHECK(contains(err, "FW_COMMIT without FW_BEGIN"));
	CHECK_INT(raw(&s, (struct priv_request){ .op = PRIV_OP_FW_BEGIN }, err, sizeof(err)), 0);
	{
		struct priv_request r = { .op = PRIV_OP_FW_SOURCE };

		priv_prefix_encode(&r.prefix, &a);
		CHECK_INT(raw(&s, r, err, sizeof(err)), -EBADF);
		CHECK(contains(err, "no FW_PEER before it"));
	}
	/* the error dropped the staging: a COMMIT now installs nothing */
	CHECK_INT(raw(&s, (struct priv_request){ .op = PRIV_OP_FW_COMMIT }, err, sizeof(err)),
		  -EPROTO);
	CHECK_INT(s.fake.applies, 0);
	/* the whole state through the client */
	CHECK_INT(firewall_spec_add_peer(&spec), 0);
	CHECK_INT(firewall_spec_add_source(&spec, &a), 0);
	CHECK_INT(firewall_spec_add_source(&spec, &b), 0);
	CHECK_INT(firewall_spec_add_allow(&spec, &x), 0);
	CHECK_INT(firewall_spec_add_peer(&spec), 0);
	CHECK_INT(priv_firewall_set(&s.c, &spec, err, sizeof(err)), 0);
	CHECK_INT(s.fake.applies, 1);
	CHECK(firewall_spec_equal(&spec, &s.fake.last));
	/* a failing commit says why */
	s.fake.fail = -EIO;
	CHECK_INT(priv_firewall_set(&s.c, &spec, err, sizeof(err)), -EIO);
	CHECK(contains(err, "nftables: no"));
	s.fake.fail = 0;
	/* past a bound: refused before a commit */
	{
		struct firewall_spec big = { 0 };

		firewall_spec_add_peer(&big);
		for (int i = 0; i < FIREWALL_MAX_SOURCES; i++)
			firewall_spec_add_source(&big, &a);
		big.src = realloc(big.src, (big.n_src + 1) * sizeof(*big.src));
		big.src[big.n_src++] = a;	/* one more than add_source allows */
		big.peers[0].n_src++;
		CHECK_INT(priv_firewall_set(&s.c, &big, err, sizeof(err)), -ENOSPC);
		CHECK(contains(err, "bounds"));
		CHECK_INT(s.fake.applies, 2);
		firewall_spec_clear(&big);
	}
	/* empty: removes it */
	firewall_spec_clear(&spec);
	CHECK_INT(priv_firewall_set(&s.c, &spec, err, sizeof(err)), 0);
	CHECK_INT(s.fake.applies, 3);
	CHECK_INT(s.fake.last.n_peers, 0);
	/* a table installed at EOF is torn down */
	firewall_spec_add_peer(&spec);
	CHECK_INT(priv_firewall_set(&s.c, &spec, err, sizeof(err)), 0);
	serve_stop(&s);
	CHECK_INT(s.fake.teardowns, 1);
	firewall_spec_clear(&spec);

	/* no firewall ops (older fakes): COMMIT is ENOTSUP */
	serve_start(&s, false);
	memcpy(ifname, "zwgtest0", 9);
	CHECK_INT(priv_tun_open(&s.c, ifname, &fd, &ifindex, &off, err, sizeof(err)), 0);
	close(fd);
	CHECK_INT(priv_firewall_set(&s.c, &spec, err, sizeof(err)), -ENOTSUP);
	serve_stop(&s);
}

int main(void)
{
	model_json_wipe_on_free();
	RUN(test_rule_parse);
	RUN(test_rules_list);
	RUN(test_rules_json);
	RUN(test_peer_record);
	RUN(test_spec_bounds);
	RUN(test_spec_from_peers);
	RUN(test_ruleset);
	RUN(test_codec);
	RUN(test_session);
	TEST_EXIT();
}
