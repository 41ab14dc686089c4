/*
 * uapi.c - the text side of the cross-platform userspace API
 * (wireguard.com/xplatform): a "set" body parsed into a struct uapi_config,
 * and a struct uapi_config formatted as a "get" answer.  The semantics
 * follow wireguard-go's device/uapi.go, except that the whole request is
 * parsed and validated before the device applies any of it.
 *
 * Relies on: encoding.h (hex keys), inet_pton/inet_ntop for addresses and
 * if_nametoindex/if_indextoname for IPv6 scopes.  Nothing here resolves
 * host names: `wg` resolves before it sends.
 *
 * Sequential semantics in one struct.  wireguard-go applies each line as
 * it reads it, so a request may name the same public key twice.  A later
 * section for a key continues the earlier uapi_peer entry, except when that
 * entry was marked remove or update_only: then what the device must do
 * depends on the order (remove, then create afresh; update if present, then
 * create), so a new entry is appended and the device applies peers[] in
 * order.  Within an entry:
 *   - replace_allowed_ips drops the allowed_ips gathered so far (they would
 *     have been added and then removed);
 *   - remove drops every setting gathered so far, and the rest of that
 *     section is validated but ignored, as wireguard-go does with its
 *     "dummy" peer;
 *   - update_only in a continued section is a no-op, because by then the
 *     earlier section has created the peer.
 * The device itself must still ignore a peer whose public key is its own.
 *
 * Error codes: -EPROTO for a line without '=', an unknown key or a key out
 * of place (device key after a peer, peer key before public_key); -EINVAL
 * for a bad value; -ENOMEM.  wireguard-go answers EINVAL for unknown keys;
 * `wg` only prints the strerror, so the stricter split costs nothing.
 *
 * The client direction, for driving another daemon as wg(8) does:
 * uapi_format_set writes a set request and uapi_parse_get reads a get
 * answer.  The get parser reads what a daemon we did not write may send,
 * so it ignores keys it does not know, as wg(8)'s ipc-uapi.h does, but
 * refuses anything ambiguous (see uapi.h).  Its output reformats with
 * uapi_format_get to a canonical answer that parses to the same config.
 */
#include "uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "textbuf.h"

/* Longest value we copy to a C string: an endpoint is at most
 * "[" 45 "%" 15 "]:" 5 characters; anything longer is invalid anyway. */
#define VALUE_MAX 128
/* How much of a bad value an error message quotes. */
#define QUOTE_MAX 64

