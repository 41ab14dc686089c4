/*
 * driver_uapi.c - the UAPI backend of the driver seam (driver.h): another
 * process's data plane (wireguard-go, BoringTun, zerowgd) driven over its
 * UAPI socket, dir/IFNAME.sock, as wg(8) drives it.
 *
 * Each call opens a fresh connection (so a restarted daemon is found
 * again), writes one request ("get=1\n\n", or a set request formatted by
 * uapi_format_set), reads the answer up to the blank line that ends it and
 * closes.  wg(8) waits forever; we do not: the socket has a send and a
 * receive timeout (UAPI_IO_TIMEOUT_MS, which also bounds connect on a full
 * backlog), the whole exchange a deadline (UAPI_DEADLINE_MS) and the
 * answer a size (UAPI_GET_MAX_ANSWER).  The answer is parsed by
 * uapi_parse_get; a set's answer must be a bare "errno=N".
 *
 * A UAPI daemon has no partial get: get_peers filters a whole get, and
 * get_stats is a whole get with the private and preshared keys wiped.
 * Unlike zerowgd, wireguard-go applies a set line by line, so a set it
 * refuses half-way (errno=-98 for a port in use) may have applied the
 * lines before the bad one; driver.h's "a rejected set changes nothing"
 * holds only as far as the daemon makes it hold.
 *
 * Errors: -ENOENT (no socket: the daemon is not running), -ECONNREFUSED
 * (a stale socket file), -ETIMEDOUT, -EPROTO (a malformed answer),
 * -EMSGSIZE (an answer past the bound), minus the daemon's errno for
 * errno=N.  Each failure is logged once with log_error, naming the
 * socket; no key is ever logged (the parser never quotes one).  Every
 * buffer that held a key is wiped before it is freed.
 *
 * Threads: a driver holds nothing but its socket path, and each call its
 * own connection and buffers, so calls from several threads at once are
 * safe here (driver.h asks less).
 *
 * Relies on: uapi.h (text <-> struct uapi_config), log.c.
 */
#include "driver.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "uapi.h"

#define UAPI_DEFAULT_DIR "/var/run/wireguard"
/* Longest wait for the daemon to take or give one chunk. */
#define UAPI_IO_TIMEOUT_MS 5000
/* The whole exchange, however the daemon trickles its answer. */
#define UAPI_DEADLINE_MS 60000
#define READ_CHUNK (64u << 10)

struct uapi_driver {
	struct driver drv;	/* first: ops get this back */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static struct uapi_driver *to_uapi(struct driver *drv)
{
	return (struct uapi_driver *)drv;
}

static void wipe_free(char *p, size_t len)
{
	if (p) {
		explicit_bzero(p, len);
		free(p);
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects to the daemon's socket.  The fd, or -errno (logged). */
static int uapi_connect(struct uapi_driver *ud, const char *what)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = UAPI_IO_TIMEOUT_MS / 1000,
			      .tv_usec = (UAPI_IO_TIMEOUT_MS % 1000) * 1000 };
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		log_error("%s: UAPI %s: socket: %s", ud->drv.ifname, what, strerror(-ret));
		return ret;
	}
	/* SO_SNDTIMEO also bounds connect() while the listen backlog is full */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		ret = -errno;
		log_error("%s: UAPI %s: setsockopt: %s", ud->drv.ifname, what, strerror(-ret));
		close(fd);
		return ret;
	}
	memcpy(sun.sun_path, ud->path, sizeof(ud->path));	/* NUL-terminated */
	do {
		ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	} while (ret == -EINTR);
	if (ret == 0)
		return fd;
	close(fd);
	if (ret == -EAGAIN || ret == -EINPROGRESS)
		ret = -ETIMEDOUT;
	if (ret == -ENOENT)
		log_error("%s: UAPI %s: no socket at %s: is the daemon (wireguard-go, zerowgd) "
			  "running for interface \"%s\"?", ud->drv.ifname, what, ud->path,
			  ud->drv.ifname);
	else if (ret == -ECONNREFUSED)
		log_error("%s: UAPI %s: nothing listens on %s: its daemon has exited; "
			  "restart it (or remove the stale socket)", ud->drv.ifname, what, ud->path);
	else if (ret == -ETIMEDOUT)
		log_error("%s: UAPI %s: %s did not accept a connection within %d ms",
			  ud->drv.ifname, what, ud->path, UAPI_IO_TIMEOUT_MS);
	else
		log_error("%s: UAPI %s: connect to %s: %s%s", ud->drv.ifname, what, ud->path,
			  strerror(-ret), ret == -EACCES ? " (run as root?)" : "");
	return ret;
}

