/*
 * app.c - `zerowg app ...`: application networks (docs/apps.md).  An app
 * is a zerowg server of its own whose tunnel interface lives in a network
 * namespace of its own, where it is the only interface besides `lo`, while
 * its UDP socket stays in the caller's namespace; a command run in that
 * namespace has the tunnel and nothing else as its network.
 *
 *   zerowg app create NAME [--port N] [--subnet CIDR] [--endpoint HOST[:PORT]]
 *   zerowg app list | show NAME | remove NAME
 *   zerowg app link A B
 *   zerowg app peer NAME <peer verbs>      (peer.c, on the app's admin socket)
 *   zerowg app run NAME [--user U] -- CMD [ARGS...]
 *   zerowg app up NAME
 *
 * Each app has its own sealed store, <data>/apps/NAME, under the unseal key
 * of the main store (<data>), with the app's key pair, port and addresses
 * in its server record and its peers as peer records.  The addresses come
 * from one ULA /48 per data directory (kept sealed in <data>/apps/.prefix)
 * and a private /16 (appnet.h).  Its admin socket is
 * <runtime>/zerowg/apps/NAME.sock.
 *
 * `run` and `up` are in app_run.c; stores, paths and the key in app_store.c.
 *
 * Relies on appnet.h (names, address allocation), control.h (records),
 * store.h, client.h (running or not, reload) and peer.c.
 */
#include "cli.h"
#include "app.h"
#include "appnet.h"
#include "client.h"
#include "control.h"
#include "crypto.h"
#include "model.h"
#include "paths.h"
#include "store.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define OPT_PORT 0x300
#define OPT_SUBNET 0x301
#define OPT_ENDPOINT 0x302
#define OPT_USER 0x303


static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zerowg app create NAME [--port N] [--subnet CIDR] [--endpoint HOST[:PORT]]\n"
		"       zerowg app list\n"
		"       zerowg app show NAME\n"
		"       zerowg app link A B\n"
		"       zerowg app peer NAME add|list|show|enable|disable|revoke|rotate ...\n"
		"       zerowg app run NAME [--user U] -- CMD [ARGS...]\n"
		"       zerowg app up NAME\n"
		"       zerowg app remove NAME\n\n"
		"An app is a network of its own: a key pair, addresses and peers kept\n"
		"sealed in <data>/apps/NAME, and a network namespace whose only interfaces\n"
		"are lo and the app's tunnel (its UDP socket stays where you are).\n\n"
		"create  a new app: addresses from the apps' ULA /48 and 10.14.0.0/16 (or\n"
		"        --subnet), the first free UDP port from %d (or --port).\n"
		"list, show  the apps: addresses, port, public key, running or not.\n"
		"link    makes A and B peers of each other on this host (127.0.0.1).\n"
		"peer    `zerowg peer ...` on the running app (hot: sessions are kept).\n"
		"run     starts the app, runs CMD inside its namespace (as you; as root,\n"
		"        as root unless --user), stops the app when CMD exits, and exits\n"
		"        with CMD's status.\n"
		"up      starts the app and stays in the foreground (systemd: Type=notify);\n"
		"        join it with /run/netns/NAME (root) or the path it prints.\n"
		"remove  deletes the app and its keys (refused while it runs).\n"
		"Every subcommand takes --data DIR (the main store; default %s,\n"
		"as a user $XDG_DATA_HOME/zerowg), --key-fd N and --credential NAME: apps\n"
		"use the main store's unseal key (`zerowg init` first).\n",
		APPNET_FIRST_PORT, CLI_DEFAULT_DATA_DIR);
}

/* ------------------------------------------------------------ create -- */

