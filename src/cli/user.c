/*
 * user.c - `zerowg user SUBCOMMAND`: the accounts that may sign in to the
 * web UI (src/control/accounts.h), and what user.c and token.c share.
 *
 *   zerowg user add NAME [--role admin|viewer]
 *   zerowg user list
 *   zerowg user passwd NAME
 *   zerowg user remove NAME
 *   zerowg user set-role NAME admin|viewer
 *   zerowg user 2fa-enroll NAME
 *   zerowg user 2fa-reset NAME
 *
 * The first user is an admin unless --role says otherwise; later ones are
 * viewers by default.  A password is never taken from the command line
 * (other users see argv in ps, shells keep it in their history): on a
 * terminal it is asked twice with echo off, otherwise it is the first line
 * of stdin (`printf '%s\n' "$PW" | zerowg user add alice`).
 *
 * Like import and export, these verbs open the store directly (the unseal
 * key from --key-fd, a credential, the keyring or the prompt: unseal.c)
 * and then ask a running server to re-read it (POST /v1/reload), which is
 * how its sessions learn of a new password or a removed user.
 *
 * 2fa-enroll shows the TOTP secret (a QR code and the otpauth:// URI) and,
 * after a valid code, the recovery codes: secrets, so stdout must be a
 * terminal or a pipe (secret_out.c), checked before anything changes.
 *
 * Relies on accounts.h, unseal.c, client.h (the reload) and render.h.
 */
#include "cli.h"
#include "accounts.h"
#include "client.h"
#include "control.h"
#include "render.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define OPT_ADMIN_SOCKET 0x200
#define OPT_ROLE 0x201
#define LINE_MAX_LEN (ACCOUNTS_PASSWORD_MAX + 2)

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zerowg user add NAME [--role admin|viewer]\n"
		"       zerowg user list\n"
		"       zerowg user passwd NAME\n"
		"       zerowg user remove NAME\n"
		"       zerowg user set-role NAME admin|viewer\n"
		"       zerowg user 2fa-enroll NAME\n"
		"       zerowg user 2fa-reset NAME\n\n"
		"The accounts that may sign in to the web UI.\n"
		"add        a new user; the first is an admin, later ones viewers unless --role.\n"
		"passwd     a new password; the user's sessions end.\n"
		"remove     deletes the user (not the last admin); its sessions end.\n"
		"2fa-enroll turns on two-factor codes: shows a QR code for an authenticator\n"
		"           app, asks for its first code, then shows 10 recovery codes once.\n"
		"2fa-reset  turns two-factor codes off (a lost phone); the user's sessions end.\n"
		"Passwords are read from the terminal (asked twice, not shown) or, when stdin\n"
		"is not a terminal, as the first line of stdin; never from the command line.\n\n"
		"Options:\n"
		CLI_STORE_USAGE
		"  --admin-socket PATH  the running server's socket, told to reload\n");
}

/* ------------------------------------------------- shared with token.c -- */

int cli_accounts_open(const struct cli_store_opts *o, struct cli_accounts *ca)
{
	struct control_error e;

	memset(ca, 0, sizeof(*ca));
	if (cli_store_open(o, &ca->st, &ca->ctl))
		return 1;
	control_error_clear(&e);
	if (accounts_open(ca->st, &ca->acc, &e) < 0) {
		cli_control_error(store_describe(ca->st), &e);
		cli_store_close(ca->st, ca->ctl);
		memset(ca, 0, sizeof(*ca));
		return 1;
	}
	return 0;
}

void cli_accounts_close(struct cli_accounts *ca)
{
	accounts_close(ca->acc);
	cli_store_close(ca->st, ca->ctl);
	memset(ca, 0, sizeof(*ca));
}

void cli_accounts_reload_server(const char *admin_socket)
{
	struct client c;
	json_t *answer;

	if (!client_server_running(admin_socket))
		return;
	if (client_open(&c, admin_socket) < 0)
		return;
	answer = client_call(&c, "POST", "/v1/reload", NULL, NULL, NULL);
	if (answer)
		printf("The running server on %s was told to re-read the store.\n", c.socket_path);
	else
		fprintf(stderr, "zerowg: the change is stored, but the running server did not "
			"re-read it: send it SIGHUP or restart it\n");
	json_decref(answer);
	client_close(&c);
}

/* ------------------------------------------------------ reading input -- */

static const int held_signals[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGTSTP };

