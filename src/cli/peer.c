/*
 * peer.c - `zerowg peer SUBCOMMAND`: the peers of the running server,
 * through its admin API (client.h).
 *
 *   zerowg peer add NAME [--expires WHEN] [--dns LIST] [--allowed-ips LIST]
 *                        [--route SUBNET]... [--keepalive N] [--keep-key] [--no-qr]
 *                        [--link TTL]
 *   zerowg peer list [--json]
 *   zerowg peer show NAME [--json]
 *   zerowg peer set NAME [--expires WHEN|never] [--dns LIST] [--allowed-ips LIST]
 *                        [--route SUBNET]... [--no-routes] [--keepalive N]   (peer_set.c)
 *   zerowg peer enable NAME | disable NAME | revoke NAME
 *   zerowg peer rotate NAME [--keep-key] [--no-qr] [--link TTL]
 *   zerowg peer link NAME [--ttl 1h]
 *   zerowg peer firewall NAME --allow RULE [--allow RULE]... | --clear
 *
 * add and rotate print the new client config (the only time its private
 * key is visible, unless kept) and its QR code; see show.c.  They do so
 * only to a terminal or a pipe, and refuse before the server changes
 * anything when stdout is a file (secret_out.c).  Input the CLI
 * can judge by itself (the name, --expires) is checked here first with the
 * control layer's own validators, so the message is the same as the
 * server's and nothing is sent; the rest is judged by the server and its
 * answer names the field.
 *
 * Relies on client.h (HTTP/JSON over the admin socket), model.h and
 * links.h (validators) and show.c.
 */
#include "cli.h"
#include "client.h"
#include "firewall_rule.h"
#include "links.h"
#include "model.h"
#include "peer_set.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OPT_ADMIN_SOCKET 0x200
#define OPT_KEEP_KEY 0x201
#define OPT_NO_QR 0x202
#define OPT_JSON 0x203
#define OPT_LINK 0x204

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zerowg peer add NAME [--expires WHEN] [--dns LIST] [--allowed-ips LIST]\n"
		"                            [--route SUBNET]... [--keepalive N] [--keep-key] [--no-qr]\n"
		"                            [--link TTL]\n"
		"       zerowg peer list [--json]\n"
		"       zerowg peer show NAME [--json]\n"
		"       zerowg peer set NAME [--expires WHEN|never] [--dns LIST] [--allowed-ips LIST]\n"
		"                            [--route SUBNET]... [--no-routes] [--keepalive N]\n"
		"       zerowg peer enable NAME\n"
		"       zerowg peer disable NAME\n"
		"       zerowg peer revoke NAME\n"
		"       zerowg peer rotate NAME [--keep-key] [--no-qr] [--link TTL]\n"
		"       zerowg peer link NAME [--ttl 1h]\n"
		"       zerowg peer firewall NAME --allow RULE [--allow RULE]... | --clear\n\n"
		"add     creates a peer with the next free addresses, a new key pair and a\n"
		"        preshared key, and prints its client config and QR code once.\n"
		"        --expires: a duration (90m, 12h, 30d, 2w), a date (2030-12-31, UTC),\n"
		"        a time (2030-12-31T18:00:00Z), unix seconds, or \"never\".\n"
		"        --dns, --allowed-ips: override the server's for this client.\n"
		"        --route SUBNET: a network behind this peer (site to site); repeatable.\n"
		"        --keep-key: keep the client's private key in the store, so that\n"
		"        `zerowg show-peer NAME` can show the config again.\n"
		"        --link TTL: also a one-time link to the config (see link), printed\n"
		"        after it; no kept key needed (also for rotate).\n"
		"list    every peer with its address, state and traffic.\n"
		"show    one peer in detail.\n");
	peer_set_usage(f);
	fprintf(f,
		"enable, disable  let the peer in, or shut it out (it stays stored).\n"
		"revoke  deletes the peer: its key is dead and its addresses are free.\n"
		"rotate  a new key pair and preshared key; the old ones stop working at once.\n"
		"link    a one-time link (URL) that shows the config once, for a peer whose\n"
		"        key was kept; it dies when used, at --ttl (1m to 7d, default 1h), or\n"
		"        when the peer is rotated or revoked.  The URL's base is the server's\n"
		"        WEB_URL, else http://ENDPOINT-HOST:51821 (docs/web.md).\n"
		"firewall  limits what the client may reach through the server to the\n"
		"        --allow destinations (up to 64): PREFIX[:PORT[-PORT]][/tcp|/udp],\n"
		"        e.g. 10.0.0.0/8, 192.168.1.10:443/tcp, [fd00::/8]:53/udp; the\n"
		"        server's DNS relay and ping stay allowed.  --clear lifts it.\n"
		"Every subcommand takes --admin-socket PATH (default $ZEROWG_ADMIN_SOCKET or\n"
		"/run/zerowg/admin.sock).\n");
}