void uapi_config_init(struct uapi_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

static void peer_clear_settings(struct uapi_peer *p)
{
	explicit_bzero(p->preshared_key, sizeof(p->preshared_key));
	p->has_preshared_key = false;
	p->has_endpoint = false;
	memset(&p->endpoint, 0, sizeof(p->endpoint));
	p->has_persistent_keepalive = false;
	p->persistent_keepalive_interval = 0;
	p->replace_allowed_ips = false;
	p->n_allowed_ips = 0;
	p->update_only = false;
}

void uapi_config_free(struct uapi_config *cfg)
{
	for (size_t i = 0; i < cfg->n_peers; i++)
		free(cfg->peers[i].allowed_ips);
	if (cfg->peers) {
		/* the whole array: every preshared_key, used or not */
		explicit_bzero(cfg->peers, cfg->cap_peers * sizeof(*cfg->peers));
		free(cfg->peers);
	}
	explicit_bzero(cfg->private_key, sizeof(cfg->private_key));
	uapi_config_init(cfg);
}

struct uapi_peer *uapi_config_add_peer(struct uapi_config *cfg)
{
	struct uapi_peer *p;

	if (cfg->n_peers == cfg->cap_peers) {
		size_t cap = cfg->cap_peers ? cfg->cap_peers * 2 : 8;
		struct uapi_peer *np;

		if (cap < cfg->cap_peers || cap > SIZE_MAX / sizeof(*np)) {
			errno = ENOMEM;
			return NULL;
		}
		/* Not realloc: the old block holds preshared keys and must be
		 * wiped before it goes back to the allocator. */
		np = calloc(cap, sizeof(*np));
		if (!np)
			return NULL;
		if (cfg->peers) {
			memcpy(np, cfg->peers, cfg->n_peers * sizeof(*np));
			explicit_bzero(cfg->peers, cfg->cap_peers * sizeof(*np));
			free(cfg->peers);
		}
		cfg->peers = np;
		cfg->cap_peers = cap;
	}
	p = &cfg->peers[cfg->n_peers++];
	memset(p, 0, sizeof(*p));
	return p;
}

int uapi_peer_add_allowed_ip(struct uapi_peer *p, int family, const uint8_t *addr, uint8_t cidr)
{
	struct uapi_allowed_ip *a;
	size_t alen;

	if (family == AF_INET && cidr <= 32)
		alen = 4;
	else if (family == AF_INET6 && cidr <= 128)
		alen = 16;
	else
		return -EINVAL;
	if (p->n_allowed_ips == p->cap_allowed_ips) {
		size_t cap = p->cap_allowed_ips ? p->cap_allowed_ips * 2 : 4;

		if (cap < p->cap_allowed_ips || cap > SIZE_MAX / sizeof(*a))
			return -ENOMEM;
		/* addresses are not secret: realloc is fine here */
		a = realloc(p->allowed_ips, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		p->allowed_ips = a;
		p->cap_allowed_ips = cap;
	}
	a = &p->allowed_ips[p->n_allowed_ips++];
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->addr, addr, alen);
	a->cidr = cidr;
	return 0;
}

/* ---- small parsers, on (pointer, length) so lines need no copying ---- */

/* Decimal, digits only (no sign, no space), leading zeros allowed as Go's
 * strconv.ParseUint allows them.  Any max up to UINT64_MAX. */
static bool parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint64_t d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (uint64_t)(s[i] - '0');
		if (d > max || v > (max - d) / 10)	/* v * 10 + d > max, no overflow */
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* 64 hex characters, either case. */
static bool parse_key(const char *s, size_t n, uint8_t key[UAPI_KEY_LEN])
{
	char buf[KEY_HEX_LEN + 1];
	bool ok;

	if (n != KEY_HEX_LEN)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	ok = key_from_hex(key, buf);
	explicit_bzero(buf, sizeof(buf));
	if (!ok)
		explicit_bzero(key, UAPI_KEY_LEN);
	return ok;
}

static bool str_is(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n == l && memcmp(s, lit, l) == 0;
}

/* Copies s[0..n) into buf as a C string; false if too long or if it holds
 * a NUL (which would make the C parsers see a shorter string). */
static bool copy_value(char *buf, size_t cap, const char *s, size_t n)
{
	if (n >= cap || memchr(s, '\0', n))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

static int parse_endpoint(const char *s, union uapi_sockaddr *out, const char **why)
{
	char host[INET6_ADDRSTRLEN], name[IF_NAMESIZE];
	const char *port, *close, *pct;
	size_t hlen;
	uint64_t v;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		*why = "is not [IPv6]:port";
		close = strchr(s, ']');
		if (!close || close[1] != ':')
			goto bad;
		port = close + 2;
		hlen = (size_t)(close - (s + 1));
		pct = memchr(s + 1, '%', hlen);
		if (pct)
			hlen = (size_t)(pct - (s + 1));
		*why = "is not an IPv6 address";
		if (hlen >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &out->sin6.sin6_addr) != 1)
			goto bad;
		if (pct) {
			const char *scope = pct + 1;
			size_t slen = (size_t)(close - scope);

			*why = "has a %scope that names no interface";
			if (parse_uint(scope, slen, UINT32_MAX, &v)) {
				out->sin6.sin6_scope_id = (uint32_t)v;
			} else {
				if (slen == 0 || slen >= sizeof(name))
					goto bad;
				memcpy(name, scope, slen);
				name[slen] = '\0';
				out->sin6.sin6_scope_id = if_nametoindex(name);
				if (out->sin6.sin6_scope_id == 0)
					goto bad;
			}
		}
		out->sin6.sin6_family = AF_INET6;
	} else {
		const char *colon = strrchr(s, ':');

		*why = "has no :port";
		if (!colon)
			goto bad;
		hlen = (size_t)(colon - s);
		*why = "needs [brackets] around an IPv6 address";
		if (memchr(s, ':', hlen))
			goto bad;
		*why = "is not an IPv4 address";
		if (hlen >= sizeof(host))
			goto bad;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, &out->sin.sin_addr) != 1)
			goto bad;
		out->sin.sin_family = AF_INET;
		port = colon + 1;
	}
	/* Port 0 passes, as in wireguard-go (netip.ParseAddrPort). */
	*why = "has an invalid port";
	if (!parse_uint(port, strlen(port), 65535, &v))
		goto bad;
	if (out->sa.sa_family == AF_INET)
		out->sin.sin_port = htons((uint16_t)v);
	else
		out->sin6.sin6_port = htons((uint16_t)v);
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

