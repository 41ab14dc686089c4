/*
 * main.c - `zerowg VERB ...`: the table of verbs and the dispatch to
 * <verb>_main(argc, argv), in the manner of wireguard-tools' wg.c.  Each
 * verb lives in its own file and receives argv starting at its own name.
 *
 * Relies on cli.h for the verbs.  Nothing here touches a secret, but
 * before any verb runs it makes curl and jansson wipe what they free and
 * the process non-dumpable (secmem.h).
 */
#include "cli.h"
#include "client.h"
#include "secmem.h"

#include <stdio.h>
#include <string.h>

/* The slim zerowg (see upexec.c) runs `up` in zerowg-server. */
#ifdef ZWG_CLI_EXEC_UP
#define UP_MAIN up_exec_main
#else
#define UP_MAIN up_main
#endif

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *description;
} verbs[] = {
	{ "init", init_main, "Creates a sealed store and shows its unseal key once" },
	{ "up", UP_MAIN, "Runs the server: interface, peers, admin API" },
	{ "peer", peer_main, "Adds, lists, shows, enables, disables, revokes, rotates peers" },
	{ "app", app_main, "Runs a command whose only network is a tunnel of its own" },
	{ "show-peer", showpeer_main, "Shows again the config and QR code of peers whose key is kept" },
	{ "status", status_main, "Shows a summary of the running server" },
	{ "user", user_main, "Adds, lists, removes web UI users; passwords and 2FA" },
	{ "token", token_main, "Makes, lists, revokes API tokens for scripts" },
	{ "import", import_main, "Moves a wg-quick server config into the store" },
	{ "export", export_main, "Writes the server as a wg-quick config to stdout" },
	{ "genkey", genkey_main, "Generates a new private key and writes it to stdout" },
	{ "genpsk", genpsk_main, "Generates a new preshared key and writes it to stdout" },
	{ "pubkey", pubkey_main, "Reads a private key from stdin and writes a public key to stdout" },
};

static void show_usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: zerowg <command> [<args>]\n\n"
		   "zerowg is a WireGuard VPN server that keeps no key on disk.\n"
		   "Available commands:\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].description);
	fprintf(f, "\nYou may pass `--help' to any of these commands to view its usage.\n"
		   "First use: zerowg init, then zerowg up, then zerowg peer add NAME.\n");
}

int main(int argc, char *argv[])
{
	size_t i;

	/* Before any library allocates: replies and records hold keys. */
	client_use_wiping_allocators();
	/* Keys pass through every verb's memory: no core dump, no ptrace by
	 * other processes of the user.  Failing that is not fatal. */
	secmem_harden_process();
	if (argc < 2) {
		show_usage(stderr);
		return 1;
	}
	if (cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
		show_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v") ||
	    !strcmp(argv[1], "version")) {
		printf("zerowg v%s\n", ZEROWG_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "zerowg: invalid command \"%s\" (see `zerowg --help')\n", argv[1]);
	return 1;
}
