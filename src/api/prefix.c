/*
 * prefix.c - address ranges for --metrics-allow and --trusted-proxy
 * (api.h): parse "ADDR[/LEN]", match a peer's socket address (an IPv4
 * client on an IPv6 socket arrives v4-mapped and matches IPv4 ranges).
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_prefix_parse(struct api_prefix *p, const char *text, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max;
	char *end;

	memset(p, 0, sizeof(*p));
	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, p->addr) == 1) {
		p->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, p->addr) == 1) {
		p->family = AF_INET6;
		max = 128;
	} else {
		goto bad;
	}
	p->len = (uint8_t)max;
	if (slash) {
		unsigned long v;

		errno = 0;
		v = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || v > max || slash[1] == '-' || slash[1] == '+')
			goto bad;
		p->len = (uint8_t)v;
	}
	return 0;
bad:
	snprintf(err, errlen, "\"%.80s\" is not an address or an ADDRESS/LENGTH range (like "
		 "127.0.0.1, ::1 or 192.168.1.0/24)", text);
	return -EINVAL;
}

static bool prefix_has(const struct api_prefix *p, int family, const uint8_t *a)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (p->family != family)
		return false;
	if (memcmp(p->addr, a, full))
		return false;
	return !rest || ((p->addr[full] ^ a[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool api_prefix_match(const struct api_prefix *p, size_t n, const struct sockaddr_storage *ss)
{
	const uint8_t *a;
	int family = ss->ss_family;

	if (family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		a = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			a += 12;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (prefix_has(&p[i], family, a))
			return true;
	return false;
}
