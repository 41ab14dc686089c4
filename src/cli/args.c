/*
 * args.c - what several verbs parse from their command lines (numbers,
 * the store URI) and the one way they write: whole buffers with write(2).
 * Expiry times are parsed by the control layer (model_parse_expires), so
 * the CLI and the admin API accept the same forms.
 *
 * The parsers are strict (no trailing garbage, no silent truncation) and
 * never print; the verbs turn their failures into messages that quote the
 * input.  tests/unit/cli_test.c tests them.  Relies on libc only.
 */
#include "cli.h"
#include "paths.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cli_is_help(const char *arg)
{
	return arg && (!strcmp(arg, "--help") || !strcmp(arg, "-h"));
}

int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	/* strtoul accepts "-1" (as ULONG_MAX) and leading blanks: we do not. */
	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

char *cli_store_uri(const char *data_dir, const char *store_uri)
{
	char *uri;

	if (store_uri)
		return strdup(store_uri);
	if (asprintf(&uri, "sealed:%s", data_dir ? data_dir : paths_data_dir()) < 0)
		return NULL;
	return uri;
}

int cli_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void cli_store_opts_init(struct cli_store_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->key_fd = -1;
}

/* A "user" key's description as we accept it: 1-64 of A-Z a-z 0-9 and
 * . _ : @ + - (no ';', the field separator of /proc/keys and of
 * KEYCTL_DESCRIBE, and nothing a shell would act on: the server prints
 * the name in a command to paste). */
static bool key_name_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && !strchr("._:@+-", s[n]))
			return false;
	return n > 0 && n <= 64;
}

int cli_store_option(struct cli_store_opts *o, int opt, const char *arg)
{
	unsigned long fd;

	switch (opt) {
	case CLI_OPT_DATA:
		if (!*arg || arg[0] != '/') {
			fprintf(stderr, "zerowg: --data \"%s\" is not an absolute directory path "
				"(e.g. --data /var/lib/zerowg)\n", arg);
			return -1;
		}
		o->data_dir = arg;
		return 1;
	case CLI_OPT_STORE:
		if (strncmp(arg, "sealed:", 7) && strcmp(arg, "memory:")) {
			fprintf(stderr, "zerowg: --store \"%s\" is not a store URI "
				"(sealed:/var/lib/zerowg or memory:)\n", arg);
			return -1;
		}
		o->store_uri = arg;
		return 1;
	case CLI_OPT_KEY_FD:
		/* 0..2 are the terminal's; a key on stdin is fine (--key-fd 0). */
		if (cli_parse_uint(arg, 0, 1 << 20, &fd) < 0) {
			fprintf(stderr, "zerowg: --key-fd \"%s\" is not a file descriptor number "
				"(e.g. --key-fd 3 3<key)\n", arg);
			return -1;
		}
		o->key_fd = (int)fd;
		return 1;
	case CLI_OPT_CREDENTIAL:
		if (!*arg || strchr(arg, '/')) {
			fprintf(stderr, "zerowg: --credential \"%s\" is not a credential name "
				"(e.g. zerowg-unseal-key)\n", arg);
			return -1;
		}
		o->credential = arg;
		return 1;
	case CLI_OPT_KEYRING_KEY:
		if (!key_name_ok(arg)) {
			fprintf(stderr, "zerowg: --keyring-key \"%s\" is not a key name (1-64 "
				"of A-Z a-z 0-9 . _ : @ + -, e.g. zerowg:unseal)\n", arg);
			return -1;
		}
		o->keyring_key = arg;
		return 1;
	case CLI_OPT_KEYRING:
		o->keyring = true;
		return 1;
	}
	return 0;
}

const char *cli_server_option(int opt, const char **value)
{
	switch (opt) {
	case 'i': return "interface";
	case 'p': return "port";
	case 's': return "subnet";
	case 'e': return "endpoint";
	case 'd': return "dns";
	case 'a': return "allowed-ips";
	case 'k': return "keepalive";
	case 'm': return "mtu";
	case 'P': return "peers";
	case 'n': *value = "true"; return "nat";
	case CLI_OPT_NO_NAT: *value = "false"; return "nat";
	}
	return NULL;
}
