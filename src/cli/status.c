/*
 * status.c - `zerowg status`: a summary of the running server from its
 * admin API (GET /v1/server): interface, public key, port, addresses,
 * what client configs get, and how many peers are online.
 *
 * Relies on client.h.  Nothing secret crosses: the server view has no
 * private key.
 */
#include "cli.h"
#include "client.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT_ADMIN_SOCKET 0x200
#define OPT_JSON 0x201

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zerowg status [--json] [--admin-socket PATH]\n\n"
		"Shows the running server: interface, public key, port, tunnel addresses,\n"
		"the settings client configs get, and its peers (how many are online).\n");
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : dflt;
}

static long long int_of(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

int status_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "admin-socket", required_argument, NULL, OPT_ADMIN_SOCKET },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *admin_socket = NULL;
	struct client client;
	json_t *s;
	bool as_json = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ADMIN_SOCKET:
			admin_socket = optarg;
			break;
		case OPT_JSON:
			as_json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "zerowg: status takes no argument \"%s\"\n", argv[optind]);
		return 1;
	}
	if (client_open(&client, admin_socket) < 0)
		return 1;
	s = client_call(&client, "GET", "/v1/server", NULL, NULL, NULL);
	if (!s) {
		client_close(&client);
		return 1;
	}
	if (as_json) {
		char *text = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		if (text)
			puts(text);
		free(text);
	} else {
		printf("interface: %s\n", str_or(s, "interface", "?"));
		printf("  public key: %s\n", str_or(s, "public_key", "?"));
		printf("  listening port: %lld\n", int_of(s, "listen_port"));
		printf("  tunnel: %s, %s\n", str_or(s, "ipv4", "?"), str_or(s, "ipv6", "?"));
		printf("  endpoint: %s\n", str_or(s, "endpoint", "(none: set one with zerowg up "
						 "--endpoint HOST, or client configs have none)"));
		printf("  client dns: %s\n", str_or(s, "dns", "(none)"));
		printf("  client allowed ips: %s\n", str_or(s, "client_allowed_ips", "?"));
		if (int_of(s, "persistent_keepalive") > 0)
			printf("  client persistent keepalive: every %lld seconds\n",
			       int_of(s, "persistent_keepalive"));
		printf("  mtu: %lld\n", int_of(s, "mtu"));
		printf("  nat: %s\n", json_is_true(json_object_get(s, "nat")) ? "on" : "off");
		printf("  peers: %lld (%lld online)\n", int_of(s, "peers"), int_of(s, "online"));
		/* +1 per stored change; an operator can keep it elsewhere to see a
		 * store rolled back (docs/server.md, "Tamper evidence") */
		if (json_is_integer(json_object_get(s, "store_generation")))
			printf("  store generation: %lld\n", int_of(s, "store_generation"));
		printf("  admin socket: %s\n", client.socket_path);
	}
	json_decref(s);
	client_close(&client);
	return 0;
}