static int cmd_create(struct app_cmd *ac, const char *name)
{
	struct ip_prefix ula, net4, net6, *used = NULL;
	uint16_t *ports = NULL, port = 0;
	char **names = NULL, dir[PATH_MAX], uri[PATH_MAX + 8], lockpath[PATH_MAX];
	char s4[MODEL_PREFIX_STRLEN], s6[MODEL_PREFIX_STRLEN], allowed[128], ptext[8];
	char err[512] = "", pub64[KEY_BASE64_LEN + 1];
	struct server_options o;
	struct control_error e;
	struct store *st = NULL;
	size_t n = 0, n_used = 0, n_ports = 0;
	bool made = false;
	int lockfd = -1, ret, status = 1;

	server_options_init(&o);
	control_error_clear(&e);
	if (app_check_name(ac, name, false) || app_load_key(ac))
		goto out;
	if (ac->port) {
		unsigned long v;
		if (cli_parse_uint(ac->port, 1, 65535, &v) < 0) {
			fprintf(stderr, "zerowg: --port \"%s\" is not a UDP port (1 to 65535)\n",
				ac->port);
			goto out;
		}
		port = (uint16_t)v;
	}
	if (ac->subnet) {
		if (model_parse_prefix(ac->subnet, &net4, false) < 0 || net4.family != AF_INET ||
		    net4.len > 30 || net4.len < 8) {
			fprintf(stderr, "zerowg: --subnet \"%s\" is not an IPv4 subnet from /8 to /30 "
				"without host bits (e.g. 10.14.7.0/24)\n", ac->subnet);
			goto out;
		}
	}
	if (ac->endpoint && !model_endpoint_valid(ac->endpoint, &e)) {
		fprintf(stderr, "zerowg: --endpoint: %s\n", e.msg);
		goto out;
	}
	ret = app_mkdirs(ac->apps_dir, 0700);
	if (ret < 0) {
		fprintf(stderr, "zerowg: cannot create %s: %s\n", ac->apps_dir, strerror(-ret));
		goto out;
	}
	/* One create at a time: two must not take the same addresses. */
	snprintf(lockpath, sizeof(lockpath), "%s/.create.lock", ac->apps_dir);
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
		fprintf(stderr, "zerowg: cannot lock %s: %s\n", lockpath, strerror(errno));
		goto out;
	}
	if (app_exists(ac, name)) {
		fprintf(stderr, "zerowg: app \"%s\" exists already (zerowg app show %s); pick "
			"another name, or zerowg app remove %s first\n", name, name, name);
		goto out;
	}
	if (app_ula48(ac, true, &ula))
		goto out;
	/* What the other apps use. */
	ret = app_list_names(ac, &names, &n);
	if (ret < 0) {
		fprintf(stderr, "zerowg: listing %s: %s\n", ac->apps_dir, strerror(-ret));
		goto out;
	}
	used = calloc(2 * n + 1, sizeof(*used));
	ports = calloc(n + 1, sizeof(*ports));
	if (!used || !ports) {
		fprintf(stderr, "zerowg: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct app_info a;

		if (app_read(ac, names[i], &a))
			goto out;
		used[n_used++] = a.net4;
		used[n_used++] = a.net6;
		ports[n_ports++] = a.rec.listen_port;
		app_info_free(&a);
	}
	if (ac->subnet) {
		for (size_t i = 0; i < n_used; i++)
			if (used[i].family == AF_INET && (model_prefix_contains(&used[i], &net4) ||
							  model_prefix_contains(&net4, &used[i]))) {
				model_format_prefix(&used[i], s4, sizeof(s4));
				fprintf(stderr, "zerowg: --subnet %s overlaps %s, the subnet of app "
					"\"%s\": pick another one\n", ac->subnet, s4, names[i / 2]);
				goto out;
			}
	} else {
		struct ip_prefix pool;

		if (model_parse_prefix(APPNET_IPV4_POOL, &pool, false) < 0 ||
		    appnet_next_ipv4(&pool, used, n_used, &net4) < 0) {
			fprintf(stderr, "zerowg: every /24 of %s is taken by an app: give this one "
				"--subnet CIDR\n", APPNET_IPV4_POOL);
			goto out;
		}
	}
	if (appnet_next_ipv6(&ula, used, n_used, &net6) < 0) {
		fprintf(stderr, "zerowg: every /64 of the apps' prefix is taken\n");
		goto out;
	}
	if (port) {
		for (size_t i = 0; i < n_ports; i++)
			if (ports[i] == port) {
				fprintf(stderr, "zerowg: --port %u is app \"%s\"'s: pick another one, "
					"or leave --port out (the first free from %d)\n", port,
					names[i], APPNET_FIRST_PORT);
				goto out;
			}
	} else if (appnet_next_port(APPNET_FIRST_PORT, APPNET_LAST_PORT, ports, n_ports,
				    app_udp_port_free, NULL, &port) < 0) {
		fprintf(stderr, "zerowg: no free UDP port from %d to %d: give --port N\n",
			APPNET_FIRST_PORT, APPNET_LAST_PORT);
		goto out;
	}
	{
		struct ip_prefix h4;

		appnet_first_host(&net4, &h4);
		model_format_prefix(&net4, s4, sizeof(s4));
		model_format_prefix(&net6, s6, sizeof(s6));
		snprintf(allowed, sizeof(allowed), "%s, %s", s4, s6);
	}
	snprintf(ptext, sizeof(ptext), "%u", port);
	/* No NAT and no DNS relay: the namespace has nothing to masquerade
	 * to, and a relay would answer from outside it. */
	if (server_options_set(&o, "interface", name, &e) < 0 ||
	    server_options_set(&o, "port", ptext, &e) < 0 ||
	    server_options_set(&o, "subnet", s4, &e) < 0 ||
	    server_options_set(&o, "dns", "", &e) < 0 ||
	    server_options_set(&o, "nat", "off", &e) < 0 ||
	    server_options_set(&o, "allowed-ips", allowed, &e) < 0 ||
	    (ac->endpoint && server_options_set(&o, "endpoint", ac->endpoint, &e) < 0)) {
		fprintf(stderr, "zerowg: app \"%s\": %s\n", name, e.msg);
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/%.*s", ac->apps_dir, APPNET_NAME_MAX, name);
	app_store_uri(ac, name, uri, sizeof(uri));
	ret = store_create(uri, ac->key, &st, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "zerowg: app \"%s\": %s\n", name, err[0] ? err : strerror(-ret));
		goto out;
	}
	made = true;
	ret = control_init_server(st, &o, &e);
	if (ret == 0)
		ret = app_set_ipv6(st, &net6, &e);
	if (ret < 0) {
		fprintf(stderr, "zerowg: app \"%s\": %s\n", name, e.msg[0] ? e.msg : strerror(-ret));
		goto out;
	}
	store_close(st);
	st = NULL;
	{
		struct app_info a;

		if (app_read(ac, name, &a))
			goto out;
		key_to_base64(pub64, a.public_key);
		app_info_free(&a);
	}
	made = false;
	{
		struct ip_prefix h4, h6;
		char a4[MODEL_PREFIX_STRLEN], a6[MODEL_PREFIX_STRLEN];

		appnet_first_host(&net4, &h4);
		appnet_first_host(&net6, &h6);
		h4.len = net4.len;
		h6.len = net6.len;
		model_format_prefix(&h4, a4, sizeof(a4));
		model_format_prefix(&h6, a6, sizeof(a6));
		printf("zerowg: app \"%s\" created: %s and %s, UDP port %u, public key %s\n",
		       name, a4, a6, port, pub64);
		printf("zerowg: run a command in it: zerowg app run %s -- CMD; add a peer: "
		       "zerowg app peer %s add NAME (while it runs)\n", name, name);
	}
	status = 0;
out:
	store_close(st);
	if (made)
		app_remove_store_dir(dir);
	if (lockfd >= 0)
		close(lockfd);
	free(used);
	free(ports);
	app_free_names(names, n);
	server_options_free(&o);
	return status;
}

