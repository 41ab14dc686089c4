/*
 * api_http.c - the API's HTTP server (api_http.h): libmicrohttpd on the
 * admin unix socket and on TCP listeners, one daemon (and polling thread)
 * per listening socket, all calling api_handle() (route.c).
 *
 * A request's body is gathered (at most API_MAX_BODY bytes, then 413) and
 * handed whole to api_handle().  Answers may hold a private key:
 * libmicrohttpd sends our buffer as is and gives it back to a free
 * callback that wipes it.
 *
 * Slow clients: libmicrohttpd runs each daemon's polling thread on epoll
 * with non-blocking sockets, so a client that stalls or trickles costs one
 * of API_CONNECTION_LIMIT slots of its listener and never holds the
 * thread; a connection silent for API_CONNECTION_TIMEOUT_SEC is closed.
 * A client that trickles a byte every few seconds is never silent that
 * long, so each connection is also tracked from libmicrohttpd's
 * "connection started" notice (and again after each answer), and the
 * reaper thread shuts down the socket of one whose request has taken more
 * than API_REQUEST_LIMIT_SEC; the daemon then sees the connection end and
 * frees the slot.  The tracker leaves the list in the "closed" notice,
 * which libmicrohttpd gives before it closes the fd, so the reaper never
 * shuts down an fd that has been reused.  A request's line and headers
 * are bounded by the connection's memory pool (API_CONNECTION_MEMORY,
 * past it 431/414), its body by API_MAX_BODY (413).
 *
 * Lock order: srv->lock is a leaf (the reaper holds it while calling
 * shutdown(), nothing else).
 */
#include "api_http.h"
#include "audit.h"
#include "route.h"
#include "errbuf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define API_CONNECTION_MEMORY ((size_t)32 * 1024)
/* Threads per TCP listener (the accounts module runs at most two
 * Argon2id hashes at once; the others answer meanwhile). */
#define API_TCP_THREADS 4
#define MAX_LISTENERS 8

struct listener {
	struct api_server *srv;
	struct MHD_Daemon *mhd;
	enum api_transport transport;
	char name[64];			/* "127.0.0.1:51821" (TCP) */
};

/* One connection, from libmicrohttpd's STARTED notice to its CLOSED one. */
struct tracked {
	struct tracked *prev, *next;
	int fd;
	struct timespec since;		/* start, or the previous answer */
	bool shut;
	bool has_cred;
	struct ucred cred;
};

struct api_server {
	struct api *api;
	struct listener listeners[MAX_LISTENERS];
	size_t n_listeners;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* "" = not ours to unlink */
	ino_t ino;
	struct api_prefix proxies[API_MAX_PREFIXES];
	size_t n_proxies;

	/* lock guards conns, stopping and request_limit; the reaper waits
	 * on wake. */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct tracked *conns;
	bool stopping;
	unsigned request_limit;
	pthread_t reaper;
	bool reaper_started;
};

/* One request's body as it arrives. */
struct request {
	char *buf;
	size_t len, cap;
	bool too_big;
};

/* -------------------------------------------------------- the reaper -- */

/* Where a connection cut off comes from, as the audit log names it: the
 * uid on the admin socket; on TCP the peer's address, or "unknown (via
 * proxy A)" from a trusted proxy (its X-Forwarded-For is not read yet).
 * Called with srv->lock held (getpeername only).  true on the admin socket. */
static bool cut_source(struct api_server *srv, const struct tracked *t, char *buf, size_t len)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof(ss);
	char a[INET6_ADDRSTRLEN + 8];

	if (getpeername(t->fd, (struct sockaddr *)&ss, &sl) < 0 || ss.ss_family == AF_UNIX) {
		if (t->has_cred)
			snprintf(buf, len, "uid %u", (unsigned)t->cred.uid);
		else
			snprintf(buf, len, "local");
		return true;
	}
	audit_source_text(&ss, sl, a, sizeof(a));
	if (srv->n_proxies && api_prefix_match(srv->proxies, srv->n_proxies, &ss))
		snprintf(buf, len, "unknown (via proxy %s)", a);
	else
		snprintf(buf, len, "%s", a);
	return false;
}