/* What the sub-commands share: options, the client, the subject of messages. */
struct peer_cmd {
	const char *admin_socket;
	const char *name;
	char subject[MODEL_NAME_MAX + 16];
	bool json, keep_key, no_qr;
	const char *link_ttl;		/* --link: add and rotate ask for a link */
	struct client client;
};

/* A name this CLI can send: the control layer's own rule and message. */
static int check_name(struct peer_cmd *pc, const char *name)
{
	struct control_error e;

	control_error_clear(&e);
	if (!model_name_valid(name, &e)) {
		cli_control_error(NULL, &e);
		return -1;
	}
	pc->name = name;
	snprintf(pc->subject, sizeof(pc->subject), "peer \"%s\"", name);
	return 0;
}

/* add and rotate print a private key: before the server changes anything,
 * stdout must be somewhere a key may go (secret_out.c).  0, or 1 after a
 * message. */
static int refuse_secret_stdout(struct peer_cmd *pc, const char *not_done)
{
	char refusal[MODEL_NAME_MAX + 96], example[MODEL_NAME_MAX + 64];

	snprintf(refusal, sizeof(refusal), "%s %s: its client config holds its private key",
		 pc->subject, not_done);
	snprintf(example, sizeof(example), "zerowg peer %s %s | less",
		 strcmp(not_done, "not added") ? "rotate" : "add", pc->name);
	return cli_secret_stdout_check(refusal, example);
}

static void format_time(int64_t t, char *buf, size_t len);
static int64_t int_of(json_t *o, const char *key);

/* --link TTL, checked with the control layer's own parser before anything
 * is sent.  0, or 1 after a message. */
static int link_option(struct peer_cmd *pc, const char *ttl)
{
	struct control_error e;
	int64_t seconds;

	control_error_clear(&e);
	if (links_parse_ttl(ttl, &seconds, &e) < 0) {
		fprintf(stderr, "zerowg: --link: %s\n", e.msg[0] ? e.msg : "not a lifetime (e.g. 1h)");
		return 1;
	}
	pc->link_ttl = ttl;
	return 0;
}

/* The "link" of an add or rotate answer, after the config: the URL is as
 * good as the key until it is used, so it goes where the config went. */
static int show_link(struct peer_cmd *pc, json_t *answer)
{
	json_t *link = json_object_get(answer, "link");
	const char *url = json_string_value(json_object_get(link, "url"));
	const char *why = json_string_value(json_object_get(answer, "link_error"));
	char when[32];

	if (!url) {
		/* The peer has its new key either way: say how to get a link. */
		fprintf(stderr, "zerowg: %s: no one-time link: %s; the config above is the only "
			"copy (a link needs a new key: zerowg peer rotate %s --link %s)\n",
			pc->subject, why ? why : "the server's answer has none", pc->name,
			pc->link_ttl);
		return 1;
	}
	format_time(int_of(link, "expires"), when, sizeof(when));
	printf("\nOne-time link to this config (works once, until %s):\n", when);
	if (cli_print_secret(url) < 0 || cli_print_secret("\n") < 0) {
		fprintf(stderr, "zerowg: cannot write the link to stdout\n");
		return 1;
	}
	return 0;
}