/* -------------------------------------------------------- list, show -- */

static void format_host(const struct app_info *a, int family, char *buf, size_t len)
{
	struct ip_prefix p = { .family = family };

	if (family == AF_INET) {
		p.addr.v4 = a->rec.ipv4;
		p.len = a->rec.ipv4_prefix;
	} else {
		p.addr.v6 = a->rec.ipv6;
		p.len = a->rec.ipv6_prefix;
	}
	model_format_prefix(&p, buf, len);
}

/* The namespace a running app's command joins ("" if unknown). */
static void running_netns(const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	buf[0] = '\0';
	app_ns_file(name, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static int cmd_list(struct app_cmd *ac)
{
	char **names = NULL;
	size_t n = 0;
	int ret;

	ret = app_list_names(ac, &names, &n);
	if (ret < 0) {
		fprintf(stderr, "zerowg: listing %s: %s\n", ac->apps_dir, strerror(-ret));
		return 1;
	}
	if (n == 0) {
		printf("No apps yet: zerowg app create NAME makes one.\n");
		app_free_names(names, n);
		return 0;
	}
	if (app_load_key(ac)) {
		app_free_names(names, n);
		return 1;
	}
	printf("%-15s  %-18s  %-24s  %-5s  %-5s  %s\n", "NAME", "IPV4", "IPV6", "PORT", "PEERS",
	       "RUNNING");
	for (size_t i = 0; i < n; i++) {
		struct app_info a;
		char a4[MODEL_PREFIX_STRLEN], a6[MODEL_PREFIX_STRLEN];

		if (app_read(ac, names[i], &a)) {
			ret = 1;
			continue;
		}
		format_host(&a, AF_INET, a4, sizeof(a4));
		format_host(&a, AF_INET6, a6, sizeof(a6));
		printf("%-15s  %-18s  %-24s  %-5u  %-5zu  %s\n", a.name, a4, a6, a.rec.listen_port,
		       a.n_peers, app_running(a.name) ? "yes" : "no");
		app_info_free(&a);
	}
	app_free_names(names, n);
	return ret ? 1 : 0;
}

static int cmd_show(struct app_cmd *ac, const char *name)
{
	char a4[MODEL_PREFIX_STRLEN], a6[MODEL_PREFIX_STRLEN], pub64[KEY_BASE64_LEN + 1];
	char sock[PATH_MAX], ns[PATH_MAX];
	struct app_info a;

	if (app_check_name(ac, name, true) || app_read(ac, name, &a))
		return 1;
	format_host(&a, AF_INET, a4, sizeof(a4));
	format_host(&a, AF_INET6, a6, sizeof(a6));
	key_to_base64(pub64, a.public_key);
	app_admin_socket(name, sock, sizeof(sock));
	printf("app: %s\n", name);
	printf("  public key: %s\n", pub64);
	printf("  addresses: %s, %s\n", a4, a6);
	printf("  listening port: %u\n", a.rec.listen_port);
	printf("  peers: %zu", a.n_peers);
	for (size_t i = 0; i < a.n_peers; i++)
		printf("%s%s%s", i ? ", " : " (", a.peers[i].name, i + 1 == a.n_peers ? ")" : "");
	printf("\n");
	if (client_server_running(sock)) {
		running_netns(name, ns, sizeof(ns));
		printf("  running: yes\n");
		printf("  network namespace: %s\n", ns[0] ? ns : "(unknown)");
	} else {
		printf("  running: no (zerowg app up %s, or zerowg app run %s -- CMD)\n", name, name);
	}
	printf("  admin socket: %s\n", sock);
	printf("  store: %s/%s\n", ac->apps_dir, name);
	app_info_free(&a);
	return 0;
}

/* ------------------------------------------------------------ remove -- */

static int cmd_remove(struct app_cmd *ac, const char *name)
{
	char dir[PATH_MAX];

	if (app_check_name(ac, name, true))
		return 1;
	if (app_running(name)) {
		fprintf(stderr, "zerowg: app \"%s\" is running: stop it first (its `zerowg app "
			"run` or `up`, or systemctl stop zerowg-app@%s), then remove it\n", name,
			name);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/%.*s", ac->apps_dir, APPNET_NAME_MAX, name);
	app_remove_store_dir(dir);
	if (app_exists(ac, name)) {
		fprintf(stderr, "zerowg: app \"%s\": cannot remove %s: %s\n", name, dir,
			strerror(errno));
		return 1;
	}
	printf("zerowg: app \"%s\" removed: its key pair and peers are gone (apps linked to "
	       "it keep a peer \"%s\": zerowg app peer OTHER revoke %s)\n", name, name, name);
	return 0;
}

/* -------------------------------------------------------------- link -- */

/* Tells a running app to re-read its store (another process wrote it). */
static int reload_if_running(const char *name)
{
	char sock[PATH_MAX], subject[64];
	struct client c;
	json_t *answer;

	app_admin_socket(name, sock, sizeof(sock));
	if (!client_server_running(sock))
		return 0;
	if (client_open(&c, sock) < 0)
		return 1;
	snprintf(subject, sizeof(subject), "app \"%s\"", name);
	answer = client_call(&c, "POST", "/v1/reload", NULL, subject, NULL);
	client_close(&c);
	if (!answer)
		return 1;
	json_decref(answer);
	return 0;
}

/* Who changes the stores, for their audit trail. */
static struct actor local_actor(void)
{
	struct actor a = { .kind = ACTOR_LOCAL, .role = ROLE_ADMIN, .via = "cli",
			   .uid = getuid() };

	snprintf(a.name, sizeof(a.name), "uid %u", (unsigned)getuid());
	return a;
}

/* Adds `other` as a peer of the app open in ctl. */
static int add_link_peer(struct control *ctl, const struct app_info *self,
			 const struct app_info *other, const uint8_t psk[MODEL_KEY_LEN])
{
	char r4[MODEL_PREFIX_STRLEN], r6[MODEL_PREFIX_STRLEN], ep[32];
	const char *routes[2] = { r4, r6 };
	struct actor who = local_actor();
	struct peer_add_request req;
	struct peer_add_result res;
	struct control_error e;
	int ret;

	model_format_prefix(&other->net4, r4, sizeof(r4));
	model_format_prefix(&other->net6, r6, sizeof(r6));
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", other->rec.listen_port);
	memset(&req, 0, sizeof(req));
	req.name = other->name;
	req.routes = routes;
	req.n_routes = 2;
	req.persistent_keepalive = -1;
	req.public_key = other->public_key;
	req.preshared_key = psk;
	req.endpoint = ep;
	control_error_clear(&e);
	ret = control_peer_add(ctl, &req, &res, &who, &e);
	if (ret < 0) {
		if (ret == -EEXIST)
			fprintf(stderr, "zerowg: app \"%s\" has a peer \"%s\" already (linked "
				"before? zerowg app peer %s revoke %s undoes it)\n", self->name,
				other->name, self->name, other->name);
		else
			fprintf(stderr, "zerowg: app \"%s\": %s\n", self->name, e.msg);
		return 1;
	}
	control_peer_add_result_free(&res);
	return 0;
}

static int cmd_link(struct app_cmd *ac, const char *a_name, const char *b_name)
{
	struct app_info a = { 0 }, b = { 0 };
	struct store *sa = NULL, *sb = NULL;
	struct control *ca = NULL, *cb = NULL;
	uint8_t psk[MODEL_KEY_LEN];
	struct control_error e;
	int status = 1;

	if (app_check_name(ac, a_name, true) || app_check_name(ac, b_name, true))
		return 1;
	if (!strcmp(a_name, b_name)) {
		fprintf(stderr, "zerowg: app link needs two different apps (\"%s\" twice)\n",
			a_name);
		return 1;
	}
	if (app_read(ac, a_name, &a) || app_read(ac, b_name, &b))
		goto out;
	if (app_open(ac, a_name, &sa, &ca) || app_open(ac, b_name, &sb, &cb))
		goto out;
	/* One preshared key, on both ends. */
	if (!crypto_random(psk, sizeof(psk))) {
		fprintf(stderr, "zerowg: the system's random source failed\n");
		goto out;
	}
	if (add_link_peer(ca, &a, &b, psk))
		goto out;
	if (add_link_peer(cb, &b, &a, psk)) {
		struct actor who = local_actor();

		control_error_clear(&e);
		if (control_peer_revoke(ca, b_name, &who, &e) < 0)
			fprintf(stderr, "zerowg: app \"%s\": taking back peer \"%s\": %s\n", a_name,
				b_name, e.msg);
		goto out;
	}
	app_close(sa, ca);
	app_close(sb, cb);
	sa = sb = NULL;
	ca = cb = NULL;
	status = reload_if_running(a_name) | reload_if_running(b_name);
	printf("zerowg: apps \"%s\" and \"%s\" are linked: each is a peer of the other "
	       "(127.0.0.1:%u and 127.0.0.1:%u)\n", a_name, b_name, a.rec.listen_port,
	       b.rec.listen_port);
out:
	explicit_bzero(psk, sizeof(psk));
	app_close(sa, ca);
	app_close(sb, cb);
	app_info_free(&a);
	app_info_free(&b);
	return status;
}

/* -------------------------------------------------------------- main -- */

int app_main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		CLI_STORE_LONGOPTS,
		{ "port", required_argument, NULL, OPT_PORT },
		{ "subnet", required_argument, NULL, OPT_SUBNET },
		{ "endpoint", required_argument, NULL, OPT_ENDPOINT },
		{ "user", required_argument, NULL, OPT_USER },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct app_cmd ac;
	const char *verb;
	char **args, **cmd = NULL;
	int nargs = 0, c, ret = 1;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	verb = argv[1];
	if (cli_is_help(verb) || !strcmp(verb, "help")) {
		usage(stdout);
		return 0;
	}
	memset(&ac, 0, sizeof(ac));
	cli_store_opts_init(&ac.so);
	/* `app peer NAME ...` is peer.c's, on the app's socket. */
	if (!strcmp(verb, "peer")) {
		char sock[PATH_MAX];

		if (argc < 3 || cli_is_help(argv[2])) {
			fprintf(argc < 3 ? stderr : stdout, "Usage: zerowg app peer NAME add|list|show|"
				"enable|disable|revoke|rotate ... (as zerowg peer; the app must run)\n");
			return argc < 3 ? 1 : 0;
		}
		if (app_check_name(&ac, argv[2], false))
			return 1;
		app_admin_socket(argv[2], sock, sizeof(sock));
		if (argc > 3 && !cli_is_help(argv[3]) && !client_server_running(sock)) {
			fprintf(stderr, "zerowg: app \"%s\" is not running (its admin API would be "
				"on %s): start it (zerowg app up %s, or zerowg app run %s -- CMD), "
				"then change its peers\n", argv[2], sock, argv[2], argv[2]);
			return 1;
		}
		argv[2] = "peer";
		return peer_main_at(sock, argc - 2, argv + 2);
	}
	/* Options anywhere before "--"; what follows "--" is run's command. */
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args) {
		fprintf(stderr, "zerowg: out of memory\n");
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			cmd = argv + i + 1;
			argc = i;
			break;
		}
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PORT: ac.port = optarg; break;
		case OPT_SUBNET: ac.subnet = optarg; break;
		case OPT_ENDPOINT: ac.endpoint = optarg; break;
		case OPT_USER: ac.user = optarg; break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		default:
			if (c == '?' || cli_store_option(&ac.so, c, optarg) <= 0) {
				if (c != '?')
					usage(stderr);
				goto out;
			}
		}
	}
	for (int i = optind + 1; i < argc; i++)
		args[nargs++] = argv[i];
	if (ac.so.store_uri) {
		fprintf(stderr, "zerowg: app takes --data DIR, not --store (apps live in "
			"DIR/apps)\n");
		goto out;
	}
	snprintf(ac.data_dir, sizeof(ac.data_dir), "%s",
		 ac.so.data_dir ? ac.so.data_dir : paths_data_dir());
	snprintf(ac.apps_dir, sizeof(ac.apps_dir), "%s/apps", ac.data_dir);
	if ((ac.port || ac.subnet || ac.endpoint) && strcmp(verb, "create")) {
		fprintf(stderr, "zerowg: --port, --subnet and --endpoint are for app create\n");
		goto out;
	}
	if (ac.user && strcmp(verb, "run")) {
		fprintf(stderr, "zerowg: --user is for app run (who runs the command)\n");
		goto out;
	}
	if (cmd && strcmp(verb, "run")) {
		fprintf(stderr, "zerowg: only app run takes a command after --\n");
		goto out;
	}
