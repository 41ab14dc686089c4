/*
 * server.h - `zerowg up`: the server runtime (docs/server.md, "Process
 * model of `zerowg up`").
 *
 * One process.  server_main() hardens the process, loads the unseal key,
 * opens the store (fail closed), opens the control layer, applies the
 * flags/environment (control_apply_options), creates the TUN device and
 * the in-process data plane with its UAPI socket (so `wg show IF` works on
 * the server's interface), configures addresses, MTU and routes through
 * netlink, applies the desired configuration, sets up NAT if asked, serves
 * the admin API, and runs the data plane's loop on the calling thread
 * until SIGTERM/SIGINT.  Then it undoes what it did (admin API, NAT table,
 * interface, sockets) and returns.  SIGHUP re-reads the store and applies
 * it (after another process wrote the store directly).
 *
 * It relies on: the store (store.h), the control layer (control.h: struct
 * server_options, every setting of the server itself), the data plane
 * (device.h, ipc.h, tun.h) and libsystemd (sd_notify, harmless without
 * systemd).
 *
 * For the CLI (`up.c`): parse the server settings into a struct
 * server_options (control.h: server_options_set, then envconf_load for the
 * environment), the process settings into a struct server_runtime, call
 * server_main(&opts, &rt) and use its return value as the exit status.
 * server_main prints its own error messages.
 */
#ifndef ZWG_SERVER_H
#define ZWG_SERVER_H

#include <stdbool.h>

#include "store.h"

struct server_options;	/* control.h */

/* The admin socket when --admin-socket is not given, as root (a user's
 * is under $XDG_RUNTIME_DIR: paths.h). */
#define SERVER_DEFAULT_ADMIN_SOCKET "/run/zerowg/admin.sock"
/* The user a server started as root runs as. */
#define SERVER_DEFAULT_USER "zerowg"

/* Where the process finds things: flags of `zerowg up` that are not
 * settings of the server record. */
struct server_runtime {
	const char *store_uri;		/* "sealed:DIR" (--data DIR) or --store URI;
					 * NULL = sealed:paths_data_dir() */
	struct store_key_source key;	/* --key-fd N (fd), credential, keyring,
					 * allow_prompt: see store.h */
	const char *admin_socket;	/* --admin-socket; NULL = the default */
	const char *uapi_dir;		/* NULL = /var/run/wireguard (the UAPI
					 * socket wg(8) talks to) */
	const char *user;		/* --user: started as root, the user the
					 * server runs as (NULL = "zerowg") */
	int tun_fd;			/* --tun-fd: adopt this TUN; -1 = create */
	const char *netns_path;		/* --netns: the tunnel interface's network
					 * namespace (NULL: here, or rootless a new one) */
	bool keep_keyring_key;		/* --keep-keyring-key: a key found in the
					 * kernel keyring stays there at a clean stop */
};

/*
 * Runs the server until SIGTERM or SIGINT.  Returns the exit status for
 * the process: 0 after a clean shutdown, 1 if start-up failed (missing
 * store, wrong unseal key, corrupt record, interface or socket could not
 * be created; the reason has been printed to stderr).
 */
int server_main(const struct server_options *opts, const struct server_runtime *rt);

#endif