static int send_all(struct uapi_driver *ud, int fd, const char *what, const char *buf,
		    size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int ret = errno == EAGAIN ? -ETIMEDOUT : -errno;

			log_error("%s: UAPI %s: sending to %s: %s", ud->drv.ifname, what,
				  ud->path, ret == -ETIMEDOUT ? "the daemon does not read (timed out)"
							      : strerror(-ret));
			return ret;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Grows *buf (which may hold keys) to at least want bytes by copying, so
 * the old block is wiped before it goes back to the allocator. */
static int grow(char **buf, size_t *cap, size_t len, size_t want)
{
	size_t ncap = *cap ? *cap : READ_CHUNK;
	char *nb;

	while (ncap < want)
		ncap *= 2;
	if (ncap > UAPI_GET_MAX_ANSWER)
		ncap = UAPI_GET_MAX_ANSWER;
	nb = malloc(ncap);
	if (!nb)
		return -ENOMEM;
	if (*buf) {
		memcpy(nb, *buf, len);
		wipe_free(*buf, *cap);
	}
	*buf = nb;
	*cap = ncap;
	return 0;
}

/*
 * Reads one answer: up to and including the first empty line.  On success
 * *out (malloc'd; the caller wipes and frees it) holds exactly that.
 * -errno otherwise, logged.
 */
static int read_answer(struct uapi_driver *ud, int fd, const char *what, char **out,
		       size_t *out_len)
{
	int64_t deadline = now_ms() + UAPI_DEADLINE_MS;
	char *buf = NULL;
	size_t len = 0, cap = 0, scanned = 0;
	int ret;

	*out = NULL;
	*out_len = 0;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap >= UAPI_GET_MAX_ANSWER) {
				log_error("%s: UAPI %s: the answer from %s is longer than %u bytes "
					  "without its blank line; refused", ud->drv.ifname, what,
					  ud->path, UAPI_GET_MAX_ANSWER);
				ret = -EMSGSIZE;
				goto fail;
			}
			if (grow(&buf, &cap, len, len + READ_CHUNK) < 0) {
				log_error("%s: UAPI %s: out of memory reading the answer",
					  ud->drv.ifname, what);
				ret = -ENOMEM;
				goto fail;
			}
		}
		if (now_ms() > deadline) {
			log_error("%s: UAPI %s: %s took more than %d ms to answer (%zu bytes so far)",
				  ud->drv.ifname, what, ud->path, UAPI_DEADLINE_MS, len);
			ret = -ETIMEDOUT;
			goto fail;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
			if (ret == -ETIMEDOUT)
				log_error("%s: UAPI %s: no answer from %s within %d ms (%zu bytes so far)",
					  ud->drv.ifname, what, ud->path, UAPI_IO_TIMEOUT_MS, len);
			else
				log_error("%s: UAPI %s: reading from %s: %s", ud->drv.ifname, what,
					  ud->path, strerror(-ret));
			goto fail;
		}
		if (n == 0) {
			log_error("%s: UAPI %s: %s closed the connection %s (after %zu bytes)",
				  ud->drv.ifname, what, ud->path,
				  len ? "in the middle of its answer" : "without answering", len);
			ret = -EPROTO;
			goto fail;
		}
		len += (size_t)n;
		/* the answer ends at its first empty line: "\n" at the start
		 * or "\n\n" anywhere */
		for (; scanned < len; scanned++) {
			if (buf[scanned] == '\n' && (scanned == 0 || buf[scanned - 1] == '\n')) {
				*out = buf;
				*out_len = scanned + 1;
				/* anything after it is not ours to read: wiped with buf */
				if (*out_len < cap)
					explicit_bzero(buf + *out_len, cap - *out_len);
				return 0;
			}
		}
	}
