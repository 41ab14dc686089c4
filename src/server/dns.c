/*
 * dns.c - the DNS relay (dns.h).
 *
 * One thread polls the listening socket, one connected UDP socket per
 * upstream and an eventfd that stop() writes.  Pending queries live in a
 * ring allocated at start (DNS_PENDING_MAX slots, oldest first, so both
 * deadlines -- the retry on the next upstream and forgetting -- are met by
 * walking from the oldest), found again by their upstream id through a
 * 65,536-entry table.  Nothing is allocated per packet.
 *
 * Deadlines are in protocol time (clock.h), so a test build with
 * ZWG_TIME_SCALE watches the retry and the expiry pass quickly.
 *
 * Only the relay thread touches the ring and the sockets; the counters are
 * updated and read with relaxed atomics, so dns_relay_get_stats() needs no
 * lock.
 */
#include "dns.h"
#include "clock.h"
#include "errbuf.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define DNS_FLAG_QR 0x80		/* in byte 2 of the header */
#define DNS_OPCODE(p) (((p)[2] >> 3) & 0x0f)
#define DNS_OPCODE_QUERY 0
#define DNS_MAX_LABEL 63
#define DNS_QUERY_KEEP 512		/* bytes of a query kept for the retry */
#define DNS_MAX_UDP 65536		/* receive buffer: any UDP payload */
#define DNS_BATCH 64			/* datagrams read per wake-up and socket */
#define RESOLV_CONF_MAX 65536

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

size_t dns_question_len(const uint8_t *p, size_t n)
{
	size_t off = DNS_HEADER_LEN, name = 0;

	if (!p || n < DNS_HEADER_LEN || get16(p + 4) != 1)
		return 0;
	for (;;) {
		uint8_t l;

		if (off >= n)
			return 0;
		l = p[off];
		/* > 63 is a compression pointer (0xc0) or a reserved label
		 * type: neither belongs in the question of a query. */
		if (l > DNS_MAX_LABEL)
			return 0;
		name += (size_t)l + 1;
		if (name > DNS_MAX_NAME)
			return 0;
		off += (size_t)l + 1;
		if (l == 0)
			break;
	}
	if (n - off < 4)	/* QTYPE, QCLASS */
		return 0;
	return off + 4 - DNS_HEADER_LEN;
}

bool dns_query_plausible(const uint8_t *p, size_t n)
{
	if (!p || n < DNS_HEADER_LEN || n > DNS_MAX_QUERY)
		return false;
	if ((p[2] & DNS_FLAG_QR) || DNS_OPCODE(p) != DNS_OPCODE_QUERY)
		return false;
	if (get16(p + 6) != 0 || get16(p + 8) != 0)	/* ANCOUNT, NSCOUNT */
		return false;
	return dns_question_len(p, n) != 0;
}

bool dns_answer_matches(const uint8_t *query, size_t qlen, const uint8_t *answer, size_t alen)
{
	size_t ql = dns_question_len(query, qlen);

	if (!ql || !answer || alen < DNS_HEADER_LEN + ql)
		return false;
	if (memcmp(query, answer, 2) != 0 || !(answer[2] & DNS_FLAG_QR) ||
	    DNS_OPCODE(answer) != DNS_OPCODE(query) || get16(answer + 4) != 1)
		return false;
	return memcmp(query + DNS_HEADER_LEN, answer + DNS_HEADER_LEN, ql) == 0;
}

