/*
 * zerowgd - a userspace WireGuard daemon, a drop-in for wireguard-go.
 *
 *   zerowgd [-f|--foreground] [--tun-fd N] IFNAME
 *
 * Creates the TUN device IFNAME and the UAPI socket
 * /var/run/wireguard/IFNAME.sock, then serves both; `wg` and `wg-quick`
 * (WG_QUICK_USERSPACE_IMPLEMENTATION=zerowgd) configure it.  Without -f it
 * daemonises, and the parent exits only once the device and the socket are
 * ready (0) or setting them up failed (1).  LOG_LEVEL=verbose|error|silent.
 *
 * Without root: --tun-fd N takes a TUN someone else opened (IFNAME may
 * then be left out), and UDP sockets from socket activation (LISTEN_FDS,
 * listenfds.h) are used instead of binding a port; both are checked before
 * anything else happens, so a wrong unit fails at once with its reason.
 *
 * It stops on SIGINT/SIGTERM, when its socket file is removed, and when its
 * interface is deleted; moving the interface to another network namespace
 * does not stop it (the TUN fd and the UDP sockets stay where they are).
 *
 * Privileges: everything that needs them (the TUN, the first UDP sockets,
 * the UAPI socket in root's directory) is done first, single-threaded.
 * Then, if it has CAP_NET_ADMIN, it forks the fwmark helper (markhelper.h:
 * SO_MARK for `wg set fwmark`, and the socket file's removal at exit),
 * drops every capability for good (sandbox.h) -- as root to a user of its
 * own ("zerowgd" if that user exists, else "nobody"; never the `zerowg up`
 * server's user "zerowg", which owns that server's admin socket and
 * store), as anyone else keeping its uid -- and installs the zerowgd
 * seccomp filter before it serves anything.  If the helper dies, zerowgd
 * says so and goes on (only fwmark changes fail).
 */
#include "clock.h"
#include "crypto.h"
#include "device.h"
#include "ipc.h"
#include "listenfds.h"
#include "log.h"
#include "markhelper.h"
#include "sandbox.h"
#include "secmem.h"
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef ZEROWG_VERSION
#define ZEROWG_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zerowgd [-f/--foreground] INTERFACE-NAME\n"
		"       zerowgd [-f/--foreground] --tun-fd N [INTERFACE-NAME]\n"
		"       zerowgd --version | --help\n"
		"\n"
		"Creates the TUN device INTERFACE-NAME and the WireGuard UAPI socket\n"
		IPC_SOCKET_DIR "/INTERFACE-NAME.sock; configure it with wg(8) or wg-quick(8).\n"
		"Without -f, zerowgd returns once both are ready and runs in the background.\n"
		"--tun-fd N uses the open TUN fd N (IFF_TUN|IFF_NO_PI, IFF_VNET_HDR for offloads)\n"
		"instead of creating one; INTERFACE-NAME, if given, must be its name.\n"
		"UDP sockets passed by socket activation (LISTEN_FDS, ListenDatagram=) are used\n"
		"instead of binding a port; `wg set listen-port` to another port rebinds.\n"
		"Environment: LOG_LEVEL=verbose|error|silent (default error);\n"
		"ZWG_DISABLE_OFFLOAD=tun,tso,uso,gso,gro or all (turns offloads off, for debugging);\n"
		"ZWG_WORKERS=N crypto threads besides the main one (default: one per extra CPU).\n");
}

/* "--tun-fd N": N is a plain decimal fd number.  -1 if it is not. */
static int parse_fd(const char *s)
{
	char *end;
	long v;

	if (!*s || s[strspn(s, "0123456789")])
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || v > INT_MAX ? -1 : (int)v;
}

static void signal_ready(struct device *dev, struct loop_source *src, uint32_t events)
{
	struct signalfd_siginfo si;

	while (read(src->fd, &si, sizeof(si)) == sizeof(si)) {
		log_info("Received signal %u, shutting down", si.ssi_signo);
		device_stop(dev, 0);
	}
	(void)events;
}

/* Forks; the parent waits on a pipe for the child's "ready" byte.  Returns
 * the write end in the child. */
