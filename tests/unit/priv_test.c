/*
 * priv_test.c - the privileged part of `zerowg up` (src/server/priv.c):
 *   - the codec: every op round-trips; every malformed field is refused;
 *   - priv_serve with fake ops in a thread, driven through the real client:
 *     which calls each request turns into, with which ifindex, that fds
 *     arrive and are the fakes' own, that nothing is called before
 *     TUN_OPEN or for a malformed request, and the cleanup on EOF;
 *   - WEB_OPEN (the web's listener in the tunnel's namespace): only on an
 *     address ADDR_ADD added, only a host address and an unprivileged
 *     port, the real listener (TCP, listening, non-blocking, IPv6 only)
 *     answering a connection;
 *   - the real unix-socket binding in a temporary directory (modes,
 *     owners, a live socket never taken over, a stale one replaced, only
 *     our own inode removed);
 *   - a client facing a lying privileged part (raw replies);
 *   - priv_fork for real: fds, ignored signals, exit on close, -EPIPE with
 *     the message after a kill; rootless mode in its own user and network
 *     namespace (a TUN, the DNS socket and the web listener there, never
 *     in ours; a connection made inside reaches the handed-over
 *     listener), and the message when user
 *     namespaces are refused (seccomp makes unshare fail).
 * Root is needed for the owner checks and the TUN in a namespace; without
 * it those parts say so on stderr and check what they can.
 */
#include "test.h"
#include "priv.h"
#include "errbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TUNGETDEVNETNS
#define TUNGETDEVNETNS _IO('T', 227)
#endif

/* ------------------------------------------------------------ helpers -- */

static struct netlink_prefix pfx(const char *text)
{
	struct netlink_prefix p;

	if (!netlink_prefix_parse(&p, text))
		abort();
	return p;
}

static bool contains(const char *s, const char *needle)
{
	return strstr(s, needle) != NULL;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

static bool same_file(int a, const struct stat *st)
{
	struct stat sa;

	return fstat(a, &sa) == 0 && sa.st_dev == st->st_dev && sa.st_ino == st->st_ino;
}

static void client_on(struct priv_client *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->pid = -1;
	pthread_mutex_init(&c->lock, NULL);
}

/* ------------------------------------------------------------ fake ops -- */

enum { F_TUN, F_ADDR, F_ROUTE, F_LINK, F_NAT, F_NAT_DOWN, F_BIND, F_DNS, F_WEB, F__N };

struct fake {
	int calls[F__N];
	int ifindex_seen;
	bool add_seen, up_seen;
	int mtu_seen;
	struct netlink_prefix p_seen;
	int adopt_seen;
	char nat_if[IF_NAMESIZE], nat4[64], nat6[64];
	char bind_path[108];
	mode_t bind_dir_mode, bind_sock_mode;
	uid_t bind_uid;
	gid_t bind_gid;
	uint16_t port_seen;
	int tun_fail;			/* -errno for tun_open, 0 = succeed */
	const char *adopted_name;	/* what an adopted TUN is called */
	bool real_bind;			/* bind_unix: the real one */
	struct stat handed;		/* the last fd handed out */
};

/* A pipe's read end: an fd whose identity fstat shows. */
static int fake_fd(struct fake *f)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	close(p[1]);
	fstat(p[0], &f->handed);
	return p[0];
}

static int fk_tun_open(void *ctx, char ifname[IF_NAMESIZE], int adopt_fd, int *ifindex,
		       struct tun_offloads *off, char *err, size_t errlen)
{
	struct fake *f = ctx;

	f->calls[F_TUN]++;
	f->adopt_seen = adopt_fd;
	if (f->tun_fail)
		return f->tun_fail;
	*ifindex = 42;
	off->vnet = off->tso = true;
	off->uso = false;
	if (adopt_fd >= 0) {
		snprintf(ifname, IF_NAMESIZE, "%s", f->adopted_name);
		fstat(adopt_fd, &f->handed);
		return adopt_fd;
	}
	return fake_fd(f);
}

static int fk_addr(void *ctx, bool add, int ifindex, const struct netlink_prefix *p, char *err,
		   size_t errlen)
{
	struct fake *f = ctx;

	f->calls[F_ADDR]++;
	f->add_seen = add;
	f->ifindex_seen = ifindex;
	f->p_seen = *p;
	return 0;
}

static int fk_route(void *ctx, bool add, int ifindex, const struct netlink_prefix *p, char *err,
		    size_t errlen)
{
	struct fake *f = ctx;

	f->calls[F_ROUTE]++;
	f->add_seen = add;
	f->ifindex_seen = ifindex;
	f->p_seen = *p;
	if (p->len == 7) {
		errbuf_set(err, errlen, "kernel says: Invalid prefix for given prefix length");
		return -EINVAL;
	}
	return 0;
}

static int fk_link_set(void *ctx, int ifindex, int mtu, bool up, char *err, size_t errlen)
{
	struct fake *f = ctx;

	f->calls[F_LINK]++;
	f->ifindex_seen = ifindex;
	f->mtu_seen = mtu;
	f->up_seen = up;
	return 0;
}

static int fk_nat_setup(void *ctx, struct nat *nat, const char *ifname, const char *subnet4,
			const char *subnet6, char *err, size_t errlen)
{
	struct fake *f = ctx;

	f->calls[F_NAT]++;
	snprintf(f->nat_if, sizeof(f->nat_if), "%s", ifname);
	snprintf(f->nat4, sizeof(f->nat4), "%s", subnet4 ? subnet4 : "(null)");
	snprintf(f->nat6, sizeof(f->nat6), "%s", subnet6 ? subnet6 : "(null)");
	return 0;
}

static void fk_nat_teardown(void *ctx, struct nat *nat)
{
	struct fake *f = ctx;

	f->calls[F_NAT_DOWN]++;
}

static int fk_bind_unix(void *ctx, struct priv_unix_socket *s, char *err, size_t errlen)
{
	struct fake *f = ctx;

	f->calls[F_BIND]++;
	snprintf(f->bind_path, sizeof(f->bind_path), "%s", s->path);
	f->bind_dir_mode = s->dir_mode;
	f->bind_sock_mode = s->sock_mode;
	f->bind_uid = s->uid;
	f->bind_gid = s->gid;
	if (f->real_bind)
		return priv_ops_default.bind_unix(NULL, s, err, errlen);
	return fake_fd(f);
}

static int fk_dns_open(void *ctx, const struct netlink_prefix *addr, uint16_t port, char *err,
		       size_t errlen)
{
	struct fake *f = ctx;

	f->calls[F_DNS]++;
	f->p_seen = *addr;
	f->port_seen = port;
	return fake_fd(f);
}

static int fk_web_open(void *ctx, const struct netlink_prefix *addr, uint16_t port, char *err,
		       size_t errlen)
{
	struct fake *f = ctx;

	f->calls[F_WEB]++;
	f->p_seen = *addr;
	f->port_seen = port;
	return fake_fd(f);
}

static struct priv_ops fake_ops(struct fake *f)
{
	struct priv_ops ops = {
		.tun_open = fk_tun_open, .addr = fk_addr, .route = fk_route,
		.link_set = fk_link_set, .nat_setup = fk_nat_setup,
		.nat_teardown = fk_nat_teardown, .bind_unix = fk_bind_unix,
		.dns_open = fk_dns_open, .web_open = fk_web_open, .ctx = f,
	};
	return ops;
}

static int total_calls(const struct fake *f)
{
	int n = 0;

	for (int i = 0; i < F__N; i++)
		n += f->calls[i];
	return n;
}

/* A session: priv_serve in a thread on one end, the client on the other. */
struct served {
	struct priv_config cfg;
	struct priv_ops ops;
	struct fake fake;
	int sv[2];
	pthread_t thread;
	int ret;
	struct priv_client c;
	char uapi_path[128];
};

static void *serve_thread(void *arg)
{
	struct served *s = arg;

	s->ret = priv_serve(&s->cfg, &s->ops, s->sv[1]);
	return NULL;
}

static void serve_start(struct served *s, const char *dir)
{
	memset(s, 0, sizeof(*s));
	s->cfg.tun_fd = -1;
	if (dir) {
		snprintf(s->cfg.uapi_dir, sizeof(s->cfg.uapi_dir), "%s/wg", dir);
		snprintf(s->uapi_path, sizeof(s->uapi_path), "%s/wg/zwgfake0.sock", dir);
		snprintf(s->cfg.admin_path, sizeof(s->cfg.admin_path), "%s/adm/admin.sock", dir);
	}
	s->cfg.uid = 1234;
	s->cfg.gid = 5678;
	s->ops = fake_ops(&s->fake);
	s->ret = 12345;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s->sv) < 0)
		abort();
	client_on(&s->c, s->sv[0]);
}

static void serve_run(struct served *s)
{
	if (pthread_create(&s->thread, NULL, serve_thread, s) != 0)
		abort();
}

/* Closes the client end (EOF) and waits for priv_serve to return. */
static int serve_stop(struct served *s)
{
	close(s->sv[0]);
	pthread_join(s->thread, NULL);
	close(s->sv[1]);
	return s->ret;
}

/* -------------------------------------------------------------- codec -- */

static struct priv_request valid_request(enum priv_op op)
{
	struct priv_request r = { .op = op };
	struct netlink_prefix p4 = pfx("10.13.13.1/24"), p6 = pfx("fd00::1/64");

	switch (op) {
	case PRIV_OP_ADDR_ADD: case PRIV_OP_ADDR_DEL:
	case PRIV_OP_ROUTE_ADD: case PRIV_OP_ROUTE_DEL:
		priv_prefix_encode(&r.prefix, &p6);
		break;
	case PRIV_OP_DNS_OPEN:
		priv_prefix_encode(&r.prefix, &p4);
		r.port = 53;
		break;
	case PRIV_OP_WEB_OPEN:
		p4.len = 32;
		priv_prefix_encode(&r.prefix, &p4);
		r.port = 51821;
		break;
	case PRIV_OP_LINK_SET:
		r.mtu = 1420;
		r.up = 1;
		break;
	case PRIV_OP_NAT_SETUP:
		priv_prefix_encode(&r.prefix, &p4);
		priv_prefix_encode(&r.prefix6, &p6);
		break;
	case PRIV_OP_TUN_OPEN:
		strncpy(r.ifname, "zwg0", sizeof(r.ifname));
		break;
	case PRIV_OP_FW_SOURCE:
		priv_prefix_encode(&r.prefix, &p6);
		r.prefix.addr[15] = 0;	/* a network: fd00::/64 */
		break;
	case PRIV_OP_FW_ALLOW:
		p4.addr[3] = 0;		/* 10.13.13.0/24 */
		priv_prefix_encode(&r.prefix, &p4);
		r.port = 1000;
		r.port_hi = 2000;
		r.proto = IPPROTO_TCP;
		break;
	default:
		break;
	}
	return r;
}

