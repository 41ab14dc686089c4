/*
 * export.c - `zerowg export`: the server as a wg-quick config (its private
 * key, port, addresses, and every enabled peer with its preshared key) on
 * stdout, for moving away from zerowg or feeding `wg setconf` after
 * `wg-quick strip`.
 *
 * The config holds private keys, and zerowg never puts a key on a disk in
 * plaintext, so export writes to a pipe or a terminal only: when stdout is
 * a file (`zerowg export > wg0.conf`) it refuses, before the store is even
 * opened (secret_out.c judges).  There is no --output.
 *
 * The server's private key is not in the admin API, so export reads the
 * store directly (a running server may hold it open at the same time).
 * Relies on unseal.c (cli_store_open) and control_export().
 */
#include "cli.h"
#include "control.h"
#include "render.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zerowg export [options] | ...\n\n"
		"Writes the server as a wg-quick config (with its private key and the\n"
		"peers' preshared keys) to stdout: a pipe or a terminal, never a file.\n"
		"  e.g.  zerowg export | less\n"
		"        zerowg export | ssh newhost 'zerowg import /dev/stdin'\n\n"
		"Options:\n"
		CLI_STORE_USAGE);
}

int export_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		CLI_STORE_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct cli_store_opts so;
	struct store *st = NULL;
	struct control *ctl = NULL;
	char *text = NULL;
	int c, r, ret = 1;

	cli_store_opts_init(&so);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?' || cli_store_option(&so, c, optarg) <= 0) {
			if (c == '?')
				usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "zerowg: export writes to stdout only; it takes no file name "
			"(\"%s\")\n", argv[optind]);
		return 1;
	}
	if (cli_secret_stdout_check("refusing to export: the config holds the server's private "
				    "key and the peers' preshared keys",
				    "zerowg export | ssh host 'zerowg import /dev/stdin'"))
		return 1;
	if (cli_store_open(&so, &st, &ctl))
		return 1;
	r = control_export(ctl, &text);
	if (r < 0) {
		fprintf(stderr, "zerowg: cannot render the server's config: %s\n", strerror(-r));
		goto out;
	}
	r = cli_print_secret(text);
	if (r < 0) {
		fprintf(stderr, "zerowg: cannot write the config to stdout: %s\n", strerror(-r));
		goto out;
	}
	ret = 0;
out:
	render_free(text);
	cli_store_close(st, ctl);
	return ret;
}
