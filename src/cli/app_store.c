/*
 * app_store.c - the records and places of `zerowg app` (app.h): each app's
 * sealed store under <data>/apps, the apps' ULA /48 (sealed in
 * <data>/apps/.prefix), the runtime paths (admin socket, namespace file),
 * and the unseal key, loaded once and checked against the main store.
 *
 * Relies on appnet.h (names, address allocation), control.h, store.h and
 * client.h (whether an app's server is running).
 */
#include "cli.h"
#include "app.h"
#include "appnet.h"
#include "client.h"
#include "control.h"
#include "crypto.h"
#include "model.h"
#include "paths.h"
#include "store.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX_STORE ".prefix"
#define PREFIX_RECORD "ula48"

void app_info_free(struct app_info *a)
{
	model_server_free(&a->rec);
	model_peer_array_free(a->peers, a->n_peers);
	memset(a, 0, sizeof(*a));
}

/* ------------------------------------------------------------ paths -- */

void app_store_uri(const struct app_cmd *ac, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "sealed:%s/%.*s", ac->apps_dir, APPNET_NAME_MAX, name);
}

/* <runtime>/zerowg/apps: next to the main admin socket. */
void app_runtime_dir(char *buf, size_t len)
{
	char *slash;

	snprintf(buf, len, "%s", paths_admin_socket());
	slash = strrchr(buf, '/');
	if (slash && slash != buf)
		*slash = '\0';
	snprintf(buf + strlen(buf), len - strlen(buf), "/apps");
}

void app_admin_socket(const char *name, char *buf, size_t len)
{
	char dir[PATH_MAX];

	app_runtime_dir(dir, sizeof(dir));
	snprintf(buf, len, "%.4000s/%.*s.sock", dir, APPNET_NAME_MAX, name);
}

/* The file naming the namespace of a running app (for show). */
void app_ns_file(const char *name, char *buf, size_t len)
{
	char dir[PATH_MAX];

	app_runtime_dir(dir, sizeof(dir));
	snprintf(buf, len, "%.4000s/%.*s.netns", dir, APPNET_NAME_MAX, name);
}

bool app_running(const char *name)
{
	char sock[PATH_MAX];

	app_admin_socket(name, sock, sizeof(sock));
	return client_server_running(sock);
}

bool app_exists(const struct app_cmd *ac, const char *name)
{
	char dir[PATH_MAX];
	struct stat st;

	snprintf(dir, sizeof(dir), "%.4000s/%.*s", ac->apps_dir, APPNET_NAME_MAX, name);
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir -p for our own directories, each new one with mode. */
int app_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* ----------------------------------------------------- the unseal key -- */

/* The name as an app's: valid, and (want_exists) there or not. */
int app_check_name(const struct app_cmd *ac, const char *name, bool want_exists)
{
	struct control_error e;

	control_error_clear(&e);
	if (!appnet_name_valid(name, &e)) {
		fprintf(stderr, "zerowg: %s\n", e.msg);
		return -1;
	}
	if (want_exists && !app_exists(ac, name)) {
		fprintf(stderr, "zerowg: no app \"%s\" in %s (zerowg app list shows them; "
			"zerowg app create %s makes it)\n", name, ac->apps_dir, name);
		return -1;
	}
	return 0;
}

/* Loads the unseal key and checks it against the main store.  0, or 1
 * after a message. */
int app_load_key(struct app_cmd *ac)
{
	struct store_key_source src = {
		.fd = ac->so.key_fd,
		.credential_name = ac->so.credential,
		.keyring_desc = ac->so.keyring_key,
		.allow_prompt = isatty(STDIN_FILENO) && ac->so.key_fd != STDIN_FILENO,
	};
	struct store_key *probe = store_key_new();
	struct store *st = NULL;
	const char *where = NULL;
	char uri[PATH_MAX + 8], err[512] = "";
	int ret;

	if (ac->key)
		return 0;
	if (!probe) {
		fprintf(stderr, "zerowg: out of memory\n");
		return 1;
	}
	snprintf(uri, sizeof(uri), "sealed:%s", ac->data_dir);
	/* A missing main store first: its message says to run init. */
	ret = store_open(uri, probe, &st, err, sizeof(err));
	store_key_free(probe);
	store_close(st);
	st = NULL;
	if (ret < 0 && ret != -EKEYREJECTED) {
		fprintf(stderr, "zerowg: %s (apps use the unseal key of the main store: run "
			"`zerowg init` first, or pass --data DIR)\n", err[0] ? err : strerror(-ret));
		return 1;
	}
	ret = store_key_load(&src, &ac->key, &where, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "zerowg: cannot unseal %s: %s\n", uri, err[0] ? err : strerror(-ret));
		if (ret == -ENOKEY)
			fprintf(stderr, "zerowg: give the unseal key with --key-fd N, a systemd "
				"credential, or `zerowg init --keyring` for this boot\n");
		return 1;
	}
	ret = store_open(uri, ac->key, &st, err, sizeof(err));
	store_close(st);
	if (ret < 0) {
		fprintf(stderr, "zerowg: %s%s%s%s\n", err[0] ? err : strerror(-ret),
			where ? " (the key came from " : "", where ? where : "", where ? ")" : "");
		store_key_free(ac->key);
		ac->key = NULL;
		return 1;
	}
	return 0;
}

