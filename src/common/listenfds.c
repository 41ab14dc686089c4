/*
 * listenfds.c - socket activation (listenfds.h).  libsystemd reads the
 * environment and marks the fds close-on-exec (sd_listen_fds_with_names);
 * it also tells what each fd is (sd_is_socket*).  We check the environment
 * ourselves first only to explain what is wrong with it: libsystemd
 * ignores a LISTEN_PID of another process silently and reports a missing
 * fd as a bare EBADF, and both are mistakes someone has to fix in a unit.
 */
#include "listenfds.h"
#include "errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

/* What a socket is used for. */
enum slot { SLOT_NONE, SLOT_UDP, SLOT_ADMIN, SLOT_HTTP };

/* The names zerowg gives meaning to (FileDescriptorName=), and what a unit
 * should say to pass that socket. */
static const struct {
	const char *name;
	enum slot slot;
	const char *wants;
} known_names[] = {
	{ "udp", SLOT_UDP, "ListenDatagram= for the WireGuard port" },
	{ "admin", SLOT_ADMIN, "ListenStream=/path/to/admin.sock (a unix socket) for the admin API" },
	{ "http", SLOT_HTTP, "ListenStream=PORT (TCP) for the web interface" },
	{ "web", SLOT_HTTP, "ListenStream=PORT (TCP) for the web interface" },
};

static void unset_env(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

/* A plain decimal number of at most 10 digits (no sign, no spaces), or -1. */
static long long parse_decimal(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 10 || strspn(s, "0123456789") != len)
		return -1;
	return strtoll(s, NULL, 10);
}

/* Copies an environment value for quoting in a message (unsetenv may free
 * it), cut short if long. */
static void copy_value(char *dst, size_t len, const char *v)
{
	snprintf(dst, len, "%s", v ? v : "");
	if (v && strlen(v) >= len && len > 4)
		memcpy(dst + len - 4, "...", 4);
}

static int sockopt_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, name, &v, &len) < 0)
		return -1;
	return v;
}

/* "a TCP socket", "a unix datagram socket", "an ICMP socket", ... */
static void describe_socket(int fd, char *buf, size_t len)
{
	int family = sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);
	int type = sockopt_int(fd, SOL_SOCKET, SO_TYPE);
	int proto = sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL);
	const char *t = type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "datagram" :
			type == SOCK_SEQPACKET ? "seqpacket" : type == SOCK_RAW ? "raw" : "unknown-type";
	char what[48];

	if (family == AF_INET || family == AF_INET6) {
		const char *v = family == AF_INET ? "IPv4" : "IPv6";
		if (proto == IPPROTO_TCP)
			snprintf(what, sizeof(what), "TCP");
		else if (proto == IPPROTO_UDP)
			snprintf(what, sizeof(what), "UDP");
		else if (proto == IPPROTO_UDPLITE)
			snprintf(what, sizeof(what), "UDP-Lite");
		else if (proto == IPPROTO_SCTP)
			snprintf(what, sizeof(what), "SCTP");
		else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
			snprintf(what, sizeof(what), "ICMP");
		else
			snprintf(what, sizeof(what), "%s %s", t, v);
	} else if (family == AF_UNIX) {
		snprintf(what, sizeof(what), "unix %s", t);
	} else if (family == AF_NETLINK) {
		snprintf(what, sizeof(what), "netlink");
	} else if (family == AF_PACKET) {
		snprintf(what, sizeof(what), "packet");
	} else {
		snprintf(what, sizeof(what), "family-%d %s", family, t);
	}
	snprintf(buf, len, "%s %s socket", strchr("AEIOaeio", what[0]) ? "an" : "a", what);
}

/* "a regular file", "a pipe", ... for an fd that is not a socket. */
static const char *describe_file(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return "something fstat cannot tell";
	switch (st.st_mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFIFO: return "a pipe";
	default: return "another kind of file";
	}
}

/* The slot for fd given what it is; SLOT_NONE for a kind we do not use. */
static enum slot socket_slot(int fd, int *family)
{
	int proto = sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL);

	*family = sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);
	if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_DGRAM, -1, 0) > 0)
		return proto == IPPROTO_UDP ? SLOT_UDP : SLOT_NONE;
	if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, -1, 0) > 0)
		return proto == IPPROTO_TCP ? SLOT_HTTP : SLOT_NONE;
	if (sd_is_socket_unix(fd, SOCK_STREAM, -1, NULL, 0) > 0)
		return SLOT_ADMIN;
	return SLOT_NONE;
}

