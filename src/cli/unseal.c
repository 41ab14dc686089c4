/*
 * unseal.c - how the verbs that work without a running server (import,
 * export, show-peer when no server answers) open the store: find out
 * whether there is one, get its unseal key, open it, and open the control
 * layer on it.
 *
 * The key comes from where store_key_load() looks (an inherited fd, a
 * systemd credential, the kernel keyring, a prompt on the terminal); it is
 * never read from a file in the data directory.  Every failure ends in one
 * message that says what to do, and nothing falls back to plaintext.
 *
 * Relies on store.h and control.h.
 */
#include "cli.h"
#include "control.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Is there a store at uri at all?  Opening it with a throw-away key tells
 * "missing" (-ENOENT) apart from "there" (-EKEYREJECTED), through the
 * store's own interface, before anyone is asked for the real key.  0 if
 * there is one, else 1 after printing the store's message.
 */
static int check_store_exists(const char *uri)
{
	struct store_key *probe;
	struct store *st = NULL;
	char err[512];
	int ret;

	if (strncmp(uri, "sealed:", 7))
		return 0;
	probe = store_key_new();
	if (!probe) {
		fprintf(stderr, "zerowg: out of memory\n");
		return 1;
	}
	ret = store_open(uri, probe, &st, err, sizeof(err));
	store_key_free(probe);
	store_close(st);
	if (ret == 0 || ret == -EKEYREJECTED)
		return 0;
	fprintf(stderr, "zerowg: %s\n", err);
	return 1;
}

int cli_store_open(const struct cli_store_opts *o, struct store **stp, struct control **ctlp)
{
	struct store_key_source src = {
		.fd = o->key_fd,
		.credential_name = o->credential,
		.keyring_desc = o->keyring_key,
		/* Only a person at a terminal can answer a prompt. */
		.allow_prompt = isatty(STDIN_FILENO) && o->key_fd != STDIN_FILENO,
	};
	struct store_key *key = NULL;
	struct control_error e;
	struct store *st = NULL;
	struct control *ctl = NULL;
	const char *where = NULL;
	char err[512];
	char *uri;
	int ret = 1, r;

	*stp = NULL;
	*ctlp = NULL;
	uri = cli_store_uri(o->data_dir, o->store_uri);
	if (!uri) {
		fprintf(stderr, "zerowg: out of memory\n");
		return 1;
	}
	if (check_store_exists(uri))
		goto out;
	if (strcmp(uri, "memory:")) {
		r = store_key_load(&src, &key, &where, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "zerowg: cannot unseal %s: %s\n", uri, err);
			if (r == -ENOKEY)
				fprintf(stderr, "zerowg: give the unseal key with --key-fd N, a "
					"systemd credential, or `zerowg init --keyring` for this "
					"boot; run on a terminal to be asked for it\n");
			goto out;
		}
	}
	r = store_open(uri, key, &st, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "zerowg: %s\n", err);
		if (r == -EKEYREJECTED && where)
			fprintf(stderr, "zerowg: (the key came from %s)\n", where);
		goto out;
	}
	r = control_open(st, &ctl, &e);
	if (r < 0) {
		cli_control_error(store_describe(st), &e);
		goto out;
	}
	*stp = st;
	*ctlp = ctl;
	st = NULL;
	ret = 0;
out:
	store_close(st);
	store_key_free(key);
	free(uri);
	return ret;
}

void cli_store_close(struct store *st, struct control *ctl)
{
	if (ctl)
		control_close(ctl);
	store_close(st);
}
