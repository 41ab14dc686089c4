/*
 * serverops.c - the server record's operations (control.h): creating it
 * (`zerowg init`), applying flags and environment to it (`zerowg up`),
 * and importing a wg-quick server config (`zerowg import`).
 *
 * The server key pair is made here once and then only ever read back
 * from the store, which is what keeps the server's identity stable across
 * restarts.  An import is checked whole before its first write; its peer
 * writes use STORE_NEW and a peer that is already there with the same
 * public key counts as done, so an import that was interrupted can simply
 * be run again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control_internal.h"
#include "crypto.h"
#include "ipalloc.h"
#include "wgconf.h"

/* "host" of an endpoint: without its port, brackets kept. */
static void endpoint_host(const char *ep, char *buf, size_t len)
{
	const char *colon = strchr(ep, ':');

	if (ep[0] == '[') {
		const char *end = strchr(ep, ']');
		snprintf(buf, len, "%.*s", end ? (int)(end - ep + 1) : (int)strlen(ep), ep);
	} else if (colon && !strchr(colon + 1, ':')) {
		snprintf(buf, len, "%.*s", (int)(colon - ep), ep);
	} else {
		snprintf(buf, len, "%s", ep);	/* "host" or a bare IPv6 address */
	}
}

static int replace_str(char **dst, const char *v)
{
	char *s = NULL;

	if (v && !(s = strdup(v)))
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

/* Applies the settings in opt to s.  creating: s is new (defaults set). */
static int apply_settings(struct server_record *s, const struct server_options *opt, bool creating,
			  struct control_error *e)
{
	int ret = 0;

	if (opt->interface)
		snprintf(s->interface, sizeof(s->interface), "%s", opt->interface);
	if (opt->listen_port)
		s->listen_port = opt->listen_port;
	if (opt->has_subnet) {
		struct in_addr net = ipalloc_network(opt->subnet, opt->subnet_prefix);
		char was[INET_ADDRSTRLEN], now[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &s->ipv4, was, sizeof(was));
		/* the server takes the first host address */
		s->ipv4.s_addr = htonl(ntohl(net.s_addr) + 1);
		s->ipv4_prefix = opt->subnet_prefix;
		/* DNS "auto" is stored as the address it meant: it follows the
		 * server to the new subnet, or clients would ask an address
		 * nobody answers on. */
		inet_ntop(AF_INET, &s->ipv4, now, sizeof(now));
		if (!opt->dns && s->dns && !strcmp(s->dns, was))
			ret |= replace_str(&s->dns, now);
	}
	if (opt->endpoint || (opt->endpoint_port && s->endpoint)) {
		char host[300], ep[320];
		const char *base = opt->endpoint ? opt->endpoint : s->endpoint;

		if (opt->endpoint_port) {
			endpoint_host(base, host, sizeof(host));
			snprintf(ep, sizeof(ep), strchr(host, ':') && host[0] != '[' ? "[%s]:%u" : "%s:%u",
				 host, opt->endpoint_port);
		} else {
			snprintf(ep, sizeof(ep), "%s", base);
		}
		ret |= replace_str(&s->endpoint, ep);
	}
	if (opt->dns) {
		char a[INET_ADDRSTRLEN];
		if (!strcmp(opt->dns, "auto")) {
			inet_ntop(AF_INET, &s->ipv4, a, sizeof(a));
			ret |= replace_str(&s->dns, a);
		} else {
			ret |= replace_str(&s->dns, *opt->dns ? opt->dns : NULL);
		}
	}
	if (opt->client_allowed_ips)
		ret |= replace_str(&s->client_allowed_ips, opt->client_allowed_ips);
	if (opt->persistent_keepalive >= 0)
		s->persistent_keepalive = (uint16_t)opt->persistent_keepalive;
	if (opt->mtu > 0)
		s->mtu = (uint16_t)opt->mtu;
	if (opt->nat >= 0)
		s->nat = opt->nat != 0;
	if (ret) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	(void)creating;
	return 0;
}

/*
 * The defaults of a new server record that make a full-tunnel client work
 * out of the box, as wg-easy and linuxserver/wireguard do: NAT on (the
 * clients' traffic leaves through the default route, masqueraded) and DNS
 * "auto" (clients ask the server's tunnel address, where the server's DNS
 * relay answers: src/server/dns.h).  Only the IPv4 address: the relay
 * listens there alone, and AAAA answers come back over IPv4 just as well;
 * a second, IPv6 entry would be one more server for a client to try and
 * time out on if IPv6 inside the tunnel is broken on its side.  Records
 * that exist keep what they have: `zerowg up --nat` (stored) turns NAT on
 * for an old store.
 */
static int set_new_record_defaults(struct server_record *s)
{
	char a[INET_ADDRSTRLEN];

	s->nat = true;
	inet_ntop(AF_INET, &s->ipv4, a, sizeof(a));
	return replace_str(&s->dns, a);
}

int control_init_server(struct store *st, const struct server_options *opt,
			struct control_error *e)
{
	struct server_options defaults;
	struct server_record s = { 0 };
	struct ip_prefix sub;
	char *buf = NULL;
	size_t len = 0;
	uint8_t *old;
	size_t old_len;
	uint64_t ver;
	int ret;

	control_error_clear(e);
	model_json_wipe_on_free();
	ret = store_get(st, MODEL_STORE_SERVER, &old, &old_len, &ver);
	if (ret == 0) {
		store_value_free(old, old_len);
		control_error_set(e, NULL, "the store %s already has a server record (it was "
				  "initialised before); `zerowg up` uses it", store_describe(st));
		return -EEXIST;
	}
	if (ret != -ENOENT)
		return ctl_store_error(e, ret, MODEL_STORE_SERVER);
	server_options_init(&defaults);
	if (!opt)
		opt = &defaults;

	if (!x25519_generate_secret(s.private_key)) {
		control_error_set(e, NULL, "could not generate the server key (libcrypto failed)");
		return -EIO;
	}
	s.listen_port = MODEL_DEFAULT_PORT;
	snprintf(s.interface, sizeof(s.interface), "%s", MODEL_DEFAULT_INTERFACE);
	if (model_parse_prefix(MODEL_DEFAULT_SUBNET, &sub, false) != 0)
		abort();	/* a constant */
	s.ipv4.s_addr = htonl(ntohl(sub.addr.v4.s_addr) + 1);
	s.ipv4_prefix = sub.len;
	if (ipalloc_ula_generate(&s.ipv6)) {
		control_error_set(e, NULL, "could not generate the IPv6 prefix (no randomness)");
		ret = -EIO;
		goto out;
	}
	s.ipv6.s6_addr[15] = 1;
	s.ipv6_prefix = 64;
	s.mtu = MODEL_DEFAULT_MTU;
	s.created = (int64_t)time(NULL);
	if (!(s.client_allowed_ips = strdup(MODEL_DEFAULT_CLIENT_ALLOWED_IPS)) ||
	    set_new_record_defaults(&s)) {
		control_error_set(e, NULL, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	/* --subnet moves the DNS default with the address; --dns and
	 * --no-nat override the defaults. */
	if ((ret = apply_settings(&s, opt, true, e)))
		goto out;
	if (!model_server_validate(&s, e)) {
		ret = -EINVAL;
		goto out;
	}
	if ((ret = model_server_encode(&s, &buf, &len))) {
		control_error_set(e, NULL, "out of memory");
		goto out;
	}
	ret = store_put(st, MODEL_STORE_SERVER, (const uint8_t *)buf, len, STORE_NEW, NULL);
	if (ret == -ESTALE) {
		control_error_set(e, NULL, "the store %s already has a server record (another "
				  "process initialised it just now)", store_describe(st));
		ret = -EEXIST;
	} else if (ret) {
		ctl_store_error(e, ret, MODEL_STORE_SERVER);
	}
out:
	model_buffer_free(buf, len);
	model_server_free(&s);
	return ret;
}

static bool listed(char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

static bool same_record(const struct server_record *a, const struct server_record *b)
{
	char *ea = NULL, *eb = NULL;
	size_t la = 0, lb = 0;
	bool same;

	if (model_server_encode(a, &ea, &la) || model_server_encode(b, &eb, &lb))
		same = false;
	else
		same = la == lb && !memcmp(ea, eb, la);
	model_buffer_free(ea, la);
	model_buffer_free(eb, lb);
	return same;
}

/* Writes the server settings of opt; caller holds the lock. */
static int apply_server_locked(struct control *ctl, const struct server_options *opt,
			       struct events *evs, struct control_error *e)
{
	int attempt, ret;

	for (attempt = 0; attempt < CAS_RETRIES; attempt++) {
		struct server_record s;

		if ((ret = model_server_copy(&s, &ctl->server, true))) {
			control_error_set(e, NULL, "out of memory");
			return ret;
		}
		if (opt->has_subnet && ctl->n_peers &&
		    (ipalloc_network(opt->subnet, opt->subnet_prefix).s_addr !=
			     ipalloc_network(s.ipv4, s.ipv4_prefix).s_addr ||
		     opt->subnet_prefix != s.ipv4_prefix)) {
			char now[INET_ADDRSTRLEN], want[INET_ADDRSTRLEN];
			struct in_addr net = ipalloc_network(s.ipv4, s.ipv4_prefix);

			inet_ntop(AF_INET, &net, now, sizeof(now));
			inet_ntop(AF_INET, &opt->subnet, want, sizeof(want));
			control_error_set(e, "subnet", "the subnet is %s/%u and %zu peers have addresses "
					  "in it: moving to %s/%u would cut them off (revoke them first, "
					  "or leave --subnet / INTERNAL_SUBNET as it was)", now,
					  s.ipv4_prefix, ctl->n_peers, want, opt->subnet_prefix);
			model_server_free(&s);
			return -EBUSY;
		}
		if ((ret = apply_settings(&s, opt, false, e)) ||
		    (!model_server_validate(&s, e) && (ret = -EINVAL))) {
			model_server_free(&s);
			return ret;
		}
		if (same_record(&s, &ctl->server)) {
			model_server_free(&s);
			return 0;
		}
		ret = ctl_put_server(ctl, &s, e);
		if (ret == 0) {
			model_server_free(&ctl->server);
			ctl->server = s;
			ctl_events_add(evs, NULL, CONTROL_EVENT_SERVER_UPDATE);
			return 0;
		}
		model_server_free(&s);
		if (ret != -ESTALE)
			return ret;
		ctl_cas_backoff(attempt);
		if ((ret = ctl_reload_locked(ctl, e)))
			return ret;
	}
	control_error_set(e, NULL, "the store is busy: the server record kept changing; try again");
	return -EBUSY;
}

int control_apply_options(struct control *ctl, const struct server_options *opt,
			  const struct actor *actor, struct control_error *e)
{
	struct events evs = { .actor = actor };
	size_t i, j;
	int ret;

	control_error_clear(e);
	pthread_mutex_lock(&ctl->lock);
	if ((ret = apply_server_locked(ctl, opt, &evs, e)))
		goto out;
	for (i = 0; i < opt->n_peers; i++) {
		const char *name = opt->peers[i];
		bool keepalive = opt->keepalive_all_peers ||
				 listed(opt->keepalive_peers, opt->n_keepalive_peers, name);
		const char *routes = NULL;

		for (j = 0; j < opt->n_peer_routes; j++)
			if (!strcmp(opt->peer_routes[j].peer, name))
				routes = opt->peer_routes[j].routes;
		if (ctl_find_peer(ctl, name) < 0) {
			struct peer_add_request req = {
				.name = name, .keep_key = true,
				.persistent_keepalive = keepalive ? MODEL_DEFAULT_KEEPALIVE : -1,
			};
			struct peer_add_result res;
			char **list = NULL;
			size_t n = 0;

			if (routes) {
				/* the request takes one string per route */
				char *copy = strdup(routes), *tok, *save = NULL;
				if (!copy) {
					ret = -ENOMEM;
					goto out;
				}
				for (tok = strtok_r(copy, ", \t", &save); tok;
				     tok = strtok_r(NULL, ", \t", &save)) {
					char **grown = realloc(list, (n + 1) * sizeof(*list));
					if (!grown)
						break;
					list = grown;
					list[n++] = tok;
				}
				req.routes = (const char *const *)list;
				req.n_routes = n;
				ret = ctl_peer_add_locked(ctl, &req, &res, &evs, e);
				free(list);
				free(copy);
			} else {
				ret = ctl_peer_add_locked(ctl, &req, &res, &evs, e);
			}
			if (ret)
				goto out;
			control_peer_add_result_free(&res);
		} else if (keepalive || routes) {
			ret = ctl_update_peer_locked(ctl, name, keepalive ? MODEL_DEFAULT_KEEPALIVE : -1,
						     routes, &evs, e);
			if (ret)
				goto out;
		}
	}
	/* PERSISTENTKEEPALIVE_PEERS also reaches peers that PEERS does not name. */
	for (i = 0; i < ctl->n_peers; i++) {
		const char *name = ctl->peers[i].name;
		if (listed(opt->peers, opt->n_peers, name))
			continue;
		if ((opt->keepalive_all_peers ||
		     listed(opt->keepalive_peers, opt->n_keepalive_peers, name)) &&
		    ctl->peers[i].persistent_keepalive != MODEL_DEFAULT_KEEPALIVE) {
			char copy[MODEL_NAME_MAX + 1];
			snprintf(copy, sizeof(copy), "%s", name);
			if ((ret = ctl_update_peer_locked(ctl, copy, MODEL_DEFAULT_KEEPALIVE, NULL,
							  &evs, e)))
				goto out;
		}
	}
out:
	ctl_unlock_and_notify(ctl, &evs);
	return ret;
}

/* ---- import ---- */

struct planned {
	struct peer_record rec;
	bool skip;		/* already in the store with this key */
	bool needs_address;
	int line;
};

static int warn(char ***w, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int warn(char ***w, size_t *n, const char *fmt, ...)
{
	char **grown, *msg;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	grown = realloc(*w, (*n + 1) * sizeof(*grown));
	if (!grown) {
		free(msg);
		return -ENOMEM;
	}
	*w = grown;
	grown[(*n)++] = msg;
	return 0;
}

static bool name_taken(const struct control *ctl, const struct planned *pl, size_t n_pl,
		       const struct wgconf *c, const char *name)
{
	size_t i;

	if (ctl_find_peer(ctl, name) >= 0)
		return true;
	for (i = 0; i < n_pl; i++)
		if (!strcmp(pl[i].rec.name, name))
			return true;
	for (i = 0; i < c->n_peers; i++)
		if (c->peers[i].name && !strcmp(c->peers[i].name, name))
			return true;
	return false;
}

/* The server record the import describes. */
static int import_server(struct control *ctl, const struct wgconf *c, struct server_record *s,
			 char ***w, size_t *nw, struct control_error *e)
{
	bool has4 = false, has6 = false;
	size_t i;
	int ret;

	if (!c->has_private_key) {
		control_error_set(e, "private_key", "the config has no PrivateKey in [Interface]: it "
				  "is not a server config");
		return -EINVAL;
	}
	if ((ret = model_server_copy(s, &ctl->server, true)))
		return ret;
	memcpy(s->private_key, c->private_key, MODEL_KEY_LEN);
	if (c->listen_port)
		s->listen_port = c->listen_port;
	else if ((ret = warn(w, nw, "the config has no ListenPort; the server keeps port %u",
			     s->listen_port)))
		return ret;
	if (c->mtu)
		s->mtu = c->mtu;
	for (i = 0; i < c->n_addresses; i++) {
		const struct ip_prefix *a = &c->addresses[i];
		char t[MODEL_PREFIX_STRLEN];

		if (a->family == AF_INET && !has4) {
			model_format_prefix(a, t, sizeof(t));
			if (a->len == 32) {
				/* linuxserver writes "Address = 10.13.13.1" */
				char h[INET_ADDRSTRLEN];
				inet_ntop(AF_INET, &a->addr.v4, h, sizeof(h));
				if ((ret = warn(w, nw, "Address %s has no prefix; the subnet is taken "
						"as %s/24 (as linuxserver/wireguard does)", h, h)))
					return ret;
				s->ipv4 = a->addr.v4;
				s->ipv4_prefix = 24;
				has4 = true;
				continue;
			}
			if (a->len < 8 || a->len > 30) {
				control_error_set(e, "ipv4", "Address %s: the server's address needs the "
						  "prefix of its subnet, from /8 to /30 (for example "
						  "10.13.13.1/24)", t);
				return -EINVAL;
			}
			s->ipv4 = a->addr.v4;
			s->ipv4_prefix = a->len;
			has4 = true;
		} else if (a->family == AF_INET6 && !has6) {
			s->ipv6 = a->addr.v6;
			s->ipv6_prefix = a->len;
			has6 = true;
		} else if ((ret = warn(w, nw, "Address: only the first IPv4 and the first IPv6 "
				       "address are used")))
			return ret;
	}
	if (!has4) {
		control_error_set(e, "ipv4", "the config has no IPv4 Address in [Interface] (zerowg "
				  "needs one, such as 10.13.13.1/24)");
		return -EINVAL;
	}
	{
		/* DNS "auto" (the old address) follows the server's new one */
		char was[INET_ADDRSTRLEN], now[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &ctl->server.ipv4, was, sizeof(was));
		inet_ntop(AF_INET, &s->ipv4, now, sizeof(now));
		if (s->dns && !strcmp(s->dns, was) && (ret = replace_str(&s->dns, now)))
			return ret;
	}
	if (c->dns && (ret = warn(w, nw, "DNS of [Interface] is the server's own resolver; it is "
				  "ignored (set client DNS with --dns or PEERDNS)")))
		return ret;
	if (!model_server_validate(s, e))
		return -EINVAL;
	return 0;
}

/* Plans the peer of one [Peer] section. */
static int import_peer(struct control *ctl, const struct wgconf_peer *wp, const char *name,
		       const struct server_record *s, struct planned *pl, size_t n_pl,
		       char ***w, size_t *nw, struct control_error *e)
{
	struct peer_record *p = &pl[n_pl].rec;
	bool has4 = false;
	size_t i;
	ssize_t existing;
	int ret;

	memset(&pl[n_pl], 0, sizeof(pl[n_pl]));
	pl[n_pl].line = wp->line;
	snprintf(p->name, sizeof(p->name), "%s", name);
	memcpy(p->public_key, wp->public_key, MODEL_KEY_LEN);
	p->has_preshared_key = wp->has_preshared_key;
	memcpy(p->preshared_key, wp->preshared_key, MODEL_KEY_LEN);
	p->persistent_keepalive = wp->persistent_keepalive;
	p->enabled = true;
	p->created = (int64_t)time(NULL);
	existing = ctl_find_peer(ctl, name);
	if (existing >= 0) {
		if (!crypto_equal(ctl->peers[existing].public_key, p->public_key, MODEL_KEY_LEN)) {
			control_error_set(e, "name", "line %d: peer \"%s\" already exists with another "
					  "key (revoke it first, or rename this peer's comment)",
					  wp->line, name);
			return -EEXIST;
		}
		pl[n_pl].skip = true;
		return 0;
	}
	for (i = 0; i < ctl->n_peers; i++)
		if (crypto_equal(ctl->peers[i].public_key, p->public_key, MODEL_KEY_LEN)) {
			control_error_set(e, "public_key", "line %d: this peer's PublicKey is already "
					  "the key of peer \"%s\"", wp->line, ctl->peers[i].name);
			return -EEXIST;
		}
	for (i = 0; i < wp->n_allowed_ips; i++) {
		const struct ip_prefix *a = &wp->allowed_ips[i];
		struct ip_prefix *grown;

		if (a->family == AF_INET && a->len == 32 && !has4) {
			p->ipv4 = a->addr.v4;
			has4 = true;
			continue;
		}
		if (a->family == AF_INET6 && a->len == 128 && !p->has_ipv6) {
			p->ipv6 = a->addr.v6;
			p->has_ipv6 = true;
			continue;
		}
		grown = realloc(p->routes, (p->n_routes + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		p->routes = grown;
		p->routes[p->n_routes++] = *a;
	}
	if (!has4) {
		pl[n_pl].needs_address = true;
		if ((ret = warn(w, nw, "line %d: peer \"%s\" has no IPv4 /32 in AllowedIPs; it gets "
				"a free address of the subnet (its client config must add it)",
				wp->line, name)))
			return ret;
	}
	if (wp->endpoint && (ret = warn(w, nw, "line %d: the Endpoint of peer \"%s\" is not kept "
					"(the server learns it when the peer connects)",
					wp->line, name)))
		return ret;
	(void)s;
	return 0;
}

/* Address clashes among the planned peers, the server and the store. */
static int check_clashes(struct control *ctl, const struct server_record *s,
			 struct planned *pl, size_t n, struct control_error *e)
{
	char a[INET6_ADDRSTRLEN];
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct peer_record *p = &pl[i].rec;
		const char *other = NULL;

		if (pl[i].skip)
			continue;
		if (p->ipv4.s_addr == s->ipv4.s_addr ||
		    (p->has_ipv6 && !memcmp(&p->ipv6, &s->ipv6, sizeof(p->ipv6))))
			other = "the server";
		for (j = 0; !other && j < ctl->n_peers; j++)
			if (ctl->peers[j].ipv4.s_addr == p->ipv4.s_addr ||
			    (p->has_ipv6 && ctl->peers[j].has_ipv6 &&
			     !memcmp(&ctl->peers[j].ipv6, &p->ipv6, sizeof(p->ipv6))))
				other = ctl->peers[j].name;
		for (j = 0; !other && j < i; j++)
			if (!pl[j].skip && (pl[j].rec.ipv4.s_addr == p->ipv4.s_addr ||
			    (p->has_ipv6 && pl[j].rec.has_ipv6 &&
			     !memcmp(&pl[j].rec.ipv6, &p->ipv6, sizeof(p->ipv6)))))
				other = pl[j].rec.name;
		if (other) {
			inet_ntop(AF_INET, &p->ipv4, a, sizeof(a));
			control_error_set(e, "ipv4", "line %d: peer \"%s\" has the address %s (or its "
					  "IPv6 twin) of %s%s%s", pl[i].line, p->name, a,
					  strcmp(other, "the server") ? "peer \"" : "", other,
					  strcmp(other, "the server") ? "\"" : "");
			return -EEXIST;
		}
	}
	return 0;
}

/* Gives the planned peers without an IPv4 /32 a free address. */
static int allocate_missing(struct control *ctl, const struct server_record *s,
			    struct planned *pl, size_t n, struct control_error *e)
{
	struct peer_record *all = calloc(ctl->n_peers + n + 1, sizeof(*all));
	size_t n_all = 0, i;
	int ret = 0;

	if (!all)
		return -ENOMEM;
	/* ipalloc reads only the addresses: copy just those */
	for (i = 0; i < ctl->n_peers; i++, n_all++) {
		all[n_all].ipv4 = ctl->peers[i].ipv4;
		all[n_all].has_ipv6 = ctl->peers[i].has_ipv6;
		all[n_all].ipv6 = ctl->peers[i].ipv6;
	}
	for (i = 0; i < n; i++)
		if (!pl[i].skip && !pl[i].needs_address) {
			all[n_all].ipv4 = pl[i].rec.ipv4;
			all[n_all].has_ipv6 = pl[i].rec.has_ipv6;
			all[n_all++].ipv6 = pl[i].rec.ipv6;
		}
	for (i = 0; i < n && !ret; i++) {
		struct in6_addr v6;

		if (pl[i].skip || !pl[i].needs_address)
			continue;
		ret = ipalloc_next(s, all, n_all, &pl[i].rec.ipv4, &v6, e);
		if (ret)
			break;
		if (!pl[i].rec.has_ipv6) {
			pl[i].rec.ipv6 = v6;
			pl[i].rec.has_ipv6 = true;
		}
		all[n_all].ipv4 = pl[i].rec.ipv4;
		all[n_all].has_ipv6 = true;
		all[n_all++].ipv6 = pl[i].rec.ipv6;
	}
	free(all);
	return ret;
}

int control_import_wgconf(struct control *ctl, const char *text, size_t len,
			  char ***warnings, size_t *n_warnings, const struct actor *actor,
			  struct control_error *e)
{
	struct events evs = { .actor = actor };
	struct wgconf c;
	struct server_record s = { 0 };
	struct planned *pl = NULL;
	char **w = NULL;
	size_t nw = 0, n = 0, i, next_n = 1;
	int ret;

	control_error_clear(e);
	if (warnings)
		*warnings = NULL;
	if (n_warnings)
		*n_warnings = 0;
	if ((ret = wgconf_parse(text, len, &c, e)))
		return ret;
	for (i = 0; i < c.n_warnings; i++) {
		if ((ret = warn(&w, &nw, "%s", c.warnings[i])))
			goto free_conf;
	}
	pthread_mutex_lock(&ctl->lock);
	if ((ret = import_server(ctl, &c, &s, &w, &nw, e)))
		goto out;
	if (c.n_peers && !(pl = calloc(c.n_peers, sizeof(*pl)))) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < c.n_peers; i++) {
		char gen[MODEL_NAME_MAX + 1];
		const char *name = c.peers[i].name;
		size_t j;

		for (j = 0; name && j < i; j++)
			if (c.peers[j].name && !strcmp(c.peers[j].name, name)) {
				control_error_set(e, "name", "line %d: the peer name \"%s\" is also the name "
						  "of the peer of line %d; rename one comment",
						  c.peers[i].line, name, c.peers[j].line);
				ret = -EINVAL;
				goto out;
			}
		if (!name) {
			/* imported before under a generated name: the same one */
			for (j = 0; j < ctl->n_peers && !name; j++)
				if (crypto_equal(ctl->peers[j].public_key, c.peers[i].public_key,
						 MODEL_KEY_LEN))
					name = ctl->peers[j].name;
		}
		if (!name) {
			do
				snprintf(gen, sizeof(gen), "peer%zu", next_n++);
			while (name_taken(ctl, pl, n, &c, gen));
			name = gen;
		}
		if ((ret = import_peer(ctl, &c.peers[i], name, &s, pl, n, &w, &nw, e)))
			goto out;
		n++;
	}
	if ((ret = check_clashes(ctl, &s, pl, n, e)) || (ret = allocate_missing(ctl, &s, pl, n, e)))
		goto out;
	for (i = 0; i < n; i++)
		if (!pl[i].skip && !model_peer_validate(&pl[i].rec, e)) {
			char msg[sizeof(e->msg)], field[sizeof(e->field)];
			snprintf(msg, sizeof(msg), "%s", e ? e->msg : "");
			snprintf(field, sizeof(field), "%s", e ? e->field : "");
			control_error_set(e, field, "line %d: %s", pl[i].line, msg);
			ret = -EINVAL;
			goto out;
		}

	/* Everything checked: write the peers, then the server. */
	for (i = 0; i < n; i++) {
		uint64_t ver;
		struct peer_record mem;

		if (pl[i].skip)
			continue;
		ret = ctl_put_peer(ctl, &pl[i].rec, STORE_NEW, &ver, e);
		if (ret == -ESTALE) {
			control_error_set(e, "name", "line %d: peer \"%s\" was just added by another "
					  "process; run the import again", pl[i].line, pl[i].rec.name);
			goto out;
		}
		if (ret)
			goto out;
		if ((ret = model_peer_copy(&mem, &pl[i].rec, true)) ||
		    (ret = ctl_insert_peer(ctl, &mem, ver))) {
			model_peer_free(&mem);
			goto out;
		}
	}
	ret = ctl_put_server(ctl, &s, e);
	if (ret == -ESTALE)
		control_error_set(e, NULL, "the server record was changed by another process during "
				  "the import; run the import again (peers already imported are "
				  "skipped)");
	if (ret)
		goto out;
	if (!x25519_public_from_secret(ctl->server_public, s.private_key)) {
		ret = -EIO;
		goto out;
	}
	model_server_free(&ctl->server);
	ctl->server = s;
	memset(&s, 0, sizeof(s));
	ctl_events_add(&evs, NULL, CONTROL_EVENT_IMPORT);
out:
	if (ret == -ENOMEM)
		control_error_set(e, NULL, "out of memory");
	ctl_unlock_and_notify(ctl, &evs);
	for (i = 0; pl && i < c.n_peers; i++)
		model_peer_free(&pl[i].rec);
	free(pl);
	model_server_free(&s);
free_conf:
	wgconf_free(&c);
	if (warnings && n_warnings) {
		*warnings = w;
		*n_warnings = nw;
	} else {
		for (i = 0; i < nw; i++)
			free(w[i]);
		free(w);
	}
	return ret;
}
