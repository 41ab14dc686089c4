/*
 * priv.c - the privileged part of `zerowg up` (priv.h): the session loop
 * that serves one request at a time, and the fork that starts the
 * privileged process (and, in rootless mode, its user and network
 * namespace, or with --netns the one it joins).  The actions themselves
 * are in priv_ops.c, the server's side in priv_client.c.
 *
 * Relies on priv_msg.c for the wire format, netlink.h / nat.h /
 * device_open_tun for the actions, and on SOCK_SEQPACKET keeping message
 * boundaries: a message is read whole or its MSG_TRUNC shows.
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

/* -------------------------------------------------------- the session -- */

/* A unix socket this session bound, so cleanup removes it, and only it. */
struct bound_socket {
	bool bound;
	const char *path;
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
};

struct session {
	const struct priv_config *cfg;
	const struct priv_ops *ops;
	int fd;				/* the connection */
	int tun_fd;			/* cfg->tun_fd until TUN_OPEN hands it out */
	char ifname[IF_NAMESIZE];
	int ifindex;			/* 0 until TUN_OPEN: every link op needs it */
	struct nat nat;
	struct firewall fw;
	struct firewall_spec fw_stage;	/* FW_BEGIN .. FW_COMMIT */
	bool fw_open;			/* between FW_BEGIN and FW_COMMIT */
	/* What ADDR_ADD added: DNS_OPEN and WEB_OPEN bind only to these. */
	struct netlink_prefix addrs[PRIV_MAX_ADDRS];
	size_t n_addrs;
	struct bound_socket uapi, admin;
	char uapi_path[108];		/* cfg->uapi_dir/IFNAME.sock */
	/* Rootless setup failed (priv_fork): every request gets this. */
	int setup_error;
	char setup_msg[PRIV_MSG_LEN];
};

static void session_init(struct session *s, const struct priv_config *cfg,
			 const struct priv_ops *ops, int fd)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->ops = ops;
	s->fd = fd;
	s->tun_fd = cfg->tun_fd;
}

static bool same_addr(const struct netlink_prefix *a, const struct netlink_prefix *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static struct netlink_prefix *find_addr(struct session *s, const struct netlink_prefix *p)
{
	for (size_t i = 0; i < s->n_addrs; i++)
		if (same_addr(&s->addrs[i], p))
			return &s->addrs[i];
	return NULL;
}

/* The usual reasons a TUN cannot be created, with what to do about them. */
static void explain_tun_error(int e, const char *ifname, char *err, size_t errlen)
{
	struct stat st;

	switch (e) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		errbuf_set(err, errlen, "/dev/net/tun is missing: load the tun module (modprobe tun) "
			   "or, in a container, pass --device /dev/net/tun");
		break;
	case EACCES:
		/* No owner: in a user namespace root shows as the overflow uid. */
		if (stat("/dev/net/tun", &st) == 0)
			errbuf_set(err, errlen, "no permission to open /dev/net/tun (mode %04o): run "
				   "zerowg up as root, or give its user access to the device (most "
				   "distributions make it 0666)", (unsigned)(st.st_mode & 07777));
		else
			errbuf_set(err, errlen, "no permission to open /dev/net/tun: run zerowg up "
				   "as root, or give its user access to the device");
		break;
	case EPERM:
		errbuf_set(err, errlen, "not permitted to create the TUN interface \"%s\": it needs "
			   "CAP_NET_ADMIN (run zerowg up as root, or in a container pass "
			   "--cap-add NET_ADMIN --device /dev/net/tun)", ifname);
		break;
	case EBUSY:
		errbuf_set(err, errlen, "the interface \"%s\" is in use (is another zerowg server "
			   "or zerowgd running with that name?)", ifname);
		break;
	default:
		if (!err || !errlen || !err[0])
			errbuf_set(err, errlen, "cannot create the TUN interface \"%s\": %s", ifname,
				   strerror(e));
	}
}

static int op_tun_open(struct session *s, const struct priv_request *req,
		       struct priv_reply *rep)
{
	char name[IF_NAMESIZE], *err = rep->msg;
	size_t errlen = sizeof(rep->msg);
	struct tun_offloads off = { 0 };
	int fd, ifindex = 0;

