/*
 * control.h - the control layer: the server's and the peers' records, and
 * every operation on them (add, list, enable/disable, revoke, rotate,
 * expire, import, export), over a struct store.  No network I/O: the
 * server layer applies what this describes (control_desired_config,
 * apply_diff in src/server/apply.c) to the data plane, and the admin API calls these
 * functions.
 *
 * Every change is written to the store before the function returns 0, and
 * before the observer hears of it.  Records are kept in memory (peers in
 * locked secret memory, sorted by name) and re-read from the store when a
 * compare-and-swap fails (-ESTALE: another process wrote the same store).
 *
 * Concurrency: a struct control may be used from any thread; one mutex
 * serialises every operation.  The observer is called after the mutex is
 * released, on the thread that made the change, so it may call back into
 * the control layer (e.g. control_desired_config).
 *
 * Errors: 0 or -errno, with struct control_error (model.h) set for a
 * person and naming the field at fault:
 *   -EINVAL bad input          -EEXIST a peer of that name exists
 *   -ENOENT no such peer       -ENOSPC the subnet is full
 *   -ENOKEY the client key was not kept (show-peer, config)
 *   -EBADMSG/-EKEYREJECTED/-EIO/-ENOSPC/-EROFS from the store
 */
#ifndef ZWG_CONTROL_H
#define ZWG_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "actor.h"
#include "encoding.h"
#include "model.h"
#include "store.h"
#include "uapi.h"

/*
 * Server settings from `zerowg up` flags and the environment (envconf.h).
 * Every field has an "unset" value (NULL, 0, -1, false) meaning "keep what
 * the store has" (or, for control_init_server, the default).  The struct
 * owns its strings: fill it with server_options_set() or strdup(), release
 * it with server_options_free().
 */
struct server_options {
	char *interface;		/* --interface; NULL = unset ("zwg0") */
	uint16_t listen_port;		/* --port; 0 = unset (51820) */
	bool has_subnet;		/* --subnet / INTERNAL_SUBNET */
	struct in_addr subnet;		/* network address */
	uint8_t subnet_prefix;
	char *endpoint;			/* --endpoint HOST[:PORT] / SERVERURL */
	bool endpoint_auto;		/* SERVERURL=auto: the server picks one */
	uint16_t endpoint_port;		/* SERVERPORT; 0 = unset (listen port) */
	char *dns;			/* --dns LIST / PEERDNS; "auto" = the server's
					 * tunnel address; "" = none */
	char *client_allowed_ips;	/* --allowed-ips / ALLOWEDIPS */
	int persistent_keepalive;	/* --keepalive: client configs' default; -1 = unset */
	int mtu;			/* --mtu; 0 = unset (1420) */
	int nat;			/* --nat; -1 unset, 0 off, 1 on */
	/* PEERS: peers that must exist; each missing one is created with its
	 * key kept (so show-peer can show it again). */
	char **peers;
	size_t n_peers;
	/* PERSISTENTKEEPALIVE_PEERS: these peers get a keepalive of 25 s on
	 * both ends of their tunnel. */
	bool keepalive_all_peers;
	char **keepalive_peers;
	size_t n_keepalive_peers;
	/* SERVER_ALLOWEDIPS_PEER_<name>: routes behind a PEERS peer. */
	struct server_option_routes {
		char *peer;
		char *routes;		/* comma list of prefixes */
	} *peer_routes;
	size_t n_peer_routes;
	bool log_confs;			/* LOG_CONFS (default true) */
};

void server_options_init(struct server_options *o);
void server_options_free(struct server_options *o);
/*
 * Sets one option from text, by its flag name without "--": "interface",
 * "port", "subnet", "endpoint", "endpoint-port", "dns", "allowed-ips",
 * "keepalive", "mtu", "nat" ("true"/"false"/"1"/"0"/"on"/"off"), "peers",
 * "keepalive-peers", "log-confs".  Validates the value (message quotes it
 * and names the option).  0, -EINVAL or -ENOMEM; -ENOENT for an unknown
 * option name.
 */
int server_options_set(struct server_options *o, const char *option, const char *value,
		       struct control_error *e);

struct control;
struct firewall_rule;

