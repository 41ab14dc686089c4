/*
 * control_internal.h - what the files of the control layer share
 * (control.c, peerops.c, serverops.c): struct control and the helpers
 * that read and write records.  Private to src/control/.
 *
 * Every ctl_* function that touches struct control expects ctl->lock
 * held, except ctl_unlock_and_notify, which releases it.
 */
#ifndef ZWG_CONTROL_INTERNAL_H
#define ZWG_CONTROL_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>

#include "control.h"

/* Attempts at a compare-and-swap before -EBUSY.  Between attempts
 * ctl_cas_backoff() sleeps a random, growing while (at most ~64 ms), so
 * that of two writers racing, the slower one (which re-reads the store
 * after each loss) is not starved by the faster one. */
#define CAS_RETRIES 24
#define STORE_KEY_BUF (sizeof(MODEL_STORE_PEER_PREFIX) + MODEL_NAME_MAX + 1)

struct control {
	struct store *store;
	/*
	 * lock serialises every operation and guards every field below.
	 * Lock order: lock, then the store's own locks (taken inside store_*
	 * calls).  The observer is called with lock released.
	 */
	pthread_mutex_t lock;
	struct server_record server;
	uint64_t server_version;
	uint8_t server_public[MODEL_KEY_LEN];
	/* Sorted by name; in secmem (they hold keys).  versions[i] is the
	 * store version of peers[i]. */
	struct peer_record *peers;
	uint64_t *versions;
	size_t n_peers, cap_peers;
	control_observer_fn observer;
	void *observer_ctx;
	/* The public keys whose desired device state may have changed since
	 * the last control_take_changes (control.h); changed_all: anything may
	 * have (set at load, on reload, and when the list would grow past
	 * CHANGED_MAX).  Public keys only: ordinary memory. */
	uint8_t (*changed)[MODEL_KEY_LEN];
	size_t n_changed, cap_changed;
	bool changed_all;
};

/* More changed keys than this between two applies: apply everything. */
#define CHANGED_MAX 1024

/* Events gathered under the lock, delivered after it is released. */
struct events {
	struct event {
		char name[MODEL_NAME_MAX + 1];
		bool has_name;
		enum control_event ev;
	} *v;
	size_t n;
	const struct actor *actor;	/* who made the changes: for the observer */
};

void ctl_cas_backoff(int attempt);

void ctl_events_add(struct events *evs, const char *name, enum control_event ev);
/* Releases ctl->lock, then calls the observer for each event. */
void ctl_unlock_and_notify(struct control *ctl, struct events *evs);

/* "peers/NAME" */
void ctl_peer_key(char buf[STORE_KEY_BUF], const char *name);
/* Sets e for a failed store call on record key; returns ret. */
int ctl_store_error(struct control_error *e, int ret, const char *key);
/* Writes p with CAS on expect; *version gets the new version. */
int ctl_put_peer(struct control *ctl, const struct peer_record *p, uint64_t expect,
		 uint64_t *version, struct control_error *e);
/* Writes s as "server" with CAS on ctl->server_version (updated). */
int ctl_put_server(struct control *ctl, const struct server_record *s, struct control_error *e);
int ctl_read_server(struct store *st, struct server_record *out, uint64_t *version,
		    struct control_error *e);
/* -ENOENT (e untouched) if the record is gone. */
int ctl_read_peer(struct store *st, const char *key, struct peer_record *out,
		  uint64_t *version, struct control_error *e);

/* Notes that key's desired state may have changed (every change of
 * ctl->peers goes through here: insert, remove, an address moved). */
void ctl_mark_changed(struct control *ctl, const uint8_t key[MODEL_KEY_LEN]);
void ctl_mark_all_changed(struct control *ctl);

/* Index of name in ctl->peers, or -(insertion point) - 1. */
ssize_t ctl_find_peer(const struct control *ctl, const char *name);
/* Moves *p into the array (replacing a peer of the same name). */
int ctl_insert_peer(struct control *ctl, struct peer_record *p, uint64_t version);
void ctl_remove_peer(struct control *ctl, size_t i);
/* Re-reads everything; memory is unchanged on error. */
int ctl_reload_locked(struct control *ctl, struct control_error *e);

/* The client config (and QR if qr != NULL) of peers[i] with a private key. */
int ctl_render_client(struct control *ctl, const struct peer_record *p,
		      const uint8_t private_key[MODEL_KEY_LEN], char **config, char **qr,
		      struct control_error *e);

/* peer add under the lock (peerops.c), for control_apply_options. */
int ctl_peer_add_locked(struct control *ctl, const struct peer_add_request *req,
			struct peer_add_result *res, struct events *evs, struct control_error *e);

/* Sets a peer's keepalive (-1: leave) and routes (comma list; NULL:
 * leave); no event if nothing changed. */
int ctl_update_peer_locked(struct control *ctl, const char *name, int keepalive,
			   const char *routes, struct events *evs, struct control_error *e);

#endif
