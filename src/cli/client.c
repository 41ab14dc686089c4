/*
 * client.c - the admin API client (client.h).
 *
 * One CURL handle per process, pointed at the unix socket; the host part of
 * the URL is ignored by the server.  The reply is collected in a buffer of
 * our own (wiped), parsed by jansson, and an error reply
 * {"error":"...","field":"..."} is turned into one line for a person.
 *
 * Before a request leaves, the CLI checks who serves the socket
 * (SO_PEERCRED on the very connection curl made: its fd comes from the
 * socket callback, the check runs in the prerequisite callback, after
 * connect and before a byte is sent): root, the CLI's own user or the
 * server's user zerowg.  Anyone else could be squatting the path to hand
 * out configs that point at them.  Every call has a connection of its own,
 * so every request is checked.
 *
 * Relies on libcurl (7.80+ for the prerequisite callback), jansson
 * (allocating through model.h's wiping functions) and malloc_usable_size
 * (glibc, also provided by the sanitizers) for curl's wiping allocators.
 */
#include "client.h"
#include "paths.h"
#include "cli.h"
#include "model.h"
#include "server.h"

#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A reply bigger than this is not from our server (10,000 peers take a few
 * megabytes). */
#define REPLY_MAX (64u << 20)
#define CALL_TIMEOUT_SEC 60L

/* ---- allocators that wipe ------------------------------------------------ */

static void *wipe_malloc(size_t n)
{
	return malloc(n);
}

static void wipe_free(void *p)
{
	if (!p)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* Never realloc in place: the old block may move and would not be wiped. */
static void *wipe_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (!p)
		return malloc(n);
	if (n == 0) {
		wipe_free(p);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (n <= old)
		return p;
	q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old);
	wipe_free(p);
	return q;
}

static char *wipe_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

static void *wipe_calloc(size_t n, size_t size)
{
	return calloc(n, size);
}

static bool curl_ready;

void client_use_wiping_allocators(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	/* jansson: the control layer's wiping allocator, so both agree. */
	model_json_wipe_on_free();
	curl_ready = curl_global_init_mem(CURL_GLOBAL_DEFAULT, wipe_malloc, wipe_free,
					  wipe_realloc, wipe_strdup, wipe_calloc) == CURLE_OK;
}

/* ---- the reply buffer ---------------------------------------------------- */

struct reply {
	char *buf;
	size_t len, cap;
	bool too_big;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct reply *r = ctx;
	size_t n = size * nmemb;

