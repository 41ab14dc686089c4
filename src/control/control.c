/*
 * control.c - the control layer's state and operations (control.h): the
 * server record and every peer record, in memory and in the store.
 *
 * Write path: validate, build the new record, write it to the store
 * (compare-and-swap on the version last read), then change memory, then,
 * after the mutex is released, tell the observer.  A CAS failure means
 * another process wrote the store: re-read and retry, a bounded number of
 * times.
 *
 * Address allocation spans records (two processes could each give
 * 10.13.13.2 to a different new peer), so a peer add also rewrites the
 * server record with CAS after writing the peer: whoever loses that race
 * re-reads every peer, sees the winner's record (written before the
 * winner's server write), moves its own peer if the addresses collide and
 * tries again.  The winner never needs to look.
 *
 * Relies on the store (store.h), the record model (model.h), ipalloc,
 * render and wgconf, and crypto.h for keys.  Key material lives in
 * secmem: the struct control itself (server key) and the peer array.
 */
#include "control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "ipalloc.h"
#include "render.h"
#include "secmem.h"
#include "wgconf.h"
#include "control_internal.h"

const char *control_event_name(enum control_event ev)
{
	switch (ev) {
	case CONTROL_EVENT_PEER_ADD: return "peer.add";
	case CONTROL_EVENT_PEER_ENABLE: return "peer.enable";
	case CONTROL_EVENT_PEER_DISABLE: return "peer.disable";
	case CONTROL_EVENT_PEER_REVOKE: return "peer.revoke";
	case CONTROL_EVENT_PEER_ROTATE: return "peer.rotate";
	case CONTROL_EVENT_PEER_EXPIRE: return "peer.expire";
	case CONTROL_EVENT_PEER_UPDATE: return "peer.update";
	case CONTROL_EVENT_SERVER_UPDATE: return "server.update";
	case CONTROL_EVENT_IMPORT: return "import";
	}
	return "unknown";
}

void ctl_events_add(struct events *evs, const char *name, enum control_event ev)
{
	struct event *grown = realloc(evs->v, (evs->n + 1) * sizeof(*grown));

	/* Out of memory loses a notification, not a change: the change is
	 * stored, and the next one makes the server apply the whole state. */
	if (!grown)
		return;
	evs->v = grown;
	grown[evs->n].has_name = name != NULL;
	snprintf(grown[evs->n].name, sizeof(grown[evs->n].name), "%s", name ? name : "");
	grown[evs->n].ev = ev;
	evs->n++;
}

/* Releases the lock, then tells the observer about each event. */
void ctl_unlock_and_notify(struct control *ctl, struct events *evs)
{
	control_observer_fn fn = ctl->observer;
	void *ctx = ctl->observer_ctx;
	size_t i;

	pthread_mutex_unlock(&ctl->lock);
	for (i = 0; fn && i < evs->n; i++)
		fn(ctx, evs->v[i].has_name ? evs->v[i].name : NULL, evs->v[i].ev, evs->actor);
	free(evs->v);
	evs->v = NULL;
	evs->n = 0;
}

/* ---- store helpers ---- */

void ctl_cas_backoff(int attempt)
{
	static __thread uint32_t seed;
	struct timespec ts;
	uint32_t max_us = 1000u << (attempt < 6 ? attempt : 6);

	if (!seed) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (uint32_t)ts.tv_nsec ^ (uint32_t)(uintptr_t)&ts;
		seed |= 1;
	}
	/* xorshift32: no secret depends on it */
	seed ^= seed << 13;
	seed ^= seed >> 17;
	seed ^= seed << 5;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(seed % max_us) * 1000;
	nanosleep(&ts, NULL);
}

void ctl_peer_key(char buf[STORE_KEY_BUF], const char *name)
{
	snprintf(buf, STORE_KEY_BUF, "%s%s", MODEL_STORE_PEER_PREFIX, name);
}

/* e for a failed store call on record `key`. */
int ctl_store_error(struct control_error *e, int ret, const char *key)
{
	const char *why = store_last_error();

	switch (ret) {
	case -ESTALE:
		control_error_set(e, NULL, "record \"%s\" was changed by another process at the same "
				  "time; try again", key);
		break;
	case -ENOSPC:
		control_error_set(e, NULL, "the disk is full: record \"%s\" was not written "
				  "(nothing stored was lost; free some space and try again)", key);
		break;
	case -EROFS:
		control_error_set(e, NULL, "the store is on a read-only file system: record \"%s\" "
				  "was not written", key);
		break;
	default:
		control_error_set(e, NULL, "record \"%s\": %s", key,
				  why && *why ? why : strerror(-ret));
		break;
	}
	return ret;
}

