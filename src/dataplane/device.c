/*
 * device.c - device set-up and teardown, key and socket configuration, drop
 * accounting, and the epoll event loop of the owner thread.
 *
 * The loop watches the TUN fd, both UDP sockets, one timerfd (armed for the
 * earliest peer timer, lazily: see timer_armed_ns) and whatever
 * device_watch() adds.  epoll data is a pointer: to the device's own
 * udp_socket structs, to the tun marker, to the timer marker, or to a struct
 * loop_source.  After packet work it polls for a while before it sleeps
 * (busypoll.h), so the answer to what it just sent costs no wake-up.
 */
#include "device.h"
#include "clock.h"
#include "crypto.h"
#include "secmem.h"
#include "offload.h"
#include "socket.h"
#include "timers.h"
#include "tun.h"

#include "errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

static char tun_marker, timer_marker, call_marker;

struct device_call {
	struct device_call *next;
	int (*fn)(struct device *dev, void *ctx);
	void *ctx;
	int result;
	bool done;
	pthread_cond_t cond;
};

static __thread struct device *loop_owner;

static const char *const drop_names[DROP__COUNT] = {
	[DROP_RX_SHORT] = "short packet",
	[DROP_RX_BAD_TYPE] = "unknown type or size",
	[DROP_RX_BAD_MAC] = "invalid MAC1",
	[DROP_RX_RATELIMITED] = "handshake rate-limited",
	[DROP_RX_COOKIE_SENT] = "under load, cookie sent",
	[DROP_RX_HANDSHAKE_INVALID] = "invalid handshake",
	[DROP_RX_COOKIE_INVALID] = "invalid cookie reply",
	[DROP_RX_NO_KEYPAIR] = "no valid keypair for index",
	[DROP_RX_DECRYPT] = "authentication failed",
	[DROP_RX_REPLAY] = "replayed or too old counter",
	[DROP_RX_BAD_INNER] = "invalid inner packet",
	[DROP_RX_ALLOWEDIPS] = "inner source not in allowed IPs",
	[DROP_RX_TUN_WRITE] = "write to TUN failed",
	[DROP_TX_NO_PEER] = "no peer for destination",
	[DROP_TX_NO_ENDPOINT] = "peer has no endpoint",
	[DROP_TX_BAD_PACKET] = "invalid packet from TUN",
	[DROP_TX_SEND] = "send failed",
	[DROP_TX_STAGED_OVERFLOW] = "staged queue full",
};

void device_drop(struct device *dev, enum drop_reason why, const char *detail)
{
	dev->drops[why]++;
	if (log_verbose_enabled() && log_ratelimited(&dev->drop_log, clock_now_ns()))
		log_debug("dropped packet: %s%s%s", drop_names[why], detail ? ": " : "",
			  detail ? detail : "");
}

/* Packet buffers are cut from one anonymous mapping, so that a page
 * becomes resident only when a packet first lands in it: an idle device
 * (or one that only ever sees small packets) keeps most of the 9 MiB
 * untouched.  malloc'd 64 KiB buffers would each dirty a page for the
 * allocator's header.  Each buffer starts on a cache line. */
#define PKT_STRIDE (((size_t)PKT_BUF_SIZE + 63) & ~(size_t)63)

static int pkt_pool_map(struct device *dev)
{
	size_t len = (2 * BATCH_SIZE + 1) * PKT_STRIDE + (size_t)TX_SLOTS * TX_SLOT_SIZE;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -ENOMEM;
	/* Not in a core dump: what passes through is other people's traffic. */
	(void)madvise(p, len, MADV_DONTDUMP);
	dev->pkt_pool = p;
	dev->pkt_pool_len = len;
	for (int i = 0; i < BATCH_SIZE; i++) {
		dev->rx[i].data = p + (size_t)i * PKT_STRIDE;
		dev->tx[i].data = p + (size_t)(BATCH_SIZE + i) * PKT_STRIDE;
	}
	dev->tx_super = p + (size_t)2 * BATCH_SIZE * PKT_STRIDE;
	dev->tx_slots = dev->tx_super + PKT_STRIDE;
	dev->tx_super_next = -1;
	return 0;
}

