/*
 * render_test.c - client configs, the server export and QR codes
 * (src/control/render.c), against golden text written by hand, byte for
 * byte.  The QR drawing is read back into modules and compared with
 * libqrencode's own matrix.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "wgconf.h"
#include "test.h"

#define K1 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define K2 "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
#define K3 "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="
#define K4 "BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ="
#define K5 "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU="
#define K6 "BgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgY="
#define K7 "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="

static uint8_t server_pub[32], client_priv[32];
static struct server_record srv;
static struct peer_record peers[3];

static struct ip_prefix prefix(const char *s)
{
	struct ip_prefix p;

	if (model_parse_prefix(s, &p, false) != 0)
		abort();
	return p;
}

static void setup(void)
{
	memset(&srv, 0, sizeof(srv));
	memset(srv.private_key, 1, 32);
	memset(server_pub, 2, 32);
	memset(client_priv, 7, 32);
	srv.listen_port = 51820;
	strcpy(srv.interface, "zwg0");
	inet_pton(AF_INET, "10.13.13.1", &srv.ipv4);
	srv.ipv4_prefix = 24;
	inet_pton(AF_INET6, "fd12:3456:789a::1", &srv.ipv6);
	srv.ipv6_prefix = 64;
	srv.endpoint = strdup("vpn.example.com");
	srv.dns = strdup("10.13.13.1");
	srv.client_allowed_ips = strdup("0.0.0.0/0, ::/0");
	srv.persistent_keepalive = 25;
	srv.mtu = 1420;

	memset(peers, 0, sizeof(peers));
	strcpy(peers[0].name, "laptop");
	memset(peers[0].public_key, 3, 32);
	memset(peers[0].preshared_key, 4, 32);
	peers[0].has_preshared_key = true;
	inet_pton(AF_INET, "10.13.13.2", &peers[0].ipv4);
	inet_pton(AF_INET6, "fd12:3456:789a::2", &peers[0].ipv6);
	peers[0].has_ipv6 = true;
	peers[0].enabled = true;

	strcpy(peers[1].name, "office");
	memset(peers[1].public_key, 5, 32);
	memset(peers[1].preshared_key, 6, 32);
	peers[1].has_preshared_key = true;
	inet_pton(AF_INET, "10.13.13.3", &peers[1].ipv4);
	inet_pton(AF_INET6, "fd12:3456:789a::3", &peers[1].ipv6);
	peers[1].has_ipv6 = true;
	peers[1].routes = calloc(2, sizeof(struct ip_prefix));
	peers[1].routes[0] = prefix("192.168.1.0/24");
	peers[1].routes[1] = prefix("fd99::/64");
	peers[1].n_routes = 2;
	peers[1].persistent_keepalive = 25;
	peers[1].enabled = true;

	strcpy(peers[2].name, "old");
	memset(peers[2].public_key, 7, 32);
	inet_pton(AF_INET, "10.13.13.4", &peers[2].ipv4);
	peers[2].routes = calloc(1, sizeof(struct ip_prefix));
	peers[2].routes[0] = prefix("172.16.0.0/16");
	peers[2].n_routes = 1;
	peers[2].enabled = false;
	strcpy(peers[2].disabled_reason, "manual");
}

static void teardown(void)
{
	size_t i;

	model_server_free(&srv);
	for (i = 0; i < 3; i++)
		model_peer_free(&peers[i]);
}

static bool same(const char *got, const char *want)
{
	if (got && strcmp(got, want) == 0)
		return true;
	fprintf(stderr, "  got:\n%s\n  want:\n%s\n", got ? got : "(null)", want);
	return false;
}

static void test_client_default(void)
{
	char *c;

	setup();
	c = render_client_config(&srv, server_pub, &peers[0], client_priv, peers, 3);
	CHECK(same(c,
		"[Interface]\n"
		"PrivateKey = " K7 "\n"
		"Address = 10.13.13.2/32, fd12:3456:789a::2/128\n"
		"DNS = 10.13.13.1\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " K2 "\n"
		"PresharedKey = " K4 "\n"
		"Endpoint = vpn.example.com:51820\n"
		"AllowedIPs = 0.0.0.0/0, ::/0\n"
		"PersistentKeepalive = 25\n"));
	render_free(c);
	teardown();
}

static void test_client_site_to_site(void)
{
	char *c;

	setup();
	/* a split tunnel: the other enabled peers' subnets join the list,
	 * the disabled peer's (172.16.0.0/16) does not */
	peers[0].allowed_ips = strdup("10.13.13.0/24");
	peers[0].dns = strdup("1.1.1.1, home.lan");
	c = render_client_config(&srv, server_pub, &peers[0], client_priv, peers, 3);
	CHECK(same(c,
		"[Interface]\n"
		"PrivateKey = " K7 "\n"
		"Address = 10.13.13.2/32, fd12:3456:789a::2/128\n"
		"DNS = 1.1.1.1, home.lan\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " K2 "\n"
		"PresharedKey = " K4 "\n"
		"Endpoint = vpn.example.com:51820\n"
		"AllowedIPs = 10.13.13.0/24, 192.168.1.0/24, fd99::/64\n"
		"PersistentKeepalive = 25\n"));
	render_free(c);
	teardown();
}