enum control_event {
	CONTROL_EVENT_PEER_ADD,		/* "peer.add" */
	CONTROL_EVENT_PEER_ENABLE,	/* "peer.enable" */
	CONTROL_EVENT_PEER_DISABLE,	/* "peer.disable" */
	CONTROL_EVENT_PEER_REVOKE,	/* "peer.revoke" (record deleted) */
	CONTROL_EVENT_PEER_ROTATE,	/* "peer.rotate" (new public key) */
	CONTROL_EVENT_PEER_EXPIRE,	/* "peer.expire" (disabled, reason "expired") */
	CONTROL_EVENT_PEER_UPDATE,	/* "peer.update" (e.g. keepalive from options) */
	CONTROL_EVENT_SERVER_UPDATE,	/* "server.update" (peer_name NULL) */
	CONTROL_EVENT_IMPORT,		/* "import" (peer_name NULL; everything may change) */
};
/* The audit-log name of an event ("peer.add"). */
const char *control_event_name(enum control_event ev);

/* actor: who made the change (as passed to the operation; may be NULL). */
typedef void (*control_observer_fn)(void *ctx, const char *peer_name, enum control_event ev,
				    const struct actor *actor);

/*
 * Creates the "server" record in a store that has none (the store itself
 * made "meta"): a fresh key pair, a fresh ULA /64, the subnet, port and
 * other settings from opt (may be NULL: defaults).  Does not create the
 * PEERS peers (control_apply_options does).  -EEXIST if the store already
 * has a server record.
 */
int control_init_server(struct store *st, const struct server_options *opt,
			struct control_error *e);

/* Loads the server record and every peer.  -ENOENT (with a message
 * suggesting `zerowg init`) if the store has no server record.  The store
 * must outlive the control. */
int control_open(struct store *st, struct control **out, struct control_error *e);
void control_close(struct control *ctl);
/* Re-reads everything from the store (another process wrote it); actor:
 * who asked (the observer hears it with any event of the reload, with via
 * "reload").  The observer hears one event per peer that changed since the
 * last load: PEER_ADD, PEER_REVOKE (both for a peer made again), PEER_ROTATE,
 * PEER_ENABLE, PEER_DISABLE or PEER_EXPIRE, else PEER_UPDATE; and
 * SERVER_UPDATE if the server record changed.  On error (a store that fails
 * its checks: -EBADMSG) nothing changes and nothing is heard. */
int control_reload(struct control *ctl, const struct actor *actor, struct control_error *e);

/* The observer hears of every change after it is stored; NULL to stop. */
void control_set_observer(struct control *ctl, control_observer_fn fn, void *ctx);

/*
 * Applies flags/environment to a running store: writes the server
 * settings that differ (a subnet change is refused once peers exist: -EBUSY),
 * creates each missing PEERS peer (key kept, routes from
 * SERVER_ALLOWEDIPS_PEER_x) and sets the keepalive of
 * PERSISTENTKEEPALIVE_PEERS.  Each change notifies the observer.
 */
int control_apply_options(struct control *ctl, const struct server_options *opt,
			  const struct actor *actor, struct control_error *e);

/* The server record without its private key, and its public key. */
int control_get_server(struct control *ctl, struct server_record *out,
		       uint8_t public_key[MODEL_KEY_LEN]);
size_t control_peer_count(struct control *ctl);
/* The store's generation (store_generation): 0 or -errno. */
int control_store_generation(struct control *ctl, uint64_t *gen);

struct peer_add_request {
	const char *name;
	int64_t expires;		/* unix time, 0 = never (model_parse_expires) */
	const char *dns;		/* NULL = the server's */
	const char *allowed_ips;	/* client-side AllowedIPs; NULL = the server's */
	const char *const *routes;	/* prefixes behind the peer (site-to-site) */
	size_t n_routes;
	bool keep_key;			/* keep the client's private key in the store */
	int persistent_keepalive;	/* -1 = the server's default */
	/* A peer with a key pair of its own (`zerowg app link`): its public
	 * key, a preshared key both ends hold (NULL = none), and where it
	 * listens ("IP:PORT"; NULL = it roams).  No client config is made. */
	const uint8_t *public_key;	/* NULL = generate a key pair */
	const uint8_t *preshared_key;
	const char *endpoint;
};

struct peer_add_result {
	struct peer_record peer;	/* as stored, without secrets */
	char *client_config;		/* wg-quick text, holds the private key */
	char *qr;			/* terminal QR code of client_config */
	uint8_t private_key[MODEL_KEY_LEN];	/* the client's */
	char private_key_base64[KEY_BASE64_LEN + 1];
};
/* Wipes and frees everything in r (r itself is not freed). */
void control_peer_add_result_free(struct peer_add_result *r);