static void test_codec_roundtrip(void)
{
	for (uint32_t op = 1; op < PRIV_OP__COUNT; op++) {
		struct priv_request r = valid_request(op), back;
		uint8_t buf[PRIV_REQUEST_SIZE], again[PRIV_REQUEST_SIZE];
		char err[256] = "";

		priv_request_encode(&r, buf);
		CHECK_INT(priv_request_parse(buf, sizeof(buf), &back, err, sizeof(err)), 0);
		CHECK_MEM(&back, &r, sizeof(r));
		priv_request_encode(&back, again);
		CHECK_MEM(buf, again, sizeof(buf));
		CHECK(strcmp(priv_op_name(op), "?") != 0);
	}
	CHECK(priv_op_passes_fd(PRIV_OP_TUN_OPEN) && priv_op_passes_fd(PRIV_OP_DNS_OPEN) &&
	      priv_op_passes_fd(PRIV_OP_UAPI_OPEN) && priv_op_passes_fd(PRIV_OP_ADMIN_OPEN) &&
	      priv_op_passes_fd(PRIV_OP_WEB_OPEN));
	CHECK(strcmp(priv_op_name(PRIV_OP_WEB_OPEN), "WEB_OPEN") == 0);
	/* WEB_OPEN: IPv6 too, and the ends of its port range */
	{
		struct priv_request r = valid_request(PRIV_OP_WEB_OPEN);
		struct netlink_prefix a6 = pfx("fd00::1");
		char err[256];

		r.port = PRIV_WEB_PORT_MIN;
		CHECK_INT(priv_request_check(&r, err, sizeof(err)), 0);
		r.port = 65535;
		CHECK_INT(priv_request_check(&r, err, sizeof(err)), 0);
		priv_prefix_encode(&r.prefix, &a6);
		CHECK_INT(priv_request_check(&r, err, sizeof(err)), 0);
	}
	CHECK(!priv_op_passes_fd(PRIV_OP_ADDR_ADD) && !priv_op_passes_fd(0) &&
	      !priv_op_passes_fd(PRIV_OP__COUNT));
	/* NAT with one family only */
	{
		struct priv_request r = valid_request(PRIV_OP_NAT_SETUP);
		char err[256];

		memset(&r.prefix6, 0, sizeof(r.prefix6));
		CHECK_INT(priv_request_check(&r, err, sizeof(err)), 0);
		r = valid_request(PRIV_OP_NAT_SETUP);
		memset(&r.prefix, 0, sizeof(r.prefix));
		CHECK_INT(priv_request_check(&r, err, sizeof(err)), 0);
	}
}

/* Expects a refusal, with a message and a zeroed result. */
static void expect_bad(const struct priv_request *r, const char *what, int line)
{
	uint8_t buf[PRIV_REQUEST_SIZE];
	struct priv_request out, zero;
	char err[256] = "";

	memset(&zero, 0, sizeof(zero));
	priv_request_encode(r, buf);
	if (priv_request_parse(buf, sizeof(buf), &out, err, sizeof(err)) >= 0 || !err[0] ||
	    memcmp(&out, &zero, sizeof(out)) != 0) {
		test_failed_checks++;
		fprintf(stderr, "  line %d: a request with %s was not refused properly (%s)\n",
			line, what, err);
	}
}
#define BAD(r, what) expect_bad(&(r), what, __LINE__)

static void test_codec_refuses(void)
{
	struct priv_request r;
	uint8_t buf[PRIV_REQUEST_SIZE + 8] = { 0 };
	struct priv_request out;
	char err[256];
	size_t sizes[] = { 0, 1, 4, PRIV_REQUEST_SIZE - 1, PRIV_REQUEST_SIZE + 1,
			   PRIV_REQUEST_SIZE + 8 };

	r = valid_request(PRIV_OP_TUN_OPEN);
	priv_request_encode(&r, buf);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		err[0] = '\0';
		CHECK_INT(priv_request_parse(buf, sizes[i], &out, err, sizeof(err)), -EMSGSIZE);
		CHECK(contains(err, "bytes"));
	}
	r = valid_request(PRIV_OP_TUN_OPEN); r.op = 0; BAD(r, "op 0");
	r.op = PRIV_OP__COUNT; BAD(r, "op past the end");
	r.op = 0xffffffffu; BAD(r, "op ~0");
	r = valid_request(PRIV_OP_TUN_OPEN); r.reserved0 = 1; BAD(r, "reserved0");
	r = valid_request(PRIV_OP_LINK_SET); r.reserved1 = 0x80; BAD(r, "reserved1");
	r = valid_request(PRIV_OP_ADDR_ADD); r.prefix.reserved[1] = 1; BAD(r, "prefix reserved");
	r = valid_request(PRIV_OP_ADDR_ADD); r.prefix.family = 3; BAD(r, "family 3");
	r.prefix.family = 0; BAD(r, "no prefix");
	r = valid_request(PRIV_OP_ADDR_ADD); r.prefix.len = 129; BAD(r, "v6 /129");
	r = valid_request(PRIV_OP_DNS_OPEN); r.prefix.len = 33; BAD(r, "v4 /33");
	r = valid_request(PRIV_OP_DNS_OPEN); r.prefix.addr[4] = 1; BAD(r, "v4 with bytes past 4");
	r = valid_request(PRIV_OP_DNS_OPEN); r.port = 0; BAD(r, "port 0");
	r = valid_request(PRIV_OP_DNS_OPEN); r.prefix6.len = 1; BAD(r, "a second prefix");
	r = valid_request(PRIV_OP_DNS_OPEN); r.mtu = 1400; BAD(r, "an MTU on DNS_OPEN");
	r = valid_request(PRIV_OP_TUN_OPEN); r.prefix.family = AF_INET; BAD(r, "a prefix on TUN_OPEN");
	r = valid_request(PRIV_OP_TUN_OPEN); r.port = 53; BAD(r, "a port on TUN_OPEN");
	r = valid_request(PRIV_OP_TUN_OPEN); r.up = 1; BAD(r, "up on TUN_OPEN");
	r = valid_request(PRIV_OP_TUN_OPEN); memset(r.ifname, 'a', sizeof(r.ifname));
	BAD(r, "an interface name without NUL");
	r = valid_request(PRIV_OP_TUN_OPEN); r.ifname[10] = 'x'; BAD(r, "bytes after the NUL");
	r = valid_request(PRIV_OP_TUN_OPEN); memset(r.ifname, 0, sizeof(r.ifname));
	BAD(r, "an empty interface name");
	r = valid_request(PRIV_OP_TUN_OPEN); r.ifname[1] = '/'; BAD(r, "a '/' in the name");
	r = valid_request(PRIV_OP_TUN_OPEN); r.ifname[1] = ':'; BAD(r, "a ':' in the name");
	r = valid_request(PRIV_OP_TUN_OPEN); r.ifname[1] = ' '; BAD(r, "a space in the name");
	r = valid_request(PRIV_OP_TUN_OPEN); r.ifname[1] = '\n'; BAD(r, "a newline in the name");
	r = valid_request(PRIV_OP_TUN_OPEN); r.ifname[1] = (char)0xc3; BAD(r, "a non-ASCII name");
	r = valid_request(PRIV_OP_TUN_OPEN); memset(r.ifname, 0, sizeof(r.ifname));
	strcpy(r.ifname, ".."); BAD(r, "the name ..");
	r = valid_request(PRIV_OP_ADDR_ADD); r.ifname[0] = 'x'; BAD(r, "a name on ADDR_ADD");
	/* Not unicast: the kernel "adds" 0.0.0.0/32 without adding it, and
	 * the helper would then bind the wildcard for DNS_OPEN/WEB_OPEN. */
	{
		static const char *const not_unicast[] = {
			"0.0.0.0/32", "0.1.2.3/32", "127.0.0.1/32", "224.0.0.1/32",
			"255.255.255.255/32", "::/128", "::1/128", "ff02::1/128",
			"::ffff:10.0.0.1/128",
		};
		static const enum priv_op ops[] = { PRIV_OP_ADDR_ADD, PRIV_OP_DNS_OPEN,
						    PRIV_OP_WEB_OPEN };

		for (size_t i = 0; i < sizeof(not_unicast) / sizeof(not_unicast[0]); i++)
			for (size_t j = 0; j < sizeof(ops) / sizeof(ops[0]); j++) {
				struct netlink_prefix np = pfx(not_unicast[i]);

				r = valid_request(ops[j]);
				priv_prefix_encode(&r.prefix, &np);
				BAD(r, not_unicast[i]);
				err[0] = '\0';
				CHECK_INT(priv_request_check(&r, err, sizeof(err)), -EINVAL);
				CHECK(contains(err, "not a unicast tunnel address"));
			}
	}
	r = valid_request(PRIV_OP_LINK_SET); r.mtu = 67; BAD(r, "MTU 67");
	r.mtu = 65536; BAD(r, "MTU 65536");
	r.mtu = -1; BAD(r, "MTU -1");
	r = valid_request(PRIV_OP_LINK_SET); r.up = 2; BAD(r, "up 2");
	r = valid_request(PRIV_OP_LINK_SET); r.port = 1; BAD(r, "a port on LINK_SET");
	r = valid_request(PRIV_OP_NAT_SETUP); memset(&r.prefix, 0, sizeof(r.prefix));
	memset(&r.prefix6, 0, sizeof(r.prefix6)); BAD(r, "NAT without subnets");
	r = valid_request(PRIV_OP_NAT_SETUP); r.prefix = r.prefix6; BAD(r, "v6 in the v4 slot");
	r = valid_request(PRIV_OP_NAT_SETUP); r.prefix6.len = 200; BAD(r, "NAT v6 /200");
	r = valid_request(PRIV_OP_NAT_TEARDOWN); r.prefix6.addr[15] = 1; BAD(r, "stray prefix6");
	/* a family-0 prefix with bytes set is not "none" */
	r = valid_request(PRIV_OP_NAT_SETUP); memset(&r.prefix, 0, sizeof(r.prefix));
	r.prefix.addr[0] = 10; BAD(r, "family 0 with an address");
	/* WEB_OPEN: an address and an unprivileged port, nothing else */
	r = valid_request(PRIV_OP_WEB_OPEN); r.port = 0; BAD(r, "WEB_OPEN port 0");
	r = valid_request(PRIV_OP_WEB_OPEN); r.port = PRIV_WEB_PORT_MIN - 1;
	BAD(r, "WEB_OPEN port 1023");
	r = valid_request(PRIV_OP_WEB_OPEN); r.port = 80; BAD(r, "WEB_OPEN port 80");
	r = valid_request(PRIV_OP_WEB_OPEN); r.prefix.len = 24; BAD(r, "WEB_OPEN on a /24");
	r = valid_request(PRIV_OP_WEB_OPEN); r.prefix.len = 0; BAD(r, "WEB_OPEN on a /0");
	r = valid_request(PRIV_OP_WEB_OPEN); r.prefix.len = 128; BAD(r, "WEB_OPEN v4 /128");
	{
		struct netlink_prefix a6 = pfx("fd00::1/64");

		r = valid_request(PRIV_OP_WEB_OPEN);
		priv_prefix_encode(&r.prefix, &a6);
		BAD(r, "WEB_OPEN on a v6 /64");
	}
	r = valid_request(PRIV_OP_WEB_OPEN); memset(&r.prefix, 0, sizeof(r.prefix));
	BAD(r, "WEB_OPEN without an address");
	r = valid_request(PRIV_OP_WEB_OPEN); r.prefix.family = AF_UNIX; BAD(r, "WEB_OPEN AF_UNIX");
	r = valid_request(PRIV_OP_WEB_OPEN); r.prefix.addr[4] = 1;
	BAD(r, "WEB_OPEN v4 with bytes past 4");
	r = valid_request(PRIV_OP_WEB_OPEN); r.prefix6 = r.prefix; BAD(r, "WEB_OPEN prefix6");
	r = valid_request(PRIV_OP_WEB_OPEN); r.port_hi = 51822; BAD(r, "WEB_OPEN a port range");
	r = valid_request(PRIV_OP_WEB_OPEN); r.proto = IPPROTO_TCP; BAD(r, "WEB_OPEN a protocol");
	r = valid_request(PRIV_OP_WEB_OPEN); r.mtu = 1420; BAD(r, "WEB_OPEN an MTU");
	r = valid_request(PRIV_OP_WEB_OPEN); r.up = 1; BAD(r, "WEB_OPEN up");
	r = valid_request(PRIV_OP_WEB_OPEN); r.ifname[0] = 'e'; BAD(r, "WEB_OPEN a name");
	r = valid_request(PRIV_OP_WEB_OPEN); r.reserved2 = 1; BAD(r, "WEB_OPEN reserved2");
	/* the op after the last is still unknown */
	r = valid_request(PRIV_OP_WEB_OPEN); r.op = PRIV_OP_WEB_OPEN + 1; BAD(r, "op past WEB_OPEN");
}

