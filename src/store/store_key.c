/*
 * store_key.c - the unseal key: where it comes from (an inherited fd, a
 * systemd credential, the kernel keyring, a prompt on the terminal), its
 * text forms, and the memory it lives in (store.h, struct store_key).
 *
 * The key is held in secmem (locked, not dumped, wiped on free); every
 * stack or heap buffer that saw its bytes or text is wiped before it goes
 * out of scope.  Nothing here writes the key to a file.
 *
 * Relies on secmem.h, encoding.h (constant-time base64/hex), OpenSSL's
 * RAND_bytes, and the raw keyring syscalls (add_key, keyctl), since
 * libkeyutils is not a dependency.
 */
#include "store.h"
#include "encoding.h"
#include "secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/rand.h>

#define DEFAULT_CREDENTIAL "zerowg-unseal-key"
#define DEFAULT_KEYRING_DESC "zerowg:unseal"
/* Room for the longest accepted form (hex + CRLF) and a little more, so
 * "too long" is told apart from "just right". */
#define KEY_TEXT_MAX 128
/*
 * The key `zerowg init --keyring` leaves in the kernel for `zerowg up`.
 *
 * Where: the user keyring (@u) of the uid that ran init.  It is the
 * narrowest that still works: a session keyring (@s) dies with the login
 * or sudo that ran init and is not the one a later `zerowg up` from
 * another shell or a service gets; @u is shared by every process of that
 * uid and by nothing else (load_keyring searches @u first, then @s for a
 * key an operator put there by hand).
 *
 * Who can read it: processes running as that uid (and root, which can
 * become any uid or read any memory anyway); nobody may change it, its
 * permissions or its timeout afterwards.  Possessor and owner may view,
 * read, search and link it (0x1b each), nothing else: readable by the
 * service even when @u is not linked into its session, and by no other
 * user; link lets the server hold the key alone, not its whole ring
 * (store_key_keyring_hold).
 *
 * How long: until the clean stop of the server that used it (it
 * invalidates it: store_key_keyring_forget, below; a crash leaves it for
 * the restart), and KEYRING_TIMEOUT, a week, at most: a server that runs
 * for months must not leave it readable in the kernel all that time.
 * Production takes the key from a systemd credential.  Once it is gone,
 * `keyctl padd user zerowg:unseal @u` (or --key-fd) gives it again.
 */
#define KEY_PERM 0x1b1b0000u
#define KEYRING_TIMEOUT (7u * 24 * 3600)

struct store_key *store_key_new(void)
{
	return secmem_alloc(sizeof(struct store_key));
}

void store_key_free(struct store_key *k)
{
	secmem_free(k, sizeof(*k));
}

int store_key_generate(struct store_key *k)
{
	return RAND_bytes(k->bytes, STORE_KEY_LEN) == 1 ? 0 : -EIO;
}

/*
 * An operator's key must look like what `zerowg init` makes: 32 bytes from
 * a CSPRNG.  Three tests catch what people give instead, each with a
 * false-positive rate for a truly random key (32 independent uniform
 * bytes) far below anything that will ever be seen:
 *
 *  - fewer than KEY_MIN_DISTINCT (16) distinct byte values: a constant key
 *    (one value), a short pattern repeated ("abcd" x 8, 0xdeadbeef x 8),
 *    mostly zeros.  32 random bytes show about 30 distinct values; the
 *    chance of 15 or fewer is sum over d <= 15 of
 *    S(32,d) * 256!/(256-d)! / 256^32 = 3.2e-17 (2^-54.8; S = Stirling
 *    numbers of the second kind, computed exactly).
 *  - every byte printable ASCII or \t \n \r (98 of 256 values): a password
 *    or passphrase, or 32 characters of a text key, given as the raw
 *    form.  By chance: (98/256)^32 = 4.6e-14 (2^-44.3).
 *  - every step between neighbours the same (mod 256): counting keys such
 *    as 00 01 02 .. 1f.  By chance: 256^-30 (2^-240).
 *
 * Together: under 5e-14, i.e. one random key in twenty trillion is
 * refused.  Base64 and hex are only encodings of 32 bytes, so the decoded
 * bytes are judged, whatever form they came in.  The branches depend on
 * the key; it runs once per load, on a key the caller has in hand anyway.
 */
#define KEY_MIN_DISTINCT 16

