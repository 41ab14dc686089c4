/*
 * model.c - the server and peer records (model.h): text forms of
 * addresses and times, validation with messages for a person, copies and
 * wiping.  The JSON half of model.h is model_json.c.
 *
 * Every message quotes user text through model_quote(), which refuses to
 * show anything that may be a key pasted in the wrong place.
 */
#include "model.h"
#include "model_internal.h"
#include "firewall_rule.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "crypto.h"

void control_error_clear(struct control_error *e)
{
	if (e) {
		e->msg[0] = '\0';
		e->field[0] = '\0';
	}
}

void control_error_set(struct control_error *e, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
}

bool model_may_hold_key(const char *s)
{
	size_t run = 0;

	for (; *s; s++) {
		if (isalnum((unsigned char)*s) || *s == '+' || *s == '/' || *s == '=') {
			if (++run >= 40)
				return true;
		} else {
			run = 0;
		}
	}
	return false;
}

/* Quoting user text in a message: cut long input, escape what is not
 * printable ASCII the way C writes it ("1.1.1.1\nPostUp", "vpn\r",
 * "\x1b[2J"; a quote or backslash gets its backslash too), so the person
 * sees exactly what was given and a terminal or log line is never
 * steered by it, and never show what may be a key pasted in the wrong
 * place. */
const char *model_quote(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, j = 0;

	if (len == 0)
		return buf;
	if (model_may_hold_key(s)) {
		snprintf(buf, len, "(not shown: it may be a key)");
		return buf;
	}
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[5];
		size_t n;

		if (c == '\n' || c == '\r' || c == '\t' || c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : (char)c;
			n = 2;
		} else if (c < 0x20 || c >= 0x7f) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			n = 4;
		} else {
			esc[0] = (char)c;
			n = 1;
		}
		/* Room for this, "..." and the NUL, or cut here. */
		if (j + n + 4 > len)
			break;
		memcpy(buf + j, esc, n);
		j += n;
	}
	if (s[i] && j + 4 <= len) {
		memcpy(buf + j, "...", 3);
		j += 3;
	}
	buf[j < len ? j : len - 1] = '\0';
	return buf;
}

/*
 * Text that a client config takes on one line (DNS, AllowedIPs, the
 * endpoint): a control character there, above all a newline, would start
 * a line of its own ("1.1.1.1\nPostUp = ...", "\n[Peer]"), so none is
 * accepted, not even a tab.  Lists are separated with commas or spaces.
 */
static bool one_line(const char *text, const char *what, const char *field, bool list,
		     struct control_error *e)
{
	char q[96];

	for (const char *p = text; *p; p++) {
		if (!iscntrl((unsigned char)*p))
			continue;
		control_error_set(e, field, "%s%s%s \"%s\" has a control character (%s): a "
				  "client config takes it on one line%s", what ? what : "",
				  what ? ": " : "", field, model_quote(text, q, sizeof(q)),
				  *p == '\n' ? "a newline" : *p == '\r' ? "a carriage return" :
				  *p == '\t' ? "a tab" : "not printable",
				  list ? "; separate the entries with commas (1.1.1.1, 8.8.8.8)" : "");
		return false;
	}
	return true;
}

bool model_name_valid(const char *name, struct control_error *e)
{
	char q[80];
	size_t i, len = name ? strlen(name) : 0;

	if (len == 0) {
		control_error_set(e, "name", "the peer name is empty (use 1 to %d of A-Z a-z 0-9 . _ -)",
				  MODEL_NAME_MAX);
		return false;
	}
	if (len > MODEL_NAME_MAX) {
		control_error_set(e, "name", "peer name \"%s\" is longer than %d characters",
				  model_quote(name, q, sizeof(q)), MODEL_NAME_MAX);
		return false;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-') {
			control_error_set(e, "name", "peer name \"%s\" has the character '%c' "
					  "(use only A-Z a-z 0-9 . _ -)", model_quote(name, q, sizeof(q)),
					  isprint(c) ? c : '?');
			return false;
		}
	}
	if (name[0] == '.' || name[0] == '-') {
		control_error_set(e, "name", "peer name \"%s\" starts with '%c' (start with a letter, "
				  "digit or '_')", model_quote(name, q, sizeof(q)), name[0]);
		return false;
	}
	return true;
}