int ctl_put_peer(struct control *ctl, const struct peer_record *p, uint64_t expect,
		    uint64_t *version, struct control_error *e)
{
	char key[STORE_KEY_BUF], *buf;
	size_t len;
	int ret;

	ctl_peer_key(key, p->name);
	if ((ret = model_peer_encode(p, &buf, &len))) {
		control_error_set(e, NULL, "out of memory");
		return ret;
	}
	ret = store_put(ctl->store, key, (const uint8_t *)buf, len, expect, version);
	model_buffer_free(buf, len);
	return ret ? ctl_store_error(e, ret, key) : 0;
}

int ctl_put_server(struct control *ctl, const struct server_record *s,
		      struct control_error *e)
{
	char *buf;
	size_t len;
	int ret;

	if ((ret = model_server_encode(s, &buf, &len))) {
		control_error_set(e, NULL, "out of memory");
		return ret;
	}
	ret = store_put(ctl->store, MODEL_STORE_SERVER, (const uint8_t *)buf, len,
			ctl->server_version, &ctl->server_version);
	model_buffer_free(buf, len);
	return ret ? ctl_store_error(e, ret, MODEL_STORE_SERVER) : 0;
}

int ctl_read_server(struct store *st, struct server_record *out, uint64_t *version,
		       struct control_error *e)
{
	uint8_t *val;
	size_t len;
	int ret = store_get(st, MODEL_STORE_SERVER, &val, &len, version);

	if (ret == -ENOENT) {
		control_error_set(e, NULL, "the store %s has no server record: run `zerowg init` "
				  "first", store_describe(st));
		return ret;
	}
	if (ret)
		return ctl_store_error(e, ret, MODEL_STORE_SERVER);
	ret = model_server_decode(val, len, out, e);
	store_value_free(val, len);
	if (ret == -EINVAL) {
		char msg[sizeof(e->msg)];
		snprintf(msg, sizeof(msg), "%s", e ? e->msg : "");
		control_error_set(e, NULL, "record \"server\" is not usable: %s", msg);
		ret = -EBADMSG;
	}
	return ret;
}

int ctl_read_peer(struct store *st, const char *key, struct peer_record *out,
		     uint64_t *version, struct control_error *e)
{
	uint8_t *val;
	size_t len;
	int ret = store_get(st, key, &val, &len, version);

	if (ret)
		return ret == -ENOENT ? ret : ctl_store_error(e, ret, key);
	ret = model_peer_decode(val, len, out, e);
	store_value_free(val, len);
	if (ret == 0 && strcmp(out->name, key + strlen(MODEL_STORE_PEER_PREFIX)) != 0) {
		control_error_set(e, NULL, "record \"%s\" holds the peer \"%s\": the store is damaged",
				  key, out->name);
		model_peer_free(out);
		return -EBADMSG;
	}
	if (ret == -EINVAL) {
		char msg[sizeof(e->msg)];
		snprintf(msg, sizeof(msg), "%s", e ? e->msg : "");
		control_error_set(e, NULL, "record \"%s\" is not usable: %s", key, msg);
		ret = -EBADMSG;
	}
	return ret;
}

/* ---- the peer array ---- */

/* Index of name, or -(insertion point) - 1. */
ssize_t ctl_find_peer(const struct control *ctl, const char *name)
{
	size_t lo = 0, hi = ctl->n_peers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ctl->peers[mid].name, name);
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(ssize_t)lo - 1;
}

static int reserve_peers(struct control *ctl, size_t need)
{
	size_t cap = ctl->cap_peers ? ctl->cap_peers : 64;
	struct peer_record *np;
	uint64_t *nv;

	if (need <= ctl->cap_peers)
		return 0;
	while (cap < need)
		cap *= 2;
	np = secmem_alloc(cap * sizeof(*np));
	nv = calloc(cap, sizeof(*nv));
	if (!np || !nv) {
		if (np)
			secmem_free(np, cap * sizeof(*np));
		free(nv);
		return -ENOMEM;
	}
	if (ctl->peers) {
		memcpy(np, ctl->peers, ctl->n_peers * sizeof(*np));
		memcpy(nv, ctl->versions, ctl->n_peers * sizeof(*nv));
		secmem_free(ctl->peers, ctl->cap_peers * sizeof(*np));	/* wipes */
		free(ctl->versions);
	}
	ctl->peers = np;
	ctl->versions = nv;
	ctl->cap_peers = cap;
	return 0;
}