/* Opens an app's store and control layer.  0, or 1 after a message. */
int app_open(struct app_cmd *ac, const char *name, struct store **st,
		    struct control **ctl)
{
	char uri[PATH_MAX + 8], err[512] = "";
	struct control_error e;
	int ret;

	*st = NULL;
	*ctl = NULL;
	if (app_load_key(ac))
		return 1;
	app_store_uri(ac, name, uri, sizeof(uri));
	ret = store_open(uri, ac->key, st, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "zerowg: app \"%s\": %s\n", name, err[0] ? err : strerror(-ret));
		return 1;
	}
	control_error_clear(&e);
	ret = control_open(*st, ctl, &e);
	if (ret < 0) {
		fprintf(stderr, "zerowg: app \"%s\": %s\n", name, e.msg[0] ? e.msg : strerror(-ret));
		store_close(*st);
		*st = NULL;
		return 1;
	}
	return 0;
}

void app_close(struct store *st, struct control *ctl)
{
	if (ctl)
		control_close(ctl);
	store_close(st);
}

/* Reads an app's record and peers.  0, or 1 after a message. */
int app_read(struct app_cmd *ac, const char *name, struct app_info *a)
{
	struct store *st;
	struct control *ctl;
	int ret;

	memset(a, 0, sizeof(*a));
	if (app_open(ac, name, &st, &ctl))
		return 1;
	snprintf(a->name, sizeof(a->name), "%s", name);
	ret = control_get_server(ctl, &a->rec, a->public_key);
	if (ret == 0)
		ret = control_peer_list(ctl, &a->peers, &a->n_peers);
	app_close(st, ctl);
	if (ret < 0) {
		fprintf(stderr, "zerowg: app \"%s\": reading its records: %s\n", name,
			strerror(-ret));
		app_info_free(a);
		return 1;
	}
	a->net4 = (struct ip_prefix){ .family = AF_INET, .len = a->rec.ipv4_prefix,
				      .addr.v4 = a->rec.ipv4 };
	a->net6 = (struct ip_prefix){ .family = AF_INET6, .len = a->rec.ipv6_prefix,
				      .addr.v6 = a->rec.ipv6 };
	model_prefix_mask(&a->net4);
	model_prefix_mask(&a->net6);
	return 0;
}

/* The names of every app, sorted.  0 or -errno. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int app_list_names(const struct app_cmd *ac, char ***out, size_t *n)
{
	DIR *d = opendir(ac->apps_dir);
	struct dirent *de;
	char **names = NULL;

	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		struct control_error e;
		char **grown;

		if (!appnet_name_valid(de->d_name, &e) || !app_exists(ac, de->d_name))
			continue;
		grown = realloc(names, (*n + 1) * sizeof(*names));
		if (!grown || !(grown[*n] = strdup(de->d_name))) {
			names = grown ? grown : names;
			closedir(d);
			for (size_t i = 0; i < *n; i++)
				free(names[i]);
			free(names);
			*n = 0;
			return -ENOMEM;
		}
		names = grown;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), cmp_str);
	*out = names;
	return 0;
}

void app_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The apps' ULA /48: read from its sealed record, or made (create).  0,
 * or 1 after a message. */