static void *reaper_main(void *arg)
{
	struct api_server *srv = arg;
	struct timespec now, until;
	static const struct actor anon_web = { .via = "web" }, anon_cli = { .via = "cli" };
	/* As many as one listener's slots, so that each cut-off is written
	 * (or counted) under its own source; beyond, one summary line. */
	char cut[API_CONNECTION_LIMIT][INET6_ADDRSTRLEN + 32], why[64];
	bool cut_unix[API_CONNECTION_LIMIT];
	size_t n_cut, n_more;

	pthread_mutex_lock(&srv->lock);
	while (!srv->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		n_cut = n_more = 0;
		for (struct tracked *t = srv->conns; t; t = t->next) {
			if (!t->shut && now.tv_sec - t->since.tv_sec >= (time_t)srv->request_limit) {
				/* The daemon sees the end on its next poll and
				 * closes the connection (then CLOSED). */
				if (n_cut < sizeof(cut) / sizeof(cut[0])) {
					cut_unix[n_cut] = cut_source(srv, t, cut[n_cut],
								     sizeof(cut[0]));
					n_cut++;
				} else {
					n_more++;
				}
				shutdown(t->fd, SHUT_RDWR);
				t->shut = true;
			}
		}
		/* The audit log's lock is not taken under ours (a leaf). */
		snprintf(why, sizeof(why), "no complete request within %u s: cut off",
			 srv->request_limit);
		pthread_mutex_unlock(&srv->lock);
		for (size_t i = 0; i < n_cut; i++)
			audit_refusal(AUDIT_REQUEST_TIMEOUT, NULL, cut_unix[i] ? &anon_cli : &anon_web,
				      cut[i], NULL, NULL, 0, why);
		if (n_more) {
			snprintf(why, sizeof(why), "%zu more connections cut off", n_more);
			audit_refusal(AUDIT_REQUEST_TIMEOUT, NULL, &anon_web, "several", NULL, NULL,
				      0, why);
		}
		audit_refusal_flush();
		pthread_mutex_lock(&srv->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&srv->wake, &srv->lock, &until);
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct listener *l = cls;
	struct api_server *srv = l->srv;
	struct tracked *t = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		socklen_t len = sizeof(struct ucred);

		t = calloc(1, sizeof(*t));
		if (!t || !ci) {
			free(t);
			return;	/* untracked: only the idle timeout bounds it */
		}
		t->fd = ci->connect_fd;
		clock_gettime(CLOCK_MONOTONIC, &t->since);
		if (l->transport == API_TRANSPORT_UNIX)
			t->has_cred = getsockopt(t->fd, SOL_SOCKET, SO_PEERCRED, &t->cred, &len) == 0;
		pthread_mutex_lock(&srv->lock);
		t->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = t;
		srv->conns = t;
		pthread_mutex_unlock(&srv->lock);
		*socket_context = t;
		return;
	}
	if (!t)
		return;
	pthread_mutex_lock(&srv->lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		srv->conns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&srv->lock);
	free(t);
	*socket_context = NULL;
}

/* The connection's tracker, or NULL. */
static struct tracked *tracked_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* ------------------------------------------------------------ replies -- */

