/*
 * render.h - text made from the records: a client's wg-quick config, the
 * server's wg-quick config (`zerowg export`), and a terminal QR code of a
 * text (libqrencode, UTF-8 half blocks: two module rows per character row).
 *
 * Every string returned is malloc'd memory that may hold keys: release it
 * with render_free(), which wipes it.  Functions return NULL with errno
 * (ENOMEM; ERANGE when a text is too long for a QR code).
 */
#ifndef ZWG_RENDER_H
#define ZWG_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/*
 * The client's config:
 *   [Interface] PrivateKey, Address (v4/32, v6/128), DNS (peer's override,
 *   else the server's; omitted if none)
 *   [Peer] PublicKey (the server's), PresharedKey, Endpoint (the server's;
 *   its port defaults to listen_port; omitted if the server has none),
 *   AllowedIPs (the peer's override, else the server's client_allowed_ips,
 *   plus the routes of the other enabled peers that the list does not
 *   already cover: site-to-site), PersistentKeepalive (the peer's, else
 *   the server's; omitted if 0).
 * peers/n_peers are all peers (the one rendered may be among them).
 */
char *render_client_config(const struct server_record *srv,
			   const uint8_t server_public_key[MODEL_KEY_LEN],
			   const struct peer_record *peer,
			   const uint8_t client_private_key[MODEL_KEY_LEN],
			   const struct peer_record *peers, size_t n_peers);

/*
 * The server's wg-quick config: [Interface] PrivateKey, ListenPort,
 * Address (v4/prefix, v6/prefix), MTU; then for each enabled peer a
 * "# Name = NAME" line and [Peer] PublicKey, PresharedKey, AllowedIPs
 * (v4/32, v6/128, routes), PersistentKeepalive if set.  `zerowg import`
 * reads it back.
 */
char *render_server_export(const struct server_record *srv,
			   const struct peer_record *peers, size_t n_peers);

/* Quiet zone of the terminal QR code, in modules. */
#define RENDER_QR_MARGIN 4
/*
 * A QR code of text (8-bit mode, error correction L) for a terminal with
 * a dark background: light modules (and the quiet zone) are drawn, using
 * U+2588 FULL BLOCK, U+2580 UPPER HALF, U+2584 LOWER HALF and spaces, each
 * row ended by '\n'.  For a symbol of w modules: (w + 2*margin) columns
 * and ceil((w + 2*margin) / 2) rows.
 */
char *render_qr(const char *text);
/* Width in modules of the symbol render_qr would draw (without margin),
 * or -1 with errno. */
int render_qr_width(const char *text);

/*
 * The same QR code as an SVG document for a web page (an <img> of a
 * data: URL, never inline HTML): a white square of (w + 2*margin) units
 * and one <path> of the dark modules, shape-rendering crispEdges.  It
 * encodes text (a private key, in a client config): render_free() it.
 */
char *render_qr_svg(const char *text);

void render_free(char *s);

#endif
