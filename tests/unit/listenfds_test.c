/*
 * listenfds_test.c - socket activation (src/common/listenfds.c): the
 * environment systemd would set (LISTEN_PID = us, LISTEN_FDS,
 * LISTEN_FDNAMES) with real sockets dup2'd to fds 3, 4, 5, 6.  Every
 * classification, and every way a unit or a hand-made environment can be
 * wrong, each with the message a person would read.
 */
#include "listenfds.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FIRST 3
#define LAST 8		/* fds the tests may use: closed between tests */

static char err[512];
static struct listen_fds lf;

static void close_all(void)
{
	for (int fd = FIRST; fd <= LAST; fd++)
		close(fd);
}

/* Moves fd to target (which must not be in use). */
static void place(int fd, int target)
{
	if (fd < 0 || dup2(fd, target) != target)
		abort();
	if (fd != target)
		close(fd);
}

/* Every new socket first goes above LAST, so it never lands on a target. */
static int high(int fd)
{
	int h;

	if (fd < 0)
		abort();
	h = fcntl(fd, F_DUPFD, 20);
	close(fd);
	return h;
}

static void set_env(const char *fds, const char *names)
{
	char pid[24];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	if (fds)
		setenv("LISTEN_FDS", fds, 1);
	else
		unsetenv("LISTEN_FDS");
	if (names)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
}

static int collect(void)
{
	err[0] = '\0';
	memset(&lf, 0x5a, sizeof(lf));
	return listen_fds_collect(&lf, err, sizeof(err));
}

static bool env_clear(void)
{
	return !getenv("LISTEN_PID") && !getenv("LISTEN_FDS") && !getenv("LISTEN_FDNAMES");
}

static bool all_none(void)
{
	return lf.udp4 == -1 && lf.udp6 == -1 && lf.admin == -1 && lf.http == -1 &&
	       lf.udp_port == 0 && !lf.udp6_dual && lf.n == 0;
}

/* Expects -EINVAL, no socket handed out, the environment gone, and each
 * of the fragments (NULL-terminated) in the message. */
static void expect_error(const char *first, ...)
{
	va_list ap;

	CHECK_INT(collect(), -EINVAL);
	CHECK(all_none());
	CHECK(env_clear());
	va_start(ap, first);
	for (const char *frag = first; frag; frag = va_arg(ap, const char *)) {
		if (!strstr(err, frag)) {
			fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err, frag);
			CHECK(strstr(err, frag));
		}
	}
	va_end(ap);
	close_all();
}

static uint16_t port_of(int fd)
{
	struct sockaddr_in6 sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		abort();
	return ntohs(sa.sin6_port);	/* same offset in sockaddr_in */
}

static int udp4(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = high(socket(AF_INET, SOCK_DGRAM, 0));

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	return fd;
}

/* v6only 1: [::1]; v6only 0: [::] dual-stack (SO_REUSEADDR, as systemd,
 * so that it can share its port with an IPv4 socket). */
static int udp6(uint16_t port, int v6only)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int one = 1, fd = high(socket(AF_INET6, SOCK_DGRAM, 0));

	if (v6only)
		sa.sin6_addr = in6addr_loopback;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	return fd;
}

static int tcp(bool listening)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = high(socket(AF_INET, SOCK_STREAM, 0));

	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (listening && listen(fd, 4) < 0))
		abort();
	return fd;
}

/* An abstract unix socket: no file to clean up. */
static int unix_sock(int type, bool listening)
{
	static int seq;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = high(socket(AF_UNIX, type, 0));
	int len = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "zwg-lftest-%ld-%d",
			   (long)getpid(), seq++);

	if (bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)) < 0 ||
	    (listening && listen(fd, 4) < 0))
		abort();
	return fd;
}

/* ---- nothing passed ---- */

static void test_nothing(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	CHECK_INT(collect(), 0);
	CHECK(all_none());
	/* LISTEN_PID alone (LISTEN_FDS unset) passes nothing, and goes. */
	set_env(NULL, "x");
	CHECK_INT(collect(), 0);
	CHECK(all_none());
	CHECK(env_clear());
	set_env("0", NULL);
	CHECK_INT(collect(), 0);
	CHECK(all_none());
	CHECK(env_clear());
}

/* ---- classification ---- */

