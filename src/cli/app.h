/*
 * app.h - what the files of `zerowg app` share: app.c (create, list,
 * show, link, remove, peer; the dispatch), app_store.c (the apps' stores,
 * prefix, paths and key) and app_run.c (run and up: the namespace, the
 * app's server, the command).
 *
 * Relies on cli.h (store options) and store.h (the unseal key).
 */
#ifndef ZWG_CLI_APP_H
#define ZWG_CLI_APP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "appnet.h"
#include "cli.h"
#include "model.h"
#include "store.h"

struct control;

/* What every subcommand shares. */
struct app_cmd {
	struct cli_store_opts so;
	/* Shorter than PATH_MAX: paths are made from them. */
	char data_dir[PATH_MAX - 256];
	char apps_dir[PATH_MAX - 192];	/* data_dir/apps */
	struct store_key *key;		/* loaded once (a --key-fd reads to EOF) */
	/* The option values of this subcommand. */
	const char *port, *subnet, *endpoint, *user;
};

/* One app's record, read from its store. */
struct app_info {
	char name[APPNET_NAME_MAX + 1];
	struct server_record rec;	/* without its private key */
	uint8_t public_key[MODEL_KEY_LEN];
	struct ip_prefix net4, net6;	/* its subnets */
	size_t n_peers;
	struct peer_record *peers;
};
void app_info_free(struct app_info *a);

/* ---- app_store.c ---- */

/* Whether the app's server answers on its admin socket. */
bool app_running(const char *name);
/* Whether the app's store exists. */
bool app_exists(const struct app_cmd *ac, const char *name);
/* Loads the unseal key and checks it against the main store.  0, or 1
 * after a message. */
int app_load_key(struct app_cmd *ac);
/* Opens an app's store and control layer.  0, or 1 after a message. */
int app_open(struct app_cmd *ac, const char *name, struct store **st, struct control **ctl);
void app_close(struct store *st, struct control *ctl);
/* Reads an app's record and peers.  0, or 1 after a message. */
int app_read(struct app_cmd *ac, const char *name, struct app_info *a);
/* The apps' names, sorted.  0 or -errno; free with app_free_names. */
int app_list_names(const struct app_cmd *ac, char ***out, size_t *n);
void app_free_names(char **names, size_t n);
/* The apps' ULA /48: read from its sealed record, or made (create).  0,
 * or 1 after a message. */
int app_ula48(struct app_cmd *ac, bool create, struct ip_prefix *out);
/* Whether UDP port is free here, IPv4 and IPv6 (appnet_next_port's test). */
bool app_udp_port_free(uint16_t port, void *arg);
/* Removes a store directory we made: its files, then itself. */
void app_remove_store_dir(const char *dir);
/* Sets the server record's IPv6 address (control_init_server made a
 * random ULA /64 of its own). */
int app_set_ipv6(struct store *st, const struct ip_prefix *net6, struct control_error *e);

/* "sealed:<apps_dir>/NAME": the app's store. */
void app_store_uri(const struct app_cmd *ac, const char *name, char *buf, size_t len);
/* <runtime>/zerowg/apps (/run/zerowg/apps; a user's under $XDG_RUNTIME_DIR),
 * next to the main admin socket. */
void app_runtime_dir(char *buf, size_t len);
/* Its NAME.sock: the app's admin API. */
void app_admin_socket(const char *name, char *buf, size_t len);
/* Its NAME.netns: the namespace of a running app, one line, for show. */
void app_ns_file(const char *name, char *buf, size_t len);
/* mkdir -p, each new directory with mode.  0 or -errno. */
int app_mkdirs(const char *path, mode_t mode);
/* 0 if name is an app name (and, want_exists, an app's), else -1 after a
 * message naming it and the fix. */
int app_check_name(const struct app_cmd *ac, const char *name, bool want_exists);

/* ---- app_run.c ---- */

/*
 * `app run NAME -- CMD` (cmd non-NULL) and `app up NAME` (cmd NULL): the
 * namespace, the app's server, CMD in the namespace, and everything
 * removed again.  Returns the exit status: CMD's (127/126 if it cannot
 * start), or for up the server's (0 after SIGTERM); 1 after a message.
 */
int app_run(struct app_cmd *ac, const char *name, char **cmd);

#endif
