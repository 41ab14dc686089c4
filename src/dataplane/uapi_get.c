/*
 * uapi_get.c - the client side of a "get": the answer of another daemon
 * parsed into a struct uapi_config, for driving it as wg(8) does
 * (src/server/driver_uapi.c).  The parser reads what a daemon we did not
 * write may send, so it ignores keys it does not know, as wg(8)'s
 * ipc-uapi.h does, but refuses anything ambiguous and bounds what it
 * keeps (see uapi.h).
 *
 * Relies on: uapi.c (the config and the value parsers), uapi_parser.c
 * (error messages, the public key index).
 */
#include "uapi.h"
#include "uapi_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The keys a get answer carries, device keys first. */
enum get_key {
	G_PRIVATE_KEY, G_LISTEN_PORT, G_FWMARK,
	G_PUBLIC_KEY,
	G_PRESHARED_KEY, G_PROTOCOL_VERSION, G_ENDPOINT, G_LAST_HANDSHAKE_SEC,
	G_LAST_HANDSHAKE_NSEC, G_TX_BYTES, G_RX_BYTES, G_KEEPALIVE, G_ALLOWED_IP,
	G_ERRNO,
	G_UNKNOWN
};

static const char *const get_key_names[G_UNKNOWN] = {
	[G_PRIVATE_KEY] = "private_key", [G_LISTEN_PORT] = "listen_port",
	[G_FWMARK] = "fwmark", [G_PUBLIC_KEY] = "public_key",
	[G_PRESHARED_KEY] = "preshared_key", [G_PROTOCOL_VERSION] = "protocol_version",
	[G_ENDPOINT] = "endpoint", [G_LAST_HANDSHAKE_SEC] = "last_handshake_time_sec",
	[G_LAST_HANDSHAKE_NSEC] = "last_handshake_time_nsec", [G_TX_BYTES] = "tx_bytes",
	[G_RX_BYTES] = "rx_bytes", [G_KEEPALIVE] = "persistent_keepalive_interval",
	[G_ALLOWED_IP] = "allowed_ip", [G_ERRNO] = "errno",
};

/* errno values a daemon may report; anything larger is not an errno. */
#define GET_ERRNO_MAX 4095

struct get_parser {
	struct uapi_parser ps;	/* cfg, the public key index, lineno, err */
	unsigned dev_seen;	/* 1 << enum get_key, device section */
	unsigned peer_seen;	/* the same, current peer section */
	size_t n_allowed_ips;	/* over all peers */
	int daemon_errno;	/* from the errno line: 0 or negative */
};