fail:
	wipe_free(buf, cap);
	return ret;
}

/* One request, one answer.  The request is not wiped here (the caller
 * owns it). */
static int exchange(struct uapi_driver *ud, const char *what, const char *req, size_t req_len,
		    char **answer, size_t *answer_len)
{
	int fd = uapi_connect(ud, what), ret;

	if (fd < 0)
		return fd;
	ret = send_all(ud, fd, what, req, req_len);
	if (ret == 0)
		ret = read_answer(ud, fd, what, answer, answer_len);
	close(fd);
	return ret;
}

static int uapi_get_config(struct driver *drv, struct uapi_config *cfg)
{
	struct uapi_driver *ud = to_uapi(drv);
	static const char req[] = "get=1\n\n";
	char *answer, err[256];
	size_t len;
	int ret;

	uapi_config_init(cfg);
	ret = exchange(ud, "get", req, sizeof(req) - 1, &answer, &len);
	if (ret)
		return ret;
	ret = uapi_parse_get(answer, len, cfg, err, sizeof(err));
	wipe_free(answer, len);
	if (ret)
		log_error("%s: UAPI get from %s: %s", drv->ifname, ud->path, err);
	return ret;
}

static int key_cmp(const void *a, const void *b, void *arg)
{
	const struct uapi_peer *peers = arg;

	return memcmp(peers[*(const size_t *)a].public_key, peers[*(const size_t *)b].public_key,
		      UAPI_KEY_LEN);
}

/* Index (into peers) of the peer with key, or SIZE_MAX; order sorts
 * indices by public key. */
static size_t find_peer(const struct uapi_peer *peers, const size_t *order, size_t n,
			const uint8_t key[UAPI_KEY_LEN])
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(peers[order[mid]].public_key, key, UAPI_KEY_LEN);

		if (c == 0)
			return order[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

static int uapi_get_peers(struct driver *drv, const uint8_t (*keys)[UAPI_KEY_LEN], size_t n_keys,
			  struct uapi_config *cfg)
{
	struct uapi_config all;
	size_t *order = NULL;
	bool *taken = NULL;
	int ret;

	uapi_config_init(cfg);
	ret = uapi_get_config(drv, &all);
	if (ret)
		return ret;
	if (all.n_peers) {
		order = malloc(all.n_peers * sizeof(*order));
		taken = calloc(all.n_peers, sizeof(*taken));
		if (!order || !taken) {
			ret = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < all.n_peers; i++)
			order[i] = i;
		qsort_r(order, all.n_peers, sizeof(*order), key_cmp, all.peers);
	}
	cfg->has_private_key = all.has_private_key;
	memcpy(cfg->private_key, all.private_key, UAPI_KEY_LEN);
	cfg->has_listen_port = all.has_listen_port;
	cfg->listen_port = all.listen_port;
	cfg->has_fwmark = all.has_fwmark;
	cfg->fwmark = all.fwmark;
	/* in the order of keys, each once, as the in-process backend */
	for (size_t i = 0; i < n_keys; i++) {
		size_t k = find_peer(all.peers, order, all.n_peers, keys[i]);
		struct uapi_peer *p;

		if (k == SIZE_MAX || taken[k])
			continue;
		taken[k] = true;
		p = uapi_config_add_peer(cfg);
		if (!p) {
			ret = -ENOMEM;
			goto out;
		}
		/* moved: the allowed IP array now belongs to cfg */
		*p = all.peers[k];
		all.peers[k].allowed_ips = NULL;
		all.peers[k].n_allowed_ips = all.peers[k].cap_allowed_ips = 0;
	}
out:
	if (ret) {
		log_error("%s: UAPI get: out of memory filtering %zu peers", drv->ifname,
			  all.n_peers);
		uapi_config_free(cfg);
	}
	free(order);
	free(taken);
	uapi_config_free(&all);
	return ret;
}

static int uapi_get_stats(struct driver *drv, struct uapi_config *cfg)
{
	int ret = uapi_get_config(drv, cfg);

	if (ret)
		return ret;
	explicit_bzero(cfg->private_key, sizeof(cfg->private_key));
	cfg->has_private_key = false;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		explicit_bzero(cfg->peers[i].preshared_key, sizeof(cfg->peers[i].preshared_key));
		cfg->peers[i].has_preshared_key = false;
	}
	return 0;
}

