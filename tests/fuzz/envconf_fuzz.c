/*
 * envconf_fuzz.c - fuzz target for the container environment
 * (src/control/envconf.c: linuxserver/wireguard's PEERS, SERVERURL,
 * SERVERPORT, PEERDNS, INTERNAL_SUBNET, ALLOWEDIPS,
 * PERSISTENTKEEPALIVE_PEERS, LOG_CONFS, SERVER_ALLOWEDIPS_PEER_<name>).
 *
 * The input is an environment: entries separated by NUL bytes, each
 * "NAME=VALUE" (an entry without '=' is passed as it is: envconf must skip
 * it).  An entry may start with one byte 0x01..0x09 instead of a name: it
 * stands for the n-th variable name above followed by '=', so that blind
 * mutation reaches every variable.  Besides "does not crash, leaks
 * nothing" it checks:
 *   - a failure sets a message that names the variable at fault (or says
 *     "out of memory");
 *   - a success leaves options that are valid: peer names valid and
 *     distinct, a masked subnet within the allocator's bounds, ports not 0,
 *     and no control character in any value that ends up in a client
 *     config (endpoint, DNS, AllowedIPs, names, routes: issue 12 §2);
 *   - every value set passes the flag setter (server_options_set) again to
 *     the same result, and loading the same environment a second time on
 *     top changes nothing (flags win; the environment is idempotent).
 * A broken invariant aborts, which libFuzzer and fuzz_main.c report.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envconf.h"
#include "ipalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRIES 64
#define MAX_INPUT 4096

static const char *const var_names[] = {
	NULL, "PEERS", "SERVERURL", "SERVERPORT", "PEERDNS", "INTERNAL_SUBNET", "ALLOWEDIPS",
	"PERSISTENTKEEPALIVE_PEERS", "LOG_CONFS", "SERVER_ALLOWEDIPS_PEER_",
};

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "envconf_fuzz: invariant broken: %s%s%s\n", what,
		detail ? ": " : "", detail ? detail : "");
	abort();
}

static bool has_control_char(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool list_eq(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!streq(a[i], b[i]))
			return false;
	return true;
}

static bool options_eq(const struct server_options *a, const struct server_options *b)
{
	if (!streq(a->interface, b->interface) || a->listen_port != b->listen_port ||
	    a->has_subnet != b->has_subnet || !streq(a->endpoint, b->endpoint) ||
	    a->endpoint_auto != b->endpoint_auto || a->endpoint_port != b->endpoint_port ||
	    !streq(a->dns, b->dns) || !streq(a->client_allowed_ips, b->client_allowed_ips) ||
	    a->persistent_keepalive != b->persistent_keepalive || a->mtu != b->mtu ||
	    a->nat != b->nat || a->keepalive_all_peers != b->keepalive_all_peers ||
	    a->log_confs != b->log_confs || a->n_peer_routes != b->n_peer_routes)
		return false;
	if (a->has_subnet && (a->subnet.s_addr != b->subnet.s_addr ||
			      a->subnet_prefix != b->subnet_prefix))
		return false;
	if (!list_eq(a->peers, a->n_peers, b->peers, b->n_peers) ||
	    !list_eq(a->keepalive_peers, a->n_keepalive_peers, b->keepalive_peers,
		     b->n_keepalive_peers))
		return false;
	for (size_t i = 0; i < a->n_peer_routes; i++)
		if (!streq(a->peer_routes[i].peer, b->peer_routes[i].peer) ||
		    !streq(a->peer_routes[i].routes, b->peer_routes[i].routes))
			return false;
	return true;
}

static bool name_ok(const char *name)
{
	struct control_error ne;

	return name && model_name_valid(name, &ne);
}

static void check_valid(const struct server_options *o)
{
	if (o->n_peers == 0 && o->peers)
		fail("an empty PEERS list was kept", NULL);
	for (size_t i = 0; i < o->n_peers; i++) {
		if (!name_ok(o->peers[i]))
			fail("PEERS holds an invalid name", o->peers[i]);
		/* PEERS=65535 makes peer1..peer65535: check pairs only
		 * among the first thousand */
		for (size_t j = 0; j < i && i < 1000; j++)
			if (!strcmp(o->peers[i], o->peers[j]))
				fail("PEERS holds a name twice", o->peers[i]);
	}
	for (size_t i = 0; i < o->n_keepalive_peers; i++)
		if (!name_ok(o->keepalive_peers[i]))
			fail("PERSISTENTKEEPALIVE_PEERS holds an invalid name", o->keepalive_peers[i]);
	for (size_t i = 0; i < o->n_peer_routes; i++) {
		if (!name_ok(o->peer_routes[i].peer))
			fail("SERVER_ALLOWEDIPS_PEER_ names an invalid peer", o->peer_routes[i].peer);
		if (has_control_char(o->peer_routes[i].routes))
			fail("routes with a control character were accepted", o->peer_routes[i].routes);
	}
	if (o->has_subnet) {
		uint32_t a = ntohl(o->subnet.s_addr);
		uint32_t host = o->subnet_prefix >= 32 ? 0 : 0xffffffffu >> o->subnet_prefix;

		if (o->subnet_prefix < IPALLOC_MIN_PREFIX || o->subnet_prefix > IPALLOC_MAX_PREFIX)
			fail("INTERNAL_SUBNET prefix out of bounds", NULL);
		if (a & host)
			fail("INTERNAL_SUBNET not masked", NULL);
	}
	if (o->endpoint && o->endpoint_auto)
		fail("SERVERURL both auto and a host", o->endpoint);
	if (has_control_char(o->endpoint))
		fail("SERVERURL with a control character was accepted", o->endpoint);
	if (has_control_char(o->dns))
		fail("PEERDNS with a control character was accepted", o->dns);
	if (has_control_char(o->client_allowed_ips))
		fail("ALLOWEDIPS with a control character was accepted", o->client_allowed_ips);
}

