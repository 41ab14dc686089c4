/*
 * priv.h - the privileged part of `zerowg up`, after OpenBSD ntpd's
 * privilege separation: a tiny process that does only what needs
 * privilege and hands the results (file descriptors, mostly) back over a
 * socketpair, while the server proper (store, keys, data plane, admin API)
 * runs unprivileged.
 *
 * priv_fork() is called early (single-threaded, before any key is loaded).
 * The child becomes the privileged part and never returns; the parent gets
 * a struct priv_client and drops its privileges.  The privileged part:
 *   - holds no key, opens no network-facing socket, parses nothing from the
 *     network: one fixed-size request in, one fixed-size reply out (plus at
 *     most one fd, SCM_RIGHTS) on a SOCK_SEQPACKET socketpair;
 *   - acts only on the TUN it created itself (requests carry no ifindex)
 *     and on the paths fixed in struct priv_config at fork time (requests
 *     carry no path; the one string, TUN_OPEN's interface name, is checked
 *     as a name, and the UAPI socket is named after the TUN the kernel
 *     actually created: uapi_dir/IFNAME.sock);
 *   - binds sockets in the tunnel's network namespace (the DNS relay's UDP
 *     port, the web's TCP listeners) only on the addresses it added to the
 *     TUN itself, and hands them over unread: it never accepts, reads or
 *     writes on them;
 *   - on EOF (the server exited or closed it) tears NAT and the firewall
 *     down, unlinks the
 *     UAPI and admin sockets it bound (if they are still the same inodes)
 *     and exits 0.  It ignores SIGINT, SIGHUP and SIGTERM: the server
 *     decides when to stop.
 *
 * Relies on netlink.h, nat.h and device_open_tun (device.h) for the real
 * actions; struct priv_ops replaces them in tests.  The wire format is in
 * priv_msg.c (the codec); this file's functions return 0 or -errno and put
 * a message for a person in err.
 */
#ifndef ZWG_PRIV_H
#define ZWG_PRIV_H

#include <assert.h>
#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "firewall.h"
#include "nat.h"
#include "netlink.h"
#include "tun.h"

/* ----------------------------------------------------------- messages -- */

enum priv_op {
	PRIV_OP_TUN_OPEN = 1,	/* 0 is no op: a zeroed message is refused */
	PRIV_OP_UAPI_OPEN,
	PRIV_OP_ADMIN_OPEN,
	PRIV_OP_ADDR_ADD,
	PRIV_OP_ADDR_DEL,
	PRIV_OP_ROUTE_ADD,
	PRIV_OP_ROUTE_DEL,
	PRIV_OP_LINK_SET,
	PRIV_OP_NAT_SETUP,
	PRIV_OP_NAT_TEARDOWN,
	PRIV_OP_DNS_OPEN,
	/* The firewall (firewall.h), the whole state at once: FW_BEGIN, then
	 * per restricted peer FW_PEER and its FW_SOURCEs and FW_ALLOWs, then
	 * FW_COMMIT, which replaces the table in one nft transaction (no
	 * peers: deletes it).  Anything out of that order is refused and
	 * drops what was staged. */
	PRIV_OP_FW_BEGIN,
	PRIV_OP_FW_PEER,
	PRIV_OP_FW_SOURCE,	/* prefix: a source of the peer */
	PRIV_OP_FW_ALLOW,	/* prefix, port..port_hi (0..0: all), proto */
	PRIV_OP_FW_COMMIT,
	/* A TCP socket listening on one of the tunnel's own addresses (one
	 * ADDR_ADD added), port PRIV_WEB_PORT_MIN..65535: the web listener
	 * where the server does not see the tunnel (rootless, --netns). */
	PRIV_OP_WEB_OPEN,
	PRIV_OP__COUNT
};

/* An address or subnet on the wire.  family 0 = none (every byte zero);
 * AF_INET uses addr[0..3] and leaves the rest zero. */
struct priv_prefix {
	uint8_t family;		/* 0, AF_INET or AF_INET6 */
	uint8_t len;		/* prefix length, <= 32 / 128 */
	uint8_t reserved[2];	/* zero */
	uint8_t addr[16];	/* network order */
};
static_assert(sizeof(struct priv_prefix) == 20, "priv_prefix is 20 bytes on the wire");

/* A request.  Every field an op does not use must be zero, so one request
 * has exactly one encoding. */
