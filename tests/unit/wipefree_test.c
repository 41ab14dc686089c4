/*
 * wipefree_test.c - junk on free (src/common/wipefree.c), the real
 * mechanism: this program links wipefree.o as zerowg and zerowg-server do
 * (Makefile).  Each test puts a random secret in memory that is then freed
 * - by our own code (free, realloc growing and shrinking, reallocarray),
 * by glibc's stdio inside libc, by libqrencode (QR codes of a client
 * config, render_qr and render_qr_svg), by libmicrohttpd and jansson (a
 * POST /v1/peers through the real HTTP server on a memory store) - and
 * then scans the whole heap of the process for it: [heap] and every
 * anonymous mapping (thread stacks, mmapped blocks, the allocator's
 * arenas), read through /proc/self/mem.  Without wipefree.o each one is
 * found.  The scanner is checked against live copies first: a secret
 * still in use must be found, and exactly once.
 *
 * What the scanner must not see is its own: the secrets, the read buffer
 * and the HTTP answer live in one mmapped "vault" that the scan skips;
 * the main thread's stack ([stack]) is not scanned.
 */
#include "test.h"
#include "api.h"
#include "api_http.h"
#include "control.h"
#include "crypto.h"
#include "encoding.h"
#include "model.h"
#include "render.h"
#include "store.h"
#include "wipefree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define VAULT_SIZE (256 * 1024)
#define CHUNK (64 * 1024)
#define MAPS_MAX (256 * 1024)
/* Bigger mappings are reservations (ASan's shadow), not heap. */
#define MAPPING_MAX (1ull << 30)

static struct {
	char secret[KEY_BASE64_LEN + 1];	/* the needle */
	char readbuf[CHUNK + 64];
	char answer[64 * 1024];			/* the HTTP answer */
} *vault;
static char maps[MAPS_MAX];		/* no secret in it */
static int mem_fd = -1;

/* A fresh random secret: the base64 text of a key, as in a config. */
static void new_secret(void)
{
	uint8_t k[KEY_LEN];

	CHECK(crypto_random(k, sizeof(k)));
	key_to_base64(vault->secret, k);
	explicit_bzero(k, sizeof(k));
}

static size_t count_in(uint64_t start, uint64_t end)
{
	size_t n = 0, len = strlen(vault->secret);
	uint64_t at = start;

	while (at < end) {
		size_t want = end - at > CHUNK ? CHUNK : (size_t)(end - at);
		ssize_t got = pread(mem_fd, vault->readbuf, want, (off_t)at);
		const char *p, *q;

		if (got <= 0) {
			/* a page that cannot be read: skip it */
			at = (at | 4095) + 1;
			continue;
		}
		for (p = vault->readbuf, q = vault->readbuf + got;
		     (p = memmem(p, (size_t)(q - p), vault->secret, len)); p++)
			n++;
		if ((uint64_t)got < want || at + (uint64_t)got >= end)
			at += (uint64_t)got;
		else	/* overlap, for a copy across two chunks */
			at += (uint64_t)got - (len - 1);
	}
	return n;
}

/* Copies of the current secret in the heap: [heap] and anonymous
 * mappings, minus the vault. */