/*
 * Validates the request, allocates the addresses, generates the client key
 * pair and a preshared key, stores the record (STORE_NEW), notifies
 * CONTROL_EVENT_PEER_ADD and returns the client config, its QR code and
 * the private key in *res (the only time the key leaves, unless kept).
 * -EEXIST: 'peer "phone" already exists (pick another name, or revoke it
 * first)'.  On error *res is left zeroed.
 */
int control_peer_add(struct control *ctl, const struct peer_add_request *req,
		     struct peer_add_result *res, const struct actor *actor,
		     struct control_error *e);

/* Copies of every peer record, sorted by name, without secrets; free with
 * model_peer_array_free(*out, *n). */
int control_peer_list(struct control *ctl, struct peer_record **out, size_t *n);
/* A copy of one peer record without secrets (free with model_peer_free;
 * *out is zeroed on error, so freeing it is always safe). */
int control_peer_get(struct control *ctl, const char *name, struct peer_record *out,
		     struct control_error *e);

/*
 * Enables or disables a peer.  reason (disable only): "manual" when NULL.
 * Enabling a peer whose expiry has passed clears the expiry.  Enabling an
 * enabled peer (or disabling a disabled one) changes nothing and returns 0
 * without an event.
 */
int control_peer_set_enabled(struct control *ctl, const char *name, bool enabled,
			     const char *reason, const struct actor *actor,
			     struct control_error *e);
/* Sets or clears (0) a peer's expiry: control_peer_update with only
 * set_expires. */
int control_peer_set_expires(struct control *ctl, const char *name, int64_t expires,
			     const struct actor *actor, struct control_error *e);

/*
 * What control_peer_update changes: each set_* flag picks one field; the
 * fields not picked stay as they are.  Strings are borrowed.
 */
struct peer_update {
	bool set_expires;
	int64_t expires;		/* unix time after now, or 0 = never */
	bool set_dns;
	const char *dns;		/* client DNS; NULL or "" = the server's */
	bool set_allowed_ips;
	const char *allowed_ips;	/* client-side AllowedIPs; NULL or "" = the server's */
	bool set_routes;
	const char *const *routes;	/* the new list: replaces the old; n_routes 0 = none */
	size_t n_routes;
	bool set_keepalive;
	int persistent_keepalive;	/* 0..65535 seconds; 0 or -1 = the server's default */
};

/*
 * Changes the picked fields of an existing peer, validated as
 * control_peer_add validates them (same validators, same messages: a
 * control character, a bad prefix, a route with host bits or one that
 * overlaps the tunnel subnets or another peer's routes, an expiry that is
 * not in the future: -EINVAL with e->field naming the field).  All or
 * nothing: one record write, or none on any error.  The observer hears
 * CONTROL_EVENT_PEER_UPDATE ("peer.update", with actor), so the server
 * applies it: new routes change the peer's allowed IPs on the device in
 * place (its session and handshake stay); DNS, client AllowedIPs and
 * keepalive are in the client's config, which the client needs again.
 * Nothing changed: 0 without an event.  Enabled state is never changed:
 * a new expiry (or never) on a peer its expiry disabled keeps it disabled,
 * with reason "manual", until control_peer_set_enabled lets it back in;
 * enable then keeps the new expiry.  -ENOENT for no such peer.
 */
int control_peer_update(struct control *ctl, const char *name, const struct peer_update *u,
			const struct actor *actor, struct control_error *e);
/*
 * The per-client firewall (firewall_rule.h): sets (set true: rules[0..n), n may be
 * 0) or clears (set false) the firewall of peer name, stores it and tells
 * the observer (CONTROL_EVENT_PEER_UPDATE); the server's next apply
 * carries it to the privileged part.  Rules must come from
 * firewall_rules_parse.  Setting the same list again changes nothing.
 * 0, -EINVAL, -ENOENT or another control.h error, with e set.
 */
int control_peer_set_firewall(struct control *ctl, const char *name, bool set,
			      const struct firewall_rule *rules, size_t n,
			      const struct actor *actor, struct control_error *e);