/* One address, "1.2.3.4" or "fe80::1%eth0", port 53.  false if not one. */
static bool parse_nameserver(const char *tok, union dns_addr *a)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char *pct;

	if (strlen(tok) >= sizeof(host))
		return false;
	memset(a, 0, sizeof(*a));
	snprintf(host, sizeof(host), "%s", tok);
	if (inet_pton(AF_INET, host, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons(DNS_PORT);
		return true;
	}
	pct = strchr(host, '%');
	if (pct) {
		char *end;
		unsigned long idx;

		*pct++ = '\0';
		idx = strtoul(pct, &end, 10);
		if (*pct && !*end && idx > 0 && idx <= UINT32_MAX)
			a->in6.sin6_scope_id = (uint32_t)idx;
		else if (!(a->in6.sin6_scope_id = if_nametoindex(pct)))
			return false;
	}
	if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) != 1)
		return false;
	a->in6.sin6_family = AF_INET6;
	a->in6.sin6_port = htons(DNS_PORT);
	return true;
}

size_t dns_resolv_conf_parse(const char *text, union dns_addr *out, size_t max)
{
	size_t n = 0;

	while (text && *text && n < max) {
		size_t len = strcspn(text, "\n");
		char line[256], *s, *tok, *save = NULL;

		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1),
			 text);
		text += len + (text[len] == '\n');
		s = line + strspn(line, " \t");
		if (strncmp(s, "nameserver", 10) || (s[10] != ' ' && s[10] != '\t'))
			continue;
		s[strcspn(s, "#;")] = '\0';
		tok = strtok_r(s + 10, " \t\r", &save);
		if (tok && parse_nameserver(tok, &out[n]))
			n++;
	}
	return n;
}

static bool same_addr(const union dns_addr *a, const union dns_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(a->in6.sin6_addr));
}

