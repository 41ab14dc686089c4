/*
 * import.c - `zerowg import FILE`: moves an existing wg-quick server config
 * (wg0.conf, or linuxserver/wireguard's) into the store: the server's key
 * pair, port, addresses, MTU, and one peer per [Peer] with its public key,
 * preshared key, addresses and routes (control_import_wgconf).
 *
 * The store is written directly (the unseal key is needed, as for export);
 * if a server is running on the admin socket it is then told to re-read the
 * store (POST /v1/reload), so the peers work at once.  Everything is
 * validated before anything is written, and re-running an interrupted
 * import is safe.  Afterwards the file is the only plaintext copy of those
 * keys: the message says to delete it.
 *
 * The file's text holds private keys: it is read into a buffer of our own
 * and wiped.  Relies on unseal.c, client.h and control.h.
 */
#include "cli.h"
#include "client.h"
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPT_ADMIN_SOCKET 0x200
#define IMPORT_MAX (4u << 20)	/* a wg-quick config of 10,000 peers is ~2 MiB */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zerowg import [options] FILE\n\n"
		"Moves a wg-quick server config (e.g. /etc/wireguard/wg0.conf) into the store:\n"
		"the server's key, port and addresses, and every [Peer] (named from the\n"
		"comment above it, else peer1, peer2...).  FILE \"-\" reads stdin.  Run\n"
		"`zerowg init` first.  A running server picks the result up at once.\n\n"
		"Options:\n"
		CLI_STORE_USAGE
		"  --admin-socket PATH  the running server's socket, if any\n");
}

static void free_wiped(char *buf, size_t cap)
{
	if (buf) {
		explicit_bzero(buf, cap);
		free(buf);
	}
}

/* Reads fd to end of file into a malloc'd, NUL-terminated buffer whose
 * every earlier copy is wiped.  0 or -errno (-EFBIG past IMPORT_MAX). */
static int read_secret_file(int fd, char **out, size_t *len_out, size_t *cap_out)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *nb;

			if (ncap > IMPORT_MAX + 4096 + 1)
				ncap = IMPORT_MAX + 4096 + 1;
			if (len + 1 >= ncap) {
				free_wiped(buf, cap);
				return -EFBIG;
			}
			nb = malloc(ncap);
			if (!nb) {
				free_wiped(buf, cap);
				return -ENOMEM;
			}
			if (buf)
				memcpy(nb, buf, len);
			free_wiped(buf, cap);
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			free_wiped(buf, cap);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > IMPORT_MAX) {
			free_wiped(buf, cap);
			return -EFBIG;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*len_out = len;
	*cap_out = cap;
	return 0;
}

/* Tells a running server to re-read the store.  Prints what happened. */
static void reload_server(const char *admin_socket)
{
	struct client c;
	json_t *answer;

	if (!client_server_running(admin_socket)) {
		printf("No server is running; `zerowg up` will serve the imported peers.\n");
		return;
	}
	if (client_open(&c, admin_socket) < 0)
		return;
	answer = client_call(&c, "POST", "/v1/reload", NULL, NULL, NULL);
	if (answer)
		printf("The running server on %s has applied it.\n", c.socket_path);
	else
		fprintf(stderr, "zerowg: the import is stored, but the running server did not "
			"re-read it: send it SIGHUP or restart it\n");
	json_decref(answer);
	client_close(&c);
}

int import_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		CLI_STORE_LONGOPTS,
		{ "admin-socket", required_argument, NULL, OPT_ADMIN_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct cli_store_opts so;
	struct control_error e;
	struct store *st = NULL;
	struct control *ctl = NULL;
	const char *admin_socket = NULL, *file;
	char **warnings = NULL, *text = NULL;
	size_t n_warnings = 0, len = 0, cap = 0, before;
	int c, fd, r, ret = 1;

	cli_store_opts_init(&so);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == OPT_ADMIN_SOCKET) {
			admin_socket = optarg;
			continue;
		}
		if (c == '?' || cli_store_option(&so, c, optarg) <= 0) {
			if (c == '?')
				usage(stderr);
			return 1;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "zerowg: import needs one FILE (e.g. zerowg import "
			"/etc/wireguard/wg0.conf)\n");
		return 1;
	}
	file = argv[optind];
	if (so.key_fd == STDIN_FILENO && !strcmp(file, "-")) {
		fprintf(stderr, "zerowg: stdin cannot carry both the unseal key (--key-fd 0) and "
			"the config (FILE -)\n");
		return 1;
	}
	fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0) {
		fprintf(stderr, "zerowg: cannot open \"%s\": %s\n", file, strerror(errno));
		return 1;
	}
	r = read_secret_file(fd, &text, &len, &cap);
	if (fd != STDIN_FILENO)
		close(fd);
	if (r < 0) {
		fprintf(stderr, "zerowg: cannot read \"%s\": %s\n", file,
			r == -EFBIG ? "larger than 4 MiB, not a wg-quick config" : strerror(-r));
		return 1;
	}
	if (cli_store_open(&so, &st, &ctl))
		goto out;
	before = control_peer_count(ctl);
	control_error_clear(&e);
	/* Run directly on the store (no server): the audit log's actor is
	 * the local user. */
	struct actor me = { .kind = ACTOR_LOCAL, .role = ROLE_ADMIN, .via = "cli", .uid = getuid() };
	snprintf(me.name, sizeof(me.name), "uid %u", (unsigned)me.uid);
	r = control_import_wgconf(ctl, text, len, &warnings, &n_warnings, &me, &e);
	for (size_t i = 0; i < n_warnings; i++)
		fprintf(stderr, "zerowg: %s: warning: %s\n", file, warnings[i]);
	if (r < 0) {
		cli_control_error(file, &e);
		fprintf(stderr, "zerowg: nothing was imported%s\n",
			r == -EINVAL ? " (fix the file and run the import again)" : "");
		goto out;
	}
	printf("zerowg: imported \"%s\" into %s: the server's key pair and settings, and %zu "
	       "new peer%s (%zu in all).\n", file, store_describe(st),
	       control_peer_count(ctl) - before, control_peer_count(ctl) - before == 1 ? "" : "s",
	       control_peer_count(ctl));
	reload_server(admin_socket);
	if (strcmp(file, "-"))
		printf("Its keys are now sealed in the store, and \"%s\" is their only plaintext "
		       "copy: delete it (shred -u %s).\n", file, file);
	ret = 0;
out:
	for (size_t i = 0; i < n_warnings; i++)
		free(warnings[i]);
	free(warnings);
	cli_store_close(st, ctl);
	free_wiped(text, cap);
	return ret;
}
