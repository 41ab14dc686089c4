/*
 * markhelper.c - the fwmark helper (markhelper.h): the codec, the child
 * that keeps CAP_NET_ADMIN and serves SO_MARK requests, and the daemon's
 * client, which is the data plane's set_mark hook.
 *
 * Relies on SOCK_SEQPACKET (a message is read whole, or MSG_TRUNC shows),
 * SCM_RIGHTS, SO_DOMAIN/SO_TYPE/SO_PROTOCOL to tell what an fd is, and the
 * capability v3 system calls.  The daemon's side uses only what the
 * zerowgd seccomp profile allows (sendmsg, recvmsg, wait4, nanosleep).
 */
#include "markhelper.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* ----------------------------------------------------------- codec -- */

void markhelper_request_encode(const struct markhelper_request *req,
			       uint8_t out[MARKHELPER_REQUEST_SIZE])
{
	memcpy(out, &req->op, 4);
	memcpy(out + 4, &req->mark, 4);
}

int markhelper_request_parse(const uint8_t *buf, size_t len, struct markhelper_request *req)
{
	if (len != MARKHELPER_REQUEST_SIZE)
		return -EMSGSIZE;
	memcpy(&req->op, buf, 4);
	memcpy(&req->mark, buf + 4, 4);
	return req->op == MARKHELPER_OP_SET_MARK ? 0 : -EINVAL;
}

void markhelper_reply_encode(int32_t error, uint8_t out[MARKHELPER_REPLY_SIZE])
{
	memcpy(out, &error, 4);
}

int markhelper_reply_parse(const uint8_t *buf, size_t len, int32_t *error)
{
	int32_t e;

	if (len != MARKHELPER_REPLY_SIZE)
		return -EMSGSIZE;
	memcpy(&e, buf, 4);
	if (e > 0 || e < -4095)
		return -EPROTO;
	*error = e;
	return 0;
}

/* ------------------------------------------------------------ file -- */

int markhelper_file_note(struct markhelper_file *f, const char *path)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	if (strlen(path) >= sizeof(f->path))
		return -ENAMETOOLONG;
	if (lstat(path, &st) < 0)
		return -errno;
	strcpy(f->path, path);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->ctime = st.st_ctim;
	f->noted = true;
	return 0;
}

bool markhelper_file_is_same(const struct markhelper_file *f)
{
	struct stat st;

	return f && f->noted && lstat(f->path, &st) == 0 && st.st_dev == f->dev &&
	       st.st_ino == f->ino && st.st_ctim.tv_sec == f->ctime.tv_sec &&
	       st.st_ctim.tv_nsec == f->ctime.tv_nsec;
}

/* ---------------------------------------------------------- helper -- */

/* What the fd is must be a UDP socket of an IP family: nothing else gets
 * a mark from us (a ping socket, a unix socket, a pipe). */
static bool is_udp_socket(int fd)
{
	int v;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 || (v != AF_INET && v != AF_INET6))
		return false;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 || v != SOCK_DGRAM)
		return false;
	len = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0 && v == IPPROTO_UDP;
}

/* Closes every fd that came with m; the first one is returned instead if
 * keep_first.  *extra: anything but one SCM_RIGHTS fd came. */
static int take_fds(struct msghdr *m, bool keep_first, bool *extra)
{
	int sock = -1;

	*extra = (m->msg_flags & MSG_CTRUNC) != 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			*extra = true;
			continue;
		}
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)(void *)CMSG_DATA(c);

		for (size_t i = 0; i < nfd; i++) {
			if (keep_first && sock < 0) {
				sock = fds[i];
			} else {
				close(fds[i]);
				*extra = true;
			}
		}
	}
	return sock;
}

/* One request of n bytes: its reply's error.  Every fd that came with it
 * is closed. */