static void test_one_udp4(void)
{
	place(udp4(0), 3);
	set_env("1", NULL);
	CHECK_INT(collect(), 0);
	CHECK_INT(lf.udp4, 3);
	CHECK_INT(lf.udp6, -1);
	CHECK_INT(lf.admin, -1);
	CHECK_INT(lf.http, -1);
	CHECK_INT(lf.udp_port, port_of(3));
	CHECK(lf.udp_port != 0);
	CHECK(!lf.udp6_dual);
	CHECK_INT(lf.n, 1);
	CHECK(env_clear());
	/* libsystemd marks them close-on-exec: no child inherits them. */
	CHECK(fcntl(3, F_GETFD) & FD_CLOEXEC);
	close_all();
}

static void test_udp4_and_v6only_udp6(void)
{
	int a = udp4(0);

	place(a, 3);
	place(udp6(port_of(3), 1), 4);
	set_env("2", "udp:udp");
	CHECK_INT(collect(), 0);
	CHECK_INT(lf.udp4, 3);
	CHECK_INT(lf.udp6, 4);
	CHECK(!lf.udp6_dual);
	CHECK_INT(lf.udp_port, port_of(3));
	CHECK_INT(lf.n, 2);
	close_all();
}

/* systemd's ListenDatagram=PORT: one IPv6 socket, not V6ONLY. */
static void test_dual_stack_alone(void)
{
	place(udp6(0, 0), 3);
	set_env("1", "zerowg.socket");
	CHECK_INT(collect(), 0);
	CHECK_INT(lf.udp4, -1);
	CHECK_INT(lf.udp6, 3);
	CHECK(lf.udp6_dual);
	CHECK_INT(lf.udp_port, port_of(3));
	close_all();
}

/* systemd-socket-activate -l 0.0.0.0:P -l [::]:P: both, and the IPv6 one
 * is dual-stack; the IPv4 one is kept. */
static void test_udp4_and_dual_udp6(void)
{
	place(udp6(0, 0), 4);
	place(udp4(port_of(4)), 3);
	set_env("2", NULL);
	CHECK_INT(collect(), 0);
	CHECK_INT(lf.udp4, 3);
	CHECK_INT(lf.udp6, 4);
	CHECK(lf.udp6_dual);
	close_all();
}

static void test_everything_named(void)
{
	place(udp4(0), 3);
	place(udp6(port_of(3), 1), 4);
	place(unix_sock(SOCK_STREAM, true), 5);
	place(tcp(true), 6);
	set_env("4", "udp:udp:admin:http");
	CHECK_INT(collect(), 0);
	CHECK_INT(lf.udp4, 3);
	CHECK_INT(lf.udp6, 4);
	CHECK_INT(lf.admin, 5);
	CHECK_INT(lf.http, 6);
	CHECK_INT(lf.n, 4);
	listen_fds_close(&lf);
	CHECK(all_none());
	CHECK(fcntl(3, F_GETFD) < 0 && fcntl(6, F_GETFD) < 0);
	close_all();
}

/* Classified by what they are: the order and unknown names do not matter,
 * "web" is the web interface too. */
static void test_order_and_names(void)
{
	place(tcp(true), 3);
	place(unix_sock(SOCK_STREAM, true), 4);
	place(udp6(0, 1), 5);
	set_env("3", "web:zerowg-admin.socket:");
	CHECK_INT(collect(), 0);
	CHECK_INT(lf.http, 3);
	CHECK_INT(lf.admin, 4);
	CHECK_INT(lf.udp6, 5);
	CHECK_INT(lf.udp4, -1);
	CHECK(!lf.udp6_dual);
	close_all();
}

static void test_admin_only(void)
{
	place(unix_sock(SOCK_STREAM, true), 3);
	set_env("1", "admin");
	CHECK_INT(collect(), 0);
	CHECK_INT(lf.admin, 3);
	CHECK_INT(lf.udp4, -1);
	CHECK_INT(lf.udp6, -1);
	CHECK_INT(lf.udp_port, 0);
	close_all();
}

/* ---- a wrong environment ---- */

static void test_listen_fds_not_a_number(void)
{
	const char *bad[] = { "abc", "-1", "+1", "2x", " 1", "", "1.0", "0x1" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char quoted[32];
		snprintf(quoted, sizeof(quoted), "LISTEN_FDS=\"%s\"", bad[i]);
		set_env(bad[i], NULL);
		expect_error(quoted, "not a number", NULL);
	}
}