static void test_reply_parse(void)
{
	struct priv_reply r, out;
	uint8_t buf[PRIV_REPLY_SIZE];
	char err[256];

	memset(&r, 0, sizeof(r));
	r.op = PRIV_OP_TUN_OPEN;
	r.ifindex = 7;
	r.offloads = PRIV_OFFLOAD_VNET | PRIV_OFFLOAD_USO;
	priv_reply_encode(&r, buf);
	CHECK_INT(priv_reply_parse(buf, sizeof(buf), &out, err, sizeof(err)), 0);
	CHECK_MEM(&out, &r, sizeof(r));
	CHECK_INT(priv_reply_parse(buf, sizeof(buf) - 1, &out, err, sizeof(err)), -EMSGSIZE);

#define BAD_REPLY(mod) do { \
		struct priv_reply b_ = r; \
		err[0] = '\0'; \
		mod; \
		priv_reply_encode(&b_, buf); \
		CHECK_INT(priv_reply_parse(buf, sizeof(buf), &out, err, sizeof(err)), -EINVAL); \
		CHECK(err[0] != '\0'); \
		CHECK_INT(out.op | out.ifindex | (uint32_t)out.error, 0); \
	} while (0)
	BAD_REPLY(memset(b_.msg, 'A', sizeof(b_.msg)));
	BAD_REPLY(b_.error = 1);
	BAD_REPLY(b_.error = -4096);
	BAD_REPLY(b_.error = INT32_MIN);
	BAD_REPLY(b_.ifindex = 0x80000000u);
	BAD_REPLY(b_.offloads = 0x8);
	BAD_REPLY(b_.offloads = PRIV_OFFLOAD_TSO);
	BAD_REPLY(b_.op = 0);
	BAD_REPLY(b_.op = PRIV_OP__COUNT);
	/* op 0 is the refusal of an unreadable request: only as an error */
	r.op = 0;
	r.error = -EINVAL;
	snprintf(r.msg, sizeof(r.msg), "a request of 3 bytes");
	priv_reply_encode(&r, buf);
	CHECK_INT(priv_reply_parse(buf, sizeof(buf), &out, err, sizeof(err)), 0);
	/* the last byte NUL, the rest text: accepted */
	memset(r.msg, 'x', sizeof(r.msg) - 1);
	r.msg[sizeof(r.msg) - 1] = '\0';
	priv_reply_encode(&r, buf);
	CHECK_INT(priv_reply_parse(buf, sizeof(buf), &out, err, sizeof(err)), 0);
}

/* ------------------------------------------------------ serve (fakes) -- */

static void test_serve_every_op(void)
{
	char ifn[IF_NAMESIZE] = "zwgfake0";
	struct served s;
	struct tun_offloads off;
	struct netlink_prefix a4 = pfx("10.13.13.1/24"), a6 = pfx("fd00::1/64");
	struct netlink_prefix r4 = pfx("192.168.7.0/24");
	char err[512];
	int fd = -1, ifindex = 0, fds_before = count_fds();

	serve_start(&s, "/nonexistent/fake");
	serve_run(&s);

	CHECK_INT(priv_tun_open(&s.c, ifn, &fd, &ifindex, &off, err, sizeof(err)), 0);
	CHECK_INT(ifindex, 42);
	CHECK(off.vnet && off.tso && !off.uso);
	CHECK(fd >= 0 && same_file(fd, &s.fake.handed));
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK_INT(s.fake.adopt_seen, -1);
	close(fd);

	CHECK_INT(priv_addr(&s.c, true, &a4, err, sizeof(err)), 0);
	CHECK(s.fake.add_seen && s.fake.ifindex_seen == 42);
	CHECK(s.fake.p_seen.family == AF_INET && s.fake.p_seen.len == 24);
	CHECK_MEM(s.fake.p_seen.addr, a4.addr, 4);
	CHECK_INT(priv_addr(&s.c, true, &a6, err, sizeof(err)), 0);
	CHECK_MEM(s.fake.p_seen.addr, a6.addr, 16);
	s.fake.ifindex_seen = 0;
	CHECK_INT(priv_route(&s.c, true, &r4, err, sizeof(err)), 0);
	CHECK(s.fake.add_seen && s.fake.ifindex_seen == 42 && s.fake.p_seen.len == 24);
	CHECK_INT(priv_route(&s.c, false, &r4, err, sizeof(err)), 0);
	CHECK(!s.fake.add_seen);
	CHECK_INT(s.fake.calls[F_ROUTE], 2);
	/* the op's own message comes through */
	r4.len = 7;
	CHECK_INT(priv_route(&s.c, true, &r4, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "Invalid prefix for given prefix length"));
	s.fake.ifindex_seen = 0;
	CHECK_INT(priv_link_set(&s.c, 1380, true, err, sizeof(err)), 0);
	CHECK(s.fake.ifindex_seen == 42 && s.fake.mtu_seen == 1380 && s.fake.up_seen);
	CHECK_INT(priv_link_set(&s.c, 0, false, err, sizeof(err)), 0);
	CHECK(s.fake.mtu_seen == 0 && !s.fake.up_seen);

	CHECK_INT(priv_nat_setup(&s.c, "10.13.13.1/24", "fd00::1/64", err, sizeof(err)), 0);
	CHECK(strcmp(s.fake.nat_if, "zwgfake0") == 0);
	CHECK(strcmp(s.fake.nat4, "10.13.13.1/24") == 0);
	CHECK(strcmp(s.fake.nat6, "fd00::1/64") == 0);
	CHECK_INT(s.fake.calls[F_NAT_DOWN], 1);	/* the previous one first */
	CHECK_INT(priv_nat_setup(&s.c, NULL, "fd00::1/64", err, sizeof(err)), 0);
	CHECK(strcmp(s.fake.nat4, "(null)") == 0);
	CHECK_INT(priv_nat_setup(&s.c, "fd00::1/64", NULL, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "\"fd00::1/64\" is not an IPv4 subnet"));
	CHECK_INT(priv_nat_setup(&s.c, "", NULL, err, sizeof(err)), -EINVAL);
	CHECK_INT(s.fake.calls[F_NAT], 2);
	CHECK_INT(priv_nat_teardown(&s.c, err, sizeof(err)), 0);
	CHECK_INT(s.fake.calls[F_NAT_DOWN], 3);

	CHECK_INT(priv_dns_open(&s.c, &a4, 53, &fd, err, sizeof(err)), 0);
	CHECK(fd >= 0 && same_file(fd, &s.fake.handed));
	CHECK_INT(s.fake.port_seen, 53);
	close(fd);
	CHECK_INT(priv_dns_open(&s.c, &a6, 5353, &fd, err, sizeof(err)), 0);
	close(fd);
	CHECK_INT(priv_web_open(&s.c, &a4, 51821, &fd, err, sizeof(err)), 0);
	CHECK(fd >= 0 && same_file(fd, &s.fake.handed));
	CHECK_INT(s.fake.port_seen, 51821);
	CHECK_INT(s.fake.calls[F_WEB], 1);
	close(fd);

	CHECK_INT(priv_uapi_open(&s.c, &fd, err, sizeof(err)), 0);
	CHECK(fd >= 0 && same_file(fd, &s.fake.handed));
	close(fd);
	CHECK(strcmp(s.fake.bind_path, "/nonexistent/fake/wg/zwgfake0.sock") == 0);
	CHECK(s.fake.bind_dir_mode == 0755 && s.fake.bind_sock_mode == 0600);
	CHECK(s.fake.bind_uid == (uid_t)-1);
	CHECK_INT(priv_admin_open(&s.c, &fd, err, sizeof(err)), 0);
	close(fd);
	CHECK(strcmp(s.fake.bind_path, "/nonexistent/fake/adm/admin.sock") == 0);
	CHECK(s.fake.bind_dir_mode == 0750 && s.fake.bind_sock_mode == 0660);
	CHECK(s.fake.bind_uid == 1234 && s.fake.bind_gid == 5678);
	/* once each */
	CHECK_INT(priv_uapi_open(&s.c, &fd, err, sizeof(err)), -EALREADY);
	CHECK_INT(priv_admin_open(&s.c, &fd, err, sizeof(err)), -EALREADY);
	CHECK_INT(fd, -1);
	CHECK_INT(s.fake.calls[F_BIND], 2);

	/* EOF: NAT torn down, priv_serve returns 0 */
	CHECK_INT(serve_stop(&s), 0);
	CHECK_INT(s.fake.calls[F_NAT_DOWN], 4);
	CHECK_INT(count_fds(), fds_before);
}

