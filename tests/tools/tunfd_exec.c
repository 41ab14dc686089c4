/*
 * tunfd_exec.c - opens a TUN device and runs a command that inherits it,
 * for tests/netns/sockact_test.sh: what a privileged helper (or a container
 * runtime) does before it starts `zerowgd --tun-fd N` without root.
 *
 *   tunfd_exec [--no-vnet] [--pi] [--tap] IFNAME CMD [ARG...]
 *
 * Creates IFNAME with IFF_TUN|IFF_NO_PI|IFF_VNET_HDR (--no-vnet leaves the
 * virtio header out; --pi leaves IFF_NO_PI out and --tap makes a TAP, both
 * for the daemon to refuse), MTU 1420 as zerowgd would set.  The fd stays
 * open across exec; every ARG that is exactly "{TUNFD}" becomes its number
 * and TUN_FD=N is set too.  Exits 1 with a message if anything fails, 3
 * if the kernel will not make a TUN with packet information (--pi).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: tunfd_exec [--no-vnet] [--pi] [--tap] IFNAME CMD [ARG...]\n");
	exit(1);
}

int main(int argc, char **argv)
{
	short flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	struct ifreq ifr;
	char num[16];
	int i = 1, fd, s;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--no-vnet"))
			flags &= (short)~IFF_VNET_HDR;
		else if (!strcmp(argv[i], "--pi"))
			flags &= (short)~IFF_NO_PI;
		else if (!strcmp(argv[i], "--tap"))
			flags = (short)((flags & ~IFF_TUN) | IFF_TAP);
		else
			usage();
	}
	if (argc - i < 2 || strlen(argv[i]) >= IFNAMSIZ)
		usage();
	fd = open("/dev/net/tun", O_RDWR);	/* no O_CLOEXEC: the command gets it */
	if (fd < 0) {
		fprintf(stderr, "tunfd_exec: /dev/net/tun: %s\n", strerror(errno));
		return 1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", argv[i]);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tunfd_exec: TUNSETIFF %s: %s\n", argv[i], strerror(errno));
		return 1;
	}
	/* Some kernels never hand out packet information: say so (exit 3)
	 * rather than pretend to have made the TUN asked for. */
	if (!(flags & IFF_NO_PI) && ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_NO_PI)) {
		fprintf(stderr, "tunfd_exec: the kernel set IFF_NO_PI on %s anyway\n", argv[i]);
		return 3;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ifr.ifr_mtu = 1420;
	if (s < 0 || ioctl(s, SIOCSIFMTU, &ifr) < 0) {
		fprintf(stderr, "tunfd_exec: MTU of %s: %s\n", argv[i], strerror(errno));
		return 1;
	}
	close(s);
	snprintf(num, sizeof(num), "%d", fd);
	setenv("TUN_FD", num, 1);
	for (int k = i + 1; k < argc; k++)
		if (!strcmp(argv[k], "{TUNFD}"))
			argv[k] = num;
	execvp(argv[i + 1], argv + i + 1);
	fprintf(stderr, "tunfd_exec: %s: %s\n", argv[i + 1], strerror(errno));
	return 1;
}