/* Wipes the pages that packets touched (mincore says which: wiping the
 * rest would only fault them in) and unmaps the pool. */
static void pkt_pool_unmap(struct device *dev)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = dev->pkt_pool_len, pages = (len + page - 1) / page;
	unsigned char *resident;

	if (!dev->pkt_pool)
		return;
	resident = malloc(pages);
	if (resident && mincore(dev->pkt_pool, len, resident) == 0) {
		for (size_t i = 0; i < pages; i++)
			if (resident[i] & 1)
				explicit_bzero(dev->pkt_pool + i * page,
					       i * page + page <= len ? page : len - i * page);
	} else {
		explicit_bzero(dev->pkt_pool, len);
	}
	free(resident);
	munmap(dev->pkt_pool, len);
	dev->pkt_pool = NULL;
	for (int i = 0; i < BATCH_SIZE; i++)
		dev->rx[i].data = dev->tx[i].data = NULL;
	dev->tx_super = dev->tx_slots = NULL;
}

int device_init(struct device *dev, const char *ifname, int tun_fd)
{
	int ret;

	memset(dev, 0, sizeof(*dev));
	strncpy(dev->ifname, ifname, sizeof(dev->ifname) - 1);
	dev->tun_fd = tun_fd;
	dev->sock4.fd = dev->sock6.fd = -1;
	dev->sock4.family = AF_INET;
	dev->sock6.family = AF_INET6;
	dev->timer_fd = -1;
	dev->timer_armed_ns = UINT64_MAX;
	dev->call_fd = -1;
	busy_poll_init(&dev->busy_poll);
	if (dev->busy_poll.max_ns)
		log_info("Busy-poll: up to %llu us after packets",
			 (unsigned long long)(dev->busy_poll.max_ns / 1000));
	else
		log_info("Busy-poll: off");
	pthread_mutex_init(&dev->call_lock, NULL);
	dev->mtu = TUN_DEFAULT_MTU;
	allowedips_init(&dev->allowedips);
	timer_heap_init(&dev->timers);

	dev->identity = secmem_alloc(sizeof(*dev->identity));
	dev->cookie_checker = secmem_alloc(sizeof(*dev->cookie_checker));
	if (!dev->identity || !dev->cookie_checker) {
		ret = -ENOMEM;
		goto err;
	}
	if ((ret = secmem_pool_init(&dev->peer_pool, sizeof(struct peer))) < 0 ||
	    (ret = secmem_pool_init(&dev->keypair_pool, sizeof(struct noise_keypair))) < 0)
		goto err;
	cookie_checker_init(dev->cookie_checker, NULL);
	ret = ratelimiter_init(&dev->ratelimiter);
	if (ret < 0)
		goto err;
	ret = index_table_init(dev);
	if (ret < 0)
		goto err;
	ret = pkt_pool_map(dev);
	if (ret < 0)
		goto err;
	dev->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	dev->timer_fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (dev->epoll_fd < 0 || dev->timer_fd < 0) {
		ret = -errno;
		goto err;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tun_marker };
	if (epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, tun_fd, &ev) < 0) {
		ret = -errno;
		goto err;
	}
	ev.data.ptr = &timer_marker;
	if (epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, dev->timer_fd, &ev) < 0) {
		ret = -errno;
		goto err;
	}
	dev->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ev.data.ptr = &call_marker;
	if (dev->call_fd < 0 || epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, dev->call_fd, &ev) < 0) {
		ret = -errno;
		goto err;
	}
	ret = tun_ifindex(tun_fd);
	dev->ifindex = ret > 0 ? ret : 0;
	/* Like wireguard-go, listen on a random port until told otherwise. */
	ret = socket_bind(dev, 0);
	if (ret < 0)
		goto err;
	return 0;
err:
	device_teardown(dev);
	return ret;
}

int device_start_workers(struct device *dev, int n)
{
	int ret = workers_start(&dev->workers, n);

	log_info("Crypto on %d thread%s", dev->workers.n + 1, dev->workers.n ? "s" : "");
	return ret;
}