bool store_key_looks_random(const struct store_key *k, char *why, size_t whylen)
{
	uint8_t seen[256 / 8] = { 0 };
	const uint8_t *b = k->bytes;
	unsigned distinct = 0;
	bool text = true, steps = true;

	for (size_t i = 0; i < STORE_KEY_LEN; i++) {
		uint8_t bit = (uint8_t)(1u << (b[i] & 7));

		if (!(seen[b[i] >> 3] & bit)) {
			seen[b[i] >> 3] |= bit;
			distinct++;
		}
		if (!((b[i] >= 0x20 && b[i] < 0x7f) || b[i] == '\t' || b[i] == '\n' ||
		      b[i] == '\r'))
			text = false;
		if (i >= 2 && (uint8_t)(b[i] - b[i - 1]) != (uint8_t)(b[1] - b[0]))
			steps = false;
	}
	explicit_bzero(seen, sizeof(seen));
	if (!why || !whylen)
		return distinct >= KEY_MIN_DISTINCT && !text && !steps;
	if (distinct == 1)
		snprintf(why, whylen, "all %d bytes are the same", STORE_KEY_LEN);
	else if (distinct < KEY_MIN_DISTINCT)
		snprintf(why, whylen, "its %d bytes take only %u different values (random ones "
			 "take about 30)", STORE_KEY_LEN, distinct);
	else if (text)
		snprintf(why, whylen, "its %d bytes are all printable text, like a password "
			 "(a base64 or hex key must be given whole: 44 or 64 characters)",
			 STORE_KEY_LEN);
	else if (steps)
		snprintf(why, whylen, "its %d bytes count up in equal steps", STORE_KEY_LEN);
	else
		return true;
	return false;
}

void store_key_to_base64(const struct store_key *k, char out[45])
{
	key_to_base64(out, k->bytes);
}

/* Length of text without one trailing "\n" or "\r\n". */
static size_t trim_newline(const char *text, size_t len)
{
	if (len && text[len - 1] == '\n')
		len--;
	if (len && text[len - 1] == '\r')
		len--;
	return len;
}

