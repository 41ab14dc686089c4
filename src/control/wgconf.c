/*
 * wgconf.c - a parser of wg-quick .conf files (wgconf.h), for `zerowg
 * import`.  It follows wg-quick(8): '#' starts a comment anywhere on a
 * line, section and key names are case-insensitive, Address, DNS and
 * AllowedIPs may repeat and hold comma lists, and wg-quick's own settings
 * (PostUp, Table, SaveConfig...) are accepted.  We do not run scripts, so
 * those are reported as warnings rather than silently dropped.
 *
 * The text holds private and preshared keys: it is copied once into a
 * buffer that is wiped before return, and no message ever quotes a line
 * that holds a key.
 */
#include "wgconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encoding.h"

enum section { SECTION_NONE, SECTION_INTERFACE, SECTION_PEER };

struct parser {
	struct wgconf *c;
	struct control_error *e;
	int line;
	const char *text;		/* the line, comment stripped, trimmed */
	enum section section;
	bool seen_interface;
	char *comment_above;		/* last comment line right above */
	char *peer_above;		/* the current [Peer]'s comment above it */
	char *peer_inside;		/* its first comment before any key */
	bool peer_has_key;		/* current [Peer] has a PublicKey yet */
	bool peer_keys_seen;		/* a key line came in this [Peer] */
};

static const char *const ignored_keys[] = {
	"PreUp", "PostUp", "PreDown", "PostDown", "Table", "SaveConfig", "FwMark", NULL
};