static int classify_udp(struct listen_fds *lf, int fd, int family, const char *label,
			char *err, size_t errlen)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} sa;
	socklen_t len = sizeof(sa);
	uint16_t port;
	bool dual = false;
	int *slot = family == AF_INET ? &lf->udp4 : &lf->udp6;
	int other = family == AF_INET ? lf->udp6 : lf->udp4;

	if (getpeername(fd, &sa.sa, &len) == 0) {
		errbuf_set(err, errlen, "LISTEN_FDS: fd %d%s is a connected UDP socket; zerowg wants "
			   "a socket that takes datagrams from anyone (ListenDatagram=, Accept=no)",
			   fd, label);
		return -EINVAL;
	}
	len = sizeof(sa);
	if (getsockname(fd, &sa.sa, &len) < 0) {
		errbuf_set(err, errlen, "LISTEN_FDS: fd %d%s: getsockname: %s", fd, label,
			   strerror(errno));
		return -EINVAL;
	}
	port = ntohs(family == AF_INET ? sa.sin.sin_port : sa.sin6.sin6_port);
	if (port == 0) {
		errbuf_set(err, errlen, "LISTEN_FDS: fd %d%s is a UDP socket bound to no port; give "
			   "ListenDatagram= the WireGuard port (e.g. ListenDatagram=51820)", fd, label);
		return -EINVAL;
	}
	if (family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&sa.sin6.sin6_addr)) {
			errbuf_set(err, errlen, "LISTEN_FDS: fd %d%s is an IPv6 UDP socket bound to an "
				   "IPv4-mapped address; write the IPv4 address as such "
				   "(ListenDatagram=A.B.C.D:%u)", fd, label, port);
			return -EINVAL;
		}
		dual = sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY) == 0 &&
		       IN6_IS_ADDR_UNSPECIFIED(&sa.sin6.sin6_addr);
	}
	if (*slot >= 0) {
		errbuf_set(err, errlen, "LISTEN_FDS: fd %d%s is a second IPv%c UDP socket (fd %d is "
			   "one already); pass one ListenDatagram= per address family, or one "
			   "ListenDatagram=PORT for both", fd, label, family == AF_INET ? '4' : '6',
			   *slot);
		return -EINVAL;
	}
	if (lf->udp_port && lf->udp_port != port) {
		errbuf_set(err, errlen, "LISTEN_FDS: fd %d%s is a UDP socket on port %u, but fd %d is "
			   "on port %u; WireGuard listens on one port: give every ListenDatagram= the "
			   "same port", fd, label, port, other, lf->udp_port);
		return -EINVAL;
	}
	*slot = fd;
	lf->udp_port = port;
	if (family == AF_INET6)
		lf->udp6_dual = dual;
	return 0;
}

static int classify_stream(struct listen_fds *lf, int fd, enum slot slot, const char *label,
			   const char *what, char *err, size_t errlen)
{
	int *field = slot == SLOT_ADMIN ? &lf->admin : &lf->http;
	int listening = slot == SLOT_ADMIN ? sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0)
					   : sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0);

	if (listening <= 0) {
		errbuf_set(err, errlen, "LISTEN_FDS: fd %d%s is %s that is not listening (a "
			   "connection, as Accept=yes passes); zerowg wants the listening socket: "
			   "Accept=no", fd, label, what);
		return -EINVAL;
	}
	if (*field >= 0) {
		errbuf_set(err, errlen, "LISTEN_FDS: fd %d%s is a second %s (fd %d is one already); "
			   "zerowg serves %s on one socket: remove one ListenStream=", fd, label,
			   slot == SLOT_ADMIN ? "unix stream socket" : "TCP socket", *field,
			   slot == SLOT_ADMIN ? "the admin API" : "the web interface");
		return -EINVAL;
	}
	*field = fd;
	return 0;
}

static int classify(struct listen_fds *lf, int fd, const char *name, char *err, size_t errlen)
{
	char label[96] = "", what[64];
	enum slot slot;
	int family, r;

	if (name && *name)
		snprintf(label, sizeof(label), " named \"%.64s\"", name);
	r = sd_is_socket(fd, AF_UNSPEC, 0, -1);
	if (r < 0) {
		errbuf_set(err, errlen, "LISTEN_FDS: fd %d%s: %s", fd, label, strerror(-r));
		return -EINVAL;
	}
	if (r == 0) {
		errbuf_set(err, errlen, "LISTEN_FDS: fd %d%s is %s, not a socket; pass only sockets "
			   "(ListenDatagram=, ListenStream= in the .socket unit)", fd, label,
			   describe_file(fd));
		return -EINVAL;
	}
	describe_socket(fd, what, sizeof(what));
	slot = socket_slot(fd, &family);
	if (slot == SLOT_NONE) {
		errbuf_set(err, errlen, "LISTEN_FDS: fd %d%s is %s; zerowg takes a UDP socket "
			   "(ListenDatagram=), a unix stream socket for the admin API "
			   "(ListenStream=/path) and a TCP socket for the web interface "
			   "(ListenStream=PORT)", fd, label, what);
		return -EINVAL;
	}
	for (size_t i = 0; name && i < sizeof(known_names) / sizeof(known_names[0]); i++) {
		if (strcmp(name, known_names[i].name) || known_names[i].slot == slot)
			continue;
		errbuf_set(err, errlen, "LISTEN_FDS: fd %d is %s named \"%s\"; zerowg wants %s",
			   fd, what, name, known_names[i].wants);
		return -EINVAL;
	}
	if (slot == SLOT_UDP)
		return classify_udp(lf, fd, family, label, err, errlen);
	return classify_stream(lf, fd, slot, label, what, err, errlen);
}

