/*
 * server_api.c - the server's side of the API layer (api.h): the hooks
 * its handlers call (apply, refresh the statistics, reload the store,
 * read the data plane's counters for /metrics) and the start of the web
 * listeners from WEB_LISTEN, WEB_TRUSTED_PROXY and METRICS_ALLOW (on the
 * tunnel's addresses through the privileged part where the tunnel lives
 * in another network namespace).
 *
 * The hooks run on the API's threads: an apply or a reload takes
 * apply_lock (server.c), the counters are read on the loop thread through
 * device_call.
 *
 * Relies on server_internal.h, api.h, api_http.h, accounts.h, apply.h,
 * audit.h, control.h, priv.h, stats.h and the data plane's device.h (for
 * its counters only).
 */
#include "server_internal.h"
#include "accounts.h"
#include "api.h"
#include "api_http.h"
#include "apply.h"
#include "audit.h"
#include "control.h"
#include "device.h"
#include "log.h"
#include "netlink.h"
#include "priv.h"
#include "stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int api_apply(void *ctx, char *err, size_t errlen)
{
	return server_apply(ctx, err, errlen);
}

static int api_refresh(void *ctx)
{
	struct server *srv = ctx;

	return stats_sample(srv->stats, srv->drv, (int64_t)time(NULL), false);
}

/*
 * Needs apply_lock, after the store was re-read: another process (an
 * import) may have changed the server record.  The key and the port follow
 * through the apply; the addresses, MTU and NAT are brought along here.  A
 * new interface name needs a restart.
 */
static void refresh_interface(struct server *srv)
{
	struct server_record rec;
	uint8_t pub[MODEL_KEY_LEN];
	char a4[64], a6[64], err[512];
	struct netlink_prefix p;
	bool moved;

	if (control_get_server(srv->ctl, &rec, pub) < 0)
		return;
	server_format_addr(a4, sizeof(a4), AF_INET, &rec.ipv4, rec.ipv4_prefix);
	server_format_addr(a6, sizeof(a6), AF_INET6, &rec.ipv6, rec.ipv6_prefix);
	if (strcmp(rec.interface, srv->rec.interface)) {
		log_error("the store names the interface %s now: restart the server to rename %s",
			  rec.interface, srv->rec.interface);
		snprintf(rec.interface, sizeof(rec.interface), "%s", srv->rec.interface);
	}
	moved = strcmp(a4, srv->addr4) || strcmp(a6, srv->addr6);
	if (moved) {
		const char *old[2] = { srv->addr4, srv->addr6 }, *now[2] = { a4, a6 };
		for (int i = 0; i < 2; i++) {
			if (!strcmp(old[i], now[i]))
				continue;
			if (netlink_prefix_parse(&p, now[i]) &&
			    priv_addr(&srv->priv, true, &p, err, sizeof(err)) < 0)
				log_error("%s", err);
			if (netlink_prefix_parse(&p, old[i]) &&
			    priv_addr(&srv->priv, false, &p, err, sizeof(err)) < 0)
				log_error("%s", err);
		}
		apply_routes_set_own(&srv->routes, a4, a6);
		log_info("interface %s: addresses now %s and %s", rec.interface, a4, a6);
	}
	if (rec.mtu != srv->rec.mtu && rec.mtu &&
	    priv_link_set(&srv->priv, rec.mtu, true, err, sizeof(err)) < 0)
		log_error("%s", err);
	if (moved || rec.nat != srv->rec.nat) {
		if (priv_nat_teardown(&srv->priv, err, sizeof(err)) < 0)
			log_error("%s", err);
		if (rec.nat && priv_nat_setup(&srv->priv, a4, a6, err, sizeof(err)) < 0)
			log_error("%s", err);
	}
	model_server_free(&srv->rec);
	srv->rec = rec;
	memcpy(srv->public_key, pub, sizeof(pub));
	snprintf(srv->addr4, sizeof(srv->addr4), "%s", a4);
	snprintf(srv->addr6, sizeof(srv->addr6), "%s", a6);
}

/* Under apply_lock, so that a reload never races another one, an apply
 * nor the expiry timer.  actor: who asked (POST /v1/reload), or SIGHUP's
 * actor_system("reload"). */
