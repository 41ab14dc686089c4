/*
 * server_store.c - the server's store and its unseal key: opening (or,
 * for memory:, creating) the store with the key from store_key_load, and
 * the key's copy in the kernel keyring, held before the drop and
 * forgotten at a clean stop (docs/server.md, "The unseal key in the
 * kernel keyring").
 *
 * Relies on server_internal.h, store.h, control.h, crypto.h and log.h.
 */
#include "server_internal.h"
#include "control.h"
#include "crypto.h"
#include "log.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * The key came from the kernel keyring, where `zerowg init --keyring` (or
 * an operator) left it for this start: note where, so that a clean stop
 * takes it out again (forget_keyring_key).  A crash leaves it, for the
 * restart.  Failing to note it is not fatal: the key then stays until its
 * timeout, and the log says so.
 */
static void hold_keyring_key(struct server *srv)
{
	int ret = store_key_keyring_hold(srv->rt->key.keyring_desc, &srv->keyring);

	if (ret < 0) {
		srv->keyring = (struct store_keyring_ref){ 0 };
		log_warn("the unseal key stays in the kernel keyring after the stop (until its "
			 "timeout): %s", strerror(-ret));
	}
}

void server_forget_keyring_key(struct server *srv)
{
	int ret;

	if (!srv->keyring.key)
		return;
	ret = store_key_keyring_forget(&srv->keyring);
	if (ret < 0)
		log_warn("cannot remove the unseal key from the kernel keyring: %s; it stays "
			 "until its timeout (keyctl invalidate %d)", strerror(-ret),
			 (int)srv->keyring.key);
	else
		server_say("the unseal key is no longer in the kernel keyring; the next start "
			   "needs it again (--key-fd, a credential, or keyctl padd user %s @u)",
			   srv->rt->key.keyring_desc ? srv->rt->key.keyring_desc : "zerowg:unseal");
	srv->keyring = (struct store_keyring_ref){ 0 };
}

/* Opens (or, for memory:, creates) the store.  0 or 1 after a message. */
int server_open_store(struct server *srv)
{
	const char *uri = srv->store_uri;
	struct control_error e;
	const char *where = NULL;
	char err[512] = "";
	int ret;

	control_error_clear(&e);
	if (!strncmp(uri, "memory:", 7)) {
		/* Nothing survives the process: a fresh store and server. */
		srv->key = store_key_new();
		if (!srv->key || !crypto_random(srv->key->bytes, sizeof(srv->key->bytes))) {
			fprintf(stderr, "zerowg: cannot make a key for the memory store\n");
			return 1;
		}
		ret = store_create(uri, srv->key, &srv->store, err, sizeof(err));
		if (ret == 0)
			ret = control_init_server(srv->store, srv->opts, &e);
		if (ret < 0) {
			fprintf(stderr, "zerowg: %s\n", e.msg[0] ? e.msg : err[0] ? err : strerror(-ret));
			return 1;
		}
		return 0;
	}
	if (!strncmp(uri, "sealed:", 7)) {
		/* Tell a missing store from a wrong key before asking for one. */
		struct store_key *probe = store_key_new();
		struct store *st = NULL;
		if (!probe) {
			fprintf(stderr, "zerowg: out of memory\n");
			return 1;
		}
		ret = store_open(uri, probe, &st, err, sizeof(err));
		store_key_free(probe);
		store_close(st);
		if (ret < 0 && ret != -EKEYREJECTED) {
			fprintf(stderr, "zerowg: %s\n", err[0] ? err : strerror(-ret));
			return 1;
		}
	}
	ret = store_key_load(&srv->rt->key, &srv->key, &where, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "zerowg: cannot unseal %s: %s\n", uri, err[0] ? err : strerror(-ret));
		if (ret == -ENOKEY)
			fprintf(stderr, "zerowg: give the unseal key with --key-fd N, a systemd "
				"credential, or `zerowg init --keyring` for this boot\n");
		return 1;
	}
	ret = store_open(uri, srv->key, &srv->store, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "zerowg: %s\n", err[0] ? err : strerror(-ret));
		if (ret == -EKEYREJECTED && where)
			fprintf(stderr, "zerowg: (the key came from %s)\n", where);
		return 1;
	}
	log_info("store %s unsealed with the key from %s", store_describe(srv->store),
		 where ? where : "?");
	if (where && !strcmp(where, STORE_KEY_FROM_KEYRING) && !srv->rt->keep_keyring_key)
		hold_keyring_key(srv);
	return 0;
}
