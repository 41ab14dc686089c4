/*
 * store_file.c - the file operations under the sealed store: read a file
 * whole, replace one atomically and durably, sweep leftover temp files,
 * make the directory, and the hex form of file ids.  All relative to a
 * directory fd, so a later chdir or a renamed parent does not matter.
 *
 * What makes "kill -9 at any instant loses no acknowledged write and never
 * leaves a half-written record" true is store_file_replace: the new bytes
 * go to a fresh temp file (O_EXCL, 0600), which is fsynced, renamed over
 * the target (atomic on POSIX file systems) and the directory fsynced; the
 * caller acknowledges only after all four.  The temp file holds exactly
 * what the target will hold, so the caller must pass ciphertext only.
 *
 * Only regular files are ever opened (store_file_open): a FIFO, socket,
 * device or symlink planted under a store file's name is refused after an
 * lstat, and the open itself is O_NONBLOCK | O_NOFOLLOW, so one swapped in
 * between cannot block the open (a FIFO with no writer would, forever)
 * nor be followed.
 *
 * Relies on POSIX *at() calls and OpenSSL's RAND_bytes (temp file names).
 * No messages here: the caller knows what the file is and says so
 * (store_file_kind helps it say what a refused file is).
 */
#include "store_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

void store_file_hex(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

bool store_file_unhex(uint8_t *out, const char *in, size_t len)
{
	for (size_t i = 0; i < 2 * len; i++) {
		char c = in[i];
		int v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return false;	/* also stops at the NUL of a short name */
		if (i & 1)
			out[i / 2] |= (uint8_t)v;
		else
			out[i / 2] = (uint8_t)(v << 4);
	}
	return in[2 * len] == '\0';
}

const char *store_file_kind(int dirfd, const char *fname)
{
	struct stat st;

	if (fstatat(dirfd, fname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return NULL;
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		return NULL;
	case S_IFIFO:
		return "a FIFO";
	case S_IFLNK:
		return "a symbolic link";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFDIR:
		return "a directory";
	default:
		return "not a regular file";
	}
}

int store_file_open(int dirfd, const char *fname, int flags, struct stat *st)
{
	int fd, fl;

	/* Look before opening: opening a device can have effects of its own,
	 * and a FIFO's open waits for a writer. */
	if (fstatat(dirfd, fname, st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st->st_mode))
			return -EBADMSG;
	} else if (errno != ENOENT || !(flags & O_CREAT)) {
		return -errno;
	}
	/* O_NONBLOCK: should the file be swapped for a FIFO since the lstat,
	 * the open returns at once and the fstat below refuses it. */
	fd = openat(dirfd, fname, flags | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	if (fstat(fd, st) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -EBADMSG;
	}
	/* Meaningless on a regular file, but nobody should find it set. */
	if ((fl = fcntl(fd, F_GETFL)) >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

int store_file_read(int dirfd, const char *fname, size_t max, uint8_t **buf, size_t *len)
{
	return store_file_read_st(dirfd, fname, max, buf, len, NULL);
}

int store_file_read_st(int dirfd, const char *fname, size_t max, uint8_t **buf, size_t *len,
		       struct stat *stp)
{
	struct stat st;
	uint8_t *p;
	size_t got = 0;
	int fd, ret;

	/* Not followed: a symlink planted in the directory does not lead
	 * somewhere else; like a FIFO, it reads as a damaged record. */
	fd = store_file_open(dirfd, fname, O_RDONLY, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > max) {
		ret = -EFBIG;
		goto out;
	}
	p = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(fd, p + got, (size_t)st.st_size - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* r == 0: the file shrank under us, which a rename-only
			 * writer never does; treat it as an I/O error */
			ret = r < 0 ? -errno : -EIO;
			free(p);
			goto out;
		}
		got += (size_t)r;
	}
	*buf = p;
	*len = got;
	if (stp)
		*stp = st;
	ret = 0;
out:
	close(fd);
	return ret;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int store_file_give_to_dir_owner(int dirfd, int fd)
{
	struct stat dir;

	/* Only root can, and only root needs to: the server runs as its own
	 * user and owns the directory; a root CLI (init, import) writing
	 * there must leave files that user can read. */
	if (geteuid() != 0)
		return 0;
	if (fstat(dirfd, &dir) < 0)
		return -errno;
	if (dir.st_uid == 0)
		return 0;
	return fchown(fd, dir.st_uid, dir.st_gid) < 0 ? -errno : 0;
}

int store_file_replace(int dirfd, const char *fname, const uint8_t *buf, size_t len,
		       bool *renamed)
{
	char tmp[sizeof(STORE_FILE_TMP_PREFIX) + 16];
	uint8_t rnd[8];
	int fd = -1, ret, tries;

	*renamed = false;
	for (tries = 0; tries < 8 && fd < 0; tries++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return -EIO;
		memcpy(tmp, STORE_FILE_TMP_PREFIX, strlen(STORE_FILE_TMP_PREFIX));
		store_file_hex(tmp + strlen(STORE_FILE_TMP_PREFIX), rnd, sizeof(rnd));
		fd = openat(dirfd, tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return -errno;
	ret = store_file_give_to_dir_owner(dirfd, fd);
	if (ret == 0)
		ret = write_all(fd, buf, len);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && renameat(dirfd, tmp, dirfd, fname) < 0)
		ret = -errno;
	if (ret) {
		unlinkat(dirfd, tmp, 0);
		return ret;
	}
	*renamed = true;
	return fsync(dirfd) < 0 ? -errno : 0;
}

int store_file_sweep(int dirfd, void (*removed)(const char *fname, void *arg), void *arg)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)))
		if (strncmp(de->d_name, STORE_FILE_TMP_PREFIX,
			    strlen(STORE_FILE_TMP_PREFIX)) == 0 &&
		    unlinkat(dirfd, de->d_name, 0) == 0) {
			n++;
			if (removed)
				removed(de->d_name, arg);
		}
	closedir(d);
	return n;
}

int store_file_mkdir(const char *dir)
{
	char parent[PATH_MAX];
	const char *slash;
	int fd;

	if (mkdir(dir, 0700) < 0)
		return -errno;
	/* the new entry in the parent must survive a crash too */
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == dir)
		snprintf(parent, sizeof(parent), "/");
	else
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - dir), dir);
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}
