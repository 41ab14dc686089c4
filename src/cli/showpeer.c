/*
 * showpeer.c - `zerowg show-peer NAME...`: the client config and QR code
 * of peers whose private key the server keeps (created through PEERS, or
 * added with --keep-key), as linuxserver/wireguard's show-peer shows them.
 *
 * From the running server's admin API (GET /v1/peers/NAME/config); when no
 * server answers, from the store itself (then the unseal key is needed,
 * as for import and export).  A peer whose key was not kept cannot be
 * shown again: the message says to rotate it.  Like every verb that prints
 * a key, it writes to a terminal or a pipe only (secret_out.c).
 *
 * Relies on client.h, unseal.c (cli_store_open) and show.c.
 */
#include "cli.h"
#include "client.h"
#include "control.h"
#include "render.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT_ADMIN_SOCKET 0x200
#define OPT_NO_QR 0x201

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zerowg show-peer [options] NAME...\n\n"
		"Shows again the client config and QR code of peers whose private key the\n"
		"server keeps (PEERS peers, and peers added with --keep-key).\n\n"
		"Options:\n"
		"  --no-qr              the config only\n"
		"  --admin-socket PATH  the running server's socket (default $ZEROWG_ADMIN_SOCKET\n"
		"                       or /run/zerowg/admin.sock)\n"
		"When no server runs, the store is read directly:\n"
		CLI_STORE_USAGE);
}

/* One peer through the API.  0 or 1. */
static int show_via_api(struct client *c, const char *name, bool qr)
{
	char subject[MODEL_NAME_MAX + 16];
	const char *config;
	json_t *answer;
	char *path;
	int ret = 1;

	snprintf(subject, sizeof(subject), "peer \"%s\"", name);
	path = client_peer_path(name, "/config");
	if (!path) {
		fprintf(stderr, "zerowg: out of memory\n");
		return 1;
	}
	answer = client_call(c, "GET", path, NULL, subject, NULL);
	free(path);
	if (!answer)
		return 1;
	config = json_string_value(json_object_get(answer, "client_config"));
	if (config)
		ret = cli_show_client_config(name, config, qr, false, true);
	else
		fprintf(stderr, "zerowg: %s: the server's answer has no client config\n", subject);
	json_decref(answer);
	return ret;
}

/* One peer from the store.  0 or 1. */
static int show_via_store(struct control *ctl, const char *name, bool qr)
{
	char subject[MODEL_NAME_MAX + 16];
	struct control_error e;
	char *config = NULL;
	int ret;

	snprintf(subject, sizeof(subject), "peer \"%s\"", name);
	control_error_clear(&e);
	if (control_peer_client_config(ctl, name, &config, NULL, &e) < 0) {
		cli_control_error(subject, &e);
		return 1;
	}
	ret = cli_show_client_config(name, config, qr, false, true);
	render_free(config);
	return ret;
}

int showpeer_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		CLI_STORE_LONGOPTS,
		{ "admin-socket", required_argument, NULL, OPT_ADMIN_SOCKET },
		{ "no-qr", no_argument, NULL, OPT_NO_QR },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct cli_store_opts so;
	struct client client = { 0 };
	struct store *st = NULL;
	struct control *ctl = NULL;
	const char *admin_socket = NULL;
	bool qr = true;
	int c, i, ret = 0;

	cli_store_opts_init(&so);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ADMIN_SOCKET:
			admin_socket = optarg;
			break;
		case OPT_NO_QR:
			qr = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case '?':
			usage(stderr);
			return 1;
		default:
			if (cli_store_option(&so, c, optarg) < 0)
				return 1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "zerowg: show-peer needs at least one NAME (e.g. zerowg show-peer "
			"peer1); `zerowg peer list` lists them\n");
		return 1;
	}
	/* Before the unseal key is asked for, or the server is. */
	if (cli_secret_stdout_check("not showing the client configs: they hold private keys",
				    "zerowg show-peer NAME | less"))
		return 1;
	if (client_server_running(admin_socket)) {
		if (client_open(&client, admin_socket) < 0)
			return 1;
	} else if (cli_store_open(&so, &st, &ctl)) {
		return 1;
	}
	for (i = optind; i < argc; i++) {
		if (i > optind)
			printf("\n");
		if (ctl ? show_via_store(ctl, argv[i], qr) : show_via_api(&client, argv[i], qr))
			ret = 1;
	}
	client_close(&client);
	cli_store_close(st, ctl);
	return ret;
}