int store_key_from_base64(struct store_key *k, const char *text)
{
	char buf[KEY_BASE64_LEN + 1];
	size_t len = trim_newline(text, strnlen(text, KEY_BASE64_LEN + 3));
	int ret = -EINVAL;

	if (len == KEY_BASE64_LEN) {
		memcpy(buf, text, len);
		buf[len] = '\0';
		if (key_from_base64(k->bytes, buf))
			ret = 0;
	}
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

/* One key in any accepted form: 32 raw bytes, or base64 / hex text with an
 * optional newline.  0 or -EINVAL; k untouched on failure. */
static int parse_key(struct store_key *k, const uint8_t *buf, size_t len)
{
	char text[KEY_HEX_LEN + 1];
	size_t n;
	bool ok = false;

	if (len == STORE_KEY_LEN) {
		memcpy(k->bytes, buf, STORE_KEY_LEN);
		return 0;
	}
	n = trim_newline((const char *)buf, len);
	if (n == KEY_BASE64_LEN || n == KEY_HEX_LEN) {
		memcpy(text, buf, n);
		text[n] = '\0';
		ok = n == KEY_BASE64_LEN ? key_from_base64(k->bytes, text)
					 : key_from_hex(k->bytes, text);
	}
	explicit_bzero(text, sizeof(text));
	return ok ? 0 : -EINVAL;
}

/* Reads fd to end of file into buf (at most KEY_TEXT_MAX bytes). */
static int read_all(int fd, uint8_t buf[KEY_TEXT_MAX], size_t *len)
{
	size_t got = 0;

	for (;;) {
		ssize_t r = read(fd, buf + got, KEY_TEXT_MAX - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == KEY_TEXT_MAX)
			return -EMSGSIZE;
	}
	*len = got;
	return 0;
}

static const char formats[] = "32 raw bytes, or one base64 key (44 characters, as "
			      "`wg genkey` prints) or 64 hex digits, with an optional newline";

static int load_fd(int fd, struct store_key *k, char *err, size_t errlen)
{
	uint8_t buf[KEY_TEXT_MAX];
	size_t len = 0;
	int ret;

	ret = read_all(fd, buf, &len);
	if (ret == -EMSGSIZE)
		snprintf(err, errlen, "the unseal key on fd %d is too long: give %s", fd, formats);
	else if (ret)
		snprintf(err, errlen, "cannot read the unseal key from fd %d: %s", fd,
			 strerror(-ret));
	else if ((ret = parse_key(k, buf, len)))
		snprintf(err, errlen, "fd %d does not hold an unseal key (%zu bytes): give %s",
			 fd, len, formats);
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

/* -ENOENT: no such credential (try the next source). */
static int load_credential(const char *dir, const char *name, struct store_key *k,
			   char *err, size_t errlen)
{
	uint8_t buf[KEY_TEXT_MAX];
	size_t len = 0;
	char path[4096];
	int fd, ret;

	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		snprintf(err, errlen, "credential name \"%s\" is not a file name", name);
		return -EINVAL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(err, errlen, "$CREDENTIALS_DIRECTORY is too long");
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		if (ret != -ENOENT)
			snprintf(err, errlen, "cannot read the credential %s: %s", path,
				 strerror(errno));
		return ret;
	}
	ret = read_all(fd, buf, &len);
	close(fd);
	if (ret == -EMSGSIZE)
		snprintf(err, errlen, "the credential %s is too long for an unseal key: give %s",
			 path, formats);
	else if (ret)
		snprintf(err, errlen, "cannot read the credential %s: %s", path, strerror(-ret));
	else if ((ret = parse_key(k, buf, len)))
		snprintf(err, errlen, "the credential %s does not hold an unseal key (%zu "
			 "bytes): give %s", path, len, formats);
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

/*
 * The "user" key desc from the user keyring, else the session keyring.
 * -ENOKEY: not there; -EPERM/-ENOSYS/-EACCES: keyrings are not available
 * to this process (seccomp in containers); both mean "try the next source".
 */
static int load_keyring(const char *desc, struct store_key *k, char *err, size_t errlen)
{
	uint8_t buf[KEY_TEXT_MAX];
	long id, len;
	int ret;

	id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", desc, 0);
	if (id < 0 && errno == ENOKEY)
		id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", desc, 0);
	if (id < 0)
		return errno == ENOKEY || errno == EKEYEXPIRED || errno == EKEYREVOKED ? -ENOKEY
										       : -errno;
	len = syscall(SYS_keyctl, KEYCTL_READ, id, buf, sizeof(buf));
	if (len < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot read the kernel keyring key \"%s\": %s", desc,
			 strerror(errno));
		return ret;
	}
	if ((size_t)len > sizeof(buf)) {
		snprintf(err, errlen, "the kernel keyring key \"%s\" is too long for an unseal "
			 "key: give %s", desc, formats);
		ret = -EMSGSIZE;
	} else if ((ret = parse_key(k, buf, (size_t)len))) {
		snprintf(err, errlen, "the kernel keyring key \"%s\" does not hold an unseal key "
			 "(%ld bytes): give %s", desc, len, formats);
	}
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

int store_key_to_keyring(const struct store_key *k, const char *desc)
{
	long id, old;
	int ret;

	if (!desc)
		desc = DEFAULT_KEYRING_DESC;
	/* Setting the timeout and permissions below needs possession: the
	 * user keyring must be reachable from our session keyring.  A login
	 * session links it (pam_keyinit); a container exec or a bare service
	 * may not, so link it as a login would (harmless if it already is). */
	(void)syscall(SYS_keyctl, KEYCTL_LINK, KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING);
	id = syscall(SYS_add_key, "user", desc, k->bytes, (size_t)STORE_KEY_LEN,
		     KEY_SPEC_USER_KEYRING);
	if (id < 0 && errno == EACCES) {
		/* A key of an earlier init is there, read-only (KEY_PERM), so
		 * add_key cannot update it: take it out of @u (that needs
		 * write on @u, not on the key) and add the new one. */
		old = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", desc, 0);
		if (old > 0 && syscall(SYS_keyctl, KEYCTL_UNLINK, old, KEY_SPEC_USER_KEYRING) == 0)
			id = syscall(SYS_add_key, "user", desc, k->bytes, (size_t)STORE_KEY_LEN,
				     KEY_SPEC_USER_KEYRING);
		else
			errno = EACCES;
	}
	if (id < 0)
		return -errno;
	/* The timeout first: once KEY_PERM is set, nobody may set it. */
	if (syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, id, KEYRING_TIMEOUT) < 0 ||
	    syscall(SYS_keyctl, KEYCTL_SETPERM, id, KEY_PERM) < 0) {
		ret = -errno;
		syscall(SYS_keyctl, KEYCTL_REVOKE, id);
		syscall(SYS_keyctl, KEYCTL_UNLINK, id, KEY_SPEC_USER_KEYRING);
		return ret;
	}
	return 0;
}

/*
 * The key a server found in the keyring, kept until its clean stop.  The
 * key is linked into this process's own keyring, so that it stays
 * possessed (and its possessor's search permission, which invalidating
 * needs, applies) after the server dropped to another uid: root's user
 * keyring is otherwise closed to the user zerowg.  A key without link
 * permission for us (an older init's, or one put there by hand that we
 * do not possess) is held through its ring instead, which then shows the
 * ring's other keys' names in /proc/keys to the dropped server (their
 * payloads stay out of its reach: its seccomp filter kills keyctl READ).
 */
int store_key_keyring_hold(const char *desc, struct store_keyring_ref *ref)
{
	static const int rings[] = { KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING };
	long id = -1, ring = -1;

	ref->key = ref->ring = 0;
	if (!desc)
		desc = DEFAULT_KEYRING_DESC;
	/* Where load_keyring found it: @u first, then @s. */
	for (size_t i = 0; i < sizeof(rings) / sizeof(rings[0]) && id < 0; i++) {
		id = syscall(SYS_keyctl, KEYCTL_SEARCH, rings[i], "user", desc, 0);
		if (id < 0 && errno != ENOKEY)	/* as load_keyring: @s only after ENOKEY */
			return errno == EKEYEXPIRED || errno == EKEYREVOKED ? -ENOKEY : -errno;
		if (id >= 0 && (ring = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, rings[i], 0)) < 0)
			return -errno;
	}
	if (id < 0)
		return -ENOKEY;
	if (syscall(SYS_keyctl, KEYCTL_LINK, id, KEY_SPEC_PROCESS_KEYRING) < 0 &&
	    (errno != EACCES ||
	     syscall(SYS_keyctl, KEYCTL_LINK, ring, KEY_SPEC_PROCESS_KEYRING) < 0))
		return -errno;
	ref->key = (int32_t)id;
	ref->ring = (int32_t)ring;
	return 0;
}

