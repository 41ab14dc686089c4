/*
 * priv_msg.c - the codec of the privileged part's messages (priv.h): fixed
 * size structs in host byte order (both ends are one machine, one build),
 * checked field by field.  Pure functions, no I/O: the fuzzer
 * (tests/fuzz/priv_fuzz.c) drives them directly.
 *
 * A request is canonical: every field its op does not use is zero, so a
 * request that parses re-encodes to the same bytes.  A reply is checked on
 * the client side too: the server must not trust the privileged part's
 * message blindly any more than the other way round.
 */
#include "priv.h"
#include "errbuf.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static const char *const op_names[PRIV_OP__COUNT] = {
	[PRIV_OP_TUN_OPEN] = "TUN_OPEN",
	[PRIV_OP_UAPI_OPEN] = "UAPI_OPEN",
	[PRIV_OP_ADMIN_OPEN] = "ADMIN_OPEN",
	[PRIV_OP_ADDR_ADD] = "ADDR_ADD",
	[PRIV_OP_ADDR_DEL] = "ADDR_DEL",
	[PRIV_OP_ROUTE_ADD] = "ROUTE_ADD",
	[PRIV_OP_ROUTE_DEL] = "ROUTE_DEL",
	[PRIV_OP_LINK_SET] = "LINK_SET",
	[PRIV_OP_NAT_SETUP] = "NAT_SETUP",
	[PRIV_OP_NAT_TEARDOWN] = "NAT_TEARDOWN",
	[PRIV_OP_DNS_OPEN] = "DNS_OPEN",
	[PRIV_OP_FW_BEGIN] = "FW_BEGIN",
	[PRIV_OP_FW_PEER] = "FW_PEER",
	[PRIV_OP_FW_SOURCE] = "FW_SOURCE",
	[PRIV_OP_FW_ALLOW] = "FW_ALLOW",
	[PRIV_OP_FW_COMMIT] = "FW_COMMIT",
	[PRIV_OP_WEB_OPEN] = "WEB_OPEN",
};

/* Which request fields an op uses; the others must be zero. */
enum {
	USES_PREFIX = 1 << 0,	/* prefix required */
	USES_NAT = 1 << 1,	/* prefix (v4) and prefix6 (v6), each optional */
	USES_LINK = 1 << 2,	/* mtu, up */
	USES_PORT = 1 << 3,
	PASSES_FD = 1 << 4,
	USES_IFNAME = 1 << 5,
	USES_FW_PORTS = 1 << 6,	/* port..port_hi (both 0 or 1 <= port <= port_hi), proto */
};

static const unsigned op_shape[PRIV_OP__COUNT] = {
	[PRIV_OP_TUN_OPEN] = PASSES_FD | USES_IFNAME,
	[PRIV_OP_UAPI_OPEN] = PASSES_FD,
	[PRIV_OP_ADMIN_OPEN] = PASSES_FD,
	[PRIV_OP_ADDR_ADD] = USES_PREFIX,
	[PRIV_OP_ADDR_DEL] = USES_PREFIX,
	[PRIV_OP_ROUTE_ADD] = USES_PREFIX,
	[PRIV_OP_ROUTE_DEL] = USES_PREFIX,
	[PRIV_OP_LINK_SET] = USES_LINK,
	[PRIV_OP_NAT_SETUP] = USES_NAT,
	[PRIV_OP_NAT_TEARDOWN] = 0,
	[PRIV_OP_DNS_OPEN] = USES_PREFIX | USES_PORT | PASSES_FD,
	[PRIV_OP_FW_BEGIN] = 0,
	[PRIV_OP_FW_PEER] = 0,
	[PRIV_OP_FW_SOURCE] = USES_PREFIX,
	[PRIV_OP_FW_ALLOW] = USES_PREFIX | USES_FW_PORTS,
	[PRIV_OP_FW_COMMIT] = 0,
	[PRIV_OP_WEB_OPEN] = USES_PREFIX | USES_PORT | PASSES_FD,
};

static bool op_known(uint32_t op)
{
	return op > 0 && op < PRIV_OP__COUNT;
}

