/*
 * cli_test.c - the parts of the `zerowg` command line that do not need a
 * server: argument parsing (args.c), genkey/genpsk/pubkey and wg's rules
 * for reading a key (genkey.c), number and time formatting and the client
 * config printout (show.c), the admin API client (client.c) and `zerowg
 * peer` (peer.c, peer_set.c) against a scripted HTTP server on a unix socket: what
 * they send, what they print, and the one-line messages they make of
 * errors, refused connections and bad input (which never reaches the
 * server).
 *
 * The CLI's sources are compiled into this program (they are not in
 * libzerowg); stdout and stderr are captured in memfds, so nothing touches
 * the disk but the test's socket in a private temporary directory.
 */
#include "test.h"

#include "../../src/cli/args.c"
#include "../../src/cli/client.c"
#include "../../src/cli/genkey.c"
#include "../../src/cli/peer.c"
#include "../../src/cli/peer_set.c"
#include "../../src/cli/secret_out.c"
#include "../../src/cli/show.c"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/wait.h>

/* ------------------------------------------------ capturing fd output -- */

/* stdout is captured in a pipe, as `zerowg ... | less` would see it (a
 * verb that prints a key refuses a file); stderr, and stdout when a test
 * wants "stdout is a file", in a memfd (a regular file). */
struct capture {
	int fd, saved, memfd;
	bool pipe;
};

static void capture_begin_as(struct capture *c, int fd, bool as_file)
{
	int p[2];

	fflush(fd == STDOUT_FILENO ? stdout : stderr);
	c->fd = fd;
	c->pipe = fd == STDOUT_FILENO && !as_file;
	c->saved = dup(fd);
	if (c->pipe) {
		/* Room for all a verb prints: nobody reads until it returns. */
		if (pipe2(p, O_CLOEXEC) < 0 || fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0)
			abort();
		c->memfd = p[0];
		if (dup2(p[1], fd) < 0)
			abort();
		close(p[1]);
	} else {
		c->memfd = memfd_create("capture", 0);
		if (c->memfd < 0 || dup2(c->memfd, fd) < 0)
			abort();
	}
	if (c->saved < 0)
		abort();
}

static void capture_begin(struct capture *c, int fd)
{
	capture_begin_as(c, fd, false);
}

