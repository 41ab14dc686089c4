/*
 * sandbox.c - dropping privileges and the seccomp allow-lists (sandbox.h).
 *
 * Capabilities are per thread, so sandbox_drop_privileges() insists on a
 * single-threaded process; the seccomp filter is installed with TSYNC and
 * may come later.  The capability calls are the raw v3 syscalls (no
 * libcap); the filter is built with libseccomp from syscall names, so a
 * name an architecture lacks (open, stat on arm64) is skipped.
 *
 * The allow-lists were measured, not guessed: tools/syscalls.sh runs the
 * netns tests (server_test, cli_test, basic_test, uapi_test) with `zerowg up`
 * and zerowgd under strace -f and lists every system call, ioctl request,
 * socket() and prctl() option, in total and from the "ready" log line on.
 * What only the start-up made (TUN creation, netlink, nftables,
 * inotify_init, mkdir of the UAPI directory) is left out of the lists where
 * it is privileged, and kept where it is harmless and the ordering of the
 * caller may still change.
 */
#include "sandbox.h"
#include "errbuf.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <linux/keyctl.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(leak_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER 0
#endif

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif

/* ------------------------------------------------------------- users -- */

/* getpw*_r with a buffer that grows on ERANGE (bounded).  0, -ENOENT or
 * -errno. */
static int pw_lookup(const char *name, uid_t uid, struct passwd *pw, char **buf)
{
	long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t size = hint > 0 ? (size_t)hint : 4096;
	struct passwd *found = NULL;

	for (int tries = 0; tries < 8; tries++, size *= 2) {
		char *b = realloc(*buf, size);
		int rc;

		if (!b)
			return -ENOMEM;
		*buf = b;
		rc = name ? getpwnam_r(name, pw, b, size, &found) : getpwuid_r(uid, pw, b, size, &found);
		if (rc == ERANGE)
			continue;
		if (rc)
			return -rc;
		return found ? 0 : -ENOENT;
	}
	return -ERANGE;
}

int sandbox_lookup_user(const char *name, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd pw;
	char *buf = NULL, *end;
	unsigned long n;
	int ret;

	if (!name || !*name) {
		errbuf_set(err, errlen, "no user given to run as: name one (e.g. \"%s\")",
			   SANDBOX_DEFAULT_USER);
		return -EINVAL;
	}
	if (strspn(name, "0123456789") == strlen(name)) {
		errno = 0;
		n = strtoul(name, &end, 10);
		if (errno || *end || n >= (unsigned long)(uid_t)-1) {
			errbuf_set(err, errlen, "user \"%s\": not a valid uid (0 to %u)", name,
				   (unsigned)((uid_t)-1 - 1));
			return -EINVAL;
		}
		ret = pw_lookup(NULL, (uid_t)n, &pw, &buf);
		if (ret < 0 && ret != -ENOENT) {
			errbuf_set(err, errlen, "user \"%s\": cannot read the user database: %s",
				   name, strerror(-ret));
			free(buf);
			return ret;
		}
		/* A bare uid without an entry runs with the same number as gid. */
		*uid = (uid_t)n;
		*gid = ret == 0 ? pw.pw_gid : (gid_t)n;
		free(buf);
		return 0;
	}
	ret = pw_lookup(name, 0, &pw, &buf);
	if (ret == -ENOENT) {
		errbuf_set(err, errlen, "user \"%s\" does not exist: create it (useradd --system "
			   "--no-create-home --shell /usr/sbin/nologin %s) or name another user",
			   name, name);
	} else if (ret < 0) {
		errbuf_set(err, errlen, "user \"%s\": cannot read the user database: %s", name,
			   strerror(-ret));
	} else {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
	}
	free(buf);
	return ret;
}

/* ------------------------------------------------------ capabilities -- */

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };

	memset(data, 0, 2 * sizeof(*data));
	return syscall(SYS_capget, &hdr, data) < 0 ? -errno : 0;
}