/* ---- addresses and prefixes ---- */

int model_max_len(int family)
{
	return family == AF_INET ? 32 : 128;
}

void model_prefix_mask(struct ip_prefix *p)
{
	int bytes = p->family == AF_INET ? 4 : 16;
	int i;

	for (i = 0; i < bytes; i++) {
		int bits = (int)p->len - i * 8;
		if (bits >= 8)
			continue;
		p->addr.bytes[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

int model_parse_prefix(const char *text, struct ip_prefix *out, bool allow_host_bits)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	struct ip_prefix p, masked;

	memset(&p, 0, sizeof(p));
	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, &p.addr.v4) == 1)
		p.family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &p.addr.v6) == 1)
		p.family = AF_INET6;
	else
		return -EINVAL;
	p.len = (uint8_t)model_max_len(p.family);
	if (slash) {
		const char *d = slash + 1;
		unsigned v = 0;
		size_t n = 0;

		for (; d[n]; n++) {
			if (!isdigit((unsigned char)d[n]) || n >= 3)
				return -EINVAL;
			v = v * 10 + (unsigned)(d[n] - '0');
		}
		if (n == 0 || (n > 1 && d[0] == '0') || v > (unsigned)model_max_len(p.family))
			return -EINVAL;
		p.len = (uint8_t)v;
	}
	masked = p;
	model_prefix_mask(&masked);
	if (!allow_host_bits && memcmp(&masked, &p, sizeof(p)) != 0) {
		*out = p;
		return -EDOM;
	}
	*out = p;
	return 0;
}

void model_format_prefix(const struct ip_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, &p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, p->len);
}

bool model_prefix_contains(const struct ip_prefix *outer, const struct ip_prefix *inner)
{
	struct ip_prefix t;

	if (outer->family != inner->family || inner->len < outer->len)
		return false;
	t = *inner;
	t.len = outer->len;
	model_prefix_mask(&t);
	struct ip_prefix o = *outer;
	model_prefix_mask(&o);
	return memcmp(&t.addr, &o.addr, sizeof(t.addr)) == 0;
}

bool model_prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       memcmp(&a->addr, &b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

/* Sets e for a prefix that failed to parse with code ret. */
void model_prefix_error(struct control_error *e, const char *what, const char *field,
			 const char *text, int ret, const struct ip_prefix *p)
{
	char q[96], net[MODEL_PREFIX_STRLEN];

	if (ret == -EDOM) {
		struct ip_prefix m = *p;
		model_prefix_mask(&m);
		model_format_prefix(&m, net, sizeof(net));
		control_error_set(e, field, "%s%s%s \"%s\" has host bits set (did you mean \"%s\"?)",
				  what ? what : "", what ? ": " : "", field,
				  model_quote(text, q, sizeof(q)), net);
	} else {
		control_error_set(e, field, "%s%s%s \"%s\" is not a prefix (write it as "
				  "10.0.0.0/24 or fd00::/64)", what ? what : "", what ? ": " : "",
				  field, model_quote(text, q, sizeof(q)));
	}
}

int model_parse_prefix_list(const char *text, const char *what, const char *field,
			    bool allow_host_bits, struct ip_prefix **out, size_t *n,
			    struct control_error *e)
{
	const char *s = text;
	size_t start_n = *n;
	char item[INET6_ADDRSTRLEN + 8];

	while (*s) {
		size_t len;
		struct ip_prefix p;
		int ret;

		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		len = strcspn(s, ", \t\r\n");
		if (len >= sizeof(item)) {
			/* not quoted: a pasted key would be this long */
			control_error_set(e, field, "%s%s%s has an entry of %zu characters, too long "
					  "for a prefix", what ? what : "", what ? ": " : "", field, len);
			goto fail;
		}
		memcpy(item, s, len);
		item[len] = '\0';
		s += len;
		ret = model_parse_prefix(item, &p, allow_host_bits);
		if (ret == -EDOM && allow_host_bits)
			ret = 0;
		if (ret) {
			model_prefix_error(e, what, field, item, ret, &p);
			goto fail;
		}
		if (!allow_host_bits)
			model_prefix_mask(&p);
		{
			struct ip_prefix *grown = realloc(*out, (*n + 1) * sizeof(**out));
			if (!grown) {
				control_error_set(e, field, "out of memory");
				*n = start_n;
				if (start_n == 0) {
					free(*out);
					*out = NULL;
				}
				return -ENOMEM;
			}
			*out = grown;
			(*out)[(*n)++] = p;
		}
	}
	if (*n == start_n) {
		control_error_set(e, field, "%s%s%s is empty (give a list such as \"0.0.0.0/0, ::/0\")",
				  what ? what : "", what ? ": " : "", field);
		return -EINVAL;
	}
	return 0;
fail:
	*n = start_n;
	if (start_n == 0) {	/* nothing of the caller's: release it all */
		free(*out);
		*out = NULL;
	}
	return -EINVAL;
}

char *model_format_prefix_list(const struct ip_prefix *p, size_t n)
{
	size_t cap = n * (MODEL_PREFIX_STRLEN + 2) + 1, used = 0, i;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < n; i++) {
		char b[MODEL_PREFIX_STRLEN];
		model_format_prefix(&p[i], b, sizeof(b));
		used += (size_t)snprintf(s + used, cap - used, "%s%s", i ? ", " : "", b);
	}
	return s;
}

