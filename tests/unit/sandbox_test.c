/*
 * sandbox_test.c - the sandbox (sandbox.h), each check in a forked child so
 * that this program stays unsandboxed; the parent judges the child's exit
 * status.
 *
 * Dropping: as root, to `nobody`: /proc shows no capability in any set,
 * no_new_privs, uid nobody; setuid(0) fails; a root-only file cannot be
 * opened; the securebits are locked.  Staying root (uid -1) still leaves no
 * power over another user's file.  Without root (or after setresuid to
 * nobody) a drop with uid -1 works and a drop to another uid is refused.
 * A drop with threads running is refused.
 * Seccomp: Seccomp 2 in /proc; execve, ptrace, AF_PACKET and SOCK_RAW
 * sockets, setuid, unshare, mount, an i386 (int 0x80) and an x32 system
 * call kill the whole process with SIGSYS, also from a thread; AF_NETLINK,
 * fork, raising a limit, prctl(PR_SET_DUMPABLE, 1), ioctl(TUNSETIFF) and
 * signals to other processes fail with EPERM; what the server does still
 * works (UDP on 127.0.0.1, a thread, write+fsync+rename, getrandom, mlock,
 * epoll with a timerfd and an eventfd, a SEQPACKET socketpair, the status
 * line).  TSYNC: a thread started before the filter is filtered too.  The
 * daemon profile opens files read-only only.
 * In a sanitizer build execve answers EPERM and ptrace is allowed (LSan
 * needs it): those checks say so instead.
 */
#include "test.h"
#include "sandbox.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/securebits.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZER 1
#endif
#endif
#ifndef SANITIZER
#define SANITIZER 0
#endif

static char tmpdir[64];
static uid_t nobody_uid = (uid_t)-1;
static gid_t nobody_gid = (gid_t)-1;

/* In a child: report and fail with the line number. */
#define REQUIRE(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "  child %s:%d: REQUIRE failed: %s (errno: %s)\n", \
			__FILE__, __LINE__, #cond, strerror(errno)); \
		return 1; \
	} \
} while (0)

/* Runs fn in a child process; returns its wait status (bounded: 20 s). */
static int in_child(int (*fn)(void))
{
	pid_t pid;
	int status = -1;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		alarm(20);
		_exit(fn());
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return status;
}

