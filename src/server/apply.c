/*
 * apply.c - see apply.h.  Both peer lists are sorted by public key and
 * walked side by side (O(n log n): 10,000 peers restore in milliseconds);
 * allowed-IP lists are compared as sorted sets of masked prefixes.
 */
#include "apply.h"
#include "crypto.h"
#include "driver.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ------------------------------------------------------------ the diff -- */

static int cmp_peer_ptr(const void *a, const void *b)
{
	const struct uapi_peer *const *pa = a, *const *pb = b;

	return memcmp((*pa)->public_key, (*pb)->public_key, UAPI_KEY_LEN);
}

/* Sorted pointers to cfg's peers; NULL on ENOMEM (or no peers: *n = 0). */
static const struct uapi_peer **sorted_peers(const struct uapi_config *cfg, size_t *n)
{
	const struct uapi_peer **v;

	*n = cfg->n_peers;
	if (!*n)
		return NULL;
	v = malloc(*n * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < *n; i++)
		v[i] = &cfg->peers[i];
	qsort(v, *n, sizeof(*v), cmp_peer_ptr);
	return v;
}

static void mask_ip(struct uapi_allowed_ip *a)
{
	size_t bytes = a->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < 16; i++) {
		unsigned bits = a->cidr > i * 8 ? a->cidr - (unsigned)(i * 8) : 0;
		if (i >= bytes)
			a->addr[i] = 0;
		else if (bits < 8)
			a->addr[i] &= (uint8_t)(0xff << (8 - bits));
	}
}

static int cmp_ip(const void *a, const void *b)
{
	const struct uapi_allowed_ip *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->cidr != y->cidr)
		return x->cidr < y->cidr ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

/* Masked, sorted, without duplicates; *n updated.  NULL on ENOMEM. */
static struct uapi_allowed_ip *ip_set(const struct uapi_peer *p, size_t *n)
{
	struct uapi_allowed_ip *v;
	size_t k = 0;

	*n = 0;
	if (!p->n_allowed_ips)
		return NULL;
	v = malloc(p->n_allowed_ips * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < p->n_allowed_ips; i++) {
		v[i] = p->allowed_ips[i];
		mask_ip(&v[i]);
	}
	qsort(v, p->n_allowed_ips, sizeof(*v), cmp_ip);
	for (size_t i = 0; i < p->n_allowed_ips; i++)
		if (k == 0 || cmp_ip(&v[k - 1], &v[i]))
			v[k++] = v[i];
	*n = k;
	return v;
}

/* -1 on ENOMEM, else whether the two sets differ. */
static int ips_differ(const struct uapi_peer *a, const struct uapi_peer *b)
{
	size_t na, nb;
	struct uapi_allowed_ip *sa, *sb;
	int differ;

	if (a->n_allowed_ips == 0 && b->n_allowed_ips == 0)
		return 0;
	sa = ip_set(a, &na);
	sb = ip_set(b, &nb);
	if ((a->n_allowed_ips && !sa) || (b->n_allowed_ips && !sb)) {
		free(sa);
		free(sb);
		return -1;
	}
	differ = na != nb || (na && memcmp(sa, sb, na * sizeof(*sa)));
	free(sa);
	free(sb);
	return differ;
}

static bool endpoint_equal(const union uapi_sockaddr *a, const union uapi_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_port == b->sin.sin_port &&
		       a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->sin6.sin6_port == b->sin6.sin6_port &&
		       !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, 16) &&
		       a->sin6.sin6_scope_id == b->sin6.sin6_scope_id;
	return true;
}

static int copy_ips(struct uapi_peer *dst, const struct uapi_peer *src)
{
	for (size_t i = 0; i < src->n_allowed_ips; i++) {
		const struct uapi_allowed_ip *a = &src->allowed_ips[i];
		if (uapi_peer_add_allowed_ip(dst, a->family, a->addr, a->cidr) < 0)
			return -ENOMEM;
	}
	return 0;
}

static const uint8_t zero_key[UAPI_KEY_LEN];

/* The desired PSK (all zero = none). */
static const uint8_t *desired_psk(const struct uapi_peer *d)
{
	return d->has_preshared_key ? d->preshared_key : zero_key;
}

/* A peer the device does not have yet: everything. */
static int diff_add(struct uapi_config *out, const struct uapi_peer *d)
{
	struct uapi_peer *o = uapi_config_add_peer(out);

	if (!o)
		return -ENOMEM;
	memcpy(o->public_key, d->public_key, UAPI_KEY_LEN);
	if (d->has_preshared_key) {
		o->has_preshared_key = true;
		memcpy(o->preshared_key, d->preshared_key, UAPI_KEY_LEN);
	}
	if (d->has_endpoint) {
		o->has_endpoint = true;
		o->endpoint = d->endpoint;
	}
	if (d->has_persistent_keepalive && d->persistent_keepalive_interval) {
		o->has_persistent_keepalive = true;
		o->persistent_keepalive_interval = d->persistent_keepalive_interval;
	}
	o->replace_allowed_ips = true;
	return copy_ips(o, d);
}