/* ---- times ---- */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* timegm of a broken-down UTC time, false if a field is out of range. */
static bool utc_time(int y, int mo, int d, int h, int mi, int sec, int64_t *out)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = sec };
	time_t t;

	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return false;
	t = timegm(&tm);
	/* timegm normalises 2025-02-30 to March: refuse that. */
	if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1)
		return false;
	*out = (int64_t)t;
	return true;
}

int model_parse_expires(const char *text, int64_t now, int64_t *out, struct control_error *e)
{
	char q[80];
	int64_t t = 0;
	size_t len = strlen(text);
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;

	if (strcasecmp(text, "never") == 0 || strcmp(text, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (all_digits(text)) {
		if (len > 12)
			goto bad;
		t = strtoll(text, NULL, 10);
	} else if (len >= 2 && isdigit((unsigned char)text[0]) &&
		   strchr("smhdw", text[len - 1]) && len <= 10) {
		char num[16];
		int64_t unit, v;

		memcpy(num, text, len - 1);
		num[len - 1] = '\0';
		if (!all_digits(num))
			goto bad;
		v = strtoll(num, NULL, 10);
		switch (text[len - 1]) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: unit = 7 * 86400; break;
		}
		if (v <= 0 || v > INT64_C(100) * 366 * 86400 / unit) {
			control_error_set(e, "expires", "expires \"%s\" is not a duration from now "
					  "between 1s and 100 years", model_quote(text, q, sizeof(q)));
			return -EINVAL;
		}
		t = now + v * unit;
	} else if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && (size_t)n == len) {
		if (!utc_time(y, mo, d, 0, 0, 0, &t))
			goto bad;
	} else {
		char sep;
		int n2 = 0;

		n = 0;
		if (sscanf(text, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &n) != 6 ||
		    (sep != 'T' && sep != ' '))
			goto bad;
		if (text[n] == ':' && sscanf(text + n, ":%2d%n", &sec, &n2) == 1)
			n += n2;
		if (text[n] == 'Z')
			n++;
		if ((size_t)n != len || !utc_time(y, mo, d, h, mi, sec, &t))
			goto bad;
	}
	if (t <= now) {
		control_error_set(e, "expires", "expires \"%s\" is in the past (give a future date, "
				  "a duration such as 30d, or never)", model_quote(text, q, sizeof(q)));
		return -EINVAL;
	}
	*out = t;
	return 0;
bad:
	control_error_set(e, "expires", "expires \"%s\" is not a time (use never, a duration such "
			  "as 12h, 30d or 2w, a date 2025-12-31, 2025-12-31T18:00Z, or unix seconds)",
			  model_quote(text, q, sizeof(q)));
	return -EINVAL;
}

/* ---- endpoint, DNS ---- */