static int caps_clear(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

static bool cap_has(const struct __user_cap_data_struct data[2], int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

bool sandbox_has_cap(int cap)
{
	struct __user_cap_data_struct data[2];

	return cap >= 0 && cap < 64 && caps_get(data) == 0 && cap_has(data, cap);
}

/* The highest capability this kernel knows (the bounding set's size). */
static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = -1;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = -1;
		fclose(f);
	}
	if (last >= 0 && last < 64)
		return last;
	/* No /proc: ask the bounding set until it says "no such cap". */
	for (last = 0; last < 63; last++)
		if (prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) < 0)
			break;
	return last;
}

/* Threads: from /proc/self/status; 0 if unknown. */
static int thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* Reads back what sandbox_drop_privileges promised.  0 or -EPERM with the
 * first thing left over in err. */
static int verify_dropped(uid_t uid, gid_t gid, bool bounding, bool groups, int last,
			  char *err, size_t errlen)
{
	struct __user_cap_data_struct d[2];
	uid_t ru, eu, su;
	gid_t rg, eg, sg, list[2];
	int ret;

	if ((ret = caps_get(d)) < 0) {
		errbuf_set(err, errlen, "capget: %s", strerror(-ret));
		return ret;
	}
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable) {
			errbuf_set(err, errlen, "capabilities are left after dropping them "
				   "(effective %#x, permitted %#x, inheritable %#x in word %d)",
				   d[i].effective, d[i].permitted, d[i].inheritable, i);
			return -EPERM;
		}
	for (int c = 0; c <= last; c++) {
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) > 0) {
			errbuf_set(err, errlen, "ambient capability %d is left", c);
			return -EPERM;
		}
		if (bounding && prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0) {
			errbuf_set(err, errlen, "capability %d is left in the bounding set", c);
			return -EPERM;
		}
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		errbuf_set(err, errlen, "no_new_privs did not stick");
		return -EPERM;
	}
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
		errbuf_set(err, errlen, "the process is still dumpable");
		return -EPERM;
	}
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	if (uid != (uid_t)-1 && (ru != uid || eu != uid || su != uid)) {
		errbuf_set(err, errlen, "uids are %u/%u/%u, not %u", ru, eu, su, uid);
		return -EPERM;
	}
	if (gid != (gid_t)-1 && (rg != gid || eg != gid || sg != gid)) {
		errbuf_set(err, errlen, "gids are %u/%u/%u, not %u", rg, eg, sg, gid);
		return -EPERM;
	}
	if (groups && (getgroups(2, list) != 1 || list[0] != eg)) {
		errbuf_set(err, errlen, "supplementary groups are left");
		return -EPERM;
	}
	return 0;
}

/* /proc/self/setgroups says "deny" (a user namespace made by a user). */
static bool setgroups_denied(void)
{
	FILE *f = fopen("/proc/self/setgroups", "re");
	char word[16] = "";

	if (!f)
		return false;
	if (fscanf(f, "%15s", word) != 1)
		word[0] = '\0';
	fclose(f);
	return !strcmp(word, "deny");
}

