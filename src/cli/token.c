/*
 * token.c - `zerowg token SUBCOMMAND`: API tokens for scripts
 * (src/control/accounts.h), sent as `Authorization: Bearer zwg_...`.
 *
 *   zerowg token add NAME [--role admin|viewer] [--expires WHEN]
 *   zerowg token list
 *   zerowg token revoke NAME
 *
 * add prints the secret once, and only to a terminal or a pipe: when
 * stdout is a file it refuses before the token exists (secret_out.c).
 * The store keeps only the secret's SHA-256.  A token works whether or
 * not 2FA is on for the users: it is a credential of its own, so give it
 * the least role that does the job (viewer by default) and an expiry.
 *
 * Like `zerowg user`, these verbs open the store directly and then ask a
 * running server to re-read it (user.c's cli_accounts_*).  Relies on
 * accounts.h and model.h (the --expires forms peers use).
 */
#include "cli.h"
#include "accounts.h"
#include "model.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OPT_ADMIN_SOCKET 0x200
#define OPT_ROLE 0x201
#define OPT_EXPIRES 0x202

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zerowg token add NAME [--role admin|viewer] [--expires WHEN]\n"
		"       zerowg token list\n"
		"       zerowg token revoke NAME\n\n"
		"API tokens for scripts: `Authorization: Bearer zwg_...`.\n"
		"add     makes a token and prints its secret once (to a terminal or a pipe,\n"
		"        never into a file).  --role: viewer (default) or admin.\n"
		"        --expires: a duration (90m, 12h, 30d, 2w), a date (2030-12-31, UTC),\n"
		"        a time (2030-12-31T18:00:00Z), unix seconds, or \"never\" (default).\n"
		"list    the tokens, with role, expiry and last use (never the secret).\n"
		"revoke  deletes the token: it stops working at once (on a running server,\n"
		"        once it has re-read the store, which this asks it to do).\n\n"
		"Options:\n"
		CLI_STORE_USAGE
		"  --admin-socket PATH  the running server's socket, told to reload\n");
}

static void format_time(int64_t t, const char *zero, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || !gmtime_r(&tt, &tm))
		snprintf(buf, len, "%s", zero);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

static int cmd_add(struct cli_store_opts *so, const char *admin_socket, const char *name,
		   const char *role_text, const char *expires_text)
{
	char secret[ACCOUNTS_TOKEN_SECRET_SIZE], line[ACCOUNTS_TOKEN_SECRET_SIZE + 2];
	char refusal[ACCOUNTS_NAME_MAX + 64], example[ACCOUNTS_NAME_MAX + 64], when[32];
	struct cli_accounts ca;
	struct control_error e;
	enum actor_role role = ROLE_VIEWER;
	int64_t now = (int64_t)time(NULL), expires = 0;
	int ret = 1;

	control_error_clear(&e);
	if (!accounts_name_valid("token", name, &e) ||
	    (role_text && accounts_role_parse(role_text, &role, &e) < 0) ||
	    (expires_text && model_parse_expires(expires_text, now, &expires, &e) < 0)) {
		cli_control_error(NULL, &e);
		return 1;
	}
	snprintf(refusal, sizeof(refusal), "token \"%s\" not made: its secret is a key", name);
	snprintf(example, sizeof(example), "TOKEN=$(zerowg token add %s)", name);
	if (cli_secret_stdout_check(refusal, example))
		return 1;
	if (cli_accounts_open(so, &ca))
		return 1;
	if (accounts_token_add(ca.acc, name, role, expires, now, secret, &e) < 0) {
		cli_control_error(NULL, &e);
		goto out;
	}
	format_time(expires, "never", when, sizeof(when));
	if (isatty(STDOUT_FILENO))
		printf("zerowg: token \"%s\" (%s, expires %s%s).  Its secret, shown only now:\n",
		       name, accounts_role_name(role), when, expires ? " UTC" : "");
	/* Through a pipe only the secret goes to stdout, so that a script
	 * gets nothing else; the note goes to stderr. */
	else
		fprintf(stderr, "zerowg: token \"%s\" (%s, expires %s%s) made; its secret went "
			"to stdout.\n", name, accounts_role_name(role), when, expires ? " UTC" : "");
	snprintf(line, sizeof(line), "%s\n", secret);
	if (cli_print_secret(line) < 0)
		fprintf(stderr, "zerowg: cannot write the secret to stdout: revoke the token "
			"(zerowg token revoke %s) and make another\n", name);
	else
		ret = 0;
	cli_accounts_reload_server(admin_socket);
out:
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(line, sizeof(line));
	cli_accounts_close(&ca);
	return ret;
}

