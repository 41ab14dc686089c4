/*
 * firewall.c - see firewall.h.  The spec is three growable arrays; the
 * ruleset is nftables text run through libnftables as one transaction
 * ("add table; delete table; table {...}"), so a change replaces the old
 * rules with the new ones at one instant and never leaves a gap.
 */
#include "firewall.h"
#include "errbuf.h"
#include "firewall_rule.h"
#include "log.h"
#include "model.h"
#include "nat.h"
#include "textbuf.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---------------------------------------------------------- the spec -- */

void firewall_spec_clear(struct firewall_spec *spec)
{
	free(spec->src);
	free(spec->allow);
	free(spec->peers);
	memset(spec, 0, sizeof(*spec));
}

/* Room for one more of size bytes in *arr (n used, *cap allocated). */
static int grow(void **arr, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static bool prefix_ok(const struct netlink_prefix *p)
{
	struct netlink_prefix m = *p;

	if ((p->family != AF_INET && p->family != AF_INET6) ||
	    p->len > (p->family == AF_INET ? 32 : 128))
		return false;
	netlink_prefix_mask(&m);
	return !memcmp(m.addr, p->addr, sizeof(m.addr));
}

int firewall_spec_add_peer(struct firewall_spec *spec)
{
	struct firewall_peer *p;

	if (spec->n_peers == FIREWALL_MAX_PEERS)
		return -ENOSPC;
	if (grow((void **)&spec->peers, spec->n_peers, &spec->cap_peers, sizeof(*spec->peers)))
		return -ENOMEM;
	p = &spec->peers[spec->n_peers++];
	p->first_src = spec->n_src;
	p->n_src = 0;
	p->first_allow = spec->n_allow;
	p->n_allow = 0;
	return 0;
}

int firewall_spec_add_source(struct firewall_spec *spec, const struct netlink_prefix *src)
{
	struct firewall_peer *p = spec->n_peers ? &spec->peers[spec->n_peers - 1] : NULL;

	if (!p)
		return -EBADF;
	if (!prefix_ok(src))
		return -EINVAL;
	if (p->n_src == FIREWALL_MAX_SOURCES)
		return -ENOSPC;
	if (grow((void **)&spec->src, spec->n_src, &spec->cap_src, sizeof(*spec->src)))
		return -ENOMEM;
	spec->src[spec->n_src++] = *src;
	p->n_src++;
	return 0;
}

int firewall_spec_add_allow(struct firewall_spec *spec, const struct firewall_allow *a)
{
	struct firewall_peer *p = spec->n_peers ? &spec->peers[spec->n_peers - 1] : NULL;

	if (!p)
		return -EBADF;
	if (!prefix_ok(&a->dst) || (a->proto && a->proto != IPPROTO_TCP && a->proto != IPPROTO_UDP) ||
	    (!a->port_lo && a->port_hi) || a->port_lo > a->port_hi)
		return -EINVAL;
	if (p->n_allow == FIREWALL_MAX_ALLOWS)
		return -ENOSPC;
	if (grow((void **)&spec->allow, spec->n_allow, &spec->cap_allow, sizeof(*spec->allow)))
		return -ENOMEM;
	spec->allow[spec->n_allow++] = *a;
	p->n_allow++;
	return 0;
}

static bool prefix_same(const struct netlink_prefix *a, const struct netlink_prefix *b)
{
	return a->family == b->family && a->len == b->len && !memcmp(a->addr, b->addr, 16);
}

bool firewall_spec_equal(const struct firewall_spec *a, const struct firewall_spec *b)
{
	if (a->n_peers != b->n_peers || a->n_src != b->n_src || a->n_allow != b->n_allow)
		return false;
	for (size_t i = 0; i < a->n_peers; i++)
		if (a->peers[i].n_src != b->peers[i].n_src ||
		    a->peers[i].n_allow != b->peers[i].n_allow)
			return false;
	for (size_t i = 0; i < a->n_src; i++)
		if (!prefix_same(&a->src[i], &b->src[i]))
			return false;
	for (size_t i = 0; i < a->n_allow; i++) {
		const struct firewall_allow *x = &a->allow[i], *y = &b->allow[i];

		if (!prefix_same(&x->dst, &y->dst) || x->port_lo != y->port_lo ||
		    x->port_hi != y->port_hi || x->proto != y->proto)
			return false;
	}
	return true;
}

static void to_netlink(struct netlink_prefix *out, int family, const void *addr, unsigned len)
{
	memset(out, 0, sizeof(*out));
	out->family = family;
	out->len = (uint8_t)len;
	memcpy(out->addr, addr, family == AF_INET ? 4 : 16);
	netlink_prefix_mask(out);
}

int firewall_spec_from_peers(struct firewall_spec *spec, const struct peer_record *peers,
			     size_t n)
{
	struct netlink_prefix src;
	int ret = 0;

	firewall_spec_clear(spec);
	for (size_t i = 0; i < n && ret == 0; i++) {
		const struct peer_record *p = &peers[i];

		if (!p->has_firewall)
			continue;
		if ((ret = firewall_spec_add_peer(spec)))
			break;
		to_netlink(&src, AF_INET, &p->ipv4, 32);
		ret = firewall_spec_add_source(spec, &src);
		if (ret == 0 && p->has_ipv6) {
			to_netlink(&src, AF_INET6, &p->ipv6, 128);
			ret = firewall_spec_add_source(spec, &src);
		}
		for (size_t k = 0; ret == 0 && k < p->n_routes; k++) {
			to_netlink(&src, p->routes[k].family, p->routes[k].addr.bytes,
				   p->routes[k].len);
			ret = firewall_spec_add_source(spec, &src);
		}
		for (size_t k = 0; ret == 0 && k < p->n_firewall; k++) {
			const struct firewall_rule *r = &p->firewall[k];
			struct firewall_allow a = { .port_lo = r->port_lo, .port_hi = r->port_hi,
						    .proto = r->proto };

			to_netlink(&a.dst, r->dst.family, r->dst.addr.bytes, r->dst.len);
			ret = firewall_spec_add_allow(spec, &a);
		}
	}
	if (ret)
		firewall_spec_clear(spec);
	return ret;
}

/* ------------------------------------------------------- the ruleset -- */

/* Interface names go inside quotes in the script: refuse anything that
 * could end the string or start another statement. */
static bool safe_ifname(const char *s)
{
	if (!s || !*s || strlen(s) >= IF_NAMESIZE)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

void firewall_table_name(char *buf, size_t len, const char *ifname)
{
	snprintf(buf, len, "zerowg_fw_%s", ifname);
	for (char *c = buf + strlen("zerowg_fw_"); *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
			*c = '_';
}

/* A source and the peer it belongs to, for the dispatch rules. */
struct dispatch {
	const struct netlink_prefix *src;
	size_t peer;
};

/* Longest prefix first (WireGuard gives a packet to the peer with the
 * longest matching allowed IP); ties in the spec's order. */
static int cmp_dispatch(const void *x, const void *y)
{
	const struct dispatch *a = x, *b = y;

	if (a->src->len != b->src->len)
		return a->src->len > b->src->len ? -1 : 1;
	if (a->src != b->src)
		return a->src < b->src ? -1 : 1;
	return 0;
}

static const char *family_kw(int family)
{
	return family == AF_INET ? "ip" : "ip6";
}

static void allow_rule(struct textbuf *tb, const struct firewall_allow *a)
{
	char dst[64], ports[16] = "";

	netlink_prefix_format(&a->dst, dst, sizeof(dst));
	if (a->port_lo == a->port_hi && a->port_lo)
		snprintf(ports, sizeof(ports), "%u", a->port_lo);
	else if (a->port_lo)
		snprintf(ports, sizeof(ports), "%u-%u", a->port_lo, a->port_hi);
	textbuf_printf(tb, "\t\t%s daddr %s", family_kw(a->dst.family), dst);
	if (a->proto && ports[0])
		textbuf_printf(tb, " %s dport %s", a->proto == IPPROTO_TCP ? "tcp" : "udp", ports);
	else if (a->proto)
		textbuf_printf(tb, " meta l4proto %s", a->proto == IPPROTO_TCP ? "tcp" : "udp");
	else if (ports[0])
		textbuf_printf(tb, " meta l4proto { tcp, udp } th dport %s", ports);
	textbuf_printf(tb, " accept\n");
}

static void dispatch_rules(struct textbuf *tb, const char *ifname, const struct dispatch *d,
			   size_t n)
{
	char src[64];

	for (size_t i = 0; i < n; i++) {
		netlink_prefix_format(d[i].src, src, sizeof(src));
		textbuf_printf(tb, "\t\tiifname \"%s\" %s saddr %s jump peer%zu\n", ifname,
			       family_kw(d[i].src->family), src, d[i].peer);
	}
}

int firewall_ruleset(char **out, const char *ifname, const struct firewall_spec *spec)
{
	char table[IF_NAMESIZE + 16];
	struct textbuf tb = { 0 };
	struct dispatch *d = NULL;
	size_t k = 0;

	*out = NULL;
	if (!safe_ifname(ifname) || spec->n_peers > FIREWALL_MAX_PEERS)
		return -EINVAL;
	for (size_t i = 0; i < spec->n_peers; i++) {
		const struct firewall_peer *p = &spec->peers[i];

		if (p->n_src > FIREWALL_MAX_SOURCES || p->n_allow > FIREWALL_MAX_ALLOWS ||
		    p->first_src + p->n_src > spec->n_src ||
		    p->first_allow + p->n_allow > spec->n_allow)
			return -EINVAL;
	}
	firewall_table_name(table, sizeof(table), ifname);
	/* "add" then "delete" removes the old table (ours, or one a crashed
	 * run left) without failing when there is none. */
	textbuf_printf(&tb, "add table inet %s\ndelete table inet %s\n", table, table);
	if (spec->n_peers == 0)
		goto done;
	if (spec->n_src && !(d = calloc(spec->n_src, sizeof(*d)))) {
		free(textbuf_finish(&tb, NULL));
		return -ENOMEM;
	}
	for (size_t i = 0; i < spec->n_peers; i++)
		for (size_t s = 0; s < spec->peers[i].n_src; s++) {
			d[k].src = &spec->src[spec->peers[i].first_src + s];
			d[k++].peer = i;
		}
	if (k)
		qsort(d, k, sizeof(*d), cmp_dispatch);
	textbuf_printf(&tb, "table inet %s {\n", table);
	for (size_t i = 0; i < spec->n_peers; i++) {
		const struct firewall_peer *p = &spec->peers[i];

		textbuf_printf(&tb, "\tchain peer%zu {\n"
			       "\t\tct direction reply accept\n"
			       "\t\tct state related accept\n", i);
		for (size_t a = 0; a < p->n_allow; a++)
			allow_rule(&tb, &spec->allow[p->first_allow + a]);
		textbuf_printf(&tb, "\t\tmeta l4proto tcp reject with tcp reset\n"
			       "\t\treject with icmpx admin-prohibited\n\t}\n");
	}
	textbuf_printf(&tb, "\tchain forward {\n"
		       "\t\ttype filter hook forward priority filter - 10; policy accept;\n");
	dispatch_rules(&tb, ifname, d, k);
	/* The server itself: its DNS relay and ping for everyone; the rest
	 * (the web UI, ssh) as the peer's allow list says. */
	textbuf_printf(&tb, "\t}\n\tchain input {\n"
		       "\t\ttype filter hook input priority filter - 10; policy accept;\n"
		       "\t\tiifname \"%s\" udp dport 53 accept\n"
		       "\t\tiifname \"%s\" tcp dport 53 accept\n"
		       "\t\tiifname \"%s\" icmp type echo-request accept\n"
		       "\t\tiifname \"%s\" icmpv6 type echo-request accept\n",
		       ifname, ifname, ifname, ifname);
	dispatch_rules(&tb, ifname, d, k);
	textbuf_printf(&tb, "\t}\n}\n");
done:
	free(d);
	*out = textbuf_finish(&tb, NULL);
	return *out ? 0 : -ENOMEM;
}

/* --------------------------------------------------------- applying -- */

int firewall_apply(struct firewall *fw, const char *ifname, const struct firewall_spec *spec,
		   char *err, size_t errlen)
{
	char *script;
	int ret;

	ret = firewall_ruleset(&script, ifname, spec);
	if (ret < 0) {
		errbuf_set(err, errlen, "firewall: %s", ret == -ENOMEM ? "out of memory" :
			   "the interface name or the rules cannot be used in a ruleset");
		return ret;
	}
	ret = nat_run_nft(script, "firewall: replacing the table", err, errlen);
	free(script);
	if (ret < 0)
		return ret;
	if (spec->n_peers)
		firewall_table_name(fw->table, sizeof(fw->table), ifname);
	else
		fw->table[0] = '\0';
	log_info("firewall: %zu restricted peer%s", spec->n_peers, spec->n_peers == 1 ? "" : "s");
	return 0;
}

void firewall_teardown(struct firewall *fw)
{
	char script[128], err[512];

	if (!fw->table[0])
		return;
	snprintf(script, sizeof(script), "add table inet %s\ndelete table inet %s\n", fw->table,
		 fw->table);
	if (nat_run_nft(script, "firewall: deleting the table", err, sizeof(err)) < 0)
		log_error("%s", err);
	fw->table[0] = '\0';
}
