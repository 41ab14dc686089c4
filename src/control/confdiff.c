/*
 * confdiff.c - hot apply (control.h, control_config_diff): the smallest UAPI
 * set request that turns the device's state into the desired one.
 *
 * A set request that names a peer with update_only and only some fields
 * leaves the rest of that peer alone, and one that does not name a peer
 * at all leaves it entirely alone: its sessions, handshake time and
 * counters.  So the diff names only peers that appear, disappear or
 * differ, and for those only the fields that differ.  Allowed IPs are
 * compared as sets of masked prefixes, since the device masks host bits
 * and may list them in another order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "control.h"
#include "crypto.h"

static int cmp_peer_key(const void *a, const void *b)
{
	const struct uapi_peer *const *pa = a, *const *pb = b;

	return memcmp((*pa)->public_key, (*pb)->public_key, UAPI_KEY_LEN);
}

static void mask(struct uapi_allowed_ip *a)
{
	int bytes = a->family == AF_INET ? 4 : 16, i;

	for (i = 0; i < 16; i++) {
		int bits = (int)a->cidr - i * 8;
		if (i >= bytes)
			a->addr[i] = 0;
		else if (bits < 8)
			a->addr[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

static int cmp_allowed(const void *a, const void *b)
{
	const struct uapi_allowed_ip *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->cidr != y->cidr)
		return x->cidr < y->cidr ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

/* Sorted, masked, de-duplicated copy of a peer's allowed IPs. */
static struct uapi_allowed_ip *canonical(const struct uapi_peer *p, size_t *n)
{
	struct uapi_allowed_ip *c = malloc((p->n_allowed_ips ? p->n_allowed_ips : 1) * sizeof(*c));
	size_t i, out = 0;

	if (!c)
		return NULL;
	for (i = 0; i < p->n_allowed_ips; i++) {
		c[i] = p->allowed_ips[i];
		mask(&c[i]);
	}
	qsort(c, p->n_allowed_ips, sizeof(*c), cmp_allowed);
	for (i = 0; i < p->n_allowed_ips; i++)
		if (out == 0 || cmp_allowed(&c[out - 1], &c[i]) != 0)
			c[out++] = c[i];
	*n = out;
	return c;
}

/* -1 on ENOMEM, else whether the sets differ. */
static int allowed_differ(const struct uapi_peer *a, const struct uapi_peer *b)
{
	size_t na, nb;
	struct uapi_allowed_ip *ca = canonical(a, &na), *cb = canonical(b, &nb);
	int differ;

	if (!ca || !cb)
		differ = -1;
	else
		differ = na != nb || (na && memcmp(ca, cb, na * sizeof(*ca)) != 0);
	free(ca);
	free(cb);
	return differ;
}

static int copy_allowed(struct uapi_peer *dst, const struct uapi_peer *src)
{
	size_t i;
	int ret;

	dst->replace_allowed_ips = true;
	for (i = 0; i < src->n_allowed_ips; i++)
		if ((ret = uapi_peer_add_allowed_ip(dst, src->allowed_ips[i].family,
						    src->allowed_ips[i].addr, src->allowed_ips[i].cidr)))
			return ret;
	return 0;
}

/* Adds to diff what turns peer c (NULL: absent) into w. */
static int diff_peer(struct uapi_config *diff, const struct uapi_peer *c, const struct uapi_peer *w)
{
	bool psk = w->has_preshared_key &&
		   (!c || !crypto_equal(c->preshared_key, w->preshared_key, UAPI_KEY_LEN));
	bool keepalive = w->has_persistent_keepalive &&
			 (!c || c->persistent_keepalive_interval != w->persistent_keepalive_interval);
	bool endpoint = w->has_endpoint && !c;
	int allowed = c ? allowed_differ(c, w) : 1;
	struct uapi_peer *d;

	if (allowed < 0)
		return -ENOMEM;
	if (c && !psk && !keepalive && !allowed)
		return 0;
	if (!(d = uapi_config_add_peer(diff)))
		return -ENOMEM;
	memcpy(d->public_key, w->public_key, UAPI_KEY_LEN);
	d->update_only = c != NULL;
	if (psk) {
		d->has_preshared_key = true;
		memcpy(d->preshared_key, w->preshared_key, UAPI_KEY_LEN);
	}
	if (keepalive) {
		d->has_persistent_keepalive = true;
		d->persistent_keepalive_interval = w->persistent_keepalive_interval;
	}
	if (endpoint) {
		d->has_endpoint = true;
		d->endpoint = w->endpoint;
	}
	return allowed ? copy_allowed(d, w) : 0;
}

int control_config_diff(const struct uapi_config *current, const struct uapi_config *desired,
			struct uapi_config *diff)
{
	const struct uapi_peer **cur = NULL, **found = NULL;
	bool *seen = NULL;
	size_t i;
	int ret = 0;

	diff->replace_peers = false;
	if (desired->has_private_key &&
	    (!current->has_private_key ||
	     !crypto_equal(current->private_key, desired->private_key, UAPI_KEY_LEN))) {
		diff->has_private_key = true;
		memcpy(diff->private_key, desired->private_key, UAPI_KEY_LEN);
	}
	if (desired->has_listen_port &&
	    (!current->has_listen_port || current->listen_port != desired->listen_port)) {
		diff->has_listen_port = true;
		diff->listen_port = desired->listen_port;
	}
	if (desired->has_fwmark && (!current->has_fwmark || current->fwmark != desired->fwmark)) {
		diff->has_fwmark = true;
		diff->fwmark = desired->fwmark;
	}
	cur = malloc((current->n_peers + 1) * sizeof(*cur));
	seen = calloc(current->n_peers + 1, sizeof(*seen));
	if (!cur || !seen) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < current->n_peers; i++)
		cur[i] = &current->peers[i];
	qsort(cur, current->n_peers, sizeof(*cur), cmp_peer_key);
	/* Match desired peers to current ones by public key. */
	found = malloc((desired->n_peers + 1) * sizeof(*found));
	if (!found) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < desired->n_peers; i++) {
		const struct uapi_peer *key = &desired->peers[i];
		const struct uapi_peer **hit = bsearch(&key, cur, current->n_peers, sizeof(*cur),
						       cmp_peer_key);
		found[i] = hit ? *hit : NULL;
		if (hit)
			seen[hit - cur] = true;
	}
	/* Removals first (replace_peers: peers the desired state does not
	 * name go), so a rotated peer's addresses are free when its new key
	 * claims them. */
	for (i = 0; i < current->n_peers && !ret; i++) {
		struct uapi_peer *d;

		if (seen[i] || !desired->replace_peers)
			continue;
		if (!(d = uapi_config_add_peer(diff))) {
			ret = -ENOMEM;
			break;
		}
		memcpy(d->public_key, cur[i]->public_key, UAPI_KEY_LEN);
		d->remove = true;
	}
	for (i = 0; i < desired->n_peers && !ret; i++)
		ret = diff_peer(diff, found[i], &desired->peers[i]);
out:
	free(found);
	free(cur);
	free(seen);
	return ret;
}

bool control_config_diff_empty(const struct uapi_config *diff)
{
	return !diff->has_private_key && !diff->has_listen_port && !diff->has_fwmark &&
	       !diff->replace_peers && diff->n_peers == 0;
}
