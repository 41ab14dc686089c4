/*
 * appnet.c - names, addresses and ports of application networks
 * (appnet.h).  Pure functions: the caller gathers what the other apps
 * use and hands it in.
 */
#include "appnet.h"

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

bool appnet_name_valid(const char *name, struct control_error *e)
{
	size_t len, i;

	if (!name || !*name) {
		control_error_set(e, "name", "an app needs a name, such as \"web\" (1 to %d of "
				  "a-z, 0-9, _ and -)", APPNET_NAME_MAX);
		return false;
	}
	len = strnlen(name, APPNET_NAME_MAX + 1);
	if (len > APPNET_NAME_MAX) {
		control_error_set(e, "name", "app name \"%.*s...\" is longer than %d characters "
				  "(it names the interface and the network namespace)", 32, name,
				  APPNET_NAME_MAX);
		return false;
	}
	for (i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (i > 0 && (c == '_' || c == '-'));

		if (!ok) {
			control_error_set(e, "name", "app name \"%s\" is not valid: use 1 to %d of "
					  "a-z, 0-9, _ and -, starting with a letter or digit "
					  "(e.g. \"web\", \"db-1\")", name, APPNET_NAME_MAX);
			return false;
		}
	}
	return true;
}

void appnet_ula48(const uint8_t global_id[5], struct ip_prefix *out)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET6;
	out->len = 48;
	out->addr.bytes[0] = 0xfd;	/* fc00::/7 with L = 1 */
	memcpy(&out->addr.bytes[1], global_id, 5);
}

bool appnet_ula48_valid(const struct ip_prefix *p)
{
	struct ip_prefix m = *p;

	if (p->family != AF_INET6 || p->len != 48 || p->addr.bytes[0] != 0xfd)
		return false;
	model_prefix_mask(&m);
	return model_prefix_equal(&m, p);
}

static bool overlaps_any(const struct ip_prefix *p, const struct ip_prefix *used, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (used[i].family == p->family &&
		    (model_prefix_contains(&used[i], p) || model_prefix_contains(p, &used[i])))
			return true;
	return false;
}

int appnet_next_ipv4(const struct ip_prefix *pool, const struct ip_prefix *used, size_t n,
		     struct ip_prefix *out)
{
	struct ip_prefix base = *pool;
	uint32_t net, count, i;

	if (pool->family != AF_INET || pool->len > APPNET_IPV4_LEN)
		return -EINVAL;
	model_prefix_mask(&base);
	net = ntohl(base.addr.v4.s_addr);
	count = 1u << (APPNET_IPV4_LEN - pool->len);
	for (i = count > 1 ? 1 : 0; i < count; i++) {
		struct ip_prefix c = { .family = AF_INET, .len = APPNET_IPV4_LEN };

		c.addr.v4.s_addr = htonl(net + (i << (32 - APPNET_IPV4_LEN)));
		if (!overlaps_any(&c, used, n)) {
			*out = c;
			return 0;
		}
	}
	return -ENOSPC;
}

int appnet_next_ipv6(const struct ip_prefix *ula48, const struct ip_prefix *used, size_t n,
		     struct ip_prefix *out)
{
	struct ip_prefix base = *ula48;

	if (ula48->family != AF_INET6 || ula48->len != 48)
		return -EINVAL;
	model_prefix_mask(&base);
	for (uint32_t id = 1; id <= 0xffff; id++) {
		struct ip_prefix c = base;

		c.len = 64;
		c.addr.bytes[6] = (uint8_t)(id >> 8);
		c.addr.bytes[7] = (uint8_t)id;
		if (!overlaps_any(&c, used, n)) {
			*out = c;
			return 0;
		}
	}
	return -ENOSPC;
}

int appnet_next_port(uint16_t first, uint16_t last, const uint16_t *used, size_t n,
		     bool (*is_free)(uint16_t port, void *arg), void *arg, uint16_t *out)
{
	for (uint32_t port = first; port <= last && port > 0; port++) {
		bool taken = false;

		for (size_t i = 0; i < n && !taken; i++)
			taken = used[i] == port;
		if (taken || (is_free && !is_free((uint16_t)port, arg)))
			continue;
		*out = (uint16_t)port;
		return 0;
	}
	return -ENOSPC;
}

void appnet_first_host(const struct ip_prefix *subnet, struct ip_prefix *out)
{
	*out = *subnet;
	model_prefix_mask(out);
	if (out->family == AF_INET) {
		out->addr.v4.s_addr = htonl(ntohl(out->addr.v4.s_addr) + 1);
	} else {
		out->addr.bytes[15] |= 1;
	}
}