static void format_addr(const union dns_addr *a, char *buf, size_t len)
{
	const void *raw = a->sa.sa_family == AF_INET ? (const void *)&a->in.sin_addr
						       : (const void *)&a->in6.sin6_addr;

	if (!inet_ntop(a->sa.sa_family, raw, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

bool dns_list_names(const char *dns_list, const char *addr)
{
	union dns_addr want, got;
	char tok[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char *s = dns_list;

	if (!s || !addr || !parse_nameserver(addr, &want))
		return false;
	while (*s) {
		size_t len;

		s += strspn(s, ", \t");
		len = strcspn(s, ", \t");
		if (!len)
			break;
		if (len < sizeof(tok)) {
			snprintf(tok, sizeof(tok), "%.*s", (int)len, s);
			if (parse_nameserver(tok, &got) && same_addr(&want, &got))
				return true;
		}
		s += len;
	}
	return false;
}

/* ---------------------------------------------------------- the relay -- */

struct pending {
	uint64_t created_ms;
	union dns_addr client;
	socklen_t client_len;
	uint8_t client_id[2];
	uint16_t id;			/* upstream id; its bytes are query[0..1] */
	uint8_t upstream;		/* index the query went to last */
	bool live;
	bool retried;
	uint16_t len;			/* the whole query */
	uint16_t kept;			/* bytes of it in query[] */
	uint8_t query[DNS_QUERY_KEEP];
};

struct dns_relay {
	int listen_fd;
	int wake_fd;
	union dns_addr listen_addr;
	int up_fd[DNS_UPSTREAMS_MAX];
	union dns_addr up[DNS_UPSTREAMS_MAX];
	size_t n_up;
	struct netlink_prefix *allow;
	size_t n_allow;
	pthread_t thread;
	bool thread_started;

	/* Relay thread only. */
	struct pending *ring;		/* DNS_PENDING_MAX slots */
	uint64_t head, tail;		/* sequence numbers: slot = seq % max */
	uint64_t retry;			/* first seq that may still need a retry */
	uint16_t *slot_of;		/* upstream id -> slot + 1, 0 = free */
	uint8_t *buf;			/* DNS_MAX_UDP */
	uint8_t rnd[256];		/* getrandom() pool for ids */
	size_t rnd_left;

	struct dns_relay_stats stats;	/* relaxed atomics */
};

#define BUMP(r, field) __atomic_fetch_add(&(r)->stats.field, 1, __ATOMIC_RELAXED)

/* Protocol time (clock.h: test builds can run it faster). */
static uint64_t now_ms(void)
{
	return clock_now_ns() / NSEC_PER_MSEC;
}

static bool prefix_contains(const struct netlink_prefix *p, int family, const uint8_t *addr)
{
	size_t full, bits;

	if (p->family != family)
		return false;
	full = p->len / 8;
	bits = p->len % 8;
	if (full > (family == AF_INET ? 4u : 16u) || memcmp(p->addr, addr, full))
		return false;
	if (bits) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits));
		if ((p->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

static bool client_allowed(const struct dns_relay *r, const union dns_addr *from)
{
	const uint8_t *a;
	int family = from->sa.sa_family;
	size_t i;

	if (family == AF_INET) {
		a = (const uint8_t *)&from->in.sin_addr;
	} else if (family == AF_INET6) {
		a = from->in6.sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&from->in6.sin6_addr)) {
			family = AF_INET;	/* a dual-stack listening socket */
			a += 12;
		}
	} else {
		return false;
	}
	for (i = 0; i < r->n_allow; i++)
		if (prefix_contains(&r->allow[i], family, a))
			return true;
	return false;
}

/* A fresh upstream id that no pending query has; false if the random
 * source fails (the query is then dropped: never a predictable id). */
static bool new_id(struct dns_relay *r, uint16_t *id)
{
	int tries;

	for (tries = 0; tries < 32; tries++) {
		if (r->rnd_left < 2) {
			if (getrandom(r->rnd, sizeof(r->rnd), GRND_NONBLOCK) != (ssize_t)sizeof(r->rnd))
				return false;
			r->rnd_left = sizeof(r->rnd);
		}
		r->rnd_left -= 2;
		*id = get16(r->rnd + r->rnd_left);
		explicit_bzero(r->rnd + r->rnd_left, 2);
		if (!r->slot_of[*id])
			return true;
	}
	return false;
}

static struct pending *slot(struct dns_relay *r, uint64_t seq)
{
	return &r->ring[seq % DNS_PENDING_MAX];
}

static void forget(struct dns_relay *r, struct pending *e)
{
	r->slot_of[e->id] = 0;
	e->live = false;
}

/* Drops the oldest slot (answered, expired or pushed out). */
static void pop_head(struct dns_relay *r)
{
	struct pending *e = slot(r, r->head);

	if (e->live) {
		forget(r, e);
		BUMP(r, timeouts);
	}
	r->head++;
	if (r->retry < r->head)
		r->retry = r->head;
}

static void send_upstream(struct dns_relay *r, struct pending *e, const uint8_t *q, size_t len)
{
	if (send(r->up_fd[e->upstream], q, len, MSG_NOSIGNAL) != (ssize_t)len)
		BUMP(r, upstream_errors);	/* the retry or the expiry deals with it */
}

static void on_query(struct dns_relay *r, uint8_t *q, size_t len, const union dns_addr *from,
		     socklen_t from_len)
{
	struct pending *e;
	uint16_t id;

	if (!client_allowed(r, from)) {
		BUMP(r, dropped_not_allowed);
		return;
	}
	if (!dns_query_plausible(q, len)) {
		BUMP(r, dropped_bad);
		return;
	}
	BUMP(r, queries);
	if (r->tail - r->head == DNS_PENDING_MAX)
		pop_head(r);	/* full: the oldest goes */
	if (!new_id(r, &id)) {
		BUMP(r, upstream_errors);
		return;
	}
	e = slot(r, r->tail);
	memset(e, 0, offsetof(struct pending, query));
	e->created_ms = now_ms();
	e->client = *from;
	e->client_len = from_len;
	memcpy(e->client_id, q, 2);
	e->id = id;
	e->live = true;
	e->len = (uint16_t)len;
	e->kept = (uint16_t)(len < DNS_QUERY_KEEP ? len : DNS_QUERY_KEEP);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	memcpy(e->query, q, e->kept);
	r->slot_of[id] = (uint16_t)(r->tail % DNS_PENDING_MAX + 1);
	r->tail++;
	send_upstream(r, e, q, len);
}

static void on_answer(struct dns_relay *r, size_t u, uint8_t *a, size_t len)
{
	struct pending *e;
	uint16_t s;

	if (len < DNS_HEADER_LEN || !(s = r->slot_of[get16(a)])) {
		BUMP(r, dropped_bad);
		return;
	}
	e = &r->ring[s - 1];
	/* The connected socket already filters the source address; the
	 * query must also have gone to this upstream last. */
	if (!e->live || e->upstream != u || !dns_answer_matches(e->query, e->kept, a, len)) {
		BUMP(r, dropped_bad);
		return;
	}
	memcpy(a, e->client_id, 2);
	if (sendto(r->listen_fd, a, len, MSG_NOSIGNAL, &e->client.sa, e->client_len) ==
	    (ssize_t)len)
		BUMP(r, answers);
	else
		BUMP(r, upstream_errors);
	forget(r, e);
}

static void read_queries(struct dns_relay *r)
{
	int i;

	for (i = 0; i < DNS_BATCH; i++) {
		union dns_addr from;
		socklen_t from_len = sizeof(from);
		ssize_t n = recvfrom(r->listen_fd, r->buf, DNS_MAX_QUERY + 1, MSG_TRUNC, &from.sa,
				     &from_len);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn_errno("DNS relay: reading a query");
			return;
		}
		if ((size_t)n > DNS_MAX_QUERY) {
			BUMP(r, dropped_bad);
			continue;
		}
		on_query(r, r->buf, (size_t)n, &from, from_len);
	}
}

static void read_answers(struct dns_relay *r, size_t u)
{
	int i;

	for (i = 0; i < DNS_BATCH; i++) {
		ssize_t n = recv(r->up_fd[u], r->buf, DNS_MAX_UDP, MSG_TRUNC);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* ECONNREFUSED: nobody listens there (ICMP) */
			BUMP(r, upstream_errors);
			continue;
		}
		if ((size_t)n > DNS_MAX_UDP) {
			BUMP(r, dropped_bad);
			continue;
		}
		on_answer(r, u, r->buf, (size_t)n);
	}
}

/* Expires and retries what is due; returns the poll timeout (ms, -1 none). */
static int run_timers(struct dns_relay *r, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	while (r->head < r->tail) {
		struct pending *e = slot(r, r->head);

		if (e->live && now < e->created_ms + DNS_PENDING_LIFETIME_MS) {
			next = e->created_ms + DNS_PENDING_LIFETIME_MS;
			break;
		}
		pop_head(r);
	}
	for (; r->retry < r->tail; r->retry++) {
		struct pending *e = slot(r, r->retry);

		/* Only whole queries can be sent again (the kept prefix of a
		 * longer one would lose its additional records). */
		if (!e->live || e->retried || r->n_up < 2 || e->kept < e->len)
			continue;
		if (now < e->created_ms + DNS_UPSTREAM_TIMEOUT_MS) {
			if (e->created_ms + DNS_UPSTREAM_TIMEOUT_MS < next)
				next = e->created_ms + DNS_UPSTREAM_TIMEOUT_MS;
			break;
		}
		e->retried = true;
		e->upstream = (uint8_t)((e->upstream + 1) % r->n_up);
		send_upstream(r, e, e->query, e->len);
	}
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	/* poll() sleeps in real time */
	return (int)((next - now + clock_scale() - 1) / clock_scale());
}

static void *relay_thread(void *arg)
{
	struct dns_relay *r = arg;
	struct pollfd pfd[2 + DNS_UPSTREAMS_MAX];
	size_t i;

	pfd[0].fd = r->wake_fd;
	pfd[1].fd = r->listen_fd;
	for (i = 0; i < r->n_up; i++)
		pfd[2 + i].fd = r->up_fd[i];
	for (i = 0; i < 2 + r->n_up; i++)
		pfd[i].events = POLLIN;
	for (;;) {
		int timeout = run_timers(r, now_ms());

		if (poll(pfd, 2 + r->n_up, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_warn_errno("DNS relay: poll");
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents)
			read_queries(r);
		for (i = 0; i < r->n_up; i++)
			if (pfd[2 + i].revents)
				read_answers(r, i);
	}
	return NULL;
}

static void relay_free(struct dns_relay *r)
{
	size_t i;

	if (r->listen_fd >= 0)
		close(r->listen_fd);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	for (i = 0; i < r->n_up; i++)
		if (r->up_fd[i] >= 0)
			close(r->up_fd[i]);
	free(r->ring);
	free(r->slot_of);
	free(r->buf);
	free(r->allow);
	explicit_bzero(r->rnd, sizeof(r->rnd));
	free(r);
}

/* Reads the upstreams (the file's, or 127.0.0.1 when it names none) and
 * connects a socket to each; one that cannot be reached at all is left
 * out with a message. */
static int open_upstreams(struct dns_relay *r, const char *path, char *err, size_t errlen)
{
	union dns_addr found[DNS_UPSTREAMS_MAX];
	char *text = NULL;
	size_t n = 0, i;
	FILE *f;

	f = fopen(path, "re");
	if (!f && errno != ENOENT) {
		int e = errno;
		errbuf_set(err, errlen, "DNS relay: cannot read %s: %s", path, strerror(e));
		return -e;
	}
	if (f) {
		size_t got;

		if (!(text = calloc(1, RESOLV_CONF_MAX + 1))) {
			fclose(f);
			errbuf_set(err, errlen, "DNS relay: out of memory");
			return -ENOMEM;
		}
		got = fread(text, 1, RESOLV_CONF_MAX, f);
		text[got] = '\0';
		fclose(f);
		n = dns_resolv_conf_parse(text, found, DNS_UPSTREAMS_MAX);
		free(text);
	}
	if (n == 0) {
		/* resolv.conf(5): no nameserver line means the local one */
		memset(&found[0], 0, sizeof(found[0]));
		found[0].in.sin_family = AF_INET;
		found[0].in.sin_port = htons(DNS_PORT);
		found[0].in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		n = 1;
	}
	for (i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN];
		socklen_t len = found[i].sa.sa_family == AF_INET ? sizeof(found[i].in)
								  : sizeof(found[i].in6);
		int fd;

		format_addr(&found[i], a, sizeof(a));
		if (same_addr(&found[i], &r->listen_addr)) {
			log_error("DNS relay: %s names %s, the relay's own address: left out (it "
				  "would ask itself)", path, a);
			continue;
		}
		fd = socket(found[i].sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, &found[i].sa, len) < 0) {
			log_error("DNS relay: upstream %s from %s cannot be used: %s", a, path,
				  strerror(errno));
			if (fd >= 0)
				close(fd);
			continue;
		}
		r->up[r->n_up] = found[i];
		r->up_fd[r->n_up++] = fd;
	}
	if (r->n_up == 0) {
		errbuf_set(err, errlen, "DNS relay: no usable nameserver in %s (add a line such as "
			   "\"nameserver 1.1.1.1\", or give clients other servers with --dns)", path);
		return -EDESTADDRREQ;
	}
	return 0;
}