static bool exited_ok(int status)
{
	if (WIFSIGNALED(status))
		fprintf(stderr, "  child killed by signal %d\n", WTERMSIG(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool killed_by_sigsys(int status)
{
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fprintf(stderr, "  child not killed by SIGSYS (%s %d)\n",
			WIFSIGNALED(status) ? "signal" : "exit status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

static int seccomp_server_with(const struct sandbox_allow *allow)
{
	char err[256] = "";
	int ret = sandbox_seccomp(SANDBOX_SERVER, allow, err, sizeof(err));

	if (ret < 0)
		fprintf(stderr, "  sandbox_seccomp: %s\n", err);
	return ret;
}

static int seccomp_server(void)
{
	return seccomp_server_with(NULL);
}

/* ------------------------------------------------------------ users -- */

static void test_lookup_user(void)
{
	uid_t uid = 1;
	gid_t gid = 1;
	char err[256] = "";

	CHECK_INT(sandbox_lookup_user("root", &uid, &gid, err, sizeof(err)), 0);
	CHECK_INT(uid, 0);
	CHECK_INT(gid, 0);
	CHECK_INT(sandbox_lookup_user("nobody", &uid, &gid, err, sizeof(err)), 0);
	CHECK_INT(uid, nobody_uid);
	CHECK_INT(sandbox_lookup_user("zwg-no-such-user", &uid, &gid, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "\"zwg-no-such-user\"") && strstr(err, "useradd"));
	CHECK_INT(sandbox_lookup_user("", &uid, &gid, err, sizeof(err)), -EINVAL);
	CHECK_INT(sandbox_lookup_user(NULL, &uid, &gid, err, sizeof(err)), -EINVAL);
	/* A numeric uid: the passwd entry's gid, or the same number. */
	CHECK_INT(sandbox_lookup_user("0", &uid, &gid, err, sizeof(err)), 0);
	CHECK_INT(uid, 0);
	CHECK_INT(gid, 0);
	CHECK_INT(sandbox_lookup_user("4000000000", &uid, &gid, err, sizeof(err)), 0);
	CHECK_INT(uid, 4000000000u);
	CHECK_INT(gid, 4000000000u);
	/* -1 is "keep", never a uid; too big; not a number. */
	CHECK_INT(sandbox_lookup_user("4294967295", &uid, &gid, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "\"4294967295\"") != NULL);
	CHECK_INT(sandbox_lookup_user("99999999999999999999999", &uid, &gid, err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(sandbox_lookup_user("12ab", &uid, &gid, err, sizeof(err)), -ENOENT);
}

/* ----------------------------------------------------------- status -- */

static void test_status(void)
{
	struct sandbox_status st = { 0 };
	char line[256];

	CHECK_INT(sandbox_status_read(0, &st), 0);
	CHECK_INT(st.uid, geteuid());
	CHECK_INT(st.gid, getegid());
	CHECK(st.cap_bnd != 0);	/* this program dropped nothing */
	CHECK_INT(sandbox_status_read(getpid(), &st), 0);
	CHECK_INT(st.uid, geteuid());
	CHECK_INT(sandbox_status_read(0x7ffffff0, &st), -ENOENT);

	struct sandbox_status done = { .no_new_privs = 1, .seccomp = 2, .uid = 0 };
	sandbox_status_format(&done, line, sizeof(line));
	CHECK(!strcmp(line, "sandbox: user root (uid 0), no capabilities, no_new_privs, "
		      "seccomp filter"));
	if (strcmp(line, "sandbox: user root (uid 0), no capabilities, no_new_privs, seccomp filter"))
		fprintf(stderr, "  got \"%s\"\n", line);
	struct sandbox_status open_ = { .cap_eff = 0x3000, .cap_prm = 0x3000, .cap_bnd = ~0ull,
					.uid = 4000000001u };
	sandbox_status_format(&open_, line, sizeof(line));
	CHECK(!strcmp(line, "sandbox: user - (uid 4000000001), capabilities 0x3000 (permitted "
		      "0x3000), no no_new_privs, no seccomp"));
	struct sandbox_status user = { .cap_bnd = 0x1ff, .no_new_privs = 1, .seccomp = 1,
				       .uid = nobody_uid };
	sandbox_status_format(&user, line, sizeof(line));
	CHECK(strstr(line, "user nobody (uid ") && strstr(line, "no capabilities (bounding set kept)") &&
	      strstr(line, "seccomp strict"));
	/* Truncation stays a string. */
	sandbox_status_format(&done, line, 10);
	CHECK_INT(strlen(line), 9);
}

/* ------------------------------------------------------- privileges -- */

static char rootfile[128], nobodyfile[128];

static int drop_to_nobody(void)
{
	struct sandbox_status st;
	char err[256] = "", line[256];
	gid_t groups[4];
	int bits;

	if (sandbox_drop_privileges(nobody_uid, nobody_gid, err, sizeof(err)) < 0) {
		fprintf(stderr, "  sandbox_drop_privileges: %s\n", err);
		return 1;
	}
	REQUIRE(sandbox_status_read(0, &st) == 0);
	REQUIRE(st.cap_eff == 0 && st.cap_prm == 0 && st.cap_inh == 0);
	REQUIRE(st.cap_bnd == 0 && st.cap_amb == 0);
	REQUIRE(st.no_new_privs == 1);
	REQUIRE(st.uid == nobody_uid && st.gid == nobody_gid);
	REQUIRE(getuid() == nobody_uid && getgid() == nobody_gid);
	REQUIRE(getgroups(4, groups) == 1 && groups[0] == nobody_gid);
	REQUIRE(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
	bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	REQUIRE(bits >= 0 && (bits & SECBIT_NOROOT_LOCKED) && (bits & SECBIT_NOROOT) &&
		(bits & SECBIT_NO_SETUID_FIXUP_LOCKED) && (bits & SECBIT_KEEP_CAPS_LOCKED) &&
		!(bits & SECBIT_KEEP_CAPS));
	/* No way back. */
	errno = 0;
	REQUIRE(setuid(0) < 0 && errno == EPERM);
	REQUIRE(setgid(0) < 0 && errno == EPERM);
	REQUIRE(prctl(PR_SET_SECUREBITS, 0, 0, 0, 0) < 0);
	REQUIRE(open(rootfile, O_RDONLY | O_CLOEXEC) < 0 && errno == EACCES);
	sandbox_status_format(&st, line, sizeof(line));
	REQUIRE(strstr(line, "user nobody") && strstr(line, ", no capabilities, no_new_privs, no seccomp"));
	/* Then the filter on top: the start-up log line as the server says it. */
	REQUIRE(seccomp_server() == 0);
	REQUIRE(sandbox_status_read(0, &st) == 0 && st.seccomp == 2);
	sandbox_status_format(&st, line, sizeof(line));
	REQUIRE(strstr(line, "sandbox: user nobody (uid ") &&
		strstr(line, "), no capabilities, no_new_privs, seccomp filter"));
	return 0;
}

static void test_drop_to_nobody(void)
{
	if (geteuid() != 0) {
		printf("  (not root: dropping to nobody is checked by the root run)\n");
		return;
	}
	CHECK(exited_ok(in_child(drop_to_nobody)));
}

/* Root that stays uid 0 (uid -1) keeps no power: another user's 0600 file
 * is closed to it (no CAP_DAC_OVERRIDE), the bounding set is empty. */
static int drop_keep_root(void)
{
	struct sandbox_status st;
	char err[256] = "";

	if (sandbox_drop_privileges((uid_t)-1, (gid_t)-1, err, sizeof(err)) < 0) {
		fprintf(stderr, "  sandbox_drop_privileges: %s\n", err);
		return 1;
	}
	REQUIRE(sandbox_status_read(0, &st) == 0);
	REQUIRE(st.uid == 0 && st.cap_eff == 0 && st.cap_prm == 0 && st.cap_bnd == 0);
	REQUIRE(st.no_new_privs == 1);
	REQUIRE(open(nobodyfile, O_RDONLY | O_CLOEXEC) < 0 && errno == EACCES);
	REQUIRE(chown(nobodyfile, 0, 0) < 0 && errno == EPERM);
	return 0;
}

static void test_drop_keep_root(void)
{
	if (geteuid() != 0) {
		printf("  (not root: checked by the root run)\n");
		return;
	}
	CHECK(exited_ok(in_child(drop_keep_root)));
}

/* An ordinary user: uid -1 works and sets no_new_privs; the bounding set
 * stays (only CAP_SETPCAP could empty it).  Another uid is refused. */
static int drop_as_user(void)
{
	struct sandbox_status st;
	char err[256] = "";
	uid_t me;

	if (geteuid() == 0) {
		/* Become nobody the plain way first (which clears the
		 * capabilities without securebits). */
		REQUIRE(setgroups(0, NULL) == 0);
		REQUIRE(setresgid(nobody_gid, nobody_gid, nobody_gid) == 0);
		REQUIRE(setresuid(nobody_uid, nobody_uid, nobody_uid) == 0);
	}
	me = getuid();
	REQUIRE(sandbox_drop_privileges(me + 1, (gid_t)-1, err, sizeof(err)) == -EPERM);
	REQUIRE(strstr(err, "cannot switch to uid") != NULL);
	REQUIRE(sandbox_drop_privileges((uid_t)-1, (gid_t)-1, err, sizeof(err)) == 0);
	REQUIRE(sandbox_status_read(0, &st) == 0);
	REQUIRE(st.uid == me && st.cap_eff == 0 && st.cap_prm == 0 && st.cap_amb == 0);
	REQUIRE(st.no_new_privs == 1);
	REQUIRE(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
	/* Idempotent: a second call finds nothing to do and still verifies. */
	REQUIRE(sandbox_drop_privileges((uid_t)-1, (gid_t)-1, err, sizeof(err)) == 0);
	REQUIRE(seccomp_server() == 0);
	REQUIRE(sandbox_status_read(0, &st) == 0 && st.seccomp == 2);
	return 0;
}

static void test_drop_as_user(void)
{
	CHECK(exited_ok(in_child(drop_as_user)));
}

static void *park(void *arg)
{
	char c;

	(void)!read(*(int *)arg, &c, 1);
	return NULL;
}

/* Capabilities are per thread: a drop with a second thread is refused. */
static int drop_with_threads(void)
{
	char err[256] = "";
	pthread_t t;
	int fds[2];

	REQUIRE(pipe(fds) == 0);
	REQUIRE(pthread_create(&t, NULL, park, &fds[0]) == 0);
	REQUIRE(sandbox_drop_privileges((uid_t)-1, (gid_t)-1, err, sizeof(err)) == -EBUSY);
	REQUIRE(strstr(err, "2 threads") != NULL);
	REQUIRE(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);	/* nothing half done */
	REQUIRE(write(fds[1], "x", 1) == 1);
	REQUIRE(pthread_join(t, NULL) == 0);
	return 0;
}

static void test_drop_with_threads(void)
{
	CHECK(exited_ok(in_child(drop_with_threads)));
}

/* ---------------------------------------------------------- seccomp -- */

static void *thread_ok(void *arg)
{
	return arg;
}

/* What the server does must keep working under its filter. */
static int server_allowed(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct sandbox_status st;
	char path[160], path2[160], buf[64], err[256];
	unsigned char rnd[32];
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct itimerspec its = { .it_value = { 0, 1000000 } };
	struct rlimit rl;
	uint64_t n;
	pthread_t t;
	void *res = NULL, *page;
	int s, fd, ep, tfd, efd, sp[2];

	REQUIRE(seccomp_server() == 0);
	REQUIRE(sandbox_status_read(0, &st) == 0);
	REQUIRE(st.seccomp == 2 && st.no_new_privs == 1);
	/* UDP on loopback: bind, sendto ourselves, recvfrom. */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	REQUIRE(s >= 0);
	REQUIRE(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	REQUIRE(getsockname(s, (struct sockaddr *)&a, &alen) == 0);
	REQUIRE(sendto(s, "ping", 4, 0, (struct sockaddr *)&a, sizeof(a)) == 4);
	REQUIRE(recvfrom(s, buf, sizeof(buf), 0, NULL, NULL) == 4 && !memcmp(buf, "ping", 4));
	REQUIRE(ioctl(s, FIONREAD, &alen) == 0);
	close(s);
	s = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
	REQUIRE(s >= 0);
	close(s);
	/* A thread started after the filter. */
	REQUIRE(pthread_create(&t, NULL, thread_ok, (void *)0x5a) == 0);
	REQUIRE(pthread_join(t, &res) == 0 && res == (void *)0x5a);
	/* The store's write: temp file, fsync, rename, fsync the directory,
	 * list it, remove it. */
	snprintf(path, sizeof(path), "%s/rec.tmp", tmpdir);
	snprintf(path2, sizeof(path2), "%s/rec", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, "sealed", 6) == 6 && fsync(fd) == 0 && fdatasync(fd) == 0);
	close(fd);
	REQUIRE(rename(path, path2) == 0);
	fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQUIRE(fd >= 0 && fsync(fd) == 0);
	close(fd);
	fd = open(path2, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0 && read(fd, buf, sizeof(buf)) == 6);
	close(fd);
	REQUIRE(unlink(path2) == 0);
	/* Key material: getrandom, a locked page. */
	REQUIRE(getrandom(rnd, sizeof(rnd), 0) == sizeof(rnd));
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(page != MAP_FAILED);
	REQUIRE(mlock(page, 4096) == 0 && munlock(page, 4096) == 0 && munmap(page, 4096) == 0);
	/* The event loop: a timerfd and an eventfd through epoll. */
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	REQUIRE(ep >= 0 && tfd >= 0 && efd >= 0);
	ev.data.fd = tfd;
	REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) == 0);
	REQUIRE(timerfd_settime(tfd, 0, &its, NULL) == 0);
	REQUIRE(epoll_wait(ep, &out, 1, 5000) == 1 && out.data.fd == tfd);
	REQUIRE(read(tfd, &n, sizeof(n)) == sizeof(n) && n >= 1);
	ev.data.fd = efd;
	REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
	n = 1;
	REQUIRE(write(efd, &n, sizeof(n)) == sizeof(n));
	REQUIRE(epoll_wait(ep, &out, 1, 5000) == 1 && out.data.fd == efd);
	/* The privileged part's channel. */
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
	REQUIRE(send(sp[0], "m", 1, 0) == 1 && recv(sp[1], buf, 2, 0) == 1);
	/* Harmless prctl and limits. */
	REQUIRE(prctl(PR_SET_NAME, "zwg-test", 0, 0, 0) == 0);
	REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	REQUIRE(kill(getpid(), 0) == 0);
	REQUIRE(isatty(sp[0]) == 0 && errno == ENOTTY);
	/* The status line (reads the user database under the filter). */
	sandbox_status_format(&st, err, sizeof(err));
	REQUIRE(strstr(err, "seccomp filter") != NULL);
	return 0;
}

static void test_seccomp_server_allows(void)
{
	CHECK(exited_ok(in_child(server_allowed)));
}

/* Refused with EPERM, and the process goes on. */
static int server_refused(void)
{
	struct rlimit rl;
	struct ifreq ifr;
	pid_t pid;
	int s;

	REQUIRE(seccomp_server() == 0);
	errno = 0;
	REQUIRE(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0) < 0 && errno == EPERM);
	REQUIRE(socket(AF_NETLINK, SOCK_DGRAM, 0) < 0 && errno == EPERM);
	/* ICMP "ping" sockets are datagram sockets, but not UDP. */
	REQUIRE(socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) < 0 && errno == EPERM);
	REQUIRE(socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){ 0 }) < 0 && errno == EPERM);
	/* Creating a TUN is the privileged part's. */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	REQUIRE(ioctl(s, TUNSETIFF, &ifr) < 0 && errno == EPERM);
	REQUIRE(ioctl(s, SIOCSIFMTU, &ifr) < 0 && errno == EPERM);
	close(s);
	REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = rl.rlim_cur > 1 ? rl.rlim_cur - 1 : 1;
	REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) < 0 && errno == EPERM);
	if (!SANITIZER) {
		REQUIRE(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0 && errno == EPERM);
		REQUIRE(kill(1, 0) < 0 && errno == EPERM);
		/* fork: a clone without CLONE_THREAD. */
		pid = fork();
		if (pid == 0)
			_exit(0);
		REQUIRE(pid < 0 && errno == EPERM);
	}
	REQUIRE(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0);
	REQUIRE(prctl(PR_SET_SECCOMP, 2, 0, 0, 0) < 0 && errno == EPERM);
	return 0;
}

static void test_seccomp_server_refuses(void)
{
	CHECK(exited_ok(in_child(server_refused)));
}

/* The attacker's system calls: each in its own child, which must die. */
static int do_execve(void)
{
	char *argv[] = { "true", NULL }, *envp[] = { NULL };

	REQUIRE(seccomp_server() == 0);
	execve("/bin/true", argv, envp);
	/* Sanitizer builds answer EPERM (the symbolizer): report it apart. */
	return errno == EPERM ? 42 : 1;
}
static int do_ptrace(void)
{
	REQUIRE(seccomp_server() == 0);
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return 42;
}
static int do_packet(void)
{
	REQUIRE(seccomp_server() == 0);
	socket(AF_PACKET, SOCK_RAW, htons(0x0003));
	return 1;
}
static int do_packet_dgram(void)
{
	REQUIRE(seccomp_server() == 0);
	socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return 1;
}
static int do_raw4(void)
{
	REQUIRE(seccomp_server() == 0);
	socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	return 1;
}
static int do_raw6(void)
{
	REQUIRE(seccomp_server() == 0);
	socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	return 1;
}
static int do_setuid(void)
{
	REQUIRE(seccomp_server() == 0);
	syscall(SYS_setuid, 0);
	return 1;
}
static int do_unshare(void)
{
	REQUIRE(seccomp_server() == 0);
	unshare(CLONE_NEWUSER);
	return 1;
}
static int do_mount(void)
{
	REQUIRE(seccomp_server() == 0);
	mount("none", tmpdir, "tmpfs", 0, NULL);
	return 1;
}
static int do_bpf(void)
{
	REQUIRE(seccomp_server() == 0);
	syscall(SYS_bpf, 0, NULL, 0);
	return 1;
}
static int do_keyctl(void)
{
	REQUIRE(seccomp_server() == 0);
	syscall(SYS_keyctl, 0, 0, 0, 0, 0);
	return 1;
}
#if defined(__x86_64__)
/* The i386 ABI through int 0x80 (20 is getpid there): another
 * architecture for the filter, so the bad-arch action. */
static int do_i386(void)
{
	long ret = 20;

	REQUIRE(seccomp_server() == 0);
	__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
	return 1;
}
/* The x32 ABI: getpid with __X32_SYSCALL_BIT. */
static int do_x32(void)
{
	REQUIRE(seccomp_server() == 0);
	syscall(0x40000000L | SYS_getpid);
	return 1;
}
#endif

static void *thread_execve(void *arg)
{
	char *argv[] = { "true", NULL }, *envp[] = { NULL };

	(void)arg;
	execve("/bin/true", argv, envp);
	return NULL;
}
/* A kill is for the whole process, not the thread that made the call. */
static int do_execve_in_thread(void)
{
	pthread_t t;

	REQUIRE(seccomp_server() == 0);
	REQUIRE(pthread_create(&t, NULL, thread_execve, NULL) == 0);
	pthread_join(t, NULL);
	sleep(5);
	return errno == EPERM ? 42 : 1;
}

static void test_seccomp_kills(void)
{
	static const struct { const char *what; int (*fn)(void); } kills[] = {
		{ "socket(AF_PACKET, SOCK_RAW)", do_packet },
		{ "socket(AF_PACKET, SOCK_DGRAM)", do_packet_dgram },
		{ "socket(AF_INET, SOCK_RAW)", do_raw4 },
		{ "socket(AF_INET6, SOCK_RAW|flags)", do_raw6 },
		{ "setuid", do_setuid },
		{ "unshare", do_unshare },
		{ "mount", do_mount },
		{ "bpf", do_bpf },
		{ "keyctl", do_keyctl },
#if defined(__x86_64__)
		{ "i386 int 0x80", do_i386 },
		{ "x32 system call", do_x32 },
#endif
	};
	int st;

	for (size_t i = 0; i < sizeof(kills) / sizeof(kills[0]); i++) {
		st = in_child(kills[i].fn);
		if (!killed_by_sigsys(st))
			fprintf(stderr, "  %s was not killed\n", kills[i].what);
		CHECK(killed_by_sigsys(st));
	}
	if (SANITIZER) {
		printf("  (sanitizer build: execve fails with EPERM, ptrace is allowed)\n");
		st = in_child(do_execve);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
		st = in_child(do_ptrace);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
	} else {
		CHECK(killed_by_sigsys(in_child(do_execve)));
		CHECK(killed_by_sigsys(in_child(do_execve_in_thread)));
		CHECK(killed_by_sigsys(in_child(do_ptrace)));
	}
}

/* TSYNC: a thread that exists before the filter is under it too. */
static int tsync_pipe[2];

static void *early_thread(void *arg)
{
	char c, *argv[] = { "true", NULL }, *envp[] = { NULL };

	(void)arg;
	if (read(tsync_pipe[0], &c, 1) != 1)
		return NULL;
	execve("/bin/true", argv, envp);
	_exit(errno == EPERM ? 42 : 1);
}

static int tsync(void)
{
	struct sandbox_status st;
	pthread_t t;

	REQUIRE(pipe(tsync_pipe) == 0);
	REQUIRE(pthread_create(&t, NULL, early_thread, NULL) == 0);
	REQUIRE(seccomp_server() == 0);
	/* The other thread's own status says so as well. */
	REQUIRE(sandbox_status_read(0, &st) == 0 && st.seccomp == 2);
	REQUIRE(write(tsync_pipe[1], "go", 1) == 1);
	pthread_join(t, NULL);
	sleep(5);
	return 1;
}

static void test_seccomp_tsync(void)
{
	int st = in_child(tsync);

	if (SANITIZER)
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
	else
		CHECK(killed_by_sigsys(st));
}

/* Sanitizer builds: LeakSanitizer's exit-time check works under the
 * filter (its tracer clone, ptrace, wait4): a clean exit stays clean and a
 * leak is still reported (exit status 1 under ASan, 23 under LSan alone),
 * not killed. */
static int lsan_clean_exit(void)
{
	REQUIRE(seccomp_server() == 0);
	exit(0);
}

/* The server's order: drop (to nobody as root), then the filter. */
static int lsan_dropped_exit(void)
{
	char err[256] = "";

	if (sandbox_drop_privileges(geteuid() == 0 ? nobody_uid : (uid_t)-1,
				    geteuid() == 0 ? nobody_gid : (gid_t)-1, err, sizeof(err)) < 0) {
		fprintf(stderr, "  sandbox_drop_privileges: %s\n", err);
		return 1;
	}
	REQUIRE(seccomp_server() == 0);
	exit(0);
}

static void *volatile leak_sink;

static int lsan_leak_exit(void)
{
	REQUIRE(seccomp_server() == 0);
	leak_sink = malloc(4000);
	memset(leak_sink, 1, 4000);
	leak_sink = NULL;
	exit(0);
}

static void test_seccomp_sanitizer_exit(void)
{
	int st;

	if (!SANITIZER) {
		printf("  (not a sanitizer build)\n");
		return;
	}
	st = in_child(lsan_clean_exit);
	CHECK(exited_ok(st));
	st = in_child(lsan_dropped_exit);
	CHECK(exited_ok(st));
	st = in_child(lsan_leak_exit);
	CHECK(WIFEXITED(st) && (WEXITSTATUS(st) == 1 || WEXITSTATUS(st) == 23));
}

/* zerowgd writes no file: opens are read-only. */
static int daemon_profile(void)
{
	char err[256] = "", path[160];
	struct sandbox_status st;
	int fd;

	REQUIRE(sandbox_seccomp(SANDBOX_DAEMON, NULL, err, sizeof(err)) == 0);
	REQUIRE(sandbox_status_read(0, &st) == 0 && st.seccomp == 2);
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/daemon-file", tmpdir);
	errno = 0;
	REQUIRE(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) < 0 && errno == EPERM);
	REQUIRE(open("/proc/self/status", O_RDWR | O_CLOEXEC) < 0 && errno == EPERM);
	REQUIRE(open(tmpdir, O_TMPFILE | O_RDWR, 0600) < 0 && errno == EPERM);
	REQUIRE(open("/proc/self/status", O_RDONLY | O_TRUNC) < 0 && errno == EPERM);
	REQUIRE(mkdir(path, 0700) < 0 && errno == EPERM);
	REQUIRE(rename(tmpdir, path) < 0 && errno == EPERM);
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	close(fd);
	return 0;
}

