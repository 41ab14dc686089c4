/*
 * ipc.c - see ipc.h.
 *
 * Requests are "get=1\n\n" or "set=1\n" + key=value lines + "\n".  A set is
 * parsed and validated whole (uapi_set.c) before device_apply_config touches
 * the device, so a malformed request changes nothing.  Connections are
 * non-blocking; a reply that does not fit the socket buffer is kept and
 * finished on EPOLLOUT.  A connection may carry several requests.
 *
 * Under abuse (issue 12) the loop thread must stay the device's, whoever
 * connects:
 *  - a request is at most IPC_MAX_REQUEST bytes (a set of 1M peers); past
 *    that the client gets errno=-EMSGSIZE and is closed;
 *  - the end of a request is searched for once per byte: the scan resumes
 *    where the last read left it (scan_off), consumed requests are dropped
 *    from the buffer once per wake-up, not once per request;
 *  - one wake-up reads at most IPC_READ_BUDGET bytes of one connection, so a
 *    client that writes fast cannot keep the loop from its packets;
 *  - each step that is the client's to take (send a whole request, read the
 *    whole reply) has a deadline, timeout_ns after the previous step ended
 *    (the connection's timer in the device's heap): a client that connects
 *    and says nothing, or trickles, is closed then, whatever it sends;
 *  - at most IPC_MAX_CONNS connections; past that (or when accept runs out
 *    of fds) the server stops accepting, and the kernel's backlog
 *    (SOMAXCONN) holds newcomers until a connection ends (or, for a lack
 *    of fds, IPC_ACCEPT_RETRY_MS later): nobody is refused while room comes.
 * Relies on: uapi.h (parsing, formatting), the device's loop and timer heap.
 */
#include "ipc.h"
#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "timers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* 1M peers' worth of text (a set of 100,000 peers is about 20 MB). */
#define IPC_MAX_REQUEST (256u << 20)
#define IPC_READ_BUDGET (1u << 20)
#define IPC_MAX_CONNS 1024
#define IPC_ACCEPT_RETRY_MS 100

struct ipc_conn {
	struct loop_source src;		/* first: the loop hands us this */
	struct ipc_server *srv;
	struct ipc_conn *prev, *next;	/* srv->conns */
	struct timer deadline;		/* the client's current step ends by then */
	char *in;
	size_t in_len, in_cap;
	size_t in_off;			/* bytes of in already handled */
	size_t scan_off;		/* in[in_off..in_off + scan_off) holds no "\n\n" */
	char *out;
	size_t out_len, out_off;
	bool closing;
	bool eof;		/* the client shut down its side: answer, then close */
};

struct ipc_server {
	struct loop_source listen_src;
	struct loop_source inotify_src;
	struct device *dev;
	struct ipc_conn *conns;		/* every open connection */
	size_t n_conns;
	uint64_t timeout_ns;		/* real time; see ipc_server_set_timeout */
	size_t max_request;		/* IPC_MAX_REQUEST; see ipc_server_set_max_request */
	struct timer accept_retry;	/* accepting again after running out of fds */
	bool accept_paused;		/* the listening socket is not watched for EPOLLIN */
	struct log_ratelimit abuse_log;	/* deadlines, refusals: a crowd logs a few lines */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char name[32];
	ino_t ino;
	bool adopted;		/* bound by someone else, who unlinks it */
};