int uapi_parse_endpoint(const char *s, union uapi_sockaddr *out)
{
	const char *why;

	return parse_endpoint(s, out, &why);
}

void uapi_format_endpoint(const union uapi_sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	char scope[IF_NAMESIZE + 2];

	if (len == 0)
		return;
	buf[0] = '\0';
	if (sa->sa.sa_family == AF_INET) {
		if (!inet_ntop(AF_INET, &sa->sin.sin_addr, host, sizeof(host)))
			return;
		snprintf(buf, len, "%s:%u", host, (unsigned)ntohs(sa->sin.sin_port));
	} else if (sa->sa.sa_family == AF_INET6) {
		if (!inet_ntop(AF_INET6, &sa->sin6.sin6_addr, host, sizeof(host)))
			return;
		scope[0] = '\0';
		if (sa->sin6.sin6_scope_id) {
			char name[IF_NAMESIZE];

			/* the name, as the user wrote it, if the interface
			 * still exists; the number otherwise */
			if (if_indextoname(sa->sin6.sin6_scope_id, name))
				snprintf(scope, sizeof(scope), "%%%s", name);
			else
				snprintf(scope, sizeof(scope), "%%%u",
					 (unsigned)sa->sin6.sin6_scope_id);
		}
		snprintf(buf, len, "[%s%s]:%u", host, scope,
			 (unsigned)ntohs(sa->sin6.sin6_port));
	}
}

static int parse_allowed_ip(const char *s, struct uapi_allowed_ip *out, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	memset(out, 0, sizeof(*out));
	*why = "is not an address";
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	out->cidr = (uint8_t)max;	/* a bare address is one host */
	if (slash) {
		const char *bits = slash + 1;
		size_t blen = strlen(bits);
		uint64_t v;

		/* as netip.ParsePrefix: no sign, no leading zero */
		if (blen == 0 || blen > 3 || (blen > 1 && bits[0] == '0') ||
		    !parse_uint(bits, blen, max, &v)) {
			memset(out, 0, sizeof(*out));
			*why = "has an invalid prefix length";
			return -EINVAL;
		}
		out->cidr = (uint8_t)v;
	}
	return 0;
}

int uapi_parse_allowed_ip(const char *s, struct uapi_allowed_ip *out)
{
	const char *why;

	return parse_allowed_ip(s, out, &why);
}

/* ---- the set parser ---- */

struct parser {
	struct uapi_config *cfg;
	/* public key -> 1 + index of its latest entry; 0 = empty slot.
	 * Open addressing, load kept at or below one half. */
	size_t *index;
	size_t index_cap;
	bool in_peer;		/* a public_key line has been seen */
	size_t cur;		/* entry the current section configures */
	bool continued;		/* this section continues an earlier one */
	bool dummy;		/* after remove: validate, do not record */
	size_t lineno;
	char *err;
	size_t errlen;
};