const char *priv_op_name(uint32_t op)
{
	return op_known(op) ? op_names[op] : "?";
}

bool priv_op_passes_fd(uint32_t op)
{
	return op_known(op) && (op_shape[op] & PASSES_FD);
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

/* family: the one required, or 0 for "AF_INET or AF_INET6". */
static int check_prefix(const struct priv_prefix *p, int family, const char *field, char *err,
			size_t errlen)
{
	unsigned max = p->family == AF_INET ? 32 : 128;

	if (p->family != AF_INET && p->family != AF_INET6) {
		errbuf_set(err, errlen, "%s: address family %u is neither AF_INET (%d) nor "
			   "AF_INET6 (%d)", field, p->family, AF_INET, AF_INET6);
		return -EINVAL;
	}
	if (family && p->family != family) {
		errbuf_set(err, errlen, "%s: an %s prefix is needed here, not %s", field,
			   family == AF_INET ? "IPv4" : "IPv6",
			   p->family == AF_INET ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	if (p->len > max) {
		errbuf_set(err, errlen, "%s: prefix length %u is longer than %u", field, p->len,
			   max);
		return -EINVAL;
	}
	if (!all_zero(p->reserved, sizeof(p->reserved)) ||
	    (p->family == AF_INET && !all_zero(p->addr + 4, 12))) {
		errbuf_set(err, errlen, "%s: reserved bytes are not zero", field);
		return -EINVAL;
	}
	return 0;
}

/* As the kernel's dev_valid_name(), and printable ASCII only: NUL-padded,
 * not empty, not "." or "..", no '/', ':' or space. */
static bool ifname_valid(const char name[IF_NAMESIZE])
{
	const char *nul = memchr(name, '\0', IF_NAMESIZE);

	if (!nul || nul == name || !all_zero(nul, (size_t)(name + IF_NAMESIZE - nul)))
		return false;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *c = name; c < nul; c++)
		if (*c <= ' ' || *c >= 0x7f || *c == '/' || *c == ':')
			return false;
	return true;
}

static bool prefix_absent(const struct priv_prefix *p)
{
	return all_zero(p, sizeof(*p));
}

/* A tunnel address, and so something to bind to: unicast only.  The
 * kernel takes 0.0.0.0/32 "added" without adding anything, and a helper
 * that remembered it as its own would then bind the wildcard (or
 * loopback) for the server: 0/8, 127/8, 224/3 (multicast and reserved),
 * ::, ::1, ff00::/8 and v4-mapped ::ffff:0:0/96 are refused. */
static bool unicast_addr(const struct priv_prefix *p)
{
	static const uint8_t zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (p->family == AF_INET)
		return p->addr[0] != 0 && p->addr[0] != 127 && p->addr[0] < 224;
	return memcmp(p->addr, zero, 15) != 0 && p->addr[0] != 0xff &&
	       memcmp(p->addr, mapped, sizeof(mapped)) != 0;
}

int priv_request_check(const struct priv_request *req, char *err, size_t errlen)
{
	unsigned shape;
	int ret;

	if (!op_known(req->op)) {
		errbuf_set(err, errlen, "unknown op %u", req->op);
		return -EINVAL;
	}
	shape = op_shape[req->op];
	if (req->reserved0 || req->reserved1 || req->reserved2) {
		errbuf_set(err, errlen, "%s: reserved bytes are not zero", op_names[req->op]);
		return -EINVAL;
	}
	if (shape & USES_IFNAME) {
		if (!ifname_valid(req->ifname)) {
			errbuf_set(err, errlen, "%s: the interface name is not a NUL-padded "
				   "name of 1 to %d characters without '/', ':' or spaces",
				   op_names[req->op], IF_NAMESIZE - 1);
			return -EINVAL;
		}
	} else if (!all_zero(req->ifname, sizeof(req->ifname))) {
		errbuf_set(err, errlen, "%s takes no interface name", op_names[req->op]);
		return -EINVAL;
	}
	if (shape & USES_PREFIX) {
		if ((ret = check_prefix(&req->prefix, 0, "prefix", err, errlen)) < 0)
			return ret;
	} else if (shape & USES_NAT) {
		if (prefix_absent(&req->prefix) && prefix_absent(&req->prefix6)) {
			errbuf_set(err, errlen, "%s: neither an IPv4 nor an IPv6 subnet",
				   op_names[req->op]);
			return -EINVAL;
		}
		if (!prefix_absent(&req->prefix) &&
		    (ret = check_prefix(&req->prefix, AF_INET, "subnet4", err, errlen)) < 0)
			return ret;
		if (!prefix_absent(&req->prefix6) &&
		    (ret = check_prefix(&req->prefix6, AF_INET6, "subnet6", err, errlen)) < 0)
			return ret;
	} else if (!prefix_absent(&req->prefix)) {
		errbuf_set(err, errlen, "%s takes no prefix", op_names[req->op]);
		return -EINVAL;
	}
	if (!(shape & USES_NAT) && !prefix_absent(&req->prefix6)) {
		errbuf_set(err, errlen, "%s takes no second prefix", op_names[req->op]);
		return -EINVAL;
	}
	if (shape & USES_LINK) {
		if (req->mtu != 0 && (req->mtu < 68 || req->mtu > 65535)) {
			errbuf_set(err, errlen, "%s: MTU %d is out of range (68..65535, or 0 to "
				   "keep it)", op_names[req->op], req->mtu);
			return -EINVAL;
		}
		if (req->up > 1) {
			errbuf_set(err, errlen, "%s: up is %u, not 0 or 1", op_names[req->op],
				   req->up);
			return -EINVAL;
		}
	} else if (req->mtu || req->up) {
		errbuf_set(err, errlen, "%s takes no MTU or link state", op_names[req->op]);
		return -EINVAL;
	}
	if (shape & USES_PORT) {
		if (!req->port) {
			errbuf_set(err, errlen, "%s: port 0", op_names[req->op]);
			return -EINVAL;
		}
	} else if (shape & USES_FW_PORTS) {
		if ((!req->port && req->port_hi) || req->port > req->port_hi) {
			errbuf_set(err, errlen, "%s: ports %u-%u are not a range (both 0 for every "
				   "port, else 1 <= first <= last)", op_names[req->op], req->port,
				   req->port_hi);
			return -EINVAL;
		}
		if (req->proto != 0 && req->proto != IPPROTO_TCP && req->proto != IPPROTO_UDP) {
			errbuf_set(err, errlen, "%s: protocol %u is not 0 (any), TCP (%d) or UDP "
				   "(%d)", op_names[req->op], req->proto, IPPROTO_TCP, IPPROTO_UDP);
			return -EINVAL;
		}
	} else if (req->port) {
		errbuf_set(err, errlen, "%s takes no port", op_names[req->op]);
		return -EINVAL;
	}
	if (!(shape & USES_FW_PORTS) && (req->port_hi || req->proto)) {
		errbuf_set(err, errlen, "%s takes no port range or protocol", op_names[req->op]);
		return -EINVAL;
	}
	/* The firewall's prefixes are networks, as nft wants them. */
	if (req->op == PRIV_OP_FW_SOURCE || req->op == PRIV_OP_FW_ALLOW) {
		struct netlink_prefix p, m;

		priv_prefix_decode(&p, &req->prefix);
		m = p;
		netlink_prefix_mask(&m);
		if (memcmp(p.addr, m.addr, sizeof(p.addr))) {
			errbuf_set(err, errlen, "%s: the prefix has host bits set",
				   op_names[req->op]);
			return -EINVAL;
		}
	}
	/* The web's listener: one address (not a subnet), no privileged port. */
	if (req->op == PRIV_OP_WEB_OPEN) {
		if (req->prefix.len != (req->prefix.family == AF_INET ? 32 : 128)) {
			errbuf_set(err, errlen, "%s: prefix length %u: an address is needed here "
				   "(/32 or /128), not a subnet", op_names[req->op],
				   req->prefix.len);
			return -EINVAL;
		}
		if (req->port < PRIV_WEB_PORT_MIN) {
			errbuf_set(err, errlen, "%s: port %u is below %d (the web listens on "
				   "%d..65535)", op_names[req->op], req->port, PRIV_WEB_PORT_MIN,
				   PRIV_WEB_PORT_MIN);
			return -EINVAL;
		}
	}
	if ((req->op == PRIV_OP_ADDR_ADD || req->op == PRIV_OP_DNS_OPEN ||
	     req->op == PRIV_OP_WEB_OPEN) && !unicast_addr(&req->prefix)) {
		errbuf_set(err, errlen, "%s: not a unicast tunnel address (0.0.0.0/8, 127.0.0.0/8, "
			   "224.0.0.0/3, ::, ::1, ff00::/8 and ::ffff:0:0/96 are refused)",
			   op_names[req->op]);
		return -EINVAL;
	}
	return 0;
}

int priv_request_parse(const void *buf, size_t len, struct priv_request *out, char *err,
		       size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (len != sizeof(*out)) {
		errbuf_set(err, errlen, "a request of %zu bytes (a request is %zu)", len,
			   sizeof(*out));
		return -EMSGSIZE;
	}
	/* No implicit padding (the static_asserts): the bytes are the fields. */
	memcpy(out, buf, sizeof(*out));
	ret = priv_request_check(out, err, errlen);
	if (ret < 0)
		memset(out, 0, sizeof(*out));
	return ret;
}

void priv_request_encode(const struct priv_request *req, void *buf)
{
	memcpy(buf, req, sizeof(*req));
}

int priv_reply_parse(const void *buf, size_t len, struct priv_reply *out, char *err,
		     size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (len != sizeof(*out)) {
		errbuf_set(err, errlen, "a reply of %zu bytes (a reply is %zu)", len, sizeof(*out));
		return -EMSGSIZE;
	}
	memcpy(out, buf, sizeof(*out));
	/* op 0: the refusal of a request that could not be read as one. */
	if (!op_known(out->op) && !(out->op == 0 && out->error < 0)) {
		errbuf_set(err, errlen, "a reply to unknown op %u", out->op);
		goto bad;
	}
	if (out->error > 0 || out->error < -4095) {
		errbuf_set(err, errlen, "%s: error %d is not 0 or a negative errno",
			   priv_op_name(out->op), out->error);
		goto bad;
	}
	if (out->ifindex > INT32_MAX) {
		errbuf_set(err, errlen, "%s: ifindex %u is out of range", priv_op_name(out->op),
			   out->ifindex);
		goto bad;
	}
	if ((out->offloads & ~PRIV_OFFLOAD_ALL) ||
	    ((out->offloads & (PRIV_OFFLOAD_TSO | PRIV_OFFLOAD_USO)) &&
	     !(out->offloads & PRIV_OFFLOAD_VNET))) {
		errbuf_set(err, errlen, "%s: offload flags 0x%x are not a valid set",
			   priv_op_name(out->op), out->offloads);
		goto bad;
	}
	if (!memchr(out->ifname, '\0', sizeof(out->ifname))) {
		errbuf_set(err, errlen, "%s: the interface name is not NUL-terminated",
			   priv_op_name(out->op));
		goto bad;
	}
	if (!memchr(out->msg, '\0', sizeof(out->msg))) {
		errbuf_set(err, errlen, "%s: the message is not NUL-terminated",
			   priv_op_name(out->op));
		goto bad;
	}
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

void priv_reply_encode(const struct priv_reply *rep, void *buf)
{
	memcpy(buf, rep, sizeof(*rep));
}

int priv_prefix_encode(struct priv_prefix *out, const struct netlink_prefix *p)
{
	memset(out, 0, sizeof(*out));
	if (p->family == AF_INET && p->len <= 32) {
		memcpy(out->addr, p->addr, 4);
	} else if (p->family == AF_INET6 && p->len <= 128) {
		memcpy(out->addr, p->addr, 16);
	} else {
		return -EINVAL;
	}
	out->family = (uint8_t)p->family;
	out->len = p->len;
	return 0;
}

void priv_prefix_decode(struct netlink_prefix *out, const struct priv_prefix *p)
{
	memset(out, 0, sizeof(*out));
	out->family = p->family;
	out->len = p->len;
	memcpy(out->addr, p->addr, p->family == AF_INET ? 4 : 16);
}