void device_teardown(struct device *dev)
{
	workers_stop(&dev->workers);
	while (dev->peers_head)
		peer_remove(dev->peers_head);
	socket_close(dev);
	if (dev->epoll_fd > 0)
		close(dev->epoll_fd);
	if (dev->timer_fd >= 0)
		close(dev->timer_fd);
	if (dev->call_fd >= 0)
		close(dev->call_fd);
	dev->epoll_fd = dev->timer_fd = dev->call_fd = -1;
	pkt_pool_unmap(dev);
	allowedips_free(&dev->allowedips);
	timer_heap_free(&dev->timers);
	index_table_free(dev);
	free(dev->pubkey_table);
	dev->pubkey_table = NULL;
	if (dev->ratelimiter.table)
		ratelimiter_free(&dev->ratelimiter);
	if (dev->identity) {
		noise_static_identity_clear(dev->identity);
		secmem_free(dev->identity, sizeof(*dev->identity));
	}
	if (dev->cookie_checker) {
		cookie_checker_wipe(dev->cookie_checker);
		secmem_free(dev->cookie_checker, sizeof(*dev->cookie_checker));
	}
	dev->identity = NULL;
	dev->cookie_checker = NULL;
	/* After every peer_remove: nothing of theirs is still out. */
	secmem_pool_destroy(&dev->keypair_pool);
	secmem_pool_destroy(&dev->peer_pool);
}

bool device_offload_allowed(const char *name)
{
	const char *off = getenv("ZWG_DISABLE_OFFLOAD");
	size_t n = strlen(name);

	if (!off)
		return true;
	for (const char *p = off; *p;) {
		size_t len = strcspn(p, ",");
		if ((len == n && !strncmp(p, name, n)) || (len == 3 && !strncmp(p, "all", 3)))
			return false;
		p += len;
		if (*p == ',')
			p++;
	}
	return true;
}

int device_open_tun(const char *ifname, struct tun_offloads *o)
{
	o->vnet = device_offload_allowed("tun");
	o->tso = o->vnet && device_offload_allowed("tso");
	o->uso = o->vnet && device_offload_allowed("uso");
	return tun_open_offload(ifname, o);
}

int device_adopt_tun(int fd, char *ifname, struct tun_offloads *o, char *err, size_t errlen)
{
	struct ifreq ifr;
	int flags, hdr_size = 0, want = sizeof(struct virtio_net_hdr);

	memset(&ifr, 0, sizeof(ifr));
	memset(o, 0, sizeof(*o));
	if (fcntl(fd, F_GETFD) < 0) {
		errbuf_set(err, errlen, "--tun-fd %d: the fd is not open (%s); pass an fd the "
			   "process inherits, opened on /dev/net/tun", fd, strerror(errno));
		return -EBADF;
	}
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		int ret = -errno;
		errbuf_set(err, errlen, "--tun-fd %d is not an attached TUN device (TUNGETIFF: %s); "
			   "open /dev/net/tun and TUNSETIFF with IFF_TUN|IFF_NO_PI first",
			   fd, strerror(-ret));
		return ret;
	}
	flags = ifr.ifr_flags;
	if ((flags & (IFF_TUN | IFF_TAP)) != IFF_TUN) {
		errbuf_set(err, errlen, "--tun-fd %d (%.16s) is a TAP device; WireGuard needs a "
			   "layer-3 TUN (IFF_TUN)", fd, ifr.ifr_name);
		return -EINVAL;
	}
	if (!(flags & IFF_NO_PI)) {
		errbuf_set(err, errlen, "--tun-fd %d (%.16s) was opened without IFF_NO_PI: every "
			   "packet would carry a 4-byte header; open it with IFF_TUN|IFF_NO_PI",
			   fd, ifr.ifr_name);
		return -EINVAL;
	}
	if ((flags & IFF_VNET_HDR) &&
	    (ioctl(fd, TUNGETVNETHDRSZ, &hdr_size) < 0 ||
	     (hdr_size != want && ioctl(fd, TUNSETVNETHDRSZ, &want) < 0))) {
		int ret = -errno;
		errbuf_set(err, errlen, "--tun-fd %d (%.16s): virtio header size %d, cannot set %d: %s",
			   fd, ifr.ifr_name, hdr_size, want, strerror(-ret));
		return ret;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int ret = -errno;
		errbuf_set(err, errlen, "--tun-fd %d: fcntl: %s", fd, strerror(-ret));
		return ret;
	}
	snprintf(ifname, IFNAMSIZ, "%.*s", IFNAMSIZ - 1, ifr.ifr_name);
	if (!(ifr.ifr_flags & IFF_VNET_HDR)) {
		/* Whatever the opener set, without a virtio header a super-
		 * packet could not be told from a packet: none, then. */
		(void)ioctl(fd, TUNSETOFFLOAD, 0);
		log_info("TUN %s from --tun-fd has no IFF_VNET_HDR: no offloads", ifname);
		return 0;
	}
	/* The header is there: the offloads are ours to set, as
	 * device_open_tun would, with the same fallbacks. */
	o->vnet = true;		/* ZWG_DISABLE_OFFLOAD=tun cannot take it away */
	o->tso = device_offload_allowed("tun") && device_offload_allowed("tso");
	o->uso = device_offload_allowed("tun") && device_offload_allowed("uso");
	if (!o->tso && !o->uso) {
		(void)ioctl(fd, TUNSETOFFLOAD, 0);
		return 0;
	}
	if (tun_set_offloads(fd, o->tso, o->uso) == 0)
		return 0;
	o->uso = false;
	if (tun_set_offloads(fd, o->tso, false) == 0) {
		log_error("TUN refuses USO offloads: UDP datagrams one by one (slower)");
		return 0;
	}
	if (o->tso)
		log_error("TUN refuses TSO offloads: segmenting in the kernel (slower)");
	o->tso = false;
	(void)tun_set_offloads(fd, false, false);
	return 0;
}

