/*
 * markhelper.h - the fwmark helper: the one privilege zerowgd still needs
 * after start-up, in a process of its own.
 *
 * `wg set IF fwmark N` (wg-quick's full tunnel) is setsockopt(SO_MARK) on
 * each UDP socket, also on the new ones a `wg set listen-port` rebind
 * makes, and that needs CAP_NET_ADMIN.  The daemon gives up every
 * capability (sandbox.h), so before it does, markhelper_start() forks a
 * child that keeps CAP_NET_ADMIN alone (it stays uid 0, every other
 * capability and the bounding set gone, no_new_privs) and serves one
 * request over a SOCK_SEQPACKET socketpair: "set SO_MARK = mark on this
 * fd" (the fd over SCM_RIGHTS; only an AF_INET/AF_INET6 UDP socket is
 * accepted, and it is closed right after).  The helper holds no other fd
 * than its end of the pair (and stderr), no key (it is forked before any
 * key is configured), ignores SIGINT/SIGTERM/SIGHUP, and ends on EOF: it
 * then removes the UAPI socket file (which the dropped daemon, as another
 * user in root's 0755 directory, cannot), if that is still the file the
 * daemon bound (same device, inode and ctime), and exits 0.  So the file
 * goes whether the daemon exits or is killed with -9.
 *
 * If the helper dies first, the daemon logs "the fwmark helper (pid N)
 * exited" and goes on: sessions keep running, only a change of a non-zero
 * fwmark (and a rebind while one is set) fails with EPERM, which `wg`
 * reports; the socket file is then left for the operator (logged at exit).
 *
 * The daemon side blocks for a reply on its event-loop thread: a helper
 * that does not answer within MARKHELPER_TIMEOUT_MS is given up on
 * (-ETIMEDOUT, then EPERM), never waited for again.
 *
 * Relies on SOCK_SEQPACKET keeping message boundaries, on device.h's
 * set_mark hook (every SO_MARK of the data plane goes through it) and
 * loop sources, and on the raw capget/capset system calls (no libcap).
 */
#ifndef ZWG_MARKHELPER_H
#define ZWG_MARKHELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>

#include "device.h"

/* ---- the wire format: host byte order, both ends are one machine ---- */

#define MARKHELPER_OP_SET_MARK	1u	/* SO_MARK = mark on the fd that comes with it */
#define MARKHELPER_REQUEST_SIZE	8	/* uint32 op, uint32 mark */
#define MARKHELPER_REPLY_SIZE	4	/* int32 error: 0 or -errno */
#define MARKHELPER_TIMEOUT_MS	2000

struct markhelper_request {
	uint32_t op;
	uint32_t mark;
};

void markhelper_request_encode(const struct markhelper_request *req,
			       uint8_t out[MARKHELPER_REQUEST_SIZE]);
/* 0, -EMSGSIZE (not exactly MARKHELPER_REQUEST_SIZE bytes) or -EINVAL (an
 * op other than MARKHELPER_OP_SET_MARK). */
int markhelper_request_parse(const uint8_t *buf, size_t len, struct markhelper_request *req)
	__attribute__((warn_unused_result));
void markhelper_reply_encode(int32_t error, uint8_t out[MARKHELPER_REPLY_SIZE]);
/* 0, -EMSGSIZE (wrong size) or -EPROTO (error not 0 or -1..-4095). */
int markhelper_reply_parse(const uint8_t *buf, size_t len, int32_t *error)
	__attribute__((warn_unused_result));

/* ---- the file the helper removes at EOF ---- */

/* A file as it was when noted: removed only if it is still that file (a
 * new daemon may have bound a new socket at the same path since). */
struct markhelper_file {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
	bool noted;
};

/* Notes path as it is now (lstat).  0 or -errno (-ENAMETOOLONG). */
int markhelper_file_note(struct markhelper_file *f, const char *path);
/* True if path is still the noted file. */
bool markhelper_file_is_same(const struct markhelper_file *f);

/* ---- the helper ---- */

/* Serves requests on fd until EOF (or until the other end is gone), then
 * removes own (may be NULL) if it is still the same file.  Exposed for
 * tests; markhelper_start runs it in the child.  0, or -errno if reading
 * failed otherwise. */
int markhelper_serve(int fd, const struct markhelper_file *own);

/* ---- the daemon's side ---- */

struct markhelper {
	int fd;			/* our end; closed only by markhelper_stop (its EOF is
				 * the helper's cue), -1 before start and after stop */
	pid_t pid;		/* the helper; -1 once reaped (or none) */
	bool usable;		/* answers requests (false once dead, broken or
				 * timed out: never asked again) */
	bool watching;		/* h->watch is in dev's loop */
	struct device *dev;
	struct loop_source watch;	/* EPOLLRDHUP on fd: the helper died */
	struct markhelper_file own;
};

/*
 * Forks the helper.  uapi_path (NULL: none) is the socket file it removes
 * at EOF, noted now.  keep_stderr: the helper keeps stderr for its log
 * lines, else it gets /dev/null (a daemon that detached must not hold the
 * caller's pipe open).  Call while the process is single-threaded and
 * still holds CAP_NET_ADMIN.  0 or -errno with a message.
 */
int markhelper_start(struct markhelper *h, const char *uapi_path, bool keep_stderr, char *err,
		     size_t errlen);
/* Makes h dev's way of setting SO_MARK (dev->set_mark) and watches for the
 * helper's death in dev's loop.  0 or -errno. */
int markhelper_attach(struct markhelper *h, struct device *dev);
/* The set_mark hook (ctx: the struct markhelper).  0, the helper's -errno
 * from setsockopt, or -EPERM once the helper is gone. */
int markhelper_set_mark(void *ctx, int fd, uint32_t mark);
/* Closes our end (the helper removes the socket file and exits) and waits
 * up to wait_ms for it to exit.  Before device_teardown.  0, or -ETIMEDOUT
 * if it is still running (it exits on its own). */
int markhelper_stop(struct markhelper *h, int wait_ms);

#endif
