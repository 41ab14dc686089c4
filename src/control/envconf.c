/*
 * envconf.c - struct server_options (control.h): the settings `zerowg up`
 * takes from its flags and from the environment of a container, with
 * linuxserver/wireguard's variable names and meanings (envconf.h).
 *
 * Flags and variables go through one setter, so both are validated the
 * same way; only the label in a message differs ("--port" or
 * "SERVERPORT").  Nothing here touches the store: control_init_server()
 * and control_apply_options() turn options into records.
 */
#include "envconf.h"
#include "model_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipalloc.h"

extern char **environ;

#define MAX_PEERS_COUNT 65535

void server_options_init(struct server_options *o)
{
	memset(o, 0, sizeof(*o));
	o->persistent_keepalive = -1;
	o->nat = -1;
	o->log_confs = true;
}

static void free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void server_options_free(struct server_options *o)
{
	size_t i;

	free(o->interface);
	free(o->endpoint);
	free(o->dns);
	free(o->client_allowed_ips);
	free_list(o->peers, o->n_peers);
	free_list(o->keepalive_peers, o->n_keepalive_peers);
	for (i = 0; i < o->n_peer_routes; i++) {
		free(o->peer_routes[i].peer);
		free(o->peer_routes[i].routes);
	}
	free(o->peer_routes);
	server_options_init(o);
}

static int set_string(char **dst, const char *v, struct control_error *e)
{
	char *s = strdup(v);

	if (!s) {
		control_error_set(e, NULL, "out of memory");
		return -ENOMEM;
	}
	free(*dst);
	*dst = s;
	return 0;
}

static int parse_uint(const char *v, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long n;
	char *end;

	if (!isdigit((unsigned char)v[0]) || strlen(v) > 9)
		return -EINVAL;
	n = strtoul(v, &end, 10);
	if (*end || n < lo || n > hi)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on", NULL };
	static const char *const no[] = { "0", "false", "no", "off", NULL };
	int i;

	for (i = 0; yes[i]; i++)
		if (!strcasecmp(v, yes[i]))
			return *out = true, 0;
	for (i = 0; no[i]; i++)
		if (!strcasecmp(v, no[i]))
			return *out = false, 0;
	return -EINVAL;
}

/* Splits a comma list (blanks around items trimmed) into a malloc'd
 * array of malloc'd strings.  "a b" stays one item, for the name check
 * to refuse. */
static int split_list(const char *v, char ***out, size_t *n)
{
	const char *s = v;

	*out = NULL;
	*n = 0;
	while (*s) {
		size_t len;
		char **grown;

		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		len = strcspn(s, ",");
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		grown = realloc(*out, (*n + 1) * sizeof(*grown));
		if (!grown || !(grown[*n] = strndup(s, len))) {
			*out = grown ? grown : *out;
			free_list(*out, *n);
			*out = NULL;
			*n = 0;
			return -ENOMEM;
		}
		*out = grown;
		(*n)++;
		s += strcspn(s, ",");
	}
	return 0;
}

static int set_peers(struct server_options *o, const char *v, const char *label,
		     struct control_error *e)
{
	char **names = NULL;
	size_t n = 0, i, j;
	unsigned count;
	int ret;

	if (parse_uint(v, 0, MAX_PEERS_COUNT, &count) == 0) {
		if (count == 0) {
			control_error_set(e, "peers", "%s \"%s\": give a number of peers from 1 to %d, or "
					  "names (phone,laptop)", label, v, MAX_PEERS_COUNT);
			return -EINVAL;
		}
		if (!(names = calloc(count, sizeof(*names))))
			goto nomem;
		for (n = 0; n < count; n++)
			if (asprintf(&names[n], "peer%zu", n + 1) < 0) {
				names[n] = NULL;
				goto nomem;
			}
	} else {
		if ((ret = split_list(v, &names, &n)))
			goto nomem;
		for (i = 0; i < n; i++) {
			struct control_error ne;

			if (!model_name_valid(names[i], &ne)) {
				control_error_set(e, "peers", "%s: %s", label, ne.msg);
				free_list(names, n);
				return -EINVAL;
			}
			for (j = 0; j < i; j++)
				if (!strcmp(names[i], names[j])) {
					control_error_set(e, "peers", "%s names the peer \"%s\" twice", label,
							  names[i]);
					free_list(names, n);
					return -EINVAL;
				}
		}
		if (n == 0) {
			control_error_set(e, "peers", "%s is empty", label);
			free(names);
			return -EINVAL;
		}
	}
	free_list(o->peers, o->n_peers);
	o->peers = names;
	o->n_peers = n;
	return 0;
nomem:
	free_list(names, n);
	control_error_set(e, NULL, "out of memory");
	return -ENOMEM;
}