static int reload_as(struct server *srv, const struct actor *actor, char *err, size_t errlen)
{
	struct control_error e;
	int ret;

	pthread_mutex_lock(&srv->apply_lock);
	control_error_clear(&e);
	ret = control_reload(srv->ctl, actor, &e);
	/* Users and tokens that `zerowg user|token` changed in the store. */
	if (ret == 0 && srv->api.accounts)
		ret = accounts_reload(srv->api.accounts, &e);
	if (ret < 0) {
		snprintf(err, errlen, "reloading the store: %s", e.msg[0] ? e.msg : strerror(-ret));
	} else {
		refresh_interface(srv);
		server_arm_expiry(srv);
		ret = server_apply_locked(srv, err, errlen);
	}
	audit_log(AUDIT_SERVER_RELOAD, NULL, actor, ret == 0, ret == 0 ? NULL : err);
	pthread_mutex_unlock(&srv->apply_lock);
	return ret;
}

int server_reload(struct server *srv, char *err, size_t errlen)
{
	struct actor sighup = actor_system("reload");

	return reload_as(srv, &sighup, err, errlen);
}

static int api_reload(void *ctx, const struct actor *actor, char *err, size_t errlen)
{
	return reload_as(ctx, actor, err, errlen);
}

/* The data plane's drop and handshake counters for /metrics, read on its
 * loop thread. */
static int read_drops(struct device *dev, void *ctx)
{
	struct api_counters *c = ctx;

	_Static_assert(HS__COUNT <= API_HANDSHAKE_EVENTS, "API_HANDSHAKE_EVENTS is too small");
	memcpy(c->drops, dev->drops, sizeof(dev->drops));
	c->n_drops = DROP__COUNT;
	memcpy(c->handshakes, dev->handshakes, sizeof(dev->handshakes));
	c->n_handshakes = HS__COUNT;
	return 0;
}

static int api_counters(void *ctx, struct api_counters *out)
{
	struct server *srv = ctx;

	memset(out, 0, sizeof(*out));
	return device_call(srv->dev, read_drops, out);
}

/* A comma list of ADDRESS[/LEN] from the environment into p.  0 or 1
 * after a message naming the variable. */
static int env_prefixes(const char *var, const char *flag, struct api_prefix *p, size_t *n)
{
	const char *text = getenv(var);
	char buf[1024], err[256], *save = NULL, *tok;

	*n = 0;
	if (!text || !*text)
		return 0;
	snprintf(buf, sizeof(buf), "%s", text);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (*n == API_MAX_PREFIXES) {
			fprintf(stderr, "zerowg: %s (%s): at most %d ranges\n", var, flag,
				API_MAX_PREFIXES);
			return 1;
		}
		if (api_prefix_parse(&p[*n], tok, err, sizeof(err)) < 0) {
			fprintf(stderr, "zerowg: %s (%s): %s\n", var, flag, err);
			return 1;
		}
		(*n)++;
	}
	return 0;
}

/* Appends "text" to the start-up line's list of listeners. */
static void describe_add(char *buf, size_t len, const char *text, const char *note)
{
	size_t used = strlen(buf);

	if (used < len)
		snprintf(buf + used, len - used, "%s%s%s", used ? ", " : "", text, note);
}

/*
 * A web listener on one of the tunnel's own addresses where this process
 * does not see the tunnel (rootless, --netns): the privileged part binds
 * it in the tunnel's namespace and hands it over listening.  tok is
 * api_web_parse's text.  0 when listening, 1 when tok is not one of the
 * tunnel's addresses (the caller binds it here), -errno with err set.
 */
static int listen_in_tunnel(struct server *srv, const char *tok, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct netlink_prefix own, want = { 0 };
	socklen_t len;
	uint16_t port;
	int fd, ret;

	if ((ret = api_web_parse(tok, &ss, &len, err, errlen)) < 0)
		return ret;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		want.family = AF_INET;
		want.len = 32;
		memcpy(want.addr, &s4->sin_addr, 4);
		port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		want.family = AF_INET6;
		want.len = 128;
		memcpy(want.addr, &s6->sin6_addr, 16);
		port = ntohs(s6->sin6_port);
	}
	if (!netlink_prefix_parse(&own, want.family == AF_INET ? srv->addr4 : srv->addr6) ||
	    own.family != want.family ||
	    memcmp(own.addr, want.addr, want.family == AF_INET ? 4 : 16))
		return 1;
	if ((ret = priv_web_open(&srv->priv, &want, port, &fd, err, errlen)) < 0)
		return ret;
	/* It takes the fd, also on failure. */
	return api_server_listen_fd(srv->api_srv, fd, err, errlen);
}