/* Prints the config (and the link) of an add or rotate answer. */
static int show_new_key(struct peer_cmd *pc, json_t *answer, const char *verb)
{
	json_t *peer = json_object_get(answer, "peer");
	const char *config = json_string_value(json_object_get(answer, "client_config"));
	const char *warning = json_string_value(json_object_get(answer, "warning"));
	const char *v4 = json_string_value(json_object_get(peer, "ipv4"));
	const char *v6 = json_string_value(json_object_get(peer, "ipv6"));
	/* What was asked counts too: a peer view may not tell (a copy
	 * without secrets cannot know that the record holds one). */
	bool kept = pc->keep_key || json_is_true(json_object_get(peer, "key_kept"));

	if (!config) {
		fprintf(stderr, "zerowg: %s: the server's answer has no client config\n", pc->subject);
		return 1;
	}
	printf("zerowg: %s %s: %s%s%s\n", pc->subject, verb, v4 ? v4 : "?", v6 ? ", " : "",
	       v6 ? v6 : "");
	if (warning)
		fprintf(stderr, "zerowg: %s: warning: %s\n", pc->subject, warning);
	if (cli_show_client_config(pc->name, config, !pc->no_qr, true, kept))
		return 1;
	return pc->link_ttl ? show_link(pc, answer) : 0;
}

static int cmd_add(struct peer_cmd *pc, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "expires", required_argument, NULL, 'x' },
		{ "dns", required_argument, NULL, 'd' },
		{ "allowed-ips", required_argument, NULL, 'a' },
		{ "route", required_argument, NULL, 'r' },
		{ "keepalive", required_argument, NULL, 'k' },
		{ "keep-key", no_argument, NULL, OPT_KEEP_KEY },
		{ "no-qr", no_argument, NULL, OPT_NO_QR },
		{ "link", required_argument, NULL, OPT_LINK },
		{ "admin-socket", required_argument, NULL, OPT_ADMIN_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	json_t *body = json_object(), *routes = json_array(), *answer = NULL;
	const char *expires_text = NULL;
	struct control_error e;
	int64_t expires;
	int c, ret = 1;

	if (!body || !routes) {
		fprintf(stderr, "zerowg: out of memory\n");
		goto out;
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'x': case 'd': case 'a': case 'r': case 'k':
			if (peer_field_option(c, optarg, body, routes, &expires_text) < 0)
				goto out;
			break;
		case OPT_KEEP_KEY:
			pc->keep_key = true;
			break;
		case OPT_NO_QR:
			pc->no_qr = true;
			break;
		case OPT_LINK:
			if (link_option(pc, optarg))
				goto out;
			break;
		case OPT_ADMIN_SOCKET:
			pc->admin_socket = optarg;
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "zerowg: peer add needs one NAME%s (e.g. zerowg peer add phone)\n",
			argc - optind > 1 ? ", not several" : "");
		goto out;
	}
	if (check_name(pc, argv[optind]) < 0)
		goto out;
	json_object_set_new(body, "name", json_string(pc->name));
	/* Parsed here, so "30d" counts from now on this clock, and a bad
	 * value never reaches the server. */
	if (expires_text) {
		control_error_clear(&e);
		if (model_parse_expires(expires_text, (int64_t)time(NULL), &expires, &e) < 0) {
			cli_control_error(pc->subject, &e);
			goto out;
		}
		json_object_set_new(body, "expires", json_integer(expires));
	}
	if (json_array_size(routes) > 0)
		json_object_set(body, "routes", routes);
	if (pc->keep_key)
		json_object_set_new(body, "keep_key", json_true());
	if (pc->link_ttl)
		json_object_set_new(body, "link", json_pack("{ss}", "ttl", pc->link_ttl));
	if (refuse_secret_stdout(pc, "not added"))
		goto out;
	if (client_open(&pc->client, pc->admin_socket) < 0)
		goto out;
	answer = client_call(&pc->client, "POST", "/v1/peers", body, pc->subject, NULL);
	if (answer)
		ret = show_new_key(pc, answer, "added");
out:
	json_decref(answer);
	json_decref(routes);
	json_decref(body);
	return ret;
}

/* Parses the options of the sub-commands that take NAME (or none, for
 * list) and --json/--keep-key/--no-qr/--admin-socket.  0, or the exit
 * status to return (after --help or an error). */