static int daemon_execve(void)
{
	char err[256] = "", *argv[] = { "true", NULL }, *envp[] = { NULL };

	REQUIRE(sandbox_seccomp(SANDBOX_DAEMON, NULL, err, sizeof(err)) == 0);
	execve("/bin/true", argv, envp);
	return errno == EPERM ? 42 : 1;
}

/* ------------------------------------------------ the keyring key -- */

/*
 * The unseal key a server found in the keyring: held before the drop,
 * forgotten after it under the filter.  The keys live in a session
 * keyring of this test's own (joined in main), never in a user keyring,
 * so nothing of the machine's is touched.
 */
static char key_desc[64];
static struct store_keyring_ref key_ref;
static const uint8_t key_bytes[32] = { 0x5a, 0x17, 0xc3, 0x81, 0x09, 0xee, 0x42, 0x6d };

/* A read-only key in our session keyring, as init --keyring makes them
 * (perm 0x0b0b0000: no write, no setattr, so it cannot be revoked). */
static long add_test_key(uint32_t perm)
{
	long id = syscall(SYS_add_key, "user", key_desc, key_bytes, sizeof(key_bytes),
			  KEY_SPEC_SESSION_KEYRING);

	if (id > 0 && syscall(SYS_keyctl, KEYCTL_SETPERM, id, perm) < 0)
		return -1;
	return id;
}

