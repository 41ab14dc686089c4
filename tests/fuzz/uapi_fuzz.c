/*
 * uapi_fuzz.c - fuzz target for the UAPI text parser and formatter
 * (src/dataplane/uapi*.c).  Besides "does not crash, leaks nothing", it
 * checks the invariants a device relies on:
 *   - a failed parse leaves an empty config and an error message;
 *   - whatever parses formats as a get answer whose settable lines parse
 *     again, to the same answer when no public key repeats, and formatting
 *     is a fixed point after one round;
 *   - an endpoint or allowed IP that parses formats back to itself;
 *   - the same input read as a get answer (uapi_parse_get): a failure
 *     leaves an empty config, a terminated message and one of the
 *     documented codes; a success formats (uapi_format_get) to a canonical
 *     answer that parses to the same config and formats to itself, so a
 *     get answer that parses re-formats to itself once canonical (and a
 *     canonical one, such as every answer zerowgd sends, at once).
 * A broken invariant aborts, which both libFuzzer and the replay driver
 * (fuzz_main.c) report.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *err)
{
	fprintf(stderr, "uapi_fuzz: invariant broken: %s%s%s\n", what,
		err ? ": " : "", err ? err : "");
	abort();
}

static void wipe_free(char *s, size_t len)
{
	if (s) {
		explicit_bzero(s, len);
		free(s);
	}
}

/* Copies the lines of a get answer that a set accepts (into a new
 * buffer, which the caller wipes and frees). */