int store_key_keyring_forget(const struct store_keyring_ref *ref)
{
	if (ref->key <= 0 || ref->ring <= 0)
		return -EINVAL;
	/* Invalidating needs only search permission, which every reader of
	 * the key has (KEY_PERM): the key is out of every keyring that
	 * links it at once, and destroyed.  Unlinking it from its ring is
	 * the fallback (a key put there by hand without search for us). */
	if (syscall(SYS_keyctl, KEYCTL_INVALIDATE, ref->key) == 0 ||
	    syscall(SYS_keyctl, KEYCTL_UNLINK, ref->key, ref->ring) == 0)
		return 0;
	return -errno;
}

static const int prompt_signals[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGTSTP };

/* Reads one line from the terminal, echo off.  Signals that would stop or
 * kill us are held while echo is off and checked every 250 ms, so the
 * terminal is always restored before one acts.  -ENXIO: no terminal. */
static int load_prompt(struct store_key *k, char *err, size_t errlen)
{
	static const char ask[] = "Unseal key of the zerowg store (base64, not shown): ";
	uint8_t buf[KEY_TEXT_MAX];
	struct termios old, quiet;
	sigset_t hold, saved, pending;
	size_t len = 0;
	bool echo_off = false;
	int fd, ret = 0;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -ENXIO;
	if (tcgetattr(fd, &old) < 0) {
		close(fd);
		return -ENXIO;
	}
	sigemptyset(&hold);
	for (size_t i = 0; i < sizeof(prompt_signals) / sizeof(prompt_signals[0]); i++)
		sigaddset(&hold, prompt_signals[i]);
	pthread_sigmask(SIG_BLOCK, &hold, &saved);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	/* Echo goes off before the question is shown: TCSAFLUSH drops input
	 * typed earlier, so whoever answers must not be able to answer sooner. */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot turn echo off on the terminal: %s", strerror(errno));
		goto out;
	}
	echo_off = true;
	if (write(fd, ask, sizeof(ask) - 1) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot prompt on the terminal: %s", strerror(errno));
		goto out;
	}
	while (len < sizeof(buf)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;
		int pr = poll(&pfd, 1, 250);

		sigpending(&pending);
		for (size_t i = 0; i < sizeof(prompt_signals) / sizeof(prompt_signals[0]); i++)
			if (sigismember(&pending, prompt_signals[i]))
				ret = -EINTR;
		if (ret)
			break;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			ret = -errno;
			break;
		}
		if (pr == 0)
			continue;
		r = read(fd, buf + len, 1);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -ENODATA;
			break;
		}
		if (buf[len++] == '\n')
			break;
	}
	if (ret == 0 && (len == sizeof(buf) || (ret = parse_key(k, buf, len)))) {
		ret = -EINVAL;
		snprintf(err, errlen, "what was typed is not an unseal key: give the base64 key "
			 "`zerowg init` showed (44 characters)");
	} else if (ret == -EINTR) {
		snprintf(err, errlen, "interrupted at the unseal key prompt");
	} else if (ret) {
		snprintf(err, errlen, "cannot read the unseal key from the terminal: %s",
			 strerror(-ret));
	}