static void test_client_gateway_peer(void)
{
	char *c;

	setup();
	/* the site's own subnet stays out of its config; no DNS, no server
	 * keepalive but the peer's own; an endpoint with a port is kept */
	free(srv.dns);
	srv.dns = NULL;
	srv.persistent_keepalive = 0;
	free(srv.endpoint);
	srv.endpoint = strdup("[2001:db8::7]:4500");
	free(srv.client_allowed_ips);
	srv.client_allowed_ips = strdup("10.13.13.0/24, fd12:3456:789a::/64");
	c = render_client_config(&srv, server_pub, &peers[1], client_priv, peers, 3);
	CHECK(same(c,
		"[Interface]\n"
		"PrivateKey = " K7 "\n"
		"Address = 10.13.13.3/32, fd12:3456:789a::3/128\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " K2 "\n"
		"PresharedKey = " K6 "\n"
		"Endpoint = [2001:db8::7]:4500\n"
		"AllowedIPs = 10.13.13.0/24, fd12:3456:789a::/64\n"
		"PersistentKeepalive = 25\n"));
	render_free(c);
	teardown();
}

static void test_endpoint_forms(void)
{
	static const struct { const char *in, *out; } t[] = {
		{ "203.0.113.7", "Endpoint = 203.0.113.7:51820\n" },
		{ "203.0.113.7:1234", "Endpoint = 203.0.113.7:1234\n" },
		{ "2001:db8::7", "Endpoint = [2001:db8::7]:51820\n" },
		{ "[2001:db8::7]", "Endpoint = [2001:db8::7]:51820\n" },
		{ "vpn.example.com:443", "Endpoint = vpn.example.com:443\n" },
	};
	size_t i;
	char *c;

	setup();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		free(srv.endpoint);
		srv.endpoint = strdup(t[i].in);
		c = render_client_config(&srv, server_pub, &peers[0], client_priv, peers, 1);
		CHECK(c && strstr(c, t[i].out));
		render_free(c);
	}
	free(srv.endpoint);
	srv.endpoint = NULL;
	c = render_client_config(&srv, server_pub, &peers[0], client_priv, peers, 1);
	CHECK(c && !strstr(c, "Endpoint"));
	render_free(c);
	teardown();
}

static void test_no_psk_no_ipv6(void)
{
	char *c;

	setup();
	peers[0].has_preshared_key = false;
	peers[0].has_ipv6 = false;
	c = render_client_config(&srv, server_pub, &peers[0], client_priv, peers, 1);
	CHECK(c && strstr(c, "Address = 10.13.13.2/32\n"));
	CHECK(c && !strstr(c, "PresharedKey"));
	render_free(c);
	teardown();
}

static const char export_golden[] =
	"# zerowg server zwg0: a wg-quick config (zerowg export)\n"
	"[Interface]\n"
	"PrivateKey = " K1 "\n"
	"ListenPort = 51820\n"
	"Address = 10.13.13.1/24, fd12:3456:789a::1/64\n"
	"MTU = 1420\n"
	"\n"
	"# Name = laptop\n"
	"[Peer]\n"
	"PublicKey = " K3 "\n"
	"PresharedKey = " K4 "\n"
	"AllowedIPs = 10.13.13.2/32, fd12:3456:789a::2/128\n"
	"\n"
	"# Name = office\n"
	"[Peer]\n"
	"PublicKey = " K5 "\n"
	"PresharedKey = " K6 "\n"
	"AllowedIPs = 10.13.13.3/32, fd12:3456:789a::3/128, 192.168.1.0/24, fd99::/64\n"
	"PersistentKeepalive = 25\n";

static void test_export(void)
{
	char *c;

	setup();
	c = render_server_export(&srv, peers, 3);
	CHECK(same(c, export_golden));
	render_free(c);
	teardown();
}