static char *settable_lines(const char *get, size_t len, size_t *out_len)
{
	static const char *const get_only[] = {
		"last_handshake_time_sec=", "last_handshake_time_nsec=",
		"tx_bytes=", "rx_bytes=", "errno=",
	};
	char *out = malloc(len + 1);
	size_t o = 0, i = 0;

	if (!out)
		return NULL;
	while (i < len) {
		const char *nl = memchr(get + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (get + i)) + 1 : len - i;
		int keep = n > 1;

		for (size_t k = 0; k < sizeof(get_only) / sizeof(get_only[0]); k++)
			if (n >= strlen(get_only[k]) &&
			    memcmp(get + i, get_only[k], strlen(get_only[k])) == 0)
				keep = 0;
		if (keep) {
			memcpy(out + o, get + i, n);
			o += n;
		}
		i += n;
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

static int unique_keys(const struct uapi_config *cfg)
{
	if (cfg->n_peers > 1000)
		return 0;	/* not worth the quadratic check */
	for (size_t i = 0; i < cfg->n_peers; i++)
		for (size_t j = i + 1; j < cfg->n_peers; j++)
			if (memcmp(cfg->peers[i].public_key, cfg->peers[j].public_key,
				   UAPI_KEY_LEN) == 0)
				return 0;
	return 1;
}

/* format(cfg) -> settable lines -> parse -> *back.  0, or -ENOMEM. */
static int round_trip(const struct uapi_config *cfg, struct uapi_config *back,
		      char **get, size_t *get_len)
{
	char err[256], *set;
	size_t set_len;
	int ret;

	ret = uapi_format_get(cfg, get, get_len);
	if (ret)
		return ret;
	if (*get_len < 9 || memcmp(*get + *get_len - 9, "errno=0\n\n", 9) != 0 ||
	    strlen(*get) != *get_len)
		fail("get answer does not end in errno=0 or holds a NUL", NULL);
	set = settable_lines(*get, *get_len, &set_len);
	if (!set) {
		wipe_free(*get, *get_len);
		*get = NULL;
		return -1;
	}
	ret = uapi_parse_set(set, set_len, back, err, sizeof(err));
	wipe_free(set, set_len);
	if (ret)
		fail("formatted config does not parse", err);
	return 0;
}

static void check_config(const struct uapi_config *cfg)
{
	struct uapi_config back, again;
	char *get1 = NULL, *get2 = NULL, *get3 = NULL;
	size_t len1, len2, len3;

	if (round_trip(cfg, &back, &get1, &len1))
		return;
	if (round_trip(&back, &again, &get2, &len2) == 0) {
		if (unique_keys(cfg) && (len1 != len2 || memcmp(get1, get2, len1) != 0))
			fail("get -> set -> get changed the answer", NULL);
		if (uapi_format_get(&again, &get3, &len3) == 0) {
			if (len2 != len3 || memcmp(get2, get3, len2) != 0)
				fail("formatting is not a fixed point", NULL);
			wipe_free(get3, len3);
		}
		uapi_config_free(&again);
		wipe_free(get2, len2);
	}
	uapi_config_free(&back);
	wipe_free(get1, len1);
}

static void check_small_parsers(const uint8_t *data, size_t size)
{
	char s[256], buf[128];
	union uapi_sockaddr sa, sa2;
	struct uapi_allowed_ip a, a2;

	if (size >= sizeof(s))
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (uapi_parse_endpoint(s, &sa) == 0) {
		uapi_format_endpoint(&sa, buf, sizeof(buf));
		if (uapi_parse_endpoint(buf, &sa2) != 0 || memcmp(&sa, &sa2, sizeof(sa)) != 0)
			fail("endpoint does not survive format -> parse", buf);
	}
	if (uapi_parse_allowed_ip(s, &a) == 0) {
		char host[INET6_ADDRSTRLEN];

		if (!inet_ntop(a.family, a.addr, host, sizeof(host)))
			fail("allowed_ip has a bad family", s);
		snprintf(buf, sizeof(buf), "%s/%u", host, (unsigned)a.cidr);
		if (uapi_parse_allowed_ip(buf, &a2) != 0 || memcmp(&a, &a2, sizeof(a)) != 0)
			fail("allowed_ip does not survive format -> parse", buf);
	}
}

/* Field by field, as a get reports them (arrays by content). */
static int configs_equal(const struct uapi_config *a, const struct uapi_config *b)
{
	if (a->has_private_key != b->has_private_key ||
	    memcmp(a->private_key, b->private_key, UAPI_KEY_LEN) ||
	    a->has_listen_port != b->has_listen_port || a->listen_port != b->listen_port ||
	    a->has_fwmark != b->has_fwmark || a->fwmark != b->fwmark ||
	    a->replace_peers != b->replace_peers || a->n_peers != b->n_peers)
		return 0;
	for (size_t i = 0; i < a->n_peers; i++) {
		const struct uapi_peer *p = &a->peers[i], *q = &b->peers[i];

		if (memcmp(p->public_key, q->public_key, UAPI_KEY_LEN) ||
		    p->remove != q->remove || p->update_only != q->update_only ||
		    p->has_preshared_key != q->has_preshared_key ||
		    memcmp(p->preshared_key, q->preshared_key, UAPI_KEY_LEN) ||
		    p->has_endpoint != q->has_endpoint ||
		    memcmp(&p->endpoint, &q->endpoint, sizeof(p->endpoint)) ||
		    p->has_persistent_keepalive != q->has_persistent_keepalive ||
		    p->persistent_keepalive_interval != q->persistent_keepalive_interval ||
		    p->replace_allowed_ips != q->replace_allowed_ips ||
		    p->n_allowed_ips != q->n_allowed_ips ||
		    (p->n_allowed_ips && memcmp(p->allowed_ips, q->allowed_ips,
						p->n_allowed_ips * sizeof(*p->allowed_ips))) ||
		    p->last_handshake_time_sec != q->last_handshake_time_sec ||
		    p->last_handshake_time_nsec != q->last_handshake_time_nsec ||
		    p->rx_bytes != q->rx_bytes || p->tx_bytes != q->tx_bytes)
			return 0;
	}
	return 1;
}

/* The input as a get answer. */
static void check_get(const uint8_t *data, size_t size)
{
	struct uapi_config cfg, back;
	char err[256], *get1 = NULL, *get2 = NULL;
	size_t len1, len2;
	int ret;

	memset(err, 'X', sizeof(err));
	ret = uapi_parse_get((const char *)data, size, &cfg, err, sizeof(err));
	if (ret) {
		if (!memchr(err, '\0', sizeof(err)) || err[0] == '\0')
			fail("get: failure without a terminated error message", NULL);
		if (ret != -EPROTO && ret != -EMSGSIZE && ret != -ENOMEM && (ret < -4095 || ret > -1))
			fail("get: an undocumented error code", err);
		if (cfg.peers || cfg.n_peers || cfg.has_private_key || cfg.has_listen_port)
			fail("get: failed parse left a config behind", err);
		return;
	}
	if (err[0] != '\0')
		fail("get: success with an error message", err);
	if (uapi_format_get(&cfg, &get1, &len1) == 0) {
		if (uapi_parse_get(get1, len1, &back, err, sizeof(err)) != 0)
			fail("get: the canonical answer does not parse", err);
		if (!configs_equal(&cfg, &back))
			fail("get: answer -> config -> answer -> config changed it", NULL);
		if (uapi_format_get(&back, &get2, &len2) == 0) {
			if (len1 != len2 || memcmp(get1, get2, len1) != 0)
				fail("get: the canonical answer does not re-format to itself", NULL);
			wipe_free(get2, len2);
		}
		uapi_config_free(&back);
		wipe_free(get1, len1);
	}
	uapi_config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uapi_config cfg;
	char err[256];

	memset(err, 'X', sizeof(err));
	if (uapi_parse_set((const char *)data, size, &cfg, err, sizeof(err)) == 0) {
		if (err[0] != '\0')
			fail("success with an error message", err);
		check_config(&cfg);
	} else {
		if (!memchr(err, '\0', sizeof(err)) || err[0] == '\0')
			fail("failure without a terminated error message", NULL);
		if (cfg.peers || cfg.n_peers || cfg.has_private_key)
			fail("failed parse left a config behind", err);
	}
	uapi_config_free(&cfg);
	check_small_parsers(data, size);
	check_get(data, size);
	return 0;
}
