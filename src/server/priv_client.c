/*
 * priv_client.c - the server's side of the privileged part (priv.h): one
 * request and one reply at a time under the client's lock, an fd taken
 * only when the op hands one out, a reply never trusted blindly
 * (priv_reply_parse), and the wait for the privileged part's exit.
 *
 * Relies on priv_msg.c for the wire format.
 */
#include "priv.h"
#include "device.h"
#include "errbuf.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/nsfs.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long priv_close waits for the privileged part to clean up. */
#define PRIV_EXIT_WAIT_MS 5000

/* ---------------------------------------------------------- the client -- */

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reaps the privileged part if it has exited, waiting up to max_ms.
 * Needs c->lock, or no other thread using c. */
static void try_reap(struct priv_client *c, long max_ms)
{
	for (long waited = 0; c->pid > 0 && !c->reaped; waited += 10) {
		pid_t r = waitpid(c->pid, &c->wstatus, WNOHANG);

		if (r == c->pid || (r < 0 && errno == ECHILD)) {
			/* ECHILD: someone else reaped it (a SIGCHLD handler). */
			c->reaped = r == c->pid;
			if (r < 0)
				c->pid = -c->pid;	/* not ours to wait for any more */
			break;
		}
		if (r < 0 && errno != EINTR)
			break;
		if (waited >= max_ms)
			break;
		sleep_ms(10);
	}
}

/* The connection is gone.  Needs c->lock. */
static int client_dead(struct priv_client *c, char *err, size_t errlen)
{
	char why[96] = "it closed the connection";
	pid_t pid = c->pid < 0 ? -c->pid : c->pid;

	c->dead = true;
	try_reap(c, 200);
	if (c->reaped && WIFEXITED(c->wstatus))
		snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(c->wstatus));
	else if (c->reaped && WIFSIGNALED(c->wstatus))
		snprintf(why, sizeof(why), "killed by signal %d (%s)", WTERMSIG(c->wstatus),
			 strsignal(WTERMSIG(c->wstatus)));
	errbuf_set(err, errlen, "the privileged part (pid %d) has exited: %s; the server cannot "
		   "change its interface any more", (int)pid, why);
	return -EPIPE;
}

/* The privileged part sent something it should not have: end the
 * connection (it sees EOF, cleans up and exits).  Needs c->lock. */
static int client_broken(struct priv_client *c, const char *what, char *err, size_t errlen)
{
	errbuf_set(err, errlen, "the privileged part (pid %d) broke the protocol: %s; the "
		   "connection is closed", (int)c->pid, what);
	shutdown(c->fd, SHUT_RDWR);
	c->dead = true;
	return -EPROTO;
}

/* One request, one reply.  *fd_out gets the fd a successful reply to an
 * fd-passing op carries. */