static void wipe_and_free(void *p)
{
	/* Bodies are NUL-terminated text. */
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

static bool reply_has_header(const struct api_reply *reply, const char *name)
{
	for (size_t i = 0; i < reply->n_headers; i++)
		if (!strcasecmp(reply->headers[i].name, name))
			return true;
	return false;
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
	for (size_t i = 0; api_security_headers[i][0]; i++)
		if (!reply_has_header(reply, api_security_headers[i][0]))
			MHD_add_response_header(resp, api_security_headers[i][0],
						api_security_headers[i][1]);
	for (size_t i = 0; i < reply->n_headers; i++)
		MHD_add_response_header(resp, reply->headers[i].name, reply->headers[i].value);
	explicit_bzero(reply->headers, sizeof(reply->headers));	/* MHD has its copy */
	if (reply->status != 204)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					reply->content_type ? reply->content_type :
					"application/json");
	if (reply->allow[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, reply->allow);
	if (reply->www_authenticate)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"zerowg\"");
	ret = MHD_queue_response(conn, reply->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ------------------------------------------------------------ requests -- */

struct query {
	char text[1024];
	bool too_long;
};

/* MHD parses the query string apart: put it back as "k=v&k2=v2" for
 * the handlers, which read it. */
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

static unsigned hexval(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

/* libmicrohttpd's "%HH" decoding of the path and query, except that "%00"
 * stays as it is: a NUL would end the path early (/assets/app.js%00.png
 * would be app.js); kept, it is no name and no route: 404, logged. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *in = s, *out = s;

	while (*in) {
		if (in[0] == '%' && isxdigit((unsigned char)in[1]) &&
		    isxdigit((unsigned char)in[2]) && (in[1] != '0' || in[2] != '0')) {
			*out++ = (char)(hexval(in[1]) << 4 | hexval(in[2]));
			in += 3;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
	return (size_t)(out - s);
}

static const char *conn_header(const struct api_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->header_ctx, MHD_HEADER_KIND, name);
}

/* The rightmost address of X-Forwarded-For that is not a trusted proxy
 * (each proxy appends the address it heard from).  false if there is none
 * or one is not an address: the client is then unknown. */
static bool forwarded_for(struct api_server *srv, const char *xff, struct sockaddr_storage *out)
{
	char buf[1024], *save = NULL, *tok, *items[32];
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", xff);
	for (tok = strtok_r(buf, ", \t", &save); tok && n < 32; tok = strtok_r(NULL, ", \t", &save))
		items[n++] = tok;
	while (n--) {
		struct sockaddr_storage ss = { 0 };
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		if (inet_pton(AF_INET, items[n], &s4->sin_addr) == 1)
			ss.ss_family = AF_INET;
		else if (inet_pton(AF_INET6, items[n], &s6->sin6_addr) == 1)
			ss.ss_family = AF_INET6;
		else
			return false;
		if (!api_prefix_match(srv->proxies, srv->n_proxies, &ss)) {
			*out = ss;
			return true;
		}
	}
	return false;
}

/* The client's address and scheme of a TCP request. */
static void tcp_origin(struct api_server *srv, struct MHD_Connection *conn,
		       struct api_request *req)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	const char *xff, *proto;

	req->remote_len = 0;
	if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return;
	memcpy(&req->remote, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
							    sizeof(struct sockaddr_in6));
	req->remote_len = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
						     sizeof(struct sockaddr_in6);
	if (!srv->n_proxies || !api_prefix_match(srv->proxies, srv->n_proxies, &req->remote))
		return;
	/* From a trusted proxy: the client is the one it names, or unknown
	 * (never the proxy itself, which may be on an allowed address). */
	xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
	proto = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
	if (!xff || !forwarded_for(srv, xff, &req->remote))
		req->remote_len = 0;
	else
		req->remote_len = req->remote.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
								     sizeof(struct sockaddr_in6);
	req->secure = proto && !strcasecmp(proto, "https");
}

/* The audit line of a request refused here, before api_handle (which
 * logs its own refusals): the source as api_handle would see it. */
static void refuse_early(struct api_server *srv, struct listener *l, struct MHD_Connection *conn,
			 const char *method, const char *url, const char *event, unsigned status,
			 const char *reason)
{
	struct api_request req = { .transport = l->transport };
	struct actor anon = { .via = l->transport == API_TRANSPORT_UNIX ? "cli" : "web" };
	struct tracked *t = tracked_of(conn);
	char src[INET6_ADDRSTRLEN + 16];

	if (l->transport == API_TRANSPORT_UNIX && t && t->has_cred)
		snprintf(src, sizeof(src), "uid %u", (unsigned)t->cred.uid);
	else if (l->transport == API_TRANSPORT_UNIX)
		snprintf(src, sizeof(src), "local");
	else {
		tcp_origin(srv, conn, &req);
		audit_source_text(&req.remote, req.remote_len, src, sizeof(src));
	}
	audit_refusal(event, NULL, &anon, src, method, url, status, reason);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct listener *l = cls;
	struct api_server *srv = l->srv;
	struct request *rq = *con_cls;
	struct api_reply reply;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (rq->too_big || rq->len + n > API_MAX_BODY) {
			rq->too_big = true;
			return MHD_YES;
		}
		if (rq->len + n + 1 > rq->cap) {
			size_t cap = (rq->len + n + 1) * 2;
			char *nb = malloc(cap < API_MAX_BODY + 1 ? cap : API_MAX_BODY + 1);
			if (!nb)
				return MHD_NO;
			if (rq->buf) {
				memcpy(nb, rq->buf, rq->len);
				explicit_bzero(rq->buf, rq->cap);
				free(rq->buf);
			}
			rq->buf = nb;
			rq->cap = cap < API_MAX_BODY + 1 ? cap : API_MAX_BODY + 1;
		}
		memcpy(rq->buf + rq->len, upload_data, n);
		rq->len += n;
		rq->buf[rq->len] = '\0';
		return MHD_YES;
	}
	memset(&reply, 0, sizeof(reply));
	if (rq->too_big) {
		refuse_early(srv, l, conn, method, url, AUDIT_REQUEST_TOO_LARGE, 413,
			     "the body is larger than 64 KiB");
		api_reply_error(&reply, 413, NULL, "the body is larger than %d KiB",
				API_MAX_BODY / 1024);
	} else {
		struct query q = { .text = "" };
		struct api_request req = {
			.method = method, .path = url, .header = conn_header, .header_ctx = conn,
			.body = rq->buf, .len = rq->len, .transport = l->transport,
		};

		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_argument, &q);
		if (l->transport == API_TRANSPORT_UNIX) {
			struct tracked *t = tracked_of(conn);
			if (t && t->has_cred) {
				req.has_cred = true;
				req.uid = t->cred.uid;
				req.gid = t->cred.gid;
				req.pid = t->cred.pid;
			}
		} else {
			tcp_origin(srv, conn, &req);
		}
		if (q.too_long) {
			refuse_early(srv, l, conn, method, url, AUDIT_REQUEST_TOO_LARGE, 414,
				     "the query is longer than 1023 bytes");
			api_reply_error(&reply, 414, NULL, "the query is longer than %zu bytes",
					sizeof(q.text) - 1);
		} else {
			req.query = q.text[0] ? q.text : NULL;
			api_handle(srv->api, &req, &reply);
		}
	}
	return queue_reply(conn, &reply);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct listener *l = cls;
	struct request *rq = *con_cls;
	struct tracked *t = tracked_of(conn);

	/* The next request on this connection has a bound of its own. */
	if (t) {
		pthread_mutex_lock(&l->srv->lock);
		clock_gettime(CLOCK_MONOTONIC, &t->since);
		pthread_mutex_unlock(&l->srv->lock);
	}
	if (!rq)
		return;
	if (rq->buf) {
		explicit_bzero(rq->buf, rq->cap);
		free(rq->buf);
	}
	free(rq);
	*con_cls = NULL;
}