static bool key_present(void)
{
	return syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", key_desc, 0) > 0;
}

/* As the server: hold (as root), drop to nobody, filter, forget. */
static int forget_after_drop(void)
{
	char err[256] = "";
	struct sandbox_allow allow;

	REQUIRE(store_key_keyring_hold(key_desc, &key_ref) == 0);
	allow = (struct sandbox_allow){ .key = key_ref.key, .ring = key_ref.ring };
	REQUIRE(sandbox_drop_privileges(nobody_uid, nobody_gid, err, sizeof(err)) == 0);
	REQUIRE(seccomp_server_with(&allow) == 0);
	REQUIRE(store_key_keyring_forget(&key_ref) == 0);
	/* Asking again is the kernel's business, not a kill (whether the
	 * garbage collector already took the key decides the answer). */
	(void)syscall(SYS_keyctl, KEYCTL_UNLINK, key_ref.key, key_ref.ring);
	return 0;
}

/* Reading the key back is still what an attacker wants: it kills. */
static int read_after_allow(void)
{
	struct sandbox_allow allow;
	uint8_t buf[32];

	REQUIRE(store_key_keyring_hold(key_desc, &key_ref) == 0);
	allow = (struct sandbox_allow){ .key = key_ref.key, .ring = key_ref.ring };
	REQUIRE(seccomp_server_with(&allow) == 0);
	syscall(SYS_keyctl, KEYCTL_READ, key_ref.key, buf, sizeof(buf));
	return 1;
}

