/*
 * peerops.c - the operations on peers (control.h): add, rotate, enable,
 * disable, expiry, revoke, and update (expiry, client DNS and AllowedIPs,
 * routes, keepalive of a peer that exists).
 *
 * Each one runs under ctl->lock, writes the store first (CAS on the
 * version it last read; on -ESTALE it re-reads the record and tries
 * again) and changes memory only after the store said yes.  The client's
 * private key is generated here, returned once in struct peer_add_result,
 * and kept in the record only when the caller asked (keep_key).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control_internal.h"
#include "crypto.h"
#include "firewall_rule.h"
#include "ipalloc.h"
#include "links.h"
#include "render.h"

void control_peer_add_result_free(struct peer_add_result *r)
{
	render_free(r->client_config);
	render_free(r->qr);
	model_peer_free(&r->peer);
	explicit_bzero(r, sizeof(*r));
}

static void no_such_peer(struct control_error *e, const char *name)
{
	control_error_set(e, "name", "no peer \"%.*s\" (zerowg peer list shows them)",
			  MODEL_NAME_MAX, name);
}

/* Fresh client keys into res (private), p (public, preshared, and the
 * private one if keep). */
static int new_keys(struct peer_record *p, struct peer_add_result *res, bool keep,
		    struct control_error *e)
{
	if (!x25519_generate_secret(res->private_key) ||
	    !x25519_public_from_secret(p->public_key, res->private_key) ||
	    !crypto_random(p->preshared_key, MODEL_KEY_LEN)) {
		explicit_bzero(res->private_key, MODEL_KEY_LEN);
		control_error_set(e, NULL, "could not generate keys (the system's random source or "
				  "libcrypto failed)");
		return -EIO;
	}
	p->has_preshared_key = true;
	p->has_private_key = keep;
	if (keep)
		memcpy(p->private_key, res->private_key, MODEL_KEY_LEN);
	else
		explicit_bzero(p->private_key, MODEL_KEY_LEN);
	key_to_base64(res->private_key_base64, res->private_key);
	return 0;
}

/* Fills res's peer view and client config from the stored record p. */
static int finish_result(struct control *ctl, const struct peer_record *p,
			 struct peer_add_result *res, struct control_error *e)
{
	int ret = model_peer_copy(&res->peer, p, false);

	if (ret) {
		control_error_set(e, NULL, "out of memory");
		return ret;
	}
	return ctl_render_client(ctl, p, res->private_key, &res->client_config, &res->qr, e);
}

/* Routes: prefixes, no host bits, not overlapping the tunnel subnets or
 * another peer's routes (cryptokey routing would give them to one peer). */