static bool hostname_valid(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

static bool port_valid(const char *s)
{
	return all_digits(s) && strlen(s) <= 5 && s[0] != '0' && atoi(s) <= 65535;
}

bool model_endpoint_valid(const char *text, struct control_error *e)
{
	char q[96], host[300];
	const char *colon;
	struct in6_addr a6;

	if (!one_line(text, NULL, "endpoint", false, e))
		return false;
	if (strlen(text) >= sizeof(host))
		goto bad;
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (!end || (size_t)(end - text - 1) >= INET6_ADDRSTRLEN)
			goto bad;
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			goto bad;
		if (end[1] == '\0')
			return true;
		if (end[1] != ':' || !port_valid(end + 2))
			goto bad;
		return true;
	}
	colon = strchr(text, ':');
	if (colon && strchr(colon + 1, ':')) {	/* a bare IPv6 address */
		if (inet_pton(AF_INET6, text, &a6) != 1)
			goto bad;
		return true;
	}
	if (colon && !port_valid(colon + 1))
		goto bad;
	if (!hostname_valid(text, colon ? (size_t)(colon - text) : strlen(text)))
		goto bad;
	return true;
bad:
	control_error_set(e, "endpoint", "endpoint \"%s\" is not HOST or HOST:PORT (for example "
			  "vpn.example.com:51820, 203.0.113.7 or [2001:db8::7]:51820)",
			  model_quote(text, q, sizeof(q)));
	return false;
}

bool model_dns_valid(const char *text, const char *field, struct control_error *e)
{
	char q[96], item[300];
	const char *s = text;
	size_t count = 0;

	if (strlen(text) > 512) {
		control_error_set(e, field, "%s is longer than 512 characters", field);
		return false;
	}
	if (!one_line(text, NULL, field, true, e))
		return false;
	while (*s) {
		size_t len;
		struct in6_addr a;

		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		len = strcspn(s, ", \t\r\n");
		if (len >= sizeof(item))
			len = sizeof(item) - 1;
		memcpy(item, s, len);
		item[len] = '\0';
		s += len;
		count++;
		if (inet_pton(AF_INET, item, &a) == 1 || inet_pton(AF_INET6, item, &a) == 1)
			continue;
		/* wg-quick takes a non-address as a search domain */
		if (!isdigit((unsigned char)item[strlen(item) - 1]) &&
		    hostname_valid(item, strlen(item)))
			continue;
		control_error_set(e, field, "%s \"%s\" is not an address or a search domain "
				  "(for example 10.13.13.1, 1.1.1.1 or home.lan)", field,
				  model_quote(item, q, sizeof(q)));
		return false;
	}
	if (count == 0) {
		control_error_set(e, field, "%s is empty", field);
		return false;
	}
	return true;
}

/* ---- record validation ---- */