static int32_t handle(const uint8_t *buf, ssize_t n, struct msghdr *m)
{
	struct markhelper_request req;
	bool extra;
	int sock = take_fds(m, true, &extra), ret;

	if (m->msg_flags & MSG_TRUNC)
		ret = -EMSGSIZE;
	else if ((ret = markhelper_request_parse(buf, (size_t)n, &req)) < 0)
		;
	else if (extra)
		ret = -EINVAL;		/* one fd, nothing else */
	else if (sock < 0)
		ret = -EBADF;
	else if (!is_udp_socket(sock))
		ret = -EINVAL;
	else if (setsockopt(sock, SOL_SOCKET, SO_MARK, &req.mark, sizeof(req.mark)) < 0)
		ret = -errno;
	else
		ret = 0;
	if (ret < 0)
		log_debug("fwmark helper: request refused: %s", strerror(-ret));
	if (sock >= 0)
		close(sock);
	return ret;
}

int markhelper_serve(int fd, const struct markhelper_file *own)
{
	int ret = 0;

	for (;;) {
		/* One byte more than a request: an oversized one shows. */
		uint8_t buf[MARKHELPER_REQUEST_SIZE + 1], out[MARKHELPER_REPLY_SIZE];
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int) * 4)];
		} cbuf;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr m = {
			.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
			.msg_controllen = sizeof(cbuf.b),
		};
		ssize_t n;

		do
			n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			ret = errno == ECONNRESET ? 0 : -errno;
			break;
		}
		if (n == 0) {
			/* EOF (an empty message counts as one: nothing sends it). */
			bool extra;
			(void)take_fds(&m, false, &extra);
			break;
		}
		markhelper_reply_encode(handle(buf, n, &m), out);
		do
			n = send(fd, out, sizeof(out), MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			ret = errno == EPIPE || errno == ECONNRESET ? 0 : -errno;
			break;
		}
	}
	if (markhelper_file_is_same(own) && unlink(own->path) < 0)
		log_warn_errno("fwmark helper: removing %s", own->path);
	return ret;
}

/* Keeps CAP_NET_ADMIN alone: the bounding set loses the rest (while
 * CAP_SETPCAP lasts; without it no_new_privs makes the set moot), then
 * permitted and effective become that one capability.  Failures are
 * logged: the helper stays as confined as it could get. */
static void keep_only_net_admin(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	const uint32_t bit = 1u << CAP_NET_ADMIN;	/* word 0 */
	bool had;

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &hdr, d) < 0) {
		log_warn_errno("fwmark helper: capget");
		return;
	}
	had = d[0].effective & bit;
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int c = 0; c < 64; c++) {
		if (c == CAP_NET_ADMIN)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			break;	/* EPERM: no CAP_SETPCAP */
	}
	memset(d, 0, sizeof(d));
	if (had)
		d[0].effective = d[0].permitted = bit;
	if (syscall(SYS_capset, &hdr, d) < 0)
		log_warn_errno("fwmark helper: capset (keeping CAP_NET_ADMIN only)");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		log_warn_errno("fwmark helper: PR_SET_NO_NEW_PRIVS");
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* Leaves fd (as fd 3), stderr if keep_stderr, and /dev/null on the other
 * standard fds; closes everything else.  Returns the new fd, -1 on
 * failure. */
static int only_fd(int fd, bool keep_stderr)
{
	bool err_ok = keep_stderr && fd != STDERR_FILENO && fcntl(STDERR_FILENO, F_GETFD) >= 0;
	int null_fd;
	long max;

	if (fd != 3) {
		if (dup3(fd, 3, O_CLOEXEC) < 0)
			return -1;
		close(fd);	/* a standard fd is refilled below */
	}
	if (syscall(SYS_close_range, 4u, UINT_MAX, 0u) < 0) {
		/* Without close_range (Linux < 5.9): one by one. */
		max = sysconf(_SC_OPEN_MAX);
		for (int i = 4; i < (max > 0 && max < 65536 ? max : 65536); i++)
			close(i);
	}
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd >= 0) {
		for (int i = STDIN_FILENO; i <= STDERR_FILENO; i++)
			if (i != null_fd && (i != STDERR_FILENO || !err_ok))
				dup2(null_fd, i);
		if (null_fd > STDERR_FILENO)
			close(null_fd);
	}
	return 3;
}