static int call(struct priv_client *c, const struct priv_request *req, int *fd_out,
		struct priv_reply *rep, char *err, size_t errlen)
{
	uint8_t out[PRIV_REQUEST_SIZE], in[PRIV_REPLY_SIZE + 1];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cbuf;
	struct iovec iov = { .iov_base = in, .iov_len = sizeof(in) };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
		.msg_controllen = sizeof(cbuf.b),
	};
	char why[PRIV_MSG_LEN + 64];
	struct cmsghdr *cm;
	bool extra_fds = false, want_fd;
	int got_fd = -1, ret;
	ssize_t n;

	memset(rep, 0, sizeof(*rep));
	if (fd_out)
		*fd_out = -1;
	/* Our own request is checked too: a bad argument never leaves. */
	if ((ret = priv_request_check(req, err, errlen)) < 0)
		return ret;
	priv_request_encode(req, out);
	pthread_mutex_lock(&c->lock);
	if (c->dead || c->fd < 0) {
		ret = client_dead(c, err, errlen);
		goto out;
	}
	do
		n = send(c->fd, out, sizeof(out), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
			ret = client_dead(c, err, errlen);
		} else {
			ret = -errno;
			errbuf_set(err, errlen, "sending %s to the privileged part: %s",
				   priv_op_name(req->op), strerror(errno));
		}
		goto out;
	}
	do
		n = recvmsg(c->fd, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && errno == ECONNRESET)) {
		ret = client_dead(c, err, errlen);
		goto out;
	}
	if (n < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "reading the privileged part's reply to %s: %s",
			   priv_op_name(req->op), strerror(errno));
		goto out;
	}
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int *fds = (int *)(void *)CMSG_DATA(cm);

			for (size_t i = 0; i < nfd; i++) {
				if (got_fd < 0) {
					got_fd = fds[i];
				} else {
					close(fds[i]);
					extra_fds = true;
				}
			}
		} else {
			extra_fds = true;
		}
	}
	if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || extra_fds) {
		ret = client_broken(c, "an oversized reply or more than one fd", err, errlen);
		goto out;
	}
	if (priv_reply_parse(in, (size_t)n, rep, why, sizeof(why)) < 0) {
		ret = client_broken(c, why, err, errlen);
		goto out;
	}
	if (rep->op != req->op && !(rep->op == 0 && rep->error < 0)) {
		snprintf(why, sizeof(why), "a reply to %s for a %s request", priv_op_name(rep->op),
			 priv_op_name(req->op));
		ret = client_broken(c, why, err, errlen);
		goto out;
	}
	want_fd = rep->error == 0 && priv_op_passes_fd(req->op);
	if (want_fd != (got_fd >= 0)) {
		snprintf(why, sizeof(why), "a reply to %s %s a file descriptor",
			 priv_op_name(req->op), want_fd ? "without" : "with");
		ret = client_broken(c, why, err, errlen);
		goto out;
	}
	if (rep->error < 0) {
		errbuf_set(err, errlen, "%s", rep->msg[0] ? rep->msg : strerror(-rep->error));
		ret = rep->error;
		goto out;
	}
	if (fd_out) {
		*fd_out = got_fd;
		got_fd = -1;
	}
	ret = 0;
out:
	if (got_fd >= 0)
		close(got_fd);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static int call_fd(struct priv_client *c, enum priv_op op, int *fd, char *err, size_t errlen)
{
	struct priv_request req = { .op = op };
	struct priv_reply rep;

	return call(c, &req, fd, &rep, err, errlen);
}

int priv_tun_open(struct priv_client *c, char ifname[IF_NAMESIZE], int *tun_fd, int *ifindex,
		  struct tun_offloads *off, char *err, size_t errlen)
{
	struct priv_request req = { .op = PRIV_OP_TUN_OPEN };
	struct priv_reply rep;
	int ret;

	*tun_fd = -1;
	/* strncpy: NUL-padded, as the wire wants it */
	if (strnlen(ifname, IF_NAMESIZE) >= IF_NAMESIZE) {
		errbuf_set(err, errlen, "interface name \"%.*s...\" is longer than %d characters",
			   IF_NAMESIZE - 1, ifname, IF_NAMESIZE - 1);
		return -EINVAL;
	}
	strncpy(req.ifname, ifname, sizeof(req.ifname));
	if (priv_request_check(&req, NULL, 0) < 0) {
		errbuf_set(err, errlen, "interface name \"%s\" is not a name (1 to %d characters, "
			   "no '/', ':' or spaces)", ifname, IF_NAMESIZE - 1);
		return -EINVAL;
	}
	ret = call(c, &req, tun_fd, &rep, err, errlen);
	if (ret < 0)
		return ret;
	if (rep.ifindex == 0 || !rep.ifname[0]) {
		close(*tun_fd);
		*tun_fd = -1;
		errbuf_set(err, errlen, "the privileged part opened the TUN but gave no interface "
			   "index or name");
		return -EPROTO;
	}
	*ifindex = (int)rep.ifindex;
	memcpy(ifname, rep.ifname, IF_NAMESIZE);
	off->vnet = rep.offloads & PRIV_OFFLOAD_VNET;
	off->tso = rep.offloads & PRIV_OFFLOAD_TSO;
	off->uso = rep.offloads & PRIV_OFFLOAD_USO;
	return 0;
}

