/*
 * app_run.c - `zerowg app run NAME -- CMD` and `zerowg app up NAME`
 * (app.h, docs/apps.md): this process supervises and never holds a key.
 *
 *   1. the namespace: as root a new network namespace with lo up, bound
 *      at /run/netns/NAME as `ip netns add` does (podman, systemd's
 *      NetworkNamespacePath= and `ip netns exec` join it); as a user a
 *      child that makes a user namespace (its uid and gid mapped to
 *      themselves) and a network namespace, and then only waits;
 *   2. the app's server: this program's own `up --netns PATH` on the
 *      app's store, which loads the key, drops its privileges and has its
 *      helper create the TUN inside the namespace (the UDP socket stays
 *      here); ready once its admin API answers;
 *   3. run: CMD in the namespace, as the caller (root: as root, or
 *      --user U); rootless it joins through the user namespace and drops
 *      the capabilities that gives it, with no_new_privs;
 *   4. when CMD exits (run) or on SIGTERM (up): the server is stopped, the
 *      namespace removed, and CMD's (the server's) status returned.
 * Signals are taken with sigtimedwait (blocked, so none is lost between
 * checks); SIGHUP is passed to the server (re-read the store).
 *
 * Relies on client.h (is the admin API up), store.h (handing the store to
 * the server's user) and the server's --netns (priv.c joins a namespace a
 * user made through its user namespace).
 */
#include "app.h"
#include "client.h"
#include "sandbox.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NETNS_RUN_DIR "/run/netns"
#define PING_GROUP_RANGE "/proc/sys/net/ipv4/ping_group_range"
#define READY_TIMEOUT_MS 60000
#define STOP_TIMEOUT_MS 15000

/* State of `run` / `up`, for the supervisor loop and the cleanup. */
struct run_state {
	const char *name;
	char netns[PATH_MAX];		/* what a command joins */
	bool named;			/* root: /run/netns/NAME, ours to remove */
	pid_t holder;			/* rootless: the namespace's keeper */
	pid_t server;			/* `zerowg up` of the app */
	pid_t cmd;
	int server_status, cmd_status;
	bool cmd_ran;
	char sock[PATH_MAX], ns_file[PATH_MAX];
	sigset_t old_mask;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (ret == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret;
}

/* Root: a new network namespace with lo up, bound to /run/netns/NAME as
 * `ip netns add` does (a shared mount point, so that it is seen from
 * other mount namespaces too).  0, or 1 after a message. */
static int netns_create_named(struct run_state *r)
{
	int fd, st = 0;
	pid_t pid;

	snprintf(r->netns, sizeof(r->netns), "%s/%s", NETNS_RUN_DIR, r->name);
	if (mkdir(NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "zerowg: cannot create %s: %s\n", NETNS_RUN_DIR, strerror(errno));
		return 1;
	}
	if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		if (errno != EINVAL ||
		    mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0 ||
		    mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
			fprintf(stderr, "zerowg: cannot make %s a shared mount point: %s\n",
				NETNS_RUN_DIR, strerror(errno));
			return 1;
		}
	}
	fd = open(r->netns, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == EEXIST)
			fprintf(stderr, "zerowg: app \"%s\": the network namespace %s exists "
				"already (another app of that name, or `ip netns add %s`); if "
				"nothing uses it: ip netns delete %s\n", r->name, r->netns, r->name,
				r->name);
		else
			fprintf(stderr, "zerowg: cannot create %s: %s\n", r->netns, strerror(errno));
		return 1;
	}
	close(fd);
	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(10);
		if (loopback_up() < 0)
			_exit(11);
		/* ping without privileges, as on most hosts (best effort). */
		(void)write_file(PING_GROUP_RANGE, "0 2147483647");
		if (mount("/proc/self/ns/net", r->netns, "none", MS_BIND, NULL) < 0)
			_exit(12);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		int code = pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;

		fprintf(stderr, "zerowg: app \"%s\": cannot make the network namespace %s (%s)\n",
			r->name, r->netns, code == 10 ? "unshare(CLONE_NEWNET) failed" :
			code == 11 ? "cannot bring lo up" : code == 12 ? "bind mount failed" :
			"fork failed");
		unlink(r->netns);
		return 1;
	}
	r->named = true;
	return 0;
}