static int peer_apply(struct device *dev, const struct uapi_peer *up)
{
	struct peer *peer = pubkey_table_lookup(dev, up->public_key);

	if (up->remove) {
		if (peer)
			peer_remove(peer);
		return 0;
	}
	if (!peer) {
		if (up->update_only)
			return 0;
		/* Our own key cannot be a peer; the kernel ignores it too. */
		if (dev->identity->has_identity &&
		    crypto_equal(up->public_key, dev->identity->static_public, NOISE_PUBLIC_KEY_LEN))
			return 0;
		peer = peer_create(dev, up->public_key);
		if (!peer)
			return -errno;
	}
	if (up->has_preshared_key)
		noise_handshake_set_psk(&peer->handshake, up->preshared_key);
	if (up->has_endpoint) {
		struct endpoint ep = { 0 };
		ep.addr = up->endpoint;
		if (!endpoint_eq(&ep, &peer->endpoint) ||
		    memcmp(&ep.addr, &peer->endpoint.addr, sizeof(ep.addr)))
			peer->endpoint = ep;
	}
	if (up->replace_allowed_ips)
		allowedips_remove_by_owner(&dev->allowedips, &peer->allowedips);
	for (size_t i = 0; i < up->n_allowed_ips; i++) {
		const struct uapi_allowed_ip *a = &up->allowed_ips[i];
		int ret = allowedips_insert(&dev->allowedips, a->family, a->addr, a->cidr,
					    &peer->allowedips);
		if (ret < 0)
			return ret;
	}
	if (up->has_persistent_keepalive) {
		bool was_off = peer->persistent_keepalive_interval == 0;
		peer->persistent_keepalive_interval = up->persistent_keepalive_interval;
		if (!peer->persistent_keepalive_interval)
			timer_del(&dev->timers, &peer->timer_persistent_keepalive);
		/* Turning it on opens the path at once, as the kernel does. */
		else if (was_off)
			packet_send_keepalive(peer);
	}
	return 0;
}

int device_apply_config(struct device *dev, const struct uapi_config *cfg)
{
	int ret;

	/* Binding is the step that can fail for reasons outside the request
	 * (port in use), so it goes first. */
	if (cfg->has_listen_port && (ret = device_bind(dev, cfg->listen_port)) < 0)
		return ret;
	if (cfg->has_fwmark && (ret = device_set_fwmark(dev, cfg->fwmark)) < 0)
		return ret;
	if (cfg->has_private_key && (ret = device_set_private_key(dev, cfg->private_key)) < 0)
		return ret;
	if (cfg->replace_peers)
		while (dev->peers_head)
			peer_remove(dev->peers_head);
	for (size_t i = 0; i < cfg->n_peers; i++)
		if ((ret = peer_apply(dev, &cfg->peers[i])) < 0)
			return ret;
	return 0;
}

static int add_allowed_ip(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	return uapi_peer_add_allowed_ip(ctx, family, addr, cidr);
}

/* The interface's own settings, as get reports them. */
static void interface_config(struct device *dev, struct uapi_config *cfg)
{
	if (dev->identity->has_identity) {
		cfg->has_private_key = true;
		memcpy(cfg->private_key, dev->identity->static_private, UAPI_KEY_LEN);
	}
	cfg->has_listen_port = dev->listen_port != 0;
	cfg->listen_port = dev->listen_port;
	cfg->has_fwmark = dev->fwmark != 0;
	cfg->fwmark = dev->fwmark;
}

/* with_secrets false: the preshared key is left all zero (statistics). */
static int peer_report(struct peer *p, struct uapi_config *cfg, bool with_secrets)
{
	struct uapi_peer *up = uapi_config_add_peer(cfg);

	if (!up)
		return -ENOMEM;
	memcpy(up->public_key, p->handshake.remote_static, UAPI_KEY_LEN);
	up->has_preshared_key = with_secrets;
	if (with_secrets)
		memcpy(up->preshared_key, p->handshake.preshared_key, UAPI_KEY_LEN);
	up->has_endpoint = p->endpoint.addr.sa.sa_family != 0;
	up->endpoint = p->endpoint.addr;
	up->has_persistent_keepalive = true;
	up->persistent_keepalive_interval = p->persistent_keepalive_interval;
	up->last_handshake_time_sec = p->last_handshake_wall.tv_sec;
	up->last_handshake_time_nsec = p->last_handshake_wall.tv_nsec;
	up->rx_bytes = p->rx_bytes;
	up->tx_bytes = p->tx_bytes;
	if (allowedips_walk_owner(&p->allowedips, add_allowed_ip, up) < 0)
		return -ENOMEM;
	return 0;
}

static int peer_config(struct peer *p, struct uapi_config *cfg)
{
	return peer_report(p, cfg, true);
}

