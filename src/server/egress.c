/*
 * egress.c - see egress.h.  slirp4netns(1) is told where to go by paths
 * (--netns-type=path, --userns-path), and talks back through two pipes:
 * --ready-fd (written once tap0 is up) and --exit-fd (it exits when that
 * one closes).
 */
#include "egress.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EGRESS_READY_MS 5000

/* In the child, between fork and exec: only async-signal-safe calls. */
static void exec_slirp(pid_t target, int exit_fd, int ready_fd)
{
	char user[64], net[64], exitarg[32], readyarg[32];

	snprintf(user, sizeof(user), "--userns-path=/proc/%d/ns/user", (int)target);
	snprintf(net, sizeof(net), "/proc/%d/ns/net", (int)target);
	snprintf(exitarg, sizeof(exitarg), "--exit-fd=%d", exit_fd);
	snprintf(readyarg, sizeof(readyarg), "--ready-fd=%d", ready_fd);
	char *argv[] = { "slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
			 "--enable-ipv6", "--enable-seccomp", exitarg, readyarg,
			 "--netns-type=path", user, net, "tap0", NULL };
	/* Its chatter ("sent tapfd=5 for tap0") is not ours to log. */
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0)
		dup2(null, STDOUT_FILENO);
	execvp(argv[0], argv);
	_exit(errno == ENOENT ? 127 : 126);
}

/* Waits until the namespace of target differs from ours: the privileged
 * part unshares right after it is forked. */
static int wait_for_netns(pid_t target)
{
	char path[64];
	struct stat self, other;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)target);
	if (stat("/proc/self/ns/net", &self) < 0)
		return -errno;
	for (int i = 0; i < 200; i++) {
		/* EACCES: still non-dumpable (inherited from the server) until
		 * it has unshared. */
		if (stat(path, &other) < 0) {
			if (errno != EACCES)
				return -errno;
		} else if (other.st_ino != self.st_ino || other.st_dev != self.st_dev) {
			return 0;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

int egress_start(struct egress *e, pid_t netns_pid, char *err, size_t errlen)
{
	int exit_pipe[2], ready_pipe[2], ret, status;
	struct pollfd pfd;
	char c;

	e->pid = 0;
	e->exit_fd = -1;
	ret = wait_for_netns(netns_pid);
	if (ret < 0) {
		snprintf(err, errlen, "the tunnel's namespace (/proc/%d/ns/net) is not there: %s",
			 (int)netns_pid, strerror(-ret));
		return ret;
	}
	if (pipe2(exit_pipe, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ready_pipe, O_CLOEXEC) < 0) {
		ret = -errno;
		close(exit_pipe[0]);
		close(exit_pipe[1]);
		return ret;
	}
	e->pid = fork();
	if (e->pid < 0) {
		ret = -errno;
		e->pid = 0;
		goto fail;
	}
	if (e->pid == 0) {
		/* The two ends it keeps lose O_CLOEXEC; everything else of
		 * ours is close-on-exec. */
		fcntl(exit_pipe[0], F_SETFD, 0);
		fcntl(ready_pipe[1], F_SETFD, 0);
		exec_slirp(netns_pid, exit_pipe[0], ready_pipe[1]);
	}
	close(exit_pipe[0]);
	close(ready_pipe[1]);
	e->exit_fd = exit_pipe[1];
	pfd.fd = ready_pipe[0];
	pfd.events = POLLIN;
	ret = poll(&pfd, 1, EGRESS_READY_MS);
	if (ret == 1 && read(ready_pipe[0], &c, 1) == 1) {
		close(ready_pipe[0]);
		return 0;
	}
	close(ready_pipe[0]);
	/* It exited (EOF on the ready pipe) or did not answer in time. */
	if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
		e->pid = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
			snprintf(err, errlen, "slirp4netns is not installed (apt-get install "
				 "slirp4netns)");
			ret = -ENOENT;
		} else {
			snprintf(err, errlen, "slirp4netns failed (exit status %d; run it by hand "
				 "to see why)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			ret = -EIO;
		}
	} else {
		snprintf(err, errlen, "slirp4netns did not configure tap0 within %d s",
			 EGRESS_READY_MS / 1000);
		ret = -ETIMEDOUT;
	}
	egress_stop(e);
	return ret;
fail:
	close(exit_pipe[0]);
	close(exit_pipe[1]);
	close(ready_pipe[0]);
	close(ready_pipe[1]);
	return ret;
}

void egress_stop(struct egress *e)
{
	if (e->exit_fd >= 0)
		close(e->exit_fd);
	e->exit_fd = -1;
	if (e->pid <= 0)
		return;
	for (int i = 0; i < 100; i++) {
		if (waitpid(e->pid, NULL, WNOHANG) == e->pid) {
			e->pid = 0;
			return;
		}
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(e->pid, SIGKILL);
	waitpid(e->pid, NULL, 0);
	e->pid = 0;
}