static void test_listen_fds_too_large(void)
{
	set_env("17", NULL);
	expect_error("LISTEN_FDS=17 is too large", NULL);
	set_env("2147483647", NULL);
	expect_error("LISTEN_FDS=2147483647 is too large", NULL);
	set_env("99999999999", NULL);	/* 11 digits: not even a number to us */
	expect_error("not a number", NULL);
}

static void test_listen_pid(void)
{
	char other[24];

	place(udp4(0), 3);
	set_env("1", NULL);
	unsetenv("LISTEN_PID");
	expect_error("LISTEN_FDS=1 is set but LISTEN_PID is not", NULL);

	place(udp4(0), 3);
	set_env("1", NULL);
	setenv("LISTEN_PID", "12ab", 1);
	expect_error("LISTEN_PID=\"12ab\" is not a process id", NULL);

	place(udp4(0), 3);
	set_env("1", NULL);
	snprintf(other, sizeof(other), "%ld", (long)getpid() + 1);
	setenv("LISTEN_PID", other, 1);
	expect_error("is another process", other, "exec", NULL);
	/* The socket was not touched: still ours to close (close_all did). */
}

static void test_fds_not_open(void)
{
	close_all();
	set_env("2", NULL);
	expect_error("LISTEN_FDS=2 but fd 3 is not open", NULL);
	place(udp4(0), 3);
	set_env("2", NULL);
	expect_error("fd 4 is not open", NULL);
}

static void test_names_count(void)
{
	place(udp4(0), 3);
	place(udp6(port_of(3), 1), 4);
	set_env("2", "udp");
	expect_error("LISTEN_FDNAMES=\"udp\" names 1 socket but LISTEN_FDS=2", NULL);
	place(udp4(0), 3);
	set_env("1", "udp:udp");
	expect_error("names 2 sockets", NULL);
}

/* ---- fds of the wrong kind ---- */

static void test_not_a_socket(void)
{
	int p[2];

	if (pipe(p) < 0)
		abort();
	place(high(p[0]), 3);
	close(p[1]);
	set_env("1", NULL);
	expect_error("fd 3 is a pipe, not a socket", NULL);

	place(high(memfd_create("zwg-lftest", MFD_CLOEXEC)), 3);
	set_env("1", "udp");
	expect_error("fd 3 named \"udp\" is a regular file, not a socket", NULL);

	place(high(open("/dev/null", O_RDONLY)), 3);
	set_env("1", NULL);
	expect_error("fd 3 is a character device", NULL);
}

static void test_tcp_named_udp(void)
{
	place(tcp(true), 3);
	place(udp4(0), 4);
	set_env("2", "udp:udp");
	/* The message the brief asks for, word for word. */
	expect_error("LISTEN_FDS: fd 3 is a TCP socket named \"udp\"; zerowg wants "
		     "ListenDatagram= for the WireGuard port", NULL);
}

static void test_known_name_on_wrong_kind(void)
{
	place(udp4(0), 3);
	set_env("1", "admin");
	expect_error("fd 3 is a UDP socket named \"admin\"", "unix socket", NULL);
	place(unix_sock(SOCK_STREAM, true), 3);
	set_env("1", "http");
	expect_error("fd 3 is a unix stream socket named \"http\"", "TCP", NULL);
	place(tcp(true), 3);
	set_env("1", "admin");
	expect_error("fd 3 is a TCP socket named \"admin\"", NULL);
	place(unix_sock(SOCK_STREAM, true), 3);
	set_env("1", "udp");
	expect_error("named \"udp\"", "ListenDatagram=", NULL);
}

