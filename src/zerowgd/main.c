/*
 * zerowgd - a userspace WireGuard daemon, a drop-in for wireguard-go.
 *
 *   zerowgd [-f|--foreground] IFNAME
 *
 * Creates the TUN device IFNAME and the UAPI socket
 * /var/run/wireguard/IFNAME.sock, then serves both; `wg` and `wg-quick`
 * (WG_QUICK_USERSPACE_IMPLEMENTATION=zerowgd) configure it.  Without -f it
 * daemonises, and the parent exits only once the device and the socket are
 * ready (0) or setting them up failed (1).  LOG_LEVEL=verbose|error|silent.
 *
 * It stops on SIGINT/SIGTERM, when its socket file is removed, and when its
 * interface is deleted; moving the interface to another network namespace
 * does not stop it (the TUN fd and the UDP sockets stay where they are).
 */
#include "clock.h"
#include "crypto.h"
#include "device.h"
#include "ipc.h"
#include "log.h"
#include "secmem.h"
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#ifndef ZEROWG_VERSION
#define ZEROWG_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zerowgd [-f/--foreground] INTERFACE-NAME\n"
		"       zerowgd --version | --help\n"
		"\n"
		"Creates the TUN device INTERFACE-NAME and the WireGuard UAPI socket\n"
		IPC_SOCKET_DIR "/INTERFACE-NAME.sock; configure it with wg(8) or wg-quick(8).\n"
		"Without -f, zerowgd returns once both are ready and runs in the background.\n"
		"Environment: LOG_LEVEL=verbose|error|silent (default error);\n"
		"ZWG_DISABLE_OFFLOAD=tun,tso,uso,gso,gro or all (turns offloads off, for debugging);\n"
		"ZWG_WORKERS=N crypto threads besides the main one (default: one per extra CPU).\n");
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

static void detach_stdio(bool keep_stderr)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (!keep_stderr)
		dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

int main(int argc, char **argv)
{
	bool foreground = false;
	const char *ifname = NULL;
	const char *level = getenv("LOG_LEVEL");
	struct device *dev;
	struct ipc_server *ipc;
	struct loop_source sig_src;
	int ready_fd = -1, tun_fd, ret;
	sigset_t mask;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--foreground")) {
			foreground = true;
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
	if (!ifname) {
		usage(stderr);
		return 1;
	}
	log_init(ifname, log_level_from_string(level));
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

	struct tun_offloads off;
	tun_fd = device_open_tun(ifname, &off);
	if (tun_fd < 0)
		fatal("Failed to create TUN device %s: %s", ifname, strerror(-tun_fd));
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		fatal("out of memory");
	if ((ret = device_init(dev, ifname, tun_fd)) < 0 ||
	    (ret = device_set_offloads(dev, &off)) < 0 ||
	    (ret = device_start_workers(dev, -1)) < 0)
		fatal("Failed to set up device %s: %s", ifname, strerror(-ret));
	ipc = ipc_server_open(dev, IPC_SOCKET_DIR);
	if (!ipc)
		fatal("Failed to create UAPI socket %s/%s.sock: %s", IPC_SOCKET_DIR, ifname,
		      strerror(errno));
	sig_src.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	sig_src.ready = signal_ready;
	if (sig_src.fd < 0 || device_watch(dev, &sig_src, EPOLLIN) < 0)
		fatal("signalfd: %s", strerror(errno));

	log_info("Device started (listening on UDP port %u)", dev->listen_port);
	if (ready_fd >= 0) {
		char ok = 0;
		/* Keep errors visible where the caller can see them only if
		 * asked for logs; otherwise go quiet like wireguard-go. */
		detach_stdio(level != NULL);
		if (write(ready_fd, &ok, 1) != 1)
			_exit(1);
		close(ready_fd);
	}

	ret = device_run(dev);
	log_info("Shutting down");
	ipc_server_close(ipc);
	device_teardown(dev);
	close(tun_fd);
	close(sig_src.fd);
	free(dev);
	return ret;
}