static bool interface_valid(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

bool model_server_validate(const struct server_record *s, struct control_error *e)
{
	struct ip_prefix p = { .family = AF_INET, .len = s->ipv4_prefix, .addr.v4 = s->ipv4 };
	struct ip_prefix net;
	uint32_t host, bcast;
	char a[MODEL_PREFIX_STRLEN];

	if (crypto_is_zero(s->private_key, MODEL_KEY_LEN)) {
		control_error_set(e, "private_key", "server: private_key is missing");
		return false;
	}
	if (s->listen_port == 0) {
		control_error_set(e, "listen_port", "server: listen_port 0 is not a port (use 1-65535)");
		return false;
	}
	if (!interface_valid(s->interface)) {
		control_error_set(e, "interface", "server: interface \"%s\" is not an interface name "
				  "(1-15 of A-Z a-z 0-9 . _ -)", s->interface);
		return false;
	}
	model_format_prefix(&p, a, sizeof(a));
	if (s->ipv4_prefix < 8 || s->ipv4_prefix > 30) {
		control_error_set(e, "ipv4", "server: ipv4 \"%s\" must have a prefix from /8 to /30 "
				  "(for example 10.13.13.1/24)", a);
		return false;
	}
	net = p;
	model_prefix_mask(&net);
	host = ntohl(s->ipv4.s_addr);
	bcast = ntohl(net.addr.v4.s_addr) | (0xffffffffu >> s->ipv4_prefix);
	if (host == ntohl(net.addr.v4.s_addr) || host == bcast) {
		control_error_set(e, "ipv4", "server: ipv4 \"%s\" is the network or broadcast address "
				  "(use a host address such as .1)", a);
		return false;
	}
	p.family = AF_INET6;
	p.len = s->ipv6_prefix;
	p.addr.v6 = s->ipv6;
	model_format_prefix(&p, a, sizeof(a));
	if (s->ipv6_prefix < 8 || s->ipv6_prefix > 120) {
		control_error_set(e, "ipv6", "server: ipv6 \"%s\" must have a prefix from /8 to /120 "
				  "(for example fd12:3456:789a::1/64)", a);
		return false;
	}
	if (s->endpoint && !model_endpoint_valid(s->endpoint, e))
		return false;
	if (s->dns && !model_dns_valid(s->dns, "dns", e))
		return false;
	if (s->client_allowed_ips) {
		struct ip_prefix *list = NULL;
		size_t n = 0;
		int ret = -EINVAL;

		if (one_line(s->client_allowed_ips, "server", "client_allowed_ips", true, e))
			ret = model_parse_prefix_list(s->client_allowed_ips, "server",
						      "client_allowed_ips", false, &list, &n, e);
		free(list);
		if (ret)
			return false;
	}
	if (s->mtu < 576 || s->mtu > 9200) {
		control_error_set(e, "mtu", "server: mtu %u is out of range (576-9200; WireGuard's "
				  "usual is 1420)", s->mtu);
		return false;
	}
	if (s->created < 0) {
		control_error_set(e, "created", "server: created is negative");
		return false;
	}
	return true;
}

bool model_peer_validate(const struct peer_record *p, struct control_error *e)
{
	char field[32], a[MODEL_PREFIX_STRLEN];
	size_t i;

	if (!model_name_valid(p->name, e))
		return false;
	if (crypto_is_zero(p->public_key, MODEL_KEY_LEN)) {
		control_error_set(e, "public_key", "peer \"%s\": public_key is missing", p->name);
		return false;
	}
	if (p->ipv4.s_addr == 0) {
		control_error_set(e, "ipv4", "peer \"%s\": ipv4 is missing", p->name);
		return false;
	}
	for (i = 0; i < p->n_routes; i++) {
		const struct ip_prefix *r = &p->routes[i];
		struct ip_prefix m = *r;

		snprintf(field, sizeof(field), "routes[%zu]", i);
		if ((r->family != AF_INET && r->family != AF_INET6) || r->len > model_max_len(r->family)) {
			control_error_set(e, field, "peer \"%s\": %s is not a prefix", p->name, field);
			return false;
		}
		model_prefix_mask(&m);
		if (!model_prefix_equal(&m, r)) {
			char b[MODEL_PREFIX_STRLEN];
			model_format_prefix(r, a, sizeof(a));
			model_format_prefix(&m, b, sizeof(b));
			control_error_set(e, field, "peer \"%s\": %s \"%s\" has host bits set "
					  "(did you mean \"%s\"?)", p->name, field, a, b);
			return false;
		}
	}
	if (p->dns && !model_dns_valid(p->dns, "dns", e))
		return false;
	if (p->allowed_ips && model_peer_allowed_ips_check(p->name, p->allowed_ips, e))
		return false;
	if (p->endpoint && !model_endpoint_valid(p->endpoint, e))
		return false;
	if (p->has_firewall && p->n_firewall > FIREWALL_MAX_RULES) {
		control_error_set(e, "firewall", "peer \"%s\": %zu firewall rules are more than %d",
				  p->name, p->n_firewall, FIREWALL_MAX_RULES);
		return false;
	}
	for (i = 0; p->has_firewall && i < p->n_firewall; i++) {
		if (!firewall_rule_valid(&p->firewall[i])) {
			control_error_set(e, "firewall", "peer \"%s\": firewall rule %zu is not "
					  "valid", p->name, i + 1);
			return false;
		}
	}
	if (!p->has_firewall && p->n_firewall) {
		control_error_set(e, "firewall", "peer \"%s\": firewall rules without a firewall",
				  p->name);
		return false;
	}
	if (p->enabled && p->disabled_reason[0]) {
		control_error_set(e, "disabled_reason", "peer \"%s\": enabled but disabled_reason is "
				  "\"%s\"", p->name, p->disabled_reason);
		return false;
	}
	if (!p->enabled && strcmp(p->disabled_reason, "manual") != 0 &&
	    strcmp(p->disabled_reason, "expired") != 0 && strcmp(p->disabled_reason, "revoked") != 0) {
		control_error_set(e, "disabled_reason", "peer \"%s\": disabled_reason \"%s\" is not "
				  "manual, expired or revoked", p->name, p->disabled_reason);
		return false;
	}
	if (p->created < 0 || p->expires < 0) {
		control_error_set(e, p->created < 0 ? "created" : "expires",
				  "peer \"%s\": %s is negative", p->name,
				  p->created < 0 ? "created" : "expires");
		return false;
	}
	return true;
}

/* ---- lifetime ---- */

void model_server_free(struct server_record *s)
{
	free(s->endpoint);
	free(s->dns);
	free(s->client_allowed_ips);
	explicit_bzero(s, sizeof(*s));
}

void model_peer_free(struct peer_record *p)
{
	free(p->routes);
	free(p->dns);
	free(p->allowed_ips);
	free(p->endpoint);
	free(p->firewall);
	explicit_bzero(p, sizeof(*p));
}

void model_peer_array_free(struct peer_record *p, size_t n)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < n; i++)
		model_peer_free(&p[i]);
	free(p);
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return -ENOMEM;
	return 0;
}

