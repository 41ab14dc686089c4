/*
 * uapi_set.c - the daemon side of a "set" request: its body parsed into a
 * struct uapi_config.  The semantics follow wireguard-go's device/uapi.go,
 * except that the whole request is parsed and validated before the device
 * applies any of it.
 *
 * Relies on: uapi.c (the config and the value parsers), uapi_parser.c
 * (error messages, the public key index).
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
 */
#include "uapi.h"
#include "uapi_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

static void err_value(struct uapi_parser *ps, const char *key, const char *v, size_t n,
		      const char *why)
{
	char q[QUOTED_CAP];

	uapi_quote(q, sizeof(q), v, n);
	if (why)
		uapi_parser_err(ps, "%s %s %s", key, q, why);
	else
		uapi_parser_err(ps, "invalid %s %s", key, q);
}

static int handle_public_key(struct uapi_parser *ps, const char *v, size_t n)
{
	uint8_t key[UAPI_KEY_LEN];
	struct uapi_peer *p;
	size_t slot;
	int ret;

	if (!uapi_parse_key(v, n, key)) {
		uapi_parser_err(ps, "invalid public_key");
		return -EINVAL;
	}
	ps->in_peer = true;
	ps->dummy = false;
	if (ps->index_cap) {
		slot = uapi_index_slot(ps, key);
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
		uapi_parser_err(ps, "out of memory");
		return -ENOMEM;
	}
	memcpy(p->public_key, key, UAPI_KEY_LEN);
	ps->cur = ps->cfg->n_peers - 1;
	ps->continued = false;
	ret = uapi_index_put(ps, ps->cur);
	if (ret)
		uapi_parser_err(ps, "out of memory");
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
static int handle_value(struct uapi_parser *ps, enum uapi_key id, const char *v, size_t n)
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
		if (!uapi_parse_key(v, n, id == K_PRIVATE_KEY ? cfg->private_key : p->preshared_key)) {
			uapi_parser_err(ps, "invalid %s", name);	/* never quoted */
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
		if (!uapi_parse_uint(v, n, id == K_FWMARK ? UINT32_MAX : 65535, &num)) {
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
		if (!uapi_str_is(v, n, "true")) {
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
		if (!uapi_copy_value(buf, sizeof(buf), v, n) ||
		    uapi_parse_endpoint_why(buf, &p->endpoint, &why) != 0) {
			err_value(ps, name, v, n, why);
			goto out;
		}
		p->has_endpoint = true;
		break;
	case K_ALLOWED_IP:
		if (!uapi_copy_value(buf, sizeof(buf), v, n) ||
		    uapi_parse_allowed_ip_why(buf, &a, &why) != 0) {
			err_value(ps, name, v, n, why ? why : "is not an address");
			goto out;
		}
		if (!use_scratch && uapi_peer_add_allowed_ip(p, a.family, a.addr, a.cidr)) {
			uapi_parser_err(ps, "out of memory");
			ret = -ENOMEM;
			goto out;
		}
		break;
	case K_PROTOCOL_VERSION:
		if (!uapi_str_is(v, n, "1")) {
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

static int handle_line(struct uapi_parser *ps, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	enum uapi_key id = 0;
	size_t kn;
	char q[QUOTED_CAP];

	if (!eq) {
		/* not quoted: it might be a key someone pasted */
		uapi_parser_err(ps, "line %zu has no '=' (want key=value)", ps->lineno);
		return -EPROTO;
	}
	kn = (size_t)(eq - line);
	while (id < K_UNKNOWN && !uapi_str_is(line, kn, key_names[id]))
		id++;
	if (id == K_PUBLIC_KEY)
		return handle_public_key(ps, eq + 1, len - kn - 1);
	uapi_quote(q, sizeof(q), line, kn);
	if (id == K_UNKNOWN) {
		uapi_parser_err(ps, "unknown key %s", q);
		return -EPROTO;
	}
	if (id < K_PUBLIC_KEY && ps->in_peer) {
		uapi_parser_err(ps, "device key %s after a peer's public_key", q);
		return -EPROTO;
	}
	if (id > K_PUBLIC_KEY && !ps->in_peer) {
		uapi_parser_err(ps, "peer key %s before any public_key", q);
		return -EPROTO;
	}
	return handle_value(ps, id, eq + 1, len - kn - 1);
}

int uapi_parse_set(const char *body, size_t len, struct uapi_config *cfg,
		   char *err, size_t errlen)
{
	struct uapi_parser ps = { .cfg = cfg, .err = err, .errlen = errlen };
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
			uapi_parser_err(&ps, "line %zu is blank but the request goes on", ps.lineno);
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
