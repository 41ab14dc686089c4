/*
 * nat.c - see nat.h.  The rules are nftables text run through
 * libnftables in one transaction (a failure applies nothing); the
 * forwarding switches are plain writes to /proc/sys.
 */
#include "nat.h"
#include "errbuf.h"
#include "log.h"
#include "netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FORWARD4 "/proc/sys/net/ipv4/ip_forward"
#define FORWARD6 "/proc/sys/net/ipv6/conf/all/forwarding"


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

/* "10.13.13.1/24" -> "10.13.13.0/24" of the expected family. */
static bool subnet_text(const char *in, int family, char out[64])
{
	struct netlink_prefix p;

	if (!in || !*in || !netlink_prefix_parse(&p, in) || p.family != family)
		return false;
	netlink_prefix_mask(&p);
	netlink_prefix_format(&p, out, 64);
	return true;
}

int nat_ruleset(char *buf, size_t len, const char *table, const char *ifname,
		const char *egress4, const char *subnet4, const char *egress6, const char *subnet6)
{
	char net4[64] = "", net6[64] = "";
	size_t off = 0;
	int n;

	if (!safe_ifname(ifname) || (egress4 && *egress4 && !safe_ifname(egress4)) ||
	    (egress6 && *egress6 && !safe_ifname(egress6)))
		return -EINVAL;
	if (egress4 && *egress4 && !subnet_text(subnet4, AF_INET, net4))
		return -EINVAL;
	if (egress6 && *egress6 && !subnet_text(subnet6, AF_INET6, net6))
		return -EINVAL;
	/* "add" then "delete" removes a table left by a crashed run without
	 * failing when there is none; the whole buffer is one transaction. */
	n = snprintf(buf, len,
		     "add table inet %s\n"
		     "delete table inet %s\n"
		     "table inet %s {\n"
		     "\tchain forward {\n"
		     "\t\ttype filter hook forward priority filter; policy accept;\n"
		     "\t\tiifname \"%s\" accept\n"
		     "\t\toifname \"%s\" ct state established,related accept\n"
		     "\t}\n"
		     "\tchain postrouting {\n"
		     "\t\ttype nat hook postrouting priority srcnat; policy accept;\n",
		     table, table, table, ifname, ifname);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	off = (size_t)n;
	if (*net4) {
		n = snprintf(buf + off, len - off, "\t\tip saddr %s oifname \"%s\" masquerade\n",
			     net4, egress4);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	if (*net6) {
		n = snprintf(buf + off, len - off, "\t\tip6 saddr %s oifname \"%s\" masquerade\n",
			     net6, egress6);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	n = snprintf(buf + off, len - off, "\t}\n}\n");
	if (n < 0 || (size_t)n >= len - off)
		return -ENOSPC;
	return 0;
}

int nat_run_nft(const char *script, const char *what, char *err, size_t errlen)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int ret = 0;

	if (!ctx) {
		errbuf_set(err, errlen, "%s: cannot create an nftables context", what);
		return -ENOMEM;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	if (nft_run_cmd_from_buffer(ctx, script) != 0) {
		const char *msg = nft_ctx_get_error_buffer(ctx);
		char one_line[512];
		size_t i;

		snprintf(one_line, sizeof(one_line), "%s", msg && *msg ? msg : "failed");
		for (i = 0; one_line[i]; i++)
			if (one_line[i] == '\n')
				one_line[i] = ' ';
		errbuf_set(err, errlen, "%s: nftables: %s", what, one_line);
		ret = -EIO;
	}
	nft_ctx_free(ctx);
	return ret;
}

/* Reads a /proc/sys value into old (trimmed) and writes "1".  0 or -errno. */
static int forwarding_on(const char *path, char old[8], char *err, size_t errlen)
{
	char buf[8] = "";
	ssize_t n;
	int fd, ret;

	/* Read first, write only if needed: a container's /proc/sys is
	 * read-only, and its engine may have switched forwarding on already
	 * (--sysctl net.ipv4.ip_forward=1). */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "enabling forwarding: cannot open %s: %s", path, strerror(errno));
		return ret;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	ret = n < 0 ? -errno : n == 0 ? -EIO : 0;
	close(fd);
	if (ret < 0) {
		errbuf_set(err, errlen, "enabling forwarding: cannot read %s", path);
		return ret;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!strcmp(buf, "1"))
		return 0;	/* already on: nothing to restore */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "enabling forwarding: cannot open %s for writing: %s (in a "
			   "container: --sysctl %s=1)", path, strerror(errno),
			   strstr(path, "ipv4") ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding");
		return ret;
	}
	if (write(fd, "1\n", 2) != 2) {
		ret = -errno;
		errbuf_set(err, errlen, "enabling forwarding: cannot write 1 to %s: %s", path,
			strerror(errno));
		close(fd);
		return ret;
	}
	close(fd);
	snprintf(old, 8, "%s", buf);
	return 0;
}