/* Comments are wiped when freed: one may be a commented-out key line. */
static void free_comment(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* An error quoting the line, unless the line may hold a key. */
static int line_error(struct parser *p, const char *why)
{
	char q[100], w[256];
	size_t n = strlen(p->text);

	snprintf(w, sizeof(w), "%s", why);	/* why may be p->e->msg */
	if (model_may_hold_key(p->text)) {
		control_error_set(p->e, NULL, "line %d: %s (the line is not shown: it may hold a key)",
				  p->line, w);
		return -EINVAL;
	}
	snprintf(q, sizeof(q), "%.*s%s", (int)(n > 80 ? 77 : n), p->text, n > 80 ? "..." : "");
	control_error_set(p->e, NULL, "line %d: \"%s\": %s", p->line, q, w);
	return -EINVAL;
}

static int add_warning(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_warning(struct parser *p, const char *fmt, ...)
{
	char **grown;
	char *msg;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	grown = realloc(p->c->warnings, (p->c->n_warnings + 1) * sizeof(*grown));
	if (!grown) {
		free(msg);
		return -ENOMEM;
	}
	p->c->warnings = grown;
	p->c->warnings[p->c->n_warnings++] = msg;
	return 0;
}

/*
 * A peer name from a comment's text (without the '#'): "Name = x",
 * "friendly_name = x", "Client: x (id)", linuxserver's "peer_x", or "x".
 * Returns a malloc'd valid name, or NULL (errno 0 if not a name).
 */
static char *name_from_comment(const char *comment)
{
	char buf[256], *s, *v;
	struct control_error ignore;

	snprintf(buf, sizeof(buf), "%s", comment);
	s = trim(buf);
	if ((v = strchr(s, '=')) || (v = strchr(s, ':'))) {
		char *k = s;
		*v = '\0';
		k = trim(k);
		if (strcasecmp(k, "name") && strcasecmp(k, "friendly_name") && strcasecmp(k, "client")) {
			explicit_bzero(buf, sizeof(buf));
			errno = 0;
			return NULL;
		}
		s = trim(v + 1);
		/* wg-easy: "Client: name (uuid)" */
		if ((v = strstr(s, " (")))
			*v = '\0';
	} else if (strncmp(s, "peer_", 5) == 0 && s[5]) {
		s += 5;
	}
	if (!model_name_valid(s, &ignore)) {
		explicit_bzero(buf, sizeof(buf));	/* may be a commented-out key */
		errno = 0;
		return NULL;
	}
	s = strdup(s);
	explicit_bzero(buf, sizeof(buf));
	return s;
}

/* Names the current peer from its comments: the one above [Peer] first,
 * then the first one inside the section.  Comments are never quoted in a
 * warning: one may be a commented-out key line. */
static int resolve_name(struct parser *p)
{
	struct wgconf_peer *peer = &p->c->peers[p->c->n_peers - 1];
	const char *cand[2] = { p->peer_above, p->peer_inside };
	int i;

	for (i = 0; i < 2; i++) {
		if (!cand[i])
			continue;
		errno = 0;
		peer->name = name_from_comment(cand[i]);
		if (peer->name)
			break;
		if (errno)
			return -ENOMEM;
	}
	if (!peer->name && (cand[0] || cand[1]))
		if (add_warning(p, "line %d: no peer name in the comments of this [Peer] (write "
				"\"# Name = NAME\" above it, 1-%d of A-Z a-z 0-9 . _ -); it gets a "
				"generated name", peer->line, MODEL_NAME_MAX))
			return -ENOMEM;
	free_comment(p->peer_above);
	free_comment(p->peer_inside);
	p->peer_above = p->peer_inside = NULL;
	return 0;
}

static int start_peer(struct parser *p)
{
	/* not realloc: the old block holds preshared keys and must be wiped */
	struct wgconf_peer *grown = malloc((p->c->n_peers + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	if (p->c->peers) {
		memcpy(grown, p->c->peers, p->c->n_peers * sizeof(*grown));
		explicit_bzero(p->c->peers, p->c->n_peers * sizeof(*grown));
		free(p->c->peers);
	}
	p->c->peers = grown;
	memset(&grown[p->c->n_peers], 0, sizeof(*grown));
	grown[p->c->n_peers].line = p->line;
	p->c->n_peers++;
	p->peer_has_key = false;
	p->peer_keys_seen = false;
	p->peer_above = p->comment_above;
	p->comment_above = NULL;
	return 0;
}

static int end_peer(struct parser *p)
{
	if (p->section != SECTION_PEER)
		return 0;
	if (!p->peer_has_key) {
		control_error_set(p->e, NULL, "line %d: [Peer] has no PublicKey",
				  p->c->peers[p->c->n_peers - 1].line);
		return -EINVAL;
	}
	return resolve_name(p);
}

static int parse_number(struct parser *p, const char *key, const char *v, unsigned lo,
			unsigned hi, unsigned *out)
{
	char why[128];
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end || errno || n < lo || n > hi) {
		snprintf(why, sizeof(why), "%s must be a number from %u to %u", key, lo, hi);
		return line_error(p, why);
	}
	*out = (unsigned)n;
	return 0;
}

static int parse_key(struct parser *p, const char *key, const char *v, uint8_t out[MODEL_KEY_LEN])
{
	if (!key_from_base64(out, v)) {
		control_error_set(p->e, NULL, "line %d: %s is not a base64 key of 32 bytes (the line "
				  "is not shown: it holds a key)", p->line, key);
		return -EINVAL;
	}
	return 0;
}

static int parse_list(struct parser *p, const char *key, const char *v, bool mask,
		      struct ip_prefix **out, size_t *n)
{
	char what[24];
	size_t i, before = *n;
	int ret;

	snprintf(what, sizeof(what), "line %d", p->line);
	ret = model_parse_prefix_list(v, what, key, true, out, n, p->e);
	if (ret == 0 && mask)
		for (i = before; i < *n; i++)
			model_prefix_mask(&(*out)[i]);
	if (p->e)
		p->e->field[0] = '\0';
	return ret;
}

static int interface_key(struct parser *p, const char *key, const char *v)
{
	struct wgconf *c = p->c;
	unsigned n;
	int ret, i;

	if (!strcasecmp(key, "PrivateKey")) {
		if ((ret = parse_key(p, "PrivateKey", v, c->private_key)))
			return ret;
		c->has_private_key = true;
	} else if (!strcasecmp(key, "ListenPort")) {
		if ((ret = parse_number(p, "ListenPort", v, 1, 65535, &n)))
			return ret;
		c->listen_port = (uint16_t)n;
	} else if (!strcasecmp(key, "MTU")) {
		if ((ret = parse_number(p, "MTU", v, 68, 65535, &n)))
			return ret;
		c->mtu = (uint16_t)n;
	} else if (!strcasecmp(key, "Address")) {
		return parse_list(p, "Address", v, false, &c->addresses, &c->n_addresses);
	} else if (!strcasecmp(key, "DNS")) {
		char *joined;
		if (!model_dns_valid(v, "DNS", p->e))
			return line_error(p, p->e ? p->e->msg : "bad DNS");
		if (asprintf(&joined, "%s%s%s", c->dns ? c->dns : "", c->dns ? ", " : "", v) < 0)
			return -ENOMEM;
		free(c->dns);
		c->dns = joined;
	} else {
		for (i = 0; ignored_keys[i]; i++)
			if (!strcasecmp(key, ignored_keys[i]))
				return add_warning(p, "line %d: %s is ignored (zerowg runs no scripts "
						   "and sets its own routes; see zerowg up --nat)",
						   p->line, ignored_keys[i]);
		return line_error(p, "unknown key in [Interface] (expected PrivateKey, ListenPort, "
				  "Address, DNS, MTU)");
	}
	return 0;
}

static int peer_key(struct parser *p, const char *key, const char *v)
{
	struct wgconf_peer *peer = &p->c->peers[p->c->n_peers - 1];
	struct control_error *e = p->e;
	unsigned n;
	int ret;

	if (!strcasecmp(key, "PublicKey")) {
		size_t i;
		if ((ret = parse_key(p, "PublicKey", v, peer->public_key)))
			return ret;
		for (i = 0; i + 1 < p->c->n_peers; i++)
			if (!memcmp(p->c->peers[i].public_key, peer->public_key, MODEL_KEY_LEN)) {
				control_error_set(e, NULL, "line %d: this PublicKey is already the key "
						  "of the [Peer] of line %d", p->line, p->c->peers[i].line);
				return -EINVAL;
			}
		p->peer_has_key = true;
	} else if (!strcasecmp(key, "PresharedKey")) {
		if ((ret = parse_key(p, "PresharedKey", v, peer->preshared_key)))
			return ret;
		peer->has_preshared_key = true;
	} else if (!strcasecmp(key, "AllowedIPs")) {
		return parse_list(p, "AllowedIPs", v, true, &peer->allowed_ips, &peer->n_allowed_ips);
	} else if (!strcasecmp(key, "Endpoint")) {
		if (!model_endpoint_valid(v, e))
			return line_error(p, "not an endpoint (HOST:PORT or [IPv6]:PORT)");
		free(peer->endpoint);
		if (!(peer->endpoint = strdup(v)))
			return -ENOMEM;
	} else if (!strcasecmp(key, "PersistentKeepalive")) {
		if (!strcasecmp(v, "off"))
			n = 0;
		else if ((ret = parse_number(p, "PersistentKeepalive", v, 0, 65535, &n)))
			return ret;
		peer->persistent_keepalive = (uint16_t)n;
	} else {
		return line_error(p, "unknown key in [Peer] (expected PublicKey, PresharedKey, "
				  "AllowedIPs, Endpoint, PersistentKeepalive)");
	}
	return 0;
}

static int parse_line(struct parser *p, char *raw)
{
	char *hash = strchr(raw, '#'), *s, *eq, *v, keybuf[40];
	int ret;

	if (hash) {
		char *comment = trim(hash + 1);
		*hash = '\0';
		s = trim(raw);
		if (!*s) {
			/* a whole-line comment: a name candidate */
			while (*comment == '#')
				comment = trim(comment + 1);
			if (p->section == SECTION_PEER && !p->peer_keys_seen) {
				if (!p->peer_inside && !(p->peer_inside = strdup(comment)))
					return -ENOMEM;
				return 0;
			}
			free_comment(p->comment_above);
			if (!(p->comment_above = strdup(comment)))
				return -ENOMEM;
			return 0;
		}
	}
	s = trim(raw);
	p->text = s;
	if (!*s) {
		free_comment(p->comment_above);
		p->comment_above = NULL;
		return 0;
	}
	if (s[0] == '[') {
		if ((ret = end_peer(p)))
			return ret;
		if (!strcasecmp(s, "[Interface]")) {
			if (p->seen_interface)
				return line_error(p, "a second [Interface] section");
			p->seen_interface = true;
			p->section = SECTION_INTERFACE;
		} else if (!strcasecmp(s, "[Peer]")) {
			p->section = SECTION_PEER;
			if ((ret = start_peer(p)))
				return ret;
		} else {
			p->section = SECTION_NONE;
			return line_error(p, "unknown section (expected [Interface] or [Peer])");
		}
		free_comment(p->comment_above);
		p->comment_above = NULL;
		return 0;
	}
	free_comment(p->comment_above);
	p->comment_above = NULL;
	p->peer_keys_seen = true;
	eq = strchr(s, '=');
	if (!eq)
		return line_error(p, "not a section header or Key = Value");
	snprintf(keybuf, sizeof(keybuf), "%.*s", (int)(eq - s), s);
	for (v = eq + 1; isspace((unsigned char)*v); v++)
		;
	if (!strncasecmp(trim(keybuf), "PrivateKey", 10) || !strcasecmp(trim(keybuf), "PresharedKey"))
		p->text = "(a line that holds a key)";
	if (p->section == SECTION_NONE)
		return line_error(p, "a key before any [Interface] or [Peer] section");
	if (!*v) {
		/* wg-easy writes "PreUp = "; an empty list adds nothing */
		int i;
		for (i = 0; ignored_keys[i]; i++)
			if (!strcasecmp(trim(keybuf), ignored_keys[i]))
				return 0;
		static const char *const lists[] = { "DNS", "Address", "AllowedIPs", NULL };
		static const char *const known[] = { "PrivateKey", "ListenPort", "MTU", "PublicKey",
						      "PresharedKey", "Endpoint",
						      "PersistentKeepalive", NULL };
		for (i = 0; lists[i]; i++)
			if (!strcasecmp(trim(keybuf), lists[i]))
				return 0;
		for (i = 0; known[i]; i++)
			if (!strcasecmp(trim(keybuf), known[i]))
				return line_error(p, "the value is empty");
		/* an unknown key: let the section say so */
	}
	return p->section == SECTION_INTERFACE ? interface_key(p, trim(keybuf), v) :
						 peer_key(p, trim(keybuf), v);
}

void wgconf_free(struct wgconf *c)
{
	size_t i;

	for (i = 0; i < c->n_peers; i++) {
		free(c->peers[i].name);
		free(c->peers[i].allowed_ips);
		free(c->peers[i].endpoint);
	}
	if (c->peers)
		explicit_bzero(c->peers, c->n_peers * sizeof(*c->peers));
	free(c->peers);
	free(c->addresses);
	free(c->dns);
	for (i = 0; i < c->n_warnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	explicit_bzero(c, sizeof(*c));
}

int wgconf_parse(const char *text, size_t len, struct wgconf *out, struct control_error *e)
{
	struct parser p = { .c = out, .e = e };
	char *copy = malloc(len + 1), *line, *next;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	control_error_clear(e);
	if (!copy) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (memchr(text, '\0', len)) {
		control_error_set(e, NULL, "the file has a NUL byte: it is not a text config");
		ret = -EINVAL;
		goto out;
	}
	for (line = copy; line && !ret; line = next) {
		char *cr;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if ((cr = strchr(line, '\r')) && cr[1] == '\0')
			*cr = '\0';
		p.line++;
		p.text = line;
		ret = parse_line(&p, line);
	}
	if (!ret)
		ret = end_peer(&p);
	if (ret == -ENOMEM)
		control_error_set(e, NULL, "out of memory");
out:
	free_comment(p.comment_above);
	free_comment(p.peer_above);
	free_comment(p.peer_inside);
	explicit_bzero(copy, len + 1);
	free(copy);
	if (ret)
		wgconf_free(out);
	return ret;
}
