/*
 * priv.c - the privileged part of `zerowg up` (priv.h): the session loop
 * that serves one request at a time, the real privileged actions
 * (priv_ops_default), the fork that starts the privileged process (and, in
 * rootless mode, its user and network namespace), and the client the
 * server calls.
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

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

/* How long priv_close waits for the privileged part to clean up. */
#define PRIV_EXIT_WAIT_MS 5000

/* ------------------------------------------------------ the real ops -- */

/* An adopted TUN: it must be a layer-3 TUN without packet info, like ours.
 * With IFF_VNET_HDR it gets the offloads the environment allows, falling
 * back as tun_open_offload does. */
static int adopt_tun(int fd, char ifname[IF_NAMESIZE], struct tun_offloads *off, char *err,
		     size_t errlen)
{
	int sz = sizeof(struct virtio_net_hdr);
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		int ret = -errno;
		errbuf_set(err, errlen, "the TUN fd %d given to adopt is not a TUN device (%s)",
			   fd, strerror(errno));
		return ret;
	}
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TUN || !(ifr.ifr_flags & IFF_NO_PI)) {
		errbuf_set(err, errlen, "the adopted device \"%.*s\" is not a layer-3 TUN without "
			   "packet info (IFF_TUN|IFF_NO_PI)", IF_NAMESIZE - 1, ifr.ifr_name);
		return -EINVAL;
	}
	snprintf(ifname, IF_NAMESIZE, "%.*s", IF_NAMESIZE - 1, ifr.ifr_name);
	memset(off, 0, sizeof(*off));
	if (!(ifr.ifr_flags & IFF_VNET_HDR))
		return 0;
	if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
		int ret = -errno;
		errbuf_set(err, errlen, "adopted TUN %s: setting the vnet header size: %s", ifname,
			   strerror(errno));
		return ret;
	}
	off->vnet = true;
	off->tso = device_offload_allowed("tso");
	off->uso = device_offload_allowed("uso");
	if (tun_set_offloads(fd, off->tso, off->uso) == 0)
		return 0;
	off->uso = false;
	if (tun_set_offloads(fd, off->tso, false) == 0)
		return 0;
	off->tso = false;
	(void)tun_set_offloads(fd, false, false);
	return 0;
}

static int real_tun_open(void *ctx, char ifname[IF_NAMESIZE], int adopt_fd, int *ifindex,
			 struct tun_offloads *off, char *err, size_t errlen)
{
	int fd, ret;

	(void)ctx;
	if (adopt_fd >= 0) {
		fd = adopt_fd;
		if ((ret = adopt_tun(fd, ifname, off, err, errlen)) < 0)
			return ret;
	} else {
		fd = device_open_tun(ifname, off);
		if (fd < 0)
			return fd;	/* priv_serve explains the usual causes */
	}
	ret = tun_ifindex(fd);
	if (ret <= 0) {
		errbuf_set(err, errlen, "TUN %s: cannot read its interface index: %s", ifname,
			   strerror(ret < 0 ? -ret : ENODEV));
		if (adopt_fd < 0)
			close(fd);
		return ret < 0 ? ret : -ENODEV;
	}
	*ifindex = ret;
	return fd;
}

static int real_addr(void *ctx, bool add, int ifindex, const struct netlink_prefix *p, char *err,
		     size_t errlen)
{
	(void)ctx;
	return add ? netlink_addr_add(ifindex, p, err, errlen)
		   : netlink_addr_del(ifindex, p, err, errlen);
}

static int real_route(void *ctx, bool add, int ifindex, const struct netlink_prefix *p,
		      char *err, size_t errlen)
{
	(void)ctx;
	return add ? netlink_route_add(ifindex, p, err, errlen)
		   : netlink_route_del(ifindex, p, err, errlen);
}

static int real_link_set(void *ctx, int ifindex, int mtu, bool up, char *err, size_t errlen)
{
	(void)ctx;
	return netlink_link_set(ifindex, mtu, up, err, errlen);
}

static int real_nat_setup(void *ctx, struct nat *nat, const char *ifname, const char *subnet4,
			  const char *subnet6, char *err, size_t errlen)
{
	(void)ctx;
	return nat_setup(nat, ifname, subnet4, subnet6, err, errlen);
}

static void real_nat_teardown(void *ctx, struct nat *nat)
{
	(void)ctx;
	nat_teardown(nat);
}

/* The socket's directory: created with dir_mode if missing and then given
 * to uid:gid (through an fd, so a swapped path cannot redirect the chown);
 * an existing one is the operator's and keeps its owner and mode. */
static int make_socket_dir(const struct priv_unix_socket *s, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	int dfd, ret = 0;

	snprintf(dir, sizeof(dir), "%s", s->path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, s->dir_mode) < 0) {
		if (errno == EEXIST)
			return 0;
		ret = -errno;
		errbuf_set(err, errlen, "%s %s: cannot create directory %s: %s", s->what, s->path,
			   dir, strerror(errno));
		return ret;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fchmod(dfd, s->dir_mode) < 0 ||
	    (s->uid != (uid_t)-1 && fchown(dfd, s->uid, s->gid) < 0)) {
		ret = -errno;
		errbuf_set(err, errlen, "%s %s: cannot set up directory %s: %s", s->what, s->path,
			   dir, strerror(errno));
	}
	if (dfd >= 0)
		close(dfd);
	return ret;
}

