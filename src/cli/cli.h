/*
 * cli.h - what the files of the `zerowg` command line share: the verbs
 * (one file each, dispatched by main.c), argument parsing (args.c), how
 * secrets are shown (show.c) and how verbs that work without a running
 * server open the store (unseal.c).
 *
 * Conventions of every verb: <verb>_main(argc, argv) gets argv starting at
 * its own name and returns the process exit status (0, or 1 after printing
 * one message for a person to stderr: "zerowg: ..." that quotes the bad
 * input and suggests the fix).  Secrets go to stdout with write(2), never
 * through a stdio buffer, and every buffer that held one is wiped.
 */
#ifndef ZWG_CLI_H
#define ZWG_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "encoding.h"

#ifndef ZEROWG_VERSION
#define ZEROWG_VERSION "0.1.0"
#endif

#define CLI_DEFAULT_DATA_DIR "/var/lib/zerowg"

/* The verbs. */
int init_main(int argc, char *argv[]);
int up_main(int argc, char *argv[]);
/* `up` of the slim zerowg (built with ZWG_CLI_EXEC_UP): exec zerowg-server. */
int up_exec_main(int argc, char *argv[]);
int peer_main(int argc, char *argv[]);
/* peer_main on the server whose admin API is at admin_socket (NULL: the
 * default), for `zerowg app peer NAME ...`; argv starts at "peer". */
int peer_main_at(const char *admin_socket, int argc, char *argv[]);
int app_main(int argc, char *argv[]);
int showpeer_main(int argc, char *argv[]);
int status_main(int argc, char *argv[]);
int import_main(int argc, char *argv[]);
int export_main(int argc, char *argv[]);
int genkey_main(int argc, char *argv[]);
int genpsk_main(int argc, char *argv[]);
int pubkey_main(int argc, char *argv[]);
int user_main(int argc, char *argv[]);
int token_main(int argc, char *argv[]);

/* ---- args.c ---- */

/* "--help" or "-h". */
bool cli_is_help(const char *arg);
/* A decimal number in [min, max], nothing else (no sign, no blanks).
 * 0 or -EINVAL. */
int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* "sealed:DIR" from --data (NULL: CLI_DEFAULT_DATA_DIR), or a copy of
 * --store when given.  malloc'd; NULL on ENOMEM. */
char *cli_store_uri(const char *data_dir, const char *store_uri);
/* write(2) until done.  0 or -errno. */
int cli_write_all(int fd, const void *buf, size_t len);

/* ---- secret_out.c: where a key may be written ---- */

/* 0 if fd may receive a key: a terminal, a pipe, a socket that is not the
 * systemd journal ($JOURNAL_STREAM), or /dev/null.  -EPERM for anything
 * that stores (a regular file, a block device, another character device,
 * the journal), -EBADF if fd is closed; then *what (len bytes) says what
 * it is ("the file /root/x.conf"). */
int cli_secret_sink_check(int fd, char *what, size_t len);
/* Before a verb that prints a key changes anything: 0 if stdout may
 * receive it, else 1 after "zerowg: REFUSAL: stdout is the file X, and
 * zerowg writes no key to a file.  Run it in a terminal, or pipe it where
 * it goes: EXAMPLE". */
int cli_secret_stdout_check(const char *refusal, const char *example);

/* ---- genkey.c ---- */

/* Reads a base64 key the way `wg pubkey` does: exactly 44 characters, then
 * only whitespace or NUL bytes up to end of file.  0, or -EINVAL with *msg
 * set to wg's wording. */
int cli_read_key_stream(FILE *f, uint8_t key[KEY_LEN], const char **msg);

/* ---- show.c: printing secrets ---- */

/* Flushes stdout, then writes text with write(2), bypassing stdio (so no
 * stdio buffer keeps a copy of a key).  0 or -errno. */
int cli_print_secret(const char *text);
/*
 * Prints a new or re-shown client config: a header line naming the peer,
 * the config between "----- BEGIN CLIENT CONFIG -----" and
 * "----- END CLIENT CONFIG -----", then its terminal QR code (unless
 * with_qr is false), then, for a new key (fresh true), whether the server
 * keeps the private key.  0, or 1 after a message.
 */
int cli_show_client_config(const char *name, const char *config, bool with_qr,
			   bool fresh, bool key_kept);
