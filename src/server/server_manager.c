/*
 * server_manager.c - the server's manager thread: the signals (SIGHUP
 * reloads the store, SIGTERM/SIGINT shut down), the statistics timer,
 * expiry, and the privileged part's hang-up; and the shutdown that stops
 * the admin API while the loop still serves its driver calls, then wakes
 * the loop to stop it.  Nothing here runs on the packet loop.
 *
 * Relies on server.c (applies, reloads, the expiry timer) through
 * server_internal.h.
 */
#include "server_internal.h"
#include "api_http.h"
#include "audit.h"
#include "links.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------- the manager -- */

/* The manager thread: signals, statistics, expiry; never the packet loop. */

static void link_expired(void *ctx, const char *peer)
{
	struct actor expiry = actor_system("expiry");

	(void)ctx;
	audit_log(AUDIT_LINK_EXPIRE, peer, &expiry, true, NULL);
}

/* Deletes the records of expired one-time links (links.h): at start, then
 * once a minute from the statistics timer.  A link is never served after
 * its expiry anyway (links_take checks); this wipes the keys they hold. */
static void expire_links(struct server *srv, int64_t now)
{
	int ret = links_expire_due(srv->ctl, now, link_expired, NULL);

	if (ret < 0)
		log_error("one-time links: cannot delete the expired ones: %s", strerror(-ret));
}

static void on_stats_timer(struct server *srv)
{
	int64_t now = (int64_t)time(NULL);
	uint64_t n;

	if (read(srv->stats_fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (stats_sample(srv->stats, srv->drv, now, true) < 0)
		log_error("statistics: cannot read the interface's counters");
	/* the first tick of each minute */
	if (now / 60 != (now - STATS_INTERVAL_SEC) / 60)
		expire_links(srv, now);
	/* The API's threads each have a malloc arena, where multi-megabyte
	 * answers (the peer list) freed between Argon2id's 64 MiB areas stay
	 * resident: hand free pages back to the kernel every tick (a walk
	 * of the free lists, a few ms at most; the packet path allocates
	 * nothing, so it never waits for it). */
	malloc_trim(0);
}

static void on_expiry_timer(struct server *srv)
{
	char err[512] = "";
	uint64_t n;
	int64_t now;
	int ret;

	if (read(srv->expiry_fd, &n, sizeof(n)) != sizeof(n))
		return;
	struct actor expiry = actor_system("expiry");

	pthread_mutex_lock(&srv->apply_lock);
	now = server_wall_now();
	ret = control_expire_due(srv->ctl, now, &expiry, NULL, NULL);
	if (ret < 0) {
		log_error("expiring peers: %s", strerror(-ret));
		/* The desired config leaves expired peers out even if storing
		 * the change failed, but then nothing noted which peers: apply
		 * everything. */
		control_mark_all_changed(srv->ctl);
	}
	if (server_apply_locked(srv, err, sizeof(err)) < 0)
		log_error("%s", err);
	/* If storing failed, the peer is still due: retry in a second. */
	server_arm_expiry_after(srv, now + 1);
	pthread_mutex_unlock(&srv->apply_lock);
}

/* Stops the admin API (requests in progress finish: the loop still
 * serves their driver calls), then wakes the loop to stop it. */
static void shut_down(struct server *srv)
{
	uint64_t one = 1;

	api_server_stop(srv->api_srv);
	srv->api_srv = NULL;
	__atomic_store_n(&srv->api_stopped, true, __ATOMIC_RELEASE);
	if (write(srv->wake_src.fd, &one, sizeof(one)) < 0)
		log_warn_errno("eventfd");
}

/* true: shut down. */
static bool on_signal(struct server *srv)
{
	struct signalfd_siginfo si;

	while (read(srv->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			char err[512] = "";
			if (server_reload(srv, err, sizeof(err)) < 0)
				log_error("%s", err);
			else
				log_info("store reloaded (SIGHUP)");
			continue;
		}
		log_info("received signal %u, shutting down", si.ssi_signo);
		sd_notify(0, "STOPPING=1");
		return true;
	}
	return false;
}

void *server_manager_main(void *arg)
{
	struct server *srv = arg;
	bool done = false;

	expire_links(srv, (int64_t)time(NULL));
	while (!done) {
		struct epoll_event ev[4];
		int n = epoll_wait(srv->mgr_epoll, ev, 4, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn_errno("manager: epoll_wait");
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			if (fd == srv->sig_fd)
				done |= on_signal(srv);
			else if (fd == srv->stats_fd)
				on_stats_timer(srv);
			else if (fd == srv->expiry_fd)
				on_expiry_timer(srv);
			else if (fd == srv->mgr_stop_fd)
				done = true;
			else if (fd == srv->priv.fd) {
				log_error("the privileged part (pid %d) has exited: the interface, its "
					  "routes and NAT can no longer be managed; shutting down "
					  "(nothing stored is lost)", (int)srv->priv.pid);
				srv->exit_status = 1;
				done = true;
			}
		}
	}
	shut_down(srv);
	return NULL;
}

int server_manager_watch(struct server *srv, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (fd < 0)
		return -1;
	return epoll_ctl(srv->mgr_epoll, EPOLL_CTL_ADD, fd, &ev);
}

/* On the loop: the manager has stopped the API. */
void server_on_wake(struct device *dev, struct loop_source *src, uint32_t events)
{
	struct server *srv = src->ctx;
	uint64_t n;

	if (read(src->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn_errno("eventfd");
	device_stop(dev, srv->exit_status);
	(void)events;
}