/* "line N: " + the message. */
static void get_err(struct get_parser *gp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void get_err(struct get_parser *gp, const char *fmt, ...)
{
	char msg[QUOTED_CAP + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	uapi_parser_err(&gp->ps, "line %zu: %s", gp->ps.lineno, msg);
}

static bool get_key_chars_ok(const char *k, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return false;
	return true;
}

static int get_number(struct get_parser *gp, enum get_key id, const char *v, size_t n,
		      uint64_t max, uint64_t *out)
{
	char q[QUOTED_CAP];

	if (uapi_parse_uint(v, n, max, out))
		return 0;
	uapi_quote(q, sizeof(q), v, n);
	get_err(gp, "%s %s is not a number in 0..%llu", get_key_names[id], q,
		(unsigned long long)max);
	return -EPROTO;
}

static int get_public_key(struct get_parser *gp, const char *v, size_t n)
{
	struct uapi_parser *ps = &gp->ps;
	uint8_t key[UAPI_KEY_LEN];
	struct uapi_peer *p;
	int ret;

	if (!uapi_parse_key(v, n, key)) {
		get_err(gp, "invalid public_key");
		return -EPROTO;
	}
	if (ps->index_cap && ps->index[uapi_index_slot(ps, key)]) {
		get_err(gp, "public_key of peer %zu listed again",
			ps->index[uapi_index_slot(ps, key)]);
		return -EPROTO;
	}
	if (ps->cfg->n_peers >= UAPI_GET_MAX_PEERS) {
		get_err(gp, "more than %u peers; the answer is refused", UAPI_GET_MAX_PEERS);
		return -EMSGSIZE;
	}
	p = uapi_config_add_peer(ps->cfg);
	if (!p) {
		get_err(gp, "out of memory");
		return -ENOMEM;
	}
	memcpy(p->public_key, key, UAPI_KEY_LEN);
	/* a get answer is complete: no line means no PSK, keepalive off */
	p->has_preshared_key = true;
	p->has_persistent_keepalive = true;
	ps->in_peer = true;
	ps->cur = ps->cfg->n_peers - 1;
	gp->peer_seen = 1u << G_PUBLIC_KEY;
	ret = uapi_index_put(ps, ps->cur);
	if (ret)
		get_err(gp, "out of memory");
	return ret;
}

/* errno=N: "-22" as wireguard-go and zerowgd send it, or "22". */
static int get_errno_value(struct get_parser *gp, const char *v, size_t n)
{
	bool neg = n > 0 && v[0] == '-';
	uint64_t e;
	char q[QUOTED_CAP];

	if (!uapi_parse_uint(v + neg, n - neg, GET_ERRNO_MAX, &e)) {
		uapi_quote(q, sizeof(q), v, n);
		get_err(gp, "errno %s is not an errno value (want errno=-N or N, N <= %d)",
			q, GET_ERRNO_MAX);
		return -EPROTO;
	}
	gp->daemon_errno = -(int)e;
	return 0;
}

static int get_value(struct get_parser *gp, enum get_key id, const char *v, size_t n)
{
	struct uapi_config *cfg = gp->ps.cfg;
	struct uapi_peer *p = gp->ps.in_peer ? &cfg->peers[gp->ps.cur] : NULL;
	const char *name = get_key_names[id], *why = NULL;
	char buf[VALUE_MAX], q[QUOTED_CAP];
	struct uapi_allowed_ip a;
	uint64_t num;
	int ret;

	switch (id) {
	case G_PRIVATE_KEY:
		if (!uapi_parse_key(v, n, cfg->private_key)) {
			get_err(gp, "invalid private_key");	/* never quoted */
			return -EPROTO;
		}
		/* a zero key and no key both mean the device has none */
		cfg->has_private_key = !uapi_key_is_zero(cfg->private_key);
		return 0;
	case G_PRESHARED_KEY:
		if (!uapi_parse_key(v, n, p->preshared_key)) {
			get_err(gp, "invalid preshared_key");
			return -EPROTO;
		}
		return 0;
	case G_LISTEN_PORT:
		if ((ret = get_number(gp, id, v, n, 65535, &num)))
			return ret;
		cfg->has_listen_port = true;
		cfg->listen_port = (uint16_t)num;
		return 0;
	case G_FWMARK:
		if ((ret = get_number(gp, id, v, n, UINT32_MAX, &num)))
			return ret;
		cfg->fwmark = (uint32_t)num;
		cfg->has_fwmark = num != 0;	/* as the device reports it */
		return 0;
	case G_PROTOCOL_VERSION:
		if (!uapi_str_is(v, n, "1")) {
			uapi_quote(q, sizeof(q), v, n);
			get_err(gp, "protocol_version %s is not supported (only 1 is)", q);
			return -EPROTO;
		}
		return 0;
	case G_ENDPOINT:
		if (!uapi_copy_value(buf, sizeof(buf), v, n) ||
		    uapi_parse_endpoint_why(buf, &p->endpoint, &why) != 0) {
			uapi_quote(q, sizeof(q), v, n);
			get_err(gp, "endpoint %s %s", q, why ? why : "is too long");
			return -EPROTO;
		}
		p->has_endpoint = true;
		return 0;
	case G_LAST_HANDSHAKE_SEC:
	case G_LAST_HANDSHAKE_NSEC:
		if ((ret = get_number(gp, id, v, n, INT64_MAX, &num)))
			return ret;
		if (id == G_LAST_HANDSHAKE_SEC)
			p->last_handshake_time_sec = (int64_t)num;
		else
			p->last_handshake_time_nsec = (int64_t)num;
		return 0;
	case G_TX_BYTES:
	case G_RX_BYTES:
		if ((ret = get_number(gp, id, v, n, UINT64_MAX, &num)))
			return ret;
		if (id == G_TX_BYTES)
			p->tx_bytes = num;
		else
			p->rx_bytes = num;
		return 0;
	case G_KEEPALIVE:
		if ((ret = get_number(gp, id, v, n, 65535, &num)))
			return ret;
		p->persistent_keepalive_interval = (uint16_t)num;
		return 0;
	case G_ALLOWED_IP:
		if (!uapi_copy_value(buf, sizeof(buf), v, n) || uapi_parse_allowed_ip_why(buf, &a, &why) != 0) {
			uapi_quote(q, sizeof(q), v, n);
			get_err(gp, "%s %s %s", name, q, why ? why : "is not an address");
			return -EPROTO;
		}
		if (gp->n_allowed_ips >= UAPI_GET_MAX_ALLOWED_IPS) {
			get_err(gp, "more than %u allowed IPs; the answer is refused",
				UAPI_GET_MAX_ALLOWED_IPS);
			return -EMSGSIZE;
		}
		if (uapi_peer_add_allowed_ip(p, a.family, a.addr, a.cidr)) {
			get_err(gp, "out of memory");
			return -ENOMEM;
		}
		gp->n_allowed_ips++;
		return 0;
	case G_ERRNO:
		return get_errno_value(gp, v, n);
	default:	/* public_key and unknown keys are handled by the caller */
		return -EPROTO;
	}
}

static int get_line(struct get_parser *gp, const char *line, size_t len, enum get_key *idp)
{
	const char *eq = memchr(line, '=', len);
	enum get_key id = 0;
	unsigned *seen;
	size_t kn;
	char q[QUOTED_CAP];

	if (!eq) {
		/* not quoted: it might be a key */
		get_err(gp, "has no '=' (want key=value)");
		return -EPROTO;
	}
	kn = (size_t)(eq - line);
	if (!get_key_chars_ok(line, kn)) {
		uapi_quote(q, sizeof(q), line, kn);
		get_err(gp, "key %s is not a UAPI key (want [a-z0-9_]+)", q);
		return -EPROTO;
	}
	while (id < G_UNKNOWN && !uapi_str_is(line, kn, get_key_names[id]))
		id++;
	*idp = id;
	if (id == G_UNKNOWN)
		return 0;	/* a key from a newer daemon: ignored, as by wg(8) */
	if (id == G_PUBLIC_KEY)
		return get_public_key(gp, eq + 1, len - kn - 1);
	if (id < G_PUBLIC_KEY && gp->ps.in_peer) {
		get_err(gp, "device key \"%s\" after a peer's public_key", get_key_names[id]);
		return -EPROTO;
	}
	if (id > G_PUBLIC_KEY && id < G_ERRNO && !gp->ps.in_peer) {
		get_err(gp, "peer key \"%s\" before any public_key", get_key_names[id]);
		return -EPROTO;
	}
	seen = gp->ps.in_peer ? &gp->peer_seen : &gp->dev_seen;
	if (id != G_ALLOWED_IP && (*seen & (1u << id))) {
		get_err(gp, "\"%s\" given twice for the same %s", get_key_names[id],
			gp->ps.in_peer ? "peer" : "device");
		return -EPROTO;
	}
	*seen |= 1u << id;
	return get_value(gp, id, eq + 1, len - kn - 1);
}

int uapi_parse_get(const char *text, size_t len, struct uapi_config *cfg,
		   char *err, size_t errlen)
{
	struct get_parser gp = { .ps = { .cfg = cfg, .err = err, .errlen = errlen } };
	const char *p, *end;
	int ret;

	uapi_config_init(cfg);
	if (err && errlen)
		err[0] = '\0';
	if (len == 0) {	/* text may then be NULL: no pointer arithmetic on it */
		uapi_parser_err(&gp.ps, "the answer is empty (want lines ending in \"errno=N\")");
		return -EPROTO;
	}
	if (len > UAPI_GET_MAX_ANSWER) {
		uapi_parser_err(&gp.ps, "the answer has %zu bytes, more than %u", len,
			UAPI_GET_MAX_ANSWER);
		return -EMSGSIZE;
	}
	p = text;
	end = text + len;
	for (;;) {
		size_t avail = (size_t)(end - p), n;
		const char *nl;
		enum get_key id = G_UNKNOWN;

		gp.ps.lineno++;
		if (avail == 0) {
			get_err(&gp, "the answer ends without \"errno=N\" (cut short?)");
			ret = -EPROTO;
			break;
		}
		nl = memchr(p, '\n', avail < UAPI_GET_MAX_LINE + 1 ? avail : UAPI_GET_MAX_LINE + 1);
		if (!nl) {
			if (avail > UAPI_GET_MAX_LINE)
				get_err(&gp, "is longer than %d bytes", UAPI_GET_MAX_LINE);
			else
				get_err(&gp, "has no newline (the answer is cut short)");
			ret = -EPROTO;
			break;
		}
		n = (size_t)(nl - p);
		if (n == 0) {
			get_err(&gp, "is blank before \"errno=N\" (the answer is cut short)");
			ret = -EPROTO;
			break;
		}
		if (memchr(p, '\0', n)) {
			get_err(&gp, "holds a NUL byte");
			ret = -EPROTO;
			break;
		}
		ret = get_line(&gp, p, n, &id);
		if (ret)
			break;
		p = nl + 1;
		if (id != G_ERRNO)
			continue;
		/* errno=N ends the answer: a blank line, then nothing */
		gp.ps.lineno++;
		if (p == end) {
			get_err(&gp, "is missing: a blank line must follow \"errno=N\"");
			ret = -EPROTO;
		} else if (*p != '\n') {
			get_err(&gp, "follows \"errno=N\" but is not blank");
			ret = -EPROTO;
		} else if (p + 1 != end) {
			uapi_parser_err(&gp.ps, "%zu bytes follow the blank line that ends the answer",
				(size_t)(end - (p + 1)));
			ret = -EPROTO;
		} else if (gp.daemon_errno) {
			uapi_parser_err(&gp.ps, "the daemon answered errno=%d (%s)", gp.daemon_errno,
				strerror(-gp.daemon_errno));
			ret = gp.daemon_errno;
		}
		break;
	}
	free(gp.ps.index);
	if (ret)
		uapi_config_free(cfg);
	return ret;
}