static void forwarding_restore(const char *path, char old[8])
{
	int fd;

	if (!old[0])
		return;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, old, strlen(old)) < 0)
		log_error("could not restore %s to %s: %s", path, old, strerror(errno));
	if (fd >= 0)
		close(fd);
	old[0] = '\0';
}

int nat_setup(struct nat *nat, const char *ifname, const char *subnet4, const char *subnet6,
	      char *err, size_t errlen)
{
	char script[2048], why4[256] = "", why6[256] = "";
	int ret;

	memset(nat, 0, sizeof(*nat));
	if (!safe_ifname(ifname)) {
		errbuf_set(err, errlen, "NAT: interface name \"%s\" cannot be used in a rule", ifname);
		return -EINVAL;
	}
	if (subnet4 && *subnet4 &&
	    netlink_default_route_dev(AF_INET, nat->egress4, why4, sizeof(why4)) < 0)
		nat->egress4[0] = '\0';
	if (subnet6 && *subnet6 &&
	    netlink_default_route_dev(AF_INET6, nat->egress6, why6, sizeof(why6)) < 0)
		nat->egress6[0] = '\0';
	if (!nat->egress4[0] && !nat->egress6[0]) {
		errbuf_set(err, errlen,
			"NAT: no egress interface: %s%s%s; add a default route or turn NAT off with --no-nat",
			why4[0] ? why4 : "no IPv4 subnet", "; ", why6[0] ? why6 : "no IPv6 subnet");
		return -ENETUNREACH;
	}
	if (!nat->egress4[0] && why4[0])
		log_error("NAT: IPv4 clients are not masqueraded: %s", why4);
	if (!nat->egress6[0] && why6[0])
		log_info("NAT: IPv6 clients are not masqueraded: %s", why6);
	/* Table names are identifiers: keep letters, digits and '_'. */
	snprintf(nat->table, sizeof(nat->table), "zerowg_%s", ifname);
	for (char *c = nat->table; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
			*c = '_';
	ret = nat_ruleset(script, sizeof(script), nat->table, ifname, nat->egress4, subnet4,
			  nat->egress6, subnet6);
	if (ret < 0) {
		errbuf_set(err, errlen, "NAT: subnets \"%s\" / \"%s\" cannot be used in a rule",
			subnet4 ? subnet4 : "", subnet6 ? subnet6 : "");
		goto fail;
	}
	ret = nat_run_nft(script, "NAT: creating table inet zerowg", err, errlen);
	if (ret < 0)
		goto fail;
	if (nat->egress4[0] && (ret = forwarding_on(FORWARD4, nat->old_forward4, err, errlen)) < 0)
		goto fail;
	if (nat->egress6[0] && (ret = forwarding_on(FORWARD6, nat->old_forward6, err, errlen)) < 0)
		goto fail;
	log_info("NAT: table inet %s, IPv4 out of %s, IPv6 out of %s", nat->table,
		 nat->egress4[0] ? nat->egress4 : "(none)", nat->egress6[0] ? nat->egress6 : "(none)");
	return 0;
fail:
	nat_teardown(nat);
	return ret;
}

void nat_describe(const struct nat *nat, char *buf, size_t len)
{
	char v4[IF_NAMESIZE + 16] = "", v6[IF_NAMESIZE + 16] = "";

	if (!nat->table[0]) {
		snprintf(buf, len, "NAT: off: clients reach this server and each other, not the "
			 "internet behind it; turn it on with --nat");
		return;
	}
	if (nat->egress4[0])
		snprintf(v4, sizeof(v4), "%s (IPv4)", nat->egress4);
	if (nat->egress6[0])
		snprintf(v6, sizeof(v6), "%s (IPv6)", nat->egress6);
	snprintf(buf, len, "NAT: clients' traffic to the internet leaves through %s%s%s, "
		 "masqueraded%s; turn it off with --no-nat", v4, v4[0] && v6[0] ? " and " : "", v6,
		 !v4[0] ? " (IPv4: no default route)" : !v6[0] ? " (IPv6: no default route)" : "");
}

void nat_teardown(struct nat *nat)
{
	char script[128], err[512];

	if (nat->table[0]) {
		/* "add" first so the delete cannot fail on a table someone
		 * already removed by hand. */
		snprintf(script, sizeof(script), "add table inet %s\ndelete table inet %s\n",
			 nat->table, nat->table);
		if (nat_run_nft(script, "NAT: deleting the table", err, sizeof(err)) < 0)
			log_error("%s", err);
		nat->table[0] = '\0';
	}
	forwarding_restore(FORWARD4, nat->old_forward4);
	forwarding_restore(FORWARD6, nat->old_forward6);
}