int priv_uapi_open(struct priv_client *c, int *fd, char *err, size_t errlen)
{
	return call_fd(c, PRIV_OP_UAPI_OPEN, fd, err, errlen);
}

int priv_admin_open(struct priv_client *c, int *fd, char *err, size_t errlen)
{
	return call_fd(c, PRIV_OP_ADMIN_OPEN, fd, err, errlen);
}

static int prefix_request(struct priv_request *req, const struct netlink_prefix *p,
			  const char *what, char *err, size_t errlen)
{
	if (priv_prefix_encode(&req->prefix, p) < 0) {
		errbuf_set(err, errlen, "%s: family %d / prefix length %u is not an IPv4 or IPv6 "
			   "prefix", what, p->family, p->len);
		return -EINVAL;
	}
	return 0;
}

int priv_addr(struct priv_client *c, bool add, const struct netlink_prefix *p, char *err,
	      size_t errlen)
{
	struct priv_request req = { .op = add ? PRIV_OP_ADDR_ADD : PRIV_OP_ADDR_DEL };
	struct priv_reply rep;
	int ret = prefix_request(&req, p, "address", err, errlen);

	return ret < 0 ? ret : call(c, &req, NULL, &rep, err, errlen);
}

int priv_route(struct priv_client *c, bool add, const struct netlink_prefix *p, char *err,
	       size_t errlen)
{
	struct priv_request req = { .op = add ? PRIV_OP_ROUTE_ADD : PRIV_OP_ROUTE_DEL };
	struct priv_reply rep;
	int ret = prefix_request(&req, p, "route", err, errlen);

	return ret < 0 ? ret : call(c, &req, NULL, &rep, err, errlen);
}

int priv_link_set(struct priv_client *c, int mtu, bool up, char *err, size_t errlen)
{
	struct priv_request req = { .op = PRIV_OP_LINK_SET, .mtu = mtu, .up = up };
	struct priv_reply rep;

	return call(c, &req, NULL, &rep, err, errlen);
}

/* text ("10.13.13.1/24", NULL or "" for none) as a wire prefix of family. */
static int nat_subnet(struct priv_prefix *out, const char *text, int family, char *err,
		      size_t errlen)
{
	struct netlink_prefix p;

	memset(out, 0, sizeof(*out));
	if (!text || !*text)
		return 0;
	if (!netlink_prefix_parse(&p, text) || p.family != family) {
		errbuf_set(err, errlen, "NAT: \"%s\" is not an %s subnet (like %s)", text,
			   family == AF_INET ? "IPv4" : "IPv6",
			   family == AF_INET ? "10.13.13.1/24" : "fd00::1/64");
		return -EINVAL;
	}
	return priv_prefix_encode(out, &p);
}

int priv_nat_setup(struct priv_client *c, const char *subnet4, const char *subnet6, char *err,
		   size_t errlen)
{
	struct priv_request req = { .op = PRIV_OP_NAT_SETUP };
	struct priv_reply rep;
	int ret;

	if ((ret = nat_subnet(&req.prefix, subnet4, AF_INET, err, errlen)) < 0 ||
	    (ret = nat_subnet(&req.prefix6, subnet6, AF_INET6, err, errlen)) < 0)
		return ret;
	ret = call(c, &req, NULL, &rep, err, errlen);
	if (ret == 0 && err)
		snprintf(err, errlen, "%s", rep.msg);
	return ret;
}

int priv_nat_teardown(struct priv_client *c, char *err, size_t errlen)
{
	struct priv_request req = { .op = PRIV_OP_NAT_TEARDOWN };
	struct priv_reply rep;

	return call(c, &req, NULL, &rep, err, errlen);
}