/* Deletes the record: the peer is gone and its addresses are free. */
int control_peer_revoke(struct control *ctl, const char *name, const struct actor *actor,
			struct control_error *e);
/* A new client key pair and preshared key; the old public key is gone from
 * the desired config at once.  keep_key as in peer_add.  *res as peer_add. */
int control_peer_rotate(struct control *ctl, const char *name, bool keep_key,
			struct peer_add_result *res, const struct actor *actor,
			struct control_error *e);
/* The client config and QR again, for a peer whose key was kept (`zerowg
 * show-peer`, GET /v1/peers/NAME/config).  -ENOKEY if it was not kept.
 * Free both with render_free(); qr may be NULL if not wanted. */
int control_peer_client_config(struct control *ctl, const char *name, char **config,
			       char **qr, struct control_error *e);

/*
 * Disables every enabled peer whose expiry is at or before now (reason
 * "expired"), storing each, then notifies the observer
 * (CONTROL_EVENT_PEER_EXPIRE) and calls fn (may be NULL) per peer.
 * Returns the number of peers expired, or -errno (peers expired before the
 * error stay expired).
 */
int control_expire_due(struct control *ctl, int64_t now, const struct actor *actor,
		       void (*fn)(void *ctx, const char *peer_name), void *ctx);
/* The earliest expiry of an enabled peer, or 0 if none. */
int64_t control_next_expiry(struct control *ctl);

/*
 * Moves a wg-quick server config into the store: the server's private key,
 * listen port, addresses (IPv4 required; a ULA /64 is made if there is no
 * IPv6), MTU; one peer per [Peer], named from its comment or "peerN", its
 * first IPv4 /32 and IPv6 /128 as addresses and the rest as routes (a peer
 * without an IPv4 /32 gets a free address, with a warning).  Everything
 * is validated before anything is written; a peer that exists with the
 * same public key is skipped (so an interrupted import can be re-run), one
 * with another key is an error.  warnings (may be NULL) receives malloc'd
 * messages for a person (free each and the array).
 */
int control_import_wgconf(struct control *ctl, const char *text, size_t len,
			  char ***warnings, size_t *n_warnings, const struct actor *actor,
			  struct control_error *e);

/* The server's wg-quick config (render_server_export); free with render_free. */
int control_export(struct control *ctl, char **text);

/*
 * The device configuration the store describes, for uapi: private key,
 * listen port, replace_peers, and every enabled peer not expired at now
 * with its preshared key, replace_allowed_ips and allowed IPs = its /32,
 * its /128 and its routes, and persistent_keepalive_interval (always set;
 * 0 = off).  cfg must be initialised (uapi_config_init); the caller frees
 * it with uapi_config_free (wipes).  control_desired_config uses time(NULL).
 */
int control_desired_config(struct control *ctl, struct uapi_config *cfg);
int control_desired_config_at(struct control *ctl, int64_t now, struct uapi_config *cfg);

/*
 * What changed, so that the server applies one peer's change without
 * walking every peer.  Every change to the peers (add, enable, disable,
 * revoke, rotate: old and new key, expire, an address moved, an import)
 * notes the public keys whose desired state may differ; loading and
 * reloading the store note "everything".  control_take_changes hands the
 * notes over and clears them: *keys (free() it; may be NULL with *n = 0)
 * or *all = true.  Take them before reading the desired state, so that a
 * change made in between is noted again, never lost.  After a failed
 * apply, control_mark_all_changed makes the next one complete.
 */
int control_take_changes(struct control *ctl, uint8_t (**keys)[MODEL_KEY_LEN], size_t *n,
			 bool *all);
void control_mark_all_changed(struct control *ctl);

/*
 * As control_desired_config_at, but with only the peers among keys (n_keys
 * of them) that the device should have: a key that is missing (revoked,
 * rotated away, disabled, expired) has no entry.  replace_peers is false.
 */
int control_desired_peers_at(struct control *ctl, const uint8_t (*keys)[MODEL_KEY_LEN],
			     size_t n_keys, int64_t now, struct uapi_config *cfg);

/* Calls fn for every allowed IP of every peer the device should have
 * (under the control lock: fn must not call back into the control layer);
 * stops at and returns fn's first non-zero result. */
typedef int (*control_prefix_fn)(void *arg, const struct ip_prefix *p);
int control_desired_prefixes_at(struct control *ctl, int64_t now, control_prefix_fn fn, void *arg);

#endif