static int parse_routes(struct control *ctl, const char *name, const char *const *routes,
			size_t n, struct peer_record *p, struct control_error *e)
{
	struct ip_prefix tun4 = { .family = AF_INET, .len = ctl->server.ipv4_prefix,
				  .addr.v4 = ctl->server.ipv4 };
	struct ip_prefix tun6 = { .family = AF_INET6, .len = ctl->server.ipv6_prefix,
				  .addr.v6 = ctl->server.ipv6 };
	char field[32], q[MODEL_PREFIX_STRLEN], t[MODEL_PREFIX_STRLEN];
	size_t i, j, k;

	model_prefix_mask(&tun4);
	model_prefix_mask(&tun6);
	if (n && !(p->routes = calloc(n, sizeof(*p->routes)))) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct ip_prefix *r = &p->routes[i];
		const struct ip_prefix *tun;
		int ret;

		snprintf(field, sizeof(field), "routes[%zu]", i);
		ret = model_parse_prefix(routes[i], r, false);
		if (ret) {
			struct ip_prefix *one = NULL;
			size_t cnt = 0;
			char what[MODEL_NAME_MAX + 8];

			/* let the list parser word the message */
			snprintf(what, sizeof(what), "peer \"%s\"", name);
			if (model_parse_prefix_list(routes[i], what, field, false, &one, &cnt, e) == 0 ||
			    strchr(routes[i], ','))
				control_error_set(e, field, "peer \"%s\": %s must be one prefix, such as "
						  "192.168.1.0/24", name, field);
			free(one);
			return -EINVAL;
		}
		p->n_routes++;
		tun = r->family == AF_INET ? &tun4 : &tun6;
		model_format_prefix(r, q, sizeof(q));
		if (model_prefix_contains(tun, r) || model_prefix_contains(r, tun)) {
			model_format_prefix(tun, t, sizeof(t));
			control_error_set(e, field, "peer \"%s\": %s \"%s\" overlaps the tunnel subnet %s "
					  "(a route is a network behind the peer)", name, field, q, t);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (model_prefix_contains(&p->routes[j], r) ||
			    model_prefix_contains(r, &p->routes[j])) {
				control_error_set(e, field, "peer \"%s\": %s \"%s\" overlaps routes[%zu]",
						  name, field, q, j);
				return -EINVAL;
			}
		for (j = 0; j < ctl->n_peers; j++) {
			const struct peer_record *o = &ctl->peers[j];
			if (!strcmp(o->name, name))
				continue;
			for (k = 0; k < o->n_routes; k++)
				if (model_prefix_contains(&o->routes[k], r) ||
				    model_prefix_contains(r, &o->routes[k])) {
					model_format_prefix(&o->routes[k], t, sizeof(t));
					control_error_set(e, field, "peer \"%s\": %s \"%s\" overlaps the "
							  "route %s of peer \"%s\"", name, field, q,
							  t, o->name);
					return -EINVAL;
				}
		}
	}
	return 0;
}

static bool collides(const struct control *ctl, size_t self)
{
	const struct peer_record *p = &ctl->peers[self];
	size_t i;

	for (i = 0; i < ctl->n_peers; i++) {
		const struct peer_record *o = &ctl->peers[i];
		if (i == self)
			continue;
		if (o->ipv4.s_addr == p->ipv4.s_addr ||
		    (o->has_ipv6 && p->has_ipv6 && !memcmp(&o->ipv6, &p->ipv6, sizeof(o->ipv6))))
			return true;
	}
	return false;
}

/* The validators of the fields a peer is added with, shared by add and
 * update (peer_update), so both accept and word the same. */
static int check_client_fields(const char *name, const char *dns, const char *allowed_ips,
			       struct control_error *e)
{
	if (dns && !model_dns_valid(dns, "dns", e))
		return -EINVAL;
	return allowed_ips ? model_peer_allowed_ips_check(name, allowed_ips, e) : 0;
}

/* -1 is "the server's default" (stored as 0). */
static int check_keepalive(const char *name, int keepalive, struct control_error *e)
{
	if (keepalive < -1 || keepalive > 65535) {
		control_error_set(e, "persistent_keepalive", "peer \"%.*s\": persistent_keepalive %d "
				  "is not from 0 to 65535 seconds (25 is usual)", MODEL_NAME_MAX,
				  name, keepalive);
		return -EINVAL;
	}
	return 0;
}

/* 0 is never; anything else must be after now. */
static int check_expires(const char *name, int64_t expires, int64_t now,
			 struct control_error *e)
{
	if (expires < 0 || (expires && expires <= now)) {
		control_error_set(e, "expires", "peer \"%.*s\": expires %lld is in the past (use 0 "
				  "or \"never\" for no expiry)", MODEL_NAME_MAX, name,
				  (long long)expires);
		return -EINVAL;
	}
	return 0;
}

/* Builds the record of a new peer from the request (no addresses yet). */
static int build_peer(struct control *ctl, const struct peer_add_request *req,
		      struct peer_record *p, int64_t now, struct control_error *e)
{
	int ret;