static void test_serve_needs_tun(void)
{
	char ifn[IF_NAMESIZE] = "zwgfake0";
	struct served s;
	struct netlink_prefix a4 = pfx("10.13.13.1/24");
	struct tun_offloads off;
	char err[512];
	int fd = -1, ifindex;

	serve_start(&s, NULL);
	serve_run(&s);
	CHECK_INT(priv_addr(&s.c, true, &a4, err, sizeof(err)), -EBADF);
	CHECK(contains(err, "before TUN_OPEN"));
	CHECK_INT(priv_addr(&s.c, false, &a4, err, sizeof(err)), -EBADF);
	CHECK_INT(priv_route(&s.c, true, &a4, err, sizeof(err)), -EBADF);
	CHECK_INT(priv_link_set(&s.c, 1420, true, err, sizeof(err)), -EBADF);
	CHECK_INT(priv_nat_setup(&s.c, "10.13.13.1/24", NULL, err, sizeof(err)), -EBADF);
	CHECK_INT(priv_dns_open(&s.c, &a4, 53, &fd, err, sizeof(err)), -EBADF);
	CHECK_INT(fd, -1);
	CHECK_INT(priv_web_open(&s.c, &a4, 51821, &fd, err, sizeof(err)), -EBADF);
	CHECK(contains(err, "WEB_OPEN before TUN_OPEN"));
	CHECK_INT(fd, -1);
	/* no path configured */
	CHECK_INT(priv_uapi_open(&s.c, &fd, err, sizeof(err)), -ENOTSUP);
	CHECK_INT(priv_admin_open(&s.c, &fd, err, sizeof(err)), -ENOTSUP);
	CHECK(contains(err, "admin socket"));
	CHECK_INT(total_calls(&s.fake), 0);

	/* a failed TUN_OPEN explains itself and may be retried */
	s.fake.tun_fail = -ENOENT;
	CHECK_INT(priv_tun_open(&s.c, ifn, &fd, &ifindex, &off, err, sizeof(err)), -ENOENT);
	CHECK(contains(err, "/dev/net/tun is missing") && contains(err, "modprobe tun") &&
	      contains(err, "--device /dev/net/tun"));
	s.fake.tun_fail = -EACCES;
	CHECK_INT(priv_tun_open(&s.c, ifn, &fd, &ifindex, &off, err, sizeof(err)), -EACCES);
	CHECK(contains(err, "no permission to open /dev/net/tun"));
	s.fake.tun_fail = -EPERM;
	CHECK_INT(priv_tun_open(&s.c, ifn, &fd, &ifindex, &off, err, sizeof(err)), -EPERM);
	CHECK(contains(err, "CAP_NET_ADMIN") && contains(err, "zwgfake0"));
	s.fake.tun_fail = -EBUSY;
	CHECK_INT(priv_tun_open(&s.c, ifn, &fd, &ifindex, &off, err, sizeof(err)), -EBUSY);
	CHECK(contains(err, "in use"));
	s.fake.tun_fail = 0;
	CHECK_INT(priv_tun_open(&s.c, ifn, &fd, &ifindex, &off, err, sizeof(err)), 0);
	close(fd);
	/* only once */
	CHECK_INT(priv_tun_open(&s.c, ifn, &fd, &ifindex, &off, err, sizeof(err)), -EALREADY);
	CHECK_INT(fd, -1);
	CHECK_INT(s.fake.calls[F_TUN], 5);
	CHECK_INT(serve_stop(&s), 0);
}

static void test_serve_dns_policy(void)
{
	char ifn[IF_NAMESIZE] = "zwgfake0";
	struct served s;
	struct netlink_prefix a4 = pfx("10.13.13.1/24"), other = pfx("10.13.13.2/24");
	struct netlink_prefix a4_32 = pfx("10.13.13.1"), a6 = pfx("fd00::1/64");
	struct tun_offloads off;
	char err[512];
	int fd = -1, ifindex;

	serve_start(&s, NULL);
	serve_run(&s);
	CHECK_INT(priv_tun_open(&s.c, ifn, &fd, &ifindex, &off, err, sizeof(err)), 0);
	close(fd);
	CHECK_INT(priv_dns_open(&s.c, &a4, 53, &fd, err, sizeof(err)), -EPERM);
	CHECK(contains(err, "10.13.13.1/24") && contains(err, "ADDR_ADD"));
	CHECK_INT(priv_addr(&s.c, true, &a4, err, sizeof(err)), 0);
	CHECK_INT(priv_dns_open(&s.c, &other, 53, &fd, err, sizeof(err)), -EPERM);
	CHECK_INT(priv_dns_open(&s.c, &a6, 53, &fd, err, sizeof(err)), -EPERM);
	/* the address counts, not its prefix length */
	CHECK_INT(priv_dns_open(&s.c, &a4_32, 53, &fd, err, sizeof(err)), 0);
	close(fd);
	CHECK_INT(priv_addr(&s.c, false, &a4, err, sizeof(err)), 0);
	CHECK_INT(priv_dns_open(&s.c, &a4, 53, &fd, err, sizeof(err)), -EPERM);
	CHECK_INT(s.fake.calls[F_DNS], 1);
	/* the list is bounded: the 17th address is refused, nothing called */
	for (int i = 0; i < PRIV_MAX_ADDRS; i++) {
		struct netlink_prefix p = pfx("10.20.0.1/16");

		p.addr[3] = (uint8_t)(i + 1);
		CHECK_INT(priv_addr(&s.c, true, &p, err, sizeof(err)), 0);
		/* the same address again takes no new slot */
		CHECK_INT(priv_addr(&s.c, true, &p, err, sizeof(err)), 0);
	}
	{
		int before = s.fake.calls[F_ADDR];

		CHECK_INT(priv_addr(&s.c, true, &a6, err, sizeof(err)), -ENOSPC);
		CHECK_INT(s.fake.calls[F_ADDR], before);
	}
	CHECK_INT(serve_stop(&s), 0);
}