/* A peer on both sides: only what changed.  *changed says if anything did. */
static int diff_update(struct uapi_config *out, const struct uapi_peer *c,
		       const struct uapi_peer *d, bool *changed)
{
	const uint8_t *cur_psk = c->has_preshared_key ? c->preshared_key : zero_key;
	bool psk = !crypto_equal(cur_psk, desired_psk(d), UAPI_KEY_LEN);
	uint16_t want_ka = d->has_persistent_keepalive ? d->persistent_keepalive_interval : 0;
	bool ka = c->persistent_keepalive_interval != want_ka;
	bool ep = d->has_endpoint && !endpoint_equal(&c->endpoint, &d->endpoint);
	int ips = ips_differ(c, d);
	struct uapi_peer *o;

	if (ips < 0)
		return -ENOMEM;
	*changed = psk || ka || ep || ips;
	if (!*changed)
		return 0;
	o = uapi_config_add_peer(out);
	if (!o)
		return -ENOMEM;
	memcpy(o->public_key, d->public_key, UAPI_KEY_LEN);
	o->update_only = true;
	if (psk) {
		o->has_preshared_key = true;
		memcpy(o->preshared_key, desired_psk(d), UAPI_KEY_LEN);
	}
	if (ka) {
		o->has_persistent_keepalive = true;
		o->persistent_keepalive_interval = want_ka;
	}
	if (ep) {
		o->has_endpoint = true;
		o->endpoint = d->endpoint;
	}
	if (ips) {
		o->replace_allowed_ips = true;
		return copy_ips(o, d);
	}
	return 0;
}

static int diff_remove(struct uapi_config *out, const struct uapi_peer *c)
{
	struct uapi_peer *o = uapi_config_add_peer(out);

	if (!o)
		return -ENOMEM;
	memcpy(o->public_key, c->public_key, UAPI_KEY_LEN);
	o->remove = true;
	return 0;
}

int apply_diff(const struct uapi_config *cur, const struct uapi_config *desired,
	       struct uapi_config *out, struct apply_counts *counts)
{
	struct apply_counts local = { 0 };
	const struct uapi_peer **cv, **dv;
	size_t nc, nd, i = 0, j = 0;
	int ret = 0;

	if (!counts)
		counts = &local;
	memset(counts, 0, sizeof(*counts));
	if (desired->has_private_key &&
	    (!cur->has_private_key ||
	     !crypto_equal(cur->private_key, desired->private_key, UAPI_KEY_LEN))) {
		out->has_private_key = true;
		memcpy(out->private_key, desired->private_key, UAPI_KEY_LEN);
		counts->identity_changed = true;
	}
	if (desired->has_listen_port &&
	    (!cur->has_listen_port || cur->listen_port != desired->listen_port)) {
		out->has_listen_port = true;
		out->listen_port = desired->listen_port;
		counts->port_changed = true;
	}
	if (desired->has_fwmark && (!cur->has_fwmark || cur->fwmark != desired->fwmark)) {
		out->has_fwmark = true;
		out->fwmark = desired->fwmark;
	}
	cv = sorted_peers(cur, &nc);
	dv = sorted_peers(desired, &nd);
	if ((nc && !cv) || (nd && !dv)) {
		ret = -ENOMEM;
		goto out;
	}
	while (ret == 0 && (i < nc || j < nd)) {
		int c = i == nc ? 1 : j == nd ? -1 :
			memcmp(cv[i]->public_key, dv[j]->public_key, UAPI_KEY_LEN);
		if (c < 0) {
			ret = diff_remove(out, cv[i++]);
			counts->removed++;
		} else if (c > 0) {
			/* Duplicates in desired: the last one wins (see .h). */
			while (j + 1 < nd && !memcmp(dv[j]->public_key, dv[j + 1]->public_key,
						     UAPI_KEY_LEN))
				j++;
			ret = diff_add(out, dv[j++]);
			counts->added++;
		} else {
			bool changed = false;
			while (j + 1 < nd && !memcmp(dv[j]->public_key, dv[j + 1]->public_key,
						     UAPI_KEY_LEN))
				j++;
			ret = diff_update(out, cv[i++], dv[j++], &changed);
			if (changed)
				counts->updated++;
			else
				counts->unchanged++;
		}
	}
out:
	free(cv);
	free(dv);
	return ret;
}