int sandbox_drop_privileges(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	/* NOROOT: uid 0 gets no capabilities at execve; NO_SETUID_FIXUP:
	 * setuid() neither grants nor (we clear them ourselves) keeps any;
	 * KEEP_CAPS off.  All locked, for this thread and its children. */
	const int bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;
	struct __user_cap_data_struct d[2];
	bool setpcap, setgid_cap;
	int last = cap_last(), ret, threads = thread_count();

	if (threads > 1) {
		/* Capabilities, securebits and no_new_privs are per thread: a
		 * thread started before would keep what this one drops. */
		errbuf_set(err, errlen, "cannot drop privileges with %d threads running: drop "
			   "them before starting any thread", threads);
		return -EBUSY;
	}
	if ((ret = caps_get(d)) < 0) {
		errbuf_set(err, errlen, "capget: %s", strerror(-ret));
		return ret;
	}
	setpcap = cap_has(d, CAP_SETPCAP);
	/* In a user namespace made with setgroups denied (unshare -r),
	 * setgroups() fails even with CAP_SETGID: there are no groups to
	 * set. */
	setgid_cap = cap_has(d, CAP_SETGID) && !setgroups_denied();

	/* Ambient first: it is what a future execve would hand on. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		ret = -errno;
		errbuf_set(err, errlen, "clearing the ambient capabilities: %s", strerror(errno));
		return ret;
	}
	/* The bounding set and the securebits need CAP_SETPCAP, which the
	 * uid change below ends: so now. */
	if (setpcap) {
		for (int c = 0; c <= last; c++)
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) {
				ret = -errno;
				errbuf_set(err, errlen, "dropping capability %d from the bounding "
					   "set: %s", c, strerror(errno));
				return ret;
			}
		int cur = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
		if (cur < 0 || ((cur & bits) != bits &&
				prctl(PR_SET_SECUREBITS, (cur & ~SECBIT_KEEP_CAPS) | bits, 0, 0, 0) < 0)) {
			ret = -errno;
			errbuf_set(err, errlen, "locking the securebits (%#x): %s", bits,
				   strerror(errno));
			return ret;
		}
	}
	/* Groups before the gid, the gid before the uid: each needs the
	 * privilege the next one gives up. */
	if (setgid_cap) {
		gid_t g = gid != (gid_t)-1 ? gid : getegid();

		if (setgroups(1, &g) < 0) {
			ret = -errno;
			errbuf_set(err, errlen, "setgroups([%u]): %s", g, strerror(errno));
			return ret;
		}
	}
	if (gid != (gid_t)-1 && setresgid(gid, gid, gid) < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "cannot switch to gid %u: %s (only root can; run as root, "
			   "or leave the group as it is)", gid, strerror(errno));
		return ret;
	}
	if (uid != (uid_t)-1 && setresuid(uid, uid, uid) < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "cannot switch to uid %u: %s (only root can; run as root, "
			   "or stay uid %u)", uid, strerror(errno), getuid());
		return ret;
	}
	/* With NO_SETUID_FIXUP the uid change kept our capabilities, and a
	 * process that stayed uid 0 has them all: clear them explicitly. */
	if ((ret = caps_clear()) < 0) {
		errbuf_set(err, errlen, "capset (clearing every capability): %s", strerror(-ret));
		return ret;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return ret;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		ret = -errno;
		errbuf_set(err, errlen, "PR_SET_DUMPABLE: %s", strerror(errno));
		return ret;
	}
	return verify_dropped(uid, gid, setpcap, setgid_cap, last, err, errlen);
}

/* ---------------------------------------------------------- seccomp -- */

/* Attacker-only system calls: the process dies (SIGSYS) rather than being
 * told "no", so a compromise is loud.  Running programs; reading or
 * writing other processes; mounts and namespaces (the new mount API too);
 * kernel code and eBPF; keyrings (the unseal key was read before the
 * sandbox); identity changes after the drop. */
static const char *const kill_list[] = {
	"execve", "execveat",
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	"mount", "umount2", "pivot_root", "chroot", "setns", "unshare",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
	"bpf", "kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "perf_event_open", "userfaultfd", "open_by_handle_at",
	"keyctl", "add_key", "request_key", "personality",
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
	"setfsuid", "setfsgid", "setgroups", "capset",
	NULL,
};