int device_set_offloads(struct device *dev, const struct tun_offloads *o)
{
	int zero = 0, fd, ret;

	dev->tun_vnet = o->vnet;
	dev->tun_tso = o->tso;
	dev->tun_uso = dev->tun_uso_tx = o->uso;
	dev->udp_gro_wanted = device_offload_allowed("gro");
	dev->udp_gro = dev->udp_gro_wanted;
	/* Rebinds (still on a random port: nothing is configured yet) so the
	 * sockets get UDP_GRO; sockets from socket activation are kept. */
	if (dev->sockets_adopted) {
		socket_enable_gro(dev);
	} else {
		ret = socket_bind(dev, dev->configured_port);
		if (ret < 0)
			return ret;
	}
	fd = dev->sock6.fd >= 0 ? dev->sock6.fd : dev->sock4.fd;
	dev->udp_gso = device_offload_allowed("gso") &&
		       setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
	if (!dev->udp_gso && device_offload_allowed("gso"))
		log_error("UDP GSO unavailable: sending datagrams one by one (slower)");
	log_info("Offloads: TUN vnet %s, TSO %s, USO %s, UDP GSO %s, UDP GRO %s",
		 o->vnet ? "on" : "off", o->tso ? "on" : "off", o->uso ? "on" : "off",
		 dev->udp_gso ? "on" : "off", dev->udp_gro ? "on" : "off");
	return 0;
}

int device_set_private_key(struct device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	struct noise_static_identity *id = dev->identity;
	uint8_t clamped[NOISE_PUBLIC_KEY_LEN];
	bool zero = crypto_is_zero(key, NOISE_PUBLIC_KEY_LEN);

	memcpy(clamped, key, sizeof(clamped));
	clamped[0] &= 248;
	clamped[31] = (clamped[31] & 127) | 64;
	/* wg syncconf sends the key it already has: that must not disturb
	 * any session. */
	if ((zero && !id->has_identity) ||
	    (!zero && id->has_identity &&
	     crypto_equal(id->static_private, clamped, sizeof(clamped)))) {
		explicit_bzero(clamped, sizeof(clamped));
		return 0;
	}
	explicit_bzero(clamped, sizeof(clamped));
	if (zero) {
		noise_static_identity_clear(id);
	} else if (!noise_static_identity_set(id, key)) {
		return -EINVAL;
	}
	cookie_checker_init(dev->cookie_checker, id->has_identity ? id->static_public : NULL);
	/* A peer with our own public key makes no sense: the kernel drops it. */
	if (id->has_identity) {
		struct peer *self = pubkey_table_lookup(dev, id->static_public);
		if (self)
			peer_remove(self);
	}
	for (struct peer *p = dev->peers_head; p; p = p->list_next) {
		peer_clear_sessions(p);
		noise_handshake_precompute(&p->handshake, id);
	}
	return 0;
}