static int real_bind_unix(void *ctx, struct priv_unix_socket *s, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	int fd = -1, pfd = -1, ret;

	(void)ctx;
	if (strlen(s->path) >= sizeof(sun.sun_path) || s->path[0] != '/') {
		errbuf_set(err, errlen, "%s path \"%s\" is not an absolute path shorter than %zu "
			   "bytes", s->what, s->path, sizeof(sun.sun_path));
		return -EINVAL;
	}
	strcpy(sun.sun_path, s->path);
	if ((ret = make_socket_dir(s, err, errlen)) < 0)
		return ret;
	/* A live socket belongs to a running server: never take it over.  A
	 * full backlog (EAGAIN) is alive too. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto err_sys;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN) {
		errbuf_set(err, errlen, "%s %s: another server is already listening there (stop "
			   "it, or pick another path)", s->what, s->path);
		ret = -EADDRINUSE;
		goto out;
	}
	close(fd);
	fd = -1;
	if (lstat(s->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errbuf_set(err, errlen, "%s %s: a file that is not a socket is in the way "
				   "(remove it, or pick another path)", s->what, s->path);
			ret = -EEXIST;
			goto out;
		}
		if (unlink(s->path) < 0 && errno != ENOENT)
			goto err_sys;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err_sys;
	/* Created with its final mode: no window with wider access. */
	old_umask = umask(0777 & ~s->sock_mode);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (ret < 0)
		goto err_sys;
	/* The chown goes through an O_PATH fd checked to be a socket: in a
	 * directory the server's user owns, the path may have been swapped
	 * for a link to something else since the bind. */
	pfd = open(s->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &st) < 0)
		goto err_sys_unlink;
	if (!S_ISSOCK(st.st_mode)) {
		errbuf_set(err, errlen, "%s %s: replaced by something else while being created",
			   s->what, s->path);
		ret = -EEXIST;
		goto out;
	}
	if (s->uid != (uid_t)-1 && (fchownat(pfd, "", s->uid, s->gid, AT_EMPTY_PATH) < 0 ||
				     fstat(pfd, &st) < 0))
		goto err_sys_unlink;
	if (listen(fd, s->backlog > 0 ? s->backlog : 16) < 0)
		goto err_sys_unlink;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->ctime = st.st_ctim;
	close(pfd);
	return fd;
err_sys_unlink:
	ret = -errno;
	errbuf_set(err, errlen, "%s %s: %s", s->what, s->path, strerror(errno));
	unlink(s->path);
	goto out;
err_sys:
	ret = -errno;
	errbuf_set(err, errlen, "%s %s: %s", s->what, s->path, strerror(errno));
out:
	if (pfd >= 0)
		close(pfd);
	if (fd >= 0)
		close(fd);
	return ret;
}

static int real_dns_open(void *ctx, const struct netlink_prefix *addr, uint16_t port, char *err,
			 size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char text[64];
	int fd, one = 1, ret;

	(void)ctx;
	memset(&ss, 0, sizeof(ss));
	if (addr->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr->addr, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr->addr, 16);
		sl = sizeof(*sin6);
	}
	fd = socket(addr->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto err;
	/* Bound before the address is up (or while it is re-added). */
	if (addr->family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
		    (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one)) < 0 &&
		     setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0))
			goto err;
	} else if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0) {
		goto err;
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		goto err;
	return fd;
err:
	ret = -errno;
	netlink_prefix_format(addr, text, sizeof(text));
	errbuf_set(err, errlen, "DNS socket on %s port %u: %s", text, port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ret;
}

const struct priv_ops priv_ops_default = {
	.tun_open = real_tun_open,
	.addr = real_addr,
	.route = real_route,
	.link_set = real_link_set,
	.nat_setup = real_nat_setup,
	.nat_teardown = real_nat_teardown,
	.bind_unix = real_bind_unix,
	.dns_open = real_dns_open,
};

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
	/* What ADDR_ADD added: DNS_OPEN binds only to these. */
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

static int op_dns_open(struct session *s, const struct priv_request *req,
		       struct priv_reply *rep)
{
	struct netlink_prefix p;
	char text[64];

	priv_prefix_decode(&p, &req->prefix);
	if (!find_addr(s, &p)) {
		netlink_prefix_format(&p, text, sizeof(text));
		errbuf_set(rep->msg, sizeof(rep->msg), "DNS_OPEN: %s is not an address the "
			   "privileged part added to %s (ADDR_ADD it first)", text, s->ifname);
		return -EPERM;
	}
	return s->ops->dns_open(s->ops->ctx, &p, req->port, rep->msg, sizeof(rep->msg));
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
			.sock_mode = 0600, .uid = (uid_t)-1, .gid = (gid_t)-1, .backlog = 64,
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
			.sock_mode = 0660, .uid = cfg->uid, .gid = cfg->gid, .backlog = 16,
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
		/* Ours is a copy: the interface, socket or DNS socket lives on
		 * in the server (or goes, if the server is gone). */
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

int priv_dns_open(struct priv_client *c, const struct netlink_prefix *addr, uint16_t port,
		  int *fd, char *err, size_t errlen)
{
	struct priv_request req = { .op = PRIV_OP_DNS_OPEN, .port = port };
	struct priv_reply rep;
	int ret = prefix_request(&req, addr, "DNS address", err, errlen);

	*fd = -1;
	return ret < 0 ? ret : call(c, &req, fd, &rep, err, errlen);
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
