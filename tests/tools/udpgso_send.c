/*
 * udpgso_send.c - sends a file as UDP datagrams with UDP GSO (the
 * UDP_SEGMENT control message), for tests/netns/offload_test.sh: through a
 * tunnel whose TUN accepts USO the kernel hands the WireGuard daemon one
 * super-packet per sendmsg, which it must cut into datagrams.
 *
 *   udpgso_send ADDR PORT FILE GSO_SIZE [SEGS_PER_SEND]
 *
 * FILE goes to ADDR:PORT (IPv4 or IPv6, numeric) through a connected UDP
 * socket in datagrams of GSO_SIZE payload bytes, SEGS_PER_SEND of them
 * (default 16) per sendmsg; the last datagram of the file may be shorter.
 * Sends are paced (2 ms apart) so that a receiver reading one datagram at
 * a time keeps up.  Any error - including the EIO or EINVAL the kernel
 * returns when the route cannot do UDP GSO - ends it with a message and
 * exit status 1.  On success it prints what it sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define PACE_NS 2000000L	/* between two sends */

static const char *prog = "udpgso_send";

static void usage(void)
{
	fprintf(stderr, "usage: %s ADDR PORT FILE GSO_SIZE [SEGS_PER_SEND]\n"
		"  sends FILE to ADDR:PORT over UDP with UDP_SEGMENT: GSO_SIZE payload bytes\n"
		"  per datagram, SEGS_PER_SEND datagrams per sendmsg (default 16)\n", prog);
	exit(2);
}

/* NAME (what the number is) as an integer in [lo, hi], or exit. */
static unsigned long number(const char *name, const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "%s: %s \"%s\" is not a number from %lu to %lu\n",
			prog, name, s, lo, hi);
		exit(2);
	}
	return v;
}

/* The whole of FILE in memory (the tests send at most a few hundred KiB). */
static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		exit(1);
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		fprintf(stderr, "%s: %s: %lld bytes: out of memory\n", prog, path,
			(long long)st.st_size);
		exit(1);
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, path,
				r < 0 ? strerror(errno) : "file shrank while being read");
			exit(1);
		}
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return buf;
}

static int connect_to(const char *addr, const char *port)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_protocol = IPPROTO_UDP,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	}, *ai;
	int fd, err = getaddrinfo(addr, port, &hints, &ai);

	if (err) {
		fprintf(stderr, "%s: address \"%s\" port \"%s\": %s (want a numeric IPv4 or "
			"IPv6 address and port)\n", prog, addr, port, gai_strerror(err));
		exit(2);
	}
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		fprintf(stderr, "%s: UDP socket to %s port %s: %s\n", prog, addr, port,
			strerror(errno));
		exit(1);
	}
	freeaddrinfo(ai);
	return fd;
}

/* One sendmsg of len bytes cut by the kernel into datagrams of gso bytes. */
static ssize_t send_gso(int fd, const uint8_t *p, size_t len, uint16_t gso)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	ssize_t r;

	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	memcpy(CMSG_DATA(cm), &gso, sizeof(gso));
	do
		r = sendmsg(fd, &msg, 0);
	while (r < 0 && errno == EINTR);
	return r;
}

int main(int argc, char **argv)
{
	struct timespec pace = { .tv_sec = 0, .tv_nsec = PACE_NS };
	size_t len, off = 0, datagrams = 0, sends = 0;
	unsigned long gso, segs = 16;
	uint8_t *data;
	int fd;

	if (argc != 5 && argc != 6)
		usage();
	/* 65507: the largest UDP payload over IPv4; the kernel checks the rest
	 * (the datagram must fit the route's MTU). */
	gso = number("GSO_SIZE", argv[4], 1, 65507);
	if (argc == 6)
		segs = number("SEGS_PER_SEND", argv[5], 1, 1024);
	if (gso * segs > 65507) {
		fprintf(stderr, "%s: GSO_SIZE %lu times SEGS_PER_SEND %lu is more than the 65507 "
			"bytes one UDP send can carry\n", prog, gso, segs);
		return 2;
	}
	number("PORT", argv[2], 1, 65535);
	data = read_file(argv[3], &len);
	fd = connect_to(argv[1], argv[2]);

	while (off < len) {
		size_t chunk = len - off < gso * segs ? len - off : gso * segs;
		ssize_t r;

		if (sends)
			nanosleep(&pace, NULL);
		r = send_gso(fd, data + off, chunk, (uint16_t)gso);
		if (r < 0) {
			int e = errno;
			fprintf(stderr, "%s: sendmsg of %zu bytes (from byte %zu) with UDP_SEGMENT %lu "
				"to %s port %s: %s%s\n", prog, chunk, off, gso, argv[1], argv[2],
				strerror(e),
				e == EIO ? " (the route's device cannot do UDP GSO: no checksum offload, "
					   "or IPsec)" :
				e == EINVAL ? " (GSO_SIZE too large for the route's MTU, or too many "
					      "segments per send for this kernel)" :
				e == ECONNREFUSED ? " (nothing listens there: an ICMP port unreachable "
						    "came back)" : "");
			return 1;
		}
		if ((size_t)r != chunk) {
			fprintf(stderr, "%s: sendmsg sent %zd of %zu bytes (from byte %zu)\n",
				prog, r, chunk, off);
			return 1;
		}
		off += chunk;
		datagrams += (chunk + gso - 1) / gso;
		sends++;
	}
	printf("%s: sent %zu bytes to %s port %s: %zu datagrams of up to %lu bytes in %zu sends\n",
	       prog, len, argv[1], argv[2], datagrams, gso, sends);
	free(data);
	close(fd);
	return 0;
}