/* Unlinking another key, or from another ring: refused, not allowed. */
static int unlink_other(void)
{
	struct sandbox_allow allow;

	REQUIRE(store_key_keyring_hold(key_desc, &key_ref) == 0);
	allow = (struct sandbox_allow){ .key = key_ref.key, .ring = key_ref.ring };
	REQUIRE(seccomp_server_with(&allow) == 0);
	errno = 0;
	REQUIRE(syscall(SYS_keyctl, KEYCTL_UNLINK, key_ref.key + 1, key_ref.ring) < 0 &&
		errno == EPERM);
	errno = 0;
	REQUIRE(syscall(SYS_keyctl, KEYCTL_UNLINK, key_ref.key, KEY_SPEC_USER_KEYRING) < 0 &&
		errno == EPERM);
	errno = 0;
	REQUIRE(syscall(SYS_keyctl, KEYCTL_INVALIDATE, key_ref.key + 1) < 0 && errno == EPERM);
	return 0;
}

/* Without an allowance, even the unlink kills (the default profile). */
static int unlink_without_allow(void)
{
	REQUIRE(store_key_keyring_hold(key_desc, &key_ref) == 0);
	REQUIRE(seccomp_server() == 0);
	syscall(SYS_keyctl, KEYCTL_UNLINK, key_ref.key, key_ref.ring);
	return 1;
}