/* Restores the fd and returns what was written (malloc'd). */
static char *capture_end(struct capture *c)
{
	size_t len = 0, cap = 1 << 16;
	off_t flen;
	char *buf;

	fflush(c->fd == STDOUT_FILENO ? stdout : stderr);
	dup2(c->saved, c->fd);	/* closes the pipe's last write end */
	close(c->saved);
	if (c->pipe) {
		buf = malloc(cap + 1);
		for (;;) {
			ssize_t n;

			if (!buf)
				abort();
			n = read(c->memfd, buf + len, cap - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				abort();
			if (n == 0)
				break;
			len += (size_t)n;
			if (len == cap)
				buf = realloc(buf, (cap *= 2) + 1);
		}
		buf[len] = '\0';
	} else {
		flen = lseek(c->memfd, 0, SEEK_END);
		buf = calloc(1, (size_t)flen + 1);
		if (!buf || pread(c->memfd, buf, (size_t)flen, 0) != flen)
			abort();
	}
	close(c->memfd);
	return buf;
}

/* Runs fn with stdin holding `input` (len bytes); returns stdout and puts
 * stderr in *err and the exit status in *status. */
static char *run_verb(int (*fn)(int, char **), const char *verb, const char *input, size_t len,
		      char **err, int *status)
{
	struct capture out, errc;
	char *argv[] = { (char *)verb, NULL };
	int in = memfd_create("stdin", 0), saved = dup(STDIN_FILENO);
	char *o;

	if (in < 0 || saved < 0 || write(in, input, len) != (ssize_t)len || lseek(in, 0, SEEK_SET))
		abort();
	dup2(in, STDIN_FILENO);
	close(in);
	clearerr(stdin);
	capture_begin(&out, STDOUT_FILENO);
	capture_begin(&errc, STDERR_FILENO);
	*status = fn(1, argv);
	*err = capture_end(&errc);
	o = capture_end(&out);
	/* pubkey gave stdin its own buffer: detach it before the next run. */
	dup2(saved, STDIN_FILENO);
	close(saved);
	clearerr(stdin);
	return o;
}

/* ------------------------------------------------------------- args.c -- */

static void test_parse_uint(void)
{
	unsigned long v = 7;

	CHECK_INT(cli_parse_uint("51820", 1, 65535, &v), 0);
	CHECK_INT(v, 51820);
	CHECK_INT(cli_parse_uint("0", 0, 10, &v), 0);
	CHECK_INT(v, 0);
	v = 7;
	CHECK_INT(cli_parse_uint("65536", 1, 65535, &v), -EINVAL);
	CHECK_INT(cli_parse_uint("0", 1, 65535, &v), -EINVAL);
	CHECK_INT(cli_parse_uint("-1", 0, 65535, &v), -EINVAL);
	CHECK_INT(cli_parse_uint(" 5", 0, 65535, &v), -EINVAL);
	CHECK_INT(cli_parse_uint("5 ", 0, 65535, &v), -EINVAL);
	CHECK_INT(cli_parse_uint("5x", 0, 65535, &v), -EINVAL);
	CHECK_INT(cli_parse_uint("", 0, 65535, &v), -EINVAL);
	CHECK_INT(cli_parse_uint("+5", 0, 65535, &v), -EINVAL);
	CHECK_INT(cli_parse_uint("99999999999999999999999", 0, ULONG_MAX, &v), -EINVAL);
	CHECK_INT(v, 7);	/* untouched on failure */
	CHECK(cli_is_help("--help") && cli_is_help("-h"));
	CHECK(!cli_is_help("help") && !cli_is_help("--helpme") && !cli_is_help(NULL));
}

static void test_store_uri_and_options(void)
{
	struct cli_store_opts o;
	struct capture c;
	char *u, *err;

	u = cli_store_uri(NULL, NULL);
	CHECK(u && !strcmp(u, "sealed:" CLI_DEFAULT_DATA_DIR));
	free(u);
	u = cli_store_uri("/srv/zwg", NULL);
	CHECK(u && !strcmp(u, "sealed:/srv/zwg"));
	free(u);
	u = cli_store_uri("/srv/zwg", "memory:");
	CHECK(u && !strcmp(u, "memory:"));
	free(u);

	cli_store_opts_init(&o);
	CHECK_INT(o.key_fd, -1);
	CHECK_INT(cli_store_option(&o, CLI_OPT_DATA, "/var/lib/x"), 1);
	CHECK(o.data_dir && !strcmp(o.data_dir, "/var/lib/x"));
	CHECK_INT(cli_store_option(&o, CLI_OPT_KEY_FD, "3"), 1);
	CHECK_INT(o.key_fd, 3);
	CHECK_INT(cli_store_option(&o, CLI_OPT_STORE, "memory:"), 1);
	CHECK_INT(cli_store_option(&o, CLI_OPT_KEYRING, NULL), 1);
	CHECK(o.keyring);
	CHECK_INT(cli_store_option(&o, 'x', "whatever"), 0);

	/* Bad values: -1 and a message that quotes the value. */
	capture_begin(&c, STDERR_FILENO);
	CHECK_INT(cli_store_option(&o, CLI_OPT_DATA, "relative/dir"), -1);
	CHECK_INT(cli_store_option(&o, CLI_OPT_KEY_FD, "three"), -1);
	CHECK_INT(cli_store_option(&o, CLI_OPT_STORE, "etcd://x"), -1);
	CHECK_INT(cli_store_option(&o, CLI_OPT_CREDENTIAL, "../key"), -1);
	err = capture_end(&c);
	CHECK(strstr(err, "--data \"relative/dir\""));
	CHECK(strstr(err, "--key-fd \"three\""));
	CHECK(strstr(err, "--store \"etcd://x\""));
	CHECK(strstr(err, "--credential \"../key\""));
	CHECK_INT(o.key_fd, 3);
	free(err);
}

/* ----------------------------------------------------------- genkey.c -- */

/* RFC 7748 section 6.1: Alice's private and public keys. */
static const char alice_priv_hex[] =
	"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char alice_pub_hex[] =
	"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

static void test_pubkey_vector(void)
{
	uint8_t priv[32], pub[32];
	char priv64[45], pub64[45], input[64], *out, *err;
	int status;

	test_unhex(priv, 32, alice_priv_hex);
	test_unhex(pub, 32, alice_pub_hex);
	key_to_base64(priv64, priv);
	key_to_base64(pub64, pub);

	/* As `wg genkey | wg pubkey`: the key and a newline. */
	snprintf(input, sizeof(input), "%s\n", priv64);
	out = run_verb(pubkey_main, "pubkey", input, strlen(input), &err, &status);
	CHECK_INT(status, 0);
	CHECK_INT(strlen(out), 45);
	CHECK(!strncmp(out, pub64, 44) && out[44] == '\n');
	CHECK_INT(strlen(err), 0);
	free(out);
	free(err);

	/* No newline, and trailing blanks and NUL bytes: all fine for wg. */
	out = run_verb(pubkey_main, "pubkey", priv64, 44, &err, &status);
	CHECK_INT(status, 0);
	CHECK(!strncmp(out, pub64, 44));
	free(out);
	free(err);
	memcpy(input, priv64, 44);
	memcpy(input + 44, " \t\n\0\n", 5);
	out = run_verb(pubkey_main, "pubkey", input, 49, &err, &status);
	CHECK_INT(status, 0);
	CHECK(!strncmp(out, pub64, 44));
	free(out);
	free(err);
}

static void test_pubkey_rejects_garbage(void)
{
	uint8_t priv[32];
	char priv64[45], input[80], *out, *err;
	int status;

	test_unhex(priv, 32, alice_priv_hex);
	key_to_base64(priv64, priv);

	/* Trailing characters. */
	snprintf(input, sizeof(input), "%s x\n", priv64);
	out = run_verb(pubkey_main, "pubkey", input, strlen(input), &err, &status);
	CHECK_INT(status, 1);
	CHECK_INT(strlen(out), 0);
	CHECK(strstr(err, "Trailing characters found after key"));
	free(out);
	free(err);

	/* Too short, empty, a leading blank (wg reads exactly 44 bytes). */
	out = run_verb(pubkey_main, "pubkey", priv64, 43, &err, &status);
	CHECK_INT(status, 1);
	CHECK(strstr(err, "Key is not the correct length or format"));
	free(out);
	free(err);
	out = run_verb(pubkey_main, "pubkey", "", 0, &err, &status);
	CHECK_INT(status, 1);
	CHECK_INT(strlen(out), 0);
	free(out);
	free(err);
	snprintf(input, sizeof(input), " %s", priv64);
	out = run_verb(pubkey_main, "pubkey", input, strlen(input), &err, &status);
	CHECK_INT(status, 1);
	free(out);
	free(err);

	/* Not base64, and a non-canonical last character (padding bits). */
	memcpy(input, priv64, 45);
	input[10] = '*';
	out = run_verb(pubkey_main, "pubkey", input, 44, &err, &status);
	CHECK_INT(status, 1);
	CHECK(strstr(err, "Key is not the correct length or format"));
	free(out);
	free(err);
	{
		static const char alphabet[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		size_t idx;

		memcpy(input, priv64, 45);
		idx = (size_t)(strchr(alphabet, input[42]) - alphabet);
		input[42] = alphabet[idx | 1];	/* a padding bit set */
	}
	out = run_verb(pubkey_main, "pubkey", input, 44, &err, &status);
	CHECK_INT(status, 1);
	free(out);
	free(err);

	/* Arguments are refused, as by wg. */
	{
		char *argv[] = { "pubkey", "extra", NULL };
		struct capture c;

		capture_begin(&c, STDERR_FILENO);
		CHECK_INT(pubkey_main(2, argv), 1);
		err = capture_end(&c);
		CHECK(strstr(err, "Usage: zerowg pubkey"));
		free(err);
	}
}

static void test_genkey_genpsk(void)
{
	uint8_t k1[32], k2[32];
	char *out1, *out2, *err;
	int status;

	out1 = run_verb(genkey_main, "genkey", "", 0, &err, &status);
	CHECK_INT(status, 0);
	free(err);
	out2 = run_verb(genkey_main, "genkey", "", 0, &err, &status);
	CHECK_INT(status, 0);
	free(err);
	CHECK_INT(strlen(out1), 45);
	CHECK(out1[44] == '\n');
	out1[44] = out2[44] = '\0';
	CHECK(key_from_base64(k1, out1));
	CHECK(key_from_base64(k2, out2));
	CHECK(memcmp(k1, k2, 32) != 0);
	/* A private key comes out clamped, as from `wg genkey`. */
	CHECK((k1[0] & 7) == 0 && (k1[31] & 0x80) == 0 && (k1[31] & 0x40) != 0);
	CHECK((k2[0] & 7) == 0 && (k2[31] & 0x80) == 0 && (k2[31] & 0x40) != 0);
	free(out1);
	free(out2);

	out1 = run_verb(genpsk_main, "genpsk", "", 0, &err, &status);
	CHECK_INT(status, 0);
	CHECK_INT(strlen(out1), 45);
	out1[44] = '\0';
	CHECK(key_from_base64(k1, out1));
	free(out1);
	free(err);

	/* The output of genkey goes into pubkey unchanged. */
	out1 = run_verb(genkey_main, "genkey", "", 0, &err, &status);
	free(err);
	out2 = run_verb(pubkey_main, "pubkey", out1, strlen(out1), &err, &status);
	CHECK_INT(status, 0);
	CHECK_INT(strlen(out2), 45);
	free(out1);
	free(out2);
	free(err);
}

/* ------------------------------------------------------------- show.c -- */

static void test_format(void)
{
	char b[96];

	cli_format_bytes(0, b, sizeof(b));
	CHECK(!strcmp(b, "0 B"));
	cli_format_bytes(1023, b, sizeof(b));
	CHECK(!strcmp(b, "1023 B"));
	cli_format_bytes(1536, b, sizeof(b));
	CHECK(!strcmp(b, "1.50 KiB"));
	cli_format_bytes(5ull << 30, b, sizeof(b));
	CHECK(!strcmp(b, "5.00 GiB"));
	cli_format_bytes(3ull << 50, b, sizeof(b));
	CHECK(!strcmp(b, "3072.00 TiB"));

	cli_format_ago(0, 1000, b, sizeof(b));
	CHECK(!strcmp(b, "never"));
	cli_format_ago(1000, 1000, b, sizeof(b));
	CHECK(!strcmp(b, "now"));
	cli_format_ago(1000, 1001, b, sizeof(b));
	CHECK(!strcmp(b, "1 second ago"));
	cli_format_ago(1000, 1061, b, sizeof(b));
	CHECK(!strcmp(b, "1 minute, 1 second ago"));
	cli_format_ago(1000, 1000 + 2 * 86400 + 3 * 3600 + 120, b, sizeof(b));
	CHECK(!strcmp(b, "2 days, 3 hours, 2 minutes ago"));
}

static void test_show_client_config(void)
{
	const char *config = "[Interface]\nPrivateKey = secret-of-the-test\nAddress = 10.13.13.2/32\n";
	struct capture c, c2;
	char *out, *err;

	capture_begin(&c, STDOUT_FILENO);
	CHECK_INT(cli_show_client_config("phone", config, true, true, false), 0);
	out = capture_end(&c);
	{
		char *b = strstr(out, "----- BEGIN CLIENT CONFIG -----\n");
		char *e = strstr(out, "----- END CLIENT CONFIG -----\n");

		CHECK(b && e && b < e);
		/* Exactly the config between the lines. */
		CHECK(b && e && (size_t)(e - b) == strlen("----- BEGIN CLIENT CONFIG -----\n") + strlen(config));
		CHECK(b && !strncmp(b + strlen("----- BEGIN CLIENT CONFIG -----\n"), config, strlen(config)));
		/* A QR code after the config (full or half blocks), then the note. */
		CHECK(e && strstr(e, "\xe2\x96\x88"));
		CHECK(strstr(out, "does not keep this private key"));
		CHECK(strstr(out, "peer \"phone\""));
	}
	free(out);

	capture_begin(&c, STDOUT_FILENO);
	CHECK_INT(cli_show_client_config("srv", "[Interface]\nPrivateKey = x", false, true, true), 0);
	out = capture_end(&c);
	/* A missing final newline is added before the END line; no QR. */
	CHECK(strstr(out, "PrivateKey = x\n----- END CLIENT CONFIG -----\n"));
	CHECK(!strstr(out, "\xe2\x96\x88"));
	CHECK(strstr(out, "keeps this private key"));
	CHECK(strstr(out, "zerowg show-peer srv"));
	free(out);

	/* No Endpoint line: a warning on stderr that says how to set one;
	 * none when the config has one. */
	capture_begin(&c, STDOUT_FILENO);
	capture_begin(&c2, STDERR_FILENO);
	CHECK_INT(cli_show_client_config("a", "[Interface]\nPrivateKey = x\n\n[Peer]\n"
					 "PublicKey = y\nAllowedIPs = 0.0.0.0/0\n", false, true,
					 false), 0);
	err = capture_end(&c2);
	free(capture_end(&c));
	CHECK(strstr(err, "has no Endpoint") && strstr(err, "--endpoint") &&
	      strstr(err, "SERVERURL"));
	free(err);
	capture_begin(&c, STDOUT_FILENO);
	capture_begin(&c2, STDERR_FILENO);
	CHECK_INT(cli_show_client_config("b", "[Interface]\nPrivateKey = x\n\n[Peer]\n"
					 "PublicKey = y\nEndpoint = 192.0.2.1:51820\n", false, true,
					 false), 0);
	err = capture_end(&c2);
	free(capture_end(&c));
	CHECK(!strstr(err, "Endpoint"));
	free(err);
}

/* ----------------------------------------------------------- client.c -- */

/* A scripted HTTP server: accepts one connection, keeps the request and
 * sends `response` verbatim. */
struct fake_server {
	char dir[64], path[128];
	int fd;
	char response[4096];
	char request[8192];
	pthread_t thread;
};

static void *fake_serve(void *arg)
{
	struct fake_server *fs = arg;
	size_t len = 0;
	int c = accept(fs->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	/* Headers, then the body by Content-Length. */
	for (;;) {
		ssize_t n = read(c, fs->request + len, sizeof(fs->request) - 1 - len);
		char *hdr_end, *cl;

		if (n <= 0)
			break;
		len += (size_t)n;
		fs->request[len] = '\0';
		hdr_end = strstr(fs->request, "\r\n\r\n");
		if (!hdr_end)
			continue;
		cl = strcasestr(fs->request, "Content-Length:");
		if (!cl || cl > hdr_end ||
		    len >= (size_t)(hdr_end + 4 - fs->request) + strtoul(cl + 15, NULL, 10))
			break;
	}
	if (write(c, fs->response, strlen(fs->response)) < 0)
		perror("fake server write");
	close(c);
	return NULL;
}

/* status: "409 Conflict"; body NULL for none. */
static void fake_start(struct fake_server *fs, const char *status, const char *body)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(fs, 0, sizeof(*fs));
	snprintf(fs->response, sizeof(fs->response),
		 "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s", status, body ? strlen(body) : 0, body ? body : "");
	snprintf(fs->dir, sizeof(fs->dir), "/tmp/zwg-cli-test.XXXXXX");
	if (!mkdtemp(fs->dir))
		abort();
	snprintf(fs->path, sizeof(fs->path), "%s/admin.sock", fs->dir);
	strcpy(sun.sun_path, fs->path);
	fs->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fs->fd < 0 || bind(fs->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fs->fd, 1) < 0)
		abort();
	pthread_create(&fs->thread, NULL, fake_serve, fs);
}

static void fake_stop(struct fake_server *fs)
{
	pthread_join(fs->thread, NULL);
	close(fs->fd);
	unlink(fs->path);
	rmdir(fs->dir);
}

static json_t *call(struct fake_server *fs, const char *method, const char *path, json_t *body,
		    const char *subject, long *status, char **err)
{
	struct client cl;
	struct capture c;
	json_t *j;

	CHECK_INT(client_open(&cl, fs->path), 0);
	capture_begin(&c, STDERR_FILENO);
	j = client_call(&cl, method, path, body, subject, status);
	*err = capture_end(&c);
	client_close(&cl);
	return j;
}

static void test_client_success(void)
{
	struct fake_server fs;
	json_t *body = json_pack("{ss}", "name", "phone"), *j;
	long status = -1;
	char *err;

	fake_start(&fs, "201 Created", "{\"peer\":{\"name\":\"phone\"},\"private_key\":\"k=\"}");
	j = call(&fs, "POST", "/v1/peers", body, "peer \"phone\"", &status, &err);
	fake_stop(&fs);
	CHECK(j != NULL);
	CHECK_INT(status, 201);
	CHECK(!strcmp(json_string_value(json_object_get(json_object_get(j, "peer"), "name")), "phone"));
	CHECK_INT(strlen(err), 0);
	CHECK(!strncmp(fs.request, "POST /v1/peers HTTP/1.1\r\n", 25));
	CHECK(strcasestr(fs.request, "Content-Type: application/json"));
	CHECK(strstr(fs.request, "\r\n\r\n{\"name\":\"phone\"}"));
	json_decref(j);
	json_decref(body);
	free(err);
}

static void test_client_no_content_and_empty_post(void)
{
	struct fake_server fs;
	long status = -1;
	char *err;
	json_t *j;

	fake_start(&fs, "204 No Content", NULL);
	j = call(&fs, "DELETE", "/v1/peers/phone", NULL, NULL, &status, &err);
	fake_stop(&fs);
	CHECK(json_is_object(j) && json_object_size(j) == 0);
	CHECK_INT(status, 204);
	CHECK(!strncmp(fs.request, "DELETE /v1/peers/phone HTTP/1.1\r\n", 33));
	json_decref(j);
	free(err);

	/* A bodiless POST says Content-Length: 0 (libmicrohttpd wants it). */
	fake_start(&fs, "200 OK", "{}");
	j = call(&fs, "POST", "/v1/peers/phone/enable", NULL, NULL, &status, &err);
	fake_stop(&fs);
	CHECK(j != NULL);
	CHECK(strcasestr(fs.request, "Content-Length: 0"));
	json_decref(j);
	free(err);
}

static void test_client_error_messages(void)
{
	static const char dup[] =
		"{\"error\":\"peer \\\"phone\\\" already exists (pick another name)\",\"field\":\"name\"}";
	static const char bad[] =
		"{\"error\":\"routes[0] \\\"10.0.0.0/33\\\" is not a prefix\",\"field\":\"routes[0]\"}";
	struct fake_server fs;
	long status;
	char *err;
	json_t *j;

	/* The subject is not repeated when the server's message starts with it. */
	fake_start(&fs, "409 Conflict", dup);
	j = call(&fs, "POST", "/v1/peers", NULL, "peer \"phone\"", &status, &err);
	fake_stop(&fs);
	CHECK(j == NULL);
	CHECK_INT(status, 409);
	CHECK(!strcmp(err, "zerowg: peer \"phone\" already exists (pick another name) (field name)\n"));
	free(err);

	fake_start(&fs, "400 Bad Request", bad);
	j = call(&fs, "POST", "/v1/peers", NULL, "peer \"office\"", &status, &err);
	fake_stop(&fs);
	CHECK(j == NULL);
	CHECK_INT(status, 400);
	CHECK(!strcmp(err, "zerowg: peer \"office\": routes[0] \"10.0.0.0/33\" is not a prefix "
		      "(field routes[0])\n"));
	free(err);

	fake_start(&fs, "500 Internal Server Error", "oops!");
	j = call(&fs, "GET", "/v1/server", NULL, NULL, &status, &err);
	fake_stop(&fs);
	CHECK(j == NULL);
	CHECK_INT(status, 500);
	CHECK(strstr(err, "HTTP 500"));
	free(err);
}

static void test_client_no_server(void)
{
	char dir[] = "/tmp/zwg-cli-test.XXXXXX", path[128], *err;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct client cl;
	struct capture c;
	long status = -1;
	json_t *j;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/admin.sock", dir);

	/* No socket file at all. */
	CHECK(!client_server_running(path));
	CHECK_INT(client_open(&cl, path), 0);
	capture_begin(&c, STDERR_FILENO);
	j = client_call(&cl, "GET", "/v1/peers", NULL, NULL, &status);
	err = capture_end(&c);
	CHECK(j == NULL);
	CHECK_INT(status, 0);
	CHECK(strstr(err, "zerowg: no server is running on ") && strstr(err, path) &&
	      strstr(err, "(start it with `zerowg up`)"));
	free(err);

	/* A stale socket: the file is there, nobody listens (ECONNREFUSED). */
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_INT(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	CHECK(!client_server_running(path));
	capture_begin(&c, STDERR_FILENO);
	j = client_call(&cl, "GET", "/v1/peers", NULL, NULL, &status);
	err = capture_end(&c);
	CHECK(j == NULL);
	CHECK(strstr(err, "no server is running on"));
	free(err);
	client_close(&cl);
	unlink(path);
	rmdir(dir);
}

static void test_peer_path(void)
{
	char *p = client_peer_path("phone", "/config");

	CHECK(p && !strcmp(p, "/v1/peers/phone/config"));
	free(p);
	/* Whatever a user types stays one path segment. */
	p = client_peer_path("a b/../c", NULL);
	CHECK(p && !strcmp(p, "/v1/peers/a%20b%2F..%2Fc"));
	free(p);
}

/* ------------------------------------------------------------- peer.c -- */

/* Runs `zerowg peer ARGS...` (NULL-terminated) with the fake server's
 * socket; returns stdout, *err gets stderr.  stdout is a pipe, or a file
 * (a memfd) while stdout_is_file is set. */
static bool stdout_is_file;

static char *run_peer(struct fake_server *fs, char **err, int *status, ...)
{
	char *argv[32];
	struct capture out, errc;
	va_list ap;
	int argc = 0;
	char *o;

	argv[argc++] = "peer";
	va_start(ap, status);
	while (argc < 28 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc++] = "--admin-socket";
	argv[argc++] = fs->path;
	argv[argc] = NULL;
	optind = 0;	/* getopt starts over for every verb run */
	capture_begin_as(&out, STDOUT_FILENO, stdout_is_file);
	capture_begin(&errc, STDERR_FILENO);
	*status = peer_main(argc, argv);
	*err = capture_end(&errc);
	o = capture_end(&out);
	return o;
}

static void test_peer_add_request_and_output(void)
{
	static const char answer[] =
		"{\"peer\":{\"name\":\"office\",\"ipv4\":\"10.13.13.9\",\"ipv6\":\"fd00::9\","
		"\"key_kept\":true},\"client_config\":\"[Interface]\\nPrivateKey = test\\n\\n"
		"[Peer]\\nEndpoint = 192.0.2.1:51820\\n\","
		"\"private_key\":\"test\",\"qr\":null}";
	struct fake_server fs;
	json_t *body, *routes;
	json_error_t jerr;
	char *out, *err, *b;
	int64_t now = (int64_t)time(NULL), exp;
	int status;

	fake_start(&fs, "201 Created", answer);
	out = run_peer(&fs, &err, &status, "add", "--route", "192.168.1.0/24", "office",
		       "--expires", "30d", "--route", "192.168.2.0/24", "--keep-key",
		       "--dns", "10.13.13.1", "--keepalive", "25", NULL);
	fake_stop(&fs);
	CHECK_INT(status, 0);
	CHECK_INT(strlen(err), 0);
	CHECK(!strncmp(fs.request, "POST /v1/peers HTTP/1.1\r\n", 25));
	b = strstr(fs.request, "\r\n\r\n");
	body = b ? json_loads(b + 4, 0, &jerr) : NULL;
	CHECK(body != NULL);
	routes = json_object_get(body, "routes");
	CHECK(!strcmp(json_string_value(json_object_get(body, "name")), "office"));
	CHECK_INT(json_array_size(routes), 2);
	CHECK(!strcmp(json_string_value(json_array_get(routes, 0)), "192.168.1.0/24"));
	CHECK(!strcmp(json_string_value(json_array_get(routes, 1)), "192.168.2.0/24"));
	CHECK(json_is_true(json_object_get(body, "keep_key")));
	CHECK(!strcmp(json_string_value(json_object_get(body, "dns")), "10.13.13.1"));
	CHECK_INT(json_integer_value(json_object_get(body, "persistent_keepalive")), 25);
	/* The duration became an absolute time here, on this clock. */
	exp = json_integer_value(json_object_get(body, "expires"));
	CHECK(exp >= now + 30 * 86400 && exp <= (int64_t)time(NULL) + 30 * 86400);
	json_decref(body);
	CHECK(strstr(out, "peer \"office\" added: 10.13.13.9, fd00::9"));
	CHECK(strstr(out, "----- BEGIN CLIENT CONFIG -----\n[Interface]\nPrivateKey = test\n\n"
			  "[Peer]\nEndpoint = 192.0.2.1:51820\n----- END CLIENT CONFIG -----\n"));
	CHECK(strstr(out, "\xe2\x96\x88"));
	CHECK(strstr(out, "keeps this private key"));
	free(out);
	free(err);
}

static void test_peer_bad_input_stays_local(void)
{
	struct fake_server fs = { .path = "/nonexistent/zerowg-cli-test.sock" };
	char *out, *err;
	int status;

	/* No server at that path: the CLI must fail before it tries one. */
	out = run_peer(&fs, &err, &status, "add", "bad name!", NULL);
	CHECK_INT(status, 1);
	CHECK(strstr(err, "\"bad name!\"") && strstr(err, "(field name)"));
	CHECK(!strstr(err, "no server"));
	free(out);
	free(err);

	out = run_peer(&fs, &err, &status, "add", "laptop", "--expires", "tomorrowish", NULL);
	CHECK_INT(status, 1);
	CHECK(strstr(err, "zerowg: peer \"laptop\": ") && strstr(err, "tomorrowish") &&
	      strstr(err, "(field expires)"));
	CHECK(!strstr(err, "no server"));
	free(out);
	free(err);

	out = run_peer(&fs, &err, &status, "add", "laptop", "--keepalive", "70000", NULL);
	CHECK_INT(status, 1);
	CHECK(strstr(err, "\"70000\"") && strstr(err, "(field persistent_keepalive)"));
	free(out);
	free(err);

	out = run_peer(&fs, &err, &status, "add", NULL);
	CHECK_INT(status, 1);
	CHECK(strstr(err, "needs one NAME"));
	free(out);
	free(err);

	out = run_peer(&fs, &err, &status, "frob", "x", NULL);
	CHECK_INT(status, 1);
	CHECK(strstr(err, "\"frob\""));
	free(out);
	free(err);

	/* With a name it can send, the transport error is the message. */
	out = run_peer(&fs, &err, &status, "disable", "phone", NULL);
	CHECK_INT(status, 1);
	CHECK(strstr(err, "no server is running on /nonexistent/zerowg-cli-test.sock"));
	free(out);
	free(err);
}

/* ---------------------------------------------------------- peer_set.c -- */

/* The body of the fake server's last request, parsed (NULL if none). */
static json_t *request_body(const struct fake_server *fs)
{
	const char *b = strstr(fs->request, "\r\n\r\n");

	return b ? json_loads(b + 4, 0, NULL) : NULL;
}

static void test_peer_set_request_and_output(void)
{
	static const char answer[] =
		"{\"name\":\"office\",\"ipv4\":\"10.13.13.9\",\"routes\":[\"192.168.1.0/24\","
		"\"192.168.2.0/24\"],\"dns\":\"9.9.9.9\",\"allowed_ips\":\"10.0.0.0/8\","
		"\"persistent_keepalive\":25,\"expires\":1924992000,\"key_kept\":true}";
	struct fake_server fs;
	json_t *body, *routes;
	char *out, *err;
	int64_t now = (int64_t)time(NULL), exp;
	int status;

	fake_start(&fs, "200 OK", answer);
	out = run_peer(&fs, &err, &status, "set", "office", "--route", "192.168.1.0/24",
		       "--expires", "30d", "--route", "192.168.2.0/24", "--dns", "9.9.9.9",
		       "--allowed-ips", "10.0.0.0/8", "--keepalive", "25", NULL);
	fake_stop(&fs);
	CHECK_INT(status, 0);
	CHECK(!strncmp(fs.request, "PATCH /v1/peers/office HTTP/1.1\r\n", 33));
	body = request_body(&fs);
	CHECK(body != NULL);
	routes = json_object_get(body, "routes");
	CHECK_INT(json_array_size(routes), 2);
	CHECK(!strcmp(json_string_value(json_array_get(routes, 1)), "192.168.2.0/24"));
	CHECK(!strcmp(json_string_value(json_object_get(body, "dns")), "9.9.9.9"));
	CHECK(!strcmp(json_string_value(json_object_get(body, "allowed_ips")), "10.0.0.0/8"));
	CHECK_INT(json_integer_value(json_object_get(body, "persistent_keepalive")), 25);
	exp = json_integer_value(json_object_get(body, "expires"));
	CHECK(exp >= now + 30 * 86400 && exp <= (int64_t)time(NULL) + 30 * 86400);
	CHECK(!json_object_get(body, "name"));		/* the name is the path */
	CHECK_INT(json_object_size(body), 5);
	json_decref(body);
	CHECK(strstr(out, "peer \"office\" is updated"));
	CHECK(strstr(out, "  routes: 192.168.1.0/24, 192.168.2.0/24\n"));
	CHECK(strstr(out, "  expires: 2031-01-01 00:00:00 UTC\n"));
	CHECK(strstr(out, "  dns: 9.9.9.9\n"));
	/* the client's own config changed: how it gets it again */
	CHECK(strstr(err, "needs its config again") && strstr(err, "zerowg show-peer office"));
	free(out);
	free(err);

	/* only what is given is sent; routes alone need no new client config */
	fake_start(&fs, "200 OK", "{\"name\":\"office\",\"routes\":[],\"expires\":0}");
	out = run_peer(&fs, &err, &status, "set", "office", "--no-routes", "--expires", "never",
		       NULL);
	fake_stop(&fs);
	CHECK_INT(status, 0);
	body = request_body(&fs);
	CHECK(body && json_is_array(json_object_get(body, "routes")) &&
	      json_array_size(json_object_get(body, "routes")) == 0);
	CHECK(body && json_is_integer(json_object_get(body, "expires")) &&
	      json_integer_value(json_object_get(body, "expires")) == 0);
	CHECK_INT(json_object_size(body), 2);
	json_decref(body);
	CHECK(strstr(out, "  routes: none\n") && strstr(out, "  expires: never\n"));
	CHECK_INT(strlen(err), 0);
	free(out);
	free(err);

	/* "" is the server's; a key not kept: rotate */
	fake_start(&fs, "200 OK", "{\"name\":\"phone\",\"key_kept\":false}");
	out = run_peer(&fs, &err, &status, "set", "phone", "--dns", "", NULL);
	fake_stop(&fs);
	CHECK_INT(status, 0);
	body = request_body(&fs);
	CHECK(body && !strcmp(json_string_value(json_object_get(body, "dns")), ""));
	json_decref(body);
	CHECK(strstr(out, "  dns: the server's\n"));
	CHECK(strstr(err, "zerowg peer rotate phone"));
	free(out);
	free(err);

	/* the server's refusal, naming the field */
	fake_start(&fs, "400 Bad Request", "{\"error\":\"peer \\\"office\\\": routes[0] "
		   "\\\"10.13.0.0/16\\\" overlaps the tunnel subnet 10.13.13.0/24\","
		   "\"field\":\"routes[0]\"}");
	out = run_peer(&fs, &err, &status, "set", "office", "--route", "10.13.0.0/16", NULL);
	fake_stop(&fs);
	CHECK_INT(status, 1);
	CHECK(strstr(err, "overlaps the tunnel subnet") && strstr(err, "(field routes[0])"));
	CHECK_INT(strlen(out), 0);
	free(out);
	free(err);
}

static void test_peer_set_bad_input_stays_local(void)
{
	static const struct {
		const char *args[6], *said;
	} cases[] = {
		{ { "set", "office", NULL }, "nothing to change" },
		{ { "set", NULL }, "needs one NAME" },
		{ { "set", "a", "b", "--dns", "1.1.1.1", NULL }, "not several" },
		{ { "set", "bad name!", "--dns", "1.1.1.1", NULL }, "(field name)" },
		{ { "set", "office", "--expires", "tomorrowish", NULL }, "(field expires)" },
		{ { "set", "office", "--keepalive", "70000", NULL }, "\"70000\"" },
		{ { "set", "office", "--keepalive", "-1", NULL }, "(field persistent_keepalive)" },
		{ { "set", "office", "--route", "10.1.0.0/16", "--no-routes", NULL },
		  "contradict" },
		{ { "set", "office", "--frob", NULL }, "peer set --help" },
	};
	struct fake_server fs = { .path = "/nonexistent/zerowg-cli-test.sock" };
	char *out, *err;
	int status;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;
		out = run_peer(&fs, &err, &status, a[0], a[1], a[2], a[3], a[4], a[5]);
		if (!strstr(err, cases[i].said))
			fprintf(stderr, "  case %zu: %s", i, err);
		CHECK_INT(status, 1);
		CHECK(strstr(err, cases[i].said));
		CHECK(!strstr(err, "no server"));	/* nothing was sent */
		free(out);
		free(err);
	}
	/* help: the usage, exit 0; and in `zerowg peer --help` */
	out = run_peer(&fs, &err, &status, "set", "--help", NULL);
	CHECK_INT(status, 0);
	CHECK(strstr(out, "zerowg peer set NAME") && strstr(out, "--no-routes"));
	free(out);
	free(err);
	out = run_peer(&fs, &err, &status, "--help", NULL);
	CHECK(strstr(out, "zerowg peer set NAME [--expires WHEN|never]") &&
	      strstr(out, "set     changes a peer"));
	free(out);
	free(err);
}

static void test_peer_list_table(void)
{
	char answer[1024];
	struct fake_server fs;
	char *out, *err, *line2, *line3;
	int status;

	snprintf(answer, sizeof(answer),
		 "{\"peers\":["
		 "{\"name\":\"laptop\",\"ipv4\":\"10.13.13.3\",\"enabled\":false,"
		 "\"disabled_reason\":\"expired\",\"online\":false,\"latest_handshake\":0,"
		 "\"rx_bytes\":0,\"tx_bytes\":0},"
		 "{\"name\":\"phone\",\"ipv4\":\"10.13.13.2\",\"enabled\":true,"
		 "\"online\":true,\"latest_handshake\":%lld,\"rx_bytes\":1536,"
		 "\"tx_bytes\":3145728}]}", (long long)time(NULL) - 61);
	fake_start(&fs, "200 OK", answer);
	out = run_peer(&fs, &err, &status, "list", NULL);
	fake_stop(&fs);
	CHECK_INT(status, 0);
	/* The table asks for just the fields it shows. */
	CHECK(!strncmp(fs.request, "GET /v1/peers?fields=name,ipv4,enabled,disabled_reason,online,"
		       "latest_handshake,rx_bytes,tx_bytes HTTP/1.1\r\n", 107));
	/* A header, then one aligned row per peer, in the server's order. */
	CHECK(!strncmp(out, "NAME    ADDRESS     ENABLED       ONLINE  LATEST HANDSHAKE", 58));
	line2 = strchr(out, '\n');
	line3 = line2 ? strchr(line2 + 1, '\n') : NULL;
	CHECK(line2 && !strncmp(line2 + 1, "laptop  10.13.13.3  no (expired)  no      never ", 48));
	CHECK(line3 && !strncmp(line3 + 1, "phone   10.13.13.2  yes           yes     1 minute, ", 51));
	CHECK(strstr(out, "1.50 KiB") && strstr(out, "3.00 MiB"));
	free(out);
	free(err);

	fake_start(&fs, "200 OK", "{\"peers\":[]}");
	out = run_peer(&fs, &err, &status, "list", NULL);
	fake_stop(&fs);
	CHECK_INT(status, 0);
	CHECK(strstr(out, "No peers yet"));
	free(out);
	free(err);
}

static void test_peer_change_paths(void)
{
	static const struct {
		const char *verb, *request, *said;
	} cases[] = {
		{ "enable", "POST /v1/peers/phone/enable HTTP/1.1", "is enabled" },
		{ "disable", "POST /v1/peers/phone/disable HTTP/1.1", "is disabled" },
		{ "revoke", "DELETE /v1/peers/phone HTTP/1.1", "is revoked" },
	};
	struct fake_server fs;
	char *out, *err;
	int status;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_start(&fs, i == 2 ? "204 No Content" : "200 OK",
			   i == 2 ? NULL : "{\"name\":\"phone\",\"enabled\":true}");
		out = run_peer(&fs, &err, &status, cases[i].verb, "phone", NULL);
		fake_stop(&fs);
		CHECK_INT(status, 0);
		CHECK(!strncmp(fs.request, cases[i].request, strlen(cases[i].request)));
		CHECK(strstr(out, cases[i].said));
		free(out);
		free(err);
	}

	/* rotate sends keep_key, and prints the new config. */
	fake_start(&fs, "200 OK", "{\"peer\":{\"name\":\"phone\",\"ipv4\":\"10.13.13.2\"},"
		   "\"client_config\":\"[Interface]\\nPrivateKey = new\\n\"}");
	out = run_peer(&fs, &err, &status, "rotate", "phone", "--no-qr", NULL);
	fake_stop(&fs);
	CHECK_INT(status, 0);
	CHECK(!strncmp(fs.request, "POST /v1/peers/phone/rotate HTTP/1.1", 36));
	CHECK(strstr(fs.request, "{\"keep_key\":false}"));
	CHECK(strstr(out, "PrivateKey = new") && !strstr(out, "\xe2\x96\x88"));
	CHECK(strstr(out, "does not keep this private key"));
	free(out);
	free(err);
}