/*
 * Rootless: a child that makes a user namespace (our uid and gid mapped
 * to themselves) and a network namespace with lo up, and then only waits;
 * the server's helper and the command join its /proc/PID/ns/{user,net}.
 * It holds no secret, so it stays dumpable (the same user must open its
 * namespaces).  0, or 1 after a message.
 */
static int netns_create_holder(struct run_state *r)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	pid_t parent = getpid();
	int p[2], e = 0;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "zerowg: pipe: %s\n", strerror(errno));
		return 1;
	}
	r->holder = fork();
	if (r->holder < 0) {
		fprintf(stderr, "zerowg: fork: %s\n", strerror(errno));
		close(p[0]);
		close(p[1]);
		return 1;
	}
	if (r->holder == 0) {
		char map[64];
		int step = 0;

		close(p[0]);
		/* It keeps nothing of ours open (a --key-fd above all). */
		if (p[1] > 3)
			close_range(3, (unsigned)p[1] - 1, 0);
		close_range((unsigned)p[1] + 1, ~0u, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
			step = 1;
		if (!step) {
			int ret = write_file("/proc/self/setgroups", "deny");
			if (ret < 0 && ret != -ENOENT)
				step = 2;
		}
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
		if (!step && write_file("/proc/self/uid_map", map) < 0)
			step = 3;
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
		if (!step && write_file("/proc/self/gid_map", map) < 0)
			step = 4;
		if (!step && loopback_up() < 0)
			step = 5;
		/* ping for this user's group, the one group mapped here. */
		snprintf(map, sizeof(map), "%u %u", (unsigned)gid, (unsigned)gid);
		if (!step)
			(void)write_file(PING_GROUP_RANGE, map);
		e = step ? (step << 16) | (errno & 0xffff) : 0;
		if (write(p[1], &e, sizeof(e)) != sizeof(e) || step)
			_exit(1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	do
		n = read(p[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n != sizeof(e) || e) {
		int step = e >> 16, err = e & 0xffff;

		if (n != sizeof(e))
			fprintf(stderr, "zerowg: app \"%s\": the namespace's keeper died\n", r->name);
		else if (step == 1)
			fprintf(stderr, "zerowg: app \"%s\": cannot create a user and network "
				"namespace: %s (user namespaces must be enabled: sysctl "
				"user.max_user_namespaces above 0, kernel.unprivileged_userns_clone=1; "
				"or run it as root)\n", r->name, strerror(err));
		else
			fprintf(stderr, "zerowg: app \"%s\": setting up its namespace (%s): %s\n",
				r->name, step == 5 ? "lo up" : "uid/gid maps", strerror(err));
		kill(r->holder, SIGKILL);
		waitpid(r->holder, NULL, 0);
		r->holder = 0;
		return 1;
	}
	snprintf(r->netns, sizeof(r->netns), "/proc/%d/ns/net", (int)r->holder);
	return 0;
}

/* The environment a child must not inherit: the app's server takes its
 * settings from the store, not from a container's variables, and a
 * service manager's sockets are not its. */
static void scrub_env(bool keep_notify)
{
	static const char *const vars[] = {
		"SERVERURL", "SERVERPORT", "PEERS", "PEERDNS", "INTERNAL_SUBNET", "ALLOWEDIPS",
		"PERSISTENTKEEPALIVE_PEERS", "LOG_CONFS", "ZEROWG_ADMIN_SOCKET", "LISTEN_FDS",
		"LISTEN_PID", "LISTEN_FDNAMES",
	};
	extern char **environ;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	if (!keep_notify)
		unsetenv("NOTIFY_SOCKET");
	for (size_t i = 0; environ[i];) {
		if (!strncmp(environ[i], "SERVER_ALLOWEDIPS_PEER_", 23)) {
			char name[128];
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(environ[i], "="), environ[i]);
			unsetenv(name);
			continue;
		}
		i++;
	}
}

/* Starts the app's server: this program's `up` on the app's store, with
 * the tunnel in r->netns.  0, or 1 after a message. */
static int start_server(struct app_cmd *ac, struct run_state *r, bool keep_notify)
{
	char uri[PATH_MAX + 8], fdtext[16];
	const char *argv[20];
	int i = 0;

	app_store_uri(ac, r->name, uri, sizeof(uri));
	argv[i++] = "zerowg";
	argv[i++] = "up";
	argv[i++] = "--store";
	argv[i++] = uri;
	argv[i++] = "--admin-socket";
	argv[i++] = r->sock;
	argv[i++] = "--netns";
	argv[i++] = r->netns;
	/* The admin socket only: a web listener on this side's loopback
	 * would be a way into the app from outside its namespace. */
	argv[i++] = "--web";
	argv[i++] = "none";
	if (ac->so.key_fd >= 0) {
		snprintf(fdtext, sizeof(fdtext), "%d", ac->so.key_fd);
		argv[i++] = "--key-fd";
		argv[i++] = fdtext;
	}
	if (ac->so.credential) {
		argv[i++] = "--credential";
		argv[i++] = ac->so.credential;
	}
	if (ac->so.keyring_key) {
		argv[i++] = "--keyring-key";
		argv[i++] = ac->so.keyring_key;
	}
	/* The key is the main store's: an app's stop must not take it from
	 * the main server's next start. */
	argv[i++] = "--keep-keyring-key";
	argv[i] = NULL;
	fflush(NULL);
	r->server = fork();
	if (r->server < 0) {
		fprintf(stderr, "zerowg: fork: %s\n", strerror(errno));
		r->server = 0;
		return 1;
	}
	if (r->server == 0) {
		sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
		scrub_env(keep_notify);
		/* The server's own `zerowg up`: the slim CLI execs zerowg-server. */
		execv("/proc/self/exe", (char **)argv);
		fprintf(stderr, "zerowg: cannot run /proc/self/exe up: %s\n", strerror(errno));
		_exit(1);
	}
	return 0;
}

/* Reaps what exited, noting statuses. */
static void reap(struct run_state *r)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);

		if (pid == r->server) {
			r->server = 0;
			r->server_status = code;
		} else if (pid == r->cmd) {
			r->cmd = 0;
			r->cmd_status = code;
		} else if (pid == r->holder) {
			r->holder = 0;
		}
	}
}