/* ---- what changed since the last apply ---- */

void ctl_mark_all_changed(struct control *ctl)
{
	free(ctl->changed);
	ctl->changed = NULL;
	ctl->n_changed = ctl->cap_changed = 0;
	ctl->changed_all = true;
}

void ctl_mark_changed(struct control *ctl, const uint8_t key[MODEL_KEY_LEN])
{
	if (ctl->changed_all)
		return;
	for (size_t i = 0; i < ctl->n_changed; i++)
		if (!memcmp(ctl->changed[i], key, MODEL_KEY_LEN))
			return;
	if (ctl->n_changed == ctl->cap_changed) {
		size_t cap = ctl->cap_changed ? ctl->cap_changed * 2 : 8;
		uint8_t (*grown)[MODEL_KEY_LEN];

		/* Too many, or out of memory: the next apply does everything,
		 * which is never wrong, only slower. */
		if (cap > CHANGED_MAX || !(grown = realloc(ctl->changed, cap * sizeof(*grown)))) {
			ctl_mark_all_changed(ctl);
			return;
		}
		ctl->changed = grown;
		ctl->cap_changed = cap;
	}
	memcpy(ctl->changed[ctl->n_changed++], key, MODEL_KEY_LEN);
}

int control_take_changes(struct control *ctl, uint8_t (**keys)[MODEL_KEY_LEN], size_t *n,
			 bool *all)
{
	pthread_mutex_lock(&ctl->lock);
	*all = ctl->changed_all;
	*keys = ctl->changed;
	*n = ctl->n_changed;
	ctl->changed = NULL;
	ctl->n_changed = ctl->cap_changed = 0;
	ctl->changed_all = false;
	pthread_mutex_unlock(&ctl->lock);
	return 0;
}

void control_mark_all_changed(struct control *ctl)
{
	pthread_mutex_lock(&ctl->lock);
	ctl_mark_all_changed(ctl);
	pthread_mutex_unlock(&ctl->lock);
}

/* Moves *p (ownership) into the array at its sorted place. */
int ctl_insert_peer(struct control *ctl, struct peer_record *p, uint64_t version)
{
	ssize_t at = ctl_find_peer(ctl, p->name);
	size_t i;
	int ret;

	ctl_mark_changed(ctl, p->public_key);
	if (at >= 0) {
		ctl_mark_changed(ctl, ctl->peers[at].public_key);
		model_peer_free(&ctl->peers[at]);
		ctl->peers[at] = *p;
		ctl->versions[at] = version;
		explicit_bzero(p, sizeof(*p));
		return 0;
	}
	if ((ret = reserve_peers(ctl, ctl->n_peers + 1)))
		return ret;
	i = (size_t)(-at - 1);
	memmove(&ctl->peers[i + 1], &ctl->peers[i], (ctl->n_peers - i) * sizeof(*p));
	memmove(&ctl->versions[i + 1], &ctl->versions[i], (ctl->n_peers - i) * sizeof(uint64_t));
	ctl->peers[i] = *p;
	ctl->versions[i] = version;
	ctl->n_peers++;
	explicit_bzero(p, sizeof(*p));
	return 0;
}

void ctl_remove_peer(struct control *ctl, size_t i)
{
	ctl_mark_changed(ctl, ctl->peers[i].public_key);
	model_peer_free(&ctl->peers[i]);
	memmove(&ctl->peers[i], &ctl->peers[i + 1], (ctl->n_peers - i - 1) * sizeof(ctl->peers[0]));
	memmove(&ctl->versions[i], &ctl->versions[i + 1],
		(ctl->n_peers - i - 1) * sizeof(ctl->versions[0]));
	ctl->n_peers--;
	explicit_bzero(&ctl->peers[ctl->n_peers], sizeof(ctl->peers[0]));
}

static void clear_peers(struct control *ctl)
{
	while (ctl->n_peers)
		model_peer_free(&ctl->peers[--ctl->n_peers]);
}