static size_t heap_copies(void)
{
	uint64_t vs = (uintptr_t)vault, ve = vs + VAULT_SIZE;
	size_t total = 0, len = 0;
	ssize_t n;
	char *line, *save = NULL;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	if (fd < 0)
		return 0;
	while (len < sizeof(maps) - 1 && (n = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	maps[len] = '\0';
	for (line = strtok_r(maps, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long s, e, off;
		char perms[8], dev[16];
		unsigned long ino;
		int pos = 0;
		const char *path;

		if (sscanf(line, "%llx-%llx %7s %llx %15s %lu %n", &s, &e, perms, &off, dev, &ino,
			   &pos) < 6)
			continue;
		path = pos ? line + pos : "";
		if (perms[0] != 'r' || (path[0] && strcmp(path, "[heap]")) || e - s > MAPPING_MAX)
			continue;
		if (e <= vs || s >= ve) {
			total += count_in(s, e);
		} else {
			if (s < vs)
				total += count_in(s, vs);
			if (e > ve)
				total += count_in(ve, e);
		}
	}
	return total;
}

/* The scanner itself: a live copy in a malloc'd block, in a big (mmapped)
 * block, on a thread-free anonymous page, is found exactly once each. */
static void test_scanner_finds_live_copies(void)
{
	char *small, *big, *page;
	size_t len;

	new_secret();
	len = strlen(vault->secret);
	CHECK_INT(heap_copies(), 0);
	small = malloc(200);
	big = malloc(1 << 20);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(small && big && page != MAP_FAILED);
	if (!small || !big || page == MAP_FAILED)
		return;
	memcpy(small + 50, vault->secret, len);
	CHECK_INT(heap_copies(), 1);
	memcpy(big + 500000, vault->secret, len);
	CHECK_INT(heap_copies(), 2);
	/* across the scanner's chunk boundary (the vault is 64 KiB aligned
	 * at best; the big block's chunks fall where they fall) */
	memcpy(big + (CHUNK - 10), vault->secret, len);
	memcpy(page + 4096 - len, vault->secret, len);
	CHECK(heap_copies() >= 3);
	explicit_bzero(big, 1 << 20);
	explicit_bzero(page, 4096);
	munmap(page, 4096);
	CHECK_INT(heap_copies(), 1);
	free(small);
	free(big);
}

static void test_is_active(void)
{
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_HWADDRESS__)
	CHECK(!wipefree_active());
#else
	CHECK(wipefree_active());
#endif
}

/* The secret at offset 32: glibc writes its free-list links over the
 * first 16 bytes of a freed chunk, which would hide a missing wipe. */
static char *block_with_secret(size_t size, size_t at)
{
	char *p = malloc(size);

	CHECK(p != NULL);
	if (p)
		memcpy(p + at, vault->secret, strlen(vault->secret));
	return p;
}

static void test_free_wipes(void)
{
	static const size_t sizes[] = { 100, 1000, 20000, 300000 };	/* tcache, bins, mmap */

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		new_secret();
		char *p = block_with_secret(sizes[i], 32);

		CHECK_INT(heap_copies(), 1);
		free(p);
		CHECK_INT(heap_copies(), 0);
	}
	free(NULL);
}

static void test_realloc_wipes_what_it_leaves(void)
{
	char *p, *fence, *q;

	/* growing: a neighbour in the way, so the block moves */
	new_secret();
	p = block_with_secret(100, 32);
	fence = malloc(100);
	q = realloc(p, 100000);
	CHECK(q != NULL);
	CHECK_INT(heap_copies(), 1);	/* the new block's, only */
	if (q)
		CHECK(!memcmp(q + 32, vault->secret, KEY_BASE64_LEN));
	free(q);
	CHECK_INT(heap_copies(), 0);

	/* shrinking: the tail becomes a free chunk */
	new_secret();
	p = block_with_secret(8192, 6000);
	q = realloc(p, 128);
	CHECK(q != NULL);
	CHECK_INT(heap_copies(), 0);
	free(q);

	/* realloc(p, 0) frees p */
	new_secret();
	p = block_with_secret(300, 32);
	CHECK(realloc(p, 0) == NULL);
	CHECK_INT(heap_copies(), 0);

	/* reallocarray: the same, and its overflow check */
	new_secret();
	p = block_with_secret(100, 32);
	q = reallocarray(p, 1000, 100);
	CHECK(q != NULL);
	CHECK_INT(heap_copies(), 1);
#ifndef __SANITIZE_ADDRESS__	/* ASan reports the overflow and stops */
	/* through a pointer: the compiler sees the overflow otherwise */
	void *(*volatile ra)(void *, size_t, size_t) = reallocarray;
	errno = 0;
	CHECK(ra(q, SIZE_MAX / 2, 4) == NULL);
	CHECK_INT(errno, ENOMEM);
#endif
	free(q);
	CHECK_INT(heap_copies(), 0);
	free(fence);
}

/* glibc frees its own buffers through the interposed free too: a FILE's
 * buffer, filled by reading a file that holds the secret. */
static void test_libc_internal_frees(void)
{
	char path[] = "/tmp/zwg-wipefree.XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	new_secret();
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, vault->secret, KEY_BASE64_LEN) == KEY_BASE64_LEN);
	close(fd);
	f = fopen(path, "r");
	unlink(path);
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fgetc(f) == vault->secret[0]);	/* the buffer holds the line */
	CHECK_INT(heap_copies(), 1);
	fclose(f);
	CHECK_INT(heap_copies(), 0);
}

/* libqrencode copies the text into its own buffers and frees them with
 * plain free(): issue 12 section 2. */