int device_get_stats(struct device *dev, struct uapi_config *cfg)
{
	cfg->has_listen_port = dev->listen_port != 0;
	cfg->listen_port = dev->listen_port;
	cfg->has_fwmark = dev->fwmark != 0;
	cfg->fwmark = dev->fwmark;
	for (struct peer *p = dev->peers_head; p; p = p->list_next) {
		int ret = peer_report(p, cfg, false);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int device_get_config(struct device *dev, struct uapi_config *cfg)
{
	interface_config(dev, cfg);
	for (struct peer *p = dev->peers_head; p; p = p->list_next) {
		int ret = peer_config(p, cfg);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int device_get_peers_config(struct device *dev, const uint8_t (*keys)[UAPI_KEY_LEN], size_t n_keys,
			    struct uapi_config *cfg)
{
	interface_config(dev, cfg);
	for (size_t i = 0; i < n_keys; i++) {
		struct peer *p = pubkey_table_lookup(dev, keys[i]);
		int ret;

		/* A key listed twice is reported once. */
		for (size_t j = 0; p && j < i; j++)
			if (!memcmp(keys[j], keys[i], UAPI_KEY_LEN))
				p = NULL;
		if (p && (ret = peer_config(p, cfg)) < 0)
			return ret;
	}
	return 0;
}

/* The reply carries a negative errno, as wireguard-go sends it and as wg
 * reads it (wg sets errno to minus the value). */
static char *errno_reply(int neg_errno, size_t *len)
{
	char *s = malloc(32);

	if (!s)
		return NULL;
	*len = (size_t)snprintf(s, 32, "errno=%d\n\n", neg_errno);
	return s;
}

char *ipc_handle_request(struct device *dev, const char *req, size_t len, size_t *reply_len)
{
	struct uapi_config cfg;
	char err[256];
	char *reply = NULL;
	int ret;

	uapi_config_init(&cfg);
	if (len >= 7 && !memcmp(req, "get=1\n\n", 7)) {
		ret = device_get_config(dev, &cfg);
		if (ret == 0 && uapi_format_get(&cfg, &reply, reply_len) == 0) {
			uapi_config_free(&cfg);
			return reply;
		}
		uapi_config_free(&cfg);
		return errno_reply(-ENOMEM, reply_len);
	}
	if (len >= 7 && !memcmp(req, "set=1\n", 6)) {
		/* Body: after "set=1\n", without the final blank line. */
		err[0] = 0;
		ret = uapi_parse_set(req + 6, len - 6 - 1, &cfg, err, sizeof(err));
		if (ret == 0)
			ret = device_apply_config(dev, &cfg);
		if (ret < 0)
			log_error("UAPI set: %s", err[0] ? err : strerror(-ret));
		uapi_config_free(&cfg);
		return errno_reply(ret < 0 ? ret : 0, reply_len);
	}
	log_error("UAPI: unknown operation");
	return errno_reply(-EPROTO, reply_len);
}

static void accept_pause(struct ipc_server *srv)
{
	struct epoll_event ev = { .events = 0, .data.ptr = &srv->listen_src };

	if (!srv->accept_paused && epoll_ctl(srv->dev->epoll_fd, EPOLL_CTL_MOD, srv->listen_src.fd, &ev) == 0)
		srv->accept_paused = true;
}

static void accept_resume(struct ipc_server *srv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &srv->listen_src };

	if (srv->accept_paused && epoll_ctl(srv->dev->epoll_fd, EPOLL_CTL_MOD, srv->listen_src.fd, &ev) == 0)
		srv->accept_paused = false;
}

static void accept_retry_due(struct timer *t, uint64_t now_ns)
{
	struct ipc_server *srv = (struct ipc_server *)((char *)t - offsetof(struct ipc_server, accept_retry));

	accept_resume(srv);
	(void)now_ns;
}

static void conn_close(struct device *dev, struct ipc_conn *c)
{
	struct ipc_server *srv = c->srv;

	timer_del(&dev->timers, &c->deadline);
	device_unwatch(dev, &c->src);
	close(c->src.fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->n_conns--;
	if (c->in)
		explicit_bzero(c->in, c->in_cap);
	if (c->out)
		explicit_bzero(c->out, c->out_len);
	free(c->in);
	free(c->out);
	free(c);
	if (srv->n_conns < IPC_MAX_CONNS)
		accept_resume(srv);
}

/* The client's next step (a whole request, or reading the whole reply)
 * must be done within srv->timeout_ns of real time from now. */
static void conn_arm_deadline(struct device *dev, struct ipc_conn *c)
{
	timer_mod(&dev->timers, &c->deadline, clock_now_ns() + c->srv->timeout_ns * clock_scale());
}

/* Runs after the loop's batch of events (device_run), so no event for c is
 * still pending when c is freed. */
static void conn_deadline_due(struct timer *t, uint64_t now_ns)
{
	struct ipc_conn *c = (struct ipc_conn *)((char *)t - offsetof(struct ipc_conn, deadline));

	if (log_ratelimited(&c->srv->abuse_log, now_ns))
		log_info("UAPI %s: a client held a connection for %llu ms without finishing "
			 "its request or reading its reply: closed", c->srv->path,
			 (unsigned long long)(c->srv->timeout_ns / NSEC_PER_MSEC));
	conn_close(c->srv->dev, c);
}

/* Writes what is pending; true if all of it went out. */
static bool conn_flush(struct ipc_conn *c)
{
	while (c->out && c->out_off < c->out_len) {
		ssize_t w = send(c->src.fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN)
				return false;
			c->closing = true;
			break;
		}
		c->out_off += (size_t)w;
	}
	if (c->out) {
		explicit_bzero(c->out, c->out_len);
		free(c->out);
		c->out = NULL;
	}
	return true;
}

/* The end of the first complete request in buf[0..len), just after "\n\n",
 * or 0.  *scan is where the search resumes (0 at first): bytes before it
 * were searched by an earlier call, so each byte is looked at once. */
static size_t request_end(const char *buf, size_t len, size_t *scan)
{
	for (size_t i = *scan > 1 ? *scan : 1; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\n')
			return i + 1;
	*scan = len;
	return 0;
}

/* Drops the requests already handled from the front of the buffer: once per
 * wake-up, so pipelined requests cost one move, not one each. */
static void conn_compact(struct ipc_conn *c)
{
	if (!c->in_off)
		return;
	memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
	explicit_bzero(c->in + c->in_len - c->in_off, c->in_off);
	c->in_len -= c->in_off;
	c->in_off = 0;
}

/* Makes room to read into; false if the request would pass IPC_MAX_REQUEST
 * (or memory ran out: -errno in *err). */
static bool conn_grow(struct ipc_conn *c, int *err)
{
	size_t cap;
	char *in;

	conn_compact(c);
	if (c->in_len < c->in_cap)
		return true;
	if (c->in_cap >= c->srv->max_request) {
		*err = -EMSGSIZE;
		return false;
	}
	cap = c->in_cap ? c->in_cap * 2 : 4096;
	if (cap > c->srv->max_request)
		cap = c->srv->max_request;
	in = malloc(cap);
	if (!in) {
		*err = -ENOMEM;
		return false;
	}
	if (c->in) {
		memcpy(in, c->in, c->in_len);
		explicit_bzero(c->in, c->in_cap);
		free(c->in);
	}
	c->in = in;
	c->in_cap = cap;
	return true;
}

static void conn_watch(struct device *dev, struct ipc_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	epoll_ctl(dev->epoll_fd, EPOLL_CTL_MOD, c->src.fd, &ev);
}

static void conn_ready(struct device *dev, struct loop_source *src, uint32_t events)
{
	struct ipc_conn *c = (struct ipc_conn *)src;
	size_t got = 0, end;
	int err = 0;

	/* A reply still going out comes first, whatever woke us. */
	if (c->out) {
		if (!conn_flush(c))
			return;
		conn_arm_deadline(dev, c);	/* the reply is out: now the next request */
	}
	if (c->closing || (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN))) {
		conn_close(dev, c);
		return;
	}
	while (!c->eof && got < IPC_READ_BUDGET) {
		if (c->in_len == c->in_cap && !conn_grow(c, &err))
			break;
		size_t room = c->in_cap - c->in_len;
		if (room > IPC_READ_BUDGET - got)
			room = IPC_READ_BUDGET - got;
		ssize_t r = recv(c->src.fd, c->in + c->in_len, room, 0);
		if (r < 0 && errno == EAGAIN)
			break;
		if (r < 0) {
			conn_close(dev, c);
			return;
		}
		if (r == 0) {
			/* A half-close after the request (nc -N): still answer
			 * what was asked, then close. */
			c->eof = true;
			break;
		}
		c->in_len += (size_t)r;
		got += (size_t)r;
	}
	while (!c->out && (end = request_end(c->in + c->in_off, c->in_len - c->in_off, &c->scan_off)) > 0) {
		c->out = ipc_handle_request(dev, c->in + c->in_off, end, &c->out_len);
		c->out_off = 0;
		explicit_bzero(c->in + c->in_off, end);
		c->in_off += end;
		c->scan_off = 0;
		if (!c->out) {
			conn_close(dev, c);
			return;
		}
		/* The request is in: the deadline is now for reading the reply. */
		conn_arm_deadline(dev, c);
		if (!conn_flush(c)) {
			/* Nothing more is read until the reply is out. */
			conn_compact(c);
			conn_watch(dev, c, EPOLLOUT);
			return;
		}
		conn_arm_deadline(dev, c);
	}
	if (err && !c->out && !c->in_off) {
		/* Nothing before the limit ended a request: say why, then close.
		 * (With requests handled, the next wake-up has room again.) */
		if (err == -EMSGSIZE)
			log_error("UAPI %s: a request is larger than %zu bytes: refused", c->srv->path,
				  c->srv->max_request);
		c->out = errno_reply(err, &c->out_len);
		c->out_off = 0;
		c->closing = true;
		if (c->out && !conn_flush(c)) {
			conn_watch(dev, c, EPOLLOUT);
			return;
		}
		conn_close(dev, c);
		return;
	}
	if (c->closing || (c->eof && !c->out)) {
		conn_close(dev, c);
		return;
	}
	conn_compact(c);
	conn_watch(dev, c, EPOLLIN);
}

static void listen_ready(struct device *dev, struct loop_source *src, uint32_t events)
{
	struct ipc_server *srv = (struct ipc_server *)src;

	for (;;) {
		if (srv->n_conns >= IPC_MAX_CONNS) {
			/* Newcomers wait in the backlog until a connection ends. */
			accept_pause(srv);
			return;
		}
		int fd = accept4(src->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* The listener stays readable: without a pause the
				 * loop would spin on it. */
				if (log_ratelimited(&srv->abuse_log, clock_now_ns()))
					log_error("UAPI %s: accept: %s; accepting again in %d ms",
						  srv->path, strerror(errno), IPC_ACCEPT_RETRY_MS);
				accept_pause(srv);
				timer_mod(&dev->timers, &srv->accept_retry,
					  clock_now_ns() + IPC_ACCEPT_RETRY_MS * NSEC_PER_MSEC * clock_scale());
			}
			return;
		}
		struct ipc_conn *c = calloc(1, sizeof(*c));
		if (!c || timer_heap_reserve(&dev->timers, 1) < 0) {
			free(c);
			close(fd);
			return;
		}
		c->src.fd = fd;
		c->src.ready = conn_ready;
		c->srv = srv;
		timer_init(&c->deadline, conn_deadline_due);
		if (device_watch(dev, &c->src, EPOLLIN) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = srv->conns;
		if (c->next)
			c->next->prev = c;
		srv->conns = c;
		srv->n_conns++;
		conn_arm_deadline(dev, c);
	}
	(void)events;
}

static void inotify_ready(struct device *dev, struct loop_source *src, uint32_t events)
{
	struct ipc_server *srv = (struct ipc_server *)((char *)src - offsetof(struct ipc_server, inotify_src));
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t len;

	while ((len = read(src->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			if (ev->len && !strcmp(ev->name, srv->name)) {
				struct stat st;
				if (stat(srv->path, &st) < 0 || st.st_ino != srv->ino) {
					log_error("UAPI socket %s was removed, shutting down", srv->path);
					device_stop(dev, 0);
				}
			}
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
				log_error("%s was removed, shutting down", IPC_SOCKET_DIR);
				device_stop(dev, 0);
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	(void)events;
}

/* Serves the listening socket fd (bound to srv->path, in dir) from the
 * device's loop, and watches dir for the socket file's removal.  fd
 * belongs to srv from here on, also on failure.  0 or -1 with errno. */
static int serve(struct ipc_server *srv, int fd, const char *dir)
{
	struct stat st;

	srv->listen_src.fd = fd;
	srv->listen_src.ready = listen_ready;
	if (stat(srv->path, &st) < 0)
		return -1;
	srv->ino = st.st_ino;
	/* Room for accept_retry; each connection reserves its own. */
	if (timer_heap_reserve(&srv->dev->timers, 1) < 0) {
		errno = ENOMEM;
		return -1;
	}
	if (device_watch(srv->dev, &srv->listen_src, EPOLLIN) < 0)
		return -1;
	srv->inotify_src.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (srv->inotify_src.fd < 0 ||
	    inotify_add_watch(srv->inotify_src.fd, dir,
			      IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF) < 0)
		return -1;
	srv->inotify_src.ready = inotify_ready;
	return device_watch(srv->dev, &srv->inotify_src, EPOLLIN);
}

static struct ipc_server *server_new(struct device *dev, const char *dir)
{
	struct ipc_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	srv->dev = dev;
	srv->listen_src.fd = srv->inotify_src.fd = -1;
	srv->timeout_ns = IPC_TIMEOUT_MS * NSEC_PER_MSEC;
	srv->max_request = IPC_MAX_REQUEST;
	timer_init(&srv->accept_retry, accept_retry_due);
	snprintf(srv->name, sizeof(srv->name), "%s.sock", dev->ifname);
	if ((size_t)snprintf(srv->path, sizeof(srv->path), "%s/%s", dir, srv->name) >= sizeof(srv->path)) {
		free(srv);
		errno = ENAMETOOLONG;
		return NULL;
	}
	return srv;
}

struct ipc_server *ipc_server_adopt(struct device *dev, int listen_fd, const char *dir)
{
	struct ipc_server *srv = server_new(dev, dir);
	int saved, fl;

	if (!srv) {
		close(listen_fd);
		return NULL;
	}
	/* Whoever bound it chose a backlog; a second listen() only raises it
	 * (Linux), so a crowd waits instead of being refused. */
	(void)listen(listen_fd, SOMAXCONN);
	fl = fcntl(listen_fd, F_GETFL);
	if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    serve(srv, listen_fd, dir) < 0) {
		if (srv->listen_src.fd < 0)
			close(listen_fd);
		saved = errno;
		/* Not ours to unlink: the one who bound it does. */
		srv->ino = 0;
		ipc_server_close(srv);
		errno = saved;
		return NULL;
	}
	srv->adopted = true;
	return srv;
}

struct ipc_server *ipc_server_open(struct device *dev, const char *dir)
{
	struct ipc_server *srv = server_new(dev, dir);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = -1, saved;
	mode_t old_umask;

	if (!srv)
		return NULL;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		goto err;
	strcpy(sun.sun_path, srv->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err;
	/* A live socket belongs to another daemon: never steal it. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		errno = EADDRINUSE;
		goto err;
	}
	close(fd);
	unlink(srv->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err;
	old_umask = umask(0077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old_umask);
		goto err;
	}
	umask(old_umask);
	if (chmod(srv->path, 0600) < 0 || listen(fd, SOMAXCONN) < 0)
		goto err;
	if (serve(srv, fd, dir) < 0) {
		fd = -1;	/* serve() took it */
		goto err;
	}
	return srv;
err:
	saved = errno;
	if (fd >= 0)
		close(fd);
	ipc_server_close(srv);
	errno = saved;
	return NULL;
}

void ipc_server_close(struct ipc_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	while (srv->conns)
		conn_close(srv->dev, srv->conns);
	timer_del(&srv->dev->timers, &srv->accept_retry);
	if (srv->inotify_src.fd >= 0) {
		device_unwatch(srv->dev, &srv->inotify_src);
		close(srv->inotify_src.fd);
	}
	if (srv->listen_src.fd >= 0) {
		device_unwatch(srv->dev, &srv->listen_src);
		close(srv->listen_src.fd);
		if (!srv->adopted && srv->ino && stat(srv->path, &st) == 0 && st.st_ino == srv->ino)
			unlink(srv->path);
	}
	free(srv);
}

void ipc_server_set_timeout(struct ipc_server *srv, unsigned timeout_ms)
{
	srv->timeout_ns = (uint64_t)(timeout_ms ? timeout_ms : IPC_TIMEOUT_MS) * NSEC_PER_MSEC;
}

void ipc_server_set_max_request(struct ipc_server *srv, size_t max)
{
	srv->max_request = max && max < IPC_MAX_REQUEST ? max : IPC_MAX_REQUEST;
}
