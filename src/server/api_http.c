/*
 * api_http.c - the admin API's HTTP server (api_http.h): libmicrohttpd on a
 * unix socket we create ourselves, so that its mode is ours to set, or on
 * one socket activation passed us listening.
 *
 * A request's body is gathered (at most API_MAX_BODY bytes, then 413) and
 * handed whole to api_handle() (api.c).  Answers may hold a private key:
 * libmicrohttpd sends our buffer as is and gives it back to a free
 * callback that wipes it.
 *
 * Under abuse (issue 12) an operator must still get in: libmicrohttpd runs
 * one polling thread on epoll with non-blocking sockets, so a client that
 * stalls or trickles costs one of API_CONNECTION_LIMIT slots and never
 * holds the thread; a connection silent for API_CONNECTION_TIMEOUT_SEC is
 * closed; a request's line and headers are bounded by the connection's
 * memory pool (API_CONNECTION_MEMORY, past it 431/414), its body by
 * API_MAX_BODY (413).  The limit is far above what the CLI and a web UI
 * need and far below the fds a server has; the backlog is SOMAXCONN, so a
 * burst waits instead of being refused.
 */
#include "api_http.h"
#include "errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define API_CONNECTION_LIMIT 256u
#define API_CONNECTION_TIMEOUT_SEC 10u
#define API_CONNECTION_MEMORY ((size_t)32 * 1024)

struct api_server {
	struct MHD_Daemon *mhd;
	struct api *api;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* "" = not ours to unlink */
	ino_t ino;
};

/* One request's body as it arrives. */
struct request {
	char *buf;
	size_t len, cap;
	bool too_big;
};

static void wipe_and_free(void *p)
{
	/* Bodies are NUL-terminated JSON text. */
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

static enum MHD_Result queue_reply(struct MHD_Connection *conn, struct api_reply *reply)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (reply->body) {
		resp = MHD_create_response_from_buffer_with_free_callback(reply->len, reply->body,
									  wipe_and_free);
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!resp) {
		api_reply_free(reply);
		return MHD_NO;
	}
	reply->body = NULL;	/* the response owns it now */
	if (reply->status != 204)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(conn, reply->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

struct query {
	char text[1024];
	bool too_long;
};

/* MHD parses the query string apart: put it back as "k=v&k2=v2" for
 * api_handle, which reads it. */
static enum MHD_Result add_argument(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	struct query *q = cls;
	size_t used = strlen(q->text);
	int n = snprintf(q->text + used, sizeof(q->text) - used, "%s%s%s%s", used ? "&" : "",
			 key, value ? "=" : "", value ? value : "");

	if (n < 0 || (size_t)n >= sizeof(q->text) - used)
		q->too_long = true;
	(void)kind;
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct api_server *srv = cls;
	struct request *req = *con_cls;
	struct api_reply reply;

	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (req->too_big || req->len + n > API_MAX_BODY) {
			req->too_big = true;
			return MHD_YES;
		}
		if (req->len + n + 1 > req->cap) {
			size_t cap = (req->len + n + 1) * 2;
			char *nb = malloc(cap < API_MAX_BODY + 1 ? cap : API_MAX_BODY + 1);
			if (!nb)
				return MHD_NO;
			if (req->buf) {
				memcpy(nb, req->buf, req->len);
				explicit_bzero(req->buf, req->cap);
				free(req->buf);
			}
			req->buf = nb;
			req->cap = cap < API_MAX_BODY + 1 ? cap : API_MAX_BODY + 1;
		}
		memcpy(req->buf + req->len, upload_data, n);
		req->len += n;
		req->buf[req->len] = '\0';
		return MHD_YES;
	}
	if (req->too_big) {
		memset(&reply, 0, sizeof(reply));
		api_reply_error(&reply, 413, NULL, "the body is larger than %d KiB", API_MAX_BODY / 1024);
	} else {
		struct query q = { .text = "" };
		char *full = NULL;

		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_argument, &q);
		if (q.too_long) {
			memset(&reply, 0, sizeof(reply));
			api_reply_error(&reply, 414, NULL, "the query is longer than %zu bytes",
					sizeof(q.text) - 1);
		} else if (q.text[0] && asprintf(&full, "%s?%s", url, q.text) < 0) {
			memset(&reply, 0, sizeof(reply));
			api_reply_error(&reply, 500, NULL, "out of memory");
		} else {
			api_handle(srv->api, method, full ? full : url, req->buf, req->len, &reply);
		}
		free(full);
	}
	return queue_reply(conn, &reply);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	if (!req)
		return;
	if (req->buf) {
		explicit_bzero(req->buf, req->cap);
		free(req->buf);
	}
	free(req);
	*con_cls = NULL;
}


/* libmicrohttpd on srv->fd, which is listening. */
static struct MHD_Daemon *start_mhd(struct api_server *srv)
{
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				on_request, srv,
				MHD_OPTION_LISTEN_SOCKET, srv->fd,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
				MHD_OPTION_CONNECTION_TIMEOUT, API_CONNECTION_TIMEOUT_SEC,
				MHD_OPTION_CONNECTION_LIMIT, API_CONNECTION_LIMIT,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, API_CONNECTION_MEMORY,
				MHD_OPTION_END);
}