int app_ula48(struct app_cmd *ac, bool create, struct ip_prefix *out)
{
	char uri[PATH_MAX + 8], err[512] = "", text[MODEL_PREFIX_STRLEN];
	struct store *st = NULL;
	uint8_t *val = NULL;
	size_t len = 0;
	int ret;

	snprintf(uri, sizeof(uri), "sealed:%s/%s", ac->apps_dir, PREFIX_STORE);
	ret = store_open(uri, ac->key, &st, err, sizeof(err));
	if (ret == -ENOENT && create) {
		uint8_t gid[5];

		/* RFC 4193 3.2: a pseudo-random global ID, here 40 bits of
		 * the system's CSPRNG. */
		if (!crypto_random(gid, sizeof(gid))) {
			fprintf(stderr, "zerowg: the system's random source failed\n");
			return 1;
		}
		appnet_ula48(gid, out);
		model_format_prefix(out, text, sizeof(text));
		ret = store_create(uri, ac->key, &st, err, sizeof(err));
		if (ret == 0)
			ret = store_put(st, PREFIX_RECORD, (const uint8_t *)text, strlen(text),
					STORE_NEW, NULL);
		store_close(st);
		if (ret < 0) {
			fprintf(stderr, "zerowg: %s: %s\n", uri + 7, err[0] ? err : strerror(-ret));
			return 1;
		}
		return 0;
	}
	if (ret == 0)
		ret = store_get(st, PREFIX_RECORD, &val, &len, NULL);
	store_close(st);
	if (ret == 0) {
		snprintf(text, sizeof(text), "%.*s", (int)(len < sizeof(text) ? len : 0),
			 (const char *)val);
		store_value_free(val, len);
		if (model_parse_prefix(text, out, false) < 0 || !appnet_ula48_valid(out))
			ret = -EBADMSG;
	}
	if (ret < 0) {
		fprintf(stderr, "zerowg: the apps' address prefix in %s/%s: %s\n", ac->apps_dir,
			PREFIX_STORE, err[0] ? err : strerror(-ret));
		return 1;
	}
	return 0;
}

/* Whether UDP port is free here, IPv4 and IPv6. */
bool app_udp_port_free(uint16_t port, void *arg)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	int fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = fd4 >= 0 && bind(fd4, (struct sockaddr *)&a4, sizeof(a4)) == 0;
	int one = 1;

	(void)arg;
	if (ok && fd6 >= 0) {
		setsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		ok = bind(fd6, (struct sockaddr *)&a6, sizeof(a6)) == 0 || errno == EADDRNOTAVAIL;
	}
	if (fd4 >= 0)
		close(fd4);
	if (fd6 >= 0)
		close(fd6);
	return ok;
}

/* Removes a store directory we made: its files, then itself. */
void app_remove_store_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int dfd;

	if (!d)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dfd, de->d_name, 0);
	closedir(d);
	rmdir(dir);
}

/* Sets the server record's IPv6 address (control_init_server made a
 * random ULA /64 of its own). */
int app_set_ipv6(struct store *st, const struct ip_prefix *net6, struct control_error *e)
{
	struct server_record rec;
	struct ip_prefix host;
	uint8_t *val = NULL;
	size_t len = 0;
	uint64_t ver = 0;
	char *out = NULL;
	size_t out_len = 0;
	int ret;

	ret = store_get(st, MODEL_STORE_SERVER, &val, &len, &ver);
	if (ret < 0)
		return ret;
	ret = model_server_decode(val, len, &rec, e);
	store_value_free(val, len);
	if (ret < 0)
		return ret;
	appnet_first_host(net6, &host);
	rec.ipv6 = host.addr.v6;
	rec.ipv6_prefix = net6->len;
	ret = model_server_encode(&rec, &out, &out_len);
	if (ret == 0)
		ret = store_put(st, MODEL_STORE_SERVER, (const uint8_t *)out, out_len, ver, NULL);
	model_buffer_free(out, out_len);
	model_server_free(&rec);
	return ret;
}