/* PERSISTENTKEEPALIVE_PEERS: "all", or names; a number n means "peern"
 * (linuxserver: "1,4,laptop"). */
static int set_keepalive_peers(struct server_options *o, const char *v, const char *label,
			       struct control_error *e)
{
	char **names;
	size_t n, i;

	if (!strcasecmp(v, "all")) {
		o->keepalive_all_peers = true;
		return 0;
	}
	if (split_list(v, &names, &n))
		goto nomem;
	for (i = 0; i < n; i++) {
		struct control_error ne;
		unsigned num;

		if (parse_uint(names[i], 1, MAX_PEERS_COUNT, &num) == 0) {
			char *pn;
			if (asprintf(&pn, "peer%u", num) < 0)
				goto nomem_list;
			free(names[i]);
			names[i] = pn;
		} else if (!model_name_valid(names[i], &ne)) {
			control_error_set(e, "keepalive-peers", "%s: %s (give \"all\" or peer names; "
					  "a number n means peern)", label, ne.msg);
			free_list(names, n);
			return -EINVAL;
		}
	}
	if (n == 0) {
		control_error_set(e, "keepalive-peers", "%s is empty (give \"all\" or peer names)", label);
		free(names);
		return -EINVAL;
	}
	free_list(o->keepalive_peers, o->n_keepalive_peers);
	o->keepalive_peers = names;
	o->n_keepalive_peers = n;
	o->keepalive_all_peers = false;
	return 0;
nomem_list:
	free_list(names, n);
nomem:
	control_error_set(e, NULL, "out of memory");
	return -ENOMEM;
}

/* "NAME=10.0.0.0/24,192.168.5.0/24" (the flag), or peer and routes apart
 * (SERVER_ALLOWEDIPS_PEER_NAME). */
static int add_peer_routes(struct server_options *o, const char *peer, const char *routes,
			   const char *label, struct control_error *e)
{
	struct ip_prefix *list = NULL;
	size_t n = 0, i;
	struct server_option_routes *grown;
	struct control_error ne;

	if (!model_name_valid(peer, &ne)) {
		control_error_set(e, "peer-routes", "%s: %s", label, ne.msg);
		return -EINVAL;
	}
	if (strpbrk(routes, "\t\n\v\f\r")) {
		control_error_set(e, "peer-routes", "%s \"%s\" has a control character: give the "
				  "prefixes on one line, separated with commas", label,
				  model_quote(routes, ne.msg, sizeof(ne.msg)));
		return -EINVAL;
	}
	if (model_parse_prefix_list(routes, label, "routes", false, &list, &n, e)) {
		snprintf(e ? e->field : ne.field, sizeof(ne.field), "peer-routes");
		return -EINVAL;
	}
	free(list);
	for (i = 0; i < o->n_peer_routes; i++)
		if (!strcmp(o->peer_routes[i].peer, peer))
			return set_string(&o->peer_routes[i].routes, routes, e);
	grown = realloc(o->peer_routes, (o->n_peer_routes + 1) * sizeof(*grown));
	if (!grown)
		goto nomem;
	o->peer_routes = grown;
	grown += o->n_peer_routes;
	grown->peer = strdup(peer);
	grown->routes = strdup(routes);
	if (!grown->peer || !grown->routes) {
		free(grown->peer);
		free(grown->routes);
		goto nomem;
	}
	o->n_peer_routes++;
	return 0;
nomem:
	control_error_set(e, NULL, "out of memory");
	return -ENOMEM;
}

/* The setter behind flags and variables; label names the source. */
static int option_set(struct server_options *o, const char *opt, const char *v, const char *label,
		      struct control_error *e)
{
	char q[96];
	unsigned n;
	bool b;