static int simple_args(struct peer_cmd *pc, int argc, char *argv[], bool want_name)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "keep-key", no_argument, NULL, OPT_KEEP_KEY },
		{ "no-qr", no_argument, NULL, OPT_NO_QR },
		{ "link", required_argument, NULL, OPT_LINK },
		{ "admin-socket", required_argument, NULL, OPT_ADMIN_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: pc->json = true; break;
		case OPT_KEEP_KEY: pc->keep_key = true; break;
		case OPT_NO_QR: pc->no_qr = true; break;
		case OPT_LINK:
			if (strcmp(argv[0], "rotate")) {
				fprintf(stderr, "zerowg: --link is for peer add and peer rotate; for "
					"a kept key: zerowg peer link NAME --ttl %s\n", optarg);
				return 1;
			}
			if (link_option(pc, optarg))
				return 1;
			break;
		case OPT_ADMIN_SOCKET: pc->admin_socket = optarg; break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!want_name) {
		if (optind != argc) {
			fprintf(stderr, "zerowg: peer %s takes no NAME (\"%s\")\n", argv[0], argv[optind]);
			return 1;
		}
	} else {
		if (argc - optind != 1) {
			fprintf(stderr, "zerowg: peer %s needs one NAME (e.g. zerowg peer %s phone)\n",
				argv[0], argv[0]);
			return 1;
		}
		if (check_name(pc, argv[optind]) < 0)
			return 1;
	}
	return client_open(&pc->client, pc->admin_socket) < 0 ? 1 : 0;
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : dflt;
}

static int64_t int_of(json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

/* "yes", or "no (expired)" */
static void enabled_text(json_t *p, char *buf, size_t len)
{
	if (json_is_true(json_object_get(p, "enabled")))
		snprintf(buf, len, "yes");
	else
		snprintf(buf, len, "no (%s)", str_or(p, "disabled_reason", "manual"));
}

static void print_json(json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text) {
		puts(text);
		free(text);
	}
}

#define LIST_COLUMNS 7

static int cmd_list(struct peer_cmd *pc, int argc, char *argv[])
{
	static const char *const head[LIST_COLUMNS] = {
		"NAME", "ADDRESS", "ENABLED", "ONLINE", "LATEST HANDSHAKE", "RX", "TX"
	};
	json_t *answer, *peers, *p;
	size_t width[LIST_COLUMNS], i, n;
	int64_t now = (int64_t)time(NULL);
	char (*cells)[LIST_COLUMNS][96] = NULL;
	int ret;

	if ((ret = simple_args(pc, argc, argv, false)))
		return ret < 0 ? 0 : ret;
	/* The table needs these; asking for only them keeps a list of 10,000
	 * peers small to send and quick to parse. */
	answer = client_call(&pc->client, "GET", pc->json ? "/v1/peers" :
			     "/v1/peers?fields=name,ipv4,enabled,disabled_reason,online,"
			     "latest_handshake,rx_bytes,tx_bytes", NULL, NULL, NULL);
	if (!answer)
		return 1;
	if (pc->json) {
		print_json(answer);
		json_decref(answer);
		return 0;
	}
	peers = json_object_get(answer, "peers");
	n = json_array_size(peers);
	if (n == 0) {
		printf("No peers yet: add one with `zerowg peer add NAME`.\n");
		json_decref(answer);
		return 0;
	}
	cells = calloc(n, sizeof(*cells));
	if (!cells) {
		fprintf(stderr, "zerowg: out of memory\n");
		json_decref(answer);
		return 1;
	}
	for (i = 0; i < LIST_COLUMNS; i++)
		width[i] = strlen(head[i]);
	json_array_foreach(peers, i, p) {
		snprintf(cells[i][0], 96, "%s", str_or(p, "name", "?"));
		snprintf(cells[i][1], 96, "%s", str_or(p, "ipv4", "-"));
		enabled_text(p, cells[i][2], 96);
		snprintf(cells[i][3], 96, "%s", json_is_true(json_object_get(p, "online")) ? "yes" : "no");
		cli_format_ago(int_of(p, "latest_handshake"), now, cells[i][4], 96);
		cli_format_bytes((uint64_t)int_of(p, "rx_bytes"), cells[i][5], 96);
		cli_format_bytes((uint64_t)int_of(p, "tx_bytes"), cells[i][6], 96);
		for (size_t c = 0; c < LIST_COLUMNS; c++)
			if (strlen(cells[i][c]) > width[c])
				width[c] = strlen(cells[i][c]);
	}
	for (size_t c = 0; c < LIST_COLUMNS; c++)
		printf("%-*s%s", c + 1 < LIST_COLUMNS ? (int)width[c] : 0, head[c],
		       c + 1 < LIST_COLUMNS ? "  " : "\n");
	for (i = 0; i < n; i++)
		for (size_t c = 0; c < LIST_COLUMNS; c++)
			printf("%-*s%s", c + 1 < LIST_COLUMNS ? (int)width[c] : 0, cells[i][c],
			       c + 1 < LIST_COLUMNS ? "  " : "\n");
	free(cells);
	json_decref(answer);
	return 0;
}

