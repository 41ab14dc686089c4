/*
 * server.c - `zerowg up` (server.h): start-up in a fixed order that fails
 * closed, applies and reloads, and a shutdown that undoes everything.  How
 * it gets its interface and drops its privileges is in server_mode.c, its
 * manager thread (signals, timers) in server_manager.c, the API's hooks
 * and the web listeners in server_api.c, the store and its unseal key in
 * server_store.c.
 *
 * Threads: the calling thread becomes the device's loop thread and owns the
 * device: it moves packets and answers the driver's gets and sets
 * (driver.h), nothing else.  Everything that reads the store or computes
 * a change runs off the loop: the admin API on libmicrohttpd's thread, and
 * a manager thread that owns the signals (SIGHUP reloads), statistics
 * sampling and expiry.  Applies are serialised by apply_lock; each one
 * reads the desired state, gets the device's state through the driver and
 * sends the loop only the final set request.  Lock order (outermost
 * first): apply_lock, then control's mutex (never held across a driver
 * call: the control layer releases it before its observer runs); stats,
 * routes and audit locks are leaves.
 *
 * Shutdown: SIGTERM/SIGINT reach the manager, which stops the admin API
 * (waiting for requests in progress, whose driver calls the loop still
 * serves), then wakes the loop through wake_src to stop it.  If the loop
 * stops first (its UAPI socket was removed), the main thread asks the
 * manager to shut down and keeps the loop running until the API is gone.
 * So no request can wait forever on a loop that no longer runs.
 *
 * Relies on store.h, control.h, the data plane (device.h, ipc.h, tun.h:
 * only to create, run and tear down the device), driver.h, priv.h (every
 * privileged step), sandbox.h, dns.h, apply.h, stats.h, audit.h, api.h
 * and libsystemd.
 */
#include "server.h"
#include "server_internal.h"
#include "api.h"
#include "api_http.h"
#include "accounts.h"
#include "apply.h"
#include "audit.h"
#include "control.h"
#include "crypto.h"
#include "device.h"
#include "dns.h"
#include "driver.h"
#include "egress.h"
#include "ipc.h"
#include "listenfds.h"
#include "log.h"
#include "nat.h"
#include "netlink.h"
#include "paths.h"
#include "priv.h"
#include "render.h"
#include "sandbox.h"
#include "secmem.h"
#include "stats.h"
#include "tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>


/* ------------------------------------------------------------ helpers -- */

/*
 * mlockall, where it cannot backfire: with MCL_FUTURE every later
 * allocation counts against RLIMIT_MEMLOCK, so without CAP_IPC_LOCK or an
 * unlimited limit the server would start failing to allocate.  Keys are
 * in secmem's locked pages either way.
 */
static void lock_memory(void)
{
	struct rlimit rl = { 0 };

#if defined(__SANITIZE_ADDRESS__)
	/* ASan's shadow memory is terabytes of reserved address space. */
	log_info("not locking all memory in a sanitizer build");
	return;
#endif
	/* Not has_cap(CAP_IPC_LOCK): the server drops every capability
	 * before it allocates most of its memory. */
	getrlimit(RLIMIT_MEMLOCK, &rl);
	if (rl.rlim_cur != RLIM_INFINITY) {
		log_warn("not locking all memory (no CAP_IPC_LOCK, RLIMIT_MEMLOCK %llu KiB): "
			  "keys stay in locked pages, other memory may be swapped",
			  (unsigned long long)rl.rlim_cur / 1024);
		return;
	}
	/* MCL_ONFAULT: lock pages as they are touched, so that reserved but
	 * unused memory (thread stacks) is not made resident. */
#ifdef MCL_ONFAULT
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0)
		return;
#endif
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		log_warn("mlockall failed: %s (keys stay in locked pages, other memory may be "
			  "swapped)", strerror(errno));
}

void server_format_addr(char *buf, size_t len, int family, const void *addr, unsigned prefix)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, prefix);
}

/* A start-up line: what was set up, shown at every log level (the log
 * says more with LOG_LEVEL=verbose). */