/* WEB_OPEN binds only where DNS_OPEN may: on the tunnel's own addresses. */
static void test_serve_web_policy(void)
{
	char ifn[IF_NAMESIZE] = "zwgfake0";
	struct served s;
	struct netlink_prefix a4 = pfx("10.13.13.1/24"), other = pfx("10.13.13.2");
	struct netlink_prefix a6 = pfx("fd00::1/64"), a6_other = pfx("fd00::2");
	struct netlink_prefix any4 = pfx("0.0.0.0"), lo = pfx("127.0.0.1");
	struct tun_offloads off;
	char err[512];
	int fd = -1, ifindex, fds_before = count_fds();

	serve_start(&s, NULL);
	serve_run(&s);
	CHECK_INT(priv_tun_open(&s.c, ifn, &fd, &ifindex, &off, err, sizeof(err)), 0);
	close(fd);
	fd = -1;
	/* nothing added yet */
	CHECK_INT(priv_web_open(&s.c, &a4, 51821, &fd, err, sizeof(err)), -EPERM);
	CHECK(contains(err, "WEB_OPEN: 10.13.13.1/32 is not an address") &&
	      contains(err, "zwgfake0") && contains(err, "ADDR_ADD"));
	CHECK_INT(fd, -1);
	CHECK_INT(priv_addr(&s.c, true, &a4, err, sizeof(err)), 0);
	CHECK_INT(priv_addr(&s.c, true, &a6, err, sizeof(err)), 0);
	/* not the wildcard, not loopback (refused as such before they are
	 * sent), not a neighbour in the subnet */
	CHECK_INT(priv_web_open(&s.c, &any4, 51821, &fd, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "not a unicast tunnel address"));
	CHECK_INT(priv_web_open(&s.c, &lo, 51821, &fd, err, sizeof(err)), -EINVAL);
	CHECK_INT(priv_web_open(&s.c, &other, 51821, &fd, err, sizeof(err)), -EPERM);
	CHECK_INT(priv_web_open(&s.c, &a6_other, 51821, &fd, err, sizeof(err)), -EPERM);
	CHECK_INT(fd, -1);
	CHECK_INT(s.fake.calls[F_WEB], 0);
	/* the address counts: it is asked for as a host address */
	CHECK_INT(priv_web_open(&s.c, &a4, 51821, &fd, err, sizeof(err)), 0);
	CHECK(fd >= 0 && same_file(fd, &s.fake.handed));
	CHECK(s.fake.p_seen.family == AF_INET && s.fake.p_seen.len == 32);
	CHECK_MEM(s.fake.p_seen.addr, a4.addr, 4);
	CHECK_INT(s.fake.port_seen, 51821);
	close(fd);
	CHECK_INT(priv_web_open(&s.c, &a6, 8443, &fd, err, sizeof(err)), 0);
	CHECK(s.fake.p_seen.family == AF_INET6 && s.fake.p_seen.len == 128);
	CHECK_MEM(s.fake.p_seen.addr, a6.addr, 16);
	CHECK_INT(s.fake.port_seen, 8443);
	close(fd);
	/* a privileged port never leaves the client */
	{
		int calls = total_calls(&s.fake);

		CHECK_INT(priv_web_open(&s.c, &a4, 80, &fd, err, sizeof(err)), -EINVAL);
		CHECK(contains(err, "port 80") && contains(err, "1024..65535"));
		CHECK_INT(priv_web_open(&s.c, &a4, 0, &fd, err, sizeof(err)), -EINVAL);
		CHECK_INT(fd, -1);
		CHECK_INT(total_calls(&s.fake), calls);
	}
	/* an address taken away is no longer one to bind */
	CHECK_INT(priv_addr(&s.c, false, &a4, err, sizeof(err)), 0);
	CHECK_INT(priv_web_open(&s.c, &a4, 51821, &fd, err, sizeof(err)), -EPERM);
	CHECK_INT(s.fake.calls[F_WEB], 2);
	CHECK_INT(serve_stop(&s), 0);

	/* a privileged part without web listeners says so */
	serve_start(&s, NULL);
	s.ops.web_open = NULL;
	serve_run(&s);
	CHECK_INT(priv_tun_open(&s.c, ifn, &fd, &ifindex, &off, err, sizeof(err)), 0);
	close(fd);
	fd = -1;
	CHECK_INT(priv_addr(&s.c, true, &a4, err, sizeof(err)), 0);
	CHECK_INT(priv_web_open(&s.c, &a4, 51821, &fd, err, sizeof(err)), -ENOTSUP);
	CHECK(contains(err, "WEB_OPEN"));
	CHECK_INT(fd, -1);
	CHECK_INT(serve_stop(&s), 0);
	CHECK_INT(count_fds(), fds_before);
}

/* connect() to addr:port and accept() it on lfd (non-blocking: polled). */
static bool accepts(int lfd, const struct sockaddr *addr, socklen_t len)
{
	int c = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), a = -1;
	bool ok = c >= 0 && connect(c, addr, len) == 0;

	for (int i = 0; ok && i < 200 && a < 0; i++) {
		a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (a < 0 && errno != EAGAIN)
			break;
		if (a < 0)
			usleep(5000);
	}
	ok = ok && a >= 0;
	if (a >= 0)
		close(a);
	if (c >= 0)
		close(c);
	return ok;
}

static int sockopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	return getsockopt(fd, level, name, &v, &len) < 0 ? -errno : v;
}

