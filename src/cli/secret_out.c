/*
 * secret_out.c - where a key may be written: the one judgement every verb
 * that prints a key makes (init's unseal key; peer add, peer rotate and
 * show-peer's client configs and QR codes; export's server config), and
 * makes before it changes anything, so that a refusal leaves the store as
 * it was (peer add must not add a peer whose key it will not show).
 *
 * zerowg never writes a key to a file, and stdout is where these keys go,
 * so stdout must lead to a person or a program, not to storage:
 *   - a terminal, a pipe or a socket (`| qrencode`, `| ssh host ...`, a
 *     program reading it): yes;
 *   - /dev/null: yes (the key goes nowhere);
 *   - a regular file, a block device, any other character device (a tape,
 *     a printer), or the systemd journal (a socket, but one that writes
 *     to disk: told apart by $JOURNAL_STREAM, as systemd documents): no;
 *   - a closed stdout: no (the key could only be lost).
 * What a pipe's reader does with the key (`| tee file`) is its choice.
 *
 * Relies on libc only; tests/unit/cli_test.c tests it.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* true if st is the stream $JOURNAL_STREAM ("DEV:INODE") names. */
static bool is_journal(const struct stat *st)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	char *end;

	if (!v || !*v)
		return false;
	errno = 0;
	dev = strtoull(v, &end, 10);
	if (errno || end == v || *end != ':')
		return false;
	v = end + 1;
	ino = strtoull(v, &end, 10);
	if (errno || end == v || *end)
		return false;
	return dev == (unsigned long long)st->st_dev && ino == (unsigned long long)st->st_ino;
}

/* "PATH" of fd as /proc shows it, or fallback. */
static void fd_path(int fd, char *buf, size_t len, const char *fallback)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n <= 0) {
		snprintf(buf, len, "%s", fallback);
		return;
	}
	buf[n] = '\0';
}

int cli_secret_sink_check(int fd, char *what, size_t len)
{
	char path[256];
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(what, len, "closed");
		return -EBADF;
	}
	if (isatty(fd) || S_ISFIFO(st.st_mode))
		return 0;
	if (S_ISSOCK(st.st_mode)) {
		if (!is_journal(&st))
			return 0;
		snprintf(what, len, "the systemd journal, which keeps what it is given on disk");
		return -EPERM;
	}
	if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
		return 0;	/* /dev/null */
	fd_path(fd, path, sizeof(path), "?");
	if (S_ISREG(st.st_mode))
		snprintf(what, len, "the file %s", path);
	else if (S_ISBLK(st.st_mode))
		snprintf(what, len, "the block device %s", path);
	else if (S_ISCHR(st.st_mode))
		snprintf(what, len, "the device %s, which is not a terminal", path);
	else
		snprintf(what, len, "%s, which is not a terminal or a pipe", path);
	return -EPERM;
}

int cli_secret_stdout_check(const char *refusal, const char *example)
{
	char what[320];
	int r;

	r = cli_secret_sink_check(STDOUT_FILENO, what, sizeof(what));
	if (r == 0)
		return 0;
	fprintf(stderr, "zerowg: %s: stdout is %s%s.  Run it in a terminal, or pipe it where it "
		"goes: %s\n", refusal, what, r == -EBADF ? ", so the key would be lost" :
		", and zerowg writes no key to a file", example);
	return 1;
}