struct priv_request {
	uint32_t op;			/* enum priv_op */
	uint32_t reserved0;		/* zero */
	char ifname[IF_NAMESIZE];	/* TUN_OPEN: the interface to create, an
					 * interface name, NUL-padded */
	struct priv_prefix prefix;	/* ADDR_*, ROUTE_*, DNS_OPEN: required;
					 * WEB_OPEN: required, a host address
					 * (/32, /128);
					 * NAT_SETUP: the IPv4 subnet or none */
	struct priv_prefix prefix6;	/* NAT_SETUP: the IPv6 subnet or none */
	int32_t mtu;			/* LINK_SET: 0 = unchanged, else 68..65535 */
	uint16_t port;			/* DNS_OPEN: 1..65535; WEB_OPEN:
					 * PRIV_WEB_PORT_MIN..65535; host order */
	uint8_t up;			/* LINK_SET: 0 or 1 */
	uint8_t reserved1;		/* zero */
	uint16_t port_hi;		/* FW_ALLOW: the range's last port (port is
					 * its first; both 0 = every port) */
	uint8_t proto;			/* FW_ALLOW: 0 (any; with ports: TCP and
					 * UDP), IPPROTO_TCP or IPPROTO_UDP */
	uint8_t reserved2;		/* zero */
};
#define PRIV_REQUEST_SIZE 76
static_assert(sizeof(struct priv_request) == PRIV_REQUEST_SIZE, "priv_request size");

/* WEB_OPEN's lowest port: no privileged port (below 1024), so the helper
 * binds nothing the server could not bind for itself in its own
 * namespace (the web's default is 51821, API_WEB_PORT). */
#define PRIV_WEB_PORT_MIN 1024

/* struct priv_reply.offloads: what the kernel granted the TUN. */
#define PRIV_OFFLOAD_VNET 0x1u
#define PRIV_OFFLOAD_TSO  0x2u	/* only with VNET */
#define PRIV_OFFLOAD_USO  0x4u	/* only with VNET */
#define PRIV_OFFLOAD_ALL  0x7u

#define PRIV_MSG_LEN 256

/* A reply.  An fd comes with it (SCM_RIGHTS) exactly when error is 0 and
 * the op hands one out (TUN_OPEN, UAPI_OPEN, ADMIN_OPEN, DNS_OPEN,
 * WEB_OPEN).
 * op 0 with an error is the refusal of a message that was no request. */
struct priv_reply {
	uint32_t op;			/* the request's op, echoed */
	int32_t error;			/* 0 or -errno (-4095..-1) */
	uint32_t ifindex;		/* TUN_OPEN: the interface's index, <= INT32_MAX */
	uint32_t offloads;		/* TUN_OPEN: PRIV_OFFLOAD_* */
	char ifname[IF_NAMESIZE];	/* TUN_OPEN: the interface's name (an adopted
					 * TUN keeps its own), NUL-terminated */
	char msg[PRIV_MSG_LEN];		/* for a person, NUL-terminated; "" on success */
};
#define PRIV_REPLY_SIZE 288
static_assert(sizeof(struct priv_reply) == PRIV_REPLY_SIZE, "priv_reply size");

/* The codec (priv_msg.c), pure functions.  A parse checks the size and
 * every field, fills out (zeroed on failure) and returns 0, or -EINVAL
 * (-EMSGSIZE for a wrong size) with a message in err. */
int priv_request_parse(const void *buf, size_t len, struct priv_request *out, char *err,
		       size_t errlen) __attribute__((warn_unused_result));
int priv_reply_parse(const void *buf, size_t len, struct priv_reply *out, char *err,
		     size_t errlen) __attribute__((warn_unused_result));