static void set_err(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct parser *ps, const char *fmt, ...)
{
	va_list ap;

	if (!ps->err || ps->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
}

/* Quotes untrusted input for an error message: C-style escapes for
 * anything unprintable, and at most QUOTE_MAX bytes of it. */
static void quote(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;
	bool cut = n > QUOTE_MAX;

	if (cut)
		n = QUOTE_MAX;
	/* cap is at least 4 * QUOTE_MAX + 8 at every call site */
	dst[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			dst[o++] = (char)c;
		} else {
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
		}
	}
	dst[o++] = '"';
	if (cut) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

#define QUOTED_CAP (4 * QUOTE_MAX + 8)

static void err_value(struct parser *ps, const char *key, const char *v, size_t n,
		      const char *why)
{
	char q[QUOTED_CAP];

	quote(q, sizeof(q), v, n);
	if (why)
		set_err(ps, "%s %s %s", key, q, why);
	else
		set_err(ps, "invalid %s %s", key, q);
}

static uint64_t key_hash(const uint8_t key[UAPI_KEY_LEN])
{
	/* FNV-1a.  Public keys are not secret and the UAPI socket is
	 * root's, so a chosen-collision slowdown is not a concern. */
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < UAPI_KEY_LEN; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

/* Slot holding key, or the empty slot where it would go. */
static size_t index_slot(const struct parser *ps, const uint8_t key[UAPI_KEY_LEN])
{
	size_t mask = ps->index_cap - 1;
	size_t i = (size_t)key_hash(key) & mask;

	while (ps->index[i] &&
	       memcmp(ps->cfg->peers[ps->index[i] - 1].public_key, key, UAPI_KEY_LEN) != 0)
		i = (i + 1) & mask;
	return i;
}

/* Records peers[idx] as the latest entry for its key. */
static int index_put(struct parser *ps, size_t idx)
{
	if ((ps->cfg->n_peers + 1) * 2 > ps->index_cap) {
		size_t cap = ps->index_cap ? ps->index_cap * 2 : 64;
		size_t *old = ps->index;

		if (cap > SIZE_MAX / sizeof(*old) / 2)
			return -ENOMEM;
		ps->index = calloc(cap, sizeof(*ps->index));
		if (!ps->index) {
			ps->index = old;
			return -ENOMEM;
		}
		free(old);
		ps->index_cap = cap;
		/* in order, so the latest entry of a repeated key wins */
		for (size_t i = 0; i < ps->cfg->n_peers; i++)
			if (i != idx)
				ps->index[index_slot(ps, ps->cfg->peers[i].public_key)] = i + 1;
	}
	ps->index[index_slot(ps, ps->cfg->peers[idx].public_key)] = idx + 1;
	return 0;
}

static int handle_public_key(struct parser *ps, const char *v, size_t n)
{
	uint8_t key[UAPI_KEY_LEN];
	struct uapi_peer *p;
	size_t slot;
	int ret;

	if (!parse_key(v, n, key)) {
		set_err(ps, "invalid public_key");
		return -EINVAL;
	}
	ps->in_peer = true;
	ps->dummy = false;
	if (ps->index_cap) {
		slot = index_slot(ps, key);
		if (ps->index[slot]) {
			p = &ps->cfg->peers[ps->index[slot] - 1];
			if (!p->remove && !p->update_only) {
				ps->cur = ps->index[slot] - 1;
				ps->continued = true;
				return 0;
			}
		}
	}
	p = uapi_config_add_peer(ps->cfg);
	if (!p) {
		set_err(ps, "out of memory");
		return -ENOMEM;
	}
	memcpy(p->public_key, key, UAPI_KEY_LEN);
	ps->cur = ps->cfg->n_peers - 1;
	ps->continued = false;
	ret = index_put(ps, ps->cur);
	if (ret)
		set_err(ps, "out of memory");
	return ret;
}

/* The keys a set takes: device keys, then public_key, then peer keys. */
enum uapi_key {
	K_PRIVATE_KEY, K_LISTEN_PORT, K_FWMARK, K_REPLACE_PEERS,
	K_PUBLIC_KEY,
	K_PRESHARED_KEY, K_ENDPOINT, K_KEEPALIVE, K_REPLACE_ALLOWED_IPS,
	K_ALLOWED_IP, K_REMOVE, K_UPDATE_ONLY, K_PROTOCOL_VERSION,
	K_UNKNOWN
};

static const char *const key_names[K_UNKNOWN] = {
	[K_PRIVATE_KEY] = "private_key", [K_LISTEN_PORT] = "listen_port",
	[K_FWMARK] = "fwmark", [K_REPLACE_PEERS] = "replace_peers",
	[K_PUBLIC_KEY] = "public_key", [K_PRESHARED_KEY] = "preshared_key",
	[K_ENDPOINT] = "endpoint", [K_KEEPALIVE] = "persistent_keepalive_interval",
	[K_REPLACE_ALLOWED_IPS] = "replace_allowed_ips", [K_ALLOWED_IP] = "allowed_ip",
	[K_REMOVE] = "remove", [K_UPDATE_ONLY] = "update_only",
	[K_PROTOCOL_VERSION] = "protocol_version",
};

/* Validates and records one value.  After remove the peer lines are
 * still checked, as wireguard-go checks them, but land in a scratch peer. */
static int handle_value(struct parser *ps, enum uapi_key id, const char *v, size_t n)
{
	struct uapi_config *cfg = ps->cfg;
	struct uapi_peer scratch, *p = NULL;
	bool use_scratch = ps->in_peer && ps->dummy;
	const char *name = key_names[id], *why = NULL;
	char buf[VALUE_MAX];
	struct uapi_allowed_ip a;
	uint64_t num;
	int ret = -EINVAL;

	if (use_scratch) {
		memset(&scratch, 0, sizeof(scratch));
		p = &scratch;
	} else if (ps->in_peer) {
		p = &cfg->peers[ps->cur];
	}
	switch (id) {
	case K_PRIVATE_KEY:	/* all zeros is valid: it removes the key */
	case K_PRESHARED_KEY:	/* all zeros is valid: no PSK */
		if (!parse_key(v, n, id == K_PRIVATE_KEY ? cfg->private_key : p->preshared_key)) {
			set_err(ps, "invalid %s", name);	/* never quoted */
			goto out;
		}
		if (id == K_PRIVATE_KEY)
			cfg->has_private_key = true;
		else
			p->has_preshared_key = true;
		break;
	case K_LISTEN_PORT:
	case K_FWMARK:
	case K_KEEPALIVE:
		if (!parse_uint(v, n, id == K_FWMARK ? UINT32_MAX : 65535, &num)) {
			err_value(ps, name, v, n, NULL);
			goto out;
		}
		if (id == K_LISTEN_PORT) {
			cfg->has_listen_port = true;
			cfg->listen_port = (uint16_t)num;
		} else if (id == K_FWMARK) {
			cfg->has_fwmark = true;
			cfg->fwmark = (uint32_t)num;
		} else {
			p->has_persistent_keepalive = true;
			p->persistent_keepalive_interval = (uint16_t)num;
		}
		break;
	case K_REPLACE_PEERS:
	case K_REPLACE_ALLOWED_IPS:
	case K_REMOVE:
	case K_UPDATE_ONLY:
		if (!str_is(v, n, "true")) {
			err_value(ps, name, v, n, "is not \"true\"");
			goto out;
		}
		if (id == K_REPLACE_PEERS) {
			cfg->replace_peers = true;
		} else if (id == K_REPLACE_ALLOWED_IPS) {
			/* what came before would be added, then removed */
			p->replace_allowed_ips = true;
			p->n_allowed_ips = 0;
		} else if (id == K_REMOVE && !use_scratch) {
			peer_clear_settings(p);
			p->remove = true;
			ps->dummy = true;
		} else if (id == K_UPDATE_ONLY && !ps->continued) {
			p->update_only = true;
		}
		break;
	case K_ENDPOINT:
		if (!copy_value(buf, sizeof(buf), v, n) ||
		    parse_endpoint(buf, &p->endpoint, &why) != 0) {
			err_value(ps, name, v, n, why);
			goto out;
		}
		p->has_endpoint = true;
		break;
	case K_ALLOWED_IP:
		if (!copy_value(buf, sizeof(buf), v, n) ||
		    parse_allowed_ip(buf, &a, &why) != 0) {
			err_value(ps, name, v, n, why ? why : "is not an address");
			goto out;
		}
		if (!use_scratch && uapi_peer_add_allowed_ip(p, a.family, a.addr, a.cidr)) {
			set_err(ps, "out of memory");
			ret = -ENOMEM;
			goto out;
		}
		break;
	case K_PROTOCOL_VERSION:
		if (!str_is(v, n, "1")) {
			err_value(ps, name, v, n, "is not supported (only 1 is)");
			goto out;
		}
		break;
	default:	/* public_key and unknown keys are handled by the caller */
		goto out;
	}
	ret = 0;
out:
	if (use_scratch)
		explicit_bzero(&scratch, sizeof(scratch));
	return ret;
}

static int handle_line(struct parser *ps, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	enum uapi_key id = 0;
	size_t kn;
	char q[QUOTED_CAP];

	if (!eq) {
		/* not quoted: it might be a key someone pasted */
		set_err(ps, "line %zu has no '=' (want key=value)", ps->lineno);
		return -EPROTO;
	}
	kn = (size_t)(eq - line);
	while (id < K_UNKNOWN && !str_is(line, kn, key_names[id]))
		id++;
	if (id == K_PUBLIC_KEY)
		return handle_public_key(ps, eq + 1, len - kn - 1);
	quote(q, sizeof(q), line, kn);
	if (id == K_UNKNOWN) {
		set_err(ps, "unknown key %s", q);
		return -EPROTO;
	}
	if (id < K_PUBLIC_KEY && ps->in_peer) {
		set_err(ps, "device key %s after a peer's public_key", q);
		return -EPROTO;
	}
	if (id > K_PUBLIC_KEY && !ps->in_peer) {
		set_err(ps, "peer key %s before any public_key", q);
		return -EPROTO;
	}
	return handle_value(ps, id, eq + 1, len - kn - 1);
}

int uapi_parse_set(const char *body, size_t len, struct uapi_config *cfg,
		   char *err, size_t errlen)
{
	struct parser ps = { .cfg = cfg, .err = err, .errlen = errlen };
	const char *p = body, *end;
	int ret = 0;

	uapi_config_init(cfg);
	if (err && errlen)
		err[0] = '\0';
	if (len == 0)	/* body may then be NULL: no pointer arithmetic on it */
		return 0;
	end = body + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		ps.lineno++;
		if (eol == p) {
			/* A blank line ends a request; tolerate one at the
			 * very end, refuse one with more after it. */
			if (nl + 1 == end)
				break;
			set_err(&ps, "line %zu is blank but the request goes on", ps.lineno);
			ret = -EPROTO;
			break;
		}
		ret = handle_line(&ps, p, (size_t)(eol - p));
		if (ret)
			break;
		p = nl ? nl + 1 : end;
	}
	free(ps.index);
	if (ret)
		uapi_config_free(cfg);
	return ret;
}

/* ---- the get formatter ---- */

static void tb_key(struct textbuf *tb, const char *name, const uint8_t key[UAPI_KEY_LEN])
{
	char hex[KEY_HEX_LEN + 1];

	key_to_hex(hex, key);
	textbuf_printf(tb, "%s=%s\n", name, hex);
	explicit_bzero(hex, sizeof(hex));
}

static bool key_is_zero(const uint8_t key[UAPI_KEY_LEN])
{
	uint8_t acc = 0;

	for (size_t i = 0; i < UAPI_KEY_LEN; i++)
		acc |= key[i];
	return acc == 0;
}

int uapi_format_get(const struct uapi_config *cfg, char **out, size_t *out_len)
{
	struct textbuf tb = { 0 };
	size_t guess = 256;

	*out = NULL;
	*out_len = 0;
	/* ~330 bytes a peer plus ~50 an allowed IP: one allocation usually */
	for (size_t i = 0; i < cfg->n_peers && guess < SIZE_MAX / 4; i++)
		guess += 400 + cfg->peers[i].n_allowed_ips * 56;
	if (!textbuf_reserve(&tb, guess))
		return -ENOMEM;

	if (cfg->has_private_key && !key_is_zero(cfg->private_key))
		tb_key(&tb, "private_key", cfg->private_key);
	if (cfg->has_listen_port)
		textbuf_printf(&tb, "listen_port=%u\n", (unsigned)cfg->listen_port);
	if (cfg->fwmark)
		textbuf_printf(&tb, "fwmark=%u\n", (unsigned)cfg->fwmark);
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct uapi_peer *p = &cfg->peers[i];
		char ep[96];

		tb_key(&tb, "public_key", p->public_key);
		tb_key(&tb, "preshared_key", p->preshared_key);
		textbuf_printf(&tb, "protocol_version=1\n");
		if (p->endpoint.sa.sa_family == AF_INET ||
		    p->endpoint.sa.sa_family == AF_INET6) {
			uapi_format_endpoint(&p->endpoint, ep, sizeof(ep));
			textbuf_printf(&tb, "endpoint=%s\n", ep);
		}
		textbuf_printf(&tb, "last_handshake_time_sec=%lld\n"
			  "last_handshake_time_nsec=%lld\n"
			  "tx_bytes=%llu\nrx_bytes=%llu\n"
			  "persistent_keepalive_interval=%u\n",
			  (long long)p->last_handshake_time_sec,
			  (long long)p->last_handshake_time_nsec,
			  (unsigned long long)p->tx_bytes,
			  (unsigned long long)p->rx_bytes,
			  (unsigned)p->persistent_keepalive_interval);
		for (size_t j = 0; j < p->n_allowed_ips; j++) {
			const struct uapi_allowed_ip *a = &p->allowed_ips[j];
			char host[INET6_ADDRSTRLEN];

			if (!inet_ntop(a->family, a->addr, host, sizeof(host)))
				continue;	/* not AF_INET/AF_INET6: skip */
			textbuf_printf(&tb, "allowed_ip=%s/%u\n", host, (unsigned)a->cidr);
		}
	}
	textbuf_printf(&tb, "errno=0\n\n");

	*out = textbuf_finish(&tb, out_len);
	return *out ? 0 : -ENOMEM;
}

