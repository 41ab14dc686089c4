/*
 * envconf_test.c - linuxserver/wireguard's environment and `zerowg up`
 * flags mapped onto struct server_options (src/control/envconf.c): a
 * table of variables and what they set, then the errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "envconf.h"
#include "test.h"

static int load(struct server_options *o, char *const *env, struct control_error *e)
{
	server_options_init(o);
	control_error_clear(e);
	return envconf_load(o, env, e);
}

static void test_defaults(void)
{
	char *env[] = { "HOME=/root", "PATH=/bin", NULL };
	struct server_options o;
	struct control_error e;

	CHECK_INT(load(&o, env, &e), 0);
	CHECK(o.interface == NULL && o.listen_port == 0 && !o.has_subnet);
	CHECK(o.endpoint == NULL && !o.endpoint_auto && o.dns == NULL);
	CHECK(o.n_peers == 0 && o.persistent_keepalive == -1 && o.nat == -1);
	CHECK(o.log_confs);
	server_options_free(&o);
}

static void test_linuxserver_set(void)
{
	char *env[] = {
		"SERVERURL=wireguard.domain.com", "SERVERPORT=51821", "PEERS=3",
		"PEERDNS=auto", "INTERNAL_SUBNET=10.13.13.0", "ALLOWEDIPS=0.0.0.0/0, ::/0",
		"PERSISTENTKEEPALIVE_PEERS=1,laptop", "LOG_CONFS=false", "PUID=1000", NULL };
	struct server_options o;
	struct control_error e;
	char a[INET_ADDRSTRLEN];

	CHECK_INT(load(&o, env, &e), 0);
	CHECK(o.endpoint && strcmp(o.endpoint, "wireguard.domain.com") == 0);
	CHECK_INT(o.endpoint_port, 51821);
	CHECK_INT(o.listen_port, 0);	/* SERVERPORT is the port clients reach */
	CHECK_INT(o.n_peers, 3);
	if (o.n_peers == 3) {
		CHECK(strcmp(o.peers[0], "peer1") == 0);
		CHECK(strcmp(o.peers[2], "peer3") == 0);
	}
	CHECK(o.dns && strcmp(o.dns, "auto") == 0);
	CHECK(o.has_subnet && o.subnet_prefix == 24);
	inet_ntop(AF_INET, &o.subnet, a, sizeof(a));
	CHECK(strcmp(a, "10.13.13.0") == 0);
	CHECK(o.client_allowed_ips && strcmp(o.client_allowed_ips, "0.0.0.0/0, ::/0") == 0);
	CHECK(!o.keepalive_all_peers);
	CHECK_INT(o.n_keepalive_peers, 2);
	if (o.n_keepalive_peers == 2) {
		CHECK(strcmp(o.keepalive_peers[0], "peer1") == 0);	/* a number n is peern */
		CHECK(strcmp(o.keepalive_peers[1], "laptop") == 0);
	}
	CHECK(!o.log_confs);
	server_options_free(&o);
}

static void test_names_and_routes(void)
{
	char *env[] = { "PEERS=phone, laptop,office ", "PERSISTENTKEEPALIVE_PEERS=all",
			"SERVER_ALLOWEDIPS_PEER_office=192.168.1.0/24,192.168.2.0/24",
			"INTERNAL_SUBNET=10.20.0.0/16", "SERVERURL=auto", "PEERDNS=", NULL };
	struct server_options o;
	struct control_error e;

	CHECK_INT(load(&o, env, &e), 0);
	CHECK_INT(o.n_peers, 3);
	if (o.n_peers == 3)
		CHECK(strcmp(o.peers[2], "office") == 0);
	CHECK(o.keepalive_all_peers);
	CHECK_INT(o.n_peer_routes, 1);
	if (o.n_peer_routes == 1) {
		CHECK(strcmp(o.peer_routes[0].peer, "office") == 0);
		CHECK(strcmp(o.peer_routes[0].routes, "192.168.1.0/24,192.168.2.0/24") == 0);
	}
	CHECK_INT(o.subnet_prefix, 16);
	CHECK(o.endpoint_auto && o.endpoint == NULL);
	CHECK(o.dns == NULL);		/* empty counts as unset */
	server_options_free(&o);
}

static void test_flags_win(void)
{
	char *env[] = { "SERVERURL=env.example.com", "PEERS=5", "INTERNAL_SUBNET=10.1.0.0", NULL };
	struct server_options o;
	struct control_error e;

	server_options_init(&o);
	CHECK_INT(server_options_set(&o, "endpoint", "flag.example.com:1234", &e), 0);
	CHECK_INT(server_options_set(&o, "subnet", "10.99.0.0/24", &e), 0);
	CHECK_INT(envconf_load(&o, env, &e), 0);
	CHECK(strcmp(o.endpoint, "flag.example.com:1234") == 0);
	CHECK_INT(o.subnet.s_addr, htonl(0x0a630000));
	CHECK_INT(o.n_peers, 5);	/* no flag for it: the environment's */
	server_options_free(&o);
}