/* Both profiles. */
static const char *const allow_common[] = {
	/* Threads and the process's end.  clone only with CLONE_THREAD
	 * (below); clone3 answers ENOSYS so glibc falls back to clone. */
	"exit", "exit_group", "set_robust_list", "get_robust_list", "rseq",
	"set_tid_address", "futex", "futex_waitv", "sched_yield",
	"sched_getaffinity", "getcpu", "restart_syscall",
	/* Memory: glibc malloc, thread stacks, secmem's locked pages, the
	 * packet pool's wipe (mincore says which pages were touched). */
	"brk", "mmap", "munmap", "mprotect", "madvise", "mremap", "mincore",
	"mlock", "mlock2", "munlock", "mlockall", "munlockall",
	/* Time and sleeping. */
	"clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep",
	"clock_nanosleep",
	/* Signals: masks, handlers, the signalfd; kill/tgkill only to
	 * ourselves (below). */
	"rt_sigprocmask", "rt_sigaction", "rt_sigreturn", "rt_sigtimedwait",
	"rt_sigpending", "sigaltstack", "signalfd", "signalfd4",
	/* Who we are (questions only). */
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
	"getresuid", "getresgid", "getgroups", "getpgrp", "getsid", "getrlimit",
	"getrusage", "uname", "sysinfo", "getrandom",
	/* The event loops: the data plane's epoll, timerfds and eventfds, the
	 * DNS relay's and libmicrohttpd's poll. */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
	"epoll_pwait2", "poll", "ppoll", "select", "pselect6", "eventfd", "eventfd2",
	"timerfd_create", "timerfd_settime", "timerfd_gettime",
	/* Descriptors: the TUN (read/readv/writev), pipes, stdio, the log. */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "close", "close_range", "dup", "dup2", "dup3", "fcntl",
	"pipe", "pipe2", "lseek", "fstat", "newfstatat", "statx", "stat", "lstat",
	"readlink", "readlinkat", "access", "faccessat", "faccessat2", "getcwd",
	/* Sockets of the families allowed by socket() below: UDP (batched),
	 * the admin API and UAPI unix sockets, the privileged part's
	 * socketpair (fds come over SCM_RIGHTS), the DNS relay's connected
	 * UDP, syslog. */
	"bind", "listen", "accept", "accept4", "connect", "shutdown",
	"getsockname", "getpeername", "getsockopt", "setsockopt",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
	/* The UAPI socket file is removed at exit. */
	"unlink", "unlinkat",
	/* Reaping our own children at exit (the privileged part, rootless
	 * egress): waiting only ever concerns one's own children. */
	"wait4", "waitid",
	NULL,
};

/* The server's sealed store: write a temp file, fsync, rename over, fsync
 * the directory; flock for writers; list the directory; the key's file
 * modes.  (zerowgd writes no file: its openat is read-only.) */
static const char *const allow_server[] = {
	"open", "openat", "fsync", "fdatasync", "flock", "rename", "renameat", "renameat2",
	"mkdir", "mkdirat", "getdents64", "fchmod", "fchmodat", "chmod", "umask",
	"inotify_init1", "inotify_add_watch", "inotify_rm_watch",
	NULL,
};

/* zerowgd: reads (/etc/localtime, /proc) only. */
static const char *const allow_daemon[] = {
	"getdents64", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "umask",
	NULL,
};

/* ioctl requests: isatty (TCGETS), FIONREAD/FIONBIO/FIOCLEX, the TUN's
 * name and offloads (send.c turns TSO/USO off when the MTU grows past a
 * slot), the MTU and index asked of an AF_INET socket.  No TUNSETIFF:
 * creating interfaces is the privileged part's job. */
static const unsigned long allowed_ioctls[] = {
	TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX,
	TUNGETIFF, TUNSETOFFLOAD, SIOCGIFMTU, SIOCGIFINDEX, SIOCGIFNAME,
};

/* prctl options: names of threads (libmicrohttpd's "MHD-single"), and
 * questions.  PR_SET_DUMPABLE only to 0, PR_CAP_AMBIENT only IS_SET. */
static const int allowed_prctls[] = {
	PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_CAPBSET_READ, PR_GET_NO_NEW_PRIVS,
	PR_GET_SECCOMP, PR_GET_SECUREBITS, PR_GET_KEEPCAPS, PR_SET_VMA, PR_GET_TIMERSLACK,
};

struct filter {
	scmp_filter_ctx ctx;
	uint32_t kill;		/* SCMP_ACT_KILL_PROCESS, or KILL where unsupported */
	const char *failed;	/* the system call a rule was refused for */
	int ret;
};