/* ------------------------------------------------------------- routes -- */

void apply_routes_init(struct apply_routes *r, apply_route_fn route, void *route_ctx)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->route = route;
	r->route_ctx = route_ctx;
}

void apply_routes_add_own(struct apply_routes *r, const char *text)
{
	struct netlink_prefix p;

	if (!text || !netlink_prefix_parse(&p, text) || r->n_own >= 2)
		return;
	netlink_prefix_mask(&p);
	pthread_mutex_lock(&r->lock);
	r->own[r->n_own++] = p;
	pthread_mutex_unlock(&r->lock);
}

void apply_routes_set_own(struct apply_routes *r, const char *text4, const char *text6)
{
	pthread_mutex_lock(&r->lock);
	r->n_own = 0;
	pthread_mutex_unlock(&r->lock);
	apply_routes_add_own(r, text4);
	apply_routes_add_own(r, text6);
}

void apply_routes_free(struct apply_routes *r, bool delete_routes)
{
	char err[256];

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; delete_routes && r->route && i < r->n_installed; i++)
		if (r->route(r->route_ctx, false, &r->installed[i], err, sizeof(err)) < 0)
			log_error("%s", err);
	free(r->installed);
	r->installed = NULL;
	r->n_installed = 0;
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_destroy(&r->lock);
}

static bool prefix_inside(const struct netlink_prefix *outer, const struct netlink_prefix *inner)
{
	struct netlink_prefix t;

	if (outer->family != inner->family || inner->len < outer->len)
		return false;
	t = *inner;
	t.len = outer->len;
	netlink_prefix_mask(&t);
	return !memcmp(t.addr, outer->addr, 16);
}

/* The routes being gathered: a candidate prefix becomes one if it lies
 * outside our own subnets (whose addresses need no route) and is not a
 * default route (it would take the server's own traffic into the tunnel). */
struct wanted {
	struct apply_routes *r;		/* locked */
	struct netlink_prefix *v;
	size_t n, cap;
};

/* Candidates are gathered first, then sorted and made unique (wanted_sort):
 * checking each against the list would be quadratic in the routes. */
static int wanted_add(struct wanted *w, int family, const uint8_t addr[16], unsigned len)
{
	struct netlink_prefix np = { .family = family, .len = (uint8_t)len };

	memcpy(np.addr, addr, 16);
	netlink_prefix_mask(&np);
	if (np.len == 0)
		return 0;
	for (size_t o = 0; o < w->r->n_own; o++)
		if (prefix_inside(&w->r->own[o], &np))
			return 0;
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 8;
		struct netlink_prefix *nv = realloc(w->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		w->v = nv;
		w->cap = ncap;
	}
	w->v[w->n++] = np;
	return 0;
}