static void bad_env(const char *var, const char *msg, const char *field)
{
	char *env[] = { (char *)var, NULL };
	struct server_options o;
	struct control_error e;
	int ret = load(&o, env, &e);

	CHECK_INT(ret, -EINVAL);
	if (!strstr(e.msg, msg) || strcmp(e.field, field) != 0) {
		fprintf(stderr, "  %s: got \"%s\" (field %s)\n", var, e.msg, e.field);
		CHECK(!"message");
	}
	server_options_free(&o);
}

static void test_errors(void)
{
	bad_env("SERVERPORT=70000", "SERVERPORT \"70000\" is not a port (1-65535)", "endpoint-port");
	bad_env("SERVERPORT=abc", "SERVERPORT \"abc\" is not a port", "endpoint-port");
	bad_env("SERVERURL=bad host!", "SERVERURL \"bad host!\" is not HOST or HOST:PORT", "endpoint");
	bad_env("PEERS=0", "PEERS \"0\": give a number of peers from 1", "peers");
	bad_env("PEERS=phone,my laptop", "PEERS: peer name \"my laptop\" has the character ' '", "peers");
	bad_env("PEERS=phone,-x", "starts with '-'", "peers");
	bad_env("PEERS=phone,phone", "PEERS names the peer \"phone\" twice", "peers");
	bad_env("PEERDNS=1.1.1.300", "PEERDNS \"1.1.1.300\" is not an address", "dns");
	bad_env("INTERNAL_SUBNET=10.13.13", "INTERNAL_SUBNET \"10.13.13\" is not an IPv4 subnet",
		"subnet");
	bad_env("INTERNAL_SUBNET=10.13.13.0/31", "is not an IPv4 subnet from /8 to /30", "subnet");
	bad_env("INTERNAL_SUBNET=fd00::", "is not an IPv4 subnet", "subnet");
	bad_env("ALLOWEDIPS=0.0.0.0/0, 10.1.1.1/8", "ALLOWEDIPS \"10.1.1.1/8\" has host bits set",
		"allowed-ips");
	bad_env("PERSISTENTKEEPALIVE_PEERS=a,b!", "PERSISTENTKEEPALIVE_PEERS: peer name \"b!\"",
		"keepalive-peers");
	bad_env("LOG_CONFS=maybe", "LOG_CONFS \"maybe\" is not true or false", "log-confs");
	bad_env("SERVER_ALLOWEDIPS_PEER_office=192.168.1.0/33",
		"SERVER_ALLOWEDIPS_PEER_office: routes \"192.168.1.0/33\" is not a prefix", "peer-routes");
	bad_env("SERVER_ALLOWEDIPS_PEER_b@d=10.0.0.0/8", "has the character '@'", "peer-routes");
}

static void test_flags(void)
{
	struct server_options o;
	struct control_error e;

	server_options_init(&o);
	CHECK_INT(server_options_set(&o, "port", "51999", &e), 0);
	CHECK_INT(o.listen_port, 51999);
	CHECK_INT(server_options_set(&o, "interface", "wg-home", &e), 0);
	CHECK_INT(server_options_set(&o, "interface", "a-name-far-too-long", &e), -EINVAL);
	CHECK(strstr(e.msg, "--interface \"a-name-far-too-long\" is not an interface name"));
	CHECK(strcmp(o.interface, "wg-home") == 0);	/* a failed set changes nothing */
	CHECK_INT(server_options_set(&o, "nat", "on", &e), 0);
	CHECK_INT(o.nat, 1);
	CHECK_INT(server_options_set(&o, "mtu", "1280", &e), 0);
	CHECK_INT(o.mtu, 1280);
	CHECK_INT(server_options_set(&o, "mtu", "100", &e), -EINVAL);
	CHECK(strstr(e.msg, "--mtu \"100\" is not an MTU"));
	CHECK_INT(server_options_set(&o, "keepalive", "25", &e), 0);
	CHECK_INT(o.persistent_keepalive, 25);
	CHECK_INT(server_options_set(&o, "dns", "none", &e), 0);
	CHECK(o.dns && o.dns[0] == '\0');
	CHECK_INT(server_options_set(&o, "peer-routes", "office=10.5.0.0/16", &e), 0);
	CHECK_INT(o.n_peer_routes, 1);
	CHECK_INT(server_options_set(&o, "peer-routes", "office", &e), -EINVAL);
	CHECK_INT(server_options_set(&o, "subnet", "10.8.0.77/24", &e), 0);
	CHECK_INT(o.subnet.s_addr, htonl(0x0a080000));	/* masked to the network */
	CHECK_INT(server_options_set(&o, "colour", "blue", &e), -ENOENT);
	CHECK(strstr(e.msg, "unknown option \"colour\""));
	server_options_free(&o);
}

int main(void)
{
	RUN(test_defaults);
	RUN(test_linuxserver_set);
	RUN(test_names_and_routes);
	RUN(test_flags_win);
	RUN(test_errors);
	RUN(test_flags);
	TEST_EXIT();
}