/* libmicrohttpd on fd, which is listening; the daemon owns fd from here
 * (closed at stop).  0 or -errno. */
static int add_listener(struct api_server *srv, int fd, enum api_transport t, const char *name)
{
	struct listener *l;

	if (srv->n_listeners == MAX_LISTENERS) {
		close(fd);
		return -ENOSPC;
	}
	l = &srv->listeners[srv->n_listeners];
	memset(l, 0, sizeof(*l));
	l->srv = srv;
	l->transport = t;
	snprintf(l->name, sizeof(l->name), "%s", name ? name : "");
	/* A TCP listener answers browsers: several threads, so that one
	 * sign-in (Argon2id, ~160 ms and 64 MiB) does not stall everyone's
	 * page (bench/web_bench.sh).  The handlers are thread-safe already:
	 * several listeners share them.  The admin socket keeps one. */
	l->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				  on_request, l,
				  MHD_OPTION_THREAD_POOL_SIZE,
				  (unsigned int)(t == API_TRANSPORT_TCP ? API_TCP_THREADS : 1),
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
				  MHD_OPTION_CONNECTION_TIMEOUT, API_CONNECTION_TIMEOUT_SEC,
				  MHD_OPTION_CONNECTION_LIMIT, API_CONNECTION_LIMIT,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, API_CONNECTION_MEMORY,
				  MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
				  MHD_OPTION_END);
	if (!l->mhd) {
		close(fd);
		return -EIO;
	}
	srv->n_listeners++;
	return 0;
}