/*
 * The web listeners (docs/web.md): WEB_LISTEN (`zerowg up --web`, which
 * sets it) is a comma list of ADDRESS[:PORT] or "none"; unset, loopback
 * and the tunnel's own addresses on port 51821, where a failure is only a
 * warning (another server may hold the port).  Where this process does not
 * see the tunnel (rootless, --netns: the interface lives in another
 * network namespace) a listener on one of the tunnel's addresses, by
 * default or given with --web, comes from the privileged part, bound in
 * the tunnel's namespace.  WEB_TRUSTED_PROXY (--trusted-proxy) and
 * METRICS_ALLOW (--metrics-allow): comma lists of ADDRESS[/LEN].  0 or 1
 * after a message.
 */
int server_start_web(struct server *srv)
{
	const char *listen = getenv("WEB_LISTEN");
	struct api_prefix p[API_MAX_PREFIXES];
	char err[512], buf[1024], desc[1024] = "", *save = NULL, *tok;
	bool explicit = listen && *listen;
	bool remote_tunnel = srv->mode == MODE_ROOTLESS || srv->rt->netns_path;
	size_t n;
	int ret;

	if (env_prefixes("WEB_TRUSTED_PROXY", "--trusted-proxy", p, &n))
		return 1;
	api_server_trust_proxies(srv->api_srv, p, n);
	if (env_prefixes("METRICS_ALLOW", "--metrics-allow", p, &n))
		return 1;
	if (n) {
		memcpy(srv->api.metrics_allow, p, n * sizeof(p[0]));
		srv->api.n_metrics_allow = n;
	}
	if (srv->lfds.http >= 0) {
		int fd = srv->lfds.http;

		srv->lfds.http = -1;
		if (api_server_listen_fd(srv->api_srv, fd, err, sizeof(err)) < 0) {
			fprintf(stderr, "zerowg: %s\n", err);
			return 1;
		}
		server_say("web API on the TCP socket from socket activation");
		return 0;
	}
	if (explicit && !strcmp(listen, "none"))
		return 0;
	if (explicit)
		snprintf(buf, sizeof(buf), "%s", listen);
	else
		snprintf(buf, sizeof(buf), "127.0.0.1,[::1],%.*s,[%.*s]",
			 (int)strcspn(srv->addr4, "/"), srv->addr4,
			 (int)strcspn(srv->addr6, "/"), srv->addr6);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		bool tunnel = !explicit && strcmp(tok, "127.0.0.1") && strcmp(tok, "[::1]");
		const char *note = "";

		if (!strcmp(tok, "[]"))
			continue;	/* no IPv6 address */
		ret = 1;
		if (remote_tunnel) {
			ret = listen_in_tunnel(srv, tok, err, sizeof(err));
			note = " (in the tunnel's namespace)";
		}
		if (ret == 1) {
			ret = api_server_listen(srv->api_srv, tok, tunnel, err, sizeof(err));
			note = "";
		}
		if (ret == 0) {
			describe_add(desc, sizeof(desc), tok, note);
			continue;
		}
		if (explicit) {
			fprintf(stderr, "zerowg: %s (WEB_LISTEN, --web)\n", err);
			return 1;
		}
		log_warn("%s", err);
	}
	if (desc[0])
		server_say("web API on %s (docs/web.md)", desc);
	return 0;
}

/* The API's view of the server: srv->api's hooks and what they read. */
void server_api_hooks(struct server *srv)
{
	srv->api.ctl = srv->ctl;
	srv->api.stats = srv->stats;
	srv->api.apply = api_apply;
	srv->api.refresh = api_refresh;
	srv->api.reload = api_reload;
	srv->api.counters = api_counters;
	srv->api.interface = srv->rec.interface;
	srv->api.ctx = srv;
}
