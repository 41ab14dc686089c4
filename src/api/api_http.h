/*
 * api_http.h - the API (api.h) over HTTP/1.1, with libmicrohttpd (one
 * polling thread per listening socket), on two transports with the same
 * handlers:
 *
 *   - the admin unix socket (the CLI): created here (its directory 0750 if
 *     missing, the socket 0660, a live socket of another server never
 *     taken over, a stale one replaced) or passed listening (socket
 *     activation, the privileged part).  The principal is the peer's
 *     SO_PEERCRED uid, admin: whoever can connect is admin, and the
 *     socket's mode and group decide who can (docs/server.md).
 *   - TCP listeners (the web, docs/web.md), added with api_server_listen:
 *     the principal comes from api->authenticate; X-Forwarded-For and
 *     X-Forwarded-Proto count only from api_server_trust_proxies ranges.
 *
 * Every answer carries route.h's security headers.  Under abuse (issue 12)
 * an operator must still get in: a connection costs one of
 * API_CONNECTION_LIMIT slots per listener (the admin socket's are its own,
 * so the web cannot fill them); one silent for API_CONNECTION_TIMEOUT_SEC
 * is closed; and one whose request has not been answered
 * API_REQUEST_LIMIT_SEC after it started (or after the previous answer on
 * the connection) is shut down, however it trickles.
 */
#ifndef ZWG_API_HTTP_H
#define ZWG_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "api.h"

#define API_CONNECTION_LIMIT 256u
#define API_CONNECTION_TIMEOUT_SEC 10u
#define API_REQUEST_LIMIT_SEC 30u
/* The web's default port (wg-easy's). */
#define API_WEB_PORT 51821

struct api_server;

/* Serves api on socket_path.  NULL with errno; err has a message for a
 * person ("another zerowg server is already running there"). */
struct api_server *api_server_start(struct api *api, const char *socket_path, char *err,
				    size_t errlen);
/* Serves api on listen_fd, an AF_UNIX stream socket already listening
 * (socket activation: listen_fds.admin).  The server takes the fd (closed at
 * stop, also on failure) but never unlinks its path: the file is the
 * service manager's.  NULL with errno; err has a message for a person. */
struct api_server *api_server_start_fd(struct api *api, int listen_fd, char *err, size_t errlen);

/* "127.0.0.1:51821", "[::1]:51821", "10.8.0.1" (port 51821), "[fd00::1]"
 * into *ss.  0 or -EINVAL with a message quoting text. */
int api_web_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len, char *err,
		  size_t errlen);
/* Listens on TCP addr (api_web_parse's text) too, with the same api.
 * freebind: bind even if the address is not (yet) on an interface
 * (IP_FREEBIND: the tunnel's address).  0 or -errno with err set. */
int api_server_listen(struct api_server *srv, const char *addr, bool freebind, char *err,
		      size_t errlen);
/* Takes an already listening TCP socket (socket activation). */
int api_server_listen_fd(struct api_server *srv, int fd, char *err, size_t errlen);
/* The TCP listeners' addresses, "127.0.0.1:51821" each, into buf (comma
 * separated), for start-up messages. */
void api_server_describe(struct api_server *srv, char *buf, size_t len);
/* X-Forwarded-For/-Proto are honoured only from these (copied). */
void api_server_trust_proxies(struct api_server *srv, const struct api_prefix *p, size_t n);
/* For tests: the per-request bound (seconds, at least 1). */
void api_server_set_request_limit(struct api_server *srv, unsigned sec);

/* Stops serving (waits for requests in progress) and removes the socket
 * if it is still ours (never one from api_server_start_fd). */
void api_server_stop(struct api_server *srv);

#endif