/* Waits up to ms for a signal of the set; returns it or 0. */
static int wait_signal(const sigset_t *set, long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	int sig = sigtimedwait(set, NULL, &ts);

	return sig > 0 ? sig : 0;
}

/* Until the app's admin API answers: 0, or 1 (the server exited, a
 * signal came, or it took too long) after a message. */
static int wait_ready(struct run_state *r, const sigset_t *set)
{
	long long deadline = now_ms() + READY_TIMEOUT_MS;

	for (;;) {
		int sig;

		reap(r);
		if (!r->server) {
			fprintf(stderr, "zerowg: app \"%s\": its server exited (status %d) before it "
				"was up; see its messages above\n", r->name, r->server_status);
			return 1;
		}
		if (client_server_running(r->sock))
			return 0;
		if (now_ms() > deadline) {
			fprintf(stderr, "zerowg: app \"%s\": its server did not answer on %s within "
				"%d s\n", r->name, r->sock, READY_TIMEOUT_MS / 1000);
			return 1;
		}
		sig = wait_signal(set, 50);
		if (sig == SIGINT || sig == SIGTERM) {
			fprintf(stderr, "zerowg: app \"%s\": stopped while starting\n", r->name);
			return 1;
		}
	}
}

/* Where CMD is: 0, or 127 (not found) / 126 (not executable) after a
 * message, as a shell would. */
static int find_command(const char *name, const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	bool seen = false;

	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK) == 0)
			return 0;
		seen = errno != ENOENT;
	} else {
		if (!path)
			path = "/usr/local/bin:/usr/bin:/bin";
		for (const char *p = path; *p;) {
			size_t len = strcspn(p, ":");

			snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, len ? p : ".", cmd);
			if (access(buf, X_OK) == 0)
				return 0;
			if (errno != ENOENT && access(buf, F_OK) == 0)
				seen = true;
			p += len;
			if (*p == ':')
				p++;
		}
	}
	fprintf(stderr, "zerowg: app \"%s\": command \"%s\" %s; nothing was started\n", name, cmd,
		seen ? "is not executable (chmod +x it)" :
		strchr(cmd, '/') ? "does not exist" : "not found in $PATH (give its full path)");
	return seen ? 126 : 127;
}

/* In the command's child: joins r->netns and becomes who runs the
 * command.  0 or -errno (step says which). */