/*
 * Asks on the terminal and reads one line into buf (echo off unless
 * echo), without its newline.  Signals that would stop or kill us wait
 * while echo is off (checked every 250 ms), so the terminal is restored
 * first.  0, -EINTR, -EMSGSIZE (longer than the buffer) or -errno.
 */
static int tty_line(const char *ask, bool echo, char *buf, size_t len)
{
	struct termios old, quiet;
	sigset_t hold, saved, pending;
	size_t n = 0, i;
	bool changed = false, done = false;
	char c;
	int fd, ret = 0;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -ENXIO;
	if (tcgetattr(fd, &old) < 0) {
		close(fd);
		return -ENXIO;
	}
	sigemptyset(&hold);
	for (i = 0; i < sizeof(held_signals) / sizeof(held_signals[0]); i++)
		sigaddset(&hold, held_signals[i]);
	pthread_sigmask(SIG_BLOCK, &hold, &saved);
	if (!echo) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0) {
			ret = -errno;
			goto out;
		}
		changed = true;
	}
	if (write(fd, ask, strlen(ask)) < 0) {
		ret = -errno;
		goto out;
	}
	while (!done) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;
		int pr = poll(&pfd, 1, 250);

		sigpending(&pending);
		for (i = 0; i < sizeof(held_signals) / sizeof(held_signals[0]); i++)
			if (sigismember(&pending, held_signals[i]))
				ret = -EINTR;
		if (ret)
			break;
		if (pr <= 0)
			continue;
		r = read(fd, &c, 1);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -ENODATA;
			break;
		}
		if (c == '\n') {
			done = true;
		} else if (n + 1 >= len) {
			ret = -EMSGSIZE;	/* longer than any password we take */
			break;
		} else {
			buf[n++] = c;
		}
	}
	c = 0;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
out:
	if (changed)
		tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (ret)
		explicit_bzero(buf, len);
	return ret;
}

/* The first line of stdin (not a terminal), read a byte at a time so
 * that nothing past it is consumed or buffered.  0, -ENODATA (nothing),
 * -EMSGSIZE or -errno. */
static int stdin_line(char *buf, size_t len)
{
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t r = read(STDIN_FILENO, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			explicit_bzero(buf, len);
			return -errno;
		}
		if (r == 0 || c == '\n')
			break;
		if (n + 1 >= len) {
			explicit_bzero(buf, len);
			return -EMSGSIZE;
		}
		buf[n++] = c;
	}
	c = 0;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return n ? 0 : -ENODATA;
}

/* A new password for name, into buf (LINE_MAX_LEN).  0, or 1 after a
 * message. */
static int read_new_password(const char *name, char *buf, size_t len)
{
	char again[LINE_MAX_LEN], ask[ACCOUNTS_NAME_MAX + 64];
	int r;

	if (!isatty(STDIN_FILENO)) {
		r = stdin_line(buf, len);
		if (r == 0)
			return 0;
		fprintf(stderr, "zerowg: %s\n", r == -ENODATA ?
			"no password on stdin (give it as the first line, e.g. printf '%s\\n' "
			"\"$PW\" | zerowg user ...)" : r == -EMSGSIZE ?
			"the password on stdin is longer than 1024 bytes" : strerror(-r));
		return 1;
	}
	snprintf(ask, sizeof(ask), "New password for %s (not shown): ", name);
	r = tty_line(ask, false, buf, len);
	if (r == 0)
		r = tty_line("The same password again: ", false, again, sizeof(again));
	if (r == 0 && strcmp(buf, again)) {
		explicit_bzero(again, sizeof(again));
		explicit_bzero(buf, len);
		fprintf(stderr, "zerowg: the two passwords differ; nothing was changed\n");
		return 1;
	}
	explicit_bzero(again, sizeof(again));
	if (r == 0)
		return 0;
	fprintf(stderr, "zerowg: cannot read the password from the terminal: %s\n",
		r == -EINTR ? "interrupted" : r == -EMSGSIZE ? "longer than 1024 bytes" :
		strerror(-r));
	return 1;
}

/* ----------------------------------------------------------- verbs -- */

struct user_cmd {
	struct cli_store_opts so;
	const char *admin_socket;
	const char *role;
	struct cli_accounts ca;
};

static int check_name(const char *name)
{
	struct control_error e;

	control_error_clear(&e);
	if (accounts_name_valid("user", name, &e))
		return 0;
	cli_control_error(NULL, &e);
	return 1;
}

