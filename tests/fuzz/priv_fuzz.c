/*
 * priv_fuzz.c - fuzz target for the privileged part's codec and session
 * loop (src/server/priv_msg.c, priv_serve in priv.c).  Invariants:
 *   - a request or reply that parses re-encodes to the same bytes, and a
 *     parsed request passes priv_request_check; a failed parse sets err
 *     and leaves a zeroed result;
 *   - the input sent as one message to priv_serve (fake ops, one thread:
 *     the message and an EOF are queued before it runs; once on a fresh
 *     session, once after TUN_OPEN and ADDR_ADD of 10.13.13.1/24 and
 *     fd00::1/64, so that DNS_OPEN and WEB_OPEN reach their ops) gets
 *     exactly one reply, which the client side's priv_reply_parse
 *     accepts; a request that does not parse calls no op (NAT teardown at
 *     EOF aside) and is answered with an error, one that parses is
 *     answered for its op.
 * A broken invariant aborts, which libFuzzer and fuzz_main.c report.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int calls, teardowns;

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "priv_fuzz: invariant broken: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	abort();
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static int a_pipe(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	close(p[1]);
	return p[0];
}

static int f_tun(void *ctx, char ifname[IF_NAMESIZE], int adopt_fd, int *ifindex,
		 struct tun_offloads *off, char *err, size_t errlen)
{
	calls++;
	*ifindex = 9;
	off->vnet = true;
	off->tso = off->uso = false;
	return a_pipe();
}

static int f_addr(void *ctx, bool add, int ifindex, const struct netlink_prefix *p, char *err,
		  size_t errlen)
{
	calls++;
	return ifindex == 9 ? 0 : -EBADF;
}

static int f_link(void *ctx, int ifindex, int mtu, bool up, char *err, size_t errlen)
{
	calls++;
	return ifindex == 9 ? 0 : -EBADF;
}

static int f_nat(void *ctx, struct nat *nat, const char *ifname, const char *subnet4,
		 const char *subnet6, char *err, size_t errlen)
{
	calls++;
	return 0;
}

static void f_nat_down(void *ctx, struct nat *nat)
{
	teardowns++;
}

static int f_bind(void *ctx, struct priv_unix_socket *s, char *err, size_t errlen)
{
	calls++;
	return a_pipe();
}

static int f_dns(void *ctx, const struct netlink_prefix *addr, uint16_t port, char *err,
		 size_t errlen)
{
	calls++;
	return a_pipe();
}

static int f_web(void *ctx, const struct netlink_prefix *addr, uint16_t port, char *err,
		 size_t errlen)
{
	calls++;
	if (port < PRIV_WEB_PORT_MIN || addr->len != (addr->family == AF_INET ? 32 : 128))
		fail("WEB_OPEN reached its op with a port or prefix its check refuses", NULL);
	return a_pipe();
}

static const struct priv_ops fake_ops = {
	.tun_open = f_tun, .addr = f_addr, .route = f_addr, .link_set = f_link,
	.nat_setup = f_nat, .nat_teardown = f_nat_down, .bind_unix = f_bind, .dns_open = f_dns,
	.web_open = f_web,
};

static void check_codec(const uint8_t *data, size_t size, bool *req_ok, struct priv_request *req)
{
	uint8_t again[PRIV_REPLY_SIZE];
	struct priv_reply rep;
	char err[256];

	err[0] = '\0';
	*req_ok = priv_request_parse(data, size, req, err, sizeof(err)) == 0;
	if (*req_ok) {
		priv_request_encode(req, again);
		if (memcmp(again, data, PRIV_REQUEST_SIZE) != 0)
			fail("a parsed request re-encodes differently", NULL);
		if (priv_request_check(req, NULL, 0) != 0)
			fail("a parsed request fails the check", NULL);
	} else if (!err[0] || !all_zero(req, sizeof(*req))) {
		fail("a refused request without a message, or with a result", NULL);
	}
	err[0] = '\0';
	if (priv_reply_parse(data, size, &rep, err, sizeof(err)) == 0) {
		priv_reply_encode(&rep, again);
		if (memcmp(again, data, PRIV_REPLY_SIZE) != 0)
			fail("a parsed reply re-encodes differently", NULL);
		if (!memchr(rep.msg, '\0', sizeof(rep.msg)) || rep.error > 0)
			fail("a parsed reply with an open message or a positive error", NULL);
	} else if (!err[0] || !all_zero(&rep, sizeof(rep))) {
		fail("a refused reply without a message, or with a result", NULL);
	}
}

/* Reads one reply: its fd count in *nfds (closed), the reply parsed. */
static void read_reply(int fd, struct priv_reply *rep, int *nfds)
{
	uint8_t in[PRIV_REPLY_SIZE + 1];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cbuf;
	struct iovec iov = { .iov_base = in, .iov_len = sizeof(in) };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
		.msg_controllen = sizeof(cbuf.b),
	};
	struct cmsghdr *cm;
	char err[256];
	ssize_t n;

	*nfds = 0;
	n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	for (cm = CMSG_FIRSTHDR(&m); n > 0 && cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int *fds = (int *)(void *)CMSG_DATA(cm);
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++, (*nfds)++)
				close(fds[i]);
		}
	}
	if (n != PRIV_REPLY_SIZE || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		fail("not exactly one reply", NULL);
	if (priv_reply_parse(in, (size_t)n, rep, err, sizeof(err)) != 0)
		fail("the client refuses the session's reply", err);
}