void server_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("zerowg: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ------------------------------------------------------------- apply -- */

static int desired_config(void *ctx, struct uapi_config *cfg)
{
	struct server *srv = ctx;

	return control_desired_config(srv->ctl, cfg);
}

static int desired_peers(void *ctx, const uint8_t (*keys)[UAPI_KEY_LEN], size_t n_keys,
			 struct uapi_config *cfg)
{
	struct server *srv = ctx;

	return control_desired_peers_at(srv->ctl, keys, n_keys, (int64_t)time(NULL), cfg);
}

struct prefix_pass {
	apply_prefix_fn fn;
	void *arg;
};

static int pass_prefix(void *arg, const struct ip_prefix *p)
{
	struct prefix_pass *pp = arg;

	return pp->fn(pp->arg, p->family, p->addr.bytes, p->len);
}

static int desired_prefixes(void *ctx, apply_prefix_fn fn, void *arg)
{
	struct server *srv = ctx;
	struct prefix_pass pp = { .fn = fn, .arg = arg };

	return control_desired_prefixes_at(srv->ctl, (int64_t)time(NULL), pass_prefix, &pp);
}

/*
 * Needs apply_lock.  Brings the privileged part's firewall (firewall.h) to
 * what the peer records say: the whole state, sent only when it differs
 * from what was sent last.  The first one is always sent, so a table a
 * killed privileged part left behind is replaced or removed.  A failure
 * with no restricted peer only warns (a host without nftables runs
 * unrestricted peers as before); with one it fails the apply.
 */
static int sync_firewall(struct server *srv, char *err, size_t errlen)
{
	struct firewall_spec want = { 0 };
	struct peer_record *peers = NULL;
	size_t n = 0;
	int ret;

	if (!srv->priv_started)
		return 0;
	ret = control_peer_list(srv->ctl, &peers, &n);
	if (ret == 0) {
		ret = firewall_spec_from_peers(&want, peers, n);
		model_peer_array_free(peers, n);
	}
	if (ret < 0) {
		snprintf(err, errlen, "firewall: %s", ret == -ENOSPC ?
			 "more restricted peers, or sources of one, than it can hold" :
			 strerror(-ret));
		return ret;
	}
	if (srv->fw_synced && firewall_spec_equal(&want, &srv->fw_sent)) {
		firewall_spec_clear(&want);
		return 0;
	}
	ret = priv_firewall_set(&srv->priv, &want, err, errlen);
	if (ret < 0 && !want.n_peers && !srv->fw_sent.n_peers) {
		log_warn("%s (no peer is restricted: nothing to enforce)", err);
		err[0] = '\0';
		ret = 0;
	}
	if (ret < 0) {
		firewall_spec_clear(&want);
		srv->fw_synced = false;
		return ret;
	}
	firewall_spec_clear(&srv->fw_sent);
	srv->fw_sent = want;
	srv->fw_synced = true;
	return 0;
}

/*
 * Needs apply_lock.  Applies what the control layer noted as changed since
 * the last apply: the peers of those keys only, or everything (at start,
 * after a reload, after a failed apply).  The notes are taken before the
 * desired state is read, so a change stored meanwhile is applied by this
 * apply or by the next one, never lost.
 */
int server_apply_locked(struct server *srv, char *err, size_t errlen)
{
	struct apply_peers_source src = { .desired_peers = desired_peers,
					  .prefixes = desired_prefixes, .ctx = srv };
	struct apply_counts counts;
	uint8_t (*keys)[MODEL_KEY_LEN] = NULL;
	size_t n = 0;
	bool all = false;
	int ret;

	control_take_changes(srv->ctl, &keys, &n, &all);
	if (all)
		ret = apply_run(srv->drv, &srv->routes, desired_config, srv, &counts, err, errlen);
	else if (n)
		ret = apply_run_peers(srv->drv, &srv->routes, (const uint8_t (*)[UAPI_KEY_LEN])keys,
				      n, &src, &counts, err, errlen);
	else
		ret = 0;	/* another apply took this change already */
	free(keys);
	if ((all || n) && ret == 0)
		ret = sync_firewall(srv, err, errlen);
	if (ret < 0)
		control_mark_all_changed(srv->ctl);	/* the next apply retries it all */
	else if (all || n)
		log_info("applied: %zu added, %zu removed, %zu updated, %zu unchanged%s",
			 counts.added, counts.removed, counts.updated, counts.unchanged,
			 all ? "" : " (the changed peers only)");
	return ret;
}

/* The routes for site-to-site subnets, through the interface. */
static int route_priv(void *ctx, bool add, const struct netlink_prefix *dst, char *err,
			 size_t errlen)
{
	struct server *srv = ctx;

	return priv_route(&srv->priv, add, dst, err, errlen);
}

/* Brings the data plane to what the store says, from any thread. */
int server_apply(struct server *srv, char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&srv->apply_lock);
	ret = server_apply_locked(srv, err, errlen);
	pthread_mutex_unlock(&srv->apply_lock);
	return ret;
}