/* A key an operator put there by hand (keyctl padd: the possessor may
 * do anything) is invalidated too: no other link to it stays usable. */
static int revoke_handmade(void)
{
	REQUIRE(store_key_keyring_hold(key_desc, &key_ref) == 0);
	struct sandbox_allow allow = { .key = key_ref.key, .ring = key_ref.ring };
	REQUIRE(seccomp_server_with(&allow) == 0);
	REQUIRE(store_key_keyring_forget(&key_ref) == 0);
	return 0;
}

static void test_keyring_forget(void)
{
	struct store_keyring_ref none = { 0 };
	long id, other;
	uint8_t buf[32];

	if (add_test_key(0x0b0b0000) <= 0) {
		CHECK(!"cannot add a key to the session keyring");
		return;
	}
	CHECK(key_present());
	CHECK(exited_ok(in_child(forget_after_drop)));
	CHECK(!key_present());

	CHECK(add_test_key(0x0b0b0000) > 0);
	CHECK(killed_by_sigsys(in_child(read_after_allow)));
	CHECK(exited_ok(in_child(unlink_other)));
	CHECK(killed_by_sigsys(in_child(unlink_without_allow)));
	CHECK(key_present());	/* a killed server leaves it for the restart */

	/* By hand, with keyctl's default permissions (the possessor may do
	 * anything): invalidated, so gone even where another ring links it. */
	CHECK(syscall(SYS_keyctl, KEYCTL_UNLINK,
		      syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", key_desc,
			      0), KEY_SPEC_SESSION_KEYRING) == 0);
	CHECK(!key_present());
	id = add_test_key(0x3f010000);
	other = syscall(SYS_add_key, "keyring", "zwg:sandbox-test-other", NULL, (size_t)0,
			KEY_SPEC_PROCESS_KEYRING);
	CHECK(id > 0 && other > 0 && syscall(SYS_keyctl, KEYCTL_LINK, id, other) == 0);
	CHECK(exited_ok(in_child(revoke_handmade)));
	errno = 0;
	CHECK(syscall(SYS_keyctl, KEYCTL_READ, id, buf, sizeof(buf)) < 0);
	CHECK(syscall(SYS_keyctl, KEYCTL_SEARCH, other, "user", key_desc, 0) < 0);
	CHECK(!key_present());
	syscall(SYS_keyctl, KEYCTL_CLEAR, other);

	CHECK_INT(store_key_keyring_forget(&none), -EINVAL);
	CHECK_INT(store_key_keyring_hold("zwg:no-such-key-ever", &none), -ENOKEY);
	CHECK_INT(none.key, 0);
}