/* ---- the set formatter (client side) ---- */

int uapi_format_set(const struct uapi_config *cfg, char **out, size_t *out_len)
{
	struct textbuf tb = { 0 };
	size_t guess = 256;
	char buf[96];
	int ret = 0;

	*out = NULL;
	*out_len = 0;
	for (size_t i = 0; i < cfg->n_peers && guess < SIZE_MAX / 4; i++)
		guess += 300 + cfg->peers[i].n_allowed_ips * 56;
	if (!textbuf_reserve(&tb, guess))
		return -ENOMEM;

	textbuf_printf(&tb, "set=1\n");
	if (cfg->has_private_key)
		tb_key(&tb, "private_key", cfg->private_key);	/* zeros remove it */
	if (cfg->has_listen_port)
		textbuf_printf(&tb, "listen_port=%u\n", (unsigned)cfg->listen_port);
	if (cfg->has_fwmark)
		textbuf_printf(&tb, "fwmark=%u\n", (unsigned)cfg->fwmark);
	if (cfg->replace_peers)
		textbuf_printf(&tb, "replace_peers=true\n");
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct uapi_peer *p = &cfg->peers[i];

		tb_key(&tb, "public_key", p->public_key);
		if (p->remove) {
			/* the daemon ignores the rest of a removed peer's section */
			textbuf_printf(&tb, "remove=true\n");
			continue;
		}
		if (p->update_only)
			textbuf_printf(&tb, "update_only=true\n");
		if (p->has_preshared_key)
			tb_key(&tb, "preshared_key", p->preshared_key);
		if (p->has_endpoint) {
			if (p->endpoint.sa.sa_family != AF_INET &&
			    p->endpoint.sa.sa_family != AF_INET6) {
				ret = -EINVAL;
				break;
			}
			uapi_format_endpoint(&p->endpoint, buf, sizeof(buf));
			textbuf_printf(&tb, "endpoint=%s\n", buf);
		}
		if (p->has_persistent_keepalive)
			textbuf_printf(&tb, "persistent_keepalive_interval=%u\n",
				       (unsigned)p->persistent_keepalive_interval);
		/* before the list: it drops what the section gathered so far */
		if (p->replace_allowed_ips)
			textbuf_printf(&tb, "replace_allowed_ips=true\n");
		for (size_t j = 0; j < p->n_allowed_ips; j++) {
			const struct uapi_allowed_ip *a = &p->allowed_ips[j];

			if ((a->family != AF_INET || a->cidr > 32) &&
			    (a->family != AF_INET6 || a->cidr > 128)) {
				ret = -EINVAL;
				break;
			}
			if (!inet_ntop(a->family, a->addr, buf, sizeof(buf))) {
				ret = -EINVAL;
				break;
			}
			textbuf_printf(&tb, "allowed_ip=%s/%u\n", buf, (unsigned)a->cidr);
		}
		if (ret)
			break;
	}
	textbuf_printf(&tb, "\n");

	*out = textbuf_finish(&tb, out_len);	/* wipes the text on failure */
	if (ret) {
		if (*out) {
			explicit_bzero(*out, *out_len);
			free(*out);
		}
		*out = NULL;
		*out_len = 0;
		return ret;
	}
	return *out ? 0 : -ENOMEM;
}