/* The input as one message to a session (with its TUN already open and
 * its two addresses added, if preopen: every op is then reachable); then
 * EOF. */
static void check_serve(const uint8_t *data, size_t size, bool req_ok,
			const struct priv_request *req, bool preopen)
{
	struct priv_config cfg = { .tun_fd = -1, .uapi_dir = "/nonexistent",
				   .admin_path = "/nonexistent/admin.sock" };
	struct priv_request open[3] = {
		{ .op = PRIV_OP_TUN_OPEN, .ifname = "fuzz0" },
		{ .op = PRIV_OP_ADDR_ADD,
		  .prefix = { .family = AF_INET, .len = 24, .addr = { 10, 13, 13, 1 } } },
		{ .op = PRIV_OP_ADDR_ADD,
		  .prefix = { .family = AF_INET6, .len = 64, .addr = { 0xfd, [15] = 1 } } },
	};
	uint8_t out[PRIV_REQUEST_SIZE], in[8];
	struct priv_reply rep;
	int sv[2], nfds = 0, before;

	/* a zero-length message reads as EOF: nothing to answer */
	if (size == 0 || size > 4096)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fail("socketpair", NULL);
	for (int i = 0; preopen && i < 3; i++) {
		priv_request_encode(&open[i], out);
		if (send(sv[0], out, sizeof(out), MSG_NOSIGNAL) != (ssize_t)sizeof(out))
			fail("send", NULL);
	}
	if (send(sv[0], data, size, MSG_NOSIGNAL) != (ssize_t)size)
		fail("send", NULL);
	shutdown(sv[0], SHUT_WR);
	calls = teardowns = 0;
	if (priv_serve(&cfg, &fake_ops, sv[1]) != 0)
		fail("priv_serve did not end cleanly at EOF", NULL);
	close(sv[1]);
	if (teardowns < 1)
		fail("no NAT teardown at EOF", NULL);
	before = 0;
	if (preopen) {
		read_reply(sv[0], &rep, &nfds);
		if (rep.op != PRIV_OP_TUN_OPEN || rep.error || nfds != 1 || rep.ifindex != 9 ||
		    strcmp(rep.ifname, "fuzz0") != 0)
			fail("the TUN_OPEN before the input failed", rep.msg);
		for (int i = 1; i < 3; i++) {
			read_reply(sv[0], &rep, &nfds);
			if (rep.op != PRIV_OP_ADDR_ADD || rep.error || nfds)
				fail("an ADDR_ADD before the input failed", rep.msg);
		}
		before = 3;
	}
	read_reply(sv[0], &rep, &nfds);
	calls -= before;
	if (!req_ok) {
		if (calls || rep.error >= 0 || rep.op != 0 || nfds)
			fail("a malformed request reached an op or was not refused", rep.msg);
	} else {
		if (rep.op != req->op)
			fail("a reply for another op", NULL);
		if (rep.error < 0 && !rep.msg[0])
			fail("an error without a message", NULL);
		if (nfds != (rep.error == 0 && priv_op_passes_fd(req->op)))
			fail("an fd where none belongs, or none where one does", rep.msg);
	}
	if (recv(sv[0], in, sizeof(in), MSG_DONTWAIT) != 0)
		fail("more than one reply", NULL);
	close(sv[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct priv_request req;
	bool req_ok;

	check_codec(data, size, &req_ok, &req);
	check_serve(data, size, req_ok, &req, false);
	check_serve(data, size, req_ok, &req, true);
	return 0;
}
