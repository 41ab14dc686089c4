/*
 * wgconf_fuzz.c - fuzz target for the wg-quick .conf parser
 * (src/control/wgconf.c) and `zerowg import` on top of it
 * (control_import_wgconf).  Besides "does not crash, leaks nothing":
 *   - a failed parse leaves an empty result and a message;
 *   - no message or warning ever holds a run of 40 base64 characters
 *     (a key must never be quoted back, even a malformed one);
 *   - parsed allowed IPs are masked, parsed names are valid names;
 *   - whatever parses either imports into a fresh memory store, or fails
 *     with a message; after an import, `zerowg export` parses again with
 *     the same number of peers and the same server key.
 * A broken invariant aborts, which libFuzzer and fuzz_main.c report.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "crypto.h"
#include "render.h"
#include "wgconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "wgconf_fuzz: invariant broken: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	abort();
}

static void check_no_key(const char *s)
{
	size_t run = 0;

	for (; *s; s++) {
		if (isalnum((unsigned char)*s) || *s == '+' || *s == '/' || *s == '=') {
			if (++run >= 40)
				fail("a message may quote a key", NULL);
		} else {
			run = 0;
		}
	}
}

static void check_import(const char *text, size_t len, const struct wgconf *parsed)
{
	struct store *st = NULL;
	struct control *ctl = NULL;
	struct control_error e;
	char err[256], **w = NULL, *out = NULL;
	size_t nw = 0, i;
	int ret;

	if (store_create("memory:", NULL, &st, err, sizeof(err)) ||
	    control_init_server(st, NULL, &e) || control_open(st, &ctl, &e))
		fail("setting up a memory store", err);
	control_error_clear(&e);
	ret = control_import_wgconf(ctl, text, len, &w, &nw, NULL, &e);
	for (i = 0; i < nw; i++) {
		check_no_key(w[i]);
		free(w[i]);
	}
	free(w);
	check_no_key(e.msg);
	if (ret) {
		if (!e.msg[0])
			fail("an import failed without a message", NULL);
		if (control_peer_count(ctl) != 0)
			fail("a failed import stored peers", e.msg);
	} else {
		struct wgconf back;
		struct control_error e2;

		if (control_peer_count(ctl) != parsed->n_peers)
			fail("the import lost or added peers", NULL);
		if (control_export(ctl, &out))
			fail("export failed after an import", NULL);
		if (wgconf_parse(out, strlen(out), &back, &e2))
			fail("the export does not parse", e2.msg);
		if (back.n_peers != parsed->n_peers)
			fail("the export has another number of peers", NULL);
		if (!back.has_private_key ||
		    !crypto_equal(back.private_key, parsed->private_key, MODEL_KEY_LEN))
			fail("the export has another server key", NULL);
		wgconf_free(&back);
		render_free(out);
	}
	control_close(ctl);
	store_close(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct wgconf c;
	struct control_error e;
	size_t i, j;
	int ret;

	if (!init) {
		if (!crypto_init())
			abort();
		model_json_wipe_on_free();
		init = true;
	}
	control_error_clear(&e);
	ret = wgconf_parse((const char *)data, size, &c, &e);
	check_no_key(e.msg);
	if (ret) {
		if (!e.msg[0])
			fail("a failed parse without a message", NULL);
		if (c.n_peers || c.peers || c.n_warnings || c.warnings || c.addresses || c.dns)
			fail("a failed parse left a result", NULL);
		return 0;
	}
	for (i = 0; i < c.n_warnings; i++)
		check_no_key(c.warnings[i]);
	for (i = 0; i < c.n_peers; i++) {
		const struct wgconf_peer *p = &c.peers[i];

		if (p->name && !model_name_valid(p->name, NULL))
			fail("a peer name that is not a name", NULL);
		for (j = 0; j < p->n_allowed_ips; j++) {
			struct ip_prefix m = p->allowed_ips[j];
			model_prefix_mask(&m);
			if (!model_prefix_equal(&m, &p->allowed_ips[j]))
				fail("an allowed IP kept host bits", NULL);
		}
	}
	/* the import needs a text without NULs: wgconf_parse refused those */
	if (c.has_private_key && size < 4096)
		check_import((const char *)data, size, &c);
	wgconf_free(&c);
	return 0;
}