	if (r->len + n + 1 > REPLY_MAX) {
		r->too_big = true;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *nb;

		while (cap < r->len + n + 1)
			cap *= 2;
		nb = wipe_realloc(r->buf, cap);
		if (!nb)
			return 0;
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return n;
}

static void reply_free(struct reply *r)
{
	if (r->buf)
		explicit_bzero(r->buf, r->cap);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/* ---- calls ----------------------------------------------------------------- */

int client_open(struct client *c, const char *socket_path)
{
	memset(c, 0, sizeof(*c));
	if (!socket_path)
		socket_path = getenv("ZEROWG_ADMIN_SOCKET");
	if (!socket_path || !*socket_path)
		socket_path = paths_admin_socket();
	c->socket_path = socket_path;
	client_use_wiping_allocators();
	if (!curl_ready || !(c->curl = curl_easy_init())) {
		fprintf(stderr, "zerowg: cannot initialise libcurl\n");
		return -ENOMEM;
	}
	return 0;
}

void client_close(struct client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

bool client_server_running(const char *socket_path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	bool up;
	int fd;

	if (!socket_path)
		socket_path = getenv("ZEROWG_ADMIN_SOCKET");
	if (!socket_path || !*socket_path)
		socket_path = paths_admin_socket();
	if (strlen(socket_path) >= sizeof(sun.sun_path))
		return false;
	strcpy(sun.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	up = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return up;
}

char *client_peer_path(const char *name, const char *suffix)
{
	char *esc, *path = NULL;

	client_use_wiping_allocators();
	esc = curl_easy_escape(NULL, name, 0);
	if (!esc)
		return NULL;
	if (asprintf(&path, "/v1/peers/%s%s", esc, suffix ? suffix : "") < 0)
		path = NULL;
	curl_free(esc);
	return path;
}

/* ---- who serves the socket ------------------------------------------------ */

/* One call's connection, as curl's callbacks see it. */
struct server_check {
	const char *socket_path;
	int fd;			/* the socket curl connects, -1 until it made one */
	bool refused;		/* the prerequisite check said no (message in why) */
	char why[512];
};

static int note_socket(void *ctx, curl_socket_t fd, curlsocktype purpose)
{
	struct server_check *sc = ctx;

	if (purpose == CURLSOCKTYPE_IPCXN)
		sc->fd = fd;
	return CURL_SOCKOPT_OK;
}

/* May the process with uid serve us?  Root, ourselves, or the server's user. */
static bool trusted_server_uid(uid_t uid)
{
	struct passwd *pw;

	if (uid == 0 || uid == geteuid() || uid == getuid())
		return true;
	pw = getpwnam(SERVER_DEFAULT_USER);
	return pw && pw->pw_uid == uid;
}

/* After connect, before the request: whose socket is this? */
static int check_server(void *ctx, char *primary_ip, char *local_ip, int primary_port,
			int local_port)
{
	struct server_check *sc = ctx;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd *pw;

	(void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
	sc->refused = true;
	if (sc->fd < 0) {
		snprintf(sc->why, sizeof(sc->why), "zerowg: cannot tell who serves %s (no socket "
			 "seen before the request): refusing to send anything", sc->socket_path);
		return CURL_PREREQFUNC_ABORT;
	}
	if (getsockopt(sc->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		snprintf(sc->why, sizeof(sc->why), "zerowg: cannot tell who serves %s (SO_PEERCRED: "
			 "%s): refusing to send anything", sc->socket_path, strerror(errno));
		return CURL_PREREQFUNC_ABORT;
	}
	if (!trusted_server_uid(cred.uid)) {
		pw = getpwuid(cred.uid);
		snprintf(sc->why, sizeof(sc->why), "zerowg: %s is served by uid %u (%s), not by the "
			 "zerowg server's user: refusing to send anything (is --admin-socket or "
			 "$ZEROWG_ADMIN_SOCKET right?  A user's rootless server is that user's to "
			 "talk to)", sc->socket_path, (unsigned)cred.uid,
			 pw ? pw->pw_name : "no such user");
		return CURL_PREREQFUNC_ABORT;
	}
	sc->refused = false;
	return CURL_PREREQFUNC_OK;
}

/* Why no reply came, in words; errno_of_connect from CURLINFO_OS_ERRNO. */
static void report_transport(const struct client *c, CURLcode rc, long errno_of_connect)
{
	struct stat st;

	if (rc == CURLE_COULDNT_CONNECT) {
		if (errno_of_connect == EACCES || errno_of_connect == EPERM) {
			fprintf(stderr, "zerowg: permission denied on %s (the admin socket is "
				"mode 0660: run as root or as a member of its group)\n",
				c->socket_path);
			return;
		}
		if (stat(c->socket_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "zerowg: %s is not a socket (is --admin-socket right?)\n",
				c->socket_path);
			return;
		}
		fprintf(stderr, "zerowg: no server is running on %s (start it with `zerowg up`)\n",
			c->socket_path);
		return;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		fprintf(stderr, "zerowg: the server on %s did not answer within %ld s\n",
			c->socket_path, CALL_TIMEOUT_SEC);
		return;
	}
	fprintf(stderr, "zerowg: talking to the server on %s: %s\n", c->socket_path,
		curl_easy_strerror(rc));
}

/* The server's error reply as one line: `zerowg: SUBJECT: ERROR (field F)`. */
static void report_error(long status, json_t *answer, const char *subject)
{
	const char *msg = NULL, *field = NULL;

	if (json_is_object(answer)) {
		msg = json_string_value(json_object_get(answer, "error"));
		field = json_string_value(json_object_get(answer, "field"));
	}
	fprintf(stderr, "zerowg: ");
	/* The server's messages often name the peer already. */
	if (subject && !(msg && !strncmp(msg, subject, strlen(subject))))
		fprintf(stderr, "%s: ", subject);
	if (msg)
		fprintf(stderr, "%s", msg);
	else
		fprintf(stderr, "the server answered HTTP %ld without an explanation", status);
	if (field)
		fprintf(stderr, " (field %s)", field);
	fprintf(stderr, "\n");
}

json_t *client_call(struct client *c, const char *method, const char *path,
		    json_t *body, const char *subject, long *status_out)
{
	struct curl_slist *headers = NULL;
	struct reply r = { 0 };
	json_t *answer = NULL;
	json_error_t jerr;
	char *url = NULL, *text = NULL;
	long status = 0, os_errno = 0;
	struct server_check sc = { .socket_path = c->socket_path, .fd = -1 };
	CURL *h = c->curl;
	CURLcode rc;

	if (status_out)
		*status_out = 0;
	if (asprintf(&url, "http://zerowg%s", path) < 0) {
		url = NULL;
		fprintf(stderr, "zerowg: out of memory\n");
		goto out;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, CALL_TIMEOUT_SEC);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");	/* never via $http_proxy */
	/* A connection of its own, checked before the request goes out. */
	curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, note_socket);
	curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, &sc);
	curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, check_server);
	curl_easy_setopt(h, CURLOPT_PREREQDATA, &sc);
	headers = curl_slist_append(headers, "Accept: application/json");
	if (body) {
		text = model_json_dump(body, JSON_COMPACT, NULL);
		if (!text) {
			fprintf(stderr, "zerowg: out of memory\n");
			goto out;
		}
		headers = curl_slist_append(headers, "Content-Type: application/json");
		headers = curl_slist_append(headers, "Expect:");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
	} else if (!strcmp(method, "POST")) {
		/* A bodiless POST (enable, disable) still says so. */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

	rc = curl_easy_perform(h);
	if (sc.refused) {
		fprintf(stderr, "%s\n", sc.why);
		goto out;
	}
	if (rc != CURLE_OK) {
		if (r.too_big)
			fprintf(stderr, "zerowg: the reply from %s is larger than %u MiB\n",
				c->socket_path, REPLY_MAX >> 20);
		else {
			curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
			report_transport(c, rc, os_errno);
		}
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status_out)
		*status_out = status;
	if (r.len > 0) {
		answer = json_loadb(r.buf, r.len, 0, &jerr);
		if (!answer && status < 300) {
			fprintf(stderr, "zerowg: the server's answer to %s %s is not JSON: %s\n",
				method, path, jerr.text);
			goto out;
		}
	}
	if (status < 200 || status >= 300) {
		report_error(status, answer, subject);
		json_decref(answer);
		answer = NULL;
		goto out;
	}
	if (!answer)
		answer = json_object();	/* 204 No Content */
out:
	curl_slist_free_all(headers);
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	free(url);
	reply_free(&r);
	return answer;
}