static int enter_app(const struct run_state *r, const char *user, const char **step)
{
	int fd;

	if (!r->named) {
		/* A namespace this user made: through its user namespace, where
		 * joining gives every capability -- dropped again below. */
		char upath[64];
		int ufd;

		snprintf(upath, sizeof(upath), "/proc/%d/ns/user", (int)r->holder);
		*step = "joining the user namespace";
		ufd = open(upath, O_RDONLY | O_CLOEXEC);
		if (ufd < 0 || setns(ufd, CLONE_NEWUSER) < 0)
			return -errno;
		close(ufd);
	}
	*step = "joining the network namespace";
	fd = open(r->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		return -errno;
	close(fd);
	if (user) {
		struct passwd *pw = getpwnam(user);

		*step = "becoming --user";
		if (!pw)
			return -ENOENT;
		if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
		    setuid(pw->pw_uid) < 0)
			return -errno;
		setenv("HOME", pw->pw_dir, 1);
		setenv("USER", pw->pw_name, 1);
		setenv("LOGNAME", pw->pw_name, 1);
	}
	if (!r->named) {
		/* No more than the caller had: none. */
		struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct d[2];

		*step = "dropping the namespace's capabilities";
		memset(d, 0, sizeof(d));
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
		/* The bounding set stays: without it a program with file
		 * capabilities (ping) fails to start, and under no_new_privs
		 * they grant nothing anyway. */
		if (syscall(SYS_capset, &h, d) < 0)
			return -errno;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			return -errno;
	}
	return 0;
}

/* Starts CMD in the app's namespace.  0, or the exit status after a
 * message. */
static int start_command(struct run_state *r, const char *user, char **cmd)
{
	int p[2], e = 0;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "zerowg: pipe: %s\n", strerror(errno));
		return 1;
	}
	fflush(NULL);
	r->cmd = fork();
	if (r->cmd < 0) {
		fprintf(stderr, "zerowg: fork: %s\n", strerror(errno));
		r->cmd = 0;
		close(p[0]);
		close(p[1]);
		return 1;
	}
	if (r->cmd == 0) {
		const char *step = "";
		int ret;

		close(p[0]);
		sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
		scrub_env(false);
		ret = enter_app(r, user, &step);
		if (ret == 0) {
			execvp(cmd[0], cmd);
			ret = -errno;
			step = "exec";
		}
		e = -ret;
		(void)!write(p[1], &e, sizeof(e));
		(void)!write(p[1], step, strlen(step) + 1);
		_exit(ret == -ENOENT && !strcmp(step, "exec") ? 127 : 126);
	}
	close(p[1]);
	do
		n = read(p[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == sizeof(e)) {
		char step[64] = "";

		(void)!read(p[0], step, sizeof(step) - 1);
		close(p[0]);
		fprintf(stderr, "zerowg: app \"%s\": cannot run \"%s\": %s: %s\n", r->name, cmd[0],
			step, strerror(e));
		r->cmd_ran = true;
		return 0;	/* its exit status (127/126) comes through reap */
	}
	close(p[0]);
	r->cmd_ran = true;
	return 0;
}

/* Stops what runs, waits (bounded), removes the namespace. */
static void run_cleanup(struct run_state *r, const sigset_t *set)
{
	long long deadline;

	if (r->cmd)
		kill(r->cmd, SIGTERM);
	if (r->server)
		kill(r->server, SIGTERM);
	deadline = now_ms() + STOP_TIMEOUT_MS;
	for (;;) {
		reap(r);
		if (!r->cmd && !r->server)
			break;
		if (now_ms() > deadline) {
			if (r->cmd)
				kill(r->cmd, SIGKILL);
			if (r->server)
				kill(r->server, SIGKILL);
			deadline = now_ms() + STOP_TIMEOUT_MS;
		}
		wait_signal(set, 100);
	}
	unlink(r->ns_file);
	if (r->named) {
		if (umount2(r->netns, MNT_DETACH) < 0)
			fprintf(stderr, "zerowg: app \"%s\": unmounting %s: %s\n", r->name, r->netns,
				strerror(errno));
		unlink(r->netns);
		r->named = false;
	}
	if (r->holder > 0) {
		kill(r->holder, SIGKILL);
		waitpid(r->holder, NULL, 0);
		r->holder = 0;
	}
}

/* Notes where the namespace is, for `app show`. */
static void write_ns_file(struct run_state *r)
{
	FILE *f;

	f = fopen(r->ns_file, "we");
	if (!f)
		return;
	fprintf(f, "%s\n", r->netns);
	fclose(f);
}