static struct api_server *server_new(struct api *api)
{
	struct api_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	srv->api = api;
	srv->request_limit = API_REQUEST_LIMIT_SEC;
#ifdef ZWG_TESTING
	const char *limit = getenv("ZWG_TEST_API_REQUEST_LIMIT_SEC");
	if (limit && atoi(limit) > 0)
		srv->request_limit = (unsigned)atoi(limit);
#endif
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->wake, NULL);	/* CLOCK_REALTIME, as reaper_main waits */
	/* The default: loopback may read /metrics without credentials. */
	if (api->n_metrics_allow == 0) {
		char e[8];
		api_prefix_parse(&api->metrics_allow[0], "127.0.0.0/8", e, sizeof(e));
		api_prefix_parse(&api->metrics_allow[1], "::1", e, sizeof(e));
		api->n_metrics_allow = 2;
	}
	if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0) {
		pthread_cond_destroy(&srv->wake);
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		errno = EAGAIN;
		return NULL;
	}
	srv->reaper_started = true;
	return srv;
}

static void server_free(struct api_server *srv)
{
	if (srv->reaper_started) {
		pthread_mutex_lock(&srv->lock);
		srv->stopping = true;
		pthread_cond_signal(&srv->wake);
		pthread_mutex_unlock(&srv->lock);
		pthread_join(srv->reaper, NULL);
	}
	pthread_cond_destroy(&srv->wake);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

/* ------------------------------------------------- the admin socket -- */

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
	srv = server_new(api);
	if (!srv)
		return NULL;
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
	saved = add_listener(srv, fd, API_TRANSPORT_UNIX, socket_path);
	fd = -1;	/* the daemon's (or closed) */
	if (saved < 0) {
		errbuf_set(err, errlen, "admin socket %s: the HTTP server did not start", socket_path);
		errno = -saved;
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
	server_free(srv);
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
	srv = server_new(api);
	if (!srv) {
		saved = errno ? errno : ENOMEM;
		goto err_close;
	}
	if ((saved = add_listener(srv, listen_fd, API_TRANSPORT_UNIX, "admin socket")) < 0) {
		errbuf_set(err, errlen, "admin socket fd %d: the HTTP server did not start",
			   listen_fd);
		server_free(srv);
		errno = -saved;
		return NULL;
	}
	return srv;
err_close:
	close(listen_fd);
	errno = saved;
	return NULL;
}

/* ------------------------------------------------------ TCP listeners -- */

int api_web_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len, char *err,
		  size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	unsigned long p = API_WEB_PORT;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *close_br = strchr(text, ']');
		if (!close_br || (close_br[1] && close_br[1] != ':'))
			goto bad;
		hl = (size_t)(close_br - text - 1);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, text + 1, hl);
		host[hl] = '\0';
		port = close_br[1] ? close_br + 2 : NULL;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		ss->ss_family = AF_INET6;
	} else {
		const char *colon = strchr(text, ':');
		if (colon && strchr(colon + 1, ':'))
			goto bad;	/* IPv6 wants brackets */
		hl = colon ? (size_t)(colon - text) : strlen(text);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, text, hl);
		host[hl] = '\0';
		port = colon ? colon + 1 : NULL;
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		ss->ss_family = AF_INET;
	}
	if (port) {
		char *end;
		if (!*port || *port == '-' || *port == '+')
			goto bad;
		errno = 0;
		p = strtoul(port, &end, 10);
		if (*end || errno || p == 0 || p > 65535)
			goto bad;
	}
	if (ss->ss_family == AF_INET) {
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof(*s4);
	} else {
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*s6);
	}
	return 0;