/* One rule by name.  Names this architecture lacks are skipped. */
static void rule(struct filter *f, uint32_t action, const char *name, unsigned n,
		 const struct scmp_arg_cmp *cmp)
{
	int nr, ret;

	if (f->ret)
		return;
	nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return;
	ret = seccomp_rule_add_array(f->ctx, action, nr, n, cmp);
	if (ret < 0) {
		f->ret = ret;
		f->failed = name;
	}
}

static void allow_all(struct filter *f, const char *const *names)
{
	for (; *names; names++)
		rule(f, SCMP_ACT_ALLOW, *names, 0, NULL);
}

static void allow_if(struct filter *f, const char *name, struct scmp_arg_cmp cmp)
{
	rule(f, SCMP_ACT_ALLOW, name, 1, &cmp);
}

/* socket(): AF_UNIX (stream, datagram, seqpacket), AF_INET and AF_INET6
 * UDP and TCP (protocol 0 or named).  SOCK_RAW in an inet family and
 * AF_PACKET kill; anything else (AF_NETLINK, which glibc's getaddrinfo
 * may try, ICMP "ping" sockets) is EPERM.  The type's flags
 * (SOCK_NONBLOCK, SOCK_CLOEXEC) are masked off. */
static void socket_rules(struct filter *f)
{
	static const int inet[] = { AF_INET, AF_INET6 };
	static const int unix_types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	const uint64_t type_mask = 0xf;	/* SOCK_TYPE_MASK, which libc does not export */

	for (size_t i = 0; i < sizeof(unix_types) / sizeof(unix_types[0]); i++) {
		struct scmp_arg_cmp c[] = { SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
					    SCMP_A1(SCMP_CMP_MASKED_EQ, type_mask, unix_types[i]) };
		rule(f, SCMP_ACT_ALLOW, "socket", 2, c);
		rule(f, SCMP_ACT_ALLOW, "socketpair", 2, c);
	}
	for (size_t i = 0; i < 2; i++) {
		struct scmp_arg_cmp udp0[] = { SCMP_A0(SCMP_CMP_EQ, inet[i]),
					       SCMP_A1(SCMP_CMP_MASKED_EQ, type_mask, SOCK_DGRAM),
					       SCMP_A2(SCMP_CMP_EQ, 0) };
		struct scmp_arg_cmp udp[] = { SCMP_A0(SCMP_CMP_EQ, inet[i]),
					      SCMP_A1(SCMP_CMP_MASKED_EQ, type_mask, SOCK_DGRAM),
					      SCMP_A2(SCMP_CMP_EQ, IPPROTO_UDP) };
		struct scmp_arg_cmp tcp0[] = { SCMP_A0(SCMP_CMP_EQ, inet[i]),
					       SCMP_A1(SCMP_CMP_MASKED_EQ, type_mask, SOCK_STREAM),
					       SCMP_A2(SCMP_CMP_EQ, 0) };
		struct scmp_arg_cmp tcp[] = { SCMP_A0(SCMP_CMP_EQ, inet[i]),
					      SCMP_A1(SCMP_CMP_MASKED_EQ, type_mask, SOCK_STREAM),
					      SCMP_A2(SCMP_CMP_EQ, IPPROTO_TCP) };
		struct scmp_arg_cmp raw[] = { SCMP_A0(SCMP_CMP_EQ, inet[i]),
					      SCMP_A1(SCMP_CMP_MASKED_EQ, type_mask, SOCK_RAW) };
		rule(f, SCMP_ACT_ALLOW, "socket", 3, udp0);
		rule(f, SCMP_ACT_ALLOW, "socket", 3, udp);
		rule(f, SCMP_ACT_ALLOW, "socket", 3, tcp0);
		rule(f, SCMP_ACT_ALLOW, "socket", 3, tcp);
		rule(f, f->kill, "socket", 2, raw);
	}
	struct scmp_arg_cmp packet = SCMP_A0(SCMP_CMP_EQ, AF_PACKET);
	rule(f, f->kill, "socket", 1, &packet);
}