/* The end of a change made on the store: the error, or the message and a
 * reload of the running server (which then sees it).  Closes the
 * accounts.  The exit status. */
static int finish_change(struct user_cmd *uc, int r, const struct control_error *e,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int finish_change(struct user_cmd *uc, int r, const struct control_error *e,
			 const char *fmt, ...)
{
	va_list ap;

	if (r < 0) {
		cli_control_error(NULL, e);
	} else {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		cli_accounts_reload_server(uc->admin_socket);
	}
	cli_accounts_close(&uc->ca);
	return r < 0;
}

static int cmd_add(struct user_cmd *uc, char **ops)
{
	const char *name = ops[0];
	char pw[LINE_MAX_LEN];
	struct control_error e;
	enum actor_role role = ROLE_VIEWER;
	int ret = 1, r;

	if (check_name(name))
		return 1;
	control_error_clear(&e);
	if (uc->role && accounts_role_parse(uc->role, &role, &e) < 0) {
		cli_control_error(NULL, &e);
		return 1;
	}
	if (cli_accounts_open(&uc->so, &uc->ca))
		return 1;
	if (!uc->role) {
		r = accounts_has_admin(uc->ca.acc);
		if (r < 0) {
			fprintf(stderr, "zerowg: cannot list the users: %s\n", strerror(-r));
			goto out;
		}
		role = r ? ROLE_VIEWER : ROLE_ADMIN;
	}
	if (read_new_password(name, pw, sizeof(pw)))
		goto out;
	r = accounts_user_add(uc->ca.acc, name, role, pw, (int64_t)time(NULL), &e);
	explicit_bzero(pw, sizeof(pw));
	if (r < 0) {
		cli_control_error(NULL, &e);
		goto out;
	}
	printf("zerowg: user \"%s\" added as %s%s.\n", name, accounts_role_name(role),
	       !uc->role && role == ROLE_ADMIN ? " (the first user)" : "");
	cli_accounts_reload_server(uc->admin_socket);
	ret = 0;
out:
	cli_accounts_close(&uc->ca);
	return ret;
}

static void format_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || !gmtime_r(&tt, &tm))
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

static int cmd_list(struct user_cmd *uc, char **ops)
{
	struct accounts_user_info *v = NULL;
	struct control_error e;
	char created[32], changed[32];
	size_t n = 0, i;
	int ret = 1;

	if (cli_accounts_open(&uc->so, &uc->ca))
		return 1;
	control_error_clear(&e);
	if (accounts_user_list(uc->ca.acc, &v, &n, &e) < 0) {
		cli_control_error(NULL, &e);
		goto out;
	}
	if (n == 0) {
		printf("No users yet: `zerowg user add NAME` makes the first admin.\n");
	} else {
		printf("%-20s %-7s %-14s %-17s %s\n", "NAME", "ROLE", "2FA", "CREATED (UTC)",
		       "PASSWORD CHANGED");
	}
	for (i = 0; i < n; i++) {
		char tfa[24];

		if (v[i].totp_enabled)
			snprintf(tfa, sizeof(tfa), "on (%u codes)", v[i].recovery_codes_left);
		else
			snprintf(tfa, sizeof(tfa), "off");
		format_time(v[i].created, created, sizeof(created));
		format_time(v[i].password_changed, changed, sizeof(changed));
		printf("%-20s %-7s %-14s %-17s %s\n", v[i].name, accounts_role_name(v[i].role),
		       tfa, created, changed);
	}
	ret = 0;
out:
	free(v);
	cli_accounts_close(&uc->ca);
	return ret;
}

static int cmd_passwd(struct user_cmd *uc, char **ops)
{
	const char *name = ops[0];
	struct accounts_user_info info;
	char pw[LINE_MAX_LEN];
	struct control_error e;
	int ret = 1, r;

	if (check_name(name) || cli_accounts_open(&uc->so, &uc->ca))
		return 1;
	control_error_clear(&e);
	/* Is there such a user, before the password is asked for? */
	if (accounts_user_get(uc->ca.acc, name, &info, &e) < 0) {
		cli_control_error(NULL, &e);
		goto out;
	}
	if (read_new_password(name, pw, sizeof(pw)))
		goto out;
	r = accounts_user_passwd(uc->ca.acc, name, pw, NULL, (int64_t)time(NULL), &e);
	explicit_bzero(pw, sizeof(pw));
	if (r < 0) {
		cli_control_error(NULL, &e);
		goto out;
	}
	printf("zerowg: the password of \"%s\" is changed; its sessions end.\n", name);
	cli_accounts_reload_server(uc->admin_socket);
	ret = 0;
out:
	cli_accounts_close(&uc->ca);
	return ret;
}