/* A byte count as wg shows it ("1.50 KiB"); buf of 32 bytes. */
void cli_format_bytes(uint64_t n, char *buf, size_t len);
/* "12 seconds ago", "3 minutes, 2 seconds ago", "never"; buf of 96 bytes. */
void cli_format_ago(int64_t then, int64_t now, char *buf, size_t len);
/* `zerowg: SUBJECT: MESSAGE (field F)` on stderr; subject may be NULL. */
struct control_error;
void cli_control_error(const char *subject, const struct control_error *e);

/* ---- unseal.c: the store, for verbs that need no running server ---- */

struct store;
struct control;

/* Where the store is and how to unseal it, from --data, --store,
 * --key-fd, --credential, --keyring-key; filled by cli_store_option(). */
struct cli_store_opts {
	const char *data_dir;		/* NULL = CLI_DEFAULT_DATA_DIR */
	const char *store_uri;		/* NULL = sealed:data_dir */
	int key_fd;			/* -1 = not given */
	const char *credential;		/* NULL = zerowg-unseal-key */
	const char *keyring_key;	/* NULL = zerowg:unseal */
	bool keyring;			/* init: keep the new key in the kernel keyring */
};
void cli_store_opts_init(struct cli_store_opts *o);
/* Takes one getopt result (see CLI_STORE_LONGOPTS).  1 if it was a store
 * option, 0 if not ours, -1 after printing a message (bad value). */
int cli_store_option(struct cli_store_opts *o, int opt, const char *arg);
#define CLI_OPT_DATA 0x100
#define CLI_OPT_STORE 0x101
#define CLI_OPT_KEY_FD 0x102
#define CLI_OPT_CREDENTIAL 0x103
#define CLI_OPT_KEYRING 0x104
#define CLI_OPT_KEYRING_KEY 0x106
#define CLI_STORE_LONGOPTS \
	{ "data", required_argument, NULL, CLI_OPT_DATA }, \
	{ "store", required_argument, NULL, CLI_OPT_STORE }, \
	{ "key-fd", required_argument, NULL, CLI_OPT_KEY_FD }, \
	{ "credential", required_argument, NULL, CLI_OPT_CREDENTIAL }, \
	{ "keyring-key", required_argument, NULL, CLI_OPT_KEYRING_KEY }
#define CLI_STORE_USAGE \
	"  --data DIR         the sealed store's directory (default " CLI_DEFAULT_DATA_DIR ";\n" \
	"                     as a user: $XDG_DATA_HOME/zerowg)\n" \
	"  --store URI        another store: sealed:DIR or memory:\n" \
	"  --key-fd N         read the unseal key from file descriptor N\n" \
	"  --credential NAME  the systemd credential holding the key (zerowg-unseal-key)\n" \
	"  --keyring-key NAME the kernel keyring key holding it (zerowg:unseal)\n"

/* The server settings init and up share: the long options (each a
 * server_options name, see server_options_set) and their getopt codes. */
#define CLI_OPT_NO_NAT 0x105
#define CLI_SERVER_LONGOPTS \
	{ "interface", required_argument, NULL, 'i' }, \
	{ "port", required_argument, NULL, 'p' }, \
	{ "subnet", required_argument, NULL, 's' }, \
	{ "endpoint", required_argument, NULL, 'e' }, \
	{ "dns", required_argument, NULL, 'd' }, \
	{ "allowed-ips", required_argument, NULL, 'a' }, \
	{ "mtu", required_argument, NULL, 'm' }, \
	{ "nat", no_argument, NULL, 'n' }
/* The server_options name of a getopt code (and *value for the flags that
 * take none), or NULL if it is not a server setting. */
const char *cli_server_option(int opt, const char **value);

/*
 * Loads the unseal key (fd, systemd credential, kernel keyring, or a
 * prompt on the terminal) and opens the store and the control layer on
 * it.  0, or 1 after a message ("no store at DIR: run `zerowg init`",
 * "wrong unseal key for ...").  Close with cli_store_close().
 */
int cli_store_open(const struct cli_store_opts *o, struct store **st, struct control **ctl);
void cli_store_close(struct store *st, struct control *ctl);

/* ---- user.c: the accounts, for the user and token verbs ---- */

struct accounts;
struct cli_accounts {
	struct store *st;
	struct control *ctl;
	struct accounts *acc;
};
/* cli_store_open, then accounts_open on it.  0, or 1 after a message. */
int cli_accounts_open(const struct cli_store_opts *o, struct cli_accounts *ca);
void cli_accounts_close(struct cli_accounts *ca);
/* Asks a server running on admin_socket (NULL: the default) to re-read
 * the store (POST /v1/reload); nothing if none runs. */
void cli_accounts_reload_server(const char *admin_socket);

#endif