static void test_qr_copies_wiped(void)
{
	char *config, *qr, *svg;
	size_t cap = 512;

	new_secret();
	config = malloc(cap);
	CHECK(config != NULL);
	if (!config)
		return;
	snprintf(config, cap,
		 "[Interface]\nPrivateKey = %s\nAddress = 10.8.0.2/32, fd00::2/128\n"
		 "DNS = 10.8.0.1\n\n[Peer]\nPublicKey = 9MSoc1Lxr/bkPHtNZP0Nkay1xnSOa6t6Zn3V3Mc+X0s=\n"
		 "AllowedIPs = 0.0.0.0/0, ::/0\nEndpoint = vpn.example.org:51820\n", vault->secret);
	CHECK_INT(heap_copies(), 1);
	qr = render_qr(config);
	svg = render_qr_svg(config);
	CHECK(qr != NULL && svg != NULL);
	CHECK(render_qr_width(config) > 21);
	render_free(qr);
	render_free(svg);
	CHECK_INT(heap_copies(), 1);		/* the config itself, still ours */
	render_free(config);
	CHECK_INT(heap_copies(), 0);
}

static int no_apply(void *ctx, char *err, size_t errlen)
{
	return 0;
}

/* A reply carrying a private key through libmicrohttpd (its connection
 * buffers, the response copy) and jansson: nothing left once it is sent. */
static void test_http_reply_wiped(void)
{
	char dir[] = "/tmp/zwg-wipefree.XXXXXX", path[100], err[256];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct store_key *skey = store_key_new();
	struct control_error e;
	struct control *ctl = NULL;
	struct store *st = NULL;
	struct api api = { 0 };
	struct api_server *srv;
	const char *req = "POST /v1/peers HTTP/1.1\r\nHost: zerowg\r\n"
			  "Content-Type: application/json\r\nContent-Length: 33\r\n"
			  "Connection: close\r\n\r\n{\"name\":\"phone\",\"keep_key\":false}";
	const char *k;
	size_t got = 0;
	ssize_t n;
	int fd;

	CHECK(skey && crypto_random(skey->bytes, sizeof(skey->bytes)));
	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(store_create("memory:", skey, &st, err, sizeof(err)), 0);
	CHECK_INT(control_init_server(st, NULL, &e), 0);
	CHECK_INT(control_open(st, &ctl, &e), 0);
	if (!ctl)
		return;
	api.ctl = ctl;
	api.apply = no_apply;
	snprintf(path, sizeof(path), "%s/admin.sock", dir);
	srv = api_server_start(&api, path, err, sizeof(err));
	CHECK(srv != NULL);
	if (!srv) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	CHECK_INT(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	while (got < sizeof(vault->answer) - 1 &&
	       (n = read(fd, vault->answer + got, sizeof(vault->answer) - 1 - got)) > 0)
		got += (size_t)n;
	vault->answer[got] = '\0';
	close(fd);
	CHECK(!strncmp(vault->answer, "HTTP/1.1 201", 12));
	k = strstr(vault->answer, "\"private_key\":\"");
	CHECK(k != NULL);
	if (k && strlen(k + 15) > KEY_BASE64_LEN) {
		memcpy(vault->secret, k + 15, KEY_BASE64_LEN);
		vault->secret[KEY_BASE64_LEN] = '\0';
		CHECK(vault->secret[KEY_BASE64_LEN - 1] == '=');
		api_server_stop(srv);
		CHECK_INT(heap_copies(), 0);
	} else {
		api_server_stop(srv);
	}
	explicit_bzero(vault->answer, sizeof(vault->answer));
	control_close(ctl);
	store_close(st);
	store_key_free(skey);
	rmdir(dir);
}

int main(void)
{
	CHECK(crypto_init());
	vault = mmap(NULL, VAULT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	if (vault == MAP_FAILED || mem_fd < 0) {
		fprintf(stderr, "wipefree_test: cannot map the vault or open /proc/self/mem: %s\n",
			strerror(errno));
		return 1;
	}
	RUN(test_is_active);
	if (!wipefree_active()) {
		/* TSan, MSan, HWASan: their allocator, nothing wiped */
		printf("SKIP wipefree_test: this sanitizer's allocator does not wipe\n");
		TEST_EXIT();
	}
	RUN(test_scanner_finds_live_copies);
	RUN(test_free_wipes);
	RUN(test_realloc_wipes_what_it_leaves);
	RUN(test_libc_internal_frees);
	RUN(test_qr_copies_wiped);
	RUN(test_http_reply_wiped);
	TEST_EXIT();
}