	model_quote(v, q, sizeof(q));
	if (!strcmp(opt, "interface")) {
		size_t i, len = strlen(v);
		for (i = 0; i < len; i++)
			if (!isalnum((unsigned char)v[i]) && !strchr("._-", v[i]))
				break;
		if (len == 0 || len >= IFNAMSIZ || i < len || v[0] == '.' || v[0] == '-') {
			control_error_set(e, opt, "%s \"%s\" is not an interface name (1-%d of A-Z a-z "
					  "0-9 . _ -)", label, q, IFNAMSIZ - 1);
			return -EINVAL;
		}
		return set_string(&o->interface, v, e);
	}
	if (!strcmp(opt, "port") || !strcmp(opt, "endpoint-port")) {
		if (parse_uint(v, 1, 65535, &n)) {
			control_error_set(e, opt, "%s \"%s\" is not a port (1-65535)", label, q);
			return -EINVAL;
		}
		if (opt[0] == 'p')
			o->listen_port = (uint16_t)n;
		else
			o->endpoint_port = (uint16_t)n;
		return 0;
	}
	if (!strcmp(opt, "subnet")) {
		struct ip_prefix p;
		char text[64];
		int ret;

		/* linuxserver's INTERNAL_SUBNET is an address: its /24 */
		snprintf(text, sizeof(text), "%s%s", v, strchr(v, '/') ? "" : "/24");
		ret = model_parse_prefix(text, &p, true);
		if ((ret && ret != -EDOM) || p.family != AF_INET || p.len < IPALLOC_MIN_PREFIX ||
		    p.len > IPALLOC_MAX_PREFIX) {
			control_error_set(e, opt, "%s \"%s\" is not an IPv4 subnet from /%d to /%d (for "
					  "example 10.13.13.0/24 or 10.13.13.0)", label, q,
					  IPALLOC_MIN_PREFIX, IPALLOC_MAX_PREFIX);
			return -EINVAL;
		}
		model_prefix_mask(&p);
		o->has_subnet = true;
		o->subnet = p.addr.v4;
		o->subnet_prefix = p.len;
		return 0;
	}
	if (!strcmp(opt, "endpoint")) {
		struct control_error ne;
		if (!strcasecmp(v, "auto")) {
			o->endpoint_auto = true;
			free(o->endpoint);
			o->endpoint = NULL;
			return 0;
		}
		if (!model_endpoint_valid(v, &ne)) {
			control_error_set(e, opt, "%s \"%s\" is not HOST or HOST:PORT (for example "
					  "vpn.example.com, 203.0.113.7:51820 or [2001:db8::7]:51820)",
					  label, q);
			return -EINVAL;
		}
		o->endpoint_auto = false;
		return set_string(&o->endpoint, v, e);
	}
	if (!strcmp(opt, "dns")) {
		struct control_error ne;
		if (!strcasecmp(v, "auto") || !strcasecmp(v, "none") || !*v)
			return set_string(&o->dns, !strcasecmp(v, "auto") ? "auto" : "", e);
		if (!model_dns_valid(v, label, &ne)) {
			control_error_set(e, opt, "%s (or \"auto\": the server's tunnel address)", ne.msg);
			return -EINVAL;
		}
		return set_string(&o->dns, v, e);
	}
	if (!strcmp(opt, "allowed-ips")) {
		struct ip_prefix *list = NULL;
		size_t cnt = 0;
		/* The server record refuses it later (model_server_validate),
		 * naming no variable: refuse it here, as for PEERDNS. */
		if (strpbrk(v, "\t\n\v\f\r")) {
			control_error_set(e, opt, "%s \"%s\" has a control character: a client config "
					  "takes it on one line; separate the entries with commas "
					  "(0.0.0.0/0, ::/0)", label, q);
			return -EINVAL;
		}
		if (model_parse_prefix_list(v, NULL, label, false, &list, &cnt, e)) {
			if (e)
				snprintf(e->field, sizeof(e->field), "%s", opt);
			return -EINVAL;
		}
		free(list);
		return set_string(&o->client_allowed_ips, v, e);
	}
	if (!strcmp(opt, "keepalive") || !strcmp(opt, "mtu")) {
		bool mtu = opt[0] == 'm';
		if (parse_uint(v, mtu ? 576 : 0, mtu ? 9200 : 65535, &n)) {
			control_error_set(e, opt, mtu ? "%s \"%s\" is not an MTU (576-9200; 1420 suits "
					  "most links)" : "%s \"%s\" is not a keepalive interval in "
					  "seconds (0-65535; 25 is usual, 0 is off)", label, q);
			return -EINVAL;
		}
		if (mtu)
			o->mtu = (int)n;
		else
			o->persistent_keepalive = (int)n;
		return 0;
	}
	if (!strcmp(opt, "nat") || !strcmp(opt, "log-confs")) {
		if (parse_bool(v, &b)) {
			control_error_set(e, opt, "%s \"%s\" is not true or false", label, q);
			return -EINVAL;
		}
		if (opt[0] == 'n')
			o->nat = b;
		else
			o->log_confs = b;
		return 0;
	}
	if (!strcmp(opt, "peers"))
		return set_peers(o, v, label, e);
	if (!strcmp(opt, "keepalive-peers"))
		return set_keepalive_peers(o, v, label, e);
	if (!strcmp(opt, "peer-routes")) {
		const char *eq = strchr(v, '=');
		char name[MODEL_NAME_MAX + 2];
		if (!eq || (size_t)(eq - v) > MODEL_NAME_MAX) {
			control_error_set(e, opt, "%s \"%s\" is not NAME=PREFIX,... (for example "
					  "office=192.168.1.0/24)", label, q);
			return -EINVAL;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - v), v);
		return add_peer_routes(o, name, eq + 1, label, e);
	}
	control_error_set(e, NULL, "unknown option \"%s\"", opt);
	return -ENOENT;
}

