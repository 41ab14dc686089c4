/*
 * uapi.c - the data model of the cross-platform userspace API
 * (wireguard.com/xplatform) and the text of its values: struct uapi_config
 * built and wiped, decimal numbers, hex keys, endpoints and allowed IPs
 * parsed as wireguard-go's device/uapi.go parses them.
 *
 * The rest of the module, each on this file (declarations for the other
 * uapi*.c files in uapi_internal.h):
 *   uapi_parser.c  what both line parsers share (errors, the key index);
 *   uapi_set.c     a "set" body parsed into a config (the daemon side);
 *   uapi_format.c  a config formatted as a "get" answer or a "set" request;
 *   uapi_get.c     a "get" answer parsed into a config (the client side).
 *
 * Relies on: encoding.h (hex keys), inet_pton/inet_ntop for addresses and
 * if_nametoindex/if_indextoname for IPv6 scopes.  Nothing here resolves
 * host names: `wg` resolves before it sends.
 */
#include "uapi.h"
#include "uapi_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"

void uapi_config_init(struct uapi_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

void uapi_config_free(struct uapi_config *cfg)
{
	for (size_t i = 0; i < cfg->n_peers; i++)
		free(cfg->peers[i].allowed_ips);
	if (cfg->peers) {
		/* the whole array: every preshared_key, used or not */
		explicit_bzero(cfg->peers, cfg->cap_peers * sizeof(*cfg->peers));
		free(cfg->peers);
	}
	explicit_bzero(cfg->private_key, sizeof(cfg->private_key));
	uapi_config_init(cfg);
}

struct uapi_peer *uapi_config_add_peer(struct uapi_config *cfg)
{
	struct uapi_peer *p;

	if (cfg->n_peers == cfg->cap_peers) {
		size_t cap = cfg->cap_peers ? cfg->cap_peers * 2 : 8;
		struct uapi_peer *np;

		if (cap < cfg->cap_peers || cap > SIZE_MAX / sizeof(*np)) {
			errno = ENOMEM;
			return NULL;
		}
		/* Not realloc: the old block holds preshared keys and must be
		 * wiped before it goes back to the allocator. */
		np = calloc(cap, sizeof(*np));
		if (!np)
			return NULL;
		if (cfg->peers) {
			memcpy(np, cfg->peers, cfg->n_peers * sizeof(*np));
			explicit_bzero(cfg->peers, cfg->cap_peers * sizeof(*np));
			free(cfg->peers);
		}
		cfg->peers = np;
		cfg->cap_peers = cap;
	}
	p = &cfg->peers[cfg->n_peers++];
	memset(p, 0, sizeof(*p));
	return p;
}

int uapi_peer_add_allowed_ip(struct uapi_peer *p, int family, const uint8_t *addr, uint8_t cidr)
{
	struct uapi_allowed_ip *a;
	size_t alen;

	if (family == AF_INET && cidr <= 32)
		alen = 4;
	else if (family == AF_INET6 && cidr <= 128)
		alen = 16;
	else
		return -EINVAL;
	if (p->n_allowed_ips == p->cap_allowed_ips) {
		size_t cap = p->cap_allowed_ips ? p->cap_allowed_ips * 2 : 4;

		if (cap < p->cap_allowed_ips || cap > SIZE_MAX / sizeof(*a))
			return -ENOMEM;
		/* addresses are not secret: realloc is fine here */
		a = realloc(p->allowed_ips, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		p->allowed_ips = a;
		p->cap_allowed_ips = cap;
	}
	a = &p->allowed_ips[p->n_allowed_ips++];
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->addr, addr, alen);
	a->cidr = cidr;
	return 0;
}

/* ---- values, on (pointer, length) so lines need no copying (the
 * contracts are in uapi_internal.h) ---- */

bool uapi_parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint64_t d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (uint64_t)(s[i] - '0');
		if (d > max || v > (max - d) / 10)	/* v * 10 + d > max, no overflow */
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool uapi_parse_key(const char *s, size_t n, uint8_t key[UAPI_KEY_LEN])
{
	char buf[KEY_HEX_LEN + 1];
	bool ok;

	if (n != KEY_HEX_LEN)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	ok = key_from_hex(key, buf);
	explicit_bzero(buf, sizeof(buf));
	if (!ok)
		explicit_bzero(key, UAPI_KEY_LEN);
	return ok;
}

bool uapi_str_is(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n == l && memcmp(s, lit, l) == 0;
}

bool uapi_copy_value(char *buf, size_t cap, const char *s, size_t n)
{
	if (n >= cap || memchr(s, '\0', n))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

int uapi_parse_endpoint_why(const char *s, union uapi_sockaddr *out, const char **why)
{
	char host[INET6_ADDRSTRLEN], name[IF_NAMESIZE];
	const char *port, *close, *pct;
	size_t hlen;
	uint64_t v;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		*why = "is not [IPv6]:port";
		close = strchr(s, ']');
		if (!close || close[1] != ':')
			goto bad;
		port = close + 2;
		hlen = (size_t)(close - (s + 1));
		pct = memchr(s + 1, '%', hlen);
		if (pct)
			hlen = (size_t)(pct - (s + 1));
		*why = "is not an IPv6 address";
		if (hlen >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &out->sin6.sin6_addr) != 1)
			goto bad;
		if (pct) {
			const char *scope = pct + 1;
			size_t slen = (size_t)(close - scope);

			*why = "has a %scope that names no interface";
			if (uapi_parse_uint(scope, slen, UINT32_MAX, &v)) {
				out->sin6.sin6_scope_id = (uint32_t)v;
			} else {
				if (slen == 0 || slen >= sizeof(name))
					goto bad;
				memcpy(name, scope, slen);
				name[slen] = '\0';
				out->sin6.sin6_scope_id = if_nametoindex(name);
				if (out->sin6.sin6_scope_id == 0)
					goto bad;
			}
		}
		out->sin6.sin6_family = AF_INET6;
	} else {
		const char *colon = strrchr(s, ':');

		*why = "has no :port";
		if (!colon)
			goto bad;
		hlen = (size_t)(colon - s);
		*why = "needs [brackets] around an IPv6 address";
		if (memchr(s, ':', hlen))
			goto bad;
		*why = "is not an IPv4 address";
		if (hlen >= sizeof(host))
			goto bad;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, &out->sin.sin_addr) != 1)
			goto bad;
		out->sin.sin_family = AF_INET;
		port = colon + 1;
	}
	/* Port 0 passes, as in wireguard-go (netip.ParseAddrPort). */
	*why = "has an invalid port";
	if (!uapi_parse_uint(port, strlen(port), 65535, &v))
		goto bad;
	if (out->sa.sa_family == AF_INET)
		out->sin.sin_port = htons((uint16_t)v);
	else
		out->sin6.sin6_port = htons((uint16_t)v);
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