/* ---- loading ---- */

/* Reads the server record and every peer; on error memory is unchanged.
 * Caller holds ctl->lock (or owns ctl alone). */
int ctl_reload_locked(struct control *ctl, struct control_error *e)
{
	struct server_record srv;
	uint8_t pub[MODEL_KEY_LEN];
	uint64_t sv;
	char **keys = NULL;
	size_t n = 0, i;
	struct peer_record *peers = NULL;
	uint64_t *versions = NULL;
	int ret;

	if ((ret = ctl_read_server(ctl->store, &srv, &sv, e)))
		return ret;
	if (!x25519_public_from_secret(pub, srv.private_key)) {
		control_error_set(e, "private_key", "record \"server\": the private key is not usable");
		ret = -EBADMSG;
		goto out;
	}
	if ((ret = store_list(ctl->store, MODEL_STORE_PEER_PREFIX, &keys, &n))) {
		ctl_store_error(e, ret, MODEL_STORE_PEER_PREFIX "*");
		goto out;
	}
	peers = calloc(n ? n : 1, sizeof(*peers));
	versions = calloc(n ? n : 1, sizeof(*versions));
	if (!peers || !versions) {
		control_error_set(e, NULL, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		ret = ctl_read_peer(ctl->store, keys[i], &peers[i], &versions[i], e);
		if (ret == -ENOENT) {	/* revoked between list and get */
			ret = 0;
			continue;
		}
		if (ret)
			goto out;
	}
	/* Swap in: fail-closed above means nothing half-loaded is kept.
	 * Room first, so that nothing can fail once the old peers are gone. */
	if ((ret = reserve_peers(ctl, n))) {
		control_error_set(e, NULL, "out of memory");
		goto out;
	}
	clear_peers(ctl);
	model_server_free(&ctl->server);
	ctl->server = srv;
	memset(&srv, 0, sizeof(srv));
	ctl->server_version = sv;
	memcpy(ctl->server_public, pub, sizeof(pub));
	for (i = 0; i < n; i++)
		if (peers[i].name[0])
			ctl_insert_peer(ctl, &peers[i], versions[i]);	/* room reserved */
	/* Another process may have changed anything. */
	ctl_mark_all_changed(ctl);
out:
	model_server_free(&srv);
	explicit_bzero(pub, sizeof(pub));
	if (peers) {
		for (i = 0; i < n; i++)
			model_peer_free(&peers[i]);
		free(peers);
	}
	free(versions);
	store_list_free(keys, n);
	return ret;
}

int control_open(struct store *st, struct control **out, struct control_error *e)
{
	struct control *ctl;
	int ret;

	control_error_clear(e);
	model_json_wipe_on_free();
	ctl = secmem_alloc(sizeof(*ctl));
	if (!ctl) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	ctl->store = st;
	pthread_mutex_init(&ctl->lock, NULL);
	if ((ret = ctl_reload_locked(ctl, e))) {
		control_close(ctl);
		return ret;
	}
	*out = ctl;
	return 0;
}

void control_close(struct control *ctl)
{
	if (!ctl)
		return;
	clear_peers(ctl);
	if (ctl->peers)
		secmem_free(ctl->peers, ctl->cap_peers * sizeof(ctl->peers[0]));
	free(ctl->versions);
	model_server_free(&ctl->server);
	free(ctl->changed);
	pthread_mutex_destroy(&ctl->lock);
	secmem_free(ctl, sizeof(*ctl));
}

/* What a peer was before a reload, to tell the observer what changed. */
struct peer_before {
	char name[MODEL_NAME_MAX + 1];
	uint8_t public_key[MODEL_KEY_LEN];
	bool enabled;
	int64_t created;
	uint64_t version;
};

/* The peers as they are (sorted by name, as ctl->peers); NULL on ENOMEM.
 * Needs ctl->lock. */
static struct peer_before *peers_before(const struct control *ctl)
{
	struct peer_before *b = calloc(ctl->n_peers ? ctl->n_peers : 1, sizeof(*b));

	for (size_t i = 0; b && i < ctl->n_peers; i++) {
		memcpy(b[i].name, ctl->peers[i].name, sizeof(b[i].name));
		memcpy(b[i].public_key, ctl->peers[i].public_key, MODEL_KEY_LEN);
		b[i].enabled = ctl->peers[i].enabled;
		b[i].created = ctl->peers[i].created;
		b[i].version = ctl->versions[i];
	}
	return b;
}

/*
 * The events that made the peers `before` (n of them) into ctl's, as
 * another process's changes are audited like this process's: a peer made
 * again since (another `created`) is a revoke and an add; a new key a
 * rotate; enabled flipped an enable, or a disable (an expire if that was
 * why); any other change of the record an update.  Needs ctl->lock.
 */
static void reload_events(const struct control *ctl, const struct peer_before *before, size_t n,
			  uint64_t server_version, struct events *evs)
{
	size_t i = 0, j = 0;

	while (i < n || j < ctl->n_peers) {
		const struct peer_record *p = j < ctl->n_peers ? &ctl->peers[j] : NULL;
		const struct peer_before *b = i < n ? &before[i] : NULL;
		int c = !p ? -1 : !b ? 1 : strcmp(b->name, p->name);
		bool said = false;

		if (c < 0) {
			ctl_events_add(evs, b->name, CONTROL_EVENT_PEER_REVOKE);
			i++;
			continue;
		}
		if (c > 0) {
			ctl_events_add(evs, p->name, CONTROL_EVENT_PEER_ADD);
			j++;
			continue;
		}
		if (b->created != p->created) {
			ctl_events_add(evs, p->name, CONTROL_EVENT_PEER_REVOKE);
			ctl_events_add(evs, p->name, CONTROL_EVENT_PEER_ADD);
		} else if (b->version != ctl->versions[j]) {
			if (memcmp(b->public_key, p->public_key, MODEL_KEY_LEN) != 0) {
				ctl_events_add(evs, p->name, CONTROL_EVENT_PEER_ROTATE);
				said = true;
			}
			if (b->enabled != p->enabled) {
				ctl_events_add(evs, p->name,
					       p->enabled ? CONTROL_EVENT_PEER_ENABLE
					       : strcmp(p->disabled_reason, "expired") == 0
						       ? CONTROL_EVENT_PEER_EXPIRE
						       : CONTROL_EVENT_PEER_DISABLE);
				said = true;
			}
			if (!said)
				ctl_events_add(evs, p->name, CONTROL_EVENT_PEER_UPDATE);
		}
		i++;
		j++;
	}
	if (server_version != ctl->server_version)
		ctl_events_add(evs, NULL, CONTROL_EVENT_SERVER_UPDATE);
}

int control_reload(struct control *ctl, const struct actor *actor, struct control_error *e)
{
	/* The changes came from outside: who asked for the reload, via it. */
	struct actor by = actor ? *actor : actor_system("reload");
	struct events evs = { .actor = &by };
	struct peer_before *before;
	size_t n_before;
	uint64_t server_version;
	int ret;

	by.via = "reload";
	control_error_clear(e);
	pthread_mutex_lock(&ctl->lock);
	/* Out of memory loses the per-peer lines, not the reload. */
	before = peers_before(ctl);
	n_before = ctl->n_peers;
	server_version = ctl->server_version;
	ret = ctl_reload_locked(ctl, e);
	if (ret == 0 && before)
		reload_events(ctl, before, n_before, server_version, &evs);
	free(before);
	ctl_unlock_and_notify(ctl, &evs);
	return ret;
}

void control_set_observer(struct control *ctl, control_observer_fn fn, void *ctx)
{
	pthread_mutex_lock(&ctl->lock);
	ctl->observer = fn;
	ctl->observer_ctx = ctx;
	pthread_mutex_unlock(&ctl->lock);
}

int control_get_server(struct control *ctl, struct server_record *out,
		       uint8_t public_key[MODEL_KEY_LEN])
{
	int ret;

	pthread_mutex_lock(&ctl->lock);
	ret = model_server_copy(out, &ctl->server, false);
	if (public_key)
		memcpy(public_key, ctl->server_public, MODEL_KEY_LEN);
	pthread_mutex_unlock(&ctl->lock);
	return ret;
}

size_t control_peer_count(struct control *ctl)
{
	size_t n;

	pthread_mutex_lock(&ctl->lock);
	n = ctl->n_peers;
	pthread_mutex_unlock(&ctl->lock);
	return n;
}

int control_store_generation(struct control *ctl, uint64_t *gen)
{
	return store_generation(ctl->store, gen);
}

/* ---- queries ---- */

int control_peer_list(struct control *ctl, struct peer_record **out, size_t *n)
{
	struct peer_record *copy;
	size_t i;
	int ret = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&ctl->lock);
	copy = calloc(ctl->n_peers ? ctl->n_peers : 1, sizeof(*copy));
	if (!copy) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ctl->n_peers; i++)
		if ((ret = model_peer_copy(&copy[i], &ctl->peers[i], false))) {
			model_peer_array_free(copy, i);
			copy = NULL;
			goto out;
		}
	*out = copy;
	*n = ctl->n_peers;
