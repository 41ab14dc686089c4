/*
 * netlink.c - see netlink.h.  rtnetlink through libmnl: one request, one
 * socket, read until the kernel's ack (or the end of a dump).  Extended
 * acks (NETLINK_EXT_ACK) are turned on so that a refused request comes
 * back with the kernel's own sentence, which goes into the message.
 */
#include "netlink.h"
#include "errbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Room for one request: a header, a family header and a few attributes. */
#define NL_REQUEST_SIZE 512

typedef int (*nl_msg_fn)(const struct nlmsghdr *nlh, void *data);


static int ext_ack_attr(const struct nlattr *attr, void *data)
{
	const char **msg = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
		*msg = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

/* The kernel's explanation attached to an error ack, or NULL.  With
 * NETLINK_CAP_ACK the echoed request is cut to its header, so the TLVs
 * follow struct nlmsgerr directly. */
static const char *ext_ack_msg(const struct nlmsghdr *nlh)
{
	const char *msg = NULL;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (mnl_nlmsg_get_payload_len(nlh) <= sizeof(struct nlmsgerr))
		return NULL;
	mnl_attr_parse(nlh, sizeof(struct nlmsgerr), ext_ack_attr, &msg);
	return msg;
}

/*
 * Sends req and reads answers until the ack or NLMSG_DONE.  Each data
 * message goes to fn (may be NULL).  what names the request in the error
 * message ("adding address 10.13.13.1/24 to ifindex 5").  Returns 0 or the
 * kernel's -errno (with ok_errno counted as success).
 */
static int nl_talk(struct nlmsghdr *req, nl_msg_fn fn, void *data, int ok_errno,
		   const char *what, char *err, size_t errlen)
{
	struct mnl_socket *nl;
	char *buf;
	unsigned portid, seq;
	int one = 1, ret = 0;
	bool done = false;

	buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (!buf)
		return -ENOMEM;
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl) {
		ret = -errno;
		errbuf_set(err, errlen, "%s: cannot open a netlink socket: %s", what, strerror(errno));
		free(buf);
		return ret;
	}
	/* Both are best effort: without them errors are just less precise. */
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "%s: netlink bind: %s", what, strerror(errno));
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	seq = (unsigned)time(NULL) ^ (unsigned)getpid();
	req->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "%s: netlink send: %s", what, strerror(errno));
		goto out;
	}
	while (!done) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			errbuf_set(err, errlen, "%s: netlink receive: %s", what, strerror(errno));
			goto out;
		}
		int len = (int)n;
		for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (!mnl_nlmsg_portid_ok(nlh, portid) || !mnl_nlmsg_seq_ok(nlh, seq))
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
				done = true;
				if (e->error == 0 || -e->error == ok_errno)
					break;
				ret = e->error;
				const char *why = ext_ack_msg(nlh);
				errbuf_set(err, errlen, "%s: %s%s%s", what, strerror(-ret),
					why ? " (kernel says: " : "", why ? why : "");
				if (why && err && errlen > 1 && strlen(err) < errlen - 1)
					strcat(err, ")");
				break;
			}
			if (fn && (ret = fn(nlh, data)) < 0) {
				errbuf_set(err, errlen, "%s: %s", what, strerror(-ret));
				goto out;
			}
		}
	}
out:
	mnl_socket_close(nl);
	free(buf);
	return ret;
}

/* ------------------------------------------------------------ prefixes -- */

bool netlink_prefix_parse(struct netlink_prefix *p, const char *text)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t hl = slash ? (size_t)(slash - text) : strlen(text);
	int max;

	memset(p, 0, sizeof(*p));
	if (hl == 0 || hl >= sizeof(host))
		return false;
	memcpy(host, text, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, p->addr) == 1) {
		p->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, p->addr) == 1) {
		p->family = AF_INET6;
		max = 128;
	} else {
		return false;
	}
	if (!slash) {
		p->len = (uint8_t)max;
		return true;
	}
	const char *s = slash + 1;
	int v = 0;
	if (!*s || strlen(s) > 3)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	if (v > max)
		return false;
	p->len = (uint8_t)v;
	return true;
}

void netlink_prefix_format(const struct netlink_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, p->len);
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* The subnet of p: host bits cleared (routes insist on it). */
static void prefix_network(const struct netlink_prefix *p, uint8_t out[16])
{
	size_t n = addr_len(p->family);

	memset(out, 0, 16);
	for (size_t i = 0; i < n; i++) {
		unsigned bits = p->len > i * 8 ? p->len - (unsigned)(i * 8) : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		out[i] = p->addr[i] & mask;
	}
}

void netlink_prefix_mask(struct netlink_prefix *p)
{
	uint8_t net[16];

	prefix_network(p, net);
	memcpy(p->addr, net, sizeof(net));
}

/* ----------------------------------------------------------- addresses -- */

static int addr_change(int ifindex, const struct netlink_prefix *p, bool add, char *err,
		       size_t errlen)
{
	char buf[NL_REQUEST_SIZE], what[128], text[64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	netlink_prefix_format(p, text, sizeof(text));
	snprintf(what, sizeof(what), "%s address %s %s interface %d", add ? "adding" : "removing",
		 text, add ? "to" : "from", ifindex);
	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)p->family;
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, addr_len(p->family), p->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, addr_len(p->family), p->addr);
	if (p->family == AF_INET6) {
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	return nl_talk(nlh, NULL, NULL, add ? EEXIST : EADDRNOTAVAIL, what, err, errlen);
}