out:
	if (echo_off)
		tcsetattr(fd, TCSAFLUSH, &old);
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	/* A held SIGINT or SIGTERM is delivered here, with the terminal as it was. */
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return ret;
}

static __thread char where_buf[96];

int store_key_load(const struct store_key_source *src, struct store_key **out,
		   const char **where, char *err, size_t errlen)
{
	const char *cred = src->credential_name ? src->credential_name : DEFAULT_CREDENTIAL;
	const char *desc = src->keyring_desc ? src->keyring_desc : DEFAULT_KEYRING_DESC;
	const char *cred_dir = getenv("CREDENTIALS_DIRECTORY");
	char tried_cred[160], tried_ring[160], why[160], dummy[1];
	struct store_key *k;
	int ret;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	*out = NULL;
	k = store_key_new();
	if (!k) {
		snprintf(err, errlen, "out of memory for the unseal key");
		return -ENOMEM;
	}

	/* An fd the operator named must work: no falling through to others. */
	if (src->fd >= 0) {
		if ((ret = load_fd(src->fd, k, err, errlen)))
			goto fail;
		snprintf(where_buf, sizeof(where_buf), "fd %d", src->fd);
		goto found;
	}

	if (cred_dir && cred_dir[0]) {
		ret = load_credential(cred_dir, cred, k, err, errlen);
		if (ret == 0) {
			snprintf(where_buf, sizeof(where_buf), "credential %.80s", cred);
			goto found;
		}
		if (ret != -ENOENT)
			goto fail;
		snprintf(tried_cred, sizeof(tried_cred), "credential \"%.80s\" (not in "
			 "$CREDENTIALS_DIRECTORY)", cred);
	} else {
		snprintf(tried_cred, sizeof(tried_cred), "credential \"%.80s\" "
			 "($CREDENTIALS_DIRECTORY not set)", cred);
	}

	ret = load_keyring(desc, k, err, errlen);
	if (ret == 0) {
		snprintf(where_buf, sizeof(where_buf), "%s", STORE_KEY_FROM_KEYRING);
		goto found;
	}
	if (ret == -ENOKEY)
		snprintf(tried_ring, sizeof(tried_ring), "kernel keyring \"%.80s\" (not found)",
			 desc);
	else if (ret == -EPERM || ret == -ENOSYS || ret == -EACCES)
		snprintf(tried_ring, sizeof(tried_ring), "kernel keyring (unavailable: %s)",
			 strerror(-ret));
	else
		goto fail;

	if (src->allow_prompt) {
		ret = load_prompt(k, err, errlen);
		if (ret == 0) {
			snprintf(where_buf, sizeof(where_buf), "prompt");
			goto found;
		}
		if (ret != -ENXIO)
			goto fail;
	}
	snprintf(err, errlen, "no unseal key: tried fd (none given), %s, %s, prompt (%s). "
		 "Pass it with --key-fd N, as the systemd credential \"%s\" "
		 "(LoadCredentialEncrypted=), or in the keyring (`keyctl padd user %s @u`)",
		 tried_cred, tried_ring, src->allow_prompt ? "no terminal" : "not allowed",
		 cred, desc);
	ret = -ENOKEY;
fail:
	store_key_free(k);
	return ret;
found:
	/* The check is here, where an operator's key comes in, and not in
	 * store_open: a key that init generated passes anyway. */
	if (!store_key_looks_random(k, why, sizeof(why))) {
		snprintf(err, errlen, "the unseal key from %s is not random: %s. The unseal key "
			 "must be 32 random bytes (raw, base64 or hex): `zerowg init` makes one when "
			 "not given --key-fd, and so does `head -c 32 /dev/urandom | base64`",
			 where_buf, why);
		ret = -EINVAL;
		goto fail;
	}
	if (where)
		*where = where_buf;
	*out = k;
	return 0;
}