/* The same checks on a struct already in memory. */
int priv_request_check(const struct priv_request *req, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* The wire bytes: buf of PRIV_REQUEST_SIZE / PRIV_REPLY_SIZE. */
void priv_request_encode(const struct priv_request *req, void *buf);
void priv_reply_encode(const struct priv_reply *rep, void *buf);
/* netlink_prefix <-> wire.  encode: -EINVAL if p is not a valid prefix. */
int priv_prefix_encode(struct priv_prefix *out, const struct netlink_prefix *p);
void priv_prefix_decode(struct netlink_prefix *out, const struct priv_prefix *p);
/* "TUN_OPEN", ... or "?" */
const char *priv_op_name(uint32_t op);
/* Whether a successful reply to op carries an fd. */
bool priv_op_passes_fd(uint32_t op);

/* ------------------------------------------------------ configuration -- */

/* Fixed at fork time.  The interface name is not here: it is in the store,
 * which is opened after the fork; TUN_OPEN carries it. */
struct priv_config {
	int tun_fd;			/* >= 0: adopt this TUN instead (its name wins) */
	char uapi_dir[108];		/* "" = no UAPI socket (ENOTSUP); the socket is
					 * uapi_dir/IFNAME.sock, 0600 */
	char admin_path[108];		/* "" = no admin socket (ENOTSUP) */
	uid_t uid;			/* the server's user and group: the admin */
	gid_t gid;			/* socket and a directory we create are theirs */
	bool new_userns;		/* rootless: own user + network namespace */
	char netns_path[108];		/* "" or a network namespace to join instead
					 * (--netns: /run/netns/NAME, /proc/PID/ns/net);
					 * one a user made is joined through its
					 * owning user namespace */
};

/* ---------------------------------------------------- privileged side -- */

/* A unix socket the privileged part binds (UAPI or admin). */
struct priv_unix_socket {
	const char *what;	/* "UAPI socket" or "admin socket", for messages */
	const char *path;
	mode_t dir_mode;	/* for the directory, if it has to be created */
	mode_t sock_mode;	/* 0600 or 0660 */
	uid_t uid;		/* (uid_t)-1: keep ours; else the socket's owner, */
	gid_t gid;		/* and the directory's if we create it */
	int backlog;
	/* out: the file bound, so cleanup unlinks only our own socket (the
	 * change time too: a freed inode number comes back) */
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
};

/*
 * The privileged actions, replaceable for tests.  Each returns 0, an fd,
 * or -errno with a message in err.  ctx is passed back as is.
 */
struct priv_ops {
	/* Creates the TUN ifname (adopt_fd < 0) or adopts adopt_fd (then
	 * ifname receives its name; so may a created one, if it differs).  Returns the fd; fills *ifindex, *off. */
	int (*tun_open)(void *ctx, char ifname[IF_NAMESIZE], int adopt_fd, int *ifindex,
			struct tun_offloads *off, char *err, size_t errlen);
	int (*addr)(void *ctx, bool add, int ifindex, const struct netlink_prefix *p, char *err,
		    size_t errlen);
	int (*route)(void *ctx, bool add, int ifindex, const struct netlink_prefix *p, char *err,
		     size_t errlen);
	int (*link_set)(void *ctx, int ifindex, int mtu, bool up, char *err, size_t errlen);
	int (*nat_setup)(void *ctx, struct nat *nat, const char *ifname, const char *subnet4,
			 const char *subnet6, char *err, size_t errlen);
	void (*nat_teardown)(void *ctx, struct nat *nat);
	/* Binds and listens (refusing a live socket, replacing a stale one);
	 * returns the listening fd and sets s->dev, s->ino. */
	int (*bind_unix)(void *ctx, struct priv_unix_socket *s, char *err, size_t errlen);
	/* A UDP socket bound to addr:port with IP_FREEBIND; returns the fd. */
	int (*dns_open)(void *ctx, const struct netlink_prefix *addr, uint16_t port, char *err,
			size_t errlen);
	/* A TCP socket listening on addr:port (IP_FREEBIND, SO_REUSEADDR,
	 * IPv6 only for IPv6); returns the fd.  NULL: WEB_OPEN is refused
	 * with ENOTSUP. */
	int (*web_open)(void *ctx, const struct netlink_prefix *addr, uint16_t port, char *err,
			size_t errlen);
	/* The firewall (FW_COMMIT, and teardown at EOF); NULL: FW_COMMIT is
	 * refused with ENOTSUP. */
	int (*fw_apply)(void *ctx, struct firewall *fw, const char *ifname,
			const struct firewall_spec *spec, char *err, size_t errlen);
	void (*fw_teardown)(void *ctx, struct firewall *fw);
	void *ctx;
};

/* The real actions: netlink.h, nat.h, device_open_tun. */
extern const struct priv_ops priv_ops_default;

/* The most addresses ADDR_ADD remembers (DNS_OPEN and WEB_OPEN bind only
 * to those). */
#define PRIV_MAX_ADDRS 16

/*
 * Serves requests on fd in this process until EOF, then cleans up (NAT,
 * the unix sockets it bound) and returns 0; -errno if the connection
 * broke.  cfg->tun_fd, if >= 0, is handed out (and closed) by TUN_OPEN.
 * For tests and the fuzzer; priv_fork's child runs it with
 * priv_ops_default.  A zero-length message reads as EOF on SOCK_SEQPACKET
 * and ends the session too.
 */
int priv_serve(const struct priv_config *cfg, const struct priv_ops *ops, int fd);

/* -------------------------------------------------------- client side -- */

/*
 * The server's handle.  lock serialises calls (the server calls from more
 * than one thread); it is a leaf: nothing else is taken while it is held.
 * fd and dead are under lock.  reaped/wstatus remember a waitpid.
 */
struct priv_client {
	int fd;
	pid_t pid;
	pthread_mutex_t lock;
	bool dead;
	bool reaped;
	int wstatus;
};

/*
 * Forks the privileged part.  The parent returns 0 with c set up; the
 * child never returns.  On failure -errno with a message, and c is still
 * safe to pass to priv_close.  cfg->tun_fd stays open in the parent too:
 * close it there once priv_tun_open has handed it back.
 */
int priv_fork(const struct priv_config *cfg, struct priv_client *c, char *err, size_t errlen);

/* Every call below returns 0 or -errno with a message in err.  When the
 * privileged part is gone they return -EPIPE with "the privileged part
 * (pid N) has exited: ..." and set c->dead; a reply that breaks the
 * protocol gives -EPROTO and ends the connection. */
/* ifname: in, the interface to create; out, the one created (an adopted
 * TUN's own name).  Once per connection; every link op needs it first. */
int priv_tun_open(struct priv_client *c, char ifname[IF_NAMESIZE], int *tun_fd, int *ifindex,
		  struct tun_offloads *off, char *err, size_t errlen);
int priv_uapi_open(struct priv_client *c, int *fd, char *err, size_t errlen);
int priv_admin_open(struct priv_client *c, int *fd, char *err, size_t errlen);
int priv_addr(struct priv_client *c, bool add, const struct netlink_prefix *p, char *err,
	      size_t errlen);
int priv_route(struct priv_client *c, bool add, const struct netlink_prefix *p, char *err,
	       size_t errlen);
int priv_link_set(struct priv_client *c, int mtu, bool up, char *err, size_t errlen);
/* subnet4 / subnet6: "10.13.13.1/24" or NULL/"" for none; at least one.
 * On success err receives the line saying what was set up (nat_describe). */
int priv_nat_setup(struct priv_client *c, const char *subnet4, const char *subnet6, char *err,
		   size_t errlen);
int priv_nat_teardown(struct priv_client *c, char *err, size_t errlen);
/* Replaces the firewall with spec (FW_BEGIN .. FW_COMMIT; an empty spec
 * removes it).  The caller serialises calls (the server's apply_lock):
 * two interleaved would mix their peers.  On failure the old rules stay. */
int priv_firewall_set(struct priv_client *c, const struct firewall_spec *spec, char *err,
		      size_t errlen);
/* addr must be one ADDR_ADD added (EPERM otherwise); port 1..65535. */
int priv_dns_open(struct priv_client *c, const struct netlink_prefix *addr, uint16_t port,
		  int *fd, char *err, size_t errlen);
/* A TCP socket listening on addr:port in the tunnel's network namespace,
 * for the web API (api_server_listen_fd).  addr must be one ADDR_ADD added
 * (EPERM otherwise); its prefix length is ignored (the address counts).
 * port PRIV_WEB_PORT_MIN..65535 (EINVAL otherwise, nothing sent). */
int priv_web_open(struct priv_client *c, const struct netlink_prefix *addr, uint16_t port,
		  int *fd, char *err, size_t errlen);
/* Closes the connection and waits (bounded, 5 s, then SIGKILL) for the
 * privileged part to clean up and exit.  No other thread may use c during
 * or after this call. */
void priv_close(struct priv_client *c);
/* The pid whose /proc/PID/ns/net is the tunnel's network namespace (the
 * privileged part's: its own with new_userns, else the server's), or -1. */
pid_t priv_netns_pid(const struct priv_client *c);

#endif
