/*
 * init.c - `zerowg init`: creates a sealed store with the server's record
 * (a fresh key pair, a fresh ULA /64, the subnet, port, endpoint and DNS
 * given) and shows the store's new unseal key once.
 *
 *   zerowg init [--data DIR] [--store URI] [--keyring] [--key-fd N]
 *               [--subnet CIDR] [--port N] [--endpoint HOST[:PORT]]
 *               [--dns LIST] [--interface NAME] [--allowed-ips LIST]
 *               [--mtu N] [--no-nat]
 *
 * A new store's defaults give a full-tunnel client (AllowedIPs 0.0.0.0/0,
 * ::/0) a working internet out of the box: NAT on and DNS "auto" (the
 * server's tunnel address, where `zerowg up` answers DNS).
 *
 * The unseal key is generated here (or read from --key-fd, then not shown)
 * and lives only in locked memory, on stdout once (a terminal or a pipe:
 * when stdout is a file, init refuses before it creates anything), and
 * with --keyring in the kernel keyring for the server's next start (its
 * clean stop removes it; a week at most); never in the
 * data directory.  An existing store is never overwritten.
 *
 * Relies on store.h (create, key handling) and control.h (server record,
 * option validation shared with `zerowg up`).
 */
#include "cli.h"
#include "paths.h"
#include "control.h"
#include "store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zerowg init [options]\n\n"
		"Creates the sealed store of a new server and shows its unseal key once.\n\n"
		"Options:\n"
		CLI_STORE_USAGE
		"  --keyring          also keep the key in the kernel keyring for this boot,\n"
		"                     where `zerowg up` finds it; the server's first clean\n"
		"                     stop removes it (a week at most in any case)\n"
		"  --subnet CIDR      the tunnel's IPv4 subnet (default 10.13.13.0/24)\n"
		"  --port N           the UDP port to listen on (default 51820)\n"
		"  --endpoint HOST[:PORT]  how clients reach the server (e.g. vpn.example.com)\n"
		"  --dns LIST         DNS servers for the clients (default \"auto\": the server's\n"
		"                     tunnel address, where it relays DNS; \"none\": no DNS line)\n"
		"  --interface NAME   the interface name (default zwg0)\n"
		"  --allowed-ips LIST what clients route through the tunnel (default 0.0.0.0/0, ::/0)\n"
		"  --mtu N            the interface's MTU (default 1420)\n"
		"  --no-nat           do not forward and masquerade the clients' traffic to the\n"
		"                     internet (default: on, through the default route)\n"
		"With --key-fd the store is sealed with the key read from that descriptor\n"
		"(32 raw bytes, base64 or hex), which is then not shown.\n");
}