/* ---- the get parser (client side) ---- */

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
	struct parser ps;	/* cfg, the public key index, lineno, err */
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
	set_err(&gp->ps, "line %zu: %s", gp->ps.lineno, msg);
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

	if (parse_uint(v, n, max, out))
		return 0;
	quote(q, sizeof(q), v, n);
	get_err(gp, "%s %s is not a number in 0..%llu", get_key_names[id], q,
		(unsigned long long)max);
	return -EPROTO;
}

static int get_public_key(struct get_parser *gp, const char *v, size_t n)
{
	struct parser *ps = &gp->ps;
	uint8_t key[UAPI_KEY_LEN];
	struct uapi_peer *p;
	int ret;

	if (!parse_key(v, n, key)) {
		get_err(gp, "invalid public_key");
		return -EPROTO;
	}
	if (ps->index_cap && ps->index[index_slot(ps, key)]) {
		get_err(gp, "public_key of peer %zu listed again",
			ps->index[index_slot(ps, key)]);
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
	ret = index_put(ps, ps->cur);
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

	if (!parse_uint(v + neg, n - neg, GET_ERRNO_MAX, &e)) {
		quote(q, sizeof(q), v, n);
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
		if (!parse_key(v, n, cfg->private_key)) {
			get_err(gp, "invalid private_key");	/* never quoted */
			return -EPROTO;
		}
		/* a zero key and no key both mean the device has none */
		cfg->has_private_key = !key_is_zero(cfg->private_key);
		return 0;
	case G_PRESHARED_KEY:
		if (!parse_key(v, n, p->preshared_key)) {
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
		if (!str_is(v, n, "1")) {
			quote(q, sizeof(q), v, n);
			get_err(gp, "protocol_version %s is not supported (only 1 is)", q);
			return -EPROTO;
		}
		return 0;
	case G_ENDPOINT:
		if (!copy_value(buf, sizeof(buf), v, n) ||
		    parse_endpoint(buf, &p->endpoint, &why) != 0) {
			quote(q, sizeof(q), v, n);
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
		if (!copy_value(buf, sizeof(buf), v, n) || parse_allowed_ip(buf, &a, &why) != 0) {
			quote(q, sizeof(q), v, n);
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
		quote(q, sizeof(q), line, kn);
		get_err(gp, "key %s is not a UAPI key (want [a-z0-9_]+)", q);
		return -EPROTO;
	}
	while (id < G_UNKNOWN && !str_is(line, kn, get_key_names[id]))
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
		set_err(&gp.ps, "the answer is empty (want lines ending in \"errno=N\")");
		return -EPROTO;
	}
	if (len > UAPI_GET_MAX_ANSWER) {
		set_err(&gp.ps, "the answer has %zu bytes, more than %u", len,
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
			set_err(&gp.ps, "%zu bytes follow the blank line that ends the answer",
				(size_t)(end - (p + 1)));
			ret = -EPROTO;
		} else if (gp.daemon_errno) {
			set_err(&gp.ps, "the daemon answered errno=%d (%s)", gp.daemon_errno,
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