	if (s->ifindex > 0) {
		errbuf_set(err, errlen, "the TUN %s is already open (TUN_OPEN is once per "
			   "connection)", s->ifname);
		return -EALREADY;
	}
	memcpy(name, req->ifname, sizeof(name));
	fd = s->ops->tun_open(s->ops->ctx, name, s->tun_fd, &ifindex, &off, err, errlen);
	if (fd < 0) {
		if (s->tun_fd < 0)
			explain_tun_error(-fd, name, err, errlen);
		return fd;
	}
	name[IF_NAMESIZE - 1] = '\0';
	if (ifindex <= 0 || !name[0]) {
		errbuf_set(err, errlen, "TUN %s: no interface index", name);
		if (fd != s->tun_fd)
			close(fd);
		return -ENODEV;
	}
	/* An adopted fd is handed over: it is closed after the reply. */
	if (fd == s->tun_fd)
		s->tun_fd = -1;
	s->ifindex = ifindex;
	memcpy(s->ifname, name, sizeof(name));
	memcpy(rep->ifname, name, sizeof(name));
	rep->ifindex = (uint32_t)ifindex;
	rep->offloads = (off.vnet ? PRIV_OFFLOAD_VNET : 0) |
			(off.vnet && off.tso ? PRIV_OFFLOAD_TSO : 0) |
			(off.vnet && off.uso ? PRIV_OFFLOAD_USO : 0);
	return fd;
}

static int op_unix_open(struct session *s, struct bound_socket *b, struct priv_unix_socket *u,
			struct priv_reply *rep)
{
	int fd;

	if (!u->path[0]) {
		errbuf_set(rep->msg, sizeof(rep->msg), "no %s path was configured", u->what);
		return -ENOTSUP;
	}
	if (b->bound) {
		errbuf_set(rep->msg, sizeof(rep->msg), "the %s %s is already open (once per "
			   "connection)", u->what, u->path);
		return -EALREADY;
	}
	fd = s->ops->bind_unix(s->ops->ctx, u, rep->msg, sizeof(rep->msg));
	if (fd < 0)
		return fd;
	b->bound = true;
	b->path = u->path;
	b->dev = u->dev;
	b->ino = u->ino;
	b->ctime = u->ctime;
	return fd;
}

static int need_tun(struct session *s, const struct priv_request *req, struct priv_reply *rep)
{
	if (s->ifindex > 0)
		return 0;
	errbuf_set(rep->msg, sizeof(rep->msg), "%s before TUN_OPEN: there is no interface yet",
		   priv_op_name(req->op));
	return -EBADF;
}

static int op_addr(struct session *s, const struct priv_request *req, struct priv_reply *rep)
{
	bool add = req->op == PRIV_OP_ADDR_ADD;
	struct netlink_prefix p, *known;
	char text[64];
	int ret;

	priv_prefix_decode(&p, &req->prefix);
	known = find_addr(s, &p);
	if (add && !known && s->n_addrs == PRIV_MAX_ADDRS) {
		netlink_prefix_format(&p, text, sizeof(text));
		errbuf_set(rep->msg, sizeof(rep->msg), "adding %s: the interface already has %d "
			   "addresses, the most the privileged part keeps", text, PRIV_MAX_ADDRS);
		return -ENOSPC;
	}
	ret = s->ops->addr(s->ops->ctx, add, s->ifindex, &p, rep->msg, sizeof(rep->msg));
	if (ret < 0)
		return ret;
	if (add && !known)
		s->addrs[s->n_addrs++] = p;
	else if (!add && known)
		*known = s->addrs[--s->n_addrs];
	return 0;
}

static int op_nat_setup(struct session *s, const struct priv_request *req,
			struct priv_reply *rep)
{
	struct netlink_prefix p4, p6;
	char a4[64] = "", a6[64] = "";
	int ret;

	if (req->prefix.family) {
		priv_prefix_decode(&p4, &req->prefix);
		netlink_prefix_format(&p4, a4, sizeof(a4));
	}
	if (req->prefix6.family) {
		priv_prefix_decode(&p6, &req->prefix6);
		netlink_prefix_format(&p6, a6, sizeof(a6));
	}
	s->ops->nat_teardown(s->ops->ctx, &s->nat);
	ret = s->ops->nat_setup(s->ops->ctx, &s->nat, s->ifname, a4[0] ? a4 : NULL,
				a6[0] ? a6 : NULL, rep->msg, sizeof(rep->msg));
	/* Success: the start-up line saying what was set up. */
	if (ret >= 0)
		nat_describe(&s->nat, rep->msg, sizeof(rep->msg));
	return ret;
}