static void __attribute__((noreturn)) helper_main(int fd, const struct markhelper_file *own,
						   bool keep_stderr)
{
	int ret;

	/* The daemon decides when we stop: EOF on the socket.  (A ^C at a
	 * terminal reaches the whole process group.) */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	fd = only_fd(fd, keep_stderr);
	if (fd < 0)
		_exit(1);
	keep_only_net_admin();
	ret = markhelper_serve(fd, own);
	_exit(ret < 0 ? 1 : 0);
}

/* ---------------------------------------------------------- daemon -- */

#define MS_TEXT_(n) #n
#define MS_TEXT(n) MS_TEXT_(n)

/* Reaps the helper if it has exited (waiting up to max_ms) and says how it
 * ended in why.  True once reaped. */
static bool reap(struct markhelper *h, int max_ms, char *why, size_t len)
{
	int status = 0;

	snprintf(why, len, "it closed its end");
	for (int waited = 0; h->pid > 0; waited += 10) {
		pid_t r = waitpid(h->pid, &status, WNOHANG);

		if (r == h->pid) {
			if (WIFEXITED(status))
				snprintf(why, len, "exit status %d", WEXITSTATUS(status));
			else if (WIFSIGNALED(status))
				snprintf(why, len, "killed by signal %d (%s)", WTERMSIG(status),
					 strsignal(WTERMSIG(status)));
			h->pid = -1;
			return true;
		}
		if (r < 0 && errno != EINTR) {
			h->pid = -1;	/* ECHILD: not ours to wait for */
			return true;
		}
		if (waited >= max_ms)
			break;
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return h->pid <= 0;
}

static void unwatch(struct markhelper *h)
{
	if (h->watching)
		device_unwatch(h->dev, &h->watch);
	h->watching = false;
}

/* The helper is gone (EOF, reset): say so once, ask it nothing again. */
static void helper_gone(struct markhelper *h)
{
	char why[96];
	pid_t pid = h->pid;
	bool was = h->usable;

	unwatch(h);
	h->usable = false;
	if (!was)
		return;
	reap(h, 200, why, sizeof(why));
	log_error("the fwmark helper (pid %d) exited (%s): the fwmark can no longer be changed "
		  "(sessions go on; restart zerowgd to have it back)", (int)pid, why);
}

/* It answered nonsense or not at all: never ask it again.  Our end stays
 * open, so that it still removes the socket file when we exit. */
static int helper_broken(struct markhelper *h, const char *what, int ret)
{
	log_error("the fwmark helper (pid %d) %s: not asking it again; the fwmark can no "
		  "longer be changed", (int)h->pid, what);
	h->usable = false;
	unwatch(h);
	return ret;
}

static void watch_ready(struct device *dev, struct loop_source *src, uint32_t events)
{
	(void)dev;
	if (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))
		helper_gone(src->ctx);
}

int markhelper_start(struct markhelper *h, const char *uapi_path, bool keep_stderr, char *err,
		     size_t errlen)
{
	struct timeval tv = { MARKHELPER_TIMEOUT_MS / 1000, (MARKHELPER_TIMEOUT_MS % 1000) * 1000 };
	int sv[2], ret;
	pid_t pid;

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	h->pid = -1;
	if (uapi_path && (ret = markhelper_file_note(&h->own, uapi_path)) < 0) {
		snprintf(err, errlen, "fwmark helper: the UAPI socket %s: %s", uapi_path,
			 strerror(-ret));
		return ret;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		snprintf(err, errlen, "fwmark helper: socketpair: %s", strerror(errno));
		return ret;
	}
	/* A blocking call from the event loop must end: a helper that does
	 * not answer in time is given up on. */
	if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "fwmark helper: socket timeouts: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(err, errlen, "fwmark helper: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	if (pid == 0) {
		close(sv[0]);
		helper_main(sv[1], &h->own, keep_stderr);
	}
	close(sv[1]);
	h->fd = sv[0];
	h->pid = pid;
	h->usable = true;
	return 0;
}