	snprintf(p->name, sizeof(p->name), "%s", req->name);
	if ((ret = check_client_fields(req->name, req->dns, req->allowed_ips, e)))
		return ret;
	if ((req->dns && !(p->dns = strdup(req->dns))) ||
	    (req->allowed_ips && !(p->allowed_ips = strdup(req->allowed_ips)))) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	if ((ret = check_keepalive(req->name, req->persistent_keepalive, e)) ||
	    (ret = check_expires(req->name, req->expires, now, e)))
		return ret;
	p->persistent_keepalive = req->persistent_keepalive < 0 ? 0 :
				  (uint16_t)req->persistent_keepalive;
	p->expires = req->expires;
	p->created = now;
	p->enabled = true;
	if (req->endpoint) {
		if (!model_endpoint_valid(req->endpoint, e))
			return -EINVAL;
		if (!(p->endpoint = strdup(req->endpoint))) {
			control_error_set(e, NULL, "out of memory");
			return -ENOMEM;
		}
	}
	return parse_routes(ctl, req->name, req->routes, req->n_routes, p, e);
}

int ctl_peer_add_locked(struct control *ctl, const struct peer_add_request *req,
			struct peer_add_result *res, struct events *evs, struct control_error *e)
{
	struct peer_record rec = { 0 }, mem;
	char key[STORE_KEY_BUF];
	bool written = false;
	uint64_t ver = 0;
	ssize_t idx;
	int ret, attempt;

	memset(res, 0, sizeof(*res));
	if (!model_name_valid(req->name, e))
		return -EINVAL;
	if (ctl_find_peer(ctl, req->name) >= 0)
		goto exists;
	if ((ret = build_peer(ctl, req, &rec, (int64_t)time(NULL), e)))
		goto fail;
	if (req->public_key) {
		/* Its own key pair: nothing to generate, no config to show.
		 * One key, one peer: cryptokey routing knows only the key. */
		for (size_t i = 0; i < ctl->n_peers; i++)
			if (!memcmp(ctl->peers[i].public_key, req->public_key, MODEL_KEY_LEN)) {
				control_error_set(e, "public_key", "peer \"%s\": peer \"%s\" has "
						  "this public key already", req->name,
						  ctl->peers[i].name);
				ret = -EEXIST;
				goto fail;
			}
		memcpy(rec.public_key, req->public_key, MODEL_KEY_LEN);
		rec.has_preshared_key = req->preshared_key != NULL;
		if (req->preshared_key)
			memcpy(rec.preshared_key, req->preshared_key, MODEL_KEY_LEN);
	} else if ((ret = new_keys(&rec, res, req->keep_key, e))) {
		goto fail;
	}
	ctl_peer_key(key, rec.name);
	for (attempt = 0; attempt < CAS_RETRIES; attempt++) {
		if (!written) {
			ret = ipalloc_next(&ctl->server, ctl->peers, ctl->n_peers, &rec.ipv4,
					   &rec.ipv6, e);
			if (ret)
				goto fail;
			rec.has_ipv6 = true;
			if (!model_peer_validate(&rec, e)) {
				ret = -EINVAL;
				goto fail;
			}
			ret = ctl_put_peer(ctl, &rec, STORE_NEW, &ver, e);
			if (ret == -ESTALE) {
				/* another process stored this name meanwhile */
				if ((ret = ctl_reload_locked(ctl, e)))
					goto fail;
				if (ctl_find_peer(ctl, req->name) >= 0)
					goto exists;
				continue;
			}
			if (ret)
				goto fail;
			written = true;
			if ((ret = model_peer_copy(&mem, &rec, true)) ||
			    (ret = ctl_insert_peer(ctl, &mem, ver))) {
				model_peer_free(&mem);
				control_error_set(e, NULL, "out of memory");
				goto rollback;
			}
		}
		/* Announce the allocation: see the file comment. */
		ret = ctl_put_server(ctl, &ctl->server, e);
		if (ret == 0)
			goto done;
		if (ret != -ESTALE)
			goto rollback;
		ctl_cas_backoff(attempt);
		if ((ret = ctl_reload_locked(ctl, e)))
			goto rollback;
		idx = ctl_find_peer(ctl, req->name);
		if (idx < 0) {
			control_error_set(e, "name", "peer \"%s\" was revoked by another process while "
					  "it was being added", req->name);
			ret = -ESTALE;
			goto fail;
		}
		if (collides(ctl, (size_t)idx)) {
			struct peer_record *p = &ctl->peers[idx];
			ret = ipalloc_next(&ctl->server, ctl->peers, ctl->n_peers, &rec.ipv4,
					   &rec.ipv6, e);
			if (ret)
				goto rollback;
			ret = ctl_put_peer(ctl, &rec, ctl->versions[idx], &ver, e);
			if (ret)
				goto rollback;
			p->ipv4 = rec.ipv4;
			p->ipv6 = rec.ipv6;
			ctl->versions[idx] = ver;
			ctl_mark_changed(ctl, p->public_key);
		}
	}
	control_error_set(e, NULL, "the store is busy: other processes kept changing it while peer "
			  "\"%s\" was added; try again", req->name);
	ret = -EBUSY;
	goto rollback;
done:
	idx = ctl_find_peer(ctl, req->name);
	if (idx >= 0 && req->public_key)
		ret = model_peer_copy(&res->peer, &ctl->peers[idx], false);
	else
		ret = idx < 0 ? -ESTALE : finish_result(ctl, &ctl->peers[idx], res, e);
	if (ret)
		goto rollback;
	model_peer_free(&rec);
	ctl_events_add(evs, req->name, CONTROL_EVENT_PEER_ADD);
	return 0;
rollback:
	if (written) {
		/* The record may hold addresses another peer needs; taking it
		 * back keeps the store as it was before the request. */
		idx = ctl_find_peer(ctl, req->name);
		if (store_delete(ctl->store, key, idx >= 0 ? ctl->versions[idx] : ver) == 0 && idx >= 0)
			ctl_remove_peer(ctl, (size_t)idx);
	}
fail:
	model_peer_free(&rec);
	control_peer_add_result_free(res);
	return ret;
exists:
	control_error_set(e, "name", "peer \"%s\" already exists (pick another name, or revoke "
			  "it first)", req->name);
	model_peer_free(&rec);
	control_peer_add_result_free(res);
	return -EEXIST;
}