/* FW_*: stage the firewall's state, then install it whole.  An error
 * drops what was staged, so a COMMIT after it cannot install a part. */
static int op_firewall(struct session *s, const struct priv_request *req,
		       struct priv_reply *rep)
{
	struct firewall_allow a = { .port_lo = req->port, .port_hi = req->port_hi,
				    .proto = req->proto };
	struct netlink_prefix p;
	int ret = 0;

	if (req->op == PRIV_OP_FW_BEGIN) {
		firewall_spec_clear(&s->fw_stage);
		s->fw_open = true;
		return 0;
	}
	if (!s->fw_open) {
		errbuf_set(rep->msg, sizeof(rep->msg), "%s without FW_BEGIN", priv_op_name(req->op));
		return -EPROTO;
	}
	switch (req->op) {
	case PRIV_OP_FW_PEER:
		ret = firewall_spec_add_peer(&s->fw_stage);
		break;
	case PRIV_OP_FW_SOURCE:
		priv_prefix_decode(&p, &req->prefix);
		ret = firewall_spec_add_source(&s->fw_stage, &p);
		break;
	case PRIV_OP_FW_ALLOW:
		priv_prefix_decode(&a.dst, &req->prefix);
		ret = firewall_spec_add_allow(&s->fw_stage, &a);
		break;
	case PRIV_OP_FW_COMMIT:
		if (!s->ops->fw_apply) {
			errbuf_set(rep->msg, sizeof(rep->msg), "FW_COMMIT: no firewall here");
			ret = -ENOTSUP;
		} else {
			ret = s->ops->fw_apply(s->ops->ctx, &s->fw, s->ifname, &s->fw_stage,
					       rep->msg, sizeof(rep->msg));
		}
		firewall_spec_clear(&s->fw_stage);
		s->fw_open = false;
		return ret;
	}
	if (ret < 0) {
		errbuf_set(rep->msg, sizeof(rep->msg), "%s: %s", priv_op_name(req->op),
			   ret == -EBADF ? "no FW_PEER before it" :
			   ret == -ENOSPC ? "past the firewall's bounds (peers, "
			   "sources or rules of a peer)" : strerror(-ret));
		firewall_spec_clear(&s->fw_stage);
		s->fw_open = false;
	}
	return ret;
}

/* DNS_OPEN, WEB_OPEN: the request's address, if it is one of the
 * tunnel's own (one ADDR_ADD added; its prefix length does not count). */
static int own_addr(struct session *s, const struct priv_request *req, struct priv_reply *rep,
		    struct netlink_prefix *p)
{
	char text[64];

	priv_prefix_decode(p, &req->prefix);
	if (find_addr(s, p))
		return 0;
	netlink_prefix_format(p, text, sizeof(text));
	errbuf_set(rep->msg, sizeof(rep->msg), "%s: %s is not an address the privileged part "
		   "added to %s (ADDR_ADD it first)", priv_op_name(req->op), text, s->ifname);
	return -EPERM;
}

static int op_dns_open(struct session *s, const struct priv_request *req,
		       struct priv_reply *rep)
{
	struct netlink_prefix p;
	int ret = own_addr(s, req, rep, &p);

	if (ret < 0)
		return ret;
	return s->ops->dns_open(s->ops->ctx, &p, req->port, rep->msg, sizeof(rep->msg));
}

static int op_web_open(struct session *s, const struct priv_request *req,
		       struct priv_reply *rep)
{
	struct netlink_prefix p;
	int ret = own_addr(s, req, rep, &p);

	if (ret < 0)
		return ret;
	if (!s->ops->web_open) {
		errbuf_set(rep->msg, sizeof(rep->msg), "WEB_OPEN: no web listeners here");
		return -ENOTSUP;
	}
	return s->ops->web_open(s->ops->ctx, &p, req->port, rep->msg, sizeof(rep->msg));
}

/* Carries out a valid request: 0, an fd to pass, or -errno (rep->msg
 * says why). */