struct dns_relay *dns_relay_start(int listen_fd, const struct netlink_prefix *allow, size_t n_allow,
				  const char *resolv_conf_path, char *err, size_t errlen)
{
	const char *path = resolv_conf_path ? resolv_conf_path : "/etc/resolv.conf";
	struct dns_relay *r;
	socklen_t len;
	int type = 0, ret, fl;

	r = calloc(1, sizeof(*r));
	if (!r) {
		if (listen_fd >= 0)
			close(listen_fd);
		errbuf_set(err, errlen, "DNS relay: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	r->listen_fd = listen_fd;
	r->wake_fd = -1;
	len = sizeof(type);
	if (listen_fd < 0 || getsockopt(listen_fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_DGRAM) {
		errbuf_set(err, errlen, "DNS relay: descriptor %d is not a UDP socket", listen_fd);
		ret = -EINVAL;
		goto fail;
	}
	len = sizeof(r->listen_addr);
	if (getsockname(listen_fd, &r->listen_addr.sa, &len) < 0 ||
	    (r->listen_addr.sa.sa_family != AF_INET && r->listen_addr.sa.sa_family != AF_INET6)) {
		errbuf_set(err, errlen, "DNS relay: descriptor %d is not bound to an IP address",
			   listen_fd);
		ret = -EINVAL;
		goto fail;
	}
	fl = fcntl(listen_fd, F_GETFL);
	if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "DNS relay: cannot make the socket non-blocking: %s",
			   strerror(errno));
		goto fail;
	}
	if (!n_allow || !allow) {
		errbuf_set(err, errlen, "DNS relay: no client subnet to allow (it would answer "
			   "nobody)");
		ret = -EINVAL;
		goto fail;
	}
	r->allow = calloc(n_allow, sizeof(*allow));
	r->ring = calloc(DNS_PENDING_MAX, sizeof(*r->ring));
	r->slot_of = calloc(65536, sizeof(*r->slot_of));
	r->buf = malloc(DNS_MAX_UDP);
	if (!r->allow || !r->ring || !r->slot_of || !r->buf) {
		errbuf_set(err, errlen, "DNS relay: out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	memcpy(r->allow, allow, n_allow * sizeof(*allow));
	r->n_allow = n_allow;
	if ((ret = open_upstreams(r, path, err, errlen)) < 0)
		goto fail;
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->wake_fd < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "DNS relay: eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((ret = -pthread_create(&r->thread, NULL, relay_thread, r)) < 0) {
		errbuf_set(err, errlen, "DNS relay: cannot start its thread: %s", strerror(-ret));
		goto fail;
	}
	r->thread_started = true;
	return r;
fail:
	relay_free(r);
	errno = -ret;
	return NULL;
}

void dns_relay_stop(struct dns_relay *r)
{
	uint64_t one = 1;

	if (!r)
		return;
	if (r->thread_started) {
		if (write(r->wake_fd, &one, sizeof(one)) != sizeof(one))
			log_warn_errno("DNS relay: waking the thread");
		pthread_join(r->thread, NULL);
	}
	relay_free(r);
}

void dns_relay_get_stats(struct dns_relay *r, struct dns_relay_stats *out)
{
	out->queries = __atomic_load_n(&r->stats.queries, __ATOMIC_RELAXED);
	out->answers = __atomic_load_n(&r->stats.answers, __ATOMIC_RELAXED);
	out->dropped_bad = __atomic_load_n(&r->stats.dropped_bad, __ATOMIC_RELAXED);
	out->dropped_not_allowed = __atomic_load_n(&r->stats.dropped_not_allowed, __ATOMIC_RELAXED);
	out->timeouts = __atomic_load_n(&r->stats.timeouts, __ATOMIC_RELAXED);
	out->upstream_errors = __atomic_load_n(&r->stats.upstream_errors, __ATOMIC_RELAXED);
}

void dns_relay_describe(const struct dns_relay *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], ups[3 * (INET6_ADDRSTRLEN + 6)] = "";
	size_t i, off = 0;

	format_addr(&r->listen_addr, a, sizeof(a));
	for (i = 0; i < r->n_up && off < sizeof(ups); i++) {
		char u[INET6_ADDRSTRLEN];
		int n;

		format_addr(&r->up[i], u, sizeof(u));
		n = snprintf(ups + off, sizeof(ups) - off, "%s%s",
			     i == 0 ? "" : i + 1 == r->n_up ? " and " : ", ", u);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	snprintf(buf, len, "DNS: clients ask %s, relayed to %s (set --dns to use other servers)",
		 a, ups);
}