int control_peer_add(struct control *ctl, const struct peer_add_request *req,
		     struct peer_add_result *res, const struct actor *actor,
		     struct control_error *e)
{
	struct events evs = { .actor = actor };
	int ret;

	control_error_clear(e);
	pthread_mutex_lock(&ctl->lock);
	ret = ctl_peer_add_locked(ctl, req, res, &evs, e);
	ctl_unlock_and_notify(ctl, &evs);
	return ret;
}

/*
 * The read-modify-write of one peer record.  change() edits a copy (with
 * secrets) and returns 1 if there is nothing to write, 0 to write, or
 * -errno.  On -ESTALE the record is re-read and change() runs again.
 */
typedef int (*change_fn)(struct peer_record *p, void *arg, struct control_error *e);

static int modify_peer(struct control *ctl, const char *name, change_fn change, void *arg,
		       struct control_error *e)
{
	char key[STORE_KEY_BUF];
	int attempt, ret;

	ctl_peer_key(key, name);
	for (attempt = 0; attempt < CAS_RETRIES; attempt++) {
		ssize_t i = ctl_find_peer(ctl, name);
		struct peer_record copy, fresh;
		uint64_t ver;

		if (i < 0) {
			no_such_peer(e, name);
			return -ENOENT;
		}
		if ((ret = model_peer_copy(&copy, &ctl->peers[i], true))) {
			control_error_set(e, NULL, "out of memory");
			return ret;
		}
		ret = change(&copy, arg, e);
		if (ret == 0 && !model_peer_validate(&copy, e))
			ret = -EINVAL;
		if (ret == 0)
			ret = ctl_put_peer(ctl, &copy, ctl->versions[i], &ver, e);
		if (ret == 0) {
			ctl_insert_peer(ctl, &copy, ver);	/* replaces in place */
			return 0;
		}
		model_peer_free(&copy);
		if (ret != -ESTALE)
			return ret;
		ctl_cas_backoff(attempt);
		/* another process changed it: take its version and redo */
		ret = ctl_read_peer(ctl->store, key, &fresh, &ver, e);
		if (ret == -ENOENT) {
			ctl_remove_peer(ctl, (size_t)i);
			no_such_peer(e, name);
			return -ENOENT;
		}
		if (ret)
			return ret;
		ctl_insert_peer(ctl, &fresh, ver);
	}
	control_error_set(e, NULL, "the store is busy: peer \"%s\" kept changing; try again", name);
	return -EBUSY;
}