/* The long options that are server settings, by their server_options name. */
static const struct option longopts[] = {
	CLI_STORE_LONGOPTS,
	{ "keyring", no_argument, NULL, CLI_OPT_KEYRING },
	CLI_SERVER_LONGOPTS,
	{ "no-nat", no_argument, NULL, CLI_OPT_NO_NAT },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

/*
 * Shows the new key once, with what to do with it.  The lines holding the
 * key go through cli_print_secret (write(2)) and are wiped.
 */
static int show_unseal_key(const struct store_key *key, const char *dir, bool in_keyring)
{
	char b64[45], line[128];
	int ret;

	printf("\nThe unseal key of this store (shown only now; zerowg keeps it nowhere):\n\n");
	store_key_to_base64(key, b64);
	snprintf(line, sizeof(line), "    %s\n\n", b64);
	ret = cli_print_secret(line);
	explicit_bzero(b64, sizeof(b64));
	explicit_bzero(line, sizeof(line));
	if (ret) {
		fprintf(stderr, "zerowg: cannot write the unseal key to stdout: %s\n", strerror(-ret));
		return 1;
	}
	printf("Without it nobody, you included, can open %s again: keep a copy in a\n"
	       "password manager.  `zerowg up` takes it from one of:\n", dir);
	if (in_keyring)
		printf("  - the kernel keyring (done: it is there for the server's next start; its\n"
		       "    clean stop removes it, and a reboot or a week at most);\n");
	else
		printf("  - the kernel keyring, for the server's next start: zerowg init --keyring\n"
		       "    does that;\n");
	printf("  - a systemd credential (production): paste the key, then Ctrl-D, into\n"
	       "      systemd-creds encrypt --name=zerowg-unseal-key - /etc/credstore.encrypted/zerowg-unseal-key\n"
	       "    and give the service\n"
	       "      LoadCredentialEncrypted=zerowg-unseal-key:/etc/credstore.encrypted/zerowg-unseal-key\n"
	       "  - a pipe from a secret manager: pass show zerowg | zerowg up --key-fd 0;\n"
	       "  - the terminal: zerowg up asks for it when nothing else has it.\n");
	fflush(stdout);
	return 0;
}

/* mkdir -p of path's parent directories (0700, as they are made for us
 * alone); errors are left for the store to report. */
static void make_parents(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return;
	for (char *p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return;
		*p = '/';
	}
}

int init_main(int argc, char *argv[])
{
	struct cli_store_opts so;
	struct server_options opts;
	struct server_record srv;
	struct control_error e;
	struct store_key *key = NULL;
	struct store *st = NULL;
	struct control *ctl = NULL;
	uint8_t pub[MODEL_KEY_LEN];
	char pub64[KEY_BASE64_LEN + 1], err[512], v4[64], v6[64];
	const char *where = NULL;
	char *uri = NULL;
	int c, r, ret = 1;

	cli_store_opts_init(&so);
	server_options_init(&opts);
	memset(&srv, 0, sizeof(srv));
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		const char *name = NULL, *value = optarg;

		switch (c) {
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		case '?':
			usage(stderr);
			goto out;
		default:
			name = cli_server_option(c, &value);
			if (name)
				break;
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
		fprintf(stderr, "zerowg: init takes no argument \"%s\" (options start with --)\n",
			argv[optind]);
		goto out;
	}
	if (so.keyring_key && !so.keyring) {
		fprintf(stderr, "zerowg: --keyring-key %s names the key init puts in the kernel "
			"keyring: give --keyring too\n", so.keyring_key);
		goto out;
	}
	if (so.store_uri && !strcmp(so.store_uri, "memory:")) {
		fprintf(stderr, "zerowg: --store memory: keeps nothing after the process ends, so "
			"there is nothing to init; `zerowg up --store memory:` makes a fresh one "
			"itself\n");
		goto out;
	}
	/* The new key is shown on stdout: where it would land in a file,
	 * create nothing (a store nobody can open is worse than none). */
	if (so.key_fd < 0 &&
	    cli_secret_stdout_check("not creating the store: its new unseal key is shown "
				    "once, on stdout", "zerowg init, or zerowg init | less; or "
				    "seal it with your own key: zerowg init --key-fd 3 3<KEYFILE"))
		goto out;
	/* A user's default store (~/.local/share/zerowg) may be the first
	 * thing under ~/.local/share: make its parents, as XDG tools do. */
	if (!so.data_dir && !so.store_uri && geteuid() != 0)
		make_parents(paths_data_dir());
	uri = cli_store_uri(so.data_dir, so.store_uri);
	if (!uri || !(key = store_key_new())) {
		fprintf(stderr, "zerowg: out of memory\n");
		goto out;
	}
	if (so.key_fd >= 0) {
		struct store_key_source src = { .fd = so.key_fd, .allow_prompt = false };

		store_key_free(key);
		key = NULL;
		r = store_key_load(&src, &key, &where, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "zerowg: --key-fd %d: %s\n", so.key_fd, err);
			goto out;
		}
	} else if (store_key_generate(key) < 0) {
		fprintf(stderr, "zerowg: cannot get random bytes for the unseal key\n");
		goto out;
	}

	r = store_create(uri, key, &st, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "zerowg: %s\n", err);
		goto out;
	}
	r = control_init_server(st, &opts, &e);
	if (r < 0) {
		cli_control_error(uri, &e);
		fprintf(stderr, "zerowg: the store at %s was created but holds no server: "
			"remove it and run `zerowg init` again\n", uri);
		goto out;
	}
	r = control_open(st, &ctl, &e);
	if (r < 0) {
		cli_control_error(uri, &e);
		goto out;
	}
	r = control_get_server(ctl, &srv, pub);
	if (r < 0) {
		fprintf(stderr, "zerowg: %s: reading back the server record: %s\n", uri,
			strerror(-r));
		goto out;
	}
	key_to_base64(pub64, pub);
	inet_ntop(AF_INET, &srv.ipv4, v4, sizeof(v4));
	inet_ntop(AF_INET6, &srv.ipv6, v6, sizeof(v6));
	printf("zerowg: created the store %s\n"
	       "  interface   %s, UDP port %u\n"
	       "  tunnel      %s/%u and %s/%u\n"
	       "  public key  %s\n",
	       uri, srv.interface, srv.listen_port, v4, srv.ipv4_prefix, v6, srv.ipv6_prefix,
	       pub64);
	printf("  clients     NAT %s, DNS %s\n", srv.nat ? "on (--no-nat turns it off)" : "off",
	       srv.dns ? srv.dns : "none");
	if (srv.endpoint)
		printf("  endpoint    %s\n", srv.endpoint);
	else
		printf("  endpoint    (none yet: client configs need one; set it with "
		       "zerowg up --endpoint HOST)\n");

	if (so.keyring) {
		r = store_key_to_keyring(key, so.keyring_key);
		if (r < 0) {
			fprintf(stderr, "zerowg: cannot keep the key in the kernel keyring: %s%s\n",
				strerror(-r), r == -EPERM || r == -ENOSYS ?
				" (containers often forbid keyrings: use --key-fd or a systemd "
				"credential)" : "");
			so.keyring = false;
		}
	}
	if (where) {
		printf("\nThe store is sealed with the key from %s; it is not shown.\n", where);
		ret = 0;
	} else {
		ret = show_unseal_key(key, uri + (strncmp(uri, "sealed:", 7) ? 0 : 7), so.keyring);
	}
	if (ret == 0)
		printf("\nNext: zerowg up%s%s, then zerowg peer add NAME.\n",
		       so.data_dir ? " --data " : "", so.data_dir ? so.data_dir : "");
out:
	if (ctl)
		control_close(ctl);
	store_close(st);
	store_key_free(key);
	model_server_free(&srv);
	server_options_free(&opts);
	free(uri);
	return ret;
}