int app_run(struct app_cmd *ac, const char *name, char **cmd)
{
	struct run_state r;
	sigset_t set;
	char rdir[PATH_MAX];
	bool root = geteuid() == 0;
	int status = 1, ret;

	memset(&r, 0, sizeof(r));
	r.name = name;
	if (app_check_name(ac, name, true))
		return 1;
	if (cmd && (ret = find_command(name, cmd[0])))
		return ret;
	if (ac->user && !root) {
		fprintf(stderr, "zerowg: --user %s needs root (a user runs the command as "
			"itself)\n", ac->user);
		return 1;
	}
	if (ac->user && !getpwnam(ac->user)) {
		fprintf(stderr, "zerowg: --user \"%s\": no such user\n", ac->user);
		return 1;
	}
	app_admin_socket(name, r.sock, sizeof(r.sock));
	app_ns_file(name, r.ns_file, sizeof(r.ns_file));
	if (client_server_running(r.sock)) {
		fprintf(stderr, "zerowg: app \"%s\" is running already (its admin API answers on "
			"%s): zerowg app show %s says where to join it\n", name, r.sock, name);
		return 1;
	}
	/* Its socket directory's parent: the helper makes apps/ itself. */
	app_runtime_dir(rdir, sizeof(rdir));
	*strrchr(rdir, '/') = '\0';
	if ((ret = app_mkdirs(rdir, root ? 0755 : 0700)) < 0) {
		fprintf(stderr, "zerowg: cannot create %s: %s\n", rdir, strerror(-ret));
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &r.old_mask);
	if (root) {
		/* The server runs as its own user: it must reach the app's
		 * store under the data directory (made root's by init). */
		char uri[PATH_MAX + 8], err[512] = "";
		struct passwd *pw = getpwnam(SANDBOX_DEFAULT_USER);

		snprintf(uri, sizeof(uri), "sealed:%s", ac->data_dir);
		if (pw && (store_hand_over(uri, pw->pw_uid, pw->pw_gid, err, sizeof(err)) < 0 ||
			   chown(ac->apps_dir, pw->pw_uid, pw->pw_gid) < 0)) {
			fprintf(stderr, "zerowg: app \"%s\": %s\n", name, err[0] ? err :
				strerror(errno));
			goto out;
		}
	}
	if (root ? netns_create_named(&r) : netns_create_holder(&r))
		goto out;
	if (start_server(ac, &r, cmd == NULL) || wait_ready(&r, &set))
		goto out;
	write_ns_file(&r);
	if (r.named)
		fprintf(stderr, "zerowg: app \"%s\" is up in the network namespace %s: join it "
			"with `ip netns exec %s CMD`, podman run --network ns:%s, or systemd "
			"NetworkNamespacePath=%s\n", name, r.netns, name, r.netns, r.netns);
	else
		fprintf(stderr, "zerowg: app \"%s\" is up in the network namespace %s (with "
			"the user namespace next to it): join it with `nsenter -t %d -U -n "
			"--preserve-credentials CMD`\n", name, r.netns, (int)r.holder);
	if (cmd && start_command(&r, ac->user, cmd))
		goto out;
	/* Until the command (run) or the server (up) is done. */
	for (;;) {
		int sig;

		reap(&r);
		if (cmd ? !r.cmd : !r.server)
			break;
		if (!r.server) {
			fprintf(stderr, "zerowg: app \"%s\": its server exited (status %d); stopping "
				"\"%s\"\n", name, r.server_status, cmd[0]);
			kill(r.cmd, SIGTERM);
			r.cmd_ran = false;	/* the exit status says the app failed */
			break;
		}
		sig = wait_signal(&set, 1000);
		if (sig == SIGHUP && r.server)
			kill(r.server, SIGHUP);	/* re-read the store */
		else if ((sig == SIGINT || sig == SIGTERM) && r.cmd)
			kill(r.cmd, sig);
		else if ((sig == SIGINT || sig == SIGTERM) && r.server)
			kill(r.server, SIGTERM);
	}
	if (cmd && r.cmd_ran)
		status = r.cmd_status;
	else if (!cmd)
		status = r.server_status;
out:
	run_cleanup(&r, &set);
	if (!cmd && r.server_status == 0 && status == 0)
		fprintf(stderr, "zerowg: app \"%s\" stopped\n", name);
	sigprocmask(SIG_SETMASK, &r.old_mask, NULL);
	return status;
}
