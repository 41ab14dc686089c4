/*
 * genkey.c - `zerowg genkey`, `zerowg genpsk` and `zerowg pubkey`, byte for
 * byte what `wg genkey`, `wg genpsk` and `wg pubkey` print: one base64 key
 * and a newline.
 *
 * genkey draws a clamped X25519 scalar, genpsk 32 random bytes; pubkey reads
 * a private key on stdin and prints its public key.  pubkey accepts exactly
 * what wg accepts: the 44 base64 characters first, then nothing but
 * whitespace or NUL bytes; anything else is refused with wg's wording.
 *
 * Relies on crypto.h (libcrypto's X25519 and RNG) and encoding.h.  Every
 * buffer that held a key is wiped before returning.
 */
#include "cli.h"
#include "crypto.h"
#include "encoding.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A private key written to a file others may read is a mistake wg warns
 * about; so do we (the key is still printed: the user may know better, and
 * wg behaves the same).
 */
static void warn_if_world_readable(void)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO))
		fprintf(stderr, "Warning: writing to world accessible file.\n"
				"Consider setting the umask to 077 and trying again.\n");
}

/* Prints key in base64 and a newline with one write(2): no stdio buffer
 * keeps a copy. */
static int print_key(const uint8_t key[KEY_LEN])
{
	char line[KEY_BASE64_LEN + 2];
	int ret;

	key_to_base64(line, key);
	line[KEY_BASE64_LEN] = '\n';
	line[KEY_BASE64_LEN + 1] = '\0';
	ret = cli_write_all(STDOUT_FILENO, line, KEY_BASE64_LEN + 1);
	explicit_bzero(line, sizeof(line));
	if (ret < 0) {
		fprintf(stderr, "zerowg: cannot write the key to stdout: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}

static int generate(int argc, char *argv[], bool clamp)
{
	uint8_t key[KEY_LEN];
	int ret;

	if (argc == 2 && cli_is_help(argv[1])) {
		printf("Usage: zerowg %s\n\n%s\n", argv[0], clamp ?
		       "Prints a new private key (base64) on stdout, as `wg genkey` does.\n"
		       "Its public key: zerowg genkey | tee /dev/tty | zerowg pubkey" :
		       "Prints a new preshared key (base64) on stdout, as `wg genpsk` does.");
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "Usage: zerowg %s\n", argv[0]);
		return 1;
	}
	if (!crypto_init()) {
		fprintf(stderr, "zerowg: libcrypto lacks X25519 or its random generator\n");
		return 1;
	}
	warn_if_world_readable();
	if (clamp ? !x25519_generate_secret(key) : !crypto_random(key, sizeof(key))) {
		fprintf(stderr, "zerowg: cannot get random bytes from the kernel\n");
		return 1;
	}
	ret = print_key(key);
	explicit_bzero(key, sizeof(key));
	return ret;
}

int genkey_main(int argc, char *argv[])
{
	return generate(argc, argv, true);
}

int genpsk_main(int argc, char *argv[])
{
	return generate(argc, argv, false);
}

/*
 * Reads exactly the 44 characters of a key from f, then requires the rest
 * to be whitespace or NUL bytes (as wg: `echo KEY | wg pubkey` works, a key
 * with a stray character after it does not).  0, or -EINVAL with *msg set.
 */
int cli_read_key_stream(FILE *f, uint8_t key[KEY_LEN], const char **msg)
{
	char text[KEY_BASE64_LEN + 1];
	int c, ret = 0;

	if (fread(text, 1, KEY_BASE64_LEN, f) != KEY_BASE64_LEN) {
		*msg = "Key is not the correct length or format";
		ret = -EINVAL;
		goto out;
	}
	text[KEY_BASE64_LEN] = '\0';
	while ((c = getc(f)) != EOF) {
		if (c != '\0' && !isspace(c)) {
			*msg = "Trailing characters found after key";
			ret = -EINVAL;
			goto out;
		}
	}
	if (!key_from_base64(key, text)) {
		*msg = "Key is not the correct length or format";
		ret = -EINVAL;
	}
out:
	explicit_bzero(text, sizeof(text));
	return ret;
}

int pubkey_main(int argc, char *argv[])
{
	uint8_t key[KEY_LEN];
	/* stdin's buffer is ours (static: the stream outlives this
	 * function), so the private key's text in it can be wiped. */
	static char stdin_buf[BUFSIZ];
	const char *msg = NULL;
	int ret = 1;

	if (argc == 2 && cli_is_help(argv[1])) {
		printf("Usage: zerowg pubkey < private.key\n\n"
		       "Reads a private key (base64) on stdin and prints its public key,\n"
		       "as `wg pubkey` does.\n");
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "Usage: zerowg pubkey < private.key\n");
		return 1;
	}
	if (!crypto_init()) {
		fprintf(stderr, "zerowg: libcrypto lacks X25519\n");
		return 1;
	}
	setvbuf(stdin, stdin_buf, _IOFBF, sizeof(stdin_buf));
	if (cli_read_key_stream(stdin, key, &msg) < 0) {
		fprintf(stderr, "zerowg: %s\n", msg);
		goto out;
	}
	if (!x25519_public_from_secret(key, key)) {
		fprintf(stderr, "zerowg: cannot compute the public key\n");
		goto out;
	}
	ret = print_key(key);
out:
	explicit_bzero(key, sizeof(key));
	explicit_bzero(stdin_buf, sizeof(stdin_buf));
	return ret;
}