out:
	pthread_mutex_unlock(&ctl->lock);
	return ret;
}

int control_peer_get(struct control *ctl, const char *name, struct peer_record *out,
		     struct control_error *e)
{
	ssize_t i;
	int ret;

	control_error_clear(e);
	memset(out, 0, sizeof(*out));	/* freeing it is safe on every path */
	pthread_mutex_lock(&ctl->lock);
	i = ctl_find_peer(ctl, name);
	if (i < 0) {
		control_error_set(e, "name", "no peer \"%.*s\" (zerowg peer list shows them)",
				  MODEL_NAME_MAX, name);
		ret = -ENOENT;
	} else {
		ret = model_peer_copy(out, &ctl->peers[i], false);
	}
	pthread_mutex_unlock(&ctl->lock);
	return ret;
}

int ctl_render_client(struct control *ctl, const struct peer_record *p,
		      const uint8_t private_key[MODEL_KEY_LEN], char **config, char **qr,
		      struct control_error *e)
{
	*config = render_client_config(&ctl->server, ctl->server_public, p, private_key,
				       ctl->peers, ctl->n_peers);
	if (!*config) {
		control_error_set(e, NULL, "peer \"%s\": the client config could not be made (%s)",
				  p->name, strerror(errno));
		return -errno;
	}
	if (qr) {
		*qr = render_qr(*config);
		if (!*qr) {
			int err = errno;
			control_error_set(e, NULL, "peer \"%s\": the QR code could not be made (%s)",
					  p->name, err == ERANGE ? "the config is too long" :
					  strerror(err));
			render_free(*config);
			*config = NULL;
			return -err;
		}
	}
	return 0;
}