int server_options_set(struct server_options *o, const char *option, const char *value,
		       struct control_error *e)
{
	char label[40];

	snprintf(label, sizeof(label), "--%s", option);
	return option_set(o, option, value, label, e);
}

static const struct {
	const char *var, *option;
} env_map[] = {
	{ "SERVERURL", "endpoint" },
	{ "SERVERPORT", "endpoint-port" },
	{ "PEERS", "peers" },
	{ "PEERDNS", "dns" },
	{ "INTERNAL_SUBNET", "subnet" },
	{ "ALLOWEDIPS", "allowed-ips" },
	{ "PERSISTENTKEEPALIVE_PEERS", "keepalive-peers" },
	{ "LOG_CONFS", "log-confs" },
};

/* true if a flag already set this option (flags win). */
static bool already_set(const struct server_options *o, const char *opt)
{
	if (!strcmp(opt, "endpoint"))
		return o->endpoint || o->endpoint_auto;
	if (!strcmp(opt, "endpoint-port"))
		return o->endpoint_port != 0;
	if (!strcmp(opt, "peers"))
		return o->n_peers != 0;
	if (!strcmp(opt, "dns"))
		return o->dns != NULL;
	if (!strcmp(opt, "subnet"))
		return o->has_subnet;
	if (!strcmp(opt, "allowed-ips"))
		return o->client_allowed_ips != NULL;
	if (!strcmp(opt, "keepalive-peers"))
		return o->keepalive_all_peers || o->n_keepalive_peers;
	return false;
}

#define ROUTES_PREFIX "SERVER_ALLOWEDIPS_PEER_"

int envconf_load(struct server_options *o, char *const *envp, struct control_error *e)
{
	size_t i, k;
	int ret;

	if (!envp)
		envp = environ;
	for (i = 0; envp[i]; i++) {
		const char *eq = strchr(envp[i], '='), *v;
		size_t nlen;

		if (!eq || !eq[1])
			continue;	/* unset or empty */
		nlen = (size_t)(eq - envp[i]);
		v = eq + 1;
		if (nlen > strlen(ROUTES_PREFIX) && !strncmp(envp[i], ROUTES_PREFIX, strlen(ROUTES_PREFIX))) {
			char peer[MODEL_NAME_MAX + 2], label[128];
			size_t plen = nlen - strlen(ROUTES_PREFIX);

			snprintf(label, sizeof(label), "%.*s", (int)nlen, envp[i]);
			if (plen > MODEL_NAME_MAX) {
				control_error_set(e, "peer-routes", "%s: the peer name is longer than %d "
						  "characters", label, MODEL_NAME_MAX);
				return -EINVAL;
			}
			snprintf(peer, sizeof(peer), "%.*s", (int)plen, envp[i] + strlen(ROUTES_PREFIX));
			if ((ret = add_peer_routes(o, peer, v, label, e)))
				return ret;
			continue;
		}
		for (k = 0; k < sizeof(env_map) / sizeof(env_map[0]); k++) {
			if (strlen(env_map[k].var) != nlen || strncmp(envp[i], env_map[k].var, nlen))
				continue;
			if (already_set(o, env_map[k].option))
				break;
			if ((ret = option_set(o, env_map[k].option, v, env_map[k].var, e)))
				return ret;
			break;
		}
	}
	return 0;
}