/* The real WEB_OPEN action, on loopback in our namespace. */
static void test_web_open_real(void)
{
	struct netlink_prefix lo4 = pfx("127.0.0.1"), lo6 = pfx("::1");
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	socklen_t sl = sizeof(sin);
	char err[512];
	uint16_t port;
	int fd, fd2, probe;

	/* a port free right now */
	probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(bind(probe, (struct sockaddr *)&sin, sizeof(sin)), 0);
	CHECK_INT(getsockname(probe, (struct sockaddr *)&sin, &sl), 0);
	port = ntohs(sin.sin_port);
	close(probe);

	fd = priv_ops_default.web_open(NULL, &lo4, port, err, sizeof(err));
	CHECK(fd >= 0);
	if (fd < 0) {
		fprintf(stderr, "  web_open 127.0.0.1:%u: %s\n", port, err);
		return;
	}
	CHECK_INT(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
	CHECK_INT(sockopt(fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	CHECK_INT(sockopt(fd, SOL_SOCKET, SO_REUSEADDR), 1);
	CHECK_INT(sockopt(fd, IPPROTO_IP, IP_FREEBIND), 1);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	sl = sizeof(sin);
	CHECK_INT(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	CHECK_INT(ntohs(sin.sin_port), port);
	CHECK_INT(sin.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	CHECK(accepts(fd, (struct sockaddr *)&sin, sizeof(sin)));
	/* the port is taken: the message says what to do */
	fd2 = priv_ops_default.web_open(NULL, &lo4, port, err, sizeof(err));
	CHECK_INT(fd2, -EADDRINUSE);
	CHECK(contains(err, "127.0.0.1") && contains(err, "--web ADDRESS:PORT"));
	close(fd);

	fd = priv_ops_default.web_open(NULL, &lo6, port, err, sizeof(err));
	if (fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT) {
		fprintf(stderr, "  note: no IPv6 loopback here: %s\n", err);
		return;
	}
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
	CHECK_INT(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
	sl = sizeof(sin6);
	CHECK_INT(getsockname(fd, (struct sockaddr *)&sin6, &sl), 0);
	CHECK(sin6.sin6_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr));
	CHECK(accepts(fd, (struct sockaddr *)&sin6, sizeof(sin6)));
	close(fd);
}

static void test_serve_adopt(void)
{
	char ifn[IF_NAMESIZE] = "zwgfake0";
	struct served s;
	struct tun_offloads off;
	struct stat st;
	char err[512];
	int p[2], fd = -1, ifindex;

	CHECK_INT(pipe2(p, O_CLOEXEC), 0);
	close(p[1]);
	fstat(p[0], &st);
	serve_start(&s, NULL);
	s.cfg.tun_fd = p[0];
	s.fake.adopted_name = "adopted7";
	serve_run(&s);
	CHECK_INT(priv_tun_open(&s.c, ifn, &fd, &ifindex, &off, err, sizeof(err)), 0);
	CHECK_INT(s.fake.adopt_seen, p[0]);
	CHECK(same_file(fd, &st));
	close(fd);
	/* handed over: priv_serve closes its copy (just after the reply) */
	for (int i = 0; i < 100 && fcntl(p[0], F_GETFD) >= 0; i++)
		usleep(10000);
	CHECK(fcntl(p[0], F_GETFD) < 0 && errno == EBADF);
	CHECK_INT(priv_nat_setup(&s.c, "10.1.0.1/16", NULL, err, sizeof(err)), 0);
	CHECK(strcmp(s.fake.nat_if, "adopted7") == 0);
	CHECK_INT(serve_stop(&s), 0);
}

/* Sends raw bytes (and maybe an fd) and reads the raw reply. */
static int raw_exchange(int fd, const void *buf, size_t len, int pass_fd, struct priv_reply *rep)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint8_t in[PRIV_REPLY_SIZE + 1];
	char err[256];
	ssize_t n;

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
	if (sendmsg(fd, &m, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	n = recv(fd, in, sizeof(in), 0);
	if (n <= 0)
		return -1;
	return priv_reply_parse(in, (size_t)n, rep, err, sizeof(err));
}

static void test_serve_malformed(void)
{
	char ifn[IF_NAMESIZE] = "zwgfake0";
	struct served s;
	struct priv_request r;
	struct priv_reply rep;
	uint8_t buf[400];
	struct tun_offloads off;
	char err[512];
	int p[2], fd, ifindex;

	serve_start(&s, NULL);
	serve_run(&s);
	memset(buf, 0, sizeof(buf));
	r = valid_request(PRIV_OP_TUN_OPEN);
	priv_request_encode(&r, buf);
	{
		size_t sizes[] = { 1, 4, PRIV_REQUEST_SIZE - 1, PRIV_REQUEST_SIZE + 1, 300 };

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			CHECK_INT(raw_exchange(s.sv[0], buf, sizes[i], -1, &rep), 0);
			CHECK(rep.op == 0 && rep.error == -EMSGSIZE && contains(rep.msg, "bytes"));
		}
	}
#define RAW_BAD(mod) do { \
		r = valid_request(PRIV_OP_ADDR_ADD); \
		mod; \
		priv_request_encode(&r, buf); \
		CHECK_INT(raw_exchange(s.sv[0], buf, PRIV_REQUEST_SIZE, -1, &rep), 0); \
		CHECK(rep.op == 0 && rep.error == -EINVAL && rep.msg[0]); \
	} while (0)
	RAW_BAD(r.op = 99);
	RAW_BAD(r.op = 0);
	RAW_BAD(r.prefix.family = AF_UNIX);
	RAW_BAD(r.prefix.family = AF_INET; memset(r.prefix.addr, 0, 16); r.prefix.len = 33);
	RAW_BAD(r.prefix.len = 129);
	RAW_BAD(r.reserved0 = 0x01000000u);
	RAW_BAD(r.prefix.reserved[0] = 1);
	RAW_BAD(r.mtu = 1);
	/* a valid request with an fd attached: refused, the fd not kept */
	CHECK_INT(pipe2(p, O_CLOEXEC), 0);
	r = valid_request(PRIV_OP_TUN_OPEN);
	priv_request_encode(&r, buf);
	CHECK_INT(raw_exchange(s.sv[0], buf, PRIV_REQUEST_SIZE, p[0], &rep), 0);
	CHECK(rep.error == -EINVAL && contains(rep.msg, "file descriptor"));
	close(p[0]);
	/* priv_serve's copy is closed too: the write end sees no reader */
	{
		char c = 'x';
		signal(SIGPIPE, SIG_IGN);
		CHECK(write(p[1], &c, 1) < 0 && errno == EPIPE);
	}
	close(p[1]);
	CHECK_INT(total_calls(&s.fake), 0);
	/* the session goes on */
	CHECK_INT(priv_tun_open(&s.c, ifn, &fd, &ifindex, &off, err, sizeof(err)), 0);
	close(fd);
	/* a zero-length message reads as EOF: the session ends, cleanly */
	CHECK_INT(send(s.sv[0], buf, 0, MSG_NOSIGNAL), 0);
	pthread_join(s.thread, NULL);
	CHECK_INT(s.ret, 0);
	CHECK_INT(s.fake.calls[F_NAT_DOWN], 1);
	close(s.sv[0]);
	close(s.sv[1]);
}

/* ------------------------------------------------ real unix sockets -- */

static bool connects(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

/* A socket file nobody listens on (a crashed server's). */
static void make_stale(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		abort();
	close(fd);
}

/* TUN_OPEN through the fakes (the UAPI socket is named after the TUN). */
static void fake_tun(struct served *s)
{
	char ifn[IF_NAMESIZE] = "zwgfake0", err[512];
	struct tun_offloads off;
	int fd = -1, ifindex;

	CHECK_INT(priv_tun_open(&s->c, ifn, &fd, &ifindex, &off, err, sizeof(err)), 0);
	if (fd >= 0)
		close(fd);
}

static void test_unix_sockets_real(void)
{
	char dir[] = "/tmp/zwg-priv-test.XXXXXX", path[256], err[512];
	struct served s, s2;
	struct stat st;
	bool root = geteuid() == 0;
	int ufd = -1, afd = -1, fd = -1;

	CHECK(mkdtemp(dir) != NULL);
	serve_start(&s, dir);
	s.fake.real_bind = true;
	if (!root) {
		s.cfg.uid = geteuid();
		s.cfg.gid = getegid();
		fprintf(stderr, "  note: not root: the admin socket's owner is checked as our own\n");
	} else {
		s.cfg.uid = 65534;
		s.cfg.gid = 65533;
	}
	serve_run(&s);
	CHECK_INT(priv_uapi_open(&s.c, &ufd, err, sizeof(err)), -EBADF);
	CHECK(contains(err, "before TUN_OPEN"));
	fake_tun(&s);
	CHECK_INT(priv_uapi_open(&s.c, &ufd, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/wg", dir);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
	CHECK(lstat(s.uapi_path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK_INT(st.st_mode & 07777, 0600);
	CHECK_INT(st.st_uid, geteuid());
	CHECK(connects(s.uapi_path));
	CHECK_INT(priv_admin_open(&s.c, &afd, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/adm", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0750);
	CHECK(st.st_uid == s.cfg.uid && st.st_gid == s.cfg.gid);
	CHECK(lstat(s.cfg.admin_path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK_INT(st.st_mode & 07777, 0660);
	CHECK(st.st_uid == s.cfg.uid && st.st_gid == s.cfg.gid);
	CHECK(connects(s.cfg.admin_path));

	/* a second server never takes a live socket over */
	serve_start(&s2, dir);
	s2.fake.real_bind = true;
	s2.cfg.uid = s.cfg.uid;
	s2.cfg.gid = s.cfg.gid;
	serve_run(&s2);
	fake_tun(&s2);
	CHECK_INT(priv_uapi_open(&s2.c, &fd, err, sizeof(err)), -EADDRINUSE);
	CHECK(contains(err, "already listening") && contains(err, s.uapi_path));
	CHECK_INT(priv_admin_open(&s2.c, &fd, err, sizeof(err)), -EADDRINUSE);
	CHECK_INT(serve_stop(&s2), 0);
	/* ...and its EOF left ours alone */
	CHECK(connects(s.uapi_path) && connects(s.cfg.admin_path));

	/* a replaced socket file is not ours to remove */
	close(afd);
	CHECK_INT(unlink(s.cfg.admin_path), 0);
	make_stale(s.cfg.admin_path);
	CHECK_INT(serve_stop(&s), 0);
	CHECK(lstat(s.uapi_path, &st) < 0 && errno == ENOENT);	/* ours: gone */
	CHECK(lstat(s.cfg.admin_path, &st) == 0);			/* theirs: kept */
	close(ufd);

	/* a stale socket is replaced; a file that is no socket is not */
	serve_start(&s, dir);
	s.fake.real_bind = true;
	s.cfg.uid = s2.cfg.uid;
	s.cfg.gid = s2.cfg.gid;
	make_stale(s.uapi_path);
	{
		int f = open(s.cfg.admin_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		unlink(s.cfg.admin_path);
		close(f);
		f = open(s.cfg.admin_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		close(f);
	}
	serve_run(&s);
	fake_tun(&s);
	CHECK_INT(priv_uapi_open(&s.c, &ufd, err, sizeof(err)), 0);
	CHECK(connects(s.uapi_path));
	CHECK_INT(priv_admin_open(&s.c, &afd, err, sizeof(err)), -EEXIST);
	CHECK(contains(err, "not a socket"));
	CHECK(lstat(s.cfg.admin_path, &st) == 0 && S_ISREG(st.st_mode));
	CHECK_INT(serve_stop(&s), 0);
	close(ufd);

	/* an existing directory keeps its mode and owner */
	snprintf(path, sizeof(path), "%s/adm", dir);
	unlink(s.cfg.admin_path);
	chmod(path, 0700);
	serve_start(&s, dir);
	s.fake.real_bind = true;
	s.cfg.uid = s2.cfg.uid;
	s.cfg.gid = s2.cfg.gid;
	serve_run(&s);
	CHECK_INT(priv_admin_open(&s.c, &afd, err, sizeof(err)), 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0700);
	close(afd);
	CHECK_INT(serve_stop(&s), 0);
	CHECK(lstat(s.cfg.admin_path, &st) < 0);

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	CHECK_INT(system(path), 0);
}

/* ------------------------------------------------ a lying privileged part -- */

/* Queues reply bytes (and maybe an fd) before the client asks: the
 * client's request then waits unread in the socket, which is fine. */
static void queue_reply(int fd, const struct priv_reply *rep, size_t len, int pass_fd)
{
	uint8_t buf[PRIV_REPLY_SIZE + 8] = { 0 };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	priv_reply_encode(rep, buf);
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
	if (sendmsg(fd, &m, MSG_NOSIGNAL) != (ssize_t)len)
		abort();
}

/* One client call against one queued reply; the connection is dropped
 * after a protocol error. */
static int lied_to(const struct priv_reply *rep, size_t len, int pass_fd, enum priv_op op,
		   char *err, size_t errlen, bool *dead)
{
	char ifn[IF_NAMESIZE] = "zwgfake0";
	struct priv_client c;
	struct netlink_prefix a = pfx("10.0.0.1/24");
	struct tun_offloads off;
	int sv[2], fd = -1, ifindex, ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	client_on(&c, sv[0]);
	queue_reply(sv[1], rep, len, pass_fd);
	if (op == PRIV_OP_TUN_OPEN)
		ret = priv_tun_open(&c, ifn, &fd, &ifindex, &off, err, errlen);
	else if (op == PRIV_OP_WEB_OPEN)
		ret = priv_web_open(&c, &a, 51821, &fd, err, errlen);
	else
		ret = priv_addr(&c, true, &a, err, errlen);
	if (fd >= 0)
		close(fd);
	*dead = c.dead;
	priv_close(&c);
	close(sv[1]);
	return ret;
}

static void test_client_distrusts_replies(void)
{
	struct priv_reply rep;
	char err[512];
	bool dead;
	int p[2], fds_before = count_fds();

	memset(&rep, 0, sizeof(rep));
	rep.op = PRIV_OP_ADDR_ADD;
	CHECK_INT(lied_to(&rep, sizeof(rep), -1, PRIV_OP_ADDR_ADD, err, sizeof(err), &dead), 0);
	CHECK(!dead);
	/* a message that does not end */
	memset(rep.msg, 'A', sizeof(rep.msg));
	rep.error = -EIO;
	CHECK_INT(lied_to(&rep, sizeof(rep), -1, PRIV_OP_ADDR_ADD, err, sizeof(err), &dead),
		  -EPROTO);
	CHECK(dead && contains(err, "broke the protocol") && contains(err, "NUL"));
	memset(&rep, 0, sizeof(rep));
	/* a short reply */
	rep.op = PRIV_OP_ADDR_ADD;
	CHECK_INT(lied_to(&rep, 100, -1, PRIV_OP_ADDR_ADD, err, sizeof(err), &dead), -EPROTO);
	/* an oversized one */
	CHECK_INT(lied_to(&rep, sizeof(rep) + 8, -1, PRIV_OP_ADDR_ADD, err, sizeof(err), &dead),
		  -EPROTO);
	/* a reply to another op */
	rep.op = PRIV_OP_ROUTE_ADD;
	CHECK_INT(lied_to(&rep, sizeof(rep), -1, PRIV_OP_ADDR_ADD, err, sizeof(err), &dead),
		  -EPROTO);
	CHECK(contains(err, "ROUTE_ADD") && contains(err, "ADDR_ADD"));
	/* a positive error */
	rep.op = PRIV_OP_ADDR_ADD;
	rep.error = 5;
	CHECK_INT(lied_to(&rep, sizeof(rep), -1, PRIV_OP_ADDR_ADD, err, sizeof(err), &dead),
		  -EPROTO);
	/* an fd where none belongs: refused and closed */
	rep.error = 0;
	CHECK_INT(pipe2(p, O_CLOEXEC), 0);
	CHECK_INT(lied_to(&rep, sizeof(rep), p[0], PRIV_OP_ADDR_ADD, err, sizeof(err), &dead),
		  -EPROTO);
	CHECK(contains(err, "with a file descriptor"));
	close(p[0]);
	{
		char c = 'x';
		signal(SIGPIPE, SIG_IGN);
		CHECK(write(p[1], &c, 1) < 0 && errno == EPIPE);
	}
	close(p[1]);
	/* a TUN_OPEN that succeeds without an fd, or without an ifindex */
	rep.op = PRIV_OP_TUN_OPEN;
	rep.ifindex = 3;
	CHECK_INT(lied_to(&rep, sizeof(rep), -1, PRIV_OP_TUN_OPEN, err, sizeof(err), &dead),
		  -EPROTO);
	CHECK(contains(err, "without a file descriptor"));
	rep.ifindex = 0;
	CHECK_INT(pipe2(p, O_CLOEXEC), 0);
	CHECK_INT(lied_to(&rep, sizeof(rep), p[0], PRIV_OP_TUN_OPEN, err, sizeof(err), &dead),
		  -EPROTO);
	close(p[0]);
	close(p[1]);
	/* an error reply with an fd */
	rep.error = -EPERM;
	snprintf(rep.msg, sizeof(rep.msg), "no");
	CHECK_INT(pipe2(p, O_CLOEXEC), 0);
	CHECK_INT(lied_to(&rep, sizeof(rep), p[0], PRIV_OP_TUN_OPEN, err, sizeof(err), &dead),
		  -EPROTO);
	close(p[0]);
	close(p[1]);
	/* a WEB_OPEN that succeeds without its listener, or that fails with one */
	memset(&rep, 0, sizeof(rep));
	rep.op = PRIV_OP_WEB_OPEN;
	CHECK_INT(lied_to(&rep, sizeof(rep), -1, PRIV_OP_WEB_OPEN, err, sizeof(err), &dead),
		  -EPROTO);
	CHECK(dead && contains(err, "WEB_OPEN without a file descriptor"));
	CHECK_INT(pipe2(p, O_CLOEXEC), 0);
	CHECK_INT(lied_to(&rep, sizeof(rep), p[0], PRIV_OP_WEB_OPEN, err, sizeof(err), &dead), 0);
	CHECK(!dead);
	rep.error = -EADDRINUSE;
	CHECK_INT(lied_to(&rep, sizeof(rep), p[0], PRIV_OP_WEB_OPEN, err, sizeof(err), &dead),
		  -EPROTO);
	CHECK(contains(err, "with a file descriptor"));
	close(p[0]);
	close(p[1]);
	/* a reply for DNS_OPEN to a WEB_OPEN, fd and all */
	rep.op = PRIV_OP_DNS_OPEN;
	rep.error = 0;
	CHECK_INT(pipe2(p, O_CLOEXEC), 0);
	CHECK_INT(lied_to(&rep, sizeof(rep), p[0], PRIV_OP_WEB_OPEN, err, sizeof(err), &dead),
		  -EPROTO);
	CHECK(contains(err, "DNS_OPEN") && contains(err, "WEB_OPEN"));
	close(p[0]);
	close(p[1]);
	/* an honest error comes through as is */
	memset(&rep, 0, sizeof(rep));
	rep.op = PRIV_OP_ADDR_ADD;
	rep.error = -EEXIST;
	snprintf(rep.msg, sizeof(rep.msg), "adding address: File exists");
	CHECK_INT(lied_to(&rep, sizeof(rep), -1, PRIV_OP_ADDR_ADD, err, sizeof(err), &dead),
		  -EEXIST);
	CHECK(!dead && strcmp(err, "adding address: File exists") == 0);
	/* an empty message gets strerror */
	rep.msg[0] = '\0';
	CHECK_INT(lied_to(&rep, sizeof(rep), -1, PRIV_OP_ADDR_ADD, err, sizeof(err), &dead),
		  -EEXIST);
	CHECK(strcmp(err, strerror(EEXIST)) == 0);
	CHECK_INT(count_fds(), fds_before);
}

/* ------------------------------------------------------ the real fork -- */

static bool sig_ignored(pid_t pid, int sig)
{
	char path[64], line[256];
	unsigned long long mask = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigIgn: %llx", &mask) == 1)
			break;
	fclose(f);
	return (mask >> (sig - 1)) & 1;
}

/* The fds of pid, as a count; *socket_only says whether every one past
 * 0..2 is a socket. */
static int proc_fds(pid_t pid, bool *sockets_only)
{
	char path[64], target[128], link[400];
	struct dirent *de;
	DIR *d;
	int n = 0;

	*sockets_only = true;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		ssize_t l;

		if (de->d_name[0] == '.')
			continue;
		n++;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		l = readlink(link, target, sizeof(target) - 1);
		target[l > 0 ? l : 0] = '\0';
		if (atoi(de->d_name) > 2 && strncmp(target, "socket:", 7) != 0)
			*sockets_only = false;
		if (atoi(de->d_name) <= 1 && strcmp(target, "/dev/null") != 0)
			*sockets_only = false;
	}
	closedir(d);
	return n;
}

static void fork_config(struct priv_config *cfg, const char *dir)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->tun_fd = -1;
	if (dir) {
		snprintf(cfg->uapi_dir, sizeof(cfg->uapi_dir), "%s/run", dir);
		snprintf(cfg->admin_path, sizeof(cfg->admin_path), "%s/adm/admin.sock", dir);
	}
	cfg->uid = geteuid();
	cfg->gid = getegid();
}

static void test_fork_real(void)
{
	char dir[] = "/tmp/zwg-priv-fork.XXXXXX", cmd[128], err[512];
	struct priv_config cfg;
	struct priv_client c;
	struct stat st;
	bool sockets_only;
	int ufd = -1, afd = -1, fds_before = count_fds(), pipefd[2];


	CHECK(mkdtemp(dir) != NULL);
	fork_config(&cfg, dir);
	/* an unrelated fd of ours must not reach the privileged part */
	CHECK_INT(pipe(pipefd), 0);
	CHECK_INT(priv_fork(&cfg, &c, err, sizeof(err)), 0);
	CHECK(c.pid > 0 && !c.dead);
	CHECK_INT(priv_netns_pid(&c), c.pid);
	/* no TUN in our namespace from a unit test: the UAPI socket waits
	 * for one (test_fork_userns has both) */
	CHECK_INT(priv_uapi_open(&c, &ufd, err, sizeof(err)), -EBADF);
	CHECK_INT(ufd, -1);
	CHECK_INT(priv_admin_open(&c, &afd, err, sizeof(err)), 0);
	CHECK(connects(cfg.admin_path));
	/* stdin/stdout on /dev/null, stderr, the socket: nothing else (it
	 * closes its copy of a passed fd just after the reply: a moment) */
	for (int i = 0; i < 100 && proc_fds(c.pid, &sockets_only) != 4; i++)
		usleep(10000);
	CHECK_INT(proc_fds(c.pid, &sockets_only), 4);
	CHECK(sockets_only);
	CHECK(sig_ignored(c.pid, SIGINT) && sig_ignored(c.pid, SIGHUP) &&
	      sig_ignored(c.pid, SIGTERM));
	kill(c.pid, SIGTERM);
	kill(c.pid, SIGINT);
	CHECK_INT(priv_nat_teardown(&c, err, sizeof(err)), 0);	/* still there */
	close(pipefd[0]);
	close(pipefd[1]);
	close(afd);
	priv_close(&c);
	CHECK(c.reaped && WIFEXITED(c.wstatus) && WEXITSTATUS(c.wstatus) == 0);
	/* it cleaned up its socket file on the way out */
	CHECK(lstat(cfg.admin_path, &st) < 0 && errno == ENOENT);
	CHECK_INT(count_fds(), fds_before);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
}

static void test_fork_killed(void)
{
	char err[512], want[64];
	struct priv_config cfg;
	struct priv_client c;
	struct netlink_prefix a = pfx("10.0.0.1/24");
	int fd = -1;

	fork_config(&cfg, NULL);
	CHECK_INT(priv_fork(&cfg, &c, err, sizeof(err)), 0);
	CHECK_INT(priv_nat_teardown(&c, err, sizeof(err)), 0);
	kill(c.pid, SIGKILL);
	CHECK_INT(priv_addr(&c, true, &a, err, sizeof(err)), -EPIPE);
	snprintf(want, sizeof(want), "the privileged part (pid %d) has exited", (int)c.pid);
	CHECK(contains(err, want));
	CHECK(contains(err, "signal 9"));
	CHECK(c.dead);
	err[0] = '\0';
	CHECK_INT(priv_uapi_open(&c, &fd, err, sizeof(err)), -EPIPE);
	CHECK(contains(err, want));
	CHECK_INT(fd, -1);
	priv_close(&c);
	CHECK(c.reaped && WIFSIGNALED(c.wstatus));

	/* a bad configuration never forks */
	fork_config(&cfg, NULL);
	memset(cfg.uapi_dir, 'a', sizeof(cfg.uapi_dir));
	CHECK_INT(priv_fork(&cfg, &c, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "NUL"));
	priv_close(&c);
	fork_config(&cfg, NULL);
	memset(cfg.admin_path, '/', sizeof(cfg.admin_path));
	CHECK_INT(priv_fork(&cfg, &c, err, sizeof(err)), -EINVAL);
	priv_close(&c);
}

static ino_t ns_ino(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static ino_t fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* Connects from inside the network namespace nspath (a child that joins
 * it, and brings its loopback up: a packet to one of its own addresses
 * goes through lo) to addr:port, for 5 s at most; true if it connected.
 * Root only: joining another user's namespace needs CAP_SYS_ADMIN here. */
static bool connects_in_ns(const char *nspath, const struct sockaddr *addr, socklen_t len)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct timeval tv = { .tv_sec = 5 };
		struct ifreq ifr = { .ifr_name = "lo" };
		int ns = open(nspath, O_RDONLY | O_CLOEXEC), c;

		if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
			_exit(2);
		c = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0 || ioctl(c, SIOCGIFFLAGS, &ifr) < 0)
			_exit(3);
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(c, SIOCSIFFLAGS, &ifr) < 0 ||
		    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
			_exit(4);
		_exit(connect(c, addr, len) == 0 ? 0 : 1);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/* WEB_OPEN for real in the privileged part's namespace (nspath). */
static void check_web_in_ns(struct priv_client *c, const struct netlink_prefix *a4,
			    const struct netlink_prefix *a6, const struct netlink_prefix *stranger,
			    const char *nspath)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	socklen_t sl = sizeof(sin);
	char err[512];
	int web = -1, web6 = -1, again = -1, nsfd, a = -1;

	CHECK_INT(priv_web_open(c, stranger, 51821, &web, err, sizeof(err)), -EPERM);
	CHECK_INT(priv_web_open(c, a4, 51821, &web, err, sizeof(err)), 0);
	if (web < 0)
		return;
	CHECK_INT(sockopt(web, SOL_SOCKET, SO_ACCEPTCONN), 1);
	CHECK_INT(sockopt(web, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	CHECK(fcntl(web, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(web, F_GETFD) & FD_CLOEXEC);
	CHECK_INT(getsockname(web, (struct sockaddr *)&sin, &sl), 0);
	CHECK_INT(ntohs(sin.sin_port), 51821);
	CHECK_INT(sin.sin_addr.s_addr, htonl(0x0a630001));
	/* it lives in the tunnel's namespace, not ours */
	nsfd = ioctl(web, SIOCGSKNS);
	CHECK(nsfd >= 0 && fd_ino(nsfd) == ns_ino(nspath));
	if (nsfd >= 0)
		close(nsfd);
	/* once per address and port: the second one is in use */
	CHECK_INT(priv_web_open(c, a4, 51821, &again, err, sizeof(err)), -EADDRINUSE);
	CHECK(contains(err, "in the tunnel's namespace") && contains(err, "--web"));
	CHECK_INT(again, -1);
	/* IPv6, right after ADDR_ADD (duplicate address detection may still
	 * run: IP_FREEBIND) */
	CHECK_INT(priv_web_open(c, a6, 51821, &web6, err, sizeof(err)), 0);
	if (web6 >= 0) {
		CHECK_INT(sockopt(web6, IPPROTO_IPV6, IPV6_V6ONLY), 1);
		sl = sizeof(sin6);
		CHECK_INT(getsockname(web6, (struct sockaddr *)&sin6, &sl), 0);
		CHECK_MEM(&sin6.sin6_addr, a6->addr, 16);
		close(web6);
	}
	/* a connection made inside the namespace reaches the listener here */
	if (geteuid() == 0) {
		CHECK(connects_in_ns(nspath, (struct sockaddr *)&sin, sizeof(sin)));
		for (int i = 0; i < 200 && a < 0; i++) {
			a = accept4(web, NULL, NULL, SOCK_CLOEXEC);
			if (a < 0)
				usleep(5000);
		}
		CHECK(a >= 0);
		if (a >= 0)
			close(a);
	} else {
		fprintf(stderr, "  note: not root: no connection from inside the namespace\n");
	}
	close(web);
}

/* Rootless mode for real: the TUN, its addresses, routes, the DNS socket
 * and the web listener live in the privileged part's own network
 * namespace, never in ours. */
static void test_fork_userns(void)
{
	char ifn[IF_NAMESIZE], dir[] = "/tmp/zwg-priv-ns.XXXXXX", sock[160];
	int ufd = -1;
	struct netlink_prefix a4 = pfx("10.99.0.1/24"), a6 = pfx("fd00:99::1/64");
	struct netlink_prefix r4 = pfx("10.98.0.0/24"), stranger = pfx("10.99.0.2/24");
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct tun_offloads off;
	struct priv_config cfg;
	struct priv_client c;
	char err[512], path[64];
	int tun = -1, ifindex = 0, dns = -1, nsfd, ret;
	int fds_before = count_fds();

	CHECK(mkdtemp(dir) != NULL);
	fork_config(&cfg, dir);
	cfg.new_userns = true;
	snprintf(ifn, sizeof(ifn), "zwgpt%d", (int)(getpid() % 100000));
	snprintf(sock, sizeof(sock), "%s/run/%s.sock", dir, ifn);
	CHECK_INT(priv_fork(&cfg, &c, err, sizeof(err)), 0);
	ret = priv_tun_open(&c, ifn, &tun, &ifindex, &off, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "  note: rootless mode cannot be tested here: %s\n", err);
		CHECK(contains(err, "user namespaces") || contains(err, "/dev/net/tun"));
		priv_close(&c);
		rmdir(dir);
		return;
	}
	CHECK(strncmp(ifn, "zwgpt", 5) == 0);
	CHECK_INT(priv_uapi_open(&c, &ufd, err, sizeof(err)), 0);
	CHECK(connects(sock));
	close(ufd);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)priv_netns_pid(&c));
	CHECK(ns_ino(path) != ns_ino("/proc/self/ns/net"));
	CHECK(ifindex > 0);
	nsfd = ioctl(tun, TUNGETDEVNETNS);
	CHECK(nsfd >= 0);
	if (nsfd >= 0) {
		CHECK(fd_ino(nsfd) == ns_ino(path));
		close(nsfd);
	}
	/* not in our namespace */
	CHECK(if_nametoindex(ifn) == 0);
	CHECK_INT(priv_addr(&c, true, &a4, err, sizeof(err)), 0);
	CHECK_INT(priv_addr(&c, true, &a6, err, sizeof(err)), 0);
	CHECK_INT(priv_link_set(&c, 1420, true, err, sizeof(err)), 0);
	CHECK_INT(priv_route(&c, true, &r4, err, sizeof(err)), 0);
	CHECK_INT(priv_route(&c, false, &r4, err, sizeof(err)), 0);
	CHECK_INT(priv_dns_open(&c, &stranger, 53, &dns, err, sizeof(err)), -EPERM);
	CHECK_INT(priv_dns_open(&c, &a4, 53, &dns, err, sizeof(err)), 0);
	if (dns >= 0) {
		CHECK_INT(getsockname(dns, (struct sockaddr *)&sin, &sl), 0);
		CHECK_INT(ntohs(sin.sin_port), 53);
		CHECK_INT(sin.sin_addr.s_addr, htonl(0x0a630001));
		nsfd = ioctl(dns, SIOCGSKNS);
		CHECK(nsfd >= 0 && fd_ino(nsfd) == ns_ino(path));
		if (nsfd >= 0)
			close(nsfd);
		CHECK(fcntl(dns, F_GETFL) & O_NONBLOCK);
		close(dns);
	}
	CHECK_INT(priv_dns_open(&c, &a6, 5353, &dns, err, sizeof(err)), 0);
	if (dns >= 0)
		close(dns);
	check_web_in_ns(&c, &a4, &a6, &stranger, path);
	priv_close(&c);
	CHECK(c.reaped && WIFEXITED(c.wstatus) && WEXITSTATUS(c.wstatus) == 0);
	CHECK(access(sock, F_OK) < 0 && errno == ENOENT);
	if (tun >= 0)
		close(tun);
	CHECK_INT(count_fds(), fds_before);
	snprintf(sock, sizeof(sock), "rm -rf '%s'", dir);
	CHECK_INT(system(sock), 0);
}

/* In a helper process (seccomp is for life): unshare fails with e, and
 * every request gets the reason.  Returns the helper's exit status. */
static int refused_userns(int e, const char *want)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct priv_config cfg;
		struct priv_client c;
		struct tun_offloads off;
		char err[512];
		int fd = -1, ifindex, ret, bad = 0;
		char ifn[IF_NAMESIZE] = "zwgrefused";
		scmp_filter_ctx sc = seccomp_init(SCMP_ACT_ALLOW);

		if (!sc || seccomp_rule_add(sc, SCMP_ACT_ERRNO(e), SCMP_SYS(unshare), 0) < 0 ||
		    seccomp_load(sc) < 0)
			_exit(3);
		fork_config(&cfg, NULL);
		cfg.new_userns = true;
		if (priv_fork(&cfg, &c, err, sizeof(err)) < 0)
			_exit(4);
		ret = priv_tun_open(&c, ifn, &fd, &ifindex, &off, err, sizeof(err));
		if (ret != -e || !contains(err, want)) {
			fprintf(stderr, "  unshare -> %d: got %d \"%s\"\n", e, ret, err);
			bad = 1;
		}
		/* and again: it does not go on in our namespace */
		ret = priv_nat_teardown(&c, err, sizeof(err));
		if (ret != -e || !contains(err, want))
			bad = 1;
		priv_close(&c);
		if (!c.reaped || !WIFEXITED(c.wstatus) || WEXITSTATUS(c.wstatus) != 0)
			bad = 1;
		_exit(bad);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static void test_fork_userns_refused(void)
{
	CHECK_INT(refused_userns(EPERM, "user namespaces are disabled "
				 "(kernel.unprivileged_userns_clone=0"), 0);
	CHECK_INT(refused_userns(ENOSPC, "user.max_user_namespaces=0"), 0);
	CHECK_INT(refused_userns(EINVAL, "CONFIG_USER_NS"), 0);
}

/* Truly rootless: as nobody.  Either the TUN is created in our own
 * namespace, or /dev/net/tun refuses us, with the reason. */
static void test_fork_rootless_nobody(void)
{
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		fprintf(stderr, "  note: not root: running rootless mode as ourselves\n");
	}
	pid = fork();
	if (pid == 0) {
		struct priv_config cfg;
		struct priv_client c;
		struct tun_offloads off;
		char err[512];
		int fd = -1, ifindex = 0, ret, bad = 0;
		char ifn[IF_NAMESIZE];

		snprintf(ifn, sizeof(ifn), "zwgnb%d", (int)(getpid() % 100000));
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
				       setresuid(65534, 65534, 65534) < 0))
			_exit(3);
		fork_config(&cfg, NULL);
		cfg.new_userns = true;
		if (priv_fork(&cfg, &c, err, sizeof(err)) < 0)
			_exit(4);
		ret = priv_tun_open(&c, ifn, &fd, &ifindex, &off, err, sizeof(err));
		if (ret == 0) {
			bad = ifindex <= 0;
			close(fd);
		} else if (ret == -EACCES) {
			bad = !contains(err, "no permission to open /dev/net/tun (mode");
		} else {
			bad = !contains(err, "user namespaces");
		}
		fprintf(stderr, "  note: rootless as uid %u: %s\n", (unsigned)geteuid(),
			ret == 0 ? "TUN created in its own namespace" : err);
		priv_close(&c);
		_exit(bad);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	RUN(test_codec_roundtrip);
	RUN(test_codec_refuses);
	RUN(test_reply_parse);
	RUN(test_serve_every_op);
	RUN(test_serve_needs_tun);
	RUN(test_serve_dns_policy);
	RUN(test_serve_web_policy);
	RUN(test_web_open_real);
	RUN(test_serve_adopt);
	RUN(test_serve_malformed);
	RUN(test_unix_sockets_real);
	RUN(test_client_distrusts_replies);
	RUN(test_fork_real);
	RUN(test_fork_killed);
	RUN(test_fork_userns);
	RUN(test_fork_userns_refused);
	RUN(test_fork_rootless_nobody);
	TEST_EXIT();
}