static int uapi_set_config(struct driver *drv, const struct uapi_config *cfg)
{
	struct uapi_driver *ud = to_uapi(drv);
	struct uapi_config reply;
	char *req = NULL, *answer = NULL, err[256];
	size_t req_len = 0, len = 0;
	int ret;

	ret = uapi_format_set(cfg, &req, &req_len);
	if (ret) {
		log_error("%s: UAPI set: %s", drv->ifname, ret == -ENOMEM ? "out of memory" :
			  "a peer has an endpoint or allowed IP that is neither IPv4 nor IPv6");
		return ret;
	}
	ret = exchange(ud, "set", req, req_len, &answer, &len);
	wipe_free(req, req_len);
	if (ret)
		return ret;
	/* the answer to a set is "errno=N" alone */
	ret = uapi_parse_get(answer, len, &reply, err, sizeof(err));
	if (ret == 0 && (reply.n_peers || reply.has_private_key || reply.has_listen_port ||
			 reply.has_fwmark)) {
		snprintf(err, sizeof(err), "the answer to a set carries configuration lines");
		ret = -EPROTO;
	}
	uapi_config_free(&reply);
	wipe_free(answer, len);
	if (ret)
		log_error("%s: UAPI set on %s: %s", drv->ifname, ud->path, err);
	return ret;
}

static void uapi_free(struct driver *drv)
{
	free(to_uapi(drv));
}

static const struct driver_ops uapi_ops = {
	.get_config = uapi_get_config,
	.get_peers = uapi_get_peers,
	.get_stats = uapi_get_stats,
	.set_config = uapi_set_config,
	.free = uapi_free,
};

/* An interface name as Linux takes one: 1..15 bytes, not "." or "..",
 * no '/', ':' or whitespace (and so nothing that leaves dir). */
static bool ifname_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == ':' || c <= ' ' || c == 0x7f)
			return false;
	}
	return true;
}

struct driver *driver_uapi_new(const char *dir, const char *ifname)
{
	struct uapi_driver *ud;
	int n;

	if (!dir)
		dir = UAPI_DEFAULT_DIR;
	if (!ifname || !ifname_ok(ifname)) {
		log_error("UAPI: \"%s\" is not an interface name (1 to %d characters, "
			  "no '/', ':' or spaces)", ifname ? ifname : "(null)", IFNAMSIZ - 1);
		errno = EINVAL;
		return NULL;
	}
	if (dir[0] == '\0') {
		log_error("UAPI: the socket directory for \"%s\" is empty (default %s)",
			  ifname, UAPI_DEFAULT_DIR);
		errno = EINVAL;
		return NULL;
	}
	ud = calloc(1, sizeof(*ud));
	if (!ud)
		return NULL;
	n = snprintf(ud->path, sizeof(ud->path), "%s/%s.sock", dir, ifname);
	if (n < 0 || (size_t)n >= sizeof(ud->path)) {
		log_error("UAPI: the socket path \"%s/%s.sock\" is longer than %zu bytes; "
			  "use a shorter directory", dir, ifname, sizeof(ud->path) - 1);
		free(ud);
		errno = ENAMETOOLONG;
		return NULL;
	}
	ud->drv.ops = &uapi_ops;
	snprintf(ud->drv.ifname, sizeof(ud->drv.ifname), "%s", ifname);
	return &ud->drv;
}