int device_bind(struct device *dev, uint16_t port)
{
	int ret;

	if (port && port == dev->listen_port) {
		dev->configured_port = port;
		return 0;
	}
	ret = socket_bind(dev, port);
	if (ret < 0)
		return ret;
	dev->configured_port = port;
	/* Sticky sources belong to the old sockets' view of the world. */
	for (struct peer *p = dev->peers_head; p; p = p->list_next)
		endpoint_clear_src(&p->endpoint);
	return 0;
}

int device_adopt_sockets(struct device *dev, int fd4, int fd6)
{
	int ret = socket_adopt(dev, fd4, fd6);

	if (ret < 0)
		return ret;
	for (struct peer *p = dev->peers_head; p; p = p->list_next)
		endpoint_clear_src(&p->endpoint);
	return 0;
}

int device_set_fwmark(struct device *dev, uint32_t mark)
{
	int ret;

	if (mark == dev->fwmark)
		return 0;
	ret = socket_set_fwmark(dev, mark);
	if (ret < 0)
		return ret;
	dev->fwmark = mark;
	for (struct peer *p = dev->peers_head; p; p = p->list_next)
		endpoint_clear_src(&p->endpoint);
	return 0;
}

/* Whitepaper 5.3: "under load" means handshake messages are arriving faster
 * than we want to spend CPU on them.  We count them per second and stay under
 * load for a second after crossing the threshold. */
#define HANDSHAKES_PER_SECOND_UNDER_LOAD (MAX_QUEUED_INCOMING_HANDSHAKES / 8)

bool device_under_load(struct device *dev, uint64_t now_ns)
{
	if (now_ns - dev->load_window_start_ns >= NSEC_PER_SEC) {
		dev->load_window_start_ns = now_ns;
		dev->handshakes_in_window = 0;
	}
	if (++dev->handshakes_in_window > HANDSHAKES_PER_SECOND_UNDER_LOAD)
		dev->under_load_until_ns = now_ns + NSEC_PER_SEC;
#ifdef ZWG_TESTING
	if (getenv("ZWG_FORCE_UNDER_LOAD"))
		return true;
#endif
	return now_ns < dev->under_load_until_ns;
}

int device_watch(struct device *dev, struct loop_source *src, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	return epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, src->fd, &ev) < 0 ? -errno : 0;
}

void device_unwatch(struct device *dev, struct loop_source *src)
{
	epoll_ctl(dev->epoll_fd, EPOLL_CTL_DEL, src->fd, NULL);
}

void device_stop(struct device *dev, int status)
{
	dev->stopping = true;
	dev->exit_status = status;
}

/* Arms the timerfd for the earliest peer timer, unless it is already armed
 * for that time or earlier (see timer_armed_ns in device.h). */
static void arm_timerfd(struct device *dev)
{
	uint64_t next = timer_heap_next(&dev->timers);
	struct itimerspec its = { 0 };

	if (next == UINT64_MAX || next >= dev->timer_armed_ns)
		return;
	uint64_t now = clock_now_ns();
	/* Protocol time may run faster than the timerfd's clock. */
	uint64_t delay = next > now ? (next - now) / clock_scale() : 0;
	if (delay == 0)
		delay = 1;
	its.it_value.tv_sec = (time_t)(delay / NSEC_PER_SEC);
	its.it_value.tv_nsec = (long)(delay % NSEC_PER_SEC);
	if (timerfd_settime(dev->timer_fd, 0, &its, NULL) == 0)
		dev->timer_armed_ns = next;
}

