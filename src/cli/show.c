/*
 * show.c - how the CLI shows things to a person: a client config with its
 * QR code (the only moment a client's private key is visible), byte counts
 * and ages as `wg show` prints them, and errors from the control layer.
 *
 * Anything that holds a key is written with write(2) (cli_print_secret),
 * so no stdio buffer keeps a copy after the process is done with it.
 * Relies on render.h for the QR code.
 */
#include "cli.h"
#include "model.h"
#include "render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_BEGIN "----- BEGIN CLIENT CONFIG -----\n"
#define CONFIG_END "----- END CLIENT CONFIG -----\n"

int cli_print_secret(const char *text)
{
	/* What stdio holds goes first, so the order on the terminal stays. */
	fflush(stdout);
	return cli_write_all(STDOUT_FILENO, text, strlen(text));
}

int cli_show_client_config(const char *name, const char *config, bool with_qr,
			   bool fresh, bool key_kept)
{
	size_t len = strlen(config);
	char *qr = NULL;
	int ret;

	printf("Client config of peer \"%s\" (import it in the WireGuard app, or save it "
	       "as /etc/wireguard/wg0.conf on the client):\n", name);
	ret = cli_print_secret(CONFIG_BEGIN);
	if (!ret)
		ret = cli_print_secret(config);
	if (!ret && len > 0 && config[len - 1] != '\n')
		ret = cli_print_secret("\n");
	if (!ret)
		ret = cli_print_secret(CONFIG_END);
	if (ret) {
		fprintf(stderr, "zerowg: cannot write the config to stdout: %s\n", strerror(-ret));
		return 1;
	}
	if (with_qr) {
		qr = render_qr(config);
		if (!qr) {
			/* The config is out already; a QR code is a convenience. */
			fprintf(stderr, "zerowg: peer \"%s\": no QR code: %s\n", name,
				errno == ERANGE ? "the config is too long for one" : strerror(errno));
		} else {
			printf("\nScan it with the WireGuard app (\"+\", then \"Scan from QR code\"):\n");
			ret = cli_print_secret(qr);
			render_free(qr);
			if (ret) {
				fprintf(stderr, "zerowg: cannot write the QR code to stdout: %s\n",
					strerror(-ret));
				return 1;
			}
		}
	}
	/* A config without an Endpoint cannot start a tunnel: the most common
	 * "connected but no traffic".  Say so where it is handed out. */
	if (strncmp(config, "Endpoint = ", 11) && !strstr(config, "\nEndpoint = "))
		fprintf(stderr, "zerowg: warning: this config has no Endpoint: the server does not "
			"know the address clients reach it at.  Set it (zerowg up --endpoint "
			"HOST[:PORT], or SERVERURL=HOST), then add the line to this config: "
			"Endpoint = HOST:PORT\n");
	if (fresh && key_kept)
		printf("\nThe server keeps this private key (sealed in its store): "
		       "`zerowg show-peer %s` shows the config again.\n", name);
	else if (fresh)
		printf("\nThe server does not keep this private key: this is the only time it "
		       "is shown.\nLost it? `zerowg peer rotate %s` makes a new one.\n", name);
	fflush(stdout);
	return 0;
}

void cli_format_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", n);
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.2f %s", v, units[u]);
}

/* Appends "N unit(s)" to buf, with a ", " separator after the first. */
static void append_unit(char *buf, size_t len, int64_t n, const char *unit, bool *first)
{
	size_t used = strlen(buf);

	if (n <= 0 || used >= len)
		return;
	snprintf(buf + used, len - used, "%s%" PRId64 " %s%s", *first ? "" : ", ", n, unit,
		 n == 1 ? "" : "s");
	*first = false;
}

void cli_format_ago(int64_t then, int64_t now, char *buf, size_t len)
{
	int64_t d = now - then;
	bool first = true;

	if (then <= 0) {
		snprintf(buf, len, "never");
		return;
	}
	if (d <= 0) {
		snprintf(buf, len, "now");
		return;
	}
	buf[0] = '\0';
	append_unit(buf, len, d / 86400, "day", &first);
	append_unit(buf, len, d / 3600 % 24, "hour", &first);
	append_unit(buf, len, d / 60 % 60, "minute", &first);
	append_unit(buf, len, d % 60, "second", &first);
	if (strlen(buf) + 5 < len)
		strcat(buf, " ago");
}

void cli_control_error(const char *subject, const struct control_error *e)
{
	fprintf(stderr, "zerowg: ");
	/* Control messages often name the peer already. */
	if (subject && strncmp(e->msg, subject, strlen(subject)))
		fprintf(stderr, "%s: ", subject);
	fprintf(stderr, "%s", e->msg[0] ? e->msg : "failed (no reason given)");
	if (e->field[0])
		fprintf(stderr, " (field %s)", e->field);
	fprintf(stderr, "\n");
}