int model_peer_copy(struct peer_record *dst, const struct peer_record *src, bool with_secrets)
{
	*dst = *src;
	dst->routes = NULL;
	dst->firewall = NULL;
	dst->dns = dst->allowed_ips = dst->endpoint = NULL;
	dst->key_kept = src->has_private_key || src->key_kept;
	if (!with_secrets) {
		dst->has_private_key = false;
		dst->has_preshared_key = false;
		explicit_bzero(dst->private_key, sizeof(dst->private_key));
		explicit_bzero(dst->preshared_key, sizeof(dst->preshared_key));
	}
	if (src->n_routes) {
		dst->routes = malloc(src->n_routes * sizeof(*src->routes));
		if (!dst->routes)
			goto fail;
		memcpy(dst->routes, src->routes, src->n_routes * sizeof(*src->routes));
	}
	if (dup_str(&dst->dns, src->dns) || dup_str(&dst->allowed_ips, src->allowed_ips) ||
	    dup_str(&dst->endpoint, src->endpoint))
		goto fail;
	if (src->n_firewall) {
		dst->firewall = malloc(src->n_firewall * sizeof(*src->firewall));
		if (!dst->firewall)
			goto fail;
		memcpy(dst->firewall, src->firewall, src->n_firewall * sizeof(*src->firewall));
	}
	return 0;
fail:
	model_peer_free(dst);
	return -ENOMEM;
}

int model_server_copy(struct server_record *dst, const struct server_record *src, bool with_secrets)
{
	*dst = *src;
	dst->endpoint = dst->dns = dst->client_allowed_ips = NULL;
	if (!with_secrets)
		explicit_bzero(dst->private_key, sizeof(dst->private_key));
	if (dup_str(&dst->endpoint, src->endpoint) || dup_str(&dst->dns, src->dns) ||
	    dup_str(&dst->client_allowed_ips, src->client_allowed_ips)) {
		model_server_free(dst);
		return -ENOMEM;
	}
	return 0;
}


int model_peer_allowed_ips_check(const char *name, const char *allowed_ips,
				 struct control_error *e)
{
	struct ip_prefix *list = NULL;
	size_t n = 0;
	char what[MODEL_NAME_MAX + 8];
	int ret;

	snprintf(what, sizeof(what), "peer \"%s\"", name);
	if (!one_line(allowed_ips, what, "allowed_ips", true, e))
		return -EINVAL;
	ret = model_parse_prefix_list(allowed_ips, what, "allowed_ips", false, &list, &n, e);
	free(list);
	return ret;
}