static int cmp_prefix(const void *a, const void *b)
{
	const struct netlink_prefix *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

static void wanted_sort(struct wanted *w)
{
	size_t k = 0;

	if (w->n)
		qsort(w->v, w->n, sizeof(*w->v), cmp_prefix);
	for (size_t i = 0; i < w->n; i++)
		if (k == 0 || cmp_prefix(&w->v[k - 1], &w->v[i]))
			w->v[k++] = w->v[i];
	w->n = k;
}

/* In a sorted, unique list (installed and wanted both are). */
static bool prefix_in_sorted(const struct netlink_prefix *p, const struct netlink_prefix *v,
			     size_t n)
{
	return n && bsearch(p, v, n, sizeof(*v), cmp_prefix) != NULL;
}

static int wanted_from_config(struct wanted *w, const struct uapi_config *desired)
{
	for (size_t i = 0; i < desired->n_peers; i++) {
		const struct uapi_peer *p = &desired->peers[i];
		for (size_t k = 0; k < p->n_allowed_ips; k++) {
			int ret = wanted_add(w, p->allowed_ips[k].family, p->allowed_ips[k].addr,
					     p->allowed_ips[k].cidr);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

static int wanted_prefix(void *arg, int family, const uint8_t addr[16], unsigned len)
{
	return wanted_add(arg, family, addr, len);
}

struct routes_source {
	const struct uapi_config *desired;	/* either this */
	apply_prefixes_fn prefixes;		/* or this */
	void *ctx;
};

/*
 * Makes the installed routes those that src's peers need.  readd_all:
 * also add again the ones we think are in place (the whole apply does, so
 * a route someone deleted behind our back comes back; the add of one that
 * is there is a no-op); otherwise only the missing ones are added.
 */
static int sync_routes(struct apply_routes *r, const struct routes_source *src, bool readd_all,
		       char *err, size_t errlen)
{
	struct wanted w = { .r = r };
	struct netlink_prefix *old;
	size_t n_old;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (!r->route)
		goto out;
	ret = src->desired ? wanted_from_config(&w, src->desired) :
	      src->prefixes(src->ctx, wanted_prefix, &w);
	if (ret < 0) {
		if (err)
			snprintf(err, errlen, "listing the routes the peers need: %s",
				 strerror(-ret));
		goto out;
	}
	wanted_sort(&w);
	for (size_t i = 0; i < r->n_installed; i++) {
		char e[256];
		if (!prefix_in_sorted(&r->installed[i], w.v, w.n) &&
		    r->route(r->route_ctx, false, &r->installed[i], e, sizeof(e)) < 0)
			log_error("%s", e);
	}
	old = r->installed;
	n_old = r->n_installed;
	r->installed = NULL;
	r->n_installed = 0;
	/* Record only what is in place, so a failed add is retried by the
	 * next apply and never deleted as ours.  w.v stays sorted. */
	for (size_t i = 0; i < w.n; i++) {
		if (readd_all || !prefix_in_sorted(&w.v[i], old, n_old)) {
			int rc = r->route(r->route_ctx, true, &w.v[i], err, errlen);
			if (rc < 0) {
				ret = rc;
				continue;
			}
		}
		w.v[r->n_installed++] = w.v[i];
	}
	free(old);
	r->installed = w.v;
	w.v = NULL;
out:
	pthread_mutex_unlock(&r->lock);
	free(w.v);
	return ret;
}

/* cur -> desired on dev.  0 or -errno with err set. */
static int apply_configs(struct driver *drv, const struct uapi_config *cur,
			 const struct uapi_config *desired, struct apply_counts *counts, char *err,
			 size_t errlen)
{
	struct uapi_config set;
	int ret;

	uapi_config_init(&set);
	ret = apply_diff(cur, desired, &set, counts);
	if (ret == 0)
		ret = driver_set_config(drv, &set);
	if (ret < 0 && err)
		snprintf(err, errlen, "applying the configuration to interface %s: %s",
			 drv->ifname, strerror(-ret));
	uapi_config_free(&set);
	return ret;
}

/* Where the desired state comes from: every peer, or the peers of keys. */
struct source {
	bool whole;
	apply_desired_fn desired_fn;		/* whole */
	void *desired_ctx;
	const struct apply_peers_source *peers;	/* !whole */
	const uint8_t (*keys)[UAPI_KEY_LEN];
	size_t n_keys;
};

static int run(struct driver *drv, struct apply_routes *routes, const struct source *s,
	       struct apply_counts *counts, char *err, size_t errlen)
{
	struct uapi_config desired, cur;
	int ret;

	uapi_config_init(&desired);
	uapi_config_init(&cur);
	ret = s->whole ? s->desired_fn(s->desired_ctx, &desired) :
	      s->peers->desired_peers(s->peers->ctx, s->keys, s->n_keys, &desired);
	if (ret < 0) {
		if (err)
			snprintf(err, errlen, "reading the desired configuration: %s", strerror(-ret));
		goto out;
	}
	ret = s->whole ? driver_get_config(drv, &cur) :
	      driver_get_peers(drv, s->keys, s->n_keys, &cur);
	if (ret < 0) {
		if (err)
			snprintf(err, errlen, "reading interface %s: %s", drv->ifname,
				 strerror(-ret));
		goto out;
	}
	ret = apply_configs(drv, &cur, &desired, counts, err, errlen);
	if (ret == 0 && routes) {
		struct routes_source rs = { .desired = s->whole ? &desired : NULL,
					    .prefixes = s->whole ? NULL : s->peers->prefixes,
					    .ctx = s->whole ? NULL : s->peers->ctx };
		ret = sync_routes(routes, &rs, s->whole, err, errlen);
	}
out:
	uapi_config_free(&desired);
	uapi_config_free(&cur);
	return ret;
}

int apply_run(struct driver *drv, struct apply_routes *routes, apply_desired_fn desired_fn,
	      void *desired_ctx, struct apply_counts *counts, char *err, size_t errlen)
{
	struct source s = { .whole = true, .desired_fn = desired_fn, .desired_ctx = desired_ctx };

	return run(drv, routes, &s, counts, err, errlen);
}

int apply_run_peers(struct driver *drv, struct apply_routes *routes,
		    const uint8_t (*keys)[UAPI_KEY_LEN], size_t n_keys,
		    const struct apply_peers_source *src, struct apply_counts *counts, char *err,
		    size_t errlen)
{
	struct source s = { .peers = src, .keys = keys, .n_keys = n_keys };

	return run(drv, routes, &s, counts, err, errlen);
}
