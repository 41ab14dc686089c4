/*
 * client.h - the CLI's client of the admin API (docs/server.md, "Admin
 * API"): HTTP/1.1 + JSON over the server's unix socket, with libcurl
 * (CURLOPT_UNIX_SOCKET_PATH) and jansson.
 *
 * Replies can hold a client's private key (POST /v1/peers, rotate, the
 * config of a kept peer), so every heap buffer curl and jansson use is
 * wiped when freed (client_use_wiping_allocators()).
 *
 * Errors are reported to the person here, once: a failed call prints
 *   zerowg: peer "laptop": <the server's message> (field <field>)
 * or, when nothing listens on the socket,
 *   zerowg: no server is running on SOCKET (start it with `zerowg up`)
 * and returns NULL; the verb then exits with status 1.
 */
#ifndef ZWG_CLI_CLIENT_H
#define ZWG_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

struct client {
	const char *socket_path;
	void *curl;		/* CURL *, reused for every call */
};

/*
 * Makes curl and jansson allocate through malloc/free wrappers that wipe
 * every block on free (jansson's through model_json_wipe_on_free()).
 * Must run before the first curl or jansson call of the process (main()
 * calls it for every verb).  Idempotent.
 */
void client_use_wiping_allocators(void);

/* socket_path NULL: $ZEROWG_ADMIN_SOCKET, else the server's default.
 * 0 or -errno (message printed). */
int client_open(struct client *c, const char *socket_path);
void client_close(struct client *c);

/*
 * Sends METHOD PATH (under /v1, e.g. "/v1/peers") with body (NULL for none;
 * not consumed) and returns the parsed JSON answer of a 2xx reply (an
 * empty object for 204).  On any failure prints the message described
 * above, with subject (e.g. `peer "laptop"`, may be NULL) in front, and
 * returns NULL.  *status (may be NULL) gets the HTTP status, or 0 when no
 * reply came.
 */
json_t *client_call(struct client *c, const char *method, const char *path,
		    json_t *body, const char *subject, long *status);

/* "/v1/peers/NAME" + suffix with NAME percent-encoded; NULL on ENOMEM. */
char *client_peer_path(const char *name, const char *suffix);

/* True if the server answers on the socket (for verbs that work on the
 * store directly when no server runs).  Prints nothing. */
bool client_server_running(const char *socket_path);

#endif