/* Wall-clock seconds, read precisely: time() may read a coarse clock
 * that lags the timerfd's by a tick, which would make an expiry timer
 * that just fired look early. */
int64_t server_wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

/* Arms the expiry timer for the earliest expiry (never earlier than
 * not_before, so a peer the control layer did not expire cannot make the
 * loop spin). */
void server_arm_expiry_after(struct server *srv, int64_t not_before)
{
	struct itimerspec its = { 0 };
	int64_t next;

	if (srv->expiry_fd < 0)
		return;
	next = control_next_expiry(srv->ctl);
	/* 0 disarms; a time in the past fires at once. */
	if (next > 0)
		its.it_value.tv_sec = next > not_before ? next : not_before;
	timerfd_settime(srv->expiry_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void server_arm_expiry(struct server *srv)
{
	server_arm_expiry_after(srv, 1);
}

/* The control layer heard of a stored change (on the thread that made it,
 * made by actor). */
static void on_change(void *ctx, const char *peer_name, enum control_event ev,
		      const struct actor *actor)
{
	struct server *srv = ctx;

	audit_log(control_event_name(ev), peer_name, actor, true, NULL);
	server_arm_expiry(srv);
}

/* ----------------------------------------------------------- start-up -- */

/* Addresses, MTU, link up. */
static int configure_interface(struct server *srv)
{
	struct netlink_prefix p4, p6;
	char err[512];
	int ifindex = srv->ifindex, ret;

	if (ifindex <= 0) {
		fprintf(stderr, "zerowg: interface %s has no index\n", srv->rec.interface);
		return 1;
	}
	if (!netlink_prefix_parse(&p4, srv->addr4) || !netlink_prefix_parse(&p6, srv->addr6)) {
		fprintf(stderr, "zerowg: the server record's addresses \"%s\" / \"%s\" do not parse\n",
			srv->addr4, srv->addr6);
		return 1;
	}
	if ((ret = priv_addr(&srv->priv, true, &p4, err, sizeof(err))) < 0 ||
	    (ret = priv_addr(&srv->priv, true, &p6, err, sizeof(err))) < 0 ||
	    (ret = priv_link_set(&srv->priv, srv->rec.mtu ? srv->rec.mtu : TUN_DEFAULT_MTU, true,
				 err, sizeof(err))) < 0) {
		fprintf(stderr, "zerowg: %s\n", err);
		return 1;
	}
	return 0;
}

/* Writes text that holds a key straight to stdout, so that no stdio
 * buffer keeps a copy. */
static void write_secret(const char *text)
{
	size_t len = strlen(text), off = 0;

	fflush(stdout);
	while (off < len) {
		ssize_t n = write(STDOUT_FILENO, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

/* LOG_CONFS: the configs of the PEERS peers, as linuxserver prints them --
 * but only to a terminal.  A config holds the client's private key, and
 * stdout that is not a terminal ends up in a file (the journal, a container
 * log): zerowg never writes a key to disk. */
static void log_confs(struct server *srv)
{
	const struct server_options *o = srv->opts;

	if (!o || !o->log_confs || !o->n_peers)
		return;
	/* Stricter than the CLI (src/cli/secret_out.c also takes a pipe or a
	 * socket): a daemon's pipe or socket is a log collector (docker's
	 * json-file, journald), i.e. a disk. */
	if (!isatty(STDOUT_FILENO)) {
		printf("LOG_CONFS: not printing client configs (they hold private keys) to a "
		       "log that may be written to disk; show them with `zerowg show-peer NAME`\n");
		fflush(stdout);
		return;
	}
	for (size_t i = 0; i < o->n_peers; i++) {
		struct control_error e;
		char *config = NULL, *qr = NULL;

		control_error_clear(&e);
		if (control_peer_client_config(srv->ctl, o->peers[i], &config, &qr, &e) < 0) {
			log_error("%s", e.msg);
			continue;
		}
		printf("PEER %s QR code:\n", o->peers[i]);
		if (qr)
			write_secret(qr);
		printf("----- BEGIN CLIENT CONFIG %s -----\n", o->peers[i]);
		write_secret(config);
		if (config[0] && config[strlen(config) - 1] != '\n')
			write_secret("\n");
		printf("----- END CLIENT CONFIG %s -----\n", o->peers[i]);
		fflush(stdout);
		render_free(config);
		render_free(qr);
	}
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/*
 * The clients' DNS: when their DNS line names the server's own tunnel
 * address (the default, "auto"), a relay answers there, forwarding to the
 * host's resolvers.  Its socket comes from the privileged part (port 53).
 * 0 or 1 after a message.
 */
static int start_dns(struct server *srv)
{
	struct netlink_prefix allow[2], addr;
	char a4[INET_ADDRSTRLEN], err[512] = "";
	size_t n = 0;
	int fd, ret;

	inet_ntop(AF_INET, &srv->rec.ipv4, a4, sizeof(a4));
	if (!dns_list_names(srv->rec.dns, a4)) {
		server_say("DNS: clients use %s (no relay on %s)",
		    srv->rec.dns && *srv->rec.dns ? srv->rec.dns : "their own servers", a4);
		return 0;
	}
	if (!netlink_prefix_parse(&addr, a4))
		return 1;
	if (netlink_prefix_parse(&allow[n], srv->addr4))
		netlink_prefix_mask(&allow[n]), n++;
	if (netlink_prefix_parse(&allow[n], srv->addr6))
		netlink_prefix_mask(&allow[n]), n++;
	ret = priv_dns_open(&srv->priv, &addr, DNS_PORT, &fd, err, sizeof(err));
	if (ret < 0) {
		log_error("DNS: cannot listen on %s:%d: %s; clients told to ask there get no "
			  "answer (set --dns to other servers)", a4, DNS_PORT, err);
		return 0;
	}
	srv->dns = dns_relay_start(fd, allow, n, NULL, err, sizeof(err));
	if (!srv->dns) {
		log_error("%s; clients told to ask %s get no answer (set --dns to other "
			  "servers)", err, a4);
		return 0;
	}
	dns_relay_describe(srv->dns, err, sizeof(err));
	server_say("%s", err);
	return 0;
}

/*
 * Socket activation handed over the UDP socket(s): their port is the
 * server's (and the clients' Endpoint's).  0 or 1 after a message.
 */
static int use_activated_port(struct server *srv)
{
	struct server_options o;
	struct control_error e;
	char port[8];
	int ret;

	if (srv->opts && srv->opts->listen_port && srv->opts->listen_port != srv->lfds.udp_port) {
		fprintf(stderr, "zerowg: --port %u, but socket activation passed a UDP socket on port "
			"%u: drop --port, or change ListenDatagram=\n", srv->opts->listen_port,
			srv->lfds.udp_port);
		return 1;
	}
	server_options_init(&o);
	snprintf(port, sizeof(port), "%u", srv->lfds.udp_port);
	control_error_clear(&e);
	ret = server_options_set(&o, "port", port, &e);
	struct actor startup = actor_system("startup");
	if (ret == 0)
		ret = control_apply_options(srv->ctl, &o, &startup, &e);
	server_options_free(&o);
	if (ret < 0) {
		fprintf(stderr, "zerowg: %s\n", e.msg[0] ? e.msg : strerror(-ret));
		return 1;
	}
	return 0;
}

static int start(struct server *srv)
{
	long long t0, t1, t2, t3;
	struct control_error e;
	char err[512] = "";
	int ret, admin_fd;

	t0 = mono_ms();
	if (server_open_store(srv))
		return 1;
	/* The key is loaded (as root, where it had to be): from here on the
	 * server is its own user with no capability at all. */
	ret = sandbox_drop_privileges(srv->mode == MODE_ROOT ? srv->uid : (uid_t)-1,
				      srv->mode == MODE_ROOT ? srv->gid : (gid_t)-1, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "zerowg: dropping privileges: %s\n", err);
		return 1;
	}
	t1 = mono_ms();
	control_error_clear(&e);
	ret = control_open(srv->store, &srv->ctl, &e);
	if (ret < 0) {
		fprintf(stderr, "zerowg: %s\n", e.msg[0] ? e.msg : strerror(-ret));
		return 1;
	}
	control_set_observer(srv->ctl, on_change, srv);
	/* The web's users, sessions and tokens: the authenticate callback of
	 * the TCP listener and the account routes (accounts_routes.c). */
	ret = accounts_open(srv->store, &srv->api.accounts, &e);
	if (ret < 0) {
		fprintf(stderr, "zerowg: opening the user accounts: %s\n",
			e.msg[0] ? e.msg : strerror(-ret));
		return 1;
	}
	srv->api.authenticate = api_accounts_authenticate;
	srv->api.auth_ctx = &srv->api;
	if (srv->opts) {
		struct actor env = actor_system("env");

		ret = control_apply_options(srv->ctl, srv->opts, &env, &e);
		if (ret < 0) {
			fprintf(stderr, "zerowg: %s\n", e.msg[0] ? e.msg : strerror(-ret));
			return 1;
		}
	}
	if (srv->lfds.udp_port && use_activated_port(srv))
		return 1;
	ret = control_get_server(srv->ctl, &srv->rec, srv->public_key);
	if (ret < 0) {
		fprintf(stderr, "zerowg: reading the server record: %s\n", strerror(-ret));
		return 1;
	}
	server_format_addr(srv->addr4, sizeof(srv->addr4), AF_INET, &srv->rec.ipv4, srv->rec.ipv4_prefix);
	server_format_addr(srv->addr6, sizeof(srv->addr6), AF_INET6, &srv->rec.ipv6, srv->rec.ipv6_prefix);

	t2 = mono_ms();
	/* The same fast path as zerowgd: vnet header with TSO and USO, UDP
	 * GSO/GRO, crypto on every core (ZWG_DISABLE_OFFLOAD and ZWG_WORKERS
	 * apply here too). */
	struct tun_offloads off;
	char ifname[IF_NAMESIZE];
	snprintf(ifname, sizeof(ifname), "%s", srv->rec.interface);
	ret = priv_tun_open(&srv->priv, ifname, &srv->tun_fd, &srv->ifindex, &off, err,
			    sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "zerowg: cannot create the TUN interface %s: %s\n",
			srv->rec.interface, err[0] ? err : strerror(-ret));
		return 1;
	}
	/* The loop never blocks: an adopted TUN (--tun-fd) may come blocking. */
	{
		int fl = fcntl(srv->tun_fd, F_GETFL);
		if (fl < 0 || fcntl(srv->tun_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
			fprintf(stderr, "zerowg: the TUN fd: %s\n", strerror(errno));
			return 1;
		}
	}
	/* Our copy of --tun-fd: the helper handed the interface back. */
	if (srv->rt->tun_fd >= 0 && srv->rt->tun_fd != srv->tun_fd)
		close(srv->rt->tun_fd);
	if (strcmp(ifname, srv->rec.interface)) {
		/* --tun-fd: the interface is the one handed over. */
		log_info("interface %s (from --tun-fd) instead of %s", ifname, srv->rec.interface);
		snprintf(srv->rec.interface, sizeof(srv->rec.interface), "%s", ifname);
	}
	srv->dev = calloc(1, sizeof(*srv->dev));
	if (!srv->dev) {
		fprintf(stderr, "zerowg: out of memory\n");
		return 1;
	}
	ret = device_init(srv->dev, srv->rec.interface, srv->tun_fd);
	/* The privileged part knows the index: in rootless mode the interface
	 * is in its namespace, not ours. */
	srv->dev->ifindex = srv->ifindex;
	if (ret < 0) {
		free(srv->dev);
		srv->dev = NULL;
		fprintf(stderr, "zerowg: cannot set up interface %s: %s\n", srv->rec.interface,
			strerror(-ret));
		return 1;
	}
	if ((ret = device_set_offloads(srv->dev, &off)) < 0 ||
	    (ret = device_start_workers(srv->dev, -1)) < 0) {
		fprintf(stderr, "zerowg: cannot set up interface %s: %s\n", srv->rec.interface,
			strerror(-ret));
		return 1;
	}
	if (srv->lfds.udp4 >= 0 || srv->lfds.udp6 >= 0) {
		ret = device_adopt_sockets(srv->dev, srv->lfds.udp4, srv->lfds.udp6);
		if (ret < 0) {
			fprintf(stderr, "zerowg: cannot use the UDP socket(s) from socket activation: "
				"%s\n", strerror(-ret));
			return 1;
		}
		srv->lfds.udp4 = srv->lfds.udp6 = -1;	/* the device's now */
		server_say("UDP port %u from socket activation", srv->lfds.udp_port);
	}
	srv->drv = driver_inproc_new(srv->dev);
	if (!srv->drv) {
		fprintf(stderr, "zerowg: out of memory\n");
		return 1;
	}
	if (srv->uapi_dir[0]) {
		int fd;
		ret = priv_uapi_open(&srv->priv, &fd, err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "zerowg: cannot create the UAPI socket %s/%s.sock: %s\n",
				srv->uapi_dir, srv->rec.interface, err[0] ? err : strerror(-ret));
			return 1;
		}
		srv->ipc = ipc_server_adopt(srv->dev, fd, srv->uapi_dir);
		if (!srv->ipc) {
			fprintf(stderr, "zerowg: cannot serve the UAPI socket %s/%s.sock: %s\n",
				srv->uapi_dir, srv->rec.interface, strerror(errno));
			return 1;
		}
	}
	if (configure_interface(srv))
		return 1;
	srv->stats = stats_new();
	if (!srv->stats) {
		fprintf(stderr, "zerowg: out of memory\n");
		return 1;
	}
	apply_routes_init(&srv->routes, route_priv, srv);
	apply_routes_add_own(&srv->routes, srv->addr4);
	apply_routes_add_own(&srv->routes, srv->addr6);
	srv->routes_ready = true;
	t3 = mono_ms();
	if (server_apply(srv, err, sizeof(err)) < 0) {
		fprintf(stderr, "zerowg: %s\n", err);
		return 1;
	}
	log_info("start-up: store %lld ms, peers loaded %lld ms, interface %lld ms, "
		 "peers applied %lld ms", t1 - t0, t2 - t1, t3 - t2, mono_ms() - t3);
	if (srv->rec.nat &&
	    priv_nat_setup(&srv->priv, srv->addr4, srv->addr6, err, sizeof(err)) < 0) {
		/* Asked for now (--nat): a failure is fatal.  On by default or
		 * from the store: the VPN itself works, say what does not. */
		if (srv->opts && srv->opts->nat == 1) {
			fprintf(stderr, "zerowg: %s\n", err);
			return 1;
		}
		log_error("%s; clients reach this server and each other, not the internet",
			  err);
	} else if (srv->rec.nat) {
		srv->nat_on = true;
		server_say("%s", err);
	} else {
		struct nat none = { 0 };
		nat_describe(&none, err, sizeof(err));
		server_say("%s", err);
	}
	if (start_dns(srv))
		return 1;

	srv->stats_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	srv->expiry_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	srv->mgr_stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	srv->mgr_epoll = epoll_create1(EPOLL_CLOEXEC);
	srv->wake_src.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	srv->wake_src.ready = server_on_wake;
	srv->wake_src.ctx = srv;
	/* The privileged part's socket only for its hang-up: its replies are
	 * read by the callers. */
	if (srv->mgr_epoll < 0 || server_manager_watch(srv, srv->sig_fd, EPOLLIN) < 0 ||
	    server_manager_watch(srv, srv->stats_fd, EPOLLIN) < 0 ||
	    server_manager_watch(srv, srv->expiry_fd, EPOLLIN) < 0 ||
	    server_manager_watch(srv, srv->mgr_stop_fd, EPOLLIN) < 0 ||
	    server_manager_watch(srv, srv->priv.fd, EPOLLRDHUP) < 0 || srv->wake_src.fd < 0 ||
	    device_watch(srv->dev, &srv->wake_src, EPOLLIN) < 0) {
		fprintf(stderr, "zerowg: cannot set up the event loop: %s\n", strerror(errno));
		return 1;
	}
	struct itimerspec every = { .it_interval = { STATS_INTERVAL_SEC, 0 },
				    .it_value = { STATS_INTERVAL_SEC, 0 } };
	timerfd_settime(srv->stats_fd, 0, &every, NULL);
	server_arm_expiry(srv);

	server_api_hooks(srv);
	/* The last step before packets and requests: nothing below parses
	 * input with a system call this filter does not allow. */
	{
		struct sandbox_allow allow = { .key = srv->keyring.key, .ring = srv->keyring.ring };

		ret = sandbox_seccomp(SANDBOX_SERVER, srv->keyring.key ? &allow : NULL, err,
				      sizeof(err));
	}
	if (ret < 0) {
		fprintf(stderr, "zerowg: %s\n", err);
		return 1;
	}
#ifdef ZWG_TESTING
	server_seccomp_probe(getenv("ZWG_TEST_SECCOMP_PROBE"));
#endif
	if (srv->lfds.admin >= 0) {
		admin_fd = srv->lfds.admin;
		srv->lfds.admin = -1;
		ret = 0;
	} else {
		ret = priv_admin_open(&srv->priv, &admin_fd, err, sizeof(err));
	}
	if (ret < 0) {
		fprintf(stderr, "zerowg: cannot create the admin socket %s: %s\n", srv->admin_path,
			err[0] ? err : strerror(-ret));
		return 1;
	}
	srv->api_srv = api_server_start_fd(&srv->api, admin_fd, err, sizeof(err));
	if (!srv->api_srv) {
		fprintf(stderr, "zerowg: %s\n", err);
		return 1;
	}
	return server_start_web(srv);
}

/* ---------------------------------------------------------- shutdown -- */

static int run(struct server *srv)
{
	uint64_t one = 1;
	int status;

	/* From here on the loop thread owns the device; the manager and the
	 * API reach it through the driver. */
	driver_inproc_direct(srv->drv, false);
	if (pthread_create(&srv->manager, NULL, server_manager_main, srv) != 0) {
		log_error("cannot start the manager thread");
		return 1;
	}
	srv->manager_started = true;
	status = device_run(srv->dev);
	srv->exit_status = status;
	/* The loop stopped by itself (its UAPI socket was removed) or for the
	 * manager; either way the manager shuts the API down, and the loop
	 * runs until the API is gone.  The manager's wake-up stays readable,
	 * so it is never missed. */
	if (write(srv->mgr_stop_fd, &one, sizeof(one)) < 0)
		log_warn_errno("eventfd");
	while (!__atomic_load_n(&srv->api_stopped, __ATOMIC_ACQUIRE)) {
		srv->dev->stopping = false;
		device_run(srv->dev);
	}
	pthread_join(srv->manager, NULL);
	srv->manager_started = false;
	return status;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void teardown(struct server *srv)
{
	char err[512];

	api_server_stop(srv->api_srv);
	srv->api_srv = NULL;
	dns_relay_stop(srv->dns);
	srv->dns = NULL;
	if (srv->priv_started && !srv->priv.dead &&
	    priv_nat_teardown(&srv->priv, err, sizeof(err)) < 0)
		log_error("%s", err);
	close_fd(&srv->mgr_epoll);
	close_fd(&srv->stats_fd);
	close_fd(&srv->expiry_fd);
	close_fd(&srv->mgr_stop_fd);
	driver_free(srv->drv);
	srv->drv = NULL;
	if (srv->dev) {
		if (srv->wake_src.fd >= 0)
			device_unwatch(srv->dev, &srv->wake_src);
		ipc_server_close(srv->ipc);
		/* Routes go with the interface. */
		if (srv->routes_ready)
			apply_routes_free(&srv->routes, false);
		device_teardown(srv->dev);
		free(srv->dev);
	}
	close_fd(&srv->wake_src.fd);
	if (srv->tun_fd >= 0)
		close(srv->tun_fd);	/* removes the interface */
	stats_free(srv->stats);
	accounts_close(srv->api.accounts);	/* no request runs any more */
	srv->api.accounts = NULL;
	if (srv->ctl)
		control_close(srv->ctl);
	model_server_free(&srv->rec);
	store_close(srv->store);
	store_key_free(srv->key);
	pthread_mutex_destroy(&srv->apply_lock);
	firewall_spec_clear(&srv->fw_sent);
	/* Last: it removes the UAPI and admin socket files and any NAT left,
	 * and is waited for, so the host is as before once we exit. */
	if (srv->priv_started)
		priv_close(&srv->priv);
	egress_stop(&srv->egress);
	listen_fds_close(&srv->lfds);
}

int server_main(const struct server_options *opts, const struct server_runtime *rt)
{
	static const struct server_runtime no_rt = { .key = { .fd = -1 }, .tun_fd = -1 };
	struct server srv;
	sigset_t mask, old;
	int ret, status = 1;
	bool listen_ok;

	memset(&srv, 0, sizeof(srv));
	srv.opts = opts;
	srv.rt = rt ? rt : &no_rt;
	srv.tun_fd = -1;
	srv.sig_fd = srv.stats_fd = srv.expiry_fd = srv.wake_src.fd = -1;
	srv.mgr_stop_fd = srv.mgr_epoll = -1;
	srv.lfds.udp4 = srv.lfds.udp6 = srv.lfds.admin = srv.lfds.http = -1;
	pthread_mutex_init(&srv.apply_lock, NULL);
	log_init("zerowg", log_level_from_string(getenv("LOG_LEVEL")));
	snprintf(srv.admin_path, sizeof(srv.admin_path), "%s",
		 srv.rt->admin_socket ? srv.rt->admin_socket : paths_admin_socket());
	/* First, before anything opens a file: activated sockets start at fd 3,
	 * and a signalfd made earlier would stand where one is missing. */
	listen_ok = server_collect_listen_fds(&srv) == 0;

	if ((ret = secmem_harden_process()) < 0)
		log_error("could not make the process non-dumpable: %s", strerror(-ret));
	if (!crypto_init()) {
		fprintf(stderr, "zerowg: libcrypto lacks an algorithm WireGuard needs (OpenSSL 3 "
			"required)\n");
		return 1;
	}
	model_json_wipe_on_free();
	signal(SIGPIPE, SIG_IGN);
	/* Before any thread exists, so that every thread blocks them and the
	 * signalfd alone receives them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	srv.sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	snprintf(srv.store_uri, sizeof(srv.store_uri), "%s",
		 srv.rt->store_uri ? srv.rt->store_uri : "");
	if (!srv.store_uri[0])
		snprintf(srv.store_uri, sizeof(srv.store_uri), "sealed:%s", paths_data_dir());

	if (listen_ok && server_privsep_start(&srv) == 0 &&
	    (lock_memory(), start(&srv) == 0)) {
		struct sandbox_status sst;
		char pub64[KEY_BASE64_LEN + 1];
		struct uapi_config now;

		uapi_config_init(&now);
		if (driver_get_stats(srv.drv, &now) < 0)
			now.listen_port = 0;
		key_to_base64(pub64, srv.public_key);
		if (sandbox_status_read(0, &sst) == 0) {
			char line[256];
			sandbox_status_format(&sst, line, sizeof(line));
			server_say("%s (%s mode)", line, server_mode_name(srv.mode));
		}
		log_confs(&srv);
		fprintf(stderr, "zerowg: interface %s up, listening on UDP port %u, public key %s, "
			"%zu peers, admin API on %s\n", srv.rec.interface, now.listen_port, pub64,
			control_peer_count(srv.ctl), srv.admin_path);
		uapi_config_free(&now);
		uint64_t gen;
		if (store_generation(srv.store, &gen) == 0)
			server_say("store at generation %llu%s", (unsigned long long)gen,
				   getenv("ZEROWG_STORE_EPOCH_FILE") ?
				   ", not older than the epoch file" : "");
		struct actor startup = actor_system("startup"), stopping = actor_system("shutdown");
		audit_log(AUDIT_SERVER_START, NULL, &startup, true, NULL);
		sd_notifyf(0, "READY=1\nSTATUS=%s up, %zu peers", srv.rec.interface,
			   control_peer_count(srv.ctl));
		status = run(&srv);
		/* A clean stop: the key's copy in the kernel goes first. */
		if (status == 0)
			server_forget_keyring_key(&srv);
		audit_log(AUDIT_SERVER_STOP, NULL, &stopping, true, NULL);
	}
	teardown(&srv);
	if (srv.sig_fd >= 0)
		close(srv.sig_fd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return status;
}