static int handle(struct session *s, const struct priv_request *req, struct priv_reply *rep)
{
	const struct priv_config *cfg = s->cfg;
	struct netlink_prefix p;
	int ret;

	switch (req->op) {
	case PRIV_OP_TUN_OPEN:
		return op_tun_open(s, req, rep);
	case PRIV_OP_UAPI_OPEN: {
		/* wg(8) runs as root: the socket is ours, 0600, and named
		 * after the interface the kernel gave us. */
		struct priv_unix_socket u = {
			.what = "UAPI socket", .path = s->uapi_path, .dir_mode = 0755,
			.sock_mode = 0600, .uid = (uid_t)-1, .gid = (gid_t)-1, .backlog = SOMAXCONN,
		};

		if (cfg->uapi_dir[0] && (ret = need_tun(s, req, rep)) < 0)
			return ret;
		if (cfg->uapi_dir[0] && !s->uapi.bound &&
		    (size_t)snprintf(s->uapi_path, sizeof(s->uapi_path), "%s/%s.sock",
				     cfg->uapi_dir, s->ifname) >= sizeof(s->uapi_path)) {
			errbuf_set(rep->msg, sizeof(rep->msg), "UAPI socket %s/%s.sock: the path is "
				   "longer than %zu bytes", cfg->uapi_dir, s->ifname,
				   sizeof(s->uapi_path) - 1);
			return -ENAMETOOLONG;
		}
		return op_unix_open(s, &s->uapi, &u, rep);
	}
	case PRIV_OP_ADMIN_OPEN: {
		struct priv_unix_socket u = {
			.what = "admin socket", .path = cfg->admin_path, .dir_mode = 0750,
			.sock_mode = 0660, .uid = cfg->uid, .gid = cfg->gid, .backlog = SOMAXCONN,
		};
		return op_unix_open(s, &s->admin, &u, rep);
	}
	case PRIV_OP_ADDR_ADD:
	case PRIV_OP_ADDR_DEL:
		if ((ret = need_tun(s, req, rep)) < 0)
			return ret;
		return op_addr(s, req, rep);
	case PRIV_OP_ROUTE_ADD:
	case PRIV_OP_ROUTE_DEL:
		if ((ret = need_tun(s, req, rep)) < 0)
			return ret;
		priv_prefix_decode(&p, &req->prefix);
		return s->ops->route(s->ops->ctx, req->op == PRIV_OP_ROUTE_ADD, s->ifindex, &p,
				     rep->msg, sizeof(rep->msg));
	case PRIV_OP_LINK_SET:
		if ((ret = need_tun(s, req, rep)) < 0)
			return ret;
		return s->ops->link_set(s->ops->ctx, s->ifindex, req->mtu, req->up, rep->msg,
					sizeof(rep->msg));
	case PRIV_OP_NAT_SETUP:
		if ((ret = need_tun(s, req, rep)) < 0)
			return ret;
		return op_nat_setup(s, req, rep);
	case PRIV_OP_NAT_TEARDOWN:
		s->ops->nat_teardown(s->ops->ctx, &s->nat);
		return 0;
	case PRIV_OP_DNS_OPEN:
		if ((ret = need_tun(s, req, rep)) < 0)
			return ret;
		return op_dns_open(s, req, rep);
	case PRIV_OP_WEB_OPEN:
		if ((ret = need_tun(s, req, rep)) < 0)
			return ret;
		return op_web_open(s, req, rep);
	case PRIV_OP_FW_BEGIN:
	case PRIV_OP_FW_PEER:
	case PRIV_OP_FW_SOURCE:
	case PRIV_OP_FW_ALLOW:
	case PRIV_OP_FW_COMMIT:
		if ((ret = need_tun(s, req, rep)) < 0)
			return ret;
		return op_firewall(s, req, rep);
	}
	errbuf_set(rep->msg, sizeof(rep->msg), "unknown op %u", req->op);
	return -EINVAL;
}

/* Removes a socket file we bound, if it is still the one we bound: a new
 * server may already have replaced it. */