/* A unix time as "2030-12-31 18:00:00 UTC". */
static void format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm))
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(buf, len, "@%" PRId64, t);
}

static void print_firewall(const char *lead, json_t *fw)
{
	json_t *allow = json_object_get(fw, "allow"), *r;
	size_t i;

	if (!json_is_array(allow)) {
		printf("%sfirewall: none (it may reach everything the server routes)\n", lead);
		return;
	}
	if (!json_array_size(allow)) {
		printf("%sfirewall: it may reach nothing but the server's DNS\n", lead);
		return;
	}
	printf("%sfirewall: it may reach only", lead);
	json_array_foreach(allow, i, r)
		printf("%s %s", i ? "," : "", json_string_value(r) ? json_string_value(r) : "?");
	printf("\n");
}

static void print_peer(json_t *p)
{
	int64_t now = (int64_t)time(NULL), expires = int_of(p, "expires");
	char buf[128], rx[32], tx[32];
	json_t *routes = json_object_get(p, "routes"), *r;
	size_t i;

	printf("peer: %s\n", str_or(p, "name", "?"));
	printf("  public key: %s\n", str_or(p, "public_key", "?"));
	printf("  addresses: %s/32", str_or(p, "ipv4", "?"));
	if (json_string_value(json_object_get(p, "ipv6")))
		printf(", %s/128", str_or(p, "ipv6", "?"));
	printf("\n");
	if (json_array_size(routes) > 0) {
		printf("  routes:");
		json_array_foreach(routes, i, r)
			printf("%s %s", i ? "," : "", json_string_value(r) ? json_string_value(r) : "?");
		printf("\n");
	}
	enabled_text(p, buf, sizeof(buf));
	printf("  enabled: %s\n", buf);
	if (expires > 0) {
		format_time(expires, buf, sizeof(buf));
		printf("  expires: %s%s\n", buf, expires <= now ? " (passed)" : "");
	} else {
		printf("  expires: never\n");
	}
	format_time(int_of(p, "created"), buf, sizeof(buf));
	printf("  created: %s\n", buf);
	printf("  private key kept: %s\n",
	       json_is_true(json_object_get(p, "key_kept")) ? "yes (zerowg show-peer shows it)" : "no");
	if (json_string_value(json_object_get(p, "dns")))
		printf("  dns: %s\n", str_or(p, "dns", ""));
	if (json_string_value(json_object_get(p, "allowed_ips")))
		printf("  client allowed ips: %s\n", str_or(p, "allowed_ips", ""));
	if (int_of(p, "persistent_keepalive") > 0)
		printf("  persistent keepalive: every %" PRId64 " seconds\n",
		       int_of(p, "persistent_keepalive"));
	printf("  endpoint: %s\n", str_or(p, "endpoint", "(none yet)"));
	cli_format_ago(int_of(p, "latest_handshake"), now, buf, sizeof(buf));
	printf("  latest handshake: %s\n", buf);
	cli_format_bytes((uint64_t)int_of(p, "rx_bytes"), rx, sizeof(rx));
	cli_format_bytes((uint64_t)int_of(p, "tx_bytes"), tx, sizeof(tx));
	printf("  transfer: %s received, %s sent\n", rx, tx);
	printf("  online: %s\n", json_is_true(json_object_get(p, "online")) ? "yes" : "no");
	print_firewall("  ", json_object_get(p, "firewall"));
}

static int cmd_show(struct peer_cmd *pc, int argc, char *argv[])
{
	json_t *answer;
	char *path;
	int ret;

	if ((ret = simple_args(pc, argc, argv, true)))
		return ret < 0 ? 0 : ret;
	path = client_peer_path(pc->name, NULL);
	if (!path) {
		fprintf(stderr, "zerowg: out of memory\n");
		return 1;
	}
	answer = client_call(&pc->client, "GET", path, NULL, pc->subject, NULL);
	free(path);
	if (!answer)
		return 1;
	if (pc->json)
		print_json(answer);
	else
		print_peer(answer);
	json_decref(answer);
	return 0;
}