/* keyctl: invalidating the one key of allow and unlinking it from its
 * ring are allowed; either on anything else gets EPERM; every other
 * operation kills, as without allow. */
static void keyctl_rules(struct filter *f, const struct sandbox_allow *allow)
{
	struct scmp_arg_cmp invalidate[] = { SCMP_A0_32(SCMP_CMP_EQ, KEYCTL_INVALIDATE),
					     SCMP_A1_32(SCMP_CMP_EQ, (uint32_t)allow->key) };
	struct scmp_arg_cmp unlink_[] = { SCMP_A0_32(SCMP_CMP_EQ, KEYCTL_UNLINK),
					  SCMP_A1_32(SCMP_CMP_EQ, (uint32_t)allow->key),
					  SCMP_A2_32(SCMP_CMP_EQ, (uint32_t)allow->ring) };
	struct scmp_arg_cmp below = SCMP_A0_32(SCMP_CMP_LT, KEYCTL_UNLINK);
	struct scmp_arg_cmp above = SCMP_A0_32(SCMP_CMP_GT, KEYCTL_INVALIDATE);

	_Static_assert(KEYCTL_UNLINK < KEYCTL_INVALIDATE, "the kill ranges below assume this order");
	rule(f, SCMP_ACT_ALLOW, "keyctl", 2, invalidate);
	rule(f, SCMP_ACT_ALLOW, "keyctl", 3, unlink_);
	rule(f, f->kill, "keyctl", 1, &below);
	rule(f, f->kill, "keyctl", 1, &above);
	for (uint32_t op = KEYCTL_UNLINK + 1; op < KEYCTL_INVALIDATE; op++) {
		struct scmp_arg_cmp mid = SCMP_A0_32(SCMP_CMP_EQ, op);

		rule(f, f->kill, "keyctl", 1, &mid);
	}
}