/* Sets every value of o again through the flag setter into a fresh struct
 * and compares. */
static void check_flags_agree(const struct server_options *o)
{
	struct server_options f;
	struct control_error e;
	char buf[64];
	int ret = 0;

	server_options_init(&f);
	if (o->endpoint_auto)
		ret |= server_options_set(&f, "endpoint", "auto", &e);
	else if (o->endpoint)
		ret |= server_options_set(&f, "endpoint", o->endpoint, &e);
	if (o->endpoint_port) {
		snprintf(buf, sizeof(buf), "%u", o->endpoint_port);
		ret |= server_options_set(&f, "endpoint-port", buf, &e);
	}
	if (o->dns)
		ret |= server_options_set(&f, "dns", o->dns, &e);
	if (o->has_subnet) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &o->subnet, a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s/%u", a, o->subnet_prefix);
		ret |= server_options_set(&f, "subnet", buf, &e);
	}
	if (o->client_allowed_ips)
		ret |= server_options_set(&f, "allowed-ips", o->client_allowed_ips, &e);
	ret |= server_options_set(&f, "log-confs", o->log_confs ? "true" : "false", &e);
	if (ret)
		fail("a value the environment set is refused as a flag", e.msg);
	/* Lists: joined with commas, they must come back as they are (not
	 * PEERS=N's thousands of names: the setter checks pairs). */
	if (o->n_peers && o->n_peers <= 256) {
		size_t len = 1, at = 0;
		char *s, *end;

		for (size_t i = 0; i < o->n_peers; i++)
			len += strlen(o->peers[i]) + 1;
		s = malloc(len);
		if (!s)
			goto out;
		for (size_t i = 0; i < o->n_peers; i++) {
			size_t l = strlen(o->peers[i]);
			memcpy(s + at, o->peers[i], l);
			at += l;
			s[at++] = i + 1 < o->n_peers ? ',' : '\0';
		}
		/* A single name that is a number means a count: skip that. */
		(void)strtoul(s, &end, 10);
		if (*end || end == s) {
			if (server_options_set(&f, "peers", s, &e) ||
			    !list_eq(f.peers, f.n_peers, o->peers, o->n_peers)) {
				free(s);
				fail("the PEERS names do not set the same list as a flag", e.msg);
			}
		}
		free(s);
	}
	if (f.endpoint_auto != o->endpoint_auto || !streq(f.endpoint, o->endpoint) ||
	    f.endpoint_port != o->endpoint_port || !streq(f.dns, o->dns) ||
	    f.has_subnet != o->has_subnet || f.subnet.s_addr != o->subnet.s_addr ||
	    f.subnet_prefix != o->subnet_prefix ||
	    !streq(f.client_allowed_ips, o->client_allowed_ips) || f.log_confs != o->log_confs)
		fail("a value set as a flag differs from the environment's", NULL);