int device_call(struct device *dev, int (*fn)(struct device *dev, void *ctx), void *ctx)
{
	struct device_call call = { .fn = fn, .ctx = ctx };
	uint64_t one = 1;

	if (loop_owner == dev)
		return fn(dev, ctx);
	pthread_cond_init(&call.cond, NULL);
	pthread_mutex_lock(&dev->call_lock);
	if (dev->calls_tail)
		dev->calls_tail->next = &call;
	else
		dev->calls_head = &call;
	dev->calls_tail = &call;
	if (write(dev->call_fd, &one, sizeof(one)) < 0)
		log_warn_errno("eventfd");
	while (!call.done)
		pthread_cond_wait(&call.cond, &dev->call_lock);
	pthread_mutex_unlock(&dev->call_lock);
	pthread_cond_destroy(&call.cond);
	return call.result;
}

/* On the loop thread: runs every queued call, each outside call_lock. */
static void run_calls(struct device *dev)
{
	uint64_t n;

	if (read(dev->call_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn_errno("eventfd");
	pthread_mutex_lock(&dev->call_lock);
	while (dev->calls_head) {
		struct device_call *c = dev->calls_head;
		dev->calls_head = c->next;
		if (!dev->calls_head)
			dev->calls_tail = NULL;
		pthread_mutex_unlock(&dev->call_lock);
		int result = c->fn(dev, c->ctx);
		pthread_mutex_lock(&dev->call_lock);
		c->result = result;
		c->done = true;
		pthread_cond_signal(&c->cond);
	}
	pthread_mutex_unlock(&dev->call_lock);
}

/* Waits for events.  After packet work (after_packets), polls first for as
 * long as the busy-poll budget allows (busypoll.h), and tells it how long
 * the wait was. */
static int wait_events(struct device *dev, struct epoll_event *events, int max,
		       bool after_packets)
{
	uint64_t start, budget, polled = 0;
	int n = 0;

	if (!after_packets || !dev->busy_poll.max_ns)
		return epoll_wait(dev->epoll_fd, events, max, -1);
	start = busy_poll_now_ns();
	budget = busy_poll_begin(&dev->busy_poll, start);
	/* Each empty poll yields: on a busy CPU whoever we just woke (the
	 * application reading what we delivered, the peer's daemon) runs
	 * first instead of waiting for our poll to end; on an idle one the
	 * yield returns at once. */
	while (budget) {
		n = epoll_wait(dev->epoll_fd, events, max, 0);
		polled = busy_poll_now_ns() - start;
		if (n != 0 || polled >= budget)
			break;
		sched_yield();
	}
	if (n == 0)
		n = epoll_wait(dev->epoll_fd, events, max, -1);
	if (n > 0)
		busy_poll_end(&dev->busy_poll, busy_poll_now_ns() - start, polled);
	return n;
}

int device_run(struct device *dev)
{
	struct epoll_event events[16];
	bool after_packets = false;

	loop_owner = dev;
	while (!dev->stopping) {
		arm_timerfd(dev);
		int n = wait_events(dev, events, 16, after_packets);
		after_packets = false;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn_errno("epoll_wait");
			device_stop(dev, 1);
			break;
		}
		for (int i = 0; i < n && !dev->stopping; i++) {
			void *p = events[i].data.ptr;
			if (p == &tun_marker) {
				device_tun_readable(dev);
				after_packets = true;
			} else if (p == &timer_marker) {
				uint64_t expirations;
				dev->timer_armed_ns = UINT64_MAX;
				if (read(dev->timer_fd, &expirations, sizeof(expirations)) < 0 &&
				    errno != EAGAIN)
					log_warn_errno("timerfd");
			} else if (p == &call_marker) {
				run_calls(dev);
			} else if (p == &dev->sock4 || p == &dev->sock6) {
				device_udp_readable(dev, p);
				after_packets = true;
			} else {
				struct loop_source *src = p;
				src->ready(dev, src, events[i].events);
			}
		}
		timer_heap_run(&dev->timers, clock_now_ns());
	}
	/* Nobody may wait forever on a loop that no longer runs. */
	run_calls(dev);
	loop_owner = NULL;
	return dev->exit_status;
}