/* One firewall request of op (prefix p may be NULL). */
static int fw_call(struct priv_client *c, enum priv_op op, const struct netlink_prefix *p,
		   const struct firewall_allow *a, char *err, size_t errlen)
{
	struct priv_request req = { .op = op };
	struct priv_reply rep;

	if (a) {
		req.port = a->port_lo;
		req.port_hi = a->port_hi;
		req.proto = a->proto;
		p = &a->dst;
	}
	if (p && priv_prefix_encode(&req.prefix, p) < 0) {
		errbuf_set(err, errlen, "firewall: a prefix of family %d is not IPv4 or IPv6",
			   p->family);
		return -EINVAL;
	}
	return call(c, &req, NULL, &rep, err, errlen);
}

int priv_firewall_set(struct priv_client *c, const struct firewall_spec *spec, char *err,
		      size_t errlen)
{
	int ret = fw_call(c, PRIV_OP_FW_BEGIN, NULL, NULL, err, errlen);

	for (size_t i = 0; ret == 0 && i < spec->n_peers; i++) {
		const struct firewall_peer *p = &spec->peers[i];

		ret = fw_call(c, PRIV_OP_FW_PEER, NULL, NULL, err, errlen);
		for (size_t k = 0; ret == 0 && k < p->n_src; k++)
			ret = fw_call(c, PRIV_OP_FW_SOURCE, &spec->src[p->first_src + k], NULL, err,
				      errlen);
		for (size_t k = 0; ret == 0 && k < p->n_allow; k++)
			ret = fw_call(c, PRIV_OP_FW_ALLOW, NULL, &spec->allow[p->first_allow + k],
				      err, errlen);
	}
	/* After a failure nothing is committed: the next FW_BEGIN starts over. */
	return ret ? ret : fw_call(c, PRIV_OP_FW_COMMIT, NULL, NULL, err, errlen);
}

int priv_dns_open(struct priv_client *c, const struct netlink_prefix *addr, uint16_t port,
		  int *fd, char *err, size_t errlen)
{
	struct priv_request req = { .op = PRIV_OP_DNS_OPEN, .port = port };
	struct priv_reply rep;
	int ret = prefix_request(&req, addr, "DNS address", err, errlen);

	*fd = -1;
	return ret < 0 ? ret : call(c, &req, fd, &rep, err, errlen);
}

int priv_web_open(struct priv_client *c, const struct netlink_prefix *addr, uint16_t port,
		  int *fd, char *err, size_t errlen)
{
	struct priv_request req = { .op = PRIV_OP_WEB_OPEN, .port = port };
	struct netlink_prefix host;
	struct priv_reply rep;
	int ret;

	*fd = -1;
	if (port < PRIV_WEB_PORT_MIN) {
		errbuf_set(err, errlen, "web listener port %u: the privileged part binds ports "
			   "%d..65535 only (pick one of those with --web ADDRESS:PORT)", port,
			   PRIV_WEB_PORT_MIN);
		return -EINVAL;
	}
	/* The address counts, not the subnet it was added with. */
	host = *addr;
	host.len = addr->family == AF_INET ? 32 : 128;
	if ((ret = prefix_request(&req, &host, "web address", err, errlen)) < 0)
		return ret;
	return call(c, &req, fd, &rep, err, errlen);
}

void priv_close(struct priv_client *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->dead = true;
	pthread_mutex_unlock(&c->lock);
	if (c->pid <= 0 || c->reaped)
		return;
	/* EOF tells it to clean up (NAT, socket files) and exit. */
	try_reap(c, PRIV_EXIT_WAIT_MS);
	if (!c->reaped && c->pid > 0) {
		/* Under the server's seccomp filter (and as another user than
		 * a root helper) it cannot be killed from here: say so. */
		log_error("the privileged part (pid %d) did not exit within %d s; killing it",
			  (int)c->pid, PRIV_EXIT_WAIT_MS / 1000);
		if (kill(c->pid, SIGKILL) == 0) {
			while (waitpid(c->pid, &c->wstatus, 0) < 0 && errno == EINTR)
				;
			c->reaped = true;
		} else {
			log_error("cannot kill the privileged part (pid %d): %s", (int)c->pid,
				  strerror(errno));
		}
	}
}

pid_t priv_netns_pid(const struct priv_client *c)
{
	return c->pid > 0 ? c->pid : -1;
}