static int cmd_list(struct cli_store_opts *so)
{
	struct accounts_token_info *v = NULL;
	struct cli_accounts ca;
	struct control_error e;
	char created[32], expires[32], used[32];
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, i;
	int ret = 1;

	if (cli_accounts_open(so, &ca))
		return 1;
	control_error_clear(&e);
	if (accounts_token_list(ca.acc, &v, &n, &e) < 0) {
		cli_control_error(NULL, &e);
		goto out;
	}
	if (n == 0)
		printf("No API tokens: `zerowg token add NAME` makes one.\n");
	else
		printf("%-20s %-7s %-17s %-17s %s\n", "NAME", "ROLE", "CREATED (UTC)", "EXPIRES",
		       "LAST USED");
	for (i = 0; i < n; i++) {
		format_time(v[i].created, "-", created, sizeof(created));
		format_time(v[i].expires, "never", expires, sizeof(expires));
		if (v[i].expires && v[i].expires <= now)
			snprintf(expires, sizeof(expires), "expired");
		format_time(v[i].last_used, "never", used, sizeof(used));
		printf("%-20s %-7s %-17s %-17s %s\n", v[i].name, accounts_role_name(v[i].role),
		       created, expires, used);
	}
	ret = 0;
out:
	free(v);
	cli_accounts_close(&ca);
	return ret;
}

static int cmd_revoke(struct cli_store_opts *so, const char *admin_socket, const char *name)
{
	struct cli_accounts ca;
	struct control_error e;
	int ret = 1;

	control_error_clear(&e);
	if (!accounts_name_valid("token", name, &e)) {
		cli_control_error(NULL, &e);
		return 1;
	}
	if (cli_accounts_open(so, &ca))
		return 1;
	if (accounts_token_revoke(ca.acc, name, &e) < 0) {
		cli_control_error(NULL, &e);
		goto out;
	}
	printf("zerowg: token \"%s\" revoked.\n", name);
	cli_accounts_reload_server(admin_socket);
	ret = 0;
out:
	cli_accounts_close(&ca);
	return ret;
}

int token_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		CLI_STORE_LONGOPTS,
		{ "admin-socket", required_argument, NULL, OPT_ADMIN_SOCKET },
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "expires", required_argument, NULL, OPT_EXPIRES },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct cli_store_opts so;
	const char *admin_socket = NULL, *role = NULL, *expires = NULL, *sub;
	int c, nargs;

	cli_store_opts_init(&so);
	if (argc < 2 || cli_is_help(argv[1])) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2;
	}
	sub = argv[1];
	if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "revoke")) {
		fprintf(stderr, "zerowg: token: unknown subcommand \"%s\" (see `zerowg token "
			"--help`)\n", sub);
		return 1;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == OPT_ADMIN_SOCKET) {
			admin_socket = optarg;
		} else if ((c == OPT_ROLE || c == OPT_EXPIRES) && !strcmp(sub, "add")) {
			*(c == OPT_ROLE ? &role : &expires) = optarg;
		} else if (c == '?' || c == OPT_ROLE || c == OPT_EXPIRES ||
			   cli_store_option(&so, c, optarg) <= 0) {
			if (c == OPT_ROLE || c == OPT_EXPIRES)
				fprintf(stderr, "zerowg: token %s: --role and --expires are for "
					"`token add`\n", sub);
			else if (c == '?')
				usage(stderr);
			return 1;
		}
	}
	nargs = strcmp(sub, "list") ? 1 : 0;
	if (argc - 1 - optind != nargs) {
		fprintf(stderr, "zerowg: token %s needs %s (see `zerowg token --help`)\n", sub,
			nargs ? "one NAME" : "no arguments");
		return 1;
	}
	if (!strcmp(sub, "add"))
		return cmd_add(&so, admin_socket, argv[1 + optind], role, expires);
	if (!strcmp(sub, "list"))
		return cmd_list(&so);
	return cmd_revoke(&so, admin_socket, argv[1 + optind]);
}