struct enable_arg {
	bool enabled;
	const char *reason;
	int64_t now;
};

static int change_enabled(struct peer_record *p, void *arg, struct control_error *e)
{
	const struct enable_arg *a = arg;

	if (a->enabled) {
		if (p->enabled)
			return 1;
		p->enabled = true;
		/* the operator's word overrides the expiry that disabled it
		 * (left in place, it would disable the peer again) */
		if (p->expires && (p->expires <= a->now || !strcmp(p->disabled_reason, "expired")))
			p->expires = 0;
		p->disabled_reason[0] = '\0';
		return 0;
	}
	if (!p->enabled)
		return 1;
	p->enabled = false;
	snprintf(p->disabled_reason, sizeof(p->disabled_reason), "%s", a->reason);
	return 0;
}

int control_peer_set_enabled(struct control *ctl, const char *name, bool enabled,
			     const char *reason, const struct actor *actor,
			     struct control_error *e)
{
	struct events evs = { .actor = actor };
	struct enable_arg a = { enabled, reason ? reason : "manual", (int64_t)time(NULL) };
	int ret;

	control_error_clear(e);
	if (!enabled && strcmp(a.reason, "manual") && strcmp(a.reason, "expired") &&
	    strcmp(a.reason, "revoked")) {
		control_error_set(e, "disabled_reason", "reason \"%.40s\" is not manual, expired or "
				  "revoked", a.reason);
		return -EINVAL;
	}
	pthread_mutex_lock(&ctl->lock);
	ret = modify_peer(ctl, name, change_enabled, &a, e);
	if (ret == 0)
		ctl_events_add(&evs, name, enabled ? CONTROL_EVENT_PEER_ENABLE :
				   !strcmp(a.reason, "expired") ? CONTROL_EVENT_PEER_EXPIRE :
				   CONTROL_EVENT_PEER_DISABLE);
	ctl_unlock_and_notify(ctl, &evs);
	return ret == 1 ? 0 : ret;
}

int control_peer_set_expires(struct control *ctl, const char *name, int64_t expires,
			     const struct actor *actor, struct control_error *e)
{
	struct peer_update u = { .set_expires = true, .expires = expires };

	return control_peer_update(ctl, name, &u, actor, e);
}

struct firewall_arg {
	bool set;
	const struct firewall_rule *rules;
	size_t n;
};

static int change_firewall(struct peer_record *p, void *arg, struct control_error *e)
{
	const struct firewall_arg *a = arg;
	struct firewall_rule *copy = NULL;
	size_t i;

	if (p->has_firewall == a->set && p->n_firewall == a->n) {
		for (i = 0; i < a->n && firewall_rule_equal(&p->firewall[i], &a->rules[i]); i++)
			;
		if (i == a->n)
			return 1;
	}
	if (a->n && !(copy = malloc(a->n * sizeof(*copy)))) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	if (a->n)
		memcpy(copy, a->rules, a->n * sizeof(*copy));
	free(p->firewall);
	p->firewall = copy;
	p->n_firewall = a->n;
	p->has_firewall = a->set;
	return 0;
}