/* Checks the environment libsystemd would take as is.  Returns the number
 * of fds, 0 for none, or -EINVAL with a message. */
static int check_env(const char *fds_s, const char *pid_s, const char *names_s,
		     char *err, size_t errlen)
{
	char q[72];
	long long n, pid;

	copy_value(q, sizeof(q), fds_s);
	n = parse_decimal(fds_s);
	if (n < 0) {
		errbuf_set(err, errlen, "LISTEN_FDS=\"%s\" is not a number of sockets; socket "
			   "activation sets it to a count like 1 or 2 (unset it to bind the port "
			   "ourselves)", q);
		return -EINVAL;
	}
	if (n > LISTEN_FDS_MAX) {
		errbuf_set(err, errlen, "LISTEN_FDS=%s is too large: zerowg uses at most 4 sockets "
			   "(UDP for IPv4 and IPv6, admin, web); check the Listen*= lines of the "
			   ".socket unit", q);
		return -EINVAL;
	}
	if (n == 0)
		return 0;
	if (!pid_s) {
		errbuf_set(err, errlen, "LISTEN_FDS=%s is set but LISTEN_PID is not; socket "
			   "activation sets both (LISTEN_PID=the pid that gets the sockets), or "
			   "unset LISTEN_FDS", q);
		return -EINVAL;
	}
	copy_value(q, sizeof(q), pid_s);
	pid = parse_decimal(pid_s);
	if (pid <= 0) {
		errbuf_set(err, errlen, "LISTEN_PID=\"%s\" is not a process id", q);
		return -EINVAL;
	}
	if (pid != (long long)getpid()) {
		errbuf_set(err, errlen, "LISTEN_PID=%lld is another process (this is %ld): the "
			   "sockets were passed to it, not to us; a wrapper script must exec zerowg, "
			   "not run it as a child", pid, (long)getpid());
		return -EINVAL;
	}
	if (names_s) {
		long long names = *names_s ? 1 : 0;
		for (const char *p = names_s; *p; p++)
			names += *p == ':';
		if (names != n) {
			copy_value(q, sizeof(q), names_s);
			errbuf_set(err, errlen, "LISTEN_FDNAMES=\"%s\" names %lld socket%s but "
				   "LISTEN_FDS=%lld; give each socket one name (FileDescriptorName=)",
				   q, names, names == 1 ? "" : "s", n);
			return -EINVAL;
		}
	}
	for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		if (fcntl(fd, F_GETFD) < 0) {
			errbuf_set(err, errlen, "LISTEN_FDS=%lld but fd %d is not open: the sockets "
				   "were not passed (LISTEN_FDS copied from another environment?); "
				   "start zerowg from its .socket unit or unset LISTEN_FDS", n, fd);
			return -EINVAL;
		}
	}
	return (int)n;
}

int listen_fds_collect(struct listen_fds *lf, char *err, size_t errlen)
{
	const char *fds_s = getenv("LISTEN_FDS");
	char **names = NULL;
	bool named = getenv("LISTEN_FDNAMES") != NULL;
	int n, r, ret = 0;

	*lf = (struct listen_fds){ .udp4 = -1, .udp6 = -1, .admin = -1, .http = -1 };
	if (!fds_s) {
		unset_env();
		return 0;
	}
	n = check_env(fds_s, getenv("LISTEN_PID"), getenv("LISTEN_FDNAMES"), err, errlen);
	if (n <= 0) {
		unset_env();
		return n;
	}
	r = sd_listen_fds_with_names(1, &names);
	unset_env();		/* libsystemd leaves them when it fails early */
	if (r < 0) {
		errbuf_set(err, errlen, "LISTEN_FDS: %s", strerror(-r));
		ret = r == -ENOMEM ? r : -EINVAL;
		goto out;
	}
	if (r != n) {
		errbuf_set(err, errlen, "LISTEN_FDS=%d, but libsystemd found %d sockets", n, r);
		ret = -EINVAL;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		ret = classify(lf, SD_LISTEN_FDS_START + i, named && names ? names[i] : NULL,
			       err, errlen);
		if (ret < 0)
			break;
	}
	if (ret < 0) {
		/* The caller gets all of them or none. */
		*lf = (struct listen_fds){ .udp4 = -1, .udp6 = -1, .admin = -1, .http = -1 };
	} else {
		lf->n = n;
	}
out:
	if (names) {
		for (int i = 0; names[i]; i++)
			free(names[i]);
		free(names);
	}
	return ret;
}

void listen_fds_close(struct listen_fds *lf)
{
	int *fds[] = { &lf->udp4, &lf->udp6, &lf->admin, &lf->http };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	lf->udp_port = 0;
	lf->udp6_dual = false;
	lf->n = 0;
}
