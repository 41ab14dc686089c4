/*
 * uapi_format.c - a struct uapi_config as text: the "get" answer the daemon
 * sends (uapi_format_get), and the "set" request a client sends to drive
 * another daemon as wg(8) does (uapi_format_set, the inverse of
 * uapi_parse_set).  A config read by uapi_parse_get reformats with
 * uapi_format_get to a canonical answer that parses to the same config.
 *
 * Relies on: textbuf.h (the growing buffer, wiped on failure), encoding.h
 * (hex keys), uapi.c (endpoints).  The text holds keys: callers wipe it.
 */
#include "uapi.h"
#include "uapi_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "textbuf.h"

static void tb_key(struct textbuf *tb, const char *name, const uint8_t key[UAPI_KEY_LEN])
{
	char hex[KEY_HEX_LEN + 1];

	key_to_hex(hex, key);
	textbuf_printf(tb, "%s=%s\n", name, hex);
	explicit_bzero(hex, sizeof(hex));
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

	if (cfg->has_private_key && !uapi_key_is_zero(cfg->private_key))
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