static void test_other_kinds(void)
{
	place(unix_sock(SOCK_DGRAM, false), 3);
	set_env("1", NULL);
	expect_error("fd 3 is a unix datagram socket; zerowg takes a UDP socket", NULL);

	int lite = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
	if (lite >= 0) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		if (bind(lite, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			abort();
		place(high(lite), 3);
		set_env("1", NULL);
		expect_error("fd 3 is a UDP-Lite socket", NULL);
	}

	place(unix_sock(SOCK_SEQPACKET, true), 3);
	set_env("1", "admin");
	expect_error("fd 3 named \"admin\" is a unix seqpacket socket", NULL);
}

static void test_udp_state(void)
{
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(9),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int c = udp4(0);

	if (connect(c, (struct sockaddr *)&peer, sizeof(peer)) < 0)
		abort();
	place(c, 3);
	set_env("1", NULL);
	expect_error("fd 3 is a connected UDP socket", NULL);

	place(high(socket(AF_INET, SOCK_DGRAM, 0)), 3);
	set_env("1", NULL);
	expect_error("fd 3 is a UDP socket bound to no port", NULL);

	/* An IPv6 socket on ::ffff:127.0.0.1 is IPv4 in disguise. */
	struct sockaddr_in6 m = { .sin6_family = AF_INET6 };
	int zero = 0, fd6 = high(socket(AF_INET6, SOCK_DGRAM, 0));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &m.sin6_addr);
	setsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd6, (struct sockaddr *)&m, sizeof(m)) < 0)
		abort();
	place(fd6, 3);
	set_env("1", NULL);
	expect_error("IPv4-mapped address", "ListenDatagram=A.B.C.D:", NULL);
}

static void test_stream_not_listening(void)
{
	place(tcp(false), 3);
	set_env("1", NULL);
	expect_error("fd 3 is a TCP socket that is not listening", "Accept=no", NULL);
	place(unix_sock(SOCK_STREAM, false), 3);
	set_env("1", "admin");
	expect_error("fd 3 named \"admin\" is a unix stream socket that is not listening", NULL);
}

static void test_two_of_a_kind(void)
{
	place(udp4(0), 3);
	place(udp4(port_of(3)), 4);
	set_env("2", NULL);
	expect_error("fd 4 is a second IPv4 UDP socket (fd 3 is one already)", NULL);

	place(udp6(0, 1), 3);
	place(udp6(0, 0), 4);
	set_env("2", NULL);
	expect_error("fd 4 is a second IPv6 UDP socket", NULL);

	place(unix_sock(SOCK_STREAM, true), 3);
	place(unix_sock(SOCK_STREAM, true), 4);
	set_env("2", "admin:admin");
	expect_error("fd 4 named \"admin\" is a second unix stream socket (fd 3", NULL);

	place(tcp(true), 3);
	place(udp4(0), 4);
	place(tcp(true), 5);
	set_env("3", NULL);
	expect_error("fd 5 is a second TCP socket (fd 3", NULL);
}

static void test_udp_different_ports(void)
{
	uint16_t p4, p6;

	place(udp4(0), 3);
	p4 = port_of(3);
	place(udp6(0, 1), 4);
	p6 = port_of(4);
	if (p4 == p6) {		/* the kernel gave both the same: make it differ */
		close(4);
		place(udp6((uint16_t)(p4 + 1 ? p4 + 1 : 1), 1), 4);
		p6 = port_of(4);
	}
	char frag[96];
	snprintf(frag, sizeof(frag), "fd 4 is a UDP socket on port %u, but fd 3 is on port %u",
		 p6, p4);
	set_env("2", NULL);
	expect_error(frag, "same port", NULL);
}

/* An error after a good socket hands out nothing. */
static void test_all_or_nothing(void)
{
	place(udp4(0), 3);
	place(tcp(false), 4);
	set_env("2", NULL);
	expect_error("fd 4", NULL);
}

int main(void)
{
	close_all();
	RUN(test_nothing);
	RUN(test_one_udp4);
	RUN(test_udp4_and_v6only_udp6);
	RUN(test_dual_stack_alone);
	RUN(test_udp4_and_dual_udp6);
	RUN(test_everything_named);
	RUN(test_order_and_names);
	RUN(test_admin_only);
	RUN(test_listen_fds_not_a_number);
	RUN(test_listen_fds_too_large);
	RUN(test_listen_pid);
	RUN(test_fds_not_open);
	RUN(test_names_count);
	RUN(test_not_a_socket);
	RUN(test_tcp_named_udp);
	RUN(test_known_name_on_wrong_kind);
	RUN(test_other_kinds);
	RUN(test_udp_state);
	RUN(test_stream_not_listening);
	RUN(test_two_of_a_kind);
	RUN(test_udp_different_ports);
	RUN(test_all_or_nothing);
	TEST_EXIT();
}