/* The socket's directory: created 0750 if missing (an existing one is the
 * operator's and keeps its mode). */
static int make_parent_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		int ret = -errno;
		errbuf_set(err, errlen, "admin socket %s: cannot create directory %s: %s", path, dir,
			strerror(errno));
		return ret;
	}
	return 0;
}

struct api_server *api_server_start(struct api *api, const char *socket_path, char *err,
				    size_t errlen)
{
	struct api_server *srv;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	bool bound = false;
	int fd = -1, saved;

	if (strlen(socket_path) >= sizeof(sun.sun_path)) {
		errbuf_set(err, errlen, "admin socket path \"%s\" is too long (at most %zu bytes)",
			socket_path, sizeof(sun.sun_path) - 1);
		errno = ENAMETOOLONG;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->api = api;
	srv->fd = -1;
	snprintf(srv->path, sizeof(srv->path), "%s", socket_path);
	strcpy(sun.sun_path, socket_path);
	if ((saved = make_parent_dir(socket_path, err, errlen)) < 0) {
		errno = -saved;
		goto err;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err_sys;
	/* A live socket belongs to a running server: never take it over. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		errbuf_set(err, errlen, "admin socket %s: another zerowg server is already running "
			"there (stop it, or pick another --admin-socket)", socket_path);
		errno = EADDRINUSE;
		goto err;
	}
	close(fd);
	if (lstat(socket_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		errbuf_set(err, errlen, "admin socket %s: a file that is not a socket is in the way "
			"(remove it, or pick another --admin-socket)", socket_path);
		errno = EEXIST;
		fd = -1;
		goto err;
	}
	unlink(socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err_sys;
	/* Created 0600 and then opened to the group: no window where others
	 * could connect. */
	old_umask = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old_umask);
		goto err_sys;
	}
	umask(old_umask);
	bound = true;
	if (chmod(socket_path, 0660) < 0 || listen(fd, SOMAXCONN) < 0 || stat(socket_path, &st) < 0)
		goto err_sys;
	srv->ino = st.st_ino;
	srv->fd = fd;
	srv->mhd = start_mhd(srv);
	if (!srv->mhd) {
		errbuf_set(err, errlen, "admin socket %s: the HTTP server did not start", socket_path);
		errno = EIO;
		goto err;
	}
	return srv;
err_sys:
	errbuf_set(err, errlen, "admin socket %s: %s", socket_path, strerror(errno));
err:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (bound)
		unlink(socket_path);
	free(srv);
	errno = saved;
	return NULL;
}

struct api_server *api_server_start_fd(struct api *api, int listen_fd, char *err, size_t errlen)
{
	struct api_server *srv;
	int v, flags, saved;
	socklen_t len = sizeof(v);

	if (getsockopt(listen_fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0) {
		saved = errno;
		errbuf_set(err, errlen, "admin socket fd %d: %s", listen_fd, strerror(saved));
		goto err_close;
	}
	if (v != AF_UNIX) {
		errbuf_set(err, errlen, "admin socket fd %d is not a unix socket; the admin API "
			   "wants ListenStream=/path/to/admin.sock", listen_fd);
		saved = EAFNOSUPPORT;
		goto err_close;
	}
	len = sizeof(v);
	if (getsockopt(listen_fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 || v != SOCK_STREAM) {
		errbuf_set(err, errlen, "admin socket fd %d is not a stream socket; the admin API "
			   "wants ListenStream=/path/to/admin.sock", listen_fd);
		saved = EPROTOTYPE;
		goto err_close;
	}
	len = sizeof(v);
	if (getsockopt(listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 || !v) {
		errbuf_set(err, errlen, "admin socket fd %d is not listening (Accept=yes passes "
			   "connections); the unit wants Accept=no", listen_fd);
		saved = EINVAL;
		goto err_close;
	}
	/* Whoever bound it chose a backlog (16 in priv.c); listening again
	 * only raises it (Linux), so a burst of clients waits instead of
	 * being refused. */
	(void)listen(listen_fd, SOMAXCONN);
	/* The service manager hands sockets over blocking. */
	flags = fcntl(listen_fd, F_GETFL);
	if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(listen_fd, F_SETFD, FD_CLOEXEC) < 0) {
		saved = errno;
		errbuf_set(err, errlen, "admin socket fd %d: %s", listen_fd, strerror(saved));
		goto err_close;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		saved = ENOMEM;
		goto err_close;
	}
	srv->api = api;
	srv->fd = listen_fd;
	srv->mhd = start_mhd(srv);
	if (!srv->mhd) {
		errbuf_set(err, errlen, "admin socket fd %d: the HTTP server did not start", listen_fd);
		free(srv);
		saved = EIO;
		goto err_close;
	}
	return srv;
err_close:
	close(listen_fd);
	errno = saved;
	return NULL;
}

void api_server_stop(struct api_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	/* libmicrohttpd closes the listening socket it was given. */
	if (srv->mhd)
		MHD_stop_daemon(srv->mhd);
	else if (srv->fd >= 0)
		close(srv->fd);
	/* Only our own socket: a new server may already have replaced it. */
	if (srv->path[0] && stat(srv->path, &st) == 0 && st.st_ino == srv->ino)
		unlink(srv->path);
	free(srv);
}