static int daemonize(void)
{
	int fds[2];
	pid_t pid;
	char status = 1;

	if (pipe2(fds, O_CLOEXEC) < 0)
		fatal("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

/* fd: /dev/null, opened before the seccomp filter (which allows read-only
 * opens only). */
static void detach_stdio(int fd, bool keep_stderr)
{
	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (!keep_stderr)
		dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/* ---- privileges ---- */

/* Who zerowgd becomes when it starts as root: a user of its own if the
 * operator made one, else nobody.  Not "zerowg": that user owns `zerowg
 * up`'s admin socket and store, which the process that parses the network
 * must not reach. */
static const char *const run_as[] = { "zerowgd", "nobody" };

/* What id of this user namespace is outside it (map: /proc/self/uid_map
 * or gid_map, lines "inside outside count"); -1 if it is not mapped. */
static long long outside_id(const char *map, unsigned long id)
{
	FILE *f = fopen(map, "re");
	unsigned long in, out, count;
	long long found = -1;

	if (!f)
		return errno == ENOENT ? (long long)id : -1;
	for (int lines = 0; lines < 340 && fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3; lines++)
		if (id >= in && id - in < count) {
			found = (long long)(out + (id - in));
			break;
		}
	fclose(f);
	return found;
}

/* id is mapped in this user namespace. */
static bool id_mapped(const char *map, unsigned long id)
{
	return outside_id(map, id) >= 0;
}

/* The user to become as root, in *uid and *gid; false to keep the uid (a
 * root of a user namespace whose candidates are not mapped in it). */
static bool pick_user(uid_t *uid, gid_t *gid)
{
	char err[512];
	bool any = false;

	for (size_t i = 0; i < sizeof(run_as) / sizeof(run_as[0]); i++) {
		int ret = sandbox_lookup_user(run_as[i], uid, gid, err, sizeof(err));

		if (ret == -ENOENT)
			continue;
		if (ret < 0)
			fatal("%s", err);
		if (*uid == 0)
			continue;
		any = true;
		if (!id_mapped("/proc/self/uid_map", *uid) || !id_mapped("/proc/self/gid_map", *gid)) {
			log_info("sandbox: user %s (uid %u) is not mapped in this user namespace",
				 run_as[i], (unsigned)*uid);
			continue;
		}
		if (i > 0)
			log_info("sandbox: no user \"%s\": running as %s (give zerowgd a user of "
				 "its own: useradd --system --no-create-home --shell /usr/sbin/nologin "
				 "%s)", run_as[0], run_as[i], run_as[0]);
		else
			log_info("sandbox: running as %s (uid %u)", run_as[i], (unsigned)*uid);
		return true;
	}
	if (!any)
		fatal("zerowgd runs as the user \"%s\" or \"%s\" and neither exists: create one "
		      "(useradd --system --no-create-home --shell /usr/sbin/nologin %s)",
		      run_as[0], run_as[1], run_as[0]);
	/* uid 0 of a user namespace is an ordinary user outside it -- unless
	 * root made the namespace mapping itself (unshare -r as root). */
	if (outside_id("/proc/self/uid_map", 0) == 0)
		log_error("sandbox: uid 0 of this user namespace is root outside it and neither "
			  "\"%s\" nor \"%s\" is mapped in it: staying root, with no capability "
			  "(map one of them, or start zerowgd outside the user namespace)",
			  run_as[0], run_as[1]);
	else
		log_info("sandbox: staying uid 0 of this user namespace, with no capability");
	return false;
}

/*
 * Forks the fwmark helper if there is CAP_NET_ADMIN to keep, then drops
 * every capability (and, as root, the uid).  Single-threaded, after
 * everything privileged and before anything is served.
 */
static void drop_privileges(struct markhelper *helper, const char *ifname, bool keep_stderr)
{
	char path[128], err[512] = "";
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int ret;

	snprintf(path, sizeof(path), "%s/%s.sock", IPC_SOCKET_DIR, ifname);
	memset(helper, 0, sizeof(*helper));	/* no helper: markhelper_stop does nothing */
	helper->fd = -1;
	helper->pid = -1;
	if (sandbox_has_cap(CAP_NET_ADMIN)) {
		ret = markhelper_start(helper, path, keep_stderr, err, sizeof(err));
		if (ret < 0)
			fatal("%s", err);
		log_info("fwmark helper started (pid %d): it keeps CAP_NET_ADMIN alone, for "
			 "`wg set fwmark`", (int)helper->pid);
	} else {
		log_info("no CAP_NET_ADMIN: no fwmark helper (`wg set fwmark` will fail with EPERM)");
	}
	if (geteuid() == 0 && sandbox_has_cap(CAP_SETUID) && sandbox_has_cap(CAP_SETGID) && !pick_user(&uid, &gid)) {
		uid = (uid_t)-1;
		gid = (gid_t)-1;
	}
	/* sandbox_drop_privileges sets the groups when it has CAP_SETGID;
	 * where setgroups() is denied there are none to set. */
	ret = sandbox_drop_privileges(uid, gid, err, sizeof(err));
	if (ret < 0)
		fatal("dropping privileges: %s", err);
}

int main(int argc, char **argv)
{
	bool foreground = false;
	const char *ifname = NULL, *tun_fd_arg = NULL;
	const char *level = getenv("LOG_LEVEL");
	char tun_name[16], lf_err[512] = "", tun_err[256] = "";
	struct device *dev;
	struct ipc_server *ipc;
	struct loop_source sig_src;
	struct listen_fds lf;
	struct tun_offloads off;
	struct markhelper helper;
	struct sandbox_status sst;
	char err[512] = "";
	int ready_fd = -1, tun_fd = -1, null_fd = -1, lf_ret, ret;
	sigset_t mask;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--foreground")) {
			foreground = true;
		} else if (!strcmp(argv[i], "--tun-fd") && i + 1 < argc && !tun_fd_arg) {
			tun_fd_arg = argv[++i];
		} else if (!strncmp(argv[i], "--tun-fd=", 9) && !tun_fd_arg) {
			tun_fd_arg = argv[i] + 9;
		} else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
			printf("zerowgd v%s (userspace WireGuard)\n", ZEROWG_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' || ifname) {
			usage(stderr);
			return 1;
		} else {
			ifname = argv[i];
		}
	}
	if (!ifname && !tun_fd_arg) {
		usage(stderr);
		return 1;
	}
	/* First, before anything can fork or exec: the environment is ours
	 * alone (LISTEN_PID is this process) and must not be inherited. */
	log_init("zerowgd", log_level_from_string(level));
	lf_ret = listen_fds_collect(&lf, lf_err, sizeof(lf_err));
	if (tun_fd_arg) {
		tun_fd = parse_fd(tun_fd_arg);
		if (tun_fd < 0) {
			snprintf(tun_err, sizeof(tun_err), "--tun-fd \"%s\" is not an fd number "
				 "(e.g. --tun-fd 3)", tun_fd_arg);
			ret = -EINVAL;
		} else {
			ret = device_adopt_tun(tun_fd, tun_name, &off, tun_err, sizeof(tun_err));
		}
		if (ret == 0 && ifname && strcmp(ifname, tun_name)) {
			snprintf(tun_err, sizeof(tun_err), "--tun-fd %d is the TUN \"%s\", not \"%.15s\" "
				 "(leave INTERFACE-NAME out, or give its name)", tun_fd, tun_name, ifname);
			ret = -EINVAL;
		}
		if (ret == 0)
			ifname = tun_name;
	}
	if (ifname)
		log_init(ifname, log_level_from_string(level));
	if (tun_err[0])
		fatal("%s", tun_err);
	if (lf_ret < 0)
		fatal("%s", lf_err);
	if (lf.admin >= 0 || lf.http >= 0)
		fatal("LISTEN_FDS: fd %d is a %s socket, but zerowgd serves neither an admin API nor a "
		      "web interface (remove that ListenStream= from the unit; `zerowg up` takes it)",
		      lf.admin >= 0 ? lf.admin : lf.http, lf.admin >= 0 ? "unix stream" : "TCP");
	if (strlen(ifname) >= 16 || strchr(ifname, '/') || !strcmp(ifname, ".") || !strcmp(ifname, ".."))
		fatal("invalid interface name \"%s\" (at most 15 characters, no '/')", ifname);
	if (!crypto_init())
		fatal("libcrypto lacks an algorithm WireGuard needs (OpenSSL 3 required)");
	if ((ret = secmem_harden_process()) < 0)
		log_error("could not make the process non-dumpable: %s", strerror(-ret));
	signal(SIGPIPE, SIG_IGN);

	if (!foreground)
		ready_fd = daemonize();

	/* Signals are read from a signalfd in the loop, never handled async. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	if (tun_fd < 0) {
		tun_fd = device_open_tun(ifname, &off);
		if (tun_fd == -ENOENT)
			fatal("Failed to create TUN device %s: /dev/net/tun is missing: load the tun "
			      "module (modprobe tun) or, in a container, pass --device /dev/net/tun",
			      ifname);
		if (tun_fd == -EPERM || tun_fd == -EACCES)
			fatal("Failed to create TUN device %s: %s: creating an interface needs "
			      "CAP_NET_ADMIN and access to /dev/net/tun. Run zerowgd as root (it then "
			      "drops to the user zerowgd), inside a user and network namespace of your "
			      "own (unshare -U -r -n, with /run/wireguard on a tmpfs of that mount "
			      "namespace), or hand it a TUN (--tun-fd N) and its UDP sockets (socket "
			      "activation); for a rootless VPN server use zerowg up", ifname,
			      strerror(-tun_fd));
		if (tun_fd < 0)
			fatal("Failed to create TUN device %s: %s", ifname, strerror(-tun_fd));
	} else {
		log_info("Using TUN %s from --tun-fd %d", ifname, tun_fd);
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		fatal("out of memory");
	if ((ret = device_init(dev, ifname, tun_fd)) < 0 ||
	    (ret = device_set_offloads(dev, &off)) < 0)
		fatal("Failed to set up device %s: %s", ifname, strerror(-ret));
	if (lf.udp4 >= 0 || lf.udp6 >= 0) {
		ret = device_adopt_sockets(dev, lf.udp4, lf.udp6);
		if (ret < 0)
			fatal("Failed to use the UDP sockets from socket activation: %s", strerror(-ret));
		log_info("Using the UDP socket(s) from socket activation on port %u%s",
			 dev->listen_port, lf.udp6_dual && lf.udp4 < 0 ?
			 " (one IPv6 socket that also takes IPv4)" : "");
	}
	ipc = ipc_server_open(dev, IPC_SOCKET_DIR);
	if (!ipc)
		fatal("Failed to create UAPI socket %s/%s.sock: %s", IPC_SOCKET_DIR, ifname,
		      strerror(errno));
	sig_src.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	sig_src.ready = signal_ready;
	if (sig_src.fd < 0 || device_watch(dev, &sig_src, EPOLLIN) < 0)
		fatal("signalfd: %s", strerror(errno));

	/* The last privileged steps, before any thread exists (capabilities
	 * are per thread).  The helper keeps stderr only where we do. */
	drop_privileges(&helper, ifname, foreground || level != NULL);
	if (helper.fd >= 0 && (ret = markhelper_attach(&helper, dev)) < 0)
		fatal("fwmark helper: watching its socket: %s", strerror(-ret));
	if ((ret = device_start_workers(dev, -1)) < 0)
		fatal("Failed to set up device %s: %s", ifname, strerror(-ret));
	if (ready_fd >= 0)
		null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* From here on, every thread: nothing below opens a file for writing
	 * or makes a process (sandbox.c, SANDBOX_DAEMON). */
	if ((ret = sandbox_seccomp(SANDBOX_DAEMON, NULL, err, sizeof(err))) < 0)
		fatal("%s", err);
	if ((ret = sandbox_status_read(0, &sst)) == 0) {
		char line[256];
		sandbox_status_format(&sst, line, sizeof(line));
		log_info("%s", line);
	} else {
		log_error("sandbox: cannot read /proc/self/status: %s", strerror(-ret));
	}

	log_info("Device started (listening on UDP port %u)", dev->listen_port);
	if (ready_fd >= 0) {
		char ok = 0;
		/* Keep errors visible where the caller can see them only if
		 * asked for logs; otherwise go quiet like wireguard-go. */
		detach_stdio(null_fd, level != NULL);
		if (write(ready_fd, &ok, 1) != 1)
			_exit(1);
		close(ready_fd);
	}

	ret = device_run(dev);
	log_info("Shutting down");
	/* Its unlink of the socket file fails as a user in root's directory
	 * (EACCES, ignored): the helper removes it when it sees our EOF. */
	ipc_server_close(ipc);
	markhelper_stop(&helper, 2000);
	device_teardown(dev);
	close(tun_fd);
	close(sig_src.fd);
	free(dev);
	return ret;
}