int control_peer_client_config(struct control *ctl, const char *name, char **config,
			       char **qr, struct control_error *e)
{
	ssize_t i;
	int ret;

	control_error_clear(e);
	*config = NULL;
	if (qr)
		*qr = NULL;
	pthread_mutex_lock(&ctl->lock);
	i = ctl_find_peer(ctl, name);
	if (i < 0) {
		control_error_set(e, "name", "no peer \"%.*s\" (zerowg peer list shows them)",
				  MODEL_NAME_MAX, name);
		ret = -ENOENT;
	} else if (!ctl->peers[i].has_private_key) {
		control_error_set(e, "name", "peer \"%s\": its private key was not kept (it was shown "
				  "once, when the peer was added); `zerowg peer rotate %s --keep-key` "
				  "makes a new config", name, name);
		ret = -ENOKEY;
	} else {
		ret = ctl_render_client(ctl, &ctl->peers[i], ctl->peers[i].private_key, config, qr, e);
	}
	pthread_mutex_unlock(&ctl->lock);
	return ret;
}

int control_export(struct control *ctl, char **text)
{
	int ret = 0;

	pthread_mutex_lock(&ctl->lock);
	*text = render_server_export(&ctl->server, ctl->peers, ctl->n_peers);
	if (!*text)
		ret = -errno;
	pthread_mutex_unlock(&ctl->lock);
	return ret;
}

int64_t control_next_expiry(struct control *ctl)
{
	int64_t next = 0;
	size_t i;

	pthread_mutex_lock(&ctl->lock);
	for (i = 0; i < ctl->n_peers; i++) {
		const struct peer_record *p = &ctl->peers[i];
		if (p->enabled && p->expires && (!next || p->expires < next))
			next = p->expires;
	}
	pthread_mutex_unlock(&ctl->lock);
	return next;
}

static int add_allowed(struct uapi_peer *up, const struct ip_prefix *p)
{
	return uapi_peer_add_allowed_ip(up, p->family, p->addr.bytes, p->len);
}

static bool desired_at(const struct peer_record *p, int64_t now)
{
	return p->enabled && !(p->expires && p->expires <= now);
}

