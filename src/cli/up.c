/*
 * up.c - `zerowg up`: runs the server (server_main) with the settings from
 * the flags and the environment.
 *
 * Two kinds of settings: those of the server itself (interface, port,
 * subnet, endpoint, DNS, NAT, PEERS...) go into a struct server_options,
 * validated by the control layer (server_options_set), and the
 * linuxserver/wireguard environment variables fill what no flag set
 * (envconf_load: flags win); those of this process (where the store is, where
 * the unseal key comes from, where the admin socket goes) go into a struct
 * server_runtime.  Then server_main() does the rest and prints its own
 * errors.
 *
 * The web listener's flags (--web, --trusted-proxy, --metrics-allow,
 * --web-url) are passed to the server as its environment variables
 * WEB_LISTEN, WEB_TRUSTED_PROXY, METRICS_ALLOW and WEB_URL (flags win), read
 * at start-up (WEB_URL: when a one-time link is made over the admin socket) and
 * never saved in the store: where to listen is the host's business, not
 * the VPN's (docs/web.md).
 *
 * Relies on control.h, envconf.h, server.h and api_http.h.
 */
#include "api_http.h"
#include "cli.h"
#include "control.h"
#include "envconf.h"
#include "server.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPT_ADMIN_SOCKET 0x200
#define OPT_USER 0x201
#define OPT_TUN_FD 0x202
#define OPT_NETNS 0x203
#define OPT_WEB 0x204
#define OPT_TRUSTED_PROXY 0x205
#define OPT_METRICS_ALLOW 0x206
#define OPT_WEB_URL 0x207
#define OPT_KEEP_KEYRING_KEY 0x208

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zerowg up [options]\n\n"
		"Runs the server: opens the store, brings up the interface with every\n"
		"enabled peer, serves the admin API, and stays in the foreground until\n"
		"SIGTERM or SIGINT.  Settings given here are saved in the store.\n\n"
		"Where things are:\n"
		CLI_STORE_USAGE
		"  --admin-socket PATH  the admin API's socket (default " SERVER_DEFAULT_ADMIN_SOCKET ";\n"
		"                     as a user: $XDG_RUNTIME_DIR/zerowg/admin.sock)\n"
		"  --keep-keyring-key leave the unseal key in the kernel keyring at a clean stop\n"
		"                     (by default it is removed then: it was there for this start)\n"
		"Privileges (see docs/first-use.md, \"Without root\"):\n"
		"  --user NAME        started as root: the user the server runs as (default zerowg);\n"
		"                     a small privileged helper keeps only the interface work\n"
		"  --tun-fd N         use the open TUN device N instead of creating one\n"
		"  --netns PATH       put the tunnel interface into this network namespace\n"
		"                     (/run/netns/NAME); the UDP socket stays here\n"
		"The web API (docs/web.md; not saved in the store):\n"
		"  --web ADDR[:PORT]  listen on TCP there (repeatable; default 127.0.0.1, ::1 and\n"
		"                     the tunnel's addresses, port 51821); --web none: no TCP\n"
		"  --trusted-proxy ADDR[/LEN]  honour X-Forwarded-For/-Proto from there (repeatable)\n"
		"  --metrics-allow ADDR[/LEN]  /metrics without a token from there (repeatable;\n"
		"                     default loopback)\n"
		"  --web-url URL      the UI's address as clients see it (https://vpn.example.com):\n"
		"                     the base of one-time links made with the CLI\n"
		"The server:\n"
		"  --interface NAME   the interface name (default zwg0)\n"
		"  --port N           the UDP port to listen on (default 51820)\n"
		"  --subnet CIDR      the tunnel's IPv4 subnet (default 10.13.13.0/24)\n"
		"  --endpoint HOST[:PORT]  how clients reach the server\n"
		"  --dns LIST         DNS for the clients (\"auto\": the server's tunnel address,\n"
		"                     where it relays DNS; the default of a new store)\n"
		"  --allowed-ips LIST what clients route through the tunnel (default 0.0.0.0/0, ::/0)\n"
		"  --keepalive N      PersistentKeepalive of client configs (seconds, 0 = off)\n"
		"  --mtu N            the interface's MTU (default 1420)\n"
		"  --nat, --no-nat    forward and masquerade the clients' traffic, or not (a new\n"
		"                     store: on; an older one keeps what it has until --nat)\n"
		"  --peers LIST       peers that must exist: a count (3: peer1..peer3) or names\n"
		"Environment (as linuxserver/wireguard; flags win): SERVERURL, SERVERPORT,\n"
		"PEERS, PEERDNS, INTERNAL_SUBNET, ALLOWEDIPS, PERSISTENTKEEPALIVE_PEERS,\n"
		"SERVER_ALLOWEDIPS_PEER_<name>, LOG_CONFS; ZEROWG_ADMIN_SOCKET; LOG_LEVEL;\n"
		"WEB_LISTEN, WEB_TRUSTED_PROXY, METRICS_ALLOW (comma lists, as the flags), WEB_URL.\n");
}