int control_peer_set_firewall(struct control *ctl, const char *name, bool set,
			      const struct firewall_rule *rules, size_t n,
			      const struct actor *actor, struct control_error *e)
{
	struct events evs = { .actor = actor };
	struct firewall_arg a = { set, rules, set ? n : 0 };
	int ret;

	control_error_clear(e);
	pthread_mutex_lock(&ctl->lock);
	ret = modify_peer(ctl, name, change_firewall, &a, e);
	if (ret == 0)
		ctl_events_add(&evs, name, CONTROL_EVENT_PEER_UPDATE);
	ctl_unlock_and_notify(ctl, &evs);
	return ret == 1 ? 0 : ret;
}

struct rotate_arg {
	struct peer_add_result *res;
	bool keep_key;
};

static int change_keys(struct peer_record *p, void *arg, struct control_error *e)
{
	struct rotate_arg *a = arg;

	return new_keys(p, a->res, a->keep_key, e);
}

int control_peer_rotate(struct control *ctl, const char *name, bool keep_key,
			struct peer_add_result *res, const struct actor *actor,
			struct control_error *e)
{
	struct events evs = { .actor = actor };
	struct rotate_arg a = { res, keep_key };
	ssize_t i;
	int ret;

	control_error_clear(e);
	memset(res, 0, sizeof(*res));
	pthread_mutex_lock(&ctl->lock);
	ret = modify_peer(ctl, name, change_keys, &a, e);
	if (ret == 0) {
		i = ctl_find_peer(ctl, name);
		ret = i < 0 ? -ENOENT : finish_result(ctl, &ctl->peers[i], res, e);
		/* the new key is stored even if the text could not be made */
		ctl_events_add(&evs, name, CONTROL_EVENT_PEER_ROTATE);
		/* its one-time links hold the old key: dead (links.h); one
		 * left by a failed delete holds a key that no longer works */
		(void)links_drop_peer(ctl, name);
	}
	if (ret)
		control_peer_add_result_free(res);
	ctl_unlock_and_notify(ctl, &evs);
	return ret;
}

int control_peer_revoke(struct control *ctl, const char *name, const struct actor *actor,
			struct control_error *e)
{
	struct events evs = { .actor = actor };
	char key[STORE_KEY_BUF];
	int attempt, ret = -EBUSY;

	control_error_clear(e);
	ctl_peer_key(key, name);
	pthread_mutex_lock(&ctl->lock);
	for (attempt = 0; attempt < CAS_RETRIES; attempt++) {
		ssize_t i = ctl_find_peer(ctl, name);
		struct peer_record fresh;
		uint64_t ver;

		if (i < 0) {
			no_such_peer(e, name);
			ret = -ENOENT;
			break;
		}
		ret = store_delete(ctl->store, key, ctl->versions[i]);
		if (ret == 0 || ret == -ENOENT) {
			ctl_remove_peer(ctl, (size_t)i);
			/* its one-time links die with it (links.h) */
			(void)links_drop_peer(ctl, name);
			if (ret == 0)
				ctl_events_add(&evs, name, CONTROL_EVENT_PEER_REVOKE);
			else
				no_such_peer(e, name);
			break;
		}
		if (ret != -ESTALE) {
			ctl_store_error(e, ret, key);
			break;
		}
		ctl_cas_backoff(attempt);
		ret = ctl_read_peer(ctl->store, key, &fresh, &ver, e);
		if (ret == 0)
			ctl_insert_peer(ctl, &fresh, ver);
		else if (ret != -ENOENT)
			break;
	}
	if (ret == -EBUSY)
		control_error_set(e, NULL, "the store is busy: peer \"%s\" kept changing; try again",
				  name);
	ctl_unlock_and_notify(ctl, &evs);
	return ret;
}

