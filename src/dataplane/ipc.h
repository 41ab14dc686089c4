/*
 * ipc.h - the UAPI socket of a device (/var/run/wireguard/IFNAME.sock, mode
 * 0600 in a 0755 directory), the request framing of the cross-platform
 * protocol, and applying a parsed configuration to the device.
 */
#ifndef ZWG_IPC_H
#define ZWG_IPC_H

#include "device.h"
#include "uapi.h"

#define IPC_SOCKET_DIR "/var/run/wireguard"
/* A client has this long (real time) for each of its steps: to send a
 * whole request after connecting or after its last reply, and to read a
 * whole reply.  Then it is closed, however it trickles. */
#define IPC_TIMEOUT_MS 10000u

struct ipc_server;

/* Creates the socket (refusing to take over a live one) and starts serving
 * it from dev's loop; the loop stops when the socket file is removed.
 * Returns NULL with errno set. */
struct ipc_server *ipc_server_open(struct device *dev, const char *dir);
/* Serves a socket someone else bound and listens on (the privileged part
 * of `zerowg up`): listen_fd at dir/IFNAME.sock.  It is not unlinked at
 * close.  listen_fd belongs to the server from here on, also on failure.
 * NULL with errno set. */
struct ipc_server *ipc_server_adopt(struct device *dev, int listen_fd, const char *dir);
/* Sets the per-step deadline of srv's connections (0 = IPC_TIMEOUT_MS);
 * connections open now keep theirs until their next step.  Loop thread,
 * or before the loop runs. */
void ipc_server_set_timeout(struct ipc_server *srv, unsigned timeout_ms);
/* Lowers the largest request srv takes (0 = the default, 256 MiB), so that
 * tests and fuzzing reach the refusal (tests/fuzz/ipc_fuzz.c).  Loop
 * thread, or before the loop runs. */
void ipc_server_set_max_request(struct ipc_server *srv, size_t max);
/* Stops serving (closing every connection) and unlinks the socket file if
 * it is still ours.  After the loop stopped, or on the loop thread. */
void ipc_server_close(struct ipc_server *srv);

/* Applies a validated set request.  0 or -errno (the reply's errno). */
int device_apply_config(struct device *dev, const struct uapi_config *cfg);
/* Fills cfg (initialised by the caller) with the device's state for get. */
int device_get_config(struct device *dev, struct uapi_config *cfg);
/* Statistics: like device_get_config without any secret (no private key,
 * preshared keys left all zero). */
int device_get_stats(struct device *dev, struct uapi_config *cfg);
/* The same, with only the peers among keys that the device has (each once).
 * O(n_keys): for applying one peer's change among many. */
int device_get_peers_config(struct device *dev, const uint8_t (*keys)[UAPI_KEY_LEN], size_t n_keys,
			    struct uapi_config *cfg);

/* Handles one complete request (text up to and including the blank line)
 * and returns the malloc'd reply text.  Exposed for tests and fuzzing. */
char *ipc_handle_request(struct device *dev, const char *req, size_t len, size_t *reply_len);

#endif
