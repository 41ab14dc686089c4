/*
 * peer_set.c - `zerowg peer set NAME ...`: changes a peer that exists
 * (expiry, client DNS and AllowedIPs, routes behind it, keepalive)
 * through the admin API's PATCH /v1/peers/NAME, with the session kept.
 *
 *   zerowg peer set NAME [--expires WHEN|never] [--dns LIST] [--allowed-ips LIST]
 *                        [--route SUBNET]... [--no-routes] [--keepalive N] [--json]
 *
 * Only the options given change.  The name, --expires and --keepalive are
 * judged here first with the control layer's own validators (nothing is
 * sent for a bad one); the rest by the server, whose answer names the
 * field.  DNS, AllowedIPs and the keepalive live in the client's config
 * too: the command says how the client gets it again.
 *
 * Relies on client.h (HTTP/JSON over the admin socket) and model.h.
 */
#include "peer_set.h"

#include "cli.h"
#include "client.h"
#include "model.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OPT_SET_ADMIN_SOCKET 0x300
#define OPT_SET_NO_ROUTES 0x301
#define OPT_SET_JSON 0x302

void peer_set_usage(FILE *f)
{
	fprintf(f,
		"set     changes a peer that exists; only the options given change, and\n"
		"        its session stays up:\n"
		"        --expires WHEN|never: as for add (\"never\" lifts it); a peer its\n"
		"        expiry disabled stays disabled until `zerowg peer enable`, which\n"
		"        then keeps the new expiry.\n"
		"        --dns LIST, --allowed-ips LIST: this client's (\"\" = the server's).\n"
		"        --route SUBNET (repeatable): the networks behind the peer, replacing\n"
		"        its list; --no-routes removes them all.\n"
		"        --keepalive N: seconds, both ends (0 = the server's default).\n"
		"        DNS, AllowedIPs and keepalive are in the client's config: it needs\n"
		"        the config again (zerowg show-peer NAME for a kept key, else\n"
		"        zerowg peer rotate NAME --link 1h).\n");
}

/* One line per changed field, from the server's answer. */
static void print_changes(const char *subject, json_t *p, json_t *body)
{
	json_t *v = json_object_get(p, "routes"), *r;
	int64_t expires = (int64_t)json_integer_value(json_object_get(p, "expires"));
	const char *s;
	char when[64];
	size_t i;

	printf("zerowg: %s is updated\n", subject);
	if (json_object_get(body, "expires")) {
		time_t t = (time_t)expires;
		struct tm tm;
		if (expires <= 0)
			snprintf(when, sizeof(when), "never");
		else if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		else
			snprintf(when, sizeof(when), "@%" PRId64, expires);
		printf("  expires: %s\n", when);
	}
	if (json_object_get(body, "routes")) {
		printf("  routes:%s", json_array_size(v) ? "" : " none");
		json_array_foreach(v, i, r)
			printf("%s %s", i ? "," : "", json_string_value(r) ? json_string_value(r) : "?");
		printf("\n");
	}
	if (json_object_get(body, "dns")) {
		s = json_string_value(json_object_get(p, "dns"));
		printf("  dns: %s\n", s ? s : "the server's");
	}
	if (json_object_get(body, "allowed_ips")) {
		s = json_string_value(json_object_get(p, "allowed_ips"));
		printf("  client allowed ips: %s\n", s ? s : "the server's");
	}
	if (json_object_get(body, "persistent_keepalive")) {
		json_int_t ka = json_integer_value(json_object_get(p, "persistent_keepalive"));
		if (ka > 0)
			printf("  persistent keepalive: every %lld seconds\n", (long long)ka);
		else
			printf("  persistent keepalive: the server's default\n");
	}
}

/* DNS, AllowedIPs and keepalive are in the client's own config. */
static void client_note(const char *name, const char *subject, json_t *p, json_t *body)
{
	if (!json_object_get(body, "dns") && !json_object_get(body, "allowed_ips") &&
	    !json_object_get(body, "persistent_keepalive"))
		return;
	if (json_is_true(json_object_get(p, "key_kept")))
		fprintf(stderr, "zerowg: %s: its client needs its config again (DNS, AllowedIPs "
			"or keepalive changed): zerowg show-peer %s, or a one-time link: zerowg "
			"peer link %s\n", subject, name, name);
	else
		fprintf(stderr, "zerowg: %s: its client needs its config again (DNS, AllowedIPs "
			"or keepalive changed), and its key was not kept: give it a new one with "
			"zerowg peer rotate %s --link 1h (its current key then stops working), or "
			"edit the client's config by hand\n", subject, name);
}