static const struct option longopts[] = {
	CLI_STORE_LONGOPTS,
	{ "admin-socket", required_argument, NULL, OPT_ADMIN_SOCKET },
	{ "user", required_argument, NULL, OPT_USER },
	{ "tun-fd", required_argument, NULL, OPT_TUN_FD },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "web", required_argument, NULL, OPT_WEB },
	{ "trusted-proxy", required_argument, NULL, OPT_TRUSTED_PROXY },
	{ "metrics-allow", required_argument, NULL, OPT_METRICS_ALLOW },
	{ "web-url", required_argument, NULL, OPT_WEB_URL },
	{ "keep-keyring-key", no_argument, NULL, OPT_KEEP_KEYRING_KEY },
	CLI_SERVER_LONGOPTS,
	{ "keepalive", required_argument, NULL, 'k' },
	{ "no-nat", no_argument, NULL, CLI_OPT_NO_NAT },
	{ "peers", required_argument, NULL, 'P' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

/* Appends item to a comma list of the environment-to-be.  0, or 1 after a
 * message. */
static int list_add(char *list, size_t size, const char *flag, const char *item)
{
	size_t used = strlen(list);

	if (strchr(item, ',') || used + strlen(item) + 2 > size) {
		fprintf(stderr, "zerowg: %s \"%s\": one address per flag (repeat the flag), and "
			"not too many\n", flag, item);
		return 1;
	}
	snprintf(list + used, size - used, "%s%s", used ? "," : "", item);
	return 0;
}

/* --web, --trusted-proxy, --metrics-allow: checked here, for an early
 * error.  0, or 1 after a message. */
static int web_option(int c, const char *value, char *web, char *proxies, char *allow,
		      size_t size)
{
	struct sockaddr_storage ss;
	struct api_prefix p;
	socklen_t len;
	char err[256];

	if (c == OPT_WEB) {
		if (strcmp(value, "none") && api_web_parse(value, &ss, &len, err, sizeof(err)) < 0) {
			fprintf(stderr, "zerowg: --web: %s\n", err);
			return 1;
		}
		if ((!strcmp(value, "none") && web[0]) || !strncmp(web, "none", 5)) {
			fprintf(stderr, "zerowg: --web none cannot go with other --web addresses\n");
			return 1;
		}
		return list_add(web, size, "--web", value);
	}
	if (api_prefix_parse(&p, value, err, sizeof(err)) < 0) {
		fprintf(stderr, "zerowg: %s: %s\n", c == OPT_TRUSTED_PROXY ? "--trusted-proxy" :
			"--metrics-allow", err);
		return 1;
	}
	return list_add(c == OPT_TRUSTED_PROXY ? proxies : allow, size,
			c == OPT_TRUSTED_PROXY ? "--trusted-proxy" : "--metrics-allow", value);
}

/* --web-url: an http(s) URL fit to start a link (links_routes.c takes
 * WEB_URL only so; checked here so a typo is not a silent fallback).
 * 0, or 1 after a message. */
static int web_url_option(const char *url)
{
	const char *host = !strncmp(url, "https://", 8) ? url + 8 :
			   !strncmp(url, "http://", 7) ? url + 7 : NULL;

	if (!host) {
		fprintf(stderr, "zerowg: --web-url \"%s\" does not start with https:// or http:// "
			"(e.g. https://vpn.example.com)\n", url);
		return 1;
	}
	if (!*host || *host == '/' || strlen(url) > 290 || strpbrk(url, " \t\r\n\"<>?#")) {
		fprintf(stderr, "zerowg: --web-url \"%s\" is not a base URL: a host (and port or "
			"path), without spaces, quotes, '?' or '#', up to 290 characters "
			"(e.g. https://vpn.example.com)\n", url);
		return 1;
	}
	return 0;
}

int up_main(int argc, char *argv[])
{
	static char web[1024], proxies[1024], allow[1024];
	struct server_options opts;
	struct server_runtime rt;
	struct cli_store_opts so;
	struct control_error e;
	const char *admin_socket = getenv("ZEROWG_ADMIN_SOCKET");
	const char *user = NULL, *netns = NULL, *web_url = NULL;
	bool keep_keyring_key = false;
	int tun_fd = -1;
	char *uri = NULL;
	int c, ret = 1;

	server_options_init(&opts);
	cli_store_opts_init(&so);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		const char *value = optarg, *name;

		if (c == 'h') {
			usage(stdout);
			ret = 0;
			goto out;
		}
		if (c == '?') {
			usage(stderr);
			goto out;
		}
		if (c == OPT_ADMIN_SOCKET) {
			if (optarg[0] != '/') {
				fprintf(stderr, "zerowg: --admin-socket \"%s\" is not an absolute "
					"path (e.g. /run/zerowg/admin.sock)\n", optarg);
				goto out;
			}
			admin_socket = optarg;
			continue;
		}
		if (c == OPT_USER) {
			user = optarg;
			continue;
		}
		if (c == OPT_KEEP_KEYRING_KEY) {
			keep_keyring_key = true;
			continue;
		}
		if (c == OPT_WEB || c == OPT_TRUSTED_PROXY || c == OPT_METRICS_ALLOW) {
			if (web_option(c, optarg, web, proxies, allow, sizeof(web)))
				goto out;
			continue;
		}
		if (c == OPT_WEB_URL) {
			if (web_url_option(optarg))
				goto out;
			web_url = optarg;
			continue;
		}
		if (c == OPT_NETNS) {
			if (optarg[0] != '/') {
				fprintf(stderr, "zerowg: --netns \"%s\" is not a path (e.g. "
					"/run/netns/app or /proc/PID/ns/net)\n", optarg);
				goto out;
			}
			netns = optarg;
			continue;
		}
		if (c == OPT_TUN_FD) {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 3 || v > 65535) {
				fprintf(stderr, "zerowg: --tun-fd \"%s\" is not an open file descriptor "
					"number (3 or more)\n", optarg);
				goto out;
			}
			tun_fd = (int)v;
			continue;
		}
		name = cli_server_option(c, &value);
		if (!name) {
			if (cli_store_option(&so, c, optarg) < 0)
				goto out;
			continue;
		}
		if (server_options_set(&opts, name, value, &e) < 0) {
			cli_control_error(NULL, &e);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "zerowg: up takes no argument \"%s\" (options start with --)\n",
			argv[optind]);
		goto out;
	}
	if (envconf_load(&opts, NULL, &e) < 0) {
		cli_control_error(NULL, &e);
		goto out;
	}
	uri = cli_store_uri(so.data_dir, so.store_uri);
	if (!uri) {
		fprintf(stderr, "zerowg: out of memory\n");
		goto out;
	}
	memset(&rt, 0, sizeof(rt));
	rt.store_uri = uri;
	rt.key.fd = so.key_fd;
	rt.key.credential_name = so.credential;
	rt.key.keyring_desc = so.keyring_key;
	rt.keep_keyring_key = keep_keyring_key;
	rt.key.allow_prompt = isatty(STDIN_FILENO) && so.key_fd != STDIN_FILENO;
	rt.admin_socket = admin_socket && *admin_socket ? admin_socket : NULL;
	rt.user = user;
	rt.tun_fd = tun_fd;
	rt.netns_path = netns;
	if ((web[0] && setenv("WEB_LISTEN", web, 1) < 0) ||
	    (proxies[0] && setenv("WEB_TRUSTED_PROXY", proxies, 1) < 0) ||
	    (allow[0] && setenv("METRICS_ALLOW", allow, 1) < 0) ||
	    (web_url && setenv("WEB_URL", web_url, 1) < 0)) {
		fprintf(stderr, "zerowg: out of memory\n");
		goto out;
	}
	ret = server_main(&opts, &rt);
out:
	server_options_free(&opts);
	free(uri);
	return ret;
}
