/*
 * render.c - client configs, the server export and terminal QR codes
 * (render.h).
 *
 * The texts hold private and preshared keys, so they are built in a
 * buffer that never leaves a copy behind: growing it copies into a new
 * block and wipes the old one (realloc could leave the old bytes in freed
 * memory).
 *
 * The QR code comes from libqrencode, which has no allocator hook and
 * keeps what it makes in its own malloc'd buffers: the QRinput copy of the
 * text (the config's own bytes, private key included), the bit stream, the
 * data and ECC codewords, the frame and the eight masked candidate frames,
 * all freed with plain free().  The programs that render - zerowg and
 * zerowg-server - link src/common/wipefree.c, whose free() wipes every
 * block (junk on free, as OpenBSD's malloc), so none of those copies
 * outlives the call (tests/unit/wipefree_test.c scans the heap for the
 * key).  The result, the module matrix (QRcode->data), encodes the same
 * keys and is wiped here before QRcode_free, whatever the program links.
 * See docs/server.md, "Keys in memory".
 */
#include "render.h"

#include <arpa/inet.h>
#include <errno.h>
#include <qrencode.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "encoding.h"
#include "textbuf.h"

static void text_key(struct textbuf *t, const char *label, const uint8_t key[MODEL_KEY_LEN])
{
	char b64[KEY_BASE64_LEN + 1];

	key_to_base64(b64, key);
	textbuf_printf(t, "%s = %s\n", label, b64);
	explicit_bzero(b64, sizeof(b64));
}

void render_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* The endpoint with a port: "host" -> "host:port", a bare IPv6 address ->
 * "[addr]:port". */
static void endpoint_with_port(const char *ep, uint16_t port, char *buf, size_t len)
{
	const char *colon = strchr(ep, ':');

	if (ep[0] == '[')
		snprintf(buf, len, strstr(ep, "]:") ? "%s" : "%s:%u", ep, port);
	else if (!colon)
		snprintf(buf, len, "%s:%u", ep, port);
	else if (strchr(colon + 1, ':'))
		snprintf(buf, len, "[%s]:%u", ep, port);
	else
		snprintf(buf, len, "%s", ep);
}

static void text_prefixes(struct textbuf *t, const struct ip_prefix *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char b[MODEL_PREFIX_STRLEN];
		model_format_prefix(&p[i], b, sizeof(b));
		textbuf_printf(t, "%s%s", i ? ", " : "", b);
	}
}

static bool covered(const struct ip_prefix *list, size_t n, const struct ip_prefix *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (model_prefix_contains(&list[i], p))
			return true;
	return false;
}

char *render_client_config(const struct server_record *srv,
			   const uint8_t server_public_key[MODEL_KEY_LEN],
			   const struct peer_record *peer,
			   const uint8_t client_private_key[MODEL_KEY_LEN],
			   const struct peer_record *peers, size_t n_peers)
{
	struct textbuf t = { 0 };
	struct ip_prefix *allowed = NULL;
	size_t n_allowed = 0, i, j;
	const char *dns = peer->dns ? peer->dns : srv->dns;
	const char *base = peer->allowed_ips ? peer->allowed_ips :
			   srv->client_allowed_ips ? srv->client_allowed_ips :
			   MODEL_DEFAULT_CLIENT_ALLOWED_IPS;
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	uint16_t keepalive;

	if (model_parse_prefix_list(base, NULL, "allowed_ips", false, &allowed, &n_allowed, NULL)) {
		errno = EINVAL;
		return NULL;
	}
	/* Site-to-site: the subnets behind the other peers go through the
	 * tunnel too, unless the list already covers them. */
	for (i = 0; i < n_peers; i++) {
		if (!peers[i].enabled || strcmp(peers[i].name, peer->name) == 0)
			continue;
		for (j = 0; j < peers[i].n_routes; j++) {
			struct ip_prefix *grown;

			if (covered(allowed, n_allowed, &peers[i].routes[j]))
				continue;
			grown = realloc(allowed, (n_allowed + 1) * sizeof(*allowed));
			if (!grown) {
				free(allowed);
				errno = ENOMEM;
				return NULL;
			}
			allowed = grown;
			allowed[n_allowed++] = peers[i].routes[j];
		}
	}

	textbuf_printf(&t, "[Interface]\n");
	text_key(&t, "PrivateKey", client_private_key);
	inet_ntop(AF_INET, &peer->ipv4, a4, sizeof(a4));
	textbuf_printf(&t, "Address = %s/32", a4);
	if (peer->has_ipv6) {
		inet_ntop(AF_INET6, &peer->ipv6, a6, sizeof(a6));
		textbuf_printf(&t, ", %s/128", a6);
	}
	textbuf_printf(&t, "\n");
	if (dns)
		textbuf_printf(&t, "DNS = %s\n", dns);
	textbuf_printf(&t, "\n[Peer]\n");
	text_key(&t, "PublicKey", server_public_key);
	if (peer->has_preshared_key)
		text_key(&t, "PresharedKey", peer->preshared_key);
	if (srv->endpoint) {
		char ep[320];
		endpoint_with_port(srv->endpoint, srv->listen_port, ep, sizeof(ep));
		textbuf_printf(&t, "Endpoint = %s\n", ep);
	}
	textbuf_printf(&t, "AllowedIPs = ");
	text_prefixes(&t, allowed, n_allowed);
	textbuf_printf(&t, "\n");
	keepalive = peer->persistent_keepalive ? peer->persistent_keepalive : srv->persistent_keepalive;
	if (keepalive)
		textbuf_printf(&t, "PersistentKeepalive = %u\n", keepalive);
	free(allowed);
	return textbuf_finish(&t, NULL);
}