int control_expire_due(struct control *ctl, int64_t now, const struct actor *actor,
		       void (*fn)(void *ctx, const char *peer_name), void *ctx)
{
	struct events evs = { .actor = actor };
	struct enable_arg a = { false, "expired", now };
	char (*due)[MODEL_NAME_MAX + 1] = NULL;
	size_t n_due = 0, i, done = 0;
	int ret = 0;

	pthread_mutex_lock(&ctl->lock);
	for (i = 0; i < ctl->n_peers; i++) {
		const struct peer_record *p = &ctl->peers[i];
		if (p->enabled && p->expires && p->expires <= now) {
			void *grown = realloc(due, (n_due + 1) * sizeof(*due));
			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			due = grown;
			snprintf(due[n_due++], sizeof(due[0]), "%s", p->name);
		}
	}
	for (i = 0; i < n_due && ret == 0; i++) {
		int r = modify_peer(ctl, due[i], change_enabled, &a, NULL);
		if (r == 0) {
			ctl_events_add(&evs, due[i], CONTROL_EVENT_PEER_EXPIRE);
			memmove(due[done++], due[i], sizeof(due[0]));
		} else if (r != 1 && r != -ENOENT) {
			ret = r;
		}
	}
	ctl_unlock_and_notify(ctl, &evs);
	for (i = 0; fn && i < done; i++)
		fn(ctx, due[i]);
	free(due);
	return ret ? ret : (int)done;
}

struct update_arg {
	struct control *ctl;
	int keepalive;
	const char *routes;
};

static int change_update(struct peer_record *p, void *arg, struct control_error *e)
{
	struct update_arg *a = arg;
	bool changed = false;

	if (a->keepalive >= 0 && p->persistent_keepalive != a->keepalive) {
		p->persistent_keepalive = (uint16_t)a->keepalive;
		changed = true;
	}
	if (a->routes) {
		struct peer_record tmp = { 0 };
		char **list = NULL;
		const char *s = a->routes;
		size_t n = 0, i;
		int ret = 0;

		/* split the comma list into strings for parse_routes */
		while (*s && ret == 0) {
			size_t len;
			char **grown;

			while (*s == ',' || *s == ' ' || *s == '\t')
				s++;
			if (!*s)
				break;
			len = strcspn(s, ", \t");
			grown = realloc(list, (n + 1) * sizeof(*list));
			if (!grown || !(grown[n] = strndup(s, len))) {
				list = grown ? grown : list;
				ret = -ENOMEM;
				break;
			}
			list = grown;
			n++;
			s += len;
		}
		if (ret == 0)
			ret = parse_routes(a->ctl, p->name, (const char *const *)list, n, &tmp, e);
		for (i = 0; i < n; i++)
			free(list[i]);
		free(list);
		if (ret) {
			model_peer_free(&tmp);
			return ret;
		}
		if (tmp.n_routes != p->n_routes ||
		    (tmp.n_routes && memcmp(tmp.routes, p->routes, tmp.n_routes * sizeof(*tmp.routes)))) {
			free(p->routes);
			p->routes = tmp.routes;
			p->n_routes = tmp.n_routes;
			tmp.routes = NULL;
			changed = true;
		}
		model_peer_free(&tmp);
	}
	return changed ? 0 : 1;
}

int ctl_update_peer_locked(struct control *ctl, const char *name, int keepalive,
			   const char *routes, struct events *evs, struct control_error *e)
{
	struct update_arg a = { ctl, keepalive, routes };
	int ret = modify_peer(ctl, name, change_update, &a, e);

	if (ret == 0)
		ctl_events_add(evs, name, CONTROL_EVENT_PEER_UPDATE);
	return ret == 1 ? 0 : ret;
}

/* ---------------------------------------------------- control_peer_update -- */

struct peer_update_arg {
	struct control *ctl;
	const struct peer_update *u;
};