static void unlink_own(struct bound_socket *b)
{
	struct stat st;

	if (b->bound && lstat(b->path, &st) == 0 && st.st_dev == b->dev && st.st_ino == b->ino &&
	    st.st_ctim.tv_sec == b->ctime.tv_sec && st.st_ctim.tv_nsec == b->ctime.tv_nsec &&
	    unlink(b->path) < 0)
		log_warn_errno("privileged part: removing %s", b->path);
	b->bound = false;
}

static void session_cleanup(struct session *s)
{
	if (s->ops->fw_teardown)
		s->ops->fw_teardown(s->ops->ctx, &s->fw);
	firewall_spec_clear(&s->fw_stage);
	s->ops->nat_teardown(s->ops->ctx, &s->nat);
	unlink_own(&s->uapi);
	unlink_own(&s->admin);
}

/* One message: 1, 0 on EOF, or -errno.  Any fd that came with it is closed
 * at once (a request never carries one) and reported in *had_fds. */
static int recv_request(int fd, void *buf, size_t cap, size_t *len, bool *had_fds,
			bool *truncated)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 16)];
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
		.msg_controllen = sizeof(cbuf.b),
	};
	struct cmsghdr *cm;
	ssize_t n;

	do
		n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? 0 : -errno;
	*had_fds = (m.msg_flags & MSG_CTRUNC) != 0;
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int *fds = (int *)(void *)CMSG_DATA(cm);

			for (size_t i = 0; i < nfd; i++)
				close(fds[i]);
		}
		*had_fds = true;
	}
	*truncated = (m.msg_flags & MSG_TRUNC) != 0;
	*len = (size_t)n;
	return n == 0 ? 0 : 1;
}

static int send_reply(int fd, const struct priv_reply *rep, int pass_fd)
{
	uint8_t out[PRIV_REPLY_SIZE];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = out, .iov_len = sizeof(out) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	priv_reply_encode(rep, out);
	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf.b;
		m.msg_controllen = sizeof(cbuf.b);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	do
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(out) ? 0 : -EIO;
}

static int session_run(struct session *s)
{
	int ret;

	for (;;) {
		/* One byte more than a request: an oversized one shows. */
		uint8_t buf[PRIV_REQUEST_SIZE + 1];
		struct priv_request req;
		struct priv_reply rep;
		bool had_fds = false, truncated = false;
		size_t len = 0;
		int pass_fd = -1;

		ret = recv_request(s->fd, buf, sizeof(buf), &len, &had_fds, &truncated);
		if (ret <= 0)
			break;
		memset(&rep, 0, sizeof(rep));
		if (had_fds) {
			errbuf_set(rep.msg, sizeof(rep.msg), "a request must not carry a file "
				   "descriptor");
			rep.error = -EINVAL;
		} else if (truncated) {
			errbuf_set(rep.msg, sizeof(rep.msg), "a request of more than %zu bytes (a "
				   "request is %d)", len, PRIV_REQUEST_SIZE);
			rep.error = -EMSGSIZE;
		} else if ((ret = priv_request_parse(buf, len, &req, rep.msg, sizeof(rep.msg))) < 0) {
			rep.error = ret;
		} else if (s->setup_error) {
			rep.op = req.op;
			rep.error = s->setup_error;
			memcpy(rep.msg, s->setup_msg, sizeof(rep.msg));
		} else {
			rep.op = req.op;
			ret = handle(s, &req, &rep);
			if (ret < 0) {
				rep.error = ret < -4095 ? -EIO : ret;
				rep.ifindex = rep.offloads = 0;
				if (!rep.msg[0])
					errbuf_set(rep.msg, sizeof(rep.msg), "%s: %s",
						   priv_op_name(req.op), strerror(-rep.error));
			} else if (priv_op_passes_fd(req.op)) {
				pass_fd = ret;
				rep.msg[0] = '\0';
			} else if (req.op != PRIV_OP_NAT_SETUP) {
				/* NAT_SETUP's success says what it set up. */
				rep.msg[0] = '\0';
			}
		}
		rep.msg[sizeof(rep.msg) - 1] = '\0';
		ret = send_reply(s->fd, &rep, pass_fd);
		/* Ours is a copy: the interface, socket, DNS socket or web
		 * listener lives on in the server (or goes, if the server is
		 * gone). */
		if (pass_fd >= 0)
			close(pass_fd);
		if (ret == -EPIPE || ret == -ECONNRESET) {
			ret = 0;	/* the server left while we worked: EOF */
			break;
		}
		if (ret < 0)
			break;
	}
	session_cleanup(s);
	return ret;
}

