/*
 * server_mode.c - how `zerowg up` gets its interface without holding a
 * capability itself (docs/first-use.md, "Without root"): the sockets handed
 * over by socket activation, the mode (root, CAP_NET_ADMIN alone,
 * rootless), the privileged helper forked before any key is read (priv.h),
 * the store handed to the server's user, and, rootless, the clients' way
 * out (egress.h).
 *
 * Relies on priv.h, sandbox.h, listenfds.h, egress.h and store.h.
 */
#include "server_internal.h"
#include "egress.h"
#include "ipc.h"
#include "listenfds.h"
#include "log.h"
#include "paths.h"
#include "sandbox.h"
#include "store.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ---------------------------------------------------------- privileges -- */

/* LISTEN_FDS: 0 or 1 after a message. */
int server_collect_listen_fds(struct server *srv)
{
	char err[512] = "";
	int ret = listen_fds_collect(&srv->lfds, err, sizeof(err));

	if (ret < 0) {
		fprintf(stderr, "zerowg: socket activation: %s\n", err[0] ? err : strerror(-ret));
		return 1;
	}
	/* A TCP socket (lfds.http) is the web listener: server.c's
	 * start_web serves it. */
	if (srv->lfds.admin >= 0) {
		struct sockaddr_un sun;
		socklen_t len = sizeof(sun);

		/* The path the service manager bound, for the lines that name
		 * it; the socket file is its, not ours to remove. */
		memset(&sun, 0, sizeof(sun));
		if (getsockname(srv->lfds.admin, (struct sockaddr *)&sun, &len) == 0 &&
		    sun.sun_family == AF_UNIX && sun.sun_path[0])
			snprintf(srv->admin_path, sizeof(srv->admin_path), "%.*s",
				 (int)sizeof(sun.sun_path), sun.sun_path);
		server_say("admin API on %s, from socket activation", srv->admin_path);
	}
	return 0;
}

const char *server_mode_name(enum server_mode m)
{
	return m == MODE_ROOT ? "root" : m == MODE_CAPS ? "CAP_NET_ADMIN" : "rootless";
}

/*
 * Decides how the interface is made, prepares what the server's user must
 * own, and forks the privileged part -- before any key is read, so it
 * never holds one.  0 or 1 after a message.
 */