static int cmd_remove(struct user_cmd *uc, char **ops)
{
	const char *name = ops[0];
	struct control_error e;

	if (check_name(name) || cli_accounts_open(&uc->so, &uc->ca))
		return 1;
	control_error_clear(&e);
	return finish_change(uc, accounts_user_remove(uc->ca.acc, name, &e), &e,
			     "zerowg: user \"%s\" removed.\n", name);
}

static int cmd_set_role(struct user_cmd *uc, char **ops)
{
	const char *name = ops[0], *role_text = ops[1];
	struct control_error e;
	enum actor_role role;

	control_error_clear(&e);
	if (check_name(name))
		return 1;
	if (accounts_role_parse(role_text, &role, &e) < 0) {
		cli_control_error(NULL, &e);
		return 1;
	}
	if (cli_accounts_open(&uc->so, &uc->ca))
		return 1;
	return finish_change(uc, accounts_user_set_role(uc->ca.acc, name, role, &e), &e,
			     "zerowg: user \"%s\" is now %s.\n", name, accounts_role_name(role));
}

static int cmd_2fa_reset(struct user_cmd *uc, char **ops)
{
	const char *name = ops[0];
	struct control_error e;

	if (check_name(name) || cli_accounts_open(&uc->so, &uc->ca))
		return 1;
	control_error_clear(&e);
	return finish_change(uc, accounts_totp_disable(uc->ca.acc, name, NULL, &e), &e,
			     "zerowg: two-factor codes of \"%s\" are off, its recovery codes void "
			     "and its sessions ended; `zerowg user 2fa-enroll %s` turns them on "
			     "again.\n", name, name);
}

static int cmd_2fa_enroll(struct user_cmd *uc, char **ops)
{
	const char *name = ops[0];
	char codes[ACCOUNTS_RECOVERY_CODES][ACCOUNTS_RECOVERY_CODE_SIZE];
	char refusal[ACCOUNTS_NAME_MAX + 96], example[ACCOUNTS_NAME_MAX + 64];
	char code[32], line[ACCOUNTS_RECOVERY_CODE_SIZE + 8];
	struct control_error e;
	char *uri = NULL, *qr = NULL;
	int ret = 1, r = -EACCES, tries, i;
	bool tty = isatty(STDIN_FILENO);

	if (check_name(name))
		return 1;
	snprintf(refusal, sizeof(refusal), "2FA of \"%s\" not enrolled: its secret and "
		 "recovery codes are keys", name);
	snprintf(example, sizeof(example), "zerowg user 2fa-enroll %s | less", name);
	if (cli_secret_stdout_check(refusal, example))
		return 1;
	if (cli_accounts_open(&uc->so, &uc->ca))
		return 1;
	control_error_clear(&e);
	if (accounts_totp_begin(uc->ca.acc, name, &uri, &e) < 0) {
		cli_control_error(NULL, &e);
		goto out;
	}
	qr = render_qr(uri);
	printf("Scan this with an authenticator app (or type the URI's secret into it):\n");
	if (qr && cli_print_secret(qr) < 0)
		goto out;
	if (cli_print_secret(uri) < 0 || cli_print_secret("\n") < 0)
		goto out;
	for (tries = 0; tries < (tty ? 3 : 1) && r == -EACCES; tries++) {
		r = tty ? tty_line("The code the app shows now: ", true, code, sizeof(code)) :
			  stdin_line(code, sizeof(code));
		if (r < 0) {
			fprintf(stderr, "zerowg: no code was read (%s); 2FA stays as it was\n",
				r == -ENODATA ? "stdin is empty" : strerror(-r));
			goto out;
		}
		control_error_clear(&e);
		r = accounts_totp_confirm(uc->ca.acc, name, code, NULL, (int64_t)time(NULL), codes,
					  &e);
		if (r < 0)
			cli_control_error(NULL, &e);
	}
	if (r < 0)
		goto out;
	printf("zerowg: two-factor codes of \"%s\" are on, and its other sessions ended.\n"
	       "Recovery codes, each good for one sign-in without the phone (shown only "
	       "now: keep them somewhere safe):\n", name);
	for (i = 0; i < ACCOUNTS_RECOVERY_CODES; i++) {
		snprintf(line, sizeof(line), "  %.23s\n", codes[i]);
		if (cli_print_secret(line) < 0)
			break;
	}
	cli_accounts_reload_server(uc->admin_socket);
	ret = 0;
out:
	explicit_bzero(codes, sizeof(codes));
	explicit_bzero(line, sizeof(line));
	explicit_bzero(code, sizeof(code));
	render_free(qr);
	accounts_secret_free(uri);
	cli_accounts_close(&uc->ca);
	return ret;
}