int peer_field_option(int c, const char *arg, json_t *body, json_t *routes,
		      const char **expires_text)
{
	unsigned long keepalive;

	switch (c) {
	case 'x':
		*expires_text = arg;
		return 1;
	case 'd':
		json_object_set_new(body, "dns", json_string(arg));
		return 1;
	case 'a':
		json_object_set_new(body, "allowed_ips", json_string(arg));
		return 1;
	case 'r':
		json_array_append_new(routes, json_string(arg));
		return 1;
	case 'k':
		if (cli_parse_uint(arg, 0, 65535, &keepalive) < 0) {
			fprintf(stderr, "zerowg: --keepalive \"%s\" is not a number of seconds "
				"from 0 (the server's default) to 65535 (field "
				"persistent_keepalive)\n", arg);
			return -1;
		}
		json_object_set_new(body, "persistent_keepalive", json_integer((json_int_t)keepalive));
		return 1;
	}
	return 0;
}

int peer_set_main(const char *admin_socket, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "expires", required_argument, NULL, 'x' },
		{ "dns", required_argument, NULL, 'd' },
		{ "allowed-ips", required_argument, NULL, 'a' },
		{ "route", required_argument, NULL, 'r' },
		{ "no-routes", no_argument, NULL, OPT_SET_NO_ROUTES },
		{ "keepalive", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, OPT_SET_JSON },
		{ "admin-socket", required_argument, NULL, OPT_SET_ADMIN_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	json_t *body = json_object(), *routes = json_array(), *answer = NULL;
	const char *expires_text = NULL, *name;
	char subject[MODEL_NAME_MAX + 16];
	struct client client = { 0 };
	struct control_error e;
	bool no_routes = false, json = false;
	int64_t expires;
	char *path = NULL;
	int c, ret = 1;

	if (!body || !routes) {
		fprintf(stderr, "zerowg: out of memory\n");
		goto out;
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'x': case 'd': case 'a': case 'r': case 'k':
			if (peer_field_option(c, optarg, body, routes, &expires_text) < 0)
				goto out;
			break;
		case OPT_SET_NO_ROUTES:
			no_routes = true;
			break;
		case OPT_SET_JSON:
			json = true;
			break;
		case OPT_SET_ADMIN_SOCKET:
			admin_socket = optarg;
			break;
		case 'h':
			printf("Usage: zerowg peer set NAME [--expires WHEN|never] [--dns LIST]\n"
			       "                            [--allowed-ips LIST] [--route SUBNET]...\n"
			       "                            [--no-routes] [--keepalive N] [--json]\n\n");
			peer_set_usage(stdout);
			ret = 0;
			goto out;
		default:
			fprintf(stderr, "zerowg: see zerowg peer set --help\n");
			goto out;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "zerowg: peer set needs one NAME%s (e.g. zerowg peer set phone "
			"--expires 30d)\n", argc - optind > 1 ? ", not several" : "");
		goto out;
	}
	name = argv[optind];
	control_error_clear(&e);
	if (!model_name_valid(name, &e)) {
		cli_control_error(NULL, &e);
		goto out;
	}
	snprintf(subject, sizeof(subject), "peer \"%s\"", name);
	if (no_routes && json_array_size(routes)) {
		fprintf(stderr, "zerowg: %s: --route and --no-routes contradict each other (--route "
			"alone replaces the list)\n", subject);
		goto out;
	}
	if (no_routes || json_array_size(routes))
		json_object_set(body, "routes", routes);
	/* Parsed here, so "30d" counts from now on this clock, and a bad
	 * value never reaches the server. */
	if (expires_text) {
		if (model_parse_expires(expires_text, (int64_t)time(NULL), &expires, &e) < 0) {
			cli_control_error(subject, &e);
			goto out;
		}
		json_object_set_new(body, "expires", json_integer(expires));
	}
	if (json_object_size(body) == 0) {
		fprintf(stderr, "zerowg: %s: nothing to change: give --expires, --dns, "
			"--allowed-ips, --route, --no-routes or --keepalive (e.g. zerowg peer set "
			"%s --expires 30d)\n", subject, name);
		goto out;
	}
	path = client_peer_path(name, NULL);
	if (!path) {
		fprintf(stderr, "zerowg: out of memory\n");
		goto out;
	}
	if (client_open(&client, admin_socket) < 0)
		goto out;
	answer = client_call(&client, "PATCH", path, body, subject, NULL);
	client_close(&client);
	if (!answer)
		goto out;
	if (json) {
		char *text = json_dumps(answer, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (text)
			puts(text);
		free(text);
	} else {
		print_changes(subject, answer, body);
	}
	client_note(name, subject, answer, body);
	ret = 0;
out:
	free(path);
	json_decref(answer);
	json_decref(routes);
	json_decref(body);
	return ret;
}