int uapi_parse_endpoint(const char *s, union uapi_sockaddr *out)
{
	const char *why;

	return uapi_parse_endpoint_why(s, out, &why);
}

void uapi_format_endpoint(const union uapi_sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	char scope[IF_NAMESIZE + 2];

	if (len == 0)
		return;
	buf[0] = '\0';
	if (sa->sa.sa_family == AF_INET) {
		if (!inet_ntop(AF_INET, &sa->sin.sin_addr, host, sizeof(host)))
			return;
		snprintf(buf, len, "%s:%u", host, (unsigned)ntohs(sa->sin.sin_port));
	} else if (sa->sa.sa_family == AF_INET6) {
		if (!inet_ntop(AF_INET6, &sa->sin6.sin6_addr, host, sizeof(host)))
			return;
		scope[0] = '\0';
		if (sa->sin6.sin6_scope_id) {
			char name[IF_NAMESIZE];

			/* the name, as the user wrote it, if the interface
			 * still exists; the number otherwise */
			if (if_indextoname(sa->sin6.sin6_scope_id, name))
				snprintf(scope, sizeof(scope), "%%%s", name);
			else
				snprintf(scope, sizeof(scope), "%%%u",
					 (unsigned)sa->sin6.sin6_scope_id);
		}
		snprintf(buf, len, "[%s%s]:%u", host, scope,
			 (unsigned)ntohs(sa->sin6.sin6_port));
	}
}

int uapi_parse_allowed_ip_why(const char *s, struct uapi_allowed_ip *out, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	memset(out, 0, sizeof(*out));
	*why = "is not an address";
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	out->cidr = (uint8_t)max;	/* a bare address is one host */
	if (slash) {
		const char *bits = slash + 1;
		size_t blen = strlen(bits);
		uint64_t v;

		/* as netip.ParsePrefix: no sign, no leading zero */
		if (blen == 0 || blen > 3 || (blen > 1 && bits[0] == '0') ||
		    !uapi_parse_uint(bits, blen, max, &v)) {
			memset(out, 0, sizeof(*out));
			*why = "has an invalid prefix length";
			return -EINVAL;
		}
		out->cidr = (uint8_t)v;
	}
	return 0;
}

int uapi_parse_allowed_ip(const char *s, struct uapi_allowed_ip *out)
{
	const char *why;

	return uapi_parse_allowed_ip_why(s, out, &why);
}

bool uapi_key_is_zero(const uint8_t key[UAPI_KEY_LEN])
{
	uint8_t acc = 0;

	for (size_t i = 0; i < UAPI_KEY_LEN; i++)
		acc |= key[i];
	return acc == 0;
}