static const struct {
	const char *name;
	int nargs;		/* operands after the subcommand */
	int (*fn)(struct user_cmd *uc, char **ops);
	bool reads_stdin;	/* a password or a code */
} subcommands[] = {
	{ "add", 1, cmd_add, true },
	{ "list", 0, cmd_list, false },
	{ "passwd", 1, cmd_passwd, true },
	{ "remove", 1, cmd_remove, false },
	{ "set-role", 2, cmd_set_role, false },
	{ "2fa-enroll", 1, cmd_2fa_enroll, true },
	{ "2fa-reset", 1, cmd_2fa_reset, false },
};

int user_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		CLI_STORE_LONGOPTS,
		{ "admin-socket", required_argument, NULL, OPT_ADMIN_SOCKET },
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct user_cmd uc;
	const char *sub;
	size_t k;
	int c, i;

	memset(&uc, 0, sizeof(uc));
	cli_store_opts_init(&uc.so);
	if (argc < 2 || cli_is_help(argv[1])) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2;
	}
	sub = argv[1];
	for (k = 0; k < sizeof(subcommands) / sizeof(subcommands[0]); k++)
		if (!strcmp(sub, subcommands[k].name))
			break;
	if (k == sizeof(subcommands) / sizeof(subcommands[0])) {
		fprintf(stderr, "zerowg: user: unknown subcommand \"%s\" (see `zerowg user "
			"--help`)\n", sub);
		return 1;
	}
	/* A password given as an option is refused by name, with the reason. */
	for (i = 2; i < argc; i++) {
		if (!strncmp(argv[i], "--password", 10) || !strcmp(argv[i], "-p")) {
			fprintf(stderr, "zerowg: user %s: a password is never taken from the "
				"command line (ps shows it to every user, and shells keep it): "
				"type it when asked, or give it as the first line of stdin\n", sub);
			return 1;
		}
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == OPT_ADMIN_SOCKET) {
			uc.admin_socket = optarg;
			continue;
		}
		if (c == OPT_ROLE && !strcmp(sub, "add")) {
			uc.role = optarg;
			continue;
		}
		if (c == '?' || c == OPT_ROLE || cli_store_option(&uc.so, c, optarg) <= 0) {
			if (c == OPT_ROLE)
				fprintf(stderr, "zerowg: user %s: --role is for `user add` (and "
					"`user set-role NAME ROLE`)\n", sub);
			else if (c == '?')
				usage(stderr);
			return 1;
		}
	}
	/* argv + 1: the operands after the subcommand start at optind + 1. */
	if (argc - 1 - optind != subcommands[k].nargs) {
		if (!strcmp(sub, "add") || !strcmp(sub, "passwd")) {
			if (argc - 1 - optind > 1) {
				fprintf(stderr, "zerowg: user %s: too many arguments; a password is "
					"never taken from the command line (ps shows it to every "
					"user): type it when asked, or give it as the first line of "
					"stdin\n", sub);
				return 1;
			}
		}
		fprintf(stderr, "zerowg: user %s needs %s (see `zerowg user --help`)\n", sub,
			subcommands[k].nargs == 0 ? "no arguments" :
			subcommands[k].nargs == 1 ? "one NAME" : "NAME and ROLE");
		return 1;
	}
	if (subcommands[k].reads_stdin && uc.so.key_fd == STDIN_FILENO && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "zerowg: user %s: stdin cannot carry both the unseal key "
			"(--key-fd 0) and the %s; give the key on another descriptor (--key-fd 3)\n",
			sub, strcmp(sub, "2fa-enroll") ? "password" : "code");
		return 1;
	}
	return subcommands[k].fn(&uc, argv + 1 + optind);
}