int server_privsep_start(struct server *srv)
{
	const char *user = srv->rt->user ? srv->rt->user : SERVER_DEFAULT_USER;
	struct priv_config pc;
	char err[512] = "";
	int ret;

	memset(&pc, 0, sizeof(pc));
	pc.tun_fd = srv->rt->tun_fd;
	srv->uid = (uid_t)-1;
	srv->gid = (gid_t)-1;
	if (geteuid() == 0) {
		struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };

		srv->mode = MODE_ROOT;
		ret = sandbox_lookup_user(user, &srv->uid, &srv->gid, err, sizeof(err));
		if (ret == -ENOENT) {
			fprintf(stderr, "zerowg: the server runs as the user \"%s\", which does not "
				"exist: create it (useradd --system --no-create-home --shell "
				"/usr/sbin/nologin %s; ./dev does) or pass --user NAME\n", user, user);
			return 1;
		}
		if (ret < 0) {
			fprintf(stderr, "zerowg: --user %s: %s\n", user, err);
			return 1;
		}
		if (srv->uid == 0) {
			fprintf(stderr, "zerowg: --user %s is root: the server must run as a user "
				"of its own (e.g. zerowg)\n", user);
			return 1;
		}
		/* Keys stay in locked memory after the drop: without
		 * CAP_IPC_LOCK that needs an unlimited RLIMIT_MEMLOCK. */
		if (setrlimit(RLIMIT_MEMLOCK, &unlimited) < 0)
			log_info("cannot lift RLIMIT_MEMLOCK (%s): keys stay in locked pages, "
				 "other memory may be swapped", strerror(errno));
		ret = store_hand_over(srv->store_uri, srv->uid, srv->gid, err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "zerowg: %s\n", err[0] ? err : strerror(-ret));
			return 1;
		}
		pc.uid = srv->uid;
		pc.gid = srv->gid;
		snprintf(srv->uapi_dir, sizeof(srv->uapi_dir), "%s",
			 srv->rt->uapi_dir ? srv->rt->uapi_dir : IPC_SOCKET_DIR);
	} else {
		pc.uid = geteuid();
		pc.gid = getegid();
		if (sandbox_has_cap(CAP_NET_ADMIN)) {
			srv->mode = MODE_CAPS;
		} else {
			srv->mode = MODE_ROOTLESS;
			pc.new_userns = true;
		}
		/* wg(8) looks only in /var/run/wireguard, which is root's
		 * unless the operator gave it to us (docs/first-use.md). */
		if (srv->rt->uapi_dir)
			snprintf(srv->uapi_dir, sizeof(srv->uapi_dir), "%s", srv->rt->uapi_dir);
		else if (srv->mode == MODE_CAPS && access(IPC_SOCKET_DIR, W_OK) == 0)
			snprintf(srv->uapi_dir, sizeof(srv->uapi_dir), "%s", IPC_SOCKET_DIR);
		else
			server_say("no UAPI socket (wg(8) looks only in %s, which this user cannot "
			    "write): zerowg peer list shows the peers", IPC_SOCKET_DIR);
	}
	snprintf(pc.uapi_dir, sizeof(pc.uapi_dir), "%s", srv->uapi_dir);
	if (srv->rt->netns_path) {
		if (strlen(srv->rt->netns_path) >= sizeof(pc.netns_path)) {
			fprintf(stderr, "zerowg: --netns \"%s\" is too long\n", srv->rt->netns_path);
			return 1;
		}
		snprintf(pc.netns_path, sizeof(pc.netns_path), "%s", srv->rt->netns_path);
		pc.new_userns = false;
	}
	if (srv->lfds.admin < 0)
		snprintf(pc.admin_path, sizeof(pc.admin_path), "%s", srv->admin_path);
	ret = priv_fork(&pc, &srv->priv, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "zerowg: starting the privileged part: %s\n", err);
		return 1;
	}
	srv->priv_started = true;
	if (srv->mode == MODE_ROOT)
		server_say("privileges: started as root; the server runs as %s (uid %u), a helper "
		    "(pid %d) keeps root for the interface, its routes and NAT", user,
		    (unsigned)srv->uid, (int)srv->priv.pid);
	else if (srv->mode == MODE_CAPS)
		server_say("privileges: started with CAP_NET_ADMIN; a helper (pid %d) keeps it for "
		    "the interface, the server drops it", (int)srv->priv.pid);
	else
		server_say("privileges: rootless (no CAP_NET_ADMIN, so no TUN here): the UDP socket "
		    "stays in this network namespace, the tunnel interface lives in a user and "
		    "network namespace of its own (/proc/%d/ns/net)",
		    (int)priv_netns_pid(&srv->priv));
	if (srv->rt->netns_path)
		server_say("the tunnel interface goes into the network namespace %s; the UDP socket "
		    "stays here", srv->rt->netns_path);
	else if (srv->mode == MODE_ROOTLESS) {
		/* Before any key is loaded: it forks and execs. */
		ret = egress_start(&srv->egress, priv_netns_pid(&srv->priv), err, sizeof(err));
		if (ret < 0)
			server_say("egress: %s; clients reach this server and each other, not the "
			    "internet", err);
		else
			server_say("egress: slirp4netns (pid %d) carries the clients' traffic out "
			    "through this network namespace", (int)srv->egress.pid);
	}
	return 0;
}

#ifdef ZWG_TESTING
/* Tests only: a forbidden system call on the real server, after its filter
 * is in place.  "netlink" is refused (the server goes on and says so),
 * "execve" kills the process. */
void server_seccomp_probe(const char *what)
{
	if (!what)
		return;
	if (!strcmp(what, "netlink")) {
		int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
		log_info("seccomp probe: socket(AF_NETLINK) %s", fd < 0 ? strerror(errno) : "allowed");
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(what, "execve")) {
		char *argv[] = { "/bin/true", NULL };
		log_info("seccomp probe: execve(/bin/true)");
		execve(argv[0], argv, argv + 1);
		log_info("seccomp probe: execve returned: %s", strerror(errno));
	}
}
#endif
