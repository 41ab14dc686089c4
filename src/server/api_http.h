/*
 * api_http.h - the admin API (api.h) over HTTP/1.1 on a unix socket, with
 * libmicrohttpd on its own polling thread.  The socket is created here:
 * its directory 0750 if missing, the socket 0660, a live socket of another
 * server never taken over, a stale one replaced.  Or the socket comes
 * listening from socket activation (api_server_start_fd), its mode the
 * unit's (SocketMode=).
 */
#ifndef ZWG_API_HTTP_H
#define ZWG_API_HTTP_H

#include <stddef.h>

#include "api.h"

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
/* Stops serving (waits for requests in progress) and removes the socket
 * if it is still ours (never one from api_server_start_fd). */
void api_server_stop(struct api_server *srv);

#endif