/* enable, disable, revoke: one call, one line. */
static int cmd_change(struct peer_cmd *pc, int argc, char *argv[])
{
	const char *verb = argv[0], *method = "POST", *suffix = NULL, *done;
	json_t *answer;
	char *path;
	int ret;

	if ((ret = simple_args(pc, argc, argv, true)))
		return ret < 0 ? 0 : ret;
	if (!strcmp(verb, "enable")) {
		suffix = "/enable";
		done = "is enabled: it can connect";
	} else if (!strcmp(verb, "disable")) {
		suffix = "/disable";
		done = "is disabled: its sessions are cut and it cannot connect "
		       "(`zerowg peer enable` lets it back)";
	} else {
		method = "DELETE";
		done = "is revoked: its key is dead and its addresses are free";
	}
	path = client_peer_path(pc->name, suffix);
	if (!path) {
		fprintf(stderr, "zerowg: out of memory\n");
		return 1;
	}
	answer = client_call(&pc->client, method, path, NULL, pc->subject, NULL);
	free(path);
	if (!answer)
		return 1;
	if (pc->json)
		print_json(answer);
	else
		printf("zerowg: %s %s\n", pc->subject, done);
	json_decref(answer);
	return 0;
}

static int cmd_rotate(struct peer_cmd *pc, int argc, char *argv[])
{
	json_t *answer, *body;
	char *path;
	int ret;

	if ((ret = simple_args(pc, argc, argv, true)))
		return ret < 0 ? 0 : ret;
	if (refuse_secret_stdout(pc, "not rotated"))
		return 1;
	path = client_peer_path(pc->name, "/rotate");
	body = json_pack("{sb}", "keep_key", pc->keep_key);
	if (body && pc->link_ttl)
		json_object_set_new(body, "link", json_pack("{ss}", "ttl", pc->link_ttl));
	if (!path || !body) {
		fprintf(stderr, "zerowg: out of memory\n");
		free(path);
		json_decref(body);
		return 1;
	}
	answer = client_call(&pc->client, "POST", path, body, pc->subject, NULL);
	free(path);
	json_decref(body);
	if (!answer)
		return 1;
	ret = show_new_key(pc, answer, "has a new key pair (the old one is dead)");
	json_decref(answer);
	return ret;
}

/* A one-time link to the config of a kept-key peer: the URL is as good as
 * the key until it is used, so it goes where keys go (secret_out.c). */
static int cmd_link(struct peer_cmd *pc, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "ttl", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "admin-socket", required_argument, NULL, OPT_ADMIN_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *ttl = "1h", *url;
	char refusal[MODEL_NAME_MAX + 96], example[MODEL_NAME_MAX + 64], when[32];
	json_t *answer, *body;
	char *path;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': ttl = optarg; break;
		case OPT_JSON: pc->json = true; break;
		case OPT_ADMIN_SOCKET: pc->admin_socket = optarg; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "zerowg: peer link needs one NAME (e.g. zerowg peer link phone "
			"--ttl 1h)\n");
		return 1;
	}
	if (check_name(pc, argv[optind]) < 0)
		return 1;
	snprintf(refusal, sizeof(refusal), "%s: no link made: the link opens its client config "
		 "(with its private key)", pc->subject);
	snprintf(example, sizeof(example), "zerowg peer link %s | cat", pc->name);
	if (cli_secret_stdout_check(refusal, example))
		return 1;
	if (client_open(&pc->client, pc->admin_socket) < 0)
		return 1;
	path = client_peer_path(pc->name, "/links");
	body = json_pack("{ss}", "ttl", ttl);
	if (!path || !body) {
		fprintf(stderr, "zerowg: out of memory\n");
		free(path);
		json_decref(body);
		return 1;
	}
	answer = client_call(&pc->client, "POST", path, body, pc->subject, NULL);
	free(path);
	json_decref(body);
	if (!answer)
		return 1;
	url = json_string_value(json_object_get(answer, "url"));
	if (pc->json) {
		print_json(answer);
	} else if (url) {
		format_time(int_of(answer, "expires"), when, sizeof(when));
		printf("%s\n", url);
		fprintf(stderr, "zerowg: %s: this link shows its config once, until %s\n",
			pc->subject, when);
	}
	json_decref(answer);
	return url ? 0 : 1;
}