out:
	server_options_free(&f);
}

/* true if the message names one of the variables of env (or is about
 * memory). */
static bool message_names_variable(const char *msg, char **env, size_t n)
{
	if (strstr(msg, "out of memory"))
		return true;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(env[i], '=');
		size_t nlen = eq ? (size_t)(eq - env[i]) : 0;
		const char *p = msg;

		if (!nlen)
			continue;
		/* a long name may be cut short in the message */
		if (nlen > 64) {
			if (strstr(msg, "SERVER_ALLOWEDIPS_PEER_"))
				return true;
			nlen = 64;
		}
		for (; *p; p++)
			if (!strncmp(p, env[i], nlen))
				return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *env[MAX_ENTRIES + 1];
	size_t n = 0, i = 0;
	struct server_options o, again;
	struct control_error e;
	int ret;

	if (size > MAX_INPUT)
		return 0;
	while (i < size && n < MAX_ENTRIES) {
		const uint8_t *nul = memchr(data + i, 0, size - i);
		size_t len = nul ? (size_t)(nul - (data + i)) : size - i;
		const char *prefix = "";
		char *s;

		if (len && data[i] >= 1 && data[i] < sizeof(var_names) / sizeof(var_names[0])) {
			prefix = var_names[data[i]];
			i++;
			len--;
		}
		s = malloc(strlen(prefix) + len + 2);
		if (!s)
			abort();
		/* "SERVER_ALLOWEDIPS_PEER_" takes the peer name from the entry */
		if (*prefix)
			sprintf(s, "%s%s%.*s", prefix, prefix[strlen(prefix) - 1] == '_' ? "" : "=",
				(int)len, (const char *)data + i);
		else
			sprintf(s, "%.*s", (int)len, (const char *)data + i);
		env[n++] = s;
		i += len + 1;
	}
	env[n] = NULL;

	server_options_init(&o);
	control_error_clear(&e);
	ret = envconf_load(&o, env, &e);
	if (ret) {
		if (ret != -EINVAL && ret != -ENOMEM)
			fail("an undocumented error code", strerror(-ret));
		if (!e.msg[0])
			fail("a failure without a message", NULL);
		if (!message_names_variable(e.msg, env, n))
			fail("the message does not name the variable", e.msg);
	} else {
		check_valid(&o);
		check_flags_agree(&o);
		/* Loading again on top: what is set stays (flags win), the
		 * rest is set to the same values. */
		server_options_init(&again);
		if (envconf_load(&again, env, &e) || !options_eq(&again, &o))
			fail("loading the same environment twice differs", e.msg);
		if (envconf_load(&again, env, &e) || !options_eq(&again, &o))
			fail("loading the environment on top of itself changes it", e.msg);
		server_options_free(&again);
	}
	server_options_free(&o);
	for (i = 0; i < n; i++)
		free(env[i]);
	return 0;
}