bad:
	errbuf_set(err, errlen, "web listener \"%.80s\" is not ADDRESS[:PORT] (like "
		   "127.0.0.1:51821, [::1]:51821, or none)", text);
	return -EINVAL;
}

int api_server_listen(struct api_server *srv, const char *addr, bool freebind, char *err,
		      size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, ret;

	ret = api_web_parse(addr, &ss, &len, err, errlen);
	if (ret < 0)
		return ret;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err_sys;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (freebind && setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one)) < 0)
		goto err_sys;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, SOMAXCONN) < 0)
		goto err_sys;
	ret = add_listener(srv, fd, API_TRANSPORT_TCP, addr);
	if (ret < 0) {
		errbuf_set(err, errlen, "web listener %s: the HTTP server did not start%s", addr,
			   ret == -ENOSPC ? " (too many listeners)" : "");
		return ret;
	}
	return 0;
err_sys:
	ret = -errno;
	errbuf_set(err, errlen, "web listener %s: %s%s", addr, strerror(errno),
		   errno == EADDRINUSE ? " (another program listens there: pick another with "
		   "--web ADDRESS:PORT, or --web none)" :
		   errno == EADDRNOTAVAIL ? " (no interface has this address)" : "");
	if (fd >= 0)
		close(fd);
	return ret;
}

int api_server_listen_fd(struct api_server *srv, int fd, char *err, size_t errlen)
{
	int flags = fcntl(fd, F_GETFL), ret;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "web socket fd %d: %s", fd, strerror(errno));
		close(fd);
		return ret;
	}
	ret = add_listener(srv, fd, API_TRANSPORT_TCP, "socket activation");
	if (ret < 0)
		errbuf_set(err, errlen, "web socket fd %d: the HTTP server did not start", fd);
	return ret;
}

void api_server_describe(struct api_server *srv, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; srv && i < srv->n_listeners; i++) {
		if (srv->listeners[i].transport != API_TRANSPORT_TCP)
			continue;
		int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
				 srv->listeners[i].name);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
}

void api_server_trust_proxies(struct api_server *srv, const struct api_prefix *p, size_t n)
{
	if (n > API_MAX_PREFIXES)
		n = API_MAX_PREFIXES;
	if (n)
		memcpy(srv->proxies, p, n * sizeof(*p));
	srv->n_proxies = n;
}

void api_server_set_request_limit(struct api_server *srv, unsigned sec)
{
	pthread_mutex_lock(&srv->lock);
	srv->request_limit = sec ? sec : 1;
	pthread_mutex_unlock(&srv->lock);
}

void api_server_stop(struct api_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	/* libmicrohttpd closes the listening sockets it was given. */
	for (size_t i = 0; i < srv->n_listeners; i++)
		MHD_stop_daemon(srv->listeners[i].mhd);
	/* Only our own socket: a new server may already have replaced it. */
	if (srv->path[0] && stat(srv->path, &st) == 0 && st.st_ino == srv->ino)
		unlink(srv->path);
	server_free(srv);
}