int markhelper_attach(struct markhelper *h, struct device *dev)
{
	int ret;

	dev->set_mark = markhelper_set_mark;
	dev->set_mark_ctx = h;
	h->dev = dev;
	h->watch.fd = h->fd;
	h->watch.ready = watch_ready;
	h->watch.ctx = h;
	if (h->fd < 0)
		return 0;
	ret = device_watch(dev, &h->watch, EPOLLRDHUP);
	h->watching = ret == 0;
	return ret;
}

int markhelper_set_mark(void *ctx, int fd, uint32_t mark)
{
	struct markhelper *h = ctx;
	struct markhelper_request req = { .op = MARKHELPER_OP_SET_MARK, .mark = mark };
	uint8_t out[MARKHELPER_REQUEST_SIZE], in[MARKHELPER_REPLY_SIZE + 1];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cbuf;
	struct iovec iov = { .iov_base = out, .iov_len = sizeof(out) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b };
	struct cmsghdr *c;
	bool fds = false;
	int32_t error;
	ssize_t n;

	if (!h->usable || h->fd < 0) {
		log_error("fwmark %#x: the fwmark helper is gone (it exited or stopped answering) "
			  "and zerowgd has no CAP_NET_ADMIN of its own: restart zerowgd to change "
			  "the fwmark", mark);
		return -EPERM;
	}
	markhelper_request_encode(&req, out);
	memset(&cbuf, 0, sizeof(cbuf));
	m.msg_controllen = CMSG_SPACE(sizeof(int));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(h->fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
			helper_gone(h);
			return -EPERM;
		}
		if (errno == EAGAIN)
			return helper_broken(h, "took no request within " MS_TEXT(MARKHELPER_TIMEOUT_MS) " ms", -ETIMEDOUT);
		return -errno;
	}

	iov.iov_base = in;
	iov.iov_len = sizeof(in);
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf.b;
	m.msg_controllen = sizeof(cbuf.b);
	do
		n = recvmsg(h->fd, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && errno == ECONNRESET)) {
		helper_gone(h);
		return -EPERM;
	}
	if (n < 0 && errno == EAGAIN)
		return helper_broken(h, "did not answer within " MS_TEXT(MARKHELPER_TIMEOUT_MS) " ms", -ETIMEDOUT);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int *got = (int *)(void *)CMSG_DATA(c);

			for (size_t i = 0; i < nfd; i++)
				close(got[i]);
		}
		fds = true;
	}
	if (fds || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    markhelper_reply_parse(in, (size_t)n, &error) < 0)
		return helper_broken(h, "broke the protocol", -EPROTO);
	if (error < 0)
		log_error("fwmark %#x: setsockopt(SO_MARK) in the fwmark helper: %s", mark,
			  strerror(-error));
	return error;
}

int markhelper_stop(struct markhelper *h, int wait_ms)
{
	char why[96];
	pid_t pid = h->pid;
	int ret = 0;

	unwatch(h);
	if (h->fd >= 0)
		close(h->fd);	/* EOF: the helper removes the file and exits */
	h->fd = -1;
	h->usable = false;
	if (pid > 0) {
		if (!reap(h, wait_ms, why, sizeof(why))) {
			log_error("the fwmark helper (pid %d) is still running %d ms after zerowgd "
				  "closed its socket; it exits on its own", (int)pid, wait_ms);
			ret = -ETIMEDOUT;
		} else if (strcmp(why, "exit status 0")) {
			log_error("the fwmark helper (pid %d) ended: %s", (int)pid, why);
		}
	}
	if (ret == 0 && markhelper_file_is_same(&h->own))
		log_error("the UAPI socket %s is left behind (the fwmark helper that removes it "
			  "had exited): remove it with rm", h->own.path);
	return ret;
}