#define WANT(k, example)							\
	do {									\
		if (nargs != (k)) {						\
			fprintf(stderr, "zerowg: app %s needs %s (e.g. zerowg app %s)\n", \
				verb, (k) == 1 ? "one NAME" : (k) == 2 ? "two NAMEs" : \
				"no argument", example);			\
			goto out;						\
		}								\
	} while (0)
	if (!strcmp(verb, "create")) {
		WANT(1, "create web");
		ret = cmd_create(&ac, args[0]);
	} else if (!strcmp(verb, "list") || !strcmp(verb, "ls")) {
		WANT(0, "list");
		ret = cmd_list(&ac);
	} else if (!strcmp(verb, "show")) {
		WANT(1, "show web");
		ret = cmd_show(&ac, args[0]);
	} else if (!strcmp(verb, "remove") || !strcmp(verb, "rm")) {
		WANT(1, "remove web");
		ret = cmd_remove(&ac, args[0]);
	} else if (!strcmp(verb, "link")) {
		WANT(2, "link web db");
		ret = cmd_link(&ac, args[0], args[1]);
	} else if (!strcmp(verb, "run")) {
		WANT(1, "run web -- python3 -m http.server");
		if (!cmd || !cmd[0]) {
			fprintf(stderr, "zerowg: app run needs a command after -- (e.g. zerowg app "
				"run %s -- sh)\n", args[0]);
			goto out;
		}
		ret = app_run(&ac, args[0], cmd);
	} else if (!strcmp(verb, "up")) {
		WANT(1, "up web");
		ret = app_run(&ac, args[0], NULL);
	} else {
		fprintf(stderr, "zerowg: app has no subcommand \"%s\" (create, list, show, link, "
			"peer, run, up, remove)\n", verb);
	}
#undef WANT
out:
	store_key_free(ac.key);
	free(args);
	return ret;
}
