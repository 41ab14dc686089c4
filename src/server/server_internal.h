/*
 * server_internal.h - the server's state (server.c), shared with
 * server_mode.c (modes, privileges, socket activation).  Not for other
 * layers: they use server.h.
 */
#ifndef ZWG_SERVER_INTERNAL_H
#define ZWG_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "api.h"
#include "apply.h"
#include "control.h"
#include "device.h"
#include "egress.h"
#include "listenfds.h"
#include "model.h"
#include "nat.h"
#include "priv.h"
#include "server.h"

/* How the server got its interface (docs/first-use.md, "Without root"). */
enum server_mode {
	MODE_ROOT,	/* started as root: runs as its own user, the privileged
			 * part keeps root for the interface work */
	MODE_CAPS,	/* started as a user with CAP_NET_ADMIN (systemd's
			 * AmbientCapabilities=): the privileged part keeps it */
	MODE_ROOTLESS,	/* an ordinary user: the privileged part owns a user and
			 * network namespace of its own, where the tunnel lives */
};

struct server {
	const struct server_options *opts;
	const struct server_runtime *rt;
	enum server_mode mode;
	uid_t uid;				/* who the server runs as */
	gid_t gid;
	char store_uri[4200];
	char admin_path[108];
	char uapi_dir[108];			/* "" = no UAPI socket */
	/* The privileged part: the interface, its addresses, routes and NAT.
	 * Its lock is a leaf. */
	struct priv_client priv;
	bool priv_started;
	bool nat_on;				/* the privileged part set NAT up */
	/* The firewall the privileged part was last given (under apply_lock);
	 * fw_synced false: give it again at the next apply. */
	struct firewall_spec fw_sent;
	bool fw_synced;
	struct egress egress;			/* rootless: slirp4netns */
	struct listen_fds lfds;			/* socket activation (LISTEN_FDS) */
	struct dns_relay *dns;			/* clients' DNS on the tunnel address */
	struct store_key *key;
	/* The key's copy in the kernel keyring, removed at a clean stop
	 * (store_key_keyring_forget); key 0 = none, or kept. */
	struct store_keyring_ref keyring;
	struct store *store;
	struct control *ctl;
	struct server_record rec;		/* without its private key */
	uint8_t public_key[MODEL_KEY_LEN];
	char addr4[64];				/* "10.13.13.1/24" */
	char addr6[64];

	int tun_fd;
	int ifindex;
	struct device *dev;		/* created, run and torn down here only */
	struct driver *drv;		/* every other use of the data plane */
	struct ipc_server *ipc;
	/* Serialises applies, reloads and expiry: a set is computed from a
	 * get, and two of those must not cross.  Outermost lock. */
	pthread_mutex_t apply_lock;
	struct apply_routes routes;
	bool routes_ready;
	struct nat nat;
	struct stats *stats;
	struct api api;
	struct api_server *api_srv;

	/* The manager thread's sources (epoll on mgr_epoll). */
	int sig_fd;				/* signalfd: INT, TERM, HUP */
	int stats_fd;				/* timerfd, every STATS_INTERVAL_SEC */
	int expiry_fd;				/* timerfd, the earliest expiry */
	int mgr_stop_fd;			/* eventfd: the loop stopped by itself */
	int mgr_epoll;
	pthread_t manager;
	bool manager_started;
	struct loop_source wake_src;		/* eventfd: the manager stops the loop */
	bool api_stopped;			/* set by the manager (atomic) */
	int exit_status;			/* set by the manager before it stops the loop */
};

/* A start-up line: what was set up, shown at every log level (the log
 * says more with LOG_LEVEL=verbose). */
void server_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* LISTEN_FDS into srv->lfds.  0 or 1 after a message. */
int server_collect_listen_fds(struct server *srv);
/* Decides the mode, prepares what the server's user must own, forks the
 * privileged part (before any key is read) and, rootless, starts the
 * egress.  0 or 1 after a message. */
int server_privsep_start(struct server *srv);
const char *server_mode_name(enum server_mode m);
/* server.c: an apply, the expiry timer (need apply_lock, except
 * server_apply, which takes it); "ADDRESS/LEN" of a record's address. */
int server_apply_locked(struct server *srv, char *err, size_t errlen);
int server_apply(struct server *srv, char *err, size_t errlen);
void server_arm_expiry(struct server *srv);
void server_arm_expiry_after(struct server *srv, int64_t not_before);
void server_format_addr(char *buf, size_t len, int family, const void *addr, unsigned prefix);
/* server_store.c: opens the store with its unseal key (0 or 1 after a
 * message), noting a key from the kernel keyring; at a clean stop,
 * removes that key from the keyring. */
int server_open_store(struct server *srv);
void server_forget_keyring_key(struct server *srv);
/* server_api.c: a reload (takes apply_lock) as SIGHUP's actor; the API's
 * hooks into srv->api; the web listeners (0 or 1 after a message). */
int server_reload(struct server *srv, char *err, size_t errlen);
void server_api_hooks(struct server *srv);
int server_start_web(struct server *srv);
int64_t server_wall_now(void);
/* server_manager.c: the manager thread, its sources, and the loop's
 * wake-up that stops it. */
void *server_manager_main(void *arg);
int server_manager_watch(struct server *srv, int fd, uint32_t events);
void server_on_wake(struct device *dev, struct loop_source *src, uint32_t events);
#ifdef ZWG_TESTING
/* Tests only: a forbidden system call after the filter is in place. */
void server_seccomp_probe(const char *what);
#endif

#endif