static void test_seccomp_daemon(void)
{
	char err[256] = "";

	CHECK(exited_ok(in_child(daemon_profile)));
	if (SANITIZER) {
		int st = in_child(daemon_execve);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
	} else {
		CHECK(killed_by_sigsys(in_child(daemon_execve)));
	}
	CHECK_INT(sandbox_seccomp((enum sandbox_profile)7, NULL, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "profile 7") != NULL);
}

int main(void)
{
	struct passwd *pw = getpwnam("nobody");
	int fd;

	if (!pw) {
		fprintf(stderr, "sandbox_test: no user \"nobody\"\n");
		return 1;
	}
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	/* Our own session keyring for the keyring tests. */
	snprintf(key_desc, sizeof(key_desc), "zwg:sandbox-test-%d", (int)getpid());
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0)
		fprintf(stderr, "sandbox_test: cannot join a session keyring: %s\n", strerror(errno));
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/zwg-sandbox.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	/* Others may traverse it: the root-only file must fail on its own
	 * mode, not on the directory's. */
	chmod(tmpdir, 0755);
	snprintf(rootfile, sizeof(rootfile), "%s/root-only", tmpdir);
	snprintf(nobodyfile, sizeof(nobodyfile), "%s/nobody-only", tmpdir);
	fd = open(rootfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	fd = open(nobodyfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (geteuid() == 0)
			(void)!fchown(fd, nobody_uid, nobody_gid);
		close(fd);
	}

	RUN(test_lookup_user);
	RUN(test_status);
	RUN(test_drop_to_nobody);
	RUN(test_drop_keep_root);
	RUN(test_drop_as_user);
	RUN(test_drop_with_threads);
	RUN(test_seccomp_server_allows);
	RUN(test_seccomp_server_refuses);
	RUN(test_seccomp_kills);
	RUN(test_seccomp_tsync);
	RUN(test_seccomp_daemon);
	RUN(test_keyring_forget);
	RUN(test_seccomp_sanitizer_exit);

	unlink(rootfile);
	unlink(nobodyfile);
	rmdir(tmpdir);
	TEST_EXIT();
}