char *render_server_export(const struct server_record *srv,
			   const struct peer_record *peers, size_t n_peers)
{
	struct textbuf t = { 0 };
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	size_t i;

	textbuf_printf(&t, "# zerowg server %s: a wg-quick config (zerowg export)\n", srv->interface);
	textbuf_printf(&t, "[Interface]\n");
	text_key(&t, "PrivateKey", srv->private_key);
	textbuf_printf(&t, "ListenPort = %u\n", srv->listen_port);
	inet_ntop(AF_INET, &srv->ipv4, a4, sizeof(a4));
	inet_ntop(AF_INET6, &srv->ipv6, a6, sizeof(a6));
	textbuf_printf(&t, "Address = %s/%u, %s/%u\n", a4, srv->ipv4_prefix, a6, srv->ipv6_prefix);
	textbuf_printf(&t, "MTU = %u\n", srv->mtu);
	for (i = 0; i < n_peers; i++) {
		const struct peer_record *p = &peers[i];

		if (!p->enabled)
			continue;
		textbuf_printf(&t, "\n# Name = %s\n[Peer]\n", p->name);
		text_key(&t, "PublicKey", p->public_key);
		if (p->has_preshared_key)
			text_key(&t, "PresharedKey", p->preshared_key);
		inet_ntop(AF_INET, &p->ipv4, a4, sizeof(a4));
		textbuf_printf(&t, "AllowedIPs = %s/32", a4);
		if (p->has_ipv6) {
			inet_ntop(AF_INET6, &p->ipv6, a6, sizeof(a6));
			textbuf_printf(&t, ", %s/128", a6);
		}
		if (p->n_routes) {
			textbuf_printf(&t, ", ");
			text_prefixes(&t, p->routes, p->n_routes);
		}
		textbuf_printf(&t, "\n");
		if (p->persistent_keepalive)
			textbuf_printf(&t, "PersistentKeepalive = %u\n", p->persistent_keepalive);
	}
	return textbuf_finish(&t, NULL);
}

static QRcode *encode_qr(const char *text)
{
	QRcode *qr;

	errno = 0;
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	if (!qr && errno == 0)
		errno = ERANGE;
	return qr;
}

#ifdef ZWG_TESTING
/* Test builds: sees the module matrix after the wipe, before QRcode_free. */
void (*render_test_qr_wiped)(const unsigned char *data, size_t len);
#endif

static void qr_free(QRcode *qr)
{
	size_t len = (size_t)qr->width * (size_t)qr->width;

	explicit_bzero(qr->data, len);
#ifdef ZWG_TESTING
	if (render_test_qr_wiped)
		render_test_qr_wiped(qr->data, len);
#endif
	QRcode_free(qr);
}

int render_qr_width(const char *text)
{
	QRcode *qr = encode_qr(text);
	int w;

	if (!qr)
		return -1;
	w = qr->width;
	qr_free(qr);
	return w;
}

char *render_qr(const char *text)
{
	static const char full[] = "\xe2\x96\x88", upper[] = "\xe2\x96\x80", lower[] = "\xe2\x96\x84";
	QRcode *qr = encode_qr(text);
	int w, size, x, y;
	char *out, *o;

	if (!qr)
		return NULL;
	w = qr->width;
	size = w + 2 * RENDER_QR_MARGIN;
	out = malloc((size_t)(size + 1) / 2 * ((size_t)size * 3 + 1) + 1);
	if (!out) {
		qr_free(qr);
		errno = ENOMEM;
		return NULL;
	}
	o = out;
	for (y = 0; y < size; y += 2) {
		for (x = 0; x < size; x++) {
			/* light = the quiet zone or a light module; below the
			 * last row is the terminal's (dark) background */
			int mx = x - RENDER_QR_MARGIN, my = y - RENDER_QR_MARGIN;
			bool in_x = mx >= 0 && mx < w;
			bool top = !(in_x && my >= 0 && my < w && (qr->data[my * w + mx] & 1));
			bool bottom = y + 1 < size &&
				      !(in_x && my + 1 >= 0 && my + 1 < w &&
					(qr->data[(my + 1) * w + mx] & 1));
			const char *c = top && bottom ? full : top ? upper : bottom ? lower : " ";

			memcpy(o, c, strlen(c));
			o += strlen(c);
		}
		*o++ = '\n';
	}
	*o = '\0';
	qr_free(qr);
	return out;
}

/*
 * The SVG: one <path> of the dark modules, a run of dark modules in a row
 * as one "M x y h n v1 h -n z" rectangle, so a 57-module symbol stays a
 * few kilobytes.  The quiet zone is inside the viewBox, on a white
 * <rect>, so the code scans on a dark page too.
 */
char *render_qr_svg(const char *text)
{
	QRcode *qr = encode_qr(text);
	struct textbuf t = { 0 };
	int w, size;

	if (!qr)
		return NULL;
	w = qr->width;
	size = w + 2 * RENDER_QR_MARGIN;
	textbuf_printf(&t, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		       "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" "
		       "fill=\"#fff\"/><path fill=\"#000\" d=\"", size, size, size, size);
	for (int y = 0; y < w; y++) {
		for (int x = 0; x < w;) {
			int run = 0;

			while (x + run < w && (qr->data[y * w + x + run] & 1))
				run++;
			if (run) {
				textbuf_printf(&t, "M%d %dh%dv1h-%dz", x + RENDER_QR_MARGIN,
					       y + RENDER_QR_MARGIN, run, run);
				x += run;
			} else {
				x++;
			}
		}
	}
	textbuf_printf(&t, "\"/></svg>\n");
	qr_free(qr);
	return textbuf_finish(&t, NULL);
}