/* The per-client firewall: the rules are checked here first with the
 * control layer's own parser, so a bad one is named before anything is
 * sent. */
static int cmd_firewall(struct peer_cmd *pc, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "allow", required_argument, NULL, 'a' },
		{ "clear", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "admin-socket", required_argument, NULL, OPT_ADMIN_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *allow[FIREWALL_MAX_RULES + 1];
	struct firewall_rule *rules = NULL;
	struct control_error e;
	json_t *answer, *body, *list;
	size_t n = 0, more = 0;
	bool clear = false;
	char *path;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (n < FIREWALL_MAX_RULES + 1)
				allow[n++] = optarg;
			else
				more++;
			break;
		case 'c': clear = true; break;
		case OPT_JSON: pc->json = true; break;
		case OPT_ADMIN_SOCKET: pc->admin_socket = optarg; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (argc - optind != 1 || clear == (n > 0)) {
		fprintf(stderr, "zerowg: peer firewall needs one NAME and either --allow RULE "
			"(repeatable) or --clear (e.g. zerowg peer firewall phone --allow "
			"192.168.1.0/24 --allow 10.0.0.5:443/tcp)\n");
		return 1;
	}
	if (check_name(pc, argv[optind]) < 0)
		return 1;
	control_error_clear(&e);
	if (firewall_rules_parse(allow, n + more, pc->subject, &rules, &e) < 0) {
		cli_control_error(NULL, &e);
		return 1;
	}
	free(rules);
	list = clear ? json_null() : json_array();
	for (size_t i = 0; list && !clear && i < n; i++)
		if (json_array_append_new(list, json_string(allow[i])))
			break;
	body = list ? json_pack("{so}", "allow", list) : NULL;
	path = client_peer_path(pc->name, "/firewall");
	if (!path || !body) {
		fprintf(stderr, "zerowg: out of memory\n");
		free(path);
		json_decref(body);
		return 1;
	}
	if (client_open(&pc->client, pc->admin_socket) < 0) {
		free(path);
		json_decref(body);
		return 1;
	}
	answer = client_call(&pc->client, "PUT", path, body, pc->subject, NULL);
	free(path);
	json_decref(body);
	if (!answer)
		return 1;
	if (pc->json) {
		print_json(answer);
	} else if (clear) {
		printf("zerowg: %s may reach everything again\n", pc->subject);
	} else {
		printf("zerowg: %s ", pc->subject);
		print_firewall("", json_object_get(answer, "firewall"));
	}
	json_decref(answer);
	return 0;
}

/* peer_set.c, with this command's --admin-socket default. */
static int cmd_set(struct peer_cmd *pc, int argc, char *argv[])
{
	return peer_set_main(pc->admin_socket, argc, argv);
}

int peer_main(int argc, char *argv[])
{
	return peer_main_at(NULL, argc, argv);
}

int peer_main_at(const char *admin_socket, int argc, char *argv[])
{
	static const struct {
		const char *name;
		int (*fn)(struct peer_cmd *pc, int argc, char *argv[]);
	} cmds[] = {
		{ "add", cmd_add }, { "list", cmd_list }, { "ls", cmd_list },
		{ "show", cmd_show }, { "enable", cmd_change }, { "disable", cmd_change },
		{ "revoke", cmd_change }, { "rotate", cmd_rotate }, { "link", cmd_link },
		{ "firewall", cmd_firewall }, { "set", cmd_set },
	};
	struct peer_cmd pc;
	size_t i;
	int ret;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	memset(&pc, 0, sizeof(pc));
	pc.admin_socket = admin_socket;	/* --admin-socket still wins */
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			ret = cmds[i].fn(&pc, argc - 1, argv + 1);
			client_close(&pc.client);
			return ret;
		}
	}
	fprintf(stderr, "zerowg: peer has no subcommand \"%s\" (add, list, show, enable, "
		"disable, revoke, rotate, link, firewall, set)\n", argv[1]);
	return 1;
}