/* NULL and "" are both "none" (the server's). */
static bool same_text(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* Replaces *slot with a copy of v (NULL or "": none). */
static int set_text(char **slot, const char *v, struct control_error *e)
{
	char *copy = NULL;

	if (v && *v && !(copy = strdup(v))) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

/*
 * The edit of one record (modify_peer): every field of u, or none (an
 * error leaves the copy unwritten).  Routes are checked here, under the
 * lock, against the other peers as they are now.
 */
static int change_fields(struct peer_record *p, void *arg, struct control_error *e)
{
	const struct peer_update_arg *a = arg;
	const struct peer_update *u = a->u;
	bool changed = false;
	int ret;

	if (u->set_routes) {
		struct peer_record tmp = { 0 };
		size_t i;

		ret = parse_routes(a->ctl, p->name, u->routes, u->n_routes, &tmp, e);
		if (ret) {
			model_peer_free(&tmp);
			return ret;
		}
		for (i = 0; tmp.n_routes == p->n_routes && i < tmp.n_routes; i++)
			if (!model_prefix_equal(&tmp.routes[i], &p->routes[i]))
				break;
		if (tmp.n_routes != p->n_routes || i < tmp.n_routes) {
			free(p->routes);
			p->routes = tmp.routes;
			p->n_routes = tmp.n_routes;
			tmp.routes = NULL;
			tmp.n_routes = 0;
			changed = true;
		}
		model_peer_free(&tmp);
	}
	if (u->set_dns && !same_text(p->dns, u->dns)) {
		if ((ret = set_text(&p->dns, u->dns, e)))
			return ret;
		changed = true;
	}
	if (u->set_allowed_ips && !same_text(p->allowed_ips, u->allowed_ips)) {
		if ((ret = set_text(&p->allowed_ips, u->allowed_ips, e)))
			return ret;
		changed = true;
	}
	if (u->set_keepalive) {
		uint16_t ka = u->persistent_keepalive < 0 ? 0 : (uint16_t)u->persistent_keepalive;
		if (p->persistent_keepalive != ka) {
			p->persistent_keepalive = ka;
			changed = true;
		}
	}
	if (u->set_expires && p->expires != u->expires) {
		p->expires = u->expires;
		/* The expiry that shut it out is replaced: it stays out until
		 * enabled, and enable must keep the new expiry (it clears
		 * only the one that disabled the peer: change_enabled). */
		if (!p->enabled && !strcmp(p->disabled_reason, "expired"))
			snprintf(p->disabled_reason, sizeof(p->disabled_reason), "manual");
		changed = true;
	}
	return changed ? 0 : 1;
}

int control_peer_update(struct control *ctl, const char *name, const struct peer_update *u,
			const struct actor *actor, struct control_error *e)
{
	struct events evs = { .actor = actor };
	struct peer_update_arg a = { ctl, u };
	int ret;

	control_error_clear(e);
	if (!model_name_valid(name, e))
		return -EINVAL;
	/* What needs no other record is judged before the lock, with add's
	 * own validators and words. */
	if (u->set_dns && u->dns && *u->dns &&
	    (ret = check_client_fields(name, u->dns, NULL, e)))
		return ret;
	if (u->set_allowed_ips && u->allowed_ips && *u->allowed_ips &&
	    (ret = check_client_fields(name, NULL, u->allowed_ips, e)))
		return ret;
	if (u->set_keepalive && (ret = check_keepalive(name, u->persistent_keepalive, e)))
		return ret;
	if (u->set_expires && (ret = check_expires(name, u->expires, (int64_t)time(NULL), e)))
		return ret;
	if (u->set_routes && u->n_routes && !u->routes) {
		control_error_set(e, "routes", "peer \"%s\": %zu routes and no list", name,
				  u->n_routes);
		return -EINVAL;
	}
	pthread_mutex_lock(&ctl->lock);
	ret = modify_peer(ctl, name, change_fields, &a, e);
	if (ret == 0)
		ctl_events_add(&evs, name, CONTROL_EVENT_PEER_UPDATE);
	ctl_unlock_and_notify(ctl, &evs);
	return ret == 1 ? 0 : ret;
}