static void build(struct filter *f, enum sandbox_profile profile, const struct sandbox_allow *allow)
{
	pid_t self = getpid();
	bool keys = allow && allow->key > 0 && allow->ring != 0;

	if (keys)
		keyctl_rules(f, allow);
	for (const char *const *k = kill_list; *k; k++) {
		if (keys && !strcmp(*k, "keyctl"))
			continue;
		/* ASan's symbolizer is a program (so execve gets the default
		 * EPERM and the report goes on unsymbolised); LSan stops the
		 * world with a ptrace()ing clone at exit. */
		if (SANDBOX_SANITIZER && (!strcmp(*k, "execve") || !strcmp(*k, "execveat") ||
					  !strcmp(*k, "ptrace")))
			continue;
		rule(f, f->kill, *k, 0, NULL);
	}
	allow_all(f, allow_common);
	allow_all(f, profile == SANDBOX_SERVER ? allow_server : allow_daemon);
	if (profile == SANDBOX_DAEMON) {
		/* Read-only opens: (flags & (O_ACCMODE|O_CREAT|O_TRUNC)) ==
		 * O_RDONLY.  O_TMPFILE needs a write mode, so it is out too. */
		const uint64_t m = O_ACCMODE | O_CREAT | O_TRUNC;
		allow_if(f, "openat", SCMP_A2(SCMP_CMP_MASKED_EQ, m, O_RDONLY));
		allow_if(f, "open", SCMP_A1(SCMP_CMP_MASKED_EQ, m, O_RDONLY));
	}
	socket_rules(f);
	for (size_t i = 0; i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++)
		/* The kernel's ioctl command is 32 bits.  (SCMP_A1_32 only
		 * casts the datum; it does not mask the argument: a command
		 * with high bits set matches nothing and gets EPERM.) */
		allow_if(f, "ioctl", SCMP_A1_32(SCMP_CMP_EQ, (uint32_t)allowed_ioctls[i]));
	for (size_t i = 0; i < sizeof(allowed_prctls) / sizeof(allowed_prctls[0]); i++)
		allow_if(f, "prctl", SCMP_A0(SCMP_CMP_EQ, (uint64_t)allowed_prctls[i]));
	{
		struct scmp_arg_cmp dump0[] = { SCMP_A0(SCMP_CMP_EQ, PR_SET_DUMPABLE),
						SCMP_A1(SCMP_CMP_EQ, 0) };
		struct scmp_arg_cmp amb[] = { SCMP_A0(SCMP_CMP_EQ, PR_CAP_AMBIENT),
					      SCMP_A1(SCMP_CMP_EQ, PR_CAP_AMBIENT_IS_SET) };
		rule(f, SCMP_ACT_ALLOW, "prctl", 2, dump0);
		rule(f, SCMP_ACT_ALLOW, "prctl", 2, amb);
	}
	/* Limits may be read, not raised: prlimit64 without a new limit. */
	allow_if(f, "prlimit64", SCMP_A2(SCMP_CMP_EQ, 0));
	/* Signals to ourselves only (raise, abort, pthread_kill). */
	allow_if(f, "tgkill", SCMP_A0(SCMP_CMP_EQ, (uint64_t)self));
	allow_if(f, "kill", SCMP_A0(SCMP_CMP_EQ, (uint64_t)self));
	/* New threads only: a fork could neither exec nor be useful. */
	allow_if(f, "clone", SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	rule(f, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);

	if (SANDBOX_SANITIZER) {
		/* LSan at exit: a tracer clone (no CLONE_THREAD) that
		 * ptrace()s every thread, waits, and PR_SET_PTRACER /
		 * PR_SET_DUMPABLE 1 / PR_SET_PDEATHSIG around it. */
		static const char *const lsan[] = { "ptrace", "wait4", "waitid", "getdents", "sched_getparam",
						     "sched_getscheduler", NULL };
		struct scmp_arg_cmp nothread = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0);
		static const int lsan_prctls[] = { PR_SET_PTRACER, PR_SET_DUMPABLE,
						   PR_SET_PDEATHSIG, PR_GET_PDEATHSIG };

		allow_all(f, lsan);
		rule(f, SCMP_ACT_ALLOW, "clone", 1, &nothread);
		for (size_t i = 0; i < sizeof(lsan_prctls) / sizeof(lsan_prctls[0]); i++)
			allow_if(f, "prctl", SCMP_A0(SCMP_CMP_EQ, (uint64_t)lsan_prctls[i]));
		/* The tracer is another task: it signals the threads it stops. */
		allow_if(f, "tgkill", SCMP_A0(SCMP_CMP_NE, (uint64_t)self));
		allow_if(f, "kill", SCMP_A0(SCMP_CMP_NE, (uint64_t)self));
		rule(f, SCMP_ACT_ALLOW, "tkill", 0, NULL);
	}
}