int priv_serve(const struct priv_config *cfg, const struct priv_ops *ops, int fd)
{
	struct session s;

	session_init(&s, cfg, ops, fd);
	return session_run(&s);
}

/* ------------------------------------------------------------ the fork -- */

static int write_proc(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

/* Rootless mode: a user namespace of our own with our uid and gid mapped
 * to themselves, which gives CAP_NET_ADMIN over the new network namespace
 * created with it (and nowhere else).  Before PR_SET_DUMPABLE 0: that
 * would make /proc/self/uid_map root's. */
static int enter_userns(char *msg, size_t len)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int e, ret;

	/* The server may have made itself non-dumpable before forking us;
	 * then /proc/self/uid_map would be root's and not ours to write.  We
	 * hold no secret: dumpable until the maps are written. */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
		e = errno;
		if (e == EPERM)
			errbuf_set(msg, len, "user namespaces are disabled "
				   "(kernel.unprivileged_userns_clone=0, or a seccomp or AppArmor "
				   "policy forbids them): unshare(CLONE_NEWUSER|CLONE_NEWNET): %s; "
				   "allow them (sysctl -w kernel.unprivileged_userns_clone=1), or run "
				   "zerowg up as root without rootless mode", strerror(e));
		else if (e == ENOSPC || e == EUSERS)
			errbuf_set(msg, len, "user namespaces are disabled "
				   "(user.max_user_namespaces=0) or their limit is reached: "
				   "unshare(CLONE_NEWUSER|CLONE_NEWNET): %s; raise it (sysctl -w "
				   "user.max_user_namespaces=10000), or run zerowg up as root without "
				   "rootless mode", strerror(e));
		else if (e == EINVAL)
			errbuf_set(msg, len, "user namespaces are disabled (this kernel was built "
				   "without CONFIG_USER_NS): unshare(CLONE_NEWUSER|CLONE_NEWNET): %s; "
				   "run zerowg up as root without rootless mode", strerror(e));
		else
			errbuf_set(msg, len, "cannot create a user and network namespace: "
				   "unshare(CLONE_NEWUSER|CLONE_NEWNET): %s", strerror(e));
		return -e;
	}
	/* Unprivileged gid_map writes need setgroups denied (Linux 3.19+;
	 * older kernels lack the file). */
	ret = write_proc("/proc/self/setgroups", "deny");
	if (ret < 0 && ret != -ENOENT) {
		errbuf_set(msg, len, "rootless mode: writing /proc/self/setgroups: %s",
			   strerror(-ret));
		return ret;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if ((ret = write_proc("/proc/self/uid_map", map)) < 0) {
		errbuf_set(msg, len, "rootless mode: writing /proc/self/uid_map \"%u %u 1\": %s",
			   (unsigned)uid, (unsigned)uid, strerror(-ret));
		return ret;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if ((ret = write_proc("/proc/self/gid_map", map)) < 0) {
		errbuf_set(msg, len, "rootless mode: writing /proc/self/gid_map \"%u %u 1\": %s",
			   (unsigned)gid, (unsigned)gid, strerror(-ret));
		return ret;
	}
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Closes every fd but keep[0..n) (each >= 0). */
static void close_other_fds(int *keep, size_t n)
{
	unsigned lo = 0;

	qsort(keep, n, sizeof(keep[0]), cmp_int);
	for (size_t i = 0; i <= n; i++) {
		unsigned hi = i < n ? (unsigned)keep[i] : UINT_MAX;

		if (i < n && (unsigned)keep[i] < lo)
			continue;	/* a duplicate */
		if (hi > lo && close_range(lo, hi - 1, 0) < 0) {
			/* Without close_range (Linux < 5.9): one by one. */
			long max = sysconf(_SC_OPEN_MAX);
			unsigned top = max > 0 && max < 65536 ? (unsigned)max : 65536;

			for (unsigned fd = lo; fd < hi && fd < top; fd++)
				close((int)fd);
		}
		if (i < n)
			lo = (unsigned)keep[i] + 1;
	}
}

/*
 * --netns PATH: the tunnel goes into a namespace someone prepared (ip netns
 * add, podman, a systemd unit's NetworkNamespacePath=).  Root joins it
 * directly; a user joins one it owns through its user namespace (where it
 * then holds CAP_NET_ADMIN), as nsenter -U -n would.
 */
static int join_netns(const char *path, char *msg, size_t len)
{
	int fd, ufd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		errbuf_set(msg, len, "--netns %s: %s", path, strerror(e));
		return -e;
	}
	if (setns(fd, CLONE_NEWNET) == 0) {
		close(fd);
		return 0;
	}
	e = errno;
	if (e == EPERM) {
		ufd = ioctl(fd, NS_GET_USERNS);
		if (ufd >= 0) {
			if (setns(ufd, CLONE_NEWUSER) == 0 && setns(fd, CLONE_NEWNET) == 0)
				e = 0;
			else
				e = errno;
			close(ufd);
		}
	}
	close(fd);
	if (e)
		errbuf_set(msg, len, "--netns %s: cannot enter it: %s (it must be a network "
			   "namespace: /run/netns/NAME from `ip netns add`, as root, or "
			   "/proc/PID/ns/net of a process of this user's)", path, strerror(e));
	return -e;
}

static void __attribute__((noreturn)) child_main(const struct priv_config *cfg, int fd)
{
	struct priv_config ccfg = *cfg;
	struct session s;
	int keep[3], n = 0, null_fd, ret;
	bool stderr_ok;

	session_init(&s, &ccfg, &priv_ops_default, fd);
	/* First, while /proc/self is still ours (see enter_userns). */
	if (cfg->netns_path[0])
		s.setup_error = join_netns(cfg->netns_path, s.setup_msg, sizeof(s.setup_msg));
	else if (cfg->new_userns)
		s.setup_error = enter_userns(s.setup_msg, sizeof(s.setup_msg));
	/* Rootless it stays dumpable: it holds no secret, and the server and
	 * slirp4netns (same uid) must open /proc/PID/ns/{user,net}. */
	if (!cfg->new_userns)
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* The server decides when we stop: EOF on the socket. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	/* Keep the socket, an adopted TUN and stderr (log lines); 0 and 1
	 * become /dev/null so that nothing writes into a stray fd. */
	stderr_ok = fd != STDERR_FILENO && ccfg.tun_fd != STDERR_FILENO &&
		    fcntl(STDERR_FILENO, F_GETFD) >= 0;
	if (fd <= STDERR_FILENO)
		fd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (ccfg.tun_fd >= 0 && ccfg.tun_fd <= STDERR_FILENO)
		ccfg.tun_fd = fcntl(ccfg.tun_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (fd < 0)
		_exit(1);
	keep[n++] = fd;
	if (ccfg.tun_fd >= 0)
		keep[n++] = ccfg.tun_fd;
	if (stderr_ok)
		keep[n++] = STDERR_FILENO;
	close_other_fds(keep, (size_t)n);
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd >= 0) {
		for (int i = STDIN_FILENO; i <= STDERR_FILENO; i++)
			if (i != null_fd && (i != STDERR_FILENO || !stderr_ok))
				dup2(null_fd, i);
		if (null_fd > STDERR_FILENO)
			close(null_fd);
	}
	s.fd = fd;
	s.tun_fd = ccfg.tun_fd;
	ret = session_run(&s);
	_exit(ret < 0 ? 1 : 0);
}

static bool has_nul(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

int priv_fork(const struct priv_config *cfg, struct priv_client *c, char *err, size_t errlen)
{
	int sv[2], ret;
	pid_t pid;

	c->fd = -1;
	c->pid = -1;
	c->dead = true;
	c->reaped = false;
	c->wstatus = 0;
	pthread_mutex_init(&c->lock, NULL);
	if (!has_nul(cfg->uapi_dir, sizeof(cfg->uapi_dir)) ||
	    !has_nul(cfg->admin_path, sizeof(cfg->admin_path))) {
		errbuf_set(err, errlen, "privileged part: a name or path in its configuration is "
			   "not NUL-terminated");
		return -EINVAL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "privileged part: socketpair: %s", strerror(errno));
		return ret;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "privileged part: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(cfg, sv[1]);
	}
	close(sv[1]);
	c->fd = sv[0];
	c->pid = pid;
	c->dead = false;
	return 0;
}