/* --------------------------------------------------------- secret_out.c -- */

/* Where a key may go: a terminal, a pipe, a socket, /dev/null; never a
 * file, a block or other device, the systemd journal, or a closed fd. */
static void test_secret_sink(void)
{
	char what[320], env[64], path[] = "/tmp/zwg-cli-secret.XXXXXX";
	int p[2], sp[2], fd, ptm;
	struct stat st;

	CHECK_INT(pipe(p), 0);
	CHECK_INT(cli_secret_sink_check(p[1], what, sizeof(what)), 0);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	CHECK_INT(cli_secret_sink_check(sp[0], what, sizeof(what)), 0);
	fd = open("/dev/null", O_WRONLY);
	CHECK_INT(cli_secret_sink_check(fd, what, sizeof(what)), 0);
	close(fd);
	/* A terminal: the master side of a pty answers isatty too. */
	ptm = posix_openpt(O_RDWR | O_NOCTTY);
	if (ptm >= 0 && grantpt(ptm) == 0 && unlockpt(ptm) == 0) {
		fd = open(ptsname(ptm), O_RDWR | O_NOCTTY);
		CHECK(fd >= 0);
		CHECK_INT(cli_secret_sink_check(fd, what, sizeof(what)), 0);
		close(fd);
	}
	if (ptm >= 0)
		close(ptm);

	/* A regular file, named in the message. */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_INT(cli_secret_sink_check(fd, what, sizeof(what)), -EPERM);
	CHECK(!strncmp(what, "the file ", 9) && strstr(what, path));
	close(fd);
	unlink(path);
	fd = memfd_create("x", 0);
	CHECK_INT(cli_secret_sink_check(fd, what, sizeof(what)), -EPERM);
	CHECK(!strncmp(what, "the file ", 9));
	close(fd);
	/* A character device that stores or is not a person: refused. */
	fd = open("/dev/zero", O_WRONLY);
	CHECK_INT(cli_secret_sink_check(fd, what, sizeof(what)), -EPERM);
	CHECK(strstr(what, "/dev/zero") && strstr(what, "not a terminal"));
	close(fd);
	/* Closed. */
	CHECK_INT(cli_secret_sink_check(fd, what, sizeof(what)), -EBADF);

	/* The journal is a socket, named by $JOURNAL_STREAM: refused; any
	 * other socket, and a garbled variable, are not the journal. */
	CHECK_INT(fstat(sp[0], &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	CHECK_INT(cli_secret_sink_check(sp[0], what, sizeof(what)), -EPERM);
	CHECK(strstr(what, "systemd journal"));
	CHECK_INT(cli_secret_sink_check(sp[1], what, sizeof(what)), 0);
	CHECK_INT(cli_secret_sink_check(p[1], what, sizeof(what)), 0);
	strcat(env, "x");
	setenv("JOURNAL_STREAM", env, 1);
	CHECK_INT(cli_secret_sink_check(sp[0], what, sizeof(what)), 0);
	setenv("JOURNAL_STREAM", ":", 1);
	CHECK_INT(cli_secret_sink_check(sp[0], what, sizeof(what)), 0);
	unsetenv("JOURNAL_STREAM");
	close(p[0]);
	close(p[1]);
	close(sp[0]);
	close(sp[1]);
}

/* peer add and rotate with stdout in a file: refused before anything is
 * sent (the socket does not even exist: a message about it would mean the
 * CLI tried), with a message that names the file and says what to do. */
static void test_peer_refuses_file_stdout(void)
{
	struct fake_server fs = { .path = "/nonexistent/zerowg-cli-test.sock" };
	char *out, *err;
	int status;

	stdout_is_file = true;
	out = run_peer(&fs, &err, &status, "add", "phone", NULL);
	CHECK_INT(status, 1);
	CHECK_INT(strlen(out), 0);
	CHECK(strstr(err, "zerowg: peer \"phone\" not added: its client config holds its "
		      "private key: stdout is the file ") &&
	      strstr(err, "zerowg writes no key to a file") &&
	      strstr(err, "zerowg peer add phone | less"));
	CHECK(!strstr(err, "no server"));
	free(out);
	free(err);

	out = run_peer(&fs, &err, &status, "rotate", "phone", "--no-qr", NULL);
	CHECK_INT(status, 1);
	CHECK_INT(strlen(out), 0);
	CHECK(strstr(err, "peer \"phone\" not rotated") && strstr(err, "stdout is the file ") &&
	      strstr(err, "zerowg peer rotate phone | less"));
	CHECK(!strstr(err, "no server"));
	free(out);
	free(err);
	stdout_is_file = false;

	/* Verbs that print no key still write to a file. */
	out = run_peer(&fs, &err, &status, "disable", "phone", NULL);
	CHECK(strstr(err, "no server"));
	free(out);
	free(err);
}

/* A rotation the server could not apply (500) is a failure here too:
 * non-zero, the server's message, no config printed. */
static void test_peer_rotate_failure(void)
{
	struct fake_server fs;
	char *out, *err;
	int status;

	fake_start(&fs, "500 Internal Server Error",
		   "{\"error\":\"peer \\\"phone\\\": a new key is stored, but applying the "
		   "configuration to interface zwg0: Input/output error; the old key may still "
		   "connect until the device is updated: rotate again once it is\",\"field\":null}");
	out = run_peer(&fs, &err, &status, "rotate", "phone", NULL);
	fake_stop(&fs);
	CHECK(status != 0);
	CHECK(strstr(err, "rotate again") && strstr(err, "Input/output error"));
	CHECK(!strstr(out, "BEGIN CLIENT CONFIG"));
	free(out);
	free(err);
}

int main(void)
{
	client_use_wiping_allocators();
	CHECK(crypto_init());
	RUN(test_parse_uint);
	RUN(test_store_uri_and_options);
	RUN(test_pubkey_vector);
	RUN(test_pubkey_rejects_garbage);
	RUN(test_genkey_genpsk);
	RUN(test_format);
	RUN(test_show_client_config);
	RUN(test_client_success);
	RUN(test_client_no_content_and_empty_post);
	RUN(test_client_error_messages);
	RUN(test_client_no_server);
	RUN(test_peer_path);
	RUN(test_peer_add_request_and_output);
	RUN(test_peer_bad_input_stays_local);
	RUN(test_peer_set_request_and_output);
	RUN(test_peer_set_bad_input_stays_local);
	RUN(test_peer_list_table);
	RUN(test_peer_change_paths);
	RUN(test_secret_sink);
	RUN(test_peer_refuses_file_stdout);
	RUN(test_peer_rotate_failure);
	TEST_EXIT();
}