int netlink_addr_add(int ifindex, const struct netlink_prefix *p, char *err, size_t errlen)
{
	return addr_change(ifindex, p, true, err, errlen);
}

int netlink_addr_del(int ifindex, const struct netlink_prefix *p, char *err, size_t errlen)
{
	return addr_change(ifindex, p, false, err, errlen);
}

/* ---------------------------------------------------------------- link -- */

int netlink_link_set(int ifindex, int mtu, bool up, char *err, size_t errlen)
{
	char buf[NL_REQUEST_SIZE], what[128];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	if (mtu > 0)
		snprintf(what, sizeof(what), "setting MTU %d and link %s on interface %d", mtu,
			 up ? "up" : "down", ifindex);
	else
		snprintf(what, sizeof(what), "setting link %s on interface %d", up ? "up" : "down",
			 ifindex);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	if (mtu > 0)
		mnl_attr_put_u32(nlh, IFLA_MTU, (uint32_t)mtu);
	return nl_talk(nlh, NULL, NULL, 0, what, err, errlen);
}

/* -------------------------------------------------------------- routes -- */

static int route_change(int ifindex, const struct netlink_prefix *dst, bool add, char *err,
			size_t errlen)
{
	char buf[NL_REQUEST_SIZE], what[128], text[64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	uint8_t net[16];

	prefix_network(dst, net);
	netlink_prefix_format(dst, text, sizeof(text));
	snprintf(what, sizeof(what), "%s route %s %s interface %d", add ? "adding" : "deleting",
		 text, add ? "via" : "from", ifindex);
	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)dst->family;
	rtm->rtm_dst_len = dst->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, addr_len(dst->family), net);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	return nl_talk(nlh, NULL, NULL, add ? EEXIST : ESRCH, what, err, errlen);
}

int netlink_route_add(int ifindex, const struct netlink_prefix *dst, char *err, size_t errlen)
{
	return route_change(ifindex, dst, true, err, errlen);
}

int netlink_route_del(int ifindex, const struct netlink_prefix *dst, char *err, size_t errlen)
{
	return route_change(ifindex, dst, false, err, errlen);
}

struct default_route {
	int family;
	int ifindex;
	uint32_t metric;
};

struct route_attrs {
	const struct nlattr *tb[RTA_MAX + 1];
};

static int route_attr(const struct nlattr *attr, void *data)
{
	struct route_attrs *ra = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, RTA_MAX) > 0)
		ra->tb[type] = attr;
	return MNL_CB_OK;
}

/* One route of the dump: keep it if it is a better default route. */
static int default_route_msg(const struct nlmsghdr *nlh, void *data)
{
	struct default_route *best = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_attrs ra = { 0 };
	uint32_t table, metric = 0;
	int oif = 0;

	if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != best->family ||
	    rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST)
		return 0;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr, &ra);
	table = rtm->rtm_table;
	if (ra.tb[RTA_TABLE] && mnl_attr_validate(ra.tb[RTA_TABLE], MNL_TYPE_U32) >= 0)
		table = mnl_attr_get_u32(ra.tb[RTA_TABLE]);
	if (table != RT_TABLE_MAIN)
		return 0;
	if (ra.tb[RTA_PRIORITY] && mnl_attr_validate(ra.tb[RTA_PRIORITY], MNL_TYPE_U32) >= 0)
		metric = mnl_attr_get_u32(ra.tb[RTA_PRIORITY]);
	if (ra.tb[RTA_OIF] && mnl_attr_validate(ra.tb[RTA_OIF], MNL_TYPE_U32) >= 0) {
		oif = (int)mnl_attr_get_u32(ra.tb[RTA_OIF]);
	} else if (ra.tb[RTA_MULTIPATH] &&
		   mnl_attr_get_payload_len(ra.tb[RTA_MULTIPATH]) >= sizeof(struct rtnexthop)) {
		/* ECMP: the first next hop's interface stands for all. */
		const struct rtnexthop *nh = mnl_attr_get_payload(ra.tb[RTA_MULTIPATH]);
		oif = nh->rtnh_ifindex;
	}
	if (oif > 0 && (best->ifindex == 0 || metric < best->metric)) {
		best->ifindex = oif;
		best->metric = metric;
	}
	return 0;
}

int netlink_default_route_dev(int family, char ifname[IF_NAMESIZE], char *err, size_t errlen)
{
	char buf[NL_REQUEST_SIZE], what[64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	struct default_route best = { .family = family };
	int ret;

	snprintf(what, sizeof(what), "looking up the %s default route",
		 family == AF_INET ? "IPv4" : "IPv6");
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	ret = nl_talk(nlh, default_route_msg, &best, 0, what, err, errlen);
	if (ret < 0)
		return ret;
	if (best.ifindex == 0) {
		errbuf_set(err, errlen, "%s: there is none (%s)", what,
			family == AF_INET ? "ip route show default" : "ip -6 route show default");
		return -ENETUNREACH;
	}
	if (!if_indextoname((unsigned)best.ifindex, ifname)) {
		ret = -errno;
		errbuf_set(err, errlen, "%s: interface %d has no name: %s", what, best.ifindex,
			strerror(errno));
		return ret;
	}
	return 0;
}