int sandbox_seccomp(enum sandbox_profile profile, const struct sandbox_allow *allow, char *err,
		    size_t errlen)
{
	struct filter f = { .kill = SCMP_ACT_KILL_PROCESS };
	const char *what = profile == SANDBOX_SERVER ? "server" : "daemon";
	int ret;

	if (profile != SANDBOX_SERVER && profile != SANDBOX_DAEMON) {
		errbuf_set(err, errlen, "unknown sandbox profile %d", (int)profile);
		return -EINVAL;
	}
	/* API level 3: the kernel knows SECCOMP_RET_KILL_PROCESS (4.14). */
	if (seccomp_api_get() < 3)
		f.kill = SCMP_ACT_KILL;
	f.ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!f.ctx) {
		errbuf_set(err, errlen, "seccomp_init failed (libseccomp %u.%u or the kernel lacks "
			   "seccomp filters)", seccomp_version()->major, seccomp_version()->minor);
		return -ENOMEM;
	}
	/* Every thread, or fail; another ABI (i386 int 0x80, x32) kills;
	 * errors as -errno. */
	if ((ret = seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 ||
	    (ret = seccomp_attr_set(f.ctx, SCMP_FLTATR_ACT_BADARCH, f.kill)) < 0 ||
	    (ret = seccomp_attr_set(f.ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0) {
		errbuf_set(err, errlen, "seccomp filter attributes: %s (libseccomp 2.5 or later "
			   "needed)", strerror(-ret));
		goto out;
	}
	build(&f, profile, allow);
	if ((ret = f.ret) < 0) {
		errbuf_set(err, errlen, "seccomp rule for %s: %s", f.failed, strerror(-ret));
		goto out;
	}
	ret = seccomp_load(f.ctx);
	if (ret < 0) {
		errbuf_set(err, errlen, "loading the %s seccomp filter: %s%s", what,
			   strerror(-ret), ret == -ESRCH ? " (a thread could not be synchronised)" : "");
		goto out;
	}
	if (SANDBOX_SANITIZER)
		log_error("sandbox: sanitizer build: the %s seccomp filter also allows ptrace, "
			  "wait4, fork-like clone and prctl for LeakSanitizer, and execve fails "
			  "with EPERM instead of killing (weaker than a release build)", what);
out:
	seccomp_release(f.ctx);
	return ret > 0 ? -EIO : ret;
}

/* ------------------------------------------------------------ status -- */

int sandbox_status_read(pid_t pid, struct sandbox_status *st)
{
	char path[64], line[256];
	unsigned long long v;
	unsigned found = 0;
	unsigned a, b;
	FILE *f;
	int ret = 0;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	memset(st, 0, sizeof(*st));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Uid: %u %u", &a, &b) == 2) {
			st->uid = b;
			found |= 1;
		} else if (sscanf(line, "Gid: %u %u", &a, &b) == 2) {
			st->gid = b;
			found |= 2;
		} else if (sscanf(line, "CapInh: %llx", &v) == 1) {
			st->cap_inh = v;
			found |= 4;
		} else if (sscanf(line, "CapPrm: %llx", &v) == 1) {
			st->cap_prm = v;
			found |= 8;
		} else if (sscanf(line, "CapEff: %llx", &v) == 1) {
			st->cap_eff = v;
			found |= 16;
		} else if (sscanf(line, "CapBnd: %llx", &v) == 1) {
			st->cap_bnd = v;
			found |= 32;
		} else if (sscanf(line, "CapAmb: %llx", &v) == 1) {
			st->cap_amb = v;	/* Linux 4.3 and later */
		} else if (sscanf(line, "NoNewPrivs: %u", &a) == 1) {
			st->no_new_privs = (int)a;
			found |= 64;
		} else if (sscanf(line, "Seccomp: %u", &a) == 1) {
			st->seccomp = (int)a;
			found |= 128;
		}
	}
	if (ferror(f))
		ret = -EIO;
	else if (found != 255)
		ret = -EPROTO;
	fclose(f);
	return ret;
}

void sandbox_status_format(const struct sandbox_status *st, char *buf, size_t len)
{
	struct passwd pw;
	char *pwbuf = NULL, caps[96];
	const char *name = NULL;

	if (pw_lookup(NULL, st->uid, &pw, &pwbuf) == 0)
		name = pw.pw_name;
	if (st->cap_eff | st->cap_prm | st->cap_inh | st->cap_amb)
		snprintf(caps, sizeof(caps), "capabilities 0x%llx (permitted 0x%llx)",
			 (unsigned long long)st->cap_eff, (unsigned long long)st->cap_prm);
	else if (st->cap_bnd)
		snprintf(caps, sizeof(caps), "no capabilities (bounding set kept)");
	else
		snprintf(caps, sizeof(caps), "no capabilities");
	snprintf(buf, len, "sandbox: user %s (uid %u), %s, %s, %s", name ? name : "-",
		 (unsigned)st->uid, caps, st->no_new_privs ? "no_new_privs" : "no no_new_privs",
		 st->seccomp == 2 ? "seccomp filter" :
		 st->seccomp == 1 ? "seccomp strict" : "no seccomp");
	free(pwbuf);
}