/* Appends p as the device should have it. */
static int add_desired_peer(struct uapi_config *cfg, const struct peer_record *p)
{
	struct ip_prefix host = { .family = AF_INET, .len = 32, .addr.v4 = p->ipv4 };
	struct uapi_peer *up = uapi_config_add_peer(cfg);
	int ret;

	if (!up)
		return -ENOMEM;
	memcpy(up->public_key, p->public_key, MODEL_KEY_LEN);
	up->has_preshared_key = true;	/* zeros = none, which clears an old one */
	if (p->has_preshared_key)
		memcpy(up->preshared_key, p->preshared_key, MODEL_KEY_LEN);
	up->has_persistent_keepalive = true;
	up->persistent_keepalive_interval = p->persistent_keepalive;
	/* A host name cannot be resolved here: such a peer must call first. */
	if (p->endpoint && uapi_parse_endpoint(p->endpoint, &up->endpoint) == 0)
		up->has_endpoint = true;
	up->replace_allowed_ips = true;
	ret = add_allowed(up, &host);
	if (!ret && p->has_ipv6) {
		struct ip_prefix h6 = { .family = AF_INET6, .len = 128, .addr.v6 = p->ipv6 };
		ret = add_allowed(up, &h6);
	}
	for (size_t j = 0; j < p->n_routes && !ret; j++)
		ret = add_allowed(up, &p->routes[j]);
	return ret;
}

/* Needs ctl->lock.  The identity and port, and replace_peers. */
static void desired_interface(struct control *ctl, struct uapi_config *cfg)
{
	cfg->has_private_key = true;
	memcpy(cfg->private_key, ctl->server.private_key, MODEL_KEY_LEN);
	cfg->has_listen_port = true;
	cfg->listen_port = ctl->server.listen_port;
	cfg->replace_peers = true;
}

int control_desired_config_at(struct control *ctl, int64_t now, struct uapi_config *cfg)
{
	int ret = 0;

	pthread_mutex_lock(&ctl->lock);
	desired_interface(ctl, cfg);
	for (size_t i = 0; i < ctl->n_peers && !ret; i++)
		if (desired_at(&ctl->peers[i], now))
			ret = add_desired_peer(cfg, &ctl->peers[i]);
	pthread_mutex_unlock(&ctl->lock);
	return ret;
}

int control_desired_peers_at(struct control *ctl, const uint8_t (*keys)[MODEL_KEY_LEN],
			     size_t n_keys, int64_t now, struct uapi_config *cfg)
{
	int ret = 0;

	pthread_mutex_lock(&ctl->lock);
	desired_interface(ctl, cfg);
	cfg->replace_peers = false;
	/* One pass over the peers, n_keys compares each: n_keys is small
	 * (CHANGED_MAX at most), and a public key is not a secret. */
	for (size_t i = 0; i < ctl->n_peers && !ret; i++) {
		const struct peer_record *p = &ctl->peers[i];
		if (!desired_at(p, now))
			continue;
		for (size_t k = 0; k < n_keys; k++)
			if (!memcmp(p->public_key, keys[k], MODEL_KEY_LEN)) {
				ret = add_desired_peer(cfg, p);
				break;
			}
	}
	pthread_mutex_unlock(&ctl->lock);
	return ret;
}

int control_desired_prefixes_at(struct control *ctl, int64_t now, control_prefix_fn fn, void *arg)
{
	int ret = 0;

	pthread_mutex_lock(&ctl->lock);
	for (size_t i = 0; i < ctl->n_peers && !ret; i++) {
		const struct peer_record *p = &ctl->peers[i];
		struct ip_prefix host = { .family = AF_INET, .len = 32, .addr.v4 = p->ipv4 };

		if (!desired_at(p, now))
			continue;
		ret = fn(arg, &host);
		if (!ret && p->has_ipv6) {
			struct ip_prefix h6 = { .family = AF_INET6, .len = 128, .addr.v6 = p->ipv6 };
			ret = fn(arg, &h6);
		}
		for (size_t j = 0; j < p->n_routes && !ret; j++)
			ret = fn(arg, &p->routes[j]);
	}
	pthread_mutex_unlock(&ctl->lock);
	return ret;
}

int control_desired_config(struct control *ctl, struct uapi_config *cfg)
{
	return control_desired_config_at(ctl, (int64_t)time(NULL), cfg);
}