static void test_export_parses_back(void)
{
	struct wgconf w;
	struct control_error e;
	char *c;

	setup();
	c = render_server_export(&srv, peers, 3);
	CHECK_INT(wgconf_parse(c, strlen(c), &w, &e), 0);
	CHECK(w.has_private_key && memcmp(w.private_key, srv.private_key, 32) == 0);
	CHECK_INT(w.listen_port, 51820);
	CHECK_INT(w.mtu, 1420);
	CHECK_INT(w.n_addresses, 2);
	CHECK_INT(w.n_peers, 2);
	CHECK_INT(w.n_warnings, 0);
	if (w.n_peers == 2) {
		CHECK(w.peers[0].name && strcmp(w.peers[0].name, "laptop") == 0);
		CHECK(w.peers[1].name && strcmp(w.peers[1].name, "office") == 0);
		CHECK_MEM(w.peers[1].public_key, peers[1].public_key, 32);
		CHECK_MEM(w.peers[1].preshared_key, peers[1].preshared_key, 32);
		CHECK_INT(w.peers[1].n_allowed_ips, 4);
		CHECK_INT(w.peers[1].persistent_keepalive, 25);
	}
	wgconf_free(&w);
	render_free(c);
	teardown();
}

/* Reads a drawing back into a light/dark matrix of size x size. */
static bool read_drawing(const char *s, int size, unsigned char *light)
{
	int x = 0, y = 0;

	while (*s) {
		bool top, bottom;

		if (*s == '\n') {
			if (x != size)
				return false;
			x = 0;
			y += 2;
			s++;
			continue;
		}
		if (!strncmp(s, "\xe2\x96\x88", 3)) {
			top = bottom = true;
			s += 3;
		} else if (!strncmp(s, "\xe2\x96\x80", 3)) {
			top = true, bottom = false;
			s += 3;
		} else if (!strncmp(s, "\xe2\x96\x84", 3)) {
			top = false, bottom = true;
			s += 3;
		} else if (*s == ' ') {
			top = bottom = false;
			s++;
		} else {
			return false;	/* another character */
		}
		if (x >= size || y >= size)
			return false;
		light[y * size + x] = top;
		if (y + 1 < size)
			light[(y + 1) * size + x] = bottom;
		else if (bottom)
			return false;	/* nothing is drawn below the last row */
		x++;
	}
	return x == 0 && y == (size + 1) / 2 * 2;
}

static void check_qr(const char *text)
{
	QRcode *ref = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	char *q = render_qr(text);
	int w = render_qr_width(text), size = w + 2 * RENDER_QR_MARGIN, x, y;
	unsigned char *light = calloc((size_t)size * (size_t)size, 1);
	size_t rows = 0;
	const char *s;

	CHECK(ref && q && light);
	if (!ref || !q || !light)
		goto out;
	CHECK_INT(w, ref->width);
	for (s = q; *s; s++)
		rows += *s == '\n';
	CHECK_INT(rows, (size_t)(size + 1) / 2);
	CHECK(read_drawing(q, size, light));
	for (y = 0; y < size; y++)
		for (x = 0; x < size; x++) {
			int mx = x - RENDER_QR_MARGIN, my = y - RENDER_QR_MARGIN;
			bool want = !(mx >= 0 && my >= 0 && mx < w && my < w &&
				      (ref->data[my * w + mx] & 1));
			if (light[y * size + x] != want) {
				CHECK(light[y * size + x] == want);
				goto out;
			}
		}
out:
	free(light);
	render_free(q);
	if (ref)
		QRcode_free(ref);
}

static void test_qr(void)
{
	char *c;

	check_qr("hello");
	CHECK_INT(render_qr_width("hello"), 21);	/* version 1 */
	setup();
	c = render_client_config(&srv, server_pub, &peers[0], client_priv, peers, 3);
	check_qr(c);
	render_free(c);
	teardown();
}

static void test_qr_too_long(void)
{
	char *big = malloc(4000);
	char *q;

	memset(big, 'x', 3999);
	big[3999] = '\0';
	errno = 0;
	q = render_qr(big);
	CHECK(q == NULL);
	CHECK_INT(errno, ERANGE);
	free(big);
}

int main(void)
{
	RUN(test_client_default);
	RUN(test_client_site_to_site);
	RUN(test_client_gateway_peer);
	RUN(test_endpoint_forms);
	RUN(test_no_psk_no_ipv6);
	RUN(test_export);
	RUN(test_export_parses_back);
	RUN(test_qr);
	RUN(test_qr_too_long);
	TEST_EXIT();
}
